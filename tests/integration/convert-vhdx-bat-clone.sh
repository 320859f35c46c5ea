#!/bin/sh
# A thin VHDX's BAT on reflink XFS: its runs of all-hole chunks repeat,
# and the executor writes one aligned period and clones the rest within
# the file (docs/internals/executor.md, "Repeated metadata").  For 1 TiB
# and 64 TiB disks at several block sizes, with data in one or two
# places: the file is the one the plain writes make (--no-clone) to the
# byte but for the two headers' random GUIDs, qemu-img, libvhdi and our
# validator accept it, FIEMAP shows the BAT's blocks shared exactly when
# cloning was worth it, the counters add up, the read back read the
# cloned ranges where their blocks were written, and a run killed at
# any ioctl (the data clone, each BAT clone, the read back's FIEMAP)
# publishes nothing and the next run succeeds.
. "$VMSHIFT_TOP/tests/lib/functions.sh"
requires jq xfs_io qemu-img vhdiinfo strace perl
need_xfs
cd "$scratch" || fail "cd $scratch"

MiB=1048576
TiB=1099511627776
bat_off=$((3 * MiB))

# thin_vmdk NAME SIZE OFFSET...: a flat VMDK with 8 MiB of random data
# at each offset and a fixed ddb.uuid (the VHDX disk id comes from it)
thin_vmdk() {
    name=$1 size=$2
    shift 2
    rm -f "$name.vmdk" "$name-flat.vmdk"
    truncate -s "$size" "$name-flat.vmdk" || fail "truncate $name"
    for o in "$@"; do
        dd if=/dev/urandom of="$name-flat.vmdk" bs=1M count=8 \
            seek=$((o / MiB)) conv=notrunc status=none || fail "dd $name"
    done
    cat > "$name.vmdk" <<EOF
# Disk DescriptorFile
version=1
CID=fffffffe
parentCID=ffffffff
createType="vmfs"

RW $((size / 512)) VMFS "$name-flat.vmdk"

ddb.adapterType = "lsilogic"
ddb.uuid = "60 00 c2 9a 8f 1b 2c 3d-4e 5f 60 71 82 93 a4 b5"
EOF
}

# shared_in FILE FROM TO: extents FIEMAP flags shared in [FROM, TO)
shared_in() {
    xfs_io -c "fiemap -v $2 $(($3 - $2))" "$1" | perl -ne '
        if (/^\s*\d+: \[(\d+)\.\.(\d+)\]:\s+\d+\.\.\d+\s+\d+\s+0x([0-9a-f]+)/) {
            $n++ if hex ($3) & 0x2000;
        }
        END { print $n + 0, "\n" }'
}

# mask the two headers (64 KiB and 128 KiB; their first 4 KiB is all
# that is written): FileWriteGuid and DataWriteGuid are random per run
mask_headers() {
    for s in 16 32; do
        dd if=/dev/zero of="$1" bs=4096 seek=$s count=1 conv=notrunc \
            status=none || fail "mask $1"
    done
}

check_case() {   # SIZE BLOCK CLONES(yes|no) OFFSET...
    size=$1 bs=$2 want=$3
    shift 3
    what="$((size / TiB)) TiB at block $bs"
    thin_vmdk s "$size" "$@"
    rm -f c.vhdx n.vhdx
    VMSHIFT_DEBUG="exec" "$VMSHIFT" convert --json --block-size "$bs" s.vmdk \
        c.vhdx > c.json 2> c.err || fail "$what: convert: $(cat c.err)"
    "$VMSHIFT" convert --json --no-clone --block-size "$bs" s.vmdk n.vhdx \
        > n.json || fail "$what: convert --no-clone"
    cl=$(jq .bytes_metadata_cloned c.json)
    wr=$(jq .bytes_metadata c.json)
    lg=$(jq .bytes_metadata_logical c.json)
    x=$(jq .data_offset c.json)
    [ "$(jq .bytes_metadata_logical n.json)" = "$lg" ] ||
        fail "$what: logical metadata differs with --no-clone"
    [ "$(jq .bytes_metadata_cloned n.json)" = 0 ] ||
        fail "$what: --no-clone cloned metadata"
    [ $((wr + cl)) -le "$lg" ] ||
        fail "$what: written $wr + cloned $cl > logical $lg"
    bat_end=$x
    if [ "$want" = yes ]; then
        [ "$cl" -gt $((lg / 2)) ] || fail "$what: only $cl of $lg cloned"
        [ "$wr" -lt "$(jq .bytes_metadata n.json)" ] ||
            fail "$what: no fewer bytes written ($wr)"
        [ "$(shared_in c.vhdx $bat_off "$bat_end")" -ge 2 ] ||
            fail "$what: FIEMAP shows no shared BAT extents"
        # every cloned byte is read where its blocks were written
        red=$(sed -n 's/.*: \([0-9]*\) bytes at [0-9]* are the blocks at .* (FIEMAP); read there$/\1/p' c.err |
              awk '{ t += $1 } END { print t + 0 }')
        [ "$red" = "$cl" ] ||
            fail "$what: the read back redirected $red bytes, $cl were cloned"
    else
        [ "$cl" = 0 ] || fail "$what: $cl bytes cloned, none expected"
        [ "$wr" = "$(jq .bytes_metadata n.json)" ] ||
            fail "$what: written $wr, --no-clone wrote $(jq .bytes_metadata n.json)"
    fi
    [ "$(shared_in n.vhdx $bat_off "$bat_end")" = 0 ] ||
        fail "$what: --no-clone BAT has shared extents"
    for f in c n; do
        qemu-img check -q -f vhdx $f.vhdx || fail "$what: qemu-img check $f"
        vhdiinfo $f.vhdx > vhdi.txt 2>&1 || fail "$what: vhdiinfo $f: $(cat vhdi.txt)"
        grep -q "Media size.*($size bytes)" vhdi.txt ||
            fail "$what: vhdiinfo $f: $(cat vhdi.txt)"
        "$VMSHIFT" info $f.vhdx > info.txt 2>&1 ||
            fail "$what: vmshift info $f: $(cat info.txt)"
        "$VMSHIFT" verify s.vmdk $f.vhdx > /dev/null ||
            fail "$what: $f.vhdx differs from the source"
    done
    mask_headers c.vhdx
    mask_headers n.vhdx
    cmp -n "$x" c.vhdx n.vhdx || fail "$what: the files differ before the data"
    for o in "$@"; do
        cmp -i $((x + o)) -n $((8 * MiB)) c.vhdx n.vhdx ||
            fail "$what: the files differ in the data at guest $o"
    done
    [ "$(stat -c %s c.vhdx)" = "$(stat -c %s n.vhdx)" ] ||
        fail "$what: sizes differ"
    echo "ok: $what: $wr written, $cl cloned, $lg logical"
}

check_case $((64 * TiB)) 32M yes 0
# the dry run's plan names the run: chunks 1 to 16383, 129 entries each
"$VMSHIFT" convert --dry-run --json s.vmdk d.vhdx > plan.json || fail "dry run"
[ "$(jq -c '.outputs[0].repeats' plan.json)" = \
  "[{\"offset\":$((bat_off + 1032)),\"length\":$((16383 * 1032)),\"period\":1032}]" ] ||
    fail "plan repeats: $(jq -c '.outputs[0].repeats' plan.json)"
check_case $((64 * TiB)) 256M yes 0
# data in four places, as vmshift bench makes its disks: four runs, and
# one 516 KiB period written for all of them (the later runs' first
# period is cloned from the first run), plus ragged ends
check_case $((64 * TiB)) 32M yes 0 $((16 * TiB)) $((32 * TiB)) $((48 * TiB))
[ "$wr" -le $((528384 + 16 * 4096)) ] ||
    fail "four runs: $wr bytes of metadata written"
check_case $((64 * TiB)) 8M yes 0 $((20 * TiB + 4 * MiB))
# a 16 MiB period: the cloned extents lie across the read back's 1 MiB
# reads at every phase
check_case $((64 * TiB)) 1M yes 0
check_case $((1 * TiB)) 32M no 0
check_case $((1 * TiB)) 1M no 0 $((512 * 1024 * MiB))
check_case $((1 * TiB)) 256M no 0

# killed at each ioctl: nothing published, the next run converges
thin_vmdk s $((64 * TiB)) 0
rm -f t.vhdx .vmshift.*
strace -f -qq -e trace=ioctl,rename,renameat,renameat2 -o ioctl.trace \
    "$VMSHIFT" convert s.vmdk t.vhdx > /dev/null || fail "traced run failed"
# the ioctls before the publish (a rename); after it the target is in
# place whatever happens
k=$(sed '/rename/,$d' ioctl.trace | grep -c 'ioctl(')
nclone=$(grep -c 'FICLONERANGE' ioctl.trace)
[ "$nclone" -ge 4 ] || fail "only $nclone clone calls: $(cat ioctl.trace)"
i=1
while [ $i -le "$k" ]; do
    rm -f t.vhdx .vmshift.*
    rc=0
    strace -f -qq -o /dev/null -e trace=ioctl \
        -e inject="ioctl:signal=KILL:when=$i" \
        "$VMSHIFT" convert s.vmdk t.vhdx > /dev/null 2>&1 || rc=$?
    [ "$rc" -ne 0 ] || fail "ioctl #$i: the run was not killed"
    [ -e t.vhdx ] && fail "killed at ioctl #$i: t.vhdx was published"
    "$VMSHIFT" convert s.vmdk t.vhdx > /dev/null 2> err.txt ||
        fail "after a kill at ioctl #$i: the next run failed: $(cat err.txt)"
    "$VMSHIFT" verify s.vmdk t.vhdx > /dev/null ||
        fail "after a kill at ioctl #$i: the next run's target differs"
    left=$(find . -maxdepth 1 -name '.vmshift.*' | wc -l)
    [ "$left" = 0 ] || fail "after a kill at ioctl #$i: run files left"
    i=$((i + 1))
done
echo "ok: killed at each of $k ioctls ($nclone clones): nothing published"
