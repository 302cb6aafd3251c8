//! Everything hookgate asks of git, through git2: discovering the repository (as git does,
//! honouring `GIT_DIR`/`GIT_WORK_TREE`), naming the tree under test (the index, a commit, a
//! pushed tip, or the working copy via a throwaway index), reading config blobs from it, and
//! exporting it to a scratch directory. Where libgit2 cannot read an index (a split index,
//! extensions it does not know) the tree comes from `git write-tree` on a private copy of it.
//! Nothing here writes the user's working tree, index file, refs or stash.
//!
//! Tree entry names come from the object database, where anyone can put anything
//! (`git hash-object --literally`; push, clone and fetch carry it). An export refuses, before
//! writing anything, every name git itself would never check out.

use std::collections::{BTreeMap, HashSet};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use git2::{ErrorCode, ObjectType, Oid, Repository, RepositoryOpenFlags, Tree};
use globset::{Glob, GlobSetBuilder};

use crate::env::HostEnv;
use crate::error::{ConfigError, Error};
use crate::process::Cmd;

/// How many symlinks a config path may pass through before we call it a loop.
const MAX_SYMLINK_HOPS: usize = 8;

/// An opened, non-bare repository.
pub struct Repo {
    inner: Repository,
    common_dir: PathBuf,
    workdir: PathBuf,
    /// The environment of hookgate's own `git` children (git plumbing).
    git_env: BTreeMap<String, String>,
}

/// The tree under test and where it came from.
#[derive(Debug, Clone)]
pub struct TreeRef {
    /// The root tree's id: the identity every cache key starts from.
    pub id: Oid,
    /// The commit the tree belongs to, when there is one.
    pub commit: Option<Oid>,
    /// How to name it to the user (`HEAD`, `index`, `refs/heads/x`).
    pub label: String,
}

/// One line of a pre-push hook's standard input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushUpdate {
    /// The local ref being pushed (`(delete)` for deletions).
    pub local_ref: String,
    /// The object pushed; all zeros for a deletion.
    pub local_oid: Oid,
    /// The ref on the remote.
    pub remote_ref: String,
    /// What the remote has now; all zeros for a new ref.
    pub remote_oid: Oid,
}

impl PushUpdate {
    /// A deletion pushes no content, so it needs no checks.
    pub fn is_deletion(&self) -> bool {
        self.local_oid.is_zero()
    }
}

/// Parses the pre-push stdin: `<local ref> <local oid> <remote ref> <remote oid>` per line.
pub fn parse_push_lines(text: &str) -> Result<Vec<PushUpdate>> {
    let mut updates = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [local_ref, local_oid, remote_ref, remote_oid] = parts[..] else {
            bail!(
                "pre-push input line {} is not `<local ref> <local oid> <remote ref> <remote oid>`: {line:?}",
                n + 1
            );
        };
        let oid = |s: &str| {
            Oid::from_str(s).with_context(|| format!("pre-push input line {}: bad object id {s:?}", n + 1))
        };
        updates.push(PushUpdate {
            local_ref: local_ref.to_string(),
            local_oid: oid(local_oid)?,
            remote_ref: remote_ref.to_string(),
            remote_oid: oid(remote_oid)?,
        });
    }
    Ok(updates)
}

impl Repo {
    /// Finds the repository as git would from `cwd`: the one `GIT_DIR` names (relative to
    /// `cwd`; git exports it to hooks), else the one containing `cwd`; the work tree is
    /// `GIT_WORK_TREE` when set. Refuses bare repositories.
    pub fn discover(cwd: &Path, host: &HostEnv) -> Result<Repo, Error> {
        let absolute = |p: &Path| if p.is_absolute() { p.to_path_buf() } else { cwd.join(p) };
        let named = host.git_dir.as_deref().map(absolute);
        let opened = match &named {
            Some(dir) => {
                Repository::open_ext(dir, RepositoryOpenFlags::NO_SEARCH, std::iter::empty::<&OsStr>())
            }
            None => Repository::discover(cwd),
        };
        let inner = opened.map_err(|e| match (e.code(), &named) {
            (ErrorCode::NotFound, Some(dir)) => {
                Error::Git(format!("GIT_DIR names {}, which is not a git repository", dir.display()))
            }
            (ErrorCode::NotFound, None) => Error::Git(format!(
                "not a git repository (or any parent up to /): {}\nhookgate works inside a clone: \
                 cd into one, or `git init` and commit your package first",
                cwd.display()
            )),
            _ => Error::Git(format!("cannot open the git repository at {}: {}", cwd.display(), e.message())),
        })?;
        let work_tree = match host.work_tree.as_deref() {
            Some(tree) => Some(absolute(tree)),
            // git: with GIT_DIR and no work tree named anywhere (GIT_WORK_TREE, core.worktree,
            // a linked worktree's own record), the current directory is the work tree's top.
            None if named.is_some()
                && !inner.is_bare()
                && !inner.is_worktree()
                && inner.config().is_ok_and(|c| c.get_path("core.worktree").is_err()) =>
            {
                Some(cwd.to_path_buf())
            }
            None => None,
        };
        if let Some(tree) = work_tree {
            // `GIT_WORK_TREE=.` (what git exports to hooks) must not become `<dir>/.`.
            let tree = tree.canonicalize().unwrap_or(tree);
            if inner.workdir().and_then(|w| w.canonicalize().ok()) != Some(tree.clone()) {
                inner.set_workdir(&tree, false).map_err(|e| {
                    Error::Git(format!("cannot use {} as the work tree: {}", tree.display(), e.message()))
                })?;
            }
        }
        let Some(workdir) = inner.workdir().map(Path::to_path_buf) else {
            return Err(Error::Git(format!(
                "{} is a bare repository: hookgate checks the trees of a working clone; \
                 install it in a clone (git clone {} pkg && cd pkg && hookgate install)",
                inner.path().display(),
                inner.path().display()
            )));
        };
        let common_dir = inner.commondir().to_path_buf();
        Ok(Repo { inner, common_dir, workdir, git_env: host.git_env() })
    }

    /// Opens the repository whose git dir is `git_dir` again (a worker thread's own handle:
    /// git2 handles are not shared between threads). The handle reads objects (to export a
    /// tree); it runs no git plumbing, and a git dir whose work tree only `GIT_WORK_TREE`
    /// named stands in for its work tree.
    pub fn open(git_dir: &Path) -> Result<Repo> {
        let inner = Repository::open(git_dir)
            .with_context(|| format!("opening the repository at {}", git_dir.display()))?;
        let workdir = inner.workdir().unwrap_or(git_dir).to_path_buf();
        let common_dir = inner.commondir().to_path_buf();
        Ok(Repo { inner, common_dir, workdir, git_env: BTreeMap::new() })
    }

    /// The libgit2 handle (for `verdicts`' notes, read in process on the run path).
    pub fn git2(&self) -> &Repository {
        &self.inner
    }

    /// The git dir shared by every worktree: where hooks, cache and logs live.
    pub fn common_dir(&self) -> &Path {
        &self.common_dir
    }

    /// This worktree's own git dir (`.git`, or `.git/worktrees/<name>` for a linked one).
    pub fn git_dir(&self) -> &Path {
        self.inner.path()
    }

    /// The root of the current working tree.
    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    /// `core.hooksPath` as configured, when it is.
    pub fn hooks_path_setting(&self) -> Result<Option<PathBuf>> {
        let config = self.inner.config().context("reading git config")?;
        Ok(config.get_path("core.hooksPath").ok())
    }

    /// Where git runs hooks from in this worktree: `core.hooksPath` when set (git resolves a
    /// relative one against the root of the worktree it runs in), else `<common dir>/hooks`.
    pub fn hooks_dir(&self) -> Result<PathBuf> {
        Ok(match self.hooks_path_setting()? {
            Some(p) => self.workdir.join(p),
            None => self.common_dir.join("hooks"),
        })
    }

    /// Where git runs hooks from in each worktree of the repository, this one first: one
    /// directory, unless a relative `core.hooksPath` gives every worktree its own.
    pub fn all_hooks_dirs(&self) -> Result<Vec<PathBuf>> {
        let mut dirs = vec![self.hooks_dir()?];
        if let Some(p) = self.hooks_path_setting()?.filter(|p| p.is_relative()) {
            for root in self.worktree_roots()? {
                dirs.push(root.join(&p));
            }
        }
        let mut seen = HashSet::new();
        dirs.retain(|d| seen.insert(d.canonicalize().unwrap_or_else(|_| d.clone())));
        Ok(dirs)
    }

    /// The root of every worktree that still exists: the main one (if the repository has one)
    /// and each linked one.
    fn worktree_roots(&self) -> Result<Vec<PathBuf>> {
        let mut roots = Vec::new();
        if !self.inner.is_worktree() {
            roots.push(self.workdir.clone());
        } else if let Ok(main) = Repository::open(&self.common_dir)
            && let Some(w) = main.workdir()
        {
            roots.push(w.to_path_buf());
        }
        for name in self.inner.worktrees().context("listing linked worktrees")?.iter().flatten() {
            if let Ok(wt) = self.inner.find_worktree(name)
                && wt.validate().is_ok()
            {
                roots.push(wt.path().to_path_buf());
            }
        }
        Ok(roots)
    }

    /// Every value of the multi-valued git config key `name` (system, global and the
    /// repository's own config: never the tree), in the order git reads them.
    pub fn config_values(&self, name: &str) -> Result<Vec<String>> {
        let config = self.inner.config().context("reading git config")?;
        let mut values = Vec::new();
        let mut entries =
            config.multivar(name, None).with_context(|| format!("reading git config {name}"))?;
        while let Some(entry) = entries.next() {
            let entry = entry.with_context(|| format!("reading git config {name}"))?;
            values.push(String::from_utf8_lossy(entry.value_bytes()).into_owned());
        }
        Ok(values)
    }

    /// HEAD's tree; a clear error on an empty repository.
    pub fn head(&self) -> Result<TreeRef, Error> {
        self.resolve("HEAD")
    }

    /// The tree of any revision (`HEAD~2`, a branch, a tag, a commit id).
    pub fn resolve(&self, rev: &str) -> Result<TreeRef, Error> {
        if rev == "HEAD"
            && let Err(e) = self.inner.head()
            && matches!(e.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound)
        {
            return Err(Error::Git(
                "this repository has no commits yet (HEAD is unborn): commit first, or \
                 check the working copy with `hookgate run --worktree`"
                    .into(),
            ));
        }
        let obj = self
            .inner
            .revparse_single(rev)
            .map_err(|e| Error::Git(format!("cannot resolve revision `{rev}`: {}", e.message())))?;
        let tree = obj
            .peel_to_tree()
            .map_err(|e| Error::Git(format!("`{rev}` does not name a tree: {}", e.message())))?;
        let commit = obj.peel_to_commit().ok().map(|c| c.id());
        Ok(TreeRef { id: tree.id(), commit, label: rev.to_string() })
    }

    /// The tree of the object a pre-push line names, with annotated tags peeled; `None` when it
    /// is not a commit-ish (a pushed blob has no tree to check).
    pub fn pushed_tree(&self, update: &PushUpdate) -> Result<Option<TreeRef>> {
        let obj = self.inner.find_object(update.local_oid, None).with_context(|| {
            format!("pushed object {} of {} is not in this repository", update.local_oid, update.local_ref)
        })?;
        let Ok(tree) = obj.peel_to_tree() else { return Ok(None) };
        let commit = obj.peel_to_commit().ok().map(|c| c.id());
        Ok(Some(TreeRef { id: tree.id(), commit, label: update.local_ref.clone() }))
    }

    /// The tree `git commit` will write from the index being committed: `index_file` when git
    /// names one in `GIT_INDEX_FILE` (`git commit -a`, `git commit PATH`), else the
    /// repository's index. Tree objects are written to the object database; the index file is
    /// not rewritten.
    pub fn index_tree(&self, index_file: Option<&Path>) -> Result<TreeRef> {
        let path = match index_file {
            Some(p) if p.is_absolute() => p.to_path_buf(),
            Some(p) => self.workdir.join(p),
            None => self.inner.path().join("index"),
        };
        let tree = match git2::Index::open(&path) {
            Ok(index) if index.has_conflicts() => {
                bail!("the index has unresolved merge conflicts: resolve them before committing")
            }
            Ok(index) => self.libgit2_index_tree(index),
            Err(e) => Err(e),
        };
        let tree = match tree {
            Ok(tree) => tree,
            // libgit2 refuses some indexes git writes (a split index, extensions it does not
            // know, names it validates more strictly): ask git, which wrote it.
            Err(_) => self
                .git_index_tree(Some(&path), false)
                .with_context(|| format!("writing the tree of the index {}", path.display()))?,
        };
        Ok(TreeRef { id: tree, commit: self.head_commit(), label: "index".into() })
    }

    /// The tree of `index` as `git write-tree` writes it. Intent-to-add entries (`git add -N`)
    /// are not content: git leaves them out of the tree, where libgit2 would write empty files.
    fn libgit2_index_tree(&self, mut index: git2::Index) -> Result<Oid, git2::Error> {
        let intents: Vec<Vec<u8>> = index
            .iter()
            .filter(|e| e.flags_extended & git2::IndexEntryExtendedFlag::INTENT_TO_ADD.bits() != 0)
            .map(|e| e.path)
            .collect();
        for path in intents {
            // Only this in-memory copy changes: it is never written back.
            index.remove(Path::new(OsStr::from_bytes(&path)), 0)?;
        }
        index.write_tree_to(&self.inner)
    }

    /// The tree `git add -A` would stage, built in an in-memory copy of the index that is
    /// never written back. New blobs land in the object database, as `git add` would put them.
    pub fn worktree_tree(&self) -> Result<TreeRef> {
        let from_libgit2 = self.inner.index().and_then(|mut index| {
            let tree = index
                .add_all(["."], git2::IndexAddOption::DEFAULT, None)
                .and_then(|()| index.update_all(["."], None))
                .and_then(|()| index.write_tree_to(&self.inner));
            // Throw away the in-memory changes so nothing later can write them to disk.
            index.read(true)?;
            tree
        });
        let tree = match from_libgit2 {
            Ok(tree) => tree,
            Err(_) => self
                .git_index_tree(Some(&self.inner.path().join("index")), true)
                .context("writing the working copy's tree")?,
        };
        Ok(TreeRef { id: tree, commit: self.head_commit(), label: "working copy".into() })
    }

    fn head_commit(&self) -> Option<Oid> {
        self.inner.head().ok().and_then(|h| h.peel_to_commit().ok()).map(|c| c.id())
    }

    /// `git write-tree` of a private copy of `index` (after `git add -A` when `add_all`): git
    /// rewrites the index it writes a tree from, and holds the real one's lock during a commit.
    /// The copy is read whole (`core.splitIndex=false`), so no shared index is written or
    /// expired beside the real one.
    fn git_index_tree(&self, index: Option<&Path>, add_all: bool) -> Result<Oid> {
        let scratch_root = self.common_dir.join("hookgate");
        std::fs::create_dir_all(&scratch_root)
            .with_context(|| format!("creating {}", scratch_root.display()))?;
        let scratch = tempfile::Builder::new()
            .prefix("index-")
            .tempdir_in(&scratch_root)
            .context("creating a directory for a copy of the index")?;
        let copy = scratch.path().join("index");
        if let Some(index) = index.filter(|p| p.exists()) {
            std::fs::copy(index, &copy).with_context(|| format!("copying {}", index.display()))?;
        }
        let settings = ["-c", "core.splitIndex=false", "-c", "core.fsmonitor=false"];
        if add_all {
            self.git(&[&settings[..], &["add", "-A"]].concat(), &copy)?;
        }
        let out = self.git(&[&settings[..], &["write-tree"]].concat(), &copy)?;
        Oid::from_str(out.trim()).with_context(|| format!("`git write-tree` printed {out:?}, not a tree id"))
    }

    /// Runs git plumbing on this repository and `index`; returns its standard output.
    fn git(&self, args: &[&str], index: &Path) -> Result<String> {
        let mut env = self.git_env.clone();
        env.insert("GIT_DIR".into(), self.inner.path().display().to_string());
        env.insert("GIT_WORK_TREE".into(), self.workdir.display().to_string());
        env.insert("GIT_INDEX_FILE".into(), index.display().to_string());
        let cmd = Cmd::new("git", args, &self.workdir, env);
        let out = cmd.output()?;
        if !out.exit.success() {
            bail!("`{}` failed ({:?}): {}", cmd.display(), out.exit, out.stderr.trim());
        }
        Ok(out.stdout)
    }

    /// The content of the file at `path` in `tree`, if it is a file there. Symlinks are
    /// followed inside the tree, as a checkout would resolve them (relative to the link's
    /// directory); one that leaves the tree, dangles or loops is a config error.
    pub fn read_file(&self, tree: Oid, path: &str) -> Result<Option<String>> {
        let Some(blob) = self.file_id(tree, path)? else { return Ok(None) };
        self.read_text(blob, path).map(Some)
    }

    /// The blob [`Repo::read_file`] would read for `path` in `tree` (symlinks followed within
    /// the tree), or `None` where it would read nothing; its errors too.
    pub fn file_id(&self, tree: Oid, path: &str) -> Result<Option<Oid>> {
        let root = self.inner.find_tree(tree).context("finding the tree under test")?;
        self.resolve_file(&root, path)
    }

    /// For each of `names` (entries at the root of `tree`, no `/`): whether the tree has an
    /// entry of that name, and the blob [`Repo::file_id`] gives for it, reading the root tree
    /// once for all of them.
    pub fn root_files(&self, tree: Oid, names: &[&str]) -> Result<Vec<(bool, Result<Option<Oid>>)>> {
        let root = self.inner.find_tree(tree).context("finding the tree under test")?;
        Ok(names
            .iter()
            .map(|name| match root.get_name(name) {
                None => (false, Ok(None)),
                // A symlink is followed as `file_id` follows it.
                Some(e) if e.filemode() == 0o120000 => (true, self.resolve_file(&root, name)),
                Some(e) if e.kind() == Some(ObjectType::Blob) => (true, Ok(Some(e.id()))),
                // A directory or submodule where a file was asked for.
                Some(_) => (true, Ok(None)),
            })
            .collect())
    }

    /// The text of the blob `blob`, read as the file `path` (named in errors).
    pub fn read_text(&self, blob: Oid, path: &str) -> Result<String> {
        let blob = self.inner.find_blob(blob).with_context(|| format!("reading {path}"))?;
        String::from_utf8(blob.content().to_vec()).with_context(|| format!("{path} is not UTF-8"))
    }

    /// The blob `path` names in `root`, following symlinks within the tree.
    fn resolve_file(&self, root: &Tree<'_>, path: &str) -> Result<Option<Oid>> {
        let refuse = |why: String| -> anyhow::Error {
            Error::Config(ConfigError { file: path.to_string(), line: None, column: None, message: why })
                .into()
        };
        // `dir` is where we are (components from the root); `todo` what is left to walk.
        let mut dir: Vec<Vec<u8>> = Vec::new();
        let mut todo: Vec<Vec<u8>> =
            path.as_bytes().split(|&b| b == b'/').rev().map(<[u8]>::to_vec).collect();
        let mut hops = 0;
        let mut last_target = String::new();
        while let Some(part) = todo.pop() {
            match part.as_slice() {
                b"" | b"." => continue,
                b".." => {
                    if dir.pop().is_none() {
                        return Err(refuse(format!(
                            "a symlink to `{last_target}`, outside the tree; hookgate reads config \
                             only from the tree under test"
                        )));
                    }
                    continue;
                }
                _ => {}
            }
            dir.push(part);
            let here = dir.join(&b'/');
            let entry = match root.get_path(Path::new(OsStr::from_bytes(&here))) {
                Ok(e) => e,
                Err(e) if e.code() == ErrorCode::NotFound && hops == 0 => return Ok(None),
                // libgit2 says "no reference found, cannot describe anything" as a describe-class
                // error (its code varies between versions).
                Err(e) if e.code() == ErrorCode::NotFound || e.class() == git2::ErrorClass::Describe => {
                    return Err(refuse(format!(
                        "a symlink to `{last_target}`, which does not exist in the tree"
                    )));
                }
                Err(e) => return Err(e).with_context(|| format!("looking up {path}")),
            };
            match entry.filemode() {
                0o120000 => {
                    hops += 1;
                    if hops > MAX_SYMLINK_HOPS {
                        return Err(refuse(format!(
                            "too many symlinks (more than {MAX_SYMLINK_HOPS}) resolving it: a loop?"
                        )));
                    }
                    let link = self.inner.find_blob(entry.id()).with_context(|| format!("reading {path}"))?;
                    let target = link.content();
                    last_target = String::from_utf8_lossy(target).into_owned();
                    if target.starts_with(b"/") {
                        return Err(refuse(format!(
                            "a symlink to `{last_target}`, outside the tree; hookgate reads config \
                             only from the tree under test"
                        )));
                    }
                    // The target is relative to the link's directory.
                    dir.pop();
                    todo.extend(target.split(|&b| b == b'/').rev().map(<[u8]>::to_vec));
                }
                _ if entry.kind() == Some(ObjectType::Tree) && !todo.is_empty() => {}
                _ if entry.kind() == Some(ObjectType::Blob)
                    && todo.iter().all(|p| p.is_empty() || p == b".") =>
                {
                    return Ok(Some(entry.id()));
                }
                // A directory or submodule where a file was asked for, or a file used as a directory.
                _ => return Ok(None),
            }
        }
        Ok(None)
    }

    /// Whether git ignores `path` (absolute, inside the work tree).
    pub fn is_ignored(&self, path: &Path) -> bool {
        let rel = path.strip_prefix(&self.workdir).unwrap_or(path);
        self.inner.is_path_ignored(rel).unwrap_or(false)
    }

    /// Whether `path` is a directory in `tree`.
    pub fn is_dir(&self, tree: Oid, path: &str) -> Result<bool> {
        let tree = self.inner.find_tree(tree).context("finding the tree under test")?;
        Ok(tree.get_path(Path::new(path)).is_ok_and(|e| e.kind() == Some(ObjectType::Tree)))
    }

    /// The names of the entries at the root of `tree` (lossily decoded).
    pub fn root_names(&self, tree: Oid) -> Result<Vec<String>> {
        let tree = self.inner.find_tree(tree).context("finding the tree under test")?;
        Ok(tree.iter().map(|e| String::from_utf8_lossy(e.name_bytes()).into_owned()).collect())
    }

    /// The object id at `path` in `tree`, if any.
    pub fn path_id(&self, tree: Oid, path: &str) -> Result<Option<Oid>> {
        let tree = self.inner.find_tree(tree).context("finding the tree under test")?;
        Ok(tree.get_path(Path::new(path)).ok().map(|e| e.id()))
    }

    /// The `(path, object id)` pairs a check's `inputs` select in `tree`: a plain path names a
    /// subtree or blob directly; a pattern with glob characters is matched against every blob.
    ///
    /// `blobs` holds every blob path of the tree once a glob needed them: a plan's checks share
    /// one walk of the tree, however many of them have glob `inputs`.
    pub fn input_ids(
        &self,
        tree: Oid,
        patterns: &[String],
        blobs: &std::cell::OnceCell<Vec<(String, Oid)>>,
    ) -> Result<Vec<(String, Oid)>> {
        let root = self.inner.find_tree(tree).context("finding the tree under test")?;
        let mut out = Vec::new();
        let mut globs = GlobSetBuilder::new();
        let mut any_glob = false;
        for p in patterns {
            let p = p.trim_end_matches('/');
            if p.contains(['*', '?', '[', '{']) {
                globs.add(Glob::new(p).with_context(|| format!("bad glob in `inputs`: {p}"))?);
                any_glob = true;
            } else if let Ok(entry) = root.get_path(Path::new(p)) {
                out.push((p.to_string(), entry.id()));
            } else {
                out.push((p.to_string(), Oid::zero()));
            }
        }
        if any_glob {
            let set = globs.build().context("building `inputs` globs")?;
            if blobs.get().is_none() {
                let mut all = Vec::new();
                root.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
                    if entry.kind() == Some(ObjectType::Blob) {
                        all.push((
                            format!("{dir}{}", String::from_utf8_lossy(entry.name_bytes())),
                            entry.id(),
                        ));
                    }
                    git2::TreeWalkResult::Ok
                })
                .context("walking the tree for `inputs`")?;
                blobs.set(all).ok();
            }
            let all = blobs.get().map(Vec::as_slice).unwrap_or_default();
            out.extend(all.iter().filter(|(path, _)| set.is_match(path)).cloned());
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Writes `tree` into `dest` (which must exist): blobs with their exec bits, symlinks as
    /// symlinks, submodules as empty directories. The whole tree is validated first (see
    /// [`entry_name_problem`]); a bad name or a name twice in one directory is an
    /// [`Error::Git`] naming its path, with nothing written. Files are created, never opened
    /// (`O_EXCL`: an existing path, a symlink included, is an error), and symlinks come last,
    /// so nothing is ever written through one.
    pub fn export(&self, tree: Oid, dest: &Path) -> Result<()> {
        self.export_until(tree, dest, &|| false)
    }

    /// [`Repo::export`], giving up with [`crate::error::Error::Interrupted`] as soon as `stop`
    /// says so (Ctrl-C or SIGTERM during a big export): it is asked every few entries.
    pub fn export_until(&self, tree: Oid, dest: &Path, stop: &dyn Fn() -> bool) -> Result<()> {
        let items = self.export_plan(tree, stop)?;
        self.write_items(&items, dest, stop, |_| Ok(()), |_, _| Ok(()))
    }

    /// Creates `items` (an export plan, parents before children) under `dest`: directories
    /// and empty submodule directories, files (each handed to `written` with its open file),
    /// symlinks last (so nothing is ever written through one). Each item is first handed to
    /// `before`, which may refuse it. `stop` is asked every few items.
    pub fn write_items(
        &self,
        items: &[ExportItem],
        dest: &Path,
        stop: &dyn Fn() -> bool,
        mut before: impl FnMut(&ExportItem) -> Result<()>,
        mut written: impl FnMut(PathBuf, &std::fs::File) -> Result<()>,
    ) -> Result<()> {
        let (links, rest): (Vec<_>, Vec<_>) = items.iter().partition(|i| i.mode == 0o120000);
        for (n, item) in rest.into_iter().chain(links).enumerate() {
            if n % 64 == 0 && stop() {
                return Err(crate::error::Error::Interrupted.into());
            }
            before(item)?;
            let path = dest.join(item.rel_path());
            match item.mode {
                0o040000 | 0o160000 => {
                    std::fs::create_dir(&path).with_context(|| format!("creating {}", path.display()))?;
                }
                0o120000 => self.export_symlink(item.id, &path)?,
                mode => {
                    let file = self.export_blob(item.id, mode, &path)?;
                    written(path, &file)?;
                }
            }
        }
        Ok(())
    }

    /// The validated list of what exporting `tree` creates, parents before children (see
    /// [`Repo::export`] for what is refused); `stop` is asked every few subtrees.
    pub fn export_plan(&self, tree: Oid, stop: &dyn Fn() -> bool) -> Result<Vec<ExportItem>> {
        self.export_plan_under(tree, tree, &[], stop)
    }

    /// [`Repo::export_plan`] of the subtree `tree` of `root`, its paths under `prefix`.
    pub fn export_plan_under(
        &self,
        root: Oid,
        tree: Oid,
        prefix: &[u8],
        stop: &dyn Fn() -> bool,
    ) -> Result<Vec<ExportItem>> {
        let sub = self.inner.find_tree(tree).context("finding the tree to export")?;
        let mut items = Vec::new();
        self.plan_export(&sub, root, prefix, &mut items, stop)?;
        Ok(items)
    }

    /// What changed from tree `old` to tree `new`, comparing only the subtrees that differ (a
    /// one-file edit of a 100k-file tree reads the few trees on its path), at the highest
    /// level each change happens: a file, symlink or submodule changed, or an entry (a whole
    /// subtree) added, removed or replaced by another kind. Every tree of `new` it reads is
    /// validated as [`Repo::export_plan`] validates (added subtrees are not read: export them
    /// with [`Repo::export_plan_under`]). `None` when more than `limit` entries changed.
    pub fn tree_delta(&self, old: Oid, new: Oid, limit: usize) -> Result<Option<Vec<Delta>>> {
        let mut out = Vec::new();
        let (a, b) = (self.inner.find_tree(old), self.inner.find_tree(new));
        let (a, b) = (a.context("reading a tree")?, b.context("reading a tree")?);
        Ok(self.delta_trees(&a, &b, new, &[], &mut out, limit)?.then_some(out))
    }

    fn delta_trees(
        &self,
        old: &Tree<'_>,
        new: &Tree<'_>,
        root: Oid,
        prefix: &[u8],
        out: &mut Vec<Delta>,
        limit: usize,
    ) -> Result<bool> {
        let entry = |e: &git2::TreeEntry<'_>| (e.filemode() as u32, e.id());
        let before: std::collections::HashMap<Vec<u8>, (u32, Oid)> =
            old.iter().map(|e| (e.name_bytes().to_vec(), entry(&e))).collect();
        let mut seen = HashSet::new();
        for e in new.iter() {
            let name = e.name_bytes();
            let path = join_path(prefix, name);
            check_entry(name, &mut seen, root, prefix, &path)?;
            let now = entry(&e);
            match before.get(name) {
                Some(&was) if was == now => {}
                Some(&(0o040000, a)) if now.0 == 0o040000 => {
                    check_depth(root, &path)?;
                    let a = self.inner.find_tree(a).context("reading a subtree")?;
                    let b = self.inner.find_tree(now.1).context("reading a subtree")?;
                    if !self.delta_trees(&a, &b, root, &path, out, limit)? {
                        return Ok(false);
                    }
                }
                was => out.push(Delta { path, old: was.copied(), new: Some(now) }),
            }
            if out.len() > limit {
                return Ok(false);
            }
        }
        for e in old.iter() {
            if !seen.contains(e.name_bytes()) {
                out.push(Delta { path: join_path(prefix, e.name_bytes()), old: Some(entry(&e)), new: None });
            }
        }
        Ok(out.len() <= limit)
    }

    /// Creates the file `path` (never opening an existing path: `O_EXCL`, `O_NOFOLLOW`) holding
    /// blob `id`, executable when `mode` is git's `100755`. Returns the open file.
    pub fn export_blob(&self, id: Oid, mode: u32, path: &Path) -> Result<std::fs::File> {
        use std::io::Write;
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let blob = self.inner.find_blob(id).context("reading a file")?;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .with_context(|| format!("creating {}", path.display()))?;
        file.write_all(blob.content()).with_context(|| format!("writing {}", path.display()))?;
        if mode == 0o100755 {
            file.set_permissions(std::fs::Permissions::from_mode(0o755))
                .with_context(|| format!("making {} executable", path.display()))?;
        }
        Ok(file)
    }

    /// Creates the symlink `path` whose target is blob `id`.
    pub fn export_symlink(&self, id: Oid, path: &Path) -> Result<()> {
        let blob = self.inner.find_blob(id).context("reading a symlink")?;
        std::os::unix::fs::symlink(OsStr::from_bytes(blob.content()), path)
            .with_context(|| format!("creating symlink {}", path.display()))
    }

    /// Validates `tree`'s entries and lists what to create, parents before children.
    fn plan_export(
        &self,
        tree: &Tree<'_>,
        root: Oid,
        prefix: &[u8],
        out: &mut Vec<ExportItem>,
        stop: &dyn Fn() -> bool,
    ) -> Result<()> {
        if stop() {
            return Err(Error::Interrupted.into());
        }
        let mut seen = HashSet::new();
        for entry in tree.iter() {
            let name = entry.name_bytes();
            let path = join_path(prefix, name);
            check_entry(name, &mut seen, root, prefix, &path)?;
            let mode = entry.filemode() as u32;
            out.push(ExportItem { path: path.clone(), mode, id: entry.id() });
            if mode == 0o040000 {
                check_depth(root, &path)?;
                let sub = self.inner.find_tree(entry.id()).context("reading a subtree")?;
                self.plan_export(&sub, root, &path, out, stop)?;
            }
        }
        Ok(())
    }

    /// The last `n` commits of HEAD's first-parent line, newest first, as `(commit, tree, subject)`.
    pub fn recent_commits(&self, n: usize) -> Result<Vec<(Oid, Oid, String)>> {
        let mut walk = self.inner.revwalk().context("walking history")?;
        walk.push_head().context("HEAD has no commits")?;
        walk.simplify_first_parent().context("walking history")?;
        let mut out = Vec::new();
        for oid in walk.take(n) {
            let commit =
                self.inner.find_commit(oid.context("walking history")?).context("reading a commit")?;
            let subject = commit.summary().unwrap_or("").to_string();
            out.push((commit.id(), commit.tree_id(), subject));
        }
        Ok(out)
    }

    /// The nearest tag `git describe` (libgit2's port of it) finds from `commit` with `opts`,
    /// and how many commits `commit` is past it; with no tag, `tag` is `None` and the distance
    /// is every commit in `commit`'s history (as setuptools-scm counts then).
    pub fn describe(&self, commit: Oid, opts: &crate::scm::Describe) -> Result<crate::scm::Found> {
        let object = self.inner.find_object(commit, None).context("finding the commit to describe")?;
        let mut o = git2::DescribeOptions::new();
        if opts.tags {
            o.describe_tags();
        }
        if let Some(p) = &opts.pattern {
            o.pattern(p);
        }
        o.only_follow_first_parent(opts.first_parent);
        if let Some(n) = opts.candidates {
            o.max_candidates_tags(n);
        }
        let described = match object.describe(&o) {
            Ok(d) => d,
            // libgit2 says "no reference found, cannot describe anything" as a describe-class
            // error (its code varies between versions).
            Err(e) if e.code() == ErrorCode::NotFound || e.class() == git2::ErrorClass::Describe => {
                let mut walk = self.inner.revwalk().context("walking history")?;
                walk.push(commit).context("walking history")?;
                return Ok(crate::scm::Found { tag: None, distance: walk.count() as u64 });
            }
            Err(e) => return Err(e).with_context(|| format!("describing {}", short(commit))),
        };
        let mut f = git2::DescribeFormatOptions::new();
        f.always_use_long_format(true);
        let text = described.format(Some(&f)).context("formatting `git describe`'s answer")?;
        // `<tag>-<distance>-g<hash>`; the tag itself may hold dashes.
        let parsed = text.rsplit_once("-g").and_then(|(rest, hash)| {
            let (tag, n) = rest.rsplit_once('-')?;
            (hash.chars().all(|c| c.is_ascii_hexdigit()) && !tag.is_empty()).then_some((tag, n.parse().ok()?))
        });
        let (tag, distance) =
            parsed.with_context(|| format!("cannot read `git describe`'s answer {text:?}"))?;
        Ok(crate::scm::Found { tag: Some(tag.to_string()), distance })
    }

    /// The root tree of `commit`.
    pub fn commit_tree(&self, commit: Oid) -> Result<Oid> {
        Ok(self.inner.find_commit(commit).context("reading a commit")?.tree_id())
    }

    /// The branch a tree is built on, for version schemes that read it: the pushed branch
    /// (`refs/heads/<name>`), or the local branch a revision names (`run --tree <branch>`,
    /// when it is the branch's commit), else HEAD's branch.
    pub fn branch_of(&self, tree: &TreeRef) -> Option<String> {
        if let Some(name) = tree.label.strip_prefix("refs/heads/") {
            return Some(name.to_string());
        }
        if tree.commit.is_some()
            && let Ok(branch) = self.inner.find_branch(&tree.label, git2::BranchType::Local)
            && branch.get().target() == tree.commit
        {
            return Some(tree.label.clone());
        }
        let head = self.inner.head().ok()?;
        if head.is_branch() { head.shorthand().map(str::to_string) } else { None }
    }

    /// The commit the tag `name` points at (annotated tags peeled), when the tag exists.
    pub fn tag_target(&self, name: &str) -> Result<Option<Oid>> {
        let Ok(r) = self.inner.find_reference(&format!("refs/tags/{name}")) else { return Ok(None) };
        let commit = r.peel_to_commit().with_context(|| format!("the tag {name} does not name a commit"))?;
        Ok(Some(commit.id()))
    }

    /// Deletes the local tag `name`.
    pub fn delete_tag(&self, name: &str) -> Result<()> {
        self.inner.tag_delete(name).with_context(|| format!("deleting the tag {name}"))
    }

    /// The commits a push or CI may ask about: up to `depth` commits of each branch's,
    /// remote-tracking branch's and tag's first-parent line (and HEAD's), as
    /// `(commit, tree)`, each once.
    pub fn recent_tips(&self, depth: usize) -> Result<Vec<(Oid, Oid)>> {
        let mut starts: Vec<Oid> = Vec::new();
        if let Ok(head) = self.inner.head()
            && let Some(t) = head.target()
        {
            starts.push(t);
        }
        let refs = self.inner.references().context("listing refs")?;
        for r in refs.flatten() {
            let name = r.name().unwrap_or("");
            if !(name.starts_with("refs/heads/")
                || name.starts_with("refs/remotes/")
                || name.starts_with("refs/tags/"))
            {
                continue;
            }
            if let Ok(c) = r.peel_to_commit() {
                starts.push(c.id());
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        for start in starts {
            let mut commit = self.inner.find_commit(start).ok();
            for _ in 0..depth {
                let Some(c) = commit else { break };
                if !seen.insert(c.id()) {
                    break;
                }
                out.push((c.id(), c.tree_id()));
                commit = c.parent(0).ok();
            }
        }
        Ok(out)
    }

    /// Whether tracked files differ from HEAD (staged or not); untracked files do not count.
    pub fn has_tracked_changes(&self) -> Result<bool> {
        let mut opts = git2::StatusOptions::new();
        opts.include_untracked(false).include_ignored(false);
        let statuses = self.inner.statuses(Some(&mut opts)).context("reading the working copy's status")?;
        Ok(statuses.iter().any(|e| e.status() != git2::Status::CURRENT))
    }

    /// The commit HEAD's branch's upstream points at, when HEAD is a branch with an upstream.
    pub fn upstream_of_head(&self) -> Result<Option<Oid>> {
        let Ok(head) = self.inner.head() else { return Ok(None) };
        if !head.is_branch() {
            return Ok(None);
        }
        let Some(name) = head.shorthand() else { return Ok(None) };
        let branch =
            self.inner.find_branch(name, git2::BranchType::Local).context("finding HEAD's branch")?;
        Ok(branch.upstream().ok().and_then(|u| u.get().target()))
    }

    /// Whether the tag `name` exists here.
    pub fn tag_exists(&self, name: &str) -> Result<bool> {
        Ok(self.inner.find_reference(&format!("refs/tags/{name}")).is_ok())
    }

    /// Creates the annotated tag `name` on HEAD, signed by the configured user.
    pub fn create_tag(&self, name: &str, message: &str) -> Result<()> {
        let sig = self
            .inner
            .signature()
            .or_else(|_| git2::Signature::now("hookgate", "hookgate@localhost"))
            .context("making a tagger signature")?;
        let head =
            self.inner.head().context("reading HEAD")?.peel(ObjectType::Commit).context("HEAD's commit")?;
        self.inner
            .tag(name, &head, &sig, message, false)
            .with_context(|| format!("creating the tag {name}"))?;
        Ok(())
    }

    /// The committer time of `commit` in seconds since the epoch (`git log -1 --format=%ct`).
    pub fn commit_time(&self, commit: Oid) -> Option<i64> {
        self.inner.find_commit(commit).ok().map(|c| c.time().seconds())
    }

    /// The tree of the commit the tag `name` points to (through annotated tags), if the tag
    /// exists and points to a commit.
    pub fn tag_tree(&self, name: &str) -> Option<Oid> {
        let reference = self.inner.find_reference(&format!("refs/tags/{name}")).ok()?;
        reference.peel_to_commit().ok().map(|c| c.tree_id())
    }

    /// The tags named `prefix*` whose commit has the tree `tree` (a release made from exactly
    /// this tree), sorted.
    pub fn tags_of_tree(&self, tree: Oid, prefix: &str) -> Result<Vec<String>> {
        let mut names = Vec::new();
        let pattern = format!("{prefix}*");
        for name in self.inner.tag_names(Some(&pattern)).context("listing tags")?.iter().flatten() {
            if self.tag_tree(name) == Some(tree) {
                names.push(name.to_string());
            }
        }
        names.sort();
        Ok(names)
    }

    /// What HEAD points at, for messages: a branch name, or `detached at <short>`.
    pub fn head_description(&self) -> String {
        match self.inner.head() {
            Ok(h) if self.inner.head_detached().unwrap_or(false) => {
                format!("detached HEAD at {}", h.target().map(short).unwrap_or_default())
            }
            Ok(h) => h.shorthand().unwrap_or("HEAD").to_string(),
            Err(_) => "no commits yet".into(),
        }
    }
}

/// One thing an export creates: its path below the destination, git mode and object.
#[derive(Debug, Clone)]
pub struct ExportItem {
    /// Its path below the export's root (validated: no `..`, no `.git`, no empty name).
    pub path: Vec<u8>,
    /// Git's mode: `040000` directory, `100644`/`100755` file, `120000` symlink, `160000`
    /// submodule.
    pub mode: u32,
    /// The object: a tree, a blob, or a submodule's commit.
    pub id: Oid,
}

impl ExportItem {
    /// Its path below the export's root.
    pub fn rel_path(&self) -> &Path {
        Path::new(OsStr::from_bytes(&self.path))
    }
}

/// One change between two trees (see [`Repo::tree_delta`]): git's mode and object before and
/// after (`None`: absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delta {
    /// The entry's path below the root.
    pub path: Vec<u8>,
    /// Its mode and object in the old tree.
    pub old: Option<(u32, Oid)>,
    /// Its mode and object in the new tree.
    pub new: Option<(u32, Oid)>,
}

/// `prefix/name` (`name` at the root).
fn join_path(prefix: &[u8], name: &[u8]) -> Vec<u8> {
    let mut path = prefix.to_vec();
    if !path.is_empty() {
        path.push(b'/');
    }
    path.extend_from_slice(name);
    path
}

/// Refuses an entry git would never check out (see [`entry_name_problem`]), or a name seen
/// before in the same directory (`seen`).
/// Directories a tree may nest: deeper, the walks that read it (one stack frame a level)
/// would overflow a thread's stack, and its paths would outgrow what a file system takes.
const MAX_TREE_DEPTH: usize = 1024;

/// Refuses the subtree at `path` of `root` when it lies deeper than [`MAX_TREE_DEPTH`].
fn check_depth(root: Oid, path: &[u8]) -> Result<()> {
    if path.iter().filter(|&&b| b == b'/').count() < MAX_TREE_DEPTH {
        return Ok(());
    }
    let shown: Vec<u8> = path.iter().copied().take(60).collect();
    Err(Error::Git(format!(
        "tree {} nests directories more than {MAX_TREE_DEPTH} deep (at `{}...`); refusing to export it \
         (nothing was written)",
        short(root),
        String::from_utf8_lossy(&shown)
    ))
    .into())
}

fn check_entry(
    name: &[u8],
    seen: &mut HashSet<Vec<u8>>,
    root: Oid,
    prefix: &[u8],
    path: &[u8],
) -> Result<()> {
    let problem = entry_name_problem(name)
        .or_else(|| (!seen.insert(name.to_vec())).then_some("it appears more than once in its directory"));
    let Some(why) = problem else { return Ok(()) };
    let shown = if name.is_empty() {
        [prefix, if prefix.is_empty() { b"" } else { b"/" }, b"<empty name>"].concat()
    } else {
        path.to_vec()
    };
    Err(Error::Git(format!(
        "tree {} holds the entry `{}`, which git would never check out: {why}; refusing to export it \
         (nothing was written)",
        short(root),
        String::from_utf8_lossy(&shown)
    ))
    .into())
}

/// Why git would never check out a tree entry called `name`, if it would not: an empty name,
/// `.` or `..`, a name holding `/` or NUL, or git's own directory in any case or under the
/// aliases NTFS and HFS+ resolve to it (`.git.`, `.git `, `git~1`, `.g\u{200c}it`), which git's
/// fsck refuses too.
pub fn entry_name_problem(name: &[u8]) -> Option<&'static str> {
    match name {
        b"" => Some("an empty name"),
        b"." | b".." => Some("it names a directory above or at its own"),
        _ if name.contains(&b'/') => Some("a name holding `/` is a path"),
        _ if name.contains(&0) => Some("a name holding a NUL byte"),
        _ if is_dotgit_alias(name) => Some("it is git's own `.git` directory (or an alias of it)"),
        _ => None,
    }
}

/// `.git` in any case, after HFS+ drops its ignorable code points and NTFS its trailing dots
/// and spaces (or an alternate stream, `.git::$INDEX_ALLOCATION`); or NTFS's 8.3 name `git~1`.
fn is_dotgit_alias(name: &[u8]) -> bool {
    let kept: Vec<u8> = match std::str::from_utf8(name) {
        Ok(text) => text.chars().filter(|&c| !is_hfs_ignorable(c)).collect::<String>().into_bytes(),
        Err(_) => name.to_vec(),
    };
    let lower = kept.to_ascii_lowercase();
    let Some(rest) = lower.strip_prefix(b".git").or_else(|| lower.strip_prefix(b"git~1")) else {
        return false;
    };
    rest.first() == Some(&b':') || rest.iter().all(|&b| b == b'.' || b == b' ')
}

/// The code points HFS+ ignores when comparing names (the list git's `is_hfs_dotgit` uses).
fn is_hfs_ignorable(c: char) -> bool {
    matches!(c, '\u{200c}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{206a}'..='\u{206f}' | '\u{feff}')
}

/// The first 10 hex digits of an object id, for display.
pub fn short(oid: Oid) -> String {
    oid.to_string()[..10].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_lines_parse_with_deletions_and_new_branches() {
        let z = "0".repeat(40);
        let a = "a".repeat(40);
        let text = format!("refs/heads/x {a} refs/heads/x {z}\n(delete) {z} refs/heads/old {a}\n");
        let u = parse_push_lines(&text).unwrap();
        assert_eq!(u.len(), 2);
        assert!(!u[0].is_deletion() && u[0].remote_oid.is_zero());
        assert!(u[1].is_deletion());
    }

    #[test]
    fn entry_names_git_would_not_check_out_are_named() {
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "/abs",
            ".git",
            ".GIT",
            ".git.",
            ".Git  ",
            "git~1",
            ".git::$INDEX_ALLOCATION",
            ".g\u{200c}it",
            "\u{feff}.gIt",
        ] {
            assert!(entry_name_problem(bad.as_bytes()).is_some(), "{bad:?} was accepted");
        }
        assert!(entry_name_problem(b"a\0b").is_some());
        for good in ["a", ".gitignore", ".github", "git", "..a", "...", "a.git", ".git~1"] {
            assert_eq!(entry_name_problem(good.as_bytes()), None, "{good:?} was refused");
        }
    }

    #[test]
    fn malformed_push_line_is_an_error() {
        assert!(parse_push_lines("refs/heads/x abc\n").is_err());
        assert!(parse_push_lines(&format!("a {} b {}\n", "z".repeat(40), "0".repeat(40))).is_err());
    }
}
