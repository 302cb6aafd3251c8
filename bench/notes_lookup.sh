#!/usr/bin/env bash
# Shared verdicts at scale (issue #11 item 8): a repository whose refs/notes/hookgate holds N
# notes (one signed-statement-sized line each, on N distinct objects, as hookgate writes them),
# for each N given (default 1000 10000 100000). Reports what a `verdicts pull` would fetch (the
# notes ref as a bundle) and the time of one note lookup in process, as `verdicts::adopt` does
# it (examples/notes_lookup.rs, built here with --release): in a repository opened for it (one
# hook run: open, check the ref, read one note; the opening itself subtracted) and in one
# already open.
#
#   bench/notes_lookup.sh [N ...]
set -euo pipefail
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000 100000)
lookups=200
here=$(cd "$(dirname "$0")/.." && pwd)
cargo build --quiet --release --example notes_lookup --manifest-path "$here/Cargo.toml"
lookup="${CARGO_TARGET_DIR:-$here/target}/release/examples/notes_lookup"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
printf '%8s  %12s  %10s  %10s\n' notes fetch_bytes lookup_us warm_us
for n in "${sizes[@]}"; do
    repo="$work/r$n"
    git init -q "$repo"
    # N commits, then one notes commit with a distinct statement-sized line (random hex, as
    # incompressible as a signature) on each.
    awk -v n="$n" 'BEGIN {
        srand(1);
        for (i = 1; i <= n; i++)
            printf "commit refs/heads/main\nmark :%d\ncommitter b <b@x> %d +0000\ndata %d\n%d\n", i, i, length(i "") + 1, i;
        printf "commit refs/notes/hookgate\ncommitter b <b@x> 0 +0000\ndata 6\nnotes\n";
        for (i = 1; i <= n; i++) {
            payload = ""; signature = "";
            for (j = 0; j < 110; j++) payload = payload sprintf("%08x", int(rand() * 4294967296));
            for (j = 0; j < 50; j++) signature = signature sprintf("%08x", int(rand() * 4294967296));
            line = "{\"payload\":\"" payload "\",\"signature\":\"" signature "\"}";
            printf "N inline :%d\ndata %d\n%s\n", i, length(line) + 1, line;
        }
    }' | git -C "$repo" fast-import --quiet
    git -C "$repo" gc -q
    git -C "$repo" bundle create -q "$work/notes.bundle" refs/notes/hookgate 2>/dev/null
    bytes=$(wc -c < "$work/notes.bundle")
    target=$(git -C "$repo" rev-parse "main~$(( n / 2 ))")
    read -r fresh warm lines < <("$lookup" "$repo" "$target" "$lookups")
    [ "$lines" = 1 ] || { echo "the note on $target was not found" >&2; exit 1; }
    printf '%8d  %12d  %10s  %10s\n' "$n" "$bytes" "$fresh" "$warm"
done
