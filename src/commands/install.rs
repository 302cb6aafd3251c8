//! `hookgate install` and `hookgate uninstall`: the hook scripts in this clone.

use anyhow::{Context, Result};

use crate::gate::{Session, load_config};
use crate::git::Repo;
use crate::hooks::{self, HookType};
use crate::outcome::ExitStatus;

/// `hookgate install`: the named hooks, or pre-commit + pre-merge-commit + pre-push
/// (+ post-commit when HEAD's config says `background = true`).
pub fn install(s: &Session, hooks: Option<Vec<HookType>>) -> Result<ExitStatus> {
    let repo = Repo::discover(&s.cwd, &s.host)?;
    let hooks = hooks.unwrap_or_else(|| {
        let mut h = vec![HookType::PreCommit, HookType::PreMergeCommit, HookType::PrePush];
        let background =
            repo.head().ok().and_then(|t| load_config(&repo, &t).ok()).is_some_and(|c| c.background);
        if background {
            h.push(HookType::PostCommit);
        }
        h
    });
    let bin = std::env::current_exe().context("finding hookgate's own path")?;
    let bin = bin.canonicalize().unwrap_or(bin);
    for line in hooks::install(&repo, &hooks, &bin)? {
        crate::report::out(format_args!("hookgate: {line}\n"))?;
    }
    Ok(ExitStatus::Success)
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
