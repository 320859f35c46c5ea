#!/bin/sh
# vmshift migrate killed (SIGKILL, as kill -9) while its clone calls are
# in flight, then vmshift runs resume (docs/internals/ontap-flow.md,
# "Steps journalled by the caller"):
#  1. clones held 2 s by the simulator, the process killed during them:
#     the resumed run adopts the temporaries (their "clone" intents are in
#     the journal, their data is in place) and sends no clone again;
#  2. clone calls answered with a job to wait for (return_timeout 1 s,
#     jobs of 4 s), killed while it waits: the resume asks each job
#     recorded in the journal ("clone-job") instead of cloning again;
#  3. as 1, with one temporary removed while the run is dead: that disk's
#     step is undone and cloned again (the journal says so), no other;
#  4. as 1, then abort and cleanup instead of resume: the temporaries the
#     journal names and the leases of the run's ID are removed.
# Each time: every disk identical to its source (qemu-img compare), its
# blocks shared with the source (FIEMAP on the XFS under the simulator),
# the run complete, no temporary, lease or snapshot left.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/testenv.sh"
. "$(dirname "$0")/../lib/ontap.sh"
ontap_testenv filefrag
export VMSHIFT_STORE="$tmp/runs.db"
vms="d1 d2 d3 d4"
nd=4

for vm in $vms; do make_vm "$v1/rc" "$vm" 8; done

blueprint() {   # NAME (also the target folder)
    printf '{"name": "%s", "source": {"datastore": "ontap://testenv/vol1/rc"},\n' "$1"
    printf ' "target": {"hypervisor": "libvirt", "uri": "test:///default",\n'
    printf '            "location": "ontap://testenv/vol1/%s"},\n' "$1"
    printf ' "network_map": {"networks": {"*": "br0"}},\n'
    printf ' "groups": [{"name": "g", "boot_order": 1, "vms": ["d1", "d2", "d3", "d4"]}],\n'
    printf ' "vms": {"d1": {"vmx": "d1/d1.vmx"}, "d2": {"vmx": "d2/d2.vmx"},\n'
    printf '         "d3": {"vmx": "d3/d3.vmx"}, "d4": {"vmx": "d4/d4.vmx"}}}\n'
}

temps() {   # FOLDER: temporaries there now
    find "$v1/$1" -name '.vmshift.*.tmp*' 2>/dev/null | wc -l
}

temps_are() { [ "$(temps "$1")" -ge "$2" ]; }
job_gets_since() {   # LINE N: at least N job polls in the request log after LINE
    [ "$(tail -n +$(($1 + 1)) "$VMSHIFT_TESTENV_REQUEST_LOG" |
        jq -r 'select(.method == "GET" and (.path | startswith("/api/cluster/jobs/"))) | .path' |
        wc -l)" -ge "$2" ]
}

check_done() {   # ID FOLDER
    vsh runs show --json "$1" > "$tmp/show.json" || fail "runs show $1"
    [ "$(jq -r .state "$tmp/show.json")" = complete ] ||
        fail "run $1 not complete: $(jq -c '[.state, .vms]' "$tmp/show.json")"
    for vm in $vms; do
        out=$v1/$2/$vm/$vm.qcow2
        compare_images vmdk "$v1/rc/$vm/$vm.vmdk" qcow2 "$out"
        filefrag -v "$out" | grep -q shared || fail "$out: no shared extents"
    done
    no_leftovers vol1
    left=$(find "$v1/$2" -name '.vmshift.*' | head -3)
    [ -z "$left" ] || fail "left in $2: $left"
}

# start NAME [CONFIG]: the run in the background (pid in $pid)
start() {
    blueprint "$1" > "$tmp/$1.json"
    "$VMSHIFT" --config "${2:-$VMSHIFT_TESTENV_CONFIG}" migrate --yes --json \
        "$tmp/$1.json" > "$tmp/$1.ev" 2> "$tmp/$1.err" &
    pid=$!
}

# killed NAME: kill -9 the run; its ID in $id; its clone steps must be
# half done (intent, no result): the kill was in the middle of them
killed() {
    kill -9 "$pid"
    wait "$pid" 2>/dev/null
    id=$(head -1 "$tmp/$1.ev" | jq .run)
    [ -n "$id" ] || fail "$1: no run ID: $(cat "$tmp/$1.err")"
    vsh runs show --json "$id" > "$tmp/show.json" || fail "runs show $id"
    half=$(jq '[.journal[] | select(.step == "clone" and .status == "intent")] | length' \
        "$tmp/show.json")
    [ "$half" = "$nd" ] ||
        fail "$1: $half of $nd clone steps half done at the kill: $(jq -c '[.journal[] | select(.step == "clone") | .status]' "$tmp/show.json")"
}

resume() {   # NAME
    vsh runs resume "$id" > /dev/null 2> "$tmp/$1.rerr" ||
        fail "$1: resume: $(cat "$tmp/$1.rerr")"
}

# 1. killed during the clone calls (each held 2 s): the sim finishes them
tctl '{"job_duration_ms": 2000, "delay_ms": 0}'
log_mark
start kc
wait_until 300 "kc: temporaries of all disks" temps_are kc "$nd"
sleep 0.5
killed kc
sleep 2.5   # the clone jobs the dead process started end
tctl '{"job_duration_ms": 200}'
killed_clones=$(req_count POST /api/storage/file/clone)
resume kc
check_done "$id" kc
clones=$(req_count POST /api/storage/file/clone)
[ "$clones" = "$nd" ] ||
    fail "kc: $clones clone requests for $nd disks ($killed_clones before the kill)"
adopted=$(jq '[.journal[] | select(.step == "clone" and .result.adopted == "yes")] | length' \
    "$tmp/show.json")
[ "$adopted" = "$nd" ] || fail "kc: $adopted of $nd disks adopted"
echo "in flight: $killed_clones clones sent before the kill, $((clones - killed_clones)) by the resume, $adopted temporaries adopted"

# 2. clone calls answered by a job (202 after 1 s, jobs of 4 s), killed
# while the conversion waits for them: the resume asks those jobs
jq '.profiles.testenv.return_timeout = 1' "$VMSHIFT_TESTENV_CONFIG" > "$tmp/rt1.json"
tctl '{"job_duration_ms": 4000}'
log_mark
start kj "$tmp/rt1.json"
wait_until 300 "kj: temporaries of all disks" temps_are kj "$nd"
m=$(wc -l < "$VMSHIFT_TESTENV_REQUEST_LOG")
wait_until 300 "kj: the clone jobs polled" job_gets_since "$m" "$nd"
killed kj
jobs=$(jq '[.journal[] | select(.step == "clone-job")] | length' "$tmp/show.json")
[ "$jobs" = "$nd" ] || fail "kj: $jobs clone jobs journalled, not $nd"
m=$(wc -l < "$VMSHIFT_TESTENV_REQUEST_LOG")
"$VMSHIFT" --config "$tmp/rt1.json" runs resume "$id" > /dev/null 2> "$tmp/kj.rerr" ||
    fail "kj: resume: $(cat "$tmp/kj.rerr")"
tctl '{"job_duration_ms": 200}'
check_done "$id" kj
clones=$(req_count POST /api/storage/file/clone)
[ "$clones" = "$nd" ] || fail "kj: $clones clone requests for $nd disks"
for job in $(jq -r '.journal[] | select(.step == "clone-job") | .intent.job' "$tmp/show.json"); do
    tail -n +$((m + 1)) "$VMSHIFT_TESTENV_REQUEST_LOG" |
        jq -r 'select(.method == "GET") | .path' | grep -q "^/api/cluster/jobs/$job" ||
        fail "kj: the resume did not ask the journalled clone job $job"
done
echo "jobs: $nd clone jobs journalled, asked again by the resume, no clone sent twice"

# 3. as 1, and d2's temporary removed while the run is dead: d2 alone is
# cloned again, its first clone step undone
tctl '{"job_duration_ms": 2000}'
log_mark
start kr
wait_until 300 "kr: temporaries of all disks" temps_are kr "$nd"
sleep 0.5
killed kr
sleep 2.5
tctl '{"job_duration_ms": 200}'
rm -f "$v1"/kr/d2/.vmshift.*.tmp*
resume kr
check_done "$id" kr
clones=$(req_count POST /api/storage/file/clone)
[ "$clones" = $((nd + 1)) ] || fail "kr: $clones clone requests, not $((nd + 1))"
d2=$(jq -r '[.journal[] | select(.step == "clone" and .vm == "d2") | .status] | join(" ")' \
    "$tmp/show.json")
[ "$d2" = "undone done" ] || fail "kr: d2's clone steps: '$d2'"
echo "temporary removed: d2 cloned again (its step undone), the others adopted"

# 4. killed during the clone calls, then abort and cleanup (no resume):
# the temporaries the journal names go, and the leases of the run's ID
tctl '{"job_duration_ms": 2000}'
start ka
wait_until 300 "ka: temporaries of all disks" temps_are ka "$nd"
sleep 0.5
killed ka
sleep 2.5
tctl '{"job_duration_ms": 200}'
vsh runs abort "$id" 2> "$tmp/ka.err" || fail "ka: abort: $(cat "$tmp/ka.err")"
vsh runs cleanup "$id" 2> "$tmp/ka.err" || fail "ka: cleanup: $(cat "$tmp/ka.err")"
left=$(find "$v1/ka" -type f 2>/dev/null | head -3)
[ -z "$left" ] || fail "ka: abort + cleanup left $left"
no_leftovers vol1
echo "abort + cleanup after the kill: nothing left"
