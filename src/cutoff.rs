//! Early cutoff for the tests: a second key for `test` and `coverage`, computed at run time once
//! their needs passed, under which a verdict this clone reached on one tree answers another tree
//! whose tests would meet exactly the same things. A docs edit rebuilds the wheel, finds it
//! identical, and does not run the suite again.
//!
//! The cutoff key of a check is its cache key's inputs with two changes:
//!
//! - the **needs** are replaced by what the check takes from them: for `wheel`, the contents of
//!   each wheel it built, file by file (name, permission bits, SHA-256 of the bytes); for a need
//!   that cuts off itself (`coverage`'s `test`), that need's cutoff key. A wheel's zip timestamps
//!   are left out: they are `SOURCE_DATE_EPOCH`, the commit's time, which differs for every
//!   commit, and an install does not carry them to the files the tests import;
//! - the **input tree** is replaced by what the tests can see of it ([`visible`]): every entry
//!   of the tree by id, except the docs-only paths the tests do not reach.
//!
//! Everything else stays: the check's definition, options, environment, interpreter, the
//! version from git, the files its environment is installed from (`pyproject.toml`, tox,
//! requirement files, the lock). Files inside the wheel need no rule of their own: a change to
//! one changes the wheel.
//!
//! Which docs-only paths are left out, conservatively (the tests run in the exported tree and
//! can read any file):
//!
//! - candidates: the root directories `docs/` and `doc/`, the directory `mkdocs.yml` names as
//!   `docs_dir`, and root files `*.md`, `*.rst`, `*.adoc`, `*.markdown`, `mkdocs.yml`,
//!   `mkdocs.yaml`, `.readthedocs.yml`, `.readthedocs.yaml`;
//! - inside a left-out directory, what configures or installs something still counts:
//!   `conftest.py`, `*.ini`, `*.cfg`, `*.toml`, `*.lock`, `*.in`, requirement and constraint
//!   `*.txt` files;
//! - no candidate is left out when the run collects from the whole tree (no test paths: pytest
//!   without `testpaths`, tests/ or test/; unittest discovery), or when pytest's configuration
//!   (`pytest.ini`, `[tool.pytest]` in `pyproject.toml`, `[pytest]` in `tox.ini`,
//!   `[tool:pytest]` in `setup.cfg`), the root `conftest.py`, a `conftest.py` among the tests or
//!   the check's `args` mention doctests or a docs collector (`doctest`, `sybil`, `markdown`,
//!   `codeblock`, `mktestdocs`), or when one of those files cannot be read;
//! - a candidate counts when a test path overlaps it, or when the test side (every file under
//!   the test paths, the root `conftest.py`, the target of every symlink in the tree) names it:
//!   its name (`docs`, `README`), or for a directory the docs extensions (`.rst`, `.md`,
//!   `.adoc`, `.ipynb`), for a file its own, as a word; so does every candidate when the test
//!   side is too large to read (over 32 MiB, or a text file over 4 MiB).
//!
//! A verdict is reused only when it is a real one (pass or fail, never a setup error, which
//! leaves no record), reached by this clone (not taken from a shared statement), still valid
//! (its resolution current, the artifacts of a pass still there), and never under `--force`.
//! A check that opts out (`cutoff = false` in `[checks.test]`) never cuts off.
//!
//! Where they are kept: `<git-common-dir>/hookgate/cutoffs/<pre>/<needs>.json`, a pointer from
//! the two halves of the cutoff key to the key (and tree) whose run reached the verdict. The
//! first half (`pre`) is known before the needs ran: a run looks for a pointer directory
//! under it, and only then waits for its needs before preparing anything.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};
use git2::{ObjectType, Oid, Tree, TreeWalkMode, TreeWalkResult};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::cache::{Cache, write_atomic};
use crate::git::Repo;
use crate::plan::{Plan, PlannedCheck, digest};

/// Bumped whenever the rule changes: part of every cutoff key.
pub const RULE: u32 = 1;

/// What a check's tests collect, as far as the tree and the check's definition say (see
/// [`crate::checks::Check::cutoff_reads`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestReads {
    /// Directories or files (relative to the root) the run collects tests from; empty: the
    /// whole tree (pytest with no path and no `testpaths`, unittest discovery).
    pub paths: Vec<String>,
    /// The check's own arguments (searched for doctest-like options).
    pub args: Vec<String>,
}

/// What the tests can see of a tree, for the key, and what was left out, for the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Visible {
    /// `[path, mode, id]` of every entry that counts, in tree order.
    pub entries: Vec<(String, u32, String)>,
    /// The docs-only paths left out.
    pub left_out: Vec<String>,
}

/// The first half of `c`'s cutoff key, known before its needs ran: its key's inputs without
/// the needs, with the input tree replaced by [`visible`]. `None` when `c` never cuts off.
pub fn pre_key(repo: &Repo, plan: &Plan, c: &PlannedCheck) -> Result<Option<(String, Visible)>> {
    let Some(reads) = c.def.kind.cutoff_reads(&c.def, &plan.config, repo, &plan.tree)? else {
        return Ok(None);
    };
    let mut inputs = c.key_inputs.clone();
    let Some(map) = inputs.as_object_mut() else { return Ok(None) };
    map.remove("needs");
    let mut seen = Visible::default();
    // Hand-written `inputs` already say what the check reads: they stay as they are.
    if map.get("input").and_then(|i| i.get("tree")).is_some() {
        seen = visible(repo, plan.tree.id, &reads)?;
        let entries: Vec<Value> = seen.entries.iter().map(|(p, m, id)| json!([p, m, id])).collect();
        map.insert("input".into(), json!({ "visible": entries }));
    }
    map.insert("cutoff".into(), json!(RULE));
    Ok(Some((digest(&inputs), seen)))
}

/// The second half of `c`'s cutoff key, once every need passed: for `wheel`, the contents of
/// the wheels it kept; for a need that cuts off itself, that need's whole cutoff key. `None`
/// when a need is neither (a custom need covers the whole tree) or kept no wheel.
pub fn needs_key(repo: &Repo, plan: &Plan, c: &PlannedCheck, cache: &Cache) -> Result<Option<String>> {
    let mut needs = serde_json::Map::new();
    for &j in &c.needs {
        let n = &plan.checks[j];
        let id = if n.def.kind.name() == "wheel" {
            match wheels_key(&cache.artifacts_dir(&n.key))? {
                Some(w) => w,
                None => return Ok(None),
            }
        } else {
            match full_key(repo, plan, n, cache)? {
                Some(k) => json!(k),
                None => return Ok(None),
            }
        };
        needs.insert(n.def.name.clone(), id);
    }
    Ok(Some(digest(&Value::Object(needs))))
}

/// `c`'s whole cutoff key (both halves), once its needs passed.
fn full_key(repo: &Repo, plan: &Plan, c: &PlannedCheck, cache: &Cache) -> Result<Option<String>> {
    let Some((pre, _)) = pre_key(repo, plan, c)? else { return Ok(None) };
    let Some(needs) = needs_key(repo, plan, c, cache)? else { return Ok(None) };
    Ok(Some(digest(&json!([pre, needs]))))
}

/// The contents of every wheel directly inside `dir`, by file name (which carries the
/// project, version and tags); `None` when there is none.
fn wheels_key(dir: &Path) -> Result<Option<Value>> {
    if !dir.is_dir() {
        return Ok(None);
    }
    let mut out = BTreeMap::new();
    for path in crate::checks::list_files(dir)? {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.ends_with(".whl") {
            out.insert(name, wheel_contents(&path)?);
        }
    }
    Ok((!out.is_empty()).then(|| json!(out)))
}

/// A digest of a wheel's contents, entry by entry: the name's bytes, the Unix permission bits
/// and the SHA-256 of the uncompressed bytes, sorted by name. The zip's timestamps,
/// compression and entry order are left out: an install does not carry them.
pub fn wheel_contents(path: &Path) -> Result<String> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
        .with_context(|| format!("{} is not a readable zip archive", path.display()))?;
    let mut entries = Vec::with_capacity(zip.len());
    let mut buf = vec![0; 1 << 16];
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).with_context(|| format!("reading {}", path.display()))?;
        let name = crate::plan::hex(entry.name_raw());
        let mode = entry.unix_mode();
        let mut hasher = Sha256::new();
        loop {
            let n = entry.read(&mut buf).with_context(|| format!("reading {}", path.display()))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        entries.push(json!([name, mode, crate::plan::hex(&hasher.finalize())]));
    }
    entries.sort_by_key(Value::to_string);
    Ok(digest(&json!(entries)))
}

/// Bytes of the test side read at most; beyond, every docs candidate counts.
const MAX_TEST_SIDE_BYTES: usize = 32 << 20;

/// A text file of the test side larger than this makes every docs candidate count (a binary
/// one is skipped: it names no path a test would follow).
const MAX_TEXT_BYTES: usize = 4 << 20;

/// Words in pytest's configuration or the test setup that mean docs files may be collected.
const DOCS_COLLECTORS: &[&str] = &["doctest", "sybil", "markdown", "codeblock", "mktestdocs"];

/// Extensions of docs pages: a test side that names one reaches a docs directory.
const DOCS_EXTENSIONS: &[&str] = &["rst", "md", "adoc", "ipynb"];

/// What the tests can see of `tree` (see the module's rule): every root entry by id, but the
/// docs-only paths they do not reach, of which only the files that configure or install
/// something are kept.
pub fn visible(repo: &Repo, tree: Oid, reads: &TestReads) -> Result<Visible> {
    let git = repo.git2();
    let root = git.find_tree(tree).context("finding the tree under test")?;
    let candidates = docs_candidates(repo, &root, tree)?;
    let left_out: Vec<String> = if candidates.is_empty() || collects_everything(reads) {
        Vec::new()
    } else {
        match TestSide::read(repo, &root, tree, reads)? {
            Some(side) if !side.collects_docs => candidates
                .into_iter()
                .filter(|c| !reads.paths.iter().any(|p| overlaps(p, &c.path)) && !side.names(c))
                .map(|c| c.path)
                .collect(),
            _ => Vec::new(),
        }
    };
    let mut entries = Vec::new();
    walk_visible(git, &root, "", &left_out, &mut entries)?;
    Ok(Visible { entries, left_out })
}

/// A docs-only path that may be left out.
#[derive(Debug, Clone)]
struct Candidate {
    path: String,
    dir: bool,
}

impl Candidate {
    /// The words that name it in test code: a directory's name; a file's stem, and its extension.
    fn words(&self) -> Vec<String> {
        let name = self.path.rsplit('/').next().unwrap_or(&self.path).to_ascii_lowercase();
        let name = name.trim_start_matches('.').to_string();
        if self.dir {
            return vec![name];
        }
        match name.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => vec![stem.to_string(), format!(".{ext}")],
            _ => vec![name],
        }
    }
}

/// The docs-only paths of `root` (see the module's rule), directories first.
fn docs_candidates(repo: &Repo, root: &Tree<'_>, tree: Oid) -> Result<Vec<Candidate>> {
    let mut dirs: Vec<String> = vec!["docs".into(), "doc".into()];
    for f in ["mkdocs.yml", "mkdocs.yaml"] {
        // An unreadable file names nothing: `docs/` stays the only candidate.
        if let Some(dir) = repo.read_file(tree, f).ok().flatten().as_deref().and_then(mkdocs_docs_dir) {
            dirs.push(dir);
        }
    }
    let mut out = Vec::new();
    for d in dirs {
        if !out.iter().any(|c: &Candidate| c.path == d)
            && root.get_path(Path::new(&d)).is_ok_and(|e| e.kind() == Some(ObjectType::Tree))
        {
            out.push(Candidate { path: d, dir: true });
        }
    }
    for entry in root.iter() {
        let Ok(name) = std::str::from_utf8(entry.name_bytes()) else { continue };
        // Regular files only: a symlink's target is wherever it points.
        if !matches!(entry.filemode(), 0o100644 | 0o100755) {
            continue;
        }
        let lower = name.to_ascii_lowercase();
        let page = [".md", ".rst", ".adoc", ".markdown"].iter().any(|e| lower.ends_with(e));
        let docs_config =
            ["mkdocs.yml", "mkdocs.yaml", ".readthedocs.yml", ".readthedocs.yaml"].contains(&lower.as_str());
        if page || docs_config {
            out.push(Candidate { path: name.to_string(), dir: false });
        }
    }
    Ok(out)
}

/// MkDocs' `docs_dir` when it is a plain relative path inside the tree.
fn mkdocs_docs_dir(text: &str) -> Option<String> {
    let line = text.lines().find(|l| l.starts_with("docs_dir:"))?;
    let value = line["docs_dir:".len()..].split(" #").next()?.trim().trim_matches(['"', '\'']);
    let value = value.trim_start_matches("./").trim_end_matches('/');
    let plain = !value.is_empty()
        && !value.starts_with('/')
        && value.split('/').all(|c| !c.is_empty() && c != "." && c != "..");
    plain.then(|| value.to_string())
}

/// Whether the run collects from the whole tree (or from a path that cannot be compared).
fn collects_everything(reads: &TestReads) -> bool {
    reads.paths.is_empty()
        || reads.paths.iter().any(|p| {
            let p = normal(p);
            p.is_empty()
                || p.starts_with('/')
                || p.split('/').any(|c| c == "..")
                || p.contains(['*', '?', '['])
        })
}

/// A path as written in a config (`./tests/`, `tests/a.py::test_b`) as a tree path (`tests`).
fn normal(path: &str) -> String {
    let path = path.split("::").next().unwrap_or(path);
    let mut p = path.trim();
    while let Some(rest) = p.strip_prefix("./") {
        p = rest;
    }
    let p = p.trim_end_matches('/');
    if p == "." { String::new() } else { p.to_string() }
}

/// Whether one of two tree paths is the other or inside it.
fn overlaps(a: &str, b: &str) -> bool {
    let (a, b) = (normal(a), normal(b));
    a.is_empty()
        || b.is_empty()
        || a == b
        || a.starts_with(&format!("{b}/"))
        || b.starts_with(&format!("{a}/"))
}

/// The test side of a tree, read.
struct TestSide {
    /// Every file under the test paths, the root `conftest.py` and every symlink's target,
    /// lowercased.
    text: Vec<u8>,
    /// Whether the configuration or a `conftest.py` may collect docs files.
    collects_docs: bool,
}

impl TestSide {
    /// Reads the test side of `root`; `None` when it is too large to read (then every
    /// candidate counts).
    fn read(repo: &Repo, root: &Tree<'_>, tree: Oid, reads: &TestReads) -> Result<Option<TestSide>> {
        let git = repo.git2();
        let mut text = Vec::new();
        let Some(mut setup) = pytest_config(repo, tree) else { return Ok(None) };
        setup.push_str(&reads.args.join(" "));
        let mut blobs: Vec<(String, Oid)> = Vec::new();
        if let Ok(e) = root.get_path(Path::new("conftest.py")) {
            blobs.push(("conftest.py".into(), e.id()));
        }
        for p in &reads.paths {
            let p = normal(p);
            let Ok(entry) = root.get_path(Path::new(&p)) else { continue };
            match entry.kind() {
                Some(ObjectType::Blob) => blobs.push((p.clone(), entry.id())),
                Some(ObjectType::Tree) => {
                    let sub = git.find_tree(entry.id()).context("reading a test directory")?;
                    sub.walk(TreeWalkMode::PreOrder, |dir, e| {
                        if e.kind() == Some(ObjectType::Blob) {
                            blobs.push((
                                format!("{p}/{dir}{}", String::from_utf8_lossy(e.name_bytes())),
                                e.id(),
                            ));
                        }
                        TreeWalkResult::Ok
                    })
                    .context("walking the tests")?;
                }
                _ => {}
            }
        }
        // A symlink anywhere (`examples -> docs/examples`) leads where its target says.
        root.walk(TreeWalkMode::PreOrder, |dir, e| {
            if e.filemode() == 0o120000 {
                blobs.push((format!("{dir}{}", String::from_utf8_lossy(e.name_bytes())), e.id()));
            }
            TreeWalkResult::Ok
        })
        .context("walking the tree for symlinks")?;
        for (path, id) in blobs {
            let blob = git.find_blob(id).with_context(|| format!("reading {path}"))?;
            let bytes = blob.content();
            let binary = bytes[..bytes.len().min(8000)].contains(&0);
            if binary {
                continue;
            }
            if bytes.len() > MAX_TEXT_BYTES || text.len() + bytes.len() > MAX_TEST_SIDE_BYTES {
                return Ok(None);
            }
            if path == "conftest.py" || path.ends_with("/conftest.py") {
                setup.push_str(&String::from_utf8_lossy(bytes));
            }
            text.extend(bytes.iter().map(u8::to_ascii_lowercase));
            text.push(b'\n');
        }
        let setup = setup.to_ascii_lowercase();
        let collects_docs = DOCS_COLLECTORS.iter().any(|w| setup.contains(w));
        Ok(Some(TestSide { text, collects_docs }))
    }

    /// Whether the test side names candidate `c` (see [`Candidate::words`]), or for a
    /// directory, a docs page's extension.
    fn names(&self, c: &Candidate) -> bool {
        let mut words = c.words();
        if c.dir {
            words.extend(DOCS_EXTENSIONS.iter().map(|e| format!(".{e}")));
        }
        words.iter().any(|w| contains_word(&self.text, w.as_bytes()))
    }
}

/// Whether `word` occurs in `text` with no identifier character right before or after it
/// (`docs/` and `"docs"` name `docs`; `docstring` does not).
fn contains_word(text: &[u8], word: &[u8]) -> bool {
    if word.is_empty() || word.len() > text.len() {
        return false;
    }
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let starts_with_ident = ident(word[0]);
    (0..=text.len() - word.len()).any(|i| {
        &text[i..i + word.len()] == word
            && (i == 0 || !starts_with_ident || !ident(text[i - 1]))
            && text.get(i + word.len()).is_none_or(|&b| !ident(b))
    })
}

/// pytest's configuration as text: `pytest.ini`, `[tool.pytest]` of `pyproject.toml`, `[pytest]`
/// of `tox.ini`, `[tool:pytest]` of `setup.cfg` (not the rest of those files: a
/// `text/markdown` readme is not a docs collector). `None` when one cannot be read.
fn pytest_config(repo: &Repo, tree: Oid) -> Option<String> {
    let read = |f: &str| repo.read_file(tree, f).ok();
    let mut out = read("pytest.ini")?.unwrap_or_default();
    if let Some(text) = read("pyproject.toml")? {
        let doc: toml::Value = toml::from_str(&text).ok()?;
        if let Some(pytest) = doc.get("tool").and_then(|t| t.get("pytest")) {
            out.push_str(&pytest.to_string());
        }
    }
    for (file, section) in [("tox.ini", "pytest"), ("setup.cfg", "tool:pytest")] {
        if let Some(text) = read(file)? {
            for (k, v) in crate::checks::parse_ini(&text).get(section).into_iter().flatten() {
                out.push_str(&format!("\n{k} = {v}"));
            }
        }
    }
    Some(out)
}

/// Whether a file inside a left-out docs directory still counts: it configures or installs
/// something.
fn always_counts(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let ext = lower.rsplit_once('.').map_or("", |(_, e)| e);
    lower == "conftest.py"
        || ["ini", "cfg", "toml", "lock", "in"].contains(&ext)
        || (ext == "txt" && (lower.contains("requirement") || lower.contains("constraint")))
}

/// The entries that count, for [`visible`]: a subtree by its id unless a left-out path is in
/// it; a left-out directory only by the files that always count.
fn walk_visible(
    git: &git2::Repository,
    tree: &Tree<'_>,
    prefix: &str,
    left_out: &[String],
    out: &mut Vec<(String, u32, String)>,
) -> Result<()> {
    for entry in tree.iter() {
        let name = String::from_utf8_lossy(entry.name_bytes());
        let path = if prefix.is_empty() { name.to_string() } else { format!("{prefix}/{name}") };
        let mode = entry.filemode() as u32;
        let is_tree = entry.kind() == Some(ObjectType::Tree);
        if left_out.contains(&path) {
            if is_tree {
                let sub = git.find_tree(entry.id()).context("reading a docs directory")?;
                sub.walk(TreeWalkMode::PreOrder, |dir, e| {
                    let n = String::from_utf8_lossy(e.name_bytes());
                    if e.kind() == Some(ObjectType::Blob) && always_counts(&n) {
                        out.push((format!("{path}/{dir}{n}"), e.filemode() as u32, e.id().to_string()));
                    }
                    TreeWalkResult::Ok
                })
                .context("walking a docs directory")?;
            }
            continue;
        }
        if is_tree && left_out.iter().any(|l| l.starts_with(&format!("{path}/"))) {
            let sub = git.find_tree(entry.id()).context("reading a subtree")?;
            walk_visible(git, &sub, &path, left_out, out)?;
            continue;
        }
        out.push((path, mode, entry.id().to_string()));
    }
    Ok(())
}

/// A pointer from a cutoff key to the run that reached its verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pointer {
    /// The rule it was computed by ([`RULE`]).
    pub rule: u32,
    /// The check.
    pub check: String,
    /// The first half of the cutoff key.
    pub pre: String,
    /// The second half.
    pub needs: String,
    /// The cache key whose run reached the verdict.
    pub key: String,
    /// The tree it ran on.
    pub tree: String,
}

/// A pointer file larger than this is not one hookgate wrote.
const MAX_POINTER_BYTES: u64 = 64 << 10;

fn pointer_path(cache: &Cache, pre: &str, needs: &str) -> std::path::PathBuf {
    cache.cutoffs_dir().join(pre).join(format!("{needs}.json"))
}

/// Whether some run left a pointer under `pre`: only then is it worth waiting for the needs
/// before preparing.
pub fn plausible(cache: &Cache, pre: &str) -> bool {
    cache.cutoffs_dir().join(pre).is_dir()
}

/// The pointer for `check` under the cutoff key (`pre`, `needs`), if a valid one is there: a
/// small regular file (a symlink is not followed) naming exactly this check and key.
pub fn lookup(cache: &Cache, check: &str, pre: &str, needs: &str) -> Option<Pointer> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(pointer_path(cache, pre, needs))
        .ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut bytes = Vec::new();
    file.take(MAX_POINTER_BYTES + 1).read_to_end(&mut bytes).ok()?;
    let p: Pointer = serde_json::from_slice(&bytes).ok()?;
    let hex_of =
        |k: &str, lens: &[usize]| lens.contains(&k.len()) && k.bytes().all(|b| b.is_ascii_hexdigit());
    let valid = p.rule == RULE
        && p.check == check
        && p.pre == pre
        && p.needs == needs
        && hex_of(&p.key, &[64])
        && hex_of(&p.tree, &[40, 64]);
    valid.then_some(p)
}

/// Stores `pointer` (atomically, replacing an older one).
pub fn remember(cache: &Cache, pointer: &Pointer) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(pointer).context("serializing a cutoff pointer")?;
    write_atomic(&pointer_path(cache, &pointer.pre, &pointer.needs), &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_found_only_as_words() {
        let t = b"path(__file__).parent / \"docs\" / \"index.rst\"\n# a docstring\nreadme.md";
        assert!(contains_word(t, b"docs"));
        assert!(contains_word(t, b".rst"));
        assert!(contains_word(t, b"readme"));
        assert!(contains_word(t, b".md"));
        assert!(!contains_word(b"a docstring and mkdocs", b"docs"));
        assert!(!contains_word(b"xdoc", b"doc"));
        assert!(contains_word(b"../docs", b"docs"));
        assert!(!contains_word(b"", b"docs"));
    }

    #[test]
    fn paths_overlap_when_one_holds_the_other() {
        assert!(overlaps("docs", "docs/"));
        assert!(overlaps("./docs/api", "docs"));
        assert!(overlaps("docs", "docs/x.py::test_a"));
        assert!(overlaps(".", "docs"));
        assert!(!overlaps("tests", "docs"));
        assert!(!overlaps("doc", "docs"));
        assert!(collects_everything(&TestReads::default()));
        assert!(collects_everything(&TestReads { paths: vec!["tests/*".into()], args: vec![] }));
        assert!(collects_everything(&TestReads { paths: vec!["../x".into()], args: vec![] }));
        assert!(!collects_everything(&TestReads { paths: vec!["tests".into()], args: vec![] }));
    }

    #[test]
    fn candidates_name_themselves_by_stem_and_extension() {
        let file = Candidate { path: "README.md".into(), dir: false };
        assert_eq!(file.words(), ["readme", ".md"]);
        let dir = Candidate { path: "site/docs".into(), dir: true };
        assert_eq!(dir.words(), ["docs"]);
        let rtd = Candidate { path: ".readthedocs.yaml".into(), dir: false };
        assert_eq!(rtd.words(), ["readthedocs", ".yaml"]);
    }

    #[test]
    fn configuring_files_inside_docs_always_count() {
        for yes in
            ["conftest.py", "requirements.txt", "docs-constraints.txt", "setup.cfg", "x.toml", "uv.lock"]
        {
            assert!(always_counts(yes), "{yes}");
        }
        for no in ["index.rst", "conf.py", "notes.txt", "logo.png"] {
            assert!(!always_counts(no), "{no}");
        }
    }

    /// A repository holding `files` (path, content; a content starting with `-> ` is a
    /// symlink to the rest) in one tree.
    fn tree(files: &[(&str, &str)]) -> (tempfile::TempDir, Repo, Oid) {
        let dir = tempfile::tempdir().unwrap();
        let git = git2::Repository::init(dir.path()).unwrap();
        let mut index = git.index().unwrap();
        for (path, content) in files {
            let mode = if content.starts_with("-> ") { 0o120000 } else { 0o100644 };
            let bytes = content.strip_prefix("-> ").unwrap_or(content).as_bytes();
            let id = git.blob(bytes).unwrap();
            let entry = git2::IndexEntry {
                ctime: git2::IndexTime::new(0, 0),
                mtime: git2::IndexTime::new(0, 0),
                dev: 0,
                ino: 0,
                mode,
                uid: 0,
                gid: 0,
                file_size: bytes.len() as u32,
                id,
                flags: 0,
                flags_extended: 0,
                path: path.as_bytes().to_vec(),
            };
            index.add(&entry).unwrap();
        }
        let id = index.write_tree().unwrap();
        let repo = Repo::open(&dir.path().join(".git")).unwrap();
        (dir, repo, id)
    }

    const BASE: &[(&str, &str)] = &[
        (
            "pyproject.toml",
            "[project]\nname = \"p\"\nreadme = {file = \"README.md\", content-type = \"text/markdown\"}\n",
        ),
        ("README.md", "# p\n"),
        ("CHANGELOG.rst", "1.0\n"),
        ("src/p/__init__.py", "X = 1\n"),
        ("docs/index.rst", "p\n"),
        ("docs/conf.py", "project = 'p'\n"),
        ("docs/requirements.txt", "sphinx\n"),
        ("docs/conftest.py", "\n"),
        ("data/x.txt", "1\n"),
        ("tests/test_p.py", "def test_x():\n    assert 1\n"),
    ];

    fn left_out(extra: &[(&str, &str)], reads: &TestReads) -> Vec<String> {
        let files: Vec<(&str, &str)> = BASE.iter().chain(extra).copied().collect();
        let (_dir, repo, id) = tree(&files);
        visible(&repo, id, reads).unwrap().left_out
    }

    fn tests_dir() -> TestReads {
        TestReads { paths: vec!["tests".into()], args: vec![] }
    }

    #[test]
    fn docs_the_tests_do_not_reach_are_left_out_but_their_config_files_count() {
        let (_dir, repo, id) = tree(BASE);
        let seen = visible(&repo, id, &tests_dir()).unwrap();
        assert_eq!(seen.left_out, ["docs", "CHANGELOG.rst", "README.md"]);
        let paths: Vec<&str> = seen.entries.iter().map(|(p, _, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            ["data", "docs/conftest.py", "docs/requirements.txt", "pyproject.toml", "src", "tests"]
        );
        // Nothing is left out when the run collects from the whole tree.
        assert!(visible(&repo, id, &TestReads::default()).unwrap().left_out.is_empty());
    }

    #[test]
    fn docs_count_when_the_tests_name_them_or_may_collect_them() {
        let named = [("tests/test_d.py", "ROOT / 'docs' / 'values.txt'\n")];
        assert_eq!(left_out(&named, &tests_dir()), ["CHANGELOG.rst", "README.md"]);
        // `.md` is also a docs page's extension: `docs/` may hold one.
        let readme = [("tests/test_d.py", "open('README.md')\n")];
        assert_eq!(left_out(&readme, &tests_dir()), ["CHANGELOG.rst"]);
        let changelog = [("tests/test_d.py", "open('CHANGELOG')\n")];
        assert_eq!(left_out(&changelog, &tests_dir()), ["docs", "README.md"]);
        let pages = [("tests/test_d.py", "ROOT.glob('**/*.rst')\n")];
        assert_eq!(left_out(&pages, &tests_dir()), ["README.md"]);
        let link = [("tests/pages", "-> ../docs")];
        assert_eq!(left_out(&link, &tests_dir()), ["CHANGELOG.rst", "README.md"]);
        let elsewhere = [("examples", "-> docs/examples")];
        assert_eq!(left_out(&elsewhere, &tests_dir()), ["CHANGELOG.rst", "README.md"]);
        let doctest = [("pytest.ini", "[pytest]\naddopts = --doctest-glob=*.rst\n")];
        assert!(left_out(&doctest, &tests_dir()).is_empty());
        let sybil = [("conftest.py", "from sybil import Sybil\n")];
        assert!(left_out(&sybil, &tests_dir()).is_empty());
        let args = TestReads { paths: vec!["tests".into()], args: vec!["--doctest-modules".into()] };
        assert!(left_out(&[], &args).is_empty());
        let overlap = TestReads { paths: vec!["tests".into(), "docs/examples".into()], args: vec![] };
        assert_eq!(left_out(&[], &overlap), ["CHANGELOG.rst", "README.md"]);
        // A docstring is not the `docs` directory.
        let docstring = [("tests/test_d.py", "# checks the docstring\n")];
        assert_eq!(left_out(&docstring, &tests_dir()), ["docs", "CHANGELOG.rst", "README.md"]);
    }

    #[test]
    fn a_docs_edit_keeps_the_visible_tree_and_any_other_edit_changes_it() {
        let key = |edit: (&str, &str)| {
            let files: Vec<(&str, &str)> =
                BASE.iter().map(|&(p, c)| if p == edit.0 { edit } else { (p, c) }).collect();
            let (_dir, repo, id) = tree(&files);
            visible(&repo, id, &tests_dir()).unwrap().entries
        };
        let base = key(("none", ""));
        assert_eq!(key(("docs/index.rst", "changed\n")), base);
        assert_eq!(key(("README.md", "changed\n")), base);
        for edit in
            ["docs/requirements.txt", "docs/conftest.py", "data/x.txt", "tests/test_p.py", "pyproject.toml"]
        {
            assert_ne!(key((edit, "changed\n")), base, "{edit}");
        }
    }

    fn wheel(path: &Path, entries: &[(&str, &str, u32)], minute: u8, method: zip::CompressionMethod) {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
        let time = zip::DateTime::from_date_and_time(2024, 1, 1, 0, minute, 0).unwrap();
        for (name, content, mode) in entries {
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(method)
                .last_modified_time(time)
                .unix_permissions(*mode);
            zip.start_file(*name, options).unwrap();
            std::io::Write::write_all(&mut zip, content.as_bytes()).unwrap();
        }
        zip.finish().unwrap();
    }

    #[test]
    fn a_wheel_is_compared_by_its_files_not_its_timestamps_or_order() {
        let dir = tempfile::tempdir().unwrap();
        let digest_of = |entries: &[(&str, &str, u32)], minute, method| {
            let path = dir.path().join("p-1.0-py3-none-any.whl");
            wheel(&path, entries, minute, method);
            wheel_contents(&path).unwrap()
        };
        let files = [("p/__init__.py", "X = 1\n", 0o644), ("p-1.0.dist-info/METADATA", "Name: p\n", 0o644)];
        let base = digest_of(&files, 1, zip::CompressionMethod::Deflated);
        let reordered = [files[1], files[0]];
        assert_eq!(digest_of(&reordered, 7, zip::CompressionMethod::Stored), base);
        let edited = [("p/__init__.py", "X = 2\n", 0o644), files[1]];
        assert_ne!(digest_of(&edited, 1, zip::CompressionMethod::Deflated), base);
        let executable = [("p/__init__.py", "X = 1\n", 0o755), files[1]];
        assert_ne!(digest_of(&executable, 1, zip::CompressionMethod::Deflated), base);
        let renamed = [("p/main.py", "X = 1\n", 0o644), files[1]];
        assert_ne!(digest_of(&renamed, 1, zip::CompressionMethod::Deflated), base);
        std::fs::write(dir.path().join("bad.whl"), b"not a zip").unwrap();
        assert!(wheel_contents(&dir.path().join("bad.whl")).is_err());
    }

    #[test]
    fn a_pointer_is_found_only_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let (pre, needs) = ("a".repeat(64), "b".repeat(64));
        let p = Pointer {
            rule: RULE,
            check: "test".into(),
            pre: pre.clone(),
            needs: needs.clone(),
            key: "c".repeat(64),
            tree: "d".repeat(40),
        };
        assert!(!plausible(&cache, &pre));
        remember(&cache, &p).unwrap();
        assert!(plausible(&cache, &pre));
        assert_eq!(lookup(&cache, "test", &pre, &needs), Some(p.clone()));
        assert_eq!(lookup(&cache, "coverage", &pre, &needs), None, "another check's");
        assert_eq!(lookup(&cache, "test", &pre, &"e".repeat(64)), None, "another wheel's");
        for bad in [
            Pointer { tree: "é".repeat(20), ..p.clone() },
            Pointer { key: "../../x".into(), ..p.clone() },
            Pointer { rule: RULE + 1, ..p.clone() },
        ] {
            remember(&cache, &bad).unwrap();
            assert_eq!(lookup(&cache, "test", &pre, &needs), None, "{bad:?}");
        }
        let path = pointer_path(&cache, &pre, &needs);
        std::fs::remove_file(&path).unwrap();
        std::fs::write(dir.path().join("elsewhere.json"), serde_json::to_vec(&p).unwrap()).unwrap();
        std::os::unix::fs::symlink(dir.path().join("elsewhere.json"), &path).unwrap();
        assert_eq!(lookup(&cache, "test", &pre, &needs), None, "a symlink is not followed");
    }

    #[test]
    fn mkdocs_docs_dir_is_read_when_plain() {
        assert_eq!(mkdocs_docs_dir("site_name: x\ndocs_dir: pages\n"), Some("pages".into()));
        assert_eq!(mkdocs_docs_dir("docs_dir: './site/src/'  # here\n"), Some("site/src".into()));
        assert_eq!(mkdocs_docs_dir("docs_dir: ../elsewhere\n"), None);
        assert_eq!(mkdocs_docs_dir("docs_dir: /abs\n"), None);
        assert_eq!(mkdocs_docs_dir("site_name: x\n"), None);
    }
}
