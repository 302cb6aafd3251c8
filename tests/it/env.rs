//! The environments children get: secrets stay out of builds and checks unless the person
//! running hookgate allows them (outside the tree), records hold no secret nor a plain hash of
//! one, keys cover the variables that change what a check gets, and every log is plain text.
//! Real binary, real uv, real setuptools builds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use sha2::{Digest, Sha256};

use crate::common::{TestContext, checks, text};

/// The secrets a developer's shell typically holds, with values distinctive enough to grep.
const SECRETS: &[(&str, &str)] = &[
    ("SSH_AUTH_SOCK", "/tmp/hg-test-agent.sock"),
    ("GH_PAT", "ghp_hgTestPersonalAccessToken0001"),
    ("CI_JOB_JWT", "eyJhbGciOiJIUzI1NiJ9.hgtest.jwt0001"),
    ("DATABASE_URL", "postgres://u:p@h/db"),
    ("AWS_ACCESS_KEY_ID", "AKIAHGTESTACCESSKEY1"),
    ("MYSQL_PWD", "hg-test-mysql-password-0001"),
];

/// A package whose `setup.py` dumps the build's environment to `$HG_OUT.build`, and a custom
/// check that installs it (so it is built) and dumps its own environment to `$HG_OUT`, listing
/// every secret in `env`.
fn env_dumping_package() -> (TestContext, PathBuf) {
    let ctx = TestContext::new("clean");
    ctx.write(
        "pyproject.toml",
        "[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n\n\
         [project]\nname = \"envdump\"\nversion = \"0.1.0\"\n",
    );
    ctx.write(
        "setup.py",
        "import os\nfrom setuptools import setup\n\n\
         with open(os.environ['HG_OUT'] + '.build', 'w') as f:\n\
         \x20   f.writelines(f'{k}={v}\\n' for k, v in sorted(os.environ.items()))\n\n\
         setup()\n",
    );
    let names: Vec<String> = SECRETS.iter().map(|(k, _)| format!("\"{k}\"")).collect();
    ctx.commit_config(&format!(
        "defaults = false\n[checks.dump]\ndeps = [\".\"]\nenv = [\"HG_OUT\", {}]\nrun = \"env > $HG_OUT\"\n",
        names.join(", ")
    ));
    let out = ctx.tmp.parent().unwrap().join("dump.env");
    (ctx, out)
}

/// Runs `hookgate run --json` with the secrets and `HG_OUT` set.
fn run_with_secrets(ctx: &TestContext, out: &Path) -> (serde_json::Value, Output) {
    let mut cmd = ctx.hookgate_cmd(&["run", "--json"]);
    cmd.env("HG_OUT", out);
    for (k, v) in SECRETS {
        cmd.env(k, v);
    }
    let output = cmd.output().unwrap();
    let v = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}\n{}", text(&output)));
    (v, output)
}

/// The `NAME=value` lines of an `env` dump.
fn dumped(path: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Every record file's text.
fn records(ctx: &TestContext) -> String {
    let mut all = String::new();
    for shard in std::fs::read_dir(ctx.work.join(".git/hookgate/verdicts")).unwrap().flatten() {
        for f in std::fs::read_dir(shard.path()).unwrap().flatten() {
            all.push_str(&std::fs::read_to_string(f.path()).unwrap());
        }
    }
    all
}

/// Asserts no secret value, nor its plain SHA-256, is in the records.
fn assert_records_hold_no_secret(ctx: &TestContext) {
    let recs = records(ctx);
    assert!(!recs.is_empty());
    for (k, v) in SECRETS {
        assert!(!recs.contains(v), "the value of {k} is in a record:\n{recs}");
        assert!(!recs.contains(&sha256_hex(v)), "the plain sha256 of {k} is in a record:\n{recs}");
    }
}

#[test]
fn secrets_reach_neither_build_nor_check_unless_allowed_outside_the_tree() {
    let (ctx, out) = env_dumping_package();
    let build_out = PathBuf::from(format!("{}.build", out.display()));

    // Listed in the tree's `env`, but nobody allowed them: withheld everywhere.
    let (v, output) = run_with_secrets(&ctx, &out);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let (check, build) = (dumped(&out), dumped(&build_out));
    for (k, _) in SECRETS {
        assert!(!check.contains_key(*k), "{k} reached the check");
        assert!(!build.contains_key(*k), "{k} reached the build");
    }
    let raw_build = std::fs::read_to_string(&build_out).unwrap();
    assert!(SECRETS.iter().all(|(_, v)| !raw_build.contains(v)), "{raw_build}");
    // The check's own variable reaches it and its build; the build runs in a private HOME and
    // TMPDIR, with the shared uv cache and plain output.
    assert_eq!(check["HG_OUT"], out.display().to_string());
    assert_eq!(build["HG_OUT"], out.display().to_string());
    for env in [&check, &build] {
        assert_ne!(Path::new(&env["HOME"]), ctx.home);
        assert!(env["HOME"].starts_with(ctx.tmp.to_str().unwrap()), "{}", env["HOME"]);
        assert!(env["TMPDIR"].starts_with(ctx.tmp.to_str().unwrap()), "{}", env["TMPDIR"]);
        assert_eq!(env["TERM"], "dumb");
    }
    assert_eq!(build["UV_CACHE_DIR"], ctx.env["UV_CACHE_DIR"]);
    let dump = &checks(&v)["dump"];
    let log = std::fs::read_to_string(dump["log"].as_str().unwrap()).unwrap();
    let withheld = log.lines().find(|l| l.contains("withheld")).unwrap_or_else(|| panic!("{log}"));
    for (k, _) in SECRETS {
        assert!(withheld.contains(k), "the log does not name {k}: {withheld}");
    }
    assert!(SECRETS.iter().all(|(_, v)| !log.contains(v)), "a secret value is in the log:\n{log}");
    assert_records_hold_no_secret(&ctx);
    let withheld_key = dump["key"].clone();

    // Allowed by the person running hookgate: the variable, and git config (multi-valued and
    // comma-separated). AWS_ACCESS_KEY_ID stays out.
    ctx.git(&["config", "--add", "hookgate.allowEnv", "SSH_AUTH_SOCK, DATABASE_URL"]);
    ctx.git(&["config", "--add", "hookgate.allowEnv", "CI_JOB_JWT"]);
    ctx.env_mut("HOOKGATE_ALLOW_ENV", "GH_PAT,MYSQL_PWD");
    let (v, output) = run_with_secrets(&ctx, &out);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let (check, build) = (dumped(&out), dumped(&build_out));
    for (k, value) in SECRETS.iter().filter(|(k, _)| *k != "AWS_ACCESS_KEY_ID") {
        assert_eq!(check.get(*k).map(String::as_str), Some(*value), "{k} was allowed");
        assert_eq!(build.get(*k).map(String::as_str), Some(*value), "{k} was allowed");
    }
    assert!(!check.contains_key("AWS_ACCESS_KEY_ID") && !build.contains_key("AWS_ACCESS_KEY_ID"));
    let dump = &checks(&v)["dump"];
    assert_ne!(dump["key"], withheld_key, "the allowed values are part of the key");
    assert_eq!(dump["cached"], false);
    let log = std::fs::read_to_string(dump["log"].as_str().unwrap()).unwrap();
    assert!(log.lines().any(|l| l.contains("withheld") && l.ends_with(": AWS_ACCESS_KEY_ID")), "{log}");
    // Allowed secrets enter the key only through the salted hash.
    assert_records_hold_no_secret(&ctx);
    assert!(records(&ctx).contains("hmac-sha256:"));
    let salt = ctx.work.join(".git/hookgate/salt");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&salt).unwrap().permissions().mode() & 0o777, 0o600);

    // Same values again: answered from the cache.
    let (v, _) = run_with_secrets(&ctx, &out);
    assert_eq!(checks(&v)["dump"]["cached"], true);
}

#[test]
fn the_key_covers_locale_and_resolution_settings_portably() {
    let ctx = TestContext::new("clean");
    ctx.commit_config("defaults = false\n[checks.ok]\nrun = \"true\"\n");
    let constraints = ctx.tmp.parent().unwrap();
    let (a, b) = (constraints.join("a.txt"), constraints.join("b.txt"));
    std::fs::write(&a, "pytest<9\n").unwrap();
    std::fs::write(&b, "pytest<9\n").unwrap();
    let key = |vars: &[(&str, &str)]| -> (String, String) {
        let mut cmd = ctx.hookgate_cmd(&["run", "--json"]);
        cmd.env("LANG", "C.UTF-8").env_remove("UV_INDEX_URL").env_remove("UV_CONSTRAINT");
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let c = &checks(&v)["ok"];
        (c["key"].as_str().unwrap().to_string(), c["cached"].to_string())
    };
    let base = key(&[]);
    assert_eq!(key(&[]), (base.0.clone(), "true".into()), "same environment, same key");
    assert_ne!(key(&[("LANG", "de_DE.UTF-8")]).0, base.0, "LANG is a key input");
    let index = key(&[("UV_INDEX_URL", "https://index.example/simple/")]);
    assert_ne!(index.0, base.0, "UV_INDEX_URL is a key input");
    assert_ne!(key(&[("UV_INDEX_URL", "https://other.example/simple/")]).0, index.0);
    // A proxy reaches the same packages: not a key input.
    assert_eq!(key(&[("HTTPS_PROXY", "http://proxy.example:3128")]).0, base.0);
    // A constraint file is keyed by its content, not its path on this machine.
    let via_a = key(&[("UV_CONSTRAINT", a.to_str().unwrap())]);
    assert_ne!(via_a.0, base.0);
    assert_eq!(key(&[("UV_CONSTRAINT", b.to_str().unwrap())]).0, via_a.0);
    std::fs::write(&b, "pytest<8\n").unwrap();
    assert_ne!(key(&[("UV_CONSTRAINT", b.to_str().unwrap())]).0, via_a.0);
    // An index URL with credentials enters the key salted, never as itself or its plain hash.
    let secret_url = "https://user:hg-index-password@index.example/simple/";
    key(&[("UV_INDEX_URL", secret_url)]);
    let recs = records(&ctx);
    assert!(!recs.contains("hg-index-password") && !recs.contains(&sha256_hex(secret_url)));
    assert!(recs.contains("hmac-sha256:"), "{recs}");
    assert!(!recs.contains(a.to_str().unwrap()), "no path of this machine in the key inputs");
}

#[test]
fn every_log_of_the_sample_suite_is_plain_text() {
    let ctx = TestContext::new("clean");
    // What a colourful terminal session exports: hookgate must not let any of it through.
    let out = ctx
        .hookgate_cmd(&["run", "--all", "--json"])
        .env("HOOKGATE_SKIP", "version")
        .env("FORCE_COLOR", "1")
        .env("CLICOLOR_FORCE", "1")
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let logs: Vec<PathBuf> = std::fs::read_dir(ctx.work.join(".git/hookgate/logs"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    assert_eq!(logs.len(), 6, "lint, format, wheel, test, coverage, docs: {logs:?}");
    for log in &logs {
        let bytes = std::fs::read(log).unwrap();
        assert!(bytes.len() > 200, "{} is nearly empty", log.display());
        if let Some(at) = bytes.iter().position(|&b| b == 0x1b) {
            let line = String::from_utf8_lossy(&bytes[at.saturating_sub(80)..(at + 40).min(bytes.len())])
                .into_owned();
            panic!("ESC in {}: {line:?}", log.display());
        }
    }
}
