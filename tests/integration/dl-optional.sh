#!/bin/sh
# The optional libraries are loaded only when a command needs them
# (engine/base/dl.h): '--help', a local conversion and 'info' of a flat
# VMDK load nothing but the C library and libm; a streamOptimized VMDK
# loads zlib and nothing else.  A missing library (simulated with the
# loader's test hook VMSHIFT_TEST_DL_HIDE, which makes it open a name
# that does not exist) gives exit 5 and one line on stderr naming the
# Debian package to install, for every library and the command that
# needs it.
. "$VMSHIFT_TOP/tests/lib/functions.sh"
requires qemu-img readelf
tmpdir
cd "$tmp" || fail "cd $tmp"

# ------------------------------------------------- what gets loaded
for f in "$VMSHIFT" "$VMSHIFT_BUILD/libvmshift.so.0"; do
    needed=$(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' |
             grep -Ev '^(libc\.so\.6|libm\.so\.6|ld-linux-x86-64\.so\.2)$')
    [ -z "$needed" ] || fail "$f links more than libc and libm: $needed"
done

loaded() {   # the shared objects a command opens, one per line
    LD_DEBUG=files "$VMSHIFT" "$@" 2>&1 >/dev/null |
        sed -n 's/^[[:space:]]*[0-9]*:[[:space:]]*file=\([^ ]*\) .*/\1/p' |
        sort -u
}

qemu-img create -q -f vmdk -o subformat=monolithicFlat flat.vmdk 64M ||
    fail "qemu-img create"
head -c 1048576 /dev/urandom > data.raw
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized data.raw \
    stream.vmdk || fail "qemu-img convert"

for cmd in "--help" "convert flat.vmdk flat.vhdx" "info flat.vmdk" \
           "convert --to qcow2 flat.vmdk flat.qcow2"; do
    # shellcheck disable=SC2086 # the command is words
    all=$(loaded $cmd)
    echo "$all" | grep -qx 'libc\.so\.6' ||
        fail "LD_DEBUG=files shows no libc.so.6 for 'vmshift $cmd': $all"
    libs=$(echo "$all" | grep -Ev '^(libc\.so\.6|libm\.so\.6)$')
    [ -z "$libs" ] || fail "'vmshift $cmd' loads $(echo "$libs" | tr '\n' ' ')"
done
if [ ! -f flat.vhdx ] || [ ! -f flat.qcow2 ]; then
    fail "the conversions made nothing"
fi
libs=$(loaded info stream.vmdk | grep -Ev '^(libc\.so\.6|libm\.so\.6)$')
[ "$libs" = libz.so.1 ] || fail "'info stream.vmdk' loads '$libs', not only libz.so.1"

# -------------------------------------------------- missing libraries
printf 'secret' > pw
chmod 600 pw
cat > cfg.json <<JSON
{"profiles": {"p": {"cluster": "https://127.0.0.1:9", "username": "u",
  "password_file": "$tmp/pw", "svm": "s",
  "nfs": {"server": "127.0.0.1", "version": 3}}}}
JSON
printf '<?xml version="1.0"?><Envelope/>\n' > vm.ovf

n=0
missing() {   # SONAME PACKAGE ARGS...
    so=$1 pkg=$2
    shift 2
    VMSHIFT_TEST_DL_HIDE="x.so.1 $so" "$VMSHIFT" "$@" > out 2> err
    rc=$?
    [ "$rc" -eq 5 ] || fail "without $so, 'vmshift $*' exited $rc, not 5: $(cat err)"
    [ "$(wc -l < err)" -eq 1 ] || fail "without $so: not one line: $(cat err)"
    grep -q "$pkg is not installed .*apt-get install $pkg\$" err ||
        fail "without $so, the message does not name $pkg: $(cat err)"
    n=$((n + 1))
}
ontap="--config cfg.json convert ontap://p/v/a.vmdk ontap://p/v/b.vhdx"
# shellcheck disable=SC2086 # $ontap is words
{
    missing libcjson.so.1 libcjson1 $ontap
    missing libcurl.so.4 libcurl4 $ontap
    missing libssl.so.3 libssl3 $ontap
    missing libcrypto.so.3 libssl3 $ontap
}
missing libnfs.so.13 libnfs13 info nfs://127.0.0.1/export/a.vmdk
missing libz.so.1 zlib1g convert stream.vmdk stream.raw
[ ! -e stream.raw ] || fail "a failed conversion left stream.raw"
missing libxml2.so.2 libxml2 inspect vm.ovf
missing libcjson.so.1 libcjson1 guest-scripts --os linux --out g \
    --network-map "$VMSHIFT_TOP/tests/data/guest/map-full.json"
[ ! -e g ] || fail "a failed guest-scripts left g/"

# the same commands work when nothing is hidden
"$VMSHIFT" convert stream.vmdk stream.raw > /dev/null ||
    fail "convert stream.vmdk failed with zlib present"
cmp -n 1048576 stream.raw data.raw || fail "stream.raw differs from data.raw"
echo "$n missing-library cases, each one line and exit 5"
