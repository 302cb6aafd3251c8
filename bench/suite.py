#!/usr/bin/env python3
"""Wall time of the check suite on the bundled sample package, side by side in one run:

  hookgate run --all       all seven checks (lint, format, wheel, test, coverage, version, docs)
  hookgate run coverage    wheel -> test -> coverage: the same steps as the two below
  tox                      package = wheel, pytest under coverage, coverage report
  uv by hand               uv build; uv venv; uv pip install <wheel> pytest coverage;
                           coverage run -m pytest; coverage report
  uv by hand, all seven    the same steps as `run --all`, one after another as a CI script
                           writes them: ruff check and format --check, uv build, twine check
                           --strict and check-wheel-contents, the version asked of the index,
                           the tests under coverage with the XML and HTML reports, Sphinx

"cold": hookgate's cache (verdicts and artifacts) or tox's .tox removed before each run; the
uv package cache stays warm for every tool alike. "warm": run again with nothing changed.
The version check asks a pypiserver on 127.0.0.1 so the timing does not depend on PyPI.

Usage: python3 bench/suite.py [--runs N] [--hookgate BIN] [--out FILE]   (prints a Markdown table)
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (shared table output)

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".work" / "suite"

TOX_INI = """[tox]
env_list = py
[testenv]
package = wheel
deps =
    pytest
    coverage
commands =
    coverage run --source=sample_pkg -m pytest -q tests
    coverage report
"""

BY_HAND = """set -e
rm -rf dist .venv-hand
uv build -q --out-dir dist .
uv venv -q .venv-hand
uv pip install -q --python .venv-hand/bin/python dist/*.whl pytest coverage
.venv-hand/bin/python -m coverage run --source=sample_pkg -m pytest -q tests
.venv-hand/bin/python -m coverage report
"""


BY_HAND_ALL = """set -e
rm -rf dist .venv-tools .venv-hand .venv-docs _build htmlcov coverage.xml
uv venv -q .venv-tools
uv pip install -q --python .venv-tools/bin/python ruff==0.17.6 twine check-wheel-contents
.venv-tools/bin/ruff check --no-cache .
.venv-tools/bin/ruff format --check --no-cache .
uv build -q --out-dir dist .
.venv-tools/bin/twine check --strict dist/*
.venv-tools/bin/check-wheel-contents dist/*.whl
! curl -s "$INDEX/hookgate-sample/" | grep -q hookgate_sample-0.1.0
uv venv -q .venv-hand
uv pip install -q --python .venv-hand/bin/python dist/*.whl pytest coverage
.venv-hand/bin/python -m coverage run --source=sample_pkg -m pytest -q tests
.venv-hand/bin/python -m coverage report
.venv-hand/bin/python -m coverage xml -q
.venv-hand/bin/python -m coverage html -q
uv venv -q .venv-docs
uv pip install -q --python .venv-docs/bin/python . sphinx
.venv-docs/bin/python -m sphinx -b html -W --keep-going -q docs _build
"""


def sh(cmd, cwd=None, env=None, check=True):
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, shell=isinstance(cmd, str))
    if check and r.returncode != 0:
        sys.exit(f"failed: {cmd}\n{r.stdout}\n{r.stderr}")
    return r


def timed(fn, runs, before=None):
    samples = []
    for _ in range(runs):
        if before:
            before()
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out")
    ap.add_argument("--hookgate", help="time this hookgate binary instead of building the release one")
    args = ap.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    tools = WORK / "tools"
    if not (tools / "bin" / "tox").exists():
        sh(["uv", "venv", "--quiet", str(tools)])
        sh(["uv", "pip", "install", "--quiet", "--python", str(tools / "bin" / "python"), "tox", "pypiserver"])
    if args.hookgate:
        hookgate = Path(args.hookgate).resolve()
    else:
        sh(["cargo", "build", "--quiet", "--release", "--locked"], cwd=ROOT)
        hookgate = ROOT / "target" / "release" / "hookgate"

    repo = WORK / "sample"
    shutil.rmtree(repo, ignore_errors=True)
    shutil.copytree(ROOT / "fixtures" / "clean", repo)
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@x",
               GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@x")
    packages = tempfile.mkdtemp()
    port = 8000 + os.getpid() % 1000
    server = subprocess.Popen([str(tools / "bin" / "pypi-server"), "run", "-i", "127.0.0.1", "-p", str(port), packages],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2)
    (repo / "hookgate.toml").write_text(f'[checks.version]\nindex-url = "http://127.0.0.1:{port}/simple/"\n')
    (repo / "tox.ini").write_text(TOX_INI)
    (repo / "by-hand.sh").write_text(BY_HAND)
    (repo / "by-hand-all.sh").write_text(BY_HAND_ALL)
    (repo / ".gitignore").write_text(
        (repo / ".gitignore").read_text() + ".tox/\n.venv-*/\n_build/\nhtmlcov/\ncoverage.xml\n.coverage\n"
    )
    sh("git init -q -b main && git add -A && git commit -q -m init", cwd=repo, env=env)

    cache = repo / ".git" / "hookgate"
    drop_cache = lambda: shutil.rmtree(cache, ignore_errors=True)  # noqa: E731
    keep_facts = lambda: [shutil.rmtree(cache / d, ignore_errors=True) for d in ("verdicts", "artifacts")]  # noqa: E731
    hg = lambda *a: (lambda: sh([str(hookgate), "run", *a], cwd=repo, env=env))  # noqa: E731
    tox = lambda: sh([str(tools / "bin" / "tox"), "-q"], cwd=repo, env=env)  # noqa: E731
    by_hand = lambda: sh("bash by-hand.sh", cwd=repo, env=env)  # noqa: E731
    env_all = dict(env, INDEX=f"http://127.0.0.1:{port}/simple")
    by_hand_all = lambda: sh("bash by-hand-all.sh", cwd=repo, env=env_all)  # noqa: E731

    hg("--all")()  # warm-up: uv's package cache, interpreter facts
    drop_cache()
    rows = {}
    rows["hookgate run --all"] = (timed(hg("--all"), args.runs, keep_facts), timed(hg("--all"), args.runs * 4))
    rows["hookgate run coverage"] = (timed(hg("coverage"), args.runs, keep_facts), timed(hg("coverage"), args.runs * 4))
    rows["tox"] = (timed(tox, args.runs, lambda: shutil.rmtree(repo / ".tox", ignore_errors=True)), timed(tox, args.runs))
    rows["uv by hand"] = (timed(by_hand, args.runs), None)
    rows["uv by hand, all seven"] = (timed(by_hand_all, args.runs), None)
    server.kill()

    # Each row against the hand-written sequence doing the same steps.
    base = {
        "hookgate run --all": "uv by hand, all seven",
        "uv by hand, all seven": "uv by hand, all seven",
    }
    version = lambda *c: sh(list(c), check=False).stdout.strip().splitlines()[-1]  # noqa: E731
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Linux {platform.release()}; Python "
        f"{platform.python_version()}; {version('uv', '--version')}; tox {version(str(tools / 'bin' / 'tox'), '--version').split()[0]}; "
        f"hookgate {version(str(hookgate), '--version').split()[-1]}; {args.runs} runs cold, {args.runs * 4} warm, medians.",
        "",
        "| tool | cold (s) | cold vs the same steps by hand | warm (ms) |",
        "|---|---:|---:|---:|",
    ]
    for name, (cold, warm) in rows.items():
        warm_s = "n/a (no cache)" if warm is None else f"{warm * 1000:.1f}"
        against = rows[base.get(name, "uv by hand")][0]
        lines.append(f"| {name} | {cold:.2f} | {cold / against:.2f}x | {warm_s} |")
    bench.publish(lines, args.out)


if __name__ == "__main__":
    main()
