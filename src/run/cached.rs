//! The cached path: a plan answered from verdict records alone. This is the product's hot path
//! (a push of a tree already checked): it reads record files and nothing else — no export, no
//! Python, no venv, no signal handler.

use crate::cache::{Cache, Record, now_secs};
use crate::outcome::{Outcome, Status, Verdict};
use crate::plan::{Plan, PlannedCheck};

/// The outcome of every check from records alone, or `None` as soon as one check would have
/// to run.
pub fn from_cache(plan: &Plan, cache: &Cache) -> Option<Vec<Outcome>> {
    let mut out: Vec<Outcome> = Vec::with_capacity(plan.checks.len());
    for c in &plan.checks {
        let known = known_outcome(c, |j| out.get(j), cache)?;
        out.push(known);
    }
    Some(out)
}

/// What the records alone say of each check: `None` where a check would have to run (or a
/// need of it would). `status` shows this.
pub fn known_outcomes(plan: &Plan, cache: &Cache) -> Vec<Option<Outcome>> {
    let mut out: Vec<Option<Outcome>> = Vec::with_capacity(plan.checks.len());
    for c in &plan.checks {
        let known = known_outcome(c, |j| out.get(j).and_then(Option::as_ref), cache);
        out.push(known);
    }
    out
}

/// A check's outcome from the records, given what is known of the checks before it.
fn known_outcome<'o>(
    c: &PlannedCheck,
    need: impl Fn(usize) -> Option<&'o Outcome>,
    cache: &Cache,
) -> Option<Outcome> {
    if let Some(reason) = &c.skip {
        return Some(skipped(c, reason.clone()));
    }
    for &j in &c.needs {
        let n = need(j)?;
        if n.status != Status::Pass {
            return Some(skipped(c, need_not_passed(n)));
        }
    }
    Some(from_record(c, &cached_record(cache, c)?))
}

/// The record that answers `c`'s verdict, if there is a valid one: a check with a `ttl` (the
/// version check) only reuses a recent pass. Whether the files it keeps are here is another
/// question ([`has_files`]), asked only when a check that runs reads them (`run::demand`).
pub fn cached_record(cache: &Cache, c: &PlannedCheck) -> Option<Record> {
    let r = cache.get(&c.key, &c.def.name)?;
    if let Some(ttl) = c.ttl
        && r.expired(ttl, now_secs())
    {
        return None;
    }
    if !crate::resolve::still_current(&cache.resolutions_dir(), &r.resolutions) {
        return None;
    }
    Some(r)
}

/// Whether the files `c` keeps for the checks after it (dists, coverage data) are here, as a
/// record with `verdict` promises: a pass of such a kind has them only in the clone that ran
/// it, and not once they are removed. A verdict taken from a shared statement has none.
pub fn has_files(cache: &Cache, c: &PlannedCheck, verdict: Verdict) -> bool {
    verdict != Verdict::Pass || !c.def.kind.keeps_artifacts() || cache.artifacts_dir(&c.key).is_dir()
}

/// A check that did not run, and why.
pub fn skipped(c: &PlannedCheck, reason: String) -> Outcome {
    Outcome {
        name: c.def.name.clone(),
        status: Status::Skipped,
        cached: false,
        duration_ms: 0,
        key: c.key.clone(),
        log: None,
        reports: Vec::new(),
        reason: Some(reason),
        source: None,
        source_age_s: None,
    }
}

/// Why a check is skipped when its need `need` did not pass: says what happened to the need
/// (a need skipped for a reason passes that reason on).
pub fn need_not_passed(need: &Outcome) -> String {
    match (need.status, &need.reason) {
        (Status::Skipped, Some(why)) => format!("`{}` was skipped: {why}", need.name),
        (Status::Skipped, None) => format!("`{}` was skipped", need.name),
        (Status::Error, _) => format!("needs `{}`, which could not be set up", need.name),
        (Status::Unknown, _) => format!("needs `{}`, which reached no verdict", need.name),
        _ => format!("needs `{}`, which failed", need.name),
    }
}

/// A cached verdict as an outcome.
pub fn from_record(c: &PlannedCheck, r: &Record) -> Outcome {
    Outcome {
        name: c.def.name.clone(),
        status: r.verdict.into(),
        cached: true,
        duration_ms: r.duration_ms,
        key: c.key.clone(),
        log: Some(r.log.clone()),
        reports: r.reports.clone(),
        reason: None,
        source: Some(r.source.clone().unwrap_or_else(|| crate::outcome::LOCAL.to_string())),
        source_age_s: r.source.as_ref().map(|_| crate::cache::now_secs().saturating_sub(r.finished_at)),
    }
}
