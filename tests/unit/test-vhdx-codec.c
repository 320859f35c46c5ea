/* VHDX codec and geometry: encode/decode round trips, CRC-32C over the
 * structures with the checksum field zeroed, the libvhdi corpus
 * structures decoded in place, the X_min table of docs/formats.md B.7 and
 * the BAT index mapping with sector bitmap interleave. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/endian.h"
#include "engine/base/error.h"
#include "formats/vhdx.h"
#include "helpers/testio.h"
#include "helpers/vhdxtest.h"

#define MiB (UINT64_C (1) << 20)
#define GiB (UINT64_C (1) << 30)
#define TiB (UINT64_C (1) << 40)

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
    buf = vt_slurp (path, len);
    cr_assert_not_null (buf, "cannot read %s", path);
    return buf;
}

/* ------------------------------------------------------------ headers */

Test (vhdx_codec, header_round_trip_and_crc)
{
    struct vhdx_header h = {
        .seq = UINT64_C (0x0102030405060708), .log_version = 0, .version = 1,
        .log_length = 1 << 20, .log_offset = 1 << 20,
    }, d;
    uint8_t buf[VHDX_HEADER_SIZE], copy[VHDX_HEADER_SIZE];

    for (int i = 0; i < 16; i++) {
        h.file_write_guid[i] = (uint8_t) i;
        h.data_write_guid[i] = (uint8_t) (0xf0 - i);
        h.log_guid[i] = (uint8_t) (i * 3);
    }
    memset (buf, 0xee, sizeof buf);     /* encoder must zero reserved */
    vhdx_header_encode (&h, buf);
    cr_assert_eq (memcmp (buf, "head", 4), 0);
    cr_assert_eq (get_le64 (buf + 8), h.seq);
    cr_assert_eq (get_le16 (buf + 66), 1);
    cr_assert_eq (get_le32 (buf + 68), 1 << 20);
    for (size_t i = 80; i < sizeof buf; i++) {
        cr_assert_eq (buf[i], 0, "reserved byte %zu", i);
    }
    /* CRC-32C of the 4 KiB with the checksum field zeroed */
    memcpy (copy, buf, sizeof copy);
    memset (copy + 4, 0, 4);
    cr_assert_eq (get_le32 (buf + 4), fmt_crc32c (copy, sizeof copy));
    cr_assert_eq (vhdx_crc (buf, sizeof buf, 4), get_le32 (buf + 4));
    cr_assert_eq (vhdx_header_decode (buf, sizeof buf, &d), 0);
    cr_assert_eq (d.seq, h.seq);
    cr_assert_eq (d.version, 1);
    cr_assert_eq (d.log_version, 0);
    cr_assert_eq (d.log_length, h.log_length);
    cr_assert_eq (d.log_offset, h.log_offset);
    cr_assert_arr_eq (d.file_write_guid, h.file_write_guid, 16);
    cr_assert_arr_eq (d.data_write_guid, h.data_write_guid, 16);
    cr_assert_arr_eq (d.log_guid, h.log_guid, 16);
    cr_assert (d.reserved_zero);
    cr_assert_eq (d.checksum, get_le32 (buf + 4));
    /* a flipped bit changes the CRC */
    buf[100] ^= 1;
    cr_assert_neq (vhdx_crc (buf, sizeof buf, 4), get_le32 (buf + 4));
    cr_assert_eq (vhdx_header_decode (buf, sizeof buf, &d), 0);
    cr_assert_not (d.reserved_zero);
    cr_assert_eq (vhdx_header_decode (buf, 100, &d), -EINVAL);
    memcpy (buf, "HEAD", 4);
    cr_assert_eq (vhdx_header_decode (buf, sizeof buf, &d), -EINVAL);
    cr_assert (strstr (vmshift_internal_error_msg (), "signature"));
}

Test (vhdx_codec, corpus_image_header)
{
    size_t len;
    uint8_t *buf = corpus_struct ("image_header.1", &len);
    struct vhdx_header h;
    char g[37];

    cr_assert_eq (len, VHDX_HEADER_SIZE);
    cr_assert_eq (vhdx_header_decode (buf, len, &h), 0);
    cr_assert_eq (h.checksum, 0x9f69b235u);
    cr_assert_eq (vhdx_crc (buf, len, VHDX_HDR_OFF_CRC), h.checksum);
    cr_assert_eq (h.seq, 6);
    cr_assert_eq (h.version, 1);
    cr_assert_eq (h.log_version, 0);
    cr_assert_eq (h.log_length, MiB);
    cr_assert_eq (h.log_offset, MiB);
    cr_assert (vhdx_guid_is_zero (h.log_guid));
    cr_assert (h.reserved_zero);
    fmt_guid_format (h.file_write_guid, g);
    cr_assert_str_eq (g, "A3CCCDD4-E8CE-4321-9243-CDAA37D5A0E2");
    free (buf);
}

/* ----------------------------------------------------- region tables */

Test (vhdx_codec, region_table_round_trip)
{
    struct vhdx_region r[3] = {
        { .file_off = 3 * MiB, .length = 1 << 20, .required = 1 },
        { .file_off = 2 * MiB, .length = 1 << 20, .required = 1 },
        { .file_off = 1ull << 40, .length = 5 << 20, .required = 0 },
    }, d;
    struct vhdx_rt_header h;
    uint8_t *buf = malloc (VHDX_RT_SIZE), *copy = malloc (VHDX_RT_SIZE);

    memcpy (r[0].guid, vhdx_guid_bat, 16);
    memcpy (r[1].guid, vhdx_guid_metadata, 16);
    memset (r[2].guid, 0x5a, 16);
    vhdx_rt_encode (r, 3, buf);
    cr_assert_eq (vhdx_rt_header_decode (buf, VHDX_RT_SIZE, &h), 0);
    cr_assert_eq (h.count, 3);
    cr_assert_eq (h.reserved, 0);
    memcpy (copy, buf, VHDX_RT_SIZE);
    memset (copy + 4, 0, 4);
    cr_assert_eq (h.checksum, fmt_crc32c (copy, VHDX_RT_SIZE));
    for (int i = 0; i < 3; i++) {
        vhdx_rt_entry_decode (buf + 16 + 32 * i, &d);
        cr_assert_arr_eq (d.guid, r[i].guid, 16);
        cr_assert_eq (d.file_off, r[i].file_off);
        cr_assert_eq (d.length, r[i].length);
        cr_assert_eq (d.required, r[i].required);
    }
    for (size_t i = 16 + 3 * 32; i < VHDX_RT_SIZE; i++) {
        cr_assert_eq (buf[i], 0);
    }
    memcpy (buf, "regx", 4);
    cr_assert_eq (vhdx_rt_header_decode (buf, VHDX_RT_SIZE, &h), -EINVAL);
    free (buf);
    free (copy);
}

Test (vhdx_codec, corpus_region_table)
{
    size_t len, hlen, elen;
    uint8_t *rt = corpus_struct ("region_table.1", &len);
    uint8_t *hd = corpus_struct ("region_table_header.1", &hlen);
    uint8_t *en = corpus_struct ("region_table_entry.1", &elen);
    uint8_t *full = calloc (1, VHDX_RT_SIZE), *mine = malloc (VHDX_RT_SIZE);
    struct vhdx_rt_header h;
    struct vhdx_region e[2];

    cr_assert_eq (len, 80);
    cr_assert_eq (vhdx_rt_header_decode (rt, len, &h), 0);
    cr_assert_eq (h.count, 2);
    cr_assert_eq (h.checksum, 0xc66b8caeu);
    vhdx_rt_entry_decode (rt + 16, &e[0]);
    vhdx_rt_entry_decode (rt + 48, &e[1]);
    cr_assert_arr_eq (e[0].guid, vhdx_guid_bat, 16);
    cr_assert_eq (e[0].file_off, 3 * MiB);
    cr_assert_eq (e[0].length, MiB);
    cr_assert_eq (e[0].required, 1);
    cr_assert_arr_eq (e[1].guid, vhdx_guid_metadata, 16);
    cr_assert_eq (e[1].file_off, 2 * MiB);
    /* The rest of the 64 KiB table is zero on disk: the CRC over the
     * padded table matches, and our encoder reproduces the bytes. */
    memcpy (full, rt, len);
    cr_assert_eq (vhdx_crc (full, VHDX_RT_SIZE, VHDX_RT_OFF_CRC), h.checksum);
    vhdx_rt_encode (e, 2, mine);
    cr_assert_arr_eq (mine, full, VHDX_RT_SIZE);
    /* the split-out header and entry files agree */
    cr_assert_eq (hlen, 16);
    cr_assert_eq (vhdx_rt_header_decode (hd, hlen, &h), 0);
    cr_assert_eq (h.count, 2);
    cr_assert_eq (elen, 32);
    vhdx_rt_entry_decode (en, &e[1]);
    cr_assert_arr_eq (e[1].guid, vhdx_guid_bat, 16);
    cr_assert_eq (e[1].file_off, 3 * MiB);
    free (rt);
    free (hd);
    free (en);
    free (full);
    free (mine);
}

/* ---------------------------------------------------- metadata tables */

Test (vhdx_codec, metadata_table_round_trip)
{
    struct vhdx_meta_entry e[2] = {
        { .offset = 65536, .length = 8, .flags = 4 },
        { .offset = 65544, .length = 16, .flags = 6 },
    }, d;
    struct vhdx_mt_header h;
    uint8_t *buf = malloc (VHDX_META_TABLE_SIZE);

    memcpy (e[0].id, vhdx_guid_file_params, 16);
    memcpy (e[1].id, vhdx_guid_vdisk_id, 16);
    memset (buf, 0xcc, VHDX_META_TABLE_SIZE);
    vhdx_mt_encode (e, 2, buf);
    cr_assert_eq (vhdx_mt_header_decode (buf, VHDX_META_TABLE_SIZE, &h), 0);
    cr_assert_eq (h.count, 2);
    cr_assert_eq (h.reserved, 0);
    cr_assert (h.reserved2_zero);
    for (int i = 0; i < 2; i++) {
        vhdx_meta_entry_decode (buf + 32 + 32 * i, &d);
        cr_assert_arr_eq (d.id, e[i].id, 16);
        cr_assert_eq (d.offset, e[i].offset);
        cr_assert_eq (d.length, e[i].length);
        cr_assert_eq (d.flags, e[i].flags);
        cr_assert_eq (d.reserved, 0);
    }
    cr_assert_eq (buf[32 * 3], 0);
    cr_assert_eq (buf[VHDX_META_TABLE_SIZE - 1], 0);
    memcpy (buf, "metadatx", 8);
    cr_assert_eq (vhdx_mt_header_decode (buf, VHDX_META_TABLE_SIZE, &h),
                  -EINVAL);
    free (buf);
}

Test (vhdx_codec, corpus_metadata_table)
{
    size_t hlen, elen;
    uint8_t *hd = corpus_struct ("metadata_table_header.1", &hlen);
    uint8_t *en = corpus_struct ("metadata_table_entry.1", &elen);
    uint8_t again[32];
    struct vhdx_mt_header h;
    struct vhdx_meta_entry e;

    cr_assert_eq (vhdx_mt_header_decode (hd, hlen, &h), 0);
    cr_assert_eq (h.count, 5);
    cr_assert (h.reserved2_zero);
    cr_assert_eq (elen, 32);
    vhdx_meta_entry_decode (en, &e);
    cr_assert_arr_eq (e.id, vhdx_guid_file_params, 16);
    cr_assert_eq (e.offset, 65536);
    cr_assert_eq (e.length, 8);
    cr_assert_eq (e.flags, VHDX_META_IS_REQUIRED);
    vhdx_meta_entry_encode (&e, again);
    cr_assert_arr_eq (again, en, 32);
    free (hd);
    free (en);
}

/* ---------------------------------------------------- file identifier */

Test (vhdx_codec, corpus_file_identifier)
{
    size_t len;
    uint8_t *fid = corpus_struct ("file_identifier.1", &len);
    uint8_t mine[VHDX_FID_LEN];

    cr_assert_eq (len, VHDX_FID_LEN);
    cr_assert_eq (memcmp (fid, "vhdxfile", 8), 0);
    cr_assert_eq (get_le16 (fid + 8), 'M');
    /* Windows' creator string, re-encoded by us, gives the same bytes */
    cr_assert_eq (vhdx_file_id_encode ("Microsoft Windows 10.0.19041.0",
                                       mine), 0);
    cr_assert_arr_eq (mine, fid, VHDX_FID_LEN);
    free (fid);
}

Test (vhdx_codec, creator_utf16)
{
    uint8_t b[VHDX_FID_LEN];
    char longs[300];

    cr_assert_eq (vhdx_file_id_encode ("v\xc3\xa9\xf0\x9f\x98\x80", b), 0);
    cr_assert_eq (get_le16 (b + 8), 'v');
    cr_assert_eq (get_le16 (b + 10), 0xe9);
    cr_assert_eq (get_le16 (b + 12), 0xd83d);     /* U+1F600 surrogates */
    cr_assert_eq (get_le16 (b + 14), 0xde00);
    cr_assert_eq (get_le16 (b + 16), 0);
    cr_assert_eq (vhdx_file_id_encode (NULL, b), 0);
    cr_assert_eq (get_le16 (b + 8), 0);
    cr_assert_eq (vhdx_file_id_encode ("bad \xc0\x80", b), -EINVAL);
    cr_assert_eq (vhdx_file_id_encode ("cut \xe2\x82", b), -EINVAL);
    cr_assert_eq (vhdx_file_id_encode ("\xed\xa0\x80", b), -EINVAL);
    memset (longs, 'a', 255);
    longs[255] = '\0';
    cr_assert_eq (vhdx_file_id_encode (longs, b), 0);
    cr_assert_eq (get_le16 (b + 8 + 2 * 254), 'a');
    cr_assert_eq (get_le16 (b + 8 + 2 * 255), 0);
    longs[255] = 'a';
    longs[256] = '\0';
    cr_assert_eq (vhdx_file_id_encode (longs, b), -EINVAL);
}

/* ----------------------------------------------------------- geometry */

/* docs/formats.md B.7: X_min = 3 MiB + roundup (8 (N + ceil (N/CR)), 1 MiB) */
Test (vhdx_geom, x_min_table)
{
    static const struct {
        uint64_t v;
        uint64_t x_1m, x_32m, x_256m;   /* MiB */
    } t[] = {
        { 10 * GiB, 4, 4, 4 },
        { 100 * GiB, 4, 4, 4 },
        { TiB, 12, 4, 4 },
        { 16 * TiB, 132, 8, 4 },
        { 64 * TiB, 516, 20, 6 },
    };
    struct vhdx_geom g;

    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        cr_assert_eq (vhdx_geom_init (&g, t[i].v, MiB, 512), 0);
        cr_assert_eq (vhdx_geom_data_offset (&g), t[i].x_1m * MiB,
                      "V=%llu BS=1M", (unsigned long long) t[i].v);
        cr_assert_eq (vhdx_geom_init (&g, t[i].v, 32 * MiB, 512), 0);
        cr_assert_eq (vhdx_geom_data_offset (&g), t[i].x_32m * MiB);
        cr_assert_eq (vhdx_geom_init (&g, t[i].v, 256 * MiB, 512), 0);
        cr_assert_eq (vhdx_geom_data_offset (&g), t[i].x_256m * MiB);
    }
    /* 1 TiB at 1 MiB: BAT 9 MiB */
    cr_assert_eq (vhdx_geom_init (&g, TiB, MiB, 512), 0);
    cr_assert_eq (vhdx_geom_bat_len (&g), 9 * MiB);
}

Test (vhdx_geom, chunk_ratio_and_interleave)
{
    struct vhdx_geom g;

    cr_assert_eq (vhdx_geom_init (&g, 5 * GiB, MiB, 512), 0);
    cr_assert_eq (g.chunk_ratio, 4096);
    cr_assert_eq (g.nblocks, 5120);
    cr_assert_eq (g.nchunks, 2);
    cr_assert_eq (g.entries, 5122);
    cr_assert_eq (vhdx_bat_index (&g, 0), 0);
    cr_assert_eq (vhdx_bat_index (&g, 4095), 4095);
    cr_assert_eq (vhdx_bat_index (&g, 4096), 4097);
    cr_assert_eq (vhdx_sb_index (&g, 0), 4096);
    cr_assert_eq (vhdx_sb_index (&g, 1), 8193);
    cr_assert (vhdx_index_is_sb (&g, 4096));
    cr_assert_not (vhdx_index_is_sb (&g, 4097));
    /* index <-> block is a bijection on non-SB indexes */
    for (uint64_t b = 0; b < 3 * 4096 + 5; b++) {
        uint64_t idx = vhdx_bat_index (&g, b);

        cr_assert_not (vhdx_index_is_sb (&g, idx));
        cr_assert_eq (vhdx_index_block (&g, idx), b);
    }
    /* qemu's rule: entries up to the last payload block */
    cr_assert_eq (vhdx_geom_min_entries (&g, false), 5120 + 1);
    cr_assert_eq (vhdx_geom_min_entries (&g, true), 2 * 4097);

    cr_assert_eq (vhdx_geom_init (&g, 64 * TiB, 32 * MiB, 512), 0);
    cr_assert_eq (g.chunk_ratio, 128);
    cr_assert_eq (vhdx_geom_init (&g, 64 * TiB, 256 * MiB, 512), 0);
    cr_assert_eq (g.chunk_ratio, 16);
    cr_assert_eq (vhdx_geom_init (&g, GiB, MiB, 4096), 0);
    cr_assert_eq (g.chunk_ratio, 32768);
    /* exactly one full chunk: no partial chunk, no extra SB */
    cr_assert_eq (vhdx_geom_init (&g, 128 * 32 * MiB, 32 * MiB, 512), 0);
    cr_assert_eq (g.entries, 129);
    cr_assert_eq (vhdx_geom_min_entries (&g, false), 128);
    cr_assert_eq (vhdx_geom_block_bytes (&g, 127), 32 * MiB);
    cr_assert_eq (vhdx_geom_block_bytes (&g, 128), 0);
    cr_assert_eq (vhdx_geom_init (&g, 32 * MiB + 512, 32 * MiB, 512), 0);
    cr_assert_eq (vhdx_geom_block_bytes (&g, 1), 512);
}

Test (vhdx_geom, rejects)
{
    struct vhdx_geom g;

    cr_assert_eq (vhdx_geom_init (&g, GiB, 3 * MiB, 512), -EINVAL);
    cr_assert_eq (vhdx_geom_init (&g, GiB, 512 * MiB, 512), -EINVAL);
    cr_assert_eq (vhdx_geom_init (&g, GiB, MiB / 2, 512), -EINVAL);
    cr_assert_eq (vhdx_geom_init (&g, GiB, MiB, 1024), -EINVAL);
    cr_assert_eq (vhdx_geom_init (&g, 64 * TiB + 512, MiB, 512), -EFBIG);
}

Test (vhdx_codec, bat_entry_bits)
{
    uint64_t e = vhdx_bat_entry (5 * MiB, VHDX_BAT_FULLY_PRESENT);

    cr_assert_eq (e, 5 * MiB | 6);
    cr_assert_eq (vhdx_bat_state (e), 6);
    cr_assert_eq (vhdx_bat_offset (e), 5 * MiB);
    /* reserved bits 3..19 are not part of the offset */
    cr_assert_eq (vhdx_bat_offset (e | 0x8), 5 * MiB);
    cr_assert_eq (vhdx_bat_offset (UINT64_MAX),
                  UINT64_MAX & ~UINT64_C (0xfffff));
}

/* ------------------------------------------------------ overlap bitmap */

/* The bit-at-a-time marking vhdx_bitmap_mark replaced. */
static bool
ref_mark (uint8_t *map, uint64_t from, uint64_t to)
{
    bool hit = false;

    for (uint64_t u = from; u < to; u++) {
        if (map[u / 8] & (1u << (u % 8))) {
            hit = true;
        }
        map[u / 8] |= (uint8_t) (1u << (u % 8));
    }
    return hit;
}

/* xorshift64: the same ranges on every run */
static uint64_t
mark_rand (uint64_t *st)
{
    *st ^= *st << 13;
    *st ^= *st >> 7;
    *st ^= *st << 17;
    return *st;
}

Test (vhdx_bitmap, mark_matches_bit_at_a_time)
{
    enum { NBITS = 2048, MAPLEN = NBITS / 8 + 1 };
    uint64_t st = 0x9e3779b97f4a7c15u;
    unsigned hits = 0, misses = 0;

    for (int round = 0; round < 400; round++) {
        uint8_t a[MAPLEN], b[MAPLEN];
        int nmarks = 1 + (int) (mark_rand (&st) % 12);

        memset (a, 0, sizeof a);
        memset (b, 0, sizeof b);
        for (int i = 0; i < nmarks; i++) {
            uint64_t from = mark_rand (&st) % (NBITS + 1);
            uint64_t len = mark_rand (&st) % 4 == 0 ? mark_rand (&st) % 700
                                                     : mark_rand (&st) % 20;
            uint64_t to = from + len > NBITS ? NBITS : from + len;
            bool want, got;

            /* some ranges start or end exactly where an earlier one ended
             * or started: overlaps of one bit at either edge */
            if (i > 0 && mark_rand (&st) % 3 == 0) {
                from = to > 0 ? to - 1 : 0;
                to = from + 1 + mark_rand (&st) % 70;
                to = to > NBITS ? NBITS : to;
            }
            want = ref_mark (a, from, to);
            got = vhdx_bitmap_mark (b, from, to);
            cr_assert_eq (got, want, "round %d mark %d [%llu, %llu): %d, "
                          "bit at a time %d", round, i,
                          (unsigned long long) from, (unsigned long long) to,
                          got, want);
            cr_assert_arr_eq (a, b, sizeof a, "round %d mark %d [%llu, "
                              "%llu): bitmaps differ", round, i,
                              (unsigned long long) from,
                              (unsigned long long) to);
            hits += want;
            misses += !want;
        }
    }
    /* both answers were exercised */
    cr_assert_gt (hits, 100);
    cr_assert_gt (misses, 100);
}

Test (vhdx_bitmap, mark_edges)
{
    uint8_t m[32];

    memset (m, 0, sizeof m);
    cr_assert_not (vhdx_bitmap_mark (m, 8, 200));
    cr_assert_eq (m[0], 0);
    cr_assert_eq (m[1], 0xff);
    cr_assert_eq (m[24], 0xff);
    cr_assert_eq (m[25], 0);
    /* touching at either end is no overlap; one bit in is */
    cr_assert_not (vhdx_bitmap_mark (m, 0, 8));
    cr_assert_not (vhdx_bitmap_mark (m, 200, 256));
    memset (m, 0, sizeof m);
    cr_assert_not (vhdx_bitmap_mark (m, 100, 180));
    cr_assert (vhdx_bitmap_mark (m, 179, 181));
    cr_assert (vhdx_bitmap_mark (m, 3, 101));
    cr_assert (vhdx_bitmap_mark (m, 140, 141));
    /* an empty range or one past the end marks nothing */
    cr_assert_not (vhdx_bitmap_mark (m, 250, 250));
    cr_assert_not (vhdx_bitmap_mark (m, 256, 10));
    cr_assert_eq (m[31], 0);
}
