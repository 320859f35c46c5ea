/* VHDX planner and reader against independent readers.
 *
 * Sparse raw sources (random data and holes) -> vhdx_plan -> reference
 * executor, then: qemu-img check and compare (plus a virtual-size check,
 * since compare is lenient about sizes), vhdiinfo's media size and disk
 * type, the BAT states read straight from the file against the source's
 * holes, our own validator (no problems) and read_map (same guest bytes).
 * Also the corpus VHDX files (Windows and qemu written) and fresh
 * qemu-img created files read back byte-equal through read_map.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/base/endian.h"
#include "engine/base/error.h"
#include "engine/base/json.h"
#include "formats/vhdx.h"
#include "helpers/testio.h"
#include "helpers/vhdxtest.h"

#define MiB (UINT64_C (1) << 20)
#define GiB (UINT64_C (1) << 30)
#define TiB (UINT64_C (1) << 40)

/* One scratch directory per test, removed by the suites' fini even when
 * an assertion fails (after unmounting a FUSE mount left behind). */
static char *tdir;

static const char *
work (void)
{
    if (tdir == NULL) {
        tdir = vt_tmpdir ();
        cr_assert_not_null (tdir);
    }
    return tdir;
}

static void
cleanup (void)
{
    if (tdir) {
        (void) test_sh ("umount '%s/mnt' 2>/dev/null", tdir);
        vt_rmdir (tdir);
        tdir = NULL;
    }
}

/* Criterion runs no fini for a skipped test: clean up first. */
#define SKIP(...) \
    do { \
        cleanup (); \
        cr_skip_test (__VA_ARGS__); \
    } while (0)

TestSuite (vhdx_images, .fini = cleanup);
TestSuite (vhdx_vhdimount, .fini = cleanup);
TestSuite (vhdx_corpus, .fini = cleanup);
TestSuite (vhdx_qemu, .fini = cleanup);

static void
need_tool (const char *t)
{
    if (test_sh ("command -v %s >/dev/null 2>&1", t) != 0) {
        SKIP ("%s is not installed", t);
    }
}

static uint64_t
qemu_virtual_size (const char *dir, const char *img)
{
    char out[4096];
    struct json_val *v = NULL;
    uint64_t vs = 0;
    uint8_t *buf;
    size_t len;

    snprintf (out, sizeof out, "%s/info.json", dir);
    cr_assert_eq (test_sh ("qemu-img info -f vhdx --output=json '%s' > '%s'",
                           img, out), 0);
    buf = vt_slurp (out, &len);
    cr_assert_not_null (buf);
    cr_assert_eq (vs_json_parse ((const char *) buf, len, "qemu-img info", &v),
                  0, "%s", vmshift_internal_error_msg ());
    cr_assert_eq (vs_json_get_u64 (v, "virtual-size", &vs), 0);
    vs_json_free (v);
    free (buf);
    return vs;
}

/* The BAT as written, read straight from the file, against the holes of
 * the source: all-hole blocks ZERO (dynamic), others FULLY_PRESENT at
 * X + i * BS; sector bitmap entries 0. */
static void
check_bat_states (const char *vhdx, struct test_io *raw,
                  const struct fmt_extent_list *rmap, uint32_t bs, bool fixed,
                  uint64_t x)
{
    struct test_io *t = test_io_open (vhdx);
    struct vhdx_geom g;
    size_t hint = 0;

    cr_assert_not_null (t);
    cr_assert_eq (vhdx_geom_init (&g, rmap->size, bs, 512), 0);
    for (uint64_t idx = 0; idx < g.entries; idx++) {
        uint8_t e8[8];
        uint64_t e, blk;

        cr_assert_eq (fmt_io_pread (test_io_fmt (t), 0, e8, 8,
                                    3 * MiB + idx * 8), 0);
        e = get_le64 (e8);
        if (vhdx_index_is_sb (&g, idx)) {
            cr_assert_eq (e, 0, "SB entry %llu is %llx",
                          (unsigned long long) idx, (unsigned long long) e);
            continue;
        }
        blk = vhdx_index_block (&g, idx);
        if (blk >= g.nblocks) {
            cr_assert_eq (e, 0);
        } else if (!fixed &&
                   fmt_extents_is_zero (rmap, blk * bs,
                                        vhdx_geom_block_bytes (&g, blk),
                                        &hint)) {
            cr_assert_eq (e, VHDX_BAT_ZERO, "block %llu",
                          (unsigned long long) blk);
        } else {
            cr_assert_eq (e, (x + blk * bs) | VHDX_BAT_FULLY_PRESENT,
                          "block %llu entry %llx", (unsigned long long) blk,
                          (unsigned long long) e);
        }
    }
    (void) raw;
    test_io_close (t);
}

static void
check_own_reader (const char *vhdx, struct test_io *raw,
                  const struct fmt_extent_list *rmap,
                  const struct fmt_plan_opts *o, uint32_t bs)
{
    struct test_io *t = test_io_open (vhdx);
    struct fmt_problems probs;
    struct fmt_source_info info = { 0 };
    struct fmt_extent_list m;

    cr_assert_not_null (t);
    fmt_problems_init (&probs);
    cr_assert_eq (vhdx_validate (test_io_fmt (t), &probs, &info), 0);
    cr_assert_eq (probs.n, 0, "validator: %s", probs.n ? probs.msg[0] : "");
    fmt_problems_release (&probs);
    fmt_extents_init (&m);
    memset (&info, 0, sizeof info);
    cr_assert_eq (vhdx_read_map (test_io_fmt (t), &m, &info), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (m.size, rmap->size);
    cr_assert_eq (info.virtual_size, rmap->size);
    cr_assert_eq (info.block_size, bs);
    cr_assert_str_eq (info.subformat, o->vhdx_fixed ? "fixed" : "dynamic");
    cr_assert (info.has_disk_id);
    cr_assert_arr_eq (info.disk_id, o->disk_id, 16);
    cr_assert_eq (vt_compare (t, &m, raw, rmap), 0, "guest data differs");
    fmt_extents_release (&m);
    test_io_close (t);
}

static void
run_case (uint64_t size, uint32_t bs, bool fixed, const struct vt_seg *segs,
          size_t nsegs)
{
    const char *dir = work ();
    char raw[4096], vhdx[4096];
    struct fmt_plan_opts o;
    struct test_io *rt;
    struct fmt_extent_list rmap;
    struct fmt_source_info rinfo = { 0 };
    uint64_t meta = 0, x = 0, n, ebs = bs ? bs : 32 * MiB;
    struct stat st;

    need_tool ("qemu-img");
    need_tool ("vhdiinfo");
    snprintf (raw, sizeof raw, "%s/src.raw", dir);
    snprintf (vhdx, sizeof vhdx, "%s/out.vhdx", dir);
    cr_assert_eq (vt_make_raw (raw, size, segs, nsegs, 7), 0);
    vt_opts (&o, "out.vhdx", bs, fixed);
    cr_assert_eq (vt_convert (raw, dir, &o, &meta, &x), 0, "%s",
                  vmshift_internal_error_msg ());
    n = (size + ebs - 1) / ebs;
    cr_assert_eq (stat (vhdx, &st), 0);
    cr_assert_eq ((uint64_t) st.st_size, x + n * ebs);
    cr_assert_eq (test_sh ("qemu-img check -q -f vhdx '%s'", vhdx), 0);
    cr_assert_eq (test_sh ("qemu-img compare -q -f vhdx -F raw '%s' '%s'",
                           vhdx, raw), 0);
    cr_assert_eq (qemu_virtual_size (dir, vhdx), size);
    cr_assert_eq (test_sh ("vhdiinfo '%s' | grep -q 'Media size.*(%llu "
                           "bytes)'", vhdx, (unsigned long long) size), 0);
    cr_assert_eq (test_sh ("vhdiinfo '%s' | grep -q 'Disk type.*: %s'",
                           vhdx, fixed ? "Fixed" : "Dynamic"), 0);
    rt = test_io_open (raw);
    fmt_extents_init (&rmap);
    cr_assert_eq (raw_read_map (test_io_fmt (rt), &rmap, &rinfo), 0);
    check_bat_states (vhdx, rt, &rmap, (uint32_t) ebs, fixed, x);
    check_own_reader (vhdx, rt, &rmap, &o, (uint32_t) ebs);
    fmt_extents_release (&rmap);
    test_io_close (rt);
}

Test (vhdx_images, size_not_block_multiple_dynamic)
{
    const struct vt_seg s[] = {
        { 0, 65536 }, { 33 * MiB + 100, 5000 }, { 100 * MiB, 1536 },
    };

    /* block 2 (64..96 MiB) is all hole: ZERO; the last block is partial */
    run_case (100 * MiB + 1536, 0, false, s, 3);
}

Test (vhdx_images, exactly_one_sector)
{
    const struct vt_seg s[] = { { 0, 512 } };

    run_case (512, 0, false, s, 1);
}

Test (vhdx_images, one_sector_fixed)
{
    const struct vt_seg s[] = { { 0, 512 } };

    run_case (512, 0, true, s, 1);
}

Test (vhdx_images, exact_block_boundaries)
{
    const struct vt_seg s[] = {
        { 32 * MiB - 4096, 8192 }, { 64 * MiB - 512, 512 },
    };

    run_case (64 * MiB, 32 * MiB, false, s, 2);
}

static const struct vt_seg bs_segs[] = {
    { 0, MiB }, { 255 * MiB, 2 * MiB }, { 512 * MiB + 7, 100000 },
    { 600 * MiB, 1536 },
};

Test (vhdx_images, block_1m_dynamic)
{
    run_case (600 * MiB + 1536, 1 * MiB, false, bs_segs, 4);
}

Test (vhdx_images, block_2m_dynamic)
{
    run_case (600 * MiB + 1536, 2 * MiB, false, bs_segs, 4);
}

Test (vhdx_images, block_2m_fixed)
{
    run_case (600 * MiB + 1536, 2 * MiB, true, bs_segs, 4);
}

Test (vhdx_images, block_32m_fixed)
{
    run_case (600 * MiB + 1536, 32 * MiB, true, bs_segs, 4);
}

Test (vhdx_images, block_256m_dynamic)
{
    run_case (600 * MiB + 1536, 256 * MiB, false, bs_segs, 4);
}

Test (vhdx_images, block_256m_fixed)
{
    run_case (600 * MiB + 1536, 256 * MiB, true, bs_segs, 4);
}

Test (vhdx_images, all_hole_dynamic)
{
    run_case (GiB, 0, false, NULL, 0);
}

Test (vhdx_images, all_hole_fixed)
{
    run_case (GiB, 0, true, NULL, 0);
}

/* 5 GiB at 1 MiB blocks: 5120 blocks, chunk ratio 4096, so the sector
 * bitmap entry of chunk 0 sits at BAT index 4096 and block 4101 at index
 * 4102. */
Test (vhdx_images, sector_bitmap_interleave_5g_1m)
{
    const struct vt_seg s[] = {
        { 0, MiB }, { 4095 * MiB + 12345, 4096 }, { 4101 * MiB, 3 * MiB },
        { 5 * GiB - 4096, 4096 },
    };

    run_case (5 * GiB, MiB, false, s, 4);
}

static uint64_t
bat_at (struct test_io *t, uint64_t idx)
{
    uint8_t e8[8];

    cr_assert_eq (fmt_io_pread (test_io_fmt (t), 0, e8, 8, 3 * MiB + idx * 8),
                  0);
    return get_le64 (e8);
}

/* The BAT index mapping as written on disk: after 4096 payload entries
 * comes the sector bitmap entry, so block 4101's entry is at index 4102. */
Test (vhdx_images, interleave_index_on_disk)
{
    const char *dir = work ();
    char raw[4096], vhdx[4096];
    const struct vt_seg s[] = { { 4101 * MiB, MiB } };
    struct fmt_plan_opts o;
    struct test_io *t;
    uint64_t x = 0;

    snprintf (raw, sizeof raw, "%s/src.raw", dir);
    snprintf (vhdx, sizeof vhdx, "%s/out.vhdx", dir);
    cr_assert_eq (vt_make_raw (raw, 5 * GiB, s, 1, 3), 0);
    vt_opts (&o, "out.vhdx", MiB, false);
    cr_assert_eq (vt_convert (raw, dir, &o, NULL, &x), 0);
    cr_assert_eq (x, 3 * MiB + MiB);    /* 5125 entries fit in 1 MiB */
    t = test_io_open (vhdx);
    cr_assert_eq (bat_at (t, 4102), (x + 4101 * MiB) | 6);
    cr_assert_eq (bat_at (t, 4101), 2);         /* block 4100: ZERO */
    cr_assert_eq (bat_at (t, 4096), 0);         /* sector bitmap, chunk 0 */
    test_io_close (t);
}

/* ---------------------------------------------------- 64 TiB, plan only */

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

/* Stream the BAT blob in executor-sized chunks; count entry kinds. */
static void
stream_bat (const struct fmt_blob *b, const struct vhdx_geom *g,
            uint64_t *zero, uint64_t *present, uint64_t *sb)
{
    uint8_t *buf = malloc (FMT_GEN_CHUNK);

    cr_assert_not_null (buf);
    *zero = *present = *sb = 0;
    for (uint64_t off = 0; off < b->len; off += FMT_GEN_CHUNK) {
        size_t n = b->len - off < FMT_GEN_CHUNK ? b->len - off : FMT_GEN_CHUNK;

        cr_assert_eq (fmt_blob_read (b, off, buf, n), 0);
        for (size_t k = 0; k < n; k += 8) {
            uint64_t idx = (off + k) / 8, e = get_le64 (buf + k);

            if (vhdx_index_is_sb (g, idx)) {
                cr_assert_eq (e, 0);
                *sb += 1;
            } else if (vhdx_index_block (g, idx) >= g->nblocks) {
                cr_assert_eq (e, 0);
            } else if (e == VHDX_BAT_ZERO) {
                *zero += 1;
            } else {
                cr_assert_eq (vhdx_bat_state (e), VHDX_BAT_FULLY_PRESENT);
                *present += 1;
            }
        }
    }
    free (buf);
}

static void
plan_64t (uint32_t bs, uint64_t want_x, const struct fmt_extent_list *map,
          uint64_t want_present)
{
    struct fmt_plan_opts o;
    struct fmt_layout lay;
    struct fmt_source_info info = { .virtual_size = 64 * TiB };
    struct vhdx_geom g;
    const struct fmt_blob *bat;
    uint64_t zero, present, sb, small = 0;

    vt_opts (&o, "big.vhdx", bs, false);
    fmt_layout_init (&lay);
    cr_assert_eq (fmt_plan (FMT_VHDX, &info, map, &o, &lay), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (vhdx_geom_init (&g, 64 * TiB, bs, 512), 0);
    cr_assert_eq (lay.data_offset, want_x);
    cr_assert_eq (lay.out[0].file_size, want_x + 64 * TiB);
    bat = find_blob (&lay, "vhdx BAT");
    cr_assert_not_null (bat);
    /* Streamed, never held: a generator, not a buffer. */
    cr_assert_null (bat->data);
    cr_assert_not_null (bat->gen);
    cr_assert_eq (bat->off, 3 * MiB);
    cr_assert_eq (bat->len, (g.entries * 8 + 4095) / 4096 * 4096);
    cr_assert_leq (bat->len, want_x - 3 * MiB);
    for (size_t i = 0; i < lay.out[0].blobs.len; i++) {
        const struct fmt_blob *b = &lay.out[0].blobs.ptr[i];

        if (b->data) {
            cr_assert_leq (b->len, 4096, "blob '%s' holds %llu bytes", b->what,
                           (unsigned long long) b->len);
            small += b->len;
        }
    }
    cr_assert_leq (small, 64 * 1024);
    cr_assert_eq (lay.meta_bytes, bat->len + small);
    cr_assert_leq (lay.meta_bytes, (want_x - 3 * MiB) + 512 * 1024);
    stream_bat (bat, &g, &zero, &present, &sb);
    cr_assert_eq (zero + present, g.nblocks);
    cr_assert_eq (present, want_present);
    cr_assert_eq (sb, g.nchunks);
    cr_log_info ("64 TiB at %u MiB blocks: X = %llu MiB, meta_bytes = %llu, "
                 "BAT blob %llu bytes", bs >> 20,
                 (unsigned long long) (want_x >> 20),
                 (unsigned long long) lay.meta_bytes,
                 (unsigned long long) bat->len);
    fmt_layout_release (&lay);
}

Test (vhdx_plan, all_hole_64t_32m)
{
    struct fmt_extent_list m;

    fmt_extents_init (&m);
    m.size = 64 * TiB;
    cr_assert_eq (fmt_extents_add_zero (&m, 0, m.size), 0);
    plan_64t (32 * MiB, 20 * MiB, &m, 0);   /* X_min table B.7 */
    fmt_extents_release (&m);
}

Test (vhdx_plan, all_hole_64t_1m)
{
    struct fmt_extent_list m;

    fmt_extents_init (&m);
    m.size = 64 * TiB;
    cr_assert_eq (fmt_extents_add_zero (&m, 0, m.size), 0);
    plan_64t (MiB, 516 * MiB, &m, 0);
    fmt_extents_release (&m);
}

/* Data at the start, across a chunk boundary and in the last block of a
 * 64 TiB disk: exactly those blocks are present, placed at X + offset. */
Test (vhdx_plan, sparse_64t_placements)
{
    struct fmt_extent_list m;
    struct fmt_plan_opts o;
    struct fmt_layout lay;
    const uint64_t a = 128 * 32 * MiB - 4096;      /* end of chunk 0 */

    fmt_extents_init (&m);
    m.size = 64 * TiB;
    cr_assert_eq (fmt_extents_add_data (&m, 0, 4096, 0, 0), 0);
    cr_assert_eq (fmt_extents_add_zero (&m, 4096, a - 4096), 0);
    cr_assert_eq (fmt_extents_add_data (&m, a, 8192, 0, 4096), 0);
    cr_assert_eq (fmt_extents_add_zero (&m, a + 8192,
                                        64 * TiB - 512 - a - 8192), 0);
    cr_assert_eq (fmt_extents_add_data (&m, 64 * TiB - 512, 512, 0, 12288), 0);
    plan_64t (32 * MiB, 20 * MiB, &m, 4);
    vt_opts (&o, "big.vhdx", 0, false);
    fmt_layout_init (&lay);
    cr_assert_eq (fmt_plan (FMT_VHDX, NULL, &m, &o, &lay), 0);
    cr_assert_eq (lay.out[0].place.len, 3);
    cr_assert_eq (lay.out[0].place.ptr[0].dst_off, 20 * MiB);
    cr_assert_eq (lay.out[0].place.ptr[0].kind, FMT_PLACE_CLONE);
    cr_assert_eq (lay.out[0].place.ptr[1].dst_off, 20 * MiB + a);
    cr_assert_eq (lay.out[0].place.ptr[2].dst_off, 20 * MiB + 64 * TiB - 512);
    cr_assert_eq (lay.out[0].place.ptr[2].kind, FMT_PLACE_COPY);
    fmt_layout_release (&lay);
    fmt_extents_release (&m);
}

Test (vhdx_plan, thin_1t_32m_meta_bytes)
{
    struct fmt_extent_list m;
    struct fmt_plan_opts o;
    struct fmt_layout lay;

    fmt_extents_init (&m);
    m.size = TiB;
    cr_assert_eq (fmt_extents_add_zero (&m, 0, m.size), 0);
    vt_opts (&o, "t.vhdx", 0, false);
    fmt_layout_init (&lay);
    cr_assert_eq (fmt_plan (FMT_VHDX, NULL, &m, &o, &lay), 0);
    cr_assert_eq (lay.data_offset, 4 * MiB);
    /* 32768 blocks + 256 sector bitmap entries = 264192 BAT bytes,
     * written as 266240 (4 KiB multiple) */
    cr_assert_eq (find_blob (&lay, "vhdx BAT")->len, 266240);
    cr_assert_leq (lay.meta_bytes, MiB + 512 * 1024);
    cr_log_info ("1 TiB at 32 MiB blocks: meta_bytes = %llu (BAT region 1 MiB)",
                 (unsigned long long) lay.meta_bytes);
    fmt_layout_release (&lay);
    fmt_extents_release (&m);
}

Test (vhdx_plan, rejects_bad_inputs)
{
    struct fmt_extent_list m;
    struct fmt_plan_opts o;
    struct fmt_layout lay;
    static const uint32_t bad_bs[] = { 512 * 1024, 3 * 1024 * 1024,
                                       512u * 1024 * 1024, 1 };

    fmt_extents_init (&m);
    m.size = 1000;
    cr_assert_eq (fmt_extents_add_zero (&m, 0, m.size), 0);
    vt_opts (&o, "t.vhdx", 0, false);
    fmt_layout_init (&lay);
    cr_assert_eq (vhdx_plan (NULL, &m, &o, &lay), -EINVAL);
    cr_assert (strstr (vmshift_internal_error_msg (), "multiple of 512"));
    fmt_layout_release (&lay);
    fmt_extents_release (&m);

    m.size = 64 * TiB + 512;
    cr_assert_eq (fmt_extents_add_zero (&m, 0, m.size), 0);
    cr_assert_eq (vhdx_plan (NULL, &m, &o, &lay), -EFBIG);
    cr_assert (strstr (vmshift_internal_error_msg (), "64 TiB"));
    fmt_layout_release (&lay);
    fmt_extents_release (&m);

    m.size = GiB;
    cr_assert_eq (fmt_extents_add_zero (&m, 0, m.size), 0);
    for (size_t i = 0; i < sizeof bad_bs / sizeof bad_bs[0]; i++) {
        o.block_size = bad_bs[i];
        cr_assert_eq (vhdx_plan (NULL, &m, &o, &lay), -EINVAL);
        cr_assert (strstr (vmshift_internal_error_msg (), "block size"));
        fmt_layout_release (&lay);
    }
    o.block_size = 0;
    o.creator = "bad \xff utf-8";
    cr_assert_eq (vhdx_plan (NULL, &m, &o, &lay), -EINVAL);
    fmt_layout_release (&lay);
    fmt_extents_release (&m);

    m.size = 0;
    cr_assert_eq (vhdx_plan (NULL, &m, &o, &lay), -EINVAL);
    fmt_layout_release (&lay);
}

/* ------------------------------------------------------------ vhdimount */

static void
check_vhdimount (uint64_t size, uint32_t bs, bool fixed,
                 const struct vt_seg *segs, size_t n)
{
    const char *dir = work ();
    struct fmt_plan_opts o;
    int rc;

    need_tool ("vhdimount");
    if (access ("/dev/fuse", R_OK | W_OK) != 0) {
        SKIP ("FUSE unavailable: no usable /dev/fuse");
    }
    cr_assert_eq (test_sh ("mkdir '%s/mnt'", dir), 0);
    {
        char raw[4096];

        snprintf (raw, sizeof raw, "%s/src.raw", dir);
        cr_assert_eq (vt_make_raw (raw, size, segs, n, 11), 0);
        vt_opts (&o, "out.vhdx", bs, fixed);
        cr_assert_eq (vt_convert (raw, dir, &o, NULL, NULL), 0);
    }
    if (test_sh ("vhdimount '%s/out.vhdx' '%s/mnt' >/dev/null 2>&1", dir,
                 dir) != 0 ||
        test_sh ("test -e '%s/mnt/vhdi1'", dir) != 0) {
        (void) test_sh ("umount '%s/mnt' 2>/dev/null", dir);
        SKIP ("FUSE unavailable: vhdimount could not mount");
    }
    rc = test_sh ("cmp '%s/mnt/vhdi1' '%s/src.raw'", dir, dir);
    cr_assert_eq (test_sh ("umount '%s/mnt'", dir), 0);
    cr_assert_eq (rc, 0, "vhdimount content differs from the source");
}

Test (vhdx_vhdimount, dynamic_partial_last_block)
{
    const struct vt_seg s[] = {
        { 0, 65536 }, { 33 * MiB + 100, 5000 }, { 100 * MiB, 1536 },
    };

    check_vhdimount (100 * MiB + 1536, 0, false, s, 3);
}

Test (vhdx_vhdimount, fixed_2m)
{
    const struct vt_seg s[] = { { MiB - 512, 4096 }, { 9 * MiB, 3 * MiB } };

    check_vhdimount (13 * MiB + 512, 2 * MiB, true, s, 2);
}

/* ------------------------------------------------ corpus, qemu-created */

/* read_map of img must equal the raw file ref (both read in place). */
static void
check_equal_raw (const char *img, const char *ref)
{
    struct test_io *a = test_io_open (img), *b = test_io_open (ref);
    struct fmt_extent_list ma, mb;
    struct fmt_source_info ia = { 0 }, ib = { 0 };
    struct fmt_problems probs;

    cr_assert_not_null (a);
    cr_assert_not_null (b);
    fmt_problems_init (&probs);
    cr_assert_eq (vhdx_validate (test_io_fmt (a), &probs, &ia), 0);
    cr_assert_eq (probs.n, 0, "%s: %s", img, probs.n ? probs.msg[0] : "");
    fmt_problems_release (&probs);
    fmt_extents_init (&ma);
    fmt_extents_init (&mb);
    memset (&ia, 0, sizeof ia);
    cr_assert_eq (fmt_read_map (test_io_fmt (a), FMT_UNKNOWN, &ma, &ia), 0,
                  "%s", vmshift_internal_error_msg ());
    cr_assert_eq (ia.type, FMT_VHDX);
    cr_assert_eq (raw_read_map (test_io_fmt (b), &mb, &ib), 0);
    cr_assert_eq (vt_compare (a, &ma, b, &mb), 0, "%s differs from %s", img,
                  ref);
    fmt_extents_release (&ma);
    fmt_extents_release (&mb);
    test_io_close (a);
    test_io_close (b);
}

static char *
corpus_unxz (const char *name, char *out, size_t outlen)
{
    const char *c = test_corpus_dir ();

    if (c == NULL) {
        SKIP ("corpus not found (set VMSHIFT_CORPUS)");
    }
    snprintf (out, outlen, "%s/%s", work (), name);
    cr_assert_eq (test_sh ("xz -dc '%s/images/dfvfs/%s.xz' > '%s'", c, name,
                           out), 0);
    return out;
}

static void
check_corpus (const char *name)
{
    char img[4096], ref[4096];

    need_tool ("qemu-img");
    corpus_unxz (name, img, sizeof img);
    snprintf (ref, sizeof ref, "%s/ref.raw", work ());
    cr_assert_eq (test_sh ("qemu-img convert -f vhdx -O raw '%s' '%s'", img,
                           ref), 0);
    check_equal_raw (img, ref);
}

Test (vhdx_corpus, ext2_equals_ext2_raw)
{
    char img[4096], ref[4096];

    corpus_unxz ("ext2.vhdx", img, sizeof img);
    corpus_unxz ("ext2.raw", ref, sizeof ref);
    check_equal_raw (img, ref);
}

Test (vhdx_corpus, ext2_qemu) { check_corpus ("ext2.vhdx"); }
Test (vhdx_corpus, ntfs_dynamic) { check_corpus ("ntfs-dynamic.vhdx"); }
Test (vhdx_corpus, ntfs_fixed) { check_corpus ("ntfs-fixed.vhdx"); }
Test (vhdx_corpus, ntfs_parent) { check_corpus ("ntfs-parent.vhdx"); }
Test (vhdx_corpus, fat_parent) { check_corpus ("fat-parent.vhdx"); }

static void
check_differencing (const char *name)
{
    char img[4096];
    struct test_io *t;
    struct fmt_extent_list m;
    struct fmt_source_info info = { 0 };
    struct fmt_problems probs;

    corpus_unxz (name, img, sizeof img);
    t = test_io_open (img);
    fmt_extents_init (&m);
    cr_assert_eq (vhdx_read_map (test_io_fmt (t), &m, &info), -ENOTSUP);
    cr_assert (strstr (vmshift_internal_error_msg (), "differencing"), "%s",
               vmshift_internal_error_msg ());
    cr_assert (strstr (vmshift_internal_error_msg (), name));
    cr_assert_eq (m.v.len, 0);
    fmt_problems_init (&probs);
    memset (&info, 0, sizeof info);
    cr_assert_eq (vhdx_validate (test_io_fmt (t), &probs, &info), 0);
    /* The only problem is the unsupported feature: the BAT's
     * PARTIALLY_PRESENT blocks are legal in a differencing disk. */
    cr_assert_eq (probs.n, 1, "%zu problems, first: %s", probs.n,
                  probs.n ? probs.msg[0] : "");
    cr_assert (info.has_parent);
    cr_assert_str_eq (info.subformat, "differencing");
    fmt_problems_release (&probs);
    test_io_close (t);
}

Test (vhdx_corpus, fat_differential_unsupported)
{
    check_differencing ("fat-differential.vhdx");
}

Test (vhdx_corpus, ntfs_differential_unsupported)
{
    check_differencing ("ntfs-differential.vhdx");
}

static void
check_qemu_created (const char *opts, const char *size, const char *writes)
{
    const char *dir = work ();
    char img[4096], ref[4096];

    need_tool ("qemu-img");
    need_tool ("qemu-io");
    snprintf (img, sizeof img, "%s/q.vhdx", dir);
    snprintf (ref, sizeof ref, "%s/ref.raw", dir);
    cr_assert_eq (test_sh ("qemu-img create -q -f vhdx -o %s '%s' %s", opts,
                           img, size), 0);
    cr_assert_eq (test_sh ("qemu-io -f vhdx %s '%s' >/dev/null", writes, img),
                  0);
    cr_assert_eq (test_sh ("qemu-img convert -f vhdx -O raw '%s' '%s'", img,
                           ref), 0);
    check_equal_raw (img, ref);
}

Test (vhdx_qemu, dynamic_1m_blocks)
{
    check_qemu_created ("subformat=dynamic,block_size=1M", "64M",
                        "-c 'write -P 0xab 0 1M' -c 'write -P 0xcd 5M 512' "
                        "-c 'write -P 0x11 63M 1M'");
}

Test (vhdx_qemu, dynamic_default_unaligned_size)
{
    check_qemu_created ("subformat=dynamic", "100000K",
                        "-c 'write -P 0x5a 40M 4k' -c 'write -P 0x77 97M 512'");
}

Test (vhdx_qemu, fixed_8m_blocks)
{
    check_qemu_created ("subformat=fixed,block_size=8M", "24M",
                        "-c 'write -P 0x42 8M 64k' -c 'write -P 0x43 1M 512'");
}

Test (vhdx_qemu, dynamic_zero_state_off_256m)
{
    check_qemu_created ("subformat=dynamic,block_size=256M,"
                        "block_state_zero=off",
                        "600M", "-c 'write -P 0x99 300M 1M'");
}
