/* Bounded growable byte buffer (curl dynbuf, git strbuf).
 *
 * Every sbuf has a cap; growing past it fails with -EFBIG and the error
 * is sticky, so a writer can append many pieces and check once at the
 * end.  data is always NUL-terminated when non-NULL.  The struct is
 * embedded: vs_sbuf_init() / vs_sbuf_release(), and release leaves it zeroed
 * and reusable.
 */
#ifndef VMSHIFT_BASE_SBUF_H
#define VMSHIFT_BASE_SBUF_H

#include <stddef.h>

struct sbuf {
    char *data;
    size_t len;
    size_t alloc;
    size_t max;
    int err;            /* 0, or the first -errno */
};

void vs_sbuf_init (struct sbuf *b, size_t max);
void vs_sbuf_release (struct sbuf *b);
int vs_sbuf_add (struct sbuf *b, const void *p, size_t n);
int vs_sbuf_addstr (struct sbuf *b, const char *s);
int vs_sbuf_addch (struct sbuf *b, char c);
int vs_sbuf_printf (struct sbuf *b, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
void vs_sbuf_reset (struct sbuf *b);
/* Hand the buffer to the caller (free() it); the sbuf is released.
 * Returns NULL (and sets the error) if a previous append failed. */
char *vs_sbuf_detach (struct sbuf *b, size_t *len);

/* Item i (from 0) of n of a list for people, "a, b or c", appended to the
 * NUL-terminated string in buf (size bytes; start with ""): the separator
 * its position needs, then prefix and item.  Cut (still terminated) when
 * buf is full. */
void vs_str_list_add (char *buf, size_t size, size_t i, size_t n,
                      const char *prefix, const char *item);

#endif
