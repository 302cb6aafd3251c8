//! Typed configuration, read from the tree under test: `hookgate.toml` at the root, else
//! `[tool.hookgate]` in `pyproject.toml`. Raw TOML is deserialized with spans, validated, and
//! resolved into [`Config`]: built-in checks merged with their overrides, custom checks in file
//! order. Nothing below this module sees TOML values.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::checks::CheckKind;
use crate::error::{ConfigError, Error};

/// Default time limit of a check, in seconds.
pub const DEFAULT_TIMEOUT_SECS: u64 = 900;

/// A git hook stage a check can be attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Runs on `git commit`, on the tree of the index.
    PreCommit,
    /// Runs on `git push`, on the tree of each pushed tip.
    PrePush,
}

impl Stage {
    /// The stage's name as written in config and hook names.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::PreCommit => "pre-commit",
            Stage::PrePush => "pre-push",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a check's command is given.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(untagged)]
pub enum RunSpec {
    /// Executed directly, resolved against the venv's `bin` first.
    Argv(Vec<String>),
    /// Executed with `sh -c`.
    Shell(String),
}

/// One resolved check: a built-in with its overrides applied, or a custom command.
#[derive(Debug, Clone)]
pub struct CheckDef {
    /// Name as used in config, `HOOKGATE_SKIP` and reports.
    pub name: String,
    /// Which built-in (or `Command`) implements it.
    pub kind: CheckKind,
    /// The command to run from the snapshot's root.
    pub run: RunSpec,
    /// Requirements installed into the check's fresh venv.
    pub deps: Vec<String>,
    /// Stages the check belongs to.
    pub stages: Vec<Stage>,
    /// Paths/globs the check depends on; empty means the whole tree.
    pub inputs: Vec<String>,
    /// Checks that must pass first.
    pub needs: Vec<String>,
    /// Environment variables passed through to the check.
    pub env: Vec<String>,
    /// Time limit.
    pub timeout: Duration,
}

/// Where the configuration was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    /// `hookgate.toml` at the tree's root.
    HookgateToml,
    /// `[tool.hookgate]` in `pyproject.toml` (or its absence: pure defaults).
    Pyproject,
}

impl ConfigSource {
    /// The file name, relative to the tree's root.
    pub fn file(self) -> &'static str {
        match self {
            ConfigSource::HookgateToml => "hookgate.toml",
            ConfigSource::Pyproject => "pyproject.toml",
        }
    }
}

/// The resolved configuration of one tree.
#[derive(Debug, Clone)]
pub struct Config {
    /// File the config came from.
    pub source: ConfigSource,
    /// Interpreter to build venvs from (`python` key), if set.
    pub python: Option<String>,
    /// The enabled checks: built-ins first, then custom checks in file order.
    pub checks: Vec<CheckDef>,
    /// What `pyproject.toml` says about the package (defaults when there is none).
    pub project: Project,
}

impl Config {
    /// The check called `name`, if enabled.
    pub fn check(&self, name: &str) -> Option<&CheckDef> {
        self.checks.iter().find(|c| c.name == name)
    }
}

#[derive(Deserialize)]
struct PyprojectDoc {
    tool: Option<ToolTable>,
    project: Option<ProjectTable>,
    #[serde(rename = "build-system")]
    build_system: Option<BuildSystem>,
}

#[derive(Deserialize)]
struct ToolTable {
    hookgate: Option<RawConfig>,
    setuptools_scm: Option<toml::Value>,
    hatch: Option<HatchTable>,
}

#[derive(Deserialize)]
struct ProjectTable {
    name: Option<String>,
    #[serde(default)]
    dynamic: Vec<String>,
}

#[derive(Deserialize)]
struct BuildSystem {
    #[serde(default)]
    requires: Vec<String>,
}

#[derive(Deserialize)]
struct HatchTable {
    version: Option<HatchVersion>,
}

#[derive(Deserialize)]
struct HatchVersion {
    source: Option<String>,
}

/// Facts about the Python project itself, from `pyproject.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Project {
    /// `[project] name`.
    pub name: Option<String>,
    /// The version comes from git (setuptools-scm, hatch-vcs): the snapshot, which has no
    /// `.git`, gets it from `git describe` instead.
    pub version_from_git: bool,
}

impl PyprojectDoc {
    fn project(&self) -> Project {
        let requires = self.build_system.as_ref().map(|b| b.requires.as_slice()).unwrap_or_default();
        let scm_backend = requires.iter().any(|r| {
            let r = r.to_ascii_lowercase().replace('_', "-");
            r.starts_with("setuptools-scm") || r.starts_with("hatch-vcs")
        });
        let tool = self.tool.as_ref();
        let scm_configured = tool.is_some_and(|t| {
            t.setuptools_scm.is_some()
                || t.hatch.as_ref().and_then(|h| h.version.as_ref()).and_then(|v| v.source.as_deref())
                    == Some("vcs")
        });
        let dynamic = self.project.as_ref().is_some_and(|p| p.dynamic.iter().any(|d| d == "version"));
        Project {
            name: self.project.as_ref().and_then(|p| p.name.clone()),
            version_from_git: dynamic && (scm_backend || scm_configured),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawConfig {
    defaults: Option<bool>,
    python: Option<String>,
    #[serde(default)]
    checks: BTreeMap<String, Spanned<RawCheck>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawCheck {
    run: Option<Spanned<RunSpec>>,
    deps: Option<Vec<String>>,
    stages: Option<Vec<Stage>>,
    inputs: Option<Vec<String>>,
    needs: Option<Vec<Spanned<String>>>,
    env: Option<Vec<Spanned<String>>>,
    timeout: Option<Spanned<u64>>,
    enabled: Option<bool>,
}

/// Parses and resolves the config found in a tree.
///
/// `hookgate_toml` and `pyproject` are the contents of those files at the tree's root, when
/// present. With neither, there is nothing to check and that is an error.
pub fn load(hookgate_toml: Option<&str>, pyproject: Option<&str>) -> Result<Config, Error> {
    let (source, text) = match (hookgate_toml, pyproject) {
        (Some(text), _) => (ConfigSource::HookgateToml, text),
        (None, Some(text)) => (ConfigSource::Pyproject, text),
        (None, None) => {
            return Err(Error::Config(ConfigError {
                file: "pyproject.toml".into(),
                line: None,
                column: None,
                message: "neither pyproject.toml nor hookgate.toml is in this tree; hookgate \
                          checks Python packages: commit a pyproject.toml (or a hookgate.toml \
                          naming the checks) at the repository root"
                    .into(),
            }));
        }
    };
    let located = |file: &str, text: &str, e: toml::de::Error| {
        Error::Config(ConfigError::at(file, text, e.span(), e.message().trim_end().to_string()))
    };
    let doc = match pyproject {
        Some(p) => Some(toml::from_str::<PyprojectDoc>(p).map_err(|e| located("pyproject.toml", p, e))?),
        None => None,
    };
    let project = doc.as_ref().map(PyprojectDoc::project).unwrap_or_default();
    let raw = match source {
        ConfigSource::HookgateToml => {
            toml::from_str::<RawConfig>(text).map_err(|e| located(source.file(), text, e))?
        }
        ConfigSource::Pyproject => doc.and_then(|d| d.tool).and_then(|t| t.hookgate).unwrap_or_default(),
    };
    let mut config = resolve(raw, source, text)?;
    config.project = project;
    Ok(config)
}

fn resolve(raw: RawConfig, source: ConfigSource, text: &str) -> Result<Config, Error> {
    let file = source.file();
    let err = |span: std::ops::Range<usize>, msg: String| {
        Error::Config(ConfigError::at(file, text, Some(span), msg))
    };
    let defaults = raw.defaults.unwrap_or(true);

    // Built-ins first, in their canonical order; then custom checks in file order.
    let mut tables: Vec<(&String, &Spanned<RawCheck>)> = raw.checks.iter().collect();
    tables.sort_by_key(|(_, t)| t.span().start);
    let mut checks = Vec::new();
    for kind in CheckKind::BUILTINS {
        let table = raw.checks.get(kind.name());
        if table.is_none() && (!defaults || !kind.on_by_default()) {
            continue;
        }
        let empty = RawCheck::default();
        let t = table.map_or(&empty, |t| t.get_ref());
        if t.enabled == Some(false) {
            continue;
        }
        checks.push(build(kind.name(), *kind, t, text, file)?);
    }
    for (name, table) in &tables {
        if CheckKind::builtin(name).is_some() {
            continue;
        }
        if !valid_name(name) {
            return Err(err(
                table.span(),
                format!(
                    "check name `{name}` may use only letters, digits, `-` and `_` \
                     (it is used in HOOKGATE_SKIP and file names)"
                ),
            ));
        }
        let t = table.get_ref();
        if t.enabled == Some(false) {
            continue;
        }
        if t.run.is_none() {
            return Err(err(
                table.span(),
                format!(
                    "check `{name}` has no `run`: give its command (`run = [\"prog\", \"arg\"]` \
                     or a shell string), or use a built-in name ({})",
                    CheckKind::builtin_names().join(", ")
                ),
            ));
        }
        checks.push(build(name, CheckKind::Command, t, text, file)?);
    }

    // `needs` must name enabled checks, without cycles.
    for (name, table) in &tables {
        for need in table.get_ref().needs.iter().flatten() {
            if checks.iter().any(|c| &c.name == *name) && !checks.iter().any(|c| c.name == *need.get_ref()) {
                return Err(err(
                    need.span(),
                    format!("check `{name}` needs `{}`, which is not an enabled check", need.get_ref()),
                ));
            }
        }
    }
    if let Some(cycle) = find_cycle(&checks) {
        let span = raw.checks.get(&cycle[0]).map_or(0..0, |t| t.span());
        return Err(err(span, format!("`needs` forms a cycle: {}", cycle.join(" -> "))));
    }
    Ok(Config { source, python: raw.python, checks, project: Project::default() })
}

fn build(name: &str, kind: CheckKind, t: &RawCheck, text: &str, file: &str) -> Result<CheckDef, Error> {
    let defaults = kind.defaults();
    let err = |span: std::ops::Range<usize>, msg: String| {
        Error::Config(ConfigError::at(file, text, Some(span), msg))
    };
    let run = match &t.run {
        Some(run) => {
            let empty = match run.get_ref() {
                RunSpec::Argv(argv) => argv.is_empty() || argv[0].is_empty(),
                RunSpec::Shell(s) => s.trim().is_empty(),
            };
            if empty {
                return Err(err(run.span(), format!("check `{name}`: `run` is empty")));
            }
            run.get_ref().clone()
        }
        None => defaults.run.clone(),
    };
    let timeout = match &t.timeout {
        Some(s) if *s.get_ref() == 0 => {
            return Err(err(s.span(), format!("check `{name}`: `timeout` must be at least 1 second")));
        }
        Some(s) => *s.get_ref(),
        None => DEFAULT_TIMEOUT_SECS,
    };
    for var in t.env.iter().flatten() {
        let v = var.get_ref();
        if v.is_empty() || v.contains('=') {
            return Err(err(var.span(), format!("check `{name}`: `env` lists variable names, got `{v}`")));
        }
    }
    let mut stages = t.stages.clone().unwrap_or_else(|| defaults.stages.clone());
    stages.sort();
    stages.dedup();
    Ok(CheckDef {
        name: name.to_string(),
        kind,
        run,
        deps: t.deps.clone().unwrap_or_else(|| defaults.deps.clone()),
        stages,
        inputs: t.inputs.clone().unwrap_or_default(),
        needs: t.needs.iter().flatten().map(|n| n.get_ref().clone()).collect(),
        env: t.env.iter().flatten().map(|n| n.get_ref().clone()).collect(),
        timeout: Duration::from_secs(timeout),
    })
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Returns the names along a `needs` cycle, if there is one.
fn find_cycle(checks: &[CheckDef]) -> Option<Vec<String>> {
    fn visit(i: usize, checks: &[CheckDef], state: &mut [u8], path: &mut Vec<usize>) -> Option<Vec<String>> {
        state[i] = 1;
        path.push(i);
        for need in &checks[i].needs {
            let Some(j) = checks.iter().position(|c| &c.name == need) else { continue };
            if state[j] == 1 {
                let from = path.iter().position(|&p| p == j).unwrap_or(0);
                let mut names: Vec<String> = path[from..].iter().map(|&p| checks[p].name.clone()).collect();
                names.push(checks[j].name.clone());
                return Some(names);
            }
            if state[j] == 0
                && let Some(c) = visit(j, checks, state, path)
            {
                return Some(c);
            }
        }
        path.pop();
        state[i] = 2;
        None
    }
    let mut state = vec![0u8; checks.len()];
    for i in 0..checks.len() {
        if state[i] == 0
            && let Some(c) = visit(i, checks, &mut state, &mut Vec::new())
        {
            return Some(c);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(c: &Config) -> Vec<&str> {
        c.checks.iter().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn zero_config_gives_lint_and_format() {
        let c = load(None, Some("[project]\nname = \"x\"\n")).unwrap();
        assert_eq!(names(&c), ["lint", "format"]);
        assert_eq!(
            c.checks[0].run,
            RunSpec::Argv(vec!["ruff".into(), "check".into(), "--no-cache".into(), ".".into()])
        );
        assert_eq!(c.checks[0].stages, [Stage::PreCommit, Stage::PrePush]);
    }

    #[test]
    fn hookgate_toml_wins_and_defaults_false_keeps_only_named() {
        let c = load(Some("defaults = false\n[checks.lint]\n"), Some("[tool.hookgate.checks.x]\nrun='y'"))
            .unwrap();
        assert_eq!(names(&c), ["lint"]);
        assert_eq!(c.source, ConfigSource::HookgateToml);
    }

    #[test]
    fn custom_checks_keep_file_order_and_builtins_can_be_tuned() {
        let text = r#"
[tool.hookgate.checks.zeta]
run = "echo z"
[tool.hookgate.checks.alpha]
run = ["echo", "a"]
needs = ["zeta"]
[tool.hookgate.checks.format]
enabled = false
[tool.hookgate.checks.lint]
deps = ["ruff==0.11.8"]
"#;
        let c = load(None, Some(text)).unwrap();
        assert_eq!(names(&c), ["lint", "zeta", "alpha"]);
        assert_eq!(c.checks[0].deps, ["ruff==0.11.8"]);
        assert_eq!(c.check("zeta").unwrap().run, RunSpec::Shell("echo z".into()));
        assert_eq!(c.check("zeta").unwrap().stages, [Stage::PrePush]);
    }

    #[test]
    fn unknown_key_is_located() {
        let text = "[project]\nname='x'\n[tool.hookgate.checks.lint]\nrunn = 'x'\n";
        let e = load(None, Some(text)).unwrap_err().to_string();
        assert!(e.starts_with("pyproject.toml:4:1: unknown field `runn`"), "{e}");
    }

    #[test]
    fn unknown_stage_is_located() {
        let text = "[checks.t]\nrun = 'x'\nstages = ['pre-commit', 'pre-pus']\n";
        let e = load(Some(text), None).unwrap_err().to_string();
        assert!(e.starts_with("hookgate.toml:3:25:"), "{e}");
        assert!(e.contains("unknown variant `pre-pus`"), "{e}");
    }

    #[test]
    fn wrong_type_and_malformed_toml_are_located() {
        let e = load(Some("[checks.t]\nrun = 'x'\ntimeout = 'long'\n"), None).unwrap_err().to_string();
        assert!(e.starts_with("hookgate.toml:3:11:"), "{e}");
        let e = load(Some("[checks.t\nrun = 'x'\n"), None).unwrap_err().to_string();
        assert!(e.starts_with("hookgate.toml:1:"), "{e}");
    }

    #[test]
    fn custom_check_without_run_and_bad_needs_are_errors() {
        let e = load(Some("[checks.t]\ndeps = []\n"), None).unwrap_err().to_string();
        assert!(e.contains("check `t` has no `run`"), "{e}");
        let e = load(Some("[checks.t]\nrun = 'x'\nneeds = ['nope']\n"), None).unwrap_err().to_string();
        assert!(e.starts_with("hookgate.toml:3:10:") && e.contains("`nope`"), "{e}");
        let e = load(Some("[checks.a]\nrun='x'\nneeds=['b']\n[checks.b]\nrun='y'\nneeds=['a']\n"), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("cycle"), "{e}");
    }

    #[test]
    fn version_from_git_is_detected_for_setuptools_scm_and_hatch_vcs() {
        let scm = "[build-system]\nrequires = [\"setuptools>=64\", \"setuptools_scm>=8\"]\n\
                   [project]\nname = \"a\"\ndynamic = [\"version\"]\n";
        assert!(load(None, Some(scm)).unwrap().project.version_from_git);
        let hatch = "[build-system]\nrequires = [\"hatchling\", \"hatch-vcs\"]\n\
                     [project]\nname = \"b\"\ndynamic = [\"version\"]\n[tool.hatch.version]\nsource = \"vcs\"\n";
        assert!(load(None, Some(hatch)).unwrap().project.version_from_git);
        let fixed =
            "[build-system]\nrequires = [\"hatchling\"]\n[project]\nname = \"c\"\nversion = \"1.0\"\n";
        let p = load(None, Some(fixed)).unwrap().project;
        assert!(!p.version_from_git);
        assert_eq!(p.name.as_deref(), Some("c"));
    }

    #[test]
    fn no_config_file_is_an_error() {
        let e = load(None, None).unwrap_err().to_string();
        assert!(e.contains("neither pyproject.toml nor hookgate.toml"), "{e}");
    }
}
