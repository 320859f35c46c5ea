/* HTTPS front end on libmicrohttpd: one thread per connection, bound to
 * 127.0.0.1 only.  Per request: Basic auth (401 with a plain-text body,
 * as docs/ontap-rest.md allows), then the injected faults (dropped
 * connection, 5xx), routing with sim.lock held, the per-request delay
 * with the lock released, and one JSON line in the request log.  The
 * log never holds the Authorization header, the user's password or
 * request bodies. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "engine/base/error.h"
#include "tools/ontap-sim/sim.h"

#define SIM_MAX_AUTH 1024

struct sim_conn {
    struct sbuf body;
    bool too_big;
    uint64_t start_ms;
};

struct sim_argv {
    struct sim_req *q;
    struct sbuf *qs;            /* query string rebuilt for the log */
};

const char *
sim_req_arg (const struct sim_req *q, const char *key)
{
    for (size_t i = 0; i < q->nargs; i++) {
        if (strcmp (q->args[i].key, key) == 0) {
            return q->args[i].value;
        }
    }
    return NULL;
}

void
sim_reply_error (struct sim_reply *r, unsigned status, const char *code,
                 const char *target, const char *fmt, ...)
{
    char msg[1024];
    struct jsonw w;
    va_list ap;

    va_start (ap, fmt);
    vsnprintf (msg, sizeof msg, fmt, ap);
    va_end (ap);
    vs_sbuf_reset (&r->body);
    vs_jw_init (&w, &r->body, true);
    vs_jw_obj_begin (&w);
    vs_jw_key (&w, "error");
    vs_jw_obj_begin (&w);
    vs_jw_kv_str (&w, "message", msg);
    vs_jw_kv_str (&w, "code", code);
    if (target) {
        vs_jw_kv_str (&w, "target", target);
    }
    vs_jw_obj_end (&w);
    vs_jw_obj_end (&w);
    r->status = status;
}

/* "Authorization: Basic base64(user:password)" against the configured
 * pair; CRYPTO_memcmp so the comparison time does not leak the prefix. */
static bool
sim_auth_ok (struct MHD_Connection *c)
{
    const char *h = MHD_lookup_connection_value (c, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_AUTHORIZATION);
    unsigned char dec[SIM_MAX_AUTH];
    size_t hl, ul = strlen (sim.user), pl = strlen (sim.password);
    int n;
    bool ok;

    if (h == NULL || strncasecmp (h, "Basic ", 6) != 0) {
        return false;
    }
    h += 6;
    hl = strlen (h);
    if (hl == 0 || hl % 4 != 0 || hl / 4 * 3 >= sizeof dec) {
        return false;
    }
    n = EVP_DecodeBlock (dec, (const unsigned char *) h, (int) hl);
    if (n < 0) {
        return false;
    }
    n -= (h[hl - 1] == '=') + (hl > 1 && h[hl - 2] == '=');
    ok = (size_t) n == ul + 1 + pl && memcmp (dec, sim.user, ul) == 0 &&
         dec[ul] == ':' && CRYPTO_memcmp (dec + ul + 1, sim.password, pl) == 0;
    OPENSSL_cleanse (dec, sizeof dec);
    return ok;
}

static bool
sim_peer_loopback (struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info (c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;

    if (sa && sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *) sa;

        return (ntohl (in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) sa;

        return IN6_IS_ADDR_LOOPBACK (&in6->sin6_addr);
    }
    return false;
}

static enum MHD_Result
sim_collect_arg (void *cls, enum MHD_ValueKind kind, const char *key,
                 const char *value)
{
    struct sim_argv *a = cls;

    (void) kind;
    if (a->q->nargs < SIM_MAX_ARGS) {
        a->q->args[a->q->nargs].key = key;
        a->q->args[a->q->nargs].value = value ? value : "";
        a->q->nargs++;
    }
    if (a->qs->len) {
        vs_sbuf_addch (a->qs, '&');
    }
    vs_sbuf_addstr (a->qs, key);
    if (value) {
        vs_sbuf_addch (a->qs, '=');
        vs_sbuf_addstr (a->qs, value);
    }
    return MHD_YES;
}

static bool
sim_fault_applies (const char *method, const char *url)
{
    char what[1200];

    if (strncmp (url, "/api/", 5) != 0) {
        return false;
    }
    snprintf (what, sizeof what, "%s %s", method, url);
    return sim.set.fault_match[0] == '\0' ||
           strncmp (what, sim.set.fault_match, strlen (sim.set.fault_match)) == 0;
}

static void
sim_log (const char *method, const char *url, const char *query,
         unsigned status, uint64_t ms, const char *app, const char *fault)
{
    char ts[40];
    struct sbuf b;
    struct jsonw w;

    if (sim.log == NULL) {
        return;
    }
    sim_iso_time (ts, sizeof ts);
    vs_sbuf_init (&b, 1u << 16);
    vs_jw_init (&w, &b, false);
    vs_jw_obj_begin (&w);
    vs_jw_kv_str (&w, "time", ts);
    vs_jw_kv_str (&w, "method", method);
    vs_jw_kv_str (&w, "path", url);
    vs_jw_kv_str (&w, "query", query);
    vs_jw_kv_u64 (&w, "status", status);
    vs_jw_kv_u64 (&w, "duration_ms", ms);
    if (app) {
        vs_jw_kv_str (&w, "client_app", app);
    }
    if (fault) {
        vs_jw_kv_str (&w, "fault", fault);
    }
    vs_jw_obj_end (&w);
    if (b.err == 0) {
        fprintf (sim.log, "%s\n", b.data);
        fflush (sim.log);
    }
    vs_sbuf_release (&b);
}

static bool
sim_return_timeout_ok (const struct sim_req *q)
{
    const char *v = sim_req_arg (q, "return_timeout");
    unsigned long n = 0;

    if (v == NULL) {
        return true;
    }
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9' || n > 120) {
            return false;
        }
        n = n * 10 + (unsigned long) (*p - '0');
    }
    return *v != '\0' && n <= 120;
}

/* Decide what to answer; called with sim.lock held.  Returns the fault
 * name for the log, or NULL. */
static const char *
sim_dispatch (struct MHD_Connection *c, struct sim_req *q, struct sim_conn *sc,
              struct sim_reply *r)
{
    bool faults = sim_fault_applies (q->method, q->path);
    uint64_t ebusy = sim.cnt.injected_ebusy;

    sim.cnt.requests++;
    if (strncmp (q->path, "/sim/", 5) == 0) {
        if (!sim_peer_loopback (c) || strcmp (q->path, "/sim/control") != 0) {
            sim_reply_error (r, 404, "3", NULL, "API not found");
        } else {
            sim_handle_control (q, r);
        }
        return NULL;
    }
    if (!sim_auth_ok (c)) {
        sim.cnt.unauthorized++;
        r->status = 401;
        r->ctype = "text/plain";
        vs_sbuf_addstr (&r->body, "401 Unauthorized: authentication required\n");
        return NULL;
    }
    if (faults && sim.set.drop_count > 0) {
        sim.set.drop_count--;
        sim.cnt.dropped++;
        r->drop = true;
        return "drop";
    }
    if (faults && sim.set.error_rate > 0 && sim_rand01 () < sim.set.error_rate) {
        sim.cnt.injected_5xx++;
        sim_reply_error (r, 500, "1", NULL, "Simulated internal error "
                         "(error_rate)");
        return "5xx";
    }
    if (!sim_return_timeout_ok (q)) {
        /* Checked before routing so that no job starts for a request
         * that is then refused. */
        sim_reply_error (r, 400, "2", "return_timeout",
                         "return_timeout must be 0 to 120");
        return NULL;
    }
    if (sc->too_big) {
        sim_reply_error (r, 413, "2", NULL, "Request body larger than %u bytes",
                         SIM_MAX_BODY);
        return NULL;
    }
    sim_route (q, r);
    return sim.cnt.injected_ebusy != ebusy ? "ebusy" : NULL;
}

static enum MHD_Result
sim_send (struct MHD_Connection *c, struct sim_reply *r)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    resp = MHD_create_response_from_buffer (r->body.len,
                                            r->body.data ? r->body.data : (char *) "",
                                            MHD_RESPMEM_MUST_COPY);
    if (resp == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header (resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->ctype);
    if (r->status == 401) {
        MHD_add_response_header (resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                 "Basic realm=\"ontap-sim\"");
    }
    ret = MHD_queue_response (c, r->status, resp);
    MHD_destroy_response (resp);
    return ret;
}

static enum MHD_Result
sim_finish (struct MHD_Connection *c, const char *url, const char *method,
            struct sim_conn *sc)
{
    struct sim_req q;
    struct sim_reply r = { 500, { 0 }, "application/hal+json", false };
    struct sbuf qs;
    struct sim_argv av = { &q, &qs };
    const char *accept, *app, *fault;
    unsigned delay;
    enum MHD_Result ret;

    memset (&q, 0, sizeof q);
    vs_sbuf_init (&qs, 1u << 16);
    vs_sbuf_init (&r.body, SIM_MAX_REPLY);
    q.method = method;
    q.path = url;
    q.body = sc->body.data ? sc->body.data : "";
    q.body_len = sc->body.len;
    accept = MHD_lookup_connection_value (c, MHD_HEADER_KIND, "Accept");
    q.hal = !(accept && strncmp (accept, "application/json", 16) == 0);
    app = MHD_lookup_connection_value (c, MHD_HEADER_KIND, "X-Dot-Client-App");
    MHD_get_connection_values (c, MHD_GET_ARGUMENT_KIND, sim_collect_arg, &av);

    pthread_mutex_lock (&sim.lock);
    fault = sim_dispatch (c, &q, sc, &r);
    delay = strncmp (url, "/api/", 5) == 0 ? sim.set.delay_ms : 0;
    pthread_mutex_unlock (&sim.lock);

    if (delay) {
        struct timespec ts = { delay / 1000, (long) (delay % 1000) * 1000000L };

        nanosleep (&ts, NULL);
    }
    ret = r.drop ? MHD_NO : sim_send (c, &r);
    pthread_mutex_lock (&sim.lock);
    sim_log (method, url, qs.data ? qs.data : "", r.drop ? 0 : r.status,
             sim_now_ms () - sc->start_ms, app, fault);
    pthread_mutex_unlock (&sim.lock);
    vs_sbuf_release (&qs);
    vs_sbuf_release (&r.body);
    return ret;
}

static enum MHD_Result
sim_access (void *cls, struct MHD_Connection *c, const char *url,
            const char *method, const char *version, const char *upload,
            size_t *upload_size, void **con_cls)
{
    struct sim_conn *sc = *con_cls;

    (void) cls;
    (void) version;
    if (sc == NULL) {
        sc = calloc (1, sizeof *sc);
        if (sc == NULL) {
            return MHD_NO;
        }
        vs_sbuf_init (&sc->body, SIM_MAX_BODY);
        sc->start_ms = sim_now_ms ();
        *con_cls = sc;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (!sc->too_big && vs_sbuf_add (&sc->body, upload, *upload_size) < 0) {
            sc->too_big = true;
            vs_sbuf_release (&sc->body);
        }
        *upload_size = 0;
        return MHD_YES;
    }
    return sim_finish (c, url, method, sc);
}

static void
sim_completed (void *cls, struct MHD_Connection *c, void **con_cls,
               enum MHD_RequestTerminationCode toe)
{
    struct sim_conn *sc = *con_cls;

    (void) cls;
    (void) c;
    (void) toe;
    if (sc) {
        vs_sbuf_release (&sc->body);
        free (sc);
        *con_cls = NULL;
    }
}

static int
sim_write_port (const char *port_file, unsigned port)
{
    char tmp[4096];
    FILE *f;

    snprintf (tmp, sizeof tmp, "%s.tmp", port_file);
    f = fopen (tmp, "w");
    if (f == NULL || fprintf (f, "%u\n", port) < 0 || fclose (f) != 0 ||
        rename (tmp, port_file) < 0) {
        return set_error (errno ? errno : EIO, "cannot write port file '%s'",
                          port_file);
    }
    return 0;
}

static struct MHD_Daemon *
sim_start (unsigned port, char *certpem, char *keypem)
{
    struct sockaddr_in sa;

    memset (&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons ((uint16_t) port);
    sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    return MHD_start_daemon (MHD_USE_THREAD_PER_CONNECTION |
                             MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS |
                             MHD_USE_ERROR_LOG,
                             0, NULL, NULL, sim_access, NULL,
                             MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &sa,
                             MHD_OPTION_HTTPS_MEM_KEY, keypem,
                             MHD_OPTION_HTTPS_MEM_CERT, certpem,
                             MHD_OPTION_NOTIFY_COMPLETED, sim_completed, NULL,
                             MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 120,
                             MHD_OPTION_END);
}

int
sim_http_run (unsigned port, const char *cert, const char *key,
              const char *port_file)
{
    char *certpem = NULL, *keypem = NULL;
    size_t len;
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *di;
    sigset_t set;
    int sig, r;

    if (MHD_is_feature_supported (MHD_FEATURE_TLS) != MHD_YES) {
        return set_error (ENOTSUP, "this libmicrohttpd was built without TLS");
    }
    if ((r = sim_read_file (cert, 1u << 20, &certpem, &len)) < 0 ||
        (r = sim_read_file (key, 1u << 20, &keypem, &len)) < 0) {
        free (certpem);
        return r;
    }
    d = sim_start (port, certpem, keypem);
    if (d == NULL) {
        free (certpem);
        free (keypem);
        return set_error (EADDRINUSE, "cannot listen on 127.0.0.1:%u (port in "
                          "use, or a bad certificate or key)", port);
    }
    di = MHD_get_daemon_info (d, MHD_DAEMON_INFO_BIND_PORT);
    port = di ? di->port : port;
    fprintf (stderr, "ontap-sim: listening on https://127.0.0.1:%u\n", port);
    r = port_file ? sim_write_port (port_file, port) : 0;
    sigemptyset (&set);
    sigaddset (&set, SIGTERM);
    sigaddset (&set, SIGINT);
    while (r == 0 && sigwait (&set, &sig) != 0) {
        /* retry */
    }
    pthread_mutex_lock (&sim.lock);
    sim.stopping = true;
    pthread_cond_broadcast (&sim.job_cond);
    pthread_mutex_unlock (&sim.lock);
    MHD_stop_daemon (d);
    OPENSSL_cleanse (keypem, strlen (keypem));
    free (certpem);
    free (keypem);
    return r;
}
