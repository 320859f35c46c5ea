#!/bin/sh
# Include direction (docs/internals/layers.md): the layers below the
# engine do not reach up into it.
#   formats/, hypervisors/   may include engine/base/ headers only
#                            (never engine/exec, engine/backend, ...)
#   ontap/                   never includes formats/
#   engine/base/             includes nothing of the project outside
#                            engine/base/
# Every "#include "..."" line in .c and .h files of those folders (and
# their subfolders) is checked.
. "$(dirname "$0")/../lib/functions.sh"

cd "$VMSHIFT_TOP" || fail "no $VMSHIFT_TOP"
tmpdir

# check FOLDER REGEX WHY: includes under FOLDER matching REGEX are bad
check() {
    [ -d "$1" ] || return 0
    grep -rnE --include='*.c' --include='*.h' \
        "^[[:space:]]*#[[:space:]]*include[[:space:]]+\"$2" "$1" \
        > "$tmp/hits" || true
    if [ -s "$tmp/hits" ]; then
        echo "$3:"
        sed 's/^/  /' "$tmp/hits"
        bad=$((bad + $(wc -l < "$tmp/hits")))
    fi
    n=$((n + $(grep -rlE --include='*.c' --include='*.h' '#[[:space:]]*include' "$1" | wc -l)))
}

bad=0 n=0
check formats 'engine/[^b]|engine/b[^a]|engine/base[^/]' \
    "formats/ includes engine/ headers other than engine/base/"
check hypervisors 'engine/[^b]|engine/b[^a]|engine/base[^/]' \
    "hypervisors/ includes engine/ headers other than engine/base/"
check ontap 'formats/' "ontap/ includes formats/"
check engine/base '(formats|hypervisors|ontap|tools)/|engine/[^b]|engine/b[^a]' \
    "engine/base/ includes headers above it"
[ "$n" -gt 0 ] || fail "found no files to check"
[ "$bad" -eq 0 ] || fail "$bad include(s) against the layer direction"
echo "ok: $n files include only what their layer may"
