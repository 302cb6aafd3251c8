//! Turns outcomes into what people and machines read: a summary table with the log tail of
//! each failure (colored only on a terminal), one JSON object for `--json`, JUnit XML for
//! `--junit`.

use std::io::Write;
use std::path::Path;

use console::Style;
use serde_json::{Value, json};

use crate::git::{TreeRef, short};

use crate::outcome::{ExitStatus, Outcome, Status};

/// A line for the user on stderr, `hookgate: <msg>`. Every message of hookgate's goes through
/// here or [`out`] (clippy's `print_stdout`/`print_stderr` keep it so); a closed stderr is
/// not worth failing over.
pub fn note(msg: impl std::fmt::Display) {
    writeln!(std::io::stderr().lock(), "hookgate: {msg}").ok();
}

/// A warning on stderr, `hookgate: warning: <msg>`.
pub fn warn(msg: impl std::fmt::Display) {
    note(format_args!("warning: {msg}"));
}

/// Text on stdout, the command's own output. A closed stdout is an error, which `main` turns
/// into a quiet exit (`hookgate status | head -1`).
pub fn out(text: impl std::fmt::Display) -> std::io::Result<()> {
    write!(std::io::stdout().lock(), "{text}")
}

/// How many lines of a failing check's log are shown.
pub const TAIL_LINES: usize = 25;

/// One tree's results, as reported.
pub struct TreeReport<'a> {
    /// The tree under test.
    pub tree: &'a TreeRef,
    /// The selection label (`pre-push`, `all`, ...).
    pub stage: &'a str,
    /// The checks' outcomes, in plan order.
    pub outcomes: &'a [Outcome],
}

impl TreeReport<'_> {
    /// Whether nothing blocks: every check passed, was skipped or reached no verdict.
    pub fn passed(&self) -> bool {
        self.exit_status() == ExitStatus::Success
    }

    /// The exit status these outcomes give: 1 for a failure, 2 for a setup error.
    pub fn exit_status(&self) -> ExitStatus {
        ExitStatus::of(self.outcomes)
    }

    /// The overall word: `pass`, `fail` or `error`.
    pub fn status_word(&self) -> &'static str {
        match self.exit_status() {
            ExitStatus::Success => "pass",
            ExitStatus::Failure => "fail",
            _ => "error",
        }
    }

    /// The JSON object `--json` prints.
    pub fn to_json(&self) -> Value {
        json!({
            "tree": self.tree.id.to_string(),
            "commit": self.tree.commit.map(|c| c.to_string()),
            "stage": self.stage,
            "status": self.status_word(),
            "checks": self.outcomes,
        })
    }

    /// Writes the summary table and the tail of each failure's log.
    pub fn write_human(&self, out: &mut dyn Write, color: bool) -> std::io::Result<()> {
        let paint =
            |s: &Style, text: &str| if color { s.apply_to(text).to_string() } else { text.to_string() };
        let (green, red, dim, bold) =
            (Style::new().green(), Style::new().red().bold(), Style::new().dim(), Style::new().bold());
        writeln!(
            out,
            "{} {} on {} (tree {})",
            paint(&bold, "hookgate:"),
            self.stage,
            self.tree.label,
            short(self.tree.id)
        )?;
        if self.outcomes.is_empty() {
            writeln!(out, "  no checks in this stage")?;
            return Ok(());
        }
        let width = self.outcomes.iter().map(|o| o.name.len()).max().unwrap_or(5).max(5);
        writeln!(out, "  {:<width$}  {:<7}  {:<6}  {:>8}", "check", "verdict", "cached", "time")?;
        for o in self.outcomes {
            let style = match o.status {
                Status::Pass => &green,
                Status::Fail | Status::Error => &red,
                Status::Skipped | Status::Unknown => &dim,
            };
            let word = o.status.word();
            let cached = if o.cached { "yes" } else { "no" };
            let time = format!("{:.2}s", o.duration_ms as f64 / 1000.0);
            let note = match (o.reason.as_deref(), o.provenance()) {
                (Some(r), _) => format!("  ({r})"),
                (None, Some(from)) => format!("  (cached · {from})"),
                (None, None) => String::new(),
            };
            writeln!(
                out,
                "  {:<width$}  {}  {:<6}  {:>8}{}",
                o.name,
                paint(style, &format!("{word:<7}")),
                cached,
                time,
                note
            )?;
        }
        for o in self.outcomes.iter().filter(|o| matches!(o.status, Status::Fail | Status::Error)) {
            writeln!(out)?;
            let how = if o.cached { " (cached verdict; `hookgate run --force` re-runs it)" } else { "" };
            let what =
                if o.status == Status::Error { "could not be set up (not a verdict)" } else { "failed" };
            writeln!(out, "{}{}", paint(&red, &format!("--- {} {what}", o.name)), how)?;
            if let Some(log) = &o.log {
                for line in tail(log, TAIL_LINES) {
                    writeln!(out, "  {line}")?;
                }
                writeln!(out, "  full log: {}", log.display())?;
            }
        }
        Ok(())
    }
}

impl TreeReport<'_> {
    /// JUnit XML, one testcase per check (a failure or setup error carries the log tail), as
    /// GitHub and other CI systems render it. Serialised by quick-junit (escaping, counts).
    pub fn to_junit(&self) -> String {
        use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
        let seconds = |ms: u64| std::time::Duration::from_millis(ms);
        let suite_name = format!("hookgate {}", self.stage);
        let mut suite = TestSuite::new(suite_name.clone());
        suite.add_property(Property::new("tree", self.tree.id.to_string()));
        for o in self.outcomes {
            let reason = o.reason.clone().unwrap_or_default();
            let status = match o.status {
                Status::Pass => TestCaseStatus::success(),
                Status::Skipped | Status::Unknown => {
                    let why =
                        if o.status == Status::Unknown { format!("no verdict: {reason}") } else { reason };
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(why);
                    s
                }
                Status::Fail | Status::Error => {
                    let kind = if o.status == Status::Error {
                        NonSuccessKind::Error
                    } else {
                        NonSuccessKind::Failure
                    };
                    let tail = o.log.as_deref().map(|l| tail(l, TAIL_LINES).join("\n")).unwrap_or_default();
                    let log = o.log.as_deref().map(|l| l.display().to_string()).unwrap_or_default();
                    let mut s = TestCaseStatus::non_success(kind);
                    s.set_message(if reason.is_empty() { format!("{} failed", o.name) } else { reason });
                    s.set_description(format!("{tail}\n\nfull log: {log}"));
                    s
                }
            };
            let mut case = TestCase::new(o.name.clone(), status);
            case.set_classname(suite_name.clone());
            case.set_time(seconds(o.duration_ms));
            suite.add_test_case(case);
        }
        suite.set_time(seconds(self.outcomes.iter().map(|o| o.duration_ms).sum()));
        let mut report = Report::new("hookgate");
        report.add_test_suite(suite);
        report.to_string().unwrap_or_default()
    }
}

/// The last `n` lines of the file at `path` (empty if it cannot be read), read from its end
/// in blocks: a report costs what the tail costs, however long the log, and never more than
/// the last MiB (a longer last line is shown by its end).
pub fn tail(path: &Path, n: usize) -> Vec<String> {
    use std::os::unix::fs::FileExt;
    const BLOCK: u64 = 16 * 1024;
    const MOST: u64 = 1 << 20;
    let Ok(file) = std::fs::File::open(path) else { return Vec::new() };
    let Ok(len) = file.metadata().map(|m| m.len()) else { return Vec::new() };
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    let (mut start, mut breaks, mut needed) = (len, 0, n);
    // `needed` line breaks: one before each wanted line, plus the final one if the file ends in it.
    while start > 0 && len - start < MOST && breaks < needed {
        let from = start.saturating_sub(BLOCK).max(len.saturating_sub(MOST));
        let mut block = vec![0; (start - from) as usize];
        if file.read_exact_at(&mut block, from).is_err() {
            return Vec::new();
        }
        if start == len && block.last() == Some(&b'\n') {
            needed += 1; // the final line break ends the last line; it does not start one
        }
        breaks += block.iter().filter(|&&b| b == b'\n').count();
        blocks.push(block);
        start = from;
    }
    blocks.reverse();
    let mut bytes = blocks.concat();
    // Unless it starts the file, the first line read is the end of a longer one: drop it.
    if start > 0
        && let Some(i) = bytes.iter().position(|&b| b == b'\n')
    {
        bytes.drain(..=i);
    }
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].iter().map(std::string::ToString::to_string).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn tail_reads_the_last_lines_across_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let lines: Vec<String> = (0..10_000).map(|i| format!("line {i:05} {}", "x".repeat(i % 50))).collect();
        for ending in ["\n", ""] {
            std::fs::write(&path, lines.join("\n") + ending).unwrap();
            for n in [0, 1, 3, 25, 2000] {
                assert_eq!(super::tail(&path, n), lines[lines.len() - n..], "n = {n}, ending {ending:?}");
            }
        }
        std::fs::write(&path, "one\ntwo\n").unwrap();
        assert_eq!(super::tail(&path, 25), ["one", "two"]);
        std::fs::write(&path, "").unwrap();
        assert!(super::tail(&path, 25).is_empty());
        assert!(super::tail(&dir.path().join("missing"), 25).is_empty());
    }

    #[test]
    fn tail_of_a_huge_log_reads_only_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let file = std::fs::File::create(&path).unwrap();
        // A sparse 64 GiB file: reading it whole would not fit in memory.
        file.set_len(64 << 30).unwrap();
        std::os::unix::fs::FileExt::write_all_at(&file, b"\nbefore\nTHE END\n", (64 << 30) - 16).unwrap();
        assert_eq!(super::tail(&path, 1), ["THE END"]);
        // The line reaching past the last MiB read is left out rather than read whole.
        assert_eq!(super::tail(&path, 3).len(), 2);
    }
}
