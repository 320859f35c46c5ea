#!/bin/sh
# Runs shellcheck on every shell script in the repository (hypervisors/guest,
# tools/, tests/): files named *.sh and files whose first line runs a
# shell.  POSIX scripts are checked as 'sh' (bash only where the shebang
# says bash), following sourced files.  The guest scripts are also
# checked as rendered by 'vmshift guest-scripts' with a network map, and
# must parse under dash and busybox sh.
. "$(dirname "$0")/../lib/functions.sh"

requires shellcheck
cd "$VMSHIFT_TOP" || fail "no $VMSHIFT_TOP"
tmpdir

find hypervisors/guest tools tests -type f ! -path '*/node_modules/*' \
    ! -name '*.c' ! -name '*.h' ! -name '*.json' ! -name '*.ps1' | sort |
while IFS= read -r f; do
    case $f in
        *.sh) echo "$f" ;;
        *) head -n 1 "$f" | grep -Eq '^#!.*[/ ](sh|bash|dash|ash)( |$)' && echo "$f" ;;
    esac
done > "$tmp/list"
[ -s "$tmp/list" ] || fail "found no shell scripts"

bad=0
while IFS= read -r f; do
    sh='sh'
    head -n 1 "$f" | grep -q bash && sh='bash'
    if shellcheck -s "$sh" -x -P SCRIPTDIR "$f" > "$tmp/out" 2>&1; then
        echo "ok: $f"
    else
        cat "$tmp/out"
        echo "not clean: $f"
        bad=$((bad + 1))
    fi
done < "$tmp/list"

# The scripts as shipped: rendered with values in every setting.
if [ -x "$VMSHIFT" ]; then
    cat > "$tmp/map.json" <<'MAP'
{"retain_mac": true,
 "guest": {"mode": "retain", "reboot": "always", "hook": "systemd",
           "nics": [{"mac": "00:50:56:aa:bb:cc", "name": "ens192",
                     "addresses": ["192.0.2.10/24", "2001:db8::10/64"],
                     "gateway4": "192.0.2.1", "dns": ["192.0.2.53"],
                     "search": ["example.com"], "mtu": 9000,
                     "routes": [{"to": "10.0.0.0/8", "via": "192.0.2.254"}]}]}}
MAP
    # shellcheck disable=SC2016
    printf '#!/bin/sh\necho "$VMSHIFT_MATCHES"\n' > "$tmp/admin.sh"
    "$VMSHIFT" -q guest-scripts --os linux --out "$tmp/r1" --network-map "$tmp/map.json" ||
        fail "cannot render the Linux scripts"
    "$VMSHIFT" -q guest-scripts --os linux --out "$tmp/r2" --mode script --script "$tmp/admin.sh" ||
        fail "cannot render the Linux scripts (mode script)"
    for f in "$tmp"/r1/*.sh "$tmp"/r2/*.sh; do
        if shellcheck -s sh "$f" > "$tmp/out" 2>&1; then
            echo "ok: rendered ${f#"$tmp"/}"
        else
            cat "$tmp/out"
            echo "not clean: rendered ${f#"$tmp"/}"
            bad=$((bad + 1))
        fi
    done
else
    echo "note: $VMSHIFT is not built; rendered scripts not checked"
fi

for f in hypervisors/guest/*.sh; do
    for s in dash "busybox sh"; do
        command -v "${s%% *}" > /dev/null || continue
        # shellcheck disable=SC2086
        if ! $s -n "$f" 2> "$tmp/out"; then
            cat "$tmp/out"
            echo "does not parse under $s: $f"
            bad=$((bad + 1))
        fi
    done
done

[ "$bad" = 0 ] || fail "$bad script(s) not clean"
echo "all $(wc -l < "$tmp/list") shell scripts are shellcheck clean"
