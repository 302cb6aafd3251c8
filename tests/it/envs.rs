//! Environments built once and reused (#12 item 1): a second tree's check takes the environment
//! already built for its resolution (no install), each check works in a private copy, an
//! environment a check wrote into is discarded, concurrent runs build one environment once, a
//! partial or changed one is rebuilt, and `cache gc` drops unused ones. Each test has its own
//! user cache, so what it builds is its own to count.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, SystemTime};

use crate::common::{TestContext, checks, log_of, text};

const BUILT: &str = "built now: private copy";
const REUSED: &str = "reused, nothing installed";

/// Gives `ctx` its own user cache (resolutions and environments); returns the store.
/// The resolutions already made by other tests are copied in (resolving is not under test
/// here, and costs seconds per set).
fn private_store(ctx: &TestContext, cache: &Path) -> PathBuf {
    let shared = Path::new(concat!(env!("CARGO_TARGET_TMPDIR"), "/xdg-cache/hookgate/resolutions"));
    let to = cache.join("hookgate").join("resolutions");
    std::fs::create_dir_all(&to).unwrap();
    // Other tests write there meanwhile: a file gone or half-written is simply not copied.
    for e in std::fs::read_dir(shared).into_iter().flatten().flatten() {
        let name = e.file_name();
        if !name.to_string_lossy().starts_with('.') {
            std::fs::copy(e.path(), to.join(name)).ok();
        }
    }
    ctx.env_mut("XDG_CACHE_HOME", cache.to_str().unwrap());
    // ruff runs on every file each time: what is under test is the environment it runs from.
    ctx.env_mut("HOOKGATE_FILE_CACHE", "0");
    cache.join("hookgate").join("envs")
}

/// The built environments in `store`.
fn envs_in(store: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> =
        std::fs::read_dir(store).map(|rd| rd.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    v.retain(|p| p.is_dir() && p.file_name().is_some_and(|n| n.len() == 64));
    v.sort();
    v
}

/// Commits a one-line edit, so the next run checks a new tree.
fn edit(ctx: &TestContext, n: u32) {
    ctx.write("README.md", &format!("edit {n}\n"));
    ctx.git(&["commit", "-q", "--no-verify", "-am", &format!("edit {n}")]);
}

fn run_ok(ctx: &TestContext, args: &[&str]) -> serde_json::Value {
    let (v, out) = ctx.json(args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    v
}

#[test]
fn a_second_tree_reuses_the_environment_and_gc_drops_it_when_unused() {
    let ctx = TestContext::new("clean");
    let store = private_store(&ctx, &ctx.home.join("user-cache"));
    let v = run_ok(&ctx, &["run", "lint"]);
    assert!(log_of(&v, "lint").contains(BUILT), "{}", log_of(&v, "lint"));
    edit(&ctx, 1);
    let v = run_ok(&ctx, &["run", "lint"]);
    assert_eq!(checks(&v)["lint"]["cached"], false, "a new tree runs the check");
    let log = log_of(&v, "lint");
    assert!(log.contains(REUSED), "{log}");
    assert!(log.contains("All checks passed"), "ruff ran:\n{log}");
    assert!(!log.contains("uv venv") && !log.contains("pip install"), "nothing installed:\n{log}");
    let envs = envs_in(&store);
    assert_eq!(envs.len(), 1, "{envs:?}");

    // `cache gc` keeps an environment used recently and drops one unused for longer than
    // `--max-age`.
    let out = ctx.hookgate(&["cache", "gc", "--max-age", "30"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(envs_in(&store).len(), 1, "{}", text(&out));
    let marker = std::fs::File::options().append(true).open(envs[0].join(".hookgate-env.json")).unwrap();
    marker.set_modified(SystemTime::now() - Duration::from_secs(40 * 86_400)).unwrap();
    let out = ctx.hookgate(&["cache", "gc", "--max-age", "30"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("in 1 environment unused for 30 days"),
        "{}",
        text(&out)
    );
    assert!(envs_in(&store).is_empty());
}

const TAMPER: &str = r#"defaults = false

[checks.adder]
deps = ["iniconfig"]
run = ["python", "-c", """
import os, site
d = os.path.join(site.getsitepackages()[0], 'evil-1.0.dist-info')
os.mkdir(d)
open(os.path.join(d, 'METADATA'), 'w').write('Metadata-Version: 2.1\\nName: evil\\nVersion: 1.0\\n')
"""]

[checks.reader]
deps = ["iniconfig"]
run = ["python", "-c", """
import importlib.metadata as m
names = {d.metadata['Name'] for d in m.distributions()}
assert 'evil' not in names, names
assert not m.distribution('iniconfig').read_text('METADATA').endswith('#'), 'tampered'
print('clean environment')
"""]

[checks.tamper]
deps = ["iniconfig"]
run = ["python", "-c", """
import importlib.metadata as m
open(m.distribution('iniconfig')._path / 'METADATA', 'a').write('#')
"""]
"#;

#[test]
fn what_a_check_does_to_its_copy_stays_there_and_a_shared_environment_it_changed_is_discarded() {
    let ctx = TestContext::new("clean");
    ctx.commit_config(TAMPER);
    let store = private_store(&ctx, &ctx.home.join("user-cache"));
    // A check that installs into its environment does so into its private copy.
    let v = run_ok(&ctx, &["run", "adder"]);
    assert!(log_of(&v, "adder").contains(BUILT), "{}", log_of(&v, "adder"));
    let v = run_ok(&ctx, &["run", "reader"]);
    let log = log_of(&v, "reader");
    assert!(log.contains(REUSED) && log.contains("clean environment"), "{log}");

    // Writing in place through the copy's links reaches the shared environment: it is
    // discarded, and the check's result is not a verdict.
    let (v, out) = ctx.json(&["run", "tamper"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(checks(&v)["tamper"]["status"], "error");
    assert!(log_of(&v, "tamper").contains("discarded"), "{}", log_of(&v, "tamper"));
    assert!(envs_in(&store).is_empty(), "the changed environment is gone");
    let v = run_ok(&ctx, &["run", "reader", "--force"]);
    let log = log_of(&v, "reader");
    assert!(log.contains(BUILT) && log.contains("clean environment"), "{log}");
}

#[test]
fn concurrent_runs_of_two_repositories_build_one_environment_once() {
    let (a, b) = (TestContext::new("clean"), TestContext::new("clean"));
    let cache = a.home.join("user-cache");
    let store = private_store(&a, &cache);
    private_store(&b, &cache);
    let spawn = |ctx: &TestContext| {
        ctx.hookgate_cmd(&["run", "lint", "format", "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (ra, rb) = (spawn(&a), spawn(&b));
    let mut logs = Vec::new();
    for child in [ra, rb] {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        logs.push(log_of(&v, "lint"));
        logs.push(log_of(&v, "format"));
    }
    let built = logs.iter().filter(|l| l.contains(BUILT)).count();
    let reused = logs.iter().filter(|l| l.contains(REUSED)).count();
    assert_eq!((built, reused), (1, 3), "{logs:#?}");
    assert_eq!(envs_in(&store).len(), 1);
}

#[test]
fn a_partial_or_changed_environment_is_rebuilt_not_trusted() {
    let ctx = TestContext::new("clean");
    let store = private_store(&ctx, &ctx.home.join("user-cache"));
    run_ok(&ctx, &["run", "lint"]);
    let env = envs_in(&store).pop().expect("an environment was built");
    // A file gone from it.
    std::fs::remove_file(env.join("bin").join("ruff")).unwrap();
    edit(&ctx, 1);
    let v = run_ok(&ctx, &["run", "lint"]);
    let log = log_of(&v, "lint");
    assert!(log.contains("incomplete or changed: rebuilding") && log.contains(BUILT), "{log}");
    // A build that never finished (no marker).
    std::fs::remove_file(env.join(".hookgate-env.json")).unwrap();
    edit(&ctx, 2);
    let v = run_ok(&ctx, &["run", "lint"]);
    let log = log_of(&v, "lint");
    assert!(log.contains("incomplete or changed: rebuilding") && log.contains(BUILT), "{log}");
    assert!(log.contains("All checks passed"), "{log}");
}

#[test]
fn a_store_that_cannot_be_written_costs_the_reuse_not_the_check() {
    let ctx = TestContext::new("clean");
    let store = private_store(&ctx, &ctx.home.join("user-cache"));
    std::fs::create_dir_all(store.parent().unwrap()).unwrap();
    std::fs::write(&store, "not a directory").unwrap();
    let v = run_ok(&ctx, &["run", "lint"]);
    let log = log_of(&v, "lint");
    assert!(log.contains("environments cannot be shared") && log.contains("All checks passed"), "{log}");
}

#[test]
fn the_test_check_copies_its_requirements_environment_and_adds_only_the_wheel() {
    let ctx = TestContext::new("clean");
    let store = private_store(&ctx, &ctx.home.join("user-cache"));
    let v = run_ok(&ctx, &["run", "test"]);
    assert!(log_of(&v, "test").contains(BUILT), "{}", log_of(&v, "test"));
    // pytest's environment, the wheel validators' (twine, check-wheel-contents) and the build's
    // (hatchling).
    assert!(log_of(&v, "wheel").contains(BUILT), "{}", log_of(&v, "wheel"));
    assert!(log_of(&v, "wheel").contains("build environment"), "{}", log_of(&v, "wheel"));
    assert_eq!(envs_in(&store).len(), 3);
    edit(&ctx, 1);
    let v = run_ok(&ctx, &["run", "test"]);
    let log = log_of(&v, "test");
    assert!(log.contains(REUSED), "{log}");
    let installs: Vec<&str> = log.lines().filter(|l| l.contains(" pip install ")).collect();
    assert_eq!(installs.len(), 1, "only the wheel is installed: {installs:#?}");
    assert!(installs[0].contains(".whl"), "{}", installs[0]);
    // The record lists the resolved set the installs were held to and the wheel added to it.
    let key = checks(&v)["test"]["key"].as_str().unwrap().to_string();
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ctx.record_path(&key)).unwrap()).unwrap();
    let tools = record["tools"].to_string();
    assert!(tools.contains("pytest==") && tools.contains("hookgate_sample==0.1.0"), "{tools}");
    assert!(log.contains("passed"), "{log}");
    let wheel = log_of(&v, "wheel");
    assert!(wheel.contains(REUSED), "{wheel}");
    assert!(wheel.contains("--no-build-isolation"), "built in the shared build environment:\n{wheel}");
    assert!(!wheel.contains("building in isolated"), "{wheel}");
    assert_eq!(envs_in(&store).len(), 3, "each environment built once");
}

#[test]
fn the_docs_check_copies_its_requirements_environment_and_adds_only_the_package() {
    let ctx = TestContext::new("clean");
    let store = private_store(&ctx, &ctx.home.join("user-cache"));
    let v = run_ok(&ctx, &["run", "docs"]);
    assert!(log_of(&v, "docs").contains(BUILT), "{}", log_of(&v, "docs"));
    edit(&ctx, 1);
    let v = run_ok(&ctx, &["run", "docs"]);
    assert_eq!(checks(&v)["docs"]["cached"], false, "a new tree runs the check");
    let log = log_of(&v, "docs");
    assert!(log.contains(REUSED), "{log}");
    let installs: Vec<&str> = log.lines().filter(|l| l.contains(" pip install ")).collect();
    assert_eq!(installs.len(), 1, "only the package is installed: {installs:#?}");
    assert!(installs[0].contains("--no-deps ."), "{}", installs[0]);
    assert!(log.contains("build succeeded"), "Sphinx built the docs:\n{log}");
    assert_eq!(envs_in(&store).len(), 1, "one environment, built once");
    // The package's requirements are part of what the docs import: a dependency added to the
    // project is in the next tree's environment.
    let read = |f: &str| std::fs::read_to_string(ctx.work.join(f)).unwrap();
    let pyproject = read("pyproject.toml").replace(
        "requires-python = \">=3.9\"",
        "requires-python = \">=3.9\"\ndependencies = [\"iniconfig\"]",
    );
    ctx.write("pyproject.toml", &pyproject);
    ctx.write("docs/conf.py", &(read("docs/conf.py") + "\nimport iniconfig  # noqa: F401\n"));
    ctx.git(&["commit", "-q", "--no-verify", "-am", "a dependency"]);
    let v = run_ok(&ctx, &["run", "docs"]);
    let log = log_of(&v, "docs");
    assert!(log.contains(BUILT) && log.contains("iniconfig=="), "{log}");
    assert_eq!(envs_in(&store).len(), 2);
}

/// An in-tree backend (hatchling's, wrapped) that asks for more than its `requires` through
/// `get_requires_for_build_wheel` and imports it while building.
const ASKING_BACKEND: &str = r#"from hatchling.build import *  # noqa: F403
from hatchling.build import build_wheel as _build_wheel


def get_requires_for_build_wheel(config_settings=None):
    return ["iniconfig"]


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    import iniconfig  # noqa: F401  (only in the isolated build environment)

    return _build_wheel(wheel_directory, config_settings, metadata_directory)
"#;

#[test]
fn a_backend_that_asks_for_more_than_its_requires_is_built_isolated_as_ci_builds_it() {
    let ctx = TestContext::new("clean");
    private_store(&ctx, &ctx.home.join("user-cache"));
    let read = |f: &str| std::fs::read_to_string(ctx.work.join(f)).unwrap();
    let pyproject = read("pyproject.toml").replace(
        "build-backend = \"hatchling.build\"",
        "build-backend = \"asking\"\nbackend-path = [\"_backend\"]",
    );
    ctx.write("pyproject.toml", &pyproject);
    ctx.write("_backend/asking.py", ASKING_BACKEND);
    ctx.git(&["add", "-A"]);
    ctx.git(&["commit", "-q", "--no-verify", "-m", "an asking backend"]);
    let v = run_ok(&ctx, &["run", "wheel"]);
    let log = log_of(&v, "wheel");
    assert!(log.contains("--no-build-isolation"), "tried in the shared build environment first:\n{log}");
    assert!(log.contains("building in isolated environments"), "{log}");
    assert!(log.contains("PASSED"), "the isolated build's dists were validated:\n{log}");
}

#[test]
fn cache_gc_dropping_an_environment_in_use_does_not_cost_the_running_check_its_verdict() {
    let ctx = TestContext::new("clean");
    let (started, go) = (ctx.home.join("started"), ctx.home.join("go"));
    ctx.commit_config(&format!(
        r#"defaults = false

[checks.waiter]
deps = ["iniconfig"]
run = ["python", "-c", """
import os, time, iniconfig
open({started:?}, 'w').close()
while not os.path.exists({go:?}):
    time.sleep(0.05)
print('iniconfig still there:', iniconfig.__name__)
"""]
"#
    ));
    let store = private_store(&ctx, &ctx.home.join("user-cache"));
    let child = ctx.hookgate_cmd(&["run", "waiter", "--json"]).stdout(Stdio::piped()).spawn().unwrap();
    crate::common::wait_for_file(&started);
    // Another process collects every environment, the one the check's copy came from included.
    let out = ctx.hookgate(&["cache", "gc", "--max-age", "0"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(envs_in(&store).is_empty(), "gc dropped the environment in use");
    std::fs::write(&go, "").unwrap();
    let out = child.wait_with_output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(checks(&v)["waiter"]["status"], "pass");
    assert!(log_of(&v, "waiter").contains("iniconfig still there"), "{}", log_of(&v, "waiter"));
}

#[test]
fn build_requirements_that_do_not_resolve_fail_the_build_as_ci_s_would() {
    let ctx = TestContext::new("clean");
    private_store(&ctx, &ctx.home.join("user-cache"));
    let read = |f: &str| std::fs::read_to_string(ctx.work.join(f)).unwrap();
    let pyproject = read("pyproject.toml")
        .replace("requires = [\"hatchling\"]", "requires = [\"hatchling\", \"hookgate-no-such-package-x9\"]");
    assert!(pyproject.contains("hookgate-no-such-package-x9"), "{pyproject}");
    ctx.write("pyproject.toml", &pyproject);
    ctx.git(&["commit", "-q", "--no-verify", "-am", "a build requirement that does not exist"]);
    let (v, out) = ctx.json(&["run", "wheel"]);
    let log = log_of(&v, "wheel");
    assert_eq!(out.status.code(), Some(1), "a verdict, not a setup error: {}\n{log}", text(&out));
    assert_eq!(checks(&v)["wheel"]["status"], "fail");
    assert!(log.contains("the build environment could not be resolved"), "{log}");
    assert!(!log.contains("--no-build-isolation"), "{log}");
}
