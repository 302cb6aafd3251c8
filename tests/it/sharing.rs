//! Verdicts that travel (issue #11): keys that two machines agree on, verdicts exported as
//! signed statements, carried in `refs/notes/hookgate` through the git remote, and used only
//! when a trusted signer vouches for the very key computed here.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{TestContext, checks, text};

/// Every check of the standard suite: skipped, the plan (and every key) is still computed.
const ALL: &str = "lint,format,wheel,test,coverage,version,docs,ci-sync";

/// A second clone of `ctx`'s remote, in its own directory with its own HOME and TMPDIR.
pub(crate) fn clone_of(ctx: &TestContext) -> TestContext {
    let other = TestContext::bare_dir();
    other.git(&["clone", "-q", "-b", "main", ctx.remote.to_str().unwrap(), "."]);
    other
}

/// The key of every check of a `run --all` that skips them all.
fn keys(ctx: &TestContext) -> BTreeMap<String, String> {
    ctx.env_mut("HOOKGATE_SKIP", ALL);
    let (v, out) = ctx.json(&["run", "--all"]);
    assert!(out.status.success(), "{}", text(&out));
    let keys: BTreeMap<String, String> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_string(), c["key"].as_str().unwrap().to_string()))
        .collect();
    assert!(keys.len() >= 5, "{v}");
    keys
}

/// A user-level uv config and a constraints file under the context's HOME, named by absolute
/// paths that differ between the clones.
fn user_settings(ctx: &TestContext, uv_toml: &str) {
    let config = ctx.home.join(".config/uv/uv.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, uv_toml).unwrap();
    let constraints = ctx.home.join("constraints.txt");
    std::fs::write(&constraints, "pytest<9\n").unwrap();
    ctx.env_mut("UV_CONSTRAINT", constraints.to_str().unwrap());
    ctx.env_mut("USER", ctx.home.to_str().unwrap());
    ctx.env_mut("HOSTNAME", ctx.work.to_str().unwrap());
}

#[test]
fn two_clones_in_different_places_agree_on_every_key() {
    let ctx = TestContext::new("clean");
    ctx.git(&["push", "-q", "origin", "main"]);
    let other = clone_of(&ctx);
    assert_ne!(ctx.work, other.work);
    assert_ne!(ctx.home, other.home);
    user_settings(&ctx, "index-strategy = \"first-index\"\n");
    user_settings(&other, "index-strategy = \"first-index\"\n");
    let (a, b) = (keys(&ctx), keys(&other));
    assert_eq!(a, b, "keys differ between clones in different directories and HOMEs");
    // The same inputs with another content are another key: the comparison above means something.
    user_settings(&other, "index-strategy = \"unsafe-best-match\"\n");
    let changed = keys(&other);
    assert!(a.iter().all(|(name, key)| &changed[name] != key), "{a:?}\n{changed:?}");
}

/// Two cheap custom checks, and the sharing policy of the default branch: any signer listed
/// in its `.hookgate/allowed_signers` may vouch for `ok`, none for `other` (unless trusted for
/// everything).
const SHARED: &str = r#"defaults = false

[checks.ok]
run = ["python", "-c", "print('ran ok')"]

[checks.other]
run = ["python", "-c", "print('ran other')"]

[share]
team-checks = ["ok"]
"#;

/// A fresh ed25519 key made by `ssh-keygen` in the context's HOME; its path and the
/// `allowed_signers` line for `principal`.
pub(crate) fn keygen(ctx: &TestContext, name: &str, principal: &str) -> (PathBuf, String) {
    keygen_of(ctx, &["-t", "ed25519"], name, principal)
}

/// [`keygen`] of the type `kind` names (`-t ecdsa -b 384`, ...).
fn keygen_of(ctx: &TestContext, kind: &[&str], name: &str, principal: &str) -> (PathBuf, String) {
    let path = ctx.home.join(name);
    let out = Command::new("ssh-keygen")
        .args(kind)
        .args(["-q", "-N", "", "-C", principal, "-f"])
        .arg(&path)
        .output()
        .expect("ssh-keygen is installed (openssh-client)");
    assert!(out.status.success(), "{}", text(&out));
    let public = std::fs::read_to_string(path.with_extension("pub")).unwrap();
    let key: Vec<&str> = public.split_whitespace().take(2).collect();
    (path, format!("{principal} {}\n", key.join(" ")))
}

/// Makes `ctx` sign as `principal` with `key`.
fn sign_as(ctx: &TestContext, key: &Path, principal: &str) {
    ctx.git(&["config", "hookgate.signingKey", key.to_str().unwrap()]);
    ctx.git(&["config", "hookgate.principal", principal]);
}

/// The lines of the hookgate note on `object` in the repository at `git_dir`.
fn note_lines(ctx: &TestContext, git_dir: &Path, object: &str) -> Vec<String> {
    let out = ctx.git(&["--git-dir", git_dir.to_str().unwrap(), "notes", "--ref=hookgate", "show", object]);
    out.lines().map(str::to_string).collect()
}

/// Replaces the hookgate note on `object` in `ctx`'s clone.
fn set_note(ctx: &TestContext, object: &str, lines: &[String]) {
    let file = ctx.tmp.join("note.txt");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    ctx.git(&["notes", "--ref=hookgate", "add", "-f", "-F", file.to_str().unwrap(), object]);
}

/// `run --json` in `ctx`: the report and stderr.
fn run_json(ctx: &TestContext, args: &[&str]) -> (Value, String) {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    let (v, out) = ctx.json(&all);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    (v, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn cached(v: &Value, check: &str) -> bool {
    checks(v)[check]["cached"].as_bool().unwrap()
}

/// An envelope's payload and signature.
fn envelope(line: &str) -> (String, String) {
    let v: Value = serde_json::from_str(line).unwrap();
    (v["payload"].as_str().unwrap().to_string(), v["signature"].as_str().unwrap().to_string())
}

fn make_envelope(payload: &str, signature: &str) -> String {
    serde_json::json!({ "payload": payload, "signature": signature }).to_string()
}

/// `ssh-keygen -Y verify`: whether OpenSSH accepts `signature` of `payload` by `principal`.
fn openssh_verifies(
    ctx: &TestContext,
    allowed: &str,
    principal: &str,
    payload: &str,
    signature: &str,
) -> bool {
    let (allowed_file, sig_file) = (ctx.tmp.join("allowed"), ctx.tmp.join("payload.sig"));
    std::fs::write(&allowed_file, allowed).unwrap();
    std::fs::write(&sig_file, signature).unwrap();
    let mut child = Command::new("ssh-keygen")
        .args(["-Y", "verify", "-n", "hookgate", "-I", principal, "-f"])
        .arg(&allowed_file)
        .arg("-s")
        .arg(&sig_file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(payload.as_bytes()).unwrap();
    child.wait_with_output().unwrap().status.success()
}

/// `ssh-keygen -Y sign -n hookgate`: OpenSSH's signature of `payload` with `key`.
fn openssh_sign(ctx: &TestContext, key: &Path, payload: &str) -> String {
    let file = ctx.tmp.join("to-sign");
    std::fs::write(&file, payload).unwrap();
    // ssh-keygen does not replace an earlier signature file.
    std::fs::remove_file(file.with_extension("sig")).ok();
    let out = Command::new("ssh-keygen")
        .args(["-Y", "sign", "-n", "hookgate", "-f"])
        .arg(key)
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    std::fs::read_to_string(file.with_extension("sig")).unwrap()
}

/// A: a repository whose `main` holds [`SHARED`] and `a@example.org`'s key in
/// `.hookgate/allowed_signers`; its checks pass and it pushes the signed verdicts.
pub(crate) fn teammate_a() -> (TestContext, PathBuf, String, String) {
    let a = TestContext::new("clean");
    let (key, allowed) = keygen(&a, "id_a", "a@example.org");
    a.write(".hookgate/allowed_signers", &allowed);
    a.commit_config(SHARED);
    a.git(&["push", "-q", "origin", "main"]);
    let (v, _) = run_json(&a, &[]);
    assert!(!cached(&v, "ok") && !cached(&v, "other"), "{v}");
    sign_as(&a, &key, "a@example.org");
    let out = a.hookgate(&["verdicts", "push"]);
    assert!(out.status.success(), "{}", text(&out));
    let tree = a.git(&["rev-parse", "HEAD^{tree}"]);
    (a, key, allowed, tree)
}

#[test]
fn a_trusted_signers_verdicts_answer_another_clone_and_an_untrusted_ones_do_not() {
    let (a, _key, allowed, tree) = teammate_a();
    // What reached the remote is one signed statement per check, which OpenSSH verifies.
    let lines = note_lines(&a, &a.remote, &tree);
    assert_eq!(lines.len(), 2, "{lines:?}");
    for line in &lines {
        let (payload, signature) = envelope(line);
        assert!(openssh_verifies(&a, &allowed, "a@example.org", &payload, &signature), "{payload}");
        assert!(!openssh_verifies(&a, &allowed, "b@example.org", &payload, &signature));
        let statement: Value = serde_json::from_str(&payload).unwrap();
        assert_eq!(statement["_type"], "https://in-toto.io/Statement/v1");
        assert_eq!(statement["subject"][0]["digest"]["gitTree"], tree.as_str());
        assert_eq!(statement["predicate"]["result"], "PASSED");
        let about = &statement["predicate"]["configuration"][0]["annotations"];
        assert_eq!(about["producer"], "a@example.org");
        assert!(about["keyInputs"].is_object(), "{about}");
    }

    // B trusts the team's signers of `main` for `ok` only; everything for no one.
    let b = clone_of(&a);
    // A developer's machine (the suite itself may run on CI).
    b.env_mut("CI", "");
    let out = b.hookgate(&["verdicts", "pull"]);
    assert!(out.status.success(), "{}", text(&out));
    let (v, stderr) = run_json(&b, &[]);
    assert!(cached(&v, "ok"), "{v}\n{stderr}");
    assert!(stderr.contains("ok: verdict from a@example.org"), "{stderr}");
    assert!(!cached(&v, "other"), "{v}\n{stderr}");
    assert!(stderr.contains("a@example.org is not trusted for `other`"), "{stderr}");
    // Where each verdict came from: the signer with the age of its run, or this clone.
    let ok = &checks(&v)["ok"];
    assert_eq!(ok["source"], "a@example.org", "{v}");
    assert!(ok["source_age_s"].is_u64(), "{v}");
    assert_eq!(checks(&v)["other"]["source"], "local", "{v}");
    assert!(checks(&v)["other"].get("source_age_s").is_none(), "{v}");
    let out = b.hookgate(&["run"]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("(cached · a@example.org ") && table.contains(" ago)"), "{table}");
    let (status, _) = b.json(&["status", "-n", "1"]);
    let sources = &status["commits"][0]["sources"];
    assert_eq!(sources["ok"]["source"], "a@example.org", "{status}");
    assert!(sources["ok"]["source_age_s"].is_u64(), "{status}");
    assert_eq!(sources["other"]["source"], "local", "{status}");
    let out = b.hookgate(&["status", "-n", "1"]);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("ok:pass (a@example.org ")
            && shown.contains("other:pass")
            && !shown.contains("other:pass ("),
        "{shown}"
    );
    let log = std::fs::read_to_string(ok["log"].as_str().unwrap()).unwrap();
    assert!(log.contains("signed by a@example.org"), "{log}");

    // On CI, no teammate is trusted: only CI's signers and the runner's own git config.
    std::fs::remove_dir_all(b.work.join(".git/hookgate/verdicts")).unwrap();
    b.env_mut("CI", "true");
    let (v, stderr) = run_json(&b, &["ok"]);
    assert!(!cached(&v, "ok"), "{v}\n{stderr}");
    assert!(!stderr.contains("verdict from"), "{stderr}");

    // E trusts A, but runs with another locale: another key, so A's verdict does not apply.
    let e = clone_of(&a);
    e.git(&["config", "hookgate.trust", "a@example.org"]);
    e.hookgate(&["verdicts", "pull"]);
    e.env_mut("LANG", "xx_XX.UTF-8");
    let (v, stderr) = run_json(&e, &["ok"]);
    assert!(!cached(&v, "ok"), "{v}\n{stderr}");
    assert!(
        stderr.contains("key differs from the one computed here (inputs that differ: host_env)"),
        "{stderr}"
    );

    // C trusts a@example.org for everything (its own git config): nothing runs.
    let c = clone_of(&a);
    c.git(&["config", "hookgate.trust", "a@example.org"]);
    c.hookgate(&["verdicts", "pull"]);
    let (v, stderr) = run_json(&c, &[]);
    assert!(cached(&v, "ok") && cached(&v, "other"), "{v}\n{stderr}");

    // D has no policy at all (no default branch fetched with signers, no trust): runs everything.
    let d = clone_of(&a);
    d.git(&["update-ref", "-d", "refs/remotes/origin/HEAD"]);
    d.git(&["update-ref", "-d", "refs/remotes/origin/main"]);
    d.hookgate(&["verdicts", "pull"]);
    let (v, stderr) = run_json(&d, &[]);
    assert!(!cached(&v, "ok") && !cached(&v, "other"), "{v}\n{stderr}");
    // A release relies on no one's verdict but its own clone's.
    let out = c.hookgate(&["verdicts", "export"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).trim().is_empty(), "re-exported someone else's verdicts");
}

#[test]
fn planted_tampered_or_foreign_verdicts_are_ignored_with_a_reason() {
    let (a, a_key, _allowed, tree) = teammate_a();
    let genuine = note_lines(&a, &a.remote, &tree);
    let b = clone_of(&a);
    b.git(&["config", "hookgate.trust", "a@example.org"]);
    let (m_key, _) = keygen(&b, "id_mallory", "mallory@example.org");
    let (payload, signature) = envelope(&genuine[0]);
    let check = if payload.contains("\"check\":\"ok\"") { "ok" } else { "other" };

    // A compromised remote (or anyone who can write the notes) edits a statement, or signs
    // A's statement with another key: the signature no longer holds.
    let flipped =
        payload.replace("\"PASSED\"", "\"FAILED\"").replace("\"status\":\"pass\"", "\"status\":\"fail\"");
    assert_ne!(flipped, payload);
    let resigned = openssh_sign(&b, &m_key, &payload);
    set_note(
        &b,
        &tree,
        &[make_envelope(&flipped, &signature), make_envelope(&payload, &resigned), "not json".into()],
    );
    let (v, stderr) = run_json(&b, &[check]);
    assert!(!cached(&v, check), "{v}\n{stderr}");
    assert!(stderr.contains("the signature does not verify"), "{stderr}");
    assert!(
        stderr.contains("signed by a key that no allowed_signers file lists for `a@example.org`"),
        "{stderr}"
    );
    assert!(stderr.contains("not a signed statement"), "{stderr}");

    // OpenSSH's own signature of A's statement, made with A's key, is as good as hookgate's.
    std::fs::remove_dir_all(b.work.join(".git/hookgate/verdicts")).unwrap();
    let by_openssh = openssh_sign(&b, &a_key, &payload);
    set_note(&b, &tree, &[make_envelope(&payload, &by_openssh)]);
    let (v, stderr) = run_json(&b, &[check]);
    assert!(cached(&v, check), "{v}\n{stderr}");
    assert!(stderr.contains(&format!("{check}: verdict from a@example.org")), "{stderr}");

    // A pull request adds Mallory to its own tree's allowed_signers and plants a PASS she
    // signed: the trusted signers come from `main` as fetched, never from the tree under test.
    b.git(&["checkout", "-q", "-b", "pr"]);
    let (_, m_allowed) = keygen(&b, "id_mallory2", "mallory@example.org");
    b.write(
        ".hookgate/allowed_signers",
        &format!("{}{m_allowed}", std::fs::read_to_string(b.work.join(".hookgate/allowed_signers")).unwrap()),
    );
    b.write("src/sample_pkg/planted.py", "\"\"\"Planted.\"\"\"\n");
    b.commit_config(&SHARED.replace("team-checks = [\"ok\"]", "team-checks = [\"ok\", \"other\"]"));
    let pr_tree = b.git(&["rev-parse", "HEAD^{tree}"]);
    sign_as(&b, &b.home.join("id_mallory2"), "mallory@example.org");
    run_json(&b, &[]);
    let out = b.hookgate(&["verdicts", "export", "--sign"]);
    assert!(out.status.success(), "{}", text(&out));
    let planted: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect();
    assert_eq!(planted.len(), 2, "{planted:?}");
    std::fs::remove_dir_all(b.work.join(".git/hookgate/verdicts")).unwrap();
    set_note(&b, &pr_tree, &planted);
    let (v, stderr) = run_json(&b, &[]);
    assert!(!cached(&v, "ok") && !cached(&v, "other"), "{v}\n{stderr}");
    assert!(stderr.contains("no allowed_signers file lists for `mallory@example.org`"), "{stderr}");
}

#[test]
fn without_a_key_nothing_is_shared_and_two_pushers_at_once_lose_nothing() {
    let (a, _key, _allowed, first) = teammate_a();
    let b = clone_of(&a);
    let out = b.hookgate(&["verdicts", "push"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("no signing key"), "{}", text(&out));
    let (b_key, _) = keygen(&b, "id_b", "b@example.org");
    sign_as(&b, &b_key, "b@example.org");
    // Each clone checks a tree of its own, then both push their verdicts at the same time.
    for (ctx, file) in [(&a, "a.txt"), (&b, "b.txt")] {
        ctx.write(file, file);
        ctx.git(&["add", "-A"]);
        ctx.git(&["commit", "-q", "-m", file]);
        run_json(ctx, &[]);
    }
    let trees = [a.git(&["rev-parse", "HEAD^{tree}"]), b.git(&["rev-parse", "HEAD^{tree}"])];
    let pushes: Vec<_> = [&a, &b]
        .iter()
        .map(|ctx| {
            let mut cmd = ctx.hookgate_cmd(&["verdicts", "push"]);
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
        })
        .collect();
    for child in pushes {
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", text(&o));
    }
    for tree in [&first, &trees[0], &trees[1]] {
        assert_eq!(note_lines(&a, &a.remote, tree).len(), 2, "verdicts of {tree} lost");
    }
}

/// An `ssh-agent` started for one test, ended (by its pid) when dropped.
struct Agent {
    child: std::process::Child,
    sock: PathBuf,
}

impl Agent {
    fn start(ctx: &TestContext) -> Agent {
        let sock = ctx.tmp.join("agent.sock");
        let child = Command::new("ssh-agent")
            .args(["-D", "-a"])
            .arg(&sock)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ssh-agent is installed (openssh-client)");
        crate::common::wait_for_file(&sock);
        // The socket exists once bound, and answers once the agent listens.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::os::unix::net::UnixStream::connect(&sock).is_err() {
            assert!(std::time::Instant::now() < deadline, "ssh-agent did not listen on {}", sock.display());
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        Agent { child, sock }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

#[test]
fn a_key_behind_a_passphrase_signs_through_ssh_agent_as_git_does() {
    let a = TestContext::new("clean");
    a.commit_config(SHARED);
    let key = a.home.join("id_locked");
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "correct horse", "-C", "a@example.org", "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let agent = Agent::start(&a);
    let askpass = a.tmp.join("askpass.sh");
    std::fs::write(&askpass, "#!/bin/sh\necho 'correct horse'\n").unwrap();
    std::fs::set_permissions(&askpass, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = Command::new("ssh-add")
        .arg(&key)
        .env("SSH_AUTH_SOCK", &agent.sock)
        .env("SSH_ASKPASS", &askpass)
        .env("SSH_ASKPASS_REQUIRE", "force")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    // As git's user.signingKey: the public half, the private one in the agent.
    a.git(&["config", "gpg.format", "ssh"]);
    a.git(&["config", "user.signingKey", key.with_extension("pub").to_str().unwrap()]);
    a.git(&["config", "user.email", "a@example.org"]);
    a.env_mut("SSH_AUTH_SOCK", agent.sock.to_str().unwrap());
    run_json(&a, &[]);
    let out = a.hookgate(&["verdicts", "push"]);
    assert!(out.status.success(), "{}", text(&out));
    let tree = a.git(&["rev-parse", "HEAD^{tree}"]);
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let allowed =
        format!("a@example.org {}\n", public.split_whitespace().take(2).collect::<Vec<_>>().join(" "));
    let lines = note_lines(&a, &a.remote, &tree);
    assert_eq!(lines.len(), 2, "{lines:?}");
    for line in &lines {
        let (payload, signature) = envelope(line);
        assert!(openssh_verifies(&a, &allowed, "a@example.org", &payload, &signature), "{payload}");
    }
    // Without the agent, the locked key cannot sign: nothing is pushed, and the error says why.
    drop(agent);
    a.write("c.txt", "c");
    a.git(&["add", "-A"]);
    a.git(&["commit", "-q", "-m", "c"]);
    run_json(&a, &[]);
    let out = a.hookgate(&["verdicts", "push"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("ssh-keygen -Y sign"), "{}", text(&out));
}

#[test]
fn a_verdict_whose_key_holds_a_secret_is_never_exported() {
    let ctx = TestContext::new("clean");
    ctx.commit_config(
        "defaults = false\n\n[checks.plain]\nrun = [\"python\", \"-c\", \"print(1)\"]\n\n\
         [checks.tok]\nrun = [\"python\", \"-c\", \"print(2)\"]\nenv = [\"API_TOKEN\"]\n",
    );
    ctx.env_mut("API_TOKEN", "s3cret");
    ctx.env_mut("HOOKGATE_ALLOW_ENV", "API_TOKEN");
    run_json(&ctx, &[]);
    let out = ctx.hookgate(&["verdicts", "export"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let checks: Vec<String> = stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|s| s["predicate"]["configuration"][0]["annotations"]["check"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(checks, ["plain"], "{stdout}");
    assert!(!stdout.contains("s3cret"));
    assert!(text(&out).contains("tok: not shared: its key holds a secret's salted hash"), "{}", text(&out));
}

#[test]
fn a_passing_push_publishes_its_verdicts_in_the_background_once_a_key_is_configured() {
    let a = TestContext::new("clean");
    a.commit_config(&SHARED.replace("[checks.ok]", "[checks.ok]\nstages = [\"pre-push\"]"));
    a.install();
    // No key: the push shares nothing.
    let out = a.git_out(&["push", "-q", "origin", "main"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("publishing"), "{}", text(&out));
    let (key, allowed) = keygen(&a, "id_a", "a@example.org");
    sign_as(&a, &key, "a@example.org");
    a.write("more.txt", "more");
    a.git(&["add", "-A"]);
    a.git(&["commit", "-q", "-m", "more"]);
    let out = a.git_out(&["push", "-q", "origin", "main"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("publishing the verdicts of"), "{}", text(&out));
    // The background publisher's note reaches the remote; the hook did not wait for it.
    let tree = a.git(&["rev-parse", "HEAD^{tree}"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let lines = loop {
        let out =
            a.git_out(&["--git-dir", a.remote.to_str().unwrap(), "notes", "--ref=hookgate", "show", &tree]);
        if out.status.success() {
            break String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect::<Vec<_>>();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no verdicts published; background.log:\n{}",
            std::fs::read_to_string(a.work.join(".git/hookgate/background.log")).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(!lines.is_empty());
    for line in &lines {
        let (payload, signature) = envelope(line);
        assert!(openssh_verifies(&a, &allowed, "a@example.org", &payload, &signature), "{payload}");
    }
}

/// Waits (polling, up to two minutes) until `ctx`'s clone has `refs/notes/hookgate`: the
/// detached `verdicts pull` a hook started has finished.
fn wait_for_notes(ctx: &TestContext) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !ctx.git_out(&["rev-parse", "--verify", "--quiet", "refs/notes/hookgate"]).status.success() {
        let log = std::fs::read_to_string(ctx.work.join(".git/hookgate/background.log")).unwrap_or_default();
        assert!(Instant::now() < deadline, "the background pull never brought the notes:\n{log}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn checkouts_and_pulls_fetch_the_shared_verdicts_in_the_background_once_sharing_is_set_up() {
    let (a, _key, _allowed, tree) = teammate_a();
    let b = clone_of(&a);
    b.install();
    // On CI with no key and no one trusted (the default branch names no ci-signers), a
    // checkout pulls nothing.
    b.env_mut("CI", "true");
    let out = b.git_out(&["checkout", "-q", "-b", "topic"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("pulling the shared verdicts"), "{}", text(&out));
    // Trusting someone: the next branch checkout pulls, detached; a checkout of files does not.
    b.git(&["config", "hookgate.trust", "a@example.org"]);
    let out = b.git_out(&["checkout", "-q", "HEAD", "--", "README.md"]);
    assert!(!text(&out).contains("pulling the shared verdicts"), "{}", text(&out));
    let out = b.git_out(&["checkout", "-q", "main"]);
    assert!(text(&out).contains("pulling the shared verdicts in the background"), "{}", text(&out));
    wait_for_notes(&b);
    assert_eq!(note_lines(&b, &b.work.join(".git"), &tree).len(), 2);
    // The run itself fetched nothing: it answers from the notes the hook brought.
    let (v, stderr) = run_json(&b, &[]);
    assert!(cached(&v, "ok") && cached(&v, "other"), "{v}\n{stderr}");
    assert_eq!(checks(&v)["ok"]["source"], "a@example.org", "{v}");

    // `git pull` (post-merge) in a clone whose signing key is set up.
    let c = clone_of(&a);
    c.install();
    let (c_key, _) = keygen(&c, "id_c", "c@example.org");
    sign_as(&c, &c_key, "c@example.org");
    a.write("NEWS.md", "news\n");
    a.git(&["add", "NEWS.md"]);
    a.git(&["commit", "-q", "--no-verify", "-m", "news"]);
    a.git(&["push", "-q", "--no-verify", "origin", "main"]);
    assert!(!c.git_out(&["rev-parse", "--verify", "--quiet", "refs/notes/hookgate"]).status.success());
    let out = c.git_out(&["pull", "-q", "--ff-only", "origin", "main"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("pulling the shared verdicts in the background"), "{}", text(&out));
    wait_for_notes(&c);
}

#[test]
fn signing_a_file_of_statements_refuses_anything_hookgate_did_not_make() {
    let ctx = TestContext::new("clean");
    let (key, _) = keygen(&ctx, "id_ci", "ci@example.org");
    sign_as(&ctx, &key, "ci@example.org");
    let file = ctx.tmp.join("statements.jsonl");
    for (content, why) in [
        ("not json\n", "not a statement hookgate made"),
        (r#"{"_type": "https://in-toto.io/Statement/v1"}"#, "not a test result"),
    ] {
        std::fs::write(&file, content).unwrap();
        let out = ctx.hookgate(&["verdicts", "push", "--statements", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(text(&out).contains(why) && text(&out).contains("statements.jsonl:1"), "{}", text(&out));
    }
    assert!(ctx.git_out(&["rev-parse", "--verify", "--quiet", "refs/notes/hookgate"]).stdout.is_empty());
}

#[test]
fn cache_gc_drops_old_shared_verdicts_of_trees_no_remote_branch_has() {
    let (a, _key, _allowed, tree) = teammate_a();
    let genuine = note_lines(&a, &a.work.join(".git"), &tree);
    // Two trees no branch has: one noted with lines that are no statements (no date: old),
    // one with statements issued just now.
    let stray_tree = |content: &str| {
        a.write("stray.txt", content);
        a.git(&["add", "stray.txt"]);
        let t = a.git(&["write-tree"]);
        a.git(&["reset", "-q"]);
        t
    };
    let (old, fresh) = (stray_tree("old\n"), stray_tree("fresh\n"));
    set_note(&a, &old, &["junk".into()]);
    set_note(&a, &fresh, &genuine);
    let noted = |t: &str| a.git_out(&["notes", "--ref=hookgate", "show", t]).status.success();
    // `--max-age 0` drops every environment built once in the user's cache: a cache of this
    // test's own, or it would pull them from under the checks of the tests running beside it.
    a.env_mut("XDG_CACHE_HOME", a.tmp.join("xdg-cache").to_str().unwrap());
    let gc = |args: &[&str]| {
        let mut all = vec!["cache", "gc"];
        all.extend_from_slice(args);
        let out = a.hookgate(&all);
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let shown = gc(&["--dry-run"]);
    assert!(shown.contains("would drop the shared verdicts of 1 tree(s)"), "{shown}");
    assert!(noted(&old) && noted(&fresh));
    let shown = gc(&[]);
    assert!(shown.contains("dropped the shared verdicts of 1 tree(s)"), "{shown}");
    assert!(!noted(&old) && noted(&fresh) && noted(&tree));
    // Older than 0 days is everything; the tree of the remote's main keeps its verdicts.
    gc(&["--max-age", "0"]);
    assert!(!noted(&fresh) && noted(&tree));
}

/// A package index on loopback that knows no project: every version is free.
const EMPTY_INDEX: &str = r#"
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(404); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"#;

/// The checks of the standard suite that run on the `clean` fixture (the docs build is not
/// under test here: skipped).
const SUITE: [&str; 6] = ["lint", "format", "wheel", "test", "coverage", "version"];

/// The checks of a report that were not skipped, and every one's `(status, cached, source)`.
fn verdicts(v: &Value) -> BTreeMap<String, (String, bool, String)> {
    checks(v)
        .into_iter()
        .filter(|(_, c)| c["status"] != "skipped")
        .map(|(name, c)| {
            let status = c["status"].as_str().unwrap().to_string();
            let source = c["source"].as_str().unwrap_or_default().to_string();
            (name, (status, c["cached"].as_bool().unwrap(), source))
        })
        .collect()
}

/// The logs in `ctx`'s store, by file name.
fn logs(ctx: &TestContext) -> BTreeMap<String, String> {
    let dir = ctx.work.join(".git/hookgate/logs");
    std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "log"))
                .map(|p| {
                    let text = std::fs::read_to_string(&p).unwrap();
                    (p.file_name().unwrap().to_string_lossy().into_owned(), text)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_teammates_gate_answers_the_whole_suite_and_a_check_that_reads_its_files_rebuilds_them() {
    let port = crate::common::free_port();
    let mut index = Command::new("python3");
    index.args(["-c", EMPTY_INDEX, &port.to_string()]);
    let index = crate::common::Server::start(index, port);
    // A: the team's keys on `main`; the gate passes, and A pushes its signed verdicts.
    let a = TestContext::new("clean");
    let (a_key, allowed) = keygen(&a, "id_a", "a@example.org");
    a.write(".hookgate/allowed_signers", &allowed);
    a.commit_config(&format!("[checks.version]\nindex-url = \"{}/simple/\"\n", index.url));
    a.git(&["push", "-q", "origin", "main"]);
    a.env_mut("HOOKGATE_SKIP", "docs");
    let (v, stderr) = run_json(&a, &["--all"]);
    let ran = verdicts(&v);
    let mut suite = SUITE.to_vec();
    suite.sort_unstable();
    assert_eq!(ran.keys().map(String::as_str).collect::<Vec<_>>(), suite, "{v}");
    for (name, (status, cached, source)) in &ran {
        assert_eq!(
            (status.as_str(), *cached, source.as_str()),
            ("pass", false, "local"),
            "{name}: {v}\n{stderr}"
        );
    }
    sign_as(&a, &a_key, "a@example.org");
    let out = a.hookgate(&["verdicts", "push"]);
    assert!(out.status.success(), "{}", text(&out));
    let tree = a.git(&["rev-parse", "HEAD^{tree}"]);
    assert_eq!(note_lines(&a, &a.remote, &tree).len(), SUITE.len());

    // B, with a key of its own, trusts A: the same tree runs nothing, and names A everywhere.
    let b = clone_of(&a);
    b.env_mut("HOOKGATE_SKIP", "docs");
    b.env_mut("CI", "");
    let (b_key, _) = keygen(&b, "id_b", "b@example.org");
    sign_as(&b, &b_key, "b@example.org");
    b.git(&["config", "hookgate.trust", "a@example.org"]);
    let out = b.hookgate(&["verdicts", "pull"]);
    assert!(out.status.success(), "{}", text(&out));
    let (v, stderr) = run_json(&b, &["--all"]);
    let answered = verdicts(&v);
    assert_eq!(answered.len(), SUITE.len(), "{v}");
    for (name, (status, cached, source)) in &answered {
        assert_eq!(
            (status.as_str(), *cached, source.as_str()),
            ("pass", true, "a@example.org"),
            "{name}: {v}\n{stderr}"
        );
        assert!(stderr.contains(&format!("{name}: verdict from a@example.org")), "{stderr}");
    }
    // Nothing ran: every log in B's store is the statement a verdict was taken from, no check
    // kept a file, and there are no dists to list.
    let taken = logs(&b);
    assert_eq!(taken.len(), SUITE.len(), "{taken:?}");
    assert!(taken.values().all(|l| l.starts_with("hookgate: verdict `pass` of ")), "{taken:?}");
    assert!(!b.work.join(".git/hookgate/artifacts").exists());
    assert_eq!(v["dists"], serde_json::json!([]), "{v}");

    // B loses `version`'s statement (a remote may withhold notes) and its pass of `version`
    // goes out of date (its ttl): `version` asks the index again, and it reads the wheel, whose
    // dists B never had: `wheel` runs again here; `test` and `coverage` keep A's verdicts.
    let without = |ctx: &TestContext, check: &str| {
        let kept: Vec<String> = note_lines(ctx, &ctx.work.join(".git"), &tree)
            .into_iter()
            .filter(|l| !envelope(l).0.contains(&format!("\"check\":\"{check}\"")))
            .collect();
        assert_eq!(kept.len(), SUITE.len() - 1);
        set_note(ctx, &tree, &kept);
    };
    without(&b, "version");
    let version_key = checks(&v)["version"]["key"].as_str().unwrap().to_string();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    b.edit_record(&version_key, |r| r["finished_at"] = (now - 7200).into());
    let (v, stderr) = run_json(&b, &["--all"]);
    for (name, (status, cached, source)) in &verdicts(&v) {
        let expected = match name.as_str() {
            "wheel" | "version" => ("pass", false, "local"),
            _ => ("pass", true, "a@example.org"),
        };
        assert_eq!((status.as_str(), *cached, source.as_str()), expected, "{name}: {v}\n{stderr}");
    }
    let wheel_log = crate::common::log_of(&v, "wheel");
    assert!(wheel_log.contains("check-wheel-contents"), "{wheel_log}");
    assert!(crate::common::log_of(&v, "version").contains("0.1.0 is free"), "{v}");
    assert_eq!(v["dists"].as_array().map(Vec::len), Some(2), "{v}");

    // D trusts A, but has no statement for `coverage`: coverage runs and reads `test`'s coverage
    // data, so A's `test` is not taken, nor its `wheel` (the test installs the dists).
    let d = clone_of(&a);
    d.env_mut("HOOKGATE_SKIP", "docs");
    d.git(&["config", "hookgate.trust", "a@example.org"]);
    d.hookgate(&["verdicts", "pull"]);
    without(&d, "coverage");
    let (v, stderr) = run_json(&d, &["--all"]);
    for (name, (status, cached, source)) in &verdicts(&v) {
        let expected = match name.as_str() {
            "wheel" | "test" | "coverage" => ("pass", false, "local"),
            _ => ("pass", true, "a@example.org"),
        };
        assert_eq!((status.as_str(), *cached, source.as_str()), expected, "{name}: {v}\n{stderr}");
    }
    for (check, reader) in [("test", "coverage"), ("wheel", "test")] {
        let why = format!(
            "{check}: not taking the verdict from a@example.org: `{reader}` runs here and reads the files it keeps"
        );
        assert!(stderr.contains(&why), "{stderr}");
    }

    // `run wheel --json` lists the dists (CI's build job uploads them): E trusts A, and
    // builds them anyway.
    let e = clone_of(&a);
    e.git(&["config", "hookgate.trust", "a@example.org"]);
    e.hookgate(&["verdicts", "pull"]);
    let (v, stderr) = run_json(&e, &["wheel"]);
    assert_eq!(verdicts(&v)["wheel"], ("pass".to_string(), false, "local".to_string()), "{v}\n{stderr}");
    assert!(
        stderr.contains("wheel: not taking the verdict from a@example.org: this command uses"),
        "{stderr}"
    );
    assert_eq!(v["dists"].as_array().map(Vec::len), Some(2), "{v}");

    // C trusts no one (on CI, no teammate is trusted): it runs everything itself.
    let c = clone_of(&a);
    c.env_mut("HOOKGATE_SKIP", "docs");
    c.env_mut("CI", "true");
    c.hookgate(&["verdicts", "pull"]);
    let (v, stderr) = run_json(&c, &["--all"]);
    assert_eq!(verdicts(&v), ran, "{v}\n{stderr}");
    assert!(!stderr.contains("verdict from"), "{stderr}");
}

#[test]
fn ecdsa_and_rsa_keys_sign_and_verify() {
    let a = TestContext::new("clean");
    let kinds: [(&str, &[&str]); 4] = [
        ("p256", &["-t", "ecdsa", "-b", "256"]),
        ("p384", &["-t", "ecdsa", "-b", "384"]),
        ("p521", &["-t", "ecdsa", "-b", "521"]),
        ("rsa", &["-t", "rsa", "-b", "2048"]),
    ];
    // One principal per key type, every one listed on `main` and trusted by B.
    let mut allowed = String::new();
    let mut keys = Vec::new();
    for (name, kind) in kinds {
        let principal = format!("{name}@example.org");
        let mut made = keygen_of(&a, kind, &format!("id_{name}"), &principal);
        // A P-521 key whose scalar starts with a zero byte is one the `ssh-key` crate cannot
        // read: hookgate signs with it through ssh-keygen. Take such a key when one comes.
        for _ in 0..16 {
            if name != "p521" || ssh_key::PrivateKey::read_openssh_file(&made.0).is_err() {
                break;
            }
            std::fs::remove_file(&made.0).unwrap();
            std::fs::remove_file(made.0.with_extension("pub")).unwrap();
            made = keygen_of(&a, kind, &format!("id_{name}"), &principal);
        }
        let (key, line) = made;
        allowed.push_str(&line);
        keys.push((name, principal, key));
    }
    a.write(".hookgate/allowed_signers", &allowed);
    a.commit_config(SHARED);
    a.git(&["push", "-q", "origin", "main"]);
    run_json(&a, &[]);
    let tree = a.git(&["rev-parse", "HEAD^{tree}"]);
    let b = clone_of(&a);
    for (_, principal, _) in &keys {
        b.git(&["config", "--add", "hookgate.trust", principal]);
    }
    for (name, principal, key) in &keys {
        // hookgate signs (ECDSA in process, RSA through ssh-keygen); OpenSSH verifies, and so
        // does hookgate, in process.
        sign_as(&a, key, principal);
        let out = a.hookgate(&["verdicts", "export", "--sign"]);
        assert!(out.status.success(), "{name}: {}", text(&out));
        let lines: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        for line in &lines {
            let (payload, signature) = envelope(line);
            assert!(openssh_verifies(&a, &allowed, principal, &payload, &signature), "{name}: {payload}");
        }
        // hookgate verifies hookgate's signature of one statement and OpenSSH's of the other.
        let (payload, _) = envelope(&lines[1]);
        let by_openssh = make_envelope(&payload, &openssh_sign(&a, key, &payload));
        std::fs::remove_dir_all(b.work.join(".git/hookgate/verdicts")).ok();
        set_note(&b, &tree, &[lines[0].clone(), by_openssh]);
        let (v, stderr) = run_json(&b, &[]);
        for check in ["ok", "other"] {
            assert_eq!(checks(&v)[check]["source"], principal.as_str(), "{name}: {v}\n{stderr}");
        }
    }
}
