//! Exact versions for every check's environment: requirements are resolved before they are
//! installed (`uv pip compile`, real index), installs are held to the resolution, the record
//! names it, a changed resolution re-runs the check, and `hookgate.lock` (written by `hookgate
//! lock`, committed) decides what CI installs. A lock from a hostile tree cannot smuggle
//! installer options.

use serde_json::Value;

use crate::common::{TestContext, checks, log_of, text};

/// One custom check that installs ruff as a floating requirement and prints its version.
const RUFF_CHECK: &str = "defaults = false\n[checks.tool]\ndeps = [\"ruff\"]\nrun = \"ruff --version\"\n";

fn ruff_version_in(log: &str) -> String {
    log.lines()
        .find_map(|l| {
            l.strip_prefix("ruff ").filter(|v| v.chars().next().is_some_and(|c| c.is_ascii_digit()))
        })
        .unwrap_or_else(|| panic!("no `ruff X.Y.Z` line in the log:\n{log}"))
        .trim()
        .to_string()
}

/// A context whose resolution cache is its own (the tests share one otherwise).
fn private_context() -> TestContext {
    let ctx = TestContext::new("clean");
    ctx.env_mut("XDG_CACHE_HOME", ctx.home.join(".cache").to_str().unwrap());
    ctx
}

fn resolution_entries(ctx: &TestContext) -> Vec<std::path::PathBuf> {
    let dir = ctx.home.join(".cache/hookgate/resolutions");
    std::fs::read_dir(dir).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default()
}

#[test]
fn a_floating_requirement_is_resolved_recorded_and_a_new_resolution_reruns_the_check() {
    let ctx = private_context();
    ctx.commit_config(RUFF_CHECK);
    let (v, out) = ctx.json(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let log = log_of(&v, "tool");
    assert!(log.contains("environment resolved (resolved now): ruff=="), "{log}");
    assert!(log.contains(" -c "), "the install is not held to the resolution:\n{log}");
    let first = ruff_version_in(&log);

    // The record names the resolution; the next run is answered from the cache.
    let key = checks(&v)["tool"]["key"].as_str().unwrap().to_string();
    let record: Value = serde_json::from_slice(&std::fs::read(ctx.record_path(&key)).unwrap()).unwrap();
    assert_eq!(record["resolutions"][0]["requirements"], serde_json::json!(["ruff"]), "{record}");
    let (v, _) = ctx.json(&["run"]);
    assert_eq!(checks(&v)["tool"]["cached"], true);

    // The resolution changes (as `hookgate update` would): the cached verdict no longer counts
    // and the check runs again with exactly the new versions.
    let entries = resolution_entries(&ctx);
    assert_eq!(entries.len(), 1, "{entries:?}");
    let mut entry: Value = serde_json::from_slice(&std::fs::read(&entries[0]).unwrap()).unwrap();
    let packages = vec!["ruff==0.15.0".to_string()];
    entry["packages"] = serde_json::json!(packages);
    entry["id"] = serde_json::json!(hookgate::resolve::packages_id(&packages));
    std::fs::write(&entries[0], serde_json::to_vec(&entry).unwrap()).unwrap();
    let (v, out) = ctx.json(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(checks(&v)["tool"]["cached"], false, "a verdict survived a new resolution");
    let log = log_of(&v, "tool");
    assert!(log.contains("environment resolved (resolution cache): ruff==0.15.0"), "{log}");
    assert_eq!(ruff_version_in(&log), "0.15.0");
    assert_ne!(first, "0.15.0");
}

#[test]
fn hookgate_lock_writes_what_ci_installs_and_the_committed_lock_decides() {
    let ctx = private_context();
    ctx.commit_config(RUFF_CHECK);
    let out = ctx.hookgate(&["lock"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("wrote hookgate.lock"), "{}", text(&out));
    let lock = std::fs::read_to_string(ctx.work.join("hookgate.lock")).unwrap();
    let parsed = hookgate::resolve::LockFile::parse(&lock).unwrap();
    let env = parsed.find(&["ruff".to_string()]).unwrap_or_else(|| panic!("no ruff environment:\n{lock}"));
    assert_eq!(env.checks, ["tool"]);
    assert!(env.packages[0].starts_with("ruff=="), "{lock}");

    // Another version, committed: every machine installs exactly it.
    ctx.write("hookgate.lock", &lock.replace(&env.packages[0], "ruff==0.14.0"));
    ctx.git(&["add", "-A"]);
    ctx.git(&["commit", "-q", "-m", "pin ruff"]);
    let (v, out) = ctx.json(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let log = log_of(&v, "tool");
    assert!(log.contains("environment resolved (hookgate.lock): ruff==0.14.0"), "{log}");
    assert_eq!(ruff_version_in(&log), "0.14.0");

    // A lock that does not cover the check's requirements is said, and resolution falls back.
    ctx.commit_config(&RUFF_CHECK.replace("[\"ruff\"]", "[\"ruff\", \"six\"]"));
    let (v, _) = ctx.json(&["run"]);
    let log = log_of(&v, "tool");
    assert!(log.contains("hookgate.lock has no environment for [ruff, six]"), "{log}");
    assert!(log.contains("environment resolved (resolved now)"), "{log}");
}

#[test]
fn update_with_a_cooldown_takes_only_older_releases_and_reruns_what_changed() {
    let ctx = private_context();
    ctx.commit_config(RUFF_CHECK);
    let (v, _) = ctx.json(&["run"]);
    let newest = ruff_version_in(&log_of(&v, "tool"));
    // A cooldown reaching back before 2025-01-01: ruff 0.8.x at most.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let days = (now - 1_735_689_600) / 86_400 + 1;
    let out = ctx.hookgate(&["update", "--cooldown-days", &days.to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(stdout.contains(&format!("ruff=={newest} -> ruff==0.8.")), "{stdout}");
    let (v, _) = ctx.json(&["run"]);
    assert_eq!(checks(&v)["tool"]["cached"], false);
    assert!(ruff_version_in(&log_of(&v, "tool")).starts_with("0.8."));
}

#[test]
fn a_lock_from_the_tree_cannot_pass_options_to_the_installer() {
    let ctx = private_context();
    ctx.write(
        "hookgate.lock",
        "version = 1\n[[environment]]\nrequirements = [\"ruff\"]\npackages = [\"--index-url http://127.0.0.1:9/simple\"]\n",
    );
    ctx.commit_config(RUFF_CHECK);
    let (v, out) = ctx.json(&["run"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let c = &checks(&v)["tool"];
    assert_eq!(c["status"], "error", "{v}");
    let log = log_of(&v, "tool");
    assert!(log.contains("is not a pinned requirement"), "{log}");
    assert!(
        !log.lines().any(|l| l.starts_with("$ ") && l.contains("127.0.0.1:9")),
        "the option reached the installer:\n{log}"
    );
    assert_eq!(ctx.record_count(), 0);

    // Malformed: the error names the line and column.
    ctx.write("hookgate.lock", "version = 1\n[[environment]]\nrequirements = 3\n");
    ctx.git(&["add", "-A"]);
    ctx.git(&["commit", "-q", "-m", "bad lock"]);
    let (v, out) = ctx.json(&["run"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(log_of(&v, "tool").contains("hookgate.lock:3:"), "{}", log_of(&v, "tool"));
}
