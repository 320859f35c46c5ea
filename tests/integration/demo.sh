#!/bin/sh
# The README's first command, tools/demo, as a fresh machine runs it: it
# must install, build, convert its sample and report, by its own checks,
# that the VHDX is clean, identical to the VMDK and metadata-only.  As
# root it can always reach a reflink filesystem (a loop-mounted XFS), so
# "data was copied" is a failure here; without root the demo may have to
# copy, and this test is skipped.
. "$VMSHIFT_TOP/tests/lib/functions.sh"
requires qemu-img jq filefrag
[ "$(id -u)" -eq 0 ] || skip "tools/demo needs root for its loop-mounted XFS"
tmpdir
"$VMSHIFT_TOP/tools/demo" > "$tmp/out" 2>&1 || fail "tools/demo failed: $(tail -5 "$tmp/out")"
for want in "identical:" "qemu-img check: clean" "qemu-img compare: identical" \
            "metadata-only: every data byte was shared"; do
    grep -qF "$want" "$tmp/out" || fail "tools/demo did not report '$want': $(tail -8 "$tmp/out")"
done
grep -q "wall time [0-9]* ms; [1-9][0-9]* bytes shared, 0 bytes copied" "$tmp/out" ||
    fail "no result line: $(tail -3 "$tmp/out")"
# it cleans up after itself: no loop mount left under build/demo
if grep -q " $VMSHIFT_TOP/build/demo/" /proc/mounts; then
    fail "tools/demo left a mount under build/demo"
fi
echo "tools/demo: $(grep "^wall time" "$tmp/out")"
