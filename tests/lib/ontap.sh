# Sourced after functions.sh and testenv.sh by tests that convert on the
# test environment through ontap:// locations.
#
#   ontap_testenv [CMD...]   the usual start: requires qemu-img jq curl and
#                      CMD..., tmpdir, need_testenv; v1 is vol1's folder
#   tctl JSON          POST /sim/control on the testenv simulator
#   rest PATH          GET PATH with the testenv credentials; body on stdout
#   vol_dir VOLUME     local directory of a volume
#   req_count METHOD PATH-PREFIX   requests in the log since log_mark
#   log_mark           remember the current end of the request log
#   vsh ARGS...        vmshift with the testenv config
#   last_run           the id of the newest run in the store
#   clones_ok          successful clone requests since log_mark
#   no_leftovers VOLUME   fail if temporaries or snapshots are left

# shellcheck disable=SC2034 # v1 is the test's
ontap_testenv() {   # [CMD...]
    requires qemu-img jq curl "$@"
    tmpdir
    need_testenv
    v1=$(vol_dir vol1)
}

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

last_run() { vsh runs list --json | jq '.[0].id'; }

# the simulator injects its faults before doing anything, so only these
# made clones
clones_ok() {
    tail -n +$((_log_mark + 1)) "$VMSHIFT_TESTENV_REQUEST_LOG" |
        jq -r 'select(.method == "POST" and
                      (.path | startswith("/api/storage/file/clone")) and
                      .status >= 200 and .status < 300) | .path' | wc -l
}

no_leftovers() {   # VOLUME: no temporaries, no snapshots
    _d=$(vol_dir "$1")
    _t=$(find "$_d" -name '.vmshift.*' 2>/dev/null | head -3)
    [ -z "$_t" ] || fail "temporaries left: $_t"
    _s=$(find "$_d/.snapshot" -mindepth 1 -maxdepth 1 2>/dev/null | head -3)
    [ -z "$_s" ] || fail "snapshots left: $_s"
}
