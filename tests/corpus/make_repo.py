#!/usr/bin/env python3
"""Download one corpus package's sdist (simple API, sha256-checked) and turn it into a git repo.

    python3 tests/corpus/make_repo.py NAME DEST [--keep-generated] [--defect]

DEST gets the sdist's files minus the package's `generated` list (PKG-INFO, *.egg-info, version
files the backend writes: they are not in the project's repository) and its `drop` list (files
the project's CI never sees, each with its reason in corpus.toml), one commit, and, for a
package with `vcs_version = true`, the tag `v<version>` on it. With --defect, a second commit
plants the package's `defect` (its `find` text, which must occur exactly once in `file`, becomes
`replace`). Sdists are cached in $CORPUS_CACHE, else .cache/sdists/ (gitignored); a cached file
is used only if its sha256 matches. The Rust harness (tests/it/corpus.rs) runs this script with
CORPUS_CACHE under the cargo target directory.
"""

import fnmatch
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile
import tomllib
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
CACHE = pathlib.Path(os.environ.get("CORPUS_CACHE") or HERE.parent.parent / ".cache" / "sdists")
INDEX = "https://pypi.org/simple"


def package(name: str) -> dict:
    corpus = tomllib.loads((HERE / "corpus.toml").read_text())
    for p in corpus["package"]:
        if p["name"] == name:
            return p
    sys.exit(f"{name}: not in corpus.toml")


def sdist(p: dict) -> pathlib.Path:
    dest = CACHE / p["sdist"]
    if dest.exists() and hashlib.sha256(dest.read_bytes()).hexdigest() == p["sha256"]:
        return dest
    req = urllib.request.Request(
        f"{INDEX}/{p['name']}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    with urllib.request.urlopen(req) as r:
        files = json.load(r)["files"]
    url = next(f["url"] for f in files if f["filename"] == p["sdist"])
    with urllib.request.urlopen(url) as r:
        data = r.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != p["sha256"]:
        sys.exit(f"{p['sdist']}: sha256 {digest}, expected {p['sha256']}")
    CACHE.mkdir(parents=True, exist_ok=True)
    # Tests run in parallel processes: write aside, then rename (atomic on one filesystem).
    part = dest.with_name(f"{dest.name}.{os.getpid()}.part")
    part.write_bytes(data)
    os.replace(part, dest)
    return dest


def generated(rel: str, patterns: list[str]) -> bool:
    """A pattern ending in `/` names a directory; others are fnmatch patterns on the path."""
    return any(rel.startswith(pat) if pat.endswith("/") else fnmatch.fnmatch(rel, pat) for pat in patterns)


def main() -> None:
    name, dest = sys.argv[1], pathlib.Path(sys.argv[2])
    keep = "--keep-generated" in sys.argv
    p = package(name)
    archive = sdist(p)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    with tarfile.open(archive) as t:
        for m in t.getmembers():
            rel = m.name.split("/", 1)[1] if "/" in m.name else ""
            if not rel or not (m.isfile() or m.isdir()):
                continue
            if not keep and generated(rel, p.get("generated", []) + p.get("drop", [])):
                continue
            target = dest / rel
            if m.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with t.extractfile(m) as src:
                target.write_bytes(src.read())
            if m.mode & 0o111:
                target.chmod(0o755)
    git = ["git", "-C", str(dest), "-c", "user.name=corpus", "-c", "user.email=corpus@localhost"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", f"{p['name']} {p['version']} from its sdist"], check=True)
    if p.get("vcs_version"):
        subprocess.run([*git, "tag", f"v{p['version']}"], check=True)
    if "--defect" in sys.argv:
        d = p["defect"]
        path = dest / d["file"]
        text = path.read_text()
        if text.count(d["find"]) != 1:
            sys.exit(f"{d['file']}: the defect's find text occurs {text.count(d['find'])} times, not once")
        path.write_text(text.replace(d["find"], d["replace"]))
        subprocess.run([*git, "commit", "-q", "-am", f"planted defect: {d['how']}"], check=True)
    print(dest)


if __name__ == "__main__":
    main()
