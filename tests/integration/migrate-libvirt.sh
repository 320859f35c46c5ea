#!/bin/sh
# Retries of libvirt's define and start in a migration run, from a local
# folder to libvirt's test driver (no tools/testenv).  The test driver
# never fails retryably, so the failures are injected by the libvirt
# client's test hook VMSHIFT_TEST_LIBVIRT_FAULT="OP:COUNT:CODE"
# (hypervisors/libvirt-conn/libvirt-conn.c): the first COUNT calls of OP
# fail with virErrorNumber CODE and are classified as real ones.
#
# 1. VIR_ERR_RPC (a lost connection) on the first 2 defines and
#    VIR_ERR_OPERATION_TIMEOUT on the first start: retried (a "retry"
#    event each, kept in the store, after 1 s then 2 s), the run completes.
# 2. VIR_ERR_XML_ERROR on the first define, VIR_ERR_CONFIG_UNSUPPORTED on
#    the first start: not retried; only those VMs fail, each with one line,
#    and the others complete.
# 3. VIR_ERR_RPC on 4 defines in a row: 3 retries, then that VM fails
#    with the error of the last; the others complete.
. "$VMSHIFT_TOP/tests/lib/functions.sh"
requires jq qemu-img sqlite3
tmpdir
cd "$tmp" || fail "cd $tmp"
export VMSHIFT_STORE="$tmp/runs.db"
VIR_ERR_XML_ERROR=27
VIR_ERR_RPC=39
VIR_ERR_CONFIG_UNSUPPORTED=67
VIR_ERR_OPERATION_TIMEOUT=68

# qemu-img's default VMDK subformat
for vm in db01 app01 web01; do make_vm -f monolithicSparse ds "$vm" 2; done

bp() {   # NAME
    cat > "$1.json" <<JSON
{"name": "$1", "source": {"datastore": "$tmp/ds"},
 "target": {"hypervisor": "libvirt", "uri": "test:///default",
            "format": "qcow2", "location": "$tmp/kvm-$1"},
 "network_map": {"networks": {"VM Network": "br0"}},
 "groups": [{"name": "db", "boot_order": 1, "vms": ["db01"]},
            {"name": "rest", "boot_order": 2, "vms": ["app01", "web01"]}],
 "vms": {"db01": {"vmx": "db01/db01.vmx"}, "app01": {"vmx": "app01/app01.vmx"},
         "web01": {"vmx": "web01/web01.vmx"}}}
JSON
}
last_run() { "$VMSHIFT" runs list --json | jq '.[0].id'; }
retries() { jq -r 'select(.step == "retry") | "\(.vm) \(.message)"' "$1"; }
state_of() { jq -r --arg vm "$2" '.vms[] | select(.vm == $vm) | .state' "$1"; }
disks_ok() {   # NAME VMS...
    _n=$1; shift
    for vm in "$@"; do
        compare_images vmdk "ds/$vm/$vm.vmdk" qcow2 "kvm-$_n/$vm/$vm.qcow2"
    done
}

# ------------------------------------------------ 1. retryable: retried
bp rt
VMSHIFT_TEST_LIBVIRT_FAULT="define:2:$VIR_ERR_RPC,start:1:$VIR_ERR_OPERATION_TIMEOUT" \
    "$VMSHIFT" migrate --yes --json rt.json > ev.json 2> err || fail "rt: migrate: $(cat err)"
id=$(last_run)
"$VMSHIFT" runs show --json "$id" > show.json || fail "rt: runs show"
[ "$(jq -r .state show.json)" = complete ] || fail "rt: run not complete: $(jq -c .vms show.json)"
retries ev.json > rt.txt
[ "$(wc -l < rt.txt)" = 3 ] || fail "rt: not 3 retries: $(cat rt.txt)"
# the first VM registered takes both define faults, the first started the
# start fault (db01: boot order 1)
grep -q "^db01 define: attempt 1 of 4 failed (libvirt 'test:///default': defining a domain: injected .*); again in 1 s$" rt.txt ||
    fail "rt: first define retry: $(cat rt.txt)"
grep -q "^db01 define: attempt 2 of 4 failed (.*); again in 2 s$" rt.txt ||
    fail "rt: second define retry: $(cat rt.txt)"
grep -q "^db01 power on: attempt 1 of 4 failed (libvirt 'test:///default': starting domain 'db01': injected .*); again in 1 s$" rt.txt ||
    fail "rt: start retry: $(cat rt.txt)"
# the retries are kept in the store, with the run's other events
[ "$(sqlite3 "$VMSHIFT_STORE" "select json from events where run_id = $id" |
      jq -r 'select(.step == "retry") | "\(.vm) \(.message)"')" = "$(cat rt.txt)" ] ||
    fail "rt: the store does not keep the retries: $(sqlite3 "$VMSHIFT_STORE" "select json from events where run_id = $id")"
jq -e '[.journal[] | select(.step == "define" or .step == "start")] |
       length == 6 and all(.status == "done")' show.json > /dev/null ||
    fail "rt: journal: $(jq -c '[.journal[] | select(.step == "define" or .step == "start")]' show.json)"
jq -e '[.detail.domains[] | select(.state == "running")] | length == 3' show.json > /dev/null ||
    fail "rt: domains: $(jq -c .detail.domains show.json)"
disks_ok rt db01 app01 web01

# --------------------------- 2. not retryable: that VM fails, not the rest
bp nr
VMSHIFT_TEST_LIBVIRT_FAULT="define:1:$VIR_ERR_XML_ERROR,start:1:$VIR_ERR_CONFIG_UNSUPPORTED" \
    "$VMSHIFT" migrate --yes --json nr.json > ev.json 2> err && fail "nr: exit 0"
id=$(last_run)
"$VMSHIFT" runs show --json "$id" > show.json || fail "nr: runs show"
[ -z "$(retries ev.json)" ] || fail "nr: retried: $(retries ev.json)"
[ "$(state_of show.json db01)" = failed ] || fail "nr: db01 $(state_of show.json db01)"
why=$(jq -r '.vms[] | select(.vm == "db01") | .detail.reason' show.json)
[ "$(printf '%s\n' "$why" | wc -l)" = 1 ] || fail "nr: reason not one line: $why"
case $why in *"defining a domain: injected"*) ;; *) fail "nr: db01's reason: $why" ;; esac
# db01 never started: the start fault falls on the next VM started
[ "$(state_of show.json app01)" = failed ] || fail "nr: app01 $(state_of show.json app01)"
why=$(jq -r '.vms[] | select(.vm == "app01") | .detail.reason' show.json)
case $why in *"starting domain 'app01': injected"*) ;; *) fail "nr: app01's reason: $why" ;; esac
[ "$(state_of show.json web01)" = complete ] || fail "nr: web01 $(state_of show.json web01)"
disks_ok nr web01

# --------------------------------- 3. retries used up: that VM fails alone
bp ex
VMSHIFT_TEST_LIBVIRT_FAULT="define:4:$VIR_ERR_RPC" \
    "$VMSHIFT" migrate --yes --json ex.json > ev.json 2> err && fail "ex: exit 0"
id=$(last_run)
"$VMSHIFT" runs show --json "$id" > show.json || fail "ex: runs show"
[ "$(retries ev.json | grep -c '^db01 define: attempt [123] of 4 failed')" = 3 ] ||
    fail "ex: not 3 retries: $(retries ev.json)"
[ "$(state_of show.json db01)" = failed ] || fail "ex: db01 $(state_of show.json db01)"
[ "$(state_of show.json app01) $(state_of show.json web01)" = "complete complete" ] ||
    fail "ex: the others: $(jq -c '[.vms[] | [.vm, .state]]' show.json)"
grep -q "runs resume $id" err || fail "ex: no resume hint: $(cat err)"

echo "migrate libvirt ok"
