//! `hookgate release` against a real pypiserver on 127.0.0.1 (without auth, and with an
//! htpasswd user) and a local bare remote that receives the tag.

use std::path::Path;
use std::process::Command;

use crate::common::{Server, TestContext, text};

fn releasable(index: &str) -> TestContext {
    let ctx = TestContext::new("clean");
    ctx.commit_config(&format!(
        "[checks.version]\nindex-url = \"{index}/simple/\"\n[checks.docs]\nenabled = false\n"
    ));
    ctx.git(&["push", "-q", "--no-verify", "-u", "origin", "main"]);
    ctx
}

fn release(ctx: &TestContext, server: &str, creds: (&str, &str), extra: &[&str]) -> std::process::Output {
    let (url, index) = (format!("{server}/"), format!("{server}/simple/"));
    let mut args = vec!["release", "--repository-url", &url, "--index-url", &index];
    args.extend(extra);
    ctx.hookgate_cmd(&args)
        .env("UV_PUBLISH_USERNAME", creds.0)
        .env("UV_PUBLISH_PASSWORD", creds.1)
        .output()
        .unwrap()
}

fn remote_tag(ctx: &TestContext) -> String {
    ctx.git(&["ls-remote", "origin", "refs/tags/v0.1.0"])
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into(), std::fs::read(&p).unwrap()))
        .collect();
    v.sort();
    v
}

#[test]
fn release_uploads_the_checked_dists_as_built_then_tags_and_refuses_a_second_time() {
    let packages = tempfile::tempdir().unwrap();
    let server = Server::pypiserver(packages.path());
    let ctx = releasable(&server.url);

    let out = release(&ctx, &server.url, ("x", "x"), &["--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("would upload hookgate_sample-0.1.0"),
        "{}",
        text(&out)
    );
    assert!(
        files(packages.path()).is_empty()
            && remote_tag(&ctx).is_empty()
            && ctx.git(&["tag", "-l"]).is_empty()
    );

    // uv publishes nothing without a login, even where none is asked for; hookgate says what
    // to set (any values do here, as the README says).
    let url = format!("{}/", server.url);
    let index = format!("{}/simple/", server.url);
    let out = ctx
        .hookgate_cmd(&["release", "--repository-url", &url, "--index-url", &index])
        .env_remove("UV_PUBLISH_TOKEN")
        .env_remove("UV_PUBLISH_USERNAME")
        .env_remove("UV_PUBLISH_PASSWORD")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("UV_PUBLISH_USERNAME=upload UV_PUBLISH_PASSWORD=unused"),
        "{}",
        text(&out)
    );
    assert!(files(packages.path()).is_empty() && ctx.git(&["tag", "-l"]).is_empty());

    let out = release(&ctx, &server.url, ("upload", "unused"), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!remote_tag(&ctx).is_empty(), "the tag reached origin");
    assert_eq!(ctx.git(&["cat-file", "-t", "v0.1.0"]), "tag", "an annotated tag");
    // Byte-identical to what the wheel check built (no rebuild).
    let (v, _) = ctx.json(&["run", "wheel"]);
    let key = crate::common::checks(&v)["wheel"]["key"].as_str().unwrap().to_string();
    let built = files(&ctx.work.join(".git/hookgate/artifacts").join(key));
    assert_eq!(files(packages.path()), built);
    assert_eq!(built.len(), 2);

    let out = release(&ctx, &server.url, ("x", "x"), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the tag v0.1.0 already exists"), "{}", text(&out));

    // Without the tag, the index still has the version: refused as taken, nothing re-tagged.
    ctx.git(&["tag", "-d", "v0.1.0"]);
    ctx.git(&["push", "-q", "--no-verify", "origin", ":refs/tags/v0.1.0"]);
    let out = release(&ctx, &server.url, ("x", "x"), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("version 0.1.0 is already on"), "{}", text(&out));
    assert!(ctx.git(&["tag", "-l"]).is_empty() && remote_tag(&ctx).is_empty());
}

#[test]
fn a_wrong_password_is_refused_and_leaves_no_tag() {
    let packages = tempfile::tempdir().unwrap();
    let htpasswd = packages.path().join(".htpasswd");
    let tools = crate::common::test_tools();
    let script = format!(
        "from passlib.apache import HtpasswdFile\nh = HtpasswdFile({:?}, new=True)\nh.set_password('alice', 's3cret')\nh.save()\n",
        htpasswd.display().to_string()
    );
    let out = Command::new(tools.join("python")).args(["-c", &script]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let port = crate::common::free_port();
    let mut cmd = Command::new(tools.join("pypi-server"));
    cmd.args(["run", "-i", "127.0.0.1", "-p", &port.to_string(), "-P"])
        .arg(&htpasswd)
        .args(["-a", "update"])
        .arg(packages.path());
    let server = Server::start(cmd, port);
    let ctx = releasable(&server.url);

    let out = release(&ctx, &server.url, ("alice", "wrong"), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the upload failed"), "{}", text(&out));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("wrong"), "the password was printed");
    assert!(ctx.git(&["tag", "-l"]).is_empty() && remote_tag(&ctx).is_empty());

    let out = release(&ctx, &server.url, ("alice", "s3cret"), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!remote_tag(&ctx).is_empty());
}

#[test]
fn refuses_unless_on_the_main_branch_clean_and_pushed() {
    let ctx = releasable("http://127.0.0.1:9");
    let server = "http://127.0.0.1:9";
    ctx.write("README.md", "dirty\n");
    let out = release(&ctx, server, ("x", "x"), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("uncommitted changes"), "{}", text(&out));
    ctx.git(&["commit", "-q", "--no-verify", "-am", "unpushed"]);
    let out = release(&ctx, server, ("x", "x"), &[]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("HEAD is not pushed"), "{}", text(&out));
    ctx.git(&["checkout", "-q", "-b", "feature"]);
    let out = release(&ctx, server, ("x", "x"), &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not on the main branch `main`") && err.contains("has no upstream"), "{err}");
    assert!(ctx.git(&["tag", "-l"]).is_empty());
}
