//! Command-line definitions (clap derive) and nothing else; `main` converts these into the
//! library's typed values.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Run your CI's checks on every commit and push, on the exact tree, cached by tree.
#[derive(Debug, Parser)]
#[command(
    name = "hookgate",
    version,
    about,
    long_about = "hookgate runs the checks your CI runs on every `git commit` and `git push`, in fresh \
virtualenvs, on exactly the tree being committed or pushed. Verdicts are cached by git tree, so a \
tree that already passed pushes in milliseconds, and CI runs `hookgate run --all` for parity.\n\n\
With no config, a package gets the whole suite: lint (ruff check) and format (ruff format \
--check) at commit; at push also wheel (sdist + wheel, twine check), test (pytest against the \
installed wheel), coverage, version (not already on PyPI) and docs (Sphinx or MkDocs). A check \
that does not apply is reported as skipped, with the reason. Configure it in `[tool.hookgate]` \
of pyproject.toml or in hookgate.toml; the config is read from the tree being checked.",
    after_help = "Examples:\n  hookgate install                 # commit, merge and push hooks in this clone\n  \
hookgate run --all               # every check on HEAD's tree (what CI runs)\n  \
hookgate run --worktree lint     # one check on the working copy, without staging anything\n  \
hookgate status                  # cached verdicts of the last commits\n  \
HOOKGATE_SKIP=format git commit  # skip a check by name, once\n\n\
Exit codes: 0 every check passed, 1 a check failed, 2 usage/config/environment error or a \
check that could not be set up (not cached), 130 interrupted (Ctrl-C; nothing was cached)."
)]
pub struct Cli {
    /// Run as if started in this directory.
    #[arg(short = 'C', long = "directory", global = true, value_name = "DIR")]
    pub directory: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Install the git hooks in this clone (keeps and chains a hook already there).
    Install {
        /// Which hooks (repeatable); default: pre-commit, pre-merge-commit, pre-push,
        /// post-merge and post-checkout, plus post-commit when the config says `background = true`.
        #[arg(long = "hook-type", short = 't', value_enum)]
        hook_types: Vec<HookArg>,
    },
    /// Propose a config that reproduces the project's own CI (printed; `--write` adds it).
    ///
    /// Reads tox (tox.ini, tox.toml, [tool.tox]), .pre-commit-config.yaml, noxfile.py (the
    /// literal strings of session.install/session.run; it is never run), the Makefile,
    /// .github/workflows/*.yml (run: steps) and pyproject.toml, and prints a [tool.hookgate]
    /// section: pinned lint/format versions, lint scope and args, test paths and requirements,
    /// coverage threshold, docs builder, each line commented with its source. What it cannot
    /// map becomes a commented-out custom check saying why. A file it cannot read or parse is
    /// a warning.
    #[command(after_help = "Examples:\n  hookgate init            # print the proposal\n  \
hookgate init --write    # add it to pyproject.toml (or create hookgate.toml without one)\n\n\
--write appends [tool.hookgate] at the end of pyproject.toml and changes no other byte; it refuses \
(exit 2) when the project already has a hookgate config (hookgate.toml or [tool.hookgate]).")]
    Init {
        /// Add the section to pyproject.toml (at its end; nothing else changes), or write
        /// hookgate.toml when there is no pyproject.toml. Refuses when a config exists.
        #[arg(long)]
        write: bool,
    },
    /// Remove hookgate's hooks and restore the ones they replaced.
    Uninstall {
        /// Which hooks (repeatable); default: every hook hookgate installs.
        #[arg(long = "hook-type", short = 't', value_enum)]
        hook_types: Vec<HookArg>,
    },
    /// Run checks on a tree (HEAD's by default), answering from the cache where possible.
    Run(RunArgs),
    /// Show the cached verdict of each check for the last commits of this branch (runs nothing).
    Status {
        /// How many commits to show.
        #[arg(short = 'n', long, default_value_t = 10)]
        count: usize,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Publish HEAD: refuses unless on the main branch, clean and pushed, every check passes and
    /// the version is free; uploads the dists the `wheel` check built and pushes the tag vX.Y.Z
    /// (for a version from git, `release X.Y.Z` tags HEAD before the checks build it).
    Release {
        /// The version to release. For a version from git (setuptools-scm, hatch-vcs) HEAD is
        /// tagged `vX.Y.Z` (or as the project's tag settings read) before the checks build it;
        /// without it, HEAD's own version tag is released. A static version must match.
        #[arg(value_name = "X.Y.Z")]
        version: Option<String>,
        /// Publish a development or local version from git (`.devN`, `+local`) instead of
        /// refusing it; a version from git without a tag is then published untagged.
        #[arg(long)]
        allow_dev: bool,
        /// Upload endpoint (default: PyPI's; with `--repository testpypi`, TestPyPI's).
        #[arg(long, value_name = "URL")]
        repository_url: Option<String>,
        /// Simple index the version is checked against (default: PyPI's or TestPyPI's).
        #[arg(long, value_name = "URL")]
        index_url: Option<String>,
        /// `pypi` (default) or `testpypi`.
        #[arg(long, value_name = "NAME")]
        repository: Option<String>,
        /// Check everything and say what would be uploaded and tagged; upload nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write `hookgate.lock`: the exact versions every check installs, for every platform.
    ///
    /// Checks the working copy (running what has no verdict yet) to learn what each check
    /// installs, then writes each requirement set and its pinned packages. Commit the file: CI
    /// and teammates then install exactly what your gate installed.
    Lock,
    /// Re-resolve `hookgate.lock` and the local resolution cache to today's releases.
    ///
    /// Prints every version that changes; checks whose environment changed run again. Like
    /// `pre-commit autoupdate`, with an optional cooldown for fresh releases.
    Update {
        /// Only take releases at least this many days old (`uv --exclude-newer`).
        #[arg(long, value_name = "N")]
        cooldown_days: Option<u64>,
    },
    /// Print the version a build gets from git (setuptools-scm / hatch-vcs packages).
    ///
    /// The checks that build the package get this version: setuptools-scm's rules without the
    /// local part (`+g<hash>`); a working copy that differs from HEAD counts as the next commit.
    ScmVersion {
        /// The revision whose tree to version (default: HEAD).
        #[arg(value_name = "REV", conflicts_with = "worktree")]
        rev: Option<String>,
        /// Version the working copy as `git add -A` would stage it (as the next commit).
        #[arg(long)]
        worktree: bool,
    },
    /// Generate CI configuration from the same config (`hookgate ci github`).
    Ci {
        /// Which CI system.
        #[command(subcommand)]
        system: CiSystem,
    },
    /// Inspect or trim the verdict cache (`<git-common-dir>/hookgate/`).
    Cache {
        /// What to do with it.
        #[command(subcommand)]
        action: CacheAction,
    },
    /// Share verdicts through the git remote: signed statements in `refs/notes/hookgate`.
    Verdicts {
        /// What to do.
        #[command(subcommand)]
        action: VerdictsAction,
    },
    /// Re-check the working copy on every change, so the cache is warm when you push.
    Watch {
        /// Quiet time after the last change before checking, in milliseconds.
        #[arg(long, default_value_t = 500, value_name = "MS")]
        debounce_ms: u64,
        /// Stream one JSON object per line (per verdict, and when a run is done or superseded).
        #[arg(long)]
        json: bool,
    },
    /// Entry point of the installed hook scripts (not for direct use).
    #[command(hide = true)]
    Hook {
        /// Which hook is running.
        #[arg(value_enum)]
        hook: HookArg,
        /// Directory of the running hook script (where an earlier hook was kept).
        #[arg(long)]
        hook_dir: Option<PathBuf>,
        /// The arguments git passed to the hook.
        #[arg(last = true)]
        args: Vec<String>,
    },
}

/// What `hookgate verdicts` does.
#[derive(Debug, Subcommand)]
pub enum VerdictsAction {
    /// Print a statement (in-toto test result) per cached verdict of a tree, one JSON line
    /// each; signed note lines with `--sign`.
    Export {
        /// The tree of this revision (default: HEAD).
        #[arg(long, value_name = "REV")]
        tree: Option<String>,
        /// Sign each statement with the configured key (git config hookgate.signingKey).
        #[arg(long)]
        sign: bool,
        /// The verdicts of a run that tested these dists (`run --dists DIR`): their keys.
        #[arg(long, value_name = "DIR")]
        dists: Option<std::path::PathBuf>,
    },
    /// Sign the cached verdicts of a tree, note them on it and push `refs/notes/hookgate`.
    Push {
        /// The tree of this revision (default: HEAD).
        #[arg(long, value_name = "REV", conflicts_with = "statements")]
        tree: Option<String>,
        /// Sign the statements of this file instead (JSON lines, as `verdicts export` prints
        /// them; each is noted on its own tree): CI's signing job signs what its check jobs
        /// exported, so the key never meets the project's code.
        #[arg(long, value_name = "FILE")]
        statements: Option<std::path::PathBuf>,
        /// The remote to push to.
        #[arg(long, default_value = "origin")]
        remote: String,
    },
    /// Fetch the remote's `refs/notes/hookgate` and merge it into ours (a union of lines).
    Pull {
        /// The remote to fetch from.
        #[arg(long, default_value = "origin")]
        remote: String,
    },
}

/// What `hookgate cache` does.
#[derive(Debug, Subcommand)]
pub enum CacheAction {
    /// Print where the cache is.
    Dir,
    /// Drop what no recent commit needs: verdicts, logs, artifacts and reports older than
    /// `--max-age` days, and those of trees no recent commit of a branch or tag has (after a day
    /// of grace, so pre-warmed trees not yet committed stay).
    Gc {
        /// Anything older than this many days goes, even for recent commits.
        #[arg(long, default_value_t = 30, value_name = "DAYS")]
        max_age: u64,
        /// Commits per branch and tag whose verdicts are kept.
        #[arg(long, default_value_t = 20, value_name = "N")]
        depth: usize,
        /// List what would go; remove nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// CI systems `hookgate ci` writes configuration for.
#[derive(Debug, Subcommand)]
pub enum CiSystem {
    /// Write .github/workflows/hookgate.yml: build the dists once, check them on every Python,
    /// publish those files to TestPyPI (same-repository PRs) and PyPI (tags; `pypi` environment
    /// for approval), tag vX.Y.Z on main for a static version.
    Github {
        /// Write nothing; exit 1 with a diff when the committed workflow differs from the config.
        #[arg(long)]
        check: bool,
        /// Also write .github/dependabot.yml (weekly updates of the workflow's actions).
        #[arg(long)]
        dependabot: bool,
    },
}

/// Arguments of `hookgate run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Only these checks (and what they need).
    #[arg(value_name = "CHECK")]
    pub checks: Vec<String>,
    /// Every enabled check, whatever its stages (the default; what CI runs).
    #[arg(long, conflicts_with_all = ["stage", "checks"])]
    pub all: bool,
    /// Only the checks of this stage.
    #[arg(long, value_enum, conflicts_with = "checks")]
    pub stage: Option<StageArg>,
    /// Check this revision's tree instead of HEAD's.
    #[arg(long, value_name = "REV", conflicts_with = "worktree")]
    pub tree: Option<String>,
    /// Check the working copy as `git add -A` would stage it (the real index is not touched).
    #[arg(long)]
    pub worktree: bool,
    /// Ignore cached verdicts and run again.
    #[arg(long)]
    pub force: bool,
    /// Checks to run in parallel (default: number of cores).
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Print one JSON object on stdout (the table goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Also write a JUnit XML report (one testcase per check) for CI systems.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<std::path::PathBuf>,
    /// Test the wheel and sdist in DIR instead of building them: `wheel` checks they are this
    /// tree's project and version and validates them, `test` and `coverage` install that wheel
    /// (CI builds once and tests those bytes on every Python).
    #[arg(long, value_name = "DIR")]
    pub dists: Option<std::path::PathBuf>,
}

/// A stage, as given on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StageArg {
    /// Checks run by `git commit`.
    PreCommit,
    /// Checks run by `git push`.
    PrePush,
}

/// A hook, as given on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum HookArg {
    /// Runs stage pre-commit on the index's tree.
    PreCommit,
    /// Runs stage pre-commit on the index's tree when `git merge` creates a merge commit.
    PreMergeCommit,
    /// Runs stage pre-push on each pushed tip's tree.
    PrePush,
    /// Starts the pre-push checks of the new commit in the background (pre-warms the push).
    PostCommit,
    /// Pulls the shared verdicts in the background after a merge or pull (once sharing is set up).
    PostMerge,
    /// Pulls the shared verdicts in the background after a branch checkout (the same).
    PostCheckout,
}
