//! The test environment found the way the project's CI finds it (#9 item 2): pytest's own
//! `testpaths`, root-level test modules, requirement sources (a group naming the package
//! itself installs the wheel's extras, never the published package), and the runner (unittest
//! when tox's test command runs it).

use crate::common::{TestContext, checks, log_of, text};

const ONLY_TEST: &str = "defaults = false\n[checks.wheel]\n[checks.test]\n";

#[test]
fn tests_under_pytest_testpaths_are_collected_not_skipped() {
    let ctx = TestContext::new("clean");
    ctx.git(&["mv", "tests", "testing"]);
    let pyproject = std::fs::read_to_string(ctx.work.join("pyproject.toml")).unwrap();
    ctx.write(
        "pyproject.toml",
        &format!("{pyproject}\n[tool.pytest.ini_options]\ntestpaths = [\"testing\"]\n"),
    );
    ctx.write("testing/test_more.py", "def test_planted_failure():\n    assert 1 + 1 == 3\n");
    ctx.commit_config(ONLY_TEST);
    let (v, out) = ctx.json(&["run"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let test = &checks(&v)["test"];
    assert_eq!(test["status"], "fail", "{v}");
    let log = log_of(&v, "test");
    assert!(log.contains("testpaths") && log.contains("test_planted_failure"), "{log}");
}

#[test]
fn a_group_naming_the_package_itself_installs_the_wheels_extras_and_root_test_modules_run() {
    let ctx = TestContext::new("clean");
    std::fs::remove_dir_all(ctx.work.join("tests")).unwrap();
    let pyproject = std::fs::read_to_string(ctx.work.join("pyproject.toml")).unwrap();
    let pyproject = pyproject.replace("test = [\"pytest\"]", "testing = [\"iniconfig\"]").replace(
        "[tool.hatch",
        "[dependency-groups]\ntests = [\"hookgate-sample[testing]\", \"pytest\"]\n\n[tool.hatch",
    );
    ctx.write("pyproject.toml", &pyproject);
    ctx.write(
        "test_root.py",
        "import iniconfig\n\nfrom sample_pkg import add\n\n\ndef test_extra_and_package():\n    assert iniconfig and add(1, 2) == 3\n",
    );
    ctx.commit_config(ONLY_TEST);
    let (v, out) = ctx.json(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let test = &checks(&v)["test"];
    let log = log_of(&v, "test");
    assert!(log.contains("test requirements from dependency group `tests`"), "{log}");
    assert!(log.contains(".whl[testing]"), "the extra was not installed with the wheel: {log}");
    assert!(log.contains("test_root.py"), "{log}");
    assert_eq!(test["status"], "pass", "{log}");
}

#[test]
fn coverage_leaves_out_files_the_build_generated_instead_of_failing() {
    let ctx = TestContext::new("scm");
    let pyproject = std::fs::read_to_string(ctx.work.join("pyproject.toml")).unwrap();
    ctx.write(
        "pyproject.toml",
        &pyproject.replace(
            "[tool.setuptools_scm]",
            "[tool.setuptools_scm]\nversion_file = \"src/scm_pkg/_version.py\"",
        ),
    );
    ctx.write(
        "src/scm_pkg/__init__.py",
        "\"\"\"A package versioned by setuptools-scm.\"\"\"\n\nfrom ._version import version as __version__\n",
    );
    ctx.write(
        "tests/test_version.py",
        "import scm_pkg\n\n\ndef test_version():\n    assert scm_pkg.__version__\n",
    );
    ctx.commit_config("defaults = false\n[checks.wheel]\n[checks.test]\n[checks.coverage]\n");
    let (v, out) = ctx.json(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let cov = &checks(&v)["coverage"];
    let log = log_of(&v, "coverage");
    assert_eq!(cov["status"], "pass", "{log}");
    assert!(log.contains("left out of the report") && log.contains("_version.py"), "{log}");
    assert!(!log.contains("NoSource"), "{log}");
}

#[test]
fn a_project_whose_tox_command_runs_unittest_runs_its_unittest_suite_against_the_wheel() {
    let ctx = TestContext::new("clean");
    // pytest would collect the plain functions of test_sample.py too; unittest runs only the
    // TestCase, so its counts prove which runner ran.
    ctx.write(
        "tox.ini",
        "[tox]\nenvlist = py3\n\n[testenv]\ndeps = iniconfig\ncommands =\n    python -m unittest discover {toxinidir}/tests {posargs}\n",
    );
    ctx.write("tests/__init__.py", "");
    ctx.write(
        "tests/test_unit.py",
        "import unittest\n\nimport iniconfig\n\nimport sample_pkg\nfrom sample_pkg import add\n\n\nclass T(unittest.TestCase):\n    def test_from_the_wheel(self):\n        self.assertIn(\"site-packages\", sample_pkg.__file__)\n        self.assertTrue(iniconfig)\n\n    def test_planted_failure(self):\n        self.assertEqual(add(1, 1), 3)\n",
    );
    ctx.commit_config(ONLY_TEST);
    let (v, out) = ctx.json(&["run"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(checks(&v)["test"]["status"], "fail", "{v}");
    let log = log_of(&v, "test");
    assert!(log.contains("tests: python -m unittest discover tests"), "{log}");
    assert!(log.contains("Ran 2 tests") && log.contains("FAILED (failures=1)"), "{log}");
    assert!(log.contains("test_planted_failure") && !log.contains("test session starts"), "{log}");
}
