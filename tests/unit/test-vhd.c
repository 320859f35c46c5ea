/* VHD: codec (footer and dynamic header round trips, the one's-complement
 * checksum, the libvhdi corpus structures), the spec's CHS geometry, the
 * planner against independent readers (qemu-img info/compare with -f vpc,
 * vhdiinfo), our own validator and reader on our output and on files
 * qemu-img writes, and the validator on corrupted copies (every problem
 * named in vhd-check.c's header).
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
#include "formats/vhd.h"
#include "helpers/testio.h"
#include "helpers/vhdxtest.h"

#define MiB (UINT64_C (1) << 20)
#define GiB (UINT64_C (1) << 30)

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

TestSuite (vhd_codec, .fini = cleanup);
TestSuite (vhd_images, .fini = cleanup);
TestSuite (vhd_qemu, .fini = cleanup);
TestSuite (vhd_corrupt, .fini = cleanup);

static void
need_tool (const char *t)
{
    if (test_sh ("command -v %s >/dev/null 2>&1", t) != 0) {
        SKIP ("%s is not installed", t);
    }
}

/* ------------------------------------------------------------- codec */

Test (vhd_codec, footer_round_trip_and_checksum)
{
    struct vhd_footer f = {
        .features = VHD_FEATURE_RESERVED, .version = VHD_VERSION,
        .data_offset = 512, .timestamp = 0x12345678,
        .creator_app = { 'v', 'm', 's', 'h' }, .creator_version = 1,
        .creator_os = { 'W', 'i', '2', 'k' }, .orig_size = 10 * MiB,
        .cur_size = 10 * MiB, .cyls = 300, .heads = 4, .spt = 17,
        .disk_type = VHD_TYPE_DYNAMIC, .saved_state = 0,
    }, d;
    uint8_t buf[VHD_FOOTER_SIZE];
    uint32_t sum = 0;

    for (int i = 0; i < 16; i++) {
        f.uuid[i] = (uint8_t) (i * 11);
    }
    memset (buf, 0xee, sizeof buf);
    vhd_footer_encode (&f, buf);
    cr_assert_eq (memcmp (buf, "conectix", 8), 0);
    cr_assert_eq (get_be32 (buf + 8), 2);
    cr_assert_eq (get_be32 (buf + 12), 0x00010000);
    cr_assert_eq (get_be64 (buf + 16), 512);
    cr_assert_eq (get_be64 (buf + 48), 10 * MiB);
    cr_assert_eq (get_be16 (buf + 56), 300);
    cr_assert_eq (buf[58], 4);
    cr_assert_eq (buf[59], 17);
    cr_assert_eq (get_be32 (buf + 60), 3);
    for (size_t i = 85; i < sizeof buf; i++) {
        cr_assert_eq (buf[i], 0, "reserved byte %zu", i);
    }
    /* one's complement of the byte sum without the checksum field */
    for (size_t i = 0; i < sizeof buf; i++) {
        sum += (i >= 64 && i < 68) ? 0 : buf[i];
    }
    cr_assert_eq (get_be32 (buf + 64), ~sum);
    cr_assert_eq (vhd_footer_decode (buf, sizeof buf, &d), 0);
    cr_assert_eq (d.cur_size, f.cur_size);
    cr_assert_eq (d.cyls, 300);
    cr_assert_eq (d.disk_type, VHD_TYPE_DYNAMIC);
    cr_assert_eq (d.checksum, ~sum);
    cr_assert_arr_eq (d.uuid, f.uuid, 16);
    cr_assert_eq (memcmp (d.creator_app, "vmsh", 4), 0);
    cr_assert (d.reserved_zero);
    buf[200] = 1;
    cr_assert_eq (vhd_footer_decode (buf, sizeof buf, &d), 0);
    cr_assert_not (d.reserved_zero);
    cr_assert_neq (vhd_checksum (buf, sizeof buf, 64), get_be32 (buf + 64));
    buf[0] = 'C';
    cr_assert_eq (vhd_footer_decode (buf, sizeof buf, &d), -EINVAL);
    cr_assert_eq (vhd_footer_decode (buf, 100, &d), -EINVAL);
}

Test (vhd_codec, dynamic_header_round_trip)
{
    struct vhd_dyn h = {
        .data_offset = UINT64_MAX, .table_offset = 1536,
        .version = VHD_VERSION, .max_entries = 5, .block_size = 2 * MiB,
    }, d;
    uint8_t buf[VHD_DYN_SIZE];

    memset (buf, 0x77, sizeof buf);
    vhd_dyn_encode (&h, buf);
    cr_assert_eq (memcmp (buf, "cxsparse", 8), 0);
    cr_assert_eq (get_be64 (buf + 16), 1536);
    cr_assert_eq (get_be32 (buf + 28), 5);
    cr_assert_eq (get_be32 (buf + 32), 2 * MiB);
    cr_assert_eq (get_be32 (buf + 36), vhd_checksum (buf, sizeof buf, 36));
    cr_assert_eq (vhd_dyn_decode (buf, sizeof buf, &d), 0);
    cr_assert_eq (d.table_offset, 1536);
    cr_assert_eq (d.max_entries, 5);
    cr_assert_eq (d.block_size, 2 * MiB);
    cr_assert (d.parent_zero);
    cr_assert (d.reserved_zero);
    buf[64] = 'x';              /* a parent name */
    cr_assert_eq (vhd_dyn_decode (buf, sizeof buf, &d), 0);
    cr_assert_not (d.parent_zero);
    memcpy (buf, "cxsparsE", 8);
    cr_assert_eq (vhd_dyn_decode (buf, sizeof buf, &d), -EINVAL);
}

static uint8_t *
corpus_struct (const char *name, size_t *len)
{
    const char *c = test_corpus_dir ();
    char path[4096];
    uint8_t *buf;

    if (c == NULL) {
        cr_skip_test ("corpus not found (set VMSHIFT_CORPUS)");
    }
    snprintf (path, sizeof path, "%s/images/libvhdi-structures/%s", c, name);
    if (access (path, R_OK) != 0) {
        cr_skip_test ("%s is absent from the corpus", path);
    }
    buf = vt_slurp (path, len);
    cr_assert_not_null (buf, "cannot read %s", path);
    return buf;
}

/* Structures taken from real files by libvhdi's tests: our decoder reads
 * them and our checksum agrees with the stored one. */
Test (vhd_codec, corpus_footer_and_header)
{
    size_t fl = 0, hl = 0;
    uint8_t *fb = corpus_struct ("file_footer.1", &fl);
    uint8_t *hb = corpus_struct ("dynamic_disk_header.1", &hl);
    struct vhd_footer f;
    struct vhd_dyn d;

    cr_assert_eq (fl, VHD_FOOTER_SIZE);
    cr_assert_eq (vhd_footer_decode (fb, fl, &f), 0);
    cr_assert_eq (f.checksum, vhd_checksum (fb, fl, VHD_F_OFF_CHECKSUM));
    cr_assert_eq (f.version, VHD_VERSION);
    cr_assert_eq (f.disk_type, VHD_TYPE_DIFFERENCING);
    cr_assert_eq (memcmp (f.creator_app, "vpc ", 4), 0);
    cr_assert_eq (memcmp (f.creator_os, "Wi2k", 4), 0);
    cr_assert_eq (f.cur_size, UINT64_C (0x20000000));
    cr_assert_eq ((uint64_t) f.cyls * f.heads * f.spt,
                  UINT64_C (0x410) * 16 * 63);
    cr_assert_eq (hl, VHD_DYN_SIZE);
    cr_assert_eq (vhd_dyn_decode (hb, hl, &d), 0);
    cr_assert_eq (d.checksum, vhd_checksum (hb, hl, VHD_D_OFF_CHECKSUM));
    cr_assert_eq (d.table_offset, 0x600);
    cr_assert_eq (d.block_size, 0x200000);
    cr_assert_not (d.parent_zero);      /* a differencing disk's header */
    free (fb);
    free (hb);
}

/* ----------------------------------------------------------- geometry */

Test (vhd_codec, chs_as_the_spec_computes_it)
{
    uint16_t c;
    uint8_t h, s;

    /* 10 MiB: 20480 sectors, 17 sectors per track, 1204 C*H -> 4 heads */
    vhd_chs (10 * MiB, &c, &h, &s);
    cr_assert_eq (c, 301);
    cr_assert_eq (h, 4);
    cr_assert_eq (s, 17);
    /* 1 GiB: 17 spt needs more than 16 heads -> 31 spt -> 63 spt */
    vhd_chs (GiB, &c, &h, &s);
    cr_assert_eq (s, 63);
    cr_assert_eq (h, 16);
    cr_assert_eq (c, 2080);
    /* 40 GiB: at least 65535*16*63 sectors -> 255 spt, 16 heads */
    vhd_chs (40 * GiB, &c, &h, &s);
    cr_assert_eq (s, 255);
    cr_assert_eq (h, 16);
    cr_assert_eq (c, 40 * GiB / 512 / 255 / 16);
    /* past the CHS range: clamped to 65535/16/255 */
    vhd_chs (1024 * GiB, &c, &h, &s);
    cr_assert_eq (c, 65535);
    cr_assert_eq (h, 16);
    cr_assert_eq (s, 255);
    /* the target geometry: exact when the spec's covers the disk ... */
    vhd_chs_for_target (UINT64_C (301) * 4 * 17 * 512, &c, &h, &s);
    cr_assert_eq (c, 301);
    cr_assert_eq (h, 4);
    /* ... the largest geometry otherwise (10 MiB is 20468 CHS sectors) */
    vhd_chs_for_target (10 * MiB, &c, &h, &s);
    cr_assert_eq (c, 65535);
    cr_assert_eq (h, 16);
    cr_assert_eq (s, 255);
}

Test (vhd_codec, probe)
{
    uint8_t tail[VHD_FOOTER_SIZE], head[VHD_FOOTER_SIZE] = { 0 };
    struct vhd_footer f = {
        .features = 2, .version = VHD_VERSION, .cur_size = MiB,
        .cyls = 1, .heads = 1, .spt = 1, .disk_type = VHD_TYPE_FIXED,
    };

    vhd_footer_encode (&f, tail);
    cr_assert (vhd_probe_bytes (head, sizeof head, tail, sizeof tail));
    tail[300] ^= 1;             /* checksum no longer matches */
    cr_assert_not (vhd_probe_bytes (head, sizeof head, tail, sizeof tail));
    /* a fixed footer at offset 0 is guest data, not a copy */
    f.disk_type = VHD_TYPE_FIXED;
    vhd_footer_encode (&f, head);
    cr_assert_not (vhd_probe_bytes (head, sizeof head, NULL, 0));
    f.disk_type = VHD_TYPE_DYNAMIC;
    vhd_footer_encode (&f, head);
    cr_assert (vhd_probe_bytes (head, sizeof head, NULL, 0));
}

/* Footer-only (fixed) is VHD only under a .vhd name; under another it
 * is a raw disk whose last sector happens to hold a footer. */
Test (vhd, probe_fixed_needs_vhd_name)
{
    uint8_t tail[VHD_FOOTER_SIZE], head[VHD_FOOTER_SIZE] = { 0 };
    struct vhd_footer f = {
        .features = 2, .version = VHD_VERSION, .cur_size = MiB,
        .cyls = 1, .heads = 1, .spt = 1, .disk_type = VHD_TYPE_FIXED,
    };
    struct fmt_probe_buf b = {
        .head = head, .head_len = sizeof head, .tail = tail,
        .tail_len = sizeof tail, .file_size = MiB + VHD_FOOTER_SIZE,
    };
    const char *vhd_names[] = { "a.vhd", "dir.x/B.VHD", NULL };
    const char *raw_names[] = { "a.img", "a.raw", "disk", "a.vhd.img",
                                "vhd", "dir.vhd/disk", NULL };

    const struct fmt_driver *d = fmt_driver_of (FMT_VHD);

    cr_assert (d != NULL && d->probe != NULL);
    vhd_footer_encode (&f, tail);
    for (size_t i = 0; vhd_names[i]; i++) {
        b.name = vhd_names[i];
        cr_assert_eq (d->probe (&b), FMT_PROBE_MAGIC, "%s", vhd_names[i]);
    }
    for (size_t i = 0; raw_names[i]; i++) {
        b.name = raw_names[i];
        cr_assert_eq (d->probe (&b), FMT_PROBE_NO, "%s", raw_names[i]);
    }
    b.name = NULL;
    cr_assert_eq (d->probe (&b), FMT_PROBE_NO);
    /* a dynamic disk's copy at offset 0 is VHD under any name */
    f.disk_type = VHD_TYPE_DYNAMIC;
    vhd_footer_encode (&f, head);
    b.name = "a.img";
    cr_assert_eq (d->probe (&b), FMT_PROBE_MAGIC);
}

/* -------------------------------------------------- planner and reader */

static void
opts (struct fmt_plan_opts *o, const char *target, bool fixed)
{
    vt_opts (o, target, 0, fixed);
    o->now = 946684800 + 1000;
}

/* raw -> vhd through vhd_plan and the reference executor. */
static void
convert (const char *raw, const char *dir, const struct fmt_plan_opts *o,
         struct fmt_layout *lay_out)
{
    struct test_io *t = test_io_open (raw);
    struct fmt_extent_list map;
    struct fmt_source_info info = { 0 };
    struct fmt_layout lay;

    cr_assert_not_null (t);
    fmt_extents_init (&map);
    fmt_layout_init (&lay);
    cr_assert_eq (raw_read_map (test_io_fmt (t), &map, &info), 0);
    cr_assert_eq (vhd_plan (&info, &map, o, &lay), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (fmt_layout_check (&lay), 0);
    cr_assert_eq (test_exec_layout (&lay, t, dir), 0, "%s",
                  vmshift_internal_error_msg ());
    if (lay_out) {
        lay_out->data_offset = lay.data_offset;
        lay_out->meta_bytes = lay.meta_bytes;
        lay_out->out[0].file_size = lay.out[0].file_size;
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
    cr_assert_eq (test_sh ("qemu-img info -f vpc --output=json '%s' > '%s'",
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

/* Our validator finds nothing, and read_map gives the source's bytes
 * followed by zeros up to the rounded size. */
static void
check_own_reader (const char *vhd, const char *raw, uint64_t vsize,
                  bool fixed, const struct fmt_plan_opts *o)
{
    struct test_io *t = test_io_open (vhd), *rt = test_io_open (raw);
    struct fmt_problems probs;
    struct fmt_source_info info = { 0 }, rinfo = { 0 };
    struct fmt_extent_list m, rm;

    cr_assert_not_null (t);
    cr_assert_not_null (rt);
    fmt_problems_init (&probs);
    cr_assert_eq (vhd_validate (test_io_fmt (t), &probs, &info), 0);
    cr_assert_eq (probs.n, 0, "validator: %s", probs.n ? probs.msg[0] : "");
    fmt_problems_release (&probs);
    fmt_extents_init (&m);
    fmt_extents_init (&rm);
    memset (&info, 0, sizeof info);
    cr_assert_eq (vhd_read_map (test_io_fmt (t), &m, &info), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (m.size, vsize);
    cr_assert_eq (info.virtual_size, vsize);
    cr_assert_eq (info.type, FMT_VHD);
    cr_assert_str_eq (info.subformat, fixed ? "fixed" : "dynamic");
    cr_assert_eq (info.block_size, fixed ? 0 : 2 * MiB);
    cr_assert (info.has_disk_id);
    cr_assert_arr_eq (info.disk_id, o->disk_id, 16);
    cr_assert_eq (raw_read_map (test_io_fmt (rt), &rm, &rinfo), 0);
    if (rm.size < vsize) {
        size_t n = (size_t) (vsize - rm.size);
        uint8_t *tail = malloc (n);

        cr_assert_not_null (tail);
        cr_assert_eq (test_read_guest (t, &m, rm.size, tail, n), 0);
        for (size_t i = 0; i < n; i++) {
            cr_assert_eq (tail[i], 0, "rounded-up tail byte %zu not zero", i);
        }
        free (tail);
        m.size = rm.size;       /* compare the source's part */
    }
    cr_assert_eq (vt_compare (t, &m, rt, &rm), 0, "guest data differs");
    m.size = vsize;
    fmt_extents_release (&m);
    fmt_extents_release (&rm);
    test_io_close (t);
    test_io_close (rt);
}

/* Each allocated block's data starts 4 KiB aligned; unallocated blocks
 * are exactly the all-hole ones. */
static void
check_dynamic_layout (const char *vhd, const char *raw, uint64_t vsize)
{
    struct test_io *t = test_io_open (vhd), *rt = test_io_open (raw);
    struct fmt_extent_list rm;
    struct fmt_source_info rinfo = { 0 };
    uint64_t n = (vsize + 2 * MiB - 1) / (2 * MiB);
    size_t hint = 0;

    fmt_extents_init (&rm);
    cr_assert_eq (raw_read_map (test_io_fmt (rt), &rm, &rinfo), 0);
    for (uint64_t i = 0; i < n; i++) {
        uint8_t e[4];
        uint64_t g = i * 2 * MiB;
        bool zero = g >= rm.size ||
            fmt_extents_is_zero (&rm, g, rm.size - g < 2 * MiB
                                 ? rm.size - g : 2 * MiB, &hint);

        cr_assert_eq (fmt_io_pread (test_io_fmt (t), 0, e, 4, 1536 + i * 4),
                      0);
        if (zero) {
            cr_assert_eq (get_be32 (e), 0xffffffffu, "block %llu",
                          (unsigned long long) i);
        } else {
            cr_assert_neq (get_be32 (e), 0xffffffffu);
            cr_assert_eq (((uint64_t) get_be32 (e) * 512 + 512) % 4096, 0,
                          "block %llu data not 4 KiB aligned",
                          (unsigned long long) i);
        }
    }
    fmt_extents_release (&rm);
    test_io_close (t);
    test_io_close (rt);
}

static void
run_case (uint64_t size, bool fixed, const struct vt_seg *segs, size_t nsegs)
{
    const char *dir = work ();
    char raw[4096], vhd[4096];
    uint64_t vsize = (size + MiB - 1) / MiB * MiB;
    struct fmt_plan_opts o;
    struct fmt_layout lay;
    struct stat st;

    need_tool ("qemu-img");
    need_tool ("vhdiinfo");
    snprintf (raw, sizeof raw, "%s/src.raw", dir);
    snprintf (vhd, sizeof vhd, "%s/out.vhd", dir);
    cr_assert_eq (vt_make_raw (raw, size, segs, nsegs, 5), 0);
    opts (&o, "out.vhd", fixed);
    memset (&lay, 0, sizeof lay);
    convert (raw, dir, &o, &lay);
    cr_assert_eq (stat (vhd, &st), 0);
    cr_assert_eq ((uint64_t) st.st_size, lay.out[0].file_size);
    if (fixed) {
        cr_assert_eq ((uint64_t) st.st_size, vsize + 512);
        cr_assert_eq (lay.meta_bytes, 512, "one 512-byte write");
    }
    cr_assert_eq (qemu_virtual_size (dir, vhd), vsize);
    /* compare is lenient about a zero tail: the sizes were checked */
    cr_assert_eq (test_sh ("qemu-img compare -q -f vpc -F raw '%s' '%s'",
                           vhd, raw), 0);
    cr_assert_eq (test_sh ("vhdiinfo '%s' | grep -q 'Media size.*(%llu "
                           "bytes)'", vhd, (unsigned long long) vsize), 0);
    cr_assert_eq (test_sh ("vhdiinfo '%s' | grep -q 'Disk type.*: %s'",
                           vhd, fixed ? "Fixed" : "Dynamic"), 0);
    check_own_reader (vhd, raw, vsize, fixed, &o);
    if (!fixed) {
        check_dynamic_layout (vhd, raw, vsize);
    }
}

static const struct vt_seg mixed[] = {
    { 0, 64 * 1024 },                   /* block 0, partly */
    { 3 * MiB - 4096, 8192 },           /* across blocks 1 and 2 */
    { 9 * MiB, 1 * MiB },               /* block 4 */
};

Test (vhd_images, fixed_whole_mib) { run_case (10 * MiB, true, mixed, 3); }
Test (vhd_images, dynamic_whole_mib) { run_case (10 * MiB, false, mixed, 3); }

/* 10 MiB + 512: rounded up to 11 MiB, the tail reads as zeros. */
Test (vhd_images, fixed_rounded_up)
{
    static const struct vt_seg s[] = { { 10 * MiB - 4096, 4096 + 512 } };

    run_case (10 * MiB + 512, true, s, 1);
}

Test (vhd_images, dynamic_rounded_up)
{
    static const struct vt_seg s[] = { { 10 * MiB - 4096, 4096 + 512 } };

    run_case (10 * MiB + 512, false, s, 1);
}

Test (vhd_images, dynamic_all_holes) { run_case (7 * MiB, false, NULL, 0); }
Test (vhd_images, fixed_all_holes) { run_case (7 * MiB, true, NULL, 0); }

Test (vhd_images, dynamic_full)
{
    static const struct vt_seg s[] = { { 0, 6 * MiB } };

    run_case (6 * MiB, false, s, 1);
}

/* A fixed VHD of a 1 TiB thin disk: one placement of the data, one
 * 512-byte footer. */
Test (vhd_images, plan_1t_fixed_is_one_clone_and_a_footer)
{
    struct fmt_extent_list map;
    struct fmt_source_info info = { 0 };
    struct fmt_plan_opts o;
    struct fmt_layout lay;
    uint64_t tib = UINT64_C (1) << 40;

    fmt_extents_init (&map);
    map.size = tib;
    cr_assert_eq (fmt_extents_add_data (&map, 0, tib, 0, 0), 0);
    opts (&o, "big.vhd", true);
    fmt_layout_init (&lay);
    cr_assert_eq (vhd_plan (&info, &map, &o, &lay), 0);
    cr_assert_eq (fmt_layout_check (&lay), 0);
    cr_assert_eq (lay.out[0].place.len, 1);
    cr_assert_eq (lay.out[0].place.ptr[0].kind, FMT_PLACE_CLONE);
    cr_assert_eq (lay.out[0].place.ptr[0].len, tib);
    cr_assert_eq (lay.out[0].blobs.len, 1);
    cr_assert_eq (lay.out[0].blobs.ptr[0].off, tib);
    cr_assert_eq (lay.out[0].blobs.ptr[0].len, 512);
    cr_assert_eq (lay.out[0].file_size, tib + 512);
    fmt_layout_release (&lay);
    /* past 2040 GiB: refused */
    map.size = 2041 * GiB;
    map.v.ptr[0].len = map.size;
    fmt_layout_init (&lay);
    cr_assert_eq (vhd_plan (&info, &map, &o, &lay), -EFBIG);
    fmt_layout_release (&lay);
    fmt_extents_release (&map);
}

/* --------------------------------------------- files qemu-img writes */

static void
qemu_case (const char *create_opts, uint64_t size)
{
    const char *dir = work ();
    char vhd[4096], raw[4096];
    struct test_io *t, *rt;
    struct fmt_extent_list m, rm;
    struct fmt_source_info info = { 0 }, rinfo = { 0 };
    struct fmt_problems probs;

    need_tool ("qemu-img");
    need_tool ("qemu-io");
    snprintf (vhd, sizeof vhd, "%s/q.vhd", dir);
    snprintf (raw, sizeof raw, "%s/q.raw", dir);
    cr_assert_eq (test_sh ("qemu-img create -q -f vpc -o %s '%s' %llu",
                           create_opts, vhd, (unsigned long long) size), 0);
    cr_assert_eq (test_sh ("qemu-io -f vpc -c 'write -P 0x5a 0 64k' "
                           "-c 'write -P 0xa5 3M 1M' '%s' >/dev/null", vhd),
                  0);
    cr_assert_eq (test_sh ("qemu-img convert -f vpc -O raw '%s' '%s'", vhd,
                           raw), 0);
    t = test_io_open (vhd);
    rt = test_io_open (raw);
    fmt_problems_init (&probs);
    cr_assert_eq (vhd_validate (test_io_fmt (t), &probs, &info), 0);
    for (size_t i = 0; i < probs.n; i++) {
        cr_assert (strncmp (probs.msg[i], "warning: ", 9) == 0, "%s",
                   probs.msg[i]);
    }
    fmt_problems_release (&probs);
    fmt_extents_init (&m);
    fmt_extents_init (&rm);
    memset (&info, 0, sizeof info);
    cr_assert_eq (vhd_read_map (test_io_fmt (t), &m, &info), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (raw_read_map (test_io_fmt (rt), &rm, &rinfo), 0);
    cr_assert_eq (m.size, qemu_virtual_size (dir, vhd));
    cr_assert_eq (vt_compare (t, &m, rt, &rm), 0, "guest data differs");
    fmt_extents_release (&m);
    fmt_extents_release (&rm);
    test_io_close (t);
    test_io_close (rt);
}

Test (vhd_qemu, fixed_force_size)
{
    qemu_case ("subformat=fixed,force_size=on", 10 * MiB);
}

Test (vhd_qemu, dynamic_force_size)
{
    qemu_case ("subformat=dynamic,force_size=on", 10 * MiB);
}

/* Without force_size qemu rounds the size up to its CHS geometry and
 * writes creator 'qemu': current size and geometry agree. */
Test (vhd_qemu, dynamic_chs_sized) { qemu_case ("subformat=dynamic", 10 * MiB); }
Test (vhd_qemu, fixed_chs_sized) { qemu_case ("subformat=fixed", 10 * MiB); }

/* ------------------------------------------------------- corruption */

/* A dynamic VHD of 6 MiB with blocks 0 and 2 allocated, in memory. */
static uint8_t *
make_dynamic (size_t *len, uint64_t *bat_off)
{
    const char *dir = work ();
    char raw[4096], vhd[4096];
    static const struct vt_seg s[] = { { 0, 4096 }, { 4 * MiB, 4096 } };
    struct fmt_plan_opts o;
    uint8_t *buf;

    snprintf (raw, sizeof raw, "%s/c.raw", dir);
    snprintf (vhd, sizeof vhd, "%s/c.vhd", dir);
    cr_assert_eq (vt_make_raw (raw, 6 * MiB, s, 2, 9), 0);
    opts (&o, "c.vhd", false);
    convert (raw, dir, &o, NULL);
    buf = vt_slurp (vhd, len);
    cr_assert_not_null (buf);
    *bat_off = get_be64 (buf + 512 + 16);
    return buf;
}

static void
refix_footers (uint8_t *buf, size_t len)
{
    put_be32 (buf + 64, vhd_checksum (buf, 512, 64));
    memcpy (buf + len - 512, buf, 512);
}

static void
expect_problem (const uint8_t *buf, size_t len, const char *needle)
{
    struct test_io *t = test_io_mem (buf, len, "bad.vhd");
    struct fmt_problems probs;
    struct fmt_source_info info = { 0 };
    struct fmt_extent_list m;
    bool found = false;

    fmt_problems_init (&probs);
    cr_assert_eq (vhd_validate (test_io_fmt (t), &probs, &info), 0);
    for (size_t i = 0; i < probs.n; i++) {
        if (strstr (probs.msg[i], needle) &&
            strncmp (probs.msg[i], "warning: ", 9) != 0) {
            found = true;
        }
    }
    cr_assert (found, "no problem mentioning '%s' (first: %s)", needle,
               probs.n ? probs.msg[0] : "none");
    fmt_problems_release (&probs);
    fmt_extents_init (&m);
    cr_assert_lt (vhd_read_map (test_io_fmt (t), &m, &info), 0);
    fmt_extents_release (&m);
    test_io_close (t);
}

static void
expect_warning (const uint8_t *buf, size_t len, const char *needle)
{
    struct test_io *t = test_io_mem (buf, len, "odd.vhd");
    struct fmt_problems probs;
    struct fmt_source_info info = { 0 };
    struct fmt_extent_list m;
    bool found = false;

    fmt_problems_init (&probs);
    cr_assert_eq (vhd_validate (test_io_fmt (t), &probs, &info), 0);
    for (size_t i = 0; i < probs.n; i++) {
        cr_assert (strncmp (probs.msg[i], "warning: ", 9) == 0, "%s",
                   probs.msg[i]);
        found |= strstr (probs.msg[i], needle) != NULL;
    }
    cr_assert (found, "no warning mentioning '%s'", needle);
    fmt_problems_release (&probs);
    fmt_extents_init (&m);
    cr_assert_eq (vhd_read_map (test_io_fmt (t), &m, &info), 0, "%s",
                  vmshift_internal_error_msg ());
    fmt_extents_release (&m);
    test_io_close (t);
}

static void
expect_clean (const uint8_t *buf, size_t len)
{
    struct test_io *t = test_io_mem (buf, len, "ok.vhd");
    struct fmt_problems probs;
    struct fmt_source_info info = { 0 };

    fmt_problems_init (&probs);
    cr_assert_eq (vhd_validate (test_io_fmt (t), &probs, &info), 0);
    cr_assert_eq (probs.n, 0, "%s", probs.n ? probs.msg[0] : "");
    fmt_problems_release (&probs);
    test_io_close (t);
}

Test (vhd_corrupt, valid_base_has_no_problem)
{
    size_t len;
    uint64_t bat;
    uint8_t *b = make_dynamic (&len, &bat);
    struct test_io *t = test_io_mem (b, len, "ok.vhd");
    struct fmt_problems probs;
    struct fmt_source_info info = { 0 };

    fmt_problems_init (&probs);
    cr_assert_eq (vhd_validate (test_io_fmt (t), &probs, &info), 0);
    cr_assert_eq (probs.n, 0, "%s", probs.n ? probs.msg[0] : "");
    cr_assert_eq (bat, 1536);
    fmt_problems_release (&probs);
    test_io_close (t);
    free (b);
}

Test (vhd_corrupt, both_footer_checksums)
{
    size_t len;
    uint64_t bat;
    uint8_t *b = make_dynamic (&len, &bat);

    b[len - 512 + 100] ^= 1;
    b[100] ^= 1;
    expect_problem (b, len, "checksum mismatch");
    free (b);
}

Test (vhd_corrupt, one_footer_damaged_is_a_warning)
{
    size_t len;
    uint64_t bat;
    uint8_t *b = make_dynamic (&len, &bat);

    b[100] ^= 1;                /* the copy at offset 0 */
    expect_warning (b, len, "copy at offset 0");
    b[100] ^= 1;
    b[len - 512 + 100] ^= 1;    /* the footer at the end */
    expect_warning (b, len, "the copy at offset 0 is used");
    free (b);
}

Test (vhd_corrupt, cookie)
{
    size_t len;
    uint64_t bat;
    uint8_t *b = make_dynamic (&len, &bat);

    memcpy (b, "CONECTIX", 8);
    memcpy (b + len - 512, "CONECTIX", 8);
    expect_problem (b, len, "cookie is not 'conectix'");
    free (b);
}

Test (vhd_corrupt, geometry)
{
    size_t len;
    uint64_t bat;
    uint8_t *b = make_dynamic (&len, &bat);

    put_be16 (b + 56, 0);
    refix_footers (b, len);
    expect_problem (b, len, "geometry 0/16/255");
    put_be16 (b + 56, 400);     /* 400*16*255 sectors > 6 MiB */
    b[59] = 255;
    refix_footers (b, len);
    expect_problem (b, len, "more than the current size");
    /* smaller than the size, creator not one qemu trusts: a warning */
    put_be16 (b + 56, 100);
    b[58] = 4;
    b[59] = 17;
    refix_footers (b, len);
    expect_warning (b, len, "qemu reads only the geometry's size");
    free (b);
}

Test (vhd_corrupt, dynamic_header_checksum)
{
    size_t len;
    uint64_t bat;
    uint8_t *b = make_dynamic (&len, &bat);

    b[512 + 40] ^= 1;
    expect_problem (b, len, "dynamic header at 512: checksum mismatch");
    memcpy (b + 512, "cxsparsX", 8);
    expect_problem (b, len, "cookie is not 'cxsparse'");
    free (b);
}

Test (vhd_corrupt, block_beyond_eof)
{
    size_t len;
    uint64_t bat;
    uint8_t *b = make_dynamic (&len, &bat);

    put_be32 (b + bat + 4, (uint32_t) (len / 512));
    expect_problem (b, len, "extends past the footer");
    /* truncated: the last block loses its tail */
    memcpy (b + len - 4096 - 512, b + len - 512, 512);
    expect_problem (b, len - 4096, "extends past the footer");
    free (b);
}

Test (vhd_corrupt, overlapping_blocks)
{
    size_t len;
    uint64_t bat;
    uint8_t *b = make_dynamic (&len, &bat);
    uint32_t e0 = get_be32 (b + bat);

    cr_assert_neq (e0, 0xffffffffu);
    put_be32 (b + bat + 4, e0 + 8);     /* 4 KiB into block 0 */
    expect_problem (b, len, "overlap");
    free (b);
}

Test (vhd_corrupt, bat_bounds)
{
    size_t len;
    uint64_t bat;
    uint8_t *b = make_dynamic (&len, &bat);

    put_be32 (b + bat, 1);      /* block inside the dynamic header */
    expect_problem (b, len, "overlaps the dynamic header");
    put_be32 (b + bat, 0);
    expect_problem (b, len, "overlaps the footer copy");
    put_be32 (b + bat, 3);      /* 1536: on the BAT itself */
    expect_problem (b, len, "overlaps the BAT");
    free (b);
}

Test (vhd_corrupt, bat_too_small_or_outside)
{
    size_t len;
    uint64_t bat;
    uint8_t *b = make_dynamic (&len, &bat);

    put_be32 (b + 512 + 28, 2);         /* 3 blocks needed */
    put_be32 (b + 512 + 36, vhd_checksum (b + 512, 1024, 36));
    expect_problem (b, len, "BAT has 2 entries");
    put_be32 (b + 512 + 28, 3);
    put_be64 (b + 512 + 16, len - 500);
    put_be32 (b + 512 + 36, vhd_checksum (b + 512, 1024, 36));
    expect_problem (b, len, "BAT (12 bytes at");
    free (b);
}

Test (vhd_corrupt, differencing_and_unknown_type)
{
    size_t len;
    uint64_t bat;
    uint8_t *b = make_dynamic (&len, &bat);

    put_be32 (b + 60, 4);
    refix_footers (b, len);
    expect_problem (b, len, "differencing VHD (disk type 4) is unsupported");
    put_be32 (b + 60, 5);
    refix_footers (b, len);
    expect_problem (b, len, "disk type 5");
    free (b);
}

Test (vhd_corrupt, fixed_size_mismatch)
{
    uint8_t *b = calloc (1, 2 * MiB + 512);
    struct vhd_footer f = {
        .features = 2, .version = VHD_VERSION,
        .data_offset = UINT64_MAX, .cur_size = 2 * MiB,
        .cyls = 65535, .heads = 16, .spt = 255,
        .disk_type = VHD_TYPE_FIXED,
    };

    cr_assert_not_null (b);
    vhd_footer_encode (&f, b + 2 * MiB);
    expect_clean (b, 2 * MiB + 512);
    f.cur_size = 3 * MiB;
    vhd_footer_encode (&f, b + 2 * MiB);
    expect_problem (b, 2 * MiB + 512, "truncated");
    f.cur_size = MiB;
    vhd_footer_encode (&f, b + 2 * MiB);
    expect_problem (b, 2 * MiB + 512, "must be the last 512 bytes");
    f.cur_size = 2 * MiB + 100;
    vhd_footer_encode (&f, b + 2 * MiB);
    expect_problem (b, 2 * MiB + 512, "not a nonzero multiple of 512");
    free (b);
}
