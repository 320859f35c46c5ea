#!/bin/sh
# shellcheck disable=SC1112,SC2015,SC2016  # literal $(...) and quotes are the test data
# libvirt domain XML from vmshift is valid against libvirt's own schema
# (virt-xml-validate) and accepted by 'virsh define' on the test:///default
# driver (no daemon): every golden file, a VM read from a real corpus .vmx
# through the CLI, and a VM whose names are full of shell and XML
# metacharacters (which must run nothing).
. "$VMSHIFT_TOP/tests/lib/functions.sh"
requires virt-xml-validate virsh
tmpdir
golden=$VMSHIFT_TOP/tests/data/hv/golden

check_xml() {   # file
    out=$(virt-xml-validate "$1" domain 2>&1) ||
        fail "$1 does not validate: $(printf '%s' "$out" | head -3)"
    out=$(virsh -q -c test:///default define "$1" 2>&1) ||
        fail "virsh define refused $1: $out"
}

n=0
for f in "$golden"/*.libvirt.xml; do
    [ -f "$f" ] || continue
    check_xml "$f"
    n=$((n + 1))
done
[ "$n" -ge 9 ] || fail "expected at least 9 golden libvirt files, found $n"

cd "$tmp" || fail "cd $tmp"
printf '{"networks": {"VM Network": {"target": "br0", "vlan": 10}}, "retain_mac": true}\n' > map.json
need_corpus vmx/virt-v2v
"$VMSHIFT" define --target libvirt --network-map map.json \
    "$corpus/vmx/virt-v2v/test-i-vmx-7.vmx" > win2019.xml 2>err ||
    fail "define failed: $(cat err)"
check_xml win2019.xml

cat > 'evil $(x).vmx' <<'VMX'
displayName = "vm|27 |22x|22 $(touch pwned) `touch pwned2`|0A<a b=|27c|27>&amp; ]]> # - {y: z}"
annotation = "|3C/description|3E$(touch pwned3)"
guestOS = "windows2019srv-64"
firmware = "efi"
scsi0.present = "TRUE"
scsi0:0.present = "TRUE"
scsi0:0.fileName = "d|27$(touch pwned4).vmdk"
ethernet0.present = "TRUE"
ethernet0.networkName = "net|27$(touch pwned5)<x>"
ethernet0.generatedAddress = "00:50:56:01:02:03"
VMX
printf '{"networks": {"*": "network:default"}}\n' > m2.json
"$VMSHIFT" define -t libvirt -n m2.json 'evil $(x).vmx' > evil.xml 2>err ||
    fail "define failed: $(cat err)"
check_xml evil.xml
ls pwned* >/dev/null 2>&1 && fail "a name ran a command"
echo "checked $n golden files and 2 generated domains"
exit 0
