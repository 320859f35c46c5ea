/* VHDX codec and geometry: encode/decode of the file identifier,
 * headers, region tables and metadata tables, CRC helpers, and the
 * block/BAT arithmetic.  Spec: [MS-VHDX] v8.0 sections 2.1-2.6; project
 * notes docs/formats/vhdx.md.  See vhdx.h for the rules.
 */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "engine/base/endian.h"
#include "engine/base/error.h"
#include "engine/base/overflow.h"
#include "formats/vhdx.h"

static_assert (VHDX_RT_OFF_ENTRIES + VHDX_MAX_ENTRIES * VHDX_RTE_SIZE
               <= VHDX_RT_SIZE, "region table entries fit in 64 KiB");
static_assert (VHDX_MT_OFF_ENTRIES + VHDX_MAX_ENTRIES * VHDX_MTE_SIZE
               <= VHDX_META_TABLE_SIZE, "metadata entries fit in 64 KiB");
static_assert (VHDX_HDR_OFF_RESERVED + 4016 == VHDX_HEADER_SIZE,
               "header is 4 KiB");
static_assert (VHDX_FID_OFF_CREATOR + VHDX_CREATOR_BYTES == VHDX_FID_LEN,
               "file identifier layout");

/* GUIDs as stored on disk ([MS-VHDX] gives them in text form;
 * fmt_guid_parse encodes text as stored). */
const uint8_t vhdx_guid_bat[16] = {
    0x66, 0x77, 0xc2, 0x2d, 0x23, 0xf6, 0x00, 0x42,
    0x9d, 0x64, 0x11, 0x5e, 0x9b, 0xfd, 0x4a, 0x08,
};
const uint8_t vhdx_guid_metadata[16] = {
    0x06, 0xa2, 0x7c, 0x8b, 0x90, 0x47, 0x9a, 0x4b,
    0xb8, 0xfe, 0x57, 0x5f, 0x05, 0x0f, 0x88, 0x6e,
};
const uint8_t vhdx_guid_file_params[16] = {
    0x37, 0x67, 0xa1, 0xca, 0x36, 0xfa, 0x43, 0x4d,
    0xb3, 0xb6, 0x33, 0xf0, 0xaa, 0x44, 0xe7, 0x6b,
};
const uint8_t vhdx_guid_vdisk_size[16] = {
    0x24, 0x42, 0xa5, 0x2f, 0x1b, 0xcd, 0x76, 0x48,
    0xb2, 0x11, 0x5d, 0xbe, 0xd8, 0x3b, 0xf4, 0xb8,
};
const uint8_t vhdx_guid_vdisk_id[16] = {
    0xab, 0x12, 0xca, 0xbe, 0xe6, 0xb2, 0x23, 0x45,
    0x93, 0xef, 0xc3, 0x09, 0xe0, 0x00, 0xc7, 0x46,
};
const uint8_t vhdx_guid_lss[16] = {
    0x1d, 0xbf, 0x41, 0x81, 0x6f, 0xa9, 0x09, 0x47,
    0xba, 0x47, 0xf2, 0x33, 0xa8, 0xfa, 0xab, 0x5f,
};
const uint8_t vhdx_guid_pss[16] = {
    0xc7, 0x48, 0xa3, 0xcd, 0x5d, 0x44, 0x71, 0x44,
    0x9c, 0xc9, 0xe9, 0x88, 0x52, 0x51, 0xc5, 0x56,
};
const uint8_t vhdx_guid_parent_locator[16] = {
    0x2d, 0x5f, 0xd3, 0xa8, 0x0b, 0xb3, 0x4d, 0x45,
    0xab, 0xf7, 0xd3, 0xd8, 0x48, 0x34, 0xab, 0x0c,
};

uint32_t
vhdx_crc (const uint8_t *buf, size_t len, size_t crc_off)
{
    static const uint8_t zero[4];
    uint32_t c;

    c = fmt_crc32c_update (0, buf, crc_off);
    c = fmt_crc32c_update (c, zero, sizeof zero);
    return fmt_crc32c_update (c, buf + crc_off + 4, len - crc_off - 4);
}

void
vhdx_crc_store (uint8_t *buf, size_t len, size_t crc_off)
{
    put_le32 (buf + crc_off, 0);
    put_le32 (buf + crc_off, fmt_crc32c (buf, len));
}

static bool
vhdx_all_zero (const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i]) {
            return false;
        }
    }
    return true;
}

/* ------------------------------------------------------------- header */

int
vhdx_header_decode (const uint8_t *buf, size_t len, struct vhdx_header *out)
{
    if (len < VHDX_HEADER_SIZE) {
        return set_error (EINVAL, "vhdx header needs %u bytes, got %zu",
                          VHDX_HEADER_SIZE, len);
    }
    if (memcmp (buf + VHDX_HDR_OFF_SIG, "head", 4) != 0) {
        return set_error (EINVAL, "vhdx header signature is not 'head'");
    }
    out->checksum = get_le32 (buf + VHDX_HDR_OFF_CRC);
    out->seq = get_le64 (buf + VHDX_HDR_OFF_SEQ);
    memcpy (out->file_write_guid, buf + VHDX_HDR_OFF_FILE_WRITE, 16);
    memcpy (out->data_write_guid, buf + VHDX_HDR_OFF_DATA_WRITE, 16);
    memcpy (out->log_guid, buf + VHDX_HDR_OFF_LOG_GUID, 16);
    out->log_version = get_le16 (buf + VHDX_HDR_OFF_LOG_VERSION);
    out->version = get_le16 (buf + VHDX_HDR_OFF_VERSION);
    out->log_length = get_le32 (buf + VHDX_HDR_OFF_LOG_LENGTH);
    out->log_offset = get_le64 (buf + VHDX_HDR_OFF_LOG_OFFSET);
    out->reserved_zero = vhdx_all_zero (buf + VHDX_HDR_OFF_RESERVED,
                                        VHDX_HEADER_SIZE -
                                        VHDX_HDR_OFF_RESERVED);
    return 0;
}

void
vhdx_header_encode (const struct vhdx_header *h,
                    uint8_t buf[VHDX_HEADER_SIZE])
{
    memset (buf, 0, VHDX_HEADER_SIZE);
    memcpy (buf + VHDX_HDR_OFF_SIG, "head", 4);
    put_le64 (buf + VHDX_HDR_OFF_SEQ, h->seq);
    memcpy (buf + VHDX_HDR_OFF_FILE_WRITE, h->file_write_guid, 16);
    memcpy (buf + VHDX_HDR_OFF_DATA_WRITE, h->data_write_guid, 16);
    memcpy (buf + VHDX_HDR_OFF_LOG_GUID, h->log_guid, 16);
    put_le16 (buf + VHDX_HDR_OFF_LOG_VERSION, h->log_version);
    put_le16 (buf + VHDX_HDR_OFF_VERSION, h->version);
    put_le32 (buf + VHDX_HDR_OFF_LOG_LENGTH, h->log_length);
    put_le64 (buf + VHDX_HDR_OFF_LOG_OFFSET, h->log_offset);
    vhdx_crc_store (buf, VHDX_HEADER_SIZE, VHDX_HDR_OFF_CRC);
}

/* ------------------------------------------------------- region table */

int
vhdx_rt_header_decode (const uint8_t *buf, size_t len,
                       struct vhdx_rt_header *out)
{
    if (len < VHDX_RT_OFF_ENTRIES) {
        return set_error (EINVAL, "vhdx region table header needs %d bytes, "
                          "got %zu", VHDX_RT_OFF_ENTRIES, len);
    }
    if (memcmp (buf + VHDX_RT_OFF_SIG, "regi", 4) != 0) {
        return set_error (EINVAL, "vhdx region table signature is not "
                          "'regi'");
    }
    out->checksum = get_le32 (buf + VHDX_RT_OFF_CRC);
    out->count = get_le32 (buf + VHDX_RT_OFF_COUNT);
    out->reserved = get_le32 (buf + VHDX_RT_OFF_RESERVED);
    return 0;
}

void
vhdx_rt_entry_decode (const uint8_t *p, struct vhdx_region *out)
{
    memcpy (out->guid, p + VHDX_RTE_OFF_GUID, 16);
    out->file_off = get_le64 (p + VHDX_RTE_OFF_FILE_OFF);
    out->length = get_le32 (p + VHDX_RTE_OFF_LENGTH);
    out->required = get_le32 (p + VHDX_RTE_OFF_REQUIRED);
}

void
vhdx_rt_encode (const struct vhdx_region *r, uint32_t n,
                uint8_t buf[VHDX_RT_SIZE])
{
    assert (n <= VHDX_MAX_ENTRIES);
    memset (buf, 0, VHDX_RT_SIZE);
    memcpy (buf + VHDX_RT_OFF_SIG, "regi", 4);
    put_le32 (buf + VHDX_RT_OFF_COUNT, n);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *p = buf + VHDX_RT_OFF_ENTRIES + (size_t) i * VHDX_RTE_SIZE;

        memcpy (p + VHDX_RTE_OFF_GUID, r[i].guid, 16);
        put_le64 (p + VHDX_RTE_OFF_FILE_OFF, r[i].file_off);
        put_le32 (p + VHDX_RTE_OFF_LENGTH, r[i].length);
        put_le32 (p + VHDX_RTE_OFF_REQUIRED, r[i].required);
    }
    vhdx_crc_store (buf, VHDX_RT_SIZE, VHDX_RT_OFF_CRC);
}

/* ----------------------------------------------------- metadata table */

int
vhdx_mt_header_decode (const uint8_t *buf, size_t len,
                       struct vhdx_mt_header *out)
{
    if (len < VHDX_MT_OFF_ENTRIES) {
        return set_error (EINVAL, "vhdx metadata table header needs %d "
                          "bytes, got %zu", VHDX_MT_OFF_ENTRIES, len);
    }
    if (memcmp (buf + VHDX_MT_OFF_SIG, "metadata", 8) != 0) {
        return set_error (EINVAL, "vhdx metadata table signature is not "
                          "'metadata'");
    }
    out->reserved = get_le16 (buf + VHDX_MT_OFF_RESERVED);
    out->count = get_le16 (buf + VHDX_MT_OFF_COUNT);
    out->reserved2_zero = vhdx_all_zero (buf + VHDX_MT_OFF_RESERVED2, 20);
    return 0;
}

void
vhdx_meta_entry_decode (const uint8_t *p, struct vhdx_meta_entry *out)
{
    memcpy (out->id, p + VHDX_MTE_OFF_ID, 16);
    out->offset = get_le32 (p + VHDX_MTE_OFF_OFFSET);
    out->length = get_le32 (p + VHDX_MTE_OFF_LENGTH);
    out->flags = get_le32 (p + VHDX_MTE_OFF_FLAGS);
    out->reserved = get_le32 (p + VHDX_MTE_OFF_RESERVED);
}

void
vhdx_meta_entry_encode (const struct vhdx_meta_entry *e, uint8_t *p)
{
    memset (p, 0, VHDX_MTE_SIZE);
    memcpy (p + VHDX_MTE_OFF_ID, e->id, 16);
    put_le32 (p + VHDX_MTE_OFF_OFFSET, e->offset);
    put_le32 (p + VHDX_MTE_OFF_LENGTH, e->length);
    put_le32 (p + VHDX_MTE_OFF_FLAGS, e->flags);
}

void
vhdx_mt_encode (const struct vhdx_meta_entry *e, uint16_t n,
                uint8_t buf[VHDX_META_TABLE_SIZE])
{
    assert (n <= VHDX_MAX_ENTRIES);
    memset (buf, 0, VHDX_META_TABLE_SIZE);
    memcpy (buf + VHDX_MT_OFF_SIG, "metadata", 8);
    put_le16 (buf + VHDX_MT_OFF_COUNT, n);
    for (uint16_t i = 0; i < n; i++) {
        vhdx_meta_entry_encode (&e[i], buf + VHDX_MT_OFF_ENTRIES +
                                (size_t) i * VHDX_MTE_SIZE);
    }
}

/* ---------------------------------------------------- file identifier */

/* Decode one UTF-8 code point at s[*i]; -1 if malformed. */
static int32_t
vhdx_utf8_next (const unsigned char *s, size_t *i)
{
    unsigned char c = s[*i];
    int32_t cp;
    int extra;

    if (c < 0x80) {
        (*i)++;
        return c;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        cp = c & 0x1f, extra = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
        cp = c & 0x0f, extra = 2;
    } else if (c >= 0xf0 && c <= 0xf4) {
        cp = c & 0x07, extra = 3;
    } else {
        return -1;
    }
    for (int k = 1; k <= extra; k++) {
        if ((s[*i + k] & 0xc0) != 0x80) {
            return -1;
        }
        cp = (cp << 6) | (s[*i + k] & 0x3f);
    }
    if ((extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return -1;              /* overlong, out of range or surrogate */
    }
    *i += (size_t) extra + 1;
    return cp;
}

int
vhdx_file_id_encode (const char *creator, uint8_t buf[VHDX_FID_LEN])
{
    const unsigned char *s = (const unsigned char *) (creator ? creator : "");
    /* Room for the terminating NUL unit. */
    const size_t max_units = VHDX_CREATOR_BYTES / 2 - 1;
    size_t i = 0, u = 0;

    memset (buf, 0, VHDX_FID_LEN);
    memcpy (buf + VHDX_FID_OFF_SIG, "vhdxfile", 8);
    while (s[i]) {
        int32_t cp = vhdx_utf8_next (s, &i);
        uint8_t *p = buf + VHDX_FID_OFF_CREATOR + 2 * u;

        if (cp < 0) {
            return set_error (EINVAL, "vhdx creator string '%s' is not "
                              "valid UTF-8", creator);
        }
        if (u + (cp >= 0x10000 ? 2 : 1) > max_units) {
            return set_error (EINVAL, "vhdx creator string '%s' is longer "
                              "than %zu UTF-16 units", creator, max_units);
        }
        if (cp >= 0x10000) {
            cp -= 0x10000;
            put_le16 (p, (uint16_t) (0xd800 + (cp >> 10)));
            put_le16 (p + 2, (uint16_t) (0xdc00 + (cp & 0x3ff)));
            u += 2;
        } else {
            put_le16 (p, (uint16_t) cp);
            u++;
        }
    }
    return 0;
}

/* ----------------------------------------------------------- geometry */

int
vhdx_geom_init (struct vhdx_geom *g, uint64_t vsize, uint32_t block_size,
                uint32_t lss)
{
    if (!IS_POW2 (block_size) || block_size < VHDX_MIN_BLOCK ||
        block_size > VHDX_MAX_BLOCK) {
        return set_error (EINVAL, "vhdx block size %u is not a power of two "
                          "between 1 MiB and 256 MiB", block_size);
    }
    if (lss != 512 && lss != 4096) {
        return set_error (EINVAL, "vhdx logical sector size %u is not 512 "
                          "or 4096", lss);
    }
    if (vsize > VHDX_MAX_VSIZE) {
        return set_error (EFBIG, "virtual size %llu is larger than the VHDX "
                          "limit of 64 TiB",
                          (unsigned long long) vsize);
    }
    memset (g, 0, sizeof *g);
    g->vsize = vsize;
    g->block_size = block_size;
    g->lss = lss;
    g->nblocks = DIV_ROUND_UP (vsize, block_size);
    g->chunk_ratio = (UINT64_C (1) << 23) * lss / block_size;
    g->nchunks = DIV_ROUND_UP (g->nblocks, g->chunk_ratio);
    g->entries = g->nblocks + g->nchunks;
    return 0;
}

uint64_t
vhdx_geom_min_entries (const struct vhdx_geom *g, bool differencing)
{
    if (g->nblocks == 0) {
        return 0;
    }
    if (differencing) {
        return g->nchunks * (g->chunk_ratio + 1);
    }
    return vhdx_bat_index (g, g->nblocks - 1) + 1;
}

uint64_t
vhdx_geom_bat_len (const struct vhdx_geom *g)
{
    uint64_t r = 0;

    /* entries <= 2^26 + 2^14 at 64 TiB, so neither step can overflow. */
    (void) round_up_pow2 (g->entries * 8, VHDX_MiB, &r);
    return r;
}

uint64_t
vhdx_geom_data_offset (const struct vhdx_geom *g)
{
    return 3 * VHDX_MiB + vhdx_geom_bat_len (g);
}

uint64_t
vhdx_geom_block_bytes (const struct vhdx_geom *g, uint64_t block)
{
    uint64_t start = block * g->block_size;

    if (start >= g->vsize) {
        return 0;
    }
    return g->vsize - start < g->block_size ? g->vsize - start
                                            : g->block_size;
}

static enum fmt_probe_score
vhdx_probe (const struct fmt_probe_buf *b)
{
    return b->head_len >= 8 && memcmp (b->head, "vhdxfile", 8) == 0
           ? FMT_PROBE_MAGIC : FMT_PROBE_NO;
}

static const char *const vhdx_extensions[] = { "vhdx", NULL };

const struct fmt_driver vhdx_driver = {
    .type = FMT_VHDX,
    .name = "vhdx",
    .extensions = vhdx_extensions,
    .native = "hyperv",
    .share_style = FMT_SHARE_NTFS,      /* Hyper-V reads it over SMB */
    .probe = vhdx_probe,
    .read_map = vhdx_read_map,
    .validate = vhdx_validate,
    .plan = vhdx_plan,
    .map_validates = true,              /* runs vhdx_validate first */
    .data_in_place = true,
    .size_align = 1,
};
