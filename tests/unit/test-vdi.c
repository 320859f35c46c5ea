/* VDI: codec (header round trip, probe), the planner against qemu-img
 * (check, compare, info with -f vdi), our own validator and reader on our
 * output and on files qemu-img writes, and the validator on corrupted
 * copies (every problem named in vdi.c's header).
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
#include "formats/vdi.h"
#include "helpers/testio.h"
#include "helpers/vhdxtest.h"

#define MiB (UINT64_C (1) << 20)

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
        vt_rmdir (tdir);
        tdir = NULL;
    }
}

#define SKIP(...) \
    do { \
        cleanup (); \
        cr_skip_test (__VA_ARGS__); \
    } while (0)

TestSuite (vdi_codec, .fini = cleanup);
TestSuite (vdi_images, .fini = cleanup);
TestSuite (vdi_qemu, .fini = cleanup);
TestSuite (vdi_corrupt, .fini = cleanup);

static void
need_tool (const char *t)
{
    if (test_sh ("command -v %s >/dev/null 2>&1", t) != 0) {
        SKIP ("%s is not installed", t);
    }
}

/* ------------------------------------------------------------- codec */

Test (vdi_codec, header_round_trip)
{
    struct vdi_header h = {
        .version = VDI_VERSION_1_1, .header_size = 400, .type = 2,
        .off_blocks = MiB, .off_data = 2 * MiB, .sector_size = 512,
        .disk_size = 10 * MiB, .block_size = MiB, .blocks = 10,
        .blocks_allocated = 10, .lchs_sector_size = 512,
    }, d;
    uint8_t buf[VDI_HEADER_WRITE];

    for (int i = 0; i < 16; i++) {
        h.uuid_create[i] = (uint8_t) i;
        h.uuid_modify[i] = (uint8_t) (100 + i);
    }
    memset (buf, 0xcc, sizeof buf);
    vdi_header_encode (&h, buf);
    cr_assert_eq (memcmp (buf, "<<< ", 4), 0);
    cr_assert_eq (get_le32 (buf + 64), 0xbeda107f);
    cr_assert_eq (get_le32 (buf + 68), 0x00010001);
    cr_assert_eq (get_le32 (buf + 72), 400);
    cr_assert_eq (get_le32 (buf + 76), 2);
    cr_assert_eq (get_le32 (buf + 340), MiB);
    cr_assert_eq (get_le32 (buf + 344), 2 * MiB);
    cr_assert_eq (get_le32 (buf + 360), 512);
    cr_assert_eq (get_le64 (buf + 368), 10 * MiB);
    cr_assert_eq (get_le32 (buf + 376), MiB);
    cr_assert_eq (get_le32 (buf + 384), 10);
    cr_assert_eq (get_le32 (buf + 388), 10);
    cr_assert_eq (buf[392], 0);
    cr_assert_eq (buf[408], 100);
    cr_assert_eq (get_le32 (buf + 468), 512);
    for (size_t i = 472; i < sizeof buf; i++) {
        cr_assert_eq (buf[i], 0, "byte %zu", i);
    }
    cr_assert_eq (vdi_header_decode (buf, sizeof buf, &d), 0);
    cr_assert_eq (d.disk_size, h.disk_size);
    cr_assert_eq (d.off_data, h.off_data);
    cr_assert_eq (d.blocks_allocated, 10);
    cr_assert_arr_eq (d.uuid_modify, h.uuid_modify, 16);
    cr_assert_eq (d.lchs_sector_size, 512);
    cr_assert (vdi_probe_bytes (buf, sizeof buf));
    buf[64] ^= 1;
    cr_assert_not (vdi_probe_bytes (buf, sizeof buf));
    cr_assert_eq (vdi_header_decode (buf, sizeof buf, &d), -EINVAL);
    cr_assert_eq (vdi_header_decode (buf, 100, &d), -EINVAL);
}

Test (vdi_codec, data_offset_is_virtualbox_aligned)
{
    cr_assert_eq (vdi_data_offset (1), 2 * MiB);
    cr_assert_eq (vdi_data_offset (262144), 2 * MiB);   /* 1 MiB of map */
    cr_assert_eq (vdi_data_offset (262145), 3 * MiB);
    /* 64 TiB: 256 MiB of map, still a 32-bit offset */
    cr_assert_eq (vdi_data_offset (UINT64_C (1) << 26), 257 * MiB);
}

/* -------------------------------------------------- planner and reader */

static void
convert (const char *raw, const char *dir, const struct fmt_plan_opts *o,
         uint64_t *file_size)
{
    struct test_io *t = test_io_open (raw);
    struct fmt_extent_list map;
    struct fmt_source_info info = { 0 };
    struct fmt_layout lay;

    cr_assert_not_null (t);
    fmt_extents_init (&map);
    fmt_layout_init (&lay);
    cr_assert_eq (raw_read_map (test_io_fmt (t), &map, &info), 0);
    cr_assert_eq (vdi_plan (&info, &map, o, &lay), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (fmt_layout_check (&lay), 0);
    cr_assert_eq (test_exec_layout (&lay, t, dir), 0, "%s",
                  vmshift_internal_error_msg ());
    if (file_size) {
        *file_size = lay.out[0].file_size;
    }
    fmt_layout_release (&lay);
    fmt_extents_release (&map);
    test_io_close (t);
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
    cr_assert_eq (test_sh ("qemu-img info -f vdi --output=json '%s' > '%s'",
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

static void
check_own_reader (const char *vdi, const char *raw, uint64_t vsize,
                  bool fixed, const struct fmt_plan_opts *o)
{
    struct test_io *t = test_io_open (vdi), *rt = test_io_open (raw);
    struct fmt_problems probs;
    struct fmt_source_info info = { 0 }, rinfo = { 0 };
    struct fmt_extent_list m, rm;

    cr_assert_not_null (t);
    cr_assert_not_null (rt);
    fmt_problems_init (&probs);
    cr_assert_eq (vdi_validate (test_io_fmt (t), &probs, &info), 0);
    cr_assert_eq (probs.n, 0, "validator: %s", probs.n ? probs.msg[0] : "");
    fmt_problems_release (&probs);
    fmt_extents_init (&m);
    fmt_extents_init (&rm);
    memset (&info, 0, sizeof info);
    cr_assert_eq (vdi_read_map (test_io_fmt (t), &m, &info), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (m.size, vsize);
    cr_assert_eq (info.type, FMT_VDI);
    cr_assert_str_eq (info.subformat, fixed ? "fixed" : "dynamic");
    cr_assert_eq (info.block_size, MiB);
    cr_assert_arr_eq (info.disk_id, o->disk_id, 16);
    cr_assert_eq (raw_read_map (test_io_fmt (rt), &rm, &rinfo), 0);
    if (rm.size < vsize) {
        uint8_t tail[512];
        size_t n = (size_t) (vsize - rm.size);

        cr_assert_eq (test_read_guest (t, &m, rm.size, tail, n), 0);
        for (size_t i = 0; i < n; i++) {
            cr_assert_eq (tail[i], 0, "rounded-up tail byte %zu not zero", i);
        }
        m.size = rm.size;
    }
    cr_assert_eq (vt_compare (t, &m, rt, &rm), 0, "guest data differs");
    m.size = vsize;
    fmt_extents_release (&m);
    fmt_extents_release (&rm);
    test_io_close (t);
    test_io_close (rt);
}

/* The block map read straight from the file: fixed i -> i; dynamic the
 * blocks with data numbered in order, the others ZERO. */
static void
check_block_map (const char *vdi, const char *raw, bool fixed,
                 uint64_t *nused)
{
    struct test_io *t = test_io_open (vdi), *rt = test_io_open (raw);
    struct fmt_extent_list rm;
    struct fmt_source_info rinfo = { 0 };
    uint8_t h[VDI_OFF_HEADER_END];
    uint64_t n, k = 0;
    size_t hint = 0;

    fmt_extents_init (&rm);
    cr_assert_eq (raw_read_map (test_io_fmt (rt), &rm, &rinfo), 0);
    cr_assert_eq (fmt_io_pread (test_io_fmt (t), 0, h, sizeof h, 0), 0);
    n = get_le32 (h + VDI_OFF_BLOCKS_COUNT);
    cr_assert_eq (n, (rm.size + MiB - 1) / MiB);
    cr_assert_eq (get_le32 (h + VDI_OFF_BLOCKS), MiB);
    for (uint64_t i = 0; i < n; i++) {
        uint8_t e[4];
        uint64_t g = i * MiB;
        bool zero = fmt_extents_is_zero (&rm, g, rm.size - g < MiB
                                         ? rm.size - g : MiB, &hint);

        cr_assert_eq (fmt_io_pread (test_io_fmt (t), 0, e, 4, MiB + i * 4),
                      0);
        if (fixed) {
            cr_assert_eq (get_le32 (e), i);
        } else if (zero) {
            cr_assert_eq (get_le32 (e), VDI_BLOCK_ZERO, "block %llu",
                          (unsigned long long) i);
        } else {
            cr_assert_eq (get_le32 (e), k, "block %llu",
                          (unsigned long long) i);
            k++;
        }
    }
    cr_assert_eq (get_le32 (h + VDI_OFF_BLOCKS_ALLOCATED), fixed ? n : k);
    *nused = fixed ? n : k;
    fmt_extents_release (&rm);
    test_io_close (t);
    test_io_close (rt);
}

static void
run_case (uint64_t size, bool fixed, const struct vt_seg *segs, size_t nsegs)
{
    const char *dir = work ();
    char raw[4096], vdi[4096];
    uint64_t vsize = (size + 511) / 512 * 512, fsize = 0, used = 0;
    struct fmt_plan_opts o;
    struct stat st;

    need_tool ("qemu-img");
    snprintf (raw, sizeof raw, "%s/src.raw", dir);
    snprintf (vdi, sizeof vdi, "%s/out.vdi", dir);
    cr_assert_eq (vt_make_raw (raw, size, segs, nsegs, 3), 0);
    vt_opts (&o, "out.vdi", 0, fixed);
    convert (raw, dir, &o, &fsize);
    cr_assert_eq (stat (vdi, &st), 0);
    cr_assert_eq ((uint64_t) st.st_size, fsize);
    cr_assert_eq (test_sh ("qemu-img check -q -f vdi '%s'", vdi), 0);
    cr_assert_eq (qemu_virtual_size (dir, vdi), vsize);
    cr_assert_eq (test_sh ("qemu-img compare -q -f vdi -F raw '%s' '%s'",
                           vdi, raw), 0);
    check_own_reader (vdi, raw, vsize, fixed, &o);
    check_block_map (vdi, raw, fixed, &used);
    cr_assert_eq (fsize, vdi_data_offset ((vsize + MiB - 1) / MiB) +
                  used * MiB);
}

static const struct vt_seg mixed[] = {
    { 0, 64 * 1024 },
    { 3 * MiB - 4096, 8192 },
    { 7 * MiB, 1 * MiB },
};

Test (vdi_images, fixed) { run_case (10 * MiB, true, mixed, 3); }
Test (vdi_images, dynamic) { run_case (10 * MiB, false, mixed, 3); }
Test (vdi_images, dynamic_all_holes) { run_case (5 * MiB, false, NULL, 0); }
Test (vdi_images, fixed_all_holes) { run_case (5 * MiB, true, NULL, 0); }

/* Not a whole MiB, not even a whole sector: rounded to 512 bytes, the
 * last block partly past the disk. */
Test (vdi_images, odd_size_dynamic)
{
    static const struct vt_seg s[] = { { 3 * MiB + 100, 1000 } };

    run_case (3 * MiB + 1100, false, s, 1);
}

Test (vdi_images, odd_size_fixed)
{
    static const struct vt_seg s[] = { { 3 * MiB + 100, 1000 } };

    run_case (3 * MiB + 1100, true, s, 1);
}

/* A fixed VDI of a 1 TiB flat disk: the data in one placement at 5 MiB
 * (map of 4 MiB), a 512-byte header and the map. */
Test (vdi_images, plan_1t_fixed)
{
    struct fmt_extent_list map;
    struct fmt_source_info info = { 0 };
    struct fmt_plan_opts o;
    struct fmt_layout lay;
    uint64_t tib = UINT64_C (1) << 40;
    uint8_t e[8];

    fmt_extents_init (&map);
    map.size = tib;
    cr_assert_eq (fmt_extents_add_data (&map, 0, tib, 0, 0), 0);
    vt_opts (&o, "big.vdi", 0, true);
    fmt_layout_init (&lay);
    cr_assert_eq (vdi_plan (&info, &map, &o, &lay), 0);
    cr_assert_eq (lay.out[0].place.len, 1);
    cr_assert_eq (lay.out[0].place.ptr[0].kind, FMT_PLACE_CLONE);
    cr_assert_eq (lay.out[0].place.ptr[0].dst_off, 5 * MiB);
    cr_assert_eq (lay.data_offset, 5 * MiB);
    cr_assert_eq (lay.out[0].file_size, 5 * MiB + tib);
    cr_assert_eq (lay.out[0].blobs.len, 2);
    cr_assert_eq (lay.out[0].blobs.ptr[1].off, MiB);
    cr_assert_eq (lay.out[0].blobs.ptr[1].len, 4 * MiB);
    /* the generator: entry 1048575 (last) is 1048575 */
    cr_assert_eq (fmt_blob_read (&lay.out[0].blobs.ptr[1], 4 * MiB - 8, e, 8),
                  0);
    cr_assert_eq (get_le32 (e + 4), 1048575);
    fmt_layout_release (&lay);
    fmt_extents_release (&map);
}

/* The dynamic map's generator gives the same bytes whatever order it is
 * asked in (the executor asks in order; a second pass restarts). */
Test (vdi_images, map_generator_any_order)
{
    struct fmt_extent_list map;
    struct fmt_source_info info = { 0 };
    struct fmt_plan_opts o;
    struct fmt_layout lay;
    uint8_t a[64], b[64];

    fmt_extents_init (&map);
    map.size = 16 * MiB;
    cr_assert_eq (fmt_extents_add_zero (&map, 0, 2 * MiB), 0);
    cr_assert_eq (fmt_extents_add_data (&map, 2 * MiB, 3 * MiB, 0, 0), 0);
    cr_assert_eq (fmt_extents_add_zero (&map, 5 * MiB, 10 * MiB), 0);
    cr_assert_eq (fmt_extents_add_data (&map, 15 * MiB, MiB, 0, 9 * MiB), 0);
    vt_opts (&o, "g.vdi", 0, false);
    fmt_layout_init (&lay);
    cr_assert_eq (vdi_plan (&info, &map, &o, &lay), 0);
    cr_assert_eq (fmt_blob_read (&lay.out[0].blobs.ptr[1], 0, a, 64), 0);
    cr_assert_eq (get_le32 (a), VDI_BLOCK_ZERO);
    cr_assert_eq (get_le32 (a + 8), 0);
    cr_assert_eq (get_le32 (a + 16), 2);
    cr_assert_eq (get_le32 (a + 20), VDI_BLOCK_ZERO);
    cr_assert_eq (get_le32 (a + 60), 3);
    /* backwards, one entry at a time */
    for (int i = 15; i >= 0; i--) {
        cr_assert_eq (fmt_blob_read (&lay.out[0].blobs.ptr[1], (uint64_t) i * 4,
                                     b + i * 4, 4), 0);
    }
    cr_assert_arr_eq (a, b, 64);
    fmt_layout_release (&lay);
    fmt_extents_release (&map);
}

/* --------------------------------------------- files qemu-img writes */

static void
qemu_case (const char *create_opts, uint64_t size)
{
    const char *dir = work ();
    char vdi[4096], raw[4096];
    struct test_io *t, *rt;
    struct fmt_extent_list m, rm;
    struct fmt_source_info info = { 0 }, rinfo = { 0 };
    struct fmt_problems probs;

    need_tool ("qemu-img");
    need_tool ("qemu-io");
    snprintf (vdi, sizeof vdi, "%s/q.vdi", dir);
    snprintf (raw, sizeof raw, "%s/q.raw", dir);
    cr_assert_eq (test_sh ("qemu-img create -q -f vdi -o %s '%s' %llu",
                           create_opts, vdi, (unsigned long long) size), 0);
    cr_assert_eq (test_sh ("qemu-io -f vdi -c 'write -P 0x5a 0 64k' "
                           "-c 'write -P 0xa5 3M 1M' '%s' >/dev/null", vdi),
                  0);
    cr_assert_eq (test_sh ("qemu-img convert -f vdi -O raw '%s' '%s'", vdi,
                           raw), 0);
    t = test_io_open (vdi);
    rt = test_io_open (raw);
    fmt_problems_init (&probs);
    cr_assert_eq (vdi_validate (test_io_fmt (t), &probs, &info), 0);
    cr_assert_eq (probs.n, 0, "%s", probs.n ? probs.msg[0] : "");
    fmt_problems_release (&probs);
    fmt_extents_init (&m);
    fmt_extents_init (&rm);
    memset (&info, 0, sizeof info);
    cr_assert_eq (vdi_read_map (test_io_fmt (t), &m, &info), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (raw_read_map (test_io_fmt (rt), &rm, &rinfo), 0);
    cr_assert_eq (m.size, qemu_virtual_size (dir, vdi));
    cr_assert_eq (vt_compare (t, &m, rt, &rm), 0, "guest data differs");
    fmt_extents_release (&m);
    fmt_extents_release (&rm);
    test_io_close (t);
    test_io_close (rt);
}

Test (vdi_qemu, dynamic) { qemu_case ("static=off", 10 * MiB); }
Test (vdi_qemu, static) { qemu_case ("static=on", 10 * MiB); }
Test (vdi_qemu, dynamic_odd_size) { qemu_case ("static=off", 10 * MiB + 512); }

/* ------------------------------------------------------- corruption */

/* A dynamic 6 MiB VDI with blocks 0 and 4 holding data, in memory. */
static uint8_t *
make_dynamic (size_t *len)
{
    const char *dir = work ();
    char raw[4096], vdi[4096];
    static const struct vt_seg s[] = { { 0, 4096 }, { 4 * MiB, 4096 } };
    struct fmt_plan_opts o;
    uint8_t *buf;

    snprintf (raw, sizeof raw, "%s/c.raw", dir);
    snprintf (vdi, sizeof vdi, "%s/c.vdi", dir);
    cr_assert_eq (vt_make_raw (raw, 6 * MiB, s, 2, 9), 0);
    vt_opts (&o, "c.vdi", 0, false);
    convert (raw, dir, &o, NULL);
    buf = vt_slurp (vdi, len);
    cr_assert_not_null (buf);
    return buf;
}

static void
expect (const uint8_t *buf, size_t len, const char *needle, bool warning)
{
    struct test_io *t = test_io_mem (buf, len, "bad.vdi");
    struct fmt_problems probs;
    struct fmt_source_info info = { 0 };
    struct fmt_extent_list m;
    bool found = false;
    int r;

    fmt_problems_init (&probs);
    cr_assert_eq (vdi_validate (test_io_fmt (t), &probs, &info), 0);
    for (size_t i = 0; i < probs.n; i++) {
        bool w = strncmp (probs.msg[i], "warning: ", 9) == 0;

        if (warning) {
            cr_assert (w, "unexpected problem: %s", probs.msg[i]);
        }
        found |= strstr (probs.msg[i], needle) != NULL && w == warning;
    }
    cr_assert (found, "nothing mentioning '%s' (first: %s)", needle,
               probs.n ? probs.msg[0] : "none");
    fmt_problems_release (&probs);
    fmt_extents_init (&m);
    r = vdi_read_map (test_io_fmt (t), &m, &info);
    if (warning) {
        cr_assert_eq (r, 0, "%s", vmshift_internal_error_msg ());
    } else {
        cr_assert_lt (r, 0);
    }
    fmt_extents_release (&m);
    test_io_close (t);
}

Test (vdi_corrupt, valid_base_has_no_problem)
{
    size_t len;
    uint8_t *b = make_dynamic (&len);
    struct test_io *t = test_io_mem (b, len, "ok.vdi");
    struct fmt_problems probs;
    struct fmt_source_info info = { 0 };

    fmt_problems_init (&probs);
    cr_assert_eq (vdi_validate (test_io_fmt (t), &probs, &info), 0);
    cr_assert_eq (probs.n, 0, "%s", probs.n ? probs.msg[0] : "");
    cr_assert_eq (get_le32 (b + MiB), 0);
    cr_assert_eq (get_le32 (b + MiB + 4), VDI_BLOCK_ZERO);
    cr_assert_eq (get_le32 (b + MiB + 16), 1);
    fmt_problems_release (&probs);
    test_io_close (t);
    free (b);
}

Test (vdi_corrupt, signature_version_type)
{
    size_t len;
    uint8_t *b = make_dynamic (&len);

    put_le32 (b + VDI_OFF_SIGNATURE, 0xbeda107e);
    expect (b, len, "signature at offset 64", false);
    put_le32 (b + VDI_OFF_SIGNATURE, VDI_SIGNATURE);
    put_le32 (b + VDI_OFF_VERSION, 0x00010002);
    expect (b, len, "header version 1.2 is unsupported", false);
    put_le32 (b + VDI_OFF_VERSION, VDI_VERSION_1_1);
    put_le32 (b + VDI_OFF_TYPE, 4);
    expect (b, len, "differencing image (type 4) is unsupported", false);
    put_le32 (b + VDI_OFF_TYPE, 7);
    expect (b, len, "image type 7", false);
    put_le32 (b + VDI_OFF_TYPE, 1);
    b[VDI_OFF_UUID_LINKAGE] = 1;
    expect (b, len, "linkage UUID", false);
    b[VDI_OFF_UUID_LINKAGE] = 0;
    put_le32 (b + VDI_OFF_HEADER_SIZE, 200);
    expect (b, len, "header size 200", false);
    free (b);
}

Test (vdi_corrupt, sizes_and_offsets)
{
    size_t len;
    uint8_t *b = make_dynamic (&len);

    put_le32 (b + VDI_OFF_BLOCK_SIZE, 3 * MiB);
    expect (b, len, "block size 3145728 is not a power of two", false);
    put_le32 (b + VDI_OFF_BLOCK_SIZE, MiB);
    put_le32 (b + VDI_OFF_BLOCKS_COUNT, 5);
    expect (b, len, "needs 6", false);
    put_le32 (b + VDI_OFF_BLOCKS_COUNT, 6);
    put_le32 (b + VDI_OFF_LEGACY_GEOMETRY + 12, 4096);
    expect (b, len, "sector size 4096", false);
    put_le32 (b + VDI_OFF_LEGACY_GEOMETRY + 12, 512);
    put_le32 (b + VDI_OFF_DATA, MiB);
    expect (b, len, "data offset 1048576 lies inside the block map", false);
    put_le32 (b + VDI_OFF_DATA, 2 * MiB);
    put_le32 (b + VDI_OFF_BLOCKS, 256);
    expect (b, len, "lies inside the header", false);
    put_le32 (b + VDI_OFF_BLOCKS, MiB + 100);
    expect (b, len, "not a multiple of 512", false);
    put_le32 (b + VDI_OFF_BLOCKS, MiB);
    put_le32 (b + VDI_OFF_BLOCK_EXTRA, 512);
    expect (b, len, "extra data per block are unsupported", false);
    put_le32 (b + VDI_OFF_BLOCK_EXTRA, 0);
    put_le32 (b + VDI_OFF_FLAGS, 1);
    expect (b, len, "image flags", true);
    free (b);
}

Test (vdi_corrupt, block_map)
{
    size_t len;
    uint8_t *b = make_dynamic (&len);

    put_le32 (b + MiB + 4, 1);          /* block 1 -> data block 1 again */
    put_le32 (b + VDI_OFF_BLOCKS_ALLOCATED, 3);
    expect (b, len, "which another entry names too", false);
    put_le32 (b + MiB + 4, 6);          /* past cBlocks */
    expect (b, len, "past the image's 6 blocks", false);
    put_le32 (b + MiB + 4, 2);          /* in range, past EOF */
    expect (b, len, "extends past the end of the file", false);
    put_le32 (b + MiB + 4, VDI_BLOCK_FREE);     /* FREE reads zeros too */
    expect (b, len, "blocks are allocated", false);  /* count now 2 != 3 */
    put_le32 (b + VDI_OFF_BLOCKS_ALLOCATED, 2);
    {
        struct test_io *t = test_io_mem (b, len, "ok.vdi");
        struct fmt_extent_list m;
        struct fmt_source_info info = { 0 };

        fmt_extents_init (&m);
        cr_assert_eq (vdi_read_map (test_io_fmt (t), &m, &info), 0);
        cr_assert_eq (fmt_extents_allocated (&m), 2 * MiB);  /* no hole map in memory */
        fmt_extents_release (&m);
        test_io_close (t);
    }
    /* truncated: the last data block loses its end */
    expect (b, len - 4096, "truncated", false);
    free (b);
}
