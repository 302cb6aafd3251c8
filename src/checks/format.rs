//! Built-in `format`: ruff's formatter (or black with `tool = "black"`) in check mode; the log
//! shows the diff it would apply.

use super::{Defaults, argv};
use crate::config::{Options, Stage};

/// `ruff format --check --diff .` (or `black --check --diff .`) at pre-commit and pre-push.
pub fn defaults(options: &Options) -> Defaults {
    let (run, deps) = match options.tool.as_deref() {
        Some("black") => (argv(&["black", "--check", "--diff", "."]), vec!["black".into()]),
        _ => (argv(&["ruff", "format", "--check", "--diff", "--no-cache", "."]), vec!["ruff".into()]),
    };
    Defaults { run, deps, stages: vec![Stage::PreCommit, Stage::PrePush] }
}
