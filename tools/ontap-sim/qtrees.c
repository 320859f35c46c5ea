/* /api/storage/qtrees.  A qtree is a top-level directory of a volume
 * with a record in the state file; qtree0 (id 0, name "") stands for
 * the volume itself and can be neither created nor deleted.  POST
 * answers with a job only: the id is found by a GET afterwards, as on
 * ONTAP (docs/ontap-rest.md, "Qtrees"). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tools/ontap-sim/sim.h"

/* ONTAP writes permissions as the octal digits read as decimal: 755. */
static int
sim_perms_mode (uint64_t perms, mode_t *out)
{
    mode_t m = 0;
    unsigned shift = 0;

    if (perms > 7777) {
        return -1;
    }
    for (; perms; perms /= 10, shift += 3) {
        if (perms % 10 > 7) {
            return -1;
        }
        m |= (mode_t) ((perms % 10) << shift);
    }
    *out = m;
    return 0;
}

/* unix_permissions as ONTAP takes it: an integer whose decimal digits
 * are the octal mode (755), or the same digits in a string, with
 * leading zeros ("0755", as NetApp's qtree module sends it). */
static int
sim_perms_value (const struct json_val *v, unsigned *out)
{
    const char *s = vs_json_string_value (v);
    uint64_t n = 0;
    mode_t m;

    if (s) {
        size_t len = strlen (s);

        while (len > 1 && s[0] == '0') {
            s++;
            len--;
        }
        if (len == 0 || len > 4 || strspn (s, "01234567") != len) {
            return -1;
        }
        n = strtoull (s, NULL, 10);
    } else if (vs_json_type (v) != JSON_NUMBER ||
               vs_json_get_u64 (v, "", &n) < 0) {
        return -1;
    }
    if (sim_perms_mode (n, &m) < 0) {
        return -1;
    }
    *out = (unsigned) n;
    return 0;
}

static void
sim_qtree_record (struct jsonw *w, const struct sim_volume *v,
                  const struct sim_qtree *qt)
{
    char path[2 * SIM_NAME_MAX + 2], self[160];

    if (qt->id == 0) {
        snprintf (path, sizeof path, "/%s", v->name);
    } else {
        snprintf (path, sizeof path, "/%s/%s", v->name, qt->name);
    }
    snprintf (self, sizeof self, "/api/storage/qtrees/%s/%" PRId64, v->uuid,
              qt->id);
    vs_jw_obj_begin (w);
    vs_jw_kv_i64 (w, "id", qt->id);
    vs_jw_kv_str (w, "name", qt->name);
    vs_jw_kv_str (w, "path", path);
    vs_jw_kv_str (w, "security_style", qt->style);
    vs_jw_kv_u64 (w, "unix_permissions", qt->perms);
    vs_jw_key (w, "export_policy");
    vs_jw_obj_begin (w);
    vs_jw_kv_str (w, "name", "default");
    vs_jw_kv_u64 (w, "id", 1);
    vs_jw_obj_end (w);
    vs_jw_key (w, "svm");
    sim_svm_ref (w);
    vs_jw_key (w, "volume");
    sim_vol_ref (w, v);
    vs_jw_key (w, "_links");
    vs_jw_obj_begin (w);
    vs_jw_key (w, "self");
    vs_jw_obj_begin (w);
    vs_jw_kv_str (w, "href", self);
    vs_jw_obj_end (w);
    vs_jw_obj_end (w);
    vs_jw_obj_end (w);
}

static void
sim_qtree_list (struct sim_records *rs, struct sim_volume *v, int64_t only)
{
    struct sim_qtree q0;

    memset (&q0, 0, sizeof q0);
    snprintf (q0.style, sizeof q0.style, "unix");
    q0.perms = 755;
    if (only < 0 || only == 0) {
        sim_qtree_record (&rs->w, v, &q0);
    }
    for (size_t i = 0; i < v->nqtrees; i++) {
        const struct sim_qtree *qt = &v->qtrees[i];

        if ((only < 0 || only == qt->id) && sim_qtree_present (v, qt)) {
            sim_qtree_record (&rs->w, v, qt);
        }
    }
}

static int
sim_qtree_check_body (const struct json_val *body, struct sim_reply *r,
                      struct sim_job *tmpl)
{
    const char *name = vs_json_string_value (vs_json_get (body, "name"));
    const char *style = vs_json_string_value (vs_json_get (body, "security_style"));
    const char *svmn = vs_json_string_value (vs_json_get (body, "svm.name"));
    const char *svmu = vs_json_string_value (vs_json_get (body, "svm.uuid"));
    const struct json_val *pv = vs_json_get (body, "unix_permissions");
    unsigned perms = 755;

    if ((svmn && strcmp (svmn, sim.svm_name)) || (svmu && strcmp (svmu, sim.svm_uuid))) {
        sim_reply_error (r, 404, "4", svmn ? "svm.name" : "svm.uuid",
                         "entry doesn't exist");
        return -1;
    }
    if (name == NULL || !sim_valid_name (name) || strlen (name) > 64) {
        sim_reply_error (r, 400, "2", "name", "Missing or invalid qtree name");
        return -1;
    }
    if (style && strcmp (style, "unix") && strcmp (style, "ntfs") &&
        strcmp (style, "mixed")) {
        sim_reply_error (r, 400, "2", "security_style",
                         "Invalid security_style '%s'", style);
        return -1;
    }
    if (pv && sim_perms_value (pv, &perms) < 0) {
        sim_reply_error (r, 400, "2", "unix_permissions",
                         "Invalid unix_permissions");
        return -1;
    }
    snprintf (tmpl->a, sizeof tmpl->a, "%s", name);
    snprintf (tmpl->style, sizeof tmpl->style, "%s", style ? style : "unix");
    tmpl->perms = perms;
    return 0;
}

static void
sim_qtree_post (const struct sim_req *q, struct sim_reply *r)
{
    struct json_val *body = NULL;
    struct sim_job tmpl, *j;
    struct sim_volume *v;
    char p[PATH_MAX];
    struct stat st;
    int vi;

    memset (&tmpl, 0, sizeof tmpl);
    if (vs_json_parse (q->body, q->body_len, "request body", &body) < 0) {
        sim_reply_error (r, 400, "2", NULL, "Invalid JSON in the request body");
    } else if ((vi = sim_body_volume (body, r)) >= 0 &&
               sim_qtree_check_body (body, r, &tmpl) == 0) {
        v = &sim.vols[vi];
        snprintf (p, sizeof p, "%s/%s", v->path, tmpl.a);
        if (lstat (p, &st) == 0) {
            sim_reply_error (r, 409, "1", "name",
                             "A qtree or directory named '%s' already exists "
                             "in volume '%s'", tmpl.a, v->name);
        } else if (v->nqtrees >= SIM_MAX_QTREES) {
            sim_reply_error (r, 400, "2", NULL, "Too many qtrees");
        } else if ((j = sim_job_new (JK_QTREE_CREATE,
                                     "POST /api/storage/qtrees")) == NULL) {
            sim_reply_error (r, 503, "1", NULL, "Too many jobs");
        } else {
            j->vol = vi;
            memcpy (j->a, tmpl.a, sizeof j->a);
            memcpy (j->style, tmpl.style, sizeof j->style);
            j->perms = tmpl.perms;
            sim_post_job_reply (q, r, j, 201);
        }
    }
    vs_json_free (body);
}

static int
sim_qtree_create (struct sim_volume *v, struct sim_job *j, char *msg,
                  size_t msgsz)
{
    char p[PATH_MAX];
    struct sim_qtree *n;
    mode_t m = 0755;

    (void) sim_perms_mode (j->perms, &m);
    snprintf (p, sizeof p, "%s/%s", v->path, j->a);
    n = realloc (v->qtrees, (v->nqtrees + 1) * sizeof *n);
    if (n == NULL) {
        snprintf (msg, msgsz, "out of memory");
        return -ENOMEM;
    }
    v->qtrees = n;
    if (mkdir (p, m) < 0 || chmod (p, m) < 0) {
        snprintf (msg, msgsz, "cannot create qtree '%s': %s", j->a,
                  strerror (errno));
        return -errno;
    }
    /* A stale record with the same name (directory removed by hand)
     * is replaced. */
    n = sim_qtree_by_name (v, j->a);
    if (n == NULL) {
        n = &v->qtrees[v->nqtrees++];
    }
    memset (n, 0, sizeof *n);
    snprintf (n->name, sizeof n->name, "%.255s", j->a);
    snprintf (n->style, sizeof n->style, "%s", j->style);
    n->perms = j->perms;
    n->id = v->next_qtree_id++;
    return 0;
}

/* PATCH: rename (a -> b), chmod, security style; the record keeps its
 * id.  RENAME_NOREPLACE: a directory made meanwhile is not replaced. */
static int
sim_qtree_modify (struct sim_volume *v, struct sim_job *j, char *msg,
                  size_t msgsz)
{
    struct sim_qtree *qt = sim_qtree_by_name (v, j->a);
    char p[PATH_MAX], np[PATH_MAX];
    mode_t m;

    if (qt == NULL || !sim_qtree_present (v, qt)) {
        snprintf (msg, msgsz, "qtree '%s' no longer exists", j->a);
        return -ENOENT;
    }
    snprintf (p, sizeof p, "%s/%s", v->path, j->a);
    if (j->has_perms && (sim_perms_mode (j->perms, &m) < 0 ||
                         chmod (p, m) < 0)) {
        snprintf (msg, msgsz, "cannot change the permissions of qtree '%s': "
                  "%s", j->a, strerror (errno));
        return -errno;
    }
    if (j->b[0] && strcmp (j->a, j->b) != 0) {
        snprintf (np, sizeof np, "%s/%s", v->path, j->b);
        if (renameat2 (AT_FDCWD, p, AT_FDCWD, np, RENAME_NOREPLACE) < 0) {
            int e = errno;

            snprintf (msg, msgsz, "cannot rename qtree '%s' to '%s': %s",
                      j->a, j->b, strerror (e));
            return -e;
        }
        snprintf (qt->name, sizeof qt->name, "%.255s", j->b);
    }
    if (j->has_perms) {
        qt->perms = j->perms;
    }
    if (j->style[0]) {
        snprintf (qt->style, sizeof qt->style, "%s", j->style);
    }
    return 0;
}

int
sim_qtree_job (struct sim_volume *v, struct sim_job *j, char *msg,
               size_t msgsz)
{
    struct sim_qtree *qt;
    char p[PATH_MAX];
    int r;

    if (j->kind == JK_QTREE_CREATE) {
        return sim_qtree_create (v, j, msg, msgsz);
    }
    if (j->kind == JK_QTREE_MODIFY) {
        return sim_qtree_modify (v, j, msg, msgsz);
    }
    qt = sim_qtree_by_name (v, j->a);
    snprintf (p, sizeof p, "%s/%s", v->path, j->a);
    if ((r = sim_remove_tree (p)) < 0) {
        snprintf (msg, msgsz, "cannot delete qtree '%s': %s", j->a,
                  strerror (-r));
        return r;
    }
    if (qt) {
        *qt = v->qtrees[--v->nqtrees];
    }
    return 0;
}

static void
sim_qtree_delete (const struct sim_req *q, struct sim_reply *r, int vi,
                  const struct sim_qtree *qt)
{
    char descr[160];
    struct sim_job *j;

    snprintf (descr, sizeof descr, "DELETE /api/storage/qtrees/%s/%" PRId64,
              sim.vols[vi].uuid, qt->id);
    if ((j = sim_job_new (JK_QTREE_DELETE, descr)) == NULL) {
        sim_reply_error (r, 503, "1", NULL, "Too many jobs");
        return;
    }
    j->vol = vi;
    snprintf (j->a, sizeof j->a, "%s", qt->name);
    sim_post_job_reply (q, r, j, 200);
}

/* The PATCH body: name, security_style, unix_permissions, and
 * export_policy only as the one policy the simulator has. */
static int
sim_qtree_patch_body (const struct json_val *body, struct sim_reply *r,
                      struct sim_job *t)
{
    for (size_t i = 0; i < vs_json_object_len (body); i++) {
        const char *k, *sv;
        const struct json_val *m = vs_json_object_at (body, i, &k);

        sv = vs_json_string_value (m);
        if (strcmp (k, "name") == 0) {
            if (sv == NULL || !sim_valid_name (sv) || strlen (sv) > 64) {
                sim_reply_error (r, 400, "2", "name", "Invalid qtree name");
                return -1;
            }
            snprintf (t->b, sizeof t->b, "%s", sv);
        } else if (strcmp (k, "security_style") == 0) {
            if (sv == NULL || (strcmp (sv, "unix") && strcmp (sv, "ntfs") &&
                               strcmp (sv, "mixed"))) {
                sim_reply_error (r, 400, "2", "security_style",
                                 "Invalid security_style");
                return -1;
            }
            snprintf (t->style, sizeof t->style, "%s", sv);
        } else if (strcmp (k, "unix_permissions") == 0) {
            if (sim_perms_value (m, &t->perms) < 0) {
                sim_reply_error (r, 400, "2", "unix_permissions",
                                 "Invalid unix_permissions");
                return -1;
            }
            t->has_perms = true;
        } else if (strcmp (k, "export_policy") == 0 &&
                   (sv = vs_json_string_value (vs_json_get (m, "name"))) &&
                   strcmp (sv, "default") == 0) {
            continue;
        } else {
            sim_reply_error (r, 400, "3", k, "The simulator cannot change "
                             "qtree field '%s'", k);
            return -1;
        }
    }
    return 0;
}

static void
sim_qtree_patch (const struct sim_req *q, struct sim_reply *r, int vi,
                 const struct sim_qtree *qt)
{
    struct json_val *body = NULL;
    struct sim_job t, *j;
    char descr[160], p[PATH_MAX];
    struct stat st;

    memset (&t, 0, sizeof t);
    if (vs_json_parse (q->body, q->body_len, "request body", &body) < 0 ||
        vs_json_type (body) != JSON_OBJECT) {
        sim_reply_error (r, 400, "2", NULL, "Invalid JSON in the request body");
    } else if (sim_qtree_patch_body (body, r, &t) == 0) {
        snprintf (p, sizeof p, "%s/%s", sim.vols[vi].path, t.b);
        snprintf (descr, sizeof descr, "PATCH /api/storage/qtrees/%s/%" PRId64,
                  sim.vols[vi].uuid, qt->id);
        if (t.b[0] && strcmp (t.b, qt->name) && lstat (p, &st) == 0) {
            sim_reply_error (r, 409, "1", "name",
                             "A qtree or directory named '%s' already exists "
                             "in volume '%s'", t.b, sim.vols[vi].name);
        } else if ((j = sim_job_new (JK_QTREE_MODIFY, descr)) == NULL) {
            sim_reply_error (r, 503, "1", NULL, "Too many jobs");
        } else {
            j->vol = vi;
            snprintf (j->a, sizeof j->a, "%s", qt->name);
            memcpy (j->b, t.b, sizeof j->b);
            memcpy (j->style, t.style, sizeof j->style);
            j->perms = t.perms;
            j->has_perms = t.has_perms;
            sim_post_job_reply (q, r, j, 200);
        }
    }
    vs_json_free (body);
}

static void
sim_qtree_one (const struct sim_req *q, struct sim_reply *r, char **seg)
{
    int vi = sim_vol_by_uuid (seg[3]);
    char *end;
    long long id = strtoll (seg[4], &end, 10);
    struct sim_qtree *qt = NULL;
    struct sim_records rs;

    if (vi < 0 || *end || end == seg[4] || id < 0 ||
        (id > 0 && ((qt = sim_qtree_by_id (&sim.vols[vi], id)) == NULL ||
                    !sim_qtree_present (&sim.vols[vi], qt)))) {
        sim_reply_error (r, 404, "4", vi < 0 ? "volume.uuid" : "id",
                         "entry doesn't exist");
        return;
    }
    if (strcmp (q->method, "DELETE") == 0 || strcmp (q->method, "PATCH") == 0) {
        if (id == 0) {
            sim_reply_error (r, 400, "2", "id", "qtree0 cannot be %s",
                             q->method[0] == 'D' ? "deleted" : "modified");
        } else if (q->method[0] == 'D') {
            sim_qtree_delete (q, r, vi, qt);
        } else {
            sim_qtree_patch (q, r, vi, qt);
        }
        return;
    }
    if (strcmp (q->method, "GET") != 0) {
        sim_reply_error (r, 405, "3", NULL, "Method not allowed");
        return;
    }
    sim_records_init (&rs, "qtree");
    sim_qtree_list (&rs, &sim.vols[vi], id);
    sim_reply_object (r, q, &rs, "id,name,svm,volume");
    sim_records_release (&rs);
}

void
sim_handle_qtrees (const struct sim_req *q, struct sim_reply *r, char **seg,
                   size_t nseg)
{
    struct sim_records rs;

    if (nseg == 5) {
        sim_qtree_one (q, r, seg);
        return;
    }
    if (strcmp (q->method, "POST") == 0) {
        sim_qtree_post (q, r);
        return;
    }
    if (strcmp (q->method, "GET") != 0) {
        sim_reply_error (r, 405, "3", NULL, "Method not allowed");
        return;
    }
    sim_records_init (&rs, "qtree");
    for (size_t i = 0; i < sim.nvols; i++) {
        sim_qtree_list (&rs, &sim.vols[i], -1);
    }
    sim_reply_collection (r, q, &rs, "id,name,svm,volume");
    sim_records_release (&rs);
}
