/* Volume snapshots.
 *
 *   POST   /api/storage/volumes/{vol}/snapshots?return_timeout=N  {"name"}
 *   GET    /api/storage/volumes/{vol}/snapshots?name=N&fields=...
 *   GET    /api/storage/volumes/{vol}/snapshots/{uuid}?fields=uuid,name
 *   DELETE /api/storage/volumes/{vol}/snapshots/{uuid}?return_timeout=N
 *
 * Creating is not idempotent, so it is never resent blindly: after an
 * ambiguous failure (5xx, timeout, connection lost) we look for the
 * snapshot by name first and resend only when it is not there.
 * Deleting is retried while the snapshot is busy (a file clone from it
 * is still splitting) until the profile's job_deadline; after any
 * resend, "not found" means our earlier attempt worked.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "engine/base/jsonw.h"
#include "ontap/ontap.h"

#define ONTAP_SNAP_NAME_MAX 255
#define ONTAP_SNAP_FIELDS "uuid,name,create_time"

static int
ontap_snapshot_name_ok (const char *s)
{
    size_t n = strlen (s);

    if (n == 0 || n > ONTAP_SNAP_NAME_MAX || s[0] == '.' ||
        strspn (s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                "0123456789_.-") != n || strstr (s, "..")) {
        return set_error (EINVAL, "bad snapshot name '%s': use letters, "
                          "digits, '_', '-' and '.'", s);
    }
    return 0;
}

static bool
ontap_ambiguous (int r)
{
    return r == -EIO || r == -ETIMEDOUT || r == -ECONNRESET;
}

static int
ontap_snap_page (void *opaque, const struct json_val *doc, const char *what)
{
    return ontap_decode_snapshots (doc, what, opaque);
}

int
ontap_snapshot_list (struct ontap_client *c, const struct ontap_volume *v,
                     struct ontap_snapshot_vec *out)
{
    struct ontap_snapshot_vec s = { 0 };
    char target[256];
    int r;

    snprintf (target, sizeof target, "/api/storage/volumes/%s/snapshots"
              "?fields=" ONTAP_SNAP_FIELDS, v->uuid);
    if ((r = ontap_get_all (c, target, ontap_snap_page, &s)) < 0) {
        ontap_snapshot_vec_free (&s);
        return r;
    }
    *out = s;
    return 0;
}

int
ontap_snapshot_find (struct ontap_client *c, const struct ontap_volume *v,
                     const char *name, struct ontap_snapshot *out)
{
    struct ontap_snapshot_vec s = { 0 };
    struct sbuf t;
    size_t hit = 0, n = 0;
    int r;

    if ((r = ontap_snapshot_name_ok (name)) < 0) {
        return r;
    }
    vs_sbuf_init (&t, 1024);
    vs_sbuf_printf (&t, "/api/storage/volumes/%s/snapshots", v->uuid);
    ontap_qs_add (&t, "name", name);
    vs_sbuf_addstr (&t, "&fields=" ONTAP_SNAP_FIELDS);
    r = t.err ? t.err : ontap_get_all (c, t.data, ontap_snap_page, &s);
    vs_sbuf_release (&t);
    for (size_t i = 0; r == 0 && i < s.len; i++) {
        if (strcmp (s.ptr[i].name, name) == 0) {
            hit = i;
            n++;
        }
    }
    if (r == 0 && n != 1) {
        r = n == 0 ? set_error (ENOENT, "snapshot '%s' not found on volume "
                                "'%s'", name, v->name)
                   : set_error (EPROTO, "%zu snapshots named '%s' on volume "
                                "'%s'", n, name, v->name);
    }
    if (r == 0) {
        *out = s.ptr[hit];
        s.ptr[hit] = s.ptr[--s.len];
    }
    ontap_snapshot_vec_free (&s);
    return r;
}

static int
ontap_snapshot_body (const char *name, const char *comment, char **out)
{
    struct sbuf b;
    struct jsonw w;

    vs_sbuf_init (&b, 8192);
    vs_jw_init (&w, &b, false);
    vs_jw_obj_begin (&w);
    vs_jw_kv_str (&w, "name", name);
    if (comment) {
        vs_jw_kv_str (&w, "comment", comment);
    }
    vs_jw_obj_end (&w);
    *out = vs_sbuf_detach (&b, NULL);
    return *out ? 0 : -EFBIG;
}

/* The job vanished: the snapshot itself tells.  Not there yet is not
 * "never made": the job may still be running out of sight, so look a
 * few times with backoff before calling it an ambiguous failure (which
 * the caller settles by looking once more and then resending).  Taking
 * the first miss for a failure left the job to create the snapshot
 * after the run had given up on it. */
static int
ontap_snapshot_settle (struct ontap_client *c, const struct ontap_volume *v,
                       const char *name)
{
    struct ontap_retry_policy rp;
    struct ontap_snapshot s;
    int r;

    ontap_client_get_retry (c, &rp);
    for (unsigned i = 0;; i++) {
        r = ontap_snapshot_find (c, v, name, &s);
        if (r == 0) {
            ontap_snapshot_release (&s);
            return 0;
        }
        if (r != -ENOENT || i + 1 >= rp.attempts) {
            break;
        }
        clear_error ();
        ontap_client_sleep (c, ontap_client_backoff (c, i));
    }
    if (r == -ENOENT) {
        r = set_error (EIO, "the job creating snapshot '%s' vanished and the "
                       "snapshot is not there", name);
    }
    return r;
}

/* One POST and its job.  A vanished job is settled by looking. */
static int
ontap_snapshot_post (struct ontap_client *c, const char *target,
                     const char *body, const struct ontap_volume *v,
                     const char *name)
{
    struct ontap_reply rep = { 0 };
    enum ontap_outcome oc;
    int r = ontap_call (c, "POST", target, body, ONTAP_REQ_RETRY_BUSY, &rep);

    if (r < 0) {
        return r;
    }
    r = ontap_async_finish (c, &rep, "creating a snapshot", &oc);
    ontap_reply_release (&rep);
    if (r == 0 && oc == ONTAP_UNKNOWN) {
        r = ontap_snapshot_settle (c, v, name);
    }
    return r;
}

int
ontap_snapshot_create (struct ontap_client *c, const struct ontap_volume *v,
                       const char *name, const char *comment,
                       struct ontap_snapshot *out)
{
    const struct ontap_profile *p = ontap_client_profile (c);
    struct ontap_retry_policy rp;
    char target[256], *body = NULL;
    int r;

    if ((r = ontap_snapshot_name_ok (name)) < 0 ||
        (r = ontap_snapshot_body (name, comment, &body)) < 0) {
        return r;
    }
    ontap_client_get_retry (c, &rp);
    snprintf (target, sizeof target, "/api/storage/volumes/%s/snapshots"
              "?return_timeout=%u", v->uuid, p->return_timeout);
    for (unsigned attempt = 0;; attempt++) {
        struct ontap_snapshot s;

        r = ontap_snapshot_post (c, target, body, v, name);
        if (r == -EEXIST && attempt > 0) {
            r = 0;      /* made by the attempt we could not confirm */
        }
        if (r == 0 || !ontap_ambiguous (r) || attempt + 1 >= rp.attempts) {
            break;
        }
        /* Look before resending: a POST is not repeated blindly. */
        r = ontap_snapshot_find (c, v, name, &s);
        if (r == 0) {
            ontap_snapshot_release (&s);
            break;
        }
        if (r != -ENOENT) {
            break;
        }
        clear_error ();
        ontap_client_sleep (c, ontap_client_backoff (c, attempt));
    }
    free (body);
    if (r == 0 && out) {
        r = ontap_snapshot_find (c, v, name, out);
    }
    if (r < 0) {
        error_prepend ("creating snapshot '%s' of volume '%s': ", name,
                       v->name);
    }
    return r;
}

/* After a job vanished: 0 if the snapshot is gone, -EAGAIN if not. */
static int
ontap_snapshot_gone (struct ontap_client *c, const struct ontap_volume *v,
                     const struct ontap_snapshot *s)
{
    struct ontap_reply rep = { 0 };
    char target[256];
    int r;

    snprintf (target, sizeof target, "/api/storage/volumes/%s/snapshots/%s"
              "?fields=uuid,name", v->uuid, s->uuid);
    r = ontap_call (c, "GET", target, NULL, 0, &rep);
    ontap_reply_release (&rep);
    if (r == -ENOENT) {
        clear_error ();
        return 0;
    }
    return r == 0 ? set_error (EAGAIN, "snapshot '%s' is still there", s->name)
                  : r;
}

static int
ontap_snapshot_delete_once (struct ontap_client *c, const char *target,
                            const struct ontap_volume *v,
                            const struct ontap_snapshot *s)
{
    struct ontap_reply rep = { 0 };
    enum ontap_outcome oc;
    int r = ontap_call (c, "DELETE", target, NULL, 0, &rep);

    if (r < 0) {
        return r;
    }
    r = ontap_async_finish (c, &rep, "deleting a snapshot", &oc);
    ontap_reply_release (&rep);
    if (r == 0 && oc == ONTAP_UNKNOWN) {
        r = ontap_snapshot_gone (c, v, s);
    }
    return r;
}

int
ontap_snapshot_delete (struct ontap_client *c, const struct ontap_volume *v,
                       const struct ontap_snapshot *s)
{
    const struct ontap_profile *p = ontap_client_profile (c);
    uint64_t end = ontap_client_now (c) + (uint64_t) p->job_deadline * 1000;
    struct ontap_retry_policy rp;
    unsigned ambiguous = 0;
    char target[256];
    int r;

    if (!ontap_uuid_ok (s->uuid)) {
        return set_error (EINVAL, "snapshot '%s' has no uuid", s->name);
    }
    ontap_client_get_retry (c, &rp);
    snprintf (target, sizeof target, "/api/storage/volumes/%s/snapshots/%s"
              "?return_timeout=%u", v->uuid, s->uuid, p->return_timeout);
    for (unsigned attempt = 0;; attempt++) {
        r = ontap_snapshot_delete_once (c, target, v, s);
        if (r == 0 || (r == -ENOENT && attempt > 0)) {
            clear_error ();
            return 0;
        }
        if (ontap_ambiguous (r) || r == -EAGAIN) {
            if (++ambiguous >= rp.attempts) {
                break;
            }
        } else if (r != -EBUSY || ontap_client_now (c) >= end) {
            break;
        }
        clear_error ();
        ontap_client_sleep (c, ontap_client_backoff (c, attempt));
    }
    error_prepend ("deleting snapshot '%s' of volume '%s': ", s->name, v->name);
    return r;
}
