#!/bin/sh
# Where an ONTAP conversion's time goes, on the test environment: the
# REST and NFS busy times (the library's union of outstanding requests
# over its threads) and the host's own time, in 'vmshift convert --json'
# records and in 'vmshift bench --ontap' (text and --json), with the
# simulator answering at once and after 50 ms.  Only relations are
# checked, never absolute times: busy times within the wall time, either
# kind within their union and the union within their sum, and at 50 ms
# the run's own requests (one after another on one thread) at least 50 ms
# each.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/testenv.sh"
. "$(dirname "$0")/../lib/ontap.sh"
ontap_testenv awk
cleanup_fn tctl '{"delay_ms": 0}'

# le A B: A <= B (decimals)
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

# one record of 'vmshift convert --json'
tctl '{"delay_ms": 0}'
make_vmdk "$v1/bt" disk 16
vsh convert --json ontap://testenv/vol1/bt/disk.vmdk \
    ontap://testenv/vol1/btout/disk.vhdx > "$tmp/rec.json" || fail "convert"
for k in call_seconds rest_busy_seconds nfs_busy_seconds remote_busy_seconds; do
    jq -e ".$k | type == \"number\"" "$tmp/rec.json" >/dev/null ||
        fail "record has no number $k"
done
r=$tmp/rec.json
call=$(jq .call_seconds "$r") rest=$(jq .rest_busy_seconds "$r")
nfs=$(jq .nfs_busy_seconds "$r") any=$(jq .remote_busy_seconds "$r")
wall=$(jq .wall_seconds "$r")
le 0.000001 "$rest" || fail "no REST time counted ($rest s)"
le 0.000001 "$nfs" || fail "no NFS time counted ($nfs s)"
le "$rest" "$any" || fail "REST $rest s above either's $any s"
le "$nfs" "$any" || fail "NFS $nfs s above either's $any s"
# (the record rounds to 6 digits: a little slack)
le "$any" "$(awk -v a="$rest" -v b="$nfs" 'BEGIN { print a + b + 1e-4 }')" ||
    fail "union $any s above REST + NFS ($rest + $nfs s)"
le "$any" "$call" || fail "busy $any s above the call's $call s"
le "$wall" "$call" || fail "the disk's $wall s above the call's $call s"

# the bench, at 0 and at 50 ms a request
q=bt$$
curl -sS --cacert "$VMSHIFT_TESTENV_CA_FILE" -o /dev/null \
    -u "$VMSHIFT_TESTENV_USER:$(cat "$VMSHIFT_TESTENV_PASSWORD_FILE")" \
    -H 'Content-Type: application/json' -X POST \
    --data-binary "{\"svm\": {\"name\": \"svm0\"}, \"volume\": {\"name\": \"vol1\"}, \"name\": \"$q\", \"security_style\": \"ntfs\"}" \
    "$VMSHIFT_TESTENV_URL/api/storage/qtrees?return_timeout=30" ||
    fail "qtree $q"
[ -d "$v1/$q" ] || fail "qtree $q was not made"
cleanup_fn rm -rf "$v1/$q"
bench() {
    vsh bench --ontap "ontap://testenv/vol1/$q" --local-dir "$v1/$q" \
        --vms 2 --disks-per-vm 2 --disk-size 4G --parallel 2 --runs 1 "$@"
}
for d in 0 50; do
    tctl "{\"delay_ms\": $d}"
    bench --json > "$tmp/b$d.json" || fail "bench --json at $d ms"
    o=.ontap
    for k in median_ms rest_busy_median_ms host_side_median_ms \
             nfs_busy_median_ms host_only_median_ms cpu_median_ms; do
        jq -e "$o.$k | type == \"number\" and . >= 0" "$tmp/b$d.json" \
            >/dev/null || fail "at $d ms: bench --json has no $k"
    done
    jq -e "$o.clocks.wall and $o.clocks.busy and $o.clocks.cpu" \
        "$tmp/b$d.json" >/dev/null || fail "bench --json does not name clocks"
    r=$tmp/b$d.json
    wall=$(jq $o.median_ms "$r") rest=$(jq $o.rest_busy_median_ms "$r")
    host=$(jq $o.host_side_median_ms "$r") nfs=$(jq $o.nfs_busy_median_ms "$r")
    only=$(jq $o.host_only_median_ms "$r") cpu=$(jq $o.cpu_median_ms "$r")
    reqs=$(jq $o.run_requests "$r")
    le 0.001 "$rest" || fail "at $d ms: no REST time ($rest ms)"
    le "$rest" "$wall" || fail "at $d ms: REST $rest ms above wall $wall ms"
    le 0 "$host" || fail "at $d ms: host side $host ms below 0"
    le "$host" "$wall" || fail "at $d ms: host side $host ms above wall"
    # wall = rest + host, up to the printed rounding
    le "$(awk -v a="$rest" -v b="$host" -v w="$wall" 'BEGIN {
        d = a + b - w; print d < 0 ? -d : d }')" 0.2 ||
        fail "at $d ms: REST $rest + host $host ms is not wall $wall ms"
    le "$only" "$host" || fail "at $d ms: host only $only above host $host ms"
    le "$nfs" "$wall" || fail "at $d ms: NFS $nfs ms above wall $wall ms"
    le 0.001 "$cpu" || fail "at $d ms: no CPU time"
    if [ "$d" = 50 ]; then
        # the run's own requests go one after another on one thread
        le "$((reqs * 50))" "$rest" ||
            fail "at 50 ms: REST busy $rest ms below $reqs requests x 50 ms"
    fi
    echo "delay $d ms: wall $wall, REST $rest, host $host, NFS $nfs," \
         "host only $only, CPU $cpu (ms)"
done
tctl '{"delay_ms": 0}'
bench > "$tmp/b.txt" || fail "bench (text)"
for w in "ONTAP busy" "host side" "NFS busy" "host only" "CPU time" \
         CLOCK_MONOTONIC getrusage; do
    grep -q "$w" "$tmp/b.txt" || fail "bench text has no '$w'"
done
exit 0
