/* VDI planner (docs/formats/vdi.md, "Target layout").
 *
 *   0        pre-header and header 1.1 plus (512 bytes written)  HEADER
 *   1 MiB    block map: one LE32 per 1 MiB block               META phase
 *   D        data blocks, D = 1 MiB + roundup (4 * N, 1 MiB)
 *
 * The virtual size is the source's rounded up to whole 512-byte sectors,
 * N = ceil (V / 1 MiB).  Offsets are VirtualBox's own (VDI_DATA_ALIGN,
 * 1 MiB), so every data block starts 1 MiB aligned and is cloned wherever
 * the source's data is 4 KiB aligned.
 *
 * Fixed (o->vhdx_fixed, the --fixed option): block i at D + i MiB, map
 * entry i; the guest data is placed like a raw disk's at D (one clone).
 * Dynamic: the blocks holding data, in guest order, at D + k MiB; the
 * others ZERO (0xfffffffe: "reads zeros" in VirtualBox's own words, where
 * FREE only means "not allocated").  The map comes from a generator that
 * walks the extent map with a cursor, so a 64 TiB disk's 256 MiB map is
 * never held in memory; the map must outlive the layout.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/endian.h"
#include "engine/base/error.h"
#include "engine/base/overflow.h"
#include "formats/vdi.h"

struct vdi_map_gen {
    const struct fmt_extent_list *map;
    uint64_t nblocks;
    bool fixed;
    uint64_t next;                      /* next block the cursor decides */
    uint64_t k;                         /* data blocks before 'next' */
    size_t hint;
};

/* Does guest block i hold data? */
static bool
vdi_block_used (const struct fmt_extent_list *map, uint64_t i, size_t *hint)
{
    uint64_t g = i * VDI_BLOCK_SIZE;

    if (g >= map->size) {
        return false;           /* the rounded-up tail */
    }
    return !fmt_extents_is_zero (map, g, map->size - g < VDI_BLOCK_SIZE
                                 ? map->size - g : VDI_BLOCK_SIZE, hint);
}

static uint32_t
vdi_gen_entry (struct vdi_map_gen *c, uint64_t i)
{
    bool used;

    if (i >= c->nblocks) {
        return 0;               /* padding after the map */
    }
    if (c->fixed) {
        return (uint32_t) i;
    }
    if (i < c->next) {          /* asked again from the start */
        c->next = c->k = 0;
        c->hint = 0;
    }
    while (c->next < i) {
        c->k += vdi_block_used (c->map, c->next++, &c->hint);
    }
    used = vdi_block_used (c->map, i, &c->hint);
    c->next = i + 1;
    c->k += used;
    return used ? (uint32_t) (c->k - 1) : VDI_BLOCK_ZERO;
}

static int
vdi_gen_map (const struct fmt_blob *b, uint64_t rel_off, uint8_t *buf,
             size_t n)
{
    struct vdi_map_gen *c = b->ctx;
    uint64_t end = rel_off + n;

    for (uint64_t i = rel_off / 4; i * 4 < end; i++) {
        uint8_t e[4];
        uint64_t from = i * 4 < rel_off ? rel_off : i * 4;
        uint64_t to = i * 4 + 4 > end ? end : i * 4 + 4;

        put_le32 (e, vdi_gen_entry (c, i));
        memcpy (buf + (from - rel_off), e + (from - i * 4), to - from);
    }
    return 0;
}

static int
vdi_plan_header (struct fmt_layout *out, const struct fmt_plan_opts *o,
                 uint64_t size, uint64_t nblocks, uint64_t used, bool fixed)
{
    struct vdi_header h = {
        .version = VDI_VERSION_1_1, .header_size = VDI_HEADER1_PLUS_SIZE,
        .type = fixed ? VDI_TYPE_FIXED : VDI_TYPE_NORMAL,
        .off_blocks = (uint32_t) VDI_DATA_ALIGN,
        .off_data = (uint32_t) vdi_data_offset (nblocks),
        .sector_size = 512, .disk_size = size,
        .block_size = (uint32_t) VDI_BLOCK_SIZE,
        .blocks = (uint32_t) nblocks, .blocks_allocated = (uint32_t) used,
        .lchs_sector_size = 512,
    };
    uint8_t buf[VDI_HEADER_WRITE];

    memcpy (h.uuid_create, o->disk_id, 16);
    memcpy (h.uuid_modify, o->guid_file_write, 16);
    vdi_header_encode (&h, buf);
    return fmt_layout_add_bytes (out, 0, 0, buf, sizeof buf,
                                 FMT_PHASE_HEADER, "vdi header");
}

static int
vdi_plan_map (struct fmt_layout *out, const struct fmt_extent_list *map,
              uint64_t nblocks, bool fixed)
{
    struct vdi_map_gen *c = calloc (1, sizeof *c);
    uint64_t len = (nblocks * 4 + 4095) / 4096 * 4096;
    int r;

    if (c == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    c->map = map;
    c->nblocks = nblocks;
    c->fixed = fixed;
    r = fmt_layout_own (out, c, free);
    if (r < 0) {
        return r;
    }
    return fmt_layout_add_gen (out, 0, VDI_DATA_ALIGN, len, vdi_gen_map, c,
                               FMT_PHASE_META, "vdi block map");
}

/* Dynamic: place each block holding data at the next free data block. */
static int
vdi_plan_blocks (struct fmt_layout *out, const struct fmt_extent_list *map,
                 const struct fmt_plan_opts *o, uint64_t nblocks,
                 uint64_t data_off, uint64_t *used)
{
    size_t hint = 0;
    uint64_t k = 0;
    int r = 0;

    for (uint64_t i = 0; i < nblocks && r == 0; i++) {
        uint64_t g = i * VDI_BLOCK_SIZE;

        if (!vdi_block_used (map, i, &hint)) {
            continue;
        }
        r = fmt_layout_place_range (out, 0, map, g,
                                    map->size - g < VDI_BLOCK_SIZE
                                    ? map->size - g : VDI_BLOCK_SIZE,
                                    data_off + k * VDI_BLOCK_SIZE,
                                    o->clone_align);
        k++;
    }
    *used = k;
    return r;
}

int
vdi_plan (const struct fmt_source_info *src, const struct fmt_extent_list *map,
          const struct fmt_plan_opts *o, struct fmt_layout *out)
{
    bool fixed = o->vhdx_fixed;
    uint64_t size, nblocks, data_off, used = 0;
    int r, idx;

    (void) src;                 /* the map carries the virtual size */
    if (map->size == 0) {
        return set_error (EINVAL, "cannot write a vdi of virtual size 0");
    }
    if (map->size > FMT_MAX_VIRTUAL_SIZE) {
        return set_error (EFBIG, "virtual size %llu is larger than the 64 TiB "
                          "vmshift writes", (unsigned long long) map->size);
    }
    if ((r = fmt_extents_check (map)) < 0) {
        return r;
    }
    size = (map->size + 511) / 512 * 512;
    nblocks = DIV_ROUND_UP (size, VDI_BLOCK_SIZE);
    data_off = vdi_data_offset (nblocks);
    idx = fmt_layout_add_output (out, o->target_name, FMT_OUT_MAIN);
    if (idx < 0) {
        return idx;
    }
    if (idx != 0) {
        return set_error (EINVAL, "vdi plan needs an empty layout");
    }
    out->type = FMT_VDI;
    out->data_offset = data_off;
    if (fixed) {
        used = nblocks;
        r = fmt_layout_place_map (out, 0, map, 0, map->size, data_off,
                                  o->clone_align);
    } else {
        r = vdi_plan_blocks (out, map, o, nblocks, data_off, &used);
    }
    out->out[0].file_size = data_off + used * VDI_BLOCK_SIZE;
    if (r == 0) {
        r = vdi_plan_header (out, o, size, nblocks, used, fixed);
    }
    if (r == 0) {
        r = vdi_plan_map (out, map, nblocks, fixed);
    }
    return r;
}
