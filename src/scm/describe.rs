//! `git describe` answers, remembered by commit, so that the version from git costs the same
//! for fifty pushed refs on a long history as for one.
//!
//! The answer for a commit that carries no tag and has exactly one parent is its parent's,
//! one further away: git's describe walk from such a commit pops it, then walks exactly as the
//! walk from its parent does, every candidate's depth one more (and with no tag at all, the
//! count of its history is its parent's plus one). So a commit is answered by walking its
//! single-parent chain down to a commit already known, or to one that needs the real walk (a
//! tagged commit, a merge, a root), which libgit2's `describe` then answers once.
//!
//! Known answers live in memory for the run and in `<git-common-dir>/hookgate/scm/`, one file
//! per set of describe options, stamped with what can change an answer for a commit that
//! exists: every tag (name and target, so a new, moved or deleted tag starts afresh) and the
//! shallow boundary. The file holds the asked commits and checkpoints along the walked chains,
//! so a later walk stops within [`CHECKPOINT`] commits, and the version an asked commit gives
//! (the file is per set of version settings too), so a cached push compiles no tag regex; it
//! is a cache, so any trouble reading or writing it is a miss, never an error.

use std::cell::RefCell;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use anyhow::{Context, Result};
use git2::Oid;
use sha2::{Digest, Sha256};

use super::{Describe, Found};
use crate::git::Repo;

/// Commits between two remembered answers on a walked chain.
const CHECKPOINT: usize = 256;

/// Answers kept on disk per describe options; the oldest go first.
const MAX_ENTRIES: usize = 4096;

/// The first line of the file, before the state stamp.
const MAGIC: &str = "hookgate-describe-v2";

/// Remembered describe answers of one repository for one set of describe options.
pub struct Describer<'r> {
    repo: &'r Repo,
    opts: Describe,
    file: PathBuf,
    state: String,
    /// Known answers (with the version they give, once computed), and the order they were
    /// learnt in (for the disk bound).
    known: HashMap<Oid, (Found, Option<String>)>,
    order: Vec<Oid>,
    /// Answers learnt in this run that the file does not hold yet.
    fresh: usize,
    /// The commits tags point at (peeled), read when a walk first needs them.
    tagged: Option<HashSet<Oid>>,
}

impl<'r> Describer<'r> {
    /// The answers remembered for `repo` and `settings` (whose describe options are `opts`;
    /// none if the tags or the shallow boundary changed since they were written).
    pub fn open(repo: &'r Repo, settings: &super::Settings, opts: &Describe) -> Result<Describer<'r>> {
        let file = repo.common_dir().join("hookgate").join("scm").join(file_name(settings, opts));
        let state = state_stamp(repo)?;
        let mut d = Describer {
            repo,
            opts: opts.clone(),
            file,
            state,
            known: HashMap::new(),
            order: Vec::new(),
            fresh: 0,
            tagged: None,
        };
        d.load();
        Ok(d)
    }

    /// What `git describe` finds from `commit` (see [`Repo::describe`]).
    pub fn find(&mut self, commit: Oid) -> Result<Found> {
        if let Some((found, _)) = self.known.get(&commit) {
            return Ok(found.clone());
        }
        // With `--candidates 0` only an exact match counts: a parent's tag is no answer.
        if self.opts.candidates == Some(0) {
            let found = self.repo.describe(commit, &self.opts)?;
            self.learn(commit, found.clone());
            return Ok(found);
        }
        let mut chain = Vec::new();
        let mut at = commit;
        let base = loop {
            if let Some((found, _)) = self.known.get(&at) {
                break found.clone();
            }
            if self.tagged()?.contains(&at) {
                break self.walk(at)?;
            }
            let c = self.repo.git2().find_commit(at).context("reading a commit to describe")?;
            if c.parent_count() != 1 {
                break self.walk(at)?;
            }
            chain.push(at);
            at = c.parent_id(0).context("reading a commit's parent")?;
        };
        // The chain, oldest first: each one further from the base's tag.
        let n = chain.len();
        for (i, id) in chain.into_iter().rev().enumerate() {
            let found = Found { tag: base.tag.clone(), distance: base.distance + i as u64 + 1 };
            if i + 1 == n || (i + 1) % CHECKPOINT == 0 {
                self.learn(id, found);
            }
        }
        Ok(self.known.get(&commit).map_or(base, |(found, _)| found.clone()))
    }

    /// The version remembered for `commit` (its own tree, a scheme that reads no branch).
    pub fn version(&self, commit: Oid) -> Option<String> {
        self.known.get(&commit).and_then(|(_, v)| v.clone())
    }

    /// Remembers the version `commit` gives (see [`Describer::version`]).
    pub fn remember_version(&mut self, commit: Oid, version: &str) {
        if let Some((_, v)) = self.known.get_mut(&commit)
            && v.as_deref() != Some(version)
        {
            *v = Some(version.to_string());
            self.fresh += 1;
        }
    }

    /// libgit2's describe walk from `commit`, remembered.
    fn walk(&mut self, commit: Oid) -> Result<Found> {
        let found = self.repo.describe(commit, &self.opts)?;
        self.learn(commit, found.clone());
        Ok(found)
    }

    fn learn(&mut self, commit: Oid, found: Found) {
        if self.known.insert(commit, (found, None)).is_none() {
            self.order.push(commit);
            self.fresh += 1;
        }
    }

    /// The commits that tags point at: a walk must stop there (the tag may be the answer).
    fn tagged(&mut self) -> Result<&HashSet<Oid>> {
        if self.tagged.is_none() {
            let mut set = HashSet::new();
            let refs = self.repo.git2().references_glob("refs/tags/*").context("listing tags")?;
            for r in refs.flatten() {
                // A tag of a tree or blob describes nothing.
                if let Ok(c) = r.peel_to_commit() {
                    set.insert(c.id());
                }
            }
            self.tagged = Some(set);
        }
        Ok(self.tagged.get_or_insert_with(HashSet::new))
    }

    /// Reads the file; a missing, stale or damaged one gives nothing.
    fn load(&mut self) {
        let Ok(text) = std::fs::read_to_string(&self.file) else { return };
        let mut lines = text.lines();
        if lines.next() != Some(MAGIC) || lines.next() != Some(self.state.as_str()) {
            return;
        }
        let mut known = HashMap::new();
        let mut order = Vec::new();
        for line in lines {
            if line == "end" {
                self.known = known;
                self.order = order;
                return;
            }
            // `<commit> <distance> <version or -> [<tag>]` (tag names hold no space).
            let mut parts = line.splitn(4, ' ');
            let (Some(id), Some(distance), Some(version)) = (parts.next(), parts.next(), parts.next()) else {
                return;
            };
            let (Ok(id), Ok(distance)) = (Oid::from_str(id), distance.parse::<u64>()) else { return };
            if id.is_zero() || known.contains_key(&id) || version.is_empty() {
                return;
            }
            let tag = parts.next().map(str::to_string);
            let version = (version != "-").then(|| version.to_string());
            known.insert(id, (Found { tag, distance }, version));
            order.push(id);
        }
        // No `end`: a torn file.
    }

    /// Writes what this run learnt (best effort: the answers stand without it).
    pub fn save(&mut self) {
        if self.fresh == 0 {
            return;
        }
        // The tags changed since they were stamped (a tag made or deleted while a batch ran its
        // checks): git's walks since then saw the new ones, so these answers are not the
        // stamp's. Stamped as they are, they would be read back once the tags are as they were.
        if state_stamp(self.repo).ok().as_deref() != Some(self.state.as_str()) {
            return;
        }
        let skip = self.order.len().saturating_sub(MAX_ENTRIES);
        let mut text = format!("{MAGIC}\n{}\n", self.state);
        for id in &self.order[skip..] {
            let Some((found, version)) = self.known.get(id) else { continue };
            let version = version.as_deref().unwrap_or("-");
            match &found.tag {
                Some(tag) => text.push_str(&format!("{id} {} {version} {tag}\n", found.distance)),
                None => text.push_str(&format!("{id} {} {version}\n", found.distance)),
            }
        }
        text.push_str("end\n");
        if crate::cache::write_atomic(&self.file, text.as_bytes()).is_ok() {
            self.fresh = 0;
        }
    }
}

/// The file of the answers for `settings` (whose describe options are `opts`): named by
/// everything that decides an answer or the version it gives.
fn file_name(settings: &super::Settings, opts: &Describe) -> String {
    let options = format!(
        "tags={} pattern={:?} first_parent={} candidates={:?} settings={settings:?}",
        opts.tags, opts.pattern, opts.first_parent, opts.candidates
    );
    format!("describe-{}", &crate::plan::sha256_hex(options.as_bytes())[..16])
}

/// The describers that a batch of trees (the refs of one push) shares: one per set of
/// settings, opened (tags listed, file read) the first time a tree asks. The tags are read
/// then, once: a batch must not outlive a change of tags (each push, run or release makes its
/// own; a long-lived `watch` one per tree). Tags changed by someone else while a batch runs
/// its checks are not followed within it, and what it learnt is then not saved.
pub struct Describers<'r> {
    repo: &'r Repo,
    open: RefCell<HashMap<String, Describer<'r>>>,
}

impl<'r> Describers<'r> {
    /// None open yet.
    pub fn new(repo: &'r Repo) -> Describers<'r> {
        Describers { repo, open: RefCell::new(HashMap::new()) }
    }

    /// The repository they describe in.
    pub fn repo(&self) -> &'r Repo {
        self.repo
    }

    /// Calls `f` with the describer of `settings` (describe options `opts`), opening it the
    /// first time.
    pub fn with<T>(
        &self,
        settings: &super::Settings,
        opts: &Describe,
        f: impl FnOnce(&mut Describer<'r>) -> T,
    ) -> Result<T> {
        let name = file_name(settings, opts);
        let mut open = self.open.borrow_mut();
        let describer = match open.entry(name) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(Describer::open(self.repo, settings, opts)?),
        };
        Ok(f(describer))
    }
}

/// What the batch learnt is written once, when it ends.
impl Drop for Describers<'_> {
    fn drop(&mut self) {
        for describer in self.open.get_mut().values_mut() {
            describer.save();
        }
    }
}

/// What, besides the commit, decides a describe answer: every tag's name and target (a
/// lightweight tag's commit, an annotated tag's object) and the shallow boundary.
fn state_stamp(repo: &Repo) -> Result<String> {
    let mut tags: Vec<(Vec<u8>, Oid)> = Vec::new();
    let refs = repo.git2().references_glob("refs/tags/*").context("listing tags")?;
    for r in refs {
        let r = r.context("reading a tag")?;
        let target = match r.target() {
            Some(t) => t,
            // A symbolic tag: what it resolves to (nothing, if dangling).
            None => r.resolve().ok().and_then(|r| r.target()).unwrap_or_else(Oid::zero),
        };
        tags.push((r.name_bytes().to_vec(), target));
    }
    tags.sort();
    let mut h = Sha256::new();
    for (name, target) in &tags {
        h.update(name);
        h.update(b"\0");
        h.update(target.as_bytes());
    }
    h.update(b"shallow\0");
    if let Ok(shallow) = std::fs::read(repo.common_dir().join("shallow")) {
        h.update(&shallow);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}
