#!/bin/sh
# vmshift migrate killed (SIGKILL, as kill -9) at every journalled point
# of a run, then vmshift runs resume: the run converges to the same final
# state (every disk identical, the domains started in boot order, nothing
# left behind), and the simulator's request log shows no snapshot and no
# clone made twice.  Then: abort from another shell during the
# conversions, and cleanup: nothing the run made is left and the source is
# byte-identical.  Points are counted by the library's crash hook
# (VMSHIFT_WF_CRASH_AT, engine/workflow/run.c).
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/testenv.sh"
. "$(dirname "$0")/../lib/ontap.sh"
ontap_testenv md5sum
export VMSHIFT_STORE="$tmp/runs.db"

for vm in a1 b1 c1; do make_vm "$v1/rs" "$vm" 16; done
flat_sums "$v1/rs" > "$tmp/sums0"

blueprint() {   # LOCATION NAME
    cat <<JSON
{"name": "$2", "source": {"datastore": "ontap://testenv/vol1/rs"},
 "target": {"hypervisor": "libvirt", "uri": "test:///default",
            "location": "ontap://testenv/vol1/$1"},
 "network_map": {"networks": {"*": "br0"}},
 "groups": [{"name": "c", "boot_order": 3, "vms": ["c1"]},
            {"name": "a", "boot_order": 1, "vms": ["a1"]},
            {"name": "b", "boot_order": 2, "vms": ["b1"]}],
 "vms": {"a1": {"vmx": "a1/a1.vmx"}, "b1": {"vmx": "b1/b1.vmx"},
         "c1": {"vmx": "c1/c1.vmx"}}}
JSON
}

check_done() {   # ID LOCATION
    vsh runs show --json "$1" > "$tmp/show.json" || fail "runs show $1"
    [ "$(jq -r .state "$tmp/show.json")" = complete ] ||
        fail "run $1 not complete: $(jq -c '[.state, .vms]' "$tmp/show.json")"
    for vm in a1 b1 c1; do
        compare_images vmdk "$v1/rs/$vm/$vm.vmdk" qcow2 "$v1/$2/$vm/$vm.qcow2"
        [ -f "$v1/$2/$vm/guest/linux-reapply.sh" ] || fail "$2: no bundle for $vm"
    done
    order=$(jq -r '.detail.domains[] | select(.state == "running") | "\(.id) \(.vm)"' \
        "$tmp/show.json" | sort -n | cut -d' ' -f2 | tr '\n' ' ')
    [ "$order" = "a1 b1 c1 " ] || fail "run $1: start order '$order'"
    no_leftovers vol1
}

# baseline: the requests and the crash points of an uninterrupted run
log_mark
blueprint base base > "$tmp/bp.json"
VMSHIFT_WF_CRASH_LOG=$tmp/points vsh migrate --yes "$tmp/bp.json" > /dev/null 2> "$tmp/err" ||
    fail "baseline: $(cat "$tmp/err")"
clones0=$(req_count POST /api/storage/file/clone)
[ "$clones0" -ge 3 ] || fail "baseline made $clones0 clone requests"
check_done 1 base
# every kind of journalled step, before its effect and after it: the
# first point of each, and the last point of the run
points=$( (awk '!seen[$2 " " $3]++ { print $1 }' "$tmp/points"; tail -1 "$tmp/points" | cut -d' ' -f1) | sort -un)
kinds=$(awk '{ print $2 }' "$tmp/points" | sort -u | tr '\n' ' ')
case $kinds in *convert*define*snapshot*start*write*) ;; *) fail "steps journalled: $kinds" ;; esac
n=0
for p in $points; do
    n=$((n + 1))
    blueprint "k$p" "k$p" > "$tmp/bp.json"
    log_mark
    VMSHIFT_WF_CRASH_AT=$p vsh migrate --yes "$tmp/bp.json" > /dev/null 2> "$tmp/err"
    rc=$?
    id=$(vsh runs list --json | jq '.[0].id')
    [ "$rc" = 137 ] || fail "point $p ($(sed -n "${p}p" "$tmp/points")): exit $rc, not killed: $(cat "$tmp/err")"
    vsh runs resume "$id" > /dev/null 2> "$tmp/err" || fail "point $p: resume: $(cat "$tmp/err")"
    check_done "$id" "k$p"
    [ "$(req_count POST /api/storage/volumes/)" = 1 ] ||
        fail "point $p: $(req_count POST /api/storage/volumes/) snapshots made"
    [ "$(req_count POST /api/storage/file/clone)" = "$clones0" ] ||
        fail "point $p: $(req_count POST /api/storage/file/clone) clone requests, not $clones0"
done
echo "killed and resumed at $n points: $(echo "$points" | tr "\n" " ")"

# abort from another shell while the disks are converted (a slow cluster)
tctl '{"delay_ms": 150}'
blueprint ab ab > "$tmp/bp.json"
vsh migrate --yes --json "$tmp/bp.json" > "$tmp/ev" 2> "$tmp/err" &
pid=$!
wait_until 300 "the run never started converting" grep -qs '"state":"converting"' "$tmp/ev"
id=$(head -1 "$tmp/ev" | jq .run)
vsh runs abort "$id" 2> "$tmp/err2" || fail "abort: $(cat "$tmp/err2")"
wait "$pid"; rc=$?
tctl '{"delay_ms": 0}'
[ "$rc" != 0 ] || fail "an aborted run exited 0"
[ "$(vsh runs show --json "$id" | jq -r .state)" = aborted ] || fail "run $id not aborted"
vsh runs cleanup "$id" 2> "$tmp/err" || fail "cleanup after abort: $(cat "$tmp/err")"
left=$(find "$v1/ab" -type f 2>/dev/null | head -3)
[ -z "$left" ] || fail "abort + cleanup left $left"
no_leftovers vol1
flat_sums "$v1/rs" > "$tmp/sums1"
cmp -s "$tmp/sums0" "$tmp/sums1" || fail "the source changed"

# two runs of the same blueprint at once: the second is refused, naming the first
tctl '{"delay_ms": 100}'
blueprint two two > "$tmp/bp.json"
vsh migrate --yes --json "$tmp/bp.json" > "$tmp/ev" 2> /dev/null &
pid=$!
wait_until 300 "the first run never started" grep -qs '"state":"running"' "$tmp/ev"
first=$(head -1 "$tmp/ev" | jq .run)
vsh migrate --yes "$tmp/bp.json" > /dev/null 2> "$tmp/err" && fail "second run not refused"
grep -q "already running as run $first" "$tmp/err" || fail "refusal does not name run $first: $(cat "$tmp/err")"
wait "$pid" || fail "the first run failed"
tctl '{"delay_ms": 0}'

# simulator faults (5xx and dropped connections) on 20% of the requests
# of a whole wave: the run completes, or stops with a clear reason and
# resumes to completion once the faults stop
blueprint fl fl > "$tmp/bp.json"
log_mark
tctl '{"error_rate": 0.2, "seed": 7, "fault_match": "", "drop_count": 2}'
vsh migrate --yes "$tmp/bp.json" > /dev/null 2> "$tmp/err"
rc=$?
tctl '{"error_rate": 0, "drop_count": 0}'
nf=$(tail -n +$((_log_mark + 1)) "$VMSHIFT_TESTENV_REQUEST_LOG" | jq -r 'select(.fault) | .fault' | wc -l)
[ "$nf" -ge 3 ] || fail "faults: only $nf injected"
id=$(vsh runs list --json | jq '.[0].id')
if [ "$rc" != 0 ]; then
    [ "$(wc -l < "$tmp/err")" -le 2 ] || fail "faults: unclear stop: $(cat "$tmp/err")"
    grep -q "runs resume $id" "$tmp/err" || fail "faults: no resume hint: $(cat "$tmp/err")"
    vsh runs resume "$id" > /dev/null 2> "$tmp/err" || fail "faults: resume: $(cat "$tmp/err")"
    echo "faults: $nf injected, stopped ($rc), resumed"
else
    echo "faults: $nf injected, completed through them"
fi
check_done "$id" fl
echo "resume and abort ok"
