//! The version from git, compared with setuptools-scm and hatch-vcs themselves (from PyPI,
//! pinned, in one venv made with uv and reused by every case): two dozen tag layouts, each a
//! fresh repository where
//! `python -m setuptools_scm` (run in one interpreter for all cases) and `hookgate scm-version`
//! must agree (setuptools-scm's local part,
//! `+g<hash>` / `+d<date>`, is what hookgate leaves out), or both must refuse.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{TestContext, text};

/// The releases the expectations were checked against (hatch-vcs calls setuptools-scm).
const TOOLS: &[&str] = &["setuptools-scm==10.3.4", "hatchling==1.33.0", "hatch-vcs==0.5.0"];

/// A venv with setuptools-scm and hatch-vcs, made once per target dir (file lock: tests run in
/// parallel).
fn setuptools_scm_python() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("scm-venv");
    std::fs::create_dir_all(&dir).unwrap();
    let lock = std::fs::File::create(dir.join(".lock")).unwrap();
    lock.lock().unwrap();
    let venv = dir.join("venv");
    let marker = dir.join(format!("ready-{}", TOOLS.join("-")));
    if !marker.exists() {
        let _ = std::fs::remove_dir_all(&venv);
        let run = |args: &[&str]| {
            let out = Command::new("uv").args(args).output().expect("uv is installed");
            assert!(out.status.success(), "uv {args:?}: {}", text(&out));
        };
        run(&["venv", "--quiet", venv.to_str().unwrap()]);
        let py = venv.join("bin/python");
        let mut args = vec!["pip", "install", "--quiet", "--python", py.to_str().unwrap()];
        args.extend(TOOLS);
        run(&args);
        std::fs::write(&marker, "").unwrap();
    }
    venv.join("bin/python")
}

/// One layout: the `[tool.setuptools_scm]` body (or, for a name starting with `hatch`, the
/// `[tool.hatch.version]` body of a hatchling + hatch-vcs package), then shell steps run in the
/// repository after the first commit (`c` makes an empty commit).
struct Case {
    name: &'static str,
    settings: &'static str,
    steps: &'static str,
}

impl Case {
    fn hatch(&self) -> bool {
        self.name.starts_with("hatch")
    }
}

const CASES: &[Case] = &[
    Case { name: "no tag", settings: "", steps: "c" },
    Case { name: "v1.2.3 exact (annotated)", settings: "", steps: "c; git tag -a -m r v1.2.3" },
    Case { name: "distance after a lightweight tag", settings: "", steps: "git tag v1.2.3; c; c" },
    Case {
        name: "non-version tag nearest is skipped",
        settings: "",
        steps: "git tag v1.0; c; git tag deploy; c; git tag -a -m x latest",
    },
    Case { name: "1.0.dev3 tag exact", settings: "", steps: "git tag 1.0.dev3" },
    Case { name: "1.0.dev3 tag then a commit (both refuse)", settings: "", steps: "git tag 1.0.dev3; c" },
    Case { name: "1.0.dev0 tag then a commit", settings: "", steps: "git tag 1.0.dev0; c" },
    Case { name: "1.0.post1 tag then a commit", settings: "", steps: "git tag -a -m p 1.0.post1; c" },
    Case { name: "1.0rc1 tag then two commits", settings: "", steps: "git tag v1.0rc1; c; c" },
    Case { name: "prefixed tag", settings: "", steps: "git tag mypkg-2.0.1; c" },
    Case {
        name: "a digit tag that is no version (both refuse)",
        settings: "",
        steps: "git tag v1.0; c; git tag foo2bar",
    },
    Case {
        name: "custom tag_regex",
        settings: "tag_regex = '^release/(?P<version>\\d+(?:\\.\\d+)*)$'",
        steps: "git tag v0.9; c; git tag release/2.0; c; c",
    },
    Case {
        name: "custom tag_regex, a tag it does not read nearest (both refuse)",
        settings: "tag_regex = '^release/(?P<version>\\d+(?:\\.\\d+)*)$'",
        steps: "git tag release/2.0; c; git tag v9.9; c",
    },
    Case { name: "fallback_version without tags", settings: "fallback_version = '3.0'", steps: "c; c" },
    Case {
        name: "post-release scheme",
        settings: "version_scheme = 'post-release'",
        steps: "git tag v1.0; c; c",
    },
    Case {
        name: "no-guess-dev scheme",
        settings: "version_scheme = 'no-guess-dev'",
        steps: "git tag v1.0; c; c",
    },
    Case {
        name: "only-version scheme",
        settings: "version_scheme = 'only-version'",
        steps: "git tag v1.0; c",
    },
    Case {
        name: "annotated and lightweight tags on one commit",
        settings: "",
        steps: "c; git tag v1.1; git tag -a -m a v1.0; c",
    },
    Case {
        name: "tags on two merged branches",
        settings: "",
        steps: "git checkout -q -b side; c; git tag v2.0; c; git checkout -q main; c; git tag v1.5; \
                git merge -q --no-edit side; c",
    },
    Case {
        name: "git_describe_command with --match",
        settings: "git_describe_command = \"git describe --dirty --tags --long --match 'rel-*'\"\n\
                   tag_regex = '^rel-(.*)$'",
        steps: "git tag rel-1.4; c; git tag v7.0; c",
    },
    Case { name: "hatch-vcs defaults", settings: "source = 'vcs'", steps: "git tag v1.0; c" },
    Case {
        name: "hatch-vcs tag-pattern and raw-options",
        settings: "source = 'vcs'\ntag-pattern = '^rel-(?P<version>.*)$'\n\
                   raw-options = { version_scheme = 'post-release', local_scheme = 'no-local-version' }",
        steps: "git tag v0.5; c; git tag rel-1.0; c; c",
    },
    Case {
        name: "hatch-vcs tag-pattern wins over raw-options tag_regex",
        settings: "source = 'vcs'\ntag-pattern = '^r(\\d.*)$'\nraw-options = { tag_regex = '^nope-(.*)$' }",
        steps: "git tag r2.5; c; c",
    },
    Case {
        name: "hatch-vcs fallback-version without tags",
        settings: "source = 'vcs'\nfallback-version = '4.2'\nraw-options = { fallback_version = '9.9' }",
        steps: "c",
    },
];

/// Makes the case's repository.
fn make_repo(case: &Case) -> TestContext {
    let ctx = TestContext::bare_dir();
    let (backend, table) = if case.hatch() {
        (
            "requires = [\"hatchling\", \"hatch-vcs\"]\nbuild-backend = \"hatchling.build\"",
            "tool.hatch.version",
        )
    } else {
        (
            "requires = [\"setuptools>=64\", \"setuptools-scm>=8\"]\nbuild-backend = \"setuptools.build_meta\"",
            "tool.setuptools_scm",
        )
    };
    ctx.write(
        "pyproject.toml",
        &format!(
            "[build-system]\n{backend}\n\n[project]\nname = \"scm-case\"\ndynamic = [\"version\"]\n\n\
             [{table}]\n{}\n",
            case.settings
        ),
    );
    ctx.git(&["init", "-q", "-b", "main"]);
    ctx.git(&["add", "-A"]);
    ctx.git(&["commit", "-q", "-m", "first"]);
    let script = format!("set -e\nc() {{ git commit -q --allow-empty -m step; }}\n{}\n", case.steps);
    let mut sh = Command::new("sh");
    sh.args(["-c", &script]).current_dir(&ctx.work);
    ctx.apply_env(&mut sh);
    let out = sh.output().unwrap();
    assert!(out.status.success(), "{}: steps failed: {}", case.name, text(&out));
    ctx
}

/// `python -m setuptools_scm` in each directory (for hatch cases, hatchling's own reading of
/// the project's version), all in one interpreter (`runpy` runs the module as `-m` does; Python
/// starts once, not once per case): the version without its local part, or the error.
fn setuptools_scm_versions(python: &Path, ctx: &TestContext, dirs: &[String]) -> Vec<Result<String, String>> {
    let driver = "import contextlib, io, json, os, runpy, sys, traceback\n\
                  out = []\n\
                  for arg in sys.argv[1:]:\n\
                  \x20   kind, d = arg.split(':', 1)\n\
                  \x20   os.chdir(d); buf = io.StringIO(); err = io.StringIO()\n\
                  \x20   try:\n\
                  \x20       with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(err):\n\
                  \x20           if kind == 'hatch':\n\
                  \x20               from hatchling.metadata.core import ProjectMetadata\n\
                  \x20               from hatchling.plugin.manager import PluginManager\n\
                  \x20               print(ProjectMetadata(d, PluginManager()).version)\n\
                  \x20           else:\n\
                  \x20               sys.argv = ['setuptools_scm']\n\
                  \x20               runpy.run_module('setuptools_scm', run_name='__main__', alter_sys=True)\n\
                  \x20       code = 0\n\
                  \x20   except SystemExit as e:\n\
                  \x20       code = e.code or 0\n\
                  \x20   except Exception:\n\
                  \x20       code = 1; err.write(traceback.format_exc())\n\
                  \x20   lines = buf.getvalue().strip().splitlines()\n\
                  \x20   out.append({'ok': code == 0, 'version': lines[-1] if lines else '', 'err': err.getvalue()})\n\
                  print(json.dumps(out))\n";
    let mut cmd = Command::new(python);
    cmd.arg("-c").arg(driver).args(dirs);
    ctx.apply_env(&mut cmd);
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "the setuptools-scm driver failed: {}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| match r["ok"].as_bool() {
            Some(true) => Ok(r["version"].as_str().unwrap().split('+').next().unwrap().to_string()),
            _ => Err(r["err"].as_str().unwrap_or("").to_string()),
        })
        .collect()
}

/// `hookgate scm-version` in the case's repository: the version, or the error (exit 2).
fn hookgate_version(case: &Case, ctx: &TestContext) -> Result<String, String> {
    let out = ctx.hookgate(&["scm-version"]);
    match out.status.code() {
        Some(0) => Ok(String::from_utf8_lossy(&out.stdout).trim().to_string()),
        Some(2) => Err(String::from_utf8_lossy(&out.stderr).to_string()),
        other => panic!("{}: hookgate scm-version exited {other:?}: {}", case.name, text(&out)),
    }
}

#[test]
fn version_from_git_matches_setuptools_scm_and_hatch_vcs_on_two_dozen_tag_layouts() {
    let python = setuptools_scm_python();
    let repos: Vec<TestContext> = CASES.iter().map(make_repo).collect();
    let dirs: Vec<String> = CASES
        .iter()
        .zip(&repos)
        .map(|(c, r)| format!("{}:{}", if c.hatch() { "hatch" } else { "scm" }, r.work.display()))
        .collect();
    let theirs = setuptools_scm_versions(&python, &repos[0], &dirs);
    let mut disagreements = Vec::new();
    for ((case, ctx), theirs) in CASES.iter().zip(&repos).zip(theirs) {
        let ours = hookgate_version(case, ctx);
        let agree = match (&theirs, &ours) {
            (Ok(a), Ok(b)) => a == b,
            (Err(_), Err(why)) => why.contains("the version from git"),
            _ => false,
        };
        if !agree {
            disagreements.push(format!("{}:\n  setuptools-scm: {theirs:?}\n  hookgate: {ours:?}", case.name));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

#[test]
fn working_copy_is_the_next_commit_a_version_the_build_refuses_stops_it_static_has_none() {
    let ctx = TestContext::new("scm");
    ctx.git(&["tag", "v1.0.0"]);
    let version = |args: &[&str]| {
        let out = ctx.hookgate(args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(version(&["scm-version"]), "1.0.0");
    // An unchanged working copy is the commit itself; a changed one is the commit to come.
    assert_eq!(version(&["scm-version", "--worktree"]), "1.0.0");
    ctx.write("README.md", "changed\n");
    assert_eq!(version(&["scm-version", "--worktree"]), "1.0.1.dev1");
    ctx.git(&["commit", "-q", "-am", "next"]);
    assert_eq!(version(&["scm-version"]), "1.0.1.dev1");
    assert_eq!(version(&["scm-version", "HEAD~1"]), "1.0.0");

    // A version the build would refuse is a config error of the checks that build the package,
    // before anything runs.
    ctx.git(&["tag", "2.0.dev3"]);
    ctx.git(&["commit", "-q", "--allow-empty", "-m", "past a dev tag"]);
    let out = ctx.hookgate(&["run", "wheel"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("pyproject.toml: the version from git: the nearest tag is 2.0.dev3"), "{err}");
    assert_eq!(ctx.record_count(), 0, "nothing ran");

    let fixed = TestContext::new("clean");
    let out = fixed.hookgate(&["scm-version"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not take its version from git"));
}

/// `git describe`'s own answer (the one setuptools-scm reads) for `rev`: `(tag, distance)`.
fn git_describe(ctx: &TestContext, rev: &str) -> (String, u64) {
    let out = ctx.git(&["describe", "--tags", "--long", "--match", "*[0-9]*", rev]);
    let (rest, _hash) = out.trim().rsplit_once("-g").unwrap();
    let (tag, n) = rest.rsplit_once('-').unwrap();
    (tag.to_string(), n.parse().unwrap())
}

#[test]
fn remembered_describe_answers_follow_new_moved_and_deleted_tags_and_shared_history() {
    let ctx = TestContext::new("scm");
    ctx.git(&["tag", "v1.0.0"]);
    let c = |msg: &str| ctx.git(&["commit", "-q", "--allow-empty", "-m", msg]);
    for i in 0..5 {
        c(&format!("main {i}"));
    }
    // Two refs sharing history: `side` leaves main two commits after the tag; `merged` joins
    // them again.
    ctx.git(&["branch", "side", "HEAD~3"]);
    ctx.git(&["checkout", "-q", "side"]);
    c("side 0");
    c("side 1");
    ctx.git(&["checkout", "-q", "main"]);
    ctx.git(&["checkout", "-q", "-b", "merged"]);
    ctx.git(&["merge", "-q", "--no-edit", "side"]);
    c("after the merge");
    ctx.git(&["checkout", "-q", "main"]);
    let version = |rev: &str| {
        let out = ctx.hookgate(&["scm-version", rev]);
        assert_eq!(out.status.code(), Some(0), "{rev}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let cache = ctx.work.join(".git/hookgate/scm");
    let revs = ["main", "side", "main~1", "side~1", "merged", "merged~1", "v1.0.0"];
    // What setuptools-scm makes of `git describe`'s answer (guess-next-dev).
    let expected = |rev: &str| {
        let (tag, n) = git_describe(&ctx, rev);
        let release = tag.trim_start_matches('v');
        if n == 0 {
            return release.to_string();
        }
        let (head, last) = release.rsplit_once('.').unwrap();
        format!("{head}.{}.dev{n}", last.parse::<u64>().unwrap() + 1)
    };
    let check_all = |when: &str| {
        for rev in revs {
            // Asked twice: the second answer comes from what the first remembered.
            let first = version(rev);
            assert_eq!(version(rev), first, "{when}: {rev} again");
            assert_eq!(first, expected(rev), "{when}: {rev}");
        }
    };
    // Each ref with nothing remembered, then all of them in an order where later refs find
    // their history's answers remembered.
    for rev in revs {
        std::fs::remove_dir_all(&cache).ok();
        assert_eq!(version(rev), expected(rev), "{rev}, nothing remembered");
    }
    check_all("with the tag at the root");
    assert_eq!(version("main"), "1.0.1.dev5");
    assert_eq!(version("side"), "1.0.1.dev4");
    assert!(std::fs::read_dir(&cache).unwrap().count() > 0, "answers are remembered on disk");

    // A new tag on main's history after the fork: main moves, side does not.
    ctx.git(&["tag", "v1.1.0", "main~2"]);
    assert_eq!(version("main"), "1.1.1.dev2");
    assert_eq!(version("side"), "1.0.1.dev4");
    check_all("after a new tag");
    // Moved (an annotated tag now, one commit later), then deleted.
    ctx.git(&["tag", "-f", "-a", "-m", "moved", "v1.1.0", "main~1"]);
    assert_eq!(version("main"), "1.1.1.dev1");
    check_all("after moving the tag");
    ctx.git(&["tag", "-d", "v1.1.0"]);
    assert_eq!(version("main"), "1.0.1.dev5");
    check_all("after deleting the tag");

    // A damaged or torn cache file is a miss, not an error or a wrong answer.
    let head = ctx.git(&["rev-parse", "main"]);
    for entry in std::fs::read_dir(&cache).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let stamp: Vec<&str> = text.lines().take(2).collect();
        let torn = format!("{}\n{} 0 9.9 v9.9\n", stamp.join("\n"), head.trim());
        std::fs::write(&path, torn).unwrap();
    }
    assert_eq!(version("main"), "1.0.1.dev5");
    for entry in std::fs::read_dir(&cache).unwrap() {
        std::fs::write(entry.unwrap().path(), "garbage\n").unwrap();
    }
    assert_eq!(version("main"), "1.0.1.dev5");
}
