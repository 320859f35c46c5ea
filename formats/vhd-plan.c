/* VHD planner (docs/formats/vhd.md, "Target layouts").
 *
 * The virtual size is the source's rounded up to a whole MiB, as Azure
 * requires of an uploaded VHD; the added tail is never written, so it is
 * a hole and reads as zeros.
 *
 * Fixed (o->vhdx_fixed, the --fixed option):
 *   0        guest data, placed like a raw disk (one clone of the source)
 *   V        footer (512 bytes)                               HEADER phase
 *   file size V + 512
 *
 * Dynamic:
 *   0        footer copy                                       HEADER phase
 *   512      dynamic header (1024 bytes)                       HEADER phase
 *   1536     BAT: one big-endian sector number per 2 MiB block,
 *            0xFFFFFFFF for a block with no data               META phase
 *   S        allocated blocks, in guest order, one per slot of
 *            4 KiB + 2 MiB: the 512-byte sector bitmap (all ones) ends
 *            where the slot's first 4 KiB ends, so the block's data
 *            starts 4 KiB aligned and can be cloned; the 3.5 KiB in
 *            front of each bitmap are a hole                  META phase
 *   end      footer (512 bytes)                                HEADER phase
 *   S = roundup (1536 + BAT length, 4 KiB)
 *
 * Identity and choices: creator application "vmsh", host OS "Wi2k"
 * (the value Windows and qemu write), the UUID is the engine's disk id,
 * the timestamp o->now.  The geometry is vhd_chs_for_target()'s.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/endian.h"
#include "engine/base/error.h"
#include "engine/base/overflow.h"
#include "formats/vhd.h"

#define VHD_PLAN_BAT_OFF (VHD_FOOTER_SIZE + VHD_DYN_SIZE)
#define VHD_PLAN_SLOT_HEAD 4096u        /* bitmap area of a slot */
#define VHD_CREATOR_VERSION 0x00000001u /* vmshift 0.1 */

static void
vhd_plan_footer (struct vhd_footer *f, const struct fmt_plan_opts *o,
                 uint64_t size, bool fixed)
{
    memset (f, 0, sizeof *f);
    f->features = VHD_FEATURE_RESERVED;
    f->version = VHD_VERSION;
    f->data_offset = fixed ? VHD_FIXED_DATA_OFFSET : VHD_FOOTER_SIZE;
    if (o->now > (int64_t) VHD_EPOCH_2000) {
        f->timestamp = (uint32_t) ((uint64_t) o->now - VHD_EPOCH_2000);
    }
    memcpy (f->creator_app, "vmsh", 4);
    f->creator_version = VHD_CREATOR_VERSION;
    memcpy (f->creator_os, "Wi2k", 4);
    f->orig_size = size;
    f->cur_size = size;
    vhd_chs_for_target (size, &f->cyls, &f->heads, &f->spt);
    f->disk_type = fixed ? VHD_TYPE_FIXED : VHD_TYPE_DYNAMIC;
    memcpy (f->uuid, o->disk_id, 16);
}

static int
vhd_plan_check (const struct fmt_extent_list *map, uint64_t *size)
{
    int r;

    if (map->size == 0) {
        return set_error (EINVAL, "cannot write a vhd of virtual size 0");
    }
    if (map->size > VHD_MAX_SIZE) {
        return set_error (EFBIG, "virtual size %llu is larger than the vhd "
                          "limit of 2040 GiB (use vhdx)",
                          (unsigned long long) map->size);
    }
    *size = (map->size + VHD_SIZE_ALIGN - 1) / VHD_SIZE_ALIGN * VHD_SIZE_ALIGN;
    r = fmt_extents_check (map);
    return r < 0 ? r : 0;
}

static int
vhd_plan_fixed (struct fmt_layout *out, const struct fmt_extent_list *map,
                const struct fmt_plan_opts *o, uint64_t size)
{
    struct vhd_footer f;
    uint8_t buf[VHD_FOOTER_SIZE];
    int r;

    vhd_plan_footer (&f, o, size, true);
    vhd_footer_encode (&f, buf);
    out->out[0].file_size = size + VHD_FOOTER_SIZE;
    r = fmt_layout_add_bytes (out, 0, size, buf, sizeof buf,
                              FMT_PHASE_HEADER, "vhd footer");
    if (r < 0) {
        return r;
    }
    return fmt_layout_place_map (out, 0, map, 0, map->size, 0,
                                 o->clone_align);
}

/* Every sector present: 0xff bytes. */
static int
vhd_gen_bitmap (const struct fmt_blob *b, uint64_t rel_off, uint8_t *buf,
                size_t n)
{
    (void) b;
    (void) rel_off;
    memset (buf, 0xff, n);
    return 0;
}

struct vhd_dyn_plan {
    uint64_t size;                      /* rounded virtual size */
    uint64_t nblocks;
    uint32_t bs, bitmap, slot_head;
    uint64_t stride, first_slot, bat_len;
    uint8_t *bat;
};

static int
vhd_plan_blocks (struct fmt_layout *out, const struct fmt_extent_list *map,
                 const struct fmt_plan_opts *o, struct vhd_dyn_plan *p,
                 uint64_t *nalloc)
{
    size_t hint = 0;
    uint64_t k = 0;
    int r = 0;

    for (uint64_t i = 0; i < p->nblocks && r == 0; i++) {
        uint64_t g = i * p->bs, n, slot;

        if (g >= map->size) {
            break;              /* the rounded-up tail: no data */
        }
        n = map->size - g < p->bs ? map->size - g : p->bs;
        if (fmt_extents_is_zero (map, g, n, &hint)) {
            continue;
        }
        slot = p->first_slot + k * p->stride;
        if ((slot + p->slot_head - p->bitmap) / 512 >= VHD_BAT_UNUSED) {
            return set_error (EFBIG, "vhd block %llu would lie beyond the "
                              "2 TiB a BAT entry can address",
                              (unsigned long long) i);
        }
        put_be32 (p->bat + i * 4,
                  (uint32_t) ((slot + p->slot_head - p->bitmap) / 512));
        r = fmt_layout_add_gen (out, 0, slot + p->slot_head - p->bitmap,
                                p->bitmap, vhd_gen_bitmap, NULL,
                                FMT_PHASE_META, "vhd sector bitmap");
        if (r == 0) {
            r = fmt_layout_place_range (out, 0, map, g, n,
                                        slot + p->slot_head, o->clone_align);
        }
        k++;
    }
    *nalloc = k;
    return r;
}

static int
vhd_plan_dynamic (struct fmt_layout *out, const struct fmt_extent_list *map,
                  const struct fmt_plan_opts *o, uint64_t size)
{
    struct vhd_dyn_plan p = { .size = size, .bs = VHD_DEFAULT_BLOCK };
    struct vhd_footer f;
    struct vhd_dyn d = { 0 };
    uint8_t foot[VHD_FOOTER_SIZE], dyn[VHD_DYN_SIZE];
    uint64_t nalloc = 0, end;
    int r;

    p.nblocks = DIV_ROUND_UP (size, p.bs);
    p.bitmap = vhd_bitmap_bytes (p.bs);
    p.slot_head = (p.bitmap + VHD_PLAN_SLOT_HEAD - 1) / VHD_PLAN_SLOT_HEAD *
                  VHD_PLAN_SLOT_HEAD;
    p.stride = (uint64_t) p.slot_head + p.bs;
    p.bat_len = (p.nblocks * 4 + 511) / 512 * 512;
    p.first_slot = (VHD_PLAN_BAT_OFF + p.bat_len + 4095) / 4096 * 4096;
    p.bat = malloc (p.bat_len);
    if (p.bat == NULL) {
        return set_error (ENOMEM, "out of memory for a vhd BAT of %llu "
                          "bytes", (unsigned long long) p.bat_len);
    }
    memset (p.bat, 0xff, p.bat_len);
    r = vhd_plan_blocks (out, map, o, &p, &nalloc);
    if (r == 0) {
        r = fmt_layout_add_bytes (out, 0, VHD_PLAN_BAT_OFF, p.bat, p.bat_len,
                                  FMT_PHASE_META, "vhd BAT");
    }
    free (p.bat);
    if (r < 0) {
        return r;
    }
    end = p.first_slot + nalloc * p.stride;
    out->out[0].file_size = end + VHD_FOOTER_SIZE;
    vhd_plan_footer (&f, o, size, false);
    vhd_footer_encode (&f, foot);
    d.data_offset = UINT64_MAX;
    d.table_offset = VHD_PLAN_BAT_OFF;
    d.version = VHD_VERSION;
    d.max_entries = (uint32_t) p.nblocks;
    d.block_size = p.bs;
    vhd_dyn_encode (&d, dyn);
    if ((r = fmt_layout_add_bytes (out, 0, 0, foot, sizeof foot,
                                   FMT_PHASE_HEADER, "vhd footer copy")) < 0 ||
        (r = fmt_layout_add_bytes (out, 0, VHD_FOOTER_SIZE, dyn, sizeof dyn,
                                   FMT_PHASE_HEADER,
                                   "vhd dynamic header")) < 0) {
        return r;
    }
    return fmt_layout_add_bytes (out, 0, end, foot, sizeof foot,
                                 FMT_PHASE_HEADER, "vhd footer");
}

int
vhd_plan (const struct fmt_source_info *src, const struct fmt_extent_list *map,
          const struct fmt_plan_opts *o, struct fmt_layout *out)
{
    uint64_t size = 0;
    int r, idx;

    (void) src;                 /* the map carries the virtual size */
    if ((r = vhd_plan_check (map, &size)) < 0) {
        return r;
    }
    idx = fmt_layout_add_output (out, o->target_name, FMT_OUT_MAIN);
    if (idx < 0) {
        return idx;
    }
    if (idx != 0) {
        return set_error (EINVAL, "vhd plan needs an empty layout");
    }
    out->type = FMT_VHD;
    if (o->vhdx_fixed) {
        out->data_offset = 0;
        return vhd_plan_fixed (out, map, o, size);
    }
    out->data_offset = (VHD_PLAN_BAT_OFF +
                        (DIV_ROUND_UP (size, VHD_DEFAULT_BLOCK) * 4 + 511) /
                        512 * 512 + 4095) / 4096 * 4096 + VHD_PLAN_SLOT_HEAD;
    return vhd_plan_dynamic (out, map, o, size);
}
