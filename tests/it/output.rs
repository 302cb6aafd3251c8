//! Output plumbing (#8 item 18): a reader that closes the pipe early is not an error, and a
//! report path that cannot be written is refused before any check runs.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use crate::common::{TestContext, text};

#[test]
fn status_piped_into_head_exits_cleanly() {
    let ctx = TestContext::new("clean");
    ctx.commit_config("defaults = false\n[checks.ok]\nrun = \"true\"\n");
    // Enough commits that `status --json` writes far more than a pipe buffer holds.
    let mut script = String::new();
    for i in 0..1500 {
        script += &format!(
            "commit refs/heads/main\ncommitter T <t@example.com> {} +0000\ndata 24\nfiller commit {i:>10}\n",
            1_700_000_000 + i
        );
        if i == 0 {
            script += "from refs/heads/main^0\n";
        }
        script += "\n";
    }
    let mut fi = ctx.git_cmd(&["fast-import", "--quiet"]).stdin(Stdio::piped()).spawn().unwrap();
    fi.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    assert!(fi.wait().unwrap().success());
    let mut child = ctx
        .hookgate_cmd(&["status", "-n", "1500"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    // The reader is gone (like `head -1`); hookgate must notice and stop quietly.
    let out = child.wait_with_output().unwrap();
    assert!(first.starts_with("hookgate: cached verdicts on main"), "{first}");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"), "{}", text(&out));
}

#[test]
fn an_unwritable_junit_path_is_refused_before_checks_run() {
    let ctx = TestContext::new("clean");
    ctx.commit_config("defaults = false\n[checks.ok]\nrun = \"true\"\n");
    let junit = ctx.tmp.join("no-such-dir/report.xml");
    let out = ctx.hookgate(&["run", "--junit", junit.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--junit"), "{}", text(&out));
    assert_eq!(ctx.record_count(), 0, "checks ran although the report could not be written");
}
