/* What a job run removes (docs/jobs.md, "Retention" and "Interrupted
 * runs"): the targets and the snapshot of an interrupted run, old
 * generations by retention (files first, then kept snapshots), and a
 * failed generation unless keep_partial.
 *
 * Only what the job's own runs recorded is ever deleted: names come from
 * the journal and the runs' records in the store, never from listing a
 * folder, so a file that merely matches the name pattern survives.  A
 * recorded file whose identity (file id) changed since the run made it
 * is left alone too, and so is a snapshot that is not the one the run
 * made (by its recorded UUID; docs/jobs.md, "Snapshot names").  Every
 * delete is journalled in the run doing it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/backend/backend.h"
#include "engine/base/error.h"
#include "engine/base/json.h"
#include "engine/base/jsonw.h"
#include "engine/exec/beio.h"
#include "engine/exec/exec.h"
#include "engine/handle.h"
#include "engine/jobs/jobint.h"
#include "ontap/ontap.h"

/* ------------------------------------------------------------ past runs */

struct pasts_ctx {
    const char *name;
    struct job_pasts *p;
};

static int
pasts_cb (void *opaque, const struct wf_run_rec *r)
{
    struct pasts_ctx *c = opaque;
    struct job_past *nv, *e;

    if (r->name == NULL || strcmp (r->name, c->name) != 0) {
        return 0;
    }
    nv = realloc (c->p->v, (c->p->n + 1) * sizeof *nv);
    if (nv == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    c->p->v = nv;
    e = &nv[c->p->n++];
    memset (e, 0, sizeof *e);
    e->id = r->id;
    e->state = strdup (r->state ? r->state : "");
    e->owner = r->owner ? strdup (r->owner) : NULL;
    e->detail_text = r->detail ? strdup (r->detail) : NULL;
    if (e->state == NULL || (r->detail && e->detail_text == NULL) ||
        (r->owner && e->owner == NULL)) {
        return set_error (ENOMEM, "out of memory");
    }
    if (r->detail &&
        vs_json_parse (r->detail, strlen (r->detail), "run detail",
                       &e->detail) == 0) {
        vs_json_opt_u64 (e->detail, "generation", &e->generation);
        vs_json_opt_i64 (e->detail, "start", &e->start);
        vs_json_opt_i64 (e->detail, "end", &e->end);
    }
    clear_error ();
    return 0;
}

int
job_pasts_load (struct wf_store *st, const char *name, struct job_pasts *out)
{
    struct pasts_ctx c = { name, out };
    int r;

    memset (out, 0, sizeof *out);
    r = wf_run_list (st, "job", pasts_cb, &c);
    if (r < 0) {
        job_pasts_free (out);
    }
    return r;
}

void
job_pasts_free (struct job_pasts *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free (p->v[i].state);
        free (p->v[i].owner);
        free (p->v[i].detail_text);
        vs_json_free (p->v[i].detail);
    }
    free (p->v);
    memset (p, 0, sizeof *p);
}

int
job_next_generation (struct job_run *jr)
{
    struct job_pasts p;
    uint64_t max = 0;
    int r = job_pasts_load (jr->st, jr->d->name, &p);

    if (r < 0) {
        return r;
    }
    for (size_t i = 0; i < p.n; i++) {
        if (p.v[i].generation > max) {
            max = p.v[i].generation;
        }
    }
    job_pasts_free (&p);
    jr->generation = max + 1;
    return 0;
}

/* ------------------------------------------------------------- deletes */

/* A target location as a path on the opened target.location backend. */
static char *
job_target_path (struct job_run *jr, const char *target)
{
    size_t n = strlen (jr->d->location);

    if (strncmp (target, jr->d->location, n) != 0 || target[n] != '/') {
        set_error (EINVAL, "'%s' is not below '%s'", target, jr->d->location);
        return NULL;
    }
    return vs_path_join (jr->tgt.path, target + n + 1);
}

static int
job_stat (struct job_run *jr, const char *target, struct be_stat *st)
{
    char *path = job_target_path (jr, target);
    int r;

    if (path == NULL) {
        return -EINVAL;
    }
    memset (st, 0, sizeof *st);
    st->struct_size = sizeof *st;
    r = backend_stat (jr->tgt.be, path, BE_STAT_NOFOLLOW, st);
    free (path);
    return r;
}

int
job_target_exists (struct job_run *jr, const char *target)
{
    struct be_stat st;
    int r;

    if (!jr->tgt_open) {
        return 0;
    }
    r = job_stat (jr, target, &st);
    clear_error ();
    return r == 0 ? 1 : 0;
}

uint64_t
job_fileid (struct job_run *jr, const char *target)
{
    struct be_stat st;
    uint64_t id = 0;

    if (job_stat (jr, target, &st) == 0) {
        id = st.fileid;
    }
    clear_error ();
    return id;
}

void
job_target_fileid (struct job_run *jr, struct jr_disk *dk)
{
    dk->fileid = job_fileid (jr, dk->target);
}

static void
job_note_deleted (struct job_run *jr, const char *what, const char *name,
                  uint64_t generation, const char *why)
{
    struct jsonw w;

    if (jr->deleted.len) {
        vs_sbuf_addch (&jr->deleted, ',');
    }
    vs_jw_init (&w, &jr->deleted, false);
    vs_jw_obj_begin (&w);
    vs_jw_kv_str (&w, "what", what);
    vs_jw_kv_str (&w, "name", name);
    vs_jw_kv_u64 (&w, "generation", generation);
    vs_jw_kv_str (&w, "why", why);
    vs_jw_obj_end (&w);
}

static char *
job_intent (const char *k1, const char *v1, uint64_t generation,
            const char *why)
{
    struct sbuf b;
    struct jsonw w;

    vs_sbuf_init (&b, 16384);
    vs_jw_init (&w, &b, false);
    vs_jw_obj_begin (&w);
    vs_jw_kv_str (&w, k1, v1);
    vs_jw_kv_u64 (&w, "generation", generation);
    vs_jw_kv_str (&w, "why", why);
    vs_jw_obj_end (&w);
    return vs_sbuf_detach (&b, NULL);
}

struct job_del {
    char *target;
    uint64_t fileid;
    long main;                  /* a disk's other file: its target's
                                 * index in the batch; else -1 */
    int64_t seq;
    enum wf_journal_status status;
    const char *note;
};

/* Delete one file the job made, if it is still the file it made. */
static void
job_delete_do (struct job_run *jr, struct job_del *e, uint64_t generation,
               const char *why)
{
    struct be_stat st;
    char *path = NULL;
    int r = job_stat (jr, e->target, &st);

    e->status = WF_J_FAILED;
    if (r == -ENOENT) {
        clear_error ();
        e->status = WF_J_UNDONE;
        e->note = "{\"note\": \"already gone\"}";
        return;
    }
    if (r == 0 && e->fileid && st.fileid != e->fileid) {
        vs_log_msg (&jr->h->log, LOG_WARN, "'%s' is not the file job '%s' "
                    "made (its file id changed); left alone", e->target,
                    jr->d->name);
        e->note = "{\"note\": \"not the file the job made\"}";
        return;
    }
    if (r == 0 && (path = job_target_path (jr, e->target)) != NULL) {
        r = backend_unlink (jr->tgt.be, path);
    }
    free (path);
    if (r == 0) {
        e->status = WF_J_DONE;
        job_note_deleted (jr, "file", e->target, generation, why);
    } else {
        vs_log_msg (&jr->h->log, LOG_WARN, "cannot delete '%s': %s",
                    e->target, vmshift_get_error ());
        e->note = "{\"note\": \"delete failed\"}";
    }
    clear_error ();
}

/* Intents of all in one transaction, the deletes, the results of all in
 * another: every intent is durable before its delete, with two commits
 * for a whole generation. */
static int
job_delete_many (struct job_run *jr, struct job_del *v, size_t n,
                 uint64_t generation, const char *why)
{
    int r = wf_store_begin (jr->st);

    for (size_t i = 0; r == 0 && i < n; i++) {
        char *intent = job_intent ("file", v[i].target, generation, why);

        r = intent ? wf_journal_intent (jr->st, jr->run.id, "", "delete",
                                        intent, &v[i].seq)
                   : set_error (ENOMEM, "out of memory");
        free (intent);
    }
    if (r < 0) {
        struct vmshift_error_save e;

        error_save (&e);
        wf_store_rollback (jr->st);
        error_restore (&e);
        return r;
    }
    if ((r = wf_store_commit (jr->st)) < 0) {
        return r;
    }
    for (size_t i = 0; i < n; i++) {
        const struct job_del *m = v[i].main >= 0 ? &v[v[i].main] : NULL;

        /* a disk's other file goes with its target, never alone: if the
         * target was left (replaced, delete failed), so is the file */
        if (m && m->status != WF_J_DONE && m->status != WF_J_UNDONE) {
            v[i].status = WF_J_FAILED;
            v[i].note = "{\"note\": \"its disk's target was left alone\"}";
            continue;
        }
        job_delete_do (jr, &v[i], generation, why);
    }
    r = wf_store_begin (jr->st);
    for (size_t i = 0; r == 0 && i < n; i++) {
        r = wf_journal_finish (jr->st, v[i].seq, v[i].status, v[i].note);
    }
    if (r == 0) {
        return wf_store_commit (jr->st);
    }
    wf_store_rollback (jr->st);
    return r;
}

/* Add target to the batch; main is the index of the disk's target for
 * one of its other files, else -1. */
static int
job_del_add (struct job_run *jr, struct job_del **v, size_t *n,
             const char *target, uint64_t fileid, long main)
{
    struct job_del *nv = realloc (*v, (*n + 1) * sizeof *nv);

    (void) jr;
    if (nv == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    *v = nv;
    memset (&nv[*n], 0, sizeof *nv);
    nv[*n].target = strdup (target);
    nv[*n].fileid = fileid;
    nv[*n].main = main;
    if (nv[*n].target == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    (*n)++;
    return 0;
}

static void
job_del_free (struct job_del *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free (v[i].target);
    }
    free (v);
}

int
job_delete_target (struct job_run *jr, const char *target, uint64_t fileid,
                   uint64_t generation, const char *why)
{
    struct job_del *v = NULL;
    size_t n = 0;
    int r = job_del_add (jr, &v, &n, target, fileid, -1);

    if (r == 0) {
        r = job_delete_many (jr, v, n, generation, why);
    }
    job_del_free (v, n);
    return r;
}

int
job_delete_disk (struct job_run *jr, const struct jr_disk *dk,
                 uint64_t generation, const char *why)
{
    struct job_del *v = NULL;
    size_t n = 0;
    int r = job_del_add (jr, &v, &n, dk->target, dk->fileid, -1);

    /* an other file of unknown identity is never deleted */
    for (size_t i = 0; r == 0 && i < dk->n_others; i++) {
        if (dk->others[i].fileid) {
            r = job_del_add (jr, &v, &n, dk->others[i].target,
                             dk->others[i].fileid, 0);
        }
    }
    if (r == 0) {
        r = job_delete_many (jr, v, n, generation, why);
    }
    job_del_free (v, n);
    return r;
}

/* Is s the snapshot id names?  1 yes, 0 no (with why), -1 unknown. */
static int
job_snapshot_is (const struct ontap_snapshot *s, const struct job_snap_id *id,
                 char *why, size_t n)
{
    int64_t t;

    if (id->uuid && id->uuid[0]) {
        if (strcmp (s->uuid, id->uuid) == 0) {
            return 1;
        }
        snprintf (why, n, "its uuid is %s, the job's was %s", s->uuid,
                  id->uuid);
        return 0;
    }
    if (s->create_time == NULL || ontap_time_parse (s->create_time, &t) < 0) {
        snprintf (why, n, "no uuid was recorded, and its create_time '%s' "
                  "cannot tell", s->create_time ? s->create_time : "");
        return -1;
    }
    if (t < id->lo || (id->hi && t > id->hi)) {
        snprintf (why, n, "no uuid was recorded, and it was made at %s, "
                  "not while the run ran", s->create_time);
        return 0;
    }
    return 1;
}

int
job_snapshot_delete (struct job_run *jr, const struct job_snap_id *id)
{
    struct ontap_client *c = vs_loc_ontap_client (&jr->tgt);
    const struct ontap_volume *v = vs_loc_ontap_volume (&jr->tgt);
    struct ontap_snapshot s;
    char why[256];
    int r;

    if (c == NULL) {
        return 0;
    }
    r = ontap_snapshot_find (c, v, id->name, &s);
    if (r == 0) {
        if (job_snapshot_is (&s, id, why, sizeof why) == 1) {
            r = ontap_snapshot_delete (c, v, &s);
        } else {
            vs_log_msg (&jr->h->log, LOG_WARN, "snapshot '%s' is not the "
                        "snapshot job '%s' made (%s); left alone", id->name,
                        jr->d->name, why);
            r = 1;
        }
        ontap_snapshot_release (&s);
    }
    if (r == -ENOENT) {
        r = 0;
    } else if (r < 0) {
        vs_log_msg (&jr->h->log, LOG_WARN, "cannot delete snapshot '%s': %s",
                    id->name, vmshift_get_error ());
    }
    clear_error ();
    return r;
}

int
job_snapshot_drop (struct job_run *jr, const struct job_snap_id *id,
                   uint64_t generation, const char *why)
{
    struct sbuf b;
    struct jsonw w;
    int64_t seq = 0;
    int r = -ENOMEM;

    vs_sbuf_init (&b, 16384);
    vs_jw_init (&w, &b, false);
    vs_jw_obj_begin (&w);
    vs_jw_kv_str (&w, "snapshot", id->name);
    if (id->uuid && id->uuid[0]) {
        vs_jw_kv_str (&w, "uuid", id->uuid);
    } else {
        vs_jw_kv_i64 (&w, "made_after", id->lo);
        if (id->hi) {
            vs_jw_kv_i64 (&w, "made_before", id->hi);
        }
    }
    vs_jw_kv_u64 (&w, "generation", generation);
    vs_jw_kv_str (&w, "why", why);
    vs_jw_obj_end (&w);
    if (b.data && !b.err &&
        (r = wf_journal_intent (jr->st, jr->run.id, "", "snapshot-delete",
                                b.data, &seq)) == 0) {
        r = job_snapshot_delete (jr, id);
        wf_journal_finish (jr->st, seq, r == 0 ? WF_J_DONE : WF_J_FAILED,
                           r == 1 ? "{\"note\": \"not the job's snapshot\"}"
                           : r < 0 ? "{\"note\": \"delete failed\"}" : NULL);
        if (r == 0) {
            job_note_deleted (jr, "snapshot", id->name, generation, why);
        }
    }
    vs_sbuf_release (&b);
    clear_error ();
    return r;
}

/* A run that lost its lease keeps nothing, not even with keep_partial:
 * the generation is no longer its to hand over, and the runner that took
 * the lease over repairs it as interrupted (docs/jobs.md, "Leases"). */
void
job_abandon (struct job_run *jr)
{
    const char *why = jr->lost ? "lease lost" : "run failed";

    if (!jr->tgt_open) {
        return;
    }
    for (size_t i = 0; i < jr->n; i++) {
        struct jr_disk *dk = &jr->disks[i];
        int r = 0;

        if (dk->ok && (!jr->d->keep_partial || jr->lost)) {
            r = job_delete_disk (jr, dk, jr->generation, why);
        }
        if (jr->lost && dk->seq > 0 && r == 0) {
            wf_journal_finish (jr->st, dk->seq, WF_J_UNDONE, NULL);
            clear_error ();
        }
    }
    if (jr->snap_made) {
        struct job_snap_id id = { jr->snap_name, jr->snap_uuid, 0, 0 };

        job_snapshot_drop (jr, &id, jr->generation, why);
    }
}

/* -------------------------------------------------------------- repair */

struct repair_ent {
    int64_t seq;
    char *target;               /* convert: target; snapshot: name */
    bool snapshot;
    char *uuid;                 /* snapshot: as made, NULL unknown */
    int64_t lo, hi;             /* snapshot without uuid: made then */
};

struct repair_ctx {
    struct job_run *jr;
    struct repair_ent *v;
    size_t n;
};

/* A snapshot step's entry: made (result with its uuid; an older
 * version's result has none), or asked for and not known to be made
 * (intent only).  Without a uuid, what has its name is taken for the
 * run's only if it was made while the run could have made it: from the
 * intent to the result, or for an intent alone, within JOB_SNAP_LATE of
 * it (the create follows the intent at once). */
#define JOB_SNAP_LATE 600
static void
repair_snap (struct repair_ent *x, const struct wf_journal_rec *e)
{
    struct json_val *res = NULL;

    x->snapshot = true;
    x->lo = e->t_intent - JOB_SNAP_SKEW;
    x->hi = (e->status == WF_J_DONE && e->t_result ? e->t_result
                                                   : e->t_intent +
                                                     JOB_SNAP_LATE) +
            JOB_SNAP_SKEW;
    if (e->status == WF_J_DONE && e->result &&
        vs_json_parse (e->result, strlen (e->result), "journal", &res) == 0) {
        if (vs_json_get_str (res, "uuid", &x->uuid) < 0) {
            x->uuid = NULL;
        }
        vs_json_free (res);
    }
    clear_error ();
}

static int
repair_cb (void *opaque, const struct wf_journal_rec *e)
{
    struct repair_ctx *c = opaque;
    struct json_val *in = NULL;
    char *val = NULL;
    bool existed = false;
    const char *key = strcmp (e->step, "convert") == 0 ? "target"
                      : strcmp (e->step, "snapshot") == 0 ? "snapshot"
                                                          : NULL;

    if (key == NULL || e->status == WF_J_UNDONE ||
        e->status == WF_J_FAILED || e->intent == NULL ||
        vs_json_parse (e->intent, strlen (e->intent), "journal", &in) < 0) {
        clear_error ();
        return 0;
    }
    vs_json_opt_bool (in, "existed", &existed);
    if (!existed && vs_json_get_str (in, key, &val) == 0) {
        struct repair_ent *nv = realloc (c->v, (c->n + 1) * sizeof *nv);

        if (nv == NULL) {
            free (val);
            vs_json_free (in);
            return set_error (ENOMEM, "out of memory");
        }
        c->v = nv;
        memset (&nv[c->n], 0, sizeof nv[c->n]);
        nv[c->n].seq = e->seq;
        nv[c->n].target = val;
        if (key[0] == 's') {
            repair_snap (&nv[c->n], e);
        }
        c->n++;
    }
    clear_error ();
    vs_json_free (in);
    return 0;
}

/* Remove what an interrupted run left: its targets (it recorded none as
 * good), their temporaries, its snapshot (only the one it made). */
static int
job_repair_one (struct job_run *jr, const struct job_past *p)
{
    struct repair_ctx c = { .jr = jr };
    int r = wf_journal_list (jr->st, p->id, repair_cb, &c);

    for (size_t i = 0; r == 0 && i < c.n; i++) {
        struct repair_ent *x = &c.v[i];

        if (x->snapshot) {
            struct job_snap_id id = { x->target, x->uuid, x->lo, x->hi };

            job_snapshot_drop (jr, &id, p->generation, "interrupted run");
        } else {
            char *path = job_target_path (jr, x->target);
            const char *slash = path ? strrchr (path, '/') : NULL;

            if (path && slash) {
                char *dir = strndup (path, (size_t) (slash - path));

                if (dir) {
                    vs_exec_clean_stale (jr->tgt.be, dir, slash + 1,
                                         &jr->h->log);
                }
                free (dir);
            }
            free (path);
            clear_error ();
            job_delete_target (jr, x->target, 0, p->generation,
                               "interrupted run");
        }
        wf_journal_finish (jr->st, x->seq, WF_J_UNDONE, NULL);
    }
    for (size_t i = 0; i < c.n; i++) {
        free (c.v[i].target);
        free (c.v[i].uuid);
    }
    free (c.v);
    if (r == 0) {
        r = wf_run_set_state (jr->st, p->id, "interrupted", p->detail_text);
    }
    if (r == 0) {
        vs_sbuf_printf (&jr->repaired, "%s%" PRId64,
                        jr->repaired.len ? "," : "", p->id);
        vs_log_msg (&jr->h->log, LOG_INFO, "job '%s': repaired run %" PRId64
                    " (generation %" PRIu64 "), which was interrupted",
                    jr->d->name, p->id, p->generation);
    }
    return r;
}

/* We hold the job's lease, so any other run of the job still marked as
 * running was interrupted.  A run still "starting" has not got the lease
 * yet and has done nothing: it may be another runner that started at
 * the same moment and is about to be refused (docs/jobs.md,
 * "Scale-out"), so it is only marked interrupted when its process is
 * known to be gone. */
int
job_repair (struct job_run *jr)
{
    struct job_pasts p;
    bool opened = false;
    int r = job_pasts_load (jr->st, jr->d->name, &p);

    for (size_t i = 0; r == 0 && i < p.n; i++) {
        if (p.v[i].id == jr->run.id ||
            (strcmp (p.v[i].state, "running") != 0 &&
             (strcmp (p.v[i].state, "starting") != 0 ||
              wf_store_owner_dead (p.v[i].owner) != 1))) {
            continue;
        }
        if (!jr->tgt_open) {
            r = vs_loc_open (jr->h, jr->d->location, &jr->tgt);
            jr->tgt_open = opened = r == 0;
        }
        if (r == 0) {
            r = job_repair_one (jr, &p.v[i]);
        }
    }
    (void) opened;
    job_pasts_free (&p);
    return r;
}

/* ----------------------------------------------------------- retention */

static int
job_cmp_gen_desc (const void *a, const void *b)
{
    const struct job_past *x = *(const struct job_past *const *) a;
    const struct job_past *y = *(const struct job_past *const *) b;

    return x->generation < y->generation ? 1
           : x->generation > y->generation ? -1 : 0;
}

static bool
job_flag (const struct job_past *p, const char *key)
{
    bool v = false;

    if (p->detail) {
        vs_json_opt_bool (p->detail, key, &v);
        clear_error ();
    }
    return v;
}

/* The detail with one more key (a boolean): the run is marked, its
 * result is kept. */
static int
job_mark (struct job_run *jr, struct job_past *p, const char *key)
{
    size_t n = p->detail_text ? strlen (p->detail_text) : 0;
    char *d = NULL;
    int r;

    if (n < 2 || p->detail_text[n - 1] != '}') {
        return 0;
    }
    if (asprintf (&d, "%.*s, \"%s\": true, \"%s_by\": %" PRId64 "}",
                  (int) (n - 1), p->detail_text, key, key, jr->run.id) < 0) {
        return set_error (ENOMEM, "out of memory");
    }
    r = wf_run_set_state (jr->st, p->id, p->state, d);
    free (p->detail_text);
    p->detail_text = d;
    return r;
}

static bool
job_expired (const struct job_run *jr, const struct job_past *p,
             const struct job_retention *keep, size_t rank)
{
    if (keep->keep_last && rank >= keep->keep_last) {
        return true;
    }
    return keep->max_age && p->start + (int64_t) keep->max_age < jr->start;
}

static int
job_prune_files (struct job_run *jr, struct job_past *p)
{
    const struct json_val *disks = vs_json_get (p->detail, "disks");
    struct job_del *v = NULL;
    size_t n = 0;
    int r = 0;

    for (size_t i = 0; r == 0 && i < vs_json_array_len (disks); i++) {
        const struct json_val *dk = vs_json_array_at (disks, i);
        uint64_t fileid = 0;
        bool ok = false;
        char *target = NULL;

        vs_json_opt_bool (dk, "ok", &ok);
        vs_json_opt_u64 (dk, "fileid", &fileid);
        if (ok && vs_json_get_str (dk, "target", &target) == 0) {
            const struct json_val *others = vs_json_get (dk, "others");
            long main = (long) n;

            r = job_del_add (jr, &v, &n, target, fileid, -1);
            for (size_t k = 0; r == 0 && k < vs_json_array_len (others);
                 k++) {
                const struct json_val *o = vs_json_array_at (others, k);
                uint64_t ofid = 0;
                char *ot = NULL;

                vs_json_opt_u64 (o, "fileid", &ofid);
                if (ofid && vs_json_get_str (o, "target", &ot) == 0) {
                    r = job_del_add (jr, &v, &n, ot, ofid, main);
                }
                free (ot);
            }
        }
        free (target);
        if (r == 0) {
            clear_error ();
        }
    }
    if (r == 0 && n) {
        r = job_delete_many (jr, v, n, p->generation, "retention");
    }
    job_del_free (v, n);
    return r == 0 ? job_mark (jr, p, "pruned") : r;
}

/* Generations this job made and still has, newest first: files by
 * 'retention', then kept snapshots by 'snapshot_retention'.  The run's
 * own generation is always kept. */
int
job_prune (struct job_run *jr)
{
    struct job_pasts p;
    struct job_past **good = NULL;
    size_t ng = 0, rank = 0;
    int r = job_pasts_load (jr->st, jr->d->name, &p);

    if (r < 0) {
        return r;
    }
    good = calloc (p.n + 1, sizeof *good);
    for (size_t i = 0; good && i < p.n; i++) {
        if (p.v[i].id != jr->run.id && p.v[i].detail &&
            (strcmp (p.v[i].state, "done") == 0 ||
             strcmp (p.v[i].state, "partial") == 0)) {
            good[ng++] = &p.v[i];
        }
    }
    if (good == NULL) {
        job_pasts_free (&p);
        return set_error (ENOMEM, "out of memory");
    }
    qsort (good, ng, sizeof *good, job_cmp_gen_desc);
    /* rank 0 is this run's generation */
    for (size_t i = 0; r == 0 && i < ng; i++) {
        if (!job_flag (good[i], "pruned") &&
            job_expired (jr, good[i], &jr->d->retention, ++rank)) {
            r = job_prune_files (jr, good[i]);
        }
    }
    rank = 0;
    for (size_t i = 0; r == 0 && i < ng; i++) {
        char *snap = NULL, *uuid = NULL;

        if (!job_flag (good[i], "snapshot_kept") ||
            job_flag (good[i], "snapshot_deleted") ||
            job_flag (good[i], "snapshot_left")) {
            continue;
        }
        if (job_expired (jr, good[i], &jr->d->snapshot_retention, ++rank) &&
            vs_json_get_str (good[i]->detail, "snapshot", &snap) == 0) {
            /* a record without a uuid (an older version's): the snapshot
             * of its name only if made while that run ran */
            struct job_snap_id id = { snap, NULL,
                                      good[i]->start - JOB_SNAP_SKEW,
                                      (good[i]->end > good[i]->start
                                       ? good[i]->end : good[i]->start) +
                                      JOB_SNAP_SKEW };
            int d;

            if (vs_json_get_str (good[i]->detail, "snapshot_uuid",
                                 &uuid) == 0) {
                id.uuid = uuid;
            }
            clear_error ();
            d = job_snapshot_drop (jr, &id, good[i]->generation,
                                   "snapshot_retention");
            if (d >= 0) {
                r = job_mark (jr, good[i], d == 0 ? "snapshot_deleted"
                                                  : "snapshot_left");
            }
        }
        free (snap);
        free (uuid);
        clear_error ();
    }
    free (good);
    job_pasts_free (&p);
    return r;
}
