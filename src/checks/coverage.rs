//! Built-in `coverage`: reports on the data the `test` run measured on the installed package,
//! with paths mapped back to the source (`[tool.coverage.paths]` semantics, the project's own
//! entries kept), a terminal summary in the log, and `coverage.xml` (Cobertura) plus an HTML
//! report under `<git-common-dir>/hookgate/reports/<key>/`. Fails under `fail-under` (the
//! check's, else `[tool.coverage.report] fail_under`); no threshold means report only.

use std::sync::Arc;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::invocation::check;
use super::{Check, Defaults, Invocation, KindOptions, test};
use crate::config::{CheckDef, Config, OptionTable, Project};
use crate::error::Error;
use crate::git::{Repo, TreeRef};
use crate::outcome::Ended;

const REPORT: &str = include_str!("py/coverage_report.py");

/// The `coverage` kind.
pub struct Coverage;

/// `coverage`'s settings.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CoverageOptions {
    /// Minimum total percentage (else `[tool.coverage.report] fail_under`).
    pub fail_under: Option<f64>,
}

impl Check for Coverage {
    fn name(&self) -> &'static str {
        "coverage"
    }

    fn builds_package(&self, _def: &CheckDef) -> bool {
        true
    }

    fn needs(&self) -> &'static [&'static str] {
        &["test"]
    }

    fn option_names(&self) -> &'static [&'static str] {
        &["fail-under"]
    }

    fn parse_options(&self, table: &OptionTable<'_>) -> Result<Arc<dyn KindOptions>, Error> {
        Ok(Arc::new(table.parse::<CoverageOptions>()?))
    }

    /// coverage.py in the venv.
    fn defaults(&self, _options: &dyn KindOptions, _project: &Project) -> Defaults {
        Defaults { deps: vec!["coverage".into()], ..Defaults::default() }
    }

    fn key_variant(&self, _def: &CheckDef, config: &Config, repo: &Repo, tree: &TreeRef) -> Result<Value> {
        test::environment_variant(config, repo, tree)
    }

    /// Combine, map, report, compare with the threshold.
    fn execute(&self, inv: &mut Invocation<'_>, config: &Config) -> Result<Ended> {
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
        let own = inv.def.options::<CoverageOptions>().and_then(|o| o.fail_under);
        if let Some(f) = own.or(config.project.coverage_fail_under) {
            args.push("--fail-under".into());
            args.push(f.to_string());
        }
        let python = inv.python().display().to_string();
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        check!(inv.run(&inv.check_cmd(python, &argv)));
        Ok(Ended::Pass)
    }
}
