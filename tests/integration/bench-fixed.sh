#!/bin/sh
# vmshift bench with FORMAT:fixed cells (the fixed VHD Azure takes is
# measured this way against RAW in one run): each cell converts with
# --fixed, shares every data byte, and is named FORMAT:fixed in the JSON.
. "$VMSHIFT_TOP/tests/lib/functions.sh"
requires jq
need_xfs
cd "$scratch" || fail "cd"

"$VMSHIFT" bench --dir "$scratch" --sizes 1G --formats raw,vhdx:fixed,vhdx,vhd:fixed \
    --runs 1 --data 8M --json > bench.json 2> err.txt ||
    fail "vmshift bench failed: $(cat err.txt)"
for f in raw vhdx:fixed vhdx vhd:fixed; do
    cell=$(jq -c --arg f "$f" '.cells[] | select(.format == $f)' bench.json)
    [ -n "$cell" ] || fail "no $f cell: $(cat bench.json)"
    [ "$(echo "$cell" | jq .ok)" = true ] || fail "$f failed: $cell"
    [ "$(echo "$cell" | jq .all_shared)" = true ] || fail "$f copied data: $cell"
done
# the 8 MiB of data are shared, nothing else
fixed=$(jq '.cells[] | select(.format == "vhdx:fixed") | .bytes_cloned' bench.json)
[ "$fixed" = $((8 * 1048576)) ] || fail "vhdx:fixed shared $fixed bytes, not 8 MiB"
# a fixed VHD is the data plus one 512-byte footer
meta=$(jq '.cells[] | select(.format == "vhd:fixed") | .metadata_bytes' bench.json)
[ "$meta" = 512 ] || fail "vhd:fixed wrote $meta bytes of metadata, not 512"
ls bench-out* 2>/dev/null && fail "bench left its outputs behind"
# --process times the same cells as commands ('--to vhd --fixed')
"$VMSHIFT" bench --dir "$scratch" --sizes 1G --formats raw,vhd:fixed --runs 1 \
    --process --data 8M --json > proc.json 2> err.txt ||
    fail "vmshift bench --process failed: $(cat err.txt)"
for f in raw vhd:fixed; do
    jq -e --arg f "$f" '.cells[] | select(.format == $f) | .ok == true and .process_median_ms > 0' \
        proc.json >/dev/null || fail "--process $f: $(cat proc.json)"
done
ls bench-out* 2>/dev/null && fail "bench --process left its outputs behind"
echo "bench FORMAT:fixed cells checked"
exit 0
