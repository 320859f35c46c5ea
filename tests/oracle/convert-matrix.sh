#!/bin/sh
# Every source subformat qemu-img can write (plus an ESXi-style vmfs
# descriptor) x every target format, through the whole engine on a
# loop-mounted reflink XFS, judged by tools others wrote: qemu-img check,
# compare (+ virtual size), info; vhdiinfo/vhdimount for VHDX and VHD,
# qcowinfo for QCOW2, vmdkinfo for VMDK, qemu-img check for VDI; and by
# vmshift's own validator.
# Flat sources must be shared block for block (FIEMAP) with nothing
# copied.  VHD targets are rounded up to a whole MiB (Azure): the size
# must be exactly that, the tail zeros, and the result must say so.
. "$VMSHIFT_TOP/tests/lib/functions.sh"
requires qemu-img qemu-io jq filefrag vhdiinfo qcowinfo vmdkinfo
need_xfs
TARGETS=${MATRIX_TARGETS:-vhdx qcow2 raw vmdk vhd vdi}
cd "$scratch" || fail "cd"

# random data at a few places, holes elsewhere; $1 file, $2 size in MiB
fill() {
    for off in 0 3 17 $(($2 / 2)) $(($2 - 2)); do
        [ "$off" -lt "$2" ] || continue
        qemu-io -f "$3" -c "write -P $(( (off * 37) % 251 + 1 )) ${off}M 1M" "$1" >/dev/null ||
            fail "qemu-io write to $1"
    done
    # and one unaligned 3-sector pattern to catch misplaced sectors
    qemu-io -f "$3" -c "write -P 0x5a 5121k 1536" "$1" >/dev/null
}

# qemu's name for a format
qfmt() {
    case $1 in
        vhd) echo vpc ;;
        *) echo "$1" ;;
    esac
}

# VHD: rounded up to a whole MiB; qemu-img compare passes a zero tail
check_rounded() {   # src fmt dst res.json
    qemu-img compare -q -f "$2" -F vpc "$1" "$3" ||
        fail "qemu-img compare says $1 and $3 differ"
    sa=$(qemu-img info -f "$2" --output=json "$1" | jq '.["virtual-size"]')
    sb=$(qemu-img info -f vpc --output=json "$3" | jq '.["virtual-size"]')
    want=$(( (sa + 1048575) / 1048576 * 1048576 ))
    [ "$sb" = "$want" ] || fail "$3: virtual size $sb, expected $want"
    [ "$(jq .target_virtual_size "$4")" = "$want" ] ||
        fail "$3: target_virtual_size is not $want: $(cat "$4")"
    if [ "$sa" != "$want" ]; then
        jq -r .size_note "$4" | grep -q "rounded up from $sa to $want" ||
            fail "$3: the result does not say the size was rounded: $(cat "$4")"
    fi
}

check_target() {   # src fmt dst dfmt [res.json]
    case $4 in
        vhdx|qcow2|vdi)
            qemu-img check -q -f "$4" "$3" || fail "qemu-img check $3" ;;
    esac
    if [ "$4" = vhd ]; then
        check_rounded "$1" "$2" "$3" "${5:-res.json}"
    else
        compare_images "$2" "$1" "$4" "$3"
    fi
    "$VMSHIFT" info "$3" > info.txt || fail "vmshift info found problems in $3: $(cat info.txt)"
    case $4 in
        vhdx|vhd)
            vhdiinfo "$3" > vi.txt 2>&1 || fail "vhdiinfo rejects $3"
            vs=$(qemu-img info -f "$(qfmt "$4")" --output=json "$3" | jq '.["virtual-size"]')
            grep -q "$vs bytes" vi.txt || fail "vhdiinfo media size differs: $(cat vi.txt)" ;;
        qcow2)
            qcowinfo "$3" > qi.txt 2>&1 || fail "qcowinfo rejects $3: $(cat qi.txt)" ;;
        vmdk)
            vmdkinfo "$3" > mi.txt 2>&1 || fail "vmdkinfo rejects $3: $(cat mi.txt)" ;;
    esac
}

n=0
for sub in monolithicFlat monolithicSparse twoGbMaxExtentFlat twoGbMaxExtentSparse streamOptimized; do
    for size in 70 64; do
        src=src-$sub-$size.vmdk
        if [ "$sub" = streamOptimized ]; then
            # streamOptimized is written by conversion only
            qemu-img create -q -f raw tmp.raw "${size}M"
            fill tmp.raw "$size" raw
            qemu-img convert -f raw -O vmdk -o subformat=streamOptimized tmp.raw "$src" ||
                fail "qemu-img convert to $sub"
            rm -f tmp.raw
        else
            qemu-img create -q -f vmdk -o subformat=$sub "$src" "${size}M" || fail "create $sub"
            fill "$src" "$size" vmdk
        fi
        for to in $TARGETS; do
            dst=out-$sub-$size.$to
            "$VMSHIFT" convert --json "$src" "$dst" > res.json || fail "convert $src -> $to"
            check_target "$src" vmdk "$dst" "$to"
            case $sub in
                monolithicFlat|twoGbMaxExtentFlat)
                    [ "$(jq .bytes_copied res.json)" = 0 ] ||
                        fail "$src -> $to copied $(jq .bytes_copied res.json) bytes"
                    main=$dst
                    [ "$to" = vmdk ] && main=${dst%.vmdk}-flat.vmdk
                    filefrag -v "$main" | grep -q shared || fail "$dst: no shared extents" ;;
            esac
            n=$((n + 1))
        done
        for fx in vhd vdi; do
            case " $TARGETS " in *" $fx "*) ;; *) continue ;; esac
            # fixed VHD (what Azure takes: the data plus one 512-byte
            # footer) and fixed VDI (every block allocated, in order)
            dst=out-$sub-$size-fixed.$fx
            "$VMSHIFT" convert --fixed --json "$src" "$dst" > res.json ||
                fail "convert --fixed $src -> $fx"
            check_target "$src" vmdk "$dst" "$fx"
            "$VMSHIFT" info "$dst" | grep -q 'subformat: *fixed' ||
                fail "$dst is not fixed: $("$VMSHIFT" info "$dst")"
            if [ "$fx" = vhd ]; then
                grep -q 'Disk type.*: Fixed' vi.txt || fail "$dst is not fixed: $(cat vi.txt)"
            fi
            case $sub in
                monolithicFlat|twoGbMaxExtentFlat)
                    [ "$(jq .bytes_copied res.json)" = 0 ] || fail "$dst copied data"
                    if [ "$fx" = vhd ] && [ "$(jq .bytes_metadata res.json)" != 512 ]; then
                        fail "$dst: $(jq .bytes_metadata res.json) metadata bytes, not 512"
                    fi
                    filefrag -v "$dst" | grep -q shared || fail "$dst: no shared extents" ;;
            esac
            n=$((n + 1))
        done
    done
done

# ESXi-style thin vmfs disk: descriptor + sparse -flat, 1 GiB + 4 KiB
truncate -s $((1024 * 1048576 + 4096)) esx-flat.vmdk
dd if=/dev/urandom of=esx-flat.vmdk bs=1M seek=100 count=8 conv=notrunc status=none
printf '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="vmfs"\n\n# Extent description\nRW %d VMFS "esx-flat.vmdk"\n\n# The Disk Data Base\n#DDB\n\nddb.adapterType = "lsilogic"\nddb.thinProvisioned = "1"\nddb.uuid = "60 00 C2 9f 9a b0 9b 9c-13 55 b8 11 fd 2c 92 9b"\n' \
    $(( (1024 * 1048576 + 4096) / 512 )) > esx.vmdk
for to in $TARGETS; do
    "$VMSHIFT" convert --json esx.vmdk "esx-out.$to" > res.json || fail "convert esx.vmdk -> $to"
    check_target esx.vmdk vmdk "esx-out.$to" "$to"
    [ "$(jq .bytes_copied res.json)" = 0 ] || fail "esx -> $to copied data"
    n=$((n + 1))
done

# round trips
if ! "$VMSHIFT" convert esx.vmdk rt.vhdx >/dev/null ||
   ! "$VMSHIFT" convert rt.vhdx rt.vmdk >/dev/null; then
    fail "VMDK -> VHDX -> VMDK"
fi
compare_images vmdk esx.vmdk vmdk rt.vmdk
if ! "$VMSHIFT" convert esx.vmdk rt.qcow2 >/dev/null ||
   ! "$VMSHIFT" convert rt.qcow2 rt.raw >/dev/null; then
    fail "VMDK -> QCOW2 -> RAW"
fi
compare_images vmdk esx.vmdk raw rt.raw
cmp esx-flat.vmdk rt.raw || fail "VMDK -> QCOW2 -> RAW is not byte-identical to the flat extent"
case " $TARGETS " in
    *" vhd "*)
        # VMDK -> VHD (dynamic) -> QCOW2 and VMDK -> VHD (fixed) -> VHDX -> RAW,
        # on a whole-MiB disk so the sizes stay equal
        s64="src-monolithicFlat-64.vmdk"
        if ! "$VMSHIFT" convert "$s64" rt.vhd >/dev/null 2>&1 ||
           ! "$VMSHIFT" convert rt.vhd rt2.qcow2 >/dev/null 2>&1; then
            fail "VMDK -> VHD -> QCOW2"
        fi
        compare_images vmdk "$s64" qcow2 rt2.qcow2
        if ! "$VMSHIFT" convert --fixed "$s64" rtf.vhd >/dev/null 2>&1 ||
           ! "$VMSHIFT" convert rtf.vhd rtf.vhdx >/dev/null 2>&1 ||
           ! "$VMSHIFT" convert rtf.vhdx rtf.raw >/dev/null 2>&1; then
            fail "VMDK -> fixed VHD -> VHDX -> RAW"
        fi
        compare_images vmdk "$s64" raw rtf.raw
        cmp src-monolithicFlat-64-flat.vmdk rtf.raw ||
            fail "VMDK -> fixed VHD -> VHDX -> RAW is not byte-identical" ;;
esac
case " $TARGETS " in
    *" vdi "*)
        # VMDK -> VDI (dynamic) -> VHDX -> fixed VDI -> RAW
        if ! "$VMSHIFT" convert esx.vmdk rt.vdi >/dev/null 2>&1 ||
           ! "$VMSHIFT" convert rt.vdi rt3.vhdx >/dev/null 2>&1 ||
           ! "$VMSHIFT" convert --fixed rt3.vhdx rtf.vdi >/dev/null 2>&1 ||
           ! "$VMSHIFT" convert rtf.vdi rt3.raw >/dev/null 2>&1; then
            fail "VMDK -> VDI -> VHDX -> fixed VDI -> RAW"
        fi
        compare_images vmdk esx.vmdk vdi rt.vdi
        compare_images vmdk esx.vmdk vdi rtf.vdi
        cmp esx-flat.vmdk rt3.raw ||
            fail "VMDK -> VDI -> VHDX -> fixed VDI -> RAW is not byte-identical" ;;
esac
echo "$n conversions checked, round trips identical"
