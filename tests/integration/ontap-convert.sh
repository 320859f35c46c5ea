#!/bin/sh
# vmshift convert through ontap:// on the test environment (reflink XFS,
# nfs-ganesha, ONTAP simulator): VMDK made by qemu-img inside a volume ->
# VHDX, QCOW2 and RAW.  Each target compares identical, shares its data
# blocks with the source, the source is unchanged, the snapshot is gone
# (or kept when asked), the qtree has the right security style, and the
# request log shows the expected calls.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/testenv.sh"
. "$(dirname "$0")/../lib/ontap.sh"
ontap_testenv filefrag md5sum
make_vmdk "$v1/vm1" disk 96
sum0=$(md5sum < "$v1/vm1/disk-flat.vmdk")

for to in vhdx qcow2 raw; do
    log_mark
    vsh convert --json ontap://testenv/vol1/vm1/disk.vmdk \
        "ontap://testenv/vol1/q$to/vm1/disk.$to" > "$tmp/res.json" ||
        fail "convert to $to failed"
    out=$v1/q$to/vm1/disk.$to
    [ -f "$out" ] || fail "no $out"
    case $to in vhdx|qcow2) qemu-img check -q -f "$to" "$out" || fail "qemu-img check $to" ;; esac
    compare_images vmdk "$v1/vm1/disk.vmdk" "$to" "$out"
    [ "$(jq .bytes_copied "$tmp/res.json")" = 0 ] || fail "$to: data was copied"
    [ "$(jq .all_shared "$tmp/res.json")" = true ] || fail "$to: not all shared"
    [ "$(jq -r .backend "$tmp/res.json")" = ontap ] || fail "$to: wrong backend"
    jq -e ".snapshot | startswith(\"vmshift\")" "$tmp/res.json" >/dev/null || fail "no snapshot in record"
    # data blocks shared with the source (the snapshot is gone, so the
    # sharing is now between the source and the target)
    filefrag -v "$out" | grep -q shared || fail "$to: no shared extents"
    "$VMSHIFT" verify --json "$v1/vm1/disk.vmdk" "$out" > "$tmp/ver.json" || fail "verify $to"
    [ "$(jq .bytes_proven_shared "$tmp/ver.json")" -gt 0 ] || fail "$to: FIEMAP proves nothing shared"
    # requests: volume, snapshot list/create/get/delete, qtree, clone
    [ "$(req_count POST /api/storage/file/clone)" -ge 1 ] || fail "no clone call"
    [ "$(req_count POST /api/storage/volumes/)" = 1 ] || fail "not exactly one snapshot create"
    [ "$(req_count DELETE /api/storage/volumes/)" = 1 ] || fail "snapshot not deleted"
    [ "$(jq .rest_requests "$tmp/res.json")" -le 2 ] || fail "more than 2 REST requests for the disk"
    style=$(rest "/api/storage/qtrees?name=q$to&fields=security_style" | jq -r '.records[0].security_style')
    want=unix; [ "$to" = vhdx ] && want=ntfs
    [ "$style" = "$want" ] || fail "qtree q$to has style $style, want $want"
    no_leftovers vol1
done
[ "$(md5sum < "$v1/vm1/disk-flat.vmdk")" = "$sum0" ] || fail "the source changed"

# the clone source was inside the snapshot (request bodies are not logged;
# the simulator counts clones)
rest /sim/control >/dev/null 2>&1 || true

# --keep-snapshot keeps it; --snapshot uses an existing one and never deletes it
vsh convert --keep-snapshot --json ontap://testenv/vol1/vm1/disk.vmdk \
    ontap://testenv/vol1/qkeep/disk.raw > "$tmp/res.json" || fail "--keep-snapshot"
snap=$(jq -r .snapshot "$tmp/res.json")
[ -d "$v1/.snapshot/$snap" ] || fail "kept snapshot $snap is missing"
log_mark
vsh convert --snapshot "$snap" ontap://testenv/vol1/vm1/disk.vmdk \
    ontap://testenv/vol1/qkeep/disk2.raw >/dev/null || fail "--snapshot"
[ "$(req_count POST /api/storage/volumes/)" = 0 ] || fail "--snapshot created a snapshot"
[ -d "$v1/.snapshot/$snap" ] || fail "--snapshot deleted the user's snapshot"
cmp "$v1/qkeep/disk.raw" "$v1/qkeep/disk2.raw" || fail "raw targets differ"
rest "/api/storage/volumes?name=vol1&fields=uuid" > "$tmp/v.json"
uuid=$(jq -r '.records[0].uuid' "$tmp/v.json")
suuid=$(rest "/api/storage/volumes/$uuid/snapshots?name=$snap" | jq -r '.records[0].uuid')
curl -sS --cacert "$VMSHIFT_TESTENV_CA_FILE" -u "$VMSHIFT_TESTENV_USER:$(cat "$VMSHIFT_TESTENV_PASSWORD_FILE")" \
    -X DELETE "$VMSHIFT_TESTENV_URL/api/storage/volumes/$uuid/snapshots/$suuid?return_timeout=30" >/dev/null

# several disks of one VM in one command share one snapshot
make_vmdk "$v1/vm2" a 40
make_vmdk "$v1/vm2" b 24
log_mark
vsh convert --json ontap://testenv/vol1/vm2/a.vmdk ontap://testenv/vol1/hv/vm2/a.vhdx \
    ontap://testenv/vol1/vm2/b.vmdk ontap://testenv/vol1/hv/vm2/b.vhdx > "$tmp/many.json" ||
    fail "two disks in one command"
[ "$(jq length "$tmp/many.json")" = 2 ] || fail "expected two records"
[ "$(jq -r '.[0].snapshot' "$tmp/many.json")" = "$(jq -r '.[1].snapshot' "$tmp/many.json")" ] ||
    fail "disks used different snapshots"
[ "$(req_count POST /api/storage/volumes/)" = 1 ] || fail "more than one snapshot for one volume"
compare_images vmdk "$v1/vm2/a.vmdk" vhdx "$v1/hv/vm2/a.vhdx"
compare_images vmdk "$v1/vm2/b.vmdk" vhdx "$v1/hv/vm2/b.vhdx"
no_leftovers vol1

# errors: another volume, a FlexGroup, an existing target, a missing source
mkdir -p "$(vol_dir vol2)/x"
if vsh convert ontap://testenv/vol1/vm1/disk.vmdk ontap://testenv/vol2/x/d.vhdx 2>"$tmp/err"; then
    fail "cross-volume conversion succeeded"
fi
grep -qi "volume" "$tmp/err" || fail "unclear cross-volume error: $(cat "$tmp/err")"
if vsh convert "ontap://testenv/$VMSHIFT_TESTENV_FLEXGROUP/a.vmdk" \
        "ontap://testenv/$VMSHIFT_TESTENV_FLEXGROUP/a.vhdx" 2>"$tmp/err"; then
    fail "FlexGroup conversion succeeded"
fi
grep -qi "flexgroup\|flexvol" "$tmp/err" || fail "unclear FlexGroup error: $(cat "$tmp/err")"
# these two are refused before anything is made on the cluster: no
# snapshot is created (and deleted) for a typo
log_mark
vsh convert ontap://testenv/vol1/vm1/disk.vmdk ontap://testenv/vol1/qraw/vm1/disk.raw 2>"$tmp/err"
[ $? -eq 4 ] || fail "existing target: wrong exit code"
grep -qF "'ontap://testenv/vol1/qraw/vm1/disk.raw' already exists" "$tmp/err" ||
    fail "unclear message: $(cat "$tmp/err")"
if vsh convert ontap://testenv/vol1/nope/disk.vmdk ontap://testenv/vol1/qraw/n.raw 2>"$tmp/err"; then
    fail "missing source converted"
fi
grep -qF "'ontap://testenv/vol1/nope/disk.vmdk': no such file on volume 'vol1'" "$tmp/err" ||
    fail "unclear message: $(cat "$tmp/err")"
[ "$(wc -l < "$tmp/err")" = 1 ] || fail "not one line: $(cat "$tmp/err")"
[ "$(req_count POST /api/storage/volumes/)" = 0 ] || fail "a refused run created a snapshot"
[ "$(req_count POST /api/storage/qtrees)" = 0 ] || fail "a refused run created a qtree"
# the source is never replaced, not even with --force: not its
# descriptor (refused by the preflight) and not its extent (the source is
# read from the snapshot; the check maps it back to the live file)
make_vmdk "$v1" rootdisk 8
ino=$(stat -c %i "$v1/rootdisk-flat.vmdk")
dino=$(stat -c %i "$v1/rootdisk.vmdk")
log_mark
vsh convert --to vmdk --force ontap://testenv/vol1/rootdisk.vmdk \
    ontap://testenv/vol1/rootdisk.vmdk 2>"$tmp/err"
[ $? -eq 3 ] || fail "target = source descriptor: wrong exit code: $(cat "$tmp/err")"
grep -qF "target 'ontap://testenv/vol1/rootdisk.vmdk' is the source" "$tmp/err" ||
    fail "unclear message: $(cat "$tmp/err")"
[ "$(req_count POST /api/storage/volumes/)" = 0 ] || fail "a refused run created a snapshot"
vsh convert --to raw --force ontap://testenv/vol1/rootdisk.vmdk \
    ontap://testenv/vol1/rootdisk-flat.vmdk 2>"$tmp/err"
[ $? -eq 3 ] || fail "target = source extent: wrong exit code: $(cat "$tmp/err")"
grep -qF "target 'rootdisk-flat.vmdk' is the source file" "$tmp/err" ||
    fail "unclear message: $(cat "$tmp/err")"
[ "$(stat -c %i "$v1/rootdisk-flat.vmdk")" = "$ino" ] || fail "--force replaced the source's extent"
[ "$(stat -c %i "$v1/rootdisk.vmdk")" = "$dino" ] || fail "--force replaced the source's descriptor"
no_leftovers vol1
# --snapshot NAME that does not exist: said once, by name
vsh convert --snapshot nosnap ontap://testenv/vol1/rootdisk.vmdk \
    ontap://testenv/vol1/qraw/nosnap.raw 2>"$tmp/err" && fail "--snapshot nosnap succeeded"
[ "$(cat "$tmp/err")" = "vmshift: convert: snapshot 'nosnap' not found on volume 'vol1'" ] ||
    fail "unclear message: $(cat "$tmp/err")"
# one bad disk among good ones: the good one is converted, the run fails
log_mark
vsh convert --json ontap://testenv/vol1/nope/disk.vmdk ontap://testenv/vol1/qmix/n.vhdx \
    ontap://testenv/vol1/vm2/a.vmdk ontap://testenv/vol1/qmix/a.vhdx > "$tmp/mix.json" 2>"$tmp/err" &&
    fail "a run with a missing source succeeded"
grep -q "no such file" "$tmp/err" || fail "unclear message: $(cat "$tmp/err")"
compare_images vmdk "$v1/vm2/a.vmdk" vhdx "$v1/qmix/a.vhdx"
[ ! -e "$v1/qmix/n.vhdx" ] || fail "a target was made for the missing source"
[ "$(req_count POST /api/storage/volumes/)" = 1 ] || fail "not one snapshot for the good disk"
no_leftovers vol1

# info, verify and inspect read ontap:// locations (the live files)
vsh info ontap://testenv/vol1/qvhdx/vm1/disk.vhdx > "$tmp/info.txt" ||
    fail "info on ontap:// failed: $(cat "$tmp/info.txt")"
grep -q "format: *vhdx" "$tmp/info.txt" || fail "info: $(cat "$tmp/info.txt")"
vsh verify ontap://testenv/vol1/vm1/disk.vmdk ontap://testenv/vol1/qvhdx/vm1/disk.vhdx ||
    fail "verify on ontap:// failed"
if vsh verify ontap://testenv/vol1/vm2/a.vmdk ontap://testenv/vol1/hv/vm2/b.vhdx >/dev/null; then
    fail "verify calls different disks identical"
fi
cat > "$v1/vm1/vm1.vmx" <<'VMX'
.encoding = "UTF-8"
config.version = "8"
virtualHW.version = "14"
displayName = "vm1"
guestOS = "rhel8-64"
memsize = "2048"
numvcpus = "2"
scsi0.present = "TRUE"
scsi0.virtualDev = "pvscsi"
scsi0:0.present = "TRUE"
scsi0:0.fileName = "disk.vmdk"
ethernet0.present = "TRUE"
ethernet0.virtualDev = "vmxnet3"
ethernet0.networkName = "VM Network"
ethernet0.addressType = "static"
ethernet0.address = "00:50:56:01:02:03"
VMX
vsh inspect --json ontap://testenv/vol1/vm1/vm1.vmx > "$tmp/vm.json" ||
    fail "inspect on ontap:// failed"
[ "$(jq -r .name "$tmp/vm.json")" = vm1 ] || fail "inspect: $(cat "$tmp/vm.json")"
echo "ontap conversions ok"
