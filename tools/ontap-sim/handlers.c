/* Endpoints: routing, /api/cluster, SVMs, volumes, snapshots, jobs.
 * Qtrees are in qtrees.c, file clone in clone.c.  Handlers run with
 * sim.lock held (taken in http.c). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "engine/base/error.h"
#include "tools/ontap-sim/sim.h"

#define SIM_MAX_SEG 8

static void
sim_self (struct jsonw *w, const char *fmt, const char *a, const char *b)
{
    char href[256];

    snprintf (href, sizeof href, fmt, a, b);
    vs_jw_key (w, "_links");
    vs_jw_obj_begin (w);
    vs_jw_key (w, "self");
    vs_jw_obj_begin (w);
    vs_jw_kv_str (w, "href", href);
    vs_jw_obj_end (w);
    vs_jw_obj_end (w);
}

void
sim_svm_ref (struct jsonw *w)
{
    vs_jw_obj_begin (w);
    vs_jw_kv_str (w, "name", sim.svm_name);
    vs_jw_kv_str (w, "uuid", sim.svm_uuid);
    sim_self (w, "/api/svm/svms/%s%s", sim.svm_uuid, "");
    vs_jw_obj_end (w);
}

void
sim_vol_ref (struct jsonw *w, const struct sim_volume *v)
{
    vs_jw_obj_begin (w);
    vs_jw_kv_str (w, "name", v->name);
    vs_jw_kv_str (w, "uuid", v->uuid);
    sim_self (w, "/api/storage/volumes/%s%s", v->uuid, "");
    vs_jw_obj_end (w);
}

int
sim_body_volume (const struct json_val *body, struct sim_reply *r)
{
    const char *uuid = vs_json_string_value (vs_json_get (body, "volume.uuid"));
    const char *name = vs_json_string_value (vs_json_get (body, "volume.name"));
    int vi = -1;

    if (uuid == NULL && name == NULL) {
        sim_reply_error (r, 400, "2", "volume.uuid",
                         "Missing value: volume.uuid or volume.name");
        return -1;
    }
    if (uuid) {
        vi = sim_vol_by_uuid (uuid);
    }
    if (vi < 0 && uuid == NULL) {
        vi = sim_vol_by_name (name);
    }
    if (vi >= 0 && uuid && name && strcmp (sim.vols[vi].name, name) != 0) {
        vi = -1;
    }
    if (vi < 0) {
        sim_reply_error (r, 404, "4", uuid ? "volume.uuid" : "volume.name",
                         "entry doesn't exist");
    }
    return vi;
}

/* Find a job by UUID, hidden ones too (the waiter must see them). */
static struct sim_job *
sim_job_any (const char *uuid)
{
    for (size_t i = 0; i < SIM_MAX_JOBS; i++) {
        if (sim.jobs[i].used && strcmp (sim.jobs[i].uuid, uuid) == 0) {
            return &sim.jobs[i];
        }
    }
    return NULL;
}

static bool
sim_wait_job (const char *uuid, unsigned secs)
{
    uint64_t deadline = sim_now_ms () + (uint64_t) secs * 1000u;
    struct sim_job *j;

    while ((j = sim_job_any (uuid)) != NULL && j->state != JOB_SUCCESS &&
           j->state != JOB_FAILURE && !sim.stopping) {
        struct timespec ts;
        uint64_t now = sim_now_ms ();

        if (now >= deadline) {
            return false;
        }
        clock_gettime (CLOCK_REALTIME, &ts);
        ts.tv_nsec += 20 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait (&sim.job_cond, &sim.lock, &ts);
    }
    return j != NULL && (j->state == JOB_SUCCESS || j->state == JOB_FAILURE);
}

void
sim_post_job_reply (const struct sim_req *q, struct sim_reply *r,
                    struct sim_job *j, unsigned ok_status)
{
    const char *rt = sim_req_arg (q, "return_timeout");
    char uuid[SIM_UUID_LEN], *end;
    unsigned long secs = 0;
    struct jsonw w;

    if (rt) {
        errno = 0;
        secs = strtoul (rt, &end, 10);
        if (errno || end == rt || *end || rt[0] == '-' || secs > 120) {
            sim_reply_error (r, 400, "2", "return_timeout",
                             "return_timeout must be 0 to 120");
            return;
        }
    }
    snprintf (uuid, sizeof uuid, "%s", j->uuid);
    /* Done in time: success is 200/201 with the job link; a failure is
     * 202 with the link and the failure in the job record, which
     * NetApp's own client reads as "job reported error: <message>"
     * (docs/ontap-sim.md, "Jobs"). */
    if (secs > 0 && !j->hidden && sim_wait_job (uuid, (unsigned) secs)) {
        j = sim_job_any (uuid);
        r->status = j->state == JOB_SUCCESS ? ok_status : 202;
    } else {
        r->status = 202;
        j = sim_job_any (uuid);
    }
    vs_jw_init (&w, &r->body, true);
    vs_jw_obj_begin (&w);
    if (j) {
        sim_job_link (&w, j);
    } else {
        /* Already purged (tiny purge time): the link still names it. */
        struct sim_job tmp;

        memset (&tmp, 0, sizeof tmp);
        snprintf (tmp.uuid, sizeof tmp.uuid, "%s", uuid);
        sim_job_link (&w, &tmp);
    }
    vs_jw_obj_end (&w);
}

static void
sim_get_cluster (const struct sim_req *q, struct sim_reply *r)
{
    struct sim_records rs;
    char full[128];

    snprintf (full, sizeof full, "NetApp Release %s (ontap-sim): simulated",
              sim.version);
    sim_records_init (&rs, "cluster");
    vs_jw_obj_begin (&rs.w);
    vs_jw_kv_str (&rs.w, "name", sim.cluster_name);
    vs_jw_kv_str (&rs.w, "uuid", sim.cluster_uuid);
    vs_jw_key (&rs.w, "version");
    vs_jw_obj_begin (&rs.w);
    vs_jw_kv_str (&rs.w, "full", full);
    vs_jw_kv_u64 (&rs.w, "generation", sim.vgen);
    vs_jw_kv_u64 (&rs.w, "major", sim.vmajor);
    vs_jw_kv_u64 (&rs.w, "minor", sim.vminor);
    vs_jw_obj_end (&rs.w);
    vs_jw_kv_str (&rs.w, "health", "ok");
    sim_self (&rs.w, "/api/cluster%s%s", "", "");
    vs_jw_obj_end (&rs.w);
    sim_reply_object (r, q, &rs, "name,uuid");
    sim_records_release (&rs);
}

static void
sim_svm_record (struct jsonw *w)
{
    vs_jw_obj_begin (w);
    vs_jw_kv_str (w, "uuid", sim.svm_uuid);
    vs_jw_kv_str (w, "name", sim.svm_name);
    vs_jw_kv_str (w, "state", "running");
    vs_jw_kv_str (w, "subtype", "default");
    sim_self (w, "/api/svm/svms/%s%s", sim.svm_uuid, "");
    vs_jw_obj_end (w);
}

static void
sim_get_svms (const struct sim_req *q, struct sim_reply *r, char **seg,
              size_t n)
{
    struct sim_records rs;

    if (n == 4 && strcmp (seg[3], sim.svm_uuid) != 0) {
        sim_reply_error (r, 404, "4", "uuid", "entry doesn't exist");
        return;
    }
    sim_records_init (&rs, "svm");
    sim_svm_record (&rs.w);
    if (n == 4) {
        sim_reply_object (r, q, &rs, "uuid,name");
    } else {
        sim_reply_collection (r, q, &rs, "uuid,name");
    }
    sim_records_release (&rs);
}

/* One data LIF for the SVM: the loopback address where the test
 * environment's NFS server (nfs-ganesha) serves the volumes. */
#define SIM_LIF_ADDRESS "127.0.0.1"

static void
sim_get_interfaces (const struct sim_req *q, struct sim_reply *r)
{
    struct sim_records rs;
    char id[SIM_NAME_MAX + 16], uuid[SIM_UUID_LEN];

    snprintf (id, sizeof id, "lif/%s/nfs1", sim.svm_name);
    sim_uuid_from_name (id, uuid);
    sim_records_init (&rs, "ip_interface");
    vs_jw_obj_begin (&rs.w);
    vs_jw_kv_str (&rs.w, "uuid", uuid);
    vs_jw_kv_str (&rs.w, "name", "lif_nfs1");
    vs_jw_key (&rs.w, "ip");
    vs_jw_obj_begin (&rs.w);
    vs_jw_kv_str (&rs.w, "address", SIM_LIF_ADDRESS);
    vs_jw_kv_str (&rs.w, "netmask", "8");
    vs_jw_obj_end (&rs.w);
    vs_jw_key (&rs.w, "svm");
    vs_jw_obj_begin (&rs.w);
    vs_jw_kv_str (&rs.w, "name", sim.svm_name);
    vs_jw_kv_str (&rs.w, "uuid", sim.svm_uuid);
    vs_jw_obj_end (&rs.w);
    vs_jw_key (&rs.w, "services");
    vs_jw_arr_begin (&rs.w);
    vs_jw_str (&rs.w, "data_core");
    vs_jw_str (&rs.w, "data_nfs");
    vs_jw_arr_end (&rs.w);
    sim_self (&rs.w, "/api/network/ip/interfaces/%s%s", uuid, "");
    vs_jw_obj_end (&rs.w);
    sim_reply_collection (r, q, &rs, "uuid,name");
    sim_records_release (&rs);
}

static void
sim_volume_record (struct jsonw *w, const struct sim_volume *v)
{
    struct statvfs sv;
    uint64_t size = 0, avail = 0;
    char path[SIM_NAME_MAX + 2];

    if (statvfs (v->path, &sv) == 0) {
        size = (uint64_t) sv.f_blocks * sv.f_frsize;
        avail = (uint64_t) sv.f_bavail * sv.f_frsize;
    }
    snprintf (path, sizeof path, "/%s", v->name);
    vs_jw_obj_begin (w);
    vs_jw_kv_str (w, "uuid", v->uuid);
    vs_jw_kv_str (w, "name", v->name);
    vs_jw_kv_str (w, "style", v->flexgroup ? "flexgroup" : "flexvol");
    vs_jw_kv_str (w, "type", "rw");
    vs_jw_kv_str (w, "state", "online");
    vs_jw_kv_u64 (w, "size", size);
    vs_jw_key (w, "svm");
    sim_svm_ref (w);
    vs_jw_key (w, "nas");
    vs_jw_obj_begin (w);
    vs_jw_kv_str (w, "path", path);
    vs_jw_kv_str (w, "security_style", "unix");
    vs_jw_key (w, "export_policy");
    vs_jw_obj_begin (w);
    vs_jw_kv_str (w, "name", "default");
    vs_jw_obj_end (w);
    vs_jw_obj_end (w);
    vs_jw_key (w, "space");
    vs_jw_obj_begin (w);
    vs_jw_kv_u64 (w, "size", size);
    vs_jw_kv_u64 (w, "available", avail);
    vs_jw_kv_u64 (w, "used", size - avail);
    vs_jw_obj_end (w);
    vs_jw_kv_u64 (w, "snapshot_count", v->nsnaps);
    sim_self (w, "/api/storage/volumes/%s%s", v->uuid, "");
    vs_jw_obj_end (w);
}

static void
sim_snap_record (struct jsonw *w, const struct sim_volume *v,
                 const struct sim_snap *s)
{
    char href[160];

    snprintf (href, sizeof href, "%s/snapshots/%s", v->uuid, s->uuid);
    vs_jw_obj_begin (w);
    vs_jw_kv_str (w, "uuid", s->uuid);
    vs_jw_kv_str (w, "name", s->name);
    vs_jw_kv_str (w, "create_time", s->create_time);
    vs_jw_key (w, "volume");
    sim_vol_ref (w, v);
    vs_jw_key (w, "svm");
    sim_svm_ref (w);
    sim_self (w, "/api/storage/volumes/%s%s", href, "");
    vs_jw_obj_end (w);
}

static void
sim_snap_post (const struct sim_req *q, struct sim_reply *r,
               struct sim_volume *v)
{
    struct json_val *body = NULL;
    const char *name;
    struct sim_job *j;
    char descr[128];

    if (vs_json_parse (q->body, q->body_len, "request body", &body) < 0 ||
        (name = vs_json_string_value (vs_json_get (body, "name"))) == NULL) {
        sim_reply_error (r, 400, "2", "name", "Missing or invalid field: name");
    } else if (!sim_valid_name (name)) {
        sim_reply_error (r, 400, "2", "name", "Invalid snapshot name '%s'", name);
    } else if (sim_snap_by_name (v, name)) {
        sim_reply_error (r, 409, "1", "name", "Snapshot '%s' already exists",
                         name);
    } else {
        snprintf (descr, sizeof descr, "POST /api/storage/volumes/%s/snapshots",
                  v->uuid);
        if ((j = sim_job_new (JK_SNAP_CREATE, descr)) == NULL) {
            sim_reply_error (r, 503, "1", NULL, "Too many jobs");
        } else {
            j->vol = (int) (v - sim.vols);
            snprintf (j->a, sizeof j->a, "%s", name);
            sim_uuid_random (j->b);
            sim_post_job_reply (q, r, j, 201);
        }
    }
    vs_json_free (body);
}

static void
sim_snap_delete (const struct sim_req *q, struct sim_reply *r,
                 struct sim_volume *v, struct sim_snap *s)
{
    char descr[160];
    struct sim_job *j;

    snprintf (descr, sizeof descr, "DELETE /api/storage/volumes/%s/snapshots/%s",
              v->uuid, s->uuid);
    if ((j = sim_job_new (JK_SNAP_DELETE, descr)) == NULL) {
        sim_reply_error (r, 503, "1", NULL, "Too many jobs");
        return;
    }
    j->vol = (int) (v - sim.vols);
    snprintf (j->a, sizeof j->a, "%s", s->name);
    sim_post_job_reply (q, r, j, 200);
}

/* PATCH: rename ("name"); the job renames .snapshot/<old>. */
static void
sim_snap_patch (const struct sim_req *q, struct sim_reply *r,
                struct sim_volume *v, struct sim_snap *s)
{
    struct json_val *body = NULL;
    const char *name = NULL;
    struct sim_job *j;
    char descr[160];

    if (vs_json_parse (q->body, q->body_len, "request body", &body) < 0 ||
        vs_json_type (body) != JSON_OBJECT) {
        sim_reply_error (r, 400, "2", NULL, "Invalid JSON in the request body");
        vs_json_free (body);
        return;
    }
    for (size_t i = 0; i < vs_json_object_len (body); i++) {
        const char *k;
        const struct json_val *m = vs_json_object_at (body, i, &k);

        if (strcmp (k, "name") == 0 && vs_json_string_value (m)) {
            name = vs_json_string_value (m);
        } else {
            /* comment, expiry_time, snapmirror_label: ONTAP has them,
             * the simulator does not keep them. */
            sim_reply_error (r, 400, "3", k, "The simulator cannot change "
                             "snapshot field '%s'", k);
            vs_json_free (body);
            return;
        }
    }
    if (name == NULL || !sim_valid_name (name)) {
        sim_reply_error (r, 400, "2", "name", "Missing or invalid field: name");
    } else if (strcmp (name, s->name) != 0 && sim_snap_by_name (v, name)) {
        sim_reply_error (r, 409, "1", "name", "Snapshot '%s' already exists",
                         name);
    } else {
        snprintf (descr, sizeof descr,
                  "PATCH /api/storage/volumes/%s/snapshots/%s", v->uuid,
                  s->uuid);
        if ((j = sim_job_new (JK_SNAP_RENAME, descr)) == NULL) {
            sim_reply_error (r, 503, "1", NULL, "Too many jobs");
        } else {
            j->vol = (int) (v - sim.vols);
            snprintf (j->a, sizeof j->a, "%s", s->name);
            snprintf (j->b, sizeof j->b, "%s", name);
            sim_post_job_reply (q, r, j, 200);
        }
    }
    vs_json_free (body);
}

static void
sim_snapshots (const struct sim_req *q, struct sim_reply *r,
               struct sim_volume *v, char **seg, size_t n)
{
    struct sim_records rs;
    struct sim_snap *s = NULL;
    bool get = strcmp (q->method, "GET") == 0;

    sim_snap_refresh (v);
    if (n == 5 && strcmp (q->method, "POST") == 0) {
        sim_snap_post (q, r, v);
        return;
    }
    if ((n == 5 && !get) || (n == 6 && !get && strcmp (q->method, "DELETE") &&
                              strcmp (q->method, "PATCH"))) {
        sim_reply_error (r, 405, "3", NULL, "Method not allowed");
        return;
    }
    if (n == 6 && (s = sim_snap_by_uuid (v, seg[5])) == NULL) {
        sim_reply_error (r, 404, "4", "uuid", "entry doesn't exist");
        return;
    }
    if (n == 6 && strcmp (q->method, "PATCH") == 0) {
        sim_snap_patch (q, r, v, s);
        return;
    }
    if (n == 6 && !get) {
        sim_snap_delete (q, r, v, s);
        return;
    }
    sim_records_init (&rs, "snapshot");
    for (size_t i = 0; i < v->nsnaps; i++) {
        if (s == NULL || s == &v->snaps[i]) {
            sim_snap_record (&rs.w, v, &v->snaps[i]);
        }
    }
    if (s) {
        sim_reply_object (r, q, &rs, "uuid,name");
    } else {
        sim_reply_collection (r, q, &rs, "uuid,name");
    }
    sim_records_release (&rs);
}

static void
sim_volumes (const struct sim_req *q, struct sim_reply *r, char **seg,
             size_t n)
{
    struct sim_records rs;
    int vi = n >= 4 ? sim_vol_by_uuid (seg[3]) : -1;

    if (n >= 4 && vi < 0) {
        sim_reply_error (r, 404, "4", "uuid", "entry doesn't exist");
        return;
    }
    if (n >= 5 && strcmp (seg[4], "snapshots") == 0 && n <= 6) {
        sim_snapshots (q, r, &sim.vols[vi], seg, n);
        return;
    }
    if (n >= 5 || strcmp (q->method, "GET") != 0) {
        sim_reply_error (r, n >= 5 ? 404 : 405, "3", NULL,
                         n >= 5 ? "API not found" : "Method not allowed");
        return;
    }
    sim_records_init (&rs, "volume");
    for (size_t i = 0; i < sim.nvols; i++) {
        if (vi < 0 || (size_t) vi == i) {
            sim_snap_refresh (&sim.vols[i]);
            sim_volume_record (&rs.w, &sim.vols[i]);
        }
    }
    if (vi >= 0) {
        sim_reply_object (r, q, &rs, "uuid,name");
    } else {
        sim_reply_collection (r, q, &rs, "uuid,name");
    }
    sim_records_release (&rs);
}

static void
sim_jobs_get (const struct sim_req *q, struct sim_reply *r, char **seg,
              size_t n)
{
    struct sim_records rs;
    struct sim_job *one = NULL;

    if (strcmp (q->method, "GET") != 0) {
        sim_reply_error (r, 405, "3", NULL, "Method not allowed");
        return;
    }
    if (n == 4 && (one = sim_job_find (seg[3])) == NULL) {
        sim_reply_error (r, 404, "4", "uuid", "entry doesn't exist");
        return;
    }
    sim_records_init (&rs, "job");
    for (size_t i = 0; i < SIM_MAX_JOBS; i++) {
        const struct sim_job *j = &sim.jobs[i];

        if (j->used && !j->hidden && (one == NULL || one == j)) {
            sim_job_record (&rs.w, j);
        }
    }
    if (one) {
        sim_reply_object (r, q, &rs, "uuid");
    } else {
        sim_reply_collection (r, q, &rs, "uuid");
    }
    sim_records_release (&rs);
}

/* Split "/a/b/c" into at most SIM_MAX_SEG segments (in place). */
static size_t
sim_split (char *p, char **seg)
{
    size_t n = 0;

    for (char *t = p; *t && n < SIM_MAX_SEG;) {
        while (*t == '/') {
            *t++ = '\0';
        }
        if (*t == '\0') {
            break;
        }
        seg[n++] = t;
        while (*t && *t != '/') {
            t++;
        }
    }
    return n;
}

static bool
sim_seg_is (char **seg, size_t n, size_t at, const char *s)
{
    return at < n && strcmp (seg[at], s) == 0;
}

void
sim_route (const struct sim_req *q, struct sim_reply *r)
{
    char path[1024], *seg[SIM_MAX_SEG];
    size_t n;
    bool get = strcmp (q->method, "GET") == 0;

    snprintf (path, sizeof path, "%s", q->path);
    n = sim_split (path, seg);
    if (!sim_seg_is (seg, n, 0, "api")) {
        sim_reply_error (r, 404, "3", NULL, "API not found");
    } else if (n == 2 && sim_seg_is (seg, n, 1, "cluster")) {
        if (get) {
            sim_get_cluster (q, r);
        } else {
            sim_reply_error (r, 405, "3", NULL, "Method not allowed");
        }
    } else if ((n == 3 || n == 4) && sim_seg_is (seg, n, 1, "cluster") &&
               sim_seg_is (seg, n, 2, "jobs")) {
        sim_jobs_get (q, r, seg, n);
    } else if ((n == 3 || n == 4) && sim_seg_is (seg, n, 1, "svm") &&
               sim_seg_is (seg, n, 2, "svms") && get) {
        sim_get_svms (q, r, seg, n);
    } else if (n == 4 && sim_seg_is (seg, n, 1, "network") &&
               sim_seg_is (seg, n, 2, "ip") &&
               sim_seg_is (seg, n, 3, "interfaces") && get) {
        sim_get_interfaces (q, r);
    } else if (n >= 3 && sim_seg_is (seg, n, 1, "storage") &&
               sim_seg_is (seg, n, 2, "volumes")) {
        sim_volumes (q, r, seg, n);
    } else if ((n == 3 || n == 5) && sim_seg_is (seg, n, 1, "storage") &&
               sim_seg_is (seg, n, 2, "qtrees")) {
        sim_handle_qtrees (q, r, seg, n);
    } else if (n == 4 && sim_seg_is (seg, n, 1, "storage") &&
               sim_seg_is (seg, n, 2, "file") && sim_seg_is (seg, n, 3, "clone")) {
        if (strcmp (q->method, "POST") == 0) {
            sim_handle_clone (q, r);
        } else {
            sim_reply_error (r, 405, "3", NULL, "Method not allowed");
        }
    } else {
        sim_reply_error (r, 404, "3", NULL, "API not found");
    }
}
