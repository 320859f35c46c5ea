/* Internal: the public job handle around a parsed job file. */
#ifndef VMSHIFT_JOBS_JOBINT_H
#define VMSHIFT_JOBS_JOBINT_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/base/sbuf.h"
#include "engine/jobs/job.h"
#include "engine/location.h"
#include "engine/workflow/store.h"

struct vmshift_job {
    struct job_def *def;
    struct vmshift_handle *h;   /* borrowed: the handle that loaded it */
};

/* units.c: -EINVAL unless o was set up by vmshift_job_unit_opts_init. */
int job_unit_opts_check (const struct vmshift_job_unit_opts *o);
/* install.c: run argv (no shell), its stdout and stderr into *out
 * (caller frees); the exit status, or -errno if it could not run. */
int job_run_tool (const char *const *argv, char **out);

/* ---------------------------------------------------------------- runs */

struct wf_store;
struct job_beat;
struct json_val;

/* A conversion's files besides its target: a VMDK target's extent, a
 * qcow2 external data file (whatever the format makes; from the
 * conversion's result, never from the format's name). */
#define JOB_MAX_OTHERS 3

struct jr_other {
    char *target;               /* location */
    uint64_t fileid;            /* of the file made; 0 = unknown */
};

struct jr_disk {
    char *source;               /* location read (the live name) */
    char *target;               /* location written */
    char *rel;                  /* target below target.location */
    bool ok;
    bool existed;               /* the target existed before the run */
    uint64_t shared, copied;
    uint64_t fileid;            /* of the target made, 0 = unknown */
    char *err;
    int64_t seq;                /* journal entry of the convert */
    struct jr_other others[JOB_MAX_OTHERS];
    size_t n_others;
};

struct job_run {
    struct vmshift_handle *h;
    const struct job_def *d;
    struct wf_store *st;
    struct wf_run_rec run;
    char owner[320];
    int64_t start, end;
    double t_start, t_end;      /* monotonic, for seconds */
    uint64_t generation;
    struct loc_handle tgt;      /* target.location opened */
    bool tgt_open;
    char snap_name[300];
    char snap_uuid[72];         /* of the snapshot made, "" = none */
    int64_t snap_t;             /* when its intent was journalled */
    bool snap_made;
    bool leased;
    struct job_beat *beat;      /* the lease heartbeat, once leased */
    bool lost;                  /* the lease was lost: undo, record none */
    struct jr_disk *disks;
    size_t n;
    uint64_t shared, copied;
    size_t failed;
    struct sbuf deleted;        /* JSON objects, comma separated */
    struct sbuf repaired;       /* run ids, comma separated */
    char error[1024];
};

/* One earlier run of the job, from the store. */
struct job_past {
    int64_t id;
    char *state;
    char *owner;                /* "host:pid" or NULL */
    char *detail_text;
    struct json_val *detail;    /* NULL if none or unparsable */
    uint64_t generation;
    int64_t start, end;
};
struct job_pasts {
    struct job_past *v;
    size_t n;
};
int job_pasts_load (struct wf_store *st, const char *name,
                    struct job_pasts *out);
void job_pasts_free (struct job_pasts *p);

/* heartbeat.c: renew the run's lease (key) every lease_ttl / 4 from a
 * thread with its own handle to the store named by spec; check at a safe
 * point (0, or -ESTALE with a message and jr->lost set once the lease
 * was lost); stop before the lease is released. */
int job_beat_start (struct job_run *jr, const char *spec, const char *key);
int job_beat_check (struct job_run *jr);
void job_beat_stop (struct job_run *jr);
/* run.c */
char *job_run_detail (const struct job_run *jr, const char *state);
/* prune.c */
int job_repair (struct job_run *jr);
int job_next_generation (struct job_run *jr);
int job_prune (struct job_run *jr);
void job_abandon (struct job_run *jr);
void job_target_fileid (struct job_run *jr, struct jr_disk *dk);
/* The file id of the file at a target location; 0 if unknown. */
uint64_t job_fileid (struct job_run *jr, const char *target);
/* Delete a disk's target and its other files as one journalled batch;
 * the others only when the target went too (or was gone already). */
int job_delete_disk (struct job_run *jr, const struct jr_disk *dk,
                     uint64_t generation, const char *why);
int job_target_exists (struct job_run *jr, const char *target);
int job_delete_target (struct job_run *jr, const char *target,
                       uint64_t fileid, uint64_t generation, const char *why);
/* A snapshot a job made, as its record knows it: by the UUID recorded
 * when it was made; a record without one (an older version's, a create
 * whose result was never journalled) by its name, and only if it was
 * made between lo and hi (seconds since the epoch, allowing for clocks
 * that differ: JOB_SNAP_SKEW), the window in which the run could have
 * made it (docs/jobs.md, "Snapshot names"). */
struct job_snap_id {
    const char *name;
    const char *uuid;           /* NULL or "": not recorded */
    int64_t lo, hi;             /* without a uuid; hi 0: no upper bound */
};
#define JOB_SNAP_SKEW 120
/* 0 deleted (or gone already), 1 left alone: not the snapshot the job
 * made (warned), or not known to be; -errno when the delete failed
 * (warned).  No error is left set. */
int job_snapshot_delete (struct job_run *jr, const struct job_snap_id *id);
/* job_snapshot_delete, journalled in the run, noted in its record when
 * deleted; the same result. */
int job_snapshot_drop (struct job_run *jr, const struct job_snap_id *id,
                       uint64_t generation, const char *why);
/* timed-store.c: wrap a store (taking it, also on failure) so the time
 * spent in it adds up; job_store_seconds reads the sum (0 for a store
 * that is not wrapped). */
int job_store_timed (struct wf_store *inner, struct wf_store **out);
double job_store_seconds (struct wf_store *s);
/* history.c */
int job_metrics_write (struct wf_store *st, const char *name,
                       const char *dir, int64_t duration);

#endif
