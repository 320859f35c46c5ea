#!/bin/sh
# convert --verify on a reflink filesystem: the comparison runs on the
# written files while they are still temporaries (before the rename), for
# every target format, and still proves shared blocks without reading
# them (nothing is copied, no temporary is left); odd-sized raw sources
# (qcow2 rounds the size up to whole sectors) convert and verify too.
. "$VMSHIFT_TOP/tests/lib/functions.sh"
requires jq qemu-img qemu-io md5sum
need_xfs
cd "$scratch" || fail "cd"

temps() { find . -name '.vmshift.*' | head -5; }

qemu-img create -q -f vmdk -o subformat=monolithicFlat src.vmdk 64M
qemu-io -f vmdk -c 'write -P 0x5c 0 4M' -c 'write -P 0x3d 40M 2M' \
    -c 'write -P 0x11 63M 512' src.vmdk > /dev/null || fail "qemu-io"
sum0=$(md5sum src.vmdk src-flat.vmdk)

for t in vhdx qcow2 raw vmdk; do
    "$VMSHIFT" convert --verify --json src.vmdk "out.$t" > res.json ||
        fail "convert --verify to $t failed"
    [ "$(jq .verified res.json)" = true ] || fail "$t: not verified: $(cat res.json)"
    [ "$(jq .bytes_copied res.json)" -le 4096 ] ||
        fail "$t: data was copied: $(jq .bytes_copied res.json)"
    [ -z "$(temps)" ] || fail "$t: temporaries left: $(temps)"
    compare_images vmdk src.vmdk "$t" "out.$t"
done

# an odd-sized raw source: qcow2 rounds up, the tail must read as zeros
head -c 100001 /dev/urandom > odd.raw
"$VMSHIFT" convert --verify --json odd.raw odd.qcow2 > res.json ||
    fail "odd-sized raw -> qcow2 with --verify failed"
[ "$(jq .verified res.json)" = true ] || fail "odd.qcow2 not verified"
qemu-img compare -q -f raw -F qcow2 odd.raw odd.qcow2 || fail "odd.qcow2 differs"
# ... and the result says so (and how big the target is)
[ "$(jq .target_virtual_size res.json)" = 100352 ] ||
    fail "odd.qcow2: target_virtual_size is not 100352: $(cat res.json)"
jq -r .size_note res.json | grep -q "rounded up from 100001 to 100352 bytes" ||
    fail "odd.qcow2: no size note: $(cat res.json)"
"$VMSHIFT" convert --force --verify odd.raw odd.qcow2 > res.txt 2> err.txt ||
    fail "odd-sized raw -> qcow2 (text) failed"
grep -q "size note.*rounded up" res.txt || fail "no size note in: $(cat res.txt)"
grep -q "warning: 'odd.qcow2': virtual size rounded up" err.txt ||
    fail "no warning about the rounding: $(cat err.txt)"
# a target of the source's size has no note
"$VMSHIFT" convert --json src.vmdk same.raw > res.json || fail "src.vmdk -> raw"
[ "$(jq .size_note res.json)" = null ] || fail "unexpected size note: $(cat res.json)"

[ "$(md5sum src.vmdk src-flat.vmdk)" = "$sum0" ] || fail "the source changed"
echo "convert --verify checks passed"
exit 0
