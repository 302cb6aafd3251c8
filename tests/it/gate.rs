//! The gate end to end: real `git commit` and `git push` to a bare remote through the installed
//! hooks, real Python, uv and ruff.

use crate::common::{TestContext, checks, text};

const LINT_ERROR: &str = "\"\"\"Module.\"\"\"\n\nimport os\n";

#[test]
fn commit_of_staged_lint_error_is_refused_and_nothing_is_touched() {
    let ctx = TestContext::new("clean");
    ctx.install();
    ctx.write("src/sample_pkg/extra.py", LINT_ERROR);
    ctx.git(&["add", "-A"]);
    let before = ctx.state();
    let out = ctx.git_out(&["commit", "-m", "lint error"]);
    assert!(!out.status.success(), "commit should be refused:\n{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("F401") && err.contains("lint") && err.contains("FAIL"), "{err}");
    assert_eq!(ctx.git(&["rev-list", "--count", "HEAD"]), "1");
    assert_eq!(before, ctx.state(), "the working tree, index or stash changed");
}

#[test]
fn commit_of_clean_staged_change_with_unstaged_lint_error_is_accepted() {
    let ctx = TestContext::new("clean");
    ctx.install();
    ctx.write("src/sample_pkg/extra.py", "\"\"\"Module.\"\"\"\n\nVALUE = 1\n");
    ctx.git(&["add", "-A"]);
    // The working copy now differs from what is staged, and is broken.
    ctx.write("src/sample_pkg/extra.py", LINT_ERROR);
    ctx.write("untracked_broken.py", LINT_ERROR);
    let before = ctx.state();
    let out = ctx.git_out(&["commit", "-m", "clean staged"]);
    assert!(out.status.success(), "commit should pass:\n{}", text(&out));
    let after = ctx.state();
    // Only the index moved (the commit itself); files are byte-identical.
    for (k, v) in &before {
        if k != "<index>" {
            assert_eq!(Some(v), after.get(k), "{k} changed");
        }
    }
    assert_eq!(ctx.git(&["show", "HEAD:src/sample_pkg/extra.py"]), "\"\"\"Module.\"\"\"\n\nVALUE = 1");
}

#[test]
fn commit_all_reads_the_index_git_names_in_git_index_file() {
    let ctx = TestContext::new("clean");
    ctx.install();
    // A tracked file broken in the working copy only: `commit -a` stages it via a temp index.
    ctx.write("src/sample_pkg/__init__.py", LINT_ERROR);
    let out = ctx.git_out(&["commit", "-am", "all"]);
    assert!(!out.status.success(), "commit -a of a lint error should be refused:\n{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("F401"));
    // The same through `git commit PATH`.
    let out = ctx.git_out(&["commit", "-m", "path", "src/sample_pkg/__init__.py"]);
    assert!(!out.status.success(), "commit PATH of a lint error should be refused:\n{}", text(&out));
    assert_eq!(ctx.git(&["rev-list", "--count", "HEAD"]), "1");
}

#[test]
fn push_checks_the_pushed_tip_and_a_repush_is_decided_from_cache() {
    let ctx = TestContext::new("clean");
    // The whole default suite, but the PyPI version check, whose answer depends on the network.
    ctx.commit_config("[checks.version]\nenabled = false\n");
    ctx.install();
    ctx.write("untracked_broken.py", LINT_ERROR); // invisible: not committed
    ctx.git(&["checkout", "-q", "-b", "feature/x"]);
    let out = ctx.git_out(&["push", "origin", "feature/x"]);
    assert!(out.status.success(), "push should pass:\n{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("pre-push on refs/heads/feature/x"), "{err}");
    assert!(err.contains("lint") && err.contains("pass"), "{err}");
    for check in ["lint", "format", "wheel", "test", "coverage", "docs"] {
        assert!(err.contains(check), "{check} missing: {err}");
    }
    let records = ctx.record_count();
    assert_eq!(records, 6, "every check was recorded");

    // Same tree under another branch, and an amend of only the message: all from cache.
    ctx.git(&["checkout", "-q", "-b", "feature/y"]);
    ctx.git(&["commit", "-q", "--amend", "--no-verify", "-m", "reworded"]);
    let out = ctx.git_out(&["push", "origin", "feature/y"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("6 checks passed (cached)"), "{}", text(&out));
    assert_eq!(ctx.record_count(), records, "nothing ran again");
    assert!(ctx.scratch_dirs().is_empty(), "no venv or export was made: {:?}", ctx.scratch_dirs());
}

#[test]
fn push_of_a_broken_tip_is_refused_then_refused_from_cache_with_the_log() {
    let ctx = TestContext::new("unformatted");
    ctx.install();
    let out = ctx.git_out(&["push", "origin", "main"]);
    assert!(!out.status.success(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("format") && err.contains("would be reformatted"), "{err}");
    assert!(ctx.git_out(&["ls-remote", "--exit-code", "origin", "main"]).status.code() == Some(2));

    let out = ctx.git_out(&["push", "origin", "main"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cached verdict") && err.contains("would be reformatted"), "{err}");

    let (v, out) = ctx.json(&["run", "--force", "format"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(checks(&v)["format"]["cached"], false, "--force re-ran it");
}

#[test]
fn push_of_several_refs_checks_each_tip_skips_deletions_and_peels_tags() {
    let ctx = TestContext::new("clean");
    ctx.commit_config(crate::common::CUSTOM_ONLY);
    ctx.install();
    ctx.git(&["branch", "old"]);
    ctx.git(&["push", "-q", "--no-verify", "origin", "old"]);
    ctx.git(&["checkout", "-q", "-b", "two"]);
    ctx.write("README.md", "changed\n");
    ctx.git(&["commit", "-q", "--no-verify", "-am", "two"]);
    ctx.git(&["tag", "-a", "v1.0.0", "-m", "release"]);
    let out = ctx.git_out(&["push", "origin", "main", "two", "v1.0.0", ":old"]);
    assert!(out.status.success(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refs/heads/main"), "{err}");
    assert!(err.contains("refs/heads/two"), "{err}");
    assert!(!err.contains("refs/heads/old") && !err.contains("(delete)"), "deletion was checked: {err}");
    // The tag peels to two's commit: same tree, so it is not checked a second time.
    assert_eq!(err.matches("pre-push on").count(), 2, "{err}");
    assert!(!ctx.git(&["ls-remote", "origin", "refs/tags/v1.0.0"]).is_empty());
}

#[test]
fn refs_of_one_push_are_each_judged_by_their_own_config_and_tree() {
    // One check whose verdict depends on both: config A exits with the tree's `code.txt`,
    // config B passes whatever the tree holds. The refs of a push share what they agree on
    // (A's blob on `main` and `a-fails`); none may take another's config or verdict.
    let config = |word: &str, exit: &str| {
        format!(
            "defaults = false\n[checks.c]\nrun = \"echo config-{word}; exit {exit}\"\nstages = [\"pre-push\"]\n"
        )
    };
    let ctx = TestContext::new("clean");
    ctx.write("code.txt", "0\n");
    ctx.commit_config(&config("a", "$(cat code.txt)"));
    ctx.install();
    ctx.git(&["checkout", "-q", "-b", "a-fails"]);
    ctx.write("code.txt", "3\n");
    ctx.git(&["commit", "-q", "--no-verify", "-am", "code 3"]);
    ctx.git(&["checkout", "-q", "-b", "b-passes"]);
    ctx.commit_config(&config("b", "0"));
    let refs = ["main", "a-fails", "b-passes"];
    let push = || {
        let out = ctx.git_out(&[&["push", "origin"][..], &refs].concat());
        assert!(!out.status.success(), "a-fails must refuse the push:\n{}", text(&out));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = push();
    assert!(err.contains("config-a") && err.contains("exit status 3"), "{err}");
    assert_eq!(ctx.record_count(), 3, "one verdict per ref: {err}");
    // Each ref's verdict is the one its own config and tree give, recorded under its own key.
    for (rev, want) in [("main", "pass"), ("a-fails", "fail"), ("b-passes", "pass")] {
        let (v, out) = ctx.json(&["run", "--stage", "pre-push", "--tree", rev]);
        let c = &checks(&v)["c"];
        assert_eq!(c["status"], want, "{rev}: {}", text(&out));
        assert_eq!(c["cached"], true, "{rev} was judged under another key: {}", text(&out));
    }
    // Again, all from the records, in one process.
    let err = push();
    assert!(err.contains("pre-push on refs/heads/main: 1 checks passed (cached)"), "{err}");
    assert!(err.contains("pre-push on refs/heads/b-passes: 1 checks passed (cached)"), "{err}");
    assert!(err.contains("cached verdict") && err.contains("config-a"), "{err}");
    assert_eq!(ctx.record_count(), 3, "nothing ran again: {err}");
}

#[test]
fn refs_whose_config_symlinks_agree_but_targets_differ_get_their_own_config() {
    // The same `hookgate.toml` symlink blob on both refs, pointing at different content.
    let config = |exit: u8| {
        format!(
            "defaults = false\n[checks.c]\nrun = \"echo target-exit-{exit}; exit {exit}\"\nstages = [\"pre-push\"]\n"
        )
    };
    let ctx = TestContext::new("clean");
    ctx.write("cfg/hookgate.toml", &config(0));
    std::os::unix::fs::symlink("cfg/hookgate.toml", ctx.work.join("hookgate.toml")).unwrap();
    ctx.git(&["add", "-A"]);
    ctx.git(&["commit", "-q", "--no-verify", "-m", "config through a symlink"]);
    ctx.install();
    ctx.git(&["checkout", "-q", "-b", "other"]);
    ctx.write("cfg/hookgate.toml", &config(4));
    ctx.git(&["commit", "-q", "--no-verify", "-am", "other target"]);
    let out = ctx.git_out(&["push", "origin", "main", "other"]);
    assert!(!out.status.success(), "other's own config fails it:\n{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("target-exit-4") && err.contains("exit status 4"), "{err}");
    assert_eq!(ctx.record_count(), 2, "{err}");
}

#[test]
fn a_failing_custom_check_blocks_the_push_and_dependents_are_skipped() {
    let ctx = TestContext::new("clean");
    ctx.commit_config(
        r#"defaults = false
[checks.first]
run = "echo boom-from-first; exit 3"
[checks.second]
run = ["python", "-c", "print('second')"]
needs = ["first"]
"#,
    );
    ctx.install();
    let out = ctx.git_out(&["push", "origin", "main"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("boom-from-first") && err.contains("exit status 3"), "{err}");
    assert!(err.contains("needs `first`, which failed"), "{err}");
}

#[test]
fn interrupted_commit_leaves_worktree_index_and_stash_as_they_were() {
    use std::os::unix::process::CommandExt;
    use std::time::{Duration, Instant};
    let ctx = TestContext::new("clean");
    ctx.commit_config(
        "defaults = false\n[checks.slow]\nstages = [\"pre-commit\"]\nenv = [\"HG_MARK\"]\nrun = \"touch $HG_MARK/started; sleep 60\"\n",
    );
    ctx.install();
    // A stash entry, a staged change and an unstaged one: all must survive.
    ctx.write("README.md", "stashed\n");
    ctx.git(&["stash", "-q"]);
    ctx.write("src/sample_pkg/new.py", "X = 1\n");
    ctx.git(&["add", "-A"]);
    ctx.write("README.md", "unstaged\n");
    let before = ctx.state();
    let mark = ctx.tmp.join("marks");
    std::fs::create_dir_all(&mark).unwrap();
    let mut cmd = ctx.git_cmd(&["commit", "-m", "interrupted"]);
    cmd.env("HG_MARK", &mark).process_group(0);
    let mut child = cmd.spawn().unwrap();
    crate::common::wait_for_file(&mark.join("started"));
    // Ctrl-C in a terminal signals the whole foreground group: git, the hook, hookgate.
    // SAFETY: signalling the process group we created.
    unsafe { libc::kill(-(child.id() as i32), libc::SIGINT) };
    let status = child.wait().unwrap();
    assert!(!status.success());
    assert_eq!(ctx.git(&["rev-list", "--count", "HEAD"]), "2", "no commit was made");
    assert_eq!(before, ctx.state(), "worktree, index or stash changed");
    assert!(!ctx.work.join(".git/index.lock").exists());
    assert_eq!(ctx.record_count(), 0, "an interrupted run left a verdict");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ctx.scratch_dirs().is_empty() {
        assert!(Instant::now() < deadline, "scratch left: {:?}", ctx.scratch_dirs());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn two_concurrent_runs_never_corrupt_the_cache() {
    let ctx = TestContext::new("clean");
    ctx.commit_config(
        "defaults = false\n[checks.a]\nrun = \"true\"\n[checks.b]\nrun = \"true\"\n[checks.c]\nrun = \"exit 1\"\n",
    );
    let runs: Vec<_> = (0..3).map(|_| ctx.hookgate_cmd(&["run", "--force"]).spawn().unwrap()).collect();
    for mut r in runs {
        assert_eq!(r.wait().unwrap().code(), Some(1));
    }
    let (v, out) = ctx.json(&["run"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"), "{}", text(&out));
    let c = checks(&v);
    assert!(c.values().all(|c| c["cached"] == true), "{v}");
    assert_eq!((c["a"]["status"].as_str(), c["c"]["status"].as_str()), (Some("pass"), Some("fail")));
    assert_eq!(ctx.record_count(), 3);
}

/// A check that installs the package (so its key holds the version from git), skipped so
/// that nothing is built: the version is still found when the plan is made.
const VERSIONED: &str =
    "defaults = false\n[checks.ver]\ndeps = [\".\"]\nrun = \"true\"\nstages = [\"pre-push\"]\n";

#[test]
fn refs_with_one_tree_but_different_versions_from_git_are_each_judged() {
    // `next` is an empty commit on `main`: the same tree, another commit, so another version
    // from git, which is in the key of every check that builds the package. Here next's version
    // is one the build refuses (a commit past a .dev tag): judging it by main's plan would
    // let it through.
    let ctx = TestContext::new("scm");
    ctx.commit_config(VERSIONED);
    ctx.install();
    ctx.env_mut("HOOKGATE_SKIP", "ver");
    ctx.git(&["tag", "2.0.dev3"]);
    ctx.git(&["checkout", "-q", "-b", "next"]);
    ctx.git(&["commit", "-q", "--no-verify", "--allow-empty", "-m", "past a dev tag"]);
    assert_eq!(ctx.git(&["rev-parse", "main^{tree}"]), ctx.git(&["rev-parse", "next^{tree}"]));
    // Each alone, outside a push: main plans, next does not.
    let out = ctx.hookgate(&["run", "--stage", "pre-push", "--tree", "main"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = ctx.hookgate(&["run", "--stage", "pre-push", "--tree", "next"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));

    let out = ctx.git_out(&["push", "origin", "main", "next"]);
    assert!(!out.status.success(), "next was judged by main's plan:\n{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the version from git: the nearest tag is 2.0.dev3"), "{err}");

    // Two branches on two commits with one tree and two good versions: both are checked.
    ctx.git(&["tag", "-d", "2.0.dev3"]);
    ctx.git(&["tag", "v1.0.0", "main"]);
    let out = ctx.git_out(&["push", "origin", "main", "next"]);
    assert!(out.status.success(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refs/heads/main") && err.contains("refs/heads/next"), "{err}");
}

#[test]
fn branches_on_one_commit_are_each_judged_when_the_version_scheme_reads_the_branch() {
    // release-branch-semver: one commit past v1.2.0 is 1.3.0.dev1 on `main` and 1.2.1.dev1 on
    // `release-1.2`, so the two refs have two keys for `ver` though commit and tree agree.
    let ctx = TestContext::new("scm");
    let pyproject = std::fs::read_to_string(ctx.work.join("pyproject.toml")).unwrap();
    assert!(pyproject.trim_end().ends_with("[tool.setuptools_scm]"), "{pyproject}");
    ctx.write("pyproject.toml", &format!("{pyproject}version_scheme = \"release-branch-semver\"\n"));
    ctx.commit_config(VERSIONED);
    ctx.install();
    ctx.env_mut("HOOKGATE_SKIP", "ver");
    ctx.git(&["tag", "v1.2.0"]);
    ctx.git(&["commit", "-q", "--no-verify", "--allow-empty", "-m", "next"]);
    ctx.git(&["branch", "release-1.2"]);
    let out = ctx.git_out(&["push", "origin", "main", "release-1.2"]);
    assert!(out.status.success(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("on refs/heads/main") && err.contains("on refs/heads/release-1.2"), "{err}");
    // `run --tree <branch>` (no batch) keys a branch as its push does, whatever HEAD is on.
    let key = |rev: &str| {
        let (v, out) = ctx.json(&["run", "--stage", "pre-push", "--tree", rev]);
        assert!(out.status.success(), "{}", text(&out));
        checks(&v)["ver"]["key"].as_str().unwrap().to_string()
    };
    let (on_main, release_from_main) = (key("main"), key("release-1.2"));
    assert_ne!(on_main, release_from_main, "two branches, two versions");
    ctx.git(&["checkout", "-q", "release-1.2"]);
    assert_eq!(key("HEAD"), release_from_main);
    assert_eq!(key("main"), on_main);
}

#[test]
fn describe_answers_found_in_a_push_are_kept_when_a_later_ref_ends_it() {
    // `a-good` needs its version from git (found, and remembered on disk when the batch ends);
    // `b-bad` has a config that does not parse, which ends the push with an error.
    let ctx = TestContext::new("scm");
    ctx.commit_config(VERSIONED);
    ctx.install();
    ctx.env_mut("HOOKGATE_SKIP", "ver");
    ctx.git(&["tag", "v1.0.0"]);
    ctx.git(&["checkout", "-q", "-b", "a-good"]);
    ctx.git(&["commit", "-q", "--no-verify", "--allow-empty", "-m", "good"]);
    let good = ctx.git(&["rev-parse", "a-good"]);
    ctx.git(&["checkout", "-q", "-b", "b-bad"]);
    ctx.commit_config("defaults = false\n[checks.ver\n");
    let remembered = || {
        let dir = ctx.work.join(".git/hookgate/scm");
        std::fs::read_dir(&dir)
            .is_ok_and(|d| d.flatten().any(|f| std::fs::read_to_string(f.path()).unwrap().contains(&good)))
    };
    assert!(!remembered());
    let out = ctx.git_out(&["push", "origin", "a-good", "b-bad"]);
    assert!(!out.status.success(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("hookgate.toml:"), "{err}");
    assert!(remembered(), "a-good's describe answer was lost:\n{err}");
}

#[test]
fn refs_that_differ_only_in_a_tooling_marker_get_their_own_formatter() {
    // The formatter is read from marker files whose content says nothing: `.flake8` (flake8,
    // no formatter: `format` is skipped), `.ruff.toml` (ruff wins: ruff formats). Each ref
    // adds one file to the last; hookgate.toml, pyproject.toml and the badly formatted module
    // are the same blobs on all of them.
    let ctx = TestContext::new("clean");
    ctx.write("pyproject.toml", "[project]\nname = \"sample\"\nversion = \"0.1.0\"\n");
    ctx.write("src/sample_pkg/ugly.py", "x = [1,\n    2]\n");
    ctx.commit_config("defaults = false\n[checks.format]\nstages = [\"pre-push\"]\n");
    ctx.install();
    let branch = |name: &str, file: &str| {
        ctx.git(&["checkout", "-q", "-b", name]);
        ctx.write(file, "");
        ctx.git(&["add", "-A"]);
        ctx.git(&["commit", "-q", "--no-verify", "-m", name]);
    };
    branch("flake8-file", ".flake8");
    branch("ruff-toml", ".ruff.toml");
    ctx.git(&["checkout", "-q", "flake8-file"]);
    branch("setup-cfg", "setup.cfg");
    ctx.write("setup.cfg", "[flake8]\nmax-line-length = 100\n");
    ctx.git(&["rm", "-q", "--cached", ".flake8"]);
    ctx.git(&["commit", "-q", "--no-verify", "-am", "flake8 in setup.cfg only"]);
    let refs = ["main", "flake8-file", "ruff-toml", "setup-cfg"];
    let out = ctx.git_out(&[&["push", "origin"][..], &refs].concat());
    assert!(!out.status.success(), "main and ruff-toml are badly formatted:\n{}", text(&out));
    // Only the two formatted trees ran; the others were skipped (nothing recorded).
    assert_eq!(ctx.record_count(), 2, "{}", text(&out));
    for (rev, want, cached) in [
        ("main", "fail", true),
        ("flake8-file", "skipped", false),
        ("ruff-toml", "fail", true),
        ("setup-cfg", "skipped", false),
    ] {
        let (v, out) = ctx.json(&["run", "--stage", "pre-push", "--tree", rev]);
        let c = &checks(&v)["format"];
        assert_eq!(c["status"], want, "{rev}: {}", text(&out));
        assert_eq!(c["cached"], cached, "{rev} was judged under another key: {}", text(&out));
    }
}

#[test]
fn a_tag_made_while_a_push_runs_never_leaves_describe_answers_under_the_old_tags() {
    // `a-tagger`'s check tags `b-merge` while the push runs (as a release in another terminal
    // might); `b-merge` is a merge commit, so its describe answer comes from git's own walk,
    // which sees the new tag. Once that tag is gone again, no answer that knew it may be read.
    let ctx = TestContext::new("scm");
    ctx.commit_config(VERSIONED);
    ctx.install();
    ctx.env_mut("HOOKGATE_SKIP", "ver");
    ctx.git(&["tag", "v1.0.0"]);
    ctx.git(&["checkout", "-q", "-b", "side"]);
    ctx.write("side.txt", "side\n");
    ctx.git(&["add", "-A"]);
    ctx.git(&["commit", "-q", "--no-verify", "-m", "side"]);
    ctx.git(&["checkout", "-q", "-b", "b-merge", "main"]);
    ctx.write("b.txt", "b\n");
    ctx.git(&["add", "-A"]);
    ctx.git(&["commit", "-q", "--no-verify", "-m", "b"]);
    ctx.git(&["merge", "-q", "--no-edit", "--no-verify", "side"]);
    ctx.git(&["checkout", "-q", "-b", "a-tagger", "main"]);
    let work = ctx.work.display().to_string();
    ctx.commit_config(&format!(
        "{VERSIONED}[checks.tagger]\nrun = [\"git\", \"-C\", \"{work}\", \"tag\", \"v9.0.0\", \"b-merge\"]\nstages = [\"pre-push\"]\n"
    ));
    let out = ctx.git_out(&["push", "origin", "a-tagger", "b-merge"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(ctx.git(&["tag", "-l", "v9.0.0"]), "v9.0.0", "the check tagged: {}", text(&out));
    ctx.git(&["tag", "-d", "v9.0.0"]);
    let version = || {
        let out = ctx.hookgate(&["scm-version", "b-merge"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let remembered = version();
    std::fs::remove_dir_all(ctx.work.join(".git/hookgate/scm")).unwrap();
    assert_eq!(remembered, version(), "an answer from under another set of tags was remembered");
}
