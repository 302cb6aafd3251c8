//! Snapshots of what people read: `--help`, the summary table with a failure's log tail,
//! `--json`, config errors, JUnit and the generated workflow. Paths, hashes and times are
//! filtered so a snapshot says what the output looks like, not where or when it ran.
//! Review changes with `cargo insta review` (or `INSTA_UPDATE=always`, then `git diff`).

use crate::common::{TestContext, text};

/// The filters every snapshot here uses.
fn settings(ctx: Option<&TestContext>) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_prepend_module_to_snapshot(false);
    if let Some(ctx) = ctx {
        let root = ctx.work.parent().unwrap().display().to_string();
        s.add_filter(&regex_escape(&root), "[ROOT]");
    }
    // The venv step names this machine's uv and interpreter.
    s.add_filter(r"\$ \S+ venv --quiet --python \S+ \S+", "$$ [UV] venv --quiet --python [PYTHON] [VENV]");
    s.add_filter(r"\b[0-9a-f]{64}\b", "[KEY]");
    s.add_filter(r"\b[0-9a-f]{40}\b", "[OID]");
    s.add_filter(r"\b[0-9a-f]{10}\b", "[SHORT]");
    s.add_filter(r"\b\d+\.\d{2}s\b", "[TIME]");
    s.add_filter(r#""duration_ms":\s*\d+"#, r#""duration_ms": [MS]"#);
    s.add_filter(r#"time="[0-9.]+""#, r#"time="[T]""#);
    s.add_filter(r#"timestamp="[^"]+""#, r#"timestamp="[TS]""#);
    s.add_filter(r"hookgate \d+\.\d+\.\d+", "hookgate [VERSION]");
    s
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '/' { c.to_string() } else { format!("\\{c}") })
        .collect()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn help_texts() {
    let ctx = TestContext::bare_dir();
    settings(None).bind(|| {
        insta::assert_snapshot!("help", stdout(&ctx.hookgate(&["--help"])));
        insta::assert_snapshot!("help_run", stdout(&ctx.hookgate(&["run", "--help"])));
        insta::assert_snapshot!("help_install", stdout(&ctx.hookgate(&["install", "--help"])));
        insta::assert_snapshot!("help_init", stdout(&ctx.hookgate(&["init", "--help"])));
    });
}

const MIXED: &str = "defaults = false\n\
[checks.good]\nrun = \"echo fine\"\n\
[checks.bad]\nrun = \"echo 'line one'; echo 'the reason it failed' >&2; exit 3\"\n\
[checks.after]\nrun = \"true\"\nneeds = [\"bad\"]\n";

#[test]
fn summary_table_json_and_junit_of_a_failing_run() {
    let ctx = TestContext::new("clean");
    ctx.commit_config(MIXED);
    let out = ctx.hookgate(&["run"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let junit = ctx.tmp.join("junit.xml");
    let (v, _) = ctx.json(&["run", "--junit", junit.to_str().unwrap()]);
    settings(Some(&ctx)).bind(|| {
        insta::assert_snapshot!("summary_table", stdout(&out));
        insta::assert_snapshot!("json", serde_json::to_string_pretty(&v).unwrap());
        insta::assert_snapshot!("junit", std::fs::read_to_string(&junit).unwrap());
    });
}

#[test]
fn config_errors_name_file_line_and_column() {
    let cases = [
        ("unknown_key", "[checks.lint]\nrunn = 'x'\n"),
        ("option_of_another_kind", "[checks.lint]\nfail-under = 80\n"),
        ("bad_run_value", "[checks.t]\nrun = 42\n"),
        ("run_on_a_builtin_without_a_command", "[checks.wheel]\nrun = ['make', 'wheel']\n"),
        ("huge_timeout", "[checks.t]\nrun = 'x'\ntimeout = 9223372036854775807\n"),
        ("unknown_stage", "[checks.t]\nrun = 'x'\nstages = ['pre-commit', 'pre-pus']\n"),
        ("malformed_toml", "[checks.t\nrun = 'x'\n"),
        ("lock_outside_the_tree", "lock = '/etc/passwd'\n[checks.t]\nrun = 'x'\n"),
        ("lock_leaving_the_tree", "lock = 'reqs/../../secret.txt'\n[checks.t]\nrun = 'x'\n"),
        ("inputs_leaving_the_tree", "[checks.t]\nrun = 'x'\ninputs = ['src', '../other/**']\n"),
        ("test_paths_outside_the_tree", "[checks.test]\npaths = ['/usr/lib/python3/test']\n"),
    ];
    let ctx = TestContext::new("clean");
    for (name, config) in cases {
        ctx.commit_config(config);
        let out = ctx.hookgate(&["run"]);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", text(&out));
        settings(Some(&ctx)).bind(|| insta::assert_snapshot!(format!("config_error_{name}"), stderr(&out)));
    }
}

#[test]
fn generated_workflow() {
    let ctx = TestContext::new("clean");
    let out = ctx.hookgate(&["ci", "github"]);
    assert!(out.status.success(), "{}", text(&out));
    let workflow = std::fs::read_to_string(ctx.work.join(".github/workflows/hookgate.yml")).unwrap();
    settings(Some(&ctx)).bind(|| insta::assert_snapshot!("workflow", workflow));
}
