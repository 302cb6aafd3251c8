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
    let tree: TreeRef = match rev {
        Some(rev) => repo.resolve(rev)?,
        None => repo.head()?,
    };
    let cache = Cache::for_user(repo.common_dir(), &s.host);
    let config = load_config(repo, &tree)?;
    let interp = venv::find_interpreter(config.python.as_deref(), &s.host, &s.cwd, cache.root())?;
    let plan = plan::build(repo, &tree, &config, &Selection::All, &interp, &s.host)?;
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
pub fn export(s: &Session, rev: Option<&str>, sign: bool) -> Result<ExitStatus> {
    let repo = Repo::discover(&s.cwd, &s.host)?;
    let signer =
        if sign { Some(signer(s, &repo)?) } else { Signer::configured(&repo, &s.host).ok().flatten() };
    let producer = signer.as_ref().map_or_else(String::new, |k| k.principal.clone());
    let (plan, cache) = plan_of(s, &repo, rev)?;
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

/// `hookgate verdicts pull`.
pub fn pull(s: &Session, remote: &str) -> Result<ExitStatus> {
    let repo = Repo::discover(&s.cwd, &s.host)?;
    match notes::pull(repo.git_dir(), &s.host, remote)? {
        true => crate::report::note(format_args!("merged {remote}'s {} into ours", notes::NOTES_REF)),
        false => crate::report::note(format_args!("{remote} has no shared verdicts yet")),
    }
    Ok(ExitStatus::Success)
}
