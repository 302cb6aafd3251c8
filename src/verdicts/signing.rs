//! Signing statements with an SSH key, in the format `ssh-keygen -Y sign -n hookgate` writes
//! (OpenSSH's SSHSIG, the format of git's SSH-signed commits), in process with the `ssh-key`
//! crate: verifying a shared verdict costs no process. The key is the one git config names:
//! `hookgate.signingKey`, else `user.signingKey` when `gpg.format` is `ssh`; the signer's
//! principal is `hookgate.principal`, else `user.email`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use ssh_key::{HashAlg, LineEnding, PrivateKey, SshSig};

use crate::env::HostEnv;
use crate::error::Error;
use crate::git::Repo;

/// The SSHSIG namespace of hookgate's statements: a signature made for git commits (`git`)
/// or anything else does not verify as one of ours.
pub const NAMESPACE: &str = "hookgate";

/// A private key and the principal it signs as.
pub struct Signer {
    key: PrivateKey,
    /// Who the statements say made them (as listed in `allowed_signers`).
    pub principal: String,
}

impl Signer {
    /// The signer git config describes, `None` when no signing key is configured.
    pub fn configured(repo: &Repo, host: &HostEnv) -> Result<Option<Signer>> {
        let last = |name: &str| -> Result<Option<String>> {
            Ok(repo.config_values(name)?.pop().map(|v| v.trim().to_string()).filter(|v| !v.is_empty()))
        };
        let path = match last("hookgate.signingKey")? {
            Some(p) => p,
            None if last("gpg.format")?.is_some_and(|f| f.eq_ignore_ascii_case("ssh")) => {
                match last("user.signingKey")? {
                    Some(p) => p,
                    None => return Ok(None),
                }
            }
            None => return Ok(None),
        };
        let Some(principal) = last("hookgate.principal")?.or(last("user.email")?) else {
            return Err(Error::Environment(
                "a signing key is configured but no principal: set `git config hookgate.principal \
                 you@example.org` (or user.email), as listed in the allowed_signers files"
                    .into(),
            )
            .into());
        };
        Ok(Some(Signer::from_file(&expand(&path, host), principal)?))
    }

    /// The unencrypted OpenSSH private key at `path` (or beside it, when `path` names the
    /// `.pub` half, as `user.signingKey` often does).
    pub fn from_file(path: &Path, principal: String) -> Result<Signer> {
        if path.to_string_lossy().starts_with("key::") {
            bail!(
                "the signing key is a literal public key (`key::...`), whose private half lives in \
                 an agent: hookgate signs in process and needs a key file; set hookgate.signingKey \
                 to one"
            );
        }
        let private = match path.extension().is_some_and(|e| e == "pub") {
            true => path.with_extension(""),
            false => path.to_path_buf(),
        };
        let key = PrivateKey::read_openssh_file(&private)
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| format!("reading the signing key {}", private.display()))?;
        if key.is_encrypted() {
            bail!(
                "the signing key {} is protected by a passphrase: hookgate signs in process and \
                 cannot ask for it; use a key made for signing verdicts (as CI does, from a secret)",
                private.display()
            );
        }
        Ok(Signer { key, principal })
    }

    /// The armored SSHSIG signature of `message`.
    pub fn sign(&self, message: &[u8]) -> Result<String> {
        let sig = self
            .key
            .sign(NAMESPACE, HashAlg::Sha512, message)
            .map_err(|e| anyhow::anyhow!("signing: {e}"))?;
        sig.to_pem(LineEnding::LF).map_err(|e| anyhow::anyhow!("encoding a signature: {e}"))
    }

    /// The public key, as an `allowed_signers` line would hold it.
    pub fn public_key(&self) -> Result<String> {
        self.key.public_key().to_openssh().map_err(|e| anyhow::anyhow!("encoding a public key: {e}"))
    }
}

/// Parses an armored SSHSIG signature.
pub fn parse(armored: &str) -> Result<SshSig, String> {
    SshSig::from_pem(armored).map_err(|e| format!("not an SSH signature ({e})"))
}

/// `~/x` against HOME, as git expands its path settings.
fn expand(path: &str, host: &HostEnv) -> PathBuf {
    match (path.strip_prefix("~/"), host.get("HOME")) {
        (Some(rest), Some(home)) => Path::new(home).join(rest),
        _ => PathBuf::from(path),
    }
}
