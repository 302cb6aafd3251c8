//! Built-in `version`: reads the name and version from the built wheel's metadata (so dynamic
//! versions work) and asks a package index whether that version already exists, through the
//! simple repository API: PEP 691 JSON when offered, PEP 503 HTML otherwise; names normalized
//! per PEP 503, versions compared per PEP 440 (`packaging`). TLS trusts the system's store
//! (Python's `ssl` default context, as pip uses). Taken: fail. Unreachable: `unknown`, never
//! cached, blocking only with `strict = true`. A pass is reused for `ttl` seconds.

use std::sync::Arc;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::{Check, Defaults, Invocation, KindOptions};
use crate::config::{CheckDef, Config, OptionTable, Project};
use crate::error::Error;
use crate::outcome::Ended;
use crate::process::Exit;

const CHECK: &str = include_str!("py/version_check.py");

/// PyPI's simple index.
pub const DEFAULT_INDEX: &str = "https://pypi.org/simple/";
/// Seconds a pass is reused by default: someone may publish meanwhile.
pub const DEFAULT_TTL: u64 = 3600;
/// The helper's exit code when the index cannot be reached.
const UNREACHABLE: i32 = 3;

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

    /// `packaging` for names and versions.
    fn defaults(&self, _options: &dyn KindOptions, _project: &Project) -> Defaults {
        Defaults { deps: vec!["packaging".into()], ..Defaults::default() }
    }

    fn ttl(&self, def: &CheckDef) -> Option<u64> {
        Some(options(def).ttl.unwrap_or(DEFAULT_TTL))
    }

    fn unknown_blocks(&self, def: &CheckDef) -> bool {
        options(def).strict == Some(true)
    }

    /// Ask the index.
    fn execute(&self, inv: &mut Invocation<'_>, _config: &Config) -> Result<Ended> {
        let wheel = inv
            .needed_files("wheel")?
            .into_iter()
            .find(|p| p.extension().is_some_and(|e| e == "whl"))
            .context("the `wheel` check left no wheel")?;
        let index = options(inv.def).index_url.clone().unwrap_or_else(|| DEFAULT_INDEX.to_string());
        let script = inv.helper("hookgate_version_check.py", CHECK)?.display().to_string();
        let python = inv.python().display().to_string();
        let wheel = wheel.display().to_string();
        // Our own script, not the package's code: it gets the setup environment (proxies, certs).
        let cmd = inv.setup_cmd(python, &[&script, "--wheel", &wheel, "--index-url", &index]);
        Ok(match inv.run(&cmd)? {
            Exit::Code(UNREACHABLE) => Ended::Unknown(format!("index {index} unreachable")),
            exit => Ended::of_check(exit),
        })
    }
}
