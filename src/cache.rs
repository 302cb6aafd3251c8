//! The verdict store under `<git-common-dir>/hookgate/`: one small JSON record per check key,
//! plus the check's log. Records are written atomically (temp file in the same directory, then
//! rename), so concurrent runs never see half a record; a record that cannot be read or parsed
//! is a miss with a warning, never a crash. Only finished checks are recorded: an interrupted
//! or timed-out run leaves nothing behind.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::outcome::Verdict;

/// Bumped whenever the key recipe or the record format changes; part of every key.
pub const SCHEMA: u32 = 1;

/// What is stored for one key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// Record format version.
    pub schema: u32,
    /// The check's name.
    pub check: String,
    /// Pass or fail.
    pub verdict: Verdict,
    /// How long the check took when it ran.
    pub duration_ms: u64,
    /// When it finished (seconds since the Unix epoch).
    pub finished_at: u64,
    /// `name==version` of what was installed in the check's venv.
    pub tools: Vec<String>,
    /// The full log of the run.
    pub log: PathBuf,
    /// The root tree it ran on (informational; the key is what matters).
    pub tree: String,
    /// The inputs the key was computed from, for `explain`.
    #[serde(default)]
    pub key_inputs: serde_json::Value,
    /// Report files the check wrote (coverage XML/HTML, built docs).
    #[serde(default)]
    pub reports: Vec<PathBuf>,
}

/// The cache directory of one repository.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// The store of the repository whose common git dir is `common_dir`.
    pub fn new(common_dir: &Path) -> Cache {
        Cache { root: common_dir.join("hookgate") }
    }

    /// `<git-common-dir>/hookgate`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn record_path(&self, key: &str) -> PathBuf {
        self.root.join("verdicts").join(&key[..2]).join(format!("{key}.json"))
    }

    /// Where the log of the run for `key` is kept.
    pub fn log_path(&self, key: &str) -> PathBuf {
        self.root.join("logs").join(format!("{key}.log"))
    }

    /// Files a check keeps for the checks that need it (dists, coverage data).
    pub fn artifacts_dir(&self, key: &str) -> PathBuf {
        self.root.join("artifacts").join(key)
    }

    /// Where a check's reports go.
    pub fn reports_dir(&self, key: &str) -> PathBuf {
        self.root.join("reports").join(key)
    }

    /// Moves a finished check's artifacts into place (replacing an older copy of the same key).
    pub fn keep_artifacts(&self, key: &str, from: &Path) -> Result<()> {
        let dest = self.artifacts_dir(key);
        let parent = dest.parent().context("artifacts have a parent")?;
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        // Stage next to the destination (same filesystem), then swap in with renames.
        let staged =
            tempfile::Builder::new().prefix(".incoming-").tempdir_in(parent).context("staging artifacts")?;
        let staged_path = staged.keep();
        copy_tree(from, &staged_path)?;
        if dest.exists() {
            let old = parent.join(format!(".old-{key}-{}", std::process::id()));
            std::fs::rename(&dest, &old).ok();
            std::fs::remove_dir_all(&old).ok();
        }
        std::fs::rename(&staged_path, &dest)
            .with_context(|| format!("keeping artifacts in {}", dest.display()))?;
        Ok(())
    }

    /// The record for `key`; a missing record is `None`, a corrupt one is `None` plus a warning.
    pub fn get(&self, key: &str) -> Option<Record> {
        let path = self.record_path(key);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                eprintln!(
                    "hookgate: warning: cannot read cache record {} ({e}); treating it as a miss",
                    path.display()
                );
                return None;
            }
        };
        match serde_json::from_slice::<Record>(&bytes) {
            Ok(r) if r.schema == SCHEMA => Some(r),
            Ok(_) => None,
            Err(e) => {
                eprintln!(
                    "hookgate: warning: corrupt cache record {} ({e}); treating it as a miss",
                    path.display()
                );
                None
            }
        }
    }

    /// When the record of `key` was written (its file's modification time), if there is one:
    /// records are replaced by rename, so a new record has a new time.
    pub fn record_stamp(&self, key: &str) -> Option<std::time::SystemTime> {
        std::fs::symlink_metadata(self.record_path(key)).and_then(|m| m.modified()).ok()
    }

    /// Stores `record` under `key`, atomically.
    pub fn put(&self, key: &str, record: &Record) -> Result<()> {
        let path = self.record_path(key);
        let bytes = serde_json::to_vec_pretty(record).context("serializing a cache record")?;
        write_atomic(&path, &bytes)
    }
}

/// An exclusive lock on one key: whoever holds it is running that check. It is an `flock`, so
/// the kernel releases it when the holder exits or is killed: a lock can never outlive its
/// process. The holder's pid is written into the file for the messages of those who wait.
pub struct KeyLock {
    _file: std::fs::File,
}

/// What trying a key's lock found.
pub enum LockAttempt {
    /// We hold it now.
    Acquired(KeyLock),
    /// Another process runs this key; its pid, when readable.
    Busy(Option<u32>),
}

impl Cache {
    /// Tries to take the lock of `key` without blocking.
    pub fn try_lock(&self, key: &str) -> Result<LockAttempt> {
        use std::io::{Read, Seek, SeekFrom, Write};
        use std::os::unix::io::AsRawFd;
        let dir = self.root.join("locks");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(format!("{key}.lock"));
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        // SAFETY: flock on a descriptor we own; released when `file` is closed.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let mut text = String::new();
            file.read_to_string(&mut text).ok();
            return Ok(LockAttempt::Busy(text.trim().parse().ok()));
        }
        file.set_len(0).ok();
        file.seek(SeekFrom::Start(0)).ok();
        write!(file, "{}", std::process::id()).ok();
        Ok(LockAttempt::Acquired(KeyLock { _file: file }))
    }
}

/// Writes `bytes` to `path` through a temp file in the same directory and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().context("a cache path has a parent")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .with_context(|| format!("creating a temp file in {}", dir.display()))?;
    tmp.write_all(bytes).with_context(|| format!("writing {}", path.display()))?;
    tmp.as_file().sync_data().ok();
    tmp.persist(path).with_context(|| format!("renaming into {}", path.display()))?;
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry.context("reading a directory entry")?;
        let target = to.join(entry.file_name());
        if entry.file_type().context("reading a file type")?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record {
            schema: SCHEMA,
            check: "lint".into(),
            verdict: Verdict::Pass,
            duration_ms: 5,
            finished_at: 1,
            tools: vec![],
            log: "x.log".into(),
            tree: "t".into(),
            key_inputs: serde_json::Value::Null,
            reports: vec![],
        }
    }

    #[test]
    fn put_then_get_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        assert!(cache.get("abcdef").is_none());
        cache.put("abcdef", &record()).unwrap();
        assert_eq!(cache.get("abcdef").unwrap().verdict, Verdict::Pass);
    }

    #[test]
    fn a_key_lock_is_exclusive_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let held = match cache.try_lock("abcdef").unwrap() {
            LockAttempt::Acquired(l) => l,
            LockAttempt::Busy(_) => panic!("fresh lock busy"),
        };
        // flock locks belong to open file descriptions: a second open in this process conflicts.
        match cache.try_lock("abcdef").unwrap() {
            LockAttempt::Busy(pid) => assert_eq!(pid, Some(std::process::id())),
            LockAttempt::Acquired(_) => panic!("lock taken twice"),
        }
        drop(held);
        assert!(matches!(cache.try_lock("abcdef").unwrap(), LockAttempt::Acquired(_)));
    }

    #[test]
    fn corrupt_record_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        cache.put("abcdef", &record()).unwrap();
        std::fs::write(cache.record_path("abcdef"), b"{ not json").unwrap();
        assert!(cache.get("abcdef").is_none());
    }
}
