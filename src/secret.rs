//! What counts as a secret, and how a value may enter a cache key without leaking. A check's
//! `env` list comes from the tree, i.e. from whoever wrote the branch, so a variable that
//! looks like a credential (by its name, or a URL carrying `user:pass@`) reaches a check only
//! when the person running hookgate allows it outside the tree. Values enter keys hashed:
//! ordinary ones with plain SHA-256 (portable: two machines agree), anything that may hold a
//! credential with HMAC-SHA256 under a per-repository random salt
//! (`<git-common-dir>/hookgate/salt`, mode 0600), so a record never holds a secret's value
//! or a hash anyone could check guesses against.

use std::cell::OnceCell;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Parts of a name that mark a credential wherever they appear (`AWS_SECRET_ACCESS_KEY`).
const SECRET_SUBSTRINGS: &[&str] = &[
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "PWD",
    "KEY",
    "JWT",
    "CREDENTIAL",
    "PRIVATE",
    "COOKIE",
];

/// Words (between underscores) that mark a credential only as a whole word: `GH_PAT`,
/// `DB_PASS` and `SSH_AUTH_SOCK`, but not `PATH`, `PASSTHROUGH` or `GIT_AUTHOR_NAME`.
const SECRET_WORDS: &[&str] = &["PAT", "PASS", "AUTH", "OAUTH"];

/// Prefixes of the upload tools' credentials.
const SECRET_PREFIXES: &[&str] = &["TWINE_", "UV_PUBLISH_"];

/// Names that contain a marker but hold no secret.
const NOT_SECRET: &[&str] = &["PWD", "OLDPWD"];

/// Whether the variable `name=value` looks like a credential: by its name, or by a value that
/// is a URL with userinfo (`postgres://user:pass@host/db`, an index URL with a token).
pub fn looks_secret(name: &str, value: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    if NOT_SECRET.contains(&upper.as_str()) {
        return has_userinfo(value);
    }
    SECRET_SUBSTRINGS.iter().any(|s| upper.contains(s))
        || upper.split('_').any(|word| SECRET_WORDS.contains(&word))
        || SECRET_PREFIXES.iter().any(|p| upper.starts_with(p))
        || has_userinfo(value)
}

/// Whether `value` holds a URL with userinfo (`scheme://user@` or `scheme://user:pass@`),
/// anywhere in it (lists of URLs, `name=url` pairs).
pub fn has_userinfo(value: &str) -> bool {
    value.match_indices("://").any(|(at, sep)| {
        let authority = value[at + sep.len()..].split(['/', '?', '#', ' ', ',', '\n']).next().unwrap_or("");
        authority.contains('@')
    })
}

/// Hashes values for cache keys: plainly, or keyed with the repository's salt, which is read
/// (or created) only when a keyed hash is first needed, so a key with no secret in it costs no
/// file access.
pub struct KeyHasher {
    salt_path: PathBuf,
    salt: OnceCell<Vec<u8>>,
}

impl KeyHasher {
    /// A hasher whose salt lives in `cache_root` (`<git-common-dir>/hookgate`).
    pub fn new(cache_root: &Path) -> KeyHasher {
        KeyHasher { salt_path: cache_root.join("salt"), salt: OnceCell::new() }
    }

    /// `sha256:<hex>` of `bytes`: for values that hold no credential (portable across machines).
    pub fn plain(bytes: &[u8]) -> String {
        format!("sha256:{}", crate::plan::sha256_hex(bytes))
    }

    /// `hmac-sha256:<hex>` of `bytes` under the repository's salt: for values that may hold a
    /// credential (the key is then local to this repository's cache).
    pub fn keyed(&self, bytes: &[u8]) -> Result<String> {
        let salt = match self.salt.get() {
            Some(s) => s,
            None => {
                let loaded = load_or_create_salt(&self.salt_path)?;
                self.salt.get_or_init(|| loaded)
            }
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(salt).map_err(|e| anyhow!("HMAC key: {e}"))?;
        mac.update(bytes);
        Ok(format!("hmac-sha256:{}", crate::plan::hex(&mac.finalize().into_bytes())))
    }

    /// A variable's value for a key: keyed when it may hold a credential (its name looks secret,
    /// or it carries a URL with userinfo), plain otherwise.
    pub fn value(&self, name: &str, value: &str) -> Result<String> {
        match looks_secret(name, value) {
            true => self.keyed(value.as_bytes()),
            false => Ok(Self::plain(value.as_bytes())),
        }
    }
}

/// Salt length in bytes (the HMAC-SHA256 block is 64; 32 random bytes are plenty for a key).
const SALT_LEN: usize = 32;

/// Reads the salt at `path`, creating it first when absent: random bytes written to a private
/// temp file (mode 0600) beside it and linked into place without replacing, so concurrent
/// runs agree on the first salt written.
fn load_or_create_salt(path: &Path) -> Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(salt) => return check_salt(path, salt),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    let dir = path.parent().context("the salt path has a parent")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut random = [0u8; SALT_LEN];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut random))
        .context("reading random bytes from /dev/urandom for the cache salt")?;
    // tempfile creates the file with mode 0600 on Unix.
    let mut tmp = tempfile::Builder::new()
        .prefix(".salt-")
        .tempfile_in(dir)
        .with_context(|| format!("creating a temp file in {}", dir.display()))?;
    tmp.write_all(&random).and_then(|()| tmp.as_file().sync_all()).context("writing the cache salt")?;
    match tmp.persist_noclobber(path) {
        Ok(_) => Ok(random.to_vec()),
        // Another run created it first: use theirs.
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
            let salt = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            check_salt(path, salt)
        }
        Err(e) => Err(e.error).with_context(|| format!("creating {}", path.display())),
    }
}

fn check_salt(path: &Path, salt: Vec<u8>) -> Result<Vec<u8>> {
    if salt.len() != SALT_LEN {
        bail!(
            "the cache salt {} is damaged ({} bytes, expected {SALT_LEN}); delete it and run again \
             (checks whose keys hold a secret will then run once more)",
            path.display(),
            salt.len()
        );
    }
    Ok(salt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn secret_names_are_recognised() {
        for name in [
            "GITHUB_TOKEN",
            "GH_PAT",
            "CI_JOB_JWT",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "MYSQL_PWD",
            "DB_PASS",
            "SSH_AUTH_SOCK",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "TWINE_USERNAME",
            "UV_PUBLISH_URL",
            "api_key",
        ] {
            assert!(looks_secret(name, "x"), "{name} should look secret");
        }
        for name in ["PATH", "PWD", "OLDPWD", "HOME", "LANG", "GIT_AUTHOR_NAME", "HG_OUT", "PASSTHROUGH"] {
            assert!(!looks_secret(name, "x"), "{name} should not look secret");
        }
    }

    #[test]
    fn urls_with_userinfo_are_secret_whatever_the_name() {
        assert!(looks_secret("DATABASE_URL", "postgres://u:p@h/db"));
        assert!(looks_secret("PIP_INDEX_URL", "https://__token__@example/simple"));
        assert!(looks_secret("UV_INDEX", "a=https://x/simple b=https://u:p@y/simple"));
        assert!(!looks_secret("DATABASE_URL", "postgres://h/db"));
        assert!(!looks_secret("UV_INDEX_URL", "https://example/simple/?q=a@b"));
        assert!(!has_userinfo("mail me at a@b"));
    }

    #[test]
    fn keyed_hashes_use_one_private_salt_per_repository() {
        let dir = tempfile::tempdir().unwrap();
        let a = KeyHasher::new(dir.path());
        let h = a.keyed(b"s3cr3t").unwrap();
        assert!(h.starts_with("hmac-sha256:"));
        assert!(!h.contains(&crate::plan::sha256_hex(b"s3cr3t")));
        let mode = std::fs::metadata(dir.path().join("salt")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // The same repository agrees with itself; another one does not.
        assert_eq!(KeyHasher::new(dir.path()).keyed(b"s3cr3t").unwrap(), h);
        let other = tempfile::tempdir().unwrap();
        assert_ne!(KeyHasher::new(other.path()).keyed(b"s3cr3t").unwrap(), h);
    }

    #[test]
    fn a_damaged_salt_is_an_error_that_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("salt"), b"short").unwrap();
        let err = KeyHasher::new(dir.path()).keyed(b"x").unwrap_err();
        assert!(format!("{err:#}").contains("delete it"), "{err:#}");
    }

    #[test]
    fn plain_values_stay_portable() {
        let h = KeyHasher::new(Path::new("/nonexistent"));
        assert_eq!(h.value("LANG", "C.UTF-8").unwrap(), KeyHasher::plain(b"C.UTF-8"));
    }
}
