//! Lock files (`[tool.hookgate] lock = "PATH"`): turns the lock into installer arguments for
//! the test and docs environments. `requirements*.txt` installs as is (`--require-hashes` when
//! it carries hashes), `uv.lock` through `uv export`, PEP 751 `pylock.toml` directly.

use anyhow::{Result, bail};

use super::Invocation;
use crate::venv::Installer;

/// The install arguments for the lock at `path` (relative to the snapshot's root). From a
/// `uv.lock`, only the project's dependencies and the `groups` and `extras` the environment
/// needs are exported (as `uv sync --locked --group G --extra E` installs them), never the
/// project itself: the wheel under test replaces it.
pub fn install_args(
    inv: &mut Invocation<'_>,
    path: &str,
    groups: &[String],
    extras: &[String],
) -> Result<Vec<String>> {
    let file = inv.src.join(path);
    if !file.is_file() {
        bail!("the lock file `{path}` named by [tool.hookgate] lock is not in this tree");
    }
    let name = file.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    if name == "uv.lock" {
        let uv = match inv.installer {
            Installer::Uv(uv) => uv,
            Installer::Pip { why } => {
                bail!("`lock = \"{path}\"` needs uv to export it ({why}); install uv (pip install uv)")
            }
        };
        let out = inv.scratch.join("uv-lock-requirements.txt").display().to_string();
        let mut args: Vec<&str> = vec![
            "export",
            "--frozen",
            "--format",
            "requirements-txt",
            "--no-emit-project",
            "--no-default-groups",
            "--quiet",
            "-o",
            &out,
        ];
        for g in groups {
            args.extend(["--group", g]);
        }
        for e in extras {
            args.extend(["--extra", e]);
        }
        inv.note(&format!(
            "installing from {path}: the project's dependencies{}{}",
            if groups.is_empty() { String::new() } else { format!(", groups {}", groups.join(", ")) },
            if extras.is_empty() { String::new() } else { format!(", extras {}", extras.join(", ")) },
        ));
        let cmd = inv.setup_cmd(uv.display().to_string(), &args);
        let exit = inv.run(&cmd)?;
        if !exit.success() {
            bail!("`uv export` of {path} failed (see the log)");
        }
        // The export is the whole closure, minus the project itself, on which a tool of the
        // groups may depend (pytest on iniconfig, in iniconfig): `--no-deps`, so the installer
        // asks no hash of it; the wheel under test provides it.
        return Ok(vec!["--require-hashes".into(), "--no-deps".into(), "-r".into(), out]);
    }
    let mut args = Vec::new();
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    if name.ends_with(".txt") && text.contains("--hash=") {
        args.push("--require-hashes".to_string());
    }
    args.push("-r".into());
    args.push(file.display().to_string());
    Ok(args)
}
