#!/bin/sh
# shellcheck disable=SC2016  # the sed address is literal
# Every schedule in docs/jobs.md against systemd: the expressions of the
# "calendar" block and the "schedule" of every JSON example must be
# accepted by systemd-analyze calendar (with the job's timezone appended),
# and the next five elapses vmshift computes (vmshift job calendar) must
# equal systemd's from several base times (UTC).  Each JSON example must
# also pass vmshift job check.
. "$VMSHIFT_TOP/tests/lib/functions.sh"
requires systemd-analyze jq
tmpdir
doc=$VMSHIFT_TOP/docs/jobs.md

sed -n '/^```calendar$/,/^```$/p' "$doc" | sed '1d;$d' > "$tmp/exprs"
n=$(wc -l < "$tmp/exprs")
[ "$n" -ge 10 ] || fail "only $n expressions in the calendar block of $doc"

# The JSON examples, one file each.
awk -v dir="$tmp" '
    /^```json$/ { k++; f = dir "/example" k ".json"; on = 1; next }
    /^```$/ { on = 0 }
    on { print > f }' "$doc"
set -- "$tmp"/example*.json
[ -e "$1" ] || fail "no JSON examples in $doc"
for f in "$@"; do
    "$VMSHIFT" job check "$f" > "$tmp/check" 2>&1 ||
        fail "docs/jobs.md example $(basename "$f") fails vmshift job check: $(cat "$tmp/check")"
    expr=$(jq -r .schedule "$f")
    tz=$(jq -r '.timezone // "UTC"' "$f")
    systemd-analyze calendar "$expr $tz" > /dev/null 2>&1 ||
        fail "systemd-analyze calendar rejects '$expr $tz' (docs/jobs.md)"
    printf '%s\n' "$expr" >> "$tmp/exprs"
done

checked=0
while IFS= read -r expr; do
    systemd-analyze calendar "$expr" > /dev/null 2>&1 ||
        fail "systemd-analyze calendar rejects '$expr' (docs/jobs.md)"
    for base in 1700000000 1711846800 1735689599; do
        systemd-analyze calendar --base-time="@$base" --iterations=5 \
            "$expr UTC" > "$tmp/sd" 2>&1 || fail "systemd-analyze: $(cat "$tmp/sd")"
        sed -n 's/^ *\(Next elapse\|Iter\. #[0-9]*\): //p' "$tmp/sd" > "$tmp/want"
        "$VMSHIFT" job calendar --iterations 5 --base-time "$base" "$expr" \
            > "$tmp/got" 2>&1 || fail "vmshift job calendar '$expr': $(cat "$tmp/got")"
        [ -s "$tmp/want" ] || fail "no elapses from systemd for '$expr'"
        if ! cmp -s "$tmp/want" "$tmp/got"; then
            echo "systemd:"; cat "$tmp/want"; echo "vmshift:"; cat "$tmp/got"
            fail "next elapses of '$expr' from @$base differ"
        fi
        checked=$((checked + 1))
    done
done < "$tmp/exprs"
echo "ok: $checked expression/base-time pairs equal systemd's, $# JSON examples check"
