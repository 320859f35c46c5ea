/* Disk size and kind from a VMDK text descriptor, for the VM model only
 * (sizes of KubeVirt PVCs and Proxmox disks, the RDM warning).  The
 * conversion itself reads VMDKs with formats/vmdk.c; this reads just
 * two facts of VMware's "Virtual Disk Format 5.0" descriptor:
 *   createType="vmfs" | "vmfsRawDeviceMap" | "vmfsPassthroughRawDeviceMap" ...
 *   <access> <size in sectors> <type> "<file>" [<offset>]
 * where access is RW, RDONLY or NOACCESS.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "engine/base/error.h"
#include "engine/base/overflow.h"
#include "hypervisors/hv.h"

#define DESC_MAX_BYTES (64 * 1024)

static const char *
desc_word (const char *p, const char *eol, const char **end)
{
    while (p < eol && (*p == ' ' || *p == '\t')) {
        p++;
    }
    *end = p;
    while (*end < eol && **end != ' ' && **end != '\t') {
        (*end)++;
    }
    return p;
}

/* An extent line adds its sectors to *sectors; other lines are ignored. */
static int
desc_extent (const char *p, const char *eol, uint64_t *sectors)
{
    const char *e, *w = desc_word (p, eol, &e);
    uint64_t n = 0;

    if (!((e - w == 2 && strncmp (w, "RW", 2) == 0) ||
          (e - w == 6 && strncmp (w, "RDONLY", 6) == 0) ||
          (e - w == 8 && strncmp (w, "NOACCESS", 8) == 0))) {
        return 0;
    }
    w = desc_word (e, eol, &e);
    if (w == e) {
        return set_error (EINVAL, "extent line without a size");
    }
    for (; w < e; w++) {
        if (*w < '0' || *w > '9' || MUL_OVERFLOW (n, 10, &n) ||
            ADD_OVERFLOW (n, (uint64_t) (*w - '0'), &n)) {
            return set_error (EINVAL, "extent size is not a number");
        }
    }
    if (ADD_OVERFLOW (*sectors, n, sectors) ||
        *sectors > (UINT64_C (1) << 55)) {
        return set_error (EFBIG, "extent sizes add up past 16 EiB");
    }
    return 1;
}

static bool
desc_is_rdm (const char *p, const char *eol)
{
    static const char key[] = "createType";
    size_t n = (size_t) (eol - p);

    return n > sizeof key && strncasecmp (p, key, sizeof key - 1) == 0 &&
        memmem (p, n, "RawDeviceMap", 12) != NULL;
}

int
hv_vmdk_desc_info (const char *buf, size_t len, uint64_t *capacity,
                   bool *rdm)
{
    const char *p = buf, *end = buf + len;
    uint64_t sectors = 0;
    unsigned extents = 0;
    bool is_rdm = false;

    if (len > DESC_MAX_BYTES || memchr (buf, '\0', len) != NULL ||
        len < 21 || memmem (buf, len, "# Disk DescriptorFile", 21) == NULL) {
        return set_error (EINVAL, "not a VMDK text descriptor");
    }
    while (p < end) {
        const char *nl = memchr (p, '\n', (size_t) (end - p));
        const char *eol = nl ? nl : end;
        int r;

        while (p < eol && (*p == ' ' || *p == '\t')) {
            p++;
        }
        is_rdm = is_rdm || desc_is_rdm (p, eol);
        r = desc_extent (p, eol, &sectors);
        if (r < 0) {
            return r;
        }
        extents += (unsigned) r;
        p = nl ? nl + 1 : end;
    }
    if (extents == 0) {
        return set_error (EINVAL, "VMDK descriptor has no extent lines");
    }
    *capacity = sectors * 512;
    *rdm = is_rdm;
    return 0;
}
