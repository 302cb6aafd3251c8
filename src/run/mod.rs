//! Executes a plan. The fast path ([`cached::from_cache`]) answers a plan whose every check has
//! a record without exporting, spawning or creating anything. Otherwise the scheduler starts
//! checks as their needs allow, up to the job limit, each on a worker thread
//! ([`worker::Worker`]) with its own scratch directory (its snapshot linked to the run's one
//! export of the tree, [`snapshot`]), fresh venv and private TMPDIR under the scrubbed
//! environment; scratch directories are removed on a thread of their own. The scheduler sleeps on an event channel (a check finished, a job
//! slot freed) and never polls. Verdicts are recorded only for checks that reached one; a
//! cancelled run returns [`Error::Interrupted`] after every child is killed and every scratch
//! directory removed.

pub mod cached;
mod cutoff;
pub mod demand;
mod progress;
mod scratch;
mod snapshot;
mod sync;
pub mod view;
mod worker;

use std::sync::{Mutex, mpsc};

use anyhow::Result;

pub use cached::{cached_record, from_cache, has_files, known_outcomes};

use std::collections::BTreeSet;

use crate::cache::{Cache, Record};
use crate::env::HostEnv;
use crate::error::Error;
use crate::git::Repo;
use crate::outcome::{Outcome, Status, Verdict};
use crate::plan::Plan;
use crate::process::Cancel;
use crate::venv::{Interpreter, find_installer};
use cached::{from_record, need_not_passed, skipped};
use progress::Progress;
use sync::{Board, Event, Jobs};
use worker::Worker;

/// Everything a run needs besides the plan.
pub struct Runner<'a> {
    /// The repository (its git dir is reopened by each worker).
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
    /// Checks whose kept files the caller reads (a release uploads `wheel`'s dists): a record
    /// without them does not answer such a check.
    pub wants_files: &'a [&'a str],
}

/// Where each check of the plan stands.
enum Slot {
    /// Not started.
    Pending,
    /// A worker runs it.
    Running,
    /// Finished.
    Done,
}

impl Runner<'_> {
    /// Runs `plan`, answering from the cache where it can (unless `force`).
    pub fn execute(&self, plan: &Plan) -> Result<Vec<Outcome>> {
        if !self.force
            && let Some(outcomes) = from_cache(plan, self.cache)
            && self.wanted_files_here(plan, &outcomes)
        {
            outcomes.iter().for_each(|o| self.observe(o));
            return Ok(outcomes);
        }
        if let Some((path, uid)) = self.host.foreign_file_above_scratch() {
            return Err(Error::Environment(format!(
                "{} belongs to another user (uid {uid}) and is in or above the scratch directory \
                 ({}), where ruff, black, pytest or uv would read it as the project's own: remove \
                 it, or set TMPDIR to a directory only you can write",
                path.display(),
                self.host.tmp_root.display()
            ))
            .into());
        }
        self.cancel.watch_signals();
        scratch::sweep_stale(&self.host.tmp_root);
        let installer = find_installer(self.interp, self.host);
        let bin = scratch::TrashBin::start();
        let name = self.cache.root().parent().map_or_else(|| "src".to_string(), scratch::checkout_name);
        let exports = snapshot::Exports::new(&self.host.tmp_root, plan.tree.id, bin.trash().clone(), name);
        let n = plan.checks.len();
        let (tx, rx) = mpsc::channel::<Event>();
        let progress = &Progress::new();
        let board = &Board::new(n);
        let jobs = &Jobs::new(self.jobs, tx.clone());
        let outcomes = &Mutex::new(vec![None::<Outcome>; n]);
        // The run's own flag: an error in one worker stops the others without marking the
        // session (or a `watch` loop) as interrupted.
        let cancel = &self.cancel.child();
        // Each check's cached record, looked up once per run (not at every wake-up), and which
        // checks run: a record whose kept files are not here answers its check only while no
        // check that runs reads them.
        let records: Vec<Option<Record>> = plan
            .checks
            .iter()
            .map(|c| if self.force || c.skip.is_some() { None } else { cached_record(self.cache, c) })
            .collect();
        let answered: Vec<Option<bool>> = plan
            .checks
            .iter()
            .zip(&records)
            .map(|(c, r)| r.as_ref().map(|r| has_files(self.cache, c, r.verdict)))
            .collect();
        let decided = demand::decide(&demand::nodes(plan, &answered, self.wants_files), self.force);
        let files_read: BTreeSet<String> =
            plan.checks.iter().zip(&decided.read).filter(|(_, r)| **r).map(|(c, _)| c.key.clone()).collect();
        let worker = &Worker {
            git_dir: self.repo.git_dir(),
            cache: self.cache,
            interp: self.interp,
            installer: &installer,
            host: self.host,
            cancel,
            force: self.force,
            board,
            outcomes,
            files_read: &files_read,
            exports: &exports,
        };
        let mut slots: Vec<Slot> = plan.checks.iter().map(|_| Slot::Pending).collect();
        let mut running = 0usize;
        let mut first_error: Option<anyhow::Error> = None;
        let finish = |slots: &mut Vec<Slot>, i: usize, o: Outcome| {
            self.observe(&o);
            let status = o.status;
            // The outcome first: a worker woken by the board reads it to say why its need failed.
            if let Ok(mut all) = outcomes.lock() {
                all[i] = Some(o);
            }
            board.finish(i, status);
            slots[i] = Slot::Done;
        };
        std::thread::scope(|scope| {
            loop {
                let stopping = cancel.is_cancelled() || first_error.is_some();
                for i in 0..n {
                    if !matches!(slots[i], Slot::Pending) {
                        continue;
                    }
                    let c = &plan.checks[i];
                    if let Some(reason) = &c.skip {
                        finish(&mut slots, i, skipped(c, reason.clone()));
                        continue;
                    }
                    // A check starts (and prepares its venv) once every need is running or
                    // done; it waits for them to pass before its own steps that use them.
                    let failed_need = outcomes.lock().ok().and_then(|known| {
                        c.needs
                            .iter()
                            .find_map(|&j| known[j].as_ref().filter(|o| o.status != Status::Pass).cloned())
                    });
                    if let Some(need) = failed_need {
                        finish(&mut slots, i, skipped(c, need_not_passed(&need)));
                        continue;
                    }
                    if c.needs.iter().any(|&j| matches!(slots[j], Slot::Pending)) {
                        continue;
                    }
                    let need_running = c.needs.iter().any(|&j| matches!(slots[j], Slot::Running));
                    if !decided.runs[i]
                        && let Some(r) = &records[i]
                    {
                        if !need_running {
                            let o = from_record(c, r);
                            finish(&mut slots, i, o);
                        }
                        continue;
                    }
                    if stopping {
                        continue;
                    }
                    let Some(permit) = jobs.try_take() else { continue };
                    slots[i] = Slot::Running;
                    running += 1;
                    let tx = tx.clone();
                    let line = progress.start(&c.def.name);
                    scope.spawn(move || {
                        let note = |msg: &str| progress.note(&line, &c.def.name, msg);
                        // A panic must still report, or the scheduler would wait for it forever.
                        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            worker.run_one(plan, c, permit, &note)
                        }))
                        .unwrap_or_else(|_| {
                            Err(anyhow::anyhow!("internal error: the worker of `{}` panicked", c.def.name))
                        });
                        match &result {
                            Ok(o) => progress.finish(&line, &o.name, o.status.word(), o.duration_ms),
                            Err(_) => progress.finish(&line, &c.def.name, "interrupted", 0),
                        }
                        tx.send(Event::Done(i, result)).ok();
                    });
                }
                if running == 0 {
                    break;
                }
                match rx.recv() {
                    Ok(Event::Done(i, result)) => {
                        running -= 1;
                        match result {
                            Ok(o) => finish(&mut slots, i, o),
                            Err(e) => {
                                slots[i] = Slot::Pending;
                                first_error.get_or_insert(e);
                                // Stop every other worker (their children are killed); workers
                                // waiting for needs must not wait for this one.
                                cancel.cancel();
                                board.wake();
                            }
                        }
                    }
                    Ok(Event::SlotFreed) => {}
                    Err(_) => break,
                }
            }
        });
        progress.clear();
        // Every scratch directory and the export gone before the run returns.
        drop(exports);
        bin.finish();
        let used = plan.checks.iter().map(|c| c.key.clone()).collect();
        crate::gc::after_run(self.cache, self.host.cache_max_bytes, &used);
        if let Some(e) = first_error
            && !crate::error::is_interrupted(&e)
        {
            return Err(e);
        }
        if self.cancel.is_cancelled() {
            return Err(Error::Interrupted.into());
        }
        let mut all = outcomes.lock().map_err(|_| anyhow::anyhow!("a worker thread panicked"))?;
        Ok(plan
            .checks
            .iter()
            .enumerate()
            .map(|(i, c)| all[i].take().unwrap_or_else(|| skipped(c, "not run".into())))
            .collect())
    }

    /// Whether every check whose kept files the caller reads, and that passed, has them here.
    fn wanted_files_here(&self, plan: &Plan, outcomes: &[Outcome]) -> bool {
        plan.checks.iter().zip(outcomes).all(|(c, o)| {
            !self.wants_files.contains(&c.def.name.as_str())
                || o.status != Status::Pass
                || has_files(self.cache, c, Verdict::Pass)
        })
    }

    fn observe(&self, o: &Outcome) {
        if let Some(f) = self.observer {
            f(o);
        }
    }
}
