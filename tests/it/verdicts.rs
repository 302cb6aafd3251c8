//! Verdicts that are the tool's honest answer on the tree, whatever the project's settings:
//! a linter configured to fix does not fix its way to a pass, and docs that fail only for
//! want of the network reach no verdict.

use crate::common::{TestContext, checks, log_of, text};

#[test]
fn lint_fails_on_a_project_whose_ruff_config_says_fix() {
    let ctx = TestContext::new("clean");
    let pyproject = std::fs::read_to_string(ctx.work.join("pyproject.toml")).unwrap();
    ctx.write("pyproject.toml", &pyproject.replace("[tool.ruff]\n", "[tool.ruff]\nfix = true\n"));
    ctx.write("src/sample_pkg/extra.py", "\"\"\"Module.\"\"\"\n\nimport os\n");
    ctx.commit_config("defaults = false\n[checks.lint]\n");
    let (v, out) = ctx.json(&["run"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(checks(&v)["lint"]["status"], "fail");
    let log = log_of(&v, "lint");
    assert!(log.contains("F401"), "{log}");
}

const INTERSPHINX: &str = "\nextensions = [*globals().get(\"extensions\", []), \"sphinx.ext.intersphinx\"]\n\
intersphinx_mapping = {\"python\": (\"http://127.0.0.1:9/\", None)}\n";

#[test]
fn docs_that_fail_only_for_want_of_the_network_are_unknown_not_failed() {
    let ctx = TestContext::new("clean");
    let conf = std::fs::read_to_string(ctx.work.join("docs/conf.py")).unwrap();
    ctx.write("docs/conf.py", &format!("{conf}{INTERSPHINX}"));
    ctx.commit_config("defaults = false\n[checks.docs]\n");
    let (v, out) = ctx.json(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(checks(&v)["docs"]["status"], "unknown", "{v}");
    assert!(checks(&v)["docs"]["reason"].as_str().unwrap().contains("network"), "{v}");
    // No verdict is cached: the next run asks again.
    let (v, _) = ctx.json(&["run"]);
    assert_eq!(checks(&v)["docs"]["cached"], false);
}

#[test]
fn a_real_docs_problem_still_fails_and_names_the_first_warning_even_offline() {
    let ctx = TestContext::new("docs-broken");
    let conf = std::fs::read_to_string(ctx.work.join("docs/conf.py")).unwrap();
    ctx.write("docs/conf.py", &format!("{conf}{INTERSPHINX}"));
    ctx.commit_config("defaults = false\n[checks.docs]\n");
    let (v, out) = ctx.json(&["run"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let docs = &checks(&v)["docs"];
    assert_eq!(docs["status"], "fail");
    let reason = docs["reason"].as_str().unwrap();
    assert!(reason.contains("the first:") && !reason.contains("intersphinx"), "{reason}");
    let log = log_of(&v, "docs");
    let last = log.lines().rev().find(|l| l.starts_with("hookgate: first problem:")).unwrap_or_default();
    assert!(last.contains("WARNING"), "{log}");
}

#[test]
fn lint_installs_the_ruff_version_the_project_pins_and_a_new_pin_re_runs_it() {
    let ctx = TestContext::new("clean");
    let precommit = |rev: &str| {
        format!(
            "repos:\n  - repo: https://github.com/astral-sh/ruff-pre-commit\n    rev: {rev}\n    hooks:\n      - id: ruff\n"
        )
    };
    ctx.write(".pre-commit-config.yaml", &precommit("v0.11.9"));
    ctx.commit_config("defaults = false\n[checks.lint]\n");
    let (v, out) = ctx.json(&["run"]);
    assert!(out.status.success(), "{}", text(&out));
    let lint = &checks(&v)["lint"];
    let log = log_of(&v, "lint");
    assert!(log.contains("ruff==0.11.9 (from .pre-commit-config.yaml (rev v0.11.9))"), "{log}");
    assert!(log.contains("ruff 0.11.9") || log.contains("ruff==0.11.9"), "{log}");
    let key = lint["key"].clone();
    // A new pin is a new key: the cached pass of the old ruff does not answer for the new one.
    ctx.write(".pre-commit-config.yaml", &precommit("v0.12.0"));
    ctx.git(&["commit", "-q", "-am", "bump ruff"]);
    let (v, out) = ctx.json(&["run"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_ne!(checks(&v)["lint"]["key"], key);
    assert_eq!(checks(&v)["lint"]["cached"], false);
    // Without any pin, hookgate's own default is installed, never whatever the index serves.
    std::fs::remove_file(ctx.work.join(".pre-commit-config.yaml")).unwrap();
    ctx.git(&["commit", "-q", "-am", "no pre-commit"]);
    let (v, _) = ctx.json(&["run"]);
    let log = log_of(&v, "lint");
    assert!(log.contains("(from hookgate") && log.contains("default)"), "{log}");
}

#[test]
fn a_setup_py_only_package_gets_the_standard_suite() {
    // No `long_description_content_type` (six has none): twine warns, PyPI accepts it.
    let ctx = TestContext::bare_dir();
    ctx.write(
        "setup.py",
        "from setuptools import setup\n\nsetup(\n    name=\"oldstyle\",\n    version=\"1.0\",\n    py_modules=[\"oldstyle\"],\n    description=\"An old-style package.\",\n    long_description=\"An old-style package.\",\n)\n",
    );
    ctx.write("oldstyle.py", "\"\"\"An old-style module.\"\"\"\n\nVALUE = 1\n");
    ctx.git(&["init", "-q", "-b", "main"]);
    ctx.git(&["add", "-A"]);
    ctx.git(&["commit", "-q", "-m", "init"]);
    ctx.env_mut("HOOKGATE_SKIP", "test,coverage,version,docs");
    let (v, out) = ctx.json(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let c = checks(&v);
    for check in ["lint", "format", "wheel"] {
        assert_eq!(c[check]["status"], "pass", "{check}: {v}");
    }
    assert!(log_of(&v, "wheel").contains("long_description_content_type"), "twine's warning is in the log");
}

#[test]
fn an_install_that_fails_is_a_setup_error_exit_2_and_never_cached() {
    let ctx = TestContext::new("clean");
    ctx.commit_config(
        "defaults = false\n[checks.needs-missing]\ndeps = [\"hookgate-no-such-package-anywhere==0.0.1\"]\nrun = \"true\"\n",
    );
    let (v, out) = ctx.json(&["run"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let c = &checks(&v)["needs-missing"];
    assert_eq!(c["status"], "error", "{v}");
    assert!(c["reason"].as_str().unwrap().contains("not cached"), "{v}");
    assert_eq!(ctx.record_count(), 0, "a setup error was cached");
    let (v, _) = ctx.json(&["run"]);
    assert_eq!(checks(&v)["needs-missing"]["cached"], false);
}

#[test]
fn ruff_gets_only_the_python_files_its_discovery_finds_as_pre_commit_names_them() {
    let ctx = TestContext::new("clean");
    // ruff 0.17 formats Markdown code blocks when given `.`; pre-commit never hands it README.md.
    let readme = std::fs::read_to_string(ctx.work.join("README.md")).unwrap();
    ctx.write("README.md", &format!("{readme}\n```python\nimport os\ndef hi():\n    return os.sep\n```\n"));
    // A file name that looks like an option is a file, not a flag.
    ctx.write("-odd.py", "X = 1\n");
    ctx.commit_config("defaults = false\n[checks.lint]\n[checks.format]\n");
    let (v, out) = ctx.json(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    for check in ["lint", "format"] {
        let log = log_of(&v, check);
        assert!(log.contains("--force-exclude -- -odd.py ") && !log.contains("README.md"), "{log}");
    }
    // A stub is a Python file: it is formatted, and its problem fails the check.
    ctx.write("src/sample_pkg/stub.pyi", "def f( x ): ...\n");
    ctx.git(&["add", "-A"]);
    ctx.git(&["commit", "-q", "-m", "stub"]);
    let (v, out) = ctx.json(&["run", "format"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(log_of(&v, "format").contains("src/sample_pkg/stub.pyi"), "{}", log_of(&v, "format"));
}
