/* qcow2 planner output checked by independent readers: raw sparse sources
 * with random data and holes -> raw_read_map -> qcow2_plan ->
 * test_exec_layout, then qemu-img check / compare / map / info /
 * measure, qcowinfo, our validator and our read_map. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "engine/base/endian.h"
#include "engine/base/error.h"
#include "engine/base/json.h"
#include "formats/formats.h"
#include "formats/qcow2.h"
#include "helpers/qcow2test.h"
#include "helpers/testio.h"

#define KiB (UINT64_C (1) << 10)
#define MiB (UINT64_C (1) << 20)
#define GiB (UINT64_C (1) << 30)
#define TiB (UINT64_C (1) << 40)

struct qcase {
    uint64_t size;
    uint32_t cluster;
    const struct qt_piece *data;
    size_t ndata;
    bool data_file;
};

static void
need_qemu (void)
{
    if (!qt_have ("qemu-img")) {
        cr_skip_test ("qemu-img is not installed");
    }
}

/* qemu-img map --output=json: every data range must be at X + start. */
static void
check_qemu_map (const char *dir, const char *img, uint64_t x)
{
    static char out[1 << 20];
    struct json_val *v;
    size_t n;
    int st = qt_sh_out (out, sizeof out, "cd / && qemu-img map -f qcow2 "
                        "--output=json '%s/%s'", dir, img);

    cr_assert_eq (st, 0, "qemu-img map failed");
    cr_assert_eq (vs_json_parse (out, strlen (out), "qemu-img map", &v), 0, "%s",
                  vmshift_internal_error_msg ());
    n = vs_json_array_len (v);
    cr_assert_gt (n, 0);
    for (size_t i = 0; i < n; i++) {
        const struct json_val *e = vs_json_array_at (v, i);
        uint64_t start, off;
        bool data;

        cr_assert_eq (vs_json_get_bool (e, "data", &data), 0);
        if (!data) {
            continue;
        }
        cr_assert_eq (vs_json_get_u64 (e, "start", &start), 0);
        cr_assert_eq (vs_json_get_u64 (e, "offset", &off), 0);
        cr_assert_eq (off, x + start, "range at %llu is at host %llu, "
                      "expected %llu", (unsigned long long) start,
                      (unsigned long long) off,
                      (unsigned long long) (x + start));
    }
    vs_json_free (v);
}

static uint64_t
qemu_virtual_size (const char *path)
{
    char out[64];
    int st = qt_sh_out (out, sizeof out, "cd / && qemu-img info -f qcow2 "
                        "--output=json '%s' | jq '.\"virtual-size\"'", path);

    cr_assert_eq (st, 0);
    return strtoull (out, NULL, 10);
}

/* Metadata qemu-img measure counts for the source at this cluster size:
 * "fully allocated size" minus the cluster-rounded data. */
static uint64_t
qemu_measure_meta (const char *src, uint32_t cluster, uint64_t size)
{
    char out[256], *p;
    int st = qt_sh_out (out, sizeof out, "qemu-img measure -O qcow2 -o "
                        "cluster_size=%u -f raw '%s'", cluster, src);
    uint64_t full;

    cr_assert_eq (st, 0);
    p = strstr (out, "fully allocated size: ");
    cr_assert_not_null (p);
    full = strtoull (p + strlen ("fully allocated size: "), NULL, 10);
    return full - (size + cluster - 1) / cluster * cluster;
}

static void
plan_case (const struct qcase *q, const char *dir, struct fmt_layout *lay,
           const char *data_path)
{
    char src[4096];
    struct test_io *t;
    struct fmt_extent_list map;
    struct fmt_source_info info;
    struct fmt_plan_opts o = {
        .cluster_size = q->cluster, .target_name = "out.qcow2",
        .clone_align = 4096, .qcow2_data_file = q->data_file,
        .data_file_path = data_path, .data_file_name = "data.raw",
    };

    snprintf (src, sizeof src, "%s/src.raw", dir);
    cr_assert_eq (qt_make_raw (src, q->size, q->data, q->ndata, 7), 0);
    t = test_io_open (src);
    cr_assert_not_null (t);
    fmt_extents_init (&map);
    cr_assert_eq (raw_read_map (test_io_fmt (t), &map, &info), 0);
    fmt_layout_init (lay);
    cr_assert_eq (fmt_plan (FMT_QCOW2, &info, &map, &o, lay), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (test_exec_layout (lay, t, dir), 0, "%s",
                  vmshift_internal_error_msg ());
    fmt_extents_release (&map);
    test_io_close (t);
}

static void
check_self_contained (const struct qcase *q)
{
    char *dir, why[256], img[4096], src[4096];
    struct fmt_layout lay;
    struct fmt_source_info info;
    uint64_t meta;
    uint32_t c = q->cluster ? q->cluster : QCOW2_DEFAULT_CLUSTER;
    uint64_t vsize = (q->size + 511) / 512 * 512;

    need_qemu ();
    dir = qt_tmpdir ();
    cr_assert_not_null (dir);
    plan_case (q, dir, &lay, NULL);
    snprintf (img, sizeof img, "%s/out.qcow2", dir);
    snprintf (src, sizeof src, "%s/src.raw", dir);
    cr_assert_eq (lay.data_offset % c, 0);
    cr_assert_eq (test_sh ("qemu-img check -q -f qcow2 '%s'", img), 0,
                  "qemu-img check found problems (2 = corrupt, 3 = leaks)");
    cr_assert_eq (test_sh ("qemu-img compare -q -f qcow2 -F raw '%s' '%s'",
                           img, src), 0, "qemu-img compare: images differ");
    /* qemu counts disks in whole sectors: a raw source of any size is
     * rounded up, and so is the qcow2 we write. */
    cr_assert_eq (qemu_virtual_size (img), vsize);
    check_qemu_map (dir, "out.qcow2", lay.data_offset);
    if (qt_have ("qcowinfo")) {
        cr_assert_eq (test_sh ("qcowinfo '%s' >/dev/null 2>&1", img), 0,
                      "qcowinfo rejects the image");
    }
    cr_assert_eq (qt_validate (img, why, sizeof why), 0, "validator: %s", why);
    cr_assert_eq (qt_compare_image (img, src, why, sizeof why, &info, NULL), 0,
                  "read back: %s", why);
    cr_assert_eq (info.virtual_size, vsize);
    meta = qemu_measure_meta (src, c, q->size);
    cr_assert_leq (lay.data_offset * 100, meta * 105, "metadata %llu vs "
                   "qemu-img measure %llu",
                   (unsigned long long) lay.data_offset,
                   (unsigned long long) meta);
    cr_assert_leq (lay.meta_bytes, lay.data_offset);
    fmt_layout_release (&lay);
    qt_rmdir (dir);
}

Test (qcow2_images, one_sector_disk)
{
    static const struct qt_piece p[] = { { 0, 512 } };
    struct qcase q = { 512, 65536, p, 1, false };

    check_self_contained (&q);
}

Test (qcow2_images, size_not_cluster_multiple_64k)
{
    static const struct qt_piece p[] = {
        { 0, 4096 }, { 200 * KiB, 100 * KiB }, { 3 * MiB + 12288, 8192 },
        { 5 * MiB, 1000 * KiB + 123 },
    };
    struct qcase q = { 5 * MiB + 1000 * KiB + 123, 65536, p, 4, false };

    check_self_contained (&q);
}

Test (qcow2_images, exact_cluster_boundaries_256k)
{
    static const struct qt_piece p[] = {
        { 256 * KiB, 256 * KiB }, { 1 * MiB, 512 * KiB },
        { 3 * MiB + 768 * KiB, 256 * KiB },
    };
    struct qcase q = { 4 * MiB, 256 * 1024, p, 3, false };

    check_self_contained (&q);
}

Test (qcow2_images, default_2m_clusters)
{
    static const struct qt_piece p[] = {
        { 0, 64 * KiB }, { 5 * MiB, 3 * MiB }, { 15 * MiB, 1 * MiB - 4096 },
    };
    struct qcase q = { 16 * MiB - 4096, 0, p, 3, false };

    check_self_contained (&q);
}

Test (qcow2_images, all_hole)
{
    struct qcase q = { 100 * MiB, 65536, NULL, 0, false };

    check_self_contained (&q);
}

/* 4 KiB clusters: an L2 table maps 2 MiB and a refcount block covers
 * 8 MiB of file, so a 20 MiB disk needs many of both. */
Test (qcow2_images, many_l2_tables_and_refblocks_4k)
{
    static const struct qt_piece p[] = {
        { 0, 3 * MiB }, { 6 * MiB + 4096, 5 * MiB }, { 19 * MiB, 1 * MiB },
    };
    struct qcase q = { 20 * MiB, 4096, p, 3, false };

    check_self_contained (&q);
}

/* 64 KiB clusters: a refcount block covers 2 GiB of file, an L2 table
 * 512 MiB of disk; data near 5 GiB needs a second refcount block. */
Test (qcow2_images, sparse_5g_two_refblocks_64k)
{
    static const struct qt_piece p[] = {
        { 0, 1 * MiB }, { 700 * MiB, 64 * KiB }, { 5 * GiB - 3 * MiB, 2 * MiB },
    };
    struct qcase q = { 5 * GiB, 65536, p, 3, false };

    check_self_contained (&q);
}

Test (qcow2_images, fully_allocated_equals_measure)
{
    static const struct qt_piece p[] = { { 0, 6 * MiB } };
    struct qcase q = { 6 * MiB, 65536, p, 1, false };
    char *dir, src[4096];
    struct fmt_layout lay;

    need_qemu ();
    dir = qt_tmpdir ();
    plan_case (&q, dir, &lay, NULL);
    snprintf (src, sizeof src, "%s/src.raw", dir);
    cr_assert_eq (lay.data_offset, qemu_measure_meta (src, 65536, q.size));
    fmt_layout_release (&lay);
    qt_rmdir (dir);
    check_self_contained (&q);
}

/* ------------------------------------------------- external data file */

static void
check_data_file_relative (const struct qcase *q)
{
    char *dir = qt_tmpdir ();
    char why[256], img[4096], src[4096];
    struct fmt_layout lay;

    /* A relative name: our reader resolves it in the image's directory,
     * qemu 7.2 in its working directory. */
    plan_case (q, dir, &lay, "data.raw");
    snprintf (img, sizeof img, "%s/out.qcow2", dir);
    snprintf (src, sizeof src, "%s/src.raw", dir);
    cr_assert_eq (qt_compare_image (img, src, why, sizeof why, NULL, NULL), 0,
                  "read back: %s", why);
    cr_assert_eq (test_sh ("cd '%s' && qemu-img compare -q -f qcow2 -F raw "
                           "out.qcow2 src.raw", dir), 0);
    fmt_layout_release (&lay);
    qt_rmdir (dir);
}

Test (qcow2_images, data_file_mode)
{
    static const struct qt_piece p[] = {
        { 0, 100 * KiB }, { 3 * MiB, 1 * MiB }, { 10 * MiB, 1536 },
    };
    struct qcase q = { 10 * MiB + 1536, 65536, p, 3, true };
    char *dir, why[512], img[4096], src[4096], data[4096], out[4096];
    struct fmt_layout lay;
    struct test_io *t;
    struct fmt_extent_list map;
    struct fmt_source_info info;
    uint64_t n = q.size / 65536 + 1;

    need_qemu ();
    dir = qt_tmpdir ();
    snprintf (data, sizeof data, "%s/data.raw", dir);
    plan_case (&q, dir, &lay, data);
    snprintf (img, sizeof img, "%s/out.qcow2", dir);
    snprintf (src, sizeof src, "%s/src.raw", dir);
    cr_assert_eq (lay.nout, 2);
    cr_assert_eq (lay.out[1].role, FMT_OUT_DATA);
    cr_assert_str_eq (lay.out[1].name, "data.raw");
    cr_assert_eq (lay.out[1].file_size, q.size);
    cr_assert_eq (lay.data_offset, 0);
    /* M = header + reftable + refblock + L1 + one L2 per L1 entry */
    cr_assert_eq (lay.out[0].file_size, (1 + 1 + 1 + 1 + (n + 8191) / 8192)
                  * 65536);
    /* Run from another directory than the image's. */
    cr_assert_eq (test_sh ("cd / && qemu-img check -q -f qcow2 '%s'", img), 0);
    cr_assert_eq (test_sh ("cd / && qemu-img compare -q -f qcow2 -F raw '%s' "
                           "'%s'", img, src), 0);
    cr_assert_eq (qemu_virtual_size (img), q.size);
    check_qemu_map (dir, "out.qcow2", 0);
    cr_assert_eq (qt_sh_out (out, sizeof out, "qemu-img info -f qcow2 "
                             "--output=json '%s' | jq -r '.\"format-specific\""
                             ".data | .\"data-file\", .\"data-file-raw\"'",
                             img), 0);
    cr_assert_eq (strncmp (out, data, strlen (data)), 0, "%s", out);
    cr_assert_not_null (strstr (out, "true"));
    cr_assert_eq (qt_validate (img, why, sizeof why), 0, "validator: %s", why);
    /* An absolute data file path cannot go through the sandboxed io. */
    t = test_io_open (img);
    fmt_extents_init (&map);
    cr_assert_eq (qcow2_read_map (test_io_fmt (t), &map, &info), -ENOTSUP);
    cr_assert_not_null (strstr (vmshift_internal_error_msg (), "absolute"),
                        "%s", vmshift_internal_error_msg ());
    fmt_extents_release (&map);
    test_io_close (t);
    fmt_layout_release (&lay);
    qt_rmdir (dir);
    check_data_file_relative (&q);
}

/* ------------------------------------------- 64 TiB plans, streamed */

static long
rss_kib (void)
{
    struct rusage ru;

    getrusage (RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static const struct fmt_blob *
find_blob (const struct fmt_layout *lay, const char *what)
{
    for (size_t i = 0; i < lay->out[0].blobs.len; i++) {
        if (strcmp (lay->out[0].blobs.ptr[i].what, what) == 0) {
            return &lay->out[0].blobs.ptr[i];
        }
    }
    return NULL;
}

/* Stream a blob like the executor (1 MiB chunks, in order); fn sees
 * each 8- or 2-byte entry. */
static void
stream_blob (const struct fmt_blob *b, unsigned width,
             void (*fn) (void *, uint64_t, uint64_t), void *opaque)
{
    uint8_t *buf = malloc (FMT_GEN_CHUNK);

    cr_assert_not_null (buf);
    for (uint64_t off = 0; off < b->len; off += FMT_GEN_CHUNK) {
        size_t n = b->len - off < FMT_GEN_CHUNK ? b->len - off : FMT_GEN_CHUNK;

        cr_assert_eq (fmt_blob_read (b, off, buf, n), 0);
        for (size_t i = 0; fn && i + width <= n; i += width) {
            fn (opaque, (off + i) / width,
                width == 8 ? get_be64 (buf + i) : get_be16 (buf + i));
        }
    }
    free (buf);
}

struct count_ones {
    uint64_t ones, last_one;
};

static void
count_ones_fn (void *opaque, uint64_t idx, uint64_t v)
{
    struct count_ones *c = opaque;

    cr_assert (v == 0 || v == 1, "refcount %llu", (unsigned long long) v);
    if (v) {
        c->ones++;
        c->last_one = idx;
    }
}

static void
plan_64t (bool full, uint32_t cluster, struct fmt_layout *lay)
{
    struct fmt_extent_list map;
    struct fmt_source_info info = { .type = FMT_RAW };
    struct fmt_plan_opts o = {
        .cluster_size = cluster, .target_name = "big.qcow2",
        .clone_align = 4096,
    };
    struct fmt_extent e = {
        .guest_off = 0, .len = 64 * TiB, .kind = full ? FMT_EXT_DATA
                                                      : FMT_EXT_ZERO,
    };

    fmt_extents_init (&map);
    map.size = info.virtual_size = 64 * TiB;
    cr_assert_eq (fmt_extents_add (&map, &e), 0);
    fmt_layout_init (lay);
    cr_assert_eq (fmt_plan (FMT_QCOW2, &info, &map, &o, lay), 0, "%s",
                  vmshift_internal_error_msg ());
    fmt_extents_release (&map);
}

Test (qcow2_plan, thin_64t_is_tiny_and_streams)
{
    long before = rss_kib ();
    struct count_ones c = { 0, 0 };
    struct fmt_layout lay;
    const struct fmt_blob *b;

    plan_64t (false, 0, &lay);
    /* header, refcount table, one refcount block, L1 (128 entries) */
    cr_assert_eq (lay.data_offset, 4 * 2 * MiB);
    cr_assert_eq (lay.out[0].file_size, lay.data_offset);
    cr_assert_null (find_blob (&lay, "qcow2 L2 tables"));
    b = find_blob (&lay, "qcow2 L1 table");
    cr_assert_eq (b->len, 128 * 8);
    stream_blob (b, 8, NULL, NULL);
    b = find_blob (&lay, "qcow2 refcount blocks");
    cr_assert_eq (b->len, 2 * MiB);
    stream_blob (b, 2, count_ones_fn, &c);
    cr_assert_eq (c.ones, 4);
    cr_assert_eq (c.last_one, 3);
    cr_assert_lt (lay.meta_bytes, 3 * MiB);
    cr_assert_eq (lay.out[0].place.len, 0);
    fmt_layout_release (&lay);
    cr_assert_lt (rss_kib () - before, 8 * 1024, "planner used %ld KiB",
                  rss_kib () - before);
}

struct l2_expect {
    uint64_t x, c, n;
};

static void
l2_check_fn (void *opaque, uint64_t g, uint64_t v)
{
    struct l2_expect *e = opaque;
    uint64_t want = g < e->n ? (e->x + g * e->c) | QCOW2_OFLAG_COPIED : 0;

    if (v != want) {
        cr_assert_eq (v, want, "L2 entry %llu", (unsigned long long) g);
    }
}

Test (qcow2_plan, full_64t_2m_streams_256m_of_l2)
{
    long before = rss_kib ();
    struct fmt_layout lay;
    const struct fmt_blob *b;
    struct count_ones c = { 0, 0 };
    uint64_t n = 64 * TiB / (2 * MiB);
    struct l2_expect e;

    plan_64t (true, 0, &lay);
    /* qemu-img measure -O qcow2 -o cluster_size=2M --size 64T */
    cr_assert_eq (lay.data_offset, UINT64_C (343932928));
    cr_assert_eq (lay.out[0].file_size, lay.data_offset + 64 * TiB);
    b = find_blob (&lay, "qcow2 L2 tables");
    cr_assert_eq (b->len, 128 * 2 * MiB);
    e.x = lay.data_offset;
    e.c = 2 * MiB;
    e.n = n;
    stream_blob (b, 8, l2_check_fn, &e);
    b = find_blob (&lay, "qcow2 refcount blocks");
    stream_blob (b, 2, count_ones_fn, &c);
    cr_assert_eq (c.ones, lay.data_offset / (2 * MiB) + n);
    cr_assert_eq (lay.out[0].place.len, 1);
    cr_assert_eq (lay.out[0].place.ptr[0].kind, FMT_PLACE_CLONE);
    cr_assert_eq (lay.out[0].place.ptr[0].dst_off, lay.data_offset);
    fmt_layout_release (&lay);
    cr_assert_lt (rss_kib () - before, 16 * 1024, "planner used %ld KiB",
                  rss_kib () - before);
}

/* Metadata sizes against qemu-img measure --size for 1 TiB / 64 TiB,
 * thin and full, 64 KiB and 2 MiB clusters.  measure always counts L2
 * tables for the whole disk; a thin image of ours has none. */
static uint64_t
measure_size (uint64_t size, uint32_t cluster)
{
    char out[256], *p;

    cr_assert_eq (qt_sh_out (out, sizeof out, "qemu-img measure -O qcow2 -o "
                             "cluster_size=%u --size %llu", cluster,
                             (unsigned long long) size), 0);
    p = strstr (out, "required size: ");
    cr_assert_not_null (p);
    return strtoull (p + strlen ("required size: "), NULL, 10);
}

Test (qcow2_plan, metadata_vs_qemu_measure)
{
    static const uint64_t sizes[] = { 1 * TiB, 64 * TiB };
    static const uint32_t clusters[] = { 65536, 2 << 20 };

    need_qemu ();
    for (size_t i = 0; i < 2; i++) {
        for (size_t j = 0; j < 2; j++) {
            uint64_t want = measure_size (sizes[i], clusters[j]);
            struct fmt_extent_list map;
            struct fmt_source_info info = { .type = FMT_RAW };
            struct fmt_plan_opts o = {
                .cluster_size = clusters[j], .target_name = "m.qcow2",
                .clone_align = 4096,
            };

            for (int full = 0; full < 2; full++) {
                struct fmt_extent e = {
                    .len = sizes[i], .kind = full ? FMT_EXT_DATA : FMT_EXT_ZERO,
                };
                struct fmt_layout lay;

                fmt_extents_init (&map);
                map.size = sizes[i];
                cr_assert_eq (fmt_extents_add (&map, &e), 0);
                fmt_layout_init (&lay);
                cr_assert_eq (fmt_plan (FMT_QCOW2, &info, &map, &o, &lay), 0);
                cr_log_info ("qcow2 %llu TiB %s, %u-byte clusters: metadata "
                             "%llu B (written %llu B), qemu-img measure %llu B",
                             (unsigned long long) (sizes[i] / TiB),
                             full ? "full" : "thin", clusters[j],
                             (unsigned long long) lay.data_offset,
                             (unsigned long long) lay.meta_bytes,
                             (unsigned long long) want);
                if (full) {
                    cr_assert_eq (lay.data_offset, want);
                } else {
                    cr_assert_leq (lay.data_offset, want);
                }
                fmt_layout_release (&lay);
                fmt_extents_release (&map);
            }
        }
    }
}

/* Every other 4 KiB cluster around a refcount block boundary (a block
 * covers 8 MiB of file at 4 KiB clusters) and an L2 boundary (2 MiB). */
Test (qcow2_images, fragmented_4k)
{
    static struct qt_piece p[400];
    struct qcase q = { 24 * MiB, 4096, p, 0, false };

    for (size_t i = 0; i < 200; i++) {
        p[q.ndata++] = (struct qt_piece) { 7 * MiB + i * 8192, 4096 };
    }
    for (size_t i = 0; i < 150; i++) {
        p[q.ndata++] = (struct qt_piece) { 16 * MiB - 300 * KiB + i * 12288
                                           + 512, 1024 };
    }
    check_self_contained (&q);
}
