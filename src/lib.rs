//! hookgate: run a Python package's CI checks on the exact tree being committed or pushed, in
//! fresh virtualenvs, with verdicts cached by git tree. The modules follow the data flow:
//! `git` (which tree) -> `config` (from that tree's blobs) -> `plan` (DAG and keys) -> `run`
//! (the cache, or workers executing `checks` through `venv` and `process`) -> `report`.
//! `gate` is the API every entry point shares; `commands` holds one file per subcommand;
//! `hooks` installs the scripts git runs; `outcome` names how things end.
//! docs/architecture.md has the map.

pub mod cache;
pub mod checks;
pub mod ci;
pub mod commands;
pub mod config;
pub mod cutoff;
pub mod dists;
pub mod env;
pub mod error;
pub mod filecache;
pub mod gate;
pub mod gc;
pub mod git;
pub mod hooks;
pub mod index;
pub mod init;
pub mod inputs;
pub mod outcome;
pub mod pins;
pub mod plan;
pub mod process;
pub mod report;
pub mod resolve;
pub mod run;
pub mod scm;
pub mod secret;
pub mod tooling;
pub mod venv;
pub mod verdicts;
