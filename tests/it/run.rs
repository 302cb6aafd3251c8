//! `hookgate run` and `status`: selection, targets, JSON, cache keys, isolation, and every bad
//! input the gate must answer clearly.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{Marked, TestContext, checks, read_pids, text, wait_for_file};

fn with_config(fixture: &str, config: &str) -> TestContext {
    let ctx = TestContext::new(fixture);
    ctx.commit_config(config);
    ctx
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn run_all_reports_json_then_answers_from_cache() {
    let ctx = TestContext::new("clean");
    let (v, out) = ctx.json(&["run", "--all"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(v["status"], "pass");
    assert_eq!(v["stage"], "all");
    assert_eq!(v["tree"], ctx.git(&["rev-parse", "HEAD^{tree}"]));
    let c = checks(&v);
    assert_eq!(c.len(), 7);
    for (name, check) in &c {
        // The version check asks PyPI; without network it has no verdict ("unknown").
        let ok = if name == "version" { ["pass", "unknown"].as_slice() } else { ["pass"].as_slice() };
        assert!(ok.contains(&check["status"].as_str().unwrap()), "{name}: {check}");
        assert_eq!(check["cached"], false);
        assert_eq!(check["key"].as_str().unwrap().len(), 64);
        assert!(std::path::Path::new(check["log"].as_str().unwrap()).is_file());
    }
    for (name, tool) in [
        ("lint", "$ ruff check"),
        ("format", "$ ruff format"),
        ("wheel", "$ twine check"),
        ("docs", "sphinx"),
    ] {
        let log = std::fs::read_to_string(c[name]["log"].as_str().unwrap()).unwrap();
        assert!(log.contains(tool), "{name} did not run {tool}: {log}");
    }
    let (v, _) = ctx.json(&["run", "--all"]);
    assert!(
        checks(&v)
            .iter()
            .filter(|(n, _)| *n != "version")
            .all(|(_, c)| c["cached"] == true && c["status"] == "pass")
    );
    assert!(ctx.scratch_dirs().is_empty(), "scratch dirs left: {:?}", ctx.scratch_dirs());
}

#[test]
fn lint_failure_exits_1_with_the_log_tail_in_the_table() {
    let ctx = TestContext::new("lint-broken");
    let out = ctx.hookgate(&["run", "lint"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("--- lint failed") && stdout.contains("F401") && stdout.contains("full log:"),
        "{stdout}"
    );
    let (v, _) = ctx.json(&["run", "--all"]);
    let c = checks(&v);
    assert_eq!(c["lint"]["status"], "fail");
    assert_eq!(c["lint"]["cached"], true, "the failure was cached");
    assert_eq!(c["format"]["status"], "pass");
}

#[test]
fn stage_names_and_needs_select_the_right_checks() {
    let ctx = with_config(
        "clean",
        r#"defaults = false
[checks.quick]
run = "true"
stages = ["pre-commit"]
[checks.base]
run = "true"
[checks.top]
run = "true"
needs = ["base"]
"#,
    );
    let (v, _) = ctx.json(&["run", "--stage", "pre-commit"]);
    assert_eq!(checks(&v).keys().collect::<Vec<_>>(), ["quick"]);
    assert_eq!(v["stage"], "pre-commit");
    let (v, _) = ctx.json(&["run", "top"]);
    assert_eq!(checks(&v).keys().collect::<Vec<_>>(), ["base", "top"]);
    let (v, _) = ctx.json(&["run", "--stage", "pre-push", "-j", "1"]);
    assert_eq!(checks(&v).keys().collect::<Vec<_>>(), ["base", "top"]);
    let out = ctx.hookgate(&["run", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no enabled check named `nope`"), "{}", text(&out));
}

#[test]
fn tree_option_checks_that_revision_and_worktree_checks_uncommitted_content() {
    let ctx = TestContext::new("clean");
    ctx.write("src/sample_pkg/bad.py", "import os\n");
    ctx.git(&["add", "-A"]);
    ctx.git(&["commit", "-q", "-m", "broken"]);
    let (v, out) = ctx.json(&["run", "lint", "--tree", "HEAD~1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(v["tree"], ctx.git(&["rev-parse", "HEAD~1^{tree}"]));
    assert_eq!(ctx.json(&["run", "lint"]).1.status.code(), Some(1));

    // Fix it in the working copy only; add an ignored broken file that must stay invisible.
    std::fs::remove_file(ctx.work.join("src/sample_pkg/bad.py")).unwrap();
    ctx.write("build/ignored.py", "import os\n");
    ctx.write("src/sample_pkg/new.py", "\"\"\"New.\"\"\"\n\nX = 1\n");
    let before = ctx.raw_state();
    let (v, out) = ctx.json(&["run", "lint", "--worktree"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_ne!(v["tree"], ctx.git(&["rev-parse", "HEAD^{tree}"]));
    assert_eq!(before, ctx.raw_state(), "--worktree touched the working tree or the index file");
    let porcelain = String::from_utf8_lossy(&ctx.git_out(&["status", "--porcelain"]).stdout).to_string();
    assert_eq!(porcelain, " D src/sample_pkg/bad.py\n?? src/sample_pkg/new.py\n", "nothing was staged");
}

#[test]
fn inputs_limit_the_key_so_unrelated_edits_stay_cached() {
    let ctx = with_config(
        "clean",
        r#"defaults = false
[checks.src-only]
run = "true"
inputs = ["src", "*.toml"]
[checks.py-only]
run = "true"
inputs = ["**/*.py"]
[checks.whole]
run = "true"
"#,
    );
    let (v1, _) = ctx.json(&["run"]);
    // Two checks with glob inputs share one walk of the tree, each matching its own globs.
    ctx.write(
        "pyproject.toml",
        &format!("{}\n", std::fs::read_to_string(ctx.work.join("pyproject.toml")).unwrap()),
    );
    ctx.git(&["commit", "-q", "-am", "toml"]);
    let (v0, _) = ctx.json(&["run"]);
    assert_eq!(checks(&v0)["src-only"]["cached"], false);
    assert_eq!(checks(&v0)["py-only"]["cached"], true);
    assert_eq!(checks(&v1)["py-only"]["key"], checks(&v0)["py-only"]["key"]);
    let v1 = v0;
    ctx.write("README.md", "edited\n");
    ctx.git(&["commit", "-q", "-am", "docs"]);
    let (v2, _) = ctx.json(&["run"]);
    let (a, b) = (checks(&v1), checks(&v2));
    assert_eq!(a["src-only"]["key"], b["src-only"]["key"]);
    assert_eq!(b["src-only"]["cached"], true);
    assert_ne!(a["whole"]["key"], b["whole"]["key"]);
    assert_eq!(b["whole"]["cached"], false);
    ctx.write("src/sample_pkg/more.py", "X = 1\n");
    ctx.git(&["add", "-A"]);
    ctx.git(&["commit", "-q", "-m", "code"]);
    let (v3, _) = ctx.json(&["run"]);
    assert_eq!(checks(&v3)["src-only"]["cached"], false);
}

#[test]
fn glob_inputs_are_remembered_per_tree_and_agree_with_a_fresh_walk() {
    let ctx = with_config(
        "clean",
        "defaults = false\n[checks.py]\nrun = \"true\"\ninputs = [\"src/**/*.py\", \"pyproject.toml\"]\n",
    );
    let remembered = ctx.work.join(".git/hookgate/inputs");
    let key = |fresh: bool| {
        if fresh {
            std::fs::remove_dir_all(&remembered).ok();
        }
        let (v, out) = ctx.json(&["run"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let c = &checks(&v)["py"];
        (c["key"].as_str().unwrap().to_string(), c["cached"].as_bool().unwrap())
    };
    let (first, cached) = key(true);
    assert!(!cached);
    assert!(remembered.is_dir(), "the glob answer is remembered");
    assert_eq!(key(false), (first.clone(), true), "remembered: the same key");
    assert_eq!(key(true), (first.clone(), true), "walked afresh: the same key");
    // A damaged entry is a miss, not a wrong key.
    for dir in std::fs::read_dir(&remembered).unwrap() {
        for f in std::fs::read_dir(dir.unwrap().path()).unwrap() {
            std::fs::write(f.unwrap().path(), "inputs-v1\nnot an entry\n").unwrap();
        }
    }
    assert_eq!(key(false), (first.clone(), true));
    // Renaming a module (same content, same blob) selects another path: a new key, walked
    // and remembered for the new tree; a file the globs do not select changes nothing.
    ctx.git(&["mv", "src/sample_pkg/__init__.py", "src/sample_pkg/__init__2.py"]);
    ctx.git(&["commit", "-q", "-m", "rename"]);
    let (renamed, cached) = key(false);
    assert!(!cached && renamed != first);
    assert_eq!(key(true), (renamed.clone(), true));
    ctx.write("README.md", "edited\n");
    ctx.git(&["commit", "-q", "-am", "docs"]);
    assert_eq!(key(false), (renamed, true));
}

#[test]
fn checks_see_only_the_tree_the_venv_and_allow_listed_variables() {
    let ctx = with_config(
        "clean",
        r#"defaults = false
[checks.isolated]
env = ["HG_ALLOWED"]
run = ["python", "-c", """
import os, sys, importlib.util
assert os.environ.get('HG_ALLOWED') == 'yes', 'allow-listed variable missing'
assert 'HG_SECRET_TOKEN' not in os.environ, 'token leaked into the check'
assert not os.path.exists('untracked.txt'), 'untracked file visible'
assert os.path.exists('hookgate.toml')
assert importlib.util.find_spec('boto3') is None, 'outer site-packages visible'
assert sys.prefix == os.environ['VIRTUAL_ENV'], (sys.prefix, os.environ['VIRTUAL_ENV'])
print('isolated ok')
"""]
"#,
    );
    ctx.write("untracked.txt", "not in the tree");
    let mut cmd = ctx.hookgate_cmd(&["run", "--json"]);
    let out = cmd.env("HG_ALLOWED", "yes").env("HG_SECRET_TOKEN", "s3cr3t").output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let log = std::fs::read_to_string(checks(&v)["isolated"]["log"].as_str().unwrap()).unwrap();
    assert_eq!(out.status.code(), Some(0), "{}\n{log}", text(&out));
    assert!(log.contains("isolated ok"));
    assert!(!log.contains("s3cr3t"));
}

#[test]
fn allow_listed_values_are_part_of_the_key() {
    let ctx = with_config("clean", "defaults = false\n[checks.e]\nrun = \"true\"\nenv = [\"HG_MODE\"]\n");
    let run = |mode: &str| {
        let out = ctx.hookgate_cmd(&["run", "--json"]).env("HG_MODE", mode).output().unwrap();
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let (a, b, c) = (run("one"), run("two"), run("one"));
    assert_ne!(checks(&a)["e"]["key"], checks(&b)["e"]["key"]);
    assert_eq!(checks(&c)["e"]["cached"], true);
}

#[test]
fn status_lists_recent_commits_with_cached_verdicts() {
    let ctx = with_config("clean", "defaults = false\n[checks.ok]\nrun = \"true\"\n");
    ctx.write("README.md", "two\n");
    ctx.git(&["commit", "-q", "-am", "second"]);
    assert!(ctx.hookgate(&["run"]).status.success());
    let out = ctx.hookgate(&["status", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["head"], "main");
    let commits = v["commits"].as_array().unwrap();
    assert_eq!(commits[0]["subject"], "second");
    assert_eq!(commits[0]["checks"]["ok"], "pass");
    assert_eq!(commits[1]["checks"]["ok"], "unchecked");
    let human = String::from_utf8_lossy(&ctx.hookgate(&["status"]).stdout).to_string();
    assert!(human.contains("ok:pass") && human.contains("ok:unchecked"), "{human}");
}

#[test]
fn missing_command_fails_that_check_clearly() {
    let ctx =
        with_config("clean", "defaults = false\n[checks.ghost]\nrun = [\"no-such-tool-xyz\", \"--go\"]\n");
    let out = ctx.hookgate(&["run"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("`no-such-tool-xyz` not found") && stdout.contains("deps"), "{stdout}");
}

#[test]
fn hookgate_skip_skips_named_checks_and_says_so() {
    let ctx = TestContext::new("lint-broken");
    let out = ctx
        .hookgate_cmd(&["run", "--json", "lint", "format"])
        .env("HOOKGATE_SKIP", "lint,format")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for c in checks(&v).values() {
        assert_eq!(c["status"], "skipped");
        assert_eq!(c["reason"], "skipped by HOOKGATE_SKIP");
    }
    assert!(stderr(&out).contains("skipped by HOOKGATE_SKIP"));
}

#[test]
fn timeout_fails_the_check_kills_it_and_is_not_cached() {
    let ctx = with_config("clean", "defaults = false\n[checks.slow]\nrun = \"sleep 30\"\ntimeout = 1\n");
    let start = Instant::now();
    let (v, out) = ctx.json(&["run"]);
    assert!(start.elapsed() < Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(1));
    assert!(checks(&v)["slow"]["reason"].as_str().unwrap().contains("timed out"));
    assert_eq!(ctx.record_count(), 0);
}

/// A check that records its shell's pid and its background child's in `$HG_MARK/pids`, says
/// `started`, and waits for the child.
const LONG: &str = "defaults = false\n[checks.long]\nenv = [\"HG_MARK\"]\n\
    run = \"echo $$ >> $HG_MARK/pids; sleep 600 & echo $! >> $HG_MARK/pids; touch $HG_MARK/started; wait\"\n\
    [checks.ok]\nrun = \"true\"\n";

fn marks(ctx: &TestContext) -> (std::path::PathBuf, Marked) {
    let mark = ctx.tmp.join("marks");
    std::fs::create_dir_all(&mark).unwrap();
    ctx.env_mut("HG_MARK", mark.to_str().unwrap());
    let marked = Marked::new(&mark);
    (mark, marked)
}

#[test]
fn interrupt_kills_children_caches_nothing_and_cleans_up() {
    let ctx = with_config("clean", LONG);
    let (mark, marked) = marks(&ctx);
    let before = ctx.raw_state();
    let mut child = ctx.hookgate_cmd(&["run", "long"]).spawn().unwrap();
    wait_for_file(&mark.join("started"));
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    marked.assert_gone(&read_pids(&mark.join("pids")), "the check outlived the interrupt");
    assert_eq!(ctx.record_count(), 0, "an interrupted run left a record");
    assert!(ctx.scratch_dirs().is_empty(), "scratch left: {:?}", ctx.scratch_dirs());
    assert_eq!(before, ctx.raw_state());
}

#[test]
fn a_run_killed_with_sigkill_leaves_no_process_and_no_pass_and_the_next_run_sweeps_its_scratch() {
    let ctx = with_config("clean", LONG);
    let (mark, marked) = marks(&ctx);
    let mut child = ctx.hookgate_cmd(&["run", "long"]).spawn().unwrap();
    wait_for_file(&mark.join("started"));
    child.kill().unwrap();
    child.wait().unwrap();
    // hookgate could not catch it: the check's shell and its background child die anyway.
    marked.assert_gone(&read_pids(&mark.join("pids")), "the check outlived a SIGKILL of hookgate");
    // The check's scratch dir and the run's blob store.
    assert_eq!(ctx.scratch_dirs().len(), 2, "SIGKILL cannot clean up; the next run must");
    assert_eq!(ctx.record_count(), 0);
    let out = ctx.hookgate(&["run", "ok"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(ctx.scratch_dirs().is_empty(), "stale scratch not swept: {:?}", ctx.scratch_dirs());
}

#[test]
fn the_sweep_removes_only_scratch_directories_hookgate_made() {
    let ctx = with_config("clean", "defaults = false\n[checks.ok]\nrun = \"true\"\n");
    // A pid that surely ended: a child of this test, already reaped.
    let mut done = std::process::Command::new("true").spawn().unwrap();
    done.wait().unwrap();
    let foreign = ["hookgate-1-x".to_string(), format!("hookgate-{}-y", done.id())];
    for name in &foreign {
        std::fs::create_dir_all(ctx.tmp.join(name).join("src")).unwrap();
    }
    let out = ctx.hookgate(&["run", "ok"]);
    assert!(out.status.success(), "{}", text(&out));
    for name in &foreign {
        assert!(ctx.tmp.join(name).join("src").is_dir(), "{name} was swept");
    }
}

#[test]
fn a_run_killed_with_sigkill_keeps_its_key_locked_while_a_process_of_it_lives() {
    // The first run leaves a process in a session of its own (out of reach of the group kill)
    // that lives until the test creates `release`; the second run must wait for it. That
    // process says `started` once it is in its own session.
    let ctx = with_config(
        "clean",
        r#"defaults = false
[checks.slow]
env = ["HG_MARK"]
run = """
echo ran >> $HG_MARK/runs
if [ ! -e $HG_MARK/first ]; then
  touch $HG_MARK/first
  setsid sh -c 'echo $$ >> $HG_MARK/pids; touch $HG_MARK/started; while [ ! -e $HG_MARK/release ]; do sleep 0.05; done' &
  sleep 60
fi
[ -e $HG_MARK/release ] && echo after-release >> $HG_MARK/runs
true
"""
"#,
    );
    let (mark, marked) = marks(&ctx);
    let mut first = ctx.hookgate_cmd(&["run"]).spawn().unwrap();
    wait_for_file(&mark.join("started"));
    first.kill().unwrap();
    first.wait().unwrap();
    let mut second =
        ctx.hookgate_cmd(&["run", "--json"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = second.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("waiting for the run already in progress") {
                tx.send(()).ok();
            }
            all += &line;
            all += "\n";
        }
        all
    });
    let waited = rx.recv_timeout(Duration::from_secs(60)).is_ok();
    std::fs::write(mark.join("release"), "").unwrap();
    let out = second.wait_with_output().unwrap();
    let err = reader.join().unwrap();
    marked.assert_gone(&read_pids(&mark.join("pids")), "the released process");
    assert!(waited, "the second run did not wait for the killed run's process:\n{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
    let runs = std::fs::read_to_string(mark.join("runs")).unwrap();
    assert_eq!(runs, "ran\nran\nafter-release\n", "the check ran again before the lock was free");
}

#[test]
fn pip_fallback_works_without_uv() {
    let ctx = with_config(
        "clean",
        "defaults = false\n[checks.pip]\nrun = [\"python\", \"-c\", \"import sys; print(sys.prefix)\"]\n",
    );
    let (v, out) = {
        let out = ctx.hookgate_cmd(&["run", "--json"]).env("HOOKGATE_UV", "none").output().unwrap();
        (serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(), out)
    };
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let log = std::fs::read_to_string(checks(&v)["pip"]["log"].as_str().unwrap()).unwrap();
    assert!(log.contains("-m venv") && !log.contains("uv venv"), "{log}");
}

mod bad_input {
    use super::*;

    fn expect_2(out: &std::process::Output, needle: &str) {
        assert_eq!(out.status.code(), Some(2), "{}", text(out));
        assert!(stderr(out).contains(needle), "expected {needle:?} in:\n{}", text(out));
    }

    #[test]
    fn not_a_git_repository() {
        let ctx = TestContext::bare_dir();
        expect_2(&ctx.hookgate(&["run"]), "not a git repository");
        expect_2(&ctx.hookgate(&["install"]), "not a git repository");
    }

    #[test]
    fn every_command_outside_a_repository_says_so() {
        let ctx = TestContext::bare_dir();
        for args in
            [&["watch"][..], &["ci", "github"], &["release", "--dry-run"], &["status"], &["uninstall"]]
        {
            expect_2(&ctx.hookgate(args), "not a git repository");
        }
    }

    #[test]
    fn ci_github_with_a_malformed_config_names_the_place_and_writes_nothing() {
        let ctx = TestContext::new("clean");
        ctx.write("hookgate.toml", "python-versions = \"3.12\"\n");
        expect_2(&ctx.hookgate(&["ci", "github"]), "hookgate.toml:1:19:");
        assert!(!ctx.work.join(".github").exists());
    }

    #[test]
    fn empty_repository_refuses_run_but_the_first_commit_is_checked() {
        let ctx = TestContext::bare_dir();
        ctx.git(&["init", "-q", "-b", "main"]);
        expect_2(&ctx.hookgate(&["run"]), "no commits yet");
        ctx.install();
        crate::common::copy_dir(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/lint-broken"),
            &ctx.work,
        );
        ctx.git(&["add", "-A"]);
        let out = ctx.git_out(&["commit", "-m", "first"]);
        assert!(!out.status.success(), "{}", text(&out));
        assert!(stderr(&out).contains("F401"));
    }

    #[test]
    fn detached_head_is_checked_like_any_commit() {
        let ctx = with_config("clean", "defaults = false\n[checks.ok]\nrun = \"true\"\n");
        ctx.git(&["checkout", "-q", "--detach"]);
        let (v, out) = ctx.json(&["run"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert_eq!(v["commit"], ctx.git(&["rev-parse", "HEAD"]));
        let status = String::from_utf8_lossy(&ctx.hookgate(&["status"]).stdout).to_string();
        assert!(status.contains("detached HEAD"), "{status}");
    }

    #[test]
    fn shallow_clone_is_checked_normally() {
        let origin = with_config("clean", "defaults = false\n[checks.ok]\nrun = \"true\"\n");
        origin.write("README.md", "second\n");
        origin.git(&["commit", "-q", "-am", "second"]);
        let shallow = origin.work.parent().unwrap().join("shallow");
        let url = format!("file://{}", origin.work.display());
        origin.git(&["clone", "-q", "--depth", "1", &url, shallow.to_str().unwrap()]);
        assert!(shallow.join(".git/shallow").is_file(), "the clone is not shallow");
        let out = origin.hookgate_cmd(&["run", "--json"]).current_dir(&shallow).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let out = origin.hookgate_cmd(&["status"]).current_dir(&shallow).output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
    }

    #[test]
    fn bare_repository_is_refused() {
        let ctx = TestContext::new("clean");
        let out = ctx.hookgate_cmd(&["run"]).current_dir(&ctx.remote).output().unwrap();
        expect_2(&out, "bare repository");
    }

    #[test]
    fn no_pyproject_and_no_hookgate_toml() {
        let ctx = TestContext::new("clean");
        ctx.git(&["rm", "-q", "pyproject.toml"]);
        ctx.git(&["commit", "-q", "-m", "no config"]);
        expect_2(&ctx.hookgate(&["run"]), "neither pyproject.toml, setup.py nor hookgate.toml");
    }

    #[test]
    fn malformed_toml_names_file_line_and_column() {
        let ctx = TestContext::new("clean");
        let text = std::fs::read_to_string(ctx.work.join("pyproject.toml")).unwrap();
        ctx.write(
            "pyproject.toml",
            &format!("{text}\n[tool.hookgate.checks.lint]\ndeps = [\"ruff\" \"x\"]\n"),
        );
        ctx.git(&["commit", "-q", "-am", "broken toml"]);
        let out = ctx.hookgate(&["run"]);
        let lines = text.lines().count();
        expect_2(&out, &format!("pyproject.toml:{}:", lines + 3));
        // With pyproject.toml repaired, an unknown stage in hookgate.toml is located too.
        ctx.write("pyproject.toml", &text);
        ctx.write("hookgate.toml", "[checks.lint]\nstages = [\"pre-comit\"]\n");
        ctx.git(&["add", "-A"]);
        ctx.git(&["commit", "-q", "-m", "bad stage"]);
        expect_2(&ctx.hookgate(&["run"]), "hookgate.toml:2:11: unknown variant `pre-comit`");
    }

    #[test]
    fn no_python_found_says_what_to_install() {
        let ctx = TestContext::new("clean");
        let out =
            ctx.hookgate_cmd(&["run"]).env("HOOKGATE_PYTHON", "python-does-not-exist").output().unwrap();
        expect_2(&out, "no Python interpreter found");
        assert!(stderr(&out).contains("Install CPython"));
    }

    #[test]
    fn usage_errors_exit_2() {
        let ctx = TestContext::new("clean");
        assert_eq!(ctx.hookgate(&["run", "--tree", "HEAD", "--worktree"]).status.code(), Some(2));
        assert_eq!(ctx.hookgate(&["frobnicate"]).status.code(), Some(2));
        expect_2(&ctx.hookgate(&["run", "--tree", "no-such-rev"]), "cannot resolve revision");
    }
}

#[test]
fn deps_resolve_relative_to_the_snapshot_so_the_package_itself_can_be_installed() {
    let ctx = with_config(
        "clean",
        "defaults = false\n[checks.import]\ndeps = [\".\"]\nrun = [\"python\", \"-c\", \"import sample_pkg, sys; assert 'site-packages' in sample_pkg.__file__, sample_pkg.__file__; print(sample_pkg.add(1, 2))\"]\n",
    );
    let (v, out) = ctx.json(&["run"]);
    let log = std::fs::read_to_string(checks(&v)["import"]["log"].as_str().unwrap()).unwrap();
    assert_eq!(out.status.code(), Some(0), "{}\n{log}", text(&out));
    assert!(log.contains("\n3\n"), "{log}");
}

#[test]
fn version_from_git_reaches_the_snapshot_and_ignores_commit_messages() {
    let ctx = TestContext::new("scm");
    ctx.write(
        "hookgate.toml",
        "defaults = false\n[checks.ver]\ndeps = [\".\"]\nrun = [\"python\", \"-c\", \"import scm_pkg; print('VERSION', scm_pkg.__version__)\"]\n",
    );
    ctx.git(&["add", "-A"]);
    ctx.git(&["commit", "-q", "-m", "config"]);
    ctx.git(&["tag", "v1.2.0"]);
    let version_of = |v: &serde_json::Value| {
        let log = std::fs::read_to_string(checks(v)["ver"]["log"].as_str().unwrap()).unwrap();
        log.lines().find_map(|l| l.strip_prefix("VERSION ")).map_or_else(|| panic!("{log}"), str::to_string)
    };
    let (v, out) = ctx.json(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(version_of(&v), "1.2.0");

    ctx.write("README.md", "next\n");
    ctx.git(&["commit", "-q", "-am", "next"]);
    let (v, _) = ctx.json(&["run"]);
    assert_eq!(version_of(&v), "1.2.1.dev1");
    let key = checks(&v)["ver"]["key"].clone();
    // Rewording the commit changes its id but not its tree or version: same key, cached.
    ctx.git(&["commit", "-q", "--amend", "-m", "reworded"]);
    let (v, _) = ctx.json(&["run"]);
    assert_eq!(checks(&v)["ver"]["key"], key);
    assert_eq!(checks(&v)["ver"]["cached"], true);
}

#[test]
fn a_check_whose_need_comes_from_the_cache_still_runs() {
    let ctx = with_config(
        "clean",
        "defaults = false\n[checks.base]\nrun = \"true\"\n[checks.top]\nrun = \"true\"\nneeds = [\"base\"]\n",
    );
    assert!(ctx.hookgate(&["run", "base"]).status.success());
    let mut child =
        ctx.hookgate_cmd(&["run", "top", "--json"]).stdout(std::process::Stdio::piped()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().ok();
            panic!("hookgate hung waiting for a need answered from the cache");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = checks(&v);
    assert_eq!((c["base"]["cached"].as_bool(), c["top"]["cached"].as_bool()), (Some(true), Some(false)));
    assert_eq!(c["top"]["status"], "pass");
}

#[test]
fn a_second_run_of_a_key_in_progress_waits_for_it_and_uses_its_verdict() {
    let ctx = with_config(
        "clean",
        "defaults = false\n[checks.slow]\nenv = [\"HG_MARK\"]\nrun = \"echo ran >> $HG_MARK/runs; touch $HG_MARK/started; sleep 2\"\n",
    );
    let mark = ctx.tmp.join("marks");
    std::fs::create_dir_all(&mark).unwrap();
    let first = ctx
        .hookgate_cmd(&["run", "--json"])
        .env("HG_MARK", &mark)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    crate::common::wait_for_file(&mark.join("started"));
    let second = ctx.hookgate_cmd(&["run", "--json"]).env("HG_MARK", &mark).output().unwrap();
    let first = first.wait_with_output().unwrap();
    assert_eq!((first.status.code(), second.status.code()), (Some(0), Some(0)), "{}", text(&second));
    assert!(stderr(&second).contains("waiting for the run already in progress (pid"), "{}", text(&second));
    let v: serde_json::Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_eq!(checks(&v)["slow"]["cached"], true);
    assert_eq!(checks(&v)["slow"]["reason"], "decided by the run in progress it waited for");
    assert_eq!(std::fs::read_to_string(mark.join("runs")).unwrap(), "ran\n", "the check ran twice");
}

#[test]
fn junit_report_has_one_testcase_per_check_with_the_failure_log() {
    let ctx = with_config(
        "clean",
        "defaults = false\n[checks.good]\nrun = \"true\"\n[checks.bad]\nrun = \"echo 'broken <&> output'; exit 3\"\n\
         [checks.after]\nrun = \"true\"\nneeds = [\"bad\"]\n",
    );
    let junit = ctx.tmp.join("hookgate-junit.xml");
    let out = ctx.hookgate(&["run", "--junit", junit.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    // A real XML parser reads it back.
    let script = "import sys, xml.etree.ElementTree as ET\n\
                  r = ET.parse(sys.argv[1]).getroot()\n\
                  for c in r.iter('testcase'):\n    \
                      kind = 'failure' if c.find('failure') is not None else 'skipped' if c.find('skipped') is not None else 'pass'\n    \
                      print(c.get('name'), kind)\n\
                  print('failure-text', 'broken <&> output' in r.find('.//failure').text)\n";
    let parsed = std::process::Command::new("python3").args(["-c", script]).arg(&junit).output().unwrap();
    assert!(parsed.status.success(), "{}", text(&parsed));
    assert_eq!(
        String::from_utf8_lossy(&parsed.stdout),
        "good pass\nbad failure\nafter skipped\nfailure-text True\n"
    );
}
