/* /sim/control: read (GET) or change (POST, JSON) the fault and latency
 * settings and read the counters.  Served on loopback only (http.c
 * checks the peer address); not part of the ONTAP API.  Unknown keys are
 * refused so that a typo in a test does not silently inject nothing. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tools/ontap-sim/sim.h"

struct sim_knob {
    const char *key;
    unsigned *field;
    uint64_t max;
};

static struct sim_knob sim_knobs[] = {
    { "delay_ms", &sim.set.delay_ms, 600000 },
    { "job_duration_ms", &sim.set.job_duration_ms, 3600000 },
    { "job_purge_ms", &sim.set.job_purge_ms, 86400000 },
    { "ebusy_count", &sim.set.ebusy_count, 1000000 },
    { "fail_jobs", &sim.set.fail_jobs, 1000000 },
    { "hide_jobs", &sim.set.hide_jobs, 1000000 },
    { "drop_count", &sim.set.drop_count, 1000000 },
    { "max_ranges", &sim.set.max_ranges, SIM_MAX_RANGES_HARD },
};

void
sim_settings_json (struct jsonw *w)
{
    vs_jw_key (w, "settings");
    vs_jw_obj_begin (w);
    for (size_t i = 0; i < sizeof sim_knobs / sizeof sim_knobs[0]; i++) {
        vs_jw_kv_u64 (w, sim_knobs[i].key, *sim_knobs[i].field);
    }
    vs_jw_kv_double (w, "error_rate", sim.set.error_rate);
    vs_jw_kv_u64 (w, "seed", sim.set.seed);
    vs_jw_kv_str (w, "fault_match", sim.set.fault_match);
    vs_jw_obj_end (w);
    vs_jw_key (w, "counters");
    vs_jw_obj_begin (w);
    vs_jw_kv_u64 (w, "requests", sim.cnt.requests);
    vs_jw_kv_u64 (w, "unauthorized", sim.cnt.unauthorized);
    vs_jw_kv_u64 (w, "injected_5xx", sim.cnt.injected_5xx);
    vs_jw_kv_u64 (w, "injected_ebusy", sim.cnt.injected_ebusy);
    vs_jw_kv_u64 (w, "dropped", sim.cnt.dropped);
    vs_jw_kv_u64 (w, "jobs_created", sim.cnt.jobs_created);
    vs_jw_kv_u64 (w, "jobs_failed", sim.cnt.jobs_failed);
    vs_jw_kv_u64 (w, "jobs_purged", sim.cnt.jobs_purged);
    vs_jw_kv_u64 (w, "clones", sim.cnt.clones);
    vs_jw_kv_u64 (w, "clone_ranges", sim.cnt.clone_ranges);
    vs_jw_kv_u64 (w, "snapshots_created", sim.cnt.snapshots_created);
    vs_jw_kv_u64 (w, "snapshots_deleted", sim.cnt.snapshots_deleted);
    vs_jw_obj_end (w);
}

static int
sim_apply_knob (const char *key, const struct json_val *v, struct sim_reply *r)
{
    uint64_t u;

    for (size_t i = 0; i < sizeof sim_knobs / sizeof sim_knobs[0]; i++) {
        if (strcmp (sim_knobs[i].key, key) != 0) {
            continue;
        }
        if (vs_json_get_u64 (v, "", &u) < 0 || u > sim_knobs[i].max ||
            (sim_knobs[i].field == &sim.set.max_ranges && u == 0)) {
            sim_reply_error (r, 400, "2", key, "'%s' must be an integer from "
                             "0 to %llu", key,
                             (unsigned long long) sim_knobs[i].max);
            return -1;
        }
        *sim_knobs[i].field = (unsigned) u;
        return 0;
    }
    return 1;
}

static int
sim_apply_other (const char *key, const struct json_val *v,
                 struct sim_reply *r)
{
    double d;
    uint64_t u;
    bool b;
    const char *s;

    if (strcmp (key, "error_rate") == 0) {
        if (vs_json_get_double (v, "", &d) < 0 || !(d >= 0.0 && d <= 1.0)) {
            sim_reply_error (r, 400, "2", key, "error_rate must be 0 to 1");
            return -1;
        }
        sim.set.error_rate = d;
    } else if (strcmp (key, "seed") == 0) {
        if (vs_json_get_u64 (v, "", &u) < 0) {
            sim_reply_error (r, 400, "2", key, "seed must be an integer");
            return -1;
        }
        sim.set.seed = u;
        sim.rng = u;
    } else if (strcmp (key, "fault_match") == 0) {
        if ((s = vs_json_string_value (v)) == NULL ||
            strlen (s) >= sizeof sim.set.fault_match) {
            sim_reply_error (r, 400, "2", key, "fault_match must be a string");
            return -1;
        }
        snprintf (sim.set.fault_match, sizeof sim.set.fault_match, "%s", s);
    } else if (strcmp (key, "reset_counters") == 0) {
        if (vs_json_get_bool (v, "", &b) < 0) {
            sim_reply_error (r, 400, "2", key, "reset_counters is a boolean");
            return -1;
        }
        if (b) {
            memset (&sim.cnt, 0, sizeof sim.cnt);
        }
    } else {
        sim_reply_error (r, 400, "2", key, "unknown control key '%s'", key);
        return -1;
    }
    return 0;
}

void
sim_handle_control (const struct sim_req *q, struct sim_reply *r)
{
    struct json_val *body = NULL;
    struct sim_settings saved = sim.set;
    struct jsonw w;

    if (strcmp (q->method, "POST") == 0) {
        if (vs_json_parse (q->body, q->body_len, "control body", &body) < 0 ||
            vs_json_type (body) != JSON_OBJECT) {
            vs_json_free (body);
            sim_reply_error (r, 400, "2", NULL, "control body must be a JSON "
                             "object");
            return;
        }
        for (size_t i = 0; i < vs_json_object_len (body); i++) {
            const char *k;
            const struct json_val *v = vs_json_object_at (body, i, &k);
            int rc = sim_apply_knob (k, v, r);

            if (rc > 0) {
                rc = sim_apply_other (k, v, r);
            }
            if (rc < 0) {
                sim.set = saved;    /* all or nothing */
                vs_json_free (body);
                return;
            }
        }
        vs_json_free (body);
    } else if (strcmp (q->method, "GET") != 0) {
        sim_reply_error (r, 405, "3", NULL, "Method not allowed");
        return;
    }
    vs_jw_init (&w, &r->body, true);
    vs_jw_obj_begin (&w);
    sim_settings_json (&w);
    vs_jw_obj_end (&w);
    r->status = 200;
}
