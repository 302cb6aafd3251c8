//! Executes a plan. The fast path, [`from_cache`], answers a plan whose every check has a record
//! without exporting, spawning or creating anything. Otherwise checks run in parallel (up to the
//! job limit) as their needs pass: each in its own scratch directory holding a fresh export of
//! the tree, a fresh venv and a private TMPDIR, under the scrubbed environment. Verdicts are
//! recorded only for checks that finished; a cancelled run returns [`Error::Interrupted`] after
//! every child is killed and every scratch directory removed.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use tempfile::TempDir;

use crate::cache::{Cache, KeyLock, LockAttempt, Record, SCHEMA, Verdict, now_secs};
use crate::checks::{Invocation, RunOutcome};
use crate::env::HostEnv;
use crate::error::Error;
use crate::git::{Repo, short};
use crate::plan::{Plan, PlannedCheck};
use crate::process::{Cancel, Exit};
use crate::venv::{Installer, Interpreter, VenvBuilder, find_installer};

/// A check's status in a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// It passed.
    Pass,
    /// It failed.
    Fail,
    /// It did not run (skipped by the user, not applicable, or a need did not pass).
    Skipped,
    /// It ran but reached no verdict (the index did not answer); never cached.
    Unknown,
}

/// What happened to one check.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// Check name.
    pub name: String,
    /// Verdict.
    pub status: Status,
    /// Whether the verdict came from the cache.
    pub cached: bool,
    /// Run time of the check (of the original run when cached).
    pub duration_ms: u64,
    /// Cache key.
    pub key: String,
    /// Full log, when there is one.
    pub log: Option<PathBuf>,
    /// Report files the check produced.
    pub reports: Vec<PathBuf>,
    /// Why it was skipped or what went wrong beyond the log (e.g. a timeout).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Everything a run needs besides the plan.
pub struct Runner<'a> {
    /// The repository (to export trees).
    pub repo: &'a Repo,
    /// The verdict store.
    pub cache: &'a Cache,
    /// Interpreter for venvs.
    pub interp: &'a Interpreter,
    /// The host environment.
    pub host: &'a HostEnv,
    /// The cancellation flag set by signals.
    pub cancel: Cancel,
    /// Parallel checks at most.
    pub jobs: usize,
    /// Ignore cached verdicts.
    pub force: bool,
    /// Called with each check's outcome as soon as it is known (`watch --json` streams them).
    pub observer: Option<&'a (dyn Fn(&Outcome) + Sync)>,
}

fn skipped(c: &PlannedCheck, reason: String) -> Outcome {
    Outcome {
        name: c.def.name.clone(),
        status: Status::Skipped,
        cached: false,
        duration_ms: 0,
        key: c.key.clone(),
        log: None,
        reports: Vec::new(),
        reason: Some(reason),
    }
}

fn from_record(c: &PlannedCheck, r: &Record) -> Outcome {
    Outcome {
        name: c.def.name.clone(),
        status: match r.verdict {
            Verdict::Pass => Status::Pass,
            Verdict::Fail => Status::Fail,
        },
        cached: true,
        duration_ms: r.duration_ms,
        key: c.key.clone(),
        log: Some(r.log.clone()),
        reports: r.reports.clone(),
        reason: None,
    }
}

/// The cached path: the outcome of every check from records alone, or `None` as soon as one
/// check would have to run. Touches nothing but the record files.
pub fn from_cache(plan: &Plan, cache: &Cache) -> Option<Vec<Outcome>> {
    let mut out: Vec<Outcome> = Vec::with_capacity(plan.checks.len());
    for c in &plan.checks {
        if let Some(reason) = &c.skip {
            out.push(skipped(c, reason.clone()));
            continue;
        }
        if let Some(bad) = c.needs.iter().find(|&&j| out[j].status != Status::Pass) {
            out.push(skipped(c, format!("needs `{}`, which did not pass", out[*bad].name)));
            continue;
        }
        out.push(from_record(c, &cached_record(cache, c)?));
    }
    Some(out)
}

enum Slot {
    Pending,
    Running,
    Done(Outcome),
}

impl Runner<'_> {
    /// Runs `plan`, answering from the cache where it can (unless `force`).
    pub fn execute(&self, plan: &Plan) -> Result<Vec<Outcome>> {
        let observe = |o: &Outcome| {
            if let Some(f) = self.observer {
                f(o);
            }
        };
        if !self.force
            && let Some(outcomes) = from_cache(plan, self.cache)
        {
            outcomes.iter().for_each(observe);
            return Ok(outcomes);
        }
        self.cancel.watch_signals();
        sweep_stale_scratch(&self.host.tmp_root);
        let installer = find_installer(self.interp, self.host);
        let progress = &Progress::new();
        let board = &Board::new(plan.checks.len());
        let jobs = &Jobs::new(self.jobs);
        let worker = &Worker {
            cache: self.cache,
            interp: self.interp,
            installer: &installer,
            host: self.host,
            cancel: &self.cancel,
            force: self.force,
        };
        let mut slots: Vec<Slot> = plan.checks.iter().map(|_| Slot::Pending).collect();
        let (tx, rx) = mpsc::channel::<(usize, Result<Outcome>)>();
        let mut running = 0usize;
        let mut first_error: Option<anyhow::Error> = None;
        std::thread::scope(|scope| -> Result<()> {
            loop {
                let stopping = self.cancel.is_cancelled() || first_error.is_some();
                for i in 0..plan.checks.len() {
                    if !matches!(slots[i], Slot::Pending) {
                        continue;
                    }
                    let c = &plan.checks[i];
                    if let Some(reason) = &c.skip {
                        slots[i] = board.done(i, skipped(c, reason.clone()), &observe);
                        continue;
                    }
                    // A check starts (and prepares its venv) once every need is running or
                    // done; it waits for them to pass before its own steps that use them.
                    let (mut running_need, mut unstarted_need, mut failed_need) = (false, false, None);
                    for &j in &c.needs {
                        match &slots[j] {
                            Slot::Done(o) if o.status == Status::Pass => {}
                            Slot::Done(o) => failed_need = Some(o.name.clone()),
                            Slot::Running => running_need = true,
                            Slot::Pending => unstarted_need = true,
                        }
                    }
                    if let Some(n) = failed_need {
                        slots[i] =
                            board.done(i, skipped(c, format!("needs `{n}`, which did not pass")), &observe);
                        continue;
                    }
                    if unstarted_need {
                        continue;
                    }
                    if !self.force
                        && let Some(r) = cached_record(self.cache, c)
                    {
                        if !running_need {
                            slots[i] = board.done(i, from_record(c, &r), &observe);
                        }
                        continue;
                    }
                    if stopping {
                        continue;
                    }
                    let Some(permit) = jobs.try_take() else { continue };
                    // Export on this thread (git2 handles are not shared); run on a worker.
                    let scratch = match self.prepare_scratch(plan) {
                        Ok(s) => s,
                        Err(e) => {
                            first_error = Some(e);
                            break;
                        }
                    };
                    slots[i] = Slot::Running;
                    running += 1;
                    let tx = tx.clone();
                    let bar = progress.start(&c.def.name);
                    scope.spawn(move || {
                        let note = |msg: &str| progress.note(&bar, &c.def.name, msg);
                        let result = worker.run_one(plan, c, scratch, board, permit, &note);
                        match &result {
                            Ok(o) => progress.finish(&bar, &o.name, status_word(o.status), o.duration_ms),
                            Err(_) => progress.finish(&bar, &c.def.name, "interrupted", 0),
                        }
                        tx.send((i, result)).ok();
                    });
                }
                if running == 0 {
                    break;
                }
                // Short timeout: a worker that starts waiting for its needs frees a job slot.
                match rx.recv_timeout(Duration::from_millis(10)) {
                    Ok((i, result)) => {
                        running -= 1;
                        match result {
                            Ok(o) => slots[i] = board.done(i, o, &observe),
                            Err(e) => {
                                slots[i] = Slot::Pending;
                                first_error.get_or_insert(e);
                            }
                        }
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            }
            Ok(())
        })?;
        progress.clear();
        if self.cancel.is_cancelled() {
            return Err(Error::Interrupted.into());
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        Ok(slots
            .into_iter()
            .zip(&plan.checks)
            .map(|(s, c)| match s {
                Slot::Done(o) => o,
                _ => skipped(c, "not run".into()),
            })
            .collect())
    }

    fn prepare_scratch(&self, plan: &Plan) -> Result<TempDir> {
        std::fs::create_dir_all(&self.host.tmp_root).ok();
        let scratch = tempfile::Builder::new()
            .prefix(&format!("hookgate-{}-", std::process::id()))
            .tempdir_in(&self.host.tmp_root)
            .with_context(|| format!("creating a scratch directory in {}", self.host.tmp_root.display()))?;
        let src = scratch.path().join("src");
        std::fs::create_dir(&src).context("creating the snapshot directory")?;
        std::fs::create_dir(scratch.path().join("tmp")).context("creating the check's TMPDIR")?;
        self.repo
            .export(plan.tree.tree, &src)
            .with_context(|| format!("exporting tree {}", short(plan.tree.tree)))?;
        Ok(scratch)
    }
}

/// Verdicts of finished checks, shared with workers that wait for their needs.
struct Board {
    done: Mutex<Vec<Option<Status>>>,
    changed: Condvar,
}

/// What a worker found when it waited for its needs.
enum Needs {
    /// All passed, after waiting this long.
    Passed(Duration),
    /// This need did not pass.
    Failed(String),
}

impl Board {
    fn new(n: usize) -> Board {
        Board { done: Mutex::new(vec![None; n]), changed: Condvar::new() }
    }

    /// Records that check `i` finished (ran, came from the cache, or was skipped) and wakes
    /// the workers waiting for it; every `Slot::Done` is made here, so none is missed.
    fn done(&self, i: usize, outcome: Outcome, observe: &dyn Fn(&Outcome)) -> Slot {
        observe(&outcome);
        if let Ok(mut done) = self.done.lock() {
            done[i] = Some(outcome.status);
        }
        self.changed.notify_all();
        Slot::Done(outcome)
    }

    /// Blocks until every need of `c` finished (or the run is cancelled).
    fn wait(&self, plan: &Plan, c: &PlannedCheck, cancel: &Cancel) -> Result<Needs> {
        let start = Instant::now();
        let mut done = self.done.lock().map_err(|_| anyhow::anyhow!("a worker panicked"))?;
        loop {
            if cancel.is_cancelled() {
                return Err(Error::Interrupted.into());
            }
            if let Some(&j) = c.needs.iter().find(|&&j| matches!(done[j], Some(s) if s != Status::Pass)) {
                return Ok(Needs::Failed(plan.checks[j].def.name.clone()));
            }
            if c.needs.iter().all(|&j| done[j] == Some(Status::Pass)) {
                return Ok(Needs::Passed(start.elapsed()));
            }
            done = self
                .changed
                .wait_timeout(done, Duration::from_millis(50))
                .map_err(|_| anyhow::anyhow!("a worker panicked"))?
                .0;
        }
    }
}

/// The job limit: a counting semaphore of slots for checks doing work.
struct Jobs {
    free: Mutex<usize>,
    changed: Condvar,
}

/// One job slot, given back when dropped.
struct Permit<'a>(&'a Jobs);

impl Jobs {
    fn new(n: usize) -> Jobs {
        Jobs { free: Mutex::new(n.max(1)), changed: Condvar::new() }
    }

    fn try_take(&self) -> Option<Permit<'_>> {
        let mut free = self.free.lock().ok()?;
        if *free == 0 {
            return None;
        }
        *free -= 1;
        Some(Permit(self))
    }

    /// Blocks until a slot is free (or the run is cancelled).
    fn take(&self, cancel: &Cancel) -> Result<Permit<'_>> {
        let mut free = self.free.lock().map_err(|_| anyhow::anyhow!("a worker panicked"))?;
        while *free == 0 {
            if cancel.is_cancelled() {
                return Err(Error::Interrupted.into());
            }
            free = self
                .changed
                .wait_timeout(free, Duration::from_millis(50))
                .map_err(|_| anyhow::anyhow!("a worker panicked"))?
                .0;
        }
        *free -= 1;
        Ok(Permit(self))
    }
}

impl<'a> Permit<'a> {
    /// Gives the slot back now; returns the pool to take one again from.
    fn release(self) -> &'a Jobs {
        let jobs = self.0;
        drop(self);
        jobs
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if let Ok(mut free) = self.0.free.lock() {
            *free += 1;
        }
        self.0.changed.notify_all();
    }
}

/// What a worker thread needs to run one check (all shareable across threads).
struct Worker<'a> {
    cache: &'a Cache,
    interp: &'a Interpreter,
    installer: &'a Installer,
    host: &'a HostEnv,
    cancel: &'a Cancel,
    force: bool,
}

/// The result of taking a key's lock.
enum Locked<'j> {
    /// We hold the lock (and a job slot): run the check.
    Ours(Permit<'j>, KeyLock),
    /// The run we waited for recorded a verdict: use it.
    Decided(Outcome),
}

impl Worker<'_> {
    /// Takes the lock of `c`'s key, waiting (without a job slot) while another process holds
    /// it, then re-reads the cache: the run we waited for may have decided the check.
    fn lock_key<'j>(&self, c: &PlannedCheck, permit: Permit<'j>, note: &dyn Fn(&str)) -> Result<Locked<'j>> {
        let mut permit = Some(permit);
        let mut pool: Option<&'j Jobs> = None;
        let mut waited = false;
        loop {
            match self.cache.try_lock(&c.key)? {
                LockAttempt::Acquired(lock) => {
                    // `--force` re-runs, unless it waited: then the verdict is fresh anyway.
                    if (waited || !self.force)
                        && let Some(r) = cached_record(self.cache, c)
                    {
                        let mut o = from_record(c, &r);
                        if waited {
                            o.reason = Some("decided by the run in progress it waited for".into());
                        }
                        return Ok(Locked::Decided(o));
                    }
                    let permit = match (permit.take(), pool) {
                        (Some(p), _) => p,
                        (None, Some(jobs)) => jobs.take(self.cancel)?,
                        (None, None) => unreachable!("a released permit leaves its pool"),
                    };
                    return Ok(Locked::Ours(permit, lock));
                }
                LockAttempt::Busy(pid) => {
                    if !waited {
                        let who = pid.map_or("another process".to_string(), |p| format!("pid {p}"));
                        note(&format!("waiting for the run already in progress ({who})"));
                        waited = true;
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

    /// Runs one check in `scratch` and records its verdict if it finished.
    fn run_one<'j>(
        &self,
        plan: &Plan,
        c: &PlannedCheck,
        scratch: TempDir,
        board: &Board,
        permit: Permit<'j>,
        note: &dyn Fn(&str),
    ) -> Result<Outcome> {
        // One run per key across processes: a background run, or a second push of the same
        // tree, is waited for and its verdict used.
        let (permit, _key_lock) = match self.lock_key(c, permit, note)? {
            Locked::Ours(permit, lock) => (permit, lock),
            Locked::Decided(outcome) => return Ok(outcome),
        };
        let start = Instant::now();
        let deadline = start + c.def.timeout;
        let mut waited_for_needs = Duration::ZERO;
        let final_log = self.cache.log_path(&c.key);
        let logs_dir = final_log.parent().context("log path has a parent")?;
        std::fs::create_dir_all(logs_dir).with_context(|| format!("creating {}", logs_dir.display()))?;
        let tmp_log = tempfile::Builder::new()
            .prefix(".running-")
            .tempfile_in(logs_dir)
            .context("creating the check's log")?;
        let mut log: File = tmp_log.reopen().context("opening the check's log")?;
        writeln!(
            log,
            "hookgate: check `{}` on {} (tree {}), key {}",
            c.def.name, plan.tree.label, plan.tree.tree, c.key
        )
        .context("writing the log")?;

        let src = scratch.path().join("src");
        let setup_env: BTreeMap<String, String> =
            self.host.setup_env().into_iter().chain(plan.tree_env.clone()).collect();
        let venv = VenvBuilder {
            dir: scratch.path().join("venv"),
            interp: self.interp,
            installer: self.installer,
            env: setup_env.clone(),
            cwd: src.clone(),
        };
        let reports = self.cache.reports_dir(&c.key);
        std::fs::remove_dir_all(&reports).ok();
        std::fs::create_dir_all(&reports).with_context(|| format!("creating {}", reports.display()))?;
        let artifacts = scratch.path().join("artifacts");
        std::fs::create_dir_all(&artifacts).context("creating the artifacts directory")?;

        let mut outcome =
            RunOutcome::Exit(venv.create(c.def.kind.venv_deps(&c.def), &mut log, deadline, self.cancel)?);
        let mut tools = Vec::new();
        if outcome == RunOutcome::Exit(Exit::Code(0)) {
            let mut check_env = self.host.check_env(&venv.dir, &scratch.path().join("tmp"), &c.def.env);
            check_env.extend(plan.tree_env.clone());
            let needs = c
                .needs
                .iter()
                .map(|&j| (plan.checks[j].def.name.clone(), self.cache.artifacts_dir(&plan.checks[j].key)))
                .collect();
            let mut inv = Invocation {
                def: &c.def,
                src,
                scratch: scratch.path().to_path_buf(),
                venv: venv.dir.clone(),
                interp: self.interp,
                installer: self.installer,
                check_env,
                setup_env,
                log: log.try_clone().context("sharing the log")?,
                deadline,
                cancel: self.cancel,
                artifacts: artifacts.clone(),
                needs,
                reports: reports.clone(),
            };
            outcome = match c.def.kind.prepare(&mut inv, &plan.config) {
                Ok(o) => o,
                Err(e) => {
                    writeln!(log, "hookgate: {e:#}").ok();
                    RunOutcome::Exit(Exit::Code(1))
                }
            };
            if outcome == RunOutcome::Exit(Exit::Code(0)) && !c.needs.is_empty() {
                // Waiting uses no CPU: give the job slot to another check meanwhile.
                let jobs = permit.release();
                let needs = board.wait(plan, c, self.cancel)?;
                let _permit = jobs.take(self.cancel)?;
                match needs {
                    Needs::Passed(waited) => {
                        waited_for_needs = waited;
                        writeln!(
                            log,
                            "hookgate: waited {:.2}s for {}",
                            waited.as_secs_f64(),
                            need_names(plan, c)
                        )
                        .ok();
                        inv.deadline += waited;
                    }
                    // Prepared for nothing: no verdict, no log, no record.
                    Needs::Failed(need) => {
                        return Ok(skipped(c, format!("needs `{need}`, which did not pass")));
                    }
                }
            }
            if outcome == RunOutcome::Exit(Exit::Code(0)) {
                outcome = match c.def.kind.execute(&mut inv, &plan.config) {
                    Ok(o) => o,
                    Err(e) => {
                        writeln!(log, "hookgate: {e:#}").ok();
                        RunOutcome::Exit(Exit::Code(1))
                    }
                };
            }
            tools = venv.freeze();
        } else if !matches!(outcome, RunOutcome::Exit(Exit::Cancelled | Exit::TimedOut)) {
            writeln!(log, "hookgate: could not prepare the check's venv (see above)").ok();
        }
        // The check's own time: waiting for its needs is not part of it.
        let duration_ms = start.elapsed().saturating_sub(waited_for_needs).as_millis() as u64;
        drop(log);
        // Keep the log under its key; a concurrent run of the same key simply replaces it.
        tmp_log.persist(&final_log).context("saving the check's log")?;
        let strict = c.def.options.strict == Some(true);
        let (status, reason, record) = match outcome {
            RunOutcome::Exit(Exit::Code(0)) => (Status::Pass, None, true),
            RunOutcome::Exit(Exit::Cancelled) => return Err(Error::Interrupted.into()),
            RunOutcome::Exit(Exit::TimedOut) => (
                Status::Fail,
                Some(format!("timed out after {}s (not cached)", c.def.timeout.as_secs())),
                false,
            ),
            RunOutcome::Exit(Exit::NotFound) => (Status::Fail, Some("command not found".to_string()), true),
            RunOutcome::Exit(_) => (Status::Fail, None, true),
            RunOutcome::Unknown(why) if strict => {
                (Status::Fail, Some(format!("{why} (strict; not cached)")), false)
            }
            RunOutcome::Unknown(why) => (Status::Unknown, Some(format!("{why} (not cached)")), false),
        };
        if status == Status::Pass && c.def.kind.keeps_artifacts() {
            self.cache.keep_artifacts(&c.key, &artifacts)?;
        }
        let report_files = list_reports(&reports);
        if record && !self.cancel.is_cancelled() {
            let verdict = if status == Status::Pass { Verdict::Pass } else { Verdict::Fail };
            let rec = Record {
                schema: SCHEMA,
                check: c.def.name.clone(),
                verdict,
                duration_ms,
                finished_at: now_secs(),
                tools,
                log: final_log.clone(),
                tree: plan.tree.tree.to_string(),
                key_inputs: c.key_inputs.clone(),
                reports: report_files.clone(),
            };
            self.cache.put(&c.key, &rec)?;
        }
        drop(scratch);
        Ok(Outcome {
            name: c.def.name.clone(),
            status,
            cached: false,
            duration_ms,
            key: c.key.clone(),
            log: Some(final_log),
            reports: report_files,
            reason,
        })
    }
}

fn need_names(plan: &Plan, c: &PlannedCheck) -> String {
    c.needs.iter().map(|&j| format!("`{}`", plan.checks[j].def.name)).collect::<Vec<_>>().join(", ")
}

/// The entries of a reports directory (files and sub-directories such as `html/`).
fn list_reports(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| r.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// The record that answers `c`, if there is a valid one: a check that keeps artifacts needs
/// them still on disk, and a check with a `ttl` (the version check) only reuses a recent pass.
pub fn cached_record(cache: &Cache, c: &PlannedCheck) -> Option<Record> {
    let r = cache.get(&c.key)?;
    if r.verdict == Verdict::Pass && c.def.kind.keeps_artifacts() && !cache.artifacts_dir(&c.key).is_dir() {
        return None;
    }
    if let Some(ttl) = c.ttl
        && now_secs().saturating_sub(r.finished_at) > ttl
    {
        return None;
    }
    Some(r)
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Pass => "pass",
        Status::Fail => "FAIL",
        Status::Skipped => "skipped",
        Status::Unknown => "unknown",
    }
}

/// Removes scratch directories left by hookgate processes that no longer exist (killed runs).
fn sweep_stale_scratch(tmp_root: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp_root) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(rest) = name.strip_prefix("hookgate-") else { continue };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<i32>().ok()) else { continue };
        if pid == std::process::id() as i32 {
            continue;
        }
        // SAFETY: kill(pid, 0) only asks whether the process exists.
        let alive = unsafe { libc::kill(pid, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
        if !alive {
            std::fs::remove_dir_all(e.path()).ok();
        }
    }
}

/// Live progress on stderr: one spinner line per check on a terminal, plain lines otherwise.
struct Progress {
    multi: Option<MultiProgress>,
}

impl Progress {
    fn new() -> Progress {
        use std::io::IsTerminal;
        let multi = std::io::stderr()
            .is_terminal()
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Progress { multi }
    }

    fn start(&self, name: &str) -> Option<ProgressBar> {
        match &self.multi {
            Some(m) => {
                let bar = m.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {prefix:<14} {elapsed:>4} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_prefix(name.to_string());
                bar.set_message("running");
                bar.enable_steady_tick(Duration::from_millis(100));
                Some(bar)
            }
            None => {
                eprintln!("hookgate: running {name}");
                None
            }
        }
    }

    fn note(&self, bar: &Option<ProgressBar>, name: &str, msg: &str) {
        match bar {
            Some(b) => b.set_message(msg.to_string()),
            None => eprintln!("hookgate: {name}: {msg}"),
        }
    }

    fn finish(&self, bar: &Option<ProgressBar>, name: &str, word: &'static str, ms: u64) {
        match bar {
            Some(b) => b.finish_with_message(word),
            None => eprintln!("hookgate: {name} {word} ({:.1}s)", ms as f64 / 1000.0),
        }
    }

    fn clear(&self) {
        if let Some(m) = &self.multi {
            m.clear().ok();
        }
    }
}
