//! Verdicts that travel (issue #11): keys that two machines agree on, verdicts exported as
//! signed statements, carried in `refs/notes/hookgate` through the git remote, and used only
//! when a trusted signer vouches for the very key computed here.

use std::collections::BTreeMap;

use crate::common::{TestContext, text};

/// Every check of the standard suite: skipped, the plan (and every key) is still computed.
const ALL: &str = "lint,format,wheel,test,coverage,version,docs,ci-sync";

/// A second clone of `ctx`'s remote, in its own directory with its own HOME and TMPDIR.
fn clone_of(ctx: &TestContext) -> TestContext {
    let other = TestContext::bare_dir();
    other.git(&["clone", "-q", "-b", "main", ctx.remote.to_str().unwrap(), "."]);
    other
}

/// The key of every check of a `run --all` that skips them all.
fn keys(ctx: &TestContext) -> BTreeMap<String, String> {
    ctx.env_mut("HOOKGATE_SKIP", ALL);
    let (v, out) = ctx.json(&["run", "--all"]);
    assert!(out.status.success(), "{}", text(&out));
    let keys: BTreeMap<String, String> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_string(), c["key"].as_str().unwrap().to_string()))
        .collect();
    assert!(keys.len() >= 5, "{v}");
    keys
}

/// A user-level uv config and a constraints file under the context's HOME, named by absolute
/// paths that differ between the clones.
fn user_settings(ctx: &TestContext, uv_toml: &str) {
    let config = ctx.home.join(".config/uv/uv.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, uv_toml).unwrap();
    let constraints = ctx.home.join("constraints.txt");
    std::fs::write(&constraints, "pytest<9\n").unwrap();
    ctx.env_mut("UV_CONSTRAINT", constraints.to_str().unwrap());
    ctx.env_mut("USER", ctx.home.to_str().unwrap());
    ctx.env_mut("HOSTNAME", ctx.work.to_str().unwrap());
}

#[test]
fn two_clones_in_different_places_agree_on_every_key() {
    let ctx = TestContext::new("clean");
    ctx.git(&["push", "-q", "origin", "main"]);
    let other = clone_of(&ctx);
    assert_ne!(ctx.work, other.work);
    assert_ne!(ctx.home, other.home);
    user_settings(&ctx, "index-strategy = \"first-index\"\n");
    user_settings(&other, "index-strategy = \"first-index\"\n");
    let (a, b) = (keys(&ctx), keys(&other));
    assert_eq!(a, b, "keys differ between clones in different directories and HOMEs");
    // The same inputs with another content are another key: the comparison above means something.
    user_settings(&other, "index-strategy = \"unsafe-best-match\"\n");
    let changed = keys(&other);
    assert!(a.iter().all(|(name, key)| &changed[name] != key), "{a:?}\n{changed:?}");
}
