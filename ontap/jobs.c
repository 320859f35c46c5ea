/* ONTAP jobs: GET /api/cluster/jobs/{uuid}.
 *
 * An asynchronous call answers 202 with a job link, or, when the job
 * ended within return_timeout, 200/201 (NetApp: "Asynchronous
 * processing", docs/ontap-client.md A1).  A job runs through queued,
 * running and paused to success or failure.  A job that cannot be found
 * (purged, or lost in a takeover) says nothing about the work: the
 * caller gets ONTAP_UNKNOWN and checks the result itself.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/busy.h"
#include "engine/base/error.h"
#include "ontap/ontap.h"

int
ontap_job_get (struct ontap_client *c, const char *uuid, struct ontap_job *out)
{
    struct ontap_reply rep = { 0 };
    char target[160], what[200];
    int r;

    if (!ontap_uuid_ok (uuid)) {
        return set_error (EINVAL, "bad job uuid '%.80s'", uuid);
    }
    snprintf (target, sizeof target, "/api/cluster/jobs/%s"
              "?fields=uuid,state,message,code,description", uuid);
    snprintf (what, sizeof what, "reply to GET /api/cluster/jobs/%s", uuid);
    if ((r = ontap_call (c, "GET", target, NULL, 0, &rep)) < 0) {
        return r;
    }
    r = rep.json ? ontap_decode_job (rep.json, what, out)
                 : set_error (EPROTO, "%s: empty", what);
    ontap_reply_release (&rep);
    return r;
}

/* A failed job's errno: the ONTAP code table, then busy messages, else
 * EREMOTEIO.  Not EIO: EIO is "maybe done" (a 5xx, a lost reply), which
 * create calls settle by looking and resending; a job that reported its
 * failure is a definite answer and is not sent again. */
static int
ontap_job_failed (const struct ontap_job *j)
{
    char code[32];
    int e;

    snprintf (code, sizeof code, "%" PRId64, j->code);
    e = ontap_errno_for (0, code, j->message);
    if (e == EPROTO) {
        e = EREMOTEIO;  /* no HTTP status here: the job's own failure */
    }
    return set_error (e, "ONTAP job %s (%.200s) failed: %.300s (code %s)",
                      j->uuid,
                      j->description ? j->description : "no description",
                      j->message ? j->message : "no message", code);
}

static uint64_t
ontap_poll_interval (const struct ontap_retry_policy *rp, unsigned n)
{
    uint64_t d = rp->poll_initial_ms;

    for (unsigned i = 0; i < n && d < rp->poll_max_ms; i++) {
        d *= 2;
    }
    return d < rp->poll_max_ms ? d : rp->poll_max_ms;
}

static int
ontap_job_poll (struct ontap_client *c, const char *uuid, unsigned deadline_s,
                enum ontap_outcome *out)
{
    struct ontap_retry_policy rp;
    uint64_t start = ontap_client_now (c);
    uint64_t end = start + (uint64_t) deadline_s * 1000;

    ontap_client_get_retry (c, &rp);
    for (unsigned n = 0;; n++) {
        struct ontap_job j = { .state = 0 };
        int r;

        ontap_client_note_poll (c);
        r = ontap_job_get (c, uuid, &j);

        if (r == -ENOENT) {
            clear_error ();
            *out = ONTAP_UNKNOWN;
            return 0;
        }
        if (r < 0) {
            return r;
        }
        if (j.state == ONTAP_JOB_SUCCESS || j.state == ONTAP_JOB_FAILURE) {
            r = j.state == ONTAP_JOB_SUCCESS ? 0 : ontap_job_failed (&j);
            ontap_job_release (&j);
            if (r == 0) {
                *out = ONTAP_DONE;
            }
            return r;
        }
        ontap_job_release (&j);
        uint64_t now = ontap_client_now (c), d = ontap_poll_interval (&rp, n);

        if (now >= end) {
            return set_error (ETIMEDOUT, "ONTAP job %s still %s after %u s",
                              uuid, ontap_job_state_name (j.state),
                              deadline_s);
        }
        ontap_client_sleep (c, d < end - now ? d : end - now);
    }
}

/* The whole wait counts as time ONTAP is busy for us (the polls in it
 * and the sleeps between them): the job is outstanding there. */
int
ontap_job_wait (struct ontap_client *c, const char *uuid, unsigned deadline_s,
                enum ontap_outcome *out)
{
    struct vs_busy *b = ontap_client_busy (c);
    int r;

    vs_busy_enter (b, VS_BUSY_REST);
    r = ontap_job_poll (c, uuid, deadline_s, out);
    vs_busy_leave (b, VS_BUSY_REST);
    return r;
}

int
ontap_async_finish (struct ontap_client *c, const struct ontap_reply *r,
                    const char *what, enum ontap_outcome *out)
{
    char uuid[ONTAP_UUID_MAX + 1];
    int e;

    if (r->status == 200 || r->status == 201) {
        *out = ONTAP_DONE;
        return 0;
    }
    if (r->status != 202) {
        return set_error (EPROTO, "%s: unexpected HTTP %ld", what, r->status);
    }
    if (r->json == NULL) {
        return set_error (EPROTO, "%s: 202 without a job", what);
    }
    if ((e = ontap_decode_job_link (r->json, what, uuid)) < 0) {
        return e == -ENOENT ? set_error (EPROTO, "%s: 202 without a job", what)
                            : e;
    }
    ontap_client_job_started (c, what, uuid);
    return ontap_job_wait (c, uuid, ontap_client_profile (c)->job_deadline,
                           out);
}
