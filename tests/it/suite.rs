//! The built-in check suite on real fixture packages with the real tools (uv build, twine,
//! check-wheel-contents, pytest, coverage, Sphinx, MkDocs): each defect fixture fails exactly
//! its check, with a log that says why. The PyPI version check is skipped here (it has its own
//! tests against a loopback index), so these tests need only the package index.

use std::collections::BTreeMap;

use crate::common::{TestContext, checks, log_of, text};
use serde_json::Value;

/// Runs every check but `version` and returns the JSON report.
fn run_all(ctx: &TestContext) -> (Value, std::process::Output) {
    let out = ctx.hookgate_cmd(&["run", "--all", "--json"]).env("HOOKGATE_SKIP", "version").output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{}", text(&out)));
    (v, out)
}

fn statuses(v: &Value) -> BTreeMap<String, String> {
    checks(v).into_iter().map(|(k, c)| (k, c["status"].as_str().unwrap().to_string())).collect()
}

/// Asserts that `failing` is the only failing check and that its log contains `why`.
fn only_fails(fixture: &str, failing: &str, why: &str) -> (TestContext, Value) {
    let ctx = TestContext::new(fixture);
    let v = only_fails_in(&ctx, failing, why);
    (ctx, v)
}

/// [`only_fails`] on a prepared context.
fn only_fails_in(ctx: &TestContext, failing: &str, why: &str) -> Value {
    let (v, out) = run_all(ctx);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let failed: Vec<String> = statuses(&v).into_iter().filter(|(_, s)| s == "fail").map(|(k, _)| k).collect();
    assert_eq!(failed, [failing], "{v}");
    let log = log_of(&v, failing);
    assert!(log.contains(why), "the {failing} log does not say {why:?}:\n{log}");
    // The human table shows the tail of that log.
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("--- {failing} failed")));
    v
}

/// Writes `files` into the work tree and commits them.
fn commit_files(ctx: &TestContext, files: &[(&str, &str)]) {
    for (path, content) in files {
        ctx.write(path, content);
    }
    ctx.git(&["add", "-A"]);
    ctx.git(&["commit", "-q", "-m", "more files"]);
}

#[test]
fn lint_error_fails_only_lint() {
    only_fails("lint-broken", "lint", "F401");
}

#[test]
fn unformatted_code_fails_only_format() {
    only_fails("unformatted", "format", "would be reformatted");
}

#[test]
fn broken_metadata_fails_only_wheel_and_skips_what_needs_it() {
    let (_ctx, v) = only_fails("broken-metadata", "wheel", "has syntax errors in markup");
    let s = statuses(&v);
    assert_eq!((s["test"].as_str(), s["coverage"].as_str()), ("skipped", "skipped"));
    assert_eq!(checks(&v)["test"]["reason"], "needs `wheel`, which failed");
}

#[test]
fn module_left_out_of_the_wheel_fails_test_against_the_installed_wheel() {
    let (_ctx, v) = only_fails("missing-module", "test", "No module named 'sample_pkg.extra'");
    let log = log_of(&v, "test");
    assert!(log.contains("source hidden: src/sample_pkg"), "{log}");
}

#[test]
fn root_module_left_out_of_the_wheel_fails_only_test_in_pytest_and_its_subprocesses() {
    let ctx = TestContext::new("clean");
    // `helper.py` sits beside the package, where `python -m pytest` from the root would import
    // it; the wheel (src/sample_pkg only) does not have it.
    commit_files(
        &ctx,
        &[
            ("helper.py", "def double(x):\n    return 2 * x\n"),
            // The collection error must not hide the subprocess test's verdict.
            ("hookgate.toml", "[checks.test]\nargs = [\"--continue-on-collection-errors\"]\n"),
            (
                "tests/test_helper.py",
                "from helper import double\n\n\ndef test_double():\n    assert double(2) == 4\n",
            ),
            (
                "tests/test_subprocess.py",
                r#"import subprocess
import sys
from pathlib import Path


def test_helper_in_a_subprocess():
    root = Path(__file__).resolve().parent.parent
    argv = [sys.executable, "-c", "import helper"]
    out = subprocess.run(argv, cwd=root, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
"#,
            ),
        ],
    );
    let v = only_fails_in(&ctx, "test", "No module named 'helper' in the installed wheel");
    let log = log_of(&v, "test");
    assert!(log.contains("helper.py is in the source tree"), "{log}");
    assert!(log.contains("FAILED tests/test_subprocess.py::test_helper_in_a_subprocess"), "{log}");
    assert!(log.contains("importable from the source tree: only tests, conftest.py files"), "{log}");
    assert_eq!(statuses(&v)["coverage"], "skipped");
}

#[test]
fn root_conftest_fixtures_a_tests_package_pytest_config_and_data_files_still_work() {
    let ctx = TestContext::new("clean");
    let pyproject = std::fs::read_to_string(ctx.work.join("pyproject.toml")).unwrap();
    let pytest_config = r#"
[tool.pytest.ini_options]
addopts = "--strict-markers"
markers = ["slow: a marker declared in pyproject.toml"]
"#;
    commit_files(
        &ctx,
        &[
            ("pyproject.toml", &format!("{pyproject}{pytest_config}")),
            (
                "conftest.py",
                "import pytest\n\n\n@pytest.fixture\ndef greeting():\n    return \"Hello, world!\"\n",
            ),
            ("tests/__init__.py", ""),
            ("tests/util.py", "def who():\n    return \"world\"\n"),
            ("tests/data.txt", "world\n"),
            (
                "tests/test_package.py",
                r#"from pathlib import Path

import pytest

from sample_pkg import greet
from tests.util import who


@pytest.mark.slow
def test_greet(greeting):
    assert greet(who()) == greeting


def test_data_file():
    assert (Path(__file__).parent / "data.txt").read_text().strip() == who()
"#,
            ),
        ],
    );
    let (v, out) = run_all(&ctx);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out), log_of(&v, "test"));
    let s = statuses(&v);
    assert_eq!((s["test"].as_str(), s["coverage"].as_str()), ("pass", "pass"), "{v}");
    let log = log_of(&v, "test");
    assert!(log.contains("4 passed"), "the fixture's tests and the new ones ran: {log}");
    assert!(log_of(&v, "coverage").contains("src/sample_pkg/__init__.py"));
}

#[test]
fn failing_test_fails_test_and_skips_coverage() {
    let (_ctx, v) = only_fails("failing-test", "test", "arithmetic is broken");
    assert_eq!(statuses(&v)["coverage"], "skipped");
}

#[test]
fn low_coverage_fails_only_coverage_and_still_writes_reports() {
    let (_ctx, v) = only_fails("low-coverage", "coverage", "under fail-under 90%");
    let reports: Vec<String> = checks(&v)["coverage"]["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().into())
        .collect();
    let xml = reports.iter().find(|r| r.ends_with("coverage.xml")).expect("coverage.xml listed");
    let xml = std::fs::read_to_string(xml).unwrap();
    assert!(
        xml.contains("<coverage") && xml.contains("src/sample_pkg/__init__.py"),
        "paths map to the source: {xml}"
    );
    let html = reports.iter().find(|r| r.ends_with("html")).expect("html listed");
    assert!(std::path::Path::new(html).join("index.html").is_file());
    assert!(log_of(&v, "coverage").contains("src/sample_pkg/__init__.py"), "summary names source paths");
}

#[test]
fn broken_sphinx_reference_fails_only_docs() {
    only_fails("docs-broken", "docs", "undefined label");
}

#[test]
fn docs_strict_false_drops_warnings_as_errors() {
    let ctx = TestContext::new("docs-broken");
    ctx.commit_config("[checks.docs]\nstrict = false\n");
    let out = ctx.hookgate(&["run", "docs", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out), log_of(&v, "docs"));
    assert!(!log_of(&v, "docs").contains(" -W "));
}

#[test]
fn sample_package_passes_every_check_with_real_tools_and_reports() {
    let ctx = TestContext::new("clean");
    ctx.commit_config("[checks.docs]\ndoctest = true\n");
    let (v, out) = run_all(&ctx);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let s = statuses(&v);
    for check in ["lint", "format", "wheel", "test", "coverage", "docs"] {
        assert_eq!(s[check], "pass", "{check}: {v}");
    }
    assert!(log_of(&v, "wheel").contains("check-wheel-contents") && log_of(&v, "wheel").contains("PASSED"));
    assert!(log_of(&v, "docs").contains("-b doctest"), "{}", log_of(&v, "docs"));
    assert!(log_of(&v, "coverage").contains("meets fail-under 90%"));
    // The wheel's dists are kept as artifacts and the test installed exactly that wheel.
    let wheel_key = checks(&v)["wheel"]["key"].as_str().unwrap().to_string();
    let artifacts = ctx.work.join(".git/hookgate/artifacts").join(&wheel_key);
    let names: Vec<String> = std::fs::read_dir(&artifacts)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into())
        .collect();
    assert!(
        names.iter().any(|n| n.ends_with(".whl")) && names.iter().any(|n| n.ends_with(".tar.gz")),
        "{names:?}"
    );
    assert!(log_of(&v, "test").contains(&artifacts.display().to_string()));
}

#[test]
fn mkdocs_package_builds_with_mkdocs_strict() {
    let ctx = TestContext::new("mkdocs");
    let (v, out) = run_all(&ctx);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(statuses(&v)["docs"], "pass");
    let log = log_of(&v, "docs");
    assert!(log.contains("mkdocs build") && log.contains("--strict"), "{log}");
    let site = checks(&v)["docs"]["reports"][0].as_str().unwrap().to_string();
    assert!(std::path::Path::new(&site).join("index.html").is_file());
}

#[test]
fn flit_flat_layout_package_tests_the_installed_copy_and_skips_absent_docs() {
    let ctx = TestContext::new("flit");
    let (v, out) = run_all(&ctx);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let s = statuses(&v);
    assert_eq!((s["wheel"].as_str(), s["test"].as_str(), s["coverage"].as_str()), ("pass", "pass", "pass"));
    assert_eq!(s["docs"], "skipped");
    assert_eq!(checks(&v)["docs"]["reason"], "no docs/conf.py (Sphinx) or mkdocs.yml (MkDocs)");
    // The flat-layout package sits at the root, yet the test saw the installed copy.
    assert!(log_of(&v, "test").contains("source hidden: flit_sample"), "{}", log_of(&v, "test"));
}

#[test]
fn setuptools_scm_package_builds_with_the_version_from_git() {
    let ctx = TestContext::new("scm");
    ctx.git(&["tag", "v2.3.4"]);
    let (v, out) = run_all(&ctx);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(log_of(&v, "wheel").contains("scm_pkg-2.3.4-py3-none-any.whl"), "{}", log_of(&v, "wheel"));
    let why = checks(&v)["test"]["reason"].as_str().unwrap().to_string();
    assert!(why.starts_with("no tests:") && why.contains("no tests/ or test/ directory"), "{why}");
}

#[test]
fn lint_and_format_accept_flake8_and_black() {
    let ctx = TestContext::new("clean");
    ctx.commit_config(
        "defaults = false\n[checks.lint]\ntool = \"flake8\"\n[checks.format]\ntool = \"black\"\n",
    );
    let (v, out) = ctx.json(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // Through the per-file cache: flake8's own discovery, then flake8 on the files it names;
    // black over the whole tree once (`-v` names the files it checked).
    assert!(log_of(&v, "lint").contains("per-file cache: 3 file(s) re-checked"), "{}", log_of(&v, "lint"));
    assert!(log_of(&v, "lint").contains("--output-file="));
    assert!(log_of(&v, "format").contains("$ black --check -v ."), "{}", log_of(&v, "format"));
    ctx.write("src/sample_pkg/bad.py", "x=1\n");
    ctx.git(&["add", "-A"]);
    ctx.git(&["commit", "-q", "-m", "bad"]);
    let (v, _) = ctx.json(&["run"]);
    assert_eq!(statuses(&v)["lint"], "fail", "flake8 E225: {}", log_of(&v, "lint"));
    assert_eq!(statuses(&v)["format"], "fail");
}
