#!/bin/sh
# make install into a DESTDIR: library (static, shared), header, pkg-config
# file, command and man pages; then a program built against the installed
# library through pkg-config runs, and the shared library exports only
# vmshift_* symbols.
. "$VMSHIFT_TOP/tests/lib/functions.sh"
requires pkg-config nm cc
tmpdir
make -s -C "$VMSHIFT_TOP" install DESTDIR="$tmp/root" PREFIX=/usr >/dev/null ||
    fail "make install failed"
for f in usr/lib/libvmshift.a usr/lib/libvmshift.so.0 usr/lib/libvmshift.so \
         usr/include/vmshift.h usr/lib/pkgconfig/vmshift.pc usr/bin/vmshift \
         usr/share/man/man1/vmshift.1 usr/share/man/man1/vmshift-convert.1; do
    [ -e "$tmp/root/$f" ] || fail "missing $f"
done
# shellcheck disable=SC2016 # the literal ${libdir} of the .pc file
grep -q '^Libs: -L${libdir} -lvmshift' "$tmp/root/usr/lib/pkgconfig/vmshift.pc" ||
    fail "bad pkg-config file"
cat > "$tmp/t.c" <<'C'
#include <stdio.h>
#include <vmshift.h>
int main (void)
{
    struct vmshift_handle *h = vmshift_new ();
    char *rep = NULL;
    int r = vmshift_info (h, "/nonexistent/disk.vmdk", 0, &rep);
    printf ("%s %d %s\n", vmshift_version (), r, vmshift_get_error ());
    vmshift_free (h);
    return r < 0 ? 0 : 1;
}
C
flags=$(PKG_CONFIG_SYSROOT_DIR="$tmp/root" \
    PKG_CONFIG_PATH="$tmp/root/usr/lib/pkgconfig" pkg-config --cflags --libs vmshift) ||
    fail "pkg-config does not know vmshift"
# shellcheck disable=SC2086 # flags are words
cc -o "$tmp/t" "$tmp/t.c" $flags || fail "cannot build against the installed library"
out=$(LD_LIBRARY_PATH="$tmp/root/usr/lib" "$tmp/t") || fail "test program failed: $out"
echo "$out" | grep -q "nonexistent/disk.vmdk" || fail "error message lost: $out"
bad=$(nm -D --defined-only "$tmp/root/usr/lib/libvmshift.so.0" | awk '{print $3}' |
      grep -v '^vmshift_' | grep -v '^_' | grep -v '^VMSHIFT' || true)
[ -z "$bad" ] || fail "shared library exports non-vmshift symbols: $bad"
nm -D --defined-only "$tmp/root/usr/lib/libvmshift.so.0" | grep -q ' vmshift_convert$' ||
    fail "vmshift_convert not exported"
nm -D --defined-only "$tmp/root/usr/lib/libvmshift.so.0" | grep -q 'vmshift_internal' &&
    fail "internal symbols exported"
echo "install ok"
