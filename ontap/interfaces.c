/* Network interfaces (LIFs): the addresses NFS clients mount from.
 *
 *   GET /api/network/ip/interfaces?fields=name,ip.address,svm.name
 *
 * (ONTAP REST API reference, "network/ip/interfaces"; docs/ontap-client.md.)
 * The vCenter inventory matches an NFS datastore's remote host against
 * the data LIFs of the SVM that owns a volume.  Cluster and node
 * management interfaces have no svm and are skipped.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "ontap/ontap.h"

void
ontap_lif_vec_free (struct ontap_lif_vec *v)
{
    for (size_t i = 0; i < v->len; i++) {
        free (v->ptr[i].name);
        free (v->ptr[i].address);
        free (v->ptr[i].svm);
    }
    ontap_lif_vec_reset (v);
}

static int
ontap_lif_page (void *opaque, const struct json_val *doc, const char *what)
{
    struct ontap_lif_vec *out = opaque;
    const struct json_val *recs = vs_json_get (doc, "records");
    size_t n = vs_json_array_len (recs);

    if (recs == NULL || vs_json_type (recs) != JSON_ARRAY) {
        return set_error (EPROTO, "%s: no records array", what);
    }
    for (size_t i = 0; i < n; i++) {
        const struct json_val *rec = vs_json_array_at (recs, i);
        struct ontap_lif l = { NULL, NULL, NULL };
        int r;

        if (out->len >= ONTAP_RECORDS_MAX) {
            return set_error (EFBIG, "%s: too many interfaces", what);
        }
        if ((r = vs_json_opt_str (rec, "name", &l.name)) < 0 ||
            (r = vs_json_opt_str (rec, "ip.address", &l.address)) < 0 ||
            (r = vs_json_opt_str (rec, "svm.name", &l.svm)) < 0) {
            free (l.name);
            free (l.address);
            free (l.svm);
            error_prepend ("%s: ", what);
            return r;
        }
        if (l.address == NULL || l.svm == NULL ||
            (r = ontap_lif_vec_append (out, l)) < 0) {
            free (l.name);
            free (l.address);
            free (l.svm);
        }
    }
    return 0;
}

int
ontap_lif_list (struct ontap_client *c, struct ontap_lif_vec *out)
{
    struct ontap_lif_vec v = { 0 };
    int r = ontap_get_all (c, "/api/network/ip/interfaces?fields=name,"
                           "ip.address,svm.name", ontap_lif_page, &v);

    if (r < 0) {
        ontap_lif_vec_free (&v);
        return r;
    }
    *out = v;
    return 0;
}
