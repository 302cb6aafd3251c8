//! ruff over only the files that changed: the default `lint` and `format` commands ask the
//! per-file results ([`crate::filecache`]) which of the files ruff's discovery found were
//! already checked in the same context, run ruff (JSON output, `--force-exclude`, the files
//! after `--`) on the others, and answer with the union. The verdict is what a whole-tree run
//! says: when any file has problems, ruff runs once more on just the failing files with the
//! check's own arguments, so the log ends with ruff's own words about them and that run's exit
//! status is the verdict. Whatever ruff's JSON does not account for (an exit status other than
//! 0 or 1, a file it was not given, output that does not parse) keeps no per-file result and
//! the failing-file run covers every file checked this time.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};

use super::Invocation;
use super::invocation::check;
use crate::filecache::{FileResult, Store, context_key, tree_facts};
use crate::outcome::Ended;
use crate::process::Exit;

/// Files per ruff invocation, well under the kernel's argument-size limit.
pub const FILES_PER_RUN: usize = 2000;

/// Runs ruff (`args`: the kind's own, e.g. `check --no-fix --no-cache`) on every file in
/// `files` (relative to the snapshot, sorted), named after `--` with `--force-exclude`.
pub fn run_whole(inv: &mut Invocation<'_>, args: &[&str], files: &[String]) -> Result<Ended> {
    for chunk in files.chunks(FILES_PER_RUN) {
        let mut argv: Vec<&str> = args.to_vec();
        argv.extend(["--force-exclude", "--"]);
        argv.extend(chunk.iter().map(String::as_str));
        check!(inv.run(&inv.check_cmd("ruff", &argv)));
    }
    Ok(Ended::Pass)
}

/// Runs ruff like [`run_whole`], re-checking only the files without a per-file result in
/// `store` (see the module's doc).
pub fn run_changed(
    inv: &mut Invocation<'_>,
    store: &Store,
    args: &[&str],
    files: &[String],
) -> Result<Ended> {
    let started = std::time::Instant::now();
    let Some(version) = inv.check_cmd("ruff", &["--version"]).capture() else {
        inv.note("per-file cache not used: `ruff --version` did not answer");
        return run_whole(inv, args, files);
    };
    let repo = crate::git::Repo::open(inv.git_dir)?;
    let facts = match tree_facts(repo.git2(), inv.tree.id)? {
        Ok(f) => f,
        Err(why) => {
            inv.note(&format!("per-file cache not used: {why}"));
            return run_whole(inv, args, files);
        }
    };
    drop(repo);
    let resolved: Vec<String> = inv
        .resolver
        .used
        .iter()
        .flat_map(|u| u.packages.iter().cloned())
        .chain(inv.def.deps.iter().cloned())
        .collect();
    // ruff's own variables, and where it looks for a user-level config when the project has
    // none (the check's HOME is a fresh private one: nothing there).
    let env: Vec<(String, String)> = inv
        .check_env
        .iter()
        .filter(|(k, _)| k.starts_with("RUFF") || *k == "XDG_CONFIG_HOME")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let key = context_key(&args.join(" "), version.trim(), &resolved, &env, &facts);
    let mut manifest = store.load(&key);
    let new_context = manifest.is_empty();
    let now = crate::cache::now_secs();

    // What is known, and what ruff must look at.
    let mut known: BTreeMap<&str, u32> = BTreeMap::new();
    let mut to_run: Vec<String> = Vec::new();
    for f in files {
        let blob = facts.blobs.get(f.as_str());
        match blob.and_then(|b| manifest.get(f, b)).filter(|_| !store.refresh) {
            Some(r) => {
                known.insert(f.as_str(), r.problems);
                if let Some(b) = blob {
                    manifest.put(f, b, FileResult { seen: now, ..r });
                }
            }
            None => to_run.push(f.clone()),
        }
    }
    let from_cache = known.len();
    inv.note(&format!(
        "per-file cache: {} file(s) re-checked, {from_cache} from the per-file cache{} (looked up in {:.3}s)",
        to_run.len(),
        if store.refresh {
            " (--force: every file re-checked)"
        } else if new_context {
            " (none kept for this context: a first run, or ruff, its config or the tree's layout of \
             directories and Python files changed)"
        } else {
            ""
        },
        started.elapsed().as_secs_f64()
    ));

    // ruff's JSON answer for the files that changed.
    let mut json_args: Vec<&str> = args.iter().copied().filter(|a| *a != "--diff").collect();
    json_args.extend(["--output-format", "json", "--force-exclude", "--"]);
    let mut accounted = true;
    let mut fresh: BTreeMap<String, u32> = BTreeMap::new();
    for chunk in to_run.chunks(FILES_PER_RUN) {
        let mut argv = json_args.clone();
        argv.extend(chunk.iter().map(String::as_str));
        let mut answer = tempfile::tempfile_in(&inv.scratch).context("creating a file for ruff's answer")?;
        let exit =
            inv.run_stdout_to(&inv.check_cmd("ruff", &argv), answer.try_clone().context("sharing a file")?)?;
        match exit {
            Exit::TimedOut => return Ok(Ended::TimedOut),
            Exit::Cancelled => return Ok(Ended::Cancelled),
            _ => {}
        }
        let mut text = String::new();
        use std::io::Seek;
        answer.seek(std::io::SeekFrom::Start(0)).context("reading ruff's answer")?;
        answer.read_to_string(&mut text).context("reading ruff's answer")?;
        match attribute(&text, exit, chunk, &inv.src) {
            Some(counts) => fresh.extend(counts),
            None => {
                accounted = false;
                // Not understood: every file of the chunk counts as failing, so the run below
                // shows (and decides) what ruff says about it.
                fresh.extend(chunk.iter().map(|f| (f.clone(), 1)));
            }
        }
    }

    if accounted {
        for (f, &problems) in &fresh {
            if let Some(b) = facts.blobs.get(f.as_str()) {
                manifest.put(f, b, FileResult { problems, seen: now });
            }
        }
        if let Err(e) = store.save(manifest, now) {
            inv.note(&format!("per-file results not kept: {e:#}"));
        }
    } else {
        inv.note(
            "ruff's answer did not account for every file (see above): no per-file result kept; \
             its own run on those files decides",
        );
    }

    let failing: BTreeSet<&str> = known
        .iter()
        .map(|(f, p)| (*f, *p))
        .chain(fresh.iter().map(|(f, p)| (f.as_str(), *p)))
        .filter(|(_, p)| *p > 0)
        .map(|(f, _)| f)
        .collect();
    if failing.is_empty() {
        return Ok(Ended::Pass);
    }
    let failing: Vec<String> = failing.into_iter().map(str::to_string).collect();
    inv.note(&format!("ruff's own output for the {} file(s) with problems:", failing.len()));
    run_whole(inv, args, &failing)
}

/// Problems per file in ruff's JSON answer for `chunk` (which ruff exited with `exit` on), or
/// `None` when the answer does not account for every file: an exit status other than 0 (no
/// problem) or 1 (some), output that does not parse, a file it was not given, or problems that
/// disagree with the exit status.
fn attribute(text: &str, exit: Exit, chunk: &[String], src: &Path) -> Option<BTreeMap<String, u32>> {
    #[derive(serde::Deserialize)]
    struct Problem {
        filename: String,
    }
    if !matches!(exit, Exit::Code(0 | 1)) {
        return None;
    }
    let problems: Vec<Problem> = serde_json::from_str(text).ok()?;
    let mut counts: BTreeMap<String, u32> = chunk.iter().map(|f| (f.clone(), 0)).collect();
    let roots = [src.canonicalize().ok(), Some(src.to_path_buf())];
    for p in &problems {
        let path = Path::new(&p.filename);
        let rel = if path.is_absolute() {
            roots.iter().flatten().find_map(|r| path.strip_prefix(r).ok())?
        } else {
            path
        };
        *counts.get_mut(rel.to_str()?)? += 1;
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
        let one = r#"[{"filename": "/nonexistent-snapshot/-b c.py", "code": "F401"}]"#;
        let counts = attribute(one, Exit::Code(1), &chunk, src).unwrap();
        assert_eq!((counts["a.py"], counts["-b c.py"]), (0, 1));
        assert_eq!(attribute("[]", Exit::Code(0), &chunk, src).unwrap()["a.py"], 0);
        // A file it was not given, an exit status that disagrees, a crash, garbage.
        assert!(attribute(r#"[{"filename": "/elsewhere/a.py"}]"#, Exit::Code(1), &chunk, src).is_none());
        assert!(
            attribute(r#"[{"filename": "/nonexistent-snapshot/x.py"}]"#, Exit::Code(1), &chunk, src)
                .is_none()
        );
        assert!(attribute("[]", Exit::Code(1), &chunk, src).is_none());
        assert!(attribute(one, Exit::Code(0), &chunk, src).is_none());
        assert!(attribute("[]", Exit::Code(2), &chunk, src).is_none());
        assert!(attribute("[]", Exit::Signalled, &chunk, src).is_none());
        assert!(attribute("error: not json", Exit::Code(1), &chunk, src).is_none());
    }
}
