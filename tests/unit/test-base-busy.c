/* engine/base/busy.c: the union of operation intervals across threads
 * (overlapping, nested, disjoint; per kind and for either kind), and the
 * ONTAP client's use of it (REST requests and job waits counted, the
 * sleeps between job polls inside the wait).  No timed assertion: the
 * threaded cases compare the tracker with the exact union of the
 * intervals it reports having used. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/busy.h"
#include "helpers/ontap-fake.h"

#define MS 1000000ull

static uint64_t
total (struct vs_busy *b, enum vs_busy_kind k, uint64_t now)
{
    return vs_busy_total_ns (b, k, now);
}

Test (busy, disjoint_intervals_add_up)
{
    struct vs_busy b;

    vs_busy_init (&b);
    vs_busy_enter_at (&b, VS_BUSY_REST, 0);
    vs_busy_leave_at (&b, VS_BUSY_REST, 10 * MS);
    vs_busy_enter_at (&b, VS_BUSY_REST, 20 * MS);
    vs_busy_leave_at (&b, VS_BUSY_REST, 35 * MS);
    cr_assert_eq (total (&b, VS_BUSY_REST, 100 * MS), 25 * MS);
    cr_assert_eq (total (&b, VS_BUSY_ANY, 100 * MS), 25 * MS);
    cr_assert_eq (total (&b, VS_BUSY_NFS, 100 * MS), 0);
    cr_assert_eq (vs_busy_ops (&b, VS_BUSY_REST), 2);
    vs_busy_destroy (&b);
}

Test (busy, overlapping_intervals_count_once)
{
    struct vs_busy b;

    /* thread A 0..10, thread B 5..15, thread C 12..20: one period 0..20 */
    vs_busy_init (&b);
    vs_busy_enter_at (&b, VS_BUSY_REST, 0);
    vs_busy_enter_at (&b, VS_BUSY_REST, 5 * MS);
    vs_busy_leave_at (&b, VS_BUSY_REST, 10 * MS);
    vs_busy_enter_at (&b, VS_BUSY_REST, 12 * MS);
    vs_busy_leave_at (&b, VS_BUSY_REST, 15 * MS);
    vs_busy_leave_at (&b, VS_BUSY_REST, 20 * MS);
    cr_assert_eq (total (&b, VS_BUSY_REST, 50 * MS), 20 * MS);
    cr_assert_eq (vs_busy_ops (&b, VS_BUSY_REST), 3);
    vs_busy_destroy (&b);
}

Test (busy, nested_intervals_count_the_outer_one)
{
    struct vs_busy b;

    /* a job wait 0..100 holding polls 10..12 and 50..52 */
    vs_busy_init (&b);
    vs_busy_enter_at (&b, VS_BUSY_REST, 0);
    vs_busy_enter_at (&b, VS_BUSY_REST, 10 * MS);
    vs_busy_leave_at (&b, VS_BUSY_REST, 12 * MS);
    vs_busy_enter_at (&b, VS_BUSY_REST, 50 * MS);
    vs_busy_leave_at (&b, VS_BUSY_REST, 52 * MS);
    cr_assert_eq (total (&b, VS_BUSY_REST, 60 * MS), 60 * MS,
                  "an open period counts up to the time asked");
    vs_busy_leave_at (&b, VS_BUSY_REST, 100 * MS);
    cr_assert_eq (total (&b, VS_BUSY_REST, 500 * MS), 100 * MS);
    vs_busy_destroy (&b);
}

Test (busy, kinds_apart_and_together)
{
    struct vs_busy b;

    /* REST 0..10 and 30..40, NFS 5..20 and 50..60 */
    vs_busy_init (&b);
    vs_busy_enter_at (&b, VS_BUSY_REST, 0);
    vs_busy_enter_at (&b, VS_BUSY_NFS, 5 * MS);
    vs_busy_leave_at (&b, VS_BUSY_REST, 10 * MS);
    vs_busy_leave_at (&b, VS_BUSY_NFS, 20 * MS);
    vs_busy_enter_at (&b, VS_BUSY_REST, 30 * MS);
    vs_busy_leave_at (&b, VS_BUSY_REST, 40 * MS);
    vs_busy_enter_at (&b, VS_BUSY_NFS, 50 * MS);
    vs_busy_leave_at (&b, VS_BUSY_NFS, 60 * MS);
    cr_assert_eq (total (&b, VS_BUSY_REST, 70 * MS), 20 * MS);
    cr_assert_eq (total (&b, VS_BUSY_NFS, 70 * MS), 25 * MS);
    cr_assert_eq (total (&b, VS_BUSY_ANY, 70 * MS), 40 * MS);
    vs_busy_destroy (&b);
}

Test (busy, unbalanced_leave_and_null_tracker_are_ignored)
{
    struct vs_busy b;

    vs_busy_init (&b);
    vs_busy_leave_at (&b, VS_BUSY_NFS, 5 * MS);
    vs_busy_enter_at (&b, VS_BUSY_NFS, 10 * MS);
    vs_busy_leave_at (&b, VS_BUSY_NFS, 20 * MS);
    vs_busy_leave_at (&b, VS_BUSY_NFS, 30 * MS);
    cr_assert_eq (total (&b, VS_BUSY_NFS, 40 * MS), 10 * MS);
    cr_assert_eq (total (&b, VS_BUSY_ANY, 40 * MS), 10 * MS);
    vs_busy_destroy (&b);
    cr_assert_eq (vs_busy_enter (NULL, VS_BUSY_REST), 0);
    cr_assert_eq (vs_busy_leave (NULL, VS_BUSY_REST), 0);
    cr_assert_eq (vs_busy_total_ns (NULL, VS_BUSY_ANY, 1), 0);
}

/* ----------------------------------------------------- across threads */

#define THREADS 6
#define ROUNDS 200

struct ival {
    uint64_t a, b;
    int kind;
};

struct worker {
    struct vs_busy *b;
    int id;
    struct ival iv[ROUNDS * 2];
    size_t n;
};

static void
spin (unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        sched_yield ();
    }
}

/* Each round: one interval, or (every third) an outer one holding a
 * nested one of the same kind; odd threads use NFS, even ones REST. */
static void *
busy_worker (void *opaque)
{
    struct worker *w = opaque;
    enum vs_busy_kind k = w->id % 2 ? VS_BUSY_NFS : VS_BUSY_REST;

    for (unsigned r = 0; r < ROUNDS; r++) {
        struct ival *o = &w->iv[w->n++];

        o->kind = k;
        o->a = vs_busy_enter (w->b, k);
        spin ((r + (unsigned) w->id) % 4);
        if (r % 3 == 0) {
            struct ival *in = &w->iv[w->n++];

            in->kind = k;
            in->a = vs_busy_enter (w->b, k);
            spin (1);
            in->b = vs_busy_leave (w->b, k);
        }
        o->b = vs_busy_leave (w->b, k);
        spin ((r * 7 + (unsigned) w->id) % 5);   /* gaps, sometimes none */
    }
    return NULL;
}

static int
ival_cmp (const void *x, const void *y)
{
    const struct ival *a = x, *b = y;

    return a->a < b->a ? -1 : a->a > b->a;
}

/* The measure of the union of the intervals of kind k (-1: all). */
static uint64_t
union_of (struct worker *ws, int k)
{
    struct ival *all = calloc (THREADS * ROUNDS * 2, sizeof *all);
    size_t n = 0;
    uint64_t sum = 0, cur_a = 0, cur_b = 0;
    bool open = false;

    cr_assert_not_null (all);
    for (int t = 0; t < THREADS; t++) {
        for (size_t i = 0; i < ws[t].n; i++) {
            if (k < 0 || ws[t].iv[i].kind == k) {
                all[n++] = ws[t].iv[i];
            }
        }
    }
    qsort (all, n, sizeof *all, ival_cmp);
    for (size_t i = 0; i < n; i++) {
        if (open && all[i].a <= cur_b) {
            if (all[i].b > cur_b) {
                cur_b = all[i].b;
            }
            continue;
        }
        if (open) {
            sum += cur_b - cur_a;
        }
        cur_a = all[i].a;
        cur_b = all[i].b;
        open = true;
    }
    if (open) {
        sum += cur_b - cur_a;
    }
    free (all);
    return sum;
}

Test (busy, threads_total_is_the_exact_union)
{
    static struct worker ws[THREADS];
    pthread_t th[THREADS];
    struct vs_busy b;
    uint64_t end, rest, nfs, any, longest = 0;

    vs_busy_init (&b);
    for (int t = 0; t < THREADS; t++) {
        memset (&ws[t], 0, sizeof ws[t]);
        ws[t].b = &b;
        ws[t].id = t;
        cr_assert_eq (pthread_create (&th[t], NULL, busy_worker, &ws[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join (th[t], NULL);
    }
    end = vs_busy_now_ns ();
    rest = total (&b, VS_BUSY_REST, end);
    nfs = total (&b, VS_BUSY_NFS, end);
    any = total (&b, VS_BUSY_ANY, end);
    cr_assert_eq (rest, union_of (ws, VS_BUSY_REST));
    cr_assert_eq (nfs, union_of (ws, VS_BUSY_NFS));
    cr_assert_eq (any, union_of (ws, -1));
    /* the relations a union must keep, whatever the timing */
    for (int t = 0; t < THREADS; t++) {
        for (size_t i = 0; i < ws[t].n; i++) {
            if (ws[t].iv[i].b - ws[t].iv[i].a > longest) {
                longest = ws[t].iv[i].b - ws[t].iv[i].a;
            }
        }
    }
    cr_assert_geq (any, longest);
    cr_assert_geq (any, rest);
    cr_assert_geq (any, nfs);
    cr_assert_leq (any, rest + nfs);
    cr_assert_eq (vs_busy_ops (&b, VS_BUSY_REST),
                  (THREADS / 2) * (ROUNDS + (ROUNDS + 2) / 3));
    /* nothing left open: the total does not grow any more */
    cr_assert_eq (total (&b, VS_BUSY_ANY, end + 1000 * MS), any);
    vs_busy_destroy (&b);
}

/* ------------------------------------------------------ ONTAP client */

#define JOB "7c4a8d09-ca37-11ea-9d43-005056bb1ec1"
#define JOB_LINK "{\"job\": {\"uuid\": \"" JOB "\"}}"

static struct vs_busy *seen_busy;
static unsigned sends_outside, sleeps_outside, sends;
static int (*fake_send) (struct ontap_transport *,
                         const struct ontap_http_request *,
                         struct ontap_http_response *);
static uint64_t clock_now;

static int
checking_send (struct ontap_transport *t, const struct ontap_http_request *rq,
               struct ontap_http_response *rs)
{
    sends++;
    sends_outside += seen_busy->inflight[VS_BUSY_REST] == 0;
    return fake_send (t, rq, rs);
}

static uint64_t
test_now (void *opaque)
{
    (void) opaque;
    return clock_now;
}

static void
test_sleep (void *opaque, uint64_t ms)
{
    (void) opaque;
    sleeps_outside += seen_busy->inflight[VS_BUSY_REST] == 0;
    clock_now += ms;
}

Test (busy, ontap_requests_and_job_waits_are_counted)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock fc = { 0 };
    struct ontap_client *c = ontap_test_client (f, &fc, NULL, NULL);
    struct ontap_clock clk = { test_now, test_sleep, NULL };
    struct ontap_reply rep = { 0 };
    enum ontap_outcome oc = ONTAP_UNKNOWN;
    struct ontap_stats st;
    struct vs_busy b;
    uint64_t end;

    vs_busy_init (&b);
    seen_busy = &b;
    fake_send = f->t.send;
    f->t.send = checking_send;
    ontap_client_set_clock (c, &clk);
    ontap_client_set_busy (c, &b);
    cr_assert_eq (ontap_client_busy (c), &b);
    /* a plain call, a call failing over the transport, then a job
     * polled three times (with sleeps between the polls) */
    fake_push (f, 200, "{}");
    cr_assert_eq (ontap_call (c, "GET", "/api/cluster", NULL, 0, &rep), 0);
    ontap_reply_release (&rep);
    fake_push_err (f, -EPROTO);
    cr_assert_lt (ontap_call (c, "POST", "/api/x", "{}", 0, &rep), 0);
    fake_push (f, 200, "{\"uuid\": \"" JOB "\", \"state\": \"running\"}");
    fake_push (f, 200, "{\"uuid\": \"" JOB "\", \"state\": \"running\"}");
    fake_push (f, 200, "{\"uuid\": \"" JOB "\", \"state\": \"success\"}");
    rep.status = 202;
    cr_assert_eq (vs_json_parse (JOB_LINK, strlen (JOB_LINK), "t", &rep.json),
                  0);
    cr_assert_eq (ontap_async_finish (c, &rep, "x", &oc), 0);
    ontap_reply_release (&rep);
    cr_assert_eq (oc, ONTAP_DONE);
    ontap_client_stats (c, &st);
    cr_assert_eq (sends, 5);
    cr_assert_eq (st.requests, sends);
    cr_assert_eq (sends_outside, 0, "a request was sent while not counted");
    cr_assert_eq (sleeps_outside, 0, "a job poll sleep was not counted");
    /* every request, plus the job wait around its polls */
    cr_assert_eq (vs_busy_ops (&b, VS_BUSY_REST), st.requests + 1);
    cr_assert_eq (b.inflight[VS_BUSY_REST], 0);
    cr_assert_eq (b.inflight[VS_BUSY_ANY], 0);
    end = vs_busy_now_ns ();
    cr_assert_eq (total (&b, VS_BUSY_REST, end + 1000 * MS),
                  total (&b, VS_BUSY_REST, end));
    ontap_client_free (c);
    vs_busy_destroy (&b);
}
