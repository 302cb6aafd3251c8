//! Custom checks (`[checks.NAME]` with a `run`): one command from the snapshot's root, in the
//! scrubbed environment with the venv first on PATH. `lint` and `format` run their command
//! the same way.

use std::path::Path;

use anyhow::{Context, Result};

use super::filewise::{self, Tool, Whole};
use super::{Check, Invocation, invocation::check};
use crate::config::{CheckDef, Config, OptionTable, RunSpec};
use crate::error::Error;
use crate::outcome::Ended;

/// The kind of custom checks.
pub struct Command;

impl Check for Command {
    fn name(&self) -> &'static str {
        "command"
    }

    fn on_by_default(&self) -> bool {
        false
    }

    fn accepts_run(&self) -> bool {
        true
    }

    /// A custom check that installs the tree's package (`deps = ["."]`, `".[extra]"`,
    /// `"./sub"`) builds it, so it sees the version from git.
    fn builds_package(&self, def: &CheckDef) -> bool {
        def.deps.iter().any(|d| d.starts_with('.'))
    }

    fn execute(&self, inv: &mut Invocation<'_>, _config: &Config) -> Result<Ended> {
        run_command(inv)
    }
}

/// Runs the check's `run`: its exit status is the verdict.
pub fn run_command(inv: &mut Invocation<'_>) -> Result<Ended> {
    let cmd = match &inv.def.run {
        RunSpec::Argv(argv) => {
            let Some((program, args)) = argv.split_first() else {
                return Ok(Ended::Error(format!("check `{}` has no command", inv.def.name)));
            };
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            inv.check_cmd(program.clone(), &args)
        }
        RunSpec::Shell(s) => inv.check_cmd("sh", &["-c", s]),
    };
    check!(inv.run(&cmd));
    Ok(Ended::Pass)
}

/// Says in the log where the version of each pinned requirement came from.
pub fn note_pins(inv: &mut Invocation<'_>, config: &Config) {
    let lines: Vec<String> = inv
        .def
        .deps
        .iter()
        .filter_map(|d| {
            let (name, _) = d.split_once("==")?;
            let (req, source) = config.project.pins.requirement(name);
            Some(if &req == d {
                format!("{d} (from {source})")
            } else {
                format!("{d} (from the check's `deps`)")
            })
        })
        .collect();
    if !lines.is_empty() {
        inv.note(&format!("tool versions: {}", lines.join(", ")));
    }
}

/// Refuses a `tool` that is not one of `allowed`, at its position in the config.
pub fn check_tool(table: &OptionTable<'_>, tool: Option<&str>, allowed: &[&str]) -> Result<(), Error> {
    match tool {
        Some(t) if !allowed.contains(&t) => Err(table.error_at(
            "tool",
            format!("check `{}`: unknown tool `{t}` (one of: {})", table.check(), allowed.join(", ")),
        )),
        _ => Ok(()),
    }
}

/// The Python files (`*.py`, `*.pyi`) in ruff's `--show-files` listing of the snapshot at
/// `root`, relative and sorted. ruff's own discovery honours the project's `include` and
/// `exclude`; keeping only Python files is what pre-commit's ruff hooks do (`types_or: [python,
/// pyi]`), so neither `pyproject.toml` nor Markdown is linted or formatted.
pub fn python_files(root: &Path, listing: &str) -> Vec<String> {
    let mut files: Vec<String> = listing
        .lines()
        .filter_map(|line| Path::new(line.trim()).strip_prefix(root).ok().map(Path::to_path_buf))
        .filter(|rel| rel.extension().is_some_and(|e| e == "py" || e == "pyi"))
        .map(|rel| rel.to_string_lossy().into_owned())
        .collect();
    files.sort();
    files.dedup();
    files
}

/// Runs ruff (`args`: `check --no-fix --no-cache`, `format --check ...`) over the Python files
/// ruff finds in the snapshot ([`python_files`]), named after `--` with `--force-exclude` as
/// pre-commit's ruff hooks run it; with the per-file cache, only over those that changed
/// ([`filewise`]). No Python file: nothing to check, a pass. When ruff cannot list the files (a
/// broken config), ruff runs on `.` so the log shows why.
pub fn run_ruff(inv: &mut Invocation<'_>, args: &[&str]) -> Result<Ended> {
    let tool = if args.first() == Some(&"format") { Tool::RuffFormat } else { Tool::Ruff };
    // Asked once, for the tree's summary and for the per-file results.
    let version = inv.file_cache.is_some().then(|| filewise::version_of(inv, tool)).flatten();
    if let (Some(store), Some(v)) = (inv.file_cache.clone(), &version)
        && let Some(ended) = filewise::run_delta(inv, &store, tool, args, &[], v)?
    {
        return Ok(ended);
    }
    let listing = inv.check_cmd("ruff", &["check", "--show-files", "--no-cache", "."]).capture();
    let Some(listing) = listing else {
        let mut argv = args.to_vec();
        argv.push(".");
        check!(inv.run(&inv.check_cmd("ruff", &argv)));
        return Ok(Ended::Pass);
    };
    let root = inv.src.canonicalize().with_context(|| format!("reading {}", inv.src.display()))?;
    let mut files = python_files(&root, &listing);
    if files.is_empty() && root != inv.src {
        files = python_files(&inv.src, &listing);
    }
    if files.is_empty() {
        inv.note("ruff finds no *.py or *.pyi file in the tree: nothing to check");
        return Ok(Ended::Pass);
    }
    inv.note(&format!(
        "ruff gets the {} *.py/*.pyi files its discovery finds (not pyproject.toml or Markdown), as \
         pre-commit hands them",
        files.len()
    ));
    match inv.file_cache.clone() {
        Some(store) => filewise::run_changed(inv, &store, tool, args, Whole::Files(&files), version),
        None => filewise::run_whole(inv, tool, args, &files),
    }
}

/// Runs black or flake8 as the check's default command does (`args`: its options, `paths`:
/// what it is given), with the per-file cache when there is one ([`filewise`]); else the
/// command as it is.
pub fn run_file_local(
    inv: &mut Invocation<'_>,
    tool: Tool,
    args: &[&str],
    paths: &[String],
) -> Result<Ended> {
    let Some(store) = inv.file_cache.clone() else { return run_command(inv) };
    // flake8 says its version with its files (in `run_changed`) and has no tree summaries.
    let version = (tool != Tool::Flake8).then(|| filewise::version_of(inv, tool)).flatten();
    if let Some(v) = &version
        && let Some(ended) = filewise::run_delta(inv, &store, tool, args, paths, v)?
    {
        return Ok(ended);
    }
    filewise::run_changed(inv, &store, tool, args, Whole::Paths(paths), version)
}

#[cfg(test)]
mod tests {
    use super::python_files;
    use std::path::Path;

    #[test]
    fn ruff_gets_only_the_python_files_its_discovery_lists() {
        let listing = "/s/pyproject.toml\n/s/README.md\n/s/src/a.py\n/s/src/a.pyi\n/s/-x.py\n\
                       /elsewhere/b.py\nwarning: something\n/s/nb.ipynb\n/s/src/a.py\n";
        assert_eq!(python_files(Path::new("/s"), listing), ["-x.py", "src/a.py", "src/a.pyi"]);
        assert!(python_files(Path::new("/s"), "").is_empty());
    }
}
