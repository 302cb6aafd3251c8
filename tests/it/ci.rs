//! `hookgate ci github`: the generated workflow builds once and publishes those dists from jobs
//! that run nothing else, passes actionlint (its WASM build, run with node) and zizmor
//! (offline, default and auditor personas; nothing of medium severity or above but
//! `unpinned-uses`), is byte-stable, follows the config, and `--check` / the `ci-sync` check
//! catch drift. `workflow.rs` runs it.

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

    // Both the default persona and the auditor's (which reports what the default one deems
    // too noisy); Low and informational findings are allowed.
    for persona in ["regular", "auditor"] {
        let out = Command::new(crate::common::test_tools().join("zizmor"))
            .args(["--offline", "--format", "json", "--persona", persona])
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
        assert!(serious.is_empty(), "zizmor ({persona}) findings: {serious:#?}");
    }
}

/// The workflow parsed, for structural asserts.
fn parsed(text: &str) -> yaml_rust2::Yaml {
    yaml_rust2::YamlLoader::load_from_str(text).unwrap().remove(0)
}

/// The steps of `job` as (name or uses, run) pairs.
fn steps(doc: &yaml_rust2::Yaml, job: &str) -> Vec<(String, String)> {
    doc["jobs"][job]["steps"]
        .as_vec()
        .unwrap_or_else(|| panic!("job {job} has steps"))
        .iter()
        .map(|s| {
            let what = s["uses"].as_str().or(s["name"].as_str()).unwrap_or_default().to_string();
            (what, s["run"].as_str().unwrap_or_default().to_string())
        })
        .collect()
}

/// Jobs holding `id-token: write` run no hookgate, no checkout and no build: they download
/// the dists `build` made and upload them.
fn assert_publish_jobs_only_upload(doc: &yaml_rust2::Yaml) {
    let jobs = doc["jobs"].as_hash().unwrap();
    let mut publishers = Vec::new();
    for (name, job) in jobs {
        let name = name.as_str().unwrap();
        if job["permissions"]["id-token"].as_str() != Some("write") {
            continue;
        }
        publishers.push(name.to_string());
        for (what, run) in steps(doc, name) {
            assert!(!what.starts_with("actions/checkout"), "{name} checks out: {what}");
            for word in ["hookgate", "build", "pip", "uv ", "python"] {
                assert!(!run.contains(word), "{name} runs `{word}`: {run}");
            }
        }
        let uses: Vec<String> = steps(doc, name).into_iter().map(|(w, _)| w).collect();
        assert!(uses.iter().any(|u| u.starts_with("actions/download-artifact")), "{name}: {uses:?}");
        assert!(uses.iter().any(|u| u.starts_with("pypa/gh-action-pypi-publish")), "{name}: {uses:?}");
    }
    assert_eq!(publishers, ["publish-testpypi", "publish-pypi"]);
    assert_eq!(doc["permissions"]["contents"].as_str(), Some("read"));
    assert_eq!(doc["jobs"]["publish-pypi"]["environment"]["name"].as_str(), Some("pypi"));
}

#[test]
fn default_workflow_builds_once_tests_those_dists_and_passes_actionlint_and_zizmor() {
    let ctx = TestContext::new("clean");
    let text = generate(&ctx);
    // requires-python = ">=3.9" on the sample: every maintained CPython.
    assert!(text.contains(r#"python-version: ["3.10", "3.11", "3.12", "3.13", "3.14"]"#), "{text}");
    assert!(text.contains(&format!("python -m pip install hookgate=={}", env!("CARGO_PKG_VERSION"))));
    assert!(!text.contains("cargo install"), "{text}");
    let doc = parsed(&text);
    // One build, uploaded; the matrix downloads it and tests exactly those files.
    let build = steps(&doc, "build");
    assert!(build.iter().any(|(_, r)| r.contains("SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)")));
    assert!(build.iter().any(|(_, r)| r.contains("hookgate run wheel --json")));
    assert!(build.iter().any(|(w, _)| w.starts_with("actions/upload-artifact")));
    let check = steps(&doc, "check");
    assert!(check.iter().any(|(_, r)| r == "hookgate run --all --dists dist --junit hookgate-junit.xml"));
    assert_eq!(doc["jobs"]["check"]["needs"].as_str(), Some("build"));
    assert_publish_jobs_only_upload(&doc);
    // TestPyPI: same-repository pull requests only, a static version uploaded once.
    let testpypi = &doc["jobs"]["publish-testpypi"];
    assert!(
        testpypi["if"]
            .as_str()
            .unwrap()
            .contains("github.event.pull_request.head.repo.full_name == github.repository")
    );
    assert!(text.contains("skip-existing: true"));
    // A static version: main tags final versions, and only main does.
    assert!(doc["jobs"]["tag"]["if"].as_str().unwrap().contains("refs/heads/main"));
    assert!(steps(&doc, "tag").iter().any(|(_, r)| r.contains("is not a final release")));
    // Hygiene: checkouts keep no credentials, PR runs cancel superseded ones, manual runs.
    assert_eq!(text.matches("persist-credentials: false").count(), text.matches("actions/checkout").count());
    assert!(text.contains("cancel-in-progress: ${{ github.event_name == 'pull_request' }}"));
    assert!(doc["jobs"]["publish-pypi"]["concurrency"].is_badvalue());
    assert!(!doc["on"]["workflow_dispatch"].is_badvalue());
    assert!(!text.contains("password:") && !text.contains("SETUPTOOLS_SCM_PRETEND_VERSION"));
    assert_lints_clean(&ctx);
}

#[test]
fn vcs_versioned_workflow_releases_on_tags_with_a_dev_version_per_pr_run() {
    let ctx = TestContext::new("scm");
    let text = generate(&ctx);
    let doc = parsed(&text);
    // No tag job: a version from git is released by pushing its tag.
    assert!(doc["jobs"]["tag"].is_badvalue(), "{text}");
    assert!(doc["jobs"]["publish-pypi"]["if"].as_str().unwrap().contains("refs/tags/v"));
    // A PR run builds a version of its own (local-free, from the run number) and the checks
    // judge the dists as that version.
    let build = steps(&doc, "build");
    assert!(build.iter().any(|(_, r)| r.contains("RUN_NUMBER") && r.contains(".dev")), "{build:?}");
    assert_eq!(
        doc["jobs"]["build"]["outputs"]["version"].as_str(),
        Some("${{ steps.version.outputs.version }}")
    );
    assert!(text.contains("SETUPTOOLS_SCM_PRETEND_VERSION: ${{ needs.build.outputs.version }}"));
    assert_publish_jobs_only_upload(&doc);
    assert_lints_clean(&ctx);
}

#[test]
fn dependabot_config_is_written_on_request_and_checked() {
    let ctx = TestContext::new("clean");
    let out = ctx.hookgate(&["ci", "github", "--dependabot"]);
    assert!(out.status.success(), "{}", text(&out));
    let dependabot = std::fs::read_to_string(ctx.work.join(".github/dependabot.yml")).unwrap();
    let doc = parsed(&dependabot);
    assert_eq!(doc["updates"][0]["package-ecosystem"].as_str(), Some("github-actions"));
    assert_eq!(ctx.hookgate(&["ci", "github", "--check", "--dependabot"]).status.code(), Some(0));
    std::fs::remove_file(ctx.work.join(".github/dependabot.yml")).unwrap();
    let out = ctx.hookgate(&["ci", "github", "--check", "--dependabot"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(".github/dependabot.yml does not exist"));
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

#[test]
fn with_ci_signers_the_check_job_uses_ci_verdicts_and_only_the_signing_job_holds_the_key() {
    let ctx = TestContext::new("clean");
    ctx.commit_config("[share]\nci-signers = [\"ci@example.org\"]\n");
    let text = generate(&ctx);
    let doc = parsed(&text);
    let check: Vec<String> = steps(&doc, "check").into_iter().map(|(w, _)| w).collect();
    let fetch =
        check.iter().position(|w| w.starts_with("Fetch the verdicts CI signed")).expect("a fetch step");
    let run = check.iter().position(|w| w == "Run every check on those dists").unwrap();
    assert!(fetch < run, "{check:?}");
    // Only the signing job sees the key; with the tag job, only it may write.
    for (name, job) in doc["jobs"].as_hash().unwrap() {
        let name = name.as_str().unwrap();
        let holds_key =
            job["steps"].as_vec().unwrap().iter().any(|s| format!("{s:?}").contains("HOOKGATE_SIGNING_KEY"));
        assert_eq!(holds_key, name == "share-verdicts", "{name}");
        let writes = job["permissions"]["contents"].as_str() == Some("write");
        assert_eq!(writes, name == "share-verdicts" || name == "tag", "{name}");
    }
    let share = steps(&doc, "share-verdicts");
    assert!(share.iter().any(|(_, r)| r.contains("hookgate verdicts push --statements")), "{share:?}");
    assert!(share.iter().all(|(_, r)| !r.contains("hookgate run")), "the signing job runs no checks");
    assert_publish_jobs_only_upload(&doc);
    assert_lints_clean(&ctx);

    // A principal that is not a plain name never reaches the workflow's shell.
    ctx.commit_config("[share]\nci-signers = [\"x' ; curl evil #\"]\n");
    let text = generate(&ctx);
    assert!(!text.contains("share-verdicts") && !text.contains("curl evil"), "{text}");
}
