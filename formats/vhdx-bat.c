/* VHDX BAT pass, vhdx_read_map() and vhdx_validate() ([MS-VHDX] v8.0
 * 2.5; docs/formats/vhdx.md).
 *
 * The BAT is streamed 1 MiB at a time (a 64 TiB disk at 1 MiB blocks has
 * a 513 MiB BAT).  Every entry is checked: the state must be allowed for
 * the disk type, present blocks must lie after the header section,
 * inside the file, and must not overlap the log, the metadata region,
 * the BAT or each other.  Overlaps between blocks use a bitmap of the
 * file in 1 MiB units (block offsets are MiB numbers by construction),
 * at most 16 MiB of memory for the 128 TiB we accept as a file size.
 *
 * The map is built in the same pass: FULLY_PRESENT blocks become data
 * (split into data and holes by the io layer), every other state reads
 * as zeros.  NOT_PRESENT, UNDEFINED and UNMAPPED are "undefined" in the
 * spec; qemu and libvhdi return zeros, and so do we.
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
#define VHDX_CK_MAX_FILE (UINT64_C (128) << 40)
#define VHDX_BAT_READ_ENTRIES ((size_t) VHDX_MiB / 8)

struct vhdx_bat_scan {
    struct vhdx_ck *ck;
    struct vhdx_geom g;
    uint8_t *used;                      /* 1 bit per MiB of the file */
    uint64_t nbits;
    uint64_t reserved_bits;             /* entries with bits 3-19 set */
    uint64_t unused_nonzero;            /* nonzero entries past block N-1 */
    uint64_t nstate[8];                 /* payload blocks by state */
};

/* Do [off, off+len) and [roff, roff+rlen) meet?  The region is known to
 * end below 2^63; the block end saturates. */
static bool
vhdx_in (uint64_t off, uint64_t len, uint64_t roff, uint64_t rlen)
{
    uint64_t end;

    if (ADD_OVERFLOW (off, len, &end)) {
        end = UINT64_MAX;
    }
    return off < roff + rlen && roff < end;
}

/* Test and set the bits of mask in byte b. */
static bool
vhdx_byte_mark (uint8_t *map, uint64_t b, uint8_t mask)
{
    bool hit = (map[b] & mask) != 0;

    map[b] |= mask;
    return hit;
}

bool
vhdx_bitmap_mark (uint8_t *map, uint64_t from, uint64_t to)
{
    uint64_t b = from / 8, bend = to / 8;
    bool hit = false;

    if (from >= to) {
        return false;
    }
    if (b == bend) {                    /* inside one byte */
        return vhdx_byte_mark (map, b, (uint8_t) (((1u << (to - from)) - 1)
                                                  << (from % 8)));
    }
    if (from % 8 != 0) {                /* the first byte's top bits */
        hit |= vhdx_byte_mark (map, b++, (uint8_t) (0xffu << (from % 8)));
    }
    /* whole bytes, 8 at a time, then one at a time */
    for (; b + 8 <= bend; b += 8) {
        uint64_t w;

        memcpy (&w, map + b, 8);
        hit |= w != 0;
        memset (map + b, 0xff, 8);
    }
    for (; b < bend; b++) {
        hit |= map[b] != 0;
        map[b] = 0xff;
    }
    if (to % 8 != 0) {                  /* the last byte's low bits */
        hit |= vhdx_byte_mark (map, bend, (uint8_t) ((1u << (to % 8)) - 1));
    }
    return hit;
}

/* Mark MiB units [off, off+len) clipped to the file; true if any was
 * already marked. */
static bool
vhdx_mark (struct vhdx_bat_scan *s, uint64_t off, uint64_t len)
{
    uint64_t from = off / VHDX_MiB;
    uint64_t to = DIV_ROUND_UP (off + len, VHDX_MiB);

    if (to > s->nbits) {
        to = s->nbits;
    }
    return vhdx_bitmap_mark (s->used, from, to);
}

/* Where a present block (or sector bitmap block) may live.  'need' is
 * how many of its bytes must be inside the file (guest bytes of the last
 * block; qemu accepts a file that ends there). */
static void
vhdx_place_block (struct vhdx_bat_scan *s, uint64_t idx, const char *what,
                  uint64_t n, uint64_t off, uint64_t len, uint64_t need)
{
    struct vhdx_ck *ck = s->ck;
    const char *clash = NULL;

    if (off < VHDX_HEADER_SECTION) {
        clash = "the header section";
    } else if (ck->log_ok && ck->hdr.log_length &&
               vhdx_in (off, len, ck->hdr.log_offset, ck->hdr.log_length)) {
        clash = "the log";
    } else if (vhdx_in (off, len, ck->meta.file_off, ck->meta.length)) {
        clash = "the metadata region";
    } else if (vhdx_in (off, len, ck->bat.file_off, ck->bat.length)) {
        clash = "the BAT region";
    }
    if (clash) {
        fmt_problem (ck->probs, "BAT entry %llu (%s %llu at offset %llu) "
                     "overlaps %s", ULL (idx), what, ULL (n), ULL (off),
                     clash);
        return;
    }
    if (off > ck->fsize || need > ck->fsize - off) {
        fmt_problem (ck->probs, "BAT entry %llu (%s %llu at offset %llu) lies "
                     "past the end of the file (%llu bytes; the file would "
                     "have to be extended)", ULL (idx), what, ULL (n),
                     ULL (off), ULL (ck->fsize));
        return;
    }
    if (vhdx_mark (s, off, len)) {
        fmt_problem (ck->probs, "BAT entry %llu (%s %llu at offset %llu) "
                     "overlaps another block or an unknown region",
                     ULL (idx), what, ULL (n), ULL (off));
    }
}

static bool
vhdx_building (const struct vhdx_ck *ck)
{
    return ck->map && ck->probs->n == 0 && ck->probs->dropped == 0;
}

static int
vhdx_bat_payload (struct vhdx_bat_scan *s, uint64_t idx, uint64_t e)
{
    struct vhdx_ck *ck = s->ck;
    uint64_t block = vhdx_index_block (&s->g, idx);
    uint64_t gbytes, guest, off = vhdx_bat_offset (e);
    unsigned st = vhdx_bat_state (e);

    if (block >= s->g.nblocks) {
        /* qemu fills the rest of the last chunk with ZERO entries */
        s->unused_nonzero += off != 0 || (st != VHDX_BAT_NOT_PRESENT &&
                                          st != VHDX_BAT_ZERO);
        return 0;
    }
    gbytes = vhdx_geom_block_bytes (&s->g, block);
    guest = block * s->g.block_size;
    s->nstate[st]++;
    if (st == VHDX_BAT_PARTIALLY_PRESENT && !ck->differencing) {
        fmt_problem (ck->probs, "BAT entry %llu (payload block %llu) is "
                     "PARTIALLY_PRESENT (7), which is only valid in a "
                     "differencing VHDX", ULL (idx), ULL (block));
        return 0;
    }
    switch (st) {
    case VHDX_BAT_PARTIALLY_PRESENT:    /* differencing: located the same */
    case VHDX_BAT_FULLY_PRESENT:
        vhdx_place_block (s, idx, "payload block", block, off,
                          s->g.block_size, gbytes);
        if (vhdx_building (ck)) {
            return fmt_io_add_data (ck->io, 0, off, gbytes, guest, ck->map);
        }
        return 0;
    case VHDX_BAT_NOT_PRESENT:
    case VHDX_BAT_UNDEFINED:
    case VHDX_BAT_ZERO:
    case VHDX_BAT_UNMAPPED:
        if (vhdx_building (ck)) {
            return fmt_extents_add_zero (ck->map, guest, gbytes);
        }
        return 0;
    default:
        fmt_problem (ck->probs, "BAT entry %llu (payload block %llu) has the "
                     "reserved state %u", ULL (idx), ULL (block), st);
        return 0;
    }
}

static void
vhdx_bat_sb (struct vhdx_bat_scan *s, uint64_t idx, uint64_t e)
{
    struct vhdx_ck *ck = s->ck;
    uint64_t chunk = idx / (s->g.chunk_ratio + 1);
    unsigned st = vhdx_bat_state (e);

    if (st == VHDX_BAT_NOT_PRESENT) {
        return;
    }
    if (!ck->differencing) {
        fmt_problem (ck->probs, "BAT entry %llu (sector bitmap of chunk %llu) "
                     "has state %u; only NOT_PRESENT (0) is valid outside "
                     "differencing disks", ULL (idx), ULL (chunk), st);
    } else if (st != VHDX_BAT_FULLY_PRESENT) {
        fmt_problem (ck->probs, "BAT entry %llu (sector bitmap of chunk %llu) "
                     "has the invalid state %u", ULL (idx), ULL (chunk), st);
    } else {
        vhdx_place_block (s, idx, "sector bitmap", chunk,
                          vhdx_bat_offset (e), VHDX_SB_BLOCK, VHDX_SB_BLOCK);
    }
}

/* Flush a run of ZERO / NOT_PRESENT blocks into the map as one extent. */
static int
vhdx_bat_zero_run (struct vhdx_bat_scan *s, uint64_t *first, uint64_t *n)
{
    struct vhdx_ck *ck = s->ck;
    uint64_t start, end;
    int r = 0;

    if (*n && vhdx_building (ck) && *first < s->g.nblocks) {
        start = *first * s->g.block_size;
        end = (*first + *n) * s->g.block_size;
        if (end > s->g.vsize || *first + *n > s->g.nblocks) {
            end = s->g.vsize;
        }
        r = fmt_extents_add_zero (ck->map, start, end - start);
    }
    *n = 0;
    return r;
}

/* A whole chunk whose CR payload entries are all ZERO or all
 * NOT_PRESENT and whose sector bitmap entry is 0: what the entry loop
 * would find for each of them is "a block that reads as zeros", so it is
 * taken in one memcmp (a thin 64 TiB disk has 16 384 such chunks and 2
 * million entries). */
static bool
vhdx_bat_plain_chunk (const uint8_t *p, const uint8_t *zero_chunk,
                      uint64_t cr1)
{
    size_t n = (size_t) cr1 * 8;

    if (memcmp (p, zero_chunk, n) == 0) {
        return true;
    }
    return p[0] == 0 && memcmp (p, p + 1, n - 1) == 0;
}

/* The scan walks the BAT with counters rather than dividing for every
 * entry: a 64 TiB disk has 2 million entries and most of a thin disk's
 * are the plain values 0 (NOT_PRESENT) or 2 (ZERO), which need no check
 * and become one zero extent per run; whole chunks of them are compared
 * at once (vhdx_bat_plain_chunk). */
static int
vhdx_bat_entries (struct vhdx_bat_scan *s, uint64_t count)
{
    struct vhdx_ck *ck = s->ck;
    size_t cap = count < VHDX_BAT_READ_ENTRIES ? (size_t) count + 1
                                               : VHDX_BAT_READ_ENTRIES;
    uint64_t cr1 = s->g.chunk_ratio + 1, pos = 0, block = 0;
    uint8_t *buf = malloc (cap * 8), *zero_chunk = malloc (cr1 * 8);
    uint64_t zfirst = 0, zn = 0;
    int r = 0;

    if (buf == NULL || zero_chunk == NULL) {
        free (buf);
        free (zero_chunk);
        return set_error (ENOMEM, "out of memory");
    }
    for (uint64_t k = 0; k < cr1; k++) {
        put_le64 (zero_chunk + k * 8, k + 1 < cr1 ? VHDX_BAT_ZERO : 0);
    }
    for (uint64_t idx = 0; idx < count && r == 0;) {
        size_t n = count - idx < cap ? (size_t) (count - idx) : cap;

        r = fmt_io_pread (ck->io, 0, buf, n * 8, ck->bat.file_off + idx * 8);
        for (size_t j = 0; j < n && r == 0; j++, idx++) {
            uint64_t e;

            if (pos == 0 && n - j >= cr1 &&
                vhdx_bat_plain_chunk (buf + j * 8, zero_chunk, cr1)) {
                if (block < s->g.nblocks) {
                    /* all 0 bytes, or all ZERO */
                    s->nstate[buf[j * 8]] +=
                        s->g.nblocks - block < cr1 - 1 ? s->g.nblocks - block
                                                       : cr1 - 1;
                }
                if (zn == 0) {
                    zfirst = block;
                }
                zn += cr1 - 1;
                block += cr1 - 1;
                j += cr1 - 1;   /* the loop steps over the bitmap entry */
                idx += cr1 - 1;
                continue;
            }
            e = get_le64 (buf + j * 8);

            if (pos == cr1 - 1) {               /* sector bitmap entry */
                pos = 0;
                s->reserved_bits += (e & VHDX_BAT_RESERVED_MASK) != 0;
                vhdx_bat_sb (s, idx, e);
                continue;
            }
            pos++;
            if (e == VHDX_BAT_NOT_PRESENT || e == VHDX_BAT_ZERO) {
                s->nstate[e] += block < s->g.nblocks;
                if (zn == 0) {
                    zfirst = block;
                }
                zn++;
                block++;
                continue;
            }
            r = vhdx_bat_zero_run (s, &zfirst, &zn);
            if (r == 0) {
                s->reserved_bits += (e & VHDX_BAT_RESERVED_MASK) != 0;
                r = vhdx_bat_payload (s, idx, e);
            }
            block++;
        }
    }
    if (r == 0) {
        r = vhdx_bat_zero_run (s, &zfirst, &zn);
    }
    free (buf);
    free (zero_chunk);
    return r;
}

/* Unknown regions take space too; blocks must not overlap them. */
static void
vhdx_mark_regions (struct vhdx_bat_scan *s)
{
    const struct vhdx_ck *ck = s->ck;

    for (uint32_t i = 0; i < ck->nregions; i++) {
        const struct vhdx_region *e = &ck->regions[i];

        if (!vhdx_guid_eq (e->guid, vhdx_guid_bat) &&
            !vhdx_guid_eq (e->guid, vhdx_guid_metadata) &&
            e->file_off % VHDX_ALIGN == 0 && e->file_off < ck->fsize) {
            (void) vhdx_mark (s, e->file_off, e->length);
        }
    }
}

static int
vhdx_bat_setup (struct vhdx_bat_scan *s, uint64_t *count)
{
    struct vhdx_ck *ck = s->ck;
    uint64_t need, have = ck->bat.length / 8;
    int r;

    r = vhdx_geom_init (&s->g, ck->vsize, ck->block_size, ck->lss);
    if (r < 0) {
        return r;               /* cannot happen: metadata checked */
    }
    need = vhdx_geom_min_entries (&s->g, ck->differencing);
    if (have < need) {
        fmt_problem (ck->probs, "BAT region (%u bytes) holds %llu entries; "
                     "the disk needs %llu", ck->bat.length, ULL (have),
                     ULL (need));
    }
    *count = s->g.entries > need ? s->g.entries : need;
    if (*count > have) {
        *count = have;
    }
    if (ck->fsize > VHDX_CK_MAX_FILE) {
        fmt_problem (ck->probs, "file is %llu bytes, larger than any VHDX "
                     "vmshift checks (128 TiB)", ULL (ck->fsize));
        return 1;
    }
    s->nbits = DIV_ROUND_UP (ck->fsize, VHDX_MiB);
    s->used = calloc (s->nbits / 8 + 1, 1);
    if (s->used == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    vhdx_mark_regions (s);
    if (ck->map) {
        ck->map->size = ck->vsize;
    }
    return 0;
}

int
vhdx_ck_bat (struct vhdx_ck *ck)
{
    struct vhdx_bat_scan s = { .ck = ck };
    uint64_t count = 0;
    int r;

    if (!ck->have_bat || !ck->meta_ok) {
        return 0;
    }
    r = vhdx_bat_setup (&s, &count);
    if (r == 0) {
        r = vhdx_bat_entries (&s, count);
    }
    free (s.used);
    if (r < 0) {
        return r;
    }
    if (s.reserved_bits) {
        fmt_problem (ck->warns, "%llu BAT entries have reserved bits set "
                     "(ignored)", ULL (s.reserved_bits));
    }
    if (s.unused_nonzero) {
        fmt_problem (ck->warns, "%llu BAT entries past the last block "
                     "point at data (ignored)", ULL (s.unused_nonzero));
    }
    ck->info->has_block_states = true;
    ck->info->blocks_present = s.nstate[VHDX_BAT_FULLY_PRESENT] +
                               s.nstate[VHDX_BAT_PARTIALLY_PRESENT];
    ck->info->blocks_zero = s.nstate[VHDX_BAT_ZERO];
    ck->info->blocks_not_present = s.nstate[VHDX_BAT_NOT_PRESENT];
    ck->info->blocks_other = s.nstate[VHDX_BAT_UNDEFINED] +
                             s.nstate[VHDX_BAT_UNMAPPED] + s.nstate[4] +
                             s.nstate[5];
    return 0;
}

/* ---------------------------------------------------------- entry points */

int
vhdx_read_map (const struct fmt_io *io, struct fmt_extent_list *out,
               struct fmt_source_info *info)
{
    struct fmt_problems probs, warns;
    struct fmt_extent_list m;
    struct fmt_source_info inf = *info;
    int r;

    fmt_problems_init (&probs);
    fmt_problems_init (&warns);
    fmt_extents_init (&m);
    r = vhdx_check (io, &probs, &warns, &inf, &m);
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
vhdx_validate (const struct fmt_io *io, struct fmt_problems *probs,
               struct fmt_source_info *info)
{
    struct fmt_problems warns;
    int r;

    fmt_problems_init (&warns);
    r = vhdx_check (io, probs, &warns, info, NULL);
    for (size_t i = 0; i < warns.n; i++) {
        fmt_warning (probs, "%s", warns.item[i].msg);
    }
    fmt_problems_release (&warns);
    return r;
}
