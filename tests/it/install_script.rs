//! `./install.sh`, run for real: the binary lands where cargo's settings put installed binaries
//! (`CARGO_INSTALL_ROOT`, then `CARGO_HOME`), the script names that directory, and when it is not
//! on `PATH` prints the `export PATH=...` line to add.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::text;

/// The shared cargo home at `at`, with nothing installed in it yet.
fn cargo_home_sharing_downloads(at: &Path) {
    crate::common::link_cargo_downloads(at);
    // What an earlier run installed must not pass for this run's install.
    for installed in ["bin", ".crates.toml", ".crates2.json"] {
        let path = at.join(installed);
        if path.is_dir() {
            std::fs::remove_dir_all(&path).unwrap();
        } else if path.exists() {
            std::fs::remove_file(&path).unwrap();
        }
    }
}

/// This process's PATH (which finds cargo, rustup's proxy, git and python) without `dir`.
fn path_without(dir: &Path) -> OsString {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let kept: Vec<PathBuf> = std::env::split_paths(&path).filter(|p| p != dir).collect();
    std::env::join_paths(kept).unwrap()
}

/// Runs `./install.sh --no-demo` with `vars` set and `unset` removed, the expected bin directory
/// kept off PATH, offline (every crate is already in the shared registry) and with its
/// (unoptimised) release build in the shared `target`.
fn install_sh(shared: &Path, tmp: &Path, bin_dir: &Path, vars: &[(&str, &Path)], unset: &[&str]) -> Output {
    let mut cmd = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh"));
    crate::common::use_shared_cargo(&mut cmd, shared);
    cmd.arg("--no-demo")
        .env("PATH", path_without(bin_dir))
        .env("CARGO_NET_OFFLINE", "true")
        .env("TMPDIR", tmp)
        .stdin(std::process::Stdio::null());
    for (key, value) in vars {
        cmd.env(key, value);
    }
    for key in unset {
        cmd.env_remove(key);
    }
    cmd.output().unwrap()
}

/// Asserts the install succeeded into `bin_dir`, the binary runs, and the output says where it
/// went and how to put that directory on PATH.
fn assert_installed_off_path(out: &Output, bin_dir: &Path) {
    let all = text(out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    let bin = bin_dir.join("hookgate");
    let version = Command::new(&bin).arg("--version").output().unwrap();
    assert!(version.status.success(), "{}", text(&version));
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("hookgate "), "{}", text(&version));
    assert!(all.contains(&format!("hookgate is installed at {}", bin.display())), "{all}");
    let export = format!("export PATH=\"{}:$PATH\"", bin_dir.display());
    assert!(all.contains(&export), "no `{export}` in:\n{all}");
}

/// Both cases in one test, one after the other, with one cargo home and one target directory:
/// the second install (and every later run) reuses the first's release build instead of
/// compiling everything again.
#[test]
fn install_sh_installs_where_cargo_is_told_and_says_how_to_reach_it() {
    let shared = crate::common::shared_cargo_dir();
    let home = shared.join("cargo-home");
    cargo_home_sharing_downloads(&home);
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();

    // CARGO_INSTALL_ROOT wins over CARGO_HOME. A space in it: the script must quote the path it
    // reads back and the line it prints.
    let root = dir.path().join("install root");
    let vars = [("CARGO_INSTALL_ROOT", root.as_path())];
    let out = install_sh(&shared, &tmp, &root.join("bin"), &vars, &[]);
    assert_installed_off_path(&out, &root.join("bin"));
    assert!(!home.join("bin").join("hookgate").exists(), "{}", text(&out));

    // Without it, CARGO_HOME/bin.
    let out = install_sh(&shared, &tmp, &home.join("bin"), &[], &["CARGO_INSTALL_ROOT"]);
    assert_installed_off_path(&out, &home.join("bin"));
}
