#!/bin/bash
# platformdirs 4.11.3: .github/workflows/check.yaml, tox.toml and .pre-commit-config.yaml at the
# tag 4.11.3 (only tox.toml is in the sdist).
. "$(dirname "$0")/common.sh"
# pre-commit: ruff-pre-commit v0.16.2: ruff-format, ruff-check --fix --unsafe-fixes --exit-non-zero-on-fix.
step lint uvx ruff@0.16.2 check --no-cache $(pyfiles)
step format uvx ruff@0.16.2 format --check --no-cache $(pyfiles)
# check job, tox env pkg_meta: uv build --sdist --wheel, twine check, check-wheel-contents --no-config.
T=$(venv tox); uv pip install -q -p "$T/python" tox tox-uv
step wheel "$T/tox" run -q -e pkg_meta
# test job: tox run -e 3.11 (pytest + pytest-cov, covdefaults, report.fail_under = 76, then diff-cover).
export DIFF_AGAINST=HEAD
step test "$T/tox" run -e 3.11
finish
