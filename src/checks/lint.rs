//! Built-in `lint`: ruff's linter (or flake8 with `tool = "flake8"`) over the whole snapshot,
//! honouring the project's own settings because it runs from the snapshot's root.

use std::sync::Arc;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::filewise::Tool;
use super::{Check, Defaults, Invocation, KindOptions, argv, command};
use crate::config::{Config, OptionTable, Project, RunSpec, Stage};
use crate::error::Error;
use crate::outcome::Ended;
use crate::tooling::Linter;

/// The `lint` kind.
pub struct Lint;

/// `lint`'s settings.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LintOptions {
    /// `ruff` (default) or `flake8`.
    pub tool: Option<String>,
}

/// ruff's default command; `.` stands for the tree's Python files.
const RUFF: &[&str] = &["ruff", "check", "--no-fix", "--no-cache", "."];

/// The linters `tool` may name.
const TOOLS: &[&str] = &["ruff", "flake8"];

impl Check for Lint {
    fn name(&self) -> &'static str {
        "lint"
    }

    fn option_names(&self) -> &'static [&'static str] {
        &["tool"]
    }

    fn parse_options(&self, table: &OptionTable<'_>) -> Result<Arc<dyn KindOptions>, Error> {
        let o: LintOptions = table.parse()?;
        command::check_tool(table, o.tool.as_deref(), TOOLS)?;
        Ok(Arc::new(o))
    }

    fn accepts_run(&self) -> bool {
        true
    }

    /// `ruff check --no-fix .` (or `flake8 .`; without a `tool`, the project's own linter: see
    /// [`crate::tooling`]; flake8 over the paths tox's flake8 environment names) at pre-commit
    /// and pre-push. ruff's default
    /// command gets the tree's Python files in place of `.` ([`command::run_ruff`]).
    fn defaults(&self, options: &dyn KindOptions, project: &Project) -> Defaults {
        let tool = options.as_any().downcast_ref::<LintOptions>().and_then(|o| o.tool.as_deref());
        let flake8 = |paths: &[String]| {
            let mut words = vec!["flake8".to_string()];
            words.extend(if paths.is_empty() { vec![".".to_string()] } else { paths.to_vec() });
            (RunSpec::Argv(words), vec![project.pins.requirement("flake8").0])
        };
        let (run, deps) = match (tool, &project.tooling.linter) {
            (Some("flake8"), _) => flake8(&[]),
            (None, Linter::Flake8(paths)) => flake8(paths),
            _ => (argv(RUFF), vec![project.pins.requirement("ruff").0]),
        };
        Defaults { run, deps, stages: vec![Stage::PreCommit, Stage::PrePush] }
    }

    /// ruff's default command (`--no-fix`/`--check`, `--no-cache`) writes nothing.
    fn reads_only(&self, def: &crate::config::CheckDef, _config: &Config) -> bool {
        def.run == argv(RUFF)
    }

    fn execute(&self, inv: &mut Invocation<'_>, config: &Config) -> Result<Ended> {
        command::note_pins(inv, config);
        let default = self.defaults(inv.def.options.as_ref(), &config.project).run;
        if inv.def.run == default {
            if default == argv(RUFF) {
                return command::run_ruff(inv, &RUFF[1..RUFF.len() - 1]);
            }
            if let RunSpec::Argv(words) = &default
                && words.first().is_some_and(|w| w == "flake8")
            {
                let paths = words[1..].to_vec();
                return command::run_file_local(inv, Tool::Flake8, &[], &paths);
            }
        }
        command::run_command(inv)
    }
}
