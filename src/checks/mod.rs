//! The built-in check kinds: a closed enum, one file each. A kind supplies its defaults (command,
//! dependencies, stages); the runner executes every kind the same way, in a fresh venv on a
//! snapshot of the tree. Adding a built-in touches one file here and one match arm below.

mod command;
mod format;
mod lint;

use crate::config::{RunSpec, Stage};

/// Which implementation a check uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CheckKind {
    /// `ruff check .` (built-in `lint`).
    Lint,
    /// `ruff format --check .` (built-in `format`).
    Format,
    /// A user-defined command.
    Command,
}

/// What a kind contributes when the config does not say otherwise.
#[derive(Debug, Clone)]
pub struct Defaults {
    /// The command.
    pub run: RunSpec,
    /// Requirements for the venv.
    pub deps: Vec<String>,
    /// Stages it runs at.
    pub stages: Vec<Stage>,
}

impl CheckKind {
    /// The built-in kinds in report order.
    pub const BUILTINS: &'static [CheckKind] = &[CheckKind::Lint, CheckKind::Format];

    /// The name a built-in is configured under (`command` for custom checks).
    pub fn name(self) -> &'static str {
        match self {
            CheckKind::Lint => "lint",
            CheckKind::Format => "format",
            CheckKind::Command => "command",
        }
    }

    /// The built-in called `name`, if any.
    pub fn builtin(name: &str) -> Option<CheckKind> {
        Self::BUILTINS.iter().copied().find(|k| k.name() == name)
    }

    /// Names of every built-in, for messages.
    pub fn builtin_names() -> Vec<&'static str> {
        Self::BUILTINS.iter().map(|k| k.name()).collect()
    }

    /// Whether the built-in is enabled in a package that does not mention it.
    pub fn on_by_default(self) -> bool {
        matches!(self, CheckKind::Lint | CheckKind::Format)
    }

    /// The kind's default command, dependencies and stages.
    pub fn defaults(self) -> Defaults {
        match self {
            CheckKind::Lint => lint::defaults(),
            CheckKind::Format => format::defaults(),
            CheckKind::Command => command::defaults(),
        }
    }
}

fn argv(words: &[&str]) -> RunSpec {
    RunSpec::Argv(words.iter().map(|w| w.to_string()).collect())
}
