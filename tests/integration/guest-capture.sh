#!/bin/sh
# linux-prepare.sh records exactly what 'ip -j addr' and 'ip -j route'
# show, in a network namespace with several interfaces (static IPv4 and
# IPv6 addresses, a secondary address with a label, gateway and on-link
# routes, an IPv6-only interface, a bridge with a port, a down interface),
# under dash, busybox sh and bash, and with busybox's own ip/awk/sed.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/guest-lib.sh"

requires jq dash busybox
need_netns
tmpdir
ns=vmshift-cap-$$
ip netns add "$ns" || fail "cannot create namespace $ns"
cleanup_fn ip netns del "$ns"

nsx() { ip netns exec "$ns" "$@"; }
# shellcheck disable=SC2016
nsx sh -ec '
    ip link set lo up
    ip link add ens192 type veth peer name peer0
    ip link set ens192 address 00:50:56:aa:bb:cc mtu 9000
    ip link add ens224 type veth peer name peer1
    ip link set ens224 address 00:50:56:aa:bb:dd
    ip link add ens256 type veth peer name peer2
    for i in ens192 peer0 ens224 peer1; do ip link set "$i" up; done
    ip addr add 192.0.2.10/24 dev ens192
    ip addr add 192.0.2.11/24 dev ens192 label ens192:1
    ip addr add 2001:db8::10/64 dev ens192 nodad
    ip addr add 2001:db8:1::20/64 dev ens224 nodad
    ip route add default via 192.0.2.1
    ip route add 10.9.0.0/16 via 192.0.2.254 metric 50
    ip route add 10.8.0.0/16 dev ens192
    ip -6 route add default via 2001:db8::1 dev ens192
    ip -6 route add 2001:db8:5::/48 via 2001:db8::5 metric 7
    ip link add br0 type bridge
    ip link set peer1 master br0
    ip link set br0 up
    ip addr add 198.51.100.5/25 dev br0
' || fail "cannot set up the namespace"

mkdir -p "$tmp/root/etc"
printf 'nameserver 192.0.2.53\nsearch example.com corp.example\n' > "$tmp/root/etc/resolv.conf"

# The kernel's view, reduced to what the record must carry.
nsx ip -j addr show > "$tmp/ip-addr.json"
nsx ip -j link show > "$tmp/ip-link.json"
nsx ip -j -4 route show table main > "$tmp/ip-route4.json"
nsx ip -j -6 route show table main > "$tmp/ip-route6.json"
jq -S '[.[] | select(.ifname != "lo") | .ifname as $d | .addr_info[] |
        {dev: $d, family, address: .local, prefix: .prefixlen, scope,
         dynamic: (.dynamic // false),
         label: (if .family == "inet" then .label else null end)}] | sort' \
    "$tmp/ip-addr.json" > "$tmp/want-addr"
jq -S '[.[] | select(.ifname != "lo") | {dev: .ifname, mac: .address, mtu}] | sort' \
    "$tmp/ip-link.json" > "$tmp/want-link"
{ jq '[.[] | . + {family: "inet"}]' "$tmp/ip-route4.json"
  jq '[.[] | . + {family: "inet6"}]' "$tmp/ip-route6.json"; } |
    jq -s -S '[add[] | select(.protocol != "kernel" and ((.type // "unicast") == "unicast")) |
               {dev, family, dst, gateway, metric}] | sort' > "$tmp/want-route"
[ "$(jq length "$tmp/want-route")" -ge 5 ] || fail "namespace routes missing: $(cat "$tmp/want-route")"

check_record() {   # RECORD LABEL
    jq . "$1" > /dev/null || fail "$2: the record is not valid JSON"
    jq -S '[.nics[] | .name as $d | .addresses[] |
            {dev: $d, family, address, prefix, scope, dynamic,
             label: (if .family == "inet" then .label else null end)}] | sort' \
        "$1" > "$tmp/got-addr"
    jq -S '[.nics[] | {dev: .name, mac, mtu}] | sort' "$1" > "$tmp/got-link"
    jq -S '[.nics[] | .name as $d | .routes[] |
            {dev: $d, family, dst, gateway, metric}] | sort' "$1" > "$tmp/got-route"
    for k in addr link route; do
        if ! cmp -s "$tmp/want-$k" "$tmp/got-$k"; then
            diff -u "$tmp/want-$k" "$tmp/got-$k"
            fail "$2: recorded ${k}s differ from ip -j"
        fi
    done
    [ "$(jq -r '.nics[] | select(.name == "br0") | .kind' "$1")" = bridge ] ||
        fail "$2: br0 not recorded as a bridge"
    [ "$(jq -r '.nics[] | select(.name == "peer1") | .master' "$1")" = br0 ] ||
        fail "$2: peer1 not recorded as a port of br0"
    [ "$(jq -c '.dns' "$1")" = '{"servers":["192.0.2.53"],"search":["example.com","corp.example"],"source":"/etc/resolv.conf"}' ] ||
        fail "$2: DNS recorded as $(jq -c .dns "$1")"
    echo "ok: $2 records what ip -j shows"
}

run_prepare() {   # LABEL SHELL...
    _l=$1
    shift
    nsx env VMSHIFT_ROOT="$tmp/root" VMSHIFT_SYSFS=/sys "$@" \
        "$guest_src/linux-prepare.sh" --print > "$tmp/rec-$_l.json" ||
        fail "$_l: linux-prepare.sh --print failed"
    check_record "$tmp/rec-$_l.json" "$_l"
}

run_prepare dash dash
run_prepare busybox-sh busybox sh
command -v bash > /dev/null && run_prepare bash bash

# Busybox userland: its ip prints no route protocol, its awk has no '^'.
mkdir "$tmp/bb"
for a in ip awk sed grep tr cut head readlink date cat ls sort mktemp rm \
         mkdir cp mv chmod ln rmdir id dirname hostname; do
    ln -s "$(command -v busybox)" "$tmp/bb/$a"
done
run_prepare busybox-userland env PATH="$tmp/bb" "$(command -v busybox)" sh

# --print changes nothing in the tree.
[ "$(find "$tmp/root" -type f | wc -l)" = 1 ] || fail "--print wrote files"
