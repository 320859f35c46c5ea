#!/bin/sh
# Fidelity of ontap-sim to recorded ONTAP replies (../shared/corpus/ontap,
# read in place; see its SOURCES.md section 5).  For each kind of reply
# the simulator gives, compare with the recorded one:
#   - every field in a list of fields the simulator claims to implement
#     exists in the recorded reply and in the simulator's, with the same
#     JSON type;
#   - every field path the two replies share has the same JSON type;
#   - a few values that are part of the protocol match exactly (the
#     "entry doesn't exist" error, job link hrefs, time formats).
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/sim.sh"

export LC_ALL=C
need_corpus ontap
C=$corpus/ontap
A=$C/netapp.ontap-ansible
H=$C/harvest
tmpdir
mkdir -p "$tmp/root/vol1/.snapshot/snap1" "$tmp/root/vol2"
start_sim "$tmp/root" --job-duration-ms 50

# "path type" lines, array indices written as [].
# shellcheck disable=SC2016 # a jq program, not shell
SIG='[paths as $p | ($p | map(if type == "number" then "[]" else . end) | join(".")) + " " + (getpath($p) | type)] | unique | .[]'

sig() {   # FILE JQ-SELECT -> signature on stdout
    case $1 in
        *.gz) gzip -dc "$1" ;;
        *) cat "$1" ;;
    esac | jq -r "$2 | $SIG"
}

checked=0
compare() {   # NAME CORPUS-FILE CORPUS-SELECT SIM-FILE SIM-SELECT REQUIRED...
    name=$1 cf=$2 cs=$3 sf=$4 ss=$5
    shift 5
    sig "$cf" "$cs" > "$tmp/c.sig" || fail "$name: cannot read $cf"
    sig "$sf" "$ss" > "$tmp/s.sig" || fail "$name: cannot read the simulator reply"
    for k in "$@"; do
        ct=$(awk -v k="$k" '$1 == k { print $2 }' "$tmp/c.sig")
        st=$(awk -v k="$k" '$1 == k { print $2 }' "$tmp/s.sig")
        [ -n "$ct" ] || fail "$name: '$k' is not in the recorded reply $(basename "$cf") (fix the list)"
        [ -n "$st" ] || fail "$name: the simulator's reply lacks '$k' (recorded: $ct)"
        [ "$ct" = "$st" ] || fail "$name: '$k' is $st in the simulator, $ct in $(basename "$cf")"
    done
    # Every shared path: same type.
    join "$tmp/c.sig" "$tmp/s.sig" 2>/dev/null | awk '$2 != $3' > "$tmp/diff"
    [ ! -s "$tmp/diff" ] || fail "$name: type mismatches (path recorded simulator): $(cat "$tmp/diff")"
    shared=$(join "$tmp/c.sig" "$tmp/s.sig" 2>/dev/null | wc -l)
    echo "$name: $# required fields, $shared shared paths agree"
    checked=$((checked + 1))
}

save() { cp "$out" "$tmp/$1.json"; }

time_re='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2}$'
check_time() {   # NAME VALUE
    echo "$2" | grep -Eq "$time_re" || fail "$1: time '$2' is not like ONTAP's 2021-06-14T18:43:08-04:00"
}

# --- GET /api/cluster
api GET /api/cluster; expect_status 200 "GET /api/cluster"; save cluster
compare cluster "$H/cluster.json" . "$tmp/cluster.json" . \
    name uuid version version.full version.generation version.major version.minor \
    _links.self.href

# --- GET /api/storage/volumes (collection, many fields)
api GET "/api/storage/volumes?fields=*"; expect_status 200 "GET volumes"; save volumes
compare volumes "$H/volume-1.json.gz" . "$tmp/volumes.json" . \
    records num_records _links.self.href records.[].uuid records.[].name \
    records.[].style records.[].type records.[].state records.[].size \
    records.[].svm.name records.[].svm.uuid records.[].svm._links.self.href \
    records.[].nas.export_policy.name records.[].space.size \
    records.[].space.available records.[].space.used records.[].snapshot_count \
    records.[]._links.self.href
styles=$(gzip -dc "$H/volume-1.json.gz" | jq -r '[.records[].style] | unique | join(" ")')
[ "$styles" = "flexgroup flexvol" ] || fail "recorded volume styles are '$styles'"
api GET "/api/storage/volumes?fields=style"
for s in $(jqo '.records[].style'); do
    case " $styles " in *" $s "*) ;; *) fail "simulator style '$s' not among '$styles'" ;; esac
done

# --- fields= narrows nested objects too (volume-poll-1: svm has only name)
[ "$(jq -r '[.records[].svm | keys | join(",")] | unique | join(" ")' "$H/volume-poll-1.json")" = name ] ||
    fail "volume-poll-1.json no longer shows svm narrowed to name"
api GET "/api/storage/volumes?fields=svm.name"; save volpoll
compare volume-poll "$H/volume-poll-1.json" . "$tmp/volpoll.json" . \
    records.[].uuid records.[].name records.[].svm.name records.[]._links.self.href
[ "$(jqo '[.records[].svm | keys | join(",")] | unique | join(" ")')" = name ] ||
    fail "fields=svm.name: $(jqo '[.records[].svm]')"

# --- num_records counts the records in this reply (file_readdata: 1 of 1)
[ "$(jq '.num_records == (.records | length)' "$H/file_readdata.json")" = true ] ||
    fail "file_readdata.json: num_records is not the record count"
api GET "/api/storage/volumes?max_records=1"
[ "$(jq '.num_records == (.records | length)' "$out")" = true ] || fail "num_records with max_records=1"

# --- POST snapshot: the job link (202)
vol1=$(api GET "/api/storage/volumes?name=vol1" && jqo '.records[0].uuid')
api POST "/api/storage/volumes/$vol1/snapshots" '{"name": "s2"}'
expect_status 202 "POST snapshot"; save joblink
compare job-link "$A/test_na_ontap_snapshot__create_response.json" .body "$tmp/joblink.json" . \
    job job.uuid job._links.self.href
for f in "$A/test_na_ontap_snapshot__create_response.json" "$A/test_na_ontap_qtree__job_info.json" \
         "$A/test_na_ontap_restit__job_id_record.json"; do
    [ "$(jq -r '.body.job._links.self.href == "/api/cluster/jobs/" + .body.job.uuid' "$f")" = true ] ||
        fail "$(basename "$f"): job href is not /api/cluster/jobs/<uuid>"
done
[ "$(jq -r '.job._links.self.href == "/api/cluster/jobs/" + .job.uuid' "$tmp/joblink.json")" = true ] ||
    fail "simulator job href is not /api/cluster/jobs/<uuid>"

# --- GET /api/cluster/jobs/{uuid}
job=$(jq -r .job.uuid "$tmp/joblink.json")
wait_job "$job"
api GET "/api/cluster/jobs/$job"; save job
compare job "$A/test_na_ontap_snapshot__job_response.json" .body "$tmp/job.json" . \
    uuid description state message code start_time end_time svm.name svm.uuid \
    svm._links.self.href _links.self.href
compare job-failure "$A/test_na_ontap_restit__job_response_record_failure.json" .body \
    "$tmp/job.json" . uuid description state message code start_time end_time
for f in "$A/test_na_ontap_rest_info__job.json" "$A/test_na_ontap_snapshot__job_response.json"; do
    check_time "$(basename "$f")" "$(jq -r .body.start_time "$f")"
done
check_time "simulator job start_time" "$(jq -r .start_time "$tmp/job.json")"
check_time "simulator job end_time" "$(jq -r .end_time "$tmp/job.json")"
for s in $(jq -r '.body.state' "$A"/*job_response*.json "$A/test_na_ontap_rest_info__job.json"); do
    case $s in queued|running|paused|success|failure) ;; *) fail "recorded job state '$s'" ;; esac
done

# --- a job that does not exist (purged)
api GET /api/cluster/jobs/d78811c1-aebc-11ec-b4de-005056b30cfa; save nojob
rec=$A/test_na_ontap_qtree__job_not_found.json
[ "$status" = "$(jq -r .http_status "$rec")" ] || fail "missing job: HTTP $status, recorded $(jq -r .http_status "$rec")"
for k in message code target; do
    [ "$(jq -c ".error.$k" "$rec")" = "$(jq -c ".error.$k" "$tmp/nojob.json")" ] ||
        fail "missing job: error.$k $(jq -c ".error.$k" "$tmp/nojob.json"), recorded $(jq -c ".error.$k" "$rec")"
done
echo "job-not-found: status, message, code (a string) and target match exactly"
checked=$((checked + 1))

# --- qtrees
api POST "/api/storage/qtrees?return_timeout=10" '{"svm": {"name": "svm0"}, "volume": {"name": "vol1"}, "name": "q1"}'
expect_status 201 "POST qtree"
api GET "/api/storage/qtrees?fields=*&name=q1"; save qtrees
compare qtree "$A/test_na_ontap_qtree__qtree_record.json" .body "$tmp/qtrees.json" . \
    records.[].id records.[].name records.[].security_style records.[].unix_permissions \
    records.[].export_policy.name records.[].svm.name records.[].volume.uuid \
    records.[].volume.name

# --- snapshots
api GET "/api/storage/volumes/$vol1/snapshots?fields=*"; save snaps
compare snapshots "$A/test_na_ontap_snapshot__snapshot_record.json" .body "$tmp/snaps.json" . \
    records.[].uuid records.[].name records.[].create_time records.[].volume.uuid \
    records.[].volume.name records.[].svm.uuid records.[].svm.name num_records
check_time "recorded snapshot create_time" \
    "$(jq -r '.body.records[0].create_time' "$A/test_na_ontap_snapshot__snapshot_record.json")"
check_time "simulator snapshot create_time" "$(jq -r '.records[0].create_time' "$tmp/snaps.json")"

# --- the error envelope: the recorded shapes are the simulator's
api GET /api/storage/volumes/00000000-0000-0000-0000-000000000000; save err
compare error "$rec" '{error}' "$tmp/err.json" . error error.message error.code error.target

# --- fields=: every field path in a recorded reply is a name ONTAP has,
# so the simulator must accept each of them in fields= (one request per
# resource, all names at once; 262197 names the first it refuses).
fieldpaths() {   # FILE JQ-SELECT -> comma-separated paths without _links
    case $1 in *.gz) gzip -dc "$1" ;; *) cat "$1" ;; esac |
        jq -r "[$2 | paths | map(select(type == \"string\")) | join(\".\")
                | select(length > 0 and (test(\"(^|[.])_links\") | not))] | unique | join(\",\")"
}
accepts() {   # NAME PATH FILE JQ-SELECT
    list=$(fieldpaths "$3" "$4")
    [ -n "$list" ] || fail "$1: no field paths in $(basename "$3")"
    api GET "$2?fields=$list"
    expect_status 200 "$1: fields= with every path of $(basename "$3")"
    echo "$1: $(echo "$list" | tr ',' '\n' | wc -l) recorded field paths accepted in fields="
    checked=$((checked + 1))
}
accepts volume-fields /api/storage/volumes "$H/volume-1.json.gz" '.records[]'
accepts volume-stat-fields /api/storage/volumes "$H/volume-poll-1.json" '.records[]'
accepts cluster-fields /api/cluster "$H/cluster.json" .
accepts snapshot-fields "/api/storage/volumes/$vol1/snapshots" \
    "$A/test_na_ontap_snapshot__snapshot_record.json" '.body.records[]'
accepts qtree-fields /api/storage/qtrees "$A/test_na_ontap_qtree__qtree_record.json" '.body.records[]'
accepts job-fields /api/cluster/jobs "$A/test_na_ontap_restit__job_response_record_failure.json" .body
# The fields the simulator itself serves are ONTAP names too.
accepts sim-volume-fields /api/storage/volumes "$tmp/volumes.json" '.records[]'
accepts sim-qtree-fields /api/storage/qtrees "$tmp/qtrees.json" '.records[]'
accepts sim-job-fields /api/cluster/jobs "$tmp/job.json" .

# Not compared, on purpose:
# - rest_info__error_user_is_not_authorized: a mocked reply with an integer
#   error.code and HTTP 500; the simulator sends string codes (docs/ontap-rest.md).
# - volume_clone_rest__volume_clone, rest_info__metrocluster_return,
#   quota.json, api-private-cli-volume: endpoints the simulator does not have.
[ "$checked" -ge 10 ] || fail "only $checked comparisons ran"
stop_sim_checked
echo "ok ($checked comparisons)"
