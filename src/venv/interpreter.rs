//! Finding the interpreter and its facts (version, platform, real executable), which go into
//! every cache key, so this runs on the cached path. Facts are cached in
//! `<cache>/interpreters.json` only for a native binary (ELF, or Mach-O) that is its own
//! `sys.executable`, keyed by its path and identity (resolved path, device, inode, size,
//! mtime): a plain interpreter costs no process. A wrapper (a `#!` script, a shim) can switch
//! its target without changing itself, so its facts are never cached: a pyenv shim is resolved
//! by pyenv's rules (`pyenv.rs`), any other wrapper is asked for `sys.executable` on every run,
//! and the facts are then those of the real executable it names.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::pyenv;
use crate::cache::write_atomic;
use crate::env::HostEnv;
use crate::error::Error;
use crate::process::Cmd;

/// A Python interpreter and the facts that go into cache keys.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Interpreter {
    /// The interpreter as found (possibly a shim such as pyenv's).
    pub found: PathBuf,
    /// `sys.executable` of the interpreter the shim runs: venvs are built from it.
    pub executable: PathBuf,
    /// `sys.version` (what `python -VV` prints).
    pub version: String,
    /// `sysconfig.get_platform()`.
    pub platform: String,
    /// `sys.implementation.name` (`cpython`, `pypy`).
    #[serde(default)]
    pub implementation: String,
}

impl Interpreter {
    /// The release (`3.12.3`): the first word of `sys.version`.
    pub fn release(&self) -> &str {
        self.version.split_whitespace().next().unwrap_or_default()
    }
}

/// Bumped when the file's meaning changes: an older file is ignored, not misread.
const FACTS_SCHEMA: u32 = 3;

#[derive(Serialize, Deserialize, Default)]
struct FactsFile {
    #[serde(default)]
    schema: u32,
    #[serde(default)]
    interpreters: BTreeMap<String, CachedFacts>,
}

#[derive(Serialize, Deserialize, Clone)]
struct CachedFacts {
    identity: Identity,
    executable: PathBuf,
    version: String,
    platform: String,
    implementation: String,
}

/// Which file a path leads to, and which version of it: a rebuilt or replaced binary, or a
/// symlink pointed elsewhere, is another identity.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
struct Identity {
    resolved: PathBuf,
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
}

const PROBE: &str = "import sys, sysconfig; print(sys.version.replace(chr(10), ' ')); \
                     print(sysconfig.get_platform()); print(sys.executable); \
                     print(sys.implementation.name)";

/// Asked of a wrapper on every run: which interpreter it runs. `-S` skips `site` (the
/// answer does not depend on it, and it is most of start-up).
const WHICH: &str = "import sys; print(sys.executable)";

/// Finds the interpreter: `HOOKGATE_PYTHON`, else the config's `python`, else `python3` or
/// `python` on PATH, and its facts. `cwd` is where the user runs hookgate: a shim chooses
/// by it (`.python-version`).
pub fn find_interpreter(
    requested: Option<&str>,
    host: &HostEnv,
    cwd: &Path,
    cache_root: &Path,
) -> Result<Interpreter, Error> {
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
    let store = FactsStore::open(cache_root);
    // A pyenv shim names its interpreter by rules followed here without running bash.
    let target = pyenv::resolve(&found, host, cwd).unwrap_or_else(|| found.clone());
    let facts = match native_identity(&target) {
        Some(identity) => store.facts(&target, &identity, host, cwd)?,
        None => {
            // A wrapper: ask it which interpreter it runs, now; that one's facts may be cached.
            let real = ask(&target, &["-S", "-c", WHICH], host, cwd)
                .or_else(|| ask(&target, &["-c", WHICH], host, cwd))
                .and_then(|out| out.lines().next().map(PathBuf::from))
                .filter(|p| p.is_absolute());
            match real.as_ref().and_then(|r| Some((r, native_identity(r)?))) {
                Some((real, identity)) => store.facts(real, &identity, host, cwd)?,
                // It names nothing we can run directly: take the facts through it, uncached.
                None => probe(&target, host, cwd)?,
            }
        }
    };
    Ok(Interpreter { found, ..facts })
}

/// `interpreters.json`, read once per lookup.
struct FactsStore {
    path: PathBuf,
    file: FactsFile,
}

impl FactsStore {
    fn open(cache_root: &Path) -> FactsStore {
        let path = cache_root.join("interpreters.json");
        let file = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<FactsFile>(&b).ok())
            .filter(|f| f.schema == FACTS_SCHEMA)
            .unwrap_or_default();
        FactsStore { path, file }
    }

    /// The facts of the native binary at `exe`: cached while its identity holds, else probed
    /// (and kept when it is its own `sys.executable`).
    fn facts(
        mut self,
        exe: &Path,
        identity: &Identity,
        host: &HostEnv,
        cwd: &Path,
    ) -> Result<Interpreter, Error> {
        let key = exe.display().to_string();
        if let Some(c) = self.file.interpreters.get(&key)
            && c.identity == *identity
        {
            return Ok(Interpreter {
                found: exe.to_path_buf(),
                executable: c.executable.clone(),
                version: c.version.clone(),
                platform: c.platform.clone(),
                implementation: c.implementation.clone(),
            });
        }
        let facts = probe(exe, host, cwd)?;
        // As uv does: a binary that reports another `sys.executable` is a launcher that may
        // choose differently next time, so its answer is not kept.
        if native_identity(&facts.executable).is_some_and(|real| real.same_file(identity)) {
            self.file.schema = FACTS_SCHEMA;
            self.file.interpreters.insert(
                key,
                CachedFacts {
                    identity: identity.clone(),
                    executable: facts.executable.clone(),
                    version: facts.version.clone(),
                    platform: facts.platform.clone(),
                    implementation: facts.implementation.clone(),
                },
            );
            if let Ok(bytes) = serde_json::to_vec_pretty(&self.file) {
                // A cache of facts: failing to write it only costs the next run a probe.
                write_atomic(&self.path, &bytes).ok();
            }
        }
        Ok(facts)
    }
}

impl Identity {
    fn same_file(&self, other: &Identity) -> bool {
        self.dev == other.dev && self.ino == other.ino
    }
}

/// The identity of the file `path` leads to, when it is a native executable (not a script).
fn native_identity(path: &Path) -> Option<Identity> {
    let resolved = path.canonicalize().ok()?;
    let mut file = std::fs::File::open(&resolved).ok()?;
    let mut magic = [0u8; 4];
    file.read_exact(&mut magic).ok()?;
    // ELF; Mach-O (32/64-bit, either byte order) and universal binaries.
    let native = matches!(
        magic,
        [0x7f, b'E', b'L', b'F']
            | [0xfe, 0xed, 0xfa, 0xce | 0xcf]
            | [0xce | 0xcf, 0xfa, 0xed, 0xfe]
            | [0xca, 0xfe, 0xba, 0xbe]
    );
    let meta = file.metadata().ok()?;
    (native && meta.is_file()).then(|| Identity {
        resolved,
        dev: meta.dev(),
        ino: meta.ino(),
        size: meta.len(),
        mtime_ns: meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128,
    })
}

/// Runs `program args` from `cwd` and returns its output, `None` when it fails.
fn ask(program: &Path, args: &[&str], host: &HostEnv, cwd: &Path) -> Option<String> {
    Cmd::new(program.display().to_string(), args, cwd, host.interpreter_env()).capture()
}

/// Asks `program` for its facts.
fn probe(program: &Path, host: &HostEnv, cwd: &Path) -> Result<Interpreter, Error> {
    let shown = program.display();
    let out = ask(program, &["-c", PROBE], host, cwd).ok_or_else(|| {
        Error::Environment(format!(
            "the interpreter {shown} did not run (`{shown} -c ...` failed); install a working \
             CPython or set HOOKGATE_PYTHON"
        ))
    })?;
    let mut lines = out.lines();
    let (Some(version), Some(platform), Some(executable)) = (lines.next(), lines.next(), lines.next()) else {
        return Err(Error::Environment(format!("unexpected answer from {shown}: {out:?}")));
    };
    // An embedded or odd interpreter may not know its own path: build venvs from what we ran.
    let executable = if executable.is_empty() { program.to_path_buf() } else { PathBuf::from(executable) };
    Ok(Interpreter {
        found: program.to_path_buf(),
        executable,
        version: version.to_string(),
        platform: platform.to_string(),
        implementation: lines.next().unwrap_or_default().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_are_not_native_and_binaries_are() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("python3");
        std::fs::write(&script, "#!/bin/sh\nexec /usr/bin/python3 \"$@\"\n").unwrap();
        assert!(native_identity(&script).is_none());
        let sh = which::which("sh").unwrap();
        let id = native_identity(&sh).expect("sh is a native binary");
        assert_eq!(id.resolved, sh.canonicalize().unwrap());
    }

    #[test]
    fn an_older_facts_file_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("interpreters.json"),
            r#"{"interpreters": {"/x": {"size": 1, "mtime_ns": 2, "facts": {}}}}"#,
        )
        .unwrap();
        assert!(FactsStore::open(dir.path()).file.interpreters.is_empty());
    }
}
