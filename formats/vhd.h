/* VHD internals shared by formats/vhd*.c (not installed, not used outside
 * formats/).
 *
 * Layouts follow Microsoft's "Virtual Hard Disk Image Format
 * Specification" v1.0 (October 2006): the hard disk footer, the dynamic
 * disk header, the block allocation table and the data blocks with their
 * sector bitmaps; the byte tables and the choices made here are in
 * docs/formats/vhd.md.  All integers are big-endian.  Decoders parse
 * bytes into host structs and check nothing but the cookie; semantic
 * checks live in vhd-check.c.  Encoders write every byte of their
 * structure (reserved bytes zero) and compute the checksum last.
 */
#ifndef VMSHIFT_FORMATS_VHD_H
#define VMSHIFT_FORMATS_VHD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "formats/formats.h"

#define VHD_MiB (UINT64_C (1) << 20)
#define VHD_FOOTER_SIZE 512u
#define VHD_DYN_SIZE 1024u
#define VHD_VERSION 0x00010000u         /* footer and dynamic header */
#define VHD_FEATURE_TEMPORARY 0x1u
#define VHD_FEATURE_RESERVED 0x2u       /* "must always be set" */
#define VHD_FIXED_DATA_OFFSET UINT64_MAX
#define VHD_BAT_UNUSED 0xffffffffu
#define VHD_DEFAULT_BLOCK (2 * VHD_MiB)
/* Block sizes we read: powers of two from 512 bytes (qemu's minimum) to
 * 256 MiB (bitmaps of at most 64 KiB). */
#define VHD_MIN_BLOCK 512u
#define VHD_MAX_BLOCK (256 * VHD_MiB)
/* 0xff000000 sectors: the size qemu and Hyper-V accept (2040 GiB). */
#define VHD_MAX_SIZE (UINT64_C (0xff000000) * 512)
/* Azure accepts only whole MiB virtual sizes; targets round up to it. */
#define VHD_SIZE_ALIGN VHD_MiB
/* Largest CHS geometry (65535 cylinders, 16 heads, 255 sectors). */
#define VHD_CHS_MAX_SECTORS (UINT64_C (65535) * 16 * 255)
/* Seconds from the Unix epoch to 2000-01-01 00:00:00 UTC. */
#define VHD_EPOCH_2000 UINT64_C (946684800)

enum vhd_disk_type {
    VHD_TYPE_NONE = 0,
    VHD_TYPE_FIXED = 2,
    VHD_TYPE_DYNAMIC = 3,
    VHD_TYPE_DIFFERENCING = 4,
};

/* Hard disk footer (512 bytes; checksum over all of it with the checksum
 * field counted as zero). */
enum {
    VHD_F_OFF_COOKIE = 0,               /* "conectix" */
    VHD_F_OFF_FEATURES = 8,
    VHD_F_OFF_VERSION = 12,
    VHD_F_OFF_DATA_OFFSET = 16,
    VHD_F_OFF_TIMESTAMP = 24,
    VHD_F_OFF_CREATOR_APP = 28,
    VHD_F_OFF_CREATOR_VERSION = 32,
    VHD_F_OFF_CREATOR_OS = 36,
    VHD_F_OFF_ORIG_SIZE = 40,
    VHD_F_OFF_CUR_SIZE = 48,
    VHD_F_OFF_GEOMETRY = 56,            /* u16 cylinders, u8 heads, u8 spt */
    VHD_F_OFF_DISK_TYPE = 60,
    VHD_F_OFF_CHECKSUM = 64,
    VHD_F_OFF_UUID = 68,
    VHD_F_OFF_SAVED_STATE = 84,
    VHD_F_OFF_RESERVED = 85,            /* 427 bytes, zero */
};

/* Dynamic disk header (1024 bytes, same checksum rule). */
enum {
    VHD_D_OFF_COOKIE = 0,               /* "cxsparse" */
    VHD_D_OFF_DATA_OFFSET = 8,          /* unused: all ones */
    VHD_D_OFF_TABLE_OFFSET = 16,
    VHD_D_OFF_VERSION = 24,
    VHD_D_OFF_MAX_ENTRIES = 28,
    VHD_D_OFF_BLOCK_SIZE = 32,
    VHD_D_OFF_CHECKSUM = 36,
    VHD_D_OFF_PARENT_UUID = 40,
    VHD_D_OFF_PARENT_TIME = 56,
    VHD_D_OFF_RESERVED1 = 60,
    VHD_D_OFF_PARENT_NAME = 64,         /* 512 bytes UTF-16BE */
    VHD_D_OFF_LOCATORS = 576,           /* 8 entries of 24 bytes */
    VHD_D_OFF_RESERVED2 = 768,          /* 256 bytes */
};

struct vhd_footer {
    uint32_t features;
    uint32_t version;
    uint64_t data_offset;
    uint32_t timestamp;
    char creator_app[4];
    uint32_t creator_version;
    char creator_os[4];
    uint64_t orig_size;
    uint64_t cur_size;
    uint16_t cyls;
    uint8_t heads;
    uint8_t spt;
    uint32_t disk_type;
    uint32_t checksum;
    uint8_t uuid[16];
    uint8_t saved_state;
    bool reserved_zero;         /* decode: bytes 85..511 all zero */
};

struct vhd_dyn {
    uint64_t data_offset;
    uint64_t table_offset;
    uint32_t version;
    uint32_t max_entries;
    uint32_t block_size;
    uint32_t checksum;
    uint8_t parent_uuid[16];
    uint32_t parent_time;
    bool parent_zero;           /* decode: parent uuid, time, name and
                                 * locators all zero */
    bool reserved_zero;         /* decode: both reserved fields zero */
};

/* One's complement of the byte sum of buf[0, len), the 4 bytes at
 * csum_off counted as zero. */
uint32_t vhd_checksum (const uint8_t *buf, size_t len, size_t csum_off);

/* -EINVAL (with a message) if the buffer is too short or the cookie is
 * wrong, else 0. */
int vhd_footer_decode (const uint8_t *buf, size_t len, struct vhd_footer *out);
void vhd_footer_encode (const struct vhd_footer *f,
                        uint8_t buf[VHD_FOOTER_SIZE]);
int vhd_dyn_decode (const uint8_t *buf, size_t len, struct vhd_dyn *out);
void vhd_dyn_encode (const struct vhd_dyn *d, uint8_t buf[VHD_DYN_SIZE]);

/* The spec's CHS algorithm ("CHS calculation", appendix of the spec) for
 * a disk of 'size' bytes. */
void vhd_chs (uint64_t size, uint16_t *cyls, uint8_t *heads, uint8_t *spt);
/* What we write: the spec's geometry when it covers the disk exactly,
 * else the largest geometry 65535/16/255, which the spec's algorithm
 * itself yields for disks beyond CHS range and which qemu and Virtual PC
 * read as "the size is the footer's current size" (docs/formats/vhd.md,
 * "Geometry"). */
void vhd_chs_for_target (uint64_t size, uint16_t *cyls, uint8_t *heads,
                         uint8_t *spt);

/* Bytes of a block's sector bitmap: one bit per sector, padded to whole
 * sectors. */
static inline uint32_t
vhd_bitmap_bytes (uint32_t block_size)
{
    uint32_t bits = block_size / 512;

    return (bits / 8 + 511) / 512 * 512;
}

/* Probe: true if the last 512 bytes (tail, may be NULL) are a footer
 * with a valid checksum, or the file starts with a footer copy of a
 * dynamic or differencing disk. */
bool vhd_probe_bytes (const uint8_t *head, size_t head_len,
                      const uint8_t *tail, size_t tail_len);

/* Entry points (vhd_driver's callbacks, formats/vhd.c). */
int vhd_read_map (const struct fmt_io *io, struct fmt_extent_list *out,
                  struct fmt_source_info *info);
int vhd_validate (const struct fmt_io *io, struct fmt_problems *probs,
                  struct fmt_source_info *info);
int vhd_plan (const struct fmt_source_info *src,
              const struct fmt_extent_list *map,
              const struct fmt_plan_opts *o, struct fmt_layout *out);

#endif
