//! `hookgate watch` with real files, real git and real notify: an edit is checked in the
//! background, committing exactly that content pushes from cache, a newer tree supersedes a
//! running check, and Ctrl-C stops the watcher and every child.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use crate::common::{TestContext, text};
use serde_json::Value;

/// A running `hookgate watch --json` and its stream of events.
struct Watching {
    child: Child,
    events: Receiver<Value>,
}

impl Watching {
    fn start(ctx: &TestContext) -> Watching {
        let mut child = ctx
            .hookgate_cmd(&["watch", "--json", "--debounce-ms", "200"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, events) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    tx.send(v).ok();
                }
            }
        });
        Watching { child, events }
    }

    /// The next event matching `pred`, within a minute.
    fn until(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(v) if pred(&v) => return v,
                Ok(_) => {}
                Err(_) => panic!("no {what} event within a minute"),
            }
        }
    }

    /// Ctrl-C; returns once the watcher exited.
    fn interrupt(mut self) -> std::process::ExitStatus {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "watch did not stop on Ctrl-C");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn an_edit_is_checked_in_the_background_and_the_commit_of_it_pushes_from_cache() {
    let ctx = TestContext::new("clean");
    ctx.commit_config("defaults = false\n[checks.lint]\n[checks.quick]\nrun = \"true\"\n");
    ctx.install();
    let w = Watching::start(&ctx);
    let first = w.until("first done", |v| v["event"] == "done");
    let before = ctx.raw_state();
    ctx.write("src/sample_pkg/more.py", "\"\"\"More.\"\"\"\n\nVALUE = 2\n");
    let done = w.until("done for the edit", |v| v["event"] == "done" && v["tree"] != first["tree"]);
    assert_eq!(done["status"], "pass");
    let status = w.interrupt();
    assert!(status.success(), "{status:?}");
    // watch never staged anything: the edit is still untracked, the index file unchanged.
    let mut after = ctx.raw_state();
    after.remove("src/sample_pkg/more.py");
    assert_eq!(before, after);

    ctx.git(&["add", "-A"]);
    ctx.git(&["commit", "-q", "--no-verify", "-m", "more"]);
    assert_eq!(ctx.git(&["rev-parse", "HEAD^{tree}"]), done["tree"].as_str().unwrap());
    let out = ctx.git_out(&["push", "origin", "main"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 checks passed (cached)"), "{}", text(&out));
}

#[test]
fn a_newer_tree_supersedes_the_running_check_and_ctrl_c_stops_every_child() {
    let ctx = TestContext::new("clean");
    let mark = ctx.tmp.join("marks");
    std::fs::create_dir_all(&mark).unwrap();
    ctx.env_mut("HG_MARK", mark.to_str().unwrap());
    ctx.commit_config(
        "defaults = false\n[checks.slow]\nenv = [\"HG_MARK\"]\n\
         run = \"echo $$ >> $HG_MARK/pids; sleep 30 & echo $! >> $HG_MARK/pids; echo run >> $HG_MARK/runs; wait\"\n",
    );
    let w = Watching::start(&ctx);
    crate::common::wait_for_file(&mark.join("runs"));
    ctx.write("README.md", "edited while checking\n");
    let superseded = w.until("superseded", |v| v["event"] == "superseded");
    // The second run (on the edited tree) starts: two runs so far, then Ctrl-C.
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_to_string(mark.join("runs")).unwrap().lines().count() < 2 {
        assert!(Instant::now() < deadline, "the newer tree was never checked");
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = w.interrupt();
    assert!(status.success(), "{status:?}");
    // Both runs' shells and sleeps: the superseded one's and the interrupted one's.
    let pids = crate::common::read_pids(&mark.join("pids"));
    assert!(pids.len() >= 4, "{pids:?}");
    crate::common::Marked::new(&mark).assert_gone(&pids, "a check outlived supersession or Ctrl-C");
    assert_eq!(ctx.record_count(), 0, "a cancelled run left a verdict");
    assert!(ctx.scratch_dirs().is_empty(), "scratch left: {:?}", ctx.scratch_dirs());
    assert!(superseded["tree"].is_string());
}

#[test]
fn watch_pulls_the_shared_verdicts_before_its_first_run() {
    let (a, _key, _allowed, tree) = crate::sharing::teammate_a();
    let b = crate::sharing::clone_of(&a);
    b.git(&["config", "hookgate.trust", "a@example.org"]);
    let w = Watching::start(&b);
    let pulled = w.until("verdicts-pulled", |v| v["event"] == "verdicts-pulled" || v["event"] == "error");
    assert_eq!(pulled["message"], "merged origin's shared verdicts into ours", "{pulled}");
    // The working copy is A's tree: its first run answers from A's verdicts.
    let mut verdicts = Vec::new();
    let done = loop {
        let v = w.until("verdict or done", |v| v["event"] == "verdict" || v["event"] == "done");
        if v["event"] == "done" {
            break v;
        }
        verdicts.push(v);
    };
    assert_eq!(done["tree"], tree.as_str(), "{done}");
    assert_eq!(verdicts.len(), 2, "{verdicts:?}");
    for v in &verdicts {
        assert_eq!((v["cached"].as_bool(), v["source"].as_str()), (Some(true), Some("a@example.org")), "{v}");
    }
    assert!(w.interrupt().success());
}
