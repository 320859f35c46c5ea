/* VHDX strict validator: the metadata region ([MS-VHDX] v8.0 2.6).
 *
 * The table must list each of the five items every non-differencing
 * disk needs exactly once (qemu's META_ALL_PRESENT rule), items must lie
 * inside the region after the 64 KiB table without overlapping, and an
 * unknown item marked required makes the file unsupported.  A disk with
 * HasParent set is a differencing disk: reported as unsupported.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/endian.h"
#include "engine/base/error.h"
#include "engine/base/overflow.h"
#include "formats/vhdx.h"

#define ULL(x) ((unsigned long long) (x))

enum {
    VHDX_ITEM_FILE_PARAMS, VHDX_ITEM_VDISK_SIZE, VHDX_ITEM_VDISK_ID,
    VHDX_ITEM_LSS, VHDX_ITEM_PSS, VHDX_ITEM_PARENT, VHDX_NITEMS,
};

static const struct {
    const uint8_t *guid;
    const char *name;
    uint32_t len;               /* 0: variable */
} vhdx_items[VHDX_NITEMS] = {
    [VHDX_ITEM_FILE_PARAMS] = { vhdx_guid_file_params, "File Parameters", 8 },
    [VHDX_ITEM_VDISK_SIZE] = { vhdx_guid_vdisk_size, "Virtual Disk Size", 8 },
    [VHDX_ITEM_VDISK_ID] = { vhdx_guid_vdisk_id, "Virtual Disk ID", 16 },
    [VHDX_ITEM_LSS] = { vhdx_guid_lss, "Logical Sector Size", 4 },
    [VHDX_ITEM_PSS] = { vhdx_guid_pss, "Physical Sector Size", 4 },
    [VHDX_ITEM_PARENT] = { vhdx_guid_parent_locator, "Parent Locator", 0 },
};

struct vhdx_mt {
    uint8_t *table;                     /* 64 KiB */
    uint16_t count;
    int index[VHDX_NITEMS];             /* entry of each known item, -1 */
    uint8_t value[VHDX_NITEMS][16];
};

static int
vhdx_item_kind (const uint8_t id[16])
{
    for (int k = 0; k < VHDX_NITEMS; k++) {
        if (vhdx_guid_eq (id, vhdx_items[k].guid)) {
            return k;
        }
    }
    return -1;
}

static void
vhdx_mt_entry (const struct vhdx_mt *mt, uint16_t i, struct vhdx_meta_entry *e)
{
    vhdx_meta_entry_decode (mt->table + VHDX_MT_OFF_ENTRIES +
                            (size_t) i * VHDX_MTE_SIZE, e);
}

/* Placement rules of one entry; false if it cannot be used. */
static bool
vhdx_ck_item_place (struct vhdx_ck *ck, uint16_t i,
                    const struct vhdx_meta_entry *e, const char *name)
{
    if (e->reserved != 0) {
        fmt_problem (ck->warns, "metadata entry %u (%s): reserved field is "
                     "not zero", i, name);
    }
    if (e->length == 0) {
        if (e->offset != 0) {
            fmt_problem (ck->probs, "metadata entry %u (%s) has length 0 but "
                         "offset %u (must be 0)", i, name, e->offset);
            return false;
        }
        return true;
    }
    if (e->offset < VHDX_META_ITEMS_OFF || e->length > VHDX_MAX_ITEM_LEN ||
        (uint64_t) e->offset + e->length > ck->meta.length) {
        fmt_problem (ck->probs, "metadata entry %u (%s: %u bytes at %u) is "
                     "not inside the metadata region after its 64 KiB table",
                     i, name, e->length, e->offset);
        return false;
    }
    return true;
}

static void
vhdx_ck_item_overlaps (struct vhdx_ck *ck, const struct vhdx_mt *mt)
{
    for (uint16_t i = 0; i < mt->count; i++) {
        struct vhdx_meta_entry a;

        vhdx_mt_entry (mt, i, &a);
        for (uint16_t j = 0; j < i && a.length; j++) {
            struct vhdx_meta_entry b;

            vhdx_mt_entry (mt, j, &b);
            if (b.length && (uint64_t) a.offset < (uint64_t) b.offset + b.length
                && (uint64_t) b.offset < (uint64_t) a.offset + a.length) {
                fmt_problem (ck->probs, "metadata entries %u and %u overlap",
                             j, i);
            }
        }
    }
}

/* Check entry i; remember known items. */
static int
vhdx_ck_item (struct vhdx_ck *ck, struct vhdx_mt *mt, uint16_t i)
{
    struct vhdx_meta_entry e;
    char g[37];
    int k, r;

    vhdx_mt_entry (mt, i, &e);
    k = vhdx_item_kind (e.id);
    fmt_guid_format (e.id, g);
    if (!vhdx_ck_item_place (ck, i, &e, k >= 0 ? vhdx_items[k].name : g)) {
        return 0;
    }
    if (k < 0) {
        if (e.flags & VHDX_META_IS_REQUIRED) {
            fmt_problem_err (ck->probs, ENOTSUP, "metadata entry %u is an "
                             "unknown item %s marked required (unsupported)",
                             i, g);
        }
        return 0;
    }
    if (mt->index[k] >= 0) {
        fmt_problem (ck->probs, "metadata item %s appears more than once "
                     "(entries %d and %u)", vhdx_items[k].name, mt->index[k],
                     i);
        return 0;
    }
    if (vhdx_items[k].len && e.length != vhdx_items[k].len) {
        fmt_problem (ck->probs, "metadata item %s is %u bytes long, not %u",
                     vhdx_items[k].name, e.length, vhdx_items[k].len);
        return 0;
    }
    mt->index[k] = i;
    if (vhdx_items[k].len == 0) {
        return 0;
    }
    r = vhdx_ck_read (ck, mt->value[k], e.length, ck->meta.file_off + e.offset,
                      vhdx_items[k].name);
    if (r > 0) {
        mt->index[k] = -1;
    }
    return r < 0 ? r : 0;
}

static void
vhdx_ck_params (struct vhdx_ck *ck, const struct vhdx_mt *mt)
{
    const uint8_t *fp = mt->value[VHDX_ITEM_FILE_PARAMS];
    bool ok = true;

    ck->block_size = get_le32 (fp + VHDX_FP_OFF_BLOCK_SIZE);
    ck->fp_flags = get_le32 (fp + VHDX_FP_OFF_FLAGS);
    ck->vsize = get_le64 (mt->value[VHDX_ITEM_VDISK_SIZE]);
    ck->lss = get_le32 (mt->value[VHDX_ITEM_LSS]);
    ck->pss = get_le32 (mt->value[VHDX_ITEM_PSS]);
    ck->differencing = (ck->fp_flags & VHDX_FP_HAS_PARENT) != 0;
    if (!IS_POW2 (ck->block_size) || ck->block_size < VHDX_MIN_BLOCK ||
        ck->block_size > VHDX_MAX_BLOCK) {
        fmt_problem (ck->probs, "block size %u is not a power of two between "
                     "1 MiB and 256 MiB", ck->block_size);
        ok = false;
    }
    if (ck->fp_flags & ~(uint32_t) (VHDX_FP_LEAVE_ALLOCATED |
                                    VHDX_FP_HAS_PARENT)) {
        fmt_problem (ck->warns, "File Parameters reserved bits are set "
                     "(0x%08x)", ck->fp_flags);
    }
    if (ck->lss != 512 && ck->lss != 4096) {
        fmt_problem (ck->probs, "logical sector size %u is not 512 or 4096",
                     ck->lss);
        ok = false;
    } else if (ck->lss == 4096) {
        fmt_problem (ck->warns, "logical sector size is 4096: valid, but "
                     "qemu cannot read such files");
    }
    if (ck->pss != 512 && ck->pss != 4096) {
        fmt_problem (ck->probs, "physical sector size %u is not 512 or 4096",
                     ck->pss);
    }
    if (ck->vsize == 0) {
        fmt_problem (ck->probs, "virtual disk size is 0");
        ok = false;
    } else if (ck->vsize > VHDX_MAX_VSIZE) {
        fmt_problem (ck->probs, "virtual disk size %llu is larger than the "
                     "VHDX limit of 64 TiB", ULL (ck->vsize));
        ok = false;
    } else if (ok && ck->vsize % ck->lss) {
        fmt_problem (ck->probs, "virtual disk size %llu is not a multiple of "
                     "the %u-byte logical sector", ULL (ck->vsize), ck->lss);
        ok = false;
    }
    ck->meta_ok = ok;
}

static void
vhdx_ck_items_done (struct vhdx_ck *ck, const struct vhdx_mt *mt)
{
    bool all = true;

    for (int k = 0; k < VHDX_ITEM_PARENT; k++) {
        if (mt->index[k] < 0) {
            fmt_problem (ck->probs, "metadata item %s is missing or unusable",
                         vhdx_items[k].name);
            all = false;
        }
    }
    if (!all) {
        return;
    }
    vhdx_ck_params (ck, mt);
    if (ck->differencing) {
        fmt_problem_err (ck->probs, ENOTSUP, "differencing VHDX (HasParent "
                         "is set) is unsupported: merge it into its parent "
                         "first");
        if (mt->index[VHDX_ITEM_PARENT] < 0) {
            fmt_problem (ck->probs, "differencing VHDX has no Parent Locator "
                         "item");
        }
    }
    ck->info->virtual_size = ck->vsize;
    ck->info->block_size = ck->block_size;
    ck->info->has_parent = ck->differencing;
    ck->info->has_disk_id = true;
    memcpy (ck->info->disk_id, mt->value[VHDX_ITEM_VDISK_ID], 16);
    snprintf (ck->info->subformat, sizeof ck->info->subformat, "%s",
              ck->differencing ? "differencing"
              : (ck->fp_flags & VHDX_FP_LEAVE_ALLOCATED) ? "fixed"
                                                         : "dynamic");
}

static int
vhdx_ck_meta_table (struct vhdx_ck *ck, struct vhdx_mt *mt)
{
    struct vhdx_mt_header h;
    int r;

    r = vhdx_ck_read (ck, mt->table, VHDX_META_TABLE_SIZE, ck->meta.file_off,
                      "metadata table");
    if (r != 0) {
        return r;
    }
    if (memcmp (mt->table + VHDX_MT_OFF_SIG, "metadata", 8) != 0) {
        fmt_problem (ck->probs, "metadata table signature is not "
                     "'metadata'");
        return 1;
    }
    (void) vhdx_mt_header_decode (mt->table, VHDX_META_TABLE_SIZE, &h);
    if (h.count > VHDX_MAX_ENTRIES) {
        fmt_problem (ck->probs, "metadata table has %u entries, more than %u",
                     h.count, VHDX_MAX_ENTRIES);
        return 1;
    }
    if (h.reserved != 0 || !h.reserved2_zero) {
        fmt_problem (ck->warns, "metadata table reserved fields are not "
                     "zero");
    }
    mt->count = h.count;
    return 0;
}

int
vhdx_ck_metadata (struct vhdx_ck *ck)
{
    struct vhdx_mt mt = { .table = NULL };
    int r;

    if (!ck->have_meta) {
        return 0;
    }
    for (int k = 0; k < VHDX_NITEMS; k++) {
        mt.index[k] = -1;
    }
    mt.table = malloc (VHDX_META_TABLE_SIZE);
    if (mt.table == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    r = vhdx_ck_meta_table (ck, &mt);
    for (uint16_t i = 0; r == 0 && i < mt.count; i++) {
        r = vhdx_ck_item (ck, &mt, i);
    }
    if (r == 0) {
        vhdx_ck_item_overlaps (ck, &mt);
        vhdx_ck_items_done (ck, &mt);
    }
    free (mt.table);
    return r < 0 ? r : 0;
}
