//! `hookgate scm-version`: the version a build of a tree gets from git (setuptools-scm and
//! hatch-vcs packages), exactly as the checks that build the package are given it. Reads git
//! and the tree's `pyproject.toml`; runs nothing.

use anyhow::Result;

use crate::error::Error;
use crate::gate::{Session, load_config};
use crate::git::Repo;
use crate::outcome::ExitStatus;

/// `hookgate scm-version [REV | --worktree]`: prints the version on stdout; a package whose
/// version does not come from git is an error (exit 2) that says so.
pub fn scm_version(s: &Session, rev: Option<&str>, worktree: bool) -> Result<ExitStatus> {
    let repo = Repo::discover(&s.cwd, &s.host)?;
    let tree = match (rev, worktree) {
        (_, true) => repo.worktree_tree()?,
        (Some(rev), false) => repo.resolve(rev)?,
        (None, false) => repo.head()?,
    };
    let config = load_config(&repo, &tree)?;
    if !config.project.version_from_git {
        return Err(Error::Environment(format!(
            "the package in {} does not take its version from git (no dynamic version with \
             setuptools-scm or hatch-vcs in pyproject.toml)",
            tree.label
        ))
        .into());
    }
    let version = crate::scm::version_of_tree(&repo, &tree, &config.project.scm)
        .map_err(|why| Error::Environment(format!("the version from git of {}: {why}", tree.label)))?;
    crate::report::out(format_args!("{version}\n"))?;
    Ok(ExitStatus::Success)
}
