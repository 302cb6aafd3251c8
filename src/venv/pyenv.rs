//! pyenv shims, resolved without running them. A shim is a bash script that runs
//! `pyenv exec <name>`; pyenv picks the version (`PYENV_VERSION`, else the nearest
//! `.python-version` from the working directory up, else `$PYENV_ROOT/version`) and runs
//! `$PYENV_ROOT/versions/<version>/bin/<name>`. Following those rules here keeps the cached path
//! free of the shim's bash (about 100 ms a call). Only the plain rules are followed: a shim of
//! another shape, `PYENV_DIR`, the `system` version, a prefix such as `3.12` that pyenv would
//! complete, or a hook that could change the answer gives `None`, and the caller asks the shim.
//! The rules are those of pyenv's `libexec/pyenv-version-file`, `-version-file-read`,
//! `-version-name` and `-which`.

use std::path::{Path, PathBuf};

use crate::env::HostEnv;

/// The interpreter the pyenv shim at `shim` would run from `cwd`, when pyenv's rules can be
/// followed exactly without running it.
pub fn resolve(shim: &Path, host: &HostEnv, cwd: &Path) -> Option<PathBuf> {
    let script = Shim::read(shim)?;
    // The shim runs `pyenv exec "${0##*/}"`: the name it was called by.
    let program = shim.file_name()?.to_str()?;
    if host.get("PYENV_DIR").is_some_and(|d| !d.is_empty()) || !only_known_hooks(&script, host) {
        return None;
    }
    let versions = match host.get("PYENV_VERSION").filter(|v| !v.is_empty()) {
        Some(v) => v.to_string(),
        None => read_version_file(&version_file(&script.root, host, cwd)?)?,
    };
    // `pyenv which` takes the first version that has the program, then the system's (which
    // this does not follow).
    for name in versions.split(':') {
        let candidate = installed(&script.root, name)?.join("bin").join(program);
        match (candidate.is_file(), executable(&candidate)) {
            (true, true) => return Some(candidate),
            // Not a file, yet `-x` holds (a directory): pyenv would pick it; we cannot.
            (false, true) => return None,
            _ => continue,
        }
    }
    None
}

/// What hookgate needs from a shim: `PYENV_ROOT` and the `pyenv` it runs.
struct Shim {
    root: PathBuf,
    pyenv: PathBuf,
}

impl Shim {
    /// Reads `path` as a shim written by `pyenv rehash`; `None` for anything else, down to a
    /// line this does not know (an older template, an edited shim).
    fn read(path: &Path) -> Option<Shim> {
        let meta = std::fs::metadata(path).ok()?;
        if !meta.is_file() || meta.len() > 4096 {
            return None;
        }
        let text = String::from_utf8(std::fs::read(path).ok()?).ok()?;
        let mut lines = text.lines();
        if lines.next()? != "#!/usr/bin/env bash" {
            return None;
        }
        let (mut root, mut pyenv, mut program) = (None, None, false);
        for line in lines {
            if let Some(r) = quoted(line, "export PYENV_ROOT=\"", "\"") {
                root = Some(PathBuf::from(r));
            } else if let Some(p) = quoted(line, "exec \"", "\" exec \"$program\" \"$@\"") {
                pyenv = Some(PathBuf::from(p));
            } else if line == "program=\"${0##*/}\"" {
                program = true;
            } else if quoted(line, "if [[ $SHIM_PATH != \"", "\" ]]; then").is_none()
                && !matches!(
                    line,
                    "" | "set -e"
                        | "[ -n \"$PYENV_DEBUG\" ] && set -x"
                        | "SHIM_PATH=${0%/*}"
                        | "  export _PYENV_SHIM_PATH=\"$SHIM_PATH\""
                        | "fi"
                )
            {
                return None;
            }
        }
        let (root, pyenv) = (root?, pyenv?);
        (program && root.is_absolute() && pyenv.is_absolute()).then_some(Shim { root, pyenv })
    }
}

/// The text between `start` and `end` when `line` is exactly that, and it holds nothing bash
/// would expand inside double quotes.
fn quoted<'l>(line: &'l str, start: &str, end: &str) -> Option<&'l str> {
    let inner = line.strip_prefix(start)?.strip_suffix(end)?;
    (!inner.is_empty() && !inner.contains(['"', '$', '`', '\\'])).then_some(inner)
}

/// Whether every hook pyenv would run for `version-name`, `which` and `exec` is one known not
/// to change the interpreter this module answers with.
fn only_known_hooks(shim: &Shim, host: &HostEnv) -> bool {
    // The hook path as pyenv's main script builds it.
    let mut dirs: Vec<PathBuf> = Vec::new();
    for d in host.get("PYENV_HOOK_PATH").unwrap_or("").split(':').filter(|d| !d.is_empty()) {
        if !d.starts_with('/') {
            return false;
        }
        dirs.push(PathBuf::from(d));
    }
    dirs.push(shim.root.join("pyenv.d"));
    // `_PYENV_INSTALL_PREFIX`: the directory above the real `libexec/pyenv`.
    let Some(prefix) = shim.pyenv.canonicalize().ok().and_then(|p| Some(p.parent()?.parent()?.to_path_buf()))
    else {
        return false;
    };
    if prefix != shim.root {
        dirs.push(prefix.join("pyenv.d"));
    }
    dirs.extend(
        ["/usr/etc/pyenv.d", "/usr/local/etc/pyenv.d", "/etc/pyenv.d", "/usr/lib/pyenv/hooks"]
            .map(PathBuf::from),
    );
    if let Ok(plugins) = std::fs::read_dir(shim.root.join("plugins")) {
        dirs.extend(plugins.flatten().map(|p| p.path().join("etc").join("pyenv.d")));
    }
    for dir in &dirs {
        for command in ["version-name", "which", "exec"] {
            let Ok(entries) = std::fs::read_dir(dir.join(command)) else { continue };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.ends_with(".bash") && !name.starts_with('.') && !harmless_hook(dir, command, &name) {
                    return false;
                }
            }
        }
    }
    true
}

/// Hooks that ship with pyenv and pyenv-virtualenv and cannot change the answer: the `which`
/// ones act only when the version has no such program (we answer only with one that exists),
/// pip-rehash only for pip and `-m pip` (hookgate asks an interpreter nothing of the kind).
fn harmless_hook(dir: &Path, command: &str, name: &str) -> bool {
    match (command, name) {
        ("which", "python-config.bash" | "system-site-packages.bash" | "conda.bash") => {
            dir.ends_with("pyenv-virtualenv/etc/pyenv.d")
        }
        ("exec", "pip-rehash.bash") => true,
        _ => false,
    }
}

/// The file that sets the version: the nearest `.python-version` from the shell's working
/// directory up, else `$PYENV_ROOT/version`.
fn version_file(root: &Path, host: &HostEnv, cwd: &Path) -> Option<PathBuf> {
    let physical = cwd.canonicalize().ok()?;
    // bash starts with the inherited `PWD` when it names the working directory, else with the
    // physical path: the search walks that text, so symlinked directories count as pyenv sees them.
    let start = match host.get("PWD") {
        Some(pwd) if pwd.starts_with('/') && same_dir(Path::new(pwd), &physical) => {
            // bash would first tidy `.`, `..` and `//` away; not followed here.
            if pwd != "/" && pwd.split('/').skip(1).any(|c| c.is_empty() || c == "." || c == "..") {
                return None;
            }
            pwd.to_string()
        }
        _ => physical.to_str()?.to_string(),
    };
    if start.starts_with("//") {
        return None;
    }
    // pyenv-version-file's loop: "$dir/.python-version", then `${dir%/*}`, down to "".
    let mut dir = start;
    loop {
        let candidate = PathBuf::from(format!("{dir}/.python-version"));
        if candidate.is_file() {
            return Some(candidate);
        }
        if dir.is_empty() {
            return Some(root.join("version"));
        }
        dir.truncate(dir.rfind('/')?);
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// The versions a version file names, joined with `:` as pyenv does; `None` when it names
/// none (pyenv then uses the system's Python) or holds what pyenv would treat specially.
fn read_version_file(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.len() == 0 || meta.len() > 64 * 1024 {
        return None;
    }
    let text = String::from_utf8(std::fs::read(path).ok()?).ok()?;
    if text.contains('\0') {
        return None;
    }
    let mut versions = Vec::new();
    for line in text.split('\n') {
        // `read -n 1024` would split a longer line.
        if line.len() >= 1024 {
            return None;
        }
        // The first word, split as `IFS=$' \t\n\r'` splits it.
        match line.split([' ', '\t', '\r']).find(|w| !w.is_empty()) {
            None => continue,
            Some(w) if w.starts_with('#') => continue,
            // pyenv checks such a name against the versions directory; not followed here.
            Some(w) if w == ".." || w.contains('/') => return None,
            Some(w) => versions.push(w),
        }
    }
    (!versions.is_empty()).then(|| versions.join(":"))
}

/// `$PYENV_ROOT/versions/<name>` (or `<name>` without a `python-` prefix) when installed;
/// `None` for `system`, a prefix pyenv would complete to the latest match, or an odd name.
fn installed(root: &Path, name: &str) -> Option<PathBuf> {
    let odd = |c: char| c.is_whitespace() || matches!(c, '*' | '?' | '[' | '/');
    if name.is_empty() || name == "system" || name == ".." || name.contains(odd) {
        return None;
    }
    [name, name.strip_prefix("python-").unwrap_or(name)]
        .into_iter()
        .map(|n| root.join("versions").join(n))
        .find(|d| d.is_dir())
}

/// bash's `-x`: executable by us (for root: any execute bit).
fn executable(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else { return false };
    // SAFETY: faccessat(2) reads a NUL-terminated path we own; no memory is written.
    unsafe { libc::faccessat(libc::AT_FDCWD, c.as_ptr(), libc::X_OK, libc::AT_EACCESS) == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A pyenv root with versions `3.11.9` (python3) and `3.12.4` (python3, python3.12), its
    /// shims, and a project directory below.
    struct World {
        _dir: tempfile::TempDir,
        root: PathBuf,
        project: PathBuf,
    }

    fn shim_text(root: &Path) -> String {
        format!(
            "#!/usr/bin/env bash\nset -e\n[ -n \"$PYENV_DEBUG\" ] && set -x\n\nprogram=\"${{0##*/}}\"\n\n\
             export PYENV_ROOT=\"{r}\"\nSHIM_PATH=${{0%/*}}\nif [[ $SHIM_PATH != \"{r}/shims\" ]]; then\n  \
             export _PYENV_SHIM_PATH=\"$SHIM_PATH\"\nfi\nexec \"{r}/libexec/pyenv\" exec \"$program\" \"$@\"\n",
            r = root.display()
        )
    }

    fn exe(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "").unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn world() -> World {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().canonicalize().unwrap();
        let root = base.join("pyenv");
        exe(&root.join("versions/3.11.9/bin/python3"));
        exe(&root.join("versions/3.12.4/bin/python3"));
        exe(&root.join("versions/3.12.4/bin/python3.12"));
        exe(&root.join("libexec/pyenv"));
        for name in ["python3", "python3.12"] {
            std::fs::create_dir_all(root.join("shims")).unwrap();
            std::fs::write(root.join("shims").join(name), shim_text(&root)).unwrap();
        }
        std::fs::write(root.join("version"), "3.11.9\n").unwrap();
        let project = base.join("home/project/sub");
        std::fs::create_dir_all(&project).unwrap();
        World { _dir: dir, root, project }
    }

    fn host(pairs: &[(&str, &str)]) -> HostEnv {
        HostEnv::from_vars(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    impl World {
        fn resolve(&self, name: &str, h: &HostEnv) -> Option<PathBuf> {
            resolve(&self.root.join("shims").join(name), h, &self.project)
        }
        fn version(&self, v: &str) -> Option<PathBuf> {
            Some(self.root.join("versions").join(v).join("bin/python3"))
        }
    }

    #[test]
    fn global_version_file_when_nothing_closer() {
        let w = world();
        assert_eq!(w.resolve("python3", &host(&[])), w.version("3.11.9"));
    }

    #[test]
    fn nearest_python_version_file_wins_over_the_global_one() {
        let w = world();
        std::fs::write(w.project.parent().unwrap().join(".python-version"), "# pinned\n\n  3.12.4 extra\n")
            .unwrap();
        assert_eq!(w.resolve("python3", &host(&[])), w.version("3.12.4"));
        std::fs::write(w.project.join(".python-version"), "python-3.11.9\r\n").unwrap();
        assert_eq!(w.resolve("python3", &host(&[])), w.version("3.11.9"));
    }

    #[test]
    fn pyenv_version_wins_over_files() {
        let w = world();
        std::fs::write(w.project.join(".python-version"), "3.11.9\n").unwrap();
        assert_eq!(w.resolve("python3", &host(&[("PYENV_VERSION", "3.12.4")])), w.version("3.12.4"));
    }

    #[test]
    fn first_version_that_has_the_program() {
        let w = world();
        let h = host(&[("PYENV_VERSION", "3.11.9:3.12.4")]);
        assert_eq!(w.resolve("python3", &h), w.version("3.11.9"));
        assert_eq!(w.resolve("python3.12", &h), Some(w.root.join("versions/3.12.4/bin/python3.12")));
    }

    #[test]
    fn anything_pyenv_would_do_more_with_is_left_to_the_shim() {
        let w = world();
        for v in ["system", "3.12", "3.13.0", ":3.11.9", "../x", "3.1*"] {
            assert_eq!(w.resolve("python3", &host(&[("PYENV_VERSION", v)])), None, "{v}");
        }
        assert_eq!(w.resolve("python3", &host(&[("PYENV_DIR", "/")])), None);
        // An empty local file means `system`, not the global file.
        std::fs::write(w.project.join(".python-version"), "").unwrap();
        assert_eq!(w.resolve("python3", &host(&[])), None);
        std::fs::write(w.project.join(".python-version"), "# only a comment\n").unwrap();
        assert_eq!(w.resolve("python3", &host(&[])), None);
    }

    #[test]
    fn unknown_hooks_and_odd_shims_are_left_to_the_shim() {
        let w = world();
        let hook = w.root.join("plugins/pyenv-virtualenv/etc/pyenv.d/which");
        std::fs::create_dir_all(&hook).unwrap();
        std::fs::write(hook.join("system-site-packages.bash"), "").unwrap();
        std::fs::create_dir_all(w.root.join("pyenv.d/exec")).unwrap();
        std::fs::write(w.root.join("pyenv.d/exec/pip-rehash.bash"), "").unwrap();
        assert_eq!(w.resolve("python3", &host(&[])), w.version("3.11.9"), "known hooks change nothing");
        std::fs::write(hook.join("mine.bash"), "").unwrap();
        assert_eq!(w.resolve("python3", &host(&[])), None);
        std::fs::remove_file(hook.join("mine.bash")).unwrap();

        let edited = shim_text(&w.root).replace("set -e\n", "set -e\nexport PYENV_VERSION=3.12.4\n");
        std::fs::write(w.root.join("shims/python3"), edited).unwrap();
        assert_eq!(w.resolve("python3", &host(&[])), None);
    }

    #[test]
    fn a_version_without_the_program_falls_through_to_the_next() {
        let w = world();
        let h = host(&[("PYENV_VERSION", "3.11.9:3.12.4")]);
        std::fs::set_permissions(
            w.root.join("versions/3.11.9/bin/python3"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        // Root may execute anything with an execute bit; without one, nobody may.
        assert_eq!(w.resolve("python3", &h), w.version("3.12.4"));
    }
}
