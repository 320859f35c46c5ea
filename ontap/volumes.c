/* The cluster version and volumes.
 *
 *   GET /api/cluster?fields=version
 *   GET /api/storage/volumes?name=V[&svm.name=S]&fields=...   by name
 *   GET /api/storage/volumes?nas.path=/P[&svm.name=S]&fields=...  by junction
 *
 * fields= keeps replies small (a full volume record is several KiB,
 * docs/ontap-client.md V1).  Pages are followed through _links.next.
 * The records are checked again on our side: a query value is a pattern
 * to ONTAP, and we want exactly one volume of exactly that name.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "ontap/ontap.h"

#define ONTAP_VOLUME_FIELDS "uuid,name,style,nas.path,svm.name"

int
ontap_cluster_version (struct ontap_client *c, struct ontap_version *out)
{
    struct ontap_reply rep = { 0 };
    int r = ontap_call (c, "GET", "/api/cluster?fields=version", NULL, 0, &rep);

    if (r < 0) {
        return r;
    }
    r = rep.json ? ontap_decode_version (rep.json, "reply to GET /api/cluster",
                                         out)
                 : set_error (EPROTO, "reply to GET /api/cluster: empty");
    ontap_reply_release (&rep);
    return r;
}

static int
ontap_volume_page (void *opaque, const struct json_val *doc, const char *what)
{
    return ontap_decode_volumes (doc, what, opaque);
}

int
ontap_volume_list (struct ontap_client *c, const char *query,
                   struct ontap_volume_vec *out)
{
    struct ontap_volume_vec v = { 0 };
    struct sbuf t;
    int r;

    vs_sbuf_init (&t, 4096);
    vs_sbuf_addstr (&t, "/api/storage/volumes?");
    if (query && *query) {
        vs_sbuf_printf (&t, "%s&", query);
    }
    vs_sbuf_addstr (&t, "fields=" ONTAP_VOLUME_FIELDS);
    r = t.err ? t.err : ontap_get_all (c, t.data, ontap_volume_page, &v);
    vs_sbuf_release (&t);
    if (r < 0) {
        ontap_volume_vec_free (&v);
        return r;
    }
    *out = v;
    return 0;
}

static int
ontap_volume_query (struct ontap_client *c, const char *key, const char *val,
                    const char *what, struct sbuf *q)
{
    const char *svm = ontap_client_profile (c)->svm;
    int r;

    if ((r = ontap_query_value_ok (val, what)) < 0) {
        return r;
    }
    if (svm && (r = ontap_query_value_ok (svm, "SVM name")) < 0) {
        return r;
    }
    ontap_qs_add (q, key, val);
    if (svm) {
        ontap_qs_add (q, "svm.name", svm);
    }
    return q->err;
}

/* Exactly one record must match; names are compared by us. */
static int
ontap_volume_pick (struct ontap_client *c, struct ontap_volume_vec *v,
                   const char *want, bool by_path, struct ontap_volume *out)
{
    const char *svm = ontap_client_profile (c)->svm;
    size_t hit = 0, n = 0;

    for (size_t i = 0; i < v->len; i++) {
        const char *have = by_path ? v->ptr[i].junction_path : v->ptr[i].name;

        if (have && strcmp (have, want) == 0 &&
            (svm == NULL || v->ptr[i].svm == NULL ||
             strcmp (v->ptr[i].svm, svm) == 0)) {
            hit = i;
            n++;
        }
    }
    if (n == 0) {
        return set_error (ENOENT, "ONTAP volume %s '%s' not found%s%s%s",
                          by_path ? "with junction path" : "named", want,
                          svm ? " on SVM '" : "", svm ? svm : "",
                          svm ? "'" : "");
    }
    if (n > 1) {
        return set_error (EINVAL, "ONTAP volume %s '%s' is ambiguous: %zu "
                          "volumes match; set 'svm' in the profile",
                          by_path ? "with junction path" : "named", want, n);
    }
    *out = v->ptr[hit];
    memmove (&v->ptr[hit], &v->ptr[hit + 1],
             (v->len - hit - 1) * sizeof v->ptr[0]);
    v->len--;
    return 0;
}

static int
ontap_volume_check_style (const struct ontap_volume *vol)
{
    if (vol->style == NULL) {
        return set_error (EPROTO, "ONTAP did not say the style of volume '%s'",
                          vol->name);
    }
    if (strcmp (vol->style, "flexvol") != 0) {
        return set_error (ENOTSUP, "ONTAP volume '%s' is a %s; file clones "
                          "need a FlexVol", vol->name, vol->style);
    }
    return 0;
}

int
ontap_volume_find (struct ontap_client *c, const char *name_or_path,
                   struct ontap_volume *out)
{
    bool by_path = name_or_path[0] == '/';
    struct ontap_volume_vec v = { 0 };
    struct ontap_volume vol = { .uuid = "" };
    struct sbuf q;
    int r;

    if (!by_path && !ontap_volume_name_ok (name_or_path)) {
        return set_error (EINVAL, "'%s' is not an ONTAP volume name",
                          name_or_path);
    }
    vs_sbuf_init (&q, 2048);
    r = ontap_volume_query (c, by_path ? "nas.path" : "name", name_or_path,
                            by_path ? "junction path" : "volume name", &q);
    if (r == 0) {
        r = ontap_volume_list (c, q.data + 1, &v);      /* skip the '?' */
    }
    vs_sbuf_release (&q);
    if (r == 0) {
        r = ontap_volume_pick (c, &v, name_or_path, by_path, &vol);
    }
    ontap_volume_vec_free (&v);
    if (r == 0 && (r = ontap_volume_check_style (&vol)) == 0) {
        *out = vol;
        return 0;
    }
    ontap_volume_release (&vol);
    return r;
}
