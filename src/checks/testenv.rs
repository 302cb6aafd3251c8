//! The test environment, found the way the project's CI finds it. The first of these that the
//! tree has decides (each is named in the log as "test requirements from ..."):
//!
//! 1. tox's default test environment (`tox.ini` `[testenv]`, `tox.toml` / `[tool.tox]`
//!    `env_run_base`): its `deps`, `extras` and `dependency_groups`;
//! 2. a dependency group, then an extra, then a Poetry group (`[tool.poetry.group.NAME]`,
//!    constraints turned into PEP 440: `^7.2` is `>=7.2,<8`), named `test`, `tests` or
//!    `testing` (then `dev`, and Poetry's old `dev-dependencies`);
//! 3. a requirements file: `requirements/test*.txt`, `requirements-test*.txt`,
//!    `test-requirements.txt`, `requirements/dev*.txt`, `requirements-dev.txt`,
//!    `dev-requirements.txt`.
//!
//! tox's test command also decides the runner: a `commands` line running `python -m unittest`
//! (and no pytest) makes the check run unittest with that line's arguments.
//!
//! The check's own `deps` are added to whichever it is. A requirement that names the package
//! itself (`attrs[tests-mypy]` in attrs' own `tests` extra) is never installed from the index:
//! it becomes an extra of the wheel under test. "No test requirements found" is said loudly.

use std::collections::BTreeMap;
use std::path::Path;

use crate::config::Project;
use crate::pins::normalize;

/// What the test environment installs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestEnv {
    /// Requirements (and `-r FILE` pairs) installed before the wheel, while `wheel` runs.
    pub requirements: Vec<String>,
    /// Extras of the wheel under test to install with it (`wheel[tests]`).
    pub wheel_extras: Vec<String>,
    /// The dependency groups the requirements came from (what a `uv.lock` export selects).
    pub groups: Vec<String>,
    /// Where they came from, for the log; empty when nothing was found.
    pub source: Option<String>,
    /// `python -m unittest`'s arguments (`discover tests`) when tox's test command runs
    /// unittest rather than pytest.
    pub unittest: Option<Vec<String>>,
}

/// Group and extra names that mean "what the tests need", in order.
const NAMES: &[&str] = &["test", "tests", "testing"];

/// Finds the test environment of the tree exported at `src`.
pub fn discover(src: &Path, project: &Project) -> TestEnv {
    let me = project.name.as_deref().map(normalize);
    let poetry = poetry_groups(src);
    let mut env = tox(src, project)
        .or_else(|| from_project(project, NAMES))
        .or_else(|| from_poetry(&poetry, NAMES))
        .or_else(|| requirement_files(src))
        .or_else(|| from_project(project, &["dev"]))
        .or_else(|| from_poetry(&poetry, &["dev", "dev-dependencies"]))
        .unwrap_or_default();
    // A requirement on the package itself is an extra of the wheel under test.
    let mut kept = Vec::new();
    for r in std::mem::take(&mut env.requirements) {
        match self_extras(&r, me.as_deref()) {
            Some(extras) => env.wheel_extras.extend(extras),
            None => kept.push(r),
        }
    }
    env.requirements = kept;
    env.wheel_extras.sort();
    env.wheel_extras.dedup();
    env
}

/// The extras of `requirement` if it names the package `me` itself (`me[a,b]` -> `[a, b]`).
pub fn self_extras(requirement: &str, me: Option<&str>) -> Option<Vec<String>> {
    let me = me?;
    let req = requirement.split(';').next()?.trim();
    let end = req.find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c))).unwrap_or(req.len());
    if normalize(&req[..end]) != me {
        return None;
    }
    let rest = req[end..].trim_start();
    let extras = rest.strip_prefix('[').and_then(|r| r.split(']').next()).unwrap_or("");
    Some(extras.split(',').map(str::trim).filter(|e| !e.is_empty()).map(str::to_string).collect())
}

fn from_project(project: &Project, names: &[&str]) -> Option<TestEnv> {
    for n in names {
        if let Some(r) = project.groups.get(*n) {
            return Some(TestEnv {
                requirements: r.clone(),
                source: Some(format!("dependency group `{n}`")),
                groups: vec![n.to_string()],
                ..TestEnv::default()
            });
        }
    }
    for n in names {
        if project.extras.contains_key(*n) {
            return Some(TestEnv {
                wheel_extras: vec![n.to_string()],
                source: Some(format!("extra `{n}`")),
                ..TestEnv::default()
            });
        }
    }
    None
}

fn from_poetry(groups: &BTreeMap<String, Vec<String>>, names: &[&str]) -> Option<TestEnv> {
    let (name, reqs) = names.iter().find_map(|n| Some((*n, groups.get(*n)?)))?;
    let source = if name == "dev-dependencies" {
        "[tool.poetry.dev-dependencies]".to_string()
    } else {
        format!("Poetry group `{name}`")
    };
    Some(TestEnv { requirements: reqs.clone(), source: Some(source), ..TestEnv::default() })
}

/// Poetry's dependency groups (`[tool.poetry.group.NAME.dependencies]`, and the old
/// `[tool.poetry.dev-dependencies]` as `dev-dependencies`) as PEP 508 requirements. Path, git
/// and URL dependencies are left out (they are not on an index).
pub fn poetry_groups(src: &Path) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    let Some(doc) = std::fs::read_to_string(src.join("pyproject.toml"))
        .ok()
        .and_then(|t| toml::from_str::<toml::Value>(&t).ok())
    else {
        return out;
    };
    let Some(poetry) = doc.get("tool").and_then(|t| t.get("poetry")) else { return out };
    let mut tables: Vec<(String, &toml::value::Table)> = Vec::new();
    if let Some(groups) = poetry.get("group").and_then(toml::Value::as_table) {
        for (name, g) in groups {
            if let Some(deps) = g.get("dependencies").and_then(toml::Value::as_table) {
                tables.push((name.clone(), deps));
            }
        }
    }
    if let Some(deps) = poetry.get("dev-dependencies").and_then(toml::Value::as_table) {
        tables.push(("dev-dependencies".into(), deps));
    }
    for (name, deps) in tables {
        let reqs =
            deps.iter().filter(|(n, _)| n.as_str() != "python").filter_map(|(n, v)| poetry_requirement(n, v));
        out.insert(name, reqs.collect());
    }
    out
}

/// One Poetry dependency (`pytest = "^7.2"`, `x = { version = "~1.2", extras = ["a"] }`) as
/// a PEP 508 requirement; `None` for path, git and URL dependencies, or a list of alternatives.
fn poetry_requirement(name: &str, value: &toml::Value) -> Option<String> {
    let (constraint, extras) = match value {
        toml::Value::String(c) => (c.as_str(), Vec::new()),
        toml::Value::Table(t) => {
            if ["path", "git", "url", "file"].iter().any(|k| t.contains_key(*k)) {
                return None;
            }
            let extras = t
                .get("extras")
                .and_then(toml::Value::as_array)
                .map(|a| a.iter().filter_map(|e| e.as_str().map(str::to_string)).collect())
                .unwrap_or_default();
            (t.get("version").and_then(toml::Value::as_str).unwrap_or("*"), extras)
        }
        _ => return None,
    };
    let valid = |w: &str| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !valid(name) || !extras.iter().all(|e| valid(e)) {
        return None;
    }
    let spec = poetry_constraint(constraint)?;
    let extras = if extras.is_empty() { String::new() } else { format!("[{}]", extras.join(",")) };
    Some(format!("{name}{extras}{spec}"))
}

/// A Poetry version constraint as a PEP 440 specifier: `^1.2.3` is `>=1.2.3,<2.0.0`, `^0.2` is
/// `>=0.2,<0.3`, `~1.2` is `>=1.2,<1.3`, `1.2.3` is `==1.2.3`, `*` is nothing; PEP 440
/// operators stay. `None` for what has no PEP 440 form (`||` alternatives).
fn poetry_constraint(constraint: &str) -> Option<String> {
    if constraint.contains("||") {
        return None;
    }
    let mut parts = Vec::new();
    for c in constraint.split(',').map(str::trim).filter(|c| !c.is_empty() && *c != "*") {
        let numbers = |v: &str| -> Option<Vec<u64>> { v.trim().split('.').map(|n| n.parse().ok()).collect() };
        let bump = |v: &[u64], at: usize| -> Option<String> {
            let mut up: Vec<u64> = v[..=at].to_vec();
            up[at] = up[at].checked_add(1)?;
            up.extend(std::iter::repeat_n(0, v.len() - at - 1));
            Some(up.iter().map(u64::to_string).collect::<Vec<_>>().join("."))
        };
        if let Some(v) = c.strip_prefix('^') {
            let n = numbers(v)?;
            let at = n.iter().position(|x| *x != 0).unwrap_or(n.len() - 1);
            parts.push(format!(">={},<{}", v.trim(), bump(&n, at)?));
        } else if let Some(v) = c.strip_prefix('~').filter(|v| !v.starts_with('=')) {
            let n = numbers(v)?;
            let at = usize::from(n.len() > 1);
            parts.push(format!(">={},<{}", v.trim(), bump(&n, at)?));
        } else if c.starts_with(['<', '>', '=', '!', '~']) {
            parts.push(c.replace(' ', ""));
        } else if c.chars().all(|ch| ch.is_ascii_alphanumeric() || ".*+".contains(ch)) {
            parts.push(format!("=={c}"));
        } else {
            return None;
        }
    }
    Some(parts.join(","))
}

fn requirement_files(src: &Path) -> Option<TestEnv> {
    let mut candidates: Vec<String> = Vec::new();
    if let Ok(dir) = std::fs::read_dir(src.join("requirements")) {
        let mut names: Vec<String> =
            dir.flatten().map(|e| e.file_name().to_string_lossy().to_string()).collect();
        names.sort();
        candidates.extend(
            names
                .iter()
                .filter(|n| n.starts_with("test") && n.ends_with(".txt"))
                .map(|n| format!("requirements/{n}")),
        );
        candidates.extend(
            names
                .iter()
                .filter(|n| n.starts_with("dev") && n.ends_with(".txt"))
                .map(|n| format!("requirements/{n}")),
        );
    }
    if let Ok(dir) = std::fs::read_dir(src) {
        let mut names: Vec<String> =
            dir.flatten().map(|e| e.file_name().to_string_lossy().to_string()).collect();
        names.sort();
        candidates
            .extend(names.into_iter().filter(|n| n.starts_with("requirements-test") && n.ends_with(".txt")));
    }
    candidates
        .extend(["test-requirements.txt", "requirements-dev.txt", "dev-requirements.txt"].map(String::from));
    let file = candidates.into_iter().find(|c| src.join(c).is_file())?;
    Some(TestEnv {
        requirements: vec!["-r".into(), src.join(&file).display().to_string()],
        source: Some(file),
        ..TestEnv::default()
    })
}

/// tox's default test environment, from `tox.ini`, `tox.toml` or `[tool.tox]`.
fn tox(src: &Path, project: &Project) -> Option<TestEnv> {
    if let Ok(text) = std::fs::read_to_string(src.join("tox.ini")) {
        let ini = parse_ini(&text);
        let base = ini.get("testenv")?;
        let (deps, extras, groups) = (base.get("deps"), base.get("extras"), base.get("dependency_groups"));
        let mut env = tox_env(src, project, "tox.ini [testenv]", deps, extras, groups);
        let commands: Vec<Vec<String>> = base
            .get("commands")
            .map(|c| c.lines().map(|l| l.split_whitespace().map(str::to_string).collect()).collect())
            .unwrap_or_default();
        env.unittest = unittest_args(&commands);
        return Some(env);
    }
    let toml_text =
        std::fs::read_to_string(src.join("tox.toml")).ok().map(|t| (t, "tox.toml", false)).or_else(|| {
            let t = std::fs::read_to_string(src.join("pyproject.toml")).ok()?;
            t.contains("[tool.tox").then_some((t, "pyproject.toml [tool.tox]", true))
        })?;
    let (text, label, nested) = toml_text;
    let value: toml::Value = toml::from_str(&text).ok()?;
    let root = if nested { value.get("tool")?.get("tox")? } else { &value };
    let base = root.get("env_run_base")?;
    let list = |k: &str| -> Option<String> {
        base.get(k)?.as_array().map(|a| a.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join("\n"))
    };
    let (deps, extras, groups) = (list("deps"), list("extras"), list("dependency_groups"));
    let mut env = tox_env(
        src,
        project,
        &format!("{label} env_run_base"),
        deps.as_ref(),
        extras.as_ref(),
        groups.as_ref(),
    );
    // `commands = [["python", "-m", "unittest", ...], ...]`; a `{ replace = ... }` word is not a
    // plain string and is left out.
    let commands: Vec<Vec<String>> = base
        .get("commands")
        .and_then(toml::Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(toml::Value::as_array)
                .map(|c| c.iter().filter_map(|w| w.as_str().map(str::to_string)).collect())
                .collect()
        })
        .unwrap_or_default();
    env.unittest = unittest_args(&commands);
    Some(env)
}

/// unittest's arguments when tox's test commands run `python -m unittest` and nothing runs
/// pytest: the words after `unittest`, with `{toxinidir}/` (`{tox_root}/`) made relative and
/// `{posargs}` dropped. `coverage run ... -m unittest discover tests` counts.
pub fn unittest_args(commands: &[Vec<String>]) -> Option<Vec<String>> {
    if commands.iter().flatten().any(|w| w.contains("pytest")) {
        return None;
    }
    let command = commands.iter().find_map(|c| {
        let at = c.windows(2).position(|w| w[0] == "-m" && w[1] == "unittest")?;
        Some(&c[at + 2..])
    })?;
    let args = command
        .iter()
        .filter(|w| !w.starts_with("{posargs"))
        .map(|w| {
            let mut w = w.clone();
            for var in ["{toxinidir}", "{tox_root}"] {
                w = w.replace(&format!("{var}/"), "").replace(var, ".");
            }
            w
        })
        .collect();
    Some(args)
}

/// The directories unittest's arguments start discovery in (`discover tests`, `-s tests`,
/// `--start-directory=tests`), for the import guard; `tests` when none is named.
pub fn unittest_start_dirs(args: &[String]) -> Vec<String> {
    let mut dirs = Vec::new();
    let mut positional = 0;
    let mut words = args.iter().skip_while(|w| *w != "discover").skip(1);
    while let Some(w) = words.next() {
        if let Some(d) = w.strip_prefix("--start-directory=") {
            dirs.push(d.to_string());
        } else if w == "-s" || w == "--start-directory" {
            dirs.extend(words.next().cloned());
        } else if w == "-p" || w == "-t" || w == "--pattern" || w == "--top-level-directory" {
            words.next();
        } else if !w.starts_with('-') {
            // `discover START [PATTERN [TOP]]`: only the first positional is a directory.
            if positional == 0 {
                dirs.push(w.clone());
            }
            positional += 1;
        }
    }
    if dirs.is_empty() {
        dirs.push("tests".into());
    }
    dirs
}

fn tox_env(
    src: &Path,
    project: &Project,
    label: &str,
    deps: Option<&String>,
    extras: Option<&String>,
    groups: Option<&String>,
) -> TestEnv {
    let words = |v: Option<&String>| -> Vec<String> {
        v.map(|s| {
            s.split(['\n', ','])
                .map(str::trim)
                // Factor-conditional lines (`py38: mock`) belong to other environments.
                .filter(|l| !l.is_empty() && !l.starts_with('#') && !is_factor_line(l))
                .map(|l| {
                    l.replace("{toxinidir}", &src.display().to_string())
                        .replace("{tox_root}", &src.display().to_string())
                })
                .collect()
        })
        .unwrap_or_default()
    };
    let mut requirements = Vec::new();
    for d in words(deps) {
        if let Some(file) = d.strip_prefix("-r").map(str::trim) {
            requirements.push("-r".into());
            requirements.push(src.join(file).display().to_string());
        } else if let Some(file) = d.strip_prefix("-c").map(str::trim) {
            requirements.push("-c".into());
            requirements.push(src.join(file).display().to_string());
        } else {
            requirements.push(d);
        }
    }
    // Dependency groups, expanded from pyproject.toml (with their `include-group`s).
    let groups = words(groups);
    for g in &groups {
        requirements.extend(project.groups.get(g).cloned().unwrap_or_default());
    }
    TestEnv {
        requirements,
        wheel_extras: words(extras),
        groups,
        source: Some(label.to_string()),
        unittest: None,
    }
}

/// Whether a tox line is conditional on factors (`py38,py39: mock`, `!pypy: x`).
fn is_factor_line(line: &str) -> bool {
    let Some((head, _)) = line.split_once(':') else { return false };
    !head.is_empty()
        && head.chars().all(|c| c.is_ascii_alphanumeric() || "-_,!{} ".contains(c))
        && !head.contains("//")
}

/// Where the tests are, as pytest would find them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestPaths {
    /// pytest's own configuration names them (`testpaths` in the named file): run pytest
    /// with no path, so it reads that configuration itself.
    Configured(String),
    /// These directories or files, given to pytest.
    Given(Vec<String>),
}

/// `testpaths` from pytest's configuration files, in pytest's order of precedence:
/// `pytest.ini`, `pyproject.toml` (`[tool.pytest.ini_options]` or `[tool.pytest]`), `tox.ini`
/// (`[pytest]`), `setup.cfg` (`[tool:pytest]`). `read` reads a file of the tree's root.
pub fn configured_testpaths(read: &dyn Fn(&str) -> Option<String>) -> Option<(String, Vec<String>)> {
    let split = |v: &str| -> Vec<String> { v.split_whitespace().map(str::to_string).collect() };
    if let Some(text) = read("pytest.ini") {
        let ini = parse_ini(&text);
        // pytest.ini decides even without testpaths (it is the config file pytest uses).
        return ini.get("pytest").and_then(|s| s.get("testpaths")).map(|v| ("pytest.ini".into(), split(v)));
    }
    if let Some(text) = read("pyproject.toml")
        && let Ok(doc) = toml::from_str::<toml::Value>(&text)
        && let Some(pytest) = doc.get("tool").and_then(|t| t.get("pytest"))
    {
        let table = pytest.get("ini_options").unwrap_or(pytest);
        match table.get("testpaths") {
            Some(toml::Value::Array(a)) => {
                let paths = a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect();
                return Some(("pyproject.toml".into(), paths));
            }
            Some(toml::Value::String(v)) => return Some(("pyproject.toml".into(), split(v))),
            _ => {}
        }
    }
    for (file, section) in [("tox.ini", "pytest"), ("setup.cfg", "tool:pytest")] {
        if let Some(text) = read(file)
            && let Some(v) = parse_ini(&text).get(section).and_then(|s| s.get("testpaths"))
        {
            return Some((file.to_string(), split(v)));
        }
    }
    None
}

/// Whether a root-level file name is a test module by pytest's default `python_files`.
pub fn is_test_file(name: &str) -> bool {
    name.ends_with(".py") && (name.starts_with("test_") || name.ends_with("_test.py"))
}

/// The tests of the tree exported at `src`: pytest's `testpaths`, else `tests/` or `test/`,
/// else root-level `test_*.py` / `*_test.py` files; `None` when there are none.
pub fn test_paths(src: &Path) -> Option<TestPaths> {
    let read = |f: &str| std::fs::read_to_string(src.join(f)).ok();
    if let Some((file, paths)) = configured_testpaths(&read)
        && paths.iter().any(|p| src.join(p).exists())
    {
        return Some(TestPaths::Configured(file));
    }
    if let Some(dir) = ["tests", "test"].iter().find(|d| src.join(d).is_dir()) {
        return Some(TestPaths::Given(vec![dir.to_string()]));
    }
    let mut files: Vec<String> = std::fs::read_dir(src)
        .ok()?
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| is_test_file(n))
        .collect();
    files.sort();
    (!files.is_empty()).then_some(TestPaths::Given(files))
}

/// A small INI reader, as Python's configparser reads tox.ini and setup.cfg: `[section]`,
/// `key = value`, indented continuation lines, `#`/`;` comments.
pub fn parse_ini(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let (mut section, mut key) = (String::new(), None::<String>);
    for raw in text.lines() {
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if line.starts_with(char::is_whitespace) {
            if let Some(k) = &key
                && let Some(v) = out.get_mut(&section).and_then(|s| s.get_mut(k))
            {
                v.push('\n');
                v.push_str(trimmed);
            }
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            section = name.trim().to_string();
            key = None;
            continue;
        }
        if let Some((k, v)) = trimmed.split_once(['=', ':']) {
            let k = k.trim().to_string();
            out.entry(section.clone()).or_default().insert(k.clone(), v.trim().to_string());
            key = Some(k);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(name: &str) -> Project {
        Project { name: Some(name.into()), ..Project::default() }
    }

    #[test]
    fn a_requirement_on_the_package_itself_is_an_extra_of_the_wheel() {
        assert_eq!(self_extras("attrs[tests-mypy]", Some("attrs")), Some(vec!["tests-mypy".into()]));
        assert_eq!(
            self_extras("Attrs [a, b] ; python_version>'3'", Some("attrs")),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(self_extras("attrs-extra", Some("attrs")), None);
        assert_eq!(self_extras("pytest", Some("attrs")), None);
    }

    #[test]
    fn tox_ini_testenv_decides_with_files_and_factors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("tox.ini"),
            "[tox]\nenvlist = py3\n\n[testenv]\ndeps =\n    -r requirements/tests.txt\n    py38: mock\n    hypothesis\nextras = testing\ncommands = pytest {posargs}\n",
        )
        .unwrap();
        let env = discover(dir.path(), &project("x"));
        assert_eq!(env.source.as_deref(), Some("tox.ini [testenv]"));
        assert_eq!(env.wheel_extras, ["testing"]);
        assert_eq!(env.requirements[0], "-r");
        assert!(env.requirements[1].ends_with("requirements/tests.txt"));
        assert_eq!(&env.requirements[2..], ["hypothesis"]);
    }

    #[test]
    fn groups_then_extras_then_requirement_files_then_dev() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = project("pkg");
        p.groups.insert("dev".into(), vec!["ruff".into()]);
        assert_eq!(discover(dir.path(), &p).source.as_deref(), Some("dependency group `dev`"));
        std::fs::write(dir.path().join("requirements-dev.txt"), "pytest\n").unwrap();
        assert_eq!(discover(dir.path(), &p).source.as_deref(), Some("requirements-dev.txt"));
        p.extras.insert("testing".into(), vec!["pytest".into()]);
        let env = discover(dir.path(), &p);
        assert_eq!(
            (env.source.as_deref(), env.wheel_extras.as_slice()),
            (Some("extra `testing`"), ["testing".to_string()].as_slice())
        );
        p.groups.insert("tests".into(), vec!["pytest".into(), "pkg[extra]".into()]);
        let env = discover(dir.path(), &p);
        assert_eq!(env.source.as_deref(), Some("dependency group `tests`"));
        assert_eq!(
            (env.requirements, env.wheel_extras),
            (vec!["pytest".to_string()], vec!["extra".to_string()])
        );
    }

    #[test]
    fn pytest_finds_tests_where_its_configuration_or_convention_says() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(test_paths(dir.path()), None);
        std::fs::write(dir.path().join("test_six.py"), "").unwrap();
        std::fs::write(dir.path().join("six.py"), "").unwrap();
        assert_eq!(test_paths(dir.path()), Some(TestPaths::Given(vec!["test_six.py".into()])));
        std::fs::create_dir(dir.path().join("tests")).unwrap();
        assert_eq!(test_paths(dir.path()), Some(TestPaths::Given(vec!["tests".into()])));
        std::fs::create_dir(dir.path().join("testing")).unwrap();
        std::fs::write(dir.path().join("tox.ini"), "[pytest]\ntestpaths = testing\n").unwrap();
        assert_eq!(test_paths(dir.path()), Some(TestPaths::Configured("tox.ini".into())));
        std::fs::write(
            dir.path().join("pyproject.toml"),
            "[tool.pytest.ini_options]\ntestpaths = [\"testing\"]\n",
        )
        .unwrap();
        assert_eq!(test_paths(dir.path()), Some(TestPaths::Configured("pyproject.toml".into())));
    }

    #[test]
    fn tox_commands_running_unittest_decide_the_runner() {
        let w = |line: &str| line.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        let markdown =
            [w("coverage run --source=markdown -m unittest discover {toxinidir}/tests"), w("coverage xml")];
        assert_eq!(unittest_args(&markdown), Some(w("discover tests")));
        assert_eq!(unittest_args(&[w("python -m unittest {posargs}")]), Some(vec![]));
        assert_eq!(unittest_args(&[w("pytest {posargs}")]), None);
        assert_eq!(unittest_args(&[w("python -m unittest"), w("python -m pytest")]), None);
        assert_eq!(unittest_args(&[]), None);
        assert_eq!(unittest_start_dirs(&w("discover tests")), ["tests"]);
        assert_eq!(unittest_start_dirs(&w("discover -s src/tests -p *_test.py")), ["src/tests"]);
        assert_eq!(unittest_start_dirs(&w("discover --start-directory=t")), ["t"]);
        assert_eq!(unittest_start_dirs(&w("discover a b c")), ["a"]);
        assert_eq!(unittest_start_dirs(&[]), ["tests"]);

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("tox.ini"),
            "[testenv]\nextras = testing\ncommands =\n    coverage run -m unittest discover {toxinidir}/tests\n",
        )
        .unwrap();
        assert_eq!(discover(dir.path(), &project("x")).unittest, Some(w("discover tests")));
        std::fs::write(dir.path().join("tox.ini"), "[testenv]\ncommands = pytest {posargs}\n").unwrap();
        assert_eq!(discover(dir.path(), &project("x")).unittest, None);
    }

    #[test]
    fn poetry_groups_are_test_requirements_in_pep_440() {
        for (poetry, pep440) in [
            ("^7.2.0", Some(">=7.2.0,<8.0.0")),
            ("^0.2.3", Some(">=0.2.3,<0.3.0")),
            ("^0.0.3", Some(">=0.0.3,<0.0.4")),
            ("^1", Some(">=1,<2")),
            ("~1.2.3", Some(">=1.2.3,<1.3.0")),
            ("~1", Some(">=1,<2")),
            ("~=1.2", Some("~=1.2")),
            (">= 1.0, < 3", Some(">=1.0,<3")),
            ("6.0.1", Some("==6.0.1")),
            ("1.2.*", Some("==1.2.*")),
            ("*", Some("")),
            ("^1 || ^2", None),
            ("^x", None),
            ("^18446744073709551615", None),
        ] {
            assert_eq!(poetry_constraint(poetry).as_deref(), pep440, "{poetry}");
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("pyproject.toml"),
            "[tool.poetry.group.dev.dependencies]\npytest = \"^7.2.0\"\npytest-cov = \"*\"\nPyYAML = { version = \"^6.0\", extras = [\"c\"] }\nlocal = { path = \"../x\" }\npython = \"^3.8\"\n",
        )
        .unwrap();
        let env = discover(dir.path(), &project("tomlkit"));
        assert_eq!(env.source.as_deref(), Some("Poetry group `dev`"));
        assert_eq!(env.requirements, ["PyYAML[c]>=6.0,<7.0", "pytest>=7.2.0,<8.0.0", "pytest-cov"]);
    }

    #[test]
    fn ini_reads_continuations_and_comments() {
        let ini = parse_ini("[a]\nk = 1\n  2\n# c\n[b]\nx: y\n");
        assert_eq!(ini["a"]["k"], "1\n2");
        assert_eq!(ini["b"]["x"], "y");
    }
}
