/* vSphere SOAP calls: envelopes, the session, faults.
 *
 * Each call is one HTTPS POST of a SOAP 1.1 envelope to the profile's
 * path (/sdk), with SOAPAction "urn:vim25/<version>".  The session is the
 * vmware_soap_session cookie that SessionManager.Login sets; the libcurl
 * transport keeps it (its in-memory cookie store).  A NotAuthenticated
 * fault (the session expired or was terminated) logs in again once and
 * resends the call; a refused login (InvalidLogin) is never retried, so
 * a wrong password costs exactly one Login request.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/base/error.h"
#include "hypervisors/vsphere/vsphere.h"
#include "ontap/ontap.h"

#define VSPHERE_SOAP_ACTION "SOAPAction: urn:vim25/6.5"

struct vsphere_client {
    struct vsphere_profile p;   /* copied strings */
    const struct logger *lg;
    struct ontap_transport *t;
    struct vsphere_service_content sc;
    bool have_sc;
    bool logged_in;
    unsigned generation;        /* bumped by each login */
    struct vsphere_stats st;
    struct vsphere_clock clk;
};

/* ------------------------------------------------------------- clock */

static uint64_t
vsphere_real_now (void *opaque)
{
    struct timespec ts;

    (void) opaque;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void
vsphere_real_sleep (void *opaque, uint64_t ms)
{
    struct timespec ts = { (time_t) (ms / 1000), (long) (ms % 1000) * 1000000 };

    (void) opaque;
    while (nanosleep (&ts, &ts) < 0 && errno == EINTR) {
    }
}

void
vsphere_client_set_clock (struct vsphere_client *c,
                          const struct vsphere_clock *clk)
{
    c->clk = *clk;
}

uint64_t
vsphere_client_now (struct vsphere_client *c)
{
    return c->clk.now_ms (c->clk.opaque);
}

void
vsphere_client_sleep (struct vsphere_client *c, uint64_t ms)
{
    c->clk.sleep_ms (c->clk.opaque, ms);
}

unsigned
vsphere_client_generation (const struct vsphere_client *c)
{
    return c->generation;
}

/* ----------------------------------------------------------- client */

static int
vsphere_dup (const char *s, char **out)
{
    *out = NULL;
    if (s && (*out = strdup (s)) == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    return 0;
}

static void
vsphere_profile_release (struct vsphere_profile *p)
{
    free (p->name);
    free (p->base);
    free (p->path);
    free (p->username);
    free (p->password_file);
    free (p->password_env);
    free (p->ca_file);
    free (p->fingerprint_sha256);
    memset (p, 0, sizeof *p);
}

static int
vsphere_profile_copy (const struct vsphere_profile *s, struct vsphere_profile *d)
{
    memset (d, 0, sizeof *d);
    d->insecure = s->insecure;
    d->task_deadline = s->task_deadline ? s->task_deadline : 600;
    if (vsphere_dup (s->name, &d->name) < 0 ||
        vsphere_dup (s->base, &d->base) < 0 ||
        vsphere_dup (s->path ? s->path : "/sdk", &d->path) < 0 ||
        vsphere_dup (s->username, &d->username) < 0 ||
        vsphere_dup (s->password_file, &d->password_file) < 0 ||
        vsphere_dup (s->password_env, &d->password_env) < 0 ||
        vsphere_dup (s->ca_file, &d->ca_file) < 0 ||
        vsphere_dup (s->fingerprint_sha256, &d->fingerprint_sha256) < 0) {
        vsphere_profile_release (d);
        return -ENOMEM;
    }
    return 0;
}

int
vsphere_client_new_take (const struct vsphere_profile *p,
                         const struct logger *lg,
                         struct ontap_transport *t_take,
                         struct vsphere_client **out)
{
    struct vsphere_client *c = calloc (1, sizeof *c);

    if (c == NULL || vsphere_profile_copy (p, &c->p) < 0) {
        free (c);
        if (t_take) {
            t_take->free (t_take);
        }
        return set_error (ENOMEM, "out of memory");
    }
    c->lg = lg;
    c->t = t_take;
    c->clk.now_ms = vsphere_real_now;
    c->clk.sleep_ms = vsphere_real_sleep;
    *out = c;
    return 0;
}

int
vsphere_client_new (const struct vsphere_profile *p, const struct logger *lg,
                    struct vsphere_client **out)
{
    static const struct ontap_http_opts ho = {
        .struct_size = sizeof ho,
        .peer = "vCenter",
        .tls_hint = "set 'ca_file' to the vCenter's CA, or "
                    "'fingerprint_sha256' for a self-signed certificate",
        .body_max = VSPHERE_BODY_MAX,
        .cookies = true,
    };
    struct ontap_tls_opts tls = {
        .ca_file = p->ca_file,
        .fingerprint_sha256 = p->fingerprint_sha256,
        .insecure = p->insecure,
    };
    struct ontap_transport *t = NULL;
    int r;

    if (p->insecure) {
        vs_log_msg (lg, LOG_WARN, "vCenter profile '%s': 'insecure' is set: "
                    "the server's certificate is not verified", p->name);
    }
    if ((r = ontap_http_curl_new_opts (p->base, &tls, &ho, lg, &t)) < 0) {
        error_prepend ("vCenter profile '%s': ", p->name);
        return r;
    }
    return vsphere_client_new_take (p, lg, t, out);
}

void
vsphere_client_free (struct vsphere_client *c)
{
    if (c == NULL) {
        return;
    }
    if (c->logged_in) {
        struct vmshift_error_save es;

        /* Logging out must not replace the error being reported. */
        error_save (&es);
        (void) vsphere_logout (c);
        error_restore (&es);
    }
    if (c->t) {
        c->t->free (c->t);
    }
    vsphere_profile_release (&c->p);
    free (c);
}

void
vsphere_client_stats (const struct vsphere_client *c, struct vsphere_stats *st)
{
    *st = c->st;
}

const struct vsphere_service_content *
vsphere_client_content (const struct vsphere_client *c)
{
    return c->have_sc ? &c->sc : NULL;
}

const struct vsphere_profile *
vsphere_client_profile (const struct vsphere_client *c)
{
    return &c->p;
}

void
vsphere_client_note_page (struct vsphere_client *c)
{
    c->st.pages++;
}

/* ------------------------------------------------------------ faults */

int
vsphere_fault_errno (const char *type)
{
    static const struct { const char *type; int err; } map[] = {
        { "InvalidLogin", EKEYREJECTED },
        { "NotAuthenticated", EACCES },
        { "NoPermission", EACCES },
        { "InvalidPowerState", EINVAL },
        { "InvalidState", EINVAL },
        { "TaskInProgress", EBUSY },
        { "ManagedObjectNotFound", ENOENT },
        { "NotFound", ENOENT },
        { "FileNotFound", ENOENT },
        { "DuplicateName", EEXIST },
        { "FileAlreadyExists", EEXIST },
        { "InvalidArgument", EINVAL },
        { "InvalidRequest", EINVAL },
        { "NotSupported", ENOTSUP },
        { "NotImplemented", ENOTSUP },
        { "SnapshotFault", EIO },
        { "ToolsUnavailable", ENOTSUP },
        { "Timedout", ETIMEDOUT },
    };

    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (strcmp (type, map[i].type) == 0) {
            return map[i].err;
        }
    }
    return EIO;
}

/* Messages are one line: the server's text may hold newlines. */
static void
vsphere_one_line (char *s)
{
    for (; s && *s; s++) {
        if ((unsigned char) *s < 0x20 || *s == 0x7f) {
            *s = ' ';
        }
    }
}

static int
vsphere_fault_error (struct vsphere_client *c, const char *method,
                     const struct vsphere_fault *f)
{
    const char *m = f->message && f->message[0] ? f->message : "no message";

    vsphere_one_line (f->message);
    return set_error (vsphere_fault_errno (f->type), "vCenter '%s': %s: %s "
                      "(%s)", c->p.name, method, f->type[0] ? f->type
                      : "fault", m);
}

/* --------------------------------------------------------- envelopes */

static int
vsphere_envelope (struct sbuf *b, const char *method,
                  const struct vsphere_moref *this_ref, const char *args)
{
    int r;

    r = vs_sbuf_printf (b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                        "<soapenv:Envelope xmlns:soapenv=\"http://schemas."
                        "xmlsoap.org/soap/envelope/\" xmlns:xsd=\"http://"
                        "www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://"
                        "www.w3.org/2001/XMLSchema-instance\"><soapenv:Body>"
                        "<%s xmlns=\"urn:vim25\"><_this type=\"", method);
    if (r == 0) {
        r = vsphere_xml_escape (b, this_ref->type, "a managed object type");
    }
    if (r == 0) {
        r = vs_sbuf_addstr (b, "\">");
    }
    if (r == 0) {
        r = vsphere_xml_escape (b, this_ref->value, "a managed object id");
    }
    if (r == 0) {
        r = vs_sbuf_printf (b, "</_this>%s</%s></soapenv:Body>"
                            "</soapenv:Envelope>", args ? args : "", method);
    }
    return r;
}

/* One exchange; 0 with the reply in *reply (fault or not), or an error
 * from the transport or an HTTP status that carries no SOAP envelope. */
static int
vsphere_send (struct vsphere_client *c, const char *method, const char *body,
              size_t body_len, struct sbuf *reply)
{
    static const char *const headers[] = {
        "Content-Type: text/xml; charset=utf-8", VSPHERE_SOAP_ACTION,
    };
    struct ontap_http_request rq = {
        .method = "POST",
        .target = c->p.path,
        .headers = headers,
        .n_headers = sizeof headers / sizeof headers[0],
        .body = body,
        .body_len = body_len,
        .timeout_s = VSPHERE_CALL_TIMEOUT_S,
        .idempotent = false,
    };
    struct ontap_http_response resp = { 0 };
    int r;

    vs_sbuf_init (&resp.body, VSPHERE_BODY_MAX);
    c->st.requests++;
    vs_log_debug (c->lg, LOGM_HV, "vCenter '%s': %s", c->p.name, method);
    r = c->t->send (c->t, &rq, &resp);
    if (r < 0) {
        vs_sbuf_release (&resp.body);
        error_prepend ("vCenter '%s': %s: ", c->p.name, method);
        return r;
    }
    c->st.bytes_received += resp.body.len;
    /* SOAP faults come with 500; anything else without an envelope is an
     * HTTP-level refusal (a proxy, a wrong path). */
    if ((resp.status < 200 || resp.status >= 300) && resp.status != 500) {
        vs_sbuf_release (&resp.body);
        return set_error (resp.status == 401 || resp.status == 403 ? EACCES
                          : resp.status == 404 ? ENOENT : EIO,
                          "vCenter '%s': %s: HTTP status %ld from '%s%s'",
                          c->p.name, method, resp.status, c->p.base,
                          c->p.path);
    }
    *reply = resp.body;
    return 0;
}

static int vsphere_login (struct vsphere_client *c);

int
vsphere_call (struct vsphere_client *c, const char *method,
              const struct vsphere_moref *this_ref, const char *args,
              struct sbuf *reply)
{
    struct sbuf req;
    struct sbuf rep = { 0 };
    struct vsphere_fault f;
    int r, isf;

    vs_sbuf_init (&req, VSPHERE_BODY_MAX);
    if ((r = vsphere_envelope (&req, method, this_ref, args)) < 0) {
        vs_sbuf_release (&req);
        return r;
    }
    for (int attempt = 0;; attempt++) {
        if ((r = vsphere_send (c, method, req.data, req.len, &rep)) < 0) {
            break;
        }
        isf = vsphere_decode_fault (rep.data, rep.len, &f);
        if (isf < 0) {
            error_prepend ("vCenter '%s': %s: ", c->p.name, method);
            r = isf;
            break;
        }
        if (isf == 0) {
            *reply = rep;
            rep = (struct sbuf) { 0 };
            break;
        }
        if (strcmp (f.type, "NotAuthenticated") == 0 && attempt == 0 &&
            c->logged_in && strcmp (method, "Logout") != 0) {
            vsphere_fault_release (&f);
            vs_sbuf_release (&rep);
            if ((r = vsphere_relogin (c)) < 0) {
                break;
            }
            continue;
        }
        r = vsphere_fault_error (c, method, &f);
        vsphere_fault_release (&f);
        break;
    }
    vs_sbuf_release (&rep);
    vs_sbuf_release (&req);
    return r;
}

/* ------------------------------------------------------------- login */

static const struct vsphere_moref vsphere_service_instance = {
    "ServiceInstance", "ServiceInstance",
};

static int
vsphere_password (const struct vsphere_client *c, char **out)
{
    struct ontap_profile op = {
        .name = c->p.name,
        .password_file = c->p.password_file,
        .password_env = c->p.password_env,
    };
    int r = ontap_profile_password (&op, out);

    if (r == 0 && *out == NULL) {
        return set_error (EINVAL, "vCenter profile '%s': no password: set "
                          "'password_file' or 'password_env'", c->p.name);
    }
    return r;
}

static int
vsphere_login (struct vsphere_client *c)
{
    struct sbuf args, rep = { 0 };
    char *pw = NULL;
    int r;

    if ((r = vsphere_password (c, &pw)) < 0) {
        return r;
    }
    vs_sbuf_init (&args, 64 * 1024);
    if ((r = vs_sbuf_addstr (&args, "<userName>")) < 0 ||
        (r = vsphere_xml_escape (&args, c->p.username, "the user name")) < 0 ||
        (r = vs_sbuf_addstr (&args, "</userName><password>")) < 0 ||
        (r = vsphere_xml_escape (&args, pw, "the password")) < 0 ||
        (r = vs_sbuf_addstr (&args, "</password>")) < 0) {
        goto out;
    }
    c->st.logins++;
    r = vsphere_call (c, "Login", &c->sc.session_manager, args.data, &rep);
    if (r == -EKEYREJECTED) {
        set_error (EKEYREJECTED, "vCenter '%s': login as '%s' refused "
                   "(InvalidLogin): check the user name and the password in "
                   "%s%s%s", c->p.name, c->p.username,
                   c->p.password_file ? "'" : "$",
                   c->p.password_file ? c->p.password_file : c->p.password_env,
                   c->p.password_file ? "'" : "");
    }
    if (r == 0) {
        c->logged_in = true;
        c->generation++;
    }
out:
    /* The request held the password: wipe it before freeing. */
    if (args.data) {
        explicit_bzero (args.data, args.len);
    }
    vs_sbuf_release (&args);
    vs_sbuf_release (&rep);
    ontap_password_free (pw);
    return r;
}

int
vsphere_relogin (struct vsphere_client *c)
{
    vs_log_msg (c->lg, LOG_INFO, "vCenter '%s': the session ended; logging "
                "in again", c->p.name);
    c->logged_in = false;
    c->st.relogins++;
    return vsphere_login (c);
}

int
vsphere_connect (struct vsphere_client *c)
{
    struct sbuf rep = { 0 };
    int r;

    if (c->logged_in) {
        return 0;
    }
    if (!c->have_sc) {
        r = vsphere_call (c, "RetrieveServiceContent",
                          &vsphere_service_instance, NULL, &rep);
        if (r == 0) {
            r = vsphere_decode_service_content (rep.data, rep.len, &c->sc);
            if (r < 0) {
                error_prepend ("vCenter '%s': ", c->p.name);
            }
        }
        vs_sbuf_release (&rep);
        if (r < 0) {
            return r;
        }
        c->have_sc = true;
    }
    return vsphere_login (c);
}

int
vsphere_logout (struct vsphere_client *c)
{
    struct sbuf rep = { 0 };
    int r;

    if (!c->logged_in) {
        return 0;
    }
    c->logged_in = false;
    r = vsphere_call (c, "Logout", &c->sc.session_manager, NULL, &rep);
    vs_sbuf_release (&rep);
    return r;
}
