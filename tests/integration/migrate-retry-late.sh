#!/bin/sh
# Retries of a disk whose clone succeeded but a later step of the same
# conversion failed (docs/blueprint.md, "Retries"), on the test
# environment (reflink XFS, nfs-ganesha, ONTAP simulator) to libvirt's
# test driver.  The NFS side of the conversion fails once on the disk's
# temporary through the test hook VMSHIFT_TEST_NFS_FAULT
# (engine/backend/fault.c): the metadata write, the read-back, the
# publish rename.  Each time the run retries that disk (a "retry" event),
# adopts the temporary it kept, sends no clone request again (the
# simulator's request log: each disk cloned exactly once) and publishes a
# disk identical to its source (qemu-img compare).  When the retries are
# used up the VM fails with its temporary kept, and runs resume adopts it
# (still no second clone).  A failure that is not retryable removes the
# temporary and fails that VM alone.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/testenv.sh"
. "$(dirname "$0")/../lib/ontap.sh"
ontap_testenv sha256sum
export VMSHIFT_STORE="$tmp/runs.db"
# names unique to this run: the environment may be one the caller reuses
R=rl$$
set -- a01 b01

for vm in "$@"; do make_vm "$v1/$R/ds" "$vm" 8; done
sha0=$(tree_sha "$v1/$R/ds")

blueprint() {   # NAME
    cat <<JSON
{"name": "$1", "source": {"datastore": "ontap://testenv/vol1/$R/ds"},
 "target": {"hypervisor": "libvirt", "uri": "test:///default",
            "location": "ontap://testenv/vol1/$R-$1"},
 "network_map": {"networks": {"*": "br0"}}, "concurrency": 1,
 "groups": [{"name": "all", "boot_order": 1, "vms": ["a01", "b01"]}],
 "vms": {"a01": {"vmx": "a01/a01.vmx"}, "b01": {"vmx": "b01/b01.vmx"}}}
JSON
}

# a01's temporary (".vmshift.<hash of a01.qcow2>.<pid>.<run>.tmp0",
# tests/lib/functions.sh) fails once at OP with ECONNRESET (a lost
# connection: retryable).
a01tmp="/a01/.vmshift.$(name_hash a01.qcow2)."
late() {   # NAME OP WHAT
    blueprint "$1" > "$tmp/bp.json"
    log_mark
    VMSHIFT_TEST_NFS_FAULT="$2:1:ECONNRESET:$a01tmp" \
        vsh migrate --yes --json "$tmp/bp.json" > "$tmp/ev" 2> "$tmp/err" ||
        fail "$3: migrate: $(cat "$tmp/err")"
    id=$(last_run)
    vsh runs show --json "$id" > "$tmp/show.json"
    [ "$(jq -r .state "$tmp/show.json")" = complete ] || fail "$3: run not complete"
    jq -r 'select(.step == "retry") | .message' "$tmp/ev" > "$tmp/retries"
    [ "$(wc -l < "$tmp/retries")" = 1 ] || fail "$3: retries: $(cat "$tmp/retries")"
    grep -q "^disk 'ontap://testenv/vol1/$R-$1/.*': attempt 1 of 4 failed (.*injected: VMSHIFT_TEST_NFS_FAULT.*); again in 1 s$" "$tmp/retries" ||
        fail "$3: retry event: $(cat "$tmp/retries")"
    # each disk cloned exactly once: the retry adopted the clone
    [ "$(clones_ok)" = 2 ] || fail "$3: $(clones_ok) clones for 2 disks"
    # one clone step per disk, the retried one's adopted
    jq -e '[.journal[] | select(.step == "clone")] |
           length == 2 and all(.status == "done") and
           (map(select(.result.adopted == "yes")) | length == 1)' "$tmp/show.json" > /dev/null ||
        fail "$3: clone steps: $(jq -c '[.journal[] | select(.step == "clone")]' "$tmp/show.json")"
    jq -e '[.journal[] | select(.step == "convert")] |
           (map(select(.status == "failed")) | length == 1) and
           (map(select(.status == "done")) | length == 2)' "$tmp/show.json" > /dev/null ||
        fail "$3: convert steps: $(jq -c '[.journal[] | select(.step == "convert")]' "$tmp/show.json")"
    for vm in a01 b01; do
        compare_images vmdk "$v1/$R/ds/$vm/$vm.vmdk" qcow2 "$v1/$R-$1/$vm/$vm.qcow2"
    done
    no_leftovers vol1
    echo "$3: retried without a clone: $(cat "$tmp/retries")"
}

late mw pwrite "metadata write"
late rb pread "read-back"
late pb rename "publish"

# ----------- retries used up: the VM fails, resume adopts the temporary
blueprint uu > "$tmp/bp.json"
log_mark
VMSHIFT_TEST_NFS_FAULT="pwrite:4:ECONNRESET:$a01tmp" \
    vsh migrate --yes --json "$tmp/bp.json" > "$tmp/ev" 2> "$tmp/err" && fail "uu: exit 0"
id=$(last_run)
[ "$(jq -c 'select(.step == "retry")' "$tmp/ev" | wc -l)" = 3 ] ||
    fail "uu: retries: $(jq -c 'select(.step == "retry")' "$tmp/ev")"
vsh runs show --json "$id" > "$tmp/show.json"
[ "$(jq '[.vms[] | select(.state == "failed")] | length' "$tmp/show.json")" = 1 ] ||
    fail "uu: VM states $(jq -c '[.vms[] | [.vm, .state]]' "$tmp/show.json")"
[ "$(jq -r '.vms[] | select(.state == "failed") | .vm' "$tmp/show.json")" = a01 ] ||
    fail "uu: not a01 failed"
[ -n "$(find "$v1/$R-uu/a01" -name '.vmshift.*.tmp0')" ] || fail "uu: no temporary kept"
vsh runs resume "$id" > /dev/null 2> "$tmp/err" || fail "uu: resume: $(cat "$tmp/err") $(vsh runs show "$id")"
[ "$(vsh runs show --json "$id" | jq -r .state)" = complete ] || fail "uu: not complete after resume"
[ "$(clones_ok)" = 2 ] || fail "uu: $(clones_ok) clones for 2 disks"
for vm in a01 b01; do
    compare_images vmdk "$v1/$R/ds/$vm/$vm.vmdk" qcow2 "$v1/$R-uu/$vm/$vm.qcow2"
done
no_leftovers vol1

# ---------------------- not retryable: the temporary goes, that VM fails
blueprint nr > "$tmp/bp.json"
log_mark
VMSHIFT_TEST_NFS_FAULT="pwrite:1:ENOSPC:$a01tmp" \
    vsh migrate --yes --json "$tmp/bp.json" > "$tmp/ev" 2> "$tmp/err" && fail "nr: exit 0"
id=$(last_run)
vsh runs show --json "$id" > "$tmp/show.json"
jq -e 'select(.step == "retry")' "$tmp/ev" > /dev/null && fail "nr: retried"
[ "$(jq '[.vms[] | select(.state == "failed")] | length' "$tmp/show.json")" = 1 ] ||
    fail "nr: VM states $(jq -c '[.vms[] | [.vm, .state]]' "$tmp/show.json")"
[ "$(jq '[.vms[] | select(.state == "complete")] | length' "$tmp/show.json")" = 1 ] ||
    fail "nr: VM states $(jq -c '[.vms[] | [.vm, .state]]' "$tmp/show.json")"
[ "$(jq -r '.vms[] | select(.state == "failed") | .vm' "$tmp/show.json")" = a01 ] ||
    fail "nr: not a01 failed"
jq -e '[.journal[] | select(.step == "clone" and .status == "failed")] | length == 1' "$tmp/show.json" > /dev/null ||
    fail "nr: clone steps: $(jq -c '[.journal[] | select(.step == "clone")]' "$tmp/show.json")"
no_leftovers vol1

[ "$(tree_sha "$v1/$R/ds")" = "$sha0" ] || fail "the source changed"
echo "migrate retry after the clone ok"
