#!/bin/sh
# Two processes converting different sources to one ontap:// target at
# the same moment (issue: both exited 0 in 6 of 15 rounds, because the
# publish looked for the target and then renamed over it, a race on NFS).
# Now the no-replace publish is a LINK, which fails atomically: in every
# round exactly one run succeeds, the other says the target exists (exit
# 4), and the target is byte for byte one of the two sources.  With
# --force both may succeed, each leaving one complete target.  One call
# naming a target twice is a usage error (exit 2) before anything starts.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/testenv.sh"
. "$(dirname "$0")/../lib/ontap.sh"
requires jq curl cmp
tmpdir
need_testenv
v=$(vol_dir vol1)
rounds=${VMSHIFT_RACE_ROUNDS:-50}
mkdir -p "$v/race"
random_disk "$v/race/a.raw" 1
random_disk "$v/race/b.raw" 1
cmp -s "$v/race/a.raw" "$v/race/b.raw" && fail "the two sources are equal"
# Both runs read from one kept snapshot, so neither spends time making
# its own and the two reach the publish step close together.
vsh convert --keep-snapshot --json ontap://testenv/vol1/race/a.raw \
    ontap://testenv/vol1/rt/first.raw > "$tmp/keep.json" || fail "first convert"
snap=$(jq -r .snapshot "$tmp/keep.json")

race() {   # [--force]: one round; sets wins
    vsh convert --snapshot "$snap" "$@" ontap://testenv/vol1/race/a.raw ontap://testenv/vol1/rt/dup.raw \
        > "$tmp/a.out" 2> "$tmp/a.err" &
    pa=$!
    vsh convert --snapshot "$snap" "$@" ontap://testenv/vol1/race/b.raw ontap://testenv/vol1/rt/dup.raw \
        > "$tmp/b.out" 2> "$tmp/b.err" &
    pb=$!
    ra=0; wait $pa || ra=$?
    rb=0; wait $pb || rb=$?
    wins=0
    [ $ra = 0 ] && wins=$((wins + 1))
    [ $rb = 0 ] && wins=$((wins + 1))
    for r in $ra $rb; do
        case $r in 0|4) ;; *) cat "$tmp/a.err" "$tmp/b.err"; fail "round $i: exit $r" ;; esac
    done
    out=$v/rt/dup.raw
    [ -f "$out" ] || fail "round $i: no target (exits $ra $rb)"
    if cmp -s "$out" "$v/race/a.raw"; then got=a
    elif cmp -s "$out" "$v/race/b.raw"; then got=b
    else fail "round $i: the target is neither source (mixed or wrong)"
    fi
}

i=0
while [ $i -lt "$rounds" ]; do
    i=$((i + 1))
    rm -f "$v/rt/dup.raw"
    race
    [ $wins = 1 ] || fail "round $i: $wins runs reported success for one target"
    # the loser said why
    if [ $ra = 0 ]; then grep -q 'exists' "$tmp/b.err" || fail "round $i: $(cat "$tmp/b.err")"
    else grep -q 'exists' "$tmp/a.err" || fail "round $i: $(cat "$tmp/a.err")"; fi
    # the winner's source is the target
    if [ $ra = 0 ]; then [ $got = a ] || fail "round $i: a won, target holds b"
    else [ $got = b ] || fail "round $i: b won, target holds a"; fi
done
echo "$rounds rounds without --force: one success each, target intact"

# --force: both may succeed; the target is always one whole source
i=0
while [ $i -lt 10 ]; do
    i=$((i + 1))
    race --force
    [ $wins -ge 1 ] || fail "forced round $i: nobody succeeded"
done
rest "/api/storage/volumes?name=vol1&fields=uuid" > "$tmp/v.json"
uuid=$(jq -r '.records[0].uuid' "$tmp/v.json")
suuid=$(rest "/api/storage/volumes/$uuid/snapshots?name=$snap" | jq -r '.records[0].uuid')
curl -sS --cacert "$VMSHIFT_TESTENV_CA_FILE" -u "$VMSHIFT_TESTENV_USER:$(cat "$VMSHIFT_TESTENV_PASSWORD_FILE")" \
    -X DELETE "$VMSHIFT_TESTENV_URL/api/storage/volumes/$uuid/snapshots/$suuid?return_timeout=30" >/dev/null
no_leftovers vol1

# one call, one target twice (also spelt differently): usage error,
# nothing created (no snapshot, no target)
rm -f "$v/rt/dup.raw"
log_mark
rc=0
vsh convert ontap://testenv/vol1/race/a.raw ontap://testenv/vol1/rt/dup.raw \
    ontap://testenv/vol1/race/b.raw ontap://testenv/vol1/rt/./dup.raw 2> "$tmp/err" || rc=$?
[ $rc = 2 ] || fail "same target twice: exit $rc, want 2 ($(cat "$tmp/err"))"
grep -q 'given twice' "$tmp/err" || fail "message: $(cat "$tmp/err")"
[ ! -e "$v/rt/dup.raw" ] || fail "a target was written"
[ "$(req_total)" = 0 ] || fail "requests were sent to ONTAP"
rm -rf "$v/race" "$v/rt"
echo "PASS"
