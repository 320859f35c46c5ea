/* QCOW2 strict validator for "vmshift info": every problem is reported.
 *
 * Besides the header and table checks that read_map also makes, it
 * computes the expected refcount of every host cluster (header, refcount
 * table and blocks, active and snapshot L1 tables, L2 tables, data and
 * compressed clusters, snapshot table, bitmap directory, tables and data,
 * encryption header) and compares it with the stored refcounts, as
 * docs/interop/qcow2.txt "Host cluster management" defines them:
 * references to clusters with refcount 0 or with fewer references than
 * the refcount says are corruption, refcounts without references are
 * leaks.  It also reports overlaps between structures, COPIED bits that
 * disagree with a refcount of 1, and compressed clusters that do not
 * inflate.
 *
 * Memory: one 16-bit word per host cluster of the file (count, COPIED
 * flags seen, structure kind).  QCOW2_CHECK_MAX_CLUSTERS caps it at
 * 128 MiB: 4 TiB of file at 64 KiB clusters, 128 TiB at 2 MiB.  Larger
 * files are refused with -EFBIG before anything is allocated.  The words
 * are allocated zeroed and only those of referenced clusters are
 * written; a bit per group of CK_GROUP clusters says which groups hold
 * any, so the comparison never reads (faults in) the pages of clusters
 * nothing references.  Tables and refcount blocks are read in pieces of
 * QCOW2_CK_PIECE bytes into one buffer; of the refcount table only the
 * nonzero entries are kept.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/endian.h"
#include "engine/base/error.h"
#include "engine/base/overflow.h"
#include "formats/qcow2.h"

#define QCOW2_CHECK_MAX_CLUSTERS ((uint64_t) 1 << 26)
#define QCOW2_CHUNK_ENTRIES 8192
#define QCOW2_CK_PIECE ((size_t) 64 << 10)

/* Host clusters looked at together when comparing refcounts: a refcount
 * block holds a power of two of at least 64 entries (512-byte clusters
 * with 64-bit refcounts), so groups never straddle blocks. */
#define CK_GROUP 64

/* A nonzero refcount table entry. */
struct qcow2_ck_rt {
    uint64_t idx;
    uint64_t e;
};
DEFINE_VECTOR (qcow2_ck_rt_vec, struct qcow2_ck_rt);

/* Per-cluster word. */
#define CK_COUNT_MAX 0x3ffu             /* counts saturate here */
#define CK_COPIED_SET 0x400u            /* active entry with COPIED set */
#define CK_COPIED_CLEAR 0x800u          /* active entry with COPIED clear */
#define CK_KIND_SHIFT 12

enum qcow2_ck_kind {
    CK_NONE = 0, CK_HEADER, CK_REFTABLE, CK_REFBLOCK, CK_L1, CK_L2, CK_DATA,
    CK_COMPRESSED, CK_SNAPTABLE, CK_SNAPL1, CK_BMDIR, CK_BMTABLE, CK_BMDATA,
    CK_CRYPTO,
};

static const char *const qcow2_ck_names[] = {
    "unused cluster", "header", "refcount table", "refcount block",
    "L1 table", "L2 table", "data cluster", "compressed cluster",
    "snapshot table", "snapshot L1 table", "bitmap directory",
    "bitmap table", "bitmap data", "encryption header",
};

struct qcow2_checker {
    struct qcow2_image *img;
    struct qcow2_report *rep;
    uint16_t *cl;
    uint64_t ncl;
    bool active;                /* walking the active L1 table */
    bool zstd_reported;
    uint64_t *groups;           /* bit g: some cl[g * CK_GROUP ...] set */
    uint8_t *cbuf, *ubuf;       /* compressed cluster check buffers */
    uint8_t *piece;             /* QCOW2_CK_PIECE bytes */
    struct qcow2_ck_rt_vec rt;  /* nonzero refcount table entries, sorted */
};

enum { CK_OK = 0, CK_PAST_EOF = -1 };

static bool
qcow2_ck_shareable (int kind)
{
    /* Snapshots share L2 tables and data; compressed clusters share
     * host clusters with each other. */
    return kind == CK_L2 || kind == CK_DATA || kind == CK_COMPRESSED;
}

/* Count one reference to each cluster of [off, off+len); cflag records
 * the COPIED bit of an entry of the active tables (CK_COPIED_SET or
 * _CLEAR; 0 for other references).  Returns CK_OK, CK_PAST_EOF when
 * some cluster is past the end of the file, or the kind of another
 * structure already there (an overlap). */
static int
qcow2_ck_mark (struct qcow2_checker *ck, uint64_t off, uint64_t len, int kind,
               unsigned cflag)
{
    uint64_t c = ck->img->cluster_size, first = off / c, last, end;
    int res = CK_OK;

    if (len == 0) {
        return CK_OK;
    }
    if (ADD_OVERFLOW (off, len - 1, &end)) {
        return CK_PAST_EOF;
    }
    last = end / c;
    for (uint64_t i = first; i <= last; i++) {
        uint16_t w, k;

        if (i >= ck->ncl) {
            return CK_PAST_EOF;
        }
        w = ck->cl[i];
        k = w >> CK_KIND_SHIFT;
        if (k != CK_NONE && (k != kind || !qcow2_ck_shareable (kind)) &&
            res == CK_OK) {
            res = k;
        }
        if (k == CK_NONE) {
            w |= (uint16_t) (kind << CK_KIND_SHIFT);
            ck->groups[i / CK_GROUP / 64] |= UINT64_C (1) << (i / CK_GROUP % 64);
        }
        if ((w & CK_COUNT_MAX) < CK_COUNT_MAX) {
            w++;
        }
        ck->cl[i] = w | (uint16_t) cflag;
    }
    return res;
}

/* Mark and report a problem with the structure 'what' (a phrase). */
static void
qcow2_ck_mark_report (struct qcow2_checker *ck, uint64_t off, uint64_t len,
                      int kind, unsigned cflag, const char *what)
{
    int r = qcow2_ck_mark (ck, off, len, kind, cflag);

    if (r == CK_PAST_EOF) {
        qcow2_report (ck->rep, EINVAL, "%s at host offset %llu lies past the "
                      "end of the file (%llu bytes)", what,
                      (unsigned long long) off,
                      (unsigned long long) ck->img->file_size);
    } else if (r != CK_OK) {
        qcow2_report (ck->rep, EINVAL, "%s at host offset %llu overlaps a %s",
                      what, (unsigned long long) off, qcow2_ck_names[r]);
    }
}

static unsigned
qcow2_ck_cflag (const struct qcow2_checker *ck, bool copied)
{
    if (!ck->active) {
        return 0;       /* COPIED is only meaningful in the active tables */
    }
    return copied ? CK_COPIED_SET : CK_COPIED_CLEAR;
}

/* A cluster-aligned table pointer found in another table. */
static bool
qcow2_ck_aligned (struct qcow2_checker *ck, uint64_t off, const char *what)
{
    if (off & (ck->img->cluster_size - 1)) {
        qcow2_report (ck->rep, EINVAL, "%s offset %llu is not cluster aligned",
                      what, (unsigned long long) off);
        return false;
    }
    return true;
}

/* ------------------------------------------------------ L1/L2 tables */

static int
qcow2_ck_l1 (void *opaque, uint64_t idx, uint64_t l1e, bool *skip)
{
    struct qcow2_checker *ck = opaque;
    uint64_t off = l1e & QCOW2_OFFSET_MASK;
    char what[64];

    snprintf (what, sizeof what, "L2 table of %sL1 entry %llu",
              ck->active ? "" : "snapshot ", (unsigned long long) idx);
    if (l1e & QCOW2_L1E_RESERVED) {
        qcow2_report (ck->rep, EINVAL, "%s: L1 entry 0x%016llx has reserved "
                      "bits set", what, (unsigned long long) l1e);
    }
    if (off == 0 || !qcow2_ck_aligned (ck, off, what)) {
        *skip = true;
        return 0;
    }
    if (off > ck->img->file_size ||
        ck->img->cluster_size > ck->img->file_size - off) {
        qcow2_report (ck->rep, EINVAL, "%s at host offset %llu lies past the "
                      "end of the file (%llu bytes)", what,
                      (unsigned long long) off,
                      (unsigned long long) ck->img->file_size);
        *skip = true;
        return 0;
    }
    qcow2_ck_mark_report (ck, off, ck->img->cluster_size, CK_L2,
                          qcow2_ck_cflag (ck, l1e & QCOW2_OFLAG_COPIED), what);
    return 0;
}

static void
qcow2_ck_inflate (struct qcow2_checker *ck, uint64_t guest,
                  const struct qcow2_l2e *d)
{
    struct qcow2_image *img = ck->img;
    uint64_t n = img->file_size - d->host < d->csize
                 ? img->file_size - d->host : d->csize;
    size_t got = 0;
    int r;

    if (ck->cbuf == NULL) {
        ck->cbuf = malloc ((size_t) img->cluster_size * 2 + FMT_SECTOR);
        ck->ubuf = malloc (img->cluster_size);
        if (ck->cbuf == NULL || ck->ubuf == NULL) {
            qcow2_report (ck->rep, ENOMEM, "out of memory checking compressed "
                          "clusters");
            return;
        }
    }
    r = fmt_io_pread (img->io, 0, ck->cbuf, (size_t) n, d->host);

    if (r == 0) {
        r = fmt_inflate (FMT_CODEC_DEFLATE, ck->cbuf, (size_t) n, ck->ubuf,
                         img->cluster_size, &got);
    }
    if (r == 0 && got < img->cluster_size) {
        r = set_error (EINVAL, "it inflates to %zu bytes only", got);
    }
    if (r < 0) {
        qcow2_report (ck->rep, EINVAL, "compressed cluster for guest offset "
                      "%llu at host offset %llu is corrupt: %s",
                      (unsigned long long) guest,
                      (unsigned long long) d->host,
                      vmshift_internal_error_msg ());
    }
}

static void
qcow2_ck_compressed (struct qcow2_checker *ck, uint64_t guest,
                     const struct qcow2_l2e *d)
{
    struct qcow2_image *img = ck->img;
    uint64_t start = d->host & ~(uint64_t) (FMT_SECTOR - 1);
    int r;

    if (img->h.compression_type != QCOW2_COMPRESSION_DEFLATE) {
        if (!ck->zstd_reported) {
            qcow2_report (ck->rep, ENOTSUP, "unsupported compressed clusters: "
                          "the image uses zstd, only deflate is supported");
            ck->zstd_reported = true;
        }
        qcow2_ck_mark (ck, start, d->host + d->csize - start, CK_COMPRESSED,
                       0);
        return;
    }
    if (d->host >= img->file_size || d->host < img->cluster_size) {
        qcow2_report (ck->rep, EINVAL, "compressed cluster for guest offset "
                      "%llu at host offset %llu is outside the data area of "
                      "the file", (unsigned long long) guest,
                      (unsigned long long) d->host);
        return;
    }
    /* The last sector may run past EOF (qemu reads zeros there). */
    r = qcow2_ck_mark (ck, start, d->host + d->csize - start, CK_COMPRESSED,
                       0);
    if (r > 0) {
        qcow2_report (ck->rep, EINVAL, "compressed cluster for guest offset "
                      "%llu at host offset %llu overlaps a %s",
                      (unsigned long long) guest,
                      (unsigned long long) d->host, qcow2_ck_names[r]);
    }
    qcow2_ck_inflate (ck, guest, d);
}

/* Allocated data of a standard cluster must be inside the file. */
static void
qcow2_ck_data_bounds (struct qcow2_checker *ck, uint64_t g,
                      const struct qcow2_l2e *d)
{
    struct qcow2_image *img = ck->img;
    uint64_t sub = img->subcluster_size, guest = g * img->cluster_size;

    for (unsigned i = 0; i < (img->ext_l2 ? 32u : 1u); i++) {
        uint64_t gs = guest + i * sub, end;

        if (!(d->alloc & (1u << i)) || gs >= img->h.size) {
            continue;
        }
        end = d->host + i * sub + (img->h.size - gs < sub ? img->h.size - gs
                                                           : sub);
        if (end > img->file_size) {
            qcow2_report (ck->rep, EINVAL, "data for guest offset %llu at "
                          "host offset %llu lies past the end of the file "
                          "(%llu bytes)", (unsigned long long) gs,
                          (unsigned long long) (d->host + i * sub),
                          (unsigned long long) img->file_size);
            return;
        }
    }
}

static int
qcow2_ck_l2 (void *opaque, uint64_t g, uint64_t e, uint64_t bitmap)
{
    struct qcow2_checker *ck = opaque;
    struct qcow2_image *img = ck->img;
    uint64_t guest = g * img->cluster_size;
    struct qcow2_l2e d;
    char why[160], what[80];

    if (qcow2_l2e_decode (img, g, e, bitmap, &d, why, sizeof why)) {
        qcow2_report (ck->rep, EINVAL, "L2 entry for guest offset %llu: %s",
                      (unsigned long long) guest, why);
        return 0;
    }
    if (d.kind == QCOW2_CL_COMPRESSED) {
        qcow2_ck_compressed (ck, guest, &d);
        return 0;
    }
    if (d.host == 0 || img->data_file) {
        return 0;       /* no host cluster, or it lives in the data file */
    }
    snprintf (what, sizeof what, "data cluster for guest offset %llu",
              (unsigned long long) guest);
    qcow2_ck_mark_report (ck, d.host, img->cluster_size, CK_DATA,
                          qcow2_ck_cflag (ck, d.copied), what);
    if (d.host < img->file_size) {
        qcow2_ck_data_bounds (ck, g, &d);
    }
    return 0;
}

/* All-zero L2 entries are unallocated clusters: nothing to count. */
static int
qcow2_ck_l2_zero (void *opaque, uint64_t g, uint64_t n)
{
    (void) opaque;
    (void) g;
    (void) n;
    return 0;
}

static int
qcow2_ck_walk (struct qcow2_checker *ck, uint64_t l1_off, uint64_t l1_size,
               bool active)
{
    struct qcow2_walk w = {
        .rep = ck->rep, .opaque = ck, .l1_cb = qcow2_ck_l1,
        .l2_cb = qcow2_ck_l2, .l2_zero_cb = qcow2_ck_l2_zero,
    };

    ck->active = active;
    return qcow2_walk_l1 (ck->img, l1_off, l1_size, UINT64_MAX, &w);
}

/* ------------------------------------------------- fixed structures */

/* One nonzero refcount table entry: checked, marked and kept. */
static int
qcow2_ck_rt_entry (struct qcow2_checker *ck, uint64_t i, uint64_t e)
{
    struct qcow2_ck_rt ent = { i, e };
    char what[64];

    snprintf (what, sizeof what, "refcount block %llu",
              (unsigned long long) i);
    if (e & QCOW2_REFT_RESERVED) {
        qcow2_report (ck->rep, EINVAL, "refcount table entry %llu "
                      "(0x%016llx) is not cluster aligned or has "
                      "reserved bits set", (unsigned long long) i,
                      (unsigned long long) e);
    } else if (qcow2_ck_aligned (ck, e, what)) {
        qcow2_ck_mark_report (ck, e, ck->img->cluster_size, CK_REFBLOCK, 0,
                              what);
    }
    return qcow2_ck_rt_vec_append (&ck->rt, ent);
}

static int
qcow2_ck_reftable (struct qcow2_checker *ck)
{
    struct qcow2_image *img = ck->img;
    uint64_t c = img->cluster_size;
    uint64_t bytes = (uint64_t) img->h.refcount_table_clusters * c;
    int r = 0;

    for (uint64_t off = 0; off < bytes && r == 0; off += QCOW2_CK_PIECE) {
        size_t n = bytes - off < QCOW2_CK_PIECE ? (size_t) (bytes - off)
                                                : QCOW2_CK_PIECE;

        r = fmt_io_pread (img->io, 0, ck->piece, n,
                          img->h.refcount_table_offset + off);
        for (size_t k = 0; k < n / 8 && r == 0; k++) {
            uint64_t e;

            if (k % CK_GROUP == 0 && n / 8 - k >= CK_GROUP &&
                fmt_mem_is_zero (ck->piece + k * 8, CK_GROUP * 8)) {
                k += CK_GROUP - 1;
                continue;
            }
            e = get_be64 (ck->piece + k * 8);
            if (e != 0) {
                r = qcow2_ck_rt_entry (ck, off / 8 + k, e);
            }
        }
    }
    return r;
}

static void
qcow2_ck_fixed (struct qcow2_checker *ck)
{
    struct qcow2_image *img = ck->img;
    const struct qcow2_header *h = &img->h;
    uint64_t c = img->cluster_size;

    qcow2_ck_mark_report (ck, 0, c, CK_HEADER, 0, "header");
    qcow2_ck_mark_report (ck, h->refcount_table_offset,
                          (uint64_t) h->refcount_table_clusters * c,
                          CK_REFTABLE, 0, "refcount table");
    qcow2_ck_mark_report (ck, h->l1_table_offset, (uint64_t) h->l1_size * 8,
                          CK_L1, 0, "L1 table");
    if (img->x->has_crypto && qcow2_ck_aligned (ck, img->x->crypto_offset,
                                                "encryption header")) {
        qcow2_ck_mark_report (ck, img->x->crypto_offset,
                              img->x->crypto_length, CK_CRYPTO, 0,
                              "encryption header");
    }
}

/* ------------------------------------------------------------ snapshots */

/* One snapshot table entry at *off; false when the table cannot be
 * followed any further. */
static bool
qcow2_ck_snapshot (struct qcow2_checker *ck, uint32_t i, uint64_t *off,
                   uint64_t end_limit)
{
    struct qcow2_image *img = ck->img;
    uint8_t e[40];
    uint64_t l1_off, l1_size, len, l1_end;
    uint32_t extra;
    char what[48];

    if (*off > img->file_size || sizeof e > img->file_size - *off ||
        fmt_io_pread (img->io, 0, e, sizeof e, *off) < 0) {
        qcow2_report (ck->rep, EINVAL, "snapshot table entry %u at offset "
                      "%llu lies past the end of the file", i,
                      (unsigned long long) *off);
        return false;
    }
    l1_off = get_be64 (e);
    l1_size = get_be32 (e + 8);
    extra = get_be32 (e + 36);
    len = (40 + (uint64_t) extra + get_be16 (e + 12) + get_be16 (e + 14) + 7)
          & ~(uint64_t) 7;
    if (img->h.version >= 3 && extra < 16) {
        qcow2_report (ck->rep, EINVAL, "snapshot %u has %u bytes of extra "
                      "data, version 3 needs at least 16", i, extra);
    }
    *off += len;
    if (*off > end_limit) {
        qcow2_report (ck->rep, EINVAL, "snapshot table is larger than %llu "
                      "bytes", (unsigned long long) QCOW2_MAX_SNAPSHOT_TABLE);
        return false;
    }
    snprintf (what, sizeof what, "L1 table of snapshot %u", i);
    if (l1_size * 8 > QCOW2_MAX_L1_BYTES || (l1_size && l1_off == 0) ||
        !qcow2_ck_aligned (ck, l1_off, what) ||
        ADD_OVERFLOW (l1_off, l1_size * 8, &l1_end) ||
        l1_end > img->file_size) {
        qcow2_report (ck->rep, EINVAL, "%s (%llu entries at offset %llu) is "
                      "invalid or past the end of the file", what,
                      (unsigned long long) l1_size,
                      (unsigned long long) l1_off);
        return true;
    }
    qcow2_ck_mark_report (ck, l1_off, l1_size * 8, CK_SNAPL1, 0, what);
    return qcow2_ck_walk (ck, l1_off, l1_size, false) == 0;
}

static void
qcow2_ck_snapshots (struct qcow2_checker *ck)
{
    const struct qcow2_header *h = &ck->img->h;
    uint64_t off = h->snapshots_offset;
    uint64_t limit = off + QCOW2_MAX_SNAPSHOT_TABLE;

    if (h->nb_snapshots == 0 || h->nb_snapshots > QCOW2_MAX_SNAPSHOTS ||
        !qcow2_ck_aligned (ck, off, "snapshot table")) {
        return;
    }
    for (uint32_t i = 0; i < h->nb_snapshots; i++) {
        if (!qcow2_ck_snapshot (ck, i, &off, limit)) {
            break;
        }
    }
    qcow2_ck_mark_report (ck, h->snapshots_offset, off - h->snapshots_offset,
                          CK_SNAPTABLE, 0, "snapshot table");
}

/* -------------------------------------------------------------- bitmaps */

static void
qcow2_ck_bitmap_table (struct qcow2_checker *ck, uint32_t i, uint64_t off,
                       uint64_t entries)
{
    struct qcow2_image *img = ck->img;
    uint8_t *buf = malloc (QCOW2_CHUNK_ENTRIES * 8);
    char what[48];

    snprintf (what, sizeof what, "data of bitmap %u", i);
    for (uint64_t k = 0; buf && k < entries; k += QCOW2_CHUNK_ENTRIES) {
        uint64_t n = entries - k < QCOW2_CHUNK_ENTRIES ? entries - k
                                                       : QCOW2_CHUNK_ENTRIES;

        if (fmt_io_pread (img->io, 0, buf, n * 8, off + k * 8) < 0) {
            break;
        }
        for (uint64_t j = 0; j < n; j++) {
            uint64_t e = get_be64 (buf + j * 8);
            uint64_t d = e & QCOW2_OFFSET_MASK;

            if ((e & ~QCOW2_OFFSET_MASK & ~UINT64_C (1)) ||
                (d && (e & 1))) {
                qcow2_report (ck->rep, EINVAL, "bitmap %u table entry %llu "
                              "(0x%016llx) has reserved bits set", i,
                              (unsigned long long) (k + j),
                              (unsigned long long) e);
            } else if (d && qcow2_ck_aligned (ck, d, what)) {
                qcow2_ck_mark_report (ck, d, img->cluster_size, CK_BMDATA,
                                      0, what);
            }
        }
    }
    free (buf);
}

/* One bitmap directory entry at *pos of dir; false to stop. */
static bool
qcow2_ck_bitmap (struct qcow2_checker *ck, uint32_t i, const uint8_t *dir,
                 uint64_t dlen, uint64_t *pos)
{
    struct qcow2_image *img = ck->img;
    const uint8_t *e = dir + *pos;
    uint64_t toff, tsize, len, tend;
    char what[40];

    if (dlen - *pos < 24) {
        qcow2_report (ck->rep, EINVAL, "bitmap directory is too short for "
                      "%u bitmaps", img->x->nb_bitmaps);
        return false;
    }
    toff = get_be64 (e);
    tsize = get_be32 (e + 8);
    len = (24 + (uint64_t) get_be32 (e + 20) + get_be16 (e + 18) + 7)
          & ~(uint64_t) 7;
    if (len > dlen - *pos) {
        qcow2_report (ck->rep, EINVAL, "bitmap directory entry %u runs past "
                      "the end of the directory", i);
        return false;
    }
    *pos += len;
    snprintf (what, sizeof what, "table of bitmap %u", i);
    if (!qcow2_ck_aligned (ck, toff, what) || toff == 0 ||
        ADD_OVERFLOW (toff, tsize * 8, &tend) || tend > img->file_size) {
        qcow2_report (ck->rep, EINVAL, "%s (%llu entries at offset %llu) is "
                      "invalid or past the end of the file", what,
                      (unsigned long long) tsize, (unsigned long long) toff);
        return true;
    }
    qcow2_ck_mark_report (ck, toff, tsize * 8, CK_BMTABLE, 0, what);
    qcow2_ck_bitmap_table (ck, i, toff, tsize);
    return true;
}

static int
qcow2_ck_bitmaps (struct qcow2_checker *ck)
{
    struct qcow2_image *img = ck->img;
    const struct qcow2_exts *x = img->x;
    uint64_t pos = 0, end;
    uint8_t *dir;
    int r;

    if (!x->has_bitmaps) {
        return 0;
    }
    if (ADD_OVERFLOW (x->bitmap_dir_offset, x->bitmap_dir_size, &end) ||
        end > img->file_size) {
        qcow2_report (ck->rep, EINVAL, "bitmap directory at offset %llu lies "
                      "past the end of the file",
                      (unsigned long long) x->bitmap_dir_offset);
        return 0;
    }
    qcow2_ck_mark_report (ck, x->bitmap_dir_offset, x->bitmap_dir_size,
                          CK_BMDIR, 0, "bitmap directory");
    dir = malloc (x->bitmap_dir_size ? x->bitmap_dir_size : 1);
    if (dir == NULL) {
        return set_error (ENOMEM, "out of memory for the bitmap directory");
    }
    r = fmt_io_pread (img->io, 0, dir, x->bitmap_dir_size,
                      x->bitmap_dir_offset);
    for (uint32_t i = 0; r == 0 && i < x->nb_bitmaps; i++) {
        if (!qcow2_ck_bitmap (ck, i, dir, x->bitmap_dir_size, &pos)) {
            break;
        }
    }
    free (dir);
    return r;
}

/* ----------------------------------------------------- compare refcounts */

struct qcow2_leaks {
    uint64_t start, n;
};

static void
qcow2_ck_leak_flush (struct qcow2_checker *ck, struct qcow2_leaks *lk)
{
    uint64_t c = ck->img->cluster_size;

    if (lk->n == 1) {
        qcow2_report (ck->rep, EINVAL, "leaked cluster at host offset %llu: "
                      "refcount > 0 but unused",
                      (unsigned long long) (lk->start * c));
    } else if (lk->n > 1) {
        qcow2_report (ck->rep, EINVAL, "leaked clusters at host offsets "
                      "%llu..%llu (%llu clusters): refcount > 0 but unused",
                      (unsigned long long) (lk->start * c),
                      (unsigned long long) ((lk->start + lk->n) * c - 1),
                      (unsigned long long) lk->n);
    }
    lk->n = 0;
}

static void
qcow2_ck_leak (struct qcow2_checker *ck, struct qcow2_leaks *lk, uint64_t h)
{
    if (lk->n && lk->start + lk->n == h) {
        lk->n++;
        return;
    }
    qcow2_ck_leak_flush (ck, lk);
    lk->start = h;
    lk->n = 1;
}

static uint64_t
qcow2_refcount_get (const uint8_t *blk, uint64_t j, unsigned bits)
{
    switch (bits) {
    case 8: return blk[j];
    case 16: return get_be16 (blk + j * 2);
    case 32: return get_be32 (blk + j * 4);
    case 64: return get_be64 (blk + j * 8);
    default:
        return (blk[j * bits / 8] >> (j * bits % 8)) & ((1u << bits) - 1);
    }
}

/* Compare the stored refcount st of cluster h with what we counted. */
static void
qcow2_ck_one (struct qcow2_checker *ck, struct qcow2_leaks *lk, uint64_t h,
              uint64_t st)
{
    uint16_t w = h < ck->ncl ? ck->cl[h] : 0;
    uint64_t n = w & CK_COUNT_MAX, off = h * ck->img->cluster_size;
    const char *kind = qcow2_ck_names[w >> CK_KIND_SHIFT];

    if (n == 0) {
        if (st) {
            qcow2_ck_leak (ck, lk, h);
        }
        return;
    }
    if (st == 0) {
        qcow2_report (ck->rep, EINVAL, "%s at host offset %llu is in use but "
                      "its refcount is 0", kind, (unsigned long long) off);
    } else if (n < st && n < CK_COUNT_MAX) {
        qcow2_report (ck->rep, EINVAL, "%s at host offset %llu has refcount "
                      "%llu but %llu references (leak)", kind,
                      (unsigned long long) off, (unsigned long long) st,
                      (unsigned long long) n);
    } else if (n > st) {
        qcow2_report (ck->rep, EINVAL, "%s at host offset %llu has refcount "
                      "%llu but %llu references", kind,
                      (unsigned long long) off, (unsigned long long) st,
                      (unsigned long long) n);
    }
    if (((w & CK_COPIED_SET) && st != 1) ||
        ((w & CK_COPIED_CLEAR) && st == 1)) {
        qcow2_report (ck->rep, EINVAL, "COPIED bit %s on the %s at host "
                      "offset %llu whose refcount is %llu",
                      (w & CK_COPIED_SET) && st != 1 ? "set" : "clear", kind,
                      (unsigned long long) off, (unsigned long long) st);
    }
}

/* Whether host clusters [h, h + CK_GROUP) hold no counted reference
 * (h is a multiple of CK_GROUP). */
static bool
qcow2_ck_group_unused (const struct qcow2_checker *ck, uint64_t h)
{
    uint64_t g = h / CK_GROUP;

    return h >= ck->ncl || !(ck->groups[g / 64] & (UINT64_C (1) << (g % 64)));
}

/* The refcount table entry of block b (0 when there is none). */
static uint64_t
qcow2_ck_rt_get (const struct qcow2_checker *ck, uint64_t b)
{
    size_t lo = 0, hi = ck->rt.len;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (ck->rt.ptr[mid].idx < b) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < ck->rt.len && ck->rt.ptr[lo].idx == b ? ck->rt.ptr[lo].e : 0;
}

/* Refcount block b: read it (when the table points at a valid one) a
 * piece at a time and compare each of its clusters.  A group of CK_GROUP
 * entries whose stored refcounts are 0 and whose clusters nothing
 * references is passed over: qcow2_ck_one would find nothing in it. */
static int
qcow2_ck_block (struct qcow2_checker *ck, struct qcow2_leaks *lk, uint64_t b)
{
    struct qcow2_image *img = ck->img;
    uint64_t e = img->refblock_entries, c = img->cluster_size;
    uint64_t te = qcow2_ck_rt_get (ck, b);
    uint64_t off = te & ~QCOW2_REFT_RESERVED;
    unsigned bits = img->refcount_bits;
    uint64_t per = (c < QCOW2_CK_PIECE ? c : QCOW2_CK_PIECE) * 8 / bits;
    bool have = off != 0;
    const uint8_t *blk = ck->piece;
    int r;

    if (have && ((te & QCOW2_REFT_RESERVED) || off > img->file_size ||
                 c > img->file_size - off)) {
        return 0;               /* reported; its refcounts are unknown */
    }
    if (!have && b * e >= ck->ncl) {
        return 0;               /* no block, no cluster of the file */
    }
    for (uint64_t j = 0; j < e; j++) {
        uint64_t h = b * e + j, jp = j % per;
        uint64_t st;

        if (have && jp == 0 &&
            (r = fmt_io_pread (img->io, 0, ck->piece, (size_t) (per * bits / 8),
                               off + j * bits / 8)) < 0) {
            return r;
        }
        if (j % CK_GROUP == 0 && qcow2_ck_group_unused (ck, h) &&
            (!have || fmt_mem_is_zero (blk + jp * bits / 8,
                                       (size_t) CK_GROUP * bits / 8))) {
            j += CK_GROUP - 1;
            continue;
        }
        st = have ? qcow2_refcount_get (blk, jp, bits) : 0;
        if (h < ck->ncl) {
            qcow2_ck_one (ck, lk, h, st);
        } else if (st) {
            qcow2_ck_leak (ck, lk, h);
        }
    }
    return 0;
}

/* Every block holding a cluster of the file, then the blocks past the
 * file that the table names (their refcounts can only be leaks). */
static int
qcow2_ck_compare (struct qcow2_checker *ck)
{
    uint64_t nb = DIV_ROUND_UP (ck->ncl, ck->img->refblock_entries);
    struct qcow2_leaks lk = { 0, 0 };
    int r = 0;

    for (uint64_t b = 0; b < nb && r == 0; b++) {
        r = qcow2_ck_block (ck, &lk, b);
    }
    for (size_t i = 0; i < ck->rt.len && r == 0; i++) {
        if (ck->rt.ptr[i].idx >= nb) {
            r = qcow2_ck_block (ck, &lk, ck->rt.ptr[i].idx);
        }
    }
    qcow2_ck_leak_flush (ck, &lk);
    return r;
}

/* ----------------------------------------------------------- entry point */

static int
qcow2_ck_run (struct qcow2_checker *ck)
{
    struct qcow2_image *img = ck->img;
    int r;

    ck->ncl = DIV_ROUND_UP (img->file_size, img->cluster_size);
    if (ck->ncl > QCOW2_CHECK_MAX_CLUSTERS) {
        return set_error (EFBIG, "'%s': the refcount check needs one counter "
                          "per host cluster; %llu clusters are more than the "
                          "validator's limit of %llu (128 MiB of counters)",
                          img->name, (unsigned long long) ck->ncl,
                          (unsigned long long) QCOW2_CHECK_MAX_CLUSTERS);
    }
    ck->cl = calloc (ck->ncl ? ck->ncl : 1, sizeof *ck->cl);
    ck->groups = calloc (DIV_ROUND_UP (ck->ncl, CK_GROUP * 64) + 1,
                         sizeof *ck->groups);
    ck->piece = malloc (QCOW2_CK_PIECE);
    if (ck->cl == NULL || ck->groups == NULL || ck->piece == NULL) {
        return set_error (ENOMEM, "out of memory checking '%s'", img->name);
    }
    qcow2_ck_fixed (ck);
    if ((r = qcow2_ck_reftable (ck)) < 0 ||
        (r = qcow2_ck_walk (ck, img->h.l1_table_offset, img->h.l1_size,
                            true)) < 0) {
        return r;
    }
    qcow2_ck_snapshots (ck);
    if ((r = qcow2_ck_bitmaps (ck)) < 0) {
        return r;
    }
    return qcow2_ck_compare (ck);
}

int
qcow2_validate (const struct fmt_io *io, struct fmt_problems *probs,
                struct fmt_source_info *info)
{
    struct qcow2_report rep = { .probs = probs, .file = fmt_io_name (io, 0) };
    struct qcow2_image img;
    struct qcow2_checker ck = { .img = &img, .rep = &rep };
    int r = qcow2_image_open (&img, io, &rep);

    info->type = FMT_QCOW2;
    if (r > 0 && img.h.magic == QCOW2_MAGIC) {
        info->virtual_size = img.h.size;
    }
    if (r == 0) {
        qcow2_image_info (&img, info);
        r = qcow2_ck_run (&ck);
    }
    free (ck.cl);
    free (ck.groups);
    free (ck.piece);
    free (ck.cbuf);
    free (ck.ubuf);
    qcow2_ck_rt_vec_reset (&ck.rt);
    qcow2_image_release (&img);
    return r < 0 ? r : 0;
}
