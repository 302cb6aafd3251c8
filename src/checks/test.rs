//! Built-in `test`: pytest (or unittest, when tox's test command runs it) against the
//! **installed wheel** built by `wheel`. A fresh venv gets
//! the wheel plus the test requirements, found as the project's CI finds them (`testenv.rs`),
//! or the lock file. The wheel's top-level packages are moved out of the snapshot while pytest
//! runs, and an import guard in the venv (`py/import_guard.py`) refuses every other module of
//! the source tree but the test paths and `conftest.py` files, so every import of the project
//! resolves to site-packages: a module left out of the wheel (a package module, or a root-level
//! `helper.py`) makes an importing test fail. With `coverage` enabled, the run is measured and
//! the data kept as this check's artifact.

use std::sync::Arc;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::invocation::{check, setup};
use super::{Check, Invocation, KindOptions, lock, testenv};
use crate::config::{CheckDef, Config, OptionTable};
use crate::error::Error;
use crate::git::{Repo, TreeRef};
use crate::outcome::Ended;

const RUNNER: &str = include_str!("py/test_runner.py");
const GUARD: &str = include_str!("py/import_guard.py");

/// The `test` kind.
pub struct Test;

/// `test`'s settings.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestOptions {
    /// Extra pytest arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Test paths (default: `tests` or `test`).
    #[serde(default)]
    pub paths: Vec<String>,
    /// `false`: never reuse the verdict of another tree with the same wheel (early cutoff).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cutoff: Option<bool>,
}

static NO_OPTIONS: TestOptions = TestOptions { args: Vec::new(), paths: Vec::new(), cutoff: None };

fn options(def: &CheckDef) -> &TestOptions {
    def.options::<TestOptions>().unwrap_or(&NO_OPTIONS)
}

/// Whether the tree has tests pytest would find (see [`testenv::test_paths`]); on the cached
/// path: id lookups first, config files read only when there is no `tests/` or `test/`.
fn has_tests(repo: &Repo, tree: &TreeRef) -> Result<bool> {
    for dir in ["tests", "test"] {
        if repo.is_dir(tree.id, dir)? {
            return Ok(true);
        }
    }
    let read = |f: &str| repo.read_file(tree.id, f).ok().flatten();
    if let Some((_, paths)) = testenv::configured_testpaths(&read) {
        for p in paths {
            if repo.path_id(tree.id, p.trim_end_matches('/'))?.is_some() {
                return Ok(true);
            }
        }
    }
    Ok(repo.root_names(tree.id)?.iter().any(|n| testenv::is_test_file(n)))
}

/// Files of the tree's root a test environment may be found from.
const ENVIRONMENT_FILES: &[&str] = &[
    "tox.ini",
    "tox.toml",
    "setup.cfg",
    "pytest.ini",
    "requirements",
    "requirements-test.txt",
    "requirements-tests.txt",
    "test-requirements.txt",
    "requirements-dev.txt",
    "dev-requirements.txt",
];

/// Whether a pytest argument names a file or directory of the snapshot (`tests/a.py::test_b`
/// names `tests/a.py`).
fn names_a_path(root: &std::path::Path, arg: &str) -> bool {
    let path = std::path::Path::new(arg.split("::").next().unwrap_or(arg));
    !arg.starts_with('-')
        && path
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_) | std::path::Component::CurDir))
        && root.join(path).exists()
}

/// What the test environment is installed from, besides the tree: whether the run is
/// measured, `pyproject.toml` (extras, groups) and the lock file. These matter even when
/// `inputs` narrows the key. Shared by `test`, `coverage` and `docs`.
pub fn environment_variant(config: &Config, repo: &Repo, tree: &TreeRef) -> Result<Value> {
    let id =
        |path: &str| -> Result<Option<String>> { Ok(repo.path_id(tree.id, path)?.map(|o| o.to_string())) };
    // The files the environment can come from (tox, requirement files, pytest's config).
    let mut files = serde_json::Map::new();
    for f in ENVIRONMENT_FILES {
        if let Some(oid) = id(f)? {
            files.insert(f.to_string(), json!(oid));
        }
    }
    Ok(json!({
        "coverage": config.check("coverage").is_some(),
        "pyproject": id("pyproject.toml")?,
        "lock": match &config.lock { Some(l) => json!([l, id(l)?]), None => Value::Null },
        "files": files,
    }))
}

impl Check for Test {
    fn name(&self) -> &'static str {
        "test"
    }

    fn builds_package(&self, _def: &CheckDef) -> bool {
        true
    }

    fn needs(&self) -> &'static [&'static str] {
        &["wheel"]
    }

    fn option_names(&self) -> &'static [&'static str] {
        &["args", "paths", "cutoff"]
    }

    fn parse_options(&self, table: &OptionTable<'_>) -> Result<Arc<dyn KindOptions>, Error> {
        let o: TestOptions = table.parse()?;
        for p in &o.paths {
            crate::config::inside_tree(p)
                .map_err(|m| table.error_at("paths", format!("check `{}`: `paths`: {m}", table.check())))?;
        }
        Ok(Arc::new(o))
    }

    /// Skipped when there is nothing to run.
    fn not_applicable(&self, def: &CheckDef, repo: &Repo, tree: &TreeRef) -> Result<Option<String>> {
        if !options(def).paths.is_empty() || has_tests(repo, tree)? {
            return Ok(None);
        }
        Ok(Some(
            "no tests: no `testpaths` in pytest's configuration, no tests/ or test/ directory, no \
             root-level test_*.py (set `paths` to name the tests)"
                .into(),
        ))
    }

    fn key_variant(&self, _def: &CheckDef, config: &Config, repo: &Repo, tree: &TreeRef) -> Result<Value> {
        environment_variant(config, repo, tree)
    }

    fn keeps_artifacts(&self) -> bool {
        true
    }

    /// Where the tests are collected from, read from the tree as [`Test::execute`] finds them
    /// in the snapshot: `paths`, else pytest's `testpaths`, else `tests/` or `test/`, else the
    /// root-level test files, plus the paths `args` name; nothing (the whole tree) when tox's
    /// configuration may run unittest discovery instead.
    fn cutoff_reads(
        &self,
        def: &CheckDef,
        _config: &Config,
        repo: &Repo,
        tree: &TreeRef,
    ) -> Result<Option<crate::cutoff::TestReads>> {
        let opts = options(def);
        if opts.cutoff == Some(false) {
            return Ok(None);
        }
        let read = |f: &str| repo.read_file(tree.id, f).ok().flatten();
        let exists = |p: &str| -> Result<bool> {
            let p = p.split("::").next().unwrap_or(p).trim_end_matches('/');
            Ok(!p.is_empty() && repo.path_id(tree.id, p)?.is_some())
        };
        let unittest = ["tox.ini", "tox.toml", "pyproject.toml"]
            .iter()
            .any(|f| read(f).is_some_and(|t| t.contains("unittest")));
        let mut paths = Vec::new();
        if !unittest {
            if !opts.paths.is_empty() {
                paths = opts.paths.clone();
            } else if let Some((_, configured)) = testenv::configured_testpaths(&read)
                && configured.iter().map(|p| exists(p)).collect::<Result<Vec<bool>>>()?.contains(&true)
            {
                paths = configured;
            } else if let Some(dir) =
                ["tests", "test"].into_iter().find(|d| repo.is_dir(tree.id, d).unwrap_or(false))
            {
                paths.push(dir.to_string());
            } else {
                paths = repo.root_names(tree.id)?.into_iter().filter(|n| testenv::is_test_file(n)).collect();
            }
            for a in opts.args.iter().filter(|a| !a.starts_with('-')) {
                if exists(a)? {
                    paths.push(a.clone());
                }
            }
        }
        Ok(Some(crate::cutoff::TestReads { paths, args: opts.args.clone() }))
    }

    /// Installs the test requirements and tools (everything but the wheel) while `wheel` runs.
    fn prepare(&self, inv: &mut Invocation<'_>, config: &Config) -> Result<Ended> {
        let mut tools = vec!["pytest".to_string()];
        if config.check("coverage").is_some() {
            tools.push("coverage".into());
        }
        match &config.lock {
            Some(path) => {
                let env = testenv::discover(&inv.src, &config.project);
                let args = lock::install_args(inv, path, &env.groups, &env.wheel_extras)?;
                setup!("installing the lock file", inv.install(&args));
                setup!("installing pytest", inv.install(&tools));
            }
            None => {
                let env = testenv::discover(&inv.src, &config.project);
                match &env.source {
                    Some(from) => inv.note(&format!("test requirements from {from}")),
                    None => inv.note(
                        "WARNING: no test requirements found (no tox testenv, no group or extra named \
                         test/tests/testing/dev, no test or dev requirements file): installing pytest \
                         alone; name them in the check's `deps` if the tests need more",
                    ),
                }
                let mut reqs = env.requirements;
                reqs.extend(inv.def.deps.iter().cloned());
                reqs.extend(tools);
                let mut seen = std::collections::BTreeSet::new();
                reqs.retain(|r| seen.insert(r.clone()));
                setup!("installing the test requirements", inv.install(&reqs));
            }
        }
        Ok(Ended::Pass)
    }

    /// Installs the wheel `wheel` built, then runs pytest through the runner script.
    fn execute(&self, inv: &mut Invocation<'_>, config: &Config) -> Result<Ended> {
        let wheel = inv
            .needed_files("wheel")?
            .into_iter()
            .find(|p| p.extension().is_some_and(|e| e == "whl"))
            .context("the `wheel` check left no wheel")?;
        let wheel = wheel.display().to_string();
        let coverage = config.check("coverage").is_some();
        let env = testenv::discover(&inv.src, &config.project);
        match &config.lock {
            // Locked: the lock provides every dependency; the wheel adds only itself.
            Some(_) => setup!("installing the wheel", inv.install(&["--no-deps".into(), wheel.clone()])),
            None => {
                // Extras of the package itself (tox `extras`, an extra named `test`, a group that
                // names the package) come with the wheel under test, never from the index.
                let extras = &env.wheel_extras;
                let spec =
                    if extras.is_empty() { wheel.clone() } else { format!("{wheel}[{}]", extras.join(",")) };
                setup!("installing the wheel", inv.install(&[spec]));
            }
        }
        let runner = inv.helper("hookgate_test_runner.py", RUNNER)?.display().to_string();
        let guard = inv.helper("hookgate_import_guard.py", GUARD)?.display().to_string();
        let hidden = inv.scratch.join("hidden-source").display().to_string();
        let src = inv.src.display().to_string();
        let opts = options(inv.def);
        // tox's test command runs unittest (and `paths` does not ask for pytest): so do we.
        let unittest = env.unittest.filter(|_| opts.paths.is_empty());
        let paths = if unittest.is_some() {
            Vec::new()
        } else if opts.paths.is_empty() {
            match testenv::test_paths(&inv.src) {
                Some(testenv::TestPaths::Configured(file)) => {
                    inv.note(&format!("tests: pytest's `testpaths` from {file}"));
                    Vec::new()
                }
                Some(testenv::TestPaths::Given(paths)) => paths,
                None => Vec::new(),
            }
        } else {
            opts.paths.clone()
        };
        let mut args: Vec<String> = vec![
            runner,
            "--wheel".into(),
            wheel,
            "--root".into(),
            src,
            "--hide-to".into(),
            hidden,
            "--guard".into(),
            guard,
        ];
        // What the import guard lets tests import from the tree: the test paths (pytest's own
        // `testpaths` when it collects by its config) and paths passed in `args`.
        let mut test_code = paths.clone();
        if let Some(args) = &unittest {
            inv.note(&format!(
                "tests: python -m unittest {} (the test command of tox's testenv)",
                args.join(" ")
            ));
            test_code.extend(testenv::unittest_start_dirs(args));
        } else if paths.is_empty() {
            let read = |f: &str| std::fs::read_to_string(inv.src.join(f)).ok();
            test_code.extend(testenv::configured_testpaths(&read).map(|(_, p)| p).unwrap_or_default());
        }
        test_code.extend(opts.args.iter().filter(|a| names_a_path(&inv.src, a)).cloned());
        for p in test_code {
            args.push("--test-path".into());
            args.push(p);
        }
        if coverage {
            args.push("--coverage-dir".into());
            args.push(inv.artifacts.display().to_string());
        }
        if unittest.is_some() {
            args.push("--unittest".into());
        }
        args.push("--".into());
        args.extend(unittest.unwrap_or_default());
        args.extend(paths);
        args.extend(opts.args.iter().cloned());
        let python = inv.python().display().to_string();
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        check!(inv.run(&inv.check_cmd(python, &argv)));
        Ok(Ended::Pass)
    }
}

#[cfg(test)]
mod tests {
    use super::names_a_path;

    #[test]
    fn only_existing_relative_paths_in_args_count_as_test_paths() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("docs")).unwrap();
        std::fs::write(dir.path().join("docs/test_x.py"), "").unwrap();
        for yes in ["docs", "docs/test_x.py", "docs/test_x.py::test_y", "./docs"] {
            assert!(names_a_path(dir.path(), yes), "{yes}");
        }
        for no in ["-k", "--doctest-modules", "not slow", "missing", "/etc", "../docs", "docs/../.."] {
            assert!(!names_a_path(dir.path(), no), "{no}");
        }
    }
}
