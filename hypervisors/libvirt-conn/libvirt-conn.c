/* The libvirt connection client (see libvirt-conn.h).  API reference:
 * https://libvirt.org/html/libvirt-libvirt-domain.html and
 * https://libvirt.org/html/libvirt-virterror.html. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/dl-libvirt.h"
#include "engine/base/error.h"
#include "hypervisors/libvirt-conn/libvirt-conn.h"

struct hv_lvc {
    virConnectPtr conn;
    char *uri;
};

static pthread_once_t hv_lvc_once = PTHREAD_ONCE_INIT;

static void
hv_lvc_quiet (void *opaque, virErrorPtr err)
{
    (void) opaque;
    (void) err;                 /* read back with virGetLastError */
}

static void
hv_lvc_init (void)
{
    virSetErrorFunc (NULL, hv_lvc_quiet);
}

static int
hv_lvc_err (const struct hv_lvc *c, const char *name, const char *what)
{
    virErrorPtr e = virGetLastError ();
    const char *msg = e && e->message ? e->message : "unknown libvirt error";
    int errnum = EIO;

    if (e) {
        switch (e->code) {
        case VIR_ERR_NO_DOMAIN: errnum = ENOENT; break;
        case VIR_ERR_OPERATION_DENIED: case VIR_ERR_AUTH_FAILED:
        case VIR_ERR_ACCESS_DENIED: errnum = EACCES; break;
        case VIR_ERR_NO_CONNECT: errnum = ECONNREFUSED; break;
        case VIR_ERR_XML_ERROR: case VIR_ERR_XML_DETAIL:
        case VIR_ERR_CONFIG_UNSUPPORTED: errnum = EINVAL; break;
        case VIR_ERR_OPERATION_INVALID:
            errnum = e->domain == VIR_FROM_DOMAIN ? EEXIST : EIO;
            break;
        default: break;
        }
    }
    if (name) {
        errnum = set_error (errnum, "libvirt '%s': %s domain '%s': %s",
                            c ? c->uri : "?", what, name, msg);
    } else {
        errnum = set_error (errnum, "libvirt '%s': %s: %s", c ? c->uri : "?",
                            what, msg);
    }
    virResetLastError ();
    return errnum;
}

int
hv_lvc_open (const char *uri, struct hv_lvc **out)
{
    struct hv_lvc *c;

    *out = NULL;
    if (!uri || !*uri) {
        return set_error (EINVAL, "libvirt: empty connection URI");
    }
    if (vs_dl_libvirt () < 0) {
        return -vmshift_internal_error_errno ();
    }
    pthread_once (&hv_lvc_once, hv_lvc_init);
    if (!(c = calloc (1, sizeof *c)) || !(c->uri = strdup (uri))) {
        free (c);
        return set_error (ENOMEM, "out of memory");
    }
    c->conn = virConnectOpen (uri);
    if (!c->conn) {
        int r = hv_lvc_err (c, NULL, "cannot connect");

        if (r == -EIO) {
            r = set_error (ECONNREFUSED, "%s", vmshift_internal_error_msg ());
        }
        free (c->uri);
        free (c);
        return r;
    }
    *out = c;
    return 0;
}

void
hv_lvc_close (struct hv_lvc *c)
{
    if (c) {
        virConnectClose (c->conn);
        free (c->uri);
        free (c);
    }
}

const char *
hv_lvc_uri (const struct hv_lvc *c)
{
    return c->uri;
}

static virDomainPtr
hv_lvc_lookup (struct hv_lvc *c, const char *name, int *r)
{
    virDomainPtr d = virDomainLookupByName (c->conn, name);

    *r = d ? 0 : hv_lvc_err (c, name, "looking up");
    return d;
}

int
hv_lvc_define (struct hv_lvc *c, const char *xml, char uuid[37])
{
    virDomainPtr d = virDomainDefineXML (c->conn, xml);
    int r = 0;

    if (!d) {
        return hv_lvc_err (c, NULL, "defining a domain");
    }
    if (uuid && virDomainGetUUIDString (d, uuid) < 0) {
        r = hv_lvc_err (c, virDomainGetName (d), "reading the UUID of");
    }
    virDomainFree (d);
    return r;
}

int
hv_lvc_start (struct hv_lvc *c, const char *name, bool *started)
{
    virDomainPtr d;
    int active, r;

    if (started) {
        *started = false;
    }
    if (!(d = hv_lvc_lookup (c, name, &r))) {
        return r;
    }
    active = virDomainIsActive (d);
    if (active < 0) {
        r = hv_lvc_err (c, name, "reading the state of");
    } else if (active == 0) {
        if (virDomainCreate (d) < 0) {
            r = hv_lvc_err (c, name, "starting");
        } else if (started) {
            *started = true;
        }
    }
    virDomainFree (d);
    return r;
}

int
hv_lvc_info (struct hv_lvc *c, const char *name, struct hv_lvc_info *out)
{
    virDomainPtr d;
    int st = 0, reason = 0, pers, r;
    unsigned int id;

    memset (out, 0, sizeof *out);
    if (!(d = hv_lvc_lookup (c, name, &r))) {
        return r;
    }
    if (virDomainGetState (d, &st, &reason, 0) < 0 ||
        virDomainGetUUIDString (d, out->uuid) < 0 ||
        (pers = virDomainIsPersistent (d)) < 0) {
        r = hv_lvc_err (c, name, "reading the state of");
    } else {
        out->state = (st >= 0 && st <= HV_LVC_PMSUSPENDED)
                     ? (enum hv_lvc_state) st : HV_LVC_NOSTATE;
        id = virDomainGetID (d);
        out->id = id == (unsigned int) -1 ? -1 : (int) id;
        out->persistent = pers == 1;
    }
    virDomainFree (d);
    return r;
}

int
hv_lvc_remove (struct hv_lvc *c, const char *name, bool *existed)
{
    virDomainPtr d = virDomainLookupByName (c->conn, name);
    int r = 0, active;

    if (existed) {
        *existed = d != NULL;
    }
    if (!d) {
        virErrorPtr e = virGetLastError ();

        if (e && e->code == VIR_ERR_NO_DOMAIN) {
            virResetLastError ();
            return 0;
        }
        return hv_lvc_err (c, name, "looking up");
    }
    active = virDomainIsActive (d);
    if (active < 0) {
        r = hv_lvc_err (c, name, "reading the state of");
    } else if (active == 1 && virDomainDestroy (d) < 0) {
        r = hv_lvc_err (c, name, "stopping");
    }
    if (r == 0 && virDomainIsPersistent (d) == 1 &&
        virDomainUndefineFlags (d, VIR_DOMAIN_UNDEFINE_NVRAM |
                                VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
                                VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA) < 0) {
        /* Drivers without NVRAM (the test driver) refuse the flags: a
         * plain undefine then removes everything there is. */
        virErrorPtr e = virGetLastError ();

        if (e && (e->code == VIR_ERR_INVALID_ARG ||
                  e->code == VIR_ERR_NO_SUPPORT)) {
            virResetLastError ();
            if (virDomainUndefine (d) < 0) {
                r = hv_lvc_err (c, name, "undefining");
            }
        } else {
            r = hv_lvc_err (c, name, "undefining");
        }
    }
    virDomainFree (d);
    return r;
}

const char *
hv_lvc_state_name (enum hv_lvc_state s)
{
    static const char *const n[] = {
        "nostate", "running", "blocked", "paused", "shutdown", "shutoff",
        "crashed", "pmsuspended",
    };

    return (unsigned) s <= HV_LVC_PMSUSPENDED ? n[s] : "?";
}
