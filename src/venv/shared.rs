//! Environments built once and reused (issue #12). A check's first install into a fresh venv is,
//! with uv, a requirement set resolved to exact versions ([`crate::resolve`]); the environment
//! holding exactly that resolution is built once per user, in `~/.cache/hookgate/envs/<id>`
//! (or `$XDG_CACHE_HOME`), where `<id>` digests the resolution (its set and packages), the
//! interpreter (executable, `sys.version`, platform) and the installer. It is built as a
//! relocatable venv in a temp directory of the store, under the id's lock, and renamed into
//! place with a marker that holds a fingerprint of every file in it (path, size, mtime).
//!
//! A check never runs in the shared environment: it gets a private copy whose files are hard
//! links (a copy across filesystems), so what a check installs, removes or adds goes to its
//! copy. A file written in place through a link would reach the shared one: after the run the
//! fingerprint is taken again, and an environment that changed is discarded (the check's result
//! is then not a verdict). A directory without a valid marker, or whose files no longer match
//! it (a build killed half-way, a hand edit), is rebuilt, never trusted. `hookgate cache gc`
//! drops environments unused for as long as it keeps verdicts.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Interpreter;
use crate::error::Error;
use crate::process::{Cancel, Cmd, Exit};
use crate::resolve::Used;

/// The marker file at the root of a built environment.
const MARKER: &str = ".hookgate-env.json";

/// Bumped when the layout or the way environments are built changes.
const SCHEMA: u32 = 1;

/// What a built environment's marker holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Marker {
    /// [`SCHEMA`].
    pub schema: u32,
    /// The environment's id (its directory's name).
    pub id: String,
    /// The requirements it was built from.
    pub requirements: Vec<String>,
    /// `name==version` of what is installed (`uv pip freeze` once, at build), for records.
    pub installed: Vec<String>,
    /// Digest of every file's path, type, size and mtime (the marker excepted).
    pub fingerprint: String,
}

/// A built environment, valid when it was handed out.
#[derive(Debug, Clone)]
pub struct Base {
    /// Its directory.
    pub dir: PathBuf,
    /// Its marker.
    pub marker: Marker,
    /// Whether this run built it (else it was reused).
    pub built: bool,
}

/// What an environment is built from.
pub struct Spec<'a> {
    /// The resolution it holds.
    pub used: &'a Used,
    /// The requirements to install (the resolution's set).
    pub requirements: &'a [String],
    /// The constraints file holding the resolution.
    pub constraints: &'a Path,
    /// The interpreter.
    pub interp: &'a Interpreter,
    /// uv.
    pub uv: &'a Path,
    /// Environment of the setup commands (index settings).
    pub env: &'a BTreeMap<String, String>,
}

impl Spec<'_> {
    /// The environment's id: what decides its content.
    pub fn id(&self) -> String {
        let facts = serde_json::json!({
            "schema": SCHEMA,
            "set": self.used.set,
            "packages": self.used.id,
            "python": self.interp.executable,
            "version": self.interp.version,
            "platform": self.interp.platform,
            "uv": self.uv,
        });
        crate::plan::sha256_hex(facts.to_string().as_bytes())
    }
}

/// The per-user store of built environments.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// The store under `dir` (`<user cache>/hookgate/envs`).
    pub fn new(dir: PathBuf) -> Store {
        Store { dir }
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The environment for `spec`: the one already built when it is intact, else built now
    /// (logged into `log`). `Ok(Err(exit))` when a build step failed (a setup failure).
    pub fn ensure(
        &self,
        spec: &Spec<'_>,
        log: &mut File,
        deadline: Instant,
        cancel: &Cancel,
    ) -> Result<std::result::Result<Base, Exit>> {
        let id = spec.id();
        let dir = self.dir.join(&id);
        if let Some(marker) = valid(&dir, &id) {
            touch(&dir);
            return Ok(Ok(Base { dir, marker, built: false }));
        }
        std::fs::create_dir_all(&self.dir).with_context(|| format!("creating {}", self.dir.display()))?;
        let _lock = self.lock(&id, log, cancel)?;
        // Whoever held the lock may have built it meanwhile.
        if let Some(marker) = valid(&dir, &id) {
            touch(&dir);
            return Ok(Ok(Base { dir, marker, built: false }));
        }
        if std::fs::symlink_metadata(&dir).is_ok() {
            writeln!(
                log,
                "hookgate: environment {} in the cache is incomplete or changed: rebuilding it",
                short(&id)
            )
            .ok();
            remove_aside(&self.dir, &dir);
        }
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".build-{}-", std::process::id()))
            .tempdir_in(&self.dir)
            .context("creating a build directory for the environment")?;
        let venv = tmp.path().join("env");
        match build(spec, &venv, &id, log, deadline, cancel)? {
            Ok(marker) => {
                std::fs::rename(&venv, &dir)
                    .with_context(|| format!("moving the environment to {}", dir.display()))?;
                writeln!(
                    log,
                    "hookgate: environment {} built in the cache ({})",
                    short(&id),
                    self.dir.display()
                )
                .ok();
                Ok(Ok(Base { dir, marker, built: true }))
            }
            Err(exit) => Ok(Err(exit)),
        }
    }

    /// Whether `base` is still what was handed out; if it changed (a check wrote into it through
    /// a link), it is discarded and `false` returned.
    pub fn still_intact(&self, base: &Base) -> bool {
        if fingerprint(&base.dir) == base.marker.fingerprint {
            return true;
        }
        // No longer the environment handed out (`cache gc` dropped it, or it was found changed
        // and rebuilt meanwhile): what the check did to its copy reaches no one. A directory
        // without its marker is never reused either.
        if read_marker(&base.dir).is_none_or(|m| m.fingerprint != base.marker.fingerprint) {
            return true;
        }
        // Under the lock, so a build in progress is not moved away.
        let cancel = Cancel::default();
        let Ok(mut sink) = tempfile::tempfile() else { return false };
        if let Ok(_lock) = self.lock(&base.marker.id, &mut sink, &cancel) {
            let current: Option<Marker> = read_marker(&base.dir);
            if current.is_some_and(|m| m.fingerprint == base.marker.fingerprint) {
                remove_aside(&self.dir, &base.dir);
            }
        }
        false
    }

    /// Takes the id's build lock, waiting (and saying so) while another process builds it.
    fn lock(&self, id: &str, log: &mut File, cancel: &Cancel) -> Result<File> {
        let path = self.dir.join(format!("{id}.lock"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        let mut said = false;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(file),
                Err(std::fs::TryLockError::WouldBlock) => {
                    if !said {
                        writeln!(log, "hookgate: waiting for environment {}, which another check or process is building", short(id))
                            .ok();
                        said = true;
                    }
                    if cancel.is_cancelled() {
                        return Err(Error::Interrupted.into());
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(e).with_context(|| format!("locking {}", path.display()));
                }
            }
        }
    }
}

/// Builds the environment in `venv`: a relocatable venv, the requirements held to the
/// resolution, the marker.
fn build(
    spec: &Spec<'_>,
    venv: &Path,
    id: &str,
    log: &mut File,
    deadline: Instant,
    cancel: &Cancel,
) -> Result<std::result::Result<Marker, Exit>> {
    let uv = spec.uv.display().to_string();
    let cwd = venv.parent().context("the build directory has a parent")?;
    let py = venv.join("bin").join("python").display().to_string();
    let exe = spec.interp.executable.display().to_string();
    let dest = venv.display().to_string();
    let create =
        Cmd::new(&uv, &["venv", "--quiet", "--relocatable", "--python", &exe, &dest], cwd, spec.env.clone());
    let exit = create.run_logged(log, deadline, cancel)?;
    if !exit.success() {
        return Ok(Err(exit));
    }
    let constraints = spec.constraints.display().to_string();
    // Copied out of uv's cache, not linked: a write through a check's copy reaches this
    // environment at most, never uv's cache, so discarding it is enough.
    let install = Cmd::new(
        &uv,
        &["pip", "install", "--quiet", "--link-mode", "copy", "--python", &py],
        cwd,
        spec.env.clone(),
    )
    .args(spec.requirements.iter().cloned())
    .args(["-c".to_string(), constraints]);
    let exit = install.run_logged(log, deadline, cancel)?;
    if !exit.success() {
        return Ok(Err(exit));
    }
    let freeze = Cmd::new(&uv, &["pip", "freeze", "--python", &py], cwd, spec.env.clone());
    let installed = freeze.capture().map(|s| s.lines().map(str::to_string).collect()).unwrap_or_default();
    let marker = Marker {
        schema: SCHEMA,
        id: id.to_string(),
        requirements: spec.requirements.to_vec(),
        installed,
        fingerprint: fingerprint(venv),
    };
    let tmp = venv.join(".marker.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&marker)?).context("writing the environment's marker")?;
    std::fs::rename(&tmp, venv.join(MARKER)).context("writing the environment's marker")?;
    Ok(Ok(marker))
}

/// The first 12 characters of an environment id, as logs show it.
pub fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

fn read_marker(dir: &Path) -> Option<Marker> {
    std::fs::read(dir.join(MARKER)).ok().and_then(|b| serde_json::from_slice(&b).ok())
}

/// The marker of `dir` when the environment there is complete and unchanged.
fn valid(dir: &Path, id: &str) -> Option<Marker> {
    let m = read_marker(dir)?;
    let ok = m.schema == SCHEMA
        && m.id == id
        && dir.join("bin").join("python").is_file()
        && fingerprint(dir) == m.fingerprint;
    ok.then_some(m)
}

/// Marks an environment as used now (its marker's mtime), for the garbage collector.
fn touch(dir: &Path) {
    if let Ok(f) = File::options().append(true).open(dir.join(MARKER)) {
        f.set_modified(SystemTime::now()).ok();
    }
}

/// Moves `dir` out of the way (a rename, atomic for readers) and removes it.
fn remove_aside(store: &Path, dir: &Path) {
    let aside = store.join(format!(
        ".trash-{}-{}",
        std::process::id(),
        dir.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default()
    ));
    if std::fs::rename(dir, &aside).is_ok() {
        std::fs::remove_dir_all(&aside).ok();
    } else {
        std::fs::remove_dir_all(dir).ok();
    }
}

/// Digest of every entry under `dir` but the marker: relative path, type, size, mtime (and a
/// link's target). A file written in place changes its mtime, through any of its links.
pub fn fingerprint(dir: &Path) -> String {
    fn walk(base: &Path, dir: &Path, h: &mut Sha256) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            h.update(b"unreadable\0");
            return;
        };
        let mut entries: Vec<std::fs::DirEntry> = rd.flatten().collect();
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for e in entries {
            let path = e.path();
            let rel = path.strip_prefix(base).unwrap_or(&path);
            if rel == Path::new(MARKER) {
                continue;
            }
            let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
            h.update(rel.as_os_str().as_encoded_bytes());
            if meta.is_dir() {
                h.update(b"\0d\0");
                walk(base, &path, h);
            } else if meta.is_symlink() {
                h.update(b"\0l\0");
                if let Ok(t) = std::fs::read_link(&path) {
                    h.update(t.as_os_str().as_encoded_bytes());
                }
            } else {
                h.update(
                    format!("\0f\0{}\0{}\0{}\0", meta.len(), meta.mtime(), meta.mtime_nsec()).as_bytes(),
                );
            }
        }
    }
    let mut h = Sha256::new();
    walk(dir, dir, &mut h);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Makes `to` a private copy of the environment `from`: directories made anew, files hard
/// linked (copied when linking fails, e.g. across filesystems), symlinks recreated; the marker
/// is left out. Returns how many files had to be copied.
pub fn link_copy(from: &Path, to: &Path) -> std::io::Result<usize> {
    fn copy(from: &Path, to: &Path, root: bool) -> std::io::Result<usize> {
        std::fs::create_dir(to)?;
        let mut copied = 0;
        for e in std::fs::read_dir(from)? {
            let e = e?;
            let (src, dst) = (e.path(), to.join(e.file_name()));
            let ty = e.file_type()?;
            if ty.is_dir() {
                copied += copy(&src, &dst, false)?;
            } else if ty.is_symlink() {
                std::os::unix::fs::symlink(std::fs::read_link(&src)?, &dst)?;
            } else if root && e.file_name() == MARKER {
                continue;
            } else if std::fs::hard_link(&src, &dst).is_err() {
                std::fs::copy(&src, &dst)?;
                copied += 1;
            }
        }
        Ok(copied)
    }
    copy(from, to, true)
}

/// What [`collect`] removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Collected {
    /// Environments removed.
    pub envs: usize,
    /// Bytes freed (hard links shared with a live copy count too).
    pub bytes: u64,
}

/// Removes environments not used for `max_age`, and what builds and discards of processes
/// that no longer run left behind. An environment being built holds its lock and stays.
pub fn collect(store: &Path, max_age: Duration, dry_run: bool) -> Collected {
    let mut out = Collected::default();
    let Ok(rd) = std::fs::read_dir(store) else { return out };
    let now = SystemTime::now();
    for e in rd.flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().to_string();
        if let Some(rest) = name.strip_prefix(".build-").or_else(|| name.strip_prefix(".trash-")) {
            let pid = rest.split('-').next().and_then(|p| p.parse::<i32>().ok());
            if pid.is_some_and(|p| !alive(p)) && !dry_run {
                std::fs::remove_dir_all(&path).ok();
            }
            continue;
        }
        let id = name.as_str();
        if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        let used =
            std::fs::metadata(path.join(MARKER)).and_then(|m| m.modified()).unwrap_or(SystemTime::UNIX_EPOCH);
        if now.duration_since(used).unwrap_or_default() <= max_age {
            continue;
        }
        let lock_path = store.join(format!("{id}.lock"));
        let lock = File::options().create(true).truncate(false).write(true).open(&lock_path);
        let Ok(lock) = lock else { continue };
        if lock.try_lock().is_err() {
            continue;
        }
        out.envs += 1;
        out.bytes += size(&path);
        if !dry_run {
            remove_aside(store, &path);
            std::fs::remove_file(&lock_path).ok();
        }
    }
    out
}

fn size(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else { return 0 };
    if !meta.is_dir() {
        return meta.len();
    }
    std::fs::read_dir(path).into_iter().flatten().flatten().map(|e| size(&e.path())).sum()
}

fn alive(pid: i32) -> bool {
    // SAFETY: kill(pid, 0) only asks whether the process exists.
    unsafe { libc::kill(pid, 0) == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_environment_is_never_shared_across_interpreters_resolutions_or_installers() {
        let used = Used {
            set: "s".into(),
            id: "p".into(),
            source: String::new(),
            requirements: vec!["ruff".into()],
            packages: vec!["ruff==1".into()],
        };
        let interp = Interpreter {
            found: "/py/bin/python3".into(),
            executable: "/py/bin/python3".into(),
            version: "3.12.1".into(),
            platform: "linux-x86_64".into(),
            implementation: "cpython".into(),
        };
        let env = BTreeMap::new();
        let spec = |used: &Used, interp: &Interpreter, uv: &str| {
            Spec {
                used,
                requirements: &[],
                constraints: Path::new("c"),
                interp,
                uv: Path::new(uv),
                env: &env,
            }
            .id()
        };
        let base = spec(&used, &interp, "/uv");
        assert_eq!(base, spec(&used, &interp, "/uv"));
        let other_python = Interpreter { version: "3.12.2".into(), ..interp.clone() };
        let other_packages = Used { id: "q".into(), ..used.clone() };
        assert_ne!(base, spec(&used, &other_python, "/uv"));
        assert_ne!(base, spec(&other_packages, &interp, "/uv"));
        assert_ne!(base, spec(&used, &interp, "/other/uv"));
    }

    #[test]
    fn a_private_copy_shares_files_but_not_directories() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("base");
        std::fs::create_dir_all(base.join("lib/site")).unwrap();
        std::fs::write(base.join("pyvenv.cfg"), "home = /x\n").unwrap();
        std::fs::write(base.join("lib/site/mod.py"), "x = 1\n").unwrap();
        std::fs::write(base.join(MARKER), "{}").unwrap();
        std::os::unix::fs::symlink("/usr/bin/python3", base.join("python")).unwrap();
        let before = fingerprint(&base);
        let copy = dir.path().join("copy");
        assert_eq!(link_copy(&base, &copy).unwrap(), 0);
        assert!(!copy.join(MARKER).exists(), "the marker stays with the shared environment");
        assert_eq!(std::fs::read_link(copy.join("python")).unwrap(), Path::new("/usr/bin/python3"));
        // Adding and removing files in the copy leaves the shared one as it was.
        std::fs::write(copy.join("lib/site/new.py"), "").unwrap();
        std::fs::remove_file(copy.join("lib/site/mod.py")).unwrap();
        assert_eq!(fingerprint(&base), before);
        assert_eq!(fingerprint(&copy), fingerprint(&copy));
        // Writing in place through a link is seen.
        let again = dir.path().join("again");
        link_copy(&base, &again).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(again.join("lib/site/mod.py"))
            .unwrap()
            .write_all(b"y")
            .unwrap();
        assert_ne!(fingerprint(&base), before);
    }
}
