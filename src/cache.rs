//! The verdict store under `<git-common-dir>/hookgate/`: one small JSON record per check key,
//! plus the check's log. Records are written atomically (temp file in the same directory, then
//! rename), so concurrent runs never see half a record. A record is checked, not trusted: one
//! that is not a small regular file, cannot be parsed, or names another key or check than the
//! one asked for is a miss with a warning (once per key and process), never a crash. Only
//! finished checks are recorded: an interrupted or timed-out run leaves nothing behind.

use std::collections::HashSet;
use std::fs::File;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::outcome::Verdict;

/// Bumped whenever the key recipe or the record format changes; part of every key.
pub const SCHEMA: u32 = 3;

/// A record larger than this is not one hookgate wrote: a miss, never read whole.
pub const MAX_RECORD_BYTES: u64 = 1 << 20;

/// What is stored for one key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// Record format version.
    pub schema: u32,
    /// The key it answers: a record copied or moved under another key's name is refused.
    pub key: String,
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
    /// The resolutions its environment was installed with: a pass counts only while they are
    /// current (see [`crate::resolve`]).
    #[serde(default)]
    pub resolutions: Vec<crate::resolve::UsedRef>,
    /// Who vouched for it when it came from a shared, signed statement (the signer's
    /// principal); `None` for a verdict this clone reached itself (see [`crate::verdicts`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl Record {
    /// Whether a pass reused for `ttl` seconds is out of date at `now`. A finish time in the
    /// future is a clock that jumped back or a record edited by hand: expired, so that it can
    /// never extend the reuse.
    pub fn expired(&self, ttl: u64, now: u64) -> bool {
        self.finished_at > now || now - self.finished_at > ttl
    }
}

/// The cache directory of one repository.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
    /// The resolution cache (per user, shared by every repository: see [`crate::resolve`]).
    resolutions: PathBuf,
    /// Keys whose bad record was already reported: the fast path, the scheduler and the worker
    /// each read a record, and one warning per run is enough.
    warned: Arc<Mutex<HashSet<String>>>,
    /// Whether verdicts taken from shared statements are ignored (a release relies only on
    /// what this clone proved).
    local_only: bool,
}

impl Cache {
    /// The store of the repository whose common git dir is `common_dir`.
    pub fn new(common_dir: &Path) -> Cache {
        let root = common_dir.join("hookgate");
        Cache { resolutions: root.join("resolutions"), root, warned: Arc::default(), local_only: false }
    }

    /// This store, answering only with verdicts this clone reached itself.
    pub fn local_only(mut self) -> Cache {
        self.local_only = true;
        self
    }

    /// The store of a repository, with the user's resolution cache
    /// (`$XDG_CACHE_HOME/hookgate/resolutions`, else `~/.cache/hookgate/resolutions`; the
    /// repository's own cache when there is no HOME).
    pub fn for_user(common_dir: &Path, host: &crate::env::HostEnv) -> Cache {
        let mut cache = Cache::new(common_dir);
        if let Some(dir) = host.user_cache_dir() {
            cache.resolutions = dir.join("hookgate").join("resolutions");
        }
        cache
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

    /// The resolution cache (see [`crate::resolve`]).
    pub fn resolutions_dir(&self) -> PathBuf {
        self.resolutions.clone()
    }

    /// Files a check keeps for the checks that need it (dists, coverage data).
    pub fn artifacts_dir(&self, key: &str) -> PathBuf {
        self.root.join("artifacts").join(key)
    }

    /// Where early-cutoff pointers are kept (see [`crate::cutoff`]).
    pub fn cutoffs_dir(&self) -> PathBuf {
        self.root.join("cutoffs")
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

    /// The record of check `check` under `key`. A missing record is `None`; a bad one (see
    /// [`Cache::read_record`]) is `None` plus a warning, the first time this process meets it.
    pub fn get(&self, key: &str, check: &str) -> Option<Record> {
        match self.read_record(key, check) {
            Ok(Some(record)) if self.local_only && record.source.is_some() => None,
            Ok(record) => record,
            Err(why) => {
                let first = self.warned.lock().map_or(true, |mut w| w.insert(key.to_string()));
                if first {
                    crate::report::warn(format_args!(
                        "bad cache record {} ({why}); treating it as a miss",
                        self.record_path(key).display()
                    ));
                }
                None
            }
        }
    }

    /// When the record of `key` was written (its file's modification time), if there is one:
    /// records are replaced by rename, so a new record has a new time.
    pub fn record_stamp(&self, key: &str) -> Option<std::time::SystemTime> {
        std::fs::symlink_metadata(self.record_path(key)).and_then(|m| m.modified()).ok()
    }

    /// Reads and checks a record: it must be a regular file (a symlink is not followed), at
    /// most [`MAX_RECORD_BYTES`], valid JSON of the current schema, and name `key` and
    /// `check`. `Err` says what is wrong with it.
    fn read_record(&self, key: &str, check: &str) -> Result<Option<Record>, String> {
        use std::io::Read;
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.record_path(key);
        // O_NONBLOCK: opening a FIFO planted there must not hang the run.
        let file =
            match File::options().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK).open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err("a symlink".into()),
                Err(e) => return Err(format!("cannot read it: {e}")),
            };
        let meta = file.metadata().map_err(|e| format!("cannot read it: {e}"))?;
        if meta.is_dir() {
            return Err("a directory".into());
        }
        if !meta.is_file() {
            return Err("not a regular file".into());
        }
        if meta.len() > MAX_RECORD_BYTES {
            return Err(format!("{} bytes, over the {MAX_RECORD_BYTES}-byte limit", meta.len()));
        }
        // Sized for one read; bounded even if the file grows between the check and the read.
        let mut bytes = Vec::with_capacity(meta.len() as usize + 1);
        file.take(MAX_RECORD_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read it: {e}"))?;
        if bytes.len() as u64 > MAX_RECORD_BYTES {
            return Err(format!("over the {MAX_RECORD_BYTES}-byte limit"));
        }
        let record = match serde_json::from_slice::<Record>(&bytes) {
            // Another schema is another hookgate's (keys include the schema): not ours to judge.
            Ok(r) if r.schema != SCHEMA => return Ok(None),
            Ok(r) => r,
            Err(e) => return Err(format!("corrupt: {e}")),
        };
        if record.key != key {
            return Err(format!("it names key {}", record.key));
        }
        if record.check != check {
            return Err(format!("it is for check `{}`, not `{check}`", record.check));
        }
        Ok(Some(record))
    }

    /// Stores `record` under `key`, atomically.
    pub fn put(&self, key: &str, record: &Record) -> Result<()> {
        let path = self.record_path(key);
        let bytes = serde_json::to_vec_pretty(record).context("serializing a cache record")?;
        // A directory in the way (refused by `get`) cannot be renamed over: it is no record.
        if path.symlink_metadata().is_ok_and(|m| m.is_dir()) {
            std::fs::remove_dir_all(&path).with_context(|| format!("removing {}", path.display()))?;
        }
        write_atomic(&path, &bytes)
    }
}

/// An exclusive lock on one key: whoever holds it is running that check. It is an `flock`
/// (std's `File::try_lock` on Linux), which belongs to the open file description: the kernel
/// releases it when the last descriptor of it is closed, so a lock never outlives every
/// process holding it, and a check's commands, which inherit a descriptor of it
/// ([`KeyLock::share`]), hold it as long as any of them lives. The holder's pid is written into
/// the file for the messages of those who wait.
pub struct KeyLock {
    file: File,
}

impl KeyLock {
    /// Another descriptor of the same lock, for the check's commands to inherit.
    pub fn share(&self) -> Result<OwnedFd> {
        Ok(self.file.try_clone().context("sharing the key lock")?.into())
    }
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
        let dir = self.root.join("locks");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(format!("{key}.lock"));
        let mut file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut text = String::new();
                file.read_to_string(&mut text).ok();
                return Ok(LockAttempt::Busy(text.trim().parse().ok()));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("locking {}", path.display()));
            }
        }
        file.set_len(0).ok();
        file.seek(SeekFrom::Start(0)).ok();
        write!(file, "{}", std::process::id()).ok();
        Ok(LockAttempt::Acquired(KeyLock { file }))
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

/// Copies the directory `from` (files and sub-directories) into `to`, created if missing.
pub fn copy_tree(from: &Path, to: &Path) -> Result<()> {
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
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "abcdef";

    fn record() -> Record {
        Record {
            schema: SCHEMA,
            key: KEY.into(),
            check: "lint".into(),
            verdict: Verdict::Pass,
            duration_ms: 5,
            finished_at: 1,
            tools: vec![],
            log: "x.log".into(),
            tree: "t".into(),
            key_inputs: serde_json::Value::Null,
            reports: vec![],
            resolutions: vec![],
            source: None,
        }
    }

    fn stored(record: &Record) -> (tempfile::TempDir, Cache) {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        cache.put(KEY, record).unwrap();
        (dir, cache)
    }

    #[test]
    fn put_then_get_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        assert!(cache.get(KEY, "lint").is_none());
        cache.put(KEY, &record()).unwrap();
        assert_eq!(cache.get(KEY, "lint").unwrap().verdict, Verdict::Pass);
    }

    #[test]
    fn a_key_lock_is_exclusive_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let held = match cache.try_lock(KEY).unwrap() {
            LockAttempt::Acquired(l) => l,
            LockAttempt::Busy(_) => panic!("fresh lock busy"),
        };
        // flock locks belong to open file descriptions: a second open in this process conflicts.
        match cache.try_lock(KEY).unwrap() {
            LockAttempt::Busy(pid) => assert_eq!(pid, Some(std::process::id())),
            LockAttempt::Acquired(_) => panic!("lock taken twice"),
        }
        drop(held);
        assert!(matches!(cache.try_lock(KEY).unwrap(), LockAttempt::Acquired(_)));
    }

    #[test]
    fn a_key_lock_is_an_flock_held_by_every_shared_descriptor() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let Ok(LockAttempt::Acquired(held)) = cache.try_lock(KEY) else { panic!("fresh lock busy") };
        let path = cache.root().join("locks").join(format!("{KEY}.lock"));
        // util-linux flock(1) takes flock(2) locks: it conflicts only if std's lock is one too.
        let flock = |p: &Path| std::process::Command::new("flock").args(["-n"]).arg(p).arg("true").status();
        assert_eq!(flock(&path).unwrap().code(), Some(1), "std's File::try_lock is not flock(2)");
        let shared = held.share().unwrap();
        drop(held);
        assert!(matches!(cache.try_lock(KEY).unwrap(), LockAttempt::Busy(_)), "a shared descriptor lost it");
        drop(shared);
        assert_eq!(flock(&path).unwrap().code(), Some(0));
    }

    #[test]
    fn corrupt_record_is_a_miss_reported_once() {
        let (_dir, cache) = stored(&record());
        std::fs::write(cache.record_path(KEY), b"{ not json").unwrap();
        assert!(cache.get(KEY, "lint").is_none());
        assert!(cache.get(KEY, "lint").is_none());
        assert_eq!(cache.warned.lock().unwrap().len(), 1);
    }

    #[test]
    fn a_record_naming_another_key_or_check_is_a_miss() {
        let (_dir, cache) = stored(&Record { key: "012345".into(), ..record() });
        assert!(cache.get(KEY, "lint").is_none());
        let (_dir, cache) = stored(&record());
        assert!(cache.get(KEY, "format").is_none());
        assert!(cache.get(KEY, "lint").is_some());
    }

    #[test]
    fn a_symlink_a_directory_or_a_huge_file_is_a_miss() {
        let (dir, cache) = stored(&record());
        let path = cache.record_path(KEY);
        let elsewhere = dir.path().join("real.json");
        std::fs::rename(&path, &elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
        assert!(cache.get(KEY, "lint").is_none());
        std::fs::remove_file(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
        assert!(cache.get(KEY, "lint").is_none());
        std::fs::remove_dir(&path).unwrap();
        let mut padded = std::fs::read(&elsewhere).unwrap();
        padded.resize(MAX_RECORD_BYTES as usize + 1, b' ');
        std::fs::write(&path, &padded).unwrap();
        assert!(cache.get(KEY, "lint").is_none());
        padded.truncate(MAX_RECORD_BYTES as usize);
        std::fs::write(&path, &padded).unwrap();
        assert!(cache.get(KEY, "lint").is_some(), "whitespace within the limit is fine");
    }

    #[test]
    fn a_finish_time_in_the_future_is_expired() {
        let r = Record { finished_at: 1000, ..record() };
        assert!(!r.expired(60, 1000));
        assert!(!r.expired(60, 1060));
        assert!(r.expired(60, 1061));
        assert!(r.expired(60, 999), "a record from the future extended its ttl");
    }
}
