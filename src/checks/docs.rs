//! Built-in `docs`: `docs/conf.py` means Sphinx (`sphinx-build -W --keep-going`, plus the
//! doctest builder with `doctest = true`), `mkdocs.yml` means `mkdocs build --strict`.
//! Requirements: the `docs` extra or dependency group, a requirements file
//! ([`DOCS_REQUIREMENTS`]), the check's `deps`, or the lock file; the package itself is
//! installed too (autodoc imports it).
//! `strict = false` drops warnings-as-errors. The built site is kept as a report.

use std::sync::Arc;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::invocation::{check, setup};
use super::{Check, Invocation, KindOptions, lock, test};
use crate::config::{CheckDef, Config, OptionTable};
use crate::error::Error;
use crate::git::{Repo, TreeRef};
use crate::outcome::Ended;

/// The `docs` kind.
pub struct Docs;

/// `docs`'s settings.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocsOptions {
    /// Warnings are errors (`-W --keep-going`, `--strict`); default true.
    pub strict: Option<bool>,
    /// Also run Sphinx's doctest builder.
    pub doctest: Option<bool>,
}

impl Check for Docs {
    fn name(&self) -> &'static str {
        "docs"
    }

    fn builds_package(&self, _def: &CheckDef) -> bool {
        true
    }

    fn option_names(&self) -> &'static [&'static str] {
        &["strict", "doctest"]
    }

    fn parse_options(&self, table: &OptionTable<'_>) -> Result<Arc<dyn KindOptions>, Error> {
        Ok(Arc::new(table.parse::<DocsOptions>()?))
    }

    /// Skipped when the tree has no docs.
    fn not_applicable(&self, _def: &CheckDef, repo: &Repo, tree: &TreeRef) -> Result<Option<String>> {
        // On the cached path: an id lookup, not a blob read.
        for f in ["docs/conf.py", "mkdocs.yml", "mkdocs.yaml"] {
            if repo.path_id(tree.id, f)?.is_some() {
                return Ok(None);
            }
        }
        Ok(Some("no docs/conf.py (Sphinx) or mkdocs.yml (MkDocs)".into()))
    }

    fn key_variant(&self, _def: &CheckDef, config: &Config, repo: &Repo, tree: &TreeRef) -> Result<Value> {
        test::environment_variant(config, repo, tree)
    }

    /// Installs the docs' requirements and the package (a private copy of an environment built
    /// once, when the package's requirements are static).
    fn prepare(&self, inv: &mut Invocation<'_>, config: &Config) -> Result<Ended> {
        install(inv, config)
    }

    fn execute(&self, inv: &mut Invocation<'_>, _config: &Config) -> Result<Ended> {
        build(inv)
    }
}

/// Whether a Sphinx warning says only that an inventory could not be fetched (intersphinx
/// without network), which says nothing about the docs themselves.
fn is_network_warning(line: &str) -> bool {
    line.contains("failed to reach any of the inventories")
        || (line.contains("intersphinx inventory") && line.contains("not fetchable"))
        || line.contains("intersphinx identifier")
}

/// What a failed Sphinx build means: only unreachable inventories is `unknown` (no verdict,
/// as `version` without an index); anything else is a failure, with the first problem named
/// at the end of the log, where the report's tail shows it (not the "writing output" lines).
fn judge_sphinx_failure(inv: &mut Invocation<'_>, exit: crate::process::Exit, output: &str) -> Ended {
    let problems: Vec<&str> = output
        .lines()
        .filter(|l| l.contains("WARNING:") || l.contains("ERROR:") || l.contains("CRITICAL:"))
        .collect();
    let ended = Ended::of_check(exit);
    if !matches!(ended, Ended::Fail(_)) {
        return ended;
    }
    if !problems.is_empty() && problems.iter().all(|l| is_network_warning(l)) {
        inv.note("the only problems are intersphinx inventories that could not be fetched (no network?)");
        return Ended::Unknown("the docs need the network (intersphinx inventories unreachable)".into());
    }
    match problems.iter().find(|l| !is_network_warning(l)) {
        Some(first) => {
            let first = first.trim();
            inv.note(&format!("first problem: {first}"));
            Ended::Fail(Some(format!("{} problem(s); the first: {first}", problems.len())))
        }
        None => ended,
    }
}

/// Requirements files for the docs build, in the order they are looked for.
const DOCS_REQUIREMENTS: &[&str] = &[
    "docs/requirements.txt",
    "requirements/docs.txt",
    "requirements/doc.txt",
    "requirements-docs.txt",
    "docs-requirements.txt",
];

/// Installs what the build needs: the lock file's docs environment, or the docs requirements
/// with the package.
fn install(inv: &mut Invocation<'_>, config: &Config) -> Result<Ended> {
    let engine = if inv.src.join("docs/conf.py").is_file() { "sphinx" } else { "mkdocs" };
    match &config.lock {
        Some(path) => {
            let pick = |names: &std::collections::BTreeMap<String, Vec<String>>| -> Vec<String> {
                ["docs", "doc"]
                    .iter()
                    .filter(|n| names.contains_key(**n))
                    .take(1)
                    .map(ToString::to_string)
                    .collect()
            };
            let (groups, extras) = (pick(&config.project.groups), pick(&config.project.extras));
            let args = lock::install_args(inv, path, &groups, &extras)?;
            setup!("installing the lock file", inv.install(&args));
            setup!("installing the package", inv.install(&["--no-deps".into(), ".".into()]));
        }
        None => {
            let mut reqs = Vec::new();
            let mut from_project = false;
            if let Some((from, r)) = config.project.requirements_for(&["docs", "doc"], &["docs", "doc"]) {
                inv.note(&format!("docs requirements from {from}"));
                reqs.extend(r);
                from_project = true;
            }
            // The first requirements file that names the docs' needs (blinker's is
            // requirements/docs.txt, which its Read the Docs config installs).
            if let Some(file) = DOCS_REQUIREMENTS.iter().find(|f| inv.src.join(f).is_file()) {
                inv.note(&format!("docs requirements from {file}"));
                reqs.push("-r".into());
                reqs.push(inv.src.join(file).display().to_string());
                from_project = true;
            }
            reqs.extend(inv.def.deps.iter().cloned());
            if !from_project && inv.def.deps.is_empty() {
                reqs.push(engine.to_string());
            }
            match static_requirements(&config.project, &reqs) {
                // The environment of the package's requirements and the docs' is built once
                // for every tree that resolves to it; only the package is added.
                Some(all) => {
                    setup!("installing the docs requirements", inv.install(&all));
                    setup!("installing the package", inv.install(&["--no-deps".into(), ".".into()]));
                }
                None => {
                    reqs.insert(0, ".".to_string());
                    setup!("installing the docs requirements", inv.install(&reqs));
                }
            }
        }
    }
    Ok(Ended::Pass)
}

/// Builds the docs (installed by [`install`]).
fn build(inv: &mut Invocation<'_>) -> Result<Ended> {
    let sphinx = inv.src.join("docs/conf.py").is_file();
    let options = inv.def.options::<DocsOptions>();
    let strict = options.and_then(|o| o.strict).unwrap_or(true);
    let doctest = options.and_then(|o| o.doctest) == Some(true);
    let python = inv.python().display().to_string();
    if sphinx {
        let out = inv.reports.join("html").display().to_string();
        let mut args = vec!["-m", "sphinx", "-b", "html"];
        if strict {
            args.extend(["-W", "--keep-going"]);
        }
        args.extend(["docs", &out]);
        let (exit, output) = inv.run_and_read(&inv.check_cmd(&python, &args))?;
        if !exit.success() {
            return Ok(judge_sphinx_failure(inv, exit, &output));
        }
        if doctest {
            let out = inv.scratch.join("doctest").display().to_string();
            check!(inv.run(&inv.check_cmd(&python, &["-m", "sphinx", "-b", "doctest", "docs", &out])));
        }
    } else {
        let out = inv.reports.join("site").display().to_string();
        let mut args = vec!["-m", "mkdocs", "build", "-d", &out];
        if strict {
            args.push("--strict");
        }
        let (exit, output) = inv.run_and_read(&inv.check_cmd(&python, &args))?;
        if !exit.success() {
            return Ok(judge_mkdocs_failure(inv, exit, &output));
        }
    }
    Ok(Ended::Pass)
}

/// The package's own requirements (static `[project] dependencies`, and the extras that
/// `reqs` ask of the package itself, as `pkg[extra]`) with `reqs`, the package left out: what
/// `. reqs...` installs besides the package. `None` when only a build would tell (dynamic
/// dependencies, no `[project]` table, an extra not declared, a conditional self-requirement).
fn static_requirements(project: &crate::config::Project, reqs: &[String]) -> Option<Vec<String>> {
    let me = project.name.as_deref().map(crate::pins::normalize);
    let mut out = project.dependencies.clone()?;
    let mut pending: std::collections::VecDeque<String> = reqs.iter().cloned().collect();
    let mut seen = std::collections::BTreeSet::new();
    while let Some(r) = pending.pop_front() {
        match super::testenv::self_extras(&r, me.as_deref()) {
            Some(_) if r.contains(';') => return None,
            Some(extras) => {
                for extra in extras.iter().map(|e| crate::pins::normalize(e)) {
                    if seen.insert(extra.clone()) {
                        let (_, listed) =
                            project.extras.iter().find(|(k, _)| crate::pins::normalize(k) == extra)?;
                        pending.extend(listed.iter().cloned());
                    }
                }
            }
            None => out.push(r),
        }
    }
    Some(out)
}

/// Whether an MkDocs log line says only that something on the network could not be reached
/// (mkdocstrings' inventories, a remote include), which says nothing about the docs.
fn is_mkdocs_network_problem(line: &str) -> bool {
    line.contains("Couldn't load inventory")
        || line.contains("Failed to load inventory")
        || line.contains("Max retries exceeded")
        || line.contains("Name or service not known")
        || line.contains("Temporary failure in name resolution")
        || line.contains("Connection refused")
        || line.contains("<urlopen error")
}

/// MkDocs' problem lines (`WARNING -  ...`, `ERROR    -  ...`), without the summary that
/// `--strict` prints at the end.
fn mkdocs_problems(output: &str) -> Vec<&str> {
    output
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("WARNING") || l.starts_with("ERROR") || l.starts_with("CRITICAL"))
        .filter(|l| !l.contains("Aborted with") && !l.contains("in strict mode"))
        .collect()
}

/// What a failed MkDocs build means, as for Sphinx: only unreachable network resources is
/// `unknown`; anything else fails, naming its first problem.
fn judge_mkdocs_failure(inv: &mut Invocation<'_>, exit: crate::process::Exit, output: &str) -> Ended {
    let ended = Ended::of_check(exit);
    if !matches!(ended, Ended::Fail(_)) {
        return ended;
    }
    let problems = mkdocs_problems(output);
    if !problems.is_empty() && problems.iter().all(|l| is_mkdocs_network_problem(l)) {
        inv.note("the only problems are network resources that could not be fetched (no network?)");
        return Ended::Unknown("the docs need the network (inventories unreachable)".into());
    }
    match problems.iter().find(|l| !is_mkdocs_network_problem(l)) {
        Some(first) => {
            inv.note(&format!("first problem: {first}"));
            Ended::Fail(Some(format!("{} problem(s); the first: {first}", problems.len())))
        }
        None => ended,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFLINE: &str = "INFO    -  Building documentation...\n\
ERROR   -  mkdocstrings: Couldn't load inventory https://docs.python.org/3/objects.inv through mkdocstrings.plugin: <urlopen error [Errno -3] Temporary failure in name resolution>\n\
WARNING -  Couldn't load inventory https://typing-extensions.readthedocs.io/en/latest/objects.inv\n\
INFO    -  Documentation built in 0.42 seconds\n\
Aborted with 2 warnings in strict mode!\n";

    #[test]
    fn static_requirements_expand_the_package_s_own_extras() {
        let project = crate::config::Project {
            name: Some("My_Pkg".into()),
            dependencies: Some(vec!["attrs".into()]),
            extras: [
                ("docs".to_string(), vec!["sphinx".to_string(), "my-pkg[speed]".to_string()]),
                ("speed".to_string(), vec!["ujson".to_string(), "my_pkg[docs]".to_string()]),
            ]
            .into(),
            ..Default::default()
        };
        let got = static_requirements(&project, &["my-pkg[docs]".into(), "furo".into()]);
        assert_eq!(got, Some(vec!["attrs".into(), "furo".into(), "sphinx".into(), "ujson".into()]));
        assert_eq!(static_requirements(&project, &["my-pkg[nope]".into()]), None);
        assert_eq!(static_requirements(&project, &["my-pkg[docs]; python_version<'3'".into()]), None);
        let dynamic = crate::config::Project { dependencies: None, ..project };
        assert_eq!(static_requirements(&dynamic, &["sphinx".into()]), None);
    }

    #[test]
    fn mkdocs_offline_inventories_are_the_network_not_the_docs() {
        let problems = mkdocs_problems(OFFLINE);
        assert_eq!(problems.len(), 2);
        assert!(problems.iter().all(|l| is_mkdocs_network_problem(l)));
        let real = format!(
            "{OFFLINE}WARNING -  Doc file 'index.md' contains a link 'missing.md', but the target is not found\n"
        );
        let problems = mkdocs_problems(&real);
        assert_eq!(problems.iter().filter(|l| !is_mkdocs_network_problem(l)).count(), 1);
    }
}
