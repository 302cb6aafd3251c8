//! `hookgate lock` and `hookgate update`: the committed `hookgate.lock` (see
//! [`crate::resolve`]). `lock` checks the working copy (running what has no verdict yet, to
//! learn what each check installs) and writes every requirement set its checks resolved, with
//! their packages; `update` re-resolves every set in `hookgate.lock` and in the resolution
//! cache, optionally only from releases older than a cooldown, and says what changed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::cache::Cache;
use crate::gate::{RunSettings, Session, check_tree, load_config};
use crate::git::Repo;
use crate::outcome::{ExitStatus, Status};
use crate::plan::Selection;
use crate::report::{note, out, warn};
use crate::resolve::{self, Compile, Entry, LOCK_FILE, LockFile, LockedEnv};
use crate::venv::{self, Installer};

/// `hookgate lock`: writes `hookgate.lock` in the working copy's root.
pub fn lock(s: &Session) -> Result<ExitStatus> {
    let repo = Repo::discover(&s.cwd, &s.host)?;
    let tree = repo.worktree_tree()?;
    note(format_args!("checking the working copy to learn what each check installs"));
    let (plan, outcomes) = check_tree(s, &repo, &tree, &Selection::All, RunSettings::default())?;
    let cache = Cache::for_user(repo.common_dir(), &s.host);
    let old = read_lock(repo.workdir())?;
    let mut envs: BTreeMap<Vec<String>, (BTreeSet<String>, Vec<String>)> = BTreeMap::new();
    for (c, o) in plan.checks.iter().zip(&outcomes) {
        if !matches!(o.status, Status::Pass | Status::Fail) {
            if c.def.kind.needs_venv() && o.status != Status::Skipped {
                warn(format_args!(
                    "`{}` reached no verdict ({}): its environment is not locked",
                    c.def.name,
                    o.status.word()
                ));
            }
            continue;
        }
        let Some(record) = cache.get(&c.key, &c.def.name) else { continue };
        for used in &record.resolutions {
            let packages = if used.source == resolve::FROM_LOCK {
                old.as_ref().and_then(|l| l.find(&used.requirements)).map(|e| e.packages.clone())
            } else {
                resolve::read_entry(&cache.resolutions_dir(), &used.set).map(|e| e.packages)
            };
            let Some(packages) = packages else {
                warn(format_args!(
                    "the resolution `{}` ran with is gone; run `hookgate lock` again",
                    c.def.name
                ));
                continue;
            };
            let slot = envs.entry(used.requirements.clone()).or_insert_with(|| (BTreeSet::new(), packages));
            slot.0.insert(c.def.name.clone());
        }
    }
    let lock = LockFile {
        version: 1,
        environments: envs
            .into_iter()
            .map(|(requirements, (checks, packages))| LockedEnv {
                checks: checks.into_iter().collect(),
                requirements,
                packages,
            })
            .collect(),
    };
    write_lock(repo.workdir(), &lock)?;
    out(format_args!(
        "wrote {LOCK_FILE}: {} environment(s) of {} check(s); commit it so CI installs the same versions\n",
        lock.environments.len(),
        lock.environments.iter().flat_map(|e| &e.checks).collect::<BTreeSet<_>>().len()
    ))?;
    Ok(ExitStatus::Success)
}

/// `hookgate update [--cooldown-days N]`: re-resolves `hookgate.lock` and the resolution cache.
pub fn update(s: &Session, cooldown_days: Option<u64>) -> Result<ExitStatus> {
    let repo = Repo::discover(&s.cwd, &s.host)?;
    let cache = Cache::for_user(repo.common_dir(), &s.host);
    let head = repo.head().ok();
    let config = match &head {
        Some(t) => Some(load_config(&repo, t)?),
        None => None,
    };
    let interp = venv::find_interpreter(
        config.as_ref().and_then(|c| c.python.as_deref()),
        &s.host,
        &s.cwd,
        cache.root(),
    )?;
    let uv = match venv::find_installer(&interp, &s.host) {
        Installer::Uv(uv) => uv,
        Installer::Pip { why } => {
            bail!("`hookgate update` resolves with uv ({why}); install it: pip install uv")
        }
    };
    let scratch = tempfile::Builder::new()
        .prefix("hookgate-update-")
        .tempdir_in(&s.host.tmp_root)
        .context("creating a scratch directory")?;
    let (home, tmp) = (scratch.path().join("home"), scratch.path().join("tmp"));
    std::fs::create_dir_all(&tmp).context("creating a scratch directory")?;
    s.host.prepare_home(&home)?;
    let env = s.host.setup_env(&home, &tmp, &[]);
    let exclude_newer = cooldown_days.map(date_days_ago);
    let project = config.as_ref().and_then(|c| c.project.name.as_deref()).map(crate::pins::normalize);
    let version: String = interp.version.split('.').take(2).collect::<Vec<_>>().join(".");
    let log_path = scratch.path().join("update.log");
    let mut log = std::fs::File::create(&log_path).context("creating a log")?;
    let far = Instant::now() + Duration::from_secs(3600);
    let compile = |python_version: &str, reqs: &[String], log: &mut std::fs::File| -> Result<Vec<String>> {
        Compile {
            uv: &uv,
            env: &env,
            scratch: scratch.path(),
            python_version,
            exclude_newer: exclude_newer.as_deref(),
            deadline: far,
            cancel: &s.cancel,
        }
        .run(reqs, project.as_deref(), log)
    };
    if let Some(d) = &exclude_newer {
        note(format_args!(
            "only releases uploaded before {d} (cooldown of {} days)",
            cooldown_days.unwrap_or(0)
        ));
    }
    let result = refresh(&repo, &cache, &compile, &version, &mut log);
    if result.is_err() {
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        for line in &lines[lines.len().saturating_sub(15)..] {
            note(format_args!("| {line}"));
        }
    }
    result
}

/// Resolves requirements for a Python `X.Y`, logging into the file.
type CompileFn<'a> = dyn Fn(&str, &[String], &mut std::fs::File) -> Result<Vec<String>> + 'a;

/// Re-resolves the lock's environments and the cache's entries with `compile`.
fn refresh(
    repo: &Repo,
    cache: &Cache,
    compile: &CompileFn<'_>,
    version: &str,
    log: &mut std::fs::File,
) -> Result<ExitStatus> {
    let mut changed = 0;
    if let Some(mut lock) = read_lock(repo.workdir())? {
        for env in &mut lock.environments {
            let packages = compile(version, &env.requirements, log)
                .with_context(|| format!("resolving [{}] of {LOCK_FILE}", env.requirements.join(", ")))?;
            changed +=
                say_changes(&format!("{LOCK_FILE} [{}]", env.checks.join(", ")), &env.packages, &packages);
            env.packages = packages;
        }
        write_lock(repo.workdir(), &lock)?;
        out(format_args!("updated {LOCK_FILE}: {} environment(s)\n", lock.environments.len()))?;
    }
    let dir = cache.resolutions_dir();
    let mut refreshed = 0;
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let Some(set) = path
            .file_stem()
            .and_then(|n| n.to_str())
            .filter(|_| path.extension().is_some_and(|e| e == "json"))
        else {
            continue;
        };
        let Some(old) = resolve::read_entry(&dir, set) else {
            std::fs::remove_file(&path).ok();
            continue;
        };
        let python = old.context.get("python").and_then(|v| v.as_str()).unwrap_or(version).to_string();
        let packages = compile(&python, &old.requirements, log)
            .with_context(|| format!("resolving [{}] (resolution cache)", old.requirements.join(", ")))?;
        changed += say_changes(&format!("[{}]", old.requirements.join(", ")), &old.packages, &packages);
        let entry = Entry {
            id: resolve::packages_id(&packages),
            packages,
            resolved_at: crate::cache::now_secs(),
            ..old
        };
        resolve::store_entry(&dir, set, &entry)?;
        refreshed += 1;
    }
    out(format_args!(
        "re-resolved {refreshed} cached environment(s); {changed} version change(s){}\n",
        if changed > 0 { ": the checks they touch run again" } else { "" }
    ))?;
    Ok(ExitStatus::Success)
}

fn read_lock(workdir: &Path) -> Result<Option<LockFile>> {
    match std::fs::read_to_string(workdir.join(LOCK_FILE)) {
        Ok(text) => Ok(Some(LockFile::parse(&text).map_err(anyhow::Error::msg)?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {LOCK_FILE}")),
    }
}

fn write_lock(workdir: &Path, lock: &LockFile) -> Result<()> {
    let tmp = tempfile::NamedTempFile::new_in(workdir).context("writing hookgate.lock")?;
    std::fs::write(tmp.path(), lock.to_text()?).context("writing hookgate.lock")?;
    tmp.persist(workdir.join(LOCK_FILE)).context("saving hookgate.lock")?;
    Ok(())
}

/// Prints `name: a==1 -> a==2` lines for what changed; returns how many.
fn say_changes(what: &str, old: &[String], new: &[String]) -> usize {
    let name = |p: &String| p.split("==").next().unwrap_or(p).to_string();
    let before: BTreeMap<String, &String> = old.iter().map(|p| (name(p), p)).collect();
    let after: BTreeMap<String, &String> = new.iter().map(|p| (name(p), p)).collect();
    let mut n = 0;
    for (k, v) in &after {
        match before.get(k) {
            Some(b) if b == v => {}
            Some(b) => {
                out(format_args!("{what}: {b} -> {v}\n")).ok();
                n += 1;
            }
            None => {
                out(format_args!("{what}: + {v}\n")).ok();
                n += 1;
            }
        }
    }
    for (k, v) in &before {
        if !after.contains_key(k) {
            out(format_args!("{what}: - {v}\n")).ok();
            n += 1;
        }
    }
    n
}

/// `YYYY-MM-DD` of `days` ago (UTC), for `--exclude-newer`.
fn date_days_ago(days: u64) -> String {
    let now = crate::cache::now_secs();
    civil_date(now.saturating_sub(days * 86_400) / 86_400)
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_date(days: u64) -> String {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::civil_date;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(20_793), "2026-12-06");
        assert_eq!(civil_date(11_016), "2000-02-29");
    }
}
