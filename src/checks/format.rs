//! Built-in `format`: ruff's formatter (or black with `tool = "black"`) in check mode; the log
//! shows the diff it would apply.

use std::sync::Arc;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::filewise::Tool;
use super::{Check, Defaults, Invocation, KindOptions, argv, command};
use crate::config::{CheckDef, Config, OptionTable, Project, RunSpec, Stage};
use crate::error::Error;
use crate::git::{Repo, TreeRef};
use crate::outcome::Ended;
use crate::tooling::Formatter;

/// The `format` kind.
pub struct Format;

/// `format`'s settings.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormatOptions {
    /// `ruff` (default) or `black`.
    pub tool: Option<String>,
}

/// ruff's default command; `.` stands for the tree's Python files.
const RUFF: &[&str] = &["ruff", "format", "--check", "--diff", "--no-cache", "."];

/// black's default command; `.` is where its discovery starts.
const BLACK: &[&str] = &["black", "--check", "--diff", "."];

/// The formatters `tool` may name.
const TOOLS: &[&str] = &["ruff", "black"];

impl Check for Format {
    fn name(&self) -> &'static str {
        "format"
    }

    fn option_names(&self) -> &'static [&'static str] {
        &["tool"]
    }

    fn parse_options(&self, table: &OptionTable<'_>) -> Result<Arc<dyn KindOptions>, Error> {
        let o: FormatOptions = table.parse()?;
        command::check_tool(table, o.tool.as_deref(), TOOLS)?;
        Ok(Arc::new(o))
    }

    fn accepts_run(&self) -> bool {
        true
    }

    /// `ruff format --check --diff .` (or `black --check --diff .`) at pre-commit and pre-push.
    /// Without a `tool`, the project's own formatter ([`crate::tooling`]); none for a project
    /// that lints with flake8 and shows no formatter. ruff's default command gets the tree's
    /// Python files in place of `.`
    /// ([`command::run_ruff`]).
    fn defaults(&self, options: &dyn KindOptions, project: &Project) -> Defaults {
        let tool = options.as_any().downcast_ref::<FormatOptions>().and_then(|o| o.tool.as_deref());
        let (run, deps) = match (tool, project.tooling.formatter) {
            // No formatter: an empty command, which `not_applicable` skips.
            (None, Formatter::None) => (RunSpec::Argv(Vec::new()), Vec::new()),
            (Some("black"), _) | (None, Formatter::Black) => {
                (argv(BLACK), vec![project.pins.requirement("black").0])
            }
            _ => (argv(RUFF), vec![project.pins.requirement("ruff").0]),
        };
        Defaults { run, deps, stages: vec![Stage::PreCommit, Stage::PrePush] }
    }

    /// Skipped when the project has no formatter (it lints with flake8 and shows none).
    fn not_applicable(&self, def: &CheckDef, _repo: &Repo, _tree: &TreeRef) -> Result<Option<String>> {
        Ok((def.run == RunSpec::Argv(Vec::new())).then(|| {
            "the project has no formatter (it lints with flake8 and configures neither ruff nor black); \
             set `tool` to run one"
                .to_string()
        }))
    }

    /// The default commands write nothing: ruff's (`--check --no-cache`), black's (`--check`,
    /// its cache under the check's private HOME).
    fn reads_only(&self, def: &crate::config::CheckDef, _config: &Config) -> bool {
        def.run == argv(RUFF) || def.run == argv(BLACK)
    }

    fn execute(&self, inv: &mut Invocation<'_>, config: &Config) -> Result<Ended> {
        command::note_pins(inv, config);
        let default = self.defaults(inv.def.options.as_ref(), &config.project).run;
        if inv.def.run == default {
            if default == argv(RUFF) {
                return command::run_ruff(inv, &RUFF[1..RUFF.len() - 1]);
            }
            if default == argv(BLACK) {
                let paths = [".".to_string()];
                return command::run_file_local(inv, Tool::Black, &BLACK[1..BLACK.len() - 1], &paths);
            }
        }
        command::run_command(inv)
    }
}
