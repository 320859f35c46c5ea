/* Extent maps: sorted, contiguous lists of guest ranges. */
#include <errno.h>
#include <string.h>

#include "engine/base/error.h"
#include "engine/base/overflow.h"
#include "formats/formats.h"

void
fmt_extents_init (struct fmt_extent_list *l)
{
    memset (l, 0, sizeof *l);
}

void
fmt_extents_release (struct fmt_extent_list *l)
{
    fmt_extent_vec_reset (&l->v);
    l->size = 0;
}

static uint64_t
fmt_extents_end (const struct fmt_extent_list *l)
{
    const struct fmt_extent *last;

    if (l->v.len == 0) {
        return 0;
    }
    last = &l->v.ptr[l->v.len - 1];
    return last->guest_off + last->len;
}

static bool
fmt_extents_mergeable (const struct fmt_extent *a, const struct fmt_extent *b)
{
    if (a->kind != b->kind) {
        return false;
    }
    switch (a->kind) {
    case FMT_EXT_ZERO:
    case FMT_EXT_PARENT:
        return true;
    case FMT_EXT_DATA:
        return a->file == b->file && a->file_off + a->len == b->file_off;
    default:
        return false;
    }
}

int
fmt_extents_add (struct fmt_extent_list *l, const struct fmt_extent *e)
{
    uint64_t end;
    struct fmt_extent *last;

    if (e->len == 0) {
        return 0;
    }
    if (e->guest_off != fmt_extents_end (l)) {
        return set_error (EINVAL, "extent at guest offset %llu is not "
                          "contiguous with the previous one (ends at %llu)",
                          (unsigned long long) e->guest_off,
                          (unsigned long long) fmt_extents_end (l));
    }
    if (ADD_OVERFLOW (e->guest_off, e->len, &end) ||
        (e->kind == FMT_EXT_DATA && ADD_OVERFLOW (e->file_off, e->len, &end))) {
        return set_error (EINVAL, "extent offset + length overflows");
    }
    if (l->v.len > 0) {
        last = &l->v.ptr[l->v.len - 1];
        if (fmt_extents_mergeable (last, e)) {
            last->len += e->len;
            return 0;
        }
    }
    if (l->v.len >= FMT_MAX_EXTENTS) {
        return set_error (EFBIG, "disk map has more than %zu extents",
                          FMT_MAX_EXTENTS);
    }
    return fmt_extent_vec_append (&l->v, *e);
}

int
fmt_extents_add_zero (struct fmt_extent_list *l, uint64_t guest_off,
                      uint64_t len)
{
    struct fmt_extent e = {
        .guest_off = guest_off, .len = len, .kind = FMT_EXT_ZERO,
    };

    return fmt_extents_add (l, &e);
}

int
fmt_extents_add_data (struct fmt_extent_list *l, uint64_t guest_off,
                      uint64_t len, uint32_t file, uint64_t file_off)
{
    struct fmt_extent e = {
        .guest_off = guest_off, .len = len, .kind = FMT_EXT_DATA,
        .file = file, .file_off = file_off,
    };

    return fmt_extents_add (l, &e);
}

int
fmt_extents_check (const struct fmt_extent_list *l)
{
    uint64_t pos = 0;

    for (size_t i = 0; i < l->v.len; i++) {
        const struct fmt_extent *e = &l->v.ptr[i];

        if (e->guest_off != pos || e->len == 0) {
            return set_error (EINVAL, "disk map has a gap or overlap at "
                              "guest offset %llu", (unsigned long long) pos);
        }
        if (e->kind == FMT_EXT_PARENT) {
            return set_error (EINVAL, "disk map still refers to a parent at "
                              "guest offset %llu", (unsigned long long) pos);
        }
        pos += e->len;
    }
    if (pos != l->size) {
        return set_error (EINVAL, "disk map covers %llu bytes, the disk has "
                          "%llu", (unsigned long long) pos,
                          (unsigned long long) l->size);
    }
    return 0;
}

size_t
fmt_extents_find (const struct fmt_extent_list *l, uint64_t off)
{
    size_t lo = 0, hi = l->v.len;

    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;

        if (l->v.ptr[mid].guest_off <= off) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return lo;
}

uint64_t
fmt_extents_allocated (const struct fmt_extent_list *l)
{
    uint64_t n = 0;

    for (size_t i = 0; i < l->v.len; i++) {
        if (l->v.ptr[i].kind == FMT_EXT_DATA ||
            l->v.ptr[i].kind == FMT_EXT_DEFLATE) {
            n += l->v.ptr[i].len;
        }
    }
    return n;
}

bool
fmt_extents_is_zero (const struct fmt_extent_list *l, uint64_t off,
                     uint64_t len, size_t *hint)
{
    size_t i = *hint;
    uint64_t end = off + len;

    if (l->v.len == 0) {
        return true;
    }
    if (i >= l->v.len || l->v.ptr[i].guest_off > off) {
        i = fmt_extents_find (l, off);
    }
    while (i < l->v.len && l->v.ptr[i].guest_off + l->v.ptr[i].len <= off) {
        i++;
    }
    *hint = i;
    for (; i < l->v.len && l->v.ptr[i].guest_off < end; i++) {
        if (l->v.ptr[i].kind != FMT_EXT_ZERO) {
            return false;
        }
    }
    return true;
}

/* Append the part [from, to) of extent e. */
static int
fmt_extents_add_part (struct fmt_extent_list *out, const struct fmt_extent *e,
                      uint64_t from, uint64_t to)
{
    struct fmt_extent p = *e;
    uint64_t d = from - e->guest_off;

    p.guest_off = from;
    p.len = to - from;
    if (p.kind == FMT_EXT_DATA) {
        p.file_off += d;
    } else if (p.kind == FMT_EXT_DEFLATE) {
        p.skip += (uint32_t) d;
    }
    return fmt_extents_add (out, &p);
}

int
fmt_extents_overlay (const struct fmt_extent_list *base,
                     const struct fmt_extent_list *top,
                     struct fmt_extent_list *out)
{
    size_t bi = 0;
    int r;

    if (base->size < top->size) {
        return set_error (EINVAL, "parent disk (%llu bytes) is smaller than "
                          "its child (%llu bytes)",
                          (unsigned long long) base->size,
                          (unsigned long long) top->size);
    }
    out->size = top->size;
    for (size_t ti = 0; ti < top->v.len; ti++) {
        const struct fmt_extent *t = &top->v.ptr[ti];
        uint64_t tend = t->guest_off + t->len;

        if (t->kind != FMT_EXT_PARENT) {
            r = fmt_extents_add (out, t);
            if (r < 0) {
                return r;
            }
            continue;
        }
        /* Copy the parent's extents over [t->guest_off, tend). */
        if (bi >= base->v.len ||
            base->v.ptr[bi].guest_off > t->guest_off) {
            bi = fmt_extents_find (base, t->guest_off);
        }
        while (bi < base->v.len && base->v.ptr[bi].guest_off < tend) {
            const struct fmt_extent *b = &base->v.ptr[bi];
            uint64_t from = b->guest_off > t->guest_off ? b->guest_off
                                                        : t->guest_off;
            uint64_t bend = b->guest_off + b->len;
            uint64_t to = bend < tend ? bend : tend;

            if (from < to) {
                r = fmt_extents_add_part (out, b, from, to);
                if (r < 0) {
                    return r;
                }
            }
            if (bend > tend) {
                break;
            }
            bi++;
        }
    }
    return 0;
}
