//! The verdict store: a record is checked, not trusted (a bad one is a miss with one warning).

use serde_json::{Value, json};

use crate::common::{TestContext, checks};

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
