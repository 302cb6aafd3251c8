//! Built distributions given to `hookgate run --dists DIR`: the files, their SHA-256 (which
//! enter the `wheel` check's key, so a verdict names the exact bytes it judged), and their name
//! and version (from a wheel's metadata; from an sdist's file name, which PEP 625 fixes as
//! `{name}-{version}.tar.gz`).

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::index::{DistMeta, normalize_name, wheel_metadata};

/// One distribution file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dist {
    /// The file name.
    pub file: String,
    /// Where it is.
    pub path: PathBuf,
    /// SHA-256 of its bytes, in hex.
    pub sha256: String,
}

impl Dist {
    /// Reads `path` and hashes it.
    pub fn read(path: &Path) -> Result<Dist> {
        let file = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        Ok(Dist { file, path: path.to_path_buf(), sha256: sha256_file(path)? })
    }

    /// Whether it is a wheel.
    pub fn is_wheel(&self) -> bool {
        self.file.ends_with(".whl")
    }

    /// Its name and version.
    pub fn meta(&self) -> Result<DistMeta> {
        if self.is_wheel() {
            return wheel_metadata(&self.path);
        }
        let stem = self.file.strip_suffix(".tar.gz").or_else(|| self.file.strip_suffix(".zip"));
        match stem.and_then(|s| s.rsplit_once('-')) {
            Some((name, version)) if !name.is_empty() && !version.is_empty() => {
                Ok(DistMeta { name: name.to_string(), version: version.to_string() })
            }
            _ => bail!("{}: not a source distribution name ({{name}}-{{version}}.tar.gz)", self.file),
        }
    }
}

/// The distributions (`*.whl`, `*.tar.gz`, `*.zip`) directly inside `dir`, sorted by name;
/// an error when there are none or the directory cannot be read.
pub fn read_dir(dir: &Path) -> Result<Vec<Dist>> {
    let mut dists = Vec::new();
    for path in crate::checks::list_files(dir).with_context(|| format!("--dists {}", dir.display()))? {
        if crate::checks::is_dist(&path) {
            dists.push(Dist::read(&path)?);
        }
    }
    if dists.is_empty() {
        bail!("--dists {}: no distributions (*.whl, *.tar.gz) there", dir.display());
    }
    Ok(dists)
}

/// SHA-256 of a file's bytes, in hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0; 1 << 16];
    loop {
        let n = file.read(&mut buf).with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Why `dists` are not the dists of a project named `name` at `version` (the tree's, when
/// known), if they are not: each must be that project at one common version, and there must be
/// a wheel and an sdist.
pub fn mismatch(dists: &[Dist], name: Option<&str>, version: Option<&str>) -> Result<Option<String>> {
    if !dists.iter().any(Dist::is_wheel) || dists.iter().all(Dist::is_wheel) {
        return Ok(Some("the dists are not both a wheel and an sdist".into()));
    }
    let want_version = version.map(|v| v.parse::<pep440_rs::Version>().map_err(|e| (v, e)));
    let mut first: Option<(String, String)> = None;
    for d in dists {
        let meta = d.meta()?;
        if let Some(name) = name
            && normalize_name(&meta.name) != normalize_name(name)
        {
            return Ok(Some(format!("{} is {} but the tree is {name}", d.file, meta.name)));
        }
        let v: pep440_rs::Version =
            meta.version.parse().with_context(|| format!("{}: version {}", d.file, meta.version))?;
        match &want_version {
            Some(Ok(want)) if &v != want => {
                return Ok(Some(format!(
                    "{} is version {} but the tree is {}",
                    d.file,
                    meta.version,
                    version.unwrap_or_default()
                )));
            }
            Some(Err((raw, e))) => bail!("the tree's version {raw} is not a PEP 440 version: {e}"),
            _ => {}
        }
        match &first {
            None => first = Some((d.file.clone(), meta.version.clone())),
            Some((f, fv)) if fv.parse::<pep440_rs::Version>().ok().as_ref() != Some(&v) => {
                return Ok(Some(format!("{} is version {} but {f} is {fv}", d.file, meta.version)));
            }
            Some(_) => {}
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sdist(dir: &Path, file: &str) -> Dist {
        let path = dir.join(file);
        std::fs::write(&path, b"not really gzip").unwrap();
        Dist::read(&path).unwrap()
    }

    #[test]
    fn sdist_name_and_version_come_from_the_file_name() {
        let dir = tempfile::tempdir().unwrap();
        let d = sdist(dir.path(), "my_pkg-1.2.0.dev3.tar.gz");
        assert_eq!(d.meta().unwrap(), DistMeta { name: "my_pkg".into(), version: "1.2.0.dev3".into() });
        assert!(sdist(dir.path(), "nodash.tar.gz").meta().is_err());
        assert_eq!(d.sha256.len(), 64);
    }

    #[test]
    fn a_lone_sdist_is_a_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let d = sdist(dir.path(), "pkg-1.0.tar.gz");
        let why = mismatch(&[d], Some("pkg"), Some("1.0")).unwrap().unwrap();
        assert!(why.contains("both a wheel and an sdist"), "{why}");
    }
}
