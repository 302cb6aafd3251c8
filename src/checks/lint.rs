//! Built-in `lint`: ruff's linter over the whole snapshot, honouring the project's own
//! `[tool.ruff]` settings because it runs from the snapshot's root.

use super::{Defaults, argv};
use crate::config::Stage;

/// `ruff check .` at pre-commit and pre-push.
pub fn defaults() -> Defaults {
    Defaults {
        run: argv(&["ruff", "check", "--no-cache", "."]),
        deps: vec!["ruff".into()],
        stages: vec![Stage::PreCommit, Stage::PrePush],
    }
}
