//! hookgate as a Python package: maturin from PyPI builds the wheel from the repository's
//! `pyproject.toml`, a fresh venv installs it, and that venv's `hookgate` runs the sample demo
//! (install -> run -> a push decided from the cache). And `hookgate install` run from a place
//! that vanishes (uv's cache, as `uvx hookgate install` does) records a lasting `hookgate`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{BIN, CUSTOM_ONLY, TestContext, text};

/// The maturin the wheel is built with (from PyPI, through uv).
const MATURIN: &str = "maturin>=1.9,<2";

/// The wheel of this source tree, built once per test binary: cached in the target dir under
/// a key made of the test binary's mtime and size (a rebuilt hookgate means changed sources)
/// and the packaging files. The build shares `./install.sh`'s cargo home and target dir, so
/// its crates are compiled once for both.
fn wheel() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pypkg");
    std::fs::create_dir_all(&dir).unwrap();
    let lock = std::fs::File::create(dir.join(".lock")).unwrap();
    // Released when `lock` is dropped (or the process dies).
    lock.lock().unwrap();
    let key = {
        use std::hash::{Hash, Hasher};
        let meta = std::fs::metadata(BIN).unwrap();
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (meta.modified().unwrap(), meta.len()).hash(&mut h);
        for file in ["pyproject.toml", "Cargo.toml", "Cargo.lock"] {
            std::fs::read(root.join(file)).unwrap().hash(&mut h);
        }
        format!("{:016x}", h.finish())
    };
    let out = dir.join(&key);
    if let Some(wheel) = find_wheel(&out) {
        return wheel;
    }
    let _ = std::fs::remove_dir_all(dir.join("building"));
    let shared = crate::common::shared_cargo_dir();
    let mut cmd = Command::new("uv");
    cmd.args(["tool", "run", "--from", MATURIN, "maturin", "build", "--release", "--out"])
        .arg(dir.join("building"))
        .current_dir(root);
    crate::common::use_shared_cargo(&mut cmd, &shared);
    let built = cmd.output().unwrap();
    assert!(built.status.success(), "maturin build: {}", text(&built));
    // Only a finished wheel is kept under its key; older keys go.
    for old in std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()) {
        if old.is_dir() && old.file_name().is_some_and(|n| n != "building") {
            std::fs::remove_dir_all(old).unwrap();
        }
    }
    std::fs::rename(dir.join("building"), &out).unwrap();
    find_wheel(&out).unwrap_or_else(|| panic!("maturin built no wheel in {}", out.display()))
}

fn find_wheel(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
}

/// Runs `uv` in `cwd` (a scratch dir: no project around it) and asserts success.
fn uv(cwd: &Path, args: &[&str]) {
    let out = Command::new("uv").args(args).current_dir(cwd).output().unwrap();
    assert!(out.status.success(), "uv {args:?}: {}", text(&out));
}

/// This process's PATH without any directory holding a `hookgate` (a developer's own install
/// must not stand in for the one under test), with `first` in front.
fn path_with(first: &[&Path]) -> OsString {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let kept = std::env::split_paths(&path).filter(|d| !d.join("hookgate").exists());
    std::env::join_paths(first.iter().map(|p| p.to_path_buf()).chain(kept)).unwrap()
}

fn hook_body(ctx: &TestContext) -> String {
    std::fs::read_to_string(ctx.work.join(".git/hooks/pre-push")).unwrap()
}

#[test]
fn the_wheel_installs_with_uv_and_its_hookgate_runs_the_sample_demo() {
    let wheel = wheel();
    let name = wheel.file_name().unwrap().to_string_lossy().to_string();
    let version = env!("CARGO_PKG_VERSION");
    assert!(name.starts_with(&format!("hookgate-{version}-py3-none-")), "{name}");

    let scratch = tempfile::tempdir().unwrap();
    let venv = scratch.path().join("venv");
    uv(scratch.path(), &["venv", "--quiet", venv.to_str().unwrap()]);
    let python = venv.join("bin/python");
    uv(
        scratch.path(),
        &["pip", "install", "--quiet", "--python", python.to_str().unwrap(), wheel.to_str().unwrap()],
    );
    let bin = venv.join("bin/hookgate");
    let out = Command::new(&bin).arg("--version").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("hookgate {version}"), "{}", text(&out));

    // The demo of ./install.sh, with the venv's binary: install, run, a push from the cache.
    // (docs and version are left out: what is under test is the binary, not those checks.)
    let ctx = TestContext::new("clean");
    ctx.env_mut("PATH", path_with(&[&venv.join("bin")]).to_str().unwrap());
    ctx.env_mut("HOOKGATE_SKIP", "docs,version");
    let run = |args: &[&str]| {
        let mut cmd = Command::new(&bin);
        ctx.apply_env(&mut cmd);
        cmd.args(args).current_dir(&ctx.work).output().unwrap()
    };
    let out = run(&["install"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(hook_body(&ctx).contains(&format!("HOOKGATE_BIN={}\n", bin.display())), "{}", hook_body(&ctx));
    let out = run(&["run", "--all", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ran = crate::common::checks(&v);
    for check in ["lint", "format", "wheel", "test", "coverage"] {
        assert_eq!(ran[check]["status"], "pass", "{check}: {v}");
        assert_eq!(ran[check]["cached"], false, "{check}: {v}");
    }
    let records = ctx.record_count();
    let out = ctx.git_out(&["push", "origin", "main"]);
    assert!(out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for check in ["lint", "format", "wheel", "test", "coverage"] {
        let row = stderr.lines().find(|l| l.split_whitespace().next() == Some(check));
        let words: Vec<&str> = row.map(|r| r.split_whitespace().collect()).unwrap_or_default();
        assert_eq!(words.get(1..3), Some(&["pass", "yes"][..]), "{check} from the cache: {}", text(&out));
    }
    assert_eq!(ctx.record_count(), records, "nothing ran again");
}

/// A copy of the test binary where `uvx hookgate` runs it from: uv's cache, under `root`.
fn in_uvs_cache(root: &Path) -> PathBuf {
    let bin_dir = root.join("cache/uv/archive-v0/Xq3vRkT9aZ/bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    std::fs::copy(BIN, bin_dir.join("hookgate")).unwrap();
    bin_dir.join("hookgate")
}

fn install_with(ctx: &TestContext, bin: &Path, path: &OsString) -> std::process::Output {
    let mut cmd = Command::new(bin);
    ctx.apply_env(&mut cmd);
    cmd.env("PATH", path).arg("install").current_dir(&ctx.work).output().unwrap()
}

#[test]
fn install_from_uvs_cache_records_hookgate_on_path_not_the_cache() {
    let ctx = TestContext::new("clean");
    ctx.commit_config(CUSTOM_ONLY);
    let scratch = tempfile::tempdir().unwrap();
    let uvx = in_uvs_cache(scratch.path());
    let uvx_dir = uvx.parent().unwrap();

    // No lasting hookgate anywhere: the hooks look for one on PATH, and install says how to get
    // one. Until then a commit stops with that message.
    let out = install_with(&ctx, &uvx, &path_with(&[uvx_dir]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("uv's cache") && stderr.contains("uv tool install hookgate"), "{}", text(&out));
    assert!(hook_body(&ctx).contains("HOOKGATE_BIN=''\n"), "{}", hook_body(&ctx));
    assert!(!hook_body(&ctx).contains("archive-v0"), "{}", hook_body(&ctx));
    ctx.write("a.txt", "a\n");
    ctx.git(&["add", "a.txt"]);
    let out = ctx.git_cmd(&["commit", "-q", "-m", "a"]).env("PATH", path_with(&[])).output().unwrap();
    assert!(!out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("hookgate is not on PATH"), "{}", text(&out));

    // With `uv tool install hookgate` done (a link in a bin dir on PATH), install records that
    // link, and the hooks keep working after uv's cache is cleaned.
    let tool_bin = scratch.path().join("local/bin");
    std::fs::create_dir_all(&tool_bin).unwrap();
    std::os::unix::fs::symlink(BIN, tool_bin.join("hookgate")).unwrap();
    let out = install_with(&ctx, &uvx, &path_with(&[uvx_dir, &tool_bin]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let lasting = tool_bin.join("hookgate");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("the hooks call {}", lasting.display())),
        "{}",
        text(&out)
    );
    assert!(
        hook_body(&ctx).contains(&format!("HOOKGATE_BIN={}\n", lasting.display())),
        "{}",
        hook_body(&ctx)
    );
    std::fs::remove_dir_all(scratch.path().join("cache")).unwrap();
    let out = ctx.git_cmd(&["commit", "-q", "-m", "a"]).env("PATH", path_with(&[])).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(ctx.record_count(), 1, "the check ran: {}", text(&out));
}
