//! hookgate: run a Python package's CI checks on the exact tree being committed or pushed, in
//! fresh virtualenvs, with verdicts cached by git tree. The modules follow the data flow:
//! `config` -> `git` -> `plan` -> `cache` / `run` (with `venv`, `process`, `checks`) -> `report`;
//! `hooks` installs the entry points, `commands` wires one subcommand each, and `watch` keeps the
//! cache warm.

pub mod cache;
pub mod checks;
pub mod ci;
pub mod commands;
pub mod config;
pub mod env;
pub mod error;
pub mod git;
pub mod hooks;
pub mod index;
pub mod plan;
pub mod process;
pub mod release;
pub mod report;
pub mod run;
pub mod venv;
pub mod watch;
