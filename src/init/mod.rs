//! `hookgate init`: a config section that reproduces what the project's own CI runs. The CI
//! files are read without running anything ([`sources`]); each command is classified by the
//! tool it runs (ruff, pytest, coverage, sphinx, ...) and mapped onto the built-in checks'
//! keys; what cannot be mapped becomes a commented-out custom check with the reason. Every line
//! says where it came from. Tool pins come from [`crate::pins`] and test requirements from
//! [`crate::checks::testenv`], the same code the checks use at run time.

pub mod sources;

use std::fmt::Write as _;
use std::path::Path;

use crate::checks::testenv;
use crate::config::Project;
use sources::{Found, Sources};

/// A line of the proposed section: TOML text (or nothing) and the comment after it.
#[derive(Debug, Clone)]
struct Line {
    toml: Option<String>,
    comment: Option<String>,
}

/// One table of the proposal.
#[derive(Debug, Clone)]
struct Block {
    /// The check's name (`None`: the top-level table).
    check: Option<String>,
    /// Written commented out (a custom check `init` could not map).
    commented: bool,
    /// The comment after the header.
    why: Option<String>,
    lines: Vec<Line>,
}

impl Block {
    fn check(name: &str, why: Option<String>) -> Block {
        Block { check: Some(name.to_string()), commented: false, why, lines: Vec::new() }
    }
    // Values are built at each call site for this line alone; taking them whole reads better.
    #[allow(clippy::needless_pass_by_value)]
    fn set(&mut self, key: &str, value: toml::Value, comment: impl Into<String>) {
        self.lines.push(Line { toml: Some(format!("{key} = {value}")), comment: Some(comment.into()) });
    }
    fn say(&mut self, comment: impl Into<String>) {
        self.lines.push(Line { toml: None, comment: Some(comment.into()) });
    }
}

/// What `init` proposes.
#[derive(Debug)]
pub struct Proposal {
    blocks: Vec<Block>,
    /// Files that were read.
    pub read: Vec<String>,
    /// Files that were not read or not understood, and why.
    pub warnings: Vec<String>,
}

/// Where the section goes, which decides its table names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `[tool.hookgate]` in `pyproject.toml`.
    Pyproject,
    /// `hookgate.toml` (the same keys without the prefix).
    HookgateToml,
}

/// A comment on one line, at most `max` characters (text from CI files may hold anything).
fn clean(text: &str, max: usize) -> String {
    let one: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if one.chars().count() > max {
        let cut: String = one.chars().take(max).collect();
        format!("{cut}...")
    } else {
        one
    }
}

fn strings(words: &[String]) -> toml::Value {
    toml::Value::Array(words.iter().cloned().map(toml::Value::String).collect())
}

/// `cmd` as one line, for comments: `` `ruff check src` ``.
fn shown(argv: &[String]) -> String {
    format!("`{}`", clean(&argv.join(" "), 100))
}

impl Proposal {
    /// The section as text for `target`.
    pub fn render(&self, target: Target) -> String {
        let mut out = String::new();
        let header = |check: &Option<String>| match (check, target) {
            (None, Target::Pyproject) => Some("[tool.hookgate]".to_string()),
            (None, Target::HookgateToml) => None,
            (Some(c), Target::Pyproject) => Some(format!("[tool.hookgate.checks.{c}]")),
            (Some(c), Target::HookgateToml) => Some(format!("[checks.{c}]")),
        };
        for (i, block) in self.blocks.iter().enumerate() {
            let hash = if block.commented { "# " } else { "" };
            if i > 0 {
                out.push('\n');
            }
            if let Some(h) = header(&block.check) {
                let _ = match &block.why {
                    Some(why) => writeln!(out, "{hash}{h}  # {}", clean(why, 240)),
                    None => writeln!(out, "{hash}{h}"),
                };
            } else if let Some(why) = &block.why {
                let _ = writeln!(out, "# {}", clean(why, 240));
            }
            for line in &block.lines {
                let _ = match (&line.toml, &line.comment) {
                    (Some(t), Some(c)) => writeln!(out, "{hash}{t}  # {}", clean(c, 240)),
                    (Some(t), None) => writeln!(out, "{hash}{t}"),
                    (None, Some(c)) => writeln!(out, "# {}", clean(c, 240)),
                    (None, None) => Ok(()),
                };
            }
        }
        out
    }
}

/// The tool a command runs, with wrappers (`uv run`, `python -m`, `coverage run -m`, ...)
/// removed, and whether it runs under coverage.
fn unwrap_command(argv: &[String]) -> (Vec<String>, bool) {
    let mut words: Vec<String> = argv.to_vec();
    let mut coverage = false;
    // `A=b cmd`: environment assignments before the command.
    while words.first().is_some_and(|w| w.contains('=') && !w.starts_with('-')) {
        words.remove(0);
    }
    for _ in 0..8 {
        let Some(first) = words.first().cloned() else { break };
        let base = first.rsplit('/').next().unwrap_or(&first).to_string();
        let skip_opts = |words: &mut Vec<String>, with_value: &[&str]| {
            while let Some(w) = words.first().cloned() {
                if !w.starts_with('-') {
                    break;
                }
                words.remove(0);
                if with_value.contains(&w.as_str()) && !words.is_empty() {
                    words.remove(0);
                }
            }
        };
        match base.as_str() {
            "uv" | "poetry" | "pdm" | "hatch" | "pipenv" | "rye" | "pixi"
                if words.get(1).is_some_and(|w| w == "run") =>
            {
                words.drain(..2);
                skip_opts(
                    &mut words,
                    &[
                        "--with",
                        "--group",
                        "--extra",
                        "--python",
                        "-p",
                        "--only-group",
                        "--package",
                        "--with-requirements",
                        "--directory",
                        "-e",
                        "--env",
                    ],
                );
            }
            "pipx" if words.get(1).is_some_and(|w| w == "run") => {
                words.drain(..2);
                skip_opts(&mut words, &["--spec"]);
            }
            "uvx" => {
                words.remove(0);
                skip_opts(&mut words, &["--from", "--with", "--python", "-p"]);
            }
            "time" | "exec" | "xvfb-run" | "sudo" => {
                words.remove(0);
            }
            "coverage" if words.get(1).is_some_and(|w| w == "run") => {
                coverage = true;
                words.drain(..2);
                skip_opts(
                    &mut words,
                    &["--rcfile", "--source", "--omit", "--include", "--data-file", "--context"],
                );
                if words.first().is_some_and(|w| w == "-m") {
                    words.remove(0);
                }
            }
            b if b.starts_with("python") || b == "{envpython}" || b.starts_with("$(") || b == "py" => {
                if words.get(1).is_some_and(|w| w == "-m") {
                    words.drain(..2);
                } else {
                    // `python -W error -m pytest`: options before -m.
                    match words.iter().position(|w| w == "-m") {
                        Some(p)
                            if words[1..p].iter().all(|w| w.starts_with('-') || !w.contains('.'))
                                && p < 5 =>
                        {
                            words.drain(..=p);
                        }
                        _ => break,
                    }
                }
            }
            _ => break,
        }
    }
    if let Some(first) = words.first_mut()
        && let Some(base) = first.rsplit('/').next()
        && first.contains("/bin/")
    {
        *first = base.to_string();
    }
    (words, coverage)
}

/// What a command of the CI is, for hookgate.
#[derive(Debug, Clone, PartialEq)]
enum Role {
    Lint {
        tool: &'static str,
        args: Vec<String>,
    },
    Format {
        tool: &'static str,
        args: Vec<String>,
    },
    Test {
        args: Vec<String>,
        unittest: bool,
    },
    CoverageReport,
    Docs {
        builder: &'static str,
        strict: bool,
    },
    /// Done by the built-in `wheel` (builds and dist validation).
    Wheel,
    /// Setup, publishing or plumbing: nothing to check.
    Plumbing,
    /// A check hookgate has no built-in for.
    Other,
}

/// Arguments that change what a linter does to the files rather than what it reports.
fn lint_args(args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--fix"
            | "--no-fix"
            | "--unsafe-fixes"
            | "--exit-non-zero-on-fix"
            | "--show-fixes"
            | "--diff"
            | "--check"
            | "--no-cache"
            | "--quiet"
            | "-q"
            | "--watch"
            | "--statistics" => {}
            "--output-format" | "--format" => {
                it.next();
            }
            a if a.starts_with("--output-format=") || a.starts_with("--format=") => {}
            a if a.contains("${{") || a.contains('{') && a.contains('}') => {}
            _ => out.push(a.clone()),
        }
    }
    out
}

fn classify(argv: &[String]) -> (Role, Vec<String>, bool) {
    let (words, under_coverage) = unwrap_command(argv);
    let Some(tool) = words.first().map(String::as_str) else { return (Role::Plumbing, words, false) };
    let sub = words.get(1).map_or("", String::as_str);
    let rest = |n: usize| words.get(n..).map(<[String]>::to_vec).unwrap_or_default();
    let role = match tool {
        "pytest" | "py.test" => Role::Test { args: rest(1), unittest: false },
        "unittest" => Role::Test { args: Vec::new(), unittest: true },
        "ruff" if sub == "check" => Role::Lint { tool: "ruff", args: lint_args(&rest(2)) },
        "ruff" if sub == "format" => Role::Format { tool: "ruff", args: lint_args(&rest(2)) },
        "ruff" if sub.starts_with('-') || sub == "." => {
            Role::Lint { tool: "ruff", args: lint_args(&rest(1)) }
        }
        "flake8" => Role::Lint { tool: "flake8", args: lint_args(&rest(1)) },
        "black" => Role::Format { tool: "black", args: lint_args(&rest(1)) },
        "coverage" if sub == "report" => Role::CoverageReport,
        "coverage" => Role::Plumbing,
        "sphinx-build" | "sphinx" => Role::Docs {
            builder: "sphinx",
            strict: words.iter().any(|w| w == "-W" || w == "--fail-on-warning"),
        },
        "mkdocs" if sub == "build" => {
            Role::Docs { builder: "mkdocs", strict: words.iter().any(|w| w == "--strict" || w == "-s") }
        }
        "make"
            if words.iter().any(|w| w.contains("doc"))
                && words.iter().any(|w| w == "html" || w == "dirhtml") =>
        {
            Role::Docs { builder: "sphinx", strict: words.iter().any(|w| w.contains("-W")) }
        }
        _ if matches!(sub, "deploy" | "upload" | "publish" | "release" | "gh-deploy") => Role::Plumbing,
        "build" | "pyproject-build" | "twine" => Role::Wheel,
        "check-wheel-contents" | "check-manifest" => Role::Wheel,
        "uv" | "flit" | "hatch" | "poetry" | "pdm" if sub == "build" => Role::Wheel,
        "pip" | "pip3" | "uv" | "poetry" | "pdm" | "hatch" | "tox" | "nox" | "pre-commit" | "prek"
        | "echo" | "cd" | "git" | "mkdir" | "rm" | "cp" | "mv" | "cat" | "ls" | "export" | "source" | "."
        | "set" | "exit" | "if" | "then" | "else" | "fi" | "for" | "do" | "done" | "test" | "[" | "[["
        | "curl" | "wget" | "apt-get" | "apt" | "brew" | "choco" | "codecov" | "gh" | "sed" | "tee"
        | "touch" | "chmod" | "find" | "printf" | "true" | "false" | "sleep" | "env" | "which" | "make"
        | "pushd" | "popd" | "unzip" | "tar" | "docker" | "python" | "python3" | "pipx" | "npm" | "npx"
        | "yarn" | "corepack" | "rustup" | "cargo" | "sh" | "bash" | "exec" | "hookgate" | "mv_if_needed"
        | "setup.py" | "ensurepip" | "venv" | "virtualenv" | "build_ext" | "coveralls" | "tox-gh-actions"
        | "rsync" | "diff" | "grep" | "awk" | "head" | "tail" => Role::Plumbing,
        _ => Role::Other,
    };
    (role, words, under_coverage)
}

/// Whether a lint or format command changes files instead of reporting (`ruff check --fix`,
/// `ruff format` or `black` without `--check`/`--diff`).
fn fixes(kind: &str, words: &[String]) -> bool {
    let has = |flag: &str| words.iter().any(|w| w == flag);
    if kind == "lint" {
        (has("--fix") || has("--fix-only")) && !has("--no-fix")
    } else {
        !has("--check") && !has("--diff")
    }
}

/// `--cov-fail-under=N`, `--cov-fail-under N`, `--fail-under=N`, `--fail-under N` in a command.
fn fail_under(words: &[String]) -> Option<f64> {
    for (i, w) in words.iter().enumerate() {
        for flag in ["--cov-fail-under", "--fail-under"] {
            let value = if w == flag {
                words.get(i + 1).map(String::as_str)
            } else {
                w.strip_prefix(flag).and_then(|r| r.strip_prefix('='))
            };
            if let Some(v) = value.and_then(|v| v.parse::<f64>().ok()).filter(|f| f.is_finite()) {
                return Some(v);
            }
        }
    }
    None
}

/// pytest's arguments split into test paths that exist and the other arguments worth keeping
/// (coverage, parallelism and report-file options are hookgate's business).
fn pytest_args(root: &Path, args: &[String]) -> (Vec<String>, Vec<String>) {
    const VALUE: &[&str] = &[
        "-k",
        "-m",
        "-c",
        "-o",
        "-W",
        "-p",
        "--rootdir",
        "--ignore",
        "--deselect",
        "--import-mode",
        "--tb",
        "--maxfail",
        "--timeout",
        "--ignore-glob",
    ];
    const DROP_VALUE: &[&str] = &[
        "-n",
        "--numprocesses",
        "--dist",
        "--cov",
        "--cov-report",
        "--cov-config",
        "--cov-fail-under",
        "--junitxml",
        "--junit-xml",
        "--cov-context",
        "--basetemp",
        "--html",
        "--durations",
    ];
    let (mut paths, mut kept) = (Vec::new(), Vec::new());
    let mut it = args.iter().peekable();
    while let Some(a) = it.next() {
        let bare = a.split('=').next().unwrap_or(a);
        if a.contains('{') || a.contains('$') {
            continue;
        }
        if DROP_VALUE.contains(&a.as_str()) {
            // `--cov` takes an optional value (argparse `nargs="?"`): the next word unless an option.
            if a != "--cov" || it.peek().is_some_and(|n| !n.starts_with('-')) {
                it.next();
            }
            continue;
        }
        if DROP_VALUE.contains(&bare) || a.starts_with("--cov") || a.starts_with("--junit") {
            continue;
        }
        if VALUE.contains(&a.as_str()) {
            kept.push(a.clone());
            if let Some(v) = it.next() {
                kept.push(v.clone());
            }
            continue;
        }
        if a.starts_with("--color") || a.starts_with("--durations") {
            continue;
        }
        if a.starts_with('-') {
            kept.push(a.clone());
            continue;
        }
        let path = a.split("::").next().unwrap_or(a).trim_end_matches('/');
        if crate::config::inside_tree(path).is_ok() && root.join(path).exists() {
            paths.push(a.trim_end_matches('/').to_string());
        } else {
            kept.push(a.clone());
        }
    }
    (paths, kept)
}

/// pre-commit hook ids that are a built-in: `(id, lint or format, tool)`.
const MAPPED_HOOKS: &[(&str, &str, &str)] = &[
    ("ruff", "lint", "ruff"),
    ("ruff-check", "lint", "ruff"),
    ("ruff-format", "format", "ruff"),
    ("black", "format", "black"),
    ("black-jupyter", "format", "black"),
    ("flake8", "lint", "flake8"),
];

/// An exact pin of `tool` among an environment's requirements, or in a requirements file it
/// installs (`-r .github/requirements/lint.txt`, pip-compile's layout with hashes included):
/// the `tool==X` requirement and the file it was in.
fn env_pin(root: &Path, env: &[String], tool: &str) -> Option<(String, Option<String>)> {
    let pin_of = |word: &str| -> Option<String> {
        let req = word.split(';').next()?.trim();
        let (name, version) = req.split_once("==")?;
        let name = name.split('[').next()?.trim();
        let version = version.trim();
        (crate::pins::normalize(name) == tool && !version.is_empty() && !version.contains([',', '*', ' ']))
            .then(|| format!("{tool}=={version}"))
    };
    if let Some(p) = env.iter().find_map(|r| pin_of(r)) {
        return Some((p, None));
    }
    let mut it = env.iter();
    while let Some(w) = it.next() {
        if w != "-r" && w != "-c" {
            continue;
        }
        let Some(file) = it.next() else { break };
        if crate::config::inside_tree(file).is_err() {
            continue;
        }
        let path = root.join(file);
        if std::fs::metadata(&path).map_or(true, |m| !m.is_file() || m.len() > sources::MAX_FILE_BYTES) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let found = text.lines().find_map(|l| {
            let l = l.split('#').next().unwrap_or("").trim().trim_end_matches('\\').trim();
            pin_of(l.split_whitespace().next().unwrap_or(""))
        });
        if let Some(p) = found {
            return Some((p, Some(file.clone())));
        }
    }
    None
}

/// Tools a CI job installs to lint, format or type-check, not to run the tests.
const LINTERS: &[&str] =
    &["ruff", "flake8", "black", "mypy", "isort", "pylint", "pyright", "codespell", "pre-commit", "ty"];

/// A custom check's name from free text: letters, digits, `-`, `_`.
fn check_name(text: &str, taken: &mut Vec<String>) -> String {
    let mut name: String = text
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c.to_ascii_lowercase() } else { '-' })
        .take(40)
        .collect();
    while name.contains("--") {
        name = name.replace("--", "-");
    }
    name = name.trim_matches('-').to_string();
    if name.is_empty() || crate::checks::builtin(&name).is_some() {
        name = format!("ci-{name}").trim_end_matches('-').to_string();
    }
    let mut unique = name.clone();
    let mut n = 2;
    while taken.contains(&unique) {
        unique = format!("{name}-{n}");
        n += 1;
    }
    taken.push(unique.clone());
    unique
}

/// Requirements worth keeping from an environment's install list (not pip itself, not the
/// project, not editable or local paths).
fn useful_requirements(root: &Path, reqs: &[String], me: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = reqs.iter();
    while let Some(r) = it.next() {
        if r == "-r" || r == "-c" {
            if let Some(f) = it.next()
                && crate::config::inside_tree(f).is_ok()
                && !f.contains('{')
                // `if [ -f requirements.txt ]; then pip install -r requirements.txt; fi`
                && root.join(f).is_file()
            {
                out.push(r.clone());
                out.push(f.clone());
            }
            continue;
        }
        let name = r.split(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c))).next().unwrap_or("");
        let norm = crate::pins::normalize(name);
        let skip = r.starts_with('.')
            || r.starts_with('-')
            || r.contains('{')
            || r.contains('$')
            || r.contains('/')
            || name.is_empty()
            || ["pip", "setuptools", "wheel", "tox", "nox", "pre-commit", "uv", "build", "twine"]
                .contains(&norm.as_str())
            || me.is_some_and(|m| m == norm);
        if !skip && !out.contains(r) {
            out.push(r.clone());
        }
    }
    out
}

/// Builds the proposal for the project at `root` (its working copy): `pyproject` is its
/// `pyproject.toml` text and `project` what hookgate makes of it (pins included).
pub fn propose(root: &Path, pyproject: Option<&str>, project: &Project) -> Proposal {
    let s: Sources = sources::read_all(root, pyproject);
    let me = project.name.as_deref().map(crate::pins::normalize);
    let mut read = Vec::new();
    if pyproject.is_some() {
        read.push("pyproject.toml".to_string());
    }
    read.extend(s.read.iter().cloned());
    let has_ci = !s.read.is_empty();
    let mut taken: Vec<String> = crate::checks::builtin_names().into_iter().map(String::from).collect();
    let mut blocks = vec![Block {
        check: None,
        commented: false,
        why: Some(format!(
            "proposed by `hookgate init` from {}; each line says where it came from",
            if read.is_empty() { "defaults (no CI files found)".into() } else { read.join(", ") }
        )),
        lines: Vec::new(),
    }];

    let classified: Vec<(Role, Vec<String>, bool, &Found)> = s
        .commands
        .iter()
        .map(|f| {
            let (role, words, cov) = classify(&f.argv);
            (role, words, cov, f)
        })
        .collect();

    // lint and format: the first command found, else the pre-commit hook.
    let mut others: Vec<Block> = Vec::new();
    for kind in ["lint", "format"] {
        let candidates = classified.iter().filter_map(|(role, words, _, f)| match role {
            Role::Lint { tool, args } if kind == "lint" => {
                Some((*tool, args.clone(), f.argv.clone(), f.from.clone(), f.env.clone(), fixes(kind, words)))
            }
            Role::Format { tool, args } if kind == "format" => {
                Some((*tool, args.clone(), f.argv.clone(), f.from.clone(), f.env.clone(), fixes(kind, words)))
            }
            _ => None,
        });
        // A command that only reports (`ruff format --check`) says what CI checks better than one
        // that fixes files (a `make format` target); the fixing one is used when it is all there is.
        let (reporting, fixing): (Vec<_>, Vec<_>) = candidates.partition(|c| !c.5);
        let from_command = reporting.into_iter().chain(fixing).next().map(|c| (c.0, c.1, c.2, c.3, c.4));
        let hook = s.hooks.iter().find(|h| MAPPED_HOOKS.iter().any(|(id, k, _)| *id == h.id && *k == kind));
        let (tool, args, origin, env) = match (&from_command, hook) {
            (Some((tool, args, argv, from, env)), _) => {
                (*tool, args.clone(), format!("{from}: {}", shown(argv)), env.clone())
            }
            (None, Some(h)) => {
                let tool = MAPPED_HOOKS.iter().find(|(id, _, _)| *id == h.id).map_or("ruff", |m| m.2);
                let args = lint_args(&h.args);
                (tool, args, format!(".pre-commit-config.yaml hook `{}`", h.id), Vec::new())
            }
            (None, None) => {
                // A CI that runs pre-commit (or prek) whose config is not here may lint there.
                let runs_precommit = classified
                    .iter()
                    .any(|(_, words, ..)| words.first().is_some_and(|w| w == "pre-commit" || w == "prek"));
                if has_ci && !runs_precommit && s.hooks.is_empty() {
                    let mut b = Block::check(kind, None);
                    b.set(
                        "enabled",
                        toml::Value::Boolean(false),
                        format!(
                            "no {} in the project's CI ({})",
                            if kind == "lint" { "linter" } else { "formatter" },
                            s.read.join(", ")
                        ),
                    );
                    blocks.push(b);
                }
                continue;
            }
        };
        let mut b = Block::check(kind, None);
        let default_tool = "ruff";
        if tool != default_tool {
            b.set("tool", toml::Value::String(tool.into()), origin.clone());
        }
        // The pin: the project's (pins.rs), else an exact pin in the command's environment.
        let (req, source) = project.pins.requirement(tool);
        let env_pin = env_pin(root, &env, tool);
        if !source.starts_with("hookgate") && source != "not pinned" {
            b.set("deps", strings(&[req]), format!("pin from {source}"));
        } else if let Some((pin, file)) = env_pin {
            let from = from_command.as_ref().map_or("", |c| c.3.as_str());
            let from = match file {
                Some(f) => format!("{f}, installed by {from}"),
                None => from.to_string(),
            };
            b.set("deps", strings(&[pin]), format!("pin from {from}"));
        } else {
            b.say(format!("{tool}: no pin in the project; hookgate's default {req} is used"));
        }
        // Option values (`--select E9`) are not paths: only what exists in the tree is one.
        let has_path = args.iter().any(|a| !a.starts_with('-') && root.join(a).exists());
        let custom_scope = !args.is_empty() && args != ["."];
        if custom_scope {
            let mut run: Vec<String> = match (kind, tool) {
                ("lint", "ruff") => {
                    vec!["ruff".into(), "check".into(), "--no-fix".into(), "--no-cache".into()]
                }
                ("lint", _) => vec![tool.into()],
                ("format", "ruff") => vec![
                    "ruff".into(),
                    "format".into(),
                    "--check".into(),
                    "--diff".into(),
                    "--no-cache".into(),
                ],
                _ => vec![tool.into(), "--check".into(), "--diff".into()],
            };
            run.extend(args.iter().cloned());
            if !has_path {
                run.push(".".into());
            }
            b.set("run", strings(&run), format!("scope and args: {origin}"));
        } else {
            b.say(format!("scope: the whole tree, as {origin}"));
        }
        if let (None, Some(h)) = (&from_command, hook)
            && let Some(files) = &h.files
        {
            b.say(format!(
                "pre-commit gives the hook only some files ({files}); the check sees the whole tree"
            ));
        }
        blocks.push(b);
    }

    // test: paths and args from the CI's pytest command; requirements as the check finds them.
    let test_cmd = classified.iter().find(|(role, ..)| matches!(role, Role::Test { .. }));
    let mut test = Block::check("test", None);
    let env = testenv::discover(root, project);
    match &env.source {
        Some(src) => test.say(format!("test requirements: {src} (the check reads it at each run)")),
        None => {
            let extra =
                test_cmd.map(|(.., f)| useful_requirements(root, &f.env, me.as_deref())).unwrap_or_default();
            // The job's linters are not what the tests need.
            let extra: Vec<String> = extra
                .into_iter()
                .filter(|r| {
                    let name = r.split(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c))).next();
                    !LINTERS.contains(&name.map(crate::pins::normalize).unwrap_or_default().as_str())
                })
                .collect();
            if let (false, Some((.., f))) = (extra.is_empty(), test_cmd) {
                test.set("deps", strings(&extra), format!("test requirements installed by {}", f.from));
            } else {
                test.say("no test requirements found: only pytest is installed with the wheel");
            }
        }
    }
    let mut coverage_from: Option<(f64, String)> = None;
    if let Some((Role::Test { args, unittest }, _, _, f)) = test_cmd {
        if *unittest {
            test.say(format!("{} runs unittest: the check runs the same tests with pytest", f.from));
        } else {
            let (paths, kept) = pytest_args(root, args);
            if !paths.is_empty() {
                test.set("paths", strings(&paths), format!("{}: {}", f.from, shown(&f.argv)));
            } else {
                match testenv::test_paths(root) {
                    Some(testenv::TestPaths::Configured(file)) => {
                        test.say(format!("tests: pytest's `testpaths` from {file}"));
                    }
                    Some(testenv::TestPaths::Given(p)) => {
                        test.say(format!("tests: {} (found by the check)", p.join(", ")));
                    }
                    None => {}
                }
            }
            if !kept.is_empty() {
                test.set("args", strings(&kept), format!("{}: {}", f.from, shown(&f.argv)));
            }
        }
        if let Some(v) = fail_under(&f.argv) {
            coverage_from = Some((v, format!("{}: {}", f.from, shown(&f.argv))));
        }
    }
    blocks.push(test);

    // coverage: a threshold in a command, else a coverage config file; pyproject's is read by
    // the check itself.
    for (role, _, _, f) in &classified {
        if coverage_from.is_none()
            && matches!(role, Role::CoverageReport | Role::Test { .. })
            && let Some(v) = fail_under(&f.argv)
        {
            coverage_from = Some((v, format!("{}: {}", f.from, shown(&f.argv))));
        }
    }
    let mut cov = Block::check("coverage", None);
    match (&coverage_from, &s.coverage_rc, project.coverage_fail_under) {
        (Some((v, from)), ..) => cov.set("fail-under", number(*v), from.clone()),
        (None, Some((v, from)), _) => cov.set("fail-under", number(*v), from.clone()),
        (None, None, Some(v)) => cov.say(format!(
            "fail-under {v}: [tool.coverage.report] fail_under in pyproject.toml (the check reads it)"
        )),
        (None, None, None) => cov.say("no threshold found: the check reports coverage without failing on it"),
    }
    blocks.push(cov);

    // docs: the builder hookgate finds, its requirements, and `-W`/`--strict` from the CI.
    let docs_cmd = classified.iter().find(|(role, ..)| matches!(role, Role::Docs { .. }));
    let sphinx = root.join("docs/conf.py").is_file();
    let mkdocs = root.join("mkdocs.yml").is_file() || root.join("mkdocs.yaml").is_file();
    let elsewhere = ["doc/conf.py", "docs/source/conf.py", "doc/source/conf.py"]
        .into_iter()
        .find(|p| root.join(p).is_file());
    if sphinx || mkdocs {
        let mut d = Block::check("docs", None);
        d.say(if sphinx { "builder: Sphinx (docs/conf.py)" } else { "builder: MkDocs (mkdocs.yml)" });
        let from_project = project.requirements_for(&["docs", "doc"], &["docs", "doc"]);
        if let Some((label, _)) = &from_project {
            d.say(format!("docs requirements: {label} (the check reads it)"));
        } else if root.join("docs/requirements.txt").is_file() {
            d.say("docs requirements: docs/requirements.txt (the check reads it)");
        } else if let Some(file) = [
            "requirements/docs.txt",
            "requirements-docs.txt",
            "docs-requirements.txt",
            "docs/requirements-docs.txt",
            "requirements/doc.txt",
            "doc-requirements.txt",
        ]
        .into_iter()
        .find(|f| root.join(f).is_file())
        {
            d.set("deps", strings(&["-r".into(), file.into()]), format!("docs requirements file {file}"));
        } else if let Some((.., f)) = docs_cmd {
            let reqs = useful_requirements(root, &f.env, me.as_deref());
            if !reqs.is_empty() {
                d.set("deps", strings(&reqs), format!("docs requirements installed by {}", f.from));
            }
        }
        if let Some((Role::Docs { strict: false, .. }, _, _, f)) = docs_cmd {
            d.set(
                "strict",
                toml::Value::Boolean(false),
                format!("{}: {} (warnings are not errors there)", f.from, shown(&f.argv)),
            );
        } else if let Some((.., f)) = docs_cmd {
            d.say(format!("built as {}: {}", f.from, shown(&f.argv)));
        }
        blocks.push(d);
    } else if let Some(conf) = elsewhere {
        let dir = conf.trim_end_matches("/conf.py");
        let mut d = Block::check(
            "docs-sphinx",
            Some(format!(
                "not mapped: the built-in `docs` looks for docs/conf.py or mkdocs.yml, this project has {conf}; check the requirements before enabling"
            )),
        );
        d.commented = true;
        d.lines.push(Line {
            toml: Some(format!("deps = {}", strings(&["sphinx".into(), ".".into()]))),
            comment: None,
        });
        d.lines.push(Line {
            toml: Some(format!(
                "run = {}",
                strings(&[
                    "sphinx-build".into(),
                    "-W".into(),
                    "-b".into(),
                    "html".into(),
                    dir.into(),
                    "_hookgate_docs".into()
                ])
            )),
            comment: None,
        });
        others.push(d);
    }

    // What has no built-in: commented-out custom checks with the reason, one per environment
    // (tox env, nox session, job, make target), its commands chained with `&&`.
    let mut groups: Vec<(&Found, Vec<Vec<String>>)> = Vec::new();
    for (role, words, _, f) in &classified {
        if *role != Role::Other {
            continue;
        }
        match groups.iter_mut().find(|(g, _)| g.from == f.from) {
            Some((_, cmds)) if !cmds.contains(words) => cmds.push(words.clone()),
            Some(_) => {}
            None => groups.push((f, vec![words.clone()])),
        }
    }
    for (f, cmds) in groups {
        let name = check_name(&f.group, &mut taken);
        let deps = useful_requirements(root, &f.env, me.as_deref());
        let env_note = if deps.is_empty() {
            "its environment is not known: add its `deps` before enabling"
        } else {
            "`deps` are that environment's: check them before enabling"
        };
        let what = cmds.iter().map(|c| shown(c)).collect::<Vec<_>>().join(", ");
        let mut b = Block::check(
            &name,
            Some(format!("not mapped: {} runs {what} (no built-in check does this; {env_note})", f.from)),
        );
        b.commented = true;
        if !deps.is_empty() {
            b.lines.push(Line { toml: Some(format!("deps = {}", strings(&deps))), comment: None });
        }
        let run = match cmds.as_slice() {
            [one] => strings(one),
            many => toml::Value::String(
                many.iter()
                    .map(|c| c.iter().map(|w| shell_quote(w)).collect::<Vec<_>>().join(" "))
                    .collect::<Vec<_>>()
                    .join(" && "),
            ),
        };
        b.lines.push(Line { toml: Some(format!("run = {run}")), comment: None });
        others.push(b);
    }
    for h in &s.hooks {
        if MAPPED_HOOKS.iter().any(|(id, ..)| *id == h.id) {
            continue;
        }
        let name = check_name(&h.id, &mut taken);
        let rev = h.rev.as_deref().map(|r| format!(" rev {r}")).unwrap_or_default();
        let mut b = Block::check(
            &name,
            Some(format!(
                "not mapped: .pre-commit-config.yaml hook `{}` ({}{rev}): no built-in check does this; give it a command before enabling",
                h.id, h.repo
            )),
        );
        b.commented = true;
        let (req, source) = project.pins.requirement(&h.id);
        let mut deps = Vec::new();
        if source != "not pinned" && !source.starts_with("hookgate") {
            deps.push(req);
        }
        deps.extend(h.deps.iter().cloned());
        if !deps.is_empty() {
            b.lines.push(Line { toml: Some(format!("deps = {}", strings(&deps))), comment: None });
        }
        let mut run: Vec<String> = match &h.entry {
            Some(e) => sources::shell_commands(e).into_iter().next().unwrap_or_default(),
            None => vec![h.id.clone()],
        };
        run.extend(h.args.iter().cloned());
        if h.entry.is_none() && !deps.is_empty() {
            run.push(".".into());
        }
        b.lines.push(Line { toml: Some(format!("run = {}", strings(&run))), comment: None });
        others.push(b);
    }
    blocks.extend(others);
    Proposal { blocks, read, warnings: s.warnings }
}

/// A word as `sh` reads it back: as is when plain, else single-quoted.
fn shell_quote(word: &str) -> String {
    if !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c)) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// A threshold as TOML: an integer when it is one (`100`, not `100.0`).
fn number(v: f64) -> toml::Value {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        #[allow(clippy::cast_possible_truncation)]
        toml::Value::Integer(v as i64)
    } else {
        toml::Value::Float(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn wrappers_are_removed_to_find_the_tool() {
        assert_eq!(
            unwrap_command(&w(&["uv", "run", "--group", "lint", "ruff", "check", "src"])).0,
            w(&["ruff", "check", "src"])
        );
        assert_eq!(unwrap_command(&w(&["python", "-m", "pytest", "tests"])).0, w(&["pytest", "tests"]));
        let (words, cov) = unwrap_command(&w(&["coverage", "run", "--parallel", "-m", "pytest", "-x"]));
        assert_eq!((words, cov), (w(&["pytest", "-x"]), true));
        assert_eq!(unwrap_command(&w(&["CI=1", ".venv/bin/pytest"])).0, w(&["pytest"]));
    }

    #[test]
    fn commands_are_classified_by_tool() {
        assert!(
            matches!(classify(&w(&["ruff", "check", "--fix", "idna", "tests"])).0, Role::Lint { tool: "ruff", args } if args == w(&["idna", "tests"]))
        );
        assert!(matches!(
            classify(&w(&["ruff", "format", "--check", "idna"])).0,
            Role::Format { tool: "ruff", .. }
        ));
        assert!(matches!(
            classify(&w(&["sphinx-build", "-W", "-b", "html", "docs", "x"])).0,
            Role::Docs { strict: true, .. }
        ));
        assert_eq!(classify(&w(&["python", "-m", "build"])).0, Role::Wheel);
        assert_eq!(classify(&w(&["pip", "install", "x"])).0, Role::Plumbing);
        assert_eq!(classify(&w(&["mypy", "src"])).0, Role::Other);
        assert_eq!(classify(&w(&["mike", "deploy", "dev"])).0, Role::Plumbing);
        assert!(
            fixes("lint", &w(&["ruff", "check", "--fix-only"])) && !fixes("lint", &w(&["ruff", "check"]))
        );
        assert!(
            fixes("format", &w(&["ruff", "format"])) && !fixes("format", &w(&["ruff", "format", "--diff"]))
        );
    }

    #[test]
    fn thresholds_are_read_from_commands() {
        assert_eq!(fail_under(&w(&["pytest", "--cov-fail-under=85"])), Some(85.0));
        assert_eq!(fail_under(&w(&["coverage", "report", "--fail-under", "100"])), Some(100.0));
        assert_eq!(fail_under(&w(&["coverage", "report", "--fail-under=nan"])), None);
    }

    #[test]
    fn pytest_args_keep_paths_and_drop_coverage_and_parallelism() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("tests")).unwrap();
        let (paths, args) = pytest_args(
            dir.path(),
            &w(&[
                "tests/",
                "-x",
                "--cov=pkg",
                "--cov-report",
                "xml",
                "-n",
                "auto",
                "-k",
                "not slow",
                "{posargs}",
            ]),
        );
        assert_eq!(paths, w(&["tests"]));
        assert_eq!(args, w(&["-x", "-k", "not slow"]));
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_quote("src/a.py"), "src/a.py");
        assert_eq!(shell_quote("it's here"), "'it'\\''s here'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn pins_come_from_the_environment_or_its_requirement_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("req")).unwrap();
        std::fs::write(
            dir.path().join("req/lint.txt"),
            "# via pip-compile\nruff==0.15.11 \\\n    --hash=sha256:ab\n",
        )
        .unwrap();
        assert_eq!(env_pin(dir.path(), &w(&["Ruff == 0.4.0"]), "ruff"), Some(("ruff==0.4.0".into(), None)));
        assert_eq!(
            env_pin(dir.path(), &w(&["-r", "req/lint.txt", "mypy"]), "ruff"),
            Some(("ruff==0.15.11".into(), Some("req/lint.txt".into())))
        );
        assert_eq!(env_pin(dir.path(), &w(&["-r", "../x.txt", "ruff>=0.4"]), "ruff"), None);
    }

    #[test]
    fn custom_check_names_are_valid_and_unique() {
        let mut taken = vec!["lint".to_string()];
        assert_eq!(check_name("lint", &mut taken), "ci-lint");
        assert_eq!(check_name("My Hook!", &mut taken), "my-hook");
        assert_eq!(check_name("my-hook", &mut taken), "my-hook-2");
    }
}
