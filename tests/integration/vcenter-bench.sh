#!/bin/sh
# vmshift bench --inventory against VMware's vCenter simulator with 2,000
# VMs (the simulator paging as vCenter does: -max-objects, 1000 objects a
# page): every VM listed, at most 10 SOAP round trips in all (counted by the
# client and, independently, by the simulator), peak RSS under 64 MiB.
# The wall time is printed, not asserted: the test machines are shared.
# shellcheck disable=SC2015 # "A && B || fail" means fail unless both hold
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/vcsim.sh"

tmpdir
start_vcsim -max-objects -vm 1000
vcsim_config "$tmp/cfg.json"
before=$(vcsim_count total)
"$VMSHIFT" --config "$tmp/cfg.json" bench --inventory vc1 --runs 1 --json \
    > "$tmp/b.json" 2> "$tmp/err" || fail "bench: $(cat "$tmp/err")"
cat "$tmp/b.json"
[ "$(jq .vms "$tmp/b.json")" = 2000 ] || fail "VMs: $(jq .vms "$tmp/b.json")"
[ "$(jq .soap_requests "$tmp/b.json")" -le 10 ] || fail "more than 10 round trips"
server=$(( $(vcsim_count total) - before ))
[ "$server" -le 10 ] && [ "$server" = "$(jq .soap_requests "$tmp/b.json")" ] ||
    fail "the simulator counted $server requests, the client $(jq .soap_requests "$tmp/b.json")"
[ "$(jq .peak_rss_kib "$tmp/b.json")" -lt 65536 ] || fail "peak RSS $(jq .peak_rss_kib "$tmp/b.json") KiB"
exit 0
