#!/bin/sh
# The temporary names a killed process leaves beside a disk it published
# (docs/internals/workflow.md, "Undo"): a process killed in the middle of
# the no-replace publish over NFS (LINK temporary -> target, then REMOVE
# temporary) leaves the temporary as a second name of the published disk.
# The VM is then handed over and its disk stays, but that name goes:
#  1. killed after its disks were published, a second name planted under
#     the "tmp0" its "clone" entry lists: "runs resume" removes it;
#  2. killed once h1 was registered (handed over), h2 not: "runs abort"
#     removes h1's planted second name; "runs cleanup" another one, and
#     leaves a name of another run's ID in the same place (a "clone"
#     entry added to the store): only the run's own temporaries go;
#  3. the same without any planted name (gone already): abort and cleanup
#     succeed.
# Each time the disk stays as it was (same hash, one link), its domain
# file stays, and the "clone" entries are not marked undone.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/testenv.sh"
. "$(dirname "$0")/../lib/ontap.sh"
ontap_testenv sha256sum sqlite3
export VMSHIFT_STORE="$tmp/runs.db"
# names unique to this run: the environment may be one the caller reuses
R=ht$$

for vm in h1 h2; do make_vm "$v1/$R/src" "$vm" 4; done

blueprint() {   # NAME (also the target folder)
    cat <<JSON
{"name": "$1", "source": {"datastore": "ontap://testenv/vol1/$R/src"},
 "target": {"hypervisor": "libvirt", "uri": "test:///default",
            "location": "ontap://testenv/vol1/$R-$1"},
 "network_map": {"networks": {"*": "br0"}},
 "groups": [{"name": "a", "boot_order": 1, "vms": ["h1"]},
            {"name": "b", "boot_order": 2, "vms": ["h2"]}],
 "vms": {"h1": {"vmx": "h1/h1.vmx"}, "h2": {"vmx": "h2/h2.vmx"}}}
JSON
}

# killed NAME POINT: the run killed at crash point POINT; its ID in $id,
# its "runs show --json" in $tmp/show.json
killed() {
    blueprint "$1" > "$tmp/$1.json"
    VMSHIFT_WF_CRASH_AT=$2 vsh migrate --yes --json "$tmp/$1.json" \
        > "$tmp/$1.ev" 2> "$tmp/$1.err" && fail "$1: not killed at point $2"
    id=$(head -1 "$tmp/$1.ev" | jq .run)
    [ -n "$id" ] || fail "$1: no run ID: $(cat "$tmp/$1.err")"
    show
}
show() { vsh runs show --json "$id" > "$tmp/show.json" || fail "runs show $id"; }
state() { jq -r --arg vm "$1" '.vms[] | select(.vm == $vm) | .state' "$tmp/show.json"; }
tmp0() {   # VM: the temporary its "clone" entry lists
    _t=$(jq -r --arg vm "$1" '[.journal[] | select(.step == "clone" and .vm == $vm) |
        .intent.tmp0] | last // empty' "$tmp/show.json")
    case $_t in
        .vmshift.*.tmp0) echo "$_t" ;;
        *) fail "run $id: no temporary in the clone entry of $1: '$_t'" ;;
    esac
}
clone_status() {   # VM
    jq -r --arg vm "$1" '[.journal[] | select(.step == "clone" and .vm == $vm) |
        .status] | join(" ")' "$tmp/show.json"
}
links() { stat -c %h "$1"; }
# plant DISK NAME: NAME (in DISK's folder) a second link of DISK, as a
# kill between the publish's link and its unlink leaves it
plant() {
    ln "$1" "$(dirname "$1")/$2" || fail "cannot link $2"
    [ "$(links "$1")" = 2 ] || fail "$1: $(links "$1") links after planting $2"
}
# intact DISK SHA WHAT: the disk as it was, one name, no temporary beside
intact() {
    [ -f "$1" ] || fail "$3: the disk '$1' is gone"
    [ "$(sha256sum < "$1")" = "$2" ] || fail "$3: the disk '$1' changed"
    [ "$(links "$1")" = 1 ] || fail "$3: '$1' has $(links "$1") links"
    _l=$(find "$(dirname "$1")" -name '.vmshift.*.tmp*' | head -3)
    [ -z "$_l" ] || fail "$3: temporaries left: $_l"
}

# the crash points of an uninterrupted run (a --test run, cleaned up)
blueprint base > "$tmp/base.json"
VMSHIFT_WF_CRASH_LOG=$tmp/points vsh migrate --yes --test "$tmp/base.json" \
    > /dev/null 2> "$tmp/err" || fail "base: $(cat "$tmp/err")"
vsh runs cleanup "$(vsh runs list --json | jq '.[0].id')" > /dev/null 2> "$tmp/err" ||
    fail "base: cleanup: $(cat "$tmp/err")"
# after the conversions (the disks published), before their results
p_conv=$(awk '$2 == "convert" && $3 == "result" { print $1; exit }' "$tmp/points")
# before the last define result: h1 registered, h2 not
p_reg=$(awk '$2 == "define" && $3 == "result" { p = $1 } END { print p }' "$tmp/points")
if [ -z "$p_conv" ] || [ -z "$p_reg" ]; then
    fail "crash points: $(tr '\n' ' ' < "$tmp/points")"
fi

# 1. resume
killed kr "$p_conv"
for vm in h1 h2; do
    d=$v1/$R-kr/$vm/$vm.qcow2
    [ -f "$d" ] || fail "kr: $d not published at point $p_conv: $(cat "$tmp/kr.err")"
    plant "$d" "$(tmp0 $vm)"
    sha256sum < "$d" > "$tmp/kr-$vm.sha"
done
vsh runs resume "$id" > /dev/null 2> "$tmp/err" || fail "kr: resume: $(cat "$tmp/err")"
show
[ "$(jq -r .state "$tmp/show.json")" = complete ] ||
    fail "kr: run $id not complete: $(jq -c '[.state, .vms]' "$tmp/show.json")"
for vm in h1 h2; do
    intact "$v1/$R-kr/$vm/$vm.qcow2" "$(cat "$tmp/kr-$vm.sha")" "kr: resume"
    compare_images vmdk "$v1/$R/src/$vm/$vm.vmdk" qcow2 "$v1/$R-kr/$vm/$vm.qcow2"
    [ "$(clone_status $vm)" = "done" ] || fail "kr: $vm's clone entries: $(clone_status $vm)"
done
echo "resume: the second names of 2 published disks removed, the disks intact"

# 2. abort, then cleanup, of a run with h1 handed over
killed ka "$p_reg"
if [ "$(state h1)" != registered ] || [ "$(state h2)" = registered ]; then
    fail "ka: at point $p_reg: h1 $(state h1), h2 $(state h2)"
fi
d=$v1/$R-ka/h1/h1.qcow2
t=$(tmp0 h1)
plant "$d" "$t"
sha=$(sha256sum < "$d")
vsh runs abort "$id" > /dev/null 2> "$tmp/err" || fail "ka: abort: $(cat "$tmp/err")"
show
[ "$(jq -r .state "$tmp/show.json")" = aborted ] || fail "ka: run $id $(jq -r .state "$tmp/show.json")"
intact "$d" "$sha" "ka: abort"
[ -f "$v1/$R-ka/h1/h1.xml" ] || fail "ka: abort removed h1's domain file"
[ "$(clone_status h1)" = "done" ] || fail "ka: abort: h1's clone entries: $(clone_status h1)"
[ ! -e "$v1/$R-ka/h2" ] || fail "ka: abort left $(find "$v1/$R-ka/h2" | head -3)"
# left again, and beside it the same name of another run's ID, which a
# "clone" entry of h1 lists too: cleanup removes the run's own only
plant "$d" "$t"
other=$(run_file h1.qcow2 1 0123456789abcdef0123456789abcdef tmp0)
target=$(jq -r '[.journal[] | select(.step == "clone" and .vm == "h1") | .intent.target] | last' \
    "$tmp/show.json")
sqlite3 "$VMSHIFT_STORE" "INSERT INTO journal (run_id, item, step, status, intent, result, t_intent)
    VALUES ($id, 'h1', 'clone', 1, '{\"target\":\"$target\",\"tmp0\":\"$other\"}', NULL, 0)" ||
    fail "ka: cannot add a clone entry"
ln "$d" "$v1/$R-ka/h1/$other" || fail "ka: cannot link $other"
vsh runs cleanup "$id" > /dev/null 2> "$tmp/err" || fail "ka: cleanup: $(cat "$tmp/err")"
[ -e "$v1/$R-ka/h1/$other" ] || fail "ka: cleanup removed $other, another run's name"
[ ! -e "$v1/$R-ka/h1/$t" ] || fail "ka: cleanup left $t"
[ "$(links "$d")" = 2 ] || fail "ka: cleanup: $d has $(links "$d") links, not 2"
rm -f "$v1/$R-ka/h1/$other"
show
[ "$(jq -r .state "$tmp/show.json")" = cleaned ] || fail "ka: run $id $(jq -r .state "$tmp/show.json")"
intact "$d" "$sha" "ka: cleanup"
[ -f "$v1/$R-ka/h1/h1.xml" ] || fail "ka: cleanup removed h1's domain file"
echo "abort and cleanup: h1's second names removed, another run's name kept, the disk intact"

# 3. nothing left to remove (the name is gone already)
killed kn "$p_reg"
[ "$(state h1)" = registered ] || fail "kn: h1 $(state h1) at point $p_reg"
d=$v1/$R-kn/h1/h1.qcow2
sha=$(sha256sum < "$d")
vsh runs abort "$id" > /dev/null 2> "$tmp/err" || fail "kn: abort: $(cat "$tmp/err")"
vsh runs cleanup "$id" > /dev/null 2> "$tmp/err" || fail "kn: cleanup: $(cat "$tmp/err")"
show
[ "$(jq -r .state "$tmp/show.json")" = cleaned ] || fail "kn: run $id $(jq -r .state "$tmp/show.json")"
intact "$d" "$sha" "kn"
no_leftovers vol1
echo "handed-over temporaries ok"
