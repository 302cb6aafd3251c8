//! The built-in check kinds: a closed enum, one file each. A kind supplies its defaults
//! (command, dependencies, stages, needs), says which options it takes and whether it applies
//! to a tree, and executes through one [`Invocation`] (snapshot, venv, environments, log,
//! artifacts of the checks it needs). Adding a built-in touches one file here and the matches
//! below.

mod ci_sync;
mod command;
mod coverage;
mod docs;
mod format;
mod invocation;
mod lint;
mod lock;
mod test;
mod version;
mod wheel;

pub use invocation::{Invocation, Outcome as RunOutcome, list_files};
pub use version::DEFAULT_TTL as DEFAULT_VERSION_TTL;
pub use wheel::is_dist;

use anyhow::Result;

use crate::config::{CheckDef, Config, Options, RunSpec, Stage};
use crate::git::{Repo, TreeRef};

/// Which implementation a check uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CheckKind {
    /// Lint (`ruff check`, or flake8).
    Lint,
    /// Formatting (`ruff format --check`, or black).
    Format,
    /// Build sdist + wheel, validate metadata and contents.
    Wheel,
    /// pytest against the installed wheel.
    Test,
    /// Coverage of the test run: threshold and reports.
    Coverage,
    /// The built version is not already on the index.
    Version,
    /// Sphinx or MkDocs build.
    Docs,
    /// The committed CI workflow matches the config (optional).
    CiSync,
    /// A user-defined command.
    Command,
}

/// What a kind contributes when the config does not say otherwise.
#[derive(Debug, Clone)]
pub struct Defaults {
    /// The command (for kinds that run one command).
    pub run: RunSpec,
    /// Requirements for the venv.
    pub deps: Vec<String>,
    /// Stages it runs at.
    pub stages: Vec<Stage>,
}

impl CheckKind {
    /// The built-in kinds in report order.
    pub const BUILTINS: &'static [CheckKind] = &[
        CheckKind::Lint,
        CheckKind::Format,
        CheckKind::Wheel,
        CheckKind::Test,
        CheckKind::Coverage,
        CheckKind::Version,
        CheckKind::Docs,
        CheckKind::CiSync,
    ];

    /// The name a built-in is configured under (`command` for custom checks).
    pub fn name(self) -> &'static str {
        match self {
            CheckKind::Lint => "lint",
            CheckKind::Format => "format",
            CheckKind::Wheel => "wheel",
            CheckKind::Test => "test",
            CheckKind::Coverage => "coverage",
            CheckKind::Version => "version",
            CheckKind::Docs => "docs",
            CheckKind::CiSync => "ci-sync",
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
        !matches!(self, CheckKind::Command | CheckKind::CiSync)
    }

    /// Checks this kind always needs (the DAG of the built-ins).
    pub fn builtin_needs(self) -> &'static [&'static str] {
        match self {
            CheckKind::Test => &["wheel"],
            CheckKind::Coverage => &["test"],
            CheckKind::Version => &["wheel"],
            _ => &[],
        }
    }

    /// Whether this kind takes the kind-specific option `option`.
    pub fn accepts(self, option: &str) -> bool {
        matches!(
            (self, option),
            (CheckKind::Lint | CheckKind::Format, "tool")
                | (CheckKind::Test, "args" | "paths")
                | (CheckKind::Coverage, "fail-under")
                | (CheckKind::Version, "index-url" | "strict" | "ttl")
                | (CheckKind::Docs, "strict" | "doctest")
        )
    }

    /// The values `tool` may take for this kind.
    pub fn tools(self) -> &'static [&'static str] {
        match self {
            CheckKind::Lint => &["ruff", "flake8"],
            CheckKind::Format => &["ruff", "black"],
            _ => &[],
        }
    }

    /// The kind's default command, dependencies and stages.
    pub fn defaults(self, options: &Options) -> Defaults {
        match self {
            CheckKind::Lint => lint::defaults(options),
            CheckKind::Format => format::defaults(options),
            CheckKind::Wheel => wheel::defaults(),
            CheckKind::Test => test::defaults(),
            CheckKind::Coverage => coverage::defaults(),
            CheckKind::Version => version::defaults(),
            CheckKind::Docs => docs::defaults(),
            CheckKind::CiSync => ci_sync::defaults(),
            CheckKind::Command => command::defaults(),
        }
    }

    /// The requirements the runner installs into the venv before `execute` (the wheel check
    /// installs its validators itself, while the build runs).
    pub fn venv_deps(self, def: &CheckDef) -> &[String] {
        match self {
            CheckKind::Wheel => &[],
            _ => &def.deps,
        }
    }

    /// Whether the kind keeps files for the checks that need it (a cached verdict without them
    /// is a miss).
    pub fn keeps_artifacts(self) -> bool {
        matches!(self, CheckKind::Wheel | CheckKind::Test)
    }

    /// Why the check does not apply to this tree, if it does not (it is then `skipped`).
    pub fn not_applicable(self, def: &CheckDef, repo: &Repo, tree: &TreeRef) -> Result<Option<String>> {
        match self {
            CheckKind::Test => test::not_applicable(def, repo, tree),
            CheckKind::Docs => docs::not_applicable(repo, tree),
            _ => Ok(None),
        }
    }

    /// Work that does not depend on the checks this one needs (installing tools), done while
    /// they still run.
    pub fn prepare(self, inv: &mut Invocation<'_>, config: &Config) -> Result<RunOutcome> {
        match self {
            CheckKind::Test => test::prepare(inv, config),
            _ => Ok(RunOutcome::Exit(crate::process::Exit::Code(0))),
        }
    }

    /// Runs the check; a kind that runs one command runs `def.run`.
    pub fn execute(self, inv: &mut Invocation<'_>, config: &Config) -> Result<RunOutcome> {
        match self {
            CheckKind::Lint | CheckKind::Format | CheckKind::Command => command::execute(inv),
            CheckKind::Wheel => wheel::execute(inv),
            CheckKind::Test => test::execute(inv, config),
            CheckKind::Coverage => coverage::execute(inv, config),
            CheckKind::Version => version::execute(inv),
            CheckKind::Docs => docs::execute(inv, config),
            CheckKind::CiSync => ci_sync::execute(inv, config),
        }
    }
}

fn argv(words: &[&str]) -> RunSpec {
    RunSpec::Argv(words.iter().map(|w| w.to_string()).collect())
}
