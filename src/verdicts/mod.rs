//! Verdicts that travel (issue #11). A verdict this clone reached can be exported as a
//! statement ([`statement`]), signed with the user's SSH key ([`signing`]) and attached to the
//! tree object in `refs/notes/hookgate` ([`notes`]), which `hookgate verdicts push` / `pull`
//! carry through the git remote. Before a run, [`adopt`] looks at the statements noted on the
//! tree under test and takes into the local cache each one that verifies, comes from a signer
//! the policy ([`trust`]) lets vouch for that check, and names exactly the key computed here;
//! everything else is ignored with a reason. Only the notes already in this clone are read:
//! the cached path never touches the network.

pub mod notes;
pub mod signing;
pub mod statement;
pub mod trust;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::cache::{Cache, Record, SCHEMA, now_secs, write_atomic};
use crate::env::HostEnv;
use crate::git::Repo;
use crate::plan::{Plan, PlannedCheck};
use crate::run::{cached_record, demand, has_files};
use notes::Envelope;
use signing::Signer;
use trust::Policy;

/// Why a verdict of this clone is not exported, if it is not: one that came from someone
/// else's statement is theirs to vouch for, and a key that holds a value hashed with this
/// repository's secret salt (a credential the check was given) is local to this machine.
fn not_exportable(record: &Record) -> Option<&'static str> {
    if record.source.is_some() {
        return Some("it came from a shared statement");
    }
    if record.key_inputs.to_string().contains("hmac-sha256:") {
        return Some("its key holds a secret's salted hash, which only this clone can compute");
    }
    None
}

/// The statements of every cached verdict of `plan` this clone may vouch for, as `producer`,
/// and a note for each verdict left out.
pub fn export(plan: &Plan, cache: &Cache, producer: &str) -> Result<(Vec<Value>, Vec<String>)> {
    let (mut out, mut left_out) = (Vec::new(), Vec::new());
    let now = now_secs();
    for c in &plan.checks {
        let Some(record) = cached_record(cache, c) else { continue };
        if let Some(why) = not_exportable(&record) {
            left_out.push(format!("{}: not shared: {why}", c.def.name));
            continue;
        }
        let dists = dists(cache, c)?;
        out.push(statement::build(&plan.tree.id.to_string(), &record, &dists, producer, now));
    }
    Ok((out, left_out))
}

/// The file name and SHA-256 of each dist a passing `wheel` kept.
fn dists(cache: &Cache, c: &PlannedCheck) -> Result<Vec<(String, String)>> {
    let dir = cache.artifacts_dir(&c.key);
    if c.def.kind.name() != "wheel" || !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry.context("reading a directory entry")?.path();
        if crate::checks::is_dist(&path) && path.is_file() {
            let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            out.push((name, crate::plan::sha256_hex(&bytes)));
        }
    }
    out.sort();
    Ok(out)
}

/// Signs `statements` as note lines.
pub fn sign_all(signer: &Signer, statements: &[Value]) -> Result<Vec<String>> {
    statements
        .iter()
        .map(|s| {
            let payload = s.to_string();
            let signature = signer.sign(payload.as_bytes())?;
            serde_json::to_string(&Envelope { payload, signature }).context("encoding a statement")
        })
        .collect()
}

/// What came of one shared statement for a check.
enum Judged {
    /// Usable: the record to store.
    Adopt(Box<Record>),
    /// About another check: not this one's business.
    Elsewhere,
    /// Ignored, and why.
    Ignored(String),
}

/// Takes into `cache` the shared verdicts noted on `plan`'s tree that the policy accepts, for
/// each check this clone has no verdict for; says why each statement for such a check was
/// ignored. A statement brings a verdict, never the files a check keeps for the checks after
/// it (dists, coverage data): such a check's verdict is taken only when no check of this run
/// that runs reads them, nor the caller (`wanted`: a release uploads `wheel`'s dists); see
/// `run::demand`. Reads nothing but a ref when no notes were ever pulled.
pub fn adopt(repo: &Repo, plan: &Plan, cache: &Cache, host: &HostEnv, wanted: &[&str]) -> Result<()> {
    let git = repo.git2();
    if !notes::exists(git) {
        return Ok(());
    }
    // A tree answered from this clone's own records reads no note and no policy.
    let records: Vec<Option<Record>> =
        plan.checks.iter().map(|c| if c.skip.is_some() { None } else { cached_record(cache, c) }).collect();
    let wanting: Vec<usize> =
        (0..plan.checks.len()).filter(|&i| plan.checks[i].skip.is_none() && records[i].is_none()).collect();
    if wanting.is_empty() {
        return Ok(());
    }
    let lines = notes::read(git, plan.tree.id);
    if lines.is_empty() {
        return Ok(());
    }
    let policy = Policy::load(repo, host)?;
    if policy.is_empty() {
        return Ok(());
    }
    for note in &policy.notes {
        crate::report::note(format_args!("trust policy: {note}"));
    }
    let tree = plan.tree.id.to_string();
    let mut found: Vec<Option<(Box<Record>, &String)>> = vec![None; plan.checks.len()];
    for &i in &wanting {
        let c = &plan.checks[i];
        let mut reasons = Vec::new();
        for line in &lines {
            match judge(line, c, &tree, &policy) {
                // Several trusted statements for one key: the most recent run's verdict.
                Judged::Adopt(record) => {
                    if found[i].as_ref().is_none_or(|(b, _)| record.finished_at > b.finished_at) {
                        found[i] = Some((record, line));
                    }
                }
                Judged::Elsewhere => {}
                Judged::Ignored(why) => reasons.push(why),
            }
        }
        if found[i].is_some() {
            continue;
        }
        let shown = reasons.len().min(MAX_REASONS);
        for why in &reasons[..shown] {
            crate::report::note(format_args!("{}: ignoring a shared verdict: {why}", c.def.name));
        }
        if reasons.len() > shown {
            crate::report::note(format_args!(
                "{}: ignoring {} more shared verdicts",
                c.def.name,
                reasons.len() - shown
            ));
        }
    }
    // Which checks run once the trusted verdicts are taken: an adopted record has no files.
    let answered: Vec<Option<bool>> = plan
        .checks
        .iter()
        .enumerate()
        .map(|(i, c)| match (&records[i], &found[i]) {
            (Some(r), _) => Some(has_files(cache, c, r.verdict)),
            (None, Some((r, _))) => Some(has_files_shared(c, r.verdict)),
            (None, None) => None,
        })
        .collect();
    let nodes = demand::nodes(plan, &answered, wanted);
    let decided = demand::decide(&nodes, false);
    for (i, adoptable) in found.into_iter().enumerate() {
        let Some((record, line)) = adoptable else { continue };
        let c = &plan.checks[i];
        let who = printable(record.source.as_deref().unwrap_or_default());
        if decided.runs[i] {
            let why = match decided.reader(&nodes, i) {
                Some(d) => format!("`{}` runs here and reads the files it keeps", plan.checks[d].def.name),
                None => "this command uses the files it keeps".to_string(),
            };
            crate::report::note(format_args!("{}: not taking the verdict from {who}: {why}", c.def.name));
            continue;
        }
        store(cache, c, *record, line)?;
        crate::report::note(format_args!("{}: verdict from {who} (signed, key matches)", c.def.name));
    }
    Ok(())
}

/// Whether a verdict taken from a statement leaves `c` with the files it keeps: only when it
/// keeps none (or the verdict is not a pass), as a statement carries no files.
fn has_files_shared(c: &PlannedCheck, verdict: crate::outcome::Verdict) -> bool {
    verdict != crate::outcome::Verdict::Pass || !c.def.kind.keeps_artifacts()
}

/// How many reasons for ignored statements are shown per check.
const MAX_REASONS: usize = 5;

/// Judges one note line for check `c` of `tree`.
fn judge(line: &str, c: &PlannedCheck, tree: &str, policy: &Policy) -> Judged {
    let Ok(envelope) = serde_json::from_str::<Envelope>(line) else {
        return Judged::Ignored("a note line that is not a signed statement".into());
    };
    let claim = match serde_json::from_str::<Value>(&envelope.payload)
        .map_err(|e| format!("its statement is not JSON ({e})"))
        .and_then(|v| statement::claim(&v))
    {
        Ok(claim) => claim,
        Err(why) => return Judged::Ignored(why),
    };
    let about = &claim.about;
    if about.check != c.def.name {
        return Judged::Elsewhere;
    }
    // Shown to the user before anything is verified: no control characters reach the terminal.
    let who = &printable(&about.producer);
    if claim.tree != tree {
        return Judged::Ignored(format!(
            "{who}'s statement names tree {}, not this one",
            printable(&claim.tree)
        ));
    }
    // A resolution names a file of the resolution cache: only ids hookgate could have made.
    if !about.resolutions.iter().all(|r| is_hex_id(&r.set) && is_hex_id(&r.id)) {
        return Judged::Ignored(format!("{who}'s statement names a resolution that is not a hex id"));
    }
    if let Err(why) = policy.verify(envelope.payload.as_bytes(), &envelope.signature, who) {
        return Judged::Ignored(format!("{who}'s statement: {why}"));
    }
    if !policy.may_vouch(who, &c.def.name) {
        return Judged::Ignored(format!("{who} is not trusted for `{}`", c.def.name));
    }
    if about.key != c.key {
        return Judged::Ignored(format!(
            "{who}'s key differs from the one computed here (inputs that differ: {})",
            differing(&about.key_inputs, &c.key_inputs).join(", ")
        ));
    }
    Judged::Adopt(Box::new(Record {
        schema: SCHEMA,
        key: c.key.clone(),
        check: c.def.name.clone(),
        verdict: about.status,
        duration_ms: about.duration_ms,
        finished_at: about.finished_at.min(now_secs()),
        tools: about.tools.clone(),
        log: std::path::PathBuf::new(),
        tree: tree.to_string(),
        key_inputs: c.key_inputs.clone(),
        reports: Vec::new(),
        resolutions: about.resolutions.clone(),
        source: Some(about.producer.clone()),
    }))
}

/// `text` with control characters (terminal escapes, newlines) replaced.
fn printable(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { '\u{fffd}' } else { c }).collect()
}

/// Whether `s` is a hex SHA-256.
fn is_hex_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The top-level key inputs whose values differ between `theirs` and `ours`.
fn differing(theirs: &Value, ours: &Value) -> Vec<String> {
    let (Some(a), Some(b)) = (theirs.as_object(), ours.as_object()) else { return vec!["all".into()] };
    let mut names: Vec<String> =
        a.keys().chain(b.keys()).filter(|k| a.get(*k) != b.get(*k)).cloned().collect();
    names.dedup();
    names
}

/// Stores an adopted record, with a log that says where the verdict came from.
fn store(cache: &Cache, c: &PlannedCheck, mut record: Record, line: &str) -> Result<()> {
    let log = cache.log_path(&c.key);
    let text = format!(
        "hookgate: verdict `{}` of `{}` taken from a statement signed by {} (tools: {})\n{line}\n",
        match record.verdict {
            crate::outcome::Verdict::Pass => "pass",
            crate::outcome::Verdict::Fail => "fail",
        },
        c.def.name,
        record.source.as_deref().unwrap_or("?"),
        record.tools.join(", "),
    );
    write_atomic(&log, text.as_bytes())?;
    record.log = log;
    cache.put(&c.key, &record)
}
