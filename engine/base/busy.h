/* Busy time: how long at least one operation of a kind was outstanding,
 * across threads (the union of the operations' intervals), on
 * CLOCK_MONOTONIC.
 *
 * The ONTAP conversion counts its REST requests (and job waits) and its
 * NFS calls with one of these, so that a run's wall time splits into
 * time spent waiting for the storage system and the host's own time
 * (docs/internals/ontap-flow.md, "Where the time goes").
 *
 * Cheap by design: one mutex, a counter per kind and a clock read per
 * event.  A NULL tracker is allowed everywhere and does nothing.
 */
#ifndef VMSHIFT_BASE_BUSY_H
#define VMSHIFT_BASE_BUSY_H

#include <pthread.h>
#include <stdint.h>

enum vs_busy_kind {
    VS_BUSY_REST = 0,           /* an ONTAP REST request or job wait */
    VS_BUSY_NFS,                /* an NFS call */
    VS_BUSY_KINDS,
    VS_BUSY_ANY = VS_BUSY_KINDS /* either (a reading, not an event) */
};

struct vs_busy {
    pthread_mutex_t lock;
    unsigned inflight[VS_BUSY_KINDS + 1];
    uint64_t since_ns[VS_BUSY_KINDS + 1];       /* when inflight left 0 */
    uint64_t total_ns[VS_BUSY_KINDS + 1];       /* closed busy periods */
    uint64_t ops[VS_BUSY_KINDS];                /* operations begun */
};

void vs_busy_init (struct vs_busy *b);
void vs_busy_destroy (struct vs_busy *b);
uint64_t vs_busy_now_ns (void);                 /* CLOCK_MONOTONIC */
/* An operation of kind k begins or ends (nesting and overlap, in one
 * thread or many, are fine: only the moments when nothing of a kind is
 * outstanding end its busy period).  Each returns the time it used,
 * read under the lock, so the events are in time order. */
uint64_t vs_busy_enter (struct vs_busy *b, enum vs_busy_kind k);
uint64_t vs_busy_leave (struct vs_busy *b, enum vs_busy_kind k);
/* The same at a given time (tests); times must not go backwards. */
void vs_busy_enter_at (struct vs_busy *b, enum vs_busy_kind k, uint64_t ns);
void vs_busy_leave_at (struct vs_busy *b, enum vs_busy_kind k, uint64_t ns);
/* Busy nanoseconds of kind k (or VS_BUSY_ANY) up to now_ns, a period
 * still open counting up to now_ns. */
uint64_t vs_busy_total_ns (struct vs_busy *b, enum vs_busy_kind k,
                           uint64_t now_ns);
uint64_t vs_busy_ops (struct vs_busy *b, enum vs_busy_kind k);

#endif
