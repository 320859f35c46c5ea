#!/bin/sh
# Retention of a "format": "vmdk" job on local storage.  A VMDK target is
# two files: the descriptor (the target) and its extent.  The run record
# lists the extent as one of the disk's "others", with its file id, and
# retention deletes both, each delete journalled; only files the job made
# and that are still the files it made: an extent replaced behind the
# job's back survives, a replaced descriptor keeps its extent too, and a
# foreign pair matching the name pattern is never touched.
. "$(dirname "$0")/../lib/functions.sh"
requires qemu-img jq sqlite3
tmpdir
mkdir -p "$tmp/src/vmA" "$tmp/dr/vmA"
qemu-img create -q -f vmdk -o subformat=monolithicFlat "$tmp/src/vmA/vmA.vmdk" 8M ||
    fail "qemu-img create"
random_disk "$tmp/src/vmA/vmA-flat.vmdk" 8
store=$tmp/store.db
cat > "$tmp/job.json" <<J
{"name": "vmdk-keep", "schedule": "*-*-* 01:00:00",
 "source": {"disks": ["$tmp/src/vmA/vmA.vmdk"]},
 "target": {"location": "$tmp/dr", "name": "{vm}/{disk}-g{generation}.vmdk",
            "format": "vmdk"},
 "retention": {"keep_last": 2}, "store": "$store"}
J
# a foreign pair that matches the pattern
printf 'foreign\n' > "$tmp/dr/vmA/vmA-g0.vmdk"
printf 'foreign\n' > "$tmp/dr/vmA/vmA-g0-flat.vmdk"

d=$tmp/dr/vmA
for g in 1 2 3 4 5; do
    "$VMSHIFT" job run --json "$tmp/job.json" > "$tmp/run$g.json" 2> "$tmp/err$g" ||
        fail "run $g exited $?: $(cat "$tmp/err$g")"
    [ "$(jq -r .result "$tmp/run$g.json")" = "done" ] || fail "run $g: $(cat "$tmp/run$g.json")"
    ext=$(jq -r '.disks[0].others[0].target' "$tmp/run$g.json")
    [ "$ext" = "$d/vmA-g$g-flat.vmdk" ] || fail "run $g: extent recorded as '$ext'"
    [ -f "$ext" ] || fail "run $g: no extent $ext"
    [ "$(jq '.disks[0].others[0].fileid' "$tmp/run$g.json")" = "$(stat -c %i "$ext")" ] ||
        fail "run $g: the extent's file id is not recorded"
    case $g in
        2)  # replace generation 2's extent behind the job's back
            cp "$d/vmA-g2-flat.vmdk" "$tmp/x" && mv "$tmp/x" "$d/vmA-g2-flat.vmdk" ;;
        3)  # and generation 3's descriptor
            cp "$d/vmA-g3.vmdk" "$tmp/x" && mv "$tmp/x" "$d/vmA-g3.vmdk" ;;
    esac
done
compare_images vmdk "$tmp/src/vmA/vmA.vmdk" vmdk "$d/vmA-g5.vmdk"

# generation 1: both files pruned (by run 3), each delete journalled
[ ! -e "$d/vmA-g1.vmdk" ] || fail "generation 1's descriptor survived retention"
[ ! -e "$d/vmA-g1-flat.vmdk" ] || fail "generation 1's extent survived retention"
for f in "$d/vmA-g1.vmdk" "$d/vmA-g1-flat.vmdk"; do
    n=$(sqlite3 "$store" "SELECT count(*) FROM journal WHERE step = 'delete' AND status = 1 AND intent LIKE '%\"$f\"%'")
    [ "$n" = 1 ] || fail "delete of $f journalled $n times as done"
done
jq -e --arg f "$d/vmA-g1-flat.vmdk" '.deleted[] | select(.name == $f and .why == "retention")' \
    "$tmp/run3.json" > /dev/null || fail "run 3 does not report deleting the extent"
# generation 2: the descriptor went, the replaced extent stayed
[ ! -e "$d/vmA-g2.vmdk" ] || fail "generation 2's descriptor survived retention"
[ -f "$d/vmA-g2-flat.vmdk" ] || fail "a replaced extent was deleted"
grep -q 'vmA-g2-flat.vmdk.*not the file' "$tmp/err4" || fail "no warning for the replaced extent: $(cat "$tmp/err4")"
# generation 3: a replaced descriptor keeps its extent
[ -f "$d/vmA-g3.vmdk" ] || fail "a replaced descriptor was deleted"
[ -f "$d/vmA-g3-flat.vmdk" ] || fail "the extent of a replaced descriptor was deleted"
# generations 4 and 5 kept whole; the foreign pair untouched
for f in vmA-g4.vmdk vmA-g4-flat.vmdk vmA-g5.vmdk vmA-g5-flat.vmdk; do
    [ -f "$d/$f" ] || fail "$f is missing"
done
[ "$(cat "$d/vmA-g0.vmdk" "$d/vmA-g0-flat.vmdk")" = "$(printf 'foreign\nforeign')" ] ||
    fail "the foreign pair was touched"
exit 0
