#!/bin/sh
# A wave with a vCenter source (docs/blueprint.md "A vCenter source") on
# the test environment and VMware's vCenter simulator: the simulator's
# NAS datastore is the testenv's NFS export of ONTAP volume vol1, and the
# VMs' disks are real VMDKs there.  Three VMs, powered on (one by name,
# two by folder), are shut down gracefully, get the run's VM snapshot,
# are converted from the volume snapshot and defined on libvirt's test
# driver; afterwards (read back through the simulator's own API by
# tests/vcsim/ctl, not through vmshift) they are powered off and keep
# every snapshot they had except the run's own.  A run killed (-9) just
# after the shutdown and just after the VM snapshot is resumed without a
# second ShutdownGuest or snapshot.  Abort before the cut-over powers the
# VM the run shut down back on (the one that was off stays off), keeps
# the run's VM snapshots until cleanup, and cleanup removes only those.
# shellcheck disable=SC2015,SC2119,SC2016 # "A && B || fail" means fail unless both hold; start_vcsim takes optional flags; '$' in grep patterns is PowerShell's
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/testenv.sh"
. "$(dirname "$0")/../lib/ontap.sh"
. "$(dirname "$0")/../lib/vcsim.sh"
. "$(dirname "$0")/guest-lib.sh"

requires qemu-img jq
tmpdir
vcsim_on_testenv
export VMSHIFT_STORE="$tmp/runs.db"

p=vb$$
fold=w$$
vcsim_ctl folder "$fold" > /dev/null || fail "folder"

mkvm() {   # NAME DISKS(MB,MB..) [create-vm flags]: on vol1, real VMDKs
    _n=$1 _sizes=$2
    shift 2
    vcsim_vm "$_n" vol1 "$_sizes" -guest rhel8_64Guest "$@"
}
state() {   # VM -> "POWER SNAP,SNAP"
    vcsim_ctl dump "$1" | jq -r '.vms[0] | "\(.power_state) \(.snapshots | join(","))"'
}
bp() {   # NAME GROUPS VMS > file
    cat <<JSON
{"name": "$1", "source": {"vcenter": "vc1", "shutdown_timeout": 30},
 "target": {"hypervisor": "libvirt", "uri": "test:///default", "format": "qcow2",
            "location": "ontap://testenv/vol1/kvm-$1", "host_path": "/srv/kvm"},
 "network_map": {"networks": {"VM Network": "br0"}, "retain_mac": true},
 "ip": "retain", "groups": $2, "vms": $3}
JSON
}

# ---- the wave: db by name (EFI, 2 CPUs, 2 disks, a guest IP, an admin's
# snapshot), two web VMs by folder
mkvm "${p}db" 32,16 -ips 192.0.2.10 -efi -cpus 2 -mem 1024 -snapshots admin-before -on
mkvm "${p}w1" 24 -folder "$fold" -on
# w2 is a Windows guest with two NICs (a static one and a DHCP one)
mkvm "${p}w2" 24 -folder "$fold" -on -guest windows2019srv_64Guest \
    -nics "VM Network,VM Network"
# What VMware Tools would report (set inside the simulator): db has
# static addresses, routes and DNS, a link-local and a hostile search
# domain; w1 has only a DHCP address and the route DHCP gave it.
canary=$tmp/canary
cat > "$tmp/gi-db.json" <<JSON
{"net": [{"ipConfig": {"ipAddress": [
   {"ipAddress": "192.0.2.10", "prefixLength": 24, "origin": "manual", "state": "preferred"},
   {"ipAddress": "2001:db8::10", "prefixLength": 64, "origin": "manual", "state": "preferred"},
   {"ipAddress": "fe80::250:56ff:fe00:10", "prefixLength": 64, "origin": "linklayer", "state": "preferred"}]}}],
 "ipStack": [{"dnsConfig": {"dhcp": false, "hostName": "db", "domainName": "example.com",
                            "ipAddress": ["192.0.2.53", "2001:db8::53"],
                            "searchDomain": ["example.com", "x'\$(touch $canary)'", "a\nb", "corp.example"]},
              "ipRouteConfig": {"ipRoute": [
   {"network": "0.0.0.0", "prefixLength": 0, "gateway": {"ipAddress": "192.0.2.1", "device": "0"}},
   {"network": "10.9.0.0", "prefixLength": 16, "gateway": {"ipAddress": "192.0.2.254", "device": "0"}},
   {"network": "192.0.2.0", "prefixLength": 24, "gateway": {"device": "0"}},
   {"network": "ff00::", "prefixLength": 8, "gateway": {"device": "0"}},
   {"network": "::", "prefixLength": 0, "gateway": {"ipAddress": "2001:db8::1", "device": "0"}}]}}]}
JSON
cat > "$tmp/gi-w1.json" <<JSON
{"net": [{"ipConfig": {"ipAddress": [
   {"ipAddress": "198.51.100.7", "prefixLength": 24, "origin": "dhcp", "state": "preferred"}]}}],
 "ipStack": [{"ipRouteConfig": {"ipRoute": [
   {"network": "0.0.0.0", "prefixLength": 0, "gateway": {"ipAddress": "198.51.100.1", "device": "0"}}]}}]}
JSON
# w2 (Windows): per-adapter DNS (a hostile suffix), a persistent route,
# on-link and host routes (no gateway), a hostile search domain; its
# second NIC is on DHCP.
cat > "$tmp/gi-w2.json" <<JSON
{"net": [{"ipConfig": {"ipAddress": [
   {"ipAddress": "192.0.2.20", "prefixLength": 24, "origin": "manual", "state": "preferred"},
   {"ipAddress": "2001:db8::20", "prefixLength": 64, "origin": "manual", "state": "preferred"},
   {"ipAddress": "fe80::250:56ff:fe00:20", "prefixLength": 64, "origin": "linklayer", "state": "preferred"}]},
          "dnsConfig": {"dhcp": false, "hostName": "w2", "domainName": "x\`\$(touch $canary)",
                        "ipAddress": ["192.0.2.53", "2001:db8::53", "1.1.1.1'; iex x"]}},
         {"ipConfig": {"ipAddress": [
   {"ipAddress": "198.51.100.20", "prefixLength": 24, "origin": "dhcp", "state": "preferred"}]},
          "dnsConfig": {"dhcp": true, "domainName": "dhcp.example",
                        "ipAddress": ["198.51.100.53"]}}],
 "ipStack": [{"dnsConfig": {"dhcp": false, "hostName": "w2", "domainName": "corp.example",
                            "ipAddress": ["192.0.2.53"],
                            "searchDomain": ["corp.example", "\$(touch $canary)", "example.com"]},
              "ipRouteConfig": {"ipRoute": [
   {"network": "0.0.0.0", "prefixLength": 0, "gateway": {"ipAddress": "192.0.2.1", "device": "0"}},
   {"network": "10.9.0.0", "prefixLength": 16, "gateway": {"ipAddress": "192.0.2.254", "device": "0"}},
   {"network": "192.0.2.0", "prefixLength": 24, "gateway": {"device": "0"}},
   {"network": "192.0.2.20", "prefixLength": 32, "gateway": {"device": "0"}},
   {"network": "224.0.0.0", "prefixLength": 4, "gateway": {"device": "0"}},
   {"network": "::", "prefixLength": 0, "gateway": {"ipAddress": "2001:db8::1", "device": "0"}},
   {"network": "0.0.0.0", "prefixLength": 0, "gateway": {"ipAddress": "198.51.100.1", "device": "1"}}]}}]}
JSON
for vm in db w1 w2; do
    curl -sSf --cacert "$VCSIM_CA" --data-binary "@$tmp/gi-$vm.json" \
        "${VCSIM_URL%/sdk}/vcsim-test/guestinfo?vm=$p$vm" > /dev/null || fail "guestinfo $vm"
done
bp wave "[{\"name\": \"db\", \"boot_order\": 1, \"vms\": [\"${p}db\"]},
          {\"name\": \"web\", \"boot_order\": 2, \"folder\": \"/DC0/vm/$fold\"}]" \
   "{\"${p}db\": {}}" > "$tmp/wave.json"

vs blueprint check --json "$tmp/wave.json" > "$tmp/check.json" 2> "$tmp/err" ||
    fail "blueprint check: $(cat "$tmp/err") $(cat "$tmp/check.json")"
[ "$(jq .problems "$tmp/check.json")" = 0 ] || fail "problems: $(cat "$tmp/check.json")"
[ "$(jq -r '[.vms[].vm] | sort | join(" ")' "$tmp/check.json")" = "${p}db ${p}w1 ${p}w2" ] ||
    fail "the folder's VMs: $(jq -c '[.vms[].vm]' "$tmp/check.json")"
jq -e --arg d "ontap://testenv/vol1/${p}db/${p}db_1.vmdk" \
    '[.vms[].disks[].source] | index($d) != null' "$tmp/check.json" > /dev/null ||
    fail "disk locations: $(jq -c '[.vms[].disks[]]' "$tmp/check.json")"
for vm in db w1 w2; do
    [ "$(state "$p$vm" | cut -d' ' -f1)" = poweredOn ] || fail "check changed $p$vm"
done
[ "$(vcsim_count ShutdownGuest)" = 0 ] || fail "check shut a VM down"
mac_db=$(vcsim_ctl dump "${p}db" | jq -r '.vms[0].nics[0].mac')
cs0=$(vcsim_count CreateSnapshot_Task) po0=$(vcsim_count PowerOffVM_Task)

vs migrate --yes --json "$tmp/wave.json" > "$tmp/events" 2> "$tmp/err" ||
    fail "migrate: $(cat "$tmp/err")"
id=$(head -1 "$tmp/events" | jq -r .run)
vs runs show --json "$id" > "$tmp/show.json" || fail "runs show"
[ "$(jq -r .state "$tmp/show.json")" = complete ] ||
    fail "run not complete: $(jq -c . "$tmp/show.json")"
[ "$(jq '[.vms[] | select(.state == "complete")] | length' "$tmp/show.json")" = 3 ] ||
    fail "not 3 VMs complete: $(jq -c .vms "$tmp/show.json")"
for step in shutdown vm-snapshot vm-snapshot-removed; do
    [ "$(jq -r "select(.step == \"$step\") | .vm" "$tmp/events" | sort -u | wc -l)" = 3 ] ||
        fail "not one '$step' per VM: $(grep "\"$step\"" "$tmp/events")"
done
[ "$(vcsim_count ShutdownGuest)" = 3 ] || fail "ShutdownGuest $(vcsim_count ShutdownGuest) times"
[ "$(vcsim_count CreateSnapshot_Task)" = $((cs0 + 3)) ] ||
    fail "CreateSnapshot_Task $(($(vcsim_count CreateSnapshot_Task) - cs0)) times"
[ "$(vcsim_count PowerOffVM_Task)" = "$po0" ] || fail "a VM was powered off, not shut down"

# the source, read back through the simulator: off, own snapshots kept
[ "$(state "${p}db")" = "poweredOff admin-before" ] || fail "db: $(state "${p}db")"
[ "$(state "${p}w1")" = "poweredOff " ] || fail "w1: $(state "${p}w1")"
[ "$(state "${p}w2")" = "poweredOff " ] || fail "w2: $(state "${p}w2")"

# converted disks equal their sources; the definition from the inventory
k=$v1/kvm-wave
for d in 0 1; do
    compare_images vmdk "$v1/${p}db/${p}db_$d.vmdk" qcow2 "$k/${p}db/${p}db_$d.qcow2"
done
compare_images vmdk "$v1/${p}w1/${p}w1_0.vmdk" qcow2 "$k/${p}w1/${p}w1_0.qcow2"
x=$k/${p}db/${p}db.xml
grep -q "<vcpu[^>]*>2</vcpu>" "$x" || fail "CPUs: $(grep vcpu "$x")"
grep -q "<memory unit='MiB'>1024</memory>" "$x" || fail "memory: $(grep memory "$x")"
grep -qi "efi" "$x" || fail "EFI firmware not in the definition"
grep -q "<mac address='$mac_db'/>" "$x" || fail "MAC $mac_db not kept: $(grep mac "$x")"
grep -q "<source file='/srv/kvm/${p}db/${p}db_1.qcow2'/>" "$x" || fail "second disk: $(grep source "$x")"
jq -e '.nics[0].ips == ["192.0.2.10", "2001:db8::10", "fe80::250:56ff:fe00:10"]' \
    "$k/${p}db/guest/vmware-tools-ips.json" > /dev/null ||
    fail "guest IPs: $(cat "$k/${p}db/guest/vmware-tools-ips.json")"
[ -f "$k/${p}db/guest/linux-reapply.sh" ] || fail "no guest bundle"

# ---- the record from the inventory (guest/network.json), re-applied by
# the bundle's own re-apply script on a guest nobody prepared
g=$k/${p}db/guest
jq -e --arg m "$mac_db" '.vmshift_record == 1 and .source == "vmware-tools" and
    .dns.servers == ["192.0.2.53", "2001:db8::53"] and
    .dns.search == ["example.com", "corp.example"] and
    (.nics | length) == 1 and .nics[0].mac == $m and
    ([.nics[0].addresses[] | select(.dynamic == false and .scope == "global") |
      "\(.address)/\(.prefix)"] == ["192.0.2.10/24", "2001:db8::10/64"]) and
    ([.nics[0].routes[] | "\(.dst) \(.gateway)"] ==
      ["default 192.0.2.1", "10.9.0.0/16 192.0.2.254", "default 2001:db8::1"])' \
    "$g/network.json" > /dev/null || fail "record from the inventory: $(cat "$g/network.json")"
grep -q "guest network record from VMware Tools.*1 NIC(s), 2 static" "$tmp/events" ||
    fail "the run does not say where the guest record came from"
mac_w1=$(vcsim_ctl dump "${p}w1" | jq -r '.vms[0].nics[0].mac')
jq -e '[.nics[0].addresses[] | select(.address == "198.51.100.7") | .dynamic] == [true]
       and .nics[0].routes == []' "$k/${p}w1/guest/network.json" > /dev/null ||
    fail "w1: a DHCP address is not DHCP: $(cat "$k/${p}w1/guest/network.json")"

guestroot() {   # ROOT MAC STACK: a target guest with one new NIC, unprepared
    mkdir -p "$1/etc/netplan" "$1/usr/sbin" "$1/etc/network"
    fake_nic "$1" enp1s0 "$2" 0000:01:00.0
    case $3 in
        netplan) : > "$1/usr/sbin/netplan" ;;
        ifupdown) printf 'auto lo\niface lo inet loopback\n' > "$1/etc/network/interfaces"
                  rm -rf "$1/etc/netplan" ;;
    esac
}
# netplan: what 'netplan generate' makes of the generated file (routes
# as [Route] Destination= with their Gateway=; no DHCP= line: off)
gr=$tmp/g-netplan
guestroot "$gr" "$mac_db" netplan
VMSHIFT_ROOT=$gr VMSHIFT_NOEXEC=1 sh "$g/linux-reapply.sh" > "$gr.log" 2>&1 ||
    fail "re-apply: $(cat "$gr.log")"
grep -q "record: .*network.json (from the vCenter inventory" "$gr.log" ||
    fail "re-apply did not use the bundle's record: $(cat "$gr.log")"
netplan generate --root-dir "$gr" || fail "netplan rejects the generated file"
grep -hE '^(Name|Address|Gateway|DNS|Domains|DHCP|Destination)=' \
    "$gr"/run/systemd/network/*.network | sort > "$tmp/got"
sort > "$tmp/want" <<EOT
Address=192.0.2.10/24
Address=2001:db8::10/64
DNS=192.0.2.53
DNS=2001:db8::53
Destination=0.0.0.0/0
Destination=10.9.0.0/16
Destination=::/0
Domains=example.com corp.example
Gateway=192.0.2.1
Gateway=192.0.2.254
Gateway=2001:db8::1
Name=enp1s0
EOT
same_file "$tmp/want" "$tmp/got"
[ ! -e "$canary" ] || fail "a hostile search domain ran"
# ifupdown: what ifquery reads
gr=$tmp/g-eni
guestroot "$gr" "$mac_db" ifupdown
VMSHIFT_ROOT=$gr VMSHIFT_NOEXEC=1 sh "$g/linux-reapply.sh" > "$gr.log" 2>&1 ||
    fail "re-apply (ifupdown): $(cat "$gr.log")"
ifquery -i "$gr/etc/network/interfaces" enp1s0 | grep -E '^(address|netmask|gateway|dns-[a-z]+):' |
    sort > "$tmp/got" || fail "ifquery rejects the stanza"
grep -qx 'address: 192.0.2.10' "$tmp/got" && grep -qx 'netmask: 255.255.255.0' "$tmp/got" &&
    grep -qx 'gateway: 192.0.2.1' "$tmp/got" && grep -qx 'address: 2001:db8::10' "$tmp/got" &&
    grep -qx 'dns-nameservers: 192.0.2.53 2001:db8::53' "$tmp/got" ||
    fail "ifupdown stanza: $(cat "$tmp/got")"
# the DHCP guest: no static file, it stays on DHCP
gr=$tmp/g-dhcp
guestroot "$gr" "$mac_w1" netplan
VMSHIFT_ROOT=$gr VMSHIFT_NOEXEC=1 sh "$k/${p}w1/guest/linux-reapply.sh" > "$gr.log" 2>&1 ||
    fail "re-apply (w1): $(cat "$gr.log")"
grep -q "is now enp1s0" "$gr.log" || fail "w1: NIC not matched: $(cat "$gr.log")"
! grep -q "writing its" "$gr.log" || fail "w1: a DHCP guest got a static file: $(cat "$gr.log")"
# a guest that was prepared: its own record wins
gr=$tmp/g-prep
guestroot "$gr" "$mac_db" netplan
write_record "$gr" "$(record_nic ens192 "$mac_db" "" netplan "203.0.113.5/24" "default,203.0.113.1")"
VMSHIFT_ROOT=$gr VMSHIFT_NOEXEC=1 sh "$g/linux-reapply.sh" > "$gr.log" 2>&1 ||
    fail "re-apply (prepared): $(cat "$gr.log")"
grep -q "record: /etc/vmshift/network.json (made by the prepare script" "$gr.log" ||
    fail "the guest's own record did not win: $(cat "$gr.log")"
grep -q '203.0.113.5/24' "$gr/etc/netplan/90-vmshift-enp1s0.yaml" ||
    fail "prepared guest: $(cat "$gr.log")"

# ---- the Windows guest (w2): the record windows-prepare.ps1 would write
g=$k/${p}w2/guest
mac_w2=$(vcsim_ctl dump "${p}w2" | jq -r '.vms[0].nics[0].mac')
mac_w2b=$(vcsim_ctl dump "${p}w2" | jq -r '.vms[0].nics[1].mac')
[ -f "$g/windows-reapply.ps1" ] && [ ! -e "$g/linux-reapply.sh" ] ||
    fail "w2: not a Windows bundle: $(ls "$g")"
jq -e --arg m "$mac_w2" --arg m2 "$mac_w2b" '.vmshift_record == 1 and
    .source == "vmware-tools" and .os.id == "windows" and
    .dns.search == ["corp.example", "example.com"] and
    .dns.primary_suffix == "corp.example" and
    (.nics | length) == 2 and .nics[0].mac == $m and .nics[1].mac == $m2 and
    .nics[0].dhcp4 == false and
    ([.nics[0].addresses[] | select(.origin == "Manual") |
      "\(.address)/\(.prefix)"] == ["192.0.2.20/24", "2001:db8::20/64"]) and
    ([.nics[0].addresses[] | select(.origin != "Manual") | .address] ==
      ["fe80::250:56ff:fe00:20"]) and
    ([.nics[0].routes[] | "\(.dst) \(.gateway) \(.persistent)"] ==
      ["0.0.0.0/0 192.0.2.1 true", "10.9.0.0/16 192.0.2.254 true",
       "::/0 2001:db8::1 true"]) and
    .nics[0].dns.static4 == ["192.0.2.53"] and
    .nics[0].dns.static6 == ["2001:db8::53"] and .nics[0].dns.suffix == "" and
    .nics[1].dhcp4 == true and .nics[1].routes == [] and
    ([.nics[1].addresses[] | .origin] == ["Dhcp"]) and
    .nics[1].dns.static4 == [] and .nics[1].dns.suffix == ""' \
    "$g/network.json" > /dev/null || fail "w2: Windows record: $(cat "$g/network.json")"
! grep -Eq 'touch|iex|\$\(|`' "$g/network.json" ||
    fail "w2: a hostile value reached the record: $(cat "$g/network.json")"
grep -q "record from VMware Tools.*: 2 NIC(s), 2 static and 1 DHCP/SLAAC address(es), 3 route(s), values that failed" \
    "$tmp/events" || fail "w2: the run does not say where the record came from: $(grep "VMware Tools" "$tmp/events")"
# Every key the Windows re-apply script reads off a record (it runs
# under Set-StrictMode, where a missing property is an error) is in the
# generated one: the adapters' ($Rec, $Nic, and $r where it is one), their
# dns, addresses ($a) and routes ($r in Get-VsSettings).  The script
# itself cannot run here (no PowerShell), see docs/guest-network.md.
ps=$g/windows-reapply.ps1
keys() { grep -oE "$1" | sed 's/.*\.//' | sort -u | tr '\n' ' ' | sed 's/ $//'; }
nic_keys=$(keys '\$([Rr]ec|Nic)\.[a-z][a-z0-9_]*' < "$ps")
dns_keys=$(keys '\$Rec\.dns\.[a-z][a-z0-9_]*' < "$ps")
addr_keys=$(keys '\$a\.[a-z][a-z0-9_]*' < "$ps")
route_keys=$(sed -n '/^function Get-VsSettings/,/^}/p' "$ps" | keys '\$r\.[a-z][a-z0-9_]*')
rec_keys=$(keys '\$Record\.[a-z][a-z0-9_]*' < "$ps")
[ "$nic_keys" = "addresses bus dhcp4 dns ifindex mac mtu name routes" ] &&
    [ "$dns_keys" = "static4 static6 suffix" ] &&
    [ "$addr_keys" = "address origin prefix" ] &&
    [ "$route_keys" = "dst gateway metric persistent" ] &&
    [ "$rec_keys" = "dns nics" ] ||
    fail "the keys windows-reapply.ps1 reads changed: nic: $nic_keys; dns: $dns_keys; address: $addr_keys; route: $route_keys; record: $rec_keys"
for kk in $nic_keys bus ifindex physical; do
    jq -e --arg k "$kk" 'all(.nics[]; has($k))' "$g/network.json" > /dev/null ||
        fail "w2: the record's adapters lack '$kk'"
done
for kk in $dns_keys; do
    jq -e --arg k "$kk" 'all(.nics[]; .dns | has($k))' "$g/network.json" > /dev/null ||
        fail "w2: the record's adapters' dns lack '$kk'"
done
for kk in $addr_keys; do
    jq -e --arg k "$kk" 'all(.nics[].addresses[]; has($k))' "$g/network.json" > /dev/null ||
        fail "w2: the record's addresses lack '$kk'"
done
for kk in $route_keys; do
    jq -e --arg k "$kk" 'all(.nics[].routes[]; has($k))' "$g/network.json" > /dev/null ||
        fail "w2: the record's routes lack '$kk'"
done
jq -e '.dns | has("search")' "$g/network.json" > /dev/null || fail "w2: no dns.search"
# the bundle's script prefers the guest's own record, else the one beside
# it, and says which (checked as text: it cannot run here)
grep -q "ChildPath 'network.json'" "$ps" && grep -q "Join-Path -Path \$PSScriptRoot" "$ps" &&
    grep -q "(from the vCenter inventory: what VMware Tools reported)" "$ps" &&
    grep -q "(made by the prepare script in this guest)" "$ps" ||
    fail "w2: the bundle's windows-reapply.ps1 does not read the record beside it"
[ ! -e "$canary" ] || fail "a hostile value ran"
jq -e '.detail.domains | length == 3' "$tmp/show.json" > /dev/null || fail "not 3 domains defined"
no_leftovers vol1

# ---- a guest that ignores ShutdownGuest: the deadline and a reason that
# says what to do; with source.power_off_after the run powers it off
mkvm "${p}deaf" 8 -on
vcsim_hook "deaf?vm=${p}deaf" > /dev/null
bp deaf "[{\"name\": \"g\", \"vms\": [\"${p}deaf\"]}]" "{\"${p}deaf\": {}}" |
    jq '.source.shutdown_timeout = 2' > "$tmp/d.json"
vs migrate --yes "$tmp/d.json" > /dev/null 2> "$tmp/err" && fail "a deaf guest did not stop its VM"
did=$(vs runs list --json | jq '[.[] | select(.blueprint == "deaf")][0].id')
vs runs show --json "$did" > "$tmp/dshow.json"
grep -q "still powered on 2 s after the guest shutdown request.*source.power_off_after" "$tmp/dshow.json" ||
    fail "no clear reason: $(jq -c .vms "$tmp/dshow.json")"
[ "$(state "${p}deaf" | cut -d' ' -f1)" = poweredOn ] || fail "deaf VM: $(state "${p}deaf")"
# (no VM snapshot here: the simulator's deaf-VM hook object fails
# CreateSnapshot_Task with a dropped connection)
po0=$(vcsim_count PowerOffVM_Task)
jq '.name = "deaf2" | .target.location += "2" | .source.power_off_after = true |
    .source.vm_snapshot = false' \
    "$tmp/d.json" > "$tmp/d2.json"
vs migrate --yes "$tmp/d2.json" > /dev/null 2> "$tmp/err" ||
    fail "power_off_after: $(cat "$tmp/err") $(vs runs show --json "$(vs runs list --json | jq ".[0].id")" | jq -c .vms)"
[ "$(vcsim_count PowerOffVM_Task)" = $((po0 + 1)) ] || fail "not powered off once"
[ "$(state "${p}deaf")" = "poweredOff " ] || fail "deaf VM after: $(state "${p}deaf")"

# ---- kill -9 just after a journalled shutdown / VM snapshot, then resume
for at in "4 shutdown" "6 vm-snapshot"; do
    n=${at% *} step=${at#* }
    vm=${p}r$n
    mkvm "$vm" 8 -on
    bp "res$n" "[{\"name\": \"g\", \"vms\": [\"$vm\"]}]" "{\"$vm\": {}}" > "$tmp/r.json"
    sd0=$(vcsim_count ShutdownGuest) cs0=$(vcsim_count CreateSnapshot_Task)
    rm -f "$tmp/points"
    VMSHIFT_WF_CRASH_AT=$n VMSHIFT_WF_CRASH_LOG=$tmp/points \
        vs migrate --yes --json "$tmp/r.json" > "$tmp/rev" 2> /dev/null && fail "not killed at $n"
    grep -qx "$n $step result" "$tmp/points" || fail "point $n is not '$step result': $(cat "$tmp/points")"
    rid=$(head -1 "$tmp/rev" | jq -r .run)
    vs runs resume "$rid" > /dev/null 2> "$tmp/err" || fail "resume after $step: $(cat "$tmp/err")"
    [ "$(vs runs show --json "$rid" | jq -r .state)" = complete ] || fail "resumed run not complete"
    [ "$(vcsim_count ShutdownGuest)" = $((sd0 + 1)) ] || fail "$step: ShutdownGuest sent again"
    [ "$(vcsim_count CreateSnapshot_Task)" = $((cs0 + 1)) ] || fail "$step: a second VM snapshot"
    [ "$(state "$vm")" = "poweredOff " ] || fail "after resume: $(state "$vm")"
    compare_images vmdk "$v1/$vm/${vm}_0.vmdk" qcow2 "$v1/kvm-res$n/$vm/${vm}_0.qcow2"
done

# ---- abort before the cut-over: the VM the run shut down comes back on
mkvm "${p}a1" 8 -on -snapshots admin-a1
mkvm "${p}a2" 8
bp abort "[{\"name\": \"g\", \"vms\": [\"${p}a1\", \"${p}a2\"]}]" \
   "{\"${p}a1\": {}, \"${p}a2\": {}}" > "$tmp/a.json"
rm -f "$tmp/points"
VMSHIFT_WF_CRASH_AT=13 VMSHIFT_WF_CRASH_LOG=$tmp/points \
    vs migrate --yes --json "$tmp/a.json" > "$tmp/aev" 2> /dev/null && fail "not killed"
grep -qx "13 snapshot intent" "$tmp/points" || fail "point 13: $(cat "$tmp/points")"
aid=$(head -1 "$tmp/aev" | jq -r .run)
asnap=$(vs runs show --json "$aid" | jq -r .snapshot)
echo "$asnap" | grep -Eqx "vmshift-run-[0-9a-f]{12}-$aid" ||
    fail "snapshot name '$asnap'"
[ "$(state "${p}a1")" = "poweredOff admin-a1,$asnap" ] || fail "a1 before abort: $(state "${p}a1")"
vs runs abort "$aid" > "$tmp/abort" 2>&1 || fail "abort: $(cat "$tmp/abort")"
[ "$(vs runs show --json "$aid" | jq -r .state)" = aborted ] || fail "not aborted"
[ "$(state "${p}a1")" = "poweredOn admin-a1,$asnap" ] || fail "a1 after abort: $(state "${p}a1")"
[ "$(state "${p}a2")" = "poweredOff $asnap" ] || fail "a2 after abort: $(state "${p}a2")"
vs runs cleanup "$aid" > /dev/null 2> "$tmp/err" || fail "cleanup: $(cat "$tmp/err")"
[ "$(state "${p}a1")" = "poweredOn admin-a1" ] || fail "a1 after cleanup: $(state "${p}a1")"
[ "$(state "${p}a2")" = "poweredOff " ] || fail "a2 after cleanup: $(state "${p}a2")"
no_leftovers vol1
echo "vCenter wave ok"
