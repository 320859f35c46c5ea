# Sourced after tests/lib/functions.sh by tests that drive the ONTAP
# simulator directly (without tools/testenv).
#
#   start_sim ROOT [SIM-FLAGS...]  throwaway CA + certificate, a password
#                                   file, the simulator on a free port;
#                                   sets SIM_URL SIM_CA SIM_PWFILE SIM_LOG
#                                   SIM_PID and stops it at exit
#   api METHOD PATH [JSON]          HTTPS request with Basic auth; sets
#                                   $status and leaves the body in $out
#   ctl JSON                        POST /sim/control (fails the test on error)
#   jqo FILTER                      jq -r FILTER on the last body
#   expect_status CODE WHAT         fail unless $status is CODE
#   expect_error CODE ONTAP-CODE [TARGET]   status and error envelope
#   wait_job UUID                   poll until success/failure; sets $job_state

ONTAP_SIM=${ONTAP_SIM:-$VMSHIFT_BUILD/ontap-sim}

make_certs() {   # DIR
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=test CA" \
        -keyout "$1/ca.key" -out "$1/ca.pem" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" >/dev/null 2>&1 &&
    openssl req -new -newkey rsa:2048 -nodes -subj "/CN=localhost" \
        -keyout "$1/server.key" -out "$1/server.csr" >/dev/null 2>&1 &&
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$1/ext.cnf" &&
    openssl x509 -req -in "$1/server.csr" -CA "$1/ca.pem" -CAkey "$1/ca.key" \
        -CAcreateserial -days 2 -extfile "$1/ext.cnf" -out "$1/server.pem" \
        >/dev/null 2>&1
}

start_sim() {   # ROOT [FLAGS...]
    requires openssl curl jq
    [ -x "$ONTAP_SIM" ] || skip "ontap-sim is not built ($ONTAP_SIM)"
    _root=$1; shift
    SIM_DIR=$(mktemp -d "${TMPDIR:-/tmp}/vmshift-sim.XXXXXX")
    cleanup_fn rm -rf "$SIM_DIR"
    make_certs "$SIM_DIR" || fail "cannot make test certificates"
    SIM_PASSWORD=s3cret-$$-pw
    (umask 077 && printf '%s\n' "$SIM_PASSWORD" > "$SIM_DIR/pw")
    SIM_PWFILE=$SIM_DIR/pw
    (umask 077 && printf 'user = "admin:%s"\n' "$SIM_PASSWORD" > "$SIM_DIR/curlrc")
    SIM_CA=$SIM_DIR/ca.pem
    SIM_LOG=$SIM_DIR/requests.log
    "$ONTAP_SIM" --root "$_root" --cert "$SIM_DIR/server.pem" \
        --key "$SIM_DIR/server.key" --password-file "$SIM_PWFILE" \
        --port-file "$SIM_DIR/port" --request-log "$SIM_LOG" \
        --state-file "$SIM_DIR/state.json" "$@" > "$SIM_DIR/sim.out" 2>&1 &
    SIM_PID=$!
    cleanup_fn stop_sim
    _i=0
    while [ ! -s "$SIM_DIR/port" ]; do
        _i=$((_i + 1))
        if [ $_i -gt 100 ] || ! kill -0 "$SIM_PID" 2>/dev/null; then
            cat "$SIM_DIR/sim.out"
            fail "ontap-sim did not start"
        fi
        sleep 0.1
    done
    SIM_URL=https://127.0.0.1:$(cat "$SIM_DIR/port")
    out=$SIM_DIR/body
}

stop_sim() {
    if [ -n "${SIM_PID:-}" ] && kill -0 "$SIM_PID" 2>/dev/null; then
        kill -TERM "$SIM_PID"
        wait "$SIM_PID" 2>/dev/null
    fi
    SIM_PID=
}

# api [-u USER:PW | -n] [-H HEADER] METHOD PATH [JSON]
# The password goes to curl in a config file, not on its command line.
api() {
    _auth=-K
    _hdr="X-Dot-Client-App: vmshift-tests"
    while :; do
        case $1 in
            -u) _auth=$2; shift 2 ;;
            -n) _auth=; shift ;;
            -H) _hdr=$2; shift 2 ;;
            *) break ;;
        esac
    done
    _m=$1; _p=$2; _body=${3:-}
    set --
    case $_auth in
        -K) set -- -K "$SIM_DIR/curlrc" ;;
        '') ;;
        *) set -- -u "$_auth" ;;
    esac
    if [ -n "$_body" ]; then
        set -- "$@" -H 'Content-Type: application/json' --data-binary "$_body"
    fi
    status=$(curl -sS --cacert "$SIM_CA" -o "$out" -w '%{http_code}' \
        -X "$_m" -H "$_hdr" "$@" "$SIM_URL$_p") || status=000
}

jqo() { jq -r "$1" "$out"; }

expect_status() {   # CODE WHAT
    [ "$status" = "$1" ] || fail "$2: HTTP $status, expected $1: $(cat "$out")"
}

expect_error() {   # HTTP-CODE ONTAP-CODE [TARGET] WHAT
    expect_status "$1" "$4"
    [ "$(jq -r '.error.code | type' "$out")" = string ] ||
        fail "$4: error.code is not a string: $(cat "$out")"
    [ "$(jqo .error.code)" = "$2" ] || fail "$4: error.code $(jqo .error.code), expected $2"
    [ -n "$(jqo .error.message)" ] || fail "$4: no error.message"
    if [ -n "$3" ]; then
        [ "$(jqo .error.target)" = "$3" ] ||
            fail "$4: error.target '$(jqo .error.target)', expected '$3'"
    fi
}

ctl() {
    _c=$(curl -sS --cacert "$SIM_CA" -o "$SIM_DIR/ctl" -w '%{http_code}' \
        -X POST --data-binary "$1" "$SIM_URL/sim/control") || _c=000
    [ "$_c" = 200 ] || fail "control $1: HTTP $_c: $(cat "$SIM_DIR/ctl")"
}

counter() { jq -r ".counters.$1" "$SIM_DIR/ctl"; }

wait_job() {   # UUID
    _i=0
    while :; do
        api GET "/api/cluster/jobs/$1?fields=state,message"
        expect_status 200 "GET job $1"
        job_state=$(jqo .state)
        case $job_state in success|failure) return 0 ;; esac
        _i=$((_i + 1))
        [ $_i -lt 300 ] || fail "job $1 still $job_state after 30 s"
        sleep 0.1
    done
}

# Stop the simulator and require a clean exit (0): under ASan this also
# catches leaks and memory errors reported at exit.
stop_sim_checked() {
    kill -TERM "$SIM_PID"
    wait "$SIM_PID"
    _rc=$?
    SIM_PID=
    if [ "$_rc" != 0 ]; then
        cat "$SIM_DIR/sim.out"
        fail "ontap-sim exited with status $_rc"
    fi
}
