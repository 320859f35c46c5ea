#!/bin/sh
# The NFS backend against a real server: starts tools/testenv (or uses
# the one exported by the caller) and runs the Criterion cases of
# tests/unit/test-backend-nfs.c for NFSv3 and NFSv4, requiring that none
# of them skipped.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/testenv.sh"

bin=$VMSHIFT_BUILD/tests/unit/test-backend-nfs
[ -x "$bin" ] || skip "$bin is not built (make tests)"
tmpdir
need_testenv
"$bin" --tap="$tmp/tap" > "$tmp/out" 2>&1 || { cat "$tmp/out"; fail "test-backend-nfs failed"; }
cat "$tmp/tap"
if grep -q '# SKIP' "$tmp/tap"; then
    fail "cases skipped with the test environment up"
fi
[ "$(grep -c '^ok .*nfs_io' "$tmp/tap")" = 2 ] || fail "the NFSv3 and NFSv4 cases did not both pass"
echo "ok"
