#!/bin/sh
# shellcheck disable=SC1112,SC2015,SC2016  # literal $(...) and quotes are the test data
# vmshift inspect / define on the command line: exit codes, one-line
# errors naming the file, disk sizes from VMDK descriptors beside the
# .vmx, unmapped networks, --output that never overwrites by accident.
. "$VMSHIFT_TOP/tests/lib/functions.sh"
requires jq
tmpdir
cd "$tmp" || fail "cd $tmp"

expect() {   # rc command...: run, require exit status rc
    want=$1; shift
    "$@" > out 2> err
    rc=$?
    [ "$rc" -eq "$want" ] || fail "'$*' exited $rc, expected $want: $(cat err)"
}

cat > web.vmx <<'VMX'
.encoding = "UTF-8"
displayName = "web01"
guestOS = "rhel8-64"
memsize = "2048"
numvcpus = "2"
scsi0.present = "TRUE"
scsi0.virtualDev = "pvscsi"
scsi0:0.present = "TRUE"
scsi0:0.fileName = "web01.vmdk"
scsi0:1.present = "TRUE"
scsi0:1.fileName = "web01_1.vmdk"
ethernet0.present = "TRUE"
ethernet0.virtualDev = "vmxnet3"
ethernet0.networkName = "VM Network"
ethernet0.addressType = "vpx"
ethernet0.generatedAddress = "00:50:56:aa:bb:cc"
VMX
printf '# Disk DescriptorFile\ncreateType="vmfs"\nRW 41943040 VMFS "web01-flat.vmdk"\n' > web01.vmdk
printf '{"networks": {"VM Network": {"target": "br0", "vlan": 10}}, "retain_mac": true}\n' > map.json

expect 0 "$VMSHIFT" inspect --json web.vmx
[ "$(jq -r '.devices[0].capacity' out)" = 21474836480 ] || fail "size not read from the descriptor"
[ "$(jq -r '.devices[1].capacity' out)" = 0 ] || fail "missing descriptor should leave the size unknown"
[ "$(jq -r '.nics[0].mac' out)" = 00:50:56:aa:bb:cc ] || fail "MAC"
expect 0 "$VMSHIFT" inspect web.vmx
grep -q 'web01.vmdk  persistent  21474836480 bytes  -> web01  (boot)' out || fail "text description: $(cat out)"
expect 0 "$VMSHIFT" inspect --help
expect 0 "$VMSHIFT" define --help

# define to a file; never overwrite without --force
expect 0 "$VMSHIFT" define -t libvirt -n map.json -o web.xml web.vmx
grep -q "<mac address='00:50:56:aa:bb:cc'/>" web.xml || fail "MAC not retained"
expect 4 "$VMSHIFT" define -t libvirt -n map.json -o web.xml web.vmx
grep -q 'use --force' err || fail "no hint about --force: $(cat err)"
expect 0 "$VMSHIFT" define -t libvirt -n map.json -o web.xml --force --no-retain-mac web.vmx
grep -q "<mac " web.xml && fail "--no-retain-mac kept the MAC"
expect 0 "$VMSHIFT" define -t proxmox --vmid 150 -d nfs-ontap -n map.json web.vmx
grep -q '^scsi0: nfs-ontap:150/vm-150-disk-0.qcow2,size=20971520K$' out || fail "proxmox disk: $(cat out)"

# errors: one line, naming the file, the right exit status
printf 'displayName = "x"\nmemsize = "4096\n' > trunc.vmx
expect 3 "$VMSHIFT" inspect trunc.vmx
[ "$(wc -l < err)" -eq 1 ] || fail "error is not one line: $(cat err)"
grep -q "trunc.vmx' line 2: unterminated" err || fail "bad message: $(cat err)"
head -c 4096 /dev/urandom > bin.vmx
printf 'KDMV\0\0' >> bin.vmx
expect 3 "$VMSHIFT" inspect bin.vmx
grep -q "bin.vmx" err || fail "binary file not named: $(cat err)"
expect 3 "$VMSHIFT" inspect missing.vmx
printf '{"networks": {"Other": "br1"}}\n' > other.json
expect 3 "$VMSHIFT" define -t libvirt -n other.json web.vmx
grep -q "ethernet0 is on network 'VM Network'" err || fail "unmapped network not named: $(cat err)"
expect 3 "$VMSHIFT" define -t libvirt web.vmx
printf '{"networks": {"VM Network": "br0"}, "retain_macs": true}\n' > typo.json
expect 3 "$VMSHIFT" define -t libvirt -n typo.json web.vmx
grep -q "typo.json': unknown key 'retain_macs'" err || fail "map typo: $(cat err)"
expect 3 "$VMSHIFT" define -t kubevirt -n map.json web.vmx
grep -q "web01_1.vmdk': size unknown" err || fail "kubevirt size: $(cat err)"
expect 3 "$VMSHIFT" define -t proxmox -n map.json web.vmx
expect 2 "$VMSHIFT" define -n map.json web.vmx
expect 2 "$VMSHIFT" define -t vmware web.vmx
expect 2 "$VMSHIFT" define -t proxmox --vmid abc web.vmx
expect 2 "$VMSHIFT" inspect
echo "all CLI checks passed"
exit 0
