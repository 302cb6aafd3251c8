//! Built-in `ci-sync` (off unless named): the committed GitHub workflow is the one
//! `hookgate ci github` generates from this tree's config, so CI cannot drift from the gate.
//! Pure comparison in process; the log shows the diff.

use anyhow::Result;

use super::{Defaults, Invocation, RunOutcome};
use crate::ci::{WORKFLOW_PATH, diff, github_workflow};
use crate::config::{Config, RunSpec, Stage};
use crate::process::Exit;

/// No venv needs; runs at pre-push.
pub fn defaults() -> Defaults {
    Defaults { run: RunSpec::Argv(Vec::new()), deps: Vec::new(), stages: vec![Stage::PrePush] }
}

/// Compare the committed workflow with the generated one.
pub fn execute(inv: &mut Invocation<'_>, config: &Config) -> Result<RunOutcome> {
    let want = github_workflow(config);
    match std::fs::read_to_string(inv.src.join(WORKFLOW_PATH)) {
        Ok(have) if have == want => {
            inv.note(&format!("{WORKFLOW_PATH} matches the config"));
            Ok(RunOutcome::Exit(Exit::Code(0)))
        }
        Ok(have) => {
            inv.note(&format!("{WORKFLOW_PATH} no longer matches the config; run `hookgate ci github`:"));
            inv.note(&format!("\n{}", diff(&have, &want)));
            Ok(RunOutcome::Exit(Exit::Code(1)))
        }
        Err(_) => {
            inv.note(&format!("{WORKFLOW_PATH} is not in this tree; run `hookgate ci github` and commit it"));
            Ok(RunOutcome::Exit(Exit::Code(1)))
        }
    }
}
