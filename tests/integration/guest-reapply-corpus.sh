#!/bin/sh
# Re-apply after a rename, on root trees laid out like each distribution,
# with the cloud-init oracles as expected output.
#
# cloud-init renders one network for every stack (netplan, NetworkManager
# keyfiles, ifcfg-rh, SUSE ifcfg, ENI, networkd).  For each scenario and
# stack the test builds the source guest: the oracle files with the
# physical interfaces renamed to VMware names (ens192, ens224, ...) and
# VMware MACs; the target has interfaces with the oracle's names and
# MACs, matched by PCI order.  Re-apply must turn the source back into the
# oracle byte for byte (file names included), and the real tools must
# accept the result and read the same addresses from it as from the
# source: 'netplan generate --root-dir', 'ifquery', and NetworkManager's
# keyfile parser through 'nmcli --offline'.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/guest-lib.sh"

need_corpus netcfg/cloud-init-oracles
requires dash busybox
oracles=$corpus/netcfg/cloud-init-oracles
tmpdir

vm_names="ens192 ens224 ens256 ens161 ens193 ens225"
checked=0

# Copy the oracle files of STACK for scenario S into ROOT's layout.
lay_out() {   # S STACK ROOT
    _o=$oracles/$1
    case $2 in
        netplan)
            [ -f "$_o/expected_netplan.yaml" ] || return 1
            mkdir -p "$3/etc/netplan" "$3/usr/sbin"
            cp "$_o/expected_netplan.yaml" "$3/etc/netplan/50-cloud-init.yaml"
            chmod 600 "$3/etc/netplan/50-cloud-init.yaml"
            : > "$3/usr/sbin/netplan" ;;
        nm)
            [ -d "$_o/expected_network_manager" ] || return 1
            mkdir -p "$3/etc/NetworkManager/system-connections" "$3/usr/sbin"
            cp "$_o"/expected_network_manager/* "$3/etc/NetworkManager/system-connections/"
            chmod 600 "$3"/etc/NetworkManager/system-connections/*
            : > "$3/usr/sbin/NetworkManager" ;;
        rhel)
            [ -d "$_o/expected_sysconfig_rhel" ] || return 1
            mkdir -p "$3/etc/sysconfig/network-scripts"
            cp "$_o"/expected_sysconfig_rhel/* "$3/etc/sysconfig/network-scripts/" ;;
        suse)
            [ -d "$_o/expected_sysconfig_opensuse" ] || return 1
            mkdir -p "$3/etc/sysconfig/network" "$3/usr/sbin"
            cp "$_o"/expected_sysconfig_opensuse/* "$3/etc/sysconfig/network/"
            : > "$3/usr/sbin/wicked" ;;
        eni)
            [ -f "$_o/expected_eni_ip_cmd" ] || return 1
            mkdir -p "$3/etc/network"
            cp "$_o/expected_eni_ip_cmd" "$3/etc/network/interfaces" ;;
        networkd)
            ls "$_o"/expected_networkd* > /dev/null 2>&1 || return 1
            mkdir -p "$3/etc/systemd/network"
            for _f in "$_o"/expected_networkd*; do
                _n=${_f##*/expected_networkd}
                _n=${_n#_}
                cp "$_f" "$3/etc/systemd/network/10-cloud-init-${_n:-iface0}.network"
            done ;;
    esac
}

# sed script turning the oracle's interface names and MACs into the
# source guest's (MACs in both cases, as the files have both).
source_sed() {   # "name=mac ..."
    _i=0
    for _p in $1; do
        _name=${_p%%=*} _mac=${_p#*=}
        # shellcheck disable=SC2086
        set -- $vm_names
        shift "$_i"
        _vm=$1 _vmmac=00:50:56:0a:00:0$_i
        _umac=$(echo "$_mac" | tr a-f A-F) _uvm=$(echo "$_vmmac" | tr a-f A-F)
        printf 's/\\b%s\\b/%s/g\n' "$_name" "$_vm"
        printf 's/%s/%s/g\ns/%s/%s/g\n' "$_mac" "$_vmmac" "$_umac" "$_uvm"
        _i=$((_i + 1))
    done
}

# The source tree: expected tree with names and MACs replaced, in file
# contents and file names; plus the record and the target's interfaces.
make_source() {   # EXPECTED SOURCE "name=mac ..." STACK
    _src=$2 _pairs=$3 _stack=$4
    cp -a "$1" "$_src"
    source_sed "$_pairs" > "$tmp/sed"
    find "$_src/etc" -type f | while read -r _f; do
        sed -f "$tmp/sed" "$_f" > "$_f.new" && cat "$_f.new" > "$_f" && rm "$_f.new"
        _b=${_f##*/}
        _nb=$(printf '%s\n' "$_b" | sed -f "$tmp/sed")
        [ "$_b" = "$_nb" ] || mv "$_f" "${_f%/*}/$_nb"
    done
    _i=0
    _args=''
    for _p in $_pairs; do
        _name=${_p%%=*} _mac=${_p#*=}
        # shellcheck disable=SC2086
        set -- $vm_names
        shift "$_i"
        fake_nic "$_src" "$_name" "$_mac" "0000:00:0$((_i + 3)).0"
        _args="$_args '$(record_nic "$1" "00:50:56:0a:00:0$_i" \
            "pci0000:00/0000:00:1$_i.0/0000:0b:00.0" "$_stack" '' '')'"
        _i=$((_i + 1))
    done
    eval "write_record \"\$_src\" $_args"
}

# What the real tools read from a tree, with interface names left out.
netplan_view() {   # ROOT
    netplan generate --root-dir "$1" || return 1
    cat "$1"/run/systemd/network/*.network 2>/dev/null |
        grep -E '^(Address|Gateway|DNS|Domains|MTUBytes|Destination|Metric)=' | sort
}

eni_view() {   # INTERFACES-FILE
    _ifs=$(ifquery -i "$1" --list -a) || return 1
    for _if in $_ifs; do
        ifquery -i "$1" "$_if" || return 1
    done | grep -E '^(address|netmask|gateway|mtu|dns-nameservers|dns-search|vlan-id):' | sort
}

nm_view() {   # KEYFILE
    nmcli --offline connection modify connection.autoconnect yes < "$1" \
        > "$tmp/nm.out" || return 1
    grep -E '^(address[0-9]+|gateway|dns|dns-search|method|mtu|route[0-9]+)=' \
        "$tmp/nm.out" || :
}

tool_check() {   # STACK SOURCE-BEFORE RESULT LABEL
    case $1 in
        netplan)
            command -v netplan > /dev/null || { echo "note: no netplan; $4 not tool-checked"; return; }
            netplan_view "$2" > "$tmp/v-src" || fail "$4: netplan rejects the source tree"
            netplan_view "$3" > "$tmp/v-out" || fail "$4: netplan rejects the rewritten tree"
            [ -s "$tmp/v-out" ] || grep -q dhcp "$3"/etc/netplan/* ||
                fail "$4: netplan produced no addresses" ;;
        eni)
            command -v ifquery > /dev/null || { echo "note: no ifquery; $4 not tool-checked"; return; }
            eni_view "$2/etc/network/interfaces" > "$tmp/v-src" || fail "$4: ifquery rejects the source"
            eni_view "$3/etc/network/interfaces" > "$tmp/v-out" || fail "$4: ifquery rejects the result"
            for _n in $names; do
                ifquery -i "$3/etc/network/interfaces" --list -a | grep -q "^${_n%%=*}" ||
                    grep -q "iface ${_n%%=*}" "$3/etc/network/interfaces" ||
                    echo "note: $4: ${_n%%=*} has no stanza (as in the oracle)"
            done ;;
        nm)
            command -v nmcli > /dev/null || { echo "note: no nmcli; $4 not tool-checked"; return; }
            : > "$tmp/v-src"
            : > "$tmp/v-out"
            for _f in "$2"/etc/NetworkManager/system-connections/*; do
                nm_view "$_f" >> "$tmp/v-src" || fail "$4: nmcli rejects source ${_f##*/}"
            done
            for _f in "$3"/etc/NetworkManager/system-connections/*; do
                nm_view "$_f" >> "$tmp/v-out" || fail "$4: nmcli rejects ${_f##*/}"
                _ifn=$(sed -n 's/^interface-name=//p' "$_f")
                case " $target_names " in
                    *" $_ifn "*|"  ") ;;
                    *) [ -z "$_ifn" ] || case $_ifn in *.*|bond*|br*) ;; *)
                        fail "$4: ${_f##*/} is bound to '$_ifn', not a target name" ;; esac ;;
                esac
            done
            sort -o "$tmp/v-src" "$tmp/v-src"
            sort -o "$tmp/v-out" "$tmp/v-out" ;;
        *) return ;;
    esac
    if ! cmp -s "$tmp/v-src" "$tmp/v-out"; then
        diff -u "$tmp/v-src" "$tmp/v-out"
        fail "$4: the tools read other settings after the rewrite"
    fi
    echo "ok: $4: accepted by the $1 tools with the same addresses"
}

scenario() {   # NAME "name=mac ..."
    names=$2
    target_names=$(for _p in $2; do printf '%s ' "${_p%%=*}"; done)
    for stack in netplan nm rhel suse eni networkd; do
        for shell in dash "busybox sh"; do
            w=$tmp/$1-$stack-$(echo "$shell" | tr -d ' ')
            mkdir -p "$w"
            lay_out "$1" "$stack" "$w/expected" || continue
            make_source "$w/expected" "$w/root" "$2" "$stack"
            cp -a "$w/root" "$w/before"
            GSH=$shell reapply "$w/root" > "$w/log" 2>&1 ||
                { cat "$w/log"; fail "$1/$stack: re-apply failed under $shell"; }
            if ! diff -r -x vmshift "$w/expected/etc" "$w/root/etc" > "$w/diff"; then
                cat "$w/log" "$w/diff"
                fail "$1/$stack ($shell): rewritten files differ from the oracle"
            fi
            [ -f "$w/root/var/log/vmshift-reapply.log" ] || fail "$1/$stack: no log"
            grep -q 'matched by order' "$w/root/var/log/vmshift-reapply.log" ||
                fail "$1/$stack: interfaces were not matched by PCI order"
            echo "ok: $1/$stack ($shell): rewritten files equal the oracle"
            [ "$shell" = dash ] && tool_check "$stack" "$w/before" "$w/root" "$1/$stack"
            checked=$((checked + 1))
            rm -rf "$w"
        done
    done
}

scenario v2_ipv4_and_ipv6_static "iface0=52:54:00:00:10:01"
scenario dhcpv6_only "iface0=52:54:00:00:10:02"
scenario static6 "iface0=52:54:00:00:10:03"
scenario small_v2 "eth1=cf:d6:af:48:e8:80 eth99=c0:d6:9f:2c:e8:80"
scenario small_suse_dhcp6 "eth1=cf:d6:af:48:e8:80 eth99=c0:d6:9f:2c:e8:80"
scenario bond_v2 "bond0s0=aa:bb:cc:dd:e8:00 bond0s1=aa:bb:cc:dd:e8:01"
scenario bridge "eth0=52:54:00:12:34:00 eth1=52:54:00:12:34:01"
scenario manual "eth0=52:54:00:12:34:00 eth1=52:54:00:12:34:aa eth2=52:54:00:12:34:ff"
scenario vlan_v2 "en0=aa:bb:cc:dd:e8:00"
# ens192 -> eth0 and so on, with a bond, a bridge, VLANs and InfiniBand.
scenario large_v2 "eth0=c0:d6:9f:2c:e8:80 eth1=aa:d6:9f:2c:e8:80 eth2=c0:bb:9f:2c:e8:80 eth3=66:bb:9f:2c:e8:80 eth4=98:bb:9f:2c:e8:80 eth5=98:bb:9f:2c:e8:8a"

[ "$checked" -ge 40 ] || fail "only $checked scenario/stack runs found (corpus incomplete?)"
echo "checked $checked scenario/stack/shell runs"
