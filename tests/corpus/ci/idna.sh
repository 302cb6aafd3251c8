#!/bin/bash
# idna 3.13: .github/workflows/python-package.yml at the tag v3.13 (not in the sdist): job lint
# runs `pip install ruff mypy` (unpinned: ruff 0.15.11 was current at the tag, 2026-04-22), then
# `ruff format --check idna` and `ruff check idna tests`; job build runs `pip install pytest` and
# `pytest` in the checkout (the package is not installed: flat layout, imported from the tree).
. "$(dirname "$0")/common.sh"
export UV_EXCLUDE_NEWER=2026-04-22T17:00:00Z
step lint uvx ruff@0.15.11 check --no-cache idna tests
step format uvx ruff@0.15.11 format --check --no-cache idna
# deploy.yml builds with python -m build.
step wheel uv build -q --out-dir "$W/dist" .
B=$(venv py); uv pip install -q -p "$B/python" pytest
step test "$B/pytest"
echo "::: (not CI) ruff 0.15.11 format --check . (tests/ too)"
uvx ruff@0.15.11 format --check --no-cache . && echo "::: (not CI) format-all: pass" || echo "::: (not CI) format-all: FAIL"
finish
