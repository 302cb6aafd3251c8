//! `hookgate ci github [--check] [--dependabot]`: the GitHub workflow generated from the working
//! copy's config (written atomically, or compared with the committed one), and optionally the
//! dependabot config that keeps its actions current.

use anyhow::Result;

use crate::ci::{DEPENDABOT, DEPENDABOT_PATH, WORKFLOW_PATH, diff, github_workflow};
use crate::config;
use crate::gate::Session;
use crate::git::Repo;
use crate::outcome::ExitStatus;

/// `hookgate ci github [--check] [--dependabot]`.
pub fn github(s: &Session, check: bool, dependabot: bool) -> Result<ExitStatus> {
    let repo = Repo::discover(&s.cwd, &s.host)?;
    let read = |name: &str| std::fs::read_to_string(repo.workdir().join(name)).ok();
    let config = config::load(read("hookgate.toml").as_deref(), read("pyproject.toml").as_deref())?;
    let mut files = vec![(WORKFLOW_PATH, github_workflow(&config))];
    if dependabot {
        files.push((DEPENDABOT_PATH, DEPENDABOT.to_string()));
    }
    let mut status = ExitStatus::Success;
    for (rel, want) in files {
        let path = repo.workdir().join(rel);
        let have = std::fs::read_to_string(&path).ok();
        if check {
            match have {
                Some(h) if h == want => {
                    crate::report::out(format_args!("hookgate: {rel} matches the config\n"))?;
                }
                Some(h) => {
                    crate::report::out(format_args!(
                        "hookgate: {rel} differs from the config (run `hookgate ci github`):\n"
                    ))?;
                    crate::report::out(diff(&h, &want))?;
                    status = ExitStatus::Failure;
                }
                None => {
                    crate::report::out(format_args!(
                        "hookgate: {rel} does not exist (run `hookgate ci github`)\n"
                    ))?;
                    status = ExitStatus::Failure;
                }
            }
            continue;
        }
        if have.as_deref() != Some(want.as_str()) {
            crate::cache::write_atomic(&path, want.as_bytes())?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).ok();
        }
        crate::report::out(format_args!("hookgate: wrote {}\n", path.display()))?;
    }
    Ok(status)
}
