//! `hookgate init` (#9 item 6): the config section proposed from the project's own CI files
//! (tox, pre-commit, a workflow), `--write` keeping every other byte of pyproject.toml, the
//! written config making `hookgate run` pass, hostile CI files, and `install` pointing to `init`.

use crate::common::{TestContext, checks, log_of, text};

const TOX: &str = "[tox]\nenvlist = py3, docs\n\n[testenv]\ndeps =\n    pytest\n    py38: mock\ncommands =\n    pytest tests -x --cov=sample_pkg --cov-fail-under=80 {posargs}\n\n[testenv:docs]\ndeps = sphinx\ncommands = sphinx-build -b html docs {envtmpdir}/html\n\n[testenv:type]\ndeps = mypy\ncommands = mypy src\n";

const PRECOMMIT: &str = "repos:\n  - repo: https://github.com/astral-sh/ruff-pre-commit\n    rev: v0.11.9\n    hooks:\n      - id: ruff\n        args: [--fix]\n      - id: ruff-format\n        exclude: ^docs/\n  - repo: https://github.com/pre-commit/pre-commit-hooks\n    rev: v5.0.0\n    hooks:\n      - id: trailing-whitespace\n";

const WORKFLOW: &str = "name: ci\non: [push]\njobs:\n  lint:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: pip install ruff==0.11.9\n      - run: |\n          ruff check --output-format=github src tests\n          ruff format --check src tests\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - run: python -m build && twine check dist/*\n";

/// The `clean` sample package with a tox.ini, a pre-commit config and a workflow, committed.
fn ci_fixture() -> TestContext {
    let ctx = TestContext::new("clean");
    ctx.write("tox.ini", TOX);
    ctx.write(".pre-commit-config.yaml", PRECOMMIT);
    ctx.write(".github/workflows/ci.yml", WORKFLOW);
    ctx.git(&["add", "-A"]);
    ctx.git(&["commit", "-q", "-m", "ci files"]);
    ctx
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn init_prints_a_section_reproducing_tox_pre_commit_and_the_workflow() {
    let ctx = ci_fixture();
    let out = ctx.hookgate(&["init"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("read pyproject.toml, tox.ini, .github/workflows/ci.yml, .pre-commit-config.yaml"),
        "{stderr}"
    );
    let mut s = insta::Settings::clone_current();
    s.set_prepend_module_to_snapshot(false);
    s.bind(|| insta::assert_snapshot!("init_ci_fixture", stdout(&out)));
    // Printing writes nothing.
    assert_eq!(ctx.git(&["status", "--porcelain"]), "");
}

#[test]
fn write_appends_to_pyproject_keeps_every_byte_refuses_twice_and_the_config_passes() {
    let ctx = ci_fixture();
    let before = std::fs::read(ctx.work.join("pyproject.toml")).unwrap();
    let printed = stdout(&ctx.hookgate(&["init"]));
    let out = ctx.hookgate(&["init", "--write"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let after = std::fs::read(ctx.work.join("pyproject.toml")).unwrap();
    assert!(after.starts_with(&before), "the original bytes changed");
    assert_eq!(String::from_utf8_lossy(&after[before.len()..]), format!("\n{printed}"));

    // A second --write refuses and leaves the file alone.
    let again = ctx.hookgate(&["init", "--write"]);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    assert!(text(&again).contains("already has a hookgate config"), "{}", text(&again));
    assert_eq!(std::fs::read(ctx.work.join("pyproject.toml")).unwrap(), after);

    // The written config is what `run` uses, and it passes on the fixture.
    ctx.git(&["commit", "-q", "-am", "hookgate config"]);
    ctx.env_mut("HOOKGATE_SKIP", "version,docs");
    let (v, out) = ctx.json(&["run", "--all"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let c = checks(&v);
    for name in ["lint", "format", "wheel", "test", "coverage"] {
        assert_eq!(c[name]["status"], "pass", "{name}: {v}");
    }
    let lint = log_of(&v, "lint");
    assert!(lint.contains("tool versions: ruff==0.11.9"), "{lint}");
    assert!(lint.contains("--no-fix --no-cache src tests"), "{lint}");
    let test = log_of(&v, "test");
    assert!(test.contains("test requirements from tox.ini [testenv]"), "{test}");
    let coverage = log_of(&v, "coverage");
    assert!(coverage.contains("--fail-under 80"), "{coverage}");
}

#[test]
fn without_pyproject_write_creates_hookgate_toml_that_loads() {
    let ctx = TestContext::bare_dir();
    ctx.git(&["init", "-q", "-b", "main"]);
    ctx.write(
        "setup.py",
        "from setuptools import setup\nsetup(name='old', version='1.0', py_modules=['old'])\n",
    );
    ctx.write("old.py", "X = 1\n");
    ctx.write("tox.ini", "[testenv]\ncommands = python -m pytest -rfsxX test_old.py\n[testenv:flake8]\ndeps = flake8==7.1.0\ncommands = flake8 old.py\n");
    ctx.write("test_old.py", "import old\n\ndef test_x():\n    assert old.X == 1\n");
    let out = ctx.hookgate(&["init", "--write"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let written = std::fs::read_to_string(ctx.work.join("hookgate.toml")).unwrap();
    assert!(written.starts_with("# proposed by `hookgate init`"), "{written}");
    assert!(written.contains("[checks.lint]\ntool = \"flake8\""), "{written}");
    assert!(written.contains("deps = [\"flake8==7.1.0\"]  # pin from tox.ini [testenv:flake8]"), "{written}");
    assert!(written.contains("run = [\"flake8\", \"old.py\"]"), "{written}");
    assert!(written.contains("[checks.format]\nenabled = false  # no formatter"), "{written}");
    assert!(
        written.contains("paths = [\"test_old.py\"]") && written.contains("args = [\"-rfsxX\"]"),
        "{written}"
    );
    ctx.git(&["add", "-A"]);
    ctx.git(&["commit", "-q", "-m", "x"]);
    // It loads: every check skipped, nothing run.
    ctx.env_mut("HOOKGATE_SKIP", "lint,wheel,test,coverage,version,docs");
    let (v, out) = ctx.json(&["run", "--all"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!checks(&v).contains_key("format"), "{v}");
    // And a second --write refuses.
    let again = ctx.hookgate(&["init", "--write"]);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    assert!(text(&again).contains("hookgate.toml"), "{}", text(&again));
}

#[test]
fn hostile_ci_files_give_warnings_not_panics() {
    let ctx = TestContext::new("clean");
    ctx.write(".github/workflows/broken.yml", "jobs: [unclosed\n  - {\n");
    ctx.write(".github/workflows/not-a-workflow.yml", "- just\n- a list\n");
    ctx.write(".github/workflows/deep.yml", &format!("jobs: {}{}\n", "[".repeat(10_000), "]".repeat(10_000)));
    ctx.write(
        "tox.ini",
        "no section = here\n[testenv:]\ncommands = pytest {posargs\n[ testenv ]\ncommands =\n    \n[testenv:weird]\ncommands = \"unterminated ( quote\n  ; comment\n[testenv:x\n=\n:\n",
    );
    ctx.write(".pre-commit-config.yaml", "repos:\n  - repo: https://github.com/astral-sh/ruff-pre-commit\n    rev: v0.11.9\n    hooks: [{id: ruff, files: ^src/}]\n  - repo: local\n    hooks:\n      - id: \"weird\\tname\\u0007\\n]x\"\n        entry: \"a \\\" b\"\n        language: system\n");
    ctx.write("noxfile.py", "@nox.session\ndef t(session):\n    session.run('pytest', (((\n");
    // A Makefile over the size limit is not read.
    ctx.write("Makefile", &"x:\n\techo hi\n".repeat(200_000));
    std::fs::write(ctx.work.join("setup.cfg"), b"\xff\xfe[coverage:report]\nfail_under = 5\n").unwrap();
    ctx.write(".coveragerc", "[report]\nfail_under = 1e999\n");
    let out = ctx.hookgate(&["init"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(!all.contains("panicked"), "{all}");
    assert!(all.contains("warning: .github/workflows/broken.yml: not read: malformed YAML"), "{all}");
    assert!(
        all.contains("warning: .github/workflows/not-a-workflow.yml: not read: no `jobs` mapping"),
        "{all}"
    );
    assert!(all.contains("warning: .github/workflows/deep.yml: not read"), "{all}");
    assert!(all.contains("warning: Makefile: not read: 2400000 bytes"), "{all}");
    assert!(all.contains("warning: setup.cfg: not read: not UTF-8"), "{all}");
    // What it printed is still a config hookgate loads (the custom checks are commented out).
    let section = stdout(&out);
    assert!(section.contains("# [tool.hookgate.checks.weird-name-x]"), "{section}");
    assert!(section.contains("# pre-commit gives the hook only some files (files `^src/`)"), "{section}");
    assert!(!section.lines().any(|l| l.contains('\u{0}') || l.contains('\u{7}')), "{section}");
}

#[test]
fn write_refuses_a_pyproject_it_cannot_append_to_and_changes_nothing() {
    let ctx = TestContext::new("clean");
    // A `tool` defined inline cannot take a `[tool.hookgate]` table after it (TOML's rule).
    let inline = "tool = { ruff = { line-length = 100 } }\n\n[build-system]\nrequires = [\"hatchling\"]\n\
                  build-backend = \"hatchling.build\"\n\n[project]\nname = \"hookgate-sample\"\nversion = \"0.1.0\"\n";
    ctx.write("pyproject.toml", inline);
    let out = ctx.hookgate(&["init", "--write"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("nothing was written"), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(ctx.work.join("pyproject.toml")).unwrap(), inline);

    // A pyproject.toml that is a symlink is not replaced by a regular file.
    ctx.write("real.toml", "[project]\nname = \"hookgate-sample\"\nversion = \"0.1.0\"\n");
    std::fs::remove_file(ctx.work.join("pyproject.toml")).unwrap();
    std::os::unix::fs::symlink("real.toml", ctx.work.join("pyproject.toml")).unwrap();
    let out = ctx.hookgate(&["init", "--write"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("symbolic link"), "{}", text(&out));
    assert!(std::fs::symlink_metadata(ctx.work.join("pyproject.toml")).unwrap().file_type().is_symlink());
}

#[test]
fn install_without_config_points_to_init_in_one_warning() {
    let ctx = TestContext::new("clean");
    let out = ctx.hookgate(&["install"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("hookgate init")).collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(warnings[0].starts_with("hookgate: warning: no hookgate config"), "{stderr}");
    ctx.commit_config("[checks.lint]\n");
    let out = ctx.hookgate(&["install"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("hookgate init"), "{}", text(&out));
}

#[test]
fn nox_sessions_and_makefile_targets_are_read_without_running_them() {
    let ctx = TestContext::new("clean");
    // Running this noxfile would leave a file behind; reading it must not.
    ctx.write(
        "noxfile.py",
        "import nox, pathlib\npathlib.Path('RAN').write_text('x')\n\n@nox.session\ndef tests(session):\n    session.install('pytest', 'hypothesis==6.100.0')\n    session.run('pytest', 'tests', '--cov-fail-under', '75', *session.posargs)\n\n@nox.session\ndef typing(session):\n    session.install('mypy==1.10.0')\n    session.run('mypy', 'src')\n",
    );
    ctx.write("Makefile", "SRC = src tests\n\nlint:\n\t@ruff check $(SRC)\n\nfmt:\n\truff format $(SRC)\n");
    let out = ctx.hookgate(&["init"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!ctx.work.join("RAN").exists());
    let section = stdout(&out);
    assert!(
        section.contains("run = [\"ruff\", \"check\", \"--no-fix\", \"--no-cache\", \"src\", \"tests\"]  # scope and args: Makefile target `lint`: `ruff check src tests`"),
        "{section}"
    );
    // `ruff format` without --check fixes files: its scope is still what CI formats.
    assert!(
        section.contains(
            "run = [\"ruff\", \"format\", \"--check\", \"--diff\", \"--no-cache\", \"src\", \"tests\"]"
        ),
        "{section}"
    );
    assert!(
        section.contains(
            "paths = [\"tests\"]  # noxfile.py session `tests`: `pytest tests --cov-fail-under 75`"
        ),
        "{section}"
    );
    assert!(section.contains("fail-under = 75  # noxfile.py session `tests`"), "{section}");
    assert!(
        section.contains(
            "# [tool.hookgate.checks.typing]  # not mapped: noxfile.py session `typing` runs `mypy src`"
        ),
        "{section}"
    );
    assert!(section.contains("# deps = [\"mypy==1.10.0\"]"), "{section}");
}
