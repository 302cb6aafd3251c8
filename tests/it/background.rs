//! Pre-warmed pushes: the post-commit hook starts the pre-push checks in the background, a push
//! that comes meanwhile waits for them (per check, through the key locks), and a killed
//! background run leaves neither a verdict nor a lock that blocks.

use std::time::{Duration, Instant};

use crate::common::{Marked, TestContext, read_pids, text, wait_for_file};

/// A check that records its shell's pid (and its `sleep`'s) in `marks/pids`, says `started`,
/// and sleeps `seconds` unless `marks/fast` exists.
fn slow_check(ctx: &TestContext, seconds: u32) -> std::path::PathBuf {
    let mark = ctx.tmp.join("marks");
    std::fs::create_dir_all(&mark).unwrap();
    ctx.commit_config(&format!(
        "background = true\ndefaults = false\n[checks.slow]\nenv = [\"HG_MARK\"]\n\
         run = \"echo ran >> $HG_MARK/runs; echo $$ >> $HG_MARK/pids; \
         [ -e $HG_MARK/fast ] || {{ sleep {seconds} & echo $! >> $HG_MARK/pids; touch $HG_MARK/started; wait; }}; \
         touch $HG_MARK/started $HG_MARK/finished\"\n"
    ));
    ctx.env_mut("HG_MARK", mark.to_str().unwrap());
    mark
}

fn commit_change(ctx: &TestContext) -> std::process::Output {
    ctx.write("README.md", "changed\n");
    let out = ctx.git_out(&["commit", "-am", "change"]);
    assert!(out.status.success(), "{}", text(&out));
    out
}

fn wait_for_records(ctx: &TestContext, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while ctx.record_count() < n {
        assert!(Instant::now() < deadline, "the background run never recorded its verdicts");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn install_adds_post_commit_when_the_config_asks_for_background() {
    let ctx = TestContext::new("clean");
    slow_check(&ctx, 0);
    ctx.install();
    assert!(ctx.work.join(".git/hooks/post-commit").exists());
    assert!(ctx.hookgate(&["uninstall"]).status.success());
    assert!(!ctx.work.join(".git/hooks/post-commit").exists());
}

#[test]
fn post_commit_returns_at_once_and_the_push_finds_every_verdict_cached() {
    let ctx = TestContext::new("clean");
    let mark = slow_check(&ctx, 3);
    ctx.install();
    let out = commit_change(&ctx);
    // The commit returned while its background check was still running.
    assert!(!mark.join("finished").exists(), "the commit waited for the check");
    assert!(String::from_utf8_lossy(&out.stderr).contains("in the background"), "{}", text(&out));
    wait_for_records(&ctx, 1);
    let out = ctx.git_out(&["push", "origin", "main"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 checks passed (cached)"), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(ctx.tmp.join("marks/runs")).unwrap(), "ran\n");
}

#[test]
fn a_push_during_the_background_run_waits_and_the_check_runs_once() {
    let ctx = TestContext::new("clean");
    let mark = slow_check(&ctx, 3);
    ctx.install();
    commit_change(&ctx);
    wait_for_file(&mark.join("started"));
    let out = ctx.git_out(&["push", "origin", "main"]);
    assert!(out.status.success(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("waiting for the run already in progress"), "{err}");
    assert_eq!(std::fs::read_to_string(mark.join("runs")).unwrap(), "ran\n", "the check ran twice");
    let logs = std::fs::read_dir(ctx.work.join(".git/hookgate/logs")).unwrap().count();
    assert_eq!(logs, 1, "one run, one log");
}

#[test]
fn a_killed_background_run_leaves_no_pass_and_no_lock_that_blocks() {
    let ctx = TestContext::new("clean");
    let mark = slow_check(&ctx, 600);
    ctx.install();
    commit_change(&ctx);
    wait_for_file(&mark.join("started"));
    // The lock file names the background run's pid: kill it as an OOM killer would.
    let locks = ctx.work.join(".git/hookgate/locks");
    let lock = std::fs::read_dir(&locks).unwrap().next().unwrap().unwrap().path();
    let pid: i32 = std::fs::read_to_string(&lock).unwrap().trim().parse().unwrap();
    let marked = Marked::new(&mark);
    assert!(marked.alive(pid), "the lock does not name the background run");
    // SAFETY: killing the background hookgate process this test started through git.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    // With it go the check's shell and its `sleep`: nothing of the run is left.
    let mut pids = read_pids(&mark.join("pids"));
    pids.push(pid);
    marked.assert_gone(&pids, "the killed background run");
    assert_eq!(ctx.record_count(), 0, "a killed run left a verdict");
    // The push of the same tree (same key, same lock file) is not blocked: it takes the lock
    // over and runs the check itself, this time without the sleep.
    std::fs::write(mark.join("fast"), "").unwrap();
    let out = ctx.git_out(&["push", "origin", "main"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("waiting for the run"), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(mark.join("runs")).unwrap(), "ran\nran\n");
    assert_eq!(ctx.record_count(), 1);
}
