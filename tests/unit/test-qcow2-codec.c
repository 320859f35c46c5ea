/* qcow2 codec: header encode/decode, feature bit handling, header
 * extensions, L2 entry decoding and the size arithmetic of recipes C.4 /
 * C.5 (docs/formats.md C.6, qemu-img measure). */
#include <criterion/criterion.h>
#include <string.h>

#include "engine/base/endian.h"
#include "engine/base/error.h"
#include "formats/formats.h"
#include "formats/qcow2.h"

#define MiB (UINT64_C (1) << 20)
#define TiB (UINT64_C (1) << 40)

static struct qcow2_header
sample_header (void)
{
    struct qcow2_header h = {
        .magic = QCOW2_MAGIC, .version = 3, .backing_file_offset = 0x1234,
        .backing_file_size = 17, .cluster_bits = 16,
        .size = UINT64_C (0x123456789a00), .crypt_method = 2,
        .l1_size = 0x01020304, .l1_table_offset = UINT64_C (0x30000),
        .refcount_table_offset = UINT64_C (0x10000),
        .refcount_table_clusters = 7, .nb_snapshots = 3,
        .snapshots_offset = UINT64_C (0x7770000),
        .incompatible_features = UINT64_C (0x8000000000000014),
        .compatible_features = 1, .autoclear_features = 3,
        .refcount_order = 5, .header_length = 112, .compression_type = 1,
    };
    return h;
}

#define SAME(f) cr_assert_eq (a.f, b.f, #f)

Test (qcow2_codec, header_round_trip_v3)
{
    struct qcow2_header a = sample_header (), b;
    uint8_t buf[112];

    memset (buf, 0xee, sizeof buf);
    qcow2_header_encode (&a, buf, sizeof buf);
    /* spot-check the big-endian layout against the spec table */
    cr_assert_arr_eq (buf, "QFI\xfb\0\0\0\3", 8);
    cr_assert_eq (get_be64 (buf + 24), a.size);
    cr_assert_eq (buf[31], 0x00);
    cr_assert_eq (buf[30], 0x9a);
    cr_assert_eq (get_be32 (buf + 36), 0x01020304);
    cr_assert_eq (get_be32 (buf + 100), 112);
    cr_assert_eq (buf[104], 1);
    for (int i = 105; i < 112; i++) {
        cr_assert_eq (buf[i], 0, "padding byte %d", i);
    }
    cr_assert_eq (qcow2_header_decode (buf, sizeof buf, &b), 0);
    SAME (magic); SAME (version); SAME (backing_file_offset);
    SAME (backing_file_size); SAME (cluster_bits); SAME (size);
    SAME (crypt_method); SAME (l1_size); SAME (l1_table_offset);
    SAME (refcount_table_offset); SAME (refcount_table_clusters);
    SAME (nb_snapshots); SAME (snapshots_offset);
    SAME (incompatible_features); SAME (compatible_features);
    SAME (autoclear_features); SAME (refcount_order); SAME (header_length);
    SAME (compression_type);
}

Test (qcow2_codec, header_v2_defaults_and_short_buffers)
{
    struct qcow2_header a = sample_header (), b;
    uint8_t buf[112];

    a.version = 2;
    memset (buf, 0xff, sizeof buf);
    qcow2_header_encode (&a, buf, sizeof buf);
    cr_assert_eq (buf[72], 0xff, "v2 encode wrote past 72 bytes");
    cr_assert_eq (qcow2_header_decode (buf, 72, &b), 0);
    cr_assert_eq (b.version, 2);
    cr_assert_eq (b.refcount_order, 4);
    cr_assert_eq (b.header_length, 72);
    cr_assert_eq (b.incompatible_features, 0);
    cr_assert_eq (b.compression_type, 0);
    cr_assert_eq (qcow2_header_decode (buf, 71, &b), -EINVAL);
    a.version = 3;
    qcow2_header_encode (&a, buf, sizeof buf);
    cr_assert_eq (qcow2_header_decode (buf, 103, &b), -EINVAL);
    /* header_length 104: no compression_type field even if the byte is set */
    put_be32 (buf + 100, 104);
    buf[104] = 1;
    cr_assert_eq (qcow2_header_decode (buf, sizeof buf, &b), 0);
    cr_assert_eq (b.compression_type, 0);
}

/* ------------------------------------------------- feature bit handling */

struct feature_case {
    uint64_t incompat, compat, autoclear;
    uint32_t header_length;
    uint8_t compression_type;
    bool fatal;
    int err;                    /* errno of the first problem, 0 = none */
    const char *msg;
};

static const struct feature_case feature_cases[] = {
    { 0, 0, 0, 112, 0, false, 0, NULL },
    { 1, 0, 0, 112, 0, false, EINVAL, "image is dirty" },
    { 2, 0, 0, 112, 0, false, EINVAL, "marked corrupt" },
    { 4, 0, 0, 112, 0, false, 0, NULL },                  /* data file */
    { 16, 0, 0, 112, 0, false, 0, NULL },                 /* extended L2 */
    { 8, 0, 0, 104, 0, false, EINVAL, "no compression_type field" },
    { 8, 0, 0, 112, 0, false, EINVAL, "compression type 0 (deflate)" },
    { 8, 0, 0, 112, 1, false, 0, NULL },                  /* zstd */
    { 8, 0, 0, 112, 2, false, ENOTSUP, "unsupported compression type 2" },
    { 0, 0, 0, 112, 1, false, EINVAL, "compression type bit" },
    { 32, 0, 0, 112, 0, true, ENOTSUP, "incompatible feature bit 5" },
    { UINT64_C (1) << 40, 0, 0, 112, 0, true, ENOTSUP, "feature bit 40" },
    { 0, 1, 0, 112, 0, false, 0, NULL },                  /* lazy refcounts */
    { 0, ~UINT64_C (0), 0, 112, 0, false, 0, NULL },      /* unknown compat */
    { 0, 0, UINT64_C (1) << 10, 112, 0, false, 0, NULL }, /* unknown bit */
    { 0, 0, 2, 112, 0, false, EINVAL, "raw external data bit" },
    { 4, 0, 2, 112, 0, false, 0, NULL },                  /* raw data file */
    { 0, 0, 1, 112, 0, false, EINVAL, "bitmaps bit" },
};

Test (qcow2_codec, feature_bits)
{
    static uint8_t hc[65536];

    for (size_t i = 0; i < sizeof feature_cases / sizeof feature_cases[0];
         i++) {
        const struct feature_case *k = &feature_cases[i];
        struct qcow2_header h = sample_header ();
        struct qcow2_exts x;
        struct fmt_problems p;
        struct qcow2_report rep = { .probs = &p, .file = "f" };
        bool fatal;

        h.crypt_method = 0;
        h.backing_file_offset = 0;
        h.nb_snapshots = 0;
        h.incompatible_features = k->incompat;
        h.compatible_features = k->compat;
        h.autoclear_features = k->autoclear;
        h.header_length = k->header_length;
        h.compression_type = k->compression_type;
        memset (&x, 0, sizeof x);
        fmt_problems_init (&p);
        fatal = qcow2_features_check (&h, &x, hc, &rep);
        cr_expect_eq (fatal, k->fatal, "case %zu", i);
        cr_expect_eq (rep.err, -k->err, "case %zu: %d", i, rep.err);
        if (k->msg) {
            cr_expect (p.n > 0 && strstr (p.msg[0], k->msg), "case %zu: '%s'",
                       i, p.n ? p.msg[0] : "");
        } else {
            cr_expect_eq (p.n, 0, "case %zu: '%s'", i, p.n ? p.msg[0] : "");
        }
        fmt_problems_release (&p);
    }
}

/* Unknown incompatible bits are named from the feature name table. */
Test (qcow2_codec, unknown_bit_named_from_feature_table)
{
    static uint8_t hc[4096];
    uint8_t names[2][QCOW2_FEATURE_NAME_ENTRY] = { { 0 } };
    struct qcow2_header h = sample_header ();
    struct qcow2_exts x;
    struct fmt_problems p;
    struct qcow2_report rep = { .probs = &p, .file = "f" };
    size_t off = 112;

    h.crypt_method = 0;
    h.backing_file_offset = 0;
    h.nb_snapshots = 0;
    h.autoclear_features = 0;
    h.compression_type = 0;
    h.incompatible_features = UINT64_C (1) << 9;
    names[0][0] = 1;            /* compatible bit 9: must not be used */
    names[0][1] = 9;
    memcpy (names[0] + 2, "wrong one", 9);
    names[1][0] = 0;
    names[1][1] = 9;
    memcpy (names[1] + 2, "time travel", 11);
    cr_assert (qcow2_ext_put (hc, sizeof hc, &off, QCOW2_EXT_FEATURE_NAMES,
                              names, sizeof names));
    cr_assert (qcow2_ext_put (hc, sizeof hc, &off, QCOW2_EXT_END, NULL, 0));
    fmt_problems_init (&p);
    cr_assert_not (qcow2_exts_parse (&h, hc, sizeof hc, &x, &rep));
    cr_assert (qcow2_features_check (&h, &x, hc, &rep));
    cr_assert_eq (p.n, 1);
    cr_assert_str_eq (p.msg[0], "unsupported incompatible feature bit 9 "
                      "('time travel')");
    fmt_problems_release (&p);
}

/* ---------------------------------------------------------- extensions */

Test (qcow2_codec, extensions_parse)
{
    static uint8_t hc[65536];
    uint8_t bm[QCOW2_BITMAPS_EXT_LEN] = { 0 };
    uint8_t names[QCOW2_FEATURE_NAME_ENTRY] = { 0, 2, 'd', 'f' };
    struct qcow2_header h = sample_header ();
    struct qcow2_exts x;
    struct fmt_problems p;
    struct qcow2_report rep = { .probs = &p, .file = "f" };
    size_t off = 112;

    h.backing_file_offset = 4000;
    h.backing_file_size = 9;
    h.autoclear_features = QCOW2_AUTOCLEAR_BITMAPS;
    put_be32 (bm, 2);
    put_be64 (bm + 8, 96);
    put_be64 (bm + 16, 0x50000);
    cr_assert (qcow2_ext_put (hc, sizeof hc, &off, QCOW2_EXT_BACKING_FORMAT,
                              "qcow2", 5));
    cr_assert_eq (off, 112 + 8 + 8);        /* padded to 8 */
    cr_assert (qcow2_ext_put (hc, sizeof hc, &off, 0x12345678, "abcde", 5));
    cr_assert (qcow2_ext_put (hc, sizeof hc, &off, QCOW2_EXT_FEATURE_NAMES,
                              names, sizeof names));
    cr_assert (qcow2_ext_put (hc, sizeof hc, &off, QCOW2_EXT_DATA_FILE,
                              "dir/data.raw", 12));
    cr_assert (qcow2_ext_put (hc, sizeof hc, &off, QCOW2_EXT_BITMAPS, bm,
                              sizeof bm));
    cr_assert (qcow2_ext_put (hc, sizeof hc, &off, QCOW2_EXT_END, NULL, 0));
    memcpy (hc + 4000, "base.img2", 9);
    fmt_problems_init (&p);
    cr_assert_not (qcow2_exts_parse (&h, hc, sizeof hc, &x, &rep));
    cr_assert_eq (p.n, 0, "%s", p.n ? p.msg[0] : "");
    cr_assert (x.has_backing_format);
    cr_assert (x.has_feature_names);
    cr_assert_eq (x.feature_names_len, QCOW2_FEATURE_NAME_ENTRY);
    cr_assert (x.has_data_file);
    cr_assert_str_eq (x.data_file, "dir/data.raw");
    cr_assert (x.has_bitmaps);
    cr_assert_eq (x.nb_bitmaps, 2);
    cr_assert_eq (x.bitmap_dir_size, 96);
    cr_assert_eq (x.bitmap_dir_offset, 0x50000);
    cr_assert_eq (x.nunknown, 1);
    cr_assert_str_eq (x.backing_file, "base.img2");
    fmt_problems_release (&p);
}

Test (qcow2_codec, extensions_errors)
{
    static uint8_t hc[4096];
    struct qcow2_header h = sample_header ();
    struct qcow2_exts x;
    struct fmt_problems p;
    struct qcow2_report rep = { .probs = &p, .file = "f" };
    size_t off = 112;

    h.backing_file_offset = 0;
    h.autoclear_features = 0;
    /* the same extension twice */
    cr_assert (qcow2_ext_put (hc, sizeof hc, &off, QCOW2_EXT_DATA_FILE, "a",
                              1));
    cr_assert (qcow2_ext_put (hc, sizeof hc, &off, QCOW2_EXT_DATA_FILE, "b",
                              1));
    fmt_problems_init (&p);
    cr_assert_not (qcow2_exts_parse (&h, hc, sizeof hc, &x, &rep));
    cr_assert_eq (p.n, 1);
    cr_assert_not_null (strstr (p.msg[0], "more than once"));
    fmt_problems_release (&p);
    /* bitmaps extension of the wrong length; empty data file name */
    memset (hc, 0, sizeof hc);
    off = 112;
    cr_assert (qcow2_ext_put (hc, sizeof hc, &off, QCOW2_EXT_BITMAPS, "x", 1));
    cr_assert (qcow2_ext_put (hc, sizeof hc, &off, QCOW2_EXT_DATA_FILE, "", 0));
    fmt_problems_init (&p);
    cr_assert_not (qcow2_exts_parse (&h, hc, sizeof hc, &x, &rep));
    cr_assert_eq (p.n, 2);
    cr_assert_not_null (strstr (p.msg[0], "bitmaps extension is 1 bytes"));
    cr_assert_not_null (strstr (p.msg[1], "data file name extension is "
                                "invalid"));
    fmt_problems_release (&p);
    /* an extension longer than the header cluster: fatal */
    memset (hc, 0, sizeof hc);
    put_be32 (hc + 112, 0x1111);
    put_be32 (hc + 116, 4096);
    fmt_problems_init (&p);
    cr_assert (qcow2_exts_parse (&h, hc, sizeof hc, &x, &rep));
    cr_assert_not_null (strstr (p.msg[0], "runs past the end"));
    fmt_problems_release (&p);
    /* no room to write */
    off = sizeof hc - 8;
    cr_assert_not (qcow2_ext_put (hc, sizeof hc, &off, 1, "x", 1));
}

/* ------------------------------------------------------------ L2 entries */

Test (qcow2_codec, l2_entry_decoding)
{
    struct qcow2_image img;
    struct qcow2_l2e d;
    char why[160];
    unsigned x = 62 - (16 - 8);
    uint64_t coff = 0x123456789, nsec = 3;

    memset (&img, 0, sizeof img);
    img.h.version = 3;
    img.h.cluster_bits = 16;
    img.cluster_size = 65536;
    cr_assert_null (qcow2_l2e_decode (&img, 0, 0, 0, &d, why, sizeof why));
    cr_assert_eq (d.kind, QCOW2_CL_UNALLOC);
    cr_assert_null (qcow2_l2e_decode (&img, 0, 1, 0, &d, why, sizeof why));
    cr_assert_eq (d.kind, QCOW2_CL_ZERO_PLAIN);
    cr_assert_null (qcow2_l2e_decode (&img, 0, 0x50000 | 1 | QCOW2_OFLAG_COPIED,
                                      0, &d, why, sizeof why));
    cr_assert_eq (d.kind, QCOW2_CL_ZERO_ALLOC);
    cr_assert_null (qcow2_l2e_decode (&img, 0, 0x50000 | QCOW2_OFLAG_COPIED,
                                      0, &d, why, sizeof why));
    cr_assert_eq (d.kind, QCOW2_CL_NORMAL);
    cr_assert_eq (d.host, 0x50000);
    cr_assert (d.copied);
    /* compressed: offset in bits 0..x-1, extra sectors in x..61 */
    cr_assert_null (qcow2_l2e_decode (&img, 0, QCOW2_OFLAG_COMPRESSED |
                                      (nsec << x) | coff, 0, &d, why,
                                      sizeof why));
    cr_assert_eq (d.kind, QCOW2_CL_COMPRESSED);
    cr_assert_eq (d.host, coff);
    cr_assert_eq (d.csize, (nsec + 1) * 512 - (coff & 511));
    cr_assert_not_null (qcow2_l2e_decode (&img, 0, 0x50200, 0, &d, why,
                                          sizeof why));
    cr_assert_not_null (strstr (why, "not aligned"));
    cr_assert_not_null (qcow2_l2e_decode (&img, 0, 0x50000 | 2, 0, &d, why,
                                          sizeof why));
    cr_assert_not_null (strstr (why, "reserved bits"));
    /* v2 has no zero flag */
    img.h.version = 2;
    cr_assert_not_null (qcow2_l2e_decode (&img, 0, 1, 0, &d, why, sizeof why));
    /* extended L2: the bitmap decides */
    img.h.version = 3;
    img.ext_l2 = true;
    cr_assert_null (qcow2_l2e_decode (&img, 0, 0x50000 | QCOW2_OFLAG_COPIED,
                                      UINT64_C (0x0000000400000003), &d, why,
                                      sizeof why));
    cr_assert_eq (d.kind, QCOW2_CL_NORMAL);
    cr_assert_eq (d.alloc, 3);
    cr_assert_eq (d.zero, 4);
    cr_assert_not_null (qcow2_l2e_decode (&img, 0, 0x50000,
                                          UINT64_C (0x100000001), &d, why,
                                          sizeof why));
    cr_assert_not_null (qcow2_l2e_decode (&img, 0, 0, 1, &d, why, sizeof why));
    /* external data file: host must be the guest offset, COPIED set */
    img.ext_l2 = false;
    img.data_file = true;
    cr_assert_null (qcow2_l2e_decode (&img, 0, QCOW2_OFLAG_COPIED, 0, &d, why,
                                      sizeof why));
    cr_assert_eq (d.kind, QCOW2_CL_NORMAL);
    cr_assert_eq (d.host, 0);
    cr_assert_null (qcow2_l2e_decode (&img, 3, (3 * 65536) | QCOW2_OFLAG_COPIED,
                                      0, &d, why, sizeof why));
    cr_assert_not_null (qcow2_l2e_decode (&img, 3, (4 * 65536) |
                                          QCOW2_OFLAG_COPIED, 0, &d, why,
                                          sizeof why));
    cr_assert_not_null (strstr (why, "does not match the guest offset"));
    cr_assert_not_null (qcow2_l2e_decode (&img, 3, 3 * 65536, 0, &d, why,
                                          sizeof why));
    cr_assert_not_null (strstr (why, "COPIED"));
}

/* ------------------------------------------------------- size arithmetic */

static uint64_t
meta_bytes (uint64_t size, uint32_t cluster, bool full, bool data_file)
{
    struct qcow2_run run = { 0, (size + cluster - 1) / cluster };
    struct qcow2_geo g;

    cr_assert_eq (qcow2_geo_compute (size, cluster, &run, full ? 1 : 0,
                                     data_file, &g), 0);
    return g.meta_clusters * cluster;
}

/* docs/formats.md C.4 / C.6, equal to qemu-img measure "required size" */
Test (qcow2_codec, metadata_sizes_c6)
{
    cr_assert_eq (meta_bytes (1 * TiB, 65536, true, false), 168034304);
    cr_assert_eq (meta_bytes (1 * TiB, 2 << 20, true, false), 12582912);
    cr_assert_eq (meta_bytes (64 * TiB, 65536, true, false), 10739253248ull);
    cr_assert_eq (meta_bytes (64 * TiB, 2 << 20, true, false), 343932928);
    /* with an external data file: 128.25 MiB/TiB at 64 KiB, 12 MiB at 2 MiB,
     * 264 MiB for 64 TiB at 2 MiB */
    cr_assert_eq (meta_bytes (1 * TiB, 65536, true, true), 134479872);
    cr_assert_eq (meta_bytes (1 * TiB, 2 << 20, true, true), 12 * MiB);
    cr_assert_eq (meta_bytes (64 * TiB, 2 << 20, true, true), 264 * MiB);
    /* empty disk: header, refcount table, refcount block (qemu: 196608) */
    cr_assert_eq (meta_bytes (0, 65536, false, false), 196608);
    /* thin 1 TiB at 64 KiB: no L2 tables, a 16 KiB L1 in one cluster */
    cr_assert_eq (meta_bytes (1 * TiB, 65536, false, false), 4 * 65536);
}

Test (qcow2_codec, geometry_sparse_runs_and_limits)
{
    /* 64 KiB clusters: L2 maps 8192 clusters, a refblock 32768 */
    struct qcow2_run runs[] = { { 0, 1 }, { 8192 * 3 + 5, 8192 * 3 + 6 },
                                { 40000, 40010 } };
    struct qcow2_geo g;

    cr_assert_eq (qcow2_geo_compute (8 * (UINT64_C (1) << 30), 65536, runs, 3,
                                     false, &g), 0);
    cr_assert_eq (g.l1_entries, 16);
    cr_assert_eq (g.l2_tables, 3);
    cr_assert_eq (g.meta_clusters, 1 + 1 + 2 + 1 + 3);
    cr_assert_eq (g.refblocks, 2);          /* block 0 and block 1 */
    cr_assert_eq (g.file_clusters, g.meta_clusters + 40010);
    /* 64 TiB at 4 KiB clusters needs a 256 MiB L1 table */
    cr_assert_eq (qcow2_geo_compute (64 * TiB, 4096, NULL, 0, false, &g),
                  -EFBIG);
    cr_assert_eq (qcow2_geo_compute (1 * TiB, 3000, NULL, 0, false, &g),
                  -EINVAL);
}

Test (qcow2_codec, planner_options)
{
    struct fmt_extent_list map;
    struct fmt_layout lay;
    struct fmt_source_info info = { .type = FMT_RAW };
    struct fmt_plan_opts o = { .target_name = "t.qcow2", .clone_align = 4096 };
    static const uint32_t bad[] = { 2048, 512, 3000, 4 << 20 };

    fmt_extents_init (&map);
    map.size = 1 << 20;
    cr_assert_eq (fmt_extents_add_zero (&map, 0, 1 << 20), 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o.cluster_size = bad[i];
        fmt_layout_init (&lay);
        cr_expect_eq (fmt_plan (FMT_QCOW2, &info, &map, &o, &lay), -EINVAL,
                      "cluster %u", bad[i]);
        fmt_layout_release (&lay);
    }
    o.cluster_size = 2048;
    fmt_layout_init (&lay);
    fmt_plan (FMT_QCOW2, &info, &map, &o, &lay);
    cr_assert_not_null (strstr (vmshift_internal_error_msg (), "4 KiB"));
    fmt_layout_release (&lay);
    o.cluster_size = 0;
    o.qcow2_data_file = true;
    o.data_file_path = "/v/other.raw";
    o.data_file_name = "disk.raw";
    fmt_layout_init (&lay);
    cr_assert_eq (fmt_plan (FMT_QCOW2, &info, &map, &o, &lay), -EINVAL);
    fmt_layout_release (&lay);
    o.data_file_path = "/v/disk.raw";
    fmt_layout_init (&lay);
    cr_assert_eq (fmt_plan (FMT_QCOW2, &info, &map, &o, &lay), 0);
    cr_assert_eq (lay.out[0].file_size, 4 * QCOW2_DEFAULT_CLUSTER + 0 +
                  QCOW2_DEFAULT_CLUSTER);   /* hdr, rt, rb, L1, one L2 */
    fmt_layout_release (&lay);
    fmt_extents_release (&map);
}

/* Generator blobs give the same bytes however they are read: whole, or
 * in odd-sized pieces in any order. */
Test (qcow2_codec, generators_any_window)
{
    struct fmt_extent_list map;
    struct fmt_layout lay;
    struct fmt_source_info info = { .type = FMT_RAW };
    struct fmt_plan_opts o = {
        .cluster_size = 4096, .target_name = "g.qcow2", .clone_align = 4096,
    };
    uint64_t pos = 0, x = 12345;

    fmt_extents_init (&map);
    map.size = 64 * MiB;
    /* alternating data and holes of varying sizes */
    for (int i = 0; pos < map.size; i++) {
        uint64_t len = (uint64_t) (i % 7 + 1) * 3 * 4096 + (i % 3) * 512;

        if (len > map.size - pos) {
            len = map.size - pos;
        }
        if (i % 2) {
            cr_assert_eq (fmt_extents_add_zero (&map, pos, len), 0);
        } else {
            cr_assert_eq (fmt_extents_add_data (&map, pos, len, 0, pos), 0);
        }
        pos += len;
    }
    fmt_layout_init (&lay);
    cr_assert_eq (fmt_plan (FMT_QCOW2, &info, &map, &o, &lay), 0);
    for (size_t i = 0; i < lay.out[0].blobs.len; i++) {
        const struct fmt_blob *b = &lay.out[0].blobs.ptr[i];
        uint8_t *whole = malloc (b->len), *part = malloc (b->len);

        cr_assert_eq (fmt_blob_read (b, 0, whole, b->len), 0);
        memset (part, 0xcc, b->len);
        /* pieces of 1..4099 bytes, last piece first */
        for (uint64_t end = b->len; end > 0;) {
            uint64_t n;

            x = x * 6364136223846793005ull + 1442695040888963407ull;
            n = (x >> 33) % 4099 + 1;
            if (n > end) {
                n = end;
            }
            cr_assert_eq (fmt_blob_read (b, end - n, part + end - n, n), 0);
            end -= n;
        }
        cr_assert_arr_eq (whole, part, b->len, "blob '%s'", b->what);
        free (whole);
        free (part);
    }
    cr_assert_gt (lay.out[0].blobs.len, 4);
    fmt_layout_release (&lay);
    fmt_extents_release (&map);
}
