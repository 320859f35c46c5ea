#!/bin/sh
# Issue 9's smaller findings, each checked on its own:
# - copied data always has a reason: a streamOptimized source and a flat
#   extent that starts at sector 1 (not 4 KiB aligned) are copied, and the
#   result says why (copy_reason) and stderr warns;
# - `vmshift info` finds at least what convert and qemu-img find: random
#   bytes named .vhdx, and a qcow2 whose snapshots_offset qemu-img refuses;
# - info says when the content does not match the file's extension.
. "$VMSHIFT_TOP/tests/lib/functions.sh"
requires jq qemu-img md5sum
need_xfs
cd "$scratch" || fail "cd"

random_disk data.raw 8

# --- streamOptimized: its grains are compressed, so every byte is copied
qemu-img convert -q -f raw -O vmdk -o subformat=streamOptimized data.raw so.vmdk ||
    fail "qemu-img convert to streamOptimized"
"$VMSHIFT" convert --json so.vmdk so.raw > so.json 2> so.err || fail "convert so: $(cat so.err)"
[ "$(jq .bytes_copied so.json)" -gt 0 ] || fail "streamOptimized: nothing copied? $(cat so.json)"
jq -e '.copy_reason | type == "string" and length > 0' so.json >/dev/null ||
    fail "streamOptimized: copied without a reason: $(cat so.json)"
[ -s so.err ] || fail "streamOptimized: copied without a warning"
cmp data.raw so.raw || fail "streamOptimized: target differs"

# --- a flat extent at sector 1: its data is not 4 KiB aligned in the file
{ head -c 512 /dev/zero; cat data.raw; } > off-flat.vmdk
sectors=$(( $(stat -c %s data.raw) / 512 ))
cat > off.vmdk <<DESC
# Disk DescriptorFile
version=1
CID=fffffffe
parentCID=ffffffff
createType="monolithicFlat"

RW $sectors FLAT "off-flat.vmdk" 1

ddb.virtualHWVersion = "4"
ddb.geometry.cylinders = "16"
ddb.geometry.heads = "16"
ddb.geometry.sectors = "63"
ddb.adapterType = "ide"
DESC
"$VMSHIFT" convert --json off.vmdk off.raw > off.json 2> off.err || fail "convert off: $(cat off.err)"
[ "$(jq .bytes_copied off.json)" -gt 0 ] || fail "sector-1 extent: nothing copied? $(cat off.json)"
jq -e '.copy_reason | type == "string" and length > 0' off.json >/dev/null ||
    fail "sector-1 extent: copied without a reason: $(cat off.json)"
[ -s off.err ] || fail "sector-1 extent: copied without a warning"
cmp data.raw off.raw || fail "sector-1 extent: target differs"

# --- info: random bytes named .vhdx are a problem (convert refuses them)
head -c 4194304 /dev/urandom > rnd.vhdx
if "$VMSHIFT" convert rnd.vhdx rnd.raw 2>/dev/null; then fail "convert took random bytes named .vhdx"; fi
"$VMSHIFT" info --json rnd.vhdx > rnd.json 2>/dev/null
jq -e '[.problems[] | select(test("named .vhdx"))] | length == 1' rnd.json >/dev/null ||
    fail "info on random .vhdx: $(cat rnd.json)"
"$VMSHIFT" info rnd.vhdx >/dev/null 2>&1 && fail "info on random .vhdx exits 0"

# --- info: a qcow2 content named .vhdx is a warning naming both
qemu-img convert -q -f raw -O qcow2 data.raw q.vhdx || fail "qemu-img convert to qcow2"
"$VMSHIFT" info --json q.vhdx > qv.json 2>/dev/null
jq -e '[.problems[] | select(test("named .vhdx but the content is qcow2"))] | length == 1' qv.json >/dev/null ||
    fail "info on qcow2 named .vhdx: $(cat qv.json)"

# --- info: snapshots_offset 0x8000000000000000 (header bytes 64..71),
# which qemu-img refuses to open
qemu-img create -q -f qcow2 bad.qcow2 16M || fail "qemu-img create"
printf '\200\0\0\0\0\0\0\0' | dd of=bad.qcow2 bs=1 seek=64 conv=notrunc status=none ||
    fail "dd"
if qemu-img info bad.qcow2 >/dev/null 2>&1; then
    fail "qemu-img opens the damaged qcow2: the case tests nothing"
fi
"$VMSHIFT" info --json bad.qcow2 > bad.json 2>/dev/null
[ "$(jq '.problems | length' bad.json)" -ge 1 ] || fail "info finds nothing in bad.qcow2: $(cat bad.json)"
"$VMSHIFT" info bad.qcow2 >/dev/null 2>&1 && fail "info on bad.qcow2 exits 0"
if "$VMSHIFT" convert bad.qcow2 bad.raw 2>/dev/null; then fail "convert took bad.qcow2"; fi
[ ! -e bad.raw ] || fail "convert left a target for bad.qcow2"
# --- a fixed VHD is probed by its footer only under a .vhd name: the same
# bytes named .img are a raw disk that keeps its last sector (as qemu-img)
"$VMSHIFT" convert --fixed data.raw fx.vhd > /dev/null 2> fx.err || fail "convert to fixed vhd: $(cat fx.err)"
"$VMSHIFT" info --json fx.vhd | jq -e '.format == "vhd"' >/dev/null || fail "fx.vhd is not vhd"
cp fx.vhd fx.img
"$VMSHIFT" info --json fx.img > fximg.json 2>/dev/null
jq -e --argjson s "$(stat -c %s fx.img)" '.format == "raw" and .virtual_size == $s' fximg.json >/dev/null ||
    fail "fx.img (a footer in its last sector) is not a whole raw disk: $(cat fximg.json)"
"$VMSHIFT" convert fx.img fximg.raw > /dev/null 2> fx.err || fail "convert fx.img: $(cat fx.err)"
cmp fx.img fximg.raw || fail "the raw disk lost its last sector"
echo "ok"
