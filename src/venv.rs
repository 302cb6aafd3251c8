//! Interpreters and virtualenvs. Finding the interpreter is on the cached path, so its facts
//! (version, platform, real executable) are cached by resolved path, size and mtime: computing
//! a key never spawns Python. Venvs are made by `uv venv` + `uv pip install`, or, when uv is not
//! found, by `python -m venv` + pip.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::cache::write_atomic;
use crate::env::HostEnv;
use crate::error::Error;
use crate::process::{Cancel, Cmd, Exit};

/// A Python interpreter and the facts that go into cache keys.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Interpreter {
    /// The interpreter as found (possibly a shim such as pyenv's).
    pub found: PathBuf,
    /// `sys.executable`: the real binary, used to build venvs without the shim's cost.
    pub executable: PathBuf,
    /// `sys.version` (what `python -VV` prints).
    pub version: String,
    /// `sysconfig.get_platform()`.
    pub platform: String,
}

#[derive(Serialize, Deserialize, Default)]
struct FactsFile {
    #[serde(default)]
    interpreters: BTreeMap<String, CachedFacts>,
}

#[derive(Serialize, Deserialize, Clone)]
struct CachedFacts {
    size: u64,
    mtime_ns: i128,
    facts: Interpreter,
}

const PROBE: &str = "import sys, sysconfig; print(sys.version.replace(chr(10), ' ')); \
                     print(sysconfig.get_platform()); print(sys.executable)";

/// Finds the interpreter: `HOOKGATE_PYTHON`, else the config's `python`, else `python3` or
/// `python` on PATH; its facts come from `<cache>/interpreters.json` when still valid.
pub fn find_interpreter(
    requested: Option<&str>,
    host: &HostEnv,
    cache_root: &Path,
) -> Result<Interpreter, Error> {
    let cwd = std::path::Path::new("/");
    let candidates: Vec<&str> = match host.python.as_deref().or(requested) {
        Some(r) => vec![r],
        None => vec!["python3", "python"],
    };
    let found = candidates
        .iter()
        .find_map(|name| which::which_in(name, Some(host.path()), cwd).ok())
        .ok_or_else(|| {
            Error::Environment(format!(
                "no Python interpreter found (looked for {} on PATH). Install CPython 3.8 or newer \
                 (e.g. `apt-get install python3`, or `uv python install`), or point \
                 HOOKGATE_PYTHON at one",
                candidates.join(", ")
            ))
        })?;
    let meta = std::fs::metadata(&found)
        .map_err(|e| Error::Environment(format!("cannot stat the interpreter {}: {e}", found.display())))?;
    let mtime_ns = meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128;
    let facts_path = cache_root.join("interpreters.json");
    let mut file: FactsFile =
        std::fs::read(&facts_path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
    let id = found.display().to_string();
    if let Some(c) = file.interpreters.get(&id)
        && c.size == meta.len()
        && c.mtime_ns == mtime_ns
    {
        return Ok(c.facts.clone());
    }
    let probe = Cmd::new(found.display().to_string(), &["-c", PROBE], cwd, host.interpreter_env());
    let out = probe.capture().ok_or_else(|| {
        Error::Environment(format!(
            "the interpreter {} did not run (`{} -c ...` failed); install a working CPython or \
             set HOOKGATE_PYTHON",
            found.display(),
            found.display()
        ))
    })?;
    let mut lines = out.lines();
    let (Some(version), Some(platform), Some(executable)) = (lines.next(), lines.next(), lines.next()) else {
        return Err(Error::Environment(format!("unexpected answer from {}: {out:?}", found.display())));
    };
    let facts = Interpreter {
        found: found.clone(),
        executable: PathBuf::from(executable),
        version: version.to_string(),
        platform: platform.to_string(),
    };
    file.interpreters.insert(id, CachedFacts { size: meta.len(), mtime_ns, facts: facts.clone() });
    if let Ok(bytes) = serde_json::to_vec_pretty(&file) {
        // A cache of facts: failing to write it only costs the next run a probe.
        write_atomic(&facts_path, &bytes).ok();
    }
    Ok(facts)
}

/// What installs packages into venvs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Installer {
    /// uv at this path.
    Uv(PathBuf),
    /// `python -m venv` and pip (uv not found).
    Pip,
}

/// Finds uv: `HOOKGATE_UV` (`none` forces pip), else beside the interpreter's real executable
/// (where `pip install uv` puts it, skipping slow shims), else on PATH.
pub fn find_installer(interp: &Interpreter, host: &HostEnv) -> Installer {
    match host.uv.as_deref() {
        Some("none") => return Installer::Pip,
        Some(p) => {
            if let Ok(p) = which::which_in(p, Some(host.path()), Path::new("/")) {
                return Installer::Uv(p);
            }
        }
        None => {}
    }
    if let Some(dir) = interp.executable.parent() {
        let beside = dir.join("uv");
        if beside.is_file() {
            return Installer::Uv(beside);
        }
    }
    match which::which_in("uv", Some(host.path()), Path::new("/")) {
        Ok(p) => Installer::Uv(p),
        Err(_) => Installer::Pip,
    }
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
            Installer::Pip => self.cmd(&self.interp.executable, &["-m", "venv", &dir]),
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
        Installer::Pip => Cmd::new(
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
        Installer::Pip => {
            Cmd::new(&python, &["-m", "pip", "freeze", "--disable-pip-version-check"], venv, env.clone())
        }
    };
    cmd.capture().map(|s| s.lines().map(str::to_string).collect()).unwrap_or_default()
}
