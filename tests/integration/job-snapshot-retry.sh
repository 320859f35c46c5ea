#!/bin/sh
# shellcheck disable=SC2015  # A && B || fail
# A kept snapshot whose retention delete fails is tried again by the next
# run, not taken for deleted (docs/jobs.md, "Retention").  The job keeps
# its snapshots with snapshot_retention keep_last 1:
#  1. run 1 keeps its snapshot g1.
#  2. run 2, while the simulator answers every snapshot DELETE with 500
#     (its error_rate and fault_match controls, docs/ontap-sim.md): the
#     generation is done, exit 0, one warning line naming g1; the run
#     lists no snapshot deleted, run 1's record is not marked
#     (snapshot_deleted / snapshot_left), g1 still exists with its UUID.
#  3. run 3, the simulator answering again: retention deletes g1 (its
#     recorded UUID) and g2, and says so; run 1's and 2's records are
#     marked snapshot_deleted by run 3; g3 and a snapshot of the volume
#     the job did not make are still there.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/testenv.sh"
. "$(dirname "$0")/../lib/ontap.sh"
requires qemu-img jq curl sqlite3
tmpdir
need_testenv
v1=$(vol_dir vol1)
store=$tmp/store.db

make_vmdk "$v1/jsr/vm1" vm1 8
cat > "$tmp/job.json" <<J
{"name": "retry", "schedule": "*-*-* 01:00:00",
 "source": {"disks": ["ontap://testenv/vol1/jsr/vm1/vm1.vmdk"]},
 "target": {"location": "ontap://testenv/vol1/jsr-out", "name": "{disk}-g{generation}.qcow2"},
 "retention": {"keep_last": 1}, "keep_snapshot": true, "snapshot_retention": {"keep_last": 1},
 "store": "$store"}
J
vuuid=$(rest "/api/storage/volumes?name=vol1&fields=uuid" | jq -r '.records[0].uuid')
case $vuuid in ""|null) fail "no uuid for vol1" ;; esac
snap_uuid() {   # NAME: the uuid of vol1's snapshot NAME, or "null"
    rest "/api/storage/volumes/$vuuid/snapshots?name=$1&fields=uuid" |
        jq -r '.records[0].uuid'
}
all_snaps() {   # every snapshot of vol1, "NAME UUID" a line, sorted
    rest "/api/storage/volumes/$vuuid/snapshots?fields=name,uuid" |
        jq -r '.records[] | "\(.name) \(.uuid)"' | sort
}
rec() { jq -r "$2" "$tmp/run$1.json"; }   # RUN FILTER
past() {   # GENERATION KEY: KEY of that generation's record in the store
    sqlite3 "$store" "select json_extract (detail, '\$.$2') from runs where
        kind = 'job' and json_extract (detail, '\$.generation') = $1"
}
deleted_snaps() {   # RUN: the snapshots the run says it deleted, sorted
    rec "$1" '.deleted[] | select(.what == "snapshot") | .name' | sort
}
snap_deletes() {   # DELETE requests for vol1's snapshots since log_mark
    tail -n +$((_log_mark + 1)) "$VMSHIFT_TESTENV_REQUEST_LOG" |
        jq -r --arg p "/api/storage/volumes/$vuuid/snapshots/" \
        'select(.method == "DELETE" and (.path | startswith($p))) |
         "\(.path | ltrimstr($p)) \(.status)"'
}
faults_off() { tctl '{"error_rate": 0, "fault_match": ""}'; }
jrun() {   # RUN: run the job; its record in run RUN.json, stderr in RUN.err
    vsh job run --json "$tmp/job.json" > "$tmp/run$1.json" 2> "$tmp/run$1.err"
}

# a snapshot of the volume the job did not make: no delete may touch it
curl -sS --fail --cacert "$VMSHIFT_TESTENV_CA_FILE" -o /dev/null \
    -u "$VMSHIFT_TESTENV_USER:$(cat "$VMSHIFT_TESTENV_PASSWORD_FILE")" \
    -H 'Content-Type: application/json' -X POST \
    --data-binary '{"name": "admin-before-retry"}' \
    "$VMSHIFT_TESTENV_URL/api/storage/volumes/$vuuid/snapshots?return_timeout=30" ||
    fail "making snapshot admin-before-retry"
case $(snap_uuid admin-before-retry) in
    ""|null) fail "the simulator does not see admin-before-retry" ;;
esac

# ---- 1. run 1 keeps its snapshot
jrun 1 || fail "run 1 exited $?: $(cat "$tmp/run1.err")"
[ "$(rec 1 .result)" = "done" ] || fail "run 1: $(cat "$tmp/run1.json")"
s1=$(rec 1 .snapshot); u1=$(rec 1 .snapshot_uuid)
[ "$(snap_uuid "$s1")" = "$u1" ] && [ "$u1" != null ] ||
    fail "run 1's snapshot $s1 is not there with its uuid $u1"

# ---- 2. every snapshot DELETE fails with 500 during run 2
cleanup_fn faults_off
tctl "{\"error_rate\": 1, \"fault_match\": \"DELETE /api/storage/volumes/$vuuid/snapshots\"}"
log_mark
jrun 2
rc=$?
faults_off
[ $rc = 0 ] || fail "run 2 exited $rc (a failed retention delete): $(cat "$tmp/run2.err")"
[ "$(rec 2 .result)" = "done" ] || fail "run 2 is not done: $(cat "$tmp/run2.json")"
[ "$(rec 2 .generation)" = 2 ] || fail "run 2 is generation $(rec 2 .generation)"
# the fault was hit: run 2 asked to delete g1 by its uuid and got 500
snap_deletes > "$tmp/del2"
[ -s "$tmp/del2" ] || fail "run 2 sent no snapshot DELETE"
grep -qvx "$u1 500" "$tmp/del2" &&
    fail "run 2's snapshot DELETEs were not all g1's, refused: $(cat "$tmp/del2")"
[ "$(wc -l < "$tmp/run2.err")" = 1 ] ||
    fail "run 2 said more or less than one line: $(cat "$tmp/run2.err")"
grep -q "cannot delete snapshot '$s1'" "$tmp/run2.err" ||
    fail "run 2 does not name $s1: $(cat "$tmp/run2.err")"
[ -z "$(deleted_snaps 2)" ] || fail "run 2 claims to have deleted $(deleted_snaps 2)"
for k in snapshot_deleted snapshot_left; do
    [ -z "$(past 1 $k)" ] || fail "run 2 marked run 1's record $k: $(past 1 $k)"
done
[ "$(snap_uuid "$s1")" = "$u1" ] || fail "$s1 is gone after a refused delete"
s2=$(rec 2 .snapshot); u2=$(rec 2 .snapshot_uuid)
[ "$(snap_uuid "$s2")" = "$u2" ] && [ "$u2" != null ] ||
    fail "run 2's snapshot $s2 is not there with its uuid $u2"
# files' retention was not held up: run 1's target is gone
[ ! -e "$v1/jsr-out/vm1-g1.qcow2" ] || fail "run 2 did not prune generation 1's file"
echo "run 2: the snapshot delete failed; done, exit 0, $s1 kept and not marked; it said: $(cat "$tmp/run2.err")"
echo "run 2 DELETEs (uuid status): $(tr "\n" " " < "$tmp/del2")"

# ---- 3. the simulator answers again: run 3 deletes g1 and g2 by uuid
all_snaps | grep -v "^$s1 \|^$s2 " > "$tmp/others"
log_mark
jrun 3 || fail "run 3 exited $?: $(cat "$tmp/run3.err")"
[ "$(rec 3 .result)" = "done" ] || fail "run 3: $(cat "$tmp/run3.json")"
[ ! -s "$tmp/run3.err" ] || fail "run 3 said: $(cat "$tmp/run3.err")"
printf '%s\n' "$s1" "$s2" | sort > "$tmp/want"
deleted_snaps 3 > "$tmp/have"
cmp -s "$tmp/want" "$tmp/have" ||
    fail "run 3 reports deleting '$(cat "$tmp/have")', not $s1 and $s2"
snap_deletes | sort > "$tmp/del3"
printf '%s\n' "$u1 200" "$u2 200" "$u1 202" "$u2 202" | sort > "$tmp/ok3"
[ "$(wc -l < "$tmp/del3")" = 2 ] && ! grep -qvxF -f "$tmp/ok3" "$tmp/del3" &&
    [ "$(cut -d' ' -f1 "$tmp/del3" | sort -u | wc -l)" = 2 ] ||
    fail "run 3's snapshot DELETEs are not one each for $u1 and $u2: $(cat "$tmp/del3")"
for g in 1 2; do
    [ "$(past $g snapshot_deleted)" = 1 ] || fail "generation $g not marked snapshot_deleted"
    [ "$(past $g snapshot_deleted_by)" = "$(rec 3 .run)" ] ||
        fail "generation $g marked by run $(past $g snapshot_deleted_by), not run 3"
done
[ "$(snap_uuid "$s1")" = null ] || fail "$s1 survived run 3's retention"
[ "$(snap_uuid "$s2")" = null ] || fail "$s2 survived run 3's retention"
all_snaps | grep -v "^$(rec 3 .snapshot) " > "$tmp/after"
cmp -s "$tmp/others" "$tmp/after" ||
    fail "run 3 changed other snapshots: before $(cat "$tmp/others"), after $(cat "$tmp/after")"
grep -q "^admin-before-retry " "$tmp/after" || fail "admin-before-retry is gone"
[ "$(snap_uuid "$(rec 3 .snapshot)")" = "$(rec 3 .snapshot_uuid)" ] ||
    fail "run 3's snapshot is not there"
curl -sS --fail --cacert "$VMSHIFT_TESTENV_CA_FILE" -o /dev/null \
    -u "$VMSHIFT_TESTENV_USER:$(cat "$VMSHIFT_TESTENV_PASSWORD_FILE")" -X DELETE \
    "$VMSHIFT_TESTENV_URL/api/storage/volumes/$vuuid/snapshots/$(snap_uuid admin-before-retry)?return_timeout=30" ||
    fail "deleting snapshot admin-before-retry"
echo "run 3 DELETEs (uuid status): $(tr "\n" " " < "$tmp/del3")"
echo "run 3: retention deleted $s1 (tried again, by uuid) and $s2, nothing else"
exit 0
