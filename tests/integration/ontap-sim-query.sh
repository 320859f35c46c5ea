#!/bin/sh
# ontap-sim: fields= checked against ONTAP 9.15.1's field names (error
# 262197 for an unknown one, *, **, nested names, a trailing comma,
# ignore_unknown_fields=true) and the query operators (object field by
# name, "quoted" literals, * | ! < > <= >= ..), as request/response
# pairs.  The rules and their sources: docs/ontap-sim.md.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/sim.sh"

tmpdir
mkdir -p "$tmp/root/vol1" "$tmp/root/vol2"
start_sim "$tmp/root" --job-duration-ms 20

expect_fields_error() {   # NAME WHAT
    expect_error 400 262197 fields "$2"
    want="The value \"$1\" is invalid for field \"fields\" (<field,...>)"
    [ "$(jqo .error.message)" = "$want" ] ||
        fail "$2: message '$(jqo .error.message)', expected '$want'"
}
names() { jqo '[.records[].name] | join(" ")'; }

# --- fields=: unknown names
api GET "/api/storage/volumes?fields=bogus"
expect_fields_error bogus "unknown volume field"
api GET "/api/storage/volumes?fields=name,space.bogus"
expect_fields_error space.bogus "unknown nested volume field"
# space.snapshot.autodelete came with 9.13 as an object; a misspelling of
# a member is refused like ONTAP refused it on 9.11 (ansible issue #184).
api GET "/api/storage/volumes?fields=space.snapshot.autodelet"
expect_fields_error space.snapshot.autodelet "misspelt nested field"
api GET "/api/storage/volumes?fields=granular_data_mode"
expect_fields_error granular_data_mode "a 9.16 field on 9.15.1"
api GET "/api/storage/volumes?fields=svm.nme"
expect_fields_error svm.nme "a misspelt reference member"
api GET "/api/storage/qtrees?fields=unix_permission"
expect_fields_error unix_permission "unknown qtree field"
vol1=$(api GET "/api/storage/volumes?name=vol1" && jqo '.records[0].uuid')
api GET "/api/storage/volumes/$vol1?fields=bogus"
expect_fields_error bogus "unknown field on one volume"
api GET "/api/cluster?fields=versions"
expect_fields_error versions "unknown cluster field"
api GET "/api/svm/svms?fields=nam"
expect_fields_error nam "unknown svm field"
api GET "/api/cluster/jobs?fields=status"
expect_fields_error status "unknown job field"
api GET "/api/storage/volumes/$vol1/snapshots?fields=create_tme"
expect_fields_error create_tme "unknown snapshot field"

# --- fields=: names ONTAP has are accepted, served or not
api GET "/api/storage/volumes?fields=space.used"
expect_status 200 "fields=space.used"
[ "$(jqo '[.records[].space | keys | join(",")] | unique | join(" ")')" = used ] ||
    fail "fields=space.used: $(cat "$out")"
api GET "/api/storage/volumes?fields=statistics.iops_raw.read,anti_ransomware.state,efficiency.compression"
expect_status 200 "fields ONTAP has and the simulator does not fill"
[ "$(jqo '[.records[] | has("statistics")] | any')" = false ] ||
    fail "the simulator made up statistics: $(cat "$out")"
api GET "/api/storage/volumes?fields=*"
expect_status 200 "fields=*"
[ "$(jqo '.records[0] | has("space") and has("nas")')" = true ] || fail "fields=*: $(cat "$out")"
api GET "/api/storage/volumes?fields=**"
expect_status 200 "fields=**"
[ "$(jqo '.records[0] | has("space") and has("nas")')" = true ] || fail "fields=**: $(cat "$out")"
api GET "/api/storage/volumes?fields=name,style,"
expect_status 200 "a trailing comma"
[ "$(jqo '[.records[].style] | unique | join(" ")')" = flexvol ] || fail "trailing comma: $(cat "$out")"
api GET "/api/storage/volumes?fields=bogus,style&ignore_unknown_fields=true"
expect_status 200 "ignore_unknown_fields=true"
[ "$(jqo '[.records[0] | keys[]] | join(",")')" = "_links,name,style,uuid" ] ||
    fail "ignore_unknown_fields=true: $(cat "$out")"
api GET "/api/storage/volumes?fields=bogus&ignore_unknown_fields=false"
expect_fields_error bogus "ignore_unknown_fields=false"

# --- qtrees to filter
for q in q1 q10 q2; do
    api POST "/api/storage/qtrees?return_timeout=10" \
        "{\"svm\": {\"name\": \"svm0\"}, \"volume\": {\"name\": \"vol1\"}, \"name\": \"$q\"}"
    expect_status 201 "POST qtree $q"
done
api POST "/api/storage/qtrees?return_timeout=10" \
    '{"svm": {"name": "svm0"}, "volume": {"name": "vol2"}, "name": "q1", "security_style": "ntfs"}'
expect_status 201 "POST qtree vol2/q1"

# The query NetApp's qtree module sends (na_ontap_qtree.py get_qtree):
# an object field by its name, and the qtree name in double quotes.
api GET '/api/storage/qtrees?fields=export_policy,unix_permissions,security_style,volume&svm.name=svm0&volume=vol1&name=%22q1%22'
expect_status 200 "the ansible qtree query"
[ "$(jqo .num_records)" = 1 ] || fail "volume=vol1&name=\"q1\": $(cat "$out")"
[ "$(jqo '.records[0].volume.name + "/" + .records[0].name')" = vol1/q1 ] || fail "wrong qtree: $(cat "$out")"
[ "$(jqo '.records[0].security_style')" = unix ] || fail "security_style: $(cat "$out")"
api GET "/api/storage/qtrees?volume=$vol1&fields=name"
[ "$(names)" = " q1 q10 q2" ] || fail "volume=<uuid>: '$(names)'"
api GET '/api/storage/qtrees?name=%22q*%22'
[ "$(jqo .num_records)" = 0 ] || fail "a quoted * is literal: $(names)"
api GET '/api/storage/qtrees?name=q1*&volume=vol1'
[ "$(names)" = "q1 q10" ] || fail "name=q1*: '$(names)'"
api GET '/api/storage/qtrees?volume=vol1&name=*2'
[ "$(names)" = "q2" ] || fail "name=*2: '$(names)'"
api GET '/api/storage/qtrees?volume=vol1&name=!q1*'
[ "$(names)" = " q2" ] || fail "name=!q1*: '$(names)'"
api GET '/api/storage/qtrees?volume=vol1&name=q1|q2'
[ "$(names)" = "q1 q2" ] || fail "name=q1|q2: '$(names)'"
api GET '/api/storage/qtrees?volume=vol1&id=%3E1'
[ "$(names)" = "q10 q2" ] || fail "id=>1: '$(names)'"
api GET '/api/storage/qtrees?volume=vol1&id=%3C%3D1'
[ "$(names)" = " q1" ] || fail "id=<=1: '$(names)'"
api GET '/api/storage/qtrees?volume=vol1&id=%3C1'
[ "$(jqo '[.records[].id] | join(",")')" = 0 ] || fail "id=<1: $(cat "$out")"
api GET '/api/storage/qtrees?volume=vol1&id=%3E%3D3'
[ "$(names)" = "q2" ] || fail "id=>=3: '$(names)'"
api GET '/api/storage/qtrees?volume=vol1&id=1..2'
[ "$(names)" = "q1 q10" ] || fail "id=1..2: '$(names)'"
api GET '/api/storage/qtrees?volume=vol1&id=!0|3'
[ "$(names)" = "q1 q10 q2" ] || fail "id=!0|3: '$(names)'"
api GET '/api/storage/qtrees?security_style=ntfs'
[ "$(jqo '[.records[] | .volume.name + "/" + .name] | join(" ")')" = vol2/q1 ] ||
    fail "security_style=ntfs: $(cat "$out")"
# Numbers compare as numbers (10 > 9), names as text.
api GET '/api/storage/qtrees?volume=vol1&name=%3Eq10'
[ "$(names)" = "q2" ] || fail "name=>q10: '$(names)'"

stop_sim_checked
echo ok
