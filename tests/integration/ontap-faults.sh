#!/bin/sh
# vmshift convert through ontap:// under injected faults (issue 3), on the
# test environment (reflink XFS, nfs-ganesha, ONTAP simulator).
#
# Transient faults (5xx, dropped connections, split-load refusals, hidden
# jobs, jobs slower than return_timeout, latency) must recover: the target
# compares identical and nothing is left behind.  Permanent faults (job
# failures, persistent 5xx or drops, a missing source, a readable
# password file, a wrong CA, a FlexGroup) must fail with a non-zero exit
# and one error line naming the problem, and leave no target, temporary
# or snapshot; a snapshot the run made is deleted by the run.  After every
# case the request log must show that no non-idempotent POST was repeated
# after an ambiguous failure without a GET looking first.  Finally
# vmshift is killed (-9) while a snapshot job, a clone job, the metadata
# writes and the snapshot delete are under way, and a rerun of the same
# command must converge: one correct target, no leftovers.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/testenv.sh"
. "$(dirname "$0")/../lib/ontap.sh"
ontap_testenv openssl md5sum
# names unique to this run: the test may run on an environment the
# caller exported and reuses (new qtrees must really be new)
R=faults-$$
src=ontap://testenv/vol1/$R/disk.vmdk
make_vmdk "$v1/$R" disk 32
make_vmdk "$v1/$R" disk2 24
sum0=$(md5sum < "$v1/$R/disk-flat.vmdk")
cfg='' fsrc='' fvol='' warn_ok=''
# our names carry the host name as vmshift spells it (engine/exec/exec.c)
host=$(uname -n | cut -c1-63 | sed 's/[^A-Za-z0-9-]/-/g')

# ------------------------------------------------------------- helpers

sim_state() {
    curl -sS --cacert "$VMSHIFT_TESTENV_CA_FILE" "$VMSHIFT_TESTENV_URL/sim/control"
}
counter() { sim_state | jq ".counters.$1"; }

# every fault off, jobs quick again
sim_quiet() {
    tctl '{"delay_ms": 0, "job_duration_ms": 200, "job_purge_ms": 300000,
        "error_rate": 0, "ebusy_count": 0, "fail_jobs": 0, "hide_jobs": 0,
        "drop_count": 0, "fault_match": ""}'
}

# start of a case: quiet simulator, log and counters marked
begin() {   # NAME
    case_name=$1
    sim_quiet
    log_mark
    snaps0=$(counter snapshots_created)
    dels0=$(counter snapshots_deleted)
}

log_lines() { tail -n +$((_log_mark + 1)) "$VMSHIFT_TESTENV_REQUEST_LOG"; }
api_total() { log_lines | jq -r 'select(.path | startswith("/api/")) | .path' | wc -l; }

# requests since the mark with this injected fault ("5xx", "drop", "ebusy")
faults() {   # KIND [METHOD PATH-PREFIX]
    log_lines | jq -r --arg f "$1" --arg m "${2:-}" --arg p "${3:-}" \
        'select(.fault == $f and ($m == "" or .method == $m) and
                (.path | startswith($p))) | .path' | wc -l
}

# requests since the mark with this status
with_status() {   # STATUS METHOD PATH-PREFIX
    log_lines | jq -r --argjson s "$1" --arg m "$2" --arg p "$3" \
        'select(.status == $s and .method == $m and (.path | startswith($p))) |
         .path' | wc -l
}

# Non-idempotent POSTs (snapshot and qtree create; file clones are sent
# with overwrite_destination and may be repeated) that failed ambiguously
# (connection dropped: status 0, or a 5xx) must not be sent again before a
# GET of the same collection asks for the object by name.  Sets $amb to
# the number of ambiguous failures seen; fails on a blind repeat.
no_blind_repost() {
    log_lines | jq -r '[.method, .path, .query, .status] | @tsv' > "$tmp/req.tsv"
    amb=$(awk -F '\t' '
        { m[NR] = $1; p[NR] = $2; q[NR] = $3; s[NR] = $4 + 0 }
        END {
            amb = 0; bad = 0
            for (i = 1; i <= NR; i++) {
                if (m[i] != "POST" || p[i] ~ /^\/api\/storage\/file\/clone/ ||
                    (s[i] != 0 && s[i] < 500)) {
                    continue
                }
                amb++
                looked = 0
                for (j = i + 1; j <= NR; j++) {
                    if (m[j] == "GET" && p[j] == p[i] && q[j] ~ /(^|&)name=/) {
                        looked = 1
                    }
                    if (m[j] == "POST" && p[j] == p[i]) {
                        if (!looked) {
                            bad++
                            printf "blind repeat of POST %s (line %d after %d)\n", p[i], j, i > "/dev/stderr"
                        }
                        break
                    }
                }
            }
            print amb
            exit (bad > 0 ? 1 : 0)
        }' "$tmp/req.tsv") || fail "$case_name: a non-idempotent POST was repeated blindly"
}

# Every snapshot this case created was deleted again (simulator counters;
# no_leftovers also looks at the volume), and the log shows the deletes.
snapshots_balanced() {   # EXPECTED-CREATED
    c=$(($(counter snapshots_created) - snaps0))
    d=$(($(counter snapshots_deleted) - dels0))
    [ "$c" = "$1" ] || fail "$case_name: $c snapshots created, want $1"
    [ "$d" = "$c" ] || fail "$case_name: $c snapshots created but $d deleted"
    if [ "$c" -gt 0 ]; then
        [ "$(with_status 200 DELETE /api/storage/volumes/)" -ge 1 ] ||
        [ "$(with_status 202 DELETE /api/storage/volumes/)" -ge 1 ] ||
            fail "$case_name: the log shows no snapshot DELETE"
    fi
}

fmt_of() { echo "${1##*.}"; }

# every data byte cloned: a fault never turns into copying over NFS
all_shared() {
    jq -e '[.] | flatten | all(.all_shared == true and .bytes_copied == 0)' \
        "$tmp/out" >/dev/null || fail "$case_name: data was copied: $(cat "$tmp/out")"
}

# Every request that got an injected fault was sent again later and then
# succeeded (the simulator injects before doing anything, so a recovery
# always repeats the request; the create calls only after looking).
all_redone() {
    log_lines | jq -rs '. as $l | range(0; length) as $i | $l[$i] |
        select(.fault != null) | . as $a |
        select([$l[$i + 1:][] | select(.method == $a.method and
            .path == $a.path and .query == $a.query and .status >= 200 and
            .status < 300)] | length == 0) |
        "\(.method) \(.path) (\(.fault))"' > "$tmp/notredone"
    [ ! -s "$tmp/notredone" ] ||
        fail "$case_name: faulted requests never redone: $(cat "$tmp/notredone")"
}

# A conversion that must succeed: exit 0, target identical to the source
# (qemu-img compare + virtual size), valid, no temporaries or snapshots.
conv_ok() {   # TARGET-PATH-IN-VOL1 [VMSHIFT-ARGS...]
    _t=$1; shift
    "$VMSHIFT" --config "${cfg:-$VMSHIFT_TESTENV_CONFIG}" convert --json "$@" \
        "$src" "ontap://testenv/vol1/$_t" > "$tmp/out" 2> "$tmp/err" ||
        fail "$case_name: conversion failed: $(cat "$tmp/err")"
    all_shared
    # a recovered fault needs no warning (unless the case allows one)
    [ -n "$warn_ok" ] || [ ! -s "$tmp/err" ] ||
        fail "$case_name: warnings: $(cat "$tmp/err")"
    check_target "$_t" "$R/disk.vmdk"
    all_redone
}

check_target() {   # TARGET-PATH-IN-VOL1 SOURCE-PATH-IN-VOL1
    _f=$(fmt_of "$1")
    [ -f "$v1/$1" ] || fail "$case_name: no target $1"
    case $_f in vhdx|qcow2) qemu-img check -q -f "$_f" "$v1/$1" ||
        fail "$case_name: qemu-img check $1" ;; esac
    compare_images vmdk "$v1/$2" "$_f" "$v1/$1"
    no_leftovers vol1
    no_blind_repost
}

# A conversion that must fail cleanly: non-zero exit, exactly one line on
# stderr that matches PATTERN, no target, no temporary, no snapshot.
# $fsrc and $fvol, when set, replace the source and the target's volume.
conv_fail() {   # PATTERN TARGET-PATH-IN-VOL [VMSHIFT-ARGS...]
    _p=$1 _t=$2; shift 2
    "$VMSHIFT" --config "${cfg:-$VMSHIFT_TESTENV_CONFIG}" convert "$@" \
        "${fsrc:-$src}" "ontap://testenv/${fvol:-vol1}/$_t" > "$tmp/out" 2> "$tmp/err"
    check_failed $? "$_p" "$_t"
}

check_failed() {   # EXIT-STATUS PATTERN TARGET-PATH-IN-VOL
    [ "$1" != 0 ] || fail "$case_name: conversion succeeded"
    [ "$(wc -l < "$tmp/err")" = 1 ] ||
        fail "$case_name: not one error line: $(cat "$tmp/err")"
    grep -Eqi "$2" "$tmp/err" || fail "$case_name: unclear error: $(cat "$tmp/err")"
    [ ! -e "$(vol_dir "${fvol:-vol1}")/$3" ] || fail "$case_name: a target was left"
    no_leftovers "${fvol:-vol1}"
    no_blind_repost
    echo "  $case_name (exit $1): $(cat "$tmp/err")"
}

# vmshift itself in the background (not a shell function: kill -9 must
# reach vmshift); $pid
start_bg() {   # TARGET-PATH-IN-VOL1
    "$VMSHIFT" --config "$VMSHIFT_TESTENV_CONFIG" convert "$src" \
        "ontap://testenv/vol1/$1" > "$tmp/out" 2> "$tmp/err" &
    pid=$!
}

wait_for_count() {   # WHAT COMMAND... : until COMMAND prints a number > 0
    _w=$1; shift
    _i=0
    while [ "$("$@")" -lt 1 ]; do
        _i=$((_i + 1))
        [ $_i -lt 500 ] || fail "$case_name: timed out waiting for $_w"
        sleep 0.02
    done
}

jobs_since() { echo $(($(counter jobs_created) - ${1:?})); }
at_least() {   # N COMMAND...: print 1 when COMMAND prints >= N
    _n=$1; shift
    [ "$("$@")" -ge "$_n" ] && echo 1 || echo 0
}

# ------------------------------------------------ baseline and qtrees

# One clean run per format also makes the qtrees, so that later cases
# know exactly which jobs a conversion starts: snapshot, clone(s), delete.
for f in raw qcow2 vhdx; do
    begin "baseline $f"
    conv_ok "q$f/$R/base.$f"
    snapshots_balanced 1
done

# ----------------------------------------------------- transient faults

echo "transient faults:"

# 5xx on GETs (seeded): retried with backoff
begin "5xx on GETs"
tctl '{"error_rate": 0.3, "seed": 11, "fault_match": "GET /api/"}'
conv_ok "qvhdx/$R/get5xx.vhdx"
[ "$(faults 5xx GET /api/)" -ge 2 ] || fail "$case_name: fewer than two 5xx injected"
snapshots_balanced 1
echo "  $case_name: $(faults 5xx) injected, recovered"

# 5xx on every POST: snapshot and qtree create (look, then resend) and
# the clone (resent: the same ranges again give the same file)
begin "5xx on POSTs"
tctl '{"error_rate": 0.5, "seed": 52, "fault_match": "POST /api/storage/"}'
conv_ok "qn5xx$$/post5xx.qcow2"
for p in /api/storage/volumes/ /api/storage/qtrees /api/storage/file/clone; do
    [ "$(faults 5xx POST "$p")" -ge 1 ] || fail "$case_name: no 5xx on POST $p (pick another seed)"
done
no_blind_repost
[ "$amb" -ge 2 ] || fail "$case_name: no ambiguous create failure seen"
snapshots_balanced 1
echo "  $case_name: $(faults 5xx) injected, recovered"

# dropped connections on specific calls
k=0
for c in "POST /api/storage/volumes:1:raw" "POST /api/storage/qtrees:1:raw" \
         "POST /api/storage/file/clone:2:vhdx" "DELETE /api/storage/volumes:1:qcow2" \
         "GET /api/:2:raw"; do
    m=${c%%:*} rest_=${c#*:}; n=${rest_%%:*} f=${rest_#*:}
    k=$((k + 1))
    begin "drop $n x $m"
    tctl "{\"drop_count\": $n, \"fault_match\": \"$m\"}"
    q=q$f/$R
    case $m in *qtrees*) q=qdrop$$ ;; esac
    conv_ok "$q/drop$k.$f"
    [ "$(faults drop)" = "$n" ] || fail "$case_name: $(faults drop) drops, want $n"
    no_blind_repost
    case $m in POST*/volumes|POST*/qtrees)
        [ "$amb" -ge 1 ] || fail "$case_name: the drop did not hit the create" ;;
    esac
    snapshots_balanced 1
    echo "  $case_name: recovered"
done

# split-load refusals (EBUSY), two disks converted by two workers
begin "EBUSY"
tctl '{"ebusy_count": 3}'
"$VMSHIFT" --config "$VMSHIFT_TESTENV_CONFIG" convert --json --parallel 2 \
    "$src" "ontap://testenv/vol1/qvhdx/$R/busy1.vhdx" \
    "ontap://testenv/vol1/$R/disk2.vmdk" "ontap://testenv/vol1/qvhdx/$R/busy2.vhdx" \
    > "$tmp/out" 2> "$tmp/err" || fail "$case_name: $(cat "$tmp/err")"
[ "$(jq length "$tmp/out")" = 2 ] || fail "$case_name: not two records"
all_shared
check_target "qvhdx/$R/busy1.vhdx" "$R/disk.vmdk"
check_target "qvhdx/$R/busy2.vhdx" "$R/disk2.vmdk"
[ "$(faults ebusy)" = 3 ] || fail "$case_name: $(faults ebusy) refusals, want 3"
all_redone
snapshots_balanced 1
echo "  $case_name: 3 refusals, two disks recovered"

# hidden jobs: the snapshot create and the clone do their work but their
# jobs are never visible ("job not found" is unknown): the snapshot is
# looked up, the clone is sent again
begin "hidden snapshot and clone jobs"
tctl '{"hide_jobs": 2}'
warn_ok=1
conv_ok "qraw/$R/hidden.raw"
warn_ok=''
grep -q "clone job vanished" "$tmp/err" || fail "$case_name: no word of the vanished clone job"
[ "$(with_status 404 GET /api/cluster/jobs/)" -ge 2 ] || fail "$case_name: jobs were not hidden"
[ "$(req_count POST /api/storage/file/clone)" -ge 2 ] || fail "$case_name: the clone was not redone"
snapshots_balanced 1
echo "  $case_name: recovered"

# a hidden snapshot delete: the run checks the snapshot is gone
begin "hidden delete job"
j0=$(counter jobs_created)
tctl '{"job_duration_ms": 1000}'
start_bg "qqcow2/$R/hiddel.qcow2"
wait_for_count "the clone job" at_least 2 jobs_since "$j0"
# a short delete job: its resent DELETE must find the snapshot gone
tctl '{"hide_jobs": 1, "job_duration_ms": 50}'
wait "$pid" || fail "$case_name: $(cat "$tmp/err")"
[ ! -s "$tmp/err" ] || fail "$case_name: warnings: $(cat "$tmp/err")"
check_target "qqcow2/$R/hiddel.qcow2" "$R/disk.vmdk"
[ "$(with_status 404 GET /api/cluster/jobs/)" -ge 1 ] || fail "$case_name: the delete job was not hidden"
snapshots_balanced 1
echo "  $case_name: recovered"

# a hidden qtree create job (ONTAP on FSx hides some jobs): the qtree
# appears only once the job has run, so the run looks again within the
# job deadline instead of failing "qtree not found"; no second POST
begin "hidden qtree job"
j0=$(counter jobs_created)
tctl '{"job_duration_ms": 1000}'
start_bg "qhid$$/hidden.raw"
wait_for_count "the snapshot job" jobs_since "$j0"
tctl '{"hide_jobs": 1, "job_duration_ms": 1500}'
wait "$pid" || fail "$case_name: $(cat "$tmp/err")"
check_target "qhid$$/hidden.raw" "$R/disk.vmdk"
[ "$(req_count POST /api/storage/qtrees)" = 1 ] || fail "$case_name: the qtree POST was sent again"
[ "$(with_status 404 GET /api/cluster/jobs/)" -ge 1 ] || fail "$case_name: the qtree job was not hidden"
# the lookup before the POST and at least one after the vanished job
[ "$(with_status 200 GET /api/storage/qtrees)" -ge 2 ] || fail "$case_name: the qtree was not looked up after the job vanished"
snapshots_balanced 1
echo "  $case_name: recovered"

# jobs slower than return_timeout are polled; a dropped poll is retried
begin "slow jobs, dropped poll"
cfg=$tmp/rt1.json
jq '.profiles.testenv.return_timeout = 1' "$VMSHIFT_TESTENV_CONFIG" > "$cfg"
tctl '{"job_duration_ms": 1500, "drop_count": 1, "fault_match": "GET /api/cluster/jobs"}'
conv_ok "qqcow2/$R/slow.qcow2"
cfg=''
[ "$(with_status 202 POST /api/storage/file/clone)" -ge 1 ] || fail "$case_name: the clone was not asynchronous"
[ "$(with_status 200 GET /api/cluster/jobs/)" -ge 3 ] || fail "$case_name: jobs were not polled"
[ "$(faults drop GET /api/cluster/jobs/)" = 1 ] || fail "$case_name: the poll was not dropped"
snapshots_balanced 1
echo "  $case_name: recovered"

# latency on every reply
begin "latency"
tctl '{"delay_ms": 250}'
conv_ok "qvhdx/$R/slowreply.vhdx"
fast=$(log_lines | jq -r 'select((.path | startswith("/api/")) and .duration_ms < 250) | .path' | wc -l)
[ "$fast" = 0 ] || fail "$case_name: $fast replies were not delayed"
snapshots_balanced 1
echo "  $case_name: recovered"

# ----------------------------------------------------- permanent faults

echo "permanent faults:"

# the clone job fails; the snapshot job before it must not, so fail_jobs
# is set once the snapshot job exists (it is slowed down to make room)
begin "clone job failure"
j0=$(counter jobs_created)
tctl '{"job_duration_ms": 1500}'
start_bg "qraw/$R/failclone.raw"
wait_for_count "the snapshot job" jobs_since "$j0"
tctl '{"fail_jobs": 1, "job_duration_ms": 200}'
wait "$pid"
check_failed $? "clon.*fail_jobs" "qraw/$R/failclone.raw"
snapshots_balanced 1

begin "snapshot job failure"
tctl '{"fail_jobs": 1}'
conv_fail "creating snapshot.*fail_jobs" "qraw/$R/failsnap.raw"
snapshots_balanced 0
# a job that reported its failure is an answer, not "maybe done"
[ "$(req_count POST /api/storage/volumes/)" = 1 ] || fail "$case_name: the failed snapshot job was sent again"

begin "qtree job failure"
j0=$(counter jobs_created)
tctl '{"job_duration_ms": 1000}'
start_bg "qfail$$/failqtree.raw"
wait_for_count "the snapshot job" jobs_since "$j0"
tctl '{"fail_jobs": 1, "job_duration_ms": 200}'
wait "$pid"
check_failed $? "qtree 'qfail$$'.*fail_jobs" "qfail$$/failqtree.raw"
[ "$(req_count POST /api/storage/qtrees)" = 1 ] || fail "$case_name: the failed qtree job was sent again"
snapshots_balanced 1

# the snapshot is made, but all four tries of the lookup that follows
# fail: the run still deletes it (looked up again by name, which works).
# Seed 36 at rate 0.9 gives four 5xx, then a success (5xx, not drops:
# libcurl resends a GET whose reused connection dies, so drops would not
# map one to one to tries).
begin "snapshot lookup fails after create"
j0=$(counter jobs_created)
tctl '{"job_duration_ms": 1500}'
start_bg "qraw/$R/faillookup.raw"
wait_for_count "the snapshot job" jobs_since "$j0"
tctl '{"error_rate": 0.9, "seed": 36, "fault_match": "GET /api/storage/volumes/",
    "job_duration_ms": 200}'
wait "$pid"
check_failed $? "creating snapshot.*HTTP 500" "qraw/$R/faillookup.raw"
[ "$(faults 5xx GET /api/storage/volumes/)" = 4 ] || fail "$case_name: not four failed lookups"
snapshots_balanced 1

# the snapshot cannot be deleted: the target is complete (exit 0), the
# warning names the snapshot, and the next run on this host removes it
# (its name carries a pid that is gone)
begin "snapshot delete always fails"
tctl '{"error_rate": 1, "fault_match": "DELETE /api/storage/volumes/"}'
"$VMSHIFT" --config "$VMSHIFT_TESTENV_CONFIG" convert "$src" \
    "ontap://testenv/vol1/qraw/$R/faildel.raw" > "$tmp/out" 2> "$tmp/err" ||
    fail "$case_name: the conversion failed: $(cat "$tmp/err")"
grep -q "warning: cannot delete snapshot 'vmshift_${host}_" "$tmp/err" ||
    fail "$case_name: no warning: $(cat "$tmp/err")"
[ "$(req_count DELETE /api/storage/volumes/)" = 4 ] || fail "$case_name: not 4 DELETE attempts"
[ "$(find "$v1/.snapshot" -mindepth 1 -maxdepth 1 | wc -l)" = 1 ] ||
    fail "$case_name: the snapshot is not there"
echo "  $case_name: $(cat "$tmp/err")"
tctl '{"error_rate": 0}'
conv_ok "qraw/$R/faildel2.raw"
[ "$(with_status 200 DELETE /api/storage/volumes/)" = 2 ] ||
    fail "$case_name: the next run did not delete both snapshots"
echo "  $case_name: the next run removed it"

begin "persistent 5xx on the clone"
tctl '{"error_rate": 1, "fault_match": "POST /api/storage/file/clone"}'
conv_fail "file/clone.*HTTP 500" "qqcow2/$R/fail5xx.qcow2"
[ "$(req_count POST /api/storage/file/clone)" = 4 ] ||
    fail "$case_name: $(req_count POST /api/storage/file/clone) clone attempts, want 4"
snapshots_balanced 1

begin "snapshot POST always dropped"
tctl '{"drop_count": 100, "fault_match": "POST /api/storage/volumes"}'
conv_fail "creating snapshot.*connection" "qraw/$R/faildrop.raw"
no_blind_repost
[ "$amb" = 4 ] || fail "$case_name: not 4 attempts, each looked up before the next"
snapshots_balanced 0

begin "missing source"
fsrc=ontap://testenv/vol1/$R/nope/disk.vmdk
conv_fail "nope/disk.vmdk.*(NOENT|not found|no such)" "qraw/$R/nope.raw"
fsrc=''
snapshots_balanced 0    # refused by the preflight, before any snapshot

begin "password file readable by others"
cp "$VMSHIFT_TESTENV_PASSWORD_FILE" "$tmp/pw"
chmod 644 "$tmp/pw"
cfg=$tmp/pw.json
jq --arg p "$tmp/pw" '.profiles.testenv.password_file = $p' "$VMSHIFT_TESTENV_CONFIG" > "$cfg"
conv_fail "password file.*mode 0644" "qraw/$R/pwmode.raw"
cfg=''
[ "$(api_total)" = 0 ] || fail "$case_name: requests were sent"

begin "wrong CA"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=some other CA" \
    -keyout "$tmp/other-ca.key" -out "$tmp/other-ca.pem" >/dev/null 2>&1 ||
    fail "cannot make a CA"
cfg=$tmp/ca.json
jq --arg p "$tmp/other-ca.pem" '.profiles.testenv.ca_file = $p' "$VMSHIFT_TESTENV_CONFIG" > "$cfg"
conv_fail "TLS.*certificate" "qraw/$R/ca.raw"
cfg=''
[ "$(api_total)" = 0 ] || fail "$case_name: a request got through TLS"

begin "FlexGroup"
fg=$VMSHIFT_TESTENV_FLEXGROUP
make_vmdk "$(vol_dir "$fg")/$R" disk 24
fsrc=ontap://testenv/$fg/$R/disk.vmdk fvol=$fg
conv_fail "flexgroup.*FlexVol" q/fg.raw
fsrc='' fvol=''
[ "$(req_count POST /api/storage/)" = 0 ] || fail "$case_name: something was created"

# ------------------------------------------------------------- kill -9

echo "kill -9 and rerun:"

snap_of() { find "$v1/.snapshot" -mindepth 1 -maxdepth 1 -name "vmshift_${host}_$1_*" | head -1; }
tmp_of() { find "$v1/$1" -maxdepth 1 -name ".vmshift.*.$2.*.tmp*" | head -1; }

kill9() {
    kill -0 "$pid" 2>/dev/null || fail "$case_name: vmshift ended before the kill: $(cat "$tmp/err")"
    kill -9 "$pid"
    { wait "$pid"; } 2>/dev/null   # no "Killed" from the shell
    [ $? = 137 ] || fail "$case_name: vmshift was not killed"
}

rerun() {   # TARGET-PATH-IN-VOL1
    sim_quiet
    conv_ok "$1"
    # the stale snapshot and the run's own: both deleted
    [ "$(counter snapshots_deleted)" -ge $((dels0 + 2)) ] ||
        fail "$case_name: the stale snapshot was not deleted by a DELETE"
    no_blind_repost
    echo "  $case_name: rerun converged"
}

# during the snapshot job: the snapshot appears after vmshift died
begin "kill during snapshot create"
j0=$(counter jobs_created)
tctl '{"job_duration_ms": 3000}'
start_bg "qraw/$R/k-snap.raw"
wait_for_count "the snapshot job" jobs_since "$j0"
kill9
tctl '{"job_duration_ms": 200}'
wait_for_count "the snapshot" at_least $((snaps0 + 1)) counter snapshots_created
[ -n "$(snap_of "$pid")" ] || fail "$case_name: no snapshot of the killed run"
rerun "qraw/$R/k-snap.raw"

# during the clone job: temporary and snapshot exist
begin "kill during clone"
j0=$(counter jobs_created)
tctl '{"job_duration_ms": 3000}'
start_bg "qvhdx/$R/k-clone.vhdx"
wait_for_count "the clone job" at_least 2 jobs_since "$j0"
kill9
[ -n "$(tmp_of "qvhdx/$R" "$pid")" ] || fail "$case_name: no temporary after the kill"
[ -n "$(snap_of "$pid")" ] || fail "$case_name: no snapshot after the kill"
rerun "qvhdx/$R/k-clone.vhdx"

# during the metadata writes: the NFS server is stopped once the clone
# job exists, so vmshift blocks at its first NFS call after the clone
# reply (flush and metadata); then it is killed.  The simulator does not
# use NFS, so the clone completes meanwhile.
begin "kill during metadata writes"
gpid=$(cat "$VMSHIFT_TESTENV_DIR/ganesha.pid" 2>/dev/null) ||
    fail "no ganesha pid file in $VMSHIFT_TESTENV_DIR"
cleanup_fn kill -CONT "$gpid"
j0=$(counter jobs_created)
tctl '{"job_duration_ms": 1500}'
start_bg "qqcow2/$R/k-meta.qcow2"
wait_for_count "the clone job" at_least 2 jobs_since "$j0"
kill -STOP "$gpid"
wait_for_count "the clone reply" with_status 201 POST /api/storage/file/clone
sleep 0.3
kill9
kill -CONT "$gpid"
t=$(tmp_of "qqcow2/$R" "$pid")
[ -n "$t" ] || fail "$case_name: no temporary after the kill"
[ "$(head -c 4 "$t" | od -An -tx1 | tr -d ' ')" != 514649fb ] ||
    fail "$case_name: the temporary already has a qcow2 header"
[ -n "$(snap_of "$pid")" ] || fail "$case_name: no snapshot after the kill"
rerun "qqcow2/$R/k-meta.qcow2"

# during the snapshot delete: the target is complete and renamed, the
# delete job finishes on its own; a rerun then refuses to replace the
# target (exit 4) and leaves nothing behind
begin "kill during snapshot delete"
j0=$(counter jobs_created)
tctl '{"job_duration_ms": 600}'
start_bg "qraw/$R/k-del.raw"
wait_for_count "the clone job" at_least 2 jobs_since "$j0"
tctl '{"job_duration_ms": 2500}'
wait_for_count "the delete job" at_least 3 jobs_since "$j0"
kill9
tctl '{"job_duration_ms": 200}'
wait_for_count "the delete" at_least $((dels0 + 1)) counter snapshots_deleted
# the target is whole; the killed run's leases stay until a later run
# finds their owner gone (docs/internals/ontap-flow.md, Run ownership)
compare_images vmdk "$v1/$R/disk.vmdk" raw "$v1/qraw/$R/k-del.raw"
"$VMSHIFT" --config "$VMSHIFT_TESTENV_CONFIG" convert "$src" \
    "ontap://testenv/vol1/qraw/$R/k-del.raw" > "$tmp/out" 2> "$tmp/err"
[ $? = 4 ] || fail "$case_name: rerun over the complete target: $(cat "$tmp/err")"
grep -q "already exists" "$tmp/err" || fail "$case_name: unclear: $(cat "$tmp/err")"
check_target "qraw/$R/k-del.raw" "$R/disk.vmdk"
echo "  $case_name: target complete, rerun refuses to replace it"

[ "$(md5sum < "$v1/$R/disk-flat.vmdk")" = "$sum0" ] || fail "the source changed"
sim_quiet
echo "ontap faults ok"
