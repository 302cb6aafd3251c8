//! Everything hookgate asks of git, through git2: discovering the repository, naming the tree
//! under test (the index, a commit, a pushed tip, or the working copy via a throwaway index),
//! reading config blobs from it, and exporting it to a scratch directory. Nothing here writes
//! the user's working tree, index file, refs or stash.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use git2::{ErrorCode, ObjectType, Oid, Repository, Tree};
use globset::{Glob, GlobSetBuilder};

use crate::error::Error;

/// An opened, non-bare repository.
pub struct Repo {
    inner: Repository,
    common_dir: PathBuf,
    workdir: PathBuf,
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
    /// Finds the repository containing `cwd`; refuses bare repositories.
    pub fn discover(cwd: &Path) -> Result<Repo, Error> {
        let inner = Repository::discover(cwd).map_err(|e| match e.code() {
            ErrorCode::NotFound => Error::Git(format!(
                "not a git repository (or any parent up to /): {}\nhookgate works inside a clone: \
                 cd into one, or `git init` and commit your package first",
                cwd.display()
            )),
            _ => Error::Git(format!("cannot open the git repository at {}: {}", cwd.display(), e.message())),
        })?;
        let Some(workdir) = inner.workdir().map(Path::to_path_buf) else {
            return Err(Error::Git(format!(
                "{} is a bare repository: hookgate checks the trees of a working clone; \
                 install it in a clone (git clone {} pkg && cd pkg && hookgate install)",
                inner.path().display(),
                inner.path().display()
            )));
        };
        let common_dir = inner.commondir().to_path_buf();
        Ok(Repo { inner, common_dir, workdir })
    }

    /// Opens the repository whose git dir is `git_dir` again (a worker thread's own handle:
    /// git2 handles are not shared between threads).
    pub fn open(git_dir: &Path) -> Result<Repo> {
        let inner = Repository::open(git_dir)
            .with_context(|| format!("opening the repository at {}", git_dir.display()))?;
        let workdir = inner.workdir().map(Path::to_path_buf).context("the repository has no work tree")?;
        let common_dir = inner.commondir().to_path_buf();
        Ok(Repo { inner, common_dir, workdir })
    }

    /// This worktree's git dir (`.git`, or `.git/worktrees/<name>` for a linked worktree).
    pub fn git_dir(&self) -> &Path {
        self.inner.path()
    }

    /// The git dir shared by every worktree: where hooks, cache and logs live.
    pub fn common_dir(&self) -> &Path {
        &self.common_dir
    }

    /// The root of the current working tree.
    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    /// Where git runs hooks from: `core.hooksPath` when set (relative to the worktree root),
    /// else `<common dir>/hooks`. Returns whether `core.hooksPath` decided it.
    pub fn hooks_dir(&self) -> Result<(PathBuf, bool)> {
        let config = self.inner.config().context("reading git config")?;
        match config.get_path("core.hooksPath") {
            Ok(p) if p.is_absolute() => Ok((p, true)),
            Ok(p) => Ok((self.workdir.join(p), true)),
            Err(_) => Ok((self.common_dir.join("hooks"), false)),
        }
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

    /// The tree of the index being committed: `index_file` when git names one in
    /// `GIT_INDEX_FILE` (`git commit -a`, `git commit PATH`), else the repository's index.
    /// Tree objects are written to the object database; the index file is not rewritten.
    pub fn index_tree(&self, index_file: Option<&Path>) -> Result<TreeRef> {
        let mut index = match index_file {
            Some(path) => {
                let path = if path.is_absolute() { path.to_path_buf() } else { self.workdir.join(path) };
                git2::Index::open(&path).with_context(|| format!("reading the index {}", path.display()))?
            }
            None => self.inner.index().context("reading the index")?,
        };
        if index.has_conflicts() {
            bail!("the index has unresolved merge conflicts: resolve them before committing");
        }
        let tree = index.write_tree_to(&self.inner).context("writing the index's tree")?;
        let commit = self.inner.head().ok().and_then(|h| h.peel_to_commit().ok()).map(|c| c.id());
        Ok(TreeRef { id: tree, commit, label: "index".into() })
    }

    /// The tree `git add -A` would stage, built in an in-memory copy of the index that is
    /// never written back. New blobs land in the object database, as `git add` would put them.
    pub fn worktree_tree(&self) -> Result<TreeRef> {
        let mut index = self.inner.index().context("reading the index")?;
        index
            .add_all(["."], git2::IndexAddOption::DEFAULT, None)
            .context("adding the working copy to a temporary index")?;
        index.update_all(["."], None).context("recording deletions in a temporary index")?;
        let tree = index.write_tree_to(&self.inner).context("writing the working copy's tree")?;
        // Throw away the in-memory changes so nothing later can write them to disk.
        index.read(true).context("discarding the temporary index")?;
        let commit = self.inner.head().ok().and_then(|h| h.peel_to_commit().ok()).map(|c| c.id());
        Ok(TreeRef { id: tree, commit, label: "working copy".into() })
    }

    /// The content of the file at `path` in `tree`, if it is a blob there.
    pub fn read_file(&self, tree: Oid, path: &str) -> Result<Option<String>> {
        let tree = self.inner.find_tree(tree).context("finding the tree under test")?;
        let entry = match tree.get_path(Path::new(path)) {
            Ok(e) => e,
            Err(e) if e.code() == ErrorCode::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("looking up {path}")),
        };
        if entry.kind() != Some(ObjectType::Blob) {
            return Ok(None);
        }
        let blob = self.inner.find_blob(entry.id()).with_context(|| format!("reading {path}"))?;
        let text =
            String::from_utf8(blob.content().to_vec()).with_context(|| format!("{path} is not UTF-8"))?;
        Ok(Some(text))
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
    pub fn input_ids(&self, tree: Oid, patterns: &[String]) -> Result<Vec<(String, Oid)>> {
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
            root.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
                if entry.kind() == Some(ObjectType::Blob) {
                    let path = format!("{dir}{}", String::from_utf8_lossy(entry.name_bytes()));
                    if set.is_match(&path) {
                        out.push((path, entry.id()));
                    }
                }
                git2::TreeWalkResult::Ok
            })
            .context("walking the tree for `inputs`")?;
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Writes `tree` into `dest` (which must exist): blobs with their exec bits, symlinks as
    /// symlinks, submodules as empty directories.
    pub fn export(&self, tree: Oid, dest: &Path) -> Result<()> {
        let tree = self.inner.find_tree(tree).context("finding the tree to export")?;
        self.export_tree(&tree, dest)
    }

    fn export_tree(&self, tree: &Tree<'_>, dest: &Path) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        for entry in tree.iter() {
            let path = dest.join(OsStr::from_bytes(entry.name_bytes()));
            match entry.filemode() {
                0o040000 => {
                    std::fs::create_dir(&path).with_context(|| format!("creating {}", path.display()))?;
                    let sub = self.inner.find_tree(entry.id()).context("reading a subtree")?;
                    self.export_tree(&sub, &path)?;
                }
                0o120000 => {
                    let blob = self.inner.find_blob(entry.id()).context("reading a symlink")?;
                    std::os::unix::fs::symlink(OsStr::from_bytes(blob.content()), &path)
                        .with_context(|| format!("creating symlink {}", path.display()))?;
                }
                0o160000 => {
                    std::fs::create_dir(&path).with_context(|| format!("creating {}", path.display()))?;
                }
                mode => {
                    let blob = self.inner.find_blob(entry.id()).context("reading a file")?;
                    std::fs::write(&path, blob.content())
                        .with_context(|| format!("writing {}", path.display()))?;
                    if mode == 0o100755 {
                        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                            .with_context(|| format!("making {} executable", path.display()))?;
                    }
                }
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

    /// The version setuptools-scm's default scheme gives `tree`, for packages whose version
    /// comes from git: the tag (`v` stripped) on an exactly tagged commit, else the tag with its
    /// last component bumped plus `.devN` (N commits since the tag), else `0.1.devN`. The
    /// `+g<hash>` local part is left out so that a commit differing only in its message keeps
    /// its cache key. An index or working-copy tree that differs from its commit counts as
    /// the next commit (it is what is about to be committed).
    pub fn version_from_git(&self, tree: &TreeRef) -> String {
        let Some(commit) = tree.commit.and_then(|c| self.inner.find_commit(c).ok()) else {
            return "0.1.dev0".into();
        };
        let ahead = usize::from(commit.tree_id() != tree.id);
        let mut opts = git2::DescribeOptions::new();
        opts.describe_tags();
        let described = commit.as_object().describe(&opts).ok().and_then(|d| {
            let mut f = git2::DescribeFormatOptions::new();
            f.always_use_long_format(true);
            d.format(Some(&f)).ok()
        });
        if let Some(text) = described {
            let mut parts = text.rsplitn(3, '-');
            let (_hash, n, tag) = (parts.next(), parts.next(), parts.next());
            if let (Some(n), Some(tag)) = (n.and_then(|n| n.parse::<usize>().ok()), tag) {
                let release = tag.strip_prefix('v').unwrap_or(tag);
                let numbers: Option<Vec<u64>> = release.split('.').map(|p| p.parse().ok()).collect();
                if let Some(mut numbers) = numbers.filter(|n| !n.is_empty()) {
                    let distance = n + ahead;
                    if distance == 0 {
                        return release.to_string();
                    }
                    if let Some(last) = numbers.last_mut() {
                        *last += 1;
                    }
                    let bumped: Vec<String> = numbers.iter().map(u64::to_string).collect();
                    return format!("{}.dev{distance}", bumped.join("."));
                }
            }
        }
        let count =
            self.inner.revwalk().and_then(|mut w| w.push(commit.id()).map(|_| w.count())).unwrap_or(0);
        format!("0.1.dev{}", count + ahead)
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
    fn malformed_push_line_is_an_error() {
        assert!(parse_push_lines("refs/heads/x abc\n").is_err());
        assert!(parse_push_lines(&format!("a {} b {}\n", "z".repeat(40), "0".repeat(40))).is_err());
    }
}
