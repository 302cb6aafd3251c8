//! `hookgate run`: checks one tree (HEAD's, a revision's, or the working copy's) and reports.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::gate::{RunSettings, Session, check_tree};
use crate::git::Repo;
use crate::outcome::ExitStatus;
use crate::plan::Selection;
use crate::report::TreeReport;

/// Which tree `run` checks.
#[derive(Debug, Clone)]
pub enum Target {
    /// HEAD's tree.
    Head,
    /// A revision's tree.
    Rev(String),
    /// The working copy, as `git add -A` would stage it.
    Worktree,
}

/// Options of `run`.
pub struct RunOptions {
    /// Which checks.
    pub selection: Selection,
    /// Which tree.
    pub target: Target,
    /// Ignore the cache.
    pub force: bool,
    /// Parallel checks.
    pub jobs: Option<usize>,
    /// JSON on stdout.
    pub json: bool,
    /// Where to write JUnit XML.
    pub junit: Option<PathBuf>,
}

/// `hookgate run`.
pub fn run(s: &Session, opts: &RunOptions) -> Result<ExitStatus> {
    let repo = Repo::discover(&s.cwd, &s.host)?;
    // Refuse an unwritable report path before spending minutes on checks.
    if let Some(path) = &opts.junit {
        let existed = path.exists();
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("--junit {}: cannot write there", path.display()))?;
        if !existed {
            std::fs::remove_file(path).ok();
        }
    }
    let tree = match &opts.target {
        Target::Head => repo.head()?,
        Target::Rev(rev) => repo.resolve(rev)?,
        Target::Worktree => repo.worktree_tree()?,
    };
    let settings = RunSettings { force: opts.force, jobs: opts.jobs, ..RunSettings::default() };
    let (plan, outcomes) = check_tree(s, &repo, &tree, &opts.selection, settings)?;
    let report = TreeReport { tree: &tree, stage: &plan.stage, outcomes: &outcomes };
    if let Some(path) = &opts.junit {
        std::fs::write(path, report.to_junit()).with_context(|| format!("writing {}", path.display()))?;
    }
    if opts.json {
        report.write_human(&mut std::io::stderr(), console::colors_enabled_stderr()).ok();
        let mut out = std::io::stdout();
        writeln!(out, "{}", report.to_json()).context("writing JSON")?;
    } else {
        report
            .write_human(&mut std::io::stdout(), console::colors_enabled())
            .context("writing the report")?;
    }
    Ok(report.exit_status())
}
