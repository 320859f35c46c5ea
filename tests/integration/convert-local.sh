#!/bin/sh
# The executor's contract on a real reflink filesystem (raw -> raw, which
# needs no format code): blocks shared (FIEMAP), nothing copied, source
# untouched, targets refused or replaced as asked, dry runs write nothing,
# interrupted runs cleaned up by the next one, failures leave nothing.
. "$VMSHIFT_TOP/tests/lib/functions.sh"

# run files (temporaries, journals; not leases) in the current directory
temps() { find . -maxdepth 1 -name '.vmshift.*' ! -name '*.lease' | head -5; }
requires jq filefrag md5sum script
need_xfs
cd "$scratch" || fail "cd"

random_disk src.raw 64
sum0=$(md5sum < src.raw)

# 1. metadata-only (here: no metadata) conversion with shared blocks
"$VMSHIFT" convert --json src.raw dst.raw > res.json || fail "convert failed"
[ "$(jq .bytes_copied res.json)" = 0 ] || fail "bytes were copied: $(cat res.json)"
[ "$(jq .bytes_cloned res.json)" -gt 0 ] || fail "nothing was cloned"
[ "$(jq .all_shared res.json)" = true ] || fail "all_shared is not true"
filefrag -v dst.raw | grep -q shared || fail "filefrag shows no shared extents"
cmp src.raw dst.raw || fail "target differs from source"
"$VMSHIFT" verify --json src.raw dst.raw > ver.json || fail "verify failed"
[ "$(jq .bytes_proven_shared ver.json)" -gt 0 ] || fail "verify proved nothing shared"
[ "$(jq .bytes_read ver.json)" = 0 ] || fail "verify read data it could prove shared"
"$VMSHIFT" verify --full src.raw dst.raw >/dev/null || fail "verify --full failed"

# 2. an existing target is refused (exit 4) unless --force
if "$VMSHIFT" convert src.raw dst.raw 2>err.txt; then fail "overwrote without --force"; fi
"$VMSHIFT" convert src.raw dst.raw 2>/dev/null; [ $? -eq 4 ] || fail "wrong exit code for an existing target"
grep -q "already exists" err.txt || fail "unclear message: $(cat err.txt)"
"$VMSHIFT" convert --force src.raw dst.raw >/dev/null || fail "--force failed"

# 3. the source is never a target
if "$VMSHIFT" convert --force src.raw src.raw 2>err.txt; then fail "converted onto the source"; fi
grep -q "never writes its source" err.txt || fail "unclear message: $(cat err.txt)"
ln -s src.raw link.raw
if "$VMSHIFT" convert --force src.raw link.raw 2>/dev/null; then fail "wrote through a symlink to the source"; fi
[ "$(md5sum < src.raw)" = "$sum0" ] || fail "the source changed"

# 4. dry run: a plan, nothing written
"$VMSHIFT" convert --dry-run --json src.raw plan.raw > plan.json || fail "dry run failed"
jq -e '.outputs[0].data | length > 0' plan.json >/dev/null || fail "plan has no data placements"
[ ! -e plan.raw ] || fail "dry run wrote the target"
[ -z "$(temps)" ] || fail "dry run left temporaries"

# 5. leftovers of other runs (engine/exec/owner.h): removed when their
# run's lease expired or is missing, or when it was written on this boot
# in this PID namespace by a process that is gone; kept when the run may
# be alive (another PID namespace: its PID means nothing here)
sleep 30 & deadpid=$!; kill $deadpid; wait $deadpid 2>/dev/null
now=$(date +%s)
ra=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa rb=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
rc=cccccccccccccccccccccccccccccccc rd=dddddddddddddddddddddddddddddddd
write_lease . $ra $deadpid "$(my_boot)" "$(my_pidns)" $((now + 600))
write_lease . $rb $deadpid "$(my_boot)" 12345 $((now + 600))
write_lease . $rc 1 other-boot 1 $((now - 10)) otherhost
for r in $ra $rb $rc $rd; do touch "$(run_file again.raw $deadpid "$r" tmp0)"; done
"$VMSHIFT" convert src.raw again.raw >/dev/null || fail "convert after crash failed"
[ ! -e "$(run_file again.raw $deadpid $ra tmp0)" ] || fail "temporary of a gone process not removed"
[ ! -e .vmshift.$ra.lease ] || fail "lease of a gone process not removed"
[ -e "$(run_file again.raw $deadpid $rb tmp0)" ] || fail "removed a temporary of a run in another PID namespace"
[ -e .vmshift.$rb.lease ] || fail "removed the lease of a run in another PID namespace"
[ ! -e "$(run_file again.raw $deadpid $rc tmp0)" ] || fail "temporary with an expired lease not removed"
[ ! -e "$(run_file again.raw $deadpid $rd tmp0)" ] || fail "temporary without a lease not removed"
rm -f .vmshift.*

# 5b. a 255-byte target name (the longest a name can be): temporaries,
# journals and leases have short names of their own
long=$(printf '%0251d' 0 | tr 0 n).raw
"$VMSHIFT" convert src.raw "$long" >/dev/null 2>err.txt || fail "255-byte name: $(cat err.txt)"
"$VMSHIFT" convert --force src.raw "$long" >/dev/null 2>err.txt || fail "255-byte name, --force: $(cat err.txt)"
cmp src.raw "$long" || fail "255-byte name: target differs"
# a VMDK's extent name is longer than its descriptor's: 235 + ".vmdk",
# replaced (the new extent gets "-<8 hex>-flat.vmdk": 254 bytes)
long=$(printf '%0235d' 0 | tr 0 n).vmdk
"$VMSHIFT" convert src.raw "$long" >/dev/null 2>err.txt || fail "long VMDK name: $(cat err.txt)"
"$VMSHIFT" convert --force src.raw "$long" >/dev/null 2>err.txt || fail "long VMDK name, --force: $(cat err.txt)"
"$VMSHIFT" verify src.raw "$long" >/dev/null || fail "long VMDK name: target differs"
[ "$(find . -maxdepth 1 -name 'nnnn*' | wc -l)" = 3 ] || fail "long names: $(ls -A)"
rm -f ./nnnn*

# 6. kill -9 during a long copy, then rerun: one correct target, no leftovers
truncate -s 1G big.raw
dd if=/dev/urandom of=big.raw bs=1M count=768 conv=notrunc status=none
"$VMSHIFT" convert --no-clone big.raw big-copy.raw & pid=$!
i=0
while [ -z "$(temps .big-copy.raw)" ] && [ $i -lt 200 ]; do
    sleep 0.01; i=$((i + 1))
done
sleep 0.1
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
[ ! -e big-copy.raw ] || fail "the run finished before it could be killed, or left a file under the final name"
[ -n "$(temps .big-copy.raw)" ] || fail "no temporary after kill -9"
"$VMSHIFT" convert big.raw big-copy.raw >/dev/null || fail "rerun failed"
cmp big.raw big-copy.raw || fail "rerun produced a different file"
[ -z "$(temps)" ] || fail "leftover temporaries: $(temps)"
rm -f big.raw big-copy.raw

# 7. a failure mid-write (ENOSPC on a tiny tmpfs) leaves nothing behind
mkdir small
mount -t tmpfs -o size=2m tmpfs small || skip "cannot mount tmpfs"
cleanup_fn umount "$scratch/small"
if "$VMSHIFT" convert src.raw small/out.raw 2>err.txt; then fail "convert into a full filesystem succeeded"; fi
[ -z "$(find small -mindepth 1 | head -3)" ] || fail "failed run left files: $(find small -mindepth 1)"
grep -q "out.raw" err.txt || grep -q "small" err.txt || fail "error does not name the target: $(cat err.txt)"

# 8. across filesystems blocks cannot be shared: copied, and said so
mkdir other
mount -t tmpfs -o size=200m tmpfs other || skip "cannot mount tmpfs"
cleanup_fn umount "$scratch/other"
"$VMSHIFT" convert --json src.raw other/copy.raw > res2.json 2>err2.txt || fail "cross-filesystem convert failed"
[ "$(jq .all_shared res2.json)" = false ] || fail "claims sharing across filesystems"
[ "$(jq .bytes_copied res2.json)" -gt 0 ] || fail "bytes_copied is 0 across filesystems"
jq -e '.copy_reason | test("FICLONERANGE")' res2.json >/dev/null || fail "no copy reason: $(cat res2.json)"
grep -q "copied, not shared" err2.txt || fail "no warning on stderr"
cmp src.raw other/copy.raw || fail "copy differs"
[ "$(md5sum < src.raw)" = "$sum0" ] || fail "the source changed"
# 9. progress (docs/man/vmshift-convert.1, PROGRESS): on a terminal
# (script(1) gives the command a pty) when data is copied, at most once a
# second, the last line (100%) staying; nothing when stderr is not a
# terminal, nor when every block is shared
t0=$(date +%s)
script -qec "\"$VMSHIFT\" convert --no-clone src.raw prog.raw" /dev/null \
    < /dev/null > tty.txt 2>&1 || fail "convert on a pty: $(cat -v tty.txt | head -3)"
wall=$(($(date +%s) - t0))
tr '\r' '\n' < tty.txt | grep -Eq '^ +100\.0% of [0-9.]+ MiB, [0-9.]+ [KMG]?i?B/s, 0:00 left' ||
    fail "no progress on a terminal: $(cat -v tty.txt | head -3)"
n=$(tr '\r' '\n' < tty.txt | grep -c '% of ')
if [ "$n" -lt 2 ] || [ "$n" -gt $((wall + 3)) ]; then fail "$n progress lines in ${wall}s"; fi
cmp src.raw prog.raw || fail "prog.raw differs"
script -qec "\"$VMSHIFT\" convert src.raw shared.raw" /dev/null < /dev/null > tty2.txt 2>&1 ||
    fail "shared convert on a pty: $(cat -v tty2.txt | head -3)"
grep -q '% of' tty2.txt && fail "progress shown though every block was shared"
"$VMSHIFT" convert --no-clone src.raw prog2.raw > /dev/null 2> err3.txt || fail "convert --no-clone"
grep -q '% of' err3.txt && fail "progress when stderr is not a terminal: $(cat -v err3.txt)"
grep -q "$(printf '\033')" err3.txt && fail "escape sequences when stderr is not a terminal"
rm -f prog.raw prog2.raw shared.raw
echo "all executor checks passed"
