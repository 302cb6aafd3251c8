//! The cache has a bound (#8 item 20): `cache dir` says where it is, `cache gc` drops what no
//! recent commit needs (or what is too old), `--dry-run` only lists, and a run keeps the cache
//! under `HOOKGATE_CACHE_MAX_MB` by dropping the oldest keys.

use std::path::Path;

use crate::common::{TestContext, checks, text};

const CONFIG: &str = "defaults = false\n[checks.ok]\nrun = \"echo ok\"\n";

fn key_of_run(ctx: &TestContext, args: &[&str]) -> String {
    let (v, out) = ctx.json(args);
    assert!(out.status.success(), "{}", text(&out));
    checks(&v)["ok"]["key"].as_str().unwrap().to_string()
}

fn record(ctx: &TestContext, key: &str) -> std::path::PathBuf {
    ctx.work.join(".git/hookgate/verdicts").join(&key[..2]).join(format!("{key}.json"))
}

/// Makes every file of `key` look `days` old.
fn age(ctx: &TestContext, key: &str, days: u32) {
    fn walk(dir: &Path, key: &str, days: u32, inside: bool) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            let mine = inside || p.file_name().unwrap().to_string_lossy().starts_with(key);
            if p.is_dir() {
                walk(&p, key, days, mine);
            }
            if mine {
                let st = std::process::Command::new("touch")
                    .args(["-h", "-d", &format!("{days} days ago")])
                    .arg(&p)
                    .status()
                    .unwrap();
                assert!(st.success());
            }
        }
    }
    walk(&ctx.work.join(".git/hookgate"), key, days, false);
}

#[test]
fn cache_dir_prints_the_cache_in_the_common_git_dir() {
    let ctx = TestContext::new("clean");
    let out = ctx.hookgate(&["cache", "dir"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        ctx.work.join(".git/hookgate").display().to_string()
    );
}

#[test]
fn gc_drops_what_no_recent_commit_needs_and_what_is_too_old() {
    let ctx = TestContext::new("clean");
    ctx.commit_config(CONFIG);
    let head = key_of_run(&ctx, &["run"]);
    // A tree that only a deleted branch had.
    ctx.git(&["checkout", "-q", "-b", "gone"]);
    ctx.write("README.md", "gone\n");
    ctx.git(&["commit", "-q", "-am", "gone"]);
    let gone = key_of_run(&ctx, &["run"]);
    ctx.git(&["checkout", "-q", "main"]);
    ctx.git(&["branch", "-q", "-D", "gone"]);
    // Fresh, an unreachable verdict stays (it may be a pre-warmed tree not committed yet).
    let out = ctx.hookgate(&["cache", "gc"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(record(&ctx, &gone).exists(), "a fresh verdict was dropped:\n{}", text(&out));
    age(&ctx, &gone, 3);
    let out = ctx.hookgate(&["cache", "gc", "--dry-run"]);
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(said.contains(&format!("would drop {gone}")) && !said.contains(&head), "{said}");
    assert!(record(&ctx, &gone).exists(), "--dry-run removed something");
    let out = ctx.hookgate(&["cache", "gc"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("dropped {gone}")), "{}", text(&out));
    assert!(!record(&ctx, &gone).exists());
    assert!(!ctx.work.join(format!(".git/hookgate/logs/{gone}.log")).exists(), "its log stayed");
    assert!(record(&ctx, &head).exists(), "the verdict of HEAD was dropped");
    // Too old goes even for HEAD; the next run simply runs again.
    age(&ctx, &head, 40);
    let out = ctx.hookgate(&["cache", "gc", "--max-age", "30"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!record(&ctx, &head).exists());
    let (v, _) = ctx.json(&["run"]);
    assert_eq!(checks(&v)["ok"]["cached"], false);
}

#[test]
fn a_run_keeps_the_cache_under_its_size_bound() {
    let ctx = TestContext::new("clean");
    ctx.commit_config(CONFIG);
    let first = key_of_run(&ctx, &["run"]);
    ctx.write("README.md", "second\n");
    ctx.git(&["commit", "-q", "-am", "second"]);
    std::fs::remove_file(ctx.work.join(".git/hookgate/gc-stamp")).ok();
    ctx.env_mut("HOOKGATE_CACHE_MAX_MB", "0");
    let out = ctx.hookgate(&["run"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("dropped the oldest verdicts"), "{}", text(&out));
    assert!(!record(&ctx, &first).exists(), "the oldest verdict outlived the bound");
    let (v, _) = ctx.json(&["run"]);
    assert_eq!(checks(&v)["ok"]["cached"], true, "the run's own verdict was dropped");
}

#[test]
fn gc_keeps_the_keys_of_every_recent_commit_of_a_tree_whose_version_comes_from_git() {
    // `next` is an empty commit on `main`: the same tree, another version from git, so another
    // key for a check that builds the package. Both commits are recent: both keys stay.
    let ctx = TestContext::new("scm");
    ctx.commit_config("defaults = false\n[checks.ver]\ndeps = [\".\"]\nrun = \"true\"\n");
    ctx.git(&["tag", "v1.0.0"]);
    ctx.git(&["branch", "next"]);
    ctx.git(&["checkout", "-q", "next"]);
    ctx.git(&["commit", "-q", "--allow-empty", "-m", "next"]);
    ctx.git(&["checkout", "-q", "main"]);
    // Nothing is built (skipped): only the keys are wanted, each given a stored file.
    ctx.env_mut("HOOKGATE_SKIP", "ver");
    let key = |rev: &str| {
        let (v, out) = ctx.json(&["run", "--tree", rev]);
        assert!(out.status.success(), "{}", text(&out));
        checks(&v)["ver"]["key"].as_str().unwrap().to_string()
    };
    let (main, next) = (key("main"), key("next"));
    assert_ne!(main, next, "two versions, two keys");
    for k in [&main, &next] {
        ctx.write(&format!(".git/hookgate/logs/{k}.log"), "log\n");
        age(&ctx, k, 3);
    }
    let out = ctx.hookgate(&["cache", "gc", "--dry-run"]);
    assert!(out.status.success(), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(!said.contains(&main) && !said.contains(&next), "a recent commit's key would go:\n{said}");
}
