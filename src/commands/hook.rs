//! `hookgate hook NAME`: what the installed hook scripts call. Runs the hook that was there
//! before us first, then the stage on the tree git is about to commit (the index's) or on
//! each pushed tip; the post-commit hook starts a background run instead.

use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, Result};

use crate::cache::Cache;
use crate::config::Stage;
use crate::gate::{Gate, RunSettings, Session};
use crate::git::{Repo, TreeRef, parse_push_lines, short};
use crate::hooks::{self, HookType};
use crate::outcome::{ExitStatus, Status};
use crate::plan::Selection;
use crate::report::TreeReport;

/// `hookgate hook NAME`.
pub fn hook(s: &Session, hook: HookType, hook_dir: Option<&Path>, args: &[String]) -> Result<ExitStatus> {
    let mut stdin = Vec::new();
    if hook == HookType::PrePush {
        std::io::stdin().read_to_end(&mut stdin).context("reading the pre-push input")?;
    }
    let repo = Repo::discover(&s.cwd, &s.host)?;
    if let Some(dir) = hook_dir
        && let Some(code) = hooks::run_legacy(dir, hook.name(), args, &stdin, &s.host.vars, &s.cwd)?
        && code != 0
    {
        crate::report::note(format_args!(
            "your earlier {} hook ({}) failed with exit {code}; not running the checks",
            hook.name(),
            hooks::legacy_path(dir, hook.name()).display()
        ));
        return Ok(ExitStatus::Failure);
    }
    let (stage, trees) = match hook {
        HookType::PostCommit => return start_background(&repo),
        HookType::PostMerge | HookType::PostCheckout => return pull_in_background(s, &repo, hook, args),
        HookType::PreCommit | HookType::PreMergeCommit => {
            (Stage::PreCommit, vec![repo.index_tree(s.host.index_file.as_deref())?])
        }
        HookType::PrePush => (Stage::PrePush, pushed_trees(&repo, &stdin)?),
    };
    let mut status = ExitStatus::Success;
    let mut err = std::io::stderr();
    let color = console::colors_enabled_stderr();
    // One batch: the refs of a push share the interpreter, the configs they agree on, the tags.
    let gate = Gate::new(s, &repo);
    for tree in &trees {
        let (plan, outcomes) = gate.check(tree, &Selection::Stage(stage), RunSettings::default())?;
        let report = TreeReport { tree, stage: &plan.stage, outcomes: &outcomes };
        status = status.worst(report.exit_status());
        let all_cached_pass = outcomes.iter().all(|o| o.cached && o.status == Status::Pass);
        if all_cached_pass && !outcomes.is_empty() {
            // One write per line (stderr is unbuffered).
            let line =
                format!("hookgate: {} on {}: {} checks passed (cached)\n", stage, tree.label, outcomes.len());
            err.write_all(line.as_bytes()).ok();
        } else {
            report.write_human(&mut err, color).ok();
        }
    }
    match status {
        ExitStatus::Success if hook == HookType::PrePush => {
            // git passes the remote's name (or its URL, when it has none) first.
            let remote = args.first().map_or("origin", String::as_str);
            publish_in_background(s, &repo, &trees, remote);
        }
        ExitStatus::Success => {}
        ExitStatus::Error => {
            writeln!(
                err,
                "hookgate: {stage} refused: a check could not be set up (see above; nothing was cached)"
            )
            .ok();
        }
        _ => {
            writeln!(
                err,
                "hookgate: {stage} refused; fix the failures above (or skip once with --no-verify)"
            )
            .ok();
        }
    }
    Ok(status)
}

/// The distinct pushed tips (deletions and non-commits skipped). Tips are the same when they
/// agree on the tree, the commit and the branch: a key may hold the version from git, which
/// the commit (its tags, its distance from them) and, for some schemes, the branch decide, so
/// a tip with another commit of the same tree is judged on its own (from the cache when its
/// keys are the same).
fn pushed_trees(repo: &Repo, stdin: &[u8]) -> Result<Vec<TreeRef>> {
    let text = String::from_utf8_lossy(stdin);
    let mut trees: Vec<TreeRef> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for update in parse_push_lines(&text)? {
        if update.is_deletion() {
            continue;
        }
        match repo.pushed_tree(&update)? {
            Some(t) if seen.insert((t.id, t.commit, repo.branch_of(&t))) => trees.push(t),
            Some(_) => {}
            None => {
                crate::report::note(format_args!("{} is not a commit; nothing to check", update.local_ref));
            }
        }
    }
    Ok(trees)
}

/// The post-commit hook: start `hookgate run --stage pre-push --tree <new commit>` detached
/// and return at once. A push that comes while it runs waits for it per check.
fn start_background(repo: &Repo) -> Result<ExitStatus> {
    let head = repo.head()?;
    let Some(commit) = head.commit else { return Ok(ExitStatus::Success) };
    let pid = detached(repo, &["run", "--stage", "pre-push", "--tree", &commit.to_string()])
        .context("starting the background run")?;
    crate::report::note(format_args!(
        "checking {} in the background (pid {pid}); `git push` will use its verdicts",
        short(commit)
    ));
    Ok(ExitStatus::Success)
}

/// After a pre-push that passed, with a signing key configured: `hookgate verdicts push` to
/// the same remote for each pushed tree, detached, so the push waits for no network of ours.
/// Without a key this does nothing; a failure to start is said, never fatal to the push.
fn publish_in_background(s: &Session, repo: &Repo, trees: &[TreeRef], remote: &str) {
    if !matches!(crate::verdicts::signing::Signer::configured(repo, &s.host), Ok(Some(_))) {
        return;
    }
    let remote = format!("--remote={remote}");
    for commit in trees.iter().filter_map(|t| t.commit) {
        let rev = commit.to_string();
        match detached(repo, &["verdicts", "push", "--tree", &rev, &remote]) {
            Ok(pid) => crate::report::note(format_args!(
                "publishing the verdicts of {} in the background (pid {pid})",
                short(commit)
            )),
            Err(e) => crate::report::warn(format_args!("verdicts of {} not published: {e:#}", short(commit))),
        }
    }
}

/// After a merge (`git pull`) or a branch checkout, once sharing is set up (a signing key, or
/// anyone to trust): `hookgate verdicts pull` from `origin`, detached, so that the run path
/// finds the notes already here and never touches the network. A checkout of files (git's
/// third post-checkout argument `0`) pulls nothing; neither does a clone without `origin`.
/// Never fails the git command: a failure to start is said.
fn pull_in_background(s: &Session, repo: &Repo, hook: HookType, args: &[String]) -> Result<ExitStatus> {
    if hook == HookType::PostCheckout && args.get(2).map(String::as_str) == Some("0") {
        return Ok(ExitStatus::Success);
    }
    let has_origin = repo.config_values("remote.origin.url").is_ok_and(|v| !v.is_empty());
    if !has_origin || !sharing_set_up(s, repo) {
        return Ok(ExitStatus::Success);
    }
    match detached(repo, &["verdicts", "pull", "--remote=origin"]) {
        Ok(pid) => {
            crate::report::note(format_args!("pulling the shared verdicts in the background (pid {pid})"));
        }
        Err(e) => crate::report::warn(format_args!("shared verdicts not pulled: {e:#}")),
    }
    Ok(ExitStatus::Success)
}

/// Whether this clone shares verdicts: a signing key is configured, or the trust policy (the
/// default branch's signers and policy, the user's git config) names anyone. Reads only
/// local git data.
pub(crate) fn sharing_set_up(s: &Session, repo: &Repo) -> bool {
    matches!(crate::verdicts::signing::Signer::configured(repo, &s.host), Ok(Some(_)))
        || crate::verdicts::trust::Policy::load(repo, &s.host).is_ok_and(|p| !p.is_empty())
}

/// Starts `hookgate <args>` detached (own process group, stdio to
/// `<git-common-dir>/hookgate/background.log`, which git does not wait for); its pid.
fn detached(repo: &Repo, args: &[&str]) -> Result<u32> {
    use std::os::unix::process::CommandExt;
    let cache = Cache::new(repo.common_dir());
    std::fs::create_dir_all(cache.root()).with_context(|| format!("creating {}", cache.root().display()))?;
    let log_path = cache.root().join("background.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("opening {}", log_path.display()))?;
    let bin = std::env::current_exe().context("finding hookgate's own path")?;
    // Not through `process::Cmd`: this child must outlive us (detached, own group, not
    // waited for), which is exactly what `Cmd` never allows.
    let child = std::process::Command::new(bin)
        .args(args)
        .current_dir(repo.workdir())
        .env_remove("GIT_INDEX_FILE")
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone().context("sharing the background log")?)
        .stderr(log)
        .process_group(0)
        .spawn()?;
    Ok(child.id())
}
