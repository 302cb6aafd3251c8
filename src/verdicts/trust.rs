//! Whom to believe. Keys come from `allowed_signers` files (git's format: principals, options,
//! key): `.hookgate/allowed_signers` in the tree of the default branch as this clone last
//! fetched it (`hookgate.trustRef`, else `refs/remotes/origin/HEAD`, `origin/main`,
//! `origin/master`), and the file git config `hookgate.allowedSignersFile` names. The policy
//! comes from the same default-branch tree (`[share]` in `hookgate.toml`, or
//! `[tool.hookgate.share]` in `pyproject.toml`): `ci-signers` are trusted for every check,
//! every principal of that tree's `allowed_signers` for the `team-checks` (not on CI, where
//! `CI` is set: a pull request's author is a teammate); and from this
//! user's git config: `hookgate.trust` principals, and every principal of
//! `hookgate.allowedSignersFile`, for every check. Nothing is ever read from the tree under
//! test: a branch cannot make its own signer trusted.

use std::collections::BTreeSet;

use anyhow::Result;
use serde::Deserialize;
use ssh_key::{Algorithm, PublicKey};

use super::signing::{NAMESPACE, parse, verifies};
use crate::env::HostEnv;
use crate::git::Repo;

/// In the default branch's tree: the team's keys.
pub const TREE_SIGNERS: &str = ".hookgate/allowed_signers";

/// One line of an `allowed_signers` file.
#[derive(Debug, Clone)]
pub struct AllowedSigner {
    /// The principals it names (exact names: patterns are not supported and match nothing).
    pub principals: Vec<String>,
    /// The key.
    pub key: PublicKey,
    /// The `namespaces="..."` option, when given.
    pub namespaces: Option<Vec<String>>,
}

/// Parses an `allowed_signers` file; lines that cannot be used are returned as problems
/// (certificate authorities and validity windows are not supported: such a line trusts no
/// one, rather than more than it says).
pub fn parse_allowed_signers(text: &str) -> (Vec<AllowedSigner>, Vec<String>) {
    let (mut signers, mut problems) = (Vec::new(), Vec::new());
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match parse_line(line) {
            Ok(s) => signers.push(s),
            Err(why) => problems.push(format!("line {}: {why}", n + 1)),
        }
    }
    (signers, problems)
}

/// Splits off the next field: a quoted one may hold spaces.
fn field(s: &str) -> Option<(String, &str)> {
    let s = s.trim_start();
    if s.is_empty() {
        return None;
    }
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => return Some((s[..i].to_string(), &s[i..])),
            _ => {}
        }
    }
    Some((s.to_string(), ""))
}

fn parse_line(line: &str) -> Result<AllowedSigner, String> {
    let (principals, rest) = field(line).ok_or("no principals")?;
    let principals: Vec<String> = principals
        .trim_matches('"')
        .split(',')
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    let (next, mut rest) = field(rest).ok_or("no key")?;
    let mut namespaces = None;
    let key_type = if is_key_type(&next) {
        next
    } else {
        for option in split_options(&next) {
            let (name, value) = option.split_once('=').unwrap_or((option.as_str(), ""));
            match name.to_ascii_lowercase().as_str() {
                "namespaces" => {
                    namespaces =
                        Some(value.trim_matches('"').split(',').map(|n| n.trim().to_string()).collect());
                }
                other => return Err(format!("option `{other}` is not supported")),
            }
        }
        let (t, r) = field(rest).ok_or("no key")?;
        rest = r;
        t
    };
    let (blob, _comment) = field(rest).ok_or("no key data")?;
    let key = PublicKey::from_openssh(&format!("{key_type} {blob}")).map_err(|e| format!("bad key: {e}"))?;
    Ok(AllowedSigner { principals, key, namespaces })
}

fn is_key_type(s: &str) -> bool {
    s.starts_with("ssh-") || s.starts_with("ecdsa-") || s.starts_with("sk-")
}

/// Comma-separated options, commas inside quotes kept.
fn split_options(s: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted) = (Vec::new(), String::new(), false);
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// The `share` table of the default branch's config.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Share {
    #[serde(default)]
    ci_signers: Vec<String>,
    #[serde(default)]
    team_checks: Vec<String>,
}

/// Who may vouch for what, and with which keys.
#[derive(Debug, Default)]
pub struct Policy {
    signers: Vec<AllowedSigner>,
    everything: BTreeSet<String>,
    team: BTreeSet<String>,
    team_checks: BTreeSet<String>,
    /// Where each part came from and what could not be used, for messages.
    pub notes: Vec<String>,
}

impl Policy {
    /// The policy of this clone (see the module doc).
    pub fn load(repo: &Repo, host: &HostEnv) -> Result<Policy> {
        let mut policy = Policy::default();
        if let Some((name, tree)) = default_branch_tree(repo)? {
            if let Some(text) = repo.read_file(tree, TREE_SIGNERS).ok().flatten() {
                let (signers, problems) = parse_allowed_signers(&text);
                for p in problems {
                    policy.notes.push(format!("{name}:{TREE_SIGNERS} {p}"));
                }
                policy.team.extend(signers.iter().flat_map(|s| s.principals.iter().cloned()));
                policy.signers.extend(signers);
            }
            let share = share_table(repo, tree).unwrap_or_else(|why| {
                policy.notes.push(format!("{name}: the share policy: {why}"));
                Share::default()
            });
            policy.everything.extend(share.ci_signers);
            // CI trusts no teammate: a pull request's author is one.
            if host.get("CI").is_none_or(str::is_empty) {
                policy.team_checks.extend(share.team_checks);
            }
        }
        if let Some(path) = repo.config_values("hookgate.allowedSignersFile")?.pop() {
            let path = match (path.strip_prefix("~/"), host.get("HOME")) {
                (Some(rest), Some(home)) => std::path::Path::new(home).join(rest),
                _ => std::path::PathBuf::from(&path),
            };
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    let (signers, problems) = parse_allowed_signers(&text);
                    for p in problems {
                        policy.notes.push(format!("{} {p}", path.display()));
                    }
                    policy.everything.extend(signers.iter().flat_map(|s| s.principals.iter().cloned()));
                    policy.signers.extend(signers);
                }
                Err(e) => policy.notes.push(format!("hookgate.allowedSignersFile {}: {e}", path.display())),
            }
        }
        policy
            .everything
            .extend(repo.config_values("hookgate.trust")?.into_iter().map(|p| p.trim().to_string()));
        Ok(policy)
    }

    /// Whether no one at all is trusted (then shared verdicts are not even looked at).
    pub fn is_empty(&self) -> bool {
        self.signers.is_empty() || (self.everything.is_empty() && self.team_checks.is_empty())
    }

    /// Whether `principal` may vouch for `check`.
    pub fn may_vouch(&self, principal: &str, check: &str) -> bool {
        self.everything.contains(principal)
            || (self.team.contains(principal) && self.team_checks.contains(check))
    }

    /// Checks that `armored` is a valid signature of `payload` in hookgate's namespace by a key
    /// listed for `principal`.
    pub fn verify(&self, payload: &[u8], armored: &str, principal: &str) -> Result<(), String> {
        let sig = parse(armored)?;
        if sig.namespace() != NAMESPACE {
            return Err(format!("signed for namespace `{}`, not `{NAMESPACE}`", sig.namespace()));
        }
        let listed = self.signers.iter().find(|s| {
            s.principals.iter().any(|p| p == principal)
                && s.key.key_data() == sig.public_key()
                && s.namespaces.as_ref().is_none_or(|n| n.iter().any(|n| n == NAMESPACE))
        });
        let Some(signer) = listed else {
            return Err(format!("signed by a key that no allowed_signers file lists for `{principal}`"));
        };
        if !verifies(&signer.key.algorithm()) {
            return Err(format!(
                "signed with a key of type {}, which hookgate does not verify (it verifies Ed25519, \
                 ECDSA, RSA and security keys)",
                signer.key.algorithm()
            ));
        }
        // A security key's signature ends with its flags and a counter; as `ssh-keygen -Y
        // verify` does by default, it counts only when the user touched the key.
        if matches!(sig.algorithm(), Algorithm::SkEd25519 | Algorithm::SkEcdsaSha2NistP256) {
            let bytes = sig.signature_bytes();
            if bytes.len() < 5 || bytes[bytes.len() - 5] & USER_PRESENT == 0 {
                return Err("a security key's signature made without a touch (no user presence)".into());
            }
        }
        signer
            .key
            .verify(NAMESPACE, payload, &sig)
            .map_err(|e| format!("the signature does not verify ({e})"))
    }
}

/// The user-presence bit of a security key's signature flags (OpenSSH's PROTOCOL.u2f).
const USER_PRESENT: u8 = 0x01;

/// The tree of the default branch as last fetched, and its name.
fn default_branch_tree(repo: &Repo) -> Result<Option<(String, git2::Oid)>> {
    let configured = repo.config_values("hookgate.trustRef")?.pop();
    let candidates: Vec<String> = match configured {
        Some(r) => vec![r],
        None => ["refs/remotes/origin/HEAD", "refs/remotes/origin/main", "refs/remotes/origin/master"]
            .map(String::from)
            .to_vec(),
    };
    for name in candidates {
        if let Ok(t) = repo.resolve(&name) {
            return Ok(Some((name, t.id)));
        }
    }
    Ok(None)
}

/// `[share]` of `hookgate.toml`, else `[tool.hookgate.share]` of `pyproject.toml`, in `tree`.
fn share_table(repo: &Repo, tree: git2::Oid) -> Result<Share, String> {
    let read = |path: &str| repo.read_file(tree, path).ok().flatten();
    let table = if let Some(text) = read("hookgate.toml") {
        let v: toml::Value = toml::from_str(&text).map_err(|e| format!("hookgate.toml: {e}"))?;
        v.get("share").cloned()
    } else if let Some(text) = read("pyproject.toml") {
        let v: toml::Value = toml::from_str(&text).map_err(|e| format!("pyproject.toml: {e}"))?;
        v.get("tool").and_then(|t| t.get("hookgate")).and_then(|h| h.get("share")).cloned()
    } else {
        None
    };
    match table {
        Some(t) => t.try_into().map_err(|e| format!("{e}")),
        None => Ok(Share::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILM+rvN+ot98qgEN796jTiQfZfG1KaT0PtFDJ/XFSqti";

    #[test]
    fn allowed_signers_lines_are_read_as_git_writes_them() {
        let text = format!(
            "# team\nci@example.org {KEY} ci key\n\"a@x,b@x\" namespaces=\"git,hookgate\" {KEY}\n\
             ca@x cert-authority {KEY}\nold@x valid-before=\"20200101\" {KEY}\nbroken@x ssh-ed25519 zz\n"
        );
        let (signers, problems) = parse_allowed_signers(&text);
        assert_eq!(signers.len(), 2, "{problems:?}");
        assert_eq!(signers[0].principals, ["ci@example.org"]);
        assert_eq!(signers[1].principals, ["a@x", "b@x"]);
        assert_eq!(signers[1].namespaces.as_deref(), Some(&["git".to_string(), "hookgate".to_string()][..]));
        assert_eq!(problems.len(), 3, "{problems:?}");
    }

    /// A security key (`sk-ssh-ed25519@openssh.com`) signs, per OpenSSH's PROTOCOL.u2f, the
    /// SHA-256 of its application, a flags byte, a counter and the SHA-256 of the data, and
    /// appends flags and counter to the signature. No authenticator here: the key comes from a
    /// seed and the test plays the authenticator.
    #[test]
    fn a_security_keys_signature_verifies_only_for_its_message_and_with_a_touch() {
        use ssh_key::private::Ed25519Keypair;
        use ssh_key::public::{KeyData, SkEd25519};
        use ssh_key::sha2::{Digest, Sha256};
        use ssh_key::{HashAlg, LineEnding, Signature, SigningKey, SshSig};

        fn raw<K: SigningKey>(key: &K, message: &[u8]) -> Vec<u8> {
            key.try_sign(message).unwrap().as_bytes().to_vec()
        }
        let pair = Ed25519Keypair::from_seed(&[7; 32]);
        let sk = KeyData::SkEd25519(SkEd25519::new(pair.public, "ssh:"));
        let pair = ssh_key::PrivateKey::from(pair);
        let payload = b"a statement";
        let sign = |flags: u8| {
            let data = SshSig::signed_data(NAMESPACE, HashAlg::Sha512, payload).unwrap();
            let counter = 42u32.to_be_bytes();
            let mut signed = Sha256::digest("ssh:").to_vec();
            signed.push(flags);
            signed.extend(counter);
            signed.extend(Sha256::digest(&data));
            let mut sig = raw(&pair, &signed);
            sig.push(flags);
            sig.extend(counter);
            let sig = Signature::new(Algorithm::SkEd25519, sig).unwrap();
            SshSig::new(sk.clone(), NAMESPACE, HashAlg::Sha512, sig).unwrap().to_pem(LineEnding::LF).unwrap()
        };
        let line = format!("dev@x {}", PublicKey::from(sk.clone()).to_openssh().unwrap());
        assert!(line.starts_with("dev@x sk-ssh-ed25519@openssh.com "), "{line}");
        let (signers, problems) = parse_allowed_signers(&line);
        assert!(problems.is_empty(), "{problems:?}");
        let policy = Policy { signers, ..Policy::default() };
        let touched = sign(USER_PRESENT);
        policy.verify(payload, &touched, "dev@x").unwrap();
        let e = policy.verify(b"another statement", &touched, "dev@x").unwrap_err();
        assert!(e.contains("does not verify"), "{e}");
        let e = policy.verify(payload, &sign(0), "dev@x").unwrap_err();
        assert!(e.contains("without a touch"), "{e}");
    }

    #[test]
    fn team_members_vouch_only_for_team_checks() {
        let policy = Policy {
            everything: BTreeSet::from(["ci".to_string()]),
            team: BTreeSet::from(["dev".to_string()]),
            team_checks: BTreeSet::from(["lint".to_string()]),
            ..Policy::default()
        };
        assert!(policy.may_vouch("ci", "test"));
        assert!(policy.may_vouch("dev", "lint"));
        assert!(!policy.may_vouch("dev", "test"));
        assert!(!policy.may_vouch("stranger", "lint"));
    }
}
