//! Statements stored as git notes: `refs/notes/hookgate` annotates a tree object with one
//! JSON line per signed statement (an [`Envelope`]). Lines are only ever added, and notes from
//! the remote are merged with git's `cat_sort_uniq` strategy (the union of the lines), so
//! concurrent writers lose nothing. Reading a tree's note is one lookup in the notes tree
//! (git fans it out by object id), done in process.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result, bail};
use git2::{Oid, Repository, Signature};
use serde::{Deserialize, Serialize};

use crate::env::HostEnv;
use crate::process::Cmd;

/// The notes ref.
pub const NOTES_REF: &str = "refs/notes/hookgate";

/// Where `pull` fetches the remote's notes before merging them.
const FETCHED_REF: &str = "refs/hookgate/fetched-notes";

/// A line longer than this is not one hookgate wrote: ignored, never parsed.
pub const MAX_LINE_BYTES: usize = 256 * 1024;

/// A note larger than this is not read at all.
const MAX_NOTE_BYTES: usize = 16 * 1024 * 1024;

/// One line of a note: a statement's exact bytes and their signature.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    /// The statement, as signed (JSON text).
    pub payload: String,
    /// Its armored SSHSIG signature.
    pub signature: String,
}

/// The lines of the note on `object`, if there is one (empty when the ref or the note is
/// missing, or the note is not text of a sane size).
pub fn read(repo: &Repository, object: Oid) -> Vec<String> {
    let Ok(note) = repo.find_note(Some(NOTES_REF), object) else { return Vec::new() };
    let bytes = note.message_bytes();
    if bytes.len() > MAX_NOTE_BYTES {
        return Vec::new();
    }
    String::from_utf8_lossy(bytes)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && l.len() <= MAX_LINE_BYTES)
        .map(str::to_string)
        .collect()
}

/// Whether the notes ref exists (the cheap test before anything else is read).
pub fn exists(repo: &Repository) -> bool {
    repo.find_reference(NOTES_REF).is_ok()
}

/// Adds `lines` to the note on `object` (keeping what is there); returns how many were new.
pub fn append(repo: &Repository, object: Oid, lines: &[String]) -> Result<usize> {
    let existing = read(repo, object);
    let mut all: BTreeSet<String> = existing.iter().cloned().collect();
    let before = all.len();
    all.extend(lines.iter().cloned());
    let added = all.len() - before;
    if added == 0 {
        return Ok(0);
    }
    let text: String = all.into_iter().map(|l| l + "\n").collect();
    let sig = repo
        .signature()
        .or_else(|_| Signature::now("hookgate", "hookgate@localhost"))
        .context("making the notes commit's signature")?;
    repo.note(&sig, &sig, Some(NOTES_REF), object, &text, true).context("writing the note")?;
    Ok(added)
}

/// The trees of every commit reachable from the remote-tracking branches (`refs/remotes/`);
/// `None` when there are none (no remote fetched: nothing can be called unreachable).
pub fn remote_trees(repo: &Repository) -> Result<Option<std::collections::HashSet<Oid>>> {
    let mut walk = repo.revwalk().context("walking the history")?;
    let mut any = false;
    for r in repo.references_glob("refs/remotes/*").context("listing the remote branches")?.flatten() {
        if let Ok(commit) = r.peel_to_commit() {
            walk.push(commit.id()).context("walking the history")?;
            any = true;
        }
    }
    if !any {
        return Ok(None);
    }
    let mut trees = std::collections::HashSet::new();
    for id in walk {
        let commit = repo.find_commit(id.context("walking the history")?).context("reading a commit")?;
        trees.insert(commit.tree_id());
    }
    Ok(Some(trees))
}

/// When the newest statement of a note was issued (seconds since the epoch; 0 when no line
/// is a statement).
fn newest_issued(lines: &[String]) -> u64 {
    lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Envelope>(l).ok())
        .filter_map(|e| serde_json::from_str::<serde_json::Value>(&e.payload).ok())
        .filter_map(|v| v["predicate"]["configuration"][0]["annotations"]["issuedAt"].as_u64())
        .max()
        .unwrap_or(0)
}

/// The objects whose notes may go: not in `keep`, and whose newest statement was issued at or
/// before `cutoff` (seconds since the epoch).
pub fn prunable(repo: &Repository, keep: &std::collections::HashSet<Oid>, cutoff: u64) -> Result<Vec<Oid>> {
    if !exists(repo) {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for pair in repo.notes(Some(NOTES_REF)).context("listing the notes")? {
        let (_, object) = pair.context("listing the notes")?;
        if !keep.contains(&object) && newest_issued(&read(repo, object)) <= cutoff {
            out.push(object);
        }
    }
    out.sort();
    Ok(out)
}

/// Removes the notes on `objects` (a notes commit per thousand objects).
pub fn remove(git_dir: &Path, host: &HostEnv, objects: &[Oid]) -> Result<()> {
    for chunk in objects.chunks(1000) {
        let ids: Vec<String> = chunk.iter().map(Oid::to_string).collect();
        let mut args = vec!["notes", "--ref", NOTES_REF, "remove", "--ignore-missing"];
        args.extend(ids.iter().map(String::as_str));
        let (ok, _, err) = git(git_dir, host, &args)?;
        if !ok {
            bail!("removing notes from {NOTES_REF} failed: {}", err.trim());
        }
    }
    Ok(())
}

/// Refuses a remote name git would read as an option.
fn check_remote(remote: &str) -> Result<()> {
    if remote.starts_with('-') || remote.is_empty() {
        bail!("`{remote}` is not a remote name");
    }
    Ok(())
}

/// Runs git in the repository at `git_dir`; returns (success, stdout, stderr).
fn git(git_dir: &Path, host: &HostEnv, args: &[&str]) -> Result<(bool, String, String)> {
    let mut env = host.git_env();
    env.insert("GIT_DIR".into(), git_dir.display().to_string());
    // The merge of notes is a commit of hookgate's: the identity the user's environment
    // gives, else hookgate's own (a CI runner may have none).
    for (k, v) in [
        ("GIT_AUTHOR_NAME", "hookgate"),
        ("GIT_AUTHOR_EMAIL", "hookgate@localhost"),
        ("GIT_COMMITTER_NAME", "hookgate"),
        ("GIT_COMMITTER_EMAIL", "hookgate@localhost"),
    ] {
        env.insert(k.into(), host.get(k).unwrap_or(v).into());
    }
    let cmd = Cmd::new("git", args, git_dir, env);
    let out = cmd.output()?;
    Ok((out.exit.success(), out.stdout, out.stderr))
}

/// Fetches `remote`'s notes and merges them into ours (the union of the lines); returns
/// whether the remote had any.
pub fn pull(git_dir: &Path, host: &HostEnv, remote: &str) -> Result<bool> {
    check_remote(remote)?;
    let spec = format!("+{NOTES_REF}:{FETCHED_REF}");
    let (ok, _, err) = git(git_dir, host, &["fetch", "--quiet", "--no-tags", remote, &spec])?;
    if !ok {
        if err.contains("couldn't find remote ref") {
            return Ok(false);
        }
        bail!("`git fetch {remote} {spec}` failed: {}", err.trim());
    }
    let (have, _, _) = git(git_dir, host, &["rev-parse", "--verify", "--quiet", NOTES_REF])?;
    let (ok, _, err) = match have {
        true => git(
            git_dir,
            host,
            &["notes", &format!("--ref={NOTES_REF}"), "merge", "--quiet", "-s", "cat_sort_uniq", FETCHED_REF],
        )?,
        false => git(git_dir, host, &["update-ref", NOTES_REF, FETCHED_REF])?,
    };
    if !ok {
        bail!("merging the remote's verdicts into {NOTES_REF} failed: {}", err.trim());
    }
    Ok(true)
}

/// Pushes our notes to `remote`; when another writer pushed first, merges theirs and tries
/// again (a few times), so both writers' statements end up there.
pub fn push(git_dir: &Path, host: &HostEnv, remote: &str) -> Result<()> {
    check_remote(remote)?;
    let spec = format!("{NOTES_REF}:{NOTES_REF}");
    let mut last = String::new();
    for _ in 0..5 {
        let (ok, _, err) = git(git_dir, host, &["push", "--quiet", "--no-verify", remote, &spec])?;
        if ok {
            return Ok(());
        }
        last = err;
        // Rejected (someone pushed meanwhile) or anything else: merge theirs, try again.
        pull(git_dir, host, remote)?;
    }
    bail!("`git push {remote} {spec}` failed: {}", last.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_of_a_note_written_by_git_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            let out = std::process::Command::new("git").args(args).current_dir(dir.path()).output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        };
        git(&["init", "-q"]);
        let tree = git(&["write-tree"]);
        std::fs::write(dir.path().join("n"), "one\ntwo\nthree\n").unwrap();
        git(&["notes", "--ref=hookgate", "add", "-f", "-F", "n", &tree]);
        let repo = Repository::open(dir.path()).unwrap();
        assert_eq!(read(&repo, Oid::from_str(&tree).unwrap()), ["one", "two", "three"]);
    }
}
