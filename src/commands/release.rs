//! `hookgate release`: publishes only what the gate accepts. Preconditions (on the main branch,
//! clean, pushed), every check of `run --all` passing on HEAD's tree, the version free on the
//! index, no such tag yet; then the dists the `wheel` check built are uploaded as they are (no
//! rebuild) and only after a successful upload is `vX.Y.Z` tagged and pushed.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::cache::Cache;
use crate::checks::list_files;
use crate::gate::{RunSettings, Session, check_tree, load_config};
use crate::git::Repo;
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

/// `hookgate release`.
pub fn release(s: &Session, target: &Target, dry_run: bool) -> Result<ExitStatus> {
    let repo = Repo::discover(&s.cwd, &s.host)?;
    let head = repo.head()?;
    let config = load_config(&repo, &head)?;

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

    // 2. Every check passes on HEAD's tree.
    let (plan, outcomes) = check_tree(s, &repo, &head, &Selection::All, RunSettings::default())?;
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
    let tag = format!("v{version}");
    if repo.tag_exists(&tag)? {
        return refuse(format!("the tag {tag} already exists"));
    }

    // 3. The version is free on the index: asked as the `version` check asks; no answer is no.
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
    if dry_run {
        crate::report::out(format_args!(
            "hookgate: dry run: would upload {} to {}\n",
            names.join(", "),
            target.repository_url
        ))?;
        crate::report::out(format_args!("hookgate: dry run: would then tag {tag} and push it to origin\n"))?;
        return Ok(ExitStatus::Success);
    }

    // 4. Upload exactly the dists the wheel check built; credentials come from the environment
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
        return refuse("the upload failed (see above); nothing was tagged");
    }

    // 5. Only now: the annotated tag, pushed to origin.
    repo.create_tag(&tag, &format!("Release {version}"))?;
    let push = Cmd::new(
        "git",
        &["push", "origin", &format!("refs/tags/{tag}")],
        repo.workdir(),
        s.host.vars.clone(),
    );
    if !run_visible(&push, s)?.0 {
        crate::report::note(format_args!(
            "uploaded, and tagged {tag} locally, but pushing the tag failed: `git push origin {tag}`"
        ));
        return Ok(ExitStatus::Failure);
    }
    crate::report::out(format_args!(
        "hookgate: released {version}: uploaded {} and pushed {tag}\n",
        names.join(", ")
    ))?;
    Ok(ExitStatus::Success)
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
