//! Built-in `lint`: ruff's linter (or flake8 with `tool = "flake8"`) over the whole snapshot,
//! honouring the project's own settings because it runs from the snapshot's root.

use super::{Defaults, argv};
use crate::config::{Options, Stage};

/// `ruff check .` (or `flake8 .`) at pre-commit and pre-push.
pub fn defaults(options: &Options) -> Defaults {
    let (run, deps) = match options.tool.as_deref() {
        Some("flake8") => (argv(&["flake8", "."]), vec!["flake8".into()]),
        _ => (argv(&["ruff", "check", "--no-cache", "."]), vec!["ruff".into()]),
    };
    Defaults { run, deps, stages: vec![Stage::PreCommit, Stage::PrePush] }
}
