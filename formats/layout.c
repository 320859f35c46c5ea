/* Target layouts: outputs, metadata blobs and data placements. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "engine/base/overflow.h"
#include "formats/formats.h"

void
fmt_layout_init (struct fmt_layout *lay)
{
    memset (lay, 0, sizeof *lay);
}

void
fmt_layout_release (struct fmt_layout *lay)
{
    for (size_t i = 0; i < lay->nout; i++) {
        struct fmt_output *o = &lay->out[i];

        for (size_t j = 0; j < o->blobs.len; j++) {
            free (o->blobs.ptr[j].data);
        }
        fmt_blob_vec_reset (&o->blobs);
        fmt_placement_vec_reset (&o->place);
        fmt_repeat_vec_reset (&o->repeats);
        free (o->name);
    }
    for (size_t i = 0; i < lay->ctxs.len; i++) {
        lay->ctxs.ptr[i].free (lay->ctxs.ptr[i].ctx);
    }
    fmt_ctx_vec_reset (&lay->ctxs);
    memset (lay, 0, sizeof *lay);
}

int
fmt_layout_add_output (struct fmt_layout *lay, const char *name, int role)
{
    struct fmt_output *o;

    if (lay->nout >= FMT_MAX_OUTPUTS) {
        return set_error (EINVAL, "too many output files in a layout");
    }
    o = &lay->out[lay->nout];
    memset (o, 0, sizeof *o);
    o->name = strdup (name ? name : "");
    if (o->name == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    o->role = role;
    return (int) lay->nout++;
}

int
fmt_layout_own (struct fmt_layout *lay, void *ctx, void (*fr) (void *))
{
    struct fmt_ctx_ref ref = { .ctx = ctx, .free = fr };
    int r = fmt_ctx_vec_append (&lay->ctxs, ref);

    if (r < 0) {
        fr (ctx);
    }
    return r;
}

static int
fmt_layout_add_blob (struct fmt_layout *lay, size_t out, struct fmt_blob *b)
{
    int r;

    if (out >= lay->nout) {
        return set_error (EINVAL, "no output %zu in layout", out);
    }
    if (b->len == 0) {
        free (b->data);
        return 0;
    }
    r = fmt_blob_vec_append (&lay->out[out].blobs, *b);
    if (r < 0) {
        free (b->data);
        return r;
    }
    lay->meta_bytes += b->len;
    return 0;
}

int
fmt_layout_add_bytes (struct fmt_layout *lay, size_t out, uint64_t off,
                      const void *data, size_t len, int phase,
                      const char *what)
{
    struct fmt_blob b = {
        .off = off, .len = len, .phase = phase, .what = what,
    };

    if (len) {
        b.data = malloc (len);
        if (b.data == NULL) {
            return set_error (ENOMEM, "out of memory for %zu bytes", len);
        }
        memcpy (b.data, data, len);
    }
    return fmt_layout_add_blob (lay, out, &b);
}

int
fmt_layout_add_gen (struct fmt_layout *lay, size_t out, uint64_t off,
                    uint64_t len, fmt_gen_fn gen, void *ctx, int phase,
                    const char *what)
{
    struct fmt_blob b = {
        .off = off, .len = len, .gen = gen, .ctx = ctx, .phase = phase,
        .what = what,
    };

    return fmt_layout_add_blob (lay, out, &b);
}

int
fmt_layout_add_repeat (struct fmt_layout *lay, size_t out, uint64_t off,
                       uint64_t len, uint64_t period, uint32_t pattern)
{
    struct fmt_repeat rp = {
        .off = off, .len = len, .period = period, .pattern = pattern,
    };

    if (out >= lay->nout) {
        return set_error (EINVAL, "no output %zu in layout", out);
    }
    if (period == 0 || len / 2 < period) {
        return 0;
    }
    return fmt_repeat_vec_append (&lay->out[out].repeats, rp);
}

int
fmt_blob_read (const struct fmt_blob *b, uint64_t rel_off, uint8_t *buf,
               size_t n)
{
    if (rel_off > b->len || n > b->len - rel_off) {
        return set_error (EINVAL, "read outside the metadata blob '%s'",
                          b->what ? b->what : "?");
    }
    if (b->data) {
        memcpy (buf, b->data + rel_off, n);
        return 0;
    }
    return b->gen (b, rel_off, buf, n);
}

/* Append a placement, merging with the previous one when contiguous. */
static int
fmt_place_add (struct fmt_output *o, const struct fmt_placement *p)
{
    struct fmt_placement *last;

    if (p->len == 0) {
        return 0;
    }
    if (o->place.len > 0 && p->kind != FMT_PLACE_INFLATE) {
        last = &o->place.ptr[o->place.len - 1];
        if (last->kind == p->kind && last->src_file == p->src_file &&
            last->dst_off + last->len == p->dst_off &&
            last->src_off + last->len == p->src_off) {
            last->len += p->len;
            return 0;
        }
    }
    return fmt_placement_vec_append (&o->place, *p);
}

static int
fmt_place_data (struct fmt_output *o, uint64_t dst, uint32_t file,
                uint64_t src, uint64_t len, uint32_t align)
{
    struct fmt_placement p = { .src_file = file };
    uint64_t head, mid;
    int r;

    if (align == 0 || (dst % align) != (src % align)) {
        p.kind = FMT_PLACE_COPY;
        p.dst_off = dst;
        p.src_off = src;
        p.len = len;
        return fmt_place_add (o, &p);
    }
    head = (align - dst % align) % align;
    if (head > len) {
        head = len;
    }
    mid = (len - head) / align * align;
    p.kind = FMT_PLACE_COPY;
    p.dst_off = dst;
    p.src_off = src;
    p.len = head;
    if ((r = fmt_place_add (o, &p)) < 0) {
        return r;
    }
    p.kind = FMT_PLACE_CLONE;
    p.dst_off = dst + head;
    p.src_off = src + head;
    p.len = mid;
    if ((r = fmt_place_add (o, &p)) < 0) {
        return r;
    }
    p.kind = FMT_PLACE_COPY;
    p.dst_off = dst + head + mid;
    p.src_off = src + head + mid;
    p.len = len - head - mid;
    return fmt_place_add (o, &p);
}

int
fmt_layout_place_map (struct fmt_layout *lay, size_t out,
                      const struct fmt_extent_list *map, uint64_t guest_off,
                      uint64_t len, uint64_t dst_base, uint32_t clone_align)
{
    uint64_t dst;

    if (ADD_OVERFLOW (dst_base, guest_off, &dst)) {
        return set_error (EINVAL, "placement outside the disk");
    }
    return fmt_layout_place_range (lay, out, map, guest_off, len, dst,
                                   clone_align);
}

int
fmt_layout_place_range (struct fmt_layout *lay, size_t out,
                        const struct fmt_extent_list *map, uint64_t guest_off,
                        uint64_t len, uint64_t dst_off, uint32_t clone_align)
{
    struct fmt_output *o;
    uint64_t end, dend;
    size_t i;
    int r;

    if (out >= lay->nout) {
        return set_error (EINVAL, "no output %zu in layout", out);
    }
    if (ADD_OVERFLOW (guest_off, len, &end) || end > map->size ||
        ADD_OVERFLOW (dst_off, len, &dend)) {
        return set_error (EINVAL, "placement outside the disk");
    }
    if (clone_align && !IS_POW2 (clone_align)) {
        return set_error (EINVAL, "clone alignment %u is not a power of 2",
                          clone_align);
    }
    o = &lay->out[out];
    if (len == 0 || map->v.len == 0) {
        return 0;
    }
    for (i = fmt_extents_find (map, guest_off);
         i < map->v.len && map->v.ptr[i].guest_off < end; i++) {
        const struct fmt_extent *e = &map->v.ptr[i];
        uint64_t from = e->guest_off > guest_off ? e->guest_off : guest_off;
        uint64_t eend = e->guest_off + e->len;
        uint64_t to = eend < end ? eend : end;
        uint64_t d = from - e->guest_off;
        uint64_t at = dst_off + (from - guest_off);

        if (from >= to || e->kind == FMT_EXT_ZERO) {
            continue;
        }
        if (e->kind == FMT_EXT_DATA) {
            r = fmt_place_data (o, at, e->file, e->file_off + d, to - from,
                                clone_align);
        } else if (e->kind == FMT_EXT_DEFLATE) {
            struct fmt_placement p = {
                .kind = FMT_PLACE_INFLATE, .dst_off = at,
                .src_off = e->file_off, .len = to - from, .src_file = e->file,
                .clen = e->clen, .skip = e->skip + (uint32_t) d,
                .ulen = e->ulen, .codec = e->codec,
            };
            r = fmt_place_add (o, &p);
        } else {
            r = set_error (EINVAL, "unresolved extent kind %d in map",
                           e->kind);
        }
        if (r < 0) {
            return r;
        }
    }
    return 0;
}

static int
fmt_cmp_place (const void *a, const void *b)
{
    const struct fmt_placement *x = a, *y = b;

    return x->dst_off < y->dst_off ? -1 : x->dst_off > y->dst_off;
}

static int
fmt_cmp_blob (const void *a, const void *b)
{
    const struct fmt_blob *x = a, *y = b;

    return x->off < y->off ? -1 : x->off > y->off;
}

static int
fmt_output_check (const struct fmt_output *o)
{
    size_t pi = 0, bi = 0;
    uint64_t pos = 0, end;

    /* Merge-walk placements and blobs in offset order. */
    while (pi < o->place.len || bi < o->blobs.len) {
        bool take_p = bi >= o->blobs.len ||
            (pi < o->place.len &&
             o->place.ptr[pi].dst_off < o->blobs.ptr[bi].off);
        uint64_t off = take_p ? o->place.ptr[pi].dst_off : o->blobs.ptr[bi].off;
        uint64_t len = take_p ? o->place.ptr[pi].len : o->blobs.ptr[bi].len;

        if (off < pos) {
            return set_error (EINVAL, "layout of '%s': overlapping ranges at "
                              "offset %llu", o->name, (unsigned long long) off);
        }
        if (ADD_OVERFLOW (off, len, &end) || end > o->file_size) {
            return set_error (EINVAL, "layout of '%s': range at %llu ends past "
                              "the file size %llu", o->name,
                              (unsigned long long) off,
                              (unsigned long long) o->file_size);
        }
        pos = end;
        if (take_p) {
            pi++;
        } else {
            bi++;
        }
    }
    return 0;
}

static int
fmt_cmp_repeat (const void *a, const void *b)
{
    const struct fmt_repeat *x = a, *y = b;

    return x->off < y->off ? -1 : x->off > y->off;
}

/* Each repeated run inside one blob, apart from the next (blobs sorted). */
static int
fmt_repeats_check (const struct fmt_output *o)
{
    size_t bi = 0;
    uint64_t pos = 0;

    for (size_t i = 0; i < o->repeats.len; i++) {
        const struct fmt_repeat *rp = &o->repeats.ptr[i];
        const struct fmt_blob *bl;
        uint64_t end;

        while (bi < o->blobs.len &&
               o->blobs.ptr[bi].off + o->blobs.ptr[bi].len <= rp->off) {
            bi++;
        }
        bl = bi < o->blobs.len ? &o->blobs.ptr[bi] : NULL;
        if (rp->off < pos || ADD_OVERFLOW (rp->off, rp->len, &end) ||
            bl == NULL || rp->off < bl->off || end > bl->off + bl->len ||
            rp->period == 0) {
            return set_error (EINVAL, "layout of '%s': repeated run at "
                              "offset %llu is not inside one blob",
                              o->name, (unsigned long long) rp->off);
        }
        pos = end;
    }
    return 0;
}

int
fmt_layout_check (const struct fmt_layout *lay)
{
    int r;

    for (size_t i = 0; i < lay->nout; i++) {
        struct fmt_output *o = (struct fmt_output *) &lay->out[i];

        if (o->place.len > 1) {
            qsort (o->place.ptr, o->place.len, sizeof *o->place.ptr,
                   fmt_cmp_place);
        }
        if (o->blobs.len > 1) {
            qsort (o->blobs.ptr, o->blobs.len, sizeof *o->blobs.ptr,
                   fmt_cmp_blob);
        }
        if (o->repeats.len > 1) {
            qsort (o->repeats.ptr, o->repeats.len, sizeof *o->repeats.ptr,
                   fmt_cmp_repeat);
        }
        r = fmt_output_check (o);
        if (r == 0) {
            r = fmt_repeats_check (o);
        }
        if (r < 0) {
            return r;
        }
    }
    return 0;
}
