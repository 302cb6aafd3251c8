//! The host environment, read once at start-up and passed down (no env reads deep in the code).
//! It also builds the two environments hookgate gives to children: the *setup* environment for
//! uv/pip (the user's, minus git's hook variables and other Pythons' settings) and the *check*
//! environment (scrubbed to PATH, HOME, LANG, TMPDIR and the check's allow-list).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::index::IndexSettings;

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
            tmp_root: get("TMPDIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/tmp")),
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
        self.vars
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
            .collect()
    }

    /// The scrubbed environment a check runs in.
    pub fn check_env(&self, venv: &Path, tmp: &Path, allow: &[String]) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        env.insert("PATH".to_string(), format!("{}:{}", venv.join("bin").display(), self.path()));
        env.insert("VIRTUAL_ENV".to_string(), venv.display().to_string());
        env.insert("TMPDIR".to_string(), tmp.display().to_string());
        // Output goes to a log file, not a terminal: keep it free of escape codes.
        env.insert("NO_COLOR".to_string(), "1".to_string());
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
        assert_eq!(kept, ["PIP_INDEX_URL", "SSL_CERT_FILE", "UV_INDEX_PRIVATE_PASSWORD"]);
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
