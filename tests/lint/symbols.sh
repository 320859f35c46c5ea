#!/bin/sh
# Every symbol libvmshift defines outside its own files carries a module
# prefix, so the static library can be linked into any program without
# clashing with its names (json_parse, log_msg, sbuf_add are common ones).
# The public API is vmshift_*; the rest are internal but visible in
# libvmshift.a.  The prefixes, by folder:
#   vmshift_                         engine/vmshift.h (the public API)
#   vs_                              engine/ core: base, exec, convert, api
#   be_ backend_                     engine/backend/
#   wf_                              engine/workflow/ (runs, store)
#   job_                             engine/jobs/ (scheduled jobs)
#   fmt_ raw_ vmdk_ vhdx_ qcow2_ vhd_ vdi_   formats/
#   ontap_                           ontap/
#   hv_ vsphere_                     hypervisors/
# Needs a built library ($VMSHIFT_BUILD/libvmshift.a).
. "$(dirname "$0")/../lib/functions.sh"

requires nm
lib=$VMSHIFT_BUILD/libvmshift.a
[ -f "$lib" ] || skip "no $lib (run make first)"
tmpdir

allowed='^(vmshift|vs|be|backend|wf|job|fmt|raw|vmdk|vhdx|qcow2|vhd|vdi|ontap|hv|vsphere)_'
nm -g --defined-only "$lib" 2>/dev/null | awk 'NF == 3 { print $3 }' |
    sort -u > "$tmp/syms"
[ -s "$tmp/syms" ] || fail "nm found no symbols in $lib"
grep -Ev "$allowed" "$tmp/syms" > "$tmp/bad" || true
if [ -s "$tmp/bad" ]; then
    echo "symbols without a module prefix (see the list at the top of $0):"
    sed 's/^/  /' "$tmp/bad"
    fail "$(wc -l < "$tmp/bad") symbol(s) without a module prefix"
fi
echo "$(wc -l < "$tmp/syms") symbols, all prefixed"
