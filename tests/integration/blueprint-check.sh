#!/bin/sh
# vmshift blueprint check finds what will not carry over (docs/blueprint.md,
# "What blocks a VM"), each as one line naming the VM: a raw device
# mapping, a SCSI or PCI passthrough device, a shared SCSI bus, a
# nonpersistent disk mode, and a VM with more disks than the target's
# buses take (hypervisors/targets.def: Proxmox's scsi0..scsi30); an
# independent-persistent disk is a note, not a problem.  migrate refuses
# such VMs at preflight and converts nothing of them.  Local folder to
# libvirt's test driver and Proxmox artifacts; no tools/testenv.
. "$VMSHIFT_TOP/tests/lib/functions.sh"
requires jq
tmpdir
cd "$tmp" || fail "cd $tmp"
export VMSHIFT_STORE="$tmp/runs.db"

disk() {   # DIR NAME MIB: a monolithicFlat VMDK (sparse)
    truncate -s "${3}M" "$1/$2-flat.vmdk"
    printf '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n' > "$1/$2.vmdk"
    printf 'createType="monolithicFlat"\n\nRW %d FLAT "%s-flat.vmdk" 0\n' \
        $(($3 * 2048)) "$2" >> "$1/$2.vmdk"
}
vmx() {   # NAME EXTRA-LINES: a VM with disk NAME.vmdk on scsi0:0
    mkdir -p "ds/$1"
    disk "ds/$1" "$1" 1
    write_vmx -p -n none "ds/$1/$1.vmx" "$1" "$1"
    printf '%b' "$2" >> "ds/$1/$1.vmx"
}

vmx ok01 ''
vmx rdm01 'scsi0:1.present = "TRUE"\nscsi0:1.fileName = "rdm01_1.vmdk"\n'
printf '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n' > ds/rdm01/rdm01_1.vmdk
printf 'createType="vmfsPassthroughRawDeviceMap"\n\nRW 2048 VMFSRDM "rdm01_1-rdmp.vmdk"\n' >> ds/rdm01/rdm01_1.vmdk
vmx pt01 'pciPassthru0.present = "TRUE"\npciPassthru0.id = "0000:3b:00.0"\nscsi1.present = "TRUE"\nscsi1.sharedBus = "physical"\nscsi1:0.present = "TRUE"\nscsi1:0.deviceType = "scsi-passthru"\nscsi1:0.fileName = "/vmfs/devices/genscsi/naa.600"\n'
vmx mode01 'scsi0:1.present = "TRUE"\nscsi0:1.fileName = "mode01_1.vmdk"\nscsi0:1.mode = "independent-nonpersistent"\nscsi0:2.present = "TRUE"\nscsi0:2.fileName = "mode01_2.vmdk"\nscsi0:2.mode = "independent-persistent"\n'
disk ds/mode01 mode01_1 1
disk ds/mode01 mode01_2 1
# 32 disks: scsi0:1..15, scsi1:0..15 besides scsi0:0
extra='scsi1.present = "TRUE"\n'
for c in 0 1; do
    for u in $(seq 0 15); do
        [ "$c$u" = 00 ] && continue
        [ "$u" = 7 ] && continue        # the controller's own unit
        extra="${extra}scsi$c:$u.present = \"TRUE\"\\nscsi$c:$u.fileName = \"big01_$c$u.vmdk\"\\n"
    done
done
extra="${extra}scsi2.present = \"TRUE\"\\nscsi2:0.present = \"TRUE\"\\nscsi2:0.fileName = \"big01_20.vmdk\"\\n"
extra="${extra}scsi2:1.present = \"TRUE\"\\nscsi2:1.fileName = \"big01_21.vmdk\"\\n"
vmx big01 "$extra"
sed -n 's/.*fileName = "\(big01_[0-9]*\)\.vmdk"/\1/p' ds/big01/big01.vmx |
    while read -r f; do disk ds/big01 "$f" 1; done
[ "$(grep -c 'fileName' ds/big01/big01.vmx)" = 32 ] || fail "big01 should have 32 disks"

cat > bp.json <<JSON
{"name": "chk", "source": {"datastore": "$tmp/ds"},
 "target": {"hypervisor": "libvirt", "uri": "test:///default",
            "location": "$tmp/kvm"},
 "groups": [{"name": "g", "vms": ["ok01", "rdm01", "pt01", "mode01"]}],
 "vms": {"ok01": {"vmx": "ok01/ok01.vmx"}, "rdm01": {"vmx": "rdm01/rdm01.vmx"},
         "pt01": {"vmx": "pt01/pt01.vmx"}, "mode01": {"vmx": "mode01/mode01.vmx"}}}
JSON

"$VMSHIFT" blueprint check --json bp.json > chk.json
rc=$?
[ "$rc" = 1 ] || fail "blueprint check: exit $rc, expected 1 (problems): $(cat chk.json)"
p() { jq -r --arg vm "$1" '.vms[] | select(.vm == $vm) | .problems[]' chk.json; }
[ -z "$(p ok01)" ] || fail "ok01 has problems: $(p ok01)"
p rdm01 | grep -qx "vms.rdm01: disk scsi0:1 ('rdm01_1.vmdk') is a raw device mapping: its data is on a LUN, not in the datastore, and does not carry over" ||
    fail "rdm01: $(p rdm01)"
p pt01 | grep -qx "vms.pt01: pciPassthru0 is a PCI passthrough device: it does not carry over" ||
    fail "pt01 PCI: $(p pt01)"
p pt01 | grep -qx "vms.pt01: scsi1:0 is a SCSI passthrough device ('/vmfs/devices/genscsi/naa.600'): it does not carry over" ||
    fail "pt01 SCSI passthrough: $(p pt01)"
p pt01 | grep -qx "vms.pt01: controller scsi1 shares its bus ('physical', clustered disks): bus sharing does not carry over" ||
    fail "pt01 shared bus: $(p pt01)"
p mode01 | grep -qx "vms.mode01: disk scsi0:1 ('mode01_1.vmdk') is independent-nonpersistent: the target keeps every write, so the mode does not carry over" ||
    fail "mode01: $(p mode01)"
[ "$(p mode01 | wc -l)" = 1 ] || fail "independent-persistent should not be a problem: $(p mode01)"
jq -e '.vms[] | select(.vm == "mode01") | .notes | any(test("mode01_2.vmdk.*independent-persistent"))' chk.json > /dev/null ||
    fail "no note for the independent-persistent disk: $(jq -c '.vms[3].notes' chk.json)"
[ "$(jq .problems chk.json)" = 5 ] || fail "not 5 problems: $(jq -c '[.vms[].problems]' chk.json)"
# text: the same lines
"$VMSHIFT" blueprint check bp.json > chk.txt; [ $? = 1 ] || fail "text check: not exit 1"
grep -c '^  problem: vms\.' chk.txt | grep -qx 5 || fail "text problems: $(cat chk.txt)"
grep -q '^5 problems$' chk.txt || fail "no count: $(cat chk.txt)"
[ ! -e "$VMSHIFT_STORE" ] || fail "check created a store"
[ ! -e kvm ] || fail "check created the target folder"

# migrate: the preflight refuses those VMs with the first problem, and
# converts nothing of them; ok01 goes through
"$VMSHIFT" migrate --yes --json bp.json > ev.json 2> err && fail "migrate with problems succeeded"
id=$("$VMSHIFT" runs list --json | jq '.[0].id')
"$VMSHIFT" runs show --json "$id" > show.json || fail "runs show"
for vm in rdm01 pt01 mode01; do
    jq -e --arg vm $vm '.vms[] | select(.vm == $vm) | .state == "failed" and
        (.detail.reason | startswith("preflight: vms." + $vm + ": "))' show.json > /dev/null ||
        fail "$vm not refused at preflight: $(jq -c --arg vm $vm '.vms[] | select(.vm == $vm)' show.json)"
    [ ! -e "kvm/$vm" ] || fail "$vm: something was made for it"
done
jq -e '.vms[] | select(.vm == "ok01") | .state == "complete"' show.json > /dev/null ||
    fail "ok01 not complete"

# a target's bus limits (targets.def): Proxmox names SCSI disks scsi0 to
# scsi30, so 32 disks do not fit
cat > pve.json <<JSON
{"name": "pve", "source": {"datastore": "$tmp/ds"},
 "target": {"hypervisor": "proxmox", "location": "$tmp/pve", "vmid_start": 500},
 "groups": [{"name": "g", "vms": ["big01", "ok01"]}],
 "vms": {"big01": {"vmx": "big01/big01.vmx"}, "ok01": {"vmx": "ok01/ok01.vmx"}}}
JSON
"$VMSHIFT" blueprint check --json pve.json > pve-chk.json; [ $? = 1 ] || fail "pve check: not exit 1"
jq -r '.vms[] | select(.vm == "big01") | .problems[]' pve-chk.json |
    grep -qx "vms.big01: target definition (Proxmox): disk scsi2:1 ('big01_21.vmdk'): more SCSI disks than Proxmox takes (1 controller of 31)" ||
    fail "big01: $(jq -c '.vms[0].problems' pve-chk.json)"
[ "$(jq .problems pve-chk.json)" = 1 ] || fail "pve: not 1 problem"
echo "blueprint check ok"
