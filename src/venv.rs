//! Interpreters and virtualenvs. Finding the interpreter is on the cached path, so it spawns
//! nothing for a plain interpreter (`interpreter.rs`; pyenv shims are resolved by pyenv's rules
//! in `pyenv.rs`). Venvs are made by `uv venv` + `uv pip install`, or, when no working uv is
//! found, by `python -m venv` + pip. With uv, an environment that holds exactly a resolved
//! requirement set is built once and each check gets a private hard-linked copy (`shared.rs`).

mod interpreter;
mod pyenv;
pub mod shared;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};

use crate::env::HostEnv;
use crate::process::{Cancel, Cmd, Exit};

pub use interpreter::{Interpreter, find_interpreter};

/// What installs packages into venvs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Installer {
    /// uv at this path.
    Uv(PathBuf),
    /// `python -m venv` and pip, and why not uv (said in every log that uses it).
    Pip {
        /// `HOOKGATE_UV=none`, uv not found, or which uv did not run.
        why: String,
    },
}

/// Finds uv: `HOOKGATE_UV` (`none` forces pip), else beside the interpreter's real executable
/// (where `pip install uv` puts it, skipping slow shims), else on PATH. A uv that does not run
/// (a pyenv shim for a version without uv exits 127) counts as missing: a candidate that is
/// not a native executable is asked `uv --version`, so this belongs on the miss path only.
pub fn find_installer(interp: &Interpreter, host: &HostEnv) -> Installer {
    let root = Path::new("/");
    let mut candidates: Vec<PathBuf> = Vec::new();
    let mut unusable: Vec<String> = Vec::new();
    match host.uv.as_deref() {
        Some("none") => return Installer::Pip { why: "HOOKGATE_UV=none".into() },
        Some(p) => match which::which_in(p, Some(host.path()), root) {
            Ok(p) => candidates.push(p),
            Err(_) => unusable.push(format!("HOOKGATE_UV={p} was not found")),
        },
        None => {}
    }
    if let Some(dir) = interp.executable.parent() {
        let beside = dir.join("uv");
        if beside.is_file() {
            candidates.push(beside);
        }
    }
    if let Ok(p) = which::which_in("uv", Some(host.path()), root) {
        candidates.push(p);
    }
    let mut tried: Vec<PathBuf> = Vec::new();
    for uv in candidates {
        if tried.contains(&uv) {
            continue;
        }
        // uv ships as a native executable, which runs; what may not is a wrapper (a pyenv shim
        // for a version without uv exits 127), so only a script is asked.
        if is_native_executable(&uv) {
            return Installer::Uv(uv);
        }
        let probe = Cmd::new(uv.display().to_string(), &["--version"], root, host.interpreter_env());
        if probe.capture().is_some() {
            return Installer::Uv(uv);
        }
        unusable.push(format!("{} did not run (`uv --version` failed)", uv.display()));
        tried.push(uv);
    }
    let why = if unusable.is_empty() { "uv was not found".to_string() } else { unusable.join("; ") };
    Installer::Pip { why }
}

/// Whether `path` resolves to an executable ELF file (not a `#!` script).
fn is_native_executable(path: &Path) -> bool {
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;
    let Ok(real) = std::fs::canonicalize(path) else { return false };
    let executable =
        std::fs::metadata(&real).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    let mut magic = [0u8; 4];
    executable && File::open(&real).and_then(|mut f| f.read_exact(&mut magic)).is_ok() && &magic == b"\x7fELF"
}

/// A venv being prepared for one check; every step is logged into the check's log.
pub struct VenvBuilder<'a> {
    /// Where the venv goes.
    pub dir: PathBuf,
    /// Interpreter it is made from.
    pub interp: &'a Interpreter,
    /// uv or pip.
    pub installer: &'a Installer,
    /// Environment for the setup commands.
    pub env: BTreeMap<String, String>,
    /// Where setup commands run: the snapshot's root, so `deps = ["."]` means the tree's package.
    pub cwd: PathBuf,
}

impl VenvBuilder<'_> {
    /// The venv's interpreter.
    pub fn python(&self) -> PathBuf {
        self.dir.join("bin").join("python")
    }

    fn cmd(&self, program: &Path, args: &[&str]) -> Cmd {
        Cmd::new(program.display().to_string(), args, &self.cwd, self.env.clone())
    }

    /// Creates the venv and installs `deps`; returns the first step that did not succeed.
    pub fn create(
        &self,
        deps: &[String],
        log: &mut File,
        deadline: Instant,
        cancel: &Cancel,
    ) -> Result<Exit> {
        let dir = self.dir.display().to_string();
        let exe = self.interp.executable.display().to_string();
        let mut steps = vec![match self.installer {
            Installer::Uv(uv) => self.cmd(uv, &["venv", "--quiet", "--python", &exe, &dir]),
            Installer::Pip { why } => {
                writeln!(log, "hookgate: using python -m venv and pip: {why}").context("writing the log")?;
                self.cmd(&self.interp.executable, &["-m", "venv", &dir])
            }
        }];
        if !deps.is_empty() {
            steps.push(install_cmd(self.installer, &self.python(), &self.cwd, &self.env, deps));
        }
        for step in steps {
            let exit = step.run_logged(log, deadline, cancel)?;
            if !exit.success() {
                return Ok(exit);
            }
        }
        Ok(Exit::Code(0))
    }
}

/// The one command line that installs requirement arguments (names, paths, `-r FILE`, flags)
/// into the venv whose interpreter is `python`.
pub fn install_cmd(
    installer: &Installer,
    python: &Path,
    cwd: &Path,
    env: &BTreeMap<String, String>,
    args: &[String],
) -> Cmd {
    let py = python.display().to_string();
    let cmd = match installer {
        Installer::Uv(uv) => Cmd::new(
            uv.display().to_string(),
            &["pip", "install", "--quiet", "--python", &py],
            cwd,
            env.clone(),
        ),
        Installer::Pip { .. } => Cmd::new(
            &py,
            &["-m", "pip", "install", "--quiet", "--disable-pip-version-check"],
            cwd,
            env.clone(),
        ),
    };
    cmd.args(args.iter().cloned())
}

/// `name==version` of everything installed in the venv at `venv`, for the record (empty when
/// it cannot tell).
pub fn freeze(venv: &Path, installer: &Installer, env: &BTreeMap<String, String>) -> Vec<String> {
    let python = venv.join("bin").join("python").display().to_string();
    let cmd = match installer {
        Installer::Uv(uv) => {
            Cmd::new(uv.display().to_string(), &["pip", "freeze", "--python", &python], venv, env.clone())
        }
        Installer::Pip { .. } => {
            Cmd::new(&python, &["-m", "pip", "freeze", "--disable-pip-version-check"], venv, env.clone())
        }
    };
    cmd.capture().map(|s| s.lines().map(str::to_string).collect()).unwrap_or_default()
}
