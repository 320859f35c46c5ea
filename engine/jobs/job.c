/* The job file (docs/jobs.md, "Job file"): JSON, every key checked.
 *
 * A job file is read by timers at night with nobody watching, so it is
 * checked strictly when it is installed and again when it runs: unknown
 * keys (a typo would silently drop a setting such as retention), values
 * of the wrong type or out of range, sources and a target that cannot be
 * converted into each other.  Each error is one line naming the key.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "engine/base/error.h"
#include "engine/base/json.h"
#include "engine/base/sbuf.h"
#include "engine/jobs/job.h"
#include "engine/location.h"
#include "ontap/ontap.h"

#define JOB_PATTERN_MAX 512
#define JOB_PATH_MAX 4096
#define JOB_NAME_OUT_MAX 4096

struct job_ctx {
    const char *what;
    const struct json_val *root;
    struct job_def *j;
};

static int
job_key_error (struct job_ctx *x, const char *key, const char *problem)
{
    return set_error (EINVAL, "%s: key '%s': %s", x->what, key, problem);
}

/* Every member of OBJ is one of KEYS (NULL-terminated), none twice. */
static int
job_check_keys (struct job_ctx *x, const struct json_val *obj,
                const char *prefix, const char *const *keys)
{
    size_t n = vs_json_object_len (obj);

    for (size_t i = 0; i < n; i++) {
        const char *k = NULL;
        bool known = false;

        vs_json_object_at (obj, i, &k);
        for (size_t m = 0; keys[m]; m++) {
            known = known || strcmp (keys[m], k) == 0;
        }
        for (size_t m = 0; m < i && known; m++) {
            const char *k2 = NULL;

            vs_json_object_at (obj, m, &k2);
            if (strcmp (k, k2) == 0) {
                return set_error (EINVAL, "%s: key '%s%s' appears twice",
                                  x->what, prefix, k);
            }
        }
        if (!known) {
            return set_error (EINVAL, "%s: unknown key '%s%.64s'", x->what,
                              prefix, k);
        }
    }
    return 0;
}

static const struct json_val *
job_member (const struct json_val *obj, const char *key)
{
    size_t n = vs_json_object_len (obj);

    for (size_t i = 0; i < n; i++) {
        const char *k = NULL;
        const struct json_val *v = vs_json_object_at (obj, i, &k);

        if (strcmp (k, key) == 0) {
            return v;
        }
    }
    return NULL;
}

static bool
job_printable (const char *s)
{
    for (; *s; s++) {
        if ((unsigned char) *s < 0x20 || *s == 0x7f) {
            return false;
        }
    }
    return true;
}

/* A string member; *out NULL when absent (and not required). */
static int
job_str (struct job_ctx *x, const struct json_val *obj, const char *key,
         const char *member, bool required, size_t max, char **out)
{
    const struct json_val *v = job_member (obj, member);
    const char *s;

    *out = NULL;
    if (v == NULL) {
        return required ? job_key_error (x, key, "missing") : 0;
    }
    s = vs_json_string_value (v);
    if (s == NULL) {
        return job_key_error (x, key, "must be a string");
    }
    if (*s == '\0') {
        return job_key_error (x, key, "is empty");
    }
    if (strlen (s) > max) {
        return set_error (EINVAL, "%s: key '%s': longer than %zu characters",
                          x->what, key, max);
    }
    if (!job_printable (s)) {
        return job_key_error (x, key, "contains a control character");
    }
    *out = strdup (s);
    return *out ? 0 : set_error (ENOMEM, "out of memory");
}

static int
job_uint (struct job_ctx *x, const struct json_val *obj, const char *key,
          const char *member, uint64_t lo, uint64_t hi, uint64_t *out)
{
    const struct json_val *v = job_member (obj, member);
    uint64_t u;

    if (v == NULL) {
        return 0;
    }
    if (vs_json_type (v) != JSON_NUMBER ||
        vs_json_get_u64 (v, "", &u) < 0 || u < lo || u > hi) {
        clear_error ();
        return set_error (EINVAL, "%s: key '%s': must be a whole number "
                          "from %llu to %llu", x->what, key,
                          (unsigned long long) lo, (unsigned long long) hi);
    }
    *out = u;
    return 0;
}

static int
job_bool (struct job_ctx *x, const struct json_val *obj, const char *key,
          const char *member, bool *out)
{
    const struct json_val *v = job_member (obj, member);

    if (v == NULL) {
        return 0;
    }
    if (vs_json_type (v) != JSON_BOOL) {
        return job_key_error (x, key, "must be true or false");
    }
    return vs_json_get_bool (v, "", out);
}

static const struct json_val *
job_object (struct job_ctx *x, const struct json_val *obj, const char *key,
            const char *member, bool required, int *r)
{
    const struct json_val *v = job_member (obj, member);

    *r = 0;
    if (v == NULL) {
        if (required) {
            *r = job_key_error (x, key, "missing");
        }
        return NULL;
    }
    if (vs_json_type (v) != JSON_OBJECT) {
        *r = job_key_error (x, key, "must be an object");
        return NULL;
    }
    return v;
}

int
job_duration_parse (const char *s, uint64_t *out)
{
    uint64_t v = 0, mul;
    const char *p = s;

    if (*p < '0' || *p > '9') {
        return -EINVAL;
    }
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > JOB_DURATION_MAX) {
            return -EINVAL;
        }
        v = v * 10 + (uint64_t) (*p - '0');
    }
    switch (*p) {
    case 's': mul = 1; break;
    case 'm': mul = 60; break;
    case 'h': mul = 3600; break;
    case 'd': mul = 86400; break;
    case 'w': mul = 7 * 86400; break;
    default: return -EINVAL;
    }
    if (p[1] != '\0' || v > JOB_DURATION_MAX / mul) {
        return -EINVAL;
    }
    *out = v * mul;
    return 0;
}

static int
job_duration (struct job_ctx *x, const struct json_val *obj, const char *key,
              const char *member, uint64_t *out)
{
    char *s = NULL;
    int r = job_str (x, obj, key, member, false, 32, &s);

    if (r < 0 || s == NULL) {
        return r;
    }
    r = job_duration_parse (s, out);
    free (s);
    if (r < 0) {
        return job_key_error (x, key, "must be a number and a unit: s, m, "
                              "h, d or w (\"30d\"), at most 100 years");
    }
    return 0;
}

static int
job_retention (struct job_ctx *x, const char *key, bool required,
               struct job_retention *out)
{
    static const char *const keys[] = { "keep_last", "max_age", NULL };
    char prefix[64], k1[64], k2[64];
    const struct json_val *o;
    int r;

    o = job_object (x, x->root, key, key, required, &r);
    if (o == NULL) {
        return r;
    }
    snprintf (prefix, sizeof prefix, "%s.", key);
    snprintf (k1, sizeof k1, "%s.keep_last", key);
    snprintf (k2, sizeof k2, "%s.max_age", key);
    if ((r = job_check_keys (x, o, prefix, keys)) < 0 ||
        (r = job_uint (x, o, k1, "keep_last", 1, JOB_KEEP_LAST_MAX,
                       &out->keep_last)) < 0 ||
        (r = job_duration (x, o, k2, "max_age", &out->max_age)) < 0) {
        return r;
    }
    if (out->keep_last == 0 && out->max_age == 0) {
        return job_key_error (x, key, "needs keep_last, max_age or both");
    }
    return 0;
}

/* [A-Za-z0-9][A-Za-z0-9_.-]*: usable as a systemd instance name, a file
 * name and a Kubernetes label value without escaping. */
static bool
job_name_ok (const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
          (*s >= '0' && *s <= '9'))) {
        return false;
    }
    for (; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' ||
              *s == '-')) {
            return false;
        }
    }
    return true;
}

/* IANA names: "UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires",
 * "Etc/GMT+5".  Whether the zone exists is job_load's question. */
static bool
job_timezone_ok (const char *s)
{
    bool start = true;

    for (; *s; s++) {
        bool ok = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                  (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' ||
                  *s == '+';

        if (*s == '/' && !start) {
            start = true;
            continue;
        }
        if (!ok || (start && (*s == '-' || *s == '+'))) {
            return false;
        }
        start = false;
    }
    return !start;
}

static int
job_head (struct job_ctx *x)
{
    struct job_def *j = x->j;
    uint64_t conc = 10;
    int64_t next;
    int r;

    if ((r = job_str (x, x->root, "name", "name", true, JOB_NAME_MAX,
                      &j->name)) < 0) {
        return r;
    }
    if (!job_name_ok (j->name)) {
        return job_key_error (x, "name", "use letters, digits, '_', '.' and "
                              "'-', starting with a letter or digit");
    }
    if ((r = job_str (x, x->root, "schedule", "schedule", true, 255,
                      &j->schedule)) < 0) {
        return r;
    }
    if ((r = job_calendar_parse (j->schedule, &j->cal)) < 0) {
        error_prepend ("%s: key 'schedule': ", x->what);
        return r;
    }
    if (job_calendar_next_utc (&j->cal, 0, &next) < 0) {
        clear_error ();
        return job_key_error (x, "schedule", "never elapses");
    }
    if ((r = job_str (x, x->root, "timezone", "timezone", false, 64,
                      &j->timezone)) < 0) {
        return r;
    }
    if (j->timezone == NULL && (j->timezone = strdup ("UTC")) == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    if (!job_timezone_ok (j->timezone)) {
        return job_key_error (x, "timezone", "not a timezone name such as "
                              "\"UTC\" or \"Europe/Berlin\"");
    }
    if ((r = job_duration (x, x->root, "randomized_delay", "randomized_delay",
                           &j->randomized_delay)) < 0 ||
        (r = job_uint (x, x->root, "concurrency", "concurrency", 1,
                       JOB_CONCURRENCY_MAX, &conc)) < 0 ||
        (r = job_bool (x, x->root, "keep_partial", "keep_partial",
                       &j->keep_partial)) < 0 ||
        (r = job_bool (x, x->root, "keep_snapshot", "keep_snapshot",
                       &j->keep_snapshot)) < 0) {
        return r;
    }
    j->concurrency = (unsigned) conc;
    j->lease_ttl = JOB_LEASE_TTL_DEFAULT;
    if ((r = job_duration (x, x->root, "lease_ttl", "lease_ttl",
                           &j->lease_ttl)) < 0) {
        return r;
    }
    if (j->lease_ttl < JOB_LEASE_TTL_MIN || j->lease_ttl > JOB_LEASE_TTL_MAX) {
        return job_key_error (x, "lease_ttl", "must be from 4s to 1d");
    }
    return 0;
}

static bool
job_has_suffix (const char *s, const char *suffix)
{
    size_t n = strlen (s), m = strlen (suffix);

    return n > m && strcmp (s + n - m, suffix) == 0;
}

/* An absolute local path without '.', '..' or empty components. */
static bool
job_local_path_ok (const char *p)
{
    if (p[0] != '/') {
        return false;
    }
    for (const char *c = p + 1; *c;) {
        const char *e = strchr (c, '/');
        size_t n = e ? (size_t) (e - c) : strlen (c);

        if (n == 0 || (n == 1 && c[0] == '.') ||
            (n == 2 && c[0] == '.' && c[1] == '.')) {
            return false;
        }
        c += n + (e ? 1 : 0);
        if (e && *c == '\0') {
            return false;
        }
    }
    return strchr (p, '\\') == NULL;
}

/* Where a location lives: ONTAP (profile + volume) or local. */
static int
job_location (struct job_ctx *x, const char *key, const char *loc,
              const char *suffix)
{
    struct job_def *j = x->j;
    enum loc_kind kind = vs_loc_kind_of (loc);
    bool ontap = kind == LOC_ONTAP;

    if (kind == LOC_NFS) {
        return job_key_error (x, key, "nfs:// is not supported for jobs "
                              "(use ontap:// or a local path)");
    }
    if (suffix && !job_has_suffix (loc, suffix)) {
        return set_error (EINVAL, "%s: key '%s': '%s' does not end in '%s'",
                          x->what, key, loc, suffix);
    }
    if (ontap) {
        struct ontap_location l;

        if (ontap_location_parse (loc, &l) < 0) {
            error_prepend ("%s: key '%s': ", x->what, key);
            return -EINVAL;
        }
        ontap_location_release (&l);
    } else if (!job_local_path_ok (loc)) {
        return set_error (EINVAL, "%s: key '%s': '%s' is not an absolute "
                          "path (without '.' or '..') or an ontap:// "
                          "location", x->what, key, loc);
    }
    if (j->location != NULL && ontap != j->on_ontap) {
        return set_error (EINVAL, "%s: key '%s': '%s' is %s but the target "
                          "is %s (both must be on ONTAP, or both local)",
                          x->what, key, loc, ontap ? "on ONTAP" : "local",
                          j->on_ontap ? "on ONTAP" : "local");
    }
    return 0;
}

/* ONTAP clones files only within one volume: every source on the
 * target's profile and volume. */
static int
job_same_volume (struct job_ctx *x, const char *key, const char *loc)
{
    struct ontap_location a, b;
    int r;

    if (!x->j->on_ontap) {
        return 0;
    }
    if (ontap_location_parse (loc, &a) < 0) {
        return -EINVAL;
    }
    if (ontap_location_parse (x->j->location, &b) < 0) {
        ontap_location_release (&a);
        return -EINVAL;
    }
    r = strcmp (a.profile, b.profile) == 0 && strcmp (a.volume, b.volume) == 0;
    if (!r) {
        set_error (EINVAL, "%s: key '%s': '%s' is on volume '%s/%s', the "
                   "target on '%s/%s' (ONTAP clones files only within one "
                   "volume)", x->what, key, loc, a.profile, a.volume,
                   b.profile, b.volume);
    }
    ontap_location_release (&a);
    ontap_location_release (&b);
    return r ? 0 : -EINVAL;
}

static int
job_source_list (struct job_ctx *x, const struct json_val *src,
                 const char *member, const char *suffix, char ***out,
                 size_t *nout)
{
    const struct json_val *a = job_member (src, member);
    char key[64];
    size_t n;
    int r;

    snprintf (key, sizeof key, "source.%s", member);
    if (a == NULL) {
        return 0;
    }
    if (vs_json_type (a) != JSON_ARRAY) {
        return job_key_error (x, key, "must be an array of locations");
    }
    n = vs_json_array_len (a);
    if (n > JOB_SOURCES_MAX) {
        return job_key_error (x, key, "has more than 4096 entries");
    }
    *out = calloc (n + 1, sizeof **out);
    if (*out == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        const char *s = vs_json_string_value (vs_json_array_at (a, i));

        snprintf (key, sizeof key, "source.%s[%zu]", member, i);
        if (s == NULL || *s == '\0' || strlen (s) > JOB_PATH_MAX ||
            !job_printable (s)) {
            return job_key_error (x, key, "must be a location (a non-empty "
                                  "string without control characters)");
        }
        if ((r = job_location (x, key, s, suffix)) < 0 ||
            (r = job_same_volume (x, key, s)) < 0) {
            return r;
        }
        for (size_t k = 0; k < i; k++) {
            if (strcmp ((*out)[k], s) == 0) {
                return set_error (EINVAL, "%s: key '%s': '%s' is listed "
                                  "twice", x->what, key, s);
            }
        }
        if (((*out)[i] = strdup (s)) == NULL) {
            return set_error (ENOMEM, "out of memory");
        }
        (*nout)++;
    }
    return 0;
}

static int
job_source (struct job_ctx *x)
{
    static const char *const keys[] = { "disks", "vms", NULL };
    const struct json_val *src;
    int r;

    src = job_object (x, x->root, "source", "source", true, &r);
    if (src == NULL) {
        return r;
    }
    if ((r = job_check_keys (x, src, "source.", keys)) < 0 ||
        (r = job_source_list (x, src, "disks", ".vmdk", &x->j->disks,
                              &x->j->n_disks)) < 0 ||
        (r = job_source_list (x, src, "vms", ".vmx", &x->j->vms,
                              &x->j->n_vms)) < 0) {
        return r;
    }
    if (x->j->n_disks + x->j->n_vms == 0) {
        return job_key_error (x, "source", "names no disks and no vms");
    }
    return 0;
}

/* {vm} {disk} {date} {time} {generation} and literal text; relative,
 * no '.', '..' or empty components.  Each generation must get names of
 * its own, and each disk of a generation its own name. */
static int
job_pattern_check (struct job_ctx *x, const char *p)
{
    static const char *const vars[] = { "{vm}", "{disk}", "{date}", "{time}",
                                        "{generation}" };
    bool seen[5] = { false };
    const char *comp = p;

    for (const char *c = p; *c; c++) {
        if (*c == '{') {
            size_t k = 0;

            while (k < 5 && strncmp (c, vars[k], strlen (vars[k])) != 0) {
                k++;
            }
            if (k == 5) {
                return set_error (EINVAL, "%s: key 'target.name': unknown "
                                  "placeholder at '%.20s' (use {vm}, {disk}, "
                                  "{date}, {time}, {generation})", x->what, c);
            }
            seen[k] = true;
            c += strlen (vars[k]) - 1;
        } else if (*c == '}' || *c == '\\') {
            return job_key_error (x, "target.name", "a '}' or '\\' outside "
                                  "a placeholder");
        } else if (*c == '/' || c[1] == '\0') {
            size_t n = (size_t) (c - comp) + (*c == '/' ? 0 : 1);

            if (n == 0 || (n == 1 && comp[0] == '.') ||
                (n == 2 && comp[0] == '.' && comp[1] == '.')) {
                return job_key_error (x, "target.name", "must be a relative "
                                      "path without empty, '.' or '..' "
                                      "components");
            }
            comp = c + 1;
        }
    }
    if (p[strlen (p) - 1] == '/') {
        return job_key_error (x, "target.name", "ends in '/'");
    }
    if (!seen[1]) {
        return job_key_error (x, "target.name", "must contain {disk} (every "
                              "disk needs a name of its own)");
    }
    if (!seen[2] && !seen[3] && !seen[4]) {
        return job_key_error (x, "target.name", "must contain {generation}, "
                              "{date} or {time} (every run needs names of "
                              "its own)");
    }
    return 0;
}

/* The list comes from the library's format table. */
static int
job_bad_format (struct job_ctx *x)
{
    char list[256] = "";
    size_t used = 0;
    enum vmshift_format f;

    for (size_t i = 0; (f = vmshift_format_at (i)) != VMSHIFT_FMT_AUTO; i++) {
        int w;

        if (!vmshift_format_can_write (f)) {
            continue;
        }
        w = snprintf (list + used, sizeof list - used, "%s%s",
                      used ? ", " : "", vmshift_format_name (f));
        if (w < 0 || (size_t) w >= sizeof list - used) {
            break;
        }
        used += (size_t) w;
    }
    return set_error (EINVAL, "%s: key 'target.format': must be one of the "
                      "formats vmshift writes: %s", x->what, list);
}

static int
job_format (struct job_ctx *x, const struct json_val *t)
{
    struct job_def *j = x->j;
    const char *dot = strrchr (j->pattern, '.');
    enum vmshift_format ext = VMSHIFT_FMT_AUTO;
    char *f = NULL;
    int r;

    if (dot && strchr (dot, '/') == NULL &&
        (vmshift_format_from_name (dot + 1, &ext) < 0 ||
         !vmshift_format_can_write (ext))) {
        ext = VMSHIFT_FMT_AUTO;
    }
    clear_error ();
    if ((r = job_str (x, t, "target.format", "format", false, 16, &f)) < 0) {
        return r;
    }
    if (f && (vmshift_format_from_name (f, &j->format) < 0 ||
              !vmshift_format_can_write (j->format))) {
        free (f);
        clear_error ();
        return job_bad_format (x);
    }
    free (f);
    if (j->format == VMSHIFT_FMT_AUTO) {
        if (ext == VMSHIFT_FMT_AUTO) {
            return job_key_error (x, "target.format", "missing, and "
                                  "target.name has no known extension");
        }
        j->format = ext;
    } else if (ext != VMSHIFT_FMT_AUTO && ext != j->format) {
        return job_key_error (x, "target.format", "does not match the "
                              "extension of target.name");
    }
    return 0;
}

static int
job_target (struct job_ctx *x)
{
    static const char *const keys[] = { "location", "name", "format", NULL };
    struct job_def *j = x->j;
    const struct json_val *t;
    char *loc = NULL;
    int r;

    t = job_object (x, x->root, "target", "target", true, &r);
    if (t == NULL) {
        return r;
    }
    if ((r = job_check_keys (x, t, "target.", keys)) < 0 ||
        (r = job_str (x, t, "target.location", "location", true,
                      JOB_PATH_MAX, &loc)) < 0) {
        return r;
    }
    if ((r = job_location (x, "target.location", loc, NULL)) < 0) {
        free (loc);
        return r;
    }
    j->on_ontap = vs_loc_kind_of (loc) == LOC_ONTAP;
    j->location = loc;
    if ((r = job_str (x, t, "target.name", "name", true, JOB_PATTERN_MAX,
                      &j->pattern)) < 0 ||
        (r = job_pattern_check (x, j->pattern)) < 0) {
        return r;
    }
    return job_format (x, t);
}

static int
job_tail (struct job_ctx *x)
{
    struct job_def *j = x->j;
    int r;

    if ((r = job_retention (x, "retention", true, &j->retention)) < 0 ||
        (r = job_retention (x, "snapshot_retention", false,
                            &j->snapshot_retention)) < 0) {
        return r;
    }
    if (job_member (x->root, "snapshot_retention") && !j->keep_snapshot) {
        return job_key_error (x, "snapshot_retention", "given, but "
                              "keep_snapshot is not true");
    }
    if (j->keep_snapshot && !j->on_ontap) {
        return job_key_error (x, "keep_snapshot", "local jobs take no "
                              "snapshot (sources are read in place)");
    }
    if (j->keep_snapshot && !job_member (x->root, "snapshot_retention")) {
        j->snapshot_retention = j->retention;
    }
    if ((r = job_str (x, x->root, "store", "store", false, JOB_PATH_MAX,
                      &j->store)) < 0 ||
        (r = job_str (x, x->root, "config", "config", false, JOB_PATH_MAX,
                      &j->config)) < 0) {
        return r;
    }
    if (j->store && strncmp (j->store, "postgresql://", 13) != 0 &&
        strncmp (j->store, "postgres://", 11) != 0 &&
        !job_local_path_ok (j->store)) {
        return job_key_error (x, "store", "must be an absolute path (SQLite) "
                              "or a postgresql:// URI");
    }
    if (j->config && !job_local_path_ok (j->config)) {
        return job_key_error (x, "config", "must be an absolute path");
    }
    return 0;
}

int
job_parse (const char *buf, size_t len, const char *what,
           struct job_def **out)
{
    static const char *const keys[] = {
        "name", "schedule", "timezone", "randomized_delay", "source",
        "target", "retention", "keep_snapshot", "snapshot_retention",
        "concurrency", "keep_partial", "lease_ttl", "store", "config",
        "description", NULL,
    };
    struct json_val *doc = NULL;
    struct job_ctx x = { .what = what };
    char *desc = NULL;
    int r;

    if (len > JOB_FILE_MAX) {
        return set_error (EINVAL, "%s: larger than %d bytes", what,
                          JOB_FILE_MAX);
    }
    if ((r = vs_json_parse (buf, len, what, &doc)) < 0) {
        return -EINVAL;
    }
    x.root = doc;
    x.j = calloc (1, sizeof *x.j);
    if (x.j == NULL) {
        r = set_error (ENOMEM, "out of memory");
    } else if (vs_json_type (doc) != JSON_OBJECT) {
        r = set_error (EINVAL, "%s: not a JSON object", what);
    } else if ((r = job_check_keys (&x, doc, "", keys)) == 0 &&
               (r = job_head (&x)) == 0 &&
               (r = job_target (&x)) == 0 && (r = job_source (&x)) == 0 &&
               (r = job_str (&x, doc, "description", "description", false,
                             1024, &desc)) == 0) {
        r = job_tail (&x);
    }
    free (desc);
    vs_json_free (doc);
    if (r < 0) {
        job_free (x.j);
        return r;
    }
    *out = x.j;
    return 0;
}

int
job_load (const char *file, struct job_def **out)
{
    struct job_def *j = NULL;
    char what[300], *buf = NULL;
    size_t len = 0;
    int64_t next;
    int r;

    snprintf (what, sizeof what, "'%.280s'", file);
    if (vs_loc_kind_of (file) != LOC_LOCAL) {
        return set_error (EINVAL, "%s: a job file must be a local file",
                          what);
    }
    r = vs_loc_read_whole (NULL, file, JOB_FILE_MAX, &buf, &len);
    if (r < 0) {
        return r;
    }
    r = job_parse (buf, len, what, &j);
    free (buf);
    if (r < 0) {
        return r;
    }
    /* A day of slack: the calendar is read as UTC here, the timer reads
     * it in the job's timezone. */
    if (job_calendar_next_utc (&j->cal, (int64_t) time (NULL) - 86400,
                               &next) < 0) {
        clear_error ();
        r = set_error (EINVAL, "%s: key 'schedule': '%s' never elapses "
                       "again", what, j->schedule);
        job_free (j);
        return r;
    }
    if (strcmp (j->timezone, "UTC") != 0) {
        char zpath[128];
        struct stat st;

        snprintf (zpath, sizeof zpath, "/usr/share/zoneinfo/%s", j->timezone);
        if (stat ("/usr/share/zoneinfo", &st) == 0 &&
            (stat (zpath, &st) < 0 || !S_ISREG (st.st_mode))) {
            r = set_error (EINVAL, "%s: key 'timezone': unknown timezone "
                           "'%s'", what, j->timezone);
            job_free (j);
            return r;
        }
    }
    /* Units and crontab entries name the file: always absolutely. */
    j->file = realpath (file, NULL);
    if (j->file == NULL && (j->file = strdup (file)) == NULL) {
        job_free (j);
        return set_error (ENOMEM, "out of memory");
    }
    *out = j;
    return 0;
}

static void
job_strv_free (char **v, size_t n)
{
    if (v) {
        for (size_t i = 0; i < n; i++) {
            free (v[i]);
        }
        free (v);
    }
}

void
job_free (struct job_def *j)
{
    if (j == NULL) {
        return;
    }
    free (j->file);
    free (j->name);
    free (j->schedule);
    free (j->timezone);
    job_strv_free (j->disks, j->n_disks);
    job_strv_free (j->vms, j->n_vms);
    free (j->location);
    free (j->pattern);
    free (j->store);
    free (j->config);
    free (j);
}

int
job_name_expand (const char *pattern, const struct job_name_vars *v,
                 char **out)
{
    struct sbuf b;
    char date[48] = "", tod[40] = "", gen[24];
    time_t t = (time_t) v->when;
    struct tm tm;

    if (gmtime_r (&t, &tm) != NULL) {
        snprintf (date, sizeof date, "%04d-%02d-%02d", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday);
        snprintf (tod, sizeof tod, "%02d%02d%02d", tm.tm_hour, tm.tm_min,
                  tm.tm_sec);
    }
    snprintf (gen, sizeof gen, "%llu", (unsigned long long) v->generation);
    vs_sbuf_init (&b, JOB_NAME_OUT_MAX);
    for (const char *c = pattern; *c; c++) {
        const char *val = NULL;
        size_t skip = 0;

        if (strncmp (c, "{vm}", 4) == 0) {
            val = v->vm ? v->vm : "", skip = 4;
        } else if (strncmp (c, "{disk}", 6) == 0) {
            val = v->disk ? v->disk : "", skip = 6;
        } else if (strncmp (c, "{date}", 6) == 0) {
            val = date, skip = 6;
        } else if (strncmp (c, "{time}", 6) == 0) {
            val = tod, skip = 6;
        } else if (strncmp (c, "{generation}", 12) == 0) {
            val = gen, skip = 12;
        }
        if (val) {
            vs_sbuf_addstr (&b, val);
            c += skip - 1;
        } else {
            vs_sbuf_addch (&b, *c);
        }
    }
    *out = vs_sbuf_detach (&b, NULL);
    if (*out == NULL) {
        return set_error (ENAMETOOLONG, "target name from '%s' is too long",
                          pattern);
    }
    return 0;
}
