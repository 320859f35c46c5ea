#!/bin/sh
# What a format is lives in its driver (struct fmt_driver, listed in
# formats/drivers.def): outside the format's own files nothing switches
# over formats or compares with one format's constant.  For each line
# FMT_DRIVER (ID, ...) of the table, "case FMT_ID", "== FMT_ID" and
# "!= FMT_ID" (and the public VMSHIFT_FMT_ID) may appear only in
# formats/<id>*.c and formats/<id>*.h.  engine/api.c's static assertions
# that the public values equal the table's are the one exception.
. "$(dirname "$0")/../lib/functions.sh"

cd "$VMSHIFT_TOP" || fail "no $VMSHIFT_TOP"
tmpdir

sed -n 's/^FMT_DRIVER (\([A-Z0-9_]*\),.*/\1/p' formats/drivers.def > "$tmp/ids"
[ -s "$tmp/ids" ] || fail "no FMT_DRIVER lines in formats/drivers.def"

bad=0
while IFS= read -r id; do
    lower=$(printf '%s' "$id" | tr '[:upper:]' '[:lower:]')
    grep -rnE "(case|[=!]=)[[:space:]]*(\(int\)[[:space:]]*)?(VMSHIFT_)?FMT_${id}\b" \
        engine formats ontap hypervisors tools --include='*.c' --include='*.h' |
        grep -v "^formats/${lower}[^/]*:" |
        grep -v '^engine/api\.c:[0-9]*:_Static_assert' > "$tmp/hits" || true
    if [ -s "$tmp/hits" ]; then
        echo "special cases of format $id outside formats/$lower*.c (ask its fmt_driver instead):"
        sed 's/^/  /' "$tmp/hits"
        bad=$((bad + $(wc -l < "$tmp/hits")))
    fi
done < "$tmp/ids"
[ "$bad" -eq 0 ] || fail "$bad format special case(s) outside the drivers"
echo "ok: no format special cases outside formats/<format>*.c ($(wc -l < "$tmp/ids") formats)"
