//! Checks that run one command: custom checks, and the `lint`/`format` built-ins. The command
//! runs from the snapshot's root in the scrubbed environment with the venv first on PATH.

use anyhow::Result;

use super::{Defaults, Invocation, RunOutcome};
use crate::config::{RunSpec, Stage};

/// A bare venv at pre-push; the command always comes from the config.
pub fn defaults() -> Defaults {
    Defaults { run: RunSpec::Argv(Vec::new()), deps: Vec::new(), stages: vec![Stage::PrePush] }
}

/// Runs `def.run`.
pub fn execute(inv: &mut Invocation<'_>) -> Result<RunOutcome> {
    let cmd = match &inv.def.run {
        RunSpec::Argv(argv) => {
            let args: Vec<&str> = argv[1..].iter().map(String::as_str).collect();
            inv.check_cmd(argv[0].clone(), &args)
        }
        RunSpec::Shell(s) => inv.check_cmd("sh", &["-c", s]),
    };
    Ok(RunOutcome::Exit(inv.run(&cmd)?))
}
