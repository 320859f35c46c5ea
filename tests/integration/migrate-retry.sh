#!/bin/sh
# Retries, aborts and cleanup of migration runs on the test environment
# (reflink XFS, nfs-ganesha, ONTAP simulator) to libvirt's test driver.
#
# 1. Retries by error class: the clone POSTs of one disk dropped more
#    often than the ONTAP client retries by itself: the run tries that
#    disk again (a "retry" event, a journalled second attempt) and
#    completes; no clone is made twice.  Then simulator faults (5xx,
#    busy refusals, dropped connections, hidden jobs) at 20% across a
#    wave of 6 VMs: the run completes, or stops with a clear reason and
#    `runs resume` completes it once the faults are off; every disk
#    identical to its source; a disk that succeeded is not cloned again.
# 2. A VM with a missing disk fails with one line naming the disk, is not
#    retried, and the other VMs complete.
# 3. vmshift runs abort from another shell during the conversions stops
#    the run at the next disk (clone requests < disks); cleanup leaves
#    nothing the run made; the source is byte-identical (sha256).
# 4. cleanup of a --test run removes the folders and the qtree the run
#    made (journalled when made), and never a qtree that was there before.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/testenv.sh"
. "$(dirname "$0")/../lib/ontap.sh"
ontap_testenv md5sum
export VMSHIFT_STORE="$tmp/runs.db"
# names unique to this run: the environment may be one the caller reuses
R=rt$$
set -- db01 db02 app01 app02 web01 web02

for vm in "$@"; do make_vm "$v1/$R/ds" "$vm" 8; done
flat_sums "$v1/$R/ds" > "$tmp/sums0"

blueprint() {   # NAME [CONCURRENCY [VMS...]]  (default: all six)
    _n=$1; _c=${2:-4}; shift
    [ $# -gt 0 ] && shift
    [ $# -gt 0 ] || set -- db01 db02 app01 app02 web01 web02
    _vms=$(for v in "$@"; do printf '"%s": {"vmx": "%s/%s.vmx"},' "$v" "$v" "$v"; done)
    _names=$(for v in "$@"; do printf '"%s",' "$v"; done)
    cat <<JSON
{"name": "$_n", "source": {"datastore": "ontap://testenv/vol1/$R/ds"},
 "target": {"hypervisor": "libvirt", "uri": "test:///default",
            "location": "ontap://testenv/vol1/$R-$_n"},
 "network_map": {"networks": {"*": "br0"}}, "concurrency": $_c,
 "groups": [{"name": "all", "boot_order": 1, "vms": [${_names%,}]}],
 "vms": {${_vms%,}}}
JSON
}

check_disks() {   # NAME VMS...
    _n=$1; shift
    for vm in "$@"; do
        compare_images vmdk "$v1/$R/ds/$vm/$vm.vmdk" qcow2 "$v1/$R-$_n/$vm/$vm.qcow2"
    done
}
quiet() {
    tctl '{"delay_ms": 0, "error_rate": 0, "ebusy_count": 0, "hide_jobs": 0,
           "drop_count": 0, "fail_jobs": 0, "fault_match": ""}'
}

# ---------------------------------------------------- baseline (no faults)
log_mark
blueprint base > "$tmp/bp.json"
vsh migrate --yes "$tmp/bp.json" > /dev/null 2> "$tmp/err" || fail "baseline: $(cat "$tmp/err")"
c0=$(clones_ok)
[ "$c0" -ge 6 ] || fail "baseline made $c0 clones for 6 disks"
per_disk=$(( (c0 + 5) / 6 ))

# ---------------------- 1a. one disk's clones dropped past the client's retries
# One disk at a time, and the next 4 clone POSTs dropped: the ONTAP
# client sends a ranged clone 4 times (docs/ontap-client.md), so the first
# disk fails with a lost connection, retryable; the run waits 1 s and
# converts it again, and the drops are used up by then.
blueprint drop 1 > "$tmp/bp.json"
log_mark
tctl '{"drop_count": 4, "fault_match": "POST /api/storage/file/clone"}'
vsh migrate --yes --json "$tmp/bp.json" > "$tmp/ev" 2> "$tmp/err" ||
    fail "drop: migrate: $(cat "$tmp/err")"
quiet
id=$(last_run)
[ "$(vsh runs show --json "$id" | jq -r .state)" = complete ] || fail "drop: run not complete"
check_disks drop db01 db02 app01 app02 web01 web02
nret=$(jq -c 'select(.step == "retry")' "$tmp/ev" | wc -l)
[ "$nret" = 1 ] || fail "drop: $nret retry events, want 1: $(jq -c 'select(.step == "retry")' "$tmp/ev")"
jq -r 'select(.step == "retry") | .message' "$tmp/ev" |
    grep -q "^disk 'ontap://testenv/vol1/$R-drop/.*': attempt 1 of 4 failed (.*connection lost.*); again in 1 s$" ||
    fail "drop: retry event: $(jq -c 'select(.step == "retry")' "$tmp/ev")"
[ "$(tail -n +$((_log_mark + 1)) "$VMSHIFT_TESTENV_REQUEST_LOG" | jq -r 'select(.fault == "drop") | .path' | wc -l)" = 4 ] ||
    fail "drop: not 4 dropped clone requests"
# each disk cloned once: the dropped requests made nothing
[ "$(clones_ok)" = "$c0" ] || fail "drop: $(clones_ok) clones made, want $c0"
# the failed attempt and the second are journalled, each with its result
vsh runs show --json "$id" > "$tmp/show.json"
jq -e '[.journal[] | select(.step == "convert")] |
       (map(select(.status == "failed" and (.result.error | test("connection lost"))))
        | length == 1) and
       (map(select(.intent.attempt == 2 and .status == "done")) | length == 1) and
       (map(select(.status == "done")) | length == 6)' "$tmp/show.json" > /dev/null ||
    fail "drop: journal: $(jq -c '[.journal[] | select(.step == "convert")]' "$tmp/show.json")"
no_leftovers vol1

# ------------------------------------------ 1b. faults at 20% across a wave
blueprint fl > "$tmp/bp.json"
log_mark
tctl '{"error_rate": 0.2, "seed": 11, "fault_match": "", "drop_count": 6,
       "ebusy_count": 3, "hide_jobs": 3}'
vsh migrate --yes --json "$tmp/bp.json" > "$tmp/ev" 2> "$tmp/err"
rc=$?
quiet
nf=$(tail -n +$((_log_mark + 1)) "$VMSHIFT_TESTENV_REQUEST_LOG" | jq -r 'select(.fault) | .fault' | wc -l)
[ "$nf" -ge 6 ] || fail "faults: only $nf injected"
id=$(last_run)
if [ "$rc" != 0 ]; then
    # warnings about what the library recovered from are not the reason
    grep -v '^vmshift: warning: ' "$tmp/err" > "$tmp/err2"
    [ "$(wc -l < "$tmp/err2")" -le 2 ] ||
        fail "faults: unclear stop: $(cat "$tmp/err2"); $(vsh runs show --json "$id" | jq -c .vms)"
    grep -q "runs resume $id" "$tmp/err" || fail "faults: no resume hint: $(cat "$tmp/err")"
    why=$(vsh runs show --json "$id" |
        jq -c '[.vms[] | select(.state == "failed") | .detail.reason]')
    vsh runs resume "$id" > /dev/null 2> "$tmp/err.resume" ||
        fail "faults: resume: $(cat "$tmp/err.resume")"
    how="stopped ($rc: $(head -1 "$tmp/err2"); $why), resumed"
else
    how="completed through them"
fi
[ "$(vsh runs show --json "$id" | jq -r .state)" = complete ] || fail "faults: run not complete"
check_disks fl db01 db02 app01 app02 web01 web02
nret=$(jq -c 'select(.step == "retry")' "$tmp/ev" | wc -l)
# a disk done at its first attempt is not cloned again: clones beyond the
# baseline's come only from attempts the run redid
# and those the library sends again when a clone job vanished (a hidden
# job: the same ranges to the same temporary, which it says)
nvan=$(cat "$tmp/err" "$tmp/err.resume" 2>/dev/null | grep -c 'a clone job vanished; cloning the same ranges again')
c=$(clones_ok)
if [ "$c" -lt "$c0" ] || [ "$c" -gt $((c0 + nret * per_disk + nvan)) ]; then
    fail "faults: $c clones made for $c0 needed, $nret retries, $nvan vanished jobs"
fi
[ "$nret" -gt 0 ] || [ "$c" -le $((c0 + nvan)) ] ||
    fail "faults: $c clones without a retry, want $c0 (+ $nvan vanished jobs)"
no_leftovers vol1
echo "faults: $nf injected, $nret disk retries, $nvan vanished clone jobs, $c clones for $c0, $how"

# ------------------------------------------------------ 2. a missing disk
# miss01's .vmx names a disk that is not there: that VM fails with one
# line naming the disk, at once (no retry), and the others complete.
make_vm "$v1/$R/ds" miss01 8
rm -f "$v1/$R/ds/miss01/miss01.vmdk" "$v1/$R/ds/miss01/miss01-flat.vmdk"
blueprint ms 4 miss01 db01 web01 > "$tmp/bp.json"
vsh migrate --yes --json "$tmp/bp.json" > "$tmp/ev" 2> "$tmp/err" && fail "missing disk: exit 0"
id=$(last_run)
vsh runs show --json "$id" > "$tmp/show.json"
[ "$(jq -r '.vms[] | select(.vm == "miss01") | .state' "$tmp/show.json")" = failed ] ||
    fail "missing disk: miss01 not failed: $(jq -c .vms "$tmp/show.json")"
reason=$(jq -r '.vms[] | select(.vm == "miss01") | .detail.reason' "$tmp/show.json")
[ "$(printf '%s\n' "$reason" | wc -l)" = 1 ] || fail "missing disk: reason not one line: $reason"
case $reason in *miss01.vmdk*) ;; *) fail "missing disk: reason does not name the disk: $reason" ;; esac
[ "$(jq '[.vms[] | select(.vm != "miss01" and .state == "complete")] | length' "$tmp/show.json")" = 2 ] ||
    fail "missing disk: the others did not complete: $(jq -c .vms "$tmp/show.json")"
jq -e 'select(.step == "retry")' "$tmp/ev" > /dev/null && fail "missing disk: retried"
check_disks ms db01 web01
echo "missing disk: $reason"

# ------------------------------------------- 3. abort between the disks
# One disk at a time on a slow cluster (300 ms a request); abort from
# another shell once the conversions run.  The library asks the run
# before each disk, the run reads the store's abort flag (at most every
# 0.5 s), so the run stops at the next disk, not after the wave; it
# undoes what it made, and cleanup leaves nothing: no disk, no folder, no
# qtree, no snapshot; the source byte-identical.
sha0=$(tree_sha "$v1/$R/ds")
blueprint ab 1 > "$tmp/bp.json"
log_mark
tctl '{"delay_ms": 300}'
vsh migrate --yes --json "$tmp/bp.json" > "$tmp/ev" 2> "$tmp/err" &
pid=$!
# once the first disk is cloned: the abort lands in the middle of them
i=0
until [ "$(clones_ok)" -ge 1 ]; do
    i=$((i + 1)); [ "$i" -lt 600 ] || fail "abort: the run never cloned"
    sleep 0.1
done
id=$(head -1 "$tmp/ev" | jq .run)
vsh runs abort "$id" 2> "$tmp/err2" || fail "abort: $(cat "$tmp/err2")"
wait "$pid"; rc=$?
quiet
[ "$rc" != 0 ] || fail "abort: the aborted run exited 0"
[ "$(vsh runs show --json "$id" | jq -r .state)" = aborted ] || fail "abort: run $id not aborted"
nc=$(req_count POST /api/storage/file/clone)
[ "$nc" -lt $((6 * per_disk)) ] ||
    fail "abort: $nc clone requests for 6 disks: the abort waited for the wave"
# the disks not started fail no VM: every VM is aborted
vsh runs show --json "$id" > "$tmp/show.json"
jq -e '[.vms[].state] | all(. == "aborted")' "$tmp/show.json" > /dev/null ||
    fail "abort: VM states $(jq -c '[.vms[].state]' "$tmp/show.json")"
# the abort's undo removed the folders and the qtree already
[ ! -e "$v1/$R-ab" ] || fail "abort left $(find "$v1/$R-ab" | head -5)"
vsh runs cleanup "$id" > /dev/null 2> "$tmp/err" || fail "abort: cleanup: $(cat "$tmp/err")"
[ ! -e "$v1/$R-ab" ] || fail "abort + cleanup left $(find "$v1/$R-ab" | head -5)"
[ "$(rest "/api/storage/qtrees?name=$R-ab" | jq .num_records)" = 0 ] ||
    fail "abort + cleanup left qtree $R-ab"
no_leftovers vol1
[ "$(tree_sha "$v1/$R/ds")" = "$sha0" ] || fail "abort: the source changed"
echo "abort: took effect after $nc clone requests of $((6 * per_disk))"

# ------------------------- 4. cleanup removes the folders and qtree it made
# A test run into a new qtree: cleanup removes its disks and files, the VM
# folders and the qtree.  A test run below a qtree the admin made before
# (empty, so only the journal tells it apart): cleanup removes the
# folders the run made and leaves the qtree.
blueprint tq 4 db01 web01 > "$tmp/bp.json"
vsh migrate --yes --test "$tmp/bp.json" > /dev/null 2> "$tmp/err" || fail "test run: $(cat "$tmp/err")"
id=$(last_run)
[ -d "$v1/$R-tq-test/db01-vmshift-test" ] || fail "test run: no VM folder"
[ "$(rest "/api/storage/qtrees?name=$R-tq-test" | jq .num_records)" = 1 ] || fail "test run: no qtree"
vsh runs cleanup "$id" > /dev/null 2> "$tmp/err" || fail "test run: cleanup: $(cat "$tmp/err")"
[ ! -e "$v1/$R-tq-test" ] || fail "test cleanup left $(find "$v1/$R-tq-test" | head -5)"
[ "$(rest "/api/storage/qtrees?name=$R-tq-test" | jq .num_records)" = 0 ] ||
    fail "test cleanup left qtree $R-tq-test"
log_mark
curl -sS --cacert "$VMSHIFT_TESTENV_CA_FILE" -o /dev/null \
    -u "$VMSHIFT_TESTENV_USER:$(cat "$VMSHIFT_TESTENV_PASSWORD_FILE")" \
    -X POST -H 'Content-Type: application/json' \
    --data-binary "{\"svm\": {\"name\": \"svm0\"}, \"volume\": {\"name\": \"vol1\"}, \"name\": \"$R-pre\"}" \
    "$VMSHIFT_TESTENV_URL/api/storage/qtrees" || fail "POST qtree $R-pre"
i=0
until [ "$(rest "/api/storage/qtrees?name=$R-pre" | jq .num_records)" = 1 ]; do
    i=$((i + 1)); [ "$i" -lt 100 ] || fail "qtree $R-pre never appeared"
    sleep 0.1
done
jq --arg l "ontap://testenv/vol1/$R-pre/real" --arg t "ontap://testenv/vol1/$R-pre/t/est" \
    '.name = "pre" | .target.location = $l | .target.test_location = $t' "$tmp/bp.json" > "$tmp/pre.json"
vsh migrate --yes --test "$tmp/pre.json" > /dev/null 2> "$tmp/err" || fail "pre: test run: $(cat "$tmp/err")"
id=$(last_run)
compare_images vmdk "$v1/$R/ds/db01/db01.vmdk" qcow2 "$v1/$R-pre/t/est/db01-vmshift-test/db01.qcow2"
vsh runs cleanup "$id" > /dev/null 2> "$tmp/err" || fail "pre: cleanup: $(cat "$tmp/err")"
[ -d "$v1/$R-pre" ] || fail "pre: cleanup removed the admin's qtree folder"
[ "$(rest "/api/storage/qtrees?name=$R-pre" | jq .num_records)" = 1 ] ||
    fail "pre: cleanup deleted the admin's qtree"
[ -z "$(ls -A "$v1/$R-pre")" ] || fail "pre: cleanup left $(find "$v1/$R-pre" | head -5)"
[ "$(req_count DELETE /api/storage/qtrees)" = 0 ] || fail "pre: a qtree DELETE was sent"
no_leftovers vol1
echo "cleanup: the run's qtree and folders removed, the admin's qtree kept"

flat_sums "$v1/$R/ds" > "$tmp/sums1"
cmp -s "$tmp/sums0" "$tmp/sums1" || fail "the source changed"
echo "migrate retry ok"
