//! What the scheduler and the workers share: the board of finished checks (workers wait on it
//! for their needs) and the job limit (a counting semaphore whose freed slots wake the
//! scheduler). The scheduler sleeps on its event channel; every change it must react to — a
//! check finished, a job slot freed — is an [`Event`] on that channel, so it never polls.

use std::sync::mpsc::Sender;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::error::Error;
use crate::outcome::{Outcome, Status};
use crate::plan::PlannedCheck;
use crate::process::Cancel;

/// What wakes the scheduler.
pub enum Event {
    /// Worker `.0` finished (a verdict, or an error that stops the run).
    Done(usize, Result<Outcome>),
    /// A job slot was given back (a worker waits for its needs, or ended).
    SlotFreed,
}

/// Verdicts of finished checks, shared with workers that wait for their needs.
pub struct Board {
    done: Mutex<Vec<Option<Status>>>,
    changed: Condvar,
}

/// What a worker found when it waited for its needs.
pub enum Needs {
    /// All passed, after waiting this long.
    Passed(Duration),
    /// This need did not pass; its outcome says why.
    Failed(usize),
}

fn poisoned<T>(_: T) -> anyhow::Error {
    anyhow::anyhow!("a worker thread panicked")
}

impl Board {
    /// A board for `n` checks, none finished.
    pub fn new(n: usize) -> Board {
        Board { done: Mutex::new(vec![None; n]), changed: Condvar::new() }
    }

    /// Records that check `i` finished and wakes the workers waiting for it.
    pub fn finish(&self, i: usize, status: Status) {
        if let Ok(mut done) = self.done.lock() {
            done[i] = Some(status);
        }
        self.changed.notify_all();
    }

    /// Wakes waiting workers so they notice a cancellation.
    pub fn wake(&self) {
        self.changed.notify_all();
    }

    /// Blocks until every need of `c` finished (or the run is cancelled).
    pub fn wait(&self, c: &PlannedCheck, cancel: &Cancel) -> Result<Needs> {
        let start = Instant::now();
        let mut done = self.done.lock().map_err(poisoned)?;
        loop {
            if cancel.is_cancelled() {
                return Err(Error::Interrupted.into());
            }
            if let Some(&j) = c.needs.iter().find(|&&j| matches!(done[j], Some(s) if s != Status::Pass)) {
                return Ok(Needs::Failed(j));
            }
            if c.needs.iter().all(|&j| done[j] == Some(Status::Pass)) {
                return Ok(Needs::Passed(start.elapsed()));
            }
            // The timeout only bounds how late a cancellation is noticed.
            done = self.changed.wait_timeout(done, Duration::from_millis(100)).map_err(poisoned)?.0;
        }
    }
}

/// The job limit: a counting semaphore of slots for checks doing work.
pub struct Jobs {
    free: Mutex<usize>,
    changed: Condvar,
    events: Mutex<Sender<Event>>,
}

/// One job slot, given back when dropped.
pub struct Permit<'a>(&'a Jobs);

impl Jobs {
    /// `n` slots; a freed slot is announced on `events`.
    pub fn new(n: usize, events: Sender<Event>) -> Jobs {
        Jobs { free: Mutex::new(n.max(1)), changed: Condvar::new(), events: Mutex::new(events) }
    }

    /// A slot, if one is free now.
    pub fn try_take(&self) -> Option<Permit<'_>> {
        let mut free = self.free.lock().ok()?;
        if *free == 0 {
            return None;
        }
        *free -= 1;
        Some(Permit(self))
    }

    /// Blocks until a slot is free (or the run is cancelled).
    pub fn take(&self, cancel: &Cancel) -> Result<Permit<'_>> {
        let mut free = self.free.lock().map_err(poisoned)?;
        while *free == 0 {
            if cancel.is_cancelled() {
                return Err(Error::Interrupted.into());
            }
            free = self.changed.wait_timeout(free, Duration::from_millis(100)).map_err(poisoned)?.0;
        }
        *free -= 1;
        Ok(Permit(self))
    }
}

impl<'a> Permit<'a> {
    /// Gives the slot back now; returns the pool to take one again from.
    pub fn release(self) -> &'a Jobs {
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
        if let Ok(events) = self.0.events.lock() {
            events.send(Event::SlotFreed).ok();
        }
    }
}
