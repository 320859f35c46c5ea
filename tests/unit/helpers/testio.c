/* See testio.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/base/error.h"
#include "testio.h"

#define TEST_IO_MAX_FILES 64

struct test_io {
    struct fmt_io io;
    int fd[TEST_IO_MAX_FILES];
    char *name[TEST_IO_MAX_FILES];
    uint32_t n;
    const uint8_t *mem;
    size_t mem_len;
    char dir[PATH_MAX];
};

static int
tio_pread (void *opaque, uint32_t file, void *buf, size_t n, uint64_t off)
{
    struct test_io *t = opaque;
    size_t done = 0;

    if (file >= t->n) {
        return set_error (EBADF, "no file %u", file);
    }
    if (t->mem) {
        if (off > t->mem_len || n > t->mem_len - off) {
            return set_error (EINVAL, "'%s' is shorter than needed (%zu bytes "
                              "at %llu)", t->name[0], n,
                              (unsigned long long) off);
        }
        memcpy (buf, t->mem + off, n);
        return 0;
    }
    while (done < n) {
        ssize_t r = pread (t->fd[file], (char *) buf + done, n - done,
                           (off_t) (off + done));
        if (r < 0) {
            return set_error (errno, "read '%s': %s", t->name[file],
                              strerror (errno));
        }
        if (r == 0) {
            return set_error (EINVAL, "'%s' is shorter than needed (%zu bytes "
                              "at %llu)", t->name[file], n,
                              (unsigned long long) off);
        }
        done += (size_t) r;
    }
    return 0;
}

static int64_t
tio_size (void *opaque, uint32_t file)
{
    struct test_io *t = opaque;
    struct stat st;

    if (file >= t->n) {
        return set_error (EBADF, "no file %u", file);
    }
    if (t->mem) {
        return (int64_t) t->mem_len;
    }
    if (fstat (t->fd[file], &st) < 0) {
        return set_error (errno, "stat '%s'", t->name[file]);
    }
    return st.st_size;
}

static int
tio_open_rel (void *opaque, uint32_t base, const char *name)
{
    struct test_io *t = opaque;
    char path[PATH_MAX * 2];
    int r, fd;

    (void) base;
    if ((r = fmt_check_rel_path (name)) < 0) {
        return r;
    }
    if (t->mem) {
        return set_error (ENOENT, "'%s': no such file (memory io)", name);
    }
    if (t->n >= TEST_IO_MAX_FILES) {
        return set_error (EMFILE, "too many files");
    }
    snprintf (path, sizeof path, "%s/%s", t->dir, name);
    fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return set_error (errno, "open '%s': %s", path, strerror (errno));
    }
    t->fd[t->n] = fd;
    t->name[t->n] = strdup (path);
    return (int) t->n++;
}

static const char *
tio_name (void *opaque, uint32_t file)
{
    struct test_io *t = opaque;

    return file < t->n ? t->name[file] : "?";
}

static int
tio_extents (void *opaque, uint32_t file, uint64_t off, uint64_t len,
             uint64_t guest_off, struct fmt_extent_list *out)
{
    struct test_io *t = opaque;
    uint64_t pos = off, end = off + len;
    int r;

    while (pos < end) {
        off_t d = lseek (t->fd[file], (off_t) pos, SEEK_DATA);
        off_t h;

        if (d < 0 || (uint64_t) d >= end) {
            return fmt_extents_add_zero (out, guest_off + (pos - off), end - pos);
        }
        if ((uint64_t) d > pos) {
            r = fmt_extents_add_zero (out, guest_off + (pos - off),
                                      (uint64_t) d - pos);
            if (r < 0) {
                return r;
            }
            pos = (uint64_t) d;
        }
        h = lseek (t->fd[file], (off_t) pos, SEEK_HOLE);
        if (h < 0 || (uint64_t) h > end) {
            h = (off_t) end;
        }
        r = fmt_extents_add_data (out, guest_off + (pos - off),
                                  (uint64_t) h - pos, file, pos);
        if (r < 0) {
            return r;
        }
        pos = (uint64_t) h;
    }
    return 0;
}

static void
tio_setup (struct test_io *t)
{
    t->io.opaque = t;
    t->io.pread = tio_pread;
    t->io.size = tio_size;
    t->io.open_rel = tio_open_rel;
    t->io.name = tio_name;
}

struct test_io *
test_io_open (const char *path)
{
    struct test_io *t = calloc (1, sizeof *t);
    char *slash;

    if (t == NULL) {
        return NULL;
    }
    tio_setup (t);
    t->io.extents = tio_extents;
    t->fd[0] = open (path, O_RDONLY | O_CLOEXEC);
    if (t->fd[0] < 0) {
        set_error (errno, "open '%s': %s", path, strerror (errno));
        free (t);
        return NULL;
    }
    t->name[0] = strdup (path);
    t->n = 1;
    snprintf (t->dir, sizeof t->dir, "%s", path);
    slash = strrchr (t->dir, '/');
    if (slash) {
        *slash = '\0';
    } else {
        snprintf (t->dir, sizeof t->dir, ".");
    }
    return t;
}

struct test_io *
test_io_mem (const void *buf, size_t len, const char *name)
{
    struct test_io *t = calloc (1, sizeof *t);

    if (t == NULL) {
        return NULL;
    }
    tio_setup (t);
    t->mem = buf;
    t->mem_len = len;
    t->name[0] = strdup (name ? name : "memory");
    t->fd[0] = -1;
    t->n = 1;
    return t;
}

const struct fmt_io *
test_io_fmt (struct test_io *t)
{
    return &t->io;
}

void
test_io_close (struct test_io *t)
{
    if (t == NULL) {
        return;
    }
    for (uint32_t i = 0; i < t->n; i++) {
        if (t->fd[i] >= 0) {
            close (t->fd[i]);
        }
        free (t->name[i]);
    }
    free (t);
}

static int
texec_place (const struct fmt_placement *p, struct test_io *src, int fd)
{
    uint8_t *buf = NULL, *cbuf = NULL;
    int r = 0;

    if (p->kind == FMT_PLACE_INFLATE) {
        size_t got = 0;

        buf = malloc (p->ulen);
        cbuf = malloc (p->clen);
        if (!buf || !cbuf) {
            r = -ENOMEM;
        } else if ((r = tio_pread (src, p->src_file, cbuf, p->clen,
                                   p->src_off)) == 0 &&
                   (r = fmt_inflate (p->codec, cbuf, p->clen, buf, p->ulen,
                                     &got)) == 0) {
            if (got < p->skip + p->len) {
                r = set_error (EINVAL, "grain too short");
            } else if (pwrite (fd, buf + p->skip, p->len,
                               (off_t) p->dst_off) != (ssize_t) p->len) {
                r = -errno;
            }
        }
    } else {
        uint64_t done = 0;

        buf = malloc (1 << 20);
        if (buf == NULL) {
            return -ENOMEM;
        }
        while (done < p->len && r == 0) {
            size_t n = p->len - done > (1 << 20) ? (1 << 20)
                                                 : (size_t) (p->len - done);

            r = tio_pread (src, p->src_file, buf, n, p->src_off + done);
            if (r == 0 && pwrite (fd, buf, n, (off_t) (p->dst_off + done))
                          != (ssize_t) n) {
                r = set_error (errno, "write: %s", strerror (errno));
            }
            done += n;
        }
    }
    free (buf);
    free (cbuf);
    return r;
}

static int
texec_output (const struct fmt_output *o, struct test_io *src, const char *dir)
{
    char path[PATH_MAX * 2];
    uint8_t *buf;
    int fd, r = 0;

    snprintf (path, sizeof path, "%s/%s", dir, o->name);
    fd = open (path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return set_error (errno, "create '%s': %s", path, strerror (errno));
    }
    if (ftruncate (fd, (off_t) o->file_size) < 0) {
        close (fd);
        return set_error (errno, "truncate '%s'", path);
    }
    for (size_t i = 0; i < o->place.len && r == 0; i++) {
        r = texec_place (&o->place.ptr[i], src, fd);
    }
    buf = malloc (FMT_GEN_CHUNK);
    for (int phase = 0; phase <= 1 && r == 0; phase++) {
        for (size_t i = 0; i < o->blobs.len && r == 0; i++) {
            const struct fmt_blob *b = &o->blobs.ptr[i];

            if (b->phase != phase) {
                continue;
            }
            for (uint64_t off = 0; off < b->len && r == 0; off += FMT_GEN_CHUNK) {
                size_t n = b->len - off > FMT_GEN_CHUNK ? FMT_GEN_CHUNK
                                                        : (size_t) (b->len - off);

                r = fmt_blob_read (b, off, buf, n);
                if (r == 0 && pwrite (fd, buf, n, (off_t) (b->off + off))
                              != (ssize_t) n) {
                    r = set_error (errno, "write '%s'", path);
                }
            }
        }
    }
    free (buf);
    close (fd);
    return r;
}

int
test_exec_layout (const struct fmt_layout *lay, struct test_io *src,
                  const char *dir)
{
    for (size_t i = 0; i < lay->nout; i++) {
        int r = texec_output (&lay->out[i], src, dir);

        if (r < 0) {
            return r;
        }
    }
    return 0;
}

int
test_read_guest (struct test_io *src, const struct fmt_extent_list *map,
                 uint64_t off, void *buf, size_t n)
{
    uint8_t *out = buf;

    while (n > 0) {
        size_t i = fmt_extents_find (map, off);
        const struct fmt_extent *e = &map->v.ptr[i];
        uint64_t d = off - e->guest_off;
        size_t k = e->len - d < n ? (size_t) (e->len - d) : n;
        int r = 0;

        if (e->kind == FMT_EXT_ZERO) {
            memset (out, 0, k);
        } else if (e->kind == FMT_EXT_DATA) {
            r = tio_pread (src, e->file, out, k, e->file_off + d);
        } else {
            struct fmt_placement p = {
                .kind = FMT_PLACE_INFLATE, .src_off = e->file_off,
                .src_file = e->file, .clen = e->clen, .ulen = e->ulen,
                .codec = e->codec, .skip = e->skip + (uint32_t) d,
                .len = k,
            };
            uint8_t *g = malloc (e->ulen), *c = malloc (e->clen);
            size_t got = 0;

            r = (g && c) ? tio_pread (src, e->file, c, e->clen, e->file_off)
                         : -ENOMEM;
            if (r == 0) {
                r = fmt_inflate (e->codec, c, e->clen, g, e->ulen, &got);
            }
            if (r == 0 && got < p.skip + k) {
                r = set_error (EINVAL, "grain too short");
            }
            if (r == 0) {
                memcpy (out, g + p.skip, k);
            }
            free (g);
            free (c);
        }
        if (r < 0) {
            return r;
        }
        out += k;
        off += k;
        n -= k;
    }
    return 0;
}

int
test_sh (const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    int st;

    va_start (ap, fmt);
    vsnprintf (cmd, sizeof cmd, fmt, ap);
    va_end (ap);
    st = system (cmd);
    if (st == -1 || !WIFEXITED (st)) {
        return -1;
    }
    return WEXITSTATUS (st);
}

const char *
test_corpus_dir (void)
{
    static char buf[PATH_MAX];
    const char *c = getenv ("VMSHIFT_CORPUS");
    const char *top = getenv ("VMSHIFT_TOP");
    struct stat st;

    if (c && *c) {
        snprintf (buf, sizeof buf, "%s", c);
    } else {
        snprintf (buf, sizeof buf, "%s/../shared/corpus", top ? top : ".");
    }
    if (stat (buf, &st) < 0 || !S_ISDIR (st.st_mode)) {
        return NULL;
    }
    return buf;
}
