#!/bin/bash
# typing-inspection 0.4.5: .github/workflows/ci.yml and Makefile, both in the sdist, as is uv.lock.
# lint job (continue-on-error: true): uv sync --group lint; make format-diff (ruff format --diff);
# make lint-github (ruff check). test job: uv sync --group tests; make test
# (uv run pytest --cov=typing_inspection). docs job: uv sync --group docs; uv run mkdocs build.
# release job: python -m build with .github/build-constraints.txt.
. "$(dirname "$0")/common.sh"
step sync-lint uv sync -q --group lint
step format uv run --no-sync ruff format --diff
step lint uv run --no-sync ruff check
step wheel uv build -q --out-dir "$W/dist" --build-constraints .github/build-constraints.txt .
step sync-tests uv sync -q --group tests
step test uv run --no-sync pytest --cov=typing_inspection
step sync-docs uv sync -q --group docs
step docs uv run --no-sync mkdocs build
finish
