#!/bin/bash
# iniconfig 2.3.1: .github/workflows/test.yml + .pre-commit-config.yaml, both in the sdist.
. "$(dirname "$0")/common.sh"
# pre-commit: ruff-pre-commit v0.16.10, hooks ruff-check (--fix) and ruff-format.
step lint uvx ruff@0.16.10 check --no-cache $(pyfiles)
step format uvx ruff@0.16.10 format --check --no-cache $(pyfiles)
# build-and-inspect-python-package: sdist, wheel from the sdist, twine check, check-wheel-contents.
step wheel uv build -q --out-dir "$W/dist" .
B=$(venv inspect); uv pip install -q -p "$B/python" twine check-wheel-contents
step wheel-inspect bash -c "'$B/twine' check --strict '$W'/dist/* && '$B/check-wheel-contents' '$W'/dist/*.whl"
# test job: sparse checkout of testing/ and uv.lock only; uv run --with dist/*.whl --with pytest pytest testing
mkdir "$W/t" && cp -a testing uv.lock "$W/t/"
step test bash -c "cd '$W/t' && uv run -q --no-project --with '$(ls "$W"/dist/*.whl)' --with pytest pytest testing"
finish
