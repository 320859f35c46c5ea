/* QCOW2 reader: L2 entry decoding, the streamed L1/L2 walk and read_map.
 *
 * Spec: docs/interop/qcow2.txt, "Cluster mapping", "Compressed Clusters
 * Descriptor", "Extended L2 Entries", and "External data file" (header
 * incompatible bit 2).  read_map checks everything that decides which
 * bytes the guest sees (header, tables in bounds, entries well formed,
 * data inside the file, no data on top of the header / L1 / refcount
 * table) and stops at the first problem.  Refcount consistency does not
 * change what the guest reads; qcow2_validate checks it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/endian.h"
#include "engine/base/error.h"
#include "engine/base/overflow.h"
#include "formats/qcow2.h"

#define QCOW2_L1_CHUNK 8192             /* L1 entries read at a time */
/* L2 table bytes read at a time: one small buffer reused for every
 * table, rather than a 2 MiB one whose every page is a fresh fault. */
#define QCOW2_L2_PIECE ((size_t) 64 << 10)

static const char *
qcow2_l2e_compressed (const struct qcow2_image *img, uint64_t e,
                      uint64_t bitmap, struct qcow2_l2e *out, char *why,
                      size_t n)
{
    unsigned x = 62 - (img->h.cluster_bits - 8);
    uint64_t off = e & ((UINT64_C (1) << x) - 1);
    uint64_t nmask = (UINT64_C (1) << (img->h.cluster_bits - 8)) - 1;
    uint64_t nsec = (e >> x) & nmask;

    out->kind = QCOW2_CL_COMPRESSED;
    out->host = off;
    /* The stream runs from off to the end of its last sector: the sector
     * holding off plus nsec more. */
    out->csize = (nsec + 1) * FMT_SECTOR - (off & (FMT_SECTOR - 1));
    if (img->data_file) {
        snprintf (why, n, "compressed cluster in an image with an external "
                  "data file");
    } else if (out->copied) {
        snprintf (why, n, "compressed cluster has the COPIED bit set");
    } else if (img->ext_l2 && bitmap) {
        snprintf (why, n, "compressed cluster has a nonzero subcluster "
                  "bitmap 0x%016llx", (unsigned long long) bitmap);
    } else if (off >> 56) {
        snprintf (why, n, "compressed cluster offset %llu is beyond 64 PiB",
                  (unsigned long long) off);
    } else {
        return NULL;
    }
    return why;
}

static const char *
qcow2_l2e_ext (const struct qcow2_image *img, uint64_t host, uint64_t bitmap,
               struct qcow2_l2e *out, char *why, size_t n)
{
    out->alloc = (uint32_t) bitmap;
    out->zero = (uint32_t) (bitmap >> 32);
    if (out->alloc & out->zero) {
        snprintf (why, n, "subclusters are both allocated and zero (bitmap "
                  "0x%016llx)", (unsigned long long) bitmap);
        return why;
    }
    if (host == 0 && !(img->data_file && out->copied)) {
        out->kind = QCOW2_CL_UNALLOC;
        if (out->alloc) {
            snprintf (why, n, "allocated subclusters without a host cluster "
                      "(bitmap 0x%016llx)", (unsigned long long) bitmap);
            return why;
        }
        return NULL;
    }
    out->kind = QCOW2_CL_NORMAL;
    out->host = host;
    return NULL;
}

const char *
qcow2_l2e_decode (const struct qcow2_image *img, uint64_t g, uint64_t e,
                  uint64_t bitmap, struct qcow2_l2e *out, char *why,
                  size_t n)
{
    uint64_t host = e & QCOW2_OFFSET_MASK;
    bool zero = e & QCOW2_OFLAG_ZERO;
    uint64_t c = img->cluster_size;
    const char *w;

    memset (out, 0, sizeof *out);
    out->copied = e & QCOW2_OFLAG_COPIED;
    if (e & QCOW2_OFLAG_COMPRESSED) {
        return qcow2_l2e_compressed (img, e, bitmap, out, why, n);
    }
    if (e & QCOW2_L2E_RESERVED) {
        snprintf (why, n, "L2 entry 0x%016llx has reserved bits set",
                  (unsigned long long) e);
        return why;
    }
    if (host & (c - 1)) {
        snprintf (why, n, "host offset %llu is not aligned to the cluster "
                  "size %llu", (unsigned long long) host,
                  (unsigned long long) c);
        return why;
    }
    if (zero && (img->h.version < 3 || img->ext_l2)) {
        snprintf (why, n, "zero flag is set in a %s", img->ext_l2 ?
                  "table of extended L2 entries" : "version 2 image");
        return why;
    }
    if (img->ext_l2) {
        w = qcow2_l2e_ext (img, host, bitmap, out, why, n);
    } else if (host == 0 && !(img->data_file && out->copied)) {
        out->kind = zero ? QCOW2_CL_ZERO_PLAIN : QCOW2_CL_UNALLOC;
        return NULL;
    } else {
        out->kind = zero ? QCOW2_CL_ZERO_ALLOC : QCOW2_CL_NORMAL;
        out->host = host;
        out->alloc = zero ? 0 : 1;
        out->zero = zero ? 1 : 0;
        w = NULL;
    }
    if (w == NULL && img->data_file && out->kind != QCOW2_CL_UNALLOC) {
        if (out->host != g * c) {
            snprintf (why, n, "host offset %llu does not match the guest "
                      "offset %llu (external data file)",
                      (unsigned long long) out->host,
                      (unsigned long long) (g * c));
            return why;
        }
        if (!out->copied) {
            snprintf (why, n, "COPIED bit is clear on a cluster of an "
                      "external data file");
            return why;
        }
    }
    return w;
}

/* ------------------------------------------------------------- walk */

static bool
qcow2_entry_zero (const uint8_t *p, size_t eb)
{
    uint64_t a, b = 0;

    memcpy (&a, p, 8);
    if (eb > 8) {
        memcpy (&b, p + 8, 8);
    }
    return (a | b) == 0;
}

/* The first entry from j on (below n) that is not all zeros, or n;
 * aligned groups of 64 entries are looked at in one go. */
static uint64_t
qcow2_zero_end (const uint8_t *l2, uint64_t j, uint64_t n, size_t eb)
{
    while (j < n) {
        if (j % 64 == 0 && n - j >= 64 && fmt_mem_is_zero (l2 + j * eb,
                                                           64 * eb)) {
            j += 64;
        } else if (qcow2_entry_zero (l2 + j * eb, eb)) {
            j++;
        } else {
            break;
        }
    }
    return j;
}

/* Entries [0, n) of a piece of an L2 table; entry 0 maps guest cluster
 * g0. */
static int
qcow2_walk_l2 (const struct qcow2_image *img, const uint8_t *l2, uint64_t g0,
               uint64_t n, const struct qcow2_walk *w)
{
    size_t eb = img->l2_entry_bytes;

    for (uint64_t j = 0; j < n;) {
        const uint8_t *p = l2 + (size_t) j * eb;
        uint64_t bm = img->ext_l2 ? get_be64 (p + 8) : 0;
        uint64_t k = w->l2_zero_cb ? qcow2_zero_end (l2, j, n, eb) : j;
        int r;

        if (k > j) {
            r = w->l2_zero_cb (w->opaque, g0 + j, k - j);
            j = k;
        } else {
            r = w->l2_cb (w->opaque, g0 + j, get_be64 (p), bm);
            j++;
        }
        if (r < 0) {
            return r;
        }
    }
    return 0;
}

/* Returns 1 to stop the walk quietly (after a report in collect mode). */
static int
qcow2_walk_entry (const struct qcow2_image *img, uint64_t idx, uint64_t l1e,
                  uint64_t max_guest, const struct qcow2_walk *w, uint8_t *l2,
                  uint64_t *budget)
{
    uint64_t g0 = idx * img->l2_entries, n, per;
    bool skip = false;
    int r = w->l1_cb (w->opaque, idx, l1e, &skip);

    if (r < 0 || skip || (l1e & QCOW2_OFFSET_MASK) == 0 || !w->l2_cb ||
        g0 >= max_guest) {
        return r;
    }
    if ((*budget)-- == 0) {
        qcow2_report (w->rep, EINVAL, "an L1 table refers to more L2 tables "
                      "than the file can hold (a table is used twice)");
        return w->rep->err < 0 && !w->rep->probs ? w->rep->err : 1;
    }
    /* the entries that map guest clusters below max_guest, a piece at
     * a time */
    n = max_guest - g0 < img->l2_entries ? max_guest - g0 : img->l2_entries;
    per = QCOW2_L2_PIECE / img->l2_entry_bytes;
    for (uint64_t j = 0; j < n && r == 0; j += per) {
        uint64_t k = n - j < per ? n - j : per;

        r = fmt_io_pread (img->io, 0, l2, (size_t) k * img->l2_entry_bytes,
                          (l1e & QCOW2_OFFSET_MASK) +
                          j * img->l2_entry_bytes);
        if (r == 0) {
            r = qcow2_walk_l2 (img, l2, g0 + j, k, w);
        }
    }
    return r;
}

int
qcow2_walk_l1 (const struct qcow2_image *img, uint64_t l1_off,
               uint64_t l1_entries, uint64_t max_guest,
               const struct qcow2_walk *w)
{
    uint8_t *l1 = malloc ((size_t) QCOW2_L1_CHUNK * 8);
    uint8_t *l2 = malloc (img->cluster_size < QCOW2_L2_PIECE
                          ? img->cluster_size : QCOW2_L2_PIECE);
    uint64_t budget = DIV_ROUND_UP (img->file_size, img->cluster_size);
    int r = 0;

    if (l1 == NULL || l2 == NULL) {
        r = set_error (ENOMEM, "out of memory walking '%s'", img->name);
    }
    for (uint64_t i = 0; i < l1_entries && r == 0; i += QCOW2_L1_CHUNK) {
        uint64_t k = l1_entries - i < QCOW2_L1_CHUNK ? l1_entries - i
                                                     : QCOW2_L1_CHUNK;

        r = fmt_io_pread (img->io, 0, l1, (size_t) k * 8, l1_off + i * 8);
        for (uint64_t j = 0; j < k && r == 0; j++) {
            r = qcow2_walk_entry (img, i + j, get_be64 (l1 + j * 8),
                                  max_guest, w, l2, &budget);
        }
    }
    free (l1);
    free (l2);
    return r > 0 ? 0 : r;
}

/* ---------------------------------------------------------- read_map */

struct qcow2_mapper {
    const struct qcow2_image *img;
    struct qcow2_report *rep;
    struct fmt_extent_list *out;
    uint32_t dfile;             /* file holding the guest clusters */
    uint64_t dsize;             /* its size */
    /* pending DATA run, handed to fmt_io_add_data when it ends */
    uint64_t pguest, phost, plen;
};

static int
qcow2_map_flush (struct qcow2_mapper *m)
{
    int r = 0;

    if (m->plen) {
        r = fmt_io_add_data (m->img->io, m->dfile, m->phost, m->plen,
                             m->pguest, m->out);
        m->plen = 0;
    }
    return r;
}

static int
qcow2_map_data (struct qcow2_mapper *m, uint64_t guest, uint64_t host,
                uint64_t len)
{
    int r;

    if (m->plen && m->pguest + m->plen == guest && m->phost + m->plen == host) {
        m->plen += len;
        return 0;
    }
    if ((r = qcow2_map_flush (m)) < 0) {
        return r;
    }
    m->pguest = guest;
    m->phost = host;
    m->plen = len;
    return 0;
}

static int
qcow2_map_zero (struct qcow2_mapper *m, uint64_t guest, uint64_t len)
{
    int r = qcow2_map_flush (m);

    return r < 0 ? r : fmt_extents_add_zero (m->out, guest, len);
}

/* Guest bytes [g*C, ...) that exist: the last cluster is cut at the
 * virtual size. */
static uint64_t
qcow2_guest_len (const struct qcow2_image *img, uint64_t guest, uint64_t len)
{
    return img->h.size - guest < len ? img->h.size - guest : len;
}

/* Host range [off, off+len) must not hit the header, L1 or refcount
 * table (cheap checks; the validator does the full overlap analysis). */
static const char *
qcow2_map_overlap (const struct qcow2_image *img, uint64_t off, uint64_t len)
{
    const struct qcow2_header *h = &img->h;
    uint64_t c = img->cluster_size;
    uint64_t l1_end = h->l1_table_offset + (uint64_t) h->l1_size * 8;
    uint64_t rt_end = h->refcount_table_offset +
                      (uint64_t) h->refcount_table_clusters * c;

    if (off < c) {
        return "the header";
    }
    if (h->l1_size && off < l1_end && off + len > h->l1_table_offset) {
        return "the L1 table";
    }
    if (off < rt_end && off + len > h->refcount_table_offset) {
        return "the refcount table";
    }
    return NULL;
}

static int
qcow2_map_l1 (void *opaque, uint64_t idx, uint64_t l1e, bool *skip)
{
    struct qcow2_mapper *m = opaque;
    const struct qcow2_image *img = m->img;
    uint64_t c = img->cluster_size, off = l1e & QCOW2_OFFSET_MASK;
    uint64_t span = c * img->l2_entries, guest = idx * span;
    const char *what;

    if (idx >= img->l1_needed) {
        *skip = true;
        return 0;
    }
    if (l1e & QCOW2_L1E_RESERVED) {
        qcow2_report (m->rep, EINVAL, "L1 entry %llu (0x%016llx) has "
                      "reserved bits set", (unsigned long long) idx,
                      (unsigned long long) l1e);
    } else if (off == 0) {
        *skip = true;
        return qcow2_map_zero (m, guest, qcow2_guest_len (img, guest, span));
    } else if (off & (c - 1)) {
        qcow2_report (m->rep, EINVAL, "L1 entry %llu: L2 table offset %llu is "
                      "not cluster aligned", (unsigned long long) idx,
                      (unsigned long long) off);
    } else if (off > img->file_size || c > img->file_size - off) {
        qcow2_report (m->rep, EINVAL, "L1 entry %llu: L2 table at offset "
                      "%llu lies past the end of the file (%llu bytes)",
                      (unsigned long long) idx, (unsigned long long) off,
                      (unsigned long long) img->file_size);
    } else if ((what = qcow2_map_overlap (img, off, c)) != NULL) {
        qcow2_report (m->rep, EINVAL, "L1 entry %llu: L2 table at offset "
                      "%llu overlaps %s", (unsigned long long) idx,
                      (unsigned long long) off, what);
    }
    return m->rep->err;
}

static int
qcow2_map_compressed (struct qcow2_mapper *m, uint64_t guest, uint64_t len,
                      const struct qcow2_l2e *d)
{
    const struct qcow2_image *img = m->img;
    struct fmt_extent e = {
        .guest_off = guest, .len = len, .file_off = d->host, .file = 0,
        .ulen = img->cluster_size, .kind = FMT_EXT_DEFLATE,
        .codec = FMT_CODEC_DEFLATE,
    };
    int r;

    if (img->h.compression_type != QCOW2_COMPRESSION_DEFLATE) {
        qcow2_report (m->rep, ENOTSUP, "unsupported compressed cluster at "
                      "guest offset %llu: only deflate is supported, the "
                      "image uses zstd", (unsigned long long) guest);
        return m->rep->err;
    }
    /* The descriptor counts whole sectors; qemu's stream may end mid
     * sector at the end of the file, and it reads zeros past EOF. */
    if (d->host >= img->file_size || d->host < img->cluster_size) {
        qcow2_report (m->rep, EINVAL, "compressed cluster for guest offset "
                      "%llu at host offset %llu is outside the data area of "
                      "the file", (unsigned long long) guest,
                      (unsigned long long) d->host);
        return m->rep->err;
    }
    e.clen = (uint32_t) (img->file_size - d->host < d->csize
                         ? img->file_size - d->host : d->csize);
    if ((r = qcow2_map_flush (m)) < 0) {
        return r;
    }
    return fmt_extents_add (m->out, &e);
}

/* One (sub)cluster of data at host, guest bytes [guest, guest+len). */
static int
qcow2_map_host (struct qcow2_mapper *m, uint64_t guest, uint64_t host,
                uint64_t len)
{
    const char *what;

    if (host > m->dsize || len > m->dsize - host) {
        qcow2_report (m->rep, EINVAL, "data for guest offset %llu at host "
                      "offset %llu lies past the end of %s (%llu bytes)",
                      (unsigned long long) guest, (unsigned long long) host,
                      m->img->data_file ? "the data file" : "the file",
                      (unsigned long long) m->dsize);
        return m->rep->err;
    }
    if (!m->img->data_file &&
        (what = qcow2_map_overlap (m->img, host, len)) != NULL) {
        qcow2_report (m->rep, EINVAL, "data for guest offset %llu at host "
                      "offset %llu overlaps %s", (unsigned long long) guest,
                      (unsigned long long) host, what);
        return m->rep->err;
    }
    return qcow2_map_data (m, guest, host, len);
}

static int
qcow2_map_l2 (void *opaque, uint64_t g, uint64_t e, uint64_t bitmap)
{
    struct qcow2_mapper *m = opaque;
    const struct qcow2_image *img = m->img;
    uint64_t c = img->cluster_size, sub = img->subcluster_size;
    uint64_t guest = g * c, glen = qcow2_guest_len (img, guest, c);
    unsigned nsub = img->ext_l2 ? 32 : 1;
    struct qcow2_l2e d;
    char why[160];
    int r = 0;

    if (qcow2_l2e_decode (img, g, e, bitmap, &d, why, sizeof why)) {
        qcow2_report (m->rep, EINVAL, "L2 entry for guest offset %llu: %s",
                      (unsigned long long) guest, why);
        return m->rep->err;
    }
    if (d.kind == QCOW2_CL_COMPRESSED) {
        return qcow2_map_compressed (m, guest, glen, &d);
    }
    if (d.kind != QCOW2_CL_NORMAL) {
        return qcow2_map_zero (m, guest, glen);
    }
    for (unsigned i = 0; i < nsub && i * sub < glen && r == 0; i++) {
        uint64_t len = glen - i * sub < sub ? glen - i * sub : sub;

        if (d.alloc & (1u << i)) {
            r = qcow2_map_host (m, guest + i * sub, d.host + i * sub, len);
        } else {
            r = qcow2_map_zero (m, guest + i * sub, len);
        }
    }
    return r;
}

/* Entries of 0 are unallocated clusters (qcow2_l2e_decode accepts them
 * in every image): zeros to the guest. */
static int
qcow2_map_l2_zero (void *opaque, uint64_t g, uint64_t n)
{
    struct qcow2_mapper *m = opaque;
    uint64_t guest = g * m->img->cluster_size;

    return qcow2_map_zero (m, guest, qcow2_guest_len (m->img, guest,
                                                      n * m->img->cluster_size));
}

/* Open the external data file named in the image: only a relative name
 * inside the image's directory can go through the io (the engine's
 * sandbox). */
static int
qcow2_open_data_file (const struct qcow2_image *img, struct qcow2_mapper *m)
{
    const char *name = img->x->data_file;
    int64_t sz;
    int idx;

    if (!img->x->has_data_file) {
        return set_error (ENOTSUP, "'%s': image uses an external data file "
                          "but does not record its name (unsupported)",
                          img->name);
    }
    if (name[0] == '/' && img->io->open_abs) {
        idx = img->io->open_abs (img->io->opaque, 0, name);
    } else if (name[0] == '/' || fmt_check_rel_path (name) < 0) {
        return set_error (ENOTSUP, "'%s': external data file '%s' is "
                          "unsupported: only a relative name inside the "
                          "image's directory (or an absolute one the caller "
                          "can confine to it) can be opened", img->name, name);
    } else {
        idx = img->io->open_rel (img->io->opaque, 0, name);
    }
    if (idx < 0) {
        error_prepend ("'%s': external data file: ", img->name);
        return idx;
    }
    sz = img->io->size (img->io->opaque, (uint32_t) idx);
    if (sz < 0) {
        return (int) sz;
    }
    m->dfile = (uint32_t) idx;
    m->dsize = (uint64_t) sz;
    return 0;
}

static int
qcow2_map_run (const struct qcow2_image *img, struct qcow2_report *rep,
               struct fmt_extent_list *out)
{
    struct qcow2_mapper m = {
        .img = img, .rep = rep, .out = out, .dfile = 0,
        .dsize = img->file_size,
    };
    struct qcow2_walk w = {
        .rep = rep, .opaque = &m, .l1_cb = qcow2_map_l1,
        .l2_cb = qcow2_map_l2, .l2_zero_cb = qcow2_map_l2_zero,
    };
    int r;

    if (img->data_file && (r = qcow2_open_data_file (img, &m)) < 0) {
        return r;
    }
    out->size = img->h.size;
    r = qcow2_walk_l1 (img, img->h.l1_table_offset, img->l1_needed,
                       img->guest_clusters, &w);
    if (r == 0) {
        r = qcow2_map_flush (&m);
    }
    if (r == 0) {
        r = fmt_extents_check (out);
    }
    return r;
}

int
qcow2_read_map (const struct fmt_io *io, struct fmt_extent_list *out,
                struct fmt_source_info *info)
{
    struct qcow2_report rep = { .probs = NULL, .file = fmt_io_name (io, 0) };
    struct qcow2_image img;
    int r = qcow2_image_open (&img, io, &rep);

    if (r == 0 && rep.err == 0) {
        r = qcow2_map_run (&img, &rep, out);
    }
    if (r > 0 || (r == 0 && rep.err)) {
        r = rep.err ? rep.err : set_error (EINVAL, "'%s': invalid qcow2 image",
                                           rep.file);
    }
    if (r == 0) {
        qcow2_image_info (&img, info);
    }
    qcow2_image_release (&img);
    return r;
}
