#!/bin/sh
# The PostgreSQL run store (engine/workflow/store-pg.c) against a real
# server that this test starts: a private cluster under build/
# (tests/lib/pg-cluster: initdb + pg_ctl as the postgres user, a unix
# socket only, SCRAM password from a password file), stopped at exit.
#  1. The store contract suite that SQLite passes (tests/unit/store-suite.h)
#     and PostgreSQL's own cases (tests/unit/server-store-pg.c).
#  2. Runners sharing the store: rounds of three `vmshift job run` started
#     at once on the same job; each exits 0 or 75 (another run is going),
#     at least one round really overlapped, and no generation was ever
#     run twice (the done generations are 1..N, each once).
#  3. `job history FILE` reads the store named by the file's "store" key;
#     VMSHIFT_STORE may be a postgresql:// URL.
#  4. A URL carrying a password is refused without echoing it.
. "$(dirname "$0")/../lib/functions.sh"
requires qemu-img jq
tmpdir
suite=$VMSHIFT_BUILD/tests/unit/server-store-pg
[ -x "$suite" ] || fail "$suite is not built (make tests)"

pgdir=$(mktemp -d "$VMSHIFT_BUILD/pg.XXXXXX")
cleanup_fn "$VMSHIFT_TOP/tests/lib/pg-cluster" down "$pgdir"
url=$("$VMSHIFT_TOP/tests/lib/pg-cluster" up "$pgdir") ||
    skip "cannot start a PostgreSQL server: $url"
export PGPASSFILE="$pgdir/pgpass"
unset PGPASSWORD VMSHIFT_STORE

# 1. the contract suite
VMSHIFT_TEST_PG=$url "$suite" -j2 > "$tmp/suite.log" 2>&1 ||
    fail "store suite on PostgreSQL: $(grep -E 'FAIL|Assert|Synthesis' "$tmp/suite.log" | head -5)"
grep -q 'Failing: 0 | Crashing: 0' "$tmp/suite.log" ||
    fail "store suite: $(tail -n 1 "$tmp/suite.log")"

# 2. runners sharing one store
mkdir -p "$tmp/src/vmA" "$tmp/dr"
qemu-img create -q -f vmdk -o subformat=monolithicFlat "$tmp/src/vmA/vmA.vmdk" 32M ||
    fail "qemu-img create"
random_disk "$tmp/src/vmA/vmA-flat.vmdk" 32
cat > "$tmp/job.json" <<J
{"name": "pg-shared", "schedule": "*-*-* 01:00:00",
 "source": {"disks": ["$tmp/src/vmA/vmA.vmdk"]},
 "target": {"location": "$tmp/dr", "name": "{vm}/{disk}-g{generation}.qcow2"},
 "retention": {"keep_last": 3}, "store": "$url"}
J
ok=0 busy=0 overlapped=0
for round in 1 2 3 4 5; do
    for k in 1 2 3; do
        "$VMSHIFT" job run --json "$tmp/job.json" > "$tmp/r$round.$k.json" 2> "$tmp/r$round.$k.err" &
        eval "pid$k=\$!"
    done
    nb=0
    for k in 1 2 3; do
        eval "wait \$pid$k"
        rc=$?
        case $rc in
            0) ok=$((ok + 1)) ;;
            75) busy=$((busy + 1)); nb=$((nb + 1))
                grep -q 'already running' "$tmp/r$round.$k.err" ||
                    fail "round $round runner $k: exit 75 without saying why: $(cat "$tmp/r$round.$k.err")" ;;
            *) fail "round $round runner $k exited $rc: $(cat "$tmp/r$round.$k.err")" ;;
        esac
    done
    [ "$nb" -gt 0 ] && overlapped=$((overlapped + 1))
done
[ "$overlapped" -gt 0 ] ||
    fail "no round had two runners at once ($ok runs, all sequential): the test proved nothing"
echo "runners: $ok ran, $busy refused, $overlapped of 5 rounds overlapped"

# 3. history from the file's store key (no --store, no VMSHIFT_STORE)
"$VMSHIFT" job history --json "$tmp/job.json" > "$tmp/hist.json" 2> "$tmp/err" ||
    fail "job history FILE: $(cat "$tmp/err")"
[ "$(jq '[.[] | select(.state == "done")] | length' "$tmp/hist.json")" = "$ok" ] ||
    fail "history shows $(jq '[.[] | select(.state == "done")] | length' "$tmp/hist.json") done runs, $ok runners exited 0"
gens=$(jq -r '[.[] | select(.state == "done") | .record.generation] | sort | map(tostring) | join(" ")' "$tmp/hist.json")
want=$(seq -s ' ' 1 "$ok")
[ "$gens" = "$want" ] || fail "done generations '$gens', expected '$want' (each once)"
[ "$(jq '[.[] | select(.state == "busy")] | length' "$tmp/hist.json")" = "$busy" ] ||
    fail "history does not record the $busy refused runs: $(jq -c '[.[] | .state]' "$tmp/hist.json")"
n=$(find "$tmp/dr" -name '*.qcow2' | wc -l)
[ "$n" = 3 ] || fail "$n generations on disk, keep_last is 3"
VMSHIFT_STORE=$url "$VMSHIFT" job list > "$tmp/list" 2> "$tmp/err" ||
    fail "job list with VMSHIFT_STORE: $(cat "$tmp/err")"
grep -q pg-shared "$tmp/list" || fail "job list: $(cat "$tmp/list")"

# 4. a password in the URL is refused, and never repeated
bad=$(printf '%s' "$url" | sed 's|^postgresql://|postgresql://vmshift:Secret-Pw-42@|')
"$VMSHIFT" job list --store "$bad" > /dev/null 2> "$tmp/err" && fail "a URL with a password was used"
grep -q 'password' "$tmp/err" || fail "refusal does not say why: $(cat "$tmp/err")"
if grep -q 'Secret-Pw-42' "$tmp/err"; then fail "the message shows the password"; fi
[ "$(wc -l < "$tmp/err")" = 1 ] || fail "not one line: $(cat "$tmp/err")"
exit 0
