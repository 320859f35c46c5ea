#!/bin/sh
# tools/testenv: "up" gives a working environment (NFSv3 and NFSv4 access
# to every volume with libnfs's tools, the simulator over HTTPS with the
# throwaway CA, a config file in the documented profile format), a second
# "up" reuses it, and "down" leaves nothing running or mounted.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/testenv.sh"

requires jq curl qemu-img nfs-ls nfs-cat nfs-cp ss
tmpdir
dir=$VMSHIFT_BUILD/testenv-selftest
export ONTAP_SIM="${ONTAP_SIM:-$VMSHIFT_BUILD/ontap-sim}"
cleanup_fn "$VMSHIFT_TOP/tools/testenv" down "$dir"
testenv_up "$dir"

# --- the exported interface
for v in CONFIG ROOT VOLUMES URL USER PASSWORD_FILE CA_FILE NFS REQUEST_LOG; do
    eval "val=\${VMSHIFT_TESTENV_$v:-}"
    [ -n "$val" ] || fail "VMSHIFT_TESTENV_$v is not exported"
done
[ "$(stat -c %a "$VMSHIFT_TESTENV_PASSWORD_FILE")" = 600 ] || fail "password file mode"
mountpoint -q "$VMSHIFT_TESTENV_ROOT" || fail "root is not a mount point"
[ "$(stat -f -c %T "$VMSHIFT_TESTENV_ROOT")" = xfs ] || fail "root is not XFS"
for v in $VMSHIFT_TESTENV_VOLUMES; do
    [ -d "$VMSHIFT_TESTENV_ROOT/$v" ] || fail "no directory for volume $v"
done
cfg=$VMSHIFT_TESTENV_CONFIG
p='.profiles.testenv'
[ "$(jq -r "$p.cluster" "$cfg")" = "$VMSHIFT_TESTENV_URL" ] || fail "config cluster"
[ "$(jq -r "$p.username" "$cfg")" = "$VMSHIFT_TESTENV_USER" ] || fail "config username"
[ "$(jq -r "$p.password_file" "$cfg")" = "$VMSHIFT_TESTENV_PASSWORD_FILE" ] || fail "config password_file"
[ "$(jq -r "$p.ca_file" "$cfg")" = "$VMSHIFT_TESTENV_CA_FILE" ] || fail "config ca_file"
[ "$(jq -r "$p.svm" "$cfg")" = svm0 ] || fail "config svm"
[ "$(jq -r "$p.nfs | [.server, .version, .port, .mount_port] | map(tostring) | join(\" \")" "$cfg")" = \
  "127.0.0.1 3 $VMSHIFT_TESTENV_NFS_PORT $VMSHIFT_TESTENV_MOUNT_PORT" ] || fail "config nfs: $(jq -c "$p.nfs" "$cfg")"
[ "$(jq -r "$p | keys | join(\",\")" "$cfg")" = "ca_file,cluster,nfs,password_file,svm,username" ] ||
    fail "config has unexpected keys: $(jq -c "$p | keys" "$cfg")"

# --- NFSv3 (through rpcbind, and with explicit ports) and NFSv4
n=$VMSHIFT_TESTENV_NFS
ports="nfsport=$VMSHIFT_TESTENV_NFS_PORT&mountport=$VMSHIFT_TESTENV_MOUNT_PORT"
for v in $VMSHIFT_TESTENV_VOLUMES; do
    echo "hello $v" > "$VMSHIFT_TESTENV_ROOT/$v/hello.txt"
    nfs-ls "nfs://$n/$v?version=3" | grep -q hello.txt || fail "NFSv3 listing of /$v"
    [ "$(nfs-cat "nfs://$n/$v/hello.txt?$ports")" = "hello $v" ] || fail "NFSv3 read of /$v"
    [ "$(nfs-cat "nfs://$n/$v/hello.txt?version=4&nfsport=$VMSHIFT_TESTENV_NFS_PORT")" = "hello $v" ] ||
        fail "NFSv4 read of /$v"
done
printf 'written over nfs\n' > "$tmp/w.txt"
v=$(echo "$VMSHIFT_TESTENV_VOLUMES" | cut -d' ' -f1)
nfs-cp "$tmp/w.txt" "nfs://$n/$v/w.txt?$ports" >/dev/null || fail "NFSv3 write"
cmp "$tmp/w.txt" "$VMSHIFT_TESTENV_ROOT/$v/w.txt" || fail "NFSv3 write landed wrong"

# --- the simulator, with TLS verified against the CA, serves these volumes
(umask 077 && printf 'user = "%s:%s"\n' "$VMSHIFT_TESTENV_USER" \
    "$(cat "$VMSHIFT_TESTENV_PASSWORD_FILE")" > "$tmp/curlrc")
got=$(curl -sS --cacert "$VMSHIFT_TESTENV_CA_FILE" -K "$tmp/curlrc" \
    "$VMSHIFT_TESTENV_URL/api/storage/volumes?fields=name" | jq -r '[.records[].name] | sort | join(" ")')
want=$(for v in $VMSHIFT_TESTENV_VOLUMES; do echo "$v"; done | sort | tr '\n' ' ' | sed 's/ $//')
[ "$got" = "$want" ] || fail "simulator volumes '$got', exported '$want'"
curl -sS --cacert "$VMSHIFT_TESTENV_CA_FILE" -K "$tmp/curlrc" -o /dev/null \
    "https://localhost:${VMSHIFT_TESTENV_URL##*:}/api/cluster" || fail "certificate not valid for localhost"
[ -s "$VMSHIFT_TESTENV_REQUEST_LOG" ] || fail "request log is empty"

# --- nfs-ganesha closes the files of deleted names (over NFSv3 nothing
# closes them): without reaping it held ~485 deleted files open in long
# loops and filled the volume (tools/testenv, MDCACHE settings)
v1=$VMSHIFT_TESTENV_ROOT/${VMSHIFT_TESTENV_VOLUMES%% *}
mkdir -p "$v1/fdcheck"
qemu-img create -q -f vmdk -o subformat=monolithicFlat "$v1/fdcheck/d.vmdk" 4M ||
    fail "qemu-img create"
head -c 4M /dev/urandom > "$v1/fdcheck/d-flat.vmdk"
vol=${v1##*/}
for i in 1 2 3 4 5 6 7 8; do
    "$VMSHIFT" --config "$VMSHIFT_TESTENV_CONFIG" convert \
        "ontap://testenv/$vol/fdcheck/d.vmdk" "ontap://testenv/$vol/qfd/t$i.qcow2" \
        >/dev/null 2>"$tmp/conv.err" || fail "conversion $i: $(cat "$tmp/conv.err")"
    rm -f "$v1/qfd/t$i.qcow2"
done
rm -rf "$v1/fdcheck"
gpid=$(cat "$dir/ganesha.pid")
i=0
while n=$(find "/proc/$gpid/fd" -lname '*(deleted)' 2>/dev/null | wc -l) && [ "$n" -gt 0 ]; do
    i=$((i + 1))
    [ $i -lt 100 ] || fail "nfs-ganesha still holds $n deleted files open after 10 s"
    sleep 0.1
done

# --- "up" again reuses the running environment
again=$("$VMSHIFT_TOP/tools/testenv" up "$dir" 2>"$tmp/again.err") || fail "second up failed"
echo "$again" | grep -q "VMSHIFT_TESTENV_URL='$VMSHIFT_TESTENV_URL'" || fail "second up changed the URL"
grep -q reusing "$tmp/again.err" || fail "second up did not say it reuses"

# --- "down" stops what "up" started and unmounts
pids=""
for f in sim.pid ganesha.pid rpcbind.pid; do
    [ -s "$dir/$f" ] && pids="$pids $(cat "$dir/$f")"
done
[ -n "$pids" ] || fail "no pid files in $dir"
"$VMSHIFT_TOP/tools/testenv" down "$dir" || fail "down failed"
for p in $pids; do
    [ ! -d "/proc/$p" ] || fail "process $p ($(cat "/proc/$p/comm")) still runs after down"
done
if mountpoint -q "$dir/mnt" 2>/dev/null; then fail "still mounted after down"; fi
grep -q " $dir/mnt " /proc/mounts && fail "still in /proc/mounts after down"
ss -ltnH "sport = :$VMSHIFT_TESTENV_NFS_PORT" | grep -q LISTEN && fail "NFS port still listening"
[ ! -e "$dir/xfs.img" ] || fail "image left behind"
"$VMSHIFT_TOP/tools/testenv" status "$dir" 2>/dev/null && fail "status says up after down"
"$VMSHIFT_TOP/tools/testenv" down "$dir" || fail "a second down failed"
echo "ok"
