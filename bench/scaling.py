#!/usr/bin/env python3
"""How hookgate scales with the size of the tree, the number of checks and of pushed refs
(issue #12's scaling table), in one run, medians.

Scenarios (every repository is generated with `git fast-import`: a package of N small,
ruff-clean Python modules, 100 per directory):
  a  cold lint+format: ruff check + ruff format --check (hookgate's `lint` and `format`) at
     pre-push; each timed push carries a new commit that edits one file (a tree never checked
     before; environments and tools already built by a warm-up push), at each of --sizes.
  b  many checks cold: --checks cheap `command` checks (`true`) on --many-size files, a new
     tree per push (one file edited).
  c  hot path, cached:
     c1  --checks checks with glob `inputs`, one pushed ref, at each of --glob-sizes files;
     c2  --refs refs pushed at once, spread over a linear history of --commits commits, the
         package's version from git (setuptools-scm settings; a check that installs the
         package, so the version is computed and in its key; an in-tree build backend keeps
         the warm-up cheap).
     Every verdict is cached by a warm-up push; each timed push sends the same commits to new
     remote branch names.
  d  peak RSS of the hook process (`hookgate hook pre-push`, run as git runs it, stdin and
     all) at --rss-size files: the cached push (no children: the kernel's own peak, wait4) and
     the cold lint+format push (hookgate's own VmHWM, sampled every 2 ms while it runs; its
     children, ruff and uv, are not counted).
Hook time = median push time - median `git push --no-verify` of the same kind of push.

Usage: python3 bench/scaling.py [--quick] [--only a,b,c,d] [--sizes 100,1000,10000,100000]
                               [--runs N] [--hookgate BIN] [--out FILE] (see --help)
(prints a Markdown table; progress on stderr)
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
WORK = ROOT / "bench" / ".work" / "scaling"
RUFF = "ruff==0.11.8"
ZERO = "0" * 40
PER_DIR = 100

LINT_FORMAT = f"""defaults = false
[checks.lint]
deps = ["{RUFF}"]
stages = ["pre-push"]
[checks.format]
deps = ["{RUFF}"]
stages = ["pre-push"]
"""

# A PEP 517 backend with no requirements: builds a wheel of an empty package at the version
# hookgate hands the build (SETUPTOOLS_SCM_PRETEND_VERSION), so fifty warm-up builds are cheap.
BACKEND = '''"""A minimal in-tree build backend for the scaling benchmark."""
import base64, hashlib, os, zipfile

NAME = "scalepkg"


def _version():
    return os.environ.get("SETUPTOOLS_SCM_PRETEND_VERSION", "0")


def get_requires_for_build_wheel(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    version = _version()
    info = f"{NAME}-{version}.dist-info"
    files = {
        f"{NAME}/__init__.py": b"",
        f"{info}/METADATA": f"Metadata-Version: 2.1\\nName: {NAME}\\nVersion: {version}\\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\\nGenerator: bench\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
    }
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\\n".join(record) + "\\n").encode()
    wheel = f"{NAME}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel), "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return wheel
'''

SCM_PYPROJECT = """[build-system]
requires = []
build-backend = "hgbackend"
backend-path = ["_backend"]

[project]
name = "scalepkg"
dynamic = ["version"]

[tool.setuptools_scm]
"""

PLAIN_PYPROJECT = """[project]
name = "scalepkg"
version = "1.0"
"""


def run(cmd, cwd=None, env=None, check=True, input=None):
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, input=input)
    if check and r.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed ({r.returncode}) in {cwd}:\n{r.stdout}\n{r.stderr}")
    return r


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def env_for(home: Path) -> dict:
    env = dict(os.environ)
    env.update(
        GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="b@example.com",
        GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="b@example.com",
        GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=str(home / ".gitconfig"),
    )
    env.pop("SETUPTOOLS_SCM_PRETEND_VERSION", None)
    env.pop("HOOKGATE_SKIP", None)
    return env


def hookgate_binary(given: str | None) -> Path:
    """The binary to time: a copy of `given` in bench/.work (the hooks record its path, and
    refuse one in a temporary directory), else the release build."""
    if given:
        copy = WORK / "bin" / "hookgate"
        copy.parent.mkdir(parents=True, exist_ok=True)
        if Path(given).resolve() != copy.resolve():
            shutil.copy2(given, copy.with_suffix(".tmp"))
            copy.with_suffix(".tmp").replace(copy)
        return copy
    run(["cargo", "build", "--quiet", "--release", "--locked"], cwd=ROOT)
    return ROOT / "target" / "release" / "hookgate"


def module(i: int, edit: int = 0) -> bytes:
    extra = f"\n\nEDIT = {edit}\n" if edit else ""
    return f'"""Module {i}."""\n\n\ndef f{i}(x: int) -> int:\n    return x + {i}\n{extra}'.encode()


def module_path(i: int) -> str:
    return f"src/scalepkg/d{i // PER_DIR:04d}/m{i}.py"


class Stream:
    """A `git fast-import` stream, written straight to its stdin."""

    def __init__(self, repo: Path, env: dict):
        self.proc = subprocess.Popen(
            ["git", "fast-import", "--quiet", "--done"], cwd=repo, env=env, stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
        )
        self.out = self.proc.stdin
        self.when = 1_700_000_000

    def w(self, data: bytes | str) -> None:
        self.out.write(data.encode() if isinstance(data, str) else data)

    def commit(self, ref: str, mark: int, message: str, parent: str | None, files: dict, deleteall=False):
        self.when += 60
        msg = message.encode()
        self.w(f"commit {ref}\nmark :{mark}\ncommitter bench <b@example.com> {self.when} +0000\n")
        self.w(f"data {len(msg)}\n")
        self.w(msg + b"\n")
        if parent:
            self.w(f"from {parent}\n")
        if deleteall:
            self.w("deleteall\n")
        for path, data in files.items():
            self.w(f"M 100644 inline {path}\ndata {len(data)}\n")
            self.w(data + b"\n")
        self.w("\n")

    def reset(self, ref: str, mark: int) -> None:
        self.w(f"reset {ref}\nfrom :{mark}\n\n")

    def close(self) -> None:
        self.w("done\n")
        self.out.close()
        if self.proc.wait() != 0:
            sys.exit("git fast-import failed")


def new_repo(name: str, env: dict) -> tuple[Path, Path]:
    base = WORK / name
    shutil.rmtree(base, ignore_errors=True)
    repo, remote = base / "repo", base / "remote.git"
    repo.mkdir(parents=True)
    run(["git", "init", "-q", "-b", "main"], cwd=repo, env=env)
    run(["git", "init", "-q", "--bare", str(remote)], env=env)
    run(["git", "remote", "add", "origin", str(remote)], cwd=repo, env=env)
    return repo, remote


def package_repo(name: str, files: int, config: str, env: dict) -> Path:
    """A repository whose main holds `files` modules and `config` as hookgate.toml, pushed
    (without hooks) to its remote, with hookgate's pre-push hook installed."""
    repo, _ = new_repo(name, env)
    s = Stream(repo, env)
    tree = {"pyproject.toml": PLAIN_PYPROJECT.encode(), "hookgate.toml": config.encode(),
            "src/scalepkg/__init__.py": b'"""The generated package."""\n'}
    for i in range(files):
        tree[module_path(i)] = module(i)
    s.commit("refs/heads/main", 1, "the package", None, tree)
    s.close()
    run(["git", "push", "-q", "--no-verify", "origin", "main"], cwd=repo, env=env)
    return repo


def install(repo: Path, hookgate: Path, env: dict) -> None:
    run([str(hookgate), "install", "--hook-type", "pre-push"], cwd=repo, env=env)


_edits = {"n": 0}


def edit_commit(repo: Path, env: dict, files: int) -> str:
    """A new commit on main editing one module (a tree never seen before); its id."""
    _edits["n"] += 1
    n = _edits["n"] + int(time.time())
    s = Stream(repo, env)
    i = n % max(files, 1)
    s.commit("refs/heads/main", 1, f"edit {n}", "refs/heads/main^0", {module_path(i): module(i, n)})
    s.close()
    return run(["git", "rev-parse", "main"], cwd=repo, env=env).stdout.strip()


def push(repo: Path, env: dict, refspecs: list[str], no_verify: bool) -> float:
    """Times one push of `refspecs` (to new remote names), then deletes them untimed."""
    cmd = ["git", "push", "-q"] + (["--no-verify"] if no_verify else []) + ["origin", *refspecs]
    t = time.perf_counter()
    r = run(cmd, cwd=repo, env=env, check=False)
    took = time.perf_counter() - t
    if r.returncode != 0:
        sys.exit(f"push failed in {repo}:\n{r.stdout}\n{r.stderr}")
    deletes = [":" + spec.split(":", 1)[1] for spec in refspecs]
    run(["git", "push", "-q", "--no-verify", "origin", *deletes], cwd=repo, env=env)
    return took


def ms(x: float) -> str:
    return f"{x * 1000:.1f}"


def med(xs: list[float]) -> float:
    return statistics.median(xs)


def cold_edits(repo: Path, env: dict, files: int, runs: int) -> tuple[float, float]:
    """Median push of a one-file edit with the hook, and without (`--no-verify`)."""
    with_hook, floor = [], []
    for k in range(runs):
        edit_commit(repo, env, files)
        floor.append(push(repo, env, [f"main:refs/heads/nv{k}"], no_verify=True))
        edit_commit(repo, env, files)
        with_hook.append(push(repo, env, [f"main:refs/heads/b{k}"], no_verify=False))
        log(f"    run {k + 1}: {ms(with_hook[-1])} ms (no-verify {ms(floor[-1])} ms)")
    return med(with_hook), med(floor)


def scenario_a(sizes, runs, hookgate, env):
    rows = []
    for n in sizes:
        log(f"a: lint+format cold at {n} files")
        repo = package_repo(f"a-{n}", n, LINT_FORMAT, env)
        install(repo, hookgate, env)
        edit_commit(repo, env, n)
        push(repo, env, ["main:refs/heads/warm"], no_verify=False)  # environments, tools
        hook, floor = cold_edits(repo, env, n, runs)
        rows.append((n, hook - floor, floor, runs))
    return rows


def many_checks(count: int) -> str:
    return "defaults = false\n" + "".join(
        f'[checks.c{k:02d}]\nrun = ["true"]\nstages = ["pre-push"]\n' for k in range(count)
    )


def glob_checks(count: int) -> str:
    out = "defaults = false\n"
    for k in range(count):
        # Varied patterns: a digit suffix anywhere, one directory's modules, a class of names.
        pattern = [f"src/**/m*{k % 10}.py", f"src/scalepkg/d{k:04d}/*.py", f"**/m{k}?.py"][k % 3]
        out += f'[checks.g{k:02d}]\nrun = ["true"]\ninputs = ["{pattern}", "pyproject.toml"]\nstages = ["pre-push"]\n'
    return out


def scenario_b(n, checks, runs, hookgate, env):
    log(f"b: {checks} command checks cold at {n} files")
    repo = package_repo(f"b-{n}", n, many_checks(checks), env)
    install(repo, hookgate, env)
    # No warm-up: these checks install nothing, and the first push is as cold as any.
    hook, floor = cold_edits(repo, env, n, runs)
    return hook - floor, floor


def cached_pushes(repo: Path, env: dict, refspecs: list[str], runs: int) -> tuple[float, float]:
    push(repo, env, refspecs, no_verify=False)  # warm-up: every verdict cached
    samples, floor = [], []
    for _ in range(runs):
        floor.append(push(repo, env, refspecs, no_verify=True))
        samples.append(push(repo, env, refspecs, no_verify=False))
    return med(samples), med(floor)


def hook_cpu(repo: Path, hookgate: Path, env: dict, stdin: str, runs: int) -> tuple[float, float]:
    """Median wall and CPU (user + system) seconds of the hook process run directly."""
    walls, cpus = [], []
    for _ in range(runs):
        _, _, took, usage = hook_process(repo, hookgate, env, stdin)
        walls.append(took)
        cpus.append(usage.ru_utime + usage.ru_stime)
    return med(walls), med(cpus)


def keys_only(repo: Path, hookgate: Path, env: dict, checks: int, runs: int) -> tuple[float, float]:
    """`hookgate run --all` with every check skipped (keys computed, nothing run): the first
    time for this tree (the globs walk it), then the median of `runs` later ones."""
    skip = dict(env, HOOKGATE_SKIP=",".join(f"g{k:02d}" for k in range(checks)))
    cmd = [str(hookgate), "run", "--all", "--tree", "main"]

    def once():
        t = time.perf_counter()
        run(cmd, cwd=repo, env=skip)
        return time.perf_counter() - t

    first = once()
    return first, med([once() for _ in range(runs)])


def scenario_c1(sizes, push_max, checks, runs, hookgate, env):
    rows = []
    for n in sizes:
        repo = package_repo(f"c1-{n}", n, glob_checks(checks), env)
        install(repo, hookgate, env)
        log(f"c1: {checks} glob checks at {n} files: keys only")
        first, later = keys_only(repo, hookgate, env, checks, runs)
        row = {"n": n, "first": first, "later": later}
        if n <= push_max:
            log(f"c1: {checks} glob checks, cached push at {n} files (the warm-up runs them once)")
            hook, floor = cached_pushes(repo, env, ["main:refs/heads/hot"], runs)
            head = run(["git", "rev-parse", "main"], cwd=repo, env=env).stdout.strip()
            wall, cpu = hook_cpu(repo, hookgate, env, f"refs/heads/main {head} refs/heads/hot {ZERO}\n", runs)
            row.update(hook=hook - floor, floor=floor, wall=wall, cpu=cpu)
        rows.append(row)
    return rows


def history_repo(name: str, commits: int, refs: int, env: dict) -> tuple[Path, list[str]]:
    """A linear history of `commits` commits (each edits one file; v0.1.0 tags the first), a
    package whose version comes from git, and `refs` branches spread over the history."""
    repo, _ = new_repo(name, env)
    s = Stream(repo, env)
    config = 'defaults = false\n[checks.pkg]\ndeps = ["."]\nrun = ["true"]\nstages = ["pre-push"]\n'
    s.commit("refs/heads/main", 1, "first", None, {
        "pyproject.toml": SCM_PYPROJECT.encode(), "hookgate.toml": config.encode(),
        "_backend/hgbackend.py": BACKEND.encode(), "step.txt": b"0\n",
    })
    s.reset("refs/tags/v0.1.0", 1)
    for i in range(2, commits + 1):
        s.commit("refs/heads/main", i, f"step {i}", f":{i - 1}", {"step.txt": f"{i}\n".encode()})
    spacing = max(1, (commits - 2) // max(refs, 1))
    branches = []
    for k in range(refs):
        s.reset(f"refs/heads/r{k:02d}", commits - k * spacing)
        branches.append(f"r{k:02d}")
    s.close()
    run(["git", "push", "-q", "--no-verify", "origin", "main", "v0.1.0"], cwd=repo, env=env)
    return repo, branches


def scenario_c2(commits, refs, runs, hookgate, env):
    log(f"c2: {refs} refs on {commits} commits, version from git, cached (the warm-up builds {refs} times)")
    repo, branches = history_repo(f"c2-{commits}", commits, refs, env)
    install(repo, hookgate, env)
    specs = [f"{b}:refs/heads/hot-{b}" for b in branches]
    hook, floor = cached_pushes(repo, env, specs, runs)
    lines = "".join(
        f"refs/heads/{b} {run(['git', 'rev-parse', b], cwd=repo, env=env).stdout.strip()} refs/heads/hot-{b} {ZERO}\n"
        for b in branches
    )
    wall, cpu = hook_cpu(repo, hookgate, env, lines, runs)
    # The hook with nothing remembered of the history (describe walks it once).
    shutil.rmtree(repo / ".git" / "hookgate" / "scm", ignore_errors=True)
    _, _, fresh_wall, usage = hook_process(repo, hookgate, env, lines)
    return {"hook": hook - floor, "floor": floor, "wall": wall, "cpu": cpu, "fresh_wall": fresh_wall,
            "fresh_cpu": usage.ru_utime + usage.ru_stime}


GNU_TIME = shutil.which("time", path="/usr/bin:/bin")


def hook_process(repo: Path, hookgate: Path, env: dict, stdin: str):
    """Runs `hookgate hook pre-push` as git would. Returns (peak RSS KiB of hookgate alone,
    VmHWM sampled every 2 ms while it runs; peak RSS KiB from GNU time, which covers it and
    its children, or None without GNU time; seconds; the rusage of it and its children).

    GNU time (a small C process) starts it, not Python: a child forked from Python keeps the
    forked interpreter's RSS as its peak across exec, so wait4 from here would report Python's
    size for a small hook."""
    remote = str(repo.parent / "remote.git")
    cmd = [str(hookgate), "hook", "pre-push", "--hook-dir", str(repo / ".git" / "hooks"), "--", "origin", remote]
    report = repo.parent / "time.txt"
    if GNU_TIME:
        cmd = [GNU_TIME, "-f", "%M", "-o", str(report), *cmd]
    t = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=repo, env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    p.stdin.write(stdin.encode())
    p.stdin.close()
    own, pid = 0, None
    while True:
        try:
            if pid is None:
                kids = Path(f"/proc/{p.pid}/task/{p.pid}/children").read_text().split() if GNU_TIME else [str(p.pid)]
                pid = kids[0] if kids else None
            if pid is not None:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        own = max(own, int(line.split()[1]))
        except (OSError, IndexError):
            pass
        done, code, usage = os.wait4(p.pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.002)
    took = time.perf_counter() - t
    err = p.stderr.read().decode(errors="replace")
    p.returncode = os.waitstatus_to_exitcode(code)
    if p.returncode != 0:
        sys.exit(f"the hook failed ({p.returncode}) in {repo}:\n{err}")
    peak = None
    if GNU_TIME:
        try:
            peak = int(report.read_text().split()[-1])
        except (OSError, ValueError, IndexError):
            peak = None
    return own, peak, took, usage


def scenario_d(n, hookgate, env):
    log(f"d: peak RSS of the hook at {n} files")
    repo = package_repo(f"d-{n}", n, LINT_FORMAT, env)
    install(repo, hookgate, env)
    edit_commit(repo, env, n)
    push(repo, env, ["main:refs/heads/warm"], no_verify=False)
    head = edit_commit(repo, env, n)
    line = f"refs/heads/main {head} refs/heads/rss {ZERO}\n"
    cold = hook_process(repo, hookgate, env, line)
    cached = hook_process(repo, hookgate, env, line)
    return cold, cached


def versions(hookgate: Path) -> str:
    v = lambda *a: run(list(a), check=False).stdout.strip() or "?"  # noqa: E731
    return (
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
        f"{v('git', '--version')}; Python {platform.python_version()}; {v('uv', '--version')}; "
        f"hookgate {v(str(hookgate), '--version').split()[-1]} ({hookgate}); hooks use {RUFF}."
    )


def ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="small sizes (100,1000 files; 1000 commits, 10 refs, 10 checks; 3 runs)")
    ap.add_argument("--only", default="a,b,c,d", help="scenarios to run (a,b,c,d)")
    ap.add_argument("--sizes", help="files for scenario a (default 100,1000,10000,100000)")
    ap.add_argument("--many-size", type=int, help="files for scenario b (default 10000)")
    ap.add_argument("--glob-sizes", help="files for scenario c1 (default 10000,100000)")
    ap.add_argument("--glob-push-max", type=int, default=10000,
                    help="largest c1 size also timed as a cached push (its warm-up runs every check once)")
    ap.add_argument("--rss-size", type=int, help="files for scenario d (default 100000)")
    ap.add_argument("--checks", type=int, help="checks in b and c1 (default 50)")
    ap.add_argument("--commits", type=int, help="history length in c2 (default 10000)")
    ap.add_argument("--refs", type=int, help="pushed refs in c2 (default 50)")
    ap.add_argument("--runs", type=int, help="timed runs of the fast scenarios (default 10)")
    ap.add_argument("--slow-runs", type=int, help="timed runs of the cold scenarios (default 3)")
    ap.add_argument("--hookgate", help="time this binary instead of building the release one")
    ap.add_argument("--out", help="also write the table to this file")
    a = ap.parse_args()
    q = a.quick
    sizes = ints(a.sizes) if a.sizes else ([100, 1000] if q else [100, 1000, 10000, 100000])
    many = a.many_size or (1000 if q else 10000)
    glob_sizes = ints(a.glob_sizes) if a.glob_sizes else ([1000] if q else [10000, 100000])
    rss = a.rss_size or (1000 if q else 100000)
    checks = a.checks or (10 if q else 50)
    commits = a.commits or (1000 if q else 10000)
    refs = a.refs or (10 if q else 50)
    runs = a.runs or (3 if q else 10)
    slow = a.slow_runs or (2 if q else 3)
    only = set(a.only.split(","))

    WORK.mkdir(parents=True, exist_ok=True)
    home = WORK / "home"
    home.mkdir(exist_ok=True)
    env = env_for(home)
    hookgate = hookgate_binary(a.hookgate)
    started = time.time()
    lines = [versions(hookgate), "", "| scenario | runs | hook time (ms) | no-verify push (ms) | target |",
             "|---|---:|---:|---:|---|"]

    if "a" in only:
        rows = scenario_a(sizes, slow, hookgate, env)
        first = rows[0][1]
        for n, hook, floor, r in rows:
            ratio = f"{hook / first:.2f}x the {rows[0][0]}-file figure" if first > 0 else ""
            target = f"{ratio}; target at 100k <= 3x" if n == 100_000 else ratio
            lines.append(f"| a. lint+format cold, one file edited, {n} files | {r} | {ms(hook)} | {ms(floor)} | {target} |")
    if "b" in only:
        hook, floor = scenario_b(many, checks, slow, hookgate, env)
        lines.append(f"| b. {checks} `command` checks cold, {many} files | {slow} | {ms(hook)} | {ms(floor)} | < 30000 |")
    if "c" in only:
        for r in scenario_c1(glob_sizes, a.glob_push_max, checks, runs, hookgate, env):
            n = r["n"]
            if "hook" in r:
                lines.append(f"| c1. {checks} glob-`inputs` checks, cached push, {n} files | {runs} | {ms(r['hook'])} "
                             f"| {ms(r['floor'])} | <= 10; the hook process alone: {ms(r['wall'])} ms wall, "
                             f"{ms(r['cpu'])} ms CPU |")
            lines.append(f"| c1'. the same checks' keys only (`run --all`, all skipped), {n} files: first plan "
                         f"of the tree / later | 1 / {runs} | {ms(r['first'])} / {ms(r['later'])} | | |")
        r = scenario_c2(commits, refs, runs, hookgate, env)
        lines.append(f"| c2. {refs} refs pushed, {commits}-commit history, version from git, cached | {runs} "
                     f"| {ms(r['hook'])} | {ms(r['floor'])} | <= 10; the hook process alone: {ms(r['wall'])} ms "
                     f"wall, {ms(r['cpu'])} ms CPU |")
        lines.append(f"| c2'. the hook process of c2 with no describe answer remembered (one walk of the "
                     f"history) | 1 | {ms(r['fresh_wall'])} wall, {ms(r['fresh_cpu'])} CPU | | |")
    if "d" in only:
        (cold_own, cold_all, _, _), (hot_own, hot_all, _, _) = scenario_d(rss, hookgate, env)
        mib = lambda k: "n/a (no GNU time)" if k is None else f"{k / 1024:.1f} MiB"  # noqa: E731
        lines.append("")
        lines.append(f"Peak RSS of the hook process at {rss} files (target <= 16 MiB): cached push "
                     f"{mib(hot_all)} (GNU time; it starts no child); cold lint+format push: hookgate itself "
                     f"{mib(cold_own)} (VmHWM sampled every 2 ms), the largest of it and its children "
                     f"(ruff, uv, python) {mib(cold_all)}.")
    lines.append("")
    lines.append(f"Runs: medians; cold scenarios {slow} runs, cached ones {runs}; whole run {time.time() - started:.0f} s.")
    text = "\n".join(lines)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
