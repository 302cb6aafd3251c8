//! The one place external commands run. Every child gets its own process group, an explicit
//! environment and working directory, its output appended to a log (capped: see [`LOG_HEAD`]),
//! a deadline, and is killed (with its whole group) when the deadline passes or the run is
//! cancelled (Ctrl-C, SIGTERM). When a command ends, whatever it left running in its group is
//! killed too.
//!
//! A child must not outlive hookgate even when hookgate is killed with SIGKILL, which it cannot
//! catch. On Linux each child is armed before `exec`: `PR_SET_PDEATHSIG` kills the child itself
//! when the thread that spawned it exits (every spawning thread waits for its child, so that
//! only happens when hookgate dies), and a *sentinel* forked into the child's process group
//! kills the whole group, grandchildren included, as soon as the pipe whose write end hookgate
//! holds reads end-of-file: when hookgate dies, the kernel closes that end. The sentinel is a
//! member of the group, so the group's id cannot be reused by a stranger while it lives.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// A log keeps the first `LOG_HEAD` bytes of one command's output...
pub const LOG_HEAD: u64 = 1 << 20;
/// ...and its last `LOG_TAIL` bytes; what lies between is dropped, and the log says how much.
pub const LOG_TAIL: u64 = 1 << 20;
/// Dropped output is punched out of the file while the command runs once this much piled up.
const PUNCH_SLACK: u64 = 8 << 20;
/// How far from a cut the nearest line break is looked for.
const LINE_WINDOW: u64 = 4096;

/// Shared flag set by the signal handler; every running child watches it. A child flag (one
/// run of `watch`, one run's workers) is cancelled on its own or with any of its ancestors.
/// The flag of one check also carries that check's key lock, which its children inherit (see
/// [`Cancel::handing_down`]).
#[derive(Debug, Clone, Default)]
pub struct Cancel {
    own: Arc<AtomicBool>,
    ancestors: Vec<Arc<AtomicBool>>,
    handed_down: Option<Arc<OwnedFd>>,
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
        Cancel { own: Arc::default(), ancestors, handed_down: self.handed_down.clone() }
    }

    /// The same flag, for the commands of one check: each of them inherits `fd` (a descriptor
    /// of the check's key lock). An `flock` belongs to the open file description, so the key
    /// stays locked while any process of the check lives, even one that outlived a killed
    /// hookgate, and the next run waits for it instead of starting a duplicate.
    pub fn handing_down(&self, fd: OwnedFd) -> Cancel {
        Cancel { handed_down: Some(Arc::new(fd)), ..self.clone() }
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// A started command and hookgate's end of its lifeline (the pipe its sentinel reads).
struct Running {
    handle: duct::Handle,
    lifeline: std::io::PipeWriter,
}

impl Running {
    /// Once the command ended (exited or killed): kills what it left running in its group and
    /// lets the sentinel go. The sentinel, a member until now, kept the group's id from being
    /// given to anyone else, so the signal reaches only the command's own processes.
    fn end(self) {
        if cfg!(target_os = "linux") {
            self.handle.pids().into_iter().for_each(kill_group);
        }
        drop(self.lifeline);
    }
}

/// Where a tool's machine-readable answer goes instead of the log.
enum Answer {
    /// Its standard output.
    Stdout(File),
    /// Its standard error.
    Stderr(File),
}

impl Cmd {
    /// A command with an explicit environment, run from `cwd`.
    pub fn new(program: impl Into<String>, args: &[&str], cwd: &Path, env: BTreeMap<String, String>) -> Cmd {
        Cmd {
            program: program.into(),
            args: args.iter().map(std::string::ToString::to_string).collect(),
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

    /// Starts the command, armed (see the module's doc) with a fresh lifeline; `keep` is a
    /// descriptor the command inherits, `io` sets up its standard streams.
    fn start(
        &self,
        program: &Path,
        keep: Option<RawFd>,
        io: impl FnOnce(duct::Expression) -> duct::Expression,
    ) -> std::io::Result<Running> {
        let (reader, lifeline) = std::io::pipe()?;
        let arming = Arming {
            parent: std::process::id() as libc::pid_t,
            lifeline: reader.as_raw_fd(),
            keep: keep.unwrap_or(-1),
        };
        let expression = duct::cmd(program, &self.args)
            .dir(&self.cwd)
            .full_env(&self.env)
            .stdin_null()
            .unchecked()
            .before_spawn(move |c| {
                use std::os::unix::process::CommandExt;
                c.process_group(0);
                // SAFETY: `arm_child` runs between fork and exec and makes only
                // async-signal-safe system calls: it neither allocates nor takes a lock.
                unsafe { c.pre_exec(move || arm_child(&arming)) };
                Ok(())
            });
        // The spawning thread must outlive the child (PR_SET_PDEATHSIG fires when it exits):
        // every caller waits for the child on the thread that started it.
        let handle = io(expression).start()?;
        drop(reader);
        Ok(Running { handle, lifeline })
    }

    /// Runs to completion, appending the command line and its output to `log`. The output is
    /// capped to its first [`LOG_HEAD`] and last [`LOG_TAIL`] bytes.
    pub fn run_logged(&self, log: &mut File, deadline: Instant, cancel: &Cancel) -> Result<Exit> {
        self.run_logged_into(log, None, deadline, cancel)
    }

    /// Runs like [`Cmd::run_logged`], but the command's standard output goes to `stdout` (a
    /// tool's machine-readable answer); its standard error still goes to the log.
    pub fn run_logged_stdout_to(
        &self,
        log: &mut File,
        stdout: File,
        deadline: Instant,
        cancel: &Cancel,
    ) -> Result<Exit> {
        self.run_logged_into(log, Some(Answer::Stdout(stdout)), deadline, cancel)
    }

    /// Runs like [`Cmd::run_logged`], but the command's standard error goes to `stderr` (a
    /// tool that reports there, such as black's `-v`); its standard output still goes to the
    /// log.
    pub fn run_logged_stderr_to(
        &self,
        log: &mut File,
        stderr: File,
        deadline: Instant,
        cancel: &Cancel,
    ) -> Result<Exit> {
        self.run_logged_into(log, Some(Answer::Stderr(stderr)), deadline, cancel)
    }

    fn run_logged_into(
        &self,
        log: &mut File,
        answer: Option<Answer>,
        deadline: Instant,
        cancel: &Cancel,
    ) -> Result<Exit> {
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
        let mut cap = LogCap::new(log.stream_position().context("reading the log's position")?);
        let out = log.try_clone().context("sharing the log file")?;
        let keep = cancel.handed_down.as_deref().map(AsRawFd::as_raw_fd);
        let io = |e: duct::Expression| match answer {
            Some(Answer::Stdout(answer)) => e.stdout_file(answer).stderr_file(out),
            Some(Answer::Stderr(answer)) => e.stderr_file(answer).stdout_file(out),
            None => e.stderr_to_stdout().stdout_file(out),
        };
        let running = match self.start(&program, keep, io) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                writeln!(log, "hookgate: cannot start `{}`: {e}", self.program).ok();
                return Ok(Exit::NotFound);
            }
            Err(e) => return Err(e).with_context(|| format!("starting `{}`", self.display())),
        };
        let started = Instant::now();
        let shared: &File = log;
        let exit = wait(&running.handle, deadline, cancel, || cap.punch(shared));
        running.end();
        cap.finish(log).context("capping the log")?;
        let exit = exit?;
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
        let running = self.start(&program, None, |e| e.stderr_null().stdout_capture()).ok()?;
        let out = running.handle.wait().ok().cloned();
        running.end();
        let out = out?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs to completion, capturing both streams: for git plumbing, whose failures are
    /// reported in git's own words.
    pub fn output(&self) -> Result<Output> {
        let Some(program) = self.resolve() else {
            return Ok(Output { exit: Exit::NotFound, stdout: String::new(), stderr: String::new() });
        };
        let running = self
            .start(&program, None, |e| e.stdout_capture().stderr_capture())
            .with_context(|| format!("starting `{}`", self.display()))?;
        let waited = running.handle.wait().cloned();
        running.end();
        let out = waited.with_context(|| format!("running `{}`", self.display()))?;
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

/// Polls `handle` until it exits, the deadline passes or the run is cancelled (then its group
/// is killed), calling `tick` between polls.
fn wait(handle: &duct::Handle, deadline: Instant, cancel: &Cancel, mut tick: impl FnMut()) -> Result<Exit> {
    let mut pause = Duration::from_millis(1);
    // Woken the moment the child exits (a 20 ms command is not seen at the next back-off step,
    // up to 10 ms later); the pause still bounds how late a deadline or Ctrl-C is noticed.
    let mut exited = handle.pids().first().and_then(|&pid| pidfd(pid));
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
            handle.pids().into_iter().for_each(kill_group);
            handle.kill().ok();
            return Ok(why);
        }
        tick();
        match &exited {
            // Readable means it exited: the next `try_wait` reaps it. Should it not, the
            // back-off below takes over rather than spinning on a readable descriptor.
            Some(fd) => {
                if wait_readable(fd, Duration::from_millis(20)) {
                    exited = None;
                }
            }
            None => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(20));
            }
        }
    }
}

/// A pidfd for the child `pid` (readable once it exits); `None` where the kernel has none.
fn pidfd(pid: u32) -> Option<OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: pidfd_open(2) takes a pid and flags and returns a new descriptor or -1; the child
    // is not reaped before `wait` sees it exit, so the pid still names it.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    let fd = RawFd::try_from(fd).ok().filter(|&fd| fd >= 0)?;
    // SAFETY: `fd` was just returned by the kernel and is owned by nothing else.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Waits until `fd` is readable or `timeout` passes; says whether it is readable.
fn wait_readable(fd: &OwnedFd, timeout: Duration) -> bool {
    let mut p = libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
    let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: one valid pollfd for the duration of the call.
    let n = unsafe { libc::poll(&mut p, 1, ms) };
    n > 0 && p.revents != 0
}

/// SIGKILL to the process group `pgid` (one of our children's).
fn kill_group(pgid: u32) {
    // SAFETY: kill(2) on a process group we created; no memory is involved.
    unsafe {
        libc::kill(-(pgid as libc::pid_t), libc::SIGKILL);
    }
}

/// Keeps one command's output in a log within [`LOG_HEAD`] + [`LOG_TAIL`] bytes.
///
/// The child writes straight into the log file, as it would without a cap: no pipe, no copy,
/// no reader thread, nothing a normal run pays for but a `fstat` per poll, and no waiting for
/// the end of a pipe that a leftover grandchild still holds. Past the bound, the middle of the
/// output is punched out of the file while the command runs (`FALLOC_FL_PUNCH_HOLE`), so a
/// command writing gigabytes holds a few MiB of disk; when it ended, the kept tail is moved up
/// behind the head with a line saying how much was dropped. Only the head's last line and the
/// tail are read, never the whole output.
struct LogCap {
    /// Where the command's output starts in the log.
    start: u64,
    /// Up to where the dropped middle is already punched out.
    punched_to: u64,
    /// False once the file system refused to punch.
    can_punch: bool,
}

impl LogCap {
    fn new(start: u64) -> LogCap {
        LogCap { start, punched_to: start + LOG_HEAD, can_punch: true }
    }

    /// Frees the disk blocks of the output that will be dropped, once enough piled up.
    fn punch(&mut self, log: &File) {
        if !self.can_punch {
            return;
        }
        let Ok(len) = log.metadata().map(|m| m.len()) else { return };
        let Some(keep_from) = len.checked_sub(LOG_TAIL) else { return };
        if keep_from <= self.punched_to + PUNCH_SLACK {
            return;
        }
        // Whole blocks only: a partial block would be zeroed, not freed.
        let (from, to) = (self.punched_to.next_multiple_of(4096), keep_from / 4096 * 4096);
        if to > from {
            match punch_hole(log, from, to - from) {
                Ok(()) => self.punched_to = to,
                Err(_) => self.can_punch = false,
            }
        }
    }

    /// Cuts the output down to its head and tail, at line breaks when there is one nearby.
    fn finish(&self, log: &mut File) -> std::io::Result<()> {
        let len = log.metadata()?.len();
        if len.saturating_sub(self.start) <= LOG_HEAD + LOG_TAIL {
            return Ok(());
        }
        let mut window = vec![0; LINE_WINDOW as usize];
        let head_end = self.start + LOG_HEAD;
        log.read_exact_at(&mut window, head_end - LINE_WINDOW)?;
        let mut tail = vec![0; LOG_TAIL as usize];
        log.read_exact_at(&mut tail, len - LOG_TAIL)?;
        let (keep, skip) = cut_points(&window, &tail);
        let head_end = head_end - LINE_WINDOW + keep as u64;
        let tail = &tail[skip..];
        let dropped = len - tail.len() as u64 - head_end;
        let newline = if window[..keep].ends_with(b"\n") { "" } else { "\n" };
        let note = format!(
            "{newline}hookgate: [log capped: {dropped} bytes of output dropped here; the first {} and \
             the last {} bytes are kept]\n",
            LOG_HEAD, LOG_TAIL
        );
        // Truncate, then append: right whether or not the log was opened with O_APPEND.
        log.set_len(head_end)?;
        log.seek(SeekFrom::Start(head_end))?;
        log.write_all(note.as_bytes())?;
        log.write_all(tail)?;
        Ok(())
    }
}

/// Where to cut a long output: how much of the head's last `window` to keep (through its last
/// line break) and how much of `tail` to skip (through its first line break), so that no line
/// is shown cut in two; a line longer than [`LINE_WINDOW`] is cut where it is.
fn cut_points(window: &[u8], tail: &[u8]) -> (usize, usize) {
    let keep = window.iter().rposition(|&b| b == b'\n').map_or(window.len(), |i| i + 1);
    let near = &tail[..tail.len().min(LINE_WINDOW as usize)];
    let skip = near.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1);
    (keep, skip)
}

#[cfg(target_os = "linux")]
fn punch_hole(log: &File, from: u64, len: u64) -> std::io::Result<()> {
    let mode = libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE;
    // SAFETY: fallocate(2) on a descriptor we own; it frees blocks inside the range only.
    let r = unsafe { libc::fallocate(log.as_raw_fd(), mode, from as libc::off_t, len as libc::off_t) };
    if r == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
}

#[cfg(not(target_os = "linux"))]
fn punch_hole(_: &File, _: u64, _: u64) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}

/// What the child needs to arm itself: plain numbers, copied before the fork.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
struct Arming {
    /// hookgate's pid.
    parent: libc::pid_t,
    /// The read end of the lifeline (the sentinel keeps it).
    lifeline: RawFd,
    /// A descriptor the command inherits, or -1.
    keep: RawFd,
}

/// Runs in the child between fork and exec: its own process group, death with hookgate's
/// spawning thread, a sentinel in the group, and the handed-down descriptor made inheritable.
///
/// Only async-signal-safe system calls: the child is a copy of a multi-threaded process whose
/// other threads may have held locks (the allocator's included) at the fork.
#[cfg(target_os = "linux")]
fn arm_child(a: &Arming) -> std::io::Result<()> {
    use std::io::Error;
    // SAFETY: plain system calls on numbers and on a stack variable; see above.
    unsafe {
        // The group first, so that the sentinel is forked into it (std's own setpgid may come
        // after this hook).
        if libc::setpgid(0, 0) != 0 {
            return Err(Error::last_os_error());
        }
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
            return Err(Error::last_os_error());
        }
        // hookgate died before the prctl: no signal would ever come.
        if libc::getppid() != a.parent {
            return Err(Error::from_raw_os_error(libc::ESRCH));
        }
        let middle = raw_fork();
        if middle < 0 {
            return Err(Error::last_os_error());
        }
        if middle == 0 {
            // The sentinel comes from a middle process that exits at once, so it is no child
            // of the command: a command that waits for all its children must not wait for it.
            let sentinel = raw_fork();
            if sentinel == 0 {
                sentinel_loop(a);
            }
            libc::_exit(if sentinel < 0 { 1 } else { 0 });
        }
        let mut status = 0;
        while libc::waitpid(middle, &mut status, 0) < 0 {
            if Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                return Err(Error::last_os_error());
            }
        }
        if status != 0 {
            return Err(Error::from_raw_os_error(libc::EAGAIN));
        }
        if a.keep >= 0 && libc::fcntl(a.keep, libc::F_SETFD, 0) != 0 {
            return Err(Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn arm_child(_: &Arming) -> std::io::Result<()> {
    Ok(())
}

/// fork(2) without the C library's fork handlers, which take locks that another thread of
/// hookgate may have held at the first fork: a bare clone(2) with only the exit signal set.
/// (Every argument but the flags is zero, so their order, which differs between
/// architectures, does not matter.)
#[cfg(target_os = "linux")]
unsafe fn raw_fork() -> libc::pid_t {
    let flags = libc::SIGCHLD as libc::c_long;
    // SAFETY: clone(2) without CLONE_VM: the child gets its own copy of the address space.
    unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags,
            0 as libc::c_long,
            0 as libc::c_long,
            0 as libc::c_long,
            0 as libc::c_long,
        ) as libc::pid_t
    }
}

/// The sentinel: waits for hookgate's end of the lifeline to close (the command ended, or
/// hookgate died), then kills its process group, itself included. It keeps the handed-down
/// key lock until then, so the lock cannot be free while the group still runs.
#[cfg(target_os = "linux")]
unsafe fn sentinel_loop(a: &Arming) -> ! {
    // SAFETY: plain system calls on numbers and on a stack variable.
    unsafe {
        // hookgate's Ctrl-C handler is no business of the sentinel's.
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::signal(sig, libc::SIG_DFL);
        }
        // Every other descriptor goes: hookgate's ends of other lifelines above all, which
        // would otherwise never read end-of-file.
        close_all_but(a.lifeline, a.keep);
        let mut byte = 0u8;
        loop {
            let n = libc::read(a.lifeline, (&raw mut byte).cast(), 1);
            if n == 0 || (n < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR)) {
                break;
            }
        }
        libc::kill(0, libc::SIGKILL);
        libc::_exit(0)
    }
}

/// Closes every descriptor but `a` and `b` (either may be -1).
#[cfg(target_os = "linux")]
unsafe fn close_all_but(a: RawFd, b: RawFd) {
    let mut next: u32 = 0;
    for fd in [a.min(b), a.max(b)] {
        if fd < 0 {
            continue;
        }
        let fd = fd as u32;
        if fd > next {
            // SAFETY: closing descriptors in a process about to do nothing but wait.
            unsafe { close_range(next, fd - 1) };
        }
        next = fd + 1;
    }
    // SAFETY: as above.
    unsafe { close_range(next, u32::MAX) };
}

/// close_range(2), or one close(2) at a time up to the descriptor limit on kernels before 5.9.
#[cfg(target_os = "linux")]
unsafe fn close_range(first: u32, last: u32) {
    // SAFETY: plain system calls on numbers and on a stack variable.
    unsafe {
        let args = (first as libc::c_long, last as libc::c_long, 0 as libc::c_long);
        if libc::syscall(libc::SYS_close_range, args.0, args.1, args.2) == 0 {
            return;
        }
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        let top = limit.rlim_cur.min(1 << 16) as u32;
        for fd in first..last.min(top) {
            libc::close(fd as libc::c_int);
        }
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

    fn run(dir: &Path, script: &str, timeout: Duration, cancel: &Cancel) -> (Exit, String) {
        let path = dir.join("log");
        let mut log = File::options().create(true).append(true).read(true).open(&path).unwrap();
        let cmd = Cmd::new("sh", &["-c", script], dir, env());
        let exit = cmd.run_logged(&mut log, Instant::now() + timeout, cancel).unwrap();
        (exit, std::fs::read_to_string(path).unwrap())
    }

    /// Whether `pid` is gone (or a zombie nobody reaped yet), waiting up to ten seconds.
    fn gone(pid: &str) -> bool {
        let pid: libc::pid_t = pid.trim().parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // The state follows the parenthesised command name.
            if stat.rsplit_once(") ").is_none_or(|(_, rest)| rest.starts_with('Z')) {
                return true;
            }
            if Instant::now() > deadline {
                // SAFETY: the process is one this test started, and it is still there.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
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
        let bg = dir.path().join("bg");
        let script = format!("sleep 30 & echo $! > {}; sleep 30", bg.display());
        let (exit, _) = run(dir.path(), &script, Duration::from_millis(300), &Cancel::default());
        assert_eq!(exit, Exit::TimedOut);
        assert!(gone(&std::fs::read_to_string(bg).unwrap()), "a grandchild outlived the timeout");
    }

    #[test]
    fn what_a_finished_command_left_running_is_killed() {
        let dir = tempfile::tempdir().unwrap();
        let bg = dir.path().join("bg");
        let script = format!("sleep 30 & echo $! > {}", bg.display());
        let (exit, _) = run(dir.path(), &script, Duration::from_secs(30), &Cancel::default());
        assert_eq!(exit, Exit::Code(0));
        assert!(gone(&std::fs::read_to_string(bg).unwrap()), "a leftover outlived its command");
    }

    #[test]
    fn exit_codes_and_output_reach_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let (exit, text) =
            run(dir.path(), "echo hello; echo oops >&2; exit 3", Duration::from_secs(5), &Cancel::default());
        assert_eq!(exit, Exit::Code(3));
        assert!(text.contains("hello") && text.contains("oops") && text.contains("exit status 3"), "{text}");
    }

    #[test]
    fn a_handed_down_descriptor_is_inherited_by_the_command_only() {
        let dir = tempfile::tempdir().unwrap();
        let lock = File::create(dir.path().join("key.lock")).unwrap();
        let fd = lock.as_raw_fd();
        let cancel = Cancel::default().handing_down(lock.into());
        let script = format!("readlink /proc/$$/fd/{fd}; echo end");
        let (exit, text) = run(dir.path(), &script, Duration::from_secs(5), &cancel);
        assert_eq!(exit, Exit::Code(0));
        assert!(text.contains("key.lock\nend"), "{text}");
        // Without it, the lock, open in this process, does not reach a command.
        let _held = File::open(dir.path().join("key.lock")).unwrap();
        let (_, text) =
            run(dir.path(), "ls -l /proc/$$/fd; echo end", Duration::from_secs(5), &Cancel::default());
        assert_eq!(text.matches("key.lock").count(), 1, "{text}");
    }

    #[test]
    fn cut_points_fall_on_line_breaks_nearby() {
        assert_eq!(cut_points(b"abc\ndef", b"gh\nij"), (4, 3));
        assert_eq!(cut_points(b"no break", b"none either"), (8, 0));
        let long = vec![b'x'; LINE_WINDOW as usize + 10];
        assert_eq!(cut_points(b"a\n", &[&long[..], b"\nz"].concat()), (2, 0));
    }

    #[test]
    fn a_long_output_keeps_its_head_and_tail_and_says_how_much_was_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let total: u64 = 30_000_000;
        let script = format!("echo FIRST; yes 0123456789 | head -c {total}; echo LAST");
        let (exit, text) = run(dir.path(), &script, Duration::from_secs(60), &Cancel::default());
        assert_eq!(exit, Exit::Code(0));
        assert!(text.len() as u64 <= LOG_HEAD + LOG_TAIL + 4096, "{} bytes", text.len());
        let output = text.split_once("\n").unwrap().1.rsplit_once("hookgate: (").unwrap().0;
        let (head, rest) = output.split_once("hookgate: [log capped: ").unwrap();
        let (dropped, tail) = rest.split_once(" bytes of output dropped").unwrap();
        let tail = tail.split_once('\n').unwrap().1;
        assert!(head.starts_with("FIRST\n0123456789\n") && head.ends_with("0123456789\n"), "{head:.40}");
        assert!(tail.starts_with("0123456789\n") && tail.ends_with("LAST\n"));
        let written = "FIRST\n".len() as u64 + total + "LAST\n".len() as u64;
        assert_eq!(dropped.parse::<u64>().unwrap() + head.len() as u64 + tail.len() as u64, written);
    }

    #[test]
    fn the_dropped_middle_is_punched_out_while_the_command_runs() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let mut log = File::options()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(dir.path().join("log"))
            .unwrap();
        let mut cap = LogCap::new(0);
        let chunk = vec![b'y'; 1 << 20];
        for _ in 0..40 {
            log.write_all(&chunk).unwrap();
            cap.punch(&log);
        }
        let meta = log.metadata().unwrap();
        assert_eq!(meta.len(), 40 << 20, "punching keeps the size the writer sees");
        assert!(meta.blocks() * 512 <= LOG_HEAD + LOG_TAIL + PUNCH_SLACK + (2 << 20), "{}", meta.blocks());
        cap.finish(&mut log).unwrap();
        assert!(log.metadata().unwrap().len() <= LOG_HEAD + LOG_TAIL + 200);
        assert_eq!(log.stream_position().unwrap(), log.metadata().unwrap().len());
    }
}
