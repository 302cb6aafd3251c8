//! `hookgate status`: the cached verdict of each check for the last commits of this branch,
//! computed from keys alone (runs nothing). It uses the words `run` uses.

use std::io::Write;

use anyhow::{Context, Result};
use serde_json::json;

use crate::cache::Cache;
use crate::gate::{Gate, Session};
use crate::git::{Repo, TreeRef, short};
use crate::outcome::{ExitStatus, Outcome, Status};
use crate::plan::Selection;
use crate::run::known_outcomes;

/// What `status` shows for one check of one commit: the words of `run` (a check skipped as
/// not applicable, or because a need did not pass, is `skipped` here too), and `unchecked`
/// where no verdict is cached yet.
fn word(status: Option<Status>) -> &'static str {
    match status {
        Some(Status::Fail) => "fail",
        Some(s) => s.word(),
        None => "unchecked",
    }
}

/// One check of one commit as `status` shows it.
struct Row {
    name: String,
    word: &'static str,
    /// Its known outcome, which says where a verdict came from.
    outcome: Option<Outcome>,
}

/// `hookgate status`.
pub fn status(s: &Session, count: usize, as_json: bool) -> Result<ExitStatus> {
    let repo = Repo::discover(&s.cwd, &s.host)?;
    repo.head()?;
    for warning in crate::hooks::warnings(&repo)? {
        crate::report::warn(format_args!("{warning}"));
    }
    let cache = Cache::for_user(repo.common_dir(), &s.host);
    let mut rows = Vec::new();
    // One batch: commits that agree on their config share it, and the interpreter is found once.
    let gate = Gate::new(s, &repo);
    for (commit, tree, subject) in repo.recent_commits(count)? {
        let tref = TreeRef { id: tree, commit: Some(commit), label: short(commit) };
        let verdicts: Vec<Row> = match gate.config(&tref).and_then(|config| {
            let interp = gate.interpreter(&config)?;
            gate.plan(&tref, &config, &Selection::All, &interp)
        }) {
            Ok(plan) => known_outcomes(&plan, &cache)
                .into_iter()
                .zip(&plan.checks)
                .map(|(o, c)| Row {
                    name: c.def.name.clone(),
                    word: word(o.as_ref().map(|o| o.status)),
                    outcome: o,
                })
                .collect(),
            Err(e) => {
                crate::report::note(format_args!("{}: {e:#}", short(commit)));
                vec![Row { name: "config".to_string(), word: "error", outcome: None }]
            }
        };
        rows.push((commit, tree, subject, verdicts));
    }
    let mut out = std::io::stdout().lock();
    if as_json {
        let commits: Vec<_> = rows
            .iter()
            .map(|(c, t, subj, v)| {
                let checks: serde_json::Map<String, serde_json::Value> =
                    v.iter().map(|r| (r.name.clone(), json!(r.word))).collect();
                // Where each verdict came from: `local`, or a signer with the age of its run.
                let sources: serde_json::Map<String, serde_json::Value> = v
                    .iter()
                    .filter_map(|r| {
                        let o = r.outcome.as_ref()?;
                        let source = o.source.as_ref()?;
                        let mut entry = json!({ "source": source });
                        if let Some(age) = o.source_age_s {
                            entry["source_age_s"] = json!(age);
                        }
                        Some((r.name.clone(), entry))
                    })
                    .collect();
                json!({"commit": c.to_string(), "tree": t.to_string(), "subject": subj, "checks": checks,
                       "sources": sources})
            })
            .collect();
        writeln!(out, "{}", json!({ "head": repo.head_description(), "commits": commits }))
            .context("writing JSON")?;
        return Ok(ExitStatus::Success);
    }
    writeln!(out, "hookgate: cached verdicts on {}", repo.head_description())
        .context("writing the status")?;
    for (c, _, subj, v) in rows {
        let subj: String = subj.chars().take(40).collect();
        let verdicts: Vec<String> = v
            .iter()
            .map(|r| match r.outcome.as_ref().and_then(Outcome::provenance) {
                Some(from) => format!("{}:{} ({from})", r.name, r.word),
                None => format!("{}:{}", r.name, r.word),
            })
            .collect();
        writeln!(out, "  {}  {:<40}  {}", short(c), subj, verdicts.join(" "))
            .context("writing the status")?;
    }
    Ok(ExitStatus::Success)
}
