/* Qtrees: the target directory of converted disks, with the security
 * style its clients need (NTFS for Hyper-V over SMB, UNIX otherwise).
 *
 *   GET   /api/storage/qtrees?volume.uuid=U&name=N&fields=id,name,
 *         security_style,volume.uuid
 *   POST  /api/storage/qtrees?return_timeout=N
 *         {"svm": {"name"}, "volume": {"uuid"}, "name", "security_style"}
 *   PATCH /api/storage/qtrees/{volume.uuid}/{id}?return_timeout=N
 *         {"security_style"}
 *
 * ONTAP assigns the id and returns it only through a GET (docs/
 * ontap-client.md Q1), so a create is followed by a GET.  An existing
 * qtree with another style is refused by default: it belongs to
 * someone, and its files would change meaning.  The caller may ask for
 * it to be changed instead (vmshift convert --qtree-style fix).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "engine/base/jsonw.h"
#include "ontap/ontap.h"

#define ONTAP_QTREE_NAME_MAX 64

static int
ontap_qtree_name_ok (const char *s)
{
    size_t n = strlen (s);

    if (n == 0 || n > ONTAP_QTREE_NAME_MAX || s[0] == '.' ||
        strspn (s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                "0123456789_.-") != n) {
        return set_error (EINVAL, "bad qtree name '%s': at most %d letters, "
                          "digits, '_', '-' or '.', not starting with '.'", s,
                          ONTAP_QTREE_NAME_MAX);
    }
    return 0;
}

static int
ontap_qtree_page (void *opaque, const struct json_val *doc, const char *what)
{
    return ontap_decode_qtrees (doc, what, opaque);
}

/* The qtree NAME of volume v, -ENOENT if there is none. */
static int
ontap_qtree_get (struct ontap_client *c, const struct ontap_volume *v,
                 const char *name, struct ontap_qtree *out);

int
ontap_qtree_find (struct ontap_client *c, const struct ontap_volume *v,
                  const char *name, struct ontap_qtree *out)
{
    int r = ontap_qtree_name_ok (name);

    return r < 0 ? r : ontap_qtree_get (c, v, name, out);
}

static int
ontap_qtree_get (struct ontap_client *c, const struct ontap_volume *v,
                 const char *name, struct ontap_qtree *out)
{
    struct ontap_qtree_vec q = { 0 };
    struct sbuf t;
    size_t hit = 0, n = 0;
    int r;

    vs_sbuf_init (&t, 1024);
    vs_sbuf_addstr (&t, "/api/storage/qtrees");
    ontap_qs_add (&t, "volume.uuid", v->uuid);
    ontap_qs_add (&t, "name", name);
    vs_sbuf_addstr (&t, "&fields=id,name,security_style,volume.uuid");
    r = t.err ? t.err : ontap_get_all (c, t.data, ontap_qtree_page, &q);
    vs_sbuf_release (&t);
    for (size_t i = 0; r == 0 && i < q.len; i++) {
        if (q.ptr[i].name && strcmp (q.ptr[i].name, name) == 0 &&
            (q.ptr[i].volume_uuid[0] == '\0' ||
             strcmp (q.ptr[i].volume_uuid, v->uuid) == 0)) {
            hit = i;
            n++;
        }
    }
    if (r == 0 && n != 1) {
        r = n == 0 ? set_error (ENOENT, "qtree '%s' not found in volume '%s'",
                                name, v->name)
                   : set_error (EPROTO, "%zu qtrees named '%s' in volume '%s'",
                                n, name, v->name);
    }
    if (r == 0) {
        *out = q.ptr[hit];
        q.ptr[hit] = q.ptr[--q.len];
    }
    ontap_qtree_vec_free (&q);
    return r;
}

static int
ontap_qtree_check (const struct ontap_qtree *q, const struct ontap_volume *v,
                   enum ontap_security_style style, uint64_t *id)
{
    if (q->security_style >= 0 && q->security_style != (int) style) {
        return set_error (EEXIST, "qtree '%s' in volume '%s' exists with "
                          "security style '%s', not '%s'; change it "
                          "(--qtree-style fix) or pick another qtree",
                          q->name, v->name,
                          ontap_security_style_name (q->security_style),
                          ontap_security_style_name (style));
    }
    if (q->security_style < 0) {
        return set_error (EPROTO, "ONTAP did not say the security style of "
                          "qtree '%s'", q->name);
    }
    *id = q->id;
    return 0;
}

/* Change an existing qtree's security style.  Setting a style twice
 * gives the same qtree, so the PATCH is idempotent; whatever it says,
 * the GET that follows decides. */
static int
ontap_qtree_set_style (struct ontap_client *c, const struct ontap_volume *v,
                       const char *name, struct ontap_qtree *q,
                       enum ontap_security_style style)
{
    struct ontap_reply rep = { 0 };
    enum ontap_outcome oc;
    char target[160], body[64];
    int r;

    snprintf (target, sizeof target, "/api/storage/qtrees/%s/%" PRIu64
              "?return_timeout=%u", v->uuid, q->id,
              ontap_client_profile (c)->return_timeout);
    snprintf (body, sizeof body, "{\"security_style\":\"%s\"}",
              ontap_security_style_name (style));
    r = ontap_call (c, "PATCH", target, body,
                    ONTAP_REQ_IDEMPOTENT | ONTAP_REQ_RETRY_BUSY, &rep);
    if (r == 0) {
        r = ontap_async_finish (c, &rep, "changing a qtree's security style",
                                &oc);
        ontap_reply_release (&rep);
    }
    if (r < 0) {
        error_prepend ("changing the security style of qtree '%s' from '%s' "
                       "to '%s': ", q->name,
                       ontap_security_style_name (q->security_style),
                       ontap_security_style_name (style));
        return r;
    }
    ontap_qtree_release (q);
    *q = (struct ontap_qtree) { .security_style = -1 };
    return ontap_qtree_get (c, v, name, q);
}

static int
ontap_qtree_body (const char *svm, const struct ontap_volume *v,
                  const char *name, enum ontap_security_style style, char **out)
{
    struct sbuf b;
    struct jsonw w;

    vs_sbuf_init (&b, 8192);
    vs_jw_init (&w, &b, false);
    vs_jw_obj_begin (&w);
    vs_jw_key (&w, "svm");
    vs_jw_obj_begin (&w);
    vs_jw_kv_str (&w, "name", svm);
    vs_jw_obj_end (&w);
    vs_jw_key (&w, "volume");
    vs_jw_obj_begin (&w);
    vs_jw_kv_str (&w, "uuid", v->uuid);
    vs_jw_obj_end (&w);
    vs_jw_kv_str (&w, "name", name);
    vs_jw_kv_str (&w, "security_style", ontap_security_style_name (style));
    vs_jw_obj_end (&w);
    *out = vs_sbuf_detach (&b, NULL);
    return *out ? 0 : -EFBIG;
}

/* POST the qtree; a qtree someone else just made and an ambiguous
 * failure end in the GET that follows, a vanished job in settling. */
static int
ontap_qtree_post (struct ontap_client *c, const char *body,
                  enum ontap_outcome *oc)
{
    struct ontap_reply rep = { 0 };
    char target[64];
    int r;

    *oc = ONTAP_DONE;
    snprintf (target, sizeof target, "/api/storage/qtrees?return_timeout=%u",
              ontap_client_profile (c)->return_timeout);
    r = ontap_call (c, "POST", target, body, ONTAP_REQ_RETRY_BUSY, &rep);
    if (r == 0) {
        r = ontap_async_finish (c, &rep, "creating a qtree", oc);
        ontap_reply_release (&rep);
    }
    if (r == -EEXIST) {
        clear_error ();
        return 0;
    }
    return r;
}

/* "Maybe done": look, then resend.  A job that reported its failure
 * (EREMOTEIO) is a definite answer and is not resent. */
static bool
ontap_qtree_ambiguous (int r)
{
    return r == -EIO || r == -ETIMEDOUT || r == -ECONNRESET;
}

/* The POST's job vanished (purged, or hidden: ONTAP on FSx hides some
 * jobs) while it may still be running: the qtree appears when the job
 * has run, so look again, with backoff, until the profile's
 * job_deadline (docs/ontap-client.md). */
static int
ontap_qtree_settle (struct ontap_client *c, const struct ontap_volume *v,
                    const char *name, struct ontap_qtree *q)
{
    unsigned deadline = ontap_client_profile (c)->job_deadline;
    uint64_t end = ontap_client_now (c) + (uint64_t) deadline * 1000;

    for (unsigned i = 0;; i++) {
        int r = ontap_qtree_get (c, v, name, q);
        uint64_t now, d;

        if (r != -ENOENT) {
            return r;
        }
        now = ontap_client_now (c);
        if (now >= end) {
            return set_error (ETIMEDOUT, "the job creating qtree '%s' "
                              "vanished and the qtree did not appear in "
                              "volume '%s' within %u s", name, v->name,
                              deadline);
        }
        clear_error ();
        d = ontap_client_backoff (c, i);
        ontap_client_sleep (c, d < end - now ? d : end - now);
    }
}

static int
ontap_qtree_create (struct ontap_client *c, const struct ontap_volume *v,
                    const char *name, enum ontap_security_style style,
                    struct ontap_qtree *q)
{
    const char *svm = ontap_client_profile (c)->svm;
    struct ontap_retry_policy rp;
    char *body = NULL;
    int r;

    svm = svm ? svm : v->svm;
    if (svm == NULL) {
        return set_error (EINVAL, "no SVM known for volume '%s'; set 'svm' "
                          "in the profile", v->name);
    }
    if ((r = ontap_qtree_body (svm, v, name, style, &body)) < 0) {
        return r;
    }
    ontap_client_get_retry (c, &rp);
    for (unsigned attempt = 0;; attempt++) {
        enum ontap_outcome oc;
        int p = ontap_qtree_post (c, body, &oc);

        if (p < 0 && !ontap_qtree_ambiguous (p)) {
            r = p;
            break;
        }
        if (p == 0 && oc == ONTAP_UNKNOWN) {
            r = ontap_qtree_settle (c, v, name, q);
            break;
        }
        /* Look, whatever the POST said: only the GET gives the id. */
        r = ontap_qtree_get (c, v, name, q);
        if (r != -ENOENT || p == 0 || attempt + 1 >= rp.attempts) {
            break;
        }
        clear_error ();
        ontap_client_sleep (c, ontap_client_backoff (c, attempt));
    }
    free (body);
    return r;
}

int
ontap_qtree_ensure (struct ontap_client *c, const struct ontap_volume *v,
                    const char *name, enum ontap_security_style style,
                    unsigned flags, uint64_t *id,
                    enum ontap_security_style *was)
{
    struct ontap_qtree q = { .security_style = -1 };
    bool changed = false;
    int r;

    if ((r = ontap_qtree_name_ok (name)) < 0) {
        return r;
    }
    if ((unsigned) style > ONTAP_SEC_MIXED) {
        return set_error (EINVAL, "bad qtree security style %d", (int) style);
    }
    r = ontap_qtree_get (c, v, name, &q);
    if (r == -ENOENT) {
        clear_error ();
        r = ontap_qtree_create (c, v, name, style, &q);
    }
    if (r == 0 && (flags & ONTAP_QTREE_FIX_STYLE) && q.security_style >= 0 &&
        q.security_style != (int) style) {
        if (was) {
            *was = (enum ontap_security_style) q.security_style;
        }
        changed = true;
        r = ontap_qtree_set_style (c, v, name, &q, style);
    }
    if (r == 0) {
        r = ontap_qtree_check (&q, v, style, id);
    }
    ontap_qtree_release (&q);
    if (r < 0) {
        error_prepend ("qtree '%s': ", name);
    }
    return r < 0 ? r : changed;
}

/* Gone, or still there with the same id (the delete's job vanished, or
 * its answer was lost): 0 when gone, -EAGAIN when still there. */
static int
ontap_qtree_gone (struct ontap_client *c, const struct ontap_volume *v,
                  const struct ontap_qtree *q)
{
    struct ontap_qtree now = { .security_style = -1 };
    int r = ontap_qtree_get (c, v, q->name, &now);

    if (r == -ENOENT) {
        clear_error ();
        return 0;
    }
    if (r == 0) {
        r = now.id == q->id
            ? set_error (EAGAIN, "qtree '%s' is still there", q->name)
            : set_error (EEXIST, "qtree '%s' is another qtree now (id %"
                         PRIu64 ", not %" PRIu64 ")", q->name, now.id,
                         q->id);
        ontap_qtree_release (&now);
    }
    return r;
}

int
ontap_qtree_delete (struct ontap_client *c, const struct ontap_volume *v,
                    const struct ontap_qtree *q)
{
    const struct ontap_profile *p = ontap_client_profile (c);
    uint64_t end = ontap_client_now (c) + (uint64_t) p->job_deadline * 1000;
    struct ontap_retry_policy rp;
    char target[256];
    int r = 0;

    if (q->id == 0 || q->name == NULL || q->name[0] == '\0') {
        return set_error (EINVAL, "qtree 0 (the volume itself) is never "
                          "deleted");
    }
    ontap_client_get_retry (c, &rp);
    snprintf (target, sizeof target, "/api/storage/qtrees/%s/%" PRIu64
              "?return_timeout=%u", v->uuid, q->id, p->return_timeout);
    for (unsigned attempt = 0, ambiguous = 0;; attempt++) {
        struct ontap_reply rep = { 0 };
        enum ontap_outcome oc = ONTAP_UNKNOWN;

        /* sent once per attempt: a lost answer is settled by looking */
        r = ontap_call (c, "DELETE", target, NULL, 0, &rep);
        if (r == 0) {
            r = ontap_async_finish (c, &rep, "deleting a qtree", &oc);
        }
        ontap_reply_release (&rep);
        if (r == -ENOENT && attempt > 0) {
            clear_error ();
            r = 0;              /* our earlier attempt did it */
            break;
        }
        if (r == 0 && oc != ONTAP_UNKNOWN) {
            break;
        }
        if (r < 0 && !ontap_qtree_ambiguous (r)) {
            break;
        }
        clear_error ();
        /* the job vanished, or the answer was lost: look */
        r = ontap_qtree_gone (c, v, q);
        if (r != -EAGAIN || ontap_client_now (c) >= end ||
            ++ambiguous >= rp.attempts) {
            break;
        }
        clear_error ();
        ontap_client_sleep (c, ontap_client_backoff (c, attempt));
    }
    if (r < 0) {
        error_prepend ("deleting qtree '%s' of volume '%s': ", q->name,
                       v->name);
    }
    return r;
}
