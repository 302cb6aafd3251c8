# Sourced by every ci/<name>.sh: a scratch copy of the corpus repo ($1, made by make_repo.py),
# CPython 3.11 for every venv, and `step` to run and label each CI command.
set -uo pipefail
REPO=$(cd "$1" && pwd)
W=$(mktemp -d /tmp/corpus-ci-XXXXXX)
trap 'rm -rf "$W"' EXIT
cp -a "$REPO/." "$W/src"
cd "$W/src"
export UV_PYTHON=3.11 PYTHONDONTWRITEBYTECODE=1
FAILED=()
step() { # step NAME CMD...: runs CMD, prints its verdict
  local name=$1; shift
  echo "::: $name: $*"
  if "$@"; then echo "::: $name: pass"; else echo "::: $name: FAIL"; FAILED+=("$name"); fi
}
finish() {
  echo "::: failed steps: ${FAILED[*]:-none}"
  [ ${#FAILED[@]} -eq 0 ]
}
venv() { uv venv -q "$W/$1" && echo "$W/$1/bin"; }
# pre-commit hands a hook the tracked files of its types: for ruff, Python sources and stubs.
pyfiles() { git ls-files '*.py' '*.pyi'; }
