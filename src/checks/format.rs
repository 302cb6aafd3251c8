//! Built-in `format`: ruff's formatter in check mode; the log shows the diff it would apply.

use super::{Defaults, argv};
use crate::config::Stage;

/// `ruff format --check --diff .` at pre-commit and pre-push.
pub fn defaults() -> Defaults {
    Defaults {
        run: argv(&["ruff", "format", "--check", "--diff", "--no-cache", "."]),
        deps: vec!["ruff".into()],
        stages: vec![Stage::PreCommit, Stage::PrePush],
    }
}
