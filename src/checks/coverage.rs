//! Built-in `coverage`: reports on the data the `test` run measured on the installed package,
//! with paths mapped back to the source (`[tool.coverage.paths]` semantics, the project's own
//! entries kept), a terminal summary in the log, and `coverage.xml` (Cobertura) plus an HTML
//! report under `<git-common-dir>/hookgate/reports/<key>/`. Fails under `fail-under` (the
//! check's, else `[tool.coverage.report] fail_under`); no threshold means report only.

use anyhow::Result;

use super::invocation::step;
use super::{Defaults, Invocation, RunOutcome};
use crate::config::{Config, RunSpec, Stage};
use crate::process::Exit;

const REPORT: &str = include_str!("py/coverage_report.py");

/// coverage.py in the venv.
pub fn defaults() -> Defaults {
    Defaults { run: RunSpec::Argv(Vec::new()), deps: vec!["coverage".into()], stages: vec![Stage::PrePush] }
}

/// Combine, map, report, compare with the threshold.
pub fn execute(inv: &mut Invocation<'_>, config: &Config) -> Result<RunOutcome> {
    let data_dir = inv.needs.get("test").cloned().unwrap_or_default();
    let script = inv.helper("hookgate_coverage_report.py", REPORT)?.display().to_string();
    let mut args = vec![
        script,
        "--root".to_string(),
        inv.src.display().to_string(),
        "--data-dir".into(),
        data_dir.display().to_string(),
        "--data-file".into(),
        inv.scratch.join(".coverage").display().to_string(),
        "--xml".into(),
        inv.reports.join("coverage.xml").display().to_string(),
        "--html".into(),
        inv.reports.join("html").display().to_string(),
    ];
    if let Some(f) = inv.def.options.fail_under.or(config.project.coverage_fail_under) {
        args.push("--fail-under".into());
        args.push(f.to_string());
    }
    let python = inv.python().display().to_string();
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    step!(inv.run(&inv.check_cmd(python, &argv)));
    Ok(RunOutcome::Exit(Exit::Code(0)))
}
