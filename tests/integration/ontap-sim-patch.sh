#!/bin/sh
# ontap-sim: PATCH on qtrees (name, security_style, unix_permissions as
# ONTAP takes them, integer or string) and on snapshots (rename), with
# the job semantics of POST: 202 + job, 200 within return_timeout, a
# failure reported through the job record.  Rules: docs/ontap-sim.md.
# shellcheck disable=SC2015 # "A && B || fail" means fail unless both hold
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/sim.sh"

tmpdir
mkdir -p "$tmp/root/vol1"
start_sim "$tmp/root" --job-duration-ms 100
vol1=$(api GET "/api/storage/volumes?name=vol1" && jqo '.records[0].uuid')

# --- qtree: create with permissions as a string (NetApp's module sends
# its unix_permissions option as a string, "0750")
api POST "/api/storage/qtrees?return_timeout=10" \
    '{"svm": {"name": "svm0"}, "volume": {"name": "vol1"}, "name": "qa", "unix_permissions": "0750"}'
expect_status 201 "POST qtree with unix_permissions \"0750\""
[ "$(stat -c %a "$tmp/root/vol1/qa")" = 750 ] || fail "mode $(stat -c %a "$tmp/root/vol1/qa")"
id=$(api GET '/api/storage/qtrees?volume=vol1&name=qa' && jqo '.records[0].id')

# --- PATCH without return_timeout: 202, the job does it
api PATCH "/api/storage/qtrees/$vol1/$id" '{"security_style": "ntfs"}'
expect_status 202 "PATCH qtree"
job=$(jqo .job.uuid)
[ "$(jqo .job._links.self.href)" = "/api/cluster/jobs/$job" ] || fail "PATCH job link: $(cat "$out")"
wait_job "$job"
[ "$job_state" = success ] || fail "PATCH job ended $job_state"
api GET "/api/cluster/jobs/$job?fields=description"
[ "$(jqo .description)" = "PATCH /api/storage/qtrees/$vol1/$id" ] || fail "description $(jqo .description)"
api GET "/api/storage/qtrees/$vol1/$id?fields=security_style,unix_permissions"
[ "$(jqo .security_style)/$(jqo .unix_permissions)" = ntfs/750 ] || fail "after PATCH: $(cat "$out")"

# --- PATCH as NetApp's qtree module sends it: name always, return_timeout=10
api PATCH "/api/storage/qtrees/$vol1/$id?return_timeout=10" \
    '{"name": "qa", "security_style": "mixed", "unix_permissions": "0755"}'
expect_status 200 "PATCH qtree within return_timeout"
[ -n "$(jqo .job.uuid)" ] || fail "a PATCH done in time has no job link: $(cat "$out")"
api GET "/api/storage/qtrees/$vol1/$id?fields=security_style,unix_permissions"
[ "$(jqo .security_style)/$(jqo .unix_permissions)" = mixed/755 ] || fail "after PATCH: $(cat "$out")"
[ "$(stat -c %a "$tmp/root/vol1/qa")" = 755 ] || fail "mode after PATCH $(stat -c %a "$tmp/root/vol1/qa")"
api PATCH "/api/storage/qtrees/$vol1/$id?return_timeout=10" '{"unix_permissions": 1777}'
expect_status 200 "PATCH unix_permissions as an integer"
[ "$(stat -c %a "$tmp/root/vol1/qa")" = 1777 ] || fail "mode 1777: $(stat -c %a "$tmp/root/vol1/qa")"

# --- rename keeps the id
api PATCH "/api/storage/qtrees/$vol1/$id?return_timeout=10" '{"name": "qb"}'
expect_status 200 "rename qtree"
[ -d "$tmp/root/vol1/qb" ] && [ ! -e "$tmp/root/vol1/qa" ] || fail "rename did not move the directory"
api GET "/api/storage/qtrees/$vol1/$id"
[ "$(jqo .name)" = qb ] || fail "renamed qtree: $(cat "$out")"

# --- refused before any job: bad values, an existing name, qtree0
mkdir "$tmp/root/vol1/taken"
for bad in '{"unix_permissions": "rwxr-xr-x"}' '{"unix_permissions": 758}' \
           '{"unix_permissions": "17777"}' '{"unix_permissions": -1}'; do
    api PATCH "/api/storage/qtrees/$vol1/$id" "$bad"
    expect_error 400 2 unix_permissions "PATCH $bad"
done
api PATCH "/api/storage/qtrees/$vol1/$id" '{"security_style": "fancy"}'
expect_error 400 2 security_style "bad security style"
api PATCH "/api/storage/qtrees/$vol1/$id" '{"name": "taken"}'
expect_error 409 1 name "rename onto an existing directory"
api PATCH "/api/storage/qtrees/$vol1/0" '{"security_style": "ntfs"}'
expect_error 400 2 id "PATCH qtree0"
api PATCH "/api/storage/qtrees/$vol1/99" '{"security_style": "ntfs"}'
expect_error 404 4 id "PATCH a missing qtree"
api PATCH "/api/storage/qtrees/$vol1/$id" '{"user": {"name": "bob"}}'
expect_error 400 3 user "a field the simulator does not keep"

# --- a failing PATCH within return_timeout: 202 + job link, failure in the job
ctl '{"fail_jobs": 1}'
api PATCH "/api/storage/qtrees/$vol1/$id?return_timeout=10" '{"security_style": "unix"}'
expect_status 202 "failed PATCH within return_timeout"
api GET "/api/cluster/jobs/$(jqo .job.uuid)"
[ "$(jqo .state)" = failure ] && [ -n "$(jqo .message)" ] || fail "failed PATCH job: $(cat "$out")"
api GET "/api/storage/qtrees/$vol1/$id?fields=security_style"
[ "$(jqo .security_style)" = mixed ] || fail "a failed PATCH changed the style: $(cat "$out")"

# --- snapshots: rename keeps uuid and create_time, moves .snapshot/<name>
api POST "/api/storage/volumes/$vol1/snapshots?return_timeout=10" '{"name": "s1"}'
expect_status 201 "POST snapshot"
api GET "/api/storage/volumes/$vol1/snapshots?name=s1&fields=uuid,create_time"
suuid=$(jqo '.records[0].uuid') ctime=$(jqo '.records[0].create_time')
api PATCH "/api/storage/volumes/$vol1/snapshots/$suuid" '{"name": "s2"}'
expect_status 202 "PATCH snapshot"
wait_job "$(jqo .job.uuid)"
[ "$job_state" = success ] || fail "snapshot rename job $job_state"
[ -d "$tmp/root/vol1/.snapshot/s2" ] && [ ! -e "$tmp/root/vol1/.snapshot/s1" ] ||
    fail "rename did not move .snapshot/s1"
api GET "/api/storage/volumes/$vol1/snapshots/$suuid?fields=name,create_time"
expect_status 200 "GET renamed snapshot by its uuid"
[ "$(jqo .name)" = s2 ] && [ "$(jqo .create_time)" = "$ctime" ] || fail "renamed snapshot: $(cat "$out")"
api POST "/api/storage/volumes/$vol1/snapshots?return_timeout=10" '{"name": "s3"}'
api PATCH "/api/storage/volumes/$vol1/snapshots/$suuid?return_timeout=30" '{"name": "s3"}'
expect_error 409 1 name "rename onto an existing snapshot"
api PATCH "/api/storage/volumes/$vol1/snapshots/$suuid?return_timeout=30" '{"name": "s4"}'
expect_status 200 "PATCH snapshot within return_timeout"
api PATCH "/api/storage/volumes/$vol1/snapshots/$suuid" '{"comment": "x"}'
expect_error 400 3 comment "a snapshot field the simulator does not keep"
api PATCH "/api/storage/volumes/$vol1/snapshots/00000000-0000-0000-0000-000000000000" '{"name": "s5"}'
expect_error 404 4 uuid "PATCH a missing snapshot"

stop_sim_checked
echo ok
