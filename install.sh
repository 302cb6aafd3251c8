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
# Where the binary lands is cargo's decision: --root, else CARGO_INSTALL_ROOT, else the install.root
# config value (from a .cargo/config.toml above this directory or in CARGO_HOME, relative to that
# file's directory), else CARGO_HOME, else ~/.cargo. Re-implementing that lookup would drift from
# cargo, so take the path from cargo's own "Installing <path>" (or, over an older copy,
# "Replacing <path>") status line. CARGO_TERM_QUIET=false and --color never keep that line present
# and plain whatever the user's cargo config says about quietness or colour.
log=$(mktemp "${TMPDIR:-/tmp}/hookgate-install.XXXXXX")
trap 'rm -f "$log"' EXIT
CARGO_TERM_QUIET=false cargo install --color never --path . --locked --force 2>&1 | tee "$log" >&2
BIN=$(sed -n -E 's/^ *(Installing|Replacing) (\/.*\/hookgate)$/\2/p' "$log" | tail -n 1)
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
    echo "install.sh: cargo install succeeded but its output names no installed hookgate binary" >&2
    exit 2
fi
"$BIN" --version
bindir=$(dirname "$BIN")
say "hookgate is installed at $BIN"

# `command -v` finds what typing `hookgate` would run, so a PATH entry spelled differently (a
# symlink, a trailing slash) still counts, and an older hookgate earlier on PATH is caught.
on_path=$(command -v hookgate || true)
if [ -z "$on_path" ] || [ ! "$on_path" -ef "$BIN" ]; then
    if [ -z "$on_path" ]; then
        printf '\033[1;33mwarning: %s is not on your PATH\033[0m\n' "$bindir" >&2
    else
        printf '\033[1;33mwarning: `hookgate` on your PATH is %s, not the one just installed\033[0m\n' "$on_path" >&2
    fi
    echo "Add this line to your shell's startup file (~/.bashrc, ~/.zshrc, ~/.profile):" >&2
    echo "    export PATH=\"$bindir:\$PATH\"" >&2
fi

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
