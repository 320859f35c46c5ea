/* Public entry points of migrations and runs (engine/vmshift.h): argument
 * checks, the store, and the blocking loop over wf_run_step. */
#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/base/error.h"
#include "engine/base/json.h"
#include "engine/base/jsonw.h"
#include "engine/base/sbuf.h"
#include "engine/exec/exec.h"
#include "engine/location.h"
#include "engine/workflow/run.h"

void
vmshift_run_opts_init (struct vmshift_run_opts *o)
{
    memset (o, 0, sizeof *o);
    o->struct_size = sizeof *o;
}

static int
wf_api_opts (const struct vmshift_run_opts *o, const char *fn)
{
    if (o == NULL || o->struct_size == 0 || o->struct_size > sizeof *o) {
        return set_error (EINVAL, "%s: bad options (call "
                          "vmshift_run_opts_init)", fn);
    }
    return 0;
}

static int
wf_api_read (struct vmshift_handle *h, const char *file, char **doc,
             char **what)
{
    size_t len;
    int e = vs_loc_read_whole (h, file, WF_BP_MAX_BYTES, doc, &len);

    if (e < 0) {
        return e;
    }
    if (strlen (*doc) != len) {
        free (*doc);
        return set_error (EINVAL, "'%s': holds a NUL byte", file);
    }
    if (asprintf (what, "'%s'", file) < 0) {
        free (*doc);
        return set_error (ENOMEM, "out of memory");
    }
    return 0;
}

int
vmshift_blueprint_check (struct vmshift_handle *h, const char *file,
                         const struct vmshift_run_opts *o, int json,
                         char **report)
{
    char *doc = NULL, *what = NULL;
    int e;

    vs_api_enter (h);
    if (!file || !report || (e = wf_api_opts (o, "vmshift_blueprint_check"))
        < 0) {
        return set_error (EINVAL, "vmshift_blueprint_check: bad arguments");
    }
    if ((e = wf_api_read (h, file, &doc, &what)) < 0) {
        return e;
    }
    e = wf_run_check (h, doc, what, o->test != 0, json != 0, report);
    free (doc);
    free (what);
    return e;
}

/* on_run_event, where the caller's struct has it */
static vmshift_run_event_fn
wf_api_listener (const struct vmshift_run_opts *o)
{
    return o->struct_size >= offsetof (struct vmshift_run_opts, on_run_event)
           + sizeof o->on_run_event ? o->on_run_event : NULL;
}

/* A store handle for a run: only the durable points are synced (every
 * journal intent, in one commit with the state changes before it); the
 * rest follows them in order (docs/internals/store.md, "Durability"). */
static int
wf_api_store_open (const char *spec, struct wf_store **s)
{
    int e = wf_store_open (spec, s);

    if (e == 0 && (e = wf_store_set_durability (*s, WF_DUR_INTENTS)) < 0) {
        wf_store_close (*s);
        *s = NULL;
    }
    return e;
}

/* Make what a run's store handle wrote last durable; returns e, or the
 * sync's error when e is 0 (an earlier error keeps its message). */
static int
wf_api_store_sync (struct wf_store *s, int e)
{
    struct vmshift_error_save es;
    int x;

    error_save (&es);
    x = wf_store_sync (s);
    if (e < 0 || x == 0) {
        error_restore (&es);
    } else {
        e = x;
    }
    return e;
}

/* Close a run's store handle, making what it wrote last durable first;
 * returns e, or the sync's error when e is 0. */
static int
wf_api_store_close (struct wf_store *s, int e)
{
    if (s) {
        e = wf_api_store_sync (s, e);
        wf_store_close (s);
    }
    return e;
}

/* The end of migrate or resume: the store synced, the caller's stats
 * filled, the run freed and the store closed.  Returns e, or the sync's
 * error when e is 0. */
static int
wf_api_end (const struct vmshift_run_opts *o, struct wf_run *r,
            struct wf_store *s, double t0, int e)
{
    struct vmshift_run_stats *st = NULL;

    if (o->struct_size >= offsetof (struct vmshift_run_opts, stats) +
        sizeof o->stats && o->stats &&
        o->stats->struct_size >= offsetof (struct vmshift_run_stats,
                                           seconds)) {
        st = o->stats;
    }
    if (s) {
        e = wf_api_store_sync (s, e);
    }
    if (st) {
        struct wf_store_stats ss = { 0 };
        struct vmshift_error_save es;
        size_t n = st->struct_size;

        error_save (&es);
        if (r) {
            wf_run_get_stats (r, st);
        }
        if (s && wf_store_stats (s, &ss) < 0) {
            memset (&ss, 0, sizeof ss);
        }
        error_restore (&es);
        {
            struct vmshift_run_stats t = { 0 };

            memcpy (&t, st, n < sizeof t ? n : sizeof t);
            t.seconds = vs_exec_now () - t0;
            t.store_commits = ss.commits;
            t.store_syncs = ss.syncs;
            memcpy (st, &t, n < sizeof t ? n : sizeof t);
        }
    }
    wf_run_free (r);
    if (s) {
        wf_store_close (s);
    }
    return e;
}

static int
wf_api_loop (struct wf_run *r)
{
    int e;

    wf_run_announce (r);
    while ((e = wf_run_step (r)) > 0) {
    }
    return e;
}

int
vmshift_migrate (struct vmshift_handle *h, const char *file,
                 const struct vmshift_run_opts *o, int64_t *run_id)
{
    struct wf_store *s = NULL;
    struct wf_run *r = NULL;
    struct wf_blueprint bp;
    char *doc = NULL, *what = NULL;
    double t0 = vs_exec_now ();
    int e;

    vs_api_enter (h);
    if (run_id) {
        *run_id = 0;
    }
    if (!file || (e = wf_api_opts (o, "vmshift_migrate")) < 0) {
        return set_error (EINVAL, "vmshift_migrate: bad arguments");
    }
    if ((e = wf_api_read (h, file, &doc, &what)) < 0) {
        return e;
    }
    /* A bad blueprint creates no run. */
    e = wf_blueprint_parse (doc, strlen (doc), what, &bp);
    wf_blueprint_release (&bp);
    if (e == 0) {
        e = wf_api_store_open (o->store, &s);
    }
    if (e == 0) {
        e = wf_run_new (h, s, doc, what, o->test != 0, o->on_event,
                        o->opaque, &r);
    }
    if (e == 0 && run_id) {
        *run_id = wf_run_id (r);
    }
    if (e == 0) {
        wf_run_set_listener (r, wf_api_listener (o));
    }
    if (e == 0 && (e = wf_run_claim (r)) < 0) {
        /* refused (the blueprint runs already): this run never started */
        struct vmshift_error_save es;

        error_save (&es);
        wf_run_set_state (s, wf_run_id (r), wf_run_state_name (WF_RUN_ABORTED),
                          "{\"error\":\"refused: the blueprint is already "
                          "running\"}");
        error_restore (&es);
    } else if (e == 0) {
        e = wf_api_loop (r);
    }
    e = wf_api_end (o, r, s, t0, e);
    free (doc);
    free (what);
    return e;
}

static int
wf_api_load (struct vmshift_handle *h, const struct vmshift_run_opts *o,
             int64_t id, struct wf_store **s, struct wf_run **r,
             const char *fn)
{
    int e;

    *s = NULL;
    *r = NULL;
    if ((e = wf_api_opts (o, fn)) < 0) {
        return e;
    }
    if ((e = wf_api_store_open (o->store, s)) < 0) {
        return e;
    }
    e = wf_run_load (h, *s, id, o->on_event, o->opaque, r);
    if (e == 0) {
        wf_run_set_listener (*r, wf_api_listener (o));
    }
    if (e < 0) {
        wf_store_close (*s);
        *s = NULL;
    }
    return e;
}

int
vmshift_runs_resume (struct vmshift_handle *h,
                     const struct vmshift_run_opts *o, int64_t run_id)
{
    struct wf_store *s;
    struct wf_run *r;
    double t0 = vs_exec_now ();
    int e;

    vs_api_enter (h);
    if ((e = wf_api_load (h, o, run_id, &s, &r, "vmshift_runs_resume")) < 0) {
        return e;
    }
    e = wf_run_claim (r);
    if (e == 0) {
        e = wf_api_loop (r);
    }
    return wf_api_end (o, r, s, t0, e);
}

int
vmshift_runs_abort (struct vmshift_handle *h,
                    const struct vmshift_run_opts *o, int64_t run_id)
{
    struct wf_store *s;
    struct wf_run *r;
    struct wf_run_rec rec;
    int e;

    vs_api_enter (h);
    if ((e = wf_api_load (h, o, run_id, &s, &r, "vmshift_runs_abort")) < 0) {
        return e;
    }
    e = wf_run_request_abort (s, run_id);
    /* A run with a live process stops itself at its next safe point;
     * otherwise (it died, or is stopped) abort here. */
    if (e == 0 && (e = wf_run_get (s, run_id, &rec)) == 0) {
        bool live = rec.owner && wf_store_owner_dead (rec.owner) == 0 &&
                    (rec.owner[0] != '\0');
        char me[300];

        wf_store_owner_self (me, sizeof me);
        wf_run_rec_clear (&rec);
        if (!live) {
            e = wf_run_claim (r);
            if (e == 0) {
                e = wf_run_abort_now (r);
            }
        }
    }
    wf_run_free (r);
    return wf_api_store_close (s, e);
}

int
vmshift_runs_cleanup (struct vmshift_handle *h,
                      const struct vmshift_run_opts *o, int64_t run_id)
{
    struct wf_store *s;
    struct wf_run *r;
    int e;

    vs_api_enter (h);
    if ((e = wf_api_load (h, o, run_id, &s, &r, "vmshift_runs_cleanup")) < 0) {
        return e;
    }
    e = wf_run_cleanup (r);
    wf_run_free (r);
    return wf_api_store_close (s, e);
}

/* ------------------------------------------------------- list and show */

struct wf_vmstat;

struct wf_list {
    struct jsonw *w;
    struct sbuf *b;
    bool json;
    struct wf_vmstat *vs;       /* runs show: per VM */
    size_t nvs, capvs;
    int64_t created;
};

static void
wf_time (int64_t t, char *buf, size_t n)
{
    time_t tt = (time_t) t;
    struct tm tm;

    if (gmtime_r (&tt, &tm)) {
        strftime (buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
    } else {
        snprintf (buf, n, "%lld", (long long) t);
    }
}

static void
wf_show_human (char *buf, size_t n, uint64_t bytes)
{
    static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB", "PiB",
                                        "EiB" };
    double v = (double) bytes / 1024;
    size_t i = 0;

    if (bytes < 1024) {
        snprintf (buf, n, "%" PRIu64 " B", bytes);
        return;
    }
    while (v >= 1024 && i < 5) {
        v /= 1024;
        i++;
    }
    snprintf (buf, n, "%.1f %s", v, unit[i]);
}

static int
wf_list_cb (void *opaque, const struct wf_run_rec *r)
{
    struct wf_list *l = opaque;
    char t[32];

    wf_time (r->created, t, sizeof t);
    if (l->json) {
        vs_jw_obj_begin (l->w);
        vs_jw_kv_i64 (l->w, "id", r->id);
        vs_jw_kv_str (l->w, "blueprint", r->name);
        vs_jw_kv_str (l->w, "state", r->state);
        vs_jw_kv_bool (l->w, "test", (r->flags & WF_RUN_TEST) != 0);
        vs_jw_kv_str (l->w, "created", t);
        vs_jw_obj_end (l->w);
    } else {
        vs_sbuf_printf (l->b, "%-6" PRId64 " %-20s %-12s %-5s %s\n", r->id,
                        r->name, r->state, r->flags & WF_RUN_TEST ? "test"
                        : "", t);
    }
    return 0;
}

int
vmshift_runs_list (struct vmshift_handle *h, const struct vmshift_run_opts *o,
                   int json, char **out)
{
    struct wf_store *s;
    struct sbuf b;
    struct jsonw w;
    struct wf_list l = { .w = &w, .b = &b, .json = json != 0 };
    int e;

    vs_api_enter (h);
    if (!out || (e = wf_api_opts (o, "vmshift_runs_list")) < 0) {
        return set_error (EINVAL, "vmshift_runs_list: bad arguments");
    }
    if ((e = wf_store_open (o->store, &s)) < 0) {
        return e;
    }
    vs_sbuf_init (&b, 16 << 20);
    vs_jw_init (&w, &b, false);
    if (json) {
        vs_jw_arr_begin (&w);
    } else {
        vs_sbuf_printf (&b, "%-6s %-20s %-12s %-5s %s\n", "RUN", "BLUEPRINT",
                        "STATE", "", "CREATED");
    }
    e = wf_run_list (s, "migrate", wf_list_cb, &l);
    if (json) {
        vs_jw_arr_end (&w);
        vs_sbuf_addch (&b, '\n');
    }
    wf_store_close (s);
    *out = vs_sbuf_detach (&b, NULL);
    if (e == 0 && !*out) {
        e = set_error (ENOMEM, "out of memory");
    }
    return e;
}

/* What runs show says per VM beyond its state: the bytes its disks took
 * (from the journal's convert results) and the time of each step (from
 * the kept events: a step ends when the VM reaches the state after it). */
#define WF_SHOW_STEPS 16
struct wf_vmstat {
    char *vm;
    uint64_t cloned, copied;
    unsigned disks;
    int64_t t_last;             /* time of its last state change, or 0 */
    struct {
        const char *step;
        int64_t seconds;
    } steps[WF_SHOW_STEPS];
    size_t nsteps;
};

static struct wf_vmstat *
wf_vmstat_of (struct wf_list *l, const char *vm)
{
    struct wf_vmstat *v;

    for (size_t i = 0; i < l->nvs; i++) {
        if (strcmp (l->vs[i].vm, vm) == 0) {
            return &l->vs[i];
        }
    }
    if (l->nvs == l->capvs) {
        size_t nc = l->capvs ? l->capvs * 2 : 16;
        struct wf_vmstat *nv = realloc (l->vs, nc * sizeof *nv);

        if (!nv) {
            return NULL;
        }
        l->vs = nv;
        l->capvs = nc;
    }
    v = &l->vs[l->nvs];
    memset (v, 0, sizeof *v);
    if (!(v->vm = strdup (vm))) {
        return NULL;
    }
    l->nvs++;
    return v;
}

static int
wf_show_bytes_cb (void *opaque, const struct wf_journal_rec *j)
{
    struct wf_list *l = opaque;
    struct wf_vmstat *v;
    uint64_t cl, cp;

    if (!wf_journal_bytes (j, &cl, &cp)) {
        return 0;
    }
    if (!(v = wf_vmstat_of (l, j->item))) {
        return set_error (ENOMEM, "out of memory");
    }
    v->cloned += cl;
    v->copied += cp;
    v->disks++;
    return 0;
}

/* The step that ends when a VM reaches state (docs/internals/workflow.md) */
static const char *
wf_step_ending_in (const char *state)
{
    static const struct { const char *state, *step; } t[] = {
        { "ready", "preflight" }, { "converting", "snapshot" },
        { "converted", "convert" }, { "defined", "define" },
        { "registered", "register" }, { "admin-step", "register" },
        { "started", "power-on" }, { "complete", "read-back" },
        { "failed", "failed" }, { "aborted", "abort" },
        { "cleaned", "cleanup" }, { "pending", "resume" },
    };

    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (strcmp (t[i].state, state) == 0) {
            return t[i].step;
        }
    }
    return NULL;
}

static int
wf_show_event_cb (void *opaque, const struct wf_event_rec *ev)
{
    struct wf_list *l = opaque;
    struct json_val *j = NULL;
    char *vm = NULL, *state = NULL, *step = NULL;
    const char *name;
    struct wf_vmstat *v;
    int64_t t = ev->time;

    if (vs_json_parse (ev->json, strlen (ev->json), "event", &j) < 0 ||
        vs_json_opt_str (j, "vm", &vm) < 0 || vs_json_opt_str (j, "state",
                                                              &state) < 0 ||
        vs_json_opt_str (j, "step", &step) < 0) {
        clear_error ();         /* not an event of this shape */
        goto out;
    }
    /* a state change: step is the state's name */
    if (!vm || !state || !step || strcmp (state, step) != 0 ||
        !(name = wf_step_ending_in (state))) {
        goto out;
    }
    if (!(v = wf_vmstat_of (l, vm))) {
        vs_json_free (j);
        free (vm);
        free (state);
        free (step);
        return set_error (ENOMEM, "out of memory");
    }
    {
        int64_t from = v->t_last ? v->t_last : l->created;
        size_t k;

        for (k = 0; k < v->nsteps && strcmp (v->steps[k].step, name); k++) {
        }
        if (k == v->nsteps && k < WF_SHOW_STEPS) {
            v->steps[k].step = name;
            v->steps[k].seconds = 0;
            v->nsteps++;
        }
        if (k < v->nsteps) {
            v->steps[k].seconds += t > from ? t - from : 0;
        }
        v->t_last = t;
    }
out:
    vs_json_free (j);
    free (vm);
    free (state);
    free (step);
    return 0;
}

static int
wf_show_item_cb (void *opaque, const struct wf_item_rec *it)
{
    struct wf_list *l = opaque;
    struct wf_vmstat *v = wf_vmstat_of (l, it->item);
    int64_t total = 0;

    if (!v) {
        return set_error (ENOMEM, "out of memory");
    }
    for (size_t k = 0; k < v->nsteps; k++) {
        total += v->steps[k].seconds;
    }
    if (l->json) {
        vs_jw_obj_begin (l->w);
        vs_jw_kv_str (l->w, "vm", it->item);
        vs_jw_kv_str (l->w, "state", it->state);
        vs_jw_kv_u64 (l->w, "bytes_cloned", v->cloned);
        vs_jw_kv_u64 (l->w, "bytes_copied", v->copied);
        vs_jw_kv_u64 (l->w, "disks_converted", v->disks);
        vs_jw_kv_i64 (l->w, "seconds", total);
        vs_jw_key (l->w, "steps");
        vs_jw_arr_begin (l->w);
        for (size_t k = 0; k < v->nsteps; k++) {
            vs_jw_obj_begin (l->w);
            vs_jw_kv_str (l->w, "step", v->steps[k].step);
            vs_jw_kv_i64 (l->w, "seconds", v->steps[k].seconds);
            vs_jw_obj_end (l->w);
        }
        vs_jw_arr_end (l->w);
        if (it->detail) {
            vs_jw_key (l->w, "detail");
            vs_jw_raw (l->w, it->detail);
        }
        vs_jw_obj_end (l->w);
    } else {
        char sh[32], cp[32];

        wf_show_human (sh, sizeof sh, v->cloned);
        wf_show_human (cp, sizeof cp, v->copied);
        vs_sbuf_printf (l->b, "  %-20s %-12s %10s %10s %6" PRId64 "s ",
                        it->item, it->state, sh, cp, total);
        for (size_t k = 0; k < v->nsteps; k++) {
            vs_sbuf_printf (l->b, "%s%s %" PRId64 "s", k ? ", " : "",
                            v->steps[k].step, v->steps[k].seconds);
        }
        vs_sbuf_addch (l->b, '\n');
        if (it->detail) {
            vs_sbuf_printf (l->b, "  %-20s %s\n", "", it->detail);
        }
    }
    return 0;
}

static int
wf_show_journal_cb (void *opaque, const struct wf_journal_rec *j)
{
    struct wf_list *l = opaque;

    if (l->json) {
        vs_jw_obj_begin (l->w);
        vs_jw_kv_i64 (l->w, "seq", j->seq);
        vs_jw_kv_str (l->w, "vm", j->item);
        vs_jw_kv_str (l->w, "step", j->step);
        vs_jw_kv_str (l->w, "status", wf_journal_status_name (j->status));
        vs_jw_key (l->w, "intent");
        vs_jw_raw (l->w, j->intent);
        if (j->result) {
            vs_jw_key (l->w, "result");
            vs_jw_raw (l->w, j->result);
        }
        vs_jw_kv_i64 (l->w, "seconds", j->t_result ? j->t_result - j->t_intent
                      : 0);
        vs_jw_obj_end (l->w);
    } else {
        vs_sbuf_printf (l->b, "  %-6" PRId64 " %-12s %-10s %-7s %s%s%s\n",
                        j->seq, j->item[0] ? j->item : "(run)", j->step,
                        wf_journal_status_name (j->status), j->intent,
                        j->result ? " -> " : "", j->result ? j->result : "");
    }
    return 0;
}

int
vmshift_runs_show (struct vmshift_handle *h, const struct vmshift_run_opts *o,
                   int64_t run_id, int json, char **out)
{
    struct wf_store *s;
    struct wf_run_rec rec;
    struct sbuf b;
    struct jsonw w;
    struct wf_list l = { .w = &w, .b = &b, .json = json != 0 };
    char t1[32], t2[32], *snap = NULL;
    int e;

    vs_api_enter (h);
    if (!out || (e = wf_api_opts (o, "vmshift_runs_show")) < 0) {
        return set_error (EINVAL, "vmshift_runs_show: bad arguments");
    }
    *out = NULL;
    if ((e = wf_store_open (o->store, &s)) < 0) {
        return e;
    }
    if ((e = wf_run_get (s, run_id, &rec)) < 0) {
        wf_store_close (s);
        return e;
    }
    /* the name of its snapshots (ONTAP, vCenter), taken or to come:
     * with the store's ID, or the one its journal holds */
    if (strcmp (rec.kind, "migrate") == 0 &&
        (e = wf_run_snap_name (s, run_id, &snap)) < 0) {
        wf_run_rec_clear (&rec);
        wf_store_close (s);
        return e;
    }
    wf_time (rec.created, t1, sizeof t1);
    wf_time (rec.updated, t2, sizeof t2);
    vs_sbuf_init (&b, 64 << 20);
    vs_jw_init (&w, &b, json != 0);
    if (json) {
        vs_jw_obj_begin (&w);
        vs_jw_kv_i64 (&w, "id", rec.id);
        vs_jw_kv_str (&w, "blueprint", rec.name);
        vs_jw_kv_str (&w, "state", rec.state);
        vs_jw_kv_bool (&w, "test", (rec.flags & WF_RUN_TEST) != 0);
        vs_jw_kv_str (&w, "owner", rec.owner);
        vs_jw_kv_bool (&w, "abort_requested", rec.abort_requested);
        vs_jw_kv_str (&w, "created", t1);
        vs_jw_kv_str (&w, "updated", t2);
        if (snap) {
            vs_jw_kv_str (&w, "snapshot", snap);
        }
        if (rec.detail) {
            vs_jw_key (&w, "detail");
            vs_jw_raw (&w, rec.detail);
        }
        vs_jw_key (&w, "vms");
        vs_jw_arr_begin (&w);
    } else {
        vs_sbuf_printf (&b, "run %" PRId64 ": blueprint '%s', %s%s, created "
                        "%s, updated %s\n", rec.id, rec.name, rec.state,
                        rec.flags & WF_RUN_TEST ? " (test)" : "", t1, t2);
        if (snap) {
            vs_sbuf_printf (&b, "snapshot name: %s\n", snap);
        }
        if (rec.detail) {
            vs_sbuf_printf (&b, "detail: %s\n", rec.detail);
        }
        vs_sbuf_printf (&b, "vms:\n  %-20s %-12s %10s %10s %7s %s\n", "VM",
                        "STATE", "SHARED", "COPIED", "TIME", "STEPS");
    }
    l.created = rec.created;
    e = wf_journal_list (s, run_id, wf_show_bytes_cb, &l);
    if (e == 0) {
        e = wf_event_list (s, run_id, 0, wf_show_event_cb, &l);
    }
    if (e == 0) {
        e = wf_item_list (s, run_id, wf_show_item_cb, &l);
    }
    if (json) {
        vs_jw_arr_end (&w);
        vs_jw_key (&w, "journal");
        vs_jw_arr_begin (&w);
    } else {
        vs_sbuf_addstr (&b, "journal:\n");
    }
    if (e == 0) {
        e = wf_journal_list (s, run_id, wf_show_journal_cb, &l);
    }
    if (json) {
        vs_jw_arr_end (&w);
        vs_jw_obj_end (&w);
        vs_sbuf_addch (&b, '\n');
    }
    wf_run_rec_clear (&rec);
    free (snap);
    wf_store_close (s);
    for (size_t i = 0; i < l.nvs; i++) {
        free (l.vs[i].vm);
    }
    free (l.vs);
    *out = vs_sbuf_detach (&b, NULL);
    if (e == 0 && !*out) {
        e = set_error (ENOMEM, "out of memory");
    }
    return e;
}
