//! The `version` check against real package indexes on loopback: pypiserver (PEP 503 HTML,
//! uploads with twine) and a minimal PEP 691 JSON index, plus an index that is down.

use std::process::Command;

use crate::common::{Server, TestContext, checks, log_of, text};
use serde_json::Value;

fn with_index(index: &str, extra: &str) -> TestContext {
    let ctx = TestContext::new("clean");
    ctx.commit_config(&format!("[checks.version]\nindex-url = \"{index}\"\n{extra}"));
    ctx
}

fn run_version(ctx: &TestContext, extra: &[&str]) -> (Value, std::process::Output) {
    let mut args = vec!["run", "version"];
    args.extend(extra);
    ctx.json(&args)
}

/// Uploads to `url` with twine the dists the `wheel` check of run `v` built; returns their paths.
fn upload_built_dists(ctx: &TestContext, v: &Value, url: &str) -> Vec<std::path::PathBuf> {
    let wheel_key = checks(v)["wheel"]["key"].as_str().unwrap().to_string();
    let artifacts = ctx.work.join(".git/hookgate/artifacts").join(wheel_key);
    let dists: Vec<_> = std::fs::read_dir(&artifacts).unwrap().map(|e| e.unwrap().path()).collect();
    let upload = Command::new(crate::common::test_tools().join("twine"))
        .args(["upload", "--non-interactive", "--repository-url", url, "-u", "x", "-p", "x"])
        .args(&dists)
        .output()
        .unwrap();
    assert!(upload.status.success(), "{}", text(&upload));
    dists
}

#[test]
fn free_then_taken_on_pypiserver_after_a_twine_upload() {
    let packages = tempfile::tempdir().unwrap();
    let server = Server::pypiserver(packages.path());
    let index = format!("{}/simple/", server.url);
    let ctx = with_index(&index, "");
    let (v, out) = run_version(&ctx, &[]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out), log_of(&v, "version"));
    assert_eq!(checks(&v)["version"]["status"], "pass");
    assert!(log_of(&v, "version").contains("0.1.0 is free"), "{}", log_of(&v, "version"));

    // Upload the very dists the wheel check built, then ask again.
    upload_built_dists(&ctx, &v, &server.url);

    // Within the ttl the pass would be reused; --force asks the index again.
    let (v, _) = run_version(&ctx, &[]);
    assert_eq!(checks(&v)["version"]["cached"], true);
    let (v, out) = run_version(&ctx, &["--force"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let log = log_of(&v, "version");
    assert!(log.contains(&format!("hookgate-sample 0.1.0 is already on {index}")), "{log}");
    // A taken version is a cached failure: the next push fails at once.
    let (v, _) = run_version(&ctx, &[]);
    assert_eq!(
        (checks(&v)["version"]["status"].as_str(), checks(&v)["version"]["cached"].as_bool()),
        (Some("fail"), Some(true))
    );
}

const JSON_INDEX: &str = r#"
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.rstrip("/") != "/simple/hookgate-sample":
            self.send_response(404); self.end_headers(); return
        body = json.dumps({"meta": {"api-version": "1.1"}, "name": "hookgate-sample",
            "files": [{"filename": "hookgate_sample-0.1.tar.gz", "url": "x", "hashes": {}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.pypi.simple.v1+json")
        self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"#;

#[test]
fn pep691_json_index_and_pep440_equality_mark_the_version_taken() {
    let port = crate::common::free_port();
    let mut cmd = Command::new("python3");
    cmd.args(["-c", JSON_INDEX, &port.to_string()]);
    let server = Server::start(cmd, port);
    // The index lists 0.1 (an sdist); the wheel's version is 0.1.0: equal under PEP 440.
    let ctx = with_index(&format!("{}/simple/", server.url), "");
    let (v, out) = run_version(&ctx, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let log = log_of(&v, "version");
    assert!(log.contains("is already on"), "{log}");
}

#[test]
fn unreachable_index_is_unknown_never_cached_and_blocks_only_when_strict() {
    let index = format!("http://127.0.0.1:{}/simple/", crate::common::free_port());
    let ctx = with_index(&index, "");
    let (v, out) = run_version(&ctx, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let c = &checks(&v)["version"];
    assert_eq!(c["status"], "unknown");
    assert!(c["reason"].as_str().unwrap().contains("unreachable"), "{c}");
    let (v, _) = run_version(&ctx, &[]);
    assert_eq!(checks(&v)["version"]["cached"], false, "an unknown verdict was cached");

    let strict = with_index(&index, "strict = true\n");
    let (v, out) = run_version(&strict, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(checks(&v)["version"]["status"], "fail");
    let (v, _) = run_version(&strict, &[]);
    assert_eq!(checks(&v)["version"]["cached"], false);
}

#[test]
fn a_pass_is_reused_only_for_its_ttl_and_never_past_it_from_a_future_time() {
    let packages = tempfile::tempdir().unwrap();
    let server = Server::pypiserver(packages.path());
    let ctx = with_index(&format!("{}/simple/", server.url), "ttl = 600\n");
    let (v, _) = run_version(&ctx, &[]);
    assert_eq!(checks(&v)["version"]["status"], "pass");
    let key = checks(&v)["version"]["key"].as_str().unwrap().to_string();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let (v, _) = run_version(&ctx, &[]);
    assert_eq!(checks(&v)["version"]["cached"], true, "a fresh pass was not reused");
    // Finished 601 seconds ago: older than its ttl.
    ctx.edit_record(&key, |r| r["finished_at"] = (now - 601).into());
    let (v, _) = run_version(&ctx, &[]);
    assert_eq!(checks(&v)["version"]["cached"], false, "a pass older than its ttl was reused");
    assert_eq!(checks(&v)["wheel"]["cached"], true);
    // Finished a day from now: a clock that jumped, or an edit; it must not extend the reuse.
    ctx.edit_record(&key, |r| r["finished_at"] = (now + 86_400).into());
    let (v, _) = run_version(&ctx, &[]);
    assert_eq!(checks(&v)["version"]["cached"], false, "a pass from the future was reused");
}

#[test]
fn a_taken_version_passes_only_for_the_tree_it_was_released_from() {
    let packages = tempfile::tempdir().unwrap();
    let server = Server::pypiserver(packages.path());
    let index = format!("{}/simple/", server.url);
    let ctx = with_index(&index, "");
    let (v, out) = run_version(&ctx, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    upload_built_dists(&ctx, &v, &server.url);

    // Released: the tag v0.1.0 points to this commit. The tag changes the key, so the index is
    // asked again, and the taken version is this tree's own release.
    ctx.git(&["tag", "-a", "v0.1.0", "-m", "v0.1.0"]);
    let (v, out) = run_version(&ctx, &[]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out), log_of(&v, "version"));
    assert_eq!(checks(&v)["version"]["cached"], false);
    let log = log_of(&v, "version");
    assert!(log.contains("is already on") && log.contains("released from this very tree"), "{log}");

    // A later commit with the same tree (an empty commit on main) is the same release.
    ctx.git(&["commit", "-q", "--allow-empty", "-m", "empty"]);
    let (_, out) = run_version(&ctx, &["--force"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // Any other tree with that version fails, tag or not.
    ctx.write("README.md", "# changed after the release\n");
    ctx.git(&["commit", "-q", "-am", "docs"]);
    let (v, out) = run_version(&ctx, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let log = log_of(&v, "version");
    assert!(log.contains("0.1.0 is already on") && !log.contains("released from this very tree"), "{log}");
}

#[test]
fn a_version_from_git_released_from_this_tree_passes_and_the_same_version_elsewhere_fails() {
    let packages = tempfile::tempdir().unwrap();
    let server = Server::pypiserver(packages.path());
    let ctx = TestContext::new("scm");
    ctx.commit_config(&format!("[checks.version]\nindex-url = \"{}/simple/\"\n", server.url));
    ctx.git(&["tag", "v0.1.0"]);
    let (v, out) = run_version(&ctx, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let dists = upload_built_dists(&ctx, &v, &server.url);
    assert!(dists.iter().any(|d| d.to_string_lossy().ends_with("scm_pkg-0.1.0.tar.gz")), "{dists:?}");

    // The tagged tree, asked again: taken, by its own release.
    let (v, out) = run_version(&ctx, &["--force"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(log_of(&v, "version").contains("released from this very tree"), "{}", log_of(&v, "version"));

    // Another tree built as 0.1.0 (a pretended version, as CI may set): taken, not its release.
    ctx.write("README.md", "# another tree\n");
    ctx.git(&["commit", "-q", "-am", "docs"]);
    ctx.env_mut("SETUPTOOLS_SCM_PRETEND_VERSION", "0.1.0");
    let (v, out) = run_version(&ctx, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let log = log_of(&v, "version");
    assert!(log.contains("scm-pkg 0.1.0 is already on") && !log.contains("released from"), "{log}");
}
