//! What the project's own CI files say it runs, read without running anything: commands (argv,
//! with where each came from and the requirements of its environment) from tox, nox, a
//! Makefile and GitHub workflows, and the hooks of `.pre-commit-config.yaml`. Every reader is
//! forgiving: a file it cannot read or parse is a warning, never a failure of `init`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::checks::testenv::parse_ini;

/// Files larger than this are not read (a CI file is a few kilobytes; anything this big is
/// not one, and reading it whole would only waste memory).
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// At most this many workflow files are read.
const MAX_WORKFLOWS: usize = 64;

/// One command a CI file runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The words, as the shell would split them (quotes removed, no operators).
    pub argv: Vec<String>,
    /// Where it came from: `tox.ini [testenv:lint]`, `.github/workflows/ci.yml (job test)`.
    pub from: String,
    /// The environment's name, for a custom check made of it: the tox env, nox session,
    /// workflow job or Makefile target.
    pub group: String,
    /// Requirements the same environment installs (tox `deps`, `session.install(...)`, `pip
    /// install ...` earlier in the same job).
    pub env: Vec<String>,
}

/// One hook of `.pre-commit-config.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    /// The repository URL (`local` for local hooks).
    pub repo: String,
    /// Its `rev`, when given.
    pub rev: Option<String>,
    /// The hook's `id`.
    pub id: String,
    /// Its `args`.
    pub args: Vec<String>,
    /// A local hook's `entry`.
    pub entry: Option<String>,
    /// Its `additional_dependencies`.
    pub deps: Vec<String>,
    /// Its `files` and `exclude` patterns, when set (pre-commit's file selection).
    pub files: Option<String>,
}

/// Everything read from a project's CI files.
#[derive(Debug, Default)]
pub struct Sources {
    /// Files that were read, in reading order.
    pub read: Vec<String>,
    /// Commands, in the order of the readers: tox, nox, workflows, Makefile.
    pub commands: Vec<Found>,
    /// pre-commit hooks in file order.
    pub hooks: Vec<Hook>,
    /// `fail_under` from a coverage config file other than pyproject.toml, with its source.
    pub coverage_rc: Option<(f64, String)>,
    /// Files that could not be read or understood, with the reason.
    pub warnings: Vec<String>,
}

/// Reads a file of the project, refusing what is too large or not UTF-8 (as a warning).
fn read(root: &Path, rel: &str, warnings: &mut Vec<String>) -> Option<String> {
    let path = root.join(rel);
    let meta = std::fs::metadata(&path).ok()?;
    if !meta.is_file() {
        return None;
    }
    if meta.len() > MAX_FILE_BYTES {
        warnings.push(format!("{rel}: not read: {} bytes, larger than {MAX_FILE_BYTES}", meta.len()));
        return None;
    }
    match std::fs::read(&path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => Some(t),
            Err(_) => {
                warnings.push(format!("{rel}: not read: not UTF-8 text"));
                None
            }
        },
        Err(e) => {
            warnings.push(format!("{rel}: not read: {e}"));
            None
        }
    }
}

/// Reads every source the project's root has.
pub fn read_all(root: &Path, pyproject: Option<&str>) -> Sources {
    let mut s = Sources::default();
    tox(root, pyproject, &mut s);
    nox(root, &mut s);
    workflows(root, &mut s);
    makefile(root, &mut s);
    if let Some(text) = read(root, ".pre-commit-config.yaml", &mut s.warnings) {
        s.read.push(".pre-commit-config.yaml".into());
        match precommit_hooks(&text) {
            Ok(h) => s.hooks = h,
            Err(e) => s.warnings.push(format!(".pre-commit-config.yaml: not understood: {e}")),
        }
    }
    for (file, section) in
        [(".coveragerc", "report"), ("setup.cfg", "coverage:report"), ("tox.ini", "coverage:report")]
    {
        if s.coverage_rc.is_some() {
            break;
        }
        // tox.ini was read (and warned about) already.
        let mut quiet = Vec::new();
        let warnings = if file == "tox.ini" { &mut quiet } else { &mut s.warnings };
        if let Some(text) = read(root, file, warnings)
            && let Some(v) = parse_ini(&text).get(section).and_then(|sec| sec.get("fail_under"))
            && let Ok(f) = v.trim().parse::<f64>()
            && f.is_finite()
        {
            s.coverage_rc = Some((f, format!("{file} [{section}] fail_under")));
        }
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Shell words

/// Splits a shell line into commands (at unquoted `&&`, `||`, `;`, `|`), each a list of words
/// with quotes removed. Not a shell: no expansion; `$VAR` and `${{ ... }}` stay as written.
pub fn shell_commands(line: &str) -> Vec<Vec<String>> {
    let mut commands = vec![Vec::new()];
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    let end_word = |word: &mut String, in_word: &mut bool, cmds: &mut Vec<Vec<String>>| {
        if *in_word {
            if let Some(c) = cmds.last_mut() {
                c.push(std::mem::take(word));
            }
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    word.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => {
                            if let Some(n) = chars.next() {
                                word.push(n);
                            }
                        }
                        _ => word.push(q),
                    }
                }
            }
            '\\' => {
                if let Some(n) = chars.next() {
                    in_word = true;
                    word.push(n);
                }
            }
            '#' if !in_word => break,
            // `$(...)` stays one word; other parentheses are subshells: separators.
            '(' if word.ends_with('$') => {
                word.push(c);
                let mut depth = 1;
                for n in chars.by_ref() {
                    word.push(n);
                    depth += match n {
                        '(' => 1,
                        ')' => -1,
                        _ => 0,
                    };
                    if depth == 0 {
                        break;
                    }
                }
            }
            ';' | '&' | '|' | '(' | ')' => {
                end_word(&mut word, &mut in_word, &mut commands);
                if matches!(chars.peek(), Some('&' | '|')) {
                    chars.next();
                }
                commands.push(Vec::new());
            }
            c if c.is_whitespace() => end_word(&mut word, &mut in_word, &mut commands),
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    end_word(&mut word, &mut in_word, &mut commands);
    commands.retain(|c| !c.is_empty());
    commands
}

/// Joins a script's continuation lines (`\` at the end) and splits it into commands.
fn script_commands(script: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut pending = String::new();
    for line in script.lines() {
        let t = line.trim_end();
        if let Some(head) = t.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        pending.push_str(t);
        out.extend(shell_commands(&pending));
        pending.clear();
    }
    out.extend(shell_commands(&pending));
    out
}

/// The requirements a `pip install ...` / `uv pip install ...` / `uv add` command names.
pub fn install_requirements(argv: &[String]) -> Option<Vec<String>> {
    let pos = argv.iter().position(|w| w == "install")?;
    let before: Vec<&str> = argv[..pos].iter().map(String::as_str).collect();
    let is_pip = before.iter().any(|w| w.ends_with("pip") || *w == "pip3" || w.starts_with("pip3."));
    if !is_pip {
        return None;
    }
    let mut out = Vec::new();
    let mut words = argv[pos + 1..].iter();
    while let Some(w) = words.next() {
        match w.as_str() {
            "-r" | "--requirement" | "-c" | "--constraint" => {
                if let Some(f) = words.next() {
                    out.push(w.clone());
                    out.push(f.clone());
                }
            }
            "-e" | "--editable" | "-i" | "--index-url" | "--extra-index-url" | "--python" | "-p"
            | "--group" | "--target" | "-t" => {
                words.next();
            }
            _ if w.starts_with('-') => {}
            _ => out.push(w.clone()),
        }
    }
    Some(out)
}

// ---------------------------------------------------------------------------------------------
// tox

fn tox(root: &Path, pyproject: Option<&str>, s: &mut Sources) {
    if let Some(text) = read(root, "tox.ini", &mut s.warnings) {
        s.read.push("tox.ini".into());
        tox_ini(&text, "tox.ini", s);
        return;
    }
    let (text, label, nested) = match read(root, "tox.toml", &mut s.warnings) {
        Some(t) => (t, "tox.toml", false),
        None => match pyproject {
            Some(p) if p.contains("[tool.tox") => (p.to_string(), "pyproject.toml [tool.tox]", true),
            _ => return,
        },
    };
    let value: toml::Value = match toml::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            s.warnings.push(format!("{label}: not understood: {}", e.message().trim_end()));
            return;
        }
    };
    let root_table = if nested { value.get("tool").and_then(|t| t.get("tox")) } else { Some(&value) };
    let Some(tox) = root_table else { return };
    s.read.push(label.into());
    // pyproject's legacy form: an INI text in `legacy_tox_ini`.
    if let Some(legacy) = tox.get("legacy_tox_ini").and_then(toml::Value::as_str) {
        tox_ini(legacy, label, s);
        return;
    }
    let strings = |v: Option<&toml::Value>| -> Vec<String> {
        v.and_then(toml::Value::as_array)
            .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    let mut envs: Vec<(String, &toml::Value)> = Vec::new();
    if let Some(base) = tox.get("env_run_base") {
        envs.push(("env_run_base".into(), base));
    }
    if let Some(toml::Value::Table(t)) = tox.get("env") {
        envs.extend(t.iter().map(|(k, v)| (format!("env.{k}"), v)));
    }
    for (name, env) in envs {
        let deps = strings(env.get("deps"));
        for cmd in env.get("commands").and_then(toml::Value::as_array).into_iter().flatten() {
            // Each command is a list of words (tox.toml's form); a string is split like a shell.
            let argv: Vec<String> = match cmd {
                toml::Value::Array(words) => words
                    .iter()
                    .flat_map(|w| match w {
                        toml::Value::String(x) => vec![tox_root(x)],
                        // `{ replace = "posargs", default = [...] }`: the defaults are the args.
                        toml::Value::Table(t) => {
                            strings(t.get("default")).iter().map(|d| tox_root(d)).collect()
                        }
                        _ => Vec::new(),
                    })
                    .collect(),
                toml::Value::String(x) => shell_commands(&tox_root(x)).into_iter().next().unwrap_or_default(),
                _ => continue,
            };
            if !argv.is_empty() {
                let group = name.strip_prefix("env.").unwrap_or(&name).to_string();
                s.commands.push(Found { argv, from: format!("{label} {name}"), group, env: deps.clone() });
            }
        }
    }
}

fn tox_ini(text: &str, label: &str, s: &mut Sources) {
    let ini = parse_ini(text);
    for (section, keys) in &ini {
        if section != "testenv" && !section.starts_with("testenv:") {
            continue;
        }
        let lines = |k: &str| -> Vec<String> {
            keys.get(k)
                .map(|v| {
                    v.lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty() && !l.starts_with('#') && !is_factor_line(l))
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        let deps = lines("deps");
        for line in lines("commands") {
            for argv in shell_commands(&tox_root(&expand_posargs(&line))) {
                let group = section.strip_prefix("testenv:").unwrap_or(section).to_string();
                s.commands.push(Found {
                    argv,
                    from: format!("{label} [{section}]"),
                    group,
                    env: deps.clone(),
                });
            }
        }
    }
}

/// tox's project root (`{toxinidir}`, `{tox_root}`): the commands run from it, so a path
/// under it is the same path relative to the root.
fn tox_root(text: &str) -> String {
    let mut out = text.to_string();
    for var in ["{toxinidir}", "{tox_root}"] {
        out = out.replace(&format!("{var}/"), "").replace(&format!("{var}{{/}}"), "").replace(var, ".");
    }
    out
}

/// tox's `{posargs:default args}` becomes its default; `{posargs}` goes.
fn expand_posargs(line: &str) -> String {
    let mut out = line.to_string();
    while let Some(start) = out.find("{posargs") {
        let Some(len) = out[start..].find('}') else { break };
        let inner = &out[start + 1..start + len];
        let default =
            inner.strip_prefix("posargs").and_then(|r| r.strip_prefix(':')).unwrap_or("").to_string();
        out.replace_range(start..=start + len, &default);
    }
    out
}

/// Whether a tox line is conditional on factors (`py38: mock`).
fn is_factor_line(line: &str) -> bool {
    let Some((head, _)) = line.split_once(':') else { return false };
    !head.is_empty()
        && head.chars().all(|c| c.is_ascii_alphanumeric() || "-_,!{} ".contains(c))
        && !head.contains("//")
}

// ---------------------------------------------------------------------------------------------
// nox

/// Scans `noxfile.py` for sessions (`def NAME(session...)` after a `@nox.session` decorator)
/// and the string literals of their `session.install(...)` and `session.run(...)` calls. A call
/// with a non-literal argument keeps its literal words (`*session.posargs` is dropped).
fn nox(root: &Path, s: &mut Sources) {
    let Some(text) = read(root, "noxfile.py", &mut s.warnings) else { return };
    s.read.push("noxfile.py".into());
    let mut session: Option<String> = None;
    let mut decorated = false;
    let mut installs: Vec<String> = Vec::new();
    let mut runs: Vec<Vec<String>> = Vec::new();
    let flush =
        |name: &Option<String>, installs: &mut Vec<String>, runs: &mut Vec<Vec<String>>, s: &mut Sources| {
            if let Some(n) = name {
                for argv in runs.drain(..) {
                    s.commands.push(Found {
                        argv,
                        from: format!("noxfile.py session `{n}`"),
                        group: n.clone(),
                        env: installs.clone(),
                    });
                }
            }
            installs.clear();
            runs.clear();
        };
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let t = line.trim_start();
        if !line.starts_with(char::is_whitespace)
            && !t.is_empty()
            && !t.starts_with('#')
            && !t.starts_with(')')
        {
            // A top-level statement ends the previous session.
            if t.starts_with("@nox.session") || t.starts_with("@session") {
                flush(&session, &mut installs, &mut runs, s);
                session = None;
                decorated = true;
            } else if let Some(rest) = t.strip_prefix("def ") {
                if decorated {
                    flush(&session, &mut installs, &mut runs, s);
                    session = Some(rest.split('(').next().unwrap_or("").trim().to_string());
                } else {
                    flush(&session, &mut installs, &mut runs, s);
                    session = None;
                }
                decorated = false;
            } else if !t.starts_with('@') {
                flush(&session, &mut installs, &mut runs, s);
                session = None;
                decorated = false;
            }
        }
        if session.is_some() {
            for (call, is_install) in [("session.install(", true), ("session.run(", false)] {
                if let Some(at) = t.find(call) {
                    // The call's text up to its closing parenthesis, over at most 30 lines.
                    let mut call_text = t[at + call.len()..].to_string();
                    let mut j = i;
                    while paren_depth(&call_text) >= 0 && j + 1 < lines.len() && j < i + 30 {
                        j += 1;
                        call_text.push('\n');
                        call_text.push_str(lines[j]);
                    }
                    let words = string_literals(&call_text);
                    if is_install {
                        installs.extend(words);
                    } else if !words.is_empty() {
                        runs.push(words);
                    }
                }
            }
        }
        i += 1;
    }
    flush(&session, &mut installs, &mut runs, s);
}

/// Open parentheses minus closed ones, outside string literals; negative once the call closed.
fn paren_depth(text: &str) -> i32 {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth -= 1;
                if depth < 0 {
                    return depth;
                }
            }
            (None, '#') => {}
            _ => {}
        }
    }
    depth
}

/// The plain string literals among a call's arguments, up to its closing parenthesis.
fn string_literals(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut chars = text.chars().peekable();
    let mut prev = ' ';
    while let Some(c) = chars.next() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => {
                if depth == 0 {
                    break;
                }
                depth -= 1;
            }
            '#' => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        break;
                    }
                }
            }
            '"' | '\'' => {
                let mut lit = String::new();
                for n in chars.by_ref() {
                    if n == c {
                        break;
                    }
                    lit.push(n);
                }
                // f-strings and keyword values (`env={"A": "b"}`) are not words of the command.
                if prev != 'f' && depth == 0 {
                    out.push(lit);
                }
            }
            '=' if depth == 0 => {
                // `silent=True`, `external=True`, `env=...`: the keyword's value is not a word.
                let mut nested = 0;
                while let Some(&n) = chars.peek() {
                    match n {
                        '(' | '[' | '{' => nested += 1,
                        ')' | ']' | '}' if nested > 0 => nested -= 1,
                        ')' | ',' if nested == 0 => break,
                        _ => {}
                    }
                    chars.next();
                }
            }
            _ => {}
        }
        prev = c;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Makefile

/// Targets whose recipes run something, with simple variables (`VAR = value`, `:=`, `?=`)
/// substituted; `$(MAKE) -C docs html` and the like are kept as written.
fn makefile(root: &Path, s: &mut Sources) {
    let Some(text) = read(root, "Makefile", &mut s.warnings) else { return };
    s.read.push("Makefile".into());
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    let mut target: Option<String> = None;
    let mut pending = String::new();
    for raw in text.lines() {
        if raw.starts_with('\t') {
            let Some(t) = &target else { continue };
            let line = raw.trim();
            if let Some(head) = line.strip_suffix('\\') {
                pending.push_str(head);
                pending.push(' ');
                continue;
            }
            pending.push_str(line);
            let line = std::mem::take(&mut pending);
            let line = line.trim_start_matches(['@', '-', '+']);
            let expanded = substitute(line, &vars);
            for argv in shell_commands(&expanded) {
                s.commands.push(Found {
                    argv,
                    from: format!("Makefile target `{t}`"),
                    group: t.clone(),
                    env: Vec::new(),
                });
            }
            continue;
        }
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some((name, value)) = assignment(line) {
            vars.insert(name, value);
            target = None;
            continue;
        }
        target = line
            .split_once(':')
            .map(|(t, _)| t.trim().to_string())
            .filter(|t| !t.is_empty() && !t.starts_with('.') && !t.contains(['$', '%', ' ']));
    }
}

fn assignment(line: &str) -> Option<(String, String)> {
    for op in [":=", "?=", "+=", "::=", "="] {
        if let Some((name, value)) = line.split_once(op) {
            let name = name.trim().trim_start_matches("export ").trim();
            if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Some((name.to_string(), value.trim().to_string()));
            }
        }
    }
    None
}

/// `$(VAR)` and `${VAR}` replaced by the Makefile's value, a few levels deep.
fn substitute(line: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = line.to_string();
    for _ in 0..4 {
        let before = out.clone();
        for (k, v) in vars {
            out = out.replace(&format!("$({k})"), v).replace(&format!("${{{k}}}"), v);
        }
        if out == before || out.len() > 64 * 1024 {
            break;
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// GitHub workflows

fn workflows(root: &Path, s: &mut Sources) {
    let dir = root.join(".github/workflows");
    let Ok(entries) = std::fs::read_dir(&dir) else { return };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".yml") || n.ends_with(".yaml"))
        .collect();
    names.sort();
    if names.len() > MAX_WORKFLOWS {
        s.warnings.push(format!(
            ".github/workflows: only the first {MAX_WORKFLOWS} of {} workflow files were read",
            names.len()
        ));
        names.truncate(MAX_WORKFLOWS);
    }
    for name in names {
        let rel = format!(".github/workflows/{name}");
        let Some(text) = read(root, &rel, &mut s.warnings) else { continue };
        match workflow_commands(&text, &rel) {
            Ok(found) => {
                s.read.push(rel);
                s.commands.extend(found);
            }
            Err(e) => s.warnings.push(format!("{rel}: not read: {e}")),
        }
    }
}

/// The commands of every `run:` step, job by job; `pip install` lines earlier in a job are
/// the environment of the job's later commands.
pub fn workflow_commands(text: &str, rel: &str) -> Result<Vec<Found>, String> {
    use yaml_rust2::{Yaml, YamlLoader};
    let docs = YamlLoader::load_from_str(text).map_err(|e| format!("malformed YAML: {e}"))?;
    let Some(doc) = docs.first() else { return Ok(Vec::new()) };
    let Yaml::Hash(jobs) = &doc["jobs"] else {
        return Err("no `jobs` mapping: not a GitHub Actions workflow".into());
    };
    let mut out = Vec::new();
    for (job, body) in jobs {
        let job = job.as_str().unwrap_or("?");
        let Yaml::Array(steps) = &body["steps"] else { continue };
        let mut env: Vec<String> = Vec::new();
        for step in steps {
            let Some(script) = step["run"].as_str() else { continue };
            for argv in script_commands(script) {
                if let Some(reqs) = install_requirements(&argv) {
                    env.extend(reqs);
                    continue;
                }
                out.push(Found {
                    argv,
                    from: format!("{rel} (job `{job}`)"),
                    group: job.to_string(),
                    env: env.clone(),
                });
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// pre-commit

/// The hooks of a `.pre-commit-config.yaml`.
pub fn precommit_hooks(text: &str) -> Result<Vec<Hook>, String> {
    use yaml_rust2::{Yaml, YamlLoader};
    let docs = YamlLoader::load_from_str(text).map_err(|e| format!("malformed YAML: {e}"))?;
    let Some(doc) = docs.first() else { return Ok(Vec::new()) };
    let Yaml::Array(repos) = &doc["repos"] else { return Err("no `repos` list".into()) };
    let strings = |y: &Yaml| -> Vec<String> {
        match y {
            Yaml::Array(a) => a
                .iter()
                .filter_map(|v| match v {
                    Yaml::String(s) => Some(s.clone()),
                    Yaml::Integer(i) => Some(i.to_string()),
                    Yaml::Real(r) => Some(r.clone()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    };
    let mut out = Vec::new();
    for repo in repos {
        let Some(url) = repo["repo"].as_str() else { continue };
        let rev = repo["rev"].as_str().map(str::to_string);
        let Yaml::Array(hooks) = &repo["hooks"] else { continue };
        for hook in hooks {
            let Some(id) = hook["id"].as_str() else { continue };
            out.push(Hook {
                repo: url.to_string(),
                rev: rev.clone(),
                id: id.to_string(),
                args: strings(&hook["args"]),
                entry: hook["entry"].as_str().map(str::to_string),
                deps: strings(&hook["additional_dependencies"]),
                files: match (hook["files"].as_str(), hook["exclude"].as_str()) {
                    (None, None) => None,
                    (f, e) => Some(
                        [f.map(|f| format!("files `{f}`")), e.map(|e| format!("exclude `{e}`"))]
                            .into_iter()
                            .flatten()
                            .collect::<Vec<_>>()
                            .join(", "),
                    ),
                },
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn shell_lines_split_at_operators_and_keep_quoted_words() {
        assert_eq!(
            shell_commands("cd x && ruff check 'a b' \"c\\\"d\" ; pytest -k 'not slow' | tee log # c"),
            vec![
                words(&["cd", "x"]),
                words(&["ruff", "check", "a b", "c\"d"]),
                words(&["pytest", "-k", "not slow"]),
                words(&["tee", "log"])
            ]
        );
        assert_eq!(
            script_commands("pytest \\\n  tests\n\necho hi\n"),
            vec![words(&["pytest", "tests"]), words(&["echo", "hi"])]
        );
        assert_eq!(
            shell_commands("[ -f x ] || (echo no; exit 1) && echo $(date)"),
            vec![
                words(&["[", "-f", "x", "]"]),
                words(&["echo", "no"]),
                words(&["exit", "1"]),
                words(&["echo", "$(date)"])
            ]
        );
    }

    #[test]
    fn tox_posargs_defaults_are_the_args() {
        assert_eq!(expand_posargs("pytest {posargs:tests -x}"), "pytest tests -x");
        assert_eq!(expand_posargs("pytest {posargs} -q"), "pytest  -q");
        assert_eq!(expand_posargs("pytest {posargs"), "pytest {posargs");
        assert_eq!(
            tox_root("flake8 {toxinidir}/markdown {tox_root}{/}tests {toxinidir}"),
            "flake8 markdown tests ."
        );
    }

    #[test]
    fn tox_toml_and_legacy_tox_ini_in_pyproject() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("tox.toml"),
            "[env_run_base]\ndeps = [\"pytest\"]\ncommands = [[\"pytest\", { replace = \"posargs\", default = [\"tests\", \"-x\"], extend = true }]]\n[env.lint]\ncommands = [[\"ruff\", \"check\", \"{tox_root}{/}src\"]]\n",
        )
        .unwrap();
        let s = read_all(dir.path(), None);
        assert_eq!(s.read, ["tox.toml"]);
        assert_eq!(s.commands[0].argv, words(&["pytest", "tests", "-x"]));
        assert_eq!(
            (s.commands[0].group.as_str(), s.commands[0].env.clone()),
            ("env_run_base", words(&["pytest"]))
        );
        assert_eq!(s.commands[1].argv, words(&["ruff", "check", "src"]));
        assert_eq!(s.commands[1].from, "tox.toml env.lint");
        std::fs::remove_file(dir.path().join("tox.toml")).unwrap();
        let pyproject = "[tool.tox]\nlegacy_tox_ini = \"\"\"\n[testenv:docs]\ncommands = sphinx-build -W docs out\n\"\"\"\n";
        let s = read_all(dir.path(), Some(pyproject));
        assert_eq!(s.commands[0].argv, words(&["sphinx-build", "-W", "docs", "out"]));
        assert_eq!(s.commands[0].from, "pyproject.toml [tool.tox] [testenv:docs]");
        let s = read_all(dir.path(), Some("[tool.tox]\nenv_run_base = [\n"));
        assert!(s.warnings[0].starts_with("pyproject.toml [tool.tox]: not understood"), "{:?}", s.warnings);
    }

    #[test]
    fn nox_sessions_give_their_literal_installs_and_runs() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("noxfile.py"),
            "import nox\n\n@nox.session(python=['3.11'])\ndef tests(session):\n    session.install(\"pytest\", 'hypothesis')\n    session.run(\n        \"pytest\", \"tests\",  # why\n        *session.posargs, env={\"A\": \"b\"},\n    )\n\nX = 1\n\n@nox.session\ndef lint(session: nox.Session) -> None:\n    session.install('ruff==0.4.0')\n    session.run('ruff', 'check', 'src', silent=True)\n\ndef helper():\n    session.run('nope')\n",
        )
        .unwrap();
        let mut s = Sources::default();
        nox(dir.path(), &mut s);
        assert_eq!(s.commands.len(), 2, "{:?}", s.commands);
        assert_eq!(s.commands[0].argv, words(&["pytest", "tests"]));
        assert_eq!(s.commands[0].env, words(&["pytest", "hypothesis"]));
        assert_eq!(s.commands[0].from, "noxfile.py session `tests`");
        assert_eq!(s.commands[1].argv, words(&["ruff", "check", "src"]));
        assert_eq!(s.commands[1].env, words(&["ruff==0.4.0"]));
    }

    #[test]
    fn makefile_recipes_with_variables() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Makefile"),
            "SRC := pkg tests\nPY ?= python3\n.PHONY: lint\nlint:\n\t@$(PY) -m ruff check $(SRC)\n\ttest: x\ndocs: lint\n\t$(MAKE) -C docs html\n",
        )
        .unwrap();
        let mut s = Sources::default();
        makefile(dir.path(), &mut s);
        assert_eq!(s.commands[0].argv, words(&["python3", "-m", "ruff", "check", "pkg", "tests"]));
        assert_eq!(s.commands[0].from, "Makefile target `lint`");
        assert_eq!(s.commands.last().unwrap().from, "Makefile target `docs`");
    }

    #[test]
    fn workflow_jobs_carry_their_installs() {
        let wf = "on: push\njobs:\n  test:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v4\n      - run: |\n          python -m pip install --upgrade pip\n          pip install pytest hypothesis -r req.txt\n      - run: pytest tests\n";
        let found = workflow_commands(wf, "w.yml").unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].argv, words(&["pytest", "tests"]));
        assert_eq!(found[0].env, words(&["pip", "pytest", "hypothesis", "-r", "req.txt"]));
        assert!(workflow_commands("jobs: [unclosed", "w.yml").unwrap_err().contains("malformed YAML"));
        assert!(workflow_commands("name: x\n", "w.yml").is_err());
    }
}
