//! Built-in `test`: pytest against the **installed wheel** built by `wheel`. A fresh venv gets
//! the wheel plus the test requirements (extra `test`/`tests`, dependency group `test`/`dev`,
//! the check's `deps`, or the lock file); the wheel's top-level packages are moved out of the
//! snapshot while pytest runs, so every import resolves to site-packages (a module left out of
//! the wheel makes an importing test fail). With `coverage` enabled, the run is measured and
//! the data kept as this check's artifact.

use anyhow::{Context, Result};

use super::invocation::step;
use super::{Defaults, Invocation, RunOutcome, lock};
use crate::config::{CheckDef, Config, RunSpec, Stage};
use crate::git::{Repo, TreeRef};
use crate::process::Exit;

const RUNNER: &str = include_str!("py/test_runner.py");

/// Everything is installed at run time (the wheel's name is known only then).
pub fn defaults() -> Defaults {
    Defaults { run: RunSpec::Argv(Vec::new()), deps: Vec::new(), stages: vec![Stage::PrePush] }
}

fn default_paths(repo: &Repo, tree: &TreeRef) -> Result<Vec<String>> {
    for dir in ["tests", "test"] {
        if repo.is_dir(tree.tree, dir)? {
            return Ok(vec![dir.to_string()]);
        }
    }
    Ok(Vec::new())
}

/// Skipped when there is nothing to run.
pub fn not_applicable(def: &CheckDef, repo: &Repo, tree: &TreeRef) -> Result<Option<String>> {
    if !def.options.paths.is_empty() || !default_paths(repo, tree)?.is_empty() {
        return Ok(None);
    }
    Ok(Some("no tests/ or test/ directory (set `paths` to name the tests)".into()))
}

/// Installs the test requirements and tools (everything but the wheel) while `wheel` runs.
pub fn prepare(inv: &mut Invocation<'_>, config: &Config) -> Result<RunOutcome> {
    let mut tools = vec!["pytest".to_string()];
    if config.check("coverage").is_some() {
        tools.push("coverage".into());
    }
    match &config.lock {
        Some(path) => {
            let args = lock::install_args(inv, path)?;
            step!(inv.install(&args));
            step!(inv.install(&tools));
        }
        None => {
            let mut reqs = Vec::new();
            if let Some((from, r)) = config.project.requirements_for(&["test", "tests"], &["test", "dev"]) {
                inv.note(&format!("test requirements from {from}"));
                reqs.extend(r);
            }
            reqs.extend(inv.def.deps.iter().cloned());
            reqs.extend(tools);
            let mut seen = std::collections::BTreeSet::new();
            reqs.retain(|r| seen.insert(r.clone()));
            step!(inv.install(&reqs));
        }
    }
    Ok(RunOutcome::Exit(Exit::Code(0)))
}

/// Installs the wheel `wheel` built, then runs pytest through the runner script.
pub fn execute(inv: &mut Invocation<'_>, config: &Config) -> Result<RunOutcome> {
    let wheel = inv
        .needed_files("wheel")?
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .context("the `wheel` check left no wheel")?;
    let wheel = wheel.display().to_string();
    let coverage = config.check("coverage").is_some();
    match &config.lock {
        // Locked: the lock provides every dependency; the wheel adds only itself.
        Some(_) => step!(inv.install(&["--no-deps".into(), wheel.clone()])),
        None => step!(inv.install(std::slice::from_ref(&wheel))),
    }
    let runner = inv.helper("hookgate_test_runner.py", RUNNER)?.display().to_string();
    let hidden = inv.scratch.join("hidden-source").display().to_string();
    let src = inv.src.display().to_string();
    let mut args: Vec<String> =
        vec![runner, "--wheel".into(), wheel, "--root".into(), src, "--hide-to".into(), hidden];
    if coverage {
        args.push("--coverage-dir".into());
        args.push(inv.artifacts.display().to_string());
    }
    args.push("--".into());
    let paths = if inv.def.options.paths.is_empty() {
        ["tests", "test"]
            .iter()
            .find(|d| inv.src.join(d).is_dir())
            .map(|d| vec![d.to_string()])
            .unwrap_or_default()
    } else {
        inv.def.options.paths.clone()
    };
    args.extend(paths);
    args.extend(inv.def.options.args.iter().cloned());
    let python = inv.python().display().to_string();
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    step!(inv.run(&inv.check_cmd(python, &argv)));
    Ok(RunOutcome::Exit(Exit::Code(0)))
}
