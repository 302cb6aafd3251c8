#!/bin/sh
# hookgate-managed hook (@HOOK@), written by hookgate @VERSION@.
# `hookgate uninstall` removes it and restores any hook it replaced.
# Skip once with `git @GITCMD@ --no-verify`; skip named checks with HOOKGATE_SKIP=lint,format.
HOOKGATE_BIN=@BIN@
if [ ! -x "$HOOKGATE_BIN" ]; then
    HOOKGATE_BIN=$(command -v hookgate 2>/dev/null) || {
        echo "hookgate: the binary is not at" @BIN@ "(recorded at install) nor on PATH." >&2
        echo "hookgate: reinstall it (./install.sh, or cargo install), or skip this once with --no-verify." >&2
        exit 1
    }
fi
exec "$HOOKGATE_BIN" hook @HOOK@ --hook-dir "${0%/*}" -- "$@"
