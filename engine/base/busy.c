/* Busy time across threads (busy.h).
 *
 * Per kind, a count of operations outstanding.  When it goes from 0 to
 * 1 a busy period opens; when it falls back to 0 the period closes and
 * its length is added.  The time is read under the lock, so the events
 * are applied in time order and the sum is exactly the measure of the
 * union of the intervals.  VS_BUSY_ANY is the same over all kinds.
 */
#include <time.h>

#include "engine/base/busy.h"

void
vs_busy_init (struct vs_busy *b)
{
    *b = (struct vs_busy) { .inflight = { 0 } };
    pthread_mutex_init (&b->lock, NULL);
}

void
vs_busy_destroy (struct vs_busy *b)
{
    pthread_mutex_destroy (&b->lock);
}

uint64_t
vs_busy_now_ns (void)
{
    struct timespec ts;

    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static void
vs_busy_up (struct vs_busy *b, unsigned i, uint64_t ns)
{
    if (b->inflight[i]++ == 0) {
        b->since_ns[i] = ns;
    }
}

static void
vs_busy_down (struct vs_busy *b, unsigned i, uint64_t ns)
{
    if (b->inflight[i] == 0) {
        return;         /* unbalanced: a leave without its enter */
    }
    if (--b->inflight[i] == 0 && ns > b->since_ns[i]) {
        b->total_ns[i] += ns - b->since_ns[i];
    }
}

static void
vs_busy_enter_locked (struct vs_busy *b, enum vs_busy_kind k, uint64_t ns)
{
    if ((unsigned) k < VS_BUSY_KINDS) {
        b->ops[k]++;
        vs_busy_up (b, k, ns);
        vs_busy_up (b, VS_BUSY_ANY, ns);
    }
}

static void
vs_busy_leave_locked (struct vs_busy *b, enum vs_busy_kind k, uint64_t ns)
{
    if ((unsigned) k < VS_BUSY_KINDS && b->inflight[k] > 0) {
        vs_busy_down (b, k, ns);
        vs_busy_down (b, VS_BUSY_ANY, ns);
    }
}

void
vs_busy_enter_at (struct vs_busy *b, enum vs_busy_kind k, uint64_t ns)
{
    if (b) {
        pthread_mutex_lock (&b->lock);
        vs_busy_enter_locked (b, k, ns);
        pthread_mutex_unlock (&b->lock);
    }
}

void
vs_busy_leave_at (struct vs_busy *b, enum vs_busy_kind k, uint64_t ns)
{
    if (b) {
        pthread_mutex_lock (&b->lock);
        vs_busy_leave_locked (b, k, ns);
        pthread_mutex_unlock (&b->lock);
    }
}

uint64_t
vs_busy_enter (struct vs_busy *b, enum vs_busy_kind k)
{
    uint64_t ns = 0;

    if (b) {
        pthread_mutex_lock (&b->lock);
        ns = vs_busy_now_ns ();
        vs_busy_enter_locked (b, k, ns);
        pthread_mutex_unlock (&b->lock);
    }
    return ns;
}

uint64_t
vs_busy_leave (struct vs_busy *b, enum vs_busy_kind k)
{
    uint64_t ns = 0;

    if (b) {
        pthread_mutex_lock (&b->lock);
        ns = vs_busy_now_ns ();
        vs_busy_leave_locked (b, k, ns);
        pthread_mutex_unlock (&b->lock);
    }
    return ns;
}

uint64_t
vs_busy_total_ns (struct vs_busy *b, enum vs_busy_kind k, uint64_t now_ns)
{
    uint64_t t = 0;

    if (b && (unsigned) k <= VS_BUSY_KINDS) {
        pthread_mutex_lock (&b->lock);
        t = b->total_ns[k];
        if (b->inflight[k] > 0 && now_ns > b->since_ns[k]) {
            t += now_ns - b->since_ns[k];
        }
        pthread_mutex_unlock (&b->lock);
    }
    return t;
}

uint64_t
vs_busy_ops (struct vs_busy *b, enum vs_busy_kind k)
{
    uint64_t n = 0;

    if (b && (unsigned) k < VS_BUSY_KINDS) {
        pthread_mutex_lock (&b->lock);
        n = b->ops[k];
        pthread_mutex_unlock (&b->lock);
    }
    return n;
}
