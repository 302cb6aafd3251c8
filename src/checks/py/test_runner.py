"""hookgate's test runner: pytest against the installed wheel, never the source tree.

The wheel's top-level packages and modules are moved out of the snapshot (root and src/), so
every import resolves to site-packages; the snapshot is this check's own scratch copy, so they
are not moved back, and pytest replaces this process (no second interpreter start-up). With
--coverage-dir, pytest runs under coverage, measuring those packages, and the data files (plus
the package names, for path mapping) are left there for the `coverage` check.
"""

import argparse
import os
import shutil
import sys
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wheel", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--hide-to", required=True)
    ap.add_argument("--coverage-dir")
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
    cmd = [sys.executable]
    if args.coverage_dir:
        data = Path(args.coverage_dir) / ".coverage"
        (Path(args.coverage_dir) / "packages.txt").write_text("\n".join(names) + "\n")
        cmd += ["-m", "coverage", "run", "--parallel-mode", f"--data-file={data}", "--source=" + ",".join(names)]
    cmd += ["-m", "pytest", "-p", "no:cacheprovider", *pytest_args]
    os.chdir(root)
    os.execv(sys.executable, cmd)


if __name__ == "__main__":
    main()
