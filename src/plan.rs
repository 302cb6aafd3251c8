//! From a config and a selection (a stage, everything, or named checks) to an ordered DAG of
//! checks, each with its cache key. The key is a SHA-256 over a canonical JSON document of the
//! key's inputs (DESIGN.md): schema, the check's resolved definition, the values of the
//! variables its `env` lists and of the host's variables that change resolution (the locale,
//! index URLs, constraint files: see `HostEnv::key_inputs`), all hashed, the interpreter's
//! facts, the keys of the checks it needs, and the input tree (the root tree, or just the
//! subtrees/blobs its `inputs` select, globs' matches as a digest: see `inputs`). This is also where a check's secret-looking variables
//! are withheld unless the person running hookgate allows them (`secret`). Pure data work: no
//! process, no export.

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::cache::{Cache, SCHEMA};
use crate::config::{CheckDef, Config, Stage};
use crate::dists::Dist;
use crate::env::{HostEnv, KeyInput};
use crate::error::Error;
use crate::git::{Repo, TreeRef};
use crate::secret::{KeyHasher, has_userinfo, looks_secret};
use crate::venv::Interpreter;

/// The variable setuptools-scm and hatch-vcs read a version from.
pub const PRETEND_VERSION: &str = "SETUPTOOLS_SCM_PRETEND_VERSION";

/// Which checks a run covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every enabled check.
    All,
    /// The checks attached to a stage.
    Stage(Stage),
    /// These checks by name (plus what they need).
    Names(Vec<String>),
}

impl Selection {
    /// The label used in reports and JSON (`all`, `pre-push`, ...).
    pub fn label(&self) -> String {
        match self {
            Selection::All | Selection::Names(_) => "all".into(),
            Selection::Stage(s) => s.to_string(),
        }
    }
}

/// One check ready to run or to be answered from the cache.
#[derive(Debug, Clone)]
pub struct PlannedCheck {
    /// Its definition.
    pub def: CheckDef,
    /// The cache key (hex SHA-256).
    pub key: String,
    /// What the key was computed from.
    pub key_inputs: Value,
    /// Indices (into the plan) of the checks it needs.
    pub needs: Vec<usize>,
    /// Why it is skipped before running, if it is (`HOOKGATE_SKIP`).
    pub skip: Option<String>,
    /// Seconds a cached pass stays valid (`version`: someone may publish meanwhile).
    pub ttl: Option<u64>,
    /// Whether it gets the plan's `tree_env` (it builds or installs the package).
    pub uses_tree_env: bool,
    /// The variables of its `env` it gets (set, and not withheld).
    pub passed_env: Vec<String>,
    /// The variables of its `env` that look secret and were not allowed: it runs without them.
    pub withheld_env: Vec<String>,
}

/// The checks of one run over one tree, in dependency order.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The tree under test.
    pub tree: TreeRef,
    /// The selection label.
    pub stage: String,
    /// Checks, each after everything it needs.
    pub checks: Vec<PlannedCheck>,
    /// Variables derived from the tree for the checks that build or install the package (the
    /// version from git).
    pub tree_env: BTreeMap<String, String>,
    /// The tree's configuration (project facts and lock file for the built-ins).
    pub config: Config,
    /// Distributions given to test instead of building them (`run --dists`): the `wheel`
    /// check validates these, and their SHA-256 enter the keys of the checks that build or
    /// install the package.
    pub dists: Option<Vec<Dist>>,
    /// Variables for the builds of the checks that build the package that are not key inputs:
    /// `SOURCE_DATE_EPOCH` (the commit's time), which makes the bytes reproducible without
    /// changing what is judged (an amended commit keeps its tree's verdicts).
    pub build_env: BTreeMap<String, String>,
}

/// Builds the plan for `selection` over `tree`.
pub fn build(
    repo: &Repo,
    tree: &TreeRef,
    config: &Config,
    selection: &Selection,
    interp: &Interpreter,
    host: &HostEnv,
) -> Result<Plan> {
    build_with(repo, tree, config, selection, interp, host, None)
}

/// [`build`], testing the given distributions instead of building them when `dists` is set.
pub fn build_with(
    repo: &Repo,
    tree: &TreeRef,
    config: &Config,
    selection: &Selection,
    interp: &Interpreter,
    host: &HostEnv,
    dists: Option<&[Dist]>,
) -> Result<Plan> {
    build_in(&Batch::new(repo, host), tree, config, selection, interp, dists)
}

/// What the plans of a batch of trees in one repository (the refs of one push) share, found
/// at most once for all of them: the host's key inputs, the salt, the allowed secret names,
/// and the describe answers (the tags as the batch first reads them; see
/// [`crate::scm::Describers`]). Nothing in it depends on a tree.
pub struct Batch<'a> {
    repo: &'a Repo,
    host: &'a HostEnv,
    hasher: KeyHasher,
    host_key: OnceCell<BTreeMap<String, Value>>,
    allowed: Allowed<'a>,
    describers: crate::scm::Describers<'a>,
}

impl<'a> Batch<'a> {
    /// Nothing found yet.
    pub fn new(repo: &'a Repo, host: &'a HostEnv) -> Batch<'a> {
        Batch {
            repo,
            host,
            hasher: KeyHasher::new(Cache::new(repo.common_dir()).root()),
            host_key: OnceCell::new(),
            allowed: Allowed { repo, host, from_git: OnceCell::new() },
            describers: crate::scm::Describers::new(repo),
        }
    }

    fn host_key(&self) -> Result<&BTreeMap<String, Value>> {
        if let Some(k) = self.host_key.get() {
            return Ok(k);
        }
        let k = host_key(self.host, &self.hasher)?;
        Ok(self.host_key.get_or_init(|| k))
    }
}

/// [`build_with`] in a batch of trees.
pub fn build_in(
    batch: &Batch<'_>,
    tree: &TreeRef,
    config: &Config,
    selection: &Selection,
    interp: &Interpreter,
    dists: Option<&[Dist]>,
) -> Result<Plan> {
    let (repo, host) = (batch.repo, batch.host);
    let mut wanted: Vec<&CheckDef> = match selection {
        Selection::All => config.checks.iter().collect(),
        Selection::Stage(s) => config.checks.iter().filter(|c| c.stages.contains(s)).collect(),
        Selection::Names(names) => {
            let mut v = Vec::new();
            for n in names {
                let c = config.check(n).ok_or_else(|| {
                    let known: Vec<&str> = config.checks.iter().map(|c| c.name.as_str()).collect();
                    Error::Config(crate::error::ConfigError {
                        file: config.source.file().into(),
                        line: None,
                        column: None,
                        message: format!("no enabled check named `{n}` (checks: {})", known.join(", ")),
                    })
                })?;
                v.push(c);
            }
            v
        }
    };
    // Pull in what the selected checks need, then order so needs come first.
    let mut i = 0;
    while i < wanted.len() {
        for need in &wanted[i].needs {
            if !wanted.iter().any(|c| &c.name == need)
                && let Some(c) = config.check(need)
            {
                wanted.push(c);
            }
        }
        i += 1;
    }
    let order: Vec<&CheckDef> =
        config.checks.iter().filter(|c| wanted.iter().any(|w| w.name == c.name)).collect();
    let mut sorted: Vec<&CheckDef> = Vec::new();
    while sorted.len() < order.len() {
        let before = sorted.len();
        for c in &order {
            if !sorted.iter().any(|s| s.name == c.name)
                && c.needs.iter().all(|n| sorted.iter().any(|s| &s.name == n))
            {
                sorted.push(c);
            }
        }
        if sorted.len() == before {
            break; // cycles are rejected by config validation
        }
    }

    // The version from git is an input only of checks that build or install the package (a tag
    // must not re-run `lint`), and is computed only when one of them is planned.
    // A version the environment pretends (CI's unique dev version of a PR run) wins, as it
    // does for setuptools-scm itself.
    let mut tree_env = BTreeMap::new();
    let mut build_env = BTreeMap::new();
    if sorted.iter().any(|d| d.kind.builds_package(d)) {
        if config.project.version_from_git {
            let version = match host.get(PRETEND_VERSION).filter(|v| !v.trim().is_empty()) {
                Some(v) => v.trim().to_string(),
                None => crate::scm::describe_tree_in(&batch.describers, tree, &config.project.scm)
                    .map(|(_, version)| version)
                    .map_err(|why| {
                        Error::Config(crate::error::ConfigError {
                            file: "pyproject.toml".into(),
                            line: None,
                            column: None,
                            message: format!("the version from git: {why}"),
                        })
                    })?,
            };
            tree_env.insert(PRETEND_VERSION.to_string(), version);
        }
        // The commit's time (for an index or working-copy tree: HEAD's), unless the person
        // running hookgate set one.
        if host.get("SOURCE_DATE_EPOCH").is_none()
            && let Some(time) = tree.commit.and_then(|c| repo.commit_time(c))
        {
            build_env.insert("SOURCE_DATE_EPOCH".to_string(), time.to_string());
        }
    }
    let dists_key: Option<Vec<Value>> =
        dists.map(|ds| ds.iter().map(|d| json!([d.file, d.sha256])).collect());
    let no_tree_env = BTreeMap::new();
    // What `inputs` select: the tree walked at most once for all the checks with globs, and
    // not at all when this tree was planned before.
    let inputs = crate::inputs::TreeInputs::new(repo, tree.id);
    let (hasher, allowed) = (&batch.hasher, &batch.allowed);
    let host_env = batch.host_key()?;
    let mut checks: Vec<PlannedCheck> = Vec::new();
    for def in sorted {
        let uses_tree_env = def.kind.builds_package(def);
        let needs: Vec<usize> =
            def.needs.iter().filter_map(|n| checks.iter().position(|p| &p.def.name == n)).collect();
        let need_keys: BTreeMap<&str, &str> =
            needs.iter().map(|&j| (checks[j].def.name.as_str(), checks[j].key.as_str())).collect();
        let input = if def.inputs.is_empty() {
            json!({ "tree": tree.id.to_string() })
        } else {
            inputs.key(&def.inputs)?
        };
        // A withheld variable is keyed as absent: the check runs without it.
        let (mut env, mut passed_env, mut withheld_env) = (BTreeMap::new(), Vec::new(), Vec::new());
        for k in &def.env {
            let hashed = match host.get(k) {
                None => None,
                Some(v) if looks_secret(k, v) && !allowed.contains(k)? => {
                    withheld_env.push(k.clone());
                    None
                }
                Some(v) if looks_secret(k, v) => Some(hasher.keyed(v.as_bytes())?),
                Some(v) => Some(KeyHasher::plain(v.as_bytes())),
            };
            if hashed.is_some() {
                passed_env.push(k.clone());
            }
            env.insert(k.as_str(), hashed);
        }
        let mut key_inputs = json!({
            "schema": SCHEMA,
            "name": def.name,
            "kind": def.kind.name(),
            "run": def.run,
            "deps": def.deps,
            "env": env,
            "host_env": host_env,
            // By implementation, release and platform, as a wheel tag names an interpreter: not
            // by build date or compiler, which differ between machines that agree on behaviour.
            "python": {
                "implementation": interp.implementation,
                "version": interp.release(),
                "platform": interp.platform,
            },
            "needs": need_keys,
            "tree_env": if uses_tree_env { &tree_env } else { &no_tree_env },
            "input": input,
            "options": def.options.to_key(),
            "variant": def.kind.key_variant(def, config, repo, tree)?,
        });
        // A snapshot narrowed to the inputs is another run (absent only at the default, so
        // existing keys stay).
        if def.snapshot == crate::config::Snapshot::Inputs
            && let Some(map) = key_inputs.as_object_mut()
        {
            map.insert("snapshot".into(), json!("inputs"));
        }
        if uses_tree_env && let (Some(ds), Some(map)) = (&dists_key, key_inputs.as_object_mut()) {
            map.insert("dists".into(), json!(ds));
        }
        let key = digest(&key_inputs);
        let skip = match host.skip.iter().any(|s| s == &def.name) {
            true => Some("skipped by HOOKGATE_SKIP".to_string()),
            false => def.kind.not_applicable(def, repo, tree)?,
        };
        let ttl = def.kind.ttl(def);
        checks.push(PlannedCheck {
            def: def.clone(),
            key,
            key_inputs,
            needs,
            skip,
            ttl,
            uses_tree_env,
            passed_env,
            withheld_env,
        });
    }
    inputs.save();
    Ok(Plan {
        tree: tree.clone(),
        stage: selection.label(),
        checks,
        tree_env,
        config: config.clone(),
        dists: dists.map(<[Dist]>::to_vec),
        build_env,
    })
}

/// The secret-looking variables the person running hookgate lets checks have: those of
/// `HOOKGATE_ALLOW_ENV` and of git config `hookgate.allowEnv` (multi-valued or
/// comma-separated; never the tree's), read only when a check lists such a variable.
struct Allowed<'a> {
    repo: &'a Repo,
    host: &'a HostEnv,
    from_git: OnceCell<Vec<String>>,
}

impl Allowed<'_> {
    fn contains(&self, name: &str) -> Result<bool> {
        if self.host.allow_env.iter().any(|a| a == name) {
            return Ok(true);
        }
        let from_git = match self.from_git.get() {
            Some(v) => v,
            None => {
                let values = self.repo.config_values("hookgate.allowEnv")?;
                let names = values.iter().flat_map(|v| v.split(',')).map(str::trim).filter(|n| !n.is_empty());
                self.from_git.get_or_init(|| names.map(str::to_string).collect())
            }
        };
        Ok(from_git.iter().any(|a| a == name))
    }
}

/// The host's key inputs, hashed: values that may hold a credential with the repository's
/// salt, the rest plainly; files by content, so no path of this machine enters the key.
fn host_key(host: &HostEnv, hasher: &KeyHasher) -> Result<BTreeMap<String, Value>> {
    let mut out = BTreeMap::new();
    for (name, input) in host.key_inputs() {
        let value = match input {
            KeyInput::Value(v) => json!(hasher.value(&name, &v)?),
            KeyInput::File(path) => file_key(&path, hasher)?,
            KeyInput::Files(list) => {
                let mut items = Vec::new();
                for item in list.split_whitespace() {
                    items.push(match item.contains("://") {
                        true => json!(hasher.value(&name, item)?),
                        // A relative path resolves inside the snapshot, which the key covers.
                        false if !Path::new(item).is_absolute() => json!({ "path": item }),
                        false => file_key(Path::new(item), hasher)?,
                    });
                }
                json!(items)
            }
        };
        out.insert(name, value);
    }
    Ok(out)
}

/// A file's content for a key (keyed when it holds a URL with credentials), or `missing`.
fn file_key(path: &Path, hasher: &KeyHasher) -> Result<Value> {
    let Ok(bytes) = std::fs::read(path) else { return Ok(json!("missing")) };
    Ok(json!(match has_userinfo(&String::from_utf8_lossy(&bytes)) {
        true => hasher.keyed(&bytes)?,
        false => KeyHasher::plain(&bytes),
    }))
}

/// SHA-256 of the canonical JSON (object keys sorted) of `value`, in hex.
pub fn digest(value: &Value) -> String {
    hex(&Sha256::digest(value.to_string().as_bytes()))
}

/// `bytes` in lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    // By table, not `write!` per byte: every key of a plan goes through here.
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// SHA-256 of `bytes`, in hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_stable_and_order_independent() {
        let a = json!({"a": 1, "b": [1, 2]});
        let b = json!({"b": [1, 2], "a": 1});
        assert_eq!(digest(&a), digest(&b));
        assert_ne!(digest(&a), digest(&json!({"a": 2, "b": [1, 2]})));
        assert_eq!(digest(&a).len(), 64);
    }

    #[test]
    fn hex_is_lowercase_two_digits_a_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(hex(&[]), "");
    }
}
