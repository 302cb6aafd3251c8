//! The host environment, read once at start-up and passed down (no env reads deep in the code).
//! It also builds the two environments hookgate gives to children, both from allow-lists:
//! the *setup* environment for installs and builds (which run the package's own code:
//! `setup.py`, build hooks) gets PATH, a private HOME and TMPDIR, the locale, the index, proxy
//! and certificate settings uv and pip read, compiler settings, and nothing else; the *check*
//! environment gets PATH (venv first), the same private HOME and TMPDIR, the locale and the
//! variables the check lists in `env`. Both say "plain text" to every tool, since output goes
//! to a log, and both stop `git` from looking for a repository above the scratch root
//! ([`HostEnv::scratch_outside`] keeps that root out of the repository under test, so a check's
//! `git` never finds it). What changes resolution is listed in [`HostEnv::key_inputs`] for the
//! cache key.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::error::Error;
use crate::index::IndexSettings;

/// The system's temporary directory: where scratch directories go when `TMPDIR` is inside the
/// repository under test.
const SYSTEM_TMP: &str = "/tmp";

/// Files tools look for in the directories above the one they run in: ruff's config and the
/// ignore files its discovery honours, black's project root markers, pytest's rootdir files,
/// uv's settings and Python pin, mypy's config, a repository.
const READ_FROM_PARENTS: &[&str] = &[
    "pyproject.toml",
    "ruff.toml",
    ".ruff.toml",
    ".ignore",
    ".gitignore",
    ".git",
    ".hg",
    "setup.cfg",
    "tox.ini",
    ".flake8",
    "pytest.ini",
    ".pytest.ini",
    "conftest.py",
    "mypy.ini",
    ".mypy.ini",
    "uv.toml",
    ".python-version",
];

/// A snapshot of the variables hookgate cares about, plus all of them for allow-lists.
#[derive(Debug, Clone, Default)]
pub struct HostEnv {
    /// Every variable, lossily decoded.
    pub vars: BTreeMap<String, String>,
    /// Check names from `HOOKGATE_SKIP` (comma-separated).
    pub skip: Vec<String>,
    /// `HOOKGATE_PYTHON`: the interpreter to build venvs from.
    pub python: Option<String>,
    /// `HOOKGATE_UV`: the uv binary to use (`none` disables uv).
    pub uv: Option<String>,
    /// `GIT_INDEX_FILE`, set by git for `git commit -a` and `git commit PATH`.
    pub index_file: Option<PathBuf>,
    /// Where scratch directories go (`TMPDIR`, else `/tmp`).
    pub tmp_root: PathBuf,
    /// The cache's size bound in bytes (`HOOKGATE_CACHE_MAX_MB`, default 2048 MiB).
    pub cache_max_bytes: u64,
    /// Whether file-local tools reuse per-file results (`HOOKGATE_FILE_CACHE=0` turns it off).
    pub file_cache: bool,
    /// `GIT_DIR`: the repository git names (set by git for hooks, or by the user).
    pub git_dir: Option<PathBuf>,
    /// `GIT_WORK_TREE`: the work tree git names (`git --work-tree`, exported to hooks).
    pub work_tree: Option<PathBuf>,
    /// `HOOKGATE_ALLOW_ENV` (comma-separated): secret-looking variables the person running
    /// hookgate lets a check have when the check lists them in `env`.
    pub allow_env: Vec<String>,
}

/// What a variable of the setup environment is for, which decides whether it is a key input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Changes what gets resolved or installed: a key input, by value.
    Resolution,
    /// Names files (space-separated) whose content changes resolution: a key input, by the
    /// files' content (a path on this machine would make the key unportable).
    ResolutionFiles,
    /// Changes the code a build compiles (`-DNDEBUG` changes what the tests see): a key input.
    Compiler,
    /// How to reach the index or the toolchain (proxies, certificates, credentials, search
    /// paths, timeouts): the same packages either way, so not a key input.
    Transport,
}

/// The setup environment's allow-list beyond PATH, HOME, TMPDIR and the locale. uv's names are
/// from its environment reference (crates/uv-static/src/env_vars.rs); pip reads `PIP_<OPTION>`
/// for each of its options; the compiler list follows tox's default `pass_env`.
const SETUP_VARS: &[(&str, Role)] = &[
    // uv: where packages come from and which ones it picks.
    ("UV_DEFAULT_INDEX", Role::Resolution),
    ("UV_INDEX", Role::Resolution),
    ("UV_INDEX_URL", Role::Resolution),
    ("UV_EXTRA_INDEX_URL", Role::Resolution),
    ("UV_FIND_LINKS", Role::Resolution),
    ("UV_INDEX_STRATEGY", Role::Resolution),
    ("UV_EXCLUDE_NEWER", Role::Resolution),
    ("UV_PRERELEASE", Role::Resolution),
    ("UV_RESOLUTION", Role::Resolution),
    ("UV_NO_BINARY", Role::Resolution),
    ("UV_NO_BINARY_PACKAGE", Role::Resolution),
    ("UV_NO_BUILD", Role::Resolution),
    ("UV_NO_BUILD_PACKAGE", Role::Resolution),
    ("UV_NO_CONFIG", Role::Resolution),
    ("UV_OFFLINE", Role::Resolution),
    ("UV_CONSTRAINT", Role::ResolutionFiles),
    ("UV_OVERRIDE", Role::ResolutionFiles),
    ("UV_BUILD_CONSTRAINT", Role::ResolutionFiles),
    ("UV_CONFIG_FILE", Role::ResolutionFiles),
    // uv: how it reaches the index.
    ("UV_KEYRING_PROVIDER", Role::Transport),
    ("UV_NATIVE_TLS", Role::Transport),
    ("UV_SYSTEM_CERTS", Role::Transport),
    ("UV_INSECURE_HOST", Role::Transport),
    ("UV_HTTP_TIMEOUT", Role::Transport),
    ("UV_HTTP_RETRIES", Role::Transport),
    ("UV_NO_CACHE", Role::Transport),
    ("UV_LINK_MODE", Role::Transport),
    // pip (the fallback installer).
    ("PIP_INDEX_URL", Role::Resolution),
    ("PIP_EXTRA_INDEX_URL", Role::Resolution),
    ("PIP_FIND_LINKS", Role::Resolution),
    ("PIP_NO_INDEX", Role::Resolution),
    ("PIP_PRE", Role::Resolution),
    ("PIP_ONLY_BINARY", Role::Resolution),
    ("PIP_NO_BINARY", Role::Resolution),
    ("PIP_CONSTRAINT", Role::ResolutionFiles),
    ("PIP_CONFIG_FILE", Role::ResolutionFiles),
    ("PIP_CERT", Role::Transport),
    ("PIP_CLIENT_CERT", Role::Transport),
    ("PIP_TRUSTED_HOST", Role::Transport),
    ("PIP_PROXY", Role::Transport),
    ("PIP_TIMEOUT", Role::Transport),
    ("PIP_RETRIES", Role::Transport),
    ("PIP_KEYRING_PROVIDER", Role::Transport),
    ("PIP_NO_CACHE_DIR", Role::Transport),
    // Network: proxies (both spellings are in use) and certificates.
    ("HTTP_PROXY", Role::Transport),
    ("HTTPS_PROXY", Role::Transport),
    ("ALL_PROXY", Role::Transport),
    ("NO_PROXY", Role::Transport),
    ("http_proxy", Role::Transport),
    ("https_proxy", Role::Transport),
    ("all_proxy", Role::Transport),
    ("no_proxy", Role::Transport),
    ("SSL_CERT_FILE", Role::Transport),
    ("SSL_CERT_DIR", Role::Transport),
    ("SSL_CLIENT_CERT", Role::Transport),
    ("REQUESTS_CA_BUNDLE", Role::Transport),
    ("CURL_CA_BUNDLE", Role::Transport),
    // Builds of C extensions: flags change the compiled code; search paths only find it.
    ("CC", Role::Compiler),
    ("CXX", Role::Compiler),
    ("CFLAGS", Role::Compiler),
    ("CXXFLAGS", Role::Compiler),
    ("CPPFLAGS", Role::Compiler),
    ("LDFLAGS", Role::Compiler),
    ("CPP", Role::Transport),
    ("LDSHARED", Role::Transport),
    ("AR", Role::Transport),
    ("ARCHFLAGS", Role::Transport),
    ("MACOSX_DEPLOYMENT_TARGET", Role::Transport),
    ("PKG_CONFIG", Role::Transport),
    ("PKG_CONFIG_PATH", Role::Transport),
    ("PKG_CONFIG_SYSROOT_DIR", Role::Transport),
    ("LD_LIBRARY_PATH", Role::Transport),
    // Reproducible builds: timestamps in archives, not behaviour.
    ("SOURCE_DATE_EPOCH", Role::Transport),
];

/// What every tool reads to decide on colour and progress output: logs are plain text.
/// (`NO_COLOR` alone is not enough: twine forces rich into terminal mode, which keeps its
/// styles unless `TERM` is dumb.)
const PLAIN_OUTPUT: &[(&str, &str)] = &[
    ("NO_COLOR", "1"),
    ("TERM", "dumb"),
    ("PY_COLORS", "0"),
    ("PYTHON_COLORS", "0"),
    ("CLICOLOR", "0"),
    ("UV_NO_PROGRESS", "1"),
    ("PIP_NO_COLOR", "1"),
    ("PIP_PROGRESS_BAR", "off"),
];

/// Variables that force colour or a terminal whatever their value (rich treats even
/// `FORCE_COLOR=0` as "force"): never passed, even when a check lists them.
const FORCE_COLOUR: &[&str] = &["FORCE_COLOR", "CLICOLOR_FORCE", "TTY_COMPATIBLE", "TTY_INTERACTIVE"];

/// User-level installer configuration, as a path under HOME: copied into the private HOME so
/// uv and pip still read it (uv's `--config-file` would replace the project's own config).
const INSTALLER_CONFIGS: &[&str] = &[".config/uv/uv.toml", ".config/pip/pip.conf", ".pip/pip.conf"];

/// A key input taken from the host, in a form that needs no absolute path of this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyInput {
    /// A value, keyed by itself.
    Value(String),
    /// Space-separated files or URLs: absolute files are keyed by content, the rest by value.
    Files(String),
    /// A file, keyed by its content.
    File(PathBuf),
}

impl HostEnv {
    /// Reads the process environment.
    pub fn from_process() -> HostEnv {
        let vars: BTreeMap<String, String> = std::env::vars_os()
            .map(|(k, v)| (k.to_string_lossy().into_owned(), v.to_string_lossy().into_owned()))
            .collect();
        Self::from_vars(vars)
    }

    /// Builds the snapshot from explicit variables (tests use this).
    pub fn from_vars(vars: BTreeMap<String, String>) -> HostEnv {
        let get = |k: &str| vars.get(k).filter(|v| !v.is_empty()).cloned();
        let list = |k: &str| -> Vec<String> {
            get(k)
                .map(|s| s.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect())
                .unwrap_or_default()
        };
        HostEnv {
            skip: list("HOOKGATE_SKIP"),
            allow_env: list("HOOKGATE_ALLOW_ENV"),
            python: get("HOOKGATE_PYTHON"),
            uv: get("HOOKGATE_UV"),
            index_file: get("GIT_INDEX_FILE").map(PathBuf::from),
            tmp_root: get("TMPDIR").map_or_else(|| PathBuf::from(SYSTEM_TMP), PathBuf::from),
            git_dir: get("GIT_DIR").map(PathBuf::from),
            work_tree: get("GIT_WORK_TREE").map(PathBuf::from),
            cache_max_bytes: get("HOOKGATE_CACHE_MAX_MB")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(2048)
                .saturating_mul(1024 * 1024),
            file_cache: get("HOOKGATE_FILE_CACHE")
                .is_none_or(|v| !matches!(v.trim(), "0" | "false" | "no" | "off")),
            vars,
        }
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// `PATH`, or a conventional default when unset.
    pub fn path(&self) -> &str {
        self.get("PATH").unwrap_or("/usr/local/bin:/usr/bin:/bin")
    }

    /// What the package-index client needs from the environment: proxies (the lowercase
    /// spelling first, as curl and Python's urllib read them), an extra CA bundle, and the
    /// netrc file (`NETRC`, else `~/.netrc`).
    pub fn index_settings(&self) -> IndexSettings {
        let first = |names: &[&str]| {
            names.iter().find_map(|n| self.get(n).filter(|v| !v.trim().is_empty())).map(str::to_string)
        };
        IndexSettings {
            https_proxy: first(&["https_proxy", "HTTPS_PROXY"]),
            http_proxy: first(&["http_proxy", "HTTP_PROXY"]),
            no_proxy: first(&["no_proxy", "NO_PROXY"]),
            ssl_cert_file: first(&["SSL_CERT_FILE"]).map(PathBuf::from),
            netrc: first(&["NETRC"])
                .map(PathBuf::from)
                .or_else(|| first(&["HOME"]).map(|home| Path::new(&home).join(".netrc"))),
        }
    }

    /// The environment for hookgate's own `git` plumbing (no package code runs): the user's,
    /// as [`HostEnv::interpreter_env`] keeps it (the real HOME, for `~/.gitconfig`), plus git's
    /// configuration variables (`git -c` reaches a hook as `GIT_CONFIG_PARAMETERS`). Callers
    /// name the repository, work tree and index explicitly.
    pub fn git_env(&self) -> BTreeMap<String, String> {
        let mut env = self.interpreter_env();
        for (k, v) in &self.vars {
            if k.starts_with("GIT_CONFIG") || k == "GIT_EXEC_PATH" {
                env.insert(k.clone(), v.clone());
            }
        }
        env
    }

    /// A file in the scratch root or a directory above it that a tool run in a checkout would
    /// read as the project's own (ruff's, black's, pytest's, uv's config, `.ignore`, a `.git`)
    /// and that another user put there: `/tmp` lets anyone create files. Only directories
    /// others can write are looked in, and only files neither this user nor root owns count.
    pub fn foreign_file_above_scratch(&self) -> Option<(PathBuf, u32)> {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        let root = real_path(&self.tmp_root);
        for dir in root.ancestors() {
            let open_to_others = std::fs::metadata(dir).is_ok_and(|m| m.mode() & 0o022 != 0);
            if !open_to_others {
                continue;
            }
            for name in READ_FROM_PARENTS {
                let path = dir.join(name);
                if let Ok(m) = std::fs::symlink_metadata(&path)
                    && m.uid() != me
                    && m.uid() != 0
                {
                    return Some((path, m.uid()));
                }
            }
        }
        None
    }

    /// This environment with its scratch root outside `repo_dirs` (the work tree and git dirs
    /// of the repository under test), plus a note to show when `TMPDIR` had to be left: a
    /// scratch directory inside the repository would let a check's `git` find the real
    /// repository, and `watch` would see every check's files as edits. Refuses when the
    /// system's temporary directory is inside too.
    pub fn scratch_outside(&self, repo_dirs: &[&Path]) -> Result<(Cow<'_, HostEnv>, Option<String>), Error> {
        let real_dirs: Vec<PathBuf> = repo_dirs.iter().map(|d| real_path(d)).collect();
        let inside = |p: &Path| {
            let p = real_path(p);
            real_dirs.iter().find(|d| p.starts_with(d)).cloned()
        };
        let Some(repo_dir) = inside(&self.tmp_root) else { return Ok((Cow::Borrowed(self), None)) };
        if let Some(dir) = inside(Path::new(SYSTEM_TMP)) {
            return Err(Error::Environment(format!(
                "the scratch directory would be inside the repository ({}): TMPDIR={} and {SYSTEM_TMP} \
                 both are, and a check's `git` would see your real repository; set TMPDIR to a \
                 directory outside it",
                dir.display(),
                self.tmp_root.display()
            )));
        }
        let note = format!(
            "TMPDIR ({}) is inside the repository ({}), where a check's `git` would find it: \
             scratch directories go to {SYSTEM_TMP} instead",
            self.tmp_root.display(),
            repo_dir.display()
        );
        let moved = HostEnv { tmp_root: PathBuf::from(SYSTEM_TMP), ..self.clone() };
        Ok((Cow::Owned(moved), Some(note)))
    }

    /// The environment for installs and builds: the allow-list ([`SETUP_VARS`], the locale,
    /// `UV_INDEX_<NAME>_USERNAME`/`_PASSWORD`), a private `home` and `tmp`, the locations the
    /// real HOME implied (uv's and pip's caches, `~/.netrc`, the Rust toolchain), the variables
    /// of `passed` (the check's own `env`, already cleared of withheld secrets), and plain output.
    pub fn setup_env(&self, home: &Path, tmp: &Path, passed: &[String]) -> BTreeMap<String, String> {
        let mut env = self.base_env(home, tmp);
        for (k, v) in &self.vars {
            if is_setup_var(k) {
                env.insert(k.clone(), v.clone());
            }
        }
        env.extend(self.locations(true));
        self.finish(env, passed)
    }

    /// The scrubbed environment a check's own commands run in: PATH with the venv first, the
    /// private `home` and `tmp`, the locale, uv's and pip's caches and the Rust toolchain, the
    /// variables of `passed`, and plain output.
    pub fn check_env(
        &self,
        venv: &Path,
        home: &Path,
        tmp: &Path,
        passed: &[String],
    ) -> BTreeMap<String, String> {
        let mut env = self.base_env(home, tmp);
        env.insert("PATH".to_string(), format!("{}:{}", venv.join("bin").display(), self.path()));
        env.insert("VIRTUAL_ENV".to_string(), venv.display().to_string());
        env.extend(self.locations(false));
        self.finish(env, passed)
    }

    /// The environment for asking the user's own interpreter about itself (no package code
    /// runs): the user's, so a version manager's shim still finds its versions, without git's
    /// hook variables, another environment's Python settings or anything that looks secret.
    pub fn interpreter_env(&self) -> BTreeMap<String, String> {
        self.vars
            .iter()
            .filter(|(k, v)| {
                !k.starts_with("GIT_")
                    && !matches!(
                        k.as_str(),
                        "VIRTUAL_ENV" | "PYTHONPATH" | "PYTHONHOME" | "CONDA_PREFIX" | "PYTHONSTARTUP"
                    )
                    && !crate::secret::looks_secret(k, v)
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Makes the private HOME at `home`, holding copies of the user-level uv and pip
    /// configuration (index settings live there), so installs resolve as they do for the user.
    pub fn prepare_home(&self, home: &Path) -> Result<()> {
        std::fs::create_dir_all(home).with_context(|| format!("creating {}", home.display()))?;
        for (rel, src) in self.installer_configs() {
            let dest = home.join(rel);
            if let Some(dir) = dest.parent() {
                std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            }
            std::fs::copy(&src, &dest).with_context(|| format!("copying {}", src.display()))?;
        }
        Ok(())
    }

    /// What the environments pass that changes which packages get installed or what a build
    /// compiles, by name: the locale (checks see it), the resolution and compiler variables of
    /// the setup environment, and the user-level installer configuration. Cache keys cover them.
    pub fn key_inputs(&self) -> BTreeMap<String, KeyInput> {
        let mut inputs = BTreeMap::new();
        for (k, v) in &self.vars {
            if is_locale(k) {
                inputs.insert(k.clone(), KeyInput::Value(v.clone()));
            }
        }
        for (name, role) in SETUP_VARS {
            let Some(v) = self.get(name) else { continue };
            let input = match role {
                Role::Resolution | Role::Compiler => KeyInput::Value(v.to_string()),
                Role::ResolutionFiles => KeyInput::Files(v.to_string()),
                Role::Transport => continue,
            };
            inputs.insert(name.to_string(), input);
        }
        for (rel, src) in self.installer_configs() {
            inputs.insert(format!("~/{rel}"), KeyInput::File(src));
        }
        inputs
    }

    /// PATH, the private HOME and TMPDIR, the locale, and a ceiling for `git` at the scratch
    /// root: what both environments start from.
    fn base_env(&self, home: &Path, tmp: &Path) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        env.insert("PATH".to_string(), self.path().to_string());
        env.insert("HOME".to_string(), home.display().to_string());
        env.insert("TMPDIR".to_string(), tmp.display().to_string());
        // A build's or check's `git` finds no repository above its scratch directory.
        env.insert("GIT_CEILING_DIRECTORIES".to_string(), self.tmp_root.display().to_string());
        for (k, v) in &self.vars {
            if is_locale(k) {
                env.insert(k.clone(), v.clone());
            }
        }
        env
    }

    /// Adds the check's passed variables, then the plain-output settings, which nothing
    /// overrides: a log is plain text.
    fn finish(&self, mut env: BTreeMap<String, String>, passed: &[String]) -> BTreeMap<String, String> {
        for k in passed {
            if let Some(v) = self.get(k) {
                env.insert(k.clone(), v.to_string());
            }
        }
        for k in FORCE_COLOUR {
            env.remove(*k);
        }
        env.extend(PLAIN_OUTPUT.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        env
    }

    /// The user's cache directory: `$XDG_CACHE_HOME`, else `~/.cache`.
    pub fn user_cache_dir(&self) -> Option<PathBuf> {
        self.xdg("XDG_CACHE_HOME")
            .map(Path::to_path_buf)
            .or_else(|| self.real_home().map(|h| h.join(".cache")))
    }

    /// The user's real HOME, when set to an absolute path.
    fn real_home(&self) -> Option<&Path> {
        self.get("HOME").map(Path::new).filter(|p| p.is_absolute())
    }

    /// An XDG base directory variable, when set to an absolute path (the spec ignores others).
    fn xdg(&self, name: &str) -> Option<&Path> {
        self.get(name).map(Path::new).filter(|p| p.is_absolute())
    }

    /// Where things the real HOME implied live, so a private HOME loses none of them: uv's
    /// and pip's caches (installs stay fast; computed as each tool computes its default), the
    /// Rust toolchain (rustup's proxies need it to build Rust extensions) and, for installs
    /// only (`with_credentials`), `~/.netrc` with the index credentials.
    fn locations(&self, with_credentials: bool) -> Vec<(String, String)> {
        let home = self.real_home();
        let cache_home =
            self.xdg("XDG_CACHE_HOME").map(Path::to_path_buf).or_else(|| home.map(|h| h.join(".cache")));
        let mut out = Vec::new();
        let mut put = |name: &str, explicit: Option<&str>, default: Option<PathBuf>| {
            if let Some(v) = explicit.map(str::to_string).or_else(|| default.map(|p| p.display().to_string()))
            {
                out.push((name.to_string(), v));
            }
        };
        put("UV_CACHE_DIR", self.get("UV_CACHE_DIR"), cache_home.as_ref().map(|c| c.join("uv")));
        let pip_cache = match cfg!(target_os = "macos") {
            true => home.map(|h| h.join("Library/Caches/pip")),
            false => cache_home.as_ref().map(|c| c.join("pip")),
        };
        put("PIP_CACHE_DIR", self.get("PIP_CACHE_DIR"), pip_cache);
        let existing = |rel: &str| home.map(|h| h.join(rel)).filter(|p| p.exists());
        put("CARGO_HOME", self.get("CARGO_HOME"), existing(".cargo"));
        put("RUSTUP_HOME", self.get("RUSTUP_HOME"), existing(".rustup"));
        if with_credentials {
            put("NETRC", self.get("NETRC"), existing(".netrc"));
        }
        out
    }

    /// The user-level uv and pip configuration files that exist: (place under HOME, real path).
    fn installer_configs(&self) -> Vec<(&'static str, PathBuf)> {
        let home = self.real_home();
        let config_home =
            self.xdg("XDG_CONFIG_HOME").map(Path::to_path_buf).or_else(|| home.map(|h| h.join(".config")));
        INSTALLER_CONFIGS
            .iter()
            .filter_map(|rel| {
                let src = match rel.strip_prefix(".config/") {
                    Some(sub) => config_home.as_ref()?.join(sub),
                    None => home?.join(rel),
                };
                src.is_file().then_some((*rel, src))
            })
            .collect()
    }
}

/// `path` made absolute with symlinks resolved as far as it exists (`TMPDIR` may not exist yet).
fn real_path(path: &Path) -> PathBuf {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut existing = abs.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            return rest.iter().rev().fold(real, |p, c| p.join(c));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return abs,
        }
    }
}

/// `LANG`, `LANGUAGE` or `LC_*`.
fn is_locale(name: &str) -> bool {
    name == "LANG" || name == "LANGUAGE" || name.starts_with("LC_")
}

/// Whether the setup environment passes `name` from the host.
fn is_setup_var(name: &str) -> bool {
    SETUP_VARS.iter().any(|(n, _)| *n == name) || is_index_credential(name)
}

/// uv's credentials for a named index: `UV_INDEX_<NAME>_USERNAME` / `_PASSWORD`.
fn is_index_credential(name: &str) -> bool {
    name.strip_prefix("UV_INDEX_")
        .and_then(|rest| rest.strip_suffix("_USERNAME").or_else(|| rest.strip_suffix("_PASSWORD")))
        .is_some_and(|index| !index.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(pairs: &[(&str, &str)]) -> HostEnv {
        HostEnv::from_vars(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn check_env_keeps_only_the_passed_variables() {
        let h = host(&[("PATH", "/bin"), ("HOME", "/h"), ("SECRET_TOKEN", "x"), ("KEEP", "y")]);
        let env = h.check_env(Path::new("/v"), Path::new("/s/home"), Path::new("/t"), &["KEEP".into()]);
        assert_eq!(env["PATH"], "/v/bin:/bin");
        assert_eq!(env["HOME"], "/s/home");
        assert_eq!(env["KEEP"], "y");
        assert!(!env.contains_key("SECRET_TOKEN"));
    }

    #[test]
    fn setup_env_is_an_allow_list() {
        let h = host(&[
            ("PATH", "/bin"),
            ("HOME", "/h"),
            ("LANG", "C.UTF-8"),
            ("LC_ALL", "C"),
            ("GIT_INDEX_FILE", "x"),
            ("SSH_AUTH_SOCK", "/run/agent"),
            ("GH_PAT", "p"),
            ("CI_JOB_JWT", "j"),
            ("DATABASE_URL", "postgres://u:p@h/db"),
            ("AWS_ACCESS_KEY_ID", "a"),
            ("MYSQL_PWD", "m"),
            ("TWINE_PASSWORD", "t"),
            ("UV_INDEX_URL", "https://u:p@idx/simple"),
            ("UV_INDEX_PRIVATE_PASSWORD", "keep"),
            ("https_proxy", "http://proxy:3128"),
            ("SSL_CERT_FILE", "/etc/ssl/cert.pem"),
            ("CFLAGS", "-O2"),
            ("FORCE_COLOR", "1"),
            ("SOMETHING_ELSE", "x"),
        ]);
        let env = h.setup_env(Path::new("/s/home"), Path::new("/s/tmp"), &[]);
        let kept: Vec<&str> = env.keys().map(String::as_str).collect();
        assert_eq!(
            kept,
            [
                "CFLAGS",
                "CLICOLOR",
                "GIT_CEILING_DIRECTORIES",
                "HOME",
                "LANG",
                "LC_ALL",
                "NO_COLOR",
                "PATH",
                "PIP_CACHE_DIR",
                "PIP_NO_COLOR",
                "PIP_PROGRESS_BAR",
                "PYTHON_COLORS",
                "PY_COLORS",
                "SSL_CERT_FILE",
                "TERM",
                "TMPDIR",
                "UV_CACHE_DIR",
                "UV_INDEX_PRIVATE_PASSWORD",
                "UV_INDEX_URL",
                "UV_NO_PROGRESS",
                "https_proxy",
            ]
        );
        assert_eq!((env["HOME"].as_str(), env["TMPDIR"].as_str()), ("/s/home", "/s/tmp"));
        assert_eq!(h.index_file.as_deref(), Some(Path::new("x")));
    }

    #[test]
    fn a_private_home_keeps_the_users_uv_cache() {
        let h = host(&[("HOME", "/h")]);
        let env = h.setup_env(Path::new("/p"), Path::new("/t"), &[]);
        assert_eq!(env["UV_CACHE_DIR"], "/h/.cache/uv");
        let h = host(&[("HOME", "/h"), ("XDG_CACHE_HOME", "/c")]);
        assert_eq!(h.setup_env(Path::new("/p"), Path::new("/t"), &[])["UV_CACHE_DIR"], "/c/uv");
        let h = host(&[("HOME", "/h"), ("XDG_CACHE_HOME", "/c"), ("UV_CACHE_DIR", "/u")]);
        assert_eq!(h.check_env(Path::new("/v"), Path::new("/p"), Path::new("/t"), &[])["UV_CACHE_DIR"], "/u");
    }

    #[test]
    fn colour_forcing_never_passes_and_plain_output_wins() {
        let h = host(&[("FORCE_COLOR", "1"), ("TERM", "xterm-256color"), ("NO_COLOR", "")]);
        let passed = ["FORCE_COLOR".to_string(), "TERM".to_string()];
        for env in [
            h.setup_env(Path::new("/p"), Path::new("/t"), &passed),
            h.check_env(Path::new("/v"), Path::new("/p"), Path::new("/t"), &passed),
        ] {
            assert!(!env.contains_key("FORCE_COLOR"));
            assert_eq!((env["TERM"].as_str(), env["NO_COLOR"].as_str()), ("dumb", "1"));
        }
    }

    #[test]
    fn key_inputs_are_what_changes_resolution() {
        let h = host(&[
            ("LANG", "C.UTF-8"),
            ("UV_INDEX_URL", "https://idx/simple"),
            ("UV_CONSTRAINT", "/abs/c.txt rel.txt"),
            ("HTTPS_PROXY", "http://proxy"),
            ("UV_INDEX_X_PASSWORD", "p"),
            ("CFLAGS", "-DNDEBUG"),
        ]);
        let inputs = h.key_inputs();
        let names: Vec<&str> = inputs.keys().map(String::as_str).collect();
        assert_eq!(names, ["CFLAGS", "LANG", "UV_CONSTRAINT", "UV_INDEX_URL"]);
        assert_eq!(inputs["UV_CONSTRAINT"], KeyInput::Files("/abs/c.txt rel.txt".into()));
    }

    #[test]
    fn user_level_installer_config_is_copied_into_the_private_home() {
        let real = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(real.path().join(".config/uv")).unwrap();
        std::fs::write(real.path().join(".config/uv/uv.toml"), "index-url = 'https://idx/'\n").unwrap();
        let h = host(&[("HOME", real.path().to_str().unwrap())]);
        let private = tempfile::tempdir().unwrap();
        h.prepare_home(&private.path().join("home")).unwrap();
        let copied = std::fs::read_to_string(private.path().join("home/.config/uv/uv.toml")).unwrap();
        assert!(copied.contains("https://idx/"));
        assert!(h.key_inputs().contains_key("~/.config/uv/uv.toml"));
    }

    #[test]
    fn scratch_root_inside_the_repository_moves_to_the_system_tmp() {
        let repo = tempfile::tempdir().unwrap();
        let inside = repo.path().join("not-yet/created");
        let h = host(&[("TMPDIR", inside.to_str().unwrap())]);
        let (moved, note) = h.scratch_outside(&[repo.path()]).unwrap();
        assert_eq!(moved.tmp_root, Path::new(SYSTEM_TMP));
        assert!(note.unwrap().contains("inside the repository"));
        assert_eq!(
            moved.setup_env(Path::new("/h"), Path::new("/t"), &[])["GIT_CEILING_DIRECTORIES"],
            SYSTEM_TMP
        );

        let elsewhere = tempfile::tempdir().unwrap();
        let h = host(&[("TMPDIR", elsewhere.path().to_str().unwrap())]);
        let (kept, note) = h.scratch_outside(&[repo.path()]).unwrap();
        assert_eq!(kept.tmp_root, elsewhere.path());
        assert!(note.is_none());
        assert!(h.scratch_outside(&[Path::new("/")]).is_err(), "/tmp is inside / too");
    }

    #[test]
    fn git_env_keeps_config_variables_only() {
        let h = host(&[("GIT_DIR", "d"), ("GIT_CONFIG_PARAMETERS", "'a.b'='c'"), ("GIT_INDEX_FILE", "i")]);
        let env = h.git_env();
        let git: Vec<&str> = env.keys().map(String::as_str).filter(|k| k.starts_with("GIT_")).collect();
        assert_eq!(git, ["GIT_CONFIG_PARAMETERS"]);
        assert_eq!(h.git_dir.as_deref(), Some(Path::new("d")));
    }

    #[test]
    fn index_settings_prefer_lowercase_proxies_and_default_netrc_to_home() {
        let h = host(&[
            ("HTTPS_PROXY", "http://upper:1"),
            ("https_proxy", "http://lower:1"),
            ("HTTP_PROXY", "http://upper:2"),
            ("no_proxy", ""),
            ("NO_PROXY", "localhost"),
            ("SSL_CERT_FILE", "/etc/corp.pem"),
            ("HOME", "/home/u"),
        ]);
        let s = h.index_settings();
        assert_eq!(s.https_proxy.as_deref(), Some("http://lower:1"));
        assert_eq!(s.http_proxy.as_deref(), Some("http://upper:2"));
        assert_eq!(s.no_proxy.as_deref(), Some("localhost"));
        assert_eq!(s.ssl_cert_file.as_deref(), Some(Path::new("/etc/corp.pem")));
        assert_eq!(s.netrc.as_deref(), Some(Path::new("/home/u/.netrc")));
        let n = host(&[("NETRC", "/x/netrc"), ("HOME", "/home/u")]).index_settings();
        assert_eq!(n.netrc.as_deref(), Some(Path::new("/x/netrc")));
        assert_eq!(host(&[]).index_settings().netrc, None);
    }

    #[test]
    fn lists_are_split_and_trimmed() {
        assert_eq!(host(&[("HOOKGATE_SKIP", "lint, format,,")]).skip, ["lint", "format"]);
        assert_eq!(host(&[("HOOKGATE_ALLOW_ENV", "GH_PAT ,MYSQL_PWD")]).allow_env, ["GH_PAT", "MYSQL_PWD"]);
    }
}
