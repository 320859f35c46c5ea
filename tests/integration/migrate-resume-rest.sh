#!/bin/sh
# The REST requests of "vmshift runs resume" after a kill in the middle of
# the clones (issue 11: a resume costs no more requests than the part
# left to do), counted by the simulator's request log per class (method
# and path, uuids as U):
#  1. a wave of 8 VMs converted whole: R_full;
#  2. the same wave killed (kill -9) once 3 clones were answered: R_before
#     (the killed process's requests), then resumed: R_resume.  For each
#     class, R_resume <= R_full - R_before + what only verifies an
#     in-flight step whose result the kill lost (a clone job's GET per
#     "clone-job" entry left open), and no lookup the run journalled
#     (cluster, volumes, qtrees, snapshots: docs/internals/ontap-flow.md,
#     "Facts handed over") is sent again: each of those classes is 0.
#     The whole run looks the volume up once and never the version.
#  3. killed again, this time between the LINK and the REMOVE that
#     publish r3's disk (the test hook VMSHIFT_TEST_NFS_KILL_AT_LINK), its
#     snapshot deleted while it is dead: the resume sends no clone, stops
#     with one line, the VMs left fail for the snapshot not found (by
#     name), its facts are dropped, and abort + cleanup leave nothing of
#     those VMs; r3, found in place and handed over, keeps no second name
#     (docs/internals/workflow.md, "Undo").
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/testenv.sh"
. "$(dirname "$0")/../lib/ontap.sh"
# shellcheck disable=SC2119 # ontap_testenv takes optional commands
ontap_testenv
log=$VMSHIFT_TESTENV_REQUEST_LOG
export VMSHIFT_STORE="$tmp/runs.db"
vms="r1 r2 r3 r4 r5 r6 r7 r8"

for vm in $vms; do make_vm "$v1/rr" "$vm" 4; done

blueprint() {   # NAME (also the target qtree)
    printf '{"name": "%s", "source": {"datastore": "ontap://testenv/vol1/rr"},\n' "$1"
    printf ' "target": {"hypervisor": "libvirt", "uri": "test:///default",\n'
    printf '            "location": "ontap://testenv/vol1/%s"},\n' "$1"
    printf ' "network_map": {"networks": {"*": "br0"}}, "concurrency": 2,\n'
    printf ' "groups": [{"name": "g", "boot_order": 1, "vms": ['
    _s=""; for vm in $vms; do printf '%s"%s"' "$_s" "$vm"; _s=", "; done
    printf ']}],\n "vms": {'
    _s=""; for vm in $vms; do printf '%s"%s": {"vmx": "%s/%s.vmx"}' "$_s" "$vm" "$vm" "$vm"; _s=", "; done
    printf '}}\n'
}

mark() { wc -l < "$log"; }
classes() {   # FROM TO: "COUNT METHOD PATH" per class of log lines FROM+1..TO
    sed -n "$(($1 + 1)),$2p" "$log" | jq -r '"\(.method) \(.path | sub("\\?.*"; "") |
        gsub("[0-9a-fA-F]{8}-[0-9a-fA-F-]{27}"; "U"))"' | sort | uniq -c |
        awk '{ print $1, $2, $3 }'
}
count() {   # FILE METHOD PATH: the class's count in FILE (0 if absent)
    awk -v m="$2" -v p="$3" '$2 == m && $3 == p { n = $1 } END { print n + 0 }' "$1"
}

check_done() {   # ID FOLDER
    vsh runs show --json "$1" > "$tmp/show.json" || fail "runs show $1"
    [ "$(jq -r .state "$tmp/show.json")" = complete ] ||
        fail "run $1 not complete: $(jq -c '[.state, .vms]' "$tmp/show.json")"
    for vm in $vms; do
        compare_images vmdk "$v1/rr/$vm/$vm.vmdk" qcow2 "$v1/$2/$vm/$vm.qcow2"
    done
    no_leftovers vol1
}

# start NAME: the run in the background (pid in $pid), the request log's
# mark before it in $m
start() {
    blueprint "$1" > "$tmp/$1.json"
    m=$(mark)
    "$VMSHIFT" --config "$VMSHIFT_TESTENV_CONFIG" migrate --yes --json \
        "$tmp/$1.json" > "$tmp/$1.ev" 2> "$tmp/$1.err" &
    pid=$!
}
clones_since() {   # LINE: clone requests answered since (grep: polled)
    tail -n +$(($1 + 1)) "$log" |
        grep -c '"method":"POST","path":"/api/storage/file/clone"'
}
# kill_after NAME N: kill -9 once N clones were answered; ID in $id
kill_after() {
    _i=0
    until [ "$(clones_since "$m")" -ge "$2" ]; do
        kill -0 "$pid" 2>/dev/null || fail "$1: ended before $2 clones: $(cat "$tmp/$1.err")"
        _i=$((_i + 1)); [ "$_i" -lt 600 ] || fail "$1: $2 clones never came"
        sleep 0.05
    done
    kill -9 "$pid"
    wait "$pid" 2>/dev/null
    # a request in flight at the kill is the killed process's: the
    # simulator answers (and logs) it after its delay, dead client or not
    sleep 0.5
    id=$(head -1 "$tmp/$1.ev" | jq .run)
    [ -n "$id" ] || fail "$1: no run ID: $(cat "$tmp/$1.err")"
}

# every request a little slow, so that the kill lands among the clones
tctl '{"delay_ms": 40}'

# 1. whole
blueprint whole > "$tmp/whole.json"
m0=$(mark)
vsh migrate --yes "$tmp/whole.json" > /dev/null 2> "$tmp/err" || fail "whole: $(cat "$tmp/err")"
m1=$(mark)
classes "$m0" "$m1" > "$tmp/full"
check_done 1 whole
nclones=$(count "$tmp/full" POST /api/storage/file/clone)
[ "$nclones" -ge 8 ] || fail "whole: $nclones clone requests for 8 disks"

# 2. killed among the clones, resumed
start killed
kill_after killed 3
m2=$(mark)
classes "$m" "$m2" > "$tmp/before"
vsh runs show --json "$id" > "$tmp/show.json" || fail "runs show $id"
done_clones=$(count "$tmp/before" POST /api/storage/file/clone)
[ "$done_clones" -lt "$nclones" ] || fail "killed: all $done_clones clones done before the kill"
# a clone job the kill left unanswered is asked once by the resume (its
# result is what the kill lost): one GET per open "clone-job" entry
open_jobs=$(jq '[.journal[] | select(.step == "clone-job" and .status == "intent")] | length' \
    "$tmp/show.json")
vsh runs resume "$id" > /dev/null 2> "$tmp/err" || fail "resume: $(cat "$tmp/err")"
m3=$(mark)
classes "$m2" "$m3" > "$tmp/resume"
vsh runs show --json "$id" > "$tmp/show.json" || fail "runs show $id"
echo "whole: $(awk '{ n += $1 } END { print n }' "$tmp/full") requests;" \
    "killed after $done_clones clones: $(awk '{ n += $1 } END { print n }' "$tmp/before");" \
    "resume: $(awk '{ n += $1 } END { print n + 0 }' "$tmp/resume") ($open_jobs open clone jobs)"
sed 's/^/  resume: /' "$tmp/resume"
bad=""
tot_left=0
while read -r n meth path; do
    full=$(count "$tmp/full" "$meth" "$path")
    before=$(count "$tmp/before" "$meth" "$path")
    left=$((full - before)); [ "$left" -ge 0 ] || left=0
    allow=0
    case "$meth $path" in
        "GET /api/cluster/jobs/U") allow=$open_jobs ;;
    esac
    tot_left=$((tot_left + left + allow))
    [ "$n" -le $((left + allow)) ] ||
        bad="$bad; $meth $path: $n sent, $left left to do (+$allow to verify)"
done < "$tmp/resume"
[ -z "$bad" ] || fail "the resume sent more than the part left:${bad#;}"
tot=$(awk '{ n += $1 } END { print n + 0 }' "$tmp/resume")
[ "$tot" -le "$tot_left" ] || fail "the resume sent $tot requests, $tot_left left to do"
# what the journal holds is not asked again
for c in "GET /api/cluster" "GET /api/storage/volumes" "GET /api/storage/qtrees" \
         "GET /api/storage/volumes/U/snapshots"; do
    # shellcheck disable=SC2086 # two words: method and path
    n=$(count "$tmp/resume" $c)
    [ "$n" = 0 ] || fail "the resume looked up again what the journal holds: $n x $c"
done
facts=$(jq -r '[.journal[] | select(.step == "fact" and .status == "done") | .intent.kind] | sort | unique | join(" ")' \
    "$tmp/show.json")
[ "$facts" = "qtree volume" ] || fail "facts journalled: '$facts'"
[ "$(count "$tmp/resume" POST /api/storage/file/clone)" -le $((nclones - done_clones)) ] ||
    fail "a clone sent twice"
check_done "$id" killed
echo "resume: no more than the part left, no lookup again"
# the whole run too asks once: the volume by its first open, no version
nvol=$(count "$tmp/full" GET /api/storage/volumes)
nver=$(count "$tmp/full" GET /api/cluster)
if [ "$nvol" != 1 ] || [ "$nver" != 0 ]; then
    fail "whole: the volume looked up $nvol times, the version $nver"
fi

# 3. killed in the middle of a publish, its snapshot deleted while it is
# dead: the resume stops with a clear reason and sends no clone from
# another snapshot
blueprint gone > "$tmp/gone.json"
VMSHIFT_TEST_NFS_KILL_AT_LINK=gone/r3/r3.qcow2 "$VMSHIFT" --config "$VMSHIFT_TESTENV_CONFIG" \
    migrate --yes --json "$tmp/gone.json" > "$tmp/gone.ev" 2> "$tmp/gone.err" &&
    fail "gone: not killed at the publish of r3's disk"
sleep 0.5   # as kill_after: the requests in flight at the kill
id=$(head -1 "$tmp/gone.ev" | jq .run)
[ -n "$id" ] || fail "gone: no run ID: $(cat "$tmp/gone.err")"
# the kill fell between the two: r3's disk published under a second name
[ "$(stat -c %h "$v1/gone/r3/r3.qcow2" 2>/dev/null)" = 2 ] ||
    fail "gone: not killed between the link and the unlink of r3's disk: $(find "$v1/gone/r3" -maxdepth 1 2>&1 | tr "\n" " ")"
vuuid=$(rest "/api/storage/volumes?name=vol1&fields=uuid" | jq -r '.records[0].uuid')
snap=$(vsh runs show --json "$id" | jq -r .snapshot)
echo "$snap" | grep -Eqx "vmshift-run-[0-9a-f]{12}-$id" ||
    fail "gone: snapshot name '$snap'"
suuid=$(rest "/api/storage/volumes/$vuuid/snapshots?name=$snap&fields=uuid" |
    jq -r '.records[0].uuid')
case $suuid in ""|null) fail "gone: no snapshot $snap" ;; esac
curl -sS --cacert "$VMSHIFT_TESTENV_CA_FILE" -o /dev/null \
    -u "$VMSHIFT_TESTENV_USER:$(cat "$VMSHIFT_TESTENV_PASSWORD_FILE")" -X DELETE \
    "$VMSHIFT_TESTENV_URL/api/storage/volumes/$vuuid/snapshots/$suuid?return_timeout=30" ||
    fail "gone: cannot delete the snapshot"
m4=$(mark)
vsh runs resume "$id" > /dev/null 2> "$tmp/err" && fail "gone: resumed without its snapshot"
[ "$(clones_since "$m4")" = 0 ] || fail "gone: $(clones_since "$m4") clones sent without the run's snapshot"
[ "$(wc -l < "$tmp/err")" -le 2 ] || fail "gone: unclear error: $(cat "$tmp/err")"
vsh runs show --json "$id" > "$tmp/show.json" || fail "runs show $id"
why=$(jq -r '[.vms[] | select(.state == "failed") | .detail.reason] | unique | join(" | ")' \
    "$tmp/show.json")
case $why in
    "convert: snapshot '$snap' not found on volume 'vol1'") ;;
    *) fail "gone: the VMs left failed for '$why'" ;;
esac
kept=$(jq '[.journal[] | select(.step == "fact" and .status == "done")] | length' "$tmp/show.json")
[ "$kept" = 0 ] || fail "gone: $kept facts kept after the run failed"
echo "snapshot gone: $(head -1 "$tmp/err"): $why"
# r3, found in place by the resume, is handed over, under one name
case $(jq -r '.vms[] | select(.vm == "r3") | .state' "$tmp/show.json") in
    registered|started|complete) ;;
    *) fail "gone: r3 $(jq -c '.vms[] | select(.vm == "r3")' "$tmp/show.json")" ;;
esac
[ "$(stat -c %h "$v1/gone/r3/r3.qcow2")" = 1 ] ||
    fail "gone: the resume left a second name of r3's disk: $(find "$v1/gone/r3" -maxdepth 1 -name ".vmshift.*" | tr "\n" " ")"
vsh runs abort "$id" 2> "$tmp/err" || fail "gone: abort: $(cat "$tmp/err")"
vsh runs cleanup "$id" 2> "$tmp/err" || fail "gone: cleanup: $(cat "$tmp/err")"
# the VMs that had completed are handed over and stay; nothing of the
# others
for vm in $(jq -r '.vms[] | select(.state == "failed") | .vm' "$tmp/show.json"); do
    left=$(find "$v1/gone/$vm" -type f 2>/dev/null | head -3)
    [ -z "$left" ] || fail "gone: abort + cleanup left $left"
done
no_leftovers vol1
tctl '{"delay_ms": 0}'
echo "resume requests ok"
