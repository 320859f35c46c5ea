/* See beio.h. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "engine/base/vector.h"
#include "engine/exec/beio.h"

struct beio_alias_ent {
    char *name;
    char *path;
};
DEFINE_VECTOR (beio_file_vec, struct be_file *);
DEFINE_VECTOR (beio_alias_vec, struct beio_alias_ent);

/* Shared reads (vs_beio_set_shared_reads): pieces of a read at most, and
 * shared extents of file 0 remembered. */
#define BEIO_SHARED_PIECES 64
#define BEIO_SHARED_SEEN 64
#define BEIO_SHARED_MIN ((size_t) 64 << 10)

struct beio_seen {
    uint64_t logical;
    uint64_t physical;
    uint64_t len;
};

struct beio {
    struct fmt_io io;
    struct backend *be;
    char *dir;
    struct beio_file_vec files;
    struct beio_alias_vec aliases;
    bool use_extents;
    bool shared_reads;
    struct beio_seen seen[BEIO_SHARED_SEEN];
    size_t nseen;
};

char *
vs_path_dirname (const char *path)
{
    const char *slash = strrchr (path, '/');
    char *d;

    if (slash == NULL) {
        return strdup (".");
    }
    if (slash == path) {
        return strdup ("/");
    }
    d = strndup (path, (size_t) (slash - path));
    return d;
}

const char *
vs_path_basename (const char *path)
{
    const char *slash = strrchr (path, '/');

    return slash ? slash + 1 : path;
}

char *
vs_path_join (const char *dir, const char *name)
{
    size_t dl = strlen (dir), nl = strlen (name);
    char *p;

    if (strcmp (dir, ".") == 0) {
        return strdup (name);
    }
    p = malloc (dl + nl + 2);
    if (p) {
        memcpy (p, dir, dl);
        if (dl == 0 || dir[dl - 1] != '/') {
            p[dl++] = '/';
        }
        memcpy (p + dl, name, nl + 1);
    }
    return p;
}

struct beio_pieces {
    struct be_phys_extent v[BEIO_SHARED_PIECES];
    size_t n;
    bool over;
};

static int
beio_piece_cb (void *opaque, const struct be_phys_extent *e)
{
    struct beio_pieces *p = opaque;

    if (p->n == BEIO_SHARED_PIECES) {
        p->over = true;
        return 1;               /* stop: the read goes the plain way */
    }
    p->v[p->n++] = *e;
    return 0;
}

/* Where in file 0 the physical range [phys, phys + len) was seen at
 * another offset than 'logical'; UINT64_MAX when nowhere. */
static uint64_t
beio_seen_at (const struct beio *io, uint64_t logical, uint64_t phys,
              uint64_t len)
{
    for (size_t i = 0; i < io->nseen; i++) {
        const struct beio_seen *s = &io->seen[i];

        if (s->physical <= phys && phys - s->physical <= s->len &&
            len <= s->len - (phys - s->physical) &&
            s->logical + (phys - s->physical) != logical) {
            return s->logical + (phys - s->physical);
        }
    }
    return UINT64_MAX;
}

/* Remember a shared extent of file 0.  FIEMAP trims extents to the
 * range asked for, so the pieces of one extent come read by read: a
 * piece that continues a remembered one in the file and on the disk
 * extends it (the blocks written once, then cloned at other phases
 * against the reads, are found whole). */
static void
beio_seen_add (struct beio *io, const struct be_phys_extent *e)
{
    for (size_t i = 0; i < io->nseen; i++) {
        struct beio_seen *s = &io->seen[i];

        if (s->logical + s->len == e->logical &&
            s->physical + s->len == e->physical) {
            s->len += e->len;
            return;
        }
        if (s->logical <= e->logical && s->physical <= e->physical &&
            e->logical - s->logical == e->physical - s->physical &&
            e->logical + e->len <= s->logical + s->len) {
            return;             /* known already */
        }
    }
    if (io->nseen < BEIO_SHARED_SEEN) {
        io->seen[io->nseen++] = (struct beio_seen) {
            .logical = e->logical, .physical = e->physical, .len = e->len,
        };
    }
}

/* A read of file 0 with shared reads on: FIEMAP tells which pieces of
 * [off, off + n) are blocks that an earlier read saw at another offset
 * of the file (a clone within the file), and those pieces are read
 * there, where the page cache has them; a clone drops the cached pages
 * of its destination, so reading it in place goes to the disk.  The
 * same blocks hold the same bytes: the caller flushed the file and
 * nobody writes it (vs_beio_set_shared_reads).  Anything FIEMAP cannot
 * vouch for (holes, unwritten, delayed or unknown extents, more pieces
 * than fit) is read in place. */
static int
beio_pread_shared (struct beio *io, struct be_file *f, uint8_t *buf,
                   size_t n, uint64_t off)
{
    struct beio_pieces p = { .n = 0 };
    uint64_t pos = off, end = off + n;
    int r;

    r = backend_phys_extents (f, off, n, beio_piece_cb, &p);
    if (r < 0 || p.over) {
        clear_error ();
        return backend_pread (f, buf, n, off);
    }
    for (size_t i = 0; i < p.n && pos < end; i++) {
        const struct be_phys_extent *e = &p.v[i];
        uint64_t lo = e->logical > pos ? e->logical : pos;
        uint64_t hi = e->logical + e->len < end ? e->logical + e->len : end;
        uint64_t at;

        if (e->logical >= end || hi <= lo || (e->flags & BE_PHYS_UNKNOWN) ||
            !(e->flags & BE_PHYS_SHARED)) {
            continue;
        }
        at = beio_seen_at (io, lo, e->physical + (lo - e->logical), hi - lo);
        if (at == UINT64_MAX) {
            beio_seen_add (io, e);
            continue;
        }
        /* in place up to the piece, then the piece where it was seen */
        if (lo > pos && (r = backend_pread (f, buf + (pos - off),
                                            (size_t) (lo - pos), pos)) < 0) {
            return r;
        }
        vs_log_debug (f->b->log, LOGM_EXEC, "'%s': %" PRIu64 " bytes at %"
                      PRIu64 " are the blocks at %" PRIu64 " (FIEMAP); read "
                      "there", f->path, hi - lo, lo, at);
        r = backend_pread (f, buf + (lo - off), (size_t) (hi - lo), at);
        if (r < 0) {
            return r;
        }
        pos = hi;
    }
    return pos < end ? backend_pread (f, buf + (pos - off),
                                      (size_t) (end - pos), pos) : 0;
}

static int
beio_pread (void *opaque, uint32_t file, void *buf, size_t n, uint64_t off)
{
    struct beio *io = opaque;

    if (file >= io->files.len) {
        return set_error (EBADF, "no source file #%u", file);
    }
    if (file == 0 && io->shared_reads && n >= BEIO_SHARED_MIN &&
        (io->files.ptr[0]->caps & BE_CAP_PHYS)) {
        return beio_pread_shared (io, io->files.ptr[0], buf, n, off);
    }
    return backend_pread (io->files.ptr[file], buf, n, off);
}

static int64_t
beio_size (void *opaque, uint32_t file)
{
    struct beio *io = opaque;

    if (file >= io->files.len) {
        return set_error (EBADF, "no source file #%u", file);
    }
    return backend_get_size (io->files.ptr[file]);
}

static const char *
beio_name (void *opaque, uint32_t file)
{
    struct beio *io = opaque;

    return file < io->files.len ? io->files.ptr[file]->path : "?";
}

/* Refuse a name that resolves (through symbolic links) outside the
 * descriptor's directory, on every backend that can resolve names. */
static int
beio_check_contained (struct beio *io, const char *path, const char *name)
{
    char *rdir = NULL, *rpath = NULL;
    size_t l;
    int r;

    r = backend_resolve (io->be, io->dir, &rdir);
    if (r == -ENOTSUP) {
        clear_error ();
        return 0;
    }
    if (r == 0 && strchr (name, '/') == NULL && strcmp (name, "..") != 0 &&
        strcmp (name, ".") != 0) {
        /* One plain component: the path resolves to the directory's own
         * resolution plus the name, unless the name is itself a link.
         * One stat instead of resolving the directory again (over NFS
         * every prefix of it costs a round trip per component). */
        struct be_stat st = { .struct_size = sizeof st };

        r = backend_stat (io->be, path, BE_STAT_NOFOLLOW, &st);
        if (r == 0 && st.type != BE_TYPE_LNK) {
            rpath = vs_path_join (rdir, name);
            r = rpath ? 0 : set_error (ENOMEM, "out of memory");
        }
    }
    if (r == 0 && !rpath) {
        r = backend_resolve (io->be, path, &rpath);
    }
    if (r < 0) {
        goto out;
    }
    l = strlen (rdir);
    if (strcmp (rdir, "/") != 0 && strcmp (rdir, ".") != 0 &&
        (strncmp (rpath, rdir, l) != 0 || rpath[l] != '/')) {
        r = set_error (EINVAL, "extent file '%s' resolves to '%s', outside "
                       "the descriptor's directory '%s'", name, rpath, rdir);
    } else if (strcmp (rdir, ".") == 0 &&
               (rpath[0] == '/' || strchr (rpath, '/') != NULL)) {
        r = set_error (EINVAL, "extent file '%s' resolves to '%s', outside "
                       "the descriptor's directory", name, rpath);
    }
out:
    free (rdir);
    free (rpath);
    return r;
}

static int
beio_add_file (struct beio *io, const char *path)
{
    struct be_file *f;
    int r;

    if (io->files.len >= FMT_MAX_FILES) {
        return set_error (EMFILE, "more than %d files in one disk",
                          FMT_MAX_FILES);
    }
    r = backend_open (io->be, path, BE_RDONLY, &f);
    if (r < 0) {
        return r;
    }
    r = beio_file_vec_append (&io->files, f);
    if (r < 0) {
        backend_close (f);
        return r;
    }
    return (int) io->files.len - 1;
}

static int
beio_open_rel (void *opaque, uint32_t base, const char *name)
{
    struct beio *io = opaque;
    char *path;
    int r;

    (void) base;        /* every file of a disk shares file 0's directory */
    r = fmt_check_rel_path (name);
    if (r < 0) {
        return r;
    }
    for (size_t i = 0; i < io->aliases.len; i++) {
        if (strcmp (io->aliases.ptr[i].name, name) == 0) {
            return beio_add_file (io, io->aliases.ptr[i].path);
        }
    }
    path = vs_path_join (io->dir, name);
    if (path == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    r = backend_exists (io->be, path);
    if (r == 0) {
        r = set_error (ENOENT, "extent or parent file '%s' not found", path);
    }
    if (r > 0) {
        r = beio_check_contained (io, path, name);
        if (r == 0) {
            r = beio_add_file (io, path);
        }
    }
    free (path);
    return r;
}

/* Absolute names (qcow2 data files) are accepted only when they resolve
 * inside file 0's directory, on the local backend, or when they name a
 * file we were told to stand in for (a target read back before rename). */
static int
beio_open_abs (void *opaque, uint32_t base, const char *name)
{
    struct beio *io = opaque;
    const char *slash = strrchr (name, '/');
    int r;

    (void) base;
    for (size_t i = 0; i < io->aliases.len; i++) {
        if (strcmp (io->aliases.ptr[i].name, name) == 0) {
            return beio_add_file (io, io->aliases.ptr[i].path);
        }
    }
    if (!(io->be->props & BE_PROP_HOST_PATHS) || slash == NULL ||
        slash[1] == '\0') {
        return set_error (EINVAL, "absolute file name '%s' is only followed "
                          "on local files", name);
    }
    r = beio_check_contained (io, name, name);
    if (r == 0) {
        r = beio_add_file (io, name);
    }
    return r;
}

struct beio_ext_ctx {
    struct fmt_extent_list *out;
    uint32_t file;
    uint64_t off;
    uint64_t guest_off;
};

static int
beio_ext_cb (void *opaque, uint64_t off, uint64_t len, bool data)
{
    struct beio_ext_ctx *c = opaque;
    uint64_t g = c->guest_off + (off - c->off);

    if (data) {
        return fmt_extents_add_data (c->out, g, len, c->file, off);
    }
    return fmt_extents_add_zero (c->out, g, len);
}

static int
beio_extents (void *opaque, uint32_t file, uint64_t off, uint64_t len,
              uint64_t guest_off, struct fmt_extent_list *out)
{
    struct beio *io = opaque;
    struct beio_ext_ctx c = {
        .out = out, .file = file, .off = off, .guest_off = guest_off,
    };
    struct be_file *f;

    if (file >= io->files.len) {
        return set_error (EBADF, "no source file #%u", file);
    }
    f = io->files.ptr[file];
    if (!io->use_extents || !(f->caps & BE_CAP_EXTENTS)) {
        return fmt_extents_add_data (out, guest_off, len, file, off);
    }
    return backend_extents (f, off, len, beio_ext_cb, &c);
}

void
vs_beio_set_shared_reads (struct beio *io, bool on)
{
    io->shared_reads = on;
    io->nseen = 0;
}

int
vs_beio_open (struct backend *be, const char *path, struct beio **out)
{
    struct beio *io = calloc (1, sizeof *io);
    int r;

    if (io == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    io->be = be;
    io->use_extents = true;
    io->dir = vs_path_dirname (path);
    io->io.opaque = io;
    io->io.pread = beio_pread;
    io->io.size = beio_size;
    io->io.open_rel = beio_open_rel;
    io->io.name = beio_name;
    io->io.extents = beio_extents;
    io->io.open_abs = beio_open_abs;
    if (io->dir == NULL) {
        free (io);
        return set_error (ENOMEM, "out of memory");
    }
    r = beio_add_file (io, path);
    if (r < 0) {
        vs_beio_close (io);
        return r;
    }
    *out = io;
    return 0;
}

void
vs_beio_close (struct beio *io)
{
    if (io == NULL) {
        return;
    }
    for (size_t i = 0; i < io->files.len; i++) {
        backend_close (io->files.ptr[i]);
    }
    beio_file_vec_reset (&io->files);
    for (size_t i = 0; i < io->aliases.len; i++) {
        free (io->aliases.ptr[i].name);
        free (io->aliases.ptr[i].path);
    }
    beio_alias_vec_reset (&io->aliases);
    free (io->dir);
    free (io);
}

const struct fmt_io *
vs_beio_fmt (struct beio *io)
{
    return &io->io;
}

int
vs_beio_alias (struct beio *io, const char *name, const char *path)
{
    struct beio_alias_ent a = { strdup (name), strdup (path) };
    int r;

    if (a.name == NULL || a.path == NULL) {
        free (a.name);
        free (a.path);
        return set_error (ENOMEM, "out of memory");
    }
    r = beio_alias_vec_append (&io->aliases, a);
    if (r < 0) {
        free (a.name);
        free (a.path);
    }
    return r;
}

uint32_t
vs_beio_nfiles (const struct beio *io)
{
    return (uint32_t) io->files.len;
}

struct be_file *
vs_beio_file (struct beio *io, uint32_t idx)
{
    return idx < io->files.len ? io->files.ptr[idx] : NULL;
}

struct backend *
vs_beio_backend (struct beio *io)
{
    return io->be;
}

void
vs_beio_error_names (const char *path)
{
    const char *msg = vmshift_internal_error_msg ();
    size_t n = strlen (path);
    const char *p = msg;

    while ((p = strstr (p, path)) != NULL) {
        if (p > msg && p[-1] == '\'' && p[n] == '\'') {
            return;
        }
        p++;
    }
    error_prepend ("'%s': ", path);
}

int
vs_beio_check_not_empty (struct beio *io)
{
    int64_t sz = backend_get_size (io->files.ptr[0]);

    if (sz < 0) {
        return (int) sz;
    }
    if (sz == 0) {
        return set_error (EINVAL, "'%s' is empty (0 bytes), not a disk image",
                          io->files.ptr[0]->path);
    }
    return 0;
}

void
vs_beio_set_extents (struct beio *io, bool on)
{
    io->use_extents = on;
}
