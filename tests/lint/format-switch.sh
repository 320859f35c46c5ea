#!/bin/sh
# What a format is lives in its driver (struct fmt_driver, listed in
# formats/drivers.def): outside the format's own files nothing switches
# over formats or compares with one format's constant.  For each line
# FMT_DRIVER (ID, ...) of the table, "case FMT_ID", "== FMT_ID" and
# "!= FMT_ID" (and the public VMSHIFT_FMT_ID) may appear only in
# formats/<id>*.c and formats/<id>*.h.  Targets the same way: a line
# HV_TARGET (ID, ...) of hypervisors/targets.def allows HV_TARGET_ID and
# VMSHIFT_TARGET_ID comparisons only in hypervisors/<id>.c.  The static
# assertions that the public values equal the tables' (engine/api.c,
# engine/vm.c) are the one exception.
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

sed -n 's/^HV_TARGET (\([A-Z0-9_]*\),.*/\1/p' hypervisors/targets.def > "$tmp/tids"
[ -s "$tmp/tids" ] || fail "no HV_TARGET lines in hypervisors/targets.def"
while IFS= read -r id; do
    lower=$(printf '%s' "$id" | tr '[:upper:]' '[:lower:]')
    grep -rnE "(case|[=!]=)[[:space:]]*(\(int\)[[:space:]]*)?(VMSHIFT|HV)_TARGET_${id}\b" \
        engine formats ontap hypervisors tools --include='*.c' --include='*.h' |
        grep -v "^hypervisors/${lower}\.c:" |
        grep -v '^engine/vm\.c:[0-9]*:_Static_assert' > "$tmp/hits" || true
    if [ -s "$tmp/hits" ]; then
        echo "special cases of target $id outside hypervisors/$lower.c (ask its hv_target_driver instead):"
        sed 's/^/  /' "$tmp/hits"
        bad=$((bad + $(wc -l < "$tmp/hits")))
    fi
done < "$tmp/tids"
[ "$bad" -eq 0 ] || fail "$bad format or target special case(s) outside the drivers"
echo "ok: no special cases outside formats/<format>*.c ($(wc -l < "$tmp/ids") formats) and hypervisors/<target>.c ($(wc -l < "$tmp/tids") targets)"
