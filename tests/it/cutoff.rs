//! Early cutoff for the tests: after a docs-only edit the wheel is rebuilt, found identical file
//! by file, and `test`/`coverage` take the verdict of the tree already tested; an edit of the
//! tests, the package, the test requirements or a file the tests read runs them again. Real
//! git commits and pushes through the installed hooks, real uv, hatchling and pytest.

use serde_json::Value;

use crate::common::{TestContext, checks, log_of, text};

/// Everything but the wheel, the tests and (where asked) coverage: ruff, the docs build and the
/// index are not under test here.
const SKIP: &str = "lint,format,version,docs,ci-sync";

fn setup(fixture: &str, skip: &str) -> TestContext {
    let ctx = TestContext::new(fixture);
    ctx.env_mut("HOOKGATE_SKIP", skip);
    ctx.install();
    ctx
}

/// Commits every change in the work tree (without the hooks) and returns the new tree's id.
fn commit(ctx: &TestContext, message: &str) -> String {
    ctx.git(&["add", "-A"]);
    ctx.git(&["commit", "-q", "--no-verify", "-m", message]);
    ctx.git(&["rev-parse", "HEAD^{tree}"])
}

/// `run --json` of HEAD, with its outcomes by check name.
fn run(ctx: &TestContext, args: &[&str]) -> (Value, std::collections::BTreeMap<String, Value>, i32) {
    let mut all = vec!["run"];
    all.extend(args);
    let (v, out) = ctx.json(&all);
    let by_name = checks(&v);
    (v, by_name, out.status.code().unwrap_or(-1))
}

/// Asserts that `check` ran on this tree (no cutoff, no cached verdict).
fn assert_ran(c: &std::collections::BTreeMap<String, Value>, check: &str, what: &str) {
    assert_eq!(c[check]["cached"], false, "{what}: `{check}` should run: {}", c[check]);
    assert_eq!(c[check]["source"], "local", "{what}: {}", c[check]);
}

#[test]
fn a_docs_edit_reuses_the_tests_verdict_and_edits_of_tests_package_or_requirements_run_them() {
    let ctx = setup("clean", SKIP);
    let out = ctx.git_out(&["push", "origin", "main"]);
    assert!(out.status.success(), "{}", text(&out));
    let tested = ctx.git(&["rev-parse", "HEAD^{tree}"]);
    assert_eq!(pointers(&ctx), ["coverage", "test"], "a verdict leaves a pointer for the next tree");

    // A docs-only edit: the wheel is rebuilt, and the tests are not run again.
    ctx.write("docs/index.rst", "hookgate-sample\n===============\n\nReworded.\n");
    commit(&ctx, "docs");
    let out = ctx.git_out(&["push", "origin", "main"]);
    assert!(out.status.success(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    let reused = format!("early cutoff: the verdict of tree {}", &tested[..10]);
    for check in ["test", "coverage"] {
        let line = err.lines().find(|l| l.trim_start().starts_with(check)).unwrap_or_default();
        assert!(line.contains("pass") && line.contains(&reused), "`{check}`: {line}\n{err}");
    }
    let (v, c, code) = run(&ctx, &[]);
    assert_eq!(code, 0, "{v}");
    for check in ["wheel", "test", "coverage"] {
        assert_eq!(c[check]["status"], "pass", "{v}");
        assert_eq!(c[check]["cached"], true, "the push recorded it: {v}");
    }
    let log = log_of(&v, "test");
    assert!(
        log.contains(&format!(
            "reused the verdict of tree {tested}: the wheel is byte-identical (file by file) and \
             the tests' files are unchanged"
        )),
        "{log}"
    );
    assert!(log.contains("2 passed"), "the log of the run it reused follows: {log}");
    let coverage = &c["coverage"]["reports"];
    assert!(coverage.as_array().is_some_and(|r| !r.is_empty()), "coverage's reports came along: {v}");

    // `--force` never takes a verdict from another tree.
    let (v, c, code) = run(&ctx, &["--force", "test"]);
    assert_eq!(code, 0, "{v}");
    assert_ran(&c, "test", "--force");

    // An edit of a test file runs the tests (and coverage on their new data).
    ctx.write(
        "tests/test_sample.py",
        "from sample_pkg import add, greet\n\n\ndef test_greet():\n    assert greet(\"world\") == \"Hello, world!\"\n\n\ndef test_add():\n    assert add(2, 3) == 5\n    assert add(0, 0) == 0\n",
    );
    commit(&ctx, "tests");
    let (v, c, code) = run(&ctx, &[]);
    assert_eq!(code, 0, "{v}");
    assert_ran(&c, "test", "a test edit");
    assert_ran(&c, "coverage", "a test edit");

    // An edit of the package: the wheel differs.
    ctx.write(
        "src/sample_pkg/__init__.py",
        &std::fs::read_to_string(ctx.work.join("src/sample_pkg/__init__.py"))
            .unwrap()
            .replace("A tiny package", "A very small package"),
    );
    commit(&ctx, "source");
    let (v, c, code) = run(&ctx, &[]);
    assert_eq!(code, 0, "{v}");
    assert_ran(&c, "test", "a package edit");

    // The test requirements: a dependency group (not in the wheel's metadata) now provides them.
    let pyproject = std::fs::read_to_string(ctx.work.join("pyproject.toml")).unwrap();
    ctx.write(
        "pyproject.toml",
        &format!("{pyproject}\n[dependency-groups]\ntest = [\"pytest\", \"iniconfig\"]\n"),
    );
    commit(&ctx, "requirements");
    let (v, c, code) = run(&ctx, &[]);
    assert_eq!(code, 0, "{v}");
    assert_ran(&c, "test", "a requirements edit");
    assert!(log_of(&v, "test").contains("dependency group `test`"), "{v}");
}

#[test]
fn a_failing_verdict_is_reused_and_still_fails_the_push() {
    let ctx = setup("failing-test", &format!("{SKIP},coverage"));
    ctx.write("docs/index.rst", "Failing\n=======\n");
    let failed = commit(&ctx, "docs");
    let out = ctx.git_out(&["push", "origin", "main"]);
    assert!(!out.status.success(), "{}", text(&out));

    ctx.write("docs/index.rst", "Failing\n=======\n\nStill.\n");
    commit(&ctx, "docs again");
    let (v, c, code) = run(&ctx, &[]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(c["test"]["status"], "fail", "{v}");
    assert_eq!(c["test"]["cached"], true, "{v}");
    assert_eq!(c["test"]["source"], "cutoff", "{v}");
    let reason = c["test"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains(&failed[..10]), "{reason}");
    assert_eq!(c["wheel"]["cached"], false, "the wheel was built again: {v}");
    let log = log_of(&v, "test");
    assert!(log.contains("reused the verdict of tree") && log.contains("arithmetic is broken"), "{log}");

    // The push of that tree is refused, with the failure shown.
    let out = ctx.git_out(&["push", "origin", "main"]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("arithmetic is broken"), "{}", text(&out));
}

#[test]
fn a_file_the_tests_read_outside_the_test_directory_runs_them_again() {
    let ctx = setup("clean", &format!("{SKIP},coverage"));
    // A test reading a docs file and a data file at the root: both are the tests' files.
    ctx.write(
        "tests/test_data.py",
        "from pathlib import Path\n\nROOT = Path(__file__).parent.parent\n\n\ndef test_data():\n    \
         assert (ROOT / \"docs\" / \"values.txt\").read_text() == (ROOT / \"data\" / \"expected.txt\").read_text()\n",
    );
    ctx.write("docs/values.txt", "1\n");
    ctx.write("data/expected.txt", "1\n");
    commit(&ctx, "data test");
    let (v, c, code) = run(&ctx, &[]);
    assert_eq!(code, 0, "{v}");
    assert_ran(&c, "test", "the first run");

    ctx.write("docs/values.txt", "2\n");
    commit(&ctx, "docs values");
    let (v, c, code) = run(&ctx, &[]);
    assert_eq!(code, 1, "the docs file the test reads changed: {v}");
    assert_ran(&c, "test", "a docs file the test reads");

    ctx.write("docs/values.txt", "1\n");
    ctx.write("data/expected.txt", "2\n");
    commit(&ctx, "data");
    let (v, c, code) = run(&ctx, &[]);
    assert_eq!(code, 1, "the data file the test reads changed: {v}");
    assert_ran(&c, "test", "a data file the test reads");
}

/// The checks named by the early-cutoff pointers in the cache.
fn pointers(ctx: &TestContext) -> Vec<String> {
    let dir = ctx.work.join(".git/hookgate/cutoffs");
    let mut out = Vec::new();
    for pre in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        for file in std::fs::read_dir(pre.path()).into_iter().flatten().flatten() {
            let p: Value = serde_json::from_slice(&std::fs::read(file.path()).unwrap()).unwrap();
            out.push(p["check"].as_str().unwrap_or_default().to_string());
        }
    }
    out.sort();
    out
}

#[test]
fn a_setup_error_leaves_no_cutoff_pointer() {
    let ctx = setup("clean", &format!("{SKIP},coverage"));
    ctx.commit_config("[checks.test]\ndeps = [\"hookgate-no-such-package-anywhere==0.0.1\"]\n");
    let (v, c, code) = run(&ctx, &[]);
    assert_eq!(code, 2, "{v}");
    assert_eq!(c["test"]["status"], "error", "{v}");
    assert_eq!(c["wheel"]["status"], "pass", "{v}");
    assert!(pointers(&ctx).is_empty(), "{:?}", pointers(&ctx));
}
