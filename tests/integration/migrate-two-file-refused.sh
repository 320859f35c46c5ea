#!/bin/sh
# No blueprint migration publishes a target of two files (docs/internals/
# workflow.md, "Undo"): a VMDK descriptor with its -flat.vmdk extent, or
# a qcow2 over an external data file, publishes with a publish journal
# (.vmshift.HASH.PID.RUN.pub, docs/internals/executor.md section 7) that
# the resume, abort and cleanup of a handed-over VM do not replay.  So
# the format "vmdk" (target.format or a VM's own "format") is refused at
# preflight for every target and nothing is converted, also by "runs
# resume"; "runs abort" and "runs cleanup" leave the target folder
# empty; a blueprint has no key for an external data file.  The same
# blueprint with qcow2 migrates to one file (the setup works).  Local
# folders and libvirt's test driver; no tools/testenv.
. "$VMSHIFT_TOP/tests/lib/functions.sh"
requires jq qemu-img
tmpdir
cd "$tmp" || fail "cd $tmp"
export VMSHIFT_STORE="$tmp/runs.db"

make_vm ds t1 2

bp() {   # NAME HYPERVISOR-KEYS FORMAT-KEY VM-KEY
    cat <<JSON
{"name": "$1", "source": {"datastore": "$tmp/ds"},
 "target": {$2 $3 "location": "$tmp/$1"},
 "network_map": {"networks": {"*": "br0"}},
 "groups": [{"name": "g", "vms": ["t1"]}],
 "vms": {"t1": {"vmx": "t1/t1.vmx" $4}}}
JSON
}
files() { find "$tmp/$1" -type f 2>/dev/null | sort; }

# refused NAME HYPERVISOR-KEYS FORMAT-KEY VM-KEY: preflight refuses t1
# ("does not suit"), by migrate and by resume; abort and cleanup; no
# file in the location at any point
refused() {
    bp "$@" > "$1.json"
    "$VMSHIFT" migrate --yes --json "$1.json" > "$1.ev" 2> "$1.err" &&
        fail "$1: migrate of a vmdk target succeeded"
    id=$(head -1 "$1.ev" | jq .run)
    [ -n "$id" ] || fail "$1: no run ID: $(cat "$1.err")"
    "$VMSHIFT" runs show --json "$id" > "$1.show" || fail "$1: runs show"
    st=$(jq -r '.vms[] | select(.vm == "t1") | .state' "$1.show")
    [ "$st" = failed ] || fail "$1: t1 is $st, not failed"
    grep -q "disk format 'vmdk' does not suit this target" "$1.ev" ||
        fail "$1: no preflight refusal: $(cat "$1.ev")"
    jq -e '[.journal[] | select(.step == "convert" or .step == "clone")] |
        length == 0' "$1.show" > /dev/null ||
        fail "$1: conversion steps journalled: $(jq -c .journal "$1.show")"
    [ -z "$(files "$1")" ] || fail "$1: migrate wrote $(files "$1")"
    "$VMSHIFT" runs resume "$id" > "$1.rev" 2> "$1.rerr" &&
        fail "$1: resume of a vmdk target succeeded"
    grep -q "does not suit this target" "$1.rev" "$1.rerr" ||
        fail "$1: resume: no refusal: $(cat "$1.rev" "$1.rerr")"
    [ -z "$(files "$1")" ] || fail "$1: resume wrote $(files "$1")"
    "$VMSHIFT" runs abort "$id" > /dev/null 2> "$1.aerr" ||
        fail "$1: abort: $(cat "$1.aerr")"
    "$VMSHIFT" runs cleanup "$id" > /dev/null 2> "$1.cerr" ||
        fail "$1: cleanup: $(cat "$1.cerr")"
    [ -z "$(files "$1")" ] || fail "$1: abort/cleanup left $(files "$1")"
}

lv='"hypervisor": "libvirt", "uri": "test:///default",'
refused lvt "$lv" '"format": "vmdk",' ''
refused lvv "$lv" '' ', "format": "vmdk"'
refused hv '"hypervisor": "hyperv",' '"format": "vmdk",' ''
refused kv '"hypervisor": "kubevirt",' '"format": "vmdk",' ''
refused pve '"hypervisor": "proxmox", "vmid_start": 100,' '"format": "vmdk",' ''
echo "vmdk refused at preflight for libvirt (target and VM format), Hyper-V, KubeVirt, Proxmox"

# no key asks for a qcow2 over an external data file
for k in data_file qcow2_data_file; do
    bp "df$k" "$lv" "\"format\": \"qcow2\", \"$k\": true," '' > "df$k.json"
    "$VMSHIFT" blueprint check "df$k.json" > /dev/null 2> "df$k.err" &&
        fail "blueprint with target.$k accepted"
    grep -q "unknown key '$k'" "df$k.err" || fail "target.$k: $(cat "df$k.err")"
    bp "dv$k" "$lv" '' ", \"format\": \"qcow2\", \"$k\": true" > "dv$k.json"
    "$VMSHIFT" blueprint check "dv$k.json" > /dev/null 2> "dv$k.err" &&
        fail "blueprint with vms.t1.$k accepted"
    grep -q "unknown key '$k'" "dv$k.err" || fail "vms.t1.$k: $(cat "dv$k.err")"
done

# the setup works: qcow2 migrates, to one file with one name
bp ok "$lv" '"format": "qcow2",' '' > ok.json
"$VMSHIFT" migrate --yes ok.json > /dev/null 2> ok.err || fail "qcow2: $(cat ok.err)"
d=$tmp/ok/t1/t1.qcow2
[ "$(stat -c %h "$d")" = 1 ] || fail "qcow2: $d has $(stat -c %h "$d") links"
qemu-img info --output=json "$d" | jq -e '.["format-specific"].data["data-file"] == null' \
    > /dev/null || fail "qcow2: $d has an external data file"
compare_images vmdk ds/t1/t1.vmdk qcow2 "$d"
[ -z "$(find "$tmp/ok" -name '.vmshift.*')" ] ||
    fail "qcow2: left $(find "$tmp/ok" -name '.vmshift.*')"
echo "two-file targets refused ok"
