# Sourced after tests/lib/functions.sh by tests that need the full test
# environment (tools/testenv: reflink XFS + nfs-ganesha + ontap-sim).
#
#   need_testenv   use the environment the caller exported (VMSHIFT_TESTENV_*
#                  set, e.g. by "eval $(tools/testenv up)"), or start one in
#                  $VMSHIFT_BUILD/testenv-<test> and stop it at exit; skip
#                  (77) when it cannot run here (not root, packages missing,
#                  another NFS server on its ports)

testenv_up() {   # DIR: start; eval the exports; skip when impossible
    if ! _te=$("$VMSHIFT_TOP/tools/testenv" up "$1" 2>"$tmp/testenv.err"); then
        case $(cat "$tmp/testenv.err") in
            *"needs root"*|*"is not installed"*|*"in use"*|*"not built"*)
                skip "test environment: $(tail -1 "$tmp/testenv.err")" ;;
        esac
        cat "$tmp/testenv.err"
        fail "tools/testenv up failed"
    fi
    eval "$_te"
}

need_testenv() {
    if [ -n "${VMSHIFT_TESTENV_CONFIG:-}" ] && [ -f "$VMSHIFT_TESTENV_CONFIG" ]; then
        return 0
    fi
    [ -n "${tmp:-}" ] || tmpdir
    testenv_dir=$VMSHIFT_BUILD/testenv-${test_name:?source functions.sh first}
    cleanup_fn "$VMSHIFT_TOP/tools/testenv" down "$testenv_dir"
    ONTAP_SIM=${ONTAP_SIM:-$VMSHIFT_BUILD/ontap-sim}
    export ONTAP_SIM
    testenv_up "$testenv_dir"
}
