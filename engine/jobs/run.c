/* vmshift job run (docs/jobs.md, "Running a job"):
 *
 *   lease "job:NAME" in the run store (a second run exits at once)
 *   -> repair runs of the job that were interrupted (kill -9, power)
 *   -> record the generation number -> volume snapshot
 *   -> convert every disk from the snapshot -> record what was made
 *   -> retention (files first, then kept snapshots) -> release.
 *
 * Every side effect is journalled before it happens (intent) and after
 * (result), so the repair knows what an interrupted run may have left:
 * its targets and their temporaries, and its snapshot.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/backend/backend.h"
#include "engine/base/error.h"
#include "engine/base/json.h"
#include "engine/base/jsonw.h"
#include "engine/base/sbuf.h"
#include "engine/exec/beio.h"
#include "engine/exec/exec.h"
#include "engine/exec/result.h"
#include "engine/handle.h"
#include "engine/jobs/jobint.h"
#include "engine/location.h"
#include "engine/workflow/store.h"
#include "hypervisors/hv.h"
#include "ontap/ontap.h"

#define JOB_VMX_MAX (1024 * 1024)

void
vmshift_job_run_opts_init (struct vmshift_job_run_opts *o)
{
    memset (o, 0, sizeof *o);
    o->struct_size = sizeof *o;
}

/* "vm" and "disk" of a source location: the file's name without its
 * extension, and the name of the folder it is in. */
static void
jr_names (const char *loc, char *vm, size_t vn, char *disk, size_t dn)
{
    const char *slash = strrchr (loc, '/');
    const char *base = slash ? slash + 1 : loc;
    const char *dot = strrchr (base, '.');
    const char *pstart = loc;

    snprintf (disk, dn, "%.*s", (int) (dot ? (size_t) (dot - base)
                                            : strlen (base)), base);
    if (slash && slash > loc) {
        for (const char *p = slash - 1; p > loc; p--) {
            if (*p == '/') {
                pstart = p + 1;
                break;
            }
        }
        snprintf (vm, vn, "%.*s", (int) (slash - pstart), pstart);
    } else {
        snprintf (vm, vn, "%s", disk);
    }
}

static int
jr_add_disk (struct job_run *jr, const char *source, const char *vm)
{
    char vmb[256], diskb[256];
    struct job_name_vars v;
    struct jr_disk *nd;
    char *rel = NULL;
    int r;

    jr_names (source, vmb, sizeof vmb, diskb, sizeof diskb);
    v.vm = vm ? vm : vmb;
    v.disk = diskb;
    v.when = jr->start;
    v.generation = jr->generation;
    if ((r = job_name_expand (jr->d->pattern, &v, &rel)) < 0) {
        return r;
    }
    nd = realloc (jr->disks, (jr->n + 1) * sizeof *nd);
    if (nd == NULL) {
        free (rel);
        return set_error (ENOMEM, "out of memory");
    }
    jr->disks = nd;
    memset (&nd[jr->n], 0, sizeof nd[jr->n]);
    nd[jr->n].source = strdup (source);
    nd[jr->n].target = vs_path_join (jr->d->location, rel);
    nd[jr->n].rel = rel;
    jr->n++;
    if (nd[jr->n - 1].source == NULL || nd[jr->n - 1].target == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    for (size_t i = 0; i + 1 < jr->n; i++) {
        if (strcmp (nd[i].target, nd[jr->n - 1].target) == 0) {
            return set_error (EINVAL, "'%s': key 'target.name': disks '%s' "
                              "and '%s' both get the name '%s'", jr->d->file,
                              nd[i].source, source, rel);
        }
    }
    return 0;
}

/* The disks of a VM, from its .vmx; their files are relative to it. */
static int
jr_add_vm (struct job_run *jr, const char *vmx)
{
    char vmb[256], diskb[256];
    struct hv_vm *vm = NULL;
    char *buf = NULL, *dir = NULL;
    const char *slash = strrchr (vmx, '/');
    size_t len = 0;
    int r;

    jr_names (vmx, vmb, sizeof vmb, diskb, sizeof diskb);
    if ((r = vs_loc_read_whole (jr->h, vmx, JOB_VMX_MAX, &buf, &len)) < 0) {
        return r;
    }
    r = hv_vm_from_vmx (buf, len, vmx, diskb, &vm);
    free (buf);
    if (r < 0) {
        return r;
    }
    dir = strndup (vmx, slash ? (size_t) (slash - vmx) : 0);
    for (size_t i = 0; r == 0 && dir && i < vm->disks.len; i++) {
        const struct hv_disk *dk = &vm->disks.ptr[i];
        char *src;

        if (dk->kind != HV_DEV_DISK || dk->file == NULL) {
            continue;
        }
        if (dk->file[0] == '/' || strstr (dk->file, "..")) {
            r = set_error (EINVAL, "'%s': disk '%s' is not in the VM's "
                           "folder; list it in source.disks instead", vmx,
                           dk->file);
            break;
        }
        src = vs_path_join (dir, dk->file);
        r = src ? jr_add_disk (jr, src, diskb) : -ENOMEM;
        free (src);
    }
    free (dir);
    hv_vm_free (vm);
    return r;
}

static int
jr_disks (struct job_run *jr)
{
    int r;

    for (size_t i = 0; i < jr->d->n_disks; i++) {
        if ((r = jr_add_disk (jr, jr->d->disks[i], NULL)) < 0) {
            return r;
        }
    }
    for (size_t i = 0; i < jr->d->n_vms; i++) {
        if ((r = jr_add_vm (jr, jr->d->vms[i])) < 0) {
            return r;
        }
    }
    if (jr->n == 0) {
        return set_error (EINVAL, "'%s': the sources name no disks",
                          jr->d->file);
    }
    return 0;
}

/* ------------------------------------------------------------- snapshot */

/* ONTAP snapshot names: vmshift-job_<name>_<storeid>_g<generation>, with
 * every character of the job name that is not [A-Za-z0-9_-] as '_'.
 * Generation numbers are unique within one store only; the store's ID
 * (docs/internals/store.md, "Store ID") makes the name unique across
 * stores (another host's, root's and a user's), so two stores' runs of
 * a job of one name on one volume never meet under one name.  At most
 * 12 + 64 + 1 + 12 + 2 + 20 = 111 characters: within ONTAP's 255
 * (ontap/snapshots.c).  Only new runs: a recorded snapshot keeps the
 * name its record holds (docs/jobs.md, "Snapshot names"). */
static int
jr_snap_name (const struct job_run *jr, char *buf, size_t n)
{
    const char *sid;
    int r;

    if ((r = wf_store_id (jr->st, &sid)) < 0) {
        return r;
    }
    snprintf (buf, n, "vmshift-job_%s_%s_g%" PRIu64, jr->d->name, sid,
              jr->generation);
    for (char *c = buf; *c; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9') || *c == '_' || *c == '-')) {
            *c = '_';
        }
    }
    return 0;
}

static char *
jr_snap_json (const char *name, const char *k2, const char *v2)
{
    struct sbuf b;
    struct jsonw w;

    vs_sbuf_init (&b, 4096);
    vs_jw_init (&w, &b, false);
    vs_jw_obj_begin (&w);
    vs_jw_kv_str (&w, "snapshot", name);
    if (k2) {
        vs_jw_kv_str (&w, k2, v2);
    }
    vs_jw_obj_end (&w);
    return vs_sbuf_detach (&b, NULL);
}

/* The snapshot of the generation.  A snapshot of its name that exists
 * before the run asked for it is not the run's: an admin's, or one a
 * copy of this store's run made.  Converting from it would copy another
 * moment's data, and deleting it would take somebody else's snapshot:
 * the run fails, and the step is journalled failed, so neither a repair
 * nor the run's own clean-up deletes it.  The snapshot made is known by
 * its UUID from then on (recorded in the journal and the run's record):
 * every delete takes that snapshot only. */
static int
jr_snapshot (struct job_run *jr)
{
    struct ontap_client *c = vs_loc_ontap_client (&jr->tgt);
    const struct ontap_volume *v = vs_loc_ontap_volume (&jr->tgt);
    struct ontap_snapshot s;
    char *intent = NULL, *res = NULL, comment[128];
    bool asked = false;
    int64_t seq;
    int r;

    if (c == NULL) {
        return 0;       /* local: sources are read in place (docs) */
    }
    if ((r = jr_snap_name (jr, jr->snap_name, sizeof jr->snap_name)) < 0) {
        return r;
    }
    if ((intent = jr_snap_json (jr->snap_name, NULL, NULL)) == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    jr->snap_t = (int64_t) time (NULL);
    r = wf_journal_intent (jr->st, jr->run.id, "", "snapshot", intent, &seq);
    free (intent);
    if (r < 0) {
        return r;
    }
    r = ontap_snapshot_find (c, v, jr->snap_name, &s);
    if (r == 0) {
        ontap_snapshot_release (&s);
        res = jr_snap_json (jr->snap_name, "error", "exists, not this run's");
        wf_journal_finish (jr->st, seq, WF_J_FAILED, res);
        free (res);
        return set_error (EEXIST, "snapshot '%s' exists and is not this "
                          "run's (made by hand, or by a copy of this "
                          "store?); it is left alone", jr->snap_name);
    }
    if (r == -ENOENT) {
        clear_error ();
        asked = true;
        snprintf (comment, sizeof comment, "vmshift job %s generation %"
                  PRIu64, jr->d->name, jr->generation);
        r = ontap_snapshot_create (c, v, jr->snap_name, comment, &s);
    }
    if (r < 0) {
        struct vmshift_error_save e;
        struct job_snap_id id = { jr->snap_name, NULL,
                                  jr->snap_t - JOB_SNAP_SKEW, 0 };

        error_save (&e);
        /* a create that failed may have made it (it was not there a
         * moment ago); one made by another since (EEXIST) is left, and
         * so is anything when the lookup failed (nothing was asked) */
        if (asked && r != -EEXIST) {
            job_snapshot_delete (jr, &id);
        }
        wf_journal_finish (jr->st, seq, WF_J_FAILED, NULL);
        error_restore (&e);
        return r;
    }
    snprintf (jr->snap_uuid, sizeof jr->snap_uuid, "%s", s.uuid);
    ontap_snapshot_release (&s);
    jr->snap_made = true;
    res = jr_snap_json (jr->snap_name, "uuid", jr->snap_uuid);
    r = res ? wf_journal_finish (jr->st, seq, WF_J_DONE, res)
            : set_error (ENOMEM, "out of memory");
    free (res);
    return r;
}

/* ------------------------------------------------------------- convert */

static void
jr_disk_record (struct job_run *jr, struct jr_disk *dk, struct sbuf *b)
{
    struct jsonw w;

    vs_jw_init (&w, b, false);
    vs_jw_obj_begin (&w);
    vs_jw_kv_str (&w, "source", dk->source);
    vs_jw_kv_str (&w, "target", dk->target);
    vs_jw_kv_bool (&w, "ok", dk->ok);
    vs_jw_kv_bool (&w, "existed", dk->existed);
    vs_jw_kv_u64 (&w, "bytes_shared", dk->shared);
    vs_jw_kv_u64 (&w, "bytes_copied", dk->copied);
    vs_jw_kv_u64 (&w, "fileid", dk->fileid);
    if (dk->n_others) {
        vs_jw_key (&w, "others");
        vs_jw_arr_begin (&w);
        for (size_t i = 0; i < dk->n_others; i++) {
            vs_jw_obj_begin (&w);
            vs_jw_kv_str (&w, "target", dk->others[i].target);
            vs_jw_kv_u64 (&w, "fileid", dk->others[i].fileid);
            vs_jw_obj_end (&w);
        }
        vs_jw_arr_end (&w);
    }
    if (dk->err) {
        vs_jw_kv_str (&w, "error", dk->err);
    }
    vs_jw_obj_end (&w);
    (void) jr;
}

/* The files the conversion made besides the target, from its result
 * (a VMDK target's extent, a qcow2 data file: whatever the format
 * wrote), each with its file id, so that retention deletes them with the
 * target and only while they are still the files the job made. */
static void
jr_others (struct job_run *jr, struct jr_disk *dk,
           const struct vmshift_result *res)
{
    const char *slash = strrchr (dk->target, '/');

    if (slash == NULL) {
        return;
    }
    for (size_t k = 0; k < res->nout && dk->n_others < JOB_MAX_OTHERS; k++) {
        const char *p = res->out[k].path;
        const char *b = p ? strrchr (p, '/') : NULL;
        struct jr_other *o = &dk->others[dk->n_others];

        b = b ? b + 1 : p;
        if (b == NULL || !*b || strcmp (b, slash + 1) == 0) {
            continue;
        }
        if (asprintf (&o->target, "%.*s/%s", (int) (slash - dk->target),
                      dk->target, b) < 0) {
            o->target = NULL;
            continue;
        }
        o->fileid = job_fileid (jr, o->target);
        dk->n_others++;
    }
}

static int
jr_convert (struct job_run *jr)
{
    struct vmshift_convert_opts o;
    const char **src = calloc (jr->n, sizeof *src);
    const char **dst = calloc (jr->n, sizeof *dst);
    struct vmshift_result **res = calloc (jr->n, sizeof *res);
    char **errs = calloc (jr->n, sizeof *errs);
    int r = 0;

    if (!src || !dst || !res || !errs) {
        r = set_error (ENOMEM, "out of memory");
        goto out;
    }
    /* one transaction: every intent is durable before any conversion
     * starts, at the cost of one commit instead of one per disk */
    r = wf_store_begin (jr->st);
    for (size_t i = 0; i < jr->n && r == 0; i++) {
        struct sbuf b;
        char *intent;

        src[i] = jr->disks[i].source;
        jr->disks[i].existed = job_target_exists (jr, jr->disks[i].target) == 1;
        dst[i] = jr->disks[i].target;
        vs_sbuf_init (&b, 16384);
        jr_disk_record (jr, &jr->disks[i], &b);
        intent = vs_sbuf_detach (&b, NULL);
        r = intent ? wf_journal_intent (jr->st, jr->run.id, jr->disks[i].rel,
                                        "convert", intent,
                                        &jr->disks[i].seq)
                   : -ENOMEM;
        free (intent);
    }
    if (r == 0) {
        r = wf_store_commit (jr->st);
    } else {
        wf_store_rollback (jr->st);
    }
    if (r < 0) {
        goto out;
    }
    vmshift_convert_opts_init (&o);
    o.to = jr->d->format;
    o.parallel = jr->d->on_ontap ? jr->d->concurrency : 0;
    o.snapshot = jr->snap_made ? jr->snap_name : NULL;
    vmshift_convert_many (jr->h, jr->n, src, dst, &o, res, errs);
    clear_error ();
    for (size_t i = 0; i < jr->n; i++) {
        struct jr_disk *dk = &jr->disks[i];

        if (res[i]) {
            const struct vmshift_stats *st = vmshift_result_stats (res[i]);

            dk->ok = true;
            dk->shared = st->bytes_cloned;
            dk->copied = st->bytes_copied;
            job_target_fileid (jr, dk);
            jr_others (jr, dk, res[i]);
        } else {
            dk->err = errs[i] ? strdup (errs[i]) : strdup ("failed");
        }
    }
    r = 0;
out:
    for (size_t i = 0; res && errs && i < jr->n; i++) {
        vmshift_result_free (res[i]);
        free (errs[i]);
    }
    free (src);
    free (dst);
    free (res);
    free (errs);
    return r;
}

/* Journal each disk's result and its item. */
static int
jr_record_disks_tx (struct job_run *jr)
{
    for (size_t i = 0; i < jr->n; i++) {
        struct jr_disk *dk = &jr->disks[i];
        struct sbuf b;
        char *rec;
        int r;

        vs_sbuf_init (&b, 16384);
        jr_disk_record (jr, dk, &b);
        rec = vs_sbuf_detach (&b, NULL);
        if (rec == NULL) {
            return -ENOMEM;
        }
        r = wf_journal_finish (jr->st, dk->seq,
                               dk->ok ? WF_J_DONE : WF_J_FAILED, rec);
        if (r == 0) {
            r = wf_item_put (jr->st, jr->run.id, dk->rel,
                             dk->ok ? "done" : "failed", rec);
        }
        free (rec);
        if (r < 0) {
            return r;
        }
        jr->shared += dk->shared;
        jr->copied += dk->copied;
        jr->failed += dk->ok ? 0 : 1;
    }
    return 0;
}

static int
jr_record_disks (struct job_run *jr)
{
    int r = wf_store_begin (jr->st);

    if (r == 0 && (r = jr_record_disks_tx (jr)) == 0) {
        return wf_store_commit (jr->st);
    }
    if (r < 0) {
        struct vmshift_error_save e;

        error_save (&e);
        wf_store_rollback (jr->st);
        error_restore (&e);
    }
    return r;
}

/* A failed generation is removed whole unless keep_partial. */
static void
jr_drop_partial (struct job_run *jr)
{
    if (jr->failed == 0 || jr->d->keep_partial) {
        return;
    }
    for (size_t i = 0; i < jr->n; i++) {
        struct jr_disk *dk = &jr->disks[i];

        if (dk->ok && job_delete_disk (jr, dk, jr->generation,
                                       "discard") == 0) {
            dk->ok = false;
            free (dk->err);
            dk->err = strdup ("removed: another disk of the generation "
                              "failed (keep_partial is false)");
        }
    }
}

/* ------------------------------------------------------------- the run */

static const char *
jr_result (const struct job_run *jr)
{
    if (jr->failed == 0) {
        return "done";
    }
    if (jr->failed == jr->n || !jr->d->keep_partial) {
        return "failed";
    }
    return "partial";
}

/* key: [the comma-separated JSON values in items] */
static void
jr_raw_array (struct jsonw *w, const char *key, const struct sbuf *items)
{
    char *a = NULL;

    if (asprintf (&a, "[%s]", items->len ? items->data : "") < 0) {
        vs_sbuf_printf (w->b, "%s", "");   /* keep going; sticky below */
        w->b->err = w->b->err ? w->b->err : -ENOMEM;
        return;
    }
    vs_jw_key (w, key);
    vs_jw_raw (w, a);
    free (a);
}

char *
job_run_detail (const struct job_run *jr, const char *state)
{
    struct sbuf b;
    struct jsonw w;

    vs_sbuf_init (&b, 16 * 1024 * 1024);
    vs_jw_init (&w, &b, false);
    vs_jw_obj_begin (&w);
    vs_jw_kv_str (&w, "job", jr->d->name);
    vs_jw_kv_u64 (&w, "run", (uint64_t) jr->run.id);
    vs_jw_kv_str (&w, "result", state);
    vs_jw_kv_u64 (&w, "generation", jr->generation);
    vs_jw_kv_i64 (&w, "start", jr->start);
    vs_jw_kv_i64 (&w, "end", jr->end);
    if (jr->snap_name[0]) {
        vs_jw_kv_str (&w, "snapshot", jr->snap_name);
        if (jr->snap_uuid[0]) {
            vs_jw_kv_str (&w, "snapshot_uuid", jr->snap_uuid);
        }
        vs_jw_kv_bool (&w, "snapshot_kept", jr->snap_made &&
                                            jr->d->keep_snapshot);
    }
    vs_jw_kv_u64 (&w, "bytes_shared", jr->shared);
    vs_jw_kv_u64 (&w, "bytes_copied", jr->copied);
    vs_jw_kv_u64 (&w, "disks_failed", jr->failed);
    vs_jw_kv_double (&w, "seconds", jr->t_end - jr->t_start);
    vs_jw_kv_double (&w, "seconds_store", job_store_seconds (jr->st));
    vs_jw_key (&w, "disks");
    vs_jw_arr_begin (&w);
    for (size_t i = 0; i < jr->n; i++) {
        struct sbuf one;
        char *rec;

        vs_sbuf_init (&one, 16384);
        jr_disk_record ((struct job_run *) jr, &jr->disks[i], &one);
        rec = vs_sbuf_detach (&one, NULL);
        if (rec) {
            vs_jw_raw (&w, rec);
        }
        free (rec);
    }
    vs_jw_arr_end (&w);
    jr_raw_array (&w, "deleted", &jr->deleted);
    jr_raw_array (&w, "repaired", &jr->repaired);
    if (jr->error[0]) {
        vs_jw_kv_str (&w, "error", jr->error);
    }
    vs_jw_obj_end (&w);
    return vs_sbuf_detach (&b, NULL);
}

static int
jr_set_state (struct job_run *jr, const char *state)
{
    char *detail = job_run_detail (jr, state);
    int r;

    if (detail == NULL) {
        return -ENOMEM;
    }
    r = wf_run_set_state (jr->st, jr->run.id, state, detail);
    free (detail);
    return r;
}

/* Journal a takeover of prev's lease: the repair that follows removes
 * what that run left (docs/jobs.md, "Leases").  Recorded after the fact:
 * taking a lease has nothing to undo, and only the store knows whether
 * it was still live. */
static int
jr_note_takeover (struct job_run *jr, const char *key,
                  const struct wf_lease_rec *prev, const char *how)
{
    struct sbuf b;
    struct jsonw w;
    int64_t seq;
    int r;

    vs_sbuf_init (&b, 4096);
    vs_jw_init (&w, &b, false);
    vs_jw_obj_begin (&w);
    vs_jw_kv_str (&w, "lease", key);
    vs_jw_kv_i64 (&w, "run", prev->run_id);
    vs_jw_kv_str (&w, "owner", prev->owner ? prev->owner : "");
    vs_jw_kv_i64 (&w, "expires", prev->expires);
    vs_jw_kv_str (&w, "why", how);
    vs_jw_obj_end (&w);
    if (b.data == NULL) {
        vs_sbuf_release (&b);
        return set_error (ENOMEM, "out of memory");
    }
    r = wf_journal_intent (jr->st, jr->run.id, "", "lease-takeover", b.data,
                           &seq);
    if (r == 0) {
        r = wf_journal_finish (jr->st, seq, WF_J_DONE, b.data);
    }
    vs_sbuf_release (&b);
    if (r == 0) {
        vs_log_msg (&jr->h->log, LOG_INFO, "job '%s': took over the lease of "
                    "run %" PRId64 " (%s): %s", jr->d->name, prev->run_id,
                    prev->owner ? prev->owner : "?", how);
    }
    return r;
}

/* The lease (docs/jobs.md, "Leases"): a run that finds it held by a live
 * runner exits at once.  A lease its holder stopped renewing (expired:
 * a runner on any host that died) is free to take, and one held by a
 * dead process of this host is taken over at once; either takeover is
 * journalled, and job_repair then removes what the dead run left.  The
 * lease is held lease_ttl seconds at a time and renewed by the heartbeat
 * (heartbeat.c) until the run releases it. */
static int
jr_lease (struct job_run *jr, const char *spec)
{
    struct wf_lease_rec prev = { 0 }, holder = { 0 };
    const char *how = "it expired: its holder stopped renewing it";
    int ttl = (int) jr->d->lease_ttl;
    char key[128];
    int r;

    snprintf (key, sizeof key, "job:%s", jr->d->name);
    if (wf_lease_get (jr->st, key, &prev) < 0) {
        clear_error ();         /* nobody holds it; acquire tells the rest */
    }
    r = wf_lease_acquire (jr->st, key, jr->run.id, jr->owner, ttl, &holder);
    if (r == -EBUSY && holder.owner && wf_store_owner_dead (holder.owner) == 1) {
        clear_error ();
        r = wf_lease_steal (jr->st, key, holder.owner, jr->run.id, jr->owner,
                            ttl);
        if (r == 0) {
            wf_lease_rec_clear (&prev);
            prev = holder;
            memset (&holder, 0, sizeof holder);
            how = "its process on this host is gone";
        }
    }
    if (r == -EBUSY) {
        set_error (EBUSY, "job '%s' is already running (run %" PRId64 " by "
                   "%s); this run does nothing", jr->d->name, holder.run_id,
                   holder.owner ? holder.owner : "?");
    }
    wf_lease_rec_clear (&holder);
    if (r == 0) {
        jr->leased = true;
        if (prev.run_id > 0 && prev.run_id != jr->run.id) {
            r = jr_note_takeover (jr, key, &prev, how);
        }
        if (r == 0) {
            r = job_beat_start (jr, spec, key);
        }
        if (r < 0) {
            struct vmshift_error_save e;

            error_save (&e);
            wf_lease_release (jr->st, key, jr->run.id);
            jr->leased = false;
            error_restore (&e);
        }
    }
    wf_lease_rec_clear (&prev);
    return r;
}

static void
jr_unlease (struct job_run *jr)
{
    char key[128];

    job_beat_stop (jr);         /* no renewal after the release */
    if (jr->leased) {
        snprintf (key, sizeof key, "job:%s", jr->d->name);
        wf_lease_release (jr->st, key, jr->run.id);
        jr->leased = false;
    }
}

/* Local targets: the folders of the name pattern (convert on ONTAP
 * makes its own). */
static int
jr_mkdirs (struct job_run *jr)
{
    for (size_t i = 0; i < jr->n && !jr->d->on_ontap; i++) {
        char *path = vs_path_join (jr->tgt.path, jr->disks[i].rel);

        if (path == NULL) {
            return set_error (ENOMEM, "out of memory");
        }
        for (char *c = path + strlen (jr->tgt.path) + 1; *c; c++) {
            int r;

            if (*c != '/') {
                continue;
            }
            *c = '\0';
            r = backend_mkdir (jr->tgt.be, path);
            *c = '/';
            if (r < 0 && r != -EEXIST) {
                free (path);
                return r;
            }
            clear_error ();
        }
        free (path);
    }
    return 0;
}

static int
jr_body (struct job_run *jr)
{
    int r;

    /* job_beat_check: the safe points, before each step that changes
     * something the next holder of the lease would have to repair */
    if ((r = job_repair (jr)) < 0 || (r = job_beat_check (jr)) < 0 ||
        (r = job_next_generation (jr)) < 0 ||
        (r = jr_set_state (jr, "running")) < 0 || (r = jr_disks (jr)) < 0 ||
        (r = vs_loc_open (jr->h, jr->d->location, &jr->tgt)) < 0) {
        return r;
    }
    jr->tgt_open = true;
    if ((r = jr_mkdirs (jr)) < 0 || (r = job_beat_check (jr)) < 0 ||
        (r = jr_snapshot (jr)) < 0 || (r = job_beat_check (jr)) < 0 ||
        (r = jr_convert (jr)) < 0 || (r = job_beat_check (jr)) < 0 ||
        (r = jr_record_disks (jr)) < 0) {
        return r;
    }
    jr_drop_partial (jr);
    if (jr->snap_made &&
        (!jr->d->keep_snapshot || (jr->failed && !jr->d->keep_partial))) {
        struct job_snap_id id = { jr->snap_name, jr->snap_uuid, 0, 0 };

        job_snapshot_drop (jr, &id, jr->generation,
                           jr->d->keep_snapshot ? "generation failed"
                                                : "keep_snapshot is false");
    }
    if ((jr->failed == 0 || jr->d->keep_partial) &&
        (r = job_beat_check (jr)) == 0) {
        /* only a new good generation may push an old one out */
        r = job_prune (jr);
    }
    return r;
}

static void
jr_release (struct job_run *jr)
{
    for (size_t i = 0; i < jr->n; i++) {
        free (jr->disks[i].source);
        free (jr->disks[i].target);
        free (jr->disks[i].rel);
        free (jr->disks[i].err);
        for (size_t k = 0; k < jr->disks[i].n_others; k++) {
            free (jr->disks[i].others[k].target);
        }
    }
    free (jr->disks);
    if (jr->tgt_open) {
        vs_loc_close (&jr->tgt);
    }
    vs_sbuf_release (&jr->deleted);
    vs_sbuf_release (&jr->repaired);
    wf_run_rec_clear (&jr->run);
    wf_store_close (jr->st);
}

static int
jr_start (struct job_run *jr, const struct vmshift_job_run_opts *o)
{
    struct wf_store *inner = NULL;
    struct sbuf doc;
    struct jsonw w;
    int r;

    r = wf_store_open (o->store ? o->store : jr->d->store, &inner);
    if (r < 0) {
        error_prepend ("run store: ");
        return r;
    }
    if ((r = job_store_timed (inner, &jr->st)) < 0) {
        return r;
    }
    wf_store_owner_self (jr->owner, sizeof jr->owner);
    vs_sbuf_init (&doc, 16384);
    vs_jw_init (&w, &doc, false);
    vs_jw_obj_begin (&w);
    vs_jw_kv_str (&w, "file", jr->d->file);
    vs_jw_obj_end (&w);
    jr->run.kind = (char *) "job";
    jr->run.name = jr->d->name;
    jr->run.state = (char *) "starting";
    jr->run.doc = doc.data;
    jr->run.owner = jr->owner;
    r = doc.data ? wf_run_create (jr->st, &jr->run) : -ENOMEM;
    vs_sbuf_release (&doc);
    jr->run.kind = jr->run.name = jr->run.state = jr->run.doc = NULL;
    jr->run.owner = NULL;
    return r;
}

int
vmshift_job_run (struct vmshift_handle *h, struct vmshift_job *job,
                 const struct vmshift_job_run_opts *o, char **report)
{
    struct job_run jr;
    const char *state;
    int r;

    vs_api_enter (h);
    if (o == NULL || o->struct_size < sizeof *o) {
        return set_error (EINVAL, "vmshift_job_run_opts: not initialised");
    }
    memset (&jr, 0, sizeof jr);
    jr.h = h;
    jr.d = job->def;
    jr.start = (int64_t) time (NULL);
    jr.t_start = vs_exec_now ();
    vs_sbuf_init (&jr.deleted, 4 * 1024 * 1024);
    vs_sbuf_init (&jr.repaired, 64 * 1024);
    r = jr_start (&jr, o);
    if (r == 0 && (r = jr_lease (&jr, o->store ? o->store : jr.d->store))
                  == -EBUSY) {
        struct vmshift_error_save e;

        error_save (&e);
        snprintf (jr.error, sizeof jr.error, "%s", vmshift_get_error ());
        jr.end = (int64_t) time (NULL);
        jr.t_end = vs_exec_now ();
        jr_set_state (&jr, "busy");
        error_restore (&e);
    } else if (r == 0) {
        r = jr_body (&jr);
        jr.end = (int64_t) time (NULL);
        jr.t_end = vs_exec_now ();
        if (r < 0) {
            struct vmshift_error_save e;

            error_save (&e);
            snprintf (jr.error, sizeof jr.error, "%s", vmshift_get_error ());
            job_abandon (&jr);
            jr_set_state (&jr, "failed");
            error_restore (&e);
        } else {
            state = jr_result (&jr);
            r = jr_set_state (&jr, state);
            if (r == 0 && report) {
                *report = job_run_detail (&jr, state);
            }
            if (r == 0 && o->metrics_dir) {
                r = job_metrics_write (jr.st, jr.d->name, o->metrics_dir,
                                       jr.end - jr.start);
            }
            if (r == 0) {
                r = jr.failed ? 1 : 0;
            }
        }
        jr_unlease (&jr);
    }
    jr_release (&jr);
    return r;
}
