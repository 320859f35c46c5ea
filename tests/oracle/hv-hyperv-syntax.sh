#!/bin/sh
# shellcheck disable=SC1112,SC2015,SC2016  # literal $(...) and quotes are the test data
# Hyper-V scripts parse as PowerShell (tree-sitter-powershell, from npm via
# tools/install-deps into build/node) with no syntax error, call only the
# cmdlets vmshift writes, and hold no double-quoted string or $(...):
# every golden script, and one for a VM whose names carry PowerShell and
# shell metacharacters.  No PowerShell runs here, so nothing executes.
. "$VMSHIFT_TOP/tests/lib/functions.sh"
requires node
mods=$VMSHIFT_TOP/build/node/node_modules
[ -d "$mods/web-tree-sitter" ] && [ -d "$mods/tree-sitter-powershell" ] ||
    skip "tree-sitter-powershell not installed in build/node (run tools/install-deps)"
tmpdir
golden=$VMSHIFT_TOP/tests/data/hv/golden
check() {
    out=$(NODE_PATH=$mods node "$VMSHIFT_TOP/tests/oracle/ps-check.cjs" "$@" 2>&1) ||
        fail "PowerShell check: $out"
}

set -- "$golden"/*.hyperv.ps1
[ "$#" -ge 9 ] || fail "expected at least 9 golden scripts, found $#"
check "$@"

cd "$tmp" || fail "cd $tmp"
cat > vm.vmx <<'VMX'
displayName = "it|27s $(Remove-Item C:\\) `whoami` |22x|22 ‘q’|0A#x"
annotation = "|27); Stop-Computer; ('"
guestOS = "windows2019srv-64"
firmware = "efi"
vtpm.present = "TRUE"
scsi0.present = "TRUE"
scsi0:0.present = "TRUE"
scsi0:0.fileName = "a.vmdk"
scsi0:1.present = "TRUE"
scsi0:1.fileName = "b.vmdk"
ethernet0.present = "TRUE"
ethernet0.networkName = "VM Network"
VMX
printf '{"networks": {"*": "Ext ‘$(Stop-Computer)’ \\"sw\\""}}\n' > map.json
"$VMSHIFT" define -t hyperv -n map.json -d "C:\\VMs\\it's \$(x)" vm.vmx > vm.ps1 2>err ||
    fail "define failed: $(cat err)"
check vm.ps1
# A broken script must be caught (the checker is not a no-op).
printf 'Write-Host "a $(Get-Date)"\n' > bad.ps1
NODE_PATH=$mods node "$VMSHIFT_TOP/tests/oracle/ps-check.cjs" bad.ps1 >/dev/null 2>&1 &&
    fail "ps-check accepted a script with a subexpression"
echo "checked $# golden scripts and a generated one"
exit 0
