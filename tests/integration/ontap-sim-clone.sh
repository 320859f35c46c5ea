#!/bin/sh
# ontap-sim on a reflink XFS: snapshots are read-only trees of reflinks
# under <volume>/.snapshot/<name>/ (block sharing proven with filefrag),
# and POST /api/storage/file/clone follows every rule: whole-file and
# sub-file clones, each rejection, the range limit, sources in snapshots.
# shellcheck disable=SC2015 # "A && B || fail" means fail unless both hold
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/sim.sh"

need_xfs
requires filefrag setpriv cmp
root=$scratch/root
mkdir -p "$root/vol1/dir" "$root/vol2" "$root/fg1"
start_sim "$root" --flexgroup fg1 --job-duration-ms 50
V=$root/vol1
vol1=$(api GET "/api/storage/volumes?name=vol1" && jqo '.records[0].uuid')

# 8 MiB of random data plus a file whose size is not a multiple of 4 KiB.
dd if=/dev/urandom of="$V/src" bs=1M count=8 status=none
dd if=/dev/urandom of="$V/odd" bs=1000 count=9 status=none
echo "small" > "$V/dir/small.txt"

shared() {   # FILE: filefrag reports shared extents
    filefrag -v "$1" | grep -q shared
}

clone() {   # JSON-BODY-MEMBERS -> status in $status, job waited for
    api POST "/api/storage/file/clone?return_timeout=20" \
        "{\"volume\": {\"name\": \"vol1\", \"uuid\": \"$vol1\"}, $1}"
}

# --- snapshot: create, list, read-only reflinked tree
api POST "/api/storage/volumes/$vol1/snapshots" '{"name": "snap1"}'
expect_status 202 "POST snapshot"
wait_job "$(jqo .job.uuid)"
[ "$job_state" = success ] || fail "snapshot job: $job_state $(jqo .message)"
S=$V/.snapshot/snap1
cmp "$V/src" "$S/src" || fail "snapshot copy differs"
cmp "$V/dir/small.txt" "$S/dir/small.txt" || fail "snapshot subdirectory differs"
shared "$S/src" || fail "snapshot file does not share blocks: $(filefrag -v "$S/src")"
shared "$V/src" || fail "source does not share blocks with its snapshot"
for f in "$S" "$S/src" "$S/dir" "$S/dir/small.txt"; do
    case $(stat -c %A "$f") in *w*) fail "$f is writable: $(stat -c %A "$f")" ;; esac
done
if setpriv --reuid=65534 --regid=65534 --clear-groups sh -c "echo x >> '$S/dir/small.txt'" 2>/dev/null ||
   setpriv --reuid=65534 --regid=65534 --clear-groups touch "$S/new" 2>/dev/null; then
    fail "an unprivileged user could write into the snapshot"
fi
api GET "/api/storage/volumes/$vol1/snapshots?fields=name,create_time,volume.name"
expect_status 200 "list snapshots"
[ "$(jqo '[.records[].name] | join(" ")')" = snap1 ] || fail "snapshots: $(jqo .records)"
snap=$(jqo '.records[0].uuid')
api GET "/api/storage/volumes/$vol1/snapshots/$snap"
[ "$(jqo .name)" = snap1 ] && [ "$(jqo .volume.name)" = vol1 ] || fail "GET snapshot: $(cat "$out")"
api POST "/api/storage/volumes/$vol1/snapshots" '{"name": "snap1"}'
expect_error 409 1 name "duplicate snapshot"
# The snapshot stays as it was when the volume changes.
dd if=/dev/zero of="$V/src" bs=4096 count=1 conv=notrunc status=none
cmp -s "$V/src" "$S/src" && fail "writing the volume changed the snapshot"

# --- whole-file clone from the snapshot
clone '"source_path": ".snapshot/snap1/src", "destination_path": "whole"'
expect_status 201 "whole-file clone from a snapshot"
cmp "$S/src" "$V/whole" || fail "whole-file clone differs"
shared "$V/whole" || fail "whole-file clone does not share blocks"
clone '"source_path": "./.snapshot/snap1/src", "destination_path": "whole"'
expect_error 409 1 destination_path "whole-file clone onto an existing file"
clone '"source_path": "odd", "destination_path": "whole", "overwrite_destination": true'
expect_status 201 "overwrite_destination"
cmp "$V/odd" "$V/whole" || fail "overwritten clone differs"
clone '"source_path": "src", "destination_path": "nodir/x"'
expect_error 404 4 destination_path "destination directory missing"
clone '"source_path": "missing", "destination_path": "x"'
expect_error 404 4 source_path "source missing"
clone '"source_path": "dir", "destination_path": "x"'
expect_error 404 4 source_path "source is a directory"
clone '"source_path": "../vol2/x", "destination_path": "x"'
expect_error 400 2 source_path "source outside the volume"
clone '"source_path": "/etc/passwd", "destination_path": "x"'
expect_error 400 2 source_path "absolute source path"
clone '"source_path": "src", "destination_path": ".snapshot/snap1/x"'
expect_error 400 2 destination_path "destination in a snapshot"
ln -s /etc "$V/escape"
clone '"source_path": "escape/passwd", "destination_path": "x"'
expect_error 400 2 source_path "source through a symlink out of the volume"
clone '"destination_path": "x"'
expect_error 400 2 source_path "no source_path"
api POST /api/storage/file/clone '{"source_path": "src", "destination_path": "x"}'
expect_error 400 2 volume.uuid "no volume"
api POST /api/storage/file/clone '{"volume": {"name": "fg1"}, "source_path": "src", "destination_path": "x"}'
expect_error 400 3 volume "FlexGroup volume"
api POST /api/storage/file/clone "{\"volume\": {\"name\": \"vol2\", \"uuid\": \"$vol1\"}, \"source_path\": \"src\", \"destination_path\": \"x\"}"
expect_error 404 4 volume.uuid "volume name and uuid disagree"

# --- sub-file clone
truncate -s 8M "$V/target"
clone '"source_path": ".snapshot/snap1/src", "destination_path": "target", "range": ["0:1024:256", "512:0:256"]'
expect_status 201 "sub-file clone"
cmp -n 1048576 "$S/src" "$V/target" 0 4194304 || fail "range 0:1024:256 landed wrong"
cmp -n 1048576 "$S/src" "$V/target" 2097152 0 || fail "range 512:0:256 landed wrong"
cmp -s -n 1048576 "$S/src" "$V/target" 0 0 && fail "target block 0 holds source block 0"
shared "$V/target" || fail "sub-file clone does not share blocks"
api GET "/api/cluster/jobs?fields=description,state"
[ "$(jqo '[.records[] | select(.description == "POST /api/storage/file/clone" and .state == "success")] | length')" -ge 3 ] ||
    fail "clone jobs not listed as successful"
# The last partial block of a source counts as a block.
truncate -s 16K "$V/t2"
clone '"source_path": "odd", "destination_path": "t2", "range": ["0:0:3"]'
expect_status 201 "range covering a partial last block"
cmp -n 9000 "$V/odd" "$V/t2" || fail "partial-block clone differs"
cmp -n 3288 "$V/t2" /dev/zero 9000 0 || fail "the rest of a partial block is not zero"
[ "$(stat -c %s "$V/t2")" = 16384 ] || fail "a partial-block clone changed the size"
clone '"source_path": "odd", "destination_path": "t2", "range": ["0:0:4"]'
expect_error 400 2 range "source range past the end"
clone '"source_path": "src", "destination_path": "t2", "range": ["0:3:2"]'
expect_error 400 2 range "destination range past the end"
clone '"source_path": "src", "destination_path": "absent", "range": ["0:0:1"]'
expect_error 404 4 destination_path "sub-file clone into a missing file"
clone '"source_path": "src", "destination_path": "target", "range": ["0:0:10", "5:100:10"]'
expect_error 400 2 range "overlapping source ranges"
clone '"source_path": "src", "destination_path": "target", "range": ["0:0:10", "100:5:10"]'
expect_error 400 2 range "overlapping destination ranges"
clone '"source_path": "target", "destination_path": "target", "range": ["0:5:10"]'
expect_error 400 2 range "same file, source overlaps destination"
clone '"source_path": "target", "destination_path": "target", "range": ["0:100:10", "200:300:10"]'
expect_status 201 "same file, disjoint ranges"
for bad in '"1:2"' '"1:2:3:4"' '"a:b:c"' '"1:2:0"' '"-1:2:3"' '" 1:2:3"' '"1: 2:3"' \
           '"+1:2:3"' '"1:2:3 "' '""' '"99999999999999999999:0:1"' '"2251799813685247:0:2"' '7'; do
    clone "\"source_path\": \"src\", \"destination_path\": \"target\", \"range\": [$bad]"
    expect_error 400 2 range "malformed range $bad"
done
clone '"source_path": "src", "destination_path": "target", "range": "0:0:1"'
expect_error 400 2 range "range that is not an array"

# --- the range limit per call (default 32)
ranges() {   # N: N disjoint one-block ranges
    i=0 list=""
    while [ $i -lt "$1" ]; do
        list="$list${list:+, }\"$((i * 2)):$((i * 2)):1\""
        i=$((i + 1))
    done
    echo "$list"
}
clone "\"source_path\": \"src\", \"destination_path\": \"target\", \"range\": [$(ranges 32)]"
expect_status 201 "32 ranges"
clone "\"source_path\": \"src\", \"destination_path\": \"target\", \"range\": [$(ranges 33)]"
expect_error 400 2 range "33 ranges"
ctl '{"max_ranges": 40}'
clone "\"source_path\": \"src\", \"destination_path\": \"target\", \"range\": [$(ranges 33)]"
expect_status 201 "33 ranges with max_ranges 40"
ctl '{}'
[ "$(counter clones)" -ge 6 ] || fail "clones counter $(counter clones)"

# --- snapshot delete
api DELETE "/api/storage/volumes/$vol1/snapshots/$snap?return_timeout=20"
expect_status 200 "DELETE snapshot"
[ ! -e "$S" ] || fail "snapshot tree still there"
api GET "/api/storage/volumes/$vol1/snapshots"
[ "$(jqo .num_records)" = 0 ] || fail "snapshot still listed"
api DELETE "/api/storage/volumes/$vol1/snapshots/$snap"
expect_error 404 4 uuid "deleting a deleted snapshot"
stop_sim_checked
echo "ok"
