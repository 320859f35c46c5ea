#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine/base/jsonw.h"

void
vs_jw_init (struct jsonw *w, struct sbuf *b, bool pretty)
{
    memset (w, 0, sizeof *w);
    w->b = b;
    w->pretty = pretty;
}

static void
jw_indent (struct jsonw *w)
{
    if (w->pretty) {
        vs_sbuf_addch (w->b, '\n');
        for (int i = 0; i < w->depth; i++) {
            vs_sbuf_add (w->b, "  ", 2);
        }
    }
}

/* Called before every value or key: comma and indentation. */
static void
jw_before (struct jsonw *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->depth > 0) {
        if (w->need_comma[w->depth]) {
            vs_sbuf_addch (w->b, ',');
        }
        w->need_comma[w->depth] = true;
        jw_indent (w);
    }
}

static void
jw_open (struct jsonw *w, char c)
{
    jw_before (w);
    vs_sbuf_addch (w->b, c);
    if (w->depth + 1 >= JSONW_MAX_DEPTH) {
        w->b->err = -EFBIG;
        return;
    }
    w->depth++;
    w->need_comma[w->depth] = false;
}

static void
jw_close (struct jsonw *w, char c)
{
    bool had = w->need_comma[w->depth];

    if (w->depth > 0) {
        w->depth--;
    }
    if (had) {
        jw_indent (w);
    }
    vs_sbuf_addch (w->b, c);
    if (w->depth == 0 && w->pretty) {
        /* top-level value complete */
    }
}

void
vs_jw_obj_begin (struct jsonw *w)
{
    jw_open (w, '{');
}

void
vs_jw_obj_end (struct jsonw *w)
{
    jw_close (w, '}');
}

void
vs_jw_arr_begin (struct jsonw *w)
{
    jw_open (w, '[');
}

void
vs_jw_arr_end (struct jsonw *w)
{
    jw_close (w, ']');
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t
utf8_seq_len (const unsigned char *s, size_t n)
{
    size_t len, i;
    uint32_t cp;

    if (s[0] < 0x80) {
        return 1;
    } else if ((s[0] & 0xe0) == 0xc0) {
        len = 2;
        cp = s[0] & 0x1f;
    } else if ((s[0] & 0xf0) == 0xe0) {
        len = 3;
        cp = s[0] & 0x0f;
    } else if ((s[0] & 0xf8) == 0xf0) {
        len = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n) {
        return 0;
    }
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    return len;
}

void
vs_jw_escape (struct sbuf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *) s;
    size_t i = 0, l;

    vs_sbuf_addch (b, '"');
    while (i < n) {
        unsigned char c = p[i];

        if (c == '"' || c == '\\') {
            vs_sbuf_addch (b, '\\');
            vs_sbuf_addch (b, (char) c);
            i++;
        } else if (c == '\n') {
            vs_sbuf_add (b, "\\n", 2);
            i++;
        } else if (c == '\t') {
            vs_sbuf_add (b, "\\t", 2);
            i++;
        } else if (c == '\r') {
            vs_sbuf_add (b, "\\r", 2);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            vs_sbuf_printf (b, "\\u%04x", c);
            i++;
        } else if ((l = utf8_seq_len (p + i, n - i)) == 0) {
            vs_sbuf_add (b, "\\ufffd", 6);
            i++;
        } else {
            vs_sbuf_add (b, p + i, l);
            i += l;
        }
    }
    vs_sbuf_addch (b, '"');
}

void
vs_jw_key (struct jsonw *w, const char *k)
{
    jw_before (w);
    vs_jw_escape (w->b, k, strlen (k));
    vs_sbuf_add (w->b, w->pretty ? ": " : ":", w->pretty ? 2 : 1);
    w->after_key = true;
}

void
vs_jw_str (struct jsonw *w, const char *s)
{
    if (s == NULL) {
        vs_jw_null (w);
        return;
    }
    vs_jw_strn (w, s, strlen (s));
}

void
vs_jw_strn (struct jsonw *w, const char *s, size_t n)
{
    jw_before (w);
    vs_jw_escape (w->b, s, n);
}

void
vs_jw_u64 (struct jsonw *w, uint64_t v)
{
    jw_before (w);
    vs_sbuf_printf (w->b, "%" PRIu64, v);
}

void
vs_jw_i64 (struct jsonw *w, int64_t v)
{
    jw_before (w);
    vs_sbuf_printf (w->b, "%" PRId64, v);
}

void
vs_jw_double (struct jsonw *w, double v)
{
    jw_before (w);
    if (!isfinite (v)) {
        vs_sbuf_addstr (w->b, "null");
    } else {
        vs_sbuf_printf (w->b, "%.6g", v);
    }
}

void
vs_jw_bool (struct jsonw *w, bool v)
{
    jw_before (w);
    vs_sbuf_addstr (w->b, v ? "true" : "false");
}

void
vs_jw_null (struct jsonw *w)
{
    jw_before (w);
    vs_sbuf_addstr (w->b, "null");
}

void
vs_jw_raw (struct jsonw *w, const char *json)
{
    jw_before (w);
    vs_sbuf_addstr (w->b, json);
}

void
vs_jw_kv_str (struct jsonw *w, const char *k, const char *v)
{
    vs_jw_key (w, k);
    vs_jw_str (w, v);
}

void
vs_jw_kv_u64 (struct jsonw *w, const char *k, uint64_t v)
{
    vs_jw_key (w, k);
    vs_jw_u64 (w, v);
}

void
vs_jw_kv_i64 (struct jsonw *w, const char *k, int64_t v)
{
    vs_jw_key (w, k);
    vs_jw_i64 (w, v);
}

void
vs_jw_kv_double (struct jsonw *w, const char *k, double v)
{
    vs_jw_key (w, k);
    vs_jw_double (w, v);
}

void
vs_jw_kv_bool (struct jsonw *w, const char *k, bool v)
{
    vs_jw_key (w, k);
    vs_jw_bool (w, v);
}
