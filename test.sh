#!/usr/bin/env bash
# Runs the whole test suite: formatting, lints, unit tests and the integration tests (which
# drive the real binary with real git, CPython, uv and ruff from the package index).
# Installs what the tests need first (uv via pip when missing; cargo-nextest is used if present).
set -euo pipefail
cd "$(dirname "$0")"

command -v python3 >/dev/null || { echo "test.sh: python3 is required" >&2; exit 2; }
if ! command -v uv >/dev/null && ! python3 -c 'import uv' 2>/dev/null; then
    echo "==> installing uv (pip install uv)" >&2
    python3 -m pip install --quiet uv
fi

if ! command -v ssh-keygen >/dev/null || ! command -v ssh-agent >/dev/null; then
    echo "==> installing openssh-client (the verdict-sharing tests sign with ssh-keygen and ssh-agent)" >&2
    apt-get update -qq && apt-get install -y -qq openssh-client
fi

cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --locked --no-fail-fast "$@"
else
    cargo test --locked --no-fail-fast "$@"
fi
