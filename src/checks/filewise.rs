//! File-local tools over only the files that changed: the default `lint` and `format`
//! commands (ruff check, ruff format, black, flake8) ask the per-file results
//! ([`crate::filecache`]) which of the files the tool checks were already checked in the same
//! context, run the tool on the others with a machine-readable answer, and answer with the
//! union. Which files the tool checks is its own discovery's answer: ruff's `--show-files`,
//! flake8's own file discovery (asked through its Python API, without linting), and for black,
//! which cannot list files without checking them, a whole-tree run (`-v` names every file it
//! checked) once per context, kept in the context's manifest (black's context holds every path
//! of the tree and every `.gitignore`, so the list is the same for every tree of the context).
//! The verdict is what a whole-tree run says: when any file has problems, the tool runs once
//! more on just the failing files with the check's own arguments, so the log ends with the
//! tool's own words about them and that run's exit status is the verdict. Whatever the answer
//! does not account for (an unexpected exit status, a file it was not given, output that does
//! not parse) keeps no per-file result and the failing-file run covers every file checked this
//! time.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Seek};
use std::path::Path;

use anyhow::{Context, Result};

use super::Invocation;
use super::invocation::check;
use crate::filecache::{
    FileResult, Layout, Scope, Store, TreeFacts, TreeSummary, context_key, identity, tree_facts,
};
use crate::outcome::Ended;
use crate::process::Exit;

/// Files per tool invocation, well under the kernel's argument-size limit.
pub const FILES_PER_RUN: usize = 2000;

/// The file-local tools the per-file cache drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// `ruff check`: JSON output.
    Ruff,
    /// `ruff format --check`: a `Would reformat: <file>` line per file and a summary (its JSON
    /// output is a preview feature).
    RuffFormat,
    /// `black --check`: `-v` names every file and what became of it.
    Black,
    /// `flake8`: one line per violation in a format of ours.
    Flake8,
}

/// flake8's own file discovery, without linting: the files a run with these arguments checks,
/// and its version as `flake8 --version` says it (with its plugins' and Python's), as JSON. An
/// internal API: when it is not there (another flake8), the check runs whole.
const FLAKE8_FILES: &str = "import json, sys\n\
import flake8\n\
from flake8 import utils\n\
from flake8.main.application import Application\n\
app = Application()\n\
app.initialize(sys.argv[1:])\n\
m = app.file_checker_manager\n\
m.start()\n\
version = f'{flake8.__version__} ({app.plugins.versions_str()}) {utils.get_python_version()}'\n\
print(json.dumps({'version': version, 'files': list(m.filenames)}))\n";

/// What [`FLAKE8_FILES`] says.
#[derive(serde::Deserialize)]
struct Flake8Files {
    version: String,
    files: Vec<String>,
}

/// The packages of flake8 itself: a plugin may read files of its own (isort's config, ...).
const FLAKE8_PACKAGES: &[&str] = &["flake8", "pyflakes", "pycodestyle", "mccabe"];

impl Tool {
    /// The command.
    pub fn program(self) -> &'static str {
        match self {
            Tool::Ruff | Tool::RuffFormat => "ruff",
            Tool::Black => "black",
            Tool::Flake8 => "flake8",
        }
    }

    /// Which entries of the tree make its context.
    fn scope(self) -> Scope {
        match self {
            // ruff's hierarchical pyproject.toml/ruff.toml/.ruff.toml and what `extend` names
            // (a TOML file of the tree, else no per-file results).
            Tool::Ruff | Tool::RuffFormat => Scope {
                config: |n| n.ends_with(".toml"),
                layout: Layout::Python,
                refuse: |_| None,
                extends: true,
            },
            // pyproject.toml's [tool.black], and the .gitignore files its discovery honours.
            Tool::Black => Scope {
                config: |n| n.ends_with(".toml") || n == ".gitignore",
                layout: Layout::Every,
                // black takes the nearest directory with one of these above the files it is
                // given as the project's root (its config, its excludes): given single files,
                // that can be another directory than for the whole tree.
                refuse: |p| {
                    let name = p.rsplit('/').next().unwrap_or(p);
                    ((name == "pyproject.toml" && p != "pyproject.toml") || name == ".hg" || name == ".git")
                        .then_some("black would take another project root for some files")
                },
                extends: false,
            },
            Tool::Flake8 => Scope {
                config: |n| matches!(n, "setup.cfg" | "tox.ini" | ".flake8"),
                layout: Layout::Nothing,
                refuse: |_| None,
                extends: false,
            },
        }
    }

    /// The variables it reads (the check's HOME is a fresh private one: nothing there; a
    /// user-level config is looked up under XDG_CONFIG_HOME).
    fn reads(self, var: &str) -> bool {
        let prefix = match self {
            Tool::Ruff | Tool::RuffFormat => "RUFF",
            Tool::Black => "BLACK",
            Tool::Flake8 => "FLAKE8",
        };
        var.starts_with(prefix) || var == "XDG_CONFIG_HOME"
    }
}

/// The tool's own command on `files`, for the log and the verdict: `args` (the kind's own,
/// e.g. `check --no-fix --no-cache`) and the files (see [`files_argv`]).
fn own_argv<'a>(tool: Tool, args: &[&'a str], files: &'a [String]) -> Vec<&'a str> {
    let mut argv: Vec<&str> = args.to_vec();
    argv.extend(files_argv(tool));
    argv.extend(files.iter().map(String::as_str));
    argv
}

/// What comes before the files a tool is given. ruff: `--force-exclude --` (its excludes
/// apply to named files too, as in pre-commit's hooks). black: `--` (its files come from its
/// own discovery, which applied its excludes; its `--force-exclude` takes a value). flake8:
/// nothing (it applies its excludes to the files it is given, and they are named as its
/// discovery names them, `./x`, never an option).
fn files_argv(tool: Tool) -> &'static [&'static str] {
    match tool {
        Tool::Ruff | Tool::RuffFormat => &["--force-exclude", "--"],
        Tool::Black => &["--"],
        Tool::Flake8 => &[],
    }
}

/// Runs the tool with `args` on every file in `files` (relative to the snapshot, sorted).
pub fn run_whole(inv: &mut Invocation<'_>, tool: Tool, args: &[&str], files: &[String]) -> Result<Ended> {
    for chunk in files.chunks(FILES_PER_RUN) {
        check!(inv.run(&inv.check_cmd(tool.program(), &own_argv(tool, args, chunk))));
    }
    Ok(Ended::Pass)
}

/// How the check runs without per-file results.
#[derive(Debug, Clone, Copy)]
pub enum Whole<'a> {
    /// The tool's own command on these files ([`run_whole`]).
    Files(&'a [String]),
    /// The check's command as configured, over these paths (`black --check --diff .`,
    /// `flake8 src tests`): the tool's discovery finds the files.
    Paths(&'a [String]),
}

fn whole(inv: &mut Invocation<'_>, tool: Tool, args: &[&str], how: &Whole<'_>) -> Result<Ended> {
    match how {
        Whole::Files(files) => run_whole(inv, tool, args, files),
        Whole::Paths(_) => super::command::run_command(inv),
    }
}

/// What `<tool> --version` says (ruff, black; flake8 says it with its files, in
/// [`run_changed`]).
pub fn version_of(inv: &Invocation<'_>, tool: Tool) -> Option<String> {
    inv.check_cmd(tool.program(), &["--version"]).capture()
}

/// Runs the tool like a whole-tree run, re-checking only the files without a per-file result
/// in `store` (see the module's doc). `args` are the kind's own options; `how` names the files
/// (ruff's, found beforehand) or the paths the tool's discovery starts from; `version` is the
/// tool's, when the caller asked it already.
pub fn run_changed(
    inv: &mut Invocation<'_>,
    store: &Store,
    tool: Tool,
    args: &[&str],
    how: Whole<'_>,
    version: Option<String>,
) -> Result<Ended> {
    let started = std::time::Instant::now();
    let program = tool.program();
    // flake8 says its version with the files it checks (one Python start, not two).
    let (version, flake8_files) = match (tool, &how) {
        (Tool::Flake8, Whole::Paths(paths)) => {
            let mut argv = vec!["-c", FLAKE8_FILES];
            argv.extend(args);
            argv.extend(paths.iter().map(String::as_str));
            let python = inv.python().to_string_lossy().into_owned();
            let listed = inv.check_cmd(python, &argv).capture();
            match listed.and_then(|l| serde_json::from_str::<Flake8Files>(&l).ok()) {
                Some(mut f) => {
                    f.files.sort();
                    f.files.dedup();
                    (f.version, Some(f.files))
                }
                None => {
                    inv.note("per-file cache not used: flake8 did not say which files it checks");
                    return whole(inv, tool, args, &how);
                }
            }
        }
        _ => match version.or_else(|| version_of(inv, tool)) {
            Some(v) => (v, None),
            None => {
                inv.note(&format!("per-file cache not used: `{program} --version` did not answer"));
                return whole(inv, tool, args, &how);
            }
        },
    };
    let (resolved, env) = context_parts(inv, tool);
    if tool == Tool::Flake8
        && let Some(p) = flake8_plugin(&resolved)
    {
        inv.note(&format!("per-file cache not used: `{p}` may be a flake8 plugin that reads other files"));
        return whole(inv, tool, args, &how);
    }
    let repo = crate::git::Repo::open(inv.git_dir)?;
    let facts = match tree_facts(repo.git2(), inv.tree.id, tool.scope())? {
        Ok(f) => f,
        Err(why) => {
            inv.note(&format!("per-file cache not used: {why}"));
            return whole(inv, tool, args, &how);
        }
    };
    drop(repo);
    let paths = match &how {
        Whole::Paths(p) => p.join(" "),
        Whole::Files(_) => String::new(),
    };
    let what = format!("{program} {} / {paths}", args.join(" "));
    let identity = identity(&what, version.trim(), &resolved, &env);
    let key = context_key(&identity, &facts);
    let mut manifest = store.load(&key);
    let new_context = manifest.is_empty() && manifest.files.is_none();
    let now = crate::cache::now_secs();

    // The files the tool checks: its discovery's answer, or black's from a whole-tree run.
    let mut fresh: BTreeMap<String, u32> = BTreeMap::new();
    let mut accounted = true;
    let files: Vec<String> = match (&how, tool) {
        (Whole::Files(files), _) => files.to_vec(),
        (Whole::Paths(_), Tool::Flake8) => flake8_files.unwrap_or_default(),
        (Whole::Paths(paths), _) => match manifest.files.clone().filter(|_| !store.refresh) {
            Some(files) => files,
            None => {
                // black: a whole-tree run names the files (and answers for each).
                let mut argv = answer_args(tool, args, inv);
                argv.extend(paths.iter().cloned());
                let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
                let (exit, text) = match answer(inv, tool, &argv)? {
                    Ok(a) => a,
                    Err(ended) => return Ok(ended),
                };
                match attribute(tool, &text, exit, None, &inv.src) {
                    Some(counts) if counts.keys().all(|f| facts.blobs.contains_key(lookup(f))) => {
                        let files: Vec<String> = counts.keys().cloned().collect();
                        manifest.files = Some(files.clone());
                        fresh = counts;
                        files
                    }
                    _ => {
                        inv.note(&format!(
                            "per-file cache not used: {program}'s answer did not account for the files \
                             it checked; its own run below decides"
                        ));
                        return whole(inv, tool, args, &how);
                    }
                }
            }
        },
    };
    if files.is_empty() {
        inv.note(&format!("{program} finds no file to check in the tree: nothing to check"));
        save(inv, store, manifest, &facts, &fresh, now);
        return Ok(Ended::Pass);
    }

    // What is known, and what the tool must look at.
    let mut known: BTreeMap<&str, u32> = BTreeMap::new();
    let mut to_run: Vec<String> = Vec::new();
    for f in &files {
        if fresh.contains_key(f) {
            continue;
        }
        let blob = facts.blobs.get(lookup(f));
        match blob.and_then(|b| manifest.get(lookup(f), b)).filter(|_| !store.refresh) {
            Some(r) => {
                known.insert(f.as_str(), r.problems);
                if let Some(b) = blob {
                    manifest.put(lookup(f), b, FileResult { seen: now, ..r });
                }
            }
            None => to_run.push(f.clone()),
        }
    }
    let from_cache = known.len();
    inv.note(&format!(
        "per-file cache: {} file(s) re-checked, {from_cache} from the per-file cache{} (looked up in {:.3}s)",
        to_run.len() + fresh.len(),
        if store.refresh {
            " (--force: every file re-checked)".to_string()
        } else if new_context {
            let layout = if tool == Tool::Flake8 { "" } else { " or the tree's layout" };
            format!(" (none kept for this context: a first run, or {program}, its config{layout} changed)")
        } else {
            String::new()
        },
        started.elapsed().as_secs_f64()
    ));

    // The tool's answer for the files that changed.
    for chunk in to_run.chunks(FILES_PER_RUN) {
        match answer_for(inv, tool, args, chunk)? {
            Err(ended) => return Ok(ended),
            Ok(Some(counts)) => fresh.extend(counts),
            Ok(None) => {
                accounted = false;
                // Not understood: every file of the chunk counts as failing, so the run below
                // shows (and decides) what the tool says about it.
                fresh.extend(chunk.iter().map(|f| (f.clone(), 1)));
            }
        }
    }

    if accounted {
        save(inv, store, manifest, &facts, &fresh, now);
    } else {
        inv.note(&format!(
            "{program}'s answer did not account for every file (see above): no per-file result \
             kept; its own run on those files decides"
        ));
    }

    let failing: BTreeMap<String, u32> = known
        .iter()
        .map(|(f, p)| (*f, *p))
        .chain(fresh.iter().map(|(f, p)| (f.as_str(), *p)))
        .filter(|(_, p)| *p > 0)
        .map(|(f, p)| (f.to_string(), p))
        .collect();
    // The tool's whole answer for this tree: the next tree that differs only in some files'
    // content is answered from it (`run_delta`). Not for flake8 (it names its files as its
    // discovery does, `./x`, and asks its discovery each time), nor when the tool checks a file
    // that is not a regular Python file of the tree (a symlink: an edit of what it points to
    // changes it unseen).
    let regular = || files.iter().all(|f| facts.blobs.contains_key(lookup(f)));
    if accounted && tool != Tool::Flake8 && regular() {
        let listed: BTreeSet<&str> = files.iter().map(String::as_str).collect();
        let mut excluded: Vec<String> =
            facts.blobs.keys().filter(|f| !listed.contains(f.as_str())).cloned().collect();
        excluded.sort();
        let summary = TreeSummary {
            tree: inv.tree.id.to_string(),
            key: key.clone(),
            files: files.len(),
            excluded,
            failing: failing.clone(),
        };
        if let Err(e) = store.save_summary(&identity, summary) {
            inv.note(&format!("the tree's summary not kept: {e:#}"));
        }
    }
    own_run_on_failing(inv, tool, args, &failing)
}

/// The verdict from the files with problems: a pass when there are none, else the tool's
/// own run on them (its words end the log, its exit status decides).
fn own_run_on_failing(
    inv: &mut Invocation<'_>,
    tool: Tool,
    args: &[&str],
    failing: &BTreeMap<String, u32>,
) -> Result<Ended> {
    if failing.is_empty() {
        return Ok(Ended::Pass);
    }
    let failing: Vec<String> = failing.keys().cloned().collect();
    inv.note(&format!("{}'s own output for the {} file(s) with problems:", tool.program(), failing.len()));
    run_whole(inv, tool, args, &failing)
}

/// The check's resolved requirement set and the variables the tool reads: with its version
/// and arguments, its identity.
fn context_parts(inv: &Invocation<'_>, tool: Tool) -> (Vec<String>, Vec<(String, String)>) {
    let resolved = inv
        .resolver
        .used
        .iter()
        .flat_map(|u| u.packages.iter().cloned())
        .chain(inv.def.deps.iter().cloned())
        .collect();
    let env =
        inv.check_env.iter().filter(|(k, _)| tool.reads(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
    (resolved, env)
}

/// Names whose content or presence changes which files ruff checks, besides its config: the
/// ignore files its discovery honours.
const IGNORE_FILES: &[&str] = &[".gitignore", ".ignore", ".rgignore"];

/// More changed entries than this: the ordinary per-file path.
const MAX_DELTA: usize = 1000;

/// The tool's answer (ruff's, black's) for the run's tree from the summary of a tree it
/// differs from only in the content of some files (no file added, removed or renamed, no
/// config or ignore file changed, so the context, its layout and the tool's file list are the
/// same): only the changed files the tool checks are run, with no pass over the tree (no
/// listing, no tree walk, no manifest). `paths` are what the check's command names (black's
/// `.`; none for ruff, whose files are named), `version` the tool's ([`version_of`]). `None`
/// when no summary qualifies, or the answer for the changed files does not account for them:
/// the caller takes the ordinary path.
pub fn run_delta(
    inv: &mut Invocation<'_>,
    store: &Store,
    tool: Tool,
    args: &[&str],
    paths: &[String],
    version: &str,
) -> Result<Option<Ended>> {
    if store.refresh || tool == Tool::Flake8 {
        return Ok(None);
    }
    let started = std::time::Instant::now();
    let (resolved, env) = context_parts(inv, tool);
    let what = format!("{} {} / {}", tool.program(), args.join(" "), paths.join(" "));
    let identity = identity(&what, version.trim(), &resolved, &env);
    let summaries = store.summaries(&identity);
    if summaries.is_empty() {
        return Ok(None);
    }
    let repo = crate::git::Repo::open(inv.git_dir)?;
    let tree = inv.tree.id;
    let scope = tool.scope();
    let mut chosen = None;
    for s in summaries.iter().take(3) {
        let Ok(old) = git2::Oid::from_str(&s.tree) else { continue };
        if old == tree {
            chosen = Some((s, Vec::new()));
            break;
        }
        // A tree that cannot be read or compared (gone, invalid): the ordinary path says why.
        if let Ok(Some(delta)) = repo.tree_delta(old, tree, MAX_DELTA)
            && let Some(changed) = content_only(&delta, scope)
        {
            chosen = Some((s, changed));
            break;
        }
    }
    drop(repo);
    let Some((base, changed)) = chosen else { return Ok(None) };
    let to_run: Vec<String> = changed
        .iter()
        .filter(|p| {
            let python = p.ends_with(".py") || p.ends_with(".pyi");
            python && base.excluded.binary_search(p).is_err()
        })
        .cloned()
        .collect();
    let mut fresh = BTreeMap::new();
    for chunk in to_run.chunks(FILES_PER_RUN) {
        match answer_for(inv, tool, args, chunk)? {
            Err(ended) => return Ok(Some(ended)),
            Ok(Some(counts)) => fresh.extend(counts),
            Ok(None) => {
                inv.note(&format!(
                    "{}'s answer for the changed files did not account for them: the whole tree's files \
                     are looked at",
                    tool.program()
                ));
                return Ok(None);
            }
        }
    }
    let mut failing = base.failing.clone();
    for p in &changed {
        failing.remove(p);
    }
    failing.extend(fresh.into_iter().filter(|(_, n)| *n > 0));
    inv.note(&format!(
        "per-file cache: {} file(s) re-checked, {} from the per-file cache (tree {} and {} changed \
         file(s) of the same layout and config: {}'s file list and results carried over) ({:.3}s)",
        to_run.len(),
        base.files.saturating_sub(to_run.len()),
        &base.tree[..10],
        changed.len(),
        tool.program(),
        started.elapsed().as_secs_f64()
    ));
    let summary = TreeSummary {
        tree: tree.to_string(),
        key: base.key.clone(),
        files: base.files,
        excluded: base.excluded.clone(),
        failing: failing.clone(),
    };
    if let Err(e) = store.save_summary(&identity, summary) {
        inv.note(&format!("the tree's summary not kept: {e:#}"));
    }
    own_run_on_failing(inv, tool, args, &failing).map(Some)
}

/// The paths of `delta` when every change is a regular file's content (or exec bit) and none
/// is a config or ignore file, or a path the tool's scope refuses; `None` otherwise.
fn content_only(delta: &[crate::git::Delta], scope: Scope) -> Option<Vec<String>> {
    let regular = |e: Option<(u32, git2::Oid)>| matches!(e, Some((0o100644 | 0o100755, _)));
    delta
        .iter()
        .map(|d| {
            let path = std::str::from_utf8(&d.path).ok()?;
            let name = path.rsplit('/').next().unwrap_or(path);
            let plain = regular(d.old)
                && regular(d.new)
                && !path.chars().any(char::is_control)
                && !(scope.config)(name)
                && !IGNORE_FILES.contains(&name)
                && (scope.refuse)(path).is_none();
            plain.then(|| path.to_string())
        })
        .collect()
}

/// A requirement in `resolved` that is not flake8 itself (see [`FLAKE8_PACKAGES`]).
fn flake8_plugin(resolved: &[String]) -> Option<&String> {
    resolved.iter().find(|p| {
        let name = p.split(['=', '<', '>', '!', '~', '[', ';', ' ']).next().unwrap_or(p);
        !FLAKE8_PACKAGES.contains(&crate::pins::normalize(name).as_str())
    })
}

/// The path of a file as the tree names it (flake8's discovery says `./x`).
fn lookup(f: &str) -> &str {
    f.strip_prefix("./").unwrap_or(f)
}

/// Stores this run's results.
fn save(
    inv: &mut Invocation<'_>,
    store: &Store,
    mut manifest: crate::filecache::Manifest,
    facts: &TreeFacts,
    fresh: &BTreeMap<String, u32>,
    now: u64,
) {
    for (f, &problems) in fresh {
        if let Some(b) = facts.blobs.get(lookup(f)) {
            manifest.put(lookup(f), b, FileResult { problems, seen: now });
        }
    }
    if let Err(e) = store.save(manifest, now) {
        inv.note(&format!("per-file results not kept: {e:#}"));
    }
}

/// The arguments that make the tool answer in a form [`attribute`] reads, without the files.
fn answer_args(tool: Tool, args: &[&str], inv: &Invocation<'_>) -> Vec<String> {
    let mut argv: Vec<String> = args.iter().filter(|a| **a != "--diff").map(ToString::to_string).collect();
    match tool {
        Tool::Ruff => argv.extend(["--output-format".into(), "json".into()]),
        Tool::RuffFormat => {}
        Tool::Black => argv.push("-v".into()),
        Tool::Flake8 => {
            argv.extend([
                "--format=%(path)s:%(row)d:%(col)d: %(code)s".to_string(),
                "--no-show-source".to_string(),
                format!("--output-file={}", inv.scratch.join("flake8-answer.txt").display()),
            ]);
        }
    }
    argv
}

/// The tool's answer for `files` (one chunk), per file ([`attribute`]): `Ok(None)` when it
/// does not account for them, `Err` how the check ended when the tool did not (timed out,
/// interrupted).
fn answer_for(
    inv: &mut Invocation<'_>,
    tool: Tool,
    args: &[&str],
    files: &[String],
) -> Result<std::result::Result<Option<BTreeMap<String, u32>>, Ended>> {
    let mut argv = answer_args(tool, args, inv);
    argv.extend(files_argv(tool).iter().map(ToString::to_string));
    argv.extend(files.iter().cloned());
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    Ok(answer(inv, tool, &argv)?.map(|(exit, text)| attribute(tool, &text, exit, Some(files), &inv.src)))
}

/// Runs the tool with `argv` and returns its exit and its answer (ruff: its standard output;
/// black: its standard error; flake8: the output file), or how the check ended (timed out,
/// interrupted).
fn answer(
    inv: &mut Invocation<'_>,
    tool: Tool,
    argv: &[&str],
) -> Result<std::result::Result<(Exit, String), Ended>> {
    let mut file = tempfile::tempfile_in(&inv.scratch).context("creating a file for the tool's answer")?;
    let out = file.try_clone().context("sharing a file")?;
    let mut cmd = inv.check_cmd(tool.program(), argv);
    if tool == Tool::RuffFormat {
        // One line per file, whatever the check's own setting.
        cmd.env.insert("RUFF_OUTPUT_FORMAT".into(), "concise".into());
    }
    let flake8_out = inv.scratch.join("flake8-answer.txt");
    if tool == Tool::Flake8 {
        std::fs::remove_file(&flake8_out).ok();
    }
    let exit = match tool {
        Tool::Black => inv.run_stderr_to(&cmd, out)?,
        _ => inv.run_stdout_to(&cmd, out)?,
    };
    match exit {
        Exit::TimedOut => return Ok(Err(Ended::TimedOut)),
        Exit::Cancelled => return Ok(Err(Ended::Cancelled)),
        _ => {}
    }
    let mut text = String::new();
    if tool == Tool::Flake8 {
        // No file: nothing was reported (flake8 writes it only when it reports).
        text = std::fs::read_to_string(&flake8_out).unwrap_or_default();
        std::fs::remove_file(&flake8_out).ok();
    } else {
        file.seek(std::io::SeekFrom::Start(0)).context("reading the tool's answer")?;
        file.read_to_string(&mut text).context("reading the tool's answer")?;
    }
    Ok(Ok((exit, text)))
}

/// Problems per file in the tool's answer for `chunk` (`None`: a whole-tree run, any file of
/// the snapshot), or `None` when the answer does not account for every file: an exit status
/// other than 0 (no problem) or 1 (some), output that does not parse, a file it was not
/// given, or problems that disagree with the exit status.
fn attribute(
    tool: Tool,
    text: &str,
    exit: Exit,
    chunk: Option<&[String]>,
    src: &Path,
) -> Option<BTreeMap<String, u32>> {
    if !matches!(exit, Exit::Code(0 | 1)) {
        return None;
    }
    let roots = [src.canonicalize().ok(), Some(src.to_path_buf())];
    let relative = |name: &str| -> Option<String> {
        let path = Path::new(name);
        let rel = if path.is_absolute() {
            roots.iter().flatten().find_map(|r| path.strip_prefix(r).ok())?
        } else {
            path
        };
        Some(rel.to_str()?.to_string())
    };
    let mut counts: BTreeMap<String, u32> =
        chunk.unwrap_or_default().iter().map(|f| (f.clone(), 0)).collect();
    let mut count = |file: String, problems: u32| -> Option<()> {
        match counts.get_mut(&file) {
            Some(c) => *c += problems,
            None if chunk.is_none() => {
                counts.insert(file, problems);
            }
            None => return None,
        }
        Some(())
    };
    match tool {
        Tool::Ruff => {
            #[derive(serde::Deserialize)]
            struct Problem {
                filename: String,
            }
            let problems: Vec<Problem> = serde_json::from_str(text).ok()?;
            for p in &problems {
                count(relative(&p.filename)?, 1)?;
            }
        }
        Tool::RuffFormat => {
            // `Would reformat: X` for each file that would change, then a summary counting
            // every file given (`1 file would be reformatted, 2 files already formatted`).
            let mut summary: Option<usize> = None;
            for line in text.lines() {
                // Older ruff (its formatter has no `--output-format`), and newer ruff's concise lines.
                let concise = line
                    .strip_suffix(": unformatted: File would be reformatted")
                    .and_then(|l| l.rsplitn(3, ':').nth(2));
                if let Some(f) = line.strip_prefix("Would reformat: ").or(concise) {
                    count(relative(f)?, 1)?;
                    continue;
                }
                let mut total = 0;
                for part in line.split(", ") {
                    let (n, rest) = part.split_once(' ')?;
                    let known = ["file would be reformatted", "files would be reformatted"]
                        .into_iter()
                        .chain(["file already formatted", "files already formatted"])
                        .any(|k| k == rest);
                    if !known {
                        return None;
                    }
                    total += n.parse::<usize>().ok()?;
                }
                summary = Some(summary.unwrap_or(0) + total);
            }
            if summary != Some(counts.len()) || chunk.is_none() {
                return None;
            }
        }
        Tool::Black => {
            // Every file once: `would reformat X`, `X already well formatted, good job.`, `X
            // wasn't modified on disk since last run.` (black's own cache); other lines are
            // about the run (its root, its config, ignored paths, the summary).
            let mut seen = BTreeSet::new();
            // Its summary (`1 file would be reformatted, 3 files would be left unchanged.`)
            // must count as many files: a line that was not read as one is not trusted.
            let mut summary: Option<usize> = None;
            for line in text.lines() {
                let counted: Vec<usize> = line
                    .trim_end_matches('.')
                    .split(", ")
                    .filter_map(|part| {
                        let (n, rest) = part.split_once(' ')?;
                        (rest.starts_with("file would ") || rest.starts_with("files would "))
                            .then(|| n.parse::<usize>().ok())?
                    })
                    .collect();
                if !counted.is_empty() {
                    summary = Some(summary.unwrap_or(0) + counted.iter().sum::<usize>());
                    continue;
                }
                let (file, problems) = if let Some(f) = line.strip_prefix("would reformat ") {
                    (f, 1)
                } else if let Some(f) = line
                    .strip_suffix(" already well formatted, good job.")
                    .or_else(|| line.strip_suffix(" wasn't modified on disk since last run."))
                {
                    (f, 0)
                } else if line.starts_with("error: ") {
                    return None;
                } else {
                    continue;
                };
                let file = relative(file)?;
                if !seen.insert(file.clone()) {
                    return None;
                }
                count(file, problems)?;
            }
            if let Some(chunk) = chunk
                && seen.len() != chunk.len()
            {
                return None;
            }
            let nothing = seen.is_empty() && text.contains("No Python files are present to be formatted");
            if summary != Some(seen.len()) && !nothing {
                return None;
            }
        }
        Tool::Flake8 => {
            for line in text.lines() {
                // `path:row:col: CODE`, the path as given (it may hold `:`).
                let (rest, code) = line.rsplit_once(": ")?;
                let mut parts = rest.rsplitn(3, ':');
                let (col, row, file) = (parts.next()?, parts.next()?, parts.next()?);
                if col.parse::<u32>().is_err() || row.parse::<u32>().is_err() || code.contains(' ') {
                    return None;
                }
                count(file.to_string(), 1)?;
            }
        }
    }
    let any = counts.values().any(|&c| c > 0);
    (any == (exit == Exit::Code(1))).then_some(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_counts_only_when_it_accounts_for_every_file() {
        let chunk = vec!["a.py".to_string(), "-b c.py".to_string()];
        let src = Path::new("/nonexistent-snapshot");
        let ruff = |text: &str, exit| attribute(Tool::Ruff, text, exit, Some(&chunk), src);
        let one = r#"[{"filename": "/nonexistent-snapshot/-b c.py", "code": "F401"}]"#;
        let counts = ruff(one, Exit::Code(1)).unwrap();
        assert_eq!((counts["a.py"], counts["-b c.py"]), (0, 1));
        assert_eq!(ruff("[]", Exit::Code(0)).unwrap()["a.py"], 0);
        // A file it was not given, an exit status that disagrees, a crash, garbage.
        assert!(ruff(r#"[{"filename": "/elsewhere/a.py"}]"#, Exit::Code(1)).is_none());
        assert!(ruff(r#"[{"filename": "/nonexistent-snapshot/x.py"}]"#, Exit::Code(1)).is_none());
        assert!(ruff("[]", Exit::Code(1)).is_none());
        assert!(ruff(one, Exit::Code(0)).is_none());
        assert!(ruff("[]", Exit::Code(2)).is_none());
        assert!(ruff("[]", Exit::Signalled).is_none());
        assert!(ruff("error: not json", Exit::Code(1)).is_none());
    }

    #[test]
    fn each_tool_has_its_own_config_files_and_layout() {
        let black = Tool::Black.scope();
        assert!((black.config)(".gitignore") && (black.config)("pyproject.toml"));
        assert!(!(black.config)("setup.cfg"));
        assert!((black.refuse)("pyproject.toml").is_none());
        assert!((black.refuse)("sub/pyproject.toml").is_some() && (black.refuse)("x/.hg").is_some());
        assert_eq!(black.layout, Layout::Every);
        let flake8 = Tool::Flake8.scope();
        assert!(["setup.cfg", "tox.ini", ".flake8"].iter().all(|n| (flake8.config)(n)));
        assert!(!(flake8.config)("pyproject.toml"));
        assert_eq!(flake8.layout, Layout::Nothing);
        assert!(!(Tool::Ruff.scope().config)(".gitignore"));
    }

    #[test]
    fn a_package_beyond_flake8_itself_is_a_plugin() {
        let own: Vec<String> =
            ["flake8==7.5.0", "mccabe==0.7.0", "pycodestyle==2.15.0", "PyFlakes==4.1.0", "flake8>=7"]
                .map(String::from)
                .to_vec();
        assert_eq!(flake8_plugin(&own), None);
        let mut more = own.clone();
        more.push("flake8-isort==6.1.1".to_string());
        assert_eq!(flake8_plugin(&more).map(String::as_str), Some("flake8-isort==6.1.1"));
    }

    #[test]
    fn ruff_formats_lines_and_summary_count_every_file() {
        let chunk = vec!["a.py".to_string(), "b c.py".to_string()];
        let src = Path::new("/s");
        let fmt = |text: &str, exit| attribute(Tool::RuffFormat, text, exit, Some(&chunk), src);
        let one = "Would reformat: b c.py\n1 file would be reformatted, 1 file already formatted\n";
        let counts = fmt(one, Exit::Code(1)).unwrap();
        assert_eq!((counts["a.py"], counts["b c.py"]), (0, 1));
        assert_eq!(fmt("2 files already formatted\n", Exit::Code(0)).unwrap()["a.py"], 0);
        let concise = "b c.py:1:2: unformatted: File would be reformatted\n\
                       1 file would be reformatted, 1 file already formatted\n";
        assert_eq!(fmt(concise, Exit::Code(1)).unwrap()["b c.py"], 1);
        // A summary that counts another number of files, a file not given, a parse error (exit
        // 2), an exit that disagrees, a line it does not know.
        assert!(fmt("1 file already formatted\n", Exit::Code(0)).is_none());
        assert!(fmt("Would reformat: d.py\n2 files would be reformatted\n", Exit::Code(1)).is_none());
        assert!(fmt("error: Failed to parse a.py:1:7\n", Exit::Code(2)).is_none());
        assert!(fmt(one, Exit::Code(0)).is_none());
        assert!(fmt("2 files left alone\n", Exit::Code(0)).is_none());
        assert!(attribute(Tool::RuffFormat, one, Exit::Code(1), None, src).is_none());
    }

    #[test]
    fn blacks_verbose_lines_name_every_file_once() {
        let chunk = vec!["a.py".to_string(), "-b c.py".to_string()];
        let src = Path::new("/s");
        let black = |text: &str, exit, chunk| attribute(Tool::Black, text, exit, chunk, src);
        let text = "Identified `/` as project root containing a file system root.\n\
                    Found input source: \"a.py\"\nwould reformat a.py\n\
                    -b c.py already well formatted, good job.\n\nOh no!\n\
                    1 file would be reformatted, 1 file would be left unchanged.\n";
        let counts = black(text, Exit::Code(1), Some(&chunk)).unwrap();
        assert_eq!((counts["a.py"], counts["-b c.py"]), (1, 0));
        // A whole-tree run: absolute paths, any file of the snapshot; excluded ones not counted.
        let whole = "/s/build ignored: matches the --exclude regular expression\n\
                     /s/x/y.py wasn't modified on disk since last run.\n\
                     /s/z.pyi already well formatted, good job.\nAll done!\n\
                     2 files would be left unchanged.\n";
        let counts = black(whole, Exit::Code(0), None).unwrap();
        assert_eq!(counts.keys().collect::<Vec<_>>(), ["x/y.py", "z.pyi"]);
        // A file missing, named twice, not given, an error, an exit that disagrees.
        assert!(black("would reformat a.py\n", Exit::Code(1), Some(&chunk)).is_none());
        let twice = format!("{text}would reformat a.py\n");
        assert!(black(&twice, Exit::Code(1), Some(&chunk)).is_none());
        let other = format!("{text}would reformat d.py\n");
        assert!(black(&other, Exit::Code(1), Some(&chunk)).is_none());
        assert!(black("error: cannot format a.py: boom\n", Exit::Code(123), Some(&chunk)).is_none());
        assert!(black("error: cannot format /s/a.py: boom\n", Exit::Code(1), None).is_none());
        assert!(black(text, Exit::Code(0), Some(&chunk)).is_none());
        // A summary that counts another number of files (a name that broke a line), none (a
        // quiet run), or nothing to check.
        let broken = text.replace("1 file would be left", "2 files would be left");
        assert!(black(&broken, Exit::Code(1), Some(&chunk)).is_none());
        assert!(black("would reformat /s/a.py\n", Exit::Code(1), None).is_none());
        let nothing = "No Python files are present to be formatted. Nothing to do 😴\n";
        assert!(black(nothing, Exit::Code(0), None).unwrap().is_empty());
        assert!(black("", Exit::Code(0), None).is_none());
    }

    #[test]
    fn flake8_lines_count_per_file_as_given() {
        let chunk = vec!["./a.py".to_string(), "./-b: c.py".to_string()];
        let src = Path::new("/s");
        let flake8 = |text: &str, exit| attribute(Tool::Flake8, text, exit, Some(&chunk), src);
        let counts = flake8("./-b: c.py:1:1: F401\n./-b: c.py:3:80: E501\n", Exit::Code(1)).unwrap();
        assert_eq!((counts["./a.py"], counts["./-b: c.py"]), (0, 2));
        assert_eq!(flake8("", Exit::Code(0)).unwrap()["./a.py"], 0);
        assert!(flake8("./a.py:1:1: F401 'os' imported but unused\n", Exit::Code(1)).is_none());
        assert!(flake8("./d.py:1:1: F401\n", Exit::Code(1)).is_none());
        assert!(flake8("3\n", Exit::Code(1)).is_none());
        assert!(flake8("", Exit::Code(1)).is_none());
        assert!(flake8("./a.py:1:1: F401\n", Exit::Code(0)).is_none());
    }
}
