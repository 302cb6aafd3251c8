//! Turns outcomes into what people and machines read: a summary table with the log tail of
//! each failure (colored only on a terminal), one JSON object for `--json`, JUnit XML for
//! `--junit`.

use std::io::Write;
use std::path::Path;

use console::Style;
use serde_json::{Value, json};

use crate::git::{TreeRef, short};

use crate::outcome::{ExitStatus, Outcome, Status};

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
    /// JUnit XML, one testcase per check (a failure carries the log tail), as GitHub and other
    /// CI systems render it.
    pub fn to_junit(&self) -> String {
        let count = |s: Status| self.outcomes.iter().filter(|o| o.status == s).count();
        let total: f64 = self.outcomes.iter().map(|o| o.duration_ms as f64 / 1000.0).sum();
        let suite = format!("hookgate {}", self.stage);
        let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        x += &format!(
            "<testsuites name=\"hookgate\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{total:.3}\">\n",
            self.outcomes.len(),
            count(Status::Fail),
            count(Status::Error),
            count(Status::Skipped) + count(Status::Unknown)
        );
        x += &format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{total:.3}\">\n",
            xml(&suite),
            self.outcomes.len(),
            count(Status::Fail),
            count(Status::Error),
            count(Status::Skipped) + count(Status::Unknown)
        );
        x += &format!("    <properties><property name=\"tree\" value=\"{}\"/></properties>\n", self.tree.id);
        for o in self.outcomes {
            let head = format!(
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
                xml(&suite),
                xml(&o.name),
                o.duration_ms as f64 / 1000.0
            );
            let reason = o.reason.clone().unwrap_or_default();
            match o.status {
                Status::Pass => x += &format!("{head}/>\n"),
                Status::Skipped | Status::Unknown => {
                    let why =
                        if o.status == Status::Unknown { format!("no verdict: {reason}") } else { reason };
                    x += &format!("{head}>\n      <skipped message=\"{}\"/>\n    </testcase>\n", xml(&why));
                }
                Status::Fail | Status::Error => {
                    let element = if o.status == Status::Error { "error" } else { "failure" };
                    let tail = o.log.as_deref().map(|l| tail(l, TAIL_LINES).join("\n")).unwrap_or_default();
                    let log = o.log.as_deref().map(|l| l.display().to_string()).unwrap_or_default();
                    let message = if reason.is_empty() { format!("{} failed", o.name) } else { reason };
                    x += &format!(
                        "{head}>\n      <{element} message=\"{}\">{}\n\nfull log: {}</{element}>\n    </testcase>\n",
                        xml(&message),
                        xml(&tail),
                        xml(&log)
                    );
                }
            }
        }
        x += "  </testsuite>\n</testsuites>\n";
        x
    }
}

/// Escapes text for XML, dropping the control characters XML 1.0 does not allow.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

/// The last `n` lines of the file at `path` (empty if it cannot be read).
pub fn tail(path: &Path, n: usize) -> Vec<String> {
    let Ok(bytes) = std::fs::read(path) else { return Vec::new() };
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].iter().map(|s| s.to_string()).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn xml_escapes_markup_and_drops_control_characters() {
        assert_eq!(
            super::xml("a<b & \"c\" \u{1b}[31m'd'>"),
            "a&lt;b &amp; &quot;c&quot; [31m&apos;d&apos;&gt;"
        );
    }
}
