#!/usr/bin/env python3
"""Cold runs of many cheap checks on a large tree: what exporting the tree costs (#12 item 2).

A repository with FILES small distinct files (100 per directory) and CHECKS `command` checks
that run `true` (no `inputs`: each sees the whole tree). Each timed run is `hookgate run
--force` (every check runs: export, venv, command, verdict, scratch removal); TMPDIR is a
directory of the work dir. Binaries named on the command line are timed alternately, one run
each per round, so they share the machine's state; medians.

With --sample, the repository is the bundled sample package (fixtures/clean) instead, timed
with `hookgate run --all --force` (every built-in check but `version`, which needs an index).

Usage: python3 bench/export.py [--files N] [--checks N] [--sample] [--runs N] --label NAME=BIN ...
(prints a Markdown table)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def sh(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_repo(at: Path, files: int, checks: int) -> None:
    at.mkdir(parents=True)
    sh(["git", "init", "-q"], at)
    for i in range(files):
        d = at / "pkg" / f"d{i // 100:03d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"m{i:05d}.py").write_text(f"VALUE_{i} = {i}\n")
    config = ["defaults = false"]
    for c in range(checks):
        config.append(f'[checks.c{c:02d}]\nrun = ["true"]\nstages = ["pre-commit"]')
    (at / "hookgate.toml").write_text("\n".join(config) + "\n")
    sh(["git", "add", "-A"], at)
    sh(["git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "-m", "tree"], at)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--checks", type=int, default=30)
    ap.add_argument("--sample", action="store_true", help="time run --all on fixtures/clean")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--label", action="append", required=True, help="NAME=path/to/hookgate")
    args = ap.parse_args()
    bins = dict(item.split("=", 1) for item in args.label)
    work = Path(tempfile.mkdtemp(prefix="export-bench-"))
    try:
        repo = work / "repo"
        run = ["run", "--force"]
        if args.sample:
            shutil.copytree(ROOT / "fixtures" / "clean", repo)
            (repo / "hookgate.toml").write_text("[checks.version]\nenabled = false\n")
            sh(["git", "init", "-q"], repo)
            sh(["git", "add", "-A"], repo)
            sh(["git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "-m", "sample"], repo)
            run.append("--all")
        else:
            make_repo(repo, args.files, args.checks)
        tmp = work / "tmp"
        tmp.mkdir()
        env = dict(os.environ, TMPDIR=str(tmp))
        times: dict[str, list[float]] = {name: [] for name in bins}
        for name, binary in bins.items():  # warm-up: interpreter facts, uv cache
            sh([binary, *run], repo, env)
        for _ in range(args.runs):
            for name, binary in bins.items():
                t = time.perf_counter()
                sh([binary, *run], repo, env)
                times[name].append(time.perf_counter() - t)
                left = [p.name for p in tmp.iterdir()]
                assert not left, f"{name} left {left} in TMPDIR"
        what = "sample package" if args.sample else f"{args.files} files, {args.checks} checks"
        print(f"{what}: `hookgate {' '.join(run)}`, {os.cpu_count()} cores, {args.runs} runs, medians\n")
        print("| binary | median (s) | runs (s) |")
        print("|---|---:|---|")
        for name, ts in times.items():
            print(f"| {name} | {statistics.median(ts):.2f} | {' '.join(f'{t:.2f}' for t in ts)} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
