/* See verify.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "engine/base/vector.h"
#include "engine/exec/verify.h"

#define VERIFY_CHUNK ((size_t) 1 << 20)

int
vs_verify_open (struct backend *be, const char *path, struct verify_side *s)
{
    struct beio *io;
    int r;

    memset (s, 0, sizeof *s);
    r = vs_beio_open (be, path, &io);
    if (r < 0) {
        return r;
    }
    return vs_verify_open_io (io, s);
}

int
vs_verify_open_io (struct beio *io, struct verify_side *s)
{
    int r;

    memset (s, 0, sizeof *s);
    fmt_extents_init (&s->map);
    s->io = io;
    r = vs_beio_check_not_empty (s->io);
    if (r < 0) {
        vs_verify_close (s);
        return r;
    }
    r = fmt_read_map (vs_beio_fmt (s->io), FMT_UNKNOWN, &s->map, &s->info);
    if (r == 0) {
        r = fmt_extents_check (&s->map);
    }
    if (r < 0) {
        vs_beio_error_names (vs_beio_file (s->io, 0)->path);
        vs_verify_close (s);
    }
    return r;
}

void
vs_verify_close (struct verify_side *s)
{
    vs_beio_close (s->io);
    s->io = NULL;
    fmt_extents_release (&s->map);
}

/* Read part of one extent: [d, d+n) relative to the extent start. */
static int
verify_read_ext (struct verify_side *s, const struct fmt_extent *e,
                 uint64_t d, uint8_t *buf, size_t n)
{
    struct be_file *f;
    uint8_t *c = NULL, *u = NULL;
    size_t got = 0;
    int r;

    if (e->kind == FMT_EXT_ZERO) {
        memset (buf, 0, n);
        return 0;
    }
    f = vs_beio_file (s->io, e->file);
    if (f == NULL) {
        return set_error (EINVAL, "map refers to unknown file #%u", e->file);
    }
    if (e->kind == FMT_EXT_DATA) {
        return backend_pread (f, buf, n, e->file_off + d);
    }
    c = malloc (e->clen ? e->clen : 1);
    u = malloc (e->ulen ? e->ulen : 1);
    r = (c && u) ? backend_pread (f, c, e->clen, e->file_off)
                 : set_error (ENOMEM, "out of memory");
    if (r == 0) {
        r = fmt_inflate (e->codec, c, e->clen, u, e->ulen, &got);
    }
    if (r == 0 && got < e->skip + d + n) {
        r = set_error (EINVAL, "'%s': compressed grain too short", f->path);
    }
    if (r == 0) {
        memcpy (buf, u + e->skip + d, n);
    }
    free (c);
    free (u);
    return r;
}

int
vs_verify_read_guest (struct verify_side *s, uint64_t off, void *buf, size_t n)
{
    uint8_t *out = buf;

    while (n > 0) {
        const struct fmt_extent *e;
        uint64_t d;
        size_t k;
        int r;

        if (off >= s->map.size) {
            return set_error (EINVAL, "read past the end of the disk");
        }
        e = &s->map.v.ptr[fmt_extents_find (&s->map, off)];
        d = off - e->guest_off;
        k = e->len - d < n ? (size_t) (e->len - d) : n;
        r = verify_read_ext (s, e, d, out, k);
        if (r < 0) {
            return r;
        }
        out += k;
        off += k;
        n -= k;
    }
    return 0;
}

DEFINE_VECTOR (phys_vec, struct be_phys_extent);

static int
verify_phys_cb (void *opaque, const struct be_phys_extent *e)
{
    return phys_vec_append (opaque, *e);
}

/* Physical address of logical offset x in v, or UINT64_MAX if unknown;
 * *run = bytes of the same extent from x on. */
static uint64_t
verify_phys_at (const struct phys_vec *v, size_t *i, uint64_t x, uint64_t *run)
{
    while (*i < v->len && v->ptr[*i].logical + v->ptr[*i].len <= x) {
        (*i)++;
    }
    if (*i >= v->len || v->ptr[*i].logical > x ||
        (v->ptr[*i].flags & BE_PHYS_UNKNOWN)) {
        return UINT64_MAX;
    }
    *run = v->ptr[*i].logical + v->ptr[*i].len - x;
    return v->ptr[*i].physical + (x - v->ptr[*i].logical);
}

/* True when a's [oa, oa+n) and b's [ob, ob+n) are the same physical
 * blocks.  Any doubt (no FIEMAP, unknown or delayed extents) is false. */
static bool
verify_shared (struct be_file *fa, uint64_t oa, struct be_file *fb,
               uint64_t ob, uint64_t n)
{
    struct phys_vec va = { 0 }, vb = { 0 };
    size_t ia = 0, ib = 0;
    uint64_t d = 0;
    bool ok = false;

    /* Physical addresses only mean the same blocks on one filesystem. */
    if (!(fa->caps & BE_CAP_PHYS) || !(fb->caps & BE_CAP_PHYS) ||
        fa->fs_id == 0 || fa->fs_id != fb->fs_id) {
        return false;
    }
    if (backend_phys_extents (fa, oa, n, verify_phys_cb, &va) < 0 ||
        backend_phys_extents (fb, ob, n, verify_phys_cb, &vb) < 0) {
        clear_error ();
        goto out;
    }
    while (d < n) {
        uint64_t ra = 0, rb = 0;
        uint64_t pa = verify_phys_at (&va, &ia, oa + d, &ra);
        uint64_t pb = verify_phys_at (&vb, &ib, ob + d, &rb);

        if (pa == UINT64_MAX || pa != pb) {
            goto out;
        }
        d += ra < rb ? ra : rb;
    }
    ok = true;
out:
    phys_vec_reset (&va);
    phys_vec_reset (&vb);
    return ok;
}

static void
verify_mark_diff (struct verify_report *rep, uint64_t off, const char *why)
{
    if (!rep->differ) {
        rep->differ = true;
        rep->first_diff = off;
        snprintf (rep->why, sizeof rep->why, "%s", why);
    }
}

static int
verify_piece_read (struct verify_side *a, const struct fmt_extent *ea,
                   uint64_t da, struct verify_side *b,
                   const struct fmt_extent *eb, uint64_t db, uint64_t pos,
                   uint64_t len, uint8_t *ba, uint8_t *bb,
                   struct verify_report *rep)
{
    uint64_t done = 0;
    int r;

    while (done < len) {
        size_t n = len - done > VERIFY_CHUNK ? VERIFY_CHUNK
                                             : (size_t) (len - done);

        r = verify_read_ext (a, ea, da + done, ba, n);
        if (r == 0) {
            r = verify_read_ext (b, eb, db + done, bb, n);
        }
        if (r < 0) {
            return r;
        }
        rep->bytes_read += n;
        if (memcmp (ba, bb, n) != 0) {
            size_t k = 0;

            while (k < n && ba[k] == bb[k]) {
                k++;
            }
            verify_mark_diff (rep, pos + done + k, "guest data differs");
            return 0;
        }
        done += n;
    }
    return 0;
}

int
vs_verify_compare (struct verify_side *a, struct verify_side *b, bool full,
                struct verify_report *rep)
{
    uint8_t *ba = NULL, *bb = NULL;
    uint64_t pos = 0;
    size_t ia = 0, ib = 0;
    int r = 0;

    memset (rep, 0, sizeof *rep);
    rep->virtual_size = a->map.size;
    if (a->map.size != b->map.size) {
        char why[160];

        snprintf (why, sizeof why, "virtual sizes differ: %" PRIu64 " vs %"
                  PRIu64 " bytes", a->map.size, b->map.size);
        verify_mark_diff (rep, a->map.size < b->map.size ? a->map.size
                                                         : b->map.size, why);
        return 0;
    }
    ba = malloc (VERIFY_CHUNK);
    bb = malloc (VERIFY_CHUNK);
    if (ba == NULL || bb == NULL) {
        r = set_error (ENOMEM, "out of memory");
        goto out;
    }
    while (pos < a->map.size && !rep->differ) {
        const struct fmt_extent *ea, *eb;
        uint64_t da, db, len;

        while (a->map.v.ptr[ia].guest_off + a->map.v.ptr[ia].len <= pos) {
            ia++;
        }
        while (b->map.v.ptr[ib].guest_off + b->map.v.ptr[ib].len <= pos) {
            ib++;
        }
        ea = &a->map.v.ptr[ia];
        eb = &b->map.v.ptr[ib];
        da = pos - ea->guest_off;
        db = pos - eb->guest_off;
        len = ea->len - da < eb->len - db ? ea->len - da : eb->len - db;
        if (ea->kind == FMT_EXT_ZERO && eb->kind == FMT_EXT_ZERO) {
            rep->bytes_zero += len;
        } else if (!full && ea->kind == FMT_EXT_DATA &&
                   eb->kind == FMT_EXT_DATA &&
                   verify_shared (vs_beio_file (a->io, ea->file),
                                  ea->file_off + da,
                                  vs_beio_file (b->io, eb->file),
                                  eb->file_off + db, len)) {
            rep->bytes_shared += len;
        } else {
            r = verify_piece_read (a, ea, da, b, eb, db, pos, len, ba, bb, rep);
            if (r < 0) {
                goto out;
            }
        }
        pos += len;
    }
out:
    free (ba);
    free (bb);
    return r;
}
