#!/bin/sh
# vmshift convert --qtree-style refuse|fix on the test environment: a
# target qtree that exists with another security style than the target
# needs (UNIX qtree, VHDX target that needs NTFS) fails the run by
# default, before anything is converted; with --qtree-style fix its style
# is changed (a PATCH of the qtree), the run warns and converts.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/testenv.sh"
. "$(dirname "$0")/../lib/ontap.sh"
# shellcheck disable=SC2119 # ontap_testenv takes optional commands
ontap_testenv
q=qstyle$$
make_vmdk "$v1/vs$$" disk 16
style() { rest "/api/storage/qtrees?name=$q&fields=security_style" | jq -r '.records[0].security_style'; }

# a RAW target makes the qtree with UNIX style
vsh convert ontap://testenv/vol1/vs$$/disk.vmdk "ontap://testenv/vol1/$q/disk.raw" ||
    fail "convert to raw"
[ "$(style)" = unix ] || fail "new qtree style $(style)"

# a VHDX target needs NTFS: refused by default and with 'refuse'
for how in "" "--qtree-style refuse"; do
    log_mark
    # shellcheck disable=SC2086 # $how is zero or two words
    vsh convert $how ontap://testenv/vol1/vs$$/disk.vmdk \
        "ontap://testenv/vol1/$q/disk.vhdx" 2> "$tmp/err"
    rc=$?
    [ "$rc" = 4 ] || fail "${how:-default}: exit $rc, expected 4: $(cat "$tmp/err")"
    [ "$(wc -l < "$tmp/err")" = 1 ] || fail "${how:-default}: not one line: $(cat "$tmp/err")"
    grep -qF "qtree '$q' in volume 'vol1' exists with security style 'unix', not 'ntfs'; change it (--qtree-style fix)" "$tmp/err" ||
        fail "${how:-default}: unclear message: $(cat "$tmp/err")"
    [ ! -e "$v1/$q/disk.vhdx" ] || fail "${how:-default}: a target was made"
    [ "$(req_count PATCH /api/storage/qtrees/)" = 0 ] || fail "${how:-default}: the qtree was changed"
    [ "$(style)" = unix ] || fail "${how:-default}: style is now $(style)"
    no_leftovers vol1
done

# --qtree-style fix: PATCHed to NTFS, a warning, the target is made
log_mark
vsh convert --qtree-style fix ontap://testenv/vol1/vs$$/disk.vmdk \
    "ontap://testenv/vol1/$q/disk.vhdx" 2> "$tmp/err" ||
    fail "--qtree-style fix failed: $(cat "$tmp/err")"
grep -qF "warning: qtree '$q' in volume 'vol1': security style changed from 'unix' to 'ntfs' (--qtree-style fix)" "$tmp/err" ||
    fail "no warning of the change: $(cat "$tmp/err")"
[ "$(style)" = ntfs ] || fail "after fix: style $(style)"
[ "$(req_count PATCH /api/storage/qtrees/)" = 1 ] || fail "not exactly one qtree PATCH"
compare_images vmdk "$v1/vs$$/disk.vmdk" vhdx "$v1/$q/disk.vhdx"
no_leftovers vol1
# the style is right now: nothing to change, no warning
log_mark
vsh convert --qtree-style fix ontap://testenv/vol1/vs$$/disk.vmdk \
    "ontap://testenv/vol1/$q/disk2.vhdx" 2> "$tmp/err" || fail "second fix run: $(cat "$tmp/err")"
[ ! -s "$tmp/err" ] || fail "second fix run warned: $(cat "$tmp/err")"
[ "$(req_count PATCH /api/storage/qtrees/)" = 0 ] || fail "a PATCH with nothing to change"

# usage: anything else is exit 2; local files: the option is ignored
vsh convert --qtree-style sometimes ontap://testenv/vol1/vs$$/disk.vmdk \
    "ontap://testenv/vol1/$q/d3.vhdx" 2> "$tmp/err"
[ $? = 2 ] || fail "--qtree-style sometimes: not a usage error: $(cat "$tmp/err")"
grep -qF "'refuse' or 'fix'" "$tmp/err" || fail "unclear usage error: $(cat "$tmp/err")"
qemu-img create -q -f vmdk "$tmp/local.vmdk" 1M
"$VMSHIFT" convert --qtree-style fix "$tmp/local.vmdk" "$tmp/local.raw" 2> "$tmp/err" ||
    fail "local convert with --qtree-style: $(cat "$tmp/err")"
grep -q "ontap:// locations only" "$tmp/err" || fail "no word that the option was ignored: $(cat "$tmp/err")"
rm -rf "${v1:?}/$q" "${v1:?}/vs$$"
echo ok
