//! Exact versions for every environment a check installs (issue #9). A requirement that floats
//! (`pytest`, a test group's `coverage>=7`) is resolved before it is installed, and the install
//! is constrained to the resolution (`-c`), so what a verdict ran with is known, logged and
//! recorded, and a new release on the index changes nothing until the resolution is refreshed.
//!
//! Each install of a check adds its requirements to the check's set (cumulative: the set of a
//! second install holds the first's, so one resolution covers the whole venv). A wheel under
//! test contributes its `Requires-Dist` (with the extras asked for); paths, URLs and `-e` are
//! installed as written and said so. The set is resolved, in order:
//!
//! 1. from `hookgate.lock` in the tree (written by `hookgate lock`, committed): an environment
//!    whose `requirements` are exactly the set;
//! 2. from the resolution cache (`<cache>/resolutions/<set>.json`) when younger than
//!    [`TTL_DAYS`];
//! 3. by `uv pip compile --universal` now, stored in the resolution cache.
//!
//! A record names the resolutions it ran with. On the cached path a verdict whose resolution
//! came from the cache counts only while that cache entry still holds the same packages
//! (`hookgate update`, or a refresh after the TTL, re-runs what the new versions touch); one
//! from `hookgate.lock` is covered by the tree itself. Nothing here runs on the cached path
//! but [`still_current`], which reads one small file per resolution.
//!
//! `hookgate.lock` comes from the tree, i.e. from whoever wrote the branch: every package line
//! must be a plain `name==version` with an optional marker, so it can never smuggle an option
//! (`--index-url`) into the installer's constraints file.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::cache::now_secs;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::pins::normalize;
use crate::process::{Cancel, Cmd};

/// Days a resolution from the cache is reused before the next miss re-resolves it.
pub const TTL_DAYS: u64 = 7;

/// The name of the lock file, at the tree's root.
pub const LOCK_FILE: &str = "hookgate.lock";

/// Where a resolution came from.
pub const FROM_LOCK: &str = "hookgate.lock";
/// From the resolution cache.
pub const FROM_CACHE: &str = "resolution cache";
/// Resolved by this run.
pub const FROM_NOW: &str = "resolved now";

/// One resolution a check's environment was installed with, as its record names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Used {
    /// Identity of the requirement set and what resolving it depends on (hex SHA-256).
    pub set: String,
    /// Identity of the resolved packages (hex SHA-256).
    pub id: String,
    /// [`FROM_LOCK`], [`FROM_CACHE`] or [`FROM_NOW`].
    pub source: String,
    /// The requirement set, sorted.
    pub requirements: Vec<String>,
    /// The pinned packages.
    pub packages: Vec<String>,
}

/// A resolution cache entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    /// The requirement set, sorted.
    pub requirements: Vec<String>,
    /// The pinned packages (`name==version ; marker`).
    pub packages: Vec<String>,
    /// Identity of `packages`.
    pub id: String,
    /// When it was resolved (seconds since the Unix epoch).
    pub resolved_at: u64,
    /// What it was resolved for (interpreter, index settings), for `hookgate update`.
    #[serde(default)]
    pub context: Value,
}

/// `hookgate.lock`: the environments of every check, resolved for every platform.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockFile {
    /// Format version (1).
    pub version: u32,
    /// The environments, sorted by their requirements.
    #[serde(default, rename = "environment")]
    pub environments: Vec<LockedEnv>,
}

/// One environment of `hookgate.lock`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedEnv {
    /// The checks that install it (informational).
    #[serde(default)]
    pub checks: Vec<String>,
    /// The requirement set, sorted: what a check's installs ask for.
    pub requirements: Vec<String>,
    /// The pinned packages.
    pub packages: Vec<String>,
}

impl LockFile {
    /// Parses `text` (the lock's content in the tree); errors name line and column, and every
    /// package line must be a plain pin.
    pub fn parse(text: &str) -> Result<LockFile, String> {
        let lock: LockFile = toml::from_str(text).map_err(|e| {
            let at = e.span().map(|s| line_col(text, s.start));
            match at {
                Some((l, c)) => format!("{LOCK_FILE}:{l}:{c}: {}", e.message()),
                None => format!("{LOCK_FILE}: {}", e.message()),
            }
        })?;
        if lock.version != 1 {
            return Err(format!("{LOCK_FILE}: version {} is not one this hookgate reads (1)", lock.version));
        }
        for (i, env) in lock.environments.iter().enumerate() {
            for p in &env.packages {
                if !is_pin(p) {
                    return Err(format!(
                        "{LOCK_FILE}: environment {}: `{p}` is not a pinned requirement (name==version)",
                        i + 1
                    ));
                }
            }
            if let Some(r) = env.requirements.iter().find(|r| !is_requirement(r)) {
                return Err(format!("{LOCK_FILE}: environment {}: `{r}` is not a requirement", i + 1));
            }
        }
        Ok(lock)
    }

    /// The packages locked for exactly this requirement set.
    pub fn find(&self, requirements: &[String]) -> Option<&LockedEnv> {
        self.environments.iter().find(|e| sorted(&e.requirements) == requirements)
    }

    /// The file's text, with a header saying what it is.
    pub fn to_text(&self) -> Result<String> {
        let body = toml::to_string_pretty(self).context("writing hookgate.lock")?;
        Ok(format!(
            "# Written by `hookgate lock`; refresh with `hookgate update`. Commit it: every machine and\n\
             # CI then install exactly these versions. Each environment is what one or more checks\n\
             # install, resolved for every platform (`uv pip compile --universal`).\n{body}"
        ))
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn sorted(v: &[String]) -> Vec<String> {
    let set: BTreeSet<String> = v.iter().cloned().collect();
    set.into_iter().collect()
}

/// The identity of a list of packages.
pub fn packages_id(packages: &[String]) -> String {
    crate::plan::sha256_hex(packages.join("\n").as_bytes())
}

/// A distribution name as PEP 508 allows it.
fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// `name==version`, optionally ` ; marker`: what a constraints file may hold from a tree.
pub fn is_pin(line: &str) -> bool {
    let (req, marker) = match line.split_once(';') {
        Some((r, m)) => (r.trim(), Some(m.trim())),
        None => (line.trim(), None),
    };
    let Some((name, version)) = req.split_once("==") else { return false };
    let version_ok = !version.trim().is_empty()
        && version.trim().chars().all(|c| c.is_ascii_alphanumeric() || ".+!_-".contains(c));
    let marker_ok = marker.is_none_or(|m| {
        !m.is_empty() && !m.starts_with('-') && m.chars().all(|c| !c.is_control() && c != '#')
    });
    is_name(name.trim()) && version_ok && marker_ok
}

/// A single-line PEP 508 requirement that starts with a name (no option, path or URL).
fn is_requirement(s: &str) -> bool {
    let name_end = s.find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c))).unwrap_or(s.len());
    is_name(&s[..name_end]) && !s.contains(['\n', '\r', '#']) && !s.contains("://") && !s.contains(" @ ")
}

/// What one install's arguments contribute to the requirement set.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Contribution {
    /// Requirements to resolve.
    pub requirements: Vec<String>,
    /// Arguments installed as written (paths, URLs, editables), for the log.
    pub as_written: Vec<String>,
    /// The install brings its own pins (`--require-hashes` with a lock file): not resolved,
    /// but its pins join the set, so later installs resolve consistently with them.
    pub locked: bool,
}

/// Splits installer arguments into what can be resolved ahead and what is installed as
/// written. `-r FILE` is read (relative to `cwd`) when it lies inside `root` (the check's
/// scratch directory: the snapshot, or a file hookgate wrote there); a local wheel contributes
/// its `Requires-Dist` for the extras asked for (`x.whl[tests]`) unless `--no-deps` is given.
pub fn contribution(args: &[String], cwd: &Path, root: &Path) -> Contribution {
    let mut out =
        Contribution { locked: args.iter().any(|a| a == "--require-hashes"), ..Contribution::default() };
    let no_deps = args.iter().any(|a| a == "--no-deps");
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-r" | "--requirement" => match it.next() {
                // A PEP 751 lock brings its own pins, which join the set.
                Some(file) if file.ends_with(".toml") => {
                    out.locked = true;
                    if inside(root, &cwd.join(file)) {
                        out.requirements.extend(pylock_pins(&cwd.join(file)));
                    }
                }
                Some(file) => requirements_file(root, &cwd.join(file), 0, &mut out),
                None => {}
            },
            "-c" | "--constraint" | "-e" | "--editable" | "-i" | "--index-url" | "--extra-index-url" => {
                if let Some(v) = it.next() {
                    out.as_written.push(format!("{a} {v}"));
                }
            }
            flag if flag.starts_with('-') => {}
            arg => classify(arg, cwd, no_deps, &mut out),
        }
    }
    out
}

fn classify(arg: &str, cwd: &Path, no_deps: bool, out: &mut Contribution) {
    let (path, extras) = match arg.split_once('[') {
        Some((p, rest)) if p.ends_with(".whl") => {
            (p, rest.trim_end_matches(']').split(',').map(str::trim).map(String::from).collect())
        }
        _ => (arg, Vec::new()),
    };
    if path.ends_with(".whl") && cwd.join(path).is_file() {
        if !no_deps {
            match wheel_requires(&cwd.join(path), &extras) {
                Ok(reqs) => out.requirements.extend(reqs),
                Err(_) => out.as_written.push(arg.to_string()),
            }
        }
        return;
    }
    if is_requirement(arg) && !cwd.join(arg).exists() {
        out.requirements.push(arg.trim().to_string());
    } else {
        out.as_written.push(arg.to_string());
    }
}

/// Whether `file` resolves (symlinks followed) to a file inside `root`: a requirements file is
/// read only from the snapshot, never through a symlink a tree planted to point elsewhere.
fn inside(root: &Path, file: &Path) -> bool {
    match (root.canonicalize(), file.canonicalize()) {
        (Ok(r), Ok(f)) => f.starts_with(r),
        _ => false,
    }
}

fn requirements_file(root: &Path, file: &Path, depth: usize, out: &mut Contribution) {
    let text = if inside(root, file) { std::fs::read_to_string(file).ok() } else { None };
    let Some(text) = text else {
        out.as_written.push(format!("-r {}", file.display()));
        return;
    };
    let dir = file.parent().unwrap_or(Path::new("."));
    for raw in text.lines() {
        let line = raw.split(" #").next().unwrap_or("").trim().trim_end_matches('\\').trim();
        if line.starts_with("--hash") {
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("-r ").or_else(|| line.strip_prefix("--requirement ")) {
            if depth < 4 {
                requirements_file(root, &dir.join(rest.trim()), depth + 1, out);
            }
            continue;
        }
        if line.contains("--hash=") {
            out.locked = true;
        }
        let req = line.split(" --").next().unwrap_or(line).trim();
        if req.starts_with('-') || !is_requirement(req) {
            out.as_written.push(req.to_string());
        } else {
            out.requirements.push(req.to_string());
        }
    }
}

/// `name==version [; marker]` of every package of a PEP 751 `pylock.toml` (none when it cannot
/// be read: the installer will say why).
fn pylock_pins(file: &Path) -> Vec<String> {
    let Some(doc) = std::fs::read_to_string(file).ok().and_then(|t| t.parse::<toml::Table>().ok()) else {
        return Vec::new();
    };
    let packages = doc.get("packages").and_then(toml::Value::as_array).cloned().unwrap_or_default();
    packages
        .iter()
        .filter_map(|p| {
            let (name, version) = (p.get("name")?.as_str()?, p.get("version")?.as_str()?);
            let pin = match p.get("marker").and_then(toml::Value::as_str) {
                Some(m) => format!("{name}=={version} ; {m}"),
                None => format!("{name}=={version}"),
            };
            is_pin(&pin).then_some(pin)
        })
        .collect()
}

/// A wheel's `Requires-Dist` for `extras`: requirements without an `extra` marker, and those
/// whose `extra == "x"` names one of `extras` (the clause removed).
pub fn wheel_requires(wheel: &Path, extras: &[String]) -> Result<Vec<String>> {
    let (_, text) = crate::index::wheel_metadata_text(wheel)?;
    let wanted: Vec<String> = extras.iter().map(|e| normalize(e)).collect();
    let mut out = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            break;
        }
        let Some(value) = line.strip_prefix("Requires-Dist:") else { continue };
        if let Some(req) = apply_extras(value.trim(), &wanted) {
            out.push(req);
        }
    }
    Ok(out)
}

/// `req ; marker` with its `extra == "x"` clauses decided: `None` when they exclude it.
/// Only `and`-joined markers are split; an `extra` inside an `or` keeps the line out.
fn apply_extras(req: &str, extras: &[String]) -> Option<String> {
    let Some((name, marker)) = req.split_once(';') else { return Some(req.to_string()) };
    if !marker.contains("extra") {
        return Some(req.trim().to_string());
    }
    if marker.contains(" or ") {
        return None;
    }
    let mut kept = Vec::new();
    for clause in marker.split(" and ") {
        let c = clause.trim().trim_matches(|ch| ch == '(' || ch == ')').trim();
        if let Some(value) = c.strip_prefix("extra").map(str::trim).and_then(|r| r.strip_prefix("==")) {
            let value = value.trim().trim_matches(|ch| ch == '"' || ch == '\'');
            if !extras.contains(&normalize(value)) {
                return None;
            }
        } else {
            kept.push(c.to_string());
        }
    }
    Some(if kept.is_empty() {
        name.trim().to_string()
    } else {
        format!("{} ; {}", name.trim(), kept.join(" and "))
    })
}

/// A `uv pip compile` run: where and with what.
pub struct Compile<'a> {
    /// uv.
    pub uv: &'a Path,
    /// The setup environment (index settings, proxies).
    pub env: &'a std::collections::BTreeMap<String, String>,
    /// A directory for the input file.
    pub scratch: &'a Path,
    /// `X.Y` of the interpreter: the lower bound of the universal resolution.
    pub python_version: &'a str,
    /// Only versions uploaded before this date (`hookgate update --cooldown-days`).
    pub exclude_newer: Option<&'a str>,
    /// The check's deadline and the run's cancellation.
    pub deadline: Instant,
    /// Cancellation.
    pub cancel: &'a Cancel,
}

impl Compile<'_> {
    /// Resolves `requirements` for every platform; returns the pinned packages, sorted, with
    /// `skip` (the project under test) left out.
    pub fn run(
        &self,
        requirements: &[String],
        skip: Option<&str>,
        log: &mut std::fs::File,
    ) -> Result<Vec<String>> {
        let input = tempfile::Builder::new()
            .prefix("hookgate-requirements-")
            .suffix(".in")
            .tempfile_in(self.scratch)
            .context("writing the requirements to resolve")?;
        std::fs::write(input.path(), requirements.join("\n") + "\n").context("writing the requirements")?;
        let path = input.path().display().to_string();
        let output = input.path().with_extension("txt");
        let out_path = output.display().to_string();
        let mut args = vec![
            "pip",
            "compile",
            "--quiet",
            "--universal",
            "--no-header",
            "--no-annotate",
            "--python-version",
            self.python_version,
        ];
        if let Some(d) = self.exclude_newer {
            args.extend(["--exclude-newer", d]);
        }
        args.extend(["-o", &out_path, &path]);
        let cmd = Cmd::new(self.uv.display().to_string(), &args, self.scratch, self.env.clone());
        let exit = cmd.run_logged(log, self.deadline, self.cancel)?;
        let out = std::fs::read_to_string(&output).unwrap_or_default();
        std::fs::remove_file(&output).ok();
        if !exit.success() {
            bail!("`uv pip compile` could not resolve {} (see the log)", requirements.join(", "));
        }
        let mut packages = Vec::new();
        for line in out.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            if !is_pin(line) {
                bail!("`uv pip compile` printed `{line}`, which is not a pin");
            }
            let name = line.split("==").next().map(normalize).unwrap_or_default();
            if skip.is_some_and(|s| s == name) {
                continue;
            }
            packages.push(line.to_string());
        }
        packages.sort();
        Ok(packages)
    }
}

/// The resolution state of one check: its cumulative requirement set and the resolutions it
/// installed with.
pub struct Resolver {
    /// `hookgate.lock` of the tree, if it has one (or why it could not be read).
    pub lock: Option<Result<LockFile, String>>,
    /// `<cache>/resolutions`.
    pub dir: PathBuf,
    /// What resolution depends on besides the requirements (interpreter, index settings).
    pub context: Value,
    /// `X.Y` of the interpreter.
    pub python_version: String,
    /// The project under test (never pinned from the index).
    pub project: Option<String>,
    /// The set so far.
    pub requirements: BTreeSet<String>,
    /// Every resolution installed with, in order.
    pub used: Vec<Used>,
}

impl Resolver {
    /// The identity of the current set in this context.
    fn set_id(&self, requirements: &[String]) -> String {
        crate::plan::sha256_hex(
            json!({ "requirements": requirements, "context": self.context }).to_string().as_bytes(),
        )
    }

    /// Adds `more` to the set and resolves it: from the lock, the cache, or now (`compile`;
    /// `None` without uv). Returns the resolution to constrain the install with.
    pub fn resolve(
        &mut self,
        more: &[String],
        compile: Option<&Compile<'_>>,
        log: &mut std::fs::File,
    ) -> Result<Option<Used>> {
        self.requirements.extend(more.iter().cloned());
        let requirements: Vec<String> = self.requirements.iter().cloned().collect();
        let set = self.set_id(&requirements);
        let used = |source: &str, packages: Vec<String>| Used {
            set: set.clone(),
            id: packages_id(&packages),
            source: source.to_string(),
            requirements: requirements.clone(),
            packages,
        };
        match &self.lock {
            Some(Err(e)) => bail!("{e}"),
            Some(Ok(lock)) => {
                if let Some(env) = lock.find(&requirements) {
                    let u = used(FROM_LOCK, env.packages.clone());
                    self.used.push(u.clone());
                    return Ok(Some(u));
                }
                use std::io::Write;
                writeln!(
                    log,
                    "hookgate: WARNING: {LOCK_FILE} has no environment for [{}] (run `hookgate lock`)",
                    requirements.join(", ")
                )
                .ok();
            }
            None => {}
        }
        let cached = read_entry(&self.dir, &set);
        if let Some(e) = &cached
            && now_secs().saturating_sub(e.resolved_at) < TTL_DAYS * 86_400
            && e.id == packages_id(&e.packages)
            && e.packages.iter().all(|p| is_pin(p))
        {
            let u = used(FROM_CACHE, e.packages.clone());
            self.used.push(u.clone());
            return Ok(Some(u));
        }
        let Some(compile) = compile else { return Ok(None) };
        let packages = compile.run(&requirements, self.project.as_deref(), log)?;
        let entry = Entry {
            requirements: requirements.clone(),
            id: packages_id(&packages),
            packages: packages.clone(),
            resolved_at: now_secs(),
            context: self.context.clone(),
        };
        store_entry(&self.dir, &set, &entry)?;
        let u = used(FROM_NOW, packages);
        self.used.push(u.clone());
        Ok(Some(u))
    }
}

/// The cache entry of set `set`, if there is a readable one.
pub fn read_entry(dir: &Path, set: &str) -> Option<Entry> {
    let bytes = std::fs::read(dir.join(format!("{set}.json"))).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Writes a cache entry atomically.
pub fn store_entry(dir: &Path, set: &str, entry: &Entry) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = tempfile::NamedTempFile::new_in(dir).context("writing a resolution")?;
    std::fs::write(tmp.path(), serde_json::to_vec_pretty(entry)?).context("writing a resolution")?;
    tmp.persist(dir.join(format!("{set}.json"))).context("saving a resolution")?;
    Ok(())
}

/// Whether the resolutions a record ran with are still the ones a run would use: those from
/// the cache must still be there with the same packages (on the cached path: one small read
/// each).
pub fn still_current(dir: &Path, used: &[UsedRef]) -> bool {
    used.iter().all(|u| {
        if u.source == FROM_LOCK {
            return true;
        }
        #[derive(Deserialize)]
        struct Id {
            id: String,
        }
        std::fs::read(dir.join(format!("{}.json", u.set)))
            .ok()
            .and_then(|b| serde_json::from_slice::<Id>(&b).ok())
            .is_some_and(|e| e.id == u.id)
    })
}

/// What a record keeps of a resolution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsedRef {
    /// The set's identity.
    pub set: String,
    /// The packages' identity.
    pub id: String,
    /// Where it came from.
    pub source: String,
    /// The requirement set (for `hookgate lock`).
    #[serde(default)]
    pub requirements: Vec<String>,
}

impl From<&Used> for UsedRef {
    fn from(u: &Used) -> UsedRef {
        UsedRef {
            set: u.set.clone(),
            id: u.id.clone(),
            source: u.source.clone(),
            requirements: u.requirements.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_pins_pass() {
        assert!(is_pin("ruff==0.17.6"));
        assert!(is_pin("colorama==0.4.6 ; sys_platform == 'win32'"));
        assert!(!is_pin("--index-url http://evil/simple"));
        assert!(!is_pin("ruff>=0.1"));
        assert!(!is_pin("ruff==0.1 ; --extra-index-url x"));
        assert!(!is_pin("ruff==0.1\n-i http://evil"));
        assert!(!is_pin("ruff==0.1 @ http://x"));
    }

    #[test]
    fn extras_markers_are_decided() {
        let tests = vec!["tests".to_string()];
        assert_eq!(apply_extras("pytest>=7; extra == \"tests\"", &tests), Some("pytest>=7".into()));
        assert_eq!(apply_extras("sphinx; extra == 'docs'", &tests), None);
        assert_eq!(
            apply_extras("tomli; python_version < \"3.11\" and extra == \"tests\"", &tests),
            Some("tomli ; python_version < \"3.11\"".into())
        );
        assert_eq!(apply_extras("attrs>=22", &tests), Some("attrs>=22".into()));
    }

    #[test]
    fn arguments_split_into_resolvable_and_as_written() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("req.txt"), "# c\npytest>=8  # why\n-e ./x\nhypothesis\n").unwrap();
        let args: Vec<String> =
            ["pytest-cov", "-r", "req.txt", ".", "--no-deps"].iter().map(ToString::to_string).collect();
        let c = contribution(&args, dir.path(), dir.path());
        assert_eq!(c.requirements, ["pytest-cov", "pytest>=8", "hypothesis"]);
        assert_eq!(c.as_written, ["-e ./x", "."]);
        assert!(!c.locked);
        std::fs::write(
            dir.path().join("lock.txt"),
            "anyio==4.0.0 \\\n    --hash=sha256:ab\ntomli==2.0.1 ; python_version < '3.11' \\\n    --hash=sha256:cd\n",
        )
        .unwrap();
        let locked: Vec<String> =
            ["--require-hashes", "-r", "lock.txt"].iter().map(ToString::to_string).collect();
        let c = contribution(&locked, dir.path(), dir.path());
        assert!(c.locked);
        assert_eq!(c.requirements, ["anyio==4.0.0", "tomli==2.0.1 ; python_version < '3.11'"]);
    }

    #[test]
    fn requirements_files_are_read_only_inside_the_snapshot() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.txt"), "topsecretname\n").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret.txt"), dir.path().join("req.txt")).unwrap();
        let abs = outside.path().join("secret.txt").display().to_string();
        for file in ["req.txt", abs.as_str()] {
            let args: Vec<String> = ["-r", file].iter().map(ToString::to_string).collect();
            let c = contribution(&args, dir.path(), dir.path());
            assert!(c.requirements.is_empty(), "{file}: {c:?}");
        }
    }

    #[test]
    fn a_lock_from_a_tree_cannot_smuggle_options() {
        let bad = "version = 1\n[[environment]]\nrequirements = [\"ruff\"]\npackages = [\"--index-url http://evil\"]\n";
        assert!(LockFile::parse(bad).unwrap_err().contains("not a pinned requirement"));
        let bad = "version = 1\n[[environment]]\nrequirements = [\"-r /etc/passwd\"]\npackages = []\n";
        assert!(LockFile::parse(bad).unwrap_err().contains("not a requirement"));
        let err = LockFile::parse("version = 1\n[[environment]]\nrequirements = 3\n").unwrap_err();
        assert!(err.starts_with("hookgate.lock:3:"), "{err}");
        let good =
            "version = 1\n[[environment]]\nrequirements = [\"ruff==0.1.0\"]\npackages = [\"ruff==0.1.0\"]\n";
        let lock = LockFile::parse(good).unwrap();
        assert!(lock.find(&["ruff==0.1.0".to_string()]).is_some());
        assert_eq!(LockFile::parse(&lock.to_text().unwrap()).unwrap(), lock);
    }
}
