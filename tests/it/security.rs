//! Untrusted content in the object database and the environment: tree entries that would leave
//! the scratch directory (hand-made with `git hash-object --literally`, which push, clone and
//! fetch carry), config files committed as symlinks, and a `TMPDIR` that would let a check's
//! `git` see the real repository.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::common::{CUSTOM_ONLY, TestContext, checks, text};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// Runs git with `input` on stdin and returns its trimmed stdout.
fn git_stdin(ctx: &TestContext, args: &[&str], input: &[u8]) -> String {
    let mut cmd = ctx.git_cmd(args);
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "git {args:?}:\n{}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn blob(ctx: &TestContext, content: &[u8]) -> String {
    git_stdin(ctx, &["hash-object", "-w", "--stdin"], content)
}

/// One raw tree entry: mode, name bytes, object id.
struct Entry {
    mode: &'static str,
    name: Vec<u8>,
    oid: String,
}

fn entry(mode: &'static str, name: impl AsRef<[u8]>, oid: &str) -> Entry {
    Entry { mode, name: name.as_ref().to_vec(), oid: oid.to_string() }
}

/// Writes a tree object with exactly these entries in this order, names unchecked (as a hostile
/// repository would).
fn raw_tree(ctx: &TestContext, entries: &[Entry]) -> String {
    let mut bytes = Vec::new();
    for e in entries {
        bytes.extend_from_slice(e.mode.as_bytes());
        bytes.push(b' ');
        bytes.extend_from_slice(&e.name);
        bytes.push(0);
        for i in (0..40).step_by(2) {
            bytes.push(u8::from_str_radix(&e.oid[i..i + 2], 16).unwrap());
        }
    }
    git_stdin(ctx, &["hash-object", "-w", "--literally", "-t", "tree", "--stdin"], &bytes)
}

/// HEAD's root entries (so the crafted tree keeps the config), followed by `extra`.
fn head_plus(ctx: &TestContext, extra: Vec<Entry>) -> String {
    let mut entries = Vec::new();
    for line in ctx.git(&["ls-tree", "HEAD"]).lines() {
        let (meta, name) = line.split_once('\t').unwrap();
        let parts: Vec<&str> = meta.split(' ').collect();
        let mode = if parts[0] == "040000" { "40000" } else { "100644" };
        entries.push(entry(mode, name, parts[2]));
    }
    entries.extend(extra);
    raw_tree(ctx, &entries)
}

fn commit_of(ctx: &TestContext, tree: &str) -> String {
    ctx.git(&["commit-tree", tree, "-p", "HEAD", "-m", "crafted"])
}

fn custom(ctx: &TestContext) {
    ctx.commit_config(CUSTOM_ONLY);
}

fn root(ctx: &TestContext) -> PathBuf {
    ctx.work.parent().unwrap().to_path_buf()
}

#[test]
fn run_tree_refuses_entry_names_that_leave_the_scratch_dir_and_writes_nothing() {
    let ctx = TestContext::new("clean");
    custom(&ctx);
    let file = blob(&ctx, b"pwned\n");
    // `TMPDIR/<scratch>/src/../../escaped` is `<test root>/escaped`.
    let escaped = root(&ctx).join("escaped");
    let absolute = root(&ctx).join("absolute-escape");
    let sub = raw_tree(&ctx, &[entry("100644", "escaped", &file)]);
    let cases: Vec<(Entry, &str)> = vec![
        (entry("100644", "../../escaped", &file), "../../escaped"),
        (entry("100644", absolute.to_str().unwrap(), &file), absolute.to_str().unwrap()),
        (entry("40000", "..", &sub), ".."),
        (entry("40000", ".", &sub), "."),
        (entry("40000", ".git", &sub), ".git"),
        (entry("40000", ".GIT", &sub), ".GIT"),
        (entry("40000", ".git.", &sub), ".git."),
        (entry("40000", ".Git  ", &sub), ".Git  "),
        (entry("40000", "GIT~1", &sub), "GIT~1"),
        (entry("40000", ".g\u{200c}it", &sub), ".g\u{200c}it"),
    ];
    for (bad, shown) in cases {
        let commit = commit_of(&ctx, &head_plus(&ctx, vec![bad]));
        let out = ctx.hookgate(&["run", "--tree", &commit]);
        assert_eq!(out.status.code(), Some(2), "{shown:?}: {}", text(&out));
        assert!(stderr(&out).contains(&format!("`{shown}`")), "the message names {shown:?}: {}", text(&out));
        assert!(!escaped.exists() && !absolute.exists(), "{shown:?} wrote outside the scratch dir");
        assert_eq!(ctx.record_count(), 0, "{shown:?}: a refused tree got a verdict");
    }
    // libgit2 cannot even parse a tree holding an empty name: refused before any export.
    let commit = commit_of(&ctx, &head_plus(&ctx, vec![entry("100644", "", &file)]));
    let out = ctx.hookgate(&["run", "--tree", &commit]);
    assert_eq!(out.status.code(), Some(2), "empty name: {}", text(&out));
    assert!(ctx.scratch_dirs().is_empty(), "scratch dirs left: {:?}", ctx.scratch_dirs());
}

#[test]
fn the_persistent_view_refuses_what_an_export_refuses_and_writes_nothing_outside_it() {
    // ruff's `lint` runs in the persistent view, which reaches each new tree through its diff
    // from the last one: the entries of that diff are refused as an export refuses them.
    let ctx = TestContext::new("clean");
    ctx.commit_config("defaults = false\n[checks.lint]\n");
    let out = ctx.hookgate(&["run", "lint"]);
    assert!(out.status.success(), "{}", text(&out));
    let file = blob(&ctx, b"pwned\n");
    let victim = root(&ctx).join("victim.txt");
    std::fs::write(&victim, "precious\n").unwrap();
    let link = blob(&ctx, victim.to_str().unwrap().as_bytes());
    let sub = raw_tree(&ctx, &[entry("100644", "escaped", &file)]);
    let dup = raw_tree(&ctx, &[entry("120000", "setup.cfg", &link), entry("100644", "setup.cfg", &file)]);
    let cases: Vec<(Entry, &str)> = vec![
        (entry("100644", "../../escaped", &file), "../../escaped"),
        (entry("100644", "../../../escaped", &file), "../../../escaped"),
        (entry("40000", "..", &sub), ".."),
        (entry("40000", ".GIT", &sub), ".GIT"),
        (entry("40000", "nested", &dup), "nested/setup.cfg"),
    ];
    for (bad, shown) in cases {
        let commit = commit_of(&ctx, &head_plus(&ctx, vec![bad]));
        let out = ctx.hookgate(&["run", "--tree", &commit, "lint"]);
        assert_eq!(out.status.code(), Some(2), "{shown:?}: {}", text(&out));
        assert!(stderr(&out).contains(&format!("`{shown}`")), "the message names {shown:?}: {}", text(&out));
        for escaped in [root(&ctx).join("escaped"), ctx.tmp.join("escaped")] {
            assert!(!escaped.exists(), "{shown:?} wrote outside the view");
        }
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    }
    // The view is still the last good tree's: the next edit is one file written.
    ctx.write("src/sample_pkg/extra.py", "X = 1\n");
    ctx.git(&["add", "-A"]);
    ctx.git(&["commit", "-q", "--no-verify", "-m", "extra"]);
    let (v, out) = ctx.json(&["run", "lint"]);
    assert_eq!(checks(&v)["lint"]["status"], "pass", "{}", text(&out));
    let log = crate::common::log_of(&v, "lint");
    assert!(log.contains("brought from tree") && log.contains("(1 changed entry)"), "{log}");
}

#[test]
fn a_name_with_a_slash_is_never_written_through_an_earlier_symlink() {
    let ctx = TestContext::new("clean");
    custom(&ctx);
    let outside = root(&ctx).join("outside");
    std::fs::create_dir(&outside).unwrap();
    let link = blob(&ctx, outside.to_str().unwrap().as_bytes());
    let file = blob(&ctx, b"pwned\n");
    let tree = head_plus(&ctx, vec![entry("120000", "link", &link), entry("100644", "link/pwned", &file)]);
    let out = ctx.hookgate(&["run", "--tree", &commit_of(&ctx, &tree)]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(stderr(&out).contains("`link/pwned`"), "{}", text(&out));
    assert!(!outside.join("pwned").exists(), "the export wrote through a symlink");
}

#[test]
fn a_duplicate_entry_after_a_symlink_is_refused_and_the_link_target_untouched() {
    let ctx = TestContext::new("clean");
    custom(&ctx);
    let victim = root(&ctx).join("victim.txt");
    std::fs::write(&victim, "precious\n").unwrap();
    let link = blob(&ctx, victim.to_str().unwrap().as_bytes());
    let file = blob(&ctx, b"pwned\n");
    let sub = raw_tree(&ctx, &[entry("120000", "setup.cfg", &link), entry("100644", "setup.cfg", &file)]);
    let tree = head_plus(&ctx, vec![entry("40000", "nested", &sub)]);
    let out = ctx.hookgate(&["run", "--tree", &commit_of(&ctx, &tree)]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(stderr(&out).contains("`nested/setup.cfg`"), "{}", text(&out));
    assert!(stderr(&out).contains("more than once"), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
}

#[test]
fn pre_push_refuses_a_pushed_commit_with_an_escaping_entry() {
    let ctx = TestContext::new("clean");
    custom(&ctx);
    ctx.install();
    let escaped = root(&ctx).join("escaped");
    let file = blob(&ctx, b"pwned\n");
    let commit = commit_of(&ctx, &head_plus(&ctx, vec![entry("100644", "../../escaped", &file)]));
    ctx.git(&["update-ref", "refs/heads/evil", &commit]);
    let out = ctx.git_out(&["push", "origin", "evil"]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(stderr(&out).contains("`../../escaped`"), "{}", text(&out));
    assert!(!escaped.exists(), "the pushed tree was written outside the scratch dir");
    let remote = ctx.git_out(&["ls-remote", "origin", "refs/heads/evil"]);
    assert!(remote.stdout.is_empty(), "the push went through");
}

#[test]
fn pre_commit_refuses_a_staged_git_alias_git_would_accept() {
    let ctx = TestContext::new("clean");
    custom(&ctx);
    ctx.install();
    // Git adds `.git.` once NTFS protection is off; on Windows it would be the repository.
    ctx.git(&["config", "core.protectNTFS", "false"]);
    ctx.write(".git./config", "[core]\n");
    ctx.git(&["add", ".git./config"]);
    let out = ctx.git_out(&["commit", "-m", "alias"]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(stderr(&out).contains("`.git.`"), "{}", text(&out));
    assert_eq!(ctx.git(&["rev-list", "--count", "HEAD"]), "2");
}

#[test]
fn symlinks_are_exported_as_symlinks_and_submodules_as_empty_dirs() {
    let ctx = TestContext::new("clean");
    ctx.commit_config(
        r#"defaults = false
[checks.shape]
run = ["python", "-c", """
import os
assert os.path.islink('link') and os.readlink('link') == 'README.md', 'symlink'
assert os.path.isdir('vendored') and not os.listdir('vendored'), 'gitlink'
print('shape ok')
"""]
"#,
    );
    std::os::unix::fs::symlink("README.md", ctx.work.join("link")).unwrap();
    ctx.git(&["add", "link"]);
    let head = ctx.git(&["rev-parse", "HEAD"]);
    ctx.git(&["update-index", "--add", "--cacheinfo", &format!("160000,{head},vendored")]);
    ctx.git(&["commit", "-q", "-m", "link and gitlink"]);
    let (v, out) = ctx.json(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let log = std::fs::read_to_string(checks(&v)["shape"]["log"].as_str().unwrap()).unwrap();
    assert!(log.contains("shape ok"), "{log}");
}

/// The clean fixture with its pyproject.toml moved to `config/`, carrying a custom check, and
/// the root `pyproject.toml` a symlink to it through a symlinked directory (`cfg -> config`).
#[test]
fn a_symlinked_pyproject_is_read_from_its_target_inside_the_tree() {
    let ctx = TestContext::new("clean");
    let body = std::fs::read_to_string(ctx.work.join("pyproject.toml")).unwrap();
    ctx.write(
        "config/pyproject.toml",
        &format!(
            "{body}\n[tool.hookgate]\ndefaults = false\n[tool.hookgate.checks.linked]\n\
             run = [\"python\", \"-c\", \"print('linked config')\"]\n"
        ),
    );
    std::fs::remove_file(ctx.work.join("pyproject.toml")).unwrap();
    std::os::unix::fs::symlink("config", ctx.work.join("cfg")).unwrap();
    std::os::unix::fs::symlink("cfg/pyproject.toml", ctx.work.join("pyproject.toml")).unwrap();
    ctx.git(&["add", "-A"]);
    ctx.git(&["commit", "-q", "-m", "config through symlinks"]);
    let (v, out) = ctx.json(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let c = checks(&v);
    assert_eq!(c.keys().collect::<Vec<_>>(), ["linked"], "{v}");
    let log = std::fs::read_to_string(c["linked"]["log"].as_str().unwrap()).unwrap();
    assert!(log.contains("linked config"), "{log}");
}

#[test]
fn a_config_symlink_leaving_the_tree_or_looping_is_refused() {
    let ctx = TestContext::new("clean");
    let outside = root(&ctx).join("outside.toml");
    std::fs::write(&outside, CUSTOM_ONLY).unwrap();
    let cases = [
        ("../outside.toml", "outside the tree"),
        (outside.to_str().unwrap(), "outside the tree"),
        ("hookgate.toml", "too many symlinks"),
        ("missing.toml", "does not exist in the tree"),
    ];
    for (target, why) in cases {
        let link = ctx.work.join("hookgate.toml");
        std::fs::remove_file(&link).ok();
        std::os::unix::fs::symlink(target, &link).unwrap();
        ctx.git(&["add", "-A"]);
        ctx.git(&["commit", "-q", "-m", target]);
        let out = ctx.hookgate(&["run"]);
        assert_eq!(out.status.code(), Some(2), "{target}: {}", text(&out));
        let err = stderr(&out);
        assert!(err.contains("hookgate.toml") && err.contains(why), "{target}: {}", text(&out));
    }
}

/// A check that fails when `git` finds any repository from its directory.
const SEES_NO_REPOSITORY: &str = r#"defaults = false
[checks.blind]
run = ["sh", "-c", "pwd; if git rev-parse --absolute-git-dir; then echo SAW-A-'REPOSITORY'; exit 1; fi"]
"#;

fn blind_log(ctx: &TestContext, tmpdir: &Path) -> (std::process::Output, String) {
    let mut cmd = ctx.hookgate_cmd(&["run", "--json"]);
    let out = cmd.env("TMPDIR", tmpdir).output().unwrap();
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("no JSON ({e}): {}", text(&out)));
    let log = std::fs::read_to_string(checks(&v)["blind"]["log"].as_str().unwrap()).unwrap();
    (out, log)
}

#[test]
fn tmpdir_inside_the_repository_is_moved_out_and_said() {
    let ctx = TestContext::new("clean");
    ctx.commit_config(SEES_NO_REPOSITORY);
    for inside in [ctx.work.join("scratch"), ctx.work.join(".git/scratch")] {
        let (out, log) = blind_log(&ctx, &inside);
        assert_eq!(out.status.code(), Some(0), "{}\n{log}", text(&out));
        assert!(stderr(&out).contains("is inside the repository"), "{}", text(&out));
        assert!(!log.contains(ctx.work.to_str().unwrap()), "the scratch dir is in the repository:\n{log}");
        let left = std::fs::read_dir(&inside).map_or(0, std::iter::Iterator::count);
        assert_eq!(left, 0, "scratch dirs created in {}", inside.display());
        std::fs::remove_dir_all(&inside).ok();
        // A fresh run (not the cached verdict) for the next location.
        ctx.commit_config(&format!("{SEES_NO_REPOSITORY}# {}\n", inside.display()));
    }
}

#[test]
fn a_check_never_finds_a_repository_above_its_scratch_dir() {
    let ctx = TestContext::new("clean");
    ctx.commit_config(SEES_NO_REPOSITORY);
    // TMPDIR inside some other repository: the check's git must stop at the scratch dir.
    let other = root(&ctx).join("other");
    std::fs::create_dir_all(other.join("tmp")).unwrap();
    ctx.git(&["init", "-q", other.to_str().unwrap()]);
    let (out, log) = blind_log(&ctx, &other.join("tmp"));
    assert_eq!(out.status.code(), Some(0), "{}\n{log}", text(&out));
    assert!(!log.contains("SAW-A-REPOSITORY"), "{log}");
}

#[test]
fn a_tree_nested_thousands_of_directories_deep_is_refused_not_a_crash() {
    // The walks over a tree take a stack frame a level: a tree nested 5000 deep (git's objects
    // allow it) overflowed the stack of the export's walk, and of the persistent view's diff.
    let ctx = TestContext::new("clean");
    ctx.commit_config("defaults = false\n[checks.lint]\n");
    let out = ctx.hookgate(&["run", "lint"]);
    assert!(out.status.success(), "{}", text(&out));
    let head = ctx.git(&["rev-parse", "HEAD"]);
    let deep = format!("{}m.py", "d/".repeat(5000));
    let script = format!(
        "commit refs/heads/deep\ncommitter t <t@example.com> 0 +0000\ndata 4\ndeep\nfrom {head}\n\
         M 100644 inline {deep}\ndata 6\nX = 1\n\n"
    );
    git_stdin(&ctx, &["fast-import", "--quiet"], script.as_bytes());
    for cache in ["1", "0"] {
        let mut cmd = ctx.hookgate_cmd(&["run", "--tree", "deep", "lint"]);
        let out = cmd.env("HOOKGATE_FILE_CACHE", cache).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "HOOKGATE_FILE_CACHE={cache}: {}", text(&out));
        assert!(stderr(&out).contains("more than 1024 deep"), "HOOKGATE_FILE_CACHE={cache}: {}", text(&out));
    }
}

#[test]
fn another_users_file_above_the_scratch_dir_stops_the_run_before_a_tool_reads_it() {
    // ruff reads `.ignore` files in every directory above its checkout, and config files there
    // when the tree has none; with TMPDIR=/tmp any local user can write /tmp/ruff.toml. A
    // project with no ruff config of its own (ruff's defaults) and an F401.
    let ctx = TestContext::new("clean");
    let pyproject = std::fs::read_to_string(ctx.work.join("pyproject.toml")).unwrap();
    ctx.write("pyproject.toml", &pyproject.replace("[tool.ruff]\nline-length = 100\n", ""));
    ctx.write("src/sample_pkg/bad.py", "import os\n");
    ctx.commit_config("defaults = false\n[checks.lint]\n");
    // TMPDIR as /tmp is: anyone may create files in it.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&ctx.tmp, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let planted: [(&str, &str); 3] =
        [(".ignore", "*.py\n"), ("ruff.toml", "lint.ignore = [\"F401\"]\n"), ("conftest.py", "import os\n")];
    for (name, content) in planted {
        let path = ctx.tmp.join(name);
        std::fs::write(&path, content).unwrap();
        std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
        for cache in ["1", "0"] {
            let mut cmd = ctx.hookgate_cmd(&["run", "--force", "lint"]);
            let out = cmd.env("HOOKGATE_FILE_CACHE", cache).output().unwrap();
            assert_eq!(out.status.code(), Some(2), "{name}, HOOKGATE_FILE_CACHE={cache}: {}", text(&out));
            let err = stderr(&out);
            assert!(err.contains(&path.display().to_string()) && err.contains("uid 65534"), "{err}");
        }
        assert_eq!(ctx.record_count(), 0, "{name}: a run stopped before any check left a verdict");
        std::fs::remove_file(&path).unwrap();
    }
    // Without it: ruff's own verdict, the F401; that verdict then answers a push even with a
    // foreign file planted (nothing runs, nothing reads it).
    let out = ctx.hookgate(&["run", "lint"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let path = ctx.tmp.join("ruff.toml");
    std::fs::write(&path, "lint.ignore = [\"F401\"]\n").unwrap();
    std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
    let out = ctx.hookgate(&["run", "lint"]);
    assert_eq!(out.status.code(), Some(1), "a cached verdict needs no scratch dir: {}", text(&out));
    // The same file owned by this user is theirs to keep (it is read, as it would be by ruff
    // run by hand there).
    std::os::unix::fs::chown(&path, Some(0), Some(0)).unwrap();
    let out = ctx.hookgate(&["run", "--force", "lint"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}
