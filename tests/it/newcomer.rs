//! What a new user meets first (#14): the same words in `run` and `status`, skips that say
//! why, and keys that ignore what a check cannot see (a tag does not re-run `lint`).

use crate::common::{TestContext, checks, text};

#[test]
fn a_check_skipped_because_its_need_was_skipped_says_why_and_status_agrees() {
    let ctx = TestContext::new("scm"); // a package without tests/
    ctx.env_mut("HOOKGATE_SKIP", "lint,format,wheel,version,docs");
    let (v, out) = ctx.json(&["run"]);
    assert!(out.status.success(), "{}", text(&out));
    let c = checks(&v);
    assert_eq!(c["test"]["status"], "skipped");
    assert!(c["test"]["reason"].as_str().unwrap().contains("no tests/ or test/ directory"), "{v}");
    assert_eq!(c["coverage"]["status"], "skipped");
    let why = c["coverage"]["reason"].as_str().unwrap();
    assert!(why.contains("`test` was skipped") && why.contains("no tests/ or test/ directory"), "{why}");
    assert!(!why.contains("did not pass"), "{why}");
    // `status` uses the words `run` used.
    let out = ctx.hookgate(&["status", "--json", "-n", "1"]);
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let st = &s["commits"][0]["checks"];
    assert_eq!(st["test"], "skipped", "{s}");
    assert_eq!(st["coverage"], "skipped", "{s}");
    assert_eq!(st["lint"], "skipped", "{s}");
}

#[test]
fn status_says_unchecked_for_a_check_without_a_verdict_not_unknown() {
    let ctx = TestContext::new("clean");
    ctx.commit_config("defaults = false\n[checks.ok]\nrun = \"true\"\n[checks.later]\nrun = \"true\"\n");
    assert!(ctx.hookgate(&["run", "ok"]).status.success());
    let out = ctx.hookgate(&["status", "--json", "-n", "1"]);
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["commits"][0]["checks"]["ok"], "pass", "{s}");
    assert_eq!(s["commits"][0]["checks"]["later"], "unchecked", "{s}");
}

#[test]
fn tagging_a_commit_changes_only_the_keys_of_checks_that_build_the_package() {
    let ctx = TestContext::new("scm"); // version from git (setuptools-scm)
    ctx.commit_config("[checks.uses-pkg]\ndeps = [\".\"]\nrun = \"true\"\n[checks.plain]\nrun = \"true\"\n");
    // Every check skipped: the keys are computed, nothing runs.
    ctx.env_mut("HOOKGATE_SKIP", "lint,format,wheel,test,coverage,version,docs,uses-pkg,plain");
    let keys = |ctx: &TestContext| {
        let (v, out) = ctx.json(&["run"]);
        assert!(out.status.success(), "{}", text(&out));
        checks(&v)
            .into_iter()
            .map(|(n, c)| (n, c["key"].as_str().unwrap().to_string()))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let before = keys(&ctx);
    ctx.git(&["tag", "v3.1.4"]);
    let after = keys(&ctx);
    for same in ["lint", "format", "plain"] {
        assert_eq!(before[same], after[same], "{same} re-runs after a tag");
    }
    for changed in ["wheel", "test", "coverage", "version", "docs", "uses-pkg"] {
        assert_ne!(before[changed], after[changed], "{changed} ignores the version from git");
    }
}
