#!/bin/sh
# Re-apply behaviour on small root trees: matching (MAC, PCI order, swaps,
# duplicate MACs), the modes (retain, dhcp, keep, script), overrides from
# the network map, IPv6-only and empty records, hostile records, VMware
# Tools removal, boot hook removal, run-once, dry run and reboot policy.
# Runs the scripts rendered by 'vmshift guest-scripts' under dash and
# busybox sh.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/guest-lib.sh"

requires dash busybox
[ -x "$VMSHIFT" ] || skip "vmshift is not built ($VMSHIFT)"
tmpdir
cases=0

ok() { echo "ok: $*"; cases=$((cases + 1)); }

log_has() {   # ROOT PATTERN
    grep -q -- "$2" "$1/var/log/vmshift-reapply.log" ||
        { cat "$1/var/log/vmshift-reapply.log"; fail "log lacks '$2'"; }
}

log_lacks() {   # ROOT PATTERN
    if grep -q -- "$2" "$1/var/log/vmshift-reapply.log"; then
        cat "$1/var/log/vmshift-reapply.log"
        fail "log has '$2'"
    fi
}

# A RHEL-like tree: ifcfg files for ens192 (static) and ens224 (DHCP).
rhel_tree() {   # ROOT
    d=$1/etc/sysconfig/network-scripts
    mkdir -p "$d"
    printf 'DEVICE=ens192\nHWADDR=00:50:56:aa:bb:01\nBOOTPROTO=none\nIPADDR=192.0.2.10\nPREFIX=24\nGATEWAY=192.0.2.1\nONBOOT=yes\n' > "$d/ifcfg-ens192"
    printf 'DEVICE=ens224\nBOOTPROTO=dhcp\nONBOOT=yes\n' > "$d/ifcfg-ens224"
    printf '10.9.0.0/16 via 192.0.2.254 dev ens192\n' > "$d/route-ens192"
    write_record "$1" \
        "$(record_nic ens192 00:50:56:aa:bb:01 pci0000:00/0000:00:15.0/0000:0b:00.0 ifcfg-rh \
            192.0.2.10/24 "default,192.0.2.1 10.9.0.0/16,192.0.2.254")" \
        "$(record_nic ens224 00:50:56:aa:bb:02 pci0000:00/0000:00:16.0/0000:13:00.0 ifcfg-rh '' '')"
}

# ------------------------------------------------------------- rendered
render "$tmp/s-default" linux
render "$tmp/s-dhcp" linux --mode dhcp
render "$tmp/s-keep" linux --mode keep
echo '{"retain_mac": false, "guest": {"reboot": "never"}}' > "$tmp/nomac.json"
render "$tmp/s-nomac" linux --network-map "$tmp/nomac.json"
# shellcheck disable=SC2016
printf '#!/bin/sh\necho "admin ran: $VMSHIFT_MATCHES" > "$VMSHIFT_ROOT_TEST/admin-ran"\nVMSHIFT_ADMIN_SCRIPT_END\n' > "$tmp/admin.sh"
render "$tmp/s-script" linux --mode script --script "$tmp/admin.sh" --reboot never
cat > "$tmp/override.json" <<'EOF'
{"networks": {"VM Network": {"target": "br0"}},
 "guest": {"nics": [{"mac": "00:50:56:aa:bb:01",
                     "addresses": ["198.51.100.20/24", "2001:db8:20::20/64"],
                     "gateway4": "198.51.100.1", "dns": ["198.51.100.53"],
                     "search": ["new.example"],
                     "routes": [{"to": "10.20.0.0/16", "via": "198.51.100.254", "metric": 20}]}]}}
EOF
render "$tmp/s-override" linux --network-map "$tmp/override.json"
render "$tmp/s-keeptools" linux --keep-vmware-tools

for shell in dash "busybox sh"; do
GSH=$shell
t=$tmp/$(echo "$shell" | tr -d ' ')
mkdir -p "$t"
REAPPLY=$tmp/s-default/linux-reapply.sh

# 1. Names and MACs kept: nothing changes, but the hook goes and the
#    run is recorded.
r=$t/same
rhel_tree "$r"
fake_nic "$r" ens192 00:50:56:aa:bb:01 0000:00:03.0
fake_nic "$r" ens224 00:50:56:aa:bb:02 0000:00:04.0
mkdir -p "$r/etc/cron.d"
echo '@reboot root /bin/sh /etc/vmshift/reapply.sh' > "$r/etc/cron.d/vmshift-reapply"
cp -a "$r/etc/sysconfig" "$t/same-before"
reapply "$r" 2> /dev/null || fail "re-apply failed"
diff -r "$t/same-before" "$r/etc/sysconfig" || fail "files changed although nothing was renamed"
log_has "$r" 'names and MACs are unchanged'
log_has "$r" 'matched by mac'
[ ! -e "$r/etc/cron.d/vmshift-reapply" ] || fail "cron hook left behind"
[ -f "$r/etc/vmshift/reapply.done" ] || fail "no reapply.done"
ok "$shell: names kept: network left alone, hook removed"

# 2. Run once: a second run only cleans up; --force runs again.
echo '@reboot root x' > "$r/etc/cron.d/vmshift-reapply"
reapply "$r" 2> /dev/null
log_has "$r" 'already ran'
[ ! -e "$r/etc/cron.d/vmshift-reapply" ] || fail "second run left the hook"
reapply "$r" --force 2> /dev/null
[ "$(grep -c 'starting' "$r/var/log/vmshift-reapply.log")" = 2 ] || fail "--force did not run again"
ok "$shell: runs once; --force runs again"

# 3. MACs kept, new names, PCI order reversed: the MAC decides.
r=$t/mac
rhel_tree "$r"
fake_nic "$r" eth0 00:50:56:aa:bb:02 0000:00:03.0
fake_nic "$r" eth1 00:50:56:aa:bb:01 0000:00:04.0
reapply "$r" 2> /dev/null || fail "re-apply failed"
d=$r/etc/sysconfig/network-scripts
if ! { grep -qx 'DEVICE=eth1' "$d/ifcfg-eth1" && grep -qx 'IPADDR=192.0.2.10' "$d/ifcfg-eth1"; }; then
    fail "ens192 (MAC ...:01) did not become eth1: $(ls "$d")"
fi
grep -qx 'BOOTPROTO=dhcp' "$d/ifcfg-eth0" || fail "ens224 did not become eth0"
grep -qx '10.9.0.0/16 via 192.0.2.254 dev eth1' "$d/route-eth1" || fail "route file not renamed"
[ ! -e "$d/ifcfg-ens192" ] || fail "old file left"
ls "$r"/etc/vmshift/backup/*/etc/sysconfig/network-scripts/ifcfg-ens192 > /dev/null ||
    fail "no backup"
log_has "$r" 'matched by mac'
log_has "$r" 'would run: reboot'
ok "$shell: MAC matching beats PCI order; files renamed and backed up"

# 4. Swapped names (eth0 <-> eth1), new MACs, matched by order.
r=$t/swap
d=$r/etc/sysconfig/network-scripts
mkdir -p "$d"
printf 'DEVICE=eth0\nIPADDR=192.0.2.10\n' > "$d/ifcfg-eth0"
printf 'DEVICE=eth1\nIPADDR=192.0.2.11\n' > "$d/ifcfg-eth1"
write_record "$r" \
    "$(record_nic eth0 00:50:56:aa:bb:01 pci0000:00/0000:00:16.0/0000:13:00.0 ifcfg-rh '' '')" \
    "$(record_nic eth1 00:50:56:aa:bb:02 pci0000:00/0000:00:15.0/0000:0b:00.0 ifcfg-rh '' '')"
fake_nic "$r" eth0 52:54:00:00:00:01 0000:00:03.0
fake_nic "$r" eth1 52:54:00:00:00:02 0000:00:04.0
reapply "$r" 2> /dev/null || fail "re-apply failed"
if ! { grep -qx 'IPADDR=192.0.2.11' "$d/ifcfg-eth0" && grep -qx 'DEVICE=eth0' "$d/ifcfg-eth0" &&
    grep -qx 'IPADDR=192.0.2.10' "$d/ifcfg-eth1" && grep -qx 'DEVICE=eth1' "$d/ifcfg-eth1"; }; then
    { head "$d"/*; fail "swapped names were not carried over"; }
fi
log_has "$r" 'recorded eth1 (00:50:56:aa:bb:02) is now eth0'
ok "$shell: swapped names by PCI order"

# 4b. No PCI path on either side (a record from a VM whose NICs had
#     none, a Hyper-V target on VMBus): the interface index orders them.
r=$t/vmbus
d=$r/etc/sysconfig/network-scripts
mkdir -p "$d"
printf 'DEVICE=ens192\nIPADDR=192.0.2.10\n' > "$d/ifcfg-ens192"
printf 'DEVICE=ens224\nIPADDR=192.0.2.11\n' > "$d/ifcfg-ens224"
write_record "$r" \
    "$(record_nic ens224 00:50:56:aa:bb:02 '' ifcfg-rh '' '' '"ifindex": 3')" \
    "$(record_nic ens192 00:50:56:aa:bb:01 '' ifcfg-rh '' '' '"ifindex": 2')"
fake_vmbus_nic "$r" eth1 00:15:5d:00:00:02 f8615163-0000-1000-2000-000d3a000002 4
fake_vmbus_nic "$r" eth0 00:15:5d:00:00:01 f8615163-0000-1000-2000-000d3a000001 3
reapply "$r" 2> /dev/null || fail "re-apply failed"
grep -qx 'IPADDR=192.0.2.10' "$d/ifcfg-eth0" || { head "$d"/*; fail "VMBus NICs matched out of order"; }
log_has "$r" 'recorded ens224 (00:50:56:aa:bb:02) is now eth1'
ok "$shell: without PCI paths the interface index orders the NICs"

# 5. retain_mac false: order only, even when a MAC matches.
REAPPLY=$tmp/s-nomac/linux-reapply.sh
r=$t/nomac
rhel_tree "$r"
fake_nic "$r" eth0 00:50:56:aa:bb:02 0000:00:03.0
fake_nic "$r" eth1 00:50:56:aa:bb:01 0000:00:04.0
reapply "$r" 2> /dev/null || fail "re-apply failed"
log_has "$r" 'recorded ens192 (00:50:56:aa:bb:01) is now eth0 (00:50:56:aa:bb:02), matched by order'
log_lacks "$r" 'would run: reboot'
log_has "$r" 'the new settings take effect at the next reboot'
ok "$shell: retain_mac false matches by order; reboot never"
REAPPLY=$tmp/s-default/linux-reapply.sh

# 6. Duplicate MACs in the record: order decides for them.
r=$t/dup
rhel_tree "$r"
sed -i 's/00:50:56:aa:bb:02/00:50:56:aa:bb:01/' "$r/etc/vmshift/network.json"
fake_nic "$r" eth0 00:50:56:aa:bb:01 0000:00:03.0
fake_nic "$r" eth1 52:54:00:00:00:09 0000:00:04.0
reapply "$r" 2> /dev/null || fail "re-apply failed"
log_has "$r" 'recorded ens192 (00:50:56:aa:bb:01) is now eth0 (00:50:56:aa:bb:01), matched by order'
log_has "$r" 'recorded ens224 (00:50:56:aa:bb:01) is now eth1 (52:54:00:00:00:09), matched by order'
ok "$shell: duplicate MACs fall back to PCI order"

# 7. A record with no interfaces; a missing record; more NICs here.
r=$t/empty
mkdir -p "$r/etc/network"
printf 'auto ens192\niface ens192 inet dhcp\n' > "$r/etc/network/interfaces"
write_record "$r"
fake_nic "$r" eth0 52:54:00:00:00:01 0000:00:03.0
reapply "$r" 2> /dev/null || fail "re-apply failed on an empty record"
log_has "$r" 'the record lists no physical interface'
grep -q 'iface ens192' "$r/etc/network/interfaces" || fail "an empty record changed files"
rm "$r/etc/vmshift/network.json" "$r/etc/vmshift/reapply.done"
reapply "$r" 2> /dev/null || fail "re-apply failed without a record"
log_has "$r" 'no record at /etc/vmshift/network.json'
ok "$shell: empty or missing record leaves the network alone"

# 8. IPv6 only, no file describes it: a new ifupdown stanza ifquery reads.
r=$t/v6
mkdir -p "$r/etc/network"
printf 'auto lo\niface lo inet loopback\n' > "$r/etc/network/interfaces"
write_record "$r" "$(record_nic ens192 00:50:56:aa:bb:01 pci0000:00/0000:00:15.0/0000:0b:00.0 '' \
    2001:db8::10/64 "default,2001:db8::1 2001:db8:9::/48,2001:db8::9,5")"
fake_nic "$r" eth0 52:54:00:00:00:01 0000:00:03.0
reapply "$r" 2> /dev/null || fail "re-apply failed"
if command -v ifquery > /dev/null; then
    ifquery -i "$r/etc/network/interfaces" eth0 > "$t/ifq" || fail "ifquery rejects the stanza"
    if ! { grep -qx 'address: 2001:db8::10' "$t/ifq" && grep -qx 'netmask: 64' "$t/ifq" &&
        grep -qx 'gateway: 2001:db8::1' "$t/ifq"; }; then
        { cat "$t/ifq"; fail "IPv6 settings lost"; }
    fi
    grep -qx 'dns-nameservers: 192.0.2.53' "$t/ifq" || { cat "$t/ifq"; fail "IPv6-only DNS lost"; }
    grep -q '^up: ip -6 route add 2001:db8:9::/48 via 2001:db8::9 metric 5 dev eth0' "$t/ifq" ||
        { cat "$t/ifq"; fail "IPv6 route lost"; }
fi
if grep -q 'iface eth0 inet ' "$r/etc/network/interfaces"; then
    fail "an IPv4 stanza was written for an IPv6-only interface"
fi
ok "$shell: IPv6-only interface gets an inet6 stanza"

# 8b. Dynamic (DHCP) and temporary (privacy) addresses are not static
#     settings: the IPv4 side stays on DHCP, the temporary IPv6 address
#     is dropped (whatever else its flags hold).
r=$t/dyn
mkdir -p "$r/etc/network"
printf 'auto lo\niface lo inet loopback\n' > "$r/etc/network/interfaces"
write_record "$r" '{"name": "ens192", "mac": "00:50:56:aa:bb:01", "physical": true, "stack": "ifupdown",
  "addresses": [
    {"family": "inet", "address": "192.0.2.7", "prefix": 24, "scope": "global", "dynamic": true, "flags": []},
    {"family": "inet6", "address": "2001:db8::10", "prefix": 64, "scope": "global", "dynamic": false, "flags": ["nodad"]},
    {"family": "inet6", "address": "2001:db8::abcd", "prefix": 64, "scope": "global", "dynamic": false, "flags": ["temporary", "secondary"]},
    {"family": "inet6", "address": "fe80::1", "prefix": 64, "scope": "link", "dynamic": false, "flags": []}],
  "routes": [{"family": "inet", "dst": "default", "gateway": "192.0.2.1", "proto": "dhcp"}]}'
fake_nic "$r" eth0 52:54:00:00:00:01 0000:00:03.0
reapply "$r" 2> /dev/null || fail "re-apply failed"
f=$r/etc/network/interfaces
grep -qx 'iface eth0 inet dhcp' "$f" || { cat "$f"; fail "DHCPv4 not kept"; }
grep -qx '    address 2001:db8::10/64' "$f" || { cat "$f"; fail "static IPv6 address lost"; }
if grep -q 'abcd\|fe80\|192.0.2' "$f"; then cat "$f"; fail "dynamic, temporary or link-local settings written"; fi
ok "$shell: dynamic and temporary addresses are not written as static"

# 9. DHCP mode on three stacks; the real tools read DHCP back.
REAPPLY=$tmp/s-dhcp/linux-reapply.sh
r=$t/dhcp-rhel
rhel_tree "$r"
fake_nic "$r" eth0 52:54:00:00:00:01 0000:00:03.0
fake_nic "$r" eth1 52:54:00:00:00:02 0000:00:04.0
reapply "$r" 2> /dev/null || fail "re-apply failed"
d=$r/etc/sysconfig/network-scripts
grep -qx 'BOOTPROTO=dhcp' "$d/ifcfg-eth0" || fail "eth0 not on DHCP"
if grep -q 'IPADDR' "$d/ifcfg-eth0" || [ -e "$d/route-eth0" ]; then
    fail "static settings survived DHCP mode"
fi
ok "$shell: dhcp mode, ifcfg-rh"

r=$t/dhcp-netplan
mkdir -p "$r/etc/netplan"
printf 'network:\n  version: 2\n  ethernets:\n    ens192:\n      addresses: [192.0.2.10/24]\n      routes:\n        - to: default\n          via: 192.0.2.1\n    ens224:\n      dhcp4: true\n' > "$r/etc/netplan/50-cloud-init.yaml"
chmod 600 "$r/etc/netplan/50-cloud-init.yaml"
write_record "$r" \
    "$(record_nic ens192 00:50:56:aa:bb:01 pci0000:00/0000:00:15.0/0000:0b:00.0 netplan 192.0.2.10/24 default,192.0.2.1)" \
    "$(record_nic ens224 00:50:56:aa:bb:02 pci0000:00/0000:00:16.0/0000:13:00.0 netplan '' '')"
fake_nic "$r" eth0 52:54:00:00:00:01 0000:00:03.0
fake_nic "$r" eth1 52:54:00:00:00:02 0000:00:04.0
reapply "$r" 2> /dev/null || fail "re-apply failed"
if command -v netplan > /dev/null; then
    netplan generate --root-dir "$r" || fail "netplan rejects the DHCP mode result"
    grep -qx 'DHCP=yes' "$r/run/systemd/network/10-netplan-eth0.network" ||
        { cat "$r"/etc/netplan/*; fail "eth0 not on DHCP for netplan"; }
    if grep -q '^Address=' "$r"/run/systemd/network/*.network; then
        fail "a static address survived DHCP mode"
    fi
fi
ok "$shell: dhcp mode, netplan"

r=$t/dhcp-nm
d=$r/etc/NetworkManager/system-connections
mkdir -p "$d"
printf '[connection]\nid=ens192\ntype=ethernet\ninterface-name=ens192\n\n[ipv4]\nmethod=manual\naddress1=192.0.2.10/24,192.0.2.1\n' > "$d/ens192.nmconnection"
chmod 600 "$d/ens192.nmconnection"
write_record "$r" \
    "$(record_nic ens192 00:50:56:aa:bb:01 pci0000:00/0000:00:15.0/0000:0b:00.0 nm-keyfile 192.0.2.10/24 default,192.0.2.1)"
fake_nic "$r" eth0 52:54:00:00:00:01 0000:00:03.0
reapply "$r" 2> /dev/null || fail "re-apply failed"
if ! { [ ! -e "$d/ens192.nmconnection" ] && [ ! -e "$d/eth0.nmconnection" ]; }; then
    fail "old keyfile left: $(ls "$d")"
fi
f=$d/vmshift-eth0.nmconnection
[ "$(stat -c %a "$f")" = 600 ] || fail "keyfile mode is $(stat -c %a "$f"), NetworkManager needs 600"
if command -v nmcli > /dev/null; then
    nmcli --offline connection modify connection.autoconnect yes < "$f" > "$t/nm" ||
        fail "nmcli rejects the DHCP keyfile"
    [ "$(grep -c '^method=auto' "$t/nm")" = 2 ] || { cat "$t/nm"; fail "keyfile not DHCP for both families"; }
fi
log_has "$r" 'would run: nmcli connection reload'
ok "$shell: dhcp mode, NetworkManager keyfile"

# 10. Keep mode: renames are not even applied.
REAPPLY=$tmp/s-keep/linux-reapply.sh
r=$t/keep
rhel_tree "$r"
fake_nic "$r" eth0 52:54:00:00:00:01 0000:00:03.0
reapply "$r" 2> /dev/null || fail "re-apply failed"
[ -f "$r/etc/sysconfig/network-scripts/ifcfg-ens192" ] || fail "keep mode changed files"
log_has "$r" "mode 'keep'"
ok "$shell: keep mode"

# 11. Overrides from the network map replace the recorded settings.
REAPPLY=$tmp/s-override/linux-reapply.sh
r=$t/override
rhel_tree "$r"
fake_nic "$r" eth0 52:54:00:00:00:01 0000:00:03.0
fake_nic "$r" eth1 52:54:00:00:00:02 0000:00:04.0
reapply "$r" 2> /dev/null || fail "re-apply failed"
f=$r/etc/sysconfig/network-scripts/ifcfg-eth0
if ! { grep -qx 'IPADDR=198.51.100.20' "$f" && grep -qx 'PREFIX=24' "$f" &&
    grep -qx 'GATEWAY=198.51.100.1' "$f" && grep -qx 'DNS1=198.51.100.53' "$f" &&
    grep -qx 'IPV6ADDR=2001:db8:20::20/64' "$f" && grep -qx 'DOMAIN="new.example"' "$f"; }; then
    { cat "$f"; fail "override not applied"; }
fi
grep -qx '10.20.0.0/16 via 198.51.100.254 metric 20 dev eth0' \
    "$r/etc/sysconfig/network-scripts/route-eth0" || fail "override route missing"
if grep -q 192.0.2 "$f" "$r/etc/sysconfig/network-scripts/route-eth0"; then
    fail "old addresses survived the override"
fi
grep -qx 'BOOTPROTO=dhcp' "$r/etc/sysconfig/network-scripts/ifcfg-eth1" || fail "eth1 changed"
log_has "$r" 'override from the network map'
ok "$shell: network map override"

# 12. Script mode: the administrator's script, byte for byte, run with
#     the matches (tree mode runs it only when NOEXEC=0).
REAPPLY=$tmp/s-script/linux-reapply.sh
r=$t/script
rhel_tree "$r"
fake_nic "$r" eth0 52:54:00:00:00:01 0000:00:03.0
reapply "$r" 2> /dev/null || fail "re-apply failed"
same_file "$tmp/admin.sh" "$r/etc/vmshift/admin-script"
[ "$(stat -c %a "$r/etc/vmshift/admin-script")" = 700 ] || fail "admin script mode"
log_has "$r" "would run the administrator's script"
[ -f "$r/etc/sysconfig/network-scripts/ifcfg-ens192" ] || fail "script mode changed the network"
rm "$r/etc/vmshift/reapply.done"
mkdir -p "$t/stub"
VMSHIFT_ROOT_TEST=$r
export VMSHIFT_ROOT_TEST
reapply_exec "$r" "$t/stub" 2> /dev/null || fail "re-apply failed"
grep -q "admin ran: $r/etc/vmshift/matches" "$r/admin-ran" || fail "the admin script did not run"
grep -q 'ens192 00:50:56:aa:bb:01 eth0 52:54:00:00:00:01 order' "$r/etc/vmshift/matches" ||
    fail "matches not passed: $(cat "$r/etc/vmshift/matches")"
ok "$shell: script mode"

# 13. VMware Tools: packages through the package manager (stubs record
#     the calls), the tar uninstaller, and --keep-vmware-tools.
REAPPLY=$tmp/s-default/linux-reapply.sh
st=$t/stubs
mkdir -p "$st"
for c in apt-get dnf zypper reboot systemctl; do
    printf '#!/bin/sh\necho "%s $*" >> "%s/calls"\n' "$c" "$st" > "$st/$c"
    chmod +x "$st/$c"
done
r=$t/tools-deb
mkdir -p "$r/var/lib/dpkg" "$r/usr/bin"
printf 'Package: open-vm-tools\nStatus: install ok installed\n\nPackage: open-vm-tools-desktop\nStatus: deinstall ok config-files\n\nPackage: bash\nStatus: install ok installed\n' > "$r/var/lib/dpkg/status"
printf '#!/bin/sh\n' > "$r/usr/bin/vmware-uninstall-tools.pl"
write_record "$r"
: > "$st/calls"
reapply_exec "$r" "$st" 2> /dev/null || fail "re-apply failed"
grep -qx 'apt-get -y purge open-vm-tools' "$st/calls" ||
    fail "open-vm-tools not purged: $(cat "$st/calls")"
log_has "$r" 'run: /usr/bin/vmware-uninstall-tools.pl'
ok "$shell: open-vm-tools purged with apt-get; tar uninstaller run"

r=$t/tools-rpm
mkdir -p "$r/etc"
write_record "$r"
# shellcheck disable=SC2016
printf '#!/bin/sh\nfor a; do last=$a; done\n[ "$last" = open-vm-tools ]\n' > "$st/rpm"
chmod +x "$st/rpm"
: > "$st/calls"
reapply_exec "$r" "$st" 2> /dev/null || fail "re-apply failed"
grep -qx 'dnf -y remove open-vm-tools' "$st/calls" || fail "dnf not used: $(cat "$st/calls")"
rm "$st/dnf" "$r/etc/vmshift/reapply.done"
: > "$st/calls"
reapply_exec "$r" "$st" 2> /dev/null
if command -v yum > /dev/null; then :; else
    grep -qx 'zypper --non-interactive remove open-vm-tools' "$st/calls" ||
        fail "zypper not used: $(cat "$st/calls")"
fi
ok "$shell: open-vm-tools removed with dnf, zypper"

REAPPLY=$tmp/s-keeptools/linux-reapply.sh
r=$t/tools-keep
mkdir -p "$r/var/lib/dpkg"
cp "$t/tools-deb/var/lib/dpkg/status" "$r/var/lib/dpkg/status"
write_record "$r"
: > "$st/calls"
reapply_exec "$r" "$st" 2> /dev/null
[ ! -s "$st/calls" ] || fail "--keep-vmware-tools still removed: $(cat "$st/calls")"
log_has "$r" 'VMware Tools left installed'
ok "$shell: --keep-vmware-tools"
rm "$st/rpm"
REAPPLY=$tmp/s-default/linux-reapply.sh

# 14. Hostile record: names and MACs that are shell code are refused;
#     nothing runs and nothing outside the tree is touched.
r=$t/hostile
mkdir -p "$r/etc/network"
printf 'auto ens192\niface ens192 inet dhcp\n' > "$r/etc/network/interfaces"
canary=$t/canary
write_record "$r" \
    "{\"name\": \"ens192\$(touch $canary)\", \"mac\": \"00:50:56:aa:bb:01\", \"physical\": true}" \
    "{\"name\": \"ens\`touch $canary\`\", \"mac\": \"00:50:56:aa:bb:02\", \"physical\": true}" \
    "{\"name\": \"a'b\\\"c\", \"mac\": \"00:50:56:aa:bb:03;touch $canary\", \"physical\": true}" \
    "{\"name\": \"x\\ny\", \"mac\": \"00:50:56:aa:bb:04\", \"physical\": true}"
fake_nic "$r" eth0 52:54:00:00:00:01 0000:00:03.0
reapply "$r" 2> /dev/null || fail "re-apply failed on a hostile record"
[ ! -e "$canary" ] || fail "a record value was executed"
[ "$(grep -c 'has a bad name or MAC' "$r/var/log/vmshift-reapply.log")" = 4 ] ||
    { cat "$r/var/log/vmshift-reapply.log"; fail "hostile entries not all refused"; }
grep -q 'iface ens192 inet dhcp' "$r/etc/network/interfaces" || fail "files changed"
ok "$shell: hostile record values are refused, never run"

# 15. Dry run changes nothing and says what it would do.
r=$t/dry
rhel_tree "$r"
fake_nic "$r" eth0 52:54:00:00:00:01 0000:00:03.0
mkdir -p "$r/etc/cron.d"
echo x > "$r/etc/cron.d/vmshift-reapply"
find "$r" -type f ! -name '*.log' -exec md5sum {} + | sort > "$t/before"
reapply "$r" --dry-run 2> /dev/null || fail "dry run failed"
find "$r" -type f ! -name '*.log' -exec md5sum {} + | sort > "$t/after"
cmp -s "$t/before" "$t/after" || { diff "$t/before" "$t/after"; fail "dry run changed files"; }
log_has "$r" 'rewrote /etc/sysconfig/network-scripts/ifcfg-ens192'
log_has "$r" 'dry run'
ok "$shell: dry run"

# 16. Reboot once only; netplan applies live instead.
r=$t/reboot
rhel_tree "$r"
fake_nic "$r" eth0 52:54:00:00:00:01 0000:00:03.0
date > "$r/etc/vmshift/rebooted"
reapply "$r" 2> /dev/null
log_has "$r" 'rebooted once already'
log_lacks "$r" 'would run: reboot'
log_lacks "$r" 'would run: netplan'
r=$t/dhcp-netplan
log_has "$r" 'would run: netplan apply'
log_lacks "$r" 'would run: reboot'
ok "$shell: reboot at most once; netplan applied live"
done

[ "$cases" -ge 40 ] || fail "only $cases cases ran"
echo "$cases cases passed"
