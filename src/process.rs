//! The one place external commands run. Every child gets its own process group, an explicit
//! environment and working directory, its output appended to a log, a deadline, and is killed
//! (with its whole group) when the deadline passes or the run is cancelled (Ctrl-C, SIGTERM).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// Shared flag set by the signal handler; every running child watches it. A child flag (one
/// run of `watch`, one run's workers) is cancelled on its own or with any of its ancestors.
#[derive(Debug, Clone, Default)]
pub struct Cancel {
    own: Arc<AtomicBool>,
    ancestors: Vec<Arc<AtomicBool>>,
}

impl Cancel {
    /// Routes Ctrl-C and SIGTERM to this flag. Called only once children are about to run, so
    /// the cached path pays nothing for it; later calls are no-ops.
    pub fn watch_signals(&self) {
        static ONCE: std::sync::Once = std::sync::Once::new();
        let flag = self.clone();
        ONCE.call_once(move || {
            // If a handler cannot be installed, signals keep their default (terminating) action.
            ctrlc::set_handler(move || flag.cancel()).ok();
        });
    }

    /// A flag that is cancelled by itself or whenever this one is.
    pub fn child(&self) -> Cancel {
        let mut ancestors = self.ancestors.clone();
        ancestors.push(self.own.clone());
        Cancel { own: Arc::default(), ancestors }
    }

    /// Asks every running child to stop.
    pub fn cancel(&self) {
        self.own.store(true, Ordering::SeqCst);
    }

    /// Whether a stop was asked for.
    pub fn is_cancelled(&self) -> bool {
        self.own.load(Ordering::SeqCst) || self.ancestors.iter().any(|p| p.load(Ordering::SeqCst))
    }
}

/// A command to run: program, arguments, directory and environment.
#[derive(Debug, Clone)]
pub struct Cmd {
    /// The program (a path, or a name resolved against `env`'s PATH).
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Working directory.
    pub cwd: PathBuf,
    /// The complete environment (nothing else is inherited).
    pub env: BTreeMap<String, String>,
}

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this status code.
    Code(i32),
    /// A signal killed it.
    Signalled,
    /// The program could not be found.
    NotFound,
    /// It ran past its deadline and was killed.
    TimedOut,
    /// The run was cancelled and it was killed.
    Cancelled,
}

impl Exit {
    /// Whether the command succeeded.
    pub fn success(&self) -> bool {
        *self == Exit::Code(0)
    }
}

impl Cmd {
    /// A command with an explicit environment, run from `cwd`.
    pub fn new(program: impl Into<String>, args: &[&str], cwd: &Path, env: BTreeMap<String, String>) -> Cmd {
        Cmd {
            program: program.into(),
            args: args.iter().map(|s| s.to_string()).collect(),
            cwd: cwd.to_path_buf(),
            env,
        }
    }

    /// Appends arguments.
    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, more: I) -> Cmd {
        self.args.extend(more.into_iter().map(Into::into));
        self
    }

    /// The command line as shown in logs.
    pub fn display(&self) -> String {
        std::iter::once(&self.program).chain(&self.args).map(|a| shell_quote(a)).collect::<Vec<_>>().join(" ")
    }

    /// Resolves the program against the command's own PATH (the venv's `bin` first).
    fn resolve(&self) -> Option<PathBuf> {
        let path = self.env.get("PATH").cloned().unwrap_or_default();
        which::which_in(&self.program, Some(path), &self.cwd).ok()
    }

    fn expression(&self, program: &Path) -> duct::Expression {
        duct::cmd(program, &self.args)
            .dir(&self.cwd)
            .full_env(&self.env)
            .stdin_null()
            .unchecked()
            .before_spawn(|c| {
                use std::os::unix::process::CommandExt;
                c.process_group(0);
                Ok(())
            })
    }

    /// Runs to completion, appending the command line and its output to `log`.
    pub fn run_logged(&self, log: &mut File, deadline: Instant, cancel: &Cancel) -> Result<Exit> {
        writeln!(log, "$ {}", self.display()).context("writing the log")?;
        log.flush().ok();
        let Some(program) = self.resolve() else {
            writeln!(
                log,
                "hookgate: command `{}` not found in the check's venv or on PATH; add the package \
                 that provides it to the check's `deps`, or fix its `run`",
                self.program
            )
            .ok();
            return Ok(Exit::NotFound);
        };
        let out = log.try_clone().context("sharing the log file")?;
        let handle = match self.expression(&program).stderr_to_stdout().stdout_file(out).start() {
            Ok(h) => h,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                writeln!(log, "hookgate: cannot start `{}`: {e}", self.program).ok();
                return Ok(Exit::NotFound);
            }
            Err(e) => return Err(e).with_context(|| format!("starting `{}`", self.display())),
        };
        let started = Instant::now();
        let exit = wait(&handle, deadline, cancel)?;
        writeln!(log, "hookgate: ({:.2}s)", started.elapsed().as_secs_f64()).ok();
        match &exit {
            Exit::TimedOut => writeln!(log, "hookgate: timed out; killed the process group").ok(),
            Exit::Cancelled => writeln!(log, "hookgate: interrupted; killed the process group").ok(),
            Exit::Code(c) if *c != 0 => writeln!(log, "hookgate: exit status {c}").ok(),
            Exit::Signalled => writeln!(log, "hookgate: killed by a signal").ok(),
            _ => None,
        };
        Ok(exit)
    }

    /// Runs to completion in the foreground with `stdin` as its input and its output on ours
    /// (a hook of the user's, whose messages are for the user); returns its exit status.
    pub fn run_foreground(&self, stdin: &[u8]) -> Result<Exit> {
        let Some(program) = self.resolve() else { return Ok(Exit::NotFound) };
        let out = duct::cmd(program, &self.args)
            .dir(&self.cwd)
            .full_env(&self.env)
            .stdin_bytes(stdin.to_vec())
            .unchecked()
            .run()
            .with_context(|| format!("running `{}`", self.display()))?;
        Ok(out.status.code().map_or(Exit::Signalled, Exit::Code))
    }

    /// Runs to completion and returns its standard output (for short queries such as the
    /// interpreter's facts); `None` when it cannot start or fails.
    pub fn capture(&self) -> Option<String> {
        let program = self.resolve()?;
        let out = self.expression(&program).stderr_null().stdout_capture().run().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs to completion, capturing both streams: for git plumbing, whose failures are
    /// reported in git's own words.
    pub fn output(&self) -> Result<Output> {
        let Some(program) = self.resolve() else {
            return Ok(Output { exit: Exit::NotFound, stdout: String::new(), stderr: String::new() });
        };
        let out = self
            .expression(&program)
            .stdout_capture()
            .stderr_capture()
            .run()
            .with_context(|| format!("running `{}`", self.display()))?;
        Ok(Output {
            exit: out.status.code().map_or(Exit::Signalled, Exit::Code),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}

/// What a command printed and how it ended (see [`Cmd::output`]).
#[derive(Debug, Clone)]
pub struct Output {
    /// How it ended.
    pub exit: Exit,
    /// Its standard output, lossily decoded.
    pub stdout: String,
    /// Its standard error, lossily decoded.
    pub stderr: String,
}

fn wait(handle: &duct::Handle, deadline: Instant, cancel: &Cancel) -> Result<Exit> {
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(out) = handle.try_wait().context("waiting for a child")? {
            // No exit code means a signal ended it.
            return Ok(out.status.code().map_or(Exit::Signalled, Exit::Code));
        }
        let stop = if cancel.is_cancelled() {
            Some(Exit::Cancelled)
        } else if Instant::now() >= deadline {
            Some(Exit::TimedOut)
        } else {
            None
        };
        if let Some(why) = stop {
            for pid in handle.pids() {
                // SAFETY: kill(2) on a process group we created; no memory is involved.
                unsafe {
                    libc::kill(-(pid as i32), libc::SIGKILL);
                }
            }
            handle.kill().ok();
            return Ok(why);
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// Quotes a word for display as a shell would need it.
pub fn shell_quote(word: &str) -> String {
    if !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c)) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> BTreeMap<String, String> {
        BTreeMap::from([("PATH".to_string(), "/usr/bin:/bin".to_string())])
    }

    #[test]
    fn quoting_only_where_needed() {
        assert_eq!(shell_quote("ruff"), "ruff");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn missing_program_is_not_found_and_logged() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = File::create(dir.path().join("log")).unwrap();
        let cmd = Cmd::new("no-such-program-hg", &[], dir.path(), env());
        let exit =
            cmd.run_logged(&mut log, Instant::now() + Duration::from_secs(5), &Cancel::default()).unwrap();
        assert_eq!(exit, Exit::NotFound);
        let text = std::fs::read_to_string(dir.path().join("log")).unwrap();
        assert!(text.contains("`no-such-program-hg` not found"), "{text}");
    }

    #[test]
    fn deadline_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = File::create(dir.path().join("log")).unwrap();
        let marker = dir.path().join("child-survived");
        let script = format!("(sleep 1; touch {}) & sleep 30", marker.display());
        let cmd = Cmd::new("sh", &["-c", &script], dir.path(), env());
        let exit = cmd
            .run_logged(&mut log, Instant::now() + Duration::from_millis(200), &Cancel::default())
            .unwrap();
        assert_eq!(exit, Exit::TimedOut);
        std::thread::sleep(Duration::from_millis(1500));
        assert!(!marker.exists(), "a grandchild outlived the timeout");
    }

    #[test]
    fn exit_codes_and_output_reach_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = File::create(dir.path().join("log")).unwrap();
        let cmd = Cmd::new("sh", &["-c", "echo hello; echo oops >&2; exit 3"], dir.path(), env());
        let exit =
            cmd.run_logged(&mut log, Instant::now() + Duration::from_secs(5), &Cancel::default()).unwrap();
        assert_eq!(exit, Exit::Code(3));
        let text = std::fs::read_to_string(dir.path().join("log")).unwrap();
        assert!(text.contains("hello") && text.contains("oops") && text.contains("exit status 3"), "{text}");
    }
}
