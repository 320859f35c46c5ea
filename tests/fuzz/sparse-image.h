/* The frame shared by the libFuzzer harnesses of the disk image formats
 * with a validator, a reader and a planner (fuzz-vhd.c, fuzz-vdi.c,
 * fuzz-vhdx.c): each harness names its format in a struct fz_format and
 * hands every input to fz_image_one.
 *
 * An image is mostly zeros (and a fixed one is the size of its disk), so
 * the input describes a sparse file instead of being one:
 *
 *   u64 LE  file size (taken modulo 2^40)
 *   then records: u32 LE offset in 512-byte units, u16 LE length, bytes
 *
 * Bytes no record covers read as zero; later records win.
 *
 * Every input runs the format's validate and read_map.  When the map
 * reads and the disk is small, it is planned again in the same format,
 * the layout is executed into memory, and the result must validate
 * without problems and read back the same guest bytes (followed by zeros
 * up to the rounded size, for a format that rounds it).
 */
#ifndef VMSHIFT_FUZZ_SPARSE_IMAGE_H
#define VMSHIFT_FUZZ_SPARSE_IMAGE_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/endian.h"
#include "engine/base/error.h"
#include "formats/formats.h"

#define FZ_MAX_FILE (UINT64_C (1) << 40)

struct fz_format {
    enum fmt_type type;         /* what the round trip plans */
    const char *name;           /* the input's name in messages */
    const char *rt_name;        /* the round trip's target name */
    uint64_t max_rt_disk;       /* round trip: disks up to this size */
    uint32_t block_size;        /* fmt_plan_opts.block_size (0: default) */
    int64_t now;                /* fmt_plan_opts.now */
    /* 0: the round trip keeps the size; else it may round it up by less
     * than this, the rest reading as zeros */
    uint64_t size_slack;
    int (*validate) (const struct fmt_io *io, struct fmt_problems *probs,
                     struct fmt_source_info *info);
    int (*read_map) (const struct fmt_io *io, struct fmt_extent_list *out,
                     struct fmt_source_info *info);
};

struct fz_rec {
    uint64_t off;
    const uint8_t *p;
    size_t len;
};

struct fz_file {
    const struct fz_format *fmt;
    uint64_t size;
    const uint8_t *flat;                /* whole file, or NULL */
    struct fz_rec *rec;
    size_t nrec;
};

static int
fz_pread (void *opaque, uint32_t file, void *buf, size_t n, uint64_t off)
{
    const struct fz_file *f = opaque;
    uint8_t *out = buf;

    if (file != 0) {
        return set_error (EBADF, "no file %u", file);
    }
    if (off > f->size || n > f->size - off) {
        return set_error (EINVAL, "'fuzz' is shorter than needed");
    }
    if (f->flat) {
        memcpy (out, f->flat + off, n);
        return 0;
    }
    memset (out, 0, n);
    for (size_t i = 0; i < f->nrec; i++) {
        const struct fz_rec *r = &f->rec[i];
        uint64_t from = r->off > off ? r->off : off;
        uint64_t to = r->off + r->len < off + n ? r->off + r->len : off + n;

        if (from < to) {
            memcpy (out + (from - off), r->p + (from - r->off), to - from);
        }
    }
    return 0;
}

static int64_t
fz_size (void *opaque, uint32_t file)
{
    (void) file;
    return (int64_t) ((const struct fz_file *) opaque)->size;
}

static int
fz_open_rel (void *opaque, uint32_t base, const char *name)
{
    (void) opaque;
    (void) base;
    return set_error (ENOENT, "'%s': no such file", name);
}

static const char *
fz_name (void *opaque, uint32_t file)
{
    (void) file;
    return ((const struct fz_file *) opaque)->fmt->name;
}

static void
fz_io (struct fmt_io *io, struct fz_file *f)
{
    memset (io, 0, sizeof *io);
    io->opaque = f;
    io->pread = fz_pread;
    io->size = fz_size;
    io->open_rel = fz_open_rel;
    io->name = fz_name;
}

static int
fz_parse (const uint8_t *data, size_t size, struct fz_file *f)
{
    size_t pos = 8, cap = size / 6 + 1;

    if (size < 8) {
        return -1;
    }
    f->size = get_le64 (data) % FZ_MAX_FILE;
    f->rec = calloc (cap, sizeof *f->rec);
    if (f->rec == NULL) {
        return -1;
    }
    while (pos + 6 <= size) {
        struct fz_rec r;

        r.off = (uint64_t) get_le32 (data + pos) * 512;
        r.len = get_le16 (data + pos + 4);
        pos += 6;
        if (r.len > size - pos) {
            r.len = size - pos;
        }
        r.p = data + pos;
        pos += r.len;
        f->rec[f->nrec++] = r;
    }
    return 0;
}

/* Guest bytes [0, size) of a map over io into buf. */
static int
fz_read_guest (const struct fmt_io *io, const struct fmt_extent_list *m,
               uint8_t *buf)
{
    for (size_t i = 0; i < m->v.len; i++) {
        const struct fmt_extent *e = &m->v.ptr[i];

        if (e->kind == FMT_EXT_ZERO) {
            memset (buf + e->guest_off, 0, e->len);
        } else if (e->kind != FMT_EXT_DATA ||
                   fmt_io_pread (io, e->file, buf + e->guest_off, e->len,
                                 e->file_off) < 0) {
            return -1;
        }
    }
    return 0;
}

/* Execute a layout into a flat buffer (no I/O; data copied). */
static uint8_t *
fz_exec (const struct fmt_layout *lay, const struct fmt_io *src)
{
    const struct fmt_output *o = &lay->out[0];
    uint8_t *img = calloc (1, o->file_size);

    if (img == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < o->place.len; i++) {
        const struct fmt_placement *p = &o->place.ptr[i];

        if (fmt_io_pread (src, p->src_file, img + p->dst_off, p->len,
                          p->src_off) < 0) {
            abort ();           /* read_map promised these bytes */
        }
    }
    for (size_t i = 0; i < o->blobs.len; i++) {
        const struct fmt_blob *b = &o->blobs.ptr[i];

        if (fmt_blob_read (b, 0, img + b->off, b->len) < 0) {
            abort ();
        }
    }
    return img;
}

/* m2 (the round trip's map) has m's size, or rounds it up within the
 * format's slack. */
static int
fz_size_ok (const struct fz_format *fmt, const struct fmt_extent_list *m,
            const struct fmt_extent_list *m2)
{
    if (fmt->size_slack == 0) {
        return m2->size == m->size;
    }
    return m2->size >= m->size && m2->size - m->size < fmt->size_slack;
}

static void
fz_round_trip (const struct fz_format *fmt, const struct fmt_io *io,
               const struct fmt_extent_list *m,
               const struct fmt_source_info *info)
{
    struct fmt_plan_opts o = {
        .block_size = fmt->block_size, .clone_align = 4096,
        .target_name = fmt->rt_name,
        .vhdx_fixed = (m->size & 512) != 0, .now = fmt->now,
    };
    struct fmt_layout lay;
    struct fmt_problems probs;
    struct fmt_source_info info2;
    struct fmt_extent_list m2;
    struct fz_file out = { .fmt = fmt };
    struct fmt_io io2;
    uint8_t *img, *a, *b;

    fmt_layout_init (&lay);
    if (fmt_plan (fmt->type, info, m, &o, &lay) < 0) {
        abort ();               /* a map read_map accepted must plan */
    }
    img = fz_exec (&lay, io);
    if (img == NULL) {
        fmt_layout_release (&lay);
        return;
    }
    out.size = lay.out[0].file_size;
    out.flat = img;
    fz_io (&io2, &out);
    fmt_problems_init (&probs);
    memset (&info2, 0, sizeof info2);
    if (fmt->validate (&io2, &probs, &info2) < 0 || probs.n != 0) {
        abort ();               /* our own output must be clean */
    }
    fmt_problems_release (&probs);
    fmt_extents_init (&m2);
    a = calloc (1, m->size + fmt->size_slack);
    b = malloc (m->size + fmt->size_slack);
    if (fmt->read_map (&io2, &m2, &info2) < 0 || !fz_size_ok (fmt, m, &m2) ||
        a == NULL || b == NULL || fz_read_guest (io, m, a) < 0 ||
        fz_read_guest (&io2, &m2, b) < 0 || memcmp (a, b, m2.size) != 0) {
        abort ();               /* the same bytes (then zeros) */
    }
    free (a);
    free (b);
    fmt_extents_release (&m2);
    free (img);
    fmt_layout_release (&lay);
}

static int
fz_image_one (const struct fz_format *fmt, const uint8_t *data, size_t size)
{
    struct fz_file f = { .fmt = fmt };
    struct fmt_io io;
    struct fmt_problems probs;
    struct fmt_source_info info;
    struct fmt_extent_list m;

    if (fz_parse (data, size, &f) < 0) {
        return 0;
    }
    fz_io (&io, &f);
    fmt_problems_init (&probs);
    memset (&info, 0, sizeof info);
    (void) fmt->validate (&io, &probs, &info);
    fmt_problems_release (&probs);
    fmt_extents_init (&m);
    memset (&info, 0, sizeof info);
    if (fmt->read_map (&io, &m, &info) == 0) {
        if (fmt_extents_check (&m) < 0) {
            abort ();
        }
        if (m.size <= fmt->max_rt_disk) {
            fz_round_trip (fmt, &io, &m, &info);
        }
    }
    fmt_extents_release (&m);
    free (f.rec);
    return 0;
}

#endif
