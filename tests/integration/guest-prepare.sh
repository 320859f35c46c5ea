#!/bin/sh
# linux-prepare.sh in a network namespace against root trees: which stack
# manages each interface (by name or MAC, from corpus configurations),
# the boot hook it installs (cron, systemd, OpenRC local.d, rc.local),
# that it changes nothing else, --undo, its errors; and the whole path:
# prepare records ens192, the target names it eth0, re-apply rewrites the
# ifupdown configuration and ifquery reads the recorded address back.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/guest-lib.sh"

need_corpus netcfg
requires jq dash busybox
need_netns
tmpdir
nc=$corpus/netcfg
ns=vmshift-prep-$$
ip netns add "$ns" || fail "cannot create namespace $ns"
cleanup_fn ip netns del "$ns"
# shellcheck disable=SC2016
ip netns exec "$ns" sh -ec '
    ip link set lo up
    ip link add ens192 type veth peer name p0
    ip link set ens192 address 00:50:56:aa:bb:cc
    ip link add enp3s0 type veth peer name p1
    ip link add eth9 type veth peer name p2
    ip link set eth9 address 02:88:77:66:55:44
    for i in ens192 p0 enp3s0 p1 eth9 p2; do ip link set "$i" up; done
    ip addr add 192.0.2.10/24 dev ens192
    ip addr add 2001:db8::10/64 dev ens192 nodad
    ip route add default via 192.0.2.1
    ip addr add 10.10.10.2/24 dev enp3s0
' || fail "cannot set up the namespace"

prepare() {   # ROOT [ARGS]
    _r=$1
    shift
    # $PSH may be two words ("busybox sh").
    # shellcheck disable=SC2086
    ip netns exec "$ns" env VMSHIFT_ROOT="$_r" VMSHIFT_SYSFS=/sys \
        VMSHIFT_REAPPLY="$guest_src/linux-reapply.sh" ${PSH:-dash} \
        "$guest_src/linux-prepare.sh" "$@"
}

# ---------------------------------------------- stack of each interface
stack_case() {   # LABEL IFACE EXPECTED-STACK DEST-IN-TREE CORPUS-FILE [SED]
    r=$tmp/stack-$1
    mkdir -p "$r/$(dirname "$4")"
    # The keyfile's MAC is a multicast one no interface can have.
    sed -e 's/99:88:77:66:55:44/02:88:77:66:55:44/' -e "${6:-p;d}" "$nc/$5" > "$r/$4"
    prepare "$r" --print > "$r.json" || fail "$1: prepare --print failed"
    got=$(jq -r --arg n "$2" '.nics[] | select(.name == $n) | .stack + " " + (.config | join(","))' "$r.json")
    [ "$got" = "$3 $4" ] || fail "$1: $2 recorded as '$got', expected '$3 $4'"
    echo "ok: $1: $2 is managed by $3"
}
stack_case netplan enp3s0 netplan /etc/netplan/01-netcfg.yaml netplan/static.yaml
stack_case ifcfg-rh ens192 ifcfg-rh /etc/sysconfig/network-scripts/ifcfg-ens192 \
    cloud-init-oracles/v2_ipv4_and_ipv6_static/expected_sysconfig_rhel/ifcfg-iface0 \
    s/iface0/ens192/
stack_case nm-mac eth9 nm-keyfile /etc/NetworkManager/system-connections/Work \
    nm-keyfile/Test_Write_Wired
stack_case wicked eth9 wicked /etc/sysconfig/network/ifcfg-eth9 wicked-suse/host1/ifcfg-eth0
r=$tmp/stack-eni
mkdir -p "$r/etc/network"
sed 's/eth0/ens192/g' "$nc/debian-interfaces/ifupdown-classic/testcase.1" > "$r/etc/network/interfaces"
prepare "$r" --print | jq -e '.nics[] | select(.name == "ens192") |
    .stack == "ifupdown" and .config == ["/etc/network/interfaces"]' > /dev/null ||
    fail "ifupdown: ens192 not found in /etc/network/interfaces"
echo "ok: ifupdown: ens192 is managed by ifupdown"
r=$tmp/stack-pin
mkdir -p "$r/etc/udev/rules.d"
echo 'SUBSYSTEM=="net", ACTION=="add", ATTR{address}=="00:50:56:aa:bb:cc", NAME="ens192"' \
    > "$r/etc/udev/rules.d/70-persistent-net.rules"
prepare "$r" --print | jq -e '.nics[] | select(.name == "ens192") | .name_pinned == "udev"' > /dev/null ||
    fail "a udev rule pinning ens192 was not recorded"
echo "ok: name pinned by a udev rule is recorded"

# ------------------------------------------------------------ boot hooks
hook_case() {   # LABEL PATH... (DIR/ or FILE); the caller checks the hook
    r=$tmp/hook-$1
    shift
    for d in "$@"; do
        case $d in
            */) mkdir -p "$r/$d" ;;
            *) mkdir -p "$(dirname "$r/$d")" && : > "$r/$d" ;;
        esac
    done
    find "$r" -type f -exec md5sum {} + 2> /dev/null | sort > "$r.before"
    prepare "$r" > "$r.out" 2>&1 || { cat "$r.out"; fail "prepare failed in $r"; }
    jq . "$r/etc/vmshift/network.json" > /dev/null || fail "network.json is not JSON"
    [ "$(stat -c %a "$r/etc/vmshift/network.json")" = 600 ] || fail "network.json mode"
    [ "$(stat -c %a "$r/etc/vmshift/reapply.sh")" = 700 ] || fail "reapply.sh mode"
    [ "$(stat -c %a "$r/etc/vmshift")" = 700 ] || fail "/etc/vmshift mode"
    cmp -s "$guest_src/linux-reapply.sh" "$r/etc/vmshift/reapply.sh" || fail "reapply.sh differs"
}

# Only the files of the hook and /etc/vmshift may be new; none changed.
only_new() {   # ROOT ALLOWED-REGEX
    find "$1" -type f -exec md5sum {} + | sort > "$1.after"
    if comm -23 "$1.before" "$1.after" | grep .; then
        fail "prepare changed or removed files"
    fi
    if comm -13 "$1.before" "$1.after" | awk '{ print $2 }' | sed "s|^$1||" |
            grep -Ev "^/etc/vmshift/|$2"; then
        fail "prepare wrote files outside /etc/vmshift and its hook"
    fi
}

hook_case cron etc/cron.d/ usr/sbin/cron etc/systemd/system/
grep -qx '@reboot root /bin/sh /etc/vmshift/reapply.sh >/dev/null 2>&1' "$r/etc/cron.d/vmshift-reapply" ||
    fail "no @reboot line"
[ "$(stat -c %a "$r/etc/cron.d/vmshift-reapply")" = 644 ] || fail "cron file mode"
[ "$(cat "$r/etc/vmshift/hook")" = cron ] || fail "hook type not recorded"
only_new "$r" '^/etc/cron.d/vmshift-reapply$'
echo "ok: cron @reboot hook"

hook_case systemd etc/systemd/system/
u=$r/etc/systemd/system/vmshift-reapply.service
grep -qx 'ExecStart=/bin/sh /etc/vmshift/reapply.sh' "$u" || fail "unit lacks ExecStart"
[ "$(readlink "$r/etc/systemd/system/multi-user.target.wants/vmshift-reapply.service")" = \
  /etc/systemd/system/vmshift-reapply.service ] || fail "unit not enabled"
only_new "$r" '^/etc/systemd/system/vmshift-reapply.service$'
echo "ok: systemd unit where cron is missing"

hook_case openrc etc/local.d/ etc/runlevels/default/
[ -x "$r/etc/local.d/vmshift-reapply.start" ] || fail "no local.d script"
[ -L "$r/etc/runlevels/default/local" ] || fail "local service not enabled"
PSH="busybox sh" prepare "$r" --undo 2> /dev/null || fail "--undo failed"
if [ -e "$r/etc/local.d/vmshift-reapply.start" ] || [ -L "$r/etc/runlevels/default/local" ] ||
   [ -e "$r/etc/vmshift" ]; then
    fail "--undo left files: $(find "$r" | tr '\n' ' ')"
fi
echo "ok: OpenRC local.d hook, and --undo"

mkdir -p "$tmp/hook-rclocal/etc"
printf '#!/bin/sh -e\necho booting\nexit 0\n' > "$tmp/hook-rclocal/etc/rc.local"
hook_case rclocal
[ "$(sed -n 3p "$r/etc/rc.local")" = '/bin/sh /etc/vmshift/reapply.sh & # vmshift-reapply' ] ||
    { cat "$r/etc/rc.local"; fail "rc.local line not before exit 0"; }
[ "$(grep -c vmshift-reapply "$r/etc/rc.local")" = 1 ] || fail "rc.local line added twice"
GSH=dash reapply "$r" 2> /dev/null
if grep -q vmshift "$r/etc/rc.local"; then fail "re-apply left its rc.local line"; fi
echo "ok: rc.local hook, removed by re-apply"

r=$tmp/hook-none
mkdir -p "$r"
if prepare "$r" > "$r.out" 2>&1; then fail "prepare succeeded without any boot mechanism"; fi
grep -q 'found no way to run a script at boot' "$r.out" || fail "unclear error: $(cat "$r.out")"
r=$tmp/hook-noscript
mkdir -p "$r/etc/systemd/system"
if ip netns exec "$ns" env VMSHIFT_ROOT="$r" VMSHIFT_SYSFS=/sys VMSHIFT_REAPPLY=/nonexistent \
        dash "$guest_src/linux-prepare.sh" > "$r.out" 2>&1; then
    fail "prepare succeeded without the re-apply script"
fi
grep -q "re-apply script '/nonexistent' not found" "$r.out" || fail "unclear error: $(cat "$r.out")"
[ ! -e "$r/etc/vmshift" ] || fail "prepare left files after failing"
echo "ok: prepare fails clearly without a hook or a re-apply script"

# ------------------------------------ prepare -> move -> re-apply, ifupdown
r=$tmp/e2e
mkdir -p "$r/etc/network" "$r/etc/systemd/system"
printf 'auto lo\niface lo inet loopback\n\nauto ens192\niface ens192 inet static\n    address 192.0.2.10/24\n    gateway 192.0.2.1\n\niface ens192 inet6 static\n    address 2001:db8::10/64\n' \
    > "$r/etc/network/interfaces"
PSH="busybox sh" prepare "$r" > /dev/null 2>&1 || fail "prepare failed"
# A veth has no PCI device; the record of a real NIC would carry one.
jq '(.nics[] | select(.name == "ens192")) += {physical: true, bus: "pci0000:00/0000:00:15.0/0000:0b:00.0"}' \
    "$r/etc/vmshift/network.json" > "$r/rec" && mv "$r/rec" "$r/etc/vmshift/network.json"
fake_nic "$r" eth0 52:54:00:12:34:56 0000:00:03.0
VMSHIFT_ROOT=$r VMSHIFT_NOEXEC=1 busybox sh "$r/etc/vmshift/reapply.sh" 2> /dev/null ||
    fail "re-apply failed"
[ ! -e "$r/etc/systemd/system/vmshift-reapply.service" ] || fail "hook not removed"
if command -v ifquery > /dev/null; then
    ifquery -i "$r/etc/network/interfaces" eth0 > "$tmp/ifq" || fail "ifquery rejects the result"
    want=$(jq -r '.nics[] | select(.name == "ens192") | .addresses[] |
        select(.scope == "global") | .address' "$r/etc/vmshift/network.json" | sort | tr '\n' ' ')
    got=$(sed -n 's/^address: //p' "$tmp/ifq" | sort | tr '\n' ' ')
    [ "$want" = "$got" ] || fail "recorded addresses '$want' but ifquery reads '$got'"
fi
echo "ok: prepare in a namespace, re-apply at the target: eth0 carries ens192's addresses"
