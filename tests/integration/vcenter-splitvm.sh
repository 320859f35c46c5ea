#!/bin/sh
# One VM whose disks sit on two ONTAP volumes (docs/blueprint.md, "VMs on
# several volumes"): ONTAP clones only within a volume, so the VM cannot
# go to one target.  A vCenter wave (the simulator's NAS datastores vol1
# and vol2 are the testenv's NFS exports of the simulated volumes) with
# that VM and one on vol1 only.  blueprint check names the VM and both
# volumes in one problem line (text and --json); migrate refuses that VM
# at its preflight with that line as its reason, converts nothing of it,
# and completes the other VM (disk identical to its source).
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/testenv.sh"
. "$(dirname "$0")/../lib/ontap.sh"
. "$(dirname "$0")/../lib/vcsim.sh"

requires qemu-img jq
tmpdir
# shellcheck disable=SC2119 # vcsim_on_testenv takes optional flags
vcsim_on_testenv
export VMSHIFT_STORE="$tmp/runs.db"
v2=$(vol_dir vol2)
vcsim_nas vol2
p=sv$$
s=${p}s1 c=${p}c1

# s1: disk 0 on vol1, disk 1 on vol2 (in a folder of its name there, made
# first: the simulator makes only the VM's folder); c1: one disk on vol1
mkdir "$v2/$s"
vcsim_vm "$s" vol1 "8,8@vol2" -guest rhel8_64Guest
vcsim_vm "$c" vol1 "8" -guest rhel8_64Guest
cat > "$tmp/bp.json" <<JSON
{"name": "split", "source": {"vcenter": "vc1", "shutdown_timeout": 30},
 "target": {"hypervisor": "libvirt", "uri": "test:///default", "format": "qcow2",
            "location": "ontap://testenv/{volume}/kvm-split"},
 "network_map": {"networks": {"VM Network": "br0"}},
 "groups": [{"name": "all", "boot_order": 1, "vms": ["$s", "$c"]}],
 "vms": {"$s": {}, "$c": {}}}
JSON
want="vms.$s: disk 'ontap://testenv/vol2/$s/${s}_1.vmdk' is on volume 'vol2' of profile 'testenv', its disk 'ontap://testenv/vol1/$s/${s}_0.vmdk' on 'vol1' of 'testenv': ONTAP clones only within a volume, so one VM's disks must share one"

# ---- blueprint check: one line under the VM, naming both volumes
log_mark
vs blueprint check "$tmp/bp.json" > "$tmp/check.out" 2>&1 && fail "check passed: $(cat "$tmp/check.out")"
[ "$(grep -c 'problem: ' "$tmp/check.out")" = 1 ] || fail "check: not one problem: $(cat "$tmp/check.out")"
sed -n "/^vm '$s'/,/^vm '/p" "$tmp/check.out" | grep -qxF "  problem: $want" ||
    fail "check: the problem is not $s's one line: $(cat "$tmp/check.out")"
vs blueprint check --json "$tmp/bp.json" > "$tmp/check.json" 2> /dev/null
jq -e --arg s "$s" --arg c "$c" --arg w "$want" \
    '.problems == 1 and (.vms[] | select(.vm == $s) | .problems == [$w]) and
     (.vms[] | select(.vm == $c) | .problems == [])' "$tmp/check.json" > /dev/null ||
    fail "check --json: $(jq -c '[.problems, [.vms[] | {vm, problems}]]' "$tmp/check.json")"
[ "$(req_count POST /api/)" = 0 ] || fail "check made something on the cluster"

# ---- migrate: that VM refused with the line, the other completes
log_mark
vs migrate --yes --json "$tmp/bp.json" > "$tmp/ev" 2> "$tmp/err" && fail "migrate: exit 0"
id=$(head -1 "$tmp/ev" | jq -r .run)
vs runs show --json "$id" > "$tmp/show.json" || fail "runs show"
jq -e --arg s "$s" --arg w "preflight: $want" \
    '.vms[] | select(.vm == $s) | .state == "failed" and .detail.reason == $w' \
    "$tmp/show.json" > /dev/null ||
    fail "$s: $(jq -c --arg s "$s" '.vms[] | select(.vm == $s)' "$tmp/show.json")"
[ "$(jq -r --arg c "$c" '.vms[] | select(.vm == $c) | .state' "$tmp/show.json")" = complete ] ||
    fail "$c: $(jq -c .vms "$tmp/show.json")"
compare_images vmdk "$v1/$c/${c}_0.vmdk" qcow2 "$v1/kvm-split/$c/${c}_0.qcow2"
[ -z "$(find "$v1/kvm-split/$s" "$v2/kvm-split" 2>/dev/null)" ] ||
    fail "something of $s was made: $(find "$v1/kvm-split/$s" "$v2/kvm-split" 2>&1)"
# only vol1 is snapshotted: the refused VM's volume is not the run's
[ "$(req_count POST /api/storage/volumes/)" = 1 ] ||
    fail "$(req_count POST /api/storage/volumes/) snapshot creates, want 1"
no_leftovers vol1
no_leftovers vol2
echo "VM on two volumes: refused with: $want"
