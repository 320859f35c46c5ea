#!/bin/sh
# vmshift migrate on the test environment (reflink XFS, nfs-ganesha, ONTAP
# simulator) to libvirt's test driver: a wave of 6 VMs in 3 boot-order
# groups.  Every disk compares identical to its source and shares its
# blocks, the domains are defined and started in boot order (as read back
# from the driver by the run and kept in the store), the guest-script
# bundle is there, no snapshot or temporary is left, the source is
# unchanged; a second run of the same blueprint is refused naming the
# first; --test then cleanup leaves nothing; bad blueprints exit 3 with one
# line and create no run.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/testenv.sh"
. "$(dirname "$0")/../lib/ontap.sh"
ontap_testenv filefrag md5sum
store=$tmp/runs.db
export VMSHIFT_STORE="$store"

for vm in db01 db02 app01 app02 web01 web02; do
    # db01 and app01 have a second disk (8 MiB); a static MAC each
    case $vm in db01|app01) set -- 24 8 ;; *) set -- 24 ;; esac
    make_vm -h -m 1024 -p -n vmxnet3 "$v1/ds" "$vm" "$@"
    printf 'ethernet0.addressType = "static"\nethernet0.address = "00:50:56:01:02:%02x"\n' \
        "$(printf '%s' "$vm" | cksum | cut -c1-2)" >> "$v1/ds/$vm/$vm.vmx"
done
flat_sums "$v1/ds" > "$tmp/sums0"

cat > "$tmp/wave.json" <<'JSON'
{"name": "wave1",
 "source": {"datastore": "ontap://testenv/vol1/ds"},
 "target": {"hypervisor": "libvirt", "uri": "test:///default",
            "format": "qcow2", "location": "ontap://testenv/vol1/kvm",
            "host_path": "/srv/kvm"},
 "network_map": {"networks": {"VM Network": "br0"}, "retain_mac": true},
 "ip": "retain", "concurrency": 4,
 "groups": [{"name": "web", "boot_order": 3, "vms": ["web01", "web02"]},
            {"name": "db", "boot_order": 1, "boot_delay": 1, "vms": ["db01", "db02"]},
            {"name": "app", "boot_order": 2, "vms": ["app01", "app02"]}],
 "vms": {"db01": {"vmx": "db01/db01.vmx"}, "db02": {"vmx": "db02/db02.vmx"},
         "app01": {"vmx": "app01/app01.vmx"}, "app02": {"vmx": "app02/app02.vmx"},
         "web01": {"vmx": "web01/web01.vmx"},
         "web02": {"vmx": "web02/web02.vmx", "power_on": false}}}
JSON

# check: everything resolves, nothing changes
log_mark
vsh blueprint check --json "$tmp/wave.json" > "$tmp/check.json" ||
    fail "blueprint check: $(cat "$tmp/check.json")"
[ "$(jq .problems "$tmp/check.json")" = 0 ] || fail "problems: $(cat "$tmp/check.json")"
[ "$(jq '.vms | length' "$tmp/check.json")" = 6 ] || fail "not 6 VMs"
[ "$(req_count POST /api/)" = 0 ] || fail "check made something on the cluster"
[ ! -e "$store" ] || fail "check created a store"

log_mark
vsh migrate --yes --json "$tmp/wave.json" > "$tmp/events" 2> "$tmp/err" ||
    fail "migrate: $(cat "$tmp/err")"
jq -e . "$tmp/events" > /dev/null || fail "events are not JSON lines"
id=$(head -1 "$tmp/events" | jq -r .run)
vsh runs show --json "$id" > "$tmp/show.json" || fail "runs show"
[ "$(jq -r .state "$tmp/show.json")" = complete ] || fail "run not complete: $(jq -c . "$tmp/show.json")"
[ "$(jq '[.vms[] | select(.state == "complete")] | length' "$tmp/show.json")" = 6 ] ||
    fail "not every VM complete"
# one snapshot for the whole run, deleted at the end
[ "$(req_count POST /api/storage/volumes/)" = 1 ] || fail "not exactly one snapshot create"
[ "$(req_count DELETE /api/storage/volumes/)" = 1 ] || fail "snapshot not deleted"
no_leftovers vol1

# every disk identical to its source and sharing its blocks
for vm in db01 db02 app01 app02 web01 web02; do
    for src in "$v1/ds/$vm"/*.vmdk; do
        case $src in *-flat.vmdk) continue ;; esac
        b=$(basename "$src" .vmdk)
        out=$v1/kvm/$vm/$b.qcow2
        [ -f "$out" ] || fail "no $out"
        compare_images vmdk "$src" qcow2 "$out"
        filefrag -v "$out" | grep -q shared || fail "$out: no shared extents"
    done
    [ -f "$v1/kvm/$vm/$vm.xml" ] || fail "no definition for $vm"
    grep -q "<source file='/srv/kvm/$vm/$vm.qcow2'/>" "$v1/kvm/$vm/$vm.xml" ||
        fail "definition does not name the disk by host path"
    [ -f "$v1/kvm/$vm/guest/linux-reapply.sh" ] || fail "no guest bundle for $vm"
done

# the domains, as the run read them back through its connection: started
# in boot order (db < app < web), web02 defined but left off
jq -r '.detail.domains[] | "\(.vm) \(.state) \(.id)"' "$tmp/show.json" > "$tmp/doms"
[ "$(wc -l < "$tmp/doms")" = 6 ] || fail "not 6 domains: $(cat "$tmp/doms")"
grep -q '^web02 shutoff -1$' "$tmp/doms" || fail "web02 should be defined, off: $(cat "$tmp/doms")"
order=$(grep running "$tmp/doms" | sort -k3 -n | cut -d' ' -f1 | cut -c1-2 | tr '\n' ' ')
case $order in "db db ap ap we ") ;; *) fail "start order: $order ($(cat "$tmp/doms"))" ;; esac
grep -q '"step":"boot-delay"' "$tmp/events" || fail "no boot delay after the db group"

# the source is never written
flat_sums "$v1/ds" > "$tmp/sums1"
cmp -s "$tmp/sums0" "$tmp/sums1" || fail "the source changed"

# a real run is not cleaned up once complete
vsh runs cleanup "$id" 2> "$tmp/err" && fail "cleanup of a finished migration"
[ "$(wc -l < "$tmp/err")" = 1 ] || fail "not one line: $(cat "$tmp/err")"

# --test then cleanup: test names, test location, nothing left after
log_mark
vsh migrate --yes --test --json "$tmp/wave.json" > "$tmp/tevents" 2> "$tmp/err" ||
    fail "migrate --test: $(cat "$tmp/err")"
tid=$(vsh runs list --json | jq '[.[] | select(.test)][0].id')
[ -f "$v1/kvm-test/db01-vmshift-test/db01.qcow2" ] || fail "no test disk"
# the test VM's NIC is on no network: a tap device plugged into nothing,
# link down (docs/blueprint.md); the test driver defined it, and it is
# valid against libvirt's schema
txml=$v1/kvm-test/db01-vmshift-test/db01-vmshift-test.xml
grep -q "<interface type='ethernet'>" "$txml" || fail "test NIC not type ethernet: $(cat "$txml")"
grep -q "<link state='down'/>" "$txml" || fail "test NIC link not down"
grep -q "<source bridge\|<source network\|br0" "$txml" && fail "test NIC attached to a network"
if command -v virt-xml-validate > /dev/null; then
    virt-xml-validate "$txml" domain > "$tmp/val" 2>&1 || fail "test definition: $(cat "$tmp/val")"
fi
grep -q '"vm":"db01","state":"registered"' "$tmp/tevents" || fail "test VM not registered"
compare_images vmdk "$v1/ds/db01/db01.vmdk" qcow2 "$v1/kvm-test/db01-vmshift-test/db01.qcow2"
vsh runs cleanup "$tid" 2> "$tmp/err" || fail "cleanup of the test run: $(cat "$tmp/err")"
left=$(find "$v1/kvm-test" -type f | head -3)
[ -z "$left" ] || fail "cleanup left $left"
[ "$(vsh runs show --json "$tid" | jq -r .state)" = cleaned ] || fail "test run not cleaned"
no_leftovers vol1
[ -f "$v1/kvm/db01/db01.qcow2" ] || fail "cleanup of the test run touched the real one"

# bad blueprints: one line naming the key, exit 3, no run created
n0=$(vsh runs list --json | jq length)
bad() {   # JQ-EDIT WANT
    jq "$1" "$tmp/wave.json" > "$tmp/bad.json"
    vsh migrate --yes "$tmp/bad.json" > /dev/null 2> "$tmp/err"
    rc=$?
    [ "$rc" = 3 ] || fail "$1: exit $rc, expected 3: $(cat "$tmp/err")"
    [ "$(wc -l < "$tmp/err")" = 1 ] || fail "$1: not one line: $(cat "$tmp/err")"
    grep -qF "$2" "$tmp/err" || fail "$1: message does not name '$2': $(cat "$tmp/err")"
}
bad '.vms.db01.cpu = 2' "vms.db01: unknown key 'cpu'"
bad '.groups[2].vms += ["db01"]' "groups[2].vms[2]: VM 'db01' is also in group 'db'"
bad '.vms.web01.target_name = "web02"' "target name 'web02' is also VM"
bad '.network_map.networks = {"VM Network": {}}' "network_map: network 'VM Network'"
[ "$(vsh runs list --json | jq length)" = "$n0" ] || fail "a bad blueprint created a run"
vsh migrate 2> "$tmp/err"; [ $? = 2 ] || fail "no FILE: not exit 2"

# Proxmox and Hyper-V: no API here, so the run writes the artifacts and
# one register script per VM, and ends saying registration is the
# admin's step
jq '.name = "pve" | .target = {"hypervisor": "proxmox", "location":
    "ontap://testenv/vol1/pve", "storage": "ontapnfs", "vmid_start": 700}' \
    "$tmp/wave.json" > "$tmp/pve.json"
vsh migrate --yes "$tmp/pve.json" > /dev/null 2> "$tmp/err" || fail "proxmox wave: $(cat "$tmp/err")"
pid=$(vsh runs list --json | jq '.[0].id')
[ "$(vsh runs show --json "$pid" | jq -r .state)" = admin-step ] || fail "proxmox run not 'admin-step'"
vsh runs show --json "$pid" | jq -e '[.vms[].state] | unique == ["admin-step"]' > /dev/null ||
    fail "proxmox VMs not 'admin-step'"
sh -n "$v1/pve/db01/register.sh" || fail "register.sh does not parse"
grep -qx 'qm start 700' "$v1/pve/db01/register.sh" || fail "no 'qm start 700': $(cat "$v1/pve/db01/register.sh")"
grep -q 'install -m 0640 db01.conf /etc/pve/qemu-server/700.conf' "$v1/pve/db01/register.sh" ||
    fail "register.sh does not install the configuration"
grep -q '^scsi0: ontapnfs:' "$v1/pve/db01/db01.conf" || fail "proxmox disk line: $(cat "$v1/pve/db01/db01.conf")"
compare_images vmdk "$v1/ds/db01/db01.vmdk" qcow2 "$v1/pve/db01/db01.qcow2"
jq '.name = "hv" | .target = {"hypervisor": "hyperv", "location": "ontap://testenv/vol1/hyperv"}' \
    "$tmp/wave.json" > "$tmp/hv.json"
vsh migrate --yes "$tmp/hv.json" > /dev/null 2> "$tmp/err" || fail "hyper-v wave: $(cat "$tmp/err")"
[ -f "$v1/hyperv/web01/register.ps1" ] || fail "no register.ps1"
[ -f "$v1/hyperv/web01/web01.ps1" ] || fail "no Hyper-V definition"
compare_images vmdk "$v1/ds/web01/web01.vmdk" vhdx "$v1/hyperv/web01/web01.vhdx"
style=$(rest "/api/storage/qtrees?name=hyperv&fields=security_style" | jq -r '.records[0].security_style')
[ "$style" = ntfs ] || fail "Hyper-V qtree has style $style"

# a Hyper-V wave into the libvirt wave's UNIX qtree 'kvm': blueprint check
# names it for every VM with one GET and changes nothing; with
# target.qtree_style "fix" it is no problem (the conversion would change it)
jq '.name = "hvq" | .target = {"hypervisor": "hyperv", "location": "ontap://testenv/vol1/kvm/hv"}' \
    "$tmp/wave.json" > "$tmp/hvq.json"
log_mark
vsh blueprint check --json "$tmp/hvq.json" > "$tmp/hvq-check.json"
[ $? = 1 ] || fail "check into a UNIX qtree: not exit 1: $(cat "$tmp/hvq-check.json")"
jq -e '[.vms[] | .vm as $vm | .problems[] | select(. == "vms." + $vm + ": target.location: qtree '"'kvm'"' has security style '"'unix'"', and vhdx disks need '"'ntfs'"' (target.qtree_style \"fix\" changes it, as convert --qtree-style fix does)")] | length == 6' \
    "$tmp/hvq-check.json" > /dev/null || fail "qtree problems: $(jq -c '[.vms[].problems]' "$tmp/hvq-check.json")"
[ "$(jq .problems "$tmp/hvq-check.json")" = 6 ] || fail "other problems: $(jq -c '[.vms[].problems]' "$tmp/hvq-check.json")"
[ "$(req_count GET /api/storage/qtrees)" = 1 ] || fail "not one qtree lookup"
if [ "$(req_count PATCH /api/)" != 0 ] || [ "$(req_count POST /api/)" != 0 ]; then
    fail "check changed something"
fi
jq '.target.qtree_style = "fix"' "$tmp/hvq.json" > "$tmp/hvq-fix.json"
vsh blueprint check --json "$tmp/hvq-fix.json" > "$tmp/hvq-check.json" ||
    fail "qtree_style fix: $(jq -c '[.vms[].problems]' "$tmp/hvq-check.json")"
style=$(rest "/api/storage/qtrees?name=kvm&fields=security_style" | jq -r '.records[0].security_style')
[ "$style" = unix ] || fail "check changed the qtree's style to $style"
no_leftovers vol1
echo "migration wave ok"
