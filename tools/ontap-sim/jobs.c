/* Asynchronous jobs.  A job is queued for the first quarter of the job
 * duration, running for the rest, and then does its work and ends in
 * success or failure.  Terminal jobs are purged after job_purge_ms
 * (ONTAP: 300 s by default), after which GET answers "entry doesn't
 * exist".  A runner thread drives all of this every few milliseconds. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/base/error.h"
#include "tools/ontap-sim/sim.h"

#define SIM_TICK_MS 5

static pthread_t sim_runner;
static bool sim_runner_started;

const char *
sim_job_state_name (enum sim_job_state s)
{
    static const char *const names[] = { "queued", "running", "success",
                                         "failure" };

    return names[s];
}

struct sim_job *
sim_job_new (enum sim_job_kind kind, const char *descr)
{
    for (size_t i = 0; i < SIM_MAX_JOBS; i++) {
        struct sim_job *j = &sim.jobs[i];

        if (j->used) {
            continue;
        }
        memset (j, 0, sizeof *j);
        j->used = true;
        j->kind = kind;
        j->state = JOB_QUEUED;
        j->created_ms = sim_now_ms ();
        sim_iso_time (j->start_time, sizeof j->start_time);
        sim_uuid_random (j->uuid);
        snprintf (j->description, sizeof j->description, "%s", descr);
        snprintf (j->message, sizeof j->message, "Queued");
        if (sim.set.hide_jobs > 0) {
            sim.set.hide_jobs--;
            j->hidden = true;
        }
        if (sim.set.fail_jobs > 0) {
            sim.set.fail_jobs--;
            j->inject_failure = true;
        }
        sim.cnt.jobs_created++;
        return j;
    }
    return NULL;
}

struct sim_job *
sim_job_find (const char *uuid)
{
    for (size_t i = 0; i < SIM_MAX_JOBS; i++) {
        if (sim.jobs[i].used && !sim.jobs[i].hidden &&
            strcmp (sim.jobs[i].uuid, uuid) == 0) {
            return &sim.jobs[i];
        }
    }
    return NULL;
}

static void
sim_job_release (struct sim_job *j)
{
    free (j->ranges);
    memset (j, 0, sizeof *j);
}

/* The job's actual work; called with the lock held. */
static int
sim_job_work (struct sim_job *j)
{
    struct sim_volume *v = &sim.vols[j->vol];
    char *m = j->message;
    size_t ms = sizeof j->message;
    int r = 0;

    switch (j->kind) {
    case JK_CLONE:
        r = sim_clone_run (v, j, m, ms);
        if (r == 0) {
            sim.cnt.clones++;
            sim.cnt.clone_ranges += j->nranges;
        }
        break;
    case JK_SNAP_CREATE:
        r = sim_snapshot_create (v, j->a, m, ms);
        if (r == 0) {
            struct sim_snap *s;

            sim_snap_refresh (v);
            s = sim_snap_by_name (v, j->a);
            if (s) {
                /* b holds the UUID promised at POST time. */
                memcpy (s->uuid, j->b, SIM_UUID_LEN - 1);
                s->uuid[SIM_UUID_LEN - 1] = '\0';
                snprintf (s->create_time, sizeof s->create_time, "%s",
                          j->start_time);
            }
            sim.cnt.snapshots_created++;
        }
        break;
    case JK_SNAP_DELETE:
        r = sim_snapshot_delete (v, j->a, m, ms);
        if (r == 0) {
            sim_snap_refresh (v);
            sim.cnt.snapshots_deleted++;
        }
        break;
    case JK_SNAP_RENAME:
        r = sim_snapshot_rename (v, j->a, j->b, m, ms);
        break;
    case JK_QTREE_CREATE:
    case JK_QTREE_DELETE:
    case JK_QTREE_MODIFY:
        r = sim_qtree_job (v, j, m, ms);
        break;
    }
    if (r == 0) {
        sim_state_save ();
    }
    return r;
}

static void
sim_job_finish (struct sim_job *j)
{
    int r;

    if (j->inject_failure) {
        r = -EIO;
        j->code = 460770;
        snprintf (j->message, sizeof j->message,
                  "Simulated job failure (fail_jobs)");
    } else {
        j->message[0] = '\0';
        r = sim_job_work (j);
        if (r < 0) {
            j->code = 460770;
            if (j->message[0] == '\0') {
                snprintf (j->message, sizeof j->message, "%s", strerror (-r));
            }
        } else {
            snprintf (j->message, sizeof j->message, "success");
        }
    }
    j->state = r < 0 ? JOB_FAILURE : JOB_SUCCESS;
    if (r < 0) {
        sim.cnt.jobs_failed++;
    }
    j->ended_ms = sim_now_ms ();
    sim_iso_time (j->end_time, sizeof j->end_time);
}

static void
sim_job_step (struct sim_job *j, uint64_t now)
{
    uint64_t age = now - j->created_ms;
    uint64_t dur = sim.set.job_duration_ms;

    if (j->state == JOB_QUEUED && age >= dur / 4) {
        j->state = JOB_RUNNING;
        snprintf (j->message, sizeof j->message, "Running");
    }
    if (j->state == JOB_RUNNING && age >= dur) {
        sim_job_finish (j);
    }
    /* ended_ms may be later than now: the work itself takes time. */
    if ((j->state == JOB_SUCCESS || j->state == JOB_FAILURE) &&
        now >= j->ended_ms && now - j->ended_ms >= sim.set.job_purge_ms) {
        sim_job_release (j);
        sim.cnt.jobs_purged++;
    }
}

static void *
sim_runner_main (void *arg)
{
    struct timespec tick = { 0, SIM_TICK_MS * 1000000L };

    (void) arg;
    pthread_mutex_lock (&sim.lock);
    while (!sim.stopping) {
        uint64_t now = sim_now_ms ();
        bool changed = false;

        for (size_t i = 0; i < SIM_MAX_JOBS; i++) {
            if (sim.jobs[i].used) {
                enum sim_job_state before = sim.jobs[i].state;

                sim_job_step (&sim.jobs[i], now);
                changed |= !sim.jobs[i].used || sim.jobs[i].state != before;
            }
        }
        if (changed) {
            pthread_cond_broadcast (&sim.job_cond);
        }
        pthread_mutex_unlock (&sim.lock);
        nanosleep (&tick, NULL);
        pthread_mutex_lock (&sim.lock);
    }
    pthread_mutex_unlock (&sim.lock);
    return NULL;
}

int
sim_jobs_start (void)
{
    sim.jobs = calloc (SIM_MAX_JOBS, sizeof *sim.jobs);
    if (sim.jobs == NULL) {
        return set_error (ENOMEM, "out of memory for the job table");
    }
    if (pthread_create (&sim_runner, NULL, sim_runner_main, NULL) != 0) {
        return set_error (EAGAIN, "cannot start the job runner thread");
    }
    sim_runner_started = true;
    return 0;
}

void
sim_jobs_stop (void)
{
    pthread_mutex_lock (&sim.lock);
    sim.stopping = true;
    pthread_cond_broadcast (&sim.job_cond);
    pthread_mutex_unlock (&sim.lock);
    if (sim_runner_started) {
        pthread_join (sim_runner, NULL);
    }
    for (size_t i = 0; sim.jobs && i < SIM_MAX_JOBS; i++) {
        sim_job_release (&sim.jobs[i]);
    }
    free (sim.jobs);
    sim.jobs = NULL;
}

void
sim_job_link (struct jsonw *w, const struct sim_job *j)
{
    char href[96];

    snprintf (href, sizeof href, "/api/cluster/jobs/%s", j->uuid);
    vs_jw_key (w, "job");
    vs_jw_obj_begin (w);
    vs_jw_kv_str (w, "uuid", j->uuid);
    vs_jw_key (w, "_links");
    vs_jw_obj_begin (w);
    vs_jw_key (w, "self");
    vs_jw_obj_begin (w);
    vs_jw_kv_str (w, "href", href);
    vs_jw_obj_end (w);
    vs_jw_obj_end (w);
    vs_jw_obj_end (w);
}

void
sim_job_record (struct jsonw *w, const struct sim_job *j)
{
    char href[96];

    snprintf (href, sizeof href, "/api/cluster/jobs/%s", j->uuid);
    vs_jw_obj_begin (w);
    vs_jw_kv_str (w, "uuid", j->uuid);
    vs_jw_kv_str (w, "description", j->description);
    vs_jw_kv_str (w, "state", sim_job_state_name (j->state));
    vs_jw_kv_str (w, "message", j->message);
    vs_jw_kv_i64 (w, "code", j->code);
    vs_jw_kv_str (w, "start_time", j->start_time);
    if (j->state == JOB_SUCCESS || j->state == JOB_FAILURE) {
        vs_jw_kv_str (w, "end_time", j->end_time);
    }
    vs_jw_key (w, "svm");
    sim_svm_ref (w);
    vs_jw_key (w, "_links");
    vs_jw_obj_begin (w);
    vs_jw_key (w, "self");
    vs_jw_obj_begin (w);
    vs_jw_kv_str (w, "href", href);
    vs_jw_obj_end (w);
    vs_jw_obj_end (w);
    vs_jw_obj_end (w);
}
