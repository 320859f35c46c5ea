/* Shared formats/ code: type names, probing, io helpers, path checks,
 * problem lists and dispatch. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/base/endian.h"
#include "engine/base/error.h"
#include "engine/base/sbuf.h"
#include "formats/formats.h"

static const struct fmt_driver *const fmt_drivers[] = {
#define FMT_DRIVER(id, value, driver) &driver,
#include "formats/drivers.def"
#undef FMT_DRIVER
    NULL,
};

const struct fmt_driver *
fmt_driver_at (size_t i)
{
    return i < sizeof fmt_drivers / sizeof fmt_drivers[0] ? fmt_drivers[i]
                                                          : NULL;
}

const struct fmt_driver *
fmt_driver_of (enum fmt_type t)
{
    for (size_t i = 0; fmt_drivers[i]; i++) {
        if (fmt_drivers[i]->type == t) {
            return fmt_drivers[i];
        }
    }
    return NULL;
}

const struct fmt_driver *
fmt_driver_by_name (const char *name)
{
    for (size_t i = 0; name && fmt_drivers[i]; i++) {
        if (strcasecmp (name, fmt_drivers[i]->name) == 0) {
            return fmt_drivers[i];
        }
    }
    return NULL;
}

bool
fmt_driver_has_extension (const struct fmt_driver *d, const char *ext)
{
    for (size_t i = 0; d->extensions && d->extensions[i]; i++) {
        if (strcasecmp (ext, d->extensions[i]) == 0) {
            return true;
        }
    }
    return false;
}

const struct fmt_driver *
fmt_driver_by_extension (const char *path)
{
    const char *base = strrchr (path, '/');
    const char *dot;

    base = base ? base + 1 : path;
    dot = strrchr (base, '.');
    if (dot == NULL) {
        return NULL;
    }
    for (size_t i = 0; fmt_drivers[i]; i++) {
        if (fmt_driver_has_extension (fmt_drivers[i], dot + 1)) {
            return fmt_drivers[i];
        }
    }
    return NULL;
}

uint64_t
fmt_driver_target_size (const struct fmt_driver *d, uint64_t src)
{
    uint64_t a = d->size_align ? d->size_align : 1;

    return src % a == 0 ? src : src - src % a + a;
}

const char *
fmt_type_name (enum fmt_type t)
{
    const struct fmt_driver *d = fmt_driver_of (t);

    return d ? d->name : "unknown";
}

enum fmt_type
fmt_type_from_name (const char *s)
{
    for (size_t i = 0; fmt_drivers[i]; i++) {
        if (strcmp (s, fmt_drivers[i]->name) == 0) {
            return fmt_drivers[i]->type;
        }
    }
    return FMT_UNKNOWN;
}

/* The best score wins, the earlier line on a tie; the driver without a
 * probe (raw) takes what nobody claims. */
static enum fmt_type
fmt_probe_any (const struct fmt_probe_buf *b)
{
    enum fmt_probe_score best = FMT_PROBE_NO;
    enum fmt_type t = FMT_UNKNOWN;
    enum fmt_type fallback = FMT_UNKNOWN;

    for (size_t i = 0; fmt_drivers[i]; i++) {
        enum fmt_probe_score s;

        if (fmt_drivers[i]->probe == NULL) {
            if (fallback == FMT_UNKNOWN) {
                fallback = fmt_drivers[i]->type;
            }
            continue;
        }
        s = fmt_drivers[i]->probe (b);
        if (s > best) {
            best = s;
            t = fmt_drivers[i]->type;
        }
    }
    return best == FMT_PROBE_NO ? fallback : t;
}

enum fmt_type
fmt_probe (const uint8_t *buf, size_t len)
{
    struct fmt_probe_buf b = { .head = buf, .head_len = len };

    return fmt_probe_any (&b);
}

bool
fmt_mem_is_zero (const void *buf, size_t n)
{
    const uint8_t *b = buf;

    return n == 0 || (b[0] == 0 && memcmp (b, b + 1, n - 1) == 0);
}

int
fmt_io_pread (const struct fmt_io *io, uint32_t file, void *buf, size_t n,
              uint64_t off)
{
    if (n == 0) {
        return 0;
    }
    return io->pread (io->opaque, file, buf, n, off);
}

const char *
fmt_io_name (const struct fmt_io *io, uint32_t file)
{
    const char *s = io->name ? io->name (io->opaque, file) : NULL;

    return s ? s : "(unnamed)";
}

int
fmt_io_add_data (const struct fmt_io *io, uint32_t file, uint64_t off,
                 uint64_t len, uint64_t guest_off, struct fmt_extent_list *out)
{
    if (len == 0) {
        return 0;
    }
    if (io->extents) {
        return io->extents (io->opaque, file, off, len, guest_off, out);
    }
    return fmt_extents_add_data (out, guest_off, len, file, off);
}

int
fmt_check_rel_path (const char *name)
{
    size_t n = strlen (name);
    const char *p = name;

    if (n == 0) {
        return set_error (EINVAL, "empty extent file name");
    }
    if (n > 4095) {
        return set_error (EINVAL, "extent file name is longer than 4095 bytes");
    }
    if (name[0] == '/') {
        return set_error (EINVAL, "extent file '%s' is an absolute path; "
                          "extents must stay in the descriptor's directory",
                          name);
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char) name[i] < 0x20 || name[i] == 0x7f ||
            name[i] == '\\') {
            return set_error (EINVAL, "extent file name '%s' contains a "
                              "control character or backslash", name);
        }
    }
    while (*p) {
        size_t c = strcspn (p, "/");

        if ((c == 2 && p[0] == '.' && p[1] == '.')) {
            return set_error (EINVAL, "extent file '%s' leaves the "
                              "descriptor's directory ('..')", name);
        }
        if (c == 0 && p != name) {
            return set_error (EINVAL, "extent file '%s' has an empty path "
                              "component", name);
        }
        p += c;
        if (*p == '/') {
            p++;
            if (*p == '\0') {
                return set_error (EINVAL, "extent file '%s' names a "
                                  "directory", name);
            }
        }
    }
    return 0;
}

void
fmt_problems_init (struct fmt_problems *p)
{
    memset (p, 0, sizeof *p);
}

void
fmt_problems_release (struct fmt_problems *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free (p->msg[i]);
    }
    memset (p, 0, sizeof *p);
}

static void
fmt_problem_add (struct fmt_problems *p, enum fmt_severity sev, int err,
                 const char *fmt, va_list ap)
{
    char buf[512];
    size_t pre = 0;
    char *s;

    if (p->n >= FMT_MAX_PROBLEMS) {
        p->dropped++;
        return;
    }
    if (sev == FMT_SEV_WARNING) {
        pre = (size_t) snprintf (buf, sizeof buf, "warning: ");
    }
    vsnprintf (buf + pre, sizeof buf - pre, fmt, ap);
    for (char *c = buf; *c; c++) {
        if ((unsigned char) *c < 0x20) {
            *c = '?';
        }
    }
    s = strdup (buf);
    if (s == NULL) {
        p->dropped++;
        return;
    }
    p->item[p->n] = (struct fmt_problem) {
        .severity = sev,
        .err = sev == FMT_SEV_ERROR ? (err > 0 ? err : EINVAL) : 0,
        .msg = s,
    };
    p->msg[p->n++] = s;
}

void
fmt_problem_err (struct fmt_problems *p, int err, const char *fmt, ...)
{
    va_list ap;

    va_start (ap, fmt);
    fmt_problem_add (p, FMT_SEV_ERROR, err, fmt, ap);
    va_end (ap);
}

void
fmt_problem (struct fmt_problems *p, const char *fmt, ...)
{
    va_list ap;

    va_start (ap, fmt);
    fmt_problem_add (p, FMT_SEV_ERROR, EINVAL, fmt, ap);
    va_end (ap);
}

void
fmt_warning (struct fmt_problems *p, const char *fmt, ...)
{
    va_list ap;

    va_start (ap, fmt);
    fmt_problem_add (p, FMT_SEV_WARNING, 0, fmt, ap);
    va_end (ap);
}

size_t
fmt_problems_count_errors (const struct fmt_problems *p)
{
    size_t n = 0;

    for (size_t i = 0; i < p->n; i++) {
        n += p->item[i].severity == FMT_SEV_ERROR;
    }
    return n;
}

int
fmt_problems_to_error (const struct fmt_problems *p, const char *file)
{
    for (size_t i = 0; i < p->n; i++) {
        if (p->item[i].severity == FMT_SEV_ERROR) {
            return set_error (p->item[i].err, "'%s': %s", file,
                              p->item[i].msg);
        }
    }
    return 0;
}

int
fmt_probe_io (const struct fmt_io *io, enum fmt_type *out)
{
    uint8_t head[4096], tail[512];
    struct fmt_probe_buf b = { .head = head, .tail = tail };
    int64_t sz = io->size (io->opaque, 0);
    int r;

    if (sz < 0) {
        return (int) sz;
    }
    b.file_size = (uint64_t) sz;
    b.name = io->name ? io->name (io->opaque, 0) : NULL;
    b.head_len = b.file_size < sizeof head ? (size_t) sz : sizeof head;
    b.tail_len = b.file_size < sizeof tail ? (size_t) sz : sizeof tail;
    r = fmt_io_pread (io, 0, head, b.head_len, 0);
    if (r == 0) {
        r = fmt_io_pread (io, 0, tail, b.tail_len, b.file_size - b.tail_len);
    }
    if (r < 0) {
        return r;
    }
    *out = fmt_probe_any (&b);
    return 0;
}

int
fmt_read_map (const struct fmt_io *io, enum fmt_type type,
              struct fmt_extent_list *out, struct fmt_source_info *info)
{
    const struct fmt_driver *d;

    if (type == FMT_UNKNOWN) {
        int r = fmt_probe_io (io, &type);

        if (r < 0) {
            return r;
        }
    }
    memset (info, 0, sizeof *info);
    info->type = type;
    d = fmt_driver_of (type);
    if (d == NULL) {
        return set_error (ENOTSUP, "'%s': unknown format", fmt_io_name (io, 0));
    }
    return d->read_map (io, out, info);
}

int
fmt_validate (const struct fmt_io *io, enum fmt_type type,
              struct fmt_problems *probs, struct fmt_source_info *info)
{
    const struct fmt_driver *d = fmt_driver_of (type);

    memset (info, 0, sizeof *info);
    info->type = type;
    if (d == NULL) {
        return set_error (ENOTSUP, "'%s': unknown format", fmt_io_name (io, 0));
    }
    return d->validate (io, probs, info);
}

int
fmt_plan (enum fmt_type to, const struct fmt_source_info *src,
          const struct fmt_extent_list *map, const struct fmt_plan_opts *o,
          struct fmt_layout *out)
{
    const struct fmt_driver *d = fmt_driver_of (to);
    int r;

    out->type = to;
    if (d == NULL || d->plan == NULL) {
        return set_error (ENOTSUP, "cannot write format '%s'",
                          fmt_type_name (to));
    }
    r = d->plan (src, map, o, out);
    if (r < 0) {
        return r;
    }
    return fmt_layout_check (out);
}

void
fmt_driver_list (char *buf, size_t len, bool targets, bool ext)
{
    size_t n = 0, k = 0;

    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; fmt_drivers[i]; i++) {
            const struct fmt_driver *d = fmt_drivers[i];

            if (targets && d->plan == NULL) {
                continue;
            }
            for (size_t e = 0; ext ? d->extensions[e] != NULL : e == 0; e++) {
                if (pass == 0) {
                    n++;
                } else {
                    vs_str_list_add (buf, len, k++, n, ext ? "." : "",
                                     ext ? d->extensions[e] : d->name);
                }
            }
        }
        if (pass == 0 && len > 0) {
            buf[0] = '\0';
        }
    }
}
