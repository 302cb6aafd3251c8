//! The host environment, read once at start-up and passed down (no env reads deep in the code).
//! It also builds the two environments hookgate gives to children: the *setup* environment for
//! uv/pip (the user's, minus git's hook variables and other Pythons' settings) and the *check*
//! environment (scrubbed to PATH, HOME, LANG, TMPDIR and the check's allow-list). Both stop
//! `git` from looking for a repository above the scratch root, and [`HostEnv::scratch_outside`]
//! keeps that root out of the repository under test, so a check's `git` never finds it.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::index::IndexSettings;

/// The system's temporary directory: where scratch directories go when `TMPDIR` is inside the
/// repository under test.
const SYSTEM_TMP: &str = "/tmp";

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
    /// `GIT_DIR`: the repository git names (set by git for hooks, or by the user).
    pub git_dir: Option<PathBuf>,
    /// `GIT_WORK_TREE`: the work tree git names (`git --work-tree`, exported to hooks).
    pub work_tree: Option<PathBuf>,
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
        let skip = get("HOOKGATE_SKIP")
            .map(|s| s.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect())
            .unwrap_or_default();
        HostEnv {
            skip,
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

    /// The environment for installs and builds: the user's (index URLs and their credentials,
    /// certificates, proxies, compilers), without git's hook variables, another environment's
    /// Python settings, or secrets: builds run the package's own code (`setup.py`, build hooks).
    pub fn setup_env(&self) -> BTreeMap<String, String> {
        let mut env: BTreeMap<String, String> = self
            .vars
            .iter()
            .filter(|(k, _)| {
                !k.starts_with("GIT_")
                    && !matches!(
                        k.as_str(),
                        "VIRTUAL_ENV" | "PYTHONPATH" | "PYTHONHOME" | "CONDA_PREFIX" | "PYTHONSTARTUP"
                    )
                    && !is_secret(k)
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        env.insert("GIT_CEILING_DIRECTORIES".to_string(), self.tmp_root.display().to_string());
        env
    }

    /// The environment for hookgate's own `git` plumbing: the setup environment plus git's
    /// configuration variables (`git -c` reaches a hook as `GIT_CONFIG_PARAMETERS`). Callers
    /// name the repository, work tree and index explicitly.
    pub fn git_env(&self) -> BTreeMap<String, String> {
        let mut env = self.setup_env();
        env.remove("GIT_CEILING_DIRECTORIES");
        for (k, v) in &self.vars {
            if k.starts_with("GIT_CONFIG") || k == "GIT_EXEC_PATH" {
                env.insert(k.clone(), v.clone());
            }
        }
        env
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

    /// The scrubbed environment a check runs in.
    pub fn check_env(&self, venv: &Path, tmp: &Path, allow: &[String]) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        env.insert("PATH".to_string(), format!("{}:{}", venv.join("bin").display(), self.path()));
        env.insert("VIRTUAL_ENV".to_string(), venv.display().to_string());
        env.insert("TMPDIR".to_string(), tmp.display().to_string());
        // Output goes to a log file, not a terminal: keep it free of escape codes.
        env.insert("NO_COLOR".to_string(), "1".to_string());
        // A check's `git` finds no repository above its scratch directory.
        env.insert("GIT_CEILING_DIRECTORIES".to_string(), self.tmp_root.display().to_string());
        for k in ["HOME", "LANG"] {
            if let Some(v) = self.get(k) {
                env.insert(k.to_string(), v.to_string());
            }
        }
        for k in allow {
            if let Some(v) = self.get(k) {
                env.insert(k.clone(), v.to_string());
            }
        }
        env
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

/// Whether a variable looks like a credential that installs do not need. Index credentials
/// (`UV_INDEX_*`, `UV_DEFAULT_INDEX`, `PIP_*`) stay: installing from a private index needs them.
fn is_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    if upper.starts_with("UV_INDEX") || upper.starts_with("UV_DEFAULT_INDEX") || upper.starts_with("PIP_") {
        return false;
    }
    upper.starts_with("TWINE_")
        || upper.starts_with("UV_PUBLISH_")
        || ["TOKEN", "PASSWORD", "PASSWD", "SECRET", "CREDENTIAL", "API_KEY", "PRIVATE_KEY"]
            .iter()
            .any(|s| upper.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(pairs: &[(&str, &str)]) -> HostEnv {
        HostEnv::from_vars(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn check_env_keeps_only_the_allow_list() {
        let h = host(&[("PATH", "/bin"), ("HOME", "/h"), ("SECRET_TOKEN", "x"), ("KEEP", "y")]);
        let env = h.check_env(Path::new("/v"), Path::new("/t"), &["KEEP".into()]);
        assert_eq!(env["PATH"], "/v/bin:/bin");
        assert_eq!(env["KEEP"], "y");
        assert!(!env.contains_key("SECRET_TOKEN"));
    }

    #[test]
    fn setup_env_drops_git_hook_variables() {
        let h = host(&[("GIT_INDEX_FILE", "x"), ("GIT_DIR", "y"), ("UV_INDEX_URL", "z")]);
        let env = h.setup_env();
        assert!(!env.contains_key("GIT_INDEX_FILE") && !env.contains_key("GIT_DIR"));
        assert_eq!(env["UV_INDEX_URL"], "z");
        assert_eq!(h.index_file.as_deref(), Some(Path::new("x")));
    }

    #[test]
    fn setup_env_drops_secrets_but_keeps_index_credentials() {
        let h = host(&[
            ("GITHUB_TOKEN", "t"),
            ("TWINE_USERNAME", "u"),
            ("UV_PUBLISH_TOKEN", "p"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
            ("UV_INDEX_PRIVATE_PASSWORD", "keep"),
            ("PIP_INDEX_URL", "https://u:p@example/simple"),
            ("SSL_CERT_FILE", "/etc/ssl/cert.pem"),
        ]);
        let env = h.setup_env();
        let kept: Vec<&str> = env.keys().map(String::as_str).collect();
        assert_eq!(
            kept,
            ["GIT_CEILING_DIRECTORIES", "PIP_INDEX_URL", "SSL_CERT_FILE", "UV_INDEX_PRIVATE_PASSWORD"]
        );
    }

    #[test]
    fn scratch_root_inside_the_repository_moves_to_the_system_tmp() {
        let repo = tempfile::tempdir().unwrap();
        let inside = repo.path().join("not-yet/created");
        let h = host(&[("TMPDIR", inside.to_str().unwrap())]);
        let (moved, note) = h.scratch_outside(&[repo.path()]).unwrap();
        assert_eq!(moved.tmp_root, Path::new(SYSTEM_TMP));
        assert!(note.unwrap().contains("inside the repository"));
        assert_eq!(moved.setup_env()["GIT_CEILING_DIRECTORIES"], SYSTEM_TMP);

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
    fn skip_list_is_split_and_trimmed() {
        assert_eq!(host(&[("HOOKGATE_SKIP", "lint, format,,")]).skip, ["lint", "format"]);
    }
}
