#!/bin/bash
# tomlkit 0.15.1: .github/workflows/tests.yml at the tag 0.15.1 (not in the sdist): `poetry install`
# from poetry.lock, then `poetry run pytest -q tests`. Lint/format: .pre-commit-config.yaml
# (pre-commit.ci): ruff-pre-commit v0.15.21, hooks `ruff` (--fix --exit-non-zero-on-fix) and
# `ruff-format`. tests/toml-test is a git submodule there, so pre-commit never sees its files.
. "$(dirname "$0")/common.sh"
step lint uvx ruff@0.15.21 check --no-cache $(pyfiles)
step format uvx ruff@0.15.21 format --check --no-cache $(pyfiles)
step wheel uv build -q --out-dir "$W/dist" .
# poetry install: the project (from the tree) + the dev group at poetry.lock's versions.
B=$(venv py); uv pip install -q -p "$B/python" . pytest==7.4.4 pytest-cov==4.1.0 pyyaml==6.0.1
step test "$B/pytest" -q tests
# Docs: Read the Docs (.readthedocs.yaml at the tag, not in the sdist): the package +
# docs/requirements.txt, Python 3.11, sphinx dirhtml with fail_on_warning: true.
D=$(venv docs); uv pip install -q -p "$D/python" . -r docs/requirements.txt
step docs "$D/sphinx-build" -W -b dirhtml docs "$W/html"
finish
