#!/bin/sh
# vmshift vcenter shutdown|power-on|snapshot-create|snapshot-remove and the
# vSphere client's faults, against VMware's vCenter simulator; every
# outcome is read back through the simulator's own API (vcsim-ctl):
#   graceful shutdown, a VM that ignores ShutdownGuest (deadline, clear
#   message; --power-off-after powers it off), power on, a VM snapshot made
#   and removed while the VM's own snapshots stay, removing a snapshot
#   vmshift did not make refused, a failing task, a wrong password (one
#   line, exit 5, one Login request), a session that ends (one re-login),
#   TLS: unknown CA refused before any request, pinned fingerprint
#   accepted, wrong fingerprint refused, insecure warned about.
# shellcheck disable=SC2015,SC2119 # "A && B || fail" means fail unless both hold; start_vcsim takes optional flags
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/vcsim.sh"

requires openssl
tmpdir
start_vcsim
vcsim_config "$tmp/cfg.json"
vs() { "$VMSHIFT" --config "$tmp/cfg.json" "$@"; }
power() { vcsim_ctl dump "$1" | jq -r '.vms[0].power_state'; }
snaps() { vcsim_ctl dump "$1" | jq -r '.vms[0].snapshots | join(",")'; }
one_line() { [ "$(wc -l < "$1")" = 1 ] || fail "$2: not one line: $(cat "$1")"; }

# --- graceful shutdown, then power on again
[ "$(power DC0_H0_VM0)" = poweredOn ] || fail "DC0_H0_VM0 starts powered off"
vs vcenter shutdown --vcenter vc1 --vm DC0_H0_VM0 > "$tmp/o" 2>&1 || fail "shutdown: $(cat "$tmp/o")"
[ "$(power DC0_H0_VM0)" = poweredOff ] || fail "shutdown left the VM $(power DC0_H0_VM0)"
vs vcenter shutdown --vcenter vc1 --vm DC0_H0_VM0 > "$tmp/o" 2>&1 || fail "shutdown of an off VM: $(cat "$tmp/o")"
vs vcenter power-on --vcenter vc1 --vm DC0_H0_VM0 > "$tmp/o" 2>&1 || fail "power-on: $(cat "$tmp/o")"
[ "$(power DC0_H0_VM0)" = poweredOn ] || fail "power-on left the VM $(power DC0_H0_VM0)"

# --- a VM that ignores ShutdownGuest
vcsim_hook 'deaf?vm=DC0_H0_VM1' > /dev/null
vs vcenter shutdown --vcenter vc1 --vm DC0_H0_VM1 --timeout 2 > "$tmp/o" 2>&1
rc=$?
[ $rc = 5 ] || fail "ignored shutdown: exit $rc: $(cat "$tmp/o")"
one_line "$tmp/o" "ignored shutdown"
grep -q "did not power off within 2 s" "$tmp/o" && grep -q -- "--power-off-after" "$tmp/o" ||
    fail "ignored shutdown: $(cat "$tmp/o")"
[ "$(power DC0_H0_VM1)" = poweredOn ] || fail "the VM was powered off without --power-off-after"
vs vcenter shutdown --vcenter vc1 --vm DC0_H0_VM1 --power-off-after 1 > "$tmp/o" 2>&1 ||
    fail "--power-off-after: $(cat "$tmp/o")"
grep -q "powered off after the guest did not shut down" "$tmp/o" || fail "not said: $(cat "$tmp/o")"
[ "$(power DC0_H0_VM1)" = poweredOff ] || fail "--power-off-after left the VM $(power DC0_H0_VM1)"

# --- VM snapshots: the run's own is removed, the VM's own stay
own=$(vcsim_ctl snapshot DC0_C0_RP0_VM0 admin-snap) || fail "vcsim-ctl snapshot"
id=$(vs vcenter snapshot-create --vcenter vc1 --vm DC0_C0_RP0_VM0 --name 'vmshift-run"1]') ||
    fail "snapshot-create"
[ -n "$id" ] && [ "$id" != "$own" ] || fail "snapshot id '$id'"
[ "$(snaps DC0_C0_RP0_VM0)" = 'admin-snap,vmshift-run"1]' ] || fail "snapshots after create: $(snaps DC0_C0_RP0_VM0)"
vs vcenter snapshot-remove --vcenter vc1 --vm DC0_C0_RP0_VM0 --id "$own" > "$tmp/o" 2>&1
rc=$?
[ $rc = 3 ] && grep -q "was not made by vmshift; it is left alone" "$tmp/o" ||
    fail "removing the admin's snapshot: exit $rc: $(cat "$tmp/o")"
one_line "$tmp/o" "foreign snapshot"
vs vcenter snapshot-remove --vcenter vc1 --vm DC0_C0_RP0_VM0 --id "$id" > "$tmp/o" 2>&1 ||
    fail "snapshot-remove: $(cat "$tmp/o")"
[ "$(snaps DC0_C0_RP0_VM0)" = admin-snap ] || fail "snapshots after remove: $(snaps DC0_C0_RP0_VM0)"

# --- a task that fails
vcsim_hook 'failsnap?vm=DC0_C0_RP0_VM1' > /dev/null
vs vcenter snapshot-create --vcenter vc1 --vm DC0_C0_RP0_VM1 --name s > "$tmp/o" 2>&1
rc=$?
[ $rc = 5 ] && grep -q "creating the VM snapshot failed: FileFault" "$tmp/o" ||
    fail "failing task: exit $rc: $(cat "$tmp/o")"
one_line "$tmp/o" "failing task"

# --- power-on of an unknown VM, bad usage
vs vcenter power-on --vcenter vc1 --vm nosuch > "$tmp/o" 2>&1
[ $? = 3 ] && grep -q "no VM named 'nosuch'" "$tmp/o" || fail "unknown VM: $(cat "$tmp/o")"
vs vcenter reboot --vcenter vc1 --vm x > "$tmp/o" 2>&1
[ $? = 2 ] || fail "unknown action accepted"

# --- wrong password: one line, exit 5, exactly one Login request
logins=$(vcsim_count Login)
printf 'wrong\n' > "$tmp/badpw" && chmod 600 "$tmp/badpw"
sed "s|$VCSIM_PASSWORD_FILE|$tmp/badpw|" "$tmp/cfg.json" > "$tmp/bad.json"
"$VMSHIFT" --config "$tmp/bad.json" inventory --vcenter vc1 > "$tmp/o" 2>&1
rc=$?
[ $rc = 5 ] || fail "wrong password: exit $rc"
one_line "$tmp/o" "wrong password"
grep -q "login as 'vmshift' refused (InvalidLogin)" "$tmp/o" || fail "wrong password: $(cat "$tmp/o")"
grep -q wrong "$tmp/o" && fail "the password is in the message"
[ "$(vcsim_count Login)" = $((logins + 1)) ] || fail "Login requests: $((($(vcsim_count Login)) - logins)), not 1"
chmod 644 "$tmp/badpw"
"$VMSHIFT" --config "$tmp/bad.json" inventory --vcenter vc1 > "$tmp/o" 2>&1
[ $? = 3 ] && grep -q "has mode 0644" "$tmp/o" || fail "a readable password file: $(cat "$tmp/o")"

# --- a session that ends: one re-login, and the inventory still comes
logins=$(vcsim_count Login)
vcsim_hook 'expire?method=CreateContainerView' > /dev/null
vs inventory --vcenter vc1 --json > "$tmp/inv.json" 2> "$tmp/err" || fail "after the session ended: $(cat "$tmp/err")"
[ "$(jq .soap.relogins "$tmp/inv.json")" = 1 ] || fail "relogins $(jq .soap "$tmp/inv.json")"
[ "$(vcsim_count Login)" = $((logins + 2)) ] || fail "Login requests: not 2"
[ "$(jq '.vms | length' "$tmp/inv.json")" = 4 ] || fail "inventory after re-login"

# --- TLS
make_other_ca() {
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=other CA" \
        -keyout "$tmp/other.key" -out "$tmp/other.pem" >/dev/null 2>&1
}
make_other_ca || fail "openssl"
total=$(vcsim_count total)
vcsim_config "$tmp/tls.json" '"ca_file"' "\"$tmp/other.pem\""
"$VMSHIFT" --config "$tmp/tls.json" inventory --vcenter vc1 > "$tmp/o" 2>&1 && fail "an unknown CA was accepted"
one_line "$tmp/o" "unknown CA"
grep -q "TLS: cannot verify the certificate" "$tmp/o" || fail "unknown CA: $(cat "$tmp/o")"
[ "$(vcsim_count total)" = "$total" ] || fail "a request reached the server through an unverified connection"
vcsim_config "$tmp/tls.json" '"fingerprint_sha256"' "\"$VCSIM_FINGERPRINT\""
"$VMSHIFT" --config "$tmp/tls.json" inventory --vcenter vc1 > "$tmp/o" 2>&1 ||
    fail "pinned fingerprint refused: $(cat "$tmp/o")"
badfp=$(printf '%s' "$VCSIM_FINGERPRINT" | sed 's/^../00/')
[ "$badfp" != "$VCSIM_FINGERPRINT" ] || badfp=$(printf '%s' "$VCSIM_FINGERPRINT" | sed 's/^../11/')
vcsim_config "$tmp/tls.json" '"fingerprint_sha256"' "\"$badfp\""
"$VMSHIFT" --config "$tmp/tls.json" inventory --vcenter vc1 > "$tmp/o" 2>&1 && fail "a wrong fingerprint was accepted"
grep -q "not the pinned" "$tmp/o" || fail "wrong fingerprint: $(cat "$tmp/o")"
vcsim_config "$tmp/tls.json" '"insecure"' true
"$VMSHIFT" --config "$tmp/tls.json" inventory --vcenter vc1 > /dev/null 2> "$tmp/err" ||
    fail "insecure: $(cat "$tmp/err")"
grep -q "'insecure' is set" "$tmp/err" || fail "no warning about 'insecure'"
exit 0
