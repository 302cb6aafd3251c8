//! Built-in `docs`: `docs/conf.py` means Sphinx (`sphinx-build -W --keep-going`, plus the
//! doctest builder with `doctest = true`), `mkdocs.yml` means `mkdocs build --strict`.
//! Requirements: the `docs` extra or dependency group, `docs/requirements.txt`, the check's
//! `deps`, or the lock file; the package itself is installed too (autodoc imports it).
//! `strict = false` drops warnings-as-errors. The built site is kept as a report.

use anyhow::Result;

use super::invocation::step;
use super::{Defaults, Invocation, RunOutcome, lock};
use crate::config::{Config, RunSpec, Stage};
use crate::git::{Repo, TreeRef};
use crate::process::Exit;

/// Everything is installed at run time, depending on the docs engine.
pub fn defaults() -> Defaults {
    Defaults { run: RunSpec::Argv(Vec::new()), deps: Vec::new(), stages: vec![Stage::PrePush] }
}

/// Skipped when the tree has no docs.
pub fn not_applicable(repo: &Repo, tree: &TreeRef) -> Result<Option<String>> {
    // On the cached path: an id lookup, not a blob read.
    for f in ["docs/conf.py", "mkdocs.yml", "mkdocs.yaml"] {
        if repo.path_id(tree.tree, f)?.is_some() {
            return Ok(None);
        }
    }
    Ok(Some("no docs/conf.py (Sphinx) or mkdocs.yml (MkDocs)".into()))
}

/// Install, then build.
pub fn execute(inv: &mut Invocation<'_>, config: &Config) -> Result<RunOutcome> {
    let sphinx = inv.src.join("docs/conf.py").is_file();
    let engine = if sphinx { "sphinx" } else { "mkdocs" };
    let strict = inv.def.options.strict.unwrap_or(true);
    match &config.lock {
        Some(path) => {
            let args = lock::install_args(inv, path)?;
            step!(inv.install(&args));
            step!(inv.install(&["--no-deps".into(), ".".into()]));
        }
        None => {
            let mut reqs = vec![".".to_string()];
            let mut from_project = false;
            if let Some((from, r)) = config.project.requirements_for(&["docs", "doc"], &["docs", "doc"]) {
                inv.note(&format!("docs requirements from {from}"));
                reqs.extend(r);
                from_project = true;
            }
            if inv.src.join("docs/requirements.txt").is_file() {
                reqs.push("-r".into());
                reqs.push(inv.src.join("docs/requirements.txt").display().to_string());
                from_project = true;
            }
            reqs.extend(inv.def.deps.iter().cloned());
            if !from_project && inv.def.deps.is_empty() {
                reqs.push(engine.to_string());
            }
            step!(inv.install(&reqs));
        }
    }
    let python = inv.python().display().to_string();
    if sphinx {
        let out = inv.reports.join("html").display().to_string();
        let mut args = vec!["-m", "sphinx", "-b", "html"];
        if strict {
            args.extend(["-W", "--keep-going"]);
        }
        args.extend(["docs", &out]);
        step!(inv.run(&inv.check_cmd(&python, &args)));
        if inv.def.options.doctest == Some(true) {
            let out = inv.scratch.join("doctest").display().to_string();
            step!(inv.run(&inv.check_cmd(&python, &["-m", "sphinx", "-b", "doctest", "docs", &out])));
        }
    } else {
        let out = inv.reports.join("site").display().to_string();
        let mut args = vec!["-m", "mkdocs", "build", "-d", &out];
        if strict {
            args.push("--strict");
        }
        step!(inv.run(&inv.check_cmd(&python, &args)));
    }
    Ok(RunOutcome::Exit(Exit::Code(0)))
}
