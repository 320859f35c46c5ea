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

/* Test hook: VMSHIFT_TEST_LIBVIRT_FAULT="OP:COUNT:CODE[,OP:COUNT:CODE]"
 * makes the first COUNT calls of OP ("define" or "start") in this
 * process fail with virErrorNumber CODE, as libvirt would report it
 * (domain VIR_FROM_DOMAIN), before libvirt is asked; the error is then
 * classified as a real one (hv_lvc_err_of).  libvirt's test driver never
 * fails retryably, so this is how tests reach the run's retries of
 * define and start (docs/testing.md, "Fault hooks"). */
struct hv_lvc_fault {
    char op[8];
    unsigned left;
    int code;
};

static struct hv_lvc_fault hv_lvc_faults[4];
static size_t hv_lvc_nfaults;
static pthread_mutex_t hv_lvc_fault_lock = PTHREAD_MUTEX_INITIALIZER;

static void
hv_lvc_faults_parse (void)
{
    const char *s = getenv ("VMSHIFT_TEST_LIBVIRT_FAULT");

    while (s && *s && hv_lvc_nfaults < 4) {
        struct hv_lvc_fault *f = &hv_lvc_faults[hv_lvc_nfaults];
        unsigned left;
        int code, n = 0;

        if (sscanf (s, "%7[a-z]:%u:%d%n", f->op, &left, &code, &n) != 3 ||
            (strcmp (f->op, "define") && strcmp (f->op, "start"))) {
            break;              /* a test's typo: no fault */
        }
        f->left = left;
        f->code = code;
        hv_lvc_nfaults++;
        s += n;
        s += *s == ',';
    }
}

static void
hv_lvc_init (void)
{
    virSetErrorFunc (NULL, hv_lvc_quiet);
    hv_lvc_faults_parse ();
}

/* The injected error for this call of op, if one is due. */
static bool
hv_lvc_fault (const char *op, virError *e)
{
    bool hit = false;

    pthread_mutex_lock (&hv_lvc_fault_lock);
    for (size_t i = 0; i < hv_lvc_nfaults && !hit; i++) {
        if (strcmp (hv_lvc_faults[i].op, op) == 0 &&
            hv_lvc_faults[i].left > 0) {
            hv_lvc_faults[i].left--;
            memset (e, 0, sizeof *e);
            e->code = hv_lvc_faults[i].code;
            e->domain = VIR_FROM_DOMAIN;
            e->level = VIR_ERR_ERROR;
            e->message = (char *) "injected by VMSHIFT_TEST_LIBVIRT_FAULT";
            hit = true;
        }
    }
    pthread_mutex_unlock (&hv_lvc_fault_lock);
    return hit;
}

/* e's errno (libvirt-conn.h): what the caller decides on, by class
 * (docs/internals/errors.md): a lost connection or a timeout is worth
 * another try, a refused definition is not. */
static int
hv_lvc_err_of (const struct hv_lvc *c, const char *name, const char *what,
               const virError *e)
{
    const char *msg = e && e->message ? e->message : "unknown libvirt error";
    int errnum = EIO;

    if (e) {
        switch (e->code) {
        case VIR_ERR_NO_DOMAIN: errnum = ENOENT; break;
        case VIR_ERR_OPERATION_DENIED: case VIR_ERR_AUTH_FAILED:
        case VIR_ERR_ACCESS_DENIED: errnum = EACCES; break;
        case VIR_ERR_NO_CONNECT: errnum = ECONNREFUSED; break;
        case VIR_ERR_RPC: errnum = ECONNRESET; break;
        case VIR_ERR_OPERATION_TIMEOUT: case VIR_ERR_AGENT_UNRESPONSIVE:
            errnum = ETIMEDOUT;
            break;
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
    return errnum;
}

static int
hv_lvc_err (const struct hv_lvc *c, const char *name, const char *what)
{
    int r = hv_lvc_err_of (c, name, what, virGetLastError ());

    virResetLastError ();
    return r;
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

bool
hv_lvc_alive (const struct hv_lvc *c)
{
    int a = virConnectIsAlive (c->conn);

    virResetLastError ();
    return a != 0;              /* -1: cannot tell; the next call will */
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
    virDomainPtr d;
    virError fe;
    int r = 0;

    if (hv_lvc_fault ("define", &fe)) {
        return hv_lvc_err_of (c, NULL, "defining a domain", &fe);
    }
    if (!(d = virDomainDefineXML (c->conn, xml))) {
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
    virError fe;
    int active, r;

    if (started) {
        *started = false;
    }
    if (hv_lvc_fault ("start", &fe)) {
        return hv_lvc_err_of (c, name, "starting", &fe);
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
