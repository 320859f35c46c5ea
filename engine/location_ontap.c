/* ontap:// locations opened for reading (info, verify, .vmx files). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend/backend.h"
#include "engine/backend/ontap.h"
#include "engine/base/error.h"
#include "engine/handle.h"
#include "engine/location.h"

struct loc_ontap {
    struct ontap_profile *prof;
    struct ontap_client *client;
    struct ontap_volume vol;
};

int
vs_loc_ontap_nfs_url (const struct ontap_profile *p,
                      const struct ontap_volume *v, char **out)
{
    const struct ontap_nfs_opts *n = &p->nfs;
    char q[128];
    int len;

    if (n->server == NULL) {
        return set_error (EINVAL, "profile '%s' names no NFS data address "
                          "(\"nfs\": {\"server\": ...})", p->name);
    }
    if (v->junction_path == NULL || v->junction_path[0] != '/') {
        return set_error (EINVAL, "volume '%s' is not mounted in the SVM "
                          "namespace (no junction path), so it cannot be "
                          "reached over NFS", v->name);
    }
    len = snprintf (q, sizeof q, "?version=%u", n->version ? n->version : 3);
    if (n->port) {
        len += snprintf (q + len, sizeof q - (size_t) len, "&nfsport=%u",
                         n->port);
    }
    if (n->mount_port) {
        snprintf (q + len, sizeof q - (size_t) len, "&mountport=%u",
                  n->mount_port);
    }
    if (asprintf (out, "nfs://%s%s%s", n->server, v->junction_path, q) < 0) {
        *out = NULL;
        return set_error (ENOMEM, "out of memory");
    }
    return 0;
}

void
vs_loc_ontap_free (struct loc_ontap *o)
{
    if (o == NULL) {
        return;
    }
    ontap_volume_release (&o->vol);
    ontap_client_free (o->client);
    ontap_profile_free (o->prof);
    free (o);
}

struct ontap_client *
vs_loc_ontap_client (const struct loc_handle *l)
{
    return l->ontap ? l->ontap->client : NULL;
}

const struct ontap_volume *
vs_loc_ontap_volume (const struct loc_handle *l)
{
    return l->ontap ? &l->ontap->vol : NULL;
}

int
vs_loc_ontap_nfs_again (struct vmshift_handle *h, const struct loc_handle *l,
                        struct backend **out)
{
    char *url = NULL;
    int r;

    *out = NULL;
    if (l->ontap == NULL) {
        return set_error (ENOTSUP, "not an ontap:// location");
    }
    r = vs_loc_ontap_nfs_url (l->ontap->prof, &l->ontap->vol, &url);
    if (r == 0 && (*out = be_nfs_new (&h->log, url)) == NULL) {
        r = -vmshift_internal_error_errno ();
    }
    free (url);
    return r;
}

int
vs_loc_ontap_open (struct vmshift_handle *h, const char *location,
                struct loc_handle *out)
{
    return vs_loc_ontap_open_known (h, location, NULL, out);
}

int
vs_loc_ontap_open_known (struct vmshift_handle *h, const char *location,
                         const struct ontap_volume *known,
                         struct loc_handle *out)
{
    struct ontap_location loc = { 0 };
    struct loc_ontap *o = calloc (1, sizeof *o);
    struct backend *nfs = NULL;
    char *url = NULL;
    int r;

    if (o == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    r = ontap_location_parse (location, &loc);
    if (r == 0) {
        r = ontap_profile_load (h->config_path, loc.profile, &h->log, &o->prof);
    }
    if (r == 0) {
        r = ontap_client_new (o->prof, &h->log, &o->client);
    }
    if (r == 0 && known) {
        /* the caller's record of it: no request */
        if (strcmp (known->name, loc.volume) != 0) {
            r = set_error (EINVAL, "volume '%s': the record given is of "
                           "volume '%s'", loc.volume, known->name);
        } else {
            r = ontap_volume_copy (known, &o->vol);
        }
    } else if (r == 0) {
        r = ontap_volume_find (o->client, loc.volume, &o->vol);
        if (r < 0) {
            error_prepend ("volume '%s': ", loc.volume);
        }
    }
    if (r == 0) {
        r = vs_loc_ontap_nfs_url (o->prof, &o->vol, &url);
    }
    if (r == 0 && (nfs = be_nfs_new (&h->log, url)) == NULL) {
        r = -vmshift_internal_error_errno ();
    }
    if (r == 0) {
        out->be = be_ontap_new (&h->log, nfs, o->client, &o->vol);
        out->path = strdup (loc.path);
        out->ontap = o;
        if (out->be == NULL || out->path == NULL) {
            r = set_error (ENOMEM, "out of memory");
        }
    }
    free (url);
    ontap_location_release (&loc);
    if (r < 0) {
        backend_free (out->be);
        free (out->path);
        out->be = NULL;
        out->path = NULL;
        out->ontap = NULL;
        vs_loc_ontap_free (o);
    }
    return r;
}
