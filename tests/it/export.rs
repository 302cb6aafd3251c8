//! One export per tree (#12 item 2): checks share hard links to one export of the tree; a check
//! that writes a tracked file in place neither passes that write to the others nor gets a
//! verdict from the run that saw it; renames and new files stay the check's own; `snapshot =
//! "inputs"` narrows what a check sees; nothing is left in TMPDIR once a run ends.

use crate::common::{TestContext, checks, log_of, text};

const RERUN: &str = "running it again on a private export";

/// Once `reader` runs (its snapshot linked), `writer` rewrites `data.txt` in place (root needs
/// no `chmod`, others would); `reader` waits for that write and then reads the file. `renamer` edits `other.txt` with
/// `sed -i` (a new file renamed over the link), creates and deletes files, while
/// `other-reader` waits for that edit and reads `other.txt`.
const HOSTILE: &str = r#"defaults = false

[checks.writer]
env = ["HG_MARKS"]
run = """
i=0
while [ ! -e "$HG_MARKS/reading" ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done
chmod u+w data.txt && printf 'tampered\n' > data.txt && touch "$HG_MARKS/written"
"""

[checks.reader]
env = ["HG_MARKS"]
run = """
touch "$HG_MARKS/reading"
i=0
while [ ! -e "$HG_MARKS/written" ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done
[ -e "$HG_MARKS/written" ] || { echo 'the writer never wrote'; exit 3; }
grep -qx original data.txt
"""

[checks.renamer]
env = ["HG_MARKS"]
run = "sed -i s/other/renamed/ other.txt && grep -qx renamed other.txt && mkdir -p new/dir && echo x > new/dir/f && rm README.md && touch \"$HG_MARKS/renamed\""

[checks.other-reader]
env = ["HG_MARKS"]
run = """
i=0
while [ ! -e "$HG_MARKS/renamed" ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done
[ -e "$HG_MARKS/renamed" ] || { echo 'the renamer never renamed'; exit 3; }
grep -qx other other.txt && test -f README.md && test ! -e new
"""
"#;

#[test]
fn an_in_place_write_to_the_shared_export_gives_no_wrong_verdict_and_no_leak() {
    let ctx = TestContext::new("clean");
    let marks = ctx.work.parent().unwrap().join("marks");
    std::fs::create_dir(&marks).unwrap();
    ctx.env_mut("HG_MARKS", marks.to_str().unwrap());
    ctx.write("data.txt", "original\n");
    ctx.write("other.txt", "other\n");
    ctx.commit_config(HOSTILE);
    let (v, out) = ctx.json(&["run", "writer", "reader", "--jobs", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let all = checks(&v);
    for name in ["writer", "reader"] {
        assert_eq!(all[name]["status"], "pass", "{name}: {}", text(&out));
    }
    // The reader saw the tampered file through its link: that run was not its verdict.
    let reader = log_of(&v, "reader");
    assert!(reader.contains(RERUN), "the reader ran again on its own export:\n{reader}");
    assert!(log_of(&v, "writer").contains(RERUN), "the writer's run was not a verdict either");
    assert!(ctx.scratch_dirs().is_empty(), "left in TMPDIR: {:?}", ctx.scratch_dirs());
    assert_eq!(std::fs::read_to_string(ctx.work.join("data.txt")).unwrap(), "original\n");

    // Renames, new files and deletions stay in the check's own directories: no re-run.
    let (v, out) = ctx.json(&["run", "renamer", "other-reader", "--jobs", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    for name in ["renamer", "other-reader"] {
        let log = log_of(&v, name);
        assert!(!log.contains(RERUN), "{name} ran once:\n{log}");
    }
    assert!(ctx.scratch_dirs().is_empty(), "left in TMPDIR: {:?}", ctx.scratch_dirs());

    // The next run, of another tree, reads the file as committed.
    ctx.commit_config(
        "defaults = false\n[checks.check-data]\nrun = \"grep -qx original data.txt && test -f README.md\"\n",
    );
    let (v, out) = ctx.json(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!log_of(&v, "check-data").contains(RERUN));
    assert!(ctx.scratch_dirs().is_empty(), "left in TMPDIR: {:?}", ctx.scratch_dirs());
}

#[test]
fn snapshot_inputs_gives_a_check_only_its_inputs() {
    let ctx = TestContext::new("clean");
    ctx.commit_config(
        r#"defaults = false

[checks.narrow]
inputs = ["src/", "tests/*.py"]
snapshot = "inputs"
run = "test -f src/sample_pkg/__init__.py && test -f tests/test_sample.py && test ! -e README.md && test ! -e docs && test ! -e pyproject.toml"

[checks.whole]
inputs = ["src/"]
run = "test -f README.md && test -d docs"
"#,
    );
    let out = ctx.hookgate(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(ctx.scratch_dirs().is_empty(), "left in TMPDIR: {:?}", ctx.scratch_dirs());
}

#[test]
fn snapshot_settings_that_cannot_work_are_config_errors_at_their_place() {
    let ctx = TestContext::new("clean");
    for (config, needle) in [
        (
            "defaults = false\n[checks.x]\nrun = \"true\"\nsnapshot = \"inputs\"\n",
            "hookgate.toml:4:12: check `x`: `snapshot = \"inputs\"`",
        ),
        (
            "defaults = false\n[checks.x]\nrun = \"true\"\ninputs = [\"src/\"]\nsnapshot = \"input\"\n",
            "hookgate.toml:5:12: check `x`: `snapshot` is \"tree\"",
        ),
    ] {
        ctx.commit_config(config);
        let out = ctx.hookgate(&["run"]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "expected {needle:?} in:\n{}", text(&out));
    }
}
