//! `hookgate cache dir` and `hookgate cache gc`: where the cache is, and trimming it to what
//! recent commits need.

use std::collections::BTreeSet;
use std::io::Write;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};

use crate::cache::Cache;
use crate::gate::{Gate, Session};
use crate::gc::{self, Policy};
use crate::git::{Repo, TreeRef, short};
use crate::outcome::ExitStatus;
use crate::plan::Selection;
use crate::venv;

/// `hookgate cache dir`.
pub fn dir(s: &Session) -> Result<ExitStatus> {
    let repo = Repo::discover(&s.cwd, &s.host)?;
    let cache = Cache::new(repo.common_dir());
    writeln!(std::io::stdout(), "{}", cache.root().display()).context("writing the path")?;
    Ok(ExitStatus::Success)
}

/// The keys of every check of the recent commits of the branches and tags.
pub fn reachable_keys(s: &Session, repo: &Repo, depth: usize) -> Result<BTreeSet<String>> {
    let mut keys = BTreeSet::new();
    let mut trees = BTreeSet::new();
    let gate = Gate::new(s, repo);
    for (commit, tree) in repo.recent_tips(depth)? {
        let tref = TreeRef { id: tree, commit: Some(commit), label: short(commit) };
        // A commit whose config does not parse has no keys to keep.
        let Ok(config) = gate.config(&tref) else { continue };
        // A tree planned before has no other keys, unless its version comes from git (a key
        // input of the checks that build the package): that is the commit's.
        if !trees.insert(tree) && !config.project.version_from_git {
            continue;
        }
        let interp = gate.interpreter(&config)?;
        if let Ok(plan) = gate.plan(&tref, &config, &Selection::All, &interp) {
            keys.extend(plan.checks.into_iter().map(|c| c.key));
        }
    }
    Ok(keys)
}

/// `hookgate cache gc`.
pub fn gc(s: &Session, max_age_days: u64, depth: usize, dry_run: bool) -> Result<ExitStatus> {
    let repo = Repo::discover(&s.cwd, &s.host)?;
    let cache = Cache::new(repo.common_dir());
    let policy = Policy {
        reachable: reachable_keys(s, &repo, depth)?,
        max_age: Duration::from_secs(max_age_days.saturating_mul(86_400)),
        grace: Duration::from_secs(86_400),
    };
    let all = gc::entries(&cache);
    let drop = gc::to_drop(&all, &policy, SystemTime::now());
    let mut out = std::io::stdout().lock();
    let (mut bytes, mut count) = (0, 0);
    for e in &drop {
        let reason = if policy.reachable.contains(&e.key) {
            "older than --max-age"
        } else {
            "no recent commit needs it"
        };
        if dry_run || gc::remove(&cache, e) {
            bytes += e.bytes;
            count += 1;
            let verb = if dry_run { "would drop" } else { "dropped" };
            writeln!(out, "{verb} {} ({}, {reason})", e.key, gc::human(e.bytes)).context("writing")?;
        } else {
            writeln!(out, "kept {} (a run of it is in progress)", e.key).context("writing")?;
        }
    }
    let kept: u64 = all.iter().map(|e| e.bytes).sum::<u64>() - bytes;
    let verb = if dry_run { "would free" } else { "freed" };
    writeln!(
        out,
        "hookgate: {verb} {} in {count} of {} keys; {} stays in {}",
        gc::human(bytes),
        all.len(),
        gc::human(kept),
        cache.root().display()
    )
    .context("writing")?;
    // Environments built once (per user, shared by every repository) go when no run has used
    // them for as long.
    if let Some(store) = s.host.user_cache_dir().map(|d| d.join("hookgate").join("envs")) {
        let envs = venv::shared::collect(&store, policy.max_age, dry_run);
        if envs.envs > 0 {
            writeln!(
                out,
                "hookgate: {verb} {} in {} unused for {max_age_days} days ({})",
                gc::human(envs.bytes),
                if envs.envs == 1 {
                    "1 environment".to_string()
                } else {
                    format!("{} environments", envs.envs)
                },
                store.display()
            )
            .context("writing")?;
        }
    }
    // The persistent views of `lint`/`format` (per user and repository, in TMPDIR).
    let views = crate::run::view::collect(&s.host.tmp_root, policy.max_age, dry_run);
    if views.views > 0 {
        writeln!(
            out,
            "hookgate: {verb} {} in {} persistent view(s) unused for {max_age_days} days ({})",
            gc::human(views.bytes),
            views.views,
            s.host.tmp_root.display()
        )
        .context("writing")?;
    }
    prune_notes(s, &repo, max_age_days, dry_run, &mut out)?;
    Ok(ExitStatus::Success)
}

/// The shared verdicts' part of `gc`: the notes (`refs/notes/hookgate`) of trees that no
/// commit of the remote's branches has and whose newest statement is older than
/// `max_age_days`. Without remote-tracking branches nothing is pruned.
fn prune_notes(
    s: &Session,
    repo: &Repo,
    max_age_days: u64,
    dry_run: bool,
    out: &mut impl Write,
) -> Result<()> {
    use crate::verdicts::notes;
    let git = repo.git2();
    if !notes::exists(git) {
        return Ok(());
    }
    let Some(keep) = notes::remote_trees(git)? else {
        writeln!(out, "hookgate: no remote branches fetched: shared verdicts kept").context("writing")?;
        return Ok(());
    };
    let cutoff = crate::cache::now_secs().saturating_sub(max_age_days.saturating_mul(86_400));
    let prunable = notes::prunable(git, &keep, cutoff)?;
    if !dry_run {
        notes::remove(repo.git_dir(), &s.host, &prunable)?;
    }
    let verb = if dry_run { "would drop" } else { "dropped" };
    writeln!(
        out,
        "hookgate: {verb} the shared verdicts of {} tree(s) no remote branch has, older than {max_age_days} days",
        prunable.len()
    )
    .context("writing")?;
    Ok(())
}
