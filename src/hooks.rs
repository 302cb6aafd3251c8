//! Installing and removing the git hooks, and the hook entry point's chaining of a hook that
//! was there before us. A foreign hook is moved aside to `<name>.hookgate-legacy` (a rename, so
//! its bytes and mode are kept) and runs first; `uninstall` renames it back.
//!
//! Hooks go where git will look for them: `core.hooksPath` when set, else the common git dir's
//! `hooks/`. A relative `core.hooksPath` is resolved by git against the root of the worktree it
//! runs in, so each worktree gets its own copy. Which hooks were installed is recorded in
//! `<git-common-dir>/hookgate/installed-hooks`, so `status` can say when the hooks git would
//! run are not ours (`core.hooksPath` changed since, a worktree added later).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::git::Repo;
use crate::process::{Cmd, Exit, shell_quote};

const TEMPLATE: &str = include_str!("../hooks/hook.sh");
const MARKER: &str = "# hookgate-managed hook";

/// The git hooks hookgate can install.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookType {
    /// Checks the index's tree on `git commit`.
    PreCommit,
    /// Checks the index's tree when `git merge` creates a merge commit (no pre-commit runs).
    PreMergeCommit,
    /// Checks each pushed tip's tree on `git push`.
    PrePush,
    /// Starts a background pre-push run on the new commit, so the push finds it cached.
    PostCommit,
}

impl HookType {
    /// The hook's file name.
    pub fn name(self) -> &'static str {
        match self {
            HookType::PreCommit => "pre-commit",
            HookType::PreMergeCommit => "pre-merge-commit",
            HookType::PrePush => "pre-push",
            HookType::PostCommit => "post-commit",
        }
    }

    /// Every hook, for reading back the install record.
    const ALL: [HookType; 4] =
        [HookType::PreCommit, HookType::PreMergeCommit, HookType::PrePush, HookType::PostCommit];

    fn git_command(self) -> &'static str {
        match self {
            HookType::PreCommit => "commit",
            HookType::PreMergeCommit => "merge",
            HookType::PrePush => "push",
            HookType::PostCommit => "commit",
        }
    }
}

/// Where a replaced hook is kept.
pub fn legacy_path(dir: &Path, hook: &str) -> PathBuf {
    dir.join(format!("{hook}.hookgate-legacy"))
}

fn is_ours(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|t| t.contains(MARKER))
}

/// The hook script for `hook`, calling `bin` by absolute path.
pub fn script(hook: HookType, bin: &Path) -> String {
    TEMPLATE
        .replace("@HOOK@", hook.name())
        .replace("@GITCMD@", hook.git_command())
        .replace("@VERSION@", env!("CARGO_PKG_VERSION"))
        .replace("@BIN@", &shell_quote(&bin.display().to_string()))
}

/// Installs `hooks`, calling `bin`, wherever git looks for hooks in any worktree; returns what
/// it did, one line each.
pub fn install(repo: &Repo, hooks: &[HookType], bin: &Path) -> Result<Vec<String>> {
    let dirs = repo.all_hooks_dirs()?;
    let mut said = Vec::new();
    if let Some(setting) = repo.hooks_path_setting()? {
        said.push(format!(
            "core.hooksPath is set ({}): installing into {}",
            setting.display(),
            dirs[0].display()
        ));
        if setting.is_relative() {
            said.push(
                "core.hooksPath is relative: git resolves it in the root of each worktree, so every \
                 worktree gets the hooks; run `hookgate install` again in a worktree added later"
                    .to_string(),
            );
        }
    }
    for dir in &dirs {
        said.extend(install_into(dir, hooks, bin)?);
    }
    let mut recorded = installed(repo);
    recorded.extend(hooks.iter().copied());
    record(repo, &recorded)?;
    Ok(said)
}

fn install_into(dir: &Path, hooks: &[HookType], bin: &Path) -> Result<Vec<String>> {
    use std::os::unix::fs::PermissionsExt;
    let mut said = Vec::new();
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for &hook in hooks {
        let path = dir.join(hook.name());
        let legacy = legacy_path(dir, hook.name());
        let exists = path.symlink_metadata().is_ok();
        if exists && !is_ours(&path) {
            if legacy.symlink_metadata().is_ok() {
                bail!(
                    "{} is not hookgate's, and {} already holds an earlier hook; move one of them \
                     away, then run `hookgate install` again",
                    path.display(),
                    legacy.display()
                );
            }
            std::fs::rename(&path, &legacy).with_context(|| format!("moving {} aside", path.display()))?;
            said.push(format!(
                "kept your existing {} hook: moved to {}; it runs first and its failure blocks",
                hook.name(),
                legacy.display()
            ));
        }
        let mut tmp =
            tempfile::Builder::new().prefix(".hookgate-").tempfile_in(dir).context("creating the hook")?;
        tmp.write_all(script(hook, bin).as_bytes()).context("writing the hook")?;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o755))
            .context("making the hook executable")?;
        tmp.persist(&path).with_context(|| format!("installing {}", path.display()))?;
        said.push(format!("installed {} hook: {}", hook.name(), path.display()));
    }
    Ok(said)
}

/// Removes our hooks and puts back the ones they replaced, in every worktree's hooks
/// directory; leaves foreign hooks alone.
pub fn uninstall(repo: &Repo, hooks: &[HookType]) -> Result<Vec<String>> {
    let mut said = Vec::new();
    for dir in repo.all_hooks_dirs()? {
        for &hook in hooks {
            let path = dir.join(hook.name());
            let legacy = legacy_path(&dir, hook.name());
            if path.symlink_metadata().is_ok() {
                if !is_ours(&path) {
                    said.push(format!("left {} alone: it is not hookgate's", path.display()));
                    continue;
                }
                std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
                said.push(format!("removed {}", path.display()));
            }
            if legacy.symlink_metadata().is_ok() {
                std::fs::rename(&legacy, &path).with_context(|| format!("restoring {}", legacy.display()))?;
                said.push(format!("restored your earlier {} hook", hook.name()));
            }
        }
    }
    let mut recorded = installed(repo);
    recorded.retain(|h| !hooks.contains(h));
    record(repo, &recorded)?;
    Ok(said)
}

/// Warnings for `status`: installed hooks that git would not run here, because the hooks
/// directory git uses in this worktree does not hold them (`core.hooksPath` changed since
/// install, or this worktree was added after it with a relative one).
pub fn warnings(repo: &Repo) -> Result<Vec<String>> {
    let recorded = installed(repo);
    let dir = repo.hooks_dir()?;
    let missing: Vec<&str> =
        recorded.iter().filter(|h| !is_ours(&dir.join(h.name()))).map(|h| h.name()).collect();
    if missing.is_empty() {
        return Ok(Vec::new());
    }
    let why = match repo.hooks_path_setting()? {
        Some(p) => format!("core.hooksPath is {}", p.display()),
        None => "core.hooksPath is not set".to_string(),
    };
    Ok(vec![format!(
        "git runs hooks from {} here ({why}), and its {} {} not hookgate's: commits and pushes \
         here are not checked; run `hookgate install` again (here) to install them",
        dir.display(),
        missing.join(", "),
        if missing.len() == 1 { "hook is" } else { "hooks are" }
    )])
}

fn record_path(repo: &Repo) -> PathBuf {
    repo.common_dir().join("hookgate").join("installed-hooks")
}

/// The hooks `install` recorded, in a fixed order; none when there is no (readable) record.
fn installed(repo: &Repo) -> Vec<HookType> {
    let text = std::fs::read_to_string(record_path(repo)).unwrap_or_default();
    HookType::ALL.into_iter().filter(|h| text.lines().any(|l| l.trim() == h.name())).collect()
}

fn record(repo: &Repo, hooks: &[HookType]) -> Result<()> {
    let path = record_path(repo);
    if hooks.is_empty() {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("removing {}", path.display()))
            }
            _ => Ok(()),
        };
    }
    let text: String =
        HookType::ALL.into_iter().filter(|h| hooks.contains(h)).map(|h| format!("{}\n", h.name())).collect();
    crate::cache::write_atomic(&path, text.as_bytes())
}

/// Runs the hook we replaced, if any, with the same arguments, stdin and environment (git's);
/// returns its exit code.
pub fn run_legacy(
    dir: &Path,
    hook: &str,
    args: &[String],
    stdin: &[u8],
    env: &BTreeMap<String, String>,
    cwd: &Path,
) -> Result<Option<i32>> {
    use std::os::unix::fs::PermissionsExt;
    let legacy = legacy_path(dir, hook);
    // git ignores a hook that is not executable; so does the chain.
    match std::fs::metadata(&legacy) {
        Ok(m) if m.permissions().mode() & 0o111 != 0 => {}
        _ => return Ok(None),
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let cmd = Cmd::new(legacy.display().to_string(), &args, cwd, env.clone());
    let exit = cmd
        .run_foreground(stdin)
        .with_context(|| format!("running the earlier {hook} hook {}", legacy.display()))?;
    Ok(Some(match exit {
        Exit::Code(c) => c,
        _ => 1,
    }))
}
