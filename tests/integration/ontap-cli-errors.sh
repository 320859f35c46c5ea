#!/bin/sh
# vmshift against the ONTAP simulator, failures before any data moves:
# a wrong password is one line saying that the cluster refused the
# credentials of that user, exit 5 (a remote refusal); a password file
# readable by others is refused before any request, exit 3 (a local
# input problem, like any file vmshift may not use).  docs/internals/
# errors.md has the classes.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/sim.sh"

requires qemu-img
tmpdir
mkdir -p "$tmp/root/vol1"
start_sim "$tmp/root"
qemu-img create -q -f vmdk "$tmp/root/vol1/src.vmdk" 1M

config() {   # PASSWORD-FILE
    cat > "$tmp/cfg.json" <<JSON
{"profiles": {"p": {"cluster": "$SIM_URL", "username": "admin",
  "password_file": "$1", "ca_file": "$SIM_CA", "svm": "svm0",
  "nfs": {"server": "127.0.0.1", "version": 3}}}}
JSON
}
run() {   # -> $rc, stderr in $tmp/err
    "$VMSHIFT" --config "$tmp/cfg.json" convert ontap://p/vol1/src.vmdk \
        ontap://p/vol1/q/x.raw > "$tmp/out" 2> "$tmp/err"
    rc=$?
}
requests() { grep -c '"path":"/api/' "$SIM_LOG" 2>/dev/null || true; }

# --- wrong password: the cluster says 401
(umask 077 && printf 'not-the-password\n' > "$tmp/badpw")
config "$tmp/badpw"
run
[ "$rc" = 5 ] || fail "wrong password: exit $rc, expected 5: $(cat "$tmp/err")"
[ "$(wc -l < "$tmp/err")" = 1 ] || fail "wrong password: not one line: $(cat "$tmp/err")"
grep -q "ONTAP refused the credentials for user 'admin' on cluster '$SIM_URL' (HTTP 401" "$tmp/err" ||
    fail "wrong password: unclear message: $(cat "$tmp/err")"
grep -q "not-the-password" "$tmp/err" && fail "the password is in the message"
n=$(requests)
if [ "$n" -lt 1 ] || [ "$n" -gt 2 ]; then
    fail "wrong password: $n requests (a refusal is not retried)"
fi
echo "wrong password (exit $rc): $(cat "$tmp/err")"

# --- a password file others can read: refused before any request
cp "$SIM_PWFILE" "$tmp/pw644"
chmod 644 "$tmp/pw644"
config "$tmp/pw644"
before=$(requests)
run
[ "$rc" = 3 ] || fail "password file mode 0644: exit $rc, expected 3: $(cat "$tmp/err")"
[ "$(wc -l < "$tmp/err")" = 1 ] || fail "mode 0644: not one line: $(cat "$tmp/err")"
grep -q "password file '$tmp/pw644' has mode 0644" "$tmp/err" ||
    fail "mode 0644: unclear message: $(cat "$tmp/err")"
[ "$(requests)" = "$before" ] || fail "mode 0644: a request was sent"
echo "password file 0644 (exit $rc): $(cat "$tmp/err")"

stop_sim_checked
echo ok
