//! Installing and removing hooks: chaining a hook that was there, exact restore, core.hooksPath,
//! linked worktrees, and a hook whose binary has gone.

use std::os::unix::fs::PermissionsExt;

use crate::common::{CUSTOM_ONLY, TestContext, text};

fn custom(ctx: &TestContext) {
    ctx.commit_config(CUSTOM_ONLY);
}

fn write_hook(path: &std::path::Path, body: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o750)).unwrap();
}

#[test]
fn install_writes_both_hooks_calling_the_binary_by_absolute_path() {
    let ctx = TestContext::new("clean");
    let out = ctx.hookgate(&["install"]);
    assert!(out.status.success(), "{}", text(&out));
    for hook in ["pre-commit", "pre-push"] {
        let path = ctx.work.join(".git/hooks").join(hook);
        let body = std::fs::read_to_string(&path).unwrap();
        assert!(body.contains(crate::common::BIN), "{hook} does not name the binary:\n{body}");
        assert!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o111 != 0);
    }
    // Installing twice is harmless and keeps no "legacy" copy of our own hook.
    assert!(ctx.hookgate(&["install"]).status.success());
    assert!(!ctx.work.join(".git/hooks/pre-push.hookgate-legacy").exists());
}

#[test]
fn existing_hook_is_chained_first_blocks_on_failure_and_is_restored_exactly() {
    let ctx = TestContext::new("clean");
    custom(&ctx);
    let hook = ctx.work.join(".git/hooks/pre-push");
    let marker = ctx.work.join(".git/legacy-ran");
    let original = format!("#!/bin/sh\ncat > '{}'\nexit ${{LEGACY_EXIT:-0}}\n", marker.display());
    write_hook(&hook, &original);

    let out = ctx.hookgate(&["install"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("kept your existing pre-push hook"),
        "{}",
        text(&out)
    );

    // The old hook runs first, with git's stdin, and then our checks.
    let out = ctx.git_out(&["push", "origin", "main"]);
    assert!(out.status.success(), "{}", text(&out));
    let seen = std::fs::read_to_string(&marker).unwrap();
    assert!(seen.starts_with("refs/heads/main "), "legacy hook did not get the push lines: {seen:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("pre-push on refs/heads/main"));

    // Its failure blocks the push before any check runs.
    let mut cmd = ctx.git_cmd(&["push", "origin", "HEAD:other"]);
    let out = cmd.env("LEGACY_EXIT", "7").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("earlier pre-push hook"), "{}", text(&out));

    let out = ctx.hookgate(&["uninstall"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), original);
    assert_eq!(std::fs::metadata(&hook).unwrap().permissions().mode() & 0o777, 0o750);
    assert!(!ctx.work.join(".git/hooks/pre-commit").exists());
    assert!(!ctx.work.join(".git/hooks/pre-push.hookgate-legacy").exists());
}

#[test]
fn uninstall_leaves_a_foreign_hook_alone() {
    let ctx = TestContext::new("clean");
    let hook = ctx.work.join(".git/hooks/pre-commit");
    write_hook(&hook, "#!/bin/sh\nexit 0\n");
    let out = ctx.hookgate(&["uninstall", "--hook-type", "pre-commit"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("not hookgate's"), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), "#!/bin/sh\nexit 0\n");
}

#[test]
fn core_hooks_path_is_honoured() {
    let ctx = TestContext::new("clean");
    custom(&ctx);
    ctx.git(&["config", "core.hooksPath", "githooks"]);
    let out = ctx.hookgate(&["install"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("core.hooksPath is set"), "{}", text(&out));
    assert!(ctx.work.join("githooks/pre-push").exists());
    assert!(!ctx.work.join(".git/hooks/pre-push").exists());
    let out = ctx.git_out(&["push", "origin", "main"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pre-push on refs/heads/main"), "{}", text(&out));
}

#[test]
fn hooks_work_from_a_linked_worktree_and_share_the_cache() {
    let ctx = TestContext::new("clean");
    custom(&ctx);
    let linked = ctx.work.parent().unwrap().join("linked");
    ctx.git(&["worktree", "add", "-q", "-b", "side", linked.to_str().unwrap()]);
    let mut install = ctx.hookgate_cmd(&["install"]);
    let out = install.current_dir(&linked).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    // Hooks live in the common dir, and the verdicts too.
    assert!(ctx.work.join(".git/hooks/pre-push").exists());
    let mut push = ctx.git_cmd(&["push", "origin", "side"]);
    let out = push.current_dir(&linked).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pre-push on refs/heads/side"), "{}", text(&out));
    assert_eq!(ctx.record_count(), 1);
    // The main worktree sees the same verdict (same tree).
    let out = ctx.git_out(&["push", "origin", "main"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("passed (cached)"), "{}", text(&out));
}

#[test]
fn hook_whose_binary_is_gone_says_what_to_do() {
    let ctx = TestContext::new("clean");
    let gone = ctx.work.parent().unwrap().join("hookgate-copy");
    std::fs::copy(crate::common::BIN, &gone).unwrap();
    let mut cmd = std::process::Command::new(&gone);
    ctx.apply_env(&mut cmd);
    let out = cmd.args(["install"]).current_dir(&ctx.work).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    std::fs::remove_file(&gone).unwrap();
    // PATH without any hookgate: the script must refuse with a clear message.
    let out = ctx
        .git_cmd(&["push", "origin", "main"])
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not at") && err.contains("nor on PATH") && err.contains("--no-verify"), "{err}");
}
