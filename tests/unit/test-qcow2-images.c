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
    cr_assert_eq (json_parse (out, strlen (out), "qemu-img map", &v), 0, "%s",
                  vmshift_internal_error_msg ());
    n = json_array_len (v);
    cr_assert_gt (n, 0);
    for (size_t i = 0; i < n; i++) {
        const struct json_val *e = json_array_at (v, i);
        uint64_t start, off;
        bool data;

        cr_assert_eq (json_get_bool (e, "data", &data), 0);
        if (!data) {
            continue;
        }
        cr_assert_eq (json_get_u64 (e, "start", &start), 0);
        cr_assert_eq (json_get_u64 (e, "offset", &off), 0);
        cr_assert_eq (off, x + start, "range at %llu is at host %llu, "
                      "expected %llu", (unsigned long long) start,
                      (unsigned long long) off,
                      (unsigned long long) (x + start));
    }
    json_free (v);
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
    char *dir = qt_tmpdir ();
    char why[256], img[4096], src[4096];
    struct fmt_layout lay;
    struct fmt_source_info info;
    uint64_t meta;

    uint32_t c = q->cluster ? q->cluster : QCOW2_DEFAULT_CLUSTER;
    uint64_t vsize = (q->size + 511) / 512 * 512;

    need_qemu ();
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
                   "qemu-img measure %llu", (unsigned long long) lay.data_offset,
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
        { 256 * KiB, 256 * KiB }, { 1 * MiB, 512 * KiB }, { 3 * MiB + 768 * KiB, 256 * KiB },
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
    char *dir = qt_tmpdir ();
    char src[4096];
    struct fmt_layout lay;

    need_qemu ();
    plan_case (&q, dir, &lay, NULL);
    snprintf (src, sizeof src, "%s/src.raw", dir);
    cr_assert_eq (lay.data_offset, qemu_measure_meta (src, 65536, q.size));
    fmt_layout_release (&lay);
    qt_rmdir (dir);
    check_self_contained (&q);
}
