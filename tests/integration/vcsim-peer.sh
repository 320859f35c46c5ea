#!/bin/sh
# The vCenter simulator itself (tests/vcsim): starts over TLS with its own
# certificate, refuses a wrong password, and the Go reader sees the VMs,
# NICs, disks and snapshots a test arranges, including hostile names; the
# test hooks count requests and inject faults.
# shellcheck disable=SC2015,SC2016,SC2119 # "A && B || fail" means fail unless both hold; $(...) in names is meant literally; start_vcsim takes optional flags
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/vcsim.sh"

requires openssl
tmpdir
start_vcsim

# TLS: the printed fingerprint is the served certificate's
fp=$(openssl x509 -in "$VCSIM_CA" -noout -fingerprint -sha256 | sed 's/.*=//')
[ "$fp" = "$VCSIM_FINGERPRINT" ] || fail "fingerprint $VCSIM_FINGERPRINT, certificate $fp"
curl -sSf --cacert "$VCSIM_CA" -o /dev/null "${VCSIM_URL%/sdk}/about" ||
    fail "the CA file does not verify the simulator"

# a wrong password is refused with InvalidLogin
printf 'wrong\n' > "$tmp/bad" && chmod 600 "$tmp/bad"
VCSIM_PASSWORD_FILE=$tmp/bad vcsim_ctl dump > "$tmp/o" 2>&1 && fail "a wrong password was accepted"
grep -q 'Login failure' "$tmp/o" || fail "wrong password: $(cat "$tmp/o")"

# the default inventory: 4 VMs on LocalDS_0, powered on
vcsim_ctl dump > "$tmp/d.json" || fail "dump failed"
[ "$(jq '.vms | length' "$tmp/d.json")" = 4 ] || fail "default VMs: $(jq -c '.vms | map(.name)' "$tmp/d.json")"
[ "$(jq -r '[.vms[].power_state] | unique | join(",")' "$tmp/d.json")" = poweredOn ] || fail "power states"

# an arranged VM in a hostile folder, on a NAS datastore
mkdir "$tmp/vol1"
vcsim_ctl add-nas "$tmp/vol1" 127.0.0.1 /vol1 > /dev/null || fail "add-nas"
folder='we"ird]$(touch x)'
vcsim_ctl folder "$folder" || fail "folder"
vcsim_ctl create-vm 'web 01"]' -ds vol1 -disks "64,128:thick,32:indep" \
    -nics "VM Network,DC0_DVPG0" -ips "10.0.0.5,10.0.1.5" -efi -secure-boot \
    -cpus 2 -mem 2048 -folder "$folder" -snapshots "s1,s2" -on > /dev/null || fail "create-vm"
vcsim_ctl dump 'web 01"]' > "$tmp/w.json" || fail "dump web01"
w() { jq -r ".vms[0] | $1" "$tmp/w.json"; }
[ "$(w .folder)" = "/DC0/vm/$folder" ] || fail "folder $(w .folder)"
[ "$(w '[.firmware, .secure_boot, .cpus, .memory_mib] | join(" ")')" = "efi true 2 2048" ] || fail "hardware $(w .)"
[ "$(w '.nics | map(.network_kind + "=" + .network + "=" + (.ips | join("/"))) | join(",")')" = \
  "standard=VM Network=10.0.0.5,distributed=DC0_DVPG0=10.0.1.5" ] || fail "nics $(w .nics)"
[ "$(w '.disks | map(.controller + " " + (.thin | tostring) + " " + (.capacity_bytes | tostring)) | join(",")')" = \
  "scsi0:0 true 67108864,scsi0:1 false 134217728,scsi0:2 true 33554432" ] || fail "disks $(w .disks)"
[ "$(w '.disks[0].file')" = "[vol1] web 01\"]/web 01\"]_0.vmdk" ] || fail "disk file $(w '.disks[0].file')"
[ "$(w '.snapshots | join(",")')" = "s1,s2" ] || fail "snapshots $(w .snapshots)"
[ "$(w '.blockers | map(.kind + "@" + .device) | join(",")')" = "independent@scsi0:2" ] || fail "blockers $(w .blockers)"
[ -f "$tmp/vol1/web 01\"]/web 01\"]_0.vmdk" ] || fail "the disk file is not on the NAS directory"
[ ! -e x ] && [ ! -e "$tmp/x" ] || fail "a name reached a shell"
vcsim_ctl datastores | jq -e '.[] | select(.Name == "vol1" and .RemoteHost == "127.0.0.1" and .RemotePath == "/vol1")' \
    > /dev/null || fail "NAS datastore: $(vcsim_ctl datastores)"

# hooks: counts, and an ignored ShutdownGuest
[ "$(vcsim_count Login)" -ge 5 ] || fail "Login count $(vcsim_count Login)"
vcsim_hook 'deaf?vm=DC0_H0_VM0' > /dev/null
vcsim_ctl power DC0_H0_VM0 shutdown && vcsim_ctl power DC0_H0_VM1 shutdown || fail "ShutdownGuest"
[ "$(vcsim_ctl dump DC0_H0_VM0 DC0_H0_VM1 | jq -r '.vms | map(.power_state) | join(",")')" = poweredOn,poweredOff ] ||
    fail "the deaf VM powered off, or the other did not"
n0=$(vcsim_count total)
[ "$n0" -gt 0 ] || fail "no requests counted"
vcsim_ctl terminate-sessions > /dev/null || fail "terminate-sessions"
exit 0
