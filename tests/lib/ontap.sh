# Sourced after functions.sh and testenv.sh by tests that convert on the
# test environment through ontap:// locations.
#
#   tctl JSON          POST /sim/control on the testenv simulator
#   rest PATH          GET PATH with the testenv credentials; body on stdout
#   vol_dir VOLUME     local directory of a volume
#   req_count METHOD PATH-PREFIX   requests in the log since log_mark
#   log_mark           remember the current end of the request log
#   vsh ARGS...        vmshift with the testenv config
#   make_vmdk DIR NAME SIZE_MIB   monolithicFlat VMDK with random data and holes

tctl() {
    _c=$(curl -sS --cacert "$VMSHIFT_TESTENV_CA_FILE" -o /dev/null -w '%{http_code}' \
        -X POST --data-binary "$1" "$VMSHIFT_TESTENV_URL/sim/control") || _c=000
    [ "$_c" = 200 ] || fail "sim control $1: HTTP $_c"
}

rest() {
    curl -sS --cacert "$VMSHIFT_TESTENV_CA_FILE" \
        -u "$VMSHIFT_TESTENV_USER:$(cat "$VMSHIFT_TESTENV_PASSWORD_FILE")" \
        "$VMSHIFT_TESTENV_URL$1"
}

vol_dir() { echo "$VMSHIFT_TESTENV_ROOT/$1"; }

log_mark() { _log_mark=$(wc -l < "$VMSHIFT_TESTENV_REQUEST_LOG"); }

req_count() {
    tail -n +$((_log_mark + 1)) "$VMSHIFT_TESTENV_REQUEST_LOG" |
        jq -r --arg m "$1" --arg p "$2" \
        'select(.method == $m and (.path | startswith($p))) | .path' | wc -l
}

req_total() { tail -n +$((_log_mark + 1)) "$VMSHIFT_TESTENV_REQUEST_LOG" | wc -l; }

vsh() { "$VMSHIFT" --config "$VMSHIFT_TESTENV_CONFIG" "$@"; }

make_vmdk() {   # DIR NAME SIZE_MIB
    mkdir -p "$1"
    qemu-img create -q -f vmdk -o subformat=monolithicFlat "$1/$2.vmdk" "${3}M" ||
        fail "qemu-img create"
    random_disk "$1/$2-flat.vmdk" "$3"
}

no_leftovers() {   # VOLUME: no temporaries, no snapshots
    _d=$(vol_dir "$1")
    _t=$(find "$_d" -name '.vmshift.*' 2>/dev/null | head -3)
    [ -z "$_t" ] || fail "temporaries left: $_t"
    _s=$(find "$_d/.snapshot" -mindepth 1 -maxdepth 1 2>/dev/null | head -3)
    [ -z "$_s" ] || fail "snapshots left: $_s"
}
