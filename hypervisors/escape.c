/* Escaping writers: every name that comes from a .vmx (VM, network,
 * disk, annotation) reaches a target definition through one of these,
 * so a name holding quotes, "$()", backticks, newlines or markup stays
 * data.  All of them append to an sbuf, whose errors are sticky: the
 * emitters check once at the end.
 *
 * Rules per context:
 *   XML (attribute or text): & < > ' " as entities; TAB, LF, CR as
 *     character references (attribute normalisation would eat them);
 *     characters XML 1.0 cannot hold become U+FFFD.
 *   YAML: always a double-quoted scalar; \ and " escaped; every control
 *     character, DEL, C1, U+2028/2029, U+FEFF and U+FFFE/FFFF as \uXXXX
 *     (YAML 1.1 parsers reject them raw).
 *   PowerShell: always a single-quoted (verbatim) string, where only the
 *     quote characters are special: ' and the typographic quotes
 *     U+2018..U+201B, which PowerShell also accepts, are doubled.
 *   Comment lines (PowerShell, YAML, Proxmox): controls and line
 *     separators become '?', so a name cannot end the comment.
 *   Proxmox description: PVE's own encoding (percent-encode controls,
 *     ':' and bytes >= 0x7f), plus '%' so the text decodes back exactly.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "hypervisors/hv.h"

long
hv_utf8_next (const unsigned char *s, size_t n, size_t *used)
{
    unsigned need;
    long cp, min;

    *used = 1;
    if (s[0] < 0x80) {
        return s[0];
    }
    if ((s[0] & 0xe0) == 0xc0) {
        need = 1, cp = s[0] & 0x1f, min = 0x80;
    } else if ((s[0] & 0xf0) == 0xe0) {
        need = 2, cp = s[0] & 0x0f, min = 0x800;
    } else if ((s[0] & 0xf8) == 0xf0) {
        need = 3, cp = s[0] & 0x07, min = 0x10000;
    } else {
        return -1;
    }
    if (n < need + 1) {
        return -1;
    }
    for (unsigned i = 1; i <= need; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return -1;
        }
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return -1;
    }
    *used = need + 1;
    return cp;
}

static void
esc_put_cp (struct sbuf *b, long cp)
{
    char u[4];
    size_t n;

    if (cp < 0x80) {
        u[0] = (char) cp, n = 1;
    } else if (cp < 0x800) {
        u[0] = (char) (0xc0 | cp >> 6);
        u[1] = (char) (0x80 | (cp & 0x3f)), n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char) (0xe0 | cp >> 12);
        u[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char) (0x80 | (cp & 0x3f)), n = 3;
    } else {
        u[0] = (char) (0xf0 | cp >> 18);
        u[1] = (char) (0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char) (0x80 | ((cp >> 6) & 0x3f));
        u[3] = (char) (0x80 | (cp & 0x3f)), n = 4;
    }
    vs_sbuf_add (b, u, n);
}

/* Next code point of [*p, e); invalid bytes come back as U+FFFD. */
static long
esc_next (const unsigned char **p, const unsigned char *e)
{
    size_t used;
    long cp = hv_utf8_next (*p, (size_t) (e - *p), &used);

    *p += used;
    return cp < 0 ? 0xfffd : cp;
}

#define ESC_LOOP(s, cp)                                                     \
    for (const unsigned char *p_ = (const unsigned char *) (s),            \
             *e_ = p_ + strlen (s); p_ < e_;)                              \
        for (long cp = esc_next (&p_, e_), once_ = 1; once_; once_ = 0)

static bool
esc_xml_ok (long cp)
{
    return cp == 0x9 || cp == 0xa || cp == 0xd ||
        (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) ||
        cp >= 0x10000;
}

void
hv_esc_xml (struct sbuf *b, const char *s)
{
    ESC_LOOP (s, cp) {
        switch (cp) {
        case '&': vs_sbuf_addstr (b, "&amp;"); break;
        case '<': vs_sbuf_addstr (b, "&lt;"); break;
        case '>': vs_sbuf_addstr (b, "&gt;"); break;
        case '\'': vs_sbuf_addstr (b, "&apos;"); break;
        case '"': vs_sbuf_addstr (b, "&quot;"); break;
        case '\t': vs_sbuf_addstr (b, "&#9;"); break;
        case '\n': vs_sbuf_addstr (b, "&#10;"); break;
        case '\r': vs_sbuf_addstr (b, "&#13;"); break;
        default: esc_put_cp (b, esc_xml_ok (cp) ? cp : 0xfffd); break;
        }
    }
}

static bool
esc_yaml_plain (long cp)
{
    return cp >= 0x20 && cp != 0x7f && !(cp >= 0x80 && cp <= 0x9f) &&
        cp != 0x2028 && cp != 0x2029 && cp != 0xfeff && cp != 0xfffe &&
        cp != 0xffff;
}

void
hv_esc_yaml (struct sbuf *b, const char *s)
{
    vs_sbuf_addch (b, '"');
    ESC_LOOP (s, cp) {
        if (cp == '"' || cp == '\\') {
            vs_sbuf_addch (b, '\\');
            vs_sbuf_addch (b, (char) cp);
        } else if (cp == '\n') {
            vs_sbuf_addstr (b, "\\n");
        } else if (cp == '\t') {
            vs_sbuf_addstr (b, "\\t");
        } else if (esc_yaml_plain (cp)) {
            esc_put_cp (b, cp);
        } else {
            vs_sbuf_printf (b, "\\u%04lx", (unsigned long) cp);
        }
    }
    vs_sbuf_addch (b, '"');
}

void
hv_esc_ps (struct sbuf *b, const char *s)
{
    vs_sbuf_addch (b, '\'');
    ESC_LOOP (s, cp) {
        if (cp == '\'' || (cp >= 0x2018 && cp <= 0x201b)) {
            esc_put_cp (b, cp);
        }
        esc_put_cp (b, cp);
    }
    vs_sbuf_addch (b, '\'');
}

void
hv_esc_comment (struct sbuf *b, const char *s)
{
    ESC_LOOP (s, cp) {
        bool line_break = cp < 0x20 || cp == 0x7f || (cp >= 0x80 &&
                                                      cp <= 0x9f) ||
            cp == 0x2028 || cp == 0x2029;

        esc_put_cp (b, line_break ? '?' : cp);
    }
}

void
hv_esc_pve_text (struct sbuf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
        if (*p < 0x20 || *p == ':' || *p == '%' || *p >= 0x7f) {
            vs_sbuf_printf (b, "%%%02X", *p);
        } else {
            vs_sbuf_addch (b, (char) *p);
        }
    }
}

void
hv_dns_label (struct sbuf *b, const char *s, size_t max)
{
    size_t start = b->len, n = 0;
    bool dash = false;

    for (const unsigned char *p = (const unsigned char *) s; *p && n < max;
         p++) {
        if (isalnum (*p) && *p < 0x80) {
            if (dash && n > 0 && n + 1 < max) {
                vs_sbuf_addch (b, '-');
                n++;
            }
            vs_sbuf_addch (b, (char) tolower (*p));
            n++;
            dash = false;
        } else {
            dash = true;
        }
    }
    if (n == 0 && b->err == 0 && b->len == start) {
        vs_sbuf_addstr (b, "vm");
    }
}
