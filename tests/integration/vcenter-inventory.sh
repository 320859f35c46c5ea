#!/bin/sh
# vmshift inventory against VMware's vCenter simulator: every field of
# every VM (the default inventory and VMs the test makes: several disks,
# NICs on standard and distributed port groups, guest IPs, snapshots, EFI
# with Secure Boot, an independent disk, hostile names) equals what the
# simulator holds, read back through its own API (vcsim-ctl).  Filters,
# an unknown VM, and names that reach no shell and no XML unescaped.
# shellcheck disable=SC2015,SC2016,SC2119 # "A && B || fail" means fail unless both hold; $(...) in names is literal; start_vcsim takes optional flags
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/vcsim.sh"

tmpdir
start_vcsim
vcsim_config "$tmp/cfg.json"
vs() { "$VMSHIFT" --config "$tmp/cfg.json" "$@"; }

# the same shape from both sides, sorted keys
shape='[.vms[] | {name, instance_uuid, power_state, guest_id, firmware,
  secure_boot, cpus, memory_mib, tools_status, tools_running, folder,
  nics: [.nics[] | {mac, network, network_kind, ips}],
  disks: [.disks[] | {file, datastore, capacity_bytes, thin, controller, mode}],
  snapshots, blockers: [.blockers[] | {kind, device}]}]'
compare() {   # what [vmshift-args...]
    _w=$1; shift
    vs inventory --vcenter vc1 --json "$@" > "$tmp/inv.json" || fail "$_w: inventory failed"
    jq -S "$shape" "$tmp/inv.json" > "$tmp/a.json" || fail "$_w: vmshift JSON unreadable"
    vcsim_ctl dump > "$tmp/ref-all.json" || fail "$_w: vcsim-ctl dump failed"
    jq -S --slurpfile mine "$tmp/inv.json" \
        "{vms: [.vms[] | select(.name as \$n | \$mine[0].vms | map(.name) | index(\$n))]} | $shape" \
        "$tmp/ref-all.json" > "$tmp/b.json"
    if ! cmp -s "$tmp/a.json" "$tmp/b.json"; then
        diff -u "$tmp/b.json" "$tmp/a.json" | head -40
        fail "$_w: vmshift's inventory differs from the simulator's"
    fi
    [ "$(jq length "$tmp/a.json")" -gt 0 ] || fail "$_w: no VMs compared"
}

# --- the simulator's default inventory
compare "default inventory"
[ "$(jq '.vms | length' "$tmp/inv.json")" = 4 ] || fail "default: $(jq -c '.vms | map(.name)' "$tmp/inv.json")"
jq -e '.datastores[] | select(.name == "LocalDS_0") | .ontap == null and
       (.problem | test("not on ONTAP NFS: storage vMotion it first"))' "$tmp/inv.json" > /dev/null ||
    fail "a local datastore is not reported as needing storage vMotion"

# --- VMs the test makes, on a NAS datastore, in a hostile folder
mkdir "$tmp/nas1"
vcsim_ctl add-nas "$tmp/nas1" 192.0.2.10 /vol_nas1 > /dev/null || fail "add-nas"
folder='we"ird]$(touch pwned)'
vcsim_ctl folder "$folder" || fail "folder"
vcsim_ctl create-vm web01 -ds nas1 -disks "64,128:thick,32:indep" \
    -nics "VM Network,DC0_DVPG0" -ips "10.0.0.5,10.0.1.5" -efi -secure-boot \
    -cpus 2 -mem 2048 -folder "$folder" -snapshots "base,after-patch" -on > /dev/null ||
    fail "create-vm web01"
nl='
'
hostile="db\"01]${nl}<x>&'\$(touch pwned)"
vcsim_ctl create-vm "$hostile" -ds nas1 -disks "16" -nics "DC0_DVPG0" -guest windows9_64Guest \
    > /dev/null || fail "create-vm hostile"
compare "made VMs"
[ "$(jq '.vms | length' "$tmp/inv.json")" = 6 ] || fail "6 VMs expected"
w() { jq -r ".vms[] | select(.name == \"web01\") | $1" "$tmp/inv.json"; }
[ "$(w '.disks | length')" = 3 ] && [ "$(w '.nics | length')" = 2 ] &&
    [ "$(w '.snapshots | length')" = 2 ] && [ "$(w .firmware)" = efi ] ||
    fail "web01 as made: $(w .)"
jq -e --arg n "$hostile" '.vms[] | select(.name == $n)' "$tmp/inv.json" > /dev/null ||
    fail "the hostile VM name did not come back intact"
[ ! -e pwned ] && [ ! -e "$tmp/pwned" ] || fail "a name reached a shell"
jq -e '.datastores[] | select(.name == "nas1") | .remote_host == "192.0.2.10" and
       .remote_path == "/vol_nas1" and .type == "NFS"' "$tmp/inv.json" > /dev/null ||
    fail "NAS datastore: $(jq -c '.datastores' "$tmp/inv.json")"

# text output: one line per item, a newline in a name is shown escaped
vs inventory --vcenter vc1 > "$tmp/inv.txt" || fail "text inventory failed"
grep -q "^VM 'db\"01\]\\\\x0a<x>&\\\\'\$(touch pwned)' " "$tmp/inv.txt" ||
    fail "hostile name in text: $(grep '^VM' "$tmp/inv.txt")"
grep -q '^  will not carry over: independent (scsi0:2)$' "$tmp/inv.txt" ||
    fail "the independent disk is not reported"

# --- filters
n() { vs inventory --vcenter vc1 --json "$@" | jq '.vms | length'; }
[ "$(n --vm web01)" = 1 ] || fail "--vm"
[ "$(n --vm web01 --vm DC0_H0_VM0)" = 2 ] || fail "--vm twice"
[ "$(n --folder "/DC0/vm/$folder")" = 1 ] || fail "--folder (hostile)"
[ "$(n --folder /DC0/vm)" = 6 ] || fail "--folder /DC0/vm"
[ "$(n --folder /DC0/v)" = 0 ] || fail "--folder matches a prefix of a name"
[ "$(n --datastore nas1)" = 2 ] || fail "--datastore"
vs inventory --vcenter vc1 --vm nosuch > "$tmp/o" 2>&1
rc=$?
[ $rc = 3 ] || fail "unknown VM: exit $rc"
[ "$(wc -l < "$tmp/o")" = 1 ] && grep -q "no VM named 'nosuch'" "$tmp/o" || fail "unknown VM: $(cat "$tmp/o")"
vs inventory --vcenter nosuch > "$tmp/o" 2>&1
[ $? = 3 ] && grep -q "no vCenter profile 'nosuch'" "$tmp/o" || fail "unknown profile: $(cat "$tmp/o")"

# --- ESXi (the HostAgent API) works the same way
stop_vcsim
start_vcsim -esx
vcsim_config "$tmp/cfg.json"
compare "standalone ESXi"
exit 0
