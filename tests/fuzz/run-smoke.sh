#!/bin/sh
# Run each libFuzzer harness briefly: tests/fuzz/run-smoke.sh BIN...
# Seeds: tests/fuzz/seeds/<harness>/ plus, when present, files named in
# tests/fuzz/seeds/<harness>.corpus (paths relative to ../shared/corpus,
# read in place).  The working corpus lives in a temp dir, so the tree is
# never modified.  FUZZ_SECONDS (default 10) per harness.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
corpus=${VMSHIFT_CORPUS:-$top/../shared/corpus}
secs=${FUZZ_SECONDS:-10}
fails=0
for bin in "$@"; do
    name=$(basename "$bin")
    work=$(mktemp -d)
    if [ -d "$top/tests/fuzz/seeds/$name" ]; then
        cp -r "$top/tests/fuzz/seeds/$name/." "$work/" 2>/dev/null || true
    fi
    if [ -f "$top/tests/fuzz/seeds/$name.corpus" ] && [ -d "$corpus" ]; then
        while IFS= read -r f; do
            case $f in ''|'#'*) continue ;; esac
            src="$corpus/$f"
            case $src in
                *.xz) xz -dc "$src" > "$work/$(basename "$f" .xz)" 2>/dev/null || true ;;
                *.bz2) bzip2 -dc "$src" > "$work/$(basename "$f" .bz2)" 2>/dev/null || true ;;
                *) [ -f "$src" ] && cp "$src" "$work/" ;;
            esac
        done < "$top/tests/fuzz/seeds/$name.corpus"
    fi
    echo "== $name ($secs s)"
    if ! "$bin" -max_total_time="$secs" -rss_limit_mb=2048 -max_len=1048576 \
            -artifact_prefix="$work/" "$work" > "$work.log" 2>&1; then
        echo "FAIL $name: see $work.log"; tail -30 "$work.log"
        fails=$((fails + 1))
    else
        grep -E '^#[0-9]+.*DONE' "$work.log" | tail -1 || true
        rm -f "$work.log"
    fi
    rm -rf "$work"
done
[ "$fails" -eq 0 ]
