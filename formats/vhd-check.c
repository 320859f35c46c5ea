/* VHD strict validator, vhd_read_map() and vhd_validate() (Microsoft's
 * VHD specification v1.0; docs/formats/vhd.md).
 *
 * Every problem is reported, not just the first.  Problems make a file
 * unreadable for vhd_read_map(); warnings are conditions the other
 * readers tolerate:
 *   - the footer copy at the start of a dynamic disk damaged or different
 *     from the footer at the end (or the other way round: the copy is
 *     there for exactly that);
 *   - the reserved feature bit clear, a fixed disk's data offset other
 *     than all ones, nonzero reserved bytes, the saved-state flag;
 *   - a geometry whose capacity differs from the current size where qemu
 *     would use the geometry (we, Hyper-V and libvhdi use the size);
 *   - a fixed disk larger than 2040 GiB (readable, but qemu and Hyper-V
 *     refuse it).
 * Differencing disks are refused as unsupported.
 *
 * Dynamic disks: every BAT entry of the disk is checked (block after the
 * footer copy, the dynamic header and the BAT, wholly before the footer
 * at the end, no two blocks overlapping), and the map follows each
 * block's sector bitmap: set bits are data, clear bits read as zeros.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/endian.h"
#include "engine/base/error.h"
#include "engine/base/overflow.h"
#include "formats/vhd.h"

#define ULL(x) ((unsigned long long) (x))
#define VHD_BAT_READ ((size_t) 1 << 18)         /* entries per read */
/* The most blocks we check (2040 GiB at 512 KiB blocks); the overlap
 * check keeps 8 bytes per allocated block. */
#define VHD_MAX_BLOCKS (UINT64_C (1) << 22)

struct vhd_ck {
    const struct fmt_io *io;
    struct fmt_problems *probs;
    struct fmt_problems *warns;
    struct fmt_source_info *info;
    struct fmt_extent_list *map;        /* NULL: validate only */
    uint64_t fsize;
    uint64_t data_end;                  /* fsize - 512: the end footer */
    struct vhd_footer f;
    bool have_footer;
    struct vhd_dyn d;
    bool have_dyn;
    uint64_t nblocks;
    uint32_t bitmap_bytes;
};

static bool
vhd_building (const struct vhd_ck *ck)
{
    return ck->map && ck->probs->n == 0 && ck->probs->dropped == 0;
}

/* ------------------------------------------------------------- footer */

static bool
vhd_ck_footer_ok (const uint8_t *buf, const char *where, char *why,
                  size_t whylen)
{
    uint32_t stored, calc;

    if (memcmp (buf, "conectix", 8) != 0) {
        snprintf (why, whylen, "footer %s: cookie is not 'conectix'", where);
        return false;
    }
    stored = get_be32 (buf + VHD_F_OFF_CHECKSUM);
    calc = vhd_checksum (buf, VHD_FOOTER_SIZE, VHD_F_OFF_CHECKSUM);
    if (stored != calc) {
        snprintf (why, whylen, "footer %s: checksum mismatch (stored "
                  "0x%08x, computed 0x%08x)", where, stored, calc);
        return false;
    }
    return true;
}

/* The footer at the end is the one that counts; a dynamic disk also
 * carries a copy at offset 0. */
static int
vhd_ck_pick_footer (struct vhd_ck *ck)
{
    uint8_t tail[VHD_FOOTER_SIZE], head[VHD_FOOTER_SIZE];
    char why_t[160], why_h[160];
    bool ok_t, ok_h, head_is_copy;
    int r;

    if (ck->fsize < VHD_FOOTER_SIZE) {
        fmt_problem (ck->probs, "file is %llu bytes, shorter than the "
                     "512-byte VHD footer (truncated?)", ULL (ck->fsize));
        return 0;
    }
    ck->data_end = ck->fsize - VHD_FOOTER_SIZE;
    if ((r = fmt_io_pread (ck->io, 0, tail, sizeof tail, ck->data_end)) < 0 ||
        (r = fmt_io_pread (ck->io, 0, head, sizeof head, 0)) < 0) {
        return r;
    }
    ok_t = vhd_ck_footer_ok (tail, "at the end of the file", why_t,
                             sizeof why_t);
    ok_h = vhd_ck_footer_ok (head, "copy at offset 0", why_h, sizeof why_h);
    head_is_copy = ok_h && ck->fsize >= 2 * VHD_FOOTER_SIZE &&
        get_be32 (head + VHD_F_OFF_DISK_TYPE) != VHD_TYPE_FIXED;
    if (ok_t) {
        (void) vhd_footer_decode (tail, sizeof tail, &ck->f);
        if (ck->f.disk_type != VHD_TYPE_FIXED && !ok_h) {
            fmt_problem (ck->warns, "%s (the footer at the end is used)",
                         why_h);
        } else if (ck->f.disk_type != VHD_TYPE_FIXED &&
                   memcmp (head, tail, sizeof tail) != 0) {
            fmt_problem (ck->warns, "the footer copy at offset 0 differs "
                         "from the footer at the end (the one at the end "
                         "is used)");
        }
    } else if (head_is_copy) {
        fmt_problem (ck->warns, "%s (the copy at offset 0 is used)", why_t);
        (void) vhd_footer_decode (head, sizeof head, &ck->f);
    } else {
        fmt_problem (ck->probs, "no valid VHD footer: %s (not a VHD file, "
                     "or truncated?)", why_t);
        return 0;
    }
    ck->have_footer = true;
    return 0;
}

static bool
vhd_uses_current_size (const char app[4])
{
    static const char *const apps[] = { "win ", "qem2", "d2v ", "CTXS" };

    for (size_t i = 0; i < sizeof apps / sizeof apps[0]; i++) {
        if (memcmp (app, apps[i], 4) == 0) {
            return true;
        }
    }
    return memcmp (app, "tap\0", 4) == 0;
}

static void
vhd_ck_geometry (struct vhd_ck *ck)
{
    const struct vhd_footer *f = &ck->f;
    uint64_t chs = (uint64_t) f->cyls * f->heads * f->spt * 512;

    if (f->cyls == 0 || f->heads == 0 || f->heads > 16 || f->spt == 0) {
        fmt_problem (ck->probs, "disk geometry %u/%u/%u (cylinders/heads/"
                     "sectors) is not valid", f->cyls, f->heads, f->spt);
        return;
    }
    if (chs == VHD_CHS_MAX_SECTORS * 512) {
        return;                 /* "use the current size" (qemu, us) */
    }
    if (chs > f->cur_size) {
        fmt_problem (ck->probs, "disk geometry %u/%u/%u covers %llu bytes, "
                     "more than the current size %llu", f->cyls, f->heads,
                     f->spt, ULL (chs), ULL (f->cur_size));
        return;
    }
    if (chs != f->cur_size && !vhd_uses_current_size (f->creator_app)) {
        fmt_problem (ck->warns, "disk geometry %u/%u/%u covers %llu bytes, "
                     "less than the current size %llu: qemu reads only the "
                     "geometry's size from a file of this creator ('%.4s'); "
                     "vmshift, Hyper-V and libvhdi read the current size",
                     f->cyls, f->heads, f->spt, ULL (chs), ULL (f->cur_size),
                     f->creator_app);
    }
}

static void
vhd_ck_footer_fields (struct vhd_ck *ck)
{
    const struct vhd_footer *f = &ck->f;

    if (f->version != VHD_VERSION) {
        fmt_problem (ck->probs, "footer version is 0x%08x, not 0x%08x "
                     "(unsupported)", f->version, VHD_VERSION);
    }
    if (f->disk_type == VHD_TYPE_DIFFERENCING) {
        fmt_problem (ck->probs, "differencing VHD (disk type 4) is "
                     "unsupported: merge it into its parent first");
    } else if (f->disk_type != VHD_TYPE_FIXED &&
               f->disk_type != VHD_TYPE_DYNAMIC) {
        fmt_problem (ck->probs, "disk type %u is not fixed (2) or dynamic "
                     "(3)", f->disk_type);
    }
    if (!(f->features & VHD_FEATURE_RESERVED)) {
        fmt_problem (ck->warns, "footer features 0x%08x lack the reserved "
                     "bit 0x2 the spec says is always set", f->features);
    }
    if (f->cur_size == 0 || f->cur_size % 512) {
        fmt_problem (ck->probs, "current size %llu is not a nonzero "
                     "multiple of 512 bytes", ULL (f->cur_size));
    } else if (f->cur_size > VHD_MAX_SIZE) {
        fmt_problem (f->disk_type == VHD_TYPE_FIXED ? ck->warns : ck->probs,
                     "current size %llu is larger than the VHD limit of "
                     "2040 GiB (qemu and Hyper-V refuse it)",
                     ULL (f->cur_size));
    } else {
        vhd_ck_geometry (ck);
    }
    if (f->saved_state) {
        fmt_problem (ck->warns, "the saved-state flag is set (the disk "
                     "belongs to a saved virtual machine)");
    }
    if (!f->reserved_zero) {
        fmt_problem (ck->warns, "footer reserved bytes are not zero");
    }
    if (f->disk_type == VHD_TYPE_FIXED &&
        f->data_offset != VHD_FIXED_DATA_OFFSET) {
        fmt_problem (ck->warns, "fixed disk's data offset is 0x%llx, not "
                     "all ones (ignored)", ULL (f->data_offset));
    }
}

/* -------------------------------------------------------------- fixed */

static int
vhd_ck_fixed (struct vhd_ck *ck)
{
    uint64_t size = ck->f.cur_size;

    if (ck->data_end < size) {
        fmt_problem (ck->probs, "file holds %llu bytes of data before the "
                     "footer; the footer says %llu (truncated?)",
                     ULL (ck->data_end), ULL (size));
        return 0;
    }
    if (ck->data_end > size) {
        fmt_problem (ck->probs, "file holds %llu bytes of data before the "
                     "footer; the footer says %llu (the footer must be the "
                     "last 512 bytes of a fixed disk)", ULL (ck->data_end),
                     ULL (size));
        return 0;
    }
    if (vhd_building (ck)) {
        ck->map->size = size;
        return fmt_io_add_data (ck->io, 0, 0, size, 0, ck->map);
    }
    return 0;
}

/* ------------------------------------------------------------ dynamic */

static int
vhd_ck_dyn_header (struct vhd_ck *ck)
{
    uint8_t buf[VHD_DYN_SIZE];
    uint64_t off = ck->f.data_offset, end;
    uint32_t calc;
    int r;

    if (off < VHD_FOOTER_SIZE || ADD_OVERFLOW (off, VHD_DYN_SIZE, &end) ||
        end > ck->data_end) {
        fmt_problem (ck->probs, "dynamic header offset %llu is not between "
                     "the footer copy and the footer at the end (file %llu "
                     "bytes; truncated?)", ULL (off), ULL (ck->fsize));
        return 0;
    }
    if ((r = fmt_io_pread (ck->io, 0, buf, sizeof buf, off)) < 0) {
        return r;
    }
    if (vhd_dyn_decode (buf, sizeof buf, &ck->d) < 0) {
        clear_error ();
        fmt_problem (ck->probs, "dynamic header at %llu: cookie is not "
                     "'cxsparse'", ULL (off));
        return 0;
    }
    calc = vhd_checksum (buf, sizeof buf, VHD_D_OFF_CHECKSUM);
    if (ck->d.checksum != calc) {
        fmt_problem (ck->probs, "dynamic header at %llu: checksum mismatch "
                     "(stored 0x%08x, computed 0x%08x)", ULL (off),
                     ck->d.checksum, calc);
        return 0;
    }
    ck->have_dyn = true;
    return 0;
}

static void
vhd_ck_dyn_fields (struct vhd_ck *ck)
{
    const struct vhd_dyn *d = &ck->d;
    uint64_t bat_end, need;

    if (d->version != VHD_VERSION) {
        fmt_problem (ck->probs, "dynamic header version is 0x%08x, not "
                     "0x%08x (unsupported)", d->version, VHD_VERSION);
    }
    if (!IS_POW2 (d->block_size) || d->block_size < VHD_MIN_BLOCK ||
        d->block_size > VHD_MAX_BLOCK) {
        fmt_problem (ck->probs, "block size %u is not a power of two "
                     "between 512 bytes and 256 MiB", d->block_size);
        ck->have_dyn = false;
        return;
    }
    if (d->data_offset != UINT64_MAX) {
        fmt_problem (ck->warns, "dynamic header data offset is 0x%llx, not "
                     "all ones (ignored)", ULL (d->data_offset));
    }
    if (!d->parent_zero) {
        fmt_problem (ck->warns, "dynamic header of a non-differencing disk "
                     "has parent fields set (ignored)");
    }
    if (!d->reserved_zero) {
        fmt_problem (ck->warns, "dynamic header reserved bytes are not "
                     "zero");
    }
    ck->bitmap_bytes = vhd_bitmap_bytes (d->block_size);
    ck->nblocks = DIV_ROUND_UP (ck->f.cur_size, d->block_size);
    if (d->max_entries < ck->nblocks) {
        fmt_problem (ck->probs, "BAT has %u entries; a disk of %llu bytes "
                     "in %u-byte blocks needs %llu", d->max_entries,
                     ULL (ck->f.cur_size), d->block_size,
                     ULL (ck->nblocks));
        ck->have_dyn = false;
        return;
    }
    if (ck->nblocks > VHD_MAX_BLOCKS) {
        fmt_problem (ck->probs, "disk has %llu blocks, more than vmshift "
                     "checks (%llu; unsupported)", ULL (ck->nblocks),
                     ULL (VHD_MAX_BLOCKS));
        ck->have_dyn = false;
        return;
    }
    need = (uint64_t) d->max_entries * 4;
    if (ADD_OVERFLOW (d->table_offset, need, &bat_end) ||
        bat_end > ck->data_end) {
        fmt_problem (ck->probs, "BAT (%llu bytes at %llu) extends past the "
                     "footer at the end of the file (%llu bytes; "
                     "truncated?)", ULL (need), ULL (d->table_offset),
                     ULL (ck->fsize));
        ck->have_dyn = false;
    } else if (d->table_offset < VHD_FOOTER_SIZE) {
        fmt_problem (ck->probs, "BAT offset %llu lies inside the footer copy",
                     ULL (d->table_offset));
        ck->have_dyn = false;
    } else if (d->table_offset < ck->f.data_offset + VHD_DYN_SIZE &&
               ck->f.data_offset < bat_end) {
        fmt_problem (ck->probs, "BAT (%llu bytes at %llu) overlaps the "
                     "dynamic header", ULL (need), ULL (d->table_offset));
        ck->have_dyn = false;
    }
}

struct vhd_scan {
    struct vhd_ck *ck;
    uint64_t *used;                     /* sector << 32 | block */
    size_t nused;
    uint8_t *bitmap;
};

static bool
vhd_bit (const uint8_t *bm, uint64_t i)
{
    return (bm[i / 8] >> (7 - i % 8)) & 1;      /* sector 0 = bit 7 */
}

/* Map one allocated block: set bits of its sector bitmap are data. */
static int
vhd_map_block (struct vhd_scan *s, uint64_t block, uint64_t off)
{
    struct vhd_ck *ck = s->ck;
    uint64_t guest = block * ck->d.block_size;
    uint64_t gbytes = ck->f.cur_size - guest < ck->d.block_size
                      ? ck->f.cur_size - guest : ck->d.block_size;
    uint64_t nsec = gbytes / 512, i = 0;
    uint64_t data = off + ck->bitmap_bytes;
    int r;

    r = fmt_io_pread (ck->io, 0, s->bitmap, ck->bitmap_bytes, off);
    while (r == 0 && i < nsec) {
        bool set = vhd_bit (s->bitmap, i);
        uint64_t j = i + 1;

        while (j < nsec && vhd_bit (s->bitmap, j) == set) {
            j++;
        }
        r = set ? fmt_io_add_data (ck->io, 0, data + i * 512, (j - i) * 512,
                                   guest + i * 512, ck->map)
                : fmt_extents_add_zero (ck->map, guest + i * 512,
                                        (j - i) * 512);
        i = j;
    }
    return r;
}

static int
vhd_bat_entry (struct vhd_scan *s, uint64_t block, uint32_t e)
{
    struct vhd_ck *ck = s->ck;
    uint64_t off = (uint64_t) e * 512;
    uint64_t len = (uint64_t) ck->bitmap_bytes + ck->d.block_size;
    uint64_t bat_end = ck->d.table_offset + (uint64_t) ck->d.max_entries * 4;
    const char *clash = NULL;

    if (e == VHD_BAT_UNUSED) {
        if (vhd_building (ck)) {
            uint64_t g = block * ck->d.block_size;
            uint64_t n = ck->f.cur_size - g < ck->d.block_size
                         ? ck->f.cur_size - g : ck->d.block_size;

            return fmt_extents_add_zero (ck->map, g, n);
        }
        return 0;
    }
    if (off < VHD_FOOTER_SIZE) {
        clash = "the footer copy";
    } else if (off < ck->f.data_offset + VHD_DYN_SIZE &&
               ck->f.data_offset < off + len) {
        clash = "the dynamic header";
    } else if (off < bat_end && ck->d.table_offset < off + len) {
        clash = "the BAT";
    }
    if (clash) {
        fmt_problem (ck->probs, "BAT entry %llu (block at offset %llu) "
                     "overlaps %s", ULL (block), ULL (off), clash);
        return 0;
    }
    if (off + len > ck->data_end) {
        fmt_problem (ck->probs, "BAT entry %llu (block of %llu bytes at "
                     "offset %llu) extends past the footer at the end of the "
                     "file (%llu bytes; truncated?)", ULL (block), ULL (len),
                     ULL (off), ULL (ck->fsize));
        return 0;
    }
    s->used[s->nused++] = (uint64_t) e << 32 | block;
    return vhd_building (ck) ? vhd_map_block (s, block, off) : 0;
}

static int
vhd_cmp_u64 (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

    return x < y ? -1 : x > y;
}

static void
vhd_ck_overlaps (struct vhd_scan *s)
{
    struct vhd_ck *ck = s->ck;
    uint64_t len = (uint64_t) ck->bitmap_bytes + ck->d.block_size;

    qsort (s->used, s->nused, sizeof *s->used, vhd_cmp_u64);
    for (size_t i = 1; i < s->nused; i++) {
        uint64_t a = (s->used[i - 1] >> 32) * 512;
        uint64_t b = (s->used[i] >> 32) * 512;

        if (b - a < len) {
            fmt_problem (ck->probs, "blocks %llu (at %llu) and %llu (at %llu) "
                         "overlap", ULL (s->used[i - 1] & 0xffffffffu),
                         ULL (a), ULL (s->used[i] & 0xffffffffu), ULL (b));
        }
    }
}

static int
vhd_ck_bat (struct vhd_ck *ck)
{
    struct vhd_scan s = { .ck = ck };
    size_t cap = ck->nblocks < VHD_BAT_READ ? (size_t) ck->nblocks + 1
                                            : VHD_BAT_READ;
    uint8_t *buf = malloc (cap * 4);
    int r = 0;

    s.used = malloc ((size_t) (ck->nblocks + 1) * sizeof *s.used);
    s.bitmap = malloc (ck->bitmap_bytes);
    if (buf == NULL || s.used == NULL || s.bitmap == NULL) {
        r = set_error (ENOMEM, "out of memory");
        goto out;
    }
    if (ck->map) {
        ck->map->size = ck->f.cur_size;
    }
    for (uint64_t i = 0; i < ck->nblocks && r == 0;) {
        size_t n = ck->nblocks - i < cap ? (size_t) (ck->nblocks - i) : cap;

        r = fmt_io_pread (ck->io, 0, buf, n * 4, ck->d.table_offset + i * 4);
        for (size_t j = 0; j < n && r == 0; j++, i++) {
            r = vhd_bat_entry (&s, i, get_be32 (buf + j * 4));
        }
    }
    if (r == 0) {
        vhd_ck_overlaps (&s);
    }
out:
    free (buf);
    free (s.used);
    free (s.bitmap);
    return r;
}

static int
vhd_ck_dynamic (struct vhd_ck *ck)
{
    int r = vhd_ck_dyn_header (ck);

    if (r < 0 || !ck->have_dyn) {
        return r;
    }
    vhd_ck_dyn_fields (ck);
    if (!ck->have_dyn) {
        return 0;
    }
    ck->info->block_size = ck->d.block_size;
    return vhd_ck_bat (ck);
}

/* ---------------------------------------------------------------- top */

static int
vhd_check (const struct fmt_io *io, struct fmt_problems *probs,
           struct fmt_problems *warns, struct fmt_source_info *info,
           struct fmt_extent_list *map)
{
    struct vhd_ck ck = {
        .io = io, .probs = probs, .warns = warns, .info = info, .map = map,
    };
    int64_t sz = io->size (io->opaque, 0);
    int r;

    if (sz < 0) {
        return (int) sz;
    }
    ck.fsize = (uint64_t) sz;
    info->type = FMT_VHD;
    info->nfiles = 1;
    r = vhd_ck_pick_footer (&ck);
    if (r < 0 || !ck.have_footer) {
        return r < 0 ? r : 0;
    }
    vhd_ck_footer_fields (&ck);
    info->virtual_size = ck.f.cur_size;
    info->has_disk_id = true;
    memcpy (info->disk_id, ck.f.uuid, 16);
    snprintf (info->subformat, sizeof info->subformat, "%s",
              ck.f.disk_type == VHD_TYPE_FIXED ? "fixed"
              : ck.f.disk_type == VHD_TYPE_DYNAMIC ? "dynamic"
              : "other");
    if (ck.probs->n > 0) {
        return 0;               /* the footer itself is not usable */
    }
    if (ck.f.disk_type == VHD_TYPE_FIXED) {
        return vhd_ck_fixed (&ck);
    }
    return vhd_ck_dynamic (&ck);
}

int
vhd_read_map (const struct fmt_io *io, struct fmt_extent_list *out,
              struct fmt_source_info *info)
{
    struct fmt_problems probs, warns;
    struct fmt_extent_list m;
    struct fmt_source_info inf = *info;
    int r;

    fmt_problems_init (&probs);
    fmt_problems_init (&warns);
    fmt_extents_init (&m);
    r = vhd_check (io, &probs, &warns, &inf, &m);
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
vhd_validate (const struct fmt_io *io, struct fmt_problems *probs,
              struct fmt_source_info *info)
{
    struct fmt_problems warns;
    int r;

    fmt_problems_init (&warns);
    r = vhd_check (io, probs, &warns, info, NULL);
    for (size_t i = 0; i < warns.n; i++) {
        fmt_problem (probs, "warning: %s", warns.msg[i]);
    }
    fmt_problems_release (&warns);
    return r;
}
