# Helpers for the guest script tests (sourced after tests/lib/functions.sh).
#
#   guest_src                   folder of the script sources
#   fake_nic ROOT NAME MAC PCI  a physical Ethernet interface in ROOT/sys
#   fake_vmbus_nic ROOT NAME MAC GUID IFINDEX   the same on Hyper-V's VMBus
#   record_nic ...              one interface object for a record (see below)
#   write_record ROOT NIC...    ROOT/etc/vmshift/network.json from objects
#   reapply ROOT [ARGS]         run the re-apply script on ROOT (sh: $GSH,
#                               script: $REAPPLY), commands only logged
#   reapply_exec ROOT STUBS ... the same, commands run (STUBS first in PATH)
#   render DIR OS [ARGS]        vmshift guest-scripts into DIR
#   same_file A B               fail with a diff unless A and B are equal
#   need_netns                  skip unless network namespaces work here

guest_src=$VMSHIFT_TOP/hypervisors/guest
GSH=${GSH:-sh}

fake_nic() {   # ROOT NAME MAC PCI
    mkdir -p "$1/sys/devices/pci0000:00/$4" "$1/sys/class/net/$2"
    echo "$3" > "$1/sys/class/net/$2/address"
    echo 1 > "$1/sys/class/net/$2/type"
    echo 1500 > "$1/sys/class/net/$2/mtu"
    ln -s "../../../devices/pci0000:00/$4" "$1/sys/class/net/$2/device"
}

fake_vmbus_nic() {   # ROOT NAME MAC GUID IFINDEX (Hyper-V: no PCI path)
    mkdir -p "$1/sys/devices/LNXSYSTM:00/VMBUS:00/$4" "$1/sys/class/net/$2"
    echo "$3" > "$1/sys/class/net/$2/address"
    echo 1 > "$1/sys/class/net/$2/type"
    echo "$5" > "$1/sys/class/net/$2/ifindex"
    ln -s "../../../devices/LNXSYSTM:00/VMBUS:00/$4" "$1/sys/class/net/$2/device"
}

# record_nic NAME MAC BUS STACK ADDRS ROUTES [EXTRA]
#   ADDRS  "192.0.2.10/24 2001:db8::10/64" (static, global), may be empty
#   ROUTES "default,192.0.2.1 10.9.0.0/16,192.0.2.254,50", may be empty
#   EXTRA  more JSON members, e.g. '"mtu": 9000, "master": "bond0"'
record_nic() {
    _a='' _r=''
    for _x in $5; do
        case $_x in *:*) _f=inet6 ;; *) _f=inet ;; esac
        _a="$_a${_a:+, }{\"family\": \"$_f\", \"address\": \"${_x%/*}\", \"prefix\": ${_x#*/}, \"scope\": \"global\", \"dynamic\": false, \"flags\": []}"
    done
    for _x in $6; do
        _d=$(echo "$_x" | cut -d, -f1) _g=$(echo "$_x" | cut -d, -f2)
        _m=$(echo "$_x" | cut -d, -f3)
        case $_g in *:*) _f=inet6 ;; *) _f=inet ;; esac
        _r="$_r${_r:+, }{\"family\": \"$_f\", \"dst\": \"$_d\", \"gateway\": \"$_g\"${_m:+, \"metric\": $_m}}"
    done
    printf '{"name": "%s", "mac": "%s", "kind": "ether", "physical": true, "bus": "%s", "stack": "%s", "addresses": [%s], "routes": [%s]%s}' \
        "$1" "$2" "$3" "$4" "$_a" "$_r" "${7:+, $7}"
}

write_record() {   # ROOT NIC-JSON...
    _root=$1
    shift
    mkdir -p "$_root/etc/vmshift"
    {
        printf '{"vmshift_record": 1, "dns": {"servers": ["192.0.2.53"], "search": ["example.com"]},\n "nics": ['
        _sep=''
        for _n in "$@"; do
            printf '%s\n  %s' "$_sep" "$_n"
            _sep=','
        done
        printf '\n]}\n'
    } > "$_root/etc/vmshift/network.json"
}

reapply() {   # ROOT [ARGS]: commands are only logged
    _root=$1
    shift
    # $GSH may be two words ("busybox sh").
    # shellcheck disable=SC2086
    VMSHIFT_ROOT=$_root VMSHIFT_NOEXEC=1 \
        $GSH "${REAPPLY:-$guest_src/linux-reapply.sh}" "$@"
}

reapply_exec() {   # ROOT STUBDIR [ARGS]: commands run, STUBDIR first in PATH
    _root=$1 _stubs=$2
    shift 2
    # shellcheck disable=SC2086
    env PATH="$_stubs:$PATH" VMSHIFT_ROOT="$_root" VMSHIFT_NOEXEC=0 \
        $GSH "${REAPPLY:-$guest_src/linux-reapply.sh}" "$@"
}

render() {   # DIR OS [ARGS]
    _d=$1 _os=$2
    shift 2
    "$VMSHIFT" -q guest-scripts --os "$_os" --out "$_d" "$@" ||
        fail "vmshift guest-scripts --os $_os $* failed"
}

same_file() {   # EXPECTED ACTUAL
    if ! cmp -s "$1" "$2"; then
        diff -u "$1" "$2"
        fail "$2 differs from $1"
    fi
}

need_netns() {
    [ "$(id -u)" = 0 ] || skip "network namespaces need root"
    requires ip
    _ns=vmshift-probe-$$
    ip netns add "$_ns" 2>/dev/null || skip "cannot create a network namespace here"
    ip netns del "$_ns"
}
