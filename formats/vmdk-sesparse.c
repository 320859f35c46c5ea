/* VMDK seSparse extents ("-sesparse.vmdk", ESXi snapshot deltas).
 *
 * VMware publishes no specification; the layout follows qemu 7.2
 * block/vmdk.c (docs/formats/vmdk.md, "COWD and seSparse"): a 512-byte
 * constant header of little-endian u64 fields (all sizes and offsets in
 * sectors), a volatile header (magic 0xcafecafe, replay_journal must be
 * 0), a grain directory of u64 entries (0 = unallocated, else
 * 0x10000000 in the top 32 bits and a grain table index below), grain
 * tables of 4096 u64 entries whose top nibble says: 0 unallocated,
 * 1 unmapped (zeros), 2 zero, 3 allocated (cluster number split over
 * two bit fields), grains of 8 sectors (4 KiB) from grains_offset.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/endian.h"
#include "engine/base/overflow.h"
#include "formats/vmdk.h"

enum {
    SES_OFF_VERSION = 8, SES_OFF_CAPACITY = 16, SES_OFF_GRAIN = 24,
    SES_OFF_GT_SIZE = 32, SES_OFF_FLAGS = 40, SES_OFF_RESERVED = 48,
    SES_OFF_VOLATILE = 80, SES_OFF_GD = 128, SES_OFF_GTS = 144,
    SES_OFF_GRAINS = 192,
    SES_HDR_SIZE = 512,
};

#define SES_VERSION UINT64_C (0x0000000200000001)
#define SES_VOLATILE_MAGIC UINT64_C (0x00000000cafecafe)
#define SES_GRAIN 8u                    /* sectors */
#define SES_GT_SECTORS 64u
#define SES_GTES 4096u
#define SES_GT_BYTES (SES_GTES * 8u)
#define SES_GDE_TAG UINT64_C (0x1000000000000000)

struct ses_hdr {
    uint64_t version, capacity, grain, gt_size, flags, reserved;
    uint64_t vol_off, vol_size, gd_off, gd_size, gts_off, gts_size;
    uint64_t grains_off, grains_size;
};

struct ses_walk {
    struct vmdk_ctx *c;
    uint32_t file;
    struct ses_hdr h;
    uint64_t fsize;
    uint64_t base;
    uint64_t cap;
    struct vmdk_mapper m;
    uint8_t *gt;
};

static bool
ses_in_file (uint64_t sector, uint64_t len, uint64_t fsize)
{
    uint64_t off, end;

    return !MUL_OVERFLOW (sector, (uint64_t) VMDK_SECTOR, &off) &&
           !ADD_OVERFLOW (off, len, &end) && end <= fsize;
}

static void
ses_decode (const uint8_t *b, struct ses_hdr *h)
{
    h->version = get_le64 (b + SES_OFF_VERSION);
    h->capacity = get_le64 (b + SES_OFF_CAPACITY);
    h->grain = get_le64 (b + SES_OFF_GRAIN);
    h->gt_size = get_le64 (b + SES_OFF_GT_SIZE);
    h->flags = get_le64 (b + SES_OFF_FLAGS);
    h->reserved = 0;
    for (int i = 0; i < 4; i++) {
        h->reserved |= get_le64 (b + SES_OFF_RESERVED + 8 * i);
    }
    h->vol_off = get_le64 (b + SES_OFF_VOLATILE);
    h->vol_size = get_le64 (b + SES_OFF_VOLATILE + 8);
    h->gd_off = get_le64 (b + SES_OFF_GD);
    h->gd_size = get_le64 (b + SES_OFF_GD + 8);
    h->gts_off = get_le64 (b + SES_OFF_GTS);
    h->gts_size = get_le64 (b + SES_OFF_GTS + 8);
    h->grains_off = get_le64 (b + SES_OFF_GRAINS);
    h->grains_size = get_le64 (b + SES_OFF_GRAINS + 8);
}

#define SES_REQUIRE(cond, ...)                                          \
    do {                                                                \
        if (!(cond)) {                                                  \
            err = vmdk_fail (c, file, __VA_ARGS__);                     \
            if (!vmdk_keep_going (c)) {                                 \
                return err;                                             \
            }                                                           \
        }                                                               \
    } while (0)

static int
ses_check (struct vmdk_ctx *c, uint32_t file, const struct ses_hdr *h,
           uint64_t sectors, uint64_t fsize)
{
    uint64_t need = DIV_ROUND_UP (sectors, (uint64_t) SES_GTES * SES_GRAIN);
    int err = 0;

    SES_REQUIRE (h->version == SES_VERSION, ENOTSUP, "unsupported seSparse "
                 "version 0x%llx", (unsigned long long) h->version);
    SES_REQUIRE (h->grain == SES_GRAIN && h->gt_size == SES_GT_SECTORS,
                 ENOTSUP, "unsupported seSparse grain size %llu or grain "
                 "table size %llu sectors (expected 8 and 64)",
                 (unsigned long long) h->grain,
                 (unsigned long long) h->gt_size);
    SES_REQUIRE (h->flags == 0 && h->reserved == 0, ENOTSUP, "unsupported "
                 "seSparse flags 0x%llx or reserved fields set",
                 (unsigned long long) h->flags);
    SES_REQUIRE (h->capacity == sectors, EINVAL, "seSparse capacity %llu "
                 "sectors differs from the extent size %llu in the "
                 "descriptor", (unsigned long long) h->capacity,
                 (unsigned long long) sectors);
    SES_REQUIRE (h->vol_off != 0 && ses_in_file (h->vol_off, VMDK_SECTOR,
                                                 fsize), EINVAL,
                 "seSparse volatile header (sector %llu) is outside the file",
                 (unsigned long long) h->vol_off);
    SES_REQUIRE (h->gd_size <= UINT64_MAX / 64 &&
                 h->gd_size * (VMDK_SECTOR / 8) >= need, EINVAL,
                 "seSparse grain directory (%llu sectors) is too small for "
                 "the capacity", (unsigned long long) h->gd_size);
    SES_REQUIRE (h->gd_off != 0 && ses_in_file (h->gd_off, need * 8, fsize),
                 EINVAL, "seSparse grain directory (sector %llu) is outside "
                 "the file", (unsigned long long) h->gd_off);
    SES_REQUIRE (h->gts_off != 0 && h->grains_off != 0, EINVAL, "seSparse "
                 "header has no grain table or grain area");
    return err;
}

static int
ses_read_header (struct vmdk_ctx *c, uint32_t file, uint64_t sectors,
                 struct ses_hdr *h, uint64_t *fsize)
{
    uint8_t b[SES_HDR_SIZE];
    int r;

    if ((r = vmdk_file_size (c, file, fsize)) < 0) {
        return r;
    }
    if (*fsize < SES_HDR_SIZE) {
        return vmdk_fail (c, file, EINVAL, "file is too short for a seSparse "
                          "header");
    }
    if ((r = vmdk_pread (c, file, b, sizeof b, 0)) < 0) {
        return r;
    }
    if (get_le64 (b) != VMDK_SESPARSE_MAGIC) {
        return vmdk_fail (c, file, EINVAL, "SESPARSE extent has no seSparse "
                          "magic");
    }
    ses_decode (b, h);
    if ((r = ses_check (c, file, h, sectors, *fsize)) < 0) {
        return r;
    }
    if ((r = vmdk_pread (c, file, b, sizeof b, h->vol_off * VMDK_SECTOR)) < 0) {
        return r;
    }
    if (get_le64 (b) != SES_VOLATILE_MAGIC) {
        return vmdk_fail (c, file, EINVAL, "seSparse volatile header has a "
                          "bad magic");
    }
    if (get_le64 (b + 24) != 0) {
        return vmdk_fail (c, file, ENOTSUP, "unsupported: seSparse journal "
                          "needs replaying (the snapshot was not closed "
                          "cleanly; consolidate it on ESXi first)");
    }
    return 0;
}

static int
ses_grain (struct ses_walk *w, uint64_t g, uint64_t v)
{
    uint64_t goff = g * SES_GRAIN * VMDK_SECTOR;
    uint64_t vis = w->cap - goff < SES_GRAIN * VMDK_SECTOR
                   ? w->cap - goff : SES_GRAIN * VMDK_SECTOR;
    uint64_t cluster, sector;

    switch (v >> 60) {
    case 0:
        if (v != 0) {
            break;
        }
        return vmdk_mapper_unalloc (&w->m, w->base + goff, vis);
    case 1:
    case 2:
        return vmdk_mapper_zero (&w->m, w->base + goff, vis);
    case 3:
        cluster = ((v & UINT64_C (0x0FFF000000000000)) >> 48) |
                  ((v & UINT64_C (0x0000FFFFFFFFFFFF)) << 12);
        if (cluster >= w->h.grains_size / SES_GRAIN ||
            ADD_OVERFLOW (w->h.grains_off, cluster * SES_GRAIN, &sector) ||
            !ses_in_file (sector, vis, w->fsize)) {
            return vmdk_fail (w->c, w->file, EINVAL, "grain %llu (cluster "
                              "%llu) is outside the grain area or the file",
                              (unsigned long long) g,
                              (unsigned long long) cluster);
        }
        return vmdk_mapper_data (&w->m, w->base + goff, vis,
                                 sector * VMDK_SECTOR);
    default:
        break;
    }
    return vmdk_fail (w->c, w->file, EINVAL, "grain %llu has an invalid "
                      "grain table entry 0x%016llx", (unsigned long long) g,
                      (unsigned long long) v);
}

static int
ses_gt (void *opaque, uint64_t i, uint64_t gde)
{
    struct ses_walk *w = opaque;
    uint64_t cover = (uint64_t) SES_GTES * SES_GRAIN * VMDK_SECTOR;
    uint64_t goff = i * cover;
    uint64_t len = w->cap - goff < cover ? w->cap - goff : cover;
    uint64_t n = DIV_ROUND_UP (len, SES_GRAIN * VMDK_SECTOR);
    uint64_t idx = gde & 0xffffffffu, sector = 0;
    int r;

    if (gde == 0) {
        return vmdk_mapper_unalloc (&w->m, w->base + goff, len);
    }
    if ((gde & ~UINT64_C (0xffffffff)) != SES_GDE_TAG ||
        (idx + 1) * SES_GT_SECTORS > w->h.gts_size ||
        ADD_OVERFLOW (w->h.gts_off, idx * SES_GT_SECTORS, &sector) ||
        !ses_in_file (sector, SES_GT_BYTES, w->fsize)) {
        r = vmdk_fail (w->c, w->file, EINVAL, "grain directory entry %llu "
                       "(0x%016llx) is invalid or outside the file",
                       (unsigned long long) i, (unsigned long long) gde);
        return vmdk_keep_going (w->c)
               ? vmdk_mapper_zero (&w->m, w->base + goff, len) : r;
    }
    if ((r = vmdk_pread (w->c, w->file, w->gt, SES_GT_BYTES,
                         sector * VMDK_SECTOR)) < 0 ||
        (r = vmdk_ranges_add (w->c, w->file, &w->m.ranges,
                              sector * VMDK_SECTOR, SES_GT_BYTES,
                              VMDK_R_GT)) < 0) {
        return r;
    }
    for (uint64_t k = 0; k < n; k++) {
        uint64_t g = i * SES_GTES + k;

        r = ses_grain (w, g, get_le64 (w->gt + 8 * k));
        if (r < 0) {
            if (!vmdk_keep_going (w->c)) {
                return r;
            }
            r = vmdk_mapper_zero (&w->m, w->base + g * SES_GRAIN * VMDK_SECTOR,
                                  len - k * SES_GRAIN * VMDK_SECTOR <
                                  SES_GRAIN * VMDK_SECTOR
                                  ? len - k * SES_GRAIN * VMDK_SECTOR
                                  : SES_GRAIN * VMDK_SECTOR);
            if (r < 0) {
                return r;
            }
        }
    }
    return 0;
}

static int
ses_walk (struct ses_walk *w)
{
    uint64_t ngt = DIV_ROUND_UP (w->cap, (uint64_t) SES_GTES * SES_GRAIN *
                                         VMDK_SECTOR);
    struct vmdk_range_vec *v = &w->m.ranges;
    int r;

    if ((r = vmdk_ranges_add (w->c, w->file, v, 0, SES_HDR_SIZE,
                              VMDK_R_HEADER)) < 0 ||
        (r = vmdk_ranges_add (w->c, w->file, v, w->h.vol_off * VMDK_SECTOR,
                              VMDK_SECTOR, VMDK_R_META)) < 0 ||
        (r = vmdk_ranges_add (w->c, w->file, v, w->h.gd_off * VMDK_SECTOR,
                              ngt * 8, VMDK_R_GD)) < 0) {
        return r;
    }
    return vmdk_gd_walk (w->c, w->file, &w->m, w->h.gd_off * VMDK_SECTOR, ngt,
                         8, ses_gt, w);
}

int
vmdk_sesparse_map (struct vmdk_ctx *c, uint32_t file, uint64_t sectors,
                   uint64_t guest_off, bool delta, struct fmt_extent_list *out)
{
    struct ses_walk w = { .c = c, .file = file, .base = guest_off };
    int r = ses_read_header (c, file, sectors, &w.h, &w.fsize);

    if (r < 0) {
        return r;
    }
    w.cap = w.h.capacity * VMDK_SECTOR;
    w.gt = malloc (SES_GT_BYTES);
    vmdk_mapper_init (&w.m, c, file, out, delta);
    if (w.gt == NULL) {
        r = vmdk_fail_current (c, file, -ENOMEM);
    } else {
        r = ses_walk (&w);
    }
    vmdk_mapper_release (&w.m);
    free (w.gt);
    return r;
}
