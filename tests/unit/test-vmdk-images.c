/* VMDK read_map on real images: every subformat qemu-img writes, ESXi
 * style vmfs descriptors, snapshot chains (hosted sparse, COWD and
 * seSparse deltas), and the corpus images.  The oracle is qemu-img
 * convert -O raw (and the source raw file where there is one); every
 * guest byte is read back through the map and compared. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/endian.h"
#include "engine/base/error.h"
#include "formats/formats.h"
#include "helpers/vmdktest.h"

TestSuite (vmdk_images, .init = vt_setup, .fini = vt_cleanup);

/* 8999936 bytes = 17578 sectors: not a multiple of the 64 KiB grain.
 * Random data at the start, a hole, random data again at 7 MB and in the
 * last, partial grain. */
#define SRC_SIZE 8999936

static void
make_src_raw (void)
{
    vt_run ("head -c 3000000 /dev/urandom > src.raw && "
            "truncate -s %d src.raw && "
            "head -c 100000 /dev/urandom | dd of=src.raw bs=1000 seek=7000 "
            "conv=notrunc status=none && "
            "head -c 4096 /dev/urandom | dd of=src.raw bs=512 seek=17570 "
            "conv=notrunc status=none", SRC_SIZE);
}

struct sub_case {
    const char *name;
    uint32_t grain;
    uint32_t nfiles;
};

static const struct sub_case subs[] = {
    { "monolithicSparse", 65536, 1 },
    { "monolithicFlat", 0, 2 },
    { "twoGbMaxExtentSparse", 65536, 2 },
    { "twoGbMaxExtentFlat", 0, 2 },
    { "streamOptimized", 65536, 1 },
};

static void
check_against_qemu (const char *img, struct vt_disk *d)
{
    vt_run ("rm -f ref.raw && qemu-img convert -f vmdk -O raw '%s' ref.raw",
            img);
    vt_compare_raw (d, vt_path (1, "ref.raw"));
}

Test (vmdk_images, qemu_subformats_random_data_and_holes)
{
    vt_need ("qemu-img");
    make_src_raw ();
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        const struct sub_case *s = &subs[i];
        struct vt_disk d;
        char img[64];

        snprintf (img, sizeof img, "%s.vmdk", s->name);
        vt_run ("qemu-img convert -f raw -O vmdk -o subformat=%s src.raw %s",
                s->name, img);
        vt_map (vt_path (0, img), &d);
        cr_assert_str_eq (d.info.subformat, s->name);
        cr_assert_eq (d.info.virtual_size, SRC_SIZE);
        cr_assert_eq (d.info.block_size, s->grain, "%s", s->name);
        cr_assert_eq (d.info.nfiles, s->nfiles, "%s", s->name);
        cr_assert_not (d.info.has_parent);
        /* streamOptimized is all compressed grains, the rest never */
        if (strcmp (s->name, "streamOptimized") == 0) {
            cr_assert_eq (vt_count_kind (&d.map, FMT_EXT_DATA), 0);
            cr_assert_gt (vt_count_kind (&d.map, FMT_EXT_DEFLATE), 40);
        } else {
            cr_assert_eq (vt_count_kind (&d.map, FMT_EXT_DEFLATE), 0);
        }
        /* the hole between 3 MB and 7 MB is found in every subformat */
        cr_assert (fmt_extents_is_zero (&d.map, 3 << 20, 3 << 20,
                                        &(size_t) { 0 }), "%s", s->name);
        cr_assert_lt (fmt_extents_allocated (&d.map), 4 << 20);
        vt_compare_raw (&d, vt_path (1, "src.raw"));
        check_against_qemu (img, &d);
        vt_close (&d);
        vt_validate_clean (vt_path (0, img));
    }
}

Test (vmdk_images, qemu_io_patterns_in_created_images)
{
    vt_need ("qemu-img qemu-io");
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        struct vt_disk d;
        char img[64];

        snprintf (img, sizeof img, "p-%s.vmdk", subs[i].name);
        vt_run ("qemu-img create -q -f vmdk -o subformat=%s %s 5M",
                subs[i].name, img);
        vt_run ("qemu-io -f vmdk -c 'write -P 0xab 1M 3M' "
                "-c 'write -P 0xcd 4608k 64k' %s >/dev/null", img);
        vt_map (vt_path (0, img), &d);
        cr_assert_eq (d.map.size, 5 << 20);
        /* (qemu allocates the first 4 KiB of a new raw file) */
        cr_assert (fmt_extents_is_zero (&d.map, 64 << 10, 960 << 10,
                                        &(size_t) { 0 }),
                   "%s: first extent kind %d len %llu", subs[i].name,
                   d.map.v.ptr[0].kind,
                   (unsigned long long) d.map.v.ptr[0].len);
        check_against_qemu (img, &d);
        vt_close (&d);
        vt_validate_clean (vt_path (0, img));
    }
}

Test (vmdk_images, one_sector_disks)
{
    vt_need ("qemu-img qemu-io");
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        struct vt_disk d;
        char img[64];
        uint8_t b[512];

        snprintf (img, sizeof img, "one-%s.vmdk", subs[i].name);
        vt_run ("qemu-img create -q -f vmdk -o subformat=%s %s 512",
                subs[i].name, img);
        vt_run ("qemu-io -f vmdk -c 'write -P 0x5a 0 512' %s >/dev/null",
                img);
        vt_map (vt_path (0, img), &d);
        cr_assert_eq (d.map.size, 512);
        cr_assert_eq (test_read_guest (d.t, &d.map, 0, b, 512), 0);
        for (int k = 0; k < 512; k++) {
            cr_assert_eq (b[k], 0x5a, "%s byte %d", subs[i].name, k);
        }
        check_against_qemu (img, &d);
        vt_close (&d);
    }
}

/* twoGb splits over 2 GiB (sparse files, so cheap), with data crossing
 * the first extent boundary. */
Test (vmdk_images, two_gb_splits_over_2_gib)
{
    static const char *const kinds[] = {
        "twoGbMaxExtentSparse", "twoGbMaxExtentFlat",
    };

    vt_need ("qemu-img qemu-io");
    for (size_t i = 0; i < 2; i++) {
        struct vt_disk d;
        char img[64];
        size_t k;

        snprintf (img, sizeof img, "big-%zu.vmdk", i);
        vt_run ("qemu-img create -q -f vmdk -o subformat=%s %s 5G", kinds[i],
                img);
        vt_run ("qemu-io -f vmdk -c 'write -P 1 0 64k' "
                "-c 'write -P 2 2147479552 8192' -c 'write -P 3 4608M 64k' "
                "%s >/dev/null", img);
        vt_map (vt_path (0, img), &d);
        cr_assert_eq (d.map.size, UINT64_C (5) << 30);
        cr_assert_eq (d.info.nfiles, 4, "descriptor + 3 extents");
        /* guest 2 GiB - 4 KiB and 2 GiB are in different files */
        k = fmt_extents_find (&d.map, (UINT64_C (2) << 30) - 4096);
        cr_assert_eq (d.map.v.ptr[k].kind, FMT_EXT_DATA);
        cr_assert_eq (d.map.v.ptr[k].file, 1);
        k = fmt_extents_find (&d.map, UINT64_C (2) << 30);
        cr_assert_eq (d.map.v.ptr[k].kind, FMT_EXT_DATA);
        cr_assert_eq (d.map.v.ptr[k].file, 2);
        cr_assert_eq (d.map.v.ptr[k].guest_off, UINT64_C (2) << 30);
        check_against_qemu (img, &d);
        vt_close (&d);
    }
}

static const char esxi_desc[] =
    "# Disk DescriptorFile\n"
    "version=1\n"
    "encoding=\"UTF-8\"\n"
    "CID=3729b687\n"
    "parentCID=ffffffff\n"
    "isNativeSnapshot=\"no\"\n"
    "createType=\"%s\"\n"
    "\n"
    "# Extent description\n"
    "RW 131072 VMFS \"disk-flat.vmdk\"\n"
    "\n"
    "# The Disk Data Base\n"
    "#DDB\n"
    "\n"
    "ddb.adapterType = \"lsilogic\"\n"
    "ddb.deletable = \"true\"\n"
    "ddb.geometry.cylinders = \"4\"\n"
    "ddb.geometry.heads = \"255\"\n"
    "ddb.geometry.sectors = \"63\"\n"
    "ddb.longContentID = \"f6371048ed90dd02a7e9ded63729b687\"\n"
    "ddb.thinProvisioned = \"1\"\n"
    "ddb.uuid = \"60 00 C2 9f 9a b0 9b 9c-13 55 b8 11 fd 2c 92 9b\"\n"
    "ddb.virtualHWVersion = \"13\"\n";

static void
make_esxi_disk (const char *create_type)
{
    char text[2048];

    snprintf (text, sizeof text, esxi_desc, create_type);
    vt_write_text (vt_path (0, "disk.vmdk"), text);
    vt_run ("rm -f disk-flat.vmdk && truncate -s 64M disk-flat.vmdk && "
            "head -c 2M /dev/urandom | dd of=disk-flat.vmdk bs=1M seek=1 "
            "conv=notrunc status=none && "
            "head -c 4096 /dev/urandom | dd of=disk-flat.vmdk bs=4096 "
            "seek=10240 conv=notrunc status=none");
}

Test (vmdk_images, esxi_vmfs_descriptor_over_sparse_flat_file)
{
    static const uint8_t uuid[16] = {
        0x60, 0x00, 0xc2, 0x9f, 0x9a, 0xb0, 0x9b, 0x9c,
        0x13, 0x55, 0xb8, 0x11, 0xfd, 0x2c, 0x92, 0x9b,
    };
    struct vt_disk d;

    make_esxi_disk ("vmfs");
    vt_map (vt_path (0, "disk.vmdk"), &d);
    cr_assert_str_eq (d.info.subformat, "vmfs");
    cr_assert_eq (d.info.virtual_size, 64 << 20);
    cr_assert_eq (d.info.block_size, 0);
    cr_assert_eq (d.info.nfiles, 2);
    cr_assert (d.info.has_disk_id);
    cr_assert_arr_eq (d.info.disk_id, uuid, 16);
    /* holes of the thin flat file are ZERO, data maps 1:1 into file 1 */
    cr_assert_eq (d.map.v.len, 5);
    cr_assert_eq (d.map.v.ptr[0].kind, FMT_EXT_ZERO);
    cr_assert_eq (d.map.v.ptr[1].kind, FMT_EXT_DATA);
    cr_assert_eq (d.map.v.ptr[1].guest_off, 1 << 20);
    cr_assert_eq (d.map.v.ptr[1].file_off, 1 << 20);
    cr_assert_eq (d.map.v.ptr[1].len, 2 << 20);
    cr_assert_eq (d.map.v.ptr[1].file, 1);
    cr_assert_eq (d.map.v.ptr[3].guest_off, 40 << 20);
    cr_assert_eq (fmt_extents_allocated (&d.map), (2 << 20) + 4096);
    vt_compare_raw (&d, vt_path (1, "disk-flat.vmdk"));
    if (test_sh ("command -v qemu-img >/dev/null") == 0) {
        check_against_qemu ("disk.vmdk", &d);
    }
    vt_close (&d);
    vt_validate_clean (vt_path (0, "disk.vmdk"));

    /* vmfsThin: qemu refuses the name, the data layout is the same */
    make_esxi_disk ("vmfsThin");
    vt_map (vt_path (0, "disk.vmdk"), &d);
    cr_assert_str_eq (d.info.subformat, "vmfsThin");
    vt_compare_raw (&d, vt_path (1, "disk-flat.vmdk"));
    vt_close (&d);
}

Test (vmdk_images, flat_extent_missing_or_short)
{
    make_esxi_disk ("vmfs");
    vt_run ("truncate -s 1M disk-flat.vmdk");
    vt_map_fails (vt_path (0, "disk.vmdk"), EINVAL,
                  "extent file is 1048576 bytes, shorter than the 67108864");
    vt_run ("rm disk-flat.vmdk");
    vt_map_fails (vt_path (0, "disk.vmdk"), ENOENT,
                  "cannot open extent file 'disk-flat.vmdk'");
}

Test (vmdk_images, hosted_sparse_delta_chain)
{
    struct vt_disk d;

    vt_need ("qemu-img qemu-io");
    make_src_raw ();
    vt_run ("qemu-img convert -f raw -O vmdk src.raw base.vmdk");
    vt_run ("qemu-img create -q -f vmdk -b base.vmdk -F vmdk child.vmdk");
    vt_run ("qemu-io -f vmdk -c 'write -P 0xee 64k 100k' "
            "-c 'write -z 2M 64k' -c 'write -P 0x11 8M 64k' child.vmdk "
            ">/dev/null");
    vt_map (vt_path (0, "child.vmdk"), &d);
    cr_assert (d.info.has_parent);
    cr_assert_eq (d.info.nfiles, 2);
    cr_assert_eq (d.info.virtual_size, SRC_SIZE);
    check_against_qemu ("child.vmdk", &d);
    vt_close (&d);
    vt_validate_clean (vt_path (0, "child.vmdk"));

    /* a third level, split into 2 GiB sparse extents */
    vt_run ("qemu-img create -q -f vmdk -o subformat=twoGbMaxExtentSparse "
            "-b child.vmdk -F vmdk top.vmdk");
    vt_run ("qemu-io -f vmdk -c 'write -P 0x22 4M 4096' top.vmdk >/dev/null");
    vt_map (vt_path (0, "top.vmdk"), &d);
    cr_assert (d.info.has_parent);
    cr_assert_eq (d.info.nfiles, 4);
    cr_assert_str_eq (d.info.subformat, "twoGbMaxExtentSparse");
    check_against_qemu ("top.vmdk", &d);
    vt_close (&d);

    /* the parent changes after the snapshot: the CIDs no longer match */
    vt_run ("qemu-io -f vmdk -c 'write -P 0x33 0 512' base.vmdk >/dev/null");
    vt_map_fails (vt_path (0, "child.vmdk"), EINVAL, "parent CID mismatch");
    cr_assert_neq (vt_status ("qemu-img convert -O raw child.vmdk x.raw "
                              "2>/dev/null"), 0, "qemu agrees");
    vt_run ("rm base.vmdk");
    vt_map_fails (vt_path (0, "child.vmdk"), ENOENT,
                  "cannot open parent disk 'base.vmdk'");
}

Test (vmdk_images, zeroed_grains_hide_the_parent)
{
    struct vt_disk d;
    size_t k;

    vt_need ("qemu-img qemu-io");
    vt_run ("qemu-img create -q -f vmdk -o zeroed_grain=on zg.vmdk 10M");
    vt_run ("qemu-io -f vmdk -c 'write -P 7 0 2M' zg.vmdk >/dev/null");
    vt_run ("qemu-img create -q -f vmdk -o zeroed_grain=on -b zg.vmdk "
            "-F vmdk zgc.vmdk");
    vt_run ("qemu-io -f vmdk -c 'write -z 512k 1M' -c 'write -P 9 4M 64k' "
            "zgc.vmdk >/dev/null");
    vt_map (vt_path (0, "zgc.vmdk"), &d);
    k = fmt_extents_find (&d.map, 512 << 10);
    cr_assert_eq (d.map.v.ptr[k].kind, FMT_EXT_ZERO);
    cr_assert_eq (d.map.v.ptr[k].len, 1 << 20);
    cr_assert_eq (d.map.v.ptr[k - 1].kind, FMT_EXT_DATA);
    cr_assert_eq (d.map.v.ptr[k - 1].file, 1, "from the parent");
    check_against_qemu ("zgc.vmdk", &d);
    vt_close (&d);
}

/* --------------------------------------- hand-built COWD and seSparse */

#define DELTA_SECTORS 8192u     /* 4 MiB */

static void
make_vmfs_base (void)
{
    uint8_t *buf = malloc (DELTA_SECTORS * 512);
    char text[512];

    for (size_t i = 0; i < DELTA_SECTORS * 512; i++) {
        buf[i] = (uint8_t) (i * 7 + i / 4096);
    }
    vt_pwrite (vt_path (0, "base-flat.vmdk"), buf, DELTA_SECTORS * 512, 0);
    free (buf);
    snprintf (text, sizeof text, "# Disk DescriptorFile\nversion=1\n"
              "CID=11111111\nparentCID=ffffffff\ncreateType=\"vmfs\"\n\n"
              "# Extent description\nRW %u VMFS \"base-flat.vmdk\"\n",
              DELTA_SECTORS);
    vt_write_text (vt_path (0, "base.vmdk"), text);
}

static void
make_delta_desc (const char *name, const char *ct, const char *type,
                 const char *extent)
{
    char text[512];

    snprintf (text, sizeof text, "# Disk DescriptorFile\nversion=1\n"
              "CID=22222222\nparentCID=11111111\ncreateType=\"%s\"\n"
              "parentFileNameHint=\"base.vmdk\"\n\n"
              /* qemu 7.2 counts an extent line twice when a blank line
               * comes right before it; VMware always writes this
               * comment there */
              "# Extent description\nRW %u %s \"%s\"\n", ct, DELTA_SECTORS,
              type, extent);
    vt_write_text (vt_path (0, name), text);
}

static void
fill (uint8_t *b, size_t n, uint8_t v)
{
    memset (b, v, n);
}

/* COWD: 512-byte grains; GT 0 holds sectors 10, 11 (contiguous) and
 * 100, GT 1 holds sector 5000. */
static void
make_cowd (void)
{
    const char *p = vt_path (0, "d-delta.vmdk");
    uint32_t gd = 4, gt0 = 5, gt1 = 37, data = 69;
    uint8_t h[2048] = { 0 }, b[4 * 512];

    memcpy (h, "COWD", 4);
    put_le32 (h + 4, 1);
    put_le32 (h + 8, 3);
    put_le32 (h + 12, DELTA_SECTORS);
    put_le32 (h + 16, 1);
    put_le32 (h + 20, gd);
    put_le32 (h + 24, 2);
    put_le32 (h + 28, data + 4);
    vt_pwrite (p, h, sizeof h, 0);
    put_le32 (b, gt0);
    put_le32 (b + 4, gt1);
    vt_pwrite (p, b, 8, gd * 512);
    put_le32 (b, data);
    vt_pwrite (p, b, 4, gt0 * 512 + 4 * 10);
    put_le32 (b, data + 1);
    vt_pwrite (p, b, 4, gt0 * 512 + 4 * 11);
    put_le32 (b, data + 2);
    vt_pwrite (p, b, 4, gt0 * 512 + 4 * 100);
    put_le32 (b, data + 3);
    vt_pwrite (p, b, 4, gt1 * 512 + 4 * (5000 - 4096));
    fill (b, 512, 1);
    fill (b + 512, 512, 2);
    fill (b + 1024, 512, 3);
    fill (b + 1536, 512, 4);
    vt_pwrite (p, b, sizeof b, data * 512);
    make_delta_desc ("d.vmdk", "vmfsSparse", "VMFSSPARSE", "d-delta.vmdk");
}

static uint64_t
ses_alloc (uint64_t cluster)
{
    return (UINT64_C (3) << 60) | ((cluster & 0xfff) << 48) | (cluster >> 12);
}

/* seSparse: 4 KiB grains; grain 1 and 7 allocated (clusters 0 and 4100,
 * the latter exercising both bit fields of the entry), grain 3 zero,
 * grain 5 unmapped, the rest from the parent. */
static void
make_sesparse (void)
{
    const char *p = vt_path (0, "s-sesparse.vmdk");
    uint64_t vals[26] = {
        UINT64_C (0xcafebabe), UINT64_C (0x200000001), DELTA_SECTORS, 8, 64,
        0, 0, 0, 0, 0,
        1, 1,           /* volatile header */
        2, 1, 3, 1,     /* journal header, journal */
        4, 1,           /* grain directory: 64 entries */
        8, 256,         /* grain tables: 4 */
        264, 1, 265, 1, /* free bitmap, backmap */
        272, 8 * 4200,  /* grains */
    };
    uint8_t h[512] = { 0 }, b[4096];

    for (int i = 0; i < 26; i++) {
        put_le64 (h + 8 * i, vals[i]);
    }
    vt_pwrite (p, h, sizeof h, 0);
    memset (h, 0, sizeof h);
    put_le64 (h, UINT64_C (0xcafecafe));
    vt_pwrite (p, h, sizeof h, 512);
    put_le64 (b, UINT64_C (0x1000000000000000));
    vt_pwrite (p, b, 8, 4 * 512);
    put_le64 (b, ses_alloc (0));
    vt_pwrite (p, b, 8, 8 * 512 + 8 * 1);
    put_le64 (b, UINT64_C (2) << 60);
    vt_pwrite (p, b, 8, 8 * 512 + 8 * 3);
    put_le64 (b, UINT64_C (1) << 60);
    vt_pwrite (p, b, 8, 8 * 512 + 8 * 5);
    put_le64 (b, ses_alloc (4100));
    vt_pwrite (p, b, 8, 8 * 512 + 8 * 7);
    fill (b, 4096, 0xaa);
    vt_pwrite (p, b, 4096, 272 * 512);
    fill (b, 4096, 0xbb);
    vt_pwrite (p, b, 4096, (272 + 8 * 4100) * 512);
    vt_run ("truncate -s %u s-sesparse.vmdk", (272 + 8 * 4200) * 512);
    make_delta_desc ("s.vmdk", "seSparse", "SESPARSE", "s-sesparse.vmdk");
}

Test (vmdk_images, cowd_delta_matches_qemu)
{
    struct vt_disk d;
    uint8_t b[512];

    make_vmfs_base ();
    make_cowd ();
    vt_map (vt_path (0, "d.vmdk"), &d);
    cr_assert_str_eq (d.info.subformat, "vmfsSparse");
    cr_assert_eq (d.info.block_size, 512);
    cr_assert (d.info.has_parent);
    cr_assert_eq (d.info.nfiles, 4);
    cr_assert_eq (d.map.v.len, 7);
    cr_assert_eq (test_read_guest (d.t, &d.map, 11 * 512, b, 512), 0);
    cr_assert_eq (b[0], 2);
    cr_assert_eq (b[511], 2);
    cr_assert_eq (test_read_guest (d.t, &d.map, 5000 * 512, b, 512), 0);
    cr_assert_eq (b[100], 4);
    if (test_sh ("command -v qemu-img >/dev/null") == 0) {
        check_against_qemu ("d.vmdk", &d);
    }
    vt_close (&d);
    vt_validate_clean (vt_path (0, "d.vmdk"));
}

Test (vmdk_images, sesparse_delta_matches_qemu)
{
    struct vt_disk d;
    uint8_t b[4096];
    size_t k;

    make_vmfs_base ();
    make_sesparse ();
    vt_map (vt_path (0, "s.vmdk"), &d);
    cr_assert_str_eq (d.info.subformat, "seSparse");
    cr_assert_eq (d.info.block_size, 4096);
    cr_assert (d.info.has_parent);
    k = fmt_extents_find (&d.map, 7 * 4096);
    cr_assert_eq (d.map.v.ptr[k].kind, FMT_EXT_DATA);
    cr_assert_eq (d.map.v.ptr[k].file_off, (272 + 8 * 4100) * 512);
    k = fmt_extents_find (&d.map, 3 * 4096);
    cr_assert_eq (d.map.v.ptr[k].kind, FMT_EXT_ZERO);
    k = fmt_extents_find (&d.map, 5 * 4096);
    cr_assert_eq (d.map.v.ptr[k].kind, FMT_EXT_ZERO);
    cr_assert_eq (test_read_guest (d.t, &d.map, 4096, b, 4096), 0);
    cr_assert_eq (b[0], 0xaa);
    if (test_sh ("command -v qemu-img >/dev/null") == 0) {
        check_against_qemu ("s.vmdk", &d);
    }
    vt_close (&d);
    vt_validate_clean (vt_path (0, "s.vmdk"));
}

Test (vmdk_images, delta_extents_opened_directly_are_refused)
{
    make_vmfs_base ();
    make_cowd ();
    make_sesparse ();
    vt_map_fails (vt_path (0, "d-delta.vmdk"), ENOTSUP,
                  "vmfsSparse (COWD) delta extent, not a disk");
    vt_map_fails (vt_path (0, "s-sesparse.vmdk"), ENOTSUP,
                  "seSparse delta extent, not a disk");
}

Test (vmdk_images, chain_loops_and_size_mismatch)
{
    make_vmfs_base ();
    /* a descriptor that is its own parent, and a two-disk loop */
    vt_write_text (vt_path (0, "self.vmdk"),
                   "version=1\nCID=5\nparentCID=5\ncreateType=\"custom\"\n"
                   "parentFileNameHint=\"self.vmdk\"\n# Extent description\n"
                   "RW 8 ZERO\n");
    vt_map_fails (vt_path (0, "self.vmdk"), EINVAL,
                  "snapshot chain is longer than 32 disks");
    vt_write_text (vt_path (0, "a.vmdk"),
                   "version=1\nCID=a\nparentCID=b\ncreateType=\"custom\"\n"
                   "parentFileNameHint=\"b.vmdk\"\n# Extent description\n"
                   "RW 8 ZERO\n");
    vt_write_text (vt_path (0, "b.vmdk"),
                   "version=1\nCID=b\nparentCID=a\ncreateType=\"custom\"\n"
                   "parentFileNameHint=\"a.vmdk\"\n# Extent description\n"
                   "RW 8 ZERO\n");
    vt_map_fails (vt_path (0, "a.vmdk"), EINVAL, "(a loop?)");

    /* a child larger than its parent */
    vt_write_text (vt_path (0, "big.vmdk"),
                   "version=1\nCID=7\nparentCID=11111111\n"
                   "createType=\"monolithicFlat\"\n"
                   "parentFileNameHint=\"base.vmdk\"\n# Extent description\n"
                   "RW 16384 FLAT \"big-flat.vmdk\" 0\n");
    vt_run ("truncate -s 8M big-flat.vmdk");
    vt_map_fails (vt_path (0, "big.vmdk"), EINVAL,
                  "cannot apply the delta to its parent");
}

/* ------------------------------------------------------------ corpus */

static const char *
corpus (int slot, const char *rel)
{
    static char buf[4][4096];
    const char *dir = test_corpus_dir ();

    if (dir == NULL) {
        cr_skip_test ("corpus not found (set VMSHIFT_CORPUS)");
    }
    snprintf (buf[slot & 3], sizeof buf[0], "%s/%s", dir, rel);
    return buf[slot & 3];
}

Test (vmdk_images, corpus_stream_optimized_all_zero)
{
    static const struct { const char *f; uint64_t size; } c[] = {
        { "vmdk/mdx1/1GiB.vmdk", UINT64_C (1) << 30 },
        { "vmdk/mdx1/1mb.vmdk", 1 << 20 },      /* GD_AT_END + footer */
        { "vmdk/mdx1/1mib.vmdk", 1 << 20 },
        { "vmdk/mdx1/64KiB.vmdk", 64 << 10 },
    };

    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        struct vt_disk d;

        vt_map (corpus (0, c[i].f), &d);
        cr_assert_str_eq (d.info.subformat, "streamOptimized");
        cr_assert_eq (d.map.size, c[i].size, "%s", c[i].f);
        cr_assert_eq (d.map.v.len, 1, "%s", c[i].f);
        cr_assert_eq (d.map.v.ptr[0].kind, FMT_EXT_ZERO);
        vt_close (&d);
        vt_validate_clean (corpus (0, c[i].f));
    }
}

Test (vmdk_images, corpus_monolithic_sparse_ext2_matches_raw)
{
    struct vt_disk d;

    vt_need ("xz");
    vt_run ("xz -dc '%s' > ext2.raw", corpus (1, "images/dfvfs/ext2.raw.xz"));
    vt_map (corpus (0, "vmdk/dfvfs/ext2.vmdk"), &d);
    cr_assert_str_eq (d.info.subformat, "monolithicSparse");
    cr_assert_eq (d.info.virtual_size, 4 << 20);
    cr_assert_gt (vt_count_kind (&d.map, FMT_EXT_DATA), 0);
    vt_compare_raw (&d, vt_path (0, "ext2.raw"));
    vt_close (&d);
    vt_validate_clean (corpus (0, "vmdk/dfvfs/ext2.vmdk"));
}

Test (vmdk_images, corpus_tiny_sparse_smaller_than_a_grain)
{
    struct vt_disk d;

    vt_map (corpus (0, "vmdk/pve-storage/disk1.vmdk"), &d);
    cr_assert_eq (d.map.size, 2048);
    cr_assert_eq (d.info.block_size, 65536);
    if (test_sh ("command -v qemu-img >/dev/null") == 0) {
        check_against_qemu (corpus (1, "vmdk/pve-storage/disk1.vmdk"), &d);
    }
    vt_close (&d);
    vt_validate_clean (corpus (0, "vmdk/pve-storage/disk1.vmdk"));
}
