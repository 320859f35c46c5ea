/* YAML-or-JSON document writer for the KubeVirt emitter (docw.c). */
#ifndef VMSHIFT_HV_DOCW_H
#define VMSHIFT_HV_DOCW_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/base/jsonw.h"
#include "hypervisors/hv.h"

#define DOCW_MAX_DEPTH 24

struct docw {
    struct sbuf *b;
    bool json;
    struct jsonw jw;
    int depth;
    bool dash;                          /* next line starts a seq item */
    bool is_seq[DOCW_MAX_DEPTH];
    int indent[DOCW_MAX_DEPTH];
};

void hv_docw_init (struct docw *w, struct sbuf *b, bool json);
/* Open a map under key (NULL: the document, or an item of a sequence). */
void hv_docw_map (struct docw *w, const char *key);
void hv_docw_seq (struct docw *w, const char *key);
void hv_docw_end (struct docw *w);
/* key NULL: an item of the enclosing sequence. */
void hv_docw_str (struct docw *w, const char *key, const char *val);
void hv_docw_u64 (struct docw *w, const char *key, uint64_t v);
void hv_docw_bool (struct docw *w, const char *key, bool v);
void hv_docw_empty (struct docw *w, const char *key);      /* key: {} */

#endif
