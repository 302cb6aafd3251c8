//! Scratch directories: one per check run, in `TMPDIR`, named `hookgate-<pid>-*` and holding a
//! marker file, with the check's snapshot of the tree (`src/`, see [`super::snapshot`]), the
//! venv, a private `HOME` (`home/`) and `TMPDIR` (`tmp/`), and the check's artifacts before
//! they are kept. The run's blob store is one too. A dropped scratch directory goes to the
//! run's [`Trash`], which removes it on a thread of its own (a large tree's removal is not on
//! the way to the next check) and is emptied before the run returns; a run killed with SIGKILL
//! cannot, so the next run sweeps what dead processes left.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use anyhow::{Context, Result};

/// One check's scratch directory.
pub struct Scratch {
    dir: PathBuf,
    /// The checkout's name ([`checkout_name`]).
    name: String,
    trash: Trash,
}

/// Where a checkout of the tree goes, in a scratch directory or the persistent view:
/// `co/<name>` ([`checkout_name`]).
pub const CHECKOUT: &str = "co";

/// The name of a checkout of the tree: the repository's own directory's name (`<name>` of
/// `<name>/.git` or of a bare `<name>.git`), as CI checks a project out into a directory named
/// after its repository: a tool that matches names of the directories it runs in (ruff's
/// excludes) sees what it sees in CI. `src` when that name is not a plain one (letters, digits,
/// `.`, `_`, `-`, starting with a letter or digit).
pub fn checkout_name(common_dir: &Path) -> String {
    let common = common_dir.canonicalize().unwrap_or_else(|_| common_dir.to_path_buf());
    let dir = if common.file_name().is_some_and(|n| n == ".git") { common.parent() } else { Some(&*common) };
    let name =
        dir.and_then(Path::file_name).and_then(|n| n.to_str()).map(|n| n.strip_suffix(".git").unwrap_or(n));
    match name {
        Some(n)
            if n.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
                && n.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) =>
        {
            n.to_string()
        }
        _ => "src".to_string(),
    }
}

impl Scratch {
    /// Creates a scratch directory under `tmp_root` with an empty checkout directory
    /// (`co/<name>`), `tmp/` and `artifacts/`; it is handed to `trash` when dropped.
    pub fn create(tmp_root: &Path, trash: &Trash, name: &str) -> Result<Scratch> {
        let scratch = Scratch { dir: make_dir(tmp_root)?, name: name.to_string(), trash: trash.clone() };
        std::fs::create_dir_all(scratch.src()).context("creating the snapshot directory")?;
        std::fs::create_dir(scratch.tmp()).context("creating the check's TMPDIR")?;
        std::fs::create_dir(scratch.artifacts()).context("creating the artifacts directory")?;
        Ok(scratch)
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The exported tree.
    pub fn src(&self) -> PathBuf {
        self.path().join(CHECKOUT).join(&self.name)
    }

    /// The check's private `HOME` (made by `HostEnv::prepare_home`).
    pub fn home(&self) -> PathBuf {
        self.path().join("home")
    }

    /// The check's private `TMPDIR`.
    pub fn tmp(&self) -> PathBuf {
        self.path().join("tmp")
    }

    /// Where the check's venv goes.
    pub fn venv(&self) -> PathBuf {
        self.path().join("venv")
    }

    /// Where the check puts files for the checks that need it.
    pub fn artifacts(&self) -> PathBuf {
        self.path().join("artifacts")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        self.trash.put(self.dir.clone());
    }
}

/// Makes a new `hookgate-<pid>-*` directory under `tmp_root`, holding the marker.
pub fn make_dir(tmp_root: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(tmp_root).ok();
    let dir = tempfile::Builder::new()
        .prefix(&format!("hookgate-{}-", std::process::id()))
        .tempdir_in(tmp_root)
        .with_context(|| format!("creating a scratch directory in {}", tmp_root.display()))?
        .keep();
    if let Err(e) = std::fs::write(dir.join(MARKER), "") {
        std::fs::remove_dir_all(&dir).ok();
        return Err(e).context("marking the scratch directory");
    }
    Ok(dir)
}

/// The file in every scratch directory hookgate made: the sweep removes nothing without it.
const MARKER: &str = ".hookgate-scratch";

/// Removes a scratch directory, its marker last: a removal cut short (a SIGKILL) leaves a
/// directory the sweep still recognises. Anything else in its place (a symlink to a directory,
/// a file) is removed itself, never what it points to.
fn remove(dir: &Path) {
    if !std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
        std::fs::remove_file(dir).ok();
        return;
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_name() == MARKER {
                continue;
            }
            match e.file_type() {
                Ok(t) if t.is_dir() => std::fs::remove_dir_all(e.path()).ok(),
                _ => std::fs::remove_file(e.path()).ok(),
            };
        }
    }
    std::fs::remove_file(dir.join(MARKER)).ok();
    std::fs::remove_dir(dir).ok();
}

/// Where dropped scratch directories go: a queue a background thread empties (or, without
/// one, removal at once). Cloning shares the queue.
#[derive(Clone)]
pub struct Trash {
    queue: Option<Arc<Queue>>,
}

struct Queue {
    state: Mutex<(Vec<PathBuf>, bool)>,
    changed: Condvar,
}

/// The thread that removes what goes to a [`Trash`]; [`TrashBin::finish`] waits for it.
pub struct TrashBin {
    trash: Trash,
    thread: Option<JoinHandle<()>>,
}

impl Trash {
    /// Removes what is put in it at once, on the caller's thread.
    #[cfg(test)]
    pub fn immediate() -> Trash {
        Trash { queue: None }
    }

    /// Queues `dir` for removal (removes it now if the bin is closed or there is none).
    pub fn put(&self, dir: PathBuf) {
        if let Some(q) = &self.queue
            && let Ok(mut state) = q.state.lock()
            && !state.1
        {
            state.0.push(dir);
            q.changed.notify_all();
            return;
        }
        remove(&dir);
    }
}

impl TrashBin {
    /// Starts the removing thread (removal at once if no thread can be started).
    pub fn start() -> TrashBin {
        let queue = Arc::new(Queue { state: Mutex::new((Vec::new(), false)), changed: Condvar::new() });
        let q = queue.clone();
        let thread = std::thread::Builder::new()
            .name("hookgate-trash".into())
            .spawn(move || {
                loop {
                    let next = {
                        let Ok(mut state) = q.state.lock() else { return };
                        loop {
                            if let Some(d) = state.0.pop() {
                                break Some(d);
                            }
                            if state.1 {
                                break None;
                            }
                            match q.changed.wait(state) {
                                Ok(s) => state = s,
                                Err(_) => return,
                            }
                        }
                    };
                    match next {
                        Some(dir) => remove(&dir),
                        None => return,
                    }
                }
            })
            .ok();
        let trash = Trash { queue: thread.as_ref().map(|_| queue) };
        TrashBin { trash, thread }
    }

    /// A handle to put directories in.
    pub fn trash(&self) -> &Trash {
        &self.trash
    }

    /// Closes the bin and waits until everything put in it is removed.
    pub fn finish(mut self) {
        self.close();
    }

    fn close(&mut self) {
        if let Some(q) = &self.trash.queue
            && let Ok(mut state) = q.state.lock()
        {
            state.1 = true;
            q.changed.notify_all();
        }
        if let Some(t) = self.thread.take() {
            t.join().ok();
        }
    }
}

impl Drop for TrashBin {
    fn drop(&mut self) {
        self.close();
    }
}

/// Removes scratch directories left by hookgate processes that no longer exist (killed runs),
/// and only those: a `hookgate-<pid>-*` without the marker is someone else's.
pub fn sweep_stale(tmp_root: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp_root) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(rest) = name.strip_prefix("hookgate-") else { continue };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<i32>().ok()) else { continue };
        if pid == std::process::id() as i32 || !e.path().join(MARKER).is_file() {
            continue;
        }
        // SAFETY: kill(pid, 0) only asks whether the process exists.
        let alive = unsafe { libc::kill(pid, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
        if !alive {
            remove(&e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkout_is_named_after_the_repository() {
        let root = tempfile::tempdir().unwrap();
        let at = |p: &str| {
            let d = root.path().join(p);
            std::fs::create_dir_all(&d).unwrap();
            checkout_name(&d)
        };
        assert_eq!(at("my-pkg/.git"), "my-pkg");
        assert_eq!(at("mirror/my_pkg.git"), "my_pkg");
        assert_eq!(at("plain"), "plain");
        assert_eq!(at("with space/.git"), "src");
        assert_eq!(at("émoji/.git"), "src");
        assert_eq!(at("x/.git.git"), "src");
    }

    #[test]
    fn the_bin_removes_everything_put_in_it_before_finish_returns() {
        let root = tempfile::tempdir().unwrap();
        let bin = TrashBin::start();
        let dirs: Vec<PathBuf> = (0..5).map(|_| make_dir(root.path()).unwrap()).collect();
        for d in &dirs {
            std::fs::create_dir_all(d.join("src/a/b")).unwrap();
            std::fs::write(d.join("src/a/b/f"), "x").unwrap();
            bin.trash().put(d.clone());
        }
        bin.finish();
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
    }
}
