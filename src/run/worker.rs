//! One check's run, on a worker thread, as named steps: take the key's lock (or use the
//! verdict of the run we waited for), early cutoff (`cutoff.rs`: the verdict of another tree
//! with the same wheel and test files, for `test` and `coverage`), open the log, make the
//! scratch directory and export the tree, make the venv (a private copy of an environment
//! built once, when it can be), prepare (while the needs still run), wait for the needs,
//! execute, and record the verdict. Only a check's own answer is recorded; setup errors, timeouts,
//! unknowns and interruptions leave no record.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tempfile::NamedTempFile;

use super::cached::{cached_record, from_record, has_files, need_not_passed, skipped};
use super::cutoff::Early;
use super::scratch::Scratch;
use super::snapshot::{Exports, Snapshot};
use super::sync::{Board, Jobs, Needs, Permit};
use crate::cache::{Cache, KeyLock, LockAttempt, Record, SCHEMA, now_secs};
use crate::checks::Invocation;
use crate::env::HostEnv;
use crate::error::Error;
use crate::git::Repo;
use crate::outcome::{Ended, Outcome, Status, Verdict};
use crate::plan::{Plan, PlannedCheck};
use crate::process::Cancel;
use crate::resolve::{self, Resolver, UsedRef};
use crate::venv::shared::Store;
use crate::venv::{Installer, Interpreter};

/// What a worker thread needs to run one check (all shareable across threads).
pub struct Worker<'a> {
    /// The repository's git dir, opened by each worker (git2 handles are not shared).
    pub git_dir: &'a Path,
    /// The verdict store.
    pub cache: &'a Cache,
    /// Interpreter for venvs.
    pub interp: &'a Interpreter,
    /// uv or pip.
    pub installer: &'a Installer,
    /// The host environment.
    pub host: &'a HostEnv,
    /// The run's cancellation flag.
    pub cancel: &'a Cancel,
    /// Ignore cached verdicts.
    pub force: bool,
    /// Finished checks, for the needs.
    pub board: &'a Board,
    /// Outcomes of the checks this run already finished, read when a need did not pass.
    pub outcomes: &'a std::sync::Mutex<Vec<Option<Outcome>>>,
    /// Keys of the checks whose kept files a check that runs reads: a record without them
    /// (a shared verdict) does not answer those (`run::demand`).
    pub files_read: &'a std::collections::BTreeSet<String>,
    /// The run's one export of its tree, which each check's snapshot links to.
    pub exports: &'a Exports,
}

/// The result of taking a key's lock.
enum Locked<'j> {
    /// We hold the lock (and a job slot): run the check.
    Ours(Permit<'j>, KeyLock),
    /// The run we waited for recorded a verdict: use it.
    Decided(Outcome),
}

/// A check's log while it runs: a temp file beside its final place, kept only at the end.
pub(super) struct RunLog {
    tmp: NamedTempFile,
    pub(super) file: File,
    pub(super) path: PathBuf,
}

impl RunLog {
    /// Keeps the log under its key (a concurrent run of the same key simply replaces it).
    pub(super) fn keep(self) -> Result<()> {
        drop(self.file);
        self.tmp.persist(&self.path).context("saving the check's log")?;
        Ok(())
    }
}

impl Worker<'_> {
    /// Runs check `c` of `plan` and records its verdict if it reached one.
    pub fn run_one<'j>(
        &self,
        plan: &Plan,
        c: &PlannedCheck,
        permit: Permit<'j>,
        note: &dyn Fn(&str),
    ) -> Result<Outcome> {
        // One run per key across processes: a background run, or a second push of the same
        // tree, is waited for and its verdict used.
        let (permit, key_lock) = match self.lock_key(c, permit, note)? {
            Locked::Ours(permit, lock) => (permit, lock),
            Locked::Decided(outcome) => return Ok(outcome),
        };
        // The check's commands inherit the key lock: a run killed with SIGKILL keeps it held
        // while any of its processes lives.
        let cancel = self.cancel.handing_down(key_lock.share()?);
        Worker { cancel: &cancel, ..*self }.run_locked(plan, c, permit)
    }

    /// Runs check `c` whose key lock this process holds: on a snapshot linked to the run's
    /// export, and once more on a private export if a shared file changed while it ran.
    fn run_locked(&self, plan: &Plan, c: &PlannedCheck, permit: Permit<'_>) -> Result<Outcome> {
        let permit = match self.early_cutoff(plan, c, permit)? {
            Early::Decided(outcome) => return Ok(outcome),
            Early::Run(permit) => permit,
        };
        let start = Instant::now();
        let mut permit = Some(permit);
        let mut waited = Duration::ZERO;
        let mut needs_passed = c.needs.is_empty();
        let mut rerun: Option<String> = None;
        loop {
            let attempt = Instant::now();
            let log = self.open_log(plan, c)?;
            let repo = Repo::open(self.git_dir)?;
            // A check that only reads the tree (and whose files the per-file cache answers)
            // runs in the persistent view: only what changed since the last run is written.
            let in_view = rerun.is_none()
                && self.host.file_cache
                && c.def.snapshot == crate::config::Snapshot::Tree
                && c.def.kind.reads_only(&c.def, &plan.config);
            let snapshot =
                match in_view.then(|| self.exports.in_view(&repo, self.cancel)).transpose()?.flatten() {
                    Some(s) => s,
                    None => self.exports.scratch(&repo, c, rerun.is_some(), self.cancel)?,
                };
            drop(repo);
            let scratch = &snapshot.scratch;
            let reports = self.cache.reports_dir(&c.key);
            std::fs::remove_dir_all(&reports).ok();
            std::fs::create_dir_all(&reports).with_context(|| format!("creating {}", reports.display()))?;

            let mut inv = self.invocation(plan, c, &snapshot, &log, reports.clone(), attempt)?;
            if let Some(why) = &rerun {
                inv.note(why);
                // What the first run's tool saw was not the tree, and the per-file results and
                // the tree summary it kept say so: every file is checked again, and they are
                // rewritten.
                if let Some(store) = inv.file_cache.as_mut() {
                    store.refresh = true;
                }
            }
            if let Some(how) = snapshot.view_note() {
                inv.note(&format!("snapshot: {how}"));
            }
            if !c.withheld_env.is_empty() {
                inv.note(&format!(
                    "withheld from the check (they look like secrets; allow them outside the tree with \
                     HOOKGATE_ALLOW_ENV or git config hookgate.allowEnv): {}",
                    c.withheld_env.join(", ")
                ));
            }
            // The venv is made by the first install (a private copy of an environment built once
            // when it can be), or empty before the kind runs.
            let mut ended = Ended::Pass;
            let deps = c.def.kind.venv_deps(&c.def);
            if c.def.kind.needs_venv() && !deps.is_empty() {
                ended = catch(&mut inv, |inv| {
                    Ok(Ended::of_setup(inv.install(deps)?, "installing the check's requirements"))
                });
            }
            if ended.is_pass() {
                ended = catch(&mut inv, |inv| c.def.kind.prepare(inv, &plan.config));
            }
            if ended.is_pass() && c.def.kind.needs_venv() {
                ended = catch(&mut inv, |inv| {
                    Ok(Ended::of_setup(inv.ensure_venv()?, "creating the check's venv"))
                });
            }
            if ended.is_pass() && !needs_passed {
                // Waiting uses no CPU: give the job slot to another check meanwhile.
                let jobs = permit.take().map(Permit::release);
                let needs = self.board.wait(c, self.cancel)?;
                if let Some(jobs) = jobs {
                    permit = Some(jobs.take(self.cancel)?);
                }
                match needs {
                    Needs::Passed(w) => {
                        waited += w;
                        needs_passed = true;
                        inv.note(&format!("waited {:.2}s for {}", w.as_secs_f64(), need_names(plan, c)));
                        inv.deadline += w;
                    }
                    // Prepared for nothing: no verdict, no log, no record.
                    Needs::Failed(j) => return Ok(skipped(c, self.why_need_failed(plan, j))),
                }
            }
            if ended.is_pass() {
                ended = catch(&mut inv, |inv| c.def.kind.execute(inv, &plan.config));
            }
            // A file of the run's export written in place through a link: what this check saw
            // (or wrote) is not the tree; run it again on files of its own.
            if !self.cancel.is_cancelled() && snapshot.shares() && !snapshot.intact() {
                let why = "a file of the tree shared with the other checks changed while this check \
                           ran (written in place through a hard link, by this check or another): that \
                           run is not a verdict; running it again on a private export";
                if matches!(ended, Ended::Pass | Ended::Fail(_)) {
                    if rerun.is_none() {
                        rerun = Some(why.to_string());
                        continue;
                    }
                    ended = Ended::Error(why.into());
                }
            }
            if !inv.shared_intact() && matches!(ended, Ended::Pass | Ended::Fail(_)) {
                ended = Ended::Error(
                    "the shared environment this check's venv links to changed while it ran (a file \
                     written in place through a link); it was discarded, so this result is not a verdict"
                        .into(),
                );
            }
            let tools = match inv.known_installed() {
                _ if !matches!(ended, Ended::Pass | Ended::Fail(_)) => Vec::new(),
                Some(installed) => installed,
                None => crate::venv::freeze(&scratch.venv(), self.installer, &inv.setup_env),
            };
            let resolutions: Vec<UsedRef> = inv.resolver.used.iter().map(UsedRef::from).collect();
            drop(inv);
            // The check's own time: waiting for its needs is not part of it.
            let duration_ms = start.elapsed().saturating_sub(waited).as_millis() as u64;
            let outcome =
                self.conclude(plan, c, ended, log, scratch, &reports, duration_ms, (tools, resolutions))?;
            self.remember_cutoff(plan, c, &outcome);
            return Ok(outcome);
        }
    }

    /// Takes the lock of `c`'s key, waiting (without a job slot) while another process holds
    /// it, then re-reads the cache: the run we waited for may have decided the check.
    fn lock_key<'j>(&self, c: &PlannedCheck, permit: Permit<'j>, note: &dyn Fn(&str)) -> Result<Locked<'j>> {
        let mut permit = Some(permit);
        let mut pool: Option<&'j Jobs> = None;
        // Whether we waited for another run of this key, and the record there was then (its
        // file's modification time): a record written by that run is a different file.
        let mut waited_since: Option<Option<std::time::SystemTime>> = None;
        loop {
            match self.cache.try_lock(&c.key)? {
                LockAttempt::Acquired(lock) => {
                    // A plain run takes any valid record. `--force` takes only a verdict the run
                    // it waited for wrote: if that run was killed, an older record is stale.
                    if let Some(r) = cached_record(self.cache, c)
                        .filter(|r| !self.files_read.contains(&c.key) || has_files(self.cache, c, r.verdict))
                    {
                        let fresh =
                            waited_since.is_some_and(|before| before != self.cache.record_stamp(&c.key));
                        if !self.force || fresh {
                            let mut o = from_record(c, &r);
                            if fresh {
                                o.reason = Some("decided by the run in progress it waited for".into());
                            }
                            return Ok(Locked::Decided(o));
                        }
                    }
                    let permit = match (permit.take(), pool) {
                        (Some(p), _) => p,
                        (None, Some(jobs)) => jobs.take(self.cancel)?,
                        (None, None) => unreachable!("a released permit leaves its pool"),
                    };
                    return Ok(Locked::Ours(permit, lock));
                }
                LockAttempt::Busy(pid) => {
                    if waited_since.is_none() {
                        let who = pid.map_or("another process".to_string(), |p| format!("pid {p}"));
                        note(&format!("waiting for the run already in progress ({who})"));
                        waited_since = Some(self.cache.record_stamp(&c.key));
                        if let Some(p) = permit.take() {
                            pool = Some(p.release());
                        }
                    }
                    if self.cancel.is_cancelled() {
                        return Err(Error::Interrupted.into());
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }

    /// The check's log, in a temp file beside `logs/<key>.log`, starting with what runs.
    pub(super) fn open_log(&self, plan: &Plan, c: &PlannedCheck) -> Result<RunLog> {
        let path = self.cache.log_path(&c.key);
        let dir = path.parent().context("log path has a parent")?;
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let tmp = tempfile::Builder::new()
            .prefix(".running-")
            .tempfile_in(dir)
            .context("creating the check's log")?;
        let mut file = tmp.reopen().context("opening the check's log")?;
        writeln!(
            file,
            "hookgate: check `{}` on {} (tree {}), key {}",
            c.def.name, plan.tree.label, plan.tree.id, c.key
        )
        .context("writing the log")?;
        Ok(RunLog { tmp, file, path })
    }

    /// Everything the kind executes through.
    fn invocation<'i>(
        &'i self,
        plan: &'i Plan,
        c: &'i PlannedCheck,
        snapshot: &Snapshot,
        log: &RunLog,
        reports: PathBuf,
        start: Instant,
    ) -> Result<Invocation<'i>> {
        let scratch = &snapshot.scratch;
        let tree_env = if c.uses_tree_env { plan.tree_env.clone() } else { BTreeMap::new() };
        let (home, tmp) = (scratch.home(), scratch.tmp());
        self.host.prepare_home(&home)?;
        // The check's own variables reach its builds and installs too: a build that needs one
        // (`CUDA_HOME`, a job count) is configured where its check is.
        let build_env = if c.uses_tree_env { plan.build_env.clone() } else { BTreeMap::new() };
        let setup_env: BTreeMap<String, String> = self
            .host
            .setup_env(&home, &tmp, &c.passed_env)
            .into_iter()
            .chain(tree_env.clone())
            .chain(build_env)
            .collect();
        let mut check_env = self.host.check_env(&scratch.venv(), &home, &tmp, &c.passed_env);
        check_env.extend(tree_env);
        let needs = c
            .needs
            .iter()
            .map(|&j| (plan.checks[j].def.name.clone(), self.cache.artifacts_dir(&plan.checks[j].key)))
            .collect();
        Ok(Invocation {
            def: &c.def,
            host: self.host,
            src: snapshot.src().to_path_buf(),
            scratch: scratch.path().to_path_buf(),
            venv: scratch.venv(),
            interp: self.interp,
            installer: self.installer,
            check_env,
            setup_env,
            log: log.file.try_clone().context("sharing the log")?,
            deadline: start + c.def.timeout,
            cancel: self.cancel,
            artifacts: scratch.artifacts(),
            needs,
            reports,
            resolver: self.resolver(plan, c, snapshot.src()),
            dists: plan.dists.as_deref(),
            git_dir: self.git_dir,
            tree: &plan.tree,
            envs: self.env_store(),
            base: None,
            installed_more: false,
            added: Some((Vec::new(), Vec::new())),
            file_cache: self
                .host
                .file_cache
                .then(|| crate::filecache::Store::new(self.cache.root(), self.force)),
        })
    }

    /// The check's resolver: the tree's `hookgate.lock`, the resolution cache, and what
    /// resolution depends on besides the requirements (interpreter, index settings).
    fn resolver(&self, plan: &Plan, c: &PlannedCheck, src: &Path) -> Resolver {
        let lock =
            std::fs::read_to_string(src.join(resolve::LOCK_FILE)).ok().map(|t| resolve::LockFile::parse(&t));
        let python_version: String = self.interp.version.split('.').take(2).collect::<Vec<_>>().join(".");
        Resolver {
            lock,
            dir: self.cache.resolutions_dir(),
            context: serde_json::json!({
                "python": python_version,
                "platform": self.interp.platform,
                "host_env": c.key_inputs.get("host_env"),
            }),
            python_version,
            project: plan.config.project.name.as_deref().map(crate::pins::normalize),
            requirements: std::collections::BTreeSet::new(),
            used: Vec::new(),
        }
    }

    /// Where environments built once are kept: with uv, in the user's cache.
    fn env_store(&self) -> Option<Store> {
        match self.installer {
            Installer::Uv(_) => {
                self.host.user_cache_dir().map(|d| Store::new(d.join("hookgate").join("envs")))
            }
            Installer::Pip { .. } => None,
        }
    }

    /// Why a need did not pass, from its outcome when this run knows it.
    pub(super) fn why_need_failed(&self, plan: &Plan, j: usize) -> String {
        let known = self.outcomes.lock().ok().and_then(|o| o[j].clone());
        match known {
            Some(o) => need_not_passed(&o),
            None => format!("needs `{}`, which did not pass", plan.checks[j].def.name),
        }
    }

    /// Turns how the check ended into its outcome; keeps the log, the artifacts of a pass and
    /// the record of a verdict.
    #[allow(clippy::too_many_arguments)]
    fn conclude(
        &self,
        plan: &Plan,
        c: &PlannedCheck,
        ended: Ended,
        mut log: RunLog,
        scratch: &Scratch,
        reports: &Path,
        duration_ms: u64,
        (tools, resolutions): (Vec<String>, Vec<UsedRef>),
    ) -> Result<Outcome> {
        let (status, reason, verdict) = match ended {
            Ended::Pass => (Status::Pass, None, Some(Verdict::Pass)),
            Ended::Fail(reason) => (Status::Fail, reason, Some(Verdict::Fail)),
            Ended::Cancelled => return Err(Error::Interrupted.into()),
            Ended::TimedOut => (
                Status::Fail,
                Some(format!("timed out after {}s (not cached)", c.def.timeout.as_secs())),
                None,
            ),
            Ended::Unknown(why) if c.def.kind.unknown_blocks(&c.def) => {
                (Status::Fail, Some(format!("{why} (strict; not cached)")), None)
            }
            Ended::Unknown(why) => (Status::Unknown, Some(format!("{why} (not cached)")), None),
            Ended::Error(why) => {
                writeln!(
                    log.file,
                    "hookgate: setup error: {why}; this is not the check's verdict (not cached)"
                )
                .ok();
                (Status::Error, Some(format!("{why} (setup error; not cached)")), None)
            }
        };
        drop(log.file);
        // Keep the log under its key; a concurrent run of the same key simply replaces it.
        log.tmp.persist(&log.path).context("saving the check's log")?;
        if status == Status::Pass && c.def.kind.keeps_artifacts() {
            self.cache.keep_artifacts(&c.key, &scratch.artifacts())?;
        }
        let report_files = list_reports(reports);
        if let Some(verdict) = verdict
            && !self.cancel.is_cancelled()
        {
            let rec = Record {
                schema: SCHEMA,
                key: c.key.clone(),
                check: c.def.name.clone(),
                verdict,
                duration_ms,
                finished_at: now_secs(),
                tools,
                log: log.path.clone(),
                tree: plan.tree.id.to_string(),
                key_inputs: c.key_inputs.clone(),
                reports: report_files.clone(),
                resolutions,
                source: None,
            };
            self.cache.put(&c.key, &rec)?;
        }
        Ok(Outcome {
            name: c.def.name.clone(),
            status,
            cached: false,
            duration_ms,
            key: c.key.clone(),
            log: Some(log.path),
            reports: report_files,
            reason,
            source: verdict.map(|_| crate::outcome::LOCAL.to_string()),
            source_age_s: None,
        })
    }
}

/// Runs a kind's step; an error it returns (a helper that crashed, a file it could not write)
/// is logged and becomes a setup error: it is not the check's verdict.
fn catch(inv: &mut Invocation<'_>, step: impl FnOnce(&mut Invocation<'_>) -> Result<Ended>) -> Ended {
    match step(inv) {
        Ok(ended) => ended,
        Err(e) if crate::error::is_interrupted(&e) => Ended::Cancelled,
        Err(e) => {
            inv.note(&format!("{e:#}"));
            Ended::Error(format!("{e:#}"))
        }
    }
}

fn need_names(plan: &Plan, c: &PlannedCheck) -> String {
    c.needs.iter().map(|&j| format!("`{}`", plan.checks[j].def.name)).collect::<Vec<_>>().join(", ")
}

/// The entries of a reports directory (files and sub-directories such as `html/`).
pub(super) fn list_reports(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| r.filter_map(std::result::Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}
