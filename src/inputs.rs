//! The part of a key that says which files a check reads: what its `inputs` select in the
//! tree under test. A plain path is looked up directly (a subtree or blob id); globs are
//! matched against every blob path of the tree, and what they select enters the key as a
//! digest of the sorted `(path, blob id)` list and its length, not the list itself, so a key
//! stays small whatever the tree's size.
//!
//! Matching every path of a large tree against every check's globs is the one part of
//! planning that grows with the tree, so its answer is remembered per tree id under
//! `<git-common-dir>/hookgate/inputs/` (a tree never changes; the globs are part of the entry):
//! a push of a tree already planned reads one small file instead of walking the tree. The walk
//! itself happens at most once per plan, for all checks; a file that cannot be read or written
//! is a miss, never an error.

use std::cell::{OnceCell, RefCell};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use git2::{ObjectType, Oid};
use globset::{Glob, GlobSetBuilder};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::git::Repo;

/// Changes when the matching rules or the entry format change.
const VERSION: &str = "inputs-v1";

/// Remembered trees per directory of the store (the first two hex digits of the tree id);
/// the oldest go first, so the store holds at most 256 times this many trees.
const TREES_PER_DIR: usize = 16;

/// Resolves `inputs` in one tree for the checks of one plan.
pub struct TreeInputs<'r> {
    repo: &'r Repo,
    tree: Oid,
    file: PathBuf,
    /// Remembered glob answers: digest of the globs -> (files matched, digest of the matches).
    known: RefCell<Option<BTreeMap<String, (u64, String)>>>,
    fresh: RefCell<bool>,
    /// Every blob path of the tree, once a glob missed.
    blobs: OnceCell<Vec<(String, Oid)>>,
}

impl<'r> TreeInputs<'r> {
    /// The inputs of `tree` in `repo`.
    pub fn new(repo: &'r Repo, tree: Oid) -> TreeInputs<'r> {
        let id = tree.to_string();
        let file = repo.common_dir().join("hookgate").join("inputs").join(&id[..2]).join(id);
        TreeInputs {
            repo,
            tree,
            file,
            known: RefCell::new(None),
            fresh: RefCell::new(false),
            blobs: OnceCell::new(),
        }
    }

    /// The key value of `patterns`: `{"paths": [[path, id], ...]}` for plain paths (the zero
    /// id when absent), plus `globs`, `files` and `matched` when there are glob patterns.
    pub fn key(&self, patterns: &[String]) -> Result<Value> {
        let root = self.repo.git2().find_tree(self.tree).context("finding the tree under test")?;
        let mut paths = Vec::new();
        let mut globs = Vec::new();
        for p in patterns {
            let p = p.trim_end_matches('/');
            if p.contains(['*', '?', '[', '{']) {
                globs.push(p.to_string());
            } else {
                let id = root.get_path(Path::new(p)).map_or_else(|_| Oid::zero(), |e| e.id());
                paths.push((p.to_string(), id));
            }
        }
        paths.sort();
        paths.dedup();
        let paths: Vec<Value> = paths.iter().map(|(p, o)| json!([p, o.to_string()])).collect();
        if globs.is_empty() {
            return Ok(json!({ "paths": paths }));
        }
        globs.sort();
        globs.dedup();
        let (files, matched) = self.matched(&globs)?;
        Ok(json!({ "paths": paths, "globs": globs, "files": files, "matched": matched }))
    }

    /// How many blobs `globs` select and the digest of their sorted `(path, id)` list.
    fn matched(&self, globs: &[String]) -> Result<(u64, String)> {
        let id = crate::plan::sha256_hex(format!("{VERSION}\0{}", globs.join("\0")).as_bytes());
        if let Some(found) = self.load().get(&id) {
            return Ok(found.clone());
        }
        let mut set = GlobSetBuilder::new();
        for g in globs {
            set.add(Glob::new(g).with_context(|| format!("bad glob in `inputs`: {g}"))?);
        }
        let set = set.build().context("building `inputs` globs")?;
        let blobs = match self.blobs.get() {
            Some(b) => b,
            None => {
                let all = self.walk()?;
                self.blobs.get_or_init(|| all)
            }
        };
        let mut selected: Vec<&(String, Oid)> = blobs.iter().filter(|(path, _)| set.is_match(path)).collect();
        selected.sort();
        selected.dedup();
        let mut h = Sha256::new();
        for (path, oid) in &selected {
            h.update(path.as_bytes());
            h.update(b"\0");
            h.update(oid.as_bytes());
        }
        let answer = (selected.len() as u64, crate::plan::hex(&h.finalize()));
        if let Some(known) = self.known.borrow_mut().as_mut() {
            known.insert(id, answer.clone());
        }
        *self.fresh.borrow_mut() = true;
        Ok(answer)
    }

    /// Every blob path of the tree.
    fn walk(&self) -> Result<Vec<(String, Oid)>> {
        let root = self.repo.git2().find_tree(self.tree).context("finding the tree under test")?;
        let mut all = Vec::new();
        root.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
            if entry.kind() == Some(ObjectType::Blob) {
                all.push((format!("{dir}{}", String::from_utf8_lossy(entry.name_bytes())), entry.id()));
            }
            git2::TreeWalkResult::Ok
        })
        .context("walking the tree for `inputs`")?;
        Ok(all)
    }

    /// The remembered answers (read once).
    fn load(&self) -> std::cell::RefMut<'_, BTreeMap<String, (u64, String)>> {
        let mut known = self.known.borrow_mut();
        if known.is_none() {
            *known = Some(read_entries(&self.file).unwrap_or_default());
        }
        std::cell::RefMut::map(known, |k| k.get_or_insert_with(BTreeMap::new))
    }

    /// Writes what this plan learnt (best effort), keeping the store bounded.
    pub fn save(&self) {
        if !*self.fresh.borrow() {
            return;
        }
        let known = self.known.borrow();
        let Some(known) = known.as_ref() else { return };
        let mut text = format!("{VERSION}\n");
        for (id, (files, matched)) in known {
            text.push_str(&format!("{id} {files} {matched}\n"));
        }
        text.push_str("end\n");
        if crate::cache::write_atomic(&self.file, text.as_bytes()).is_ok() {
            *self.fresh.borrow_mut() = false;
            if let Some(dir) = self.file.parent() {
                prune(dir);
            }
        }
    }
}

/// The entries of a store file; `None` when it is missing, of another version or damaged.
fn read_entries(file: &Path) -> Option<BTreeMap<String, (u64, String)>> {
    let text = std::fs::read_to_string(file).ok()?;
    let mut lines = text.lines();
    if lines.next()? != VERSION {
        return None;
    }
    let mut out = BTreeMap::new();
    for line in lines {
        if line == "end" {
            return Some(out);
        }
        let mut parts = line.split(' ');
        let (Some(id), Some(files), Some(matched), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let is_digest = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
        if !is_digest(id) || !is_digest(matched) {
            return None;
        }
        out.insert(id.to_string(), (files.parse().ok()?, matched.to_string()));
    }
    None // no `end`: a torn file
}

/// Drops the oldest trees of `dir` beyond [`TREES_PER_DIR`].
fn prune(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> =
        entries.flatten().filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path()))).collect();
    if files.len() <= TREES_PER_DIR {
        return;
    }
    files.sort();
    for (_, path) in &files[..files.len() - TREES_PER_DIR] {
        std::fs::remove_file(path).ok();
    }
}
