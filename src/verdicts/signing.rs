//! Signing statements with an SSH key, in the format `ssh-keygen -Y sign -n hookgate` writes
//! (OpenSSH's SSHSIG, the format of git's SSH-signed commits), in process with the `ssh-key`
//! crate: verifying a shared verdict costs no process. The key is the one git config names:
//! `hookgate.signingKey`, else `user.signingKey` when `gpg.format` is `ssh`; the signer's
//! principal is `hookgate.principal`, else `user.email`. A key hookgate cannot use itself (one
//! behind a passphrase, a public key whose private half an ssh-agent holds, as git's own SSH
//! signing allows, or a security key, whose private half is the authenticator's) is handed to
//! `ssh-keygen -Y sign`, as git does: only signing, never verifying, then costs a process.
//! Verified in process: Ed25519, ECDSA (NIST P-256, P-384, P-521), RSA (`rsa-sha2-256/512`
//! signatures, as OpenSSH makes them) and the security-key kinds `sk-ssh-ed25519@openssh.com`
//! and `sk-ecdsa-sha2-nistp256@openssh.com`; not DSA ([`verifies`]). An RSA key signs through
//! `ssh-keygen`, never in process: the `rsa` crate's private-key operations have a known timing
//! side channel (RUSTSEC-2023-0071), its public-key verification does not.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use ssh_key::{Algorithm, HashAlg, LineEnding, PrivateKey, SshSig};

use crate::env::HostEnv;
use crate::error::Error;
use crate::git::Repo;
use crate::process::Cmd;

/// The SSHSIG namespace of hookgate's statements: a signature made for git commits (`git`)
/// or anything else does not verify as one of ours.
pub const NAMESPACE: &str = "hookgate";

/// A key and the principal it signs as.
pub struct Signer {
    key: Key,
    /// Who the statements say made them (as listed in `allowed_signers`).
    pub principal: String,
}

/// How a signature gets made.
enum Key {
    /// With a private key read here.
    InProcess(Box<PrivateKey>),
    /// By `ssh-keygen -Y sign -f <file>` (a passphrase it asks for on the terminal, or an agent
    /// at `SSH_AUTH_SOCK`), in this environment.
    OpenSsh { file: PathBuf, env: BTreeMap<String, String>, scratch: PathBuf },
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
        Ok(Some(Signer::from_file(&expand(&path, host), principal, host)?))
    }

    /// The key at `path`: an unencrypted Ed25519 or ECDSA OpenSSH private key is used in
    /// process (also when `path` names its `.pub` half, as `user.signingKey` often does);
    /// anything else (a passphrase, a public key whose private half is in an agent, a security
    /// key, a key file this crate cannot read) goes to `ssh-keygen`.
    pub fn from_file(path: &Path, principal: String, host: &HostEnv) -> Result<Signer> {
        if path.to_string_lossy().starts_with("key::") {
            bail!(
                "the signing key is a literal public key (`key::...`): set hookgate.signingKey to \
                 a key file (its private half, or its public half with the key in ssh-agent)"
            );
        }
        let private = match path.extension().is_some_and(|e| e == "pub") {
            true => path.with_extension(""),
            false => path.to_path_buf(),
        };
        let external = |file: &Path| {
            let mut env = host.git_env();
            // An agent's socket looks secret to the generic filter; ssh-keygen needs it.
            if let Some(sock) = host.get("SSH_AUTH_SOCK") {
                env.insert("SSH_AUTH_SOCK".into(), sock.into());
            }
            Key::OpenSsh { file: file.to_path_buf(), env, scratch: host.tmp_root.clone() }
        };
        let key = match PrivateKey::read_openssh_file(&private) {
            Ok(key) if !key.is_encrypted() && signs_in_process(&key.algorithm()) => {
                Key::InProcess(Box::new(key))
            }
            Ok(_) => external(&private),
            // A key this crate cannot read (some P-521 keys: a scalar with a leading zero byte)
            // is still OpenSSH's to use.
            Err(_) if private.is_file() => external(&private),
            Err(_) if path.is_file() && private != path => external(path),
            Err(e) => {
                return Err(anyhow::anyhow!("{e}"))
                    .with_context(|| format!("reading the signing key {}", private.display()));
            }
        };
        Ok(Signer { key, principal })
    }

    /// The armored SSHSIG signature of `message`.
    pub fn sign(&self, message: &[u8]) -> Result<String> {
        match &self.key {
            Key::InProcess(key) => {
                let sig = key
                    .sign(NAMESPACE, HashAlg::Sha512, message)
                    .map_err(|e| anyhow::anyhow!("signing: {e}"))?;
                sig.to_pem(LineEnding::LF).map_err(|e| anyhow::anyhow!("encoding a signature: {e}"))
            }
            Key::OpenSsh { file, env, scratch } => {
                let dir = tempfile::Builder::new()
                    .prefix("hookgate-sign-")
                    .tempdir_in(scratch)
                    .context("creating a directory to sign in")?;
                let input = dir.path().join("statement");
                std::fs::write(&input, message).context("writing the statement to sign")?;
                let (key, msg) = (file.display().to_string(), input.display().to_string());
                let args = ["-Y", "sign", "-n", NAMESPACE, "-f", key.as_str(), msg.as_str()];
                let out = Cmd::new("ssh-keygen", &args, dir.path(), env.clone()).output()?;
                if !out.exit.success() {
                    bail!("`ssh-keygen -Y sign -f {key}` failed ({:?}): {}", out.exit, out.stderr.trim());
                }
                let sig = std::fs::read_to_string(dir.path().join("statement.sig"))
                    .context("reading the signature ssh-keygen wrote")?;
                // What we publish must at least be a signature in our namespace.
                let parsed = parse(&sig).map_err(|why| anyhow::anyhow!("ssh-keygen's signature: {why}"))?;
                if parsed.namespace() != NAMESPACE {
                    bail!("ssh-keygen signed for namespace `{}`", parsed.namespace());
                }
                Ok(sig)
            }
        }
    }
}

/// Whether a private key of `algorithm` signs here: Ed25519 and ECDSA. A security key's
/// private half is a handle for its authenticator, which only `ssh-keygen` talks to.
fn signs_in_process(algorithm: &Algorithm) -> bool {
    matches!(algorithm, Algorithm::Ed25519 | Algorithm::Ecdsa { .. })
}

/// Whether hookgate verifies signatures of keys of `algorithm` (the features of `ssh-key` it
/// is built with): not DSA, which OpenSSH itself no longer accepts.
pub fn verifies(algorithm: &Algorithm) -> bool {
    matches!(
        algorithm,
        Algorithm::Ed25519
            | Algorithm::Ecdsa { .. }
            | Algorithm::Rsa { .. }
            | Algorithm::SkEd25519
            | Algorithm::SkEcdsaSha2NistP256
    )
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
