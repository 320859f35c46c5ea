/* Checked wrappers around backend ops: ranges and overflow are checked
 * once here, calls are traced with -D backend, and a failing op that
 * forgot to set a message gets a generic one. */
#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend/backend.h"
#include "engine/base/error.h"
#include "engine/base/overflow.h"

void
be_file_init (struct be_file *f, struct backend *b, const char *path,
              unsigned flags)
{
    f->b = b;
    f->path = strdup (path ? path : "");
    f->flags = flags;
    f->caps = 0;
}

void
be_file_release (struct be_file *f)
{
    free (f->path);
    f->path = NULL;
}

/* A failing op must have set an error; make sure there is one. */
static int
be_fail (int r, const char *op, const char *path)
{
    if (r < 0 && vmshift_internal_error_errno () == 0) {
        set_error (-r, "%s '%s' failed: %s", op, path ? path : "?",
                   strerror (-r));
    }
    return r;
}

int
backend_open (struct backend *b, const char *path, unsigned flags,
              struct be_file **out)
{
    int r;

    clear_error ();
    if (b->ops->struct_size < BE_OPS_SIZE_V1) {
        return set_error (EINVAL, "the %s backend was built for an older "
                          "interface (struct_size %zu)", b->ops->name,
                          b->ops->struct_size);
    }
    r = b->ops->open (b, path, flags, out);
    vs_log_debug (b->log, LOGM_BACKEND, "%s: open '%s' flags=%#x -> %d",
               b->ops->name, path, flags, r);
    return be_fail (r, "open", path);
}

void
backend_close (struct be_file *f)
{
    if (f) {
        f->b->ops->close (f);
    }
}

int64_t
backend_get_size (struct be_file *f)
{
    int64_t r = f->b->ops->get_size (f);

    return r < 0 ? be_fail ((int) r, "stat", f->path) : r;
}

static int
be_check_range (struct be_file *f, size_t n, uint64_t off, const char *op)
{
    uint64_t end;

    if (ADD_OVERFLOW (off, (uint64_t) n, &end) || end > (uint64_t) INT64_MAX) {
        return set_error (EINVAL, "%s '%s': offset %" PRIu64 " + %zu overflows",
                          op, f->path, off, n);
    }
    return 0;
}

int
backend_pread (struct be_file *f, void *buf, size_t n, uint64_t off)
{
    int r = be_check_range (f, n, off, "read");

    if (r < 0 || n == 0) {
        return r;
    }
    r = f->b->ops->pread (f, buf, n, off);
    if (r == 0) {
        f->b->stats.bytes_read += n;
    }
    return be_fail (r, "read", f->path);
}

int
backend_pwrite (struct be_file *f, const void *buf, size_t n, uint64_t off)
{
    int r = be_check_range (f, n, off, "write");

    if (r < 0 || n == 0) {
        return r;
    }
    if (!(f->flags & BE_RDWR)) {
        return set_error (EBADF, "write to '%s', which is open read-only",
                          f->path);
    }
    r = f->b->ops->pwrite (f, buf, n, off);
    if (r == 0) {
        f->b->stats.bytes_written += n;
    }
    return be_fail (r, "write", f->path);
}

int
backend_flush (struct be_file *f)
{
    return be_fail (f->b->ops->flush (f), "flush", f->path);
}

int
backend_truncate (struct be_file *f, uint64_t size)
{
    if (size > (uint64_t) INT64_MAX) {
        return set_error (EFBIG, "size of '%s' too large", f->path);
    }
    if (!(f->flags & BE_RDWR)) {
        return set_error (EBADF, "truncate '%s', which is open read-only",
                          f->path);
    }
    return be_fail (f->b->ops->truncate (f, size), "truncate", f->path);
}

int
backend_rename (struct backend *b, const char *from, const char *to,
                bool replace)
{
    vs_log_debug (b->log, LOGM_BACKEND, "%s: rename '%s' -> '%s'", b->ops->name,
               from, to);
    return be_fail (b->ops->rename (b, from, to, replace), "rename", from);
}

int
backend_unlink (struct backend *b, const char *path)
{
    vs_log_debug (b->log, LOGM_BACKEND, "%s: unlink '%s'", b->ops->name, path);
    return be_fail (b->ops->unlink (b, path), "unlink", path);
}

int
backend_mkdir (struct backend *b, const char *path)
{
    return be_fail (b->ops->mkdir (b, path), "mkdir", path);
}

int
backend_exists (struct backend *b, const char *path)
{
    int r = b->ops->exists (b, path);

    return r < 0 ? be_fail (r, "stat", path) : r;
}

int
backend_stat (struct backend *b, const char *path, unsigned flags,
              struct be_stat *st)
{
    struct be_stat tmp = { .struct_size = sizeof tmp };
    int r;

    if (!backend_has (b, stat)) {
        return set_error (ENOTSUP, "the %s backend cannot tell file "
                          "identities", b->ops->name);
    }
    if (st->struct_size < offsetof (struct be_stat, size)) {
        return set_error (EINVAL, "stat '%s': struct be_stat too small", path);
    }
    /* the backend fills the whole struct; the caller gets what it has */
    r = b->ops->stat (b, path, flags, &tmp);
    vs_log_debug (b->log, LOGM_BACKEND, "%s: stat '%s' -> %d type %d fsid %"
                  PRIu64 " fileid %" PRIu64, b->ops->name, path, r, tmp.type,
                  tmp.fsid, tmp.fileid);
    if (r == 0) {
        size_t n = st->struct_size < sizeof tmp ? st->struct_size : sizeof tmp;

        tmp.struct_size = st->struct_size;
        memcpy (st, &tmp, n);
    }
    return be_fail (r, "stat", path);
}

int
backend_same_file (const struct be_stat *a, const struct be_stat *b)
{
    return a->type != BE_TYPE_NONE && a->type == b->type &&
           a->fsid == b->fsid && a->fileid == b->fileid;
}

int
backend_resolve (struct backend *b, const char *path, char **out)
{
    if (!backend_has (b, resolve)) {
        return set_error (ENOTSUP, "the %s backend cannot resolve names",
                          b->ops->name);
    }
    *out = NULL;
    return be_fail (b->ops->resolve (b, path, out), "resolve", path);
}

int
backend_rmdir (struct backend *b, const char *path)
{
    vs_log_debug (b->log, LOGM_BACKEND, "%s: rmdir '%s'", b->ops->name, path);
    if (!backend_has (b, rmdir)) {
        return set_error (ENOTSUP, "the %s backend cannot remove directories",
                          b->ops->name);
    }
    return be_fail (b->ops->rmdir (b, path), "rmdir", path);
}

int
backend_link (struct backend *b, const char *from, const char *to)
{
    vs_log_debug (b->log, LOGM_BACKEND, "%s: link '%s' -> '%s'", b->ops->name,
                  from, to);
    if (!backend_has (b, link)) {
        return set_error (ENOTSUP, "the %s backend cannot make links",
                          b->ops->name);
    }
    return be_fail (b->ops->link (b, from, to), "link", from);
}

int
backend_list (struct backend *b, const char *dir, be_list_cb cb, void *opaque)
{
    if (b->ops->list == NULL) {
        return set_error (ENOTSUP, "%s backend cannot list directories",
                          b->ops->name);
    }
    vs_log_debug (b->log, LOGM_BACKEND, "%s: list '%s'", b->ops->name, dir);
    return be_fail (b->ops->list (b, dir, cb, opaque), "list", dir);
}

int
backend_clone_ranges (struct be_file *dst, struct be_file *src,
                      const struct be_range *r, size_t n)
{
    int ret;

    if (dst->b->ops->clone_ranges == NULL || !(dst->caps & BE_CAP_CLONE)) {
        return set_error (ENOTSUP, "the %s backend cannot share blocks",
                          dst->b->ops->name);
    }
    if (src->b != dst->b) {
        return set_error (EXDEV, "cannot share blocks between '%s' and '%s' "
                          "on different backends", src->path, dst->path);
    }
    for (size_t i = 0; i < n; i++) {
        int c = be_check_range (dst, (size_t) r[i].len, r[i].dst_off, "clone");

        if (c < 0 || (c = be_check_range (src, (size_t) r[i].len, r[i].src_off,
                                          "clone")) < 0) {
            return c;
        }
    }
    ret = dst->b->ops->clone_ranges (dst, src, r, n);
    if (ret == 0) {
        dst->b->stats.clone_calls++;
        for (size_t i = 0; i < n; i++) {
            dst->b->stats.bytes_cloned += r[i].len;
        }
    }
    vs_log_debug (dst->b->log, LOGM_BACKEND, "%s: clone %zu ranges '%s' -> '%s' "
               "-> %d", dst->b->ops->name, n, src->path, dst->path, ret);
    return be_fail (ret, "clone into", dst->path);
}

int
backend_extents (struct be_file *f, uint64_t off, uint64_t len,
                 be_extent_cb cb, void *opaque)
{
    if (f->b->ops->extents == NULL || !(f->caps & BE_CAP_EXTENTS)) {
        return set_error (ENOTSUP, "the %s backend cannot report holes",
                          f->b->ops->name);
    }
    return be_fail (f->b->ops->extents (f, off, len, cb, opaque),
                    "map holes of", f->path);
}

int
backend_phys_extents (struct be_file *f, uint64_t off, uint64_t len,
                      be_phys_cb cb, void *opaque)
{
    if (f->b->ops->phys_extents == NULL || !(f->caps & BE_CAP_PHYS)) {
        return set_error (ENOTSUP, "the %s backend cannot report physical "
                          "extents", f->b->ops->name);
    }
    return be_fail (f->b->ops->phys_extents (f, off, len, cb, opaque),
                    "map extents of", f->path);
}

void
backend_free (struct backend *b)
{
    if (b) {
        b->ops->free (b);
    }
}
