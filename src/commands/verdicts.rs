//! `hookgate verdicts export|push|pull`: this clone's verdicts as signed statements, carried
//! through the git remote in `refs/notes/hookgate` (see [`crate::verdicts`]).

use std::io::Write;

use anyhow::{Context, Result};

use crate::cache::Cache;
use crate::error::Error;
use crate::gate::{Session, load_config};
use crate::git::{Repo, TreeRef};
use crate::outcome::ExitStatus;
use crate::plan::{self, Plan, Selection};
use crate::venv;
use crate::verdicts::{self, notes, signing::Signer};

/// The plan of every check on `rev`'s tree (HEAD's by default): the keys to look up.
fn plan_of(s: &Session, repo: &Repo, rev: Option<&str>) -> Result<(Plan, Cache)> {
    plan_with(s, repo, rev, None)
}

/// [`plan_of`] for a run that tested the dists in `dists` (`run --dists DIR`).
fn plan_with(
    s: &Session,
    repo: &Repo,
    rev: Option<&str>,
    dists: Option<&std::path::Path>,
) -> Result<(Plan, Cache)> {
    let given = dists.map(crate::dists::read_dir).transpose()?;
    let tree: TreeRef = match rev {
        Some(rev) => repo.resolve(rev)?,
        None => repo.head()?,
    };
    let cache = Cache::for_user(repo.common_dir(), &s.host);
    let config = load_config(repo, &tree)?;
    let interp = venv::find_interpreter(config.python.as_deref(), &s.host, &s.cwd, cache.root())?;
    let plan = plan::build_with(repo, &tree, &config, &Selection::All, &interp, &s.host, given.as_deref())?;
    Ok((plan, cache))
}

/// The configured signer, or an error that says how to configure one.
fn signer(s: &Session, repo: &Repo) -> Result<Signer> {
    Signer::configured(repo, &s.host)?.ok_or_else(|| {
        Error::Environment(
            "no signing key: verdicts are shared only signed. Set `git config hookgate.signingKey \
             ~/.ssh/id_ed25519` (or user.signingKey with gpg.format=ssh) and hookgate.principal"
                .into(),
        )
        .into()
    })
}

/// `hookgate verdicts export`.
pub fn export(
    s: &Session,
    rev: Option<&str>,
    sign: bool,
    dists: Option<&std::path::Path>,
) -> Result<ExitStatus> {
    let repo = Repo::discover(&s.cwd, &s.host)?;
    let signer =
        if sign { Some(signer(s, &repo)?) } else { Signer::configured(&repo, &s.host).ok().flatten() };
    let producer = signer.as_ref().map_or_else(String::new, |k| k.principal.clone());
    let (plan, cache) = plan_with(s, &repo, rev, dists)?;
    let (statements, left_out) = verdicts::export(&plan, &cache, &producer)?;
    for why in left_out {
        crate::report::note(format_args!("{why}"));
    }
    let lines: Vec<String> = match (&signer, sign) {
        (Some(k), true) => verdicts::sign_all(k, &statements)?,
        _ => statements.iter().map(ToString::to_string).collect(),
    };
    let mut out = std::io::stdout().lock();
    for line in lines {
        writeln!(out, "{line}").context("writing statements")?;
    }
    Ok(ExitStatus::Success)
}

/// `hookgate verdicts push`.
pub fn push(s: &Session, rev: Option<&str>, remote: &str) -> Result<ExitStatus> {
    let repo = Repo::discover(&s.cwd, &s.host)?;
    let signer = signer(s, &repo)?;
    let (plan, cache) = plan_of(s, &repo, rev)?;
    let (statements, left_out) = verdicts::export(&plan, &cache, &signer.principal)?;
    for why in left_out {
        crate::report::note(format_args!("{why}"));
    }
    let lines = verdicts::sign_all(&signer, &statements)?;
    let added = notes::append(repo.git2(), plan.tree.id, &lines)?;
    notes::push(repo.git_dir(), &s.host, remote)?;
    crate::report::note(format_args!(
        "{} verdict(s) of tree {} signed by {} ({added} new), pushed to {remote} ({})",
        lines.len(),
        crate::git::short(plan.tree.id),
        signer.principal,
        notes::NOTES_REF
    ));
    Ok(ExitStatus::Success)
}

/// `hookgate verdicts push --statements FILE`: signs the statements of `file` (one JSON line
/// each, as `verdicts export` prints them) as this clone's signer, notes each on its tree and
/// pushes. Every statement must be well formed (see [`verdicts::statement::claim`]); its
/// producer becomes the signer, who vouches for it.
pub fn push_statements(s: &Session, file: &std::path::Path, remote: &str) -> Result<ExitStatus> {
    let repo = Repo::discover(&s.cwd, &s.host)?;
    let signer = signer(s, &repo)?;
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let mut by_tree: std::collections::BTreeMap<git2::Oid, Vec<serde_json::Value>> = Default::default();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let bad = |why: String| {
            Error::Environment(format!("{}:{}: not a statement hookgate made: {why}", file.display(), n + 1))
        };
        let mut statement: serde_json::Value = serde_json::from_str(line).map_err(|e| bad(e.to_string()))?;
        let claim = verdicts::statement::claim(&statement).map_err(bad)?;
        let tree = git2::Oid::from_str(&claim.tree).map_err(|e| bad(format!("tree {}: {e}", claim.tree)))?;
        statement["predicate"]["configuration"][0]["annotations"]["producer"] =
            serde_json::Value::String(signer.principal.clone());
        by_tree.entry(tree).or_default().push(statement);
    }
    let (mut total, mut added) = (0, 0);
    for (tree, statements) in &by_tree {
        let lines = verdicts::sign_all(&signer, statements)?;
        total += lines.len();
        added += notes::append(repo.git2(), *tree, &lines)?;
    }
    if total > 0 {
        notes::push(repo.git_dir(), &s.host, remote)?;
    }
    crate::report::note(format_args!(
        "{total} statement(s) on {} tree(s) signed by {} ({added} new), pushed to {remote} ({})",
        by_tree.len(),
        signer.principal,
        notes::NOTES_REF
    ));
    Ok(ExitStatus::Success)
}

/// `hookgate verdicts pull`.
pub fn pull(s: &Session, remote: &str) -> Result<ExitStatus> {
    let repo = Repo::discover(&s.cwd, &s.host)?;
    match notes::pull(repo.git_dir(), &s.host, remote)? {
        true => crate::report::note(format_args!("merged {remote}'s {} into ours", notes::NOTES_REF)),
        false => crate::report::note(format_args!("{remote} has no shared verdicts yet")),
    }
    Ok(ExitStatus::Success)
}
