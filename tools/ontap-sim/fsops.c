/* The file-system side of jobs: snapshot trees made of reflinks, their
 * removal, and file clones by FICLONE / FICLONERANGE.  There is no copy
 * fallback: on a file system without reflinks the job fails and says so,
 * because a simulator that silently copied would hide exactly what the
 * tests want to see. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/ontap-sim/sim.h"

#define SIM_TREE_DEPTH 64

struct sim_tree_ctx {
    char *msg;
    size_t msgsz;
    unsigned files;
};

static int
sim_tree_fail (struct sim_tree_ctx *c, const char *what, const char *name,
               int err)
{
    snprintf (c->msg, c->msgsz, "%s '%s': %s", what, name, strerror (err));
    return -err;
}

static int sim_copy_dir (struct sim_tree_ctx *c, int sfd, int dfd, int depth);

static int
sim_copy_file (struct sim_tree_ctx *c, int sdir, int ddir, const char *name,
               const struct stat *st)
{
    int s = openat (sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    int d = -1, r = 0;

    if (s < 0) {
        return sim_tree_fail (c, "cannot open", name, errno);
    }
    d = openat (ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (d < 0) {
        r = sim_tree_fail (c, "cannot create", name, errno);
    } else if (ioctl (d, FICLONE, s) < 0) {
        r = sim_tree_fail (c, "cannot reflink", name, errno);
    } else {
        struct timespec ts[2] = { st->st_atim, st->st_mtim };

        (void) futimens (d, ts);
        if (fchmod (d, st->st_mode & 07555) < 0) {
            r = sim_tree_fail (c, "cannot chmod", name, errno);
        }
        c->files++;
    }
    close (s);
    if (d >= 0) {
        close (d);
    }
    return r;
}

static int
sim_copy_subdir (struct sim_tree_ctx *c, int sdir, int ddir, const char *name,
                 const struct stat *st, int depth)
{
    int s, d, r;

    if (mkdirat (ddir, name, 0700) < 0) {
        return sim_tree_fail (c, "cannot create directory", name, errno);
    }
    s = openat (sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    d = openat (ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (s < 0 || d < 0) {
        r = sim_tree_fail (c, "cannot open directory", name, errno);
    } else {
        r = sim_copy_dir (c, s, d, depth + 1);
    }
    if (r == 0) {
        struct timespec ts[2] = { st->st_atim, st->st_mtim };

        (void) futimens (d, ts);
        /* Read-only once its contents are in place. */
        if (fchmod (d, st->st_mode & 07555) < 0) {
            r = sim_tree_fail (c, "cannot chmod", name, errno);
        }
    }
    if (s >= 0) {
        close (s);
    }
    if (d >= 0) {
        close (d);
    }
    return r;
}

static int
sim_copy_entry (struct sim_tree_ctx *c, int sfd, int dfd, const char *name,
                int depth)
{
    struct stat st;
    char target[PATH_MAX];
    ssize_t n;

    if (fstatat (sfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        return sim_tree_fail (c, "cannot stat", name, errno);
    }
    if (S_ISREG (st.st_mode)) {
        return sim_copy_file (c, sfd, dfd, name, &st);
    }
    if (S_ISDIR (st.st_mode)) {
        return sim_copy_subdir (c, sfd, dfd, name, &st, depth);
    }
    if (S_ISLNK (st.st_mode)) {
        n = readlinkat (sfd, name, target, sizeof target - 1);
        if (n < 0) {
            return sim_tree_fail (c, "cannot read link", name, errno);
        }
        target[n] = '\0';
        if (symlinkat (target, dfd, name) < 0) {
            return sim_tree_fail (c, "cannot create link", name, errno);
        }
    }
    return 0;   /* sockets, fifos and devices are not part of snapshots */
}

static int
sim_copy_dir (struct sim_tree_ctx *c, int sfd, int dfd, int depth)
{
    int dup_fd, r = 0;
    struct dirent *de;
    DIR *d;

    if (depth > SIM_TREE_DEPTH) {
        snprintf (c->msg, c->msgsz, "directory tree deeper than %d levels",
                  SIM_TREE_DEPTH);
        return -ELOOP;
    }
    dup_fd = dup (sfd);
    d = dup_fd >= 0 ? fdopendir (dup_fd) : NULL;
    if (d == NULL) {
        if (dup_fd >= 0) {
            close (dup_fd);
        }
        return sim_tree_fail (c, "cannot list", ".", errno);
    }
    while (r == 0 && (de = readdir (d)) != NULL) {
        if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0 ||
            (depth == 0 && strcmp (de->d_name, ".snapshot") == 0)) {
            continue;
        }
        r = sim_copy_entry (c, sfd, dfd, de->d_name, depth);
    }
    closedir (d);
    return r;
}

/* Remove a tree, making directories writable first (snapshots are
 * read-only).  Depth-limited like the copy. */
static int
sim_remove_at (int dirfd, const char *name, int depth)
{
    struct stat st;
    int fd, r = 0;
    DIR *d;
    struct dirent *de;

    if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        return errno == ENOENT ? 0 : -errno;
    }
    if (!S_ISDIR (st.st_mode)) {
        return unlinkat (dirfd, name, 0) < 0 ? -errno : 0;
    }
    if (depth > SIM_TREE_DEPTH) {
        return -ELOOP;
    }
    fd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fchmod (fd, 0700) < 0 || (d = fdopendir (fd)) == NULL) {
        r = -errno;
        if (fd >= 0) {
            close (fd);
        }
        return r;
    }
    while (r == 0 && (de = readdir (d)) != NULL) {
        if (strcmp (de->d_name, ".") && strcmp (de->d_name, "..")) {
            r = sim_remove_at (fd, de->d_name, depth + 1);
        }
    }
    closedir (d);
    if (r == 0 && unlinkat (dirfd, name, AT_REMOVEDIR) < 0) {
        r = -errno;
    }
    return r;
}

int
sim_remove_tree (const char *path)
{
    return sim_remove_at (AT_FDCWD, path, 0);
}

int
sim_snapshot_create (struct sim_volume *v, const char *name, char *msg,
                     size_t msgsz)
{
    char dir[PATH_MAX], tmp[PATH_MAX], fin[PATH_MAX];
    struct sim_tree_ctx c = { msg, msgsz, 0 };
    int s = -1, d = -1, r;

    if (snprintf (dir, sizeof dir, "%s/.snapshot", v->path) >= (int) sizeof dir ||
        snprintf (tmp, sizeof tmp, "%s/.creating-%s", dir, name) >= (int) sizeof tmp ||
        snprintf (fin, sizeof fin, "%s/%s", dir, name) >= (int) sizeof fin) {
        return sim_tree_fail (&c, "path too long for snapshot", name,
                              ENAMETOOLONG);
    }
    if ((mkdir (dir, 0755) < 0 && errno != EEXIST) || mkdir (tmp, 0700) < 0) {
        return sim_tree_fail (&c, "cannot create", tmp, errno);
    }
    s = open (v->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    d = open (tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s < 0 || d < 0) {
        r = sim_tree_fail (&c, "cannot open", v->path, errno);
    } else {
        r = sim_copy_dir (&c, s, d, 0);
    }
    if (r == 0 && fchmod (d, 0555) < 0) {
        r = sim_tree_fail (&c, "cannot chmod", tmp, errno);
    }
    if (s >= 0) {
        close (s);
    }
    if (d >= 0) {
        close (d);
    }
    /* The snapshot appears whole or not at all. */
    if (r == 0 && rename (tmp, fin) < 0) {
        r = sim_tree_fail (&c, "cannot rename", tmp, errno);
    }
    if (r < 0) {
        sim_remove_tree (tmp);
    }
    return r;
}

int
sim_snapshot_delete (struct sim_volume *v, const char *name, char *msg,
                     size_t msgsz)
{
    char p[PATH_MAX];
    int r;

    snprintf (p, sizeof p, "%s/.snapshot/%s", v->path, name);
    r = sim_remove_tree (p);
    if (r < 0) {
        snprintf (msg, msgsz, "cannot delete snapshot '%s': %s", name,
                  strerror (-r));
    }
    return r;
}

int
sim_snapshot_rename (struct sim_volume *v, const char *from, const char *to,
                     char *msg, size_t msgsz)
{
    char a[PATH_MAX], b[PATH_MAX];
    struct sim_snap *s = sim_snap_by_name (v, from);

    if (strcmp (from, to) == 0) {
        return 0;
    }
    snprintf (a, sizeof a, "%s/.snapshot/%s", v->path, from);
    snprintf (b, sizeof b, "%s/.snapshot/%s", v->path, to);
    /* RENAME_NOREPLACE: a snapshot made meanwhile is not replaced. */
    if (renameat2 (AT_FDCWD, a, AT_FDCWD, b, RENAME_NOREPLACE) < 0) {
        int e = errno;

        snprintf (msg, msgsz, "cannot rename snapshot '%s' to '%s': %s",
                  from, to, strerror (e));
        return -e;
    }
    if (s) {
        snprintf (s->name, sizeof s->name, "%s", to);
    }
    return 0;
}

static int
sim_clone_whole (int s, const char *dpath, const char *name, bool overwrite,
                 char *msg, size_t msgsz)
{
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (overwrite ? O_TRUNC : O_EXCL);
    int d = open (dpath, flags, 0644);
    int r = 0;

    if (d < 0) {
        snprintf (msg, msgsz, "cannot create '%s': %s", name, strerror (errno));
        return -errno;
    }
    if (ioctl (d, FICLONE, s) < 0) {
        r = -errno;
        snprintf (msg, msgsz, "clone into '%s' failed: %s", name,
                  strerror (errno));
    }
    close (d);
    if (r < 0 && !overwrite) {
        unlink (dpath);
    }
    return r;
}

/* The source's last block is partial.  FICLONERANGE only takes such a
 * tail when the destination range reaches the destination's EOF; ONTAP
 * has no such rule (a WAFL block is whole, zeros after EOF), so clone
 * the aligned part and write the tail plus zeros up to the block end,
 * without growing the destination. */
static int
sim_clone_tail (int s, int d, struct file_clone_range *fcr, uint64_t dsize)
{
    uint64_t tail = fcr->src_length % SIM_BLOCK;
    uint64_t whole = fcr->src_length - tail, pad = SIM_BLOCK;
    char buf[SIM_BLOCK];

    if (whole > 0) {
        struct file_clone_range head = *fcr;

        head.src_length = whole;
        if (ioctl (d, FICLONERANGE, &head) < 0) {
            return -errno;
        }
    }
    memset (buf, 0, sizeof buf);
    if (pread (s, buf, tail, (off_t) (fcr->src_offset + whole)) != (ssize_t) tail) {
        return -EIO;
    }
    if (fcr->dest_offset + whole + pad > dsize) {
        pad = dsize > fcr->dest_offset + whole + tail ?
              dsize - fcr->dest_offset - whole : tail;
    }
    if (pwrite (d, buf, pad, (off_t) (fcr->dest_offset + whole)) != (ssize_t) pad) {
        return -EIO;
    }
    return 0;
}

static int
sim_clone_one (int s, int d, const struct sim_range *g, const struct stat *sst,
               const struct stat *dst)
{
    struct file_clone_range fcr = {
        .src_fd = s, .src_offset = g->src * SIM_BLOCK,
        .src_length = g->count * SIM_BLOCK, .dest_offset = g->dst * SIM_BLOCK,
    };

    if (fcr.src_offset + fcr.src_length > (uint64_t) sst->st_size) {
        fcr.src_length = (uint64_t) sst->st_size - fcr.src_offset;
        if (fcr.src_length % SIM_BLOCK &&
            fcr.dest_offset + fcr.src_length < (uint64_t) dst->st_size) {
            return sim_clone_tail (s, d, &fcr, (uint64_t) dst->st_size);
        }
    }
    return ioctl (d, FICLONERANGE, &fcr) < 0 ? -errno : 0;
}

static int
sim_clone_sub (int s, const char *dpath, const struct sim_job *j, char *msg,
               size_t msgsz)
{
    struct stat sst, dst;
    int d = open (dpath, O_RDWR | O_CLOEXEC);
    int r = 0;

    if (d < 0 || fstat (s, &sst) < 0 || fstat (d, &dst) < 0) {
        r = -errno;
        snprintf (msg, msgsz, "cannot open '%s': %s", j->b, strerror (errno));
    }
    for (size_t i = 0; r == 0 && i < j->nranges; i++) {
        const struct sim_range *g = &j->ranges[i];

        r = sim_clone_one (s, d, g, &sst, &dst);
        if (r < 0) {
            snprintf (msg, msgsz, "clone of range %" PRIu64 ":%" PRIu64 ":%"
                      PRIu64 " into '%s' failed: %s", g->src, g->dst, g->count,
                      j->b, strerror (-r));
        }
    }
    if (d >= 0) {
        close (d);
    }
    return r;
}

int
sim_clone_run (struct sim_volume *v, const struct sim_job *j, char *msg,
               size_t msgsz)
{
    char spath[PATH_MAX], dpath[PATH_MAX];
    int s, r;

    snprintf (spath, sizeof spath, "%s/%s", v->path, j->a);
    snprintf (dpath, sizeof dpath, "%s/%s", v->path, j->b);
    s = open (spath, O_RDONLY | O_CLOEXEC);
    if (s < 0) {
        snprintf (msg, msgsz, "cannot open '%s': %s", j->a, strerror (errno));
        return -errno;
    }
    if (j->whole_file) {
        r = sim_clone_whole (s, dpath, j->b, j->overwrite, msg, msgsz);
    } else {
        r = sim_clone_sub (s, dpath, j, msg, msgsz);
    }
    close (s);
    return r;
}
