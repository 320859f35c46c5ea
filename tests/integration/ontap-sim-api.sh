#!/bin/sh
# ontap-sim: authentication, the error envelope, fields=, query filters,
# pagination with _links.next, Accept: application/json, and the
# request log (contents, and no secrets in it).
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/sim.sh"

tmpdir
mkdir -p "$tmp/root/vol1" "$tmp/root/vol2" "$tmp/root/vol3" "$tmp/root/fg1"
start_sim "$tmp/root" --flexgroup fg1 --cluster-name c1 --ontap-version 9.13.1

# --- authentication
api -n GET /api/cluster
expect_status 401 "no credentials"
if jq -e . "$out" >/dev/null 2>&1; then
    fail "the 401 body is JSON; it should be plain text: $(cat "$out")"
fi
[ -s "$out" ] || fail "the 401 reply has an empty body"
api -u "admin:wrong" GET /api/cluster
expect_status 401 "wrong password"
api -u "root:$SIM_PASSWORD" GET /api/cluster
expect_status 401 "wrong user"
hdr=$(curl -sS --cacert "$SIM_CA" -o /dev/null -D - "$SIM_URL/api/cluster")
echo "$hdr" | grep -qi '^WWW-Authenticate: Basic' || fail "no WWW-Authenticate header: $hdr"
# TLS verification works against the throwaway CA and fails without it.
if curl -sS -o /dev/null "$SIM_URL/api/cluster" 2>/dev/null; then
    fail "curl accepted the simulator's certificate without the test CA"
fi

# --- cluster, fields=
api GET /api/cluster
expect_status 200 "GET /api/cluster"
[ "$(jqo .name)" = c1 ] || fail "cluster name $(jqo .name)"
[ "$(jqo '.version.generation, .version.major, .version.minor' | tr '\n' .)" = 9.13.1. ] ||
    fail "version $(jqo .version)"
[ "$(jqo '.version.major | type')" = number ] || fail "version.major is not a number"
api GET "/api/cluster?fields=version"
expect_status 200 "GET /api/cluster?fields=version"
[ "$(jqo 'has("version") and (has("health") | not)')" = true ] ||
    fail "fields=version did not narrow the reply: $(cat "$out")"

# --- the error envelope
api GET /api/storage/volumes/00000000-0000-0000-0000-000000000000
expect_error 404 4 uuid "unknown volume"
[ "$(jqo .error.message)" = "entry doesn't exist" ] || fail "message $(jqo .error.message)"
api GET /api/no/such/thing
expect_error 404 3 "" "unknown API path"
api DELETE /api/cluster
expect_error 405 3 "" "DELETE /api/cluster"
api POST /api/storage/qtrees '{"volume": {"name": "vol1"}'
expect_error 400 2 "" "malformed JSON body"

# --- collections: default fields, fields=, filters
api GET /api/storage/volumes
expect_status 200 "GET volumes"
[ "$(jqo .num_records)" = 4 ] || fail "num_records $(jqo .num_records)"
[ "$(jqo '[.records[] | keys] | unique | .[0] | join(",")')" = "_links,name,uuid" ] ||
    fail "default volume fields: $(jqo '.records[0] | keys')"
api GET "/api/storage/volumes?fields=style,svm.name,nas.path&name=fg1"
expect_status 200 "GET volumes fields+filter"
[ "$(jqo '.records | length')" = 1 ] || fail "name=fg1 matched $(jqo '.records | length')"
[ "$(jqo '.records[0].style')" = flexgroup ] || fail "fg1 style $(jqo '.records[0].style')"
[ "$(jqo '.records[0].nas.path')" = /fg1 ] || fail "fg1 nas.path $(jqo '.records[0].nas.path')"
[ "$(jqo '.records[0].svm | keys | join(",")')" = name ] ||
    fail "svm.name selected more than svm.name: $(jqo '.records[0].svm')"
api GET "/api/storage/volumes?style=flexvol&fields=style"
[ "$(jqo '[.records[].name] | join(" ")')" = "vol1 vol2 vol3" ] ||
    fail "style=flexvol gave $(jqo '[.records[].name]')"
api GET "/api/storage/volumes?name=vol1|vol3"
[ "$(jqo '[.records[].name] | join(" ")')" = "vol1 vol3" ] || fail "name=vol1|vol3"
api GET "/api/storage/volumes?name=!vol*"
[ "$(jqo '[.records[].name] | join(" ")')" = fg1 ] || fail "name=!vol*"
api GET "/api/storage/volumes?name=nothing"
[ "$(jqo .num_records)" = 0 ] || fail "a filter matching nothing"
api GET "/api/storage/volumes?return_records=false"
[ "$(jqo '.num_records, has("records")' | tr '\n' ' ')" = "4 false " ] ||
    fail "return_records=false: $(cat "$out")"
api GET "/api/svm/svms?fields=name"
[ "$(jqo '.records[0].name')" = svm0 ] || fail "svm name $(jqo '.records[0].name')"

# --- pagination: follow _links.next until it is gone
names="" pages=0 next="/api/storage/volumes?max_records=1&fields=name"
while [ -n "$next" ]; do
    api GET "$next"
    expect_status 200 "page $pages"
    [ "$(jqo .num_records)" = 1 ] || fail "page $pages has $(jqo .num_records) records"
    names="$names $(jqo '.records[0].name')"
    next=$(jqo '._links.next.href // empty')
    pages=$((pages + 1))
    [ $pages -le 10 ] || fail "pagination does not end"
done
[ "$names" = " fg1 vol1 vol2 vol3" ] || fail "pages gave '$names'"
api GET "/api/storage/volumes?max_records=0"
expect_error 400 2 max_records "max_records=0"
api GET "/api/storage/volumes?max_records=abc"
expect_error 400 2 max_records "max_records=abc"

# --- Accept: application/json drops HAL links except the next one
api -H "Accept: application/json" GET "/api/storage/volumes?max_records=2"
[ "$(jqo '[.records[] | has("_links")] | any')" = false ] || fail "record _links with application/json"
[ "$(jqo '._links | keys | join(",")')" = next ] || fail "top _links: $(jqo ._links)"

# --- request log: one JSON line per request, no secrets
[ -s "$SIM_LOG" ] || fail "request log is empty"
jq -e -s 'all(.[]; has("method") and has("path") and has("query") and has("status") and has("duration_ms"))' \
    "$SIM_LOG" >/dev/null || fail "request log lines lack fields"
jq -e -s 'any(.[]; .status == 401 and .path == "/api/cluster")' "$SIM_LOG" >/dev/null ||
    fail "the 401 is not logged"
jq -e -s 'any(.[]; .query == "max_records=1&fields=name")' "$SIM_LOG" >/dev/null ||
    fail "queries are not logged"
jq -e -s 'any(.[]; .client_app == "vmshift-tests")' "$SIM_LOG" >/dev/null ||
    fail "X-Dot-Client-App is not logged"
b64=$(printf 'admin:%s' "$SIM_PASSWORD" | base64)
if grep -q -e "$SIM_PASSWORD" -e "$b64" -e "wrong" -i -e authorization "$SIM_LOG"; then
    fail "the request log contains credentials"
fi
stop_sim_checked
echo "ok"
