#!/bin/sh
# Run ownership on ONTAP (docs/internals/ontap-flow.md, "Run ownership"):
# a second run in another PID namespace with the same host name (a
# container, a hostNetwork pod), started while a first run is working,
# must leave the first run's snapshot and temporaries alone, and the first
# run must succeed (the issue: the second run took the live run's
# snapshot for a leftover by host name and PID, deleted it, and the live
# run failed).  Snapshots whose run's lease expired or is missing are
# deleted; one whose lease is alive in another namespace is kept.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/testenv.sh"
. "$(dirname "$0")/../lib/ontap.sh"
ontap_testenv unshare perl
R=own-$$
make_vmdk "$v1/$R" disk 16
src=ontap://testenv/vol1/$R/disk.vmdk
host=$(hostname | tr -c 'A-Za-z0-9-\n' '-')

uuid=$(rest "/api/storage/volumes?name=vol1&fields=uuid" | jq -r '.records[0].uuid')
if [ -z "$uuid" ] || [ "$uuid" = null ]; then fail "no uuid for vol1"; fi
mksnap() {
    curl -sS --cacert "$VMSHIFT_TESTENV_CA_FILE" \
        -u "$VMSHIFT_TESTENV_USER:$(cat "$VMSHIFT_TESTENV_PASSWORD_FILE")" \
        -X POST -H 'Content-Type: application/json' --data "{\"name\": \"$1\"}" \
        "$VMSHIFT_TESTENV_URL/api/storage/volumes/$uuid/snapshots?return_timeout=30" >/dev/null ||
        fail "cannot create snapshot $1"
    [ -d "$v1/.snapshot/$1" ] || fail "snapshot $1 did not appear"
}
snap_exists() { [ -d "$v1/.snapshot/$1" ]; }

# 1. stale snapshots by lease: expired and missing leases go, a live
# lease of another PID namespace stays
now=$(date +%s)
r_exp=e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1
r_none=0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a
r_live=5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e
write_lease "$v1" $r_exp 1 "$(my_boot)" "$(my_pidns)" $((now - 5))
write_lease "$v1" $r_live 1 "$(my_boot)" 4026531999 $((now + 600))
mksnap "vmshift_${host}_1_${now}_$r_exp"
mksnap "vmshift_${host}_1_${now}_$r_none"
mksnap "vmshift_${host}_1_${now}_$r_live"
vsh convert "$src" "ontap://testenv/vol1/q$R/one.raw" >/dev/null 2>"$tmp/err" ||
    fail "convert: $(cat "$tmp/err")"
snap_exists "vmshift_${host}_1_${now}_$r_exp" && fail "snapshot with an expired lease kept"
snap_exists "vmshift_${host}_1_${now}_$r_none" && fail "snapshot without a lease kept"
snap_exists "vmshift_${host}_1_${now}_$r_live" || fail "snapshot of a live run (other PID namespace) deleted"
[ ! -e "$v1/.vmshift.$r_exp.lease" ] || fail "expired lease not removed"
echo "stale snapshots: by lease, not by host and PID"
# retire the live one: its lease expires, the next run deletes it
write_lease "$v1" $r_live 1 "$(my_boot)" 4026531999 $((now - 1))

# 2. a live run, and a second run in another PID namespace (same host
# name) converting to the same target meanwhile
tctl '{"job_duration_ms": 3000}'
cleanup_fn tctl '{"job_duration_ms": 200}'
"$VMSHIFT" --config "$VMSHIFT_TESTENV_CONFIG" convert --force "$src" \
    "ontap://testenv/vol1/q$R/t.raw" > "$tmp/a.out" 2> "$tmp/a.err" &
pa=$!
i=0
while [ -z "$(find "$v1/q$R" -maxdepth 1 -name '.vmshift.*.tmp*' 2>/dev/null)" ] && [ $i -lt 300 ]; do
    sleep 0.05; i=$((i + 1))
done
atmp=$(find "$v1/q$R" -maxdepth 1 -name '.vmshift.*.tmp*' | head -1)
[ -n "$atmp" ] || fail "the first run made no temporary: $(cat "$tmp/a.err")"
asnap=$(find "$v1/.snapshot" -mindepth 1 -maxdepth 1 -name "vmshift_${host}_${pa}_*" | head -1)
[ -n "$asnap" ] || fail "the first run has no snapshot"
rc=0
# -v: the second run says what it removes (info messages)
unshare --pid --fork --mount-proc "$VMSHIFT" -v --config "$VMSHIFT_TESTENV_CONFIG" \
    convert --force "$src" "ontap://testenv/vol1/q$R/t.raw" > "$tmp/b.out" 2> "$tmp/b.err" || rc=$?
[ $rc = 0 ] || fail "the second run failed: $(cat "$tmp/b.err")"
grep -q "deleted snapshot '$(basename "$asnap")'" "$tmp/b.err" &&
    fail "the second run deleted the live run's snapshot: $(cat "$tmp/b.err")"
grep -q "$(basename "$atmp")" "$tmp/b.err" && fail "the second run removed the live run's temporary"
rc=0; wait $pa || rc=$?
[ $rc = 0 ] || fail "the live run failed (exit $rc): $(cat "$tmp/a.err")"
compare_images vmdk "$v1/$R/disk.vmdk" raw "$v1/q$R/t.raw"
echo "a run in another PID namespace left the live run alone"
snap_exists "vmshift_${host}_1_${now}_$r_live" && fail "snapshot with an expired lease kept"
no_leftovers vol1
rm -rf "${v1:?}/$R" "${v1:?}/q$R"
echo PASS
