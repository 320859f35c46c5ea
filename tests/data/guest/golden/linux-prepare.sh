#!/bin/sh
# vmshift guest preparation for Linux, run in the source VM before the move.
#
# Records, per network interface, the MAC, name, addresses, routes, DNS,
# MTU and which network stack configures it, as JSON in
# /etc/vmshift/network.json; installs the re-apply script
# (/etc/vmshift/reapply.sh, taken from linux-reapply.sh beside this file)
# and a hook that runs it once on the next boot.  Nothing else in the
# guest changes.  POSIX sh: runs under dash, bash and busybox ash.
#
#   linux-prepare.sh            record, install the re-apply step and hook
#   linux-prepare.sh --print    print the record to stdout, change nothing
#   linux-prepare.sh --undo     remove what a previous run installed
#
# Environment: VMSHIFT_ROOT (default /) is the root of the filesystem
# that is read and written; VMSHIFT_SYSFS (default $VMSHIFT_ROOT/sys) and
# VMSHIFT_PROC (default /proc) where interfaces are enumerated;
# VMSHIFT_REAPPLY the re-apply script to install.  Addresses and routes
# always come from the running system ('ip').
set -u

# >>> vmshift settings (vmshift guest-scripts rewrites this block)
VS_HOOK='systemd'
# <<< vmshift settings

R=${VMSHIFT_ROOT:-/}
R=${R%/}
SYSFS=${VMSHIFT_SYSFS:-$R/sys}
PROC=${VMSHIFT_PROC:-/proc}
DIR=$R/etc/vmshift
ME=vmshift-prepare

die() {
    printf '%s: error: %s\n' "$ME" "$*" >&2
    exit 1
}

note() {
    printf '%s: %s\n' "$ME" "$*" >&2
}

# --------------------------------------------------------------- JSON out

# A JSON string: backslash and quote escaped, control characters dropped.
js() {
    printf '"%s"' "$(printf '%s' "$1" | tr -d '\000-\037' |
        sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')"
}

# A JSON number, or null when the value is not a plain integer.
jn() {
    case $1 in
        ''|*[!0-9]*) printf 'null' ;;
        *) printf '%s' "$1" ;;
    esac
}

# A JSON array of strings from whitespace-separated words.
jwords() {
    printf '['
    _sep=''
    set -f
    for _w in $1; do
        printf '%s%s' "$_sep" "$(js "$_w")"
        _sep=', '
    done
    set +f
    printf ']'
}

rd() {   # first line of a file, or nothing
    [ -r "$1" ] && head -n 1 "$1" 2>/dev/null
}

# ------------------------------------------------------------ detection

# Does FILE name interface NAME (as a whole token, or in its file name)
# or mention MAC (any case)?
mentions() {
    [ -f "$1" ] || return 1
    # ifcfg and route files name their interface in the file name.
    case ${1##*/} in
        ifcfg-"$2"|route-"$2"|route6-"$2"|ifroute-"$2") return 0 ;;
    esac
    awk -v n="$2" -v m="$3" '
        BEGIN { m = tolower(m) }
        m != "" && index(tolower($0), m) { found = 1; exit }
        {
            s = $0
            while (match(s, /[A-Za-z0-9_]+/)) {
                if (substr(s, RSTART, RLENGTH) == n) { found = 1; exit }
                s = substr(s, RSTART + RLENGTH)
            }
        }
        END { exit found ? 0 : 1 }' "$1"
}

# Configuration files of each stack, one per line: "stack path".
stack_files() {
    for f in "$R"/etc/netplan/*.yaml "$R"/etc/netplan/*.yml; do
        [ -f "$f" ] && echo "netplan $f"
    done
    for f in "$R"/etc/NetworkManager/system-connections/*; do
        [ -f "$f" ] && echo "nm-keyfile $f"
    done
    for f in "$R"/etc/sysconfig/network-scripts/ifcfg-*; do
        [ -f "$f" ] && echo "ifcfg-rh $f"
    done
    for f in "$R"/etc/sysconfig/network/ifcfg-*; do
        [ -f "$f" ] && echo "wicked $f"
    done
    for f in "$R"/etc/network/interfaces "$R"/etc/network/interfaces.d/*; do
        [ -f "$f" ] && echo "ifupdown $f"
    done
    for f in "$R"/etc/systemd/network/*.network; do
        [ -f "$f" ] && echo "networkd $f"
    done
}

# The stack whose files mention NAME/MAC, and those files (relative to
# the root), as "stack|file file ...".
stack_of() {
    _stack='' _files=''
    stack_files > "$T/stackfiles"
    while read -r _s _f; do
        if mentions "$_f" "$1" "$2"; then
            [ -z "$_stack" ] && _stack=$_s
            [ "$_s" = "$_stack" ] && _files="$_files ${_f#"$R"}"
        fi
    done < "$T/stackfiles"
    printf '%s|%s\n' "$_stack" "${_files# }"
}

# Network stacks installed in the guest.
stacks_present() {
    _l=''
    have() { for _p in "$@"; do [ -e "$R$_p" ] && return 0; done; return 1; }
    have /usr/sbin/NetworkManager /sbin/NetworkManager && _l="$_l networkmanager"
    have /usr/sbin/netplan /usr/share/netplan && _l="$_l netplan"
    have /usr/sbin/wicked /sbin/wicked && _l="$_l wicked"
    have /etc/sysconfig/network-scripts/network-functions \
        /usr/libexec/network-scripts && _l="$_l network-scripts"
    have /sbin/ifup /usr/sbin/ifup && [ -f "$R/etc/network/interfaces" ] &&
        _l="$_l ifupdown"
    have /lib/systemd/systemd-networkd /usr/lib/systemd/systemd-networkd &&
        _l="$_l networkd"
    printf '%s' "${_l# }"
}

# How the name NAME is pinned to its hardware, if it is.
name_pin() {
    for f in "$R"/etc/udev/rules.d/*.rules; do
        [ -f "$f" ] && grep -q "NAME=\"$1\"" "$f" 2>/dev/null &&
            { echo udev; return; }
    done
    for f in "$R"/etc/systemd/network/*.link; do
        [ -f "$f" ] && grep -qx "Name=$1" "$f" 2>/dev/null &&
            { echo link; return; }
    done
    for f in "$R"/etc/netplan/*.yaml; do
        [ -f "$f" ] && grep -Eq "set-name:[[:space:]]*\"?$1\"?[[:space:]]*\$" \
            "$f" 2>/dev/null && { echo netplan; return; }
    done
}

# Kind of interface D (a sysfs directory).
kind_of() {
    _n=${1##*/}
    if [ -d "$1/bonding" ]; then echo bond
    elif [ -d "$1/bridge" ]; then echo bridge
    elif grep -q "^${_n}[[:space:]]*|" "$PROC/net/vlan/config" 2>/dev/null ||
         grep -qx 'DEVTYPE=vlan' "$1/uevent" 2>/dev/null; then echo vlan
    elif [ -e "$1/device" ]; then echo ether
    else
        _t=$(sed -n 's/^DEVTYPE=//p' "$1/uevent" 2>/dev/null)
        echo "${_t:-virtual}"
    fi
}

# ---------------------------------------------------------------- capture

# "ip -o addr" lines of interface NAME as JSON objects, one per line.
addr_json() {
    awk -v dev="$1" '
    function q(s,   i, c, o) {
        o = ""
        for (i = 1; i <= length(s); i++) {
            c = substr(s, i, 1)
            if (c == "\\" || c == "\"") o = o "\\"
            o = o c
        }
        return "\"" o "\""
    }
    {
        # Busybox and iproute2 both print "IDX: NAME FAMILY ADDR ...".
        name = $2; sub(/@.*/, "", name)
        if (name != dev || ($3 != "inet" && $3 != "inet6")) next
        a = $4; i = 5
        if ($5 == "peer") { peer = $6; i = 7 } else peer = ""
        p = (peer != "") ? peer : a
        pfx = (p ~ /\//) ? p : ""; sub(/.*\//, "", pfx)
        if (pfx == "") pfx = ($3 == "inet") ? 32 : 128
        sub(/\/.*/, "", a); sub(/\/.*/, "", peer)
        scope = ""; label = ""; flags = ""; dyn = "false"; vl = ""
        for (; i <= NF; i++) {
            t = $i
            if (t == "brd" || t == "metric" || t == "proto") { i++; continue }
            if (t == "scope") { scope = $(i + 1); i++; continue }
            if (t == "valid_lft") { vl = $(i + 1); i++; continue }
            if (t == "preferred_lft") { i++; continue }
            if (t == "flags") { i++; continue }
            sub(/\\$/, "", t)
            if (t == "") continue
            if (t == "dynamic") { dyn = "true"; continue }
            if (scope != "" && (t == dev || index(t, dev ":") == 1)) {
                label = t; continue
            }
            if (scope != "" && t ~ /^[a-z0-9]+$/)
                flags = flags (flags == "" ? "" : ", ") q(t)
        }
        printf "{\"family\": %s, \"address\": %s, \"prefix\": %d", q($3), q(a), pfx
        if (peer != "") printf ", \"peer\": %s", q(peer)
        printf ", \"scope\": %s, \"dynamic\": %s", q(scope), dyn
        if (label != "") printf ", \"label\": %s", q(label)
        printf ", \"flags\": [%s]", flags
        if (vl ~ /^[0-9]+sec$/) { sub(/sec/, "", vl); printf ", \"valid_lft\": %d", vl }
        printf "}\n"
    }' "$T/addr"
}

# Routes of interface NAME ("ip -o route" of both families, table main)
# as JSON objects.  Kernel routes (the subnet of an address) are left
# out: they come back with the address.  Busybox ip does not print the
# protocol, so there a route without gateway whose destination is the
# subnet of an address on the device counts as a kernel route.
route_json() {
    awk -v dev="$1" -v addrs="$2" -v fam="$4" '
    function q(s,   i, c, o) {
        o = ""
        for (i = 1; i <= length(s); i++) {
            c = substr(s, i, 1)
            if (c == "\\" || c == "\"") o = o "\\"
            o = o c
        }
        return "\"" o "\""
    }
    function hex(s,   i, c, v) {
        v = 0
        for (i = 1; i <= length(s); i++) {
            c = index("0123456789abcdef", tolower(substr(s, i, 1))) - 1
            v = v * 16 + c
        }
        return v
    }
    # 128 bits as 8 groups of 16 (IPv6) or 4 groups of 8 (IPv4).
    function bits(a, fam, g,   n, i, j, parts, left, right, k) {
        if (fam == "inet") {
            n = split(a, parts, ".")
            for (i = 1; i <= 4; i++) g[i] = parts[i] + 0
            return 8
        }
        for (i = 1; i <= 8; i++) g[i] = 0
        k = index(a, "::")
        if (k) { left = substr(a, 1, k - 1); right = substr(a, k + 2) }
        else { left = a; right = "" }
        n = (left == "") ? 0 : split(left, parts, ":")
        for (i = 1; i <= n; i++) g[i] = hex(parts[i])
        n = (right == "") ? 0 : split(right, parts, ":")
        for (j = 1; j <= n; j++) g[8 - n + j] = hex(parts[j])
        return 16
    }
    function net(a, fam, pfx,   g, w, i, keep, m, out) {
        w = bits(a, fam, g)
        out = ""
        for (i = 1; i <= (fam == "inet" ? 4 : 8); i++) {
            keep = pfx - (i - 1) * w
            if (keep <= 0) g[i] = 0
            else if (keep < w) {
                for (m = 1; keep < w; keep++) m = m * 2
                g[i] = int(g[i] / m) * m
            }
            out = out "." g[i]
        }
        return out
    }
    BEGIN {
        na = split(addrs, al, " ")
        for (i = 1; i <= na; i++) {
            split(al[i], x, "/")
            f = (x[1] ~ /:/) ? "inet6" : "inet"
            kern[f "|" net(x[1], f, x[2]) "/" x[2]] = 1
        }
    }
    {
        i = 1; type = "unicast"
        if ($1 ~ /^(unicast|local|broadcast|multicast|unreachable|prohibit|blackhole|throw|nat|anycast)$/) {
            type = $1; i = 2
        }
        if (type != "unicast") next
        dst = $i; gw = ""; d = ""; proto = ""; scope = ""; src = ""
        metric = ""; onlink = "false"; multi = 0
        for (i++; i <= NF; i++) {
            t = $i
            if (t == "via") {
                if ($(i + 1) == "inet" || $(i + 1) == "inet6") i++
                gw = $(i + 1); i++
            } else if (t == "dev") { d = $(i + 1); i++ }
            else if (t == "proto") { proto = $(i + 1); i++ }
            else if (t == "scope") { scope = $(i + 1); i++ }
            else if (t == "src") { src = $(i + 1); i++ }
            else if (t == "metric") { metric = $(i + 1); i++ }
            else if (t == "onlink") onlink = "true"
            else if (t == "nexthop") multi = 1
            else if (t ~ /^(table|pref|mtu|advmss|expires|realm|hoplimit|initcwnd|initrwnd|quickack|rto_min|window|cwnd|ssthresh|features|congctl|weight|lock)$/) i++
        }
        if (d != dev || multi) next
        if (proto == "kernel") next
        if (proto == "" && gw == "" && dst != "default") {
            split(dst, x, "/")
            if (x[2] == "") x[2] = (fam == "inet") ? 32 : 128
            if ((fam "|" net(x[1], fam, x[2]) "/" x[2]) in kern) next
            if (fam == "inet6" && dst == "fe80::/64") next
        }
        printf "{\"family\": %s, \"dst\": %s", q(fam), q(dst)
        if (gw != "") printf ", \"gateway\": %s", q(gw)
        if (metric != "") printf ", \"metric\": %d", metric
        if (proto != "") printf ", \"proto\": %s", q(proto)
        if (scope != "") printf ", \"scope\": %s", q(scope)
        if (src != "") printf ", \"src\": %s", q(src)
        printf ", \"onlink\": %s}\n", onlink
    }' "$3"
}

# Join the lines of stdin with ",\n" and INDENT.
join_lines() {
    awk -v ind="$1" 'NR > 1 { printf ",\n" } { printf "%s%s", ind, $0 }
                     END { if (NR) printf "\n" }'
}

# Global DNS: servers and search domains from resolv.conf, or from the
# upstream file of systemd-resolved when resolv.conf points at its stub.
dns_json() {
    rc=$R/etc/resolv.conf
    if grep -q '^nameserver[[:space:]]*127\.0\.0\.53' "$rc" 2>/dev/null &&
       [ -f "$R/run/systemd/resolve/resolv.conf" ]; then
        rc=$R/run/systemd/resolve/resolv.conf
    fi
    servers=$(awk '$1 == "nameserver" { print $2 }' "$rc" 2>/dev/null)
    search=$(awk '$1 == "search" || $1 == "domain" {
                    for (i = 2; i <= NF; i++) print $i }' "$rc" 2>/dev/null)
    printf '{"servers": %s, "search": %s, "source": %s}' \
        "$(jwords "$servers")" "$(jwords "$search")" "$(js "${rc#"$R"}")"
}

# Per-link DNS from systemd-resolved, on the live system only.
link_dns() {   # NAME -> "servers|search"
    if [ -z "$R" ] && command -v resolvectl >/dev/null 2>&1; then
        _s=$(resolvectl dns "$1" 2>/dev/null | sed 's/^[^:]*:[[:space:]]*//')
        _d=$(resolvectl domain "$1" 2>/dev/null | sed 's/^[^:]*:[[:space:]]*//')
        printf '%s|%s' "$_s" "$_d"
    fi
}

nic_json() {   # sysfs dir
    d=$1
    n=${d##*/}
    kind=$(kind_of "$d")
    mac=$(rd "$d/address")
    perm=$(rd "$d/bonding_slave/perm_hwaddr")
    bus=''
    if [ -e "$d/device" ]; then
        bus=$(readlink -f "$d/device" 2>/dev/null)
        bus=${bus#"$SYSDEVS"/}
    fi
    master=''
    [ -L "$d/master" ] && master=$(readlink "$d/master") && master=${master##*/}
    drv=''
    [ -L "$d/device/driver" ] && drv=$(readlink "$d/device/driver") &&
        drv=${drv##*/}
    addrs=$(addr_json "$n")
    plain=$(awk -v dev="$n" '{ nm = $2; sub(/@.*/, "", nm) }
            nm == dev && ($3 == "inet" || $3 == "inet6") && $5 != "peer" {
                print $4 }' "$T/addr" | tr '\n' ' ')
    { route_json "$n" "$plain" "$T/route4" inet
      route_json "$n" "$plain" "$T/route6" inet6; } > "$T/routes"
    st=$(stack_of "$n" "${perm:-$mac}")
    dns=$(link_dns "$n")
    if [ -z "${st%%|*}" ] && [ -e "$d/device" ] &&
       printf '%s\n' "$addrs" | grep -q '"scope": "global", "dynamic": false'; then
        note "$n has static addresses that no configuration file describes;" \
            "re-apply will write a configuration for them"
    fi

    printf '    {\n'
    printf '      "name": %s,\n' "$(js "$n")"
    printf '      "mac": %s,\n' "$(js "$mac")"
    [ -n "$perm" ] && printf '      "perm_mac": %s,\n' "$(js "$perm")"
    printf '      "kind": %s,\n' "$(js "$kind")"
    if [ "$kind" = ether ] || [ -n "$bus" ]; then
        printf '      "physical": true,\n'
    else
        printf '      "physical": false,\n'
    fi
    [ -n "$bus" ] && printf '      "bus": %s,\n' "$(js "$bus")"
    [ -n "$drv" ] && printf '      "driver": %s,\n' "$(js "$drv")"
    printf '      "ifindex": %s,\n' "$(jn "$(rd "$d/ifindex")")"
    printf '      "mtu": %s,\n' "$(jn "$(rd "$d/mtu")")"
    printf '      "state": %s,\n' "$(js "$(rd "$d/operstate")")"
    [ -n "$master" ] && printf '      "master": %s,\n' "$(js "$master")"
    if [ "$kind" = vlan ]; then
        v=$(awk -F'|' -v n="$n" '{ gsub(/[ \t]/, "") } $1 == n {
                print $2 " " $3 }' "$PROC/net/vlan/config" 2>/dev/null)
        if [ -n "$v" ]; then
            printf '      "vlan": {"id": %s, "link": %s},\n' \
                "$(jn "${v%% *}")" "$(js "${v#* }")"
        fi
    fi
    if [ "$kind" = bond ]; then
        printf '      "slaves": %s,\n' "$(jwords "$(rd "$d/bonding/slaves")")"
        printf '      "bond_mode": %s,\n' \
            "$(js "$(rd "$d/bonding/mode" | cut -d' ' -f1)")"
    fi
    if [ "$kind" = bridge ] && [ -d "$d/brif" ]; then
        printf '      "ports": %s,\n' "$(jwords "$(ls "$d/brif")")"
    fi
    printf '      "stack": %s,\n' "$(js "${st%%|*}")"
    printf '      "config": %s,\n' "$(jwords "${st#*|}")"
    printf '      "name_pinned": %s,\n' "$(js "$(name_pin "$n")")"
    if [ -n "$dns" ]; then
        printf '      "dns": {"servers": %s, "search": %s},\n' \
            "$(jwords "${dns%%|*}")" "$(jwords "${dns#*|}")"
    fi
    if [ -n "$addrs" ]; then
        printf '      "addresses": [\n'
        printf '%s\n' "$addrs" | join_lines '        '
        printf '      ],\n'
    else
        printf '      "addresses": [],\n'
    fi
    if [ -s "$T/routes" ]; then
        printf '      "routes": [\n'
        join_lines '        ' < "$T/routes"
        printf '      ]\n'
    else
        printf '      "routes": []\n'
    fi
    printf '    }'
}

os_field() {   # KEY from os-release
    for f in "$R/etc/os-release" "$R/usr/lib/os-release"; do
        if [ -f "$f" ]; then
            sed -n "s/^$1=//p" "$f" | head -n 1 | tr -d '"'\'
            return
        fi
    done
}

capture() {
    command -v ip >/dev/null 2>&1 ||
        die "'ip' (iproute2 or busybox) is required to read the addresses"
    ip -o addr show > "$T/addr" 2>/dev/null || die "'ip -o addr show' failed"
    ip -o -4 route show table main > "$T/route4" 2>/dev/null ||
        ip -o -4 route show > "$T/route4" 2>/dev/null || : > "$T/route4"
    ip -o -6 route show table main > "$T/route6" 2>/dev/null ||
        ip -o -6 route show > "$T/route6" 2>/dev/null || : > "$T/route6"
    [ -d "$SYSFS/class/net" ] || die "no network interfaces in $SYSFS/class/net"
    SYSDEVS=$(readlink -f "$SYSFS/devices" 2>/dev/null || echo "$SYSFS/devices")

    printf '{\n'
    printf '  "vmshift_record": 1,\n'
    printf '  "created": %s,\n' "$(js "$(date -u +%Y-%m-%dT%H:%M:%SZ)")"
    printf '  "hostname": %s,\n' "$(js "$(rd "$R/etc/hostname" || hostname)")"
    printf '  "os": {"id": %s, "version_id": %s},\n' \
        "$(js "$(os_field ID)")" "$(js "$(os_field VERSION_ID)")"
    printf '  "stacks": %s,\n' "$(jwords "$(stacks_present)")"
    printf '  "dns": %s,\n' "$(dns_json)"
    printf '  "nics": ['
    first=1
    for d in "$SYSFS"/class/net/*; do
        [ -e "$d" ] || continue
        n=${d##*/}
        [ "$n" = lo ] && continue
        [ "$(rd "$d/type")" = 772 ] && continue
        [ -n "$first" ] || printf ','
        printf '\n'
        nic_json "$d"
        first=''
    done
    printf '\n  ]\n}\n'
}

# ------------------------------------------------------------ boot hook

hook_cron() {
    [ -d "$R/etc/cron.d" ] || return 1
    for c in /usr/sbin/cron /usr/sbin/crond /sbin/crond /usr/bin/crond; do
        [ -e "$R$c" ] && break
        c=''
    done
    [ -n "$c" ] || return 1
    cat > "$R/etc/cron.d/vmshift-reapply" <<'EOF'
# vmshift: re-apply the network settings once, on the first boot at the
# target (removed by /etc/vmshift/reapply.sh when it has run).
SHELL=/bin/sh
PATH=/usr/sbin:/usr/bin:/sbin:/bin
@reboot root /bin/sh /etc/vmshift/reapply.sh >/dev/null 2>&1
EOF
    chmod 644 "$R/etc/cron.d/vmshift-reapply"
}

hook_systemd() {
    [ -d "$R/etc/systemd/system" ] || return 1
    u=$R/etc/systemd/system/vmshift-reapply.service
    cat > "$u" <<'EOF'
# vmshift: re-apply the network settings once, on the first boot at the
# target (removed by /etc/vmshift/reapply.sh when it has run).
[Unit]
Description=vmshift: re-apply network settings after migration
After=network.target
ConditionPathExists=/etc/vmshift/reapply.sh

[Service]
Type=oneshot
ExecStart=/bin/sh /etc/vmshift/reapply.sh
TimeoutStartSec=30min

[Install]
WantedBy=multi-user.target
EOF
    chmod 644 "$u"
    mkdir -p "$R/etc/systemd/system/multi-user.target.wants"
    ln -sf /etc/systemd/system/vmshift-reapply.service \
        "$R/etc/systemd/system/multi-user.target.wants/vmshift-reapply.service"
}

hook_openrc() {
    [ -d "$R/etc/local.d" ] || return 1
    f=$R/etc/local.d/vmshift-reapply.start
    printf '#!/bin/sh\n# vmshift: re-apply network settings once\n%s\n' \
        '/bin/sh /etc/vmshift/reapply.sh >/dev/null 2>&1 &' > "$f"
    chmod 755 "$f"
    if [ -d "$R/etc/runlevels/default" ] &&
       [ ! -e "$R/etc/runlevels/default/local" ]; then
        ln -s /etc/init.d/local "$R/etc/runlevels/default/local"
        : > "$DIR/openrc-local-enabled"
    fi
}

hook_rclocal() {
    f=$R/etc/rc.local
    [ -f "$f" ] || [ -d "$R/etc/rc.d" ] || return 1
    [ -f "$f" ] || printf '#!/bin/sh\n' > "$f"
    grep -q 'vmshift-reapply' "$f" ||
        awk '/^exit 0/ && !done {
                 print "/bin/sh /etc/vmshift/reapply.sh & # vmshift-reapply"
                 done = 1 }
             { print }
             END { if (!done)
                 print "/bin/sh /etc/vmshift/reapply.sh & # vmshift-reapply" }' \
            "$f" > "$T/rc.local" && cat "$T/rc.local" > "$f"
    chmod 755 "$f"
}

install_hook() {
    case $VS_HOOK in
        auto)
            for h in cron systemd openrc rclocal; do
                if "hook_$h"; then
                    echo "$h" > "$DIR/hook"
                    echo "$h"
                    return 0
                fi
            done
            die "found no way to run a script at boot (cron, systemd, OpenRC local.d or rc.local)" ;;
        cron|systemd|openrc|rclocal)
            "hook_$VS_HOOK" || die "cannot install the $VS_HOOK boot hook"
            echo "$VS_HOOK" > "$DIR/hook"
            echo "$VS_HOOK" ;;
        *) die "unknown hook type '$VS_HOOK'" ;;
    esac
}

undo() {
    rm -f "$R/etc/cron.d/vmshift-reapply" \
        "$R/etc/systemd/system/vmshift-reapply.service" \
        "$R/etc/systemd/system/multi-user.target.wants/vmshift-reapply.service" \
        "$R/etc/local.d/vmshift-reapply.start"
    if [ -f "$DIR/openrc-local-enabled" ]; then
        rm -f "$R/etc/runlevels/default/local" "$DIR/openrc-local-enabled"
    fi
    if [ -f "$R/etc/rc.local" ] && grep -q 'vmshift-reapply' "$R/etc/rc.local"; then
        grep -v 'vmshift-reapply' "$R/etc/rc.local" > "$T/rc.local"
        cat "$T/rc.local" > "$R/etc/rc.local"
    fi
    rm -f "$DIR/reapply.sh" "$DIR/network.json" "$DIR/hook"
    rmdir "$DIR" 2>/dev/null
    note "removed the re-apply step and its boot hook"
}

# ------------------------------------------------------------------ main

# Copy SRC to DST with MODE, atomically (a temporary name, then rename).
install_file() {
    if ! { (umask 077 && cp "$1" "$2.new") && chmod "$3" "$2.new" &&
           mv -f "$2.new" "$2"; }; then
        rm -f "$2.new"
        die "cannot write ${2#"$R"}"
    fi
}

main() {
    action=install
    case ${1:-} in
        '') ;;
        --print) action=print ;;
        --undo) action=undo ;;
        -h|--help)
            sed -n '2,/^set -u/p' "$0" | sed -e '/^set -u/d' -e 's/^# \{0,1\}//'
            exit 0 ;;
        *) die "unknown option '$1' (try --help)" ;;
    esac
    if [ -z "$R" ] && [ "$(id -u)" != 0 ] && [ "$action" != print ]; then
        die "must run as root"
    fi
    T=$(mktemp -d "${TMPDIR:-/tmp}/vmshift.XXXXXX") || die "cannot make a temporary directory"
    trap 'rm -rf "$T"' EXIT
    trap 'exit 130' INT TERM

    if [ "$action" = undo ]; then
        undo
        return
    fi
    if [ "$action" = print ]; then
        capture
        return
    fi
    src=${VMSHIFT_REAPPLY:-$(dirname "$0")/linux-reapply.sh}
    [ -f "$src" ] || die "re-apply script '$src' not found (set VMSHIFT_REAPPLY)"
    (umask 077 && mkdir -p "$DIR") || die "cannot create $DIR"
    capture > "$T/network.json" || die "capturing the network settings failed"
    install_file "$T/network.json" "$DIR/network.json" 600
    install_file "$src" "$DIR/reapply.sh" 700
    rm -f "$DIR/reapply.done"
    hook=$(install_hook) || exit 1
    nnic=$(grep -c '^      "name":' "$DIR/network.json")
    note "recorded $nnic interface(s) in /etc/vmshift/network.json"
    note "installed /etc/vmshift/reapply.sh, run once at boot by $hook"
}

main "$@"
