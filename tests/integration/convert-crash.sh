#!/bin/sh
# Crash points of the publish step of a two-file target (VMDK descriptor
# + flat extent), with strace's syscall tampering: every rename, link and
# unlink the run makes is failed once (EIO) and, in a second pass, the
# process is killed there (SIGKILL).  Each time the target must be the old
# disk or the new one, never the old descriptor over the new extent (the
# issue: a valid-looking disk that was neither, and `vmshift info` saw no
# problem), and the next run must converge: one descriptor, one extent,
# no run files.  Without --force, a run killed after its extent was
# published must not make the next run refuse the target.
. "$VMSHIFT_TOP/tests/lib/functions.sh"
requires strace qemu-img
tmpdir
mkdir "$tmp/w" || fail "mkdir $tmp/w"
cd "$tmp/w" || fail "cd $tmp/w"
random_disk a.raw 8
random_disk b.raw 12
cmp -s a.raw b.raw && fail "the sources are equal"

calls="rename,renameat,renameat2,link,linkat,unlink,unlinkat"

which_disk() {   # prints a, b or none
    if "$VMSHIFT" verify a.raw t.vmdk >/dev/null 2>&1; then echo a
    elif "$VMSHIFT" verify b.raw t.vmdk >/dev/null 2>&1; then echo b
    else echo none
    fi
}

# exactly the sources, t.vmdk and one extent; no run files
tidy() {   # what
    n=$(find . -maxdepth 1 -type f ! -name a.raw ! -name b.raw ! -name '*.trace' | wc -l)
    e=$(find . -maxdepth 1 -name 't*-flat.vmdk' | wc -l)
    r=$(find . -maxdepth 1 -name '.vmshift.*' | wc -l)
    if [ "$n" != 2 ] || [ "$e" != 1 ] || [ "$r" != 0 ]; then
        fail "$1: left $(find . -maxdepth 1 | tr '\n' ' ')"
    fi
}

reset_to_a() {
    rm -f t.vmdk t*-flat.vmdk .vmshift.*
    "$VMSHIFT" convert a.raw t.vmdk >/dev/null || fail "convert a"
}

# the calls a forced replace makes, counted per syscall
reset_to_a
strace -f -qq -e trace="$calls" -o ../count.trace "$VMSHIFT" convert --force b.raw t.vmdk >/dev/null ||
    fail "traced run failed"
[ "$(which_disk)" = b ] || fail "traced run: target is not b"
points=0
hit=0           # injected runs that did not exit 0: the tampering fired
for sc in $(echo "$calls" | tr ',' ' '); do
    k=$(grep -c "^[0-9]* *$sc(" ../count.trace || true)
    [ "$k" -gt 0 ] || continue
    for mode in error=EIO signal=KILL; do
        i=1
        while [ $i -le "$k" ]; do
            reset_to_a
            rc=0
            strace -f -qq -o /dev/null -e trace="$sc" \
                -e inject="$sc:$mode:when=$i" \
                "$VMSHIFT" convert --force b.raw t.vmdk >../out.txt 2>../err.txt || rc=$?
            [ $rc -ne 0 ] && hit=$((hit + 1))
            got=$(which_disk)
            case $mode:$rc in
                *:0) want=b ;;
                error*) want=a ;;
                *) want="a or b" ;;
            esac
            case " $want " in
                *" $got "*) ;;
                *) fail "$sc #$i ($mode, exit $rc): target is $got, want $want: $(cat ../err.txt)" ;;
            esac
            # the next run finishes or undoes what this one left
            "$VMSHIFT" convert --force b.raw t.vmdk >/dev/null 2>../err2.txt ||
                fail "$sc #$i ($mode): next run failed: $(cat ../err2.txt)"
            [ "$(which_disk)" = b ] || fail "$sc #$i ($mode): next run's target is not b"
            tidy "$sc #$i ($mode) then a rerun"
            points=$((points + 1))
            i=$((i + 1))
        done
    done
done
# strace 6.1 tampers only with traced calls: with trace=none nothing
# was injected and every run above succeeded, so this loop checked nothing
[ $hit -ge $((points / 2)) ] ||
    fail "only $hit of $points injected runs failed: the tampering did not fire"
[ $points -ge 8 ] || fail "only $points crash points (strace saw: $(cut -d'(' -f1 ../count.trace | sort | uniq -c | tr '\n' ' '))"
echo "$points forced-replace crash points: old or new target every time"

# without --force: killed at each call, the next run must not refuse
rm -f t.vmdk t*-flat.vmdk .vmshift.*
strace -f -qq -e trace="$calls" -o ../count.trace "$VMSHIFT" convert b.raw t.vmdk >/dev/null ||
    fail "traced run failed"
for sc in $(echo "$calls" | tr ',' ' '); do
    k=$(grep -c "^[0-9]* *$sc(" ../count.trace || true)
    i=1
    while [ $i -le "$k" ]; do
        rm -f t.vmdk t*-flat.vmdk .vmshift.*
        rc=0
        strace -f -qq -o /dev/null -e trace="$sc" \
            -e inject="$sc:signal=KILL:when=$i" \
            "$VMSHIFT" convert b.raw t.vmdk >/dev/null 2>&1 || rc=$?
        [ $rc -ne 0 ] || fail "new $sc #$i: the kill did not fire"
        if [ -e t.vmdk ]; then
            [ "$(which_disk)" = b ] || fail "new $sc #$i: a target that is not b"
        fi
        rc=0
        "$VMSHIFT" convert b.raw t.vmdk >/dev/null 2>../err.txt || rc=$?
        case $rc in
            0) ;;
            4) grep -q 't.vmdk.*already exists' ../err.txt ||
                   fail "new $sc #$i: refused for: $(cat ../err.txt)" ;;
            *) fail "new $sc #$i: rerun exit $rc: $(cat ../err.txt)" ;;
        esac
        [ "$(which_disk)" = b ] || fail "new $sc #$i: rerun's target is not b"
        tidy "new $sc #$i then a rerun"
        points=$((points + 1))
        i=$((i + 1))
    done
done
echo "$points crash points in all"
