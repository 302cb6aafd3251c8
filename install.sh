#!/usr/bin/env bash
# Sets up everything hookgate needs on a fresh machine, then runs the main job on the bundled
# sample package (fixtures/clean): install the hooks in a fresh clone, run every check, commit,
# and push to a local bare remote (decided from the cache).
#   ./install.sh            set up + demo
#   ./install.sh --no-demo  set up only
set -euo pipefail
cd "$(dirname "$0")"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

command -v python3 >/dev/null || { echo "install.sh: python3 is required (apt-get install python3)" >&2; exit 2; }
command -v git >/dev/null || { echo "install.sh: git is required (apt-get install git)" >&2; exit 2; }
command -v cargo >/dev/null || { echo "install.sh: cargo is required (https://rustup.rs)" >&2; exit 2; }

if ! command -v uv >/dev/null && ! python3 -c 'import uv' 2>/dev/null; then
    say "installing uv (pip install uv)"
    python3 -m pip install --quiet uv
fi

say "building and installing hookgate (cargo install --path . --locked)"
cargo install --quiet --path . --locked --force
BIN="${CARGO_HOME:-$HOME/.cargo}/bin/hookgate"
"$BIN" --version

[ "${1:-}" = "--no-demo" ] && exit 0

demo=$(mktemp -d "${TMPDIR:-/tmp}/hookgate-demo.XXXXXX")
say "demo: a fresh clone of the sample package in $demo"
cp -r fixtures/clean "$demo/sample"
git init -q --bare "$demo/remote.git"
cd "$demo/sample"
git init -q -b main
git add -A
git -c user.name=demo -c user.email=demo@example.com commit -q -m "sample package"
git remote add origin "$demo/remote.git"

say "hookgate install"
"$BIN" install
say "hookgate run --all (cold: lint, format, wheel, test, coverage, version, docs in fresh venvs)"
"$BIN" run --all
say "git push origin main (every verdict already cached)"
git push origin main
say "done: the sample is in $demo/sample; try editing it, committing and pushing"
