//! Lock files (`[tool.hookgate] lock = "PATH"`): turns the lock into installer arguments for
//! the test and docs environments. `requirements*.txt` installs as is (`--require-hashes` when
//! it carries hashes), `uv.lock` through `uv export`, PEP 751 `pylock.toml` directly.

use anyhow::{Result, bail};

use super::Invocation;
use crate::venv::Installer;

/// The install arguments for the lock at `path` (relative to the snapshot's root).
pub fn install_args(inv: &mut Invocation<'_>, path: &str) -> Result<Vec<String>> {
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
        let cmd = inv.setup_cmd(
            uv.display().to_string(),
            &[
                "export",
                "--frozen",
                "--format",
                "requirements-txt",
                "--no-emit-project",
                "--all-extras",
                "--all-groups",
                "--quiet",
                "-o",
                &out,
            ],
        );
        let exit = inv.run(&cmd)?;
        if !exit.success() {
            bail!("`uv export` of {path} failed (see the log)");
        }
        return Ok(vec!["--require-hashes".into(), "-r".into(), out]);
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
