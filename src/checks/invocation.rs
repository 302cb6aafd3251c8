//! What a check executes through: its snapshot, its venv, the two environments, its log and
//! deadline, the artifacts of the checks it needs, and where its own artifacts and reports go.
//! Every process a kind starts goes through [`Invocation::run`], so logging, the deadline and
//! cancellation apply to all of them alike.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};

use crate::config::CheckDef;
use crate::process::{Cancel, Cmd, Exit};
use crate::resolve::{Compile, Resolver, Used};
use crate::venv::shared::{Base, Spec, Store};
use crate::venv::{Installer, Interpreter, VenvBuilder};

/// One check's execution context.
pub struct Invocation<'a> {
    /// The check.
    pub def: &'a CheckDef,
    /// The host environment (for in-process work such as asking an index).
    pub host: &'a crate::env::HostEnv,
    /// The exported tree.
    pub src: PathBuf,
    /// The check's scratch directory (holds `src`, the venv, helpers).
    pub scratch: PathBuf,
    /// The check's venv.
    pub venv: PathBuf,
    /// The interpreter the venv was made from.
    pub interp: &'a Interpreter,
    /// uv or pip.
    pub installer: &'a Installer,
    /// Scrubbed environment for the check's own commands.
    pub check_env: BTreeMap<String, String>,
    /// Environment for installs and builds (index settings, certificates, proxies).
    pub setup_env: BTreeMap<String, String>,
    /// The log every step appends to.
    pub log: File,
    /// When the check runs out of time.
    pub deadline: Instant,
    /// The run's cancellation flag.
    pub cancel: &'a Cancel,
    /// Where this check puts files for the checks that need it (kept on a pass).
    pub artifacts: PathBuf,
    /// Artifacts of the checks this one needs, by name.
    pub needs: BTreeMap<String, PathBuf>,
    /// Where this check writes reports (kept, listed in the JSON `reports`).
    pub reports: PathBuf,
    /// The check's requirement set and the resolutions its installs were constrained to.
    pub resolver: Resolver,
    /// Distributions to test instead of building them (`run --dists`).
    pub dists: Option<&'a [crate::dists::Dist]>,
    /// The repository's git dir (a kind that reads refs opens it: handles are not shared).
    pub git_dir: &'a Path,
    /// The tree under test.
    pub tree: &'a crate::git::TreeRef,
    /// Where environments built once are kept (`None`: every venv is built for the check, as
    /// with pip).
    pub envs: Option<Store>,
    /// The shared environment the venv is a private copy of.
    pub base: Option<Base>,
    /// Whether anything was installed into the venv beyond its shared base.
    pub installed_more: bool,
    /// The resolved set the venv's installs were held to, and what they added besides it (the
    /// wheel under test, a package installed `--no-deps`); `None` once an install brought what no resolution names (a path
    /// or URL with its dependencies, a hashed lock, pip).
    pub added: Option<(Vec<String>, Vec<String>)>,
    /// The per-file results of file-local tools (`None`: not used, `HOOKGATE_FILE_CACHE=0`).
    pub file_cache: Option<crate::filecache::Store>,
}

/// Resolving with uv in a check's setup environment (`None` with pip, which cannot).
fn compiler<'c>(
    installer: &'c Installer,
    env: &'c BTreeMap<String, String>,
    scratch: &'c Path,
    python_version: &'c str,
    deadline: Instant,
    cancel: &'c Cancel,
) -> Option<Compile<'c>> {
    match installer {
        Installer::Uv(uv) => {
            Some(Compile { uv, env, scratch, python_version, exclude_newer: None, deadline, cancel })
        }
        Installer::Pip { .. } => None,
    }
}

/// Runs a setup step (an install, a tool's environment) and returns early from the kind with
/// [`Ended::Error`](crate::outcome::Ended) when it did not succeed: a setup failure is never
/// the check's verdict.
macro_rules! setup {
    ($what:expr, $e:expr) => {{
        let ended = $crate::outcome::Ended::of_setup($e?, $what);
        if !ended.is_pass() {
            return Ok(ended);
        }
    }};
}
pub(crate) use setup;

/// Runs one of the check's own commands and returns early from the kind with its verdict when
/// it did not succeed.
macro_rules! check {
    ($e:expr) => {{
        let ended = $crate::outcome::Ended::of_check($e?);
        if !ended.is_pass() {
            return Ok(ended);
        }
    }};
}
pub(crate) use check;

impl Invocation<'_> {
    /// The venv's interpreter.
    pub fn python(&self) -> PathBuf {
        self.venv.join("bin").join("python")
    }

    /// A command in the scrubbed check environment, from the snapshot's root.
    pub fn check_cmd(&self, program: impl Into<String>, args: &[&str]) -> Cmd {
        Cmd::new(program, args, &self.src, self.check_env.clone())
    }

    /// A command in the setup environment (network, index settings), from the snapshot's root.
    pub fn setup_cmd(&self, program: impl Into<String>, args: &[&str]) -> Cmd {
        Cmd::new(program, args, &self.src, self.setup_env.clone())
    }

    /// Runs `cmd`, logging it and its output, under the check's deadline and cancellation.
    pub fn run(&mut self, cmd: &Cmd) -> Result<Exit> {
        cmd.run_logged(&mut self.log, self.deadline, self.cancel)
    }

    /// Runs `cmd` like [`Invocation::run`], its standard output into `stdout` (a tool's
    /// machine-readable answer) and its standard error into the log.
    pub fn run_stdout_to(&mut self, cmd: &Cmd, stdout: File) -> Result<Exit> {
        cmd.run_logged_stdout_to(&mut self.log, stdout, self.deadline, self.cancel)
    }

    /// Runs `cmd` like [`Invocation::run`], its standard error into `stderr` (black's `-v`
    /// answer) and its standard output into the log.
    pub fn run_stderr_to(&mut self, cmd: &Cmd, stderr: File) -> Result<Exit> {
        cmd.run_logged_stderr_to(&mut self.log, stderr, self.deadline, self.cancel)
    }

    /// Runs `cmd` like [`Invocation::run`] and also returns what it wrote to the log, for a
    /// kind that reads the tool's output to decide what a failure means.
    pub fn run_and_read(&mut self, cmd: &Cmd) -> Result<(Exit, String)> {
        use std::io::Seek;
        use std::os::unix::fs::FileExt;
        let start = self.log.stream_position().context("reading the log's position")?;
        let exit = self.run(cmd)?;
        let end = self.log.stream_position().context("reading the log's position")?;
        // Bounded: a tool's output can be huge; what decides is near the end.
        const MAX: u64 = 1 << 20;
        let from = start.max(end.saturating_sub(MAX));
        let mut buf = vec![0; usize::try_from(end - from).unwrap_or(0)];
        self.log.read_exact_at(&mut buf, from).context("reading the step's output")?;
        Ok((exit, String::from_utf8_lossy(&buf).into_owned()))
    }

    /// Runs independent commands at the same time, each logging to its own file; the logs are
    /// appended to the check's log in order. Returns every exit, in order.
    pub fn run_parallel(&mut self, cmds: &[Cmd]) -> Result<Vec<Exit>> {
        let mut logs = Vec::new();
        for _ in cmds {
            logs.push(tempfile::tempfile_in(&self.scratch).context("creating a step log")?);
        }
        let (deadline, cancel) = (self.deadline, self.cancel);
        let exits: Vec<Result<Exit>> = std::thread::scope(|scope| {
            let handles: Vec<_> = cmds
                .iter()
                .zip(logs.iter_mut())
                .map(|(cmd, log)| scope.spawn(move || cmd.run_logged(log, deadline, cancel)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a step panicked"))))
                .collect()
        });
        for mut log in logs {
            use std::io::{Seek, SeekFrom};
            log.seek(SeekFrom::Start(0)).context("reading a step log")?;
            std::io::copy(&mut log, &mut self.log).context("appending a step log")?;
        }
        exits.into_iter().collect()
    }

    /// The command that installs requirement arguments (names, paths, `-r FILE`, flags),
    /// constrained to the resolution of the check's requirement set (see [`crate::resolve`]),
    /// into the check's venv (created first if it is not there yet).
    pub fn install_cmd(&mut self, args: &[String]) -> Result<Cmd> {
        let (constraints, _) = self.constrain(args)?;
        let exit = self.ensure_venv()?;
        if !exit.success() {
            anyhow::bail!("creating the check's venv failed ({exit:?}; see the log)");
        }
        Ok(self.plain_install_cmd(args, constraints))
    }

    fn plain_install_cmd(&mut self, args: &[String], constraints: Option<String>) -> Cmd {
        let mut args = args.to_vec();
        if let Some(c) = constraints {
            args.extend(["-c".to_string(), c]);
        }
        self.installed_more = true;
        crate::venv::install_cmd(self.installer, &self.python(), &self.src, &self.setup_env, &args)
    }

    /// Installs requirement arguments (names, paths, `-r FILE`, flags) into the venv. The first
    /// install into a fresh venv, when it is a resolved set of plain requirements, takes the
    /// environment built once for that resolution (see [`crate::venv::shared`]) as a private
    /// copy instead of installing.
    pub fn install(&mut self, args: &[String]) -> Result<Exit> {
        if args.is_empty() {
            return Ok(Exit::Code(0));
        }
        let (constraints, plain) = self.constrain(args)?;
        if !self.venv.exists() {
            if plain
                && let Some(c) = &constraints
                && let Some(exit) = self.install_shared(c)?
            {
                return Ok(exit);
            }
            let exit = self.ensure_venv()?;
            if !exit.success() {
                return Ok(exit);
            }
        }
        let cmd = self.plain_install_cmd(args, constraints);
        self.run(&cmd)
    }

    /// Creates the check's venv, empty, unless it is there already.
    pub fn ensure_venv(&mut self) -> Result<Exit> {
        if self.venv.exists() {
            return Ok(Exit::Code(0));
        }
        let builder = VenvBuilder {
            dir: self.venv.clone(),
            interp: self.interp,
            installer: self.installer,
            env: self.setup_env.clone(),
            cwd: self.src.clone(),
        };
        builder.create(&[], &mut self.log, self.deadline, self.cancel)
    }

    /// The venv as a private copy of the environment built for the resolution just made;
    /// `None` when there is no store or the copy failed (then the caller installs as usual).
    fn install_shared(&mut self, constraints: &str) -> Result<Option<Exit>> {
        let (Some(store), Installer::Uv(uv), Some(used)) =
            (self.envs.clone(), self.installer, self.resolver.used.last().cloned())
        else {
            return Ok(None);
        };
        let venv = self.venv.clone();
        match self.copy_of_shared(&store, uv, &used, Path::new(constraints), &venv, "environment")? {
            Some(Ok(base)) => {
                self.base = Some(base);
                Ok(Some(Exit::Code(0)))
            }
            Some(Err(exit)) => Ok(Some(exit)),
            None => Ok(None),
        }
    }

    /// A private copy, at `dest`, of the environment built once for `requirements` resolved on
    /// their own (a build's `build-system.requires`: not added to the check's set, but recorded
    /// with its resolutions). `None` when there is none to be had (pip, no store, a store that
    /// cannot be written, nothing resolvable): the caller does without; `Some(Err(exit))` when
    /// building it failed.
    pub fn separate_env(
        &mut self,
        requirements: &[String],
        dest: &Path,
    ) -> Result<Option<std::result::Result<Base, Exit>>> {
        let (Some(store), Installer::Uv(uv)) = (self.envs.clone(), self.installer) else { return Ok(None) };
        let python_version = self.resolver.python_version.clone();
        let compile = compiler(
            self.installer,
            &self.setup_env,
            &self.scratch,
            &python_version,
            self.deadline,
            self.cancel,
        );
        // Resolved on their own: the check's own set is put aside meanwhile.
        let own = std::mem::take(&mut self.resolver.requirements);
        let resolved = self.resolver.resolve(requirements, compile.as_ref(), &mut self.log);
        self.resolver.requirements = own;
        let used = match resolved {
            Ok(Some(used)) => used,
            Ok(None) => return Ok(None),
            Err(e) if crate::error::is_interrupted(&e) => {
                return Err(e);
            }
            // Requirements that do not resolve are for the build itself to fail on, as in CI.
            Err(e) => {
                self.note(&format!("the build environment could not be resolved ({e:#})"));
                return Ok(None);
            }
        };
        self.note(&format!("build environment resolved ({}): {}", used.source, used.packages.join(" ")));
        let constraints = self.scratch.join("hookgate-constraints-build.txt");
        std::fs::write(&constraints, used.packages.join("\n") + "\n")
            .with_context(|| format!("writing {}", constraints.display()))?;
        self.copy_of_shared(&store, uv, &used, &constraints, dest, "build environment")
    }

    /// A private copy, at `dest`, of the environment `store` holds for the resolution `used`
    /// (built now when it is not there), logged as `what`. `None` when the store cannot be
    /// used or the copy failed (the caller installs, or builds, without it); `Some(Err(exit))`
    /// when building the environment failed.
    fn copy_of_shared(
        &mut self,
        store: &Store,
        uv: &Path,
        used: &Used,
        constraints: &Path,
        dest: &Path,
        what: &str,
    ) -> Result<Option<std::result::Result<Base, Exit>>> {
        let spec = Spec {
            used,
            requirements: &used.requirements,
            constraints,
            interp: self.interp,
            uv,
            env: &self.setup_env,
        };
        let base = match store.ensure(&spec, &mut self.log, self.deadline, self.cancel) {
            Ok(Ok(base)) => base,
            Ok(Err(exit)) => return Ok(Some(Err(exit))),
            Err(e) if crate::error::is_interrupted(&e) => {
                return Err(e);
            }
            // A store that cannot be written (a read-only cache) costs the reuse, not the check.
            Err(e) => {
                self.note(&format!("environments cannot be shared ({e:#}): doing without"));
                return Ok(None);
            }
        };
        let started = Instant::now();
        match crate::venv::shared::link_copy(&base.dir, dest) {
            Ok(copied) => {
                let how =
                    if copied == 0 { "hard links".to_string() } else { format!("{copied} files copied") };
                let state = if base.built { "built now" } else { "reused, nothing installed" };
                self.note(&format!(
                    "{what} {} {state}: private copy in {:.3}s ({how})",
                    crate::venv::shared::short(&base.marker.id),
                    started.elapsed().as_secs_f64()
                ));
                Ok(Some(Ok(base)))
            }
            Err(e) => {
                self.note(&format!(
                    "could not copy the environment {} ({e}): doing without",
                    base.dir.display()
                ));
                std::fs::remove_dir_all(dest).ok();
                Ok(None)
            }
        }
    }

    /// Whether `base`, a shared environment this check has a copy of, is unchanged; one that
    /// changed (a file written in place through a link) is discarded.
    pub fn base_intact(&mut self, base: &Base) -> bool {
        let Some(store) = &self.envs else { return true };
        if store.still_intact(base) {
            return true;
        }
        self.note(&format!(
            "the shared environment {} changed while the check ran (a file written in place through \
             its private copy): discarded; the next run builds it anew",
            crate::venv::shared::short(&base.marker.id)
        ));
        false
    }

    /// After the run: whether the shared environment the venv was copied from is unchanged.
    pub fn shared_intact(&mut self) -> bool {
        match self.base.take() {
            Some(base) => {
                let intact = self.base_intact(&base);
                self.base = Some(base);
                intact
            }
            None => true,
        }
    }

    /// What the venv holds, when known without asking the installer: the shared base's list
    /// when nothing was installed beyond it, else the resolved set every install was held to
    /// and what was added to it (`None`: ask the installer).
    pub fn known_installed(&self) -> Option<Vec<String>> {
        if !self.installed_more {
            return self.base.as_ref().map(|b| b.marker.installed.clone());
        }
        let (held_to, added) = self.added.as_ref()?;
        Some(held_to.iter().chain(added).cloned().collect())
    }

    /// Notes what an install of `args` adds beyond the resolved set (see [`Invocation::added`]).
    fn note_added(&mut self, args: &[String], c: &crate::resolve::Contribution, resolved: bool) {
        let no_deps = args.iter().any(|a| a == "--no-deps");
        if c.locked || !resolved || (!c.as_written.is_empty() && !no_deps) {
            self.added = None;
            return;
        }
        let Some((held_to, added)) = self.added.as_mut() else { return };
        // The latest resolution holds everything installed before (the set is cumulative).
        if let Some(used) = self.resolver.used.last() {
            held_to.clone_from(&used.packages);
        }
        for a in args.iter().filter(|a| !a.starts_with('-')) {
            let file = a.split('[').next().unwrap_or(a);
            let name = Path::new(file).file_name().map(|n| n.to_string_lossy().to_string());
            match name.as_deref().and_then(|n| n.strip_suffix(".whl")) {
                Some(stem) => {
                    let mut parts = stem.split('-');
                    if let (Some(n), Some(v)) = (parts.next(), parts.next()) {
                        added.push(format!("{n}=={v}"));
                    }
                }
                None if c.as_written.iter().any(|w| w == a) => {
                    added.push(format!("{a} (without its dependencies)"));
                }
                None => {}
            }
        }
    }

    /// Adds what `args` install to the requirement set, resolves it and writes the constraints
    /// file the install is held to; `None` when nothing can be resolved ahead. The flag says
    /// whether `args` are plain requirements only (no path, URL, option or hashed lock), which
    /// a shared environment can hold.
    fn constrain(&mut self, args: &[String]) -> Result<(Option<String>, bool)> {
        let c = crate::resolve::contribution(args, &self.src, &self.scratch);
        for w in &c.as_written {
            self.note(&format!("installed as written, not resolved ahead: {w}"));
        }
        if c.locked {
            self.note("installing from a hashed lock file: its pins decide the versions");
            self.note_added(args, &c, false);
            self.resolver.requirements.extend(c.requirements);
            return Ok((None, false));
        }
        let mut options = args.iter().filter(|a| a.starts_with('-'));
        let plain = c.as_written.is_empty()
            && !c.requirements.is_empty()
            && options.all(|a| a == "-r" || a == "--requirement");
        if c.requirements.is_empty() && self.resolver.used.is_empty() {
            self.note_added(args, &c, false);
            return Ok((None, false));
        }
        let python_version = self.resolver.python_version.clone();
        let compile = compiler(
            self.installer,
            &self.setup_env,
            &self.scratch,
            &python_version,
            self.deadline,
            self.cancel,
        );
        let Some(used) = self.resolver.resolve(&c.requirements, compile.as_ref(), &mut self.log)? else {
            self.note(
                "not resolved ahead (resolving needs uv): the versions are whatever pip picks; \
                 the record lists what was installed",
            );
            self.note_added(args, &c, false);
            return Ok((None, false));
        };
        self.note_added(args, &c, true);
        self.note(&format!(
            "environment resolved ({}): {}",
            used.source,
            if used.packages.is_empty() { "nothing to pin".to_string() } else { used.packages.join(" ") }
        ));
        let path = self.scratch.join(format!("hookgate-constraints-{}.txt", self.resolver.used.len()));
        std::fs::write(&path, used.packages.join("\n") + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        Ok((Some(path.display().to_string()), plain))
    }

    /// Writes a line to the log.
    pub fn note(&mut self, line: &str) {
        writeln!(self.log, "hookgate: {line}").ok();
    }

    /// Writes a helper script into the scratch directory and returns its path.
    pub fn helper(&self, name: &str, content: &str) -> Result<PathBuf> {
        let path = self.scratch.join(name);
        std::fs::write(&path, content).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    /// The artifacts directory of the needed check `name`. Files that are not there (removed
    /// while this check waited) are an error, so a setup error, never this check's verdict.
    pub fn need_dir(&self, name: &str) -> Result<&Path> {
        let dir =
            self.needs.get(name).with_context(|| format!("check `{}` needs `{name}`", self.def.name))?;
        if !dir.is_dir() {
            anyhow::bail!("the files `{name}` keeps are not here ({}); run again", dir.display());
        }
        Ok(dir)
    }

    /// The files in the artifacts directory of the needed check `name`.
    pub fn needed_files(&self, name: &str) -> Result<Vec<PathBuf>> {
        list_files(self.need_dir(name)?)
    }
}

/// The files directly inside `dir`, sorted.
pub fn list_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(std::result::Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    Ok(files)
}
