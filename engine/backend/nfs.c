/* NFS backend over libnfs 4.0's synchronous API: NFSv3 and NFSv4, no
 * kernel mount, no root needed (the server must accept the caller's
 * AUTH_SYS identity).
 *
 * A backend is one export: nfs://HOST/EXPORT[?version=3|4&nfsport=N&
 * mountport=N].  Paths given to the ops are relative to the export.
 *
 * Thread model: one nfs_context per backend instance.  libnfs contexts
 * are not thread-safe (we do not turn on its multithreading mode), so a
 * backend and all its files must be used by one thread at a time; open
 * one backend per worker thread for parallel I/O.
 *
 * libnfs may transfer fewer bytes than asked; pread/pwrite loop, and
 * each call asks for at most the server's READ/WRITE maximum (or a
 * smaller cap set with be_nfs_set_max_io(), which tests use to force
 * short transfers).  libnfs 4.0's NFSv4 limits and their workarounds are
 * described in docs/ontap-sim.md ("The NFS backend and libnfs 4.0").
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/backend/backend.h"
#include "engine/base/dl-nfs.h"
#include "engine/base/error.h"

#define BE_NFS_URL_MAX 4096
#define BE_NFS_TIMEOUT_MS 60000
#define BE_NFS_DEFAULT_IO (1u << 20)
/* libnfs 4.0's NFSv4 code reports no READ/WRITE maxima and encodes a
 * COMPOUND into a 4 KiB buffer: a WRITE of more than ~3.9 KiB fails with
 * "Failed to encode COMPOUND4args" (seen against nfs-ganesha here).  So
 * v4 writes go in pieces this big; v3 has no such limit. */
#define BE_NFS_V4_WRITE_MAX 3584u

struct be_nfs {
    struct backend b;
    struct nfs_context *nfs;
    char *server;
    char *export;
    size_t max_io;              /* 0: the server's maxima */
    int version;                /* 3 or 4 */
};

struct be_nfs_file {
    struct be_file f;
    struct nfsfh *fh;
};

/* A location split by be_nfs_url_parse. */
struct be_nfs_url {
    char host[256];
    char path[BE_NFS_URL_MAX];      /* starts with '/' */
    char query[512];                /* validated, without '?' */
};

static struct be_nfs *
be_nfs_of (struct backend *b)
{
    return (struct be_nfs *) b;
}

static int
be_nfs_port_arg (const char *v, size_t n)
{
    unsigned long p = 0;

    if (n == 0 || n > 5) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') {
            return -1;
        }
        p = p * 10 + (unsigned long) (v[i] - '0');
    }
    return p >= 1 && p <= 65535 ? 0 : -1;
}

/* One "key=value" of the query: only what vmshift documents. */
static int
be_nfs_query_arg (const char *url, const char *a, size_t n)
{
    const char *eq = memchr (a, '=', n);
    size_t kl = eq ? (size_t) (eq - a) : n, vl = eq ? n - kl - 1 : 0;
    const char *v = eq ? eq + 1 : "";

    if (kl == 7 && memcmp (a, "version", 7) == 0 && vl == 1 &&
        (v[0] == '3' || v[0] == '4')) {
        return 0;
    }
    if (((kl == 7 && memcmp (a, "nfsport", 7) == 0) ||
         (kl == 9 && memcmp (a, "mountport", 9) == 0)) &&
        be_nfs_port_arg (v, vl) == 0) {
        return 0;
    }
    return set_error (EINVAL, "'%s': bad or unknown option '%.*s' (use "
                      "version=3|4, nfsport=N, mountport=N)", url, (int) n, a);
}

static int
be_nfs_query (const char *url, const char *q)
{
    while (*q) {
        const char *amp = strchr (q, '&');
        size_t n = amp ? (size_t) (amp - q) : strlen (q);
        int r = be_nfs_query_arg (url, q, n);

        if (r < 0) {
            return r;
        }
        q += n + (amp != NULL);
    }
    return 0;
}

/* nfs://HOST/PATH[?QUERY]; strict so that a typo is an error, not a
 * silently ignored option. */
static int
be_nfs_url_parse (const char *url, struct be_nfs_url *u)
{
    const char *h = url + 6, *slash, *qm;
    size_t hl, pl;

    if (strncmp (url, "nfs://", 6) != 0) {
        return set_error (EINVAL, "'%s' is not an nfs:// URL", url);
    }
    slash = strchr (h, '/');
    qm = strchr (h, '?');
    if (slash == NULL || (qm && qm < slash)) {
        return set_error (EINVAL, "'%s': no export path after the server", url);
    }
    hl = (size_t) (slash - h);
    pl = qm ? (size_t) (qm - slash) : strlen (slash);
    if (hl == 0 || hl >= sizeof u->host || memchr (h, '@', hl)) {
        return set_error (EINVAL, "'%s': bad server name", url);
    }
    if (pl >= sizeof u->path || (qm && strlen (qm + 1) >= sizeof u->query)) {
        return set_error (ENAMETOOLONG, "'%s' is too long", url);
    }
    memcpy (u->host, h, hl);
    u->host[hl] = '\0';
    memcpy (u->path, slash, pl);
    u->path[pl] = '\0';
    snprintf (u->query, sizeof u->query, "%s", qm ? qm + 1 : "");
    return be_nfs_query (url, u->query);
}

/* NFS status names libnfs may put in its message ("NFS3ERR_NOSPC"),
 * mapped to errno as RFC 1813 2.6 and RFC 7530 13 describe them. */
static const struct { const char *tok; int err; } be_nfs_status[] = {
    { "NOSPC", ENOSPC }, { "DQUOT", EDQUOT }, { "ROFS", EROFS },
    { "FBIG", EFBIG }, { "NAMETOOLONG", ENAMETOOLONG },
    { "NOTEMPTY", ENOTEMPTY }, { "STALE", ESTALE }, { "ACCES", EACCES },
    { "PERM", EPERM }, { "NOENT", ENOENT }, { "EXIST", EEXIST },
    { "NOTDIR", ENOTDIR }, { "ISDIR", EISDIR }, { "XDEV", EXDEV },
    { "MLINK", EMLINK },
};

int
be_nfs_status_errno (const char *msg, int err)
{
    const char *p = msg;

    while (p && (p = strstr (p, "ERR_")) != NULL) {
        p += 4;
        for (size_t i = 0; i < sizeof be_nfs_status / sizeof be_nfs_status[0];
             i++) {
            size_t l = strlen (be_nfs_status[i].tok);

            if (strncmp (p, be_nfs_status[i].tok, l) == 0 &&
                !(p[l] >= 'A' && p[l] <= 'Z')) {
                return be_nfs_status[i].err;
            }
        }
    }
    return err;
}

/* The errno a failure means, and the message it gets: a status libnfs
 * names becomes its errno; a specific errno is said as the local
 * backend says it ("No space left on device"), so NFS and local
 * failures read and exit alike; libnfs's own text is kept otherwise. */
static int
be_nfs_fail (struct be_nfs *n, int r, const char *what, const char *path)
{
    const char *e = n->nfs ? nfs_get_error (n->nfs) : NULL;
    int err = be_nfs_status_errno (e, -r);

    /* EIO and EFAULT are what libnfs answers when it lost the status */
    if ((err != EIO && err != EFAULT) || e == NULL || *e == '\0') {
        return set_error (err, "nfs://%s%s: %s '%s': %s", n->server,
                          n->export, what, path, strerror (err));
    }
    return set_error (err, "nfs://%s%s: %s '%s': %s", n->server, n->export,
                      what, path, e);
}

/* libnfs 4.0's synchronous WRITE can lose the server's status and say
 * only "pwrite call failed with \"?\"" (EIO), or EFAULT against
 * nfs-ganesha: a full server then looked like an I/O error (exit 5
 * instead of 4).  When the export has no room
 * left for the write, that is the reason. */
static int
be_nfs_write_fail (struct be_nfs *n, int r, const char *what,
                   const char *path, size_t want)
{
    struct nfs_statvfs_64 sv;
    const char *e = nfs_get_error (n->nfs);
    int err = be_nfs_status_errno (e, -r);

    if ((err == EIO || err == EFAULT) &&
        nfs_statvfs64 (n->nfs, "/", &sv) == 0 &&
        sv.f_bavail * (sv.f_frsize ? sv.f_frsize : sv.f_bsize) < want) {
        return set_error (ENOSPC, "nfs://%s%s: %s '%s': %s", n->server,
                          n->export, what, path, strerror (ENOSPC));
    }
    return be_nfs_fail (n, r, what, path);
}

/* libnfs wants paths from the export root. */
static int
be_nfs_path (struct be_nfs *n, const char *in, char *out, size_t sz)
{
    if (snprintf (out, sz, "%s%s", in[0] == '/' ? "" : "/", in) >= (int) sz) {
        return set_error (ENAMETOOLONG, "nfs://%s%s: path '%s' is too long",
                          n->server, n->export, in);
    }
    return 0;
}

static int be_nfs_stat (struct be_nfs *n, const char *p, struct nfs_stat_64 *st);

static int
be_nfs_open (struct backend *b, const char *path, unsigned flags,
             struct be_file **out)
{
    struct be_nfs *n = be_nfs_of (b);
    struct nfs_stat_64 st;
    struct be_nfs_file *f;
    char p[BE_NFS_URL_MAX];
    int r;

    if ((r = be_nfs_path (n, path, p, sizeof p)) < 0) {
        return r;
    }
    f = calloc (1, sizeof *f);
    if (f == NULL) {
        return set_error (ENOMEM, "out of memory opening '%s'", path);
    }
    if ((flags & BE_CREATE) && n->version == 4 && be_nfs_stat (n, p, &st) == 0) {
        /* libnfs 4.0 over NFSv4: after an exclusive create fails with
         * NFS4ERR_EXIST every later OPEN on the context fails the same
         * way (and may crash), so do not send one that will fail.  A
         * file created between this check and the create still hits
         * the libnfs problem. */
        free (f);
        return set_error (EEXIST, "nfs://%s%s: cannot create '%s': it exists",
                          n->server, n->export, p);
    }
    if (flags & BE_CREATE) {
        r = nfs_create (n->nfs, p, O_RDWR | O_EXCL, 0644, &f->fh);
    } else {
        r = nfs_open (n->nfs, p, (flags & BE_RDWR) ? O_RDWR : O_RDONLY, &f->fh);
    }
    if (r < 0) {
        free (f);
        return be_nfs_fail (n, r, (flags & BE_CREATE) ? "cannot create"
                                                      : "cannot open", p);
    }
    be_file_init (&f->f, b, path, flags);
    if (f->f.path == NULL) {
        nfs_close (n->nfs, f->fh);
        free (f);
        return set_error (ENOMEM, "out of memory opening '%s'", path);
    }
    *out = &f->f;
    return 0;
}

static void
be_nfs_close (struct be_file *bf)
{
    struct be_nfs_file *f = (struct be_nfs_file *) bf;

    nfs_close (be_nfs_of (bf->b)->nfs, f->fh);
    be_file_release (bf);
    free (f);
}

static int64_t
be_nfs_get_size (struct be_file *bf)
{
    struct be_nfs *n = be_nfs_of (bf->b);
    struct nfs_stat_64 st;
    int r = nfs_fstat64 (n->nfs, ((struct be_nfs_file *) bf)->fh, &st);

    if (r < 0) {
        return be_nfs_fail (n, r, "cannot stat", bf->path);
    }
    if (st.nfs_size > (uint64_t) INT64_MAX) {
        return set_error (EFBIG, "nfs://%s%s: '%s' reports an impossible size",
                          n->server, n->export, bf->path);
    }
    return (int64_t) st.nfs_size;
}

static size_t
be_nfs_chunk (struct be_nfs *n, size_t left, bool write)
{
    uint64_t m = write ? nfs_get_writemax (n->nfs) : nfs_get_readmax (n->nfs);

    if (m == 0 || m > BE_NFS_DEFAULT_IO * 8) {
        m = (write && n->version == 4) ? BE_NFS_V4_WRITE_MAX : BE_NFS_DEFAULT_IO;
    }
    if (n->max_io && n->max_io < m) {
        m = n->max_io;
    }
    return left < m ? left : (size_t) m;
}

static int
be_nfs_pread (struct be_file *bf, void *buf, size_t len, uint64_t off)
{
    struct be_nfs *n = be_nfs_of (bf->b);
    struct nfsfh *fh = ((struct be_nfs_file *) bf)->fh;
    size_t done = 0;

    while (done < len) {
        int r = nfs_pread (n->nfs, fh, off + done, be_nfs_chunk (n, len - done,
                                                                 false),
                           (char *) buf + done);

        if (r < 0) {
            return be_nfs_fail (n, r, "cannot read", bf->path);
        }
        if (r == 0) {
            return set_error (EINVAL, "nfs://%s%s: read of '%s' at %" PRIu64
                              " goes past its end", n->server, n->export,
                              bf->path, off + done);
        }
        done += (size_t) r;
    }
    return 0;
}

static int
be_nfs_pwrite (struct be_file *bf, const void *buf, size_t len, uint64_t off)
{
    struct be_nfs *n = be_nfs_of (bf->b);
    struct nfsfh *fh = ((struct be_nfs_file *) bf)->fh;
    size_t done = 0;

    while (done < len) {
        int r = nfs_pwrite (n->nfs, fh, off + done,
                            be_nfs_chunk (n, len - done, true),
                            (const char *) buf + done);

        if (r < 0) {
            return be_nfs_write_fail (n, r, "cannot write", bf->path,
                                      be_nfs_chunk (n, len - done, true));
        }
        if (r == 0) {
            return set_error (EIO, "nfs://%s%s: write to '%s' made no progress",
                              n->server, n->export, bf->path);
        }
        done += (size_t) r;
    }
    return 0;
}

static int
be_nfs_flush (struct be_file *bf)
{
    struct be_nfs *n = be_nfs_of (bf->b);
    int r = nfs_fsync (n->nfs, ((struct be_nfs_file *) bf)->fh);

    /* unstable writes meet a full server at COMMIT */
    return r < 0 ? be_nfs_write_fail (n, r, "cannot flush", bf->path,
                                      BE_NFS_DEFAULT_IO) : 0;
}

static int
be_nfs_truncate (struct be_file *bf, uint64_t size)
{
    struct be_nfs *n = be_nfs_of (bf->b);
    int r = nfs_ftruncate (n->nfs, ((struct be_nfs_file *) bf)->fh, size);

    return r < 0 ? be_nfs_fail (n, r, "cannot truncate", bf->path) : 0;
}

static int
be_nfs_stat (struct be_nfs *n, const char *p, struct nfs_stat_64 *st)
{
    return nfs_stat64 (n->nfs, p, st);
}

/* The test hook VMSHIFT_TEST_NFS_KILL_AT_LINK=MATCH (docs/testing.md,
 * "Fault hooks"): the process kills itself (SIGKILL, as kill -9 does)
 * between the LINK and the REMOVE of a rename without replace whose new
 * name contains MATCH, leaving both names. */
static void
be_nfs_kill_point (const char *to)
{
    const char *m = getenv ("VMSHIFT_TEST_NFS_KILL_AT_LINK");

    if (m && *m && strstr (to, m)) {
        kill (getpid (), SIGKILL);
    }
}

/* NFS RENAME always replaces.  Without replace the file gets its new
 * name by LINK, which fails atomically with NFS3ERR_EXIST / NFS4ERR_EXIST
 * when the name is taken (RFC 1813 3.3.15, RFC 7530 16.9), then the old
 * name is removed: two runs publishing to one name cannot both win.  A
 * server without hard links (NOTSUPP) falls back to looking first, which
 * is not atomic; that is said in a warning. */
static int
be_nfs_rename (struct backend *b, const char *from, const char *to,
               bool replace)
{
    struct be_nfs *n = be_nfs_of (b);
    char pf[BE_NFS_URL_MAX], pt[BE_NFS_URL_MAX];
    struct nfs_stat_64 st;
    int r;

    if ((r = be_nfs_path (n, from, pf, sizeof pf)) < 0 ||
        (r = be_nfs_path (n, to, pt, sizeof pt)) < 0) {
        return r;
    }
    if (!replace) {
        r = nfs_link (n->nfs, pf, pt);
        if (r == 0) {
            be_nfs_kill_point (to);
            r = nfs_unlink (n->nfs, pf);
            return r < 0 ? be_nfs_fail (n, r, "cannot remove", pf) : 0;
        }
        if (r == -EEXIST) {
            return set_error (EEXIST, "nfs://%s%s: cannot rename '%s' to "
                              "'%s': the target exists", n->server,
                              n->export, pf, pt);
        }
        if (r != -ENOTSUP && r != -EOPNOTSUPP) {
            return be_nfs_fail (n, r, "cannot link", pf);
        }
        vs_log_msg (b->log, LOG_WARN, "nfs://%s%s: the server makes no hard "
                    "links; '%s' is published by look-then-rename, which a "
                    "concurrent writer of the same name can race", n->server,
                    n->export, pt);
        if (be_nfs_stat (n, pt, &st) == 0) {
            return set_error (EEXIST, "nfs://%s%s: cannot rename '%s' to "
                              "'%s': the target exists", n->server,
                              n->export, pf, pt);
        }
    }
    r = nfs_rename (n->nfs, pf, pt);
    return r < 0 ? be_nfs_fail (n, r, "cannot rename", pf) : 0;
}

static int
be_nfs_link (struct backend *b, const char *from, const char *to)
{
    struct be_nfs *n = be_nfs_of (b);
    char pf[BE_NFS_URL_MAX], pt[BE_NFS_URL_MAX];
    int r;

    if ((r = be_nfs_path (n, from, pf, sizeof pf)) < 0 ||
        (r = be_nfs_path (n, to, pt, sizeof pt)) < 0) {
        return r;
    }
    r = nfs_link (n->nfs, pf, pt);
    if (r == -EEXIST) {
        return set_error (EEXIST, "nfs://%s%s: '%s' already exists",
                          n->server, n->export, pt);
    }
    return r < 0 ? be_nfs_fail (n, r, "cannot link", pf) : 0;
}

static enum be_type
be_nfs_type (uint64_t mode)
{
    return S_ISREG (mode) ? BE_TYPE_REG : S_ISDIR (mode) ? BE_TYPE_DIR
           : S_ISLNK (mode) ? BE_TYPE_LNK : BE_TYPE_OTHER;
}

/* Identity over NFS: the server's fsid and fileid (NFSv3 fattr3, NFSv4
 * fsid/fileid attributes), which libnfs reports as nfs_dev and
 * nfs_ino. */
static int
be_nfs_stat_op (struct backend *b, const char *path, unsigned flags,
                struct be_stat *out)
{
    struct be_nfs *n = be_nfs_of (b);
    char p[BE_NFS_URL_MAX];
    struct nfs_stat_64 st;
    int r = be_nfs_path (n, path, p, sizeof p);

    if (r < 0) {
        return r;
    }
    r = (flags & BE_STAT_NOFOLLOW) ? nfs_lstat64 (n->nfs, p, &st)
                                   : nfs_stat64 (n->nfs, p, &st);
    if (r < 0) {
        return be_nfs_fail (n, r, "cannot stat", p);
    }
    out->type = be_nfs_type (st.nfs_mode);
    out->fileid = st.nfs_ino;
    out->fsid = st.nfs_dev;
    out->size = st.nfs_size;
    out->used = st.nfs_used;
    out->used_known = n->version == 3;  /* v4 space_used is not asked */
    return 0;
}

#define BE_NFS_MAX_LINKS 40

/* Drop the last component of an absolute path ("/" stays "/"). */
static void
be_nfs_pop (char *p)
{
    char *s = strrchr (p, '/');

    if (s) {
        *s = '\0';
    }
}

/* Resolve ".", ".." and symbolic links one component at a time, by the
 * server's answers (lstat, readlink).  A link with an absolute target
 * names something in the client's namespace, not the export's: refused,
 * as is ".." above the export root. */
static int
be_nfs_resolve (struct backend *b, const char *path, char **out)
{
    struct be_nfs *n = be_nfs_of (b);
    char res[BE_NFS_URL_MAX] = "", rest[BE_NFS_URL_MAX], link[BE_NFS_URL_MAX];
    unsigned links = 0;
    char *cur = rest;

    if (strlen (path) >= sizeof rest) {
        return set_error (ENAMETOOLONG, "'%s' is too long", path);
    }
    snprintf (rest, sizeof rest, "%s", path);
    while (*cur) {
        char *slash = strchr (cur, '/'), *comp = cur;
        struct nfs_stat_64 st;
        size_t rl = strlen (res);
        int r;

        if (slash) {
            *slash = '\0';
            cur = slash + 1;
        } else {
            cur += strlen (cur);
        }
        if (comp[0] == '\0' || strcmp (comp, ".") == 0) {
            continue;
        }
        if (strcmp (comp, "..") == 0) {
            if (rl == 0) {
                return set_error (EXDEV, "nfs://%s%s: '%s' leaves the export",
                                  n->server, n->export, path);
            }
            be_nfs_pop (res);
            continue;
        }
        if (rl + 1 + strlen (comp) >= sizeof res) {
            return set_error (ENAMETOOLONG, "'%s' is too long", path);
        }
        res[rl] = '/';
        strcpy (res + rl + 1, comp);
        if ((r = nfs_lstat64 (n->nfs, res, &st)) < 0) {
            return be_nfs_fail (n, r, "cannot resolve", res);
        }
        if (!S_ISLNK (st.nfs_mode)) {
            continue;
        }
        if (++links > BE_NFS_MAX_LINKS) {
            return set_error (ELOOP, "nfs://%s%s: too many symbolic links in "
                              "'%s'", n->server, n->export, path);
        }
        if ((r = nfs_readlink (n->nfs, res, link, sizeof link - 1)) < 0) {
            return be_nfs_fail (n, r, "cannot read link", res);
        }
        link[sizeof link - 1] = '\0';
        if (link[0] == '/') {
            return set_error (EXDEV, "nfs://%s%s: '%s' is a symbolic link to "
                              "the absolute name '%s', outside the export",
                              n->server, n->export, res, link);
        }
        be_nfs_pop (res);
        /* the link's target, then what was left of the path */
        if (strlen (link) + 1 + strlen (cur) >= sizeof link) {
            return set_error (ENAMETOOLONG, "'%s' is too long", path);
        }
        if (*cur) {
            strcat (link, "/");
            strcat (link, cur);
        }
        memmove (rest, link, strlen (link) + 1);
        cur = rest;
    }
    /* as the caller spells paths: relative unless it gave a leading '/' */
    *out = strdup (res[0] == '\0' ? (path[0] == '/' ? "/" : ".")
                   : res + (path[0] != '/'));
    return *out ? 0 : set_error (ENOMEM, "out of memory");
}

static int
be_nfs_unlink (struct backend *b, const char *path)
{
    struct be_nfs *n = be_nfs_of (b);
    char p[BE_NFS_URL_MAX];
    int r = be_nfs_path (n, path, p, sizeof p);

    if (r == 0 && (r = nfs_unlink (n->nfs, p)) < 0) {
        return be_nfs_fail (n, r, "cannot remove", p);
    }
    return r;
}

static int
be_nfs_rmdir (struct backend *b, const char *path)
{
    struct be_nfs *n = be_nfs_of (b);
    char p[BE_NFS_URL_MAX];
    int r = be_nfs_path (n, path, p, sizeof p);

    if (r == 0 && (r = nfs_rmdir (n->nfs, p)) < 0) {
        if (r == -ENOTEMPTY || r == -EEXIST) {
            return set_error (ENOTEMPTY, "'%s' is not empty", p);
        }
        return be_nfs_fail (n, r, "cannot remove directory", p);
    }
    return r;
}

static int
be_nfs_mkdir (struct backend *b, const char *path)
{
    struct be_nfs *n = be_nfs_of (b);
    char p[BE_NFS_URL_MAX];
    int r = be_nfs_path (n, path, p, sizeof p);

    if (r == 0 && (r = nfs_mkdir (n->nfs, p)) < 0) {
        return be_nfs_fail (n, r, "cannot create directory", p);
    }
    return r;
}

static int
be_nfs_exists (struct backend *b, const char *path)
{
    struct be_nfs *n = be_nfs_of (b);
    char p[BE_NFS_URL_MAX];
    struct nfs_stat_64 st;
    int r = be_nfs_path (n, path, p, sizeof p);

    if (r < 0) {
        return r;
    }
    r = be_nfs_stat (n, p, &st);
    if (r == -ENOENT) {
        return 0;
    }
    return r < 0 ? be_nfs_fail (n, r, "cannot stat", p) : 1;
}

static int
be_nfs_list (struct backend *b, const char *dir, be_list_cb cb, void *opaque)
{
    struct be_nfs *n = be_nfs_of (b);
    char p[BE_NFS_URL_MAX];
    struct nfsdir *d;
    struct nfsdirent *e;
    int r = be_nfs_path (n, dir, p, sizeof p);

    if (r < 0) {
        return r;
    }
    if ((r = nfs_opendir (n->nfs, p, &d)) < 0) {
        return be_nfs_fail (n, r, "cannot list", p);
    }
    while (r == 0 && (e = nfs_readdir (n->nfs, d)) != NULL) {
        if (strcmp (e->name, ".") != 0 && strcmp (e->name, "..") != 0) {
            r = cb (opaque, e->name);
        }
    }
    nfs_closedir (n->nfs, d);
    return r;
}

static void
be_nfs_free (struct backend *b)
{
    struct be_nfs *n = be_nfs_of (b);

    if (n->nfs) {
        nfs_destroy_context (n->nfs);
    }
    free (n->server);
    free (n->export);
    free (n);
}

static const struct backend_ops be_nfs_ops = {
    .struct_size = sizeof (struct backend_ops),
    .name = "nfs",
    .open = be_nfs_open,
    .close = be_nfs_close,
    .get_size = be_nfs_get_size,
    .pread = be_nfs_pread,
    .pwrite = be_nfs_pwrite,
    .flush = be_nfs_flush,
    .truncate = be_nfs_truncate,
    .rename = be_nfs_rename,
    .unlink = be_nfs_unlink,
    .mkdir = be_nfs_mkdir,
    .exists = be_nfs_exists,
    .list = be_nfs_list,
    .free = be_nfs_free,
    .stat = be_nfs_stat_op,
    .resolve = be_nfs_resolve,
    .link = be_nfs_link,
    .rmdir = be_nfs_rmdir,
};

/* Mount the export a validated URL names. */
static int
be_nfs_mount (struct be_nfs *n, const char *url)
{
    struct nfs_url *pu;
    int r;

    if ((r = vs_dl_nfs ()) < 0) {
        return r;
    }
    n->nfs = nfs_init_context ();
    if (n->nfs == NULL) {
        return set_error (ENOMEM, "cannot create an NFS context for '%s'", url);
    }
    nfs_set_timeout (n->nfs, BE_NFS_TIMEOUT_MS);
    /* Options (version, ports) are applied to the context by libnfs. */
    pu = nfs_parse_url_dir (n->nfs, url);
    if (pu == NULL) {
        return set_error (EINVAL, "'%s': %s", url, nfs_get_error (n->nfs));
    }
    n->server = strdup (pu->server);
    n->export = strdup (pu->path);
    if (n->server == NULL || n->export == NULL) {
        nfs_destroy_url (pu);
        return set_error (ENOMEM, "out of memory");
    }
    r = nfs_mount (n->nfs, pu->server, pu->path);
    nfs_destroy_url (pu);
    if (r < 0) {
        return set_error (-r, "cannot mount nfs://%s%s: %s", n->server,
                          n->export, nfs_get_error (n->nfs));
    }
    return 0;
}

struct backend *
be_nfs_new (const struct logger *log, const char *url)
{
    struct be_nfs_url u;
    struct be_nfs *n;

    if (be_nfs_url_parse (url, &u) < 0) {
        return NULL;
    }
    n = calloc (1, sizeof *n);
    if (n == NULL) {
        set_error (ENOMEM, "out of memory");
        return NULL;
    }
    n->b.ops = &be_nfs_ops;
    n->b.log = log;
    n->b.priv = n;
    n->version = strstr (u.query, "version=4") ? 4 : 3;
    if (be_nfs_mount (n, url) < 0) {
        struct vmshift_error_save s;

        error_save (&s);
        be_nfs_free (&n->b);
        error_restore (&s);
        return NULL;
    }
    vs_log_debug (log, LOGM_NFS, "nfs: mounted nfs://%s%s", n->server, n->export);
    return &n->b;
}

void
be_nfs_set_max_io (struct backend *b, size_t max)
{
    if (b && b->ops == &be_nfs_ops) {
        be_nfs_of (b)->max_io = max;
    }
}

/* Try "/a", "/a/b", ... as the export until one mounts; the rest of the
 * path names the file.  Exports are usually "/VOLUME", so the shortest
 * prefix comes first. */
int
be_nfs_open_location (const struct logger *log, const char *location,
                      struct backend **out, char **path)
{
    struct be_nfs_url u;
    char url[BE_NFS_URL_MAX + 1024];
    const char *p;
    int r = 0;

    clear_error ();
    if (be_nfs_url_parse (location, &u) < 0) {
        return -EINVAL;
    }
    for (p = strchr (u.path + 1, '/'); p; p = strchr (p + 1, '/')) {
        struct backend *b;

        if (p[1] == '\0') {
            break;
        }
        snprintf (url, sizeof url, "nfs://%s%.*s%s%s", u.host,
                  (int) (p - u.path), u.path, u.query[0] ? "?" : "", u.query);
        b = be_nfs_new (log, url);
        if (b) {
            *path = strdup (p);
            if (*path == NULL) {
                backend_free (b);
                return set_error (ENOMEM, "out of memory");
            }
            clear_error ();
            *out = b;
            return 0;
        }
        r = -vmshift_internal_error_errno ();
    }
    if (r == 0) {
        return set_error (EINVAL, "'%s' does not name a file inside an "
                          "export (nfs://SERVER/EXPORT/PATH)", location);
    }
    return r;
}
