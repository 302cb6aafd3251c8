//! `hookgate run --dists DIR`: the `wheel` check validates given dists instead of building (and
//! refuses dists that are not this tree's project and version), `test` installs exactly those
//! bytes, their SHA-256 are in the keys and in `--json`. Builds get `SOURCE_DATE_EPOCH` from
//! the commit, so the same commit gives the same bytes.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{TestContext, checks, log_of, text};

/// The `dists` of a `--json` report, as (file, sha256, path).
fn dists(v: &Value) -> Vec<(String, String, PathBuf)> {
    v["dists"]
        .as_array()
        .unwrap_or_else(|| panic!("no dists in {v}"))
        .iter()
        .map(|d| {
            (
                d["file"].as_str().unwrap().to_string(),
                d["sha256"].as_str().unwrap().to_string(),
                PathBuf::from(d["path"].as_str().unwrap()),
            )
        })
        .collect()
}

/// The dists of `v` copied into a fresh directory outside the repository.
fn copy_out(v: &Value, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for (file, _, path) in dists(v) {
        std::fs::copy(path, to.join(file)).unwrap();
    }
}

fn sha256(path: &Path) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(std::fs::read(path).unwrap()).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn given_dists_are_validated_and_tested_without_a_build() {
    let ctx = TestContext::new("clean");
    let (built, out) = ctx.json(&["run", "wheel"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let built_dists = dists(&built);
    assert_eq!(built_dists.len(), 2, "{built}");
    for (_, sha, path) in &built_dists {
        assert_eq!(&sha256(path), sha);
    }
    let given = ctx.home.join("given");
    copy_out(&built, &given);

    let (v, out) = ctx.json(&["run", "test", "--dists", given.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out), log_of(&v, "wheel"));
    let c = checks(&v);
    assert_eq!((c["wheel"]["status"].as_str(), c["test"]["status"].as_str()), (Some("pass"), Some("pass")));
    // Validated, not built: the log names each given file with its hash, and no build ran.
    let log = log_of(&v, "wheel");
    for (file, sha, _) in &built_dists {
        assert!(log.contains(&format!("given {file} sha256:{sha}")), "{log}");
    }
    assert!(log.contains("the given dists are hookgate-sample 0.1.0"), "{log}");
    assert!(!log.contains(" build ") && log.contains("$ twine check "), "{log}");
    // The same bytes are reported (and were installed by `test`)...
    let reported: Vec<(String, String)> = dists(&v).into_iter().map(|(f, s, _)| (f, s)).collect();
    let expected: Vec<(String, String)> =
        built_dists.iter().map(|(f, s, _)| (f.clone(), s.clone())).collect();
    assert_eq!(reported, expected);
    let test_log = log_of(&v, "test");
    let wheel_key = c["wheel"]["key"].as_str().unwrap();
    assert!(test_log.contains(&format!("{wheel_key}/hookgate_sample-0.1.0-py3-none-any.whl")), "{test_log}");
    // ...under keys of their own: given dists are not the verdict of a build.
    assert_ne!(c["wheel"]["key"], checks(&built)["wheel"]["key"]);

    // The same dists again: answered from the cache.
    let (v, _) = ctx.json(&["run", "test", "--dists", given.to_str().unwrap()]);
    assert_eq!(checks(&v)["test"]["cached"], true);
}

#[test]
fn dists_of_another_version_or_project_fail_and_nothing_installs_them() {
    let ctx = TestContext::new("clean");
    let (built, _) = ctx.json(&["run", "wheel"]);
    let given = ctx.home.join("given");
    copy_out(&built, &given);
    let pyproject = std::fs::read_to_string(ctx.work.join("pyproject.toml")).unwrap();
    ctx.write("pyproject.toml", &pyproject.replace("version = \"0.1.0\"", "version = \"0.2.0\""));
    ctx.git(&["commit", "-q", "-am", "bump"]);
    let (v, out) = ctx.json(&["run", "test", "--dists", given.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let c = checks(&v);
    assert_eq!(c["wheel"]["status"], "fail");
    let why = c["wheel"]["reason"].as_str().unwrap_or_default();
    assert!(why.contains("is version 0.1.0 but the tree is 0.2.0"), "{v}");
    assert_ne!(c["test"]["status"], "pass");
    assert_eq!(v["dists"], serde_json::json!([]));

    // Another project's name.
    ctx.write("pyproject.toml", &pyproject.replace("name = \"hookgate-sample\"", "name = \"other-pkg\""));
    ctx.git(&["commit", "-q", "-am", "rename"]);
    let (v, out) = ctx.json(&["run", "wheel", "--dists", given.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let why = checks(&v)["wheel"]["reason"].as_str().unwrap_or_default().to_string();
    assert!(why.contains("but the tree is other-pkg"), "{v}");

    // A directory without dists is a usage error, before anything runs.
    let empty = ctx.home.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = ctx.hookgate(&["run", "wheel", "--dists", empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no distributions"), "{}", text(&out));
}

/// The modification times of a wheel's entries, as (year, month, day).
fn entry_dates(wheel: &Path) -> Vec<(u16, u8, u8)> {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(wheel).unwrap()).unwrap();
    (0..archive.len())
        .map(|i| {
            let d = archive.by_index(i).unwrap().last_modified().unwrap();
            (d.year(), d.month(), d.day())
        })
        .collect()
}

#[test]
fn builds_take_source_date_epoch_from_the_commit_so_the_bytes_repeat() {
    let ctx = TestContext::new("clean");
    // A commit made long ago: its time, not the clock's, must date the wheel's entries.
    ctx.git_cmd(&["commit", "-q", "--amend", "--no-edit"])
        .env("GIT_COMMITTER_DATE", "2021-03-04T05:06:07Z")
        .output()
        .unwrap();
    let epoch = ctx.git(&["log", "-1", "--format=%ct"]);
    assert_eq!(epoch, "1614834367");
    let (first, out) = ctx.json(&["run", "wheel"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(log_of(&first, "wheel").contains(&format!("SOURCE_DATE_EPOCH={epoch}")));
    let wheel = dists(&first).into_iter().find(|(f, _, _)| f.ends_with(".whl")).unwrap().2;
    let dates = entry_dates(&wheel);
    assert!(!dates.is_empty() && dates.iter().all(|d| *d == (2021, 3, 4)), "{dates:?}");

    // Built again in a fresh scratch directory: the same bytes (hatchling honours it).
    let (again, _) = ctx.json(&["run", "wheel", "--force"]);
    let sums = |v: &Value| dists(v).into_iter().map(|(f, s, _)| (f, s)).collect::<Vec<_>>();
    assert_eq!(sums(&again), sums(&first));

    // A SOURCE_DATE_EPOCH the person running hookgate sets wins: other bytes.
    ctx.env_mut("SOURCE_DATE_EPOCH", "1700000000");
    let (other, _) = ctx.json(&["run", "wheel", "--force"]);
    assert!(log_of(&other, "wheel").contains("SOURCE_DATE_EPOCH=1700000000"));
    assert_ne!(sums(&other), sums(&first));
}
