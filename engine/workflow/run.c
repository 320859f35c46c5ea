/* A migration run (docs/internals/workflow.md): a step function over the
 * state tables of states.c.  Each call does one phase for every VM that
 * is ready for it; between calls (the safe points) it renews the lease
 * and reads the abort flag.  Every side effect is journalled before
 * (intent) and after (result), so a run killed anywhere is resumed from
 * the journal: done steps are skipped, half-done ones are completed (a
 * target that exists) or done again (the engine removes a dead process's
 * temporaries), and cleanup removes exactly what the journal says was
 * made. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "engine/backend/backend.h"
#include "engine/base/error.h"
#include "engine/base/json.h"
#include "engine/base/jsonw.h"
#include "engine/base/sbuf.h"
#include "engine/convert.h"
#include "engine/exec/beio.h"
#include "engine/location.h"
#include "engine/vcenter-int.h"
#include "engine/workflow/run.h"
#include "engine/workflow/vcsource.h"
#include "formats/formats.h"
#include "hypervisors/hv.h"
#include "hypervisors/libvirt-conn/libvirt-conn.h"
#include "ontap/ontap.h"

#define WF_LEASE_TTL 3600
#define WF_FILE_MAX (4 << 20)

struct wf_disk {
    char *source;               /* location */
    char *target;               /* location */
    char *rel;                  /* target path below the run's location */
    bool done;
    bool recovered;             /* put in place by a killed process */
};

struct wf_vmr {
    const struct wf_bp_vm *bv;
    enum wf_vm_state st;
    char *tname;                /* name at the target */
    char *vmx;                  /* location of the .vmx */
    struct vmshift_vm *vm;
    struct wf_disk *disks;
    size_t ndisks;
    char *reason;
    int lv_id;                  /* read back: domain id, -1 */
    char lv_state[16];
    /* bytes of its disks (events): placed so far of b_total; b0_* of
     * disks converted before this process (from the journal) */
    uint64_t b_total, b_done, b_cloned, b_copied, b0_cloned, b0_copied;
    /* where it goes: the target location from its disks' volume
     * (wf_vm_place); vol its index in r->vols, -1 when not on ONTAP */
    char *loc;
    char *place_problem;
    char *volname;
    int vol;
    /* vCenter source */
    char *facts;                /* the VM's inventory (journalled) */
    char *vc_problem;           /* why there are no facts */
    struct hv_vm *model;        /* built from the facts */
};

/* One ONTAP volume of the wave (docs/blueprint.md "VMs on several
 * volumes"): every disk of a VM is on one, the VM's target on the same
 * (ONTAP clones only within a volume), and the run takes one snapshot of
 * each, all named r->snap_name. */
struct wf_vol {
    char *loc;                  /* ontap://PROFILE/VOLUME */
    char *root;                 /* its VMs' target location: a root of
                                 * wf_open_loc's cache */
    struct loc_handle h;        /* opened on first use */
};

/* A fact: the record of something the run looked up on the cluster (a
 * volume, a qtree) or made (its snapshot), kept so that no later step or
 * process of the run asks for it again (docs/internals/ontap-flow.md,
 * "Facts handed over"). */
struct wf_fact {
    char *kind;                 /* "volume", "qtree", "snapshot",
                                 * "stale-snapshots" */
    char *key;                  /* "ontap://PROFILE/VOLUME[/QTREE]" */
    char *record;               /* ontap_*_record JSON, or "{}" */
    int64_t seq;                /* its "fact" entry; 0: not journalled
                                 * yet; -1: never (kept elsewhere) */
};

struct wf_run {
    struct vmshift_handle *h;
    struct wf_store *s;
    int64_t id;
    bool test;
    enum wf_run_state st;
    enum wf_phase phase;
    char *doc;
    struct wf_blueprint bp;
    const char *location;       /* bp.location or bp.test_location, as
                                 * written: may hold {volume}, or be NULL
                                 * (each VM's is wf_vmr.loc) */
    struct wf_vmr *vms;
    size_t n;
    char owner[300];
    char lease[128];
    vmshift_event_fn ev;
    void *opaque;
    vmshift_run_event_fn ev2;   /* the same as a struct, and more */
    /* the datastore: the blueprint's, or (vCenter source) the ONTAP
     * volume the disks are on; NULL when unknown */
    char *datastore;
    /* vCenter source */
    bool vcs;
    char *inv;                  /* the inventory read for this process */
    struct vmshift_vcenter *vc;
    /* ONTAP source */
    bool ontap;
    char *snap_name;
    struct hv_lvc *lvc;
    struct loc_handle cache[2];     /* target location, datastore */
    /* the wave's ONTAP volumes: one snapshot each (wf_vol_*) */
    struct wf_vol *vols;
    size_t nvols;
    /* preflight: the target's qtrees and their styles (-1: none yet),
     * and an ONTAP client per target volume */
    struct wf_ontap **qto;
    size_t nqto;
    struct { char *name; int style; } *qt;
    size_t nqt;
    int tx;                     /* depth of wf_tx_begin */
    /* what the run looked up on the cluster (wf_fact_*) */
    struct wf_fact *facts;
    size_t nfacts;
    bool facts_off;             /* dropped: this process asks again */
    uint64_t intents0;          /* wf_intents when the run was set up */
    uint64_t step_intents;      /* the conversion's (its threads') */
    struct vmshift_run_stats stats; /* this process's share (the bench) */
};

/* ------------------------------------------------------------- events */

/* An event: kept in the store unless it is only for the watcher
 * (keep false: "status", "progress"), and given to the callbacks (the
 * old on_event gets only the kept ones). */
static void
wf_event_x (struct wf_run *r, const struct wf_vmr *v, const char *step,
            const char *msg, bool keep)
{
    struct sbuf b;
    struct jsonw w;
    char *s;
    bool bytes = v && (v->b_total || v->b_cloned || v->b_copied);

    vs_sbuf_init (&b, 8192);
    vs_jw_init (&w, &b, false);
    vs_jw_obj_begin (&w);
    vs_jw_kv_i64 (&w, "run", r->id);
    vs_jw_kv_i64 (&w, "time", (int64_t) time (NULL));
    if (v) {
        vs_jw_kv_str (&w, "vm", v->bv->name);
        vs_jw_kv_str (&w, "state", wf_vm_state_name (v->st));
    } else {
        vs_jw_kv_str (&w, "state", wf_run_state_name (r->st));
    }
    vs_jw_kv_str (&w, "step", step);
    if (msg) {
        vs_jw_kv_str (&w, "message", msg);
    }
    if (bytes) {
        vs_jw_kv_u64 (&w, "bytes_total", v->b_total);
        vs_jw_kv_u64 (&w, "bytes_done", v->b_done);
        vs_jw_kv_u64 (&w, "bytes_cloned", v->b_cloned);
        vs_jw_kv_u64 (&w, "bytes_copied", v->b_copied);
    }
    vs_jw_obj_end (&w);
    s = vs_sbuf_detach (&b, NULL);
    if (s) {
        char line[2048];

        if (keep && r->id > 0 && wf_event_add (r->s, r->id, s) < 0) {
            clear_error ();     /* progress is not worth failing a run */
        }
        snprintf (line, sizeof line, "run %" PRId64 ": %-16s %s%s%s",
                  r->id, v ? v->bv->name : "(run)", step, msg ? ": " : "",
                  msg ? msg : "");
        if (r->ev && keep) {
            r->ev (r->opaque, s, line);
        }
        if (r->ev2) {
            struct vmshift_run_event e = {
                .struct_size = sizeof e, .run = r->id,
                .time = (int64_t) time (NULL), .vm = v ? v->bv->name : NULL,
                .state = v ? wf_vm_state_name (v->st)
                           : wf_run_state_name (r->st),
                .step = step, .message = msg, .json = s, .line = line,
            };

            if (v) {
                e.bytes_total = v->b_total;
                e.bytes_done = v->b_done;
                e.bytes_cloned = v->b_cloned;
                e.bytes_copied = v->b_copied;
            }
            r->ev2 (r->opaque, &e);
        }
        free (s);
    }
}

static void
wf_event (struct wf_run *r, const struct wf_vmr *v, const char *step,
          const char *msg)
{
    wf_event_x (r, v, step, msg, true);
}

/* ---------------------------------------------------------- JSON bits */

static char *
wf_obj2 (const char *k1, const char *v1, const char *k2, const char *v2)
{
    struct sbuf b;
    struct jsonw w;

    vs_sbuf_init (&b, 16384);
    vs_jw_init (&w, &b, false);
    vs_jw_obj_begin (&w);
    vs_jw_kv_str (&w, k1, v1);
    if (k2) {
        vs_jw_kv_str (&w, k2, v2);
    }
    vs_jw_obj_end (&w);
    return vs_sbuf_detach (&b, NULL);
}

static char *
wf_json_str (const char *json, const char *key)
{
    struct json_val *v = NULL;
    char *out = NULL;

    if (json && vs_json_parse (json, strlen (json), "journal", &v) == 0) {
        if (vs_json_opt_str (v, key, &out) < 0) {
            out = NULL;
        }
    }
    vs_json_free (v);
    clear_error ();
    return out;
}

/* ------------------------------------------------------ transactions */

/* The store's transactions do not nest; the run's do, so that a phase can
 * put the state changes of many VMs and the intents of all their effects
 * into one commit (one sync of the store, docs/internals/store.md). */
static int
wf_tx_begin (struct wf_run *r)
{
    int e;

    if (r->tx++ > 0) {
        return 0;
    }
    if ((e = wf_store_begin (r->s)) < 0) {
        r->tx--;
    }
    return e;
}

static int
wf_tx_commit (struct wf_run *r)
{
    if (--r->tx > 0) {
        return 0;
    }
    return wf_store_commit (r->s);
}

/* An inner rollback leaves the rolling back to the outermost level. */
static void
wf_tx_rollback (struct wf_run *r)
{
    struct vmshift_error_save es;

    if (--r->tx > 0) {
        return;
    }
    error_save (&es);
    wf_store_rollback (r->s);
    error_restore (&es);
}

/* ------------------------------------------------------ state changes */

static int
wf_vm_set (struct wf_run *r, struct wf_vmr *v, enum wf_vm_state to,
           const char *reason)
{
    char *detail = NULL;
    int e;

    if (v->st == to) {
        return 0;
    }
    if ((e = wf_vm_transition (v->bv->name, v->st, to)) < 0) {
        return e;
    }
    if (reason) {
        free (v->reason);
        v->reason = strdup (reason);
    }
    {
        struct sbuf b;
        struct jsonw w;

        vs_sbuf_init (&b, 8192);
        vs_jw_init (&w, &b, false);
        vs_jw_obj_begin (&w);
        vs_jw_kv_str (&w, "target_name", v->tname);
        if (v->reason && (to == WF_VM_FAILED || to == WF_VM_ABORTED)) {
            vs_jw_kv_str (&w, "reason", v->reason);
        }
        if (v->lv_state[0]) {
            vs_jw_kv_str (&w, "domain_state", v->lv_state);
            vs_jw_kv_i64 (&w, "domain_id", v->lv_id);
        }
        vs_jw_obj_end (&w);
        detail = vs_sbuf_detach (&b, NULL);
    }
    /* the state and its event in one commit (with the phase's intents
     * when the phase has a transaction open) */
    if ((e = wf_tx_begin (r)) < 0) {
        free (detail);
        return e;
    }
    e = wf_item_put (r->s, r->id, v->bv->name, wf_vm_state_name (to), detail);
    free (detail);
    if (e < 0) {
        wf_tx_rollback (r);
        return e;
    }
    v->st = to;
    r->stats.state_changes++;
    wf_event (r, v, wf_vm_state_name (to), to == WF_VM_FAILED ? v->reason
              : NULL);
    return wf_tx_commit (r);
}

static int
wf_vm_fail (struct wf_run *r, struct wf_vmr *v, const char *step)
{
    char msg[VMSHIFT_ERROR_MAX + 64];

    snprintf (msg, sizeof msg, "%s: %s", step, vmshift_internal_error_msg ());
    clear_error ();
    return wf_vm_set (r, v, WF_VM_FAILED, msg);
}

static int
wf_run_set (struct wf_run *r, enum wf_run_state to, const char *detail)
{
    int e;

    if (r->st == to) {
        return detail ? wf_run_set_state (r->s, r->id,
                                          wf_run_state_name (to), detail) : 0;
    }
    if ((e = wf_run_transition (r->id, r->st, to)) < 0) {
        return e;
    }
    if ((e = wf_run_set_state (r->s, r->id, wf_run_state_name (to),
                               detail)) < 0) {
        return e;
    }
    r->st = to;
    wf_event (r, NULL, wf_run_state_name (to), NULL);
    return 0;
}

/* ------------------------------------------------------------ journal */

/* Crash points for the resume tests: with VMSHIFT_WF_CRASH_AT=N the
 * process kills itself (SIGKILL, as kill -9 does) at the Nth point, where
 * a point is just after an intent is journalled (before the effect) or
 * just before a result is (after the effect).  VMSHIFT_WF_CRASH_LOG=FILE
 * appends "N STEP intent|result" per point, so a test can pick every
 * kind of step.  Off unless set (tests/integration/migrate-resume.sh). */
static void
wf_crash_point (const char *step, const char *when)
{
    static long count;
    const char *env = getenv ("VMSHIFT_WF_CRASH_AT");
    const char *logf = getenv ("VMSHIFT_WF_CRASH_LOG");

    count++;
    if (logf && *logf) {
        FILE *f = fopen (logf, "a");

        if (f) {
            fprintf (f, "%ld %s %s\n", count, step, when);
            fclose (f);
        }
    }
    if (env && *env && count == strtol (env, NULL, 10)) {
        kill (getpid (), SIGKILL);
    }
}

/* Intents journalled by this process (the bench's journal_intents). */
static __thread uint64_t wf_intents;

static int
wf_j_intent (struct wf_store *s, int64_t run_id, const char *item,
             const char *step, const char *intent, int64_t *seq)
{
    int e = wf_journal_intent (s, run_id, item, step, intent, seq);

    if (e == 0) {
        wf_intents++;
        wf_crash_point (step, "intent");
    }
    return e;
}

static int
wf_j_finish (struct wf_store *s, const char *step, int64_t seq,
             enum wf_journal_status st, const char *result)
{
    if (st == WF_J_DONE) {
        wf_crash_point (step, "result");
    }
    return wf_journal_finish (s, seq, st, result);
}

struct wf_jfind {
    const char *item, *step, *key, *val;
    int64_t seq;
    enum wf_journal_status status;
    char *result;
    char *intent;
};

static int
wf_jfind_cb (void *opaque, const struct wf_journal_rec *j)
{
    struct wf_jfind *f = opaque;
    char *v;

    if (strcmp (j->item, f->item) != 0 || strcmp (j->step, f->step) != 0) {
        return 0;
    }
    v = f->key ? wf_json_str (j->intent, f->key) : NULL;
    if (f->key && (!v || strcmp (v, f->val) != 0)) {
        free (v);
        return 0;
    }
    free (v);
    /* the latest entry for this effect wins */
    f->seq = j->seq;
    f->status = j->status;
    free (f->result);
    f->result = j->result ? strdup (j->result) : NULL;
    free (f->intent);
    f->intent = j->intent ? strdup (j->intent) : NULL;
    return 0;
}

/* The latest journal entry of (item, step) whose intent has key = val. */
static int
wf_jfind (struct wf_run *r, const char *item, const char *step,
          const char *key, const char *val, struct wf_jfind *f)
{
    memset (f, 0, sizeof *f);
    f->item = item;
    f->step = step;
    f->key = key;
    f->val = val;
    return wf_journal_list (r->s, r->id, wf_jfind_cb, f);
}

/* ------------------------------------------------------------- facts */

/* Facts (struct wf_fact) are journalled as run-wide "fact" entries,
 * intent {"kind", "key"}, result the record, done at once.  Not side
 * effects: no crash point, and no durable point of their own either: a
 * new one waits for the next transaction that holds an intent anyway
 * (wf_facts_flush), so the first run pays no sync for them; one lost
 * with the process is looked up again.  The run's snapshot is known from
 * its own "snapshot" entry, and a volume's stale snapshots are known
 * removed when a disk on it has a "clone" entry (the conversion removes
 * them before its first disk): those two are never journalled here.  A
 * run that fails drops its facts (the entries undone): a fact that
 * turned out wrong is then looked up again by the next process. */
static bool
wf_fact_journalled (const char *kind)
{
    return strcmp (kind, "volume") == 0 || strcmp (kind, "qtree") == 0;
}

static const char *
wf_fact (const struct wf_run *r, const char *kind, const char *key)
{
    for (size_t i = 0; !r->facts_off && i < r->nfacts; i++) {
        if (strcmp (r->facts[i].kind, kind) == 0 &&
            strcmp (r->facts[i].key, key) == 0) {
            return r->facts[i].record;
        }
    }
    return NULL;
}

/* Keep a fact (replacing one of the same kind and key); seq as in
 * struct wf_fact. */
static int
wf_fact_put (struct wf_run *r, const char *kind, const char *key,
             const char *record, int64_t seq)
{
    struct wf_fact *f = NULL;
    char *rec;

    if (r->facts_off) {
        return 0;
    }
    for (size_t i = 0; i < r->nfacts && !f; i++) {
        if (strcmp (r->facts[i].kind, kind) == 0 &&
            strcmp (r->facts[i].key, key) == 0) {
            f = &r->facts[i];
        }
    }
    if (f && strcmp (f->record, record) == 0) {
        if (seq > 0) {
            f->seq = seq;
        }
        return 0;
    }
    if (!(rec = strdup (record))) {
        return set_error (ENOMEM, "out of memory");
    }
    if (!f) {
        struct wf_fact *nf = realloc (r->facts,
                                      (r->nfacts + 1) * sizeof *nf);

        if (!nf) {
            free (rec);
            return set_error (ENOMEM, "out of memory");
        }
        r->facts = nf;
        f = &nf[r->nfacts];
        f->kind = strdup (kind);
        f->key = strdup (key);
        f->record = NULL;
        if (!f->kind || !f->key) {
            free (f->kind);
            free (f->key);
            free (rec);
            return set_error (ENOMEM, "out of memory");
        }
        r->nfacts++;
    }
    free (f->record);
    f->record = rec;
    f->seq = wf_fact_journalled (kind) ? seq : -1;
    return 0;
}

/* The facts not journalled yet, inside the caller's transaction (one
 * that holds an intent, so no sync of their own). */
static int
wf_facts_flush (struct wf_run *r)
{
    int e = 0;

    for (size_t i = 0; e == 0 && i < r->nfacts; i++) {
        struct wf_fact *f = &r->facts[i];
        char *in;
        int64_t seq;

        if (f->seq != 0 || r->facts_off) {
            continue;
        }
        in = wf_obj2 ("kind", f->kind, "key", f->key);
        e = in ? wf_journal_intent (r->s, r->id, "", "fact", in, &seq)
               : set_error (ENOMEM, "out of memory");
        if (e == 0) {
            e = wf_journal_finish (r->s, seq, WF_J_DONE, f->record);
        }
        if (e == 0) {
            f->seq = seq;
        }
        free (in);
    }
    return e;
}

static void
wf_facts_free (struct wf_run *r)
{
    for (size_t i = 0; i < r->nfacts; i++) {
        free (r->facts[i].kind);
        free (r->facts[i].key);
        free (r->facts[i].record);
    }
    free (r->facts);
    r->facts = NULL;
    r->nfacts = 0;
}

/* The run failed: its facts are not trusted any more (one may be what
 * made it fail); the next process looks them up again. */
static void
wf_facts_drop (struct wf_run *r)
{
    struct vmshift_error_save es;

    error_save (&es);
    for (size_t i = 0; i < r->nfacts; i++) {
        if (r->facts[i].seq > 0) {
            wf_journal_finish (r->s, r->facts[i].seq, WF_J_UNDONE, NULL);
        }
    }
    wf_facts_free (r);
    r->facts_off = true;
    error_restore (&es);
}

/* "ontap://PROFILE/VOLUME" of an ontap:// location (caller frees), or
 * NULL. */
static char *
wf_vol_key (const char *loc)
{
    const char *p, *v;

    if (strncmp (loc, "ontap://", 8) != 0 || !(p = strchr (loc + 8, '/'))) {
        return NULL;
    }
    v = strchr (p + 1, '/');
    return v ? strndup (loc, (size_t) (v - loc)) : strdup (loc);
}

/* The run's record of the volume of loc, into *out: 0, or -ENOENT. */
static int
wf_vol_known (const struct wf_run *r, const char *loc,
              struct ontap_volume *out)
{
    char *key = wf_vol_key (loc);
    const char *rec = key ? wf_fact (r, "volume", key) : NULL;
    int e = -ENOENT;

    if (rec && (e = ontap_volume_from_record (rec, strlen (rec), "the run's "
                                              "volume record", out)) < 0) {
        clear_error ();
        e = -ENOENT;
    }
    free (key);
    return e;
}

static void
wf_vol_learn (struct wf_run *r, const char *loc, const struct ontap_volume *v)
{
    char *key = wf_vol_key (loc), *rec = NULL;

    if (key && v && ontap_volume_record (v, &rec) == 0) {
        wf_fact_put (r, "volume", key, rec, 0);
    }
    clear_error ();
    free (rec);
    free (key);
}

static int
wf_facts_load_cb (void *opaque, const struct wf_journal_rec *j)
{
    struct wf_run *r = opaque;
    char *kind, *key;
    int e = 0;

    if (j->item[0] != '\0' || j->status != WF_J_DONE || !j->result) {
        return 0;
    }
    if (strcmp (j->step, "snapshot") == 0) {
        /* the run's snapshot: {"name", "uuid"} */
        struct ontap_snapshot sn = { .uuid = "" };
        char *vol = wf_json_str (j->intent, "volume");
        char *uuid = wf_json_str (j->result, "uuid"), *rec = NULL;

        sn.name = wf_json_str (j->result, "name");
        if (vol && uuid && sn.name && ontap_uuid_ok (uuid)) {
            memcpy (sn.uuid, uuid, strlen (uuid) + 1);
            if (ontap_snapshot_record (&sn, &rec) == 0) {
                e = wf_fact_put (r, "snapshot", vol, rec, -1);
            }
        }
        free (rec);
        free (vol);
        free (uuid);
        free (sn.name);
        return e;
    }
    if (strcmp (j->step, "fact") != 0) {
        return 0;
    }
    kind = wf_json_str (j->intent, "kind");
    key = wf_json_str (j->intent, "key");
    if (kind && key && wf_fact_journalled (kind)) {
        e = wf_fact_put (r, kind, key, j->result, j->seq);
    }
    free (kind);
    free (key);
    return e;
}

/* ------------------------------------------------------------ retries */

/* A remote step that failed retryably (the library's error class says
 * so: busy, a lost connection, a server error; never its message) is
 * tried again up to WF_RETRIES more times, waiting WF_RETRY_WAIT_S, then
 * twice that each time (1 s, 2 s, 4 s): a few seconds over a passing
 * fault, bounded (docs/blueprint.md, "Retries"). */
#define WF_RETRIES 3
#define WF_RETRY_WAIT_S 1
/* How often a conversion asks the store whether the run is to abort. */
#define WF_ABORT_POLL_S 0.5

static double
wf_now (void)
{
    struct timespec ts;

    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static bool
wf_abort_requested (struct wf_run *r)
{
    struct wf_run_rec rec;
    bool a = false;

    if (wf_run_get (r->s, r->id, &rec) == 0) {
        a = rec.abort_requested;
        wf_run_rec_clear (&rec);
    }
    clear_error ();
    return a;
}

static unsigned
wf_retry_wait (unsigned attempt)
{
    return WF_RETRY_WAIT_S << (attempt > 1 ? attempt - 1 : 0);
}

/* Say that attempt (1-based, the one that failed) is followed by
 * another, and why: a "retry" event (kept in the store).  what names
 * the effect ("disk 'X'", "snapshot 'S'"). */
static void
wf_retry_event (struct wf_run *r, const struct wf_vmr *v, const char *what,
                unsigned attempt, const char *why)
{
    char msg[VMSHIFT_ERROR_MAX + 300];

    snprintf (msg, sizeof msg, "%s: attempt %u of %u failed (%s); again in "
              "%u s", what, attempt, WF_RETRIES + 1, why,
              wf_retry_wait (attempt));
    wf_event (r, v, "retry", msg);
}

/* Wait before attempt + 1; false when the run is asked to abort
 * meanwhile (the store is read every WF_ABORT_POLL_S). */
static bool
wf_backoff (struct wf_run *r, unsigned attempt)
{
    double end = wf_now () + wf_retry_wait (attempt);

    while (wf_now () < end) {
        if (wf_abort_requested (r)) {
            return false;
        }
        usleep ((useconds_t) (WF_ABORT_POLL_S * 1e6));
    }
    return !wf_abort_requested (r);
}

/* After a failed remote step (the thread's error): whether to try it
 * again, having said so and waited.  The error is kept when not. */
static bool
wf_retry (struct wf_run *r, const struct wf_vmr *v, const char *what,
          unsigned attempt)
{
    struct vmshift_error_info ei;
    struct vmshift_error_save es;

    vmshift_error_info_init (&ei);
    if (attempt > WF_RETRIES || vmshift_get_error_info (&ei) < 0 ||
        !ei.retryable) {
        return false;
    }
    error_save (&es);
    wf_retry_event (r, v, what, attempt, es.msg);
    if (!wf_backoff (r, attempt)) {
        error_restore (&es);
        return false;
    }
    clear_error ();
    return true;
}

/* --------------------------------------------------------- locations */

static char *
wf_join (const char *a, const char *b)
{
    char *s = NULL;
    size_t n = strlen (a);

    if (asprintf (&s, "%s%s%s", a, n && a[n - 1] == '/' ? "" : "/", b) < 0) {
        return NULL;
    }
    return s;
}

/* Open a location's backend; path is the location's path on it.  Below
 * the datastore or the run's target location the backend opened first for
 * that root is shared (for ontap:// one REST client and one NFS mount per
 * root, not per file); close with wf_close_loc. */
static int
wf_open_loc (struct wf_run *r, const char *loc, struct loc_handle *l)
{
    memset (l, 0, sizeof *l);
    /* the run's location, the datastore, then each volume's target */
    for (size_t i = 0; i < 2 + r->nvols; i++) {
        const char *root = i == 0 ? r->location : i == 1 ? r->datastore
                         : r->vols[i - 2].root;
        struct loc_handle *c = i < 2 ? &r->cache[i] : &r->vols[i - 2].h;
        size_t n = root ? strlen (root) : 0;
        const char *rest = loc + n;
        int e;

        if (!root || strncmp (loc, root, n) != 0 || (*rest && *rest != '/') ||
            vs_loc_kind_of (loc) == LOC_LOCAL) {
            continue;
        }
        if (!c->be && vs_loc_kind_of (root) == LOC_ONTAP) {
            /* the volume as the run knows it, else looked up (and
             * known from then on) */
            struct ontap_volume kv = { .uuid = "" };
            bool known = wf_vol_known (r, root, &kv) == 0;

            e = vs_loc_ontap_open_known (r->h, root, known ? &kv : NULL, c);
            ontap_volume_release (&kv);
            if (e < 0) {
                return e;
            }
            if (!known) {
                wf_vol_learn (r, root, vs_loc_ontap_volume (c));
            }
        }
        if (!c->be && (e = vs_loc_open (r->h, root, c)) < 0) {
            return e;
        }
        l->be = c->be;
        l->path = *rest ? wf_join (c->path, rest + 1) : strdup (c->path);
        return l->path ? 0 : set_error (ENOMEM, "out of memory");
    }
    return vs_loc_open (r->h, loc, l);
}

static bool
wf_cached_be (const struct wf_run *r, const struct backend *be)
{
    for (size_t i = 0; i < r->nvols; i++) {
        if (be == r->vols[i].h.be) {
            return true;
        }
    }
    return be == r->cache[0].be || be == r->cache[1].be;
}

static void
wf_close_loc (struct wf_run *r, struct loc_handle *l)
{
    if (l->be && wf_cached_be (r, l->be)) {
        free (l->path);
        memset (l, 0, sizeof *l);
        return;
    }
    vs_loc_close (l);
}

/* Files a phase writes: every intent is journalled first, in one commit,
 * then the files are written (docs/internals/workflow.md). */
struct wf_file {
    struct wf_vmr *v;
    char *loc;                  /* location of the file */
    char *text;
    int64_t seq;
};

struct wf_files {
    struct wf_file *f;
    size_t n, cap;
};

/* Add REL (below the VM's target location) with TEXT (taken, also on error). */
static int
wf_files_add (struct wf_run *r, struct wf_files *fs, struct wf_vmr *v,
              const char *rel, char *text)
{
    char *loc = wf_join (v->loc, rel);

    (void) r;

    if (!loc || !text) {
        free (loc);
        free (text);
        return set_error (ENOMEM, "out of memory");
    }
    if (fs->n == fs->cap) {
        size_t cap = fs->cap ? fs->cap * 2 : 64;
        struct wf_file *nf = realloc (fs->f, cap * sizeof *nf);

        if (!nf) {
            free (loc);
            free (text);
            return set_error (ENOMEM, "out of memory");
        }
        fs->f = nf;
        fs->cap = cap;
    }
    fs->f[fs->n++] = (struct wf_file) { .v = v, .loc = loc, .text = text };
    return 0;
}

/* Drop the files from index from on (a VM that failed while they were
 * being put together). */
static void
wf_files_truncate (struct wf_files *fs, size_t from)
{
    while (fs->n > from) {
        fs->n--;
        free (fs->f[fs->n].loc);
        free (fs->f[fs->n].text);
    }
}

static void
wf_files_free (struct wf_files *fs)
{
    wf_files_truncate (fs, 0);
    free (fs->f);
    memset (fs, 0, sizeof *fs);
}

/* One commit (one sync) for the intents of every file. */
static int
wf_files_intents (struct wf_run *r, struct wf_files *fs)
{
    int e;

    if (fs->n == 0) {
        return 0;
    }
    if ((e = wf_tx_begin (r)) < 0) {
        return e;
    }
    /* facts learnt since the last durable point go with these intents */
    if ((e = wf_facts_flush (r)) < 0) {
        wf_tx_rollback (r);
        return e;
    }
    for (size_t i = 0; i < fs->n; i++) {
        char *intent = wf_obj2 ("file", fs->f[i].loc, NULL, NULL);

        e = intent ? wf_j_intent (r->s, r->id, fs->f[i].v->bv->name, "write",
                                  intent, &fs->f[i].seq) : -ENOMEM;
        free (intent);
        if (e < 0) {
            wf_tx_rollback (r);
            return e;
        }
    }
    return wf_tx_commit (r);
}

/* ---------------------------------------------------------- preflight */

struct wf_lck {
    const char *vmx_base;
    char found[256];
};

static int
wf_lck_cb (void *opaque, const char *name)
{
    struct wf_lck *c = opaque;
    size_t n = strlen (name);

    if (c->found[0]) {
        return 0;
    }
    if (strncmp (name, ".lck-", 5) == 0 ||
        (n > 8 && strcmp (name + n - 8, ".vmx.lck") == 0)) {
        snprintf (c->found, sizeof c->found, "%s", name);
    }
    return 0;
}

static char *
wf_dir_of (const char *loc)
{
    const char *slash = strrchr (loc, '/');

    return slash ? strndup (loc, (size_t) (slash - loc)) : strdup (".");
}

/* A VM that looks powered on: ESXi keeps .lck-* files beside a running
 * VM's files on NFS; hosted products keep NAME.vmx.lck. */
static int
wf_lock_file (struct wf_run *r, const char *vmx, char *found, size_t n)
{
    struct loc_handle l;
    struct wf_lck c = { 0 };
    char *dir = wf_dir_of (vmx);
    int e;

    found[0] = '\0';
    if (!dir) {
        return set_error (ENOMEM, "out of memory");
    }
    e = wf_open_loc (r, dir, &l);
    if (e == 0) {
        e = backend_list (l.be, l.path, wf_lck_cb, &c);
        if (e == -ENOTSUP) {
            clear_error ();
            e = 0;
        }
        wf_close_loc (r, &l);
    }
    if (e == 0 && c.found[0]) {
        snprintf (found, n, "%s/%s", dir, c.found);
    }
    free (dir);
    return e;
}

static int
wf_loc_exists (struct wf_run *r, const char *loc)
{
    struct loc_handle l;
    int e = wf_open_loc (r, loc, &l);

    if (e < 0) {
        return e;
    }
    e = backend_exists (l.be, l.path);
    wf_close_loc (r, &l);
    return e;
}

static const char *
wf_vm_format (const struct wf_run *r, const struct wf_vmr *v)
{
    if (v->bv->format) {
        return v->bv->format;
    }
    return r->bp.format ? r->bp.format : wf_bp_default_format (r->bp.hypervisor);
}

static struct hv_vm *
wf_model (const struct wf_vmr *v)
{
    return v->model ? v->model : vs_vm_model (v->vm);
}

/* vCenter source: the model from the VM's facts; what keeps it from
 * going into problems. */
static int
wf_vc_resolve (struct wf_run *r, struct wf_vmr *v, struct sbuf *problems)
{
    int e;

    if (!v->facts) {
        return set_error (ENOENT, "%s", v->vc_problem ? v->vc_problem
                          : "no inventory of this VM");
    }
    if (!v->model && (e = wf_vc_model (v->facts, &v->model, problems)) < 0) {
        return e;
    }
    (void) r;                   /* its disks' volume: wf_vm_place */
    return 0;
}

static int wf_vol_add (struct wf_run *r, const char *profile,
                       const char *volume, const char *root);

/* Where the VM goes: the target location for its disks' ONTAP volume
 * (docs/blueprint.md "VMs on several volumes"), its volume joining the
 * run's.  A VM whose disks are on two volumes, or whose volume has no
 * location, keeps the blueprint's text as its location and the reason as
 * a problem, which blocks it. */
static int
wf_vm_place (struct wf_run *r, struct wf_vmr *v)
{
    struct ontap_location l, first = { 0 };
    char *why = NULL;
    size_t fk = 0;              /* the disk that gave first */
    int e = 0;

    v->vol = -1;
    for (size_t k = 0; k < v->ndisks && !why; k++) {
        if (vs_loc_kind_of (v->disks[k].source) != LOC_ONTAP ||
            ontap_location_parse (v->disks[k].source, &l) < 0) {
            clear_error ();     /* the conversion says what is wrong */
            continue;
        }
        if (!first.volume) {
            first = l;
            fk = k;
            continue;
        }
        if (strcmp (l.profile, first.profile) != 0 ||
            strcmp (l.volume, first.volume) != 0) {
            if (asprintf (&why, "vms.%s: disk '%s' is on volume '%s' of "
                          "profile '%s', its disk '%s' on '%s' of '%s': "
                          "ONTAP clones only within a volume, so one VM's "
                          "disks must share one", v->bv->name,
                          v->disks[k].source, l.volume, l.profile,
                          v->disks[fk].source, first.volume,
                          first.profile) < 0) {
                why = NULL;
                e = set_error (ENOMEM, "out of memory");
            }
        }
        ontap_location_release (&l);
    }
    if (e == 0 && !why &&
        wf_bp_location_for (&r->bp, r->test, first.profile, first.volume,
                            &v->loc) < 0) {
        why = strdup (vmshift_internal_error_msg ());
        clear_error ();
        if (!why) {
            e = set_error (ENOMEM, "out of memory");
        }
    }
    if (e == 0 && !why && first.volume) {
        v->volname = strdup (first.volume);
        e = v->volname ? wf_vol_add (r, first.profile, first.volume, v->loc)
                       : set_error (ENOMEM, "out of memory");
        if (e >= 0) {
            v->vol = e;
            e = 0;
        }
    }
    ontap_location_release (&first);
    if (e == 0 && !v->loc) {
        v->loc = strdup (r->location ? r->location : "(target.locations)");
        e = v->loc ? 0 : set_error (ENOMEM, "out of memory");
    }
    v->place_problem = why;
    return e;
}

/* Load the VM and compute its disks; check the source side. */
static int
wf_vm_resolve (struct wf_run *r, struct wf_vmr *v, struct sbuf *problems)
{
    struct hv_vm *m;
    char *dir = NULL;
    int e;

    if (r->vcs) {
        if ((e = wf_vc_resolve (r, v, problems)) < 0) {
            return e;
        }
    } else if (!v->vm) {
        /* through the datastore's backend: one NFS mount for the run, not
         * one per file */
        struct loc_handle l;

        if ((e = wf_open_loc (r, v->vmx, &l)) < 0) {
            return e;
        }
        e = vs_vm_load_on (r->h, l.be, l.path, v->vmx, &v->vm);
        wf_close_loc (r, &l);
        if (e < 0) {
            return e;
        }
    }
    m = wf_model (v);
    if (!v->disks) {
        size_t nd = 0;

        dir = r->vcs ? strdup ("") : wf_dir_of (v->vmx);
        v->disks = calloc (m->disks.len + 1, sizeof *v->disks);
        if (!dir || !v->disks) {
            free (dir);
            return set_error (ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < m->disks.len; i++) {
            const struct hv_disk *d = &m->disks.ptr[i];
            struct wf_disk *wd = &v->disks[nd];

            if (d->kind != HV_DEV_DISK) {
                continue;
            }
            if (!r->vcs &&
                (!d->file || d->file[0] == '/' || strstr (d->file, ".."))) {
                free (dir);
                return set_error (ENOTSUP, "'%s': disk '%s' is not in the "
                                  "VM's folder", v->vmx,
                                  d->file ? d->file : "");
            }
            if (d->rdm) {
                continue;       /* not converted: a problem (devices) */
            }
            /* a vCenter disk's file is its location already */
            wd->source = r->vcs ? strdup (d->file) : wf_join (dir, d->file);
            if (asprintf (&wd->rel, "%s/%s.%s", v->tname, d->target_name,
                          wf_vm_format (r, v)) < 0) {
                wd->rel = NULL;
            }
            if (!wd->source || !wd->rel) {
                free (dir);
                return set_error (ENOMEM, "out of memory");
            }
            nd++;
        }
        v->ndisks = nd;
        free (dir);
        /* the targets: below the location of the disks' volume */
        if ((e = wf_vm_place (r, v)) < 0) {
            return e;
        }
        for (size_t k = 0; k < nd; k++) {
            v->disks[k].target = wf_join (v->loc, v->disks[k].rel);
            if (!v->disks[k].target) {
                return set_error (ENOMEM, "out of memory");
            }
        }
    }
    if (v->place_problem) {
        vs_sbuf_printf (problems, "%s\n", v->place_problem);
    }
    /* Networks: every NIC mapped (a test run maps them all away). */
    if (!r->test) {
        for (size_t i = 0; i < m->nics.len; i++) {
            if (!hv_netmap_find (&r->bp.map, m->nics.ptr[i].network)) {
                vs_sbuf_printf (problems, "network '%s' (ethernet%u) has no "
                                "mapping in network_map\n",
                                m->nics.ptr[i].network, m->nics.ptr[i].index);
            }
        }
    }
    for (size_t i = 0; i < v->ndisks; i++) {
        e = wf_loc_exists (r, v->disks[i].source);
        if (e == 0) {
            vs_sbuf_printf (problems, "disk '%s' is missing\n",
                            v->disks[i].source);
        } else if (e < 0) {
            return e;
        }
    }
    return 0;
}

static int wf_definition (struct wf_run *r, struct wf_vmr *v, char **text,
                          struct hv_str_vec *notes);
static int wf_qtree_check (struct wf_run *r, struct wf_vmr *v,
                           struct sbuf *problems);

/* What will not carry over to the target (docs/blueprint.md, "What blocks
 * a VM"): each a problem naming the VM; and the target definition as the
 * define step will write it, so that its errors (the target's bus and
 * controller limits, hypervisors/targets.def) come before anything is
 * converted.  The model's warnings and the definition's notes go to
 * notes (may be NULL). */
static int
wf_vm_devices (struct wf_run *r, struct wf_vmr *v, struct sbuf *problems,
               struct sbuf *notes)
{
    struct hv_vm *m = wf_model (v);
    const char *vn = v->bv->name;
    struct hv_str_vec dn = { 0 };
    char *text = NULL;
    int e;

    for (size_t i = 0; i < m->disks.len; i++) {
        const struct hv_disk *d = &m->disks.ptr[i];
        const char *f = d->file ? d->file : "";
        char slot[40];

        snprintf (slot, sizeof slot, "%s%u:%u", hv_bus_name (d->bus),
                  d->ctrl, d->unit);
        if (d->kind == HV_DEV_PASSTHRU) {
            vs_sbuf_printf (problems, "vms.%s: %s is a SCSI passthrough "
                            "device ('%s'): it does not carry over\n", vn,
                            slot, f);
        } else if (d->kind == HV_DEV_DISK && d->rdm) {
            vs_sbuf_printf (problems, "vms.%s: disk %s ('%s') is a raw "
                            "device mapping: its data is on a LUN, not in "
                            "the datastore, and does not carry over\n", vn,
                            slot, f);
        } else if (d->kind == HV_DEV_DISK && d->mode != HV_MODE_PERSISTENT &&
                   d->mode != HV_MODE_INDEP_PERSISTENT) {
            vs_sbuf_printf (problems, "vms.%s: disk %s ('%s') is %s: the "
                            "target keeps every write, so the mode does not "
                            "carry over\n", vn, slot, f,
                            hv_mode_name (d->mode));
        }
    }
    for (size_t i = 0; i < m->ctrls.len; i++) {
        const struct hv_controller *c = &m->ctrls.ptr[i];
        const char *bn = hv_bus_name (c->bus);
        const char *share = hv_vmx_getf (&m->vmx, "%s%u.sharedBus", bn,
                                         c->index);

        if (share && strcasecmp (share, "none") != 0) {
            vs_sbuf_printf (problems, "vms.%s: controller %s%u shares its "
                            "bus ('%s', clustered disks): bus sharing does "
                            "not carry over\n", vn, bn, c->index, share);
        }
    }
    for (unsigned k = 0; k < 16; k++) {
        if (hv_vmx_bool (&m->vmx, false, "pciPassthru%u.present", k)) {
            vs_sbuf_printf (problems, "vms.%s: pciPassthru%u is a PCI "
                            "passthrough device: it does not carry over\n",
                            vn, k);
        }
    }
    for (size_t i = 0; notes && i < m->warnings.len; i++) {
        vs_sbuf_printf (notes, "vms.%s: %s\n", vn, m->warnings.ptr[i]);
    }
    e = wf_definition (r, v, &text, &dn);
    if (e < 0) {
        vs_sbuf_printf (problems, "vms.%s: target definition (%s): %s\n", vn,
                        hv_target_of (r->bp.hypervisor)->title,
                        vmshift_internal_error_msg ());
        clear_error ();
    }
    for (size_t i = 0; notes && i < dn.len; i++) {
        vs_sbuf_printf (notes, "vms.%s: %s\n", vn, dn.ptr[i]);
    }
    hv_str_vec_free (&dn);
    free (text);
    return 0;
}

/* Problems of one VM, one per line, into problems (empty: none); notes
 * that do not block it into notes (may be NULL). */
static int
wf_vm_preflight (struct wf_run *r, struct wf_vmr *v, struct sbuf *problems,
                 struct sbuf *notes)
{
    char lck[600];
    char *tdir;
    int e;

    if ((e = wf_vm_resolve (r, v, problems)) < 0) {
        return e;
    }
    if ((e = wf_vm_devices (r, v, problems, notes)) < 0 ||
        (e = wf_qtree_check (r, v, problems)) < 0) {
        return e;
    }
    lck[0] = '\0';
    if (!r->vcs && (e = wf_lock_file (r, v->vmx, lck, sizeof lck)) < 0) {
        return e;
    }
    if (lck[0] && !r->bp.allow_powered_on) {
        vs_sbuf_printf (problems, "looks powered on: lock file '%s' "
                        "(source.allow_powered_on overrides)\n", lck);
    }
    if (v->place_problem) {
        return 0;               /* no target to look at: that is the problem */
    }
    tdir = wf_join (v->loc, v->tname);
    if (!tdir) {
        return set_error (ENOMEM, "out of memory");
    }
    e = wf_loc_exists (r, tdir);
    if (e == 1 && r->id > 0) {
        /* the run's own (resume retries a VM that failed after its
         * folder was made): not a target that was there */
        for (int k = 0; k < 2 && e == 1; k++) {
            struct wf_jfind f;
            int x = wf_jfind (r, v->bv->name, k ? "qtree" : "mkdir", "dir",
                              tdir, &f);

            free (f.result);
            free (f.intent);
            if (x < 0) {
                free (tdir);
                return x;
            }
            if (f.seq > 0 && f.status != WF_J_FAILED &&
                f.status != WF_J_UNDONE) {
                e = 0;
            }
        }
    }
    if (e == 1) {
        vs_sbuf_printf (problems, "target '%s' already exists\n", tdir);
    }
    free (tdir);
    if (e < 0 && e != -ENOENT) {
        return e;
    }
    clear_error ();
    return 0;
}

static int
wf_phase_preflight (struct wf_run *r)
{
    for (size_t i = 0; i < r->n; i++) {
        struct wf_vmr *v = &r->vms[i];
        struct sbuf p;
        char *txt;
        int e;

        if (v->st == WF_VM_FAILED) {
            /* resume retries a VM that failed */
            if ((e = wf_vm_set (r, v, WF_VM_PENDING, NULL)) < 0) {
                return e;
            }
        }
        if (v->st != WF_VM_PENDING) {
            /* a resumed run: load what the later steps need (the VM and
             * its disks); the checks were passed before */
            if (!v->vm && !wf_vm_settled (v->st) &&
                v->st != WF_VM_CLEANED) {
                vs_sbuf_init (&p, 65536);
                e = wf_vm_resolve (r, v, &p);
                vs_sbuf_release (&p);
                if (e < 0 && (e = wf_vm_fail (r, v, "resume")) < 0) {
                    return e;
                }
            }
            continue;
        }
        /* it only reads: a retryable failure is tried again */
        for (unsigned a = 1;; a++) {
            vs_sbuf_init (&p, 65536);
            e = wf_vm_preflight (r, v, &p, NULL);
            txt = vs_sbuf_detach (&p, NULL);
            if (e == 0 || !wf_retry (r, v, "preflight", a)) {
                break;
            }
            free (txt);
        }
        if (e < 0) {
            free (txt);
            if ((e = wf_vm_fail (r, v, "preflight")) < 0) {
                return e;
            }
            continue;
        }
        if (txt && *txt) {
            char *nl = strchr (txt, '\n');

            if (nl) {
                *nl = '\0';
            }
            set_error (EINVAL, "%s", txt);
            free (txt);
            if ((e = wf_vm_fail (r, v, "preflight")) < 0) {
                return e;
            }
            continue;
        }
        free (txt);
        if ((e = wf_vm_set (r, v, WF_VM_READY, NULL)) < 0) {
            return e;
        }
    }
    return 0;
}

/* ------------------------------------------ vCenter source: the VMs */

static int
wf_vc (struct wf_run *r)
{
    return r->vc ? 0 : vmshift_vcenter_open (r->h, r->bp.vcenter, &r->vc);
}

static void
wf_j_finish_err (struct wf_run *r, const char *step, int64_t seq)
{
    struct vmshift_error_save es;
    char *rs;

    error_save (&es);
    rs = wf_obj2 ("error", es.msg, NULL, NULL);
    wf_j_finish (r->s, step, seq, WF_J_FAILED, rs);
    free (rs);
    error_restore (&es);
}

/* Shut every ready VM down: ShutdownGuest to all of them first, then
 * wait for each (one deadline for the wave, not one per VM), powering it
 * off only if the blueprint allows it.  The power state found first goes
 * into the intent, so abort knows whether the run is the one that turned
 * the VM off even when the process died before the result.  Test runs
 * leave the source running. */
struct wf_sd {
    int64_t seq;
    char *was;
    uint64_t start;
    bool active;
};

static int
wf_shutdown_ask (struct wf_run *r, struct wf_vmr *v, struct wf_sd *sd)
{
    struct wf_jfind f;
    char *in;
    bool asked = false;
    int e;

    if ((e = wf_jfind (r, v->bv->name, "shutdown", NULL, NULL, &f)) < 0) {
        return e;
    }
    sd->seq = f.seq;
    if (f.seq > 0 && f.status != WF_J_UNDONE) {
        sd->was = wf_json_str (f.intent, "was");
    }
    free (f.result);
    free (f.intent);
    if (f.seq > 0 && f.status == WF_J_DONE) {
        return 0;               /* done by an earlier process */
    }
    if ((e = wf_vc (r)) < 0) {
        return e;               /* vCenter unreachable: the run stops */
    }
    if (!sd->was && vs_vcenter_power_state (r->vc, v->bv->name,
                                            &sd->was) < 0) {
        return wf_vm_fail (r, v, "shut down");
    }
    if (f.seq == 0 || f.status != WF_J_INTENT) {
        in = wf_obj2 ("vm", v->bv->name, "was", sd->was);
        e = in ? wf_j_intent (r->s, r->id, v->bv->name, "shutdown", in,
                              &sd->seq) : -ENOMEM;
        free (in);
        if (e < 0) {
            return e;
        }
    }
    if (vs_vcenter_shutdown_ask (r->vc, v->bv->name, &asked,
                                 &sd->start) < 0) {
        wf_j_finish_err (r, "shutdown", sd->seq);
        return wf_vm_fail (r, v, "shut down");
    }
    sd->active = true;
    return 0;
}

static int
wf_shutdown_wait (struct wf_run *r, struct wf_vmr *v, struct wf_sd *sd)
{
    bool forced = false;
    char *rs;
    int e;

    e = vs_vcenter_shutdown_wait (r->vc, v->bv->name, sd->start,
                                  r->bp.shutdown_timeout,
                                  r->bp.power_off_after, &forced);
    if (e == -ETIMEDOUT) {
        set_error (ETIMEDOUT, "still powered on %u s after the guest "
                   "shutdown request (is VMware Tools running in it?): shut "
                   "it down in the guest and resume, or set "
                   "source.power_off_after", r->bp.shutdown_timeout);
    }
    if (e < 0) {
        wf_j_finish_err (r, "shutdown", sd->seq);
        return wf_vm_fail (r, v, "shut down");
    }
    rs = wf_obj2 ("was", sd->was, "forced", forced ? "yes" : "no");
    e = wf_j_finish (r->s, "shutdown", sd->seq, WF_J_DONE, rs);
    free (rs);
    wf_event (r, v, "shutdown", strcmp (sd->was, "poweredOn") != 0
              ? "was not running: left as it was"
              : forced ? "powered off after source.shutdown_timeout "
              "(source.power_off_after)" : "shut down (graceful)");
    return e;
}

static int
wf_phase_shutdown (struct wf_run *r)
{
    struct wf_sd *sd;
    int e = 0;

    if (!r->vcs || r->test) {
        return 0;
    }
    if (!(sd = calloc (r->n + 1, sizeof *sd))) {
        return set_error (ENOMEM, "out of memory");
    }
    for (size_t i = 0; e == 0 && i < r->n; i++) {
        if (r->vms[i].st == WF_VM_READY) {
            e = wf_shutdown_ask (r, &r->vms[i], &sd[i]);
        }
    }
    for (size_t i = 0; e == 0 && i < r->n; i++) {
        if (sd[i].active && r->vms[i].st == WF_VM_READY) {
            e = wf_shutdown_wait (r, &r->vms[i], &sd[i]);
        }
    }
    for (size_t i = 0; i < r->n; i++) {
        free (sd[i].was);
    }
    free (sd);
    return e;
}

/* The run's own VM snapshot of every ready VM.  An intent without a
 * result (the process died while vCenter made it) is looked up by name
 * and vmshift's mark before a second one is made. */
static int
wf_phase_vmsnap (struct wf_run *r)
{
    if (!r->vcs || !r->bp.vm_snapshot) {
        return 0;
    }
    for (size_t i = 0; i < r->n; i++) {
        struct wf_vmr *v = &r->vms[i];
        struct wf_jfind f;
        char *id = NULL, *in, *rs;
        int64_t seq;
        int e;

        if (v->st != WF_VM_READY) {
            continue;
        }
        if ((e = wf_jfind (r, v->bv->name, "vm-snapshot", "name",
                           r->snap_name, &f)) < 0) {
            return e;
        }
        free (f.result);
        free (f.intent);
        if (f.seq > 0 && f.status == WF_J_DONE) {
            continue;
        }
        if ((e = wf_vc (r)) < 0) {
            return e;
        }
        seq = f.seq;
        if (seq > 0 && f.status == WF_J_INTENT) {
            e = vs_vcenter_snapshot_find (r->vc, v->bv->name, r->snap_name,
                                          &id);
            if (e == -ENOENT) {
                clear_error ();
            }
        } else {
            in = wf_obj2 ("vm", v->bv->name, "name", r->snap_name);
            e = in ? wf_j_intent (r->s, r->id, v->bv->name, "vm-snapshot",
                                  in, &seq) : -ENOMEM;
            free (in);
            if (e < 0) {
                return e;
            }
        }
        e = id ? 0 : vmshift_vcenter_snapshot_create (r->vc, v->bv->name,
                                                      r->snap_name,
                                                      r->bp.quiesce, &id);
        if (e < 0) {
            wf_j_finish_err (r, "vm-snapshot", seq);
            if ((e = wf_vm_fail (r, v, "VM snapshot")) < 0) {
                return e;
            }
            continue;
        }
        rs = wf_obj2 ("name", r->snap_name, "id", id);
        e = wf_j_finish (r->s, "vm-snapshot", seq, WF_J_DONE, rs);
        free (rs);
        wf_event (r, v, "vm-snapshot", id);
        free (id);
        if (e < 0) {
            return e;
        }
    }
    return 0;
}

/* Remove the run's VM snapshots: of the converted VMs once the disks are
 * in place (all = false), of every VM on cleanup.  Only the id the
 * journal holds, and vmshift_vcenter_snapshot_remove checks vmshift's
 * mark too: a snapshot the run did not make is never removed. */
static int
wf_vmsnap_remove (struct wf_run *r, bool all)
{
    int first = 0;

    if (!r->vcs) {
        return 0;
    }
    for (size_t i = 0; i < r->n; i++) {
        struct wf_vmr *v = &r->vms[i];
        struct wf_jfind f;
        char *id;
        int e;

        if (!all && v->st != WF_VM_CONVERTED) {
            continue;
        }
        if ((e = wf_jfind (r, v->bv->name, "vm-snapshot", "name",
                           r->snap_name, &f)) < 0) {
            return e;
        }
        free (f.intent);
        if (f.seq == 0 || f.status == WF_J_UNDONE) {
            free (f.result);
            continue;
        }
        id = wf_json_str (f.result, "id");
        free (f.result);
        e = wf_vc (r);
        if (e == 0 && !id) {
            /* asked for, never recorded: it may exist */
            e = vs_vcenter_snapshot_find (r->vc, v->bv->name, r->snap_name,
                                          &id);
        }
        if (e == 0) {
            e = vmshift_vcenter_snapshot_remove (r->vc, v->bv->name, id);
        }
        if (e == -ENOENT) {
            clear_error ();     /* gone already */
            e = 0;
        }
        if (e == 0) {
            e = wf_j_finish (r->s, "vm-snapshot", f.seq, WF_J_UNDONE, NULL);
            wf_event (r, v, "vm-snapshot-removed", id);
        }
        free (id);
        if (e < 0 && first == 0) {
            first = e;
            wf_event (r, v, "undo-failed", vmshift_internal_error_msg ());
        }
    }
    return first;
}

/* Abort before the cut-over: a source VM the run shut down is powered on
 * again; one that was off before the run stays off. */
static int
wf_vc_power_back (struct wf_run *r, struct wf_vmr *v)
{
    struct wf_jfind f;
    char *was;
    int e;

    if (!r->vcs) {
        return 0;
    }
    if ((e = wf_jfind (r, v->bv->name, "shutdown", NULL, NULL, &f)) < 0) {
        return e;
    }
    was = wf_json_str (f.intent, "was");
    free (f.result);
    free (f.intent);
    if (f.seq == 0 || f.status == WF_J_UNDONE) {
        free (was);
        return 0;
    }
    if (!was || strcmp (was, "poweredOn") != 0) {
        wf_event (r, v, "note", "the source VM was off before the run: left "
                  "off");
        e = 0;
    } else if ((e = wf_vc (r)) == 0 &&
               (e = vmshift_vcenter_power_on (r->vc, v->bv->name)) == 0) {
        wf_event (r, v, "source-powered-on", "the run had shut it down");
    }
    free (was);
    if (e == 0) {
        e = wf_j_finish (r->s, "shutdown", f.seq, WF_J_UNDONE, NULL);
    }
    return e;
}

/* ----------------------------------------------------------- snapshot */

struct wf_ontap {
    struct ontap_location loc;
    struct ontap_profile *prof;
    struct ontap_client *c;
    struct ontap_volume vol;
};

static int
wf_ontap_open_at (struct wf_run *r, const char *loc, struct wf_ontap *o)
{
    int e;

    memset (o, 0, sizeof *o);
    e = ontap_location_parse (loc, &o->loc);
    if (e == 0) {
        e = ontap_profile_load (r->h->config_path, o->loc.profile,
                                &r->h->log, &o->prof);
    }
    if (e == 0) {
        e = ontap_client_new (o->prof, &r->h->log, &o->c);
    }
    if (e == 0 && wf_vol_known (r, loc, &o->vol) < 0) {
        e = ontap_volume_find (o->c, o->loc.volume, &o->vol);
        if (e == 0) {
            wf_vol_learn (r, loc, &o->vol);
        }
    }
    return e;
}

/* The volume of LOC, ontap://PROFILE/VOLUME with or without a path (a
 * volume's own location has none: ontap_location_parse wants one). */
static int
wf_ontap_open_vol (struct wf_run *r, const char *loc, struct wf_ontap *o)
{
    char *tmp = NULL;
    int e;

    if (asprintf (&tmp, "%s/x", loc) < 0) {
        memset (o, 0, sizeof *o);
        return set_error (ENOMEM, "out of memory");
    }
    /* only the profile and the volume count: the path is not looked at */
    if (strncmp (loc, "ontap://", 8) == 0 && strchr (loc + 8, '/') &&
        strchr (strchr (loc + 8, '/') + 1, '/')) {
        strcpy (tmp, loc);
    }
    e = wf_ontap_open_at (r, tmp, o);
    free (tmp);
    return e;
}

static void
wf_ontap_close (struct wf_run *r, struct wf_ontap *o)
{
    if (o->c) {
        struct ontap_stats st;

        ontap_client_stats (o->c, &st);
        r->stats.rest_requests += st.requests;
    }
    ontap_volume_release (&o->vol);
    ontap_client_free (o->c);
    ontap_profile_free (o->prof);
    ontap_location_release (&o->loc);
}

/* A client of the volume of the target location LOC, opened once per
 * volume and run (the preflight's qtree lookups). */
static int
wf_qtree_client (struct wf_run *r, const char *loc, struct wf_ontap **out)
{
    struct ontap_location l;
    struct wf_ontap *o, **nq;
    int e;

    if ((e = ontap_location_parse (loc, &l)) < 0) {
        return e;
    }
    for (size_t i = 0; i < r->nqto; i++) {
        if (strcmp (r->qto[i]->loc.profile, l.profile) == 0 &&
            strcmp (r->qto[i]->loc.volume, l.volume) == 0) {
            ontap_location_release (&l);
            *out = r->qto[i];
            return 0;
        }
    }
    ontap_location_release (&l);
    o = calloc (1, sizeof *o);
    nq = o ? realloc (r->qto, (r->nqto + 1) * sizeof *nq) : NULL;
    if (!nq) {
        free (o);
        return set_error (ENOMEM, "out of memory");
    }
    r->qto = nq;
    if ((e = wf_ontap_open_at (r, loc, o)) < 0) {
        wf_ontap_close (r, o);
        free (o);
        return e;
    }
    r->qto[r->nqto++] = o;
    *out = o;
    return 0;
}

/* A qtree's record as a fact (key "ontap://" + where, where
 * PROFILE/VOLUME/QTREE or the same with the scheme). */
static void
wf_qtree_learn (struct wf_run *r, const char *where,
                const struct ontap_qtree *qt)
{
    char *key = NULL, *rec = NULL;

    if (asprintf (&key, "%s%s", strncmp (where, "ontap://", 8) == 0 ? ""
                  : "ontap://", where) < 0) {
        return;
    }
    if (ontap_qtree_record (qt, &rec) == 0) {
        wf_fact_put (r, "qtree", key, rec, 0);
    }
    clear_error ();
    free (rec);
    free (key);
}

/* The security style of the qtree a VM's disks go into (the first folder
 * below the volume, as ONTAP's conversion makes it), looked up once per
 * qtree and run: one that exists with another style than the disks'
 * format needs (NTFS for Hyper-V's VHDX, UNIX otherwise) is a problem,
 * unless target.qtree_style is "fix" (the conversion then changes it, as
 * convert --qtree-style fix does).  Nothing is changed here. */
static int
wf_qtree_check (struct wf_run *r, struct wf_vmr *v, struct sbuf *problems)
{
    struct ontap_location l;
    const struct fmt_driver *f;
    enum ontap_security_style want;
    const char *slash;
    char *q = NULL;
    int style = -1, e = 0;
    size_t i;

    if (vs_loc_kind_of (v->loc) != LOC_ONTAP || v->ndisks == 0 ||
        r->bp.qtree_fix || v->place_problem) {
        return 0;
    }
    if (ontap_location_parse (v->disks[0].target, &l) < 0) {
        clear_error ();         /* the conversion says what is wrong */
        return 0;
    }
    slash = strchr (l.path, '/');
    if (slash) {
        /* per volume: PROFILE/VOLUME/QTREE */
        if (asprintf (&q, "%s/%s/%.*s", l.profile, l.volume,
                      (int) (slash - l.path), l.path) < 0) {
            q = NULL;
        }
    }
    ontap_location_release (&l);
    if (!slash) {
        return 0;               /* the volume root: no qtree */
    }
    if (!q) {
        return set_error (ENOMEM, "out of memory");
    }
    for (i = 0; i < r->nqt && strcmp (r->qt[i].name, q) != 0; i++) {
    }
    if (i < r->nqt) {
        style = r->qt[i].style;
    } else {
        struct ontap_qtree qt = { .security_style = -1 };
        struct wf_ontap *o = NULL;
        void *nq;

        e = wf_qtree_client (r, v->loc, &o);
        if (e == 0) {
            e = ontap_qtree_find (o->c, &o->vol, strrchr (q, '/') + 1, &qt);
            if (e == -ENOENT) {
                clear_error ();
                e = 0;          /* made with the right style */
            } else if (e == 0) {
                wf_qtree_learn (r, q, &qt);
            }
            style = qt.security_style;
            ontap_qtree_release (&qt);
        }
        nq = e == 0 ? realloc (r->qt, (r->nqt + 1) * sizeof *r->qt) : NULL;
        if (e == 0 && !nq) {
            e = set_error (ENOMEM, "out of memory");
        }
        if (e < 0) {
            free (q);
            return e;
        }
        r->qt = nq;
        r->qt[r->nqt].name = q;
        r->qt[r->nqt].style = style;
        r->nqt++;
        q = NULL;
    }
    free (q);
    f = fmt_driver_by_extension (v->disks[0].target);
    want = f && f->share_style == FMT_SHARE_NTFS ? ONTAP_SEC_NTFS
                                                 : ONTAP_SEC_UNIX;
    if (style >= 0 && style != (int) want) {
        vs_sbuf_printf (problems, "vms.%s: target.location: qtree '%s' has "
                        "security style '%s', and %s disks need '%s' "
                        "(target.qtree_style \"fix\" changes it, as convert "
                        "--qtree-style fix does)\n", v->bv->name,
                        strrchr (r->qt[i].name, '/') + 1,
                        ontap_security_style_name (style),
                        f ? f->name : "these",
                        ontap_security_style_name (want));
    }
    return 0;
}

/* Add the volume PROFILE/VOLUME to the run's (once); root is where its
 * VMs go.  Returns its index. */
static int
wf_vol_add (struct wf_run *r, const char *profile, const char *volume,
            const char *root)
{
    struct wf_vol *nv;
    char *loc = NULL;

    if (asprintf (&loc, "ontap://%s/%s", profile, volume) < 0) {
        return set_error (ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < r->nvols; i++) {
        if (strcmp (r->vols[i].loc, loc) == 0) {
            free (loc);
            return (int) i;
        }
    }
    nv = realloc (r->vols, (r->nvols + 1) * sizeof *nv);
    if (!nv) {
        free (loc);
        return set_error (ENOMEM, "out of memory");
    }
    r->vols = nv;
    memset (&nv[r->nvols], 0, sizeof *nv);
    nv[r->nvols].loc = loc;
    if (!(nv[r->nvols].root = strdup (root))) {
        free (loc);
        return set_error (ENOMEM, "out of memory");
    }
    return (int) r->nvols++;
}

static void
wf_vols_free (struct wf_run *r)
{
    for (size_t i = 0; i < r->nvols; i++) {
        if (r->vols[i].h.be) {
            vs_loc_close (&r->vols[i].h);
        }
        free (r->vols[i].loc);
        free (r->vols[i].root);
    }
    free (r->vols);
    r->vols = NULL;
    r->nvols = 0;
}

/* Does a VM on volume i still need its snapshot? */
static bool
wf_vol_busy (const struct wf_run *r, size_t i)
{
    for (size_t k = 0; k < r->n; k++) {
        const struct wf_vmr *v = &r->vms[k];

        if (v->vol == (int) i &&
            (v->st == WF_VM_READY || v->st == WF_VM_CONVERTING)) {
            return true;
        }
    }
    return false;
}

/* The run's snapshot of one volume: journalled per volume (item "",
 * step "snapshot", the intent naming the volume and the snapshot), so a
 * resumed run makes only the ones not made, and finds one it asked for
 * before it died by its name instead of making a second. */
static int
wf_vol_snapshot (struct wf_run *r, const struct wf_vol *vol)
{
    struct wf_jfind f;
    struct wf_ontap o;
    struct ontap_snapshot s = { 0 };
    char *intent, *res, *ev = NULL;
    int64_t seq;
    bool fresh;
    int e;

    if ((e = wf_jfind (r, "", "snapshot", "volume", vol->loc, &f)) < 0) {
        return e;
    }
    free (f.result);
    free (f.intent);
    if (f.seq > 0 && f.status == WF_J_DONE) {
        return 0;               /* made by an earlier process of this run */
    }
    if ((e = wf_ontap_open_vol (r, vol->loc, &o)) < 0) {
        wf_ontap_close (r, &o);
        return e;
    }
    seq = f.seq;
    fresh = seq == 0 || f.status != WF_J_INTENT;
    if (fresh) {
        /* with the facts learnt so far (the preflight's): one commit */
        intent = wf_obj2 ("volume", vol->loc, "name", r->snap_name);
        e = intent ? wf_tx_begin (r) : -ENOMEM;
        if (e == 0 && (e = wf_facts_flush (r)) == 0) {
            e = wf_j_intent (r->s, r->id, "", "snapshot", intent, &seq);
        }
        if (e == 0) {
            e = wf_tx_commit (r);
        } else if (intent) {
            wf_tx_rollback (r);
        }
        free (intent);
    }
    /* Half done before (intent, no result): it may exist already.  A
     * retry looks first too: the failed create may have made it. */
    for (unsigned a = 1; e == 0; a++) {
        e = ontap_snapshot_find (o.c, &o.vol, r->snap_name, &s);
        if (e == 0 && fresh && a == 1) {
            /* Not asked for by this run yet, so not ours: the name
             * carries the store's ID (wf_snap_name_new), so another
             * store's run has another name, but an admin, or a copy of
             * this store, may have made one of this name.  Converting
             * from it would copy another moment's data, and deleting it
             * would take somebody else's snapshot. */
            char *why = wf_obj2 ("name", r->snap_name, "error",
                                 "exists, not this run's");

            ontap_snapshot_release (&s);
            /* FAILED, not INTENT: the undo must not delete it by name */
            if (why == NULL ||
                wf_j_finish (r->s, "snapshot", seq, WF_J_FAILED, why) < 0) {
                clear_error ();
            }
            free (why);
            e = set_error (EEXIST, "snapshot '%s' exists and is not this "
                           "run's (made by hand, or by a copy of this "
                           "store?); it is left alone", r->snap_name);
            break;
        }
        if (e == -ENOENT) {
            clear_error ();
            e = ontap_snapshot_create (o.c, &o.vol, r->snap_name,
                                       "vmshift migrate", &s);
        }
        if (e == 0 || !wf_retry (r, NULL, "snapshot", a)) {
            break;
        }
        e = 0;
    }
    if (e == 0) {
        char *rec = NULL;

        res = wf_obj2 ("name", r->snap_name, "uuid", s.uuid);
        e = wf_j_finish (r->s, "snapshot", seq, WF_J_DONE, res);
        free (res);
        if (e == 0 && ontap_snapshot_record (&s, &rec) == 0 &&
            wf_fact_put (r, "snapshot", vol->loc, rec, -1) < 0) {
            clear_error ();     /* a fact less: looked up when needed */
        }
        free (rec);
        if (asprintf (&ev, "%s of %s", r->snap_name, vol->loc) < 0) {
            ev = NULL;
        }
        wf_event (r, NULL, "snapshot", ev ? ev : r->snap_name);
        free (ev);
        ontap_snapshot_release (&s);
    }
    wf_ontap_close (r, &o);
    return e;
}

/* One snapshot per volume that a VM still converts from. */
static int
wf_phase_snapshot (struct wf_run *r)
{
    int e;

    for (size_t i = 0; i < r->nvols; i++) {
        if (wf_vol_busy (r, i) && (e = wf_vol_snapshot (r, &r->vols[i])) < 0) {
            error_prepend ("volume '%s': ", r->vols[i].loc);
            return e;
        }
    }
    return 0;
}

/* The run's snapshots the journal says were made (or asked for) and not
 * yet deleted, whatever volumes this process knows of. */
struct wf_snaps {
    int64_t seq[256];
    char *vol[256];
    size_t n;
};

static int
wf_snaps_cb (void *opaque, const struct wf_journal_rec *j)
{
    struct wf_snaps *sn = opaque;

    if (sn->n < 256 && j->item[0] == '\0' &&
        strcmp (j->step, "snapshot") == 0 && j->status != WF_J_UNDONE &&
        j->status != WF_J_FAILED &&
        (sn->vol[sn->n] = wf_json_str (j->intent, "volume")) != NULL) {
        sn->seq[sn->n++] = j->seq;
    }
    return 0;
}

/* The record of the snapshot the run made on volume loc (its fact): 0,
 * or -ENOENT. */
static int
wf_snap_known (const struct wf_run *r, const char *loc,
               struct ontap_snapshot *out)
{
    const char *rec = wf_fact (r, "snapshot", loc);
    int e = -ENOENT;

    if (rec && (e = ontap_snapshot_from_record (rec, strlen (rec), "the "
                                                "run's snapshot record",
                                                out)) == 0 &&
        strcmp (out->name, r->snap_name) != 0) {
        ontap_snapshot_release (out);
        e = -ENOENT;
    }
    if (e < 0) {
        clear_error ();
        e = -ENOENT;
    }
    return e;
}

/* Delete the run's snapshot on each volume where the journal says it
 * made one (or died asking) and has not deleted it; the name is the
 * run's own, so nothing else is touched. */
static int
wf_snapshot_delete (struct wf_run *r)
{
    struct wf_snaps *sn = calloc (1, sizeof *sn);
    struct vmshift_error_save fe;
    int e, first = 0;

    if (!sn) {
        return set_error (ENOMEM, "out of memory");
    }
    e = wf_journal_list (r->s, r->id, wf_snaps_cb, sn);
    for (size_t i = 0; e == 0 && i < sn->n; i++) {
        struct wf_ontap o;
        struct ontap_snapshot s = { 0 };
        char *ev = NULL;
        int x;

        for (unsigned a = 1;; a++) {
            if ((x = wf_ontap_open_vol (r, sn->vol[i], &o)) == 0 &&
                wf_snap_known (r, sn->vol[i], &s) == 0) {
                /* the one the run made, by its uuid: no lookup; one
                 * gone already counts as deleted */
                x = ontap_snapshot_delete (o.c, &o.vol, &s);
                ontap_snapshot_release (&s);
                if (x == -ENOENT) {
                    clear_error ();
                    x = 0;
                }
            } else if (x == 0) {
                x = ontap_snapshot_find (o.c, &o.vol, r->snap_name, &s);
                if (x == 0) {
                    x = ontap_snapshot_delete (o.c, &o.vol, &s);
                    ontap_snapshot_release (&s);
                } else if (x == -ENOENT) {
                    clear_error ();
                    x = 0;
                }
            }
            wf_ontap_close (r, &o);
            if (x == 0 || !wf_retry (r, NULL, "snapshot-delete", a)) {
                break;
            }
        }
        if (x == 0) {
            x = wf_j_finish (r->s, "snapshot", sn->seq[i], WF_J_UNDONE, NULL);
            if (asprintf (&ev, "%s of %s", r->snap_name, sn->vol[i]) < 0) {
                ev = NULL;
            }
            wf_event (r, NULL, "snapshot-deleted", ev ? ev : r->snap_name);
            free (ev);
        } else {
            error_prepend ("volume '%s': ", sn->vol[i]);
        }
        if (x < 0 && first == 0) {
            first = x;          /* the others are still tried */
            error_save (&fe);
        }
        clear_error ();
    }
    for (size_t i = 0; i < sn->n; i++) {
        free (sn->vol[i]);
    }
    free (sn);
    if (e == 0 && first < 0) {
        error_restore (&fe);
        e = first;
    }
    return e;
}

/* -------------------------------------------------- folders and qtrees */

/* The folders (and on ONTAP the qtree) the disks and files go into are
 * made by the run before the conversions, each journalled when the run
 * makes it ("qtree" {dir, name} -> {id}; "mkdir" {dir}), so that the undo
 * removes exactly those, once empty; one that was there before the run
 * is never journalled and never removed.  The location's own folders
 * belong to the run (item ""), a VM's folder and its guest/ folder to the
 * VM. */
struct wf_place {
    char *loc;
    struct wf_vmr *v;           /* NULL: the run's */
    bool qtree;                 /* ONTAP: the first folder of the volume */
    int64_t seq;                /* its intent; 0: nothing to make */
};

struct wf_places {
    struct wf_place *p;
    size_t n, cap;
};

static int
wf_place_add (struct wf_places *ps, char *loc, struct wf_vmr *v, bool qtree)
{
    if (!loc) {
        return set_error (ENOMEM, "out of memory");
    }
    if (ps->n == ps->cap) {
        size_t c = ps->cap ? 2 * ps->cap : 16;
        void *np = realloc (ps->p, c * sizeof *ps->p);

        if (!np) {
            free (loc);
            return set_error (ENOMEM, "out of memory");
        }
        ps->p = np;
        ps->cap = c;
    }
    ps->p[ps->n++] = (struct wf_place) { .loc = loc, .v = v, .qtree = qtree };
    return 0;
}

static void
wf_places_free (struct wf_places *ps)
{
    for (size_t i = 0; i < ps->n; i++) {
        free (ps->p[i].loc);
    }
    free (ps->p);
}

/* Each VM's location's folders, top down (each location once): on
 * ONTAP every folder of its path in the volume (the first is a qtree);
 * elsewhere the location itself.  Then the VM's folder and its guest/
 * folder (a qtree when the location is a volume's root). */
static int
wf_places_list (struct wf_run *r, struct wf_places *ps)
{
    int e = 0;

    for (size_t i = 0; e == 0 && i < r->n; i++) {
        struct wf_vmr *v = &r->vms[i];
        bool root_qtree = false, seen = false;
        char *d;

        if (v->st != WF_VM_READY && v->st != WF_VM_CONVERTING) {
            continue;
        }
        for (size_t k = 0; k < i && !seen; k++) {
            seen = r->vms[k].loc && strcmp (r->vms[k].loc, v->loc) == 0 &&
                   (r->vms[k].st == WF_VM_READY ||
                    r->vms[k].st == WF_VM_CONVERTING);
        }
        if (vs_loc_kind_of (v->loc) == LOC_ONTAP) {
            struct ontap_location l = { 0 };

            if ((e = ontap_location_parse (v->loc, &l)) < 0) {
                break;
            }
            root_qtree = l.path[0] == '\0';
            for (const char *s = l.path; !seen && e == 0 && *s;) {
                const char *cut = strchr (s, '/');
                char *loc = NULL;

                if (!cut) {
                    cut = s + strlen (s);
                }
                if (asprintf (&loc, "ontap://%s/%s/%.*s", l.profile,
                              l.volume, (int) (cut - l.path), l.path) < 0) {
                    loc = NULL;
                }
                e = wf_place_add (ps, loc, NULL, s == l.path);
                s = *cut ? cut + 1 : cut;
            }
            ontap_location_release (&l);
        } else if (!seen) {
            e = wf_place_add (ps, strdup (v->loc), NULL, false);
        }
        if (e < 0) {
            break;
        }
        d = wf_join (v->loc, v->tname);
        e = wf_place_add (ps, d, v, root_qtree);
        if (e == 0) {
            e = wf_place_add (ps, wf_join (d, "guest"), v, false);
        }
    }
    return e;
}

/* The qtree of loc (its volume's first folder) with the security style
 * its VMs' disks need (NTFS for Hyper-V's VHDX, UNIX otherwise), as the
 * conversion would make it; *id its id. */
static int
wf_qtree_make (struct wf_run *r, const char *loc, uint64_t *id)
{
    struct wf_ontap o;
    const struct fmt_driver *f = NULL;
    enum ontap_security_style want;
    size_t n = strlen (loc);
    int e;

    for (size_t i = 0; i < r->n && !f; i++) {
        const struct wf_vmr *v = &r->vms[i];

        if (v->ndisks > 0 && strncmp (v->disks[0].target, loc, n) == 0 &&
            v->disks[0].target[n] == '/') {
            f = fmt_driver_by_extension (v->disks[0].target);
        }
    }
    want = f && f->share_style == FMT_SHARE_NTFS ? ONTAP_SEC_NTFS
                                                 : ONTAP_SEC_UNIX;
    e = wf_ontap_open_at (r, loc, &o);
    if (e == 0) {
        e = ontap_qtree_ensure (o.c, &o.vol, o.loc.path, want,
                                r->bp.qtree_fix ? ONTAP_QTREE_FIX_STYLE : 0,
                                id, NULL);
    }
    if (e >= 0) {
        struct ontap_qtree qt = { .id = *id, .name = o.loc.path,
                                  .security_style = (int) want };

        wf_qtree_learn (r, loc, &qt);
    }
    wf_ontap_close (r, &o);
    return e < 0 ? e : 0;
}

static int
wf_place_make (struct wf_run *r, const struct wf_place *p)
{
    char *rs = NULL;
    int e;

    for (unsigned a = 1;; a++) {
        if (p->qtree) {
            uint64_t id = 0;
            char buf[32];

            e = wf_qtree_make (r, p->loc, &id);
            snprintf (buf, sizeof buf, "%" PRIu64, id);
            free (rs);
            rs = e == 0 ? wf_obj2 ("dir", p->loc, "id", buf) : NULL;
        } else {
            struct loc_handle l;

            e = wf_open_loc (r, p->loc, &l);
            if (e == 0) {
                e = backend_mkdir (l.be, l.path);
                if (e < 0 && backend_exists (l.be, l.path) == 1) {
                    clear_error ();
                    e = 0;
                }
                wf_close_loc (r, &l);
            }
        }
        if (e == 0 || !wf_retry (r, p->v, p->loc, a)) {
            break;
        }
    }
    if (e == 0) {
        e = wf_j_finish (r->s, p->qtree ? "qtree" : "mkdir", p->seq,
                         WF_J_DONE, rs);
    } else {
        struct vmshift_error_save es;

        error_save (&es);
        wf_j_finish (r->s, p->qtree ? "qtree" : "mkdir", p->seq, WF_J_FAILED,
                     NULL);
        error_restore (&es);
    }
    free (rs);
    return e;
}

/* Make what is missing of the places; a VM whose folder cannot be made
 * fails alone, the location's own failing is the run's. */
static int
wf_make_places (struct wf_run *r)
{
    struct wf_places ps = { 0 };
    int e;

    if ((e = wf_places_list (r, &ps)) < 0) {
        goto out;
    }
    /* what is there already (made by an earlier process of this run, or
     * not by this run at all) is left out; the intents in one commit */
    if ((e = wf_tx_begin (r)) < 0) {
        goto out;
    }
    for (size_t i = 0; i < ps.n; i++) {
        struct wf_place *p = &ps.p[i];
        const char *step = p->qtree ? "qtree" : "mkdir";
        const char *item = p->v ? p->v->bv->name : "";
        struct wf_jfind f;
        int ex;

        if ((e = wf_jfind (r, item, step, "dir", p->loc, &f)) < 0) {
            break;
        }
        free (f.result);
        free (f.intent);
        if (f.seq > 0 && f.status == WF_J_DONE) {
            continue;
        }
        if ((ex = wf_loc_exists (r, p->loc)) < 0) {
            e = ex;
            break;
        }
        if (ex == 1) {
            if (f.seq > 0 && f.status == WF_J_INTENT) {
                /* made before the process died */
                e = wf_j_finish (r->s, step, f.seq, WF_J_DONE, NULL);
            }
            if (e < 0) {
                break;
            }
            continue;
        }
        p->seq = f.seq;
        if (f.seq == 0 || f.status != WF_J_INTENT) {
            char *in = p->qtree ? wf_obj2 ("dir", p->loc, "qtree", "yes")
                                : wf_obj2 ("dir", p->loc, NULL, NULL);

            e = in ? wf_j_intent (r->s, r->id, item, step, in, &p->seq)
                   : set_error (ENOMEM, "out of memory");
            free (in);
            if (e < 0) {
                break;
            }
        }
    }
    if (e < 0) {
        wf_tx_rollback (r);
        goto out;
    }
    if ((e = wf_tx_commit (r)) < 0) {
        goto out;
    }
    for (size_t i = 0; i < ps.n; i++) {
        struct wf_place *p = &ps.p[i];

        if (p->seq == 0 || (p->v && p->v->st == WF_VM_FAILED)) {
            continue;
        }
        if ((e = wf_place_make (r, p)) < 0) {
            if (!p->v) {
                break;          /* the run's: every VM needs it */
            }
            if ((e = wf_vm_fail (r, p->v, "convert")) < 0) {
                break;
            }
        }
    }
out:
    wf_places_free (&ps);
    return e;
}

/* ------------------------------------------------------------ convert */

static int wf_mkdir (struct wf_run *r, const char *base, const char *rel);

/* Progress of the phase's conversions: per disk the library's last
 * report, per VM their sum (plus what earlier processes converted),
 * given out as "progress" events at most once a second.  The library
 * never calls wf_convert_progress twice at once.  A call may convert
 * some of the phase's disks only (a retry): map turns its indices into
 * the phase's. */
struct wf_prog {
    struct wf_run *r;
    size_t n;
    struct wf_vmr **vm;         /* by disk index */
    struct vmshift_progress *d; /* last report, by disk index */
    const size_t *map;          /* the call's index -> disk index */
    size_t nmap;
    double t_emit;
    double t_abort;             /* when the abort flag was last read */
    bool abort;                 /* the run is to abort: no disk more */
    pthread_mutex_t *store_lock;        /* the steps' (one store handle) */
};

/* v's bytes from pg's disk reports; true when they changed */
static bool
wf_vm_bytes (struct wf_prog *pg, struct wf_vmr *v)
{
    uint64_t t = v->b0_cloned + v->b0_copied, d = t, cl = v->b0_cloned,
             cp = v->b0_copied;
    bool changed;

    for (size_t i = 0; i < pg->n; i++) {
        if (pg->vm[i] == v) {
            t += pg->d[i].bytes_total;
            d += pg->d[i].bytes_done;
            cl += pg->d[i].bytes_cloned;
            cp += pg->d[i].bytes_copied;
        }
    }
    changed = t != v->b_total || d != v->b_done || cl != v->b_cloned ||
              cp != v->b_copied;
    v->b_total = t;
    v->b_done = d;
    v->b_cloned = cl;
    v->b_copied = cp;
    return changed;
}

static void
wf_convert_progress (void *opaque, const struct vmshift_progress *p)
{
    struct wf_prog *pg = opaque;
    double now = wf_now ();

    if (p->index >= pg->nmap) {
        return;
    }
    pg->d[pg->map[p->index]] = *p;
    if (now - pg->t_emit < 1.0) {
        return;
    }
    pg->t_emit = now;
    for (size_t i = 0; i < pg->r->n; i++) {
        struct wf_vmr *v = &pg->r->vms[i];

        if (v->st == WF_VM_CONVERTING && wf_vm_bytes (pg, v)) {
            wf_event_x (pg->r, v, "progress", NULL, false);
        }
    }
}

/* vmshift_convert_opts.cancel: the library asks before each disk (from
 * a worker, one call at a time, while this thread waits in the call);
 * the answer is the run's abort flag, read from the store at most every
 * WF_ABORT_POLL_S.  Disks under way finish; the undo removes them. */
static int
wf_convert_cancel (void *opaque)
{
    struct wf_prog *pg = opaque;
    double now = wf_now ();

    if (!pg->abort && now - pg->t_abort >= WF_ABORT_POLL_S) {
        pg->t_abort = now;
        /* other workers journal their steps through the same handle */
        if (pg->store_lock) {
            pthread_mutex_lock (pg->store_lock);
        }
        pg->abort = wf_abort_requested (pg->r);
        if (pg->store_lock) {
            pthread_mutex_unlock (pg->store_lock);
        }
    }
    return pg->abort;
}

/* The conversion's steps (struct vs_convert_journal, engine/convert.h):
 * each disk's "clone" and "clone-job" entries, under the VM's item with
 * the disk's target in the intent.  The latest of each is read from the
 * journal once, before the conversion starts, and kept up to date here;
 * the conversion's threads call in one at a time (the store handle is
 * one thread's).  An intent is a durable point of its own (its effect
 * follows at once); results are not synced (docs/internals/store.md). */
struct wf_steps {
    struct wf_run *r;
    pthread_mutex_t lock;
    size_t n;
    struct wf_vmr **vm;         /* by disk index */
    const char **target;        /* by disk index */
    struct vs_step_rec (*last)[2];      /* [clone, clone-job] by index */
    uint64_t intents;
};

static int
wf_steps_kind (const char *step)
{
    return strcmp (step, "clone") == 0 ? 0
           : strcmp (step, "clone-job") == 0 ? 1 : -1;
}

static void
wf_steps_set (struct vs_step_rec *d, int64_t token, int status,
              const char *intent, const char *result)
{
    char *i = intent ? strdup (intent) : NULL;
    char *x = result ? strdup (result) : NULL;

    vs_step_rec_clear (d);
    d->token = token;
    d->status = status;
    d->intent = i;
    d->result = x;
}

static int
wf_steps_load_cb (void *opaque, const struct wf_journal_rec *j)
{
    struct wf_steps *st = opaque;
    int k = wf_steps_kind (j->step);
    char *t;

    if (k < 0) {
        return 0;
    }
    if (k == 0) {
        /* a disk's clone step: its volume's stale snapshots were removed
         * before it (the conversion does that first) */
        for (size_t i = 0; i < st->r->n; i++) {
            const struct wf_vmr *v = &st->r->vms[i];

            if (v->vol >= 0 && strcmp (v->bv->name, j->item) == 0 &&
                wf_fact_put (st->r, "stale-snapshots",
                             st->r->vols[v->vol].loc, "{}", -1) < 0) {
                return -ENOMEM;
            }
        }
    }
    t = wf_json_str (j->intent, "target");
    for (size_t i = 0; t && i < st->n; i++) {
        if (strcmp (st->target[i], t) == 0 &&
            strcmp (st->vm[i]->bv->name, j->item) == 0) {
            /* the latest entry wins (a redo follows an undone one) */
            wf_steps_set (&st->last[i][k], j->seq, (int) j->status,
                          j->intent, j->result);
            break;
        }
    }
    free (t);
    return 0;
}

static int
wf_steps_last (void *opaque, size_t index, const char *step,
               struct vs_step_rec *out)
{
    struct wf_steps *st = opaque;
    int k = wf_steps_kind (step);

    memset (out, 0, sizeof *out);
    if (k < 0 || index >= st->n) {
        return set_error (EINVAL, "journal: no step '%s' of disk %zu", step,
                          index);
    }
    pthread_mutex_lock (&st->lock);
    wf_steps_set (out, st->last[index][k].token, st->last[index][k].status,
                  st->last[index][k].intent, st->last[index][k].result);
    pthread_mutex_unlock (&st->lock);
    return 0;
}

static int
wf_steps_intent (void *opaque, size_t index, const char *step,
                 const char *intent, int64_t *token)
{
    struct wf_steps *st = opaque;
    int k = wf_steps_kind (step), e;

    if (k < 0 || index >= st->n) {
        return set_error (EINVAL, "journal: no step '%s' of disk %zu", step,
                          index);
    }
    pthread_mutex_lock (&st->lock);
    e = wf_j_intent (st->r->s, st->r->id, st->vm[index]->bv->name, step,
                     intent, token);
    if (e == 0) {
        st->intents++;
        wf_steps_set (&st->last[index][k], *token, 0, intent, NULL);
    }
    pthread_mutex_unlock (&st->lock);
    return e;
}

/* The run's facts for the conversion (struct vs_convert_journal, "fact"
 * and "learnt"), under the steps' lock: the conversion's threads call
 * in at once. */
static char *
wf_steps_fact (void *opaque, const char *kind, const char *key)
{
    struct wf_steps *st = opaque;
    const char *f;
    char *out;

    pthread_mutex_lock (&st->lock);
    f = wf_fact (st->r, kind, key);
    out = f ? strdup (f) : NULL;
    pthread_mutex_unlock (&st->lock);
    return out;
}

static void
wf_steps_learnt (void *opaque, const char *kind, const char *key,
                 const char *record)
{
    struct wf_steps *st = opaque;
    struct vmshift_error_save es;

    error_save (&es);
    pthread_mutex_lock (&st->lock);
    /* journalled with the next intents (wf_facts_flush); a fact that
     * cannot be kept is asked again when needed */
    wf_fact_put (st->r, kind, key, record, 0);
    pthread_mutex_unlock (&st->lock);
    error_restore (&es);
}

static int
wf_steps_finish (void *opaque, size_t index, const char *step, int64_t token,
                 int status, const char *result)
{
    struct wf_steps *st = opaque;
    int k = wf_steps_kind (step), e;

    if (k < 0 || index >= st->n) {
        return set_error (EINVAL, "journal: no step '%s' of disk %zu", step,
                          index);
    }
    pthread_mutex_lock (&st->lock);
    e = wf_j_finish (st->r->s, step, token, (enum wf_journal_status) status,
                     result);
    if (e == 0 && st->last[index][k].token == token) {
        st->last[index][k].status = status;
        free (st->last[index][k].result);
        st->last[index][k].result = result ? strdup (result) : NULL;
    }
    pthread_mutex_unlock (&st->lock);
    return e;
}

/* The run ID the conversion names its leases and temporaries with, the
 * same in every process of the run (so a resumed one owns what an
 * earlier one left): journalled once, run-wide, step "owner". */
/* The run ID journalled before, or "" (out has VS_RUN_HEX + 1 bytes). */
static int
wf_owner_find (struct wf_run *r, char *out)
{
    struct wf_jfind f;
    char *v;
    int e;

    out[0] = '\0';
    if ((e = wf_jfind (r, "", "owner", NULL, NULL, &f)) < 0) {
        return e;
    }
    v = f.seq > 0 ? wf_json_str (f.intent, "run") : NULL;
    free (f.result);
    free (f.intent);
    if (v && strlen (v) == VS_RUN_HEX && vs_owner_run_ok (v, VS_RUN_HEX)) {
        memcpy (out, v, VS_RUN_HEX + 1);
    }
    free (v);
    return 0;
}

static int
wf_owner_run (struct wf_run *r, char out[VS_RUN_HEX + 1])
{
    uint8_t b[16];
    char *in;
    int64_t seq;
    int e;

    if ((e = wf_owner_find (r, out)) < 0 || out[0]) {
        return e;
    }
    if (getrandom (b, sizeof b, 0) != (ssize_t) sizeof b) {
        return set_error (EIO, "cannot make a run ID: getrandom: %s",
                          strerror (errno));
    }
    for (size_t i = 0; i < sizeof b; i++) {
        snprintf (out + 2 * i, 3, "%02x", b[i]);
    }
    /* not a side effect: no crash point of its own */
    in = wf_obj2 ("run", out, NULL, NULL);
    e = in ? wf_journal_intent (r->s, r->id, "", "owner", in, &seq)
           : set_error (ENOMEM, "out of memory");
    if (e == 0) {
        e = wf_journal_finish (r->s, seq, WF_J_DONE, in);
    }
    free (in);
    return e;
}

/* The phase's disks, by disk index: what to convert, and what each
 * conversion gave. */
struct wf_batch {
    size_t n;
    const char **src, **dst;
    struct wf_disk **dp;
    int64_t *seqs;              /* its journal entry (the latest attempt) */
    char **errs;
    struct vmshift_error_info *info;
    struct vmshift_result **res;
    size_t *todo, *next;        /* disk indices: this call's, the retry's */
    const char **csrc, **cdst;  /* this call's arguments */
    struct wf_vmr **cvm;        /* and each disk's VM (the steps) */
    char **cerrs;
    struct vmshift_error_info *cinfo;
    struct vmshift_result **cres;
};

static void
wf_batch_free (struct wf_batch *b)
{
    for (size_t i = 0; b->errs && b->res && i < b->n; i++) {
        free (b->errs[i]);
        vmshift_result_free (b->res[i]);
    }
    free (b->src);
    free (b->dst);
    free (b->dp);
    free (b->seqs);
    free (b->errs);
    free (b->info);
    free (b->res);
    free (b->todo);
    free (b->next);
    free (b->csrc);
    free (b->cdst);
    free (b->cvm);
    free (b->cerrs);
    free (b->cinfo);
    free (b->cres);
}

static int
wf_batch_alloc (struct wf_batch *b, size_t cap)
{
    cap++;
    b->src = calloc (cap, sizeof *b->src);
    b->dst = calloc (cap, sizeof *b->dst);
    b->dp = calloc (cap, sizeof *b->dp);
    b->seqs = calloc (cap, sizeof *b->seqs);
    b->errs = calloc (cap, sizeof *b->errs);
    b->info = calloc (cap, sizeof *b->info);
    b->res = calloc (cap, sizeof *b->res);
    b->todo = calloc (cap, sizeof *b->todo);
    b->next = calloc (cap, sizeof *b->next);
    b->csrc = calloc (cap, sizeof *b->csrc);
    b->cdst = calloc (cap, sizeof *b->cdst);
    b->cvm = calloc (cap, sizeof *b->cvm);
    b->cerrs = calloc (cap, sizeof *b->cerrs);
    b->cinfo = calloc (cap, sizeof *b->cinfo);
    b->cres = calloc (cap, sizeof *b->cres);
    if (!b->src || !b->dst || !b->dp || !b->seqs || !b->errs || !b->info ||
        !b->res || !b->todo || !b->next || !b->csrc || !b->cdst ||
        !b->cvm || !b->cerrs || !b->cinfo || !b->cres) {
        return set_error (ENOMEM, "out of memory");
    }
    return 0;
}

static char *
wf_convert_intent (const struct wf_disk *d, unsigned attempt)
{
    struct sbuf b;
    struct jsonw w;

    vs_sbuf_init (&b, 16384);
    vs_jw_init (&w, &b, false);
    vs_jw_obj_begin (&w);
    vs_jw_kv_str (&w, "source", d->source);
    vs_jw_kv_str (&w, "target", d->target);
    if (attempt > 1) {
        vs_jw_kv_i64 (&w, "attempt", attempt);
    }
    vs_jw_obj_end (&w);
    return vs_sbuf_detach (&b, NULL);
}

/* One conversion of the disks b->todo[0..m), with the journal of its
 * steps (sj, by the call's index): results by disk index, and the
 * bench's figures. */
static int
wf_convert_call (struct wf_run *r, struct wf_batch *b, struct wf_prog *pg,
                 struct wf_steps *sj, const struct vs_convert_journal *jr,
                 size_t m)
{
    struct vmshift_convert_opts o;
    uint64_t run_req = 0;
    int e;

    for (size_t j = 0; j < m; j++) {
        size_t i = b->todo[j];

        free (b->errs[i]);
        b->errs[i] = NULL;
        vmshift_result_free (b->res[i]);
        b->res[i] = NULL;
        b->csrc[j] = b->src[i];
        b->cdst[j] = b->dst[i];
        b->cvm[j] = pg->vm[i];
        vs_step_rec_clear (&sj->last[j][0]);
        vs_step_rec_clear (&sj->last[j][1]);
        b->cerrs[j] = NULL;
        b->cres[j] = NULL;
        vmshift_error_info_init (&b->cinfo[j]);
    }
    vmshift_convert_opts_init (&o);
    o.parallel = r->ontap ? r->bp.concurrency : 0;  /* ONTAP's only */
    o.qtree_style = r->bp.qtree_fix ? VMSHIFT_QTREE_STYLE_FIX
                                    : VMSHIFT_QTREE_STYLE_REFUSE;
    o.progress = wf_convert_progress;
    o.progress_opaque = pg;
    o.cancel = wf_convert_cancel;
    o.cancel_opaque = pg;
    o.error_info = b->cinfo;
    /* the run's snapshot of each disk's volume: one name on every
     * volume; the library converts the volumes at once, each with up to
     * o.parallel disks in flight */
    o.snapshot = r->ontap && r->nvols > 0 ? r->snap_name : NULL;
    pg->map = b->todo;
    pg->nmap = m;
    sj->n = m;
    sj->vm = b->cvm;
    sj->target = b->cdst;
    /* the latest step of each disk, read once per call */
    if ((e = wf_journal_list (r->s, r->id, wf_steps_load_cb, sj)) < 0) {
        return e;
    }
    /* each target's extension names its format */
    vs_convert_many_journal (r->h, m, b->csrc, b->cdst, &o, jr, b->cres,
                             b->cerrs);
    clear_error ();
    r->step_intents += sj->intents;
    sj->intents = 0;
    pg->nmap = 0;
    for (size_t j = 0; j < m; j++) {
        size_t i = b->todo[j];
        const struct vmshift_stats *st = b->cres[j]
            ? vmshift_result_stats (b->cres[j]) : NULL;

        b->errs[i] = b->cerrs[j];
        b->res[i] = b->cres[j];
        b->info[i] = b->cinfo[j];
        b->info[i].message = b->errs[i];
        if (b->cres[j] == NULL && b->cerrs[j] == NULL) {
            /* a failure without a message (out of memory) */
            b->errs[i] = strdup ("not converted");
            b->info[i].message = b->errs[i];
        }
        if (!st) {
            continue;
        }
        r->stats.rest_requests_disks += st->rest_requests;
        if (st->rest_requests > r->stats.rest_requests_disk_max) {
            r->stats.rest_requests_disk_max = st->rest_requests;
        }
        r->stats.disks_converted += b->cerrs[j] == NULL;
    }
    /* every disk of a volume reports its volume's run's requests: the
     * largest per volume, summed over the volumes */
    for (int vi = -1; vi < (int) r->nvols; vi++) {
        uint64_t mx = 0;

        for (size_t j = 0; j < m; j++) {
            const struct vmshift_stats *st = b->cres[j]
                ? vmshift_result_stats (b->cres[j]) : NULL;

            if (st && b->cvm[j]->vol == vi && st->rest_requests_run > mx) {
                mx = st->rest_requests_run;
            }
        }
        run_req += mx;
    }
    r->stats.rest_requests += run_req;
    return 0;
}

/* The results of a call, journalled (each failure with its error); the
 * disks that failed retryably, with attempts left, into b->next.
 * Returns how many, or -errno (the store). */
static int
wf_convert_results (struct wf_run *r, struct wf_batch *b, struct wf_prog *pg,
                    size_t m, unsigned attempt)
{
    size_t k = 0;
    int e = 0;

    for (size_t j = 0; j < m && e == 0; j++) {
        size_t i = b->todo[j];
        char *rs;

        if (b->errs[i]) {
            rs = wf_obj2 ("error", b->errs[i], NULL, NULL);
            e = wf_j_finish (r->s, "convert", b->seqs[i], WF_J_FAILED, rs);
            if (e == 0 && b->info[i].retryable && attempt <= WF_RETRIES &&
                !pg->abort) {
                char what[600];

                snprintf (what, sizeof what, "disk '%s'", b->dst[i]);
                wf_retry_event (r, pg->vm[i], what, attempt, b->errs[i]);
                b->next[k++] = i;
            }
        } else {
            const struct vmshift_stats *st = vmshift_result_stats (b->res[i]);
            char buf[64];

            snprintf (buf, sizeof buf, "%" PRIu64 "/%" PRIu64,
                      st ? st->bytes_cloned : 0, st ? st->bytes_copied : 0);
            if (st) {
                pg->d[i].bytes_cloned = st->bytes_cloned;
                pg->d[i].bytes_copied = st->bytes_copied;
                pg->d[i].bytes_done = pg->d[i].bytes_total =
                    st->bytes_cloned + st->bytes_copied;
            }
            rs = wf_obj2 ("target", b->dst[i], "cloned/copied", buf);
            e = wf_j_finish (r->s, "convert", b->seqs[i], WF_J_DONE, rs);
            b->dp[i]->done = true;
        }
        free (rs);
    }
    return e < 0 ? e : (int) k;
}

/* A VM whose disks are done is converted; one with a disk that failed
 * for good fails with that disk's error (one line, naming it).  One
 * whose disks were stopped by an abort stays converting: the abort at
 * the next safe point undoes it. */
static int
wf_convert_vm_states (struct wf_run *r, struct wf_batch *b,
                      struct wf_prog *pg)
{
    for (size_t i = 0; i < r->n; i++) {
        struct wf_vmr *v = &r->vms[i];
        const char *why = NULL;
        bool stopped = false;
        int e;

        if (v->st != WF_VM_CONVERTING) {
            continue;
        }
        wf_vm_bytes (pg, v);
        for (size_t k = 0; k < v->ndisks && !why; k++) {
            if (v->disks[k].done) {
                continue;
            }
            for (size_t j = 0; j < b->n; j++) {
                if (b->dp[j] != &v->disks[k]) {
                    continue;
                }
                if (pg->abort && (b->info[j].errnum == ECANCELED ||
                                  b->info[j].retryable)) {
                    stopped = true;
                } else {
                    why = b->errs[j];
                }
            }
            if (!why && !stopped) {
                why = "not converted";
            }
        }
        if (why) {
            set_error (EIO, "%s", why);
            e = wf_vm_fail (r, v, "convert");
        } else if (stopped) {
            e = 0;
        } else {
            e = wf_vm_set (r, v, WF_VM_CONVERTED, NULL);
        }
        if (e < 0) {
            return e;
        }
    }
    return 0;
}

/* Remove loc, a lease of the run's own ID; one not there is fine, one
 * that cannot be removed is left for cleanup. */
static void
wf_unlink_own_lease (struct wf_run *r, const char *loc)
{
    struct loc_handle l;
    int e = wf_open_loc (r, loc, &l);

    if (e == 0) {
        e = backend_unlink (l.be, l.path);
        wf_close_loc (r, &l);
    }
    if (e < 0 && e != -ENOENT) {
        vs_log_msg (&r->h->log, LOG_WARN, "'%s' is left (vmshift runs "
                    "cleanup removes it): %s", loc, vmshift_get_error ());
    }
    clear_error ();
}

static void wf_recovered_temps (struct wf_run *r, const struct wf_vmr *v,
                                const char *target);

/* Disks a killed process had put in place (their "convert" entries
 * done as recovered): it held the lease of the run's ID in their folders
 * (and at their volume's root), which no conversion of this process
 * takes and drops again; removed here, the root's only when no disk is
 * left to convert (the conversion drops it then).  So are the temporary
 * names it left beside them (wf_recovered_temps). */
static void
wf_recovered_leases (struct wf_run *r, bool root)
{
    char own[VS_RUN_HEX + 1];

    if (wf_owner_find (r, own) < 0 || !own[0]) {
        clear_error ();
        return;
    }
    for (size_t i = 0; i < r->n; i++) {
        const struct wf_vmr *v = &r->vms[i];

        for (size_t k = 0; k < v->ndisks; k++) {
            const char *t = v->disks[k].target;
            const char *slash = strrchr (t, '/');
            char *key = root ? wf_vol_key (t) : NULL, *loc = NULL;

            if (v->disks[k].recovered) {
                wf_recovered_temps (r, v, t);
            }
            if (v->disks[k].recovered && slash &&
                asprintf (&loc, "%.*s/.vmshift.%s.lease",
                          (int) (slash - t), t, own) > 0) {
                wf_unlink_own_lease (r, loc);
                free (loc);
            }
            if (v->disks[k].recovered && key &&
                asprintf (&loc, "%s/.vmshift.%s.lease", key, own) > 0) {
                wf_unlink_own_lease (r, loc);
                free (loc);
            }
            free (key);
        }
    }
}

static int
wf_phase_convert (struct wf_run *r)
{
    struct wf_batch b = { 0 };
    struct wf_prog pg = { .r = r };
    struct wf_steps sj = { .r = r };
    struct vs_convert_journal jr = { .opaque = &sj, .last = wf_steps_last,
                                     .intent = wf_steps_intent,
                                     .finish = wf_steps_finish,
                                     .fact = wf_steps_fact,
                                     .learnt = wf_steps_learnt };
    size_t cap = 0, m, nrec = 0;
    unsigned attempt = 1;
    bool intx = false;
    int e = 0;

    for (size_t i = 0; i < r->n; i++) {
        cap += r->vms[i].ndisks;
    }
    pg.vm = calloc (cap + 1, sizeof *pg.vm);
    pg.d = calloc (cap + 1, sizeof *pg.d);
    sj.last = calloc (cap + 1, sizeof *sj.last);
    pthread_mutex_init (&sj.lock, NULL);
    pg.store_lock = &sj.lock;
    if ((e = wf_batch_alloc (&b, cap)) < 0 || !pg.vm || !pg.d || !sj.last) {
        e = set_error (ENOMEM, "out of memory");
        goto out;
    }
    pg.t_abort = wf_now ();     /* the step read the flag just now */
    /* the folders and the qtree, each journalled (wf_make_places) */
    if ((e = wf_make_places (r)) < 0) {
        goto out;
    }
    /* Every intent of the batch, and the states, in one commit: one sync
     * before the first clone. */
    if ((e = wf_tx_begin (r)) < 0) {
        goto out;
    }
    intx = true;
    for (size_t i = 0; i < r->n; i++) {
        struct wf_vmr *v = &r->vms[i];

        if (v->st != WF_VM_READY && v->st != WF_VM_CONVERTING) {
            continue;
        }
        if ((e = wf_vm_set (r, v, WF_VM_CONVERTING, NULL)) < 0) {
            goto out;
        }
        for (size_t k = 0; k < v->ndisks; k++) {
            struct wf_disk *d = &v->disks[k];
            struct wf_jfind f;
            size_t n = b.n;
            int ex;

            if ((e = wf_jfind (r, v->bv->name, "convert", "target",
                               d->target, &f)) < 0) {
                goto out;
            }
            free (f.result);
            free (f.intent);
            if (f.seq > 0 && f.status == WF_J_DONE) {
                d->done = true;
                continue;
            }
            if (f.seq > 0 && f.status == WF_J_INTENT &&
                (ex = wf_loc_exists (r, d->target)) == 1) {
                /* renamed into place before the process died */
                char *rs = wf_obj2 ("target", d->target, "recovered", "yes");

                e = wf_j_finish (r->s, "convert", f.seq, WF_J_DONE, rs);
                free (rs);
                if (e < 0) {
                    goto out;
                }
                d->done = d->recovered = true;
                nrec++;
                continue;
            }
            clear_error ();
            b.seqs[n] = f.seq;
            if (b.seqs[n] == 0 || f.status != WF_J_INTENT) {
                char *in = wf_convert_intent (d, 1);

                e = in ? wf_j_intent (r->s, r->id, v->bv->name,
                                      "convert", in, &b.seqs[n]) : -ENOMEM;
                free (in);
                if (e < 0) {
                    goto out;
                }
            }
            b.src[n] = d->source;
            b.dst[n] = d->target;
            b.dp[n] = d;
            b.todo[n] = n;
            pg.vm[n] = v;
            b.n++;
        }
    }
    /* the conversion's own steps: the run ID it works under, in the same
     * commit */
    if (b.n > 0 && (e = wf_owner_run (r, jr.owner_run)) < 0) {
        goto out;
    }
    /* and the facts learnt since the last durable point (the places'
     * qtree): the conversion starts from them, and so does a resume */
    if (b.n > 0 && (e = wf_facts_flush (r)) < 0) {
        goto out;
    }
    intx = false;
    if ((e = wf_tx_commit (r)) < 0) {
        goto out;
    }
    if (nrec > 0) {
        wf_recovered_leases (r, b.n == 0);
    }
    pg.n = b.n;
    /* Convert, then the disks that failed retryably again, after a
     * wait: each attempt its own intent and result (docs/blueprint.md,
     * "Retries"). */
    for (m = b.n; m > 0; attempt++) {
        size_t *t;
        int k;

        if ((e = wf_convert_call (r, &b, &pg, &sj, &jr, m)) < 0) {
            goto out;
        }
        /* the results (and, last, the states): one commit, no sync of
         * its own (the next intent's sync carries it;
         * docs/internals/store.md) */
        if ((e = wf_tx_begin (r)) < 0) {
            goto out;
        }
        intx = true;
        if ((e = k = wf_convert_results (r, &b, &pg, m, attempt)) < 0) {
            goto out;
        }
        e = 0;
        intx = false;
        if ((e = wf_tx_commit (r)) < 0) {
            goto out;
        }
        if (k == 0) {
            break;
        }
        if (!wf_backoff (r, attempt)) {
            pg.abort = true;    /* the abort undoes the rest */
            break;
        }
        t = b.todo;
        b.todo = b.next;
        b.next = t;
        m = (size_t) k;
        if ((e = wf_tx_begin (r)) < 0) {
            goto out;
        }
        intx = true;
        for (size_t j = 0; j < m; j++) {
            size_t i = b.todo[j];
            char *in = wf_convert_intent (b.dp[i], attempt + 1);

            e = in ? wf_j_intent (r->s, r->id, pg.vm[i]->bv->name, "convert",
                                  in, &b.seqs[i]) : -ENOMEM;
            free (in);
            if (e < 0) {
                goto out;
            }
        }
        intx = false;
        if ((e = wf_tx_commit (r)) < 0) {
            goto out;
        }
    }
    /* the states: one commit */
    if ((e = wf_tx_begin (r)) < 0) {
        goto out;
    }
    intx = true;
    if ((e = wf_convert_vm_states (r, &b, &pg)) < 0) {
        goto out;
    }
    intx = false;
    e = wf_tx_commit (r);
out:
    if (intx) {
        wf_tx_rollback (r);
    }
    wf_batch_free (&b);
    for (size_t i = 0; sj.last && i < cap; i++) {
        vs_step_rec_clear (&sj.last[i][0]);
        vs_step_rec_clear (&sj.last[i][1]);
    }
    free (sj.last);
    pthread_mutex_destroy (&sj.lock);
    free (pg.vm);
    free (pg.d);
    return e;
}

/* ------------------------------------------------------------- define */

static const char *
wf_def_ext (enum hv_target t)
{
    return wf_target_of (t)->def_ext;
}

/* target.host_path for v: its {volume} is the VM's volume.  Caller
 * frees; NULL with the error set. */
static char *
wf_host_path (struct wf_run *r, struct wf_vmr *v)
{
    char *s;

    if (strstr (r->bp.host_path, "{volume}") && !v->volname) {
        set_error (EINVAL, "target.host_path: '{volume}' needs the VM's "
                   "disks on an ONTAP volume");
        return NULL;
    }
    s = wf_bp_expand_volume (r->bp.host_path, v->volname);
    if (!s) {
        set_error (ENOMEM, "out of memory");
    }
    return s;
}

static char *
wf_host_dir (struct wf_run *r, struct wf_vmr *v)
{
    if (r->bp.host_path) {
        char *hp = wf_host_path (r, v);
        char *s = NULL;

        if (hp && asprintf (&s, "%s%s/%s", hp, r->test ? "-test" : "",
                            v->tname) < 0) {
            s = NULL;
            set_error (ENOMEM, "out of memory");
        }
        free (hp);
        return s;
    }
    return wf_join (v->loc, v->tname);
}

static unsigned
wf_vmid (const struct wf_run *r, const struct wf_vmr *v)
{
    if (v->bv->vmid) {
        return v->bv->vmid;
    }
    return r->bp.vmid_start + (unsigned) (v - r->vms);
}

/* The definition text; notes (warnings about it) into *notes_out, or as
 * events when it is NULL. */
static int
wf_definition (struct wf_run *r, struct wf_vmr *v, char **text,
               struct hv_str_vec *notes_out)
{
    struct hv_str_vec notes = { 0 };
    struct hv_define d;
    struct hv_vm *m = wf_model (v);
    char *hd = wf_host_dir (r, v);
    char *hp = NULL;
    char *saved_name;
    int e;

    if (!hd) {
        return -vmshift_internal_error_errno ();
    }
    memset (&d, 0, sizeof d);
    d.target = r->bp.hypervisor;
    d.map = &r->bp.map;
    d.nics_unattached = r->test;      /* docs/blueprint.md */
    /* Proxmox names a storage; KubeVirt an NFS export for its volumes
     * (none: the cluster's default); the others the folder itself */
    switch (wf_target_of (r->bp.hypervisor)->disk_path) {
    case WF_DP_STORAGE:
        d.disk_path = r->bp.storage ? r->bp.storage : "local";
        break;
    case WF_DP_EXPORT:
        if (r->bp.host_path && !(hp = wf_host_path (r, v))) {
            free (hd);
            return -vmshift_internal_error_errno ();
        }
        d.disk_path = hp;
        break;
    case WF_DP_FOLDER:
        d.disk_path = hd;
        break;
    }
    d.disk_format = wf_vm_format (r, v);
    d.source_file = v->bv->vmx ? v->bv->vmx : v->vmx;
    d.namespace_ = r->bp.namespace_;
    d.version = VMSHIFT_VERSION_STRING;
    d.vmid = wf_vmid (r, v);
    d.retain_mac = r->test ? 0 : v->bv->retain_mac;
    d.vcpus = v->bv->cpus;
    d.memory_mib = v->bv->memory_mib;
    /* the VM is named at the target as the blueprint says */
    saved_name = m->name;
    m->name = v->tname;
    e = hv_define_emit (m, &d, text, notes_out ? notes_out : &notes);
    m->name = saved_name;
    for (size_t i = 0; e == 0 && i < notes.len; i++) {
        wf_event (r, v, "note", notes.ptr[i]);
    }
    hv_str_vec_free (&notes);
    free (hd);
    free (hp);
    return e;
}

/* The guest-script bundle's files, into fs. */
static int
wf_bundle (struct wf_run *r, struct wf_vmr *v, struct wf_files *fs)
{
    struct vmshift_guest_opts g;
    enum hv_os_family os = hv_os_family (wf_model (v)->guest_os);
    const char *const *names;
    int e = 0;

    if (os == HV_OS_OTHER) {
        wf_event (r, v, "note", "guest OS family unknown: no guest-script "
                  "bundle");
        return 0;
    }
    vmshift_guest_opts_init (&g);
    g.os = os == HV_OS_WINDOWS ? VMSHIFT_GUEST_WINDOWS : VMSHIFT_GUEST_LINUX;
    g.mode = r->test || r->bp.ip == WF_BP_IP_NONE ? VMSHIFT_GUEST_MODE_KEEP
             : r->bp.ip == WF_BP_IP_DHCP ? VMSHIFT_GUEST_MODE_DHCP
             : VMSHIFT_GUEST_MODE_RETAIN;
    names = vmshift_guest_script_names (g.os);
    if (v->facts) {
        /* what VMware Tools reported: the addresses of a guest that was
         * never prepared (docs/vcenter.md) */
        char *text = NULL, *rel = NULL;

        e = wf_vc_ips_file (v->facts, &text);
        if (e == 0 && asprintf (&rel, "%s/guest/vmware-tools-ips.json",
                                v->tname) < 0) {
            rel = NULL;
            e = set_error (ENOMEM, "out of memory");
        }
        if (e == 0) {
            e = wf_files_add (r, fs, v, rel, text);
            text = NULL;
        }
        free (rel);
        free (text);
    }
    if (e == 0 && v->facts) {
        /* the same as a prepare record, for a guest nobody prepared */
        char *text = NULL, *rel = NULL, *summary = NULL;

        e = g.os == VMSHIFT_GUEST_WINDOWS
            ? wf_vc_win_record_file (v->facts, &text, &summary)
            : wf_vc_record_file (v->facts, &text, &summary);
        if (e == 0 && asprintf (&rel, "%s/guest/network.json",
                                v->tname) < 0) {
            rel = NULL;
            e = set_error (ENOMEM, "out of memory");
        }
        if (e == 0) {
            e = wf_files_add (r, fs, v, rel, text);
            text = NULL;
        }
        if (e == 0) {
            wf_event (r, v, "note", summary);
        }
        free (summary);
        free (rel);
        free (text);
    }
    for (size_t i = 0; e == 0 && names && names[i]; i++) {
        char *text = NULL, *rel = NULL;

        e = vmshift_guest_render (r->h, &g, names[i], &text);
        if (e == 0 && asprintf (&rel, "%s/guest/%s", v->tname, names[i]) < 0) {
            rel = NULL;
            e = set_error (ENOMEM, "out of memory");
        }
        if (e == 0) {
            e = wf_files_add (r, fs, v, rel, text);
            text = NULL;
        }
        free (rel);
        free (text);
    }
    return e;
}

static int
wf_mkdir (struct wf_run *r, const char *base, const char *rel)
{
    struct loc_handle l;
    char *loc = *rel ? wf_join (base, rel) : strdup (base);
    int e;

    if (!loc) {
        return set_error (ENOMEM, "out of memory");
    }
    e = wf_open_loc (r, loc, &l);
    if (e == 0) {
        e = backend_exists (l.be, l.path);
        if (e == 0) {
            e = backend_mkdir (l.be, l.path);
        } else if (e > 0) {
            e = 0;
        }
        wf_close_loc (r, &l);
    }
    free (loc);
    return e;
}

/* For the targets registered by the admin: the one script to run. */
static int
wf_register_script (struct wf_run *r, struct wf_vmr *v, const char *defname,
                    char **text, const char **name)
{
    struct sbuf b;

    vs_sbuf_init (&b, 65536);
    switch (wf_target_of (r->bp.hypervisor)->reg) {
    case WF_REG_PVE:
        *name = "register.sh";
        vs_sbuf_printf (&b, "#!/bin/sh\n# Register VM '%s' on this Proxmox "
                        "node (written by vmshift migrate, run %" PRId64 ").\n"
                        "set -eu\ncd \"$(dirname \"$0\")\"\n"
                        "test ! -e /etc/pve/qemu-server/%u.conf\n",
                        v->tname, r->id, wf_vmid (r, v));
        /* the disks go where the configuration says: STORAGE:VMID/... */
        for (size_t k = 0; k < v->ndisks; k++) {
            const char *base = strrchr (v->disks[k].rel, '/') + 1;
            const char *fmt = wf_vm_format (r, v);

            vs_sbuf_printf (&b, "d=$(pvesm path '%s:%u/vm-%u-disk-%zu.%s')\n"
                            "mkdir -p \"$(dirname \"$d\")\"\n"
                            "mv -n '%s' \"$d\"\n",
                            r->bp.storage ? r->bp.storage : "local",
                            wf_vmid (r, v), wf_vmid (r, v), k,
                            strcmp (fmt, "raw") == 0 ? "raw" : fmt, base);
        }
        vs_sbuf_printf (&b, "install -m 0640 %s /etc/pve/qemu-server/%u.conf\n",
                        defname, wf_vmid (r, v));
        if (v->bv->power_on && !r->test) {
            vs_sbuf_printf (&b, "qm start %u\n", wf_vmid (r, v));
        }
        break;
    case WF_REG_KUBECTL:
        *name = "register.sh";
        vs_sbuf_printf (&b, "#!/bin/sh\n# Create VM '%s' in the cluster "
                        "(written by vmshift migrate, run %" PRId64 ").\n"
                        "set -eu\ncd \"$(dirname \"$0\")\"\n"
                        "kubectl apply -f %s\n", v->tname, r->id, defname);
        break;
    default:
        *name = "register.ps1";
        vs_sbuf_printf (&b, "# Register VM '%s' on this Hyper-V host (written "
                        "by vmshift migrate, run %" PRId64 ").\n"
                        "$ErrorActionPreference = 'Stop'\n"
                        "& (Join-Path $PSScriptRoot '%s')\n", v->tname, r->id,
                        defname);
        break;
    }
    *text = vs_sbuf_detach (&b, NULL);
    return *text ? 0 : set_error (ENOMEM, "out of memory");
}

/* The files of one VM (definition, guest-script bundle, register
 * script) into fs. */
static int
wf_define_files (struct wf_run *r, struct wf_vmr *v, struct wf_files *fs)
{
    char *text = NULL, *rel = NULL, *defname = NULL;
    int e;

    if (asprintf (&defname, "%s.%s", v->tname,
                  wf_def_ext (r->bp.hypervisor)) < 0) {
        return set_error (ENOMEM, "out of memory");
    }
    e = wf_definition (r, v, &text, NULL);
    if (e == 0 && asprintf (&rel, "%s/%s", v->tname, defname) < 0) {
        rel = NULL;
        e = set_error (ENOMEM, "out of memory");
    }
    if (e == 0) {
        e = wf_files_add (r, fs, v, rel, text);
        text = NULL;
    }
    if (e == 0) {
        e = wf_bundle (r, v, fs);
    }
    if (e == 0 && wf_target_of (r->bp.hypervisor)->reg != WF_REG_API) {
        char *script = NULL, *srel = NULL;
        const char *sname;

        e = wf_register_script (r, v, defname, &script, &sname);
        if (e == 0 && asprintf (&srel, "%s/%s", v->tname, sname) < 0) {
            srel = NULL;
            e = set_error (ENOMEM, "out of memory");
        }
        if (e == 0) {
            e = wf_files_add (r, fs, v, srel, script);
            script = NULL;
        }
        free (srel);
        free (script);
    }
    free (text);
    free (rel);
    free (defname);
    return e;
}

/* The define phase's writes of one VM: its folder and guest folder, then
 * its files in order.  Only backends are touched, never the store (a
 * worker thread may do it; the caller journals the results). */
struct wf_dvm {
    struct wf_vmr *v;
    size_t from, to;            /* its files in the phase's wf_files */
    size_t ok;                  /* files written, from "from" on */
    bool tried;                 /* the file after those failed writing */
    int x;                      /* 0, or the first failure (err) */
    struct vmshift_error_save err;
    /* in parallel: the cached ontap:// handle its files are below, and
     * the paths on it of its folder, guest folder and files */
    const struct loc_handle *root;
    char *dir, *guest;
    char **paths;
};

/* mkdir that takes "exists" as success: one call where the folder is
 * there already */
static int
wf_be_mkdir (struct backend *be, const char *path)
{
    int e = backend_mkdir (be, path);

    if (e < 0 && (e == -EEXIST || backend_exists (be, path) == 1)) {
        clear_error ();
        e = 0;
    }
    return e;
}

static int
wf_be_write (struct backend *be, const char *path, const char *text)
{
    struct be_file *f = NULL;
    size_t len = strlen (text);
    int e;

    if (backend_exists (be, path) == 1) {
        backend_unlink (be, path);
    }
    e = backend_open (be, path, BE_RDWR | BE_CREATE, &f);
    if (e == 0) {
        e = backend_pwrite (f, text, len, 0);
        if (e == 0) {
            e = backend_flush (f);
        }
        backend_close (f);
    }
    return e;
}

/* be NULL: one VM after the other on the run's backends (wf_open_loc);
 * else on be, a worker's own connection to d->root's volume. */
static void
wf_define_vm (struct wf_run *r, struct backend *be, const struct wf_files *fs,
              struct wf_dvm *d)
{
    struct wf_vmr *v = d->v;
    int x;

    if (be) {
        wf_be_mkdir (be, d->dir);
        clear_error ();
        x = wf_be_mkdir (be, d->guest);
    } else {
        char *gd = NULL;

        wf_mkdir (r, v->loc, "");
        clear_error ();
        x = asprintf (&gd, "%s/guest", v->tname) < 0
            ? (gd = NULL, set_error (ENOMEM, "out of memory"))
            : wf_mkdir (r, v->loc, gd);
        free (gd);
    }
    for (size_t i = d->from; x == 0 && i < d->to; i++) {
        struct loc_handle l;

        if (be) {
            x = wf_be_write (be, d->paths[i - d->from], fs->f[i].text);
        } else if ((x = wf_open_loc (r, fs->f[i].loc, &l)) == 0) {
            x = wf_be_write (l.be, l.path, fs->f[i].text);
            wf_close_loc (r, &l);
        } else {
            continue;
        }
        d->tried = x < 0;
        d->ok += x == 0;
    }
    d->x = x;
    if (x < 0) {
        error_save (&d->err);
    }
}

struct wf_dpool {
    struct wf_run *r;
    const struct wf_files *fs;
    struct wf_dvm *dv;
    size_t n, next;
    pthread_mutex_t lock;
};

/* A worker: its own NFS connection to each volume it writes on (libnfs
 * contexts are single-threaded), one VM at a time. */
static void *
wf_define_worker (void *opaque)
{
    struct wf_dpool *p = opaque;
    struct { const struct loc_handle *root; struct backend *be; } c[8];
    size_t nc = 0;

    for (;;) {
        struct wf_dvm *d = NULL;
        struct backend *be = NULL;
        int e = 0;

        pthread_mutex_lock (&p->lock);
        if (p->next < p->n) {
            d = &p->dv[p->next++];
        }
        pthread_mutex_unlock (&p->lock);
        if (!d) {
            break;
        }
        clear_error ();
        for (size_t i = 0; i < nc && !be; i++) {
            be = c[i].root == d->root ? c[i].be : NULL;
        }
        if (!be && (e = vs_loc_ontap_nfs_again (p->r->h, d->root, &be)) == 0
            && nc < sizeof c / sizeof c[0]) {
            c[nc].root = d->root;
            c[nc++].be = be;
        }
        if (e < 0) {
            d->x = e;
            error_save (&d->err);
            continue;
        }
        wf_define_vm (p->r, be, p->fs, d);
        for (size_t i = 0; i < nc && be; i++) {
            be = c[i].be == be ? NULL : be;
        }
        backend_free (be);      /* one the cache had no room for */
    }
    for (size_t i = 0; i < nc; i++) {
        backend_free (c[i].be);
    }
    return NULL;
}

/* The cached ontap:// handle below which loc is, and loc's path on it;
 * NULL when loc's backend is not one (a local or nfs:// target). */
static const struct loc_handle *
wf_define_root (struct wf_run *r, const char *loc, char **path)
{
    const struct loc_handle *h = NULL;
    struct loc_handle l;

    *path = NULL;
    if (vs_loc_kind_of (loc) != LOC_ONTAP || wf_open_loc (r, loc, &l) < 0) {
        clear_error ();
        return NULL;
    }
    for (size_t i = 0; i < 2 + r->nvols && !h; i++) {
        const struct loc_handle *c = i < 2 ? &r->cache[i] : &r->vols[i - 2].h;

        if (c->be == l.be && c->ontap) {
            h = c;
        }
    }
    if (h) {
        *path = l.path;
        l.path = NULL;
    }
    wf_close_loc (r, &l);
    return *path ? h : NULL;
}

/* Where every VM of dv writes, on the run's cached ontap:// handles (the
 * workers' paths); false when one is not on ONTAP. */
static bool
wf_define_paths (struct wf_run *r, const struct wf_files *fs,
                 struct wf_dvm *dv, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        struct wf_dvm *d = &dv[k];
        char *gd = NULL;

        d->root = wf_define_root (r, d->v->loc, &d->dir);
        if (!d->root || asprintf (&gd, "%s/%s/guest", d->v->loc,
                                  d->v->tname) < 0 ||
            wf_define_root (r, gd, &d->guest) != d->root ||
            !(d->paths = calloc (d->to - d->from + 1, sizeof *d->paths))) {
            free (gd);
            return false;
        }
        free (gd);
        for (size_t i = d->from; i < d->to; i++) {
            if (wf_define_root (r, fs->f[i].loc, &d->paths[i - d->from]) !=
                d->root) {
                return false;
            }
        }
    }
    return true;
}

/* Write the files of the VMs dv[0..n).  On ONTAP, up to the blueprint's
 * concurrency VMs at once, each worker on its own NFS connections (the
 * round trips of one VM's folders and files overlap with the others');
 * elsewhere one VM after the other. */
static void
wf_define_write (struct wf_run *r, const struct wf_files *fs,
                 struct wf_dvm *dv, size_t n)
{
    struct wf_dpool p = { .r = r, .fs = fs, .dv = dv, .n = n };
    pthread_t th[16];
    size_t nth = r->bp.concurrency < 16 ? r->bp.concurrency : 16;

    if (nth > n) {
        nth = n;
    }
    if (nth > 1 && wf_define_paths (r, fs, dv, n)) {
        pthread_mutex_init (&p.lock, NULL);
        for (size_t i = 0; i < nth; i++) {
            if (pthread_create (&th[i], NULL, wf_define_worker, &p) != 0) {
                nth = i;
                break;
            }
        }
        for (size_t i = 0; i < nth; i++) {
            pthread_join (th[i], NULL);
        }
        pthread_mutex_destroy (&p.lock);
    } else {
        nth = 0;
    }
    for (size_t k = p.next; k < n; k++) {
        /* not on ONTAP, or no thread could start */
        clear_error ();
        wf_define_vm (r, NULL, fs, &dv[k]);
    }
    for (size_t k = 0; k < n; k++) {
        for (size_t i = 0; dv[k].paths && i < dv[k].to - dv[k].from; i++) {
            free (dv[k].paths[i]);
        }
        free (dv[k].paths);
        free (dv[k].dir);
        free (dv[k].guest);
    }
}

static int
wf_phase_define (struct wf_run *r)

{
    struct wf_files fs = { 0 };
    struct wf_dvm *dv = NULL;
    size_t at = 0, nd = 0;
    int e = 0;

    /* put every VM's files together; a VM whose files cannot be made
     * fails alone */
    for (size_t i = 0; i < r->n; i++) {
        struct wf_vmr *v = &r->vms[i];
        size_t from = fs.n;

        if (v->st != WF_VM_CONVERTED) {
            continue;
        }
        if (wf_define_files (r, v, &fs) < 0) {
            wf_files_truncate (&fs, from);
            if ((e = wf_vm_fail (r, v, "define")) < 0) {
                goto out;
            }
        }
    }
    /* every intent durable before the first file is written */
    if ((e = wf_files_intents (r, &fs)) < 0) {
        goto out;
    }
    for (size_t i = 0; i < r->n; i++) {
        struct wf_vmr *v = &r->vms[i];

        if (v->st != WF_VM_CONVERTED) {
            continue;
        }
        if (nd == 0 && !(dv = calloc (r->n, sizeof *dv))) {
            e = set_error (ENOMEM, "out of memory");
            goto out;
        }
        dv[nd] = (struct wf_dvm) { .v = v, .from = at };
        for (; at < fs.n && fs.f[at].v == v; at++) {
        }
        dv[nd++].to = at;
    }
    if (nd > 0) {
        wf_define_write (r, &fs, dv, nd);
    }
    /* the results, and the states: one commit (no sync of its own) */
    if (nd > 0 && (e = wf_tx_begin (r)) < 0) {
        goto out;
    }
    for (size_t k = 0; k < nd; k++) {
        struct wf_dvm *d = &dv[k];

        for (size_t i = d->from; i < d->to; i++) {
            size_t done = i - d->from;
            char *res = done < d->ok || (done == d->ok && d->tried)
                        ? wf_obj2 ("file", fs.f[i].loc, NULL, NULL) : NULL;

            /* written, failed writing (with its name), or not written
             * because the VM failed before it (the intent says so) */
            e = wf_j_finish (r->s, "write", fs.f[i].seq,
                             done < d->ok ? WF_J_DONE : WF_J_FAILED, res);
            free (res);
            if (e < 0) {
                wf_tx_rollback (r);
                goto out;
            }
        }
        if (d->x < 0) {
            error_restore (&d->err);
            e = wf_vm_fail (r, d->v, "define");
        } else {
            e = wf_vm_set (r, d->v, WF_VM_DEFINED, NULL);
        }
        if (e < 0) {
            wf_tx_rollback (r);
            goto out;
        }
    }
    if (nd > 0) {
        e = wf_tx_commit (r);
    }
out:
    free (dv);
    wf_files_free (&fs);
    return e;
}

/* ----------------------------------------------------------- register */

static int
wf_lv (struct wf_run *r)
{
    if (r->lvc && !hv_lvc_alive (r->lvc)) {
        /* lost (a retry after VIR_ERR_RPC): connect again */
        hv_lvc_close (r->lvc);
        r->lvc = NULL;
    }
    if (!r->lvc) {
        return hv_lvc_open (r->bp.uri, &r->lvc);
    }
    return 0;
}

/* The end of a step's effect x (0, or the -errno of the thread's
 * error): its result, done with rs or failed with the error, which is
 * kept for the caller. */
static void
wf_j_end (struct wf_run *r, const char *step, int64_t seq, int x,
          const char *rs)
{
    struct vmshift_error_save es;
    char *err = x < 0 ? wf_obj2 ("error", vmshift_internal_error_msg (), NULL,
                                 NULL) : NULL;

    error_save (&es);
    wf_j_finish (r->s, step, seq, x == 0 ? WF_J_DONE : WF_J_FAILED,
                 x == 0 ? rs : err);
    error_restore (&es);
    free (err);
}

/* Define v's domain from xml through the run's connection; a failure
 * the library calls retryable is tried again (wf_retry): defining the
 * same domain again only replaces its definition. */
static int
wf_lv_define_xml (struct wf_run *r, struct wf_vmr *v, const char *xml,
                  char uuid[37])
{
    int x;

    for (unsigned a = 1;; a++) {
        x = wf_lv (r);
        if (x == 0) {
            x = hv_lvc_define (r->lvc, xml, uuid);
        }
        if (x == 0 || !wf_retry (r, v, "define", a)) {
            return x;
        }
    }
}

/* Start v's domain (one already running is success), trying again what
 * fails retryably. */
static int
wf_lv_start (struct wf_run *r, struct wf_vmr *v, bool *started)
{
    int x;

    for (unsigned a = 1;; a++) {
        x = wf_lv (r);
        if (x == 0) {
            x = hv_lvc_start (r->lvc, v->tname, started);
        }
        if (x == 0 || !wf_retry (r, v, "power on", a)) {
            return x;
        }
    }
}

static int
wf_lv_define (struct wf_run *r, struct wf_vmr *v)
{
    char *text = NULL, *in;
    char uuid[37] = "";
    int64_t seq = 0;
    int e;

    if ((e = wf_definition (r, v, &text, NULL)) < 0) {
        return e;
    }
    in = wf_obj2 ("uri", r->bp.uri, "name", v->tname);
    e = in ? wf_j_intent (r->s, r->id, v->bv->name, "define", in, &seq)
           : -ENOMEM;
    free (in);
    if (e == 0) {
        e = wf_lv_define_xml (r, v, text, uuid);
    }
    if (seq > 0) {
        char *rs = e == 0 ? wf_obj2 ("name", v->tname, "uuid", uuid) : NULL;

        wf_j_end (r, "define", seq, e, rs);
        free (rs);
    }
    free (text);
    return e;
}

static int
wf_phase_register (struct wf_run *r)
{
    int64_t *seqs = NULL;
    char **defs = NULL;
    int e = 0;

    if (wf_target_of (r->bp.hypervisor)->reg != WF_REG_API) {
        for (size_t i = 0; i < r->n; i++) {
            struct wf_vmr *v = &r->vms[i];

            if (v->st != WF_VM_DEFINED) {
                continue;
            }
            if ((e = wf_vm_set (r, v, WF_VM_ADMIN, NULL)) < 0) {
                return e;
            }
            wf_event (r, v, "note", "registration is the admin's step: run "
                      "the register script beside the disks");
        }
        return 0;
    }
    seqs = calloc (r->n + 1, sizeof *seqs);
    defs = calloc (r->n + 1, sizeof *defs);
    if (!seqs || !defs) {
        e = set_error (ENOMEM, "out of memory");
        goto out;
    }
    /* the definitions, then every intent in one commit (one sync) */
    for (size_t i = 0; i < r->n; i++) {
        struct wf_vmr *v = &r->vms[i];

        if (v->st == WF_VM_DEFINED && wf_definition (r, v, &defs[i], NULL) < 0 &&
            (e = wf_vm_fail (r, v, "register")) < 0) {
            goto out;
        }
    }
    if ((e = wf_tx_begin (r)) < 0) {
        goto out;
    }
    for (size_t i = 0; i < r->n; i++) {
        struct wf_vmr *v = &r->vms[i];
        char *in;

        if (v->st != WF_VM_DEFINED || !defs[i]) {
            continue;
        }
        in = wf_obj2 ("uri", r->bp.uri, "name", v->tname);
        e = in ? wf_j_intent (r->s, r->id, v->bv->name, "define", in,
                              &seqs[i]) : -ENOMEM;
        free (in);
        if (e < 0) {
            wf_tx_rollback (r);
            goto out;
        }
    }
    if ((e = wf_tx_commit (r)) < 0) {
        goto out;
    }
    for (size_t i = 0; i < r->n; i++) {
        struct wf_vmr *v = &r->vms[i];
        char uuid[37] = "";
        int x;

        if (v->st != WF_VM_DEFINED || !defs[i]) {
            continue;
        }
        x = wf_lv_define_xml (r, v, defs[i], uuid);
        {
            char *rs = x == 0 ? wf_obj2 ("name", v->tname, "uuid", uuid)
                              : NULL;

            wf_j_end (r, "define", seqs[i], x, rs);
            free (rs);
        }
        e = x < 0 ? wf_vm_fail (r, v, "register")
                  : wf_vm_set (r, v, WF_VM_REGISTERED, NULL);
        if (e < 0) {
            goto out;
        }
    }
out:
    for (size_t i = 0; defs && i < r->n; i++) {
        free (defs[i]);
    }
    free (defs);
    free (seqs);
    return e;
}

/* Domains that a resumed run finds missing (libvirt's test driver keeps
 * them only while the defining process has its connection): define them
 * again; one that was started is started again by the power phase. */
static int
wf_lv_ensure (struct wf_run *r, struct wf_vmr *v)
{
    struct hv_lvc_info in;
    int e;

    if ((e = wf_lv (r)) < 0) {
        return e;
    }
    e = hv_lvc_info (r->lvc, v->tname, &in);
    if (e == -ENOENT && !v->vm) {
        /* a VM finished by an earlier process: its .vmx is read only
         * now that its definition is needed again */
        struct sbuf p;

        clear_error ();
        vs_sbuf_init (&p, 65536);
        e = wf_vm_resolve (r, v, &p);
        vs_sbuf_release (&p);
        if (e == 0) {
            e = -ENOENT;
        }
    }
    if (e == -ENOENT) {
        clear_error ();
        e = wf_lv_define (r, v);
    }
    return e;
}

/* ------------------------------------------------------------ power on */

static int
wf_phase_power (struct wf_run *r)
{
    int64_t *seqs;
    int e = 0;

    if (wf_target_of (r->bp.hypervisor)->reg != WF_REG_API) {
        return 0;
    }
    if (!(seqs = calloc (r->n + 1, sizeof *seqs))) {
        return set_error (ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < r->n;) {
        int order = r->bp.groups[r->vms[i].bv->group].boot_order;
        unsigned delay = 0;
        bool started_any = false;
        size_t j;

        /* the group's VMs: defined (again, for a test driver that forgot
         * them), then every start intent in one commit, then the starts */
        for (j = i; j < r->n &&
             r->bp.groups[r->vms[j].bv->group].boot_order == order; j++) {
            struct wf_vmr *v = &r->vms[j];

            seqs[j] = 0;
            /* complete ones too: a resumed run in a new process meets a
             * test driver that has forgotten them (no-op on libvirtd) */
            if (v->st != WF_VM_REGISTERED && v->st != WF_VM_STARTED &&
                v->st != WF_VM_COMPLETE) {
                continue;
            }
            if ((e = wf_lv_ensure (r, v)) < 0) {
                if ((e = wf_vm_fail (r, v, "register")) < 0) {
                    goto out;
                }
                continue;
            }
            if (!v->bv->power_on || r->test) {
                continue;
            }
            seqs[j] = -1;       /* to start */
        }
        if ((e = wf_tx_begin (r)) < 0) {
            goto out;
        }
        for (size_t k = i; k < j; k++) {
            struct wf_vmr *v = &r->vms[k];
            char *in;

            if (seqs[k] != -1) {
                continue;
            }
            in = wf_obj2 ("uri", r->bp.uri, "name", v->tname);
            e = in ? wf_j_intent (r->s, r->id, v->bv->name, "start", in,
                                  &seqs[k]) : -ENOMEM;
            free (in);
            if (e < 0) {
                wf_tx_rollback (r);
                goto out;
            }
        }
        if ((e = wf_tx_commit (r)) < 0) {
            goto out;
        }
        for (size_t k = i; k < j; k++) {
            struct wf_vmr *v = &r->vms[k];
            bool started = false;

            if (seqs[k] <= 0) {
                continue;
            }
            if (r->bp.groups[v->bv->group].boot_delay > delay) {
                delay = r->bp.groups[v->bv->group].boot_delay;
            }
            e = wf_lv_start (r, v, &started);
            wf_j_end (r, "start", seqs[k], e, NULL);
            if (e < 0) {
                if ((e = wf_vm_fail (r, v, "power on")) < 0) {
                    goto out;
                }
                continue;
            }
            started_any |= started;
            if (v->st == WF_VM_REGISTERED &&
                (e = wf_vm_set (r, v, WF_VM_STARTED, NULL)) < 0) {
                goto out;
            }
        }
        if (started_any && j < r->n && delay > 0) {
            char msg[64];

            snprintf (msg, sizeof msg, "waiting %u s (boot delay)", delay);
            wf_event (r, NULL, "boot-delay", msg);
            for (unsigned s = 0; s < delay; s++) {
                if (wf_abort_requested (r)) {
                    goto out;
                }
                sleep (1);
            }
        }
        i = j;
    }
out:
    free (seqs);
    return e;
}

static int
wf_phase_readback (struct wf_run *r)
{
    struct sbuf b;
    struct jsonw w;
    char *detail;
    int e;

    if (wf_target_of (r->bp.hypervisor)->reg == WF_REG_API &&
        (e = wf_lv (r)) < 0) {
        return e;
    }
    vs_sbuf_init (&b, 1 << 20);
    vs_jw_init (&w, &b, false);
    vs_jw_obj_begin (&w);
    vs_jw_key (&w, "domains");
    vs_jw_arr_begin (&w);
    for (size_t i = 0; i < r->n; i++) {
        struct wf_vmr *v = &r->vms[i];
        struct hv_lvc_info in;

        if (v->st != WF_VM_REGISTERED && v->st != WF_VM_STARTED &&
            v->st != WF_VM_COMPLETE) {
            continue;
        }
        e = hv_lvc_info (r->lvc, v->tname, &in);
        if (e < 0) {
            if ((e = wf_vm_fail (r, v, "read back")) < 0) {
                vs_sbuf_release (&b);
                return e;
            }
            continue;
        }
        v->lv_id = in.id;
        snprintf (v->lv_state, sizeof v->lv_state, "%s",
                  hv_lvc_state_name (in.state));
        vs_jw_obj_begin (&w);
        vs_jw_kv_str (&w, "vm", v->bv->name);
        vs_jw_kv_str (&w, "domain", v->tname);
        vs_jw_kv_str (&w, "uuid", in.uuid);
        vs_jw_kv_str (&w, "state", v->lv_state);
        vs_jw_kv_i64 (&w, "id", in.id);
        vs_jw_obj_end (&w);
        if (v->st != WF_VM_COMPLETE) {
            if ((e = wf_vm_set (r, v, WF_VM_COMPLETE, NULL)) < 0) {
                vs_sbuf_release (&b);
                return e;
            }
            wf_event (r, v, "migration complete", NULL);
        }
    }
    vs_jw_arr_end (&w);
    vs_jw_obj_end (&w);
    detail = vs_sbuf_detach (&b, NULL);
    e = detail ? wf_run_set_state (r->s, r->id, wf_run_state_name (r->st),
                                   detail) : set_error (ENOMEM, "out of memory");
    free (detail);
    return e;
}

/* --------------------------------------------------------------- runs */

static int
wf_run_finish (struct wf_run *r)
{
    bool failed = false, admin = false;

    for (size_t i = 0; i < r->n; i++) {
        failed |= r->vms[i].st == WF_VM_FAILED;
        admin |= r->vms[i].st == WF_VM_ADMIN;
    }
    if (failed) {
        wf_facts_drop (r);
        wf_run_set (r, WF_RUN_FAILED, NULL);
        return set_error (EIO, "run %" PRId64 ": some VMs failed (vmshift runs "
                          "show %" PRId64 ")", r->id, r->id);
    }
    return wf_run_set (r, admin ? WF_RUN_ADMIN : WF_RUN_COMPLETE, NULL);
}

static void
wf_release_lease (struct wf_run *r)
{
    struct vmshift_error_save es;

    error_save (&es);
    wf_lease_release (r->s, r->lease, r->id);
    wf_run_set_owner (r->s, r->id, NULL);
    error_restore (&es);
}

int
wf_run_step (struct wf_run *r)
{
    int e = 0;

    if (r->phase == WF_PH_PREFLIGHT) {
        if (r->st == WF_RUN_NEW || r->st == WF_RUN_FAILED) {
            if ((e = wf_run_set (r, WF_RUN_RUNNING, NULL)) < 0) {
                return e;
            }
        }
    }
    if (r->st != WF_RUN_RUNNING) {
        return set_error (EINVAL, "run %" PRId64 " is '%s', not running",
                          r->id, wf_run_state_name (r->st));
    }
    /* A safe point: renew the lease, honour an abort. */
    if ((e = wf_lease_acquire (r->s, r->lease, r->id, r->owner,
                               WF_LEASE_TTL, NULL)) < 0) {
        return e;
    }
    if (wf_abort_requested (r)) {
        e = wf_run_abort_now (r);
        return e < 0 ? e : set_error (ECANCELED, "run %" PRId64 " aborted",
                                      r->id);
    }
    switch (r->phase) {
    case WF_PH_PREFLIGHT: e = wf_phase_preflight (r); break;
    case WF_PH_SHUTDOWN: e = wf_phase_shutdown (r); break;
    case WF_PH_VMSNAP: e = wf_phase_vmsnap (r); break;
    case WF_PH_SNAPSHOT: e = wf_phase_snapshot (r); break;
    case WF_PH_CONVERT: e = wf_phase_convert (r); break;
    case WF_PH_SNAPSHOT_DONE:
        e = wf_snapshot_delete (r);
        if (e == 0) {
            e = wf_vmsnap_remove (r, false);
        }
        break;
    case WF_PH_DEFINE: e = wf_phase_define (r); break;
    case WF_PH_REGISTER: e = wf_phase_register (r); break;
    case WF_PH_POWER: e = wf_phase_power (r); break;
    case WF_PH_READBACK: e = wf_phase_readback (r); break;
    case WF_PH_END:
        e = wf_run_finish (r);
        wf_release_lease (r);
        return e < 0 ? e : 0;
    }
    if (e < 0) {
        /* a run-wide failure (the snapshot, the store): resumable */
        struct vmshift_error_save es;
        char *d;

        error_save (&es);
        wf_facts_drop (r);
        d = wf_obj2 ("error", es.msg, NULL, NULL);
        wf_run_set (r, WF_RUN_FAILED, d);
        free (d);
        wf_release_lease (r);
        error_restore (&es);
        return e;
    }
    r->phase++;
    return 1;
}

/* ------------------------------------------------------- construction */

static int
wf_run_setup (struct wf_run *r, const char *what)
{
    int e;

    if ((e = wf_blueprint_parse (r->doc, strlen (r->doc), what, &r->bp)) < 0) {
        return e;
    }
    r->location = r->test ? r->bp.test_location : r->bp.location;
    r->vcs = r->bp.vcenter != NULL;
    /* a vCenter source's volume is known once its facts are */
    if (!r->vcs && !(r->datastore = strdup (r->bp.datastore))) {
        return set_error (ENOMEM, "out of memory");
    }
    r->ontap = r->datastore && vs_loc_kind_of (r->datastore) == LOC_ONTAP;
    snprintf (r->lease, sizeof r->lease, "blueprint:%s%s", r->bp.name,
              r->test ? ":test" : "");
    wf_store_owner_self (r->owner, sizeof r->owner);
    r->n = r->bp.nvms;
    if (!(r->vms = calloc (r->n, sizeof *r->vms))) {
        return set_error (ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < r->n; i++) {
        struct wf_vmr *v = &r->vms[i];

        v->bv = &r->bp.vms[i];
        v->lv_id = -1;
        v->vol = -1;
        v->tname = wf_bp_target_name (v->bv, r->test);
        if (r->vcs) {
            /* a label: the VM is found by name in vCenter */
            if (asprintf (&v->vmx, "vcenter:%s/%s", r->bp.vcenter,
                          v->bv->name) < 0) {
                v->vmx = NULL;
            }
        } else {
            v->vmx = strstr (v->bv->vmx, "://") || v->bv->vmx[0] == '/'
                     ? strdup (v->bv->vmx)
                     : wf_join (r->bp.datastore, v->bv->vmx);
        }
        if (!v->tname || !v->vmx) {
            return set_error (ENOMEM, "out of memory");
        }
    }
    return 0;
}

/* Forget the VMs and the parsed blueprint (to set the run up again from
 * another text). */
static void
wf_run_drop (struct wf_run *r)
{
    for (size_t i = 0; i < r->n; i++) {
        struct wf_vmr *v = &r->vms[i];

        free (v->tname);
        free (v->vmx);
        free (v->reason);
        free (v->facts);
        free (v->vc_problem);
        free (v->loc);
        free (v->place_problem);
        free (v->volname);
        hv_vm_free (v->model);
        vmshift_vm_free (v->vm);
        for (size_t k = 0; v->disks && k < v->ndisks; k++) {
            free (v->disks[k].source);
            free (v->disks[k].target);
            free (v->disks[k].rel);
        }
        free (v->disks);
    }
    free (r->vms);
    r->vms = NULL;
    r->n = 0;
    wf_vols_free (r);
    wf_blueprint_release (&r->bp);
    free (r->datastore);
    r->datastore = NULL;
}

/* The wave's volume: the one the first disk with a location is on (the
 * preflight names any disk on another). */
static int
wf_vc_datastore (struct wf_run *r)
{
    for (size_t i = 0; i < r->n && !r->datastore; i++) {
        struct sbuf p;
        struct hv_vm *m = NULL;
        int e;

        if (!r->vms[i].facts) {
            continue;
        }
        vs_sbuf_init (&p, 1 << 20);
        e = wf_vc_model (r->vms[i].facts, &m, &p);
        vs_sbuf_release (&p);
        if (e < 0) {
            return e;
        }
        /* its folder: a location on the volume (the volume snapshot
         * needs only the volume) */
        for (size_t k = 0; k < m->disks.len && !r->datastore; k++) {
            if (strncmp (m->disks.ptr[k].file, "ontap://", 8) == 0) {
                r->datastore = wf_dir_of (m->disks.ptr[k].file);
            }
        }
        hv_vm_free (m);
    }
    r->ontap = r->datastore != NULL;
    return 0;
}

/* Each VM's facts from the inventory r->inv (fetched if need be). */
static int
wf_vc_attach (struct wf_run *r)
{
    int e;

    if (!r->inv && (e = wf_vc_inventory (r->h, r->bp.vcenter, &r->inv)) < 0) {
        return e;
    }
    for (size_t i = 0; i < r->n; i++) {
        struct wf_vmr *v = &r->vms[i];

        if (!v->facts && (e = wf_vc_facts (r->inv, r->bp.vcenter, v->bv->name,
                                           &v->facts, &v->vc_problem)) < 0) {
            return e;
        }
    }
    return 0;
}

/* A new run or a check of a vCenter source: read the inventory once,
 * write the folder groups' VMs into the blueprint text (the run keeps
 * that text), and take each VM's facts. */
static int
wf_vc_begin (struct wf_run *r, const char *what)
{
    struct wf_bp_pick *picks = NULL;
    size_t np = 0;
    bool folders = false;
    int e;

    if ((e = wf_vc_inventory (r->h, r->bp.vcenter, &r->inv)) < 0) {
        return e;
    }
    for (size_t i = 0; i < r->bp.ngroups; i++) {
        folders |= r->bp.groups[i].folder != NULL;
    }
    if (folders && (e = wf_vc_picks (r->inv, &r->bp, &picks, &np)) == 0) {
        char *doc = NULL;

        if (np == 0 && r->bp.nvms == 0) {
            e = set_error (EINVAL, "%s: groups: the folders hold no VM in "
                           "vCenter '%s'", what, r->bp.vcenter);
        } else {
            e = wf_blueprint_expand (r->doc, strlen (r->doc), what, picks, np,
                                     &doc);
        }
        if (e == 0) {
            wf_run_drop (r);
            free (r->doc);
            r->doc = doc;
            e = wf_run_setup (r, what);
        }
        wf_vc_picks_free (picks, np);
    }
    if (e == 0) {
        e = wf_vc_attach (r);
    }
    if (e == 0) {
        e = wf_vc_datastore (r);
    }
    return e;
}

/* The facts go into the journal (item VM, step "inventory"), so a
 * resumed run uses what it started with. */
static int
wf_vc_journal_facts (struct wf_run *r)
{
    for (size_t i = 0; i < r->n; i++) {
        struct wf_vmr *v = &r->vms[i];
        char *in;
        int64_t seq = 0;
        int e;

        if (!v->facts) {
            continue;
        }
        in = wf_obj2 ("vcenter", r->bp.vcenter, "vm", v->bv->name);
        e = in ? wf_j_intent (r->s, r->id, v->bv->name, "inventory", in, &seq)
               : -ENOMEM;
        free (in);
        if (e == 0) {
            e = wf_j_finish (r->s, "inventory", seq, WF_J_DONE, v->facts);
        }
        if (e < 0) {
            return e;
        }
    }
    return 0;
}

static int
wf_vc_load_facts (struct wf_run *r)
{
    bool missing = false;
    int e;

    for (size_t i = 0; i < r->n; i++) {
        struct wf_vmr *v = &r->vms[i];
        struct wf_jfind f;

        if ((e = wf_jfind (r, v->bv->name, "inventory", NULL, NULL, &f)) < 0) {
            return e;
        }
        free (f.intent);
        if (f.seq > 0 && f.status == WF_J_DONE && f.result) {
            v->facts = f.result;
        } else {
            free (f.result);
            missing = true;
        }
    }
    /* killed before the facts were kept: read them again */
    if (missing && wf_vc_attach (r) < 0) {
        for (size_t i = 0; i < r->n; i++) {
            if (!r->vms[i].facts && !r->vms[i].vc_problem) {
                r->vms[i].vc_problem = strdup (vmshift_internal_error_msg ());
            }
        }
        clear_error ();
    }
    return wf_vc_datastore (r);
}

static struct wf_run *
wf_run_alloc (struct vmshift_handle *h, struct wf_store *s, bool test,
              vmshift_event_fn ev, void *opaque)
{
    struct wf_run *r = calloc (1, sizeof *r);

    if (!r) {
        set_error (ENOMEM, "out of memory");
        return NULL;
    }
    r->h = h;
    r->s = s;
    r->test = test;
    r->ev = ev;
    r->opaque = opaque;
    r->intents0 = wf_intents;
    return r;
}

/* ------------------------------------------------ the snapshot name */

/* The name of the run's snapshots (ONTAP volume snapshots, vCenter VM
 * snapshots): vmshift-run-STOREID-ID.  Run IDs are unique within one
 * store only; the store's ID makes the name unique across stores (another
 * host's, root's and a user's), so a run never meets another store's run
 * under its own name (docs/blueprint.md, "VMs on several volumes").
 * Letters, digits and '-' only, 44 characters at most: within ONTAP's
 * rules (255 characters of [A-Za-z0-9_.-], ontap/snapshots.c) and
 * vCenter's. */
static int
wf_snap_name_new (const char *store_id, int64_t id, char **out)
{
    if (asprintf (out, "vmshift-run-%s-%" PRId64, store_id, id) < 0) {
        *out = NULL;
        return set_error (ENOMEM, "out of memory");
    }
    return 0;
}

static int
wf_snap_name_cb (void *opaque, const struct wf_journal_rec *j)
{
    char **name = opaque;

    if (*name == NULL && (strcmp (j->step, "snapshot") == 0 ||
                          strcmp (j->step, "vm-snapshot") == 0)) {
        *name = wf_json_str (j->intent, "name");
    }
    return 0;
}

/* A run loaded from the store keeps the name its journal holds: a run
 * that a version before store IDs began (vmshift-run-ID) goes on, and is
 * cleaned up, under the name its snapshots have.  A run that has not
 * asked for a snapshot yet takes the name a new run gets. */
int
wf_run_snap_name (struct wf_store *s, int64_t id, char **out)
{
    const char *sid;
    char *name = NULL;
    int e;

    *out = NULL;
    if ((e = wf_journal_list (s, id, wf_snap_name_cb, &name)) < 0) {
        free (name);
        return e;
    }
    if (name) {
        *out = name;
        return 0;
    }
    if ((e = wf_store_id (s, &sid)) < 0) {
        return e;
    }
    return wf_snap_name_new (sid, id, out);
}

int
wf_run_new (struct vmshift_handle *h, struct wf_store *s, const char *doc,
            const char *what, bool test, vmshift_event_fn ev, void *opaque,
            struct wf_run **out)
{
    struct wf_run *r;
    struct wf_run_rec rec = { 0 };
    const char *sid;
    int e;

    *out = NULL;
    /* before the run exists: a store without an ID makes no run */
    if ((e = wf_store_id (s, &sid)) < 0) {
        return e;
    }
    if (!(r = wf_run_alloc (h, s, test, ev, opaque))) {
        return -ENOMEM;
    }
    if (!(r->doc = strdup (doc))) {
        free (r);
        return set_error (ENOMEM, "out of memory");
    }
    if ((e = wf_run_setup (r, what)) < 0 ||
        (r->vcs && (e = wf_vc_begin (r, what)) < 0)) {
        wf_run_free (r);
        return e;
    }
    rec.kind = (char *) "migrate";
    rec.name = r->bp.name;
    rec.state = (char *) wf_run_state_name (WF_RUN_NEW);
    rec.doc = r->doc;
    rec.owner = r->owner;
    rec.flags = test ? WF_RUN_TEST : 0;
    if ((e = wf_store_begin (s)) < 0) {
        wf_run_free (r);
        return e;
    }
    e = wf_run_create (s, &rec);
    for (size_t i = 0; e == 0 && i < r->n; i++) {
        e = wf_item_put (s, rec.id, r->vms[i].bv->name,
                         wf_vm_state_name (WF_VM_PENDING), NULL);
    }
    if (e == 0) {
        e = wf_store_commit (s);
    } else {
        struct vmshift_error_save es;

        error_save (&es);
        wf_store_rollback (s);
        error_restore (&es);
    }
    if (e < 0) {
        wf_run_free (r);
        return e;
    }
    r->id = rec.id;
    r->st = WF_RUN_NEW;
    if ((e = wf_snap_name_new (sid, r->id, &r->snap_name)) < 0) {
        wf_run_free (r);
        return e;
    }
    if (r->vcs && (e = wf_vc_journal_facts (r)) < 0) {
        wf_run_free (r);
        return e;
    }
    *out = r;
    return 0;
}

static int
wf_item_load_cb (void *opaque, const struct wf_item_rec *it)
{
    struct wf_run *r = opaque;

    for (size_t i = 0; i < r->n; i++) {
        if (strcmp (r->vms[i].bv->name, it->item) == 0) {
            char *reason = wf_json_str (it->detail, "reason");

            if (wf_vm_state_parse (it->state, &r->vms[i].st) < 0) {
                free (reason);
                return -EINVAL;
            }
            free (r->vms[i].reason);
            r->vms[i].reason = reason;
        }
    }
    return 0;
}

/* Bytes of the disks a run converted, from the journal's "convert"
 * results ({"cloned/copied": "N/M"}); false for other entries. */
bool
wf_journal_bytes (const struct wf_journal_rec *j, uint64_t *cloned,
                  uint64_t *copied)
{
    char *cc;
    unsigned long long a, b;
    bool ok;

    if (j->status != WF_J_DONE || strcmp (j->step, "convert") != 0) {
        return false;
    }
    cc = wf_json_str (j->result, "cloned/copied");
    ok = cc && sscanf (cc, "%llu/%llu", &a, &b) == 2;
    free (cc);
    if (ok) {
        *cloned = a;
        *copied = b;
    }
    return ok;
}

static int
wf_bytes_load_cb (void *opaque, const struct wf_journal_rec *j)
{
    struct wf_run *r = opaque;
    uint64_t cl, cp;

    if (!wf_journal_bytes (j, &cl, &cp)) {
        return 0;
    }
    for (size_t i = 0; i < r->n; i++) {
        struct wf_vmr *v = &r->vms[i];

        if (strcmp (v->bv->name, j->item) == 0) {
            v->b0_cloned += cl;
            v->b0_copied += cp;
            v->b_cloned = v->b0_cloned;
            v->b_copied = v->b0_copied;
            v->b_total = v->b_done = v->b_cloned + v->b_copied;
        }
    }
    return 0;
}

void
wf_run_set_listener (struct wf_run *r, vmshift_run_event_fn fn)
{
    r->ev2 = fn;
}

void
wf_run_announce (struct wf_run *r)
{
    for (size_t i = 0; i < r->n; i++) {
        wf_event_x (r, &r->vms[i], "status", NULL, false);
    }
}

int
wf_run_load (struct vmshift_handle *h, struct wf_store *s, int64_t id,
             vmshift_event_fn ev, void *opaque, struct wf_run **out)
{
    struct wf_run_rec rec;
    struct wf_run *r;
    char what[64];
    int e;

    *out = NULL;
    if ((e = wf_run_get (s, id, &rec)) < 0) {
        return e;
    }
    if (strcmp (rec.kind, "migrate") != 0 || !rec.doc) {
        wf_run_rec_clear (&rec);
        return set_error (EINVAL, "run %" PRId64 " is not a migration", id);
    }
    r = wf_run_alloc (h, s, (rec.flags & WF_RUN_TEST) != 0, ev, opaque);
    if (!r) {
        wf_run_rec_clear (&rec);
        return -ENOMEM;
    }
    r->id = id;
    r->doc = rec.doc;
    rec.doc = NULL;
    e = wf_run_state_parse (rec.state, &r->st);
    wf_run_rec_clear (&rec);
    snprintf (what, sizeof what, "run %" PRId64 "'s blueprint", id);
    if (e == 0) {
        e = wf_run_setup (r, what);
    }
    if (e == 0) {
        e = wf_item_list (s, id, wf_item_load_cb, r);
    }
    if (e == 0) {
        e = wf_journal_list (s, id, wf_bytes_load_cb, r);
    }
    if (e == 0) {
        e = wf_journal_list (s, id, wf_facts_load_cb, r);
    }
    if (e == 0) {
        e = wf_run_snap_name (s, id, &r->snap_name);
    }
    if (e == 0 && r->vcs) {
        e = wf_vc_load_facts (r);
    }
    if (e < 0) {
        wf_run_free (r);
        return e;
    }
    *out = r;
    return 0;
}

int
wf_run_claim (struct wf_run *r)
{
    struct wf_lease_rec holder = { 0 };
    int e = wf_lease_acquire (r->s, r->lease, r->id, r->owner, WF_LEASE_TTL,
                              &holder);

    if (e == -EBUSY && holder.run_id == r->id &&
        wf_store_owner_dead (holder.owner) == 1) {
        /* this run's own process died: take over */
        clear_error ();
        e = wf_lease_steal (r->s, r->lease, holder.owner, r->id, r->owner,
                            WF_LEASE_TTL);
    } else if (e == -EBUSY && wf_store_owner_dead (holder.owner) == 1) {
        /* another run of this blueprint died holding it: that run
         * stays resumable; this one may go */
        clear_error ();
        e = wf_lease_steal (r->s, r->lease, holder.owner, r->id, r->owner,
                            WF_LEASE_TTL);
    } else if (e == -EBUSY) {
        e = set_error (EBUSY, "blueprint '%s' is already running as run "
                       "%lld (%s)", r->bp.name, (long long) holder.run_id,
                       holder.owner);
    }
    wf_lease_rec_clear (&holder);
    if (e == 0) {
        e = wf_run_set_owner (r->s, r->id, r->owner);
    }
    return e;
}

void
wf_run_free (struct wf_run *r)
{
    if (!r) {
        return;
    }
    hv_lvc_close (r->lvc);
    for (int i = 0; i < 2; i++) {
        if (r->cache[i].be) {
            vs_loc_close (&r->cache[i]);
        }
    }
    for (size_t i = 0; i < r->nqto; i++) {
        wf_ontap_close (r, r->qto[i]);
        free (r->qto[i]);
    }
    free (r->qto);
    for (size_t i = 0; i < r->nqt; i++) {
        free (r->qt[i].name);
    }
    free (r->qt);
    wf_facts_free (r);
    wf_run_drop (r);
    vmshift_vcenter_close (r->vc);
    free (r->inv);
    free (r->snap_name);
    free (r->doc);
    free (r);
}

int64_t
wf_run_id (const struct wf_run *r)
{
    return r->id;
}

void
wf_run_get_stats (const struct wf_run *r, struct vmshift_run_stats *st)
{
    size_t n = st->struct_size;

    if (n > sizeof *st) {
        n = sizeof *st;
    }
    {
        struct vmshift_run_stats s = r->stats;

        s.struct_size = st->struct_size;
        s.vms = r->n;
        s.disks = 0;
        for (size_t i = 0; i < r->n; i++) {
            s.disks += r->vms[i].ndisks;
        }
        /* the convert run's requests are counted in all and per disk */
        s.rest_requests += s.rest_requests_disks;
        s.journal_intents = wf_intents - r->intents0 + r->step_intents;
        memcpy (st, &s, n);
    }
}

/* ------------------------------------------------- undo: abort, cleanup */

/* What an undo (wf_undo) takes back.  WF_UNDO_TEMPS is for a VM handed
 * over to the target (wf_vm_handed_over), whose disks, domain and files
 * stay: only the temporary names its "clone" entries list, which a
 * process killed while it published a disk can leave beside it (a
 * second name of the published disk), each removed only when its name
 * carries the run's ID; the entries are not marked undone.
 * WF_UNDO_NO_LEASES keeps the leases of the run's ID: a process of the
 * run is working (a resume). */
#define WF_UNDO_DOMAINS 1u      /* also remove defined domains */
#define WF_UNDO_TEMPS 2u
#define WF_UNDO_NO_LEASES 4u

struct wf_undo {
    struct wf_run *r;
    const char *only_item;      /* NULL: every item */
    const char *only_target;    /* NULL: the "clone" entries of any disk */
    unsigned how;               /* WF_UNDO_* */
    int64_t seqs[8192];
    char *locs[8192];
    char *steps[8192];
    char *items[8192];
    char *ids[8192];            /* a qtree's id, from the result */
    size_t n;
};

static int
wf_undo_cb (void *opaque, const struct wf_journal_rec *j)
{
    struct wf_undo *u = opaque;

    if (u->n >= 8192 || j->status == WF_J_UNDONE ||
        (u->only_item && strcmp (j->item, u->only_item) != 0) ||
        ((u->how & WF_UNDO_TEMPS) && strcmp (j->step, "clone") != 0)) {
        return 0;
    }
    if (u->only_target && strcmp (j->step, "clone") == 0) {
        char *t = j->intent ? wf_json_str (j->intent, "target") : NULL;
        bool other = !t || strcmp (t, u->only_target) != 0;

        free (t);
        if (other) {
            return 0;
        }
    }
    if (strcmp (j->step, "convert") == 0 || strcmp (j->step, "write") == 0) {
        u->locs[u->n] = wf_json_str (j->intent, strcmp (j->step, "convert")
                                     == 0 ? "target" : "file");
    } else if (strcmp (j->step, "define") == 0 &&
               (u->how & WF_UNDO_DOMAINS)) {
        u->locs[u->n] = wf_json_str (j->intent, "name");
    } else if (strcmp (j->step, "mkdir") == 0 ||
               strcmp (j->step, "qtree") == 0) {
        /* a failed one made nothing */
        if (j->status == WF_J_FAILED) {
            return 0;
        }
        u->locs[u->n] = wf_json_str (j->intent, "dir");
        u->ids[u->n] = j->result ? wf_json_str (j->result, "id") : NULL;
    } else if (strcmp (j->step, "clone") == 0) {
        /* the conversion's temporaries (engine/convert.h): the intent */
        u->locs[u->n] = j->intent ? strdup (j->intent) : NULL;
    } else {
        return 0;
    }
    if (!u->locs[u->n]) {
        return 0;
    }
    u->seqs[u->n] = j->seq;
    u->steps[u->n] = strdup (j->step);
    u->items[u->n] = strdup (j->item);
    u->n++;
    return 0;
}

/* Temporaries a dead process of ours left beside a target (the engine's
 * old names: ".NAME.vmshift.HOST.PID.RAND.tmp"). */
static bool
wf_is_tmp_of (const char *name, const char *base)
{
    size_t bl = strlen (base), nl = strlen (name);

    return name[0] == '.' && strncmp (name + 1, base, bl) == 0 &&
           strncmp (name + 1 + bl, ".vmshift.", 9) == 0 && nl > 4 &&
           strcmp (name + nl - 4, ".tmp") == 0;
}

/* The folders an undo removes files from, each listed once (no process
 * of the run writes while its journal is undone): the names found, less
 * those removed since.  Keyed by the folder's location. */
struct wf_dir {
    char *loc;
    char **names;
    size_t n, cap;
    bool listed;
};

struct wf_dirs {
    struct wf_dir *d;
    size_t n, cap;
};

static void
wf_dirs_free (struct wf_dirs *ds)
{
    for (size_t i = 0; i < ds->n; i++) {
        for (size_t k = 0; k < ds->d[i].n; k++) {
            free (ds->d[i].names[k]);
        }
        free (ds->d[i].names);
        free (ds->d[i].loc);
    }
    free (ds->d);
    memset (ds, 0, sizeof *ds);
}

/* The entry of the folder loc[0, n): found, or added unlisted. */
static struct wf_dir *
wf_dir_get (struct wf_dirs *ds, const char *loc, size_t n)
{
    for (size_t i = 0; i < ds->n; i++) {
        if (strlen (ds->d[i].loc) == n && strncmp (ds->d[i].loc, loc, n) == 0) {
            return &ds->d[i];
        }
    }
    if (ds->n == ds->cap) {
        size_t c = ds->cap ? 2 * ds->cap : 16;
        void *np = realloc (ds->d, c * sizeof *ds->d);

        if (!np) {
            return NULL;
        }
        ds->d = np;
        ds->cap = c;
    }
    memset (&ds->d[ds->n], 0, sizeof ds->d[ds->n]);
    if (!(ds->d[ds->n].loc = strndup (loc, n))) {
        return NULL;
    }
    return &ds->d[ds->n++];
}

static int
wf_dir_cb (void *opaque, const char *name)
{
    struct wf_dir *d = opaque;

    if (strcmp (name, ".") == 0 || strcmp (name, "..") == 0) {
        return 0;
    }
    if (d->n == d->cap) {
        size_t c = d->cap ? 2 * d->cap : 16;
        void *np = realloc (d->names, c * sizeof *d->names);

        if (!np) {
            return set_error (ENOMEM, "out of memory");
        }
        d->names = np;
        d->cap = c;
    }
    if (!(d->names[d->n] = strdup (name))) {
        return set_error (ENOMEM, "out of memory");
    }
    d->n++;
    return 0;
}

/* Run fn on loc's backend and its path there (wf_open_loc, then
 * wf_close_loc): what every step that touches one location does. */
typedef int (*wf_loc_fn) (struct backend *be, const char *path,
                          void *opaque);

static int
wf_with_loc (struct wf_run *r, const char *loc, wf_loc_fn fn, void *opaque)
{
    struct loc_handle l;
    int e = wf_open_loc (r, loc, &l);

    if (e < 0) {
        return e;
    }
    e = fn (l.be, l.path, opaque);
    wf_close_loc (r, &l);
    return e;
}

struct wf_unlink {
    struct wf_dir *d;
};

/* Remove path and the old-style temporaries of its name, as its folder's
 * listing (made here once per undo) has them; a file not there is not an
 * error, and neither is a temporary that cannot be removed. */
static int
wf_unlink_at (struct backend *be, const char *path, void *opaque)
{
    struct wf_dir *d = ((struct wf_unlink *) opaque)->d;
    const char *slash = strrchr (path, '/');
    const char *base = slash ? slash + 1 : path;
    char *dir = slash ? strndup (path, (size_t) (slash - path)) : strdup (".");
    int e = 0;

    if (!dir) {
        return set_error (ENOMEM, "out of memory");
    }
    if (!d->listed) {
        e = backend_list (be, dir, wf_dir_cb, d);
        if (e == -ENOENT) {
            clear_error ();     /* no folder: nothing in it to remove */
            e = 0;
        }
        d->listed = e == 0;
    }
    for (size_t i = 0; e == 0 && i < d->n;) {
        bool main = strcmp (d->names[i], base) == 0;
        char *p;
        int x;

        if (!main && !wf_is_tmp_of (d->names[i], base)) {
            i++;
            continue;
        }
        if (!(p = vs_path_join (dir, d->names[i]))) {
            e = set_error (ENOMEM, "out of memory");
            break;
        }
        x = backend_unlink (be, p);
        free (p);
        if (x == -ENOENT || (x < 0 && !main)) {
            clear_error ();
            x = 0;
        }
        if (x < 0) {
            e = x;
            break;
        }
        free (d->names[i]);
        d->names[i] = d->names[--d->n];
    }
    free (dir);
    return e;
}

/* Remove the file at loc (and the old-style temporaries of its name);
 * its folder is listed once per undo (ds). */
static int
wf_unlink_loc (struct wf_run *r, struct wf_dirs *ds, const char *loc)
{
    const char *slash = strrchr (loc, '/');
    struct wf_unlink u = {
        .d = wf_dir_get (ds, loc, slash ? (size_t) (slash - loc) : 0)
    };

    if (!u.d) {
        return set_error (ENOMEM, "out of memory");
    }
    return wf_with_loc (r, loc, wf_unlink_at, &u);
}

/* Whether name, a temporary a "clone" intent lists beside target (base:
 * its name), is one of the run's own (engine/exec/owner.h: the run's ID
 * own in it), never the target's name. */
static bool
wf_tmp_is_own (const char *name, const char *base, const char *own)
{
    char run[VS_RUN_HEX + 1], kind[16];

    return own[0] && strcmp (name, base) != 0 &&
           vs_owner_parse_file (name, NULL, run, kind, sizeof kind) &&
           strcmp (run, own) == 0 && strncmp (kind, "tmp", 3) == 0;
}

/* The temporaries a "clone" intent names ("tmp0".., beside "target"),
 * and the lease of the run's ID there (own, "" if none): no process of
 * the run is converting when the journal is undone.  how (WF_UNDO_*):
 * TEMPS, a name only when it is the run's own (wf_tmp_is_own); NO_LEASES,
 * no lease. */
static int
wf_unlink_temps (struct wf_run *r, struct wf_dirs *ds, const char *intent,
                 const char *own, unsigned how)
{
    char *target = wf_json_str (intent, "target");
    const char *slash = target ? strrchr (target, '/') : NULL;
    char *lease = NULL;
    int e = 0;

    if (slash && own[0] && !(how & WF_UNDO_NO_LEASES) &&
        asprintf (&lease, "%.*s/.vmshift.%s.lease", (int) (slash - target),
                  target, own) > 0) {
        e = wf_unlink_loc (r, ds, lease);
        free (lease);
    }

    for (int i = 0; slash && i < 8 && e == 0; i++) {
        char k[8], *name, *loc = NULL;

        snprintf (k, sizeof k, "tmp%d", i);
        if ((name = wf_json_str (intent, k)) == NULL) {
            break;
        }
        if (strchr (name, '/') == NULL && name[0] == '.' &&
            (!(how & WF_UNDO_TEMPS) || wf_tmp_is_own (name, slash + 1, own)) &&
            asprintf (&loc, "%.*s/%s", (int) (slash - target), target,
                      name) > 0) {
            e = wf_unlink_loc (r, ds, loc);
            free (loc);
        }
        free (name);
    }
    free (target);
    return e;
}

static int
wf_count_cb (void *opaque, const char *name)
{
    size_t *n = opaque;

    if (strcmp (name, ".") != 0 && strcmp (name, "..") != 0) {
        (*n)++;
    }
    return 0;
}

static int
wf_rmdir_at (struct backend *be, const char *path, void *opaque)
{
    int e = backend_exists (be, path);

    (void) opaque;
    if (e == 1) {
        e = backend_rmdir (be, path);
        if (e == 0) {
            e = 1;
        } else if (e == -ENOTEMPTY) {
            clear_error ();
            e = 0;
        }
    } else if (e == 0) {
        e = 1;
    }
    return e;
}

/* A folder the run made, removed when empty: 1 removed (or gone), 0 left
 * as it is (something is in it), -errno. */
static int
wf_rmdir_loc (struct wf_run *r, const char *loc)
{
    return wf_with_loc (r, loc, wf_rmdir_at, NULL);
}

/* How many entries the folder at path has (0 when it is not there): a
 * listing of its own, never the undo's, since a qtree is deleted with
 * whatever is in it. */
static int
wf_count_at (struct backend *be, const char *path, void *opaque)
{
    int e = backend_exists (be, path);

    if (e == 1) {
        e = backend_list (be, path, wf_count_cb, opaque);
    }
    return e < 0 ? e : 0;
}

/* A qtree the run made (id: as made, or NULL when the process died
 * before it learnt it), deleted when empty: ONTAP deletes a qtree with
 * its files, so it is listed first.  1 deleted (or gone), 0 left as it
 * is (not empty, or another qtree of that name now), -errno. */
static int
wf_qtree_remove (struct wf_run *r, const char *loc, const char *id)
{
    struct ontap_qtree q = { .security_style = -1 };
    struct wf_ontap o;
    size_t n = 0;
    int e = wf_with_loc (r, loc, wf_count_at, &n);

    if (e < 0 || n > 0) {
        return e < 0 ? e : 0;
    }
    e = wf_ontap_open_at (r, loc, &o);
    if (e == 0) {
        e = ontap_qtree_find (o.c, &o.vol, o.loc.path, &q);
        if (e == -ENOENT) {
            clear_error ();
            e = 1;
        } else if (e == 0 && id && strtoull (id, NULL, 10) != q.id) {
            e = 0;              /* not the one the run made */
        } else if (e == 0) {
            e = ontap_qtree_delete (o.c, &o.vol, &q);
            e = e < 0 ? e : 1;
        }
        ontap_qtree_release (&q);
    }
    wf_ontap_close (r, &o);
    return e;
}

/* The lease of the run's ID at the root of a "clone" target's volume
 * (ontap://PROFILE/VOLUME/...), where the conversion holds one while it
 * works (docs/internals/ontap-flow.md, "Run ownership"). */
static int
wf_unlink_root_lease (struct wf_run *r, struct wf_dirs *ds, const char *intent,
                      const char *own)
{
    char *target = wf_json_str (intent, "target"), *loc = NULL;
    const char *p = target && strncmp (target, "ontap://", 8) == 0
                    ? strchr (target + 8, '/') : NULL;
    int e = 0;

    p = p ? strchr (p + 1, '/') : NULL;
    if (p && asprintf (&loc, "%.*s/.vmshift.%s.lease", (int) (p - target),
                       target, own) > 0) {
        e = wf_unlink_loc (r, ds, loc);
        free (loc);
    }
    free (target);
    return e;
}

/* Local targets: remove the VM folders the run made once empty. */
static void
wf_rmdirs (struct wf_run *r, struct wf_vmr *v)
{
    /* a local target has one location (no {volume}, no map) */
    const char *base = v->loc ? v->loc : r->location;
    char *d, *g;

    if (!base || vs_loc_kind_of (base) != LOC_LOCAL) {
        return;
    }
    d = wf_join (base, v->tname);
    g = d ? wf_join (d, "guest") : NULL;
    if (g) {
        rmdir (g);
    }
    if (d) {
        rmdir (d);
    }
    free (g);
    free (d);
}

/* Undo item's journal entries ("" the run's own, NULL all), last
 * first, as how says (WF_UNDO_*); target: only the "clone" entries of
 * that disk (NULL: all).  ds: the folders listed so far by this abort
 * or cleanup. */
static int
wf_undo (struct wf_run *r, struct wf_dirs *ds, const char *item,
         const char *target, unsigned how)
{
    struct wf_undo *u = calloc (1, sizeof *u);
    char own[VS_RUN_HEX + 1] = "";
    bool root_lease = (how & WF_UNDO_NO_LEASES) != 0;  /* gone or kept */
    int e, first = 0;

    if (!u) {
        return set_error (ENOMEM, "out of memory");
    }
    u->r = r;
    u->only_item = item;
    u->only_target = target;
    u->how = how;
    e = wf_journal_list (r->s, r->id, wf_undo_cb, u);
    if (e == 0) {
        e = wf_owner_find (r, own);
    }
    for (size_t i = u->n; e == 0 && i-- > 0;) {
        int x;

        if (strcmp (u->steps[i], "define") == 0) {
            x = wf_lv (r);
            if (x == 0) {
                x = hv_lvc_remove (r->lvc, u->locs[i], NULL);
            }
        } else if (strcmp (u->steps[i], "clone") == 0) {
            x = wf_unlink_temps (r, ds, u->locs[i], own, how);
            if (x == 0 && own[0] && !root_lease) {
                x = wf_unlink_root_lease (r, ds, u->locs[i], own);
                root_lease = x == 0;
            }
        } else if (strcmp (u->steps[i], "mkdir") == 0 ||
                   strcmp (u->steps[i], "qtree") == 0) {
            /* only when empty: what is in it stays (a VM handed over,
             * the admin's files), and the entry stays not undone */
            x = u->steps[i][0] == 'm' ? wf_rmdir_loc (r, u->locs[i])
                : wf_qtree_remove (r, u->locs[i], u->ids[i]);
            if (x == 0) {
                char msg[600];

                snprintf (msg, sizeof msg, "'%s' is not empty: left as it "
                          "is", u->locs[i]);
                wf_event (r, NULL, "note", msg);
                continue;
            }
            x = x < 0 ? x : 0;
        } else {
            x = wf_unlink_loc (r, ds, u->locs[i]);
            if (x == 0 && own[0] && strcmp (u->steps[i], "convert") == 0) {
                /* a process of the run took the lease of its ID in the
                 * disk's folder (and at the volume root) before it
                 * began the disk: no "clone" entry names it when the
                 * process died first */
                char *in = wf_obj2 ("target", u->locs[i], NULL, NULL);

                x = in ? wf_unlink_temps (r, ds, in, own, how)
                       : set_error (ENOMEM, "out of memory");
                if (x == 0 && !root_lease) {
                    x = wf_unlink_root_lease (r, ds, in, own);
                    root_lease = x == 0;
                }
                free (in);
            }
        }
        if (x == 0 && !(how & WF_UNDO_TEMPS)) {
            x = wf_j_finish (r->s, u->steps[i], u->seqs[i], WF_J_UNDONE,
                             NULL);
        }
        if (x < 0 && first == 0) {
            first = x;
            wf_event (r, NULL, "undo-failed", vmshift_internal_error_msg ());
        }
    }
    for (size_t i = 0; i < u->n; i++) {
        free (u->locs[i]);
        free (u->steps[i]);
        free (u->items[i]);
        free (u->ids[i]);
    }
    free (u);
    return e < 0 ? e : first;
}

/* A disk a killed process of the run had put in place: the temporary
 * names its "clone" entries list go, as for a VM handed over (one is a
 * second name of the disk when the process died in the middle of its
 * publish, between link and unlink); its leases stay for
 * wf_recovered_leases.  One that cannot be removed is a warning. */
static void
wf_recovered_temps (struct wf_run *r, const struct wf_vmr *v,
                    const char *target)
{
    struct wf_dirs ds = { 0 };

    if (wf_undo (r, &ds, v->bv->name, target,
                 WF_UNDO_TEMPS | WF_UNDO_NO_LEASES) < 0) {
        vs_log_msg (&r->h->log, LOG_WARN, "'%s': a temporary of an "
                    "interrupted process is left beside it: %s", target,
                    vmshift_get_error ());
    }
    clear_error ();
    wf_dirs_free (&ds);
}

int
wf_run_abort_now (struct wf_run *r)
{
    struct wf_dirs ds = { 0 };
    int e = 0, x;

    if (r->st == WF_RUN_RUNNING || r->st == WF_RUN_FAILED) {
        if ((e = wf_run_set (r, WF_RUN_ABORTING, NULL)) < 0) {
            return e;
        }
    }
    for (size_t i = 0; i < r->n; i++) {
        struct wf_vmr *v = &r->vms[i];

        if (wf_vm_handed_over (v->st)) {
            wf_event (r, v, "note", "already handed over to the target: left "
                      "as it is");
            /* but for the temporary names a killed process left */
            if ((x = wf_undo (r, &ds, v->bv->name, NULL,
                              WF_UNDO_TEMPS)) < 0 && e == 0) {
                e = x;
            }
            continue;
        }
        if (!wf_vm_can (v->st, WF_VM_ABORTED)) {
            continue;
        }
        x = wf_undo (r, &ds, v->bv->name, NULL, WF_UNDO_DOMAINS);
        wf_rmdirs (r, v);
        if (x < 0 && e == 0) {
            e = x;
        }
        if ((x = wf_vc_power_back (r, v)) < 0 && e == 0) {
            e = x;
            wf_event (r, v, "undo-failed", vmshift_internal_error_msg ());
        }
        clear_error ();
        if ((x = wf_vm_set (r, v, WF_VM_ABORTED, "aborted")) < 0) {
            wf_dirs_free (&ds);
            return x;
        }
    }
    /* the location's folders and qtree, when the run made them and
     * nothing is left in them */
    if ((x = wf_undo (r, &ds, "", NULL, 0)) < 0 && e == 0) {
        e = x;
    }
    if ((x = wf_snapshot_delete (r)) < 0 && e == 0) {
        e = x;
    }
    if (e == 0) {
        e = wf_run_set (r, WF_RUN_ABORTED, NULL);
    }
    wf_dirs_free (&ds);
    wf_release_lease (r);
    return e;
}

int
wf_run_cleanup (struct wf_run *r)
{
    struct wf_dirs ds = { 0 };
    int e, x;

    if (r->st == WF_RUN_RUNNING || r->st == WF_RUN_ABORTING ||
        r->st == WF_RUN_NEW) {
        return set_error (EBUSY, "run %" PRId64 " is '%s': abort it first",
                          r->id, wf_run_state_name (r->st));
    }
    if (!r->test && (r->st == WF_RUN_COMPLETE || r->st == WF_RUN_ADMIN)) {
        return set_error (EPERM, "run %" PRId64 " is a finished migration; "
                          "cleanup only removes test runs and failed or "
                          "aborted ones", r->id);
    }
    if (r->st == WF_RUN_CLEANED) {
        return 0;
    }
    /* Hand-over is undone too, for a test run; a real failed run keeps
     * what it handed over (registered domains stay). */
    e = 0;
    for (size_t i = 0; i < r->n; i++) {
        struct wf_vmr *v = &r->vms[i];

        if (!r->test && wf_vm_handed_over (v->st)) {
            /* but for the temporary names a killed process left */
            if ((x = wf_undo (r, &ds, v->bv->name, NULL,
                              WF_UNDO_TEMPS)) < 0 && e == 0) {
                e = x;
            }
            continue;
        }
        x = wf_undo (r, &ds, v->bv->name, NULL, WF_UNDO_DOMAINS);
        wf_rmdirs (r, v);
        if (x < 0 && e == 0) {
            e = x;
        }
        if (x == 0 && wf_vm_can (v->st, WF_VM_CLEANED)) {
            if ((x = wf_vm_set (r, v, WF_VM_CLEANED, NULL)) < 0) {
                wf_dirs_free (&ds);
                return x;
            }
        }
    }
    if ((x = wf_undo (r, &ds, "", NULL, 0)) < 0 && e == 0) {
        e = x;
    }
    if ((x = wf_snapshot_delete (r)) < 0 && e == 0) {
        e = x;
    }
    if ((x = wf_vmsnap_remove (r, true)) < 0 && e == 0) {
        e = x;
    }
    if (e == 0) {
        e = wf_run_set (r, WF_RUN_CLEANED, NULL);
    }
    wf_dirs_free (&ds);
    return e;
}

/* ------------------------------------------------------------- check */

/* The wave's volumes and the snapshot the run will take of each (its
 * name carries the store's ID and the run's, known once the run is
 * made in a store). */
static void
wf_check_volumes (struct wf_run *r, bool json, struct sbuf *b,
                  struct jsonw *w)
{
    if (json) {
        vs_jw_key (w, "volumes");
        vs_jw_arr_begin (w);
    }
    for (size_t i = 0; i < r->nvols; i++) {
        size_t nv = 0;

        if (json) {
            vs_jw_obj_begin (w);
            vs_jw_kv_str (w, "volume", r->vols[i].loc);
            vs_jw_kv_str (w, "snapshot", "vmshift-run-STOREID-ID");
            vs_jw_kv_str (w, "target", r->vols[i].root);
            vs_jw_key (w, "vms");
            vs_jw_arr_begin (w);
        } else {
            vs_sbuf_printf (b, "volume '%s': snapshot "
                            "'vmshift-run-STOREID-ID', targets in '%s', "
                            "VMs:", r->vols[i].loc,
                            r->vols[i].root);
        }
        for (size_t k = 0; k < r->n; k++) {
            if (r->vms[k].vol != (int) i) {
                continue;
            }
            if (json) {
                vs_jw_str (w, r->vms[k].bv->name);
            } else {
                vs_sbuf_printf (b, "%s %s", nv ? "," : "",
                                r->vms[k].bv->name);
            }
            nv++;
        }
        if (json) {
            vs_jw_arr_end (w);
            vs_jw_obj_end (w);
        } else {
            vs_sbuf_addch (b, '\n');
        }
    }
    if (json) {
        vs_jw_arr_end (w);
    }
}

int
wf_run_check (struct vmshift_handle *h, const char *doc, const char *what,
              bool test, bool json, char **report)
{
    struct wf_run *r = wf_run_alloc (h, NULL, test, NULL, NULL);
    struct sbuf b;
    struct jsonw w;
    int e, problems = 0;

    *report = NULL;
    if (!r) {
        return -ENOMEM;
    }
    if (!(r->doc = strdup (doc))) {
        wf_run_free (r);
        return set_error (ENOMEM, "out of memory");
    }
    if ((e = wf_run_setup (r, what)) < 0 ||
        (r->vcs && (e = wf_vc_begin (r, what)) < 0)) {
        wf_run_free (r);
        return e;
    }
    vs_sbuf_init (&b, 8 << 20);
    vs_jw_init (&w, &b, true);
    if (json) {
        vs_jw_obj_begin (&w);
        vs_jw_kv_str (&w, "blueprint", r->bp.name);
        vs_jw_kv_str (&w, "target", r->location ? r->location
                                                : "(target.locations)");
        vs_jw_key (&w, "vms");
        vs_jw_arr_begin (&w);
    } else {
        vs_sbuf_printf (&b, "blueprint '%s': %zu VMs, target '%s'\n",
                        r->bp.name, r->n, r->location ? r->location
                                                      : "(target.locations)");
    }
    for (size_t i = 0; i < r->n; i++) {
        struct wf_vmr *v = &r->vms[i];
        struct sbuf p, nb;
        char *txt, *ntxt;
        const struct wf_bp_group *g = &r->bp.groups[v->bv->group];

        vs_sbuf_init (&p, 65536);
        vs_sbuf_init (&nb, 65536);
        e = wf_vm_preflight (r, v, &p, &nb);
        if (e < 0) {
            vs_sbuf_printf (&p, "vms.%s: %s\n", v->bv->name,
                            vmshift_internal_error_msg ());
            clear_error ();
        }
        txt = vs_sbuf_detach (&p, NULL);
        ntxt = vs_sbuf_detach (&nb, NULL);
        if (json) {
            vs_jw_obj_begin (&w);
            vs_jw_kv_str (&w, "vm", v->bv->name);
            vs_jw_kv_str (&w, "vmx", v->vmx);
            vs_jw_kv_str (&w, "target_name", v->tname);
            vs_jw_kv_str (&w, "location", v->loc ? v->loc : "");
            vs_jw_kv_str (&w, "volume", v->vol >= 0 ? r->vols[v->vol].loc
                                                    : "");
            vs_jw_kv_str (&w, "group", g->name);
            vs_jw_kv_i64 (&w, "boot_order", g->boot_order);
            vs_jw_key (&w, "disks");
            vs_jw_arr_begin (&w);
            for (size_t k = 0; k < v->ndisks; k++) {
                vs_jw_obj_begin (&w);
                vs_jw_kv_str (&w, "source", v->disks[k].source);
                vs_jw_kv_str (&w, "target", v->disks[k].target);
                vs_jw_obj_end (&w);
            }
            vs_jw_arr_end (&w);
            vs_jw_key (&w, "problems");
            vs_jw_arr_begin (&w);
        } else {
            vs_sbuf_printf (&b, "vm '%s' (%s, group '%s', boot order %d) -> "
                            "'%s'\n", v->bv->name, v->vmx, g->name,
                            g->boot_order, v->tname);
            for (size_t k = 0; k < v->ndisks; k++) {
                vs_sbuf_printf (&b, "  disk %s -> %s\n", v->disks[k].source,
                                v->disks[k].target);
            }
        }
        for (char *l = txt, *nl; l && *l; l = nl + 1) {
            nl = strchr (l, '\n');
            if (!nl) {
                break;
            }
            *nl = '\0';
            problems++;
            if (json) {
                vs_jw_str (&w, l);
            } else {
                vs_sbuf_printf (&b, "  problem: %s\n", l);
            }
        }
        free (txt);
        if (json) {
            vs_jw_arr_end (&w);
            vs_jw_key (&w, "notes");
            vs_jw_arr_begin (&w);
        }
        for (char *l = ntxt, *nl; l && *l; l = nl + 1) {
            if (!(nl = strchr (l, '\n'))) {
                break;
            }
            *nl = '\0';
            if (json) {
                vs_jw_str (&w, l);
            } else {
                vs_sbuf_printf (&b, "  note: %s\n", l);
            }
        }
        free (ntxt);
        if (json) {
            vs_jw_arr_end (&w);
            vs_jw_obj_end (&w);
        }
    }
    if (json) {
        vs_jw_arr_end (&w);
    }
    wf_check_volumes (r, json, &b, &w);
    if (json) {
        vs_jw_kv_i64 (&w, "problems", problems);
        vs_jw_obj_end (&w);
        vs_sbuf_addch (&b, '\n');
    } else {
        vs_sbuf_printf (&b, "%d problem%s\n", problems,
                        problems == 1 ? "" : "s");
    }
    *report = vs_sbuf_detach (&b, NULL);
    wf_run_free (r);
    if (!*report) {
        return set_error (ENOMEM, "out of memory");
    }
    return problems;
}
