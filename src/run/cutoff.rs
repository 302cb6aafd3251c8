//! The worker's side of early cutoff ([`crate::cutoff`]): before a check's own steps, when a
//! pointer may answer it, wait for its needs (without a job slot), compute its cutoff key and
//! record the verdict it points to under this check's key instead of running; after a run
//! that reached a verdict, leave the pointer for the next tree.

use std::io::Write;
use std::time::Instant;

use anyhow::Result;

use super::cached::{cached_record, has_files, skipped};
use super::sync::{Needs, Permit};
use super::worker::Worker;
use crate::cache::{Record, SCHEMA, now_secs};
use crate::cutoff::{self, Pointer};
use crate::git::Repo;
use crate::outcome::{LOCAL, Outcome, Status};
use crate::plan::{Plan, PlannedCheck};

/// What the early-cutoff step decided.
pub(super) enum Early<'j> {
    /// The check's outcome is known (reused, or skipped because a need did not pass).
    Decided(Outcome),
    /// Run it, with this job slot.
    Run(Permit<'j>),
}

impl Worker<'_> {
    /// Answers check `c` with the verdict its cutoff key points to, if there is one; else
    /// hands the job slot back for the run. A cutoff that cannot be computed (an unreadable
    /// wheel) is said on stderr and the check runs.
    pub(super) fn early_cutoff<'j>(
        &self,
        plan: &Plan,
        c: &PlannedCheck,
        permit: Permit<'j>,
    ) -> Result<Early<'j>> {
        // Only a check with needs (`wheel` below it) can be answered by another tree's run.
        if self.force || c.needs.is_empty() {
            return Ok(Early::Run(permit));
        }
        let repo = Repo::open(self.git_dir)?;
        let pre = match cutoff::pre_key(&repo, plan, c) {
            Ok(Some((pre, _))) if cutoff::plausible(self.cache, &pre) => pre,
            Ok(_) => return Ok(Early::Run(permit)),
            Err(e) => {
                crate::report::note(format_args!("`{}`: no early cutoff: {e:#}", c.def.name));
                return Ok(Early::Run(permit));
            }
        };
        // Waiting uses no CPU: give the job slot to another check meanwhile.
        let jobs = permit.release();
        let needs = self.board.wait(c, self.cancel)?;
        let permit = jobs.take(self.cancel)?;
        let started = Instant::now();
        if let Needs::Failed(j) = needs {
            return Ok(Early::Decided(skipped(c, self.why_need_failed(plan, j))));
        }
        let needs = match cutoff::needs_key(&repo, plan, c, self.cache) {
            Ok(Some(n)) => n,
            Ok(None) => return Ok(Early::Run(permit)),
            Err(e) => {
                crate::report::note(format_args!("`{}`: no early cutoff: {e:#}", c.def.name));
                return Ok(Early::Run(permit));
            }
        };
        let Some(pointer) = cutoff::lookup(self.cache, &c.def.name, &pre, &needs) else {
            return Ok(Early::Run(permit));
        };
        // The verdict pointed to, if it is still one this run would take for its own key, and
        // one this clone reached by running (not a shared statement).
        let origin_check = PlannedCheck { key: pointer.key.clone(), ..c.clone() };
        let Some(origin) = cached_record(self.cache, &origin_check)
            .filter(|r| r.source.is_none() && has_files(self.cache, &origin_check, r.verdict))
        else {
            return Ok(Early::Run(permit));
        };
        if self.cancel.is_cancelled() {
            return Err(crate::error::Error::Interrupted.into());
        }
        Ok(Early::Decided(self.reuse(plan, c, &pointer, &origin, started)?))
    }

    /// Records the verdict of the run `pointer` names as `c`'s own: its log (after a line
    /// saying where it comes from), the artifacts of a pass, its reports.
    fn reuse(
        &self,
        plan: &Plan,
        c: &PlannedCheck,
        pointer: &Pointer,
        origin: &Record,
        started: Instant,
    ) -> Result<Outcome> {
        let short = &pointer.tree[..pointer.tree.len().min(10)];
        let mut log = self.open_log(plan, c)?;
        writeln!(
            log.file,
            "hookgate: reused the verdict of tree {}: the wheel is byte-identical (file by file) and \
             the tests' files are unchanged (early cutoff, {:.3}s; that run's key {})",
            pointer.tree,
            started.elapsed().as_secs_f64(),
            pointer.key
        )?;
        writeln!(log.file, "hookgate: --- the log of that run ---")?;
        if let Ok(mut from) = std::fs::File::open(&origin.log) {
            std::io::copy(&mut from, &mut log.file).ok();
        } else {
            writeln!(log.file, "hookgate: (that log is gone)")?;
        }
        let path = log.path.clone();
        log.keep()?;
        if origin.verdict == crate::outcome::Verdict::Pass && c.def.kind.keeps_artifacts() {
            self.cache.keep_artifacts(&c.key, &self.cache.artifacts_dir(&pointer.key))?;
        }
        let (from, to) = (self.cache.reports_dir(&pointer.key), self.cache.reports_dir(&c.key));
        std::fs::remove_dir_all(&to).ok();
        if from.is_dir() {
            crate::cache::copy_tree(&from, &to)?;
        }
        let reports = super::worker::list_reports(&to);
        let record = Record {
            schema: SCHEMA,
            key: c.key.clone(),
            check: c.def.name.clone(),
            verdict: origin.verdict,
            duration_ms: origin.duration_ms,
            finished_at: now_secs(),
            tools: origin.tools.clone(),
            log: path.clone(),
            tree: plan.tree.id.to_string(),
            key_inputs: c.key_inputs.clone(),
            reports: reports.clone(),
            resolutions: origin.resolutions.clone(),
            source: None,
        };
        self.cache.put(&c.key, &record)?;
        Ok(Outcome {
            name: c.def.name.clone(),
            status: origin.verdict.into(),
            cached: true,
            duration_ms: origin.duration_ms,
            key: c.key.clone(),
            log: Some(path),
            reports,
            reason: Some(format!("early cutoff: the verdict of tree {short}, same wheel and test files")),
            source: Some(crate::outcome::CUTOFF.to_string()),
            source_age_s: None,
        })
    }

    /// After a run of `c` that reached a verdict here: the pointer from its cutoff key to this
    /// run. Nothing for setup errors, timeouts or unknowns (no verdict), nor after a cancel.
    pub(super) fn remember_cutoff(&self, plan: &Plan, c: &PlannedCheck, o: &Outcome) {
        let verdict = matches!(o.status, Status::Pass | Status::Fail) && o.source.as_deref() == Some(LOCAL);
        if o.cached || !verdict || self.cancel.is_cancelled() {
            return;
        }
        let pointer = || -> Result<Option<Pointer>> {
            let repo = Repo::open(self.git_dir)?;
            let Some((pre, _)) = cutoff::pre_key(&repo, plan, c)? else { return Ok(None) };
            let Some(needs) = cutoff::needs_key(&repo, plan, c, self.cache)? else { return Ok(None) };
            Ok(Some(Pointer {
                rule: cutoff::RULE,
                check: c.def.name.clone(),
                pre,
                needs,
                key: c.key.clone(),
                tree: plan.tree.id.to_string(),
            }))
        };
        match pointer().and_then(|p| p.map_or(Ok(()), |p| cutoff::remember(self.cache, &p))) {
            Ok(()) => {}
            Err(e) => crate::report::note(format_args!("`{}`: no early cutoff pointer: {e:#}", c.def.name)),
        }
    }
}
