#!/bin/sh
# vmshift bench --process: whole-command timings beside the library's
# clock.  A small run (one size, two formats, 3 runs) must report, for
# every cell, 3 positive process times, a start-up time, and metadata
# bytes written no larger than the logical ones.  (Process and library
# times come from different runs on a shared machine, so they are not
# compared.)
. "$VMSHIFT_TOP/tests/lib/functions.sh"
requires jq
tmpdir
"$VMSHIFT" bench --dir "$tmp" --sizes 1G --formats vhdx,qcow2 --runs 3 \
    --data 1M --process --json > "$tmp/out.json" 2> "$tmp/err" ||
    fail "bench --process failed: $(cat "$tmp/err")"
j=$tmp/out.json
jq -e '.process_startup_median_ms > 0' "$j" >/dev/null ||
    fail "no start-up time: $(cat "$j")"
[ "$(jq '.cells | length' "$j")" -eq 2 ] || fail "expected 2 cells: $(cat "$j")"
jq -e '.cells | all(.ok and (.process_ms | length) == 3 and
        all(.process_ms[]; . > 0) and .process_median_ms > 0 and
        .metadata_bytes <= .metadata_bytes_logical and
        .metadata_bytes_logical > 0)' "$j" >/dev/null ||
    fail "bad cells: $(jq -c '.cells' "$j")"
# a thin disk's metadata is mostly zeros: fewer bytes written than planned
jq -e '.cells[] | select(.format == "qcow2") |
        .metadata_bytes < .metadata_bytes_logical' "$j" >/dev/null ||
    fail "qcow2 wrote all its zeros: $(jq -c '.cells' "$j")"
echo "bench --process: $(jq -c '[.process_startup_median_ms,
    (.cells[] | [.format, .median_ms, .process_median_ms])]' "$j")"
