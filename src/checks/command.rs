//! Custom checks: the user's own command, run like any built-in. There is no default command
//! (config validation requires `run`); deps default to none, stage to pre-push.

use super::Defaults;
use crate::config::{RunSpec, Stage};

/// A bare venv at pre-push; the command always comes from the config.
pub fn defaults() -> Defaults {
    Defaults { run: RunSpec::Argv(Vec::new()), deps: Vec::new(), stages: vec![Stage::PrePush] }
}
