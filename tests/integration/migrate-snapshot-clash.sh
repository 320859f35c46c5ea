#!/bin/sh
# A snapshot named as the run's own (vmshift-run-STOREID-ID), made by
# somebody else before the run asked for it (an admin, a copy of the
# store): the run must not take it for its own (it would convert another
# moment's data and then delete a snapshot that is not its own): it stops
# with one line naming the snapshot, clones nothing, and neither the
# run's failure nor its cleanup deletes the other snapshot.  Once the
# name is free, a resume completes.  (Another store's runs have names of
# their own: migrate-snapshot-stores.sh.)
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/testenv.sh"
. "$(dirname "$0")/../lib/ontap.sh"
ontap_testenv sqlite3
export VMSHIFT_STORE="$tmp/runs.db"

d=$v1/clash/vm1
make_vm -h -p -n none "$v1/clash" vm1 8
cat > "$tmp/bp.json" <<'JSON'
{"name": "clash", "source": {"datastore": "ontap://testenv/vol1/clash"},
 "target": {"hypervisor": "libvirt", "uri": "test:///default", "format": "qcow2",
            "location": "ontap://testenv/vol1/clash-kvm", "host_path": "/srv/kvm"},
 "ip": "none", "groups": [{"name": "g", "boot_order": 1, "vms": ["vm1"]}],
 "vms": {"vm1": {"vmx": "vm1/vm1.vmx", "power_on": false}}}
JSON

rest_do() {   # METHOD PATH [BODY]
    curl -sS --fail --cacert "$VMSHIFT_TESTENV_CA_FILE" -o /dev/null \
        -u "$VMSHIFT_TESTENV_USER:$(cat "$VMSHIFT_TESTENV_PASSWORD_FILE")" \
        -H 'Content-Type: application/json' -X "$1" ${3:+--data-binary "$3"} \
        "$VMSHIFT_TESTENV_URL$2"
}

vuuid=$(rest "/api/storage/volumes?name=vol1&fields=uuid" | jq -r '.records[0].uuid')
case $vuuid in ""|null) fail "no uuid for vol1" ;; esac
# the snapshot in the way, named exactly as the run's will be: the store
# is new, so its first run is 1, and the store's ID is in the store
vsh runs list > /dev/null || fail "runs list (making the store)"
sid=$(sqlite3 "$VMSHIFT_STORE" "select value from meta where key = 'store_id'")
echo "$sid" | grep -Eqx '[0-9a-f]{12}' || fail "store ID '$sid'"
name=vmshift-run-$sid-1
rest_do POST "/api/storage/volumes/$vuuid/snapshots?return_timeout=30" \
    "{\"name\": \"$name\"}" || fail "snapshot create"
other=$(rest "/api/storage/volumes/$vuuid/snapshots?name=$name&fields=uuid" |
        jq -r '.records[0].uuid')
case $other in ""|null) fail "the other snapshot was not made" ;; esac

log_mark
rc=0
vsh migrate --yes "$tmp/bp.json" > "$tmp/out" 2> "$tmp/err" || rc=$?
[ $rc -ne 0 ] || fail "migrate succeeded with somebody else's snapshot in its name"
[ "$(vsh runs show --json 1 | jq -r .snapshot)" = "$name" ] ||
    fail "run 1's snapshot is not '$name': $(vsh runs show --json 1 | jq -r .snapshot)"
grep -q "snapshot '$name' exists and is not this run's" "$tmp/err" ||
    fail "no clear reason: $(cat "$tmp/err")"
[ "$(req_count POST /api/storage/file/clone)" = 0 ] || fail "a clone was sent"
[ "$(req_count DELETE /api/storage/volumes/)" = 0 ] || fail "a snapshot was deleted"

vsh runs cleanup 1 > "$tmp/cl" 2>&1 || vsh runs abort 1 > "$tmp/cl" 2>&1 || true
[ "$(req_count DELETE /api/storage/volumes/)" = 0 ] ||
    fail "the cleanup deleted a snapshot: $(cat "$tmp/cl")"
now=$(rest "/api/storage/volumes/$vuuid/snapshots?name=$name&fields=uuid" |
      jq -r '.records[0].uuid')
[ "$now" = "$other" ] || fail "the other snapshot is gone ($now)"

# the name is free again: the run (if cleanup left it resumable) or a
# new run of the blueprint completes and deletes only its own snapshot
rest_do DELETE "/api/storage/volumes/$vuuid/snapshots/$other?return_timeout=30" ||
    fail "deleting the other snapshot"
vsh migrate --yes "$tmp/bp.json" > "$tmp/out2" 2> "$tmp/err2" ||
    vsh runs resume 1 > "$tmp/out2" 2> "$tmp/err2" ||
    fail "a run with the name free failed: $(cat "$tmp/err2")"
qemu-img compare -q "$d/vm1-flat.vmdk" "$(find "$v1/clash-kvm" -name '*.qcow2' | head -1)" ||
    fail "the disk differs from its source"
no_leftovers vol1
echo "a snapshot of the run's name that was not its own was left alone and the run stopped with one line"
