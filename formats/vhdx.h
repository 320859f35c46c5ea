/* VHDX internals shared by formats/vhdx*.c (not installed, not used
 * outside formats/).
 *
 * Layouts follow [MS-VHDX] "Virtual Hard Disk v2 (VHDX) File Format"
 * v8.0 sections 2.1-2.6 and the libyal VHDX notes (header, region table,
 * metadata table and item tables); project notes in docs/formats/vhdx.md.
 * All integers are little-endian; GUIDs are stored Microsoft-style (see
 * fmt_guid_parse).  Decoders parse bytes into host structs and check
 * nothing but the signature; semantic checks live in vhdx-validate.c.
 * Encoders write every byte of their structure (reserved bytes zero) and
 * compute the CRC-32C last.
 */
#ifndef VMSHIFT_FORMATS_VHDX_H
#define VMSHIFT_FORMATS_VHDX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "formats/formats.h"

#define VHDX_KiB (UINT64_C (1) << 10)
#define VHDX_MiB (UINT64_C (1) << 20)

/* Header section (first 1 MiB of the file). */
#define VHDX_FILE_ID_OFF 0
#define VHDX_FILE_ID_SIZE (64 * VHDX_KiB)
#define VHDX_HEADER1_OFF (64 * VHDX_KiB)
#define VHDX_HEADER2_OFF (128 * VHDX_KiB)
#define VHDX_HEADER_SIZE 4096u
#define VHDX_RT1_OFF (192 * VHDX_KiB)
#define VHDX_RT2_OFF (256 * VHDX_KiB)
#define VHDX_RT_SIZE 65536u
#define VHDX_HEADER_SECTION VHDX_MiB
#define VHDX_ALIGN VHDX_MiB             /* every object past 1 MiB */

#define VHDX_CREATOR_BYTES 512u         /* UTF-16LE, NUL terminated */
#define VHDX_MAX_ENTRIES 2047u          /* region and metadata tables */
#define VHDX_META_TABLE_SIZE 65536u
#define VHDX_MAX_ITEM_LEN VHDX_MiB
#define VHDX_MIN_BLOCK VHDX_MiB
#define VHDX_MAX_BLOCK (256 * VHDX_MiB)
#define VHDX_DEFAULT_BLOCK (32 * VHDX_MiB)
#define VHDX_SB_BLOCK VHDX_MiB          /* sector bitmap block */
#define VHDX_MAX_VSIZE FMT_MAX_VIRTUAL_SIZE
#define VHDX_LOG_SECTOR 4096u

/* File type identifier. */
enum {
    VHDX_FID_OFF_SIG = 0,               /* "vhdxfile" */
    VHDX_FID_OFF_CREATOR = 8,           /* 512 bytes UTF-16LE */
    VHDX_FID_LEN = 520,
};

/* Header (4 KiB, CRC over 4096 bytes with the checksum zeroed). */
enum {
    VHDX_HDR_OFF_SIG = 0,               /* "head" */
    VHDX_HDR_OFF_CRC = 4,
    VHDX_HDR_OFF_SEQ = 8,
    VHDX_HDR_OFF_FILE_WRITE = 16,
    VHDX_HDR_OFF_DATA_WRITE = 32,
    VHDX_HDR_OFF_LOG_GUID = 48,
    VHDX_HDR_OFF_LOG_VERSION = 64,
    VHDX_HDR_OFF_VERSION = 66,
    VHDX_HDR_OFF_LOG_LENGTH = 68,
    VHDX_HDR_OFF_LOG_OFFSET = 72,
    VHDX_HDR_OFF_RESERVED = 80,         /* 4016 bytes, zero */
};

/* Region table (64 KiB, CRC over all of it). */
enum {
    VHDX_RT_OFF_SIG = 0,                /* "regi" */
    VHDX_RT_OFF_CRC = 4,
    VHDX_RT_OFF_COUNT = 8,
    VHDX_RT_OFF_RESERVED = 12,
    VHDX_RT_OFF_ENTRIES = 16,
};
enum {
    VHDX_RTE_OFF_GUID = 0,
    VHDX_RTE_OFF_FILE_OFF = 16,
    VHDX_RTE_OFF_LENGTH = 24,
    VHDX_RTE_OFF_REQUIRED = 28,
    VHDX_RTE_SIZE = 32,
};

/* Metadata table (first 64 KiB of the metadata region). */
enum {
    VHDX_MT_OFF_SIG = 0,                /* "metadata" */
    VHDX_MT_OFF_RESERVED = 8,           /* u16 */
    VHDX_MT_OFF_COUNT = 10,             /* u16 */
    VHDX_MT_OFF_RESERVED2 = 12,         /* 20 bytes */
    VHDX_MT_OFF_ENTRIES = 32,
};
enum {
    VHDX_MTE_OFF_ID = 0,
    VHDX_MTE_OFF_OFFSET = 16,           /* u32, relative to the region */
    VHDX_MTE_OFF_LENGTH = 20,
    VHDX_MTE_OFF_FLAGS = 24,
    VHDX_MTE_OFF_RESERVED = 28,
    VHDX_MTE_SIZE = 32,
};
enum {
    VHDX_META_IS_USER = 1u << 0,
    VHDX_META_IS_VIRTUAL_DISK = 1u << 1,
    VHDX_META_IS_REQUIRED = 1u << 2,
};
#define VHDX_META_ITEMS_OFF (64 * VHDX_KiB)

/* File parameters item. */
enum {
    VHDX_FP_OFF_BLOCK_SIZE = 0,
    VHDX_FP_OFF_FLAGS = 4,
    VHDX_FP_LEN = 8,
};
enum {
    VHDX_FP_LEAVE_ALLOCATED = 1u << 0,
    VHDX_FP_HAS_PARENT = 1u << 1,
};

/* BAT entries: state in bits 0-2, reserved 3-19, FileOffsetMB 20-63. */
enum vhdx_bat_state {
    VHDX_BAT_NOT_PRESENT = 0,           /* also SB_BLOCK_NOT_PRESENT */
    VHDX_BAT_UNDEFINED = 1,
    VHDX_BAT_ZERO = 2,
    VHDX_BAT_UNMAPPED = 3,
    VHDX_BAT_FULLY_PRESENT = 6,         /* also SB_BLOCK_PRESENT */
    VHDX_BAT_PARTIALLY_PRESENT = 7,
};
#define VHDX_BAT_STATE_MASK UINT64_C (0x7)
#define VHDX_BAT_RESERVED_MASK UINT64_C (0xffff8)
#define VHDX_BAT_OFFSET_MASK (~UINT64_C (0xfffff))

/* Log entry header and descriptors ([MS-VHDX] 2.3.1). */
enum {
    VHDX_LOGE_OFF_SIG = 0,              /* "loge" */
    VHDX_LOGE_OFF_CRC = 4,              /* over the whole entry */
    VHDX_LOGE_OFF_LENGTH = 8,
    VHDX_LOGE_OFF_TAIL = 12,
    VHDX_LOGE_OFF_SEQ = 16,
    VHDX_LOGE_OFF_DESC_COUNT = 24,
    VHDX_LOGE_OFF_RESERVED = 28,
    VHDX_LOGE_OFF_LOG_GUID = 32,
    VHDX_LOGE_OFF_FLUSHED = 48,
    VHDX_LOGE_OFF_LAST = 56,
    VHDX_LOGE_HDR_SIZE = 64,
};
enum {
    VHDX_LOGD_OFF_SIG = 0,              /* "zero" or "desc" */
    VHDX_LOGD_OFF_TRAILING = 4,         /* desc: last 4 bytes of sector */
    VHDX_LOGD_OFF_LENGTH = 8,           /* zero: length; desc: leading 8 */
    VHDX_LOGD_OFF_FILE_OFF = 16,
    VHDX_LOGD_OFF_SEQ = 24,
    VHDX_LOGD_SIZE = 32,
};
enum {
    VHDX_LOGS_OFF_SIG = 0,              /* "data" */
    VHDX_LOGS_OFF_SEQ_HIGH = 4,
    VHDX_LOGS_OFF_DATA = 8,             /* 4084 bytes */
    VHDX_LOGS_OFF_SEQ_LOW = 4092,
};

/* Well-known GUIDs, as stored on disk. */
extern const uint8_t vhdx_guid_bat[16];
extern const uint8_t vhdx_guid_metadata[16];
extern const uint8_t vhdx_guid_file_params[16];
extern const uint8_t vhdx_guid_vdisk_size[16];
extern const uint8_t vhdx_guid_vdisk_id[16];
extern const uint8_t vhdx_guid_lss[16];
extern const uint8_t vhdx_guid_pss[16];
extern const uint8_t vhdx_guid_parent_locator[16];

/* --------------------------------------------------------------- codec */

struct vhdx_header {
    uint32_t checksum;
    uint64_t seq;
    uint8_t file_write_guid[16];
    uint8_t data_write_guid[16];
    uint8_t log_guid[16];
    uint16_t log_version;
    uint16_t version;
    uint32_t log_length;
    uint64_t log_offset;
    bool reserved_zero;         /* decode: bytes 80..4095 all zero */
};

struct vhdx_region {
    uint8_t guid[16];
    uint64_t file_off;
    uint32_t length;
    uint32_t required;          /* bit 0 */
};

struct vhdx_rt_header {
    uint32_t checksum;
    uint32_t count;
    uint32_t reserved;
};

struct vhdx_mt_header {
    uint16_t reserved;
    uint16_t count;
    bool reserved2_zero;
};

struct vhdx_meta_entry {
    uint8_t id[16];
    uint32_t offset;
    uint32_t length;
    uint32_t flags;
    uint32_t reserved;
};

/* Decoders return -EINVAL (with a message) if the buffer is too short or
 * the signature is wrong, else 0. */
int vhdx_header_decode (const uint8_t *buf, size_t len,
                        struct vhdx_header *out);
void vhdx_header_encode (const struct vhdx_header *h,
                         uint8_t buf[VHDX_HEADER_SIZE]);
int vhdx_rt_header_decode (const uint8_t *buf, size_t len,
                           struct vhdx_rt_header *out);
void vhdx_rt_entry_decode (const uint8_t *p, struct vhdx_region *out);
/* A whole 64 KiB region table of n entries (n <= VHDX_MAX_ENTRIES). */
void vhdx_rt_encode (const struct vhdx_region *r, uint32_t n,
                     uint8_t buf[VHDX_RT_SIZE]);
int vhdx_mt_header_decode (const uint8_t *buf, size_t len,
                           struct vhdx_mt_header *out);
void vhdx_meta_entry_decode (const uint8_t *p, struct vhdx_meta_entry *out);
void vhdx_meta_entry_encode (const struct vhdx_meta_entry *e, uint8_t *p);
/* Table header + n entries into a 64 KiB buffer (rest zero). */
void vhdx_mt_encode (const struct vhdx_meta_entry *e, uint16_t n,
                     uint8_t buf[VHDX_META_TABLE_SIZE]);

/* CRC-32C of buf[0, len) with the 4 bytes at crc_off counted as zero. */
uint32_t vhdx_crc (const uint8_t *buf, size_t len, size_t crc_off);
/* Compute and store the CRC of buf[0, len) at crc_off. */
void vhdx_crc_store (uint8_t *buf, size_t len, size_t crc_off);

/* File identifier: "vhdxfile" + creator (UTF-8 in, UTF-16LE out).
 * -EINVAL if creator is not UTF-8 or needs more than 255 UTF-16 units. */
int vhdx_file_id_encode (const char *creator, uint8_t buf[VHDX_FID_LEN]);

static inline uint64_t
vhdx_bat_entry (uint64_t file_off, unsigned state)
{
    return (file_off & VHDX_BAT_OFFSET_MASK) | (state & VHDX_BAT_STATE_MASK);
}

static inline unsigned
vhdx_bat_state (uint64_t e)
{
    return (unsigned) (e & VHDX_BAT_STATE_MASK);
}

static inline uint64_t
vhdx_bat_offset (uint64_t e)
{
    return e & VHDX_BAT_OFFSET_MASK;
}

static inline bool
vhdx_guid_eq (const uint8_t *a, const uint8_t *b)
{
    for (int i = 0; i < 16; i++) {
        if (a[i] != b[i]) {
            return false;
        }
    }
    return true;
}

static inline bool
vhdx_guid_is_zero (const uint8_t *g)
{
    for (int i = 0; i < 16; i++) {
        if (g[i]) {
            return false;
        }
    }
    return true;
}

/* ------------------------------------------------------------ geometry */

/* Block/BAT arithmetic for a disk ([MS-VHDX] 2.5, docs/formats/vhdx.md). */
struct vhdx_geom {
    uint64_t vsize;             /* V */
    uint32_t block_size;        /* BS */
    uint32_t lss;               /* logical sector size */
    uint64_t nblocks;           /* N = ceil(V / BS) */
    uint64_t chunk_ratio;       /* CR = 2^23 * LSS / BS */
    uint64_t nchunks;           /* ceil(N / CR) */
    uint64_t entries;           /* N + ceil(N / CR): what we write */
};

/* -EINVAL for a block size that is not a power of two in 1..256 MiB, an
 * LSS other than 512/4096; -EFBIG for V > 64 TiB. */
int vhdx_geom_init (struct vhdx_geom *g, uint64_t vsize, uint32_t block_size,
                    uint32_t lss);

/* BAT index of payload block i and of the sector bitmap of chunk k. */
static inline uint64_t
vhdx_bat_index (const struct vhdx_geom *g, uint64_t block)
{
    return block + block / g->chunk_ratio;
}

static inline uint64_t
vhdx_sb_index (const struct vhdx_geom *g, uint64_t chunk)
{
    return chunk * (g->chunk_ratio + 1) + g->chunk_ratio;
}

static inline bool
vhdx_index_is_sb (const struct vhdx_geom *g, uint64_t idx)
{
    return idx % (g->chunk_ratio + 1) == g->chunk_ratio;
}

/* Payload block number of a non-SB BAT index. */
static inline uint64_t
vhdx_index_block (const struct vhdx_geom *g, uint64_t idx)
{
    return idx - idx / (g->chunk_ratio + 1);
}

/* Entries a reader needs: every payload block (and, for differencing
 * disks, the sector bitmap entry of every chunk). */
uint64_t vhdx_geom_min_entries (const struct vhdx_geom *g, bool differencing);
/* roundup (8 * entries, 1 MiB): the BAT region length we write. */
uint64_t vhdx_geom_bat_len (const struct vhdx_geom *g);
/* First payload byte with our layout: 3 MiB + BAT length. */
uint64_t vhdx_geom_data_offset (const struct vhdx_geom *g);
/* Guest bytes in block i: min (BS, V - i * BS). */
uint64_t vhdx_geom_block_bytes (const struct vhdx_geom *g, uint64_t block);

/* Set bits [from, to) of a bitmap (bit u is bit u % 8 of byte u / 8);
 * true if any of them was already set.  Whole bytes in the middle are
 * tested and set a word at a time (the BAT overlap check). */
bool vhdx_bitmap_mark (uint8_t *map, uint64_t from, uint64_t to);

/* ------------------------------------------------------------ checking */

/* Run every check on file 0.  Real problems go to probs; conditions a
 * reader survives (one damaged header, a LogGuid with an empty log, a
 * 4096-byte logical sector, nonzero reserved bits) go to warns.  When map
 * is not NULL, the BAT scan also builds the guest map into it (callers
 * discard it if problems were found).  Returns 0 when the checks ran,
 * -errno when the file could not be read. */
int vhdx_check (const struct fmt_io *io, struct fmt_problems *probs,
                struct fmt_problems *warns, struct fmt_source_info *info,
                struct fmt_extent_list *map);

/* State shared by the checking passes (vhdx-validate.c, vhdx-bat.c). */
struct vhdx_ck {
    const struct fmt_io *io;
    struct fmt_problems *probs;
    struct fmt_problems *warns;
    struct fmt_source_info *info;
    struct fmt_extent_list *map;        /* NULL: validate only */
    uint64_t fsize;
    struct vhdx_header hdr;             /* current header */
    bool have_hdr;
    bool log_ok;                        /* log fields usable */
    struct vhdx_region *regions;        /* region table 1 entries */
    uint32_t nregions;
    struct vhdx_region bat, meta;
    bool have_bat, have_meta;           /* present, aligned, in the file */
    uint32_t block_size, fp_flags, lss, pss;
    uint64_t vsize;
    bool meta_ok;                       /* all items present and valid */
    bool differencing;
};

/* Read n bytes at off; if they are not all inside the file, record a
 * problem naming 'what' and return 1.  0 on success, -errno on I/O error. */
int vhdx_ck_read (struct vhdx_ck *ck, void *buf, size_t n, uint64_t off,
                  const char *what);
/* The metadata pass (vhdx-meta.c): table, items, disk parameters. */
int vhdx_ck_metadata (struct vhdx_ck *ck);
/* The BAT pass: every entry checked, map built when ck->map is set. */
int vhdx_ck_bat (struct vhdx_ck *ck);

/* Log scan: *dirty is set if the log region [off, off+len) holds at
 * least one valid entry for log_guid (the file needs a log replay).
 * Conditions that stop the scan go to probs. */
int vhdx_log_scan (const struct fmt_io *io, uint64_t off, uint32_t len,
                   const uint8_t log_guid[16], struct fmt_problems *probs,
                   bool *dirty);

#endif
