//! `hookgate watch`: keeps the cache warm. The working copy is watched with notify; after a
//! quiet moment (debounce), the tree `git add -A` would produce is computed in a throwaway
//! index (the real index is never written) and the pre-push stage runs on it in the background.
//! A newer tree cancels the run it supersedes (its children are killed). Committing exactly the
//! watched content yields the same tree, so the push finds every verdict cached. Once sharing
//! is set up, the shared verdicts are pulled from `origin` when watch starts, before its first
//! run: the network is watch's, never the run path's.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use notify::{EventKind, RecursiveMode, Watcher};
use serde_json::json;

use crate::config::Stage;
use crate::gate::{RunSettings, Session, check_tree};
use crate::git::{Repo, TreeRef, short};
use crate::outcome::{ExitStatus, Outcome};
use crate::plan::Selection;
use crate::report::TreeReport;

/// Default quiet time after the last change before a run starts.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(500);

/// Whether a file-system event can change the tree `git add -A` would stage.
fn relevant(repo: &Repo, git_dir: &Path, event: &notify::Event) -> bool {
    if !matches!(event.kind, EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)) {
        return false; // reads (including our own) and metadata noise
    }
    event.paths.iter().any(|p| !p.starts_with(git_dir) && !repo.is_ignored(p))
}

/// Prints one JSON line (`--json`) on stdout.
fn emit(line: &serde_json::Value) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").ok();
    out.flush().ok();
}

/// Runs the pre-push stage on `tree` under `cancel`, reporting as it goes.
fn run_once(s: &Session, workdir: &Path, tree: &TreeRef, cancel: &crate::process::Cancel, json: bool) {
    let result = Repo::discover(workdir, &s.host).map_err(anyhow::Error::from).and_then(|repo| {
        let tree_hex = tree.id.to_string();
        let observer = move |o: &Outcome| {
            if json {
                emit(&json!({"event": "verdict", "tree": tree_hex, "name": o.name, "status": o.status,
                            "cached": o.cached, "duration_ms": o.duration_ms, "reason": o.reason,
                            "source": o.source}));
            }
        };
        let how = RunSettings { cancel: Some(cancel), observer: Some(&observer), ..RunSettings::default() };
        check_tree(s, &repo, tree, &Selection::Stage(Stage::PrePush), how)
    });
    match result {
        Ok((plan, outcomes)) => {
            let report = TreeReport { tree, stage: &plan.stage, outcomes: &outcomes };
            if json {
                let status = report.status_word();
                emit(&json!({"event": "done", "tree": tree.id.to_string(), "status": status}));
            } else {
                report.write_human(&mut std::io::stderr(), console::colors_enabled_stderr()).ok();
            }
        }
        Err(e) if crate::error::is_interrupted(&e) => {
            if json {
                emit(&json!({"event": "superseded", "tree": tree.id.to_string()}));
            }
        }
        Err(e) => {
            if json {
                emit(&json!({"event": "error", "tree": tree.id.to_string(), "message": format!("{e:#}")}));
            } else {
                crate::report::note(format_args!("{e:#}"));
            }
        }
    }
}

/// Pulls the shared verdicts from `origin` when sharing is set up (as the post-merge and
/// post-checkout hooks do); a failure is said, never fatal.
fn pull_verdicts(s: &Session, repo: &Repo, json: bool) {
    let has_origin = repo.config_values("remote.origin.url").is_ok_and(|v| !v.is_empty());
    if !has_origin || !super::hook::sharing_set_up(s, repo) {
        return;
    }
    let (event, message) = match crate::verdicts::notes::pull(repo.git_dir(), &s.host, "origin") {
        Ok(true) => ("verdicts-pulled", "merged origin's shared verdicts into ours".to_string()),
        Ok(false) => ("verdicts-pulled", "origin has no shared verdicts yet".to_string()),
        Err(e) => ("error", format!("shared verdicts not pulled: {e:#}")),
    };
    if json {
        emit(&json!({"event": event, "message": message}));
    } else {
        crate::report::note(format_args!("{message}"));
    }
}

/// `hookgate watch`: runs until Ctrl-C.
pub fn watch(s: &Session, debounce: Duration, json: bool) -> Result<ExitStatus> {
    let repo = Repo::discover(&s.cwd, &s.host)?;
    s.cancel.watch_signals();
    let workdir: PathBuf = repo.workdir().to_path_buf();
    let git_dir = workdir.join(".git");
    let (tx, rx) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(event) = res {
            tx.send(event).ok();
        }
    })
    .context("starting the file watcher")?;
    watcher
        .watch(&workdir, RecursiveMode::Recursive)
        .with_context(|| format!("watching {}", workdir.display()))?;
    if json {
        emit(&json!({"event": "watching", "workdir": workdir.display().to_string()}));
    } else {
        crate::report::note(format_args!(
            "watching {} (pre-push checks on every change; Ctrl-C stops)",
            workdir.display()
        ));
    }
    pull_verdicts(s, &repo, json);
    std::thread::scope(|scope| -> Result<()> {
        let mut current: Option<(crate::process::Cancel, std::thread::ScopedJoinHandle<'_, ()>)> = None;
        let mut last_tree = None;
        let mut dirty = true; // check what is there when we start
        let mut last_change = Instant::now() - debounce;
        while !s.cancel.is_cancelled() {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(event) => {
                    if relevant(&repo, &git_dir, &event) {
                        dirty = true;
                        last_change = Instant::now();
                    }
                    continue; // drain bursts before deciding
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if !dirty || last_change.elapsed() < debounce {
                continue;
            }
            dirty = false;
            let tree = match repo.worktree_tree() {
                Ok(t) => t,
                Err(e) => {
                    crate::report::note(format_args!("cannot read the working copy: {e:#}"));
                    continue;
                }
            };
            if last_tree == Some(tree.id) {
                continue;
            }
            last_tree = Some(tree.id);
            if let Some((cancel, handle)) = current.take() {
                cancel.cancel();
                handle.join().ok();
            }
            if !json {
                crate::report::note(format_args!("checking the working copy (tree {})", short(tree.id)));
            }
            let cancel = s.cancel.child();
            let run_cancel = cancel.clone();
            let workdir = &workdir;
            let handle = scope.spawn(move || run_once(s, workdir, &tree, &run_cancel, json));
            current = Some((cancel, handle));
        }
        if let Some((cancel, handle)) = current.take() {
            cancel.cancel();
            handle.join().ok();
        }
        Ok(())
    })?;
    if !json {
        crate::report::note(format_args!("watch stopped"));
    }
    Ok(ExitStatus::Success)
}
