/* A run store filter that adds up the wall time spent in the store, so a
 * job run can report how much of it the store took (seconds_store in
 * the run record; README, "Performance").  It forwards every op to the
 * store it wraps through the checked wrappers of store.c, like a backend
 * filter (engine/backend/backend.h) wraps its next backend.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "engine/base/error.h"
#include "engine/exec/exec.h"
#include "engine/jobs/jobint.h"

struct timed_store {
    struct wf_store s;          /* first: the wrapper is a wf_store */
    struct wf_store *inner;
    double seconds;
};

#define TS_CALL(s, call) do { \
        struct timed_store *ts_ = (struct timed_store *) (s); \
        struct wf_store *in_ = ts_->inner; \
        double t0_ = vs_exec_now (); \
        int r_ = (call); \
        ts_->seconds += vs_exec_now () - t0_; \
        return r_; \
    } while (0)

static void
ts_close (struct wf_store *s)
{
    struct timed_store *ts = (struct timed_store *) s;

    wf_store_close (ts->inner);
    free (ts);
}

static int ts_schema_version (struct wf_store *s, int *v)
{ TS_CALL (s, wf_store_schema_version (in_, v)); }
static int ts_begin (struct wf_store *s) { TS_CALL (s, wf_store_begin (in_)); }
static int ts_commit (struct wf_store *s) { TS_CALL (s, wf_store_commit (in_)); }
static int ts_rollback (struct wf_store *s)
{ TS_CALL (s, wf_store_rollback (in_)); }
static int ts_run_create (struct wf_store *s, struct wf_run_rec *r)
{ TS_CALL (s, wf_run_create (in_, r)); }
static int ts_run_get (struct wf_store *s, int64_t id, struct wf_run_rec *r)
{ TS_CALL (s, wf_run_get (in_, id, r)); }
static int ts_run_set_state (struct wf_store *s, int64_t id, const char *st,
                             const char *d)
{ TS_CALL (s, wf_run_set_state (in_, id, st, d)); }
static int ts_run_set_owner (struct wf_store *s, int64_t id, const char *o)
{ TS_CALL (s, wf_run_set_owner (in_, id, o)); }
static int ts_run_request_abort (struct wf_store *s, int64_t id)
{ TS_CALL (s, wf_run_request_abort (in_, id)); }
static int ts_run_list (struct wf_store *s, const char *kind, wf_run_cb cb,
                        void *op)
{ TS_CALL (s, wf_run_list (in_, kind, cb, op)); }
static int ts_item_put (struct wf_store *s, int64_t id, const char *item,
                        const char *st, const char *d)
{ TS_CALL (s, wf_item_put (in_, id, item, st, d)); }
static int ts_item_list (struct wf_store *s, int64_t id, wf_item_cb cb,
                         void *op)
{ TS_CALL (s, wf_item_list (in_, id, cb, op)); }
static int ts_journal_intent (struct wf_store *s, int64_t id,
                              const char *item, const char *step,
                              const char *intent, int64_t *seq)
{ TS_CALL (s, wf_journal_intent (in_, id, item, step, intent, seq)); }
static int ts_journal_finish (struct wf_store *s, int64_t seq,
                              enum wf_journal_status st, const char *res)
{ TS_CALL (s, wf_journal_finish (in_, seq, st, res)); }
static int ts_journal_list (struct wf_store *s, int64_t id, wf_journal_cb cb,
                            void *op)
{ TS_CALL (s, wf_journal_list (in_, id, cb, op)); }
static int ts_lease_acquire (struct wf_store *s, const char *key, int64_t id,
                             const char *owner, int ttl,
                             struct wf_lease_rec *h)
{ TS_CALL (s, wf_lease_acquire (in_, key, id, owner, ttl, h)); }
static int ts_lease_steal (struct wf_store *s, const char *key,
                           const char *exp, int64_t id, const char *owner,
                           int ttl)
{ TS_CALL (s, wf_lease_steal (in_, key, exp, id, owner, ttl)); }
static int ts_lease_release (struct wf_store *s, const char *key, int64_t id)
{ TS_CALL (s, wf_lease_release (in_, key, id)); }
static int ts_lease_get (struct wf_store *s, const char *key,
                         struct wf_lease_rec *out)
{ TS_CALL (s, wf_lease_get (in_, key, out)); }
static int ts_lease_renew (struct wf_store *s, const char *key, int64_t id,
                           const char *owner, int ttl)
{ TS_CALL (s, wf_lease_renew (in_, key, id, owner, ttl)); }
static int ts_store_id (struct wf_store *s, const char **id)
{ TS_CALL (s, wf_store_id (in_, id)); }
static int ts_event_add (struct wf_store *s, int64_t id, const char *json)
{ TS_CALL (s, wf_event_add (in_, id, json)); }
static int ts_event_list (struct wf_store *s, int64_t id, int64_t after,
                          wf_event_cb cb, void *op)
{ TS_CALL (s, wf_event_list (in_, id, after, cb, op)); }

static const struct wf_store_ops ts_ops = {
    .struct_size = sizeof (struct wf_store_ops),
    .name = "timed",
    .close = ts_close,
    .schema_version = ts_schema_version,
    .begin = ts_begin,
    .commit = ts_commit,
    .rollback = ts_rollback,
    .run_create = ts_run_create,
    .run_get = ts_run_get,
    .run_set_state = ts_run_set_state,
    .run_set_owner = ts_run_set_owner,
    .run_request_abort = ts_run_request_abort,
    .run_list = ts_run_list,
    .item_put = ts_item_put,
    .item_list = ts_item_list,
    .journal_intent = ts_journal_intent,
    .journal_finish = ts_journal_finish,
    .journal_list = ts_journal_list,
    .lease_acquire = ts_lease_acquire,
    .lease_steal = ts_lease_steal,
    .lease_release = ts_lease_release,
    .lease_get = ts_lease_get,
    .event_add = ts_event_add,
    .event_list = ts_event_list,
    .lease_renew = ts_lease_renew,
    .store_id = ts_store_id,
};

int
job_store_timed (struct wf_store *inner, struct wf_store **out)
{
    struct timed_store *ts = calloc (1, sizeof *ts);

    if (ts == NULL) {
        wf_store_close (inner);
        return set_error (ENOMEM, "out of memory");
    }
    ts->s.ops = &ts_ops;
    ts->inner = inner;
    *out = &ts->s;
    return 0;
}

double
job_store_seconds (struct wf_store *s)
{
    return s && s->ops == &ts_ops ? ((struct timed_store *) s)->seconds : 0;
}
