/* Jobs, snapshots and qtrees over a fake transport: quick jobs need no
 * poll, slow jobs are polled with backoff up to a deadline, vanished
 * jobs are "unknown", and non-idempotent creates are never resent
 * without looking first. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "helpers/ontap-fake.h"

#define JOB "7c4a8d09-ca37-11ea-9d43-005056bb1ec1"
#define JOB_LINK "{\"job\": {\"uuid\": \"" JOB "\", \"_links\": {\"self\": " \
                 "{\"href\": \"/api/cluster/jobs/" JOB "\"}}}}"
#define JOB_TARGET "/api/cluster/jobs/" JOB \
                   "?fields=uuid,state,message,code,description"
#define VOL "vol-uuid-1"
#define SNAP_LIST "/api/storage/volumes/" VOL "/snapshots?name=vmshift-1&" \
                  "fields=uuid,name,create_time"
#define SNAP_REC "{\"records\": [{\"uuid\": \"snap-uuid\", \"name\": " \
                 "\"vmshift-1\"}], \"num_records\": 1}"
#define NO_REC "{\"records\": [], \"num_records\": 0}"

static const struct ontap_volume test_vol = {
    .uuid = VOL, .name = (char *) "ds1", .svm = (char *) "svm0",
};

static char *
job (const char *state, const char *extra)
{
    char *s = NULL;

    cr_assert_geq (asprintf (&s, "{\"uuid\": \"" JOB "\", \"state\": \"%s\""
                             "%s}", state, extra ? extra : ""), 0);
    return s;
}

static void
push_job (struct fake_transport *f, const char *state, const char *extra)
{
    char *s = job (state, extra);

    fake_push (f, 200, s);
    free (s);
}

Test (jobs, quick_job_needs_no_poll)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);
    struct ontap_reply rep = { .status = 201 };
    enum ontap_outcome oc = ONTAP_UNKNOWN;
    struct ontap_stats st;

    cr_assert_eq (ontap_async_finish (c, &rep, "x", &oc), 0);
    cr_assert_eq (oc, ONTAP_DONE);
    rep.status = 200;
    cr_assert_eq (ontap_async_finish (c, &rep, "x", &oc), 0);
    ontap_client_stats (c, &st);
    cr_assert_eq (st.requests, 0);
    cr_assert_eq (st.job_polls, 0);
    ontap_client_free (c);
}

Test (jobs, slow_job_polled_with_backoff)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);
    enum ontap_outcome oc = ONTAP_UNKNOWN;
    struct ontap_stats st;

    push_job (f, "queued", NULL);
    push_job (f, "running", NULL);
    push_job (f, "paused", NULL);
    push_job (f, "running", NULL);
    push_job (f, "running", NULL);
    push_job (f, "success", ", \"code\": 0, \"message\": \"done\"");
    cr_assert_eq (ontap_job_wait (c, JOB, 600, &oc), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (oc, ONTAP_DONE);
    cr_assert_eq (f->n_reqs, 6);
    for (size_t i = 0; i < 6; i++) {
        cr_assert_str_eq (f->reqs[i].method, "GET");
        cr_assert_str_eq (f->reqs[i].target, JOB_TARGET);
    }
    cr_assert_eq (clk.n_sleeps, 5);
    cr_assert_eq (clk.sleeps[0], 1000);
    cr_assert_eq (clk.sleeps[1], 2000);
    cr_assert_eq (clk.sleeps[2], 4000);
    cr_assert_eq (clk.sleeps[3], 8000);
    cr_assert_eq (clk.sleeps[4], 10000);
    ontap_client_stats (c, &st);
    cr_assert_eq (st.job_polls, 6);
    ontap_client_free (c);
}

Test (jobs, failure_maps_errno_and_keeps_message)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);
    enum ontap_outcome oc;

    push_job (f, "failure", ", \"code\": 1, \"message\": \"duplicate entry\", "
              "\"description\": \"POST /api/storage/qtrees\"");
    cr_assert_eq (ontap_job_wait (c, JOB, 60, &oc), -EEXIST);
    cr_assert_str_eq (vmshift_internal_error_msg (), "ONTAP job " JOB " (POST "
                      "/api/storage/qtrees) failed: duplicate entry (code 1)");
    push_job (f, "failure", ", \"code\": 13565952, \"message\": \"Clone "
              "operation failed: split load on node is too high\"");
    cr_assert_eq (ontap_job_wait (c, JOB, 60, &oc), -EBUSY);
    /* Not EIO, which callers take for "maybe done" and resend. */
    push_job (f, "failure", ", \"code\": 917505, \"message\": \"odd\"");
    cr_assert_eq (ontap_job_wait (c, JOB, 60, &oc), -EREMOTEIO);
    ontap_client_free (c);
}

Test (jobs, deadline)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);
    enum ontap_outcome oc;
    uint64_t total = 0;

    for (int i = 0; i < 50; i++) {
        push_job (f, "running", NULL);
    }
    cr_assert_eq (ontap_job_wait (c, JOB, 30, &oc), -ETIMEDOUT);
    cr_assert_str_eq (vmshift_internal_error_msg (), "ONTAP job " JOB " still "
                      "running after 30 s");
    for (size_t i = 0; i < clk.n_sleeps; i++) {
        total += clk.sleeps[i];
    }
    cr_assert_eq (total, 30000);        /* the last sleep is cut short */
    cr_assert_eq (f->n_reqs, 7);        /* 1+2+4+8+10 = 25 s, then 5 s */
    ontap_client_free (c);
}

Test (jobs, not_found_is_unknown_after_polls)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);
    enum ontap_outcome oc = ONTAP_DONE;

    push_job (f, "running", NULL);
    fake_push (f, 404, "{\"error\": {\"message\": \"entry doesn't exist\", "
               "\"code\": \"4\", \"target\": \"uuid\"}}");
    cr_assert_eq (ontap_job_wait (c, JOB, 60, &oc), 0);
    cr_assert_eq (oc, ONTAP_UNKNOWN);
    cr_assert_eq (vmshift_internal_error_errno (), 0);
    ontap_client_free (c);
}

Test (jobs, poll_survives_a_5xx)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);
    enum ontap_outcome oc;

    fake_push (f, 503, "");
    push_job (f, "success", NULL);
    cr_assert_eq (ontap_job_wait (c, JOB, 60, &oc), 0);
    cr_assert_eq (oc, ONTAP_DONE);
    ontap_client_free (c);
}

Test (jobs, async_202_without_job_is_a_protocol_error)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);
    struct ontap_reply rep = { .status = 202 };
    enum ontap_outcome oc;

    cr_assert_eq (ontap_async_finish (c, &rep, "file clone", &oc), -EPROTO);
    cr_assert (strstr (vmshift_internal_error_msg (), "202 without a job"));
    ontap_client_free (c);
}

/* ------------------------------------------------------- snapshots */

Test (snapshots, create_with_slow_job)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);

    fake_push (f, 202, JOB_LINK);
    push_job (f, "running", NULL);
    push_job (f, "success", NULL);
    cr_assert_eq (ontap_snapshot_create (c, &test_vol, "vmshift-1", NULL,
                                         NULL), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (f->n_reqs, 3);
    cr_assert_str_eq (f->reqs[0].body, "{\"name\":\"vmshift-1\"}");
    cr_assert_eq (clk.n_sleeps, 1);
    ontap_client_free (c);
}

Test (snapshots, create_looks_before_resending)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);

    /* The POST's fate is unknown: look, not there, resend. */
    fake_push (f, 500, "");
    fake_push (f, 200, NO_REC);
    fake_push (f, 201, JOB_LINK);
    cr_assert_eq (ontap_snapshot_create (c, &test_vol, "vmshift-1", NULL,
                                         NULL), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (f->n_reqs, 3);
    cr_assert_str_eq (f->reqs[0].method, "POST");
    cr_assert_str_eq (f->reqs[1].method, "GET");
    cr_assert_str_eq (f->reqs[1].target, SNAP_LIST);
    cr_assert_str_eq (f->reqs[2].method, "POST");
    ontap_client_free (c);
}

Test (snapshots, create_found_after_lost_reply)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);
    struct ontap_snapshot s;

    /* The POST worked but the reply was lost: look, found, no resend. */
    fake_push_err (f, -ECONNRESET);
    fake_push (f, 200, SNAP_REC);
    fake_push (f, 200, SNAP_REC);
    cr_assert_eq (ontap_snapshot_create (c, &test_vol, "vmshift-1", NULL, &s),
                  0, "%s", vmshift_internal_error_msg ());
    cr_assert_str_eq (s.uuid, "snap-uuid");
    cr_assert_eq (f->n_reqs, 3);
    cr_assert_str_eq (f->reqs[1].method, "GET");
    cr_assert_str_eq (f->reqs[2].method, "GET");
    ontap_snapshot_release (&s);
    ontap_client_free (c);
}

/* "Job not found" is unknown: the snapshot may still be on its way, so
 * the client looks again before calling the POST failed. */
Test (snapshots, create_job_vanished_snapshot_appears_later)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);
    struct ontap_snapshot s;

    fake_push (f, 202, JOB_LINK);
    fake_push (f, 404, "{\"error\": {\"code\": \"4\", \"message\": \"entry "
               "doesn't exist\"}}");
    fake_push (f, 200, NO_REC);
    fake_push (f, 200, SNAP_REC);
    fake_push (f, 200, SNAP_REC);
    cr_assert_eq (ontap_snapshot_create (c, &test_vol, "vmshift-1", NULL, &s),
                  0, "%s", vmshift_internal_error_msg ());
    cr_assert_str_eq (s.uuid, "snap-uuid");
    cr_assert_eq (f->n_reqs, 5);
    for (size_t i = 1; i < f->n_reqs; i++) {
        cr_assert_str_eq (f->reqs[i].method, "GET", "request %zu", i);
    }
    cr_assert_eq (clk.n_sleeps, 1);
    ontap_snapshot_release (&s);
    ontap_client_free (c);
}

/* ... and when it never appears, the POST counts as an ambiguous
 * failure: look once more, then resend. */
Test (snapshots, create_job_vanished_snapshot_never_made)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);
    size_t posts = 0;

    fake_push (f, 202, JOB_LINK);
    fake_push (f, 404, "{\"error\": {\"code\": \"4\", \"message\": \"entry "
               "doesn't exist\"}}");
    for (int i = 0; i < 5; i++) {
        fake_push (f, 200, NO_REC);
    }
    fake_push (f, 201, JOB_LINK);
    cr_assert_eq (ontap_snapshot_create (c, &test_vol, "vmshift-1", NULL,
                                         NULL), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (f->n_reqs, 8);
    for (size_t i = 0; i < f->n_reqs; i++) {
        posts += strcmp (f->reqs[i].method, "POST") == 0;
    }
    cr_assert_eq (posts, 2);
    cr_assert_str_eq (f->reqs[7].method, "POST");
    cr_assert_str_eq (f->reqs[6].method, "GET");
    cr_assert_str_eq (f->reqs[6].target, SNAP_LIST);
    ontap_client_free (c);
}

Test (snapshots, create_existing_is_an_error)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);

    fake_push (f, 409, "{\"error\": {\"message\": \"duplicate entry\", "
               "\"code\": \"1\"}}");
    cr_assert_eq (ontap_snapshot_create (c, &test_vol, "vmshift-1", NULL,
                                         NULL), -EEXIST);
    cr_assert_str_eq (vmshift_internal_error_msg (), "creating snapshot "
                      "'vmshift-1' of volume 'ds1': ONTAP POST /api/storage/"
                      "volumes/" VOL "/snapshots: duplicate entry (HTTP 409, "
                      "error 1)");
    cr_assert_eq (f->n_reqs, 1);
    ontap_client_free (c);
}

Test (snapshots, bad_names_refused_before_sending)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);
    static const char *const bad[] = { "", "a*", "a/b", ".hidden", "a..b",
                                       "x y" };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_expect_eq (ontap_snapshot_create (c, &test_vol, bad[i], NULL, NULL),
                      -EINVAL, "'%s'", bad[i]);
    }
    cr_assert_eq (f->n_reqs, 0);
    ontap_client_free (c);
}

Test (snapshots, delete_retried_while_busy)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);
    struct ontap_snapshot s = { .uuid = "snap-uuid", .name = (char *) "s1" };
    const char *busy = "{\"error\": {\"message\": \"Snapshot copy is busy "
                       "because of a file clone split\", \"code\": "
                       "\"1638600\"}}";

    fake_push (f, 409, busy);
    fake_push (f, 202, JOB_LINK);
    push_job (f, "failure", ", \"code\": 8, \"message\": \"in use\"");
    fake_push (f, 200, JOB_LINK);
    cr_assert_eq (ontap_snapshot_delete (c, &test_vol, &s), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (f->n_reqs, 4);
    cr_assert_str_eq (f->reqs[0].method, "DELETE");
    cr_assert_str_eq (f->reqs[0].target, "/api/storage/volumes/" VOL
                      "/snapshots/snap-uuid?return_timeout=30");
    cr_assert_str_eq (f->reqs[3].method, "DELETE");
    cr_assert_eq (clk.n_sleeps, 2);
    ontap_client_free (c);
}

Test (snapshots, delete_busy_until_deadline)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL,
                                                "\"job_deadline\": 60");
    struct ontap_snapshot s = { .uuid = "snap-uuid", .name = (char *) "s1" };

    for (int i = 0; i < 40; i++) {
        fake_push (f, 409, "{\"error\": {\"code\": \"8\", \"message\": "
                   "\"busy\"}}");
    }
    cr_assert_eq (ontap_snapshot_delete (c, &test_vol, &s), -EBUSY);
    cr_assert (strstr (vmshift_internal_error_msg (), "deleting snapshot "
                       "'s1' of volume 'ds1': "));
    cr_assert_geq (clk.now, 60000);
    cr_assert_lt (f->n_reqs, 40);
    ontap_client_free (c);
}

Test (snapshots, delete_gone_after_retry_is_success)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);
    struct ontap_snapshot s = { .uuid = "snap-uuid", .name = (char *) "s1" };

    fake_push (f, 502, "");
    fake_push (f, 404, "{\"error\": {\"code\": \"4\", \"message\": \"entry "
               "doesn't exist\"}}");
    cr_assert_eq (ontap_snapshot_delete (c, &test_vol, &s), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (f->n_reqs, 2);
    /* but a first "not found" is reported */
    fake_push (f, 404, "{\"error\": {\"code\": \"4\", \"message\": \"entry "
               "doesn't exist\"}}");
    cr_assert_eq (ontap_snapshot_delete (c, &test_vol, &s), -ENOENT);
    ontap_client_free (c);
}

Test (snapshots, delete_job_vanished_then_checked)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);
    struct ontap_snapshot s = { .uuid = "snap-uuid", .name = (char *) "s1" };

    fake_push (f, 202, JOB_LINK);
    fake_push (f, 404, "{\"error\": {\"code\": \"4\", \"message\": \"entry "
               "doesn't exist\"}}");
    fake_push (f, 404, "{\"error\": {\"code\": \"4\", \"message\": \"entry "
               "doesn't exist\"}}");
    cr_assert_eq (ontap_snapshot_delete (c, &test_vol, &s), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_str_eq (f->reqs[2].target, "/api/storage/volumes/" VOL
                      "/snapshots/snap-uuid?fields=uuid,name");
    ontap_client_free (c);
}

Test (snapshots, list_pages)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);
    struct ontap_snapshot_vec v = { 0 };

    fake_push (f, 200, "{\"records\": [{\"uuid\": \"a\", \"name\": \"x\"}], "
               "\"_links\": {\"next\": {\"href\": \"/api/storage/volumes/"
               VOL "/snapshots?start=2\"}}}");
    fake_push (f, 200, "{\"records\": [{\"uuid\": \"b\", \"name\": \"y\", "
               "\"create_time\": \"2024-01-01T00:00:00Z\"}]}");
    cr_assert_eq (ontap_snapshot_list (c, &test_vol, &v), 0);
    cr_assert_eq (v.len, 2);
    cr_assert_str_eq (f->reqs[0].target, "/api/storage/volumes/" VOL
                      "/snapshots?fields=uuid,name,create_time");
    cr_assert_str_eq (v.ptr[1].create_time, "2024-01-01T00:00:00Z");
    ontap_snapshot_vec_free (&v);
    ontap_client_free (c);
}

/* ----------------------------------------------------------- qtrees */

#define QT_GET "/api/storage/qtrees?volume.uuid=" VOL "&name=hv&fields=id," \
               "name,security_style,volume.uuid"
#define QT_REC "{\"records\": [{\"id\": 3, \"name\": \"hv\", " \
               "\"security_style\": \"ntfs\", \"volume\": {\"uuid\": \"" VOL \
               "\"}}], \"num_records\": 1}"

Test (qtrees, existing_one_is_one_request)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);
    uint64_t id = 0;

    fake_push (f, 200, QT_REC);
    cr_assert_eq (ontap_qtree_ensure (c, &test_vol, "hv", ONTAP_SEC_NTFS, 0,
                                      &id, NULL),
                  0);
    cr_assert_eq (id, 3);
    cr_assert_eq (f->n_reqs, 1);
    cr_assert_str_eq (f->reqs[0].target, QT_GET);
    ontap_client_free (c);
}

Test (qtrees, create_with_job_then_get_id)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL,
                                                "\"svm\": \"svmA\"");
    uint64_t id = 0;

    fake_push (f, 200, NO_REC);
    fake_push (f, 202, JOB_LINK);
    push_job (f, "success", NULL);
    fake_push (f, 200, QT_REC);
    cr_assert_eq (ontap_qtree_ensure (c, &test_vol, "hv", ONTAP_SEC_NTFS, 0,
                                      &id, NULL),
                  0, "%s", vmshift_internal_error_msg ());
    cr_assert_eq (id, 3);
    cr_assert_str_eq (f->reqs[1].body, "{\"svm\":{\"name\":\"svmA\"},"
                      "\"volume\":{\"uuid\":\"" VOL "\"},\"name\":\"hv\","
                      "\"security_style\":\"ntfs\"}");
    cr_assert_str_eq (f->reqs[3].target, QT_GET);
    ontap_client_free (c);
}

Test (qtrees, created_by_someone_else_meanwhile)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);
    uint64_t id = 0;

    fake_push (f, 200, NO_REC);
    fake_push (f, 409, "{\"error\": {\"code\": \"1\", \"message\": "
               "\"duplicate entry\"}}");
    fake_push (f, 200, QT_REC);
    cr_assert_eq (ontap_qtree_ensure (c, &test_vol, "hv", ONTAP_SEC_NTFS, 0,
                                      &id, NULL),
                  0, "%s", vmshift_internal_error_msg ());
    cr_assert_eq (id, 3);
    cr_assert_eq (f->n_reqs, 3);
    ontap_client_free (c);
}

Test (qtrees, ambiguous_post_failure_looks_then_resends)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);
    uint64_t id = 0;

    fake_push (f, 200, NO_REC);
    fake_push_err (f, -ETIMEDOUT);
    fake_push (f, 200, NO_REC);
    fake_push (f, 201, "");
    fake_push (f, 200, QT_REC);
    cr_assert_eq (ontap_qtree_ensure (c, &test_vol, "hv", ONTAP_SEC_NTFS, 0,
                                      &id, NULL),
                  0, "%s", vmshift_internal_error_msg ());
    cr_assert_eq (f->n_reqs, 5);
    cr_assert_str_eq (f->reqs[1].method, "POST");
    cr_assert_str_eq (f->reqs[2].method, "GET");
    cr_assert_str_eq (f->reqs[3].method, "POST");
    ontap_client_free (c);
}

/* A hidden job (ONTAP on FSx hides some): the qtree shows up only when
 * the job has run, so the client looks again within job_deadline rather
 * than failing "not found" (and does not send the POST again). */
Test (qtrees, hidden_job_looks_again_until_found)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);
    uint64_t id = 0;
    size_t posts = 0;

    fake_push (f, 200, NO_REC);
    fake_push (f, 202, JOB_LINK);
    fake_push (f, 404, "{\"error\": {\"message\": \"entry doesn't exist\", "
               "\"code\": \"4\", \"target\": \"uuid\"}}");
    for (int i = 0; i < 4; i++) {
        fake_push (f, 200, NO_REC);
    }
    fake_push (f, 200, QT_REC);
    cr_assert_eq (ontap_qtree_ensure (c, &test_vol, "hv", ONTAP_SEC_NTFS, 0,
                                      &id, NULL),
                  0, "%s", vmshift_internal_error_msg ());
    cr_assert_eq (id, 3);
    for (size_t i = 0; i < f->n_reqs; i++) {
        posts += strcmp (f->reqs[i].method, "POST") == 0;
    }
    cr_assert_eq (posts, 1, "the POST was sent %zu times", posts);
    cr_assert_str_eq (f->reqs[f->n_reqs - 1].target, QT_GET);
    ontap_client_free (c);
}

Test (qtrees, hidden_job_and_no_qtree_gives_up_at_the_deadline)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL,
                                                "\"job_deadline\": 20");
    uint64_t id = 0;

    fake_push (f, 200, NO_REC);
    fake_push (f, 202, JOB_LINK);
    fake_push (f, 404, "{\"error\": {\"message\": \"entry doesn't exist\", "
               "\"code\": \"4\", \"target\": \"uuid\"}}");
    for (int i = 0; i < 40; i++) {
        fake_push (f, 200, NO_REC);
    }
    cr_assert_eq (ontap_qtree_ensure (c, &test_vol, "hv", ONTAP_SEC_NTFS, 0,
                                      &id, NULL),
                  -ETIMEDOUT);
    cr_assert (strstr (vmshift_internal_error_msg (), "did not appear"), "%s",
               vmshift_internal_error_msg ());
    cr_assert_geq (clk.now, 20000);
    ontap_client_free (c);
}

/* A job that reported its failure is an answer: not resent. */
Test (qtrees, failed_job_is_not_resent)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);
    uint64_t id = 0;

    fake_push (f, 200, NO_REC);
    fake_push (f, 202, JOB_LINK);
    push_job (f, "failure", ", \"code\": 917505, \"message\": \"no space\"");
    fake_push (f, 200, NO_REC);
    fake_push (f, 202, JOB_LINK);
    push_job (f, "success", NULL);
    fake_push (f, 200, QT_REC);
    cr_assert_eq (ontap_qtree_ensure (c, &test_vol, "hv", ONTAP_SEC_NTFS, 0,
                                      &id, NULL),
                  -EREMOTEIO);
    cr_assert (strstr (vmshift_internal_error_msg (), "no space"), "%s",
               vmshift_internal_error_msg ());
    cr_assert_eq (f->n_reqs, 3, "%zu requests", f->n_reqs);
    ontap_client_free (c);
}

#define QT_REC_UNIX "{\"records\": [{\"id\": 3, \"name\": \"hv\", " \
                    "\"security_style\": \"unix\", \"volume\": {\"uuid\": \"" \
                    VOL "\"}}], \"num_records\": 1}"

Test (qtrees, other_style_is_refused_by_default)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);
    uint64_t id = 0;

    fake_push (f, 200, QT_REC_UNIX);
    cr_assert_eq (ontap_qtree_ensure (c, &test_vol, "hv", ONTAP_SEC_NTFS, 0,
                                      &id, NULL), -EEXIST);
    cr_assert (strstr (vmshift_internal_error_msg (), "exists with security "
                       "style 'unix', not 'ntfs'"), "%s",
               vmshift_internal_error_msg ());
    cr_assert_eq (f->n_reqs, 1);
    ontap_client_free (c);
}

/* --qtree-style fix: PATCH the style, then the GET decides. */
Test (qtrees, other_style_is_patched_with_fix)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);
    enum ontap_security_style was = ONTAP_SEC_MIXED;
    uint64_t id = 0;

    fake_push (f, 200, QT_REC_UNIX);
    fake_push (f, 202, JOB_LINK);
    push_job (f, "success", NULL);
    fake_push (f, 200, QT_REC);
    cr_assert_eq (ontap_qtree_ensure (c, &test_vol, "hv", ONTAP_SEC_NTFS,
                                      ONTAP_QTREE_FIX_STYLE, &id, &was), 1,
                  "%s", vmshift_internal_error_msg ());
    cr_assert_eq (id, 3);
    cr_assert_eq (was, ONTAP_SEC_UNIX);
    cr_assert_str_eq (f->reqs[1].method, "PATCH");
    cr_assert_str_eq (f->reqs[1].target, "/api/storage/qtrees/" VOL
                      "/3?return_timeout=30");
    cr_assert_str_eq (f->reqs[1].body, "{\"security_style\":\"ntfs\"}");
    cr_assert_str_eq (f->reqs[3].target, QT_GET);
    /* the right style already: nothing to change, one GET */
    fake_push (f, 200, QT_REC);
    cr_assert_eq (ontap_qtree_ensure (c, &test_vol, "hv", ONTAP_SEC_NTFS,
                                      ONTAP_QTREE_FIX_STYLE, &id, &was), 0);
    cr_assert_eq (f->n_reqs, 5);
    ontap_client_free (c);
}

/* A PATCH that ONTAP accepted but did not apply is still refused. */
Test (qtrees, fix_that_did_not_take_is_refused)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);
    uint64_t id = 0;

    fake_push (f, 200, QT_REC_UNIX);
    fake_push (f, 200, JOB_LINK);
    fake_push (f, 200, QT_REC_UNIX);
    cr_assert_eq (ontap_qtree_ensure (c, &test_vol, "hv", ONTAP_SEC_NTFS,
                                      ONTAP_QTREE_FIX_STYLE, &id, NULL),
                  -EEXIST);
    fake_push (f, 200, QT_REC_UNIX);
    fake_push (f, 202, JOB_LINK);
    push_job (f, "failure", ", \"code\": 917505, \"message\": \"denied\"");
    cr_assert_eq (ontap_qtree_ensure (c, &test_vol, "hv", ONTAP_SEC_NTFS,
                                      ONTAP_QTREE_FIX_STYLE, &id, NULL),
                  -EREMOTEIO);
    cr_assert (strstr (vmshift_internal_error_msg (), "changing the security "
                       "style of qtree 'hv' from 'unix' to 'ntfs'"), "%s",
               vmshift_internal_error_msg ());
    ontap_client_free (c);
}

Test (qtrees, bad_names)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);
    uint64_t id;

    cr_assert_eq (ontap_qtree_ensure (c, &test_vol, "a/b", ONTAP_SEC_UNIX, 0,
                                      &id, NULL),
                  -EINVAL);
    cr_assert_eq (ontap_qtree_ensure (c, &test_vol, "..", ONTAP_SEC_UNIX, 0,
                                      &id, NULL),
                  -EINVAL);
    cr_assert_eq (ontap_qtree_ensure (c, &test_vol,
                                      "x23456789012345678901234567890123456789"
                                      "01234567890123456789012345",
                                      ONTAP_SEC_UNIX, 0, &id, NULL), -EINVAL);
    cr_assert_eq (f->n_reqs, 0);
    ontap_client_free (c);
}

/* Deleting a qtree: by the id found; a vanished job or a lost answer is
 * settled by looking it up by name (gone: done; another id: left alone);
 * qtree 0 is never sent. */
#define QT_DEL "/api/storage/qtrees/" VOL "/3?return_timeout=30"

Test (qtrees, delete_with_job)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);
    struct ontap_qtree q = { .id = 3, .name = (char *) "hv" };

    fake_push (f, 202, JOB_LINK);
    push_job (f, "success", NULL);
    cr_assert_eq (ontap_qtree_delete (c, &test_vol, &q), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (f->n_reqs, 2);
    cr_assert_str_eq (f->reqs[0].method, "DELETE");
    cr_assert_str_eq (f->reqs[0].target, QT_DEL);
    cr_assert_not (f->reqs[0].idempotent);
    ontap_client_free (c);
}

Test (qtrees, delete_lost_answer_looks)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);
    struct ontap_qtree q = { .id = 3, .name = (char *) "hv" };

    /* the connection dropped: gone when looked for, so done, not resent */
    fake_push_err (f, -ECONNRESET);
    fake_push (f, 200, NO_REC);
    cr_assert_eq (ontap_qtree_delete (c, &test_vol, &q), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (f->n_reqs, 2);
    cr_assert_str_eq (f->reqs[1].target, QT_GET);
    ontap_client_free (c);
}

Test (qtrees, delete_vanished_job_still_there_resends)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);
    struct ontap_qtree q = { .id = 3, .name = (char *) "hv" };

    fake_push (f, 202, JOB_LINK);
    fake_push (f, 404, "{\"error\": {\"code\": \"4\", \"message\": \"entry "
               "doesn't exist\"}}");
    fake_push (f, 200, QT_REC);        /* still there, same id */
    fake_push (f, 404, "{\"error\": {\"code\": \"4\", \"message\": \"entry "
               "doesn't exist\"}}");  /* the second DELETE: gone by now */
    cr_assert_eq (ontap_qtree_delete (c, &test_vol, &q), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_str_eq (f->reqs[3].method, "DELETE");
    ontap_client_free (c);
}

Test (qtrees, delete_another_qtree_now_is_left)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);
    struct ontap_qtree q = { .id = 4, .name = (char *) "hv" };

    fake_push_err (f, -ECONNRESET);
    fake_push (f, 200, QT_REC);        /* id 3: not ours */
    cr_assert_eq (ontap_qtree_delete (c, &test_vol, &q), -EEXIST);
    cr_assert_eq (f->n_reqs, 2);
    q.id = 0;
    cr_assert_eq (ontap_qtree_delete (c, &test_vol, &q), -EINVAL);
    cr_assert_eq (f->n_reqs, 2);
    ontap_client_free (c);
}
