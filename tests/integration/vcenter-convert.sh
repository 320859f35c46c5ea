#!/bin/sh
# From vCenter inventory to converted disks: VMware's vCenter simulator
# holds a NAS datastore whose remote host and path are the test
# environment's NFS export of a simulated ONTAP volume (its local path is
# the volume's directory, so the VM's files are the volume's files), and a
# VM whose disks are real VMDKs there.  vmshift inventory maps the
# datastore to the volume through the ONTAP profile (junction path + data
# LIF) and gives each disk its ontap:// location; the VM is shut down
# gracefully, gets a VM snapshot, its disks are converted from those
# locations, the run's snapshot is removed: the VM stays powered off with
# its own snapshot, and every converted disk equals its source.
# shellcheck disable=SC2015,SC2119 # "A && B || fail" means fail unless both hold; start_vcsim takes optional flags
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/testenv.sh"
. "$(dirname "$0")/../lib/ontap.sh"
. "$(dirname "$0")/../lib/vcsim.sh"

requires qemu-img jq
tmpdir
vcsim_on_testenv
vm=vcconv$$
# real VMDKs in place of the simulator's empty files
vcsim_vm "$vm" vol1 "48,24:thick" -snapshots admin-before -on

vs inventory --vcenter vc1 --json --vm "$vm" > "$tmp/inv.json" 2> "$tmp/err" ||
    fail "inventory: $(cat "$tmp/err")"
jq -e '.datastores[] | select(.name == "vol1") |
       .ontap == {"profile": "testenv", "volume": "vol1", "path": ""}' "$tmp/inv.json" > /dev/null ||
    fail "datastore mapping: $(jq -c '.datastores' "$tmp/inv.json")"
[ "$(jq -r '.vms[0].disks | map(.location) | join(" ")' "$tmp/inv.json")" = \
  "ontap://testenv/vol1/$vm/${vm}_0.vmdk ontap://testenv/vol1/$vm/${vm}_1.vmdk" ] ||
    fail "locations: $(jq -c '.vms[0].disks' "$tmp/inv.json")"
jq -e '.datastores[] | select(.name == "LocalDS_0") | .ontap == null' "$tmp/inv.json" > /dev/null ||
    fail "a local datastore was mapped"
# the data LIF the mapping uses, from the simulator's REST API
[ "$(rest '/api/network/ip/interfaces?fields=ip.address,svm.name' |
     jq -r '.records | map(.ip.address + "@" + .svm.name) | join(",")')" = "127.0.0.1@svm0" ] ||
    fail "LIFs: $(rest '/api/network/ip/interfaces?fields=ip.address,svm.name')"
# an NFS datastore of another server maps to nothing, and says why
mkdir "$tmp/other"
vcsim_ctl add-nas "$tmp/other" 192.0.2.10 /vol1 > /dev/null || fail "add-nas other"
vs inventory --vcenter vc1 --json --vm "$vm" > "$tmp/inv2.json" || fail "inventory 2"
jq -e '.datastores[] | select(.name == "other") | .ontap == null and
       (.problem | test("NFS export 192.0.2.10:/vol1 matches no volume of the ONTAP profiles [(].testenv.[)]"))'     "$tmp/inv2.json" > /dev/null || fail "other server: $(jq -c '.datastores' "$tmp/inv2.json")"

# the migration steps on the source VM
vs vcenter shutdown --vcenter vc1 --vm "$vm" > /dev/null || fail "shutdown"
id=$(vs vcenter snapshot-create --vcenter vc1 --vm "$vm" --name vmshift-move) || fail "snapshot-create"
set --
for loc in $(jq -r '.vms[0].disks[].location' "$tmp/inv.json"); do
    set -- "$@" "$loc" "ontap://testenv/vol1/hyperv/$vm/$(basename "$loc" .vmdk).vhdx"
done
vs convert --json "$@" > "$tmp/conv.json" 2> "$tmp/err" || fail "convert: $(cat "$tmp/err")"
vs vcenter snapshot-remove --vcenter vc1 --vm "$vm" --id "$id" > /dev/null || fail "snapshot-remove"

for i in 0 1; do
    out=$v1/hyperv/$vm/${vm}_$i.vhdx
    [ -f "$out" ] || fail "no $out"
    qemu-img check -q -f vhdx "$out" || fail "qemu-img check $out"
    compare_images vmdk "$v1/$vm/${vm}_$i.vmdk" vhdx "$out"
done
dump=$(vcsim_ctl dump "$vm") || fail "dump"
[ "$(printf '%s' "$dump" | jq -r '.vms[0].power_state')" = poweredOff ] || fail "the VM is not off"
[ "$(printf '%s' "$dump" | jq -r '.vms[0].snapshots | join(",")')" = admin-before ] ||
    fail "snapshots after the run: $(printf '%s' "$dump" | jq -c '.vms[0].snapshots')"
no_leftovers vol1
exit 0
