#!/bin/bash
# six 1.17.0: .github/workflows/ci.yml runs `python -m tox` with TOXENV=py; tox.ini (at the tag,
# not in the sdist) says deps = pytest, commands = python -m pytest -rfsxX. No lint or format
# step runs in CI (the tox env flake8 exists but CI selects only `py`). Publishing uses
# `python -m build`.
. "$(dirname "$0")/common.sh"
export UV_EXCLUDE_NEWER=2024-12-05T00:00:00Z   # unpinned tools as CI had them at the tag
step wheel uv build -q --out-dir "$W/dist" .
# tox env py: the package installed from its sdist, pytest, run from the project root.
B=$(venv py); uv pip install -q -p "$B/python" "$W"/dist/*.tar.gz pytest
step test "$B/python" -m pytest -rfsxX
# Not in CI, for reference: the tox env flake8 (flake8 six.py, [flake8] in setup.cfg).
F=$(venv flake8); uv pip install -q -p "$F/python" flake8
echo "::: (not CI) flake8 six.py"; "$F/flake8" six.py && echo "::: (not CI) flake8: pass" || echo "::: (not CI) flake8: FAIL"
finish
