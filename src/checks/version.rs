//! Built-in `version`: reads the name and version from the built wheel's metadata (so dynamic
//! versions work) and asks a package index whether that version already exists, through the
//! simple repository API: PEP 691 JSON when offered, PEP 503 HTML otherwise; names normalized
//! per PEP 503, versions compared per PEP 440 (`packaging`). TLS trusts the system's store
//! (Python's `ssl` default context, as pip uses). Taken: fail. Unreachable: `unknown`, never
//! cached, blocking only with `strict = true`. A pass is reused for `ttl` seconds.

use anyhow::{Context, Result};

use super::{Defaults, Invocation, RunOutcome};
use crate::config::{RunSpec, Stage};
use crate::process::Exit;

const CHECK: &str = include_str!("py/version_check.py");

/// PyPI's simple index.
pub const DEFAULT_INDEX: &str = "https://pypi.org/simple/";
/// Seconds a pass is reused by default: someone may publish meanwhile.
pub const DEFAULT_TTL: u64 = 3600;
/// The helper's exit code when the index cannot be reached.
const UNREACHABLE: i32 = 3;

/// `packaging` for names and versions.
pub fn defaults() -> Defaults {
    Defaults { run: RunSpec::Argv(Vec::new()), deps: vec!["packaging".into()], stages: vec![Stage::PrePush] }
}

/// Ask the index.
pub fn execute(inv: &mut Invocation<'_>) -> Result<RunOutcome> {
    let wheel = inv
        .needed_files("wheel")?
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .context("the `wheel` check left no wheel")?;
    let index = inv.def.options.index_url.clone().unwrap_or_else(|| DEFAULT_INDEX.to_string());
    let script = inv.helper("hookgate_version_check.py", CHECK)?.display().to_string();
    let python = inv.python().display().to_string();
    let wheel = wheel.display().to_string();
    // Our own script, not the package's code: it gets the setup environment (proxies, certs).
    let cmd = inv.setup_cmd(python, &[&script, "--wheel", &wheel, "--index-url", &index]);
    let exit = inv.run(&cmd)?;
    if exit == Exit::Code(UNREACHABLE) {
        return Ok(RunOutcome::Unknown(format!("index {index} unreachable")));
    }
    Ok(RunOutcome::Exit(exit))
}
