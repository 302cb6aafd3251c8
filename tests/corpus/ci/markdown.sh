#!/bin/bash
# markdown 3.10.3: .github/workflows/tox.yml at the tag 3.10.3 (not in the sdist) runs tox envs
# py311 (extras = testing, deps = pytidylib; coverage run --source=markdown -m unittest discover
# tests; coverage report, no threshold), flake8 (flake8 markdown tests, [flake8] in tox.ini),
# pep517check and checklinks (mkdocs build --strict, extras docs). tox.ini is in the sdist.
# CI apt-installs libtidy-dev; without the library pytidylib's tests are skipped (see README).
. "$(dirname "$0")/common.sh"
export UV_EXCLUDE_NEWER=2026-07-30T20:00:00Z
T=$(venv tox); uv pip install -q -p "$T/python" tox tox-uv
step lint "$T/tox" run -e flake8
step test "$T/tox" run -e py311
step wheel uv build -q --out-dir "$W/dist" .
step docs "$T/tox" run -e checklinks
finish
