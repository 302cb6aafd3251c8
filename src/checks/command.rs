//! Custom checks (`[checks.NAME]` with a `run`): one command from the snapshot's root, in the
//! scrubbed environment with the venv first on PATH. `lint` and `format` run their command
//! the same way.

use anyhow::Result;

use super::{Check, Invocation, invocation::check};
use crate::config::{CheckDef, Config, OptionTable, RunSpec};
use crate::error::Error;
use crate::outcome::Ended;

/// The kind of custom checks.
pub struct Command;

impl Check for Command {
    fn name(&self) -> &'static str {
        "command"
    }

    fn on_by_default(&self) -> bool {
        false
    }

    fn accepts_run(&self) -> bool {
        true
    }

    /// A custom check that installs the tree's package (`deps = ["."]`, `".[extra]"`,
    /// `"./sub"`) builds it, so it sees the version from git.
    fn builds_package(&self, def: &CheckDef) -> bool {
        def.deps.iter().any(|d| d.starts_with('.'))
    }

    fn execute(&self, inv: &mut Invocation<'_>, _config: &Config) -> Result<Ended> {
        run_command(inv)
    }
}

/// Runs the check's `run`: its exit status is the verdict.
pub fn run_command(inv: &mut Invocation<'_>) -> Result<Ended> {
    let cmd = match &inv.def.run {
        RunSpec::Argv(argv) => {
            let Some((program, args)) = argv.split_first() else {
                return Ok(Ended::Error(format!("check `{}` has no command", inv.def.name)));
            };
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            inv.check_cmd(program.clone(), &args)
        }
        RunSpec::Shell(s) => inv.check_cmd("sh", &["-c", s]),
    };
    check!(inv.run(&cmd));
    Ok(Ended::Pass)
}

/// Says in the log where the version of each pinned requirement came from.
pub fn note_pins(inv: &mut Invocation<'_>, config: &Config) {
    let lines: Vec<String> = inv
        .def
        .deps
        .iter()
        .filter_map(|d| {
            let (name, _) = d.split_once("==")?;
            let (req, source) = config.project.pins.requirement(name);
            Some(if &req == d {
                format!("{d} (from {source})")
            } else {
                format!("{d} (from the check's `deps`)")
            })
        })
        .collect();
    if !lines.is_empty() {
        inv.note(&format!("tool versions: {}", lines.join(", ")));
    }
}

/// Refuses a `tool` that is not one of `allowed`, at its position in the config.
pub fn check_tool(table: &OptionTable<'_>, tool: Option<&str>, allowed: &[&str]) -> Result<(), Error> {
    match tool {
        Some(t) if !allowed.contains(&t) => Err(table.error_at(
            "tool",
            format!("check `{}`: unknown tool `{t}` (one of: {})", table.check(), allowed.join(", ")),
        )),
        _ => Ok(()),
    }
}
