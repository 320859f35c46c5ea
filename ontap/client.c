/* The REST client: authentication, headers, the retry rules, logging
 * and request counting over a transport (http.c or a test fake).
 *
 * Retry rules (docs/ontap-client.md, "Retry rules"):
 *  - a request that was certainly not sent (connection refused, name
 *    not resolved) is resent whatever its method;
 *  - a 5xx without a more precise ONTAP code, a timeout or a connection
 *    lost mid-exchange are resent only for idempotent requests (GET,
 *    and calls whose callers flag them: repeating them gives the same
 *    result);
 *  - a busy refusal (EBUSY: clone split load, snapshot in use) means
 *    ONTAP did nothing, so it is resent when the caller asks for it;
 *  - everything else fails at once; callers of non-idempotent POSTs
 *    resolve an ambiguous failure by looking (GET) before resending.
 * Backoff doubles from base_delay_ms to max_delay_ms, with jitter unless
 * turned off, and honours Retry-After.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "engine/base/busy.h"
#include "engine/base/dl-crypto.h"
#include "engine/base/error.h"
#include "ontap/ontap.h"

#define ONTAP_APP_HEADER "X-Dot-Client-App: vmshift/" VMSHIFT_VERSION_STRING
#define ONTAP_LOG_BODY_MAX 512
#define ONTAP_RETRY_AFTER_MAX_MS 60000u

struct ontap_client {
    struct ontap_profile *prof;
    const struct logger *lg;
    struct ontap_transport *t;
    char *auth_header;          /* "Authorization: Basic ...", wiped */
    struct ontap_clock clk;
    struct ontap_retry_policy rp;
    bool jitter;
    uint64_t rand_state;
    struct ontap_stats st;
    pthread_mutex_t lock;       /* transport and counters */
    ontap_job_hook_fn job_hook; /* ontap_client_set_job_hook */
    void *job_hook_opaque;
    struct vs_busy *busy;       /* ontap_client_set_busy, or NULL */
};

struct ontap_profile *ontap_profile_dup (const struct ontap_profile *p);

static const struct ontap_retry_policy ontap_retry_default = {
    .attempts = 4, .busy_attempts = 8, .base_delay_ms = 500,
    .max_delay_ms = 15000, .poll_initial_ms = 1000, .poll_max_ms = 10000,
};

/* ------------------------------------------------------------ clock */

static uint64_t
ontap_real_now (void *opaque)
{
    struct timespec ts;

    (void) opaque;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void
ontap_real_sleep (void *opaque, uint64_t ms)
{
    struct timespec ts = { .tv_sec = (time_t) (ms / 1000),
                           .tv_nsec = (long) (ms % 1000) * 1000000 };

    (void) opaque;
    while (nanosleep (&ts, &ts) < 0 && errno == EINTR) {
        continue;
    }
}

uint64_t
ontap_client_now (struct ontap_client *c)
{
    return c->clk.now_ms (c->clk.opaque);
}

void
ontap_client_sleep (struct ontap_client *c, uint64_t ms)
{
    if (ms) {
        c->clk.sleep_ms (c->clk.opaque, ms);
    }
}

/* Exponential backoff for the attempt-th retry (0-based). */
uint64_t
ontap_client_backoff (const struct ontap_client *c, unsigned attempt)
{
    uint64_t d = c->rp.base_delay_ms;

    for (unsigned i = 0; i < attempt && d < c->rp.max_delay_ms; i++) {
        d *= 2;
    }
    return d < c->rp.max_delay_ms ? d : c->rp.max_delay_ms;
}

/* "Equal jitter": half fixed, half random, so parallel conversions
 * refused together do not come back together. */
static uint64_t
ontap_jittered (struct ontap_client *c, uint64_t d)
{
    if (!c->jitter || d < 2) {
        return d;
    }
    c->rand_state = c->rand_state * 6364136223846793005ULL +
                    1442695040888963407ULL;
    return d / 2 + (c->rand_state >> 33) % (d / 2 + 1);
}

/* ---------------------------------------------------------- creation */

static int
ontap_basic_auth (const char *user, const char *pw, char **out)
{
    size_t ul = strlen (user), pl = strlen (pw), n = ul + 1 + pl;
    unsigned char *raw = malloc (n + 1);
    size_t enc_len = 4 * ((n + 2) / 3) + 1;
    char *hdr = malloc (sizeof "Authorization: Basic " + enc_len);
    int r;

    if ((r = vs_dl_crypto ()) < 0) {
        free (raw);
        free (hdr);
        return r;
    }
    if (raw == NULL || hdr == NULL) {
        free (raw);
        free (hdr);
        return set_error (ENOMEM, "out of memory");
    }
    memcpy (raw, user, ul);
    raw[ul] = ':';
    memcpy (raw + ul + 1, pw, pl);
    strcpy (hdr, "Authorization: Basic ");
    EVP_EncodeBlock ((unsigned char *) hdr + strlen (hdr), raw, (int) n);
    explicit_bzero (raw, n);
    free (raw);
    *out = hdr;
    return 0;
}

int
ontap_client_new_take (const struct ontap_profile *p, const struct logger *lg,
                       struct ontap_transport *t_take,
                       struct ontap_client **out)
{
    struct ontap_client *c = calloc (1, sizeof *c);
    char *pw = NULL;
    int r;

    if (c == NULL || (c->prof = ontap_profile_dup (p)) == NULL) {
        r = c ? -ENOMEM : set_error (ENOMEM, "out of memory");
        goto fail;
    }
    c->lg = lg;
    c->t = t_take;
    t_take = NULL;
    c->clk = (struct ontap_clock) { ontap_real_now, ontap_real_sleep, NULL };
    c->rp = ontap_retry_default;
    c->jitter = true;
    c->rand_state = ontap_real_now (NULL) ^ (uint64_t) (uintptr_t) c;
    pthread_mutex_init (&c->lock, NULL);
    if ((r = ontap_profile_password (p, &pw)) < 0) {
        goto fail;
    }
    if (pw && (r = ontap_basic_auth (p->username, pw, &c->auth_header)) < 0) {
        goto fail;
    }
    ontap_password_free (pw);
    *out = c;
    return 0;
fail:
    ontap_password_free (pw);
    if (t_take) {
        t_take->free (t_take);
    }
    ontap_client_free (c);
    return r;
}

int
ontap_client_new (const struct ontap_profile *p, const struct logger *lg,
                  struct ontap_client **out)
{
    struct ontap_tls_opts tls = {
        .ca_file = p->ca_file, .fingerprint_sha256 = p->fingerprint_sha256,
        .pinned_pubkey = p->pinned_pubkey, .client_cert = p->client_cert,
        .client_key = p->client_key, .insecure = p->insecure,
    };
    struct ontap_transport *t;
    int r;

    if (p->insecure) {
        vs_log_msg (lg, LOG_WARN, "profile '%s': TLS certificate verification "
                 "is off ('insecure'); anyone on the network path can pose "
                 "as the cluster and read the password", p->name);
    }
    if ((r = ontap_http_curl_new (p->cluster, &tls, lg, &t)) < 0) {
        error_prepend ("profile '%s': ", p->name);
        return r;
    }
    return ontap_client_new_take (p, lg, t, out);
}

void
ontap_client_free (struct ontap_client *c)
{
    if (c == NULL) {
        return;
    }
    if (c->t) {
        c->t->free (c->t);
    }
    if (c->auth_header) {
        explicit_bzero (c->auth_header, strlen (c->auth_header));
        free (c->auth_header);
    }
    if (c->prof) {
        pthread_mutex_destroy (&c->lock);
    }
    ontap_profile_free (c->prof);
    free (c);
}

void
ontap_client_set_clock (struct ontap_client *c, const struct ontap_clock *clk)
{
    c->clk = *clk;
    c->jitter = false;  /* a test clock wants reproducible delays */
}

void
ontap_client_set_retry (struct ontap_client *c,
                        const struct ontap_retry_policy *rp)
{
    c->rp = *rp;
    if (c->rp.attempts == 0) {
        c->rp.attempts = 1;
    }
    if (c->rp.busy_attempts == 0) {
        c->rp.busy_attempts = 1;
    }
}

void
ontap_client_get_retry (const struct ontap_client *c,
                        struct ontap_retry_policy *rp)
{
    *rp = c->rp;
}

void
ontap_client_stats (const struct ontap_client *c, struct ontap_stats *st)
{
    pthread_mutex_lock ((pthread_mutex_t *) &c->lock);
    *st = c->st;
    pthread_mutex_unlock ((pthread_mutex_t *) &c->lock);
}

void
ontap_client_note_poll (struct ontap_client *c)
{
    pthread_mutex_lock (&c->lock);
    c->st.job_polls++;
    pthread_mutex_unlock (&c->lock);
}

void
ontap_client_set_job_hook (struct ontap_client *c, ontap_job_hook_fn fn,
                           void *opaque)
{
    c->job_hook = fn;
    c->job_hook_opaque = opaque;
}

void
ontap_client_job_started (struct ontap_client *c, const char *what,
                          const char *uuid)
{
    if (c->job_hook) {
        c->job_hook (c->job_hook_opaque, what, uuid);
    }
}

const struct ontap_profile *
ontap_client_profile (const struct ontap_client *c)
{
    return c->prof;
}

void
ontap_client_set_busy (struct ontap_client *c, struct vs_busy *b)
{
    c->busy = b;
}

struct vs_busy *
ontap_client_busy (const struct ontap_client *c)
{
    return c->busy;
}

/* --------------------------------------------------------- redaction */

void
ontap_redact_header (const char *line, size_t len, char *out, size_t outsz)
{
    static const char *const secret[] = {
        "authorization:", "proxy-authorization:", "cookie:", "set-cookie:",
    };
    size_t n = len;

    while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n')) {
        n--;
    }
    for (size_t i = 0; i < sizeof secret / sizeof secret[0]; i++) {
        size_t k = strlen (secret[i]);

        if (n >= k && strncasecmp (line, secret[i], k) == 0) {
            snprintf (out, outsz, "%.*s <redacted>", (int) k, line);
            return;
        }
    }
    snprintf (out, outsz, "%.*s", (int) (n < 4096 ? n : 4096), line);
}

/* ------------------------------------------------------------ calls */

void
ontap_reply_release (struct ontap_reply *r)
{
    vs_json_free (r->json);
    r->json = NULL;
}

static int
ontap_exchange (struct ontap_client *c, const struct ontap_http_request *rq,
                struct ontap_http_response *rs)
{
    uint64_t t0;
    int r;

    vs_log_debug (c->lg, LOGM_HTTP, "> %s %s", rq->method, rq->target);
    if (rq->body) {
        vs_log_debug (c->lg, LOGM_HTTP, "> body: %.*s", ONTAP_LOG_BODY_MAX,
                   rq->body);
    }
    pthread_mutex_lock (&c->lock);
    c->st.requests++;
    c->st.bytes_sent += rq->body_len;
    t0 = ontap_client_now (c);
    /* in flight from the request's start to its reply (or failure) */
    vs_busy_enter (c->busy, VS_BUSY_REST);
    r = c->t->send (c->t, rq, rs);
    vs_busy_leave (c->busy, VS_BUSY_REST);
    c->st.bytes_received += rs->body.len;
    pthread_mutex_unlock (&c->lock);
    if (r < 0) {
        vs_log_debug (c->lg, LOGM_HTTP, "< %s %s failed after %" PRIu64 " ms: %s",
                   rq->method, rq->target, ontap_client_now (c) - t0,
                   vmshift_internal_error_msg ());
    } else {
        vs_log_debug (c->lg, LOGM_HTTP, "< %ld %s %s (%" PRIu64 " ms, %zu bytes)",
                   rs->status, rq->method, rq->target,
                   ontap_client_now (c) - t0, rs->body.len);
    }
    return r;
}

static void
ontap_what (char *buf, size_t n, const char *method, const char *target)
{
    snprintf (buf, n, "reply to %s %.*s", method,
              (int) strcspn (target, "?") > 200 ? 200
              : (int) strcspn (target, "?"), target);
}

static int
ontap_parse_ok (const char *method, const char *target, struct sbuf *b,
                struct json_val **out)
{
    char what[256];
    size_t i = 0;
    int r;

    while (i < b->len && strchr (" \t\r\n", b->data[i])) {
        i++;
    }
    if (i == b->len) {
        *out = NULL;
        return 0;
    }
    ontap_what (what, sizeof what, method, target);
    if ((r = vs_json_parse (b->data, b->len, what, out)) < 0) {
        return r;
    }
    if (vs_json_type (*out) != JSON_OBJECT) {
        vs_json_free (*out);
        return set_error (EPROTO, "%s: expected a JSON object", what);
    }
    return 0;
}

static int
ontap_failure (const char *method, const char *target,
               const struct ontap_http_response *rs)
{
    struct json_val *doc = NULL;
    char *code = NULL, *msg = NULL;
    int r;

    if (rs->body.len > 0 &&
        vs_json_parse (rs->body.data, rs->body.len, "error reply", &doc) == 0) {
        ontap_decode_error (doc, &code, &msg);
        vs_json_free (doc);
    }
    r = ontap_set_http_error (method, target, rs->status, code, msg);
    free (code);
    free (msg);
    return r;
}

/* 401: the cluster refused the user and password (a 401 body carries
 * no ONTAP error: docs/ontap-rest.md).  Say who was refused where; the
 * errno is the remote class (exit 5, docs/internals/errors.md). */
static int
ontap_refused (const struct ontap_client *c, const char *method,
               const char *target)
{
    return set_error (EKEYREJECTED, "ONTAP refused the credentials for user "
                      "'%s' on cluster '%s' (HTTP 401 on %s %.*s)",
                      c->prof->username ? c->prof->username : "",
                      c->prof->cluster ? c->prof->cluster : "", method,
                      (int) strcspn (target, "?"), target);
}

/* Decide whether to try again after a failure r.  A refusal r is busy,
 * a 5xx is "server", a transport error is sent or maybe-sent. */
static bool
ontap_should_retry (const struct ontap_client *c, int r, long status,
                    bool idem, unsigned flags, unsigned *tries,
                    unsigned *busy)
{
    if (status == 0) {
        if (r == -ECONNREFUSED || r == -EHOSTUNREACH ||
            (idem && (r == -ETIMEDOUT || r == -ECONNRESET))) {
            return ++*tries < c->rp.attempts;
        }
        return false;
    }
    if (r == -EBUSY && (flags & ONTAP_REQ_RETRY_BUSY)) {
        return ++*busy < c->rp.busy_attempts;
    }
    if (status >= 500 && idem && (r == -EIO || r == -ETIMEDOUT)) {
        return ++*tries < c->rp.attempts;
    }
    return false;
}

static uint64_t
ontap_retry_delay (struct ontap_client *c, unsigned n,
                   const struct ontap_http_response *rs)
{
    uint64_t d = ontap_jittered (c, ontap_client_backoff (c, n));
    uint64_t ra = (uint64_t) rs->retry_after_s * 1000;

    if (ra > ONTAP_RETRY_AFTER_MAX_MS) {
        ra = ONTAP_RETRY_AFTER_MAX_MS;
    }
    return ra > d ? ra : d;
}

static void
ontap_headers (struct ontap_client *c, bool body, const char **h, size_t *n)
{
    *n = 0;
    h[(*n)++] = "Accept: application/json";
    h[(*n)++] = ONTAP_APP_HEADER;
    if (c->auth_header) {
        h[(*n)++] = c->auth_header;
    }
    if (body) {
        h[(*n)++] = "Content-Type: application/json";
    }
}

int
ontap_call (struct ontap_client *c, const char *method, const char *target,
            const char *body, unsigned flags, struct ontap_reply *out)
{
    bool idem = (flags & ONTAP_REQ_IDEMPOTENT) || strcmp (method, "GET") == 0;
    unsigned tries = 0, busy = 0, n = 0;
    const char *hdr[4];
    struct ontap_http_request rq = {
        .method = method, .target = target, .headers = hdr, .body = body,
        .body_len = body ? strlen (body) : 0,
        .timeout_s = c->prof->return_timeout + 60, .idempotent = idem,
    };

    ontap_headers (c, body != NULL, hdr, &rq.n_headers);
    for (;;) {
        struct ontap_http_response rs = { .status = 0 };
        struct json_val *doc = NULL;
        int r;

        vs_sbuf_init (&rs.body, ONTAP_BODY_MAX);
        r = ontap_exchange (c, &rq, &rs);
        if (r == 0 && rs.status >= 200 && rs.status <= 299) {
            r = ontap_parse_ok (method, target, &rs.body, &doc);
            vs_sbuf_release (&rs.body);
            if (r == 0) {
                out->status = rs.status;
                out->json = doc;
            }
            return r;
        }
        if (r == 0) {
            r = rs.status == 401 ? ontap_refused (c, method, target)
                                 : ontap_failure (method, target, &rs);
        } else {
            rs.status = 0;
        }
        if (!ontap_should_retry (c, r, rs.status, idem, flags, &tries,
                                 &busy)) {
            vs_sbuf_release (&rs.body);
            return r;
        }
        uint64_t d = ontap_retry_delay (c, n++, &rs);

        vs_sbuf_release (&rs.body);
        vs_log_debug (c->lg, LOGM_ONTAP, "retrying %s %s in %" PRIu64 " ms "
                   "after: %s", method, target, d,
                   vmshift_internal_error_msg ());
        pthread_mutex_lock (&c->lock);
        c->st.retries++;
        pthread_mutex_unlock (&c->lock);
        clear_error ();
        ontap_client_sleep (c, d);
    }
}

int
ontap_get_all (struct ontap_client *c, const char *target,
               int (*page) (void *opaque, const struct json_val *doc,
                            const char *what),
               void *opaque)
{
    char *cur = strdup (target), *next = NULL;
    char what[256];
    int r = 0;

    if (cur == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    for (unsigned pages = 0; cur; pages++) {
        struct ontap_reply rep = { 0 };

        if (pages >= ONTAP_PAGES_MAX) {
            r = set_error (EPROTO, "ONTAP GET %.200s: more than %u pages",
                           target, ONTAP_PAGES_MAX);
            break;
        }
        if ((r = ontap_call (c, "GET", cur, NULL, 0, &rep)) < 0) {
            break;
        }
        ontap_what (what, sizeof what, "GET", cur);
        r = rep.json ? page (opaque, rep.json, what)
                     : set_error (EPROTO, "%s: empty", what);
        if (r == 0) {
            r = ontap_decode_next (rep.json, what, &next);
        }
        ontap_reply_release (&rep);
        if (r == 0 && next && strcmp (next, cur) == 0) {
            r = set_error (EPROTO, "%s: _links.next points at the same page",
                           what);
        }
        free (cur);
        cur = r == 0 ? next : NULL;
        if (r < 0) {
            free (next);
        }
        next = NULL;
    }
    free (cur);
    return r;
}

/* ------------------------------------------------------ query strings */

int
ontap_qs_add (struct sbuf *b, const char *key, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";

    vs_sbuf_addch (b, b->data && strchr (b->data, '?') ? '&' : '?');
    vs_sbuf_addstr (b, key);
    vs_sbuf_addch (b, '=');
    for (const unsigned char *p = (const unsigned char *) value; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
            (*p >= '0' && *p <= '9') || strchr ("-._~", *p)) {
            vs_sbuf_addch (b, (char) *p);
        } else {
            char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };

            vs_sbuf_add (b, e, 3);
        }
    }
    return b->err;
}

int
ontap_query_value_ok (const char *v, const char *what)
{
    if (*v == '\0') {
        return set_error (EINVAL, "%s is empty", what);
    }
    for (const unsigned char *p = (const unsigned char *) v; *p; p++) {
        if (*p < 0x20 || *p == 0x7f || strchr ("*|!<>{}", *p)) {
            return set_error (EINVAL, "%s '%s' contains '%c', an ONTAP query "
                              "operator", what, v, *p < 0x20 ? '?' : *p);
        }
    }
    if (strstr (v, "..")) {
        return set_error (EINVAL, "%s '%s' contains '..', an ONTAP query "
                          "range", what, v);
    }
    return 0;
}
