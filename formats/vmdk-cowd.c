/* VMDK COWD extents: the vmfsSparse redo log ("-delta.vmdk").
 *
 * Layout (docs/formats/vmdk.md, "COWD and seSparse"; libyal "The COWD
 * sparse extent data file"): a 2048-byte little-endian header {magic
 * "COWD", version 1, flags, numSectors, grainSize (sectors, 1 on ESXi),
 * gdOffset (sector), numGDEntries, freeSector, ...}, a grain directory
 * of uint32 sector numbers of grain tables, grain tables of 4096 uint32
 * grain sector numbers.  0 means the grain is not in this delta (read
 * the parent).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/endian.h"
#include "engine/base/overflow.h"
#include "formats/vmdk.h"

enum {
    COWD_OFF_VERSION = 4, COWD_OFF_FLAGS = 8, COWD_OFF_SECTORS = 12,
    COWD_OFF_GRAIN = 16, COWD_OFF_GD = 20, COWD_OFF_NGD = 24,
    COWD_OFF_FREE = 28, COWD_OFF_UNCLEAN = 1648,
    COWD_HDR_SIZE = 2048,
};

#define COWD_GTES 4096u
#define COWD_GT_BYTES (COWD_GTES * 4u)
#define COWD_MAX_GRAIN 2048u

struct cowd_hdr {
    uint32_t version, flags, sectors, grain, gd, ngd, free_sector, unclean;
};

struct cowd_walk {
    struct vmdk_ctx *c;
    uint32_t file;
    struct cowd_hdr h;
    uint64_t fsize;
    uint64_t base;
    uint64_t cap;               /* bytes */
    uint64_t grain;             /* bytes */
    struct vmdk_mapper m;
    uint8_t *gt;
    bool high_reported;
};

static bool
cowd_in_file (uint64_t sector, uint64_t len, uint64_t fsize)
{
    uint64_t end = sector * VMDK_SECTOR;    /* sector < 2^32: no overflow */

    return end + len <= fsize;
}

#define COWD_REQUIRE(cond, ...)                                         \
    do {                                                                \
        if (!(cond)) {                                                  \
            err = vmdk_fail (c, file, __VA_ARGS__);                     \
            if (!vmdk_keep_going (c)) {                                 \
                return err;                                             \
            }                                                           \
        }                                                               \
    } while (0)

static int
cowd_check (struct vmdk_ctx *c, uint32_t file, const struct cowd_hdr *h,
            uint64_t sectors, uint64_t fsize)
{
    uint64_t need;
    int err = 0;

    COWD_REQUIRE (h->version == 1, ENOTSUP, "unsupported COWD version %u",
                  h->version);
    COWD_REQUIRE (h->sectors == sectors, EINVAL, "COWD capacity %u sectors "
                  "differs from the extent size %llu in the descriptor",
                  h->sectors, (unsigned long long) sectors);
    COWD_REQUIRE (IS_POW2 (h->grain) && h->grain <= COWD_MAX_GRAIN, EINVAL,
                  "COWD grain size %u sectors is not a power of 2 up to %u",
                  h->grain, COWD_MAX_GRAIN);
    if (err < 0) {
        return err;
    }
    need = DIV_ROUND_UP ((uint64_t) h->sectors,
                         (uint64_t) COWD_GTES * h->grain);
    COWD_REQUIRE (h->ngd >= need, EINVAL, "COWD grain directory has %u "
                  "entries, the capacity needs %llu", h->ngd,
                  (unsigned long long) need);
    COWD_REQUIRE (h->gd != 0 && cowd_in_file (h->gd, need * 4, fsize), EINVAL,
                  "COWD grain directory (sector %u) is outside the file",
                  h->gd);
    if (h->flags != 3) {
        vmdk_soft (c, file, "COWD flags are 0x%x (expected 3)", h->flags);
    }
    if (h->unclean) {
        vmdk_soft (c, file, "COWD extent was not closed cleanly");
    }
    return err;
}

static int
cowd_read_header (struct vmdk_ctx *c, uint32_t file, uint64_t sectors,
                  struct cowd_hdr *h, uint64_t *fsize)
{
    uint8_t b[COWD_HDR_SIZE];
    int r;

    if ((r = vmdk_file_size (c, file, fsize)) < 0) {
        return r;
    }
    if (*fsize < COWD_HDR_SIZE) {
        return vmdk_fail (c, file, EINVAL, "file is %llu bytes, shorter than "
                          "the 2048-byte COWD header",
                          (unsigned long long) *fsize);
    }
    if ((r = vmdk_pread (c, file, b, sizeof b, 0)) < 0) {
        return r;
    }
    if (memcmp (b, VMDK_COWD_MAGIC_BYTES, 4) != 0) {
        return vmdk_fail (c, file, EINVAL, "VMFSSPARSE extent has no COWD "
                          "magic");
    }
    h->version = get_le32 (b + COWD_OFF_VERSION);
    h->flags = get_le32 (b + COWD_OFF_FLAGS);
    h->sectors = get_le32 (b + COWD_OFF_SECTORS);
    h->grain = get_le32 (b + COWD_OFF_GRAIN);
    h->gd = get_le32 (b + COWD_OFF_GD);
    h->ngd = get_le32 (b + COWD_OFF_NGD);
    h->free_sector = get_le32 (b + COWD_OFF_FREE);
    h->unclean = get_le32 (b + COWD_OFF_UNCLEAN);
    return cowd_check (c, file, h, sectors, *fsize);
}

static int
cowd_grain (struct cowd_walk *w, uint64_t g, uint32_t gte)
{
    uint64_t goff = g * w->grain;
    uint64_t vis = w->cap - goff < w->grain ? w->cap - goff : w->grain;
    int r;

    if (gte == 0) {
        return vmdk_mapper_unalloc (&w->m, w->base + goff, vis);
    }
    if (!cowd_in_file (gte, vis, w->fsize)) {
        r = vmdk_fail (w->c, w->file, EINVAL, "grain %llu at sector %u is "
                       "outside the file (%llu bytes)",
                       (unsigned long long) g, gte,
                       (unsigned long long) w->fsize);
        return vmdk_keep_going (w->c)
               ? vmdk_mapper_zero (&w->m, w->base + goff, vis) : r;
    }
    if (gte >= w->h.free_sector && !w->high_reported) {
        w->high_reported = true;
        vmdk_soft (w->c, w->file, "grain %llu at sector %u lies past the "
                   "free sector %u", (unsigned long long) g, gte,
                   w->h.free_sector);
    }
    return vmdk_mapper_data (&w->m, w->base + goff, vis,
                             (uint64_t) gte * VMDK_SECTOR);
}

static int
cowd_gt (void *opaque, uint64_t i, uint64_t entry)
{
    struct cowd_walk *w = opaque;
    uint32_t gde = (uint32_t) entry;
    uint64_t cover = (uint64_t) COWD_GTES * w->grain;
    uint64_t goff = i * cover;
    uint64_t len = w->cap - goff < cover ? w->cap - goff : cover;
    uint64_t n = DIV_ROUND_UP (len, w->grain);
    int r;

    if (gde == 0) {
        return vmdk_mapper_unalloc (&w->m, w->base + goff, len);
    }
    if (!cowd_in_file (gde, COWD_GT_BYTES, w->fsize)) {
        r = vmdk_fail (w->c, w->file, EINVAL, "grain table %llu at sector %u "
                       "is outside the file", (unsigned long long) i, gde);
        return vmdk_keep_going (w->c)
               ? vmdk_mapper_zero (&w->m, w->base + goff, len) : r;
    }
    if ((r = vmdk_pread (w->c, w->file, w->gt, COWD_GT_BYTES,
                         (uint64_t) gde * VMDK_SECTOR)) < 0 ||
        (r = vmdk_ranges_add (w->c, w->file, &w->m.ranges,
                              (uint64_t) gde * VMDK_SECTOR, COWD_GT_BYTES,
                              VMDK_R_GT)) < 0) {
        return r;
    }
    for (uint64_t k = 0; k < n; k++) {
        if ((r = cowd_grain (w, i * COWD_GTES + k,
                             get_le32 (w->gt + 4 * k))) < 0) {
            return r;
        }
    }
    return 0;
}

static int
cowd_walk (struct cowd_walk *w)
{
    uint64_t ngt = DIV_ROUND_UP (w->cap, (uint64_t) COWD_GTES * w->grain);
    int r;

    if ((r = vmdk_ranges_add (w->c, w->file, &w->m.ranges, 0, COWD_HDR_SIZE,
                              VMDK_R_HEADER)) < 0 ||
        (r = vmdk_ranges_add (w->c, w->file, &w->m.ranges,
                              (uint64_t) w->h.gd * VMDK_SECTOR, ngt * 4,
                              VMDK_R_GD)) < 0) {
        return r;
    }
    return vmdk_gd_walk (w->c, w->file, &w->m,
                         (uint64_t) w->h.gd * VMDK_SECTOR, ngt, 4, cowd_gt, w);
}

int
vmdk_cowd_map (struct vmdk_ctx *c, uint32_t file, uint64_t sectors,
               uint64_t guest_off, bool delta, struct fmt_extent_list *out)
{
    struct cowd_walk w = { .c = c, .file = file, .base = guest_off };
    int r = cowd_read_header (c, file, sectors, &w.h, &w.fsize);

    if (r < 0) {
        return r;
    }
    w.cap = (uint64_t) w.h.sectors * VMDK_SECTOR;
    w.grain = (uint64_t) w.h.grain * VMDK_SECTOR;
    w.gt = malloc (COWD_GT_BYTES);
    vmdk_mapper_init (&w.m, c, file, out, delta);
    if (w.gt == NULL) {
        r = vmdk_fail_current (c, file, -ENOMEM);
    } else {
        r = cowd_walk (&w);
    }
    vmdk_mapper_release (&w.m);
    free (w.gt);
    return r;
}
