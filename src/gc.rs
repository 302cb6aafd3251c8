//! Keeping the cache bounded. Everything hookgate stores for a check is filed under its key
//! (`verdicts/`, `logs/`, `artifacts/`, `reports/`, `locks/`; the per-file results of `lint` and
//! `format` under their context's key in `filecache/`), so the cache is a set of keys,
//! each with a size and the time it was last written. `hookgate cache gc` drops the keys that
//! are too old or that no recent commit needs; after every run that wrote something, the
//! cache is also held under a size bound by dropping the oldest keys, so `watch`, which
//! checks a new tree after every edit, cannot outgrow the disk.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::cache::{Cache, LockAttempt};

/// Where a key's files live, relative to the cache root, and how their names carry the key.
/// (`cutoffs/<key>/` holds the early-cutoff pointers of one first half of a cutoff key.)
const AREAS: &[&str] = &["verdicts", "logs", "artifacts", "reports", "locks", "filecache", "cutoffs"];

/// Everything stored under one key.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The key.
    pub key: String,
    /// Bytes on disk, over every area.
    pub bytes: u64,
    /// When any of its files was last written.
    pub written: SystemTime,
    /// Its files and directories.
    pub paths: Vec<PathBuf>,
}

/// The key a cache file or directory belongs to, from its name (`<key>.json`, `<key>.log`,
/// `<key>.lock`, `<key>/`), if it has one.
fn key_of(name: &str) -> Option<&str> {
    let stem = name.split('.').next()?;
    (stem.len() == 64 && stem.bytes().all(|b| b.is_ascii_hexdigit())).then_some(stem)
}

/// Bytes under `path` (symlinks not followed) and the newest modification time there.
pub fn size_of(path: &Path) -> (u64, SystemTime) {
    let Ok(meta) = std::fs::symlink_metadata(path) else { return (0, SystemTime::UNIX_EPOCH) };
    let mut newest = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    if !meta.is_dir() {
        return (meta.len(), newest);
    }
    let mut bytes = 0;
    for e in std::fs::read_dir(path).into_iter().flatten().flatten() {
        let (b, t) = size_of(&e.path());
        bytes += b;
        newest = newest.max(t);
    }
    (bytes, newest)
}

/// Every key in the cache, with its size and age.
pub fn entries(cache: &Cache) -> Vec<Entry> {
    let mut by_key: BTreeMap<String, Entry> = BTreeMap::new();
    let mut add = |path: PathBuf| {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else { return };
        let Some(key) = key_of(name) else { return };
        let (bytes, written) = size_of(&path);
        let e = by_key.entry(key.to_string()).or_insert_with(|| Entry {
            key: key.to_string(),
            bytes: 0,
            written: SystemTime::UNIX_EPOCH,
            paths: Vec::new(),
        });
        e.bytes += bytes;
        e.written = e.written.max(written);
        e.paths.push(path);
    };
    for area in AREAS {
        let dir = cache.root().join(area);
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = e.path();
            // Records are sharded by the key's first two digits.
            if *area == "verdicts" && path.is_dir() {
                std::fs::read_dir(&path).into_iter().flatten().flatten().for_each(|r| add(r.path()));
            } else {
                add(path);
            }
        }
    }
    by_key.into_values().collect()
}

/// What `cache gc` keeps.
pub struct Policy {
    /// Keys of the checks of recent commits on the branches and tags (what a push or CI may ask).
    pub reachable: BTreeSet<String>,
    /// Anything older than this goes, reachable or not.
    pub max_age: Duration,
    /// Unreachable keys younger than this stay (a `watch` or background run of a tree that is
    /// not committed yet).
    pub grace: Duration,
}

/// The entries `policy` drops, oldest first.
pub fn to_drop(entries: &[Entry], policy: &Policy, now: SystemTime) -> Vec<Entry> {
    let age = |e: &Entry| now.duration_since(e.written).unwrap_or_default();
    let mut out: Vec<Entry> = entries
        .iter()
        .filter(|e| age(e) > policy.max_age || (!policy.reachable.contains(&e.key) && age(e) > policy.grace))
        .cloned()
        .collect();
    out.sort_by_key(|e| e.written);
    out
}

/// Removes everything stored under `entry`'s key, unless a run of that key holds its lock
/// right now (it is in use; it stays). Returns whether it was removed.
pub fn remove(cache: &Cache, entry: &Entry) -> bool {
    let Ok(LockAttempt::Acquired(_held)) = cache.try_lock(&entry.key) else { return false };
    // The record first: without it the key is a miss, whatever is left of the rest.
    let mut paths = entry.paths.clone();
    paths.sort_by_key(|p| !p.starts_with(cache.root().join("verdicts")));
    for p in paths {
        if p.is_dir() {
            std::fs::remove_dir_all(&p).ok();
        } else {
            std::fs::remove_file(&p).ok();
        }
    }
    true
}

/// Drops the oldest keys until the cache holds at most `max_bytes` (down to 80% of it, so the
/// next runs do not each pay for a sweep). Returns the bytes freed.
pub fn enforce_size(cache: &Cache, max_bytes: u64, keep: &BTreeSet<String>) -> u64 {
    let mut all = entries(cache);
    let total: u64 = all.iter().map(|e| e.bytes).sum();
    if total <= max_bytes {
        return 0;
    }
    let target = max_bytes / 10 * 8;
    all.sort_by_key(|e| e.written);
    let mut freed = 0;
    for e in all.iter().filter(|e| !keep.contains(&e.key)) {
        if total - freed <= target {
            break;
        }
        if remove(cache, e) {
            freed += e.bytes;
        }
    }
    freed
}

/// How often a run looks at the cache's size: walking it costs a little, so at most once in
/// this long (remembered in `<cache>/gc-stamp`).
const SIZE_CHECK_EVERY: Duration = Duration::from_secs(600);

/// After a run that wrote to the cache: holds it under `max_bytes` (see [`enforce_size`]),
/// looking at most once every ten minutes. `keep` are the keys the run just used.
pub fn after_run(cache: &Cache, max_bytes: u64, keep: &BTreeSet<String>) {
    let stamp = cache.root().join("gc-stamp");
    let recent = std::fs::metadata(&stamp)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age < SIZE_CHECK_EVERY);
    if recent {
        return;
    }
    std::fs::write(&stamp, b"").ok();
    let freed = enforce_size(cache, max_bytes, keep);
    if freed > 0 {
        crate::report::note(format_args!(
            "the cache was over {} (HOOKGATE_CACHE_MAX_MB): dropped the oldest verdicts, {}",
            human(max_bytes),
            human(freed)
        ));
    }
}

/// Bytes as people read them.
pub fn human(bytes: u64) -> String {
    const UNITS: &[&str] = &["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{v:.1} {}", UNITS[unit]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: char, age_days: u64, now: SystemTime) -> Entry {
        Entry {
            key: key.to_string().repeat(64),
            bytes: 10,
            written: now - Duration::from_secs(age_days * 86_400),
            paths: vec![],
        }
    }

    #[test]
    fn keys_come_from_names_of_every_area() {
        let k = "a".repeat(64);
        assert_eq!(key_of(&format!("{k}.json")), Some(k.as_str()));
        assert_eq!(key_of(&format!("{k}.lock")), Some(k.as_str()));
        assert_eq!(key_of(&k), Some(k.as_str()));
        assert_eq!(key_of("interpreters.json"), None);
        assert_eq!(key_of(".tmp-x"), None);
    }

    #[test]
    fn old_entries_go_and_unreachable_ones_go_after_the_grace() {
        let now = SystemTime::now();
        let (reach_new, reach_old, lost_new, lost_mid) =
            (entry('a', 0, now), entry('b', 40, now), entry('c', 0, now), entry('d', 3, now));
        let policy = Policy {
            reachable: [reach_new.key.clone(), reach_old.key.clone()].into(),
            max_age: Duration::from_secs(30 * 86_400),
            grace: Duration::from_secs(86_400),
        };
        let dropped: Vec<String> =
            to_drop(&[reach_new, reach_old.clone(), lost_new, lost_mid.clone()], &policy, now)
                .into_iter()
                .map(|e| e.key)
                .collect();
        assert_eq!(dropped, [reach_old.key, lost_mid.key]);
    }

    #[test]
    fn sizes_read_as_people_read_them() {
        assert_eq!(human(512), "512 B");
        assert_eq!(human(3 * 1024 * 1024), "3.0 MiB");
    }
}
