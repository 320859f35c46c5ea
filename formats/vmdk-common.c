/* VMDK tables and the problem sink shared by the descriptor parser and the
 * extent readers: createTypes (docs/formats/vmdk.md, "Subformats"; libyal
 * "Disk type"), extent type names, hard errors and soft problems. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/endian.h"
#include "engine/base/error.h"
#include "formats/vmdk.h"

/* ------------------------------------------------------ problem sink */

int
vmdk_diag_vreport (struct vmdk_diag *d, int errnum, const char *fmt,
                   va_list ap)
{
    char msg[512];

    vsnprintf (msg, sizeof msg, fmt, ap);
    if (errnum) {
        d->nerr++;
    }
    if (errnum && d->err == 0) {
        d->err = -errnum;
        if (d->fname) {
            set_error (errnum, "'%s': %s", d->fname, msg);
        } else {
            set_error (errnum, "%s", msg);
        }
        error_save (&d->saved);
    }
    if (d->probs) {
        /* soft problems (errnum 0) do not stop reading but are still
         * problems of the file, not warnings */
        int e = errnum ? errnum : EINVAL;

        if (d->main || d->fname == NULL) {
            fmt_problem_err (d->probs, e, "%s", msg);
        } else {
            fmt_problem_err (d->probs, e, "'%s': %s", d->fname, msg);
        }
    }
    return errnum ? -errnum : 0;
}

int
vmdk_diag_restore (struct vmdk_diag *d)
{
    if (d->err) {
        error_restore (&d->saved);
    }
    return d->err;
}

int
vmdk_diag_fail (struct vmdk_diag *d, int errnum, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start (ap, fmt);
    r = vmdk_diag_vreport (d, errnum, fmt, ap);
    va_end (ap);
    return r;
}

void
vmdk_diag_soft (struct vmdk_diag *d, const char *fmt, ...)
{
    va_list ap;

    va_start (ap, fmt);
    vmdk_diag_vreport (d, 0, fmt, ap);
    va_end (ap);
}

/* ------------------------------------------------------ createTypes */

static const struct vmdk_ct_info vmdk_cts[] = {
    { "vmfs", NULL, VMDK_CT_VMFS, VMDK_CLASS_FLAT, NULL },
    { "vmfsThin", NULL, VMDK_CT_VMFS_THIN, VMDK_CLASS_FLAT, NULL },
    { "vmfsPreallocated", NULL, VMDK_CT_VMFS_PREALLOC, VMDK_CLASS_FLAT,
      NULL },
    { "vmfsEagerZeroedThick", NULL, VMDK_CT_VMFS_EZT, VMDK_CLASS_FLAT,
      NULL },
    { "monolithicFlat", NULL, VMDK_CT_MONO_FLAT, VMDK_CLASS_FLAT, NULL },
    { "twoGbMaxExtentFlat", "2GbMaxExtentFlat", VMDK_CT_2GB_FLAT,
      VMDK_CLASS_FLAT, NULL },
    { "monolithicSparse", NULL, VMDK_CT_MONO_SPARSE, VMDK_CLASS_SPARSE,
      NULL },
    { "twoGbMaxExtentSparse", "2GbMaxExtentSparse", VMDK_CT_2GB_SPARSE,
      VMDK_CLASS_SPARSE, NULL },
    { "streamOptimized", NULL, VMDK_CT_STREAM, VMDK_CLASS_SPARSE, NULL },
    { "vmfsSparse", NULL, VMDK_CT_VMFS_SPARSE, VMDK_CLASS_COWD, NULL },
    { "seSparse", NULL, VMDK_CT_SE_SPARSE, VMDK_CLASS_SESPARSE, NULL },
    { "custom", NULL, VMDK_CT_CUSTOM, VMDK_CLASS_CUSTOM, NULL },
    { "vmfsRaw", NULL, VMDK_CT_VMFS_RAW, VMDK_CLASS_DEVICE,
      "raw disk on VMFS" },
    { "vmfsRawDeviceMap", "vmfsRDM", VMDK_CT_RDM, VMDK_CLASS_DEVICE,
      "raw device mapping" },
    { "vmfsPassthroughRawDeviceMap", "vmfsRDMP", VMDK_CT_RDMP,
      VMDK_CLASS_DEVICE, "pass-through raw device mapping" },
    { "fullDevice", NULL, VMDK_CT_FULL_DEVICE, VMDK_CLASS_DEVICE,
      "physical disk" },
    { "partitionedDevice", NULL, VMDK_CT_PART_DEVICE, VMDK_CLASS_DEVICE,
      "physical disk partitions" },
};

bool
vmdk_name_eq (const char *a, const char *b)
{
    for (;; a++, b++) {
        char x = (*a >= 'A' && *a <= 'Z') ? (char) (*a - 'A' + 'a') : *a;
        char y = (*b >= 'A' && *b <= 'Z') ? (char) (*b - 'A' + 'a') : *b;

        if (x != y) {
            return false;
        }
        if (x == '\0') {
            return true;
        }
    }
}

const struct vmdk_ct_info *
vmdk_ct_lookup (const char *name)
{
    for (size_t i = 0; i < sizeof vmdk_cts / sizeof vmdk_cts[0]; i++) {
        if (vmdk_name_eq (name, vmdk_cts[i].name) ||
            (vmdk_cts[i].alias && vmdk_name_eq (name, vmdk_cts[i].alias))) {
            return &vmdk_cts[i];
        }
    }
    return NULL;
}

const struct vmdk_ct_info *
vmdk_ct_get (enum vmdk_ct ct)
{
    for (size_t i = 0; i < sizeof vmdk_cts / sizeof vmdk_cts[0]; i++) {
        if (vmdk_cts[i].ct == ct) {
            return &vmdk_cts[i];
        }
    }
    return NULL;
}

static const char *const vmdk_ext_names[] = {
    [VMDK_EXT_FLAT] = "FLAT", [VMDK_EXT_VMFS] = "VMFS",
    [VMDK_EXT_SPARSE] = "SPARSE", [VMDK_EXT_VMFSSPARSE] = "VMFSSPARSE",
    [VMDK_EXT_SESPARSE] = "SESPARSE", [VMDK_EXT_ZERO] = "ZERO",
    [VMDK_EXT_VMFSRDM] = "VMFSRDM", [VMDK_EXT_VMFSRAW] = "VMFSRAW",
};

const char *
vmdk_ext_type_name (int type)
{
    if (type <= 0 || (size_t) type >= sizeof vmdk_ext_names /
                                       sizeof vmdk_ext_names[0]) {
        return "?";
    }
    return vmdk_ext_names[type];
}


/* ------------------------------------------------ grain directories */

#define VMDK_GD_CHUNK_BYTES ((size_t) 64 << 10)

int
vmdk_gd_walk (struct vmdk_ctx *c, uint32_t file, struct vmdk_mapper *m,
              uint64_t off, uint64_t entries, unsigned width,
              int (*gt) (void *opaque, uint64_t i, uint64_t entry),
              void *opaque)
{
    size_t chunk = VMDK_GD_CHUNK_BYTES / width;
    uint8_t *buf = malloc (VMDK_GD_CHUNK_BYTES);
    int r = 0;

    if (buf == NULL) {
        return vmdk_fail_current (c, file, -ENOMEM);
    }
    for (uint64_t i = 0; i < entries && r == 0; i += chunk) {
        size_t n = entries - i < chunk ? (size_t) (entries - i) : chunk;

        r = vmdk_pread (c, file, buf, n * width, off + i * width);
        for (size_t j = 0; j < n && r == 0; j++) {
            const uint8_t *p = buf + j * width;

            r = gt (opaque, i + j, width == 8 ? get_le64 (p) : get_le32 (p));
        }
    }
    free (buf);
    return r < 0 ? r : vmdk_mapper_finish (m);
}
