#!/bin/sh
# Paged property retrieval against VMware's vCenter simulator, started
# with -max-objects so that it honours RetrieveOptions.maxObjects and
# answers ContinueRetrievePropertiesEx (tests/vcsim/main.go; govmomi
# 0.24's simulator alone answers in one page).  An inventory of 300 VMs
# read 7 objects a page (VMSHIFT_VSPHERE_PAGE_SIZE) equals the one read
# in one page; the round trips are counted by the client and by the
# simulator; a bad page size is one line naming the variable.
# shellcheck disable=SC2015 # "A && B || fail" means fail unless both hold
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/vcsim.sh"

tmpdir
start_vcsim -max-objects -vm 150
vcsim_config "$tmp/cfg.json"
vs() { "$VMSHIFT" --config "$tmp/cfg.json" "$@"; }

c0=$(vcsim_count ContinueRetrievePropertiesEx) t0=$(vcsim_count total)
vs inventory --vcenter vc1 --json > "$tmp/one.json" 2> "$tmp/err" || fail "inventory: $(cat "$tmp/err")"
[ "$(jq '.vms | length' "$tmp/one.json")" = 300 ] || fail "VMs: $(jq '.vms | length' "$tmp/one.json")"
[ "$(vcsim_count ContinueRetrievePropertiesEx)" = "$c0" ] || fail "under 1000 objects took more than one page"
one=$(( $(vcsim_count total) - t0 ))

c0=$(vcsim_count ContinueRetrievePropertiesEx) t0=$(vcsim_count total)
VMSHIFT_VSPHERE_PAGE_SIZE=7 vs inventory --vcenter vc1 --json > "$tmp/paged.json" 2> "$tmp/err" ||
    fail "paged inventory: $(cat "$tmp/err")"
jq -S 'del(.soap)' "$tmp/one.json" > "$tmp/a"
jq -S 'del(.soap)' "$tmp/paged.json" > "$tmp/b"
cmp -s "$tmp/a" "$tmp/b" || { diff "$tmp/a" "$tmp/b" | head -20; fail "paged inventory differs"; }
cont=$(( $(vcsim_count ContinueRetrievePropertiesEx) - c0 ))
paged=$(( $(vcsim_count total) - t0 ))
# 300 VMs and the rest of the view (hosts' datastores, networks, folders)
# 7 at a time: at least 300/7 continuations, each one round trip more
[ "$cont" -ge 42 ] && [ "$paged" = $((one + cont)) ] ||
    fail "paging: $cont continuations, $paged round trips (one page: $one)"
# the client's own counts agree with the simulator's (the client's are
# printed before its Logout, which the simulator counts too)
[ "$(jq .soap.pages "$tmp/paged.json")" = $((cont + 1)) ] &&
    [ "$(jq .soap.requests "$tmp/paged.json")" = $((paged - 1)) ] &&
    [ "$(jq .soap.requests "$tmp/one.json")" = $((one - 1)) ] ||
    fail "client counts: $(jq -c .soap "$tmp/paged.json") $(jq -c .soap "$tmp/one.json")"
echo "300 VMs: one page $one round trips; 7 a page $paged ($cont continuations)"

# 0: the server's choice (no maxObjects sent): one page here
c0=$(vcsim_count ContinueRetrievePropertiesEx)
VMSHIFT_VSPHERE_PAGE_SIZE=0 vs inventory --vcenter vc1 --json > "$tmp/z.json" 2> "$tmp/err" ||
    fail "page size 0: $(cat "$tmp/err")"
[ "$(jq '.vms | length' "$tmp/z.json")" = 300 ] && [ "$(vcsim_count ContinueRetrievePropertiesEx)" = "$c0" ] ||
    fail "page size 0"

for bad in -1 x 100001 "7 "; do
    VMSHIFT_VSPHERE_PAGE_SIZE=$bad vs inventory --vcenter vc1 > "$tmp/o" 2> "$tmp/err" &&
        fail "page size '$bad' accepted"
    [ "$(wc -l < "$tmp/err")" = 1 ] && grep -q VMSHIFT_VSPHERE_PAGE_SIZE "$tmp/err" && [ ! -s "$tmp/o" ] ||
        fail "page size '$bad': $(cat "$tmp/err")"
done
echo "paging ok"
