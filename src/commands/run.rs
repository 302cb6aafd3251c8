//! `hookgate run`: checks one tree (HEAD's, a revision's, or the working copy's) and reports.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::cache::Cache;
use crate::dists::Dist;
use crate::gate::{RunSettings, Session, check_tree};
use crate::git::Repo;
use crate::outcome::ExitStatus;
use crate::outcome::Status;
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
    /// Test these distributions instead of building them.
    pub dists: Option<PathBuf>,
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
    let given = match &opts.dists {
        Some(dir) => Some(crate::dists::read_dir(dir)?),
        None => None,
    };
    // `run wheel --json` lists the dists `wheel` passed (CI's build job uploads them): named
    // there, it builds them even when a shared verdict answers it.
    let names_wheel = matches!(&opts.selection, Selection::Names(n) if n.iter().any(|n| n == "wheel"));
    let wants_files: &[&str] = if opts.json && names_wheel { &["wheel"] } else { &[] };
    let settings = RunSettings {
        force: opts.force,
        jobs: opts.jobs,
        dists: given.as_deref(),
        wants_files,
        ..RunSettings::default()
    };
    let (plan, outcomes) = check_tree(s, &repo, &tree, &opts.selection, settings)?;
    let report = TreeReport { tree: &tree, stage: &plan.stage, outcomes: &outcomes };
    if let Some(path) = &opts.junit {
        std::fs::write(path, report.to_junit()).with_context(|| format!("writing {}", path.display()))?;
    }
    if opts.json {
        report.write_human(&mut std::io::stderr(), console::colors_enabled_stderr()).ok();
        let mut json = report.to_json();
        if let Some(map) = json.as_object_mut() {
            map.insert("dists".into(), serde_json::json!(tested_dists(&repo, &plan, &outcomes)));
        }
        let mut out = std::io::stdout();
        writeln!(out, "{json}").context("writing JSON")?;
    } else {
        report
            .write_human(&mut std::io::stdout(), console::colors_enabled())
            .context("writing the report")?;
    }
    Ok(report.exit_status())
}

/// The distributions the `wheel` check passed (built, or given with `--dists`), with their
/// SHA-256: the bytes `test` installed and a release uploads. Empty when `wheel` did not pass,
/// or its pass is a shared verdict that no check of this run needed the files of.
fn tested_dists(repo: &Repo, plan: &crate::plan::Plan, outcomes: &[crate::outcome::Outcome]) -> Vec<Dist> {
    let Some(wheel) = outcomes.iter().find(|o| o.name == "wheel" && o.status == Status::Pass) else {
        return Vec::new();
    };
    if !plan.checks.iter().any(|c| c.key == wheel.key && c.def.kind.name() == "wheel") {
        return Vec::new();
    }
    let dir = Cache::new(repo.common_dir()).artifacts_dir(&wheel.key);
    crate::dists::read_dir(&dir).unwrap_or_default()
}
