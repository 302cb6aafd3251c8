//! Git set-ups a hook must follow exactly: intent-to-add entries, merge commits, a git dir and
//! work tree named by `GIT_DIR`/`GIT_WORK_TREE`, a relative `core.hooksPath` with linked
//! worktrees, and index formats libgit2 cannot read (split index).

use std::path::{Path, PathBuf};

use crate::common::{TestContext, checks, text};

/// One check that fails when the checked tree holds a file named `bad`.
const NO_BAD: &str = r#"defaults = false
[checks.nobad]
run = ["sh", "-c", "if test -e bad; then echo 'found bad'; exit 1; fi; echo 'no bad'"]
stages = ["pre-commit", "pre-push"]
"#;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

fn with_no_bad() -> TestContext {
    let ctx = TestContext::new("clean");
    ctx.commit_config(NO_BAD);
    ctx
}

fn commits(ctx: &TestContext) -> usize {
    ctx.git(&["rev-list", "--count", "HEAD"]).parse().unwrap()
}

/// Asserts `git commit -m msg` succeeded after hookgate's pre-commit check ran.
fn commit_checked(ctx: &TestContext, dir: &Path, msg: &str) {
    let out = ctx.git_out(&["-C", dir.to_str().unwrap(), "commit", "-m", msg]);
    assert!(out.status.success(), "{msg}: {}", text(&out));
    assert!(stderr(&out).contains("nobad"), "{msg}: the pre-commit check did not run: {}", text(&out));
}

/// Asserts `git commit -m msg` was refused by the check.
fn commit_refused(ctx: &TestContext, dir: &Path, msg: &str) {
    let out = ctx.git_out(&["-C", dir.to_str().unwrap(), "commit", "-m", msg]);
    assert!(!out.status.success(), "{msg}: {}", text(&out));
    assert!(stderr(&out).contains("pre-commit refused"), "{msg}: {}", text(&out));
}

#[test]
fn pre_commit_checks_the_tree_git_writes_without_intent_to_add_entries() {
    let ctx = TestContext::new("clean");
    ctx.commit_config(&NO_BAD.replace("test -e bad", "test -e bad || test -e notes.txt"));
    ctx.install();
    ctx.write("notes.txt", "not staged, only intended\n");
    ctx.git(&["add", "-N", "notes.txt"]);
    ctx.write("README.md", "changed\n");
    ctx.git(&["add", "README.md"]);
    let expected = ctx.git(&["write-tree"]);
    commit_checked(&ctx, &ctx.work, "with an intent-to-add file");
    assert_eq!(ctx.git(&["rev-parse", "HEAD^{tree}"]), expected);
    // The verdict the hook recorded is the one for exactly that tree.
    let (v, out) = ctx.json(&["run", "--tree", &expected]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(checks(&v)["nobad"]["cached"], true, "the hook checked another tree: {v}");
}

#[test]
fn a_merge_commit_is_checked_by_the_pre_merge_commit_hook() {
    let ctx = with_no_bad();
    ctx.install();
    assert!(ctx.work.join(".git/hooks/pre-merge-commit").is_file(), "install skipped pre-merge-commit");
    ctx.git(&["checkout", "-q", "-b", "feature"]);
    ctx.write("bad", "x\n");
    ctx.git(&["add", "bad"]);
    ctx.git(&["commit", "-q", "--no-verify", "-m", "bad on feature"]);
    ctx.git(&["checkout", "-q", "main"]);
    ctx.write("other.txt", "x\n");
    ctx.git(&["add", "other.txt"]);
    commit_checked(&ctx, &ctx.work, "diverge");
    let before = ctx.git(&["rev-parse", "HEAD"]);

    let out = ctx.git_out(&["merge", "--no-edit", "feature"]);
    assert!(!out.status.success(), "a merge bringing `bad` went through: {}", text(&out));
    assert!(stderr(&out).contains("found bad") || stderr(&out).contains("nobad"), "{}", text(&out));
    assert_eq!(ctx.git(&["rev-parse", "HEAD"]), before);
    ctx.git(&["merge", "--abort"]);

    ctx.git(&["checkout", "-q", "feature"]);
    ctx.git(&["rm", "-q", "bad"]);
    ctx.write("feature.txt", "x\n");
    ctx.git(&["add", "feature.txt"]);
    ctx.git(&["commit", "-q", "--no-verify", "-m", "drop bad"]);
    ctx.git(&["checkout", "-q", "main"]);
    let out = ctx.git_out(&["merge", "--no-edit", "feature"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(stderr(&out).contains("nobad"), "the merge was not checked: {}", text(&out));
    assert_eq!(ctx.git(&["rev-list", "--parents", "-n1", "HEAD"]).split(' ').count(), 3);
}

#[test]
fn git_dir_and_work_tree_from_the_environment_are_honoured() {
    let ctx = with_no_bad();
    // The repository lives apart from its work tree, which holds no `.git` at all.
    let store = ctx.work.parent().unwrap().join("store.git");
    std::fs::rename(ctx.work.join(".git"), &store).unwrap();
    let with_env = |args: &[&str]| {
        let mut cmd = ctx.hookgate_cmd(args);
        cmd.env("GIT_DIR", &store).env("GIT_WORK_TREE", &ctx.work).output().unwrap()
    };
    let out = with_env(&["install"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(store.join("hooks/pre-commit").is_file(), "{}", text(&out));
    let out = with_env(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // git exports GIT_DIR (and GIT_WORK_TREE) to the hooks of `git --git-dir= --work-tree=`.
    let git = |args: &[&str]| {
        let mut all = vec!["--git-dir", store.to_str().unwrap(), "--work-tree", ctx.work.to_str().unwrap()];
        all.extend_from_slice(args);
        ctx.git_out(&all)
    };
    ctx.write("bad", "x\n");
    assert!(git(&["add", "bad"]).status.success());
    let out = git(&["commit", "-m", "bad"]);
    assert!(!out.status.success() && stderr(&out).contains("found bad"), "{}", text(&out));
    assert!(git(&["rm", "-q", "--cached", "bad"]).status.success());
    ctx.write("good.txt", "x\n");
    assert!(git(&["add", "good.txt"]).status.success());
    let out = git(&["commit", "-m", "good"]);
    assert!(out.status.success() && stderr(&out).contains("nobad"), "{}", text(&out));
}

fn linked_worktree(ctx: &TestContext, name: &str) -> PathBuf {
    let path = ctx.work.parent().unwrap().join(name);
    ctx.git(&["worktree", "add", "-q", "-b", name, path.to_str().unwrap()]);
    path
}

#[test]
fn a_relative_hooks_path_gets_the_hooks_in_every_worktree() {
    let ctx = with_no_bad();
    ctx.git(&["config", "core.hooksPath", ".githooks"]);
    let linked = linked_worktree(&ctx, "linked");
    ctx.install();
    // git resolves a relative core.hooksPath against the root of the worktree it runs in.
    assert!(linked.join(".githooks/pre-commit").is_file());
    std::fs::write(linked.join("bad"), "x\n").unwrap();
    ctx.git(&["-C", linked.to_str().unwrap(), "add", "bad"]);
    commit_refused(&ctx, &linked, "bad in the linked worktree");

    // A worktree added after install has no hooks yet: status there says so.
    let later = linked_worktree(&ctx, "later");
    let out = ctx.hookgate(&["-C", later.to_str().unwrap(), "status"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(stderr(&out).contains("hookgate install"), "no warning: {}", text(&out));
}

#[test]
fn status_warns_when_core_hooks_path_changed_after_install() {
    let ctx = with_no_bad();
    ctx.install();
    let out = ctx.hookgate(&["status"]);
    assert!(out.status.success() && !stderr(&out).contains("warning"), "{}", text(&out));
    ctx.git(&["config", "core.hooksPath", "elsewhere"]);
    let out = ctx.hookgate(&["status"]);
    assert!(out.status.success(), "{}", text(&out));
    let err = stderr(&out);
    assert!(err.contains("core.hooksPath") && err.contains("hookgate install"), "{}", text(&out));
}

fn index_files(ctx: &TestContext) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(ctx.work.join(".git"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("index"))
        .map(|e| (e.file_name().to_string_lossy().to_string(), std::fs::read(e.path()).unwrap()))
        .collect();
    files.sort();
    files
}

#[test]
fn a_split_index_is_checked_on_commit_and_by_run_worktree() {
    let ctx = with_no_bad();
    ctx.install();
    ctx.git(&["config", "core.splitIndex", "true"]);
    ctx.git(&["update-index", "--split-index"]);
    assert!(index_files(&ctx).iter().any(|(n, _)| n.starts_with("sharedindex.")));
    ctx.write("good.txt", "x\n");
    ctx.git(&["add", "good.txt"]);
    commit_checked(&ctx, &ctx.work, "good with a split index");
    ctx.write("bad", "x\n");
    ctx.git(&["add", "bad"]);
    commit_refused(&ctx, &ctx.work, "bad with a split index");
    ctx.git(&["rm", "-q", "--cached", "bad"]);

    let before = index_files(&ctx);
    let out = ctx.hookgate(&["run", "--worktree"]);
    assert_eq!(out.status.code(), Some(1), "the untracked `bad` is in the working copy: {}", text(&out));
    std::fs::remove_file(ctx.work.join("bad")).unwrap();
    let out = ctx.hookgate(&["run", "--worktree"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(before, index_files(&ctx), "run --worktree wrote the index files");
}

#[test]
fn untracked_cache_and_index_v4_are_read() {
    let ctx = with_no_bad();
    ctx.install();
    ctx.git(&["config", "core.untrackedCache", "true"]);
    ctx.git(&["update-index", "--untracked-cache", "--index-version", "4"]);
    ctx.git(&["status", "--porcelain"]);
    ctx.write("good.txt", "x\n");
    ctx.git(&["add", "good.txt"]);
    commit_checked(&ctx, &ctx.work, "good with an untracked cache");
    ctx.write("bad", "x\n");
    ctx.git(&["add", "bad"]);
    commit_refused(&ctx, &ctx.work, "bad with an untracked cache");
    assert_eq!(commits(&ctx), 3);
}
