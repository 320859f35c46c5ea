/* Typed views of ONTAP replies.  Pure functions over a parsed document
 * (engine/base/json.h), so the fuzz harness can feed them anything.
 * Every string copied out is capped, every uuid checked before it can
 * reach a URL, and every wrong type is -EPROTO naming the field and the
 * reply. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/base/error.h"
#include "engine/base/jsonw.h"
#include "ontap/ontap.h"

#define ONTAP_STR_MAX 4096      /* names, paths, messages */

bool
ontap_uuid_ok (const char *s)
{
    size_t n = 0;

    for (; s && s[n]; n++) {
        char ch = s[n];

        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
              (ch >= 'A' && ch <= 'Z') || ch == '-')) {
            return false;
        }
    }
    return n > 0 && n <= ONTAP_UUID_MAX;
}

/* A string field; required or optional.  Adds the reply's name to the
 * error the JSON layer set. */
static int
ontap_str (const struct json_val *v, const char *path, const char *what,
           bool required, char **out)
{
    char *s = NULL;
    int r = required ? vs_json_get_str (v, path, &s) : vs_json_opt_str (v, path, &s);

    if (r < 0) {
        if (r == -ENOENT) {
            return set_error (EPROTO, "%s: missing field '%s'", what, path);
        }
        error_prepend ("%s: ", what);
        return -EPROTO;
    }
    if (s && strlen (s) > ONTAP_STR_MAX) {
        free (s);
        return set_error (EPROTO, "%s: field '%s' is longer than %d bytes",
                          what, path, ONTAP_STR_MAX);
    }
    *out = s;
    return 0;
}

static int
ontap_uuid_field (const struct json_val *v, const char *path, const char *what,
                  char out[ONTAP_UUID_MAX + 1])
{
    char *s = NULL;
    int r = ontap_str (v, path, what, true, &s);

    if (r < 0) {
        return r;
    }
    if (!ontap_uuid_ok (s)) {
        free (s);
        return set_error (EPROTO, "%s: field '%s' is not a uuid", what, path);
    }
    memcpy (out, s, strlen (s) + 1);
    free (s);
    return 0;
}

static int
ontap_u64 (const struct json_val *v, const char *path, const char *what,
           uint64_t *out)
{
    int r = vs_json_get_u64 (v, path, out);

    if (r == -ENOENT) {
        return set_error (EPROTO, "%s: missing field '%s'", what, path);
    }
    if (r < 0) {
        error_prepend ("%s: ", what);
        return -EPROTO;
    }
    return 0;
}

/* error.code may be a string ("4") or a number (6): always a string. */
int
ontap_decode_error (const struct json_val *doc, char **code, char **msg)
{
    const struct json_val *e = vs_json_get (doc, "error");
    const struct json_val *c = vs_json_get (e, "code");
    const char *m = vs_json_string_value (vs_json_get (e, "message"));
    char buf[32];

    *code = *msg = NULL;
    if (vs_json_type (e) != JSON_OBJECT) {
        return 0;
    }
    if (vs_json_type (c) == JSON_STRING) {
        snprintf (buf, sizeof buf, "%.30s", vs_json_string_value (c));
        *code = strdup (buf);
    } else if (vs_json_type (c) == JSON_NUMBER) {
        int64_t n;

        if (vs_json_get_i64 (c, "", &n) == 0) {
            snprintf (buf, sizeof buf, "%" PRId64, n);
            *code = strdup (buf);
        }
        clear_error ();
    }
    if (m) {
        *msg = strndup (m, 512);
    }
    return 0;
}

int
ontap_decode_version (const struct json_val *doc, const char *what,
                      struct ontap_version *out)
{
    struct ontap_version v = { 0 };
    uint64_t g, ma, mi;
    int r;

    if ((r = ontap_u64 (doc, "version.generation", what, &g)) < 0 ||
        (r = ontap_u64 (doc, "version.major", what, &ma)) < 0 ||
        (r = ontap_u64 (doc, "version.minor", what, &mi)) < 0) {
        return r;
    }
    if (g > 1000 || ma > 1000 || mi > 1000) {
        return set_error (EPROTO, "%s: version %" PRIu64 ".%" PRIu64 ".%"
                          PRIu64 " is out of range", what, g, ma, mi);
    }
    if ((r = ontap_str (doc, "version.full", what, false, &v.full)) < 0) {
        return r;
    }
    v.generation = (unsigned) g;
    v.major = (unsigned) ma;
    v.minor = (unsigned) mi;
    *out = v;
    return 0;
}

/* The records array of a collection, checked against num_records. */
static int
ontap_records (const struct json_val *doc, const char *what,
               const struct json_val **rec, size_t *n)
{
    const struct json_val *a = vs_json_get (doc, "records");
    uint64_t num;
    int r;

    if (vs_json_type (doc) != JSON_OBJECT) {
        return set_error (EPROTO, "%s: expected a JSON object", what);
    }
    if (a == NULL) {
        return set_error (EPROTO, "%s: missing field 'records'", what);
    }
    if (vs_json_type (a) != JSON_ARRAY) {
        return set_error (EPROTO, "%s: field 'records' is a %s, expected an "
                          "array", what, vs_json_type_name (vs_json_type (a)));
    }
    *n = vs_json_array_len (a);
    if (*n > ONTAP_RECORDS_MAX) {
        return set_error (EPROTO, "%s: more than %u records", what,
                          ONTAP_RECORDS_MAX);
    }
    num = *n;
    if ((r = vs_json_opt_u64 (doc, "num_records", &num)) < 0) {
        error_prepend ("%s: ", what);
        return -EPROTO;
    }
    if (num != *n) {
        return set_error (EPROTO, "%s: num_records is %" PRIu64 " but %zu "
                          "records came", what, num, *n);
    }
    *rec = a;
    return 0;
}

static int
ontap_volume_one (const struct json_val *v, const char *what,
                  struct ontap_volume *out)
{
    struct ontap_volume x = { .uuid = "" };
    int r;

    if ((r = ontap_uuid_field (v, "uuid", what, x.uuid)) < 0 ||
        (r = ontap_str (v, "name", what, true, &x.name)) < 0 ||
        (r = ontap_str (v, "style", what, false, &x.style)) < 0 ||
        (r = ontap_str (v, "nas.path", what, false, &x.junction_path)) < 0 ||
        (r = ontap_str (v, "svm.name", what, false, &x.svm)) < 0) {
        ontap_volume_release (&x);
        return r;
    }
    *out = x;
    return 0;
}

/* Call one() on each record with a name for messages.  'have' is the
 * number of records already collected from earlier pages. */
static int
ontap_each_record (const struct json_val *doc, const char *what, size_t have,
                   int (*one) (const struct json_val *rec, const char *w,
                               void *opaque),
                   void *opaque)
{
    const struct json_val *a = NULL;
    char w[256];
    size_t n = 0;
    int r = ontap_records (doc, what, &a, &n);

    if (r < 0) {
        return r;
    }
    if (n > ONTAP_RECORDS_MAX - have) {
        return set_error (EPROTO, "%s: more than %u records in all", what,
                          ONTAP_RECORDS_MAX);
    }
    for (size_t i = 0; i < n; i++) {
        snprintf (w, sizeof w, "%.200s, record %zu", what, i);
        if ((r = one (vs_json_array_at (a, i), w, opaque)) < 0) {
            return r;
        }
    }
    return 0;
}

static int
ontap_volume_add (const struct json_val *rec, const char *w, void *opaque)
{
    struct ontap_volume x;
    int r = ontap_volume_one (rec, w, &x);

    if (r == 0 && (r = ontap_volume_vec_append (opaque, x)) < 0) {
        ontap_volume_release (&x);
    }
    return r;
}

int
ontap_decode_volumes (const struct json_val *doc, const char *what,
                      struct ontap_volume_vec *out)
{
    return ontap_each_record (doc, what, out->len, ontap_volume_add, out);
}

static int
ontap_snapshot_one (const struct json_val *v, const char *what,
                    struct ontap_snapshot *out)
{
    struct ontap_snapshot x = { .uuid = "" };
    int r;

    if ((r = ontap_uuid_field (v, "uuid", what, x.uuid)) < 0 ||
        (r = ontap_str (v, "name", what, true, &x.name)) < 0 ||
        (r = ontap_str (v, "create_time", what, false, &x.create_time)) < 0) {
        ontap_snapshot_release (&x);
        return r;
    }
    *out = x;
    return 0;
}

static int
ontap_snapshot_add (const struct json_val *rec, const char *w, void *opaque)
{
    struct ontap_snapshot x;
    int r = ontap_snapshot_one (rec, w, &x);

    if (r == 0 && (r = ontap_snapshot_vec_append (opaque, x)) < 0) {
        ontap_snapshot_release (&x);
    }
    return r;
}

int
ontap_decode_snapshots (const struct json_val *doc, const char *what,
                        struct ontap_snapshot_vec *out)
{
    return ontap_each_record (doc, what, out->len, ontap_snapshot_add, out);
}

static int
ontap_security_style_parse (const char *s)
{
    static const char *const names[] = { "unix", "ntfs", "mixed" };

    for (int i = 0; i < 3; i++) {
        if (strcmp (s, names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

static int
ontap_qtree_one (const struct json_val *v, const char *what,
                 struct ontap_qtree *out)
{
    struct ontap_qtree x = { .security_style = -1 };
    char *style = NULL, *vol = NULL;
    int r;

    if ((r = ontap_u64 (v, "id", what, &x.id)) < 0 ||
        (r = ontap_str (v, "name", what, false, &x.name)) < 0 ||
        (r = ontap_str (v, "security_style", what, false, &style)) < 0 ||
        (r = ontap_str (v, "volume.uuid", what, false, &vol)) < 0) {
        goto out;
    }
    if (style && (x.security_style = ontap_security_style_parse (style)) < 0) {
        r = set_error (EPROTO, "%s: unknown security_style '%.40s'", what,
                       style);
        goto out;
    }
    if (vol && !ontap_uuid_ok (vol)) {
        r = set_error (EPROTO, "%s: field 'volume.uuid' is not a uuid", what);
        goto out;
    }
    if (vol) {
        memcpy (x.volume_uuid, vol, strlen (vol) + 1);
    }
    *out = x;
    x.name = NULL;
out:
    free (style);
    free (vol);
    free (x.name);
    return r;
}

static int
ontap_qtree_add (const struct json_val *rec, const char *w, void *opaque)
{
    struct ontap_qtree x;
    int r = ontap_qtree_one (rec, w, &x);

    if (r == 0 && (r = ontap_qtree_vec_append (opaque, x)) < 0) {
        ontap_qtree_release (&x);
    }
    return r;
}

int
ontap_decode_qtrees (const struct json_val *doc, const char *what,
                     struct ontap_qtree_vec *out)
{
    return ontap_each_record (doc, what, out->len, ontap_qtree_add, out);
}

static int
ontap_job_state_parse (const char *s)
{
    static const struct {
        const char *n;
        enum ontap_job_state st;
    } t[] = {
        { "queued", ONTAP_JOB_QUEUED }, { "running", ONTAP_JOB_RUNNING },
        { "paused", ONTAP_JOB_PAUSED }, { "success", ONTAP_JOB_SUCCESS },
        { "failure", ONTAP_JOB_FAILURE },
    };

    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (strcmp (s, t[i].n) == 0) {
            return (int) t[i].st;
        }
    }
    return -1;
}

int
ontap_decode_job (const struct json_val *doc, const char *what,
                  struct ontap_job *out)
{
    struct ontap_job j = { .uuid = "" };
    char *state = NULL;
    int st, r;

    if ((r = ontap_uuid_field (doc, "uuid", what, j.uuid)) < 0 ||
        (r = ontap_str (doc, "state", what, true, &state)) < 0) {
        goto fail;
    }
    if ((st = ontap_job_state_parse (state)) < 0) {
        r = set_error (EPROTO, "%s: unknown job state '%.40s'", what, state);
        goto fail;
    }
    j.state = (enum ontap_job_state) st;
    if ((r = vs_json_opt_i64 (doc, "code", &j.code)) < 0) {
        error_prepend ("%s: ", what);
        r = -EPROTO;
        goto fail;
    }
    if ((r = ontap_str (doc, "message", what, false, &j.message)) < 0 ||
        (r = ontap_str (doc, "description", what, false,
                        &j.description)) < 0) {
        goto fail;
    }
    free (state);
    *out = j;
    return 0;
fail:
    free (state);
    ontap_job_release (&j);
    return r;
}

int
ontap_decode_job_link (const struct json_val *doc, const char *what,
                       char uuid[ONTAP_UUID_MAX + 1])
{
    if (vs_json_get (doc, "job") == NULL) {
        return set_error (ENOENT, "%s: no job in the reply", what);
    }
    return ontap_uuid_field (doc, "job.uuid", what, uuid);
}

int
ontap_decode_next (const struct json_val *doc, const char *what, char **out)
{
    char *href = NULL;
    int r = ontap_str (doc, "_links.next.href", what, false, &href);

    if (r < 0) {
        return r;
    }
    if (href && (strncmp (href, "/api/", 5) != 0 ||
                 strpbrk (href, " \r\n\t#") != NULL)) {
        free (href);
        return set_error (EPROTO, "%s: _links.next.href is not a path "
                          "under /api/", what);
    }
    *out = href;
    return 0;
}

void
ontap_version_release (struct ontap_version *v)
{
    free (v->full);
    v->full = NULL;
}

void
ontap_volume_release (struct ontap_volume *v)
{
    free (v->name);
    free (v->style);
    free (v->junction_path);
    free (v->svm);
    memset (v, 0, sizeof *v);
}

void
ontap_volume_vec_free (struct ontap_volume_vec *v)
{
    for (size_t i = 0; i < v->len; i++) {
        ontap_volume_release (&v->ptr[i]);
    }
    ontap_volume_vec_reset (v);
}

int
ontap_volume_copy (const struct ontap_volume *v, struct ontap_volume *out)
{
    struct ontap_volume x = { .uuid = "" };

    memcpy (x.uuid, v->uuid, sizeof x.uuid);
    x.name = v->name ? strdup (v->name) : NULL;
    x.style = v->style ? strdup (v->style) : NULL;
    x.junction_path = v->junction_path ? strdup (v->junction_path) : NULL;
    x.svm = v->svm ? strdup (v->svm) : NULL;
    if ((v->name && !x.name) || (v->style && !x.style) ||
        (v->junction_path && !x.junction_path) || (v->svm && !x.svm)) {
        ontap_volume_release (&x);
        return set_error (ENOMEM, "out of memory");
    }
    *out = x;
    return 0;
}

void
ontap_snapshot_release (struct ontap_snapshot *s)
{
    free (s->name);
    free (s->create_time);
    memset (s, 0, sizeof *s);
}

void
ontap_snapshot_vec_free (struct ontap_snapshot_vec *v)
{
    for (size_t i = 0; i < v->len; i++) {
        ontap_snapshot_release (&v->ptr[i]);
    }
    ontap_snapshot_vec_reset (v);
}

void
ontap_qtree_release (struct ontap_qtree *q)
{
    free (q->name);
    memset (q, 0, sizeof *q);
    q->security_style = -1;
}

void
ontap_qtree_vec_free (struct ontap_qtree_vec *v)
{
    for (size_t i = 0; i < v->len; i++) {
        ontap_qtree_release (&v->ptr[i]);
    }
    ontap_qtree_vec_reset (v);
}

void
ontap_job_release (struct ontap_job *j)
{
    free (j->message);
    free (j->description);
    j->message = j->description = NULL;
}

const char *
ontap_job_state_name (enum ontap_job_state s)
{
    switch (s) {
    case ONTAP_JOB_QUEUED: return "queued";
    case ONTAP_JOB_RUNNING: return "running";
    case ONTAP_JOB_PAUSED: return "paused";
    case ONTAP_JOB_SUCCESS: return "success";
    case ONTAP_JOB_FAILURE: return "failure";
    }
    return "unknown";
}

const char *
ontap_security_style_name (enum ontap_security_style s)
{
    switch (s) {
    case ONTAP_SEC_UNIX: return "unix";
    case ONTAP_SEC_NTFS: return "ntfs";
    case ONTAP_SEC_MIXED: return "mixed";
    }
    return "unknown";
}

/* ------------------------------------------------------------ records
 *
 * One record as a reply holds it, {"records": [{...}]}, for a caller
 * that keeps what it looked up (a run's journal: docs/internals/
 * ontap-flow.md, "Facts handed over") and reads it back later through
 * the decoders above, with their checks. */

static int
ontap_record_end (struct sbuf *b, struct jsonw *w, char **out)
{
    vs_jw_obj_end (w);
    vs_jw_arr_end (w);
    vs_jw_obj_end (w);
    *out = vs_sbuf_detach (b, NULL);
    return *out ? 0 : set_error (ENOMEM, "out of memory");
}

static void
ontap_record_begin (struct sbuf *b, struct jsonw *w)
{
    vs_sbuf_init (b, 4096);
    vs_jw_init (w, b, false);
    vs_jw_obj_begin (w);
    vs_jw_key (w, "records");
    vs_jw_arr_begin (w);
    vs_jw_obj_begin (w);
}

static void
ontap_record_sub (struct jsonw *w, const char *k, const char *sub,
                  const char *v)
{
    if (v) {
        vs_jw_key (w, k);
        vs_jw_obj_begin (w);
        vs_jw_kv_str (w, sub, v);
        vs_jw_obj_end (w);
    }
}

int
ontap_volume_record (const struct ontap_volume *v, char **out)
{
    struct sbuf b;
    struct jsonw w;

    ontap_record_begin (&b, &w);
    vs_jw_kv_str (&w, "uuid", v->uuid);
    vs_jw_kv_str (&w, "name", v->name);
    if (v->style) {
        vs_jw_kv_str (&w, "style", v->style);
    }
    ontap_record_sub (&w, "nas", "path", v->junction_path);
    ontap_record_sub (&w, "svm", "name", v->svm);
    return ontap_record_end (&b, &w, out);
}

int
ontap_snapshot_record (const struct ontap_snapshot *s, char **out)
{
    struct sbuf b;
    struct jsonw w;

    ontap_record_begin (&b, &w);
    vs_jw_kv_str (&w, "uuid", s->uuid);
    vs_jw_kv_str (&w, "name", s->name);
    if (s->create_time) {
        vs_jw_kv_str (&w, "create_time", s->create_time);
    }
    return ontap_record_end (&b, &w, out);
}

int
ontap_qtree_record (const struct ontap_qtree *q, char **out)
{
    struct sbuf b;
    struct jsonw w;

    ontap_record_begin (&b, &w);
    vs_jw_kv_u64 (&w, "id", q->id);
    if (q->name) {
        vs_jw_kv_str (&w, "name", q->name);
    }
    if (q->security_style >= 0) {
        vs_jw_kv_str (&w, "security_style",
                      ontap_security_style_name (q->security_style));
    }
    ontap_record_sub (&w, "volume", "uuid",
                      q->volume_uuid[0] ? q->volume_uuid : NULL);
    return ontap_record_end (&b, &w, out);
}

/* Parse json (len bytes) and check that it holds one record. */
static int
ontap_record_one (const char *json, size_t len, const char *what,
                  struct json_val **doc)
{
    const struct json_val *a = NULL;
    struct json_val *v = NULL;
    size_t n = 0;
    int r = vs_json_parse (json, len, what, &v);

    *doc = NULL;
    if (r < 0) {
        return r;
    }
    if ((r = ontap_records (v, what, &a, &n)) == 0 && n != 1) {
        r = set_error (EPROTO, "%s: %zu records, not one", what, n);
    }
    if (r < 0) {
        vs_json_free (v);
        return r;
    }
    *doc = v;
    return 0;
}

int
ontap_volume_from_record (const char *json, size_t len, const char *what,
                          struct ontap_volume *out)
{
    struct json_val *doc;
    struct ontap_volume_vec v = { 0 };
    int r = ontap_record_one (json, len, what, &doc);

    if (r == 0 && (r = ontap_decode_volumes (doc, what, &v)) == 0) {
        *out = v.ptr[0];
        v.len = 0;
    }
    ontap_volume_vec_free (&v);
    vs_json_free (doc);
    return r;
}

int
ontap_snapshot_from_record (const char *json, size_t len, const char *what,
                            struct ontap_snapshot *out)
{
    struct json_val *doc;
    struct ontap_snapshot_vec v = { 0 };
    int r = ontap_record_one (json, len, what, &doc);

    if (r == 0 && (r = ontap_decode_snapshots (doc, what, &v)) == 0) {
        *out = v.ptr[0];
        v.len = 0;
    }
    ontap_snapshot_vec_free (&v);
    vs_json_free (doc);
    return r;
}

int
ontap_qtree_from_record (const char *json, size_t len, const char *what,
                         struct ontap_qtree *out)
{
    struct json_val *doc;
    struct ontap_qtree_vec v = { 0 };
    int r = ontap_record_one (json, len, what, &doc);

    if (r == 0 && (r = ontap_decode_qtrees (doc, what, &v)) == 0) {
        *out = v.ptr[0];
        v.len = 0;
    }
    ontap_qtree_vec_free (&v);
    vs_json_free (doc);
    return r;
}

/* n decimal digits at *p, advancing it; -1 if they are not there. */
static int
ontap_digits (const char **p, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9') {
            return -1;
        }
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    return v;
}

int
ontap_time_parse (const char *s, int64_t *out)
{
    static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
                                 30, 31 };
    const char *p = s;
    struct tm tm = { 0 };
    int f[6], oh = 0, om = 0, sign = 0;
    time_t t;

    for (int i = 0; i < 6; i++) {
        if ((f[i] = ontap_digits (&p, i == 0 ? 4 : 2)) < 0 ||
            (i < 5 && *p++ != "--T::"[i])) {
            return -EINVAL;
        }
    }
    if (f[0] < 1970 || f[1] < 1 || f[1] > 12 || f[2] < 1 ||
        f[2] > mdays[f[1] - 1] || f[3] > 23 || f[4] > 59 || f[5] > 60) {
        return -EINVAL;
    }
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++) {
        }
    }
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p++ == '-' ? -1 : 1;
        if ((oh = ontap_digits (&p, 2)) < 0) {
            return -EINVAL;
        }
        p += *p == ':';
        if ((om = ontap_digits (&p, 2)) < 0 || oh > 23 || om > 59) {
            return -EINVAL;
        }
    } else {
        return -EINVAL;
    }
    if (*p != '\0') {
        return -EINVAL;
    }
    tm.tm_year = f[0] - 1900;
    tm.tm_mon = f[1] - 1;
    tm.tm_mday = f[2];
    tm.tm_hour = f[3];
    tm.tm_min = f[4];
    tm.tm_sec = f[5];
    if ((t = timegm (&tm)) == (time_t) -1) {
        return -EINVAL;
    }
    *out = (int64_t) t - sign * (int64_t) (oh * 3600 + om * 60);
    return 0;
}
