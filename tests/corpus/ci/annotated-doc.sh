#!/bin/bash
# annotated-doc 0.0.5: .github/workflows/test.yml at the tag 0.0.5 (not in the sdist):
# `uv sync --no-dev --group tests` (uv.lock from the repository: not in the sdist; pass its path
# as $2), `uv run bash scripts/lint.sh` (mypy src, ty check src, ruff check src tests scripts,
# ruff format src tests --check), `uv run bash scripts/test.sh` (coverage run -m pytest tests),
# then, in coverage-combine, `coverage combine` + `coverage report --fail-under=100`.
LOCK=$(realpath "${2:?usage: annotated-doc.sh REPO UV_LOCK_FROM_THE_TAG}")
. "$(dirname "$0")/common.sh"
cp "$LOCK" uv.lock
# --frozen: pdm-backend rewrote pyproject.toml into the sdist (static version), so the lock no
# longer matches it byte for byte; the locked versions are what CI installed.
step sync uv sync -q --frozen --no-dev --group tests
step lint uv run --no-sync ruff check src tests scripts
step format uv run --no-sync ruff format src tests --check
step types bash -c "uv run --no-sync mypy src && uv run --no-sync ty check src"
step wheel uv build -q --out-dir "$W/dist" .
mkdir -p coverage
export COVERAGE_FILE=coverage/.coverage.Linux-py3.11 CONTEXT=Linux-py3.11
step test uv run --no-sync coverage run -m pytest tests
unset COVERAGE_FILE
uv run --no-sync coverage combine coverage
step coverage uv run --no-sync coverage report --fail-under=100
finish
