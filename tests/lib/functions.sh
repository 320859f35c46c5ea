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
