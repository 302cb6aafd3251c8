//! Built-in `coverage`: reports on the data the `test` run measured on the installed package,
//! with paths mapped back to the source (`[tool.coverage.paths]` semantics, the project's own
//! entries kept), a terminal summary in the log, and `coverage.xml` (Cobertura) plus an HTML
//! report under `<git-common-dir>/hookgate/reports/<key>/`. Fails under `fail-under` (the
//! check's, else `[tool.coverage.report] fail_under`); no threshold means report only. The
//! plugins coverage's configuration names (`run.plugins`, such as covdefaults) are installed
//! into its venv, at the project's own requirement for them when it has one.

use std::sync::Arc;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::invocation::{check, setup};
use super::{Check, Defaults, Invocation, KindOptions, test, testenv};
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

    /// As `test` collects (the report reads the data of that run): coverage cuts off with it.
    fn cutoff_reads(
        &self,
        _def: &CheckDef,
        config: &Config,
        repo: &Repo,
        tree: &TreeRef,
    ) -> Result<Option<crate::cutoff::TestReads>> {
        match config.check("test") {
            Some(test) => test.kind.cutoff_reads(test, config, repo, tree),
            None => Ok(None),
        }
    }

    /// Installs the plugins coverage's configuration names (its report loads them).
    fn prepare(&self, inv: &mut Invocation<'_>, config: &Config) -> Result<Ended> {
        let read = |f: &str| std::fs::read_to_string(inv.src.join(f)).ok();
        let plugins = plugins(&read);
        if plugins.is_empty() {
            return Ok(Ended::Pass);
        }
        let mut known: Vec<String> = testenv::discover(&inv.src, &config.project).requirements;
        known.extend(config.project.requirement_lists().into_iter().flat_map(|(_, r)| r));
        let reqs: Vec<String> = plugins.iter().map(|p| plugin_requirement(p, &known)).collect();
        inv.note(&format!("coverage plugins from its configuration: {}", reqs.join(", ")));
        setup!("installing coverage's plugins", inv.install(&reqs));
        Ok(Ended::Pass)
    }

    /// Combine, map, report, compare with the threshold.
    fn execute(&self, inv: &mut Invocation<'_>, config: &Config) -> Result<Ended> {
        let data_dir = inv.need_dir("test")?.to_path_buf();
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

/// The plugin modules coverage's configuration names (`run.plugins`), from the file coverage
/// reads: `.coveragerc`, else `setup.cfg` / `tox.ini` (`[coverage:run]`), else
/// `pyproject.toml` (`[tool.coverage.run]`). `read` reads a file of the tree's root.
pub fn plugins(read: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    let words = |v: &str| -> Vec<String> {
        v.split(['\n', ',']).map(str::trim).filter(|w| !w.is_empty()).map(str::to_string).collect()
    };
    for (file, section) in
        [(".coveragerc", "run"), ("setup.cfg", "coverage:run"), ("tox.ini", "coverage:run")]
    {
        if let Some(text) = read(file)
            && let Some(v) = testenv::parse_ini(&text).get(section).and_then(|s| s.get("plugins"))
        {
            return words(v);
        }
    }
    let doc = read("pyproject.toml").and_then(|t| toml::from_str::<toml::Value>(&t).ok());
    let list =
        doc.as_ref().and_then(|d| d.get("tool")?.get("coverage")?.get("run")?.get("plugins")?.as_array());
    list.map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

/// What to install for plugin `module`: the project's own requirement on the distribution of
/// that name (`covdefaults>=2.3`), else the name itself.
fn plugin_requirement(module: &str, known: &[String]) -> String {
    let name = crate::pins::normalize(module.split('.').next().unwrap_or(module));
    known
        .iter()
        .find(|r| {
            let end = r.find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c))).unwrap_or(r.len());
            crate::pins::normalize(&r[..end]) == name
        })
        .cloned()
        .unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugins_come_from_the_file_coverage_reads_at_the_projects_version() {
        let files = |pairs: &'static [(&'static str, &'static str)]| {
            move |f: &str| pairs.iter().find(|(n, _)| *n == f).map(|(_, t)| t.to_string())
        };
        let pyproject = files(&[("pyproject.toml", "[tool.coverage]\nrun.plugins = [\"covdefaults\"]\n")]);
        assert_eq!(plugins(&pyproject), ["covdefaults"]);
        let rc = files(&[
            (".coveragerc", "[run]\nplugins =\n    covdefaults\n    django_coverage_plugin\n"),
            ("pyproject.toml", "[tool.coverage.run]\nplugins = [\"other\"]\n"),
        ]);
        assert_eq!(plugins(&rc), ["covdefaults", "django_coverage_plugin"]);
        assert!(plugins(&files(&[("pyproject.toml", "[tool.coverage.run]\nbranch = true\n")])).is_empty());
        let known = ["pytest>=9".to_string(), "covdefaults>=2.3".to_string()];
        assert_eq!(plugin_requirement("covdefaults", &known), "covdefaults>=2.3");
        assert_eq!(plugin_requirement("django_coverage_plugin", &known), "django-coverage-plugin");
    }
}
