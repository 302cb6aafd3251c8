//! One function per subcommand, wiring the pieces in data-flow order:
//! git (which tree) -> config (from that tree) -> plan (keys) -> run (cache or execute) -> report.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::json;

use crate::cache::{Cache, Verdict};
use crate::config::{self, Config, Stage};
use crate::env::HostEnv;
use crate::git::{Repo, TreeRef, parse_push_lines, short};
use crate::hooks::{self, HookType};
use crate::plan::{self, Selection};
use crate::process::Cancel;
use crate::report::TreeReport;
use crate::run::{Outcome, Runner, Status};
use crate::venv;

/// What every command gets: the host environment, the cancel flag, where it runs.
pub struct Session {
    /// The environment, read once.
    pub host: HostEnv,
    /// Set by Ctrl-C / SIGTERM.
    pub cancel: Cancel,
    /// Working directory to discover the repository from.
    pub cwd: PathBuf,
}

/// Which tree `run` checks.
#[derive(Debug, Clone)]
pub enum Target {
    /// HEAD's tree.
    Head,
    /// A revision's tree.
    Rev(String),
    /// The working copy, as `git add -A` would stage it.
    Worktree,
}

/// Options of `run`.
pub struct RunOptions {
    /// Which checks.
    pub selection: Selection,
    /// Which tree.
    pub target: Target,
    /// Ignore the cache.
    pub force: bool,
    /// Parallel checks.
    pub jobs: Option<usize>,
    /// JSON on stdout.
    pub json: bool,
    /// Where to write JUnit XML.
    pub junit: Option<PathBuf>,
}

/// Exit code for a set of reports: 0 when all passed, 1 otherwise.
fn exit_code(passed: bool) -> u8 {
    if passed { 0 } else { 1 }
}

/// How `check_tree` runs: the defaults are a plain, cache-using run under the session's flag.
#[derive(Default, Clone, Copy)]
pub struct How<'a> {
    /// Ignore cached verdicts.
    pub force: bool,
    /// Parallel checks (default: cores).
    pub jobs: Option<usize>,
    /// A flag of its own (a `watch` run that a newer tree supersedes); default: the session's.
    pub cancel: Option<&'a Cancel>,
    /// Called with each outcome as it is known.
    pub observer: Option<&'a (dyn Fn(&Outcome) + Sync)>,
}

/// Reads the config of `tree` from its blobs.
pub fn load_config(repo: &Repo, tree: &TreeRef) -> Result<Config> {
    let hookgate = repo.read_file(tree.tree, "hookgate.toml")?;
    let pyproject = repo.read_file(tree.tree, "pyproject.toml")?;
    Ok(config::load(hookgate.as_deref(), pyproject.as_deref())?)
}

/// Plans and runs `selection` on `tree`; the cached path never leaves `Runner::execute`'s
/// first lines.
pub fn check_tree(
    s: &Session,
    repo: &Repo,
    tree: &TreeRef,
    selection: &Selection,
    how: How<'_>,
) -> Result<(plan::Plan, Vec<Outcome>)> {
    let How { force, jobs, cancel, observer } = how;
    let cache = Cache::new(repo.common_dir());
    let config = load_config(repo, tree)?;
    let interp = venv::find_interpreter(config.python.as_deref(), &s.host, cache.root())?;
    let plan = plan::build(repo, tree, &config, selection, &interp, &s.host)?;
    let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let cancel = cancel.unwrap_or(&s.cancel).clone();
    let runner =
        Runner { repo, cache: &cache, interp: &interp, host: &s.host, cancel, jobs, force, observer };
    let outcomes = runner.execute(&plan)?;
    Ok((plan, outcomes))
}

/// `hookgate run`.
pub fn run(s: &Session, opts: RunOptions) -> Result<u8> {
    let repo = Repo::discover(&s.cwd)?;
    let tree = match &opts.target {
        Target::Head => repo.head()?,
        Target::Rev(rev) => repo.resolve(rev)?,
        Target::Worktree => repo.worktree_tree()?,
    };
    let (plan, outcomes) = check_tree(
        s,
        &repo,
        &tree,
        &opts.selection,
        How { force: opts.force, jobs: opts.jobs, ..How::default() },
    )?;
    let report = TreeReport { tree: &tree, stage: &plan.stage, outcomes: &outcomes };
    if let Some(path) = &opts.junit {
        std::fs::write(path, report.to_junit()).with_context(|| format!("writing {}", path.display()))?;
    }
    if opts.json {
        report.write_human(&mut std::io::stderr(), console::colors_enabled_stderr()).ok();
        let mut out = std::io::stdout();
        writeln!(out, "{}", report.to_json()).context("writing JSON")?;
    } else {
        report.write_human(&mut std::io::stdout(), console::colors_enabled()).ok();
    }
    Ok(exit_code(report.passed()))
}

/// `hookgate hook NAME`: what the installed scripts call.
pub fn hook(s: &Session, hook: HookType, hook_dir: Option<&Path>, args: &[String]) -> Result<u8> {
    let mut stdin = Vec::new();
    if hook == HookType::PrePush {
        std::io::stdin().read_to_end(&mut stdin).context("reading the pre-push input")?;
    }
    let repo = Repo::discover(&s.cwd)?;
    if let Some(dir) = hook_dir
        && let Some(code) = hooks::run_legacy(dir, hook.name(), args, &stdin)?
        && code != 0
    {
        eprintln!(
            "hookgate: your earlier {} hook ({}) failed with exit {code}; not running the checks",
            hook.name(),
            hooks::legacy_path(dir, hook.name()).display()
        );
        return Ok(1);
    }
    if hook == HookType::PostCommit {
        return start_background(&repo);
    }
    let trees: Vec<TreeRef> = match hook {
        HookType::PreCommit => vec![repo.index_tree(s.host.index_file.as_deref())?],
        HookType::PostCommit => unreachable!("handled above"),
        HookType::PrePush => {
            let text = String::from_utf8_lossy(&stdin);
            let mut trees: Vec<TreeRef> = Vec::new();
            for update in parse_push_lines(&text)? {
                if update.is_deletion() {
                    continue;
                }
                match repo.pushed_tree(&update)? {
                    Some(t) if !trees.iter().any(|x| x.tree == t.tree) => trees.push(t),
                    Some(_) => {}
                    None => eprintln!("hookgate: {} is not a commit; nothing to check", update.local_ref),
                }
            }
            trees
        }
    };
    let stage = match hook {
        HookType::PreCommit => Stage::PreCommit,
        _ => Stage::PrePush,
    };
    let mut passed = true;
    let mut err = std::io::stderr();
    let color = console::colors_enabled_stderr();
    for tree in &trees {
        let (plan, outcomes) = check_tree(s, &repo, tree, &Selection::Stage(stage), How::default())?;
        let report = TreeReport { tree, stage: &plan.stage, outcomes: &outcomes };
        passed &= report.passed();
        let all_cached_pass = outcomes.iter().all(|o| o.cached && o.status == Status::Pass);
        if all_cached_pass && !outcomes.is_empty() {
            writeln!(err, "hookgate: {} on {}: {} checks passed (cached)", stage, tree.label, outcomes.len())
                .ok();
        } else {
            report.write_human(&mut err, color).ok();
        }
    }
    if !passed {
        writeln!(err, "hookgate: {} refused; fix the failures above (or skip once with --no-verify)", stage)
            .ok();
    }
    Ok(exit_code(passed))
}

/// The post-commit hook: start `hookgate run --stage pre-push --tree <new commit>` detached
/// (own process group, stdio to `<git-common-dir>/hookgate/background.log`, which git does not
/// wait for) and return at once. A push that comes while it runs waits for it per check.
fn start_background(repo: &Repo) -> Result<u8> {
    use std::os::unix::process::CommandExt;
    let head = repo.head()?;
    let Some(commit) = head.commit else { return Ok(0) };
    let cache = Cache::new(repo.common_dir());
    std::fs::create_dir_all(cache.root()).with_context(|| format!("creating {}", cache.root().display()))?;
    let log_path = cache.root().join("background.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("opening {}", log_path.display()))?;
    let bin = std::env::current_exe().context("finding hookgate's own path")?;
    let child = std::process::Command::new(bin)
        .args(["run", "--stage", "pre-push", "--tree", &commit.to_string()])
        .current_dir(repo.workdir())
        .env_remove("GIT_INDEX_FILE")
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone().context("sharing the background log")?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .context("starting the background run")?;
    eprintln!(
        "hookgate: checking {} in the background (pid {}); `git push` will use its verdicts",
        short(commit),
        child.id()
    );
    Ok(0)
}

/// `hookgate ci github [--check]`: the workflow from the working copy's config files.
pub fn ci_github(s: &Session, check: bool) -> Result<u8> {
    let repo = Repo::discover(&s.cwd)?;
    let read = |name: &str| std::fs::read_to_string(repo.workdir().join(name)).ok();
    let config = config::load(read("hookgate.toml").as_deref(), read("pyproject.toml").as_deref())?;
    let want = crate::ci::github_workflow(&config);
    let path = repo.workdir().join(crate::ci::WORKFLOW_PATH);
    let have = std::fs::read_to_string(&path).ok();
    if check {
        return Ok(match have {
            Some(h) if h == want => {
                println!("hookgate: {} matches the config", crate::ci::WORKFLOW_PATH);
                0
            }
            Some(h) => {
                println!(
                    "hookgate: {} differs from the config (run `hookgate ci github`):",
                    crate::ci::WORKFLOW_PATH
                );
                print!("{}", crate::ci::diff(&h, &want));
                1
            }
            None => {
                println!("hookgate: {} does not exist (run `hookgate ci github`)", crate::ci::WORKFLOW_PATH);
                1
            }
        });
    }
    if have.as_deref() != Some(want.as_str()) {
        crate::cache::write_atomic(&path, want.as_bytes())?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).ok();
    }
    println!("hookgate: wrote {}", path.display());
    Ok(0)
}

/// `hookgate install`: the named hooks, or pre-commit + pre-push (+ post-commit when HEAD's
/// config says `background = true`).
pub fn install(s: &Session, hooks: Option<Vec<HookType>>) -> Result<u8> {
    let repo = Repo::discover(&s.cwd)?;
    let hooks = hooks.unwrap_or_else(|| {
        let mut h = vec![HookType::PreCommit, HookType::PrePush];
        let background =
            repo.head().ok().and_then(|t| load_config(&repo, &t).ok()).is_some_and(|c| c.background);
        if background {
            h.push(HookType::PostCommit);
        }
        h
    });
    let bin = std::env::current_exe().context("finding hookgate's own path")?;
    let bin = bin.canonicalize().unwrap_or(bin);
    for line in hooks::install(&repo, &hooks, &bin)? {
        println!("hookgate: {line}");
    }
    Ok(0)
}

/// `hookgate uninstall`.
pub fn uninstall(s: &Session, hooks: &[HookType]) -> Result<u8> {
    let repo = Repo::discover(&s.cwd)?;
    let said = hooks::uninstall(&repo, hooks)?;
    if said.is_empty() {
        println!("hookgate: no hookgate hooks were installed");
    }
    for line in said {
        println!("hookgate: {line}");
    }
    Ok(0)
}

/// `hookgate status`: cached verdicts of the last commits, computed from keys alone.
pub fn status(s: &Session, count: usize, as_json: bool) -> Result<u8> {
    let repo = Repo::discover(&s.cwd)?;
    repo.head()?;
    let cache = Cache::new(repo.common_dir());
    let mut rows = Vec::new();
    for (commit, tree, subject) in repo.recent_commits(count)? {
        let tref = TreeRef { tree, commit: Some(commit), label: short(commit) };
        let verdicts: Vec<(String, &str)> = match load_config(&repo, &tref).and_then(|config| {
            let interp = venv::find_interpreter(config.python.as_deref(), &s.host, cache.root())?;
            plan::build(&repo, &tref, &config, &Selection::All, &interp, &s.host)
        }) {
            Ok(plan) => plan
                .checks
                .iter()
                .map(|c| {
                    let v = match cache.get(&c.key).map(|r| r.verdict) {
                        Some(Verdict::Pass) => "pass",
                        Some(Verdict::Fail) => "fail",
                        None => "unknown",
                    };
                    (c.def.name.clone(), v)
                })
                .collect(),
            Err(e) => {
                eprintln!("hookgate: {}: {e:#}", short(commit));
                vec![("config".to_string(), "error")]
            }
        };
        rows.push((commit, tree, subject, verdicts));
    }
    if as_json {
        let commits: Vec<_> = rows
            .iter()
            .map(|(c, t, subj, v)| {
                let checks: serde_json::Map<String, serde_json::Value> =
                    v.iter().map(|(n, s)| (n.clone(), json!(s))).collect();
                json!({"commit": c.to_string(), "tree": t.to_string(), "subject": subj, "checks": checks})
            })
            .collect();
        println!("{}", json!({ "head": repo.head_description(), "commits": commits }));
        return Ok(0);
    }
    println!("hookgate: cached verdicts on {}", repo.head_description());
    for (c, _, subj, v) in rows {
        let subj: String = subj.chars().take(40).collect();
        let verdicts: Vec<String> = v.iter().map(|(n, s)| format!("{n}:{s}")).collect();
        println!("  {}  {:<40}  {}", short(c), subj, verdicts.join(" "));
    }
    Ok(0)
}
