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

#include "engine/base/endian.h"
#include "engine/base/error.h"
#include "engine/base/json.h"
#include "formats/vhdx.h"
#include "helpers/testio.h"
#include "helpers/vhdxtest.h"

#define MiB (UINT64_C (1) << 20)
#define GiB (UINT64_C (1) << 30)
#define TiB (UINT64_C (1) << 40)

static void
need_tool (const char *t)
{
    if (test_sh ("command -v %s >/dev/null 2>&1", t) != 0) {
        cr_skip_test ("%s is not installed", t);
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
    cr_assert_eq (json_parse ((const char *) buf, len, "qemu-img info", &v),
                  0, "%s", vmshift_internal_error_msg ());
    cr_assert_eq (json_get_u64 (v, "virtual-size", &vs), 0);
    json_free (v);
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
        } else if (!fixed && fmt_extents_is_zero (rmap, blk * bs,
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
    char *dir = vt_tmpdir ();
    char raw[4096], vhdx[4096];
    struct fmt_plan_opts o;
    struct test_io *rt;
    struct fmt_extent_list rmap;
    struct fmt_source_info rinfo = { 0 };
    uint64_t meta = 0, x = 0, n, ebs = bs ? bs : 32 * MiB;
    struct stat st;

    need_tool ("qemu-img");
    need_tool ("vhdiinfo");
    cr_assert_not_null (dir);
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
    vt_rmdir (dir);
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
    const struct vt_seg s[] = { { 32 * MiB - 4096, 8192 }, { 64 * MiB - 512, 512 } };

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

/* Validator and reader on one planned image, BAT index mapping checked
 * directly: block 4101's entry is at index 4102. */
Test (vhdx_images, interleave_index_on_disk)
{
    char *dir = vt_tmpdir ();
    char raw[4096], vhdx[4096];
    const struct vt_seg s[] = { { 4101 * MiB, MiB } };
    struct fmt_plan_opts o;
    struct test_io *t;
    uint8_t e8[8];
    uint64_t x = 0;

    cr_assert_not_null (dir);
    snprintf (raw, sizeof raw, "%s/src.raw", dir);
    snprintf (vhdx, sizeof vhdx, "%s/out.vhdx", dir);
    cr_assert_eq (vt_make_raw (raw, 5 * GiB, s, 1, 3), 0);
    vt_opts (&o, "out.vhdx", MiB, false);
    cr_assert_eq (vt_convert (raw, dir, &o, NULL, &x), 0);
    cr_assert_eq (x, 3 * MiB + MiB);    /* 5125 entries fit in 1 MiB */
    t = test_io_open (vhdx);
    cr_assert_eq (fmt_io_pread (test_io_fmt (t), 0, e8, 8, 3 * MiB + 4102 * 8), 0);
    cr_assert_eq (get_le64 (e8), (x + 4101 * MiB) | 6);
    cr_assert_eq (fmt_io_pread (test_io_fmt (t), 0, e8, 8, 3 * MiB + 4101 * 8), 0);
    cr_assert_eq (get_le64 (e8), 2);    /* block 4100: ZERO */
    cr_assert_eq (fmt_io_pread (test_io_fmt (t), 0, e8, 8, 3 * MiB + 4096 * 8), 0);
    cr_assert_eq (get_le64 (e8), 0);    /* sector bitmap of chunk 0 */
    test_io_close (t);
    vt_rmdir (dir);
}
