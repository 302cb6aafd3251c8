//! `--force` never answers with a stale verdict (#8 item 11): a forced run that waited for
//! another run of the same key uses that run's fresh verdict, and runs the check itself when
//! the run it waited for was killed before it recorded one.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::common::{TestContext, checks, text, wait_for_file};

#[test]
fn a_forced_run_whose_awaited_run_was_killed_runs_the_check_itself() {
    let ctx = TestContext::new("clean");
    ctx.commit_config(
        "defaults = false\n[checks.long]\nenv = [\"HG_MARK\"]\n\
         run = \"echo run >> $HG_MARK/runs; if [ -e $HG_MARK/slow ]; then echo $$ > $HG_MARK/pid; touch $HG_MARK/started; exec sleep 60; fi\"\n",
    );
    let mark = ctx.tmp.join("marks");
    std::fs::create_dir_all(&mark).unwrap();
    ctx.env_mut("HG_MARK", mark.to_str().unwrap());
    // An old verdict exists.
    let out = ctx.hookgate(&["run", "long"]);
    assert!(out.status.success(), "{}", text(&out));
    // A forced run starts and hangs, holding the key's lock.
    std::fs::write(mark.join("slow"), "").unwrap();
    let mut first = ctx.hookgate_cmd(&["run", "--force", "long"]).stderr(Stdio::null()).spawn().unwrap();
    wait_for_file(&mark.join("started"));
    // A second forced run waits for it (it says so).
    let mut second = ctx
        .hookgate_cmd(&["run", "--force", "long", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(second.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("waiting for the run already in progress") {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "the second run never waited");
    }
    // The first run dies before recording anything; its check process is ended too.
    std::fs::remove_file(mark.join("slow")).unwrap();
    first.kill().unwrap();
    first.wait().unwrap();
    let pid: i32 = std::fs::read_to_string(mark.join("pid")).unwrap().trim().parse().unwrap();
    // SAFETY: ending the `sleep` this test's check started (its pid, recorded by the check).
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let out = second.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(checks(&v)["long"]["cached"], false, "the forced run answered with the stale verdict: {v}");
    let runs = std::fs::read_to_string(mark.join("runs")).unwrap();
    assert_eq!(runs.lines().count(), 3, "the forced run did not run the check itself: {runs}");
}
