/* See exec.h.  Write order: data -> flush -> metadata -> flush ->
 * headers -> flush, so a crash never leaves valid-looking headers over
 * missing data (and the file is still under its temporary name). */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "engine/base/error.h"
#include "engine/base/host.h"
#include "engine/exec/exec.h"

#define EXEC_BUF ((size_t) 1 << 20)
#define EXEC_CLONE_BATCH 1024
/* Metadata blocks of zeros are not written (exec_write_nonzero). */
#define EXEC_ZERO_BLOCK ((uint64_t) 4096)

double
vs_exec_now (void)
{
    struct timespec ts;

    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

struct exec_stale_ctx {
    struct backend *be;
    const char *dir;
    const char *name;
    const struct logger *log;
    char host[64];
};

/* ".<name>.vmshift.<host>.<pid>.<rand>.tmp" of ours whose pid is gone. */
static int
exec_stale_cb (void *opaque, const char *entry)
{
    struct exec_stale_ctx *c = opaque;
    size_t nl = strlen (c->name), el = strlen (entry), hl = strlen (c->host);
    const char *p;
    char *end, *path;
    long pid;

    if (el < nl + 14 || entry[0] != '.' ||
        strncmp (entry + 1, c->name, nl) != 0 ||
        strncmp (entry + 1 + nl, ".vmshift.", 9) != 0 ||
        strcmp (entry + el - 4, ".tmp") != 0) {
        return 0;
    }
    p = entry + 1 + nl + 9;
    if (strncmp (p, c->host, hl) != 0 || p[hl] != '.') {
        vs_log_msg (c->log, LOG_WARN, "leaving '%s' in '%s': it belongs to a run "
                 "on another host", entry, c->dir);
        return 0;
    }
    pid = strtol (p + hl + 1, &end, 10);
    if (*end != '.' || pid <= 0 || (kill ((pid_t) pid, 0) == 0 || errno != ESRCH)) {
        return 0;
    }
    path = vs_path_join (c->dir, entry);
    if (path && backend_unlink (c->be, path) == 0) {
        vs_log_msg (c->log, LOG_INFO, "removed '%s' left by an interrupted run",
                 path);
    } else if (path) {
        vs_log_msg (c->log, LOG_WARN, "cannot remove '%s' left by an interrupted "
                 "run: %s", path, vmshift_internal_error_msg ());
    }
    clear_error ();
    free (path);
    return 0;
}

int
vs_exec_clean_stale (struct backend *be, const char *dir, const char *name,
                  const struct logger *log)
{
    struct exec_stale_ctx c = { .be = be, .dir = dir, .name = name,
                                .log = log };
    int r;

    vs_host_name (c.host, sizeof c.host);
    r = backend_list (be, dir, exec_stale_cb, &c);
    if (r == -ENOTSUP) {
        clear_error ();
        return 0;
    }
    return r;
}

static int
exec_tmp_name (const char *dir, const char *name, char **out)
{
    char host[64], buf[512];
    uint32_t rnd = 0;

    vs_host_name (host, sizeof host);
    if (getrandom (&rnd, sizeof rnd, 0) != sizeof rnd) {
        rnd = (uint32_t) time (NULL) ^ (uint32_t) getpid ();
    }
    if ((size_t) snprintf (buf, sizeof buf, ".%s.vmshift.%s.%ld.%08x.tmp",
                           name, host, (long) getpid (), rnd) >= sizeof buf) {
        return set_error (ENAMETOOLONG, "target name '%s' is too long", name);
    }
    *out = vs_path_join (dir, buf);
    return *out ? 0 : set_error (ENOMEM, "out of memory");
}

int
vs_exec_begin (struct exec *x, struct backend *dst, const char *dir,
            const struct fmt_layout *lay, const struct logger *log)
{
    int r;

    memset (x, 0, sizeof *x);
    x->dst = dst;
    x->log = log;
    x->dir = strdup (dir);
    if (x->dir == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < lay->nout; i++) {
        struct exec_out *o = &x->out[i];

        x->nout = i + 1;
        o->role = lay->out[i].role;
        o->name = strdup (lay->out[i].name);
        o->final_path = vs_path_join (dir, lay->out[i].name);
        if (o->name == NULL || o->final_path == NULL) {
            r = set_error (ENOMEM, "out of memory");
            goto fail;
        }
        r = vs_exec_clean_stale (dst, dir, o->name, log);
        if (r < 0) {
            goto fail;
        }
        r = exec_tmp_name (dir, o->name, &o->tmp_path);
        if (r < 0) {
            goto fail;
        }
        r = backend_open (dst, o->tmp_path, BE_RDWR | BE_CREATE, &o->f);
        if (r < 0) {
            free (o->tmp_path);
            o->tmp_path = NULL;
            goto fail;
        }
        vs_log_debug (log, LOGM_EXEC, "temporary '%s' for '%s'", o->tmp_path,
                   o->final_path);
    }
    return 0;
fail:
    /* Release, not just abort: the names and the directory copied above
     * are ours to free (callers do not call vs_exec_release after a failed
     * vs_exec_begin).  vs_exec_release leaves *x zeroed, so a later release is
     * harmless. */
    vs_exec_release (x);
    return r;
}

static bool
exec_is_zero (const uint8_t *b, size_t n)
{
    return n == 0 || (b[0] == 0 && memcmp (b, b + 1, n - 1) == 0);
}

/* Copy len bytes; all-zero chunks are not written (the fresh target is
 * a hole there already). */
static int
exec_copy (struct be_file *dst, uint64_t doff, struct be_file *src,
           uint64_t soff, uint64_t len, uint8_t *buf)
{
    uint64_t done = 0;
    int r;

    while (done < len) {
        size_t n = len - done > EXEC_BUF ? EXEC_BUF : (size_t) (len - done);

        r = backend_pread (src, buf, n, soff + done);
        if (r < 0) {
            return error_class (VS_ERRCLASS_SOURCE);
        }
        if (!exec_is_zero (buf, n)) {
            r = backend_pwrite (dst, buf, n, doff + done);
            if (r < 0) {
                return r;
            }
        }
        done += n;
    }
    return 0;
}

static int
exec_inflate (struct be_file *dst, const struct fmt_placement *p,
              struct be_file *src)
{
    uint8_t *c = malloc (p->clen ? p->clen : 1), *u = malloc (p->ulen ? p->ulen : 1);
    size_t got = 0;
    int r;

    if (c == NULL || u == NULL) {
        r = set_error (ENOMEM, "out of memory for a compressed grain");
        goto out;
    }
    r = backend_pread (src, c, p->clen, p->src_off);
    if (r == 0) {
        r = fmt_inflate (p->codec, c, p->clen, u, p->ulen, &got);
        if (r < 0) {
            error_prepend ("'%s' at offset %" PRIu64 ": ", src->path,
                           p->src_off);
        }
    }
    if (r == 0 && (uint64_t) got < (uint64_t) p->skip + p->len) {
        r = set_error (EINVAL, "'%s': compressed grain at offset %" PRIu64
                       " holds %zu bytes, %" PRIu64 " needed", src->path,
                       p->src_off, got, (uint64_t) p->skip + p->len);
    }
    if (r < 0) {
        error_class (VS_ERRCLASS_SOURCE);       /* a bad grain */
    }
    if (r == 0 && !exec_is_zero (u + p->skip, (size_t) p->len)) {
        r = backend_pwrite (dst, u + p->skip, (size_t) p->len, p->dst_off);
    }
out:
    free (c);
    free (u);
    return r;
}

/* Only "cannot share here" falls back to copying.  Any other clone error
 * (an ONTAP refusal, I/O) fails the conversion: copying a disk over NFS
 * behind the user's back would hide the problem. */
static bool
exec_clone_unsupported (int r)
{
    return r == -EOPNOTSUPP || r == -ENOTSUP || r == -EXDEV;
}

struct exec_run {
    struct exec_out *o;
    struct beio *src;
    struct exec_stats *st;
    bool clone_ok;
    uint8_t *buf;
    struct be_range ranges[EXEC_CLONE_BATCH];
    const struct fmt_placement *batch[EXEC_CLONE_BATCH];
    size_t nb;
    uint32_t batch_file;
};

static int
exec_copy_placement (struct exec_run *run, const struct fmt_placement *p)
{
    struct be_file *src = vs_beio_file (run->src, p->src_file);
    int r;

    if (src == NULL) {
        return set_error (EINVAL, "placement refers to unknown source file #%u",
                          p->src_file);
    }
    if (p->kind == FMT_PLACE_INFLATE) {
        r = exec_inflate (run->o->f, p, src);
    } else {
        r = exec_copy (run->o->f, p->dst_off, src, p->src_off, p->len,
                       run->buf);
    }
    if (r == 0) {
        run->st->bytes_copied += p->len;
    }
    return r;
}

static int
exec_flush_batch (struct exec_run *run)
{
    struct be_file *src;
    int r = 0;

    if (run->nb == 0) {
        return 0;
    }
    src = vs_beio_file (run->src, run->batch_file);
    if (run->clone_ok) {
        r = backend_clone_ranges (run->o->f, src, run->ranges, run->nb);
        if (r == 0) {
            for (size_t i = 0; i < run->nb; i++) {
                run->st->bytes_cloned += run->ranges[i].len;
            }
            run->st->clone_calls++;
            run->nb = 0;
            return 0;
        }
        if (!exec_clone_unsupported (r)) {
            return r;
        }
        snprintf (run->st->clone_note, sizeof run->st->clone_note, "%s",
                  vmshift_internal_error_msg ());
        clear_error ();
        run->clone_ok = false;
        r = 0;
    }
    for (size_t i = 0; i < run->nb && r == 0; i++) {
        r = exec_copy_placement (run, run->batch[i]);
    }
    run->nb = 0;
    return r;
}

static int
exec_data (struct exec_run *run, const struct fmt_output *lo)
{
    int r;

    for (size_t i = 0; i < lo->place.len; i++) {
        const struct fmt_placement *p = &lo->place.ptr[i];

        if (p->kind != FMT_PLACE_CLONE) {
            r = exec_copy_placement (run, p);
        } else {
            if (run->nb == EXEC_CLONE_BATCH ||
                (run->nb > 0 && run->batch_file != p->src_file)) {
                r = exec_flush_batch (run);
                if (r < 0) {
                    return r;
                }
            }
            if (vs_beio_file (run->src, p->src_file) == NULL) {
                return set_error (EINVAL, "placement refers to unknown source "
                                  "file #%u", p->src_file);
            }
            run->batch_file = p->src_file;
            run->batch[run->nb] = p;
            run->ranges[run->nb].dst_off = p->dst_off;
            run->ranges[run->nb].src_off = p->src_off;
            run->ranges[run->nb].len = p->len;
            run->nb++;
            r = 0;
        }
        if (r < 0) {
            return r;
        }
    }
    return exec_flush_batch (run);
}

/* Write buf[0, n) at file offset off, leaving out the EXEC_ZERO_BLOCK
 * aligned blocks (and the partial blocks at either end) that are all
 * zeros: every output is a file this run created, so it reads as zeros
 * wherever nothing was written, locally and over NFS (RFC 1813 3.3.7
 * SETATTR size; RFC 8881 18.30 SETATTR).  Non-zero blocks next to each
 * other go out in one write. */
static int
exec_write_nonzero (struct be_file *f, const uint8_t *buf, size_t n,
                    uint64_t off, struct exec_stats *st)
{
    size_t i = 0, run = 0;
    bool in_run = false;
    int r;

    while (i < n) {
        size_t e = i + (size_t) (EXEC_ZERO_BLOCK - (off + i) % EXEC_ZERO_BLOCK);
        bool zero;

        if (e > n) {
            e = n;
        }
        zero = exec_is_zero (buf + i, e - i);
        if (!zero && !in_run) {
            run = i;
            in_run = true;
        } else if (zero && in_run) {
            if ((r = backend_pwrite (f, buf + run, i - run, off + run)) < 0) {
                return r;
            }
            st->bytes_metadata += i - run;
            in_run = false;
        }
        i = e;
    }
    if (in_run) {
        if ((r = backend_pwrite (f, buf + run, n - run, off + run)) < 0) {
            return r;
        }
        st->bytes_metadata += n - run;
    }
    st->bytes_metadata_logical += n;
    return 0;
}

static int
exec_blobs (struct be_file *f, const struct fmt_output *lo, int phase,
            uint8_t *buf, struct exec_stats *st)
{
    int r;

    for (size_t i = 0; i < lo->blobs.len; i++) {
        const struct fmt_blob *b = &lo->blobs.ptr[i];

        if (b->phase != phase) {
            continue;
        }
        for (uint64_t off = 0; off < b->len; off += FMT_GEN_CHUNK) {
            size_t n = b->len - off > FMT_GEN_CHUNK ? FMT_GEN_CHUNK
                                                    : (size_t) (b->len - off);

            r = fmt_blob_read (b, off, buf, n);
            if (r < 0) {
                return r;
            }
            r = exec_write_nonzero (f, buf, n, b->off + off, st);
            if (r < 0) {
                return r;
            }
        }
    }
    return 0;
}

int
vs_exec_write (struct exec *x, const struct fmt_layout *lay, struct beio *src,
            bool allow_clone, struct exec_stats *st)
{
    struct exec_run *run = calloc (1, sizeof *run);
    uint8_t *buf = malloc (EXEC_BUF > FMT_GEN_CHUNK ? EXEC_BUF : FMT_GEN_CHUNK);
    double t0 = vs_exec_now (), t1;
    int r = 0;

    if (run == NULL || buf == NULL) {
        r = set_error (ENOMEM, "out of memory");
        goto out;
    }
    run->src = src;
    run->st = st;
    run->buf = buf;
    run->clone_ok = allow_clone;
    if (!allow_clone) {
        snprintf (st->clone_note, sizeof st->clone_note,
                  "block sharing disabled (--no-clone)");
    }
    for (size_t i = 0; i < x->nout && r == 0; i++) {
        run->o = &x->out[i];
        r = backend_truncate (x->out[i].f, lay->out[i].file_size);
        if (r == 0) {
            r = exec_data (run, &lay->out[i]);
        }
        if (r == 0) {
            r = backend_flush (x->out[i].f);
        }
    }
    t1 = vs_exec_now ();
    st->t_data = t1 - t0;
    for (int phase = FMT_PHASE_META; phase <= FMT_PHASE_HEADER && r == 0;
         phase++) {
        for (size_t i = 0; i < x->nout && r == 0; i++) {
            r = exec_blobs (x->out[i].f, &lay->out[i], phase, buf, st);
            if (r == 0) {
                r = backend_flush (x->out[i].f);
            }
        }
    }
    st->t_meta = vs_exec_now () - t1;
out:
    free (run);
    free (buf);
    return r;
}

/* Undo the renames of companion files when the MAIN rename fails.  Only
 * possible when nothing was replaced: with replace the old files are
 * gone, which the caller asked for. */
static void
exec_unrename (struct exec *x, bool replace)
{
    struct vmshift_error_save saved;

    if (replace) {
        return;
    }
    error_save (&saved);
    for (size_t i = 0; i < x->nout; i++) {
        if (x->out[i].committed) {
            backend_unlink (x->dst, x->out[i].final_path);
            x->out[i].committed = false;
        }
    }
    error_restore (&saved);
}

int
vs_exec_commit (struct exec *x, bool replace)
{
    int r;

    for (size_t i = 0; i < x->nout; i++) {
        backend_close (x->out[i].f);
        x->out[i].f = NULL;
    }
    /* Extent and data files first: the MAIN file, the one users open,
     * appears last and only when everything it refers to is in place. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < x->nout; i++) {
            struct exec_out *o = &x->out[i];

            if ((pass == 0) == (o->role == FMT_OUT_MAIN) || o->tmp_path == NULL) {
                continue;
            }
            r = backend_rename (x->dst, o->tmp_path, o->final_path, replace);
            if (r < 0) {
                exec_unrename (x, replace);
                return r;
            }
            o->committed = true;
            free (o->tmp_path);
            o->tmp_path = NULL;
        }
    }
    return 0;
}

void
vs_exec_abort (struct exec *x)
{
    struct vmshift_error_save saved;

    error_save (&saved);
    for (size_t i = 0; i < x->nout; i++) {
        struct exec_out *o = &x->out[i];

        if (o->f) {
            backend_close (o->f);
            o->f = NULL;
        }
        if (o->tmp_path) {
            backend_unlink (x->dst, o->tmp_path);
            free (o->tmp_path);
            o->tmp_path = NULL;
        }
    }
    error_restore (&saved);
}

void
vs_exec_release (struct exec *x)
{
    vs_exec_abort (x);
    for (size_t i = 0; i < x->nout; i++) {
        free (x->out[i].name);
        free (x->out[i].final_path);
    }
    free (x->dir);
    memset (x, 0, sizeof *x);
}
