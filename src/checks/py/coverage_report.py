"""hookgate's coverage report: combine the test run's data, map installed paths back to the
source tree, print the summary, write coverage.xml and HTML, and enforce fail-under."""

import argparse
import sys
from pathlib import Path

import coverage


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--data-file", required=True)
    ap.add_argument("--xml", required=True)
    ap.add_argument("--html", required=True)
    ap.add_argument("--fail-under", type=float)
    args = ap.parse_args()
    root, data_dir = Path(args.root), Path(args.data_dir)
    if not any(data_dir.glob(".coverage.*")):
        print("hookgate: the test run left no coverage data (did any test run?)")
        return 1
    names_file = data_dir / "packages.txt"
    names = names_file.read_text().split() if names_file.exists() else []

    # The project's own config (pyproject.toml, .coveragerc, setup.cfg, tox.ini) is read from
    # the snapshot's root; its [paths] entries are kept and ours added.
    cov = coverage.Coverage(data_file=args.data_file)
    paths = dict(cov.get_option("paths") or {})
    for name in names:
        for base in (root / "src", root):
            if (base / name).is_dir():
                paths[f"hookgate-{name}"] = [str(base / name) + "/", f"*/site-packages/{name}/"]
                break
            if (base / f"{name}.py").is_file():
                paths[f"hookgate-{name}"] = [str(base) + "/", "*/site-packages/"]
                break
    cov.set_option("paths", paths)
    cov.combine([str(data_dir)], keep=True)
    cov.save()
    cov.load()
    # Files the build generated (setuptools-scm's `version_file`, a build hook's output) were
    # measured in the installed package but have no source in the tree: leave them out of the
    # report, saying so, instead of failing with NoSource.
    generated = sorted(f for f in cov.get_data().measured_files() if not Path(f).exists())
    if generated:
        shown = ", ".join(str(Path(f).relative_to(root)) if Path(f).is_relative_to(root) else f for f in generated)
        print(f"hookgate: not in the source tree (made by the build), left out of the report: {shown}")
        cov.set_option("report:omit", list(cov.get_option("report:omit") or []) + generated)
    total = cov.report(file=sys.stdout, show_missing=True)
    Path(args.xml).parent.mkdir(parents=True, exist_ok=True)
    cov.xml_report(outfile=args.xml)
    cov.html_report(directory=args.html)
    print(f"hookgate: wrote {args.xml} and {args.html}/index.html")
    threshold = args.fail_under if args.fail_under is not None else (cov.get_option("report:fail_under") or 0)
    if threshold and total < threshold:
        print(f"hookgate: total coverage {total:.2f}% is under fail-under {threshold:g}%")
        return 1
    if threshold:
        print(f"hookgate: total coverage {total:.2f}% meets fail-under {threshold:g}%")
    else:
        print(f"hookgate: total coverage {total:.2f}% (no fail-under set: report only)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
