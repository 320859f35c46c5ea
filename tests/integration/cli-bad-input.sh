#!/bin/sh
# Bad input through the command line: truncated, corrupt and hostile
# images (made by qemu-img, then damaged), hostile descriptors (extents
# '../x', an absolute path outside (a canary file), symlinks leaving the directory, absurd sizes),
# a qcow2 whose data file lies outside its directory, garbage, empty
# files, directories, FIFOs, missing files, unwritable or full target
# directories and bad option values, for convert, info, verify, inspect,
# define and guest-scripts.  Each must exit with the documented status
# (tools/vmshift/cli.h), print exactly one line on stderr naming the file
# and the problem, crash nowhere (with the ASan build: no sanitizer
# report), and leave no target and no temporary behind; the sources'
# checksums are unchanged at the end.
. "$VMSHIFT_TOP/tests/lib/functions.sh"
requires qemu-img qemu-io md5sum perl
tmpdir
cd "$tmp" || fail "cd $tmp"
mkdir src out

# ------------------------------------------------------------ helpers
n_checks=0

# No output or temporary anywhere in the work tree but the sources.
no_leftovers() {   # what
    left=$(find out -mindepth 1 2>/dev/null; find . -name '.vmshift.*')
    [ -z "$left" ] || fail "$1 left files behind: $left"
}

sanitizer_check() {   # what
    if grep -Eq 'Sanitizer|runtime error:' stderr; then
        fail "sanitizer report for $1: $(cat stderr)"
    fi
}

# bad CODE NAME ARGS...: vmshift ARGS exits CODE with one line on stderr
# that contains NAME (the file the problem is about).
bad() {
    want=$1 name=$2
    shift 2
    "$VMSHIFT" "$@" > stdout 2> stderr
    rc=$?
    sanitizer_check "vmshift $*"
    [ "$rc" -eq "$want" ] ||
        fail "'vmshift $*' exited $rc, expected $want: $(cat stderr)"
    [ "$(wc -l < stderr)" -eq 1 ] ||
        fail "'vmshift $*': stderr is not one line: $(cat stderr)"
    grep -qF -- "$name" stderr ||
        fail "'vmshift $*': the message does not name '$name': $(cat stderr)"
    # the problem, not just the name: something after the name's quote
    [ "$(wc -c < stderr)" -gt $((${#name} + 30)) ] ||
        fail "'vmshift $*': message too short to say the problem: $(cat stderr)"
    no_leftovers "'vmshift $*'"
    n_checks=$((n_checks + 1))
}

# info reports a corrupt image either as an error (3, one line naming it)
# or as problems found (1, stderr empty, the problems on stdout).
bad_info() {   # FILE
    "$VMSHIFT" info "$1" > stdout 2> stderr
    rc=$?
    sanitizer_check "vmshift info $1"
    case $rc in
        3) if [ "$(wc -l < stderr)" -ne 1 ] || ! grep -qF -- "$1" stderr; then
               fail "info $1: bad error: $(cat stderr)"
           fi ;;
        1) [ ! -s stderr ] || fail "info $1: stderr with problems: $(cat stderr)"
           if ! grep -q '^problems: *[1-9]' stdout || ! grep -q '^  - ' stdout; then
               fail "info $1: exit 1 without problems listed: $(cat stdout)"
           fi ;;
        *) fail "info $1 exited $rc (expected 1 or 3): $(cat stdout stderr)" ;;
    esac
    n_checks=$((n_checks + 1))
}

# Every way a source can be bad: convert (two target formats), info and
# verify (either side) must all refuse it.
bad_source() {   # FILE [CODE]
    bad "${2:-3}" "$1" convert "$1" out/t.vhdx
    bad "${2:-3}" "$1" convert "$1" out/t.qcow2
    bad_info "$1"
    bad "${2:-3}" "$1" verify "$1" src/good.raw
    bad "${2:-3}" "$1" verify src/good.raw "$1"
}

flip() {   # FILE OFFSET: set the byte at OFFSET to 0xff
    printf '\377' | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# ------------------------------------------------------------ sources
# Small images with data at a few places, made by qemu-img.
qemu-img create -q -f raw src/good.raw 8M
qemu-io -f raw -c 'write -P 0x11 0 1M' -c 'write -P 0x22 5M 512k' src/good.raw >/dev/null
qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse src/good.raw src/sparse.vmdk
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized src/good.raw src/stream.vmdk
qemu-img convert -f raw -O vmdk -o subformat=monolithicFlat src/good.raw src/flat.vmdk
qemu-img convert -f raw -O vhdx src/good.raw src/good.vhdx
qemu-img convert -f raw -O qcow2 -o cluster_size=65536 src/good.raw src/good.qcow2
# the good images convert (so the failures below are about the damage)
for f in sparse.vmdk stream.vmdk flat.vmdk good.vhdx good.qcow2; do
    "$VMSHIFT" convert "src/$f" out/ok.raw > /dev/null 2>&1 ||
        fail "the undamaged src/$f does not convert"
    rm -f out/ok.raw
done

mkdir bad
# truncated at several offsets: inside the first header, between the
# headers and the tables, inside the tables and inside the data
for f in sparse.vmdk stream.vmdk good.vhdx good.qcow2; do
    size=$(stat -c %s "src/$f")
    for off in 100 511 512 4096 65536 200000 1048576 1048577 3145728 \
               $((size / 2)) $((size - 65536)); do
        if [ "$off" -le 0 ] || [ "$off" -ge "$size" ]; then
            continue
        fi
        head -c "$off" "src/$f" > "bad/trunc-$off-$f"
    done
done
# header fields set to 0xff: version, flags, capacity, grain size,
# descriptor and grain directory offsets (VMDK); version, cluster bits,
# size, encryption, L1 size and offset, refcount table, incompatible
# features, header length (qcow2); both VHDX headers, both region
# tables, the BAT and the metadata region
for o in 4 8 11 19 20 27 28 36 44 56; do
    cp src/sparse.vmdk "bad/flip-$o-sparse.vmdk"; flip "bad/flip-$o-sparse.vmdk" "$o"
done
for o in 4 7 20 23 24 35 47 55 79 103; do
    cp src/good.qcow2 "bad/flip-$o-good.qcow2"; flip "bad/flip-$o-good.qcow2" "$o"
done
cp src/good.vhdx bad/flip-headers.vhdx
flip bad/flip-headers.vhdx $((64 * 1024 + 80))
flip bad/flip-headers.vhdx $((128 * 1024 + 80))
cp src/good.vhdx bad/flip-regions.vhdx
flip bad/flip-regions.vhdx $((192 * 1024 + 20))
flip bad/flip-regions.vhdx $((256 * 1024 + 20))
# garbage behind each format's magic, pure garbage, an empty file
for m in 'KDMV' 'QFI\373' 'vhdxfile' '# Disk DescriptorFile\n'; do
    k=$((${k:-0} + 1))
    { printf '%b' "$m"; head -c 70000 /dev/urandom; } > "bad/garbage-$k.img"
done
# pure garbage is a raw image to convert (as to qemu-img): it is bad
# input only to the other parsers, and to targets that need whole sectors
mkdir junk
head -c 100001 /dev/urandom > junk/garbage.bin
: > bad/empty.vmdk

# not a file at all
mkdir bad/dir.vmdk
mkfifo bad/fifo.vmdk

# ------------------------------------------------- hostile descriptors
# A canary outside the test directory stands in for a system file: tests
# never aim anything at real system files, so a bug (or a tool used to
# build an image) cannot damage the machine.  11 bytes, like /etc/passwd.
canary=$(mktemp /tmp/XXXXXX)
cleanup_fn rm -f "$canary"
printf 'canary secret\n' > "$canary"
[ ${#canary} -eq 11 ] || skip "mktemp made '$canary', not an 11-byte name"
mkdir -p h/vm
cp src/flat-flat.vmdk h/outside-flat.vmdk
cp src/flat-flat.vmdk h/vm/flat-flat.vmdk
desc() {   # NAME EXTENT-LINE: a monolithicFlat descriptor in h/vm
    sed "s|^RW .*|$2|" src/flat.vmdk > "h/vm/$1"
}
desc up.vmdk 'RW 16384 FLAT "../outside-flat.vmdk" 0'
desc abs.vmdk "RW 16384 FLAT \"$canary\" 0"
ln -s ../outside-flat.vmdk h/vm/link-flat.vmdk
desc link.vmdk 'RW 16384 FLAT "link-flat.vmdk" 0'
ln -s "$canary" h/vm/passwd-flat.vmdk
desc linkpw.vmdk 'RW 16384 FLAT "passwd-flat.vmdk" 0'
desc huge.vmdk 'RW 99999999999999999999999 FLAT "flat-flat.vmdk" 0'
desc toobig.vmdk 'RW 137438953472 FLAT "flat-flat.vmdk" 0'
desc short.vmdk 'RW 4294967296 FLAT "flat-flat.vmdk" 0'
desc offset.vmdk 'RW 16384 FLAT "flat-flat.vmdk" 18446744073709551615'
mkdir h/vm/dir-flat.vmdk
desc dirext.vmdk 'RW 16384 FLAT "dir-flat.vmdk" 0'
mkfifo h/vm/fifo-flat.vmdk
desc fifoext.vmdk 'RW 16384 FLAT "fifo-flat.vmdk" 0'
desc missing.vmdk 'RW 16384 FLAT "missing-flat.vmdk" 0'

# qcow2 data files outside the image's directory: an absolute path next
# to it, and one patched to the canary (same length as a /tmp/XXXXXX
# name, so the header stays consistent).  qemu-img never sees the
# patched name: it would open (and touch) the file.
qemu-img create -q -f qcow2 -o "data_file=$tmp/h/outside.raw" h/vm/datafile.qcow2 8M
dtmp=$(mktemp /tmp/XXXXXX)
cleanup_fn rm -f "$dtmp"
[ ${#dtmp} -eq 11 ] || skip "mktemp made '$dtmp', not an 11-byte name"
qemu-img create -q -f qcow2 -o "data_file=$dtmp" h/vm/passwd.qcow2 8M
perl -0777 -pi -e "s|\\Q$dtmp\\E|$canary|" h/vm/passwd.qcow2
grep -q "$canary" h/vm/passwd.qcow2 || fail "could not patch the data file name"
rm -f "$dtmp"

cat > src/web.vmx <<'VMX'
displayName = "web01"
guestOS = "rhel8-64"
memsize = "2048"
numvcpus = "2"
scsi0.present = "TRUE"
scsi0:0.present = "TRUE"
scsi0:0.fileName = "../h/vm/up.vmdk"
scsi0:1.present = "TRUE"
scsi0:1.fileName = "CANARY"
ethernet0.present = "TRUE"
ethernet0.networkName = "VM Network"
VMX
sed -i "s|CANARY|$canary|" src/web.vmx
printf '{"networks": {"VM Network": "br0"}}\n' > src/map.json
printf '{"networks": {"VM Network": "br0"' > bad/trunc.json

# Checksums of every source file, compared at the end.
sums() {
    find src bad h junk -type f -print0 | sort -z | xargs -0 md5sum
}
sums > sums.before

# ------------------------------------------------------ bad sources
for f in bad/*; do
    case $f in *.json) continue ;; esac
    bad_source "$f"
done
bad_source bad/missing.vmdk
bad 3 junk/garbage.bin convert junk/garbage.bin out/t.vhdx
bad 3 junk/garbage.bin convert junk/garbage.bin out/t.vmdk
for d in up abs link linkpw huge toobig short offset dirext fifoext missing; do
    bad_source "h/vm/$d.vmdk"
done
bad_source h/vm/datafile.qcow2
bad_source h/vm/passwd.qcow2

# ---------------------------------------------------------- targets
# the target is the source, or one of its files
bad 3 src/flat-flat.vmdk convert --to raw --force src/flat.vmdk src/flat-flat.vmdk
bad 3 src/good.raw convert --to raw --force src/good.raw src/good.raw
# a VMDK onto itself names the descriptor given, not the extent it would write
bad 3 "target 'src/flat.vmdk' is the source" convert --force src/flat.vmdk src/flat.vmdk
# an existing target; a device node, FIFO or directory even with --force
mkdir pre
echo "not replaced" > pre/exists.vhdx
bad 4 pre/exists.vhdx convert src/good.raw pre/exists.vhdx
[ "$(cat pre/exists.vhdx)" = "not replaced" ] || fail "an existing target was replaced"
[ -z "$(find pre -name '*.tmp')" ] || fail "temporaries left in pre/"
mkfifo out/fifo.raw
"$VMSHIFT" convert --force src/good.raw out/fifo.raw > stdout 2> stderr
rc=$?
[ -p out/fifo.raw ] || fail "--force replaced a FIFO"
if [ "$rc" -ne 4 ] || [ "$(wc -l < stderr)" -ne 1 ]; then
    fail "convert over a FIFO: exit $rc: $(cat stderr)"
fi
rm out/fifo.raw
if mknod out/null.raw c 1 3 2>/dev/null; then
    "$VMSHIFT" convert --force src/good.raw out/null.raw > stdout 2> stderr
    rc=$?
    [ -c out/null.raw ] || fail "--force replaced a device node"
    if [ "$rc" -ne 4 ] || [ "$(wc -l < stderr)" -ne 1 ]; then
        fail "convert over a device node: exit $rc: $(cat stderr)"
    fi
    rm out/null.raw
fi
mkdir out/dir.raw
"$VMSHIFT" convert --force src/good.raw out/dir.raw > stdout 2> stderr
rc=$?
if [ "$rc" -ne 4 ] || [ "$(wc -l < stderr)" -ne 1 ] || [ ! -d out/dir.raw ]; then
    fail "convert over a directory: exit $rc: $(cat stderr)"
fi
rmdir out/dir.raw
# missing or non-directory target directories
bad 4 out/no/such/t.vhdx convert src/good.raw out/no/such/t.vhdx
bad 4 src/good.raw/t.vhdx convert src/sparse.vmdk src/good.raw/t.vhdx
# a read-only and a full filesystem (root only: bind mount, tmpfs)
if [ "$(id -u)" = 0 ] && mkdir ro full && mount --bind ro ro 2>/dev/null; then
    cleanup_fn umount "$tmp/ro"
    if mount -o remount,bind,ro ro 2>/dev/null; then
        for t in t.vhdx t.qcow2 t.raw t.vmdk; do
            bad 4 "ro/$t" convert src/sparse.vmdk "ro/$t"
        done
        bad 4 ro/x.xml define -t libvirt -n src/map.json -o ro/x.xml src/web.vmx
        bad 4 "'ro" guest-scripts --os linux --out ro
        [ -z "$(ls -A ro)" ] || fail "files in the read-only directory"
    fi
    if mount -t tmpfs -o size=1m tmpfs full 2>/dev/null; then
        cleanup_fn umount "$tmp/full"
        for t in t.vhdx t.qcow2 t.raw t.vmdk; do
            bad 4 "full/$t" convert src/sparse.vmdk "full/$t"
            [ -z "$(ls -A full)" ] || fail "a full filesystem kept $(ls -A full)"
        done
    fi
else
    echo "NOTE: not root or no mount: read-only and full target directories not tried"
fi

# stdout that cannot be written: the report is lost, so not exit 0
if [ -w /dev/full ]; then
    for cmd in "info src/good.qcow2" "verify src/good.raw src/good.vhdx" \
               "-q convert src/good.raw out/full.raw" "inspect src/web.vmx"; do
        # shellcheck disable=SC2086 # words
        "$VMSHIFT" $cmd > /dev/full 2> stderr
        rc=$?
        if [ "$rc" -ne 5 ] || [ "$(wc -l < stderr)" -ne 1 ]; then
            fail "'vmshift $cmd > /dev/full' exited $rc: $(cat stderr)"
        fi
        sanitizer_check "vmshift $cmd > /dev/full"
    done
    rm -f out/full.raw
fi

# ---------------------------------------------------- bad option values
bad 2 "--block-size" convert --block-size 3M src/good.raw out/t.vhdx
bad 2 "--block-size" convert --block-size abc src/good.raw out/t.vhdx
bad 2 "--cluster-size" convert --cluster-size 1K src/good.raw out/t.qcow2
bad 2 "vhdx:sparse" bench --formats raw,vhdx:sparse --dir out
bad 2 "--cluster-size" convert --cluster-size 99999999999999999999 src/good.raw out/t.qcow2
bad 2 "--parallel" convert --parallel 5x src/good.raw out/t.vhdx
# one target twice in one call (also spelt differently): usage error
# before anything starts (two conversions would race for the name)
bad 2 "given twice" convert src/good.raw out/t.raw src/good.raw ./out/t.raw
bad 2 "given twice" convert src/good.raw out/t.raw src/sparse.vmdk out//t.raw
bad 2 "xyz" convert --to xyz src/good.raw out/t.vhdx
bad 2 "--bogus" convert --bogus src/good.raw out/t.vhdx
bad 2 "--to" convert src/good.raw out/t.vhdx --to
bad 2 "pairs" convert src/good.raw
bad 3 "out/t.xyz" convert src/good.raw out/t.xyz
bad 2 "--frob" info --frob src/good.raw
bad 2 "FILE" info src/good.raw src/good.raw
bad 2 "--nope" verify --nope src/good.raw src/good.raw
bad 2 "SOURCE" verify src/good.raw
bad 2 "--zz" inspect --zz x.vmx
bad 2 "--target" define x.vmx --target
bad 2 "vmware" define -t vmware x.vmx
bad 2 "--vmid" define -t proxmox --vmid -1 x.vmx
bad 2 "bsd" guest-scripts --os bsd --out out/g
bad 2 "--bogus" guest-scripts --os linux --out out/g --bogus
bad 2 "--frob" --frob info src/good.raw
# a newline in an argument cannot make a second line
bad 2 "'3?x'" convert --block-size "$(printf '3\nx')" src/good.raw out/t.vhdx

# ------------------------------------- inspect, define, guest-scripts
# hostile disk names are described, never opened (no size read)
"$VMSHIFT" inspect --json src/web.vmx > stdout 2> stderr ||
    fail "inspect of a .vmx with hostile disk names: $(cat stderr)"
grep -q '"capacity": *[1-9]' stdout && fail "a disk outside the VM's folder was read"
for f in junk/garbage.bin bad/garbage-1.img bad/empty.vmdk bad/dir.vmdk \
         bad/fifo.vmdk bad/missing.vmdk; do
    bad 3 "$f" inspect "$f"
    bad 3 "$f" define -t libvirt -n src/map.json "$f"
    bad 3 "$f" define -t libvirt -n "$f" src/web.vmx
    bad 3 "$f" guest-scripts --os linux --out out/g --network-map "$f"
    bad 3 "$f" guest-scripts --os linux --out out/g --mode script --script "$f"
done
bad 3 bad/trunc.json define -t libvirt -n bad/trunc.json src/web.vmx
bad 3 bad/trunc.json guest-scripts --os windows --out out/g --network-map bad/trunc.json
bad 4 src/web.vmx guest-scripts --os linux --out src/web.vmx/g
bad 4 src/map.json define -t libvirt -n src/map.json -o src/map.json src/web.vmx

# ---------------------------------------------- the sources are intact
sums > sums.after
cmp -s sums.before sums.after || fail "a source changed: $(diff sums.before sums.after)"
[ "$(cat "$canary")" = "canary secret" ] || fail "the canary outside the directory changed"
echo "$n_checks bad-input checks passed"
exit 0
