#!/bin/sh
# vmshift migrate with a datastore source whose VMs are on two ONTAP
# volumes (docs/blueprint.md "VMs on several volumes"): one VM by its
# .vmx below the datastore on vol1, one by the full location of its .vmx
# on vol2, target.location "ontap://testenv/{volume}/kvm".  The run makes
# exactly one snapshot per volume (the simulator's request log) and
# deletes both; each disk is identical to its source, shares its blocks
# and lies on its own volume; the two volumes convert at once (the
# request log, with the simulator's replies delayed); the sources are
# unchanged; abort of a run
# killed between the two snapshots deletes the one that was made; a VM
# on a volume of a second profile goes where target.locations says.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/testenv.sh"
. "$(dirname "$0")/../lib/ontap.sh"
ontap_testenv filefrag md5sum
v2=$(vol_dir vol2)
export VMSHIFT_STORE="$tmp/runs.db"

snap_posts() {   # since log_mark: the count of snapshot POSTs per volume
    tail -n +$((_log_mark + 1)) "$VMSHIFT_TESTENV_REQUEST_LOG" |
        jq -r 'select(.method == "POST" and (.path | test("^/api/storage/volumes/[^/]+/snapshots"))) |
               .path | split("?")[0]' | sort | uniq -c | awk '{print $1}' | tr '\n' ' '
}
bp() {   # NAME VM1 VM2
    cat <<JSON
{"name": "$1", "source": {"datastore": "ontap://testenv/vol1/ds"},
 "target": {"hypervisor": "libvirt", "uri": "test:///default", "format": "qcow2",
            "location": "ontap://testenv/{volume}/kvm-$1"},
 "groups": [{"name": "g", "vms": ["$2", "$3"]}],
 "vms": {"$2": {"vmx": "$2/$2.vmx"},
         "$3": {"vmx": "ontap://testenv/vol2/ds/$3/$3.vmx"}}}
JSON
}

make_vm -h -p -n none "$v1/ds" m1 16
make_vm -h -p -n none "$v2/ds" m2 16
sums() { cat "$v1/ds/m1/m1-flat.vmdk" "$v2/ds/m2/m2-flat.vmdk" | md5sum; }
sum0=$(sums)
bp mv m1 m2 > "$tmp/mv.json"

vsh blueprint check --json "$tmp/mv.json" > "$tmp/check.json" ||
    fail "blueprint check: $(cat "$tmp/check.json")"
[ "$(jq -r '[.volumes[].volume] | join(" ")' "$tmp/check.json")" = \
  "ontap://testenv/vol1 ontap://testenv/vol2" ] || fail "volumes: $(jq -c .volumes "$tmp/check.json")"

log_mark
tctl '{"delay_ms": 100}'
vsh migrate --yes --json "$tmp/mv.json" > "$tmp/events" 2> "$tmp/err" ||
    fail "migrate: $(cat "$tmp/err")"
tctl '{"delay_ms": 0}'
# the two volumes convert at once: after the run's snapshots (S), the
# conversion lists each volume's snapshots (its stale ones: L1, L2;
# the volumes themselves it knows from the run) before its first clone
# (C)
u1=$(rest "/api/storage/volumes?name=vol1&fields=uuid" | jq -r '.records[0].uuid')
u2=$(rest "/api/storage/volumes?name=vol2&fields=uuid" | jq -r '.records[0].uuid')
seq=$(tail -n +$((_log_mark + 1)) "$VMSHIFT_TESTENV_REQUEST_LOG" |
    jq -r --arg u1 "$u1" --arg u2 "$u2" '
    if .method == "POST" and (.path | test("^/api/storage/volumes/[^/]+/snapshots$")) then "S"
    elif .method == "POST" and .path == "/api/storage/file/clone" then "C"
    elif .method == "GET" and ((.query // "") | test("name=") | not) and
         .path == "/api/storage/volumes/\($u1)/snapshots" then "L1"
    elif .method == "GET" and ((.query // "") | test("name=") | not) and
         .path == "/api/storage/volumes/\($u2)/snapshots" then "L2"
    else empty end' | tr '\n' ' ')
after=${seq##*S }
before=${after%%C *}
case $before in
    *L1*L2*|*L2*L1*) ;;
    *) fail "the volumes did not convert at once: $seq" ;;
esac
id=$(head -1 "$tmp/events" | jq -r .run)
[ "$(vsh runs show --json "$id" | jq -r .state)" = complete ] || fail "run not complete"
[ "$(snap_posts)" = "1 1 " ] || fail "snapshot creates per volume: '$(snap_posts)'"
no_leftovers vol1
no_leftovers vol2
for x in "$v1 m1" "$v2 m2"; do
    d=${x% *} vm=${x#* }
    out=$d/kvm-mv/$vm/$vm.qcow2
    [ -f "$out" ] || fail "no $out"
    compare_images vmdk "$d/ds/$vm/$vm.vmdk" qcow2 "$out"
    filefrag -v "$out" | grep -q shared || fail "$out: no shared extents"
done
if [ -e "$v1/kvm-mv/m2" ] || [ -e "$v2/kvm-mv/m1" ]; then
    fail "a VM on the other volume"
fi
[ "$(sums)" = "$sum0" ] || fail "a source changed"

# killed between the two volumes' snapshots, then aborted: the one made
# is deleted, nothing is left on either volume
bp ab m1 m2 > "$tmp/ab.json"
# (the crash points of a test run of the same shape say where that is)
rm -f "$tmp/points"
VMSHIFT_WF_CRASH_LOG=$tmp/points vsh migrate --yes --json --test "$tmp/ab.json" \
    > "$tmp/tev" 2> "$tmp/err" || fail "test run: $(cat "$tmp/err")"
n=$(grep ' snapshot intent$' "$tmp/points" | sed -n 2p | cut -d' ' -f1)
[ -n "$n" ] || fail "no second snapshot point: $(cat "$tmp/points")"
vsh runs cleanup "$(head -1 "$tmp/tev" | jq -r .run)" > /dev/null 2> "$tmp/err" ||
    fail "cleanup: $(cat "$tmp/err")"
rm -f "$tmp/points"
VMSHIFT_WF_CRASH_AT=$n VMSHIFT_WF_CRASH_LOG=$tmp/points \
    vsh migrate --yes --json "$tmp/ab.json" > "$tmp/aev" 2> /dev/null && fail "not killed at $n"
grep -qx "$n snapshot intent" "$tmp/points" || fail "point $n: $(cat "$tmp/points")"
aid=$(head -1 "$tmp/aev" | jq -r .run)
[ -n "$(find "$v1/.snapshot" -mindepth 1 -maxdepth 1 2>/dev/null)" ] ||
    fail "no snapshot of vol1 after the kill"
vsh runs abort "$aid" > /dev/null 2> "$tmp/err" || fail "abort: $(cat "$tmp/err")"
[ "$(vsh runs show --json "$aid" | jq -r .state)" = aborted ] || fail "not aborted"
no_leftovers vol1
no_leftovers vol2
[ "$(sums)" = "$sum0" ] || fail "a source changed"

# two profiles (here two names of the one simulated cluster): m2 by a
# location of profile "dr", its target from target.locations
jq '.profiles.dr = .profiles.testenv' "$VMSHIFT_TESTENV_CONFIG" > "$tmp/cfg2.json" ||
    fail "config with a second profile"
jq '.name = "pr" | .vms.m2.vmx = "ontap://dr/vol2/ds/m2/m2.vmx" |
    .target.location = "ontap://testenv/{volume}/kvm-pr" |
    .target.locations = {"vol2": "ontap://dr/vol2/kvm-pr"}' "$tmp/mv.json" > "$tmp/pr.json"
log_mark
"$VMSHIFT" --config "$tmp/cfg2.json" migrate --yes --json "$tmp/pr.json" > "$tmp/pev" 2> "$tmp/err" ||
    fail "two profiles: $(cat "$tmp/err")"
[ "$(snap_posts)" = "1 1 " ] || fail "two profiles: snapshot creates per volume '$(snap_posts)'"
jq -r 'select(.step == "snapshot") | .message' "$tmp/pev" | grep -q "of ontap://dr/vol2$" ||
    fail "no snapshot through profile dr: $(grep '"snapshot"' "$tmp/pev")"
compare_images vmdk "$v2/ds/m2/m2.vmdk" qcow2 "$v2/kvm-pr/m2/m2.qcow2"
compare_images vmdk "$v1/ds/m1/m1.vmdk" qcow2 "$v1/kvm-pr/m1/m1.qcow2"
no_leftovers vol1
no_leftovers vol2
[ "$(sums)" = "$sum0" ] || fail "a source changed"
echo "datastore wave on two volumes ok"
