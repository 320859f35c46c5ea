/* ONTAP backend: file I/O over NFS (an inner nfs backend on the volume's
 * junction path), block sharing by ONTAP's REST file clone.
 *
 * Paths are relative to the volume root, as ONTAP's clone API wants
 * them.  A source opened under ".snapshot/<name>/" is read from the
 * snapshot over NFS and cloned from it by ONTAP.
 *
 * Thread model: like the nfs backend, one thread at a time per backend.
 * The REST client may be shared between backends (ontap/ serialises its
 * own calls), so parallel conversions use one ontap backend each.
 *
 * Every call forwarded to the NFS backend counts as NFS time in the
 * client's busy tracker when it has one (ontap_client_set_busy).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend/backend.h"
#include "engine/backend/ontap.h"
#include "engine/base/busy.h"
#include "engine/base/error.h"

struct be_ontap {
    struct backend b;           /* first */
    struct backend *nfs;
    struct ontap_client *client;        /* borrowed */
    const struct ontap_volume *vol;     /* borrowed */
    uint64_t rest_clone_calls;
};

struct be_ontap_file {
    struct be_file f;           /* first */
    struct be_file *inner;
};

static struct be_ontap *
bo (struct backend *b)
{
    return (struct be_ontap *) b;
}

static struct be_file *
inner (struct be_file *f)
{
    return ((struct be_ontap_file *) f)->inner;
}

/* An NFS call begins: returns the tracker to end it with. */
static struct vs_busy *
be_ontap_nfs_begin (struct backend *b)
{
    struct vs_busy *t = ontap_client_busy (bo (b)->client);

    vs_busy_enter (t, VS_BUSY_NFS);
    return t;
}

static int
be_ontap_nfs_end (struct vs_busy *t, int r)
{
    vs_busy_leave (t, VS_BUSY_NFS);
    return r;
}

static int
be_ontap_open (struct backend *b, const char *path, unsigned flags,
               struct be_file **out)
{
    struct be_ontap_file *f = calloc (1, sizeof *f);
    struct vs_busy *t;
    int r;

    if (f == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    t = be_ontap_nfs_begin (b);
    r = be_ontap_nfs_end (t, backend_open (bo (b)->nfs, path, flags,
                                           &f->inner));
    if (r < 0) {
        free (f);
        return r;
    }
    be_file_init (&f->f, b, path, flags);
    f->f.caps = BE_CAP_CLONE;
    *out = &f->f;
    return 0;
}

static void
be_ontap_close (struct be_file *f)
{
    struct vs_busy *t = be_ontap_nfs_begin (f->b);

    backend_close (inner (f));
    be_ontap_nfs_end (t, 0);
    be_file_release (f);
    free (f);
}

static int64_t
be_ontap_get_size (struct be_file *f)
{
    struct vs_busy *t = be_ontap_nfs_begin (f->b);
    int64_t r = backend_get_size (inner (f));

    be_ontap_nfs_end (t, 0);
    return r;
}

static int
be_ontap_pread (struct be_file *f, void *buf, size_t n, uint64_t off)
{
    struct vs_busy *t = be_ontap_nfs_begin (f->b);

    return be_ontap_nfs_end (t, backend_pread (inner (f), buf, n, off));
}

static int
be_ontap_pwrite (struct be_file *f, const void *buf, size_t n, uint64_t off)
{
    struct vs_busy *t = be_ontap_nfs_begin (f->b);

    return be_ontap_nfs_end (t, backend_pwrite (inner (f), buf, n, off));
}

static int
be_ontap_flush (struct be_file *f)
{
    struct vs_busy *t = be_ontap_nfs_begin (f->b);

    return be_ontap_nfs_end (t, backend_flush (inner (f)));
}

static int
be_ontap_truncate (struct be_file *f, uint64_t size)
{
    struct vs_busy *t = be_ontap_nfs_begin (f->b);

    return be_ontap_nfs_end (t, backend_truncate (inner (f), size));
}

static int
be_ontap_rename (struct backend *b, const char *from, const char *to,
                 bool replace)
{
    struct vs_busy *t = be_ontap_nfs_begin (b);

    return be_ontap_nfs_end (t, backend_rename (bo (b)->nfs, from, to,
                                                replace));
}

static int
be_ontap_unlink (struct backend *b, const char *path)
{
    struct vs_busy *t = be_ontap_nfs_begin (b);

    return be_ontap_nfs_end (t, backend_unlink (bo (b)->nfs, path));
}

static int
be_ontap_mkdir (struct backend *b, const char *path)
{
    struct vs_busy *t = be_ontap_nfs_begin (b);

    return be_ontap_nfs_end (t, backend_mkdir (bo (b)->nfs, path));
}

static int
be_ontap_exists (struct backend *b, const char *path)
{
    struct vs_busy *t = be_ontap_nfs_begin (b);

    return be_ontap_nfs_end (t, backend_exists (bo (b)->nfs, path));
}

static int
be_ontap_list (struct backend *b, const char *dir, be_list_cb cb, void *opaque)
{
    struct vs_busy *t = be_ontap_nfs_begin (b);

    return be_ontap_nfs_end (t, backend_list (bo (b)->nfs, dir, cb, opaque));
}

static int
be_ontap_stat (struct backend *b, const char *path, unsigned flags,
               struct be_stat *st)
{
    struct vs_busy *t = be_ontap_nfs_begin (b);

    return be_ontap_nfs_end (t, backend_stat (bo (b)->nfs, path, flags, st));
}

static int
be_ontap_resolve (struct backend *b, const char *path, char **out)
{
    struct vs_busy *t = be_ontap_nfs_begin (b);

    return be_ontap_nfs_end (t, backend_resolve (bo (b)->nfs, path, out));
}

static int
be_ontap_rmdir (struct backend *b, const char *path)
{
    struct vs_busy *t = be_ontap_nfs_begin (b);

    return be_ontap_nfs_end (t, backend_rmdir (bo (b)->nfs, path));
}

static int
be_ontap_link (struct backend *b, const char *from, const char *to)
{
    struct vs_busy *t = be_ontap_nfs_begin (b);

    return be_ontap_nfs_end (t, backend_link (bo (b)->nfs, from, to));
}

/* Volume-relative paths for ONTAP: no leading "./" or "/". */
static const char *
be_ontap_rel (const char *p)
{
    while (p[0] == '.' && p[1] == '/') {
        p += 2;
    }
    while (p[0] == '/') {
        p++;
    }
    return p;
}

/* The executor copies instead when a clone fails with an errno that
 * means "cannot clone here" (EINVAL, EXDEV, ENOTSUP...; exec.c).  ONTAP
 * answers a failed clone job, a refused range or a missing file with
 * 400s that map to EINVAL, and a conversion then copied every byte over
 * NFS with only a warning (found by the fault tests: a failed clone job
 * "succeeded").  Only ONTAP saying the operation is not supported (no
 * FlexClone license, a volume that cannot clone) is a missing
 * capability; every other clone failure fails the conversion, with
 * ONTAP's message kept. */
static int
be_ontap_clone_errno (int r)
{
    struct vmshift_error_save e;

    if (r != -EINVAL && r != -EXDEV && r != -ENOSYS && r != -ENOTTY) {
        return r;
    }
    error_save (&e);
    e.errnum = EIO;
    error_restore (&e);
    return -EIO;
}

static int
be_ontap_clone_ranges (struct be_file *dst, struct be_file *src,
                       const struct be_range *r, size_t n)
{
    struct be_ontap *o = bo (dst->b);
    struct ontap_clone_range *cr = calloc (n ? n : 1, sizeof *cr);
    struct ontap_clone_result res = { 0 };
    enum ontap_outcome oc = ONTAP_DONE;
    int ret;

    if (cr == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        cr[i].src_off = r[i].src_off;
        cr[i].dst_off = r[i].dst_off;
        cr[i].len = r[i].len;
    }
    ret = ontap_file_clone (o->client, o->vol, be_ontap_rel (src->path),
                            be_ontap_rel (dst->path), cr, n, &res, &oc);
    if (ret == 0 && oc == ONTAP_UNKNOWN) {
        /* A job vanished before we saw it end.  Clone calls are sent with
         * overwrite_destination, so repeating them is harmless and the
         * only way to know the ranges are in place. */
        vs_log_msg (dst->b->log, LOG_WARN, "'%s': a clone job vanished; cloning "
                 "the same ranges again", dst->path);
        memset (&res, 0, sizeof res);
        ret = ontap_file_clone (o->client, o->vol, be_ontap_rel (src->path),
                                be_ontap_rel (dst->path), cr, n, &res, &oc);
        if (ret == 0 && oc == ONTAP_UNKNOWN) {
            ret = set_error (EIO, "'%s': ONTAP clone jobs vanished twice; the "
                             "clone cannot be confirmed", dst->path);
        }
    }
    o->rest_clone_calls += res.calls;
    free (cr);
    return be_ontap_clone_errno (ret);
}

static void
be_ontap_free (struct backend *b)
{
    backend_free (bo (b)->nfs);
    free (b);
}

static const struct backend_ops be_ontap_ops = {
    .struct_size = sizeof (struct backend_ops),
    .name = "ontap",
    .open = be_ontap_open,
    .close = be_ontap_close,
    .get_size = be_ontap_get_size,
    .pread = be_ontap_pread,
    .pwrite = be_ontap_pwrite,
    .flush = be_ontap_flush,
    .truncate = be_ontap_truncate,
    .rename = be_ontap_rename,
    .unlink = be_ontap_unlink,
    .mkdir = be_ontap_mkdir,
    .exists = be_ontap_exists,
    .list = be_ontap_list,
    .clone_ranges = be_ontap_clone_ranges,
    .free = be_ontap_free,
    .stat = be_ontap_stat,
    .resolve = be_ontap_resolve,
    .link = be_ontap_link,
    .rmdir = be_ontap_rmdir,
};

struct backend *
be_ontap_new (const struct logger *log, struct backend *nfs_take,
              struct ontap_client *client, const struct ontap_volume *vol)
{
    struct be_ontap *o = calloc (1, sizeof *o);

    if (o == NULL) {
        backend_free (nfs_take);
        set_error (ENOMEM, "out of memory");
        return NULL;
    }
    o->b.ops = &be_ontap_ops;
    o->b.log = log;
    o->nfs = nfs_take;
    o->client = client;
    o->vol = vol;
    return &o->b;
}

uint64_t
be_ontap_nfs_bytes_written (struct backend *b)
{
    return bo (b)->nfs->stats.bytes_written;
}
