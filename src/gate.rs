//! The core API every entry point shares: read a tree's config from its blobs, plan its checks
//! and run them (from the cache where possible). The hooks, `run`, `watch`, `status` and
//! `release` all come through here, so a push, CI and a release judge a tree the same way.

use std::borrow::Cow;
use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Result;
use git2::Oid;

use crate::cache::Cache;
use crate::config::{self, Config};
use crate::env::HostEnv;
use crate::git::{Repo, TreeRef};
use crate::outcome::Outcome;
use crate::plan::{self, Plan, Selection};
use crate::process::Cancel;
use crate::run::Runner;
use crate::venv::{self, Interpreter};

/// What every command gets: the host environment, the cancel flag, where it runs.
pub struct Session {
    /// The environment, read once.
    pub host: HostEnv,
    /// Set by Ctrl-C / SIGTERM.
    pub cancel: Cancel,
    /// Working directory to discover the repository from.
    pub cwd: PathBuf,
}

/// How [`check_tree`] runs; the default is a plain run that uses the cache, under the
/// session's cancel flag.
#[derive(Default, Clone, Copy)]
pub struct RunSettings<'a> {
    /// Ignore cached verdicts.
    pub force: bool,
    /// Parallel checks (default: cores).
    pub jobs: Option<usize>,
    /// A flag of its own (a `watch` run that a newer tree supersedes); default: the session's.
    pub cancel: Option<&'a Cancel>,
    /// Called with each outcome as it is known.
    pub observer: Option<&'a (dyn Fn(&Outcome) + Sync)>,
    /// Distributions to test instead of building them (`run --dists`).
    pub dists: Option<&'a [crate::dists::Dist]>,
    /// Rely only on verdicts this clone reached (a release): none from shared statements.
    pub local_only: bool,
    /// Checks whose kept files the caller reads (a release uploads `wheel`'s dists): one
    /// answered by a record without them runs again.
    pub wants_files: &'a [&'a str],
}

/// Reads the config of `tree` from its blobs (never from the working directory).
pub fn load_config(repo: &Repo, tree: &TreeRef) -> Result<Config> {
    ConfigBlobs::of(repo, tree)?.load(repo)
}

/// Tool pins (`uv.lock`, `.pre-commit-config.yaml`, `pylock.toml`) and the project's linter
/// and formatter settings (`setup.cfg`, `tox.ini`; see `tooling`): unreadable ones say nothing.
const OPTIONAL: [&str; 5] = ["uv.lock", ".pre-commit-config.yaml", "pylock.toml", "setup.cfg", "tox.ini"];

/// Which blobs a tree's config is read from (symlinks followed within the tree) and which
/// marker files the tree has. The config is a function of these alone, so two trees that
/// agree on them have the same config.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ConfigBlobs {
    hookgate_toml: Option<Oid>,
    pyproject: Option<Oid>,
    /// Those of [`OPTIONAL`], in its order.
    optional: [Option<Oid>; 5],
    setup_py: bool,
    ruff_toml: bool,
    flake8_file: bool,
}

impl ConfigBlobs {
    /// The config blobs of `tree`; an error where reading the config would fail before
    /// parsing it (a symlink out of the tree).
    fn of(repo: &Repo, tree: &TreeRef) -> Result<ConfigBlobs> {
        const NAMES: [&str; 11] = [
            "hookgate.toml",
            "pyproject.toml",
            OPTIONAL[0],
            OPTIONAL[1],
            OPTIONAL[2],
            OPTIONAL[3],
            OPTIONAL[4],
            "setup.py",
            "ruff.toml",
            ".ruff.toml",
            ".flake8",
        ];
        let mut found = repo.root_files(tree.id, &NAMES)?.into_iter();
        let mut next = || found.next().unwrap_or((false, Ok(None)));
        let hookgate_toml = next().1?;
        let pyproject = next().1?;
        let optional = std::array::from_fn(|_| next().1.ok().flatten());
        let mut has = || next().0;
        Ok(ConfigBlobs {
            hookgate_toml,
            pyproject,
            optional,
            setup_py: has(),
            ruff_toml: has() | has(),
            flake8_file: has(),
        })
    }

    /// Reads and parses the config these blobs hold.
    fn load(&self, repo: &Repo) -> Result<Config> {
        let read = |blob: Option<Oid>, path: &str| blob.map(|b| repo.read_text(b, path)).transpose();
        let hookgate = read(self.hookgate_toml, "hookgate.toml")?;
        let pyproject = read(self.pyproject, "pyproject.toml")?;
        let [uv_lock, precommit, pylock, setup_cfg, tox_ini] =
            std::array::from_fn(|i| read(self.optional[i], OPTIONAL[i]).ok().flatten());
        Ok(config::load_files(&config::ConfigFiles {
            hookgate_toml: hookgate.as_deref(),
            pyproject: pyproject.as_deref(),
            uv_lock: uv_lock.as_deref(),
            precommit: precommit.as_deref(),
            pylock: pylock.as_deref(),
            setup_py: self.setup_py,
            setup_cfg: setup_cfg.as_deref(),
            tox_ini: tox_ini.as_deref(),
            ruff_toml: self.ruff_toml,
            flake8_file: self.flake8_file,
        })?)
    }
}

/// Plans `selection` on `tree` and runs it; a tree whose verdicts are all cached is answered
/// without leaving [`Runner::execute`]'s fast path.
pub fn check_tree(
    s: &Session,
    repo: &Repo,
    tree: &TreeRef,
    selection: &Selection,
    settings: RunSettings<'_>,
) -> Result<(Plan, Vec<Outcome>)> {
    Gate::new(s, repo).check(tree, selection, settings)
}

/// Checks the trees of a batch (the refs of one push) one after another, finding once what
/// does not depend on the tree: the interpreter, where scratch goes, the number of jobs, the
/// host's key inputs, the tags (see [`plan::Batch`]) and whether shared verdicts are here;
/// and each config once per distinct set of config blobs ([`ConfigBlobs`]). What it finds
/// holds as of its first use, so a batch is short-lived: a long-lived `watch` makes one per
/// tree.
pub struct Gate<'a> {
    s: &'a Session,
    repo: &'a Repo,
    batch: plan::Batch<'a>,
    configs: RefCell<HashMap<ConfigBlobs, Config>>,
    interpreters: RefCell<HashMap<Option<String>, Interpreter>>,
    host: OnceCell<Cow<'a, HostEnv>>,
    jobs: OnceCell<usize>,
    notes: OnceCell<bool>,
}

impl<'a> Gate<'a> {
    /// Nothing found yet.
    pub fn new(s: &'a Session, repo: &'a Repo) -> Gate<'a> {
        Gate {
            s,
            repo,
            batch: plan::Batch::new(repo, &s.host),
            configs: RefCell::new(HashMap::new()),
            interpreters: RefCell::new(HashMap::new()),
            host: OnceCell::new(),
            jobs: OnceCell::new(),
            notes: OnceCell::new(),
        }
    }

    /// The config of `tree` (as [`load_config`] reads it), parsed once per distinct set of
    /// config blobs.
    pub fn config(&self, tree: &TreeRef) -> Result<Config> {
        let blobs = ConfigBlobs::of(self.repo, tree)?;
        if let Some(config) = self.configs.borrow().get(&blobs) {
            return Ok(config.clone());
        }
        let config = blobs.load(self.repo)?;
        self.configs.borrow_mut().insert(blobs, config.clone());
        Ok(config)
    }

    /// The host environment of the checks: scratch moved out of the repository when TMPDIR is
    /// inside it (said once).
    fn host(&self) -> Result<&HostEnv> {
        if let Some(host) = self.host.get() {
            return Ok(host);
        }
        let repo = self.repo;
        let (host, note) =
            self.s.host.scratch_outside(&[repo.workdir(), repo.git_dir(), repo.common_dir()])?;
        if let Some(note) = note {
            crate::report::note(format_args!("{note}"));
        }
        Ok(self.host.get_or_init(|| host))
    }

    /// The interpreter `config` asks for (its `python`), found once.
    pub fn interpreter(&self, config: &Config) -> Result<Interpreter> {
        let requested = config.python.as_deref();
        let key = requested.map(str::to_string);
        if let Some(interp) = self.interpreters.borrow().get(&key) {
            return Ok(interp.clone());
        }
        let cache = Cache::new(self.repo.common_dir());
        let interp = venv::find_interpreter(requested, &self.s.host, &self.s.cwd, cache.root())?;
        self.interpreters.borrow_mut().insert(key, interp.clone());
        Ok(interp)
    }

    /// Plans `selection` on `tree` under its `config` and `interp`, without running anything
    /// (`status`, `cache gc`).
    pub fn plan(
        &self,
        tree: &TreeRef,
        config: &Config,
        selection: &Selection,
        interp: &Interpreter,
    ) -> Result<Plan> {
        plan::build_in(&self.batch, tree, config, selection, interp, None)
    }

    /// Whether this clone holds shared verdicts (git notes) at all, looked up once.
    fn shares_verdicts(&self) -> bool {
        *self.notes.get_or_init(|| crate::verdicts::notes::exists(self.repo.git2()))
    }

    /// [`check_tree`] of `tree` in this batch.
    pub fn check(
        &self,
        tree: &TreeRef,
        selection: &Selection,
        settings: RunSettings<'_>,
    ) -> Result<(Plan, Vec<Outcome>)> {
        let RunSettings { force, jobs, cancel, observer, dists, local_only, wants_files } = settings;
        let (s, repo) = (self.s, self.repo);
        let mut cache = Cache::for_user(repo.common_dir(), &s.host);
        if local_only {
            cache = cache.local_only();
        }
        let config = self.config(tree)?;
        let host = self.host()?;
        let interp = self.interpreter(&config)?;
        let plan = plan::build_in(&self.batch, tree, &config, selection, &interp, dists)?;
        if !force && !local_only && self.shares_verdicts() {
            // Signed verdicts pulled from the remote, where trusted and keyed as here. Failing to
            // read them costs a run, never the run.
            if let Err(e) = crate::verdicts::adopt(repo, &plan, &cache, &s.host, wants_files) {
                crate::report::warn(format_args!("shared verdicts not used: {e:#}"));
            }
        }
        let jobs = jobs.unwrap_or_else(|| {
            *self.jobs.get_or_init(|| std::thread::available_parallelism().map_or(2, std::num::NonZero::get))
        });
        let cancel = cancel.unwrap_or(&s.cancel).clone();
        let runner =
            Runner { repo, cache: &cache, interp: &interp, host, cancel, jobs, force, observer, wants_files };
        let outcomes = runner.execute(&plan)?;
        Ok((plan, outcomes))
    }
}
