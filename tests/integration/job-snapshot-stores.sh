#!/bin/sh
# shellcheck disable=SC2015  # A && B || fail
# Generation numbers are unique within one store only: two stores (two
# hosts', or root's beside a user's) running a job of one name on one
# volume both have a generation 1.  A job's ONTAP snapshot carries the
# store's ID (vmshift-job_NAME_STOREID_gN) and its UUID is recorded, so:
#  1. stores A and B run the job "shared" 3 times each, alternately, with
#     kept snapshots (snapshot_retention keep_last 2): every run is done,
#     each store's snapshots carry its own ID, each store's retention
#     deletes only its own generation 1; A's generation 1 was replaced
#     behind the job's back (same name, another UUID) and is left alone.
#  2. records an older version made (vmshift-job_NAME_gN, no UUID): the
#     snapshot of that name is deleted by retention when it was made
#     while that run ran, and left alone when it was made at another
#     time (another store's generation of that number, an admin's).
#  3. a snapshot of the name a run is about to take, made before by
#     somebody else: the run fails with one line and leaves it alone;
#     the next run goes on; retention never deletes it.
#  4. a run interrupted after journalling its snapshot intent, while a
#     snapshot of its name made before the run (not by it) is there: the
#     repair leaves that snapshot alone.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/testenv.sh"
. "$(dirname "$0")/../lib/ontap.sh"
requires qemu-img jq curl sqlite3
tmpdir
need_testenv
v1=$(vol_dir vol1)

make_vmdk "$v1/jss/vm1" vm1 8
job() {   # STORE: the job "shared" of store STORE, targets of its own
    cat > "$tmp/$1.json" <<J
{"name": "shared", "schedule": "*-*-* 01:00:00",
 "source": {"disks": ["ontap://testenv/vol1/jss/vm1/vm1.vmdk"]},
 "target": {"location": "ontap://testenv/vol1/jss-$1", "name": "{disk}-g{generation}.qcow2"},
 "retention": {"keep_last": 2}, "keep_snapshot": true, "snapshot_retention": {"keep_last": 2},
 "store": "$tmp/$1.db"}
J
}
for s in A B C; do job $s; done
jrun() {   # STORE GENERATION: run the job of STORE, which must be done
    vsh job run --json "$tmp/$1.json" > "$tmp/$1-$2.json" 2> "$tmp/$1-$2.err" ||
        fail "$1: run $2 exited $?: $(cat "$tmp/$1-$2.err")"
    [ "$(jq -r .result "$tmp/$1-$2.json")" = "done" ] || fail "$1: run $2: $(cat "$tmp/$1-$2.json")"
    [ "$(jq .generation "$tmp/$1-$2.json")" = "$2" ] ||
        fail "$1: run $2 is generation $(jq .generation "$tmp/$1-$2.json")"
}
sid() { sqlite3 "$tmp/$1.db" "select value from meta where key = 'store_id'"; }
vuuid=$(rest "/api/storage/volumes?name=vol1&fields=uuid" | jq -r '.records[0].uuid')
case $vuuid in ""|null) fail "no uuid for vol1" ;; esac
snap_uuid() {   # NAME: the uuid of vol1's snapshot NAME, or "null"
    rest "/api/storage/volumes/$vuuid/snapshots?name=$1&fields=uuid" |
        jq -r '.records[0].uuid'
}
snaps() {   # vol1's snapshots of the job, one a line, sorted
    rest "/api/storage/volumes/$vuuid/snapshots?fields=name" |
        jq -r '.records[].name' | grep '^vmshift-job_shared_' | sort
}
rest_delete() {   # NAME: delete vol1's snapshot NAME
    _u=$(snap_uuid "$1")
    case $_u in ""|null) fail "no snapshot $1 to delete" ;; esac
    curl -sS --fail --cacert "$VMSHIFT_TESTENV_CA_FILE" -o /dev/null \
        -u "$VMSHIFT_TESTENV_USER:$(cat "$VMSHIFT_TESTENV_PASSWORD_FILE")" \
        -X DELETE "$VMSHIFT_TESTENV_URL/api/storage/volumes/$vuuid/snapshots/$_u?return_timeout=30" ||
        fail "deleting snapshot $1"
}
rest_create() {   # NAME: make vol1's snapshot NAME
    curl -sS --fail --cacert "$VMSHIFT_TESTENV_CA_FILE" -o /dev/null \
        -u "$VMSHIFT_TESTENV_USER:$(cat "$VMSHIFT_TESTENV_PASSWORD_FILE")" \
        -H 'Content-Type: application/json' -X POST --data-binary "{\"name\": \"$1\"}" \
        "$VMSHIFT_TESTENV_URL/api/storage/volumes/$vuuid/snapshots?return_timeout=30" ||
        fail "making snapshot $1"
}
rec() { jq -r "$2" "$tmp/$1.json"; }   # RUN-FILE FILTER

# ---- 1. two stores, one job name, one volume
jrun A 1
ua=$(snap_uuid "$(rec A-1 .snapshot)")
case $ua in ""|null) fail "A: run 1 made no snapshot $(rec A-1 .snapshot)" ;; esac
# B's run 1 must neither take A's snapshot nor delete it
vsh job run --json "$tmp/B.json" > "$tmp/B-1.json" 2> "$tmp/B-1.err"
rc=$?
[ "$(snap_uuid "$(rec A-1 .snapshot)")" = "$ua" ] ||
    fail "B's run 1 (exit $rc: $(cat "$tmp/B-1.err")) deleted A's snapshot $(rec A-1 .snapshot)"
[ $rc = 0 ] || fail "B: run 1 exited $rc: $(cat "$tmp/B-1.err")"
[ "$(rec B-1 .result)" = "done" ] || fail "B: run 1: $(cat "$tmp/B-1.json")"
sa=$(sid A); sb=$(sid B)
[ "$sa" != "$sb" ] || fail "both stores have the ID $sa"
for s in A B; do
    n=$(rec "$s-1" .snapshot)
    [ "$n" = "vmshift-job_shared_$(sid $s)_g1" ] || fail "$s: run 1's snapshot is '$n'"
    [ "$(snap_uuid "$n")" = "$(rec "$s-1" .snapshot_uuid)" ] ||
        fail "$s: run 1's snapshot $n is not the one recorded"
done
# A's generation 1 replaced behind the job's back: one name, another uuid
a1=$(rec A-1 .snapshot)
rest_delete "$a1"
rest_create "$a1"
ua1=$(snap_uuid "$a1")
[ "$ua1" != "$(rec A-1 .snapshot_uuid)" ] || fail "the replaced snapshot has the same uuid"
for g in 2 3; do
    jrun A $g
    jrun B $g
done
for s in A B; do
    for g in 2 3; do
        n=$(rec "$s-$g" .snapshot)
        [ "$(snap_uuid "$n")" = "$(rec "$s-$g" .snapshot_uuid)" ] ||
            fail "$s: kept snapshot $n of generation $g is not the one recorded"
    done
    # run 3 deleted (at most) its own generation 1
    d=$(rec "$s-3" '[.deleted[] | select(.what == "snapshot") | .name] | join(" ")')
    [ "$d" = "" ] || [ "$d" = "vmshift-job_shared_$(sid $s)_g1" ] || fail "$s: run 3 deleted snapshots '$d'"
done
[ "$(rec B-3 '[.deleted[] | select(.what == "snapshot")] | length')" = 1 ] ||
    fail "B: run 3 did not delete its generation 1: $(jq -c .deleted "$tmp/B-3.json")"
[ "$(snap_uuid "vmshift-job_shared_${sb}_g1")" = null ] || fail "B's generation 1 survived retention"
[ "$(snap_uuid "$a1")" = "$ua1" ] || fail "A's replaced generation 1 was deleted"
grep -q "$a1.*not the snapshot" "$tmp/A-3.err" ||
    fail "A: no warning for the replaced snapshot: $(cat "$tmp/A-3.err")"
printf '%s\n' "$a1" "vmshift-job_shared_${sa}_g2" "vmshift-job_shared_${sa}_g3" \
    "vmshift-job_shared_${sb}_g2" "vmshift-job_shared_${sb}_g3" | sort > "$tmp/want"
snaps > "$tmp/have"
cmp -s "$tmp/want" "$tmp/have" || fail "snapshots: $(cat "$tmp/have")"
rest_delete "$a1"
echo "two stores' runs of job 'shared': each kept and deleted only its own snapshots"

# ---- 2. records an older version made: vmshift-job_shared_gN, no uuid
old_rec() {   # GENERATION START END: make C's run of GENERATION an old one
    sqlite3 "$tmp/C.db" "update runs set detail = json_set (json_remove (detail,
        '\$.snapshot_uuid'), '\$.snapshot', 'vmshift-job_shared_g$1', '\$.start', $2,
        '\$.end', $3) where kind = 'job' and json_extract (detail, '\$.generation') = $1" ||
        fail "C: making run $1 old"
}
jrun C 1
rest_delete "$(rec C-1 .snapshot)"
rest_create vmshift-job_shared_g1      # made while the run ran
old_rec 1 "$(rec C-1 .start)" "$(($(date +%s) + 1))"
jrun C 2
rest_delete "$(rec C-2 .snapshot)"
# one of that name made at another time (another store's generation 2)
mkdir "$v1/.snapshot/vmshift-job_shared_g2" && touch -d '-3 hours' "$v1/.snapshot/vmshift-job_shared_g2" ||
    fail "making the other vmshift-job_shared_g2"
u2=$(snap_uuid vmshift-job_shared_g2)
case $u2 in ""|null) fail "the simulator does not see vmshift-job_shared_g2" ;; esac
old_rec 2 "$(rec C-2 .start)" "$(rec C-2 .end)"
jrun C 3
[ "$(snap_uuid vmshift-job_shared_g1)" = null ] || fail "C: run 3 left the old record's snapshot"
rec C-3 '.deleted[] | select(.what == "snapshot") | .name' | grep -qx vmshift-job_shared_g1 ||
    fail "C: run 3 does not report deleting vmshift-job_shared_g1: $(jq -c .deleted "$tmp/C-3.json")"
jrun C 4
[ "$(snap_uuid vmshift-job_shared_g2)" = "$u2" ] ||
    fail "C: run 4 deleted a vmshift-job_shared_g2 made 3 hours before its run"
grep -q "vmshift-job_shared_g2.*not the snapshot" "$tmp/C-4.err" ||
    fail "C: no warning for vmshift-job_shared_g2: $(cat "$tmp/C-4.err")"
jrun C 5          # and it is not tried again
[ "$(snap_uuid vmshift-job_shared_g2)" = "$u2" ] || fail "C: run 5 deleted vmshift-job_shared_g2"
rmdir "$v1/.snapshot/vmshift-job_shared_g2"
echo "old records: retention deleted the snapshot made during its run, left one made before"

# ---- 3. the name of the next run's snapshot, taken before
n4=vmshift-job_shared_${sa}_g4
rest_create "$n4"
u4=$(snap_uuid "$n4")
vsh job run --json "$tmp/A.json" > "$tmp/A-4.json" 2> "$tmp/A-4.err" && fail "A: run 4 took $n4"
[ "$(wc -l < "$tmp/A-4.err")" = 1 ] || fail "A: run 4 said: $(cat "$tmp/A-4.err")"
grep -q "$n4.*exists" "$tmp/A-4.err" || fail "A: run 4 said: $(cat "$tmp/A-4.err")"
[ "$(snap_uuid "$n4")" = "$u4" ] || fail "A: run 4 deleted $n4"
[ ! -e "$v1/jss-A/vm1-g4.qcow2" ] || fail "A: run 4 converted"
sqlite3 "$tmp/A.db" "select status from journal where step = 'snapshot' and intent like '%_g4\"%'" > "$tmp/st"
[ "$(cat "$tmp/st")" = 3 ] || fail "A: run 4's snapshot step is journalled as '$(cat "$tmp/st")'"
jrun A 5
jrun A 6
[ "$(snap_uuid "$n4")" = "$u4" ] || fail "A: a later run deleted $n4"
rest_delete "$n4"
echo "a snapshot of the run's name made before it: the run failed and left it"

# ---- 4. interrupted after its snapshot intent; a snapshot of its name
# made before the run (not by it) is there.  Run 6 is made to look like a
# run killed then: running, its snapshot step an intent without result.
n6=$(rec A-6 .snapshot)
rest_delete "$n6"
sqlite3 "$tmp/A.db" "update runs set state = 'running' where id = $(rec A-6 .run);
    update journal set status = 0, result = NULL where run_id = $(rec A-6 .run) and
    step = 'snapshot'" || fail "A: making run 6 interrupted"
mkdir "$v1/.snapshot/$n6" && touch -d '-1 hour' "$v1/.snapshot/$n6" || fail "making $n6"
u6=$(snap_uuid "$n6")
case $u6 in ""|null) fail "the simulator does not see $n6" ;; esac
jrun A 7
[ "$(jq -c .repaired "$tmp/A-7.json")" = "[$(rec A-6 .run)]" ] || fail "A: run 7 repaired $(jq -c .repaired "$tmp/A-7.json")"
[ "$(snap_uuid "$n6")" = "$u6" ] || fail "A: the repair deleted $n6, made an hour before the run"
grep -q "$n6.*not the snapshot" "$tmp/A-7.err" ||
    fail "A: no warning for $n6: $(cat "$tmp/A-7.err")"
rmdir "$v1/.snapshot/$n6"
echo "repair of a run interrupted after its snapshot intent left a snapshot it did not make"
exit 0
