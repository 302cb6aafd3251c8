//! Built-in `version`: reads the name and version from the built wheel's metadata (so dynamic
//! versions work) and asks a package index whether that version already exists, with
//! hookgate's own client (`crate::index`): the simple API, PEP 691 JSON when offered, PEP 503
//! HTML otherwise; names normalized per PEP 503, versions compared per PEP 440; TLS through the
//! system's certificate store, proxies and netrc as pip reads them. Taken: fail. Unreachable:
//! `unknown`, never cached, blocking only with `strict = true`. A malformed answer, a refused
//! login or an unreadable wheel is a setup `error`, never "taken". A taken version passes when
//! it was released from this very tree (a tag `vX.Y.Z` points to a commit with the tree under
//! test), so the main branch stays green after a release. A pass is reused for `ttl` seconds.
//! No venv, no Python.

use std::sync::Arc;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::{Check, Invocation, KindOptions};
use crate::config::{CheckDef, Config, OptionTable};
use crate::error::Error;
use crate::git::{Repo, TreeRef};
use crate::index::{IndexAnswer, IndexClient, redact, wheel_metadata};
use crate::outcome::Ended;
use serde_json::{Value, json};

/// PyPI's simple index.
pub const DEFAULT_INDEX: &str = "https://pypi.org/simple/";
/// Seconds a pass is reused by default: someone may publish meanwhile.
pub const DEFAULT_TTL: u64 = 3600;
/// The `version` kind.
pub struct Version;

/// `version`'s settings.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct VersionOptions {
    /// The simple-API index to ask (default PyPI's).
    pub index_url: Option<String>,
    /// An unreachable index blocks like a taken version.
    pub strict: Option<bool>,
    /// Seconds a pass is reused.
    pub ttl: Option<u64>,
}

static NO_OPTIONS: VersionOptions = VersionOptions { index_url: None, strict: None, ttl: None };

fn options(def: &CheckDef) -> &VersionOptions {
    def.options::<VersionOptions>().unwrap_or(&NO_OPTIONS)
}

impl Check for Version {
    fn name(&self) -> &'static str {
        "version"
    }

    fn builds_package(&self, _def: &CheckDef) -> bool {
        true
    }

    fn needs(&self) -> &'static [&'static str] {
        &["wheel"]
    }

    fn option_names(&self) -> &'static [&'static str] {
        &["index-url", "strict", "ttl"]
    }

    fn parse_options(&self, table: &OptionTable<'_>) -> Result<Arc<dyn KindOptions>, Error> {
        Ok(Arc::new(table.parse::<VersionOptions>()?))
    }

    fn needs_venv(&self) -> bool {
        false
    }

    fn ttl(&self, def: &CheckDef) -> Option<u64> {
        Some(options(def).ttl.unwrap_or(DEFAULT_TTL))
    }

    fn unknown_blocks(&self, def: &CheckDef) -> bool {
        options(def).strict == Some(true)
    }

    /// Which release tags point to a commit with this very tree: a tag appearing changes the
    /// key, so a cached "taken" is asked again once the release is tagged.
    fn key_variant(&self, _def: &CheckDef, config: &Config, repo: &Repo, tree: &TreeRef) -> Result<Value> {
        let tags = released_tags(repo, tree, config)?;
        Ok(if tags.is_empty() { Value::Null } else { json!({ "released-from-this-tree": tags }) })
    }

    /// Ask the index.
    fn execute(&self, inv: &mut Invocation<'_>, config: &Config) -> Result<Ended> {
        let wheel = inv
            .needed_files("wheel")?
            .into_iter()
            .find(|p| p.extension().is_some_and(|e| e == "whl"))
            .context("the `wheel` check left no wheel")?;
        let index = options(inv.def).index_url.clone().unwrap_or_else(|| DEFAULT_INDEX.to_string());
        let client = IndexClient::new(inv.host.index_settings());
        let tags = released_tags(&Repo::open(inv.git_dir)?, inv.tree, config)?;
        Ok(ask_released(&client, &wheel, &index, &tags, &mut |line| inv.note(line)))
    }
}

/// The tags `v*` of commits whose tree is `tree`. With a static version only `v<version>` can
/// be its release, so only that tag is looked up (the cached path reads one ref, not every
/// tag); a dynamic version is known only from the wheel, so every `v*` tag is.
fn released_tags(repo: &Repo, tree: &TreeRef, config: &Config) -> Result<Vec<String>> {
    let Some(version) = &config.project.version else { return repo.tags_of_tree(tree.id, "v") };
    let mut names = vec![format!("v{version}")];
    if let Ok(v) = version.parse::<pep440_rs::Version>() {
        names.push(format!("v{v}"));
    }
    names.dedup();
    Ok(names.into_iter().filter(|n| repo.tag_tree(n) == Some(tree.id)).collect())
}

/// Whether the version of `wheel` is free on `index`, as the check's ending; what was asked
/// and answered goes to the log. `release` asks the same way.
pub fn ask(client: &IndexClient, wheel: &std::path::Path, index: &str, note: &mut dyn FnMut(&str)) -> Ended {
    ask_released(client, wheel, index, &[], note)
}

/// The release tag among `tags` (tags of commits with the tree under test) that names
/// `version` (`v1.2.0` names 1.2.0, and 1.2 per PEP 440), if any.
fn release_tag<'t>(tags: &'t [String], version: &str) -> Option<&'t String> {
    let want: pep440_rs::Version = version.parse().ok()?;
    tags.iter().find(|t| {
        t.strip_prefix('v').and_then(|v| v.parse::<pep440_rs::Version>().ok()) == Some(want.clone())
    })
}

/// [`ask`], where a version already on the index passes when it was released from this very
/// tree: one of `tags` (tags of commits whose tree is the tree under test) is `v<version>`.
/// Main stays green after a release; any other tree with that version fails.
pub fn ask_released(
    client: &IndexClient,
    wheel: &std::path::Path,
    index: &str,
    tags: &[String],
    note: &mut dyn FnMut(&str),
) -> Ended {
    let meta = match wheel_metadata(wheel) {
        Ok(m) => m,
        Err(e) => return Ended::Error(format!("reading the wheel's metadata: {e:#}")),
    };
    let shown = redact(index);
    note(&format!("asking {shown} whether {} {} is there", meta.name, meta.version));
    match client.version_state(index, &meta.name, &meta.version) {
        Ok(IndexAnswer::Free) => {
            note(&format!("{} {} is free on {shown}", meta.name, meta.version));
            Ended::Pass
        }
        Ok(IndexAnswer::Taken { files }) => {
            note(&format!("{} {} is already on {shown}: {}", meta.name, meta.version, files.join(", ")));
            if let Some(tag) = release_tag(tags, &meta.version) {
                note(&format!(
                    "released from this very tree: the tag {tag} points to a commit with this tree, so \
                     {} {} on the index is this tree's release",
                    meta.name, meta.version
                ));
                return Ended::Pass;
            }
            note("bump the version (or, for a version from git, tag the next one) before pushing");
            Ended::Fail(Some(format!("{} {} is already on {shown}", meta.name, meta.version)))
        }
        Ok(IndexAnswer::Unreachable(why)) => {
            note(&format!("the index did not answer: {why}"));
            Ended::Unknown(format!("index {shown} unreachable"))
        }
        Err(e) => {
            note(&format!("the index's answer decides nothing: {e}"));
            Ended::Error(format!("asking {shown}: {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_release_tag_names_the_version_per_pep_440() {
        let tags = vec!["v1.2".to_string(), "v2.0.0rc1".to_string(), "vnext".to_string()];
        assert_eq!(release_tag(&tags, "1.2.0"), Some(&tags[0]));
        assert_eq!(release_tag(&tags, "2.0.0rc1"), Some(&tags[1]));
        assert_eq!(release_tag(&tags, "2.0.0"), None);
        assert_eq!(release_tag(&tags, "not a version"), None);
    }
}
