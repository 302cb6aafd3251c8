//! Turns outcomes into what people and machines read: a summary table with the log tail of
//! each failure (colored only on a terminal), and one JSON object for `--json`.

use std::io::Write;
use std::path::Path;

use console::Style;
use serde_json::{Value, json};

use crate::git::{TreeRef, short};
use crate::run::{Outcome, Status};

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
    /// Whether every check passed or was skipped.
    pub fn passed(&self) -> bool {
        self.outcomes.iter().all(|o| o.status != Status::Fail)
    }

    /// The JSON object `--json` prints.
    pub fn to_json(&self) -> Value {
        json!({
            "tree": self.tree.tree.to_string(),
            "commit": self.tree.commit.map(|c| c.to_string()),
            "stage": self.stage,
            "status": if self.passed() { "pass" } else { "fail" },
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
            short(self.tree.tree)
        )?;
        if self.outcomes.is_empty() {
            writeln!(out, "  no checks in this stage")?;
            return Ok(());
        }
        let width = self.outcomes.iter().map(|o| o.name.len()).max().unwrap_or(5).max(5);
        writeln!(out, "  {:<width$}  {:<7}  {:<6}  {:>8}", "check", "verdict", "cached", "time")?;
        for o in self.outcomes {
            let (word, style) = match o.status {
                Status::Pass => ("pass", &green),
                Status::Fail => ("FAIL", &red),
                Status::Skipped => ("skipped", &dim),
                Status::Unknown => ("unknown", &dim),
            };
            let cached = if o.cached { "yes" } else { "no" };
            let time = format!("{:.2}s", o.duration_ms as f64 / 1000.0);
            let note = o.reason.as_deref().map(|r| format!("  ({r})")).unwrap_or_default();
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
        for o in self.outcomes.iter().filter(|o| o.status == Status::Fail) {
            writeln!(out)?;
            let how = if o.cached { " (cached verdict; `hookgate run --force` re-runs it)" } else { "" };
            writeln!(out, "{}{}", paint(&red, &format!("--- {} failed", o.name)), how)?;
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

/// The last `n` lines of the file at `path` (empty if it cannot be read).
pub fn tail(path: &Path, n: usize) -> Vec<String> {
    let Ok(bytes) = std::fs::read(path) else { return Vec::new() };
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].iter().map(|s| s.to_string()).collect()
}
