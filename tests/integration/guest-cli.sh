#!/bin/sh
# 'vmshift guest-scripts': usage errors (exit 2), bad input (exit 3, one
# line naming the file), existing files (exit 4), hostile map values
# (quotes, $(), backticks, newlines) refused before anything is written.
. "$(dirname "$0")/../lib/functions.sh"

[ -x "$VMSHIFT" ] || skip "vmshift is not built ($VMSHIFT)"
tmpdir
cd "$tmp" || fail "no $tmp"

expect() {   # EXIT-CODE PATTERN ARGS...
    _code=$1 _pat=$2
    shift 2
    "$VMSHIFT" guest-scripts "$@" > out 2> err
    _rc=$?
    [ "$_rc" = "$_code" ] || { cat out err; fail "exit $_rc, expected $_code: guest-scripts $*"; }
    if [ -n "$_pat" ]; then
        grep -q -- "$_pat" err || { cat err; fail "message lacks '$_pat': guest-scripts $*"; }
    fi
    [ "$_code" = 0 ] || [ "$(wc -l < err)" = 1 ] || { cat err; fail "error is not one line"; }
}

expect 0 '' --help
grep -q -- '--network-map FILE' out || fail "--help lacks --network-map"
expect 2 '--os and --out are required'
expect 2 '--os and --out are required' --os linux
expect 2 "unknown OS 'bsd'" --os bsd --out d
expect 2 "unknown mode 'static'" --os linux --out d --mode static
expect 2 "unexpected argument 'extra'" --os linux --out d extra
expect 2 "unknown option '--bogus'" --os linux --out d --bogus
expect 2 "option '--out' needs a value" --os linux --out
expect 3 "needs the administrator's script" --os linux --out d --mode script
expect 3 "unknown reboot policy 'later'" --os linux --out d --reboot later
expect 3 "cannot open 'nomap.json'" --os linux --out d --network-map nomap.json
[ ! -e d ] || fail "files written after an error"

expect 0 '' --os linux --out d
[ "$(cat out)" = "d/linux-prepare.sh
d/linux-reapply.sh" ] || fail "unexpected output: $(cat out)"
expect 4 "'d/linux-prepare.sh' exists (use --force to replace it)" --os linux --out d
expect 0 '' --os linux --out d --force
"$VMSHIFT" -q guest-scripts --os windows --out w > out 2>&1 || fail "-q run failed"
[ ! -s out ] || fail "-q printed: $(cat out)"

# Hostile values in the map: refused with the file and the JSON path.
n=0
# shellcheck disable=SC2016
for v in "ens192'; reboot; '" 'ens$(reboot)' 'ens`reboot`' 'ens192\nreboot' \
         'ens192\"' 'ens192;reboot'; do
    printf '{"guest": {"nics": [{"name": "%s", "dhcp": true}]}}' "$v" > map.json
    expect 3 "'map.json': guest.nics\[0\].name: " --os linux --out h$n --network-map map.json
    [ ! -e h$n ] || fail "files written for a hostile name"
    expect 3 "'map.json': guest.nics\[0\].name: " --os windows --out h$n --network-map map.json
    n=$((n + 1))
done
# shellcheck disable=SC2016
for field in '"addresses": ["192.0.2.1/24$(reboot)"]' '"gateway4": "192.0.2.1`id`"' \
             '"dns": ["192.0.2.53\n8.8.8.8"]' '"search": ["ex'"'"'ample.com"]' \
             '"routes": [{"to": "10.0.0.0/8", "via": "10.0.0.1 dev eth0"}]'; do
    printf '{"guest": {"nics": [{"mac": "00:50:56:aa:bb:cc", %s}]}}' "$field" > map.json
    expect 3 "'map.json': guest.nics\[0\]" --os linux --out h$n --network-map map.json
    [ ! -e h$n ] || fail "files written for a hostile value"
    n=$((n + 1))
done
printf '{"guest": {"nics": [{"mac": "00:50:56:aa:bb:cc"}, {"mac": "00:50:56:AA:BB:CC"}]}}' > map.json
expect 3 'have the same MAC' --os linux --out dup --network-map map.json
printf '{"guest": {"nics": [{"name": "eth0", "addresses": ["2001:db8::5/64"], "gateway6": "2001:db8::1"}]}}' > map.json
expect 0 '' --os linux --out v6 --network-map map.json
grep -q "^0.gw6=2001:db8::1'\$" v6/linux-reapply.sh || fail "IPv6-only override not rendered"
echo "ok: usage errors, bad and hostile input, existing files"
