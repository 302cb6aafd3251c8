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
    /// After `git merge`/`git pull`: fetches the shared verdicts in the background, once
    /// sharing is set up (see [`crate::verdicts`]).
    PostMerge,
    /// After `git checkout`/`git switch` of a branch: the same as post-merge.
    PostCheckout,
}

impl HookType {
    /// The hook's file name.
    pub fn name(self) -> &'static str {
        match self {
            HookType::PreCommit => "pre-commit",
            HookType::PreMergeCommit => "pre-merge-commit",
            HookType::PrePush => "pre-push",
            HookType::PostCommit => "post-commit",
            HookType::PostMerge => "post-merge",
            HookType::PostCheckout => "post-checkout",
        }
    }

    /// Every hook, for reading back the install record.
    pub const ALL: [HookType; 6] = [
        HookType::PreCommit,
        HookType::PreMergeCommit,
        HookType::PrePush,
        HookType::PostCommit,
        HookType::PostMerge,
        HookType::PostCheckout,
    ];

    fn git_command(self) -> &'static str {
        match self {
            HookType::PreCommit => "commit",
            HookType::PreMergeCommit => "merge",
            HookType::PrePush => "push",
            HookType::PostCommit => "commit",
            HookType::PostMerge => "merge",
            HookType::PostCheckout => "checkout",
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

/// The hook script for `hook`, calling `bin`.
pub fn script(hook: HookType, bin: &HookBinary) -> String {
    let (recorded, missing) = match bin {
        HookBinary::At(path) => {
            let quoted = shell_quote(&path.display().to_string());
            let missing =
                format!("\"hookgate: the binary is not at\" {quoted} \"(recorded at install) nor on PATH.\"");
            (quoted, missing)
        }
        HookBinary::OnPath => (
            "''".to_string(),
            "'hookgate: hookgate is not on PATH (the hooks were installed from a temporary \
             environment, so they call hookgate on PATH).'"
                .to_string(),
        ),
    };
    TEMPLATE
        .replace("@HOOK@", hook.name())
        .replace("@GITCMD@", hook.git_command())
        .replace("@VERSION@", env!("CARGO_PKG_VERSION"))
        .replace("@BIN@", &recorded)
        .replace("@MISSING@", &missing)
}

/// Which `hookgate` the hook scripts call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookBinary {
    /// This absolute path; `hookgate` on PATH when it is gone.
    At(PathBuf),
    /// `hookgate` on PATH, looked up each time a hook runs.
    OnPath,
}

/// What `install` records for the hooks, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryChoice {
    /// What the scripts call.
    pub binary: HookBinary,
    /// Set when the running binary lives somewhere that vanishes (uv's cache for `uvx`, pip's
    /// build environment, pipx's cache, the temporary directory): which place it is.
    pub temporary: Option<&'static str>,
}

/// Where a binary at `path` (canonical) will not last, if it is in such a place: uv's cache
/// (`uvx` and `uv run --with` environments live in its `archive-v0` bucket, which
/// `uv cache clean`/`prune` removes), pip's isolated build environments, pipx's cache
/// (`pipx run`), or under one of `tmp_roots`.
pub fn temporary_place(path: &Path, uv_cache: Option<&Path>, tmp_roots: &[PathBuf]) -> Option<&'static str> {
    let names: Vec<String> =
        path.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    let bucket = |n: &str, prefix: &str| {
        n.strip_prefix(prefix).is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
    };
    if uv_cache.is_some_and(|c| path.starts_with(c))
        || names.iter().any(|n| bucket(n, "archive-v") || bucket(n, "builds-v"))
    {
        return Some("uv's cache");
    }
    if names.iter().any(|n| n.starts_with("pip-build-env-")) {
        return Some("pip's build environment");
    }
    if names.windows(2).any(|w| w[0] == "pipx" && w[1] == ".cache") {
        return Some("pipx's cache");
    }
    if tmp_roots.iter().any(|t| path.starts_with(t)) {
        return Some("the temporary directory");
    }
    None
}

/// What the hooks should call, given the running binary `exe` (canonical): itself, unless it
/// lives in a [`temporary_place`]; then the first `hookgate` on `path_var` that does not (by
/// the path PATH names, so a `uv tool` or pip link survives an upgrade), else PATH at hook time.
pub fn choose_binary(
    exe: &Path,
    path_var: &str,
    uv_cache: Option<&Path>,
    tmp_roots: &[PathBuf],
) -> BinaryChoice {
    let Some(temporary) = temporary_place(exe, uv_cache, tmp_roots) else {
        return BinaryChoice { binary: HookBinary::At(exe.to_path_buf()), temporary: None };
    };
    use std::os::unix::fs::PermissionsExt;
    let lasting = std::env::split_paths(path_var)
        // A relative entry ("." or empty) would resolve against whatever directory git runs
        // the hook in: the repository under test, whose files are someone else's.
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join("hookgate"))
        .find(|candidate| {
            let executable = std::fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
            // Both the name PATH gives and what it resolves to must last.
            executable
                && temporary_place(candidate, uv_cache, tmp_roots).is_none()
                && candidate
                    .canonicalize()
                    .is_ok_and(|real| temporary_place(&real, uv_cache, tmp_roots).is_none())
        });
    BinaryChoice { binary: lasting.map_or(HookBinary::OnPath, HookBinary::At), temporary: Some(temporary) }
}

/// Installs `hooks`, calling `bin`, wherever git looks for hooks in any worktree; returns what
/// it did, one line each.
pub fn install(repo: &Repo, hooks: &[HookType], bin: &HookBinary) -> Result<Vec<String>> {
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

fn install_into(dir: &Path, hooks: &[HookType], bin: &HookBinary) -> Result<Vec<String>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caches_build_environments_and_the_temporary_directory_are_temporary() {
        let tmp = [PathBuf::from("/tmp")];
        let at = |p: &str, cache: Option<&str>| temporary_place(Path::new(p), cache.map(Path::new), &tmp);
        assert_eq!(at("/home/u/.cache/uv/archive-v0/G32U/bin/hookgate", None), Some("uv's cache"));
        assert_eq!(at("/home/u/.cache/uv/builds-v12/.tmpX/bin/hookgate", None), Some("uv's cache"));
        assert_eq!(at("/srv/uvc/environments-v2/x/bin/hookgate", Some("/srv/uvc")), Some("uv's cache"));
        assert_eq!(
            at("/var/x/pip-build-env-abc/overlay/bin/hookgate", None),
            Some("pip's build environment")
        );
        assert_eq!(at("/home/u/.local/pipx/.cache/1f2e/bin/hookgate", None), Some("pipx's cache"));
        assert_eq!(at("/tmp/demo/hookgate", None), Some("the temporary directory"));
        for lasting in [
            "/home/u/.local/share/uv/tools/hookgate/bin/hookgate",
            "/home/u/.cargo/bin/hookgate",
            "/home/u/archive-v/bin/hookgate",
            "/home/u/archive-vX/bin/hookgate",
            "/tmpfoo/hookgate",
            "/work/target/debug/hookgate",
        ] {
            assert_eq!(at(lasting, Some("/home/u/.cache/uv")), None, "{lasting}");
        }
    }

    #[test]
    fn a_script_without_a_recorded_path_calls_hookgate_on_path() {
        let on_path = script(HookType::PrePush, &HookBinary::OnPath);
        assert!(on_path.contains("HOOKGATE_BIN=''\n"), "{on_path}");
        assert!(on_path.contains("'hookgate: hookgate is not on PATH"), "{on_path}");
        let at = script(HookType::PrePush, &HookBinary::At(PathBuf::from("/opt/it's/hookgate")));
        assert!(at.contains(r"HOOKGATE_BIN='/opt/it'\''s/hookgate'"), "{at}");
        for placeholder in ["@HOOK@", "@GITCMD@", "@VERSION@", "@BIN@", "@MISSING@"] {
            assert!(!at.contains(placeholder) && !on_path.contains(placeholder), "{placeholder} was left");
        }
    }
}
