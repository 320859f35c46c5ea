/* Shared formats/ code: type names, probing, io helpers, path checks,
 * problem lists and dispatch. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/endian.h"
#include "engine/base/error.h"
#include "formats/formats.h"

static const char *const fmt_names[] = {
    [FMT_UNKNOWN] = "unknown", [FMT_RAW] = "raw", [FMT_VMDK] = "vmdk",
    [FMT_VHDX] = "vhdx", [FMT_QCOW2] = "qcow2",
};

const char *
fmt_type_name (enum fmt_type t)
{
    if ((size_t) t >= sizeof fmt_names / sizeof fmt_names[0]) {
        return "unknown";
    }
    return fmt_names[t];
}

enum fmt_type
fmt_type_from_name (const char *s)
{
    for (size_t i = 1; i < sizeof fmt_names / sizeof fmt_names[0]; i++) {
        if (strcmp (s, fmt_names[i]) == 0) {
            return (enum fmt_type) i;
        }
    }
    return FMT_UNKNOWN;
}

/* A text descriptor starts with a comment or "version=" and mentions
 * createType early; we accept leading blank lines and comments. */
static bool
fmt_looks_like_descriptor (const uint8_t *buf, size_t len)
{
    static const char tag[] = "# Disk DescriptorFile";
    static const char ct[] = "createType";
    size_t n = len < 2048 ? len : 2048;

    if (n >= sizeof tag - 1 && memcmp (buf, tag, sizeof tag - 1) == 0) {
        return true;
    }
    for (size_t i = 0; i < n; i++) {
        if (buf[i] == 0) {
            return false;       /* binary */
        }
    }
    for (size_t i = 0; i + sizeof ct - 1 <= n; i++) {
        if (memcmp (buf + i, ct, sizeof ct - 1) == 0 &&
            (i == 0 || buf[i - 1] == '\n')) {
            return true;
        }
    }
    return false;
}

enum fmt_type
fmt_probe (const uint8_t *buf, size_t len)
{
    if (len >= 8 && memcmp (buf, "vhdxfile", 8) == 0) {
        return FMT_VHDX;
    }
    if (len >= 4 && get_be32 (buf) == 0x514649fbu) {
        return FMT_QCOW2;
    }
    if (len >= 4 && (memcmp (buf, "KDMV", 4) == 0 ||
                     memcmp (buf, "COWD", 4) == 0)) {
        return FMT_VMDK;
    }
    if (len >= 8 && get_le64 (buf) == UINT64_C (0xcafebabe)) {
        return FMT_VMDK;        /* seSparse */
    }
    if (len > 0 && fmt_looks_like_descriptor (buf, len)) {
        return FMT_VMDK;
    }
    return FMT_RAW;
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

void
fmt_problem (struct fmt_problems *p, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    char *s;

    if (p->n >= FMT_MAX_PROBLEMS) {
        p->dropped++;
        return;
    }
    va_start (ap, fmt);
    vsnprintf (buf, sizeof buf, fmt, ap);
    va_end (ap);
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
    p->msg[p->n++] = s;
}

size_t
fmt_problems_count_errors (const struct fmt_problems *p)
{
    size_t n = 0;

    for (size_t i = 0; i < p->n; i++) {
        if (strncmp (p->msg[i], "warning: ", 9) != 0) {
            n++;
        }
    }
    return n;
}

int
fmt_problems_to_error (const struct fmt_problems *p, const char *file)
{
    if (fmt_problems_count_errors (p) == 0) {
        return 0;
    }
    return set_error (strstr (p->msg[0], "unsupported") ? ENOTSUP : EINVAL,
                      "'%s': %s", file, p->msg[0]);
}

int
fmt_probe_io (const struct fmt_io *io, enum fmt_type *out)
{
    uint8_t head[4096];
    int64_t sz = io->size (io->opaque, 0);
    size_t n;
    int r;

    if (sz < 0) {
        return (int) sz;
    }
    n = (uint64_t) sz < sizeof head ? (size_t) sz : sizeof head;
    r = fmt_io_pread (io, 0, head, n, 0);
    if (r < 0) {
        return r;
    }
    *out = fmt_probe (head, n);
    return 0;
}

int
fmt_read_map (const struct fmt_io *io, enum fmt_type type,
              struct fmt_extent_list *out, struct fmt_source_info *info)
{
    if (type == FMT_UNKNOWN) {
        int r = fmt_probe_io (io, &type);

        if (r < 0) {
            return r;
        }
    }
    memset (info, 0, sizeof *info);
    info->type = type;
    switch (type) {
    case FMT_RAW: return raw_read_map (io, out, info);
    case FMT_VMDK: return vmdk_read_map (io, out, info);
    case FMT_VHDX: return vhdx_read_map (io, out, info);
    case FMT_QCOW2: return qcow2_read_map (io, out, info);
    default:
        return set_error (ENOTSUP, "'%s': unknown format", fmt_io_name (io, 0));
    }
}

int
fmt_validate (const struct fmt_io *io, enum fmt_type type,
              struct fmt_problems *probs, struct fmt_source_info *info)
{
    memset (info, 0, sizeof *info);
    info->type = type;
    switch (type) {
    case FMT_RAW: {
        int64_t sz = io->size (io->opaque, 0);

        if (sz < 0) {
            return (int) sz;
        }
        info->virtual_size = (uint64_t) sz;
        info->nfiles = 1;
        snprintf (info->subformat, sizeof info->subformat, "raw");
        return 0;
    }
    case FMT_VMDK: return vmdk_validate (io, probs, info);
    case FMT_VHDX: return vhdx_validate (io, probs, info);
    case FMT_QCOW2: return qcow2_validate (io, probs, info);
    default:
        return set_error (ENOTSUP, "'%s': unknown format", fmt_io_name (io, 0));
    }
}

int
fmt_plan (enum fmt_type to, const struct fmt_source_info *src,
          const struct fmt_extent_list *map, const struct fmt_plan_opts *o,
          struct fmt_layout *out)
{
    int r;

    out->type = to;
    switch (to) {
    case FMT_RAW: r = raw_plan (src, map, o, out); break;
    case FMT_VMDK: r = vmdk_plan (src, map, o, out); break;
    case FMT_VHDX: r = vhdx_plan (src, map, o, out); break;
    case FMT_QCOW2: r = qcow2_plan (src, map, o, out); break;
    default:
        return set_error (ENOTSUP, "cannot write format '%s'",
                          fmt_type_name (to));
    }
    if (r < 0) {
        return r;
    }
    return fmt_layout_check (out);
}
