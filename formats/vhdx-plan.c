/* VHDX planner: the Windows-native layout (docs/formats/vhdx.md,
 * "Writing").
 *
 *   0        file identifier ("vhdxfile" + creator)          HEADER phase
 *   64 KiB   header 1 (seq 1), 128 KiB header 2 (seq 2)      HEADER phase
 *   192 KiB  region table 1, 256 KiB region table 2          HEADER phase
 *   1 MiB    log, 1 MiB, LogGuid 0 (left a hole)
 *   2 MiB    metadata region, 1 MiB (table + five items)     META phase
 *   3 MiB    BAT, roundup (8 * (N + ceil (N / CR)), 1 MiB)   META phase
 *   X        payload: block i at X + i * BS, X = 3 MiB + BAT length
 *   file size X + N * BS (the last block is padded by a hole)
 *
 * Only bytes that are not zero are written: each 64 KiB structure is
 * written as its first 4 KiB (everything after is zero, and the target is
 * a fresh file whose unwritten ranges are holes), the BAT as its used
 * entries rounded up to 4 KiB.  The BAT comes from a generator that walks
 * the extent map with a cursor, so a 64 TiB disk's BAT (up to 513 MiB at
 * 1 MiB blocks) is never held in memory.  The generator reads the map
 * passed to vhdx_plan(): the map must outlive the layout.  Runs of
 * all-hole chunks are declared repeated (fmt_repeat): the executor may
 * write one period of them and clone the rest.  With vhdx_not_present
 * all-hole blocks are NOT_PRESENT (0) instead of ZERO (2): such chunks
 * are zeros the executor does not write, and no run is declared.
 *
 * Choices: logical sector 512 (VMDK is 512e, and qemu refuses 4096);
 * physical sector 4096, as Hyper-V writes by default and as the 4 KiB
 * blocks of the storage underneath (ONTAP, XFS) really are; qemu and
 * libvhdi read it.  Region entries are marked Required like Windows does.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/endian.h"
#include "engine/base/error.h"
#include "engine/base/overflow.h"
#include "formats/vhdx.h"

#define VHDX_PLAN_LOG_OFF VHDX_MiB
#define VHDX_PLAN_LOG_LEN VHDX_MiB
#define VHDX_PLAN_META_OFF (2 * VHDX_MiB)
#define VHDX_PLAN_META_LEN VHDX_MiB
#define VHDX_PLAN_BAT_OFF (3 * VHDX_MiB)
#define VHDX_PLAN_PSS 4096u
#define VHDX_PLAN_WRITE 4096u           /* written part of each structure */

struct vhdx_bat_gen {
    const struct fmt_extent_list *map;
    struct vhdx_geom g;
    uint64_t data_off;                  /* X */
    bool fixed;
    uint64_t hole;                      /* entry of an all-hole block */
    size_t hint;                        /* cursor into map */
};

static uint64_t
vhdx_gen_entry (struct vhdx_bat_gen *c, uint64_t idx)
{
    uint64_t block, start;

    if (vhdx_index_is_sb (&c->g, idx)) {
        return 0;                       /* SB_BLOCK_NOT_PRESENT */
    }
    block = vhdx_index_block (&c->g, idx);
    if (block >= c->g.nblocks) {
        return 0;                       /* unused tail entry */
    }
    start = block * c->g.block_size;
    if (!c->fixed &&
        fmt_extents_is_zero (c->map, start,
                             vhdx_geom_block_bytes (&c->g, block), &c->hint)) {
        return c->hole;
    }
    return vhdx_bat_entry (c->data_off + start, VHDX_BAT_FULLY_PRESENT);
}

/* How many entries from idx on (at most max) are payload blocks that
 * lie wholly inside one ZERO extent of the map, up to the next sector
 * bitmap entry: each is c->hole (what vhdx_gen_entry says for it), and
 * a thin 64 TiB disk has 2 million of them. */
static uint64_t
vhdx_gen_zero_run (struct vhdx_bat_gen *c, uint64_t idx, uint64_t max)
{
    uint64_t cr1 = c->g.chunk_ratio + 1, bs = c->g.block_size;
    uint64_t block, start, ext_end, k;
    const struct fmt_extent *e;
    size_t i;

    if (c->fixed || vhdx_index_is_sb (&c->g, idx) || c->map->v.len == 0) {
        return 0;
    }
    block = vhdx_index_block (&c->g, idx);
    if (block >= c->g.nblocks) {
        return 0;
    }
    start = block * bs;
    i = fmt_extents_find (c->map, start);
    e = &c->map->v.ptr[i];
    if (e->kind != FMT_EXT_ZERO || e->guest_off > start) {
        return 0;
    }
    c->hint = i;
    ext_end = e->guest_off + e->len;
    /* the last block may be short: it is whole when the extent reaches
     * the end of the disk */
    k = ext_end >= c->g.vsize ? c->g.nblocks - block : (ext_end - start) / bs;
    if (k > c->g.nblocks - block) {
        k = c->g.nblocks - block;
    }
    if (k > cr1 - 1 - idx % cr1) {
        k = cr1 - 1 - idx % cr1;
    }
    return k < max ? k : max;
}

/* Any byte range works (the executor asks for whole chunks in order,
 * tests may ask for anything). */
static int
vhdx_gen_bat (const struct fmt_blob *b, uint64_t rel_off, uint8_t *buf,
              size_t n)
{
    struct vhdx_bat_gen *c = b->ctx;
    uint64_t end = rel_off + n;

    for (uint64_t idx = rel_off / 8; idx * 8 < end;) {
        uint8_t e[8];
        uint64_t from = idx * 8 < rel_off ? rel_off : idx * 8;
        uint64_t to = idx * 8 + 8 > end ? end : idx * 8 + 8;
        uint64_t k = from == idx * 8 ? vhdx_gen_zero_run (c, idx,
                                                          (end - from) / 8)
                                     : 0;

        if (c->hole == 0 && k > 0) {
            memset (buf + (from - rel_off), 0, k * 8);
        }
        for (uint64_t j = 0; c->hole != 0 && j < k; j++) {
            put_le64 (buf + (from - rel_off) + j * 8, c->hole);
        }
        if (k > 0) {
            idx += k;
            continue;
        }
        put_le64 (e, vhdx_gen_entry (c, idx));
        memcpy (buf + (from - rel_off), e + (from - idx * 8), to - from);
        idx++;
    }
    return 0;
}

static int
vhdx_plan_check (const struct fmt_extent_list *map,
                 const struct fmt_plan_opts *o, uint32_t *bs)
{
    int r;

    *bs = o->block_size ? o->block_size : (uint32_t) VHDX_DEFAULT_BLOCK;
    if (!IS_POW2 (*bs) || *bs < VHDX_MIN_BLOCK || *bs > VHDX_MAX_BLOCK) {
        return set_error (EINVAL, "vhdx block size %u is not a power of two "
                          "between 1 MiB and 256 MiB", *bs);
    }
    if (map->size == 0) {
        return set_error (EINVAL, "cannot write a vhdx of virtual size 0");
    }
    if (map->size % FMT_SECTOR) {
        return set_error (EINVAL, "virtual size %llu is not a multiple of "
                          "512 bytes, as vhdx requires",
                          (unsigned long long) map->size);
    }
    if (map->size > VHDX_MAX_VSIZE) {
        return set_error (EFBIG, "virtual size %llu is larger than the vhdx "
                          "limit of 64 TiB", (unsigned long long) map->size);
    }
    r = fmt_extents_check (map);
    return r < 0 ? r : 0;
}

static int
vhdx_plan_file_id (struct fmt_layout *lay, const struct fmt_plan_opts *o)
{
    uint8_t buf[VHDX_PLAN_WRITE] = { 0 };
    int r;

    r = vhdx_file_id_encode (o->creator ? o->creator
                                        : "vmshift " VMSHIFT_VERSION_STRING,
                             buf);
    if (r < 0) {
        return r;
    }
    return fmt_layout_add_bytes (lay, 0, VHDX_FILE_ID_OFF, buf, sizeof buf,
                                 FMT_PHASE_HEADER, "vhdx file identifier");
}

static int
vhdx_plan_headers (struct fmt_layout *lay, const struct fmt_plan_opts *o)
{
    struct vhdx_header h = {
        .log_version = 0, .version = 1,
        .log_length = (uint32_t) VHDX_PLAN_LOG_LEN,
        .log_offset = VHDX_PLAN_LOG_OFF,
    };
    uint8_t buf[VHDX_HEADER_SIZE];
    int r;

    memcpy (h.file_write_guid, o->guid_file_write, 16);
    memcpy (h.data_write_guid, o->guid_data_write, 16);
    /* LogGuid stays zero: the log is empty and must not be replayed. */
    for (int i = 0; i < 2; i++) {
        h.seq = (uint64_t) i + 1;
        vhdx_header_encode (&h, buf);
        r = fmt_layout_add_bytes (lay, 0, i ? VHDX_HEADER2_OFF
                                            : VHDX_HEADER1_OFF,
                                  buf, sizeof buf, FMT_PHASE_HEADER,
                                  "vhdx header");
        if (r < 0) {
            return r;
        }
    }
    return 0;
}

static int
vhdx_plan_regions (struct fmt_layout *lay, uint64_t bat_len)
{
    struct vhdx_region reg[2] = {
        { .file_off = VHDX_PLAN_BAT_OFF, .length = (uint32_t) bat_len,
          .required = 1 },
        { .file_off = VHDX_PLAN_META_OFF,
          .length = (uint32_t) VHDX_PLAN_META_LEN, .required = 1 },
    };
    uint8_t *buf = malloc (VHDX_RT_SIZE);
    int r = 0;

    if (buf == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    memcpy (reg[0].guid, vhdx_guid_bat, 16);
    memcpy (reg[1].guid, vhdx_guid_metadata, 16);
    vhdx_rt_encode (reg, 2, buf);
    for (int i = 0; i < 2 && r == 0; i++) {
        r = fmt_layout_add_bytes (lay, 0, i ? VHDX_RT2_OFF : VHDX_RT1_OFF,
                                  buf, VHDX_PLAN_WRITE, FMT_PHASE_HEADER,
                                  "vhdx region table");
    }
    free (buf);
    return r;
}

/* Metadata table at the region start, the five items from +64 KiB in
 * the order Windows writes them. */
static int
vhdx_plan_metadata (struct fmt_layout *lay, const struct vhdx_geom *g,
                    const struct fmt_plan_opts *o)
{
    struct vhdx_meta_entry e[5] = {
        { .length = 8, .flags = VHDX_META_IS_REQUIRED },
        { .length = 8, .flags = VHDX_META_IS_REQUIRED |
                                VHDX_META_IS_VIRTUAL_DISK },
        { .length = 4, .flags = VHDX_META_IS_REQUIRED |
                                VHDX_META_IS_VIRTUAL_DISK },
        { .length = 4, .flags = VHDX_META_IS_REQUIRED |
                                VHDX_META_IS_VIRTUAL_DISK },
        { .length = 16, .flags = VHDX_META_IS_REQUIRED |
                                 VHDX_META_IS_VIRTUAL_DISK },
    };
    const uint8_t *ids[5] = {
        vhdx_guid_file_params, vhdx_guid_vdisk_size, vhdx_guid_lss,
        vhdx_guid_pss, vhdx_guid_vdisk_id,
    };
    uint8_t items[VHDX_PLAN_WRITE] = { 0 };
    uint8_t *table = malloc (VHDX_META_TABLE_SIZE);
    uint32_t pos = 0;
    int r;

    if (table == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    for (int i = 0; i < 5; i++) {
        memcpy (e[i].id, ids[i], 16);
        e[i].offset = (uint32_t) VHDX_META_ITEMS_OFF + pos;
        pos += e[i].length;
    }
    put_le32 (items + VHDX_FP_OFF_BLOCK_SIZE, g->block_size);
    put_le32 (items + VHDX_FP_OFF_FLAGS,
              o->vhdx_fixed ? VHDX_FP_LEAVE_ALLOCATED : 0);
    put_le64 (items + 8, g->vsize);
    put_le32 (items + 16, g->lss);
    put_le32 (items + 20, VHDX_PLAN_PSS);
    memcpy (items + 24, o->disk_id, 16);
    vhdx_mt_encode (e, 5, table);
    r = fmt_layout_add_bytes (lay, 0, VHDX_PLAN_META_OFF, table,
                              VHDX_PLAN_WRITE, FMT_PHASE_META,
                              "vhdx metadata table");
    free (table);
    if (r < 0) {
        return r;
    }
    return fmt_layout_add_bytes (lay, 0, VHDX_PLAN_META_OFF +
                                 VHDX_META_ITEMS_OFF, items, sizeof items,
                                 FMT_PHASE_META, "vhdx metadata items");
}

/* The BAT's repeated runs: a chunk (CR payload entries and the sector
 * bitmap entry after them) whose blocks are all holes is CR entries
 * ZERO (2) and one 0, so a run of such chunks repeats every 8 (CR + 1)
 * bytes, and every such run holds the same bytes from its start (one
 * pattern).  (With NOT_PRESENT such chunks are zeros, not written, and
 * vhdx_plan_bat declares nothing.)  Only whole chunks of real blocks count (the last chunk's
 * unused entries are 0).  A chunk spans CR * BS = 2^23 logical sectors
 * of the guest, 4 GiB at 512 bytes: a 64 TiB disk has 16384. */
static int
vhdx_plan_bat_repeats (struct fmt_layout *lay, const struct vhdx_geom *g,
                       const struct fmt_extent_list *map)
{
    uint64_t cr = g->chunk_ratio, span = cr * g->block_size;
    uint64_t period = 8 * (cr + 1), nfull = g->nblocks / cr, first = 0;
    size_t hint = 0;
    int r = 0;

    for (uint64_t k = 0; k <= nfull && r == 0; k++) {
        bool zero = k < nfull &&
                    fmt_extents_is_zero (map, k * span,
                                         k * span + span > g->vsize
                                         ? g->vsize - k * span : span,
                                         &hint);

        if (zero) {
            continue;
        }
        if (k - first >= 2) {
            r = fmt_layout_add_repeat (lay, 0, VHDX_PLAN_BAT_OFF +
                                       first * period, (k - first) * period,
                                       period, 1);
        }
        first = k + 1;
    }
    return r;
}

static int
vhdx_plan_bat (struct fmt_layout *lay, const struct vhdx_geom *g,
               const struct fmt_extent_list *map, bool fixed,
               bool not_present)
{
    struct vhdx_bat_gen *c = calloc (1, sizeof *c);
    uint64_t len = 0;
    int r;

    if (c == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    c->map = map;
    c->g = *g;
    c->data_off = vhdx_geom_data_offset (g);
    c->fixed = fixed;
    c->hole = not_present ? vhdx_bat_entry (0, VHDX_BAT_NOT_PRESENT)
                          : vhdx_bat_entry (0, VHDX_BAT_ZERO);
    r = fmt_layout_own (lay, c, free);
    if (r < 0) {
        return r;
    }
    (void) round_up_pow2 (g->entries * 8, VHDX_PLAN_WRITE, &len);
    r = fmt_layout_add_gen (lay, 0, VHDX_PLAN_BAT_OFF, len, vhdx_gen_bat,
                            c, FMT_PHASE_META, "vhdx BAT");
    if (r == 0 && !fixed && !not_present) {
        r = vhdx_plan_bat_repeats (lay, g, map);
    }
    return r;
}

int
vhdx_plan (const struct fmt_source_info *src,
           const struct fmt_extent_list *map, const struct fmt_plan_opts *o,
           struct fmt_layout *out)
{
    struct vhdx_geom g;
    uint64_t x, file_size;
    uint32_t bs;
    int r, idx;

    (void) src;                 /* the map carries the virtual size */
    if ((r = vhdx_plan_check (map, o, &bs)) < 0 ||
        (r = vhdx_geom_init (&g, map->size, bs, FMT_SECTOR)) < 0) {
        return r;
    }
    x = vhdx_geom_data_offset (&g);
    /* N * BS <= 64 TiB + 256 MiB and X < 1 GiB: no overflow possible. */
    file_size = x + g.nblocks * g.block_size;
    idx = fmt_layout_add_output (out, o->target_name, FMT_OUT_MAIN);
    if (idx < 0) {
        return idx;
    }
    if (idx != 0) {
        return set_error (EINVAL, "vhdx plan needs an empty layout");
    }
    out->type = FMT_VHDX;
    out->data_offset = x;
    out->out[0].file_size = file_size;
    out->unallocated = o->vhdx_fixed ? NULL
                       : o->vhdx_not_present ? "not-present" : "zero";
    if ((r = vhdx_plan_file_id (out, o)) < 0 ||
        (r = vhdx_plan_headers (out, o)) < 0 ||
        (r = vhdx_plan_regions (out, vhdx_geom_bat_len (&g))) < 0 ||
        (r = vhdx_plan_metadata (out, &g, o)) < 0 ||
        (r = vhdx_plan_bat (out, &g, map, o->vhdx_fixed,
                            o->vhdx_not_present)) < 0) {
        return r;
    }
    return fmt_layout_place_map (out, 0, map, 0, g.vsize, x, o->clone_align);
}
