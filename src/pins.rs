//! Which version of each tool a check installs. A tool that floats ("ruff", whatever the index
//! serves today) turns a passing tree red the day it is released, and a cached pass then
//! disagrees with CI forever; so every built-in tool is pinned, taking the version the project
//! itself pins, in this order:
//!
//! 1. the project's lock (`uv.lock`, PEP 751 `pylock.toml`) when it holds the tool;
//! 2. the `rev` of a well-known hook in `.pre-commit-config.yaml` (ruff-pre-commit, black,
//!    flake8, mypy, isort, ...);
//! 3. an exact pin (`tool==X`) in a dependency group or an extra;
//! 4. hookgate's own default, fixed per hookgate release ([`DEFAULTS`]).
//!
//! A check's own `deps` in the config win over all of these (they are used as written). The
//! pinned requirement is part of the check's key, so a new pin re-runs the check.

use std::collections::BTreeMap;

/// hookgate's pinned defaults, fixed per release so verdicts never drift with the index.
pub const DEFAULTS: &[(&str, &str)] = &[
    ("ruff", "0.17.6"),
    ("black", "26.10.1"),
    ("flake8", "7.5.0"),
    ("twine", "7.0.0"),
    ("check-wheel-contents", "0.6.3"),
];

/// pre-commit hook repositories whose `rev` is the version of a PyPI package.
const HOOK_REPOS: &[(&str, &str)] = &[
    ("github.com/astral-sh/ruff-pre-commit", "ruff"),
    ("github.com/charliermarsh/ruff-pre-commit", "ruff"),
    ("github.com/psf/black", "black"),
    ("github.com/psf/black-pre-commit-mirror", "black"),
    ("github.com/pycqa/flake8", "flake8"),
    ("github.com/pre-commit/mirrors-mypy", "mypy"),
    ("github.com/pycqa/isort", "isort"),
    ("github.com/codespell-project/codespell", "codespell"),
    ("github.com/asottile/pyupgrade", "pyupgrade"),
    ("github.com/adamchainz/blacken-docs", "blacken-docs"),
    ("github.com/pycqa/pydocstyle", "pydocstyle"),
    ("github.com/pycqa/bandit", "bandit"),
];

/// A tool's pinned version and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// The exact version.
    pub version: String,
    /// Where it was found, for the log (`uv.lock`, `.pre-commit-config.yaml (rev v0.11.9)`).
    pub source: String,
}

/// The pins a tree's files give, by normalized package name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolPins {
    found: BTreeMap<String, Pin>,
}

/// PEP 503 name normalization (`Black` -> `black`, `check_wheel.contents` -> `check-wheel-contents`).
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut dash = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            dash = true;
        } else {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// `name==version` (with optional extras or spaces) as `(normalized name, version)`; other
/// specifiers are not pins.
fn exact_pin(requirement: &str) -> Option<(String, String)> {
    let req = requirement.split(';').next()?.trim();
    let (name, version) = req.split_once("==")?;
    let name = name.split('[').next()?.trim();
    let version = version.trim();
    let valid = !version.is_empty() && !version.contains([',', '*', ' ', '<', '>', '!', '~']);
    (valid && !name.is_empty()).then(|| (normalize(name), version.to_string()))
}

impl ToolPins {
    /// Collects the pins of a tree: `uv_lock` and `precommit` are those files' contents when
    /// present; `requirements` are the project's dependency groups and extras, by source label.
    /// Unreadable files contribute nothing (the project's own tools would reject them).
    pub fn discover(
        uv_lock: Option<&str>,
        precommit: Option<&str>,
        requirements: &[(String, Vec<String>)],
    ) -> ToolPins {
        let mut found = BTreeMap::new();
        // Lowest priority first; later sources overwrite.
        for (label, reqs) in requirements.iter().rev() {
            for (name, version) in reqs.iter().filter_map(|r| exact_pin(r)) {
                found.insert(name, Pin { version, source: format!("pyproject.toml ({label})") });
            }
        }
        if let Some(text) = precommit {
            for (name, rev) in precommit_revs(text) {
                let version = rev.strip_prefix('v').unwrap_or(&rev).to_string();
                found.insert(name, Pin { version, source: format!(".pre-commit-config.yaml (rev {rev})") });
            }
        }
        if let Some(text) = uv_lock {
            for (name, version) in lock_versions(text, "[[package]]") {
                found.insert(name, Pin { version, source: "uv.lock".into() });
            }
        }
        ToolPins { found }
    }

    /// Adds the versions of a PEP 751 `pylock.toml`, which win over every other source.
    pub fn with_pylock(mut self, text: &str) -> ToolPins {
        for (name, version) in lock_versions(text, "[[packages]]") {
            self.found.insert(name, Pin { version, source: "pylock.toml".into() });
        }
        self
    }

    /// The exact requirement for `tool` (`ruff==0.11.9`) and where its version came from.
    pub fn requirement(&self, tool: &str) -> (String, String) {
        let name = normalize(tool);
        if let Some(p) = self.found.get(&name) {
            return (format!("{tool}=={}", p.version), p.source.clone());
        }
        match DEFAULTS.iter().find(|(t, _)| *t == name) {
            Some((_, v)) => {
                (format!("{tool}=={v}"), format!("hookgate {}'s default", env!("CARGO_PKG_VERSION")))
            }
            None => (tool.to_string(), "not pinned".into()),
        }
    }
}

/// `(package, rev)` of the well-known hook repositories in a `.pre-commit-config.yaml`.
fn precommit_revs(text: &str) -> Vec<(String, String)> {
    use yaml_rust2::{Yaml, YamlLoader};
    let Ok(docs) = YamlLoader::load_from_str(text) else { return Vec::new() };
    let Some(Yaml::Array(repos)) = docs.first().map(|d| &d["repos"]) else { return Vec::new() };
    let mut out = Vec::new();
    for repo in repos {
        let (Some(url), Some(rev)) = (repo["repo"].as_str(), repo["rev"].as_str()) else { continue };
        let url = url.trim_end_matches('/').trim_end_matches(".git").to_ascii_lowercase();
        let url = url.split("://").last().unwrap_or(&url).to_string();
        if let Some((_, package)) = HOOK_REPOS.iter().find(|(r, _)| *r == url) {
            out.push((package.to_string(), rev.to_string()));
        }
    }
    out
}

/// `(package, version)` of every package in a `uv.lock`. The lock is read on every push (the
/// cached path) and can be hundreds of kilobytes, so its regular layout, as uv writes it, is
/// scanned line by line instead of parsed whole: `[[package]]`, then unindented `name = "..."`
/// and `version = "..."` lines before the next table header.
fn lock_versions(text: &str, header: &str) -> Vec<(String, String)> {
    fn value<'t>(line: &'t str, key: &str) -> Option<&'t str> {
        let rest = line.strip_prefix(key)?.trim_start().strip_prefix('=')?.trim();
        rest.strip_prefix('"')?.strip_suffix('"')
    }
    let mut out = Vec::new();
    let (mut in_package, mut name, mut version): (bool, Option<&str>, Option<&str>) = (false, None, None);
    for line in text.lines() {
        if line.starts_with('[') {
            in_package = line.trim_end() == header;
            (name, version) = (None, None);
            continue;
        }
        if !in_package {
            continue;
        }
        if let Some(v) = value(line, "name") {
            name = Some(v);
        } else if let Some(v) = value(line, "version") {
            version = Some(v);
        }
        if let (Some(n), Some(v)) = (name, version) {
            out.push((normalize(n), v.to_string()));
            in_package = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRECOMMIT: &str = "repos:\n  - repo: https://github.com/astral-sh/ruff-pre-commit\n    rev: v0.11.9\n    hooks:\n      - id: ruff\n      - id: ruff-format\n  - repo: https://github.com/psf/black-pre-commit-mirror\n    rev: 24.3.0\n    hooks: [{id: black}]\n  - repo: local\n    hooks: [{id: x, name: x, entry: x, language: system}]\n";

    const UV_LOCK: &str = "version = 1\n[[package]]\nname = \"my-pkg\"\nsource = { editable = \".\" }\n\n[package.metadata]\nrequires-dist = [\n    { name = \"ruff\", specifier = \">=0.1\" },\n]\nversion = \"9.9.9\"\n\n[[package]]\nname = \"ruff\"\nversion = \"0.12.1\"\nsource = { registry = \"https://pypi.org/simple\" }\n";

    #[test]
    fn names_normalize_per_pep_503() {
        assert_eq!(normalize("Check_Wheel.Contents"), "check-wheel-contents");
        assert_eq!(normalize("ruff"), "ruff");
    }

    #[test]
    fn only_exact_pins_count() {
        assert_eq!(exact_pin("ruff==0.11.9"), Some(("ruff".into(), "0.11.9".into())));
        assert_eq!(
            exact_pin("Black[jupyter] == 24.3.0 ; python_version>'3.8'"),
            Some(("black".into(), "24.3.0".into()))
        );
        assert_eq!(exact_pin("ruff>=0.11"), None);
        assert_eq!(exact_pin("ruff==0.11.*"), None);
    }

    #[test]
    fn the_lock_beats_pre_commit_which_beats_groups_which_beat_defaults() {
        let groups = vec![("group `dev`".to_string(), vec!["ruff==0.9.0".into(), "flake8==6.0.0".into()])];
        let pins = ToolPins::discover(None, None, &groups);
        assert_eq!(pins.requirement("ruff").0, "ruff==0.9.0");
        let pins = ToolPins::discover(None, Some(PRECOMMIT), &groups);
        assert_eq!(
            pins.requirement("ruff"),
            ("ruff==0.11.9".into(), ".pre-commit-config.yaml (rev v0.11.9)".into())
        );
        assert_eq!(pins.requirement("black").0, "black==24.3.0");
        assert_eq!(pins.requirement("flake8").0, "flake8==6.0.0");
        let pins = ToolPins::discover(Some(UV_LOCK), Some(PRECOMMIT), &groups);
        assert_eq!(pins.requirement("ruff"), ("ruff==0.12.1".into(), "uv.lock".into()));
        let none = ToolPins::default();
        assert_eq!(none.requirement("ruff").0, format!("ruff=={}", DEFAULTS[0].1));
        assert_eq!(none.requirement("mypy"), ("mypy".into(), "not pinned".into()));
    }

    #[test]
    fn uv_lock_is_scanned_per_package_table() {
        assert_eq!(lock_versions(UV_LOCK, "[[package]]"), [("ruff".to_string(), "0.12.1".to_string())]);
    }

    #[test]
    fn pylock_packages_pin_their_tools_first() {
        let pylock = "lock-version = \"1.0\"\n[[packages]]\nname = \"ruff\"\nversion = \"0.13.0\"\n";
        let pins = ToolPins::discover(Some(UV_LOCK), None, &[]).with_pylock(pylock);
        assert_eq!(pins.requirement("ruff"), ("ruff==0.13.0".into(), "pylock.toml".into()));
    }

    #[test]
    fn malformed_files_pin_nothing() {
        let pins = ToolPins::discover(Some("not toml ["), Some(": - : not yaml ["), &[]);
        assert_eq!(pins, ToolPins::default());
    }
}
