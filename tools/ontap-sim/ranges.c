/* Sub-file clone ranges: "source-block:destination-block:block-count" in
 * 4 KiB blocks (docs/ontap-rest.md, "File clone").  The parser is
 * strict: three unsigned decimal numbers, no signs, spaces or leading
 * "+", count > 0, and the byte offsets they imply must fit in 63 bits.
 * This file is self-contained so tests/fuzz/fuzz-sim-range.c can build
 * it alone. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "engine/base/overflow.h"
#include "tools/ontap-sim/sim.h"

static int
sim_range_num (const char **p, char stop, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;

    if (*s < '0' || *s > '9') {
        return -1;
    }
    while (*s >= '0' && *s <= '9') {
        if (MUL_OVERFLOW (v, (uint64_t) 10, &v) ||
            ADD_OVERFLOW (v, (uint64_t) (*s - '0'), &v)) {
            return -1;
        }
        s++;
    }
    if (*s != stop) {
        return -1;
    }
    *out = v;
    *p = stop ? s + 1 : s;
    return 0;
}

/* The end of a range in bytes must stay below 2^63. */
static int
sim_range_fits (uint64_t start, uint64_t count)
{
    uint64_t end, bytes;

    return !ADD_OVERFLOW (start, count, &end) &&
           !MUL_OVERFLOW (end, (uint64_t) SIM_BLOCK, &bytes) &&
           bytes <= (uint64_t) INT64_MAX;
}

int
sim_range_parse (const char *s, struct sim_range *out)
{
    const char *p = s;
    struct sim_range r;

    if (sim_range_num (&p, ':', &r.src) < 0 ||
        sim_range_num (&p, ':', &r.dst) < 0 ||
        sim_range_num (&p, '\0', &r.count) < 0) {
        return set_error (EINVAL, "range '%.64s' is not "
                          "\"source-block:destination-block:block-count\"",
                          s);
    }
    if (r.count == 0) {
        return set_error (EINVAL, "range '%.64s' has a block count of 0", s);
    }
    if (!sim_range_fits (r.src, r.count) || !sim_range_fits (r.dst, r.count)) {
        return set_error (EINVAL, "range '%.64s' is too large", s);
    }
    *out = r;
    return 0;
}

static int
sim_span_cmp (const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;

    return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* Do any of the n spans [start, start+len) overlap? */
static int
sim_spans_overlap (uint64_t (*sp)[2], size_t n)
{
    qsort (sp, n, sizeof sp[0], sim_span_cmp);
    for (size_t i = 1; i < n; i++) {
        if (sp[i - 1][0] + sp[i - 1][1] > sp[i][0]) {
            return 1;
        }
    }
    return 0;
}

static int
sim_ranges_overlap (const struct sim_range *r, size_t n, int which)
{
    uint64_t (*sp)[2] = calloc (n ? n : 1, sizeof *sp);
    int ov;

    if (sp == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        sp[i][0] = which ? r[i].dst : r[i].src;
        sp[i][1] = r[i].count;
    }
    ov = sim_spans_overlap (sp, n);
    free (sp);
    return ov;
}

/* Source ranges against destination ranges (same file only). */
static int
sim_ranges_cross (const struct sim_range *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            if (r[i].src < r[j].dst + r[j].count &&
                r[j].dst < r[i].src + r[i].count) {
                return 1;
            }
        }
    }
    return 0;
}

int
sim_ranges_check (const struct sim_range *r, size_t n, bool same_file)
{
    int ov = sim_ranges_overlap (r, n, 0);

    if (ov < 0) {
        return set_error (ENOMEM, "out of memory checking ranges");
    }
    if (ov) {
        return set_error (EINVAL, "source ranges overlap each other");
    }
    ov = sim_ranges_overlap (r, n, 1);
    if (ov < 0) {
        return set_error (ENOMEM, "out of memory checking ranges");
    }
    if (ov) {
        return set_error (EINVAL, "destination ranges overlap each other");
    }
    if (same_file && sim_ranges_cross (r, n)) {
        return set_error (EINVAL, "source and destination are the same file "
                          "and a source range overlaps a destination range");
    }
    return 0;
}
