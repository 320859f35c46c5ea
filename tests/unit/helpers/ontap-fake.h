/* Test helpers for ontap/ (not part of libvmshift):
 *
 * fake_transport: a struct ontap_transport that replays queued replies
 *   (status + body, or a transport error) and records every request
 *   (method, target, headers, body) for exact checks.
 * fake_clock: a clock whose sleeps only advance time, and are recorded.
 * log_capture: a logger that keeps every line, to check what was (and
 *   was not) logged.
 * ontap_test_client: a profile + client over a fake transport.
 * ontap_corpus_reply: a recorded reply from the shared corpus, read in
 *   place (gzip allowed); the netapp.ontap-ansible wrappers
 *   {http_status, body, error} become the reply ONTAP sent.
 */
#ifndef VMSHIFT_ONTAP_FAKE_H
#define VMSHIFT_ONTAP_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/base/log.h"
#include "engine/base/sbuf.h"
#include "ontap/ontap.h"

#define FAKE_MAX 512

struct fake_req {
    char *method;
    char *target;
    char *body;
    char *headers[8];
    size_t n_headers;
    bool idempotent;            /* as the client marked it */
};

struct fake_reply {
    long status;
    char *body;
    size_t body_len;
    int err;                    /* < 0: transport error instead */
    unsigned retry_after;
};

struct fake_transport {
    struct ontap_transport t;
    struct fake_reply replies[FAKE_MAX];
    size_t n_replies, next;
    struct fake_req reqs[FAKE_MAX];
    size_t n_reqs;
};

struct fake_transport *fake_new (void);
void fake_push (struct fake_transport *f, long status, const char *body);
void fake_push_n (struct fake_transport *f, long status, const char *body,
                  size_t len);
void fake_push_err (struct fake_transport *f, int err);
void fake_push_retry_after (struct fake_transport *f, long status,
                            const char *body, unsigned secs);
/* Header line of request i starting with name ("Authorization:"), or
 * NULL. */
const char *fake_header (const struct fake_req *r, const char *name);

struct fake_clock {
    uint64_t now;
    uint64_t sleeps[FAKE_MAX];
    size_t n_sleeps;
};
void fake_clock_install (struct ontap_client *c, struct fake_clock *fc);

struct log_capture {
    struct sbuf all;            /* "level|line\n" for every line */
    struct logger lg;
};
void log_capture_init (struct log_capture *lc, unsigned debug_mask);
void log_capture_release (struct log_capture *lc);

/* A profile named "t" for cluster https://cluster.test with user
 * "admin" and password "s3cret-PW" in $VMSHIFT_TEST_ONTAP_PW, plus any
 * extra JSON members (e.g. "\"svm\": \"svm0\""), or NULL. */
struct ontap_profile *ontap_test_profile (const char *extra);
#define TEST_PASSWORD "s3cret-PW"
/* base64 of "admin:s3cret-PW" */
#define TEST_BASIC "YWRtaW46czNjcmV0LVBX"
/* Client over f (taken) with a fake clock and optional logger. */
struct ontap_client *ontap_test_client (struct fake_transport *f,
                                        struct fake_clock *clk,
                                        const struct logger *lg,
                                        const char *extra);

/* Read corpus file REL (under $VMSHIFT_CORPUS) into *status / *body
 * (caller frees).  Returns false (and a reason in why) when absent. */
bool ontap_corpus_reply (const char *rel, long *status, char **body,
                         char *why, size_t whysz);

#endif
