//! The verdict store: a record is checked, not trusted (a bad one is a miss with one warning),
//! and logs are bounded (a check's huge output keeps its head and tail; a report reads a log's
//! tail from its end).

use serde_json::{Value, json};

use crate::common::{TestContext, checks, text};

/// A passing check `ok` and a failing check `bad`.
fn ok_and_bad() -> TestContext {
    let ctx = TestContext::new("clean");
    ctx.commit_config("defaults = false\n[checks.ok]\nrun = \"true\"\n[checks.bad]\nrun = \"exit 3\"\n");
    ctx
}

/// Runs both checks; returns the report and stderr.
fn run(ctx: &TestContext) -> (Value, String) {
    let (v, out) = ctx.json(&["run"]);
    (v, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn key(v: &Value, check: &str) -> String {
    checks(v)[check]["key"].as_str().unwrap().to_string()
}

/// `bad` ran again (its record was refused), failed, and the refusal was said once.
fn assert_refused(ctx: &TestContext, what: &str) {
    let (v, err) = run(ctx);
    let bad = &checks(&v)["bad"];
    assert_eq!(
        (bad["status"].as_str(), bad["cached"].as_bool()),
        (Some("fail"), Some(false)),
        "{what}: {err}"
    );
    assert_eq!(err.matches("bad cache record").count(), 1, "{what}: one warning expected:\n{err}");
    assert_eq!(checks(&v)["ok"]["cached"], true);
}

#[test]
fn a_corrupt_record_is_a_miss_with_one_warning() {
    let ctx = ok_and_bad();
    let (v, _) = run(&ctx);
    std::fs::write(ctx.record_path(&key(&v, "bad")), "{ truncated").unwrap();
    assert_refused(&ctx, "corrupt");
}

#[test]
fn a_record_naming_another_key_or_check_is_refused() {
    let ctx = ok_and_bad();
    let (v, _) = run(&ctx);
    let (ok, bad) = (key(&v, "ok"), key(&v, "bad"));
    let bad_record = std::fs::read(ctx.record_path(&bad)).unwrap();

    // The passing check's record, copied under the failing check's key.
    std::fs::copy(ctx.record_path(&ok), ctx.record_path(&bad)).unwrap();
    assert_refused(&ctx, "copied record");
    // A pass that names the right key but another check...
    std::fs::write(ctx.record_path(&bad), &bad_record).unwrap();
    ctx.edit_record(&bad, |r| {
        r["verdict"] = json!("pass");
        r["check"] = json!("ok");
    });
    assert_refused(&ctx, "other check");
    // ...or the right check but another key.
    std::fs::write(ctx.record_path(&bad), &bad_record).unwrap();
    ctx.edit_record(&bad, |r| {
        r["verdict"] = json!("pass");
        r["key"] = json!(ok);
    });
    assert_refused(&ctx, "other key");
}

#[test]
fn a_symlinked_oversized_or_directory_record_is_refused() {
    let ctx = ok_and_bad();
    let (v, _) = run(&ctx);
    let bad = key(&v, "bad");
    let path = ctx.record_path(&bad);
    // A well-formed pass for `bad`, planted elsewhere and linked in.
    ctx.edit_record(&bad, |r| r["verdict"] = json!("pass"));
    let planted = ctx.tmp.join("planted.json");
    std::fs::rename(&path, &planted).unwrap();
    std::os::unix::fs::symlink(&planted, &path).unwrap();
    assert_refused(&ctx, "symlink");

    // The same pass, padded past 1 MiB with JSON whitespace.
    let mut padded = std::fs::read(&planted).unwrap();
    padded.resize(2 << 20, b' ');
    std::fs::remove_file(&path).ok();
    std::fs::write(&path, &padded).unwrap();
    assert_refused(&ctx, "oversized");

    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    assert_refused(&ctx, "directory");
}

#[test]
fn a_huge_output_is_capped_to_its_head_and_tail() {
    let ctx = TestContext::new("clean");
    ctx.commit_config(
        "defaults = false\n[checks.loud]\n\
         run = \"echo FIRST; yes 0123456789 | head -c 50000000; echo LAST\"\n",
    );
    let (v, out) = ctx.json(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let log = std::path::PathBuf::from(checks(&v)["loud"]["log"].as_str().unwrap());
    let size = std::fs::metadata(&log).unwrap().len();
    assert!(size < (2 << 20) + 64 * 1024, "the log is {size} bytes");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("\nFIRST\n0123456789\n"), "the head is gone");
    // 50 000 000 bytes of 11-byte lines end in a partial one: "012345", then LAST.
    assert!(text.contains("0123456789\n012345LAST\nhookgate: ("), "the tail is gone");
    let dropped: u64 = text
        .split_once("hookgate: [log capped: ")
        .and_then(|(_, rest)| rest.split_once(' '))
        .map(|(n, _)| n.parse().unwrap())
        .expect("the log says how much was dropped");
    assert!(dropped > 47_000_000, "{dropped}");
}

#[test]
fn a_cached_failure_shows_the_tail_of_a_huge_log_without_reading_it_whole() {
    let ctx = ok_and_bad();
    let (v, _) = run(&ctx);
    let log = std::path::PathBuf::from(checks(&v)["bad"]["log"].as_str().unwrap());
    // 8 GiB (sparse) ending in a recognisable line; hookgate gets 2 GiB of address space.
    let file = std::fs::File::create(&log).unwrap();
    file.set_len(8 << 30).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&file, b"\nTHE END\n", (8 << 30) - 9).unwrap();
    let mut cmd = std::process::Command::new("sh");
    cmd.args(["-c", "ulimit -v 2097152; exec \"$0\" \"$@\"", crate::common::BIN, "run", "bad"]);
    cmd.current_dir(&ctx.work);
    ctx.apply_env(&mut cmd);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("(cached verdict") && stdout.contains("  THE END\n"), "{}", text(&out));
}
