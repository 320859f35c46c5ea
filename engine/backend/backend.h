/* Storage backends: one versioned struct of callbacks per backend, like
 * an nbdkit plugin or an sqlite VFS.  A struct backend is a filesystem
 * context (local directory tree, an NFS export, an ONTAP volume); a
 * struct be_file is one open file in it.
 *
 * Only the backend_* wrappers in backend.c call the ops: they check
 * ranges and overflow once, trace the call, and make sure an error was
 * set on failure.  Optional ops may be NULL: the wrappers return
 * -ENOTSUP and callers fall back (and report the fallback).
 *
 * Thread model: a backend context and its files are used by one thread
 * at a time unless the backend documents otherwise.
 */
#ifndef VMSHIFT_BACKEND_H
#define VMSHIFT_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/base/log.h"

struct backend;
struct be_file;

enum be_open_flags {
    BE_RDONLY = 0,
    BE_RDWR = 1u << 0,
    BE_CREATE = 1u << 1,        /* create; fail with -EEXIST if present */
};

/* Capabilities, filled once at open. */
enum be_caps {
    BE_CAP_CLONE = 1u << 0,     /* clone_ranges may work (may still fail
                                 * per call, e.g. across filesystems) */
    BE_CAP_EXTENTS = 1u << 1,   /* extents() reports holes */
    BE_CAP_PHYS = 1u << 2,      /* phys_extents() (FIEMAP) */
    /* clone_ranges works within one file (dst == src, ranges apart) and
     * costs less than writing the bytes: the executor makes repeated
     * metadata that way (local reflink; not ONTAP, where each call is a
     * REST request) */
    BE_CAP_CLONE_SELF = 1u << 3,
};

struct be_range {
    uint64_t dst_off;
    uint64_t src_off;
    uint64_t len;
};

enum { BE_PHYS_SHARED = 1u << 0, BE_PHYS_UNKNOWN = 1u << 1 };
struct be_phys_extent {
    uint64_t logical;
    uint64_t physical;
    uint64_t len;
    unsigned flags;
};

/* What a path names, by identity rather than by name: two paths name
 * the same file when type, fsid and fileid are equal (local: st_dev and
 * st_ino; NFS: the server's fsid and fileid). */
enum be_type {
    BE_TYPE_NONE = 0,           /* (not filled) */
    BE_TYPE_REG,
    BE_TYPE_DIR,
    BE_TYPE_LNK,
    BE_TYPE_OTHER,              /* device, FIFO, socket */
};

struct be_stat {
    size_t struct_size;         /* caller sets sizeof (struct be_stat) */
    enum be_type type;
    uint64_t fileid;
    uint64_t fsid;
    uint64_t size;
    /* space the file takes (local: st_blocks; NFS: fattr3 used), when
     * the backend can tell (used_known) */
    uint64_t used;
    bool used_known;
};

enum be_stat_flags {
    BE_STAT_NOFOLLOW = 1u << 0, /* a symbolic link itself (lstat) */
};

typedef int (*be_extent_cb) (void *opaque, uint64_t off, uint64_t len,
                             bool data);
typedef int (*be_phys_cb) (void *opaque, const struct be_phys_extent *e);
typedef int (*be_list_cb) (void *opaque, const char *name);

struct backend_ops {
    size_t struct_size;         /* sizeof (struct backend_ops) of the build */
    const char *name;
    int (*open) (struct backend *b, const char *path, unsigned flags,
                 struct be_file **out);
    void (*close) (struct be_file *f);
    int64_t (*get_size) (struct be_file *f);
    /* Full transfers: loop on short I/O.  pread past EOF is -EINVAL. */
    int (*pread) (struct be_file *f, void *buf, size_t n, uint64_t off);
    int (*pwrite) (struct be_file *f, const void *buf, size_t n, uint64_t off);
    int (*flush) (struct be_file *f);
    int (*truncate) (struct be_file *f, uint64_t size);
    /* Directory operations on paths of this backend. */
    int (*rename) (struct backend *b, const char *from, const char *to,
                   bool replace);
    int (*unlink) (struct backend *b, const char *path);
    int (*mkdir) (struct backend *b, const char *path);
    int (*exists) (struct backend *b, const char *path);   /* 1, 0, -errno */
    int (*list) (struct backend *b, const char *dir, be_list_cb cb,
                 void *opaque);
    /* Optional. */
    int (*clone_ranges) (struct be_file *dst, struct be_file *src,
                         const struct be_range *r, size_t n);
    int (*extents) (struct be_file *f, uint64_t off, uint64_t len,
                    be_extent_cb cb, void *opaque);
    int (*phys_extents) (struct be_file *f, uint64_t off, uint64_t len,
                         be_phys_cb cb, void *opaque);
    int (*control) (struct backend *b, int op, void *arg);
    void (*free) (struct backend *b);
    /* Added later: present when struct_size reaches them (the wrappers
     * check), optional even then. */
    /* Identity of what path names; -ENOENT when nothing does. */
    int (*stat) (struct backend *b, const char *path, unsigned flags,
                 struct be_stat *st);
    /* The canonical spelling of an existing path (symbolic links, ".",
     * ".." and repeated '/' resolved), as this backend names it; caller
     * frees *out. */
    int (*resolve) (struct backend *b, const char *path, char **out);
    /* A second name for an existing file; -EEXIST, atomically, when 'to'
     * exists (the no-replace publish on NFS, where RENAME replaces). */
    int (*link) (struct backend *b, const char *from, const char *to);
    /* Remove an empty directory; -ENOTEMPTY when it is not empty. */
    int (*rmdir) (struct backend *b, const char *path);
};

/* struct_size of backends built before stat, resolve and link. */
#define BE_OPS_SIZE_V1 offsetof (struct backend_ops, stat)

struct backend_stats {
    uint64_t bytes_read;
    uint64_t bytes_written;
    uint64_t clone_calls;
    uint64_t bytes_cloned;
};

/* Properties of a backend instance (struct backend.props). */
enum be_props {
    /* Its paths are the host's own: an absolute name recorded in an image
     * (a qcow2 data file) means the same file here. */
    BE_PROP_HOST_PATHS = 1u << 0,
};

struct backend {
    const struct backend_ops *ops;
    unsigned props;             /* enum be_props */
    const struct logger *log;
    struct backend_stats stats;
    void *priv;
};

/* Backends embed this first in their file struct. */
struct be_file {
    struct backend *b;
    char *path;
    unsigned flags;
    unsigned caps;
    uint64_t fs_id;             /* which filesystem (physical extents are
                                 * comparable only within one); 0 unknown */
};

/* Checked wrappers. */
int backend_open (struct backend *b, const char *path, unsigned flags,
                  struct be_file **out);
void backend_close (struct be_file *f);
int64_t backend_get_size (struct be_file *f);
int backend_pread (struct be_file *f, void *buf, size_t n, uint64_t off);
int backend_pwrite (struct be_file *f, const void *buf, size_t n,
                    uint64_t off);
int backend_flush (struct be_file *f);
int backend_truncate (struct be_file *f, uint64_t size);
int backend_rename (struct backend *b, const char *from, const char *to,
                    bool replace);
int backend_unlink (struct backend *b, const char *path);
int backend_mkdir (struct backend *b, const char *path);
int backend_exists (struct backend *b, const char *path);
/* -ENOTSUP when the backend has no such op (or an older struct_size). */
int backend_stat (struct backend *b, const char *path, unsigned flags,
                  struct be_stat *st);
int backend_resolve (struct backend *b, const char *path, char **out);
int backend_link (struct backend *b, const char *from, const char *to);
/* -ENOTEMPTY (no message of its own to say) when the directory is not
 * empty; -ENOTSUP when the backend cannot remove directories. */
int backend_rmdir (struct backend *b, const char *path);
/* Whether the backend provides an optional op (NULL or beyond the
 * backend's struct_size means no). */
#define backend_has(b, op) \
    (offsetof (struct backend_ops, op) < (b)->ops->struct_size && \
     (b)->ops->op != NULL)
/* 1 when a and b are the same file, 0 when not (or either is absent). */
int backend_same_file (const struct be_stat *a, const struct be_stat *b);
int backend_list (struct backend *b, const char *dir, be_list_cb cb,
                  void *opaque);
int backend_clone_ranges (struct be_file *dst, struct be_file *src,
                          const struct be_range *r, size_t n);
int backend_extents (struct be_file *f, uint64_t off, uint64_t len,
                     be_extent_cb cb, void *opaque);
int backend_phys_extents (struct be_file *f, uint64_t off, uint64_t len,
                          be_phys_cb cb, void *opaque);
void backend_free (struct backend *b);

/* Local POSIX backend (FICLONERANGE, SEEK_DATA/SEEK_HOLE, FIEMAP).
 * Thread model: files may be used from different threads at once. */
struct backend *be_local_new (const struct logger *log);

/* NFS backend (libnfs, NFSv3 and v4, no kernel mount): one export,
 * url = nfs://HOST/EXPORT[?version=3|4&nfsport=N&mountport=N]; paths are
 * relative to the export.  NULL plus the error when the URL is bad or the
 * mount fails.  Thread model: one libnfs context per backend, so a
 * backend and its files are used by one thread at a time.  No
 * clone_ranges and no extents.  rename without replace checks the target
 * first: not atomic against a concurrent creator. */
struct backend *be_nfs_new (const struct logger *log, const char *url);
/* Split nfs://HOST/EXPORT/PATH?... into a backend on the export (found
 * by mounting "/a", "/a/b", ... in turn) and the path in it (caller
 * frees *path). */
int be_nfs_open_location (const struct logger *log, const char *location,
                          struct backend **out, char **path);
/* Cap each READ/WRITE call at max bytes (0: the server's maxima); tests
 * use it to force short transfers.  Ignored for other backends. */
void be_nfs_set_max_io (struct backend *b, size_t max);
/* The errno an NFS status named in a libnfs message stands for
 * ("...NFS3ERR_NOSPC..." -> ENOSPC), else err. */
int be_nfs_status_errno (const char *msg, int err);

/* In-memory backend: files and directories in memory, nothing shared
 * with the host; clone_ranges copies (counted as clones), extents
 * reports written ranges, link makes a second name for the same data.
 * For unit tests of the executor and the pipeline without a server. */
struct backend *be_mem_new (const struct logger *log);

/* Fault filter (nbdkit's "error" filter, per op): passes every call on
 * to 'inner' (taken, freed with the filter) and fails the Nth call of a
 * chosen op with a chosen errno.  Optional torn transfer: the failing
 * pread/pwrite first moves half the bytes, then fails.  max_io > 0 makes
 * every read/write reach the inner backend in pieces of at most max_io
 * bytes (short transfers, looped by the filter as the contract says). */
enum be_op {
    BE_OP_OPEN, BE_OP_CLOSE, BE_OP_GET_SIZE, BE_OP_PREAD, BE_OP_PWRITE,
    BE_OP_FLUSH, BE_OP_TRUNCATE, BE_OP_RENAME, BE_OP_UNLINK, BE_OP_MKDIR,
    BE_OP_EXISTS, BE_OP_LIST, BE_OP_CLONE, BE_OP_EXTENTS, BE_OP_STAT,
    BE_OP_RESOLVE, BE_OP_LINK,
    BE_OP_COUNT
};
struct backend *be_fault_new (const struct logger *log,
                              struct backend *inner_take);
/* Fail call number nth (1-based; 0 turns the fault off) of op with
 * -err; torn: a failing pread/pwrite transfers half first. */
void be_fault_set (struct backend *b, enum be_op op, uint64_t nth, int err,
                   bool torn);
void be_fault_set_max_io (struct backend *b, size_t max_io);
/* Calls of op so far, and whether the fault has fired. */
uint64_t be_fault_calls (struct backend *b, enum be_op op);
bool be_fault_fired (struct backend *b);
const char *be_op_name (enum be_op op);
/* Test hook (docs/testing.md, "Fault hooks"): with
 * VMSHIFT_TEST_NFS_FAULT="OP:COUNT:ERRNO:MATCH" set (OP a be_op_name,
 * ERRNO a name such as ECONNRESET), inner wrapped in a fault filter whose
 * first COUNT calls of OP on a path containing MATCH, counted over the
 * whole process, fail with ERRNO; unset, inner itself.  NULL when
 * wrapping fails (inner freed). */
struct backend *be_fault_env (const struct logger *log,
                              struct backend *inner_take);

/* Helpers for backends. */
void be_file_init (struct be_file *f, struct backend *b, const char *path,
                   unsigned flags);   /* path copied; NULL on ENOMEM kept */
void be_file_release (struct be_file *f);

#endif
