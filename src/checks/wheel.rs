//! Built-in `wheel`: builds the sdist and the wheel from the snapshot in an isolated build
//! (`uv build`, which builds the wheel from the sdist as CI does; `python -m build` without
//! uv), then validates them: `twine check --strict` (metadata, long description) and
//! `check-wheel-contents` (stray top-level packages such as `tests`, empty wheels, ...). The
//! dists are kept as the check's artifacts, so `test`, `version` and a release reuse them.

use anyhow::Result;

use super::invocation::{list_files, step};
use super::{Defaults, Invocation, RunOutcome};
use crate::config::{RunSpec, Stage};
use crate::process::Exit;
use crate::venv::Installer;

/// Validators in the venv; builds happen in their own isolated environments.
pub fn defaults() -> Defaults {
    Defaults {
        run: RunSpec::Argv(Vec::new()),
        deps: vec!["twine".into(), "check-wheel-contents".into()],
        stages: vec![Stage::PrePush],
    }
}

/// Whether `path` is a built distribution file.
pub fn is_dist(path: &std::path::Path) -> bool {
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    name.ends_with(".whl") || name.ends_with(".tar.gz") || name.ends_with(".zip")
}

/// The first exit that is not a success, if any.
fn first_failure(exits: Vec<Exit>) -> Option<Exit> {
    exits.into_iter().find(|e| !e.success())
}

/// Build (while the validators install), then validate (both validators at once).
pub fn execute(inv: &mut Invocation<'_>) -> Result<RunOutcome> {
    let out = inv.artifacts.display().to_string();
    let interp = inv.interp.executable.display().to_string();
    let validators = inv.install_cmd(&inv.def.deps);
    match inv.installer {
        Installer::Uv(uv) => {
            let build = inv
                .setup_cmd(uv.display().to_string(), &["build", "--python", &interp, "--out-dir", &out, "."]);
            if let Some(failed) = first_failure(inv.run_parallel(&[build, validators])?) {
                return Ok(RunOutcome::Exit(failed));
            }
        }
        Installer::Pip => {
            let mut deps = inv.def.deps.clone();
            deps.push("build".into());
            step!(inv.install(&deps));
            let python = inv.python().display().to_string();
            step!(inv.run(&inv.setup_cmd(&python, &["-m", "build", "--outdir", &out, "."])));
        }
    }
    // Keep only the distributions (uv build also leaves a .gitignore): a release uploads
    // exactly this directory.
    for file in list_files(&inv.artifacts)?.iter().filter(|p| !is_dist(p)) {
        std::fs::remove_file(file).ok();
    }
    let dists: Vec<String> = list_files(&inv.artifacts)?.iter().map(|p| p.display().to_string()).collect();
    let wheels: Vec<&String> = dists.iter().filter(|d| d.ends_with(".whl")).collect();
    if wheels.is_empty() || dists.len() == wheels.len() {
        inv.note("the build did not produce both an sdist and a wheel");
        return Ok(RunOutcome::Exit(Exit::Code(1)));
    }
    let mut twine = vec!["check", "--strict"];
    twine.extend(dists.iter().map(String::as_str));
    let cwc: Vec<&str> = wheels.iter().map(|w| w.as_str()).collect();
    let validations = [inv.check_cmd("twine", &twine), inv.check_cmd("check-wheel-contents", &cwc)];
    Ok(RunOutcome::Exit(first_failure(inv.run_parallel(&validations)?).unwrap_or(Exit::Code(0))))
}
