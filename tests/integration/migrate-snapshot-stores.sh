#!/bin/sh
# Run IDs are unique within one store only: two stores (two hosts', or
# root's beside a user's) both have a run 1.  A run's ONTAP snapshot
# carries the store's ID (vmshift-run-STOREID-ID), so two stores' runs 1
# on one volume have two snapshots and each deletes only its own.
#  1. Store A's run 1 dies after journalling its snapshot intent, before
#     its create reached the cluster (killed once the snapshot was made,
#     which is then deleted); store B's run 1 dies with its snapshot
#     made.  A resumed finds B's snapshot under another name, makes its
#     own (with one name for both it would adopt B's, convert from it and
#     delete it) and completes; B's snapshot is still the one B made; B
#     resumed completes; nothing is left.
#  2. A run journalled by a version before store IDs (vmshift-run-ID,
#     the store at schema 2) keeps that name in the upgraded store:
#     resumed, it makes, converts from and deletes vmshift-run-ID;
#     aborted, it deletes vmshift-run-ID.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/testenv.sh"
. "$(dirname "$0")/../lib/ontap.sh"
ontap_testenv sqlite3
unset VMSHIFT_STORE

d=$v1/stores/vm1
make_vm -h -p -n none "$v1/stores" vm1 8
bp() {   # NAME: a blueprint converting vm1 into its own target folder
    cat <<JSON
{"name": "$1", "source": {"datastore": "ontap://testenv/vol1/stores"},
 "target": {"hypervisor": "libvirt", "uri": "test:///default", "format": "qcow2",
            "location": "ontap://testenv/vol1/stores-$1", "host_path": "/srv/kvm"},
 "ip": "none", "groups": [{"name": "g", "boot_order": 1, "vms": ["vm1"]}],
 "vms": {"vm1": {"vmx": "vm1/vm1.vmx", "power_on": false}}}
JSON
}
bp a > "$tmp/a.json"
bp b > "$tmp/b.json"
bp c > "$tmp/c.json"
bp d > "$tmp/d.json"
vuuid=$(rest "/api/storage/volumes?name=vol1&fields=uuid" | jq -r '.records[0].uuid')
case $vuuid in ""|null) fail "no uuid for vol1" ;; esac
snap_uuid() {   # NAME: the uuid of vol1's snapshot NAME, or "null"
    rest "/api/storage/volumes/$vuuid/snapshots?name=$1&fields=uuid" |
        jq -r '.records[0].uuid'
}
asked() {   # NAME: lookups of snapshot NAME since log_mark
    tail -n +$((_log_mark + 1)) "$VMSHIFT_TESTENV_REQUEST_LOG" |
        jq -r --arg q "name=$1&" 'select(.method == "GET" and
            (.path | endswith("/snapshots")) and (.query | startswith($q))) |
            .path' | wc -l
}
posts() { req_count POST "/api/storage/volumes/$vuuid/snapshots"; }
# killed at point N of the run of store $1 with blueprint $2; the point
# must be $3
killed_at() {
    rm -f "$tmp/points"
    VMSHIFT_STORE=$tmp/$1.db VMSHIFT_WF_CRASH_AT=$3 VMSHIFT_WF_CRASH_LOG=$tmp/points \
        vsh migrate --yes "$tmp/$2.json" > "$tmp/$1.out" 2>&1 &&
        fail "$1: not killed"
    grep -qx "$3 $4" "$tmp/points" || fail "$1: point $3: $(cat "$tmp/points")"
}
show() { VMSHIFT_STORE=$tmp/$1.db vsh runs show --json "$2"; }

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

# ---- 1. two stores, run 1 each, one volume
killed_at A a 2 "snapshot result"
na=$(show A 1 | jq -r .snapshot)
rest_delete "$na"
killed_at B b 2 "snapshot result"
nb=$(show B 1 | jq -r .snapshot)
echo "$na" | grep -Eqx 'vmshift-run-[0-9a-f]{12}-1' || fail "A's name '$na'"
echo "$nb" | grep -Eqx 'vmshift-run-[0-9a-f]{12}-1' || fail "B's name '$nb'"
[ "$na" != "$nb" ] || fail "both stores' runs 1 are named '$na'"
show A 1 | jq -e '[.journal[] | select(.step == "snapshot" and .status == "intent")] |
    length == 1' > /dev/null || fail "A: no snapshot intent left: $(show A 1 | jq -c .journal)"
ub=$(snap_uuid "$nb")
case $ub in ""|null) fail "B's snapshot $nb was not made" ;; esac

log_mark
VMSHIFT_STORE=$tmp/A.db vsh runs resume 1 > "$tmp/A.out" 2>&1 ||
    fail "A: resume: $(cat "$tmp/A.out")"
[ "$(show A 1 | jq -r .state)" = complete ] || fail "A: not complete"
[ "$(posts)" = 1 ] || fail "A made $(posts) snapshots"
[ "$(asked "$na")" -ge 1 ] || fail "A never looked for $na"
[ "$(asked "$nb")" = 0 ] || fail "A looked for B's snapshot"
show A 1 | jq -r '.journal[] | select(.step == "clone") | .intent.source' > "$tmp/src"
grep -q "^\.snapshot/$na/" "$tmp/src" || fail "A cloned from: $(cat "$tmp/src")"
[ "$(snap_uuid "$na")" = null ] || fail "A left its snapshot"
[ "$(snap_uuid "$nb")" = "$ub" ] || fail "B's snapshot is gone after A ($(snap_uuid "$nb"))"

VMSHIFT_STORE=$tmp/B.db vsh runs resume 1 > "$tmp/B.out" 2>&1 ||
    fail "B: resume: $(cat "$tmp/B.out")"
[ "$(show B 1 | jq -r .state)" = complete ] || fail "B: not complete"
show B 1 | jq -r '.journal[] | select(.step == "clone") | .intent.source' > "$tmp/src"
grep -q "^\.snapshot/$nb/" "$tmp/src" || fail "B cloned from: $(cat "$tmp/src")"
for s in a b; do
    qemu-img compare -q "$d/vm1-flat.vmdk" "$v1/stores-$s/vm1/vm1.qcow2" ||
        fail "$s: the disk differs from its source"
done
no_leftovers vol1
echo "two stores' runs 1: $na and $nb, each made and deleted its own"

# ---- 2. a run an older version journalled keeps its name
old_run() {   # STORE BLUEPRINT: run 1 as a version before store IDs left it
    killed_at "$1" "$2" 2 "snapshot result"
    _n=$(show "$1" 1 | jq -r .snapshot)
    # its snapshot and its intent are named vmshift-run-1; the store is
    # at schema 2 (no ID)
    rest_delete "$_n"
    sqlite3 "$tmp/$1.db" "update journal set intent = replace (intent, '$_n',
        'vmshift-run-1') where step = 'snapshot'; drop table meta;
        pragma user_version = 2" || fail "$1: making the store old"
    [ "$(show "$1" 1 | jq -r .snapshot)" = vmshift-run-1 ] ||
        fail "$1: the old run is shown as '$(show "$1" 1 | jq -r .snapshot)'"
    [ "$(sqlite3 "$tmp/$1.db" "pragma user_version")" = 3 ] ||
        fail "$1: the store was not upgraded"
    new=vmshift-run-$(sqlite3 "$tmp/$1.db" "select value from meta where key = 'store_id'")-1
    [ "$new" != "$_n" ] || fail "$1: the upgrade made the same ID again"
}

# resumed before its snapshot was made: it makes vmshift-run-1
old_run C c
log_mark
VMSHIFT_STORE=$tmp/C.db vsh runs resume 1 > "$tmp/C.out" 2>&1 ||
    fail "C: resume: $(cat "$tmp/C.out")"
[ "$(show C 1 | jq -r .state)" = complete ] || fail "C: not complete"
[ "$(posts)" = 1 ] || fail "C made $(posts) snapshots"
[ "$(asked vmshift-run-1)" -ge 1 ] || fail "C never looked for vmshift-run-1"
[ "$(asked "$new")" = 0 ] || fail "C looked for a new name $new"
show C 1 | jq -r '.journal[] | select(.step == "clone") | .intent.source' > "$tmp/src"
grep -q "^\.snapshot/vmshift-run-1/" "$tmp/src" || fail "C cloned from: $(cat "$tmp/src")"
qemu-img compare -q "$d/vm1-flat.vmdk" "$v1/stores-c/vm1/vm1.qcow2" ||
    fail "c: the disk differs from its source"
no_leftovers vol1

# aborted with its snapshot made: it deletes vmshift-run-1
old_run D d
rest_create vmshift-run-1
log_mark
VMSHIFT_STORE=$tmp/D.db vsh runs abort 1 > "$tmp/D.out" 2>&1 ||
    fail "D: abort: $(cat "$tmp/D.out")"
[ "$(req_count DELETE "/api/storage/volumes/$vuuid/snapshots/")" = 1 ] ||
    fail "D: $(req_count DELETE "/api/storage/volumes/$vuuid/snapshots/") snapshot deletes"
[ "$(asked "$new")" = 0 ] || fail "D looked for a new name $new"
no_leftovers vol1
echo "a run journalled as vmshift-run-1 before the store had an ID kept that name (resume, abort)"
