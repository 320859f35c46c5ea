#!/bin/sh
# A full volume on ONTAP/NFS reads and exits as it does locally: "No space
# left on device", exit 4, nothing left behind (the issue: NFS said
# 'pwrite call failed with "?"' and exit 5).  And a 255-byte target name
# works over NFS: temporary names are short whatever the target's name.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/testenv.sh"
. "$(dirname "$0")/../lib/ontap.sh"
ontap_testenv fallocate df
R=nospace-$$
make_vmdk "$v1/$R" disk 24
src=ontap://testenv/vol1/$R/disk.vmdk

# 255 bytes: 251 + ".raw"
long=$(printf '%0251d' 0 | tr 0 n).raw
[ ${#long} = 255 ] || fail "name length ${#long}"
vsh convert "$src" "ontap://testenv/vol1/q$R/$long" >/dev/null 2>"$tmp/err" ||
    fail "255-byte target name: $(cat "$tmp/err")"
compare_images vmdk "$v1/$R/disk.vmdk" raw "$v1/q$R/$long"
rm -f "$v1/q$R/$long"

# fill the volume (all but 4 MiB), then copy 24 MiB over NFS
avail=$(df -B1 --output=avail "$v1" | tail -1)
fallocate -l $((avail - 4194304)) "$v1/filler" || skip "cannot fill the volume"
cleanup_fn rm -f "$v1/filler"
rc=0
vsh convert --no-clone "$src" "ontap://testenv/vol1/q$R/full.raw" >/dev/null 2>"$tmp/err" || rc=$?
rm -f "$v1/filler"
[ $rc = 4 ] || fail "full volume: exit $rc, want 4: $(cat "$tmp/err")"
grep -q "No space left on device" "$tmp/err" || fail "message: $(cat "$tmp/err")"
[ "$(wc -l < "$tmp/err")" = 1 ] || fail "more than one line: $(cat "$tmp/err")"
[ ! -e "$v1/q$R/full.raw" ] || fail "a target was left"
no_leftovers vol1
rm -rf "${v1:?}/$R" "${v1:?}/q$R"
echo PASS
