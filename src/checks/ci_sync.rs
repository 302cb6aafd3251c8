//! Built-in `ci-sync` (off unless named): the committed GitHub workflow is the one
//! `hookgate ci github` generates from this tree's config, so CI cannot drift from the gate.
//! Pure comparison in process; the log shows the diff.

use anyhow::Result;

use super::{Check, Invocation};
use crate::ci::{WORKFLOW_PATH, diff, github_workflow};
use crate::config::Config;
use crate::outcome::Ended;

/// The `ci-sync` kind.
pub struct CiSync;

impl Check for CiSync {
    fn name(&self) -> &'static str {
        "ci-sync"
    }

    fn on_by_default(&self) -> bool {
        false
    }

    fn needs_venv(&self) -> bool {
        false
    }

    /// Compare the committed workflow with the generated one.
    fn execute(&self, inv: &mut Invocation<'_>, config: &Config) -> Result<Ended> {
        let want = github_workflow(config);
        Ok(match std::fs::read_to_string(inv.src.join(WORKFLOW_PATH)) {
            Ok(have) if have == want => {
                inv.note(&format!("{WORKFLOW_PATH} matches the config"));
                Ended::Pass
            }
            Ok(have) => {
                inv.note(&format!("{WORKFLOW_PATH} no longer matches the config; run `hookgate ci github`:"));
                inv.note(&format!("\n{}", diff(&have, &want)));
                Ended::Fail(None)
            }
            Err(_) => {
                inv.note(&format!(
                    "{WORKFLOW_PATH} is not in this tree; run `hookgate ci github` and commit it"
                ));
                Ended::Fail(None)
            }
        })
    }
}
