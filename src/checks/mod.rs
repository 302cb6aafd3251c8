//! The check kinds. Each lives in one file and implements [`Check`]: its defaults, its typed
//! options (parsed and validated with spans), whether it applies to a tree, what else its key
//! depends on, and how it prepares and executes through one [`Invocation`] (snapshot, venv,
//! environments, log, artifacts of the checks it needs). [`BUILTINS`] is the one dispatch
//! table: adding a built-in is a new file here and a line in that table.

mod ci_sync;
mod command;
mod coverage;
mod docs;
mod filewise;
mod format;
mod invocation;
mod lint;
mod lock;
mod test;
pub mod testenv;
mod version;
mod wheel;

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use anyhow::Result;
use serde_json::Value;

pub use invocation::{Invocation, list_files};
pub use testenv::parse_ini;
pub use version::ask as ask_index;
pub use wheel::is_dist;

use crate::config::{CheckDef, Config, OptionTable, Project, RunSpec, Stage};
use crate::error::Error;
use crate::git::{Repo, TreeRef};
use crate::outcome::Ended;

/// The built-in kinds, in report order. A built-in is enabled by default unless its
/// [`Check::on_by_default`] says otherwise.
pub const BUILTINS: &[&dyn Check] = &[
    &lint::Lint,
    &format::Format,
    &wheel::Wheel,
    &test::Test,
    &coverage::Coverage,
    &version::Version,
    &docs::Docs,
    &ci_sync::CiSync,
];

/// The kind of a custom check (a table with a `run`).
pub const COMMAND: &dyn Check = &command::Command;

/// The built-in called `name`, if any.
pub fn builtin(name: &str) -> Option<&'static dyn Check> {
    BUILTINS.iter().copied().find(|k| k.name() == name)
}

/// Names of every built-in, for messages.
pub fn builtin_names() -> Vec<&'static str> {
    BUILTINS.iter().map(|k| k.name()).collect()
}

/// A kind's typed settings, parsed from its config table. They are part of the cache key.
pub trait KindOptions: fmt::Debug + Send + Sync + 'static {
    /// The options as a JSON value, for the key.
    fn to_key(&self) -> Value;
    /// For the kind to get its own type back.
    fn as_any(&self) -> &dyn Any;
}

impl<T: serde::Serialize + fmt::Debug + Send + Sync + 'static> KindOptions for T {
    fn to_key(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The options of a kind that takes none.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoOptions {}

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

impl Default for Defaults {
    /// No command, no requirements, at pre-push.
    fn default() -> Defaults {
        Defaults { run: RunSpec::Argv(Vec::new()), deps: Vec::new(), stages: vec![Stage::PrePush] }
    }
}

/// One kind of check. Every method but [`Check::name`] and [`Check::execute`] has a default
/// that suits a kind which runs in a fresh venv with `deps` installed and keeps nothing.
pub trait Check: Send + Sync {
    /// The name a built-in is configured under (`command` for custom checks).
    fn name(&self) -> &'static str;

    /// Whether the built-in is enabled in a package that does not mention it.
    fn on_by_default(&self) -> bool {
        true
    }

    /// Checks this kind always needs (the DAG of the built-ins).
    fn needs(&self) -> &'static [&'static str] {
        &[]
    }

    /// The kind-specific keys its table takes, for messages.
    fn option_names(&self) -> &'static [&'static str] {
        &[]
    }

    /// Parses and validates the kind-specific keys of its table.
    fn parse_options(&self, table: &OptionTable<'_>) -> Result<Arc<dyn KindOptions>, Error> {
        Ok(Arc::new(table.parse::<NoOptions>()?))
    }

    /// Whether a `run` in its table means something (it runs one command).
    fn accepts_run(&self) -> bool {
        false
    }

    /// The default command, requirements and stages, given its options and the project (whose
    /// tool pins decide the versions it installs).
    fn defaults(&self, _options: &dyn KindOptions, _project: &Project) -> Defaults {
        Defaults::default()
    }

    /// Why the check does not apply to this tree, if it does not (it is then `skipped`).
    /// On the cached path: id lookups only, no blob reads.
    fn not_applicable(&self, _def: &CheckDef, _repo: &Repo, _tree: &TreeRef) -> Result<Option<String>> {
        Ok(None)
    }

    /// What else its result depends on beyond its definition and input tree (part of the key).
    fn key_variant(&self, _def: &CheckDef, _config: &Config, _repo: &Repo, _tree: &TreeRef) -> Result<Value> {
        Ok(Value::Null)
    }

    /// What its run collects of the tree, when a verdict reached on another tree may answer it
    /// (early cutoff, see [`crate::cutoff`]); `None` (the default): it never cuts off.
    fn cutoff_reads(
        &self,
        _def: &CheckDef,
        _config: &Config,
        _repo: &Repo,
        _tree: &TreeRef,
    ) -> Result<Option<crate::cutoff::TestReads>> {
        Ok(None)
    }

    /// Whether it builds or installs the package itself: then the version from git (a tag) is
    /// one of its inputs. Checks that only read the source (`lint`, `format`) do not.
    fn builds_package(&self, _def: &CheckDef) -> bool {
        false
    }

    /// Seconds a cached pass stays valid (`version`: someone may publish meanwhile).
    fn ttl(&self, _def: &CheckDef) -> Option<u64> {
        None
    }

    /// Whether "no verdict" ([`Ended::Unknown`]) blocks like a failure (`version`'s `strict`).
    fn unknown_blocks(&self, _def: &CheckDef) -> bool {
        false
    }

    /// Whether it keeps files for the checks that need it (a cached pass without them is a
    /// miss).
    fn keeps_artifacts(&self) -> bool {
        false
    }

    /// Whether it runs in a venv at all (`version` and `ci-sync` run in process).
    fn needs_venv(&self) -> bool {
        true
    }

    /// Whether the check, as `def` configures it, only reads the tree (never writes a file of
    /// it, nor leaves one there): it may then run in the persistent view shared across runs.
    fn reads_only(&self, _def: &CheckDef, _config: &Config) -> bool {
        false
    }

    /// The requirements the runner installs into the venv before [`Check::prepare`].
    fn venv_deps<'d>(&self, def: &'d CheckDef) -> &'d [String] {
        &def.deps
    }

    /// Work that does not depend on the checks this one needs (installing tools), done while
    /// they still run.
    fn prepare(&self, _inv: &mut Invocation<'_>, _config: &Config) -> Result<Ended> {
        Ok(Ended::Pass)
    }

    /// Runs the check, once its needs passed.
    fn execute(&self, inv: &mut Invocation<'_>, config: &Config) -> Result<Ended>;
}

impl fmt::Debug for dyn Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl PartialEq for dyn Check {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

/// `RunSpec::Argv` from words.
fn argv(words: &[&str]) -> RunSpec {
    RunSpec::Argv(words.iter().map(std::string::ToString::to_string).collect())
}
