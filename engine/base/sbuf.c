#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "engine/base/sbuf.h"

void
vs_sbuf_init (struct sbuf *b, size_t max)
{
    memset (b, 0, sizeof *b);
    b->max = max;
}

void
vs_sbuf_release (struct sbuf *b)
{
    size_t max = b->max;

    free (b->data);
    memset (b, 0, sizeof *b);
    b->max = max;
}

void
vs_sbuf_reset (struct sbuf *b)
{
    b->len = 0;
    b->err = 0;
    if (b->data) {
        b->data[0] = '\0';
    }
}

static int
sbuf_grow (struct sbuf *b, size_t extra)
{
    size_t need, na;
    char *p;

    if (b->err) {
        return b->err;
    }
    if (extra > b->max || b->len > b->max - extra) {
        b->err = set_error (EFBIG, "buffer would exceed its limit of %zu bytes",
                            b->max);
        return b->err;
    }
    need = b->len + extra + 1;
    if (need <= b->alloc) {
        return 0;
    }
    na = b->alloc ? b->alloc : 64;
    while (na < need) {
        na = na > ((size_t) -1) / 2 ? need : na * 2;
    }
    if (na > b->max + 1) {
        na = b->max + 1;
    }
    p = realloc (b->data, na);
    if (p == NULL) {
        b->err = set_error (ENOMEM, "out of memory growing a buffer to %zu "
                            "bytes", na);
        return b->err;
    }
    b->data = p;
    b->alloc = na;
    return 0;
}

int
vs_sbuf_add (struct sbuf *b, const void *p, size_t n)
{
    int r = sbuf_grow (b, n);

    if (r < 0) {
        return r;
    }
    if (n) {
        memcpy (b->data + b->len, p, n);
    }
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int
vs_sbuf_addstr (struct sbuf *b, const char *s)
{
    return vs_sbuf_add (b, s, strlen (s));
}

int
vs_sbuf_addch (struct sbuf *b, char c)
{
    return vs_sbuf_add (b, &c, 1);
}

int
vs_sbuf_printf (struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n, r;

    va_start (ap, fmt);
    n = vsnprintf (NULL, 0, fmt, ap);
    va_end (ap);
    if (n < 0) {
        return b->err = set_error (EINVAL, "bad format string");
    }
    r = sbuf_grow (b, (size_t) n);
    if (r < 0) {
        return r;
    }
    va_start (ap, fmt);
    vsnprintf (b->data + b->len, (size_t) n + 1, fmt, ap);
    va_end (ap);
    b->len += (size_t) n;
    return 0;
}

char *
vs_sbuf_detach (struct sbuf *b, size_t *len)
{
    char *p;

    if (b->err) {
        vs_sbuf_release (b);
        return NULL;
    }
    if (b->data == NULL) {
        if (sbuf_grow (b, 0) < 0) {
            return NULL;
        }
        b->data[0] = '\0';     /* nothing was added: "" */
    }
    p = b->data;
    if (len) {
        *len = b->len;
    }
    b->data = NULL;
    vs_sbuf_release (b);
    return p;
}

void
vs_str_list_add (char *buf, size_t size, size_t i, size_t n,
                 const char *prefix, const char *item)
{
    size_t used = size ? strnlen (buf, size - 1) : 0;

    if (size == 0) {
        return;
    }
    snprintf (buf + used, size - used, "%s%s%s",
              i == 0 ? "" : i + 1 == n ? " or " : ", ", prefix, item);
}
