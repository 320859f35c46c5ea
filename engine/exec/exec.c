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
/* Metadata blobs are generated and written in chunks of at most this
 * size: the buffer's pages are touched once and reused, where a fresh
 * 1 MiB would cost 256 page faults (a thin disk's metadata is mostly
 * skipped zeros anyway).  A multiple of EXEC_ZERO_BLOCK, at most
 * FMT_GEN_CHUNK. */
#define EXEC_META_CHUNK ((size_t) 64 << 10)

double
vs_exec_now (void)
{
    struct timespec ts;

    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* ------------------------------------------------- recovery of leftovers */

#define EXEC_JOURNAL_MAX 8192

struct exec_entry {
    char name[256];
    char run[VS_RUN_HEX + 1];
    char kind[16];
};

struct exec_scan {
    const char *main_name;
    struct exec_entry *v;
    size_t n, cap;
    int err;
};

static int
exec_scan_cb (void *opaque, const char *entry)
{
    struct exec_scan *sc = opaque;
    struct exec_entry e;
    bool lease;

    memset (&e, 0, sizeof e);
    lease = vs_owner_parse_lease (entry, e.run);
    if (!lease && !vs_owner_parse_file (entry, sc->main_name, e.run, e.kind,
                                        sizeof e.kind)) {
        return 0;
    }
    if (lease) {
        snprintf (e.kind, sizeof e.kind, "lease");
    }
    if (strlen (entry) >= sizeof e.name) {
        return 0;
    }
    snprintf (e.name, sizeof e.name, "%s", entry);
    if (sc->n == sc->cap) {
        size_t nc = sc->cap ? sc->cap * 2 : 16;
        struct exec_entry *nv = realloc (sc->v, nc * sizeof *nv);

        if (nv == NULL) {
            sc->err = set_error (ENOMEM, "out of memory");
            return sc->err;
        }
        sc->v = nv;
        sc->cap = nc;
    }
    sc->v[sc->n++] = e;
    return 0;
}

/* false when the name is still there */
static bool
exec_remove (struct backend *be, const char *dir, const char *name,
             const struct logger *log, const char *why)
{
    char *path = vs_path_join (dir, name);
    bool ok = false;

    if (path && backend_unlink (be, path) == 0) {
        vs_log_msg (log, LOG_INFO, "removed '%s' %s", path, why);
        ok = true;
    } else if (path && vmshift_internal_error_errno () != ENOENT) {
        vs_log_msg (log, LOG_WARN, "cannot remove '%s' %s: %s", path, why,
                    vmshift_internal_error_msg ());
    } else {
        ok = path != NULL;
    }
    clear_error ();
    free (path);
    return ok;
}

/* Remove name only while it is still the file the journal recorded;
 * false when it is and stays. */
static bool
exec_remove_if_same (struct backend *be, const char *dir, const char *name,
                     const struct be_stat *want, const struct logger *log,
                     const char *why)
{
    struct be_stat st = { .struct_size = sizeof st };
    char *path = vs_path_join (dir, name);
    bool ok = true;
    int r = path ? backend_stat (be, path, BE_STAT_NOFOLLOW, &st) : -ENOMEM;

    if (r == 0 && backend_same_file (&st, want)) {
        ok = exec_remove (be, dir, name, log, why);
    } else if (r < 0 && r != -ENOENT) {
        ok = false;
    }
    clear_error ();
    free (path);
    return ok;
}

/* One journal line: "<key> <fsid> <fileid> <name>" or "saved <name>". */
static bool
exec_journal_line (const char *line, const char *key, struct be_stat *id,
                   char *name, size_t n)
{
    size_t kl = strlen (key);
    unsigned long long fsid, fileid;
    int used = 0;

    if (strncmp (line, key, kl) != 0 || line[kl] != ' ') {
        return false;
    }
    if (id == NULL) {
        snprintf (name, n, "%s", line + kl + 1);
        return name[0] != '\0';
    }
    if (sscanf (line + kl + 1, "%llu %llu %n", &fsid, &fileid, &used) != 2 ||
        used == 0) {
        return false;
    }
    memset (id, 0, sizeof *id);
    id->struct_size = sizeof *id;
    id->type = BE_TYPE_REG;
    id->fsid = fsid;
    id->fileid = fileid;
    snprintf (name, n, "%s", line + kl + 1 + used);
    return name[0] != '\0';
}

/* Finish (committed) or undo (not) the publish a gone run journaled. */
static void
exec_journal_replay (struct backend *be, const char *dir, const char *jname,
                     const struct logger *log)
{
    char text[EXEC_JOURNAL_MAX + 1], name[256];
    struct be_stat id, cur = { .struct_size = sizeof cur };
    char *path = vs_path_join (dir, jname), *mp = NULL;
    struct be_file *f = NULL;
    bool committed = false, all = true;
    int64_t size = -1;
    int r;

    r = path ? backend_open (be, path, BE_RDONLY, &f) : -ENOMEM;
    if (r == 0 && (size = backend_get_size (f)) >= 0) {
        size = size > EXEC_JOURNAL_MAX ? EXEC_JOURNAL_MAX : size;
        r = backend_pread (f, text, (size_t) size, 0);
    }
    backend_close (f);
    free (path);
    if (r < 0 || size < 0 || strncmp (text, "vmshift-publish 1\n", 18) != 0) {
        vs_log_msg (log, LOG_WARN, "cannot read the publish journal '%s' in "
                    "'%s'; left alone", jname, dir);
        clear_error ();
        return;
    }
    text[size] = '\0';
    for (int64_t i = 0; i < size; i++) {
        if (text[i] == '\n') {
            text[i] = '\0';        /* one string per line */
        }
    }
    for (char *l = text; l < text + size; l += strlen (l) + 1) {
        if (exec_journal_line (l, "main", &id, name, sizeof name)) {
            mp = vs_path_join (dir, name);
            committed = mp && backend_stat (be, mp, BE_STAT_NOFOLLOW, &cur) == 0
                        && backend_same_file (&cur, &id);
            clear_error ();
            free (mp);
            break;
        }
    }
    for (char *l = text; l < text + size; l += strlen (l) + 1) {
        if (exec_journal_line (l, committed ? "old" : "new", &id, name,
                               sizeof name)) {
            all &= exec_remove_if_same (be, dir, name, &id, log, committed
                                        ? "(replaced by an interrupted run "
                                          "that had committed)"
                                        : "(published by an interrupted run "
                                          "that had not committed)");
        } else if (exec_journal_line (l, "saved", NULL, name, sizeof name)) {
            all &= exec_remove (be, dir, name, log,
                                "(left by an interrupted run)");
        }
    }
    if (!all) {
        return;                 /* the journal stays for the next run */
    }
    exec_remove (be, dir, jname, log, committed
                 ? "(the interrupted run's publish is now finished)"
                 : "(the interrupted run's publish is now undone)");
}

int
vs_exec_recover (struct backend *be, const char *dir, const char *main_name,
                 const struct logger *log)
{
    struct exec_scan sc = { .main_name = main_name };
    int r = backend_list (be, dir, exec_scan_cb, &sc);

    /* no directory, nothing to recover: the target check says why the
     * directory is missing (a target error) */
    if (r == -ENOTSUP || r == -ENOENT || r == -ENOTDIR) {
        clear_error ();
        free (sc.v);
        return 0;
    }
    if (r < 0) {
        free (sc.v);
        return r;
    }
    for (size_t i = 0; i < sc.n; i++) {
        int gone;
        bool seen = false;

        for (size_t j = 0; j < i && !seen; j++) {
            seen = strcmp (sc.v[j].run, sc.v[i].run) == 0;
        }
        if (seen) {
            continue;
        }
        gone = vs_owner_run_gone (be, dir, sc.v[i].run, log);
        if (gone < 0) {
            free (sc.v);
            return gone;
        }
        if (!gone && vs_owner_lease_mine (be, dir, sc.v[i].run)) {
            /* Our own run ID, taken over from an earlier process of the
             * same run (a resumed migration run, engine/convert.h): that
             * process is gone, so a publish journal it left is finished
             * or undone like any other.  Its temporaries stay: the run's
             * journal adopts or removes them. */
            for (size_t j = i; j < sc.n; j++) {
                const struct exec_entry *e = &sc.v[j];

                if (strcmp (e->run, sc.v[i].run) == 0 &&
                    strcmp (e->kind, "pub") == 0 &&
                    vs_owner_file_pid (e->name) != (long) getpid ()) {
                    exec_journal_replay (be, dir, e->name, log);
                }
            }
            continue;
        }
        if (!gone) {
            vs_log_debug (log, LOGM_EXEC, "run %s in '%s' is alive; its files "
                          "stay", sc.v[i].run, dir);
            continue;
        }
        /* journals first (they may name the other files), the lease last */
        for (int pass = 0; pass < 3; pass++) {
            for (size_t j = i; j < sc.n; j++) {
                const struct exec_entry *e = &sc.v[j];
                bool pub = strcmp (e->kind, "pub") == 0;
                bool lease = strcmp (e->kind, "lease") == 0;

                if (strcmp (e->run, sc.v[i].run) != 0 ||
                    (pass == 0) != pub || (pass == 2) != lease) {
                    continue;
                }
                if (pub) {
                    exec_journal_replay (be, dir, e->name, log);
                } else {
                    exec_remove (be, dir, e->name, log,
                                 lease ? "(the lease of a run that is gone)"
                                       : "left by an interrupted run");
                }
            }
        }
    }
    free (sc.v);
    return 0;
}

int
vs_exec_clean_stale (struct backend *be, const char *dir, const char *name,
                  const struct logger *log)
{
    return vs_exec_recover (be, dir, name, log);
}

static const char *
exec_main_name (const struct fmt_layout *lay)
{
    for (size_t i = 0; i < lay->nout; i++) {
        if (lay->out[i].role == FMT_OUT_MAIN) {
            return lay->out[i].name;
        }
    }
    return lay->nout ? lay->out[0].name : "";
}

static int
exec_run_path (struct exec *x, const char *main_name, const char *kind,
               char **out)
{
    char buf[128];
    int r = vs_owner_file_name (x->owner, main_name, kind, buf, sizeof buf);

    if (r < 0) {
        return r;
    }
    *out = vs_path_join (x->dir, buf);
    return *out ? 0 : set_error (ENOMEM, "out of memory");
}

int
vs_exec_begin_owned (struct exec *x, struct backend *dst, const char *dir,
                     const struct fmt_layout *lay, struct vs_owner *owner,
                     const struct logger *log)
{
    return vs_exec_begin_steps (x, dst, dir, lay, owner, NULL, NULL, NULL,
                                log);
}

int
vs_exec_begin_steps (struct exec *x, struct backend *dst, const char *dir,
                     const struct fmt_layout *lay, struct vs_owner *owner,
                     const char *const *adopt, vs_exec_intent_fn intent,
                     void *opaque, const struct logger *log)
{
    const char *main_name = exec_main_name (lay);
    int r;

    memset (x, 0, sizeof *x);
    x->dst = dst;
    x->log = log;
    x->dir = strdup (dir);
    if (x->dir == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    if (owner == NULL) {
        r = vs_owner_init (&x->own, log);
        if (r < 0) {
            goto fail;
        }
        owner = &x->own;
    }
    x->owner = owner;
    /* Adopting: our lease first, so that the recovery takes the earlier
     * process's files (same run ID) for a live run's */
    r = adopt ? vs_owner_hold (owner, dst, dir) : 0;
    if (r == 0) {
        r = vs_exec_recover (dst, dir, main_name, log);
    }
    if (r == 0) {
        r = vs_owner_hold (owner, dst, dir);
    }
    if (r < 0) {
        goto fail;
    }
    for (size_t i = 0; i < lay->nout; i++) {
        struct exec_out *o = &x->out[i];
        char kind[8];

        x->nout = i + 1;
        o->role = lay->out[i].role;
        o->name = strdup (lay->out[i].name);
        o->final_path = vs_path_join (dir, lay->out[i].name);
        if (o->name == NULL || o->final_path == NULL) {
            r = set_error (ENOMEM, "out of memory");
            goto fail;
        }
        snprintf (kind, sizeof kind, "tmp%zu", i);
        if (adopt) {
            o->tmp_path = vs_path_join (dir, adopt[i]);
            r = o->tmp_path ? 0 : set_error (ENOMEM, "out of memory");
        } else {
            r = exec_run_path (x, main_name, kind, &o->tmp_path);
        }
        if (r < 0) {
            goto fail;
        }
    }
    /* the caller journals the names before anything is created */
    if (!adopt && intent && (r = intent (opaque, x)) < 0) {
        goto fail;
    }
    for (size_t i = 0; i < x->nout; i++) {
        struct exec_out *o = &x->out[i];

        r = backend_open (dst, o->tmp_path, adopt ? BE_RDWR
                                                  : BE_RDWR | BE_CREATE, &o->f);
        if (r < 0) {
            if (adopt) {
                /* not ours to remove: the caller decides (undo) */
                for (size_t k = 0; k < x->nout; k++) {
                    free (x->out[k].tmp_path);
                    x->out[k].tmp_path = NULL;
                }
            }
            free (o->tmp_path);
            o->tmp_path = NULL;
            goto fail;
        }
        vs_log_debug (log, LOGM_EXEC, "temporary '%s' for '%s'%s",
                      o->tmp_path, o->final_path, adopt ? " (adopted)" : "");
    }
    x->adopted = adopt != NULL;
    return 0;
fail:
    /* Release, not just abort: the names and the directory copied above
     * are ours to free (callers do not call vs_exec_release after a failed
     * vs_exec_begin).  vs_exec_release leaves *x zeroed, so a later release is
     * harmless. */
    vs_exec_release (x);
    return r;
}

int
vs_exec_begin (struct exec *x, struct backend *dst, const char *dir,
            const struct fmt_layout *lay, const struct logger *log)
{
    return vs_exec_begin_owned (x, dst, dir, lay, NULL, log);
}

static bool
exec_is_zero (const uint8_t *b, size_t n)
{
    return n == 0 || (b[0] == 0 && memcmp (b, b + 1, n - 1) == 0);
}

static void
exec_progress (struct exec_stats *st, bool force)
{
    double t;

    if (!st->progress) {
        return;
    }
    t = vs_exec_now ();
    if (!force && t - st->t_progress < EXEC_PROGRESS_SEC) {
        return;
    }
    st->t_progress = t;
    st->progress (st->progress_opaque, st);
}

/* Copy len bytes; all-zero chunks are not written (the fresh target is
 * a hole there already).  Counted in st as they go (progress). */
static int
exec_copy (struct be_file *dst, uint64_t doff, struct be_file *src,
           uint64_t soff, uint64_t len, uint8_t *buf, struct exec_stats *st)
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
        st->bytes_copied += n;
        exec_progress (st, false);
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
    struct exec *x;
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
    if (run->st->clone_note[0] == '\0') {
        /* copied data always has a reason (the man page promises it):
         * here the plan copies, not a refused clone */
        snprintf (run->st->clone_note, sizeof run->st->clone_note, "%s",
                  p->kind == FMT_PLACE_INFLATE
                  ? "the source's data is compressed (streamOptimized grains "
                    "or qcow2 compressed clusters): it is inflated and "
                    "written, not shared"
                  : "source data whose offset cannot be shared with the "
                    "target's (not on a 4 KiB boundary in both files, such "
                    "as a flat extent starting at sector 1, or a last "
                    "partial block) is copied");
    }
    if (p->kind == FMT_PLACE_INFLATE) {
        r = exec_inflate (run->o->f, p, src);
        if (r == 0) {
            run->st->bytes_copied += p->len;
        }
    } else {
        r = exec_copy (run->o->f, p->dst_off, src, p->src_off, p->len,
                       run->buf, run->st);
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
            exec_progress (run->st, false);
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

        /* a long run keeps its lease (cheap unless due) */
        vs_owner_renew (run->x->owner, run->x->dst, false);
        if (p->kind != FMT_PLACE_CLONE) {
            r = exec_copy_placement (run, p);
            exec_progress (run->st, false);
        } else if (run->x->clones_in_place && run->clone_ok) {
            /* an earlier process of the run cloned it (its journal and
             * vs_exec_clones_present say so): not sent again */
            run->st->bytes_cloned += p->len;
            r = 0;
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
                    uint64_t off, bool all, struct exec_stats *st)
{
    size_t i = 0, run = 0;
    bool in_run = false;
    int r;

    if (all) {
        /* an adopted temporary may hold an earlier plan's metadata */
        if ((r = backend_pwrite (f, buf, n, off)) < 0) {
            return r;
        }
        st->bytes_metadata += n;
        st->bytes_metadata_logical += n;
        return 0;
    }
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

/* Write the blob's bytes [from, to) (offsets in the blob) in chunks
 * that end at file offsets that are multiples of the chunk size, so no
 * zero-skipping block straddles two chunks. */
static int
exec_blob_part (struct be_file *f, const struct fmt_blob *b, uint64_t from,
                uint64_t to, uint8_t *buf, bool all, struct exec_stats *st)
{
    int r;

    for (uint64_t off = from, n; off < to; off += n) {
        n = EXEC_META_CHUNK - (b->off + off) % EXEC_META_CHUNK;
        if (n > to - off) {
            n = to - off;
        }
        r = fmt_blob_read (b, off, buf, (size_t) n);
        if (r < 0) {
            return r;
        }
        r = exec_write_nonzero (f, buf, (size_t) n, b->off + off, all, st);
        if (r < 0) {
            return r;
        }
    }
    return 0;
}

static uint64_t
exec_gcd (uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;

        a = b;
        b = t;
    }
    return a;
}

/* File bytes [a, a + q) hold a repeated run's bytes and q is a multiple
 * of its period: fill [a + q, e) by cloning from a what is filled so far
 * (or what is left), so k periods take about log2 k calls.  *filled:
 * the bytes from a on that hold the run when it returns, also on
 * failure. */
static int
exec_repeat_fill (struct be_file *f, uint64_t a, uint64_t q, uint64_t e,
                  uint64_t *filled, struct exec_stats *st)
{
    *filled = q;
    while (a + *filled < e) {
        struct be_range rg = {
            .dst_off = a + *filled, .src_off = a, .len = *filled,
        };
        int r;

        if (rg.len > e - rg.dst_off) {
            rg.len = e - rg.dst_off;
        }
        r = backend_clone_ranges (f, f, &rg, 1);
        if (r < 0) {
            return r;
        }
        st->bytes_metadata_cloned += rg.len;
        st->bytes_metadata_logical += rg.len;
        *filled += rg.len;
    }
    return 0;
}

/* Repeated runs of one output (fmt_repeat): whether cloning is on, and
 * the last run made, whose filled part later runs of the same pattern
 * clone their first aligned period from. */
struct exec_rep {
    bool ok;                    /* the backend clones within the file */
    uint32_t pattern;           /* of the last run made; 0: none */
    uint64_t period;
    uint64_t off;               /* its start */
    uint64_t a;                 /* its aligned start */
    uint64_t filled;            /* bytes from a on that hold it */
};

/* Where the last run made holds q bytes at the phase that file offset a
 * has in rp (both runs' bytes agree at equal phases: same pattern), on
 * the 4 KiB grid; UINT64_MAX when nowhere. */
static uint64_t
exec_rep_source (const struct exec_rep *rs, const struct fmt_repeat *rp,
                 uint64_t a, uint64_t q)
{
    uint64_t want;

    if (rs->pattern == 0 || rp->pattern != rs->pattern ||
        rp->period != rs->period) {
        return UINT64_MAX;
    }
    want = (a - rp->off) % rp->period;
    /* phases on the grid repeat every q bytes */
    for (uint64_t s = rs->a; s < rs->a + q && s + q <= rs->a + rs->filled;
         s += EXEC_ZERO_BLOCK) {
        if ((s - rs->off) % rp->period == want) {
            return s;
        }
    }
    return UINT64_MAX;
}

/* Write one blob.  Its repeated runs (fmt_repeat) are, where the backend
 * clones within a file (rs->ok), made of one 4 KiB-aligned multiple of
 * the period, written (or cloned from an earlier run of the same
 * pattern), and clones of it for the rest: the flush then writes out
 * one copy of those blocks, not all of them.  A backend that refuses
 * turns it off (rs->ok false) and the bytes are written. */
static int
exec_blob (struct be_file *f, const struct fmt_output *lo,
           const struct fmt_blob *b, uint8_t *buf, bool all,
           struct exec_rep *rs, const struct logger *log,
           struct exec_stats *st)
{
    uint64_t pos = 0;           /* in the blob: made up to here */
    int r;

    for (size_t i = 0; i < lo->repeats.len && rs->ok; i++) {
        const struct fmt_repeat *rp = &lo->repeats.ptr[i];
        uint64_t q, a, e, filled = 0, from;

        if (rp->off < b->off + pos || rp->off - b->off >= b->len ||
            rp->period > (UINT64_C (1) << 40)) {
            continue;           /* another blob's, or absurd */
        }
        q = rp->period / exec_gcd (rp->period, EXEC_ZERO_BLOCK) *
            EXEC_ZERO_BLOCK;
        a = (rp->off + EXEC_ZERO_BLOCK - 1) / EXEC_ZERO_BLOCK *
            EXEC_ZERO_BLOCK;
        e = (rp->off + rp->len) / EXEC_ZERO_BLOCK * EXEC_ZERO_BLOCK;
        if (e < a || e - a < 2 * q) {
            continue;           /* nothing to gain */
        }
        from = exec_rep_source (rs, rp, a, q);
        r = exec_blob_part (f, b, pos, (from == UINT64_MAX ? a + q : a) -
                            b->off, buf, all, st);
        if (r < 0) {
            return r;
        }
        if (from != UINT64_MAX) {
            struct be_range rg = { .dst_off = a, .src_off = from, .len = q };

            r = backend_clone_ranges (f, f, &rg, 1);
            if (r == 0) {
                st->bytes_metadata_cloned += q;
                st->bytes_metadata_logical += q;
            }
        } else {
            r = 0;
        }
        if (r == 0) {
            r = exec_repeat_fill (f, a, q, e, &filled, st);
        }
        if (r < 0 && !exec_clone_unsupported (r)) {
            return r;
        }
        if (r < 0) {
            vs_log_debug (log, LOGM_EXEC, "'%s': repeated metadata is "
                          "written, not cloned: %s", f->path,
                          vmshift_internal_error_msg ());
            clear_error ();
            rs->ok = false;
        }
        pos = a + filled - b->off;
        if (rp->pattern && filled >= q) {
            *rs = (struct exec_rep) {
                .ok = rs->ok, .pattern = rp->pattern, .period = rp->period,
                .off = rp->off, .a = a, .filled = filled,
            };
        }
    }
    return exec_blob_part (f, b, pos, b->len, buf, all, st);
}

static int
exec_blobs (struct be_file *f, const struct fmt_output *lo, int phase,
            uint8_t *buf, bool all, struct exec_rep *rs,
            const struct logger *log, struct exec_stats *st)
{
    int r;

    for (size_t i = 0; i < lo->blobs.len; i++) {
        const struct fmt_blob *b = &lo->blobs.ptr[i];

        if (b->phase != phase) {
            continue;
        }
        r = exec_blob (f, lo, b, buf, all, rs, log, st);
        if (r < 0) {
            return r;
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
    struct exec_rep rep[FMT_MAX_OUTPUTS];
    int r = 0;

    if (run == NULL || buf == NULL) {
        r = set_error (ENOMEM, "out of memory");
        goto out;
    }
    x->src = src;
    run->x = x;
    run->src = src;
    run->st = st;
    run->buf = buf;
    run->clone_ok = allow_clone;
    if (!allow_clone) {
        snprintf (st->clone_note, sizeof st->clone_note,
                  "block sharing disabled (--no-clone)");
    }
    st->bytes_total = st->bytes_to_copy = 0;
    for (size_t i = 0; i < x->nout; i++) {
        for (size_t k = 0; k < lay->out[i].place.len; k++) {
            const struct fmt_placement *p = &lay->out[i].place.ptr[k];

            st->bytes_total += p->len;
            if (p->kind != FMT_PLACE_CLONE || !allow_clone) {
                st->bytes_to_copy += p->len;
            }
        }
    }
    st->data_done = false;
    exec_progress (st, true);
    for (size_t i = 0; i < x->nout && r == 0; i++) {
        run->o = &x->out[i];
        vs_owner_renew (x->owner, x->dst, false);
        r = backend_truncate (x->out[i].f, lay->out[i].file_size);
        if (r == 0) {
            r = exec_data (run, &lay->out[i]);
        }
    }
    t1 = vs_exec_now ();
    st->t_data = t1 - t0;
    if (r == 0) {
        st->data_done = true;
        exec_progress (st, true);
    }
    /* Headers last, then one flush per output: the outputs are
     * temporaries until the commit (a crash before it leaves files the
     * next run removes), so flushes between the phases would order
     * nothing anyone reads; the one before the commit makes the whole
     * file durable before its name is published. */
    for (size_t i = 0; i < x->nout; i++) {
        rep[i] = (struct exec_rep) {
            .ok = allow_clone && (x->out[i].f->caps & BE_CAP_CLONE_SELF),
        };
    }
    for (int phase = FMT_PHASE_META; phase <= FMT_PHASE_HEADER && r == 0;
         phase++) {
        for (size_t i = 0; i < x->nout && r == 0; i++) {
            r = exec_blobs (x->out[i].f, &lay->out[i], phase, buf,
                            x->adopted, &rep[i], x->log, st);
        }
    }
    for (size_t i = 0; i < x->nout && r == 0; i++) {
        r = backend_flush (x->out[i].f);
    }
    st->t_meta = vs_exec_now () - t1;
out:
    free (run);
    free (buf);
    return r;
}

/* One sampled block of a CLONE placement: 1 equal, 0 not, -errno. */
static int
exec_sample (struct be_file *dst, struct be_file *src, uint64_t doff,
             uint64_t soff, uint64_t len, uint8_t *a, uint8_t *b,
             bool *nonzero)
{
    size_t n = len < EXEC_ZERO_BLOCK ? (size_t) len : EXEC_ZERO_BLOCK;
    int r = backend_pread (src, a, n, soff);

    if (r == 0) {
        r = backend_pread (dst, b, n, doff);
    }
    if (r < 0) {
        return r;
    }
    *nonzero |= !exec_is_zero (a, n);
    return memcmp (a, b, n) == 0;
}

/* Every sampled block read zeros in both files: a thin source, whose
 * data is elsewhere.  When the CLONE placements of an output cover whole
 * source files (a flat VMDK's extent cloned entire), the clone gave the
 * temporary at least the space those files take: 1 when it has it, 0
 * when not or when that cannot be told (placements that cover part of a
 * file; a temporary that takes its whole size, as a space-reserved file
 * would before any clone). */
static int
exec_clones_by_space (struct exec *x, const struct fmt_layout *lay,
                      struct beio *src)
{
    for (size_t i = 0; i < x->nout; i++) {
        const struct fmt_output *lo = &lay->out[i];
        struct be_stat t = { .struct_size = sizeof t };
        uint64_t want = 0;
        uint32_t seen[16];
        size_t ns = 0;
        bool clones = false;

        for (size_t j = 0; j < lo->place.len; j++) {
            const struct fmt_placement *p = &lo->place.ptr[j];
            struct be_stat s = { .struct_size = sizeof s };
            struct be_file *sf;
            uint64_t len = 0;
            bool dup = false;

            if (p->kind != FMT_PLACE_CLONE) {
                continue;
            }
            clones = true;
            for (size_t k = 0; k < ns; k++) {
                dup |= seen[k] == p->src_file;
            }
            if (dup) {
                continue;
            }
            if (ns == 16 || (sf = vs_beio_file (src, p->src_file)) == NULL ||
                backend_stat (sf->b, sf->path, 0, &s) < 0 || !s.used_known) {
                clear_error ();
                return 0;
            }
            seen[ns++] = p->src_file;
            for (size_t k = 0; k < lo->place.len; k++) {
                if (lo->place.ptr[k].kind == FMT_PLACE_CLONE &&
                    lo->place.ptr[k].src_file == p->src_file) {
                    len += lo->place.ptr[k].len;
                }
            }
            if (len < s.size / EXEC_ZERO_BLOCK * EXEC_ZERO_BLOCK) {
                return 0;       /* part of the file: its space says nothing */
            }
            want += s.used;
        }
        if (!clones) {
            continue;
        }
        if (backend_stat (x->dst, x->out[i].tmp_path, 0, &t) < 0 ||
            !t.used_known) {
            clear_error ();
            return 0;
        }
        if (t.used < want || (t.used >= lo->file_size && want < t.used)) {
            return 0;
        }
    }
    return 1;
}

int
vs_exec_clones_present (struct exec *x, const struct fmt_layout *lay,
                        struct beio *src)
{
    uint8_t *a = malloc (2 * EXEC_ZERO_BLOCK);
    bool nonzero = false, any = false;
    int r = 1;

    if (a == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < x->nout && r == 1; i++) {
        const struct fmt_output *lo = &lay->out[i];
        size_t nc = 0, k = 0;
        int64_t size = backend_get_size (x->out[i].f);

        if (size < 0) {
            r = (int) size;
            break;
        }
        if ((uint64_t) size != lo->file_size) {
            r = 0;              /* killed before it was sized: no clone yet */
            break;
        }

        for (size_t j = 0; j < lo->place.len; j++) {
            nc += lo->place.ptr[j].kind == FMT_PLACE_CLONE;
        }
        /* the first and the last (calls go out in placement order: the
         * last one proves the last call ran) and up to 6 between */
        for (size_t j = 0; j < lo->place.len && r == 1; j++) {
            const struct fmt_placement *p = &lo->place.ptr[j];
            struct be_file *sf = vs_beio_file (src, p->src_file);
            uint64_t tail;

            if (p->kind != FMT_PLACE_CLONE) {
                continue;
            }
            k++;
            if (k != 1 && k != nc && (nc < 8 || (k % (nc / 7 + 1)) != 0)) {
                continue;
            }
            if (sf == NULL) {
                r = set_error (EINVAL, "placement refers to unknown source "
                               "file #%u", p->src_file);
                break;
            }
            any = true;
            r = exec_sample (x->out[i].f, sf, p->dst_off, p->src_off, p->len,
                             a, a + EXEC_ZERO_BLOCK, &nonzero);
            tail = p->len > EXEC_ZERO_BLOCK ? p->len - EXEC_ZERO_BLOCK : 0;
            if (r == 1 && tail > 0) {
                r = exec_sample (x->out[i].f, sf, p->dst_off + tail,
                                 p->src_off + tail, EXEC_ZERO_BLOCK, a,
                                 a + EXEC_ZERO_BLOCK, &nonzero);
            }
        }
    }
    free (a);
    if (r == 1 && any && !nonzero) {
        /* zeros prove nothing (a fresh file reads so): the space taken */
        r = exec_clones_by_space (x, lay, src);
    }
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

/* Renames in order, companions first: for backends that cannot tell
 * file identities (no journal possible) and for one-file targets, whose
 * single rename is atomic anyway. */
static int
exec_commit_plain (struct exec *x, bool replace)
{
    int r;

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

struct exec_old {
    char name[256];
    struct be_stat id;
};

/* 1 when id is a file of the source, 0 when not, -errno when that
 * cannot be told (then nothing is removed: the commit fails first). */
static int
exec_is_source_file (struct exec *x, const struct be_stat *id)
{
    if (x->src == NULL || vs_beio_backend (x->src) != x->dst) {
        return 0;
    }
    for (uint32_t i = 0; i < vs_beio_nfiles (x->src); i++) {
        struct be_stat st = { .struct_size = sizeof st };
        const char *p = vs_beio_file (x->src, i)->path;
        int r = backend_stat (x->dst, p, 0, &st);

        if (r == 0 && backend_same_file (&st, id)) {
            return 1;
        }
        if (r < 0 && r != -ENOENT) {
            return r;
        }
        clear_error ();
    }
    return 0;
}

/* The companions of the target being replaced, read from its
 * descriptor under a second name (x->saved), so they can be removed once
 * the new one is in place.  Only files in the same directory whose names
 * start with the target's stem and '-' (as vmshift names them), that are
 * not one of ours and not a file of the source, qualify.  Best effort:
 * what cannot be read stays. */
static bool
exec_format_errno (int e)
{
    return e == EINVAL || e == ENOTSUP || e == EILSEQ || e == ENOEXEC ||
           e == EPROTO || e == EFBIG || e == ENOENT;
}

static int
exec_old_companions (struct exec *x, const char *main_name,
                     struct exec_old *old, size_t max, size_t *nold)
{
    struct fmt_extent_list map;
    struct fmt_source_info info;
    const char *dot = strrchr (main_name, '.');
    size_t stem = dot && dot != main_name ? (size_t) (dot - main_name)
                                          : strlen (main_name);
    struct beio *io = NULL;
    size_t n = 0;
    int r;

    fmt_extents_init (&map);
    r = vs_beio_open (x->dst, x->saved, &io);
    if (r == 0) {
        r = fmt_read_map (vs_beio_fmt (io), FMT_UNKNOWN, &map, &info);
    }
    if (r < 0 && exec_format_errno (-r)) {
        /* not an image vmshift reads: it has no companions to remove */
        vs_log_debug (x->log, LOGM_EXEC, "the replaced '%s' names no files "
                      "vmshift can read: %s", main_name,
                      vmshift_internal_error_msg ());
        clear_error ();
        r = 0;
    }
    for (uint32_t i = 1; r == 0 && io && i < vs_beio_nfiles (io) && n < max;
         i++) {
        const char *p = vs_beio_file (io, i)->path;
        const char *base = vs_path_basename (p);
        char *d = vs_path_dirname (p);
        bool ours = false;

        for (size_t k = 0; k < x->nout; k++) {
            ours = ours || strcmp (x->out[k].name, base) == 0;
        }
        old[n].id.struct_size = sizeof old[n].id;
        if (d && strcmp (d, x->dir) == 0 && !ours &&
            strlen (base) < sizeof old[n].name && strchr (base, '\n') == NULL &&
            strncmp (base, main_name, stem) == 0 && base[stem] == '-') {
            int src = 0;

            r = backend_stat (x->dst, p, BE_STAT_NOFOLLOW, &old[n].id);
            if (r == 0 && old[n].id.type == BE_TYPE_REG) {
                src = exec_is_source_file (x, &old[n].id);
                r = src < 0 ? src : 0;
            }
            if (r == 0 && src == 0 && old[n].id.type == BE_TYPE_REG) {
                snprintf (old[n].name, sizeof old[n].name, "%s", base);
                n++;
            }
        }
        free (d);
    }
    vs_beio_close (io);
    fmt_extents_release (&map);
    *nold = n;
    return r;
}

static int
exec_journal_write (struct exec *x, const char *main_name,
                    const struct exec_old *old, size_t nold)
{
    struct sbuf_local { char *p; size_t len, cap; } j = { 0 };
    struct be_file *f = NULL;
    char line[600];
    int r = 0;

    j.cap = EXEC_JOURNAL_MAX;
    j.p = malloc (j.cap);
    if (j.p == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    j.len = (size_t) snprintf (j.p, j.cap, "vmshift-publish 1\n");
    for (size_t i = 0; i < x->nout + nold + 1 && r == 0; i++) {
        const struct exec_out *o = i < x->nout ? &x->out[i] : NULL;
        int l;

        if (o && strchr (o->name, '\n')) {
            r = set_error (EINVAL, "target name '%s' holds a newline", o->name);
            break;
        }
        if (o) {
            l = snprintf (line, sizeof line, "%s %llu %llu %s\n",
                          o->role == FMT_OUT_MAIN ? "main" : "new",
                          (unsigned long long) o->id.fsid,
                          (unsigned long long) o->id.fileid, o->name);
        } else if (i < x->nout + nold) {
            const struct exec_old *e = &old[i - x->nout];

            l = snprintf (line, sizeof line, "old %llu %llu %s\n",
                          (unsigned long long) e->id.fsid,
                          (unsigned long long) e->id.fileid, e->name);
        } else {
            l = x->saved ? snprintf (line, sizeof line, "saved %s\n",
                                     vs_path_basename (x->saved)) : 0;
        }
        if (l < 0 || (size_t) l >= sizeof line || j.len + (size_t) l >= j.cap) {
            r = set_error (ENAMETOOLONG, "publish journal for '%s' too long",
                           main_name);
            break;
        }
        memcpy (j.p + j.len, line, (size_t) l);
        j.len += (size_t) l;
    }
    if (r == 0) {
        r = exec_run_path (x, main_name, "pub", &x->journal);
    }
    if (r == 0) {
        r = backend_open (x->dst, x->journal, BE_RDWR | BE_CREATE, &f);
        if (r < 0) {
            free (x->journal);
            x->journal = NULL;
        }
    }
    if (r == 0) {
        r = backend_pwrite (f, j.p, j.len, 0);
    }
    if (r == 0) {
        r = backend_flush (f);
    }
    backend_close (f);
    free (j.p);
    return r;
}

/* Before the commit point: take back what was published and the run
 * files, keeping the error. */
static void
exec_publish_undo (struct exec *x)
{
    struct vmshift_error_save saved;

    error_save (&saved);
    for (size_t i = 0; i < x->nout; i++) {
        struct exec_out *o = &x->out[i];

        if (o->committed && o->role != FMT_OUT_MAIN) {
            exec_remove_if_same (x->dst, x->dir, o->name, &o->id, x->log,
                                 "(this run's publish failed)");
            o->committed = false;
        }
    }
    if (x->saved) {
        backend_unlink (x->dst, x->saved);
    }
    if (x->journal) {
        backend_unlink (x->dst, x->journal);
    }
    free (x->saved);
    free (x->journal);
    x->saved = x->journal = NULL;
    error_restore (&saved);
}

/* Two-file targets (VMDK descriptor + extent, qcow2 + data file):
 * 1. the identity of every written file;
 * 2. with replace, the target in place gets a second name (x->saved),
 *    and its companions are read from it;
 * 3. a journal records both (for a run that finds this one killed);
 * 4. the companions get their final names, which no existing target
 *    uses (the planner chose them: engine/convert.c), without replace;
 * 5. the MAIN file's rename is the commit point: before it the old target
 *    is whole, after it the new one;
 * 6. the replaced companions, the second name and the journal go. */
static int
exec_commit_journaled (struct exec *x, bool replace)
{
    struct exec_old old[FMT_MAX_FILES < 64 ? FMT_MAX_FILES : 64];
    const char *main_name = "";
    struct exec_out *mo = NULL;
    size_t nold = 0;
    bool tidy = true;
    int r = 0;

    for (size_t i = 0; i < x->nout; i++) {
        if (x->out[i].role == FMT_OUT_MAIN) {
            mo = &x->out[i];
            main_name = mo->name;
        }
    }
    if (mo == NULL) {
        return exec_commit_plain (x, replace);
    }
    if (replace) {
        r = exec_run_path (x, main_name, "old", &x->saved);
        if (r == 0) {
            r = backend_link (x->dst, mo->final_path, x->saved);
            if (r == -ENOENT || r == -ENOTSUP) {
                clear_error ();
                free (x->saved);
                x->saved = NULL;
                r = 0;
            }
        }
        if (r == 0 && x->saved) {
            r = exec_old_companions (x, main_name, old,
                                     sizeof old / sizeof old[0], &nold);
        }
    }
    if (r == 0) {
        r = exec_journal_write (x, main_name, old, nold);
    }
    for (size_t i = 0; i < x->nout && r == 0; i++) {
        struct exec_out *o = &x->out[i];

        if (o == mo) {
            continue;
        }
        r = backend_rename (x->dst, o->tmp_path, o->final_path, false);
        if (r == 0) {
            o->committed = true;
            free (o->tmp_path);
            o->tmp_path = NULL;
        }
    }
    if (r == 0) {
        r = backend_rename (x->dst, mo->tmp_path, mo->final_path, replace);
    }
    if (r < 0) {
        exec_publish_undo (x);
        return r;
    }
    mo->committed = true;
    free (mo->tmp_path);
    mo->tmp_path = NULL;
    /* committed: what is left is tidying up, never a failure; what
     * cannot be removed now the journal names for the next run */
    for (size_t i = 0; i < nold; i++) {
        tidy &= exec_remove_if_same (x->dst, x->dir, old[i].name, &old[i].id,
                                     x->log, "(a companion of the replaced "
                                     "target)");
    }
    if (!tidy) {
        vs_log_msg (x->log, LOG_WARN, "'%s' is in place; a later run "
                    "removes the replaced files left", mo->final_path);
    } else if (x->saved && backend_unlink (x->dst, x->saved) < 0) {
        vs_log_msg (x->log, LOG_WARN, "cannot remove '%s' (a later run "
                    "does): %s", x->saved, vmshift_internal_error_msg ());
        clear_error ();
    } else if (x->journal && backend_unlink (x->dst, x->journal) < 0) {
        vs_log_msg (x->log, LOG_WARN, "cannot remove '%s' (a later run "
                    "does): %s", x->journal, vmshift_internal_error_msg ());
        clear_error ();
    }
    free (x->saved);
    free (x->journal);
    x->saved = x->journal = NULL;
    return 0;
}

int
vs_exec_commit (struct exec *x, bool replace)
{
    bool identities = x->nout > 1;

    for (size_t i = 0; i < x->nout; i++) {
        backend_close (x->out[i].f);
        x->out[i].f = NULL;
    }
    for (size_t i = 0; i < x->nout && identities; i++) {
        struct exec_out *o = &x->out[i];
        int r;

        o->id.struct_size = sizeof o->id;
        r = o->tmp_path ? backend_stat (x->dst, o->tmp_path, BE_STAT_NOFOLLOW,
                                        &o->id) : -EINVAL;
        if (r == -ENOTSUP) {
            clear_error ();
            identities = false;
        } else if (r < 0) {
            return r;
        }
    }
    return identities ? exec_commit_journaled (x, replace)
                      : exec_commit_plain (x, replace);
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
vs_exec_keep (struct exec *x)
{
    for (size_t i = 0; i < x->nout; i++) {
        struct exec_out *o = &x->out[i];

        if (o->f) {
            backend_close (o->f);
            o->f = NULL;
        }
        free (o->tmp_path);
        o->tmp_path = NULL;
    }
}

void
vs_exec_release (struct exec *x)
{
    vs_exec_abort (x);
    for (size_t i = 0; i < x->nout; i++) {
        free (x->out[i].name);
        free (x->out[i].final_path);
    }
    free (x->journal);
    free (x->saved);
    if (x->owner == &x->own) {
        vs_owner_release (&x->own, x->dst);
    }
    free (x->dir);
    memset (x, 0, sizeof *x);
}
