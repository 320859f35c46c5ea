/* Local POSIX backend.
 *
 * clone_ranges is FICLONERANGE (XFS with reflink=1, Btrfs): offsets and
 * lengths must be multiples of the filesystem block, except a tail that
 * ends at the source's EOF; the planner only hands us 4 KiB-aligned
 * ranges.  dst and src may be one file (ranges apart: the executor
 * repeats metadata that way, BE_CAP_CLONE_SELF).  extents is
 * SEEK_DATA/SEEK_HOLE.  phys_extents is FIEMAP, used
 * to prove that a target's blocks are the source's blocks.
 *
 * Thread model: any file may be used from several threads at once
 * (pread/pwrite/ioctl only; no shared offsets).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/backend/backend.h"
#include "engine/base/error.h"

struct be_local_file {
    struct be_file f;           /* first: container_of by cast */
    int fd;
};

static struct be_local_file *
lf (struct be_file *f)
{
    return (struct be_local_file *) f;
}

static int
be_local_errno (int e, const char *op, const char *path)
{
    return set_error (e, "cannot %s '%s': %s", op, path, strerror (e));
}

static int
be_local_open (struct backend *b, const char *path, unsigned flags,
               struct be_file **out)
{
    struct be_local_file *f;
    int oflags = O_CLOEXEC, fd;
    struct stat st;

    if (flags & BE_RDWR) {
        oflags |= O_RDWR;
    } else {
        oflags |= O_RDONLY;
    }
    if (flags & BE_CREATE) {
        oflags |= O_CREAT | O_EXCL;
    }
    /* O_NONBLOCK so that a FIFO given as an image (or an extent) is
     * refused below instead of blocking open() until a writer comes;
     * cleared again for the regular file. */
    fd = open (path, oflags | O_NONBLOCK, 0644);
    if (fd < 0) {
        return be_local_errno (errno, (flags & BE_CREATE) ? "create" : "open",
                               path);
    }
    if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode)) {
        close (fd);
        return set_error (EINVAL, "'%s' is not a regular file", path);
    }
    if (fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) & ~O_NONBLOCK) < 0) {
        int e = errno;

        close (fd);
        return be_local_errno (e, "open", path);
    }
    f = calloc (1, sizeof *f);
    if (f == NULL) {
        close (fd);
        return set_error (ENOMEM, "out of memory");
    }
    be_file_init (&f->f, b, path, flags);
    f->fd = fd;
    f->f.caps = BE_CAP_CLONE | BE_CAP_CLONE_SELF | BE_CAP_EXTENTS |
                BE_CAP_PHYS;
    f->f.fs_id = (uint64_t) st.st_dev + 1;
    *out = &f->f;
    return 0;
}

static void
be_local_close (struct be_file *f)
{
    close (lf (f)->fd);
    be_file_release (f);
    free (f);
}

static int64_t
be_local_get_size (struct be_file *f)
{
    struct stat st;

    if (fstat (lf (f)->fd, &st) < 0) {
        return be_local_errno (errno, "stat", f->path);
    }
    return st.st_size;
}

static int
be_local_pread (struct be_file *f, void *buf, size_t n, uint64_t off)
{
    size_t done = 0;

    while (done < n) {
        ssize_t r = pread (lf (f)->fd, (char *) buf + done, n - done,
                           (off_t) (off + done));

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            return be_local_errno (errno, "read", f->path);
        }
        if (r == 0) {
            return set_error (EINVAL, "'%s' is shorter than expected: no data "
                              "at offset %llu", f->path,
                              (unsigned long long) (off + done));
        }
        done += (size_t) r;
    }
    return 0;
}

static int
be_local_pwrite (struct be_file *f, const void *buf, size_t n, uint64_t off)
{
    size_t done = 0;

    while (done < n) {
        ssize_t r = pwrite (lf (f)->fd, (const char *) buf + done, n - done,
                            (off_t) (off + done));

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return be_local_errno (r < 0 ? errno : EIO, "write", f->path);
        }
        done += (size_t) r;
    }
    return 0;
}

static int
be_local_flush (struct be_file *f)
{
    if (fsync (lf (f)->fd) < 0) {
        return be_local_errno (errno, "flush", f->path);
    }
    return 0;
}

static int
be_local_truncate (struct be_file *f, uint64_t size)
{
    if (ftruncate (lf (f)->fd, (off_t) size) < 0) {
        return be_local_errno (errno, "resize", f->path);
    }
    return 0;
}

static int
be_local_rename (struct backend *b, const char *from, const char *to,
                 bool replace)
{
    (void) b;
    if (replace) {
        if (rename (from, to) < 0) {
            return be_local_errno (errno, "rename", from);
        }
        return 0;
    }
    if (renameat2 (AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0) {
        return 0;
    }
    if (errno == EEXIST) {
        return set_error (EEXIST, "'%s' already exists", to);
    }
    if (errno != EINVAL && errno != ENOSYS) {
        return be_local_errno (errno, "rename", from);
    }
    /* Filesystem without RENAME_NOREPLACE: link() fails if 'to' exists. */
    if (link (from, to) < 0) {
        return errno == EEXIST ? set_error (EEXIST, "'%s' already exists", to)
                               : be_local_errno (errno, "rename", from);
    }
    unlink (from);
    return 0;
}

static int
be_local_unlink (struct backend *b, const char *path)
{
    (void) b;
    if (unlink (path) < 0) {
        return be_local_errno (errno, "remove", path);
    }
    return 0;
}

static int
be_local_mkdir (struct backend *b, const char *path)
{
    (void) b;
    if (mkdir (path, 0755) < 0 && errno != EEXIST) {
        return be_local_errno (errno, "create directory", path);
    }
    return 0;
}

static int
be_local_exists (struct backend *b, const char *path)
{
    struct stat st;

    (void) b;
    if (lstat (path, &st) == 0) {
        return 1;
    }
    if (errno == ENOENT) {
        return 0;
    }
    return be_local_errno (errno, "stat", path);
}

static int
be_local_list (struct backend *b, const char *dir, be_list_cb cb, void *opaque)
{
    DIR *d;
    struct dirent *de;
    int r = 0;

    (void) b;
    d = opendir (dir);
    if (d == NULL) {
        return be_local_errno (errno, "list", dir);
    }
    while (r == 0 && (de = readdir (d)) != NULL) {
        if (strcmp (de->d_name, ".") && strcmp (de->d_name, "..")) {
            r = cb (opaque, de->d_name);
        }
    }
    closedir (d);
    return r;
}

static int
be_local_clone_ranges (struct be_file *dst, struct be_file *src,
                       const struct be_range *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct file_clone_range fcr = {
            .src_fd = lf (src)->fd, .src_offset = r[i].src_off,
            .src_length = r[i].len, .dest_offset = r[i].dst_off,
        };

        if (ioctl (lf (dst)->fd, FICLONERANGE, &fcr) < 0) {
            int e = errno;

            if (e == EOPNOTSUPP || e == ENOTTY || e == EXDEV || e == EINVAL ||
                e == ENOSYS) {
                /* EINVAL here means the filesystem cannot share these
                 * blocks (e.g. across files it does not reflink, or an
                 * alignment it does not support), not bad input:
                 * the executor copies instead, and says why. */
                return set_error (e == EXDEV ? EXDEV : EOPNOTSUPP,
                                  "the filesystem cannot share the blocks of "
                                  "'%s' with the target (FICLONERANGE: %s)",
                                  src->path, strerror (e));
            }
            return be_local_errno (e, "share blocks into", dst->path);
        }
    }
    return 0;
}

static int
be_local_extents (struct be_file *f, uint64_t off, uint64_t len,
                  be_extent_cb cb, void *opaque)
{
    int fd = lf (f)->fd;
    uint64_t pos = off, end = off + len;
    int r;

    while (pos < end) {
        off_t d = lseek (fd, (off_t) pos, SEEK_DATA);
        off_t h;

        if (d < 0 && errno != ENXIO) {
            return be_local_errno (errno, "map holes of", f->path);
        }
        if (d < 0 || (uint64_t) d >= end) {
            return cb (opaque, pos, end - pos, false);
        }
        if ((uint64_t) d > pos) {
            if ((r = cb (opaque, pos, (uint64_t) d - pos, false)) < 0) {
                return r;
            }
            pos = (uint64_t) d;
        }
        h = lseek (fd, (off_t) pos, SEEK_HOLE);
        if (h < 0) {
            return be_local_errno (errno, "map holes of", f->path);
        }
        if ((uint64_t) h > end) {
            h = (off_t) end;
        }
        if ((r = cb (opaque, pos, (uint64_t) h - pos, true)) < 0) {
            return r;
        }
        pos = (uint64_t) h;
    }
    return 0;
}

#define FIEMAP_BATCH 256

static int
be_local_phys_extents (struct be_file *f, uint64_t off, uint64_t len,
                       be_phys_cb cb, void *opaque)
{
    size_t sz = sizeof (struct fiemap) +
                FIEMAP_BATCH * sizeof (struct fiemap_extent);
    struct fiemap *fm = malloc (sz);
    uint64_t pos = off, end = off + len;
    int r = 0;

    if (fm == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    while (pos < end && r == 0) {
        memset (fm, 0, sz);
        fm->fm_start = pos;
        fm->fm_length = end - pos;
        fm->fm_flags = FIEMAP_FLAG_SYNC;
        fm->fm_extent_count = FIEMAP_BATCH;
        if (ioctl (lf (f)->fd, FS_IOC_FIEMAP, fm) < 0) {
            r = errno == EOPNOTSUPP || errno == ENOTTY
                ? set_error (EOPNOTSUPP, "'%s': the filesystem does not "
                             "report physical extents (FIEMAP)", f->path)
                : be_local_errno (errno, "map extents of", f->path);
            break;
        }
        if (fm->fm_mapped_extents == 0) {
            break;
        }
        for (unsigned i = 0; i < fm->fm_mapped_extents && r == 0; i++) {
            const struct fiemap_extent *fe = &fm->fm_extents[i];
            struct be_phys_extent e = {
                .logical = fe->fe_logical, .physical = fe->fe_physical,
                .len = fe->fe_length,
            };

            if (fe->fe_flags & FIEMAP_EXTENT_SHARED) {
                e.flags |= BE_PHYS_SHARED;
            }
            if (fe->fe_flags & (FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DELALLOC |
                                FIEMAP_EXTENT_ENCODED |
                                FIEMAP_EXTENT_DATA_INLINE |
                                FIEMAP_EXTENT_NOT_ALIGNED |
                                FIEMAP_EXTENT_UNWRITTEN)) {
                e.flags |= BE_PHYS_UNKNOWN;
            }
            r = cb (opaque, &e);
            pos = fe->fe_logical + fe->fe_length;
            if (fe->fe_flags & FIEMAP_EXTENT_LAST) {
                pos = end;
            }
        }
    }
    free (fm);
    return r;
}

static enum be_type
be_local_type (mode_t m)
{
    return S_ISREG (m) ? BE_TYPE_REG : S_ISDIR (m) ? BE_TYPE_DIR
           : S_ISLNK (m) ? BE_TYPE_LNK : BE_TYPE_OTHER;
}

static int
be_local_stat (struct backend *b, const char *path, unsigned flags,
               struct be_stat *out)
{
    struct stat st;

    (void) b;
    if (((flags & BE_STAT_NOFOLLOW) ? lstat (path, &st) : stat (path, &st)) < 0) {
        return be_local_errno (errno, "stat", path);
    }
    out->type = be_local_type (st.st_mode);
    out->fileid = (uint64_t) st.st_ino;
    out->fsid = (uint64_t) st.st_dev;
    out->size = (uint64_t) st.st_size;
    out->used = (uint64_t) st.st_blocks * 512;
    out->used_known = true;
    return 0;
}

static int
be_local_resolve (struct backend *b, const char *path, char **out)
{
    (void) b;
    *out = realpath (path, NULL);
    return *out ? 0 : be_local_errno (errno, "resolve", path);
}

static int
be_local_rmdir (struct backend *b, const char *path)
{
    (void) b;
    if (rmdir (path) < 0) {
        return errno == ENOTEMPTY || errno == EEXIST
               ? set_error (ENOTEMPTY, "'%s' is not empty", path)
               : be_local_errno (errno, "remove directory", path);
    }
    return 0;
}

static int
be_local_link (struct backend *b, const char *from, const char *to)
{
    (void) b;
    if (link (from, to) < 0) {
        return errno == EEXIST ? set_error (EEXIST, "'%s' already exists", to)
                               : be_local_errno (errno, "link", from);
    }
    return 0;
}

static void
be_local_free (struct backend *b)
{
    free (b);
}

static const struct backend_ops be_local_ops = {
    .struct_size = sizeof (struct backend_ops),
    .name = "local",
    .open = be_local_open,
    .close = be_local_close,
    .get_size = be_local_get_size,
    .pread = be_local_pread,
    .pwrite = be_local_pwrite,
    .flush = be_local_flush,
    .truncate = be_local_truncate,
    .rename = be_local_rename,
    .unlink = be_local_unlink,
    .mkdir = be_local_mkdir,
    .exists = be_local_exists,
    .list = be_local_list,
    .clone_ranges = be_local_clone_ranges,
    .extents = be_local_extents,
    .phys_extents = be_local_phys_extents,
    .free = be_local_free,
    .stat = be_local_stat,
    .resolve = be_local_resolve,
    .link = be_local_link,
    .rmdir = be_local_rmdir,
};

struct backend *
be_local_new (const struct logger *log)
{
    struct backend *b = calloc (1, sizeof *b);

    if (b == NULL) {
        set_error (ENOMEM, "out of memory");
        return NULL;
    }
    b->ops = &be_local_ops;
    b->props = BE_PROP_HOST_PATHS;
    b->log = log;
    return b;
}
