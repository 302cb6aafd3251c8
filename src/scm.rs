//! Versions from git, computed as setuptools-scm (and hatch-vcs, which calls it) computes them,
//! for packages whose version is dynamic: the snapshot a build sees has no `.git`, so the plan
//! hands the build this answer as `SETUPTOOLS_SCM_PRETEND_VERSION`, and it is part of the keys
//! of the checks that build the package.
//!
//! The rules, as in setuptools-scm 10 (vcs-versioning 2): the nearest tag `git describe --tags
//! --match '*[0-9]*'` finds (tags without a digit are skipped) is parsed with the tag regex
//! (default: an optional `word-` prefix, an optional `v`, then a PEP 440 version); a tag it
//! cannot parse is an error, as it is for the build. The version scheme turns the tag and the
//! distance into a version (`guess-next-dev`: the tag on a tagged commit, else the next version
//! with `.devN`; a `.dev0` tag drops its `.dev0`, another `.devN` tag cannot be bumped). No tag:
//! `fallback_version` (else `0.0`) at the distance of every commit.
//!
//! Two deliberate differences: the local part setuptools-scm adds (`+g<hash>`, `+d<date>`) is
//! never computed, so that rewording a commit keeps its keys; and a tree that differs from its
//! commit (the index, the working copy) is versioned as the commit it is about to become (one
//! further from the tag), not as a dirty checkout, so its verdicts are found again at push.
//!
//! Describe answers are remembered by commit ([`Describer`], in memory and in the cache dir,
//! stamped with the tags), so fifty pushed refs on a long history cost about what one does.

use std::str::FromStr;

use pep440_rs::Version;
use regex::Regex;

use crate::git::{Repo, TreeRef};

mod describe;

pub use describe::{Describer, Describers};

/// setuptools-scm's default tag regex (`DEFAULT_TAG_REGEX`).
pub const DEFAULT_TAG_REGEX: &str = r"^(?:[\w-]+-)?(?P<version>[vV]?\d+(?:\.\d+){0,2}[^\+]*)(?:\+.*)?$";

/// Which plugin reads the settings, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tool {
    /// `[tool.setuptools_scm]`.
    #[default]
    SetuptoolsScm,
    /// `[tool.hatch.version]` with `source = "vcs"` (hatch-vcs).
    HatchVcs,
}

impl Tool {
    /// The table its settings live in.
    pub fn table(self) -> &'static str {
        match self {
            Tool::SetuptoolsScm => "[tool.setuptools_scm]",
            Tool::HatchVcs => "[tool.hatch.version]",
        }
    }
}

/// The version schemes hookgate computes (setuptools-scm's names; old names are aliases).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scheme {
    /// `guess-next-dev` (the default).
    #[default]
    GuessNextDev,
    /// `post-release`: `{tag}.post{distance}`.
    PostRelease,
    /// `no-guess-dev`: `{tag}.post1.dev{distance}`.
    NoGuessDev,
    /// `only-version`: the tag, always.
    OnlyVersion,
    /// `semver-pep440` (`python-simplified-semver`).
    SemverPep440,
    /// `semver-pep440-release-branch` (`release-branch-semver`).
    ReleaseBranchSemver,
}

impl Scheme {
    fn from_name(name: &str) -> Option<Scheme> {
        Some(match name {
            "guess-next-dev" => Scheme::GuessNextDev,
            "post-release" => Scheme::PostRelease,
            "no-guess-dev" => Scheme::NoGuessDev,
            "only-version" => Scheme::OnlyVersion,
            "semver-pep440" | "python-simplified-semver" => Scheme::SemverPep440,
            "semver-pep440-release-branch" | "release-branch-semver" => Scheme::ReleaseBranchSemver,
            _ => return None,
        })
    }

    /// Whether the answer depends on the branch being built.
    pub fn uses_branch(self) -> bool {
        matches!(self, Scheme::SemverPep440 | Scheme::ReleaseBranchSemver)
    }
}

/// The project's settings for versions from git, as read from `pyproject.toml`. Reading never
/// fails: what hookgate cannot honour is kept in `problems` and reported when a version is
/// needed (a lint run does not need one).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Settings {
    /// Where the settings came from.
    pub tool: Tool,
    /// `tag_regex` / `tag.regex` (hatch-vcs: `tag-pattern`); `None` is the default.
    pub tag_regex: Option<String>,
    /// `tag.prefix`: a literal prefix version tags carry (stripped before parsing).
    pub tag_prefix: String,
    /// `tag.strict`: version tags hold a dot (`*[0-9]*.*[0-9]*`).
    pub tag_strict: bool,
    /// The version scheme.
    pub scheme: Scheme,
    /// `fallback_version` (hatch-vcs: `fallback-version`).
    pub fallback_version: Option<String>,
    /// `git_describe_command` / `scm.git.describe_command`, split into words.
    pub describe_command: Option<Vec<String>>,
    /// Settings hookgate cannot honour, each naming the key.
    pub problems: Vec<String>,
}

impl Settings {
    /// The settings `[tool.setuptools_scm]` gives (an absent table gives the defaults).
    pub fn from_setuptools_scm(table: Option<&toml::Table>) -> Settings {
        let mut s = Settings::default();
        if let Some(t) = table {
            s.read_scm_options(t, "");
        }
        s
    }

    /// The settings `[tool.hatch.version]` gives: `raw-options` are setuptools-scm's own
    /// keys; a non-empty `tag-pattern` or `fallback-version` wins over `raw-options`' (hatch-vcs
    /// 0.5's rules).
    pub fn from_hatch(table: &toml::Table) -> Settings {
        let mut s = Settings { tool: Tool::HatchVcs, ..Settings::default() };
        match table.get("raw-options") {
            None => {}
            Some(toml::Value::Table(raw)) => s.read_scm_options(raw, "raw-options."),
            Some(_) => s.problems.push("`raw-options` must be a table".into()),
        }
        match table.get("tag-pattern") {
            None => {}
            Some(toml::Value::String(p)) if p.is_empty() => {}
            Some(toml::Value::String(p)) => s.tag_regex = Some(p.clone()),
            Some(_) => s.problems.push("`tag-pattern` must be a string".into()),
        }
        match table.get("fallback-version") {
            None => {}
            Some(toml::Value::String(v)) if v.is_empty() => {}
            Some(toml::Value::String(v)) => s.fallback_version = Some(v.clone()),
            Some(_) => s.problems.push("`fallback-version` must be a string".into()),
        }
        s
    }

    /// Reads setuptools-scm's own keys from `t` (`at` prefixes key names in messages).
    fn read_scm_options(&mut self, t: &toml::Table, at: &str) {
        let mut problem = |p: String| self.problems.push(p);
        let string = |key: &str, problem: &mut dyn FnMut(String)| match t.get(key) {
            None => None,
            Some(toml::Value::String(v)) => Some(v.clone()),
            Some(_) => {
                problem(format!("`{at}{key}` must be a string"));
                None
            }
        };
        let mut tag_regex = string("tag_regex", &mut problem).filter(|r| !r.is_empty());
        let mut prefix = String::new();
        let mut strict = false;
        match t.get("tag") {
            None => {}
            Some(toml::Value::Table(tag)) => {
                match tag.get("regex") {
                    None => {}
                    Some(toml::Value::String(r)) if tag_regex.is_some() && !r.is_empty() => problem(format!(
                        "both `{at}tag_regex` and `{at}tag.regex` are set ({r:?}); setuptools-scm refuses that"
                    )),
                    Some(toml::Value::String(r)) => tag_regex = Some(r.clone()).filter(|r| !r.is_empty()),
                    Some(_) => problem(format!("`{at}tag.regex` must be a string")),
                }
                match tag.get("prefix") {
                    None => {}
                    Some(toml::Value::String(p)) => prefix = p.clone(),
                    Some(_) => problem(format!("`{at}tag.prefix` must be a string")),
                }
                match tag.get("strict") {
                    None => {}
                    Some(toml::Value::Boolean(b)) => strict = *b,
                    Some(_) => problem(format!("`{at}tag.strict` must be true or false")),
                }
            }
            Some(_) => problem(format!("`{at}tag` must be a table")),
        }
        let mut scheme = Scheme::default();
        match names(t.get("version_scheme")) {
            Ok(None) => {}
            Ok(Some(list)) => match list.first().map(|n| (n, Scheme::from_name(n))) {
                Some((_, Some(s))) => scheme = s,
                Some((name, None)) => problem(format!(
                    "`{at}version_scheme = {name:?}` is not a scheme hookgate computes \
                     (guess-next-dev, post-release, no-guess-dev, only-version, semver-pep440, \
                     semver-pep440-release-branch)"
                )),
                None => {}
            },
            Err(()) => problem(format!("`{at}version_scheme` must be a string or a list of strings")),
        }
        // Any local scheme (a plugin's too) only decides the local part, which is never
        // computed: only its type is checked.
        if names(t.get("local_scheme")).is_err() {
            problem(format!("`{at}local_scheme` must be a string or a list of strings"));
        }
        let fallback = string("fallback_version", &mut problem);
        let nested = t.get("scm").and_then(|scm| scm.get("git")).and_then(|git| git.get("describe_command"));
        let mut describe = None;
        for (key, value) in
            [("git_describe_command", t.get("git_describe_command")), ("scm.git.describe_command", nested)]
        {
            let Some(value) = value else { continue };
            if describe.is_some() {
                problem(format!(
                    "both `{at}git_describe_command` and `{at}scm.git.describe_command` are set; \
                     setuptools-scm refuses that"
                ));
            }
            match command_words(value) {
                Some(words) => describe = Some(words),
                None => problem(format!("`{at}{key}` must be a string or a list of strings")),
            }
        }
        for (key, why) in [
            ("normalize", "versions are always normalized by hookgate"),
            ("version_cls", "hookgate parses versions as PEP 440 only"),
            ("parse", "a custom parse function cannot be read from TOML"),
        ] {
            if t.contains_key(key) {
                problem(format!("`{at}{key}` is not supported ({why})"));
            }
        }
        self.tag_regex = tag_regex;
        self.tag_prefix = prefix;
        self.tag_strict = strict;
        self.scheme = scheme;
        self.fallback_version = fallback;
        self.describe_command = describe;
    }

    /// The error to report when a version is needed and the settings cannot give it.
    pub fn check(&self) -> Result<(), String> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "pyproject.toml {}: {}; hookgate cannot compute the version the build would get",
                self.tool.table(),
                self.problems.join("; ")
            ))
        }
    }

    /// The tag regex, compiled; anchored at the start as Python's `re.match` is.
    pub fn regex(&self) -> Result<TagRegex, String> {
        let source = self.tag_regex.as_deref().unwrap_or(DEFAULT_TAG_REGEX);
        let regex = Regex::new(&format!(r"\A(?:{source})"))
            .map_err(|e| format!("{} tag regex {source:?} does not compile: {e}", self.tool.table()))?;
        let groups = regex.captures_len() - 1;
        let named = regex.capture_names().any(|n| n == Some("version"));
        if groups == 0 || (groups > 1 && !named) {
            return Err(format!(
                "{} tag regex {source:?} must have a single group or a group named `version` \
                 (setuptools-scm's rule)",
                self.tool.table()
            ));
        }
        Ok(TagRegex { regex, by_name: groups > 1, prefix: self.tag_prefix.clone() })
    }

    /// What `git describe` is asked: the project's `git_describe_command` (a subset of `git
    /// describe`'s options: `--tags`, `--match P` (once), `--first-parent`, `--candidates N`;
    /// `--long`, `--dirty`, `--abbrev` change nothing here), else setuptools-scm's default.
    pub fn describe(&self) -> Result<Describe, String> {
        let Some(words) = &self.describe_command else {
            let glob = if self.tag_strict { "*[0-9]*.*[0-9]*" } else { "*[0-9]*" };
            return Ok(Describe {
                tags: true,
                pattern: Some(format!("{}{glob}", self.tag_prefix)),
                first_parent: false,
                candidates: None,
            });
        };
        let unsupported = |why: String| {
            format!(
                "{} git_describe_command {words:?}: {why}; hookgate reads `git describe` with \
                 --tags, --match (once), --first-parent, --candidates, --long, --dirty, --abbrev",
                self.tool.table()
            )
        };
        let mut rest = match words.as_slice() {
            [git, describe, rest @ ..] if git == "git" && describe == "describe" => rest.iter(),
            _ => return Err(unsupported("not a `git describe` command".into())),
        };
        let mut d = Describe { tags: false, pattern: None, first_parent: false, candidates: None };
        while let Some(word) = rest.next() {
            let (flag, inline) = match word.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
                _ => (word.as_str(), None),
            };
            let mut value = || inline.clone().or_else(|| rest.next().cloned());
            match flag {
                "--tags" => d.tags = true,
                "--long" | "--dirty" | "--abbrev" | "--broken" => {}
                "--first-parent" => d.first_parent = true,
                "--match" => {
                    let p = value().ok_or_else(|| unsupported("--match needs a pattern".into()))?;
                    if d.pattern.replace(p).is_some() {
                        return Err(unsupported("more than one --match".into()));
                    }
                }
                "--candidates" => {
                    let n = value().and_then(|v| v.parse().ok());
                    d.candidates = Some(n.ok_or_else(|| unsupported("--candidates needs a number".into()))?);
                }
                other => return Err(unsupported(format!("`{other}` is not supported"))),
            }
        }
        Ok(d)
    }
}

/// A string or a list of strings (`version_scheme`, `local_scheme`); `Err` for anything else.
fn names(v: Option<&toml::Value>) -> Result<Option<Vec<String>>, ()> {
    match v {
        None => Ok(None),
        Some(toml::Value::String(s)) => Ok(Some(vec![s.clone()])),
        Some(toml::Value::Array(a)) => a
            .iter()
            .map(|x| x.as_str().map(str::to_string).ok_or(()))
            .collect::<Result<Vec<_>, ()>>()
            .map(Some),
        Some(_) => Err(()),
    }
}

/// A command given as a string (split as `shlex.split` would) or a list of strings.
fn command_words(v: &toml::Value) -> Option<Vec<String>> {
    match v {
        toml::Value::String(s) => shell_words(s),
        toml::Value::Array(a) => a.iter().map(|x| x.as_str().map(str::to_string)).collect(),
        _ => None,
    }
}

/// POSIX-shell word splitting (quotes and backslashes), as Python's `shlex.split`; `None` on
/// an unterminated quote.
fn shell_words(s: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => words.extend(word.take()),
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => w.push(c),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            c @ ('"' | '\\' | '$' | '`') => w.push(c),
                            '\n' => {}
                            c => {
                                w.push('\\');
                                w.push(c);
                            }
                        },
                        c => w.push(c),
                    }
                }
            }
            '\\' => {
                let next = chars.next()?;
                if next != '\n' {
                    word.get_or_insert_with(String::new).push(next);
                }
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Some(words)
}

/// What to ask `git describe`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Describe {
    /// Lightweight tags count too (`--tags`); else annotated tags only.
    pub tags: bool,
    /// `--match`: a glob the tag name must match.
    pub pattern: Option<String>,
    /// `--first-parent`.
    pub first_parent: bool,
    /// `--candidates`.
    pub candidates: Option<u32>,
}

/// A compiled tag regex.
#[derive(Debug, Clone)]
pub struct TagRegex {
    regex: Regex,
    by_name: bool,
    prefix: String,
}

impl TagRegex {
    /// The version a tag names, as setuptools-scm's `tag_to_version` reads it: `Ok(None)` when
    /// the regex does not match or the match is not a PEP 440 version. Text after the version
    /// group is kept when version and suffix still parse together.
    pub fn version(&self, tag: &str) -> Result<Option<Version>, String> {
        let text = tag.strip_prefix(self.prefix.as_str()).unwrap_or(tag);
        let Some(caps) = self.regex.captures(text) else { return Ok(None) };
        let group = if self.by_name { caps.name("version") } else { caps.get(1) };
        let Some(group) = group.filter(|g| !g.as_str().is_empty()) else {
            return Err(format!("the tag regex matched the tag {tag:?}, but its version group is empty"));
        };
        let Ok(version) = Version::from_str(group.as_str()) else { return Ok(None) };
        let Some(full) = caps.get(0) else { return Ok(Some(version)) };
        let suffix = &text[group.end()..full.end()];
        if !suffix.is_empty()
            && let Ok(with_suffix) = Version::from_str(&format!("{}{suffix}", group.as_str()))
        {
            return Ok(Some(with_suffix));
        }
        Ok(Some(version))
    }
}

/// What git says about a commit: the nearest version tag and how far it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The tag's name; `None` when no tag matched.
    pub tag: Option<String>,
    /// Commits since the tag (with no tag: every commit).
    pub distance: u64,
}

/// The version `settings` give for what git `found`, on `branch` (for the semver schemes).
pub fn version(settings: &Settings, found: &Found, branch: Option<&str>) -> Result<String, String> {
    settings.check()?;
    let regex = settings.regex()?;
    let tag = match &found.tag {
        Some(name) => regex.version(name)?.ok_or_else(|| {
            format!(
                "the nearest tag {name:?} is not a version the tag regex {:?} reads \
                 (setuptools-scm fails the build on it): delete or move the tag, or set `tag_regex`",
                settings.tag_regex.as_deref().unwrap_or(DEFAULT_TAG_REGEX)
            )
        })?,
        None => {
            let fallback = settings.fallback_version.as_deref().unwrap_or("0.0");
            Version::from_str(fallback)
                .map_err(|e| format!("fallback_version {fallback:?} is not a PEP 440 version: {e}"))?
        }
    };
    let local: Vec<String> = tag.local().iter().map(ToString::to_string).collect();
    let public = tag.clone().without_local();
    let exact = found.distance == 0;
    let n = found.distance;
    let main = if exact {
        public.to_string()
    } else {
        match settings.scheme {
            Scheme::GuessNextDev => format!("{}.dev{n}", guess_next(&public)?),
            Scheme::NoGuessDev => format!("{}.dev{n}", no_guess(&public)?),
            Scheme::PostRelease => format!("{public}.post{n}"),
            Scheme::OnlyVersion => public.to_string(),
            Scheme::SemverPep440 => {
                let retain = if branch.is_some_and(|b| b.contains("feature")) { 2 } else { 3 };
                format!("{}.dev{n}", simple_semver(&public, retain))
            }
            Scheme::ReleaseBranchSemver => {
                let on_release_branch = branch
                    .and_then(|b| regex.version_text(b.rsplit('/').next().unwrap_or(b)))
                    .is_some_and(|b| {
                        let b = b.strip_prefix('v').unwrap_or(&b).to_string();
                        let t = public.to_string();
                        b.split('.').take(2).eq(t.split('.').take(2))
                    });
                if on_release_branch {
                    format!("{}.dev{n}", guess_next(&public)?)
                } else {
                    format!("{}.dev{n}", simple_semver(&public, 2))
                }
            }
        }
    };
    let text = if local.is_empty() { main } else { format!("{main}+{}", local.join(".")) };
    // setuptools-scm hands the string on; a build backend then refuses what is not PEP 440.
    Version::from_str(&text)
        .map(|v| v.to_string())
        .map_err(|e| format!("the version scheme gives {text:?}, which is not a PEP 440 version: {e}"))
}

impl TagRegex {
    /// The raw text of the version group for `name` (the branch reading of the release-branch
    /// scheme), when the regex matches.
    fn version_text(&self, name: &str) -> Option<String> {
        let text = name.strip_prefix(self.prefix.as_str()).unwrap_or(name);
        let caps = self.regex.captures(text)?;
        let group = if self.by_name { caps.name("version") } else { caps.get(1) };
        group.map(|g| g.as_str().to_string()).filter(|g| !g.is_empty())
    }
}

/// `guess_next_version`: a `.dev0` tag is released as what precedes `.dev0`; any other `.devN`
/// cannot be bumped; else the last number of the version goes up by one (`1.0rc1` -> `1.0rc2`).
fn guess_next(tag: &Version) -> Result<String, String> {
    let text = tag.to_string();
    if let Some(next) = bump_dev(&text)? {
        return Ok(next);
    }
    let digits = text.len() - text.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 {
        return Err(format!("{text} does not end with a number to bump"));
    }
    let (head, tail) = text.split_at(text.len() - digits);
    let n: u128 = tail.parse().map_err(|_| format!("{text}: the number {tail} is too large to bump"))?;
    Ok(format!("{head}{}", n + 1))
}

/// `no-guess-dev`: a `.dev0` tag as in [`guess_next`], else `{tag}.post1` (a post-release
/// tag cannot be guessed from).
fn no_guess(tag: &Version) -> Result<String, String> {
    let text = tag.to_string();
    if let Some(next) = bump_dev(&text)? {
        return Ok(next);
    }
    if text.contains("post") {
        return Err(format!(
            "{text} already is a post release; setuptools-scm refuses to guess the next one"
        ));
    }
    Ok(format!("{text}.post1"))
}

/// A `.devN` tag: `Some(prefix)` for `.dev0`, an error for any other N.
fn bump_dev(text: &str) -> Result<Option<String>, String> {
    match text.rsplit_once(".dev") {
        None => Ok(None),
        Some((prefix, "0")) => Ok(Some(prefix.to_string())),
        Some(_) => Err(format!(
            "the nearest tag is {text}, and setuptools-scm cannot bump a .devN tag other than .dev0 \
             (it fails the build): tag a release, or a version ending in .dev0"
        )),
    }
}

/// `guess_next_simple_semver`: keep `retain` release numbers, bump the last, pad to three; a
/// `.dev0` tag is its release padded to three.
fn simple_semver(tag: &Version, retain: usize) -> String {
    let epoch = if tag.epoch() == 0 { String::new() } else { format!("{}!", tag.epoch()) };
    let mut parts: Vec<u64> = tag.release().to_vec();
    if tag.dev() != Some(0) {
        parts.truncate(retain);
        parts.resize(retain, 0);
        if let Some(last) = parts.last_mut() {
            *last += 1;
        }
    }
    if parts.len() < 3 {
        parts.resize(3, 0);
    }
    let joined: Vec<String> = parts.iter().map(u64::to_string).collect();
    format!("{epoch}{}", joined.join("."))
}

/// The version of `tree` for a package whose version comes from git. A tree that is not its
/// commit's (the index, the working copy) is the commit about to be made: one further away.
pub fn version_of_tree(repo: &Repo, tree: &TreeRef, settings: &Settings) -> Result<String, String> {
    describe_tree(repo, tree, settings).map(|(_, version)| version)
}

/// What git found for `tree` (the distance counting a tree that is not its commit's as the
/// next commit) and the version it gives.
pub fn describe_tree(repo: &Repo, tree: &TreeRef, settings: &Settings) -> Result<(Found, String), String> {
    describe_tree_in(&Describers::new(repo), tree, settings)
}

/// [`describe_tree`] with the describers of a batch of trees: the tags listed and the
/// remembered answers read once for all of them.
pub fn describe_tree_in(
    describers: &Describers<'_>,
    tree: &TreeRef,
    settings: &Settings,
) -> Result<(Found, String), String> {
    settings.check()?;
    let describe = settings.describe()?;
    let repo = describers.repo();
    let (mut found, ahead) = match tree.commit {
        Some(commit) => {
            let answer = describers
                .with(settings, &describe, |describer| -> Result<_, String> {
                    let found = describer.find(commit).map_err(|e| format!("{e:#}"))?;
                    let ahead = u64::from(repo.commit_tree(commit).map_err(|e| format!("{e:#}"))? != tree.id);
                    // The commit's own tree, on any branch: its version is remembered with its
                    // answer.
                    if ahead == 0 && !settings.scheme.uses_branch() {
                        let version = match describer.version(commit) {
                            Some(v) => v,
                            None => {
                                let v = version(settings, &found, None)?;
                                describer.remember_version(commit, &v);
                                v
                            }
                        };
                        return Ok((found, ahead, Some(version)));
                    }
                    Ok((found, ahead, None))
                })
                .map_err(|e| format!("{e:#}"))??;
            match answer {
                (found, _, Some(version)) => return Ok((found, version)),
                (found, ahead, None) => (found, ahead),
            }
        }
        None => (Found { tag: None, distance: 0 }, 1),
    };
    found.distance += ahead;
    let branch = if settings.scheme.uses_branch() { repo.branch_of(tree) } else { None };
    let version = version(settings, &found, branch.as_deref())?;
    Ok((found, version))
}

/// The tag that releases `version`: `v<version>` (`<prefix><version>` with `tag.prefix`), else
/// `<version>`, whichever the project's describe pattern matches and tag regex reads back as
/// `version`.
pub fn tag_for(settings: &Settings, version: &Version) -> Result<String, String> {
    settings.check()?;
    let regex = settings.regex()?;
    let describe = settings.describe()?;
    let matcher = match &describe.pattern {
        Some(p) => Some(
            globset::GlobBuilder::new(p)
                .literal_separator(false)
                .backslash_escape(true)
                .build()
                .map_err(|e| format!("the describe pattern {p:?} is not a glob hookgate reads: {e}"))?
                .compile_matcher(),
        ),
        None => None,
    };
    let candidates = if settings.tag_prefix.is_empty() {
        vec![format!("v{version}"), version.to_string()]
    } else {
        vec![format!("{}{version}", settings.tag_prefix), format!("{}v{version}", settings.tag_prefix)]
    };
    for tag in &candidates {
        let matched = matcher.as_ref().is_none_or(|m| m.is_match(tag));
        if matched && regex.version(tag).ok().flatten().as_ref() == Some(version) {
            return Ok(tag.clone());
        }
    }
    Err(format!(
        "the project's tag settings ({}) read neither {} as version {version}: tag HEAD yourself \
         with a tag they read, then run the release again",
        settings.tool.table(),
        candidates.join(" nor ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(settings: &Settings, tag: Option<&str>, distance: u64) -> Result<String, String> {
        version(settings, &Found { tag: tag.map(str::to_string), distance }, None)
    }

    fn table(text: &str) -> toml::Table {
        text.parse().unwrap()
    }

    #[test]
    fn guess_next_dev_follows_setuptools_scm() {
        let s = Settings::default();
        assert_eq!(v(&s, Some("v1.2.3"), 0).unwrap(), "1.2.3");
        assert_eq!(v(&s, Some("v1.2.3"), 2).unwrap(), "1.2.4.dev2");
        assert_eq!(v(&s, Some("V1.2"), 1).unwrap(), "1.3.dev1");
        assert_eq!(v(&s, Some("1.0rc1"), 0).unwrap(), "1.0rc1");
        assert_eq!(v(&s, Some("1.0-rc1"), 3).unwrap(), "1.0rc2.dev3");
        assert_eq!(v(&s, Some("1.0.post1"), 1).unwrap(), "1.0.post2.dev1");
        assert_eq!(v(&s, Some("1.0.dev0"), 4).unwrap(), "1.0.dev4");
        assert_eq!(v(&s, Some("1.0.dev3"), 0).unwrap(), "1.0.dev3");
        assert!(v(&s, Some("1.0.dev3"), 1).unwrap_err().contains("cannot bump a .devN"));
        assert_eq!(v(&s, Some("mypkg-2.0"), 1).unwrap(), "2.1.dev1");
        assert_eq!(v(&s, Some("1.0+build.7"), 0).unwrap(), "1.0+build.7");
        assert_eq!(v(&s, None, 5).unwrap(), "0.1.dev5");
        assert!(v(&s, Some("foo2bar"), 0).unwrap_err().contains("not a version"));
    }

    #[test]
    fn other_schemes() {
        let scheme =
            |name: &str| Settings::from_setuptools_scm(Some(&table(&format!("version_scheme = {name:?}"))));
        let post = scheme("post-release");
        assert_eq!(v(&post, Some("v1.2.3"), 0).unwrap(), "1.2.3");
        assert_eq!(v(&post, Some("v1.2.3"), 4).unwrap(), "1.2.3.post4");
        let no_guess = scheme("no-guess-dev");
        assert_eq!(v(&no_guess, Some("v1.2.3"), 4).unwrap(), "1.2.3.post1.dev4");
        assert!(v(&no_guess, Some("1.0.post1"), 1).is_err());
        let only = scheme("only-version");
        assert_eq!(v(&only, Some("v1.2.3"), 4).unwrap(), "1.2.3");
        let semver = scheme("semver-pep440");
        assert_eq!(v(&semver, Some("1.2"), 2).unwrap(), "1.2.1.dev2");
        let feature = version(&semver, &Found { tag: Some("1.2.3".into()), distance: 2 }, Some("feature/x"));
        assert_eq!(feature.unwrap(), "1.3.0.dev2");
        let rb = scheme("release-branch-semver");
        let on = |b: &str| version(&rb, &Found { tag: Some("v1.2.3".into()), distance: 1 }, Some(b));
        assert_eq!(on("release/1.2").unwrap(), "1.2.4.dev1");
        assert_eq!(on("main").unwrap(), "1.3.0.dev1");
        let calver = scheme("calver-by-date");
        assert!(v(&calver, Some("v1"), 1).unwrap_err().contains("calver-by-date"));
    }

    #[test]
    fn tag_regex_prefix_and_fallback() {
        let s = Settings::from_setuptools_scm(Some(&table(
            "tag_regex = '^release/(?P<version>\\d+(\\.\\d+)*)$'\nfallback_version = '2.0'",
        )));
        assert_eq!(v(&s, Some("release/3.1"), 2).unwrap(), "3.2.dev2");
        assert!(v(&s, Some("v3.1"), 0).is_err());
        assert_eq!(v(&s, None, 3).unwrap(), "2.1.dev3");
        let bad = Settings::from_setuptools_scm(Some(&table("tag_regex = '(a)(b)'")));
        assert!(v(&bad, Some("ab"), 0).unwrap_err().contains("single group"));
        let prefixed = Settings::from_setuptools_scm(Some(&table("[tag]\nprefix = 'pkg-'\nstrict = true")));
        assert_eq!(prefixed.describe().unwrap().pattern.as_deref(), Some("pkg-*[0-9]*.*[0-9]*"));
        assert_eq!(v(&prefixed, Some("pkg-v1.0"), 0).unwrap(), "1.0");
    }

    #[test]
    fn hatch_options_and_describe_commands() {
        let h = Settings::from_hatch(&table(
            "source = 'vcs'\ntag-pattern = '^rel-(.*)$'\nfallback-version = '9.0'\n\
             [raw-options]\nversion_scheme = 'post-release'\nlocal_scheme = 'no-local-version'\n\
             git_describe_command = \"git describe --dirty --tags --long --match 'rel-*'\"",
        ));
        assert_eq!((h.scheme, h.fallback_version.as_deref()), (Scheme::PostRelease, Some("9.0")));
        assert_eq!(v(&h, Some("rel-1.0"), 2).unwrap(), "1.0.post2");
        let d = h.describe().unwrap();
        assert_eq!((d.tags, d.pattern.as_deref()), (true, Some("rel-*")));
        let pattern_wins =
            Settings::from_hatch(&table("tag-pattern = 'x(.*)'\n[raw-options]\ntag_regex = 'y(.*)'"));
        assert_eq!(pattern_wins.tag_regex.as_deref(), Some("x(.*)"));
        let raw = Settings::from_hatch(&table("tag-pattern = ''\n[raw-options]\ntag_regex = 'y(.*)'"));
        assert_eq!(raw.tag_regex.as_deref(), Some("y(.*)"));
        let other = Settings::from_setuptools_scm(Some(&table("git_describe_command = 'hg id'")));
        assert!(other.describe().unwrap_err().contains("not a `git describe`"));
        let exclude = Settings::from_setuptools_scm(Some(&table(
            "git_describe_command = ['git', 'describe', '--exclude', 'x']",
        )));
        assert!(exclude.describe().unwrap_err().contains("--exclude"));
        let bad = Settings::from_setuptools_scm(Some(&table("version_scheme = 3\nlocal_scheme = 4")));
        let e = bad.check().unwrap_err();
        assert!(e.contains("`version_scheme` must be") && e.contains("`local_scheme` must be"), "{e}");
        let plugin = Settings::from_setuptools_scm(Some(&table("local_scheme = ['mine', 'node-and-date']")));
        assert_eq!(plugin.check(), Ok(()));
    }

    #[test]
    fn release_tags_follow_the_tag_settings() {
        let v = |s: &str| Version::from_str(s).unwrap();
        assert_eq!(tag_for(&Settings::default(), &v("1.2.0")).unwrap(), "v1.2.0");
        let bare = Settings::from_setuptools_scm(Some(&table("tag_regex = '^(\\d+\\.\\d+\\.\\d+)$'")));
        assert_eq!(tag_for(&bare, &v("1.2.0")).unwrap(), "1.2.0");
        let prefixed = Settings::from_setuptools_scm(Some(&table("[tag]\nprefix = 'pkg-v'")));
        assert_eq!(tag_for(&prefixed, &v("2.0")).unwrap(), "pkg-v2.0");
        let matched = Settings::from_setuptools_scm(Some(&table(
            "git_describe_command = 'git describe --tags --match rel-*'\ntag_regex = '^rel-(.*)$'",
        )));
        assert!(tag_for(&matched, &v("1.0")).unwrap_err().contains("v1.0 nor 1.0"));
    }

    #[test]
    fn shell_words_split_as_shlex() {
        assert_eq!(
            shell_words(r#"git describe --match "v*" 'a b' c\ d"#).unwrap(),
            ["git", "describe", "--match", "v*", "a b", "c d"]
        );
        assert_eq!(shell_words("x 'unterminated"), None);
    }
}
