#!/usr/bin/env python3
"""The per-file lint cache (issue #12 item 3): cold `hookgate run lint format` after a one-file
edit on a tree of N Python files, with the per-file cache (the default) and without it
(HOOKGATE_FILE_CACHE=0). Every timed run checks a new tree (its verdicts miss); runs alternate
between the two modes, each after an edit of the same file, so the per-file cache always holds
every other file's result.

    python3 bench/filecache.py [--files 10000] [--runs 7] [--hookgate BIN] [--tools ruff|flake8-black]

`--tools flake8-black` runs `lint` with flake8 and `format` with black instead of ruff.

Prints a Markdown table (medians) and the per-file counts the last logs show.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".work" / "filecache"

MODULE = '''"""Module {i}."""

from __future__ import annotations

import math


def area_{i}(radius: float) -> float:
    """The area of a circle."""
    return math.pi * radius**2


class Shape{i}:
    """A shape."""

    def __init__(self, sides: int) -> None:
        self.sides = sides

    def describe(self) -> str:
        return f"{{self.sides}} sides"
'''


def run(cmd, cwd=None, env=None, check=True):
    return subprocess.run(cmd, cwd=cwd, env=env, check=check, capture_output=True, text=True)


def make_repo(files: int, env: dict) -> Path:
    shutil.rmtree(WORK, ignore_errors=True)
    repo = WORK / "repo"
    shutil.copytree(ROOT / "fixtures" / "clean", repo)
    pkg = repo / "src" / "sample_pkg"
    per_dir = 100
    for d in range(files // per_dir):
        sub = pkg / f"sub{d:03d}"
        sub.mkdir(parents=True)
        (sub / "__init__.py").write_text("")
        for i in range(per_dir - 1):
            (sub / f"mod{i:03d}.py").write_text(MODULE.format(i=i))
    run(["git", "init", "-q", "-b", "main"], cwd=repo, env=env)
    run(["git", "add", "-A"], cwd=repo, env=env)
    run(["git", "commit", "-q", "-m", "init"], cwd=repo, env=env)
    return repo


def edit_and_commit(repo: Path, n: int, env: dict) -> None:
    target = repo / "src" / "sample_pkg" / "sub000" / "mod000.py"
    target.write_text(MODULE.format(i=0) + f"\n\nEDIT = {n}\n")
    run(["git", "commit", "-q", "-am", f"edit {n}"], cwd=repo, env=env)


def timed(hookgate: Path, repo: Path, env: dict) -> tuple[float, dict]:
    start = time.perf_counter()
    out = run([str(hookgate), "run", "lint", "format", "--json"], cwd=repo, env=env, check=False)
    elapsed = time.perf_counter() - start
    report = json.loads(out.stdout)
    statuses = {c["name"]: (c["status"], c["cached"]) for c in report["checks"]}
    assert statuses == {"lint": ("pass", False), "format": ("pass", False)}, (statuses, out.stderr)
    return elapsed, report


def tool_seconds(report: dict) -> float:
    """Time of the tools' commands in the two checks' logs (`$ ruff ...`, `$ black ...`,
    `$ flake8 ...`, then `hookgate: (Xs)`)."""
    total = 0.0
    for c in report["checks"]:
        after_tool = False
        for line in Path(c["log"]).read_text().splitlines():
            if line.startswith("$ "):
                after_tool = line.startswith(("$ ruff ", "$ black ", "$ flake8 "))
            elif after_tool and line.startswith("hookgate: (") and line.endswith("s)"):
                total += float(line[len("hookgate: ("):-2])
                after_tool = False
    return total


def check_seconds(report: dict) -> float:
    """The two checks' own durations (each from its start to its verdict), summed."""
    return sum(c["duration_ms"] for c in report["checks"]) / 1000


def counts(report: dict) -> str:
    found = []
    for c in report["checks"]:
        for line in Path(c["log"]).read_text().splitlines():
            if line.startswith("hookgate: per-file cache:"):
                found.append(f'{c["name"]}: {line.removeprefix("hookgate: per-file cache: ")}')
    return "; ".join(found) or "per-file cache off"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--hookgate", default=None)
    ap.add_argument("--tools", choices=["ruff", "flake8-black"], default="ruff")
    args = ap.parse_args()
    if args.hookgate:
        hookgate = Path(args.hookgate).resolve()
    else:
        run(["cargo", "build", "--quiet", "--release", "--locked"], cwd=ROOT)
        hookgate = ROOT / "target" / "release" / "hookgate"
    home = WORK.parent / "filecache-home"
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="b@example.com",
        GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="b@example.com",
        GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=str(home / ".gitconfig"),
    )
    env.pop("HOOKGATE_FILE_CACHE", None)
    off = dict(env, HOOKGATE_FILE_CACHE="0")
    repo = make_repo(args.files, env)
    if args.tools == "flake8-black":
        (repo / "hookgate.toml").write_text('[checks.lint]\ntool = "flake8"\n[checks.format]\ntool = "black"\n')
        run(["git", "add", "hookgate.toml"], cwd=repo, env=env)
        run(["git", "commit", "-q", "-m", "flake8 and black"], cwd=repo, env=env)
    python_files = len(run(["git", "ls-files", "*.py"], cwd=repo, env=env).stdout.split())
    # Warm-up: the shared ruff environment, the resolution, the per-file results of the tree.
    timed(hookgate, repo, env)
    times = {"with the per-file cache": [], "HOOKGATE_FILE_CACHE=0": []}
    ruff = {k: [] for k in times}
    checks = {k: [] for k in times}
    last = {}
    n = 0
    for _ in range(args.runs):
        for label, e in (("with the per-file cache", env), ("HOOKGATE_FILE_CACHE=0", off)):
            n += 1
            edit_and_commit(repo, n, env)
            t, report = timed(hookgate, repo, e)
            times[label].append(t)
            ruff[label].append(tool_seconds(report))
            checks[label].append(check_seconds(report))
            last[label] = counts(report)
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Linux {platform.release()}; "
          f"{run(['git', '--version']).stdout.strip()}; {run(['uv', '--version']).stdout.strip()}; "
          f"tree: {python_files} Python files; tools: {args.tools}")
    print()
    print("| lint + format after a one-file edit | runs | wall, median (ms) | wall, min (ms) | "
          "ratio | lint + format check time (ms) | of which the tools (ms) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    base = statistics.median(times["HOOKGATE_FILE_CACHE=0"])
    for label, ts in times.items():
        med = statistics.median(ts)
        print(f"| {label} | {len(ts)} | {med * 1000:.0f} | {min(ts) * 1000:.0f} | {med / base:.2f}x | "
              f"{statistics.median(checks[label]) * 1000:.0f} | {statistics.median(ruff[label]) * 1000:.0f} |")
    print()
    for label, c in last.items():
        print(f"- {label}: {c}")


if __name__ == "__main__":
    main()
