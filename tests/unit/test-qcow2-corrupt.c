/* Corrupt-input table for the qcow2 reader and validator: a small valid
 * image (written by our planner, 4 KiB clusters) is damaged in memory one
 * way at a time; read_map must fail (or succeed when the damage does not
 * change what the guest reads) with a specific message, the validator
 * must report a specific problem, and nothing may crash. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/endian.h"
#include "engine/base/error.h"
#include "formats/formats.h"
#include "formats/qcow2.h"
#include "helpers/qcow2test.h"
#include "helpers/testio.h"

#define C 4096u
#define SLACK (64 * 1024)

/* The pristine image and where its structures are. */
static uint8_t *base;
static size_t base_len;
static uint64_t l1_off, l2_off, rt_off, rb_off, data_off;

struct img {
    uint8_t *b;
    size_t len;
};

static void
make_base (void)
{
    static const struct qt_piece p[] = {
        { 0, 8192 }, { 64 * 1024, 4096 }, { 200 * 1024, 100 },
    };
    char *dir = qt_tmpdir ();
    char src[4096], img[4096];
    struct test_io *t;
    struct fmt_extent_list map;
    struct fmt_source_info info;
    struct fmt_layout lay;
    struct fmt_plan_opts o = {
        .cluster_size = C, .target_name = "base.qcow2", .clone_align = 4096,
    };

    cr_assert_not_null (dir);
    snprintf (src, sizeof src, "%s/src.raw", dir);
    snprintf (img, sizeof img, "%s/base.qcow2", dir);
    cr_assert_eq (qt_make_raw (src, 256 * 1024, p, 3, 3), 0);
    t = test_io_open (src);
    fmt_extents_init (&map);
    cr_assert_eq (raw_read_map (test_io_fmt (t), &map, &info), 0);
    fmt_layout_init (&lay);
    cr_assert_eq (fmt_plan (FMT_QCOW2, &info, &map, &o, &lay), 0);
    cr_assert_eq (test_exec_layout (&lay, t, dir), 0);
    base = qt_slurp (img, &base_len);
    cr_assert_not_null (base);
    fmt_layout_release (&lay);
    fmt_extents_release (&map);
    test_io_close (t);
    qt_rmdir (dir);
    l1_off = get_be64 (base + QCOW2_OFF_L1_OFFSET);
    rt_off = get_be64 (base + QCOW2_OFF_REFTABLE_OFFSET);
    rb_off = get_be64 (base + rt_off) & QCOW2_OFFSET_MASK;
    l2_off = get_be64 (base + l1_off) & QCOW2_OFFSET_MASK;
    data_off = get_be64 (base + l2_off) & QCOW2_OFFSET_MASK;
    cr_assert_eq (data_off % C, 0);
    cr_assert_gt (data_off, l2_off);
}

/* ------------------------------------------------------------- damage */

/* One-statement damage functions. */
#define DAMAGE(name, stmt)                      \
    static void                                 \
    name (struct img *m)                        \
    {                                           \
        stmt;                                   \
    }

static void
be32_at (struct img *m, uint64_t off, uint32_t v)
{
    put_be32 (m->b + off, v);
}

static void
be64_at (struct img *m, uint64_t off, uint64_t v)
{
    put_be64 (m->b + off, v);
}

DAMAGE (bad_magic, be32_at (m, 0, 0x12345678))
DAMAGE (version_4, be32_at (m, 4, 4))
DAMAGE (version_1, be32_at (m, 4, 1))
DAMAGE (cluster_bits_8, be32_at (m, 20, 8))
DAMAGE (cluster_bits_22, be32_at (m, 20, 22))
DAMAGE (l1_past_eof, be64_at (m, 40, (m->len / C + 4) * C))
DAMAGE (l1_too_small, be32_at (m, 36, 0))
DAMAGE (l1_misaligned, be64_at (m, 40, l1_off + 512))
DAMAGE (reftable_none, be32_at (m, 56, 0))
DAMAGE (header_length_100, be32_at (m, 100, 100))
DAMAGE (refcount_order_7, be32_at (m, 96, 7))
DAMAGE (crypt_aes, be32_at (m, 32, 1))
DAMAGE (dirty, be64_at (m, 72, 1))
DAMAGE (corrupt_bit, be64_at (m, 72, 2))
DAMAGE (unknown_bit5, be64_at (m, 72, 1u << 5))
DAMAGE (unknown_bit63, be64_at (m, 72, UINT64_C (1) << 63))
DAMAGE (raw_without_data_file, be64_at (m, 88, 2))
DAMAGE (data_file_unnamed, be64_at (m, 72, 4))
DAMAGE (ext_l2_small_clusters, be64_at (m, 72, 16))
DAMAGE (truncated_50, m->len = 50)
DAMAGE (truncated_in_l2, m->len = l2_off + 100)
DAMAGE (truncated_data, m->len = data_off + 4096)

static void
ext_too_large (struct img *m)
{
    be32_at (m, QCOW2_WRITE_HEADER_LEN + 4, 0x7fffffff);
}

static void
l2_misaligned (struct img *m)
{
    be64_at (m, l2_off, get_be64 (m->b + l2_off) + 512);
}

static void
l2_past_eof (struct img *m)
{
    be64_at (m, l2_off, ((m->len / C + 10) * C) | QCOW2_OFLAG_COPIED);
}

static void
l2_reserved_bits (struct img *m)
{
    be64_at (m, l2_off, get_be64 (m->b + l2_off) | (UINT64_C (1) << 57));
}

static void
l2_on_l1 (struct img *m)
{
    be64_at (m, l2_off, l1_off | QCOW2_OFLAG_COPIED);
}

static void
l1_points_at_refblock (struct img *m)
{
    be64_at (m, l1_off, rb_off | QCOW2_OFLAG_COPIED);
}

static void
l1_past_eof_entry (struct img *m)
{
    be64_at (m, l1_off, ((m->len / C + 3) * C) | QCOW2_OFLAG_COPIED);
}

/* Refcount of the first data cluster (16-bit entries) set to 0. */
static void
refcount_zero (struct img *m)
{
    put_be16 (m->b + rb_off + data_off / C * 2, 0);
}

static void
refcount_two (struct img *m)
{
    put_be16 (m->b + rb_off + data_off / C * 2, 2);
}

/* One more cluster at the end of the file with refcount 1, unused. */
static void
leak (struct img *m)
{
    uint64_t h = (m->len + C - 1) / C;

    memset (m->b + m->len, 0, C);
    m->len = (h + 1) * C;
    put_be16 (m->b + rb_off + h * 2, 1);
}

static void
copied_clear (struct img *m)
{
    be64_at (m, l2_off, get_be64 (m->b + l2_off) & ~QCOW2_OFLAG_COPIED);
}

static void
compressed_past_eof (struct img *m)
{
    be64_at (m, l2_off, QCOW2_OFLAG_COMPRESSED | (m->len + 1000));
}

static void
backing_file (struct img *m)
{
    be64_at (m, 8, 3000);
    be32_at (m, 16, 8);
    memcpy (m->b + 3000, "base.img", 8);
}

static void
snapshot_with_data_file (struct img *m)
{
    be32_at (m, 60, 1);
    be64_at (m, 64, l1_off);
    be64_at (m, 72, 4);
}

/* --------------------------------------------------------------- table */

struct corrupt_case {
    const char *name;
    void (*damage) (struct img *);
    int map_err;                /* 0: read_map must succeed */
    const char *map_msg;
    const char *val_msg;        /* a validator problem must contain it */
};

static const struct corrupt_case cases[] = {
    { "bad magic", bad_magic, EINVAL, "not a qcow2 image",
      "not a qcow2 image" },
    { "version 4", version_4, ENOTSUP, "unsupported qcow2 version 4",
      "unsupported qcow2 version 4" },
    { "version 1", version_1, ENOTSUP, "unsupported qcow2 version 1",
      "unsupported qcow2 version 1" },
    { "cluster_bits 8", cluster_bits_8, EINVAL,
      "cluster_bits 8 is out of range", "cluster_bits 8" },
    { "cluster_bits 22", cluster_bits_22, ENOTSUP, "cluster_bits 22",
      "cluster_bits 22" },
    { "L1 past EOF", l1_past_eof, EINVAL, "L1 table at offset",
      "past the end of the file" },
    { "L1 too small", l1_too_small, EINVAL, "L1 table (0 entries) is too small",
      "too small" },
    { "L1 misaligned", l1_misaligned, EINVAL, "L1 table offset",
      "not aligned" },
    { "no refcount table", reftable_none, EINVAL, "no refcount table",
      "no refcount table" },
    { "header_length 100", header_length_100, EINVAL, "header_length 100",
      "header_length 100" },
    { "refcount_order 7", refcount_order_7, EINVAL, "refcount_order 7",
      "refcount_order 7" },
    { "encrypted", crypt_aes, ENOTSUP, "encrypted images are unsupported",
      "encrypted images are unsupported (crypt_method 1, AES)" },
    { "dirty", dirty, EINVAL, "image is dirty", "needs repair" },
    { "corrupt bit", corrupt_bit, EINVAL, "marked corrupt", "marked corrupt" },
    { "unknown incompatible bit 5", unknown_bit5, ENOTSUP,
      "unsupported incompatible feature bit 5", "feature bit 5" },
    { "unknown incompatible bit 63", unknown_bit63, ENOTSUP,
      "unsupported incompatible feature bit 63", "feature bit 63" },
    { "raw data bit alone", raw_without_data_file, EINVAL,
      "raw external data bit", "without an external data file" },
    { "data file without name", data_file_unnamed, ENOTSUP,
      "does not record its name", NULL },
    { "extended L2 at 4 KiB", ext_l2_small_clusters, EINVAL,
      "extended L2 entries need clusters of at least 16 KiB", "16 KiB" },
    { "header extension too large", ext_too_large, EINVAL,
      "runs past the end of the header area", "runs past" },
    { "truncated to 50 bytes", truncated_50, EINVAL, "truncated",
      "truncated" },
    { "truncated in L2", truncated_in_l2, EINVAL, "past the end of the file",
      "past the end of the file" },
    { "truncated data", truncated_data, EINVAL, "past the end of the file",
      "past the end of the file" },
    { "L2 entry misaligned", l2_misaligned, EINVAL, "is not aligned",
      "is not aligned" },
    { "L2 entry past EOF", l2_past_eof, EINVAL, "past the end of the file",
      "past the end of the file" },
    { "L2 entry reserved bits", l2_reserved_bits, EINVAL,
      "reserved bits set", "reserved bits set" },
    { "data on the L1 table", l2_on_l1, EINVAL, "overlaps the L1 table",
      "overlaps a L1 table" },
    /* read as L2 entries, the refcounts point far past the end */
    { "L2 table on a refcount block", l1_points_at_refblock, EINVAL,
      "lies past the end of the file", "L2 table of L1 entry 0 at host "
      "offset 8192 overlaps a refcount block" },
    { "L2 table past EOF", l1_past_eof_entry, EINVAL, "L2 table at offset",
      "lies past the end of the file" },
    { "refcount 0 on a used cluster", refcount_zero, 0, NULL,
      "is in use but its refcount is 0" },
    { "refcount 2 on a cluster used once", refcount_two, 0, NULL,
      "has refcount 2 but 1 references (leak)" },
    { "leaked cluster", leak, 0, NULL, "leaked cluster" },
    { "COPIED bit clear", copied_clear, 0, NULL, "COPIED bit clear" },
    { "compressed past EOF", compressed_past_eof, EINVAL,
      "compressed cluster", "compressed cluster" },
    { "backing file", backing_file, ENOTSUP, "backing files are not supported",
      "unsupported backing file 'base.img'" },
    { "snapshots with a data file", snapshot_with_data_file, EINVAL,
      "internal snapshots", "internal snapshots" },
};

static bool
has_problem (const struct fmt_problems *p, const char *s)
{
    for (size_t i = 0; i < p->n; i++) {
        if (strstr (p->msg[i], s)) {
            return true;
        }
    }
    return false;
}

static void
run_case (const struct corrupt_case *k)
{
    struct img m = { malloc (base_len + SLACK), base_len };
    struct test_io *t;
    struct fmt_extent_list map;
    struct fmt_source_info info;
    struct fmt_problems probs;
    int r;

    memcpy (m.b, base, base_len);
    k->damage (&m);
    t = test_io_mem (m.b, m.len, "bad.qcow2");
    fmt_extents_init (&map);
    r = qcow2_read_map (test_io_fmt (t), &map, &info);
    if (k->map_err) {
        cr_expect_eq (r, -k->map_err, "%s: read_map returned %d (%s)",
                      k->name, r, vmshift_internal_error_msg ());
        cr_expect_not_null (strstr (vmshift_internal_error_msg (), k->map_msg),
                            "%s: read_map said '%s'", k->name,
                            vmshift_internal_error_msg ());
        cr_expect_not_null (strstr (vmshift_internal_error_msg (),
                                    "'bad.qcow2'"), "%s: no file name",
                            k->name);
    } else {
        cr_expect_eq (r, 0, "%s: read_map failed: %s", k->name,
                      vmshift_internal_error_msg ());
    }
    fmt_extents_release (&map);
    fmt_problems_init (&probs);
    r = qcow2_validate (test_io_fmt (t), &probs, &info);
    cr_expect_eq (r, 0, "%s: validator could not run: %s", k->name,
                  vmshift_internal_error_msg ());
    if (k->val_msg) {
        cr_expect (has_problem (&probs, k->val_msg), "%s: no problem with "
                   "'%s' (%zu problems, first '%s')", k->name, k->val_msg,
                   probs.n, probs.n ? probs.msg[0] : "");
    } else {
        cr_expect_gt (probs.n, 0, "%s: no problem reported", k->name);
    }
    fmt_problems_release (&probs);
    test_io_close (t);
    free (m.b);
}

Test (qcow2_corrupt, pristine_image_is_clean)
{
    struct test_io *t;
    struct fmt_problems probs;
    struct fmt_source_info info;
    struct fmt_extent_list map;

    make_base ();
    t = test_io_mem (base, base_len, "good.qcow2");
    fmt_problems_init (&probs);
    cr_assert_eq (qcow2_validate (test_io_fmt (t), &probs, &info), 0);
    cr_assert_eq (probs.n, 0, "%s", probs.n ? probs.msg[0] : "");
    fmt_extents_init (&map);
    cr_assert_eq (qcow2_read_map (test_io_fmt (t), &map, &info), 0);
    cr_assert_eq (fmt_extents_allocated (&map), 8192 + 4096 + 4096);
    fmt_extents_release (&map);
    fmt_problems_release (&probs);
    test_io_close (t);
    free (base);
}

Test (qcow2_corrupt, table)
{
    make_base ();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_case (&cases[i]);
    }
    free (base);
}

/* Truncation at every 512-byte boundary (and a few odd lengths): an error
 * or a clean read, never a crash. */
Test (qcow2_corrupt, every_truncation)
{
    make_base ();
    for (size_t len = 0; len < base_len; len += len < 4096 ? 61 : 512) {
        struct test_io *t = test_io_mem (base, len, "cut.qcow2");
        struct fmt_extent_list map;
        struct fmt_source_info info;
        struct fmt_problems probs;
        int r;

        fmt_extents_init (&map);
        r = qcow2_read_map (test_io_fmt (t), &map, &info);
        cr_expect (r == -EINVAL || (r == 0 && len >= data_off),
                   "length %zu: %d %s", len, r, vmshift_internal_error_msg ());
        fmt_extents_release (&map);
        fmt_problems_init (&probs);
        cr_expect_eq (qcow2_validate (test_io_fmt (t), &probs, &info), 0);
        cr_expect (r != -EINVAL || probs.n > 0, "length %zu: validator "
                   "found nothing", len);
        fmt_problems_release (&probs);
        test_io_close (t);
    }
    free (base);
}
