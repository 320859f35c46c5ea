#!/bin/sh
# What a person (or a script) sees of a migration run, from a local folder
# to libvirt's test driver (no tools/testenv): --json events, one JSON
# object per line, with a "status" per VM at the start, "progress" with
# bytes while disks convert, and the bytes on the state changes; plain
# lines when stdout is not a terminal (no escapes, no progress lines);
# a live table when it is (under script(1)), redrawn in place at most
# once a second; runs show with bytes shared/copied and time per step;
# runs resume after a kill -9 starts with each VM's state and the bytes
# of the disks converted before; cleanup of a test run removes the
# folders it made, never one that was there.  The disks are
# streamOptimized, so the
# conversions copy (inflate) data.
. "$VMSHIFT_TOP/tests/lib/functions.sh"
requires jq qemu-img script
tmpdir
cd "$tmp" || fail "cd $tmp"
export VMSHIFT_STORE="$tmp/runs.db"
esc=$(printf '\033')

for vm in db01 app01 web01; do
    make_vm -f streamOptimized -h -p -n vmxnet3 ds "$vm" 8
done

bp() {   # NAME LOCATION [BOOT_DELAY]
    cat > "$1.json" <<JSON
{"name": "$1", "source": {"datastore": "$tmp/ds"},
 "target": {"hypervisor": "libvirt", "uri": "test:///default",
            "format": "qcow2", "location": "$tmp/$2"},
 "network_map": {"networks": {"VM Network": "br0"}},
 "groups": [{"name": "db", "boot_order": 1, "boot_delay": ${3:-0}, "vms": ["db01"]},
            {"name": "rest", "boot_order": 2, "vms": ["app01", "web01"]}],
 "vms": {"db01": {"vmx": "db01/db01.vmx"}, "app01": {"vmx": "app01/app01.vmx"},
         "web01": {"vmx": "web01/web01.vmx"}}}
JSON
}
last_run() { "$VMSHIFT" runs list --json | jq '.[0].id'; }

# 1. --json: every line one JSON object
bp j kvm-j
"$VMSHIFT" migrate --yes --json j.json > ev.json 2> err || fail "migrate --json: $(cat err)"
jq -e . ev.json > /dev/null || fail "not JSON lines: $(head -3 ev.json)"
[ "$(jq -c 'select(.step == "status")' ev.json | wc -l)" = 3 ] ||
    fail "not one status event per VM"
head -3 ev.json | jq -e 'select(.step == "status" and .state == "pending")' > /dev/null ||
    fail "the run does not start with each VM's status"
jq -e -s '[.[] | select(.step == "progress" and .bytes_total > 0)] | length > 0' ev.json > /dev/null ||
    fail "no progress event with bytes"
for vm in db01 app01 web01; do
    jq -e -s --arg vm "$vm" 'any(.[]; .vm == $vm and .step == "converted" and
        .bytes_copied > 0 and .bytes_done == .bytes_total)' ev.json > /dev/null ||
        fail "$vm: no 'converted' event with the bytes copied"
    jq -e -s --arg vm "$vm" 'any(.[]; .vm == $vm and .state == "complete")' ev.json > /dev/null ||
        fail "$vm: not complete"
done
id=$(last_run)
# progress and status are not kept in the store; state changes are
"$VMSHIFT" runs show --json "$id" > show.json || fail "runs show"
jq -e '.vms | length == 3' show.json > /dev/null || fail "runs show: not 3 VMs"
jq -e 'all(.vms[]; .bytes_copied > 0 and .disks_converted == 1 and
    (.steps | map(.step)) == ["preflight", "snapshot", "convert", "define",
    "register", "power-on", "read-back"] and .seconds >= 0)' show.json > /dev/null ||
    fail "runs show: bytes or steps: $(jq -c '.vms[0]' show.json)"
copied=$(jq '[.[] | select(.step == "converted")] | map(.bytes_copied) | add' -s ev.json)
[ "$(jq '[.vms[].bytes_copied] | add' show.json)" = "$copied" ] ||
    fail "runs show and the events disagree on the bytes copied"
"$VMSHIFT" runs show "$id" > show.txt || fail "runs show (text)"
grep -q '^  db01 .*complete .* preflight [0-9]*s, snapshot [0-9]*s, convert [0-9]*s' show.txt ||
    fail "runs show text: $(cat show.txt)"

# 2. not a terminal: plain lines, one per step per VM
bp p kvm-p
"$VMSHIFT" migrate --yes p.json > plain.txt 2> err || fail "migrate: $(cat err)"
grep -q "$esc" plain.txt && fail "escape sequences when stdout is not a terminal"
grep -v '^run [0-9]*: ' plain.txt && fail "a line that is not an event line"
grep -Eq 'progress|status' plain.txt && fail "progress or status lines in plain output"
for vm in db01 app01 web01; do
    for st in converting converted defined registered started complete; do
        grep -Eq "^run [0-9]+: $vm +$st\$" plain.txt || fail "no '$vm $st' line: $(cat plain.txt)"
    done
done

# 3. a terminal (script(1) gives the command a pty): the table, redrawn
# in place at most once a second; the boot delay keeps the run going
# long enough for the ticker to redraw while nothing happens
bp t kvm-t 3
t0=$(date +%s)
script -qec "\"$VMSHIFT\" migrate --yes t.json" /dev/null < /dev/null > tty.txt 2>&1 ||
    fail "migrate on a pty: $(tail -5 tty.txt)"
t1=$(date +%s)
grep -q 'VM  *STATE  *TIME  *SHARED  *COPIED  *STEP' tty.txt || fail "no table header: $(tail -5 tty.txt)"
redraws=$(grep -o "${esc}\[J" tty.txt | wc -l)
wall=$((t1 - t0))
[ "$redraws" -ge 3 ] || fail "table drawn $redraws times in a ${wall}s run"
[ "$redraws" -le $((wall + 3)) ] || fail "table drawn $redraws times in ${wall}s (more than once a second)"
grep -q "${esc}\[[0-9]*A" tty.txt || fail "the table is not redrawn in place"
# the last drawing: every VM complete, with bytes copied
last=$(tr -d '\r' < tty.txt | awk -v e="$esc" 'index($0, e "[J") { buf = "" } { buf = buf $0 "\n" } END { printf "%s", buf }')
for vm in db01 app01 web01; do
    printf '%s' "$last" | grep -Eq "^$vm +complete +[0-9]+:[0-9][0-9] +[0-9.]+ [KMG]?i?B +[0-9.]+ [KMG]iB" ||
        fail "last table has no complete row for $vm: $last"
done
printf '%s' "$last" | grep -q "run [0-9]*: complete, 3 of 3 VMs done (0 failed)" ||
    fail "last table header: $last"
tr -d '\r' < tty.txt | grep -q "(run) *boot-delay" || fail "the boot delay was not shown"

# 4. kill -9 after the conversions, then resume: the status events give
# each VM's state and the bytes converted before
bp r kvm-r
VMSHIFT_WF_CRASH_LOG=$tmp/points "$VMSHIFT" migrate --yes r.json > /dev/null 2>&1 ||
    fail "migrate r"
n=$(awk '$2 == "write" && $3 == "intent" { print $1; exit }' points)
[ -n "$n" ] || fail "no 'write' crash point: $(cat points)"
bp r2 kvm-r2
VMSHIFT_WF_CRASH_AT=$n "$VMSHIFT" migrate --yes r2.json > /dev/null 2>&1
[ $? = 137 ] || fail "the run did not kill itself at point $n"
rid=$(last_run)
"$VMSHIFT" runs resume --json "$rid" > res.json 2> err || fail "resume: $(cat err)"
jq -e -s '[.[] | select(.step == "status")] | length == 3 and
    all(.[]; .state != "pending" and .bytes_copied > 0)' res.json > /dev/null ||
    fail "resume status events: $(grep status res.json)"
jq -e -s 'all(.[] | select(.step == "complete" and .vm); .bytes_copied > 0)' res.json > /dev/null ||
    fail "resumed VMs lost their bytes"
[ "$("$VMSHIFT" runs show --json "$rid" | jq -r .state)" = complete ] ||
    fail "resumed run not complete"
# 5. cleanup of a --test run into pre/new, where pre/ was there before
# (empty): the folders the run made (new/, the VM folders) go, pre/ stays
mkdir -p pre
jq --arg t "$tmp/pre/new" '.name = "lc" | .target.test_location = $t' p.json > lc.json
"$VMSHIFT" migrate --yes --test lc.json > /dev/null 2> err || fail "local test run: $(cat err)"
lid=$(last_run)
[ -f pre/new/db01-vmshift-test/db01.qcow2 ] || fail "no test disk in pre/new"
"$VMSHIFT" runs cleanup "$lid" > /dev/null 2> err || fail "local cleanup: $(cat err)"
[ -d pre ] || fail "cleanup removed a folder the run did not make"
[ -z "$(ls -A pre)" ] || fail "cleanup left $(find pre | head -5)"
echo "migration progress ok"
