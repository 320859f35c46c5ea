#!/bin/sh
# What cleanup and abort of a migration run cost and leave, on the test
# environment (reflink XFS, nfs-ganesha, ONTAP simulator).
#
# 1. Listings: the undo (engine/workflow/run.c, wf_undo) lists each folder
#    it removes files from once, however many files the journal names
#    there (the VM folder holds per disk a target, its temporaries and the
#    run's lease; every VM's undo names the lease at the volume root).
#    Counted from the backend's own debug lines (-D backend: one
#    "nfs: list 'DIR'" per NFS READDIR of the undo).  A --test run of 3
#    VMs with 2 disks each, then cleanup; a run killed after its
#    conversions (VMSHIFT_WF_CRASH_AT), then abort.  Both leave nothing.
# 2. An nfs:// target location (the testenv's NFS export of vol2, read and
#    written over NFS only: the disks are copied) below a folder that was
#    there before: a --test run then cleanup, and a run killed after its
#    conversions then abort, leave nothing the run made on the export; the
#    folder that was there stays (empty); the source is byte-identical.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/testenv.sh"
. "$(dirname "$0")/../lib/ontap.sh"
ontap_testenv sha256sum
export VMSHIFT_STORE="$tmp/runs.db"
# names unique to this run: the environment may be one the caller reuses
R=cl$$

for vm in a01 a02 a03; do make_vm "$v1/$R/ds" "$vm" 4 4; done
sha0=$(tree_sha "$v1/$R/ds")

blueprint() {   # NAME SOURCE LOCATION
    cat <<JSON
{"name": "$1", "source": {"datastore": "$2"},
 "target": {"hypervisor": "libvirt", "uri": "test:///default",
            "location": "$3"},
 "network_map": {"networks": {"*": "br0"}},
 "groups": [{"name": "all", "vms": ["a01", "a02", "a03"]}],
 "vms": {"a01": {"vmx": "a01/a01.vmx"}, "a02": {"vmx": "a02/a02.vmx"},
         "a03": {"vmx": "a03/a03.vmx"}}}
JSON
}

# each folder listed by the undo at most once: DEBUG-LOG WHAT
listed_once() {
    grep "nfs: list '" "$1" | sed "s/.*nfs: list //" | sort | uniq -c | sort -rn > "$tmp/lists"
    [ -s "$tmp/lists" ] || fail "$2: the undo listed no folder"
    _m=$(head -1 "$tmp/lists" | awk '{ print $1 }')
    [ "$_m" = 1 ] || fail "$2: a folder listed $_m times: $(head -3 "$tmp/lists" | tr '\n' ' ')"
    echo "$2: $(wc -l < "$tmp/lists") folders, each listed once"
}

# ------------------------------------------ 1a. --test run, then cleanup
blueprint ct "ontap://testenv/vol1/$R/ds" "ontap://testenv/vol1/$R-ct" > "$tmp/bp.json"
vsh migrate --yes --test "$tmp/bp.json" > /dev/null 2> "$tmp/err" || fail "test run: $(cat "$tmp/err")"
id=$(last_run)
[ -f "$v1/$R-ct-test/a01-vmshift-test/a01_1.qcow2" ] || fail "test run: no disk"
vsh -D backend runs cleanup "$id" > /dev/null 2> "$tmp/dbg" || fail "cleanup: $(grep -v debug: "$tmp/dbg")"
[ "$(vsh runs show --json "$id" | jq -r .state)" = cleaned ] || fail "cleanup: run not cleaned"
[ ! -e "$v1/$R-ct-test" ] || fail "cleanup left $(find "$v1/$R-ct-test" | head -5)"
listed_once "$tmp/dbg" "cleanup"
no_leftovers vol1

# ---------------------------- 1b. killed after the conversions, then abort
blueprint ab "ontap://testenv/vol1/$R/ds" "ontap://testenv/vol1/$R-ab" > "$tmp/bp.json"
VMSHIFT_WF_CRASH_LOG=$tmp/points vsh migrate --yes --test "$tmp/bp.json" > /dev/null 2> "$tmp/err" ||
    fail "points: $(cat "$tmp/err")"
vsh runs cleanup "$(last_run)" > /dev/null 2> "$tmp/err" || fail "points: cleanup: $(cat "$tmp/err")"
# the first conversion result not yet journalled: every disk is in place
p=$(awk '$2 == "convert" && $3 == "result" { print $1; exit }' "$tmp/points")
[ -n "$p" ] || fail "no convert result point: $(cat "$tmp/points")"
blueprint ab2 "ontap://testenv/vol1/$R/ds" "ontap://testenv/vol1/$R-ab" > "$tmp/bp.json"
VMSHIFT_WF_CRASH_AT=$p vsh migrate --yes "$tmp/bp.json" > /dev/null 2> "$tmp/err"
rc=$?
[ "$rc" = 137 ] || fail "crash at $p: exit $rc: $(cat "$tmp/err")"
id=$(last_run)
[ -f "$v1/$R-ab/a03/a03_1.qcow2" ] || fail "killed run: no disk in place"
vsh -D backend runs abort "$id" > /dev/null 2> "$tmp/dbg" || fail "abort: $(grep -v debug: "$tmp/dbg")"
[ "$(vsh runs show --json "$id" | jq -r .state)" = aborted ] || fail "abort: run not aborted"
[ ! -e "$v1/$R-ab" ] || fail "abort left $(find "$v1/$R-ab" | head -5)"
listed_once "$tmp/dbg" "abort"
no_leftovers vol1
[ "$(tree_sha "$v1/$R/ds")" = "$sha0" ] || fail "the source changed"

# ------------------------------------------------ 2. an nfs:// location
v2=$(vol_dir vol2)
n=nfs://$VMSHIFT_TESTENV_NFS/vol2
for vm in a01 a02 a03; do make_vm "$v2/$R/ds" "$vm" 4 4; done
sha2=$(tree_sha "$v2/$R/ds")
mkdir "$v2/$R-pre"
blueprint nt "$n/$R/ds" "$n/$R-pre/real" > "$tmp/bp.json"
VMSHIFT_WF_CRASH_LOG=$tmp/npoints vsh migrate --yes --test "$tmp/bp.json" > /dev/null 2> "$tmp/err" ||
    fail "nfs: test run: $(cat "$tmp/err")"
id=$(last_run)
for vm in a01 a02 a03; do
    compare_images vmdk "$v2/$R/ds/$vm/$vm.vmdk" qcow2 "$v2/$R-pre/real-test/$vm-vmshift-test/$vm.qcow2"
    compare_images vmdk "$v2/$R/ds/$vm/${vm}_1.vmdk" qcow2 "$v2/$R-pre/real-test/$vm-vmshift-test/${vm}_1.qcow2"
done
[ -f "$v2/$R-pre/real-test/a01-vmshift-test/guest/linux-reapply.sh" ] || fail "nfs: no guest bundle"
vsh -D backend runs cleanup "$id" > /dev/null 2> "$tmp/dbg" || fail "nfs: cleanup: $(grep -v debug: "$tmp/dbg")"
[ "$(vsh runs show --json "$id" | jq -r .state)" = cleaned ] || fail "nfs: cleanup: run not cleaned"
[ -d "$v2/$R-pre" ] || fail "nfs: cleanup removed the folder that was there"
[ -z "$(ls -A "$v2/$R-pre")" ] || fail "nfs: cleanup left $(find "$v2/$R-pre" | head -5)"
listed_once "$tmp/dbg" "nfs cleanup"
p=$(awk '$2 == "convert" && $3 == "result" { print $1; exit }' "$tmp/npoints")
[ -n "$p" ] || fail "nfs: no convert result point: $(cat "$tmp/npoints")"
VMSHIFT_WF_CRASH_AT=$p vsh migrate --yes "$tmp/bp.json" > /dev/null 2> "$tmp/err"
rc=$?
[ "$rc" = 137 ] || fail "nfs: crash at $p: exit $rc: $(cat "$tmp/err")"
id=$(last_run)
[ -f "$v2/$R-pre/real/a03/a03_1.qcow2" ] || fail "nfs: killed run: no disk in place"
vsh runs abort "$id" > /dev/null 2> "$tmp/err" || fail "nfs: abort: $(cat "$tmp/err")"
[ "$(vsh runs show --json "$id" | jq -r .state)" = aborted ] || fail "nfs: abort: run not aborted"
[ -d "$v2/$R-pre" ] || fail "nfs: abort removed the folder that was there"
[ -z "$(ls -A "$v2/$R-pre")" ] || fail "nfs: abort left $(find "$v2/$R-pre" | head -5)"
vsh runs cleanup "$id" > /dev/null 2> "$tmp/err" || fail "nfs: cleanup after abort: $(cat "$tmp/err")"
[ -z "$(ls -A "$v2/$R-pre")" ] || fail "nfs: cleanup after abort left $(find "$v2/$R-pre" | head -5)"
rmdir "$v2/$R-pre"
[ "$(tree_sha "$v2/$R/ds")" = "$sha2" ] || fail "nfs: the source changed"

echo "migrate cleanup ok"
