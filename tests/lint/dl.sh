#!/bin/sh
# The optional libraries (libcurl, OpenSSL, libnfs, libxml2, cJSON, zlib,
# SQLite, libvirt, libpq) are reached only through the dlopen wrappers
# engine/base/dl-*.h (engine/base/dl.h): no other file of the library or
# the command includes their headers, libvmshift.a refers to none of
# their symbols, and neither libvmshift.so nor vmshift links them.  The
# ONTAP simulator and the tests may use them directly.
. "$(dirname "$0")/../lib/functions.sh"

requires nm readelf
cd "$VMSHIFT_TOP" || fail "cd $VMSHIFT_TOP"
tmpdir

hdrs='curl/|openssl/|nfsc/|libxml/|cjson/|zlib\.h|sqlite3\.h|libvirt/|libpq-fe\.h|postgresql/'
find engine formats ontap hypervisors tools/vmshift -name '*.[ch]' |
    grep -v '^engine/base/dl-[a-z0-9]*\.h$' | sort |
    xargs grep -nE "^[[:space:]]*#[[:space:]]*include[[:space:]]*<($hdrs)" \
    > "$tmp/inc" || true
if [ -s "$tmp/inc" ]; then
    sed 's/^/  /' "$tmp/inc"
    fail "include engine/base/dl-NAME.h instead of the library's header"
fi

lib=$VMSHIFT_BUILD/libvmshift.a
[ -f "$lib" ] || skip "no $lib (run make first)"
syms='^(curl_|SSL_|X509|EVP_|OPENSSL_|nfs_|xml[A-Z]|cJSON_|inflate|deflate|crc32$|adler32|sqlite3_|vir[A-Z]|PQ|lo_)'
nm -u "$lib" | awk 'NF == 2 { print $2 }' | sort -u |
    grep -E "$syms" > "$tmp/u" || true
if [ -s "$tmp/u" ]; then
    sed 's/^/  /' "$tmp/u"
    fail "libvmshift.a calls library functions directly (add them to the table in engine/base/dl-NAME.h)"
fi

for f in "$VMSHIFT_BUILD/vmshift" "$VMSHIFT_BUILD/libvmshift.so.0"; do
    [ -f "$f" ] || continue
    readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' |
        grep -Ev '^(libc\.so\.6|libm\.so\.6|libpthread\.so\.0|ld-linux[-a-z0-9_.]*)$' \
        > "$tmp/n" || true
    [ -s "$tmp/n" ] && fail "$f links $(tr '\n' ' ' < "$tmp/n")(load it in engine/base/dl-NAME.h)"
done
echo "optional libraries reached only through engine/base/dl-*.h"
