/* The .vmx file grammar (VMware's "dictionary" format).
 *
 * Facts, from VMware-written files and libvirt's vmx2xml test data:
 *   - one 'key = "value"' per line; whitespace around '=' is optional;
 *     old files also have unquoted values ('key = value');
 *   - '#' starts a comment line (also "#!/usr/bin/vmware");
 *   - keys are case-insensitive ("memsize", "memSize", "MEMSIZE");
 *   - inside values, '|' followed by two hex digits stands for that byte
 *     ("|22" is '"', "|7C" is '|'); there is no other escape;
 *   - ".encoding" names the character set of the values (UTF-8 on every
 *     current product; older hosted products wrote windows-1252).
 * Duplicate keys: the last one wins (what a later write by the product
 * would keep) and a warning names both lines.  Anything else that does
 * not fit the grammar is an error naming the line: a half-written file
 * must not be mistaken for a VM with fewer devices.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "engine/base/hex.h"
#include "hypervisors/hv.h"

#define VMX_MAX_KEY 256

struct vmx_cursor {
    const char *p;
    const char *end;
    const char *name;
    unsigned line;
};

/* Copy s[0..n) decoding "|XX" escapes.  A '|' not followed by two hex
 * digits is kept as written (VMware never writes one), and so is "|00",
 * which would cut the value short. */
static char *
vmx_unescape (const char *s, size_t n)
{
    char *out = malloc (n + 1), *o = out;

    if (out == NULL) {
        set_error (ENOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        int hi, lo;

        if (s[i] == '|' && i + 2 < n &&
            (hi = vs_hex_digit ((unsigned char) s[i + 1])) >= 0 &&
            (lo = vs_hex_digit ((unsigned char) s[i + 2])) >= 0 &&
            (hi | lo) != 0) {
            *o++ = (char) (hi << 4 | lo);
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

static char *
vmx_lower (const char *s)
{
    char *l = hv_strdup (s);

    for (char *p = l; p && *p; p++) {
        *p = (char) tolower ((unsigned char) *p);
    }
    return l;
}

static int
vmx_add (struct hv_vmx *v, const char *key, size_t klen, const char *val,
         size_t vlen, unsigned line)
{
    struct hv_kv kv = { .line = line };

    if (v->kv.len >= HV_VMX_MAX_KEYS) {
        return set_error (EFBIG, "more than %d keys", HV_VMX_MAX_KEYS);
    }
    kv.key = strndup (key, klen);
    kv.value = vmx_unescape (val, vlen);
    kv.lkey = kv.key ? vmx_lower (kv.key) : NULL;
    if (kv.key == NULL || kv.value == NULL || kv.lkey == NULL ||
        hv_kv_vec_append (&v->kv, kv) < 0) {
        free (kv.key);
        free (kv.value);
        free (kv.lkey);
        return set_error (ENOMEM, "out of memory");
    }
    return 0;
}

static const char *
vmx_skip_ws (const char *p, const char *eol)
{
    while (p < eol && (*p == ' ' || *p == '\t')) {
        p++;
    }
    return p;
}

/* The value part of a line: p points after '=' and whitespace. */
static int
vmx_value (struct vmx_cursor *c, const char *p, const char *eol,
           const char **vs, size_t *vn)
{
    if (p < eol && *p == '"') {
        const char *q = memchr (p + 1, '"', (size_t) (eol - p - 1));

        if (q == NULL) {
            return set_error (EINVAL, "'%s' line %u: unterminated quoted "
                              "value", c->name, c->line);
        }
        *vs = p + 1;
        *vn = (size_t) (q - p - 1);
        p = vmx_skip_ws (q + 1, eol);
        if (p < eol && *p != '#') {
            return set_error (EINVAL, "'%s' line %u: unexpected text after "
                              "the quoted value", c->name, c->line);
        }
        return 0;
    }
    /* Unquoted: up to a comment, trailing blanks dropped. */
    *vs = p;
    while (p < eol && *p != '#') {
        p++;
    }
    while (p > *vs && (p[-1] == ' ' || p[-1] == '\t')) {
        p--;
    }
    *vn = (size_t) (p - *vs);
    return 0;
}

static int
vmx_line (struct vmx_cursor *c, const char *p, const char *eol,
          struct hv_vmx *v)
{
    const char *k, *vs = NULL;
    size_t kn, vn = 0;
    int r;

    p = vmx_skip_ws (p, eol);
    if (p == eol || *p == '#') {
        return 0;
    }
    k = p;
    while (p < eol && *p != '=' && *p != ' ' && *p != '\t' && *p != '"') {
        if ((unsigned char) *p < 0x20 || (unsigned char) *p >= 0x7f) {
            return set_error (EINVAL, "'%s' line %u: invalid character "
                              "0x%02x in a key", c->name, c->line,
                              (unsigned char) *p);
        }
        p++;
    }
    kn = (size_t) (p - k);
    if (kn == 0 || kn > VMX_MAX_KEY) {
        return set_error (EINVAL, "'%s' line %u: expected 'key = \"value\"'",
                          c->name, c->line);
    }
    p = vmx_skip_ws (p, eol);
    if (p == eol || *p != '=') {
        return set_error (EINVAL, "'%s' line %u: expected '=' after key "
                          "'%.*s'", c->name, c->line, (int) kn, k);
    }
    p = vmx_skip_ws (p + 1, eol);
    r = vmx_value (c, p, eol, &vs, &vn);
    if (r < 0) {
        return r;
    }
    r = vmx_add (v, k, kn, vs, vn, c->line);
    if (r < 0) {
        error_prepend ("'%s' line %u: ", c->name, c->line);
    }
    return r;
}

static int
vmx_kv_cmp (const void *a, const void *b)
{
    const struct hv_kv *x = a, *y = b;
    int r = strcmp (x->lkey, y->lkey);

    if (r != 0) {
        return r;
    }
    return x->line < y->line ? -1 : x->line > y->line;
}

static void
vmx_kv_free (struct hv_kv *kv)
{
    free (kv->key);
    free (kv->lkey);
    free (kv->value);
}

/* Sort for binary search; keep the last of each duplicate key. */
static int
vmx_dedup (struct hv_vmx *v, struct hv_str_vec *warn)
{
    size_t o = 0;

    if (v->kv.len > 1) {
        qsort (v->kv.ptr, v->kv.len, sizeof v->kv.ptr[0], vmx_kv_cmp);
    }
    for (size_t i = 0; i < v->kv.len; i++) {
        if (o > 0 && strcmp (v->kv.ptr[o - 1].lkey, v->kv.ptr[i].lkey) == 0) {
            char *w = NULL;

            if (warn && warn->len < HV_MAX_WARNINGS &&
                asprintf (&w, "key '%s' appears twice (lines %u and %u); "
                          "the value on line %u is used",
                          v->kv.ptr[i].key, v->kv.ptr[o - 1].line,
                          v->kv.ptr[i].line, v->kv.ptr[i].line) >= 0 &&
                hv_str_vec_append (warn, w) < 0) {
                free (w);
                return -ENOMEM;
            }
            vmx_kv_free (&v->kv.ptr[o - 1]);
            v->kv.ptr[o - 1] = v->kv.ptr[i];
            continue;
        }
        v->kv.ptr[o++] = v->kv.ptr[i];
    }
    v->kv.len = o;
    return 0;
}

/* windows-1252 bytes 0x80..0x9f; 0 marks the five unassigned ones. */
static const unsigned short vmx_cp1252[32] = {
    0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
    0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
    0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
    0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178,
};

static char *
vmx_from_cp1252 (const char *s)
{
    size_t n = strlen (s);
    char *out = malloc (n * 3 + 1), *o = out;

    if (out == NULL) {
        return NULL;
    }
    for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
        unsigned cp = *p;

        if (cp >= 0x80 && cp < 0xa0) {
            cp = vmx_cp1252[cp - 0x80] ? vmx_cp1252[cp - 0x80] : 0xfffd;
        }
        if (cp < 0x80) {
            *o++ = (char) cp;
        } else if (cp < 0x800) {
            *o++ = (char) (0xc0 | cp >> 6);
            *o++ = (char) (0x80 | (cp & 0x3f));
        } else {
            *o++ = (char) (0xe0 | cp >> 12);
            *o++ = (char) (0x80 | ((cp >> 6) & 0x3f));
            *o++ = (char) (0x80 | (cp & 0x3f));
        }
    }
    *o = '\0';
    return out;
}

static bool
vmx_is_latin (const char *enc)
{
    static const char *const names[] = {
        "windows-1252", "cp1252", "iso-8859-1", "iso8859-1", "latin1",
        "us-ascii", "ascii",
    };

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (hv_str_ieq (enc, names[i])) {
            return true;
        }
    }
    return false;
}

/* Bring every value to UTF-8.  Only UTF-8 and the Latin-1 family are
 * converted; other encodings are kept as bytes with a warning (the
 * escaping writers replace what is not UTF-8). */
static int
vmx_recode (struct hv_vmx *v, struct hv_str_vec *warn)
{
    const char *enc = hv_vmx_get (v, ".encoding");

    if (enc == NULL || hv_str_ieq (enc, "UTF-8") || hv_str_ieq (enc, "utf8")) {
        return 0;
    }
    if (!vmx_is_latin (enc)) {
        char *w = NULL;

        if (warn && asprintf (&w, "values are in encoding '%s', which is "
                              "not converted; names may show U+FFFD",
                              enc) >= 0 && hv_str_vec_append (warn, w) < 0) {
            free (w);
            return -ENOMEM;
        }
        return 0;
    }
    for (size_t i = 0; i < v->kv.len; i++) {
        char *u = vmx_from_cp1252 (v->kv.ptr[i].value);

        if (u == NULL) {
            return set_error (ENOMEM, "out of memory");
        }
        free (v->kv.ptr[i].value);
        v->kv.ptr[i].value = u;
    }
    return 0;
}

static int
vmx_scan (struct vmx_cursor *c, struct hv_vmx *v)
{
    while (c->p < c->end) {
        const char *nl = memchr (c->p, '\n', (size_t) (c->end - c->p));
        const char *eol = nl ? nl : c->end;
        int r;

        c->line++;
        if (eol > c->p && eol[-1] == '\r') {
            eol--;
        }
        r = vmx_line (c, c->p, eol, v);
        if (r < 0) {
            return r;
        }
        c->p = nl ? nl + 1 : c->end;
    }
    return 0;
}

int
hv_vmx_parse (const char *buf, size_t len, const char *name,
              struct hv_vmx *out, struct hv_str_vec *warn)
{
    struct vmx_cursor c = { .p = buf, .end = buf + len, .name = name };
    struct hv_vmx v = { 0 };
    const char *nul;
    int r;

    if (len > HV_VMX_MAX_BYTES) {
        return set_error (EFBIG, "'%s' is %zu bytes, more than the %zu a "
                          ".vmx may have", name, len, HV_VMX_MAX_BYTES);
    }
    nul = memchr (buf, '\0', len);
    if (nul != NULL) {
        return set_error (EINVAL, "'%s' is not a text .vmx file (NUL byte "
                          "at offset %zu)", name, (size_t) (nul - buf));
    }
    r = vmx_scan (&c, &v);
    if (r == 0 && v.kv.len == 0) {
        r = set_error (EINVAL, "'%s' holds no 'key = \"value\"' lines", name);
    }
    if (r == 0) {
        r = vmx_dedup (&v, warn);
    }
    if (r == 0) {
        r = vmx_recode (&v, warn);
    }
    if (r < 0) {
        if (r == -ENOMEM) {
            set_error (ENOMEM, "out of memory reading '%s'", name);
        }
        hv_vmx_release (&v);
        return r;
    }
    *out = v;
    return 0;
}

void
hv_vmx_release (struct hv_vmx *v)
{
    for (size_t i = 0; i < v->kv.len; i++) {
        vmx_kv_free (&v->kv.ptr[i]);
    }
    hv_kv_vec_reset (&v->kv);
    free (v->encoding);
    v->encoding = NULL;
}

const char *
hv_vmx_get (const struct hv_vmx *v, const char *key)
{
    size_t lo = 0, hi = v->kv.len;
    char lk[VMX_MAX_KEY + 1];
    size_t n = strlen (key);

    if (n > VMX_MAX_KEY) {
        return NULL;
    }
    for (size_t i = 0; i <= n; i++) {
        lk[i] = (char) tolower ((unsigned char) key[i]);
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp (v->kv.ptr[mid].lkey, lk);

        if (c == 0) {
            return v->kv.ptr[mid].value;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

const char *
hv_vmx_getf (const struct hv_vmx *v, const char *fmt, ...)
{
    char key[VMX_MAX_KEY + 1];
    va_list ap;
    int n;

    va_start (ap, fmt);
    n = vsnprintf (key, sizeof key, fmt, ap);
    va_end (ap);
    if (n < 0 || (size_t) n >= sizeof key) {
        return NULL;
    }
    return hv_vmx_get (v, key);
}

bool
hv_vmx_bool (const struct hv_vmx *v, bool dflt, const char *fmt, ...)
{
    char key[VMX_MAX_KEY + 1];
    const char *s;
    va_list ap;
    int n;

    va_start (ap, fmt);
    n = vsnprintf (key, sizeof key, fmt, ap);
    va_end (ap);
    if (n < 0 || (size_t) n >= sizeof key ||
        (s = hv_vmx_get (v, key)) == NULL) {
        return dflt;
    }
    if (hv_str_ieq (s, "true") || hv_str_ieq (s, "yes") ||
        strcmp (s, "1") == 0) {
        return true;
    }
    if (hv_str_ieq (s, "false") || hv_str_ieq (s, "no") ||
        strcmp (s, "0") == 0) {
        return false;
    }
    return dflt;
}
