#!/bin/sh
# hookgate-managed hook (@HOOK@), written by hookgate @VERSION@.
# `hookgate uninstall` removes it and restores any hook it replaced.
# Skip once with `git @GITCMD@ --no-verify`; skip named checks with HOOKGATE_SKIP=lint,format.
# The binary recorded at install; empty when install ran from a temporary environment (uvx):
# then, as when the recorded one is gone, `hookgate` on PATH.
HOOKGATE_BIN=@BIN@
if [ -z "$HOOKGATE_BIN" ] || [ ! -x "$HOOKGATE_BIN" ]; then
    HOOKGATE_BIN=$(command -v hookgate 2>/dev/null) || {
        echo @MISSING@ >&2
        echo "hookgate: install it (uv tool install hookgate, pip install hookgate, or ./install.sh), or skip this once with --no-verify." >&2
        exit 1
    }
fi
exec "$HOOKGATE_BIN" hook @HOOK@ --hook-dir "${0%/*}" -- "$@"
