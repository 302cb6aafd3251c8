//! The generated workflow, executed: a small runner reads `.github/workflows/hookgate.yml`
//! and runs its jobs in `needs` order as GitHub would for an event, each in a fresh workspace
//! with the `GITHUB_*` variables set and each `run:` step under `bash -eo pipefail`.
//! `actions/checkout` is a clone of a bare "GitHub" repository on disk, upload/download-artifact
//! a directory, `pypa/gh-action-pypi-publish` a `twine upload` to pypiserver on 127.0.0.1
//! (one server standing for TestPyPI, one for PyPI), and the "Install hookgate" step puts the
//! binary under test on PATH (through a wrapper that records which job ran it). The release
//! of a static version goes PR -> TestPyPI, main -> tag, tag -> PyPI, and the bytes uploaded
//! are the bytes the check job tested.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use yaml_rust2::Yaml;

use crate::common::{BIN, Server, TestContext, test_tools, text};

/// An event, as the contexts a job's expressions read.
#[derive(Clone)]
struct Event {
    /// `github.*` values (`event_name`, `ref`, `sha`, `repository`, ...).
    github: BTreeMap<String, String>,
}

/// The world the workflow runs in.
struct Runner<'a> {
    ctx: &'a TestContext,
    doc: Yaml,
    /// `file://.../gh`: `$GITHUB_SERVER_URL/$GITHUB_REPOSITORY.git` is the bare repository.
    server_url: String,
    repository: String,
    root: PathBuf,
    /// Where hookgate's wrapper and the tool shims live (first on PATH).
    bin: PathBuf,
    testpypi: &'a Server,
    pypi: &'a Server,
    /// `HOOKGATE_SKIP` of the run steps (a repository variable, in real CI).
    skip: &'static str,
    /// The repository's secrets (`secrets.NAME`).
    secrets: BTreeMap<String, String>,
}

/// What one run of the workflow did.
#[derive(Default)]
struct RunRecord {
    /// Jobs that ran, in order.
    jobs: Vec<String>,
    /// Per job: the files `twine upload` sent, as (file, sha256), and to which server.
    uploads: BTreeMap<String, (String, Vec<(String, String)>)>,
    /// Per job: the dists the `wheel` check of that job judged (its artifacts), (file, sha256).
    tested: BTreeMap<String, Vec<(String, String)>>,
    /// Jobs that ran hookgate.
    ran_hookgate: Vec<String>,
    /// Jobs that failed, with the failing step's name and output.
    failed: BTreeMap<String, (String, String)>,
    /// Per job: the output of its `run:` steps.
    output: BTreeMap<String, String>,
}

fn sha256(path: &Path) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(std::fs::read(path).unwrap()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The files of `dir` that are dists, as (file, sha256), sorted.
fn dists_in(dir: &Path) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            n.ends_with(".whl") || n.ends_with(".tar.gz")
        })
        .map(|p| (p.file_name().unwrap().to_string_lossy().to_string(), sha256(&p)))
        .collect();
    v.sort();
    v
}

impl Runner<'_> {
    /// Evaluates a `${{ }}`-free expression: `a || b`, `a && b`, `x == y`, `startsWith(x, 'y')`,
    /// `always()`, literals and context paths (unknown paths are empty, as on GitHub).
    fn eval(&self, expr: &str, ctx: &BTreeMap<String, String>) -> String {
        let expr = expr.trim();
        if let Some(inner) = expr.strip_prefix('(').and_then(|r| r.strip_suffix(')'))
            && split_top(expr, "||").is_none()
            && split_top(expr, "&&").is_none()
            && split_top(inner, ")").is_none()
        {
            return self.eval(inner, ctx);
        }
        if let Some(parts) = split_top(expr, "||") {
            return parts.iter().map(|p| self.eval(p, ctx)).find(|v| !v.is_empty()).unwrap_or_default();
        }
        if let Some(parts) = split_top(expr, "&&") {
            let all = parts.iter().all(|p| truthy(&self.eval(p, ctx)));
            return if all { "true".into() } else { String::new() };
        }
        if let Some(parts) = split_top(expr, "==") {
            let (a, b) = (self.eval(&parts[0], ctx), self.eval(&parts[1], ctx));
            return if a == b { "true".into() } else { String::new() };
        }
        if expr == "always()" {
            return "true".into();
        }
        if let Some(args) = expr.strip_prefix("startsWith(").and_then(|r| r.strip_suffix(')')) {
            let (a, b) = args.split_once(',').unwrap();
            return if self.eval(a, ctx).starts_with(&self.eval(b, ctx)) {
                "true".into()
            } else {
                String::new()
            };
        }
        if let Some(lit) = expr.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
            return lit.to_string();
        }
        ctx.get(expr).cloned().unwrap_or_default()
    }

    /// A value with `${{ ... }}` parts substituted.
    fn subst(&self, value: &str, ctx: &BTreeMap<String, String>) -> String {
        let mut out = String::new();
        let mut rest = value;
        while let Some(start) = rest.find("${{") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find("}}").unwrap() + start;
            out.push_str(&self.eval(&rest[start + 3..end], ctx));
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        out
    }

    /// Whether an `if:` holds (absent: it does, when every need succeeded).
    fn holds(&self, cond: &Yaml, ctx: &BTreeMap<String, String>) -> bool {
        match cond.as_str() {
            None => true,
            Some(c) => truthy(&self.eval(c.trim().trim_start_matches("${{").trim_end_matches("}}"), ctx)),
        }
    }

    /// [`Runner::run`], asserting that no job failed.
    fn run_ok(&self, event: &Event) -> RunRecord {
        let record = self.run(event);
        assert!(record.failed.is_empty(), "failed jobs: {:#?}", record.failed);
        record
    }

    /// Runs every job of the workflow `event` starts, in `needs` order; a job whose needs did
    /// not all succeed is skipped, as is one whose `if:` is false.
    fn run(&self, event: &Event) -> RunRecord {
        let jobs = self.doc["jobs"].as_hash().unwrap();
        let mut record = RunRecord::default();
        let mut done: BTreeMap<String, Option<BTreeMap<String, String>>> = BTreeMap::new();
        while done.len() < jobs.len() {
            for (name, job) in jobs {
                let name = name.as_str().unwrap().to_string();
                if done.contains_key(&name) {
                    continue;
                }
                let needs: Vec<String> = match &job["needs"] {
                    Yaml::String(s) => vec![s.clone()],
                    Yaml::Array(a) => a.iter().map(|n| n.as_str().unwrap().to_string()).collect(),
                    _ => Vec::new(),
                };
                if !needs.iter().all(|n| done.contains_key(n)) {
                    continue;
                }
                let mut ctx: BTreeMap<String, String> =
                    event.github.iter().map(|(k, v)| (format!("github.{k}"), v.clone())).collect();
                ctx_insert(&mut ctx, "github.server_url", &self.server_url);
                for (k, v) in &self.secrets {
                    ctx_insert(&mut ctx, &format!("secrets.{k}"), v);
                }
                for n in &needs {
                    for (k, v) in done[n].iter().flatten() {
                        ctx_insert(&mut ctx, &format!("needs.{n}.outputs.{k}"), v);
                    }
                }
                if let Some(first) =
                    job["strategy"]["matrix"]["python-version"].as_vec().and_then(|v| v.first())
                {
                    ctx_insert(&mut ctx, "matrix.python-version", first.as_str().unwrap());
                }
                let needs_ok = needs.iter().all(|n| done[n].is_some());
                if !needs_ok || !self.holds(&job["if"], &ctx) {
                    done.insert(name, None);
                    continue;
                }
                record.jobs.push(name.clone());
                let outputs = self.run_job(&name, job, ctx, &mut record);
                done.insert(name, outputs);
            }
        }
        record
    }

    /// One job in a fresh workspace; returns its outputs.
    fn run_job(
        &self,
        name: &str,
        job: &Yaml,
        mut ctx: BTreeMap<String, String>,
        record: &mut RunRecord,
    ) -> Option<BTreeMap<String, String>> {
        let runner = tempfile::tempdir_in(&self.root).unwrap();
        let ws = runner.path().join("ws");
        std::fs::create_dir_all(&ws).unwrap();
        let artifacts = self.root.join("artifacts").join(&ctx["github.run_id"]);
        let hookgate_log = runner.path().join("hookgate-runs");
        for step in job["steps"].as_vec().unwrap() {
            if !self.holds(&step["if"], &ctx) {
                continue;
            }
            let with = |key: &str| step["with"][key].as_str().map(|v| self.subst(v, &ctx));
            let step_name = step["name"].as_str().unwrap_or_default();
            match step["uses"].as_str() {
                Some(u) if u.starts_with("actions/checkout@") => {
                    let url = format!("{}/{}.git", self.server_url, self.repository);
                    let out = Command::new("git").args(["clone", "-q", &url]).arg(&ws).output().unwrap();
                    assert!(out.status.success(), "checkout: {}", text(&out));
                    self.git(&ws, &["checkout", "-q", &ctx["github.sha"]]);
                }
                Some(u) if u.starts_with("actions/setup-python@") => {} // the host's CPython
                Some(u) if u.starts_with("actions/upload-artifact@") => {
                    let to = artifacts.join(with("name").unwrap());
                    std::fs::create_dir_all(&to).unwrap();
                    for line in with("path").unwrap().lines().filter(|l| !l.trim().is_empty()) {
                        let from = ws.join(line.trim());
                        if from.is_dir() {
                            crate::common::copy_dir(&from, &to);
                        } else if from.is_file() {
                            std::fs::copy(&from, to.join(from.file_name().unwrap())).unwrap();
                        }
                    }
                }
                Some(u) if u.starts_with("actions/download-artifact@") => {
                    let to = ws.join(with("path").unwrap());
                    if let Some(pattern) = with("pattern") {
                        // `prefix-*` with merge-multiple: every matching artifact, into one directory.
                        assert_eq!(step["with"]["merge-multiple"].as_bool(), Some(true), "{name}");
                        let prefix = pattern.strip_suffix('*').unwrap();
                        std::fs::create_dir_all(&to).unwrap();
                        for dir in std::fs::read_dir(&artifacts).unwrap().flatten() {
                            if dir.file_name().to_string_lossy().starts_with(prefix) {
                                crate::common::copy_dir(&dir.path(), &to);
                            }
                        }
                    } else {
                        crate::common::copy_dir(&artifacts.join(with("name").unwrap()), &to);
                    }
                }
                Some(u) if u.starts_with("pypa/gh-action-pypi-publish@") => {
                    let server = match with("repository-url") {
                        Some(url) if url.contains("test.pypi.org") => self.testpypi,
                        _ => self.pypi,
                    };
                    let dir = ws.join(with("packages-dir").unwrap_or_else(|| "dist".into()));
                    let files = dists_in(&dir);
                    let mut cmd = Command::new(test_tools().join("twine"));
                    cmd.args([
                        "upload",
                        "--non-interactive",
                        "--repository-url",
                        &server.url,
                        "-u",
                        "x",
                        "-p",
                        "x",
                    ]);
                    if with("skip-existing").as_deref() == Some("true") {
                        cmd.arg("--skip-existing");
                    }
                    cmd.args(files.iter().map(|(f, _)| dir.join(f)));
                    let out = cmd.output().unwrap();
                    assert!(out.status.success(), "{name}: twine upload: {}", text(&out));
                    record.uploads.insert(name.to_string(), (server.url.clone(), files));
                }
                Some(other) => panic!("{name}: no local stand-in for {other}"),
                // hookgate and uv come from the host: the binary under test is on PATH.
                None if step_name == "Install hookgate" || step_name == "Install uv" => {}
                None => {
                    let script = step["run"].as_str().unwrap_or_else(|| panic!("{name}: a step without run"));
                    let output = runner.path().join("output");
                    std::fs::write(&output, "").unwrap();
                    let mut cmd = Command::new("bash");
                    cmd.args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script]).current_dir(&ws);
                    self.ctx.apply_env(&mut cmd);
                    let path = format!("{}:{}", self.bin.display(), std::env::var("PATH").unwrap());
                    cmd.env("PATH", path)
                        .env("CI", "true")
                        .env("GITHUB_ACTIONS", "true")
                        .env("GITHUB_WORKSPACE", &ws)
                        .env("GITHUB_OUTPUT", &output)
                        .env("GITHUB_JOB", name)
                        .env("HARNESS_HOOKGATE_LOG", &hookgate_log)
                        .env("RUNNER_TEMP", runner.path())
                        // What a repository would set for CI: the slow checks not under test.
                        .env("HOOKGATE_SKIP", self.skip);
                    for (k, v) in &ctx {
                        if let Some(k) = k.strip_prefix("github.").filter(|k| !k.contains('.')) {
                            cmd.env(format!("GITHUB_{}", k.to_uppercase()), v);
                        }
                    }
                    if let Some(env) = step["env"].as_hash() {
                        for (k, v) in env {
                            cmd.env(k.as_str().unwrap(), self.subst(v.as_str().unwrap_or_default(), &ctx));
                        }
                    }
                    let out = cmd.output().unwrap();
                    record.output.entry(name.to_string()).or_default().push_str(&text(&out));
                    if !out.status.success() {
                        record.failed.insert(name.to_string(), (step_name.to_string(), text(&out)));
                        Self::note_job(name, &ws, &hookgate_log, record);
                        return None;
                    }
                    if let Some(id) = step["id"].as_str() {
                        for line in std::fs::read_to_string(&output).unwrap().lines() {
                            if let Some((k, v)) = line.split_once('=') {
                                ctx_insert(&mut ctx, &format!("steps.{id}.outputs.{k}"), v);
                            }
                        }
                    }
                }
            }
        }
        Self::note_job(name, &ws, &hookgate_log, record);
        let mut outputs = BTreeMap::new();
        if let Some(map) = job["outputs"].as_hash() {
            for (k, v) in map {
                outputs.insert(k.as_str().unwrap().to_string(), self.subst(v.as_str().unwrap(), &ctx));
            }
        }
        Some(outputs)
    }

    /// Records whether the job ran hookgate and which dists its `wheel` check judged.
    fn note_job(name: &str, ws: &Path, hookgate_log: &Path, record: &mut RunRecord) {
        if hookgate_log.exists() {
            record.ran_hookgate.push(name.to_string());
        }
        // What this job's `wheel` check judged: the dists kept as its artifacts.
        let cache = ws.join(".git/hookgate/artifacts");
        if let Ok(keys) = std::fs::read_dir(&cache) {
            for key in keys.flatten() {
                let found = dists_in(&key.path());
                if found.iter().any(|(f, _)| f.ends_with(".whl")) {
                    record.tested.insert(name.to_string(), found);
                }
            }
        }
    }

    fn git(&self, dir: &Path, args: &[&str]) -> String {
        let mut cmd = Command::new("git");
        cmd.args(args).current_dir(dir);
        self.ctx.apply_env(&mut cmd);
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "git {args:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

fn ctx_insert(ctx: &mut BTreeMap<String, String>, k: &str, v: &str) {
    ctx.insert(k.to_string(), v.to_string());
}

/// `a OP b OP c` split at top level (outside quotes and parentheses), or None without `op`.
fn split_top(expr: &str, op: &str) -> Option<Vec<String>> {
    let (mut parts, mut depth, mut quoted, mut start) = (Vec::new(), 0i32, false, 0);
    let bytes = expr.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => quoted = !quoted,
            b'(' if !quoted => depth += 1,
            b')' if !quoted => depth -= 1,
            _ if !quoted && depth == 0 && expr[i..].starts_with(op) => {
                parts.push(expr[start..i].to_string());
                i += op.len();
                start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    if parts.is_empty() {
        return None;
    }
    parts.push(expr[start..].to_string());
    Some(parts)
}

fn truthy(v: &str) -> bool {
    !v.is_empty() && v != "false" && v != "0"
}

/// A wrapper named `hookgate` that records the run and execs the binary under test.
fn hookgate_wrapper(bin: &Path) {
    std::fs::create_dir_all(bin).unwrap();
    let path = bin.join("hookgate");
    std::fs::write(
        &path,
        format!("#!/bin/sh\necho \"$*\" >> \"$HARNESS_HOOKGATE_LOG\"\nexec '{BIN}' \"$@\"\n"),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn event(name: &str, git_ref: &str, sha: &str, repository: &str, run: u32, head_repo: &str) -> Event {
    let mut github = BTreeMap::new();
    for (k, v) in [
        ("event_name", name),
        ("ref", git_ref),
        ("ref_name", git_ref.rsplit('/').next().unwrap()),
        ("sha", sha),
        ("repository", repository),
        ("workflow", "hookgate"),
        ("token", "a-token"),
    ] {
        github.insert(k.to_string(), v.to_string());
    }
    github.insert("run_id".into(), format!("{}", 1000 + run));
    github.insert("run_number".into(), run.to_string());
    if name == "pull_request" {
        github.insert("event.pull_request.number".into(), "1".into());
        github.insert("event.pull_request.head.repo.full_name".into(), head_repo.into());
    }
    Event { github }
}

/// A repository of `fixture` with the generated workflow committed, its "GitHub" (a bare
/// clone) and two package indexes (TestPyPI's and PyPI's stand-ins).
struct World {
    test_packages: tempfile::TempDir,
    pypi_packages: tempfile::TempDir,
    testpypi: Server,
    pypi: Server,
    ctx: TestContext,
    workflow: String,
    root: PathBuf,
    bare: PathBuf,
}

impl World {
    fn new(fixture: &str) -> World {
        World::with(fixture, "", |_| {})
    }

    /// A world whose config ends with `extra` and whose tree `prepare` has written into.
    fn with(fixture: &str, extra: &str, prepare: impl FnOnce(&TestContext)) -> World {
        let (test_packages, pypi_packages) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (testpypi, pypi) =
            (Server::pypiserver(test_packages.path()), Server::pypiserver(pypi_packages.path()));
        let ctx = TestContext::new(fixture);
        prepare(&ctx);
        ctx.commit_config(&format!("[checks.version]\nindex-url = \"{}/simple/\"\n{extra}", pypi.url));
        let out = ctx.hookgate(&["ci", "github"]);
        assert!(out.status.success(), "{}", text(&out));
        ctx.git(&["add", "-A"]);
        ctx.git(&["commit", "-q", "-m", "workflow"]);
        let workflow = std::fs::read_to_string(ctx.work.join(".github/workflows/hookgate.yml")).unwrap();
        // "GitHub": a bare repository at $GITHUB_SERVER_URL/$GITHUB_REPOSITORY.git.
        let root = ctx.home.join("gh-root");
        let bare = root.join("gh/acme/sample.git");
        std::fs::create_dir_all(bare.parent().unwrap()).unwrap();
        ctx.git(&["clone", "-q", "--bare", ctx.work.to_str().unwrap(), bare.to_str().unwrap()]);
        hookgate_wrapper(&root.join("bin"));
        World { test_packages, pypi_packages, testpypi, pypi, ctx, workflow, root, bare }
    }

    fn runner(&self) -> Runner<'_> {
        Runner {
            ctx: &self.ctx,
            doc: yaml_rust2::YamlLoader::load_from_str(&self.workflow).unwrap().remove(0),
            server_url: format!("file://{}", self.root.join("gh").display()),
            repository: "acme/sample".into(),
            root: self.root.clone(),
            bin: self.root.join("bin"),
            testpypi: &self.testpypi,
            pypi: &self.pypi,
            skip: "lint,format,docs,coverage",
            secrets: BTreeMap::new(),
        }
    }
}

#[test]
fn a_static_version_goes_pr_to_testpypi_main_to_tag_tag_to_pypi_with_the_tested_bytes() {
    let world = World::new("clean");
    let (ctx, runner, bare) = (&world.ctx, world.runner(), &world.bare);
    let (testpypi, pypi) = (&world.testpypi, &world.pypi);
    let (test_packages, pypi_packages) = (&world.test_packages, &world.pypi_packages);
    let main_sha = ctx.git(&["rev-parse", "HEAD"]);
    // A pull request from a fork: checked, never published (a fork's run has no OIDC token).
    let fork = runner.run_ok(&event(
        "pull_request",
        "refs/pull/1/merge",
        &main_sha,
        "acme/sample",
        1,
        "someone/sample",
    ));
    assert_eq!(fork.jobs, ["build", "check"]);
    assert!(fork.uploads.is_empty());

    // A pull request from this repository: TestPyPI gets exactly the bytes `check` tested.
    let pr = runner.run_ok(&event(
        "pull_request",
        "refs/pull/1/merge",
        &main_sha,
        "acme/sample",
        2,
        "acme/sample",
    ));
    assert_eq!(pr.jobs, ["build", "check", "publish-testpypi"]);
    let (url, uploaded) = &pr.uploads["publish-testpypi"];
    assert_eq!(url, &testpypi.url);
    assert_eq!(uploaded.len(), 2, "{uploaded:?}");
    assert_eq!(uploaded, &pr.tested["check"], "uploaded bytes are the tested bytes");
    assert_eq!(dists_in(test_packages.path()), *uploaded, "the index holds those bytes");
    // No job holding id-token ran hookgate, let alone a build; the build job built once.
    assert_eq!(pr.ran_hookgate, ["build", "check"]);
    assert!(!pr.tested.contains_key("publish-testpypi"));

    // The push to main: checked, and the final version tagged on the tested commit.
    let main = runner.run_ok(&event("push", "refs/heads/main", &main_sha, "acme/sample", 3, ""));
    assert_eq!(main.jobs, ["build", "check", "tag"]);
    let tagged = runner.git(bare, &["rev-parse", "v0.1.0^{commit}"]);
    assert_eq!(tagged, main_sha);

    // The tag's run publishes to PyPI the bytes its check tested (after the approval GitHub
    // would ask for through the `pypi` environment).
    let release = runner.run_ok(&event("push", "refs/tags/v0.1.0", &main_sha, "acme/sample", 4, ""));
    assert_eq!(release.jobs, ["build", "check", "publish-pypi"]);
    let (url, uploaded) = &release.uploads["publish-pypi"];
    assert_eq!(url, &pypi.url);
    assert_eq!(uploaded, &release.tested["check"]);
    assert_eq!(dists_in(pypi_packages.path()), *uploaded);
    assert_eq!(release.ran_hookgate, ["build", "check"]);
    // Builds are dated by the commit: the PR run's bytes are the release's bytes.
    assert_eq!(pr.tested["check"], release.tested["check"]);

    // After the release, main is still green: 0.1.0 is taken, but by this very tree.
    let after = runner.run_ok(&event("push", "refs/heads/main", &main_sha, "acme/sample", 5, ""));
    assert_eq!(after.jobs, ["build", "check", "tag"], "check passed on main after the release");
}

#[test]
fn a_version_from_git_gets_a_dev_version_per_pr_run_and_releases_by_pushing_its_tag() {
    let world = World::new("scm");
    let mut runner = world.runner();
    // The versions are under test here; `test` on the given dists is in the static test.
    runner.skip = "lint,format,docs,coverage,test";
    let ctx = &world.ctx;
    let sha = ctx.git(&["rev-parse", "HEAD"]);

    // A PR run: a version of its own, local-free, from the run number; checked as that version.
    let pr =
        runner.run_ok(&event("pull_request", "refs/pull/7/merge", &sha, "acme/sample", 41, "acme/sample"));
    assert_eq!(pr.jobs, ["build", "check", "publish-testpypi"]);
    let (_, uploaded) = &pr.uploads["publish-testpypi"];
    let files: Vec<&str> = uploaded.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(files, ["scm_pkg-0.1.dev41-py3-none-any.whl", "scm_pkg-0.1.dev41.tar.gz"]);
    assert_eq!(uploaded, &pr.tested["check"]);
    // The next run of the PR uploads another version: TestPyPI never refuses it.
    let next =
        runner.run_ok(&event("pull_request", "refs/pull/7/merge", &sha, "acme/sample", 42, "acme/sample"));
    assert!(next.uploads["publish-testpypi"].1[0].0.contains("0.1.dev42"), "{:?}", next.uploads);
    assert_eq!(dists_in(world.test_packages.path()).len(), 4);

    // main: checked as the version from git; no tag job, nothing published.
    let main = runner.run_ok(&event("push", "refs/heads/main", &sha, "acme/sample", 43, ""));
    assert_eq!(main.jobs, ["build", "check"]);
    assert!(main.uploads.is_empty());

    // The README's release: push the tag vX.Y.Z; its run publishes what it tested.
    runner.git(&world.bare, &["tag", "v0.1.0", &sha]);
    let release = runner.run_ok(&event("push", "refs/tags/v0.1.0", &sha, "acme/sample", 44, ""));
    assert_eq!(release.jobs, ["build", "check", "publish-pypi"]);
    let (url, uploaded) = &release.uploads["publish-pypi"];
    assert_eq!(url, &world.pypi.url);
    let files: Vec<&str> = uploaded.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(files, ["scm_pkg-0.1.0-py3-none-any.whl", "scm_pkg-0.1.0.tar.gz"]);
    assert_eq!(uploaded, &release.tested["check"]);
    assert_eq!(dists_in(world.pypi_packages.path()), *uploaded);
    assert_eq!(release.ran_hookgate, ["build", "check"]);
}

#[test]
fn a_pre_release_is_not_tagged_and_a_tag_that_is_not_the_version_publishes_nothing() {
    let world = World::new("clean");
    let mut runner = world.runner();
    // Only what this test is about: the dists and the index.
    runner.skip = "lint,format,docs,coverage,test";
    let ctx = &world.ctx;
    let pyproject = std::fs::read_to_string(ctx.work.join("pyproject.toml")).unwrap();
    ctx.write("pyproject.toml", &pyproject.replace("version = \"0.1.0\"", "version = \"0.2.0rc1\""));
    ctx.git(&["commit", "-q", "-am", "0.2.0rc1"]);
    ctx.git(&["push", "-q", world.bare.to_str().unwrap(), "HEAD:refs/heads/main"]);
    let sha = ctx.git(&["rev-parse", "HEAD"]);

    // main with a pre-release: checked, the tag job runs, and tags nothing.
    let main = runner.run_ok(&event("push", "refs/heads/main", &sha, "acme/sample", 1, ""));
    assert_eq!(main.jobs, ["build", "check", "tag"]);
    assert_eq!(runner.git(&world.bare, &["tag", "--list"]), "");

    // A tag whose name is not the dists' version: the publish job refuses before uploading.
    runner.git(&world.bare, &["tag", "v0.3.0", &sha]);
    let release = runner.run(&event("push", "refs/tags/v0.3.0", &sha, "acme/sample", 2, ""));
    assert_eq!(release.jobs, ["build", "check", "publish-pypi"]);
    let (step, output) = &release.failed["publish-pypi"];
    assert_eq!(step, "Refuse dists whose version is not the tag's");
    assert!(output.contains("is version 0.2.0rc1, the tag is v0.3.0: not published"), "{output}");
    assert!(release.uploads.is_empty());
    assert!(dists_in(world.pypi_packages.path()).is_empty());
    assert_eq!(release.failed.len(), 1, "{:#?}", release.failed);
}

/// The checks of the statements a run's check job exported for signing (its artifact).
fn exported_checks(world: &World, run: u32) -> Vec<String> {
    let artifacts = world.root.join("artifacts").join(format!("{}", 1000 + run));
    let dir = std::fs::read_dir(&artifacts)
        .unwrap()
        .flatten()
        .find(|d| d.file_name().to_string_lossy().starts_with("hookgate-verdicts-"))
        .expect("the check job uploaded its verdicts");
    let text = std::fs::read_to_string(dir.path().join("hookgate-verdicts.jsonl")).unwrap();
    let mut names: Vec<String> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["predicate"]["configuration"][0]["annotations"]["check"].as_str().unwrap().to_string()
        })
        .collect();
    names.sort();
    names
}

#[test]
fn main_signs_and_shares_ci_verdicts_and_the_next_run_of_the_tree_answers_from_them() {
    // CI's key: its public half in the default branch's allowed_signers, its private half a
    // secret of the signing job only.
    let mut public = String::new();
    let mut key_path = PathBuf::new();
    let config = "[checks.hello]\nrun = [\"python\", \"-c\", \"print('hello')\"]\n\n\
                  [share]\nci-signers = [\"ci@example.org\"]\n";
    let world = World::with("clean", config, |ctx| {
        let (path, allowed) = crate::sharing::keygen(ctx, "ci_key", "ci@example.org");
        ctx.write(".hookgate/allowed_signers", &allowed);
        (public, key_path) = (allowed, path);
    });
    assert!(world.workflow.contains("share-verdicts:"), "{}", world.workflow);
    let mut runner = world.runner();
    runner.skip = "lint,format,docs,coverage,test";
    runner.secrets.insert("HOOKGATE_SIGNING_KEY".into(), std::fs::read_to_string(&key_path).unwrap());
    let sha = world.ctx.git(&["rev-parse", "HEAD"]);
    let tree = world.ctx.git(&["rev-parse", "HEAD^{tree}"]);

    // A pull request: checked, nothing signed or pushed.
    let pr =
        runner.run_ok(&event("pull_request", "refs/pull/1/merge", &sha, "acme/sample", 1, "acme/sample"));
    assert!(!pr.jobs.iter().any(|j| j == "share-verdicts"), "{:?}", pr.jobs);
    assert!(runner.git(&world.bare, &["for-each-ref", "refs/notes/"]).is_empty());

    // main: the check job's verdicts, signed by CI's key in the signing job, reach the remote.
    let main = runner.run_ok(&event("push", "refs/heads/main", &sha, "acme/sample", 2, ""));
    assert!(main.jobs.iter().any(|j| j == "share-verdicts"), "{:?}", main.jobs);
    assert!(!main.ran_hookgate.is_empty());
    let exported = exported_checks(&world, 2);
    assert!(
        exported.contains(&"hello".to_string()) && exported.contains(&"version".to_string()),
        "{exported:?}"
    );
    let note = runner.git(&world.bare, &["notes", "--ref=hookgate", "show", &tree]);
    let signed: Vec<serde_json::Value> = note.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(signed.len(), exported.len(), "{note}");
    for envelope in &signed {
        let payload: serde_json::Value = serde_json::from_str(envelope["payload"].as_str().unwrap()).unwrap();
        assert_eq!(payload["predicate"]["configuration"][0]["annotations"]["producer"], "ci@example.org");
    }
    assert!(public.starts_with("ci@example.org ssh-ed25519 "), "{public}");

    // The next run of the same tree fetches them and answers from them: what it reached
    // itself (and exports) no longer includes the checks CI vouched for. (Not `version`: the
    // tag job tagged this tree meanwhile, which is part of its key.)
    let again = runner.run_ok(&event("push", "refs/heads/main", &sha, "acme/sample", 3, ""));
    assert!(again.jobs.iter().any(|j| j == "share-verdicts"), "{:?}", again.jobs);
    let log = &again.output["check"];
    assert!(log.contains("hello: verdict from ci@example.org (signed, key matches)"), "{log}");
    assert!(
        log.contains("version: ignoring a shared verdict") && log.contains("(inputs that differ: variant)"),
        "{log}"
    );
    let now = exported_checks(&world, 3);
    assert!(!now.contains(&"hello".to_string()), "hello ran again: {now:?}");
    assert!(now.contains(&"version".to_string()), "{now:?}");
}
