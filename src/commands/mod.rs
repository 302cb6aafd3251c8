//! One file per subcommand, each wiring the pieces in data-flow order:
//! git (which tree) -> config (from that tree) -> plan (keys) -> run (cache or execute) ->
//! report. The checking itself is [`crate::gate`]'s; commands only choose trees and print.

pub mod cache;
pub mod ci;
pub mod hook;
pub mod init;
pub mod install;
pub mod lock;
pub mod release;
pub mod run;
pub mod scm_version;
pub mod status;
pub mod verdicts;
pub mod watch;
