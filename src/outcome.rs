//! One vocabulary for how things end, from a check's steps to hookgate's exit code:
//!
//! - [`Ended`]: how a check kind's execution ended (its own answer, no answer, or a setup
//!   failure), before it becomes a reported status;
//! - [`Verdict`]: the part of it that is cached (a check's own pass or fail, nothing else);
//! - [`Status`] and [`Outcome`]: what is reported for one check, cached or not;
//! - [`ExitStatus`]: hookgate's own exit code (0 pass, 1 a check failed, 2 usage/config/
//!   environment error, 130 interrupted).
//!
//! How a child *process* ended is [`crate::process::Exit`]; a kind turns those into `Ended`.

use std::path::PathBuf;
use std::process::ExitCode;

use serde::{Deserialize, Serialize};

use crate::process::Exit;

/// How a check kind's execution ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// The check's own commands succeeded.
    Pass,
    /// The check's own command failed: a verdict. Carries a reason beyond the log, if any.
    Fail(Option<String>),
    /// No verdict could be reached (e.g. the index did not answer); never cached.
    Unknown(String),
    /// Setting the check up failed (venv, install, resolution, a helper): not the check's
    /// answer, so never cached as one.
    Error(String),
    /// It ran past its time limit and was killed; not cached.
    TimedOut,
    /// The run was cancelled (Ctrl-C, SIGTERM, a superseding `watch` run).
    Cancelled,
}

impl Ended {
    /// The ending of a check's own command: its exit status is the verdict.
    pub fn of_check(exit: Exit) -> Ended {
        match exit {
            Exit::Code(0) => Ended::Pass,
            Exit::Code(_) | Exit::Signalled => Ended::Fail(None),
            Exit::NotFound => Ended::Fail(Some("command not found".into())),
            Exit::TimedOut => Ended::TimedOut,
            Exit::Cancelled => Ended::Cancelled,
        }
    }

    /// The ending of a setup step (`what`: "installing the test requirements"): a failure is
    /// an [`Ended::Error`], never a verdict.
    pub fn of_setup(exit: Exit, what: &str) -> Ended {
        match exit {
            Exit::Code(0) => Ended::Pass,
            Exit::Code(c) => Ended::Error(format!("{what} failed (exit status {c})")),
            Exit::Signalled => Ended::Error(format!("{what} was killed by a signal")),
            Exit::NotFound => Ended::Error(format!("{what}: the program was not found")),
            Exit::TimedOut => Ended::TimedOut,
            Exit::Cancelled => Ended::Cancelled,
        }
    }

    /// Whether the next step may run.
    pub fn is_pass(&self) -> bool {
        *self == Ended::Pass
    }
}

/// A cached verdict: only a check's own answer is ever stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The check passed.
    Pass,
    /// The check failed.
    Fail,
}

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
    /// Its setup failed (venv, install, a helper crashed): no verdict, never cached, exit 2.
    Error,
}

impl Status {
    /// The word used in tables, progress lines and `status` (the same everywhere).
    pub fn word(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "FAIL",
            Status::Skipped => "skipped",
            Status::Unknown => "unknown",
            Status::Error => "error",
        }
    }
}

impl From<Verdict> for Status {
    fn from(v: Verdict) -> Status {
        match v {
            Verdict::Pass => Status::Pass,
            Verdict::Fail => Status::Fail,
        }
    }
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
    /// Where the verdict came from: `local` (this clone reached it), `cutoff` (reused from
    /// another tree's run, see [`crate::cutoff`]) or the principal of the signer of the shared
    /// statement it was taken from; `None` when there is no verdict.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// For a verdict taken from a shared statement: seconds since the signer's run finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_age_s: Option<u64>,
}

/// The `source` of a verdict this clone reached itself.
pub const LOCAL: &str = "local";

/// The `source` of a verdict this clone reused from another tree's run by early cutoff (see
/// [`crate::cutoff`]); `reason` names that tree.
pub const CUTOFF: &str = "cutoff";

impl Outcome {
    /// Where a shared verdict came from, for people: `ci@example.org 2h ago`; `None` for one
    /// this clone reached.
    pub fn provenance(&self) -> Option<String> {
        let who = self.source.as_deref().filter(|s| *s != LOCAL)?;
        Some(match self.source_age_s {
            Some(age) => format!("{who} {} ago", ago(age)),
            None => who.to_string(),
        })
    }
}

/// A duration in seconds, as its largest whole unit: `45s`, `12m`, `2h`, `3d`.
pub fn ago(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        3600..86400 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86400),
    }
}

/// hookgate's exit status, as uv and prek type theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Every check passed (or the command did what it was asked): 0.
    Success,
    /// A check failed, or a precondition the user must fix was not met: 1.
    Failure,
    /// Usage, config or environment error (including a check's setup error): 2.
    Error,
    /// Interrupted by Ctrl-C or SIGTERM: 130, as shells report SIGINT.
    Interrupted,
}

impl ExitStatus {
    /// The status for a set of outcomes: an error beats a failure, which beats a pass.
    pub fn of(outcomes: &[Outcome]) -> ExitStatus {
        if outcomes.iter().any(|o| o.status == Status::Error) {
            ExitStatus::Error
        } else if outcomes.iter().any(|o| o.status == Status::Fail) {
            ExitStatus::Failure
        } else {
            ExitStatus::Success
        }
    }

    /// The worse of two statuses (for a push of several trees).
    pub fn worst(self, other: ExitStatus) -> ExitStatus {
        let rank = |s: ExitStatus| match s {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Error => 2,
            ExitStatus::Interrupted => 3,
        };
        if rank(other) > rank(self) { other } else { self }
    }

    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Error => 2,
            ExitStatus::Interrupted => 130,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> ExitCode {
        ExitCode::from(s.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_in_their_largest_unit() {
        let shown: Vec<String> = [0, 59, 60, 3599, 7200, 86400 * 3].map(super::ago).to_vec();
        assert_eq!(shown, ["0s", "59s", "1m", "59m", "2h", "3d"]);
    }

    #[test]
    fn setup_failures_are_errors_and_check_failures_are_verdicts() {
        assert_eq!(Ended::of_check(Exit::Code(1)), Ended::Fail(None));
        assert!(
            matches!(Ended::of_setup(Exit::Code(1), "installing x"), Ended::Error(m) if m.contains("installing x"))
        );
        assert_eq!(Ended::of_setup(Exit::TimedOut, "x"), Ended::TimedOut);
        assert_eq!(Ended::of_check(Exit::Cancelled), Ended::Cancelled);
    }

    #[test]
    fn exit_status_ranks_error_over_failure() {
        let o = |status| Outcome {
            name: "x".into(),
            status,
            cached: false,
            duration_ms: 0,
            key: String::new(),
            log: None,
            reports: vec![],
            reason: None,
            source: None,
            source_age_s: None,
        };
        assert_eq!(ExitStatus::of(&[o(Status::Pass), o(Status::Skipped)]), ExitStatus::Success);
        assert_eq!(ExitStatus::of(&[o(Status::Fail), o(Status::Unknown)]), ExitStatus::Failure);
        assert_eq!(ExitStatus::of(&[o(Status::Fail), o(Status::Error)]), ExitStatus::Error);
        assert_eq!(ExitStatus::Failure.worst(ExitStatus::Success), ExitStatus::Failure);
        assert_eq!(ExitStatus::Interrupted.code(), 130);
    }
}
