//! Typed configuration, read from the tree under test: `hookgate.toml` at the root, else
//! `[tool.hookgate]` in `pyproject.toml`. Raw TOML is deserialized with spans, validated, and
//! resolved into [`Config`]: built-in checks merged with their overrides, custom checks in file
//! order. Nothing below this module sees TOML values.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

use crate::checks::{self, Check, KindOptions};
use crate::error::{ConfigError, Error};
use crate::pins::ToolPins;

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
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum RunSpec {
    /// Executed directly, resolved against the venv's `bin` first.
    Argv(Vec<String>),
    /// Executed with `sh -c`.
    Shell(String),
}

/// What a check's snapshot (`src/` of its scratch directory) holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Snapshot {
    /// The whole tree (the default).
    #[default]
    Tree,
    /// Only what the check's `inputs` select, and the directories above it.
    Inputs,
}

/// One resolved check: a built-in with its overrides applied, or a custom command.
#[derive(Debug, Clone)]
pub struct CheckDef {
    /// Name as used in config, `HOOKGATE_SKIP` and reports.
    pub name: String,
    /// Which kind implements it (a built-in, or [`checks::COMMAND`]).
    pub kind: &'static dyn Check,
    /// The command to run from the snapshot's root.
    pub run: RunSpec,
    /// Requirements installed into the check's fresh venv.
    pub deps: Vec<String>,
    /// Stages the check belongs to.
    pub stages: Vec<Stage>,
    /// Paths/globs the check depends on; empty means the whole tree.
    pub inputs: Vec<String>,
    /// What the check's snapshot holds: the whole tree, or only its `inputs`.
    pub snapshot: Snapshot,
    /// Checks that must pass first.
    pub needs: Vec<String>,
    /// Environment variables passed through to the check.
    pub env: Vec<String>,
    /// Time limit.
    pub timeout: Duration,
    /// The kind's own settings (`tool`, `args`, `fail-under`, ...); part of the key.
    pub options: Arc<dyn KindOptions>,
}

impl CheckDef {
    /// The kind's typed options; `None` only if asked for another kind's type.
    pub fn options<T: 'static>(&self) -> Option<&T> {
        self.options.as_any().downcast_ref()
    }
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
    /// `lock`: a locked requirements file the test and docs environments install from; a
    /// `uv.lock` in the tree is used when the config names none (as `uv sync --locked` would).
    pub lock: Option<String>,
    /// `background`: `install` also sets up the post-commit background run.
    pub background: bool,
    /// `python-versions`: the CI matrix (default: derived from `requires-python`).
    pub python_versions: Vec<String>,
    /// `main-branch`: the branch CI tags releases from (default `main`).
    pub main_branch: String,
    /// `ci-install`: the shell step that installs hookgate in CI.
    pub ci_install: Option<String>,
    /// The first of `[share] ci-signers` when it is a plain principal (letters, digits and
    /// `@._+-`): the generated workflow signs CI's verdicts as it. Trust is never read from
    /// here (see [`crate::verdicts::trust`]).
    pub ci_signer: Option<String>,
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
    #[serde(default, rename = "dependency-groups")]
    dependency_groups: BTreeMap<String, Vec<toml::Value>>,
}

#[derive(Deserialize)]
struct ToolTable {
    hookgate: Option<RawConfig>,
    setuptools_scm: Option<toml::Value>,
    hatch: Option<HatchTable>,
    coverage: Option<CoverageTable>,
}

#[derive(Deserialize)]
struct ProjectTable {
    name: Option<String>,
    version: Option<String>,
    #[serde(rename = "requires-python")]
    requires_python: Option<String>,
    #[serde(default)]
    dynamic: Vec<String>,
    #[serde(default, rename = "optional-dependencies")]
    optional_dependencies: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    dependencies: Vec<String>,
}

#[derive(Deserialize)]
struct CoverageTable {
    report: Option<CoverageReport>,
}

#[derive(Deserialize)]
struct CoverageReport {
    fail_under: Option<f64>,
}

#[derive(Deserialize)]
struct BuildSystem {
    #[serde(default)]
    requires: Vec<String>,
}

#[derive(Deserialize)]
struct HatchTable {
    version: Option<toml::Table>,
}

/// Facts about the Python project itself, from `pyproject.toml`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Project {
    /// `[project] name`.
    pub name: Option<String>,
    /// `[project] version`, when it is static (not listed in `dynamic`).
    pub version: Option<String>,
    /// The version comes from git (setuptools-scm, hatch-vcs): the snapshot, which has no
    /// `.git`, gets it from `git describe` instead.
    pub version_from_git: bool,
    /// How that version is computed (`[tool.setuptools_scm]`, or hatch-vcs' options).
    pub scm: crate::scm::Settings,
    /// `[project.optional-dependencies]`.
    pub extras: BTreeMap<String, Vec<String>>,
    /// `[project] dependencies`, when they and the extras are static (a `[project]` table that
    /// lists neither in `dynamic`); `None` when only a build would tell.
    pub dependencies: Option<Vec<String>>,
    /// `[dependency-groups]` (PEP 735), with `include-group` entries expanded.
    pub groups: BTreeMap<String, Vec<String>>,
    /// `[tool.coverage.report] fail_under`.
    pub coverage_fail_under: Option<f64>,
    /// `[project] requires-python`.
    pub requires_python: Option<String>,
    /// The versions the project pins its tools to (see [`crate::pins`]).
    pub pins: ToolPins,
    /// The linter and formatter the project uses (see [`crate::tooling`]).
    pub tooling: crate::tooling::Tooling,
}

impl Project {
    /// Every dependency group and extra, labelled, for finding tool pins.
    pub fn requirement_lists(&self) -> Vec<(String, Vec<String>)> {
        let groups = self.groups.iter().map(|(g, r)| (format!("group `{g}`"), r.clone()));
        let extras = self.extras.iter().map(|(e, r)| (format!("extra `{e}`"), r.clone()));
        groups.chain(extras).collect()
    }

    /// Requirements of the first of `names` found among the extras, then the dependency groups.
    pub fn requirements_for(&self, extras: &[&str], groups: &[&str]) -> Option<(String, Vec<String>)> {
        extras.iter().find_map(|e| self.extras.get(*e).map(|r| (format!("extra `{e}`"), r.clone()))).or_else(
            || groups.iter().find_map(|g| self.groups.get(*g).map(|r| (format!("group `{g}`"), r.clone()))),
        )
    }
}

/// Expands PEP 735 groups: strings are requirements, `{include-group = "x"}` pulls in `x`.
fn expand_groups(raw: &BTreeMap<String, Vec<toml::Value>>) -> BTreeMap<String, Vec<String>> {
    fn expand(name: &str, raw: &BTreeMap<String, Vec<toml::Value>>, depth: usize, out: &mut Vec<String>) {
        if depth > 16 {
            return; // a cycle; the build front-ends reject it, we just stop
        }
        for item in raw.get(name).into_iter().flatten() {
            match item {
                toml::Value::String(req) => out.push(req.clone()),
                toml::Value::Table(t) => {
                    if let Some(toml::Value::String(inc)) = t.get("include-group") {
                        expand(inc, raw, depth + 1, out);
                    }
                }
                _ => {}
            }
        }
    }
    raw.keys()
        .map(|k| {
            let mut out = Vec::new();
            expand(k, raw, 0, &mut out);
            (k.clone(), out)
        })
        .collect()
}

impl PyprojectDoc {
    fn project(&self) -> Project {
        let requires = self.build_system.as_ref().map(|b| b.requires.as_slice()).unwrap_or_default();
        let scm_backend = requires.iter().any(|r| {
            let r = r.to_ascii_lowercase().replace('_', "-");
            r.starts_with("setuptools-scm") || r.starts_with("hatch-vcs")
        });
        let tool = self.tool.as_ref();
        let hatch_vcs = tool
            .and_then(|t| t.hatch.as_ref())
            .and_then(|h| h.version.as_ref())
            .filter(|v| v.get("source").and_then(toml::Value::as_str) == Some("vcs"));
        let scm_table = tool.and_then(|t| t.setuptools_scm.as_ref());
        let scm_configured = hatch_vcs.is_some() || scm_table.is_some();
        let scm = match hatch_vcs {
            Some(options) => crate::scm::Settings::from_hatch(options),
            None => crate::scm::Settings::from_setuptools_scm(scm_table.and_then(toml::Value::as_table)),
        };
        let dynamic = self.project.as_ref().is_some_and(|p| p.dynamic.iter().any(|d| d == "version"));
        Project {
            name: self.project.as_ref().and_then(|p| p.name.clone()),
            version: self.project.as_ref().filter(|_| !dynamic).and_then(|p| p.version.clone()),
            requires_python: self.project.as_ref().and_then(|p| p.requires_python.clone()),
            version_from_git: dynamic && (scm_backend || scm_configured),
            scm,
            extras: self.project.as_ref().map(|p| p.optional_dependencies.clone()).unwrap_or_default(),
            dependencies: self
                .project
                .as_ref()
                .filter(|p| !p.dynamic.iter().any(|d| d == "dependencies" || d == "optional-dependencies"))
                .map(|p| p.dependencies.clone()),
            groups: expand_groups(&self.dependency_groups),
            coverage_fail_under: tool
                .and_then(|t| t.coverage.as_ref())
                .and_then(|c| c.report.as_ref())
                .and_then(|r| r.fail_under),
            pins: ToolPins::default(),
            tooling: crate::tooling::Tooling::default(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawConfig {
    defaults: Option<bool>,
    python: Option<String>,
    lock: Option<Spanned<String>>,
    background: Option<bool>,
    python_versions: Option<Vec<String>>,
    main_branch: Option<String>,
    ci_install: Option<String>,
    /// The sharing policy: read by [`crate::verdicts::trust`] from the default branch's tree
    /// only, never from the tree under test; here only CI's principal, for the workflow.
    share: Option<toml::Value>,
    #[serde(default)]
    checks: BTreeMap<String, Spanned<RawCheck>>,
}

/// The keys of a check's table beyond the common ones: the kind's own options, with spans.
pub type RawOptions = BTreeMap<Spanned<String>, Spanned<toml::Value>>;

/// One check's table. Every check takes the common keys; the rest are collected for the kind,
/// which parses them into its own typed options (so a kind's settings live in its own file).
#[derive(Default)]
struct RawCheck {
    run: Option<Spanned<toml::Value>>,
    deps: Option<Vec<String>>,
    stages: Option<Vec<Stage>>,
    inputs: Option<Vec<Spanned<String>>>,
    snapshot: Option<Spanned<String>>,
    needs: Option<Vec<Spanned<String>>>,
    env: Option<Vec<Spanned<String>>>,
    timeout: Option<Spanned<u64>>,
    enabled: Option<bool>,
    options: RawOptions,
}

/// The keys every check takes.
const COMMON_KEYS: &[&str] =
    &["run", "deps", "stages", "inputs", "snapshot", "needs", "env", "timeout", "enabled"];

impl<'de> Deserialize<'de> for RawCheck {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RawCheck, D::Error> {
        struct TableVisitor;
        impl<'de> Visitor<'de> for TableVisitor {
            type Value = RawCheck;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table of check settings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawCheck, A::Error> {
                let mut c = RawCheck::default();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    match key.get_ref().as_str() {
                        "run" => c.run = Some(map.next_value()?),
                        "deps" => c.deps = Some(map.next_value()?),
                        "stages" => c.stages = Some(map.next_value()?),
                        "inputs" => c.inputs = Some(map.next_value()?),
                        "snapshot" => c.snapshot = Some(map.next_value()?),
                        "needs" => c.needs = Some(map.next_value()?),
                        "env" => c.env = Some(map.next_value()?),
                        "timeout" => c.timeout = Some(map.next_value()?),
                        "enabled" => c.enabled = Some(map.next_value()?),
                        _ => {
                            c.options.insert(key, map.next_value()?);
                        }
                    }
                }
                Ok(c)
            }
        }
        d.deserialize_map(TableVisitor)
    }
}

/// A kind's own keys, as the kind sees them: it parses them into its typed options and may
/// report an error at any of them (`file:line:col`).
pub struct OptionTable<'a> {
    check: &'a str,
    kind: &'static dyn Check,
    raw: &'a RawOptions,
    file: &'a str,
    text: &'a str,
}

impl OptionTable<'_> {
    /// The check's name.
    pub fn check(&self) -> &str {
        self.check
    }

    /// A config error at the value of `key` (or the table when it is not set).
    pub fn error_at(&self, key: &str, message: String) -> Error {
        let span = self.raw.iter().find(|(k, _)| k.get_ref() == key).map(|(_, v)| v.span());
        Error::Config(ConfigError::at(self.file, self.text, span, message))
    }

    /// Parses the keys into `T` (a struct with `deny_unknown_fields` and kebab-case names, every
    /// field optional). A key `T` does not take is an error at that key naming the kinds that
    /// take it; a value of the wrong type is an error at that value.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, Error> {
        let at = |span: Range<usize>, msg: String| {
            Error::Config(ConfigError::at(self.file, self.text, Some(span), msg))
        };
        for (key, value) in self.raw {
            let name = key.get_ref();
            if !self.kind.option_names().contains(&name.as_str()) {
                let takers: Vec<&str> = checks::BUILTINS
                    .iter()
                    .filter(|k| k.option_names().contains(&name.as_str()))
                    .map(|k| k.name())
                    .collect();
                let msg = if takers.is_empty() {
                    let mut known: Vec<&str> = COMMON_KEYS.to_vec();
                    known.extend(self.kind.option_names());
                    format!("unknown field `{name}`, expected one of {}", quoted(&known))
                } else {
                    format!(
                        "check `{}` does not take `{name}` (it applies to: {})",
                        self.check,
                        takers.join(", ")
                    )
                };
                return Err(at(key.span(), msg));
            }
            let single =
                toml::Value::Table(toml::Table::from_iter([(name.clone(), value.get_ref().clone())]));
            if let Err(e) = T::deserialize(single) {
                return Err(at(
                    value.span(),
                    format!("check `{}`: `{name}`: {}", self.check, e.message().trim_end()),
                ));
            }
        }
        let all: toml::Table =
            self.raw.iter().map(|(k, v)| (k.get_ref().clone(), v.get_ref().clone())).collect();
        T::deserialize(toml::Value::Table(all)).map_err(|e| {
            Error::Config(ConfigError::at(self.file, self.text, None, e.message().trim_end().to_string()))
        })
    }
}

fn quoted(names: &[&str]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

/// The files of a tree's root that decide its config, when present.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConfigFiles<'a> {
    /// `hookgate.toml`.
    pub hookgate_toml: Option<&'a str>,
    /// `pyproject.toml`.
    pub pyproject: Option<&'a str>,
    /// `uv.lock` (tool pins).
    pub uv_lock: Option<&'a str>,
    /// `.pre-commit-config.yaml` (tool pins).
    pub precommit: Option<&'a str>,
    /// `pylock.toml` (tool pins).
    pub pylock: Option<&'a str>,
    /// Whether the tree has a `setup.py`: a package built the old way, checked with defaults.
    pub setup_py: bool,
    /// `setup.cfg` (a `[flake8]` section).
    pub setup_cfg: Option<&'a str>,
    /// `tox.ini` (`[flake8]`, the `flake8` environment's paths).
    pub tox_ini: Option<&'a str>,
    /// Whether `ruff.toml` or `.ruff.toml` is in the tree.
    pub ruff_toml: bool,
    /// Whether `.flake8` is in the tree.
    pub flake8_file: bool,
}

/// Parses and resolves the config from `hookgate.toml` and `pyproject.toml` alone.
pub fn load(hookgate_toml: Option<&str>, pyproject: Option<&str>) -> Result<Config, Error> {
    load_files(&ConfigFiles { hookgate_toml, pyproject, ..ConfigFiles::default() })
}

/// Parses and resolves the config found in a tree. With neither `hookgate.toml` nor
/// `pyproject.toml` there is nothing to check and that is an error.
pub fn load_files(files: &ConfigFiles<'_>) -> Result<Config, Error> {
    let ConfigFiles { hookgate_toml, pyproject, uv_lock, precommit, setup_py, .. } = *files;
    let (source, text) = match (hookgate_toml, pyproject) {
        (Some(text), _) => (ConfigSource::HookgateToml, text),
        (None, Some(text)) => (ConfigSource::Pyproject, text),
        // A setup.py-only package (no pyproject.toml yet) gets the standard suite.
        (None, None) if setup_py => (ConfigSource::Pyproject, ""),
        (None, None) => {
            return Err(Error::Config(ConfigError {
                file: "pyproject.toml".into(),
                line: None,
                column: None,
                message: "neither pyproject.toml, setup.py nor hookgate.toml is in this tree; \
                          hookgate checks Python packages: commit a pyproject.toml (or a \
                          hookgate.toml naming the checks) at the repository root"
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
    let mut project = doc.as_ref().map(PyprojectDoc::project).unwrap_or_default();
    project.pins = ToolPins::discover(uv_lock, precommit, &project.requirement_lists());
    if let Some(text) = files.pylock {
        project.pins = std::mem::take(&mut project.pins).with_pylock(text);
    }
    let pyproject_value = pyproject.and_then(|p| toml::from_str::<toml::Value>(p).ok());
    project.tooling = crate::tooling::detect(
        &crate::tooling::ToolingFiles {
            pyproject: pyproject_value.as_ref(),
            precommit,
            setup_cfg: files.setup_cfg,
            tox_ini: files.tox_ini,
            ruff_toml: files.ruff_toml,
            flake8_file: files.flake8_file,
        },
        &project.requirement_lists(),
    );
    let raw = match source {
        ConfigSource::HookgateToml => {
            toml::from_str::<RawConfig>(text).map_err(|e| located(source.file(), text, e))?
        }
        ConfigSource::Pyproject => doc.and_then(|d| d.tool).and_then(|t| t.hookgate).unwrap_or_default(),
    };
    let mut config = resolve(raw, source, text, &project)?;
    if config.lock.is_none() && uv_lock.is_some() {
        config.lock = Some("uv.lock".to_string());
    }
    config.project = project;
    Ok(config)
}

fn resolve(raw: RawConfig, source: ConfigSource, text: &str, project: &Project) -> Result<Config, Error> {
    let file = source.file();
    let err = |span: std::ops::Range<usize>, msg: String| {
        Error::Config(ConfigError::at(file, text, Some(span), msg))
    };
    let defaults = raw.defaults.unwrap_or(true);

    // Built-ins first, in their canonical order; then custom checks in file order.
    let mut tables: Vec<(&String, &Spanned<RawCheck>)> = raw.checks.iter().collect();
    tables.sort_by_key(|(_, t)| t.span().start);
    let mut checks = Vec::new();
    for &kind in checks::BUILTINS {
        let table = raw.checks.get(kind.name());
        if table.is_none() && (!defaults || !kind.on_by_default()) {
            continue;
        }
        let empty = RawCheck::default();
        let t = table.map_or(&empty, |t| t.get_ref());
        if t.enabled == Some(false) {
            continue;
        }
        checks.push(build(kind.name(), kind, t, text, file, project)?);
    }
    for (name, table) in &tables {
        if checks::builtin(name).is_some() {
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
                    checks::builtin_names().join(", ")
                ),
            ));
        }
        checks.push(build(name, checks::COMMAND, t, text, file, project)?);
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
    // A built-in's own needs (`test` needs `wheel`, ...) must be enabled too.
    for c in &checks {
        for need in c.kind.needs() {
            if !checks.iter().any(|x| x.name == *need) {
                let span = raw.checks.get(*need).or_else(|| raw.checks.get(&c.name)).map(toml::Spanned::span);
                return Err(Error::Config(ConfigError::at(
                    file,
                    text,
                    span,
                    format!(
                        "check `{}` needs `{need}`, which is disabled: enable `{need}`, or disable `{}` too",
                        c.name, c.name
                    ),
                )));
            }
        }
    }
    if let Some(cycle) = find_cycle(&checks) {
        let span = raw.checks.get(&cycle[0]).map_or(0..0, toml::Spanned::span);
        return Err(err(span, format!("`needs` forms a cycle: {}", cycle.join(" -> "))));
    }
    Ok(Config {
        source,
        python: raw.python,
        checks,
        project: Project::default(),
        lock: match raw.lock {
            Some(l) => {
                inside_tree(l.get_ref()).map_err(|m| err(l.span(), format!("`lock`: {m}")))?;
                Some(l.into_inner())
            }
            None => None,
        },
        background: raw.background.unwrap_or(false),
        python_versions: raw.python_versions.unwrap_or_default(),
        main_branch: raw.main_branch.unwrap_or_else(|| "main".into()),
        ci_signer: raw
            .share
            .as_ref()
            .and_then(|t| t.get("ci-signers")?.as_array()?.first()?.as_str().map(str::to_string))
            .filter(|p| {
                !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b"@._+-".contains(&b))
            }),
        ci_install: raw.ci_install,
    })
}

/// The longest `timeout` accepted: a week. Larger values would overflow deadlines and are
/// never what anyone meant.
pub const MAX_TIMEOUT_SECS: u64 = 7 * 24 * 3600;

fn build(
    name: &str,
    kind: &'static dyn Check,
    t: &RawCheck,
    text: &str,
    file: &str,
    project: &Project,
) -> Result<CheckDef, Error> {
    let err = |span: Range<usize>, msg: String| Error::Config(ConfigError::at(file, text, Some(span), msg));
    let options = kind.parse_options(&OptionTable { check: name, kind, raw: &t.options, file, text })?;
    let defaults = kind.defaults(options.as_ref(), project);
    let run = match &t.run {
        Some(run) if !kind.accepts_run() => {
            return Err(err(
                run.span(),
                format!(
                    "check `{name}` is the built-in `{}`, which runs no command of yours: drop `run`, \
                     or give your command its own check name ([checks.my-{name}])",
                    kind.name()
                ),
            ));
        }
        Some(run) => run_spec(name, run).map_err(|m| err(run.span(), m))?,
        None => defaults.run.clone(),
    };
    let timeout = match &t.timeout {
        Some(s) if *s.get_ref() == 0 || *s.get_ref() > MAX_TIMEOUT_SECS => {
            return Err(err(
                s.span(),
                format!("check `{name}`: `timeout` is in seconds, from 1 to {MAX_TIMEOUT_SECS} (a week)"),
            ));
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
    let snapshot = match &t.snapshot {
        None => Snapshot::Tree,
        Some(s) if s.get_ref() == "tree" => Snapshot::Tree,
        Some(s) if s.get_ref() == "inputs" && t.inputs.as_ref().is_none_or(Vec::is_empty) => {
            return Err(err(
                s.span(),
                format!(
                    "check `{name}`: `snapshot = \"inputs\"` gives the check only what its `inputs` \
                     select, and it has none: list them (`inputs = [\"src/\", \"tests/\"]`)"
                ),
            ));
        }
        Some(s) if s.get_ref() == "inputs" => Snapshot::Inputs,
        Some(s) => {
            return Err(err(
                s.span(),
                format!(
                    "check `{name}`: `snapshot` is \"tree\" (the whole tree, the default) or \
                     \"inputs\" (only what `inputs` select), got `{}`",
                    s.get_ref().escape_default()
                ),
            ));
        }
    };
    let mut stages = t.stages.clone().unwrap_or_else(|| defaults.stages.clone());
    stages.sort();
    stages.dedup();
    Ok(CheckDef {
        name: name.to_string(),
        kind,
        run,
        deps: t.deps.clone().unwrap_or_else(|| defaults.deps.clone()),
        stages,
        inputs: {
            let mut inputs = Vec::new();
            for i in t.inputs.iter().flatten() {
                inside_tree(i.get_ref())
                    .map_err(|m| err(i.span(), format!("check `{name}`: `inputs`: {m}")))?;
                inputs.push(i.get_ref().clone());
            }
            inputs
        },
        snapshot,
        needs: {
            let mut needs: Vec<String> = kind.needs().iter().map(std::string::ToString::to_string).collect();
            for n in t.needs.iter().flatten() {
                if !needs.contains(n.get_ref()) {
                    needs.push(n.get_ref().clone());
                }
            }
            needs
        },
        env: t.env.iter().flatten().map(|n| n.get_ref().clone()).collect(),
        timeout: Duration::from_secs(timeout),
        options,
    })
}

/// Refuses a path from the config that could leave the tree: absolute, with a `..`
/// component, empty, or with a NUL byte. Paths in config are relative to the tree's root.
pub fn inside_tree(path: &str) -> Result<(), String> {
    if path.is_empty() || path.contains('\0') {
        return Err(format!("`{}` is not a path in the tree", path.escape_default()));
    }
    if path.starts_with('/') || path.starts_with('~') {
        return Err(format!("`{path}` is outside the tree: give a path relative to the repository root"));
    }
    if path.split(['/', '\\']).any(|c| c == "..") {
        return Err(format!("`{path}` leaves the tree (`..`): give a path inside the repository"));
    }
    Ok(())
}

/// A `run` value: a list of strings (argv) or a string (run by `sh -c`), not empty.
fn run_spec(name: &str, run: &Spanned<toml::Value>) -> Result<RunSpec, String> {
    let expected = "`run` is the check's command: a list of strings (`run = [\"pytest\", \"-x\"]`, \
                    run directly) or a string (`run = \"pytest -x && echo ok\"`, run by `sh -c`)";
    let spec = match run.get_ref() {
        toml::Value::String(s) => RunSpec::Shell(s.clone()),
        toml::Value::Array(items) => {
            let words: Option<Vec<String>> = items.iter().map(|i| i.as_str().map(str::to_string)).collect();
            RunSpec::Argv(
                words.ok_or_else(|| {
                    format!("check `{name}`: {expected}; got a list that is not all strings")
                })?,
            )
        }
        other => {
            let what = other.type_str();
            let article = if what.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
            return Err(format!("check `{name}`: {expected}; got {article} {what}"));
        }
    };
    let empty = match &spec {
        RunSpec::Argv(argv) => argv.first().is_none_or(std::string::String::is_empty),
        RunSpec::Shell(s) => s.trim().is_empty(),
    };
    if empty {
        return Err(format!("check `{name}`: `run` is empty"));
    }
    Ok(spec)
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
    fn zero_config_gives_the_standard_suite() {
        let c = load(None, Some("[project]\nname = \"x\"\n")).unwrap();
        assert_eq!(names(&c), ["lint", "format", "wheel", "test", "coverage", "version", "docs"]);
        assert_eq!(c.check("test").unwrap().needs, ["wheel"]);
        assert_eq!(c.check("coverage").unwrap().needs, ["test"]);
        assert_eq!(c.check("version").unwrap().stages, [Stage::PrePush]);
        assert_eq!(
            c.checks[0].run,
            RunSpec::Argv(vec![
                "ruff".into(),
                "check".into(),
                "--no-fix".into(),
                "--no-cache".into(),
                ".".into()
            ])
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
        assert_eq!(names(&c), ["lint", "wheel", "test", "coverage", "version", "docs", "zeta", "alpha"]);
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
        let p = load(None, Some(hatch)).unwrap().project;
        assert!(p.version_from_git && p.scm.tool == crate::scm::Tool::HatchVcs);
        let scm_settings = format!("{scm}[tool.setuptools_scm]\nversion_scheme = \"post-release\"\n");
        let p = load(None, Some(&scm_settings)).unwrap().project;
        assert_eq!(p.scm.scheme, crate::scm::Scheme::PostRelease);
        let fixed =
            "[build-system]\nrequires = [\"hatchling\"]\n[project]\nname = \"c\"\nversion = \"1.0\"\n";
        let p = load(None, Some(fixed)).unwrap().project;
        assert!(!p.version_from_git);
        assert_eq!(p.name.as_deref(), Some("c"));
    }

    #[test]
    fn options_are_validated_per_kind() {
        let e = load(Some("[checks.lint]\nfail-under = 80\n"), None).unwrap_err().to_string();
        assert!(e.starts_with("hookgate.toml:2:1:") && e.contains("does not take `fail-under`"), "{e}");
        let e = load(Some("[checks.format]\ntool = \"yapf\"\n"), None).unwrap_err().to_string();
        assert!(e.contains("unknown tool `yapf`"), "{e}");
        let c = load(Some("[checks.coverage]\nfail-under = 85\n[checks.lint]\ntool = \"flake8\"\n"), None)
            .unwrap();
        let coverage = c.check("coverage").unwrap();
        assert_eq!(coverage.options.to_key(), serde_json::json!({"fail-under": 85.0}));
        let flake8 = crate::pins::DEFAULTS.iter().find(|(t, _)| *t == "flake8").unwrap().1;
        assert_eq!(c.check("lint").unwrap().deps, [format!("flake8=={flake8}")]);
        let e = load(Some("[checks.wheel]\nenabled = false\n"), None).unwrap_err().to_string();
        assert!(e.contains("check `test` needs `wheel`, which is disabled"), "{e}");
    }

    #[test]
    fn project_facts_feed_the_builtins() {
        let text = "[project]\nname = \"p\"\n[project.optional-dependencies]\ndocs = [\"sphinx\"]\n\
                    [dependency-groups]\ntest = [\"pytest\", {include-group = \"extra\"}]\nextra = [\"hypothesis\"]\n\
                    [tool.coverage.report]\nfail_under = 75\n";
        let p = load(None, Some(text)).unwrap().project;
        assert_eq!(p.coverage_fail_under, Some(75.0));
        assert_eq!(p.requirements_for(&["test"], &["test"]).unwrap().1, ["pytest", "hypothesis"]);
        assert_eq!(p.requirements_for(&["docs"], &["docs"]).unwrap().0, "extra `docs`");
    }

    #[test]
    fn no_config_file_is_an_error() {
        let e = load(None, None).unwrap_err().to_string();
        assert!(e.contains("neither pyproject.toml, setup.py nor hookgate.toml"), "{e}");
    }
}
