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
    if !has_any_config(&repo) {
        crate::report::warn(
            "no hookgate config in this package (no hookgate.toml, no [tool.hookgate]): the default \
             checks will run; `hookgate init` proposes a config from the project's own CI files",
        );
    }
    let bin = std::env::current_exe().context("finding hookgate's own path")?;
    let bin = bin.canonicalize().unwrap_or(bin);
    for line in hooks::install(&repo, &hooks, &bin)? {
        crate::report::out(format_args!("hookgate: {line}\n"))?;
    }
    Ok(ExitStatus::Success)
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
