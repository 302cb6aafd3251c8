//! `hookgate release` against a real pypiserver on 127.0.0.1 (without auth, and with an
//! htpasswd user) and a local bare remote that receives the tag.

use std::path::Path;
use std::process::Command;

use crate::common::{Server, TestContext, text};

fn releasable(index: &str) -> TestContext {
    releasable_fixture("clean", index)
}

fn releasable_fixture(fixture: &str, index: &str) -> TestContext {
    let ctx = TestContext::new(fixture);
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

    // A static version is released as pyproject.toml states it: another one is refused.
    let out = release(&ctx, &server.url, ("x", "x"), &["9.9.9"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("builds as version 0.1.0, not 9.9.9"),
        "{}",
        text(&out)
    );
    assert!(files(packages.path()).is_empty() && ctx.git(&["tag", "-l"]).is_empty());

    let out = release(&ctx, &server.url, ("upload", "unused"), &["0.1.0"]);
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

/// pypiserver accepting uploads only from alice (password s3cret).
fn server_with_a_password(packages: &Path) -> Server {
    let htpasswd = packages.join(".htpasswd");
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
        .arg(packages);
    Server::start(cmd, port)
}

#[test]
fn a_wrong_password_is_refused_and_leaves_no_tag() {
    let packages = tempfile::tempdir().unwrap();
    let server = server_with_a_password(packages.path());
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

fn names(dir: &Path) -> Vec<String> {
    files(dir).into_iter().map(|(n, _)| n).collect()
}

fn tags(ctx: &TestContext) -> String {
    ctx.git(&["tag", "-l"])
}

#[test]
fn a_version_from_git_is_released_by_tagging_head_first_and_dev_versions_are_refused() {
    let packages = tempfile::tempdir().unwrap();
    let server = Server::pypiserver(packages.path());
    let ctx = releasable_fixture("scm", &server.url);
    let stderr = |out: &std::process::Output| String::from_utf8_lossy(&out.stderr).to_string();

    // Untagged HEAD: its version from git is a .devN, refused without a version; so is a
    // development or local version asked for. Nothing was tagged or uploaded.
    let out = release(&ctx, &server.url, ("x", "x"), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(stderr(&out).contains("0.1.dev2, a development version"), "{}", text(&out));
    for dev in ["1.2.0.dev1", "1.2.0+local"] {
        let out = release(&ctx, &server.url, ("x", "x"), &[dev]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(stderr(&out).contains("is a development or local version"), "{}", text(&out));
    }
    let out = release(&ctx, &server.url, ("x", "x"), &["not-a-version"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(tags(&ctx).is_empty() && names(packages.path()).is_empty());

    // A dry run tags HEAD, builds and checks 1.2.0, then deletes the tag it made.
    let out = release(&ctx, &server.url, ("x", "x"), &["1.2.0", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("would upload scm_pkg-1.2.0-py3-none-any.whl"), "{}", text(&out));
    assert!(stdout.contains("would then push the tag v1.2.0"), "{}", text(&out));
    assert!(stderr(&out).contains("deleted the tag v1.2.0 this release created"), "{}", text(&out));
    assert!(tags(&ctx).is_empty() && names(packages.path()).is_empty());

    // The release: tagged, checked (from the cache: same tree, same version), uploaded, pushed.
    let out = release(&ctx, &server.url, ("x", "x"), &["1.2.0"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(names(packages.path()), ["scm_pkg-1.2.0-py3-none-any.whl", "scm_pkg-1.2.0.tar.gz"]);
    assert_eq!(ctx.git(&["cat-file", "-t", "v1.2.0"]), "tag", "an annotated tag");
    assert_eq!(ctx.git(&["rev-parse", "v1.2.0^{}"]), ctx.git(&["rev-parse", "HEAD"]));
    assert!(!ctx.git(&["ls-remote", "origin", "refs/tags/v1.2.0"]).is_empty());

    // Again: HEAD's own tag is used, and the index refuses the version; the tag stays.
    let out = release(&ctx, &server.url, ("x", "x"), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(stderr(&out).contains("version 1.2.0 is already on"), "{}", text(&out));
    assert_eq!(tags(&ctx), "v1.2.0");
    // A version whose tag sits on another commit is refused.
    ctx.write("README.md", "next\n");
    ctx.git(&["commit", "-q", "-am", "next"]);
    ctx.git(&["push", "-q", "--no-verify", "origin", "main"]);
    let out = release(&ctx, &server.url, ("x", "x"), &["1.2.0"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(stderr(&out).contains("already exists, on commit"), "{}", text(&out));
    // --allow-dev publishes HEAD's development version as it is, and tags nothing.
    let out = release(&ctx, &server.url, ("x", "x"), &["--allow-dev"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("released 1.2.1.dev1 (a development version, not tagged)")
    );
    assert!(names(packages.path()).contains(&"scm_pkg-1.2.1.dev1.tar.gz".to_string()));
    assert_eq!(tags(&ctx), "v1.2.0");
}

#[test]
fn a_failed_vcs_release_deletes_the_tag_it_made_but_never_the_users_tag() {
    let packages = tempfile::tempdir().unwrap();
    let server = server_with_a_password(packages.path());
    let ctx = releasable_fixture("scm", &server.url);

    let out = release(&ctx, &server.url, ("alice", "wrong"), &["1.3.0"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the upload failed") && err.contains("deleted the tag v1.3.0"), "{err}");
    assert!(tags(&ctx).is_empty() && remote_tag_named(&ctx, "v1.3.0").is_empty());

    // The user tags HEAD; a failed upload leaves their tag alone, a good one pushes it.
    ctx.git(&["tag", "-a", "-m", "mine", "v1.3.0"]);
    let out = release(&ctx, &server.url, ("alice", "wrong"), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("your tag v1.3.0 stays"), "{}", text(&out));
    assert_eq!(ctx.git(&["tag", "-l", "--format=%(contents:subject)", "v1.3.0"]), "mine");
    let out = release(&ctx, &server.url, ("alice", "s3cret"), &["1.3.0"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!remote_tag_named(&ctx, "v1.3.0").is_empty());
    assert_eq!(ctx.git(&["tag", "-l", "--format=%(contents:subject)", "v1.3.0"]), "mine", "the user's tag");
    assert_eq!(names(packages.path()), ["scm_pkg-1.3.0-py3-none-any.whl", "scm_pkg-1.3.0.tar.gz"]);
}

fn remote_tag_named(ctx: &TestContext, tag: &str) -> String {
    ctx.git(&["ls-remote", "origin", &format!("refs/tags/{tag}")])
}
