/* vmshift convert on ONTAP (docs/internals/ontap-flow.md):
 *
 *   per volume: GET cluster version, find the volume (FlexVol), remove
 *   snapshots whose run is gone (by its lease), create one snapshot (or use
 *   --snapshot), ensure each target qtree (NTFS for VHDX, UNIX otherwise);
 *   per disk, up to --parallel at once, each worker with its own REST
 *   client and NFS connection: read the source from .snapshot/<snap>/
 *   over NFS, plan, create and size the temporary target, clone ranges
 *   from the snapshot by REST, write metadata over NFS, read back,
 *   rename; then delete the snapshot unless asked to keep it.
 *
 * On failure the temporaries are removed by the executor and a snapshot
 * this run created is deleted: nothing half-made is left.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/backend/ontap.h"
#include "engine/base/busy.h"
#include "engine/base/error.h"
#include "engine/base/host.h"
#include "engine/convert.h"
#include "engine/exec/exec.h"
#include "engine/exec/owner.h"
#include "engine/location.h"

#define ONTAP_PARALLEL_DEFAULT 10
#define ONTAP_PARALLEL_MAX 64

struct od_disk {
    size_t index;               /* in the caller's list (progress) */
    const char *source;
    const char *target;
    struct ontap_location src;
    struct ontap_location dst;
    struct vmshift_result *res;
    struct vmshift_error_save err;
    int r;
    bool done;
};

struct od_run {
    struct vmshift_handle *h;
    const struct vmshift_convert_opts *o;
    const struct vs_convert_journal *j;     /* the caller's, or NULL */
    struct ontap_profile *prof;
    struct ontap_client *client;
    struct ontap_volume vol;
    char *key;                  /* "ontap://PROFILE/VOLUME" (facts) */
    char *nfs_url;
    char *snap_name;
    struct ontap_snapshot snap;
    bool have_snap;
    bool snap_created;
    bool snap_seen;             /* the preflight found o->snapshot by NFS */
    double t_snapshot, t_qtree, t_snapshot_delete;
    struct vs_owner owner;      /* run ID and leases (engine/exec/owner.h) */
    bool have_owner;
    struct backend *be;         /* the run's own NFS side: its leases */
    struct od_disk *disks;      /* of this volume */
    size_t n;
    size_t next;                /* next disk to claim */
    bool cancelled;             /* o->cancel said stop */
    pthread_mutex_t lock;
    struct vs_busy *busy;       /* the call's REST and NFS time */
};

/* The caller's fact of kind for the volume, or for sub below it
 * (docs/internals/ontap-flow.md, "Facts handed over"): its record, or
 * NULL (caller frees). */
static char *
od_fact (struct od_run *run, const char *kind, const char *sub)
{
    char *key = NULL, *f;

    if (run->j == NULL || run->j->fact == NULL || run->key == NULL ||
        asprintf (&key, "%s%s%s", run->key, sub ? "/" : "",
                  sub ? sub : "") < 0) {
        return NULL;
    }
    f = run->j->fact (run->j->opaque, kind, key);
    free (key);
    return f;
}

/* What this run looked up itself, for the caller to keep. */
static void
od_learnt (struct od_run *run, const char *kind, const char *sub,
           const char *record)
{
    char *key = NULL;

    if (run->j == NULL || run->j->learnt == NULL || run->key == NULL ||
        record == NULL || asprintf (&key, "%s%s%s", run->key,
                                    sub ? "/" : "", sub ? sub : "") < 0) {
        return;
    }
    run->j->learnt (run->j->opaque, kind, key, record);
    free (key);
}

static int
od_backend (struct od_run *run, struct ontap_client *client,
            struct backend **out)
{
    struct backend *nfs;

    /* the mount is NFS time too (the calls are counted by be_ontap) */
    vs_busy_enter (run->busy, VS_BUSY_NFS);
    nfs = be_nfs_new (&run->h->log, run->nfs_url);
    vs_busy_leave (run->busy, VS_BUSY_NFS);

    /* a test's faults, if it set VMSHIFT_TEST_NFS_FAULT */
    if (nfs == NULL || (nfs = be_fault_env (&run->h->log, nfs)) == NULL) {
        return -vmshift_internal_error_errno ();
    }
    *out = be_ontap_new (&run->h->log, nfs, client, &run->vol);
    return *out ? 0 : -ENOMEM;
}

/* Our snapshot names: vmshift_<host>_<pid>_<time>_<run ID>.  Host, PID
 * and time are for people; the run ID (32 hex digits, the last part)
 * names the lease at the volume root that says whether the run is still
 * alive.  A snapshot is stale only when its run is gone by its lease
 * (engine/exec/owner.h): a run in another PID namespace with our host
 * name (a container, a hostNetwork pod) keeps its snapshot.  Names
 * without a run ID (older versions) are left alone. */
static bool
od_snapshot_is_stale (struct od_run *run, const char *name)
{
    const char *u = strrchr (name, '_');
    char id[VS_RUN_HEX + 1];
    int gone;

    if (strncmp (name, "vmshift_", 8) != 0 || u == NULL ||
        !vs_owner_run_ok (u + 1, strlen (u + 1)) || run->be == NULL ||
        strcmp (u + 1, run->owner.run) == 0) {
        return false;
    }
    memcpy (id, u + 1, sizeof id);
    gone = vs_owner_run_gone (run->be, ".", id, &run->h->log);
    if (gone < 0) {
        vs_log_msg (&run->h->log, LOG_WARN, "snapshot '%s': cannot read its "
                    "run's lease: %s", name, vmshift_get_error ());
        clear_error ();
    } else if (gone == 0) {
        vs_log_debug (&run->h->log, LOGM_ONTAP, "snapshot '%s' belongs to a "
                      "live run", name);
    }
    return gone == 1;
}

static void
od_remove_stale_snapshots (struct od_run *run)
{
    struct ontap_snapshot_vec v = { 0 };
    char *done = od_fact (run, "stale-snapshots", NULL);

    if (done) {
        /* by an earlier process of the caller's run (or an earlier call) */
        vs_log_debug (&run->h->log, LOGM_ONTAP, "volume '%s': stale "
                      "snapshots removed by this run already", run->vol.name);
        free (done);
        return;
    }
    if (ontap_snapshot_list (run->client, &run->vol, &v) < 0) {
        vs_log_msg (&run->h->log, LOG_WARN, "cannot list snapshots of '%s': %s",
                 run->vol.name, vmshift_get_error ());
        clear_error ();
        return;
    }
    for (size_t i = 0; i < v.len; i++) {
        if ((run->o->snapshot && strcmp (v.ptr[i].name, run->o->snapshot) == 0) ||
            !od_snapshot_is_stale (run, v.ptr[i].name)) {
            continue;
        }
        if (ontap_snapshot_delete (run->client, &run->vol, &v.ptr[i]) == 0) {
            char lease[64];

            vs_log_msg (&run->h->log, LOG_INFO, "deleted snapshot '%s' of volume "
                     "'%s' left by an interrupted run", v.ptr[i].name,
                     run->vol.name);
            /* and the gone run's lease at the root, if it is there */
            snprintf (lease, sizeof lease, ".vmshift.%s.lease",
                      strrchr (v.ptr[i].name, '_') + 1);
            if (backend_unlink (run->be, lease) < 0) {
                clear_error ();
            }
        } else {
            vs_log_msg (&run->h->log, LOG_WARN, "cannot delete stale snapshot "
                     "'%s': %s", v.ptr[i].name, vmshift_get_error ());
            clear_error ();
        }
    }
    ontap_snapshot_vec_free (&v);
    od_learnt (run, "stale-snapshots", NULL, "{}");
}

/* Creating failed, but the snapshot may exist all the same: the POST
 * may have worked before the lookup that follows it failed, or its
 * answer may have been lost.  Look it up by name and delete it, so a
 * failed run leaves no snapshot behind.  If even that fails, a later run
 * removes it once our lease is gone (its name carries our run ID). */
static void
od_snapshot_forget (struct od_run *run)
{
    struct vmshift_error_save saved;
    struct ontap_snapshot s;
    int r;

    error_save (&saved);
    r = ontap_snapshot_find (run->client, &run->vol, run->snap_name, &s);
    if (r == 0) {
        r = ontap_snapshot_delete (run->client, &run->vol, &s);
        if (r == 0) {
            vs_log_msg (&run->h->log, LOG_INFO, "deleted snapshot '%s' of "
                        "volume '%s' made by the failed create", s.name,
                        run->vol.name);
        }
        ontap_snapshot_release (&s);
    }
    if (r < 0 && r != -ENOENT) {
        vs_log_msg (&run->h->log, LOG_WARN, "snapshot '%s' of volume '%s' may be "
                 "left behind (a later run removes it): %s",
                 run->snap_name, run->vol.name, vmshift_get_error ());
    }
    error_restore (&saved);
}

static int
od_snapshot (struct od_run *run)
{
    char host[64];
    double t = vs_exec_now ();
    int r;

    vs_host_name (host, sizeof host);
    od_remove_stale_snapshots (run);
    if (run->o->snapshot) {
        /* The caller's record of its snapshot (the one it made), when
         * the preflight found it by its name: no lookup.  Otherwise it
         * is looked up by name, and one of another uuid than the
         * record's is refused: it was deleted and made again, and the
         * disks are never cloned from another snapshot than the one the
         * caller's run began with. */
        char *f = od_fact (run, "snapshot", NULL);
        struct ontap_snapshot known = { .uuid = "" };
        bool have = f && ontap_snapshot_from_record (f, strlen (f), "the "
                                                     "caller's snapshot "
                                                     "record", &known) == 0;

        clear_error ();
        free (f);
        if (have && strcmp (known.name, run->o->snapshot) != 0) {
            ontap_snapshot_release (&known);
            have = false;
        }
        if (have && run->snap_seen) {
            vs_log_debug (&run->h->log, LOGM_ONTAP, "snapshot '%s' (%s) as "
                          "the caller made it", known.name, known.uuid);
            run->snap = known;
            have = false;
            r = 0;
        } else {
            r = ontap_snapshot_find (run->client, &run->vol, run->o->snapshot,
                                     &run->snap);
        }
        if (r == 0 && have && strcmp (run->snap.uuid, known.uuid) != 0) {
            r = set_error (ESTALE, "not the one this run made (uuid %s, "
                           "made as %s): it was deleted and made again",
                           run->snap.uuid, known.uuid);
            ontap_snapshot_release (&run->snap);
        }
        if (have) {
            ontap_snapshot_release (&known);
        }
        if (r < 0 && r != -ENOENT) {   /* "not found" names both already */
            error_prepend ("snapshot '%s' of volume '%s': ", run->o->snapshot,
                           run->vol.name);
        }
        if (r < 0) {
            return r;
        }
    } else {
        /* A snapshot to keep is named so that no later run takes it
         * for the leftover of a crashed one. */
        if ((run->o->keep_snapshot
             ? asprintf (&run->snap_name, "vmshift-kept_%s_%ld_%lld", host,
                         (long) getpid (), (long long) time (NULL))
             : asprintf (&run->snap_name, "vmshift_%s_%ld_%lld_%s", host,
                         (long) getpid (), (long long) time (NULL),
                         run->owner.run)) < 0) {
            run->snap_name = NULL;
            return set_error (ENOMEM, "out of memory");
        }
        r = ontap_snapshot_create (run->client, &run->vol, run->snap_name,
                                   "vmshift convert", &run->snap);
        if (r < 0) {
            /* the message already names the snapshot and the volume */
            od_snapshot_forget (run);
            return r;
        }
        run->snap_created = true;
    }
    run->have_snap = true;
    run->t_snapshot = vs_exec_now () - t;
    return 0;
}

static void
od_snapshot_done (struct od_run *run)
{
    struct vmshift_error_save saved;
    double t = vs_exec_now ();

    if (!run->snap_created || run->o->keep_snapshot) {
        return;
    }
    error_save (&saved);
    if (ontap_snapshot_delete (run->client, &run->vol, &run->snap) < 0) {
        vs_log_msg (&run->h->log, LOG_WARN, "cannot delete snapshot '%s' of "
                    "volume '%s': %s", run->snap.name, run->vol.name,
                    vmshift_get_error ());
    }
    error_restore (&saved);
    run->snap_created = false;
    run->t_snapshot_delete = vs_exec_now () - t;
}

/* The qtree's security style is the one the target format's hypervisor
 * expects (fmt_driver.share_style): NTFS for Hyper-V's VHDX, reached
 * over SMB; UNIX otherwise. */
static enum ontap_security_style
od_style (const struct vmshift_convert_opts *o, const char *target)
{
    const struct fmt_driver *d = o->to != VMSHIFT_FMT_AUTO
        ? fmt_driver_of ((enum fmt_type) o->to)
        : fmt_driver_by_extension (target);

    return d && d->share_style == FMT_SHARE_NTFS ? ONTAP_SEC_NTFS
                                                 : ONTAP_SEC_UNIX;
}

/* The caller knows qtree q with the style wanted (it made or found it
 * so): nothing to ask.  Any other style is ensure's to refuse or fix. */
static bool
od_qtree_known (struct od_run *run, const char *q,
                enum ontap_security_style style)
{
    char *f = od_fact (run, "qtree", q);
    struct ontap_qtree rec;
    bool ok = false;

    if (f && ontap_qtree_from_record (f, strlen (f), "the caller's qtree "
                                      "record", &rec) == 0) {
        ok = rec.security_style == (int) style;
        ontap_qtree_release (&rec);
    }
    clear_error ();
    free (f);
    if (ok) {
        vs_log_debug (&run->h->log, LOGM_ONTAP, "qtree '%s' (%s) as the "
                      "caller knew it", q, ontap_security_style_name (style));
    }
    return ok;
}

/* The first directory of a target path is a qtree, as on ONTAP where
 * qtrees appear as top-level directories of the volume. */
static int
od_qtrees (struct od_run *run)
{
    double t = vs_exec_now ();

    for (size_t i = 0; i < run->n; i++) {
        const char *p = run->disks[i].dst.path;
        const char *slash = strchr (p, '/');
        enum ontap_security_style style, was = ONTAP_SEC_UNIX;
        char *q;
        uint64_t id;
        bool seen = false;
        int r;

        if (slash == NULL || run->disks[i].done) {
            continue;           /* the volume root (qtree0), or refused */
        }
        for (size_t j = 0; j < i && !seen; j++) {
            const char *pj = run->disks[j].dst.path;
            const char *sj = strchr (pj, '/');

            seen = sj && sj - pj == slash - p &&
                   strncmp (pj, p, (size_t) (slash - p)) == 0;
        }
        if (seen) {
            continue;
        }
        q = strndup (p, (size_t) (slash - p));
        if (q == NULL) {
            return set_error (ENOMEM, "out of memory");
        }
        /* the style follows the first disk bound for this qtree */
        style = od_style (run->o, run->disks[i].target);
        if (od_qtree_known (run, q, style)) {
            free (q);
            continue;
        }
        r = ontap_qtree_ensure (run->client, &run->vol, q, style,
                                run->o->qtree_style == VMSHIFT_QTREE_STYLE_FIX
                                ? ONTAP_QTREE_FIX_STYLE : 0, &id, &was);
        if (r == -EEXIST) {
            /* Another run may have created it between our lookup and our
             * create ("File exists"): looking again finds it.  Any other
             * failure is an answer: a qtree job that reported its failure
             * must not be sent again (docs/ontap-client.md). */
            vs_log_debug (&run->h->log, LOGM_ONTAP, "qtree '%s': %s; looking "
                          "again", q, vmshift_get_error ());
            clear_error ();
            r = ontap_qtree_ensure (run->client, &run->vol, q, style,
                                    run->o->qtree_style ==
                                    VMSHIFT_QTREE_STYLE_FIX
                                    ? ONTAP_QTREE_FIX_STYLE : 0, &id, &was);
        }
        if (r < 0) {
            error_prepend ("volume '%s': ", run->vol.name);
        } else if (r == 1) {
            vs_log_msg (&run->h->log, LOG_WARN, "qtree '%s' in volume '%s': "
                        "security style changed from '%s' to '%s' "
                        "(--qtree-style fix)", q, run->vol.name,
                        ontap_security_style_name (was),
                        ontap_security_style_name (style));
        }
        if (r >= 0) {
            struct ontap_qtree rec = { .id = id, .name = q,
                                       .security_style = (int) style };
            char *json = NULL;

            vs_log_debug (&run->h->log, LOGM_ONTAP, "qtree '%s' id %" PRIu64
                       " (%s)", q, id, ontap_security_style_name (style));
            if (ontap_qtree_record (&rec, &json) == 0) {
                od_learnt (run, "qtree", q, json);
            }
            clear_error ();
            free (json);
        }
        free (q);
        if (r < 0) {
            return r;
        }
    }
    run->t_qtree = vs_exec_now () - t;
    return 0;
}

/* mkdir -p of directory dir (its length n) below the qtree: mkdir
 * first, the parents only when it says one is missing.  Over NFS each
 * path costs a LOOKUP per component, so the usual cases (the directory
 * is there, or only its last part is missing) take one or two calls
 * instead of a stat and a mkdir per level.  Workers may race to create
 * the same directory: "exists" is success. */
static int
od_mkdir_p (struct backend *be, char *dir, size_t n)
{
    char *slash;
    int r;

    dir[n] = '\0';
    r = backend_mkdir (be, dir);
    if (r == -ENOENT && (slash = memrchr (dir, '/', n)) != NULL) {
        clear_error ();
        r = od_mkdir_p (be, dir, (size_t) (slash - dir));
        *slash = '/';
        if (r == 0) {
            r = backend_mkdir (be, dir);
        }
    }
    if (r == -EEXIST) {
        clear_error ();
        r = 0;
    } else if (r < 0 && backend_exists (be, dir) == 1) {
        clear_error ();
        r = 0;
    }
    return r;
}

static int
od_mkdirs (struct backend *be, const char *path)
{
    const char *slash = strrchr (path, '/');
    char *p;
    int r;

    if (slash == NULL) {
        return 0;               /* in the volume root */
    }
    p = strndup (path, (size_t) (slash - path));
    if (p == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    r = od_mkdir_p (be, p, strlen (p));
    free (p);
    return r;
}

static int
od_convert_one (struct od_run *run, struct backend *be,
                struct ontap_client *client, struct od_disk *d)
{
    struct ontap_stats s0, s1;
    uint64_t nfs0;
    struct convert_ctx c;
    char *src_path = NULL;
    int r;

    vs_convert_ctx_init (&c);
    c.h = run->h;
    c.o = run->o;
    c.source = d->source;
    c.target = d->target;
    c.index = d->index;
    c.src_be = c.dst_be = be;
    c.owner = run->have_owner ? &run->owner : NULL;
    c.journal = run->j;
    c.client = client;
    c.res = vs_result_new ();
    if (c.res == NULL) {
        return -ENOMEM;
    }
    if (run->have_snap) {
        r = ontap_snapshot_path (run->snap.name, d->src.path, &src_path);
    } else {
        r = (src_path = strdup (d->src.path)) ? 0 : -ENOMEM;
    }
    if (r == 0 && !run->o->dry_run) {
        r = od_mkdirs (be, d->dst.path);
    }
    ontap_client_stats (client, &s0);
    nfs0 = be_ontap_nfs_bytes_written (be);
    if (r == 0) {
        c.src_path = src_path;
        c.dst_path = d->dst.path;
        r = vs_convert_pipeline (&c);
    }
    ontap_client_stats (client, &s1);
    vs_convert_ctx_release (&c);
    free (src_path);
    if (r < 0) {
        vmshift_result_free (c.res);
        return r;
    }
    c.res->st.rest_requests = s1.requests - s0.requests;
    c.res->st.nfs_bytes_written = be_ontap_nfs_bytes_written (be) - nfs0;
    c.res->snapshot = run->have_snap ? strdup (run->snap.name) : NULL;
    c.res->t_snapshot = run->t_snapshot;
    c.res->t_qtree = run->t_qtree;
    d->res = c.res;
    return 0;
}

static struct od_disk *
od_claim (struct od_run *run)
{
    struct od_disk *d = NULL;

    pthread_mutex_lock (&run->lock);
    while (run->next < run->n && run->disks[run->next].done) {
        run->next++;            /* refused by the preflight */
    }
    /* the caller's cancel hook, asked under the lock (one call at a
     * time): once it says stop, no worker claims another disk and the
     * disks left fail as not started; those under way finish */
    if (run->next < run->n && !run->cancelled &&
        vs_convert_cancelled (run->o)) {
        run->cancelled = true;
    }
    if (run->cancelled) {
        for (; run->next < run->n; run->next++) {
            struct od_disk *c = &run->disks[run->next];
            struct vmshift_error_save es;

            if (c->done) {
                continue;
            }
            error_save (&es);
            c->r = set_error (ECANCELED, "'%s': cancelled before it started",
                              c->target);
            error_save (&c->err);
            c->done = true;
            error_restore (&es);
        }
    }
    if (run->next < run->n) {
        d = &run->disks[run->next++];
    }
    pthread_mutex_unlock (&run->lock);
    return d;
}

/* One worker: its own REST client (a clone waits for its job on the
 * client's connection) and its own NFS connection (libnfs contexts are
 * single-threaded). */
static void *
od_worker (void *opaque)
{
    struct od_run *run = opaque;
    struct ontap_client *client = NULL;
    struct backend *be = NULL;
    struct od_disk *d;
    int r;

    r = ontap_client_new (run->prof, &run->h->log, &client);
    if (r == 0) {
        ontap_client_set_busy (client, run->busy);
        r = od_backend (run, client, &be);
    }
    while ((d = od_claim (run)) != NULL) {
        if (r == 0) {
            clear_error ();
            d->r = od_convert_one (run, be, client, d);
        } else {
            d->r = r;
        }
        error_save (&d->err);
        d->done = true;
    }
    backend_free (be);
    ontap_client_free (client);
    return NULL;
}

static int
od_run_disks (struct od_run *run)
{
    unsigned par = run->o->parallel ? run->o->parallel : ONTAP_PARALLEL_DEFAULT;
    pthread_t th[ONTAP_PARALLEL_MAX];
    size_t nth;

    if (par > ONTAP_PARALLEL_MAX) {
        par = ONTAP_PARALLEL_MAX;
    }
    nth = run->n < par ? run->n : par;
    if (nth <= 1) {
        od_worker (run);
        return 0;
    }
    for (size_t i = 0; i < nth; i++) {
        if (pthread_create (&th[i], NULL, od_worker, run) != 0) {
            nth = i;
            break;
        }
    }
    if (nth == 0) {
        od_worker (run);
    }
    for (size_t i = 0; i < nth; i++) {
        pthread_join (th[i], NULL);
    }
    return 0;
}

/* The caller's record of the volume, when it has one for this name. */
static bool
od_volume_known (struct od_run *run, const char *name)
{
    char *f = od_fact (run, "volume", NULL);
    int r = -ENOENT;

    if (f && (r = ontap_volume_from_record (f, strlen (f), "the caller's "
                                            "volume record", &run->vol)) == 0 &&
        strcmp (run->vol.name, name) != 0) {
        ontap_volume_release (&run->vol);
        r = -ENOENT;
    }
    clear_error ();
    free (f);
    if (r == 0) {
        vs_log_debug (&run->h->log, LOGM_ONTAP, "volume '%s' (%s) as the "
                      "caller knew it", name, run->vol.uuid);
    }
    return r == 0;
}

static int
od_open_run (struct od_run *run, const struct ontap_location *loc)
{
    struct ontap_version ver = { 0 };
    int r;

    r = ontap_profile_load (run->h->config_path, loc->profile, &run->h->log,
                            &run->prof);
    if (r == 0) {
        r = ontap_client_new (run->prof, &run->h->log, &run->client);
    }
    if (r == 0) {
        ontap_client_set_busy (run->client, run->busy);
    }
    if (r == 0 && asprintf (&run->key, "ontap://%s/%s", loc->profile,
                            loc->volume) < 0) {
        run->key = NULL;
        r = set_error (ENOMEM, "out of memory");
    }
    if (r == 0 && od_volume_known (run, loc->volume)) {
        /* the caller's record: it asked the cluster already */
    } else if (r == 0) {
        r = ontap_cluster_version (run->client, &ver);
        if (r == 0) {
            vs_log_debug (&run->h->log, LOGM_ONTAP, "cluster runs ONTAP %s",
                       ver.full ? ver.full : "?");
            ontap_version_release (&ver);
            r = ontap_volume_find (run->client, loc->volume, &run->vol);
            if (r < 0) {
                error_prepend ("volume '%s': ", loc->volume);
            }
        }
        if (r == 0) {
            char *json = NULL;

            if (ontap_volume_record (&run->vol, &json) == 0) {
                od_learnt (run, "volume", NULL, json);
            }
            clear_error ();
            free (json);
        }
    }
    if (r == 0) {
        r = vs_loc_ontap_nfs_url (run->prof, &run->vol, &run->nfs_url);
    }
    return r;
}

/* The run's ID and its lease at the volume root, taken before the
 * snapshot is made (the snapshot's name carries the ID), kept until the
 * run ends. */
static int
od_own (struct od_run *run)
{
    int r = od_backend (run, run->client, &run->be);

    if (r == 0) {
        r = vs_owner_init (&run->owner, &run->h->log);
    }
    if (r == 0 && run->j && run->j->owner_run[0]) {
        /* the caller's run, the same in each of its processes: what an
         * earlier one left is ours (engine/convert.h) */
        if (!vs_owner_run_ok (run->j->owner_run, VS_RUN_HEX)) {
            r = set_error (EINVAL, "bad run ID '%.40s'", run->j->owner_run);
        } else {
            memcpy (run->owner.run, run->j->owner_run, VS_RUN_HEX + 1);
        }
    }
    if (r == 0) {
        run->have_owner = true;
        r = vs_owner_hold (&run->owner, run->be, ".");
    }
    if (r < 0) {
        error_prepend ("volume '%s': ", run->vol.name);
    }
    return r;
}

static void
od_close_run (struct od_run *run)
{
    if (run->have_owner) {
        vs_owner_release (&run->owner, run->be);
        run->have_owner = false;
    }
    backend_free (run->be);
    run->be = NULL;
    if (run->have_snap) {
        ontap_snapshot_release (&run->snap);
    }
    ontap_volume_release (&run->vol);
    ontap_client_free (run->client);
    ontap_profile_free (run->prof);
    free (run->key);
    free (run->nfs_url);
    free (run->snap_name);
    pthread_mutex_destroy (&run->lock);
}

/* The preflight of one disk on be; the disk is done (refused, with its
 * own error) when it fails. */
static void
od_preflight_disk (struct od_run *run, struct backend *be, struct od_disk *d)
{
    char *src = NULL;
    int r;

    if (run->o->snapshot) {
        r = ontap_snapshot_path (run->o->snapshot, d->src.path, &src);
    } else {
        r = (src = strdup (d->src.path)) ? 0 : -ENOMEM;
    }
    if (r == 0) {
        r = backend_exists (be, src);
        if (r == 0) {
            r = run->o->snapshot
                ? set_error (ENOENT, "'%s': no such file in snapshot '%s' "
                             "of volume '%s'", d->source, run->o->snapshot,
                             run->vol.name)
                : set_error (ENOENT, "'%s': no such file on volume '%s'",
                             d->source, run->vol.name);
        }
    }
    free (src);
    if (r > 0 && strcmp (d->src.path, d->dst.path) == 0) {
        r = set_error (EINVAL, "target '%s' is the source; vmshift never "
                       "writes its source", d->target);
    }
    if (r > 0 && !run->o->dry_run) {
        /* what a killed run left for this target (a publish journal,
         * temporaries, a lease) is finished or undone before anyone
         * looks whether the target exists, as locally (convert.c).
         * With the caller's journal, our lease first: an earlier
         * process of the same run is then alive, and its temporaries
         * stay for the journal to adopt or undo. */
        char *dir = vs_path_dirname (d->dst.path);

        r = dir ? 0 : set_error (ENOMEM, "out of memory");
        if (r == 0 && run->j && run->have_owner &&
            (r = backend_exists (be, dir)) == 1) {
            /* (a folder not there yet holds nothing to recover) */
            r = vs_owner_hold (&run->owner, be, dir);
        }
        if (r == 0) {
            r = vs_exec_recover (be, dir, vs_path_basename (d->dst.path),
                                 &run->h->log);
        }
        free (dir);
        if (r < 0) {
            error_class (VS_ERRCLASS_TARGET);
        }
        r = r < 0 ? r : 1;
    }
    if (r > 0 && !run->o->force && !run->o->dry_run) {
        r = backend_exists (be, d->dst.path);
        if (r > 0) {
            r = set_error (EEXIST, "'%s' already exists (use --force to "
                           "replace it)", d->target);
        }
    }
    if (r < 0) {
        error_save (&d->err);
        d->r = r;
        d->done = true;
        clear_error ();
    }
}

/* The preflight's workers share the disks by target folder (the
 * recovery of one folder is never run twice at once). */
struct od_pf {
    struct od_run *run;
    bool *taken;
    size_t next;
    pthread_mutex_t lock;
};

static bool
od_same_dir (const char *a, const char *b)
{
    const char *sa = strrchr (a, '/'), *sb = strrchr (b, '/');
    size_t la = sa ? (size_t) (sa - a) : 0, lb = sb ? (size_t) (sb - b) : 0;

    return la == lb && strncmp (a, b, la) == 0;
}

static void *
od_preflight_worker (void *opaque)
{
    struct od_pf *pf = opaque;
    struct od_run *run = pf->run;
    struct ontap_client *client = NULL;
    struct backend *be = NULL;
    int r;

    /* a client of its own (not used: the checks are NFS calls), as the
     * backend wants one and the run's is not to be shared */
    r = ontap_client_new (run->prof, &run->h->log, &client);
    if (r == 0) {
        ontap_client_set_busy (client, run->busy);
        r = od_backend (run, client, &be);
    }
    clear_error ();
    for (;;) {
        size_t i;

        pthread_mutex_lock (&pf->lock);
        while (pf->next < run->n && pf->taken[pf->next]) {
            pf->next++;
        }
        i = pf->next;
        if (i < run->n) {
            /* this disk and every other one bound for its folder */
            for (size_t j = i; j < run->n; j++) {
                pf->taken[j] = pf->taken[j] ||
                    od_same_dir (run->disks[j].dst.path,
                                 run->disks[i].dst.path);
            }
        }
        pthread_mutex_unlock (&pf->lock);
        if (i >= run->n) {
            break;
        }
        for (size_t j = i; j < run->n; j++) {
            struct od_disk *d = &run->disks[j];

            if (j != i && (d->done || !od_same_dir (d->dst.path,
                                                    run->disks[i].dst.path))) {
                continue;
            }
            if (r < 0) {
                continue;       /* the workers meet (and report) it */
            }
            clear_error ();
            od_preflight_disk (run, be, d);
        }
    }
    backend_free (be);
    ontap_client_free (client);
    return NULL;
}

/* Before anything is created on the cluster: each source must exist
 * (on the live volume, or in the snapshot given by --snapshot, which
 * od_snapshot finds first) and each target must not, unless --force.
 * A typo then costs one NFS lookup instead of a snapshot created and
 * deleted.  A disk refused here is done, with its own error; the others
 * go on.  Returns how many disks are left. */
static size_t
od_preflight (struct od_run *run)
{
    struct backend *be = NULL;
    size_t left = 0;

    if (od_backend (run, run->client, &be) < 0) {
        /* the workers will meet (and report) the same problem */
        clear_error ();
        return run->n;
    }
    if (run->o->snapshot) {
        char *dir = NULL;

        /* A bad or missing snapshot is od_snapshot's to report, by name.
         * dir: .snapshot/NAME/path, cut after NAME. */
        if (ontap_snapshot_path (run->o->snapshot, run->disks[0].src.path,
                                 &dir) == 0) {
            dir[strlen (".snapshot/") + strlen (run->o->snapshot)] = '\0';
        }
        if (dir == NULL || backend_exists (be, dir) <= 0) {
            clear_error ();
            free (dir);
            backend_free (be);
            return run->n;
        }
        free (dir);
        run->snap_seen = true;
    }
    if (!run->o->dry_run &&
        vs_exec_recover (be, ".", NULL, &run->h->log) < 0) {
        /* The volume root: what runs that are gone left there, their
         * leases above all (a run killed after its snapshot was deleted
         * leaves only its lease).  Not fatal: a later run tries again. */
        vs_log_msg (&run->h->log, LOG_WARN, "volume '%s': cannot clean up "
                    "after interrupted runs: %s", run->vol.name,
                    vmshift_get_error ());
        clear_error ();
    }
    {
        /* the disks in parallel, as many at once as the conversion
         * runs: over NFS each costs round trips (lookups, the folder's
         * recovery and lease), not work on this host */
        unsigned par = run->o->parallel ? run->o->parallel
                                        : ONTAP_PARALLEL_DEFAULT;
        struct od_pf pf = { .run = run };
        pthread_t th[ONTAP_PARALLEL_MAX];
        size_t nth = 0;

        if (par > ONTAP_PARALLEL_MAX) {
            par = ONTAP_PARALLEL_MAX;
        }
        pf.taken = calloc (run->n + 1, sizeof *pf.taken);
        pthread_mutex_init (&pf.lock, NULL);
        /* two disks a thread at least: a thread's mount costs about
         * what the checks of one disk do */
        for (size_t i = 0; pf.taken && run->n >= 4 && i < par &&
             i < run->n / 2; i++) {
            if (pthread_create (&th[i], NULL, od_preflight_worker, &pf) != 0) {
                break;
            }
            nth++;
        }
        for (size_t i = 0; i < nth; i++) {
            pthread_join (th[i], NULL);
        }
        pthread_mutex_destroy (&pf.lock);
        for (size_t i = 0; i < run->n; i++) {
            if (nth == 0 && !run->disks[i].done) {
                /* few disks, or no thread could start */
                clear_error ();
                od_preflight_disk (run, be, &run->disks[i]);
            }
            left += !run->disks[i].done;
        }
        free (pf.taken);
    }
    backend_free (be);
    return left;
}

/* One volume's disks, all sharing one snapshot. */
static int
od_volume (struct vmshift_handle *h, const struct vmshift_convert_opts *o,
           const struct vs_convert_journal *j, struct od_disk *disks,
           size_t n, struct vs_busy *busy)
{
    struct od_run run = { .h = h, .o = o, .j = j, .disks = disks, .n = n,
                          .busy = busy };
    int r;

    pthread_mutex_init (&run.lock, NULL);
    r = od_open_run (&run, &disks[0].src);
    if (r == 0 && j && !o->dry_run) {
        /* before the preflight's recovery (the journal's temporaries) */
        r = od_own (&run);
    }
    if (r == 0 && od_preflight (&run) > 0) {
        if (!o->dry_run && !run.have_owner) {
            r = od_own (&run);
        }
        if (r == 0 && !o->dry_run) {
            r = od_snapshot (&run);
        }
        if (r == 0 && !o->dry_run) {
            r = od_qtrees (&run);
        }
        if (r == 0) {
            od_run_disks (&run);
        }
    }
    od_snapshot_done (&run);
    if (run.client) {
        struct ontap_stats st;

        ontap_client_stats (run.client, &st);
        for (size_t i = 0; i < n; i++) {
            if (disks[i].res) {
                disks[i].res->t_snapshot_delete = run.t_snapshot_delete;
                disks[i].res->st.rest_requests_run = st.requests;
            }
        }
    }
    if (r < 0) {
        /* the run failed before any disk: every disk carries that error */
        struct vmshift_error_save saved;

        error_save (&saved);
        for (size_t i = 0; i < n; i++) {
            if (!disks[i].done) {
                disks[i].r = r;
                disks[i].err = saved;
                disks[i].done = true;
            }
        }
    }
    od_close_run (&run);
    return r;
}

static int
od_parse (struct od_disk *d)
{
    int r = ontap_location_parse (d->source, &d->src);

    if (r == 0) {
        r = ontap_location_parse (d->target, &d->dst);
    }
    if (r == 0) {
        r = ontap_location_same_volume (&d->src, &d->dst);
    }
    if (r == 0 && (strcmp (d->dst.path, ".snapshot") == 0 ||
                   strncmp (d->dst.path, ".snapshot/", 10) == 0)) {
        r = set_error (EINVAL, "'%s': snapshots are read-only", d->target);
    }
    return r;
}

/* One volume's share of vs_convert_ontap_many. */
struct od_group {
    struct vmshift_handle *h;
    const struct vmshift_convert_opts *o;
    const struct vs_convert_journal *j;
    size_t first;               /* index of its first disk in the call */
    struct od_disk *disks;
    size_t m;
    struct vs_busy *busy;
};

static void *
od_group_thread (void *opaque)
{
    struct od_group *g = opaque;

    od_volume (g->h, g->o, g->j, g->disks, g->m, g->busy);
    return NULL;
}

/* The volumes at once, up to OD_VOLUMES_MAX at a time; one alone in
 * the caller's thread. */
#define OD_VOLUMES_MAX 16

static void
od_groups_run (struct od_group *gs, size_t ng)
{
    for (size_t at = 0; at < ng; at += OD_VOLUMES_MAX) {
        size_t k = ng - at < OD_VOLUMES_MAX ? ng - at : OD_VOLUMES_MAX;
        pthread_t th[OD_VOLUMES_MAX];
        bool started[OD_VOLUMES_MAX];

        for (size_t i = 0; i < k; i++) {
            started[i] = k > 1 &&
                pthread_create (&th[i], NULL, od_group_thread,
                                &gs[at + i]) == 0;
            if (!started[i]) {
                od_group_thread (&gs[at + i]);
            }
        }
        for (size_t i = 0; i < k; i++) {
            if (started[i]) {
                pthread_join (th[i], NULL);
            }
        }
    }
}

/* The call's time split (struct vmshift_stats): its wall time t0..t1
 * and how much of it something was outstanding at ONTAP. */
static void
od_times (struct vmshift_stats *st, struct vs_busy *b,
                        uint64_t t0, uint64_t t1)
{
    st->seconds_call = (double) (t1 - t0) / 1e9;
    st->seconds_rest_busy = (double) vs_busy_total_ns (b, VS_BUSY_REST,
                                                       t1) / 1e9;
    st->seconds_nfs_busy = (double) vs_busy_total_ns (b, VS_BUSY_NFS,
                                                      t1) / 1e9;
    st->seconds_remote_busy = (double) vs_busy_total_ns (b, VS_BUSY_ANY,
                                                         t1) / 1e9;
}

int
vs_convert_ontap_many (struct vmshift_handle *h, size_t n,
                    const char *const *sources, const char *const *targets,
                    const struct vmshift_convert_opts *o,
                    const struct vs_convert_journal *journal,
                    struct vmshift_result **res, char **errors)
{
    struct od_disk *d;
    struct od_group *gs = NULL;
    size_t first_fail = n, ng = 0, gcap = 0;
    struct vs_busy busy;
    uint64_t t0 = vs_busy_now_ns (), t1;
    int ret = 0;

    if (o->qtree_style != VMSHIFT_QTREE_STYLE_REFUSE &&
        o->qtree_style != VMSHIFT_QTREE_STYLE_FIX) {
        return set_error (EINVAL, "bad qtree_style %d (refuse or fix)",
                          o->qtree_style);
    }
    d = calloc (n ? n : 1, sizeof *d);
    if (d == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    vs_busy_init (&busy);
    for (size_t i = 0; i < n; i++) {
        d[i].index = i;
        d[i].source = sources[i];
        d[i].target = targets[i];
        d[i].r = od_parse (&d[i]);
        if (d[i].r < 0) {
            error_save (&d[i].err);
            d[i].done = true;
        }
    }
    /* Group by profile and volume: one snapshot per volume.  Disks are
     * taken in order; each group is the run of disks on the first
     * unfinished disk's volume.  The volumes are converted at once, each
     * with up to o->parallel disks in flight (the parallelism is per
     * volume, docs/internals/ontap-flow.md). */
    ng = 0;
    for (size_t i = 0; i < n && ret == 0; i++) {
        struct od_group *g;

        if (d[i].done) {
            continue;
        }
        if (ng == gcap) {
            struct od_group *ngs = realloc (gs, (gcap ? 2 * gcap : 4) *
                                            sizeof *ngs);

            if (ngs == NULL) {
                ret = set_error (ENOMEM, "out of memory");
                break;
            }
            gs = ngs;
            gcap = gcap ? 2 * gcap : 4;
        }
        g = &gs[ng];
        memset (g, 0, sizeof *g);
        g->h = h;
        g->o = o;
        g->j = journal;
        g->busy = &busy;
        g->first = i;
        g->disks = calloc (n - i, sizeof *g->disks);
        if (g->disks == NULL) {
            ret = set_error (ENOMEM, "out of memory");
            break;
        }
        ng++;
        for (size_t j = i; j < n; j++) {
            if (!d[j].done &&
                strcmp (d[j].src.profile, d[i].src.profile) == 0 &&
                strcmp (d[j].src.volume, d[i].src.volume) == 0) {
                g->disks[g->m++] = d[j];
                d[j].done = true;
            }
        }
    }
    for (size_t i = 0; ret < 0 && i < n; i++) {
        if (!d[i].done) {       /* left out of the groups: out of memory */
            d[i].r = ret;
            error_save (&d[i].err);
            d[i].done = true;
        }
    }
    od_groups_run (gs, ng);
    t1 = vs_busy_now_ns ();
    for (size_t gi = 0; gi < ng; gi++) {
        struct od_group *g = &gs[gi];

        for (size_t j = g->first, k = 0; j < n && k < g->m; j++) {
            if (strcmp (d[j].src.profile, g->disks[k].src.profile) == 0 &&
                strcmp (d[j].src.volume, g->disks[k].src.volume) == 0 &&
                d[j].source == g->disks[k].source &&
                d[j].target == g->disks[k].target) {
                d[j].res = g->disks[k].res;
                d[j].r = g->disks[k].r;
                d[j].err = g->disks[k].err;
                k++;
            }
        }
        free (g->disks);
    }
    free (gs);
    for (size_t i = 0; i < n; i++) {
        if (d[i].res) {
            od_times (&d[i].res->st, &busy, t0, t1);
        }
    }
    vs_log_debug (&h->log, LOGM_ONTAP, "%zu disk(s) in %.3f s: %" PRIu64
                  " REST requests and job waits outstanding %.3f s, %" PRIu64
                  " NFS calls %.3f s, either %.3f s", n,
                  (double) (t1 - t0) / 1e9, vs_busy_ops (&busy, VS_BUSY_REST),
                  (double) vs_busy_total_ns (&busy, VS_BUSY_REST, t1) / 1e9,
                  vs_busy_ops (&busy, VS_BUSY_NFS),
                  (double) vs_busy_total_ns (&busy, VS_BUSY_NFS, t1) / 1e9,
                  (double) vs_busy_total_ns (&busy, VS_BUSY_ANY, t1) / 1e9);
    vs_busy_destroy (&busy);
    for (size_t i = 0; i < n; i++) {
        if (d[i].r < 0 && first_fail == n) {
            first_fail = i;
        }
        if (errors) {
            errors[i] = d[i].r < 0 ? strdup (d[i].err.msg) : NULL;
        }
        if (o->error_info) {
            vs_api_error_info_fill (&o->error_info[i],
                                    d[i].r < 0 ? &d[i].err : NULL,
                                    errors ? errors[i] : NULL);
        }
        if (res) {
            res[i] = d[i].res;
        } else {
            vmshift_result_free (d[i].res);
        }
        if (d[i].r < 0 && res) {
            vmshift_result_free (res[i]);
            res[i] = NULL;
        }
        ontap_location_release (&d[i].src);
        ontap_location_release (&d[i].dst);
    }
    if (first_fail < n) {
        error_restore (&d[first_fail].err);
        ret = d[first_fail].r;
    }
    free (d);
    return ret;
}
