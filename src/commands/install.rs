//! `hookgate install` and `hookgate uninstall`: the hook scripts in this clone.

use anyhow::{Context, Result};

use crate::env::HostEnv;
use crate::gate::{Session, load_config};
use crate::git::Repo;
use crate::hooks::{self, HookBinary, HookType};
use crate::outcome::ExitStatus;

/// `hookgate install`: the named hooks, or pre-commit + pre-merge-commit + pre-push +
/// post-merge + post-checkout (which pull shared verdicts only once sharing is set up)
/// (+ post-commit when HEAD's config says `background = true`).
pub fn install(s: &Session, hooks: Option<Vec<HookType>>) -> Result<ExitStatus> {
    let repo = Repo::discover(&s.cwd, &s.host)?;
    let hooks = hooks.unwrap_or_else(|| {
        let mut h = vec![
            HookType::PreCommit,
            HookType::PreMergeCommit,
            HookType::PrePush,
            HookType::PostMerge,
            HookType::PostCheckout,
        ];
        let background =
            repo.head().ok().and_then(|t| load_config(&repo, &t).ok()).is_some_and(|c| c.background);
        if background {
            h.push(HookType::PostCommit);
        }
        h
    });
    if !has_any_config(&repo) {
        crate::report::warn(
            "no hookgate config in this package (no hookgate.toml, no [tool.hookgate]): the default \
             checks will run; `hookgate init` proposes a config from the project's own CI files",
        );
    }
    let exe = std::env::current_exe().context("finding hookgate's own path")?;
    let exe = exe.canonicalize().unwrap_or(exe);
    let choice = binary_for_hooks(&exe, &s.host);
    for line in hooks::install(&repo, &hooks, &choice.binary)? {
        crate::report::out(format_args!("hookgate: {line}\n"))?;
    }
    if let Some(place) = choice.temporary {
        match &choice.binary {
            HookBinary::At(lasting) => crate::report::out(format_args!(
                "hookgate: this hookgate runs from {place} ({}), which can vanish: the hooks call \
                 {} (`hookgate` on your PATH) instead\n",
                exe.display(),
                lasting.display()
            ))?,
            HookBinary::OnPath => crate::report::warn(format_args!(
                "this hookgate runs from {place} ({}), which can vanish, so the hooks call \
                 `hookgate` on PATH, and there is none: until there is, commits and pushes stop \
                 with a message. Install it for good with `uv tool install hookgate` (or \
                 `pip install hookgate`), then check that `hookgate --version` works in a new shell",
                exe.display()
            )),
        }
    }
    Ok(ExitStatus::Success)
}

/// What the hooks call when `exe` is the running binary: see [`hooks::choose_binary`]. The
/// places compared are canonical, as `exe` is.
fn binary_for_hooks(exe: &std::path::Path, host: &HostEnv) -> hooks::BinaryChoice {
    let canonical = |p: &std::path::Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let uv_cache = host.get("UV_CACHE_DIR").filter(|v| !v.is_empty()).map(|v| canonical(v.as_ref()));
    hooks::choose_binary(exe, host.path(), uv_cache.as_deref(), &[canonical(&host.tmp_root)])
}

/// Whether HEAD's tree (the working copy before the first commit) has a hookgate config.
fn has_any_config(repo: &Repo) -> bool {
    let (hookgate_toml, pyproject) = match repo.head() {
        Ok(t) => (
            repo.path_id(t.id, "hookgate.toml").ok().flatten().is_some(),
            repo.read_file(t.id, "pyproject.toml").ok().flatten(),
        ),
        Err(_) => (
            repo.workdir().join("hookgate.toml").exists(),
            std::fs::read_to_string(repo.workdir().join("pyproject.toml")).ok(),
        ),
    };
    super::init::existing_config(hookgate_toml, pyproject.as_deref()).is_some()
}

/// `hookgate uninstall`.
pub fn uninstall(s: &Session, hooks: &[HookType]) -> Result<ExitStatus> {
    let repo = Repo::discover(&s.cwd, &s.host)?;
    let said = hooks::uninstall(&repo, hooks)?;
    if said.is_empty() {
        crate::report::out(format_args!("hookgate: no hookgate hooks were installed\n"))?;
    }
    for line in said {
        crate::report::out(format_args!("hookgate: {line}\n"))?;
    }
    Ok(ExitStatus::Success)
}
