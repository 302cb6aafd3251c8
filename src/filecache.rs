//! Per-file results of file-local tools (`ruff check`, `ruff format --check`, `black --check`,
//! `flake8`), so that a `lint` or `format` of a new tree re-runs the tool only on the files
//! that changed.
//!
//! A result is filed under a *context* and the file's (path, blob id). The context is a digest
//! of everything besides the file's own content that can change what the tool says about it:
//! the tool and its arguments, its exact version (`--version`) and the check's resolved
//! requirement set, the tool's variables (`RUFF_*`, `BLACK_*`, `FLAKE8_*`) and
//! `XDG_CONFIG_HOME` it sees, every config file of the tree, and the tree's *layout*; which
//! files are config and which paths are layout is the tool's [`Scope`]:
//! - ruff: every TOML file (its hierarchical `pyproject.toml`/`ruff.toml`/`.ruff.toml`, and
//!   whatever `extend` names); the layout is the path of every directory, symlink (with its
//!   target), submodule and Python file (`*.py`, `*.pyi`), because ruff is not purely file-local: isort's
//!   first-party detection asks whether `<src root>/<name>` or `<name>.py` exists, INP001 and
//!   the package of a module depend on `__init__.py` files in its directories.
//! - black: every TOML file and every `.gitignore` (its discovery honours them); the layout is
//!   every path of the tree, because the files black checks are learnt from a whole-tree run of
//!   the context (black cannot list them without checking them). A `pyproject.toml` below the
//!   root or a `.hg` makes black take another project root for some files: no per-file
//!   results.
//! - flake8: `setup.cfg`, `tox.ini`, `.flake8`; no layout (flake8's own discovery is asked for
//!   the files every time, and pyflakes, pycodestyle and mccabe read one file at a time).
//!
//! So an edit of file contents (and of any file that is not config nor, for ruff, Python)
//! reuses every other file's result, while a layout or config change starts a new context:
//! every file is checked again. Only regular files are cached (a symlink's blob is its
//! target's name, not the content the tool reads). A tree with a symlinked config file, a path
//! that is not UTF-8 or holds a control character (answers are read line by line) gets no
//! per-file results at all.
//!
//! One manifest per context, `<git-common-dir>/hookgate/filecache/<context>.json`, written
//! atomically, bounded (the current tree's entries plus as many older ones), and pruned like a
//! verdict by `cache gc` and the cache's size bound (see [`crate::gc`]). Results are only ever
//! written by a local run whose every tool invocation ended normally: never by an interrupted,
//! timed-out or failed-to-start one, and never taken from shared verdicts.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Bumped when the manifest format or the context recipe changes (2: a file's exec bit, a
/// symlink's target; results and summaries made without them, or in a view called `tree`,
/// are not trusted).
const SCHEMA: u32 = 2;

/// A manifest larger than this is not one hookgate wrote: ignored.
const MAX_MANIFEST_BYTES: u64 = 256 << 20;

/// Older entries a manifest keeps beyond the current tree's, at least.
const MIN_KEPT: usize = 2000;

/// Where per-file results live, and whether this run may reuse them (`--force` re-checks every
/// file and refreshes the results).
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
    /// Re-check every file (`--force`), still writing the results.
    pub refresh: bool,
}

/// Which tree entries make a tool's context (see the module's doc): the files whose content
/// is its config, the entries whose paths are its layout, and entries that rule the per-file
/// results out for the whole tree.
#[derive(Debug, Clone, Copy)]
pub struct Scope {
    /// Whether a file (by its name) is config: its content is part of the context.
    pub config: fn(&str) -> bool,
    /// Which paths are the layout.
    pub layout: Layout,
    /// Why an entry (by its path) rules the per-file results out, if it does.
    pub refuse: fn(&str) -> Option<&'static str>,
    /// Whether a config file can take another file's settings with ruff's `extend`: one that
    /// is not a TOML file of the tree (the context's config) rules the per-file results out.
    pub extends: bool,
}

/// Which paths of the tree are part of a context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Every directory, symlink, submodule and Python file (ruff: imports and packages).
    Python,
    /// Every entry (black: its file list is learnt from a whole-tree run of the context).
    Every,
    /// None (flake8: asked which files it checks every time, each file checked on its own).
    Nothing,
}

/// What the tree says about the files a tool is given.
#[derive(Debug, Default)]
pub struct TreeFacts {
    /// Blob id of every regular Python file, by path, with `+x` when it is executable (ruff's
    /// EXE rules read the mode, which the blob id does not carry).
    pub blobs: HashMap<String, String>,
    /// Digest of every config file (path and blob id).
    pub config: String,
    /// Digest of the layout (see the module's doc).
    pub layout: String,
}

/// Reads the facts of `tree` for a tool of `scope`; `Err` is why per-file results cannot be
/// used for it.
pub fn tree_facts(
    repo: &git2::Repository,
    tree: git2::Oid,
    scope: Scope,
) -> Result<std::result::Result<TreeFacts, String>> {
    let tree = repo.find_tree(tree).with_context(|| format!("reading tree {tree}"))?;
    let (mut config, mut layout) = (Sha256::new(), Sha256::new());
    let mut facts = TreeFacts::default();
    let mut problem: Option<String> = None;
    tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
        let Ok(name) = std::str::from_utf8(entry.name_bytes()) else {
            problem = Some(format!("a path that is not UTF-8 under `{dir}`"));
            return git2::TreeWalkResult::Abort;
        };
        let path = format!("{dir}{name}");
        // A tool's answer is read line by line: a name that breaks a line is not trusted.
        if name.chars().any(char::is_control) {
            problem = Some(format!("a path with a control character under `{dir}`"));
            return git2::TreeWalkResult::Abort;
        }
        if let Some(why) = (scope.refuse)(&path) {
            problem = Some(format!("`{path}`: {why}"));
            return git2::TreeWalkResult::Abort;
        }
        let python = name.ends_with(".py") || name.ends_with(".pyi");
        let is_config = (scope.config)(name);
        let in_layout = scope.layout != Layout::Nothing;
        // Lines end in NUL: a path cannot hold one, so two layouts never hash alike.
        match (entry.kind(), entry.filemode()) {
            (Some(git2::ObjectType::Blob), mode @ (0o100644 | 0o100755)) => {
                if python {
                    let exec = if mode == 0o100755 { "+x" } else { "" };
                    facts.blobs.insert(path.clone(), format!("{}{exec}", entry.id()));
                }
                if in_layout && (python || scope.layout == Layout::Every) {
                    layout.update(format!("f {path}\0"));
                }
                if is_config {
                    config.update(format!("{} {path}\0", entry.id()));
                    if scope.extends
                        && let Ok(blob) = repo.find_blob(entry.id())
                        && let Some(why) = extend_problem(&path, blob.content())
                    {
                        problem = Some(why);
                        return git2::TreeWalkResult::Abort;
                    }
                }
            }
            (Some(git2::ObjectType::Blob), _) if is_config => {
                problem = Some(format!("`{path}` is a symlink (the tool reads the file it points to)"));
                return git2::TreeWalkResult::Abort;
            }
            // A symlink's target (its blob) decides what the path is to a tool: a directory, a
            // file, nothing (isort's first-party detection follows it).
            (kind, 0o120000) if in_layout => {
                layout.update(format!("{kind:?} 120000 {path} -> {}\0", entry.id()));
            }
            (kind, mode) if in_layout => layout.update(format!("{kind:?} {mode:o} {path}\0")),
            _ => {}
        }
        git2::TreeWalkResult::Ok
    })
    .or_else(|e| if problem.is_some() { Ok(()) } else { Err(e) })
    .context("walking the tree")?;
    if let Some(p) = problem {
        return Ok(Err(p));
    }
    facts.config = crate::plan::hex(&config.finalize());
    facts.layout = crate::plan::hex(&layout.finalize());
    Ok(Ok(facts))
}

/// Why the config file `path` rules the per-file results out, if it does: its ruff `extend`
/// (`tool.ruff.extend` in a `pyproject.toml`, else a top-level `extend`) names a file the
/// context does not cover, one that is not a TOML file of the tree (`ruff-base.cfg`, an
/// absolute path, a `~` or `$` expansion, a path above the tree's root).
fn extend_problem(path: &str, content: &[u8]) -> Option<String> {
    let doc: toml::Table = std::str::from_utf8(content).ok()?.parse().ok()?;
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    let extend = if name == "pyproject.toml" {
        doc.get("tool")?.get("ruff")?.get("extend")?
    } else {
        doc.get("extend")?
    };
    let target = extend.as_str()?;
    let mut at: Vec<&str> = dir.split('/').filter(|c| !c.is_empty()).collect();
    let mut inside = !target.starts_with(['/', '~']) && !target.contains('$');
    for c in target.split('/') {
        match c {
            "" | "." => {}
            ".." => inside &= at.pop().is_some(),
            _ => at.push(c),
        }
    }
    (!inside || !target.ends_with(".toml")).then(|| {
        format!(
            "`{path}` extends `{target}`, which is not a TOML file of the tree (its changes would go unseen)"
        )
    })
}

/// The key of a context: a SHA-256 over what is described in the module's doc — the tool's
/// [`identity`] and the tree's config files and layout.
pub fn context_key(identity: &str, facts: &TreeFacts) -> String {
    let inputs = serde_json::json!({
        "identity": identity,
        "config": facts.config,
        "layout": facts.layout,
    });
    crate::plan::sha256_hex(inputs.to_string().as_bytes())
}

/// One file's result.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileResult {
    /// How many problems the tool reported in it (0: it passed).
    pub problems: u32,
    /// When a run last used it (seconds since the Unix epoch), for trimming.
    pub seen: u64,
}

/// The results of one context, by `"<blob id> <path>"`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Manifest {
    schema: u32,
    key: String,
    entries: BTreeMap<String, FileResult>,
    /// The files a whole-tree run of this context checked, for a tool whose discovery cannot
    /// be asked on its own (black).
    #[serde(default)]
    pub files: Option<Vec<String>>,
}

fn entry_key(path: &str, blob: &str) -> String {
    format!("{blob} {path}")
}

impl Manifest {
    /// Whether it holds no result.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The result for `path` at `blob`, if one is stored.
    pub fn get(&self, path: &str, blob: &str) -> Option<FileResult> {
        self.entries.get(&entry_key(path, blob)).copied()
    }

    /// Stores a result.
    pub fn put(&mut self, path: &str, blob: &str, result: FileResult) {
        self.entries.insert(entry_key(path, blob), result);
    }

    /// Keeps the entries seen at `now` plus at most as many (at least [`MIN_KEPT`]) of the
    /// most recently seen others.
    fn trim(&mut self, now: u64) {
        let current = self.entries.values().filter(|r| r.seen >= now).count();
        let budget = current + current.max(MIN_KEPT);
        if self.entries.len() <= budget {
            return;
        }
        let mut seen: Vec<u64> = self.entries.values().map(|r| r.seen).collect();
        seen.sort_unstable_by(|a, b| b.cmp(a));
        let cutoff = seen[budget - 1];
        let mut kept_at_cutoff = budget - seen.iter().filter(|&&s| s > cutoff).count();
        self.entries.retain(|_, r| {
            if r.seen > cutoff {
                true
            } else if r.seen == cutoff && kept_at_cutoff > 0 {
                kept_at_cutoff -= 1;
                true
            } else {
                false
            }
        });
    }
}

/// One tree's whole answer in one context, so that the next tree, when it differs only in the
/// content of some files, is answered from it and those files alone (see
/// [`crate::checks`]' `filewise::run_delta`). Kept per tool identity (the context's key
/// without the tree's config and layout) in `filecache/<identity>.trees.json`, the
/// [`MAX_SUMMARIES`] most recent trees.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TreeSummary {
    /// The tree.
    pub tree: String,
    /// Its context's key.
    pub key: String,
    /// How many files the tool checks in it.
    pub files: usize,
    /// The tree's regular Python files (`*.py`, `*.pyi`) the tool does not check (its
    /// excludes), sorted.
    pub excluded: Vec<String>,
    /// The files with problems, and how many.
    pub failing: BTreeMap<String, u32>,
}

/// Trees a tool identity keeps summaries of.
pub const MAX_SUMMARIES: usize = 8;

/// A summary with more excluded files than this is not kept (it would cost what it saves).
pub const MAX_EXCLUDED: usize = 20_000;

/// The summaries file of an identity, as written.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Summaries {
    schema: u32,
    identity: String,
    trees: Vec<TreeSummary>,
}

/// The identity of a tool, its part of a context: `tool` names the tool and its arguments,
/// `version` its exact version, `resolved` the check's resolved requirement set, `env` the
/// variables the tool reads.
pub fn identity(tool: &str, version: &str, resolved: &[String], env: &[(String, String)]) -> String {
    let inputs = serde_json::json!({
        "schema": SCHEMA,
        "tool": tool,
        "version": version,
        "resolved": resolved,
        "env": env,
    });
    crate::plan::sha256_hex(inputs.to_string().as_bytes())
}

impl Store {
    fn summaries_path(&self, identity: &str) -> PathBuf {
        self.dir.join(format!("{identity}.trees.json"))
    }

    /// The summaries of `identity`, most recent first (none when the file is not one hookgate
    /// wrote for it).
    pub fn summaries(&self, identity: &str) -> Vec<TreeSummary> {
        let path = self.summaries_path(identity);
        let Ok(meta) = std::fs::symlink_metadata(&path) else { return Vec::new() };
        if !meta.is_file() || meta.len() > MAX_MANIFEST_BYTES {
            return Vec::new();
        }
        let Ok(bytes) = std::fs::read(&path) else { return Vec::new() };
        match serde_json::from_slice::<Summaries>(&bytes) {
            Ok(s) if s.schema == SCHEMA && s.identity == identity => s.trees,
            _ => Vec::new(),
        }
    }

    /// Adds `summary` as the most recent of `identity` (replacing one of the same tree).
    pub fn save_summary(&self, identity: &str, summary: TreeSummary) -> Result<()> {
        if summary.excluded.len() > MAX_EXCLUDED {
            return Ok(());
        }
        let mut trees = self.summaries(identity);
        trees.retain(|t| t.tree != summary.tree);
        trees.insert(0, summary);
        trees.truncate(MAX_SUMMARIES);
        let file = Summaries { schema: SCHEMA, identity: identity.to_string(), trees };
        let bytes = serde_json::to_vec(&file).context("serializing the tree summaries")?;
        crate::cache::write_atomic(&self.summaries_path(identity), &bytes)
    }

    /// The store under the cache root `<git-common-dir>/hookgate`.
    pub fn new(cache_root: &Path, refresh: bool) -> Store {
        Store { dir: cache_root.join("filecache"), refresh }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    /// The manifest of context `key`; empty when there is none or it is not one hookgate
    /// wrote for that key (a symlink, too large, corrupt, another schema or key).
    pub fn load(&self, key: &str) -> Manifest {
        let empty =
            || Manifest { schema: SCHEMA, key: key.to_string(), entries: BTreeMap::new(), files: None };
        let path = self.path(key);
        let Ok(meta) = std::fs::symlink_metadata(&path) else { return empty() };
        if !meta.is_file() || meta.len() > MAX_MANIFEST_BYTES {
            return empty();
        }
        let Ok(bytes) = std::fs::read(&path) else { return empty() };
        match serde_json::from_slice::<Manifest>(&bytes) {
            Ok(m) if m.schema == SCHEMA && m.key == key => m,
            _ => empty(),
        }
    }

    /// Writes `manifest` atomically, trimmed (see [`Manifest::trim`]); `now` is this run's time.
    pub fn save(&self, mut manifest: Manifest, now: u64) -> Result<()> {
        manifest.trim(now);
        let bytes = serde_json::to_vec(&manifest).context("serializing per-file results")?;
        crate::cache::write_atomic(&self.path(&manifest.key), &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(problems: u32, seen: u64) -> FileResult {
        FileResult { problems, seen }
    }

    #[test]
    fn a_manifest_round_trips_and_refuses_another_key() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path(), false);
        let key = "a".repeat(64);
        let mut m = store.load(&key);
        m.put("src/a b.py", "1234", result(2, 10));
        store.save(m, 10).unwrap();
        let back = store.load(&key);
        assert_eq!(back.get("src/a b.py", "1234"), Some(result(2, 10)));
        assert_eq!(back.get("src/a b.py", "5678"), None);
        std::fs::copy(store.path(&key), store.path(&"b".repeat(64))).unwrap();
        assert!(store.load(&"b".repeat(64)).entries.is_empty(), "a manifest copied under another key");
        std::fs::write(store.path(&key), b"{ not json").unwrap();
        assert!(store.load(&key).entries.is_empty());
    }

    /// A tree of `(path, mode, content)` entries in a fresh repository.
    fn tree(repo: &git2::Repository, entries: &[(&str, i32, &str)]) -> git2::Oid {
        let mut index = git2::Index::new().unwrap();
        for (path, mode, content) in entries {
            let id = repo.blob(content.as_bytes()).unwrap();
            let mut e = git2::IndexEntry {
                ctime: git2::IndexTime::new(0, 0),
                mtime: git2::IndexTime::new(0, 0),
                dev: 0,
                ino: 0,
                mode: *mode as u32,
                uid: 0,
                gid: 0,
                file_size: 0,
                id,
                flags: 0,
                flags_extended: 0,
                path: path.as_bytes().to_vec(),
            };
            e.flags = e.path.len().min(0xfff) as u16;
            index.add(&e).unwrap();
        }
        index.write_tree_to(repo).unwrap()
    }

    #[test]
    fn edits_keep_the_layout_adds_renames_and_config_change_it() {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init(dir.path()).unwrap();
        let ruff = Scope {
            config: |n| n.ends_with(".toml"),
            layout: Layout::Python,
            refuse: |_| None,
            extends: true,
        };
        let facts = |entries: &[(&str, i32, &str)]| tree_facts(&repo, tree(&repo, entries), ruff).unwrap();
        let base = [
            ("pyproject.toml", 0o100644, "[tool.ruff]\n"),
            ("pkg/__init__.py", 0o100644, ""),
            ("pkg/a.py", 0o100644, "A = 1\n"),
            ("README.md", 0o100644, "hi\n"),
        ];
        let b = facts(&base).unwrap();
        assert_eq!(b.blobs.len(), 2, "only the Python files: {:?}", b.blobs);
        let mut edited = base;
        edited[2].2 = "A = 2\n";
        edited[3].2 = "hello\n";
        let e = facts(&edited).unwrap();
        assert_eq!((&e.layout, &e.config), (&b.layout, &b.config));
        assert_ne!(e.blobs["pkg/a.py"], b.blobs["pkg/a.py"]);
        let mut renamed = base;
        renamed[2].0 = "pkg/b.py";
        assert_ne!(facts(&renamed).unwrap().layout, b.layout);
        let mut added = base.to_vec();
        added.push(("pkg/sub/__init__.py", 0o100644, ""));
        assert_ne!(facts(&added).unwrap().layout, b.layout);
        let mut config = base;
        config[0].2 = "[tool.ruff]\nline-length = 79\n";
        let c = facts(&config).unwrap();
        assert_eq!(c.layout, b.layout);
        assert_ne!(c.config, b.config);
        // A symlink's blob is its target's name: never cached; a symlinked TOML file: no
        // per-file results at all.
        let mut linked = base.to_vec();
        linked.push(("pkg/link.py", 0o120000, "a.py"));
        let l = facts(&linked).unwrap();
        assert!(!l.blobs.contains_key("pkg/link.py"));
        assert_ne!(l.layout, b.layout);
        let mut retargeted = base.to_vec();
        retargeted.push(("pkg/link.py", 0o120000, "b.py"));
        assert_ne!(facts(&retargeted).unwrap().layout, l.layout, "a symlink's target is part of the layout");
        linked.push(("ruff.toml", 0o120000, "elsewhere.cfg"));
        assert!(facts(&linked).unwrap_err().contains("symlink"));
    }

    #[test]
    fn a_ruff_extend_naming_what_the_context_does_not_cover_is_a_problem() {
        let p = |path, text: &str| extend_problem(path, text.as_bytes());
        assert_eq!(p("pyproject.toml", "[tool.ruff]\nextend = \"base.toml\"\n"), None);
        assert_eq!(p("sub/ruff.toml", "extend = \"../base.toml\"\n"), None);
        assert_eq!(p("ruff.toml", "line-length = 1\n"), None);
        assert_eq!(p("pyproject.toml", "extend = \"x.cfg\"\n"), None, "not ruff's key in a pyproject.toml");
        let cfg = p("pyproject.toml", "[tool.ruff]\nextend = \"ruff-base.cfg\"\n");
        assert!(cfg.is_some_and(|why| why.contains("`ruff-base.cfg`")));
        for bad in ["/etc/ruff.toml", "~/ruff.toml", "$HOME/ruff.toml", "../ruff.toml", "a/../../r.toml"] {
            assert!(p(".ruff.toml", &format!("extend = \"{bad}\"\n")).is_some(), "{bad}");
        }
    }

    #[test]
    fn trimming_keeps_the_current_entries_and_the_most_recent_others() {
        let mut m = Manifest::default();
        for i in 0..3000u64 {
            m.put(&format!("f{i}.py"), "old", result(0, i));
        }
        for i in 0..10u64 {
            m.put(&format!("f{i}.py"), "new", result(0, 5000));
        }
        m.trim(5000);
        assert_eq!(m.entries.len(), 10 + MIN_KEPT);
        assert!(m.get("f0.py", "new").is_some());
        assert!(m.get("f2999.py", "old").is_some());
        assert!(m.get("f0.py", "old").is_none());
    }
}
