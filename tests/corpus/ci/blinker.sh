#!/bin/bash
# blinker 1.9.0: .github/workflows/tests.yaml at the tag 1.9.0 (not in the sdist) runs
# `tox run -e py3.11` (tox.ini in the sdist: package = wheel, deps = -r requirements/tests.txt,
# pytest -v --tb=short); .github/workflows/pre-commit.yaml runs pre-commit: ruff-pre-commit
# v0.7.3, hooks `ruff` and `ruff-format` (.pre-commit-config.yaml, not in the sdist).
# The docs are built by Read the Docs (.readthedocs.yaml at the tag: requirements/docs.txt and the
# package, dirhtml, fail_on_warning: true), which the tox env docs reproduces
# (sphinx-build -E -W -b dirhtml).
. "$(dirname "$0")/common.sh"
export UV_EXCLUDE_NEWER=2024-11-09T00:00:00Z   # tox and the unpinned tools as CI had them at the tag
# pyproject.toml sets `fix = true`: ruff fixes what it can and exits 0, and pre-commit then fails
# the hook because it changed files. So: ruff, then no diff.
lint() { uvx ruff@0.7.3 check --no-cache $(pyfiles) && git diff --exit-code; }
step lint lint
step format uvx ruff@0.7.3 format --check --no-cache $(pyfiles)
T=$(venv tox); uv pip install -q -p "$T/python" tox tox-uv
step test "$T/tox" run -e py3.11
step docs "$T/tox" run -e docs
step wheel uv build -q --out-dir "$W/dist" .
finish
