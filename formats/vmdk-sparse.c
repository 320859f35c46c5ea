/* VMDK hosted sparse extents ("KDMV"): monolithicSparse,
 * twoGbMaxExtentSparse and streamOptimized.
 *
 * Layout (docs/formats/vmdk.md, "Hosted sparse and streamOptimized";
 * libyal "The VMDK sparse extent data file"): a 512-byte little-endian
 * header, an optional embedded descriptor, a grain directory (GD) of
 * uint32 sector numbers of grain tables (GT), GTs of numGTEsPerGT uint32
 * grain sector numbers, grains.
 * GTE 0 is unallocated (the parent's data in a delta, else zeros), GTE 1
 * with the zeroed-grain flag reads as zeros.  streamOptimized files
 * compress every grain (zlib) behind a marker {u64 lba; u32 size} and
 * may put the GD at the end (gdOffset = GD_AT_END), found through the
 * footer: footer marker, header copy, end-of-stream marker in the last
 * three sectors.
 *
 * Tables are read in bounded chunks (64 KiB of GD, up to 1 MiB of
 * consecutive GTs), so a 64 TiB disk is never held in memory at once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/endian.h"
#include "engine/base/overflow.h"
#include "formats/vmdk.h"

enum {
    VMDK4_OFF_VERSION = 4, VMDK4_OFF_FLAGS = 8, VMDK4_OFF_CAPACITY = 12,
    VMDK4_OFF_GRAIN = 20, VMDK4_OFF_DESC_OFF = 28, VMDK4_OFF_DESC_SIZE = 36,
    VMDK4_OFF_NUM_GTES = 44, VMDK4_OFF_RGD = 48, VMDK4_OFF_GD = 56,
    VMDK4_OFF_OVERHEAD = 64, VMDK4_OFF_UNCLEAN = 72, VMDK4_OFF_NL = 73,
    VMDK4_OFF_COMPRESS = 77,
    VMDK4_HDR_SIZE = 512,
};

#define VMDK4_FLAG_NL 0x1u
#define VMDK4_FLAG_RGD 0x2u
#define VMDK4_FLAG_ZEROED 0x4u
#define VMDK4_FLAG_COMPRESSED 0x10000u
#define VMDK4_FLAG_MARKERS 0x20000u
#define VMDK4_KNOWN_FLAGS (VMDK4_FLAG_NL | VMDK4_FLAG_RGD | \
                           VMDK4_FLAG_ZEROED | VMDK4_FLAG_COMPRESSED | \
                           VMDK4_FLAG_MARKERS)
#define VMDK4_GD_AT_END UINT64_MAX
#define VMDK4_COMPRESS_DEFLATE 1
/* Real files use 128-sector grains; 1 MiB bounds the buffers a reader
 * of compressed grains needs. */
#define VMDK4_MAX_GRAIN 2048u
#define VMDK4_MAX_DESC_SECTORS (VMDK_MAX_DESC_BYTES / VMDK_SECTOR)
#define VMDK4_GD_CHUNK 16384u                   /* entries per GD read */
#define VMDK4_GT_BATCH ((size_t) 1 << 20)       /* bytes of GTs per read */
#define VMDK4_MARKER_HDR 12u                    /* u64 lba + u32 size */

enum { VMDK_MARKER_EOS = 0, VMDK_MARKER_GT = 1, VMDK_MARKER_GD = 2,
       VMDK_MARKER_FOOTER = 3 };

void
vmdk_sparse_hdr_decode (const uint8_t *b, struct vmdk_sparse_hdr *h)
{
    h->version = get_le32 (b + VMDK4_OFF_VERSION);
    h->flags = get_le32 (b + VMDK4_OFF_FLAGS);
    h->capacity = get_le64 (b + VMDK4_OFF_CAPACITY);
    h->grain = get_le64 (b + VMDK4_OFF_GRAIN);
    h->desc_off = get_le64 (b + VMDK4_OFF_DESC_OFF);
    h->desc_size = get_le64 (b + VMDK4_OFF_DESC_SIZE);
    h->num_gtes = get_le32 (b + VMDK4_OFF_NUM_GTES);
    h->rgd_off = get_le64 (b + VMDK4_OFF_RGD);
    h->gd_off = get_le64 (b + VMDK4_OFF_GD);
    h->overhead = get_le64 (b + VMDK4_OFF_OVERHEAD);
    h->unclean = b[VMDK4_OFF_UNCLEAN];
    memcpy (h->nl, b + VMDK4_OFF_NL, 4);
    h->compress = get_le16 (b + VMDK4_OFF_COMPRESS);
}

/* Is [sector*512, +len) inside a file of fsize bytes? */
static bool
vmdk_in_file (uint64_t sector, uint64_t len, uint64_t fsize)
{
    uint64_t off, end;

    return !MUL_OVERFLOW (sector, (uint64_t) VMDK_SECTOR, &off) &&
           !ADD_OVERFLOW (off, len, &end) && end <= fsize;
}

/* Check cond; if it fails report a hard error, remember it in the
 * caller's 'err', and return it at once unless validating (which goes on
 * to report every problem).  Needs 'c', 'file' and 'err' in scope. */
#define VMDK_REQUIRE(cond, ...)                                         \
    do {                                                                \
        if (!(cond)) {                                                  \
            err = vmdk_fail (c, file, __VA_ARGS__);                     \
            if (!vmdk_keep_going (c)) {                                 \
                return err;                                             \
            }                                                           \
        }                                                               \
    } while (0)

static int
vmdk_sparse_check_basic (struct vmdk_ctx *c, uint32_t file,
                         const struct vmdk_sparse_hdr *h)
{
    int err = 0;

    VMDK_REQUIRE (h->version >= 1 && h->version <= 3, ENOTSUP,
                  "unsupported sparse extent version %u", h->version);
    VMDK_REQUIRE ((h->flags & ~VMDK4_KNOWN_FLAGS) == 0, ENOTSUP,
                  "unsupported sparse header flags 0x%x",
                  h->flags & ~VMDK4_KNOWN_FLAGS);
    VMDK_REQUIRE (!(h->flags & VMDK4_FLAG_NL) ||
                  memcmp (h->nl, "\n \r\n", 4) == 0, EINVAL,
                  "newline detection bytes are damaged (was the file "
                  "copied in text mode?)");
    VMDK_REQUIRE (h->capacity > 0, EINVAL, "sparse header capacity is 0");
    VMDK_REQUIRE (h->capacity <= VMDK_MAX_SECTORS, EFBIG, "capacity of %llu "
                  "sectors exceeds the 64 TiB limit",
                  (unsigned long long) h->capacity);
    VMDK_REQUIRE (IS_POW2 (h->grain) && h->grain > 8, EINVAL, "grain size "
                  "%llu sectors is not a power of 2 greater than 8",
                  (unsigned long long) h->grain);
    VMDK_REQUIRE (h->grain <= VMDK4_MAX_GRAIN, ENOTSUP, "unsupported grain "
                  "size %llu sectors (more than %u)",
                  (unsigned long long) h->grain, VMDK4_MAX_GRAIN);
    VMDK_REQUIRE (h->num_gtes >= 1 && h->num_gtes <= 512, EINVAL,
                  "numGTEsPerGT %u is not between 1 and 512", h->num_gtes);
    if (h->num_gtes != 512 && h->num_gtes >= 1 && h->num_gtes <= 512) {
        vmdk_soft (c, file, "numGTEsPerGT is %u (VMware writes 512)",
                   h->num_gtes);
    }
    if (h->unclean) {
        vmdk_soft (c, file, "sparse extent was not closed cleanly");
    }
    return err;
}

static int
vmdk_sparse_check_compress (struct vmdk_ctx *c, uint32_t file,
                            const struct vmdk_sparse_hdr *h)
{
    bool comp = h->flags & VMDK4_FLAG_COMPRESSED;
    bool mark = h->flags & VMDK4_FLAG_MARKERS;
    int err = 0;

    VMDK_REQUIRE (comp == mark, ENOTSUP, "unsupported: %s",
                  comp ? "compressed grains without grain markers"
                       : "grain markers without compression");
    VMDK_REQUIRE (!comp || h->compress == VMDK4_COMPRESS_DEFLATE, ENOTSUP,
                  "unsupported compression algorithm %u", h->compress);
    VMDK_REQUIRE (h->gd_off != VMDK4_GD_AT_END || mark, EINVAL,
                  "grain directory at the end (GD_AT_END) without markers");
    if (!comp && h->compress != 0) {
        vmdk_soft (c, file, "compression algorithm %u set but grains are "
                   "not compressed", h->compress);
    }
    return err;
}

/* Everything in the file named by the header, after GD_AT_END is
 * resolved. */
static int
vmdk_sparse_check_layout (struct vmdk_ctx *c, uint32_t file,
                          const struct vmdk_sparse_hdr *h, uint64_t fsize)
{
    uint64_t gt_cover = (uint64_t) h->num_gtes * h->grain * VMDK_SECTOR;
    uint64_t ngt = DIV_ROUND_UP (h->capacity * VMDK_SECTOR, gt_cover);
    int err = 0;

    if (h->desc_off) {
        VMDK_REQUIRE (h->desc_size > 0 &&
                      h->desc_size <= VMDK4_MAX_DESC_SECTORS, EINVAL,
                      "embedded descriptor size %llu sectors is not between "
                      "1 and %zu", (unsigned long long) h->desc_size,
                      VMDK4_MAX_DESC_SECTORS);
        VMDK_REQUIRE (h->desc_size > VMDK4_MAX_DESC_SECTORS ||
                      vmdk_in_file (h->desc_off, h->desc_size * VMDK_SECTOR,
                                    fsize), EINVAL,
                      "embedded descriptor (sector %llu) is outside the file",
                      (unsigned long long) h->desc_off);
    }
    VMDK_REQUIRE (h->gd_off != 0, EINVAL, "sparse header has no grain "
                  "directory offset");
    VMDK_REQUIRE (vmdk_in_file (h->gd_off, ngt * 4, fsize), EINVAL,
                  "grain directory (%llu entries at sector %llu) is outside "
                  "the file (%llu bytes)", (unsigned long long) ngt,
                  (unsigned long long) h->gd_off,
                  (unsigned long long) fsize);
    if ((h->flags & VMDK4_FLAG_RGD) &&
        (h->rgd_off == 0 || !vmdk_in_file (h->rgd_off, ngt * 4, fsize))) {
        vmdk_soft (c, file, "redundant grain directory (sector %llu) is "
                   "missing or outside the file",
                   (unsigned long long) h->rgd_off);
    }
    return err;
}

/* streamOptimized with GD_AT_END: footer marker, footer (a header copy
 * with the real gdOffset) and end-of-stream marker end the file. */
static int
vmdk_sparse_footer (struct vmdk_ctx *c, uint32_t file,
                    struct vmdk_sparse_hdr *h, uint64_t fsize)
{
    uint8_t b[3 * VMDK_SECTOR];
    struct vmdk_sparse_hdr f;
    int r;

    if (fsize < 4 * VMDK_SECTOR) {
        return vmdk_fail (c, file, EINVAL, "file is too short for the "
                          "streamOptimized footer its header announces");
    }
    if ((r = vmdk_pread (c, file, b, sizeof b, fsize - sizeof b)) < 0) {
        return r;
    }
    if (get_le32 (b + 8) != 0 || get_le32 (b + 12) != VMDK_MARKER_FOOTER ||
        get_le64 (b + 1024) != 0 || get_le32 (b + 1024 + 8) != 0 ||
        get_le32 (b + 1024 + 12) != VMDK_MARKER_EOS ||
        memcmp (b + 512, VMDK4_MAGIC_BYTES, 4) != 0) {
        return vmdk_fail (c, file, EINVAL, "streamOptimized footer (footer "
                          "marker, header copy, end-of-stream marker) is "
                          "missing at the end of the file (truncated?)");
    }
    vmdk_sparse_hdr_decode (b + 512, &f);
    if (f.version != h->version || f.flags != h->flags ||
        f.capacity != h->capacity || f.grain != h->grain ||
        f.num_gtes != h->num_gtes || f.gd_off == VMDK4_GD_AT_END) {
        return vmdk_fail (c, file, EINVAL, "streamOptimized footer does not "
                          "match the header");
    }
    h->gd_off = f.gd_off;
    h->rgd_off = f.rgd_off;
    return 0;
}

int
vmdk_sparse_open (struct vmdk_ctx *c, uint32_t file,
                  struct vmdk_sparse_hdr *h, uint64_t *file_size)
{
    uint8_t b[VMDK4_HDR_SIZE];
    uint64_t fsize;
    int r;

    if ((r = vmdk_file_size (c, file, &fsize)) < 0) {
        return r;
    }
    if (fsize < VMDK4_HDR_SIZE) {
        return vmdk_fail (c, file, EINVAL, "file is %llu bytes, shorter than "
                          "the 512-byte sparse header",
                          (unsigned long long) fsize);
    }
    if ((r = vmdk_pread (c, file, b, sizeof b, 0)) < 0) {
        return r;
    }
    if (memcmp (b, VMDK4_MAGIC_BYTES, 4) != 0) {
        return vmdk_fail (c, file, EINVAL, "not a VMDK sparse extent (no "
                          "KDMV magic)");
    }
    vmdk_sparse_hdr_decode (b, h);
    *file_size = fsize;
    if ((r = vmdk_sparse_check_basic (c, file, h)) < 0 ||
        (r = vmdk_sparse_check_compress (c, file, h)) < 0) {
        return r;
    }
    if (h->gd_off == VMDK4_GD_AT_END &&
        (r = vmdk_sparse_footer (c, file, h, fsize)) < 0) {
        return r;
    }
    return vmdk_sparse_check_layout (c, file, h, fsize);
}

/* ------------------------------------------------------------- walk */

struct vmdk_walk {
    struct vmdk_ctx *c;
    uint32_t file;
    const struct vmdk_sparse_hdr *h;
    uint64_t fsize;
    struct vmdk_mapper m;
    uint64_t base;              /* guest offset of the extent */
    uint64_t cap;               /* extent bytes */
    uint64_t grain;             /* grain bytes */
    uint64_t gt_cover;          /* bytes one GT maps */
    uint64_t gt_bytes;
    uint64_t gt_sectors;        /* stride of consecutive GTs */
    uint8_t *gd;                /* GD chunk */
    uint8_t *gts;               /* consecutive GTs */
    uint64_t gts_sector;        /* first sector held in gts */
    uint64_t gts_len;           /* bytes held in gts */
    uint8_t *zbuf;              /* compressed grain */
    uint8_t *ubuf;              /* inflated grain */
    uint64_t zmax;
    bool low_grain_reported;
};

static int
vmdk_walk_fail_grain (struct vmdk_walk *w, uint64_t g, int r)
{
    uint64_t goff = g * w->grain;
    uint64_t vis = w->cap - goff < w->grain ? w->cap - goff : w->grain;

    if (!vmdk_keep_going (w->c)) {
        return r;
    }
    return vmdk_mapper_zero (&w->m, w->base + goff, vis);
}

static int
vmdk_walk_cgrain (struct vmdk_walk *w, uint64_t g, uint64_t sector,
                  uint64_t vis)
{
    struct vmdk_ctx *c = w->c;
    uint32_t file = w->file;
    uint8_t mk[VMDK4_MARKER_HDR];
    uint64_t off = sector * VMDK_SECTOR, lba, want = g * w->h->grain;
    uint32_t clen;
    int r;

    if (!vmdk_in_file (sector, VMDK4_MARKER_HDR, w->fsize)) {
        return vmdk_fail (c, file, EINVAL, "grain %llu: marker at sector %llu "
                          "is outside the file", (unsigned long long) g,
                          (unsigned long long) sector);
    }
    if ((r = vmdk_pread (c, file, mk, sizeof mk, off)) < 0) {
        return r;
    }
    lba = get_le64 (mk);
    clen = get_le32 (mk + 8);
    if (lba != want) {
        return vmdk_fail (c, file, EINVAL, "grain marker at sector %llu says "
                          "LBA %llu but the grain table maps it to LBA %llu",
                          (unsigned long long) sector,
                          (unsigned long long) lba,
                          (unsigned long long) want);
    }
    if (clen == 0 || clen > w->zmax ||
        off + VMDK4_MARKER_HDR + clen > w->fsize) {
        return vmdk_fail (c, file, EINVAL, "grain %llu: compressed size %u "
                          "at sector %llu is invalid or runs past the end of "
                          "the file", (unsigned long long) g, clen,
                          (unsigned long long) sector);
    }
    if ((r = vmdk_ranges_add (c, file, &w->m.ranges, off,
                              VMDK4_MARKER_HDR + clen, VMDK_R_GRAIN)) < 0) {
        return r;
    }
    {
        struct fmt_extent e = {
            .guest_off = w->base + g * w->grain, .len = vis,
            .file_off = off + VMDK4_MARKER_HDR, .file = file, .clen = clen,
            .skip = 0, .ulen = (uint32_t) w->grain, .kind = FMT_EXT_DEFLATE,
            .codec = FMT_CODEC_ZLIB,
        };
        return vmdk_mapper_extent (&w->m, &e);
    }
}

/* Inflate one compressed grain of the map: it must be a valid zlib
 * stream holding at least the guest bytes it maps. */
static int
vmdk_verify_cgrain (struct vmdk_walk *w, const struct fmt_extent *e)
{
    struct vmdk_ctx *c = w->c;
    uint32_t file = w->file;
    uint64_t g = (e->guest_off - w->base) / w->grain;
    uint64_t sector = (e->file_off - VMDK4_MARKER_HDR) / VMDK_SECTOR;
    size_t got = 0;
    int r;

    if ((r = vmdk_pread (c, file, w->zbuf, e->clen, e->file_off)) < 0) {
        return r;
    }
    if ((r = fmt_inflate (FMT_CODEC_ZLIB, w->zbuf, e->clen, w->ubuf,
                          (size_t) w->grain, &got)) < 0) {
        return vmdk_fail (c, file, -r, "grain %llu at sector %llu: %s",
                          (unsigned long long) g, (unsigned long long) sector,
                          vmshift_internal_error_msg ());
    }
    if (got < e->len) {
        return vmdk_fail (c, file, EINVAL, "grain %llu at sector %llu "
                          "decompresses to %zu bytes, fewer than the %llu it "
                          "must hold", (unsigned long long) g,
                          (unsigned long long) sector, got,
                          (unsigned long long) e->len);
    }
    return 0;
}

/* Run after the overlap check, so a grain referenced many times is
 * refused before anything is inflated more than once. */
static int
vmdk_verify_cgrains (struct vmdk_walk *w, size_t first)
{
    const struct fmt_extent_vec *v = &w->m.out->v;
    int r, err = 0;

    for (size_t i = first; i < v->len; i++) {
        if (v->ptr[i].kind != FMT_EXT_DEFLATE || v->ptr[i].file != w->file) {
            continue;
        }
        if ((r = vmdk_verify_cgrain (w, &v->ptr[i])) < 0) {
            if (!vmdk_keep_going (w->c)) {
                return r;
            }
            err = r;
        }
    }
    return err;
}

static int
vmdk_walk_grain (struct vmdk_walk *w, uint64_t g, uint32_t gte)
{
    uint64_t goff = g * w->grain;
    uint64_t vis = w->cap - goff < w->grain ? w->cap - goff : w->grain;
    uint64_t sector = gte;

    if (gte == 0) {
        return vmdk_mapper_unalloc (&w->m, w->base + goff, vis);
    }
    if (gte == 1 && (w->h->flags & VMDK4_FLAG_ZEROED)) {
        return vmdk_mapper_zero (&w->m, w->base + goff, vis);
    }
    if (w->h->flags & VMDK4_FLAG_COMPRESSED) {
        return vmdk_walk_cgrain (w, g, sector, vis);
    }
    if (!vmdk_in_file (sector, vis, w->fsize)) {
        return vmdk_fail (w->c, w->file, EINVAL, "grain %llu at sector %llu "
                          "is outside the file (%llu bytes)",
                          (unsigned long long) g, (unsigned long long) sector,
                          (unsigned long long) w->fsize);
    }
    if (sector < w->h->overhead && !w->low_grain_reported) {
        w->low_grain_reported = true;
        vmdk_soft (w->c, w->file, "grain %llu at sector %llu lies in the "
                   "metadata area (overhead %llu sectors)",
                   (unsigned long long) g, (unsigned long long) sector,
                   (unsigned long long) w->h->overhead);
    }
    return vmdk_mapper_data (&w->m, w->base + goff, vis,
                             sector * VMDK_SECTOR);
}

/* A GT whose entries all read the same way (all unallocated, or all
 * zeros) maps as one extent: empty tables cost one call, not 512. */
static int
vmdk_walk_gt_uniform (struct vmdk_walk *w, const uint8_t *gt, uint64_t n,
                      uint64_t guest, uint64_t len, bool *done)
{
    bool zeroed = w->h->flags & VMDK4_FLAG_ZEROED;
    bool any_unalloc = false, any_zero = false;

    *done = false;
    for (uint64_t k = 0; k < n; k++) {
        uint32_t v = get_le32 (gt + 4 * k);

        if (v == 0) {
            any_unalloc = true;
        } else if (v == 1 && zeroed) {
            any_zero = true;
        } else {
            return 0;
        }
    }
    if (!any_zero) {
        *done = true;
        return vmdk_mapper_unalloc (&w->m, guest, len);
    }
    if (!any_unalloc || !w->m.delta) {
        *done = true;
        return vmdk_mapper_zero (&w->m, guest, len);
    }
    return 0;
}

/* Make the GT at 'sector' available in w->gts, reading it together with
 * the GTs that follow it contiguously in the GD (next[0..nnext)). */
static int
vmdk_walk_load_gt (struct vmdk_walk *w, uint64_t sector, const uint8_t *next,
                   size_t nnext, const uint8_t **gt)
{
    uint64_t off = sector * VMDK_SECTOR;
    size_t k = 1;
    int r;

    if (sector >= w->gts_sector && w->gts_len >= w->gt_bytes &&
        (sector - w->gts_sector) * VMDK_SECTOR <= w->gts_len - w->gt_bytes) {
        *gt = w->gts + (sector - w->gts_sector) * VMDK_SECTOR;
        return 0;
    }
    while (k < nnext &&
           (k + 1) * w->gt_sectors * VMDK_SECTOR <= VMDK4_GT_BATCH &&
           get_le32 (next + 4 * k) == sector + k * w->gt_sectors &&
           vmdk_in_file (sector, (k * w->gt_sectors * VMDK_SECTOR) +
                         w->gt_bytes, w->fsize)) {
        k++;
    }
    w->gts_len = (k - 1) * w->gt_sectors * VMDK_SECTOR + w->gt_bytes;
    w->gts_sector = sector;
    r = vmdk_pread (w->c, w->file, w->gts, (size_t) w->gts_len, off);
    if (r < 0) {
        w->gts_len = 0;
        return r;
    }
    *gt = w->gts;
    return 0;
}

/* GD entry i (sector gde); next[] are the following raw GD entries. */
static int
vmdk_walk_gt (struct vmdk_walk *w, uint64_t i, uint32_t gde,
              const uint8_t *next, size_t nnext)
{
    uint64_t g0 = i * w->h->num_gtes;
    uint64_t goff = i * w->gt_cover;
    uint64_t len = w->cap - goff < w->gt_cover ? w->cap - goff : w->gt_cover;
    uint64_t n = DIV_ROUND_UP (len, w->grain);
    const uint8_t *gt;
    bool uniform;
    int r;

    if (gde == 0) {
        return vmdk_mapper_unalloc (&w->m, w->base + goff, len);
    }
    if (gde == 1 && (w->h->flags & VMDK4_FLAG_ZEROED)) {
        return vmdk_mapper_zero (&w->m, w->base + goff, len);
    }
    if (!vmdk_in_file (gde, w->gt_bytes, w->fsize)) {
        r = vmdk_fail (w->c, w->file, EINVAL, "grain table %llu at sector %u "
                       "is outside the file (%llu bytes)",
                       (unsigned long long) i, gde,
                       (unsigned long long) w->fsize);
        return vmdk_keep_going (w->c)
               ? vmdk_mapper_zero (&w->m, w->base + goff, len) : r;
    }
    if ((r = vmdk_walk_load_gt (w, gde, next, nnext, &gt)) < 0 ||
        (r = vmdk_ranges_add (w->c, w->file, &w->m.ranges,
                              (uint64_t) gde * VMDK_SECTOR, w->gt_bytes,
                              VMDK_R_GT)) < 0) {
        return r;
    }
    r = vmdk_walk_gt_uniform (w, gt, n, w->base + goff, len, &uniform);
    if (r < 0 || uniform) {
        return r;
    }
    for (uint64_t k = 0; k < n; k++) {
        r = vmdk_walk_grain (w, g0 + k, get_le32 (gt + 4 * k));
        if (r < 0 && (r = vmdk_walk_fail_grain (w, g0 + k, r)) < 0) {
            return r;
        }
    }
    return 0;
}

static int
vmdk_walk_gd (struct vmdk_walk *w)
{
    uint64_t ngt = DIV_ROUND_UP (w->cap, w->gt_cover);
    uint64_t gd = w->h->gd_off * VMDK_SECTOR;
    int r;

    for (uint64_t i = 0; i < ngt; i += VMDK4_GD_CHUNK) {
        size_t n = ngt - i < VMDK4_GD_CHUNK ? (size_t) (ngt - i)
                                            : VMDK4_GD_CHUNK;

        if ((r = vmdk_pread (w->c, w->file, w->gd, n * 4, gd + i * 4)) < 0) {
            return r;
        }
        for (size_t j = 0; j < n; j++) {
            r = vmdk_walk_gt (w, i + j, get_le32 (w->gd + 4 * j),
                              w->gd + 4 * j, n - j);
            if (r < 0) {
                return r;
            }
        }
    }
    return 0;
}

static int
vmdk_walk_meta_ranges (struct vmdk_walk *w)
{
    const struct vmdk_sparse_hdr *h = w->h;
    struct vmdk_range_vec *v = &w->m.ranges;
    uint64_t gd_bytes = DIV_ROUND_UP (w->cap, w->gt_cover) * 4;
    int r;

    if ((r = vmdk_ranges_add (w->c, w->file, v, 0, VMDK4_HDR_SIZE,
                              VMDK_R_HEADER)) < 0 ||
        (h->desc_off &&
         (r = vmdk_ranges_add (w->c, w->file, v, h->desc_off * VMDK_SECTOR,
                               h->desc_size * VMDK_SECTOR, VMDK_R_DESC)) < 0) ||
        (r = vmdk_ranges_add (w->c, w->file, v, h->gd_off * VMDK_SECTOR,
                              gd_bytes, VMDK_R_GD)) < 0) {
        return r;
    }
    if ((h->flags & VMDK4_FLAG_RGD) && h->rgd_off &&
        vmdk_in_file (h->rgd_off, gd_bytes, w->fsize)) {
        return vmdk_ranges_add (w->c, w->file, v, h->rgd_off * VMDK_SECTOR,
                                gd_bytes, VMDK_R_RGD);
    }
    return 0;
}

/* Compare GD entry i's primary and redundant grain tables. */
static int
vmdk_rgd_entry (struct vmdk_walk *w, uint64_t i, uint32_t a, uint32_t b,
                uint8_t *ga, uint8_t *gb)
{
    int r;

    if (a == b) {
        return 0;               /* same table (or both unallocated) */
    }
    if (a == 0 || b == 0 || !vmdk_in_file (a, w->gt_bytes, w->fsize) ||
        !vmdk_in_file (b, w->gt_bytes, w->fsize)) {
        vmdk_soft (w->c, w->file, "grain directory entry %llu differs from "
                   "the redundant one (%u, %u)", (unsigned long long) i, a, b);
        return 1;
    }
    if ((r = vmdk_pread (w->c, w->file, ga, (size_t) w->gt_bytes,
                         (uint64_t) a * VMDK_SECTOR)) < 0 ||
        (r = vmdk_pread (w->c, w->file, gb, (size_t) w->gt_bytes,
                         (uint64_t) b * VMDK_SECTOR)) < 0) {
        return r;
    }
    if (memcmp (ga, gb, (size_t) w->gt_bytes) != 0) {
        vmdk_soft (w->c, w->file, "grain table %llu differs from its "
                   "redundant copy", (unsigned long long) i);
        return 1;
    }
    return 0;
}

/* Validator only: the redundant GD and GTs (flag bit 1) must say what
 * the primary ones say.  Readers use the primary; a difference is worth
 * knowing but does not change what the guest reads.  The first
 * difference is reported. */
static int
vmdk_check_rgd (struct vmdk_walk *w)
{
    const struct vmdk_sparse_hdr *h = w->h;
    uint64_t ngt = DIV_ROUND_UP (w->cap, w->gt_cover);
    uint8_t *rgd = NULL, *ga = NULL, *gb = NULL;
    int r = 0;

    if (w->c->dg.probs == NULL || !(h->flags & VMDK4_FLAG_RGD) ||
        h->rgd_off == 0 || !vmdk_in_file (h->rgd_off, ngt * 4, w->fsize)) {
        return 0;
    }
    rgd = malloc (VMDK4_GD_CHUNK * 4);
    ga = malloc ((size_t) w->gt_bytes);
    gb = malloc ((size_t) w->gt_bytes);
    if (rgd == NULL || ga == NULL || gb == NULL) {
        r = vmdk_fail_current (w->c, w->file, -ENOMEM);
    }
    for (uint64_t i = 0; i < ngt && r == 0; i += VMDK4_GD_CHUNK) {
        size_t n = ngt - i < VMDK4_GD_CHUNK ? (size_t) (ngt - i)
                                            : VMDK4_GD_CHUNK;

        if ((r = vmdk_pread (w->c, w->file, w->gd, n * 4,
                             h->gd_off * VMDK_SECTOR + i * 4)) < 0 ||
            (r = vmdk_pread (w->c, w->file, rgd, n * 4,
                             h->rgd_off * VMDK_SECTOR + i * 4)) < 0) {
            break;
        }
        for (size_t j = 0; j < n && r == 0; j++) {
            r = vmdk_rgd_entry (w, i + j, get_le32 (w->gd + 4 * j),
                                get_le32 (rgd + 4 * j), ga, gb);
        }
    }
    free (rgd);
    free (ga);
    free (gb);
    return r < 0 ? r : 0;
}

static int
vmdk_walk_alloc (struct vmdk_walk *w)
{
    w->gd = malloc (VMDK4_GD_CHUNK * 4);
    w->gts = malloc (VMDK4_GT_BATCH);
    if (w->gd == NULL || w->gts == NULL) {
        return vmdk_fail_current (w->c, w->file, -ENOMEM);
    }
    if (w->h->flags & VMDK4_FLAG_COMPRESSED) {
        /* zlib output of incompressible data is a little larger than
         * its input; twice the grain is a generous bound. */
        w->zmax = 2 * w->grain + 1024;
        w->zbuf = malloc ((size_t) w->zmax);
        w->ubuf = malloc ((size_t) w->grain);
        if (w->zbuf == NULL || w->ubuf == NULL) {
            return vmdk_fail_current (w->c, w->file, -ENOMEM);
        }
    }
    return 0;
}

int
vmdk_sparse_map (struct vmdk_ctx *c, uint32_t file,
                 const struct vmdk_sparse_hdr *h, uint64_t file_size,
                 uint64_t guest_off, bool delta, struct fmt_extent_list *out)
{
    struct vmdk_walk w = {
        .c = c, .file = file, .h = h, .fsize = file_size, .base = guest_off,
        .cap = h->capacity * VMDK_SECTOR, .grain = h->grain * VMDK_SECTOR,
        .gt_bytes = (uint64_t) h->num_gtes * 4,
    };
    int r;

    w.gt_cover = w.grain * h->num_gtes;
    w.gt_sectors = DIV_ROUND_UP (w.gt_bytes, VMDK_SECTOR);
    vmdk_mapper_init (&w.m, c, file, out, delta);
    r = vmdk_walk_alloc (&w);
    if (r == 0) {
        r = vmdk_walk_meta_ranges (&w);
    }
    if (r == 0) {
        r = vmdk_walk_gd (&w);
    }
    if (r == 0) {
        r = vmdk_mapper_finish (&w.m);
    }
    if (r == 0 && (h->flags & VMDK4_FLAG_COMPRESSED)) {
        r = vmdk_verify_cgrains (&w, w.m.first);
    }
    if (r == 0) {
        r = vmdk_check_rgd (&w);
    }
    vmdk_mapper_release (&w.m);
    free (w.gd);
    free (w.gts);
    free (w.zbuf);
    free (w.ubuf);
    return r;
}
