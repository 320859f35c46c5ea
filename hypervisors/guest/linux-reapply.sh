#!/bin/sh
# vmshift re-apply for Linux: runs once, on the first boot at the target.
#
# Reads the record written by linux-prepare.sh (/etc/vmshift/network.json),
# matches the recorded interfaces to the ones this machine has (by MAC
# when the MAC was kept, otherwise by PCI order), and puts the network
# configuration back under the new names: every file of every network
# stack (netplan, NetworkManager keyfiles, ifcfg-rh, wicked, ifupdown,
# systemd-networkd) that names an old interface or MAC is rewritten, so
# bonds, VLANs and bridges follow their ports.  Interfaces whose static
# addresses no file describes get a new file in the stack in use.  Then
# it removes VMware Tools, removes its boot hook, logs everything to
# /var/log/vmshift-reapply.log and reboots once if the stack needs it.
# Every file changed or removed is first copied under
# /etc/vmshift/backup/<time>/.  POSIX sh: dash, bash and busybox ash.
#
#   reapply.sh              do it (once; later runs only clean up)
#   reapply.sh --dry-run    log what would change, change nothing
#   reapply.sh --force      run again although it already ran
#
# Modes (set by 'vmshift guest-scripts --mode'): retain (keep the static
# settings under the new names), dhcp (switch the interfaces to DHCP),
# keep (leave the network alone), script (run the administrator's script
# instead of changing the network).
#
# Environment: VMSHIFT_ROOT (default /) is the root of the filesystem
# read and written; VMSHIFT_SYSFS (default $VMSHIFT_ROOT/sys) where the
# interfaces are found; VMSHIFT_RECORD the record to read (default: the
# guest's own, else network.json beside this script); VMSHIFT_NOEXEC=1
# logs commands (package removal, network reload, reboot) instead of
# running them, the default when VMSHIFT_ROOT is not /.
set -u

# >>> vmshift settings (vmshift guest-scripts rewrites this block)
VS_MODE='retain'
VS_RETAIN_MAC='auto'
VS_REMOVE_TOOLS='yes'
VS_REBOOT='auto'
VS_OVERRIDES=''
vs_admin_script() {
    :
}
# <<< vmshift settings

R=${VMSHIFT_ROOT:-/}
R=${R%/}
SYSFS=${VMSHIFT_SYSFS:-$R/sys}
DIR=$R/etc/vmshift
RECORD=${VMSHIFT_RECORD:-$DIR/network.json}
LOG=$R/var/log/vmshift-reapply.log
if [ -z "$R" ]; then NOEXEC=${VMSHIFT_NOEXEC:-0}; else NOEXEC=${VMSHIFT_NOEXEC:-1}; fi
DRY=0
ME=vmshift-reapply
NEED_REBOOT=0
CHANGED=0
TOUCHED=''

# ---------------------------------------------------------------- logging

log() {
    _l="$(date '+%Y-%m-%d %H:%M:%S' 2>/dev/null) $*"
    printf '%s\n' "$_l" >> "$LOG" 2>/dev/null
    printf '%s: %s\n' "$ME" "$*" >&2
}

die() {
    log "error: $*"
    exit 1
}

# Run a command that changes the system, or log it (dry run, NOEXEC).
run() {
    if [ "$DRY" = 1 ] || [ "$NOEXEC" = 1 ]; then
        log "would run: $*"
        return 0
    fi
    log "run: $*"
    "$@" >> "$LOG" 2>&1
    _rc=$?
    [ "$_rc" = 0 ] || log "'$1' exited with status $_rc"
    return "$_rc"
}

# ------------------------------------------------------------- validation

valid_ifname() {
    case $1 in
        ''|*[!A-Za-z0-9_.:@-]*|.|..) return 1 ;;
    esac
    [ "${#1}" -le 15 ]
}

valid_mac() {
    case $1 in
        [0-9A-Fa-f][0-9A-Fa-f]:[0-9A-Fa-f][0-9A-Fa-f]:[0-9A-Fa-f][0-9A-Fa-f]:[0-9A-Fa-f][0-9A-Fa-f]:[0-9A-Fa-f][0-9A-Fa-f]:[0-9A-Fa-f][0-9A-Fa-f])
            return 0 ;;
    esac
    return 1
}

valid_ip() {
    case $1 in
        ''|*[!0-9A-Fa-f:.]*) return 1 ;;
    esac
    [ "${#1}" -le 45 ]
}

valid_prefix() {   # PREFIX FAMILY
    case $1 in ''|*[!0-9]*) return 1 ;; esac
    if [ "$2" = inet ]; then [ "$1" -le 32 ]; else [ "$1" -le 128 ]; fi
}

valid_word() {   # DNS names, route metrics, MTU
    case $1 in
        ''|*[!A-Za-z0-9_.:/-]*) return 1 ;;
    esac
    [ "${#1}" -le 253 ]
}

# ------------------------------------------------------------ the record

# Flatten JSON into "path=value" lines ("nics.0.addresses.1.prefix=24").
# Strings lose their quotes; control characters become '?'.  Strings in
# JSON cannot span lines, so the input is scanned line by line.
flatten() {
    awk '
    function cur() {
        if (d == 0) return ""
        return (pre[d] == "" ? "" : pre[d] ".") (typ[d] == "o" ? key[d] : idx[d])
    }
    function adv() { if (d > 0) { if (typ[d] == "a") idx[d]++; else hk[d] = 0 } }
    function push(t,   p) {
        p = cur(); d++; typ[d] = t; pre[d] = p; idx[d] = 0; hk[d] = 0
    }
    function pop() { if (d > 0) { d--; adv() } }
    function val(v) { print cur() "=" v; adv() }
    function uchar(h,   v, k, c) {
        v = 0
        for (k = 1; k <= 4; k++) {
            c = index("0123456789abcdef", tolower(substr(h, k, 1))) - 1
            if (c < 0) return "?"
            v = v * 16 + c
        }
        if (v < 32 || v > 126) return "?"
        return sprintf("%c", v)
    }
    {
        s = $0; n = length(s); i = 1
        while (i <= n) {
            c = substr(s, i, 1)
            if (c == "{") { push("o"); i++ }
            else if (c == "[") { push("a"); i++ }
            else if (c == "}" || c == "]") { pop(); i++ }
            else if (c == "\"") {
                i++; str = ""
                while (i <= n) {
                    c = substr(s, i, 1)
                    if (c == "\\") {
                        e = substr(s, i + 1, 1); i += 2
                        if (e == "u") { str = str uchar(substr(s, i, 4)); i += 4 }
                        else if (e == "\"" || e == "\\" || e == "/") str = str e
                        else str = str "?"
                        continue
                    }
                    if (c == "\"") { i++; break }
                    str = str c; i++
                }
                if (d > 0 && typ[d] == "o" && !hk[d]) { key[d] = str; hk[d] = 1 }
                else val(str)
            } else if (c ~ /[-0-9a-z]/) {
                j = i
                while (j <= n && substr(s, j, 1) !~ /[],} \t\r]/) j++
                val(substr(s, i, j - i)); i = j
            } else i++
        }
    }' "$1"
}

rget() {   # PATH [FILE]
    awk -v k="$1" 'index($0, k "=") == 1 { print substr($0, length(k) + 2); exit }' \
        "${2:-$T/rec}"
}

# Values under PATH.N.FIELD for every N, one per line (FIELD may be empty
# for arrays of scalars).
rlist() {   # PATH FIELD
    awk -v p="$1." -v f="$2" '
        index($0, p) == 1 {
            rest = substr($0, length(p) + 1)
            e = index(rest, "="); k = substr(rest, 1, e - 1)
            sub(/^[0-9]+/, "", k)
            if ((f == "" && k == "") || k == "." f) print substr(rest, e + 1)
        }' "$T/rec"
}

nic_count() {
    awk -F. '/^nics\.[0-9]+\./ { if ($2 + 1 > n) n = $2 + 1 } END { print n + 0 }' "$T/rec"
}

# --------------------------------------------------------- interfaces

# Physical Ethernet interfaces here: "bus name mac", in bus order.
current_nics() {
    devs=$(readlink -f "$SYSFS/devices" 2>/dev/null || echo "$SYSFS/devices")
    for d in "$SYSFS"/class/net/*; do
        [ -e "$d/device" ] || continue
        [ "$(cat "$d/type" 2>/dev/null)" = 1 ] || continue
        n=${d##*/}
        valid_ifname "$n" || continue
        mac=$(cat "$d/bonding_slave/perm_hwaddr" 2>/dev/null ||
              cat "$d/address" 2>/dev/null)
        bus=$(readlink -f "$d/device" 2>/dev/null)
        bus=${bus#"$devs"/}
        printf '%s %s %s\n' "$(order_key "$bus" "$(cat "$d/ifindex" 2>/dev/null)")" \
            "$n" "$(echo "$mac" | tr 'A-F' 'a-f')"
    done | sort
}

# Sort key for matching by order: the PCI path where there is one (slot
# order is the VM's NIC order); otherwise (VMBus, Xen) the interface
# index, which follows the order the kernel found the NICs in.
order_key() {   # BUS IFINDEX
    case $1 in
        *pci*) printf '%s' "$1" ;;
        *) printf '~%010d' "${2:-0}" ;;
    esac
}

# Recorded physical interfaces: "bus index name mac", in bus order.
recorded_nics() {
    i=0
    n=$(nic_count)
    while [ "$i" -lt "$n" ]; do
        if [ "$(rget "nics.$i.physical")" = true ]; then
            name=$(rget "nics.$i.name")
            mac=$(rget "nics.$i.perm_mac")
            [ -n "$mac" ] || mac=$(rget "nics.$i.mac")
            bus=$(rget "nics.$i.bus")
            idx=$(rget "nics.$i.ifindex")
            case $idx in ''|*[!0-9]*) idx=0 ;; esac
            if valid_ifname "$name" && valid_mac "$mac"; then
                printf '%s %s %s %s\n' "$(order_key "$bus" "$idx")" "$i" "$name" \
                    "$(echo "$mac" | tr 'A-F' 'a-f')"
            else
                log "record: interface $i has a bad name or MAC; ignored"
            fi
        fi
        i=$((i + 1))
    done | sort
}

# Pair recorded and current interfaces: "index oldname oldmac newname
# newmac how".  A MAC counts only when it is unique on both sides.
match_nics() {
    recorded_nics > "$T/recp"
    current_nics > "$T/cur"
    awk -v bymac="$VS_RETAIN_MAC" '
        FILENAME == ARGV[1] { rb[++nr] = $1; ri[nr] = $2; rn[nr] = $3; rm[nr] = $4; rc[$4]++; next }
        { cb[++nc] = $1; cn[nc] = $2; cm[nc] = $3; cc[$3]++ }
        END {
            if (bymac != "no") {
                for (i = 1; i <= nr; i++) {
                    if (rc[rm[i]] != 1 || cc[rm[i]] != 1) continue
                    for (j = 1; j <= nc; j++) {
                        if (cm[j] == rm[i] && !cu[j]) {
                            print ri[i], rn[i], rm[i], cn[j], cm[j], "mac"
                            ru[i] = 1; cu[j] = 1
                        }
                    }
                }
            }
            j = 1
            for (i = 1; i <= nr; i++) {
                if (ru[i]) continue
                while (j <= nc && cu[j]) j++
                if (j > nc) { print ri[i], rn[i], rm[i], "-", "-", "none"; continue }
                print ri[i], rn[i], rm[i], cn[j], cm[j], "order"
                cu[j] = 1
            }
            for (j = 1; j <= nc; j++)
                if (!cu[j]) print "-", "-", "-", cn[j], cm[j], "new"
        }' "$T/recp" "$T/cur"
}

# ---------------------------------------------------- configuration files

# Every network configuration file, one per line: "stack path".
config_files() {
    for f in "$R"/etc/netplan/*.yaml "$R"/etc/netplan/*.yml; do
        [ -f "$f" ] && echo "netplan $f"
    done
    for f in "$R"/etc/NetworkManager/system-connections/*; do
        [ -f "$f" ] && echo "nm-keyfile $f"
    done
    for f in "$R"/etc/sysconfig/network-scripts/ifcfg-* \
             "$R"/etc/sysconfig/network-scripts/route-* \
             "$R"/etc/sysconfig/network-scripts/route6-* \
             "$R"/etc/sysconfig/network-scripts/rule-* \
             "$R"/etc/sysconfig/network-scripts/rule6-*; do
        [ -f "$f" ] && echo "ifcfg-rh $f"
    done
    for f in "$R"/etc/sysconfig/network/ifcfg-* \
             "$R"/etc/sysconfig/network/ifroute-* \
             "$R"/etc/sysconfig/network/routes; do
        [ -f "$f" ] && echo "wicked $f"
    done
    for f in "$R"/etc/network/interfaces "$R"/etc/network/interfaces.d/*; do
        [ -f "$f" ] && echo "ifupdown $f"
    done
    for f in "$R"/etc/systemd/network/*.network \
             "$R"/etc/systemd/network/*.netdev \
             "$R"/etc/systemd/network/*.link; do
        [ -f "$f" ] && echo "networkd $f"
    done
}

# Does FILE name interface NAME (as a whole token, or in its file name)
# or mention MAC (any case)?
mentions() {
    [ -f "$1" ] || return 1
    # ifcfg and route files name their interface in the file name.
    case ${1##*/} in
        ifcfg-"$2"|route-"$2"|route6-"$2"|ifroute-"$2") return 0 ;;
    esac
    awk -v n="$2" -v m="${3:-}" '
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

# Replace names (whole tokens of [A-Za-z0-9_], so "ens192.10" becomes
# "eth0.10" and "ifcfg-ens192" "ifcfg-eth0") and MACs (any case; the
# replacement keeps the case of the original) in one pass, so swapped
# names cannot chain.
remap() {   # FILE -> stdout
    _nf=0
    [ -n "$(tail -c 1 "$1")" ] && _nf=1
    awk -v mapf="$T/map" -v macf="$T/macmap" -v nofinal="$_nf" '
        BEGIN {
            while ((getline l < mapf) > 0) { split(l, a, " "); nm[a[1]] = a[2] }
            while ((getline l < macf) > 0) { split(l, a, " "); mm[a[1]] = a[2] }
            H = "[0-9A-Fa-f][0-9A-Fa-f]"
            MACRE = H ":" H ":" H ":" H ":" H ":" H
        }
        {
            line = $0; out = ""
            while (match(line, MACRE)) {
                m = substr(line, RSTART, RLENGTH)
                before = substr(line, 1, RSTART - 1)
                after = substr(line, RSTART + RLENGTH)
                lm = tolower(m)
                # Part of a longer hardware address (InfiniBand): leave it.
                if ((lm in mm) && before !~ /[0-9A-Fa-f]:$/ && after !~ /^:[0-9A-Fa-f]/) {
                    r = mm[lm]
                    if (m ~ /[A-F]/) r = toupper(r)
                    out = out before r
                } else out = out before m
                line = after
            }
            line = out line; out = ""
            while (match(line, /[A-Za-z0-9_]+/)) {
                t = substr(line, RSTART, RLENGTH)
                out = out substr(line, 1, RSTART - 1) ((t in nm) ? nm[t] : t)
                line = substr(line, RSTART + RLENGTH)
            }
            # Keep a missing newline at the end of the file missing.
            if (nofinal) printf "%s%s", (NR > 1 ? "\n" : ""), out line
            else print out line
        }' "$1"
}

BK=''
backup() {   # FILE: copy it under the backup folder, once per run
    [ -e "$1" ] || return 0
    _rel=${1#"$R"}
    [ -e "$BK$_rel" ] && return 0
    [ "$DRY" = 1 ] && return 0
    if ! { mkdir -p "$(dirname "$BK$_rel")" && cp -p "$1" "$BK$_rel"; }; then
        die "cannot back up ${_rel}"
    fi
}

# Replace FILE's contents with SRC, keeping its mode and owner.
replace() {   # FILE SRC
    if cmp -s "$1" "$2"; then return 1; fi
    log "rewrote ${1#"$R"}"
    [ "$DRY" = 1 ] && return 0
    backup "$1"
    cat "$2" > "$1" || die "cannot write ${1#"$R"}"
}

# Write a new file (mode MODE) from SRC.
create() {   # FILE SRC MODE
    if [ -e "$1" ]; then
        replace "$1" "$2"
        return 0
    fi
    log "wrote ${1#"$R"}"
    [ "$DRY" = 1 ] && return 0
    mkdir -p "$(dirname "$1")"
    (umask 077 && cat "$2" > "$1") || die "cannot write ${1#"$R"}"
    chmod "$3" "$1"
}

remove() {   # FILE
    [ -e "$1" ] || return 0
    log "removed ${1#"$R"} (kept in the backup)"
    [ "$DRY" = 1 ] && return 0
    backup "$1"
    rm -f "$1"
}

touched() {   # STACK
    case " $TOUCHED " in *" $1 "*) ;; *) TOUCHED="$TOUCHED $1" ;; esac
    CHANGED=1
}

# Rename interfaces and MACs in every configuration file, and the files
# named after an interface (ifcfg-ens192, 10-ens192.network).
rewrite_all() {
    config_files > "$T/files"
    : > "$T/moves"
    while read -r stack f; do
        remap "$f" > "$T/new"
        if replace "$f" "$T/new"; then
            touched "$stack"
        fi
        base=${f##*/}
        printf '%s\n' "$base" > "$T/base"
        nb=$(remap "$T/base")
        if [ "$nb" != "$base" ]; then
            printf '%s %s %s\n' "$stack" "$f" "${f%/*}/$nb" >> "$T/moves"
        fi
    done < "$T/files"
    # Two steps, so that swapped names (eth0 <-> eth1) cannot collide.
    while read -r stack f nf; do
        log "renamed ${f#"$R"} to ${nf#"$R"}"
        touched "$stack"
        [ "$DRY" = 1 ] && continue
        backup "$f"
        mv "$f" "$f.vmshift-mv"
    done < "$T/moves"
    while read -r stack f nf; do
        [ "$DRY" = 1 ] && continue
        if [ -e "$nf" ]; then
            log "warning: ${nf#"$R"} existed; replaced (kept in the backup)"
            backup "$nf"
        fi
        mv -f "$f.vmshift-mv" "$nf"
    done < "$T/moves"
}

# ------------------------------------------------- settings of one interface

# The static settings of recorded interface I as lines "key value":
# addr A/P, gw4, gw6, dns, search, mtu, route4/route6 "DST GW METRIC",
# dhcp4 yes|no, dhcp6 yes|no.  Dynamic addresses and routes learnt from
# DHCP or router advertisements are not static settings.
settings_of() {   # I
    awk -v p="nics.$1." '
        index($0, p) == 1 {
            rest = substr($0, length(p) + 1); e = index(rest, "=")
            k = substr(rest, 1, e - 1); v = substr(rest, e + 1)
            split(k, f, ".")
            if (f[1] == "addresses" && f[3] == "flags") a[f[2], "flags"] = a[f[2], "flags"] " " v
            else if (f[1] == "addresses") a[f[2], f[3]] = v
            else if (f[1] == "routes") r[f[2], f[3]] = v
            else if (f[1] == "mtu") mtu = v
            else if (f[1] == "dns" && f[2] == "servers") ldns = ldns " " v
            else if (f[1] == "dns" && f[2] == "search") lsearch = lsearch " " v
            if (f[1] == "addresses" && f[2] + 1 > na) na = f[2] + 1
            if (f[1] == "routes" && f[2] + 1 > nr) nr = f[2] + 1
        }
        /^dns\.servers\.[0-9]+=/ { sub(/^[^=]*=/, ""); gdns = gdns " " $0 }
        /^dns\.search\.[0-9]+=/ { sub(/^[^=]*=/, ""); gsearch = gsearch " " $0 }
        END {
            d4 = "no"; d6 = "no"
            for (i = 0; i < na; i++) {
                fam = a[i, "family"]
                if (a[i, "scope"] != "global") continue
                if (a[i, "dynamic"] == "true") {
                    if (fam == "inet") d4 = "yes"; else d6 = "yes"
                    continue
                }
                if (a[i, "flags"] ~ /temporary/) continue
                print "addr " a[i, "address"] "/" a[i, "prefix"]
            }
            gw = 0
            for (i = 0; i < nr; i++) {
                pr = r[i, "proto"]
                if (pr == "dhcp" || pr == "ra" || pr == "kernel" || pr == "redirect") continue
                fam = (r[i, "family"] == "inet") ? "4" : "6"
                if (r[i, "dst"] == "default" && r[i, "gateway"] != "") {
                    print "gw" fam " " r[i, "gateway"]; gw = 1
                } else if (r[i, "dst"] != "default")
                    print "route" fam " " r[i, "dst"] " " (r[i, "gateway"] == "" ? "-" : r[i, "gateway"]) " " (r[i, "metric"] == "" ? "-" : r[i, "metric"])
            }
            if (ldns != "" || lsearch != "") { dns = ldns; search = lsearch }
            else if (gw) { dns = gdns; search = gsearch }
            n = split(dns, x, " "); for (i = 1; i <= n; i++) print "dns " x[i]
            n = split(search, x, " "); for (i = 1; i <= n; i++) print "search " x[i]
            if (mtu != "" && mtu != "1500") print "mtu " mtu
            print "dhcp4 " d4; print "dhcp6 " d6
        }' "$T/rec"
}

# The override for recorded interface (old NAME, old MAC), if any, as the
# same "key value" lines.  Overrides come from the network map given to
# 'vmshift guest-scripts' as lines "N.key=value".
override_of() {   # NAME MAC
    printf '%s\n' "$VS_OVERRIDES" | awk -F= -v n="$1" -v m="$2" '
        {
            k = $1; v = substr($0, length(k) + 2)
            split(k, f, "."); id = f[1]; key = f[2]
            if (key == "mac" && tolower(v) == m) hit[id] = 1
            if (key == "name" && v == n) hit[id] = 1
            line[NR] = id " " key " " v
        }
        END {
            for (i = 1; i <= NR; i++) {
                split(line[i], w, " ")
                if (!(w[1] in hit) || w[2] == "mac" || w[2] == "name") continue
                print substr(line[i], length(w[1]) + 2)
            }
        }'
}

# Merge: settings of I with override lines replacing whole categories.
effective_settings() {   # I NAME MAC -> $T/set
    settings_of "$1" > "$T/set.rec"
    override_of "$2" "$3" > "$T/set.ovr"
    if [ ! -s "$T/set.ovr" ]; then
        cp "$T/set.rec" "$T/set"
        return 1
    fi
    # Override lines first: they decide which recorded categories go.
    # New addresses take the recorded gateways and routes with them (they
    # belong to the old subnets); DNS and MTU stay unless given.
    awk '
        FNR == NR {
            o[++no] = $0; k = $1
            if (k == "dhcp") {
                dh = $2; has["dhcp4"] = has["dhcp6"] = 1
                if ($2 == "yes") has["addr"] = has["gw4"] = has["gw6"] = 1
            } else if (k == "addr") {
                st = 1
                has["addr"] = has["dhcp4"] = has["dhcp6"] = 1
                has["gw4"] = has["gw6"] = has["route4"] = has["route6"] = 1
            } else has[k] = 1
            next
        }
        !($1 in has) { print }
        END {
            for (i = 1; i <= no; i++) {
                split(o[i], w, " ")
                if (w[1] == "dhcp") { print "dhcp4 " w[2]; print "dhcp6 " w[2] }
                else print o[i]
            }
            if (st && dh == "") { print "dhcp4 no"; print "dhcp6 no" }
        }' "$T/set.ovr" "$T/set.rec" > "$T/set"
    return 0
}

# Values of KEY in $T/set joined by SEP.
svj() {   # KEY SEP
    sv "$1" | awk -v s="$2" 'NR > 1 { printf "%s", s } { printf "%s", $0 }'
}

# Values of KEY in $T/set, one per line, validated.
sv() {
    awk -v k="$1" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "$T/set" |
    while read -r _v; do
        set -f
        _ok=1
        for _w in $_v; do valid_word "$_w" || _ok=0; done
        set +f
        if [ "$_ok" = 1 ]; then printf '%s\n' "$_v"; else
            log "ignored a bad $1 value"; fi
    done
}

# ------------------------------------------------------ stack generators
# Each writes one interface NAME's configuration from $T/set: gen_* for
# a new file, drop_* to remove what the stack had for NAME first.

cidr_mask() {   # prefix -> dotted netmask (IPv4)
    awk -v p="$1" 'BEGIN {
        for (i = 0; i < 4; i++) {
            b = (p >= 8) ? 8 : (p > 0 ? p : 0); p -= 8
            v = 0; for (k = 0; k < b; k++) v = v + v + 1
            for (; k < 8; k++) v = v + v
            printf "%s%d", (i ? "." : ""), v
        }
    }'
}

is_v6() { case $1 in *:*) return 0 ;; esac; return 1; }

gen_netplan() {   # NAME MAC
    {
        echo "# Written by vmshift on the first boot after migration."
        echo "network:"
        echo "  version: 2"
        echo "  ethernets:"
        echo "    $1:"
        if [ "$(sv dhcp4)" = yes ]; then echo "      dhcp4: true"; else echo "      dhcp4: false"; fi
        if [ "$(sv dhcp6)" = yes ]; then echo "      dhcp6: true"; else echo "      dhcp6: false"; fi
        a=$(sv addr)
        if [ -n "$a" ]; then
            echo "      addresses:"
            for x in $a; do echo "        - \"$x\""; done
        fi
        g4=$(sv gw4) g6=$(sv gw6) r4=$(sv route4) r6=$(sv route6)
        if [ -n "$g4$g6$r4$r6" ]; then
            echo "      routes:"
            [ -n "$g4" ] && printf '        - to: default\n          via: "%s"\n' "$g4"
            [ -n "$g6" ] && printf '        - to: "::/0"\n          via: "%s"\n' "$g6"
            printf '%s\n%s\n' "$r4" "$r6" | while read -r dst gw met; do
                [ -n "$dst" ] || continue
                printf '        - to: "%s"\n' "$dst"
                [ "$gw" != - ] && printf '          via: "%s"\n' "$gw"
                [ "$gw" = - ] && printf '          scope: link\n'
                [ "${met:--}" != - ] && printf '          metric: %s\n' "$met"
            done
        fi
        d=$(sv dns) s=$(sv search)
        if [ -n "$d$s" ]; then
            echo "      nameservers:"
            [ -n "$d" ] && echo "        addresses: [$(svj dns ', ')]"
            [ -n "$s" ] && echo "        search: [$(svj search ', ')]"
        fi
        m=$(sv mtu)
        [ -n "$m" ] && echo "      mtu: $m"
    } > "$T/gen"
    create "$R/etc/netplan/90-vmshift-$1.yaml" "$T/gen" 600
}

# Remove NAME's entry under "ethernets:" from every netplan file.
drop_netplan() {   # NAME MAC
    for f in "$R"/etc/netplan/*.yaml "$R"/etc/netplan/*.yml; do
        [ -f "$f" ] || continue
        awk -v n="$1" -v q="'" '
            function ind(s) { match(s, /^ */); return RLENGTH }
            # "ethernets:" waits until it has an entry: left empty, netplan
            # would refuse it.
            function out(s) {
                if (pend != "") {
                    if (s ~ /^[ ]*(#.*)?$/) { held = held s "\n"; return }
                    if (ind(s) > eind) printf "%s\n%s", pend, held
                    else printf "%s", held
                    pend = ""; held = ""
                }
                print s
            }
            /^[ ]*#/ || /^[ ]*$/ { if (!skip) out($0); next }
            {
                i = ind($0)
                if (skip && i > skipind) next
                skip = 0
                if (i <= eind) ineth = 0
                k = $0; sub(/^ */, "", k)
                if (k ~ /^ethernets:[ ]*$/) { pend = $0; held = ""; ineth = 1; eind = i; next }
                if (ineth && (k == n ":" || k == "\"" n "\":" || k == q n q ":")) {
                    skip = 1; skipind = i; next
                }
                out($0)
            }
            END { if (pend != "") printf "%s", held
            }' "$f" > "$T/np"
        replace "$f" "$T/np" || :
    done
}

uuid() {
    cat /proc/sys/kernel/random/uuid 2>/dev/null ||
    od -An -N16 -tx1 /dev/urandom | tr -d ' \n' |
        sed 's/^\(........\)\(....\)\(....\)\(....\)\(............\).*/\1-\2-\3-\4-\5/'
}

gen_nm() {   # NAME MAC
    a4='' a6=''
    for x in $(sv addr); do
        if is_v6 "$x"; then a6="$a6 $x"; else a4="$a4 $x"; fi
    done
    d4='' d6=''
    for x in $(sv dns); do
        if is_v6 "$x"; then d6="$d6$x;"; else d4="$d4$x;"; fi
    done
    s=$(sv search | tr ' ' ';')
    {
        printf '[connection]\nid=vmshift %s\nuuid=%s\ntype=ethernet\n' "$1" "$(uuid)"
        printf 'interface-name=%s\nautoconnect-priority=10\n\n[ethernet]\n' "$1"
        m=$(sv mtu); [ -n "$m" ] && printf 'mtu=%s\n' "$m"
        for fam in 4 6; do
            printf '\n[ipv%s]\n' "$fam"
            if [ "$fam" = 4 ]; then addrs=$a4 dns=$d4; else addrs=$a6 dns=$d6; fi
            if [ "$(sv dhcp$fam)" = yes ]; then method=auto
            elif [ -n "$addrs" ]; then method=manual
            elif [ "$fam" = 4 ]; then method=disabled
            else method=auto; fi
            printf 'method=%s\n' "$method"
            k=1
            for x in $addrs; do printf 'address%s=%s\n' "$k" "$x"; k=$((k + 1)); done
            g=$(sv "gw$fam"); [ -n "$g" ] && printf 'gateway=%s\n' "$g"
            [ -n "$dns" ] && printf 'dns=%s\n' "$dns"
            [ -n "$s" ] && [ -n "$dns" ] && printf 'dns-search=%s;\n' "$s"
            k=1
            sv "route$fam" | while read -r dst gw met; do
                v=$dst
                [ "$gw" != - ] && v="$v,$gw"
                [ "$gw" = - ] && [ "${met:--}" != - ] && v="$v,"
                [ "${met:--}" != - ] && v="$v,$met"
                printf 'route%s=%s\n' "$k" "$v"
                k=$((k + 1))
            done
        done
    } > "$T/gen"
    create "$R/etc/NetworkManager/system-connections/vmshift-$1.nmconnection" "$T/gen" 600
}

# Remove keyfiles bound to NAME or MAC that are not ports of a bond or
# bridge.
drop_nm() {   # NAME MAC
    for f in "$R"/etc/NetworkManager/system-connections/*; do
        [ -f "$f" ] || continue
        grep -Eq '^(master|controller|slave-type|port-type)=' "$f" && continue
        if grep -qx "interface-name=$1" "$f" ||
           { [ -n "$2" ] && grep -iq "^mac-address=$2\$" "$f"; }; then
            remove "$f"
        fi
    done
}

gen_ifcfg() {   # NAME MAC
    {
        echo "# Written by vmshift on the first boot after migration."
        printf 'DEVICE=%s\nNAME=%s\nTYPE=Ethernet\nONBOOT=yes\n' "$1" "$1"
        if [ "$(sv dhcp4)" = yes ]; then echo "BOOTPROTO=dhcp"; else echo "BOOTPROTO=none"; fi
        k=0 v6='' v6more=''
        for x in $(sv addr); do
            if is_v6 "$x"; then
                if [ -z "$v6" ]; then v6=$x; else v6more="$v6more $x"; fi
            else
                sfx=$k; [ "$k" = 0 ] && sfx=''
                printf 'IPADDR%s=%s\nPREFIX%s=%s\n' "$sfx" "${x%/*}" "$sfx" "${x#*/}"
                k=$((k + 1))
            fi
        done
        g=$(sv gw4); [ -n "$g" ] && printf 'GATEWAY=%s\nDEFROUTE=yes\n' "$g"
        echo "IPV6INIT=yes"
        if [ "$(sv dhcp6)" = yes ]; then
            printf 'IPV6_AUTOCONF=yes\n'
        elif [ -n "$v6" ]; then
            printf 'IPV6_AUTOCONF=no\nIPV6ADDR=%s\n' "$v6"
            [ -n "$v6more" ] && printf 'IPV6ADDR_SECONDARIES="%s"\n' "${v6more# }"
        fi
        g=$(sv gw6); [ -n "$g" ] && printf 'IPV6_DEFAULTGW=%s\n' "$g"
        k=1
        for x in $(sv dns); do printf 'DNS%s=%s\n' "$k" "$x"; k=$((k + 1)); done
        s=$(sv search); [ -n "$s" ] && printf 'DOMAIN="%s"\n' "$s"
        m=$(sv mtu); [ -n "$m" ] && printf 'MTU=%s\n' "$m"
    } > "$T/gen"
    d=$R/etc/sysconfig/network-scripts
    create "$d/ifcfg-$1" "$T/gen" 644
    for fam in 4 6; do
        sv "route$fam" | while read -r dst gw met; do
            line=$dst
            [ "$gw" != - ] && line="$line via $gw"
            [ "${met:--}" != - ] && line="$line metric $met"
            echo "$line dev $1"
        done > "$T/gen"
        f=$d/route-$1; [ "$fam" = 6 ] && f=$d/route6-$1
        [ -s "$T/gen" ] && create "$f" "$T/gen" 644
    done
}

drop_ifcfg() {   # NAME MAC
    d=$R/etc/sysconfig/network-scripts
    remove "$d/ifcfg-$1"
    remove "$d/route-$1"
    remove "$d/route6-$1"
}

gen_wicked() {   # NAME MAC
    {
        echo "# Written by vmshift on the first boot after migration."
        echo "STARTMODE='auto'"
        d4=$(sv dhcp4) d6=$(sv dhcp6)
        if [ "$d4" = yes ] && [ "$d6" = yes ]; then echo "BOOTPROTO='dhcp'"
        elif [ "$d4" = yes ]; then echo "BOOTPROTO='dhcp4'"
        elif [ "$d6" = yes ] && [ -z "$(sv addr)" ]; then echo "BOOTPROTO='dhcp6'"
        else echo "BOOTPROTO='static'"; fi
        k=0
        for x in $(sv addr); do
            sfx="_$k"; [ "$k" = 0 ] && sfx=''
            printf "IPADDR%s='%s'\n" "$sfx" "$x"
            k=$((k + 1))
        done
        m=$(sv mtu); [ -n "$m" ] && printf "MTU='%s'\n" "$m"
    } > "$T/gen"
    d=$R/etc/sysconfig/network
    create "$d/ifcfg-$1" "$T/gen" 644
    {
        g=$(sv gw4); [ -n "$g" ] && echo "default $g - $1"
        g=$(sv gw6); [ -n "$g" ] && echo "default $g - $1"
        printf '%s\n%s\n' "$(sv route4)" "$(sv route6)" | while read -r dst gw met; do
            [ -n "$dst" ] || continue
            [ "$gw" = - ] && gw=-
            line="$dst $gw - $1"
            [ "${met:--}" != - ] && line="$line metric $met"
            echo "$line"
        done
    } > "$T/gen"
    [ -s "$T/gen" ] && create "$d/ifroute-$1" "$T/gen" 644
    # Wicked keeps DNS in the global netconfig settings.
    c=$d/config
    dns=$(sv dns) search=$(sv search)
    if [ -f "$c" ] && [ -n "$dns$search" ]; then
        awk -v d="$dns" -v s="$search" '
            /^NETCONFIG_DNS_STATIC_SERVERS=/ && d != "" { print "NETCONFIG_DNS_STATIC_SERVERS=\"" d "\""; next }
            /^NETCONFIG_DNS_STATIC_SEARCHLIST=/ && s != "" { print "NETCONFIG_DNS_STATIC_SEARCHLIST=\"" s "\""; next }
            { print }' "$c" > "$T/gen"
        replace "$c" "$T/gen" || :
    fi
}

drop_wicked() {   # NAME MAC
    remove "$R/etc/sysconfig/network/ifcfg-$1"
    remove "$R/etc/sysconfig/network/ifroute-$1"
}

gen_ifupdown() {   # NAME MAC
    f=$R/etc/network/interfaces
    cp "$f" "$T/gen" 2>/dev/null || : > "$T/gen"
    {
        printf '\n# Written by vmshift on the first boot after migration.\n'
        printf 'auto %s\n' "$1"
        a4='' a6=''
        for x in $(sv addr); do
            if is_v6 "$x"; then a6="$a6 $x"; else a4="$a4 $x"; fi
        done
        if [ "$(sv dhcp4)" = yes ]; then
            printf 'iface %s inet dhcp\n' "$1"
        elif [ -n "$a4" ] || [ -z "$a6" ]; then
            if [ -n "$a4" ]; then
                printf 'iface %s inet static\n' "$1"
                for x in $a4; do printf '    address %s\n' "$x"; done
                g=$(sv gw4); [ -n "$g" ] && printf '    gateway %s\n' "$g"
            else
                printf 'iface %s inet manual\n' "$1"
            fi
            d=$(svj dns ' '); [ -n "$d" ] && printf '    dns-nameservers %s\n' "$d"
            s=$(svj search ' '); [ -n "$s" ] && printf '    dns-search %s\n' "$s"
            m=$(sv mtu); [ -n "$m" ] && printf '    mtu %s\n' "$m"
            sv route4 | while read -r dst gw met; do
                r="$dst"; [ "$gw" != - ] && r="$r via $gw"
                [ "${met:--}" != - ] && r="$r metric $met"
                printf '    up ip route add %s dev %s || true\n' "$r" "$1"
            done
        fi
        if [ "$(sv dhcp6)" = yes ]; then
            printf 'iface %s inet6 auto\n' "$1"
        elif [ -n "$a6" ]; then
            printf 'iface %s inet6 static\n' "$1"
            for x in $a6; do printf '    address %s\n' "$x"; done
            g=$(sv gw6); [ -n "$g" ] && printf '    gateway %s\n' "$g"
            # Without an IPv4 stanza the DNS settings go here.
            if [ -z "$a4" ] && [ "$(sv dhcp4)" != yes ]; then
                d=$(svj dns ' '); [ -n "$d" ] && printf '    dns-nameservers %s\n' "$d"
                s=$(svj search ' '); [ -n "$s" ] && printf '    dns-search %s\n' "$s"
                m=$(sv mtu); [ -n "$m" ] && printf '    mtu %s\n' "$m"
            fi
            sv route6 | while read -r dst gw met; do
                r="$dst"; [ "$gw" != - ] && r="$r via $gw"
                [ "${met:--}" != - ] && r="$r metric $met"
                printf '    up ip -6 route add %s dev %s || true\n' "$r" "$1"
            done
        fi
    } >> "$T/gen"
    create "$f" "$T/gen" 644
}

# Remove NAME's stanzas ("iface NAME ...", up to the next top-level
# keyword) and NAME from "auto"/"allow-*" lines.
drop_ifupdown() {   # NAME MAC
    for f in "$R"/etc/network/interfaces "$R"/etc/network/interfaces.d/*; do
        [ -f "$f" ] || continue
        awk -v n="$1" '
            $1 ~ /^(iface|mapping|auto|source|source-directory|rename)$/ || $1 ~ /^allow-/ { skip = 0 }
            $1 == "iface" && $2 == n { skip = 1; next }
            skip { next }
            $1 == "auto" || $1 ~ /^allow-/ {
                out = $1; k = 0
                for (i = 2; i <= NF; i++) if ($i != n) { out = out " " $i; k++ }
                if (k) print out
                next
            }
            { print }' "$f" > "$T/gen"
        replace "$f" "$T/gen" || :
    done
}

gen_networkd() {   # NAME MAC
    {
        echo "# Written by vmshift on the first boot after migration."
        printf '[Match]\nName=%s\n' "$1"
        m=$(sv mtu); [ -n "$m" ] && printf '\n[Link]\nMTUBytes=%s\n' "$m"
        printf '\n[Network]\n'
        d4=$(sv dhcp4) d6=$(sv dhcp6)
        if [ "$d4" = yes ] && [ "$d6" = yes ]; then echo "DHCP=yes"
        elif [ "$d4" = yes ]; then echo "DHCP=ipv4"
        elif [ "$d6" = yes ]; then echo "DHCP=ipv6"
        else echo "DHCP=no"; fi
        for x in $(sv addr); do printf 'Address=%s\n' "$x"; done
        for g in $(sv gw4) $(sv gw6); do printf 'Gateway=%s\n' "$g"; done
        for x in $(sv dns); do printf 'DNS=%s\n' "$x"; done
        s=$(svj search ' '); [ -n "$s" ] && printf 'Domains=%s\n' "$s"
        printf '%s\n%s\n' "$(sv route4)" "$(sv route6)" | while read -r dst gw met; do
            [ -n "$dst" ] || continue
            printf '\n[Route]\nDestination=%s\n' "$dst"
            [ "$gw" != - ] && printf 'Gateway=%s\n' "$gw"
            [ "$gw" = - ] && printf 'Scope=link\n'
            [ "${met:--}" != - ] && printf 'Metric=%s\n' "$met"
        done
    } > "$T/gen"
    create "$R/etc/systemd/network/10-vmshift-$1.network" "$T/gen" 644
}

drop_networkd() {   # NAME MAC
    for f in "$R"/etc/systemd/network/*.network; do
        [ -f "$f" ] || continue
        if grep -qx "Name=$1" "$f" ||
           { [ -n "$2" ] && grep -iqx "MACAddress=$2" "$f"; }; then
            remove "$f"
        fi
    done
}

# The stack that configures NAME now (its files mention it), else the
# one the recorded interface had, else the first stack installed.
stack_for() {   # NAME MAC RECORDED-STACK
    config_files > "$T/files"
    while read -r s f; do
        case $f in *.link|*.netdev|*/routes|*/route-*|*/route6-*|*/ifroute-*) continue ;; esac
        if mentions "$f" "$1" "$2"; then echo "$s"; return; fi
    done < "$T/files"
    case $3 in
        netplan|nm-keyfile|ifcfg-rh|wicked|ifupdown|networkd) echo "$3"; return ;;
    esac
    if [ -d "$R/etc/netplan" ] && [ -e "$R/usr/sbin/netplan" ]; then echo netplan
    elif [ -e "$R/usr/sbin/NetworkManager" ] &&
         [ -d "$R/etc/NetworkManager/system-connections" ]; then echo nm-keyfile
    elif [ -e "$R/usr/sbin/wicked" ] || [ -e "$R/sbin/wicked" ]; then echo wicked
    elif [ -d "$R/etc/sysconfig/network-scripts" ]; then echo ifcfg-rh
    elif [ -f "$R/etc/network/interfaces" ]; then echo ifupdown
    elif [ -d "$R/etc/systemd/network" ]; then echo networkd
    else echo none; fi
}

stack_fn() {   # STACK -> suffix of gen_/drop_
    case $1 in
        netplan) echo netplan ;; nm-keyfile) echo nm ;; ifcfg-rh) echo ifcfg ;;
        wicked) echo wicked ;; ifupdown) echo ifupdown ;; networkd) echo networkd ;;
        *) return 1 ;;
    esac
}

# Give NAME a fresh configuration from $T/set in its stack.
regenerate() {   # NAME MAC RECORDED-STACK WHY
    st=$(stack_for "$1" "$2" "$3")
    fn=$(stack_fn "$st") || {
        log "warning: no network stack found to configure $1; left as is"
        return 0
    }
    log "$1: writing its $st configuration ($4)"
    "drop_$fn" "$1" "$2"
    "gen_$fn" "$1" "$2"
    touched "$st"
}

# ------------------------------------------------------------ the modes

# Is recorded interface I a port of a bond or bridge?
enslaved() {
    [ -n "$(rget "nics.$1.master")" ]
}

do_network() {
    : > "$T/map"
    : > "$T/macmap"
    while read -r i on om nn nm how; do
        case $how in
            none) log "recorded $on ($om) has no interface here"; continue ;;
            new) log "$nn ($nm) is new here: not in the record"; continue ;;
        esac
        log "recorded $on ($om) is now $nn ($nm), matched by $how"
        [ "$on" != "$nn" ] && echo "$on $nn" >> "$T/map"
        [ "$om" != "$nm" ] && echo "$om $nm" >> "$T/macmap"
    done < "$T/match"

    if [ "$VS_MODE" = retain ] && [ ! -s "$T/map" ] && [ ! -s "$T/macmap" ] &&
       [ -z "$VS_OVERRIDES" ]; then
        log "names and MACs are unchanged: network left alone"
        return 0
    fi
    if [ -s "$T/map" ] || [ -s "$T/macmap" ]; then
        rewrite_all
    fi
    while read -r i on om nn nm how; do
        case $how in none|new) continue ;; esac
        effective_settings "$i" "$on" "$om"
        has_override=$?
        if enslaved "$i"; then
            [ "$has_override" = 0 ] &&
                log "warning: override for $on ignored: it is a port of $(rget "nics.$i.master")"
            [ "$VS_MODE" = dhcp ] &&
                log "$nn is a port of $(rget "nics.$i.master"): left as is"
            continue
        fi
        rstack=$(rget "nics.$i.stack")
        if [ "$VS_MODE" = dhcp ]; then
            printf 'dhcp4 yes\ndhcp6 yes\n' > "$T/set"
            regenerate "$nn" "$nm" "$rstack" "DHCP"
        elif [ "$has_override" = 0 ]; then
            regenerate "$nn" "$nm" "$rstack" "override from the network map"
        elif grep -q '^addr ' "$T/set" && ! described "$nn" "$nm"; then
            regenerate "$nn" "$nm" "$rstack" "no file described its static addresses"
        fi
    done < "$T/match"
}

# Does any configuration file describe NAME (or its MAC)?
described() {
    config_files > "$T/files"
    while read -r s f; do
        mentions "$f" "$1" "$2" && return 0
    done < "$T/files"
    return 1
}

run_admin_script() {
    f=$DIR/admin-script
    vs_admin_script > "$T/admin"
    if [ ! -s "$T/admin" ]; then
        log "mode 'script' but no script was given; network left alone"
        return 0
    fi
    create "$f" "$T/admin" 700
    cp "$T/match" "$DIR/matches" 2>/dev/null
    if [ "$DRY" = 1 ] || [ "$NOEXEC" = 1 ]; then
        log "would run the administrator's script $f"
        return 0
    fi
    log "running the administrator's script ${f#"$R"}"
    VMSHIFT_RECORD=$RECORD VMSHIFT_MATCHES=$DIR/matches sh "$f" >> "$LOG" 2>&1
    log "administrator's script exited with status $?"
}

# Make the running stack pick up the new files, or ask for a reboot.
apply_live() {
    [ "$CHANGED" = 1 ] || return 0
    for st in $TOUCHED; do
        case $st in
            netplan)
                run netplan generate && run netplan apply || NEED_REBOOT=1 ;;
            nm-keyfile)
                run nmcli connection reload || NEED_REBOOT=1
                awk '$6 != "none" && $6 != "new" { print $4 }' "$T/match" |
                while read -r n; do run nmcli device connect "$n" || exit 1; done ||
                    NEED_REBOOT=1 ;;
            wicked)
                run wicked ifreload all || NEED_REBOOT=1 ;;
            networkd)
                set --
                while read -r _i _on _om nn _nm how; do
                    case $how in none|new) ;; *) set -- "$@" "$nn" ;; esac
                done < "$T/match"
                run networkctl reload && run networkctl reconfigure "$@" ||
                    NEED_REBOOT=1 ;;
            ifcfg-rh)
                if [ -e "$R/usr/sbin/NetworkManager" ]; then
                    run nmcli connection reload || NEED_REBOOT=1
                fi
                NEED_REBOOT=1 ;;
            *) NEED_REBOOT=1 ;;
        esac
    done
}

# ----------------------------------------------------------- VMware Tools

dpkg_installed() {   # PKG
    awk -v p="$1" '
        /^Package: / { cur = $2 }
        /^Status: / && cur == p { ok = ($0 ~ / installed$/) }
        END { exit ok ? 0 : 1 }' "$R/var/lib/dpkg/status" 2>/dev/null
}

rpm_installed() {   # PKG
    command -v rpm >/dev/null 2>&1 || return 1
    if [ -n "$R" ]; then rpm --root "$R" -q --quiet "$1" 2>/dev/null
    else rpm -q --quiet "$1" 2>/dev/null; fi
}

remove_tools() {
    [ "$VS_REMOVE_TOOLS" = yes ] || { log "VMware Tools left installed (as asked)"; return 0; }
    set --
    for p in open-vm-tools-desktop open-vm-tools-sdmp open-vm-tools-containerinfo \
             open-vm-tools-salt-minion open-vm-tools; do
        if dpkg_installed "$p" || rpm_installed "$p"; then set -- "$@" "$p"; fi
    done
    pkgs=$*
    if [ "$#" -gt 0 ]; then
        if [ -f "$R/var/lib/dpkg/status" ] && command -v apt-get >/dev/null 2>&1; then
            export DEBIAN_FRONTEND=noninteractive
            run apt-get -y purge "$@"
        elif command -v dnf >/dev/null 2>&1; then run dnf -y remove "$@"
        elif command -v yum >/dev/null 2>&1; then run yum -y remove "$@"
        elif command -v zypper >/dev/null 2>&1; then
            run zypper --non-interactive remove "$@"
        else
            log "warning: found $pkgs but no package manager to remove it"
        fi
    fi
    # The tar installation (VMware's own installer) has its uninstaller.
    for u in /usr/bin/vmware-uninstall-tools.pl /usr/local/bin/vmware-uninstall-tools.pl; do
        if [ -e "$R$u" ]; then
            run "$u" < /dev/null
            break
        fi
    done
    [ -n "$pkgs" ] || [ -e "$R/etc/vmware-tools/locations" ] ||
        log "VMware Tools are not installed"
}

# -------------------------------------------------------------- boot hook

remove_hook() {
    for f in "$R/etc/cron.d/vmshift-reapply" \
             "$R/etc/systemd/system/multi-user.target.wants/vmshift-reapply.service" \
             "$R/etc/systemd/system/vmshift-reapply.service" \
             "$R/etc/local.d/vmshift-reapply.start"; do
        if [ -e "$f" ] || [ -L "$f" ]; then
            log "removed the boot hook ${f#"$R"}"
            [ "$DRY" = 1 ] || rm -f "$f"
        fi
    done
    if [ -f "$DIR/openrc-local-enabled" ]; then
        [ "$DRY" = 1 ] || rm -f "$R/etc/runlevels/default/local" "$DIR/openrc-local-enabled"
    fi
    f=$R/etc/rc.local
    if [ -f "$f" ] && grep -q 'vmshift-reapply' "$f"; then
        log "removed the boot hook from /etc/rc.local"
        grep -v 'vmshift-reapply' "$f" > "$T/rc"
        [ "$DRY" = 1 ] || cat "$T/rc" > "$f"
    fi
}

# ------------------------------------------------------------------- main

main() {
    force=0
    for a in "$@"; do
        case $a in
            --dry-run) DRY=1 ;;
            --force) force=1 ;;
            -h|--help)
                sed -n '2,/^set -u/p' "$0" | sed -e '/^set -u/d' -e 's/^# \{0,1\}//'
                exit 0 ;;
            *) printf '%s: unknown option %s\n' "$ME" "$a" >&2; exit 2 ;;
        esac
    done
    mkdir -p "$(dirname "$LOG")" 2>/dev/null
    T=$(mktemp -d "${TMPDIR:-/tmp}/vmshift.XXXXXX") || die "cannot make a temporary directory"
    trap 'rm -rf "$T"' EXIT
    trap 'exit 130' INT TERM
    if [ -e "$DIR/reapply.done" ] && [ "$force" = 0 ]; then
        log "already ran ($DIR/reapply.done exists); removing the boot hook only"
        remove_hook
        return 0
    fi
    log "starting (mode $VS_MODE$([ "$DRY" = 1 ] && echo ', dry run'))"
    BK=$DIR/backup/$(date +%Y%m%d-%H%M%S)

    case $VS_MODE in
        retain|dhcp|keep|script) ;;
        *) die "unknown mode '$VS_MODE'" ;;
    esac
    # A guest nobody prepared has no record of its own: then the record
    # beside this script (network.json of the run's bundle, built from
    # what VMware Tools reported to vCenter) is used.  A record the
    # prepare script made in the guest always wins.
    if [ ! -f "$RECORD" ] && [ -z "${VMSHIFT_RECORD:-}" ] &&
       [ -f "$(dirname "$0")/network.json" ]; then
        RECORD=$(dirname "$0")/network.json
    fi
    if [ -f "$RECORD" ]; then
        flatten "$RECORD" > "$T/rec"
        [ "$(rget vmshift_record)" = 1 ] ||
            log "warning: ${RECORD#"$R"} is not a vmshift record (version 1)"
        if [ "$(rget source)" = vmware-tools ]; then
            log "record: $RECORD (from the vCenter inventory: what VMware Tools reported)"
        else
            log "record: ${RECORD#"$R"} (made by the prepare script in this guest)"
        fi
    else
        log "warning: no record at ${RECORD#"$R"}; the network is left alone"
        : > "$T/rec"
    fi
    match_nics > "$T/match"
    [ -s "$T/recp" ] || log "the record lists no physical interface"

    case $VS_MODE in
        retain|dhcp) [ -s "$T/recp" ] && do_network ;;
        keep) log "mode 'keep': network left alone" ;;
        script) run_admin_script ;;
    esac
    apply_live
    remove_tools
    remove_hook
    if [ "$DRY" = 0 ]; then
        date > "$DIR/reapply.done" 2>/dev/null ||
            log "warning: cannot write $DIR/reapply.done"
    fi
    if [ "$VS_REBOOT" = always ] && [ "$CHANGED" = 1 ]; then NEED_REBOOT=1; fi
    if [ "$NEED_REBOOT" = 1 ] && [ "$VS_REBOOT" != never ]; then
        if [ -e "$DIR/rebooted" ]; then
            log "a reboot would be needed, but this script rebooted once already"
        else
            log "rebooting once so that the network comes up with the new settings"
            [ "$DRY" = 1 ] || date > "$DIR/rebooted"
            if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
                run systemctl reboot
            else
                run reboot
            fi
        fi
    elif [ "$NEED_REBOOT" = 1 ]; then
        log "the new settings take effect at the next reboot (reboot disabled)"
    fi
    log "done"
}

main "$@"
