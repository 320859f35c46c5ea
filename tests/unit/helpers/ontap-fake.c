/* Fake transport, clock, log capture and corpus loader for ontap/ tests
 * (see ontap-fake.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#include "engine/base/error.h"
#include "engine/base/json.h"
#include "ontap-fake.h"
#include "testio.h"

static char *
fake_strndup0 (const char *s, size_t n)
{
    char *d = malloc (n + 1);

    if (d) {
        memcpy (d, s, n);
        d[n] = '\0';
    }
    return d;
}

static int
fake_send (struct ontap_transport *t, const struct ontap_http_request *rq,
           struct ontap_http_response *rs)
{
    struct fake_transport *f = (struct fake_transport *) t;
    struct fake_req *q;
    struct fake_reply *p;

    if (f->n_reqs < FAKE_MAX) {
        q = &f->reqs[f->n_reqs++];
        q->method = strdup (rq->method);
        q->target = strdup (rq->target);
        q->body = rq->body ? fake_strndup0 (rq->body, rq->body_len) : NULL;
        q->idempotent = rq->idempotent;
        for (size_t i = 0; i < rq->n_headers && i < 8; i++) {
            q->headers[q->n_headers++] = strdup (rq->headers[i]);
        }
    }
    if (f->next >= f->n_replies) {
        return set_error (EIO, "fake transport: no reply queued for %s %s",
                          rq->method, rq->target);
    }
    p = &f->replies[f->next++];
    if (p->err < 0) {
        return set_error (-p->err, "fake transport error %d", -p->err);
    }
    rs->status = p->status;
    rs->retry_after_s = p->retry_after;
    if (p->body_len && vs_sbuf_add (&rs->body, p->body, p->body_len) < 0) {
        return set_error (EFBIG, "ONTAP %s %s: reply larger than %zu bytes",
                          rq->method, rq->target, rs->body.max);
    }
    return 0;
}

static void
fake_free (struct ontap_transport *t)
{
    struct fake_transport *f = (struct fake_transport *) t;

    for (size_t i = 0; i < f->n_reqs; i++) {
        free (f->reqs[i].method);
        free (f->reqs[i].target);
        free (f->reqs[i].body);
        for (size_t k = 0; k < f->reqs[i].n_headers; k++) {
            free (f->reqs[i].headers[k]);
        }
    }
    for (size_t i = 0; i < f->n_replies; i++) {
        free (f->replies[i].body);
    }
    free (f);
}

struct fake_transport *
fake_new (void)
{
    struct fake_transport *f = calloc (1, sizeof *f);

    f->t.struct_size = sizeof f->t;
    f->t.send = fake_send;
    f->t.free = fake_free;
    return f;
}

void
fake_push_n (struct fake_transport *f, long status, const char *body,
             size_t len)
{
    struct fake_reply *p = &f->replies[f->n_replies++];

    p->status = status;
    p->body = body ? fake_strndup0 (body, len) : NULL;
    p->body_len = body ? len : 0;
}

void
fake_push (struct fake_transport *f, long status, const char *body)
{
    fake_push_n (f, status, body, body ? strlen (body) : 0);
}

void
fake_push_err (struct fake_transport *f, int err)
{
    f->replies[f->n_replies++].err = err;
}

void
fake_push_retry_after (struct fake_transport *f, long status, const char *body,
                       unsigned secs)
{
    fake_push (f, status, body);
    f->replies[f->n_replies - 1].retry_after = secs;
}

const char *
fake_header (const struct fake_req *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++) {
        if (strncasecmp (r->headers[i], name, strlen (name)) == 0) {
            return r->headers[i];
        }
    }
    return NULL;
}

static uint64_t
fake_now (void *opaque)
{
    return ((struct fake_clock *) opaque)->now;
}

static void
fake_sleep (void *opaque, uint64_t ms)
{
    struct fake_clock *fc = opaque;

    if (fc->n_sleeps < FAKE_MAX) {
        fc->sleeps[fc->n_sleeps++] = ms;
    }
    fc->now += ms;
}

void
fake_clock_install (struct ontap_client *c, struct fake_clock *fc)
{
    struct ontap_clock clk = { fake_now, fake_sleep, fc };

    ontap_client_set_clock (c, &clk);
}

static void
log_capture_fn (void *opaque, int level, const char *msg)
{
    struct log_capture *lc = opaque;

    vs_sbuf_printf (&lc->all, "%d|%s\n", level, msg);
}

void
log_capture_init (struct log_capture *lc, unsigned debug_mask)
{
    vs_sbuf_init (&lc->all, 64 << 20);
    vs_sbuf_addstr (&lc->all, "");
    lc->lg.fn = log_capture_fn;
    lc->lg.opaque = lc;
    lc->lg.debug_mask = debug_mask;
}

void
log_capture_release (struct log_capture *lc)
{
    vs_sbuf_release (&lc->all);
}

struct ontap_profile *
ontap_test_profile (const char *extra)
{
    struct ontap_profile *p = NULL;
    char buf[4096];

    setenv ("VMSHIFT_TEST_ONTAP_PW", TEST_PASSWORD, 1);
    snprintf (buf, sizeof buf, "{\"profiles\": {\"t\": {\"cluster\": "
              "\"https://cluster.test\", \"username\": \"admin\", "
              "\"password_env\": \"VMSHIFT_TEST_ONTAP_PW\"%s%s}}}",
              extra ? ", " : "", extra ? extra : "");
    if (ontap_profile_parse (buf, strlen (buf), "test config", "t", NULL,
                             &p) < 0) {
        fprintf (stderr, "test profile: %s\n", vmshift_internal_error_msg ());
        return NULL;
    }
    return p;
}

struct ontap_client *
ontap_test_client (struct fake_transport *f, struct fake_clock *clk,
                   const struct logger *lg, const char *extra)
{
    struct ontap_profile *p = ontap_test_profile (extra);
    struct ontap_client *c = NULL;

    if (p == NULL || ontap_client_new_take (p, lg, &f->t, &c) < 0) {
        fprintf (stderr, "test client: %s\n", vmshift_internal_error_msg ());
        ontap_profile_free (p);
        return NULL;
    }
    ontap_profile_free (p);
    if (clk) {
        fake_clock_install (c, clk);
    }
    return c;
}

/* ------------------------------------------------------------ corpus */

static char *
corpus_read (const char *path, size_t *len)
{
    gzFile gz = gzopen (path, "rb");       /* reads plain files too */
    struct sbuf b;
    char chunk[65536];
    int n;

    if (gz == NULL) {
        return NULL;
    }
    vs_sbuf_init (&b, 64 << 20);
    while ((n = gzread (gz, chunk, sizeof chunk)) > 0) {
        vs_sbuf_add (&b, chunk, (size_t) n);
    }
    gzclose (gz);
    return vs_sbuf_detach (&b, len);
}

/* {http_status, body, error} -> what ONTAP sent: the body, or the error
 * envelope {"error": ...}. */
static bool
corpus_unwrap (const char *raw, size_t len, long *status, char **body)
{
    struct json_val *doc;
    const struct json_val *b, *e;
    uint64_t st;

    if (vs_json_parse (raw, len, "corpus", &doc) < 0) {
        return false;
    }
    if (vs_json_get_u64 (doc, "http_status", &st) < 0) {
        vs_json_free (doc);
        return false;
    }
    b = vs_json_get (doc, "body");
    e = vs_json_get (doc, "error");
    *status = (long) st;
    if (vs_json_type (e) == JSON_OBJECT) {
        char *ej = vs_json_print (e);

        if (asprintf (body, "{\"error\": %s}", ej) < 0) {
            *body = NULL;
        }
        free (ej);
    } else if (vs_json_type (b) == JSON_OBJECT) {
        *body = vs_json_print (b);
    } else {
        *body = strdup ("");
    }
    vs_json_free (doc);
    return *body != NULL;
}

bool
ontap_corpus_reply (const char *rel, long *status, char **body, char *why,
                    size_t whysz)
{
    const char *dir = test_corpus_dir ();
    char path[4096];
    size_t len;
    char *raw;

    if (dir == NULL) {
        snprintf (why, whysz, "corpus directory absent (VMSHIFT_CORPUS)");
        return false;
    }
    snprintf (path, sizeof path, "%s/%s", dir, rel);
    if ((raw = corpus_read (path, &len)) == NULL) {
        snprintf (why, whysz, "corpus file %s absent", rel);
        return false;
    }
    if (strstr (rel, "netapp.ontap-ansible/")) {
        bool ok = corpus_unwrap (raw, len, status, body);

        free (raw);
        if (!ok) {
            snprintf (why, whysz, "corpus file %s is not a wrapper", rel);
        }
        return ok;
    }
    *status = 200;
    *body = raw;
    return true;
}
