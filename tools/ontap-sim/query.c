/* Collection queries, as docs/ontap-rest.md describes them: handlers
 * render every record in full; this file checks fields= against ONTAP's
 * names (fields.c), applies the query filters (filter.c's operators on
 * dotted field paths; an object field matches by its name or uuid),
 * pagination
 * (max_records with an opaque _links.next.href cursor) and the fields=
 * projection, and leaves out HAL links unless Accept asks for hal+json. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/ontap-sim/sim.h"

#define SIM_MAX_FIELDS 64

static const char *const sim_reserved[] = {
    "fields", "max_records", "return_records", "return_timeout", "order_by",
    "start.offset", "ignore_unknown_fields", NULL,
};

struct sim_fieldset {
    char *buf;
    const char *f[SIM_MAX_FIELDS];
    size_t n;
    bool all;
};

void
sim_records_init (struct sim_records *rs, const char *resource)
{
    rs->resource = resource;
    vs_sbuf_init (&rs->buf, SIM_MAX_REPLY);
    vs_jw_init (&rs->w, &rs->buf, false);
    rs->n = 0;
    vs_jw_arr_begin (&rs->w);
}

void
sim_records_release (struct sim_records *rs)
{
    vs_sbuf_release (&rs->buf);
}

static bool
sim_is_reserved (const char *k)
{
    for (size_t i = 0; sim_reserved[i]; i++) {
        if (strcmp (k, sim_reserved[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* A scalar as the string a query value is compared with. */
static bool
sim_scalar_str (const struct json_val *v, char *buf, size_t n)
{
    char *p;

    switch (vs_json_type (v)) {
    case JSON_STRING:
        snprintf (buf, n, "%s", vs_json_string_value (v));
        return true;
    case JSON_NUMBER:
    case JSON_BOOL:
        p = vs_json_print (v);
        if (p == NULL) {
            return false;
        }
        snprintf (buf, n, "%s", p);
        free (p);
        return true;
    default:
        return false;
    }
}

/* A filter on an object field (volume=vol1) compares the object's name,
 * then its uuid; on an array, any element may match. */
static bool
sim_filter_one (const struct json_val *v, const char *pattern, int depth)
{
    char val[1024];

    if (v == NULL) {
        return false;
    }
    if (vs_json_type (v) == JSON_OBJECT) {
        return sim_filter_one (vs_json_get (v, "name"), pattern, depth) ||
               sim_filter_one (vs_json_get (v, "uuid"), pattern, depth);
    }
    if (vs_json_type (v) == JSON_ARRAY && depth == 0) {
        for (size_t i = 0; i < vs_json_array_len (v); i++) {
            if (sim_filter_one (vs_json_array_at (v, i), pattern, 1)) {
                return true;
            }
        }
        return false;
    }
    return sim_scalar_str (v, val, sizeof val) &&
           sim_filter_value (val, pattern);
}

static bool
sim_filter_match (const struct json_val *rec, const char *key,
                  const char *pattern)
{
    return sim_filter_one (vs_json_get (rec, key), pattern, 0);
}

static bool
sim_record_matches (const struct sim_req *q, const struct json_val *rec)
{
    for (size_t i = 0; i < q->nargs; i++) {
        if (!sim_is_reserved (q->args[i].key) &&
            !sim_filter_match (rec, q->args[i].key, q->args[i].value)) {
            return false;
        }
    }
    return true;
}

static void
sim_fields_add (struct sim_fieldset *fs, char *list)
{
    char *save = NULL;

    for (char *t = strtok_r (list, ",", &save); t; t = strtok_r (NULL, ",", &save)) {
        if (strcmp (t, "*") == 0 || strcmp (t, "**") == 0) {
            fs->all = true;
        } else if (fs->n < SIM_MAX_FIELDS) {
            fs->f[fs->n++] = t;
        }
    }
}

/* ONTAP refuses a fields= name it does not have (unless
 * ignore_unknown_fields=true) with 400 and error 262197. */
static int
sim_fields_check (struct sim_reply *r, const struct sim_req *q,
                  const char *resource)
{
    const char *ig = sim_req_arg (q, "ignore_unknown_fields");

    if (ig && strcmp (ig, "true") == 0) {
        return 0;
    }
    for (size_t i = 0; i < q->nargs; i++) {
        const char *bad;
        size_t n;

        if (strcmp (q->args[i].key, "fields") == 0 &&
            sim_fields_validate (resource, q->args[i].value, &bad, &n) < 0) {
            sim_reply_error (r, 400, "262197", "fields",
                             "The value \"%.*s\" is invalid for field "
                             "\"fields\" (<field,...>)", (int) (n > 256 ? 256 : n),
                             bad);
            return -1;
        }
    }
    return 0;
}

static int
sim_fields_init (struct sim_fieldset *fs, const struct sim_req *q,
                 const char *defaults)
{
    struct sbuf b;
    size_t len;

    memset (fs, 0, sizeof *fs);
    vs_sbuf_init (&b, 1u << 16);
    vs_sbuf_addstr (&b, defaults);
    for (size_t i = 0; i < q->nargs; i++) {
        if (strcmp (q->args[i].key, "fields") == 0) {
            vs_sbuf_addch (&b, ',');
            vs_sbuf_addstr (&b, q->args[i].value);
        }
    }
    vs_sbuf_addstr (&b, ",_links");
    fs->buf = vs_sbuf_detach (&b, &len);
    if (fs->buf == NULL) {
        return -ENOMEM;
    }
    sim_fields_add (fs, fs->buf);
    return 0;
}

/* 1: path selected whole; 2: some selected field lies below it. */
static int
sim_fields_select (const struct sim_fieldset *fs, const char *path)
{
    size_t n = strlen (path);
    int r = 0;

    for (size_t i = 0; i < fs->n; i++) {
        if (strcmp (fs->f[i], path) == 0) {
            return 1;
        }
        if (strncmp (fs->f[i], path, n) == 0 && fs->f[i][n] == '.') {
            r = 2;
        }
    }
    return r;
}

static void
sim_emit_all (struct jsonw *w, const struct json_val *v, bool hal)
{
    char *s;

    if (vs_json_type (v) == JSON_OBJECT) {
        vs_jw_obj_begin (w);
        for (size_t i = 0; i < vs_json_object_len (v); i++) {
            const char *k;
            const struct json_val *m = vs_json_object_at (v, i, &k);

            if (hal || strcmp (k, "_links") != 0) {
                vs_jw_key (w, k);
                sim_emit_all (w, m, hal);
            }
        }
        vs_jw_obj_end (w);
    } else if (vs_json_type (v) == JSON_ARRAY) {
        vs_jw_arr_begin (w);
        for (size_t i = 0; i < vs_json_array_len (v); i++) {
            sim_emit_all (w, vs_json_array_at (v, i), hal);
        }
        vs_jw_arr_end (w);
    } else {
        s = vs_json_print (v);
        vs_jw_raw (w, s ? s : "null");
        free (s);
    }
}

static void
sim_project (struct jsonw *w, const struct json_val *obj, const char *prefix,
             const struct sim_fieldset *fs, bool hal)
{
    vs_jw_obj_begin (w);
    for (size_t i = 0; i < vs_json_object_len (obj); i++) {
        const char *k;
        const struct json_val *m = vs_json_object_at (obj, i, &k);
        char path[512];
        int sel;

        if (!hal && strcmp (k, "_links") == 0) {
            continue;
        }
        snprintf (path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", k);
        sel = (fs->all && *prefix == '\0') ? 1 : sim_fields_select (fs, path);
        if (sel == 1) {
            vs_jw_key (w, k);
            sim_emit_all (w, m, hal);
        } else if (sel == 2 && vs_json_type (m) == JSON_OBJECT) {
            vs_jw_key (w, k);
            sim_project (w, m, path, fs, hal);
        }
    }
    vs_jw_obj_end (w);
}

static void
sim_query_escape (struct sbuf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
            (*p >= '0' && *p <= '9') || strchr ("-._~*,|!", *p)) {
            vs_sbuf_addch (b, (char) *p);
        } else {
            vs_sbuf_addch (b, '%');
            vs_sbuf_addch (b, hex[*p >> 4]);
            vs_sbuf_addch (b, hex[*p & 15]);
        }
    }
}

/* "/api/...?<query without start.offset>[&start.offset=N]" */
static void
sim_href (struct sbuf *b, const struct sim_req *q, bool with_off, size_t off)
{
    char sep = '?';

    vs_sbuf_addstr (b, q->path);
    for (size_t i = 0; i < q->nargs; i++) {
        if (strcmp (q->args[i].key, "start.offset") == 0) {
            continue;
        }
        vs_sbuf_addch (b, sep);
        sep = '&';
        sim_query_escape (b, q->args[i].key);
        vs_sbuf_addch (b, '=');
        sim_query_escape (b, q->args[i].value);
    }
    if (with_off) {
        vs_sbuf_printf (b, "%cstart.offset=%zu", sep, off);
    }
}

static void
sim_links (struct jsonw *w, const struct sim_req *q, bool next, size_t off)
{
    struct sbuf h;

    vs_sbuf_init (&h, 1u << 16);
    vs_jw_key (w, "_links");
    vs_jw_obj_begin (w);
    if (q->hal) {
        sim_href (&h, q, false, 0);
        vs_jw_key (w, "self");
        vs_jw_obj_begin (w);
        vs_jw_kv_str (w, "href", h.data ? h.data : "");
        vs_jw_obj_end (w);
    }
    if (next) {
        vs_sbuf_reset (&h);
        sim_href (&h, q, true, off);
        vs_jw_key (w, "next");
        vs_jw_obj_begin (w);
        vs_jw_kv_str (w, "href", h.data ? h.data : "");
        vs_jw_obj_end (w);
    }
    vs_jw_obj_end (w);
    vs_sbuf_release (&h);
}

static bool
sim_arg_u64 (const struct sim_req *q, const char *key, uint64_t *out)
{
    const char *v = sim_req_arg (q, key);
    char *end;

    if (v == NULL) {
        return true;
    }
    errno = 0;
    *out = strtoull (v, &end, 10);
    return errno == 0 && end != v && *end == '\0' && v[0] != '-';
}

static int
sim_parse_records (struct sim_reply *r, struct sim_records *rs,
                   struct json_val **doc)
{
    vs_jw_arr_end (&rs->w);
    if (rs->buf.err || vs_json_parse (rs->buf.data, rs->buf.len, "records",
                                   doc) < 0) {
        sim_reply_error (r, 500, "1", NULL, "simulator could not render records");
        return -1;
    }
    return 0;
}

void
sim_reply_collection (struct sim_reply *r, const struct sim_req *q,
                      struct sim_records *rs, const char *defaults)
{
    struct json_val *doc = NULL;
    struct sim_fieldset fs;
    uint64_t max = UINT64_MAX, off = 0;
    const char *rr = sim_req_arg (q, "return_records");
    size_t total = 0, shown = 0;
    struct jsonw w;

    if (!sim_arg_u64 (q, "max_records", &max) || max == 0 ||
        !sim_arg_u64 (q, "start.offset", &off)) {
        sim_reply_error (r, 400, "2", "max_records",
                         "Invalid value for max_records or the cursor");
        return;
    }
    if (sim_fields_check (r, q, rs->resource) < 0 ||
        sim_parse_records (r, rs, &doc) < 0) {
        return;
    }
    if (sim_fields_init (&fs, q, defaults) < 0) {
        vs_json_free (doc);
        sim_reply_error (r, 500, "1", NULL, "out of memory");
        return;
    }
    vs_jw_init (&w, &r->body, true);
    vs_jw_obj_begin (&w);
    if (rr == NULL || strcmp (rr, "false") != 0) {
        vs_jw_key (&w, "records");
        vs_jw_arr_begin (&w);
    }
    for (size_t i = 0; i < vs_json_array_len (doc); i++) {
        const struct json_val *rec = vs_json_array_at (doc, i);

        if (!sim_record_matches (q, rec)) {
            continue;
        }
        if (total >= off && shown < max && (rr == NULL || strcmp (rr, "false"))) {
            sim_project (&w, rec, "", &fs, q->hal);
            shown++;
        }
        total++;
    }
    if (rr == NULL || strcmp (rr, "false") != 0) {
        vs_jw_arr_end (&w);
        vs_jw_kv_u64 (&w, "num_records", shown);
    } else {
        vs_jw_kv_u64 (&w, "num_records", total);
    }
    if (q->hal || off + shown < total) {
        sim_links (&w, q, off + shown < total, (size_t) (off + shown));
    }
    vs_jw_obj_end (&w);
    r->status = 200;
    free (fs.buf);
    vs_json_free (doc);
}

void
sim_reply_object (struct sim_reply *r, const struct sim_req *q,
                  struct sim_records *rs, const char *defaults)
{
    struct json_val *doc = NULL;
    struct sim_fieldset fs;
    struct jsonw w;

    if (sim_fields_check (r, q, rs->resource) < 0 ||
        sim_parse_records (r, rs, &doc) < 0) {
        return;
    }
    /* Without fields= a single object comes back whole. */
    if (sim_req_arg (q, "fields") == NULL) {
        defaults = "*";
    }
    if (vs_json_array_len (doc) != 1 || sim_fields_init (&fs, q, defaults) < 0) {
        vs_json_free (doc);
        sim_reply_error (r, 500, "1", NULL, "simulator could not render record");
        return;
    }
    vs_jw_init (&w, &r->body, true);
    sim_project (&w, vs_json_array_at (doc, 0), "", &fs, q->hal);
    r->status = 200;
    free (fs.buf);
    vs_json_free (doc);
}
