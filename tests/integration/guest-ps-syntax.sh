#!/bin/sh
# The PowerShell scripts parse with the tree-sitter PowerShell grammar (no
# ERROR or MISSING node): the sources, the golden renderings, and fresh
# renderings with every setting in use, including adapter names with
# spaces and parentheses and an administrator's script full of quotes,
# $(), backticks, here-string terminators and newlines, which must come
# back byte for byte from its base64.  No PowerShell runs here.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/guest-lib.sh"

requires node base64
[ -x "$VMSHIFT" ] || skip "vmshift is not built ($VMSHIFT)"
node_dir=${VMSHIFT_NODE_DIR:-$VMSHIFT_TOP/build/node}
tmpdir

cat > "$tmp/map.json" <<'EOF'
{"networks": {"VM Network": {"target": "vSwitch0", "vlan": 12}},
 "retain_mac": false,
 "guest": {"mode": "retain", "remove_vmware_tools": false, "reboot": "never",
           "nics": [{"mac": "00:50:56:AA:BB:CC", "name": "Ethernet (2) #1",
                     "addresses": ["192.0.2.10/24", "2001:db8::10/64"],
                     "gateway4": "192.0.2.1", "gateway6": "2001:db8::1",
                     "dns": ["192.0.2.53", "2001:db8::53"],
                     "search": ["corp.example.com"], "mtu": 9000,
                     "routes": [{"to": "10.0.0.0/8", "via": "192.0.2.254", "metric": 5},
                                {"to": "2001:db8:9::/48", "via": "2001:db8::9"}]},
                    {"name": "Ethernet1", "dhcp": true}]}}
EOF
render "$tmp/w-map" windows --network-map "$tmp/map.json"
render "$tmp/w-dhcp" windows --mode dhcp
printf '%s\n' \
    "Write-Output 'single '' quote' \"double \$(Get-Date) \`backtick\"" \
    "'@" '"@' "\$x = @'" "'@" "# ümlaut and a tab:	end" > "$tmp/admin.ps1"
printf 'no final newline' >> "$tmp/admin.ps1"
render "$tmp/w-script" windows --mode script --script "$tmp/admin.ps1"

# The administrator's script survives byte for byte.
sed -n "s/^\$VsAdminScript = '\\(.*\\)'\$/\\1/p" "$tmp/w-script/windows-reapply.ps1" |
    base64 -d > "$tmp/admin.back" || fail "the rendered script has no base64 admin script"
same_file "$tmp/admin.ps1" "$tmp/admin.back"
grep -q "Name = 'Ethernet (2) #1'" "$tmp/w-map/windows-reapply.ps1" ||
    fail "adapter name not rendered"
grep -q "Mac = '00-50-56-AA-BB-CC'" "$tmp/w-map/windows-reapply.ps1" ||
    fail "MAC not rendered in Windows form"
grep -qx "\$VsRemoveTools = \$false" "$tmp/w-map/windows-reapply.ps1" ||
    fail "remove_vmware_tools not rendered"
echo "ok: rendered values and the admin script are as given"

set -- "$guest_src"/*.ps1 "$tmp"/w-*/*.ps1
for g in "$VMSHIFT_TOP"/tests/data/guest/golden/*.ps1; do
    [ -f "$g" ] && set -- "$@" "$g"
done
node "$VMSHIFT_TOP/tests/node/ps-syntax.cjs" "$node_dir" "$@" > "$tmp/out" 2>&1
rc=$?
cat "$tmp/out"
case $rc in
    0) echo "ok: $# PowerShell scripts parse without errors" ;;
    77) skip "$(sed -n 's/^SKIP: //p' "$tmp/out" | head -n 1) (run tools/install-deps)" ;;
    *) fail "PowerShell syntax errors (see above)" ;;
esac

# The checker itself must see errors: a broken copy has to fail.
sed 's/^function Write-VsLog {$/function Write-VsLog {{/' "$guest_src/windows-reapply.ps1" > "$tmp/broken.ps1"
if node "$VMSHIFT_TOP/tests/node/ps-syntax.cjs" "$node_dir" "$tmp/broken.ps1" > /dev/null 2>&1; then
    fail "the syntax check accepted a script with an unbalanced brace"
fi
echo "ok: the syntax check rejects a broken script"
