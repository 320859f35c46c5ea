/* qcow2 read_map and validator on images written by others: qemu-img /
 * qemu-io (standard, zero clusters, compressed, extended L2, v2, external
 * data file, snapshots, bitmaps, zstd, backing file, encryption) and the
 * corpus (dfvfs ext2.qcow2, windows_volume.qcow2).  Reference bytes come
 * from `qemu-img convert -O raw`. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "formats/formats.h"
#include "formats/qcow2.h"
#include "helpers/qcow2test.h"
#include "helpers/testio.h"

struct qimg {
    char *dir;
    char img[4096];
    char ref[4096];
};

static void
qimg_create (struct qimg *q, const char *opts, const char *size)
{
    if (!qt_have ("qemu-img") || !qt_have ("qemu-io")) {
        cr_skip_test ("qemu-img / qemu-io are not installed");
    }
    q->dir = qt_tmpdir ();
    cr_assert_not_null (q->dir);
    snprintf (q->img, sizeof q->img, "%s/img.qcow2", q->dir);
    snprintf (q->ref, sizeof q->ref, "%s/ref.raw", q->dir);
    cr_assert_eq (test_sh ("cd '%s' && qemu-img create -q -f qcow2 %s%s "
                           "img.qcow2 %s", q->dir, *opts ? "-o " : "", opts,
                           size), 0);
}

static void
qimg_io (struct qimg *q, const char *cmd)
{
    cr_assert_eq (test_sh ("cd '%s' && qemu-io -f qcow2 -c '%s' img.qcow2 "
                           ">/dev/null", q->dir, cmd), 0, "qemu-io %s", cmd);
}

/* read_map must give the bytes of qemu's own raw conversion, and the
 * validator must find nothing. */
static void
qimg_check (struct qimg *q, struct fmt_source_info *info,
            struct fmt_extent_list *map)
{
    char why[512];
    int n;

    cr_assert_eq (test_sh ("cd '%s' && qemu-img convert -f qcow2 -O raw "
                           "img.qcow2 ref.raw", q->dir), 0);
    cr_assert_eq (qt_compare_image (q->img, q->ref, why, sizeof why, info, map),
                  0, "%s", why);
    n = qt_validate (q->img, why, sizeof why);
    cr_assert_eq (n, 0, "validator: %d problems, first: %s", n, why);
}

static void
qimg_done (struct qimg *q)
{
    qt_rmdir (q->dir);
}

static size_t
count_kind (const struct fmt_extent_list *m, int kind)
{
    size_t n = 0;

    for (size_t i = 0; i < m->v.len; i++) {
        n += m->v.ptr[i].kind == kind;
    }
    return n;
}

Test (qcow2_read, qemu_written_v3_with_zero_clusters)
{
    struct qimg q;
    struct fmt_source_info info;
    struct fmt_extent_list map;

    qimg_create (&q, "", "5M");
    qimg_io (&q, "write -P 0xaa 0 192k");
    qimg_io (&q, "write -P 0xbb 1M 4k");
    qimg_io (&q, "write -P 0xcc 4607k 1k");
    qimg_io (&q, "write -z 64k 64k");        /* zero flag, allocated */
    qimg_io (&q, "write -z -u 128k 64k");    /* zero flag, unmapped */
    qimg_io (&q, "discard 1M 64k");
    qimg_check (&q, &info, &map);
    cr_assert_str_eq (info.subformat, "v3");
    cr_assert_eq (info.block_size, 65536);
    cr_assert_eq (info.virtual_size, 5 << 20);
    cr_assert_gt (count_kind (&map, FMT_EXT_DATA), 0);
    fmt_extents_release (&map);
    qimg_done (&q);
}

Test (qcow2_read, qemu_compressed_clusters)
{
    struct qimg q;
    struct fmt_source_info info;
    struct fmt_extent_list map;

    qimg_create (&q, "", "3M");
    /* compressible patterns and a partial last cluster */
    qimg_io (&q, "write -P 0x11 0 1M");
    qimg_io (&q, "write -P 0x22 2M 700k");
    cr_assert_eq (test_sh ("cd '%s' && qemu-img convert -c -f qcow2 -O qcow2 "
                           "img.qcow2 c.qcow2 && mv c.qcow2 img.qcow2", q.dir),
                  0);
    qimg_check (&q, &info, &map);
    cr_assert_gt (count_kind (&map, FMT_EXT_DEFLATE), 10);
    for (size_t i = 0; i < map.v.len; i++) {
        if (map.v.ptr[i].kind == FMT_EXT_DEFLATE) {
            cr_assert_eq (map.v.ptr[i].codec, FMT_CODEC_DEFLATE);
            cr_assert_eq (map.v.ptr[i].ulen, 65536);
            cr_assert_leq (map.v.ptr[i].clen, 2 * 65536);
        }
    }
    fmt_extents_release (&map);
    qimg_done (&q);
}

Test (qcow2_read, qemu_extended_l2_64k)
{
    struct qimg q;
    struct fmt_source_info info;

    qimg_create (&q, "extended_l2=on", "4M");
    qimg_io (&q, "write -P 0x31 0 2k");          /* one 2 KiB subcluster */
    qimg_io (&q, "write -P 0x32 70k 6k");
    qimg_io (&q, "write -P 0x33 1M 64k");
    qimg_io (&q, "write -z 1056768 4k");         /* zero subclusters */
    qimg_io (&q, "write -P 0x34 4094k 2k");
    qimg_check (&q, &info, NULL);
    cr_assert_str_eq (info.subformat, "v3, extended L2");
    qimg_done (&q);
}

Test (qcow2_read, qemu_extended_l2_2m)
{
    struct qimg q;

    qimg_create (&q, "extended_l2=on,cluster_size=2M", "9M");
    qimg_io (&q, "write -P 0x41 0 512");
    qimg_io (&q, "write -P 0x42 3M 100k");
    qimg_io (&q, "write -P 0x43 8454144 64k");
    qimg_check (&q, NULL, NULL);
    qimg_done (&q);
}

Test (qcow2_read, qemu_v2_compat_0_10)
{
    struct qimg q;
    struct fmt_source_info info;

    qimg_create (&q, "compat=0.10", "2M");
    qimg_io (&q, "write -P 0x51 100k 300k");
    qimg_io (&q, "write -z 1M 64k");
    qimg_check (&q, &info, NULL);
    cr_assert_str_eq (info.subformat, "v2");
    qimg_done (&q);
}

Test (qcow2_read, qemu_data_file_relative)
{
    struct qimg q;
    struct fmt_source_info info;

    qimg_create (&q, "data_file=d.raw,data_file_raw=on", "3M");
    qimg_io (&q, "write -P 0x61 0 1M");
    qimg_io (&q, "write -P 0x62 2M 64k");
    qimg_check (&q, &info, NULL);
    cr_assert_eq (info.nfiles, 2);
    cr_assert_str_eq (info.subformat, "v3, data file");
    qimg_done (&q);
}

Test (qcow2_read, qemu_internal_snapshots_read_active_layer)
{
    struct qimg q;
    struct fmt_source_info info;

    qimg_create (&q, "", "2M");
    qimg_io (&q, "write -P 0x71 0 1M");
    cr_assert_eq (test_sh ("qemu-img snapshot -c s1 '%s'", q.img), 0);
    qimg_io (&q, "write -P 0x72 512k 64k");
    cr_assert_eq (test_sh ("qemu-img snapshot -c s2 '%s'", q.img), 0);
    qimg_io (&q, "write -P 0x73 1M 128k");
    qimg_check (&q, &info, NULL);
    cr_assert_not_null (strstr (info.subformat, "2 snapshots"), "%s",
                        info.subformat);
    qimg_done (&q);
}

Test (qcow2_read, qemu_persistent_bitmap)
{
    struct qimg q;

    qimg_create (&q, "", "4M");
    qimg_io (&q, "write -P 0x81 0 256k");
    cr_assert_eq (test_sh ("qemu-img bitmap --add '%s' b0", q.img), 0);
    cr_assert_eq (test_sh ("qemu-img bitmap --add -g 128k '%s' b1", q.img), 0);
    qimg_check (&q, NULL, NULL);
    qimg_done (&q);
}

Test (qcow2_read, qemu_zstd_compressed_is_unsupported)
{
    struct qimg q;
    struct test_io *t;
    struct fmt_extent_list map;
    struct fmt_source_info info;
    char why[512];

    qimg_create (&q, "compression_type=zstd", "1M");
    qimg_io (&q, "write -P 0x91 0 256k");
    qimg_check (&q, NULL, NULL);        /* zstd image, no compressed data */
    cr_assert_eq (test_sh ("cd '%s' && qemu-img convert -c -O qcow2 -o "
                           "compression_type=zstd img.qcow2 z.qcow2 && "
                           "mv z.qcow2 img.qcow2", q.dir), 0);
    t = test_io_open (q.img);
    fmt_extents_init (&map);
    cr_assert_eq (qcow2_read_map (test_io_fmt (t), &map, &info), -ENOTSUP);
    cr_assert_not_null (strstr (vmshift_internal_error_msg (), "zstd"));
    fmt_extents_release (&map);
    test_io_close (t);
    cr_assert_eq (qt_validate (q.img, why, sizeof why), 1);
    cr_assert_not_null (strstr (why, "zstd"), "%s", why);
    qimg_done (&q);
}

Test (qcow2_read, qemu_backing_file_is_unsupported)
{
    struct qimg q;
    struct test_io *t;
    struct fmt_extent_list map;
    struct fmt_source_info info;
    char why[512];

    qimg_create (&q, "", "1M");
    cr_assert_eq (test_sh ("cd '%s' && qemu-img create -q -f qcow2 -b "
                           "img.qcow2 -F qcow2 top.qcow2", q.dir), 0);
    snprintf (q.img, sizeof q.img, "%s/top.qcow2", q.dir);
    t = test_io_open (q.img);
    fmt_extents_init (&map);
    cr_assert_eq (qcow2_read_map (test_io_fmt (t), &map, &info), -ENOTSUP);
    cr_assert_not_null (strstr (vmshift_internal_error_msg (),
                                "backing files are not supported"), "%s",
                        vmshift_internal_error_msg ());
    fmt_extents_release (&map);
    test_io_close (t);
    cr_assert_eq (qt_validate (q.img, why, sizeof why), 1);
    cr_assert_not_null (strstr (why, "unsupported backing file 'img.qcow2'"),
                        "%s", why);
    qimg_done (&q);
}

Test (qcow2_read, qemu_luks_encrypted_is_unsupported)
{
    struct qimg q;
    struct test_io *t;
    struct fmt_extent_list map;
    struct fmt_source_info info;
    char why[512];

    if (!qt_have ("qemu-img")) {
        cr_skip_test ("qemu-img is not installed");
    }
    q.dir = qt_tmpdir ();
    snprintf (q.img, sizeof q.img, "%s/e.qcow2", q.dir);
    /* qemu's PBKDF benchmark sometimes fails with "Unable to get
     * accurate CPU usage" on a busy machine: try a few times. */
    cr_assert_eq (test_sh ("for i in 1 2 3 4 5 6; do qemu-img create -q -f "
                           "qcow2 --object secret,id=s0,data=pw -o "
                           "encrypt.format=luks,encrypt.key-secret=s0,"
                           "encrypt.iter-time=10 '%s' 1M 2>/dev/null && "
                           "exit 0; done; exit 1", q.img), 0);
    t = test_io_open (q.img);
    fmt_extents_init (&map);
    cr_assert_eq (qcow2_read_map (test_io_fmt (t), &map, &info), -ENOTSUP);
    cr_assert_not_null (strstr (vmshift_internal_error_msg (), "encrypted"));
    fmt_extents_release (&map);
    test_io_close (t);
    /* Only the encryption is reported: the LUKS header clusters are
     * accounted for in the refcounts. */
    cr_assert_eq (qt_validate (q.img, why, sizeof why), 1, "%s", why);
    cr_assert_not_null (strstr (why, "encrypted images are unsupported"));
    qimg_done (&q);
}

/* ---------------------------------------------------------------- corpus */

Test (qcow2_read, corpus_dfvfs_ext2)
{
    const char *c = test_corpus_dir ();
    char *dir, img[4096], raw[4096], why[512];
    struct fmt_source_info info;

    if (c == NULL) {
        cr_skip_test ("corpus directory is absent");
    }
    if (!qt_have ("xz")) {
        cr_skip_test ("xz is not installed");
    }
    dir = qt_tmpdir ();
    snprintf (img, sizeof img, "%s/images/dfvfs/ext2.qcow2", c);
    snprintf (raw, sizeof raw, "%s/ext2.raw", dir);
    cr_assert_eq (test_sh ("xz -dc '%s/images/dfvfs/ext2.raw.xz' > '%s'", c,
                           raw), 0);
    cr_assert_eq (qt_compare_image (img, raw, why, sizeof why, &info, NULL), 0,
                  "%s", why);
    cr_assert_eq (info.virtual_size, 4 << 20);
    cr_assert_eq (qt_validate (img, why, sizeof why), 0, "%s", why);
    qt_rmdir (dir);
}

Test (qcow2_read, corpus_dfvfs_windows_volume)
{
    const char *c = test_corpus_dir ();
    char *dir, img[4096], raw[4096], why[512];

    if (c == NULL) {
        cr_skip_test ("corpus directory is absent");
    }
    if (!qt_have ("qemu-img")) {
        cr_skip_test ("qemu-img is not installed");
    }
    dir = qt_tmpdir ();
    snprintf (img, sizeof img, "%s/images/dfvfs/windows_volume.qcow2", c);
    snprintf (raw, sizeof raw, "%s/w.raw", dir);
    cr_assert_eq (test_sh ("qemu-img convert -f qcow2 -O raw '%s' '%s'", img,
                           raw), 0);
    cr_assert_eq (qt_compare_image (img, raw, why, sizeof why, NULL, NULL), 0,
                  "%s", why);
    cr_assert_eq (qt_validate (img, why, sizeof why), 0, "%s", why);
    qt_rmdir (dir);
}

/* Every refcount width qemu writes (refcount_order 0, 1, 2, 3, 5, 6). */
Test (qcow2_read, qemu_refcount_widths)
{
    static const int bits[] = { 1, 2, 4, 8, 32, 64 };

    for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++) {
        struct qimg q;
        char opts[32];

        snprintf (opts, sizeof opts, "refcount_bits=%d", bits[i]);
        qimg_create (&q, opts, "1M");
        qimg_io (&q, "write -P 0xa1 0 128k");
        qimg_io (&q, "write -P 0xa2 512k 64k");
        qimg_check (&q, NULL, NULL);
        qimg_done (&q);
    }
}

/* A crash with lazy refcounts leaves the dirty bit and stale refcounts:
 * read_map refuses, the validator finds what qemu-img check finds. */
Test (qcow2_read, qemu_dirty_image_after_crash)
{
    struct qimg q;
    struct test_io *t;
    struct fmt_extent_list map;
    struct fmt_source_info info;
    struct fmt_problems probs;
    char out[4096];
    size_t refcount0 = 0, copied = 0;

    qimg_create (&q, "lazy_refcounts=on", "1M");
    cr_assert_neq (test_sh ("cd '%s' && qemu-io -f qcow2 -c 'write -P 1 0 "
                            "128k' -c abort img.qcow2 >/dev/null 2>&1",
                            q.dir), 0);
    t = test_io_open (q.img);
    fmt_extents_init (&map);
    cr_assert_eq (qcow2_read_map (test_io_fmt (t), &map, &info), -EINVAL);
    cr_assert_not_null (strstr (vmshift_internal_error_msg (), "dirty"));
    fmt_extents_release (&map);
    fmt_problems_init (&probs);
    cr_assert_eq (qcow2_validate (test_io_fmt (t), &probs, &info), 0);
    for (size_t i = 0; i < probs.n; i++) {
        refcount0 += strstr (probs.msg[i], "its refcount is 0") != NULL;
        copied += strstr (probs.msg[i], "COPIED bit set") != NULL;
    }
    cr_assert_not_null (strstr (probs.msg[0], "image is dirty"));
    /* qemu-img check: "ERROR cluster N refcount=0 reference=1" and
     * "ERROR OFLAG_COPIED data cluster", one per data cluster */
    cr_assert_eq (qt_sh_out (out, sizeof out, "qemu-img check -f qcow2 '%s' "
                             "2>&1", q.img), 2);
    cr_assert_eq (refcount0, 2);
    cr_assert_eq (copied, 2);
    cr_assert_not_null (strstr (out, "4 errors were found"), "%s", out);
    fmt_problems_release (&probs);
    test_io_close (t);
    qimg_done (&q);
}
