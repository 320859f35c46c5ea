# Sourced after tests/lib/functions.sh by tests that use VMware's vCenter
# simulator (tests/vcsim, built from Debian's govmomi into build/).
#
#   start_vcsim [VCSIM-FLAGS...]  vcsim on 127.0.0.1 with its own
#                                 certificate and a password file; sets
#                                 VCSIM_URL VCSIM_FINGERPRINT VCSIM_CA
#                                 VCSIM_USER VCSIM_PASSWORD_FILE VCSIM_DIR
#                                 (exported for vcsim-ctl) and stops it at
#                                 exit
#   vcsim_ctl ARGS...             the Go reader/arranger (tests/vcsim/ctl)
#   vcsim_hook PATH               GET /vcsim-test/PATH (stats, deaf?vm=,
#                                 failsnap?vm=, expire?method=)
#   vcsim_count METHOD            SOAP requests of METHOD so far ("total")
#   vcsim_config FILE [KEY VALUE] a vmshift config with vcenters.vc1 using
#                                 the CA file (or KEY: VALUE instead, e.g.
#                                 '"fingerprint_sha256"' '"AB:.."')
#   vcsim_on_testenv [VCSIM-FLAGS...]  vcsim and the test environment
#                                 (testenv.sh and ontap.sh sourced first):
#                                 $tmp/cfg.json holds both configurations,
#                                 vs runs vmshift with it, and v1 is ONTAP
#                                 volume vol1's folder, which vcsim serves
#                                 as NAS datastore vol1
#   vcsim_nas VOLUME              testenv volume VOLUME (its folder) as
#                                 vcsim's NAS datastore VOLUME
#   vcsim_vm NAME DATASTORE DISKS [CREATE-VM-FLAGS...]  a VM with a NIC on
#                                 "VM Network" and real VMDKs (make_vmdk:
#                                 random data) in place of the empty files
#                                 vcsim makes; DISKS as create-vm's -disks
#                                 ("MIB[:KIND][@DATASTORE],..."), datastores
#                                 on testenv volumes (vcsim_nas)

VCSIM=${VCSIM:-$VMSHIFT_BUILD/vcsim}
VCSIM_CTL=${VCSIM_CTL:-$VMSHIFT_BUILD/vcsim-ctl}

start_vcsim() {
    requires curl jq
    if [ ! -x "$VCSIM" ] || [ ! -x "$VCSIM_CTL" ]; then
        skip "vcsim is not built (needs golang-go and golang-github-vmware-govmomi-dev)"
    fi
    VCSIM_DIR=$(mktemp -d "${TMPDIR:-/tmp}/vmshift-vcsim.XXXXXX")
    cleanup_fn rm -rf "$VCSIM_DIR"
    VCSIM_USER=vmshift
    VCSIM_PASSWORD_FILE=$VCSIM_DIR/pw
    (umask 077 && printf 'vc-%s-pw\n' "$$" > "$VCSIM_PASSWORD_FILE")
    "$VCSIM" -dir "$VCSIM_DIR" -user "$VCSIM_USER" \
        -password-file "$VCSIM_PASSWORD_FILE" "$@" \
        > "$VCSIM_DIR/out" 2> "$VCSIM_DIR/err" &
    VCSIM_PID=$!
    cleanup_fn stop_vcsim
    _i=0
    while ! grep -q '^CA=' "$VCSIM_DIR/out" 2>/dev/null; do
        _i=$((_i + 1))
        if [ $_i -gt 600 ] || ! kill -0 "$VCSIM_PID" 2>/dev/null; then
            cat "$VCSIM_DIR/err"
            fail "vcsim did not start"
        fi
        sleep 0.1
    done
    VCSIM_URL=$(sed -n 's/^URL=//p' "$VCSIM_DIR/out")
    VCSIM_FINGERPRINT=$(sed -n 's/^FINGERPRINT=//p' "$VCSIM_DIR/out")
    VCSIM_CA=$(sed -n 's/^CA=//p' "$VCSIM_DIR/out")
    export VCSIM_URL VCSIM_FINGERPRINT VCSIM_CA VCSIM_USER VCSIM_PASSWORD_FILE
}

stop_vcsim() {
    if [ -n "${VCSIM_PID:-}" ] && kill -0 "$VCSIM_PID" 2>/dev/null; then
        kill -TERM "$VCSIM_PID"
        wait "$VCSIM_PID" 2>/dev/null
    fi
    VCSIM_PID=
}

vcsim_ctl() {
    "$VCSIM_CTL" "$@"
}

vcsim_hook() {
    curl -sSf --cacert "$VCSIM_CA" "${VCSIM_URL%/sdk}/vcsim-test/$1" ||
        fail "vcsim hook $1 failed"
}

vcsim_count() {
    vcsim_hook stats | jq -r --arg m "$1" '.[$m] // 0'
}

# shellcheck disable=SC2034,SC2154,SC2317 # $tmp: the test's; vs, v1: for it
vcsim_on_testenv() {
    start_vcsim "$@"
    need_testenv
    vcsim_config "$tmp/vc.json"
    jq -s '.[0] * .[1]' "$VMSHIFT_TESTENV_CONFIG" "$tmp/vc.json" > "$tmp/cfg.json" ||
        fail "cannot merge the configurations"
    vs() { "$VMSHIFT" --config "$tmp/cfg.json" "$@"; }
    v1=$(vol_dir vol1)
    vcsim_nas vol1
}

vcsim_nas() {   # VOLUME
    vcsim_ctl add-nas "$(vol_dir "$1")" 127.0.0.1 "/$1" > /dev/null ||
        fail "add-nas $1"
}

vcsim_vm() {   # NAME DATASTORE DISKS [CREATE-VM-FLAGS...]
    _vn=$1 _vds=$2 _vdisks=$3
    shift 3
    vcsim_ctl create-vm "$_vn" -ds "$_vds" -disks "$_vdisks" -nics "VM Network" \
        "$@" > /dev/null || fail "create-vm $_vn"
    _vi=0
    for _vs in $(echo "$_vdisks" | tr ',' ' '); do
        _vd=$(vol_dir "$_vds")/$_vn
        case $_vs in *@*) _vd=$(vol_dir "${_vs#*@}")/$_vn ;; esac
        rm -f "$_vd/${_vn}_$_vi.vmdk" "$_vd/${_vn}_$_vi-flat.vmdk"
        make_vmdk "$_vd" "${_vn}_$_vi" "${_vs%%[:@]*}"
        _vi=$((_vi + 1))
    done
}

vcsim_config() {   # FILE [KEY VALUE]
    _tls="\"ca_file\": \"$VCSIM_CA\""
    [ $# -ge 3 ] && _tls="$2: $3"
    cat > "$1" <<EOT
{"vcenters": {"vc1": {"url": "$VCSIM_URL", "username": "$VCSIM_USER",
  "password_file": "$VCSIM_PASSWORD_FILE", $_tls}}}
EOT
}
