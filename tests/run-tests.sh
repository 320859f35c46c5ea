#!/bin/sh
# Run a layer of tests and print a summary.
#
#   tests/run-tests.sh unit|oracle|integration|lint|all [NAME-FILTER]
#
# A test passes (exit 0), is skipped (exit 77, with the reason on a line
# starting "SKIP:"), or fails (anything else).  Criterion binaries run
# with a TAP report so their skipped cases are counted as skipped, not
# passed.  Logs go to $VMSHIFT_BUILD/test-logs/.  A shared loop-mounted
# XFS (reflink=1) is made once for the run when we are root; tests find
# it in $VMSHIFT_TEST_XFS, or the reason it is missing in
# $VMSHIFT_TEST_XFS_SKIP.
set -u

top=${VMSHIFT_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
build=${VMSHIFT_BUILD:-$top/build}
# absolute: tests cd into their own scratch directories
case $build in /*) ;; *) build=$(cd "$build" && pwd) || exit 2 ;; esac
layer=${1:-all}
filter=${2:-}
logs=$build/test-logs
mkdir -p "$logs"
export VMSHIFT_TOP="$top" VMSHIFT_BUILD="$build"
export VMSHIFT="${VMSHIFT:-$build/vmshift}"
export VMSHIFT_CORPUS="${VMSHIFT_CORPUS:-$top/../shared/corpus}"
# With an ASan/UBSan build (make SANITIZE=1, VMSHIFT_BUILD=build-asan)
# reports go to files, so a test that expects vmshift to fail cannot
# mistake a sanitizer abort for the expected error; any report fails the
# run.  Options the caller set come later and win.  Harmless otherwise.
san=$logs/sanitizer
rm -rf "$san"
mkdir -p "$san"
export ASAN_OPTIONS="log_path=$san/asan${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="log_path=$san/ubsan:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

pass=0 fail=0 skip=0
failed="" skipped=""

xfs_down() {
    if [ -n "${xfs_started:-}" ]; then
        "$top/tests/lib/scratch-xfs" down "$build/scratch-xfs" >/dev/null 2>&1
    fi
}
trap xfs_down EXIT INT TERM

case $layer in
    unit|lint) ;;
    *)
        if out=$("$top/tests/lib/scratch-xfs" up "$build/scratch-xfs" 2>&1); then
            export VMSHIFT_TEST_XFS="$out"
            xfs_started=1
        else
            export VMSHIFT_TEST_XFS_SKIP="no loop-mounted XFS: $out"
            echo "NOTE: $VMSHIFT_TEST_XFS_SKIP"
        fi
        ;;
esac

record() {   # name status reason
    case $2 in
        PASS) pass=$((pass + 1)); printf 'PASS  %s\n' "$1" ;;
        SKIP) skip=$((skip + 1)); skipped="$skipped $1"
              printf 'SKIP  %s: %s\n' "$1" "$3" ;;
        *)    fail=$((fail + 1)); failed="$failed $1"
              printf 'FAIL  %s (log: %s)\n' "$1" "$3" ;;
    esac
}

run_criterion() {   # binary
    name=$(basename "$1")
    log=$logs/$name.log
    tap=$logs/$name.tap
    if [ "${VMSHIFT_VALGRIND:-}" = 1 ]; then
        set -- valgrind --error-exitcode=99 --leak-check=full --trace-children=yes -q "$1" --no-early-exit
    fi
    "$@" --tap="$tap" >"$log" 2>&1
    rc=$?
    nskip=$(grep -c '# SKIP' "$tap" 2>/dev/null)
    ntot=$(grep -cE '^(not )?ok ' "$tap" 2>/dev/null)
    if [ "$rc" -ne 0 ] || grep -q '^not ok' "$tap" 2>/dev/null; then
        record "$name" FAIL "$log"
    elif [ "${ntot:-0}" -gt 0 ] && [ "$nskip" -eq "$ntot" ]; then
        record "$name" SKIP "$(grep -m1 '# SKIP' "$tap" | sed 's/.*# SKIP *//')"
    else
        record "$name" PASS
        if [ "${nskip:-0}" -gt 0 ]; then
            grep '# SKIP' "$tap" | sed 's/^ok [0-9]* *- */      skipped case: /'
            skip=$((skip + nskip))
        fi
    fi
}

run_script() {   # script
    name=$(basename "$1")
    log=$logs/$name.log
    "$1" >"$log" 2>&1
    rc=$?
    case $rc in
        0) record "$name" PASS ;;
        77) record "$name" SKIP "$(grep -m1 '^SKIP:' "$log" | sed 's/^SKIP: *//')" ;;
        *) record "$name" FAIL "$log" ;;
    esac
}

matches() {
    [ -z "$filter" ] && return 0
    case $1 in *"$filter"*) return 0 ;; esac
    return 1
}

run_layer() {
    case $1 in
        unit)
            for t in "$build"/tests/unit/test-*; do
                [ -x "$t" ] && matches "$t" && run_criterion "$t"
            done ;;
        oracle|integration|lint)
            for t in "$top"/tests/"$1"/*.sh; do
                [ -x "$t" ] && matches "$t" && run_script "$t"
            done ;;
    esac
}

if [ "$layer" = all ]; then
    for l in lint unit oracle integration; do
        echo "== $l"
        run_layer $l
    done
else
    run_layer "$layer"
fi

nsan=$(find "$san" -type f | wc -l)
if [ "$nsan" -gt 0 ]; then
    record sanitizer FAIL "$nsan report(s) in $san"
fi

echo
echo "passed: $pass  skipped: $skip  failed: $fail"
[ -n "$skipped" ] && echo "skipped:$skipped"
[ -n "$failed" ] && echo "failed:$failed"
[ "$fail" -eq 0 ]
