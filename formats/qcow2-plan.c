/* QCOW2 writer (planner): the two layouts of docs/formats/qcow2.md,
 * "Writing" (self-contained with the data contiguous at X; a metadata
 * file over an external raw data file); layout rules from qemu's
 * docs/interop/qcow2.txt.
 *
 * Self-contained layout, in clusters of C bytes:
 *
 *   0 header | reftable (T) | refblocks (R) | L1 | L2 tables | data
 *                                                              X = M * C
 *
 * Guest cluster g lives at X + g * C whether or not it holds data, so
 * the data is one placement of the whole source map (clone friendly) and
 * holes in the source stay holes in the target.  L2 tables exist only for
 * the L1 ranges that hold data (L1 entry 0 otherwise); all-hole clusters
 * get L2 entry 0 (unallocated: reads zero without a backing file), never
 * the zero flag, which libqcow 20201213 misreads.  Refcount 1 for every
 * metadata cluster and every data cluster an L2 entry references;
 * refcount blocks only where some refcount is nonzero.  The file ends at
 * the end of the last allocated data cluster, so no cluster past the data
 * is referenced.
 *
 * Default cluster size: 2 MiB (QCOW2_DEFAULT_CLUSTER).  The work here is
 * metadata only, so the cluster size is chosen for small metadata: a
 * fully allocated 1 TiB disk needs 12 MiB of metadata at 2 MiB clusters
 * against 160.25 MiB at qemu's default of 64 KiB, and one L2 table maps
 * 512 GiB instead of 512 MiB.  qemu (its maximum cluster size) and libqcow
 * read 2 MiB clusters.  The cost, coarser allocation in the image, does
 * not matter for a converted disk whose holes stay holes in the host file
 * either way.  Any power of two from 4 KiB to 2 MiB can be asked for.
 *
 * Tables are generator blobs computed from a compact run list of the
 * allocated guest clusters, so a 64 TiB disk never has its L2 tables or
 * refcount blocks in memory.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/endian.h"
#include "engine/base/error.h"
#include "engine/base/overflow.h"
#include "formats/qcow2.h"

/* Immutable after planning; shared by every generator of the layout. */
struct qcow2_plan {
    struct qcow2_geo geo;
    struct qcow2_run_vec runs;  /* allocated guest clusters */
    uint32_t *tabs;             /* L1 indexes with an L2 table, sorted
                                 * (NULL in data-file mode: all of them) */
    uint32_t *blocks;           /* refcount block indexes written, sorted */
    uint64_t rb_off, l1_off, l2_off, data_off;
};

static void
qcow2_plan_free (void *ctx)
{
    struct qcow2_plan *p = ctx;

    qcow2_run_vec_reset (&p->runs);
    free (p->tabs);
    free (p->blocks);
    free (p);
}

/* ------------------------------------------------------------ geometry */

static unsigned
qcow2_log2 (uint64_t v)
{
    unsigned b = 0;

    while (((uint64_t) 1 << b) < v) {
        b++;
    }
    return b;
}

/* Count (and with fn, visit in order) the distinct indexes x / div for
 * x in the runs shifted by 'shift' (sorted, disjoint).  *last and *have
 * carry the highest index seen across calls. */
typedef void (*qcow2_idx_fn) (void *opaque, uint64_t idx);

static uint64_t
qcow2_runs_idx (const struct qcow2_run *runs, size_t nruns, uint64_t shift,
                uint64_t div, uint64_t *last, bool *have, qcow2_idx_fn fn,
                void *opaque)
{
    uint64_t n = 0;

    for (size_t i = 0; i < nruns; i++) {
        uint64_t a = (runs[i].g0 + shift) / div;
        uint64_t b = (runs[i].g1 + shift - 1) / div;

        if (*have && a <= *last) {
            a = *last + 1;
        }
        if (a <= b) {
            n += b - a + 1;
            for (uint64_t k = a; fn && k <= b; k++) {
                fn (opaque, k);
            }
        }
        if (!*have || b > *last) {
            *last = b;
        }
        *have = true;
    }
    return n;
}

/* Refcount blocks needed when data starts at cluster M: every block
 * holding a metadata cluster [0, M) or a referenced data cluster.
 * *last gets the highest block index. */
static uint64_t
qcow2_geo_blocks (const struct qcow2_geo *g, const struct qcow2_run *runs,
                  size_t nruns, uint64_t m, uint64_t *last)
{
    struct qcow2_run meta = { 0, m };
    uint64_t n;
    bool have = false;

    n = qcow2_runs_idx (&meta, 1, 0, g->refblock_entries, last, &have,
                        NULL, NULL);
    if (!g->data_file) {
        n += qcow2_runs_idx (runs, nruns, m, g->refblock_entries, last,
                             &have, NULL, NULL);
    }
    return n;
}

/* Fixed point: the metadata size M depends on the refcount blocks and
 * table, whose size depends on where the data (after M) ends.  Reserved
 * sizes only grow, so the loop ends; a block reserved but not needed at
 * the final M is a hole with refcount 0. */
static int
qcow2_geo_fixpoint (struct qcow2_geo *g, const struct qcow2_run *runs,
                    size_t nruns)
{
    uint64_t c = g->cluster_size, t = 1, rres = 1, ract, last = 0, tneed;

    for (;;) {
        g->meta_clusters = 1 + t + rres + g->l1_clusters + g->l2_tables;
        ract = qcow2_geo_blocks (g, runs, nruns, g->meta_clusters, &last);
        tneed = DIV_ROUND_UP ((last + 1) * 8, c);
        if (ract <= rres && tneed <= t) {
            break;
        }
        rres = ract > rres ? ract : rres;
        t = tneed > t ? tneed : t;
    }
    if (t * c > QCOW2_MAX_REFTABLE_BYTES) {
        return set_error (EFBIG, "qcow2 refcount table would need %llu "
                          "bytes, more than qemu's 8 MiB limit; use larger "
                          "clusters", (unsigned long long) (t * c));
    }
    g->reftable_clusters = t;
    g->refblocks_reserved = rres;
    g->refblocks = ract;
    g->file_clusters = g->meta_clusters;
    if (!g->data_file && nruns) {
        g->file_clusters += runs[nruns - 1].g1;
    }
    return 0;
}

int
qcow2_geo_compute (uint64_t virtual_size, uint32_t cluster_size,
                   const struct qcow2_run *runs, size_t nruns,
                   bool data_file, struct qcow2_geo *g)
{
    uint64_t c = cluster_size, last = 0;
    bool have = false;

    memset (g, 0, sizeof *g);
    if (!IS_POW2 (c) || c < 512 || c > QCOW2_DEFAULT_CLUSTER) {
        return set_error (EINVAL, "qcow2 cluster size %u is invalid",
                          cluster_size);
    }
    g->cluster_size = cluster_size;
    g->cluster_bits = qcow2_log2 (c);
    g->virtual_size = virtual_size;
    g->data_file = data_file;
    g->guest_clusters = DIV_ROUND_UP (virtual_size, c);
    g->l2_entries = c / 8;
    g->l1_entries = DIV_ROUND_UP (g->guest_clusters, g->l2_entries);
    if (g->l1_entries * 8 > QCOW2_MAX_L1_BYTES) {
        return set_error (EFBIG, "a %llu-byte disk needs a qcow2 L1 table "
                          "of %llu bytes at %u-byte clusters, more than "
                          "qemu's 32 MiB limit; use larger clusters",
                          (unsigned long long) virtual_size,
                          (unsigned long long) (g->l1_entries * 8),
                          cluster_size);
    }
    g->l1_clusters = DIV_ROUND_UP (g->l1_entries * 8, c);
    g->refblock_entries = c * 8 / 16;
    if (data_file) {
        g->l2_tables = g->l1_entries;
    } else {
        g->l2_tables = qcow2_runs_idx (runs, nruns, 0, g->l2_entries, &last,
                                       &have, NULL, NULL);
    }
    return qcow2_geo_fixpoint (g, runs, nruns);
}

/* Allocated guest clusters of the map as sorted runs. */
static int
qcow2_map_runs (const struct fmt_extent_list *map, uint64_t c,
                struct qcow2_run_vec *runs)
{
    for (size_t i = 0; i < map->v.len; i++) {
        const struct fmt_extent *e = &map->v.ptr[i];
        struct qcow2_run r = {
            e->guest_off / c, DIV_ROUND_UP (e->guest_off + e->len, c),
        };
        int rc;

        if (e->kind == FMT_EXT_ZERO || e->len == 0) {
            continue;
        }
        if (runs->len && runs->ptr[runs->len - 1].g1 >= r.g0) {
            struct qcow2_run *last = &runs->ptr[runs->len - 1];

            last->g1 = r.g1 > last->g1 ? r.g1 : last->g1;
            continue;
        }
        if ((rc = qcow2_run_vec_append (runs, r)) < 0) {
            return rc;
        }
    }
    return 0;
}

/* ---------------------------------------------------------- generators */

/* Write the big-endian entry v of 'width' bytes that sits at byte 'at' of
 * a blob into the window [rel, rel+n) held by buf. */
static void
qcow2_put (uint8_t *buf, uint64_t rel, size_t n, uint64_t at, uint64_t v,
           unsigned width)
{
    uint8_t tmp[8];
    uint64_t from = at > rel ? at : rel;
    uint64_t to = at + width < rel + n ? at + width : rel + n;

    if (width == 8 && at >= rel && at + 8 <= rel + n) {
        put_be64 (buf + (at - rel), v);
        return;
    }
    if (width == 8) {
        put_be64 (tmp, v);
    } else {
        put_be16 (tmp, (uint16_t) v);
    }
    if (from < to) {
        memcpy (buf + (from - rel), tmp + (from - at), to - from);
    }
}

/* Index of the first element of a sorted array >= key. */
static size_t
qcow2_lower_bound (const uint32_t *a, size_t n, uint64_t key)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (a[mid] < key) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* Index of the first run with g1 > g. */
static size_t
qcow2_run_find (const struct qcow2_run_vec *runs, uint64_t g)
{
    size_t lo = 0, hi = runs->len;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (runs->ptr[mid].g1 <= g) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* The generators below clear the window and then write only the entries
 * that are not zero, run by run: a thin disk's tables are almost all
 * zeros, and a 64 TiB disk's refcount blocks hold 32 million entries. */

/* Entries [i, i + k) of 'width' bytes, where entry i + j holds
 * v + j * step (big endian), into the window [rel, rel+n) of buf. */
static void
qcow2_put_seq (uint8_t *buf, uint64_t rel, size_t n, uint64_t i, uint64_t k,
               uint64_t v, uint64_t step, unsigned width)
{
    for (uint64_t j = 0; j < k; j++) {
        qcow2_put (buf, rel, n, (i + j) * width, v + j * step, width);
    }
}

static int
qcow2_gen_reftable (const struct fmt_blob *b, uint64_t rel, uint8_t *buf,
                    size_t n)
{
    const struct qcow2_plan *p = b->ctx;
    uint64_t i0 = rel / 8, i1 = DIV_ROUND_UP (rel + n, 8);
    size_t k = qcow2_lower_bound (p->blocks, p->geo.refblocks, i0);

    memset (buf, 0, n);
    for (; k < p->geo.refblocks && p->blocks[k] < i1; k++) {
        qcow2_put (buf, rel, n, (uint64_t) p->blocks[k] * 8,
                   p->rb_off + k * p->geo.cluster_size, 8);
    }
    return 0;
}

/* Refcount 1 for the host clusters [a, b) that entries [i, ...) of the
 * window describe, where entry i is host cluster h. */
static void
qcow2_put_used (uint8_t *buf, uint64_t rel, size_t n, uint64_t i, uint64_t h,
                uint64_t hend, uint64_t a, uint64_t b)
{
    a = a > h ? a : h;
    b = b < hend ? b : hend;
    if (a < b) {
        qcow2_put_seq (buf, rel, n, i + (a - h), b - a, 1, 0, 2);
    }
}

/* Host cluster h has refcount 1: the metadata clusters (except refcount
 * blocks reserved but not needed) and referenced data clusters.  Entries
 * [i, i + k) of the window are host clusters [h, h + k). */
static void
qcow2_refblock_span (const struct qcow2_plan *p, uint8_t *buf, uint64_t rel,
                     size_t n, uint64_t i, uint64_t h, uint64_t k)
{
    const struct qcow2_geo *g = &p->geo;
    uint64_t rb0 = 1 + g->reftable_clusters, m = g->meta_clusters;
    uint64_t hend = h + k;

    qcow2_put_used (buf, rel, n, i, h, hend, 0, rb0 + g->refblocks);
    qcow2_put_used (buf, rel, n, i, h, hend, rb0 + g->refblocks_reserved, m);
    if (g->data_file || hend <= m) {
        return;
    }
    for (size_t r = qcow2_run_find (&p->runs, h > m ? h - m : 0);
         r < p->runs.len && m + p->runs.ptr[r].g0 < hend; r++) {
        qcow2_put_used (buf, rel, n, i, h, hend, m + p->runs.ptr[r].g0,
                        m + p->runs.ptr[r].g1);
    }
}

static int
qcow2_gen_refblocks (const struct fmt_blob *b, uint64_t rel, uint8_t *buf,
                     size_t n)
{
    const struct qcow2_plan *p = b->ctx;
    uint64_t e = p->geo.refblock_entries;
    uint64_t i0 = rel / 2, i1 = DIV_ROUND_UP (rel + n, 2);

    memset (buf, 0, n);
    for (uint64_t i = i0; i < i1;) {
        uint64_t k = i / e, end = (k + 1) * e < i1 ? (k + 1) * e : i1;

        qcow2_refblock_span (p, buf, rel, n, i,
                             (uint64_t) p->blocks[k] * e + i % e, end - i);
        i = end;
    }
    return 0;
}

static int
qcow2_gen_l1 (const struct fmt_blob *b, uint64_t rel, uint8_t *buf, size_t n)
{
    const struct qcow2_plan *p = b->ctx;
    uint64_t c = p->geo.cluster_size;
    uint64_t i0 = rel / 8, i1 = DIV_ROUND_UP (rel + n, 8);
    size_t k;

    memset (buf, 0, n);
    if (p->tabs == NULL) {
        qcow2_put_seq (buf, rel, n, i0, i1 - i0,
                       (p->l2_off + i0 * c) | QCOW2_OFLAG_COPIED, c, 8);
        return 0;
    }
    k = qcow2_lower_bound (p->tabs, p->geo.l2_tables, i0);
    for (; k < p->geo.l2_tables && p->tabs[k] < i1; k++) {
        qcow2_put (buf, rel, n, (uint64_t) p->tabs[k] * 8,
                   (p->l2_off + k * c) | QCOW2_OFLAG_COPIED, 8);
    }
    return 0;
}

/* Entries [i, i + k) of the L2 area map guest clusters [g, g + k). */
static void
qcow2_l2_span (const struct qcow2_plan *p, uint8_t *buf, uint64_t rel,
               size_t n, uint64_t i, uint64_t g, uint64_t k)
{
    uint64_t c = p->geo.cluster_size, gend = g + k;

    if (gend > p->geo.guest_clusters) {
        gend = p->geo.guest_clusters;
    }
    if (g >= gend) {
        return;
    }
    if (p->geo.data_file) {
        /* 1:1, host == guest */
        qcow2_put_seq (buf, rel, n, i, gend - g,
                       (g * c) | QCOW2_OFLAG_COPIED, c, 8);
        return;
    }
    for (size_t r = qcow2_run_find (&p->runs, g);
         r < p->runs.len && p->runs.ptr[r].g0 < gend; r++) {
        uint64_t a = p->runs.ptr[r].g0 > g ? p->runs.ptr[r].g0 : g;
        uint64_t z = p->runs.ptr[r].g1 < gend ? p->runs.ptr[r].g1 : gend;

        qcow2_put_seq (buf, rel, n, i + (a - g), z - a,
                       (p->data_off + a * c) | QCOW2_OFLAG_COPIED, c, 8);
    }
}

static int
qcow2_gen_l2 (const struct fmt_blob *b, uint64_t rel, uint8_t *buf, size_t n)
{
    const struct qcow2_plan *p = b->ctx;
    uint64_t l = p->geo.l2_entries;
    uint64_t i0 = rel / 8, i1 = DIV_ROUND_UP (rel + n, 8);

    memset (buf, 0, n);
    for (uint64_t i = i0; i < i1;) {
        uint64_t k = i / l, end = (k + 1) * l < i1 ? (k + 1) * l : i1;
        uint64_t tab = p->tabs ? p->tabs[k] : k;

        qcow2_l2_span (p, buf, rel, n, i, tab * l + i % l, end - i);
        i = end;
    }
    return 0;
}

/* ------------------------------------------------------------- planning */

static const struct {
    uint8_t type, bit;
    const char *name;
} qcow2_feature_names[] = {
    { 0, 0, "dirty bit" },
    { 0, 1, "corrupt bit" },
    { 0, 2, "external data file" },
    { 0, 3, "compression type" },
    { 0, 4, "extended L2 entries" },
    { 1, 0, "lazy refcounts" },
    { 2, 0, "bitmaps" },
    { 2, 1, "raw external data" },
};

/* Header cluster bytes: header, feature name table, data file name,
 * end marker.  Returns the length used, or -errno. */
static int
qcow2_plan_header (const struct qcow2_plan *p, const struct fmt_plan_opts *o,
                   uint8_t *buf, size_t cap)
{
    const struct qcow2_geo *g = &p->geo;
    uint8_t names[sizeof qcow2_feature_names / sizeof qcow2_feature_names[0]]
                 [QCOW2_FEATURE_NAME_ENTRY];
    struct qcow2_header h = {
        .magic = QCOW2_MAGIC, .version = 3, .cluster_bits = g->cluster_bits,
        .size = g->virtual_size, .l1_size = (uint32_t) g->l1_entries,
        .l1_table_offset = g->l1_entries ? p->l1_off : 0,
        .refcount_table_offset = g->cluster_size,
        .refcount_table_clusters = (uint32_t) g->reftable_clusters,
        .refcount_order = 4, .header_length = QCOW2_WRITE_HEADER_LEN,
    };
    size_t off = QCOW2_WRITE_HEADER_LEN;
    bool ok;

    if (g->data_file) {
        h.incompatible_features = QCOW2_INCOMPAT_DATA_FILE;
        h.autoclear_features = QCOW2_AUTOCLEAR_DATA_FILE_RAW;
    }
    memset (names, 0, sizeof names);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        names[i][0] = qcow2_feature_names[i].type;
        names[i][1] = qcow2_feature_names[i].bit;
        memcpy (names[i] + 2, qcow2_feature_names[i].name,
                strlen (qcow2_feature_names[i].name));
    }
    qcow2_header_encode (&h, buf, cap);
    ok = qcow2_ext_put (buf, cap, &off, QCOW2_EXT_FEATURE_NAMES, names,
                        sizeof names);
    if (ok && g->data_file) {
        ok = qcow2_ext_put (buf, cap, &off, QCOW2_EXT_DATA_FILE,
                            o->data_file_path,
                            (uint32_t) strlen (o->data_file_path));
    }
    ok = ok && qcow2_ext_put (buf, cap, &off, QCOW2_EXT_END, NULL, 0);
    if (!ok) {
        return set_error (EINVAL, "qcow2 header with the data file path does "
                          "not fit in one %u-byte cluster", g->cluster_size);
    }
    return (int) off;
}

static int
qcow2_plan_check_opts (const struct fmt_plan_opts *o, uint32_t *cluster)
{
    uint32_t c = o->cluster_size ? o->cluster_size : QCOW2_DEFAULT_CLUSTER;
    const char *base;

    if (!IS_POW2 (c) || c < 512 || c > QCOW2_DEFAULT_CLUSTER) {
        return set_error (EINVAL, "qcow2 cluster size %u is invalid (a power "
                          "of two from 4 KiB to 2 MiB)", c);
    }
    if (c < QCOW2_MIN_WRITE_CLUSTER) {
        return set_error (EINVAL, "qcow2 cluster size %u is too small: data "
                          "clusters are shared by clone in 4 KiB blocks, so "
                          "clusters must be at least 4 KiB", c);
    }
    *cluster = c;
    if (!o->qcow2_data_file) {
        return 0;
    }
    if (!o->data_file_path || !*o->data_file_path || !o->data_file_name ||
        !*o->data_file_name) {
        return set_error (EINVAL, "qcow2 data file mode needs the data file "
                          "path and name");
    }
    if (strlen (o->data_file_path) > QCOW2_MAX_DATA_FILE_NAME) {
        return set_error (EINVAL, "qcow2 data file path is longer than %u "
                          "bytes", QCOW2_MAX_DATA_FILE_NAME);
    }
    base = strrchr (o->data_file_path, '/');
    base = base ? base + 1 : o->data_file_path;
    if (strcmp (base, o->data_file_name) != 0) {
        return set_error (EINVAL, "qcow2 data file path '%s' does not name "
                          "the data file '%s'", o->data_file_path,
                          o->data_file_name);
    }
    return 0;
}

static void
qcow2_tab_fn (void *opaque, uint64_t idx)
{
    uint32_t **pp = opaque;

    *(*pp)++ = (uint32_t) idx;
}

/* The sorted L2 table and refcount block index lists. */
static int
qcow2_plan_lists (struct qcow2_plan *p)
{
    const struct qcow2_geo *g = &p->geo;
    struct qcow2_run meta = { 0, g->meta_clusters };
    uint64_t last = 0, nb;
    bool have = false;
    uint32_t *w;

    p->blocks = malloc ((g->refblocks ? g->refblocks : 1) * sizeof *p->blocks);
    if (!g->data_file) {
        p->tabs = malloc ((g->l2_tables ? g->l2_tables : 1) *
                          sizeof *p->tabs);
    }
    if (p->blocks == NULL || (!g->data_file && p->tabs == NULL)) {
        return set_error (ENOMEM, "out of memory planning the qcow2 tables");
    }
    w = p->blocks;
    nb = qcow2_runs_idx (&meta, 1, 0, g->refblock_entries, &last, &have,
                         qcow2_tab_fn, &w);
    if (!g->data_file) {
        nb += qcow2_runs_idx (p->runs.ptr, p->runs.len, g->meta_clusters,
                              g->refblock_entries, &last, &have,
                              qcow2_tab_fn, &w);
        w = p->tabs;
        have = false;
        qcow2_runs_idx (p->runs.ptr, p->runs.len, 0, g->l2_entries, &last,
                        &have, qcow2_tab_fn, &w);
    }
    return nb == g->refblocks ? 0 : set_error (EINVAL, "qcow2 planner: "
                                               "refcount block count changed");
}

static int
qcow2_plan_blobs (struct fmt_layout *lay, const struct qcow2_plan *p,
                  const struct fmt_plan_opts *o)
{
    const struct qcow2_geo *g = &p->geo;
    uint64_t c = g->cluster_size;
    uint8_t hdr[8192];
    int hl = qcow2_plan_header (p, o, hdr, c < sizeof hdr ? c : sizeof hdr);
    int r;

    if (hl < 0) {
        return hl;
    }
    r = fmt_layout_add_bytes (lay, 0, 0, hdr, (size_t) hl, FMT_PHASE_HEADER,
                              "qcow2 header");
    if (r == 0) {
        /* entries up to the last block; the rest of the table is 0 */
        uint64_t rt_len = ((uint64_t) p->blocks[g->refblocks - 1] + 1) * 8;

        r = fmt_layout_add_gen (lay, 0, c, rt_len,
                                qcow2_gen_reftable, (void *) p,
                                FMT_PHASE_META, "qcow2 refcount table");
    }
    if (r == 0) {
        r = fmt_layout_add_gen (lay, 0, p->rb_off, g->refblocks * c,
                                qcow2_gen_refblocks, (void *) p,
                                FMT_PHASE_META, "qcow2 refcount blocks");
    }
    if (r == 0) {
        r = fmt_layout_add_gen (lay, 0, p->l1_off, g->l1_entries * 8,
                                qcow2_gen_l1, (void *) p, FMT_PHASE_META,
                                "qcow2 L1 table");
    }
    if (r == 0) {
        r = fmt_layout_add_gen (lay, 0, p->l2_off, g->l2_tables * c,
                                qcow2_gen_l2, (void *) p, FMT_PHASE_META,
                                "qcow2 L2 tables");
    }
    return r;
}

/* Outputs and data placement.  In data-file mode the guest data goes to
 * a new raw file named by the engine: the image never points at the
 * source itself, so nothing a qemu user does to the qcow2 (which opens
 * its data file read-write) can reach the source disk. */
static int
qcow2_plan_outputs (struct fmt_layout *lay, const struct qcow2_plan *p,
                    const struct fmt_extent_list *map,
                    const struct fmt_plan_opts *o)
{
    const struct qcow2_geo *g = &p->geo;
    int main_idx, data_idx;

    lay->type = FMT_QCOW2;
    main_idx = fmt_layout_add_output (lay, o->target_name, FMT_OUT_MAIN);
    if (main_idx < 0) {
        return main_idx;
    }
    lay->out[main_idx].file_size = g->file_clusters * g->cluster_size;
    if (!g->data_file) {
        lay->data_offset = p->data_off;
        return fmt_layout_place_map (lay, (size_t) main_idx, map, 0,
                                     map->size, p->data_off, o->clone_align);
    }
    data_idx = fmt_layout_add_output (lay, o->data_file_name, FMT_OUT_DATA);
    if (data_idx < 0) {
        return data_idx;
    }
    lay->data_offset = 0;
    lay->out[data_idx].file_size = g->virtual_size;
    return fmt_layout_place_map (lay, (size_t) data_idx, map, 0, map->size, 0,
                                 o->clone_align);
}

static int
qcow2_plan_build (struct qcow2_plan *p, const struct fmt_extent_list *map,
                  const struct fmt_plan_opts *o)
{
    struct qcow2_geo *g = &p->geo;
    uint32_t c = 0;
    int r;

    if ((r = qcow2_plan_check_opts (o, &c)) < 0) {
        return r;
    }
    if (map->size > FMT_MAX_VIRTUAL_SIZE) {
        return set_error (EFBIG, "disk of %llu bytes is larger than the "
                          "%llu-byte maximum", (unsigned long long) map->size,
                          (unsigned long long) FMT_MAX_VIRTUAL_SIZE);
    }
    if ((r = fmt_extents_check (map)) < 0 ||
        (!o->qcow2_data_file && (r = qcow2_map_runs (map, c, &p->runs)) < 0)) {
        return r;
    }
    /* qemu sees qcow2 disks in whole 512-byte sectors (it drops a
     * partial last sector), and sees a raw file of any size rounded up
     * to them: round up the same way, the tail reads as zeros. */
    r = qcow2_geo_compute (DIV_ROUND_UP (map->size, FMT_SECTOR) * FMT_SECTOR,
                           c, p->runs.ptr, p->runs.len, o->qcow2_data_file,
                           g);
    if (r < 0) {
        return r;
    }
    p->rb_off = (1 + g->reftable_clusters) * c;
    p->l1_off = p->rb_off + g->refblocks_reserved * c;
    p->l2_off = p->l1_off + g->l1_clusters * c;
    p->data_off = g->meta_clusters * c;
    return qcow2_plan_lists (p);
}

int
qcow2_plan (const struct fmt_source_info *src,
            const struct fmt_extent_list *map, const struct fmt_plan_opts *o,
            struct fmt_layout *out)
{
    struct qcow2_plan *p = calloc (1, sizeof *p);
    int r;

    (void) src;
    if (p == NULL) {
        return set_error (ENOMEM, "out of memory planning a qcow2 image");
    }
    if ((r = qcow2_plan_build (p, map, o)) < 0) {
        qcow2_plan_free (p);
        return r;
    }
    if ((r = fmt_layout_own (out, p, qcow2_plan_free)) < 0) {
        return r;
    }
    r = qcow2_plan_outputs (out, p, map, o);
    if (r == 0) {
        r = qcow2_plan_blobs (out, p, o);
    }
    return r;
}
