/* Fault filter backend, in the manner of nbdkit's filters: every call
 * goes on to an inner backend, except the Nth call of one chosen op,
 * which fails with a chosen errno (a failing pread/pwrite may first move
 * half its bytes: a torn transfer).  Reads and writes can also be cut
 * into short pieces on their way to the inner backend.  Unit tests use it
 * over the in-memory backend to fail every step of the executor in turn
 * (docs/internals/backends.md).
 *
 * Thread model: the inner backend's; the counters are not atomic.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend/backend.h"
#include "engine/base/error.h"

struct be_fault {
    struct backend b;           /* first */
    struct backend *inner;
    uint64_t calls[BE_OP_COUNT];
    enum be_op op;
    uint64_t nth;               /* 0: no fault */
    int err;
    bool torn;
    bool fired;
    size_t max_io;
    bool env;                   /* the test hook's (be_fault_env) */
};

struct be_fault_file {
    struct be_file f;           /* first */
    struct be_file *inner;
};

static const char *const be_op_names[BE_OP_COUNT] = {
    [BE_OP_OPEN] = "open", [BE_OP_CLOSE] = "close",
    [BE_OP_GET_SIZE] = "get_size", [BE_OP_PREAD] = "pread",
    [BE_OP_PWRITE] = "pwrite", [BE_OP_FLUSH] = "flush",
    [BE_OP_TRUNCATE] = "truncate", [BE_OP_RENAME] = "rename",
    [BE_OP_UNLINK] = "unlink", [BE_OP_MKDIR] = "mkdir",
    [BE_OP_EXISTS] = "exists", [BE_OP_LIST] = "list",
    [BE_OP_CLONE] = "clone_ranges", [BE_OP_EXTENTS] = "extents",
    [BE_OP_STAT] = "stat", [BE_OP_RESOLVE] = "resolve", [BE_OP_LINK] = "link",
};

const char *
be_op_name (enum be_op op)
{
    return op < BE_OP_COUNT ? be_op_names[op] : "?";
}

static struct be_fault *
bf (struct backend *b)
{
    return (struct be_fault *) b;
}

static struct be_file *
fin (struct be_file *f)
{
    return ((struct be_fault_file *) f)->inner;
}

/* The test hook's fault (be_fault_env): one for the whole process. */
static struct {
    bool on;
    enum be_op op;
    int err;
    unsigned left;
    char match[256];
} be_env;
static pthread_once_t be_env_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t be_env_lock = PTHREAD_MUTEX_INITIALIZER;

/* VMSHIFT_TEST_NFS_FAULT="OP:COUNT:ERRNO:MATCH", ERRNO by name. */
static void
be_env_parse (void)
{
    const char *s = getenv ("VMSHIFT_TEST_NFS_FAULT");
    char op[16], en[32];
    unsigned count;
    int n = 0;

    if (s == NULL || sscanf (s, "%15[a-z_]:%u:%31[A-Z0-9]:%n", op, &count, en,
                             &n) != 3 || n == 0 ||
        strlen (s + n) >= sizeof be_env.match) {
        return;
    }
    for (int i = 0; i < BE_OP_COUNT; i++) {
        if (strcmp (be_op_names[i], op) == 0) {
            be_env.op = (enum be_op) i;
            be_env.on = true;
        }
    }
    be_env.err = 0;
    for (int e = 1; e < 4096 && be_env.err == 0; e++) {
        const char *name = strerrorname_np (e);

        if (name && strcmp (name, en) == 0) {
            be_env.err = e;
        }
    }
    be_env.on = be_env.on && be_env.err != 0;
    be_env.left = count;
    strcpy (be_env.match, s + n);
}

/* Whether the hook's fault falls on this call (and uses it up). */
static bool
be_env_hit (enum be_op op, const char *path)
{
    bool hit = false;

    if (op != be_env.op || path == NULL || !strstr (path, be_env.match)) {
        return false;
    }
    pthread_mutex_lock (&be_env_lock);
    if (be_env.left > 0) {
        be_env.left--;
        hit = true;
    }
    pthread_mutex_unlock (&be_env_lock);
    return hit;
}

/* Count a call of op; -err (with a message) when it is the one to fail. */
static int
be_fault_hit (struct be_fault *x, enum be_op op, const char *path)
{
    uint64_t n = ++x->calls[op];

    if (x->env) {
        if (!be_env_hit (op, path)) {
            return 0;
        }
        x->fired = true;
        return set_error (be_env.err, "'%s': %s (injected: "
                          "VMSHIFT_TEST_NFS_FAULT, %s)", path,
                          strerror (be_env.err), be_op_name (op));
    }
    if (x->nth == 0 || op != x->op || n != x->nth) {
        return 0;
    }
    x->fired = true;
    return set_error (x->err, "'%s': %s (injected: %s call %llu)",
                      path ? path : "?", strerror (x->err), be_op_name (op),
                      (unsigned long long) n);
}

static int
be_fault_open (struct backend *b, const char *path, unsigned flags,
               struct be_file **out)
{
    struct be_fault_file *f;
    int r = be_fault_hit (bf (b), BE_OP_OPEN, path);

    if (r < 0) {
        return r;
    }
    f = calloc (1, sizeof *f);
    if (f == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    r = backend_open (bf (b)->inner, path, flags, &f->inner);
    if (r < 0) {
        free (f);
        return r;
    }
    be_file_init (&f->f, b, path, flags);
    f->f.caps = f->inner->caps;
    f->f.fs_id = f->inner->fs_id;
    *out = &f->f;
    return 0;
}

static void
be_fault_close (struct be_file *f)
{
    bf (f->b)->calls[BE_OP_CLOSE]++;
    backend_close (fin (f));
    be_file_release (f);
    free (f);
}

static int64_t
be_fault_get_size (struct be_file *f)
{
    int r = be_fault_hit (bf (f->b), BE_OP_GET_SIZE, f->path);

    return r < 0 ? r : backend_get_size (fin (f));
}

/* Pieces of at most max_io bytes; a torn failure moves half first. */
static int
be_fault_io (struct be_file *f, enum be_op op, void *buf, size_t n,
             uint64_t off)
{
    struct be_fault *x = bf (f->b);
    size_t done = 0, piece = x->max_io ? x->max_io : n;
    int r = be_fault_hit (x, op, f->path);

    if (r < 0) {
        if (!x->torn || n < 2) {
            return r;
        }
        n /= 2;                 /* transfer this much, then fail */
    }
    while (done < n) {
        size_t k = n - done < piece ? n - done : piece;
        int e = op == BE_OP_PREAD
                ? backend_pread (fin (f), (char *) buf + done, k, off + done)
                : backend_pwrite (fin (f), (const char *) buf + done, k,
                                  off + done);

        if (e < 0) {
            return e;
        }
        done += k;
    }
    if (r < 0) {
        return set_error (x->err, "'%s': %s after %zu bytes (injected: torn "
                          "%s)", f->path, strerror (x->err), n,
                          be_op_name (op));
    }
    return 0;
}

static int
be_fault_pread (struct be_file *f, void *buf, size_t n, uint64_t off)
{
    return be_fault_io (f, BE_OP_PREAD, buf, n, off);
}

static int
be_fault_pwrite (struct be_file *f, const void *buf, size_t n, uint64_t off)
{
    return be_fault_io (f, BE_OP_PWRITE, (void *) buf, n, off);
}

static int
be_fault_flush (struct be_file *f)
{
    int r = be_fault_hit (bf (f->b), BE_OP_FLUSH, f->path);

    return r < 0 ? r : backend_flush (fin (f));
}

static int
be_fault_truncate (struct be_file *f, uint64_t size)
{
    int r = be_fault_hit (bf (f->b), BE_OP_TRUNCATE, f->path);

    return r < 0 ? r : backend_truncate (fin (f), size);
}

static int
be_fault_rename (struct backend *b, const char *from, const char *to,
                 bool replace)
{
    int r = be_fault_hit (bf (b), BE_OP_RENAME, from);

    return r < 0 ? r : backend_rename (bf (b)->inner, from, to, replace);
}

static int
be_fault_unlink (struct backend *b, const char *path)
{
    int r = be_fault_hit (bf (b), BE_OP_UNLINK, path);

    return r < 0 ? r : backend_unlink (bf (b)->inner, path);
}

static int
be_fault_mkdir (struct backend *b, const char *path)
{
    int r = be_fault_hit (bf (b), BE_OP_MKDIR, path);

    return r < 0 ? r : backend_mkdir (bf (b)->inner, path);
}

static int
be_fault_exists (struct backend *b, const char *path)
{
    int r = be_fault_hit (bf (b), BE_OP_EXISTS, path);

    return r < 0 ? r : backend_exists (bf (b)->inner, path);
}

static int
be_fault_list (struct backend *b, const char *dir, be_list_cb cb,
               void *opaque)
{
    int r = be_fault_hit (bf (b), BE_OP_LIST, dir);

    return r < 0 ? r : backend_list (bf (b)->inner, dir, cb, opaque);
}

static int
be_fault_clone_ranges (struct be_file *dst, struct be_file *src,
                       const struct be_range *rg, size_t n)
{
    int r = be_fault_hit (bf (dst->b), BE_OP_CLONE, dst->path);

    return r < 0 ? r : backend_clone_ranges (fin (dst), fin (src), rg, n);
}

static int
be_fault_extents (struct be_file *f, uint64_t off, uint64_t len,
                  be_extent_cb cb, void *opaque)
{
    int r = be_fault_hit (bf (f->b), BE_OP_EXTENTS, f->path);

    return r < 0 ? r : backend_extents (fin (f), off, len, cb, opaque);
}

static int
be_fault_phys_extents (struct be_file *f, uint64_t off, uint64_t len,
                       be_phys_cb cb, void *opaque)
{
    return backend_phys_extents (fin (f), off, len, cb, opaque);
}

static int
be_fault_stat (struct backend *b, const char *path, unsigned flags,
               struct be_stat *st)
{
    int r = be_fault_hit (bf (b), BE_OP_STAT, path);

    return r < 0 ? r : backend_stat (bf (b)->inner, path, flags, st);
}

static int
be_fault_resolve (struct backend *b, const char *path, char **out)
{
    int r = be_fault_hit (bf (b), BE_OP_RESOLVE, path);

    return r < 0 ? r : backend_resolve (bf (b)->inner, path, out);
}

static int
be_fault_link (struct backend *b, const char *from, const char *to)
{
    int r = be_fault_hit (bf (b), BE_OP_LINK, from);

    return r < 0 ? r : backend_link (bf (b)->inner, from, to);
}

static void
be_fault_free (struct backend *b)
{
    backend_free (bf (b)->inner);
    free (b);
}

static const struct backend_ops be_fault_ops = {
    .struct_size = sizeof (struct backend_ops),
    .name = "fault",
    .open = be_fault_open,
    .close = be_fault_close,
    .get_size = be_fault_get_size,
    .pread = be_fault_pread,
    .pwrite = be_fault_pwrite,
    .flush = be_fault_flush,
    .truncate = be_fault_truncate,
    .rename = be_fault_rename,
    .unlink = be_fault_unlink,
    .mkdir = be_fault_mkdir,
    .exists = be_fault_exists,
    .list = be_fault_list,
    .clone_ranges = be_fault_clone_ranges,
    .extents = be_fault_extents,
    .phys_extents = be_fault_phys_extents,
    .free = be_fault_free,
    .stat = be_fault_stat,
    .resolve = be_fault_resolve,
    .link = be_fault_link,
};

struct backend *
be_fault_new (const struct logger *log, struct backend *inner_take)
{
    struct be_fault *x;

    if (inner_take == NULL) {
        return NULL;
    }
    x = calloc (1, sizeof *x);
    if (x == NULL) {
        backend_free (inner_take);
        set_error (ENOMEM, "out of memory");
        return NULL;
    }
    x->b.ops = &be_fault_ops;
    x->b.log = log;
    x->b.props = inner_take->props;
    x->inner = inner_take;
    return &x->b;
}

struct backend *
be_fault_env (const struct logger *log, struct backend *inner_take)
{
    struct backend *b;

    pthread_once (&be_env_once, be_env_parse);
    if (!be_env.on || inner_take == NULL) {
        return inner_take;
    }
    if ((b = be_fault_new (log, inner_take)) != NULL) {
        bf (b)->env = true;
    }
    return b;
}

static struct be_fault *
be_fault_of (struct backend *b)
{
    return b && b->ops == &be_fault_ops ? bf (b) : NULL;
}

void
be_fault_set (struct backend *b, enum be_op op, uint64_t nth, int err,
              bool torn)
{
    struct be_fault *x = be_fault_of (b);

    if (x && op < BE_OP_COUNT) {
        memset (x->calls, 0, sizeof x->calls);
        x->op = op;
        x->nth = nth;
        x->err = err > 0 ? err : EIO;
        x->torn = torn;
        x->fired = false;
    }
}

void
be_fault_set_max_io (struct backend *b, size_t max_io)
{
    struct be_fault *x = be_fault_of (b);

    if (x) {
        x->max_io = max_io;
    }
}

uint64_t
be_fault_calls (struct backend *b, enum be_op op)
{
    struct be_fault *x = be_fault_of (b);

    return x && op < BE_OP_COUNT ? x->calls[op] : 0;
}

bool
be_fault_fired (struct backend *b)
{
    struct be_fault *x = be_fault_of (b);

    return x && x->fired;
}
