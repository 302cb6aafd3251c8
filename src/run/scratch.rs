//! Scratch directories: one per check run, in `TMPDIR`, named `hookgate-<pid>-*` and holding a
//! marker file, with the exported tree (`src/`), the venv, a private `HOME` (`home/`) and
//! `TMPDIR` (`tmp/`), and the check's artifacts before they are kept. A `TempDir` owns each one, so every way out of a
//! run removes it; a run killed with SIGKILL cannot, so the next run sweeps what dead
//! processes left.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tempfile::TempDir;

use crate::error::Error;
use crate::git::{Repo, short};
use crate::process::Cancel;

/// One check's scratch directory.
pub struct Scratch {
    dir: TempDir,
}

impl Scratch {
    /// Creates a scratch directory under `tmp_root` and exports `tree` into its `src/`; a
    /// cancelled run stops exporting at once (the directory is removed on the way out).
    pub fn create(tmp_root: &Path, repo: &Repo, tree: git2::Oid, cancel: &Cancel) -> Result<Scratch> {
        std::fs::create_dir_all(tmp_root).ok();
        let dir = tempfile::Builder::new()
            .prefix(&format!("hookgate-{}-", std::process::id()))
            .tempdir_in(tmp_root)
            .with_context(|| format!("creating a scratch directory in {}", tmp_root.display()))?;
        let scratch = Scratch { dir };
        std::fs::write(scratch.path().join(MARKER), "").context("marking the scratch directory")?;
        std::fs::create_dir(scratch.src()).context("creating the snapshot directory")?;
        std::fs::create_dir(scratch.tmp()).context("creating the check's TMPDIR")?;
        std::fs::create_dir(scratch.artifacts()).context("creating the artifacts directory")?;
        let stop = || cancel.is_cancelled();
        match repo.export_until(tree, &scratch.src(), &stop) {
            Err(e) if matches!(e.downcast_ref::<Error>(), Some(Error::Interrupted)) => return Err(e),
            r => r.with_context(|| format!("exporting tree {}", short(tree)))?,
        }
        Ok(scratch)
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The exported tree.
    pub fn src(&self) -> PathBuf {
        self.path().join("src")
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

/// The file in every scratch directory hookgate made: the sweep removes nothing without it.
const MARKER: &str = ".hookgate-scratch";

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
            std::fs::remove_dir_all(e.path()).ok();
        }
    }
}
