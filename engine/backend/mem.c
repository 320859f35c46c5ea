/* In-memory backend: a directory tree held in memory, for unit tests of
 * the executor and the conversion pipeline without a filesystem or a
 * server (docs/internals/backends.md).
 *
 * Names are normalized ("./a//b" is "a/b"; a leading '/' is dropped, so
 * absolute and relative spellings name the same file).  The root always
 * exists; a file or directory can only be made in an existing directory.
 * File data is shared between the names of a file (link) and its open
 * handles, and freed with the last of them.  clone_ranges copies bytes
 * and counts as a clone.  No symbolic links, so resolve only normalizes.
 *
 * Thread model: one thread at a time per backend.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend/backend.h"
#include "engine/base/error.h"

/* Files of a backend are capped so that a bad size in a test is an error,
 * not the machine's memory. */
#define BE_MEM_MAX_FILE ((uint64_t) 1 << 32)

struct be_mem_data {
    uint8_t *buf;
    uint64_t size;
    uint64_t fileid;
    unsigned refs;              /* names + open handles */
};

struct be_mem_node {
    char *name;                 /* normalized */
    enum be_type type;
    struct be_mem_data *data;   /* files only */
    uint64_t fileid;            /* directories */
};

struct be_mem {
    struct backend b;           /* first */
    struct be_mem_node *nodes;
    size_t n, cap;
    uint64_t next_id;
};

struct be_mem_file {
    struct be_file f;           /* first */
    struct be_mem_data *data;
};

static struct be_mem *
be_mem_of (struct backend *b)
{
    return (struct be_mem *) b;
}

static struct be_mem_data *
be_mem_fdata (struct be_file *f)
{
    return ((struct be_mem_file *) f)->data;
}

static void
be_mem_unref (struct be_mem_data *d)
{
    if (d && --d->refs == 0) {
        free (d->buf);
        free (d);
    }
}

/* "./a//b/" -> "a/b"; "" is the root. */
static char *
be_mem_norm (const char *path)
{
    char *out = malloc (strlen (path) + 1), *o = out;
    const char *p = path;

    if (out == NULL) {
        set_error (ENOMEM, "out of memory");
        return NULL;
    }
    while (*p) {
        const char *e = strchr (p, '/');
        size_t l = e ? (size_t) (e - p) : strlen (p);

        if (l > 0 && !(l == 1 && p[0] == '.')) {
            if (o != out) {
                *o++ = '/';
            }
            memcpy (o, p, l);
            o += l;
        }
        p += l + (e != NULL);
    }
    *o = '\0';
    return out;
}

static struct be_mem_node *
be_mem_find (struct be_mem *m, const char *norm)
{
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp (m->nodes[i].name, norm) == 0) {
            return &m->nodes[i];
        }
    }
    return NULL;
}

/* 0 when the parent directory of norm exists. */
static int
be_mem_parent_ok (struct be_mem *m, const char *norm, const char *path)
{
    const char *s = strrchr (norm, '/');
    struct be_mem_node *d;
    char *parent;

    if (s == NULL) {
        return 0;
    }
    parent = strndup (norm, (size_t) (s - norm));
    if (parent == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    d = be_mem_find (m, parent);
    free (parent);
    if (d == NULL) {
        return set_error (ENOENT, "mem: '%s': no such directory", path);
    }
    return d->type == BE_TYPE_DIR ? 0
           : set_error (ENOTDIR, "mem: '%s': not a directory", path);
}

/* Add a node (takes norm). */
static int
be_mem_add (struct be_mem *m, char *norm, enum be_type type,
            struct be_mem_data *data)
{
    if (m->n == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 16;
        struct be_mem_node *nn = realloc (m->nodes, nc * sizeof *nn);

        if (nn == NULL) {
            free (norm);
            return set_error (ENOMEM, "out of memory");
        }
        m->nodes = nn;
        m->cap = nc;
    }
    m->nodes[m->n].name = norm;
    m->nodes[m->n].type = type;
    m->nodes[m->n].data = data;
    m->nodes[m->n].fileid = ++m->next_id;
    m->n++;
    return 0;
}

static void
be_mem_remove (struct be_mem *m, struct be_mem_node *nd)
{
    free (nd->name);
    be_mem_unref (nd->data);
    *nd = m->nodes[--m->n];
}

static int
be_mem_open (struct backend *b, const char *path, unsigned flags,
             struct be_file **out)
{
    struct be_mem *m = be_mem_of (b);
    char *norm = be_mem_norm (path);
    struct be_mem_node *nd;
    struct be_mem_file *f;
    int r = 0;

    if (norm == NULL) {
        return -ENOMEM;
    }
    nd = be_mem_find (m, norm);
    if (nd && (flags & BE_CREATE)) {
        r = set_error (EEXIST, "mem: cannot create '%s': it exists", path);
    } else if (nd == NULL && !(flags & BE_CREATE)) {
        r = set_error (ENOENT, "mem: cannot open '%s': no such file", path);
    } else if (nd && nd->type != BE_TYPE_REG) {
        r = set_error (EINVAL, "mem: '%s' is not a regular file", path);
    } else if (nd == NULL) {
        struct be_mem_data *d = calloc (1, sizeof *d);

        r = d ? be_mem_parent_ok (m, norm, path)
              : set_error (ENOMEM, "out of memory");
        if (r == 0) {
            d->fileid = ++m->next_id;
            d->refs = 1;
            r = be_mem_add (m, norm, BE_TYPE_REG, d);
            norm = NULL;
            nd = r == 0 ? &m->nodes[m->n - 1] : NULL;
        }
        if (r < 0) {
            free (d);
        }
    }
    free (norm);
    if (r < 0) {
        return r;
    }
    f = calloc (1, sizeof *f);
    if (f == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    be_file_init (&f->f, b, path, flags);
    f->f.caps = BE_CAP_CLONE | BE_CAP_CLONE_SELF;
    f->f.fs_id = (uint64_t) (uintptr_t) m;
    f->data = nd->data;
    f->data->refs++;
    *out = &f->f;
    return 0;
}

static void
be_mem_close (struct be_file *f)
{
    be_mem_unref (be_mem_fdata (f));
    be_file_release (f);
    free (f);
}

static int64_t
be_mem_get_size (struct be_file *f)
{
    return (int64_t) be_mem_fdata (f)->size;
}

static int
be_mem_pread (struct be_file *f, void *buf, size_t n, uint64_t off)
{
    struct be_mem_data *d = be_mem_fdata (f);

    if (off > d->size || n > d->size - off) {
        return set_error (EINVAL, "mem: '%s' is shorter than expected: no "
                          "data at offset %llu", f->path,
                          (unsigned long long) (off > d->size ? off : d->size));
    }
    memcpy (buf, d->buf + off, n);
    return 0;
}

static int
be_mem_resize (struct be_mem_data *d, uint64_t size, const char *path)
{
    uint8_t *nb;

    if (size > BE_MEM_MAX_FILE) {
        return set_error (EFBIG, "mem: '%s': %llu bytes is more than this "
                          "backend holds", path, (unsigned long long) size);
    }
    nb = realloc (d->buf, size ? (size_t) size : 1);
    if (nb == NULL) {
        return set_error (ENOMEM, "out of memory for '%s'", path);
    }
    if (size > d->size) {
        memset (nb + d->size, 0, (size_t) (size - d->size));
    }
    d->buf = nb;
    d->size = size;
    return 0;
}

static int
be_mem_pwrite (struct be_file *f, const void *buf, size_t n, uint64_t off)
{
    struct be_mem_data *d = be_mem_fdata (f);
    int r = 0;

    if (off + n > d->size) {
        r = be_mem_resize (d, off + n, f->path);
    }
    if (r == 0) {
        memcpy (d->buf + off, buf, n);
    }
    return r;
}

static int
be_mem_flush (struct be_file *f)
{
    (void) f;
    return 0;
}

static int
be_mem_truncate (struct be_file *f, uint64_t size)
{
    return be_mem_resize (be_mem_fdata (f), size, f->path);
}

/* Look up both names of a rename or link. */
static int
be_mem_two (struct be_mem *m, const char *from, const char *to,
            struct be_mem_node **nf, char **nto)
{
    char *a = be_mem_norm (from);
    int r;

    if (a == NULL) {
        return -ENOMEM;
    }
    *nf = be_mem_find (m, a);
    free (a);
    if (*nf == NULL) {
        return set_error (ENOENT, "mem: '%s': no such file", from);
    }
    *nto = be_mem_norm (to);
    if (*nto == NULL) {
        return -ENOMEM;
    }
    r = be_mem_parent_ok (m, *nto, to);
    if (r < 0) {
        free (*nto);
    }
    return r;
}

static int
be_mem_rename (struct backend *b, const char *from, const char *to,
               bool replace)
{
    struct be_mem *m = be_mem_of (b);
    struct be_mem_node *nf, *nt;
    char *nto;
    size_t i;
    int r = be_mem_two (m, from, to, &nf, &nto);

    if (r < 0) {
        return r;
    }
    nt = be_mem_find (m, nto);
    if (nt == nf) {
        free (nto);
        return 0;
    }
    if (nt && !replace) {
        free (nto);
        return set_error (EEXIST, "mem: '%s' already exists", to);
    }
    if (nt && nt->type == BE_TYPE_DIR) {
        free (nto);
        return set_error (EISDIR, "mem: '%s' is a directory", to);
    }
    i = (size_t) (nf - m->nodes);
    if (nt) {
        size_t last = m->n - 1;

        be_mem_remove (m, nt);
        if (i == last) {
            i = (size_t) (nt - m->nodes);   /* moved into the hole */
        }
    }
    free (m->nodes[i].name);
    m->nodes[i].name = nto;
    return 0;
}

static int
be_mem_link (struct backend *b, const char *from, const char *to)
{
    struct be_mem *m = be_mem_of (b);
    struct be_mem_node *nf;
    struct be_mem_data *d;
    char *nto;
    int r = be_mem_two (m, from, to, &nf, &nto);

    if (r < 0) {
        return r;
    }
    if (be_mem_find (m, nto)) {
        free (nto);
        return set_error (EEXIST, "mem: '%s' already exists", to);
    }
    if (nf->type != BE_TYPE_REG) {
        free (nto);
        return set_error (EPERM, "mem: '%s' is not a regular file", from);
    }
    d = nf->data;
    r = be_mem_add (m, nto, BE_TYPE_REG, d);
    if (r == 0) {
        d->refs++;
    }
    return r;
}

static int
be_mem_unlink (struct backend *b, const char *path)
{
    struct be_mem *m = be_mem_of (b);
    char *norm = be_mem_norm (path);
    struct be_mem_node *nd;

    if (norm == NULL) {
        return -ENOMEM;
    }
    nd = be_mem_find (m, norm);
    free (norm);
    if (nd == NULL) {
        return set_error (ENOENT, "mem: cannot remove '%s': no such file",
                          path);
    }
    if (nd->type == BE_TYPE_DIR) {
        return set_error (EISDIR, "mem: cannot remove '%s': a directory",
                          path);
    }
    be_mem_remove (m, nd);
    return 0;
}

static int
be_mem_mkdir (struct backend *b, const char *path)
{
    struct be_mem *m = be_mem_of (b);
    char *norm = be_mem_norm (path);
    struct be_mem_node *nd;
    int r;

    if (norm == NULL) {
        return -ENOMEM;
    }
    nd = be_mem_find (m, norm);
    if (nd || norm[0] == '\0') {
        free (norm);
        return nd && nd->type != BE_TYPE_DIR
               ? set_error (EEXIST, "mem: '%s' exists", path) : 0;
    }
    r = be_mem_parent_ok (m, norm, path);
    if (r < 0) {
        free (norm);
        return r;
    }
    return be_mem_add (m, norm, BE_TYPE_DIR, NULL);
}

static int
be_mem_stat (struct backend *b, const char *path, unsigned flags,
             struct be_stat *st)
{
    struct be_mem *m = be_mem_of (b);
    char *norm = be_mem_norm (path);
    struct be_mem_node *nd;

    (void) flags;
    if (norm == NULL) {
        return -ENOMEM;
    }
    nd = be_mem_find (m, norm);
    st->fsid = (uint64_t) (uintptr_t) m;
    if (norm[0] == '\0') {
        st->type = BE_TYPE_DIR;
        st->fileid = 0;
        st->size = 0;
    } else if (nd) {
        st->type = nd->type;
        st->fileid = nd->data ? nd->data->fileid : nd->fileid;
        st->size = nd->data ? nd->data->size : 0;
    }
    free (norm);
    return nd || st->type == BE_TYPE_DIR ? 0
           : set_error (ENOENT, "mem: '%s': no such file", path);
}

static int
be_mem_exists (struct backend *b, const char *path)
{
    struct be_stat st = { .struct_size = sizeof st };
    int r = be_mem_stat (b, path, 0, &st);

    if (r == -ENOENT) {
        clear_error ();
        return 0;
    }
    return r < 0 ? r : 1;
}

static int
be_mem_resolve (struct backend *b, const char *path, char **out)
{
    int r = be_mem_exists (b, path);

    if (r == 0) {
        return set_error (ENOENT, "mem: cannot resolve '%s': no such file",
                          path);
    }
    if (r < 0) {
        return r;
    }
    *out = be_mem_norm (path);
    if (*out && (*out)[0] == '\0') {
        free (*out);
        *out = strdup (".");
    }
    return *out ? 0 : set_error (ENOMEM, "out of memory");
}

static int
be_mem_list (struct backend *b, const char *dir, be_list_cb cb, void *opaque)
{
    struct be_mem *m = be_mem_of (b);
    char *norm = be_mem_norm (dir);
    size_t dl;
    char **names;
    size_t k = 0;
    int r = 0;

    if (norm == NULL) {
        return -ENOMEM;
    }
    dl = strlen (norm);
    /* a snapshot of the names: the callback may remove entries */
    names = calloc (m->n + 1, sizeof *names);
    for (size_t i = 0; names && i < m->n; i++) {
        const char *nm = m->nodes[i].name, *rest = nm;

        if (dl > 0) {
            if (strncmp (nm, norm, dl) != 0 || nm[dl] != '/') {
                continue;
            }
            rest = nm + dl + 1;
        }
        if (strchr (rest, '/') == NULL && (names[k] = strdup (rest))) {
            k++;
        }
    }
    free (norm);
    if (names == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < k; i++) {
        if (r == 0) {
            r = cb (opaque, names[i]);
        }
        free (names[i]);
    }
    free (names);
    return r;
}

static int
be_mem_clone_ranges (struct be_file *dst, struct be_file *src,
                     const struct be_range *rg, size_t n)
{
    struct be_mem_data *s = be_mem_fdata (src), *d = be_mem_fdata (dst);
    int r = 0;

    for (size_t i = 0; i < n && r == 0; i++) {
        if (rg[i].src_off > s->size || rg[i].len > s->size - rg[i].src_off) {
            return set_error (EINVAL, "mem: clone range past the end of '%s'",
                              src->path);
        }
        if (rg[i].dst_off + rg[i].len > d->size) {
            r = be_mem_resize (d, rg[i].dst_off + rg[i].len, dst->path);
        }
        if (r == 0) {
            memmove (d->buf + rg[i].dst_off, s->buf + rg[i].src_off,
                     (size_t) rg[i].len);
        }
    }
    return r;
}

static void
be_mem_free (struct backend *b)
{
    struct be_mem *m = be_mem_of (b);

    for (size_t i = 0; i < m->n; i++) {
        free (m->nodes[i].name);
        be_mem_unref (m->nodes[i].data);
    }
    free (m->nodes);
    free (m);
}

static const struct backend_ops be_mem_ops = {
    .struct_size = sizeof (struct backend_ops),
    .name = "mem",
    .open = be_mem_open,
    .close = be_mem_close,
    .get_size = be_mem_get_size,
    .pread = be_mem_pread,
    .pwrite = be_mem_pwrite,
    .flush = be_mem_flush,
    .truncate = be_mem_truncate,
    .rename = be_mem_rename,
    .unlink = be_mem_unlink,
    .mkdir = be_mem_mkdir,
    .exists = be_mem_exists,
    .list = be_mem_list,
    .clone_ranges = be_mem_clone_ranges,
    .free = be_mem_free,
    .stat = be_mem_stat,
    .resolve = be_mem_resolve,
    .link = be_mem_link,
};

struct backend *
be_mem_new (const struct logger *log)
{
    struct be_mem *m = calloc (1, sizeof *m);

    if (m == NULL) {
        set_error (ENOMEM, "out of memory");
        return NULL;
    }
    m->b.ops = &be_mem_ops;
    m->b.log = log;
    return &m->b;
}
