/* VDI internals shared by formats/vdi*.c (not installed, not used outside
 * formats/).
 *
 * VirtualBox's Virtual Disk Image, header version 1.1 as VirtualBox
 * writes it (the "1.1 plus" header of 400 bytes); the byte tables, their
 * source (VirtualBox's VDICore.h) and the choices made here are in
 * docs/formats/vdi.md.  All integers are little-endian.  The decoder
 * parses bytes into a host struct and checks nothing but the signature;
 * semantic checks live in vdi-check.c.
 */
#ifndef VMSHIFT_FORMATS_VDI_H
#define VMSHIFT_FORMATS_VDI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "formats/formats.h"

#define VDI_MiB (UINT64_C (1) << 20)
#define VDI_SIGNATURE 0xbeda107fu
#define VDI_VERSION_1_1 0x00010001u
#define VDI_HEADER_OFF 72u              /* after the pre-header */
#define VDI_HEADER1_SIZE 384u           /* without the LCHS geometry */
#define VDI_HEADER1_PLUS_SIZE 400u      /* what VirtualBox writes */
#define VDI_HEADER_WRITE 512u           /* pre-header + header, padded */
#define VDI_DATA_ALIGN VDI_MiB          /* VirtualBox's VDI_DATA_ALIGN */
#define VDI_BLOCK_SIZE VDI_MiB          /* the default, and qemu's only */
#define VDI_BLOCK_FREE 0xffffffffu      /* not allocated */
#define VDI_BLOCK_ZERO 0xfffffffeu      /* not allocated, reads zeros */
#define VDI_MIN_BLOCK 512u
#define VDI_MAX_BLOCK (256 * VDI_MiB)
/* The most blocks we read or write: 64 TiB in 1 MiB blocks. */
#define VDI_MAX_BLOCKS (UINT64_C (1) << 26)

enum vdi_type {
    VDI_TYPE_NORMAL = 1,                /* dynamic */
    VDI_TYPE_FIXED = 2,
    VDI_TYPE_UNDO = 3,
    VDI_TYPE_DIFF = 4,
};

/* Pre-header and header 1.1 plus, offsets from the start of the file. */
enum {
    VDI_OFF_FILE_INFO = 0,              /* 64 bytes of text */
    VDI_OFF_SIGNATURE = 64,
    VDI_OFF_VERSION = 68,
    VDI_OFF_HEADER_SIZE = 72,
    VDI_OFF_TYPE = 76,
    VDI_OFF_FLAGS = 80,
    VDI_OFF_COMMENT = 84,               /* 256 bytes */
    VDI_OFF_BLOCKS = 340,               /* offset of the block map */
    VDI_OFF_DATA = 344,                 /* offset of the data blocks */
    VDI_OFF_LEGACY_GEOMETRY = 348,      /* cylinders, heads, sectors,
                                         * sector size: 4 x u32 */
    VDI_OFF_DUMMY = 364,
    VDI_OFF_DISK_SIZE = 368,            /* u64 */
    VDI_OFF_BLOCK_SIZE = 376,
    VDI_OFF_BLOCK_EXTRA = 380,
    VDI_OFF_BLOCKS_COUNT = 384,
    VDI_OFF_BLOCKS_ALLOCATED = 388,
    VDI_OFF_UUID_CREATE = 392,
    VDI_OFF_UUID_MODIFY = 408,
    VDI_OFF_UUID_LINKAGE = 424,
    VDI_OFF_UUID_PARENT_MODIFY = 440,
    VDI_OFF_LCHS_GEOMETRY = 456,        /* 4 x u32, header 1.1 plus */
    VDI_OFF_HEADER_END = 472,
};

struct vdi_header {
    uint32_t version;
    uint32_t header_size;
    uint32_t type;
    uint32_t flags;
    uint32_t off_blocks;
    uint32_t off_data;
    uint32_t cyls, heads, sectors, sector_size;    /* legacy geometry */
    uint64_t disk_size;
    uint32_t block_size;
    uint32_t block_extra;
    uint32_t blocks;
    uint32_t blocks_allocated;
    uint8_t uuid_create[16];
    uint8_t uuid_modify[16];
    uint8_t uuid_linkage[16];
    uint8_t uuid_parent_modify[16];
    uint32_t lchs_sector_size;          /* 0 when the header is shorter */
};

/* -EINVAL (with a message) if the buffer is shorter than the header or
 * the signature is wrong, else 0. */
int vdi_header_decode (const uint8_t *buf, size_t len, struct vdi_header *out);
/* Pre-header (text, signature, version) and header into the first
 * VDI_HEADER_WRITE bytes of buf (the rest zero). */
void vdi_header_encode (const struct vdi_header *h,
                        uint8_t buf[VDI_HEADER_WRITE]);

/* The target layout's offsets for n blocks: the block map at 1 MiB, the
 * data at the next MiB after it (VirtualBox's alignment). */
static inline uint64_t
vdi_data_offset (uint64_t nblocks)
{
    return VDI_DATA_ALIGN + (nblocks * 4 + VDI_DATA_ALIGN - 1) /
           VDI_DATA_ALIGN * VDI_DATA_ALIGN;
}

bool vdi_probe_bytes (const uint8_t *head, size_t head_len);

int vdi_read_map (const struct fmt_io *io, struct fmt_extent_list *out,
                  struct fmt_source_info *info);
int vdi_validate (const struct fmt_io *io, struct fmt_problems *probs,
                  struct fmt_source_info *info);
int vdi_plan (const struct fmt_source_info *src,
              const struct fmt_extent_list *map,
              const struct fmt_plan_opts *o, struct fmt_layout *out);

#endif
