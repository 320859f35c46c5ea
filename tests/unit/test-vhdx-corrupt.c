/* VHDX corrupt input: the negative matrix of docs/formats.md E, and
 * more, on patched copies of a valid file we plan ourselves.
 *
 * Each case names the message the validator must report (as a problem,
 * or as a "warning: " when the file stays usable) and what read_map must
 * do: read the file (and return the source's bytes) or refuse it with
 * -EINVAL / -ENOTSUP and a message naming the file.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/base/endian.h"
#include "engine/base/error.h"
#include "formats/vhdx.h"
#include "helpers/testio.h"
#include "helpers/vhdxtest.h"

#define MiB (UINT64_C (1) << 20)

/* Base image: 10 MiB disk, 1 MiB blocks, dynamic; data in blocks 0, 3
 * and 9; X = 4 MiB, so block i (if present) is at (4 + i) MiB and the
 * file is 14 MiB.  Header 2 (seq 2) is current. */
#define BASE_SIZE (10 * MiB)
#define BASE_FILE (14 * MiB)
#define BAT_OFF (3 * MiB)
#define META_OFF (2 * MiB)
#define LOG_OFF MiB
#define ITEMS (META_OFF + 65536)   /* FP, VDSize, LSS, PSS, DiskId */

static char *dir;
static char src[4096], img[4096];

static void
setup (void)
{
    const struct vt_seg s[] = {
        { 0, 8192 }, { 3 * MiB + 4096, 65536 }, { 9 * MiB, 4096 },
    };
    struct fmt_plan_opts o;

    dir = vt_tmpdir ();
    cr_assert_not_null (dir);
    snprintf (src, sizeof src, "%s/src.raw", dir);
    snprintf (img, sizeof img, "%s/bad.vhdx", dir);
    cr_assert_eq (vt_make_raw (src, BASE_SIZE, s, 3, 5), 0);
    vt_opts (&o, "bad.vhdx", MiB, false);
    cr_assert_eq (vt_convert (src, dir, &o, NULL, NULL), 0);
}

static void
teardown (void)
{
    vt_rmdir (dir);
    dir = NULL;
}

/* ------------------------------------------------------------ patching */

static void
rd (uint64_t off, void *buf, size_t n)
{
    int fd = open (img, O_RDONLY);

    cr_assert_geq (fd, 0);
    cr_assert_eq (pread (fd, buf, n, (off_t) off), (ssize_t) n);
    close (fd);
}

static void
wr (uint64_t off, const void *buf, size_t n)
{
    int fd = open (img, O_WRONLY);

    cr_assert_geq (fd, 0);
    cr_assert_eq (pwrite (fd, buf, n, (off_t) off), (ssize_t) n);
    close (fd);
}

static void
wr_le64 (uint64_t off, uint64_t v)
{
    uint8_t b[8];

    put_le64 (b, v);
    wr (off, b, 8);
}

static void
wr_le32 (uint64_t off, uint32_t v)
{
    uint8_t b[4];

    put_le32 (b, v);
    wr (off, b, 4);
}

static void
wr_le16 (uint64_t off, uint16_t v)
{
    uint8_t b[2];

    put_le16 (b, v);
    wr (off, b, 2);
}

static void
fix_crc (uint64_t off, size_t len, size_t crc_off)
{
    uint8_t *b = malloc (len);

    rd (off, b, len);
    vhdx_crc_store (b, len, crc_off);
    wr (off, b, len);
    free (b);
}

static uint64_t
hdr_off (int i)
{
    return i ? VHDX_HEADER2_OFF : VHDX_HEADER1_OFF;
}

static void
fix_header (int i)
{
    fix_crc (hdr_off (i), VHDX_HEADER_SIZE, VHDX_HDR_OFF_CRC);
}

static void
fix_rt (int i)
{
    fix_crc (i ? VHDX_RT2_OFF : VHDX_RT1_OFF, VHDX_RT_SIZE, VHDX_RT_OFF_CRC);
}

static void
set_bat (uint64_t idx, uint64_t e)
{
    wr_le64 (BAT_OFF + idx * 8, e);
}

/* Both headers, CRCs fixed. */
static void
both_headers_u16 (size_t field, uint16_t v)
{
    for (int i = 0; i < 2; i++) {
        wr_le16 (hdr_off (i) + field, v);
        fix_header (i);
    }
}

static void
set_log_guid (void)
{
    uint8_t g[16];

    for (int i = 0; i < 16; i++) {
        g[i] = (uint8_t) (0xa0 + i);
    }
    for (int i = 0; i < 2; i++) {
        wr (hdr_off (i) + VHDX_HDR_OFF_LOG_GUID, g, 16);
        fix_header (i);
    }
}

/* A valid log entry for the headers' LogGuid at log position pos: one
 * header sector and, with a data descriptor, one data sector (which
 * wraps to the log start when pos is the last sector). */
static void
write_log_entry (uint64_t pos, bool data)
{
    uint8_t e[8192] = { 0 };
    uint32_t elen = data ? 8192 : 4096;
    uint64_t seq = 7;

    memcpy (e, "loge", 4);
    put_le32 (e + VHDX_LOGE_OFF_LENGTH, elen);
    put_le32 (e + VHDX_LOGE_OFF_TAIL, (uint32_t) pos);
    put_le64 (e + VHDX_LOGE_OFF_SEQ, seq);
    put_le32 (e + VHDX_LOGE_OFF_DESC_COUNT, 1);
    for (int i = 0; i < 16; i++) {
        e[VHDX_LOGE_OFF_LOG_GUID + i] = (uint8_t) (0xa0 + i);
    }
    put_le64 (e + VHDX_LOGE_OFF_FLUSHED, BASE_FILE);
    put_le64 (e + VHDX_LOGE_OFF_LAST, BASE_FILE);
    if (data) {
        memcpy (e + 64, "desc", 4);
        put_le64 (e + 64 + VHDX_LOGD_OFF_FILE_OFF, META_OFF);
        put_le64 (e + 64 + VHDX_LOGD_OFF_SEQ, seq);
        memcpy (e + 4096, "data", 4);
        put_le32 (e + 4096 + VHDX_LOGS_OFF_SEQ_HIGH, (uint32_t) (seq >> 32));
        put_le32 (e + 4096 + VHDX_LOGS_OFF_SEQ_LOW, (uint32_t) seq);
    } else {
        memcpy (e + 64, "zero", 4);
        put_le64 (e + 64 + VHDX_LOGD_OFF_LENGTH, 4096);
        put_le64 (e + 64 + VHDX_LOGD_OFF_FILE_OFF, 5 * MiB);
        put_le64 (e + 64 + VHDX_LOGD_OFF_SEQ, seq);
    }
    vhdx_crc_store (e, elen, VHDX_LOGE_OFF_CRC);
    wr (LOG_OFF + pos, e, 4096);
    if (data) {
        wr (LOG_OFF + (pos + 4096) % MiB, e + 4096, 4096);
    }
}

/* ------------------------------------------------------------ mutations */

static void m_none (void) { }

static void
m_header2_crc (void)
{
    uint8_t b = 0x5a;

    wr (VHDX_HEADER2_OFF + 200, &b, 1);
}

static void
m_both_crc (void)
{
    uint8_t b = 0x5a;

    wr (VHDX_HEADER1_OFF + 200, &b, 1);
    wr (VHDX_HEADER2_OFF + 200, &b, 1);
}

static void
m_equal_seq_differ (void)
{
    uint8_t g[16];

    memset (g, 0x77, sizeof g);
    wr_le64 (VHDX_HEADER1_OFF + VHDX_HDR_OFF_SEQ, 2);
    wr (VHDX_HEADER1_OFF + VHDX_HDR_OFF_FILE_WRITE, g, 16);
    fix_header (0);
}

static void
m_equal_seq_same (void)
{
    uint8_t h[VHDX_HEADER_SIZE];

    rd (VHDX_HEADER2_OFF, h, sizeof h);
    wr (VHDX_HEADER1_OFF, h, sizeof h);
}

static void
m_log_version (void)
{
    both_headers_u16 (VHDX_HDR_OFF_LOG_VERSION, 1);
}

static void m_version (void) { both_headers_u16 (VHDX_HDR_OFF_VERSION, 2); }

static void
m_log_offset (void)
{
    for (int i = 0; i < 2; i++) {
        wr_le64 (hdr_off (i) + VHDX_HDR_OFF_LOG_OFFSET, MiB + 4096);
        fix_header (i);
    }
}

static void
m_rt1_crc (void)
{
    uint8_t b = 1;

    wr (VHDX_RT1_OFF + 1000, &b, 1);
}

static void
m_rt2_crc (void)
{
    uint8_t b = 1;

    wr (VHDX_RT2_OFF + 1000, &b, 1);
}

/* region entry 1 is the metadata region (as we write it) */
static void
m_regions_overlap (void)
{
    for (int i = 0; i < 2; i++) {
        wr_le64 ((i ? VHDX_RT2_OFF : VHDX_RT1_OFF) + 16 + 32 + 16, BAT_OFF);
        fix_rt (i);
    }
}

static void
m_unknown_required_region (void)
{
    uint8_t e[32] = { 0 };

    memset (e, 0x42, 16);
    put_le64 (e + 16, 5 * MiB);         /* block 1 is ZERO: free */
    put_le32 (e + 24, (uint32_t) MiB);
    put_le32 (e + 28, 1);
    for (int i = 0; i < 2; i++) {
        uint64_t rt = i ? VHDX_RT2_OFF : VHDX_RT1_OFF;

        wr (rt + 16 + 64, e, 32);
        wr_le32 (rt + VHDX_RT_OFF_COUNT, 3);
        fix_rt (i);
    }
}

static void m_bat_into_metadata (void) { set_bat (0, META_OFF | 6); }
static void m_bat_past_eof (void) { set_bat (3, (BASE_FILE + 10 * MiB) | 6); }
static void m_state7 (void) { set_bat (3, (7 * MiB) | 7); }
static void m_state5 (void) { set_bat (5, 5); }
static void m_overlap_blocks (void) { set_bat (9, (7 * MiB) | 6); }
static void m_bat_offset_zero (void) { set_bat (0, 6); }
static void m_reserved_bits (void) { set_bat (3, (7 * MiB) | 6 | 0x100); }
static void m_bat_into_log (void) { set_bat (3, LOG_OFF | 6); }

static void
m_lss_4096 (void)
{
    /* items: FileParams +0, VDSize +8, LSS +16, PSS +20, DiskId +24 */
    wr_le32 (META_OFF + 65536 + 16, 4096);
}

static void m_lss_1024 (void) { wr_le32 (ITEMS + 16, 1024); }
static void m_block_size (void) { wr_le32 (ITEMS, 3 * (uint32_t) MiB); }
static void m_has_parent (void) { wr_le32 (ITEMS + 4, 2); }
static void m_vsize_odd (void) { wr_le64 (ITEMS + 8, BASE_SIZE + 100); }
static void m_vsize_big (void) { wr_le64 (ITEMS + 8, UINT64_C (1) << 46); }
static void m_vsize_huge (void) { wr_le64 (ITEMS + 8, UINT64_C (1) << 47); }
static void m_missing_item (void) { wr_le16 (META_OFF + VHDX_MT_OFF_COUNT, 4); }

static void
m_duplicate_item (void)
{
    uint8_t e[32];

    rd (META_OFF + 32, e, 32);          /* entry 0: File Parameters */
    wr (META_OFF + 32 + 5 * 32, e, 32);
    wr_le16 (META_OFF + VHDX_MT_OFF_COUNT, 6);
}

static void
m_unknown_required_item (void)
{
    uint8_t e[32] = { 0 };

    memset (e, 0x99, 16);
    put_le32 (e + 16, 65536 + 4096);
    put_le32 (e + 20, 8);
    put_le32 (e + 24, VHDX_META_IS_REQUIRED);
    wr (META_OFF + 32 + 5 * 32, e, 32);
    wr_le16 (META_OFF + VHDX_MT_OFF_COUNT, 6);
}

static void
m_items_overlap (void)
{
    wr_le32 (META_OFF + 32 + 32 + 16, 65536 + 4);   /* VDSize over FP */
}

static void m_meta_sig (void) { wr (META_OFF, "metadatX", 8); }
static void m_bad_signature (void) { wr (0, "vhdxfilf", 8); }

static void
m_truncated (void)
{
    cr_assert_eq (truncate (img, (off_t) (7 * MiB + 4096)), 0);
}

static void
m_truncated_meta (void)
{
    cr_assert_eq (truncate (img, (off_t) (2 * MiB + 512 * 1024)), 0);
}

static void
m_truncated_tiny (void)
{
    cr_assert_eq (truncate (img, 300 * 1024), 0);
}

static void
m_log_entries (void)
{
    set_log_guid ();
    write_log_entry (0, false);
}

static void
m_log_entry_wraps (void)
{
    set_log_guid ();
    write_log_entry (MiB - 4096, true);
}

static void
m_log_bad_crc (void)
{
    uint8_t b = 0xee;

    set_log_guid ();
    write_log_entry (8192, false);
    wr (LOG_OFF + 8192 + 3000, &b, 1);
}

static void m_log_guid_empty (void) { set_log_guid (); }

/* ---------------------------------------------------------------- runner */

static bool
has_msg (const struct fmt_problems *p, const char *want, bool warning)
{
    for (size_t i = 0; i < p->n; i++) {
        bool w = strncmp (p->msg[i], "warning: ", 9) == 0;

        if (w == warning && strstr (p->msg[i], want)) {
            return true;
        }
    }
    return false;
}

static void
dump (const struct fmt_problems *p)
{
    for (size_t i = 0; i < p->n; i++) {
        cr_log_info ("  problem: %s", p->msg[i]);
    }
}

static void
run (void (*mutate) (void), const char *want, bool warning, int read_rc)
{
    struct test_io *t, *s;
    struct fmt_problems probs;
    struct fmt_source_info info = { 0 };
    struct fmt_extent_list m, sm;
    int r;

    mutate ();
    t = test_io_open (img);
    cr_assert_not_null (t);
    fmt_problems_init (&probs);
    cr_assert_eq (vhdx_validate (test_io_fmt (t), &probs, &info), 0, "%s",
                  vmshift_internal_error_msg ());
    dump (&probs);
    if (want) {
        cr_assert (has_msg (&probs, want, warning), "no %s containing '%s'",
                   warning ? "warning" : "problem", want);
    } else {
        cr_assert_eq (probs.n, 0);
    }
    if (read_rc == 0) {
        /* usable: only warnings */
        for (size_t i = 0; i < probs.n; i++) {
            cr_assert (strncmp (probs.msg[i], "warning: ", 9) == 0, "%s",
                       probs.msg[i]);
        }
    }
    fmt_problems_release (&probs);
    fmt_extents_init (&m);
    memset (&info, 0, sizeof info);
    r = vhdx_read_map (test_io_fmt (t), &m, &info);
    cr_assert_eq (r, read_rc, "read_map gave %d: %s", r,
                  vmshift_internal_error_msg ());
    if (r < 0) {
        cr_assert (strstr (vmshift_internal_error_msg (), img), "%s",
                   vmshift_internal_error_msg ());
        cr_assert_eq (m.v.len, 0);
        cr_log_info ("read_map: %s", vmshift_internal_error_msg ());
    } else {
        s = test_io_open (src);
        fmt_extents_init (&sm);
        cr_assert_eq (raw_read_map (test_io_fmt (s), &sm, &info), 0);
        cr_assert_eq (vt_compare (t, &m, s, &sm), 0, "data differs");
        fmt_extents_release (&sm);
        test_io_close (s);
    }
    fmt_extents_release (&m);
    test_io_close (t);
}

#define CASE(name, fn, want, warning, rc) \
    Test (vhdx_corrupt, name, .init = setup, .fini = teardown) \
    { \
        run (fn, want, warning, rc); \
    }

CASE (valid_base, m_none, NULL, false, 0)
/* docs/formats.md E, negative matrix */
CASE (one_header_crc_bad, m_header2_crc, "header 2 (at 128 KiB): checksum "
      "mismatch", true, 0)
CASE (both_header_crcs_bad, m_both_crc, "no valid header", false, -EINVAL)
CASE (equal_seq_headers_differ, m_equal_seq_differ, "both headers have "
      "sequence number 2 but differ", false, -EINVAL)
CASE (log_version_1, m_log_version, "log version is 1", false, -EINVAL)
CASE (log_guid_empty_log, m_log_guid_empty, "holds no valid entry", true, 0)
CASE (rt1_crc_bad, m_rt1_crc, "region table 1 (at 192 KiB): checksum "
      "mismatch", false, -EINVAL)
CASE (bat_entry_into_metadata, m_bat_into_metadata, "overlaps the metadata "
      "region", false, -EINVAL)
CASE (bat_entry_past_eof, m_bat_past_eof, "past the end of the file", false,
      -EINVAL)
CASE (bat_reserved_bits, m_reserved_bits, "reserved bits set", true, 0)
CASE (state_5, m_state5, "reserved state 5", false, -EINVAL)
CASE (state_7_dynamic, m_state7, "PARTIALLY_PRESENT (7)", false, -EINVAL)
CASE (lss_4096, m_lss_4096, "qemu cannot read", true, 0)
CASE (bad_signature, m_bad_signature, "not 'vhdxfile'", false, -EINVAL)
/* more */
CASE (equal_seq_identical_ok, m_equal_seq_same, NULL, false, 0)
CASE (version_2, m_version, "header version is 2", false, -EINVAL)
CASE (log_offset_unaligned, m_log_offset, "log offset", false, -EINVAL)
CASE (rt2_crc_bad, m_rt2_crc, "region table 2 (at 256 KiB): checksum "
      "mismatch", true, 0)
CASE (regions_overlap, m_regions_overlap, "overlaps the BAT region", false,
      -EINVAL)
CASE (unknown_required_region, m_unknown_required_region, "unknown region",
      false, -ENOTSUP)
CASE (overlapping_blocks, m_overlap_blocks, "overlaps another block", false,
      -EINVAL)
CASE (bat_offset_zero, m_bat_offset_zero, "overlaps the header section",
      false, -EINVAL)
CASE (bat_into_log, m_bat_into_log, "overlaps the log", false, -EINVAL)
CASE (lss_1024, m_lss_1024, "logical sector size 1024", false, -EINVAL)
CASE (block_size_3m, m_block_size, "block size 3145728", false, -EINVAL)
CASE (has_parent, m_has_parent, "differencing VHDX", false, -ENOTSUP)
CASE (vsize_not_sector_multiple, m_vsize_odd, "is not a multiple of the "
      "512-byte logical sector", false, -EINVAL)
CASE (bat_too_small, m_vsize_big, "the disk needs", false, -EINVAL)
CASE (vsize_over_64t, m_vsize_huge, "larger than the VHDX limit of 64 TiB",
      false, -EINVAL)
CASE (missing_item, m_missing_item, "Virtual Disk ID is missing", false,
      -EINVAL)
CASE (duplicate_item, m_duplicate_item, "appears more than once", false,
      -EINVAL)
CASE (unknown_required_item, m_unknown_required_item, "unknown item", false,
      -ENOTSUP)
CASE (items_overlap, m_items_overlap, "metadata entries 0 and 1 overlap",
      false, -EINVAL)
CASE (metadata_signature, m_meta_sig, "metadata table signature", false,
      -EINVAL)
CASE (truncated, m_truncated, "the file would have to be extended", false,
      -EINVAL)
CASE (truncated_in_metadata, m_truncated_meta, "metadata region (1048576 "
      "bytes at 2097152) extends past the end", false, -EINVAL)
CASE (truncated_tiny, m_truncated_tiny, "shorter than the 1 MiB", false,
      -EINVAL)
CASE (log_with_entries, m_log_entries, "log needs replay", false, -ENOTSUP)
CASE (log_entry_wrapping, m_log_entry_wraps, "log needs replay", false,
      -ENOTSUP)
CASE (log_entry_bad_crc, m_log_bad_crc, "holds no valid entry", true, 0)

/* Our log entries are what qemu calls a log that needs replaying: the
 * detection above agrees with an independent reader. */
static void
qemu_agrees_dirty (void (*mutate) (void))
{
    if (test_sh ("command -v qemu-img >/dev/null 2>&1") != 0) {
        teardown ();            /* no fini after a skip */
        cr_skip_test ("qemu-img is not installed");
    }
    mutate ();
    cr_assert_eq (test_sh ("qemu-img info -f vhdx '%s' 2>&1 | "
                           "grep -q 'needs to be replayed'", img), 0);
}

Test (vhdx_corrupt, qemu_sees_log_entries, .init = setup, .fini = teardown)
{
    qemu_agrees_dirty (m_log_entries);
}

Test (vhdx_corrupt, qemu_sees_wrapped_log_entry, .init = setup,
      .fini = teardown)
{
    qemu_agrees_dirty (m_log_entry_wraps);
}

Test (vhdx_corrupt, qemu_opens_empty_log, .init = setup, .fini = teardown)
{
    if (test_sh ("command -v qemu-img >/dev/null 2>&1") != 0) {
        teardown ();            /* no fini after a skip */
        cr_skip_test ("qemu-img is not installed");
    }
    m_log_bad_crc ();
    cr_assert_eq (test_sh ("qemu-img info -f vhdx '%s' >/dev/null 2>&1", img),
                  0);
}

/* Sector bitmap entries: a 17-block disk at 256 MiB blocks has a chunk
 * ratio of 16, so BAT index 16 is the sector bitmap of chunk 0. */
Test (vhdx_corrupt, sector_bitmap_entry_in_dynamic, .init = setup,
      .fini = teardown)
{
    const struct vt_seg s[] = { { 16 * 256 * MiB, 4096 } };
    struct fmt_plan_opts o;
    struct test_io *t;
    struct fmt_problems probs;
    struct fmt_source_info info = { 0 };
    struct fmt_extent_list m;

    snprintf (src, sizeof src, "%s/sb.raw", dir);
    snprintf (img, sizeof img, "%s/sb.vhdx", dir);
    cr_assert_eq (vt_make_raw (src, 17 * 256 * MiB, s, 1, 9), 0);
    vt_opts (&o, "sb.vhdx", 256 * MiB, false);
    cr_assert_eq (vt_convert (src, dir, &o, NULL, NULL), 0);
    set_bat (16, (4 * MiB) | 6);
    t = test_io_open (img);
    fmt_problems_init (&probs);
    cr_assert_eq (vhdx_validate (test_io_fmt (t), &probs, &info), 0);
    dump (&probs);
    cr_assert (has_msg (&probs, "sector bitmap of chunk 0", false));
    fmt_problems_release (&probs);
    fmt_extents_init (&m);
    cr_assert_eq (vhdx_read_map (test_io_fmt (t), &m, &info), -EINVAL);
    test_io_close (t);
}

/* Whole chunks of ZERO entries are compared at once by the BAT scan; a
 * single odd entry in such a chunk must still be found: a 64-block disk
 * at 256 MiB blocks (chunk ratio 16, 17 entries a chunk) with data in
 * block 0 only, so chunks 1 to 3 are all ZERO. */
static void
chunk_entry_found (uint64_t idx, uint64_t e, const char *msg,
                   bool not_present)
{
    const struct vt_seg s[] = { { 0, 4096 } };
    struct fmt_plan_opts o;
    struct test_io *t;
    struct fmt_problems probs;
    struct fmt_source_info info = { 0 };
    struct fmt_extent_list m;

    snprintf (src, sizeof src, "%s/zc.raw", dir);
    snprintf (img, sizeof img, "%s/zc.vhdx", dir);
    cr_assert_eq (vt_make_raw (src, 64 * 256 * MiB, s, 1, 9), 0);
    vt_opts (&o, "zc.vhdx", 256 * MiB, false);
    cr_assert_eq (vt_convert (src, dir, &o, NULL, NULL), 0);
    t = test_io_open (img);
    fmt_problems_init (&probs);
    cr_assert_eq (vhdx_validate (test_io_fmt (t), &probs, &info), 0);
    cr_assert_eq (probs.n, 0, "the untouched image has problems");
    fmt_problems_release (&probs);
    test_io_close (t);
    for (uint64_t k = 2 * 17; not_present && k < 3 * 17 - 1; k++) {
        set_bat (k, 0);         /* chunk 2 NOT_PRESENT, as qemu writes */
    }
    set_bat (idx, e);
    t = test_io_open (img);
    fmt_problems_init (&probs);
    cr_assert_eq (vhdx_validate (test_io_fmt (t), &probs, &info), 0);
    dump (&probs);
    cr_assert (has_msg (&probs, msg, false), "no '%s'", msg);
    fmt_problems_release (&probs);
    fmt_extents_init (&m);
    cr_assert_eq (vhdx_read_map (test_io_fmt (t), &m, &info), -EINVAL);
    fmt_extents_release (&m);
    test_io_close (t);
}

Test (vhdx_corrupt, odd_entry_in_a_zero_chunk, .init = setup,
      .fini = teardown)
{
    chunk_entry_found (2 * 17 + 7, 5, "reserved state 5", false);
    chunk_entry_found (2 * 17 + 7, 5, "reserved state 5", true);
}

Test (vhdx_corrupt, odd_bitmap_entry_of_a_zero_chunk, .init = setup,
      .fini = teardown)
{
    chunk_entry_found (3 * 17 - 1, 1, "sector bitmap of chunk 2", false);
    chunk_entry_found (3 * 17 - 1, 1, "sector bitmap of chunk 2", true);
}

Test (vhdx_corrupt, odd_last_entry_of_a_zero_chunk, .init = setup,
      .fini = teardown)
{
    chunk_entry_found (3 * 17 + 15, (7 * MiB) | 6 | 0x100000,
                       "BAT entry 66", false);
}
