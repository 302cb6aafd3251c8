//! One export per tree (#12 item 2). A run validates the tree once ([`Repo::export_plan`]) and
//! keeps a blob store in a scratch-like directory of the tmp root (`hookgate-<pid>-*/blobs/`):
//! one file per blob and exec bit, written from git the first time a check needs it, with an
//! mtime in the past. Each check's `src/` is a farm: directories made fresh (so a check can
//! create, rename and delete files), files hard-linked from the store (written from git
//! instead when a link cannot be made: another filesystem, too many links, a dropped blob),
//! symlinks last. The store is under the tmp root, beside the scratch directories, so links
//! work wherever the tmp root is; it is removed when the run ends.
//!
//! A hard link shares the inode: a check that writes into a tracked file in place (`O_TRUNC`,
//! `chmod` then write) would change what every other check sees. Each store file's inode,
//! size, mode and mtime are recorded when it is written and compared when a check that linked
//! it ends: a changed file is dropped from the store (later checks get their own copy from
//! git), and every check that linked it and had not yet ended — the writer and any reader —
//! is not given a verdict from that run: the worker runs it again on a private export. Renaming
//! over a file or deleting it (`sed -i`, editors, build tools) touches only the check's farm.

use std::collections::{HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use git2::Oid;
use globset::{Glob, GlobSetBuilder};

use super::scratch::{Scratch, Trash, make_dir};
use super::view::View;
use crate::config::Snapshot as SnapshotMode;
use crate::error::Error;
use crate::git::{ExportItem, Repo, short};
use crate::plan::PlannedCheck;
use crate::process::Cancel;

/// The run's export of its tree, made by the first check that needs it.
pub struct Exports {
    tmp_root: PathBuf,
    tree: Oid,
    trash: Trash,
    store: Mutex<Option<Arc<Store>>>,
    /// The checkouts' name ([`super::scratch::checkout_name`]).
    name: String,
    /// The persistent view, once asked for: `None` inside when it could not be had.
    view: Mutex<Option<Option<Arc<View>>>>,
}

impl Exports {
    /// Nothing exported yet; scratch directories go under `tmp_root`, and are removed by `trash`.
    pub fn new(tmp_root: &Path, tree: Oid, trash: Trash, name: String) -> Exports {
        Exports {
            tmp_root: tmp_root.to_path_buf(),
            tree,
            trash,
            name,
            store: Mutex::new(None),
            view: Mutex::new(None),
        }
    }

    /// A scratch directory for a check that only reads the tree, whose snapshot is the
    /// persistent view ([`View`]), brought to the run's tree by the first check that asks;
    /// `None` when the view cannot be had (another process holds it).
    pub fn in_view(&self, repo: &Repo, cancel: &Cancel) -> Result<Option<Snapshot>> {
        let view = {
            let mut slot = self.view.lock().map_err(|_| anyhow::anyhow!("a worker thread panicked"))?;
            if slot.is_none() {
                let stop = || cancel.is_cancelled();
                let opened = match View::open(
                    &self.tmp_root,
                    repo.common_dir(),
                    &self.name,
                    repo,
                    self.tree,
                    &self.trash,
                    &stop,
                ) {
                    Err(e) if crate::error::is_interrupted(&e) => {
                        return Err(e);
                    }
                    r => r.with_context(|| {
                        format!("checking out tree {} in the persistent view", short(self.tree))
                    })?,
                };
                *slot = Some(opened.map(Arc::new));
            }
            slot.clone().flatten()
        };
        let Some(view) = view else { return Ok(None) };
        let scratch = Scratch::create(&self.tmp_root, &self.trash, &self.name)?;
        Ok(Some(Snapshot { scratch, src: view.src(), shared: Shared::View(view) }))
    }

    /// A scratch directory for `c` whose `src/` holds the tree (or, with `snapshot = "inputs"`,
    /// what its `inputs` select): hard links into the run's store, or all files written anew
    /// when `private`. A cancelled run stops at once (the directory is removed on the way out).
    pub fn scratch(&self, repo: &Repo, c: &PlannedCheck, private: bool, cancel: &Cancel) -> Result<Snapshot> {
        let stop = || cancel.is_cancelled();
        let store = self.store(repo, &stop)?;
        let selected = match c.def.snapshot {
            SnapshotMode::Tree => None,
            SnapshotMode::Inputs => Some(store.select(&c.def.inputs)?),
        };
        std::fs::create_dir_all(&self.tmp_root).ok();
        let scratch = Scratch::create(&self.tmp_root, &self.trash, &self.name)?;
        let linked = match store.materialise(repo, &scratch.src(), selected.as_deref(), !private, &stop) {
            Err(e) if crate::error::is_interrupted(&e) => return Err(e),
            r => r.with_context(|| format!("exporting tree {}", short(self.tree)))?,
        };
        Ok(Snapshot { src: scratch.src(), scratch, shared: Shared::Store(store, linked) })
    }

    /// The store, planned (the whole tree validated) by the first caller.
    fn store(&self, repo: &Repo, stop: &dyn Fn() -> bool) -> Result<Arc<Store>> {
        let mut slot = self.store.lock().map_err(|_| anyhow::anyhow!("a worker thread panicked"))?;
        if let Some(s) = &*slot {
            return Ok(s.clone());
        }
        let items = match repo.export_plan(self.tree, stop) {
            Err(e) if crate::error::is_interrupted(&e) => return Err(e),
            r => r.with_context(|| format!("exporting tree {}", short(self.tree)))?,
        };
        std::fs::create_dir_all(&self.tmp_root).ok();
        let dir = make_dir(&self.tmp_root)?;
        let store = Arc::new(Store::new(items, dir, self.trash.clone()));
        std::fs::create_dir(store.blobs_dir()).context("creating the blob store")?;
        *slot = Some(store.clone());
        Ok(store)
    }
}

/// A check's scratch directory with its snapshot, and what the snapshot shares.
pub struct Snapshot {
    /// The scratch directory.
    pub scratch: Scratch,
    /// Where the tree is: the scratch's `src/`, or the persistent view.
    src: PathBuf,
    shared: Shared,
}

/// What a snapshot shares with other checks.
enum Shared {
    /// Links into the run's store (these blobs).
    Store(Arc<Store>, Vec<usize>),
    /// The persistent view.
    View(Arc<View>),
}

impl Snapshot {
    /// Where the check finds the tree.
    pub fn src(&self) -> &Path {
        &self.src
    }

    /// Whether every shared file is as it was written; a changed one is dropped from the store
    /// (or spoils the view). Call it once the check's processes have ended.
    pub fn intact(&self) -> bool {
        match &self.shared {
            Shared::Store(store, linked) => store.intact(linked),
            Shared::View(view) => view.intact(),
        }
    }

    /// Whether it shares files with other checks (or runs).
    pub fn shares(&self) -> bool {
        match &self.shared {
            Shared::Store(_, linked) => !linked.is_empty(),
            Shared::View(_) => true,
        }
    }

    /// How the persistent view was brought to the tree, when the snapshot is the view.
    pub fn view_note(&self) -> Option<&str> {
        match &self.shared {
            Shared::View(view) => Some(&view.how),
            Shared::Store(..) => None,
        }
    }
}

/// What identifies a file's content and metadata without reading it: a write in place changes
/// the mtime (and usually the size), a `chmod` the mode; the inode tells a replaced file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stamp {
    ino: u64,
    len: u64,
    mode: u32,
    mtime: i64,
    mtime_nsec: i64,
}

impl Stamp {
    pub(super) fn of(m: &std::fs::Metadata) -> Stamp {
        Stamp { ino: m.ino(), len: m.len(), mode: m.mode(), mtime: m.mtime(), mtime_nsec: m.mtime_nsec() }
    }
}

/// One store file: a blob with its exec bit.
struct Blob {
    id: Oid,
    exec: bool,
    /// Set when first written: `None` when it could not be (every farm then writes its own).
    stamp: OnceLock<Option<Stamp>>,
    /// Changed after it was written: dropped from the store, never linked again.
    poisoned: AtomicBool,
}

/// The run's blob store and the validated plan of its tree.
struct Store {
    dir: PathBuf,
    items: Vec<ExportItem>,
    /// For each item, its blob's index (files only).
    blob_of: Vec<Option<usize>>,
    blobs: Vec<Blob>,
    /// The mtime given to store files: in the past, so a write in place always changes it.
    mtime: SystemTime,
    trash: Trash,
}

/// Whether a git mode is a directory or a submodule (an empty directory in a checkout).
pub(super) fn is_dir(mode: u32) -> bool {
    matches!(mode, 0o040000 | 0o160000)
}
const SYMLINK: u32 = 0o120000;

impl Store {
    fn new(items: Vec<ExportItem>, dir: PathBuf, trash: Trash) -> Store {
        let mut index: HashMap<(Oid, bool), usize> = HashMap::new();
        let mut blobs = Vec::new();
        let blob_of = items
            .iter()
            .map(|item| {
                if is_dir(item.mode) || item.mode == SYMLINK {
                    return None;
                }
                let exec = item.mode == 0o100755;
                Some(*index.entry((item.id, exec)).or_insert_with(|| {
                    blobs.push(Blob {
                        id: item.id,
                        exec,
                        stamp: OnceLock::new(),
                        poisoned: AtomicBool::new(false),
                    });
                    blobs.len() - 1
                }))
            })
            .collect();
        let mtime = SystemTime::now().checked_sub(Duration::from_secs(2)).unwrap_or(SystemTime::UNIX_EPOCH);
        Store { dir, items, blob_of, blobs, mtime, trash }
    }

    fn blobs_dir(&self) -> PathBuf {
        self.dir.join("blobs")
    }

    fn blob_path(&self, i: usize) -> PathBuf {
        let b = &self.blobs[i];
        self.blobs_dir().join(format!("{}-{}", b.id, if b.exec { "x" } else { "r" }))
    }

    /// Writes blob `i` into the store (once, whichever check asks first) and records its stamp.
    fn ensure(&self, repo: &Repo, i: usize) -> Option<Stamp> {
        *self.blobs[i].stamp.get_or_init(|| {
            let b = &self.blobs[i];
            let mode = if b.exec { 0o100755 } else { 0o100644 };
            let file = repo.export_blob(b.id, mode, &self.blob_path(i)).ok()?;
            file.set_modified(self.mtime).ok()?;
            file.metadata().ok().map(|m| Stamp::of(&m))
        })
    }

    /// Which items a check with these `inputs` sees: what a plain path names (a file, or a
    /// directory and everything below it), every file or symlink a glob matches, and the
    /// directories above them.
    fn select(&self, patterns: &[String]) -> Result<Vec<bool>> {
        let mut globs = GlobSetBuilder::new();
        let mut plain: Vec<&[u8]> = Vec::new();
        for p in patterns {
            let p = p.trim_end_matches('/');
            if p.contains(['*', '?', '[', '{']) {
                globs.add(Glob::new(p).with_context(|| format!("bad glob in `inputs`: {p}"))?);
            } else {
                plain.push(p.as_bytes());
            }
        }
        let globs = globs.build().context("building `inputs` globs")?;
        let under = |path: &[u8], p: &[u8]| {
            path == p || (path.len() > p.len() && path.starts_with(p) && path[p.len()] == b'/')
        };
        let mut keep: Vec<bool> = self
            .items
            .iter()
            .map(|item| {
                plain.iter().any(|p| under(&item.path, p))
                    || (!is_dir(item.mode) && globs.is_match(String::from_utf8_lossy(&item.path).as_ref()))
            })
            .collect();
        let mut parents: HashSet<&[u8]> = HashSet::new();
        for (item, _) in self.items.iter().zip(&keep).filter(|(_, k)| **k) {
            let mut path = item.path.as_slice();
            while let Some(slash) = path.iter().rposition(|&b| b == b'/') {
                path = &path[..slash];
                if !parents.insert(path) {
                    break;
                }
            }
        }
        for (item, k) in self.items.iter().zip(keep.iter_mut()) {
            *k |= is_dir(item.mode) && parents.contains(item.path.as_slice());
        }
        Ok(keep)
    }

    /// Makes `dest` (an empty directory) a snapshot of the tree, or of the `selected` items:
    /// directories created, files linked into the store when `link` (else written from git),
    /// symlinks last; nothing is ever opened that exists already. Returns the blobs linked.
    fn materialise(
        &self,
        repo: &Repo,
        dest: &Path,
        selected: Option<&[bool]>,
        link: bool,
        stop: &dyn Fn() -> bool,
    ) -> Result<Vec<usize>> {
        let wanted = |n: usize| selected.is_none_or(|s| s[n]);
        let order = (0..self.items.len())
            .filter(|&n| self.items[n].mode != SYMLINK)
            .chain((0..self.items.len()).filter(|&n| self.items[n].mode == SYMLINK));
        let mut linked = Vec::new();
        for (count, n) in order.filter(|&n| wanted(n)).enumerate() {
            if count % 64 == 0 && stop() {
                return Err(Error::Interrupted.into());
            }
            let item = &self.items[n];
            let path = dest.join(item.rel_path());
            match (item.mode, self.blob_of[n]) {
                (mode, _) if is_dir(mode) => {
                    std::fs::create_dir(&path).with_context(|| format!("creating {}", path.display()))?;
                }
                (SYMLINK, _) => repo.export_symlink(item.id, &path)?,
                (_, Some(i))
                    if link
                        && !self.blobs[i].poisoned.load(Ordering::SeqCst)
                        && self.ensure(repo, i).is_some()
                        && std::fs::hard_link(self.blob_path(i), &path).is_ok() =>
                {
                    linked.push(i);
                }
                (mode, _) => {
                    repo.export_blob(item.id, mode, &path)?;
                }
            }
        }
        linked.sort_unstable();
        linked.dedup();
        Ok(linked)
    }

    /// Whether the `linked` blobs are unchanged; drops every changed one from the store.
    fn intact(&self, linked: &[usize]) -> bool {
        let mut intact = true;
        for &i in linked {
            let b = &self.blobs[i];
            if b.poisoned.load(Ordering::SeqCst) {
                intact = false;
                continue;
            }
            let now = std::fs::symlink_metadata(self.blob_path(i)).ok().map(|m| Stamp::of(&m));
            if now.is_none() || now != b.stamp.get().copied().flatten() {
                intact = false;
                if !b.poisoned.swap(true, Ordering::SeqCst) {
                    std::fs::remove_file(self.blob_path(i)).ok();
                }
            }
        }
        intact
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.trash.put(self.dir.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(path: &str, mode: u32) -> ExportItem {
        ExportItem { path: path.as_bytes().to_vec(), mode, id: Oid::zero() }
    }

    #[test]
    fn inputs_select_their_paths_and_the_directories_above_them() {
        let items = vec![
            item("README.md", 0o100644),
            item("src", 0o040000),
            item("src/pkg", 0o040000),
            item("src/pkg/a.py", 0o100644),
            item("src/pkg/data.txt", 0o100644),
            item("srcx", 0o100644),
            item("tests", 0o040000),
            item("tests/test_a.py", 0o100644),
            item("tests/link", SYMLINK),
            item("docs", 0o040000),
            item("docs/x.py", 0o100644),
        ];
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(items, dir.path().join("s"), Trash::immediate());
        let picked = |patterns: &[&str]| -> Vec<String> {
            let p: Vec<String> = patterns.iter().map(|s| (*s).to_string()).collect();
            let keep = store.select(&p).unwrap();
            store
                .items
                .iter()
                .zip(keep)
                .filter(|(_, k)| *k)
                .map(|(i, _)| String::from_utf8_lossy(&i.path).into_owned())
                .collect()
        };
        assert_eq!(picked(&["src/"]), ["src", "src/pkg", "src/pkg/a.py", "src/pkg/data.txt"]);
        assert_eq!(picked(&["tests/*.py"]), ["tests", "tests/test_a.py"]);
        assert_eq!(
            picked(&["**/*.py", "README.md"]),
            ["README.md", "src", "src/pkg", "src/pkg/a.py", "tests", "tests/test_a.py", "docs", "docs/x.py"]
        );
        assert_eq!(picked(&["tests/link", "missing"]), ["tests", "tests/link"]);
        assert!(picked(&["sr"]).is_empty(), "a plain path is a whole name, not a prefix");
    }
}
