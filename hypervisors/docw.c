/* A document writer with two outputs: block-style YAML (every string
 * double-quoted by hv_esc_yaml) or JSON (engine/base/jsonw.h).  The
 * KubeVirt emitter describes its objects once and gets both, so the YAML
 * and the JSON cannot drift apart (a test parses both and compares).
 *
 * YAML layout follows kubectl's: "key:" then the nested map indented by
 * two; sequence items start "- " at the parent key's indentation.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "hypervisors/docw.h"

void
hv_docw_init (struct docw *w, struct sbuf *b, bool json)
{
    memset (w, 0, sizeof *w);
    w->b = b;
    w->json = json;
    if (json) {
        vs_jw_init (&w->jw, b, true);
    }
}

static void
docw_spaces (struct docw *w, int n)
{
    for (int i = 0; i < n; i++) {
        vs_sbuf_addch (w->b, ' ');
    }
}

/* Start a line for 'key' (NULL inside a sequence) at the current level. */
static void
docw_line (struct docw *w, const char *key)
{
    int ind = w->depth ? w->indent[w->depth - 1] : 0;
    bool seq = w->depth && w->is_seq[w->depth - 1];

    if (w->dash) {
        docw_spaces (w, ind - 2);
        vs_sbuf_addstr (w->b, "- ");
        w->dash = false;
    } else if (seq) {
        docw_spaces (w, ind);
        vs_sbuf_addstr (w->b, "- ");
    } else {
        docw_spaces (w, ind);
    }
    if (key) {
        vs_sbuf_addstr (w->b, key);
        vs_sbuf_addch (w->b, ':');
    }
}

static void
docw_push (struct docw *w, bool seq, int indent)
{
    if (w->depth >= DOCW_MAX_DEPTH) {
        w->b->err = w->b->err ? w->b->err : -E2BIG;     /* a bug, not input */
        return;
    }
    w->is_seq[w->depth] = seq;
    w->indent[w->depth] = indent;
    w->depth++;
}

void
hv_docw_map (struct docw *w, const char *key)
{
    int ind = w->depth ? w->indent[w->depth - 1] : 0;

    if (w->json) {
        if (key) {
            vs_jw_key (&w->jw, key);
        }
        vs_jw_obj_begin (&w->jw);
        docw_push (w, false, 0);
        return;
    }
    if (key == NULL && w->depth == 0) {
        docw_push (w, false, 0);                /* the document itself */
        return;
    }
    if (key == NULL) {                          /* a map item in a seq */
        if (w->dash) {
            /* "- - ": not used by the emitters */
            w->b->err = w->b->err ? w->b->err : -EINVAL;
        }
        w->dash = true;
        docw_push (w, false, ind + 2);
        return;
    }
    docw_line (w, key);
    vs_sbuf_addch (w->b, '\n');
    docw_push (w, false, ind + 2);
}

void
hv_docw_seq (struct docw *w, const char *key)
{
    int ind = w->depth ? w->indent[w->depth - 1] : 0;

    if (w->json) {
        vs_jw_key (&w->jw, key);
        vs_jw_arr_begin (&w->jw);
        docw_push (w, true, 0);
        return;
    }
    docw_line (w, key);
    vs_sbuf_addch (w->b, '\n');
    docw_push (w, true, ind);
}

void
hv_docw_end (struct docw *w)
{
    if (w->depth == 0) {
        return;
    }
    w->depth--;
    if (w->json) {
        if (w->is_seq[w->depth]) {
            vs_jw_arr_end (&w->jw);
        } else {
            vs_jw_obj_end (&w->jw);
        }
    }
    w->dash = false;
}

void
hv_docw_str (struct docw *w, const char *key, const char *val)
{
    if (w->json) {
        if (key) {
            vs_jw_key (&w->jw, key);
        }
        vs_jw_str (&w->jw, val);
        return;
    }
    docw_line (w, key);
    vs_sbuf_addstr (w->b, key ? " " : "");
    hv_esc_yaml (w->b, val);
    vs_sbuf_addch (w->b, '\n');
}

void
hv_docw_u64 (struct docw *w, const char *key, uint64_t v)
{
    if (w->json) {
        vs_jw_kv_u64 (&w->jw, key, v);
        return;
    }
    docw_line (w, key);
    vs_sbuf_printf (w->b, " %" PRIu64 "\n", v);
}

void
hv_docw_bool (struct docw *w, const char *key, bool v)
{
    if (w->json) {
        vs_jw_kv_bool (&w->jw, key, v);
        return;
    }
    docw_line (w, key);
    vs_sbuf_addstr (w->b, v ? " true\n" : " false\n");
}

void
hv_docw_empty (struct docw *w, const char *key)
{
    if (w->json) {
        vs_jw_key (&w->jw, key);
        vs_jw_obj_begin (&w->jw);
        vs_jw_obj_end (&w->jw);
        return;
    }
    docw_line (w, key);
    vs_sbuf_addstr (w->b, " {}\n");
}
