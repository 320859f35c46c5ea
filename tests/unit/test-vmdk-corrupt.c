/* VMDK sparse files built byte by byte (hosted sparse and
 * streamOptimized), checked against qemu-img, then corrupted one field
 * at a time: read_map must fail with the right errno and message, the
 * validator must report the problem, nothing may crash (run under ASan
 * with make SANITIZE=1). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "engine/base/endian.h"
#include "engine/base/error.h"
#include "formats/formats.h"
#include "helpers/vmdktest.h"

#define SEC 512u
#define GRAIN_SECTORS 128u
#define CAP_SECTORS 256u                /* two grains */
#define MONO_SECTORS 384u

/* Hosted sparse (monolithicSparse), flags NL|RGD: header, descriptor at
 * 1 (20 sectors), RGD 21, RGT 22, GD 26, GT 27, grains at 128 and 256. */
static void
build_mono (uint8_t *b)
{
    static const char desc[] =
        "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n"
        "createType=\"monolithicSparse\"\n\n# Extent description\n"
        "RW 256 SPARSE \"mem.vmdk\"\n\n#DDB\nddb.adapterType = \"ide\"\n";

    memset (b, 0, MONO_SECTORS * SEC);
    memcpy (b, "KDMV", 4);
    put_le32 (b + 4, 1);
    put_le32 (b + 8, 3);
    put_le64 (b + 12, CAP_SECTORS);
    put_le64 (b + 20, GRAIN_SECTORS);
    put_le64 (b + 28, 1);
    put_le64 (b + 36, 20);
    put_le32 (b + 44, 512);
    put_le64 (b + 48, 21);
    put_le64 (b + 56, 26);
    put_le64 (b + 64, 128);
    memcpy (b + 73, "\n \r\n", 4);
    memcpy (b + SEC, desc, sizeof desc - 1);
    put_le32 (b + 21 * SEC, 22);
    put_le32 (b + 22 * SEC, 128);
    put_le32 (b + 22 * SEC + 4, 256);
    put_le32 (b + 26 * SEC, 27);
    put_le32 (b + 27 * SEC, 128);
    put_le32 (b + 27 * SEC + 4, 256);
    for (size_t i = 0; i < GRAIN_SECTORS * SEC; i++) {
        b[128 * SEC + i] = (uint8_t) (i ^ 0x55);
        b[256 * SEC + i] = (uint8_t) (0xa0 + i / 4096);
    }
}

#define STREAM_MAX (128 * 1024)

static void
marker (uint8_t *b, uint64_t val, uint32_t type)
{
    memset (b, 0, SEC);
    put_le64 (b, val);
    put_le32 (b + 12, type);
}

/* streamOptimized with GD_AT_END: grain markers from sector 128, then GT
 * marker + GT, GD marker + GD, footer marker + footer, EOS.  Returns
 * the length; *gt_at and *g_at[] give sector numbers for mutations. */
static size_t
build_stream (uint8_t *b, uint64_t *gt_at, uint64_t g_at[2])
{
    static const char desc[] =
        "# Disk DescriptorFile\nversion=1\nCID=0badcafe\nparentCID=ffffffff\n"
        "createType=\"streamOptimized\"\n\n# Extent description\n"
        "RW 256 SPARSE \"s.vmdk\"\n";
    uint8_t grain[GRAIN_SECTORS * SEC];
    uint64_t s = 128, gd;

    memset (b, 0, STREAM_MAX);
    memcpy (b, "KDMV", 4);
    put_le32 (b + 4, 3);
    put_le32 (b + 8, 0x30001);
    put_le64 (b + 12, CAP_SECTORS);
    put_le64 (b + 20, GRAIN_SECTORS);
    put_le64 (b + 28, 1);
    put_le64 (b + 36, 20);
    put_le32 (b + 44, 512);
    put_le64 (b + 56, UINT64_MAX);
    put_le64 (b + 64, 128);
    memcpy (b + 73, "\n \r\n", 4);
    put_le16 (b + 77, 1);
    memcpy (b + SEC, desc, sizeof desc - 1);
    for (int g = 0; g < 2; g++) {
        uLongf n = STREAM_MAX / 4;

        for (size_t i = 0; i < sizeof grain; i++) {
            grain[i] = (uint8_t) (g ? i / 512 : i % 251);
        }
        g_at[g] = s;
        put_le64 (b + s * SEC, (uint64_t) g * GRAIN_SECTORS);
        cr_assert_eq (compress2 (b + s * SEC + 12, &n, grain, sizeof grain, 6),
                      Z_OK);
        put_le32 (b + s * SEC + 8, (uint32_t) n);
        s += (12 + n + SEC - 1) / SEC;
    }
    marker (b + s++ * SEC, 4, 1);
    *gt_at = s;
    put_le32 (b + s * SEC, (uint32_t) g_at[0]);
    put_le32 (b + s * SEC + 4, (uint32_t) g_at[1]);
    s += 4;
    marker (b + s++ * SEC, 1, 2);
    gd = s;
    put_le32 (b + s++ * SEC, (uint32_t) *gt_at);
    marker (b + s++ * SEC, 1, 3);
    memcpy (b + s * SEC, b, SEC);
    put_le64 (b + s * SEC + 56, gd);
    s++;
    marker (b + s++ * SEC, 0, 0);
    cr_assert_leq (s * SEC, STREAM_MAX);
    return s * SEC;
}

static uint8_t *
mono_image (void)
{
    uint8_t *b = malloc (MONO_SECTORS * SEC);

    cr_assert_not_null (b);
    build_mono (b);
    return b;
}

static int
map_mem (const uint8_t *b, size_t n, struct fmt_extent_list *m)
{
    struct test_io *t = test_io_mem (b, n, "mem.vmdk");
    struct fmt_source_info info;
    int r;

    cr_assert_not_null (t);
    fmt_extents_init (m);
    memset (&info, 0, sizeof info);
    clear_error ();
    r = vmdk_read_map (test_io_fmt (t), m, &info);
    test_io_close (t);
    return r;
}

/* read_map fails as expected, and the validator reports it. */
static void
expect_bad (const char *what, const uint8_t *b, size_t n, int err,
            const char *msg)
{
    struct test_io *t;
    struct fmt_extent_list m;
    struct fmt_problems p;
    struct fmt_source_info info;
    bool found = false;
    int r = map_mem (b, n, &m);

    cr_assert_eq (r, -err, "%s: read_map gave %d (%s)", what, r,
                  vmshift_internal_error_msg ());
    cr_assert (strstr (vmshift_internal_error_msg (), msg),
               "%s: message '%s' lacks '%s'", what,
               vmshift_internal_error_msg (), msg);
    cr_assert (strstr (vmshift_internal_error_msg (), "'mem.vmdk': "),
               "%s: message does not name the file", what);
    fmt_extents_release (&m);

    t = test_io_mem (b, n, "mem.vmdk");
    fmt_problems_init (&p);
    memset (&info, 0, sizeof info);
    cr_assert_eq (vmdk_validate (test_io_fmt (t), &p, &info), 0, "%s", what);
    for (size_t i = 0; i < p.n; i++) {
        found |= strstr (p.msg[i], msg) != NULL;
    }
    cr_assert (found, "%s: validator did not report '%s' (%zu problems)",
               what, msg, p.n);
    fmt_problems_release (&p);
    test_io_close (t);
}

Test (vmdk_corrupt, built_images_are_valid_and_match_qemu)
{
    uint8_t *mono = mono_image (), *st = malloc (STREAM_MAX);
    uint64_t gt, g[2];
    size_t sn = build_stream (st, &gt, g);
    struct vt_disk d;

    vt_setup ();
    vt_pwrite (vt_path (0, "mono.vmdk"), mono, MONO_SECTORS * SEC, 0);
    vt_pwrite (vt_path (0, "stream.vmdk"), st, sn, 0);
    vt_map (vt_path (0, "mono.vmdk"), &d);
    cr_assert_eq (d.map.size, CAP_SECTORS * SEC);
    cr_assert_eq (d.map.v.len, 1);
    cr_assert_eq (d.map.v.ptr[0].file_off, 128 * SEC);
    vt_close (&d);
    vt_validate_clean (vt_path (0, "mono.vmdk"));
    vt_map (vt_path (0, "stream.vmdk"), &d);
    cr_assert_str_eq (d.info.subformat, "streamOptimized");
    cr_assert_eq (vt_count_kind (&d.map, FMT_EXT_DEFLATE), 2);
    cr_assert_eq (d.map.v.ptr[1].file_off, g[1] * SEC + 12);
    cr_assert_eq (d.map.v.ptr[1].ulen, GRAIN_SECTORS * SEC);
    vt_close (&d);
    vt_validate_clean (vt_path (0, "stream.vmdk"));
    if (test_sh ("command -v qemu-img >/dev/null") == 0) {
        const char *names[] = { "mono.vmdk", "stream.vmdk" };

        for (int i = 0; i < 2; i++) {
            vt_run ("rm -f ref.raw && qemu-img convert -f vmdk -O raw %s "
                    "ref.raw", names[i]);
            vt_map (vt_path (0, names[i]), &d);
            vt_compare_raw (&d, vt_path (1, "ref.raw"));
            vt_close (&d);
        }
    }
    vt_cleanup ();
    free (mono);
    free (st);
}

struct mono_case {
    const char *what;
    size_t off;                 /* byte to patch */
    int width;                  /* 1, 4 or 8 bytes */
    uint64_t val;
    int err;
    const char *msg;
};

static const struct mono_case mono_cases[] = {
    { "bad magic", 3, 1, 'X', EINVAL, "not a VMDK: no sparse extent magic" },
    { "version 4", 4, 4, 4, ENOTSUP, "unsupported sparse extent version 4" },
    { "unknown flag", 8, 4, 0x103, ENOTSUP,
      "unsupported sparse header flags 0x100" },
    { "newline bytes", 75, 1, 'X', EINVAL, "newline detection bytes" },
    { "capacity 0", 12, 8, 0, EINVAL, "capacity is 0" },
    { "capacity 2^40", 12, 8, UINT64_C (1) << 40, EFBIG,
      "exceeds the 64 TiB limit" },
    { "grain 7", 20, 8, 7, EINVAL, "grain size 7 sectors is not a power" },
    { "grain 8", 20, 8, 8, EINVAL, "grain size 8 sectors is not a power" },
    { "grain 96", 20, 8, 96, EINVAL, "grain size 96 sectors" },
    { "grain 4096", 20, 8, 4096, ENOTSUP, "unsupported grain size 4096" },
    { "0 GTEs", 44, 4, 0, EINVAL, "numGTEsPerGT 0" },
    { "513 GTEs", 44, 4, 513, EINVAL, "numGTEsPerGT 513" },
    { "GD past EOF", 56, 8, 100000, EINVAL,
      "grain directory (1 entries at sector 100000) is outside the file" },
    { "GD offset overflows", 56, 8, UINT64_C (1) << 60, EINVAL,
      "grain directory" },
    { "no GD", 56, 8, 0, EINVAL, "no grain directory offset" },
    { "GT past EOF", 26 * SEC, 4, 99999, EINVAL,
      "grain table 0 at sector 99999 is outside the file" },
    { "grain past EOF", 27 * SEC + 4, 4, 99999, EINVAL,
      "grain 1 at sector 99999 is outside the file" },
    { "grain straddles EOF", 27 * SEC + 4, 4, 300, EINVAL,
      "grain 1 at sector 300 is outside the file" },
    { "duplicate grain", 27 * SEC + 4, 4, 128, EINVAL,
      "grain at file offset 65536 overlaps the grain at 65536" },
    { "grain over the GD", 27 * SEC, 4, 26, EINVAL, "overlaps" },
    { "grain over the header", 27 * SEC, 4, 1, EINVAL,
      "overlaps the embedded descriptor" },
    { "GT over the GD", 26 * SEC, 4, 26, EINVAL,
      "grain table at file offset 13312 overlaps the grain directory" },
    { "descriptor past EOF", 28, 8, 5000, EINVAL,
      "embedded descriptor (sector 5000) is outside the file" },
    { "descriptor size 0", 36, 8, 0, EINVAL,
      "embedded descriptor size 0 sectors" },
    { "compressed, no markers", 8, 4, 0x10003, ENOTSUP,
      "compressed grains without grain markers" },
    { "markers, no compression", 8, 4, 0x20003, ENOTSUP,
      "grain markers without compression" },
    { "GD_AT_END without markers", 56, 8, UINT64_MAX, EINVAL,
      "GD_AT_END" },
    { "bad embedded descriptor", SEC + 80, 1, 'Q', ENOTSUP,
      "line 5: unsupported VMDK subformat 'monoQithicSparse'" },
    { "NUL cuts the descriptor", SEC + 30, 1, 0, EINVAL,
      "line 2: version '' is not a number" },
    { "control char in the descriptor", SEC + 30, 1, 1, EINVAL,
      "control character" },
};

static void
patch (uint8_t *b, size_t off, int width, uint64_t v)
{
    switch (width) {
    case 1: b[off] = (uint8_t) v; break;
    case 4: put_le32 (b + off, (uint32_t) v); break;
    default: put_le64 (b + off, v); break;
    }
}

Test (vmdk_corrupt, hosted_sparse_field_by_field)
{
    for (size_t i = 0; i < sizeof mono_cases / sizeof mono_cases[0]; i++) {
        const struct mono_case *c = &mono_cases[i];
        uint8_t *b = mono_image ();

        patch (b, c->off, c->width, c->val);
        expect_bad (c->what, b, MONO_SECTORS * SEC, c->err, c->msg);
        free (b);
    }
}

/* Regression: qemu rewrites the embedded descriptor in place when the
 * CID changes; a CID printed one digit shorter leaves the old final
 * newline after the new NUL ("...\"\n\0\n").  Such files are valid. */
Test (vmdk_corrupt, qemu_leftover_after_embedded_descriptor)
{
    uint8_t *b = mono_image ();
    struct fmt_extent_list m;
    const char *end = memchr (b + SEC, '\0', 20 * SEC);

    cr_assert_not_null (end);
    b[(size_t) (end - (const char *) b) + 1] = '\n';
    cr_assert_eq (map_mem (b, MONO_SECTORS * SEC, &m), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (m.size, CAP_SECTORS * SEC);
    fmt_extents_release (&m);
    free (b);
}

Test (vmdk_corrupt, redundant_tables_are_compared_by_the_validator)
{
    uint8_t *b = mono_image ();
    struct fmt_extent_list m;
    struct fmt_problems p;
    struct fmt_source_info info;
    struct test_io *t;

    put_le32 (b + 22 * SEC + 4, 0);     /* redundant GT loses grain 1 */
    cr_assert_eq (map_mem (b, MONO_SECTORS * SEC, &m), 0, "readers use "
                  "the primary tables: %s", vmshift_internal_error_msg ());
    cr_assert_eq (fmt_extents_allocated (&m), 2 * GRAIN_SECTORS * SEC);
    fmt_extents_release (&m);
    t = test_io_mem (b, MONO_SECTORS * SEC, "mem.vmdk");
    fmt_problems_init (&p);
    memset (&info, 0, sizeof info);
    cr_assert_eq (vmdk_validate (test_io_fmt (t), &p, &info), 0);
    cr_assert_eq (p.n, 1);
    cr_assert_str_eq (p.msg[0], "grain table 0 differs from its redundant "
                      "copy");
    fmt_problems_release (&p);
    test_io_close (t);

    put_le32 (b + 21 * SEC, 0);         /* redundant GD entry gone */
    t = test_io_mem (b, MONO_SECTORS * SEC, "mem.vmdk");
    fmt_problems_init (&p);
    cr_assert_eq (vmdk_validate (test_io_fmt (t), &p, &info), 0);
    cr_assert_eq (p.n, 1);
    cr_assert (strstr (p.msg[0], "grain directory entry 0 differs from the "
                       "redundant one (27, 0)"), "%s", p.msg[0]);
    fmt_problems_release (&p);
    test_io_close (t);
    free (b);
}

Test (vmdk_corrupt, truncated_files)
{
    uint8_t *b = mono_image ();

    expect_bad ("cut in the last grain", b, 300 * SEC, EINVAL,
                "grain 1 at sector 256 is outside the file");
    expect_bad ("cut in the GT", b, 27 * SEC + 4, EINVAL,
                "grain table 0 at sector 27 is outside the file");
    expect_bad ("cut in the header", b, 100, EINVAL,
                "shorter than the 512-byte sparse header");
    expect_bad ("magic only", b, 4, EINVAL, "shorter than the 512-byte");
    free (b);
}

Test (vmdk_corrupt, validator_reports_every_header_problem)
{
    uint8_t *b = mono_image ();
    struct test_io *t;
    struct fmt_problems p;
    struct fmt_source_info info;

    put_le32 (b + 4, 7);                /* version */
    put_le32 (b + 8, 0x80003);          /* flag */
    put_le64 (b + 20, 100);             /* grain */
    b[72] = 1;                          /* unclean */
    t = test_io_mem (b, MONO_SECTORS * SEC, "mem.vmdk");
    fmt_problems_init (&p);
    memset (&info, 0, sizeof info);
    cr_assert_eq (vmdk_validate (test_io_fmt (t), &p, &info), 0);
    cr_assert_eq (p.n, 4, "%zu problems", p.n);
    cr_assert (strstr (p.msg[0], "version 7"));
    cr_assert (strstr (p.msg[1], "flags 0x80000"));
    cr_assert (strstr (p.msg[2], "grain size 100"));
    cr_assert (strstr (p.msg[3], "not closed cleanly"));
    cr_assert_eq (info.type, FMT_VMDK);
    fmt_problems_release (&p);
    test_io_close (t);
    free (b);
}

Test (vmdk_corrupt, stream_optimized_grains_and_footer)
{
    uint8_t *b = malloc (STREAM_MAX);
    uint64_t gt, g[2];
    size_t n;

    n = build_stream (b, &gt, g);
    b[g[0] * SEC + 12 + 20] ^= 0xff;    /* deflate data */
    expect_bad ("corrupt zlib", b, n, EINVAL, "grain 0 at sector 128:");

    n = build_stream (b, &gt, g);
    put_le64 (b + g[1] * SEC, 0);       /* marker LBA */
    expect_bad ("marker LBA", b, n, EINVAL,
                "says LBA 0 but the grain table maps it to LBA 128");

    n = build_stream (b, &gt, g);
    put_le32 (b + g[1] * SEC + 8, 0x7fffffff);
    expect_bad ("huge compressed size", b, n, EINVAL,
                "grain 1: compressed size 2147483647");

    n = build_stream (b, &gt, g);
    put_le32 (b + g[0] * SEC + 8, 0);
    expect_bad ("zero compressed size", b, n, EINVAL, "compressed size 0");

    n = build_stream (b, &gt, g);
    put_le32 (b + gt * SEC + 4, (uint32_t) g[0]);
    expect_bad ("grain marker used twice", b, n, EINVAL, "says LBA 0");

    n = build_stream (b, &gt, g);
    expect_bad ("footer cut off", b, n - SEC, EINVAL,
                "streamOptimized footer");

    n = build_stream (b, &gt, g);
    put_le64 (b + n - 2 * SEC + 12, 999);
    expect_bad ("footer capacity", b, n, EINVAL,
                "footer does not match the header");

    n = build_stream (b, &gt, g);
    expect_bad ("tiny", b, 600, EINVAL, "too short for the streamOptimized");
    free (b);
}

Test (vmdk_corrupt, text_descriptor_in_memory_cannot_reach_files)
{
    static const char d[] = "version=1\nCID=1\nparentCID=ffffffff\n"
                            "createType=\"vmfs\"\nRW 8 VMFS \"x-flat.vmdk\"\n";
    struct fmt_extent_list m;

    cr_assert_eq (map_mem ((const uint8_t *) d, sizeof d - 1, &m), -ENOENT);
    cr_assert (strstr (vmshift_internal_error_msg (),
                       "cannot open extent file 'x-flat.vmdk'"));
    fmt_extents_release (&m);
}

Test (vmdk_corrupt, empty_and_binary_files_are_not_vmdk)
{
    static const uint8_t elf[16] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };
    static const uint8_t zeros[4096];
    struct fmt_extent_list m;

    cr_assert_eq (map_mem (zeros, 0, &m), -EINVAL);
    cr_assert (strstr (vmshift_internal_error_msg (),
                       "'mem.vmdk': not a VMDK: no sparse extent magic"));
    cr_assert_eq (map_mem (zeros, sizeof zeros, &m), -EINVAL);
    cr_assert (strstr (vmshift_internal_error_msg (), "not a VMDK"));
    cr_assert_eq (map_mem (elf, sizeof elf, &m), -EINVAL);
    cr_assert (strstr (vmshift_internal_error_msg (), "not a VMDK"));
    fmt_extents_release (&m);
}
