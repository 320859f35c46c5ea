#!/bin/sh
# Run IDs are unique within one store only: another store's run (another
# host, or root's store and a user's) may already hold the snapshot name
# vmshift-run-ID on the volume.  A run must not take that snapshot for
# its own (it would convert another moment's data and then delete the
# other run's snapshot): it stops with one line naming the snapshot,
# clones nothing, and neither the run's failure nor its cleanup deletes
# the other snapshot.  Once the name is free, a resume completes.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/testenv.sh"
. "$(dirname "$0")/../lib/ontap.sh"
requires qemu-img jq curl
tmpdir
need_testenv
v1=$(vol_dir vol1)
export VMSHIFT_STORE="$tmp/runs.db"

d=$v1/clash/vm1
make_vmdk "$d" vm1 8
printf '.encoding = "UTF-8"\nconfig.version = "8"\nvirtualHW.version = "14"\ndisplayName = "vm1"\nguestOS = "rhel8-64"\nmemsize = "512"\nnumvcpus = "1"\nscsi0.present = "TRUE"\nscsi0.virtualDev = "pvscsi"\nscsi0:0.present = "TRUE"\nscsi0:0.fileName = "vm1.vmdk"\n' > "$d/vm1.vmx"
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
# the other store's snapshot: this store is new, so its first run is 1
rest_do POST "/api/storage/volumes/$vuuid/snapshots?return_timeout=30" \
    '{"name": "vmshift-run-1"}' || fail "snapshot create"
other=$(rest "/api/storage/volumes/$vuuid/snapshots?name=vmshift-run-1&fields=uuid" |
        jq -r '.records[0].uuid')
case $other in ""|null) fail "the other snapshot was not made" ;; esac

log_mark
rc=0
vsh migrate --yes "$tmp/bp.json" > "$tmp/out" 2> "$tmp/err" || rc=$?
[ $rc -ne 0 ] || fail "migrate succeeded with another store's snapshot in its name"
grep -q "snapshot 'vmshift-run-1' exists and is not this run's" "$tmp/err" ||
    fail "no clear reason: $(cat "$tmp/err")"
[ "$(req_count POST /api/storage/file/clone)" = 0 ] || fail "a clone was sent"
[ "$(req_count DELETE /api/storage/volumes/)" = 0 ] || fail "a snapshot was deleted"

vsh runs cleanup 1 > "$tmp/cl" 2>&1 || vsh runs abort 1 > "$tmp/cl" 2>&1 || true
[ "$(req_count DELETE /api/storage/volumes/)" = 0 ] ||
    fail "the cleanup deleted a snapshot: $(cat "$tmp/cl")"
now=$(rest "/api/storage/volumes/$vuuid/snapshots?name=vmshift-run-1&fields=uuid" |
      jq -r '.records[0].uuid')
[ "$now" = "$other" ] || fail "the other store's snapshot is gone ($now)"

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
echo "another store's snapshot was left alone and the run stopped with one line"
