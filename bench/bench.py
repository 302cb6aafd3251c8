#!/usr/bin/env python3
"""Times `git push` to a local bare remote under each hook manager, side by side, in one run.

Scenarios (same fixture package, same ruff version, same hooks, pre-push stage):
  no-verify        git push --no-verify (the floor)
  hookgate-cached  hookgate, every verdict already cached (the hot path)
  hookgate-cold    hookgate, verdicts removed before each push (the checks run: export, a
                   private copy of the environment built once per user, real ruff)
  prek             prek with `repo: local` ruff check + ruff format --check hooks
  pre-commit       pre-commit with the same config
Then the same with a pytest hook added to the pre-push stage ("+tests" rows).

Each push goes to a fresh remote branch that is deleted (untimed) afterwards, so every tool
sees a new branch with all files to check. Hook time = median push time - median no-verify.

Usage: python3 bench/bench.py [--runs N] [--slow-runs N] [--no-tests] [--interleave ROUNDS]
                             [--hookgate BIN] [--out FILE]
(prints a Markdown table)
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".work"
RUFF = "ruff==0.11.8"

LINT_FORMAT = {
    "hookgate": f"""defaults = false
[checks.lint]
deps = ["{RUFF}"]
stages = ["pre-push"]
[checks.format]
deps = ["{RUFF}"]
stages = ["pre-push"]
""",
    "pre-commit": f"""repos:
  - repo: local
    hooks:
      - id: ruff-check
        name: ruff check
        entry: ruff check --no-cache
        language: python
        additional_dependencies: ["{RUFF}"]
        types: [python]
        stages: [pre-push]
      - id: ruff-format
        name: ruff format
        entry: ruff format --check --no-cache
        language: python
        additional_dependencies: ["{RUFF}"]
        types: [python]
        stages: [pre-push]
""",
}

TESTS = {
    "hookgate": """[checks.tests]
deps = ["pytest"]
run = ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"]
stages = ["pre-push"]
""",
    "pre-commit": """      - id: pytest
        name: pytest
        entry: python -m pytest -q -p no:cacheprovider tests
        language: python
        additional_dependencies: ["pytest"]
        pass_filenames: false
        always_run: true
        stages: [pre-push]
""",
}


def run(cmd, cwd=None, env=None, check=True):
    return subprocess.run(cmd, cwd=cwd, env=env, check=check, capture_output=True, text=True)


def env_for(home: Path) -> dict:
    env = dict(os.environ)
    env.update(
        GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="b@example.com",
        GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="b@example.com",
        GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=str(home / ".gitconfig"),
        PRE_COMMIT_HOME=str(home / "pre-commit"), PREK_HOME=str(home / "prek"),
    )
    return env


def tools(hookgate: str | None = None) -> tuple[Path, Path]:
    """A venv with pre-commit and prek from PyPI; the release hookgate binary (or `hookgate`,
    e.g. an older build to compare with)."""
    venv = WORK / "tools"
    if not (venv / "bin" / "prek").exists():
        run(["uv", "venv", "--quiet", str(venv)])
        run(["uv", "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), "pre-commit", "prek"])
    if hookgate:
        return venv / "bin", Path(hookgate).resolve()
    run(["cargo", "build", "--quiet", "--release", "--locked"], cwd=ROOT)
    return venv / "bin", ROOT / "target" / "release" / "hookgate"


def make_repo(name: str, tool: str, with_tests: bool, env: dict) -> Path:
    base = WORK / name
    shutil.rmtree(base, ignore_errors=True)
    repo, remote = base / "repo", base / "remote.git"
    shutil.copytree(ROOT / "fixtures" / "clean", repo)
    pyproject = repo / "pyproject.toml"
    # Every tool imports the package from src/ the same way (prek cannot install "." as a dep).
    pyproject.write_text(pyproject.read_text() + '\n[tool.pytest.ini_options]\npythonpath = ["src"]\n')
    hg = LINT_FORMAT["hookgate"] + (TESTS["hookgate"] if with_tests else "")
    pc = LINT_FORMAT["pre-commit"] + (TESTS["pre-commit"] if with_tests else "")
    (repo / "hookgate.toml").write_text(hg)
    (repo / ".pre-commit-config.yaml").write_text(pc)
    run(["git", "init", "-q", "-b", "main"], cwd=repo, env=env)
    run(["git", "add", "-A"], cwd=repo, env=env)
    run(["git", "commit", "-q", "-m", "init"], cwd=repo, env=env)
    run(["git", "init", "-q", "--bare", str(remote)], env=env)
    run(["git", "remote", "add", "origin", str(remote)], cwd=repo, env=env)
    return repo


def time_pushes(repo: Path, env: dict, runs: int, no_verify=False, before=None) -> list[float]:
    samples = []
    for _ in range(runs):
        if before:
            before()
        cmd = ["git", "push", "-q", "origin", "HEAD:refs/heads/bench"]
        if no_verify:
            cmd.insert(2, "--no-verify")
        t = time.perf_counter()
        r = run(cmd, cwd=repo, env=env, check=False)
        samples.append(time.perf_counter() - t)
        if r.returncode != 0:
            sys.exit(f"push failed in {repo}:\n{r.stdout}\n{r.stderr}")
        run(["git", "push", "-q", "--no-verify", "origin", ":refs/heads/bench"], cwd=repo, env=env)
    return samples


def setup(label, tool, with_tests, bins, hookgate, env):
    """The scenario's repository with its hook installed and warmed up, and what to do before
    each timed push."""
    repo = make_repo(label.replace(" ", "_").replace("+", "plus_"), tool, with_tests, env)
    before = None
    if tool == "no-verify":
        return repo, before
    if tool.startswith("hookgate"):
        run([str(hookgate), "install", "--hook-type", "pre-push"], cwd=repo, env=env)
        verdicts = repo / ".git" / "hookgate" / "verdicts"
        if tool == "hookgate-cold":
            before = lambda: shutil.rmtree(verdicts, ignore_errors=True)  # noqa: E731
    else:
        exe = bins / ("prek" if tool == "prek" else "pre-commit")
        run([str(exe), "install", "--hook-type", "pre-push"], cwd=repo, env=env)
    time_pushes(repo, env, 1, before=None)  # warm-up: tool envs, caches, page cache
    return repo, before


def scenario(label, tool, with_tests, runs, bins, hookgate, env):
    repo, before = setup(label, tool, with_tests, bins, hookgate, env)
    return time_pushes(repo, env, runs, no_verify=tool == "no-verify", before=before)


def interleaved(rounds, with_tests, bins, hookgate, env):
    """One push per tool per round, in turn, so a busy machine slows every tool alike."""
    suffix = " +tests" if with_tests else ""
    tools = ("no-verify", "hookgate-cold", "prek", "pre-commit")
    ready = {t: setup(t + suffix, t, with_tests, bins, hookgate, env) for t in tools}
    samples = {t: [] for t in tools}
    for _ in range(rounds):
        for t in tools:
            repo, before = ready[t]
            samples[t] += time_pushes(repo, env, 1, no_verify=t == "no-verify", before=before)
    floor = statistics.median(samples["no-verify"])
    hook = {t: statistics.median(v) - floor for t, v in samples.items()}
    rows = [
        f"Interleaved, {rounds} rounds{suffix}: hook time hookgate-cold {hook['hookgate-cold'] * 1000:.1f} ms, "
        f"prek {hook['prek'] * 1000:.1f} ms, pre-commit {hook['pre-commit'] * 1000:.1f} ms; "
        f"hookgate-cold vs prek {hook['hookgate-cold'] / hook['prek']:.2f}x, "
        f"vs pre-commit {hook['hookgate-cold'] / hook['pre-commit']:.2f}x."
    ]
    return rows


def publish(lines: list[str], out: str | None) -> None:
    """Prints the Markdown table and, with --out, writes it to that file."""
    text = "\n".join(lines)
    print(text)
    if out:
        Path(out).write_text(text + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--slow-runs", type=int, default=5, help="runs for scenarios that take seconds")
    ap.add_argument("--out")
    ap.add_argument("--hookgate", help="time this hookgate binary instead of building the release one")
    ap.add_argument("--no-tests", action="store_true", help="only the lint + format group")
    ap.add_argument("--interleave", type=int, metavar="ROUNDS",
                    help="only the cold scenarios, one push of each tool per round, in turn")
    args = ap.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    home = WORK / "home"
    home.mkdir(exist_ok=True)
    env = env_for(home)
    bins, hookgate = tools(args.hookgate)
    if args.interleave:
        lines = []
        for with_tests in (False,) if args.no_tests else (False, True):
            lines += interleaved(args.interleave, with_tests, bins, hookgate, env)
        publish(lines, args.out)
        return

    rows = []
    for with_tests in (False,) if args.no_tests else (False, True):
        suffix = " +tests" if with_tests else ""
        results = {}
        for tool in ("no-verify", "hookgate-cached", "hookgate-cold", "prek", "pre-commit"):
            n = args.runs if tool in ("no-verify", "hookgate-cached") else args.slow_runs
            samples = scenario(tool + suffix, tool, with_tests, n, bins, hookgate, env)
            results[tool] = (statistics.median(samples), n)
            print(f"{tool}{suffix}: median {results[tool][0] * 1000:.1f} ms over {n}", file=sys.stderr)
        floor = results["no-verify"][0]
        cached_hook = max(results["hookgate-cached"][0] - floor, 1e-4)
        for tool, (med, n) in results.items():
            hook = med - floor
            ratio = "" if tool == "no-verify" else f"{hook / cached_hook:.0f}x"
            rows.append((tool + suffix, n, med * 1000, hook * 1000, ratio))

    version = lambda exe, *a: run([str(exe), *a], check=False).stdout.strip() or "?"  # noqa: E731
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
        f"{version('git', '--version')}; Python {platform.python_version()}; {version('uv', '--version')}; "
        f"hookgate {version(hookgate, '--version').split()[-1]}; prek {version(bins / 'prek', '--version').split()[-1]}; "
        f"pre-commit {version(bins / 'pre-commit', '--version').split()[-1]}; hooks use {RUFF}.",
        "",
        "| scenario | runs | median push (ms) | hook time (ms) | hook time vs hookgate cached |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, n, med, hook, ratio in rows:
        lines.append(f"| {label} | {n} | {med:.1f} | {hook:.1f} | {ratio} |")
    publish(lines, args.out)


if __name__ == "__main__":
    main()
