//! The core API every entry point shares: read a tree's config from its blobs, plan its checks
//! and run them (from the cache where possible). The hooks, `run`, `watch`, `status` and
//! `release` all come through here, so a push, CI and a release judge a tree the same way.

use std::path::PathBuf;

use anyhow::Result;

use crate::cache::Cache;
use crate::config::{self, Config};
use crate::env::HostEnv;
use crate::git::{Repo, TreeRef};
use crate::outcome::Outcome;
use crate::plan::{self, Plan, Selection};
use crate::process::Cancel;
use crate::run::Runner;
use crate::venv;

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
    let hookgate = repo.read_file(tree.id, "hookgate.toml")?;
    let pyproject = repo.read_file(tree.id, "pyproject.toml")?;
    // Tool pins (`uv.lock`, `.pre-commit-config.yaml`); unreadable ones pin nothing.
    let uv_lock = repo.read_file(tree.id, "uv.lock").ok().flatten();
    let precommit = repo.read_file(tree.id, ".pre-commit-config.yaml").ok().flatten();
    let pylock = repo.read_file(tree.id, "pylock.toml").ok().flatten();
    // The project's linter and formatter (see `tooling`).
    let setup_cfg = repo.read_file(tree.id, "setup.cfg").ok().flatten();
    let tox_ini = repo.read_file(tree.id, "tox.ini").ok().flatten();
    let has = |path: &str| -> Result<bool> { Ok(repo.path_id(tree.id, path)?.is_some()) };
    Ok(config::load_files(&config::ConfigFiles {
        hookgate_toml: hookgate.as_deref(),
        pyproject: pyproject.as_deref(),
        uv_lock: uv_lock.as_deref(),
        precommit: precommit.as_deref(),
        pylock: pylock.as_deref(),
        setup_py: repo.path_id(tree.id, "setup.py")?.is_some(),
        setup_cfg: setup_cfg.as_deref(),
        tox_ini: tox_ini.as_deref(),
        ruff_toml: has("ruff.toml")? || has(".ruff.toml")?,
        flake8_file: has(".flake8")?,
    })?)
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
    let RunSettings { force, jobs, cancel, observer, dists, local_only, wants_files } = settings;
    let mut cache = Cache::for_user(repo.common_dir(), &s.host);
    if local_only {
        cache = cache.local_only();
    }
    let config = load_config(repo, tree)?;
    let (host, note) = s.host.scratch_outside(&[repo.workdir(), repo.git_dir(), repo.common_dir()])?;
    if let Some(note) = note {
        crate::report::note(format_args!("{note}"));
    }
    let interp = venv::find_interpreter(config.python.as_deref(), &s.host, &s.cwd, cache.root())?;
    let plan = plan::build_with(repo, tree, &config, selection, &interp, &s.host, dists)?;
    if !force && !local_only {
        // Signed verdicts pulled from the remote, where trusted and keyed as here. Failing to
        // read them costs a run, never the run.
        if let Err(e) = crate::verdicts::adopt(repo, &plan, &cache, &s.host, wants_files) {
            crate::report::warn(format_args!("shared verdicts not used: {e:#}"));
        }
    }
    let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, std::num::NonZero::get));
    let cancel = cancel.unwrap_or(&s.cancel).clone();
    let runner = Runner {
        repo,
        cache: &cache,
        interp: &interp,
        host: &host,
        cancel,
        jobs,
        force,
        observer,
        wants_files,
    };
    let outcomes = runner.execute(&plan)?;
    Ok((plan, outcomes))
}
