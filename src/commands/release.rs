//! `hookgate release`: publishes only what the gate accepts. Preconditions (on the main branch,
//! clean, pushed), every check of `run --all` passing on HEAD's tree, the version free on the
//! index; then the dists the `wheel` check built are uploaded as they are (no rebuild) and the
//! release tag is pushed.
//!
//! A static version is released as `pyproject.toml` states it, and `vX.Y.Z` is created only after
//! a successful upload (an existing tag is refused). A version from git (setuptools-scm,
//! hatch-vcs) is made by the tag: `release X.Y.Z` tags HEAD first (in the format the project's
//! tag settings read; a tag the user already put on HEAD is used as it is), so that the checks
//! build that version; a step that fails or refuses deletes the tag it created (never the
//! user's). A development or local version is refused unless `--allow-dev`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use std::str::FromStr;

use anyhow::{Context, Result};
use pep440_rs::Version;

use crate::cache::Cache;
use crate::checks::list_files;
use crate::gate::{RunSettings, Session, check_tree, load_config};
use crate::git::{Repo, TreeRef};
use crate::index::redact;
use crate::outcome::{Ended, ExitStatus};
use crate::plan::Selection;
use crate::process::{Cmd, Exit};
use crate::report::TreeReport;
use crate::venv::{self, Installer};

/// Where to publish.
pub struct Target {
    /// Upload endpoint (legacy upload API).
    pub repository_url: String,
    /// Simple index the version is checked against.
    pub index_url: String,
}

impl Target {
    /// PyPI, TestPyPI, or explicit URLs (explicit ones win).
    pub fn resolve(
        repository: Option<&str>,
        repository_url: Option<String>,
        index_url: Option<String>,
    ) -> Result<Target> {
        let (up, idx) = match repository {
            None | Some("pypi") => ("https://upload.pypi.org/legacy/", "https://pypi.org/simple/"),
            Some("testpypi") => ("https://test.pypi.org/legacy/", "https://test.pypi.org/simple/"),
            Some(other) => {
                anyhow::bail!("unknown --repository `{other}` (pypi or testpypi; or give --repository-url)")
            }
        };
        Ok(Target {
            repository_url: repository_url.unwrap_or_else(|| up.to_string()),
            index_url: index_url.unwrap_or_else(|| idx.to_string()),
        })
    }
}

fn refuse(msg: impl AsRef<str>) -> Result<ExitStatus> {
    crate::report::note(format_args!("release refused: {}", msg.as_ref()));
    Ok(ExitStatus::Failure)
}

/// What `hookgate release` was asked.
#[derive(Debug, Default)]
pub struct Options {
    /// The version to release (required for a version from git unless HEAD carries its tag).
    pub version: Option<String>,
    /// Publish a development or local version from git (`.devN`, `+local`).
    pub allow_dev: bool,
    /// Check everything; upload, tag and push nothing.
    pub dry_run: bool,
}

/// A tag `release` created: deleted when dropped, unless kept (after a successful upload).
struct CreatedTag<'a> {
    repo: &'a Repo,
    name: String,
    keep: bool,
}

impl Drop for CreatedTag<'_> {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        match self.repo.delete_tag(&self.name) {
            Ok(()) => crate::report::note(format_args!("deleted the tag {} this release created", self.name)),
            Err(e) => crate::report::warn(format_args!(
                "could not delete the tag {} this release created ({e:#}): `git tag -d {}`",
                self.name, self.name
            )),
        }
    }
}

/// The tag a release pushes.
enum ReleaseTag<'a> {
    /// Created after the upload (a static version).
    Later(String),
    /// Created by this release before the checks (a version from git).
    Created(CreatedTag<'a>),
    /// The user's own tag on HEAD.
    Users(String),
    /// No tag: a development version from git, published with `--allow-dev`.
    None,
}

/// `hookgate release`.
pub fn release(s: &Session, target: &Target, opts: &Options) -> Result<ExitStatus> {
    let repo = Repo::discover(&s.cwd, &s.host)?;
    let head = repo.head()?;
    let config = load_config(&repo, &head)?;
    let wanted =
        match &opts.version {
            None => None,
            Some(v) => Some(Version::from_str(v.trim_start_matches(['v', 'V'])).map_err(|e| {
                crate::error::Error::Environment(format!("`{v}` is not a PEP 440 version: {e}"))
            })?),
        };

    // 1. On the main branch, clean, pushed.
    let mut missing = Vec::new();
    let branch = repo.head_description();
    if branch != config.main_branch {
        missing.push(format!("HEAD is on `{branch}`, not on the main branch `{}`", config.main_branch));
    }
    if repo.has_tracked_changes()? {
        missing.push("the working copy has uncommitted changes to tracked files".to_string());
    }
    match repo.upstream_of_head()? {
        None => missing.push(format!("`{branch}` has no upstream: push it (git push -u origin {branch})")),
        Some(up) if Some(up) != head.commit => {
            missing.push(format!("HEAD is not pushed: its upstream is at {}", crate::git::short(up)));
        }
        Some(_) => {}
    }
    if !missing.is_empty() {
        return refuse(missing.join("; "));
    }

    // 2. A version from git is made by tagging HEAD, before the checks build it.
    let from_git = if config.project.version_from_git {
        match vcs_tag(&repo, &head, &config.project.scm, wanted.as_ref(), opts.allow_dev)? {
            Ok(tag) => Some(tag),
            Err(why) => return refuse(why),
        }
    } else {
        None
    };

    // 3. Every check passes on HEAD's tree.
    let (plan, outcomes) = check_tree(
        s,
        &repo,
        &head,
        &Selection::All,
        RunSettings { local_only: true, wants_files: &["wheel"], ..RunSettings::default() },
    )?;
    let report = TreeReport { tree: &head, stage: &plan.stage, outcomes: &outcomes };
    report.write_human(&mut std::io::stderr(), console::colors_enabled_stderr()).ok();
    if !report.passed() {
        return refuse("a check failed on HEAD's tree (see above)");
    }
    let Some(wheel_check) = plan.checks.iter().find(|c| c.def.name == "wheel") else {
        return refuse("the `wheel` check is disabled: there are no dists to publish");
    };
    let cache = Cache::for_user(repo.common_dir(), &s.host);
    let dists: Vec<PathBuf> = list_files(&cache.artifacts_dir(&wheel_check.key))?
        .into_iter()
        .filter(|p| crate::checks::is_dist(p))
        .collect();
    let Some(wheel) = dists.iter().find(|p| p.extension().is_some_and(|e| e == "whl")).cloned() else {
        return refuse("the `wheel` check left no wheel");
    };
    let version = wheel
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.split('-').nth(1))
        .context("reading the version from the wheel's name")?
        .to_string();
    if let Some(w) = &wanted
        && Version::from_str(&version).ok().as_ref() != Some(w)
    {
        return refuse(format!("the package builds as version {version}, not {w}"));
    }
    let mut tag = match from_git {
        Some(tag) => tag,
        None => {
            let name = format!("v{version}");
            if repo.tag_exists(&name)? {
                return refuse(format!("the tag {name} already exists"));
            }
            ReleaseTag::Later(name)
        }
    };

    // 4. The version is free on the index: asked as the `version` check asks; no answer is no.
    let client = crate::index::IndexClient::new(s.host.index_settings());
    let mut note = |line: &str| crate::report::note(format_args!("{line}"));
    match crate::checks::ask_index(&client, &wheel, &target.index_url, &mut note) {
        Ended::Pass => {}
        Ended::Fail(_) => {
            return refuse(format!("version {version} is already on {}", redact(&target.index_url)));
        }
        Ended::Unknown(why) | Ended::Error(why) => {
            return refuse(format!("could not learn whether {version} is free: {why}"));
        }
        Ended::TimedOut | Ended::Cancelled => return refuse("asking the index was interrupted"),
    }
    let interp = venv::find_interpreter(config.python.as_deref(), &s.host, &s.cwd, cache.root())?;
    let installer = venv::find_installer(&interp, &s.host);

    let names: Vec<String> =
        dists.iter().filter_map(|d| d.file_name()).map(|n| n.to_string_lossy().into()).collect();
    if opts.dry_run {
        crate::report::out(format_args!(
            "hookgate: dry run: would upload {} to {}\n",
            names.join(", "),
            target.repository_url
        ))?;
        let then = match &tag {
            ReleaseTag::Later(name) => format!("then tag {name} and push it to origin"),
            ReleaseTag::Created(t) => format!("then push the tag {} to origin", t.name),
            ReleaseTag::Users(name) => format!("then push your tag {name} to origin"),
            ReleaseTag::None => "and tag nothing (a development version)".into(),
        };
        crate::report::out(format_args!("hookgate: dry run: would {then}\n"))?;
        return Ok(ExitStatus::Success);
    }

    // 5. Upload exactly the dists the wheel check built; credentials come from the environment
    // of the upload tool (UV_PUBLISH_* / TWINE_*), which hookgate never prints or passes on.
    let upload = match &installer {
        Installer::Uv(uv) => Cmd::new(
            uv.display().to_string(),
            &["publish", "--publish-url", &target.repository_url],
            repo.workdir(),
            s.host.vars.clone(),
        ),
        Installer::Pip { .. } => Cmd::new(
            "twine",
            &["upload", "--non-interactive", "--repository-url", &target.repository_url],
            repo.workdir(),
            s.host.vars.clone(),
        ),
    }
    .args(dists.iter().map(|d| d.display().to_string()));
    crate::report::note(format_args!("uploading {} to {}", names.join(", "), target.repository_url));
    let (uploaded, said) = run_visible(&upload, s)?;
    if !uploaded {
        if let Some(hint) = credentials_hint(matches!(installer, Installer::Uv(_)), &said) {
            crate::report::note(hint);
        }
        let what = match &tag {
            ReleaseTag::Users(name) => format!("your tag {name} stays"),
            _ => "no tag is left".into(),
        };
        return refuse(format!("the upload failed (see above); {what}"));
    }

    // 6. Only now: the tag (kept from here on, even if the push fails: the version is
    // published, and the tag says from which commit), pushed to origin.
    let name = match &mut tag {
        ReleaseTag::Later(name) => {
            repo.create_tag(name, &format!("Release {version}"))?;
            name.clone()
        }
        ReleaseTag::Created(t) => {
            t.keep = true;
            t.name.clone()
        }
        ReleaseTag::Users(name) => name.clone(),
        ReleaseTag::None => {
            crate::report::out(format_args!(
                "hookgate: released {version} (a development version, not tagged): uploaded {}\n",
                names.join(", ")
            ))?;
            return Ok(ExitStatus::Success);
        }
    };
    let push = Cmd::new(
        "git",
        &["push", "origin", &format!("refs/tags/{name}")],
        repo.workdir(),
        s.host.vars.clone(),
    );
    if !run_visible(&push, s)?.0 {
        crate::report::note(format_args!(
            "uploaded, and tagged {name} locally, but pushing the tag failed: `git push origin {name}`"
        ));
        return Ok(ExitStatus::Failure);
    }
    crate::report::out(format_args!(
        "hookgate: released {version}: uploaded {} and pushed {name}\n",
        names.join(", ")
    ))?;
    Ok(ExitStatus::Success)
}

/// The tag that makes HEAD's version from git the one to release: the user's tag when HEAD
/// already carries that version, else one this release creates (`Err` says why not).
fn vcs_tag<'a>(
    repo: &'a Repo,
    head: &TreeRef,
    settings: &crate::scm::Settings,
    wanted: Option<&Version>,
    allow_dev: bool,
) -> Result<Result<ReleaseTag<'a>, String>> {
    let version_error =
        |why: String| crate::error::Error::Environment(format!("the version from git: {why}"));
    let (found, current) = crate::scm::describe_tree(repo, head, settings).map_err(version_error)?;
    let dev = |v: &Version| v.is_dev() || v.is_local();
    let Some(wanted) = wanted else {
        let v = Version::from_str(&current).context("reading the version from git")?;
        return Ok(match (found.tag, found.distance) {
            (Some(tag), 0) if !dev(&v) || allow_dev => Ok(ReleaseTag::Users(tag)),
            _ if dev(&v) && allow_dev => Ok(ReleaseTag::None),
            _ if dev(&v) => Err(format!(
                "HEAD's version from git is {current}, a development version: give the version to \
                 release (`hookgate release X.Y.Z` tags HEAD with it), or publish {current} as it is \
                 with --allow-dev"
            )),
            _ => Err(format!("HEAD's version from git is {current}, but HEAD carries no tag to push")),
        });
    };
    if dev(wanted) && !allow_dev {
        return Ok(Err(format!(
            "{wanted} is a development or local version: release a final or pre-release version, \
             or pass --allow-dev"
        )));
    }
    if found.distance == 0
        && let Some(tag) = found.tag
        && Version::from_str(&current).ok().as_ref() == Some(wanted)
    {
        return Ok(Ok(ReleaseTag::Users(tag)));
    }
    let name = match crate::scm::tag_for(settings, wanted) {
        Ok(name) => name,
        Err(why) => return Ok(Err(why)),
    };
    if let Some(at) = repo.tag_target(&name)? {
        return Ok(Err(if Some(at) == head.commit {
            format!(
                "HEAD carries the tag {name}, yet its version from git is {current}: check the tag settings"
            )
        } else {
            format!("the tag {name} already exists, on commit {}, not on HEAD", crate::git::short(at))
        }));
    }
    repo.create_tag(&name, &format!("Release {wanted}"))?;
    crate::report::note(format_args!("tagged HEAD {name}"));
    let created = CreatedTag { repo, name, keep: false };
    let now = crate::scm::version_of_tree(repo, head, settings).map_err(version_error)?;
    if Version::from_str(&now).ok().as_ref() != Some(wanted) {
        return Ok(Err(format!(
            "with the tag {}, HEAD's version from git is {now}, not {wanted} (another version tag \
             on HEAD wins): remove it, or release that version",
            created.name
        )));
    }
    Ok(Ok(ReleaseTag::Created(created)))
}

/// What to set when the upload tool (uv when `uv`, else twine) said it had no credentials:
/// both refuse to upload without a login even to an index that asks for none (pypiserver
/// `-a . -P .`), where any values do.
fn credentials_hint(uv: bool, said: &str) -> Option<&'static str> {
    if uv && said.contains("Missing credentials") {
        Some(
            "uv publish found no credentials: set UV_PUBLISH_TOKEN, or UV_PUBLISH_USERNAME and \
             UV_PUBLISH_PASSWORD (uv also reads netrc, `uv auth login` and a keyring); an index that \
             takes uploads without authentication still needs a login from uv, and any values do \
             (UV_PUBLISH_USERNAME=upload UV_PUBLISH_PASSWORD=unused)",
        )
    } else if !uv && said.contains("Credential not found") {
        Some(
            "twine found no credentials: set TWINE_USERNAME and TWINE_PASSWORD (or a ~/.pypirc); \
             an index that takes uploads without authentication still needs them set, and any \
             values do (TWINE_USERNAME=upload TWINE_PASSWORD=unused)",
        )
    } else {
        None
    }
}

/// Runs `cmd` with its output shown to the user (through a log that is echoed); returns
/// whether it succeeded, and what it said.
fn run_visible(cmd: &Cmd, s: &Session) -> Result<(bool, String)> {
    let mut log = tempfile::tempfile().context("creating a temp log")?;
    let exit = cmd.run_logged(&mut log, Instant::now() + Duration::from_secs(900), &s.cancel)?;
    use std::io::{Read, Seek, SeekFrom};
    log.seek(SeekFrom::Start(0)).ok();
    let mut text = String::new();
    log.read_to_string(&mut text).ok();
    std::io::Write::write_all(&mut std::io::stderr().lock(), text.as_bytes()).ok();
    Ok((exit == Exit::Code(0), text))
}

#[cfg(test)]
mod tests {
    use super::{Target, credentials_hint};

    #[test]
    fn a_missing_login_is_answered_with_the_variables_to_set() {
        let uv = "error: Failed to publish `a.whl` to `http://127.0.0.1:1/`\n  cause: Missing credentials for: http://127.0.0.1:1/";
        assert!(credentials_hint(true, uv).is_some_and(|h| h.contains("UV_PUBLISH_USERNAME=upload")));
        let twine = "ERROR    NonInteractive: Credential not found for username.";
        assert!(credentials_hint(false, twine).is_some_and(|h| h.contains("TWINE_USERNAME=upload")));
        assert_eq!(credentials_hint(true, "403 Invalid or non-existent authentication information"), None);
        assert_eq!(credentials_hint(true, twine), None);
    }

    #[test]
    fn repository_names_select_urls_and_explicit_urls_win() {
        let t = Target::resolve(Some("testpypi"), None, None).unwrap();
        assert_eq!(
            (t.repository_url.as_str(), t.index_url.as_str()),
            ("https://test.pypi.org/legacy/", "https://test.pypi.org/simple/")
        );
        let t = Target::resolve(None, Some("http://x/".into()), None).unwrap();
        assert_eq!(
            (t.repository_url.as_str(), t.index_url.as_str()),
            ("http://x/", "https://pypi.org/simple/")
        );
        assert!(Target::resolve(Some("nope"), None, None).is_err());
    }
}
