#!/bin/sh
# Re-apply writes a new configuration when no file describes an
# interface's recorded static settings (here: the source was configured
# by hand or by a tool we do not know).  For each stack the generated
# file must say what cloud-init's rendering of the same network says:
# compared through the real tools where Debian has them (netplan
# generate, ifquery, nmcli --offline) and through a key normaliser for
# ifcfg-rh, SUSE ifcfg and networkd.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/guest-lib.sh"

need_corpus netcfg/cloud-init-oracles
requires dash
oracles=$corpus/netcfg/cloud-init-oracles
tmpdir
n=0

# Canonical lines for ifcfg files (RHEL and SUSE): addresses as A/P,
# BOOTPROTO static/none alike.
ifcfg_norm() {
    awk -F= '
        function bits(m,   n, i, p, v) {
            n = split(m, p, "."); v = 0
            for (i = 1; i <= n; i++) {
                x = p[i] + 0
                while (x > 0) { v += x % 2; x = int(x / 2) }
            }
            return v
        }
        /^[A-Z0-9_]+=/ {
            k = $1; v = substr($0, length(k) + 2); gsub(/["\x27]/, "", v)
            val[k] = v
        }
        END {
            for (k in val) {
                v = val[k]
                if (k ~ /^IPADDR[0-9_]*$/) {
                    s = k; sub(/^IPADDR/, "", s)
                    if (v !~ /\//) {
                        if (("PREFIX" s) in val) v = v "/" val["PREFIX" s]
                        else if (("NETMASK" s) in val) v = v "/" bits(val["NETMASK" s])
                        else if (("PREFIXLEN" s) in val) v = v "/" val["PREFIXLEN" s]
                    }
                    print "addr " v
                } else if (k == "IPADDR6" || k == "IPV6ADDR") print "addr " v (v ~ /\// ? "" : "/64")
                else if (k == "IPV6ADDR_SECONDARIES") {
                    n = split(v, a, " "); for (i = 1; i <= n; i++) print "addr " a[i]
                } else if (k == "MTU") print "mtu " v
                else if (k == "GATEWAY") print "gw4 " v
                else if (k == "IPV6_DEFAULTGW") print "gw6 " v
                else if (k ~ /^DNS[0-9]+$/) print "dns " v
                else if (k == "DOMAIN") {
                    n = split(v, a, " "); for (i = 1; i <= n; i++) print "search " a[i]
                }
                else if (k == "BOOTPROTO") print "proto " ((v == "none" || v == "static") ? "static" : v)
                else if (k == "DEVICE") print "device " v
            }
        }' "$1" | sort
}

networkd_norm() {
    grep -E '^(Name|Address|Gateway|DNS|Domains|MTUBytes|DHCP)=' "$1" | sort
}

netplan_norm() {   # ROOT
    netplan generate --root-dir "$1" || return 1
    cat "$1"/run/systemd/network/*.network |
        grep -E '^(Name|Address|Gateway|DNS|Domains|MTUBytes|DHCP)=' | sort
}

eni_norm() {   # FILE IFACE
    ifquery -i "$1" "$2" | grep -E '^(address|netmask|gateway|mtu|dns-[a-z]+):' | sort
}

nm_norm() {   # FILE
    nmcli --offline connection modify connection.autoconnect yes < "$1" |
        awk '/^\[/ { s = $0 } /^(address[0-9]+|gateway|dns|dns-search|method|mtu)=/ { print s $0 }' | sort
}

same_view() {   # LABEL EXPECTED ACTUAL
    [ -s "$2" ] || fail "$1: the oracle view is empty"
    if ! cmp -s "$2" "$3"; then
        diff -u "$2" "$3"
        fail "$1: the generated configuration says something else than cloud-init's"
    fi
    echo "ok: $1"
    n=$((n + 1))
}

# Generate for STACK a configuration of iface0 from a record whose
# interface ens192 had ADDRS/ROUTES/EXTRA; leaves the tree in $root.
generate() {   # STACK ADDRS ROUTES EXTRA
    root=$tmp/root-$1-$n
    mkdir -p "$root/etc/network" "$root/etc/netplan" "$root/usr/sbin" \
        "$root/etc/NetworkManager/system-connections" \
        "$root/etc/sysconfig/network-scripts" "$root/etc/sysconfig/network" \
        "$root/etc/systemd/network"
    printf 'auto lo\niface lo inet loopback\n' > "$root/etc/network/interfaces"
    fake_nic "$root" iface0 52:54:00:00:00:01 0000:00:03.0
    write_record "$root" "$(record_nic ens192 00:50:56:aa:bb:cc \
        pci0000:00/0000:00:15.0/0000:0b:00.0 "$1" "$2" "$3" "$4")"
    reapply "$root" > "$root.log" 2>&1 || { cat "$root.log"; fail "$1: re-apply failed"; }
    grep -q 'writing its' "$root.log" || { cat "$root.log"; fail "$1: nothing was generated"; }
}

check_static() {   # SCENARIO ADDRS ROUTES EXTRA
    o=$oracles/$1
    generate ifcfg-rh "$2" "$3" "$4"
    ifcfg_norm "$o/expected_sysconfig_rhel/ifcfg-iface0" > "$tmp/want"
    ifcfg_norm "$root/etc/sysconfig/network-scripts/ifcfg-iface0" > "$tmp/got"
    same_view "$1/ifcfg-rh" "$tmp/want" "$tmp/got"

    [ -f "$o/expected_sysconfig_opensuse/ifcfg-iface0" ] && {
        generate wicked "$2" "$3" "$4"
        ifcfg_norm "$o/expected_sysconfig_opensuse/ifcfg-iface0" | grep -v '^device' > "$tmp/want"
        ifcfg_norm "$root/etc/sysconfig/network/ifcfg-iface0" > "$tmp/got"
        same_view "$1/wicked" "$tmp/want" "$tmp/got"
    }
    [ -f "$o/expected_networkd" ] && {
        generate networkd "$2" "$3" "$4"
        networkd_norm "$o/expected_networkd" > "$tmp/want"
        networkd_norm "$root/etc/systemd/network/10-vmshift-iface0.network" > "$tmp/got"
        same_view "$1/networkd" "$tmp/want" "$tmp/got"
    }
    [ -f "$o/expected_netplan.yaml" ] && command -v netplan > /dev/null && {
        generate netplan "$2" "$3" "$4"
        mkdir -p "$tmp/np-$n/etc/netplan"
        cp "$o/expected_netplan.yaml" "$tmp/np-$n/etc/netplan/50-cloud-init.yaml"
        chmod 600 "$tmp/np-$n/etc/netplan/50-cloud-init.yaml"
        netplan_norm "$tmp/np-$n" > "$tmp/want" || fail "netplan rejects the oracle"
        netplan_norm "$root" > "$tmp/got" || fail "$1/netplan: netplan generate rejects the generated file"
        same_view "$1/netplan (netplan generate)" "$tmp/want" "$tmp/got"
    }
    [ -f "$o/expected_eni_ip_cmd" ] && command -v ifquery > /dev/null && {
        generate ifupdown "$2" "$3" "$4"
        eni_norm "$o/expected_eni_ip_cmd" iface0 > "$tmp/want"
        eni_norm "$root/etc/network/interfaces" iface0 > "$tmp/got" ||
            fail "$1/ifupdown: ifquery rejects the generated stanza"
        same_view "$1/ifupdown (ifquery)" "$tmp/want" "$tmp/got"
    }
    [ -d "$o/expected_network_manager" ] && command -v nmcli > /dev/null && {
        generate nm-keyfile "$2" "$3" "$4"
        nm_norm "$o/expected_network_manager/cloud-init-iface0.nmconnection" > "$tmp/want"
        nm_norm "$root/etc/NetworkManager/system-connections/vmshift-iface0.nmconnection" \
            > "$tmp/got" || fail "$1/nm: nmcli rejects the generated keyfile"
        same_view "$1/nm-keyfile (nmcli --offline)" "$tmp/want" "$tmp/got"
    }
    return 0
}

check_static v2_ipv4_and_ipv6_static "192.168.14.2/24 2001:1::1/64" "" '"mtu": 9000'
check_static static6 "2001:1::1/64" "" ''

# Single-stack samples of the corpus as expected outputs.
if [ -f "$corpus/netcfg/netplan/static.yaml" ] && command -v netplan > /dev/null; then
    mkdir -p "$tmp/np-static/etc/netplan"
    cp "$corpus/netcfg/netplan/static.yaml" "$tmp/np-static/etc/netplan/01.yaml"
    chmod 600 "$tmp/np-static/etc/netplan/01.yaml"
    generate netplan "10.10.10.2/24" "default,10.10.10.1" \
        '"dns": {"servers": ["10.10.10.1", "1.1.1.1"], "search": ["mydomain", "otherdomain"]}'
    netplan_norm "$tmp/np-static" | sed 's/^Name=enp3s0$/Name=iface0/' > "$tmp/want"
    netplan_norm "$root" > "$tmp/got" || fail "netplan rejects the generated file"
    same_view "netplan/static.yaml (netplan generate)" "$tmp/want" "$tmp/got"
fi
f=$corpus/netcfg/ifcfg-rh/ifcfg-test-wired-static
if [ -f "$f" ]; then
    generate ifcfg-rh "192.168.1.5/24 dead:beaf::1/64 dead:beaf::2/56" "default,192.168.1.1" \
        '"mtu": 1492, "dns": {"servers": ["4.2.2.1", "4.2.2.2", "1:2:3:4::a", "1:2:3:4::b"], "search": []}'
    ifcfg_norm "$f" | sed 's/^device eth0$/device iface0/' > "$tmp/want"
    ifcfg_norm "$root/etc/sysconfig/network-scripts/ifcfg-iface0" > "$tmp/got"
    same_view "ifcfg-rh/ifcfg-test-wired-static" "$tmp/want" "$tmp/got"
fi
f=$corpus/netcfg/nm-keyfile/Test_Write_Wired_IP6
if [ -f "$f" ] && command -v nmcli > /dev/null; then
    generate nm-keyfile "abcd::beef/64" "default,dcba::beef" \
        '"dns": {"servers": ["1::cafe"], "search": ["wallaceandgromit.com"]}'
    nm_norm "$f" > "$tmp/want"
    nm_norm "$root/etc/NetworkManager/system-connections/vmshift-iface0.nmconnection" > "$tmp/got"
    same_view "nm-keyfile/Test_Write_Wired_IP6 (nmcli --offline)" "$tmp/want" "$tmp/got"
fi

# An interface that only had dynamic addresses (DHCPv6 here) and that no
# file describes gets no new file in retain mode: the stack's defaults
# (DHCP) already fit, and a guess could only be worse.
dyn6='"addresses": [{"family": "inet6", "address": "2001:db8::99", "prefix": 128, "scope": "global", "dynamic": true, "flags": []}]'
for st in netplan networkd nm-keyfile; do
    root=$tmp/dyn-$st
    mkdir -p "$root/etc/netplan" "$root/etc/systemd/network" \
        "$root/etc/NetworkManager/system-connections"
    fake_nic "$root" iface0 52:54:00:00:00:01 0000:00:03.0
    write_record "$root" "{\"name\": \"ens192\", \"mac\": \"00:50:56:aa:bb:cc\", \"kind\": \"ether\", \"physical\": true, \"stack\": \"$st\", $dyn6, \"routes\": []}"
    reapply "$root" > "$root.log" 2>&1 || fail "dhcp6/$st: re-apply failed"
    if grep -q 'writing its' "$root.log"; then
        fail "dhcp6/$st: re-apply wrote a configuration for a DHCP-only interface"
    fi
    [ -z "$(find "$root/etc" -type f ! -path '*/vmshift/*')" ] ||
        fail "dhcp6/$st: files appeared: $(find "$root/etc" -type f)"
    echo "ok: dhcp6/$st: a DHCP-only interface gets no new file in retain mode"
done

[ "$n" -ge 8 ] || fail "only $n comparisons ran"
echo "$n generated configurations agree with cloud-init"
