#!/bin/sh
# A vCenter wave on two ONTAP volumes (docs/blueprint.md "VMs on several
# volumes"): the simulator's NAS datastores vol1 and vol2 are the
# testenv's NFS exports of the simulated volumes, two VMs on each, with
# real VMDKs.  target.location "ontap://testenv/{volume}/kvm-..." puts
# each VM on its own volume.  Checked: blueprint check lists both volumes
# and names the VMs a fixed location or an incomplete target.locations
# cannot take; the run makes exactly one snapshot per volume (the
# simulator's request log) and deletes both; every disk is identical to
# its source and shares its blocks (FIEMAP), on its own volume; a run
# killed (-9) just after the first volume's snapshot, or between the two,
# is resumed without a snapshot made twice; a --test run and
# "runs cleanup" leave nothing on either volume.
# shellcheck disable=SC2015,SC2119 # "A && B || fail" means fail unless both hold; start_vcsim takes optional flags
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/testenv.sh"
. "$(dirname "$0")/../lib/ontap.sh"
. "$(dirname "$0")/../lib/vcsim.sh"

requires qemu-img jq filefrag
tmpdir
vcsim_on_testenv
export VMSHIFT_STORE="$tmp/runs.db"
v2=$(vol_dir vol2)
vcsim_nas vol2
p=mv$$

mkvm() { vcsim_vm "$1" "$2" "$3" -guest rhel8_64Guest; }   # NAME DATASTORE DISKS
bp() {   # NAME VM-PREFIX [TARGET-JSON] > file: VMs PREFIXa1 a2 (vol1), b1 b2 (vol2)
    _t=${3:-"\"location\": \"ontap://testenv/{volume}/kvm-$1\", \"host_path\": \"/srv/{volume}/kvm\""}
    cat <<JSON
{"name": "$1", "source": {"vcenter": "vc1", "shutdown_timeout": 30},
 "target": {"hypervisor": "libvirt", "uri": "test:///default", "format": "qcow2", $_t},
 "network_map": {"networks": {"VM Network": "br0"}},
 "groups": [{"name": "a", "boot_order": 1, "vms": ["$2a1", "$2a2"]},
            {"name": "b", "boot_order": 2, "vms": ["$2b1", "$2b2"]}],
 "vms": {"$2a1": {}, "$2a2": {}, "$2b1": {}, "$2b2": {}}}
JSON
}
mkwave() {   # PREFIX
    mkvm "$1a1" vol1 16,8
    mkvm "$1a2" vol1 8
    mkvm "$1b1" vol2 16,8
    mkvm "$1b2" vol2 8
}
snap_posts() {   # since log_mark: "COUNT PATH" per volume's snapshot POSTs
    tail -n +$((_log_mark + 1)) "$VMSHIFT_TESTENV_REQUEST_LOG" |
        jq -r 'select(.method == "POST" and (.path | test("^/api/storage/volumes/[^/]+/snapshots"))) |
               .path | split("?")[0]' | sort | uniq -c | awk '{print $1}' | sort | tr '\n' ' '
}
snap_deletes() {
    tail -n +$((_log_mark + 1)) "$VMSHIFT_TESTENV_REQUEST_LOG" |
        jq -r 'select(.method == "DELETE" and (.path | test("/snapshots/"))) | .path' | wc -l
}
check_disks() {   # PREFIX WAVE: each disk on its own volume, equal, shared
    for vm in a1:0 a1:1 a2:0 b1:0 b1:1 b2:0; do
        n=$1${vm%:*} i=${vm#*:}
        case $vm in a*) d=$v1 o=$v2 ;; *) d=$v2 o=$v1 ;; esac
        out=$d/kvm-$2/$n/${n}_$i.qcow2
        [ -f "$out" ] || fail "no $out"
        [ ! -e "$o/kvm-$2/$n" ] || fail "$n also on the other volume"
        compare_images vmdk "$d/$n/${n}_$i.vmdk" qcow2 "$out"
        filefrag -v "$out" | grep -q shared || fail "$out: no shared extents"
    done
}

# ---- blueprint check: both volumes, their VMs, the snapshots to be
mkwave "$p"
bp wave "$p" > "$tmp/wave.json"
log_mark
vs blueprint check --json "$tmp/wave.json" > "$tmp/check.json" 2> "$tmp/err" ||
    fail "blueprint check: $(cat "$tmp/err") $(cat "$tmp/check.json")"
[ "$(jq .problems "$tmp/check.json")" = 0 ] || fail "problems: $(cat "$tmp/check.json")"
[ "$(jq -r '[.volumes[] | "\(.volume)=\(.vms | sort | join(","))"] | sort | join(" ")' "$tmp/check.json")" = \
  "ontap://testenv/vol1=${p}a1,${p}a2 ontap://testenv/vol2=${p}b1,${p}b2" ] ||
    fail "volumes: $(jq -c .volumes "$tmp/check.json")"
jq -e '[.volumes[].snapshot] == ["vmshift-run-STOREID-ID", "vmshift-run-STOREID-ID"]' "$tmp/check.json" > /dev/null ||
    fail "snapshots to be: $(jq -c .volumes "$tmp/check.json")"
jq -e --arg v "${p}b1" '.vms[] | select(.vm == $v) | .location == "ontap://testenv/vol2/kvm-wave"' \
    "$tmp/check.json" > /dev/null || fail "b1's location: $(jq -c .vms "$tmp/check.json")"
[ "$(req_count POST /api/)" = 0 ] || fail "check made something on the cluster"

# a fixed location takes only its volume's VMs: the others are named with
# their volume; a target.locations without vol2 names the missing key
bp fixed "$p" '"location": "ontap://testenv/vol1/kvm-fixed"' > "$tmp/fixed.json"
vs blueprint check "$tmp/fixed.json" > "$tmp/fixed.out" 2>&1 && fail "fixed location passed"
[ "$(grep -c "problem: target.location: 'ontap://testenv/vol1/kvm-fixed' is not on the VM's volume 'vol2'" "$tmp/fixed.out")" = 2 ] ||
    fail "fixed location: $(cat "$tmp/fixed.out")"
grep -A3 "^vm '${p}b1'" "$tmp/fixed.out" | grep -q "problem: target.location" ||
    fail "b1 not named: $(cat "$tmp/fixed.out")"
bp map "$p" '"locations": {"vol1": "ontap://testenv/vol1/kvm-map"}' > "$tmp/map.json"
vs blueprint check "$tmp/map.json" > "$tmp/map.out" 2>&1 && fail "missing mapping passed"
[ "$(grep -c "problem: target.locations: no location for volume 'vol2'" "$tmp/map.out")" = 2 ] ||
    fail "missing mapping: $(cat "$tmp/map.out")"

# ---- the run: one snapshot per volume, every disk on its own volume
log_mark
rm -f "$tmp/points"
VMSHIFT_WF_CRASH_LOG=$tmp/points vs migrate --yes --json "$tmp/wave.json" > "$tmp/events" 2> "$tmp/err" ||
    fail "migrate: $(cat "$tmp/err")"
id=$(head -1 "$tmp/events" | jq -r .run)
vs runs show --json "$id" > "$tmp/show.json" || fail "runs show"
snap=$(jq -r .snapshot "$tmp/show.json")
echo "$snap" | grep -Eqx "vmshift-run-[0-9a-f]{12}-$id" ||
    fail "snapshot name '$snap'"
[ "$(jq -r .state "$tmp/show.json")" = complete ] || fail "run not complete: $(jq -c . "$tmp/show.json")"
[ "$(jq '[.vms[] | select(.state == "complete")] | length' "$tmp/show.json")" = 4 ] ||
    fail "not 4 VMs complete: $(jq -c .vms "$tmp/show.json")"
[ "$(snap_posts)" = "1 1 " ] || fail "snapshot creates per volume: '$(snap_posts)'"
[ "$(snap_deletes)" = 2 ] || fail "snapshot deletes: $(snap_deletes)"
[ "$(jq -r 'select(.step == "snapshot") | .message' "$tmp/events" | sort | tr '\n' ' ')" = \
  "$snap of ontap://testenv/vol1 $snap of ontap://testenv/vol2 " ] ||
    fail "snapshot events: $(grep '"snapshot"' "$tmp/events")"
no_leftovers vol1
no_leftovers vol2
check_disks "$p" wave
x=$v2/kvm-wave/${p}b1/${p}b1.xml
grep -q "<source file='/srv/vol2/kvm/${p}b1/${p}b1_1.qcow2'/>" "$x" ||
    fail "host path of vol2: $(grep source "$x")"
jq -e '.detail.domains | length == 4' "$tmp/show.json" > /dev/null || fail "not 4 domains defined"

# ---- kill -9 just after the first volume's snapshot (before its result
# is journalled) and between the two volumes' snapshots, then resume
s1=$(grep -m1 ' snapshot result$' "$tmp/points" | cut -d' ' -f1)
s2=$(grep ' snapshot intent$' "$tmp/points" | sed -n 2p | cut -d' ' -f1)
[ -n "$s1" ] && [ -n "$s2" ] && [ "$s1" -lt "$s2" ] || fail "crash points: $(cat "$tmp/points")"
k=0
for at in "$s1 snapshot result" "$s2 snapshot intent"; do
    n=${at%% *} what=${at#* }
    k=$((k + 1))
    q=${p}k$k
    mkwave "$q"
    bp "res$k" "$q" > "$tmp/r.json"
    log_mark
    rm -f "$tmp/rpoints"
    VMSHIFT_WF_CRASH_AT=$n VMSHIFT_WF_CRASH_LOG=$tmp/rpoints \
        vs migrate --yes --json "$tmp/r.json" > "$tmp/rev" 2> /dev/null && fail "not killed at $n"
    grep -qx "$n $what" "$tmp/rpoints" || fail "point $n is not '$what': $(cat "$tmp/rpoints")"
    rid=$(head -1 "$tmp/rev" | jq -r .run)
    vs runs resume "$rid" > /dev/null 2> "$tmp/err" || fail "resume after $what: $(cat "$tmp/err")"
    [ "$(vs runs show --json "$rid" | jq -r .state)" = complete ] || fail "resumed run not complete"
    [ "$(snap_posts)" = "1 1 " ] || fail "after '$what': snapshot creates per volume '$(snap_posts)'"
    [ "$(snap_deletes)" = 2 ] || fail "after '$what': snapshot deletes $(snap_deletes)"
    no_leftovers vol1
    no_leftovers vol2
    check_disks "$q" "res$k"
done

# ---- a test run, then cleanup: nothing of it on either volume
vs migrate --test --yes --json "$tmp/wave.json" > "$tmp/tev" 2> "$tmp/err" ||
    fail "test migration: $(cat "$tmp/err")"
tid=$(head -1 "$tmp/tev" | jq -r .run)
[ -f "$v1/kvm-wave-test/${p}a1-vmshift-test/${p}a1_0.qcow2" ] &&
    [ -f "$v2/kvm-wave-test/${p}b2-vmshift-test/${p}b2_0.qcow2" ] ||
    fail "test run's disks: $(find "$v1/kvm-wave-test" "$v2/kvm-wave-test" -type f 2>&1)"
vs runs cleanup "$tid" > /dev/null 2> "$tmp/err" || fail "cleanup: $(cat "$tmp/err")"
[ "$(vs runs show --json "$tid" | jq -r .state)" = cleaned ] || fail "test run not cleaned"
left=$(find "$v1/kvm-wave-test" "$v2/kvm-wave-test" -type f 2>/dev/null)
[ -z "$left" ] || fail "cleanup left: $left"
no_leftovers vol1
no_leftovers vol2
# the real run's targets are untouched
check_disks "$p" wave
echo "vCenter wave on two volumes ok"
