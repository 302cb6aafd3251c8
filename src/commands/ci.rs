//! `hookgate ci github [--check]`: the GitHub workflow generated from the working copy's config
//! (written atomically, or compared with the committed one).

use anyhow::Result;

use crate::ci::{WORKFLOW_PATH, diff, github_workflow};
use crate::config;
use crate::gate::Session;
use crate::git::Repo;
use crate::outcome::ExitStatus;

/// `hookgate ci github [--check]`.
pub fn github(s: &Session, check: bool) -> Result<ExitStatus> {
    let repo = Repo::discover(&s.cwd, &s.host)?;
    let read = |name: &str| std::fs::read_to_string(repo.workdir().join(name)).ok();
    let config = config::load(read("hookgate.toml").as_deref(), read("pyproject.toml").as_deref())?;
    let want = github_workflow(&config);
    let path = repo.workdir().join(WORKFLOW_PATH);
    let have = std::fs::read_to_string(&path).ok();
    if check {
        return Ok(match have {
            Some(h) if h == want => {
                crate::report::out(format_args!("hookgate: {WORKFLOW_PATH} matches the config\n"))?;
                ExitStatus::Success
            }
            Some(h) => {
                crate::report::out(format_args!(
                    "hookgate: {WORKFLOW_PATH} differs from the config (run `hookgate ci github`):\n"
                ))?;
                crate::report::out(diff(&h, &want))?;
                ExitStatus::Failure
            }
            None => {
                crate::report::out(format_args!(
                    "hookgate: {WORKFLOW_PATH} does not exist (run `hookgate ci github`)\n"
                ))?;
                ExitStatus::Failure
            }
        });
    }
    if have.as_deref() != Some(want.as_str()) {
        crate::cache::write_atomic(&path, want.as_bytes())?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).ok();
    }
    crate::report::out(format_args!("hookgate: wrote {}\n", path.display()))?;
    Ok(ExitStatus::Success)
}
