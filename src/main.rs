//! Thin entry point: parse arguments, convert them to library values, dispatch, map the result
//! to an exit code (0 pass, 1 a check failed, 2 usage/config/environment error, 130 interrupted).

mod cli;

use std::process::ExitCode;

use clap::Parser;
use hookgate::commands::{self, release, run::RunOptions, run::Target};
use hookgate::config::Stage;
use hookgate::env::HostEnv;
use hookgate::error::Error;
use hookgate::gate::Session;
use hookgate::hooks::HookType;
use hookgate::outcome::ExitStatus;
use hookgate::plan::Selection;
use hookgate::process::Cancel;

use cli::{Cli, Command, HookArg, StageArg};

fn hook_type(h: HookArg) -> HookType {
    match h {
        HookArg::PreCommit => HookType::PreCommit,
        HookArg::PreMergeCommit => HookType::PreMergeCommit,
        HookArg::PrePush => HookType::PrePush,
        HookArg::PostCommit => HookType::PostCommit,
        HookArg::PostMerge => HookType::PostMerge,
        HookArg::PostCheckout => HookType::PostCheckout,
    }
}

/// The hooks named on the command line; `None` means "the defaults" (decided from the config).
fn hook_types(args: &[HookArg]) -> Option<Vec<HookType>> {
    (!args.is_empty()).then(|| args.iter().map(|&h| hook_type(h)).collect())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Set by Ctrl-C/SIGTERM once the runner watches signals; it then kills every child group.
    let cancel = Cancel::default();
    let cwd = match cli.directory.clone().map_or_else(std::env::current_dir, Ok) {
        Ok(d) => d,
        Err(e) => {
            hookgate::report::note(format_args!("error: cannot read the current directory: {e}"));
            return ExitStatus::Error.into();
        }
    };
    let session = Session { host: HostEnv::from_process(), cancel, cwd };
    let result = match cli.command {
        Command::Install { hook_types: h } => commands::install::install(&session, hook_types(&h)),
        Command::Uninstall { hook_types: h } => {
            commands::install::uninstall(&session, &hook_types(&h).unwrap_or_else(|| HookType::ALL.to_vec()))
        }
        Command::Lock => commands::lock::lock(&session),
        Command::Update { cooldown_days } => commands::lock::update(&session, cooldown_days),
        Command::Init { write } => commands::init::init(&session, write),
        Command::Status { count, json } => commands::status::status(&session, count, json),
        Command::Ci { system: cli::CiSystem::Github { check, dependabot } } => {
            commands::ci::github(&session, check, dependabot)
        }
        Command::Release { version, allow_dev, repository_url, index_url, repository, dry_run } => {
            let opts = release::Options { version, allow_dev, dry_run };
            release::Target::resolve(repository.as_deref(), repository_url, index_url)
                .and_then(|target| release::release(&session, &target, &opts))
        }
        Command::ScmVersion { rev, worktree } => {
            commands::scm_version::scm_version(&session, rev.as_deref(), worktree)
        }
        Command::Cache { action: cli::CacheAction::Dir } => commands::cache::dir(&session),
        Command::Cache { action: cli::CacheAction::Gc { max_age, depth, dry_run } } => {
            commands::cache::gc(&session, max_age, depth, dry_run)
        }
        Command::Verdicts { action } => match action {
            cli::VerdictsAction::Export { tree, sign, dists } => {
                commands::verdicts::export(&session, tree.as_deref(), sign, dists.as_deref())
            }
            cli::VerdictsAction::Push { tree, statements: None, remote } => {
                commands::verdicts::push(&session, tree.as_deref(), &remote)
            }
            cli::VerdictsAction::Push { statements: Some(file), remote, .. } => {
                commands::verdicts::push_statements(&session, &file, &remote)
            }
            cli::VerdictsAction::Pull { remote } => commands::verdicts::pull(&session, &remote),
        },
        Command::Watch { debounce_ms, json } => {
            commands::watch::watch(&session, std::time::Duration::from_millis(debounce_ms), json)
        }
        Command::Hook { hook, hook_dir, args } => {
            commands::hook::hook(&session, hook_type(hook), hook_dir.as_deref(), &args)
        }
        Command::Run(r) => {
            let selection = match (r.stage, r.checks.is_empty()) {
                (Some(StageArg::PreCommit), _) => Selection::Stage(Stage::PreCommit),
                (Some(StageArg::PrePush), _) => Selection::Stage(Stage::PrePush),
                (None, false) => Selection::Names(r.checks),
                (None, true) => Selection::All,
            };
            let target = match (r.tree, r.worktree) {
                (Some(rev), _) => Target::Rev(rev),
                (None, true) => Target::Worktree,
                (None, false) => Target::Head,
            };
            let opts = RunOptions {
                selection,
                target,
                force: r.force,
                jobs: r.jobs.map(usize::from),
                json: r.json,
                junit: r.junit,
                dists: r.dists,
            };
            commands::run::run(&session, &opts)
        }
    };
    match result {
        Ok(status) => status.into(),
        // A closed pipe (`hookgate status | head -1`) means the reader has what it wanted.
        Err(e) if is_broken_pipe(&e) => ExitStatus::Success.into(),
        Err(e) => {
            let status = e.downcast_ref::<Error>().map_or(ExitStatus::Error, Error::exit_status);
            hookgate::report::note(format_args!("error: {e:#}"));
            status.into()
        }
    }
}

/// Whether the error comes from writing to a pipe whose reader has gone.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
