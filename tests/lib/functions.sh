# Sourced by tests/oracle/*.sh and tests/integration/*.sh.
#
#   requires CMD...        skip (77) unless every command exists
#   skip "reason"          print "SKIP: reason" and exit 77
#   fail "message"         print "FAIL: message" and exit 1
#   cleanup_fn CMD...      run CMD at exit (LIFO)
#   need_xfs               cd-able scratch dir on the shared reflink XFS in
#                          $scratch, or skip with the reason
#   need_corpus [SUBDIR]   $corpus set, or skip when ../shared/corpus is absent
#   tmpdir                 $tmp: a fresh directory removed at exit
#   wait_until TENTHS WHAT CMD...   run CMD every 0.1 s until it succeeds;
#                          fail "WHAT: timed out" after TENTHS tries
#   make_vmdk DIR NAME MIB monolithicFlat VMDK with random data and holes
#   write_vmx [OPTS] FILE NAME DISK...   a .vmx for VM NAME with DISK.vmdk
#                          on scsi0:0, scsi0:1, ...
#   make_vm [-f SUBFORMAT] [OPTS] DIR NAME MIB...   VM NAME in DIR/NAME:
#                          disks NAME.vmdk, NAME_1.vmdk, ... and NAME.vmx
#   tree_sha DIR           one SHA-256 over every file below DIR
#   flat_sums DIR          md5sum lines of every *-flat.vmdk below DIR
# The test's name ($0) is used for scratch names.

set -u
: "${VMSHIFT_TOP:?run through tests/run-tests.sh or make check}"
VMSHIFT_BUILD=${VMSHIFT_BUILD:-$VMSHIFT_TOP/build}
VMSHIFT=${VMSHIFT:-$VMSHIFT_BUILD/vmshift}
test_name=$(basename "$0" .sh)
_cleanups=""

_run_cleanups() {
    printf '%s\n' "$_cleanups" | while IFS= read -r _c; do
        [ -n "$_c" ] && eval "$_c" >/dev/null 2>&1
    done
    return 0
}
trap _run_cleanups EXIT
trap 'exit 130' INT TERM

_shquote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

cleanup_fn() {   # runs at exit, most recent first; arguments keep their quoting
    _c=""
    for _a in "$@"; do
        _c="$_c $(_shquote "$_a")"
    done
    _cleanups="$_c
$_cleanups"
}

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

requires() {
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || skip "$c is not installed"
    done
}

tmpdir() {
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmshift-$test_name.XXXXXX")
    cleanup_fn rm -rf "$tmp"
}

wait_until() {   # TENTHS WHAT COMMAND...
    _wu_n=$1 _wu_w=$2
    shift 2
    _wu_i=0
    until "$@"; do
        _wu_i=$((_wu_i + 1))
        [ "$_wu_i" -lt "$_wu_n" ] || fail "$_wu_w: timed out"
        sleep 0.1
    done
}

need_xfs() {
    if [ -z "${VMSHIFT_TEST_XFS:-}" ]; then
        skip "${VMSHIFT_TEST_XFS_SKIP:-no reflink scratch filesystem (run as root through make check)}"
    fi
    scratch=$(mktemp -d "$VMSHIFT_TEST_XFS/$test_name.XXXXXX")
    cleanup_fn rm -rf "$scratch"
}

need_corpus() {
    corpus=${VMSHIFT_CORPUS:-$VMSHIFT_TOP/../shared/corpus}
    if [ ! -d "$corpus/${1:-}" ]; then
        skip "corpus folder $corpus/${1:-} is absent"
    fi
}

# qemu-img compare plus the explicit virtual-size equality that compare
# itself does not enforce (docs/testing.md).
compare_images() {   # fmtA A fmtB B
    qemu-img compare -q -f "$1" -F "$3" "$2" "$4" ||
        fail "qemu-img compare says $2 and $4 differ"
    sa=$(qemu-img info -f "$1" --output=json "$2" | jq '.["virtual-size"]')
    sb=$(qemu-img info -f "$3" --output=json "$4" | jq '.["virtual-size"]')
    [ "$sa" = "$sb" ] || fail "virtual sizes differ: $sa ($2) vs $sb ($4)"
}

# Random data with holes: random_disk FILE SIZE_MIB writes 1 MiB of random
# bytes in every third MiB, leaving the rest sparse.
random_disk() {
    truncate -s "${2}M" "$1"
    i=0
    while [ "$i" -lt "$2" ]; do
        dd if=/dev/urandom of="$1" bs=1M seek="$i" count=1 conv=notrunc status=none
        i=$((i + 3))
    done
}

# A monolithicFlat VMDK: make_vmdk DIR NAME SIZE_MIB makes DIR (if need be),
# DIR/NAME.vmdk and DIR/NAME-flat.vmdk with random data and holes.
make_vmdk() {
    mkdir -p "$1"
    qemu-img create -q -f vmdk -o subformat=monolithicFlat "$1/$2.vmdk" "${3}M" ||
        fail "qemu-img create"
    random_disk "$1/$2-flat.vmdk" "$3"
}

# The options of write_vmx and make_vm, in the order their lines come in
# the .vmx:
#   -h        the .encoding, config.version and virtualHW.version header
#   -m MIB    memsize (default 512)
#   -p        scsi0.virtualDev = "pvscsi"
#   -n DEV    ethernet0.virtualDev = DEV; "-n none": no NIC (default: a
#             NIC on "VM Network" with no virtualDev line)
# More lines can be appended to the file (>>).
# _vmx_opts sets _vx_* and _vx_n, the number of words to shift.
_vmx_opts() {
    _vx_h='' _vx_m=512 _vx_p='' _vx_d='' _vx_f=monolithicFlat _vx_n=0
    while [ $# -gt 0 ]; do
        case $1 in
            -h) _vx_h=1; _vx_n=$((_vx_n + 1)); shift ;;
            -p) _vx_p=1; _vx_n=$((_vx_n + 1)); shift ;;
            -m) _vx_m=$2; _vx_n=$((_vx_n + 2)); shift 2 ;;
            -n) _vx_d=$2; _vx_n=$((_vx_n + 2)); shift 2 ;;
            -f) _vx_f=$2; _vx_n=$((_vx_n + 2)); shift 2 ;;
            *) break ;;
        esac
    done
}

_vmx_write() {   # FILE NAME DISK...
    _vx_file=$1 _vx_vm=$2
    shift 2
    {
        [ -z "$_vx_h" ] ||
            printf '.encoding = "UTF-8"\nconfig.version = "8"\nvirtualHW.version = "14"\n'
        printf 'displayName = "%s"\nguestOS = "rhel8-64"\nmemsize = "%s"\nnumvcpus = "1"\n' \
            "$_vx_vm" "$_vx_m"
        printf 'scsi0.present = "TRUE"\n'
        [ -z "$_vx_p" ] || printf 'scsi0.virtualDev = "pvscsi"\n'
        _vx_i=0
        for _vx_disk in "$@"; do
            printf 'scsi0:%d.present = "TRUE"\nscsi0:%d.fileName = "%s.vmdk"\n' \
                "$_vx_i" "$_vx_i" "$_vx_disk"
            _vx_i=$((_vx_i + 1))
        done
        if [ "$_vx_d" != none ]; then
            printf 'ethernet0.present = "TRUE"\n'
            [ -z "$_vx_d" ] || printf 'ethernet0.virtualDev = "%s"\n' "$_vx_d"
            printf 'ethernet0.networkName = "VM Network"\n'
        fi
    } > "$_vx_file" || fail "cannot write $_vx_file"
}

# write_vmx [OPTIONS] FILE NAME DISK...: a .vmx for VM NAME (guestOS
# rhel8-64, one vCPU) with DISK.vmdk on scsi0:0, scsi0:1, ... (the options
# above).
write_vmx() {
    _vmx_opts "$@"
    shift "$_vx_n"
    _vmx_write "$@"
}

# make_vm [-f SUBFORMAT] [OPTIONS] DIR NAME MIB...: VM NAME in DIR/NAME
# (made if need be), one disk of random data with holes per MIB: NAME.vmdk,
# NAME_1.vmdk, ...; monolithicFlat (make_vmdk), or with -f another VMDK
# subformat (qemu-img convert: data copied in).  Then NAME.vmx (write_vmx
# with the other options).
make_vm() {
    _vmx_opts "$@"
    shift "$_vx_n"
    _vm_dir=$1/$2 _vm_name=$2
    shift 2
    mkdir -p "$_vm_dir"
    _vm_i=0
    for _vm_mib in "$@"; do
        shift
        _vm_disk=$_vm_name
        [ "$_vm_i" -eq 0 ] || _vm_disk=${_vm_name}_$_vm_i
        if [ "$_vx_f" = monolithicFlat ]; then
            make_vmdk "$_vm_dir" "$_vm_disk" "$_vm_mib"
        else
            random_disk "$_vm_dir/$_vm_disk.raw" "$_vm_mib"
            qemu-img convert -f raw -O vmdk -o "subformat=$_vx_f" \
                "$_vm_dir/$_vm_disk.raw" "$_vm_dir/$_vm_disk.vmdk" ||
                fail "qemu-img convert"
            rm -f "$_vm_dir/$_vm_disk.raw"
        fi
        set -- "$@" "$_vm_disk"
        _vm_i=$((_vm_i + 1))
    done
    _vmx_write "$_vm_dir/$_vm_name.vmx" "$_vm_name" "$@"
}

# Checksums to show a source unchanged: tree_sha DIR (names and contents of
# every file below DIR), flat_sums DIR (the flat extents, one line each).
tree_sha() { ( cd "$1" && find . -type f -exec sha256sum {} + | sort ) | sha256sum; }
flat_sums() { ( cd "$1" && find . -name '*-flat.vmdk' -exec md5sum {} + | sort ); }

# Run files (engine/exec/owner.h): ".vmshift.<fnv1a(name)>.<pid>.<run>.<kind>"
# and leases ".vmshift.<run>.lease", for tests that fake other runs.
name_hash() {
    perl -e 'use integer; my $h = 2166136261;
        for (unpack "C*", $ARGV[0]) { $h = (($h ^ $_) * 16777619) & 0xffffffff }
        printf "%08x\n", $h' "$1"
}
run_file() {   # NAME PID RUN KIND
    echo ".vmshift.$(name_hash "$1").$2.$3.$4"
}
write_lease() {   # DIR RUN PID BOOT PIDNS EXPIRES [HOST]
    printf 'vmshift-lease 1\nrun %s\nhost %s\nboot %s\npidns %s\npid %s\nexpires %s\n' \
        "$2" "${7:-$(hostname)}" "$4" "$5" "$3" "$6" > "$1/.vmshift.$2.lease"
}
my_boot() { cat /proc/sys/kernel/random/boot_id; }
my_pidns() { stat -Lc %i /proc/self/ns/pid; }
