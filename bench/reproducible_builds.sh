#!/bin/bash
# Which build backends give byte-identical dists across two builds of one commit, with the
# SOURCE_DATE_EPOCH hookgate sets from the commit (README, "Reproducible dists").
# For each backend: a tiny package in one commit; `hookgate run wheel --force` twice, 3 s apart
# (fresh scratch directories); prints the SHA-256 of the wheel and the sdist of each build.
# Usage: bench/reproducible_builds.sh [path/to/hookgate]   (default: target/debug/hookgate)
set -euo pipefail
B=$(realpath "${1:-target/debug/hookgate}")
export HOOKGATE_SKIP=lint,format,docs,version,ci-sync
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
mk() { # name, build requires, backend, extra pyproject lines
  local mod=${1//-/_}
  mkdir -p "$1/src/$mod" && cd "$1"
  printf '"""Pkg."""\n' > "src/$mod/__init__.py"
  printf '# %s\n\nA package.\n' "$1" > README.md
  printf '[build-system]\nrequires = [%s]\nbuild-backend = "%s"\n\n[project]\nname = "%s"\nversion = "0.1.0"\ndescription = "A package."\nreadme = "README.md"\nrequires-python = ">=3.9"\n%s\n' \
    "$2" "$3" "$1" "$4" > pyproject.toml
  git init -q -b main && git add -A && git -c user.name=a -c user.email=a@b commit -qm init
  cd ..
}
mk repro-setuptools '"setuptools>=61"' setuptools.build_meta ""
mk repro-hatchling '"hatchling"' hatchling.build $'\n[tool.hatch.build.targets.wheel]\npackages = ["src/repro_hatchling"]'
mk repro-flit '"flit_core>=3.9"' flit_core.buildapi $'\n[tool.flit.module]\nname = "repro_flit"'
mk repro-pdm '"pdm-backend"' pdm.backend ""
mk repro-poetry '"poetry-core>=2"' poetry.core.masonry.api $'\n[tool.poetry]\npackages = [{include = "repro_poetry", from = "src"}]'
sums() { "$B" run wheel --force --json 2>/dev/null | python3 -c 'import json, sys; print(" ".join(d["file"] + "=" + d["sha256"][:12] for d in json.load(sys.stdin)["dists"]))'; }
for p in repro-setuptools repro-hatchling repro-flit repro-pdm repro-poetry; do
  cd "$p"
  a=$(sums); sleep 3; b=$(sums)
  echo "$p: first  $a"
  echo "$p: second $b"
  cd ..
done
