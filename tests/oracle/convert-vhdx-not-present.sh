#!/bin/sh
# --vhdx-unallocated not-present (docs/formats/vhdx.md, "Thin disks"):
# payload blocks with no data are NOT_PRESENT (0) instead of ZERO (2).
# For a small disk with data and holes (1 MiB and 32 MiB blocks) and for
# thin and partly written 1 TiB disks: qemu-img compare (small disks) or
# qemu-io pattern reads (1 TiB: compare would read the whole TiB), qemu-img
# check, vhdiinfo (libvhdi) and vmshift verify/info accept the file; every
# BAT entry read from the file is 0 for a hole block and (X + i BS) | 6
# for a data block; a thin 1 TiB disk writes under 64 KiB of metadata;
# the dry run names the mode and declares no BAT repeats; vmshift bench
# passes it on; bad values are one line, exit 2 and no file.
. "$VMSHIFT_TOP/tests/lib/functions.sh"
requires jq qemu-img qemu-io vhdiinfo od awk
need_xfs
cd "$scratch" || fail "cd $scratch"

MiB=1048576
TiB=1099511627776
bat_off=$((3 * MiB))

# flat_vmdk NAME SIZE: a thin monolithicFlat-style (vmfs) VMDK
flat_vmdk() {
    rm -f "$1.vmdk" "$1-flat.vmdk"
    truncate -s "$2" "$1-flat.vmdk" || fail "truncate $1"
    cat > "$1.vmdk" <<EOF
# Disk DescriptorFile
version=1
CID=fffffffe
parentCID=ffffffff
createType="vmfs"

RW $(($2 / 512)) VMFS "$1-flat.vmdk"

ddb.adapterType = "lsilogic"
EOF
}

# put NAME OFFSET LEN BYTE: LEN bytes of BYTE (qemu-io pattern) at OFFSET
put() {
    qemu-io -f raw -c "write -P $4 $2 $3" "$1-flat.vmdk" > /dev/null ||
        fail "qemu-io write $1 $2"
}

# check_bat FILE SIZE BS DATA_BLOCKS...: read from the file, every
# payload entry is 0 but for the blocks listed, which are FULLY_PRESENT
# (6) at X + i * BS, and every sector bitmap entry is 0
check_bat() {
    bf=$1 bsize=$2 bbs=$3
    shift 3
    x=$(jq .data_offset "$bf.json")
    cr=$((8388608 * 512 / bbs))
    nb=$(( (bsize + bbs - 1) / bbs ))
    n=$((nb + (nb + cr - 1) / cr))
    od -A n -v -t u8 -w8 -j $bat_off -N $((8 * n)) "$bf" |
        awk -v cr="$cr" -v nb="$nb" -v x="$x" -v bs="$bbs" -v data="$*" '
        BEGIN { split (data, d, " "); for (k in d) want[d[k]] = 1 }
        {
            idx = NR - 1; e = $1
            if (idx % (cr + 1) == cr) {
                if (e != 0) { print "sector bitmap entry " idx ": " e; bad++ }
                next
            }
            blk = idx - int (idx / (cr + 1))
            w = (blk in want) ? sprintf ("%.0f", x + blk * bs + 6) : "0"
            if (e != w) { print "block " blk ": " e ", expected " w; bad++ }
            seen += blk < nb
        }
        END { if (seen != nb) { print seen " payload entries of " nb; bad++ }
              exit bad > 0 }' > bat.txt ||
        fail "$bf: BAT: $(head -5 bat.txt)"
}

# accepted SRC FILE SIZE PRESENT ZERO NOT_PRESENT: the checks of other
# readers and our own, and the block states vmshift info counts
accepted() {
    qemu-img check -q -f vhdx "$2" || fail "qemu-img check $2"
    vhdiinfo "$2" > vhdi.txt 2>&1 || fail "vhdiinfo $2: $(cat vhdi.txt)"
    grep -q "Media size.*($3 bytes)" vhdi.txt ||
        fail "vhdiinfo $2: $(cat vhdi.txt)"
    "$VMSHIFT" verify "$1" "$2" > verify.txt ||
        fail "vmshift verify $1 $2: $(cat verify.txt)"
    "$VMSHIFT" info "$2" > info.txt || fail "vmshift info $2: $(cat info.txt)"
    grep -q "^problems: *0$" info.txt || fail "vmshift info $2: $(cat info.txt)"
    grep -q "^blocks: *$4 present, $5 ZERO, $6 NOT_PRESENT$" info.txt ||
        fail "vmshift info $2 block states: $(cat info.txt)"
    "$VMSHIFT" info --json "$2" > info.json || fail "vmshift info --json $2"
    [ "$(jq -c .blocks info.json)" = \
      "{\"present\":$4,\"zero\":$5,\"not_present\":$6,\"other\":0}" ] ||
        fail "vmshift info --json $2: $(jq -c .blocks info.json)"
}

# --- a small disk with data and holes: 40 MiB, data in MiB 0, 5, 6, 39
# and 4 KiB in the middle of MiB 20
flat_vmdk s $((40 * MiB))
put s 0 $MiB 0x11
put s $((5 * MiB)) $((2 * MiB)) 0x22
put s $((20 * MiB + 12288)) 4096 0x33
put s $((39 * MiB)) $MiB 0x44
for bs in 1M 32M; do
    case $bs in
        1M) b=$MiB data="0 5 6 20 39" present=5 np=35 ;;
        32M) b=$((32 * MiB)) data="0 1" present=2 np=0 ;;
    esac
    rm -f s.vhdx z.vhdx
    "$VMSHIFT" convert --json --block-size $bs --vhdx-unallocated not-present \
        s.vmdk s.vhdx > s.vhdx.json || fail "convert at $bs"
    [ "$(jq -r .vhdx_unallocated s.vhdx.json)" = not-present ] ||
        fail "result record: $(cat s.vhdx.json)"
    # (qemu-img reports another virtual size for this hand-made vmfs
    # descriptor, 80 MiB for 40: compare the guest data, the flat
    # extent, as raw)
    compare_images raw s-flat.vmdk vhdx s.vhdx
    accepted s.vmdk s.vhdx $((40 * MiB)) "$present" 0 "$np"
    # shellcheck disable=SC2086 # the block list
    check_bat s.vhdx $((40 * MiB)) $b $data
    # the default marks the same holes ZERO
    "$VMSHIFT" convert --json --block-size $bs s.vmdk z.vhdx > z.json ||
        fail "convert (zero) at $bs"
    [ "$(jq -r .vhdx_unallocated z.json)" = zero ] ||
        fail "default result record: $(cat z.json)"
    accepted s.vmdk z.vhdx $((40 * MiB)) "$present" "$np" 0
    echo "ok: 40 MiB at $bs: $present blocks present, $np NOT_PRESENT"
done

# --- a thin 1 TiB disk: no BAT entry written
flat_vmdk t $TiB
rm -f t.vhdx
"$VMSHIFT" convert --json --vhdx-unallocated not-present t.vmdk t.vhdx \
    > t.vhdx.json || fail "convert thin 1 TiB"
w=$(jq .bytes_metadata t.vhdx.json)
[ "$w" -lt 65536 ] || fail "thin 1 TiB: $w bytes of metadata written"
[ "$(jq .bytes_metadata_cloned t.vhdx.json)" = 0 ] ||
    fail "thin 1 TiB: BAT cloned: $(cat t.vhdx.json)"
# the whole BAT (32768 payload + 256 bitmap entries) is zeros
x=$(jq .data_offset t.vhdx.json)
cmp -s -n $((x - bat_off)) -i $bat_off:0 t.vhdx /dev/zero ||
    fail "thin 1 TiB: BAT is not all zeros"
accepted t.vmdk t.vhdx $TiB 0 0 32768
for o in 0 $((512 * 1024 * MiB)) $((TiB - MiB)); do
    qemu-io -f vhdx -c "read -P 0 $o $MiB" t.vhdx > qio.txt ||
        fail "thin 1 TiB: qemu reads no zeros at $o: $(cat qio.txt)"
done
echo "ok: thin 1 TiB: $w bytes of metadata written"

# --- the dry run names the mode and declares no BAT repeats; the
# default declares its run of all-hole chunks
"$VMSHIFT" convert --dry-run --json --vhdx-unallocated not-present t.vmdk \
    d.vhdx > plan.json || fail "dry run"
[ "$(jq -r .vhdx_unallocated plan.json)" = not-present ] ||
    fail "dry run: $(jq -c 'del(.outputs)' plan.json)"
[ "$(jq -c '.outputs[0].repeats' plan.json)" = "[]" ] ||
    fail "dry run repeats: $(jq -c '.outputs[0].repeats' plan.json)"
"$VMSHIFT" convert --dry-run --json t.vmdk d.vhdx > plan.json ||
    fail "dry run (zero)"
[ "$(jq -r .vhdx_unallocated plan.json)" = zero ] || fail "dry run (zero)"
[ "$(jq '.outputs[0].repeats | length' plan.json)" = 1 ] ||
    fail "dry run (zero) repeats: $(jq -c '.outputs[0].repeats' plan.json)"
[ ! -e d.vhdx ] || fail "the dry run wrote d.vhdx"

# --- 1 TiB written in two places: 2 blocks present, the rest 0
put t $((3 * MiB)) $MiB 0x5a
put t $((700 * 1024 * MiB + 100 * MiB)) 8192 0xa5
rm -f t.vhdx
"$VMSHIFT" convert --json --vhdx-unallocated not-present t.vmdk t.vhdx \
    > t.vhdx.json || fail "convert partly written 1 TiB"
w=$(jq .bytes_metadata t.vhdx.json)
[ "$w" -lt 65536 ] || fail "partly written 1 TiB: $w bytes of metadata"
accepted t.vmdk t.vhdx $TiB 2 0 32766
check_bat t.vhdx $TiB $((32 * MiB)) 0 $(( (700 * 1024 + 100) / 32 ))
qemu-io -f vhdx -c "read -P 0x5a $((3 * MiB)) $MiB" \
    -c "read -P 0 0 $((3 * MiB))" -c "read -P 0 $((4 * MiB)) $((28 * MiB))" \
    -c "read -P 0xa5 $((700 * 1024 * MiB + 100 * MiB)) 8192" \
    -c "read -P 0 $((700 * 1024 * MiB + 100 * MiB + 8192)) $MiB" \
    -c "read -P 0 $((32 * MiB)) $((32 * MiB))" t.vhdx > qio.txt ||
    fail "partly written 1 TiB: qemu reads other bytes: $(cat qio.txt)"
echo "ok: partly written 1 TiB: $w bytes of metadata written"

# --- vmshift bench takes the mode to its conversions and says which
mkdir bench || fail "mkdir bench"
for m in zero not-present; do
    "$VMSHIFT" bench --dir bench --sizes 1T --formats vhdx --runs 1 \
        --vhdx-unallocated $m --json > bench-$m.json 2> bench.err ||
        fail "bench --vhdx-unallocated $m: $(cat bench.err)"
    [ "$(jq -r .vhdx_unallocated bench-$m.json)" = $m ] ||
        fail "bench $m: $(jq -c 'del(.cells)' bench-$m.json)"
done
bz=$(jq '.cells[0].metadata_bytes' bench-zero.json)
bn=$(jq '.cells[0].metadata_bytes' bench-not-present.json)
if [ "$bz" != 294912 ] || [ "$bn" -ge 65536 ]; then
    fail "bench metadata bytes: zero $bz, not-present $bn"
fi
rc=0
"$VMSHIFT" bench --dir bench --vhdx-unallocated none > /dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "bench --vhdx-unallocated none: exit $rc"
echo "ok: bench: $bz bytes of metadata (zero), $bn (not-present)"

# --- bad values: one line, exit 2 (usage), no file
for v in ZERO not_present "" "zero " 2; do
    rc=0
    "$VMSHIFT" convert --vhdx-unallocated "$v" s.vmdk bad.vhdx \
        > out.txt 2> err.txt || rc=$?
    [ "$rc" = 2 ] || fail "--vhdx-unallocated '$v': exit $rc"
    if [ "$(wc -l < err.txt)" != 1 ] || ! grep -q "vhdx-unallocated" err.txt
    then
        fail "--vhdx-unallocated '$v': $(cat err.txt)"
    fi
    [ ! -s out.txt ] || fail "--vhdx-unallocated '$v' printed: $(cat out.txt)"
    [ ! -e bad.vhdx ] || fail "--vhdx-unallocated '$v' wrote bad.vhdx"
done
[ -z "$(find . -name '.vmshift.*')" ] || fail "run files left behind"
echo "ok: bad values refused"
