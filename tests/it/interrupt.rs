//! Ctrl-C and SIGTERM during a big export (#12 item 2): the export stops at once, the run ends
//! as interrupted, and its scratch directory is removed.

use std::io::Write;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{CUSTOM_ONLY, TestContext};

/// Files in the tree's `big/` directory: enough that exporting them takes a while.
const FILES: usize = 100_000;

fn git_stdin(ctx: &TestContext, args: &[&str], input: &[u8]) -> String {
    let mut child = ctx.git_cmd(args).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "git {args:?} failed");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A commit of HEAD's tree plus `big/` holding [`FILES`] small files (one blob, many names).
fn big_commit(ctx: &TestContext) -> String {
    let blob = git_stdin(ctx, &["hash-object", "-w", "--stdin"], b"x\n");
    let mut listing = String::with_capacity(FILES * 64);
    for i in 0..FILES {
        listing.push_str(&format!("100644 blob {blob}\tf{i:06}\n"));
    }
    let big = git_stdin(ctx, &["mktree"], listing.as_bytes());
    let mut root = ctx.git(&["ls-tree", "HEAD"]);
    root.push_str(&format!("\n040000 tree {big}\tbig\n"));
    let tree = git_stdin(ctx, &["mktree"], root.as_bytes());
    ctx.git(&["commit-tree", &tree, "-p", "HEAD", "-m", "big"])
}

/// The `big/` directory of the run's scratch export, once it exists.
fn exporting(ctx: &TestContext) -> Option<PathBuf> {
    // The checkout is named after the repository's directory (`work`).
    ctx.scratch_dirs().into_iter().map(|d| ctx.tmp.join(d).join("co/work/big")).find(|p| p.is_dir())
}

#[test]
fn sigterm_during_a_big_export_ends_the_run_and_removes_its_scratch() {
    let ctx = TestContext::new("clean");
    ctx.commit_config(CUSTOM_ONLY);
    let commit = big_commit(&ctx);
    let mut child =
        ctx.hookgate_cmd(&["run", "ok", "--tree", &commit]).stdout(Stdio::null()).spawn().unwrap();
    let bound = Instant::now() + Duration::from_secs(120);
    while exporting(&ctx).is_none() {
        assert!(child.try_wait().unwrap().is_none(), "the run ended before its export started");
        assert!(Instant::now() < bound, "the export never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > bound {
            child.kill().ok();
            panic!("hookgate did not end after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130), "ends as interrupted");
    assert!(ctx.scratch_dirs().is_empty(), "scratch left: {:?}", ctx.scratch_dirs());
    assert_eq!(ctx.record_count(), 0);
}
