//! Which linter and formatter the project itself uses, read from its files, so `lint` and
//! `format` without a `tool` run what the project's CI runs. ruff wherever the project shows
//! ruff (`[tool.ruff]`, `ruff.toml`, a ruff hook or requirement); else flake8 where it shows
//! flake8 (`.flake8`, `[flake8]` in `setup.cfg` or `tox.ini`, a hook or requirement), over the
//! paths its tox `flake8` environment names; black formats where it shows black (and not
//! ruff's formatter: `[tool.ruff.format]`, a `ruff-format` hook). A project that lints with
//! flake8 and shows no formatter has none: `format` is skipped. A project that shows nothing
//! gets hookgate's defaults (ruff for both).

use crate::checks::parse_ini;

/// The linter `lint` runs by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Linter {
    /// `ruff check`.
    #[default]
    Ruff,
    /// `flake8` over these paths (`.` when none is named).
    Flake8(Vec<String>),
}

/// The formatter `format` runs by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Formatter {
    /// `ruff format`.
    #[default]
    Ruff,
    /// `black`.
    Black,
    /// None: the project lints with flake8 and configures no formatter.
    None,
}

/// The project's own linter and formatter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tooling {
    /// What `lint` runs.
    pub linter: Linter,
    /// What `format` runs.
    pub formatter: Formatter,
    /// Where that was read from, for the log (empty: hookgate's defaults).
    pub source: String,
}

/// The files tooling is read from (contents of the tree's root files, when present).
#[derive(Debug, Clone, Copy, Default)]
pub struct ToolingFiles<'a> {
    /// `pyproject.toml`, parsed.
    pub pyproject: Option<&'a toml::Value>,
    /// `.pre-commit-config.yaml`.
    pub precommit: Option<&'a str>,
    /// `setup.cfg`.
    pub setup_cfg: Option<&'a str>,
    /// `tox.ini`.
    pub tox_ini: Option<&'a str>,
    /// Whether `ruff.toml` or `.ruff.toml` is there.
    pub ruff_toml: bool,
    /// Whether `.flake8` is there.
    pub flake8_file: bool,
}

/// Whether any requirement in `lists` is on the distribution `tool`.
fn requires(lists: &[(String, Vec<String>)], tool: &str) -> bool {
    lists.iter().flat_map(|(_, r)| r).any(|r| {
        let end = r.find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c))).unwrap_or(r.len());
        crate::pins::normalize(&r[..end]) == tool
    })
}

/// Reads the project's tooling; `requirements` are its dependency groups and extras.
pub fn detect(files: &ToolingFiles<'_>, requirements: &[(String, Vec<String>)]) -> Tooling {
    let tool_table = |name: &str| files.pyproject.and_then(|p| p.get("tool")?.get(name)).is_some();
    let hook = |repo: &str| files.precommit.is_some_and(|t| t.to_ascii_lowercase().contains(repo));
    let ini_section =
        |text: Option<&str>, section: &str| text.is_some_and(|t| parse_ini(t).contains_key(section));

    let black = tool_table("black") || hook("psf/black") || requires(requirements, "black");
    if tool_table("ruff") || files.ruff_toml || hook("ruff-pre-commit") || requires(requirements, "ruff") {
        // ruff for linting and black for formatting is common: black formats unless the
        // project also shows ruff's formatter.
        let ruff_format = files.pyproject.and_then(|p| p.get("tool")?.get("ruff")?.get("format")).is_some()
            || hook("ruff-format");
        let formatter = if black && !ruff_format { Formatter::Black } else { Formatter::Ruff };
        return Tooling {
            formatter,
            source: "the project's ruff configuration".into(),
            ..Tooling::default()
        };
    }
    let flake8 = files.flake8_file
        || ini_section(files.setup_cfg, "flake8")
        || ini_section(files.tox_ini, "flake8")
        || hook("pycqa/flake8")
        || requires(requirements, "flake8");
    match (flake8, black) {
        (false, false) => Tooling::default(),
        (false, true) => Tooling {
            formatter: Formatter::Black,
            source: "the project's black configuration".into(),
            ..Tooling::default()
        },
        (true, _) => Tooling {
            linter: Linter::Flake8(files.tox_ini.map(tox_flake8_paths).unwrap_or_default()),
            formatter: if black { Formatter::Black } else { Formatter::None },
            source: "the project's flake8 configuration".into(),
        },
    }
}

/// The paths tox's `flake8` environment lints (`flake8 {toxinidir}/pkg {toxinidir}/tests` ->
/// `pkg`, `tests`); empty when it names none.
fn tox_flake8_paths(tox_ini: &str) -> Vec<String> {
    let ini = parse_ini(tox_ini);
    let Some(commands) = ini.get("testenv:flake8").and_then(|s| s.get("commands")) else { return Vec::new() };
    let Some(line) =
        commands.lines().find(|l| l.split_whitespace().next().is_some_and(|w| w.ends_with("flake8")))
    else {
        return Vec::new();
    };
    line.split_whitespace()
        .skip(1)
        .filter(|w| !w.starts_with('-') && !w.starts_with("{posargs"))
        .map(|w| {
            let w = w.replace("{toxinidir}/", "").replace("{tox_root}/", "");
            if w == "{toxinidir}" || w == "{tox_root}" { ".".to_string() } else { w }
        })
        // Only plain relative paths inside the tree (the tree is someone else's).
        .filter(|w| crate::config::inside_tree(w).is_ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toml(text: &str) -> toml::Value {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn ruff_wins_then_flake8_with_its_tox_paths_then_defaults() {
        let none = ToolingFiles::default();
        assert_eq!(detect(&none, &[]), Tooling::default());

        let pyproject = toml("[tool.ruff]\nline-length = 100\n");
        let ruff = ToolingFiles { pyproject: Some(&pyproject), setup_cfg: Some("[flake8]\nx = 1\n"), ..none };
        assert_eq!(detect(&ruff, &[]).linter, Linter::Ruff);

        // markdown: flake8 in tox.ini, no formatter.
        let tox = "[testenv:flake8]\ndeps = flake8\ncommands = flake8 {toxinidir}/markdown {toxinidir}/tests\n\n[flake8]\nmax-line-length = 119\n";
        let markdown = ToolingFiles { tox_ini: Some(tox), ..none };
        let t = detect(&markdown, &[]);
        assert_eq!(
            (t.linter, t.formatter),
            (Linter::Flake8(vec!["markdown".into(), "tests".into()]), Formatter::None)
        );

        // six: a [flake8] section in setup.cfg.
        let six = ToolingFiles { setup_cfg: Some("[flake8]\nmax-line-length = 100\n"), ..none };
        assert_eq!(detect(&six, &[]).linter, Linter::Flake8(vec![]));

        let dev =
            vec![("group `dev`".to_string(), vec!["flake8>=7".to_string(), "black==24.1.0".to_string()])];
        let t = detect(&none, &dev);
        assert_eq!((t.linter, t.formatter), (Linter::Flake8(vec![]), Formatter::Black));
        let with_ruff = vec![("group `lint`".to_string(), vec!["ruff>=0.9".to_string()])];
        assert_eq!(detect(&six, &with_ruff).linter, Linter::Ruff);

        let both = toml("[tool.ruff]\nline-length = 88\n[tool.black]\nline-length = 88\n");
        let t = detect(&ToolingFiles { pyproject: Some(&both), ..none }, &[]);
        assert_eq!((t.linter, t.formatter), (Linter::Ruff, Formatter::Black));
        let ruff_format = toml("[tool.ruff.format]\nquote-style = \"single\"\n[tool.black]\n");
        assert_eq!(
            detect(&ToolingFiles { pyproject: Some(&ruff_format), ..none }, &[]).formatter,
            Formatter::Ruff
        );

        let hostile = "[testenv:flake8]\ncommands = flake8 /etc ../up {toxinidir}/ok --max-line-length=9\n";
        assert_eq!(tox_flake8_paths(hostile), ["ok"]);
    }
}
