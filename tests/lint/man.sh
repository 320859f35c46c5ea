#!/bin/sh
# Every man page in docs/man renders without a warning: man(1) with its
# warnings turned on (groff -ww), plus a check that each page's SEE ALSO
# names only pages that exist here or are known outside the project.
. "$(dirname "$0")/../lib/functions.sh"

requires man groff
cd "$VMSHIFT_TOP/docs/man" || fail "no $VMSHIFT_TOP/docs/man"
tmpdir

# Pages outside the project that SEE ALSO sections may name.
external="qemu-img"

set -- ./*.1
[ -e "$1" ] || fail "no man pages in docs/man"
bad=0
for page in "$@"; do
    name=$(basename "$page" .1)
    if ! MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings=w -l "$page" \
            > "$tmp/out" 2> "$tmp/err"; then
        cat "$tmp/err"
        echo "does not render: $name"
        bad=$((bad + 1))
        continue
    fi
    if [ -s "$tmp/err" ]; then
        cat "$tmp/err"
        echo "warnings: $name"
        bad=$((bad + 1))
        continue
    fi
    [ -s "$tmp/out" ] || { echo "renders empty: $name"; bad=$((bad + 1)); continue; }
    # SEE ALSO: ".BR page (1)" lines up to the next section.
    sed -n '/^\.SH SEE ALSO/,/^\.SH/p' "$page" |
        sed -n 's/^\.BR \([^ ]*\) (1).*/\1/p' | sed 's/\\-/-/g' > "$tmp/refs"
    missing=0
    while IFS= read -r ref; do
        case " $external " in *" $ref "*) continue ;; esac
        if [ ! -f "$ref.1" ]; then
            echo "$name: SEE ALSO names $ref(1), which is not in docs/man"
            missing=$((missing + 1))
        fi
    done < "$tmp/refs"
    if [ "$missing" -eq 0 ]; then
        echo "ok: $name"
    else
        bad=$((bad + missing))
    fi
done
[ "$bad" -eq 0 ] || fail "$bad man page problem(s)"
echo "all $# man pages render without warnings"
