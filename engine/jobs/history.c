/* vmshift job history | list, and the Prometheus textfile (docs/jobs.md,
 * "History and monitoring").  Everything comes from the run store: each
 * job run's record (kind "job") holds its generation, times, result, the
 * bytes shared and copied per disk, and what it deleted.
 *
 * Textfile format: the Prometheus text exposition format
 * (https://prometheus.io/docs/instrumenting/exposition_formats/), read
 * by node_exporter's textfile collector; written to a temporary file in
 * the same folder and renamed, so the collector never reads half a file.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/base/error.h"
#include "engine/base/json.h"
#include "engine/base/jsonw.h"
#include "engine/base/sbuf.h"
#include "engine/handle.h"
#include "engine/jobs/jobint.h"

#define JOB_HISTORY_MAX (64 * 1024 * 1024)

static void
hist_time (char *buf, size_t n, int64_t t)
{
    time_t tt = (time_t) t;
    struct tm tm;

    if (t <= 0 || gmtime_r (&tt, &tm) == NULL) {
        snprintf (buf, n, "-");
        return;
    }
    strftime (buf, n, "%Y-%m-%d %H:%M:%S", &tm);
}

static uint64_t
hist_u64 (const struct job_past *p, const char *key)
{
    uint64_t v = 0;

    if (p->detail) {
        vs_json_opt_u64 (p->detail, key, &v);
        clear_error ();
    }
    return v;
}

static void
hist_text_one (struct sbuf *b, const struct job_past *p)
{
    const struct json_val *del = vs_json_get (p->detail, "deleted");
    char t0[32], t1[32];

    hist_time (t0, sizeof t0, p->start);
    hist_time (t1, sizeof t1, p->end);
    vs_sbuf_printf (b, "run %" PRId64 "  generation %" PRIu64 "  %s .. %s "
                    "UTC  %s  shared %" PRIu64 "  copied %" PRIu64 "\n",
                    p->id, p->generation, t0, t1, p->state,
                    hist_u64 (p, "bytes_shared"),
                    hist_u64 (p, "bytes_copied"));
    for (size_t i = 0; i < vs_json_array_len (del); i++) {
        const struct json_val *d = vs_json_array_at (del, i);
        const char *what = vs_json_string_value (vs_json_get (d, "what"));
        const char *name = vs_json_string_value (vs_json_get (d, "name"));
        const char *why = vs_json_string_value (vs_json_get (d, "why"));

        vs_sbuf_printf (b, "    deleted %s %s (%s)\n", what ? what : "?",
                        name ? name : "?", why ? why : "?");
    }
}

int
vmshift_job_history (struct vmshift_handle *h, const char *store,
                     const char *name, int json, char **text)
{
    struct wf_store *st = NULL;
    struct job_pasts p;
    struct sbuf b;
    int r;

    vs_api_enter (h);
    if ((r = wf_store_open (store, &st)) < 0) {
        error_prepend ("run store: ");
        return r;
    }
    r = job_pasts_load (st, name, &p);
    wf_store_close (st);
    if (r < 0) {
        return r;
    }
    vs_sbuf_init (&b, JOB_HISTORY_MAX);
    if (json) {
        struct jsonw w;

        vs_jw_init (&w, &b, true);
        vs_jw_arr_begin (&w);
        for (size_t i = 0; i < p.n; i++) {
            vs_jw_obj_begin (&w);
            vs_jw_kv_i64 (&w, "run", p.v[i].id);
            vs_jw_kv_str (&w, "state", p.v[i].state);
            vs_jw_key (&w, "record");
            if (p.v[i].detail_text && p.v[i].detail) {
                vs_jw_raw (&w, p.v[i].detail_text);
            } else {
                vs_jw_null (&w);
            }
            vs_jw_obj_end (&w);
        }
        vs_jw_arr_end (&w);
        vs_sbuf_addch (&b, '\n');
    } else {
        for (size_t i = 0; i < p.n; i++) {
            hist_text_one (&b, &p.v[i]);
        }
    }
    job_pasts_free (&p);
    *text = vs_sbuf_detach (&b, NULL);
    return *text ? 0 : set_error (ENOMEM, "out of memory");
}

struct list_ctx {
    struct sbuf *b;
    struct jsonw *w;
    char **seen;
    size_t n;
};

/* Runs come newest first: the first run of each name is its last. */
static int
list_cb (void *opaque, const struct wf_run_rec *r)
{
    struct list_ctx *c = opaque;
    char **ns;
    char t[32];

    for (size_t i = 0; i < c->n; i++) {
        if (strcmp (c->seen[i], r->name) == 0) {
            return 0;
        }
    }
    ns = realloc (c->seen, (c->n + 1) * sizeof *ns);
    if (ns == NULL || (ns[c->n] = strdup (r->name)) == NULL) {
        c->seen = ns ? ns : c->seen;
        return set_error (ENOMEM, "out of memory");
    }
    c->seen = ns;
    c->n++;
    if (c->w) {
        vs_jw_obj_begin (c->w);
        vs_jw_kv_str (c->w, "job", r->name);
        vs_jw_kv_i64 (c->w, "last_run", r->id);
        vs_jw_kv_str (c->w, "last_state", r->state);
        vs_jw_kv_i64 (c->w, "last_updated", r->updated);
        vs_jw_obj_end (c->w);
    } else {
        hist_time (t, sizeof t, r->updated);
        vs_sbuf_printf (c->b, "%-32s last run %" PRId64 " %s (%s UTC)\n",
                        r->name, r->id, r->state, t);
    }
    return 0;
}

int
vmshift_job_list (struct vmshift_handle *h, const char *store, int json,
                  char **text)
{
    struct wf_store *st = NULL;
    struct sbuf b;
    struct jsonw w;
    struct list_ctx c = { .b = &b };
    int r;

    vs_api_enter (h);
    if ((r = wf_store_open (store, &st)) < 0) {
        error_prepend ("run store: ");
        return r;
    }
    vs_sbuf_init (&b, JOB_HISTORY_MAX);
    if (json) {
        vs_jw_init (&w, &b, true);
        vs_jw_arr_begin (&w);
        c.w = &w;
    }
    r = wf_run_list (st, "job", list_cb, &c);
    wf_store_close (st);
    if (json) {
        vs_jw_arr_end (&w);
        vs_sbuf_addch (&b, '\n');
    }
    for (size_t i = 0; i < c.n; i++) {
        free (c.seen[i]);
    }
    free (c.seen);
    if (r < 0) {
        vs_sbuf_release (&b);
        return r;
    }
    *text = vs_sbuf_detach (&b, NULL);
    return *text ? 0 : set_error (ENOMEM, "out of memory");
}

/* ------------------------------------------------------------- metrics */

static void
metric (struct sbuf *b, const char *name, const char *type, const char *help,
        const char *job, double v)
{
    vs_sbuf_printf (b, "# HELP %s %s\n# TYPE %s %s\n%s{job=\"%s\"} %.17g\n",
                    name, help, name, type, name, job, v);
}

int
job_metrics_write (struct wf_store *st, const char *name, const char *dir,
                   int64_t duration)
{
    struct job_pasts p;
    uint64_t shared = 0, copied = 0, failures = 0;
    int64_t last_ok = 0;
    char path[4200], tmp[4300];
    struct sbuf b;
    int fd, r = job_pasts_load (st, name, &p);

    if (r < 0) {
        return r;
    }
    for (size_t i = 0; i < p.n; i++) {
        shared += hist_u64 (&p.v[i], "bytes_shared");
        copied += hist_u64 (&p.v[i], "bytes_copied");
        if (strcmp (p.v[i].state, "done") == 0 && p.v[i].end > last_ok) {
            last_ok = p.v[i].end;
        }
        if (strcmp (p.v[i].state, "failed") == 0 ||
            strcmp (p.v[i].state, "partial") == 0 ||
            strcmp (p.v[i].state, "interrupted") == 0) {
            failures++;
        }
    }
    job_pasts_free (&p);
    vs_sbuf_init (&b, 64 * 1024);
    metric (&b, "vmshift_job_last_success_timestamp_seconds", "gauge",
            "End of the job's last run that converted every disk.", name,
            (double) last_ok);
    metric (&b, "vmshift_job_duration_seconds", "gauge",
            "Wall time of the job's last run.", name, (double) duration);
    metric (&b, "vmshift_job_bytes_shared_total", "counter",
            "Bytes shared (cloned) into targets by all runs of the job.",
            name, (double) shared);
    metric (&b, "vmshift_job_bytes_copied_total", "counter",
            "Bytes copied into targets by all runs of the job.", name,
            (double) copied);
    metric (&b, "vmshift_job_failures_total", "counter",
            "Runs of the job that failed, were partial or were "
            "interrupted.", name, (double) failures);
    snprintf (path, sizeof path, "%s/vmshift-job-%s.prom", dir, name);
    snprintf (tmp, sizeof tmp, "%s/.vmshift-job-%s.prom.%ld.tmp", dir, name,
              (long) getpid ());
    if (b.err) {
        vs_sbuf_release (&b);
        return set_error (ENOMEM, "out of memory");
    }
    fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
               0644);
    r = fd < 0 ? -errno : 0;
    if (r == 0 && write (fd, b.data, b.len) != (ssize_t) b.len) {
        r = errno ? -errno : -EIO;
    }
    if (r == 0 && fsync (fd) < 0) {
        r = -errno;
    }
    if (fd >= 0 && close (fd) < 0 && r == 0) {
        r = -errno;
    }
    if (r == 0 && rename (tmp, path) < 0) {
        r = -errno;
    }
    if (r < 0) {
        unlink (tmp);
        vs_sbuf_release (&b);
        return set_error (-r, "cannot write metrics '%s': %s", path,
                          strerror (-r));
    }
    vs_sbuf_release (&b);
    return 0;
}
