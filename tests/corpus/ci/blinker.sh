#!/bin/bash
# blinker 1.9.0: .github/workflows/tests.yaml at the tag 1.9.0 (not in the sdist) runs
# `tox run -e py3.11` (tox.ini in the sdist: package = wheel, deps = -r requirements/tests.txt,
# pytest -v --tb=short); .github/workflows/pre-commit.yaml runs pre-commit: ruff-pre-commit
# v0.7.3, hooks `ruff` and `ruff-format` (.pre-commit-config.yaml, not in the sdist).
# The docs are built by Read the Docs (tox env docs: sphinx-build -E -W -b dirhtml with
# requirements/docs.txt), not by a workflow.
. "$(dirname "$0")/common.sh"
export UV_EXCLUDE_NEWER=2024-11-09T00:00:00Z   # tox and the unpinned tools as CI had them at the tag
step lint uvx ruff@0.7.3 check --no-cache $(pyfiles)
step format uvx ruff@0.7.3 format --check --no-cache $(pyfiles)
T=$(venv tox); uv pip install -q -p "$T/python" tox tox-uv
step test "$T/tox" run -e py3.11
step docs "$T/tox" run -e docs
step wheel uv build -q --out-dir "$W/dist" .
finish
