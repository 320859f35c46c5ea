/* VMDK reader and validator, top level (docs/formats/vmdk.md).
 *
 * File 0 is either a text descriptor naming extent files, or a KDMV
 * hosted sparse file (monolithicSparse, streamOptimized) that embeds its
 * descriptor and is its own single extent.  Extents are mapped one after
 * the other into the guest address space; a delta disk
 * (parentFileNameHint) maps its unallocated grains as FMT_EXT_PARENT and
 * the parent's map, read recursively, fills them (fmt_extents_overlay).
 * COWD and seSparse files are only deltas: opened directly they are
 * refused with a hint to name the descriptor.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/endian.h"
#include "engine/base/error.h"
#include "engine/base/overflow.h"
#include "formats/vmdk.h"

/* ------------------------------------------------------ error helpers */

static int
vmdk_vfail (struct vmdk_ctx *c, uint32_t file, int errnum, const char *fmt,
            va_list ap)
{
    c->dg.fname = fmt_io_name (c->io, file);
    c->dg.main = file == 0;
    return vmdk_diag_vreport (&c->dg, errnum, fmt, ap);
}

int
vmdk_fail (struct vmdk_ctx *c, uint32_t file, int errnum, const char *fmt,
           ...)
{
    va_list ap;
    int r;

    va_start (ap, fmt);
    r = vmdk_vfail (c, file, errnum, fmt, ap);
    va_end (ap);
    return r;
}

void
vmdk_soft (struct vmdk_ctx *c, uint32_t file, const char *fmt, ...)
{
    va_list ap;

    va_start (ap, fmt);
    vmdk_vfail (c, file, 0, fmt, ap);
    va_end (ap);
}

int
vmdk_fail_current (struct vmdk_ctx *c, uint32_t file, int r)
{
    char msg[VMSHIFT_ERROR_MAX];
    const char *name = fmt_io_name (c->io, file);

    snprintf (msg, sizeof msg, "%s", vmshift_internal_error_msg ());
    if (r >= 0) {
        r = -EIO;
    }
    if (msg[0] == '\0') {
        snprintf (msg, sizeof msg, "%s", strerror (-r));
    }
    /* io callbacks name the file themselves: do not say it twice */
    if (strstr (msg, name)) {
        c->dg.fname = NULL;
        c->dg.main = true;
        return vmdk_diag_fail (&c->dg, -r, "%s", msg);
    }
    return vmdk_fail (c, file, -r, "%s", msg);
}

bool
vmdk_keep_going (const struct vmdk_ctx *c)
{
    return c->dg.probs != NULL && c->dg.probs->dropped == 0;
}

int
vmdk_file_size (struct vmdk_ctx *c, uint32_t file, uint64_t *size)
{
    int64_t s = c->io->size (c->io->opaque, file);

    if (s < 0) {
        return vmdk_fail_current (c, file, (int) s);
    }
    *size = (uint64_t) s;
    return 0;
}

int
vmdk_pread (struct vmdk_ctx *c, uint32_t file, void *buf, size_t n,
            uint64_t off)
{
    int r = fmt_io_pread (c->io, file, buf, n, off);

    return r < 0 ? vmdk_fail_current (c, file, r) : 0;
}

/* ----------------------------------------------------- file ranges */

static const char *
vmdk_range_name (int kind)
{
    switch (kind) {
    case VMDK_R_HEADER: return "header";
    case VMDK_R_DESC: return "embedded descriptor";
    case VMDK_R_GD: return "grain directory";
    case VMDK_R_RGD: return "redundant grain directory";
    case VMDK_R_GT: return "grain table";
    case VMDK_R_GRAIN: return "grain";
    default: return "metadata";
    }
}

int
vmdk_ranges_add (struct vmdk_ctx *c, uint32_t file, struct vmdk_range_vec *v,
                 uint64_t off, uint64_t len, int kind)
{
    struct vmdk_range rg = { .off = off, .len = len, .kind = kind };

    if (len == 0) {
        return 0;
    }
    if (v->len > 0) {
        struct vmdk_range *last = &v->ptr[v->len - 1];

        if (last->kind == kind && last->off + last->len == off) {
            last->len += len;
            return 0;
        }
    }
    if (v->len >= FMT_MAX_EXTENTS) {
        return vmdk_fail (c, file, EFBIG, "more than %zu separate grain and "
                          "table ranges", FMT_MAX_EXTENTS);
    }
    if (vmdk_range_vec_append (v, rg) < 0) {
        return vmdk_fail_current (c, file, -ENOMEM);
    }
    return 0;
}

static int
vmdk_cmp_range (const void *a, const void *b)
{
    const struct vmdk_range *x = a, *y = b;

    return x->off < y->off ? -1 : x->off > y->off;
}

int
vmdk_ranges_check (struct vmdk_ctx *c, uint32_t file, struct vmdk_range_vec *v)
{
    uint64_t end = 0;
    size_t prev = 0;
    int r = 0;

    if (v->len > 1) {
        qsort (v->ptr, v->len, sizeof *v->ptr, vmdk_cmp_range);
    }
    for (size_t i = 0; i < v->len; i++) {
        const struct vmdk_range *x = &v->ptr[i];

        if (i > 0 && x->off < end) {
            r = vmdk_fail (c, file, EINVAL, "%s at file offset %llu overlaps "
                           "the %s at %llu (duplicate or crossed pointers)",
                           vmdk_range_name (x->kind),
                           (unsigned long long) x->off,
                           vmdk_range_name (v->ptr[prev].kind),
                           (unsigned long long) v->ptr[prev].off);
            if (!vmdk_keep_going (c)) {
                return r;
            }
        }
        if (x->off + x->len > end) {
            end = x->off + x->len;
            prev = i;
        }
    }
    return r;
}

/* ------------------------------------------------------------ mapper */

void
vmdk_mapper_init (struct vmdk_mapper *m, struct vmdk_ctx *c, uint32_t file,
                  struct fmt_extent_list *out, bool delta)
{
    memset (m, 0, sizeof *m);
    m->c = c;
    m->file = file;
    m->out = out;
    m->first = out->v.len;
    m->delta = delta;
}

void
vmdk_mapper_release (struct vmdk_mapper *m)
{
    vmdk_range_vec_reset (&m->ranges);
}

int
vmdk_mapper_data (struct vmdk_mapper *m, uint64_t guest, uint64_t len,
                  uint64_t file_off)
{
    int r = vmdk_ranges_add (m->c, m->file, &m->ranges, file_off, len,
                             VMDK_R_GRAIN);

    if (r < 0) {
        return r;
    }
    r = fmt_extents_add_data (m->out, guest, len, m->file, file_off);
    return r < 0 ? vmdk_fail_current (m->c, m->file, r) : 0;
}

int
vmdk_mapper_extent (struct vmdk_mapper *m, const struct fmt_extent *e)
{
    int r = fmt_extents_add (m->out, e);

    return r < 0 ? vmdk_fail_current (m->c, m->file, r) : 0;
}

int
vmdk_mapper_zero (struct vmdk_mapper *m, uint64_t guest, uint64_t len)
{
    struct fmt_extent e = {
        .guest_off = guest, .len = len, .kind = FMT_EXT_ZERO,
    };

    return vmdk_mapper_extent (m, &e);
}

int
vmdk_mapper_unalloc (struct vmdk_mapper *m, uint64_t guest, uint64_t len)
{
    struct fmt_extent e = {
        .guest_off = guest, .len = len,
        .kind = m->delta ? FMT_EXT_PARENT : FMT_EXT_ZERO,
    };

    return vmdk_mapper_extent (m, &e);
}

/* Second pass: split this extent's DATA runs into data and holes with
 * io->extents.  Done only after the overlap check, so a file whose grain
 * tables point many times at the same bytes is refused before the io
 * layer is asked about every one of them. */
static int
vmdk_mapper_holes (struct vmdk_mapper *m)
{
    struct fmt_extent_list *out = m->out;
    size_t n = out->v.len - m->first;
    struct fmt_extent *tail;
    int r = 0;

    if (m->c->io->extents == NULL || n == 0) {
        return 0;
    }
    if ((tail = malloc (n * sizeof *tail)) == NULL) {
        return vmdk_fail_current (m->c, m->file, -ENOMEM);
    }
    memcpy (tail, out->v.ptr + m->first, n * sizeof *tail);
    out->v.len = m->first;
    for (size_t i = 0; i < n && r == 0; i++) {
        const struct fmt_extent *e = &tail[i];

        if (e->kind == FMT_EXT_DATA && e->file == m->file) {
            r = fmt_io_add_data (m->c->io, m->file, e->file_off, e->len,
                                 e->guest_off, out);
        } else {
            r = fmt_extents_add (out, e);
        }
    }
    free (tail);
    return r < 0 ? vmdk_fail_current (m->c, m->file, r) : 0;
}

int
vmdk_mapper_finish (struct vmdk_mapper *m)
{
    int r = vmdk_ranges_check (m->c, m->file, &m->ranges);

    if (r < 0) {
        return r;
    }
    return vmdk_mapper_holes (m);
}

/* ------------------------------------------------------------ extents */

static int
vmdk_open_rel (struct vmdk_ctx *c, uint32_t base, const char *name,
               const char *what, uint32_t *out)
{
    int r;

    if (c->nfiles >= FMT_MAX_FILES) {
        return vmdk_fail (c, base, EFBIG, "the disk needs more than %u files",
                          (unsigned) FMT_MAX_FILES);
    }
    if ((r = fmt_check_rel_path (name)) < 0) {
        return vmdk_fail_current (c, base, r);
    }
    r = c->io->open_rel (c->io->opaque, base, name);
    if (r < 0) {
        return vmdk_fail (c, base, -r, "cannot open %s '%s': %s", what, name,
                          vmshift_internal_error_msg ());
    }
    *out = (uint32_t) r;
    if ((uint32_t) r >= c->nfiles) {
        c->nfiles = (uint32_t) r + 1;
    }
    return 0;
}

static int
vmdk_map_flat (struct vmdk_ctx *c, uint32_t f,
               const struct vmdk_extent_desc *e, uint64_t guest,
               struct fmt_extent_list *out)
{
    uint64_t size = 0, off = e->offset * VMDK_SECTOR;
    uint64_t len = e->sectors * VMDK_SECTOR;
    int r;

    if ((r = vmdk_file_size (c, f, &size)) < 0) {
        return r;
    }
    if (size < off || size - off < len) {
        return vmdk_fail (c, f, EINVAL, "extent file is %llu bytes, shorter "
                          "than the %llu bytes at offset %llu its extent "
                          "needs (descriptor line %u)",
                          (unsigned long long) size, (unsigned long long) len,
                          (unsigned long long) off, e->line);
    }
    r = fmt_io_add_data (c->io, f, off, len, guest, out);
    return r < 0 ? vmdk_fail_current (c, f, r) : 0;
}

static int
vmdk_map_sparse_extent (struct vmdk_ctx *c, uint32_t f,
                        const struct vmdk_extent_desc *e, uint64_t guest,
                        bool delta, struct fmt_extent_list *out)
{
    struct vmdk_sparse_hdr h;
    uint64_t fsize;
    int r = vmdk_sparse_open (c, f, &h, &fsize);

    if (r < 0) {
        return r;
    }
    if (h.capacity != e->sectors) {
        return vmdk_fail (c, f, EINVAL, "sparse header capacity %llu sectors "
                          "differs from the extent size %llu in the "
                          "descriptor (line %u)",
                          (unsigned long long) h.capacity,
                          (unsigned long long) e->sectors, e->line);
    }
    if (c->depth == 0 && c->grain_bytes == 0) {
        c->grain_bytes = (uint32_t) (h.grain * VMDK_SECTOR);
    }
    return vmdk_sparse_map (c, f, &h, fsize, guest, delta, out);
}

static int
vmdk_map_extent (struct vmdk_ctx *c, uint32_t base,
                 const struct vmdk_extent_desc *e, uint64_t guest, bool delta,
                 struct fmt_extent_list *out)
{
    uint32_t f;
    int r;

    if (e->type == VMDK_EXT_ZERO) {
        r = fmt_extents_add_zero (out, guest, e->sectors * VMDK_SECTOR);
        return r < 0 ? vmdk_fail_current (c, base, r) : 0;
    }
    if ((r = vmdk_open_rel (c, base, e->file, "extent file", &f)) < 0) {
        return r;
    }
    switch (e->type) {
    case VMDK_EXT_FLAT:
    case VMDK_EXT_VMFS:
        return vmdk_map_flat (c, f, e, guest, out);
    case VMDK_EXT_SPARSE:
        return vmdk_map_sparse_extent (c, f, e, guest, delta, out);
    case VMDK_EXT_VMFSSPARSE:
        if (c->depth == 0 && c->grain_bytes == 0) {
            c->grain_bytes = VMDK_SECTOR;
        }
        return vmdk_cowd_map (c, f, e->sectors, guest, delta, out);
    case VMDK_EXT_SESPARSE:
        if (c->depth == 0 && c->grain_bytes == 0) {
            c->grain_bytes = 4096;
        }
        return vmdk_sesparse_map (c, f, e->sectors, guest, delta, out);
    default:
        return vmdk_fail (c, base, ENOTSUP, "unsupported extent type '%s'",
                          vmdk_ext_type_name (e->type));
    }
}

/* Map every extent; when validating, an extent that fails is reported,
 * its partial map undone and its range mapped as zeros so the following
 * extents are still checked. */
static int
vmdk_map_extents (struct vmdk_ctx *c, uint32_t file,
                  const struct vmdk_desc *d, struct fmt_extent_list *out)
{
    uint64_t guest = 0;
    bool delta = d->parent_hint != NULL;
    int r;

    for (size_t i = 0; i < d->extents.len; i++) {
        const struct vmdk_extent_desc *e = &d->extents.ptr[i];
        size_t n0 = out->v.len;
        struct fmt_extent last = { 0 };

        if (n0) {
            last = out->v.ptr[n0 - 1];
        }

        r = vmdk_map_extent (c, file, e, guest, delta, out);
        if (r < 0) {
            if (!vmdk_keep_going (c)) {
                return r;
            }
            out->v.len = n0;
            if (n0) {
                out->v.ptr[n0 - 1] = last;
            }
            if (fmt_extents_add_zero (out, guest, e->sectors * VMDK_SECTOR)
                < 0) {
                return vmdk_fail_current (c, file, -ENOMEM);
            }
        }
        guest += e->sectors * VMDK_SECTOR;
    }
    return 0;
}

/* ------------------------------------------------------ disk levels */

/* A binary file that is no VMDK: control bytes (or NUL) at the start,
 * where a descriptor has its first lines. */
static bool
vmdk_looks_binary (const char *text, size_t n)
{
    if (n == 0 || text[0] == '\0') {
        return true;
    }
    for (size_t i = 0; i < n && i < 256 && text[i]; i++) {
        unsigned char ch = (unsigned char) text[i];

        if ((ch < 0x20 && ch != '\t' && ch != '\r' && ch != '\n') ||
            ch == 0x7f) {
            return true;
        }
    }
    return false;
}

static int
vmdk_read_text_disk (struct vmdk_ctx *c, uint32_t file, uint64_t size,
                     struct vmdk_desc *d, struct fmt_extent_list *out)
{
    char *text;
    int r;

    if (size > VMDK_MAX_DESC_BYTES) {
        return vmdk_fail (c, file, EFBIG, "descriptor is larger than %zu "
                          "bytes (not a VMDK descriptor?)",
                          VMDK_MAX_DESC_BYTES);
    }
    if ((text = malloc (size ? size : 1)) == NULL) {
        return vmdk_fail_current (c, file, -ENOMEM);
    }
    r = vmdk_pread (c, file, text, size, 0);
    if (r == 0 && vmdk_looks_binary (text, size)) {
        r = vmdk_fail (c, file, EINVAL, "not a VMDK: no sparse extent magic "
                       "(KDMV, COWD, seSparse) and not a text descriptor");
        free (text);
        return r;
    }
    if (r == 0) {
        c->dg.fname = fmt_io_name (c->io, file);
        c->dg.main = file == 0;
        r = vmdk_desc_parse (text, size, d, &c->dg);
    }
    free (text);
    if (r < 0 && !vmdk_keep_going (c)) {
        return r;
    }
    if (d->capacity == 0 || d->capacity > VMDK_MAX_SECTORS) {
        return r < 0 ? r : vmdk_fail (c, file, EINVAL, "disk has no size");
    }
    out->size = d->capacity * VMDK_SECTOR;
    return vmdk_map_extents (c, file, d, out);
}

/* The descriptor embedded in a KDMV file; a bare sparse extent (no
 * descriptor) is read as a disk of its own, with a soft problem. */
static int
vmdk_embedded_desc (struct vmdk_ctx *c, uint32_t file,
                    const struct vmdk_sparse_hdr *h, struct vmdk_desc *d)
{
    bool compressed = h->flags & 0x10000;
    size_t n = (size_t) (h->desc_size * VMDK_SECTOR);
    const struct vmdk_ct_info *ct;
    char *text;
    int r;

    if (h->desc_off == 0) {
        d->ct = compressed ? VMDK_CT_STREAM : VMDK_CT_MONO_SPARSE;
        snprintf (d->create_type, sizeof d->create_type, "%s",
                  vmdk_ct_get (d->ct)->name);
        vmdk_soft (c, file, "sparse extent has no embedded descriptor (an "
                   "extent of a larger disk opened directly?)");
        return 0;
    }
    if ((text = malloc (n)) == NULL) {
        return vmdk_fail_current (c, file, -ENOMEM);
    }
    r = vmdk_pread (c, file, text, n, h->desc_off * VMDK_SECTOR);
    if (r == 0) {
        /* a C string: the parser ignores what follows the first NUL */
        c->dg.fname = fmt_io_name (c->io, file);
        c->dg.main = file == 0;
        r = vmdk_desc_parse (text, n, d, &c->dg);
    }
    free (text);
    if (r < 0) {
        return r;
    }
    ct = vmdk_ct_get (d->ct);
    if (ct && ct->ct != VMDK_CT_MONO_SPARSE && ct->ct != VMDK_CT_STREAM) {
        vmdk_soft (c, file, "embedded descriptor says createType '%s' in a "
                   "monolithic sparse file", ct->name);
    }
    if (ct && (ct->ct == VMDK_CT_STREAM) != compressed) {
        vmdk_soft (c, file, "createType '%s' but the grains are %s",
                   ct->name, compressed ? "compressed" : "not compressed");
    }
    if (d->extents.len != 1 || d->extents.ptr[0].type != VMDK_EXT_SPARSE ||
        d->capacity != h->capacity) {
        vmdk_soft (c, file, "embedded descriptor does not describe one "
                   "SPARSE extent of %llu sectors",
                   (unsigned long long) h->capacity);
    }
    return 0;
}

static int
vmdk_read_sparse_disk (struct vmdk_ctx *c, uint32_t file, struct vmdk_desc *d,
                       struct fmt_extent_list *out)
{
    struct vmdk_sparse_hdr h;
    uint64_t fsize;
    int r = vmdk_sparse_open (c, file, &h, &fsize);

    if (r < 0) {
        return r;
    }
    r = vmdk_embedded_desc (c, file, &h, d);
    if (r < 0 && !vmdk_keep_going (c)) {
        return r;
    }
    if (c->depth == 0) {
        c->grain_bytes = (uint32_t) (h.grain * VMDK_SECTOR);
    }
    out->size = h.capacity * VMDK_SECTOR;
    return vmdk_sparse_map (c, file, &h, fsize, 0, d->parent_hint != NULL,
                            out);
}

static int
vmdk_read_level (struct vmdk_ctx *c, uint32_t file, struct vmdk_desc *d,
                 struct fmt_extent_list *out)
{
    uint8_t head[8];
    uint64_t size = 0;
    int r;

    if ((r = vmdk_file_size (c, file, &size)) < 0) {
        return r;
    }
    memset (head, 0, sizeof head);
    if ((r = vmdk_pread (c, file, head, size < 8 ? (size_t) size : 8, 0)) < 0) {
        return r;
    }
    if (memcmp (head, VMDK4_MAGIC_BYTES, 4) == 0) {
        return vmdk_read_sparse_disk (c, file, d, out);
    }
    if (memcmp (head, VMDK_COWD_MAGIC_BYTES, 4) == 0) {
        return vmdk_fail (c, file, ENOTSUP, "unsupported: this is a "
                          "vmfsSparse (COWD) delta extent, not a disk; name "
                          "the descriptor (.vmdk) that refers to it");
    }
    if (size >= 8 && get_le64 (head) == VMDK_SESPARSE_MAGIC) {
        return vmdk_fail (c, file, ENOTSUP, "unsupported: this is a seSparse "
                          "delta extent, not a disk; name the descriptor "
                          "(.vmdk) that refers to it");
    }
    return vmdk_read_text_disk (c, file, size, d, out);
}

static int
vmdk_check_parent_cid (struct vmdk_ctx *c, uint32_t file, uint32_t pfile,
                       const struct vmdk_desc *d, const struct vmdk_desc *pd)
{
    if (!pd->has_cid) {
        return vmdk_fail (c, pfile, EINVAL, "parent disk has no CID, so it "
                          "cannot be checked against the child's parentCID "
                          "%08x", d->parent_cid);
    }
    if (pd->cid != d->parent_cid) {
        return vmdk_fail (c, file, EINVAL, "parent CID mismatch: parentCID is "
                          "%08x but the parent '%s' has CID %08x (the parent "
                          "was modified after this snapshot was taken)",
                          d->parent_cid, fmt_io_name (c->io, pfile), pd->cid);
    }
    return 0;
}

static int vmdk_read_chain (struct vmdk_ctx *c, uint32_t file,
                            struct vmdk_desc *d, struct fmt_extent_list *out,
                            bool *has_parent);

static int
vmdk_read_parent (struct vmdk_ctx *c, uint32_t file, const struct vmdk_desc *d,
                  struct fmt_extent_list *out, bool *has_parent)
{
    struct vmdk_desc pd;
    struct fmt_extent_list pm, merged;
    uint32_t pf;
    int r;

    if (c->depth + 1 >= VMDK_MAX_CHAIN) {
        return vmdk_fail (c, file, EINVAL, "snapshot chain is longer than %u "
                          "disks (a loop?)", VMDK_MAX_CHAIN);
    }
    if ((r = vmdk_open_rel (c, file, d->parent_hint, "parent disk", &pf)) < 0) {
        return r;
    }
    vmdk_desc_init (&pd);
    fmt_extents_init (&pm);
    fmt_extents_init (&merged);
    c->depth++;
    r = vmdk_read_chain (c, pf, &pd, &pm, has_parent);
    c->depth--;
    if (r == 0) {
        r = vmdk_check_parent_cid (c, file, pf, d, &pd);
    }
    if (r == 0 && (r = fmt_extents_overlay (&pm, out, &merged)) < 0) {
        r = vmdk_fail (c, file, -r, "cannot apply the delta to its parent "
                       "'%s': %s", fmt_io_name (c->io, pf),
                       vmshift_internal_error_msg ());
    }
    if (r == 0) {
        fmt_extents_release (out);
        *out = merged;
        fmt_extents_init (&merged);
        *has_parent = true;
    }
    fmt_extents_release (&merged);
    fmt_extents_release (&pm);
    vmdk_desc_release (&pd);
    return r;
}

static int
vmdk_read_chain (struct vmdk_ctx *c, uint32_t file, struct vmdk_desc *d,
                 struct fmt_extent_list *out, bool *has_parent)
{
    int r = vmdk_read_level (c, file, d, out);

    if (r < 0 || d->parent_hint == NULL) {
        return r;
    }
    return vmdk_read_parent (c, file, d, out, has_parent);
}

/* ---------------------------------------------------------- entries */

static void
vmdk_fill_info (const struct vmdk_ctx *c, const struct vmdk_desc *d,
                const struct fmt_extent_list *map, bool has_parent,
                struct fmt_source_info *info)
{
    info->type = FMT_VMDK;
    snprintf (info->subformat, sizeof info->subformat, "%s",
              d->create_type[0] ? d->create_type : "unknown");
    info->virtual_size = map->size;
    if (info->virtual_size == 0 && d->capacity <= VMDK_MAX_SECTORS) {
        info->virtual_size = d->capacity * VMDK_SECTOR;
    }
    info->block_size = c->grain_bytes;
    info->has_parent = has_parent;
    info->has_disk_id = d->has_uuid;
    if (d->has_uuid) {
        memcpy (info->disk_id, d->uuid, 16);
    }
    info->nfiles = c->nfiles;
}

int
vmdk_read_map (const struct fmt_io *io, struct fmt_extent_list *out,
               struct fmt_source_info *info)
{
    struct vmdk_ctx c = { .io = io, .nfiles = 1 };
    struct vmdk_desc d;
    bool has_parent = false;
    int r;

    vmdk_desc_init (&d);
    r = vmdk_read_chain (&c, 0, &d, out, &has_parent);
    if (r == 0 && (r = fmt_extents_check (out)) < 0) {
        r = vmdk_fail_current (&c, 0, r);
    }
    if (r == 0) {
        vmdk_fill_info (&c, &d, out, has_parent, info);
    } else {
        if (c.dg.err) {
            r = vmdk_diag_restore (&c.dg);
        }
        fmt_extents_release (out);
    }
    vmdk_desc_release (&d);
    return r;
}

int
vmdk_validate (const struct fmt_io *io, struct fmt_problems *probs,
               struct fmt_source_info *info)
{
    struct vmdk_ctx c = { .io = io, .nfiles = 1, .dg.probs = probs };
    struct fmt_extent_list map;
    struct vmdk_desc d;
    bool has_parent = false;
    uint8_t b;
    int64_t sz = io->size (io->opaque, 0);
    int r;

    /* Only a file that cannot be read at all fails the validator. */
    if (sz < 0) {
        return (int) sz;
    }
    if (sz > 0 && (r = fmt_io_pread (io, 0, &b, 1, 0)) < 0) {
        return r;
    }
    vmdk_desc_init (&d);
    fmt_extents_init (&map);
    r = vmdk_read_chain (&c, 0, &d, &map, &has_parent);
    if (r == 0 && c.dg.nerr == 0 && fmt_extents_check (&map) < 0) {
        vmdk_fail_current (&c, 0, -EINVAL);
    }
    vmdk_fill_info (&c, &d, &map, has_parent, info);
    if (c.dg.err) {
        vmdk_diag_restore (&c.dg);
    }
    fmt_extents_release (&map);
    vmdk_desc_release (&d);
    return 0;
}

/* A text descriptor starts with a comment or "version=" and mentions
 * createType early; we accept leading blank lines and comments. */
static bool
vmdk_looks_like_descriptor (const uint8_t *buf, size_t len)
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

static enum fmt_probe_score
vmdk_probe (const struct fmt_probe_buf *b)
{
    if (b->head_len >= 4 && (memcmp (b->head, VMDK4_MAGIC_BYTES, 4) == 0 ||
                             memcmp (b->head, VMDK_COWD_MAGIC_BYTES, 4) == 0)) {
        return FMT_PROBE_MAGIC;
    }
    if (b->head_len >= 8 && get_le64 (b->head) == VMDK_SESPARSE_MAGIC) {
        return FMT_PROBE_MAGIC;
    }
    if (b->head_len > 0 && vmdk_looks_like_descriptor (b->head, b->head_len)) {
        return FMT_PROBE_WEAK;
    }
    return FMT_PROBE_NO;
}

static const char *const vmdk_extensions[] = { "vmdk", NULL };

const struct fmt_driver vmdk_driver = {
    .type = FMT_VMDK,
    .name = "vmdk",
    .extensions = vmdk_extensions,
    .native = "vmware",
    .share_style = FMT_SHARE_UNIX,      /* ESXi mounts NFS datastores */
    .probe = vmdk_probe,
    .read_map = vmdk_read_map,
    .validate = vmdk_validate,
    .plan = vmdk_plan,
    .map_validates = false,
    .data_in_place = true,              /* the -flat.vmdk extent */
    .size_align = 1,
};
