//! The persistent view (#12 item 2, "a persistent snapshot updated incrementally from the
//! previous tree's diff"): a checkout of the last tree the read-only file-local checks ran on
//! (the default `ruff check --no-fix --no-cache`, `ruff format --check --no-cache` and
//! `black --check --diff .`, which write nothing in the tree), kept between runs in
//! `<tmp root>/hookgate.view-<uid>-<digest of the common dir>/co/<name>/` (named as every
//! checkout is: [`checkout_name`](super::scratch::checkout_name)) and brought to the next tree by writing only what changed ([`Repo::tree_delta`]): a
//! one-file edit of a 100k-file tree writes one file, where a fresh export writes 100k.
//!
//! It lives under the tmp root, beside the scratch directories and never inside the
//! repository (a tool looking for its config in the parent directories would find the working
//! tree's). One process at a time uses it (a lock held for the whole run; another run, or
//! another tree of the same push, gets its usual export). The `state` file names the tree the
//! directory holds and is removed before the directory changes, so a run killed half-way
//! leaves no state and the next run checks the tree out afresh. The files written by an update
//! are stamped (inode, size, mode, mtime) and compared when a check ends: a changed one spoils
//! the view (rebuilt next time) and the check runs again on an export of its own.

use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use git2::Oid;

use super::scratch::{CHECKOUT, Trash};
use super::snapshot::{Stamp, is_dir};
use crate::git::{Delta, ExportItem, Repo, short};

/// More changed entries than this: a fresh checkout (one pass over the tree) is as cheap.
const MAX_DELTA: usize = 5000;

/// The persistent view, held (locked) by this process and holding the run's tree.
pub struct View {
    base: PathBuf,
    /// The checkout's name ([`checkout_name`](super::scratch::checkout_name)).
    name: String,
    /// Held while the run uses the view.
    _lock: File,
    /// The files this run wrote, as written, and the root directory.
    written: Vec<(PathBuf, Stamp)>,
    /// What opening it did, for the check's log.
    pub how: String,
}

impl View {
    /// The view of `tree` for the repository whose common dir is `common_dir`, brought up to
    /// date; `None` when another process holds it or its directory is not one this user made.
    pub fn open(
        tmp_root: &Path,
        common_dir: &Path,
        name: &str,
        repo: &Repo,
        tree: Oid,
        trash: &Trash,
        stop: &dyn Fn() -> bool,
    ) -> Result<Option<View>> {
        // SAFETY: geteuid has no preconditions and cannot fail.
        let uid = unsafe { libc::geteuid() };
        let common = common_dir.canonicalize().unwrap_or_else(|_| common_dir.to_path_buf());
        let digest = crate::plan::sha256_hex(common.as_os_str().as_encoded_bytes());
        let base = tmp_root.join(format!("hookgate.view-{uid}-{}", &digest[..16]));
        match std::fs::symlink_metadata(&base) {
            // Someone else's, or open to others: not ours to trust.
            Ok(m) if !m.is_dir() || m.uid() != uid || m.mode() & 0o022 != 0 => return Ok(None),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(tmp_root).ok();
                match std::fs::DirBuilder::new().mode(0o700).create(&base) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(None),
                    Err(e) => return Err(e).with_context(|| format!("creating {}", base.display())),
                }
            }
            Err(e) => return Err(e).with_context(|| format!("reading {}", base.display())),
        }
        let lock_path = base.join("lock");
        // Not a lock file we can open (a directory, a symlink): not a view to use.
        let Ok(lock) = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&lock_path)
        else {
            return Ok(None);
        };
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("locking {}", lock_path.display()));
            }
        }
        // Its time of last use, for `cache gc`.
        lock.set_modified(std::time::SystemTime::now()).ok();
        let mut view =
            View { base, name: name.to_string(), _lock: lock, written: Vec::new(), how: String::new() };
        // What killed runs left half-removed, an earlier version's checkout (`tree/`, `src/`),
        // a checkout under another name (the repository renamed), anything not a directory
        // where `co/` should be.
        let co = view.base.join(CHECKOUT);
        for e in std::fs::read_dir(&view.base).into_iter().flatten().flatten() {
            let real_dir = e.file_type().is_ok_and(|t| t.is_dir());
            if e.file_name() == CHECKOUT && !real_dir {
                // Now, not in the background: `co/` is made again right below.
                std::fs::remove_file(e.path()).with_context(|| format!("removing {}", e.path().display()))?;
            } else if !(e.file_name() == "lock" || e.file_name() == "state" || e.file_name() == CHECKOUT) {
                trash.put(e.path());
            }
        }
        for e in std::fs::read_dir(&co).into_iter().flatten().flatten() {
            if e.file_name() != name {
                trash.put(e.path());
            }
        }
        match std::fs::DirBuilder::new().mode(0o700).create(&co) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                return Err(e).with_context(|| format!("creating {}", co.display()));
            }
            _ => {}
        }
        view.update(repo, tree, trash, stop)?;
        Ok(Some(view))
    }

    /// The checked-out tree, `co/<name>` as an export's checkout is: ruff matches its excludes
    /// against the name of the directory it runs in too (`--force-exclude` looks at every
    /// directory up to the project root), so another name could exclude other files.
    pub fn src(&self) -> PathBuf {
        self.base.join(CHECKOUT).join(&self.name)
    }

    fn state(&self) -> PathBuf {
        self.base.join("state")
    }

    /// Brings the directory to `tree`: nothing when it holds it, its delta from the tree it
    /// holds, or a fresh checkout.
    fn update(&mut self, repo: &Repo, tree: Oid, trash: &Trash, stop: &dyn Fn() -> bool) -> Result<()> {
        let src = self.src();
        let held = std::fs::read_to_string(self.state())
            .ok()
            .and_then(|t| Oid::from_str(t.trim()).ok())
            .filter(|_| std::fs::symlink_metadata(&src).is_ok_and(|m| m.is_dir()))
            // Not in this repository (a repository made anew at the same path): start afresh.
            .filter(|&old| repo.git2().find_tree(old).is_ok());
        if held == Some(tree) {
            self.how = format!("the persistent view already held tree {}", short(tree));
            let root =
                std::fs::symlink_metadata(&src).with_context(|| format!("reading {}", src.display()))?;
            self.written.push((src, Stamp::of(&root)));
            return Ok(());
        }
        // Read (and validated) before anything changes: a tree refused leaves the view as it was.
        let delta = match held {
            Some(old) => repo.tree_delta(old, tree, MAX_DELTA)?,
            None => None,
        };
        let created = match &delta {
            Some(delta) => Some(created(repo, tree, delta, stop)?),
            None => None,
        };
        match std::fs::remove_file(self.state()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).context("resetting the persistent view's state");
            }
            _ => {}
        }
        match (held, delta, created) {
            (Some(old), Some(delta), Some(created)) => match self.apply(repo, &delta, &created, stop) {
                Ok(()) => {
                    self.how = format!(
                        "the persistent view, brought from tree {} by its diff ({} changed entr{})",
                        short(old),
                        delta.len(),
                        if delta.len() == 1 { "y" } else { "ies" }
                    );
                }
                Err(e) if crate::error::is_interrupted(&e) => return Err(e),
                // Not the tree it said it held (something changed it): start afresh.
                Err(e) => {
                    self.written.clear();
                    self.checkout_afresh(repo, tree, trash, stop)?;
                    self.how =
                        format!("{} (its diff from tree {} did not apply: {e:#})", self.how, short(old));
                }
            },
            _ => self.checkout_afresh(repo, tree, trash, stop)?,
        }
        crate::cache::write_atomic(&self.state(), tree.to_string().as_bytes())?;
        // A file created (or removed) at the root, where tools put their caches, changes it.
        let root = std::fs::symlink_metadata(&src).with_context(|| format!("reading {}", src.display()))?;
        self.written.push((src, Stamp::of(&root)));
        Ok(())
    }

    /// Replaces the checkout with a fresh one of `tree` (the old one goes to the trash).
    fn checkout_afresh(
        &mut self,
        repo: &Repo,
        tree: Oid,
        trash: &Trash,
        stop: &dyn Fn() -> bool,
    ) -> Result<()> {
        let src = self.src();
        if std::fs::symlink_metadata(&src).is_ok() {
            let aside = format!("old-{}-{}", std::process::id(), crate::cache::now_secs());
            // A name not taken yet (a checkout set aside earlier in the same second may still be
            // in the trash's queue).
            let old = (0..)
                .map(|n| self.base.join(format!("{aside}-{n}")))
                .find(|p| std::fs::symlink_metadata(p).is_err())
                .context("naming the old persistent view")?;
            std::fs::rename(&src, &old).context("moving the old persistent view aside")?;
            trash.put(old);
        }
        std::fs::create_dir(&src).with_context(|| format!("creating {}", src.display()))?;
        repo.export_until(tree, &src, stop)?;
        self.how = format!("the persistent view, checked out afresh (tree {})", short(tree));
        Ok(())
    }

    /// Applies `delta` (from the tree the view held): removals first, then what is new
    /// (`created`), symlinks last.
    fn apply(
        &mut self,
        repo: &Repo,
        delta: &[Delta],
        created: &[ExportItem],
        stop: &dyn Fn() -> bool,
    ) -> Result<()> {
        let src = self.src();
        let at = |p: &[u8]| src.join(Path::new(std::ffi::OsStr::from_bytes(p)));
        // Directories above a changed path, checked to be real directories of the checkout (not
        // a symlink made there by hand, which removing or writing would go through).
        let mut real: std::collections::HashSet<Vec<u8>> = std::collections::HashSet::new();
        let mut inside = |p: &[u8]| -> Result<()> {
            let mut end = 0;
            while let Some(slash) = p[end..].iter().position(|&b| b == b'/') {
                end += slash;
                let dir = &p[..end];
                if !real.contains(dir) {
                    if !std::fs::symlink_metadata(at(dir)).is_ok_and(|m| m.is_dir()) {
                        anyhow::bail!("{} is not a directory of the checkout", at(dir).display());
                    }
                    real.insert(dir.to_vec());
                }
                end += 1;
            }
            Ok(())
        };
        for d in delta {
            let Some((mode, _)) = d.old else { continue };
            inside(&d.path)?;
            let path = at(&d.path);
            let gone =
                if is_dir(mode) { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
            match gone {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(e).with_context(|| format!("removing {}", path.display()));
                }
                _ => {}
            }
        }
        let written = &mut self.written;
        repo.write_items(
            created,
            &src,
            stop,
            |item| inside(&item.path),
            |path, file| {
                let meta = file.metadata().with_context(|| format!("reading {}", path.display()))?;
                written.push((path, Stamp::of(&meta)));
                Ok(())
            },
        )
    }

    /// Whether every file this run wrote is as it was written and nothing was created or
    /// removed at the root; when not, the view is spoilt (checked out afresh next time).
    pub fn intact(&self) -> bool {
        let intact =
            self.written.iter().all(|(p, s)| std::fs::symlink_metadata(p).is_ok_and(|m| Stamp::of(&m) == *s));
        if !intact {
            std::fs::remove_file(self.state()).ok();
        }
        intact
    }
}

/// What applying `delta` to reach `tree` creates, parents first; the subtrees it adds are
/// read and validated (see [`Repo::export_plan`]).
fn created(repo: &Repo, tree: Oid, delta: &[Delta], stop: &dyn Fn() -> bool) -> Result<Vec<ExportItem>> {
    let mut items = Vec::new();
    for d in delta {
        let Some((mode, id)) = d.new else { continue };
        items.push(ExportItem { path: d.path.clone(), mode, id });
        if mode == 0o040000 {
            items.extend(repo.export_plan_under(tree, id, &d.path, stop)?);
        }
    }
    Ok(items)
}

/// What [`collect`] removed (or would remove).
#[derive(Debug, Default)]
pub struct Collected {
    /// Views removed.
    pub views: usize,
    /// Their size on disk.
    pub bytes: u64,
}

/// Removes this user's persistent views under `tmp_root` (of any repository) that no run has
/// used for `max_age`; a view in use (locked) stays. With `dry_run`, only counts them.
pub fn collect(tmp_root: &Path, max_age: std::time::Duration, dry_run: bool) -> Collected {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let prefix = format!("hookgate.view-{}-", unsafe { libc::geteuid() });
    let mut done = Collected::default();
    for e in std::fs::read_dir(tmp_root).into_iter().flatten().flatten() {
        let base = e.path();
        let ours = e.file_name().to_string_lossy().starts_with(&prefix)
            && std::fs::symlink_metadata(&base).is_ok_and(|m| m.is_dir());
        let Some(lock) = ours.then(|| File::open(base.join("lock")).ok()).flatten() else { continue };
        let used = lock.metadata().and_then(|m| m.modified()).ok();
        let old = used.and_then(|t| t.elapsed().ok()).is_none_or(|age| age >= max_age);
        if !old || lock.try_lock().is_err() {
            continue;
        }
        let bytes = crate::gc::size_of(&base).0;
        if dry_run || remove(&base) {
            done.views += 1;
            done.bytes += bytes;
        }
    }
    done
}

/// Removes the view `base` whose lock this process holds: its state first (a removal cut short
/// leaves a view the next run checks out afresh, never a partial checkout it trusts), the lock
/// last (a run opening the view meanwhile finds it held, or, once it is gone, no state).
fn remove(base: &Path) -> bool {
    std::fs::remove_file(base.join("state")).ok();
    for e in std::fs::read_dir(base).into_iter().flatten().flatten() {
        if e.file_name() != "lock" {
            let path = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => std::fs::remove_dir_all(&path).ok(),
                _ => std::fs::remove_file(&path).ok(),
            };
        }
    }
    std::fs::remove_file(base.join("lock")).ok();
    std::fs::remove_dir(base).is_ok()
}
