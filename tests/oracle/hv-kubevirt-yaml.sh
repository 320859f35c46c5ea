#!/bin/sh
# shellcheck disable=SC1112,SC2015,SC2016  # literal $(...) and quotes are the test data
# KubeVirt output: the YAML parses (PyYAML) and equals the JSON form of the
# same definition, for every golden pair and for a VM read through the CLI
# with disk sizes from VMDK descriptors and metacharacters in its names.
. "$VMSHIFT_TOP/tests/lib/functions.sh"
requires python3
python3 -c 'import yaml' 2>/dev/null || skip "python3-yaml is not installed"
tmpdir
golden=$VMSHIFT_TOP/tests/data/hv/golden

compare() {   # yaml json
    python3 - "$1" "$2" <<'PY' || fail "$1 and $2 differ or do not parse"
import json, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1], encoding="utf-8")) if d is not None]
lst = json.load(open(sys.argv[2], encoding="utf-8"))
assert lst["kind"] == "List", "JSON is not a v1 List"
assert docs == lst["items"], "YAML documents differ from the JSON items"
vm = docs[-1]
assert vm["kind"] == "VirtualMachine" and vm["apiVersion"] == "kubevirt.io/v1"
spec = vm["spec"]["template"]["spec"]
claims = {v["persistentVolumeClaim"]["claimName"] for v in spec.get("volumes", [])}
pvcs = {d["metadata"]["name"] for d in docs if d["kind"] == "PersistentVolumeClaim"}
assert claims == pvcs, "volumes do not name the PVCs"
nets = {n["name"] for n in spec.get("networks", [])}
itfs = {i["name"] for i in spec["domain"]["devices"].get("interfaces", [])}
assert nets == itfs, "interfaces and networks differ"
PY
}

n=0
for y in "$golden"/*.kubevirt.yaml; do
    [ -f "$y" ] || continue
    compare "$y" "${y%.yaml}.json"
    n=$((n + 1))
done
[ "$n" -ge 9 ] || fail "expected at least 9 golden pairs, found $n"

cd "$tmp" || fail "cd $tmp"
cat > vm.vmx <<'VMX'
displayName = "web|27s |22prod|22 $(touch pwned)|0A- item: x"
guestOS = "rhel9-64"
scsi0.present = "TRUE"
scsi0:0.present = "TRUE"
scsi0:0.fileName = "web.vmdk"
ethernet0.present = "TRUE"
ethernet0.networkName = "VM Network"
ethernet0.generatedAddress = "00:50:56:0a:0b:0c"
VMX
printf '# Disk DescriptorFile\nversion=1\ncreateType="vmfs"\nRW 20971520 VMFS "web-flat.vmdk"\n' > web.vmdk
printf '{"networks": {"VM Network": "prod/vm-network"}, "retain_mac": true}\n' > map.json
"$VMSHIFT" define -t kubevirt -n map.json -d nfs://192.0.2.10/vol/vms vm.vmx > out.yaml 2>err ||
    fail "define (yaml) failed: $(cat err)"
"$VMSHIFT" define -t kubevirt -n map.json -d nfs://192.0.2.10/vol/vms --json vm.vmx > out.json 2>err ||
    fail "define (json) failed: $(cat err)"
compare out.yaml out.json
python3 - out.yaml <<'PY' || fail "generated YAML lost facts"
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
vm = docs[-1]
assert vm["metadata"]["annotations"]["vmshift/source-name"] == 'web\'s "prod" $(touch pwned)\n- item: x'
assert docs[0]["kind"] == "PersistentVolume" and docs[0]["spec"]["nfs"]["server"] == "192.0.2.10"
assert docs[1]["spec"]["resources"]["requests"]["storage"] == "10240Mi"
itf = vm["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"][0]
assert itf["macAddress"] == "00:50:56:0a:0b:0c" and itf["model"] == "virtio"
PY
ls pwned* >/dev/null 2>&1 && fail "a name ran a command"
echo "compared $n golden pairs and a generated definition"
exit 0
