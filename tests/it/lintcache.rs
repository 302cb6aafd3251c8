//! The per-file lint cache (#12 item 3): `lint` and `format` re-run ruff only on the files
//! whose (path, blob) has no result in the current context, and their verdict and the
//! violations they report are those of a whole-tree run, after every kind of change: an edit,
//! a rename, a delete, an add (which change the layout: every file is checked again), a change
//! of ruff's config (likewise), an edit of a file that is not Python.

use std::collections::BTreeSet;
use std::process::Output;

use serde_json::Value;

use crate::common::{TestContext, checks, log_of, text};

/// Files ruff's discovery finds in the clean fixture (`docs/conf.py`, the package's
/// `__init__.py`, `tests/test_sample.py`) plus the ones planted below.
const PLANTED: &[(&str, &str)] = &[
    ("src/sample_pkg/util.py", "def double(x):\n    return 2 * x\n"),
    // F401 (lint).
    ("src/sample_pkg/bad.py", "import os\n"),
    // Clean for lint, not formatted.
    ("src/sample_pkg/ugly.py", "x=1\n"),
    // A hostile name at the root: a leading dash (an option, were it not after `--`), spaces,
    // non-ASCII; and an F401 in it.
    ("-odd name é.py", "import sys\n"),
];

/// What a run said: the verdicts and the violations in the logs (ruff's concise lines for
/// `lint`, the files `format` shows a diff of), and the per-file cache's counts.
#[derive(Debug)]
struct Said {
    lint: String,
    format: String,
    violations: BTreeSet<String>,
    unformatted: BTreeSet<String>,
    counts: Vec<(usize, usize)>,
}

/// The files ruff's formatter shows a diff of.
fn ruff_unformatted(_: &TestContext, log: &str) -> BTreeSet<String> {
    let lines: Vec<&str> = log.lines().collect();
    lines
        .windows(2)
        .filter_map(|w| {
            let (from, to) = (w[0].strip_prefix("--- ")?, w[1].strip_prefix("+++ ")?);
            (from == to).then(|| from.to_string())
        })
        .collect()
}

/// The files black says it would reformat, as the tree names them (black names them as it was
/// given them: relative, or absolute under the snapshot).
fn black_unformatted(ctx: &TestContext, log: &str) -> BTreeSet<String> {
    let tracked = ctx.git(&["-c", "core.quotepath=off", "ls-files"]);
    log.lines()
        .filter_map(|l| l.strip_prefix("would reformat "))
        .map(|said| {
            tracked
                .lines()
                .filter(|f| said == *f || said.ends_with(&format!("/{f}")))
                .max_by_key(|f| f.len())
                .unwrap_or_else(|| panic!("black names a file the tree does not have: {said}"))
                .to_string()
        })
        .collect()
}

type Unformatted = fn(&TestContext, &str) -> BTreeSet<String>;

fn said(ctx: &TestContext, v: &Value, out: &Output, unformatted: Unformatted) -> Said {
    let c = checks(v);
    let (lint_log, format_log) = (log_of(v, "lint"), log_of(v, "format"));
    let violations = violations(&lint_log);
    let unformatted = unformatted(ctx, &format_log);
    let counts = [&lint_log, &format_log]
        .iter()
        .filter_map(|log| {
            let line = log.lines().find(|l| l.starts_with("hookgate: per-file cache: "))?;
            let words: Vec<&str> = line.split_whitespace().collect();
            Some((words[3].parse().ok()?, words[6].parse().ok()?))
        })
        .collect();
    let status =
        |name: &str| c[name]["status"].as_str().unwrap_or_else(|| panic!("{}", text(out))).to_string();
    Said { lint: status("lint"), format: status("format"), violations, unformatted, counts }
}

/// Runs lint and format with the per-file cache, then a whole-tree run (`--force`, the cache
/// off), asserts they agree, and returns the first run's counts (re-checked, from the cache)
/// for lint and format.
fn agree(ctx: &TestContext, step: &str) -> Vec<(usize, usize)> {
    agree_on(ctx, step, ruff_unformatted)
}

fn agree_on(ctx: &TestContext, step: &str, unformatted: Unformatted) -> Vec<(usize, usize)> {
    let (first, out) = ctx.json(&["run", "lint", "format"]);
    let incremental = said(ctx, &first, &out, unformatted);
    // Read now: the whole-tree run below has the same key, and so the same log file.
    let logs = format!("{}\n{}", log_of(&first, "lint"), log_of(&first, "format"));
    let (v, out) = whole_tree_run(ctx);
    let reference = said(ctx, &v, &out, unformatted);
    assert!(reference.counts.is_empty(), "{step}: HOOKGATE_FILE_CACHE=0 used the per-file cache");
    assert_eq!(
        (&incremental.lint, &incremental.format, &incremental.violations, &incremental.unformatted),
        (&reference.lint, &reference.format, &reference.violations, &reference.unformatted),
        "{step}: the per-file answer differs from a whole-tree run; its logs:\n{logs}"
    );
    assert_eq!(incremental.counts.len(), 2, "{step}: no per-file counts in the logs: {incremental:?}");
    incremental.counts
}

/// `run --force --json lint format` with `HOOKGATE_FILE_CACHE=0`: a fresh export, every file
/// checked, neither the persistent view nor per-file results used — the reference.
fn whole_tree_run(ctx: &TestContext) -> (Value, Output) {
    let mut whole = ctx.hookgate_cmd(&["run", "--force", "--json", "lint", "format"]);
    whole.env("HOOKGATE_FILE_CACHE", "0");
    let out = whole.output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    (v, out)
}

fn commit(ctx: &TestContext, message: &str) {
    ctx.git(&["add", "-A"]);
    ctx.git(&["commit", "-q", "--no-verify", "-m", message]);
}

#[test]
fn lint_and_format_recheck_only_changed_files_and_agree_with_a_whole_tree_run() {
    let ctx = TestContext::new("clean");
    // ruff's concise lines (`path:row:col: CODE`) in the logs, for comparing violations.
    ctx.env_mut("RUFF_OUTPUT_FORMAT", "concise");
    ctx.write(
        "hookgate.toml",
        "[checks.lint]\nenv = [\"RUFF_OUTPUT_FORMAT\"]\n[checks.format]\nenv = [\"RUFF_OUTPUT_FORMAT\"]\n",
    );
    for (path, content) in PLANTED {
        ctx.write(path, content);
    }
    commit(&ctx, "planted violations");

    // Cold: every file is checked; both fail, with the planted violations.
    let (v, out) = ctx.json(&["run", "lint", "format"]);
    let first = said(&ctx, &v, &out, ruff_unformatted);
    assert_eq!((first.lint.as_str(), first.format.as_str()), ("fail", "fail"), "{}", text(&out));
    assert_eq!(
        first.violations,
        BTreeSet::from(["-odd name é.py:1:8 F401".to_string(), "src/sample_pkg/bad.py:1:8 F401".to_string()])
    );
    assert_eq!(first.unformatted, BTreeSet::from(["src/sample_pkg/ugly.py".to_string()]));
    assert_eq!(first.counts, [(7, 0), (7, 0)]);
    // The failing files' own diagnostics end the log (what the table's tail shows).
    let tail: String = log_of(&v, "lint").lines().rev().take(8).collect::<Vec<_>>().join("\n");
    assert!(tail.contains("bad.py:1:8: F401"), "{tail}");

    // An edit: that file alone is re-checked (the fix shows: one violation fewer).
    ctx.write("src/sample_pkg/bad.py", "import json\n\nprint(json)\n");
    commit(&ctx, "edit");
    assert_eq!(agree(&ctx, "edit"), [(1, 6), (1, 6)]);

    // A file that is not Python nor TOML: nothing re-checked, everything from the cache.
    ctx.write("README.md", "# sample\n\nedited\n");
    commit(&ctx, "readme");
    assert_eq!(agree(&ctx, "readme"), [(0, 7), (0, 7)]);

    // Rename, delete, add: the layout changed (isort's first-party detection and INP001 look
    // at which files exist), so every file is checked again.
    ctx.git(&["mv", "src/sample_pkg/util.py", "src/sample_pkg/helpers.py"]);
    commit(&ctx, "rename");
    assert_eq!(agree(&ctx, "rename"), [(7, 0), (7, 0)]);
    ctx.git(&["rm", "-q", "src/sample_pkg/helpers.py"]);
    commit(&ctx, "delete");
    assert_eq!(agree(&ctx, "delete"), [(6, 0), (6, 0)]);
    ctx.write("src/sample_pkg/new.py", "def f():\n    unused = 1\n");
    commit(&ctx, "add");
    assert_eq!(agree(&ctx, "add"), [(7, 0), (7, 0)]);
    // Back to a layout seen before: its results are still there.
    // (With another README: the very same tree would be answered by its verdict.)
    ctx.git(&["rm", "-q", "src/sample_pkg/new.py"]);
    ctx.write("README.md", "# sample\n\nedited again\n");
    commit(&ctx, "delete again");
    assert_eq!(agree(&ctx, "back to a known layout"), [(0, 6), (0, 6)]);

    // A config change (a new rule) invalidates everything, and the new rule's finding shows.
    let pyproject = std::fs::read_to_string(ctx.work.join("pyproject.toml")).unwrap();
    ctx.write("pyproject.toml", &format!("{pyproject}\n[tool.ruff.lint]\nextend-select = [\"T20\"]\n"));
    commit(&ctx, "select T20");
    assert_eq!(agree(&ctx, "config"), [(6, 0), (6, 0)]);
    let (v, _) = ctx.json(&["run", "lint"]);
    assert!(violations(&log_of(&v, "lint")).contains("src/sample_pkg/bad.py:3:1 T201"));

    // Fixing the last failures: re-checked alone, and both pass.
    ctx.write("-odd name é.py", "import sys\n\nARGS = sys.argv\n");
    ctx.write("src/sample_pkg/bad.py", "import json\n\nJSON = json\n");
    ctx.write("src/sample_pkg/ugly.py", "x = 1\n");
    commit(&ctx, "fix");
    assert_eq!(agree(&ctx, "fix"), [(3, 3), (3, 3)]);
    let (v, out) = ctx.json(&["run", "lint", "format"]);
    let c = checks(&v);
    assert_eq!(
        (&c["lint"]["status"], &c["format"]["status"]),
        (&"pass".into(), &"pass".into()),
        "{}",
        text(&out)
    );
}

#[test]
fn flake8_and_black_recheck_only_changed_files_and_agree_with_a_whole_tree_run() {
    let ctx = TestContext::new("clean");
    ctx.write("hookgate.toml", "[checks.lint]\ntool = \"flake8\"\n[checks.format]\ntool = \"black\"\n");
    // flake8's config: an exclude (which it applies to files it is given, too) and a
    // per-file ignore (matched on the path as flake8 names it).
    ctx.write(
        "setup.cfg",
        "[flake8]\nmax-line-length = 100\nextend-exclude = generated,build\n\
         per-file-ignores = src/sample_pkg/reexport.py:F401\n",
    );
    for (path, content) in PLANTED {
        ctx.write(path, content);
    }
    // Excluded by both (black: the .gitignore's `build/`; flake8: `extend-exclude`), by flake8
    // alone (`generated/`: black checks it), and a stub black checks and flake8's discovery
    // (`*.py`) does not.
    ctx.write("build/gen.py", "import os\nx=1\n");
    ctx.write("generated/gen.py", "import os\nx=1\n");
    ctx.write("src/sample_pkg/reexport.py", "from os import path\n");
    ctx.write("src/sample_pkg/util.pyi", "def double(x: int) -> int: ...\n");
    commit(&ctx, "planted violations");
    ctx.git(&["add", "-f", "build/gen.py"]);
    commit(&ctx, "a file in build/");

    // Cold: both fail with the planted violations; flake8 checks 8 files (the 3 of the
    // fixture, util.py, bad.py, ugly.py, reexport.py, the odd name), black those, the stub
    // and generated/gen.py: 10.
    let (v, out) = ctx.json(&["run", "lint", "format"]);
    let first = said(&ctx, &v, &out, black_unformatted);
    assert_eq!((first.lint.as_str(), first.format.as_str()), ("fail", "fail"), "{}", text(&out));
    assert_eq!(
        first.violations,
        BTreeSet::from([
            "./-odd name é.py:1:1 F401".to_string(),
            "./src/sample_pkg/bad.py:1:1 F401".to_string(),
            "./src/sample_pkg/ugly.py:1:2 E225".to_string(),
        ])
    );
    assert_eq!(
        first.unformatted,
        BTreeSet::from(["src/sample_pkg/ugly.py".to_string(), "generated/gen.py".to_string()])
    );
    assert_eq!(first.counts, [(8, 0), (10, 0)]);

    // An edit: that file alone.
    ctx.write("src/sample_pkg/bad.py", "import json\n\nprint(json)\n");
    commit(&ctx, "edit");
    assert_eq!(agree_on(&ctx, "edit", black_unformatted), [(1, 7), (1, 9)]);
    // Edits of files black excludes (`build/`, through the .gitignore) and of one it checks
    // (`generated/`, still unformatted): answered from the last tree's summary, black run on
    // the one file it checks.
    ctx.write("build/gen.py", "import sys\nx=2\n");
    ctx.write("generated/gen.py", "import sys\nx=2\n");
    commit(&ctx, "edits in build/ and generated/");
    let (v, _) = ctx.json(&["run", "format"]);
    let log = log_of(&v, "format");
    assert!(log.contains("black's file list and results carried over"), "{log}");
    assert_eq!(agree_on(&ctx, "excluded edit", black_unformatted), [(0, 8), (1, 9)]);
    // Rename, delete, add: flake8 checks each file on its own (only the new path); black's
    // file list is learnt per layout (everything again).
    ctx.git(&["mv", "src/sample_pkg/util.py", "src/sample_pkg/helpers.py"]);
    commit(&ctx, "rename");
    assert_eq!(agree_on(&ctx, "rename", black_unformatted), [(1, 7), (10, 0)]);
    ctx.git(&["rm", "-q", "src/sample_pkg/helpers.py"]);
    commit(&ctx, "delete");
    assert_eq!(agree_on(&ctx, "delete", black_unformatted), [(0, 7), (9, 0)]);
    ctx.write("src/sample_pkg/new.py", "def f( ):\n    return 1\n");
    commit(&ctx, "add");
    assert_eq!(agree_on(&ctx, "add", black_unformatted), [(1, 7), (10, 0)]);

    // flake8's config (setup.cfg, not TOML): flake8 again on everything, black not.
    let cfg = std::fs::read_to_string(ctx.work.join("setup.cfg")).unwrap();
    ctx.write("setup.cfg", &cfg.replace("per-file-ignores = src/sample_pkg/reexport.py:F401\n", ""));
    commit(&ctx, "no per-file ignore");
    assert_eq!(agree_on(&ctx, "flake8 config", black_unformatted), [(8, 0), (0, 10)]);
    // black's config, and a .gitignore that now hides a file from black's discovery.
    let pyproject = std::fs::read_to_string(ctx.work.join("pyproject.toml")).unwrap();
    ctx.write("pyproject.toml", &format!("{pyproject}\n[tool.black]\nline-length = 100\n"));
    commit(&ctx, "black config");
    assert_eq!(agree_on(&ctx, "black config", black_unformatted), [(0, 8), (10, 0)]);
    let ignore = std::fs::read_to_string(ctx.work.join(".gitignore")).unwrap();
    ctx.write(".gitignore", &format!("{ignore}generated/\n"));
    commit(&ctx, "ignore generated/");
    assert_eq!(agree_on(&ctx, ".gitignore", black_unformatted), [(0, 8), (9, 0)]);

    // Fixing the last failures: re-checked alone, and both pass.
    ctx.write("-odd name é.py", "import sys\n\nARGS = sys.argv\n");
    ctx.write("src/sample_pkg/bad.py", "import json\n\nJSON = json\n");
    ctx.write("src/sample_pkg/ugly.py", "x = 1\n");
    ctx.write("src/sample_pkg/reexport.py", "from os import path\n\nPATH = path\n");
    ctx.write("src/sample_pkg/new.py", "def f():\n    return 1\n");
    commit(&ctx, "fix");
    assert_eq!(agree_on(&ctx, "fix", black_unformatted), [(5, 3), (5, 4)]);
    let (v, out) = ctx.json(&["run", "lint", "format"]);
    let c = checks(&v);
    assert_eq!(
        (&c["lint"]["status"], &c["format"]["status"]),
        (&"pass".into(), &"pass".into()),
        "{}",
        text(&out)
    );
}

/// ruff's concise lines in a `lint` log (`path:row:col: CODE message`), as `path:row:col CODE`.
fn violations(log: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in log.lines() {
        let Some(i) = line.find(".py:") else { continue };
        let mut rest = line[i + 4..].splitn(3, ':');
        let (row, col, what) = (rest.next(), rest.next(), rest.next());
        if let (Some(row), Some(col), Some(what)) = (row, col, what)
            && row.parse::<u32>().is_ok()
            && col.parse::<u32>().is_ok()
        {
            let code = what.split_whitespace().next().unwrap_or_default();
            found.insert(format!("{}:{row}:{col} {code}", &line[..i + 3]));
        }
    }
    found
}

/// The manifests of per-file results in the cache.
fn manifests(ctx: &TestContext) -> Vec<std::path::PathBuf> {
    let dir = ctx.work.join(".git/hookgate/filecache");
    let mut found: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    found.sort();
    found
}

#[test]
fn an_answer_ruff_cannot_give_keeps_no_results_and_ruff_itself_decides() {
    // A file ruff's formatter cannot parse: it says so on stderr with exit 2, an answer that
    // does not account for the files (ruff 0.8: an older ruff's text answer is read too).
    let ctx = TestContext::new("clean");
    ctx.write("hookgate.toml", "[checks.format]\ndeps = [\"ruff==0.8.4\"]\n");
    ctx.write("src/sample_pkg/ugly.py", "def f(:\n");
    commit(&ctx, "unparsable");
    let (v, out) = ctx.json(&["run", "format"]);
    assert_eq!(checks(&v)["format"]["status"], "fail", "{}", text(&out));
    let log = log_of(&v, "format");
    assert!(log.contains("did not account for every file"), "{log}");
    assert!(log.contains("Failed to parse"), "ruff's own words are not in the log:\n{log}");
    assert!(manifests(&ctx).is_empty(), "results kept from an answer that was not understood");
    // Formatted, it passes: every file again (nothing was kept); now results are kept, and an
    // unformatted edit is the one file re-checked, with ruff's own diff in the log.
    ctx.write("src/sample_pkg/ugly.py", "x = 1\n");
    commit(&ctx, "formatted");
    let (v, out) = ctx.json(&["run", "format"]);
    assert_eq!(checks(&v)["format"]["status"], "pass", "{}", text(&out));
    assert!(log_of(&v, "format").contains("per-file cache: 4 file(s) re-checked, 0 from"));
    assert!(!manifests(&ctx).is_empty(), "ruff's text answer was not kept");
    ctx.write("src/sample_pkg/ugly.py", "x=1\n");
    commit(&ctx, "unformatted");
    let (v, out) = ctx.json(&["run", "format"]);
    assert_eq!(checks(&v)["format"]["status"], "fail", "{}", text(&out));
    let log = log_of(&v, "format");
    assert!(log.contains("1 file(s) re-checked, 3 from the per-file cache"), "{log}");
    assert!(log.contains("+++ src/sample_pkg/ugly.py"), "ruff's own diff is not in the log:\n{log}");
    // Unparsable again, a content-only edit: the summary's answer for that file is not
    // understood, so the ordinary path takes over, and ruff's own run decides.
    ctx.write("src/sample_pkg/ugly.py", "def g(:\n");
    commit(&ctx, "unparsable again");
    let (v, out) = ctx.json(&["run", "format"]);
    assert_eq!(checks(&v)["format"]["status"], "fail", "{}", text(&out));
    let log = log_of(&v, "format");
    assert!(log.contains("answer for the changed files did not account for them"), "a delta run: {log}");
    assert!(log.contains("did not account for every file") && log.contains("Failed to parse"), "{log}");
}

#[test]
fn cache_gc_drops_per_file_results_unused_for_a_day() {
    let ctx = TestContext::new("clean");
    ctx.commit_config("[checks.format]\nenabled = false\n");
    let (v, out) = ctx.json(&["run", "lint"]);
    assert_eq!(checks(&v)["lint"]["status"], "pass", "{}", text(&out));
    let kept = manifests(&ctx);
    assert_eq!(kept.len(), 2, "one context's manifest and the tool's tree summaries: {kept:?}");
    assert_eq!(kept.iter().filter(|p| p.to_string_lossy().ends_with(".trees.json")).count(), 1);
    // Fresh: kept (a tree checked but not committed yet is worth a day).
    let out = ctx.hookgate(&["cache", "gc"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(manifests(&ctx), kept);
    let old = std::process::Command::new("touch").args(["-d", "2 days ago"]).args(&kept).status().unwrap();
    assert!(old.success());
    let out = ctx.hookgate(&["cache", "gc"]);
    assert!(out.status.success(), "{}", text(&out));
    for k in &kept {
        let key = k.file_name().unwrap().to_str().unwrap().split('.').next().unwrap();
        assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("dropped {key}")), "{}", text(&out));
    }
    assert!(manifests(&ctx).is_empty(), "{}", text(&out));
}

#[test]
fn black_with_another_project_root_below_the_tree_keeps_no_per_file_results() {
    // Given `sub/long.py` alone, black would take `sub/` (its pyproject.toml has [tool.black])
    // as the project root and its line length; over the whole tree it takes the tree's.
    let ctx = TestContext::new("clean");
    ctx.write("hookgate.toml", "[checks.format]\ntool = \"black\"\n");
    ctx.write("sub/pyproject.toml", "[tool.black]\nline-length = 20\n");
    ctx.write("sub/long.py", "X = [1111111, 2222222, 3333333]\n");
    commit(&ctx, "a nested project root");
    for (i, step) in ["first", "after an edit of that file"].iter().enumerate() {
        let (v, out) = ctx.json(&["run", "format"]);
        assert_eq!(checks(&v)["format"]["status"], "pass", "{step}: {}", text(&out));
        let log = log_of(&v, "format");
        assert!(
            log.contains(
                "per-file cache not used: `sub/pyproject.toml`: black would take another project root"
            ),
            "{step}: {log}"
        );
        assert!(log.contains("$ black --check --diff ."), "{step}: {log}");
        assert!(manifests(&ctx).is_empty(), "{step}");
        ctx.write("sub/long.py", &format!("X = [1111111, 2222222, 3333333, {i}]\n"));
        commit(&ctx, "edit");
    }
}

/// The persistent view's directory under the test's TMPDIR.
fn view_dir(ctx: &TestContext) -> std::path::PathBuf {
    let found: Vec<_> = std::fs::read_dir(&ctx.tmp)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("hookgate.view-"))
        .collect();
    assert_eq!(found.len(), 1, "one persistent view: {found:?}");
    found[0].clone()
}

#[test]
fn the_persistent_view_follows_the_trees_and_steps_aside_when_it_cannot_be_trusted() {
    let ctx = TestContext::new("clean");
    ctx.write("hookgate.toml", LINT_AND_FORMAT);
    // Files ruff's excludes leave out: an edit there re-checks nothing.
    ruff_setting(&ctx, "extend-exclude = [\"skipped\"]");
    ctx.write("skipped/x.py", "import os\n");
    commit(&ctx, "config");
    let (v, out) = ctx.json(&["run", "lint", "format"]);
    assert_eq!(checks(&v)["lint"]["status"], "pass", "{}", text(&out));
    assert!(log_of(&v, "lint").contains("the persistent view, checked out afresh"), "{}", log_of(&v, "lint"));

    // An edit of an excluded file: the view takes the diff, the summary answers, ruff runs on
    // nothing; and the same verdict as a whole-tree run.
    ctx.write("skipped/x.py", "import sys\n");
    commit(&ctx, "excluded edit");
    let counts = agree(&ctx, "excluded edit");
    assert_eq!(counts, [(0, 3), (0, 3)]);

    // An edit with a violation: one file re-checked, the failure found.
    ctx.write("src/sample_pkg/bad.py", "import os\n");
    commit(&ctx, "violation");
    let (v, out) = ctx.json(&["run", "lint", "format"]);
    assert_eq!(checks(&v)["lint"]["status"], "fail", "{}", text(&out));
    let log = log_of(&v, "lint");
    assert!(log.contains("(1 changed entry)") && log.contains("F401") && log.contains("bad.py"), "{log}");

    // Another process holds the view: this run exports the tree as usual, same verdict.
    let view = view_dir(&ctx);
    let lock = std::fs::File::options().read(true).write(true).open(view.join("lock")).unwrap();
    lock.try_lock().unwrap();
    ctx.write("src/sample_pkg/bad.py", "import os\n\nprint(os)\n");
    commit(&ctx, "fixed");
    let (v, out) = ctx.json(&["run", "lint", "format"]);
    assert_eq!(checks(&v)["lint"]["status"], "pass", "{}", text(&out));
    assert!(!log_of(&v, "lint").contains("persistent view"), "{}", log_of(&v, "lint"));
    drop(lock);

    // A view whose state is gone (an update killed half-way) is checked out afresh.
    std::fs::remove_file(view.join("state")).unwrap();
    std::fs::write(view.join("co/work/src/sample_pkg/bad.py"), "import os\n").unwrap();
    ctx.write("README.md", "# edited\n");
    commit(&ctx, "readme");
    let (v, out) = ctx.json(&["run", "--force", "lint"]);
    assert_eq!(checks(&v)["lint"]["status"], "pass", "{}", text(&out));
    assert!(log_of(&v, "lint").contains("checked out afresh"), "{}", log_of(&v, "lint"));

    // A view holding a tree this repository does not have (a repository made anew at the same
    // path): checked out afresh, not an error.
    std::fs::write(view.join("state"), "0123456789abcdef0123456789abcdef01234567").unwrap();
    ctx.write("README.md", "# edited twice\n");
    commit(&ctx, "readme twice");
    let (v, out) = ctx.json(&["run", "lint"]);
    assert_eq!(checks(&v)["lint"]["status"], "pass", "{}", text(&out));
    assert!(log_of(&v, "lint").contains("checked out afresh"), "{}", log_of(&v, "lint"));

    // A view directory that is a symlink (someone else's doing) is not used, nor written to.
    std::fs::remove_dir_all(&view).unwrap();
    let elsewhere = ctx.tmp.join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &view).unwrap();
    ctx.write("README.md", "# again\n");
    commit(&ctx, "readme again");
    let (v, out) = ctx.json(&["run", "lint"]);
    assert_eq!(checks(&v)["lint"]["status"], "pass", "{}", text(&out));
    assert!(!log_of(&v, "lint").contains("persistent view"), "{}", log_of(&v, "lint"));
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0, "the symlinked view was written to");
    std::fs::remove_file(&view).unwrap();

    // `cache gc` drops a view no run used for --max-age days, and keeps one in use.
    ctx.write("README.md", "# and again\n");
    commit(&ctx, "readme for gc");
    let (v, out) = ctx.json(&["run", "lint"]);
    assert_eq!(checks(&v)["lint"]["status"], "pass", "{}", text(&out));
    let view = view_dir(&ctx);
    let out = ctx.hookgate(&["cache", "gc", "--max-age", "1"]);
    assert!(out.status.success() && view.join("co/work").is_dir(), "a fresh view went: {}", text(&out));
    let old = std::process::Command::new("touch").args(["-d", "2 days ago"]).arg(view.join("lock")).status();
    assert!(old.unwrap().success());
    let lock = std::fs::File::open(view.join("lock")).unwrap();
    lock.try_lock().unwrap();
    let out = ctx.hookgate(&["cache", "gc", "--max-age", "1"]);
    assert!(out.status.success() && view.join("co/work").is_dir(), "a view in use went: {}", text(&out));
    drop(lock);
    let out = ctx.hookgate(&["cache", "gc", "--max-age", "1"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!view.exists(), "an unused view stayed: {}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 persistent view(s) unused"), "{}", text(&out));
}

/// Adds `setting` (a line) to the fixture's `[tool.ruff]` table.
fn ruff_setting(ctx: &TestContext, setting: &str) {
    let pyproject = std::fs::read_to_string(ctx.work.join("pyproject.toml")).unwrap();
    let edited = pyproject.replace("[tool.ruff]\n", &format!("[tool.ruff]\n{setting}\n"));
    assert_ne!(edited, pyproject, "the fixture has no [tool.ruff] table");
    ctx.write("pyproject.toml", &edited);
}

/// lint and format only, as a user's `hookgate.toml` would name them.
const LINT_AND_FORMAT: &str = "defaults = false\n[checks.lint]\n[checks.format]\n";

/// Runs lint and format (the view, the per-file cache) and then a whole-tree run (`--force`,
/// `HOOKGATE_FILE_CACHE=0`: a fresh export, every file), asserts they give the same verdicts
/// and returns them with the first run's lint log.
fn verdicts_agree(ctx: &TestContext, step: &str) -> (String, String, String) {
    let (v, out) = ctx.json(&["run", "lint", "format"]);
    let c = checks(&v);
    let status = |c: &std::collections::BTreeMap<String, Value>, n: &str| {
        c[n]["status"].as_str().unwrap_or_else(|| panic!("{step}: {}", text(&out))).to_string()
    };
    let (lint, format) = (status(&c, "lint"), status(&c, "format"));
    let log = format!("{}\n{}", log_of(&v, "lint"), log_of(&v, "format"));
    let (w, _) = whole_tree_run(ctx);
    let r = checks(&w);
    assert_eq!(
        (lint.as_str(), format.as_str()),
        (status(&r, "lint").as_str(), status(&r, "format").as_str()),
        "{step}: the incremental run differs from a whole-tree run; its logs:\n{log}\nthe whole-tree run's:\n{}\n{}",
        log_of(&w, "lint"),
        log_of(&w, "format")
    );
    (lint, format, log)
}

#[test]
fn the_view_agrees_with_an_export_when_ruff_excludes_a_directory_named_like_its_root() {
    // ruff matches its excludes against the project root's own name too (`--force-exclude`
    // looks at every directory up to the root): a project excluding its `tree/` directory
    // must not have every file excluded because the view's checkout is called `tree`.
    let ctx = TestContext::new("clean");
    ctx.write("hookgate.toml", LINT_AND_FORMAT);
    ruff_setting(&ctx, "extend-exclude = [\"tree\"]");
    ctx.write("tree/data.py", "import os\n");
    ctx.write("pkg/bad.py", "import os\n");
    commit(&ctx, "a project excluding its tree/");
    let (lint, _, log) = verdicts_agree(&ctx, "first run");
    assert_eq!(lint, "fail", "{log}");
    assert!(log.contains("persistent view") && log.contains("pkg/bad.py"), "{log}");
}

#[test]
fn a_symlinked_python_file_is_checked_again_when_the_file_it_points_to_changes() {
    // ruff checks `link.py` (a symlink) with the content of `impl.txt`: an edit of impl.txt
    // alone is a content-only change of a file ruff does not list, yet it changes link.py.
    let ctx = TestContext::new("clean");
    ctx.write("hookgate.toml", LINT_AND_FORMAT);
    ctx.write("src/sample_pkg/impl.txt", "X = 1\n");
    std::os::unix::fs::symlink("impl.txt", ctx.work.join("src/sample_pkg/link.py")).unwrap();
    commit(&ctx, "a symlinked module");
    let (lint, format, log) = verdicts_agree(&ctx, "first run");
    assert_eq!((lint.as_str(), format.as_str()), ("pass", "pass"), "{log}");
    ctx.write("src/sample_pkg/impl.txt", "import os\nx=1\n");
    commit(&ctx, "the symlink's target edited");
    let (lint, format, log) = verdicts_agree(&ctx, "target edited");
    assert_eq!((lint.as_str(), format.as_str()), ("fail", "fail"), "{log}");
}

#[test]
fn a_ruff_config_extending_a_file_that_is_not_toml_keeps_no_per_file_results() {
    // `extend` may name any file: its changes are config changes the per-file cache would
    // not see (it takes only *.toml for config).
    let ctx = TestContext::new("clean");
    ctx.write("hookgate.toml", LINT_AND_FORMAT);
    ruff_setting(&ctx, "extend = \"ruff-base.cfg\"");
    ctx.write("ruff-base.cfg", "[lint]\nselect = [\"E\"]\n");
    ctx.write("src/sample_pkg/p.py", "print(1)\n");
    ctx.write(".ignore", "nothing\n");
    commit(&ctx, "extends a .cfg");
    let (lint, _, log) = verdicts_agree(&ctx, "first run");
    assert_eq!(lint, "pass", "{log}");
    assert!(log.contains("per-file cache not used") && log.contains("ruff-base.cfg"), "{log}");
    // The extended file alone changes (the summary's path), then with an ignore file (the
    // per-file results' path): T20 now finds the print.
    ctx.write("ruff-base.cfg", "[lint]\nselect = [\"T20\"]\n");
    commit(&ctx, "T20 in the extended file");
    assert_eq!(verdicts_agree(&ctx, "extended file edited").0, "fail");
    ctx.write("ruff-base.cfg", "[lint]\nselect = [\"E\"]\n");
    commit(&ctx, "back to E");
    assert_eq!(verdicts_agree(&ctx, "back").0, "pass");
    ctx.write("ruff-base.cfg", "[lint]\nselect = [\"T20\"]\n");
    ctx.write(".ignore", "nothing either\n");
    commit(&ctx, "T20 again, with an ignore file");
    assert_eq!(verdicts_agree(&ctx, "extended file and .ignore edited").0, "fail");
}

#[test]
fn an_exec_bit_change_is_checked_again() {
    // ruff's EXE rules read the file's mode, which its blob id does not carry.
    use std::os::unix::fs::PermissionsExt;
    let ctx = TestContext::new("clean");
    ctx.write("hookgate.toml", LINT_AND_FORMAT);
    ruff_setting(&ctx, "lint.extend-select = [\"EXE\"]");
    let tool = ctx.work.join("src/sample_pkg/tool.py");
    ctx.write("src/sample_pkg/tool.py", "#!/usr/bin/env python\nX = 1\n");
    let chmod = |mode| std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(mode)).unwrap();
    chmod(0o755);
    ctx.write(".ignore", "nothing\n");
    commit(&ctx, "an executable script");
    assert_eq!(verdicts_agree(&ctx, "executable").0, "pass");
    // Not executable any more, with an ignore file changed (no summary answers: the per-file
    // results do), then executable again alone (the summary answers).
    chmod(0o644);
    ctx.write(".ignore", "nothing either\n");
    commit(&ctx, "not executable");
    let (lint, _, log) = verdicts_agree(&ctx, "not executable");
    assert_eq!(lint, "fail", "{log}");
    assert!(log.contains("EXE001"), "{log}");
    chmod(0o755);
    commit(&ctx, "executable again");
    assert_eq!(verdicts_agree(&ctx, "executable again").0, "pass");
}

#[test]
fn a_symlink_in_the_persistent_views_place_is_removed_not_followed() {
    // Whatever put a symlink where the view keeps its checkout (or a half-removed old one), the
    // files it points to are not hookgate's to delete.
    let ctx = TestContext::new("clean");
    ctx.write("hookgate.toml", LINT_AND_FORMAT);
    commit(&ctx, "lint and format");
    let (v, out) = ctx.json(&["run", "lint"]);
    assert_eq!(checks(&v)["lint"]["status"], "pass", "{}", text(&out));
    let view = view_dir(&ctx);
    let precious = ctx.tmp.join("precious");
    std::fs::create_dir_all(precious.join("sub")).unwrap();
    std::fs::write(precious.join("keep.txt"), "mine\n").unwrap();
    std::fs::write(precious.join("sub/keep.txt"), "mine too\n").unwrap();
    let checkout = view.join("co/work");
    assert!(checkout.is_dir(), "the view's checkout is named after the repository");
    std::fs::remove_dir_all(&checkout).unwrap();
    std::os::unix::fs::symlink(&precious, &checkout).unwrap();
    std::os::unix::fs::symlink(&precious, view.join("old-1-1")).unwrap();
    for step in ["a symlinked checkout", "the next run", "a symlinked co/"] {
        if step == "a symlinked co/" {
            std::fs::remove_dir_all(view.join("co")).unwrap();
            std::os::unix::fs::symlink(&precious, view.join("co")).unwrap();
        }
        ctx.write("README.md", &format!("# {step}\n"));
        commit(&ctx, step);
        let (v, out) = ctx.json(&["run", "lint"]);
        assert_eq!(checks(&v)["lint"]["status"], "pass", "{step}: {}", text(&out));
        // The trash is emptied before hookgate exits.
        assert_eq!(
            std::fs::read_to_string(precious.join("keep.txt")).ok().as_deref(),
            Some("mine\n"),
            "{step}"
        );
        assert!(precious.join("sub/keep.txt").is_file(), "{step}");
    }
}

#[test]
fn ruff_excluding_a_src_directory_still_checks_the_rest_of_the_tree() {
    // ruff's --force-exclude matches the names of the directories it runs in: a checkout
    // called `src` had every file excluded. Named after the repository (`work`), as in CI,
    // `ruff check .` finds the F401 in pkg/bad.py.
    let ctx = TestContext::new("clean");
    ctx.write("hookgate.toml", LINT_AND_FORMAT);
    ruff_setting(&ctx, "extend-exclude = [\"src\"]");
    ctx.write("pkg/bad.py", "import os\n");
    commit(&ctx, "a project excluding its src/");
    let mut whole = ctx.hookgate_cmd(&["run", "--json", "lint"]);
    whole.env("HOOKGATE_FILE_CACHE", "0");
    let out = whole.output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    assert_eq!(checks(&v)["lint"]["status"], "fail", "{}", log_of(&v, "lint"));
    // The same in the persistent view (file cache on).
    let (v, out) = ctx.json(&["run", "--force", "lint"]);
    assert_eq!(checks(&v)["lint"]["status"], "fail", "{}", text(&out));
    assert!(log_of(&v, "lint").contains("persistent view"), "{}", log_of(&v, "lint"));
}

#[test]
fn a_persistent_view_not_as_it_was_left_is_checked_out_afresh_or_not_used() {
    let ctx = TestContext::new("clean");
    ctx.write("hookgate.toml", LINT_AND_FORMAT);
    commit(&ctx, "lint and format");
    let (v, out) = ctx.json(&["run", "lint"]);
    assert_eq!(checks(&v)["lint"]["status"], "pass", "{}", text(&out));
    let view = view_dir(&ctx);
    // A directory made by hand where the next tree adds one: its diff cannot apply.
    std::fs::create_dir(view.join("co/work/newdir")).unwrap();
    ctx.write("newdir/bad.py", "import os\n");
    commit(&ctx, "a new directory");
    let (lint, _, log) = verdicts_agree(&ctx, "a directory in the way");
    assert_eq!(lint, "fail", "{log}");
    assert!(log.contains("checked out afresh") && log.contains("did not apply"), "{log}");
    // A lock it cannot open: the view is not used (an export is), not an error.
    std::fs::remove_file(view.join("lock")).unwrap();
    std::fs::create_dir(view.join("lock")).unwrap();
    ctx.write("newdir/bad.py", "import os\n\nprint(os)\n");
    commit(&ctx, "fixed");
    let (lint, _, log) = verdicts_agree(&ctx, "a lock that is a directory");
    assert_eq!(lint, "pass", "{log}");
    assert!(!log.contains("persistent view"), "{log}");
}

#[test]
fn a_retargeted_symlink_changes_the_layout() {
    // isort's first-party detection follows a symlink at a source root: `mylib` pointing at
    // nothing is third-party, pointing at a package directory first-party, and the import block
    // of an unchanged file is sorted wrong.
    let ctx = TestContext::new("clean");
    ctx.write("hookgate.toml", LINT_AND_FORMAT);
    ruff_setting(&ctx, "lint.extend-select = [\"I\"]");
    ctx.write("vendor/mylib/__init__.py", "");
    ctx.write("src/sample_pkg/a.py", "import mylib\nimport requests\n\nprint(mylib, requests)\n");
    ctx.write(".ignore", "nothing\n");
    let link = ctx.work.join("mylib");
    std::os::unix::fs::symlink("nowhere", &link).unwrap();
    commit(&ctx, "a dangling symlink");
    assert_eq!(verdicts_agree(&ctx, "dangling").0, "pass");
    // Retargeted, with an ignore file changed (so that no tree summary answers).
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink("vendor/mylib", &link).unwrap();
    ctx.write(".ignore", "nothing either\n");
    commit(&ctx, "the symlink points at a package");
    let (lint, _, log) = verdicts_agree(&ctx, "retargeted");
    assert_eq!(lint, "fail", "{log}");
    assert!(log.contains("I001"), "{log}");
}

#[test]
fn a_symlink_made_inside_the_persistent_view_is_not_written_through() {
    // A directory of the checkout replaced by a symlink (by hand, between runs): the next diff
    // removes and writes files below it, which must not land where it points.
    let ctx = TestContext::new("clean");
    ctx.write("hookgate.toml", LINT_AND_FORMAT);
    commit(&ctx, "lint and format");
    let (v, out) = ctx.json(&["run", "lint"]);
    assert_eq!(checks(&v)["lint"]["status"], "pass", "{}", text(&out));
    let view = view_dir(&ctx);
    let precious = ctx.tmp.join("precious");
    std::fs::create_dir(&precious).unwrap();
    std::fs::write(precious.join("__init__.py"), "mine\n").unwrap();
    let pkg = view.join("co/work/src/sample_pkg");
    assert!(pkg.is_dir(), "the view's checkout holds the package");
    std::fs::remove_dir_all(&pkg).unwrap();
    std::os::unix::fs::symlink(&precious, &pkg).unwrap();
    let init = std::fs::read_to_string(ctx.work.join("src/sample_pkg/__init__.py")).unwrap();
    ctx.write("src/sample_pkg/__init__.py", &format!("{init}\nimport os\n"));
    commit(&ctx, "an edit below the symlinked directory");
    let (lint, _, log) = verdicts_agree(&ctx, "edit below a symlink");
    assert_eq!(lint, "fail", "{log}");
    assert_eq!(std::fs::read_to_string(precious.join("__init__.py")).unwrap(), "mine\n", "written through");
    assert_eq!(std::fs::read_dir(&precious).unwrap().count(), 1);
}

#[test]
fn a_lint_run_again_on_a_private_export_trusts_nothing_its_first_run_kept() {
    // `writer` writes into a tracked file in place (through the hard link every check's
    // snapshot shares with the run's store) before lint's ruff reads it: lint's first run saw
    // another file than the tree's, so it runs again on a private export, where the per-file
    // results and the tree summary its first run kept must not answer for the tree.
    let ctx = TestContext::new("clean");
    let writer = r#"
import os, sys, time
p = "src/sample_pkg/x.py"
if not os.path.exists("WRITE"):
    sys.exit(0)
# In the run's store (its copy and ours): once lint's snapshot links the file too.
for _ in range(3000):
    if os.stat(p).st_nlink != 2:
        break
    time.sleep(0.01)
with open(p, "w") as f:
    f.write("X = 1\n")
"#;
    ctx.write(
        "hookgate.toml",
        &format!(
            "defaults = false\n[checks.writer]\nrun = [\"python\", \"-c\", '''{writer}''']\n\
             [checks.lint]\nneeds = [\"writer\"]\n"
        ),
    );
    ctx.write("src/sample_pkg/x.py", "X = 1\n");
    commit(&ctx, "a check that writes in place");
    let (v, out) = ctx.json(&["run", "lint", "writer"]);
    assert_eq!(checks(&v)["lint"]["status"], "pass", "{}", text(&out));
    // The persistent view is held by another process: lint links the run's store as writer
    // does. The tree's x.py has an F401; writer makes it clean before lint's ruff reads it.
    let lock = std::fs::File::options().read(true).write(true).open(view_dir(&ctx).join("lock")).unwrap();
    lock.try_lock().unwrap();
    ctx.write("src/sample_pkg/x.py", "import os\n");
    ctx.write("WRITE", "");
    commit(&ctx, "an F401 the writer hides");
    let (v, out) = ctx.json(&["run", "lint", "writer"]);
    let log = log_of(&v, "lint");
    assert!(log.contains("running it again on a private export"), "the write was not seen: {log}");
    assert_eq!(checks(&v)["lint"]["status"], "fail", "{}\n{log}", text(&out));
}
