//! `hookgate init`: prints (or with `--write` adds) the config section that reproduces the
//! project's own CI ([`crate::init`]). It reads the working copy, since it is for authoring a
//! config, not checking a tree. `--write` appends to `pyproject.toml` (every existing byte kept)
//! or creates `hookgate.toml`, and never replaces an existing hookgate config.

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, Result};

use crate::config::{self, ConfigFiles};
use crate::error::{ConfigError, Error};
use crate::gate::Session;
use crate::git::Repo;
use crate::init::{self, Target, sources::MAX_FILE_BYTES};
use crate::outcome::ExitStatus;
use crate::report;

/// Whether `hookgate.toml` or a `[tool.hookgate]` table decides this project's config: `Some`
/// names where.
pub fn existing_config(hookgate_toml: bool, pyproject: Option<&str>) -> Option<&'static str> {
    if hookgate_toml {
        return Some("hookgate.toml");
    }
    let doc: toml::Table = toml::from_str(pyproject?).ok()?;
    doc.get("tool").and_then(|t| t.get("hookgate")).map(|_| "pyproject.toml [tool.hookgate]")
}

/// Reads a root file of the working copy, refusing one too large to be a config file.
fn read_root(root: &Path, name: &str) -> Result<Option<String>> {
    let path = root.join(name);
    match std::fs::metadata(&path) {
        Ok(m) if m.is_file() && m.len() > 8 * MAX_FILE_BYTES => Err(Error::Config(ConfigError {
            file: name.into(),
            line: None,
            column: None,
            message: format!("{} bytes: too large to be a config file; not read", m.len()),
        })
        .into()),
        Ok(m) if m.is_file() => {
            let bytes = std::fs::read(&path).with_context(|| format!("reading {name}"))?;
            let text = String::from_utf8(bytes).map_err(|_| {
                Error::Config(ConfigError {
                    file: name.into(),
                    line: None,
                    column: None,
                    message: "not UTF-8 text".into(),
                })
            })?;
            Ok(Some(text))
        }
        _ => Ok(None),
    }
}

/// `hookgate init [--write]`.
pub fn init(s: &Session, write: bool) -> Result<ExitStatus> {
    // The repository's root when there is one, else the directory itself.
    let root = match Repo::discover(&s.cwd, &s.host) {
        Ok(repo) => repo.workdir().to_path_buf(),
        Err(_) => s.cwd.clone(),
    };
    let pyproject = read_root(&root, "pyproject.toml")?;
    let has_hookgate_toml = root.join("hookgate.toml").exists();
    let existing = existing_config(has_hookgate_toml, pyproject.as_deref());
    if let (true, Some(place)) = (write, existing) {
        return Err(Error::Config(ConfigError {
            file: place.split(' ').next().unwrap_or(place).into(),
            line: None,
            column: None,
            message: format!(
                "this project already has a hookgate config ({place}); `init --write` never replaces \
                 or merges into it: run `hookgate init` to print the proposal and merge what you want by hand"
            ),
        })
        .into());
    }
    let mut quiet = Vec::new();
    let uv_lock = read_root(&root, "uv.lock").unwrap_or_else(|e| {
        quiet.push(format!("{e:#}"));
        None
    });
    let precommit = read_root(&root, ".pre-commit-config.yaml").unwrap_or(None);
    let setup_cfg = read_root(&root, "setup.cfg").unwrap_or(None);
    let pylock = read_root(&root, "pylock.toml").unwrap_or(None);
    let tox_ini = read_root(&root, "tox.ini").unwrap_or(None);
    // The same project facts the checks get (which linter and formatter the project uses).
    let files = ConfigFiles {
        hookgate_toml: None,
        pyproject: pyproject.as_deref(),
        uv_lock: uv_lock.as_deref(),
        precommit: precommit.as_deref(),
        pylock: pylock.as_deref(),
        setup_py: root.join("setup.py").is_file(),
        setup_cfg: setup_cfg.as_deref(),
        tox_ini: tox_ini.as_deref(),
        ruff_toml: root.join("ruff.toml").is_file() || root.join(".ruff.toml").is_file(),
        flake8_file: root.join(".flake8").is_file(),
    };
    let project = config::load_files(&files)?.project;
    let proposal = init::propose(&root, pyproject.as_deref(), &project);
    let target = if pyproject.is_some() { Target::Pyproject } else { Target::HookgateToml };
    let text = proposal.render(target);

    // The proposal must be a config hookgate accepts; anything else is init's own bug.
    let standalone = proposal.render(Target::HookgateToml);
    config::load_files(&ConfigFiles { hookgate_toml: Some(&standalone), ..files }).map_err(|e| {
        anyhow::anyhow!("the proposed config does not load (a bug in `hookgate init`, please report it): {e}")
    })?;

    for w in proposal.warnings.iter().chain(&quiet) {
        report::warn(w);
    }
    if !write {
        report::out(&text)?;
        if let Some(place) = existing {
            report::note(format_args!("this project already has a hookgate config ({place}): merge by hand"));
        } else {
            report::note(format_args!(
                "read {}; `hookgate init --write` adds this to {}",
                if proposal.read.is_empty() { "nothing".into() } else { proposal.read.join(", ") },
                if target == Target::Pyproject { "pyproject.toml" } else { "a new hookgate.toml" }
            ));
        }
        return Ok(ExitStatus::Success);
    }
    match (target, &pyproject) {
        (Target::Pyproject, Some(original)) => {
            let combined = appended(original, &text);
            // Appending a table is refused by TOML when the file defines `tool` inline
            // (`tool = {...}`): check before writing anything.
            if let Err(e) = config::load_files(&ConfigFiles { pyproject: Some(&combined), ..files }) {
                return Err(Error::Config(ConfigError {
                    file: "pyproject.toml".into(),
                    line: None,
                    column: None,
                    message: format!(
                        "cannot add [tool.hookgate] at the end of this file ({e}); nothing was written: \
                         run `hookgate init` and add the section by hand"
                    ),
                })
                .into());
            }
            let path = root.join("pyproject.toml");
            if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(Error::Config(ConfigError {
                    file: "pyproject.toml".into(),
                    line: None,
                    column: None,
                    message: "is a symbolic link: `init --write` writes only a regular file; nothing was \
                              written (run `hookgate init` and add the section where the link points)"
                        .into(),
                })
                .into());
            }
            write_atomically(&path, combined.as_bytes())?;
            report::note(
                "added [tool.hookgate] at the end of pyproject.toml (the rest is unchanged); review it, then `hookgate run --all`",
            );
        }
        _ => {
            let path = root.join("hookgate.toml");
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .with_context(|| format!("creating {}", path.display()))?;
            file.write_all(text.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
            report::note(
                "wrote hookgate.toml (no pyproject.toml here); review it, then `hookgate run --all`",
            );
        }
    }
    Ok(ExitStatus::Success)
}

/// `original` with `section` after it, separated by a blank line, in the file's own line
/// endings. `original` is a prefix of the result: not a byte of it changes.
pub fn appended(original: &str, section: &str) -> String {
    let crlf = original.contains("\r\n");
    let section = if crlf { section.replace('\n', "\r\n") } else { section.to_string() };
    let nl = if crlf { "\r\n" } else { "\n" };
    let sep = if original.is_empty() {
        String::new()
    } else if original.ends_with('\n') {
        nl.to_string()
    } else {
        format!("{nl}{nl}")
    };
    format!("{original}{sep}{section}")
}

/// Replaces `path` with `bytes` through a temporary file in the same directory, keeping the
/// file's permissions.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().context("the file has no directory")?;
    let mut tmp =
        tempfile::NamedTempFile::new_in(dir).with_context(|| format!("writing in {}", dir.display()))?;
    tmp.write_all(bytes).with_context(|| format!("writing {}", path.display()))?;
    if let Ok(meta) = std::fs::metadata(path) {
        std::fs::set_permissions(tmp.path(), meta.permissions()).ok();
    }
    tmp.persist(path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_original_is_kept_byte_for_byte() {
        assert_eq!(appended("a = 1\n", "[t]\n"), "a = 1\n\n[t]\n");
        assert_eq!(appended("a = 1", "[t]\n"), "a = 1\n\n[t]\n");
        assert_eq!(appended("a = 1\r\n", "[t]\nx = 1\n"), "a = 1\r\n\r\n[t]\r\nx = 1\r\n");
        assert_eq!(appended("", "[t]\n"), "[t]\n");
    }

    #[test]
    fn existing_config_is_seen_in_any_toml_form() {
        assert_eq!(existing_config(false, Some("[tool.hookgate]\n")), Some("pyproject.toml [tool.hookgate]"));
        assert!(existing_config(false, Some("[tool.hookgate.checks.lint]\n")).is_some());
        assert!(existing_config(false, Some("tool.hookgate.defaults = false\n")).is_some());
        assert!(existing_config(false, Some("tool = { hookgate = {} }\n")).is_some());
        assert_eq!(existing_config(false, Some("[tool.ruff]\n")), None);
        assert_eq!(existing_config(true, None), Some("hookgate.toml"));
    }
}
