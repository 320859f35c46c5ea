/* Minimal JSON writer into a bounded sbuf.  It never parses; parsing is
 * engine/base/json.c's job.  Strings are escaped per RFC 8259 and bytes
 * that are not valid UTF-8 become U+FFFD, so any input name yields valid
 * JSON.  Errors are sticky in the sbuf. */
#ifndef VMSHIFT_BASE_JSONW_H
#define VMSHIFT_BASE_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/base/sbuf.h"

#define JSONW_MAX_DEPTH 32

struct jsonw {
    struct sbuf *b;
    int depth;
    bool pretty;
    bool after_key;
    bool need_comma[JSONW_MAX_DEPTH];
};

void vs_jw_init (struct jsonw *w, struct sbuf *b, bool pretty);
void vs_jw_obj_begin (struct jsonw *w);
void vs_jw_obj_end (struct jsonw *w);
void vs_jw_arr_begin (struct jsonw *w);
void vs_jw_arr_end (struct jsonw *w);
void vs_jw_key (struct jsonw *w, const char *k);
void vs_jw_str (struct jsonw *w, const char *s);   /* NULL writes null */
void vs_jw_strn (struct jsonw *w, const char *s, size_t n);
void vs_jw_u64 (struct jsonw *w, uint64_t v);
void vs_jw_i64 (struct jsonw *w, int64_t v);
void vs_jw_double (struct jsonw *w, double v);
void vs_jw_bool (struct jsonw *w, bool v);
void vs_jw_null (struct jsonw *w);
/* Append already-serialised JSON as one value. */
void vs_jw_raw (struct jsonw *w, const char *json);

void vs_jw_kv_str (struct jsonw *w, const char *k, const char *v);
void vs_jw_kv_u64 (struct jsonw *w, const char *k, uint64_t v);
void vs_jw_kv_i64 (struct jsonw *w, const char *k, int64_t v);
void vs_jw_kv_double (struct jsonw *w, const char *k, double v);
void vs_jw_kv_bool (struct jsonw *w, const char *k, bool v);

/* Escape s as a JSON string (with quotes) into b. */
void vs_jw_escape (struct sbuf *b, const char *s, size_t n);

#endif
