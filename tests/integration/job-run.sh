#!/bin/sh
# shellcheck disable=SC2015  # A && B || fail
# vmshift job run on the test environment (reflink XFS, nfs-ganesha,
# ONTAP simulator): a job over 3 VMs run 5 times with keep_last 3 (files
# and kept snapshots); the sources change between runs, so each
# generation must equal the source in its own snapshot (qemu-img compare
# against the kept snapshot), not the live one.  Then: 3 generations
# remain and the pruned ones are gone, no snapshot beyond retention,
# history shows every run and what retention deleted, the textfile passes
# promtool; a foreign file matching the pattern and a file replaced
# behind the job's back survive retention; two runs at once (one refused
# with 75); kill -9 in the middle, then a run that repairs; leases with a
# short lease_ttl: renewed while a run works, a dead runner of another
# host taken over after the ttl and repaired, a run that lost its lease
# stops and undoes its work; bad job files (exit 3 naming the key, no
# store created).
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/testenv.sh"
. "$(dirname "$0")/../lib/ontap.sh"
ontap_testenv promtool sqlite3
store=$tmp/store.db
mdir=$tmp/metrics
mkdir -p "$mdir"

for vm in vmA vmB vmC; do
    make_vmdk "$v1/$vm" "$vm" 24
    cat > "$v1/$vm/$vm.vmx" <<VMX
displayName = "$vm"
guestOS = "rhel9-64"
scsi0.present = "TRUE"
scsi0:0.present = "TRUE"
scsi0:0.fileName = "$vm.vmdk"
VMX
done
cat > "$tmp/job.json" <<J
{"name": "dr-nightly", "schedule": "*-*-* 01:00:00",
 "source": {"vms": ["ontap://testenv/vol1/vmA/vmA.vmx", "ontap://testenv/vol1/vmB/vmB.vmx",
                    "ontap://testenv/vol1/vmC/vmC.vmx"]},
 "target": {"location": "ontap://testenv/vol1/dr", "name": "{vm}/{disk}-g{generation}.qcow2"},
 "retention": {"keep_last": 3}, "keep_snapshot": true, "snapshot_retention": {"keep_last": 3},
 "concurrency": 3, "store": "$store"}
J
jrun() { vsh job run --json --metrics-dir "$mdir" "$tmp/job.json"; }
snap_of() {   # GENERATION: the name of its snapshot (the store carries its ID)
    echo "vmshift-job_dr-nightly_$(sqlite3 "$store" "select value from meta where key = 'store_id'")_g$1"
}

for g in 1 2 3 4 5; do
    # change every source, so generations differ from each other
    for vm in vmA vmB vmC; do
        head -c 65536 /dev/urandom | dd of="$v1/$vm/$vm-flat.vmdk" bs=65536 seek=$((g * 3)) \
            conv=notrunc status=none || fail "dd"
    done
    jrun > "$tmp/run$g.json" 2> "$tmp/err" || fail "run $g exited $?: $(cat "$tmp/err")"
    [ "$(jq .generation "$tmp/run$g.json")" = "$g" ] || fail "run $g: generation $(jq .generation "$tmp/run$g.json")"
    [ "$(jq -r .result "$tmp/run$g.json")" = "done" ] || fail "run $g: $(cat "$tmp/run$g.json")"
    [ "$(jq .bytes_copied "$tmp/run$g.json")" = 0 ] || fail "run $g copied data"
    [ "$(jq .bytes_shared "$tmp/run$g.json")" -gt 0 ] || fail "run $g shared nothing"
    [ "$(jq '.disks | length' "$tmp/run$g.json")" = 3 ] || fail "run $g: not 3 disks"
    if [ "$g" = 1 ]; then
        # a file matching the pattern that the job never made, and one the
        # job made but that was replaced behind its back
        cp "$v1/dr/vmA/vmA-g1.qcow2" "$v1/dr/vmA/vmA-g99.qcow2"
        cp "$v1/dr/vmC/vmC-g1.qcow2" "$tmp/c1" && mv "$tmp/c1" "$v1/dr/vmC/vmC-g1.qcow2"
    fi
done

# 3 generations remain, each equal to the source in its kept snapshot
for g in 3 4 5; do
    s=$(snap_of "$g")
    [ -d "$v1/.snapshot/$s" ] || fail "kept snapshot $s is missing"
    for vm in vmA vmB vmC; do
        t=$v1/dr/$vm/$vm-g$g.qcow2
        [ -f "$t" ] || fail "generation $g of $vm is missing"
        compare_images vmdk "$v1/.snapshot/$s/$vm/$vm.vmdk" qcow2 "$t"
    done
done
# ... and not the live source (it changed after generation 3)
qemu-img compare -q -f vmdk -F qcow2 "$v1/vmA/vmA.vmdk" "$v1/dr/vmA/vmA-g3.qcow2" 2>/dev/null &&
    fail "generation 3 equals the live source: not converted from its snapshot"
for g in 1 2; do
    [ ! -d "$v1/.snapshot/$(snap_of "$g")" ] || fail "snapshot of generation $g beyond retention"
    for vm in vmA vmB; do
        [ ! -e "$v1/dr/$vm/$vm-g$g.qcow2" ] || fail "generation $g of $vm not pruned"
    done
done
[ -f "$v1/dr/vmC/vmC-g1.qcow2" ] || fail "retention deleted a file replaced behind the job's back"
[ -f "$v1/dr/vmA/vmA-g99.qcow2" ] || fail "retention deleted a foreign file"
[ "$(find "$v1/.snapshot" -mindepth 1 -maxdepth 1 | wc -l)" = 3 ] ||
    fail "snapshots: $(ls "$v1/.snapshot")"

vsh job history --json --store "$store" dr-nightly > "$tmp/hist.json" || fail "history"
[ "$(jq length "$tmp/hist.json")" = 5 ] || fail "history shows $(jq length "$tmp/hist.json") runs"
[ "$(jq '[.[] | select(.state == "done")] | length' "$tmp/hist.json")" = 5 ] || fail "not 5 done runs"
jq -e '[.[].record.deleted[] | select(.what == "file" and .generation == 1 and .why == "retention")] | length == 2' \
    "$tmp/hist.json" > /dev/null || fail "history does not show generation 1's deletes"
jq -e '[.[].record.deleted[] | select(.what == "snapshot" and .why == "snapshot_retention")] | length == 2' \
    "$tmp/hist.json" > /dev/null || fail "history does not show the snapshot deletes"
jq -e '.[0].record.disks[0] | has("bytes_shared") and has("bytes_copied")' "$tmp/hist.json" > /dev/null ||
    fail "history lacks per-disk bytes"
vsh job history --store "$store" "$tmp/job.json" | grep -c '^run ' | grep -qx 5 || fail "text history"
vsh job list --store "$store" | grep -q '^dr-nightly .* done' || fail "job list: $(vsh job list --store "$store")"
# every delete journalled in the store
[ "$(sqlite3 "$store" "select count(*) from journal where step = 'delete' and status = 1")" -ge 4 ] ||
    fail "deletes not journalled"

prom=$mdir/vmshift-job-dr-nightly.prom
promtool check metrics < "$prom" || fail "promtool check metrics"
grep -q '^vmshift_job_failures_total{job="dr-nightly"} 0$' "$prom" || fail "failures: $(cat "$prom")"
[ "$(sed -n 's/^vmshift_job_bytes_shared_total{job="dr-nightly"} //p' "$prom")" -gt 0 ] 2>/dev/null ||
    fail "bytes shared: $(cat "$prom")"

# -------------------------------------------------- two runs at once
tctl '{"delay_ms": 300}'
jrun > "$tmp/a.json" 2> "$tmp/a.err" &
apid=$!
i=0
until [ "$(sqlite3 "$store" "select count(*) from leases where key = 'job:dr-nightly'" 2>/dev/null)" = 1 ]; do
    i=$((i + 1)); [ $i -lt 200 ] || fail "the first run never took the lease"; sleep 0.05
done
jrun > "$tmp/b.json" 2> "$tmp/b.err"
rc=$?
[ "$rc" = 75 ] || fail "the second run exited $rc: $(cat "$tmp/b.err")"
grep -q "already running" "$tmp/b.err" || fail "busy message: $(cat "$tmp/b.err")"
wait "$apid" || fail "the first run failed: $(cat "$tmp/a.err")"
tctl '{"delay_ms": 0}'

# ------------------------------------------------------- kill -9
tctl '{"delay_ms": 400}'
# exec: the pid killed is vmshift's, not a subshell's
(exec "$VMSHIFT" --config "$VMSHIFT_TESTENV_CONFIG" job run "$tmp/job.json" > "$tmp/k.json" 2> "$tmp/k.err") &
kpid=$!
gk=7
i=0
until [ -d "$v1/.snapshot/$(snap_of $gk)" ]; do
    i=$((i + 1)); [ $i -lt 300 ] || fail "the run to kill made no snapshot"; sleep 0.05
done
sleep 0.5
kill -9 "$kpid"
wait "$kpid" 2>/dev/null
tctl '{"delay_ms": 0}'
jrun > "$tmp/r.json" 2> "$tmp/r.err" || fail "the run after kill -9 failed: $(cat "$tmp/r.err")"
[ "$(jq '.repaired | length' "$tmp/r.json")" = 1 ] || fail "no repair: $(cat "$tmp/r.json")"
[ ! -d "$v1/.snapshot/$(snap_of $gk)" ] || fail "the killed run's snapshot is left"
[ -z "$(find "$v1/dr" -name "*-g$gk.qcow2")" ] || fail "the killed run's targets are left"
[ -z "$(find "$v1/dr" -name '.*.vmshift.*.tmp')" ] || fail "temporaries left"
vsh job history --json --store "$store" dr-nightly > "$tmp/hist.json" || fail "history"
[ "$(jq -r --argjson g $gk '.[] | select(.record.generation == $g) | .state' "$tmp/hist.json")" = interrupted ] ||
    fail "the killed generation is not marked interrupted"
[ "$(jq -r '.[0].record.generation' "$tmp/hist.json")" = $((gk + 1)) ] || fail "generation after the repair"

# ------------------------------------------- leases (docs/jobs.md, "Leases")
# lease_ttl 4s: the lease is renewed every second while a run works
jq '.lease_ttl = "4s"' "$tmp/job.json" > "$tmp/lease.json"
lrun() { vsh job run --json "$tmp/lease.json"; }
lease_q() { sqlite3 "$store" "select $1 from leases where key = 'job:dr-nightly'"; }
next_gen() {
    vsh job history --json --store "$store" dr-nightly | jq '[.[].record.generation // 0] | max + 1'
}
wait_snap() {   # GENERATION: until the run made its snapshot
    i=0
    until [ -d "$v1/.snapshot/$(snap_of "$1")" ]; do
        i=$((i + 1)); [ $i -lt 400 ] || fail "the run made no snapshot of generation $1"; sleep 0.05
    done
}
bg_lrun() {     # DELAY_MS NAME: lrun in the background (bgpid) with the
                # simulator slowed down, once it made its snapshot (bggen)
    tctl "{\"delay_ms\": $1}"
    bggen=$(next_gen)
    lrun > "$tmp/$2.json" 2> "$tmp/$2.err" &
    bgpid=$!
    wait_snap "$bggen"
}

# 1. a run longer than its lease_ttl keeps the job: the heartbeat moves the
#    expiry on, and a run started after the first ttl is still refused
bg_lrun 1500 l1
lpid=$bgpid
e1=$(lease_q expires)
sleep 5
kill -0 "$lpid" 2>/dev/null || fail "the long run ended within 5 s: nothing shows the lease outlived its ttl"
e2=$(lease_q expires)
[ -n "$e1" ] && [ "$e2" -gt "$e1" ] || fail "the lease was not renewed (expires $e1, then $e2)"
lrun > "$tmp/l2.json" 2> "$tmp/l2.err"
rc=$?
[ "$rc" = 75 ] || fail "a run during a renewed lease exited $rc: $(cat "$tmp/l2.err")"
wait "$lpid" || fail "the long run failed: $(cat "$tmp/l1.err")"
[ "$(jq -r .result "$tmp/l1.json")" = "done" ] || fail "long run: $(cat "$tmp/l1.json")"
[ -z "$(lease_q owner)" ] || fail "the lease was not released"

# 2. a runner on another host (VMSHIFT_TEST_OWNER_HOST, test-only) dies
#    holding the lease: it cannot be seen dead from here, so the job is
#    busy until the lease expires; then the next run takes it over,
#    journals that, and repairs what the dead run left
tctl '{"delay_ms": 400}'
gd=$(next_gen)
(VMSHIFT_TEST_OWNER_HOST=far-away.example exec "$VMSHIFT" --config "$VMSHIFT_TESTENV_CONFIG" \
    job run "$tmp/lease.json" > "$tmp/d.json" 2> "$tmp/d.err") &
dpid=$!
wait_snap "$gd"
sleep 0.5
kill -9 "$dpid"
wait "$dpid" 2>/dev/null
tctl '{"delay_ms": 0}'
[ "$(lease_q owner)" = "far-away.example:$dpid" ] || fail "lease owner: $(lease_q owner)"
drun=$(lease_q run_id)
lrun > "$tmp/l3.json" 2> "$tmp/l3.err"
rc=$?
[ "$rc" = 75 ] || fail "a run while the dead remote lease is live exited $rc: $(cat "$tmp/l3.err")"
grep -q "far-away.example:$dpid" "$tmp/l3.err" || fail "busy message: $(cat "$tmp/l3.err")"
sleep 5
lrun > "$tmp/l4.json" 2> "$tmp/l4.err" || fail "the run after the lease expired failed: $(cat "$tmp/l4.err")"
[ "$(jq -c .repaired "$tmp/l4.json")" = "[$drun]" ] || fail "no repair of run $drun: $(cat "$tmp/l4.json")"
[ ! -d "$v1/.snapshot/$(snap_of "$gd")" ] || fail "the dead remote run's snapshot is left"
[ -z "$(find "$v1/dr" -name "*-g$gd.qcow2")" ] || fail "the dead remote run's targets are left"
[ -z "$(find "$v1/dr" -name '.*.vmshift.*.tmp')" ] || fail "temporaries left"
[ "$(sqlite3 "$store" "select state from runs where id = $drun")" = interrupted ] ||
    fail "the dead remote run is not marked interrupted"
lrun_id=$(jq .run "$tmp/l4.json")
sqlite3 "$store" "select intent from journal where run_id = $lrun_id and step = 'lease-takeover' and status = 1" \
    > "$tmp/take.json"
jq -e --argjson r "$drun" --arg o "far-away.example:$dpid" '.run == $r and .owner == $o' "$tmp/take.json" \
    > /dev/null || fail "the takeover is not journalled: $(cat "$tmp/take.json")"

# 3. a run whose lease is taken over while it works stops at its next
#    safe point, undoes what it made and says why
bg_lrun 1000 l5
spid=$bgpid gs=$bggen
srun=$(lease_q run_id)
sqlite3 "$store" "update leases set run_id = run_id + 100000, owner = 'thief.example:1' \
    where key = 'job:dr-nightly'" || fail "sqlite3 update"
wait "$spid"
rc=$?
tctl '{"delay_ms": 0}'
[ "$rc" = 5 ] || fail "the run that lost its lease exited $rc: $(cat "$tmp/l5.err")"
grep -q "lost the lease 'job:dr-nightly'.*thief.example:1" "$tmp/l5.err" ||
    fail "message: $(cat "$tmp/l5.err")"
[ ! -d "$v1/.snapshot/$(snap_of "$gs")" ] || fail "the run that lost its lease left its snapshot"
[ -z "$(find "$v1/dr" -name "*-g$gs.qcow2")" ] || fail "the run that lost its lease left targets"
[ "$(sqlite3 "$store" "select state from runs where id = $srun")" = failed ] || fail "state of run $srun"
[ "$(lease_q owner)" = thief.example:1 ] || fail "the run released a lease it no longer held"
sqlite3 "$store" "delete from leases where key = 'job:dr-nightly'"

# ----------------------------------------------------- bad job files
jq '.retention.keep_lats = 2' "$tmp/job.json" | jq --arg s "$tmp/bad.db" '.store = $s' > "$tmp/bad.json"
vsh job run "$tmp/bad.json" > /dev/null 2> "$tmp/err"
rc=$?
[ "$rc" = 3 ] || fail "bad job file exited $rc"
grep -q "'retention.keep_lats'" "$tmp/err" || fail "message: $(cat "$tmp/err")"
[ ! -e "$tmp/bad.db" ] || fail "a bad job file created the store"
echo "ok: 5 runs with retention, busy refused, kill -9 repaired, leases renewed and taken over, foreign files kept"
