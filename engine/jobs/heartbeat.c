/* The lease heartbeat of a job run (docs/jobs.md, "Leases").
 *
 * A run holds the lease "job:NAME" for lease_ttl seconds at a time and
 * renews it every quarter of that, so a runner that dies (kill -9, a
 * power cut, on any host) lets the job go within lease_ttl.  The
 * renewals come from a small thread with a store handle of its own: a
 * handle is used by one thread at a time (docs/internals/store.md), and
 * the run's own steps (a conversion can take long) have no progress
 * points to renew from.  The thread only renews and records the outcome;
 * the run reads it at its safe points (job_beat_check) and stops there
 * when the lease was lost, so nothing a run does after losing it is
 * recorded as good.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/base/error.h"
#include "engine/exec/exec.h"
#include "engine/jobs/jobint.h"

struct job_beat {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;          /* CLOCK_MONOTONIC */
    struct wf_store *st;        /* the thread's own handle */
    char key[128];
    char owner[320];
    int64_t run_id;
    int ttl;
    /* under mu */
    bool stop;
    bool lost;
    double last_ok;             /* monotonic time of the last renewal sent */
    char why[512];
};

/* Wait a quarter of the ttl, or until told to stop; true to go on. */
static bool
beat_wait (struct job_beat *b)
{
    struct timespec dl;
    long ms = (long) b->ttl * 1000 / 4;
    int rc = 0;

    clock_gettime (CLOCK_MONOTONIC, &dl);
    dl.tv_sec += ms / 1000;
    dl.tv_nsec += (ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    while (!b->stop && rc != ETIMEDOUT) {
        rc = pthread_cond_timedwait (&b->cv, &b->mu, &dl);
    }
    return !b->stop;
}

static void *
beat_main (void *opaque)
{
    struct job_beat *b = opaque;

    pthread_mutex_lock (&b->mu);
    while (beat_wait (b)) {
        double t0 = vs_exec_now ();
        int r;

        pthread_mutex_unlock (&b->mu);
        r = wf_lease_renew (b->st, b->key, b->run_id, b->owner, b->ttl);
        pthread_mutex_lock (&b->mu);
        if (r == 0) {
            b->last_ok = t0;
        } else if (r == -EBUSY) {
            /* taken over: another runner found it expired */
            b->lost = true;
            snprintf (b->why, sizeof b->why, "%s",
                      vmshift_internal_error_msg ());
        } else if (vs_exec_now () - b->last_ok >= b->ttl) {
            /* the store did not answer for a whole ttl: another runner
             * may have taken the lease, so this one no longer counts on
             * it */
            b->lost = true;
            snprintf (b->why, sizeof b->why, "not renewed for %d s: %s",
                      b->ttl, vmshift_internal_error_msg ());
        }
        clear_error ();
        if (b->lost) {
            break;
        }
        /* else a passing error: the next renewal may get through */
    }
    pthread_mutex_unlock (&b->mu);
    return NULL;
}

int
job_beat_start (struct job_run *jr, const char *spec, const char *key)
{
    struct job_beat *b = calloc (1, sizeof *b);
    pthread_condattr_t ca;
    int r;

    if (b == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    if ((r = wf_store_open (spec, &b->st)) < 0) {
        error_prepend ("run store (lease heartbeat): ");
        free (b);
        return r;
    }
    snprintf (b->key, sizeof b->key, "%s", key);
    snprintf (b->owner, sizeof b->owner, "%s", jr->owner);
    b->run_id = jr->run.id;
    b->ttl = (int) jr->d->lease_ttl;
    b->last_ok = vs_exec_now ();
    pthread_mutex_init (&b->mu, NULL);
    pthread_condattr_init (&ca);
    pthread_condattr_setclock (&ca, CLOCK_MONOTONIC);
    pthread_cond_init (&b->cv, &ca);
    pthread_condattr_destroy (&ca);
    if ((r = pthread_create (&b->thread, NULL, beat_main, b)) != 0) {
        pthread_cond_destroy (&b->cv);
        pthread_mutex_destroy (&b->mu);
        wf_store_close (b->st);
        free (b);
        return set_error (r, "cannot start the lease heartbeat");
    }
    jr->beat = b;
    return 0;
}

/* A safe point: 0 while the lease is ours, else -ESTALE naming why. */
int
job_beat_check (struct job_run *jr)
{
    struct job_beat *b = jr->beat;
    char why[512];
    bool lost;

    if (b == NULL) {
        return 0;
    }
    pthread_mutex_lock (&b->mu);
    /* the thread may be stuck in a store that does not answer */
    if (!b->lost && vs_exec_now () - b->last_ok >= b->ttl) {
        b->lost = true;
        snprintf (b->why, sizeof b->why, "not renewed for %d s", b->ttl);
    }
    lost = b->lost;
    snprintf (why, sizeof why, "%s", b->why);
    pthread_mutex_unlock (&b->mu);
    if (!lost) {
        return 0;
    }
    jr->lost = true;
    return set_error (ESTALE, "job '%s': run %" PRId64 " lost the lease "
                      "'%s' (%s); it stops here and undoes what it made",
                      jr->d->name, jr->run.id, b->key, why);
}

void
job_beat_stop (struct job_run *jr)
{
    struct job_beat *b = jr->beat;

    if (b == NULL) {
        return;
    }
    pthread_mutex_lock (&b->mu);
    b->stop = true;
    pthread_cond_signal (&b->cv);
    pthread_mutex_unlock (&b->mu);
    pthread_join (b->thread, NULL);
    pthread_cond_destroy (&b->cv);
    pthread_mutex_destroy (&b->mu);
    wf_store_close (b->st);
    free (b);
    jr->beat = NULL;
}
