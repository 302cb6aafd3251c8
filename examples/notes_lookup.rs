//! The in-process lookup of a tree's shared verdicts, as `verdicts::adopt` does it: is there a
//! notes ref, and what is the note on this object. `bench/notes_lookup.sh` runs it on
//! repositories with many notes; it prints the mean microseconds of a lookup in a repository
//! opened for it (as one hook run does: open, check the ref, read one note) and of a lookup in
//! a repository already open (libgit2's caches warm), and the lines found.
//!
//!     cargo run --release --example notes_lookup -- REPO OBJECT [ITERATIONS]

use std::time::Instant;

use anyhow::{Context, Result};
use hookgate::verdicts::notes;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [repo_dir, object, rest @ ..] = args.as_slice() else {
        anyhow::bail!("usage: notes_lookup REPO OBJECT [ITERATIONS]");
    };
    let iterations: u32 = rest.first().map_or(Ok(200), |n| n.parse()).context("ITERATIONS")?;
    let oid = git2::Oid::from_str(object).context("OBJECT")?;
    let lookup = |repo: &git2::Repository| if notes::exists(repo) { notes::read(repo, oid).len() } else { 0 };

    // Opened for each lookup, less the opening itself.
    let start = Instant::now();
    for _ in 0..iterations {
        git2::Repository::open(repo_dir).context("opening the repository")?;
    }
    let open_us = start.elapsed().as_secs_f64() * 1e6 / f64::from(iterations);
    let start = Instant::now();
    let mut lines = 0;
    for _ in 0..iterations {
        lines = lookup(&git2::Repository::open(repo_dir)?);
    }
    let fresh_us = start.elapsed().as_secs_f64() * 1e6 / f64::from(iterations) - open_us;

    let repo = git2::Repository::open(repo_dir)?;
    lookup(&repo);
    let start = Instant::now();
    for _ in 0..iterations {
        lookup(&repo);
    }
    let warm_us = start.elapsed().as_secs_f64() * 1e6 / f64::from(iterations);
    hookgate::report::out(format_args!("{fresh_us:.1} {warm_us:.1} {lines}\n"))?;
    Ok(())
}
