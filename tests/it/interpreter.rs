//! The interpreter the checks run on is the one the key names: a wrapper or a pyenv shim that
//! switches its target switches the key, a cached fact never outlives the binary it describes,
//! and a uv that does not run is treated as missing.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::{TestContext, checks, text};

/// A custom check that prints the interpreter it runs on.
const REPORT_VERSION: &str = r#"defaults = false

[checks.which-python]
run = ["python", "-c", "import sys; print('running on ' + sys.version.replace(chr(10), ' '))"]
"#;

fn is_native(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut magic)).is_ok() && magic == *b"\x7fELF"
}

fn pyenv_root() -> Option<PathBuf> {
    let root = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".pyenv")))?;
    root.join("libexec/pyenv").is_file().then_some(root)
}

/// Real (native) CPython 3.8+ binaries with distinct `sys.version`s: the system's, and pyenv's.
fn real_interpreters() -> Vec<(PathBuf, String)> {
    let mut candidates: Vec<PathBuf> =
        ["/usr/bin/python3", "/usr/local/bin/python3"].iter().map(PathBuf::from).collect();
    if let Some(root) = pyenv_root()
        && let Ok(versions) = std::fs::read_dir(root.join("versions"))
    {
        let mut found: Vec<PathBuf> = versions.flatten().map(|v| v.path().join("bin/python3")).collect();
        found.sort();
        candidates.extend(found);
    }
    let mut out: Vec<(PathBuf, String)> = Vec::new();
    for c in candidates {
        let Ok(real) = c.canonicalize() else { continue };
        if !is_native(&real) {
            continue;
        }
        let Ok(o) = Command::new(&real)
            .args([
                "-c",
                "import sys; assert sys.version_info >= (3, 8); print(sys.version.replace(chr(10), ' '))",
            ])
            .output()
        else {
            continue;
        };
        let version = String::from_utf8_lossy(&o.stdout).trim().to_string();
        if o.status.success() && !out.iter().any(|(_, v)| *v == version) {
            out.push((real, version));
        }
    }
    out
}

/// Two real interpreters, or `None` (with a message) when this machine has fewer.
fn two_interpreters() -> Option<((PathBuf, String), (PathBuf, String))> {
    let mut all = real_interpreters().into_iter();
    match (all.next(), all.next()) {
        (Some(a), Some(b)) => Some((a, b)),
        _ => {
            eprintln!("skipped: needs two real CPython interpreters with different versions");
            None
        }
    }
}

/// A native uv binary (not a shim), so a test's PATH games do not decide which uv runs.
fn native_uv() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let mut candidates: Vec<PathBuf> = std::env::split_paths(&path).map(|d| d.join("uv")).collect();
    if let Some(root) = pyenv_root()
        && let Ok(versions) = std::fs::read_dir(root.join("versions"))
    {
        candidates.extend(versions.flatten().map(|v| v.path().join("bin/uv")));
    }
    candidates.into_iter().filter_map(|c| c.canonicalize().ok()).find(|c| is_native(c))
}

fn write_exe(path: &Path, content: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn prepend_path(ctx: &TestContext, dir: &Path) {
    ctx.env_mut("PATH", &format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default()));
}

/// `hookgate run --json` with no interpreter or uv forced from outside the test.
fn run(ctx: &TestContext, extra: &[(&str, &str)]) -> (Value, std::process::Output) {
    let mut cmd = ctx.hookgate_cmd(&["run", "--json"]);
    cmd.env_remove("HOOKGATE_PYTHON").env_remove("PYENV_VERSION").env_remove("PYENV_DIR");
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{}", text(&out)));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    (v, out)
}

/// The version the check reported, its key, and whether it came from the cache.
fn reported(v: &Value) -> (String, String, bool) {
    let c = &checks(v)["which-python"];
    let log = std::fs::read_to_string(c["log"].as_str().unwrap()).unwrap();
    let version = log
        .lines()
        .find_map(|l| l.strip_prefix("running on "))
        .unwrap_or_else(|| panic!("the check printed no version:\n{log}"))
        .to_string();
    (version, c["key"].as_str().unwrap().to_string(), c["cached"].as_bool().unwrap())
}

fn facts_file(ctx: &TestContext) -> Value {
    let bytes = std::fs::read(ctx.work.join(".git/hookgate/interpreters.json")).unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

#[test]
fn a_wrapper_that_switches_its_target_switches_the_key_and_the_version_the_check_runs_on() {
    let Some(((a, va), (b, vb))) = two_interpreters() else { return };
    let ctx = TestContext::new("clean");
    ctx.commit_config(REPORT_VERSION);
    // `python3` first on PATH: a script that runs whichever interpreter a file names.
    let target = ctx.tmp.join("python-target");
    let bin = ctx.tmp.join("wrapper-bin");
    write_exe(&bin.join("python3"), &format!("#!/bin/sh\nexec \"$(cat '{}')\" \"$@\"\n", target.display()));
    prepend_path(&ctx, &bin);

    std::fs::write(&target, a.display().to_string()).unwrap();
    let (version, key_a, cached) = reported(&run(&ctx, &[]).0);
    assert_eq!((version.as_str(), cached), (va.as_str(), false));

    // The wrapper is untouched; only what it runs changes.
    std::fs::write(&target, b.display().to_string()).unwrap();
    let (version, key_b, cached) = reported(&run(&ctx, &[]).0);
    assert_eq!((version.as_str(), cached), (vb.as_str(), false), "a stale fact of {} was used", a.display());
    assert_ne!(key_a, key_b);

    // Facts are kept only for the real binaries, never for the wrapper.
    let facts = facts_file(&ctx);
    let keys: Vec<&String> =
        facts["interpreters"].as_object().map(|m| m.keys().collect()).unwrap_or_default();
    assert!(!keys.iter().any(|k| k.contains("wrapper-bin")), "{facts}");
    assert!(!keys.is_empty(), "the real interpreters' facts are cached: {facts}");

    // Back to the first: its key, and its cached verdict, are valid again.
    std::fs::write(&target, a.display().to_string()).unwrap();
    let (version, key, cached) = reported(&run(&ctx, &[]).0);
    assert_eq!((version.as_str(), key.as_str(), cached), (va.as_str(), key_a.as_str(), true));
}

#[test]
fn a_cached_fact_ends_when_the_binary_it_describes_changes() {
    let Some(((a, va), (b, vb))) = two_interpreters() else { return };
    let ctx = TestContext::new("clean");
    ctx.commit_config(REPORT_VERSION);
    // A plain interpreter path (as HOOKGATE_PYTHON or `python = ...` would name one) that is a
    // symlink, re-pointed between runs: same path, same link size, another binary.
    let link = ctx.tmp.join("py/python3");
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(&a, &link).unwrap();
    let python = link.display().to_string();
    let (version, key_a, _) = reported(&run(&ctx, &[("HOOKGATE_PYTHON", &python)]).0);
    assert_eq!(version, va);
    let facts = facts_file(&ctx);
    assert_eq!(facts["interpreters"][&python]["identity"]["resolved"], a.display().to_string(), "{facts}");

    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(&b, &link).unwrap();
    let (version, key_b, cached) = reported(&run(&ctx, &[("HOOKGATE_PYTHON", &python)]).0);
    assert_eq!((version.as_str(), cached), (vb.as_str(), false));
    assert_ne!(key_a, key_b);
}

/// The shim `pyenv rehash` writes, for a root and the `pyenv` it runs.
fn pyenv_shim(root: &Path, pyenv: &Path) -> String {
    format!(
        "#!/usr/bin/env bash\nset -e\n[ -n \"$PYENV_DEBUG\" ] && set -x\n\nprogram=\"${{0##*/}}\"\n\n\
         export PYENV_ROOT=\"{r}\"\nSHIM_PATH=${{0%/*}}\nif [[ $SHIM_PATH != \"{r}/shims\" ]]; then\n  \
         export _PYENV_SHIM_PATH=\"$SHIM_PATH\"\nfi\nexec \"{p}\" exec \"$program\" \"$@\"\n",
        r = root.display(),
        p = pyenv.display()
    )
}

#[test]
fn a_pyenv_shim_is_resolved_by_pyenv_rules_without_running_it_and_agrees_with_pyenv() {
    let Some(((a, va), (b, vb))) = two_interpreters() else { return };
    let Some(real_root) = pyenv_root() else {
        eprintln!("skipped: pyenv is not installed");
        return;
    };
    let ctx = TestContext::new("clean");
    ctx.commit_config(REPORT_VERSION);
    // A pyenv root of our own: versions `alpha` and `beta`, the shim of the real template, and
    // a `pyenv` that records each run before handing over to the real one.
    let root = ctx.tmp.join("pyenv");
    for (name, real) in [("alpha", &a), ("beta", &b)] {
        let bin = root.join("versions").join(name).join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(real, bin.join("python3")).unwrap();
    }
    std::fs::write(root.join("version"), "alpha\n").unwrap();
    let ran = ctx.tmp.join("pyenv-ran");
    let pyenv = ctx.tmp.join("recording/libexec/pyenv");
    write_exe(
        &pyenv,
        &format!(
            "#!/bin/sh\necho run >> '{}'\nexec '{}' \"$@\"\n",
            ran.display(),
            real_root.join("libexec/pyenv").display()
        ),
    );
    let shim = root.join("shims/python3");
    write_exe(&shim, &pyenv_shim(&root, &pyenv));
    prepend_path(&ctx, &root.join("shims"));
    if let Some(uv) = native_uv() {
        ctx.env_mut("HOOKGATE_UV", &uv.display().to_string());
    }

    // The global version file.
    let (version, key_alpha, _) = reported(&run(&ctx, &[]).0);
    assert_eq!(version, va);
    assert!(!ran.exists(), "the shim ran: the cached path would pay for bash");

    // A `.python-version` in the working directory (untracked: the tree does not change).
    std::fs::write(ctx.work.join(".python-version"), "beta\n").unwrap();
    let (version, key_beta, cached) = reported(&run(&ctx, &[]).0);
    assert_eq!((version.as_str(), cached), (vb.as_str(), false));
    assert_ne!(key_alpha, key_beta);
    assert!(!ran.exists());

    // pyenv itself agrees.
    let mut direct = Command::new(&shim);
    direct.args(["-c", "import sys; print(sys.version.replace(chr(10), ' '))"]).current_dir(&ctx.work);
    ctx.apply_env(&mut direct);
    let out = direct.env_remove("PYENV_VERSION").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), vb, "{}", text(&out));
    assert!(ran.exists(), "the recording pyenv records");
    std::fs::remove_file(&ran).unwrap();

    // PYENV_VERSION wins over the file.
    let (version, key, cached) = reported(&run(&ctx, &[("PYENV_VERSION", "alpha")]).0);
    assert_eq!((version.as_str(), key.as_str(), cached), (va.as_str(), key_alpha.as_str(), true));
    assert!(!ran.exists());

    // A hook we do not know could change the answer: the shim itself is asked.
    let hook = root.join("plugins/mine/etc/pyenv.d/which/mine.bash");
    std::fs::create_dir_all(hook.parent().unwrap()).unwrap();
    std::fs::write(&hook, "true\n").unwrap();
    let (version, key, _) = reported(&run(&ctx, &[]).0);
    assert_eq!((version.as_str(), key.as_str()), (vb.as_str(), key_beta.as_str()));
    assert!(ran.exists(), "with an unknown hook, pyenv decides");
}

#[test]
fn a_uv_that_does_not_run_is_treated_as_missing_and_the_log_says_so() {
    // An interpreter with no uv beside it, so the broken one on PATH is the one found.
    let Some((python, _)) = real_interpreters().into_iter().find(|(p, _)| !p.with_file_name("uv").exists())
    else {
        eprintln!("skipped: every interpreter here has a uv beside it");
        return;
    };
    let ctx = TestContext::new("clean");
    ctx.commit_config(REPORT_VERSION);
    let bin = ctx.tmp.join("broken-bin");
    // What a pyenv shim prints for a version without uv.
    write_exe(&bin.join("uv"), "#!/bin/sh\necho 'pyenv: uv: command not found' >&2\nexit 127\n");
    prepend_path(&ctx, &bin);
    let mut cmd = ctx.hookgate_cmd(&["run", "--json"]);
    let out = cmd.env_remove("HOOKGATE_UV").env("HOOKGATE_PYTHON", &python).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let log = std::fs::read_to_string(checks(&v)["which-python"]["log"].as_str().unwrap()).unwrap();
    let broken = bin.join("uv").display().to_string();
    assert!(log.contains(&format!("using python -m venv and pip: {broken} did not run")), "{log}");
    assert!(log.contains("-m venv") && !log.contains(&format!("{broken} venv")), "{log}");
}
