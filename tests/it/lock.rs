//! `[tool.hookgate] lock = "PATH"`: the test and docs environments install from a locked
//! requirements file (with hashes), a `uv.lock` (via `uv export`) or a PEP 751 `pylock.toml`,
//! and the lock's content is part of those checks' keys. Locks are made with the real uv.

use std::process::Command;

use crate::common::{TestContext, checks, log_of, text};

fn uv(ctx: &TestContext, args: &[&str]) {
    let mut cmd = Command::new("uv");
    ctx.apply_env(&mut cmd);
    let out = cmd.args(args).current_dir(&ctx.work).output().unwrap();
    assert!(out.status.success(), "uv {args:?}: {}", text(&out));
}

fn locked(lock: &str, make: impl FnOnce(&TestContext), extra: &str) -> TestContext {
    let ctx = TestContext::new("clean");
    make(&ctx);
    ctx.commit_config(&format!("lock = \"{lock}\"\n[checks.version]\nenabled = false\n{extra}"));
    ctx
}

fn compile_requirements(ctx: &TestContext) {
    ctx.write("requirements-test.in", "pytest\ncoverage\n");
    uv(
        ctx,
        &[
            "pip",
            "compile",
            "--quiet",
            "--generate-hashes",
            "requirements-test.in",
            "-o",
            "requirements-test.txt",
        ],
    );
}

#[test]
fn requirements_with_hashes_install_with_require_hashes_and_a_bad_hash_fails() {
    let ctx = locked("requirements-test.txt", compile_requirements, "");
    let (v, out) = ctx.json(&["run", "test"]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out), log_of(&v, "test"));
    let log = log_of(&v, "test");
    assert!(log.contains("--require-hashes -r") && log.contains("requirements-test.txt"), "{log}");

    // Corrupt every hash of the lock: the install must refuse it.
    let lock = std::fs::read_to_string(ctx.work.join("requirements-test.txt")).unwrap();
    ctx.write("requirements-test.txt", &lock.replace("--hash=sha256:", "--hash=sha256:0"));
    ctx.git(&["commit", "-q", "-am", "tampered"]);
    let (v, out) = ctx.json(&["run", "test"]);
    // The install refused: a setup error (exit 2), never cached, tried again next time.
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(checks(&v)["test"]["status"], "error");
    assert!(log_of(&v, "test").to_lowercase().contains("hash"), "{}", log_of(&v, "test"));
    let key = checks(&v)["test"]["key"].as_str().unwrap().to_string();
    let record = ctx.work.join(".git/hookgate/verdicts").join(&key[..2]).join(format!("{key}.json"));
    assert!(!record.exists(), "a setup error was cached");
    let (v, _) = ctx.json(&["run", "test"]);
    assert_eq!(checks(&v)["test"]["cached"], false, "a setup error was answered from the cache");
}

#[test]
fn lock_content_is_part_of_the_key_even_with_narrow_inputs() {
    let ctx = locked(
        "requirements-test.txt",
        compile_requirements,
        "[checks.test]\ninputs = [\"src\", \"tests\"]\n",
    );
    let (a, out) = ctx.json(&["run", "test"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let lock = std::fs::read_to_string(ctx.work.join("requirements-test.txt")).unwrap();
    ctx.write("requirements-test.txt", &format!("{lock}# relocked\n"));
    ctx.git(&["commit", "-q", "-am", "relock"]);
    let (b, _) = ctx.json(&["run", "test"]);
    assert_ne!(checks(&a)["test"]["key"], checks(&b)["test"]["key"]);
    assert_eq!(checks(&b)["test"]["cached"], false);
}

#[test]
fn uv_lock_is_exported_and_installed_for_test_and_docs() {
    let ctx = locked("uv.lock", |ctx| uv(ctx, &["lock", "--quiet"]), "");
    let (v, out) = ctx.json(&["run", "test", "docs"]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out), log_of(&v, "test"));
    for check in ["test", "docs"] {
        let log = log_of(&v, check);
        assert!(log.contains("uv export --frozen") && log.contains("--require-hashes"), "{check}: {log}");
    }
}

#[test]
fn pylock_toml_installs_directly() {
    let make = |ctx: &TestContext| {
        uv(ctx, &["lock", "--quiet"]);
        uv(
            ctx,
            &[
                "export",
                "--frozen",
                "--quiet",
                "--format",
                "pylock.toml",
                "--no-emit-project",
                "--all-extras",
                "-o",
                "pylock.toml",
            ],
        );
    };
    let ctx = locked("pylock.toml", make, "");
    let (v, out) = ctx.json(&["run", "test"]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out), log_of(&v, "test"));
    assert!(log_of(&v, "test").contains("-r") && log_of(&v, "test").contains("pylock.toml"));
}

#[test]
fn a_lock_missing_from_the_tree_fails_with_a_clear_message() {
    let ctx = locked("requirements-missing.txt", |_| {}, "");
    let (v, out) = ctx.json(&["run", "test"]);
    // Setting the environment up failed: an error (exit 2), not the tests' verdict.
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(checks(&v)["test"]["status"], "error");
    assert!(
        log_of(&v, "test")
            .contains("`requirements-missing.txt` named by [tool.hookgate] lock is not in this tree")
    );
}

#[test]
fn a_uv_lock_in_the_tree_is_used_by_default_with_only_the_test_group() {
    let ctx = TestContext::new("clean");
    let pyproject = std::fs::read_to_string(ctx.work.join("pyproject.toml")).unwrap();
    ctx.write(
        "pyproject.toml",
        &format!("{pyproject}\n[dependency-groups]\ntests = [\"pytest\", \"six\"]\nother = [\"toml\"]\n"),
    );
    uv(&ctx, &["lock", "--quiet"]);
    ctx.git(&["add", "-A"]);
    ctx.git(&["commit", "-q", "-m", "uv.lock, no hookgate config"]);
    let (v, out) = ctx.json(&["run", "test"]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out), log_of(&v, "test"));
    let log = log_of(&v, "test");
    assert!(log.contains("installing from uv.lock: the project's dependencies, groups tests"), "{log}");
    assert!(log.contains("--no-default-groups") && log.contains("--require-hashes"), "{log}");
    // pytest comes from the lock too, so the resolution of what follows agrees with it.
    assert!(log.contains("environment resolved"), "{log}");
    let key = checks(&v)["test"]["key"].as_str().unwrap().to_string();
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ctx.record_path(&key)).unwrap()).unwrap();
    let tools = record["tools"].to_string();
    assert!(tools.contains("six=="), "{tools}");
    assert!(!tools.contains("toml=="), "a group the tests do not use was installed: {tools}");
}
