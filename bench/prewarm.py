#!/usr/bin/env python3
"""Edit -> commit -> pause -> push, as the user lives it, with the pre-push stage running
lint, format and the tests (pytest), side by side in one run:

  no-verify             git push --no-verify (the floor)
  hookgate              pre-push hook only: the push runs the checks of the new tree
  hookgate+post-commit  background run started by the post-commit hook (background = true)
  hookgate+watch        `hookgate watch` running while the user edits
  prek, pre-commit      the same hooks as `repo: local` pre-push hooks

Each iteration edits a module, commits, pauses (the user reading the diff: longer than the
checks take), then pushes main (fast-forward) to a local bare remote. Reported: medians of the
commit and of the push, and the push's excess over the no-verify push.

Usage: python3 bench/prewarm.py [--runs N] [--pause S] [--out FILE]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (shares the repo setup, tool install and configs)


def timed(cmd, cwd, env):
    t = time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"failed: {cmd}\n{r.stdout}\n{r.stderr}")
    return time.perf_counter() - t


def scenario(name, runs, pause, bins, hookgate, env):
    tool = {"no-verify": "no-verify"}.get(name, name.split("+")[0])
    repo = bench.make_repo("prewarm_" + name.replace("+", "_"), tool, True, env)
    if name.startswith("hookgate"):
        if name == "hookgate+post-commit":
            cfg = repo / "hookgate.toml"
            cfg.write_text("background = true\n" + cfg.read_text())
            subprocess.run(["git", "commit", "-qam", "background"], cwd=repo, env=env, check=True)
        subprocess.run([str(hookgate), "install"], cwd=repo, env=env, check=True, capture_output=True)
    elif name in ("prek", "pre-commit"):
        exe = bins / name
        subprocess.run([str(exe), "install", "--hook-type", "pre-push"], cwd=repo, env=env, check=True,
                       capture_output=True)
    subprocess.run(["git", "push", "-q", "--no-verify", "origin", "main"], cwd=repo, env=env, check=True)
    watcher = None
    if name == "hookgate+watch":
        watcher = subprocess.Popen([str(hookgate), "watch", "--debounce-ms", "200"], cwd=repo, env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(pause)
    push = ["git", "push", "-q", "origin", "main"]
    if name == "no-verify":
        push.insert(2, "--no-verify")
    commits, pushes = [], []
    module = repo / "src" / "sample_pkg" / "__init__.py"
    base = module.read_text()
    for i in range(runs + 1):  # the first iteration warms tool environments; not counted
        module.write_text(base + f"\n\nEDIT = {i}\n")
        if watcher:
            time.sleep(pause)  # the user pauses before committing; watch checks meanwhile
        c = timed(["git", "commit", "-qam", f"edit {i}"], repo, env)
        time.sleep(pause)  # reading the log, writing the PR title...
        p = timed(push, repo, env)
        if i:
            commits.append(c)
            pushes.append(p)
    if watcher:
        watcher.terminate()
        watcher.wait()
    return statistics.median(commits), statistics.median(pushes)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--pause", type=float, default=3.0, help="seconds the user pauses (> check time)")
    ap.add_argument("--out")
    args = ap.parse_args()
    bench.WORK.mkdir(parents=True, exist_ok=True)
    home = bench.WORK / "home"
    home.mkdir(exist_ok=True)
    env = bench.env_for(home)
    bins, hookgate = bench.tools()
    rows = {}
    for name in ("no-verify", "hookgate", "hookgate+post-commit", "hookgate+watch", "prek", "pre-commit"):
        rows[name] = scenario(name, args.runs, args.pause, bins, hookgate, env)
        print(f"{name}: commit {rows[name][0] * 1000:.1f} ms, push {rows[name][1] * 1000:.1f} ms", file=sys.stderr)
    floor = rows["no-verify"][1]
    lines = [
        f"{args.runs} iterations each (after one warm-up), pause {args.pause:g} s between edit/commit/push; "
        f"pre-push stage: ruff check, ruff format --check, pytest.",
        "",
        "| scenario | commit (ms) | push (ms) | push over no-verify (ms) |",
        "|---|---:|---:|---:|",
    ]
    for name, (c, p) in rows.items():
        lines.append(f"| {name} | {c * 1000:.1f} | {p * 1000:.1f} | {(p - floor) * 1000:.1f} |")
    bench.publish(lines, args.out)


if __name__ == "__main__":
    main()
