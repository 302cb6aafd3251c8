"""hookgate's test runner: pytest (or unittest) against the installed wheel, never the source tree.

The wheel's top-level packages and modules are moved out of the snapshot (root and src/), and
the import guard (hookgate_import_guard.py, installed into the venv's site-packages with a
.pth file) refuses every other module of the source tree but the test paths and conftest.py
files, in pytest and in any Python the tests start: a module left out of the wheel cannot be
imported from the snapshot. The snapshot is this check's own scratch copy, so nothing is moved
back, and pytest replaces this process (no second interpreter start-up). With --coverage-dir,
pytest runs under coverage, measuring those packages, and the data files (plus the package
names, for path mapping) are left there for the `coverage` check.
"""

import argparse
import glob
import json
import os
import shutil
import sys
import sysconfig
import zipfile
from pathlib import Path


def top_level_names(wheel):
    names = set()
    with zipfile.ZipFile(wheel) as z:
        for entry in z.namelist():
            first = entry.split("/", 1)[0]
            if first.endswith((".dist-info", ".data")) or first.endswith(".pth"):
                continue
            if "/" in entry:
                names.add(first)
            else:
                names.add(first.split(".", 1)[0])
    return sorted(names)


def install_guard(guard, root, test_paths):
    """Puts the import guard into this venv's site-packages, active from the next start-up."""
    site = Path(sysconfig.get_paths()["purelib"])
    shutil.copyfile(guard, site / "hookgate_import_guard.py")
    allowed = []
    for p in test_paths:
        # A node id (tests/test_x.py::test_y) names its file; pytest's testpaths may be globs.
        path = str(root / p.split("::", 1)[0])
        allowed.extend(sorted(glob.glob(path)) if any(c in path for c in "*?[") else [path])
    settings = {"root": str(root), "allowed": allowed}
    (site / "hookgate_import_guard.json").write_text(json.dumps(settings))
    (site / "hookgate_import_guard.pth").write_text("import hookgate_import_guard\n")
    return allowed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wheel", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--hide-to", required=True)
    ap.add_argument("--guard", required=True)
    ap.add_argument("--test-path", action="append", default=[])
    ap.add_argument("--coverage-dir")
    ap.add_argument("--unittest", action="store_true", help="run unittest, not pytest")
    argv = sys.argv[1:]
    split = argv.index("--") if "--" in argv else len(argv)
    args = ap.parse_args(argv[:split])
    pytest_args = argv[split + 1 :]
    root, hidden = Path(args.root), Path(args.hide_to)
    names = top_level_names(args.wheel)
    moved = []
    for name in names:
        for base in (root, root / "src"):
            for candidate in (base / name, base / (name + ".py")):
                if candidate.exists():
                    dest = hidden / candidate.relative_to(root)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.move(str(candidate), str(dest))
                    moved.append((dest, candidate))
    shown = ", ".join(str(orig.relative_to(root)) for _, orig in moved) or "none"
    print(f"hookgate: testing the installed wheel {Path(args.wheel).name}; source hidden: {shown}", flush=True)
    allowed = install_guard(args.guard, root, args.test_path)
    importable = ", ".join([str(Path(a).relative_to(root)) for a in allowed] + ["conftest.py files"])
    print(f"hookgate: importable from the source tree: only {importable}", flush=True)
    cmd = [sys.executable]
    if args.coverage_dir:
        data = Path(args.coverage_dir) / ".coverage"
        (Path(args.coverage_dir) / "packages.txt").write_text("\n".join(names) + "\n")
        cmd += ["-m", "coverage", "run", "--parallel-mode", f"--data-file={data}", "--source=" + ",".join(names)]
    if args.unittest:
        cmd += ["-m", "unittest", *pytest_args]
    else:
        cmd += ["-m", "pytest", "-p", "no:cacheprovider", *pytest_args]
    os.chdir(root)
    os.execv(sys.executable, cmd)


if __name__ == "__main__":
    main()
