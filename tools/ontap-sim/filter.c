/* Query filter values as ONTAP documents them (docs/ontap-sim.md,
 * "Query filters"): alternatives separated by '|', each optionally
 * negated with a leading '!', then one of
 *   "text"      a double-quoted literal, matched exactly (no operators);
 *   <x <=x >x >=x  ordered comparison (numeric when both sides are
 *               numbers, else byte-wise);
 *   a..b        inclusive range, same ordering;
 *   text with * wildcards (any run of characters);
 *   text        exact match.
 * No I/O and no JSON here, so the fuzz harness (tests/fuzz/
 * fuzz-sim-query.c) can drive it directly. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tools/ontap-sim/sim.h"

/* '*' matches any run (also empty); everything else literally. */
static bool
sim_glob (const char *p, size_t pn, const char *s)
{
    const char *star = NULL, *back = NULL;
    size_t i = 0, si = 0, sn = strlen (s);

    while (si < sn) {
        if (i < pn && p[i] == '*') {
            star = p + i++;
            back = s + si;
        } else if (i < pn && p[i] == s[si]) {
            i++;
            si++;
        } else if (star) {
            i = (size_t) (star - p) + 1;
            si = (size_t) (++back - s);
        } else {
            return false;
        }
    }
    while (i < pn && p[i] == '*') {
        i++;
    }
    return i == pn;
}

static bool
sim_num (const char *s, size_t n, double *out)
{
    char buf[64], *end;

    if (n == 0 || n >= sizeof buf) {
        return false;
    }
    memcpy (buf, s, n);
    buf[n] = '\0';
    if (strspn (buf, "+-0123456789.eE") != n) {
        return false;
    }
    errno = 0;
    *out = strtod (buf, &end);
    return errno == 0 && *end == '\0' && end != buf;
}

/* <0, 0, >0 like strcmp: numbers as numbers, else bytes. */
static int
sim_cmp (const char *val, const char *x, size_t xn)
{
    double a, b;
    size_t vn = strlen (val);
    int r;

    if (sim_num (val, vn, &a) && sim_num (x, xn, &b)) {
        return (a > b) - (a < b);
    }
    r = memcmp (val, x, vn < xn ? vn : xn);
    if (r == 0) {
        r = (vn > xn) - (vn < xn);
    }
    return r;
}

static const char *
sim_memmem (const char *h, size_t hn, const char *n, size_t nn)
{
    for (size_t i = 0; i + nn <= hn; i++) {
        if (memcmp (h + i, n, nn) == 0) {
            return h + i;
        }
    }
    return NULL;
}

static bool
sim_alt_plain (const char *val, const char *a, size_t n)
{
    const char *dots;

    if (n >= 2 && a[0] == '"' && a[n - 1] == '"') {
        return strlen (val) == n - 2 && memcmp (val, a + 1, n - 2) == 0;
    }
    if (n >= 2 && (a[0] == '<' || a[0] == '>') && a[1] == '=') {
        int c = sim_cmp (val, a + 2, n - 2);

        return a[0] == '<' ? c <= 0 : c >= 0;
    }
    if (n >= 1 && (a[0] == '<' || a[0] == '>')) {
        int c = sim_cmp (val, a + 1, n - 1);

        return a[0] == '<' ? c < 0 : c > 0;
    }
    if ((dots = sim_memmem (a, n, "..", 2)) != NULL) {
        size_t ln = (size_t) (dots - a);

        return sim_cmp (val, a, ln) >= 0 &&
               sim_cmp (val, dots + 2, n - ln - 2) <= 0;
    }
    if (memchr (a, '*', n)) {
        return sim_glob (a, n, val);
    }
    return strlen (val) == n && memcmp (val, a, n) == 0;
}

/* Leading '!'s negate (each one flips). */
static bool
sim_alt (const char *val, const char *a, size_t n)
{
    bool neg = false;

    while (n > 0 && a[0] == '!') {
        neg = !neg;
        a++;
        n--;
    }
    return sim_alt_plain (val, a, n) != neg;
}

/* The end of the alternative starting at p: the next '|' outside
 * double quotes. */
static const char *
sim_alt_end (const char *p)
{
    bool quoted = false;

    for (; *p; p++) {
        if (*p == '"') {
            quoted = !quoted;
        } else if (*p == '|' && !quoted) {
            break;
        }
    }
    return p;
}

bool
sim_filter_value (const char *val, const char *pattern)
{
    const char *p = pattern;

    for (;;) {
        const char *e = sim_alt_end (p);

        if (sim_alt (val, p, (size_t) (e - p))) {
            return true;
        }
        if (*e == '\0') {
            return false;
        }
        p = e + 1;
    }
}
