/* Public entry points for jobs: loading and describing a job file, and
 * the calendar (engine/vmshift.h, "jobs"). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/base/error.h"
#include "engine/base/jsonw.h"
#include "engine/base/sbuf.h"
#include "engine/handle.h"
#include "engine/jobs/job.h"
#include "engine/jobs/jobint.h"

#define JOB_DESCRIBE_MAX (4 * 1024 * 1024)

static const char *
job_format_name (enum vmshift_format f)
{
    const char *n = vmshift_format_name (f);

    return n ? n : "auto";
}

int
vmshift_job_load (struct vmshift_handle *h, const char *file,
                  struct vmshift_job **job)
{
    struct vmshift_job *j;
    int r;

    vs_api_enter (h);
    if (file == NULL || job == NULL) {
        return set_error (EINVAL, "vmshift_job_load: NULL argument");
    }
    j = calloc (1, sizeof *j);
    if (j == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    r = job_load (file, &j->def);
    if (r < 0) {
        free (j);
        return r;
    }
    j->h = h;
    *job = j;
    return 0;
}

void
vmshift_job_free (struct vmshift_job *job)
{
    if (job) {
        job_free (job->def);
        free (job);
    }
}

const char *
vmshift_job_name (const struct vmshift_job *job)
{
    return job->def->name;
}

const char *
vmshift_job_store (const struct vmshift_job *job)
{
    return job->def->store;
}

static void
job_describe_json (struct jsonw *w, const struct job_def *d, int64_t next)
{
    vs_jw_obj_begin (w);
    vs_jw_kv_str (w, "name", d->name);
    vs_jw_kv_str (w, "schedule", d->schedule);
    vs_jw_kv_str (w, "timezone", d->timezone);
    if (next > 0) {
        vs_jw_kv_i64 (w, "next_utc", next);
    }
    vs_jw_kv_u64 (w, "randomized_delay_seconds", d->randomized_delay);
    vs_jw_key (w, "source");
    vs_jw_obj_begin (w);
    vs_jw_key (w, "disks");
    vs_jw_arr_begin (w);
    for (size_t i = 0; i < d->n_disks; i++) {
        vs_jw_str (w, d->disks[i]);
    }
    vs_jw_arr_end (w);
    vs_jw_key (w, "vms");
    vs_jw_arr_begin (w);
    for (size_t i = 0; i < d->n_vms; i++) {
        vs_jw_str (w, d->vms[i]);
    }
    vs_jw_arr_end (w);
    vs_jw_obj_end (w);
    vs_jw_key (w, "target");
    vs_jw_obj_begin (w);
    vs_jw_kv_str (w, "location", d->location);
    vs_jw_kv_str (w, "name", d->pattern);
    vs_jw_kv_str (w, "format", job_format_name (d->format));
    vs_jw_obj_end (w);
    vs_jw_kv_bool (w, "on_ontap", d->on_ontap);
    vs_jw_key (w, "retention");
    vs_jw_obj_begin (w);
    vs_jw_kv_u64 (w, "keep_last", d->retention.keep_last);
    vs_jw_kv_u64 (w, "max_age_seconds", d->retention.max_age);
    vs_jw_obj_end (w);
    vs_jw_kv_bool (w, "keep_snapshot", d->keep_snapshot);
    if (d->keep_snapshot) {
        vs_jw_key (w, "snapshot_retention");
        vs_jw_obj_begin (w);
        vs_jw_kv_u64 (w, "keep_last", d->snapshot_retention.keep_last);
        vs_jw_kv_u64 (w, "max_age_seconds", d->snapshot_retention.max_age);
        vs_jw_obj_end (w);
    }
    vs_jw_kv_u64 (w, "concurrency", d->concurrency);
    vs_jw_kv_bool (w, "keep_partial", d->keep_partial);
    vs_jw_kv_str (w, "store", d->store);
    vs_jw_kv_str (w, "config", d->config);
    vs_jw_obj_end (w);
}

static void
job_describe_text (struct sbuf *b, const struct job_def *d, int64_t next)
{
    vs_sbuf_printf (b, "job:       %s\n", d->name);
    vs_sbuf_printf (b, "schedule:  %s (%s)\n", d->schedule, d->timezone);
    if (next > 0) {
        struct tm tm;
        time_t t = (time_t) next;

        if (gmtime_r (&t, &tm)) {
            vs_sbuf_printf (b, "next run:  %04d-%02d-%02d %02d:%02d:%02d "
                            "UTC\n", tm.tm_year + 1900, tm.tm_mon + 1,
                            tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        }
    }
    for (size_t i = 0; i < d->n_disks; i++) {
        vs_sbuf_printf (b, "disk:      %s\n", d->disks[i]);
    }
    for (size_t i = 0; i < d->n_vms; i++) {
        vs_sbuf_printf (b, "vm:        %s\n", d->vms[i]);
    }
    vs_sbuf_printf (b, "target:    %s/%s (%s)\n", d->location, d->pattern,
                    job_format_name (d->format));
    vs_sbuf_printf (b, "retention: keep_last %llu, max_age %llu s\n",
                    (unsigned long long) d->retention.keep_last,
                    (unsigned long long) d->retention.max_age);
    if (d->keep_snapshot) {
        vs_sbuf_printf (b, "snapshots: kept; keep_last %llu, max_age %llu s\n",
                        (unsigned long long) d->snapshot_retention.keep_last,
                        (unsigned long long) d->snapshot_retention.max_age);
    }
    vs_sbuf_printf (b, "parallel:  %u disks at once%s\n", d->concurrency,
                    d->keep_partial ? ", partial generations kept" : "");
}

char *
vmshift_job_describe (const struct vmshift_job *job, int json)
{
    const struct job_def *d = job->def;
    struct sbuf b;
    int64_t next = 0;

    clear_error ();
    /* The next run is only printed where it can be computed: UTC. */
    if (strcmp (d->timezone, "UTC") == 0 &&
        job_calendar_next_utc (&d->cal, (int64_t) time (NULL), &next) < 0) {
        next = 0;
        clear_error ();
    }
    vs_sbuf_init (&b, JOB_DESCRIBE_MAX);
    if (json) {
        struct jsonw w;

        vs_jw_init (&w, &b, true);
        job_describe_json (&w, d, next);
        vs_sbuf_addch (&b, '\n');
    } else {
        job_describe_text (&b, d, next);
    }
    return vs_sbuf_detach (&b, NULL);
}

int
vmshift_calendar_next (struct vmshift_handle *h, const char *expr,
                       int64_t after, int64_t *next)
{
    struct job_cal c;
    int r;

    vs_api_enter (h);
    if (expr == NULL || next == NULL) {
        return set_error (EINVAL, "vmshift_calendar_next: NULL argument");
    }
    r = job_calendar_parse (expr, &c);
    if (r < 0) {
        return r;
    }
    return job_calendar_next_utc (&c, after, next);
}
