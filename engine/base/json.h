/* JSON reading: the only interface to cJSON (engine/base/json.c is the
 * only file that includes cJSON.h).
 *
 * Typed getters take a dotted path ("svm.name", "records[0].uuid"),
 * copy out what they need, and on failure set an error that names the
 * path and, when given, what was being parsed.  Missing keys give
 * -ENOENT; a value of the wrong type or out of range gives -EPROTO.
 * The json_opt_* variants return 0 and leave *out untouched when the key
 * is absent (or null).
 */
#ifndef VMSHIFT_BASE_JSON_H
#define VMSHIFT_BASE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_val;        /* opaque: one node of a parsed document */

enum vs_json_type {
    JSON_INVALID = 0, JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING,
    JSON_ARRAY, JSON_OBJECT,
};

/* Parse len bytes (need not be NUL-terminated).  'what' names the input
 * in error messages ("reply to GET /api/cluster", "'map.json'").
 * Nesting deeper than 64 levels and trailing garbage are rejected. */
int vs_json_parse (const char *buf, size_t len, const char *what,
                struct json_val **out);
void vs_json_free (struct json_val *v);

/* NULL if the path does not exist.  "" returns v itself. */
const struct json_val *vs_json_get (const struct json_val *v, const char *path);
enum vs_json_type vs_json_type (const struct json_val *v);
const char *vs_json_type_name (enum vs_json_type t);

int vs_json_get_str (const struct json_val *v, const char *path, char **out);
int vs_json_get_u64 (const struct json_val *v, const char *path, uint64_t *out);
int vs_json_get_i64 (const struct json_val *v, const char *path, int64_t *out);
int vs_json_get_double (const struct json_val *v, const char *path,
                        double *out);
int vs_json_get_bool (const struct json_val *v, const char *path, bool *out);
int vs_json_opt_str (const struct json_val *v, const char *path, char **out);
int vs_json_opt_u64 (const struct json_val *v, const char *path, uint64_t *out);
int vs_json_opt_i64 (const struct json_val *v, const char *path, int64_t *out);
int vs_json_opt_bool (const struct json_val *v, const char *path, bool *out);

/* Borrowed views, valid until vs_json_free of the document. */
/* NULL if not a string */
const char *vs_json_string_value (const struct json_val *v);
/* 0 if not an array */
size_t vs_json_array_len (const struct json_val *v);
const struct json_val *vs_json_array_at (const struct json_val *v, size_t i);
size_t vs_json_object_len (const struct json_val *v);
/* i-th member of an object; *key borrowed.  NULL when out of range. */
const struct json_val *vs_json_object_at (const struct json_val *v, size_t i,
                                       const char **key);
/* Serialise compactly (caller frees); NULL on error. */
char *vs_json_print (const struct json_val *v);

#endif
