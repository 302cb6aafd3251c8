//! hookgate's integration tests, one binary (one link step): each module states the behaviour
//! of one area, driving the real binary with real git, CPython, uv and servers on loopback.
//! `common` holds the `TestContext`.

// A test may say on stderr why it skipped itself; the print policy is for hookgate's own output.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod common;

mod background;
mod cache_gc;
mod ci;
mod corpus;
mod cutoff;
mod dists;
mod env;
mod envs;
mod export;
mod force;
mod gate;
mod gitedge;
mod hooks;
mod index;
mod init;
mod install_script;
mod interpreter;
mod interrupt;
mod lintcache;
mod lock;
mod newcomer;
mod output;
mod pypkg;
mod release;
mod resolution;
mod run;
mod scm;
mod security;
mod sharing;
mod snapshots;
mod store;
mod suite;
mod testenv;
mod verdicts;
mod version;
mod watch;
mod workflow;
