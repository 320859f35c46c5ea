/* JSON reading over cJSON 1.7.  cJSON keeps numbers as doubles, so
 * integer getters insist on an integral value inside the exact range of
 * a double (2^53) rather than silently rounding. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/dl-cjson.h"
#include "engine/base/error.h"
#include "engine/base/json.h"

#define JSON_MAX_DEPTH 64
#define JSON_EXACT_MAX 9007199254740992.0       /* 2^53 */

static int
json_depth_ok (const cJSON *n, int depth)
{
    if (depth > JSON_MAX_DEPTH) {
        return 0;
    }
    for (const cJSON *c = n->child; c; c = c->next) {
        if (!json_depth_ok (c, depth + 1)) {
            return 0;
        }
    }
    return 1;
}

int
vs_json_parse (const char *buf, size_t len, const char *what,
            struct json_val **out)
{
    const char *end = NULL;
    cJSON *root;
    size_t off;
    int r;

    if ((r = vs_dl_cjson ()) < 0) {
        return r;
    }
    if (what == NULL) {
        what = "JSON input";
    }
    if (len == 0) {
        return set_error (EPROTO, "%s: empty, expected JSON", what);
    }
    root = cJSON_ParseWithLengthOpts (buf, len, &end, 0);
    if (root == NULL) {
        const char *ep = cJSON_GetErrorPtr ();

        off = (ep && ep >= buf && ep <= buf + len) ? (size_t) (ep - buf) : 0;
        return set_error (EPROTO, "%s: malformed JSON near byte %zu", what,
                          off);
    }
    /* Only whitespace (or a NUL terminator) may follow the value. */
    for (off = end ? (size_t) (end - buf) : len; off < len; off++) {
        if (buf[off] == '\0') {
            break;
        }
        if (!strchr (" \t\r\n", buf[off])) {
            cJSON_Delete (root);
            return set_error (EPROTO, "%s: trailing data after JSON at byte "
                              "%zu", what, off);
        }
    }
    if (!json_depth_ok (root, 0)) {
        cJSON_Delete (root);
        return set_error (EPROTO, "%s: JSON nested deeper than %d levels", what,
                          JSON_MAX_DEPTH);
    }
    *out = (struct json_val *) root;
    return 0;
}

void
vs_json_free (struct json_val *v)
{
    if (v == NULL) {
        return;         /* also when libcjson could not be loaded */
    }
    cJSON_Delete ((cJSON *) v);
}

/* Walk "a.b[2].c".  Keys are matched case-sensitively. */
const struct json_val *
vs_json_get (const struct json_val *v, const char *path)
{
    const cJSON *n = (const cJSON *) v;
    const char *p = path;
    char key[256];

    while (n && *p) {
        if (*p == '.') {
            p++;
            continue;
        }
        if (*p == '[') {
            char *e;
            unsigned long idx = strtoul (p + 1, &e, 10);

            if (*e != ']' || !cJSON_IsArray (n) || idx > 0x7fffffffUL) {
                return NULL;
            }
            n = cJSON_GetArrayItem (n, (int) idx);
            p = e + 1;
            continue;
        }
        size_t k = strcspn (p, ".[");
        if (k >= sizeof key || !cJSON_IsObject (n)) {
            return NULL;
        }
        memcpy (key, p, k);
        key[k] = '\0';
        n = cJSON_GetObjectItemCaseSensitive (n, key);
        p += k;
    }
    return (const struct json_val *) n;
}

enum vs_json_type
vs_json_type (const struct json_val *v)
{
    const cJSON *n = (const cJSON *) v;

    if (n == NULL) {
        return JSON_INVALID;
    }
    if (cJSON_IsNull (n)) {
        return JSON_NULL;
    }
    if (cJSON_IsBool (n)) {
        return JSON_BOOL;
    }
    if (cJSON_IsNumber (n)) {
        return JSON_NUMBER;
    }
    if (cJSON_IsString (n)) {
        return JSON_STRING;
    }
    if (cJSON_IsArray (n)) {
        return JSON_ARRAY;
    }
    if (cJSON_IsObject (n)) {
        return JSON_OBJECT;
    }
    return JSON_INVALID;
}

const char *
vs_json_type_name (enum vs_json_type t)
{
    switch (t) {
    case JSON_NULL: return "null";
    case JSON_BOOL: return "boolean";
    case JSON_NUMBER: return "number";
    case JSON_STRING: return "string";
    case JSON_ARRAY: return "array";
    case JSON_OBJECT: return "object";
    default: return "nothing";
    }
}

static int
json_lookup (const struct json_val *v, const char *path, enum vs_json_type want,
             const cJSON **out, int optional)
{
    const struct json_val *n = vs_json_get (v, path);
    enum vs_json_type t = vs_json_type (n);

    if (n == NULL || (optional && t == JSON_NULL)) {
        if (optional) {
            *out = NULL;
            return 0;
        }
        return set_error (ENOENT, "missing field '%s'", path);
    }
    if (t != want) {
        return set_error (EPROTO, "field '%s' is a %s, expected a %s", path,
                          vs_json_type_name (t), vs_json_type_name (want));
    }
    *out = (const cJSON *) n;
    return 0;
}

static int
json_str_common (const struct json_val *v, const char *path, char **out,
                 int optional)
{
    const cJSON *n;
    char *s;
    int r = json_lookup (v, path, JSON_STRING, &n, optional);

    if (r < 0 || n == NULL) {
        return r;
    }
    s = strdup (n->valuestring);
    if (s == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    *out = s;
    return 0;
}

int
vs_json_get_str (const struct json_val *v, const char *path, char **out)
{
    return json_str_common (v, path, out, 0);
}

int
vs_json_opt_str (const struct json_val *v, const char *path, char **out)
{
    return json_str_common (v, path, out, 1);
}

static int
json_num_common (const struct json_val *v, const char *path, double *out,
                 int optional)
{
    const cJSON *n;
    int r = json_lookup (v, path, JSON_NUMBER, &n, optional);

    if (r < 0 || n == NULL) {
        return r == 0 ? 1 : r;   /* 1: absent */
    }
    *out = n->valuedouble;
    return 0;
}

static int
json_u64_common (const struct json_val *v, const char *path, uint64_t *out,
                 int optional)
{
    double d;
    int r = json_num_common (v, path, &d, optional);

    if (r != 0) {
        return r > 0 ? 0 : r;
    }
    if (d < 0 || d > JSON_EXACT_MAX || floor (d) != d) {
        return set_error (EPROTO, "field '%s' is not a non-negative integer "
                          "below 2^53", path);
    }
    *out = (uint64_t) d;
    return 0;
}

static int
json_i64_common (const struct json_val *v, const char *path, int64_t *out,
                 int optional)
{
    double d;
    int r = json_num_common (v, path, &d, optional);

    if (r != 0) {
        return r > 0 ? 0 : r;
    }
    if (d < -JSON_EXACT_MAX || d > JSON_EXACT_MAX || floor (d) != d) {
        return set_error (EPROTO, "field '%s' is not an integer within 2^53",
                          path);
    }
    *out = (int64_t) d;
    return 0;
}

int
vs_json_get_u64 (const struct json_val *v, const char *path, uint64_t *out)
{
    return json_u64_common (v, path, out, 0);
}

int
vs_json_opt_u64 (const struct json_val *v, const char *path, uint64_t *out)
{
    return json_u64_common (v, path, out, 1);
}

int
vs_json_get_i64 (const struct json_val *v, const char *path, int64_t *out)
{
    return json_i64_common (v, path, out, 0);
}

int
vs_json_opt_i64 (const struct json_val *v, const char *path, int64_t *out)
{
    return json_i64_common (v, path, out, 1);
}

int
vs_json_get_double (const struct json_val *v, const char *path, double *out)
{
    double d = 0;
    int r = json_num_common (v, path, &d, 0);

    if (r != 0) {
        return r < 0 ? r : set_error (ENOENT, "missing field '%s'", path);
    }
    *out = d;
    return 0;
}

static int
json_bool_common (const struct json_val *v, const char *path, bool *out,
                  int optional)
{
    const cJSON *n;
    int r = json_lookup (v, path, JSON_BOOL, &n, optional);

    if (r < 0 || n == NULL) {
        return r;
    }
    *out = cJSON_IsTrue (n);
    return 0;
}

int
vs_json_get_bool (const struct json_val *v, const char *path, bool *out)
{
    return json_bool_common (v, path, out, 0);
}

int
vs_json_opt_bool (const struct json_val *v, const char *path, bool *out)
{
    return json_bool_common (v, path, out, 1);
}

const char *
vs_json_string_value (const struct json_val *v)
{
    const cJSON *n = (const cJSON *) v;

    return cJSON_IsString (n) ? n->valuestring : NULL;
}

size_t
vs_json_array_len (const struct json_val *v)
{
    const cJSON *n = (const cJSON *) v;

    return cJSON_IsArray (n) ? (size_t) cJSON_GetArraySize (n) : 0;
}

const struct json_val *
vs_json_array_at (const struct json_val *v, size_t i)
{
    const cJSON *n = (const cJSON *) v;

    if (!cJSON_IsArray (n) || i > (size_t) 0x7fffffff) {
        return NULL;
    }
    return (const struct json_val *) cJSON_GetArrayItem (n, (int) i);
}

size_t
vs_json_object_len (const struct json_val *v)
{
    const cJSON *n = (const cJSON *) v;

    return cJSON_IsObject (n) ? (size_t) cJSON_GetArraySize (n) : 0;
}

const struct json_val *
vs_json_object_at (const struct json_val *v, size_t i, const char **key)
{
    const cJSON *n = (const cJSON *) v;
    const cJSON *c;

    if (!cJSON_IsObject (n)) {
        return NULL;
    }
    for (c = n->child; c && i > 0; c = c->next) {
        i--;
    }
    if (c && key) {
        *key = c->string;
    }
    return (const struct json_val *) c;
}

char *
vs_json_print (const struct json_val *v)
{
    char *s = cJSON_PrintUnformatted ((const cJSON *) v);

    if (s == NULL) {
        set_error (ENOMEM, "out of memory printing JSON");
    }
    return s;
}
