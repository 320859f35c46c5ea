/* VDI codec, strict validator, vdi_read_map() and vdi_validate()
 * (docs/formats/vdi.md; VirtualBox's VDICore.h for the layout).
 *
 * Every problem is reported, not just the first.  Problems make a file
 * unreadable for vdi_read_map(); warnings are conditions VirtualBox or
 * qemu tolerate: nonzero image flags, a block size other than 1 MiB
 * (VirtualBox reads it, qemu does not), a disk size that is not a whole
 * number of sectors.  Undo and differencing images, header versions
 * other than 1.1, extra data per block and a set linkage UUID are
 * refused as unsupported.
 *
 * The block map is read in chunks; every entry of the image is checked:
 * an allocated entry must name a data block below cBlocks that no other
 * entry names, wholly inside the file, and the count of allocated
 * entries must equal cBlocksAllocated.  Both FREE (0xffffffff) and ZERO
 * (0xfffffffe) read as zeros in a base image.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/endian.h"
#include "engine/base/error.h"
#include "engine/base/overflow.h"
#include "formats/vdi.h"

#define ULL(x) ((unsigned long long) (x))
#define VDI_MAP_READ ((size_t) 1 << 18)         /* entries per read */

static const char vdi_file_info[] = "<<< vmshift Virtual Disk Image >>>\n";

/* -------------------------------------------------------------- codec */

int
vdi_header_decode (const uint8_t *buf, size_t len, struct vdi_header *out)
{
    if (len < VDI_OFF_HEADER_END) {
        return set_error (EINVAL, "vdi header needs %u bytes, got %zu",
                          (unsigned) VDI_OFF_HEADER_END, len);
    }
    if (get_le32 (buf + VDI_OFF_SIGNATURE) != VDI_SIGNATURE) {
        return set_error (EINVAL, "vdi signature is not 0xbeda107f");
    }
    memset (out, 0, sizeof *out);
    out->version = get_le32 (buf + VDI_OFF_VERSION);
    out->header_size = get_le32 (buf + VDI_OFF_HEADER_SIZE);
    out->type = get_le32 (buf + VDI_OFF_TYPE);
    out->flags = get_le32 (buf + VDI_OFF_FLAGS);
    out->off_blocks = get_le32 (buf + VDI_OFF_BLOCKS);
    out->off_data = get_le32 (buf + VDI_OFF_DATA);
    out->cyls = get_le32 (buf + VDI_OFF_LEGACY_GEOMETRY);
    out->heads = get_le32 (buf + VDI_OFF_LEGACY_GEOMETRY + 4);
    out->sectors = get_le32 (buf + VDI_OFF_LEGACY_GEOMETRY + 8);
    out->sector_size = get_le32 (buf + VDI_OFF_LEGACY_GEOMETRY + 12);
    out->disk_size = get_le64 (buf + VDI_OFF_DISK_SIZE);
    out->block_size = get_le32 (buf + VDI_OFF_BLOCK_SIZE);
    out->block_extra = get_le32 (buf + VDI_OFF_BLOCK_EXTRA);
    out->blocks = get_le32 (buf + VDI_OFF_BLOCKS_COUNT);
    out->blocks_allocated = get_le32 (buf + VDI_OFF_BLOCKS_ALLOCATED);
    memcpy (out->uuid_create, buf + VDI_OFF_UUID_CREATE, 16);
    memcpy (out->uuid_modify, buf + VDI_OFF_UUID_MODIFY, 16);
    memcpy (out->uuid_linkage, buf + VDI_OFF_UUID_LINKAGE, 16);
    memcpy (out->uuid_parent_modify, buf + VDI_OFF_UUID_PARENT_MODIFY, 16);
    if (out->header_size >= VDI_HEADER1_PLUS_SIZE) {
        out->lchs_sector_size = get_le32 (buf + VDI_OFF_LCHS_GEOMETRY + 12);
    }
    return 0;
}

void
vdi_header_encode (const struct vdi_header *h, uint8_t buf[VDI_HEADER_WRITE])
{
    memset (buf, 0, VDI_HEADER_WRITE);
    memcpy (buf + VDI_OFF_FILE_INFO, vdi_file_info, sizeof vdi_file_info - 1);
    put_le32 (buf + VDI_OFF_SIGNATURE, VDI_SIGNATURE);
    put_le32 (buf + VDI_OFF_VERSION, h->version);
    put_le32 (buf + VDI_OFF_HEADER_SIZE, h->header_size);
    put_le32 (buf + VDI_OFF_TYPE, h->type);
    put_le32 (buf + VDI_OFF_FLAGS, h->flags);
    put_le32 (buf + VDI_OFF_BLOCKS, h->off_blocks);
    put_le32 (buf + VDI_OFF_DATA, h->off_data);
    put_le32 (buf + VDI_OFF_LEGACY_GEOMETRY, h->cyls);
    put_le32 (buf + VDI_OFF_LEGACY_GEOMETRY + 4, h->heads);
    put_le32 (buf + VDI_OFF_LEGACY_GEOMETRY + 8, h->sectors);
    put_le32 (buf + VDI_OFF_LEGACY_GEOMETRY + 12, h->sector_size);
    put_le64 (buf + VDI_OFF_DISK_SIZE, h->disk_size);
    put_le32 (buf + VDI_OFF_BLOCK_SIZE, h->block_size);
    put_le32 (buf + VDI_OFF_BLOCK_EXTRA, h->block_extra);
    put_le32 (buf + VDI_OFF_BLOCKS_COUNT, h->blocks);
    put_le32 (buf + VDI_OFF_BLOCKS_ALLOCATED, h->blocks_allocated);
    memcpy (buf + VDI_OFF_UUID_CREATE, h->uuid_create, 16);
    memcpy (buf + VDI_OFF_UUID_MODIFY, h->uuid_modify, 16);
    memcpy (buf + VDI_OFF_UUID_LINKAGE, h->uuid_linkage, 16);
    memcpy (buf + VDI_OFF_UUID_PARENT_MODIFY, h->uuid_parent_modify, 16);
    put_le32 (buf + VDI_OFF_LCHS_GEOMETRY + 12, h->lchs_sector_size);
}

bool
vdi_probe_bytes (const uint8_t *head, size_t head_len)
{
    return head && head_len >= VDI_OFF_VERSION &&
           get_le32 (head + VDI_OFF_SIGNATURE) == VDI_SIGNATURE;
}

static bool
vdi_zero16 (const uint8_t *p)
{
    for (int i = 0; i < 16; i++) {
        if (p[i]) {
            return false;
        }
    }
    return true;
}

/* ------------------------------------------------------------ checking */

struct vdi_ck {
    const struct fmt_io *io;
    struct fmt_problems *probs;
    struct fmt_problems *warns;
    struct fmt_source_info *info;
    struct fmt_extent_list *map;        /* NULL: validate only */
    uint64_t fsize;
    struct vdi_header h;
    uint64_t nblocks;                   /* blocks the disk size needs */
};

static bool
vdi_building (const struct vdi_ck *ck)
{
    return ck->map && ck->probs->n == 0 && ck->probs->dropped == 0;
}

static void
vdi_ck_version (struct vdi_ck *ck)
{
    const struct vdi_header *h = &ck->h;

    if (h->version != VDI_VERSION_1_1) {
        fmt_problem (ck->probs, "header version %u.%u is unsupported (only "
                     "1.1)", h->version >> 16, h->version & 0xffff);
        return;
    }
    if (h->header_size < VDI_HEADER1_SIZE) {
        fmt_problem (ck->probs, "header size %u is smaller than the %u bytes "
                     "of a version 1.1 header", h->header_size,
                     VDI_HEADER1_SIZE);
    }
    if (h->type == VDI_TYPE_UNDO || h->type == VDI_TYPE_DIFF) {
        fmt_problem (ck->probs, "%s image (type %u) is unsupported: merge it "
                     "into its parent first", h->type == VDI_TYPE_UNDO
                     ? "undo" : "differencing", h->type);
    } else if (h->type != VDI_TYPE_NORMAL && h->type != VDI_TYPE_FIXED) {
        fmt_problem (ck->probs, "image type %u is not dynamic (1) or fixed "
                     "(2)", h->type);
    }
    if (h->flags) {
        fmt_problem (ck->warns, "image flags 0x%08x are set (ignored)",
                     h->flags);
    }
    if (!vdi_zero16 (h->uuid_linkage)) {
        fmt_problem (ck->probs, "the linkage UUID is set (a child image; "
                     "unsupported)");
    }
}

static void
vdi_ck_sizes (struct vdi_ck *ck)
{
    const struct vdi_header *h = &ck->h;

    if (h->sector_size != 512) {
        fmt_problem (ck->probs, "sector size %u is not 512", h->sector_size);
    }
    if (!IS_POW2 (h->block_size) || h->block_size < VDI_MIN_BLOCK ||
        h->block_size > VDI_MAX_BLOCK) {
        fmt_problem (ck->probs, "block size %u is not a power of two between "
                     "512 bytes and 256 MiB", h->block_size);
        return;
    }
    if (h->block_size != VDI_BLOCK_SIZE) {
        fmt_problem (ck->warns, "block size %u is not 1 MiB (VirtualBox "
                     "reads it, qemu does not)", h->block_size);
    }
    if (h->block_extra) {
        fmt_problem (ck->probs, "%u bytes of extra data per block are "
                     "unsupported", h->block_extra);
    }
    if (h->disk_size == 0 || h->disk_size > FMT_MAX_VIRTUAL_SIZE) {
        fmt_problem (ck->probs, "disk size %llu is 0 or larger than 64 TiB",
                     ULL (h->disk_size));
        return;
    }
    if (h->disk_size % 512) {
        fmt_problem (ck->warns, "disk size %llu is not a multiple of 512",
                     ULL (h->disk_size));
    }
    ck->nblocks = DIV_ROUND_UP (h->disk_size, h->block_size);
    if (h->blocks < ck->nblocks) {
        fmt_problem (ck->probs, "the image has %u blocks; a disk of %llu "
                     "bytes in %u-byte blocks needs %llu", h->blocks,
                     ULL (h->disk_size), h->block_size, ULL (ck->nblocks));
    } else if (h->blocks > VDI_MAX_BLOCKS) {
        fmt_problem (ck->probs, "the image has %u blocks, more than vmshift "
                     "reads (%llu; unsupported)", h->blocks,
                     ULL (VDI_MAX_BLOCKS));
    }
    if (h->blocks_allocated > h->blocks) {
        fmt_problem (ck->probs, "%u blocks allocated of %u", h->blocks_allocated,
                     h->blocks);
    }
}

static void
vdi_ck_offsets (struct vdi_ck *ck)
{
    const struct vdi_header *h = &ck->h;
    uint64_t map_end = (uint64_t) h->off_blocks + (uint64_t) h->blocks * 4;

    if (h->off_blocks % 512 || h->off_data % 512) {
        fmt_problem (ck->probs, "block map offset %u or data offset %u is "
                     "not a multiple of 512", h->off_blocks, h->off_data);
    }
    if (h->off_blocks < VDI_HEADER_OFF + VDI_HEADER1_SIZE ||
        h->off_blocks < VDI_HEADER_OFF + (uint64_t) h->header_size) {
        fmt_problem (ck->probs, "block map offset %u lies inside the header",
                     h->off_blocks);
    }
    if (map_end > ck->fsize) {
        fmt_problem (ck->probs, "block map (%u entries at %u) extends past "
                     "the end of the file (%llu bytes; truncated?)", h->blocks,
                     h->off_blocks, ULL (ck->fsize));
    }
    if (h->off_data < map_end) {
        fmt_problem (ck->probs, "data offset %u lies inside the block map "
                     "(%u entries at %u)", h->off_data, h->blocks,
                     h->off_blocks);
    }
}

struct vdi_scan {
    struct vdi_ck *ck;
    uint8_t *used;                      /* one bit per data block */
    uint64_t allocated;
};

static int
vdi_entry (struct vdi_scan *s, uint64_t i, uint32_t e)
{
    struct vdi_ck *ck = s->ck;
    const struct vdi_header *h = &ck->h;
    uint64_t guest = i * h->block_size, n = 0, off;

    if (i < ck->nblocks) {
        n = h->disk_size - guest < h->block_size ? h->disk_size - guest
                                                 : h->block_size;
    }
    if (e == VDI_BLOCK_FREE || e == VDI_BLOCK_ZERO) {
        return vdi_building (ck) && n ? fmt_extents_add_zero (ck->map, guest, n)
                                      : 0;
    }
    s->allocated++;
    if (e >= h->blocks) {
        fmt_problem (ck->probs, "block map entry %llu names data block %u, "
                     "past the image's %u blocks", ULL (i), e, h->blocks);
        return 0;
    }
    off = (uint64_t) h->off_data + (uint64_t) e * h->block_size;
    if (off + h->block_size > ck->fsize) {
        fmt_problem (ck->probs, "block map entry %llu: data block %u (at "
                     "%llu) extends past the end of the file (%llu bytes; "
                     "truncated?)", ULL (i), e, ULL (off), ULL (ck->fsize));
        return 0;
    }
    if (s->used[e / 8] & (1u << (e % 8))) {
        fmt_problem (ck->probs, "block map entry %llu names data block %u, "
                     "which another entry names too (overlapping blocks)",
                     ULL (i), e);
        return 0;
    }
    s->used[e / 8] |= (uint8_t) (1u << (e % 8));
    return vdi_building (ck) && n ? fmt_io_add_data (ck->io, 0, off, n, guest,
                                                     ck->map)
                                  : 0;
}

static int
vdi_ck_map (struct vdi_ck *ck)
{
    struct vdi_scan s = { .ck = ck };
    uint64_t count = ck->h.blocks;
    size_t cap = count < VDI_MAP_READ ? (size_t) count + 1 : VDI_MAP_READ;
    uint8_t *buf = malloc (cap * 4);
    int r = 0;

    s.used = calloc (count / 8 + 1, 1);
    if (buf == NULL || s.used == NULL) {
        r = set_error (ENOMEM, "out of memory");
        goto out;
    }
    if (ck->map) {
        ck->map->size = ck->h.disk_size;
    }
    for (uint64_t i = 0; i < count && r == 0;) {
        size_t n = count - i < cap ? (size_t) (count - i) : cap;

        r = fmt_io_pread (ck->io, 0, buf, n * 4, ck->h.off_blocks + i * 4);
        for (size_t j = 0; j < n && r == 0; j++, i++) {
            r = vdi_entry (&s, i, get_le32 (buf + j * 4));
        }
    }
    if (r == 0 && s.allocated != ck->h.blocks_allocated) {
        fmt_problem (ck->probs, "the header says %u blocks are allocated; "
                     "the block map allocates %llu", ck->h.blocks_allocated,
                     ULL (s.allocated));
    }
out:
    free (buf);
    free (s.used);
    return r;
}

static int
vdi_check (const struct fmt_io *io, struct fmt_problems *probs,
           struct fmt_problems *warns, struct fmt_source_info *info,
           struct fmt_extent_list *map)
{
    struct vdi_ck ck = {
        .io = io, .probs = probs, .warns = warns, .info = info, .map = map,
    };
    uint8_t buf[VDI_OFF_HEADER_END];
    int64_t sz = io->size (io->opaque, 0);
    int r;

    if (sz < 0) {
        return (int) sz;
    }
    ck.fsize = (uint64_t) sz;
    info->type = FMT_VDI;
    info->nfiles = 1;
    if (ck.fsize < VDI_HEADER_WRITE) {
        fmt_problem (probs, "file is %llu bytes, shorter than a VDI header "
                     "(truncated?)", ULL (ck.fsize));
        return 0;
    }
    if ((r = fmt_io_pread (io, 0, buf, sizeof buf, 0)) < 0) {
        return r;
    }
    if (vdi_header_decode (buf, sizeof buf, &ck.h) < 0) {
        clear_error ();
        fmt_problem (probs, "signature at offset 64 is not 0xbeda107f (not a "
                     "VDI file?)");
        return 0;
    }
    vdi_ck_version (&ck);
    if (probs->n > 0) {
        return 0;
    }
    vdi_ck_sizes (&ck);
    vdi_ck_offsets (&ck);
    info->virtual_size = ck.h.disk_size;
    info->block_size = ck.h.block_size;
    info->has_disk_id = true;
    memcpy (info->disk_id, ck.h.uuid_create, 16);
    snprintf (info->subformat, sizeof info->subformat, "%s",
              ck.h.type == VDI_TYPE_FIXED ? "fixed" : "dynamic");
    if (probs->n > 0) {
        return 0;
    }
    return vdi_ck_map (&ck);
}

int
vdi_read_map (const struct fmt_io *io, struct fmt_extent_list *out,
              struct fmt_source_info *info)
{
    struct fmt_problems probs, warns;
    struct fmt_extent_list m;
    struct fmt_source_info inf = *info;
    int r;

    fmt_problems_init (&probs);
    fmt_problems_init (&warns);
    fmt_extents_init (&m);
    r = vdi_check (io, &probs, &warns, &inf, &m);
    if (r == 0 && probs.n == 0 && probs.dropped == 0) {
        r = fmt_extents_check (&m);
        if (r < 0) {
            error_prepend ("'%s': ", fmt_io_name (io, 0));
        }
    } else if (r == 0) {
        r = probs.n ? fmt_problems_to_error (&probs, fmt_io_name (io, 0))
                    : set_error (EINVAL, "'%s': too many problems",
                                 fmt_io_name (io, 0));
    }
    if (r == 0) {
        fmt_extents_release (out);
        *out = m;
        *info = inf;
    } else {
        fmt_extents_release (&m);
    }
    fmt_problems_release (&probs);
    fmt_problems_release (&warns);
    return r;
}

int
vdi_validate (const struct fmt_io *io, struct fmt_problems *probs,
              struct fmt_source_info *info)
{
    struct fmt_problems warns;
    int r;

    fmt_problems_init (&warns);
    r = vdi_check (io, probs, &warns, info, NULL);
    for (size_t i = 0; i < warns.n; i++) {
        fmt_problem (probs, "warning: %s", warns.msg[i]);
    }
    fmt_problems_release (&warns);
    return r;
}

/* -------------------------------------------------------------- driver */

static enum fmt_probe_score
vdi_probe (const struct fmt_probe_buf *b)
{
    return vdi_probe_bytes (b->head, b->head_len) ? FMT_PROBE_MAGIC
                                                  : FMT_PROBE_NO;
}

static const char *const vdi_extensions[] = { "vdi", NULL };

const struct fmt_driver vdi_driver = {
    .type = FMT_VDI,
    .name = "vdi",
    .extensions = vdi_extensions,
    .native = "virtualbox",
    .share_style = FMT_SHARE_UNIX,
    .probe = vdi_probe,
    .read_map = vdi_read_map,
    .validate = vdi_validate,
    .plan = vdi_plan,
    .map_validates = true,              /* vdi_read_map validates all */
    .data_in_place = true,
    .size_align = 512,                  /* whole sectors, as qemu rounds */
};
