#!/bin/sh
# ontap-sim: jobs stepping queued -> running -> success and being purged,
# return_timeout, qtrees (ids only via GET, qtree0, security styles),
# and the injected faults: 5xx (seeded), EBUSY, dropped connections,
# hidden jobs, job failures, latency, plus the control endpoint.
# shellcheck disable=SC2015 # "A && B || fail" means fail unless both hold
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/sim.sh"

tmpdir
mkdir -p "$tmp/root/vol1" "$tmp/root/vol2"
start_sim "$tmp/root" --job-duration-ms 8000

vol1=$(api GET "/api/storage/volumes?name=vol1" && jqo '.records[0].uuid')

# --- a job steps through queued, running, success
api POST /api/storage/qtrees '{"svm": {"name": "svm0"}, "volume": {"name": "vol1"}, "name": "q1", "security_style": "ntfs", "unix_permissions": 750}'
expect_status 202 "POST qtree"
job=$(jqo .job.uuid)
[ "$(jqo .job._links.self.href)" = "/api/cluster/jobs/$job" ] || fail "job link $(jqo .job)"
[ "$(jqo 'has("id")')" = false ] || fail "the qtree POST reply carries an id"
seen=""
i=0
while :; do
    api GET "/api/cluster/jobs/$job"
    expect_status 200 "GET job"
    s=$(jqo .state)
    case " $seen " in *" $s "*) ;; *) seen="$seen $s" ;; esac
    case $s in success|failure) break ;; esac
    i=$((i + 1)); [ $i -lt 300 ] || fail "job never finished"
    sleep 0.05
done
[ "$seen" = " queued running success" ] || fail "job states seen:$seen"
[ "$(jqo '.code | type')" = number ] || fail "job code is not a number"
[ -n "$(jqo .end_time)" ] && [ -n "$(jqo .start_time)" ] || fail "job times missing"
[ "$(jqo .description)" = "POST /api/storage/qtrees" ] || fail "description $(jqo .description)"

# --- qtrees: the id comes from GET; qtree0 is there; styles recorded
[ -d "$tmp/root/vol1/q1" ] || fail "qtree directory not created"
[ "$(stat -c %a "$tmp/root/vol1/q1")" = 750 ] || fail "unix_permissions not applied"
api GET "/api/storage/qtrees?volume.name=vol1&fields=security_style,unix_permissions,path"
expect_status 200 "GET qtrees"
[ "$(jqo '[.records[] | "\(.id):\(.name):\(.security_style)"] | join(" ")')" = "0::unix 1:q1:ntfs" ] ||
    fail "qtrees: $(jqo '.records')"
[ "$(jqo '.records[1].unix_permissions')" = 750 ] || fail "unix_permissions $(jqo '.records[1].unix_permissions')"
[ "$(jqo '.records[1].path')" = /vol1/q1 ] || fail "qtree path"
api GET "/api/storage/qtrees/$vol1/1"
expect_status 200 "GET qtree by id"
[ "$(jqo .name)" = q1 ] || fail "qtree 1 is $(jqo .name)"
api POST /api/storage/qtrees '{"volume": {"name": "vol1"}, "name": "q1"}'
expect_error 409 1 name "duplicate qtree"
api POST /api/storage/qtrees '{"volume": {"name": "vol1"}, "name": "q2", "security_style": "fancy"}'
expect_error 400 2 security_style "bad security style"
api POST /api/storage/qtrees '{"volume": {"name": "nope"}, "name": "q2"}'
expect_error 404 4 volume.name "unknown volume"
api POST /api/storage/qtrees '{"volume": {"name": "vol1"}, "name": "../x"}'
expect_error 400 2 name "qtree name with a slash"
api DELETE "/api/storage/qtrees/$vol1/0"
expect_error 400 2 id "deleting qtree0"

# --- return_timeout: completes within it -> 201/200, not 202
ctl '{"job_duration_ms": 100}'
api POST "/api/storage/qtrees?return_timeout=10" '{"volume": {"name": "vol2"}, "name": "q9"}'
expect_status 201 "POST qtree with return_timeout"
api DELETE "/api/storage/qtrees/$(api GET "/api/storage/volumes?name=vol2" && jqo '.records[0].uuid')/1?return_timeout=10"
expect_status 200 "DELETE qtree with return_timeout"
[ ! -e "$tmp/root/vol2/q9" ] || fail "qtree q9 not deleted"
api POST "/api/storage/qtrees?return_timeout=121" '{"volume": {"name": "vol2"}, "name": "q8"}'
expect_error 400 2 return_timeout "return_timeout=121"
sleep 0.4
[ ! -e "$tmp/root/vol2/q8" ] || fail "a request refused for its return_timeout still ran"

# --- purge: a finished job disappears after job_purge_ms (long enough
# for wait_job to see it finished on a loaded machine)
ctl '{"job_purge_ms": 2000}'
api POST /api/storage/qtrees '{"volume": {"name": "vol2"}, "name": "q3"}'
job=$(jqo .job.uuid)
wait_job "$job"
sleep 2.5
api GET "/api/cluster/jobs/$job"
expect_error 404 4 uuid "purged job"
[ "$(jqo .error.message)" = "entry doesn't exist" ] || fail "purged job message"
ctl '{"job_purge_ms": 300000}'

# --- fault: job failure
ctl '{"fail_jobs": 1}'
api POST /api/storage/qtrees '{"volume": {"name": "vol2"}, "name": "q4"}'
job=$(jqo .job.uuid)
wait_job "$job"
[ "$job_state" = failure ] || fail "fail_jobs: job ended in $job_state"
api GET "/api/cluster/jobs/$job"
[ "$(jqo .code)" != 0 ] && [ -n "$(jqo .message)" ] || fail "failed job without code/message"
[ ! -e "$tmp/root/vol2/q4" ] || fail "a failed job still did its work"
ctl '{}'
[ "$(counter jobs_failed)" = 1 ] || fail "jobs_failed counter $(counter jobs_failed)"
# A failure within return_timeout is 202 with the job link; the failure
# is in the job record (docs/ontap-sim.md, "Jobs").
ctl '{"fail_jobs": 1}'
api POST "/api/storage/qtrees?return_timeout=10" '{"volume": {"name": "vol2"}, "name": "q4"}'
expect_status 202 "failed job within return_timeout"
job=$(jqo .job.uuid)
[ "$(jqo .job._links.self.href)" = "/api/cluster/jobs/$job" ] || fail "no job link: $(cat "$out")"
api GET "/api/cluster/jobs/$job"
[ "$(jqo .state)" = failure ] && [ "$(jqo .code)" != 0 ] && [ -n "$(jqo .message)" ] ||
    fail "the job of a failure within return_timeout: $(cat "$out")"

# --- fault: hidden job (never visible), the work still happens
ctl '{"hide_jobs": 1}'
api POST /api/storage/qtrees '{"volume": {"name": "vol2"}, "name": "q5"}'
expect_status 202 "POST with a hidden job"
job=$(jqo .job.uuid)
api GET "/api/cluster/jobs/$job"
expect_error 404 4 uuid "hidden job"
i=0
while [ ! -d "$tmp/root/vol2/q5" ]; do
    i=$((i + 1)); [ $i -lt 100 ] || fail "hidden job never did its work"
    sleep 0.05
done
api GET "/api/cluster/jobs?fields=uuid"
[ "$(jqo "[.records[].uuid] | index(\"$job\")")" = null ] || fail "hidden job listed"

# --- fault: 5xx, reproducible with a seed
pattern() {
    ctl "{\"error_rate\": 0.5, \"seed\": $1}"
    p=""
    for n in 1 2 3 4 5 6 7 8 9 10 11 12; do
        api GET /api/cluster
        p="$p$status,"
    done
    ctl '{"error_rate": 0}'
    echo "$p"
}
p1=$(pattern 42)
p2=$(pattern 42)
[ "$p1" = "$p2" ] || fail "seeded 5xx not reproducible: $p1 vs $p2"
case $p1 in *500*) ;; *) fail "error_rate 0.5 gave no 500 in 12 requests: $p1" ;; esac
case $p1 in *200*) ;; *) fail "error_rate 0.5 gave no 200 in 12 requests: $p1" ;; esac
ctl '{"error_rate": 1}'
api GET /api/cluster
expect_error 500 1 "" "error_rate 1"
ctl '{"error_rate": 0}'

# --- fault: EBUSY (split load) for N clone calls, then through
ctl '{"ebusy_count": 2}'
for n in 1 2; do
    api POST /api/storage/file/clone '{"volume": {"name": "vol1"}, "source_path": "a", "destination_path": "b"}'
    expect_error 409 8 "" "split-load refusal $n"
    jqo .error.message | grep -q "split load" || fail "EBUSY message: $(jqo .error.message)"
done
api POST /api/storage/file/clone '{"volume": {"name": "vol1"}, "source_path": "a", "destination_path": "b"}'
expect_error 404 4 source_path "clone after the refusals"

# --- fault: dropped connection, limited by fault_match
ctl '{"drop_count": 1, "fault_match": "POST /api/storage/qtrees"}'
api GET /api/cluster
expect_status 200 "GET not matched by fault_match"
rc=0
curl -sS --cacert "$SIM_CA" -K "$SIM_DIR/curlrc" -o /dev/null -X POST \
    --data-binary '{"volume": {"name": "vol2"}, "name": "q6"}' \
    "$SIM_URL/api/storage/qtrees" 2>/dev/null || rc=$?
[ "$rc" = 52 ] || fail "dropped connection: curl exit $rc, expected 52 (empty reply)"
api POST /api/storage/qtrees '{"volume": {"name": "vol2"}, "name": "q6"}'
expect_status 202 "POST after the drop"
ctl '{"fault_match": ""}'

# --- latency
ctl '{"delay_ms": 400}'
t0=$(date +%s%N)
api GET /api/cluster
t1=$(date +%s%N)
[ $(((t1 - t0) / 1000000)) -ge 400 ] || fail "delay_ms 400 took $(((t1 - t0) / 1000000)) ms"
ctl '{"delay_ms": 0}'

# --- control endpoint: bad input is refused, settings and counters read
code=$(curl -sS --cacert "$SIM_CA" -o /dev/null -w '%{http_code}' -X POST \
    --data-binary '{"drop_cuont": 1}' "$SIM_URL/sim/control")
[ "$code" = 400 ] || fail "unknown control key gave $code"
code=$(curl -sS --cacert "$SIM_CA" -o /dev/null -w '%{http_code}' -X POST \
    --data-binary '{"error_rate": 2}' "$SIM_URL/sim/control")
[ "$code" = 400 ] || fail "error_rate 2 gave $code"
ctl '{}'
[ "$(counter dropped)" = 1 ] && [ "$(counter injected_ebusy)" = 2 ] &&
    [ "$(counter injected_5xx)" -ge 1 ] || fail "counters: $(cat "$SIM_DIR/ctl")"
jq -e -s 'any(.[]; .fault == "drop" and .status == 0)' "$SIM_LOG" >/dev/null ||
    fail "the dropped request is not in the log"

# --- clean shutdown on SIGTERM
kill -TERM "$SIM_PID"
i=0
while kill -0 "$SIM_PID" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 50 ] || fail "ontap-sim ignored SIGTERM"
    sleep 0.1
done
wait "$SIM_PID"; rc=$?
[ "$rc" = 0 ] || fail "ontap-sim exited $rc on SIGTERM"
SIM_PID=
echo "ok"
