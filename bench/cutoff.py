#!/usr/bin/env python3
"""Early cutoff for the tests (issue #12 item 6): times `git push` of a docs-only edit, and of a
one-line package edit, with `wheel`, `test` and `coverage` in the pre-push stage, with early
cutoff on (hookgate's default) and off (`[checks.test] cutoff = false`: every tree runs the
tests, as before the feature), side by side, interleaved.

Each scenario has its own clone of fixtures/clean with the hooks installed and a first push
done (untimed). Each round: edit (docs/index.rst, or a docstring in the package), `git commit
--no-verify`, then the timed `git push origin main` (fast-forward, the hook builds the wheel and
runs or reuses the tests). Medians over the rounds.

With `--before BIN`, a third column: BIN (a hookgate without the feature) with the same config
minus the `cutoff` key.

Usage: python3 bench/cutoff.py [--runs N] [--hookgate BIN] [--before BIN]   (prints a Markdown table)
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

CONFIG = {
    "cutoff": '[checks.lint]\nenabled = false\n[checks.format]\nenabled = false\n'
    '[checks.version]\nenabled = false\n[checks.docs]\nenabled = false\n',
}
CONFIG["no-cutoff"] = CONFIG["cutoff"] + '[checks.test]\ncutoff = false\n'
CONFIG["before"] = CONFIG["cutoff"]


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{cmd} failed in {cwd}:\n{out.stdout}\n{out.stderr}")
    return out


def setup(base: Path, name: str, binary: str, env: dict[str, str]) -> Path:
    work = base / name / "work"
    remote = base / name / "remote.git"
    shutil.copytree(ROOT / "fixtures" / "clean", work)
    (work / "hookgate.toml").write_text(CONFIG[name.split(":")[0]])
    for cmd in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "-A"],
        ["git", "commit", "-q", "-m", "init"],
        ["git", "init", "-q", "--bare", str(remote)],
        ["git", "remote", "add", "origin", str(remote)],
        [binary, "install"],
        ["git", "push", "-q", "origin", "main"],
    ):
        run(cmd, work, env)
    return work


def edit(work: Path, what: str, n: int) -> None:
    if what == "docs":
        page = work / "docs" / "index.rst"
        page.write_text(page.read_text() + f"\nEdit {n}.\n")
    else:
        module = work / "src" / "sample_pkg" / "__init__.py"
        lines = module.read_text().splitlines(keepends=True)
        lines[0] = f'"""A tiny package used as hookgate\'s sample (edit {n})."""\n'
        module.write_text("".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--hookgate", default=str(ROOT / "target" / "release" / "hookgate"))
    ap.add_argument("--before", help="a hookgate binary without early cutoff, for a third column")
    args = ap.parse_args()
    binary = str(Path(args.hookgate).resolve())
    before = str(Path(args.before).resolve()) if args.before else None
    base = Path(tempfile.mkdtemp(prefix="hookgate-cutoff-bench-"))
    env = dict(os.environ)
    env.update(
        GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@example.com",
        GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@example.com",
        GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=str(base / "gitconfig"),
    )
    env.pop("HOOKGATE_SKIP", None)
    modes = (["before"] if before else []) + ["no-cutoff", "cutoff"]
    scenarios = [f"{mode}:{what}" for what in ("docs", "source") for mode in modes]
    bins = {s: before if s.startswith("before:") else binary for s in scenarios}
    try:
        works = {s: setup(base, s, bins[s], env) for s in scenarios}
        times: dict[str, list[float]] = {s: [] for s in scenarios}
        for n in range(args.runs):
            for s in scenarios:
                work = works[s]
                edit(work, s.split(":")[1], n)
                run(["git", "commit", "-q", "--no-verify", "-am", f"edit {n}"], work, env)
                start = time.perf_counter()
                run(["git", "push", "-q", "origin", "main"], work, env)
                times[s].append(time.perf_counter() - start)
        version = run([binary, "--version"], ROOT, env).stdout.strip()
        print(f"{args.runs} rounds, interleaved; {version}; wheel + test + coverage at pre-push\n")
        head = "| edit | " + ("before (s) | " if before else "") + "cutoff off (s) | cutoff on (s) | on / off |"
        print(head)
        print("|---|" + "---:|" * (head.count("|") - 2))
        for what in ("docs", "source"):
            med = {m: statistics.median(times[f"{m}:{what}"]) for m in modes}
            cells = [f"{med[m]:.2f}" for m in modes]
            print(f"| {what} | " + " | ".join(cells) + f" | {med['cutoff'] / med['no-cutoff']:.2f}x |")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
