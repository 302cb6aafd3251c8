//! Built-in `wheel`: builds the sdist and the wheel from the snapshot (`uv build`, which builds
//! the wheel from the sdist as CI does; `python -m build` without uv) — with uv, in a private
//! copy of the environment built once for the resolved `build-system.requires`, falling back to
//! uv's isolated build environments when that build fails or cannot be set up — then validates
//! them: `twine check` (metadata, and a long description that renders) and
//! `check-wheel-contents` (stray top-level packages such as `tests`, empty wheels, ...). The
//! dists are kept as the check's artifacts, so `test`, `version` and a release reuse them.
//! The build gets `SOURCE_DATE_EPOCH` from the commit (see `plan`), so backends that honour it
//! make the same bytes on every machine. With `run --dists DIR` nothing is built: the given
//! dists are checked to be this tree's project at this tree's version, then validated the same
//! way, and become the artifacts `test` installs.

use anyhow::{Context, Result};

use super::invocation::{check, list_files, setup};
use super::{Check, Defaults, Invocation, KindOptions};
use crate::config::{CheckDef, Config, Project};
use crate::dists::Dist;
use crate::outcome::Ended;
use crate::plan::PRETEND_VERSION;
use crate::process::Exit;
use crate::venv::Installer;

/// The `wheel` kind.
pub struct Wheel;

/// Whether `path` is a built distribution file.
pub fn is_dist(path: &std::path::Path) -> bool {
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    name.ends_with(".whl") || name.ends_with(".tar.gz") || name.ends_with(".zip")
}

/// The first exit that is not a success, if any.
fn first_failure(exits: Vec<Exit>) -> Option<Exit> {
    exits.into_iter().find(|e| !e.success())
}

impl Check for Wheel {
    fn name(&self) -> &'static str {
        "wheel"
    }

    fn builds_package(&self, _def: &CheckDef) -> bool {
        true
    }

    /// Validators in the venv; builds happen in their own isolated environments.
    fn defaults(&self, _options: &dyn KindOptions, project: &Project) -> Defaults {
        Defaults {
            deps: vec![
                project.pins.requirement("twine").0,
                project.pins.requirement("check-wheel-contents").0,
            ],
            ..Defaults::default()
        }
    }

    fn keeps_artifacts(&self) -> bool {
        true
    }

    /// Build (the validators are the check's requirements: with uv, a copy of the environment
    /// built once for them), then validate (both validators at once); with `run --dists`,
    /// validate the given dists instead of building.
    fn execute(&self, inv: &mut Invocation<'_>, config: &Config) -> Result<Ended> {
        if let Some(given) = inv.dists {
            return validate_given(inv, given, config);
        }
        let out = inv.artifacts.display().to_string();
        let interp = inv.interp.executable.display().to_string();
        if let Some(epoch) = inv.setup_env.get("SOURCE_DATE_EPOCH") {
            inv.note(&format!("SOURCE_DATE_EPOCH={epoch} (reproducible builds)"));
        }
        match inv.installer {
            Installer::Uv(uv) => {
                let uv = uv.display().to_string();
                let built = match build_requires(&inv.src) {
                    Some(requires) => build_in_shared_env(inv, &uv, &requires, &out)?,
                    None => Ended::Fail(None),
                };
                match built {
                    Ended::Pass => {}
                    Ended::Fail(_) => {
                        let build =
                            inv.setup_cmd(&uv, &["build", "--python", &interp, "--out-dir", &out, "."]);
                        check!(inv.run(&build));
                    }
                    other => return Ok(other),
                }
            }
            Installer::Pip { .. } => {
                setup!("installing `build`", inv.install(&["build".to_string()]));
                let python = inv.python().display().to_string();
                check!(inv.run(&inv.setup_cmd(&python, &["-m", "build", "--outdir", &out, "."])));
            }
        }
        // Keep only the distributions (uv build also leaves a .gitignore): a release uploads
        // exactly this directory.
        for file in list_files(&inv.artifacts)?.iter().filter(|p| !is_dist(p)) {
            std::fs::remove_file(file).ok();
        }
        validate(inv)
    }
}

/// `[build-system] requires` of the snapshot's `pyproject.toml`, when every entry is a plain
/// requirement a shared environment can hold (no path, URL or option); `None` otherwise (no
/// `pyproject.toml`, no `[build-system]`: uv's legacy setuptools default, built isolated).
fn build_requires(src: &std::path::Path) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(src.join("pyproject.toml")).ok()?;
    let doc: toml::Table = text.parse().ok()?;
    let requires = doc.get("build-system")?.get("requires")?.as_array()?;
    let mut out = Vec::new();
    for r in requires {
        let r = r.as_str()?.trim();
        let plain = !r.is_empty()
            && r.starts_with(|c: char| c.is_ascii_alphanumeric())
            && !r.contains('@')
            && !r.contains("://")
            && !r.contains('/');
        if !plain {
            return None;
        }
        out.push(r.to_string());
    }
    Some(out)
}

/// Builds the sdist and the wheel with `--no-build-isolation` in a private copy of the
/// environment built once for the resolved `build-system.requires` (two isolated build
/// environments per build otherwise). `Fail` means "build isolated instead": the environment
/// could not be had, or the build failed without isolation (a backend that asks for more than
/// its `requires`, `get_requires_for_build_*`), so the isolated build, as CI runs it, decides.
fn build_in_shared_env(inv: &mut Invocation<'_>, uv: &str, requires: &[String], out: &str) -> Result<Ended> {
    let dir = inv.scratch.join("build-env");
    let base = match inv.separate_env(requires, &dir)? {
        Some(Ok(base)) => base,
        Some(Err(exit)) => {
            inv.note(&format!("the build environment could not be built ({exit:?}): building isolated"));
            return Ok(Ended::Fail(None));
        }
        None => return Ok(Ended::Fail(None)),
    };
    let python = dir.join("bin").join("python").display().to_string();
    let build =
        inv.setup_cmd(uv, &["build", "--no-build-isolation", "--python", &python, "--out-dir", out, "."]);
    let ended = Ended::of_check(inv.run(&build)?);
    if !inv.base_intact(&base) {
        return Ok(Ended::Error("the shared build environment changed while the build ran".into()));
    }
    if let Ended::Fail(_) = ended {
        inv.note("the build failed without isolation: building in isolated environments, as CI does");
        for file in list_files(&inv.artifacts)? {
            std::fs::remove_file(&file).ok();
        }
    }
    Ok(ended)
}

/// `run --dists`: the given files become this check's artifacts (what `test`, `version` and a
/// release use), after checking they are this tree's project at this tree's version.
fn validate_given(inv: &mut Invocation<'_>, given: &[Dist], config: &Config) -> Result<Ended> {
    for d in given {
        inv.note(&format!("given {} sha256:{}", d.file, d.sha256));
        let to = inv.artifacts.join(&d.file);
        std::fs::copy(&d.path, &to)
            .with_context(|| format!("copying {} to {}", d.path.display(), to.display()))?;
        // The copy is what is tested: make sure it is the bytes that were hashed.
        if crate::dists::sha256_file(&to)? != d.sha256 {
            return Ok(Ended::Error(format!("{} changed while it was being copied", d.file)));
        }
    }
    let version = config.project.version.clone().or_else(|| inv.setup_env.get(PRETEND_VERSION).cloned());
    if version.is_none() {
        inv.note("the tree's version is dynamic (not from git): only the name is compared");
    }
    let copied: Vec<Dist> =
        given.iter().map(|d| Dist { path: inv.artifacts.join(&d.file), ..d.clone() }).collect();
    let mismatch = match crate::dists::mismatch(&copied, config.project.name.as_deref(), version.as_deref()) {
        Ok(m) => m,
        Err(e) => Some(format!("{e:#}")),
    };
    if let Some(why) = mismatch {
        inv.note(&format!("the given dists are not this tree's: {why}"));
        return Ok(Ended::Fail(Some(why)));
    }
    inv.note(&format!(
        "the given dists are {} {}",
        config.project.name.as_deref().unwrap_or("the project"),
        version.as_deref().unwrap_or("(dynamic version)")
    ));
    validate(inv)
}

/// `twine check` on every dist and `check-wheel-contents` on the wheels of the
/// artifacts directory.
fn validate(inv: &mut Invocation<'_>) -> Result<Ended> {
    let dists: Vec<String> = list_files(&inv.artifacts)?.iter().map(|p| p.display().to_string()).collect();
    let wheels: Vec<&String> = dists.iter().filter(|d| d.ends_with(".whl")).collect();
    if wheels.is_empty() || dists.len() == wheels.len() {
        inv.note("the build did not produce both an sdist and a wheel");
        return Ok(Ended::Fail(Some("the build did not produce both an sdist and a wheel".into())));
    }
    // Not `--strict`: the check says what PyPI's upload says. A warning (no
    // `long_description_content_type`: PyPI renders reStructuredText) stays in the log; a
    // description that does not render fails.
    let mut twine = vec!["check"];
    twine.extend(dists.iter().map(String::as_str));
    let cwc: Vec<&str> = wheels.iter().map(|w| w.as_str()).collect();
    let validations = [inv.check_cmd("twine", &twine), inv.check_cmd("check-wheel-contents", &cwc)];
    let validated = first_failure(inv.run_parallel(&validations)?).unwrap_or(Exit::Code(0));
    check!(Ok::<Exit, anyhow::Error>(validated));
    Ok(Ended::Pass)
}
