//! The failure kinds the library reports to the user. Every one of them is a usage, config or
//! environment problem (exit code 2); a check that fails is a verdict, not an error.

use std::fmt;
use std::ops::Range;

use crate::outcome::ExitStatus;

/// A user-facing error: what went wrong and, where we know it, what to do next.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is malformed; carries the rendered `file:line:col: message`.
    #[error("{0}")]
    Config(ConfigError),
    /// Something about the repository prevents the run (not a repo, bare, no HEAD, ...).
    #[error("{0}")]
    Git(String),
    /// A required program or interpreter is missing or unusable.
    #[error("{0}")]
    Environment(String),
    /// The run was interrupted by a signal (Ctrl-C, SIGTERM); nothing was cached.
    #[error("interrupted: stopped every check; nothing from this run was cached")]
    Interrupted,
}

impl Error {
    /// The exit status for this error (130 for an interrupt, as shells report SIGINT; 2 else).
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            Error::Interrupted => ExitStatus::Interrupted,
            _ => ExitStatus::Error,
        }
    }
}

/// Whether `e` is (or wraps) [`Error::Interrupted`]: a run stopped by Ctrl-C or SIGTERM.
pub fn is_interrupted(e: &anyhow::Error) -> bool {
    matches!(e.downcast_ref::<Error>(), Some(Error::Interrupted))
}

/// A configuration error located in a file of the tree under test.
#[derive(Debug)]
pub struct ConfigError {
    /// The file the error is in, relative to the tree's root.
    pub file: String,
    /// 1-based line, when the position is known.
    pub line: Option<usize>,
    /// 1-based column (in characters), when the position is known.
    pub column: Option<usize>,
    /// What is wrong, in the parser's or validator's words.
    pub message: String,
}

impl ConfigError {
    /// Builds an error positioned at byte `span` of `source`.
    pub fn at(file: &str, source: &str, span: Option<Range<usize>>, message: impl Into<String>) -> Self {
        let (line, column) = match span {
            Some(span) => {
                let (l, c) = line_col(source, span.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        ConfigError { file: file.to_string(), line, column, message: message.into() }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{}:{}:{}: {}", self.file, l, c, self.message),
            _ => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// 1-based line and column of byte offset `at` in `source`.
pub fn line_col(source: &str, at: usize) -> (usize, usize) {
    let at = at.min(source.len());
    let before = source.get(..at).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let src = "a = 1\nbb = 2\n";
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(line_col(src, 6), (2, 1));
        assert_eq!(line_col(src, 9), (2, 4));
    }

    #[test]
    fn config_error_renders_file_line_column() {
        let e = ConfigError::at("pyproject.toml", "x\ny = 2\n", Some(2..3), "bad key");
        assert_eq!(e.to_string(), "pyproject.toml:2:1: bad key");
    }
}
