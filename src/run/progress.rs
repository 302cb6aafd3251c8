//! Live progress on stderr while checks run: one spinner line per check on a terminal (with
//! indicatif), plain lines otherwise (a log, CI, a hook whose stderr git forwards).

use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The progress display of one run.
pub struct Progress {
    multi: Option<MultiProgress>,
}

/// One check's line (`None` when not on a terminal).
pub type Line = Option<ProgressBar>;

impl Progress {
    /// Spinners on a terminal, plain lines otherwise.
    pub fn new() -> Progress {
        use std::io::IsTerminal;
        let multi = std::io::stderr()
            .is_terminal()
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Progress { multi }
    }

    /// A check started.
    pub fn start(&self, name: &str) -> Line {
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
                crate::report::note(format_args!("running {name}"));
                None
            }
        }
    }

    /// Something a check is doing or waiting for.
    pub fn note(&self, line: &Line, name: &str, msg: &str) {
        match line {
            Some(b) => b.set_message(msg.to_string()),
            None => crate::report::note(format_args!("{name}: {msg}")),
        }
    }

    /// A check ended with `word` after `ms`.
    pub fn finish(&self, line: &Line, name: &str, word: &str, ms: u64) {
        match line {
            Some(b) => b.finish_with_message(word.to_string()),
            None => crate::report::note(format_args!("{name} {word} ({:.1}s)", ms as f64 / 1000.0)),
        }
    }

    /// Removes the spinners before the summary table is printed.
    pub fn clear(&self) {
        if let Some(m) = &self.multi {
            m.clear().ok();
        }
    }
}
