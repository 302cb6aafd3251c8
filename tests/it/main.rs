//! hookgate's integration tests, one binary (one link step): each module states the behaviour
//! of one area, driving the real binary with real git, CPython, uv and servers on loopback.
//! `common` holds the `TestContext`.

mod common;

mod background;
mod ci;
mod gate;
mod hooks;
mod install_script;
mod lock;
mod release;
mod run;
mod suite;
mod version;
mod watch;
