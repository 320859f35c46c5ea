/* vmshift_convert: read_map -> plan -> execute -> validate -> commit. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/base/error.h"
#include "engine/base/json.h"
#include "engine/base/jsonw.h"
#include "engine/base/sbuf.h"
#include "engine/exec/beio.h"
#include "engine/exec/exec.h"
#include "engine/exec/result.h"
#include "engine/exec/verify.h"
#include "engine/handle.h"
#include "engine/location.h"
#include "engine/convert.h"
#include "ontap/ontap.h"

void
vmshift_convert_opts_init (struct vmshift_convert_opts *o)
{
    memset (o, 0, sizeof *o);
    o->struct_size = sizeof *o;
}

/* Option values the library checks before anything starts (a usage
 * error: no snapshot, no output). */
static int
convert_check_opts (const struct vmshift_convert_opts *o)
{
    if (o->vhdx_unallocated != VMSHIFT_VHDX_UNALLOCATED_ZERO &&
        o->vhdx_unallocated != VMSHIFT_VHDX_UNALLOCATED_NOT_PRESENT) {
        set_error (EINVAL, "bad vhdx_unallocated %d (zero or not-present)",
                   o->vhdx_unallocated);
        return error_class (VS_ERRCLASS_USAGE);
    }
    return 0;
}

/* Target format: --to, else the extension of the target's name. */
static int
convert_target_type (const struct vmshift_convert_opts *o, const char *target,
                     enum fmt_type *out)
{
    const struct fmt_driver *d;
    char list[256];

    if (o->to != VMSHIFT_FMT_AUTO) {
        d = fmt_driver_of ((enum fmt_type) o->to);
        if (d == NULL) {
            return set_error (EINVAL, "unknown target format %d", (int) o->to);
        }
    } else if ((d = fmt_driver_by_extension (target)) == NULL) {
        fmt_driver_list (list, sizeof list, true, true);
        return set_error (EINVAL, "cannot tell the target format from '%s': "
                          "name it %s, or use --to", target, list);
    }
    *out = d->type;
    return 0;
}

static void
convert_random (void *buf, size_t n)
{
    uint8_t *p = buf;
    size_t done = 0;

    while (done < n) {
        ssize_t r = getrandom (p + done, n - done, 0);

        if (r <= 0) {
            /* getrandom cannot fail for small requests after boot; keep a
             * usable value anyway. */
            for (; done < n; done++) {
                p[done] = (uint8_t) (rand () ^ (int) time (NULL));
            }
            return;
        }
        done += (size_t) r;
    }
}

/* RFC 4122 version 4 GUID in Microsoft byte order. */
static void
convert_guid (uint8_t g[16])
{
    convert_random (g, 16);
    g[7] = (uint8_t) ((g[7] & 0x0f) | 0x40);
    g[8] = (uint8_t) ((g[8] & 0x3f) | 0x80);
}

/* "disk.vmdk" -> "disk"; the stem names companion files. */
static char *
convert_stem (const char *name)
{
    const char *dot = strrchr (name, '.');

    return dot && dot != name ? strndup (name, (size_t) (dot - name))
                              : strdup (name);
}


/* A file named with the extension of a format that has a signature
 * (.vmdk, .vhdx, .qcow2, ...) but carrying none is damaged (or misnamed);
 * reading it as a raw disk would produce a target of garbage, so refuse
 * rather than guess. */
static int
convert_check_extension (struct convert_ctx *c)
{
    const struct fmt_driver *want = fmt_driver_by_extension (c->src_path);
    const struct fmt_io *io = vs_beio_fmt (c->src);
    const char *dot = strrchr (vs_path_basename (c->src_path), '.');
    enum fmt_type got;
    int r;

    if (want == NULL || want->probe == NULL) {
        return 0;
    }
    r = fmt_probe_io (io, &got);
    if (r < 0) {
        return r;
    }
    if (fmt_driver_of (got)->probe == NULL) {
        return set_error (EINVAL, "'%s' is named %s but has no %s signature "
                          "or descriptor (damaged? if it is a raw disk, "
                          "rename it)", c->source, dot, want->name);
    }
    return 0;
}

static int
convert_read_source (struct convert_ctx *c)
{
    double t = vs_exec_now ();
    int r;

    r = vs_beio_open (c->src_be, c->src_path, &c->src);
    if (r == 0) {
        r = vs_beio_check_not_empty (c->src);
    }
    if (r < 0) {
        return r;
    }
    r = convert_check_extension (c);
    if (r < 0) {
        return r;
    }
    r = fmt_read_map (vs_beio_fmt (c->src), FMT_UNKNOWN, &c->map, &c->info);
    if (r == 0) {
        r = fmt_extents_check (&c->map);
    }
    if (r < 0) {
        vs_beio_error_names (c->source);
    }
    c->res->t_map = vs_exec_now () - t;
    return r;
}

/* A source read from a volume snapshot (.snapshot/NAME/path, as on
 * ONTAP) is the live file at path: that is what a target must not
 * replace. */
static const char *
convert_live_path (const char *p)
{
    const char *s;

    if (strncmp (p, ".snapshot/", 10) == 0 && (s = strchr (p + 10, '/'))) {
        return s + 1;
    }
    return p;
}

/* The target must not be the source or one of its files, compared by
 * identity (backend_stat: device and inode locally, fsid and fileid over
 * NFS), so links and other spellings are caught on every backend.  A
 * source read from a snapshot is compared as its live file.  Only a
 * backend that cannot tell identities falls back to comparing names
 * (its locations are normalized: ontap/location.c). */
static int
convert_check_not_source (struct convert_ctx *c, const char *path)
{
    struct be_stat st_t = { .struct_size = sizeof st_t };
    int r;

    r = backend_stat (c->dst_be, path, 0, &st_t);
    if (r == -ENOENT) {
        clear_error ();
        return 0;
    }
    if (r < 0 && r != -ENOTSUP) {
        return r;
    }
    clear_error ();
    for (uint32_t i = 0; i < vs_beio_nfiles (c->src); i++) {
        const char *sp = convert_live_path (vs_beio_file (c->src, i)->path);
        struct be_stat st_s = { .struct_size = sizeof st_s };
        bool same;

        if (c->src_be != c->dst_be) {
            continue;           /* different namespaces (and fsids) */
        }
        if (r == -ENOTSUP) {
            same = strcmp (sp, path) == 0;
        } else {
            same = backend_stat (c->src_be, sp, 0, &st_s) == 0 &&
                   backend_same_file (&st_s, &st_t);
            clear_error ();
        }
        if (same) {
            return set_error (EINVAL, "target '%s' is the source file '%s'; "
                              "vmshift never writes its source", path, sp);
        }
    }
    return 0;
}

static int convert_plan_names (struct convert_ctx *c,
                               struct fmt_plan_opts *po, int attempt);
static bool convert_companion_taken (struct convert_ctx *c);
static int convert_plan_once (struct convert_ctx *c,
                              const struct fmt_plan_opts *po);

static int
convert_plan (struct convert_ctx *c)
{
    struct fmt_plan_opts po = { 0 };
    char creator[64];
    double t = vs_exec_now ();
    int r;

    snprintf (creator, sizeof creator, "vmshift %s", vmshift_version ());
    po.block_size = c->o->block_size;
    po.vhdx_fixed = c->o->vhdx_fixed != 0;
    po.vhdx_not_present =
        c->o->vhdx_unallocated == VMSHIFT_VHDX_UNALLOCATED_NOT_PRESENT;
    po.cluster_size = c->o->cluster_size;
    po.qcow2_data_file = c->o->qcow2_data_file != 0;
    po.target_name = vs_path_basename (c->dst_path);
    po.clone_align = c->o->no_clone ? 0 : FMT_CLONE_BLOCK;
    po.creator = creator;
    po.now = (int64_t) time (NULL);
    convert_guid (po.guid_file_write);
    convert_guid (po.guid_data_write);
    if (c->info.has_disk_id) {
        memcpy (po.disk_id, c->info.disk_id, 16);
    } else {
        convert_guid (po.disk_id);
    }
    convert_random (&po.vmdk_cid, sizeof po.vmdk_cid);
    if (po.vmdk_cid == 0xffffffffu) {
        po.vmdk_cid = 0xfffffffeu;
    }
    if (po.qcow2_data_file && !(c->dst_be->props & BE_PROP_HOST_PATHS)) {
        set_error (ENOTSUP, "'%s': --qcow2-data-file records the data "
                   "file's absolute path, which is only known for local "
                   "targets (on ONTAP the hypervisor's mount point is not)",
                   c->target);
        return error_class (VS_ERRCLASS_USAGE);
    }
    for (int attempt = 0; attempt < 4; attempt++) {
        r = convert_plan_names (c, &po, attempt);
        if (r == 0) {
            r = convert_plan_once (c, &po);
        }
        if (r < 0 || !convert_companion_taken (c)) {
            break;
        }
        fmt_layout_release (&c->lay);
        if (attempt == 3) {
            r = set_error (EEXIST, "'%s': no free name for its companion "
                           "files", c->target);
        }
    }
    c->res->t_plan = vs_exec_now () - t;
    return r;
}

/* Companion names (VMDK extent, qcow2 data file): "<stem>-flat.vmdk" and
 * "<stem>-data.raw" at first; when --force replaces a target whose
 * companion holds that name, "<stem>-<8 hex>-..." instead, so that the
 * new companion never replaces the old one in place: until the MAIN
 * file is renamed (the commit point) the old target stays whole
 * (docs/internals/executor.md, section 7). */
static int
convert_plan_names (struct convert_ctx *c, struct fmt_plan_opts *po,
                    int attempt)
{
    char *stem = convert_stem (po->target_name);
    char tag[16] = "";
    char *abs_dir = NULL;
    int r;

    if (stem == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    if (attempt > 0) {
        uint32_t v;

        convert_random (&v, sizeof v);
        snprintf (tag, sizeof tag, "-%08x", v);
    }
    free (c->extent_name);
    c->extent_name = NULL;
    if (attempt > 0 && asprintf (&c->extent_name, "%s%s-flat.vmdk", stem,
                                 tag) < 0) {
        c->extent_name = NULL;
        free (stem);
        return set_error (ENOMEM, "out of memory");
    }
    po->extent_name = c->extent_name;
    if (!po->qcow2_data_file) {
        free (stem);
        return 0;
    }
    free (c->data_name);
    free (c->data_path);
    c->data_path = NULL;
    if (asprintf (&c->data_name, "%s%s-data.raw", stem, tag) < 0) {
        c->data_name = NULL;
        free (stem);
        return set_error (ENOMEM, "out of memory");
    }
    free (stem);
    {
        /* qemu resolves a relative data file name against its working
         * directory, so the header carries an absolute path. */
        r = backend_resolve (c->dst_be, c->dst_dir, &abs_dir);
        if (r < 0) {
            return error_class (VS_ERRCLASS_TARGET);
        }
        c->data_path = vs_path_join (abs_dir, c->data_name);
        free (abs_dir);
        po->data_file_name = c->data_name;
        po->data_file_path = c->data_path;
    }
    return c->data_path ? 0 : set_error (ENOMEM, "out of memory");
}

/* Whether --force would make a companion replace an existing file. */
static bool
convert_companion_taken (struct convert_ctx *c)
{
    if (!c->o->force || c->o->dry_run) {
        return false;
    }
    for (size_t i = 0; i < c->lay.nout; i++) {
        char *p;
        int e;

        if (c->lay.out[i].role == FMT_OUT_MAIN) {
            continue;
        }
        p = vs_path_join (c->dst_dir, c->lay.out[i].name);
        e = p ? backend_exists (c->dst_be, p) : 0;
        clear_error ();
        free (p);
        if (e != 0) {
            return true;
        }
    }
    return false;
}

static int
convert_plan_once (struct convert_ctx *c, const struct fmt_plan_opts *po)
{
    int r;

    fmt_layout_init (&c->lay);
    r = fmt_plan (c->to, &c->info, &c->map, po, &c->lay);
    if (r < 0) {
        /* name the source too: a bad size is usually the source's */
        error_prepend ("planning '%s' from %s '%s': ", c->target,
                       fmt_type_name (c->info.type), c->source);
    }
    return r;
}

/* --force replaces by rename(), which would put a regular file in place
 * of a device node or FIFO (as root, "--force ... /dev/null" replaced
 * /dev/null).  Only regular files, and symbolic links (the link itself is
 * replaced, never what it points to), may be replaced. */
static int
convert_check_replaceable (struct convert_ctx *c, const char *path)
{
    struct be_stat st = { .struct_size = sizeof st };
    int r = backend_stat (c->dst_be, path, BE_STAT_NOFOLLOW, &st);

    if (r == -ENOENT || r == -ENOTSUP) {
        clear_error ();
        return 0;
    }
    if (r < 0 || st.type == BE_TYPE_REG || st.type == BE_TYPE_LNK) {
        return r;
    }
    return set_error (st.type == BE_TYPE_DIR ? EISDIR : EEXIST,
                      "'%s' exists and is not a regular file; vmshift only "
                      "replaces regular files", path);
}

/* Refuse existing outputs unless --force, and never the source. */
static int
convert_check_targets (struct convert_ctx *c)
{
    /* the name the user gave first, so the message names it */
    int r = convert_check_not_source (c, c->dst_path);

    for (size_t i = 0; i < c->lay.nout && r == 0; i++) {
        char *p = vs_path_join (c->dst_dir, c->lay.out[i].name);

        if (p == NULL) {
            return set_error (ENOMEM, "out of memory");
        }
        r = convert_check_not_source (c, p);
        if (r == 0) {
            r = backend_exists (c->dst_be, p);
            if (r > 0 && !c->o->force) {
                r = set_error (EEXIST, "'%s' already exists (use --force to "
                               "replace it)", p);
            } else if (r > 0) {
                r = convert_check_replaceable (c, p);
            }
        }
        free (p);
    }
    return r;
}

/* The target's virtual size: the source's, or the source's rounded up
 * as the target format does (qcow2 to whole 512-byte sectors, as qemu
 * does; fmt_driver.size_align).  Read-back used to demand equality and
 * failed every odd-sized raw -> qcow2 conversion after writing it. */
static bool
convert_size_ok (enum fmt_type to, uint64_t src, uint64_t dst)
{
    return dst == src ||
           dst == fmt_driver_target_size (fmt_driver_of (to), src);
}

/* Open the written files under their temporary names: the MAIN output
 * as file 0, the others reachable by their final names (and a qcow2 data
 * file by its absolute final path, as its header records it). */
static int
convert_open_written (struct convert_ctx *c, struct exec *x,
                      struct beio **out)
{
    struct beio *tio = NULL;
    size_t main_i = 0;
    int r;

    for (size_t i = 0; i < x->nout; i++) {
        if (x->out[i].role == FMT_OUT_MAIN) {
            main_i = i;
        }
    }
    r = vs_beio_open (c->dst_be, x->out[main_i].tmp_path, &tio);
    for (size_t i = 0; i < x->nout && r == 0; i++) {
        if (i != main_i) {
            r = vs_beio_alias (tio, x->out[i].name, x->out[i].tmp_path);
        }
        if (r == 0 && x->out[i].role == FMT_OUT_DATA && c->data_path) {
            r = vs_beio_alias (tio, c->data_path, x->out[i].tmp_path);
        }
    }
    if (r < 0) {
        vs_beio_close (tio);
        return r;
    }
    *out = tio;
    return 0;
}

/* Read the written files back under their temporary names: the strict
 * validator must find nothing (a format whose read_map runs its whole
 * validator, fmt_driver.map_validates, is not validated twice), and every
 * guest range the source holds data in must be data in the target's own
 * map. */
static int
convert_readback (struct convert_ctx *c, struct exec *x, bool meta_cloned)
{
    struct fmt_extent_list tmap;
    struct fmt_source_info tinfo;
    struct fmt_problems probs;
    struct beio *tio = NULL;
    size_t ti = 0;
    int r;

    fmt_extents_init (&tmap);
    fmt_problems_init (&probs);
    r = convert_open_written (c, x, &tio);
    if (r < 0) {
        goto out;
    }
    /* The format's own allocation, not the host file's holes. */
    vs_beio_set_extents (tio, false);
    /* Metadata the executor cloned within the file is read where its
     * blocks were written (the temporary is flushed and only ours) */
    vs_beio_set_shared_reads (tio, meta_cloned);
    if (!fmt_driver_of (c->to)->map_validates) {
        r = fmt_validate (vs_beio_fmt (tio), c->to, &probs, &tinfo);
        if (r == 0 && probs.n > 0) {
            r = set_error (EIO, "read-back of '%s' failed validation: %s",
                           c->target, probs.msg[0]);
        }
    }
    if (r == 0) {
        r = fmt_read_map (vs_beio_fmt (tio), c->to, &tmap, &tinfo);
        if (r < 0) {
            error_prepend ("read-back of '%s' failed: ", c->target);
        }
    }
    if (r == 0 && !convert_size_ok (c->to, c->map.size, tmap.size)) {
        r = set_error (EIO, "read-back of '%s': virtual size %" PRIu64
                       " instead of %" PRIu64, c->target, tmap.size,
                       c->map.size);
    }
    for (size_t i = 0; i < c->map.v.len && r == 0; i++) {
        const struct fmt_extent *e = &c->map.v.ptr[i];

        if (e->kind != FMT_EXT_ZERO &&
            fmt_extents_is_zero (&tmap, e->guest_off, e->len, &ti)) {
            r = set_error (EIO, "read-back of '%s': guest range at %" PRIu64
                           " holds data in the source but none in the target",
                           c->target, e->guest_off);
        }
    }
out:
    fmt_problems_release (&probs);
    fmt_extents_release (&tmap);
    vs_beio_close (tio);
    return r;
}

/* --verify: compare the guest data of the source and of the written files
 * while they are still temporaries, so a target that fails is removed like
 * any other failed run instead of being left in place
 * (docs/internals/executor.md: write, flush, verify, then rename).  The
 * source side borrows the open source and its map. */
static int
convert_verify_written (struct convert_ctx *c, struct exec *x)
{
    struct verify_side a = { .io = c->src, .map = c->map, .info = c->info };
    struct verify_side b;
    struct verify_report rep;
    double t = vs_exec_now ();
    int r;

    memset (&b, 0, sizeof b);
    fmt_extents_init (&b.map);
    r = convert_open_written (c, x, &b.io);
    if (r == 0) {
        r = fmt_read_map (vs_beio_fmt (b.io), c->to, &b.map, &b.info);
    }
    if (r == 0) {
        r = fmt_extents_check (&b.map);
    }
    if (r == 0 && b.map.size != a.map.size &&
        convert_size_ok (c->to, a.map.size, b.map.size)) {
        /* the rounded-up tail must read as zeros; then compare the
         * source's size */
        uint8_t tail[FMT_SECTOR];
        uint64_t n = b.map.size - a.map.size;

        for (uint64_t off = 0; r == 0 && off < n; off += sizeof tail) {
            size_t k = n - off < sizeof tail ? (size_t) (n - off)
                                             : sizeof tail;

            r = vs_verify_read_guest (&b, a.map.size + off, tail, k);
            if (r == 0 && (tail[0] != 0 ||
                           memcmp (tail, tail + 1, k - 1) != 0)) {
                r = set_error (EIO, "verification of '%s' failed: the %"
                               PRIu64 " bytes past the source's end are not "
                               "zero", c->target, n);
            }
        }
        b.map.size = a.map.size;
    }
    if (r == 0) {
        r = vs_verify_compare (&a, &b, false, &rep);
    }
    if (r < 0) {
        error_prepend ("verification of '%s': ", c->target);
    }
    vs_verify_close (&b);
    if (r == 0 && rep.differ) {
        r = set_error (EIO, "verification of '%s' failed at guest offset %"
                       PRIu64 ": %s", c->target, rep.first_diff, rep.why);
    }
    c->res->st.verified = r == 0;
    c->res->t_verify = vs_exec_now () - t;
    return r;
}

/* A target format that rounds the virtual size up (fmt_driver.size_align:
 * qcow2 to whole sectors, VHD to whole MiB for Azure) makes a disk a
 * little larger than its source; the result says so, and so does the
 * log, since a user comparing sizes would otherwise be surprised.  The
 * added bytes are never written: they read as zeros (verified by
 * --verify and by the read-back's size check). */
static int
convert_size_note (struct convert_ctx *c)
{
    uint64_t src = c->map.size;
    uint64_t dst = fmt_driver_target_size (fmt_driver_of (c->to), src);

    c->res->target_virtual_size = dst;
    if (dst == src) {
        return 0;
    }
    if (asprintf (&c->res->size_note, "virtual size rounded up from %" PRIu64
                  " to %" PRIu64 " bytes, as %s requires; the %" PRIu64
                  " bytes added read as zeros", src, dst,
                  fmt_type_name (c->to), dst - src) < 0) {
        c->res->size_note = NULL;
        return set_error (ENOMEM, "out of memory");
    }
    vs_log_msg (&c->h->log, LOG_WARN, "'%s': %s", c->target,
                c->res->size_note);
    return 0;
}

static int
convert_fill_result (struct convert_ctx *c)
{
    struct vmshift_result *res = c->res;
    int r;

    res->source = strdup (c->source);
    res->target = strdup (c->target);
    res->src_format = strdup (fmt_type_name (c->info.type));
    res->src_subformat = strdup (c->info.subformat);
    res->dst_format = strdup (fmt_type_name (c->to));
    res->backend = strdup (c->dst_be->ops->name);
    res->st.virtual_size = c->info.virtual_size;
    res->st.bytes_zero = c->map.size - fmt_extents_allocated (&c->map);
    r = convert_size_note (c);
    if (r < 0) {
        return r;
    }
    res->data_offset = c->lay.data_offset;
    res->metadata_planned = c->lay.meta_bytes;
    res->unallocated = c->lay.unallocated;
    if (!res->source || !res->target || !res->src_format ||
        !res->src_subformat || !res->dst_format || !res->backend) {
        return set_error (ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < c->lay.nout; i++) {
        char *shown_dir = vs_path_dirname (c->target);

        res->out[i].path = shown_dir
                           ? vs_path_join (shown_dir, c->lay.out[i].name)
                           : NULL;
        free (shown_dir);
        res->out[i].role = strdup (c->lay.out[i].role == FMT_OUT_MAIN ? "main"
                                   : c->lay.out[i].role == FMT_OUT_EXTENT
                                   ? "extent" : "data-file");
        res->out[i].size = c->lay.out[i].file_size;
        res->nout = i + 1;
        if (!res->out[i].path || !res->out[i].role) {
            return set_error (ENOMEM, "out of memory");
        }
    }
    return 0;
}

/* The caller's progress function is never called twice at once, whatever
 * the number of conversion threads (engine/vmshift.h). */
static pthread_mutex_t convert_progress_lock = PTHREAD_MUTEX_INITIALIZER;

static void
convert_progress (void *opaque, const struct exec_stats *st)
{
    struct convert_ctx *c = opaque;
    struct vmshift_progress p = {
        .struct_size = sizeof p, .index = c->index, .source = c->source,
        .target = c->target, .bytes_total = st->bytes_total,
        .bytes_done = st->bytes_cloned + st->bytes_copied,
        .bytes_to_copy = st->bytes_to_copy,
        .bytes_cloned = st->bytes_cloned, .bytes_copied = st->bytes_copied,
        .finished = st->data_done,
    };

    pthread_mutex_lock (&convert_progress_lock);
    c->o->progress (c->o->progress_opaque, &p);
    pthread_mutex_unlock (&convert_progress_lock);
}

/* ------------------------------------------- steps journalled by a caller
 * (struct vs_convert_journal, engine/convert.h) */

void
vs_step_rec_clear (struct vs_step_rec *r)
{
    free (r->intent);
    free (r->result);
    memset (r, 0, sizeof *r);
}

struct convert_steps {
    struct convert_ctx *c;
    int64_t token;              /* the "clone" entry of this disk */
    int64_t job_token;          /* its latest "clone-job" entry */
};

/* The "clone" intent, once the temporaries are named and before any is
 * created: everything a later process needs to find them and to know
 * what was asked of ONTAP. */
static int
convert_step_intent (void *opaque, const struct exec *x)
{
    struct convert_steps *cs = opaque;
    struct convert_ctx *c = cs->c;
    uint64_t ranges = 0, bytes = 0;
    struct sbuf b;
    struct jsonw w;
    char *json;
    int r;

    for (size_t i = 0; i < c->lay.nout; i++) {
        for (size_t k = 0; k < c->lay.out[i].place.len; k++) {
            const struct fmt_placement *p = &c->lay.out[i].place.ptr[k];

            if (p->kind == FMT_PLACE_CLONE) {
                ranges++;
                bytes += p->len;
            }
        }
    }
    vs_sbuf_init (&b, 1024);
    vs_jw_init (&w, &b, false);
    vs_jw_obj_begin (&w);
    vs_jw_kv_str (&w, "target", c->target);
    for (size_t i = 0; i < x->nout; i++) {
        char k[8];

        snprintf (k, sizeof k, "tmp%zu", i);
        vs_jw_kv_str (&w, k, vs_path_basename (x->out[i].tmp_path));
    }
    vs_jw_kv_str (&w, "source", c->src_path);
    vs_jw_kv_u64 (&w, "ranges", ranges);
    vs_jw_kv_u64 (&w, "bytes", bytes);
    vs_jw_obj_end (&w);
    json = vs_sbuf_detach (&b, NULL);
    if (json == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    r = c->journal->intent (c->journal->opaque, c->index, "clone", json,
                            &cs->token);
    free (json);
    return r;
}

static int
convert_step_finish (struct convert_ctx *c, const char *step, int64_t token,
                     int status, const char *k1, const char *v1,
                     const char *k2, const char *v2)
{
    struct sbuf b;
    struct jsonw w;
    char *json;
    int r;

    vs_sbuf_init (&b, 512);
    vs_jw_init (&w, &b, false);
    vs_jw_obj_begin (&w);
    vs_jw_kv_str (&w, "target", c->target);
    if (k1) {
        vs_jw_kv_str (&w, k1, v1);
    }
    if (k2) {
        vs_jw_kv_str (&w, k2, v2);
    }
    vs_jw_obj_end (&w);
    json = vs_sbuf_detach (&b, NULL);
    if (json == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    r = c->journal->finish (c->journal->opaque, c->index, step, token, status,
                            json);
    free (json);
    return r;
}

/* A clone call answered with a job (202): journalled before the wait,
 * so that a process killed while waiting leaves the job to ask.  The
 * one before ended well (the conversion went on).  A journal that fails
 * here is a warning: the clone itself is not at stake. */
static void
convert_step_job_hook (void *opaque, const char *what, const char *uuid)
{
    struct convert_steps *cs = opaque;
    struct convert_ctx *c = cs->c;
    struct vmshift_error_save es;
    char *json;
    int r = 0;

    if (strcmp (what, "file clone") != 0) {
        return;
    }
    error_save (&es);
    if (cs->job_token > 0) {
        r = convert_step_finish (c, "clone-job", cs->job_token, VS_STEP_DONE,
                                 "state", "success", NULL, NULL);
        cs->job_token = 0;
    }
    if (r == 0) {
        struct sbuf b;
        struct jsonw w;

        vs_sbuf_init (&b, 512);
        vs_jw_init (&w, &b, false);
        vs_jw_obj_begin (&w);
        vs_jw_kv_str (&w, "target", c->target);
        vs_jw_kv_str (&w, "job", uuid);
        vs_jw_obj_end (&w);
        json = vs_sbuf_detach (&b, NULL);
        r = json ? c->journal->intent (c->journal->opaque, c->index,
                                       "clone-job", json, &cs->job_token)
                 : -ENOMEM;
        free (json);
    }
    if (r < 0) {
        vs_log_msg (&c->h->log, LOG_WARN, "'%s': cannot journal clone job %s: "
                    "%s", c->target, uuid, vmshift_internal_error_msg ());
        cs->job_token = 0;
    }
    error_restore (&es);
}

/* The temporaries named by a recorded "clone" intent, if it names one per
 * output of this plan: names[i] (caller frees), else 0 names. */
static size_t
convert_step_names (struct convert_ctx *c, const char *intent,
                    char *names[FMT_MAX_OUTPUTS])
{
    struct json_val *v = NULL;
    size_t n = 0;

    if (intent == NULL ||
        vs_json_parse (intent, strlen (intent), "journal", &v) < 0) {
        clear_error ();
        return 0;
    }
    for (size_t i = 0; i < FMT_MAX_OUTPUTS; i++) {
        char k[8];

        snprintf (k, sizeof k, "tmp%zu", i);
        if (vs_json_opt_str (v, k, &names[i]) < 0 || names[i] == NULL) {
            clear_error ();
            break;
        }
        /* a name, never a path: it is joined onto the target's folder */
        if (strchr (names[i], '/') || strncmp (names[i], ".vmshift.", 9)) {
            free (names[i]);
            names[i] = NULL;
            break;
        }
        n++;
    }
    vs_json_free (v);
    if (n != c->lay.nout) {
        for (size_t i = 0; i < n; i++) {
            free (names[i]);
            names[i] = NULL;
        }
        n = 0;
    }
    return n;
}

/* A recorded clone job, waited for if it still runs: 1 it succeeded, 2
 * cannot tell (gone), 0 it failed.  One GET, more only while it runs.
 * Success proves the call it answered, not the ones after it: the
 * caller looks at the data all the same. */
static int
convert_step_job (struct convert_ctx *c, const char *job)
{
    enum ontap_outcome oc = ONTAP_DONE;
    int r;

    if (c->client == NULL) {
        return 2;
    }
    r = ontap_job_wait (c->client, job,
                        ontap_client_profile (c->client)->job_deadline, &oc);
    if (r < 0) {
        vs_log_msg (&c->h->log, LOG_INFO, "'%s': the clone job %s of an "
                    "interrupted process: %s", c->target, job,
                    vmshift_get_error ());
        clear_error ();
        return 0;
    }
    return oc == ONTAP_DONE ? 1 : 2;
}

/* What an earlier process of the caller's run did for this disk, from
 * its journal: its temporaries are adopted (the data in them too when
 * the clone finished: by its result, its job, or by looking), or, when
 * they are not all there, removed and the step undone.  *adopted set
 * when x is begun on them. */
static int
convert_step_resume (struct convert_ctx *c, struct exec *x,
                     struct convert_steps *cs, bool *adopted)
{
    const struct vs_convert_journal *j = c->journal;
    struct vs_step_rec prev = { 0 }, job = { 0 };
    char *names[FMT_MAX_OUTPUTS] = { NULL };
    size_t n = 0, have = 0;
    bool done = false, look = true;
    int r;

    *adopted = false;
    r = j->last (j->opaque, c->index, "clone", &prev);
    if (r == 0 && prev.token > 0 && prev.status == VS_STEP_FAILED) {
        /* removed when it failed, unless the process died first */
        n = convert_step_names (c, prev.intent, names);
        for (size_t i = 0; i < n; i++) {
            char *p = vs_path_join (c->dst_dir, names[i]);

            if (p && backend_unlink (c->dst_be, p) < 0) {
                clear_error ();
            }
            free (p);
        }
        r = 0;
        goto out;
    }
    if (r < 0 || prev.token == 0 || (prev.status != 0 &&
                                     prev.status != VS_STEP_DONE)) {
        vs_step_rec_clear (&prev);
        return r < 0 ? r : 0;
    }
    n = convert_step_names (c, prev.intent, names);
    for (size_t i = 0; i < n; i++) {
        char *p = vs_path_join (c->dst_dir, names[i]);
        int e = p ? backend_exists (c->dst_be, p) : -ENOMEM;

        free (p);
        if (e < 0) {
            r = e;
            goto out;
        }
        have += e == 1;
    }
    if (n > 0 && have == n) {
        r = vs_exec_begin_steps (x, c->dst_be, c->dst_dir, &c->lay, c->owner,
                                 (const char *const *) names, NULL, NULL,
                                 &c->h->log);
        if (r < 0) {
            goto out;
        }
        *adopted = true;
        cs->token = prev.token;
        done = prev.status == VS_STEP_DONE;
        if (!done && (r = j->last (j->opaque, c->index, "clone-job",
                                   &job)) == 0 && job.token > 0) {
            char *id = NULL;
            struct json_val *v = NULL;

            if (job.status == 0 && vs_json_parse (job.intent,
                                                  strlen (job.intent),
                                                  "journal", &v) == 0 &&
                vs_json_opt_str (v, "job", &id) == 0 && id) {
                r = convert_step_job (c, id);
                look = r != 0;      /* a failed job: clone again */
                r = convert_step_finish (c, "clone-job", job.token,
                                         r == 0 ? VS_STEP_FAILED
                                                : VS_STEP_DONE, "state",
                                         r == 0 ? "failure" : r == 1
                                         ? "success" : "unknown", NULL, NULL);
            }
            clear_error ();
            vs_json_free (v);
            free (id);
        }
        if (r >= 0 && !done && look) {
            r = vs_exec_clones_present (x, &c->lay, c->src);
            done = r == 1;
        }
        if (r >= 0) {
            r = 0;
            x->clones_in_place = done && !c->o->no_clone;
            vs_log_msg (&c->h->log, LOG_INFO, "'%s': temporaries of an "
                        "interrupted process adopted, %s", c->target,
                        x->clones_in_place ? "its clones in place"
                                           : "cloning again");
        }
        goto out;
    }
    /* not all there: undo (remove what is) and begin afresh */
    vs_log_msg (&c->h->log, LOG_INFO, "'%s': %zu of the %zu temporaries of an "
                "interrupted process are gone; converting again", c->target,
                n - have, n);
    for (size_t i = 0; i < n; i++) {
        char *p = vs_path_join (c->dst_dir, names[i]);

        if (p && backend_unlink (c->dst_be, p) < 0) {
            clear_error ();
        }
        free (p);
    }
    r = convert_step_finish (c, "clone", prev.token, VS_STEP_UNDONE,
                             "undone", "temporaries missing", NULL, NULL);
out:
    for (size_t i = 0; i < FMT_MAX_OUTPUTS; i++) {
        free (names[i]);
    }
    vs_step_rec_clear (&prev);
    vs_step_rec_clear (&job);
    return r;
}

/* Whether a failed conversion's temporaries may stay for the run's retry
 * of the disk: the failure is retryable, and every output is still a
 * temporary (none published, no publish journal). */
static bool
convert_keepable (const struct exec *x)
{
    if (!vmshift_internal_error_retryable () || x->journal != NULL ||
        x->nout == 0) {
        return false;
    }
    for (size_t i = 0; i < x->nout; i++) {
        if (x->out[i].tmp_path == NULL || x->out[i].committed) {
            return false;
        }
    }
    return true;
}

static int
convert_execute (struct convert_ctx *c)
{
    struct exec x;
    struct exec_stats st = { 0 };
    struct convert_steps cs = { .c = c };
    bool adopted = false, keep = false, placed;
    double t;
    int r = 0;

    if (c->o->progress) {
        st.progress = convert_progress;
        st.progress_opaque = c;
    }

    memset (&x, 0, sizeof x);
    if (c->journal) {
        r = convert_step_resume (c, &x, &cs, &adopted);
    }
    if (r == 0 && !adopted) {
        r = vs_exec_begin_steps (&x, c->dst_be, c->dst_dir, &c->lay, c->owner,
                                 NULL, c->journal ? convert_step_intent : NULL,
                                 &cs, &c->h->log);
    }
    if (r < 0) {
        /* the message names a temporary file; say which target it is */
        error_prepend ("writing '%s': ", c->target);
        return r;
    }
    if (c->journal && c->client) {
        ontap_client_set_job_hook (c->client, convert_step_job_hook, &cs);
    }
    r = vs_exec_write (&x, &c->lay, c->src, !c->o->no_clone, &st);
    if (r < 0) {
        error_prepend ("writing '%s': ", c->target);
    }
    if (c->journal && c->client) {
        ontap_client_set_job_hook (c->client, NULL, NULL);
    }
    if (c->journal && cs.job_token > 0) {
        struct vmshift_error_save es;

        error_save (&es);
        if (convert_step_finish (c, "clone-job", cs.job_token, r == 0
                                 ? VS_STEP_DONE : VS_STEP_FAILED, "state",
                                 r == 0 ? "success" : "failure", NULL,
                                 NULL) < 0) {
            vs_log_msg (&c->h->log, LOG_WARN, "'%s': %s", c->target,
                        vmshift_internal_error_msg ());
        }
        error_restore (&es);
    }
    if (c->journal && cs.token > 0) {
        /* after the effect: done, or failed (the temporaries go below);
         * done as well when the data is placed and only the metadata
         * failed retryably: the temporaries stay for the retry, which
         * adopts them and writes the metadata again without cloning
         * (docs/internals/ontap-flow.md, "Steps journalled by the
         * caller") */
        struct vmshift_error_save es;
        char calls[32];
        int e;

        keep = r < 0 && st.data_done && convert_keepable (&x);
        error_save (&es);
        snprintf (calls, sizeof calls, "%" PRIu64, st.clone_calls);
        e = r == 0 ? convert_step_finish (c, "clone", cs.token, VS_STEP_DONE,
                                          "calls", calls,
                                          x.clones_in_place ? "adopted" : NULL,
                                          "yes")
            : keep ? convert_step_finish (c, "clone", cs.token, VS_STEP_DONE,
                                          "calls", calls, "kept", es.msg)
                   : convert_step_finish (c, "clone", cs.token,
                                          VS_STEP_FAILED, "error", es.msg,
                                          NULL, NULL);
        if (r < 0) {
            keep = keep && e == 0;
            error_restore (&es);
        } else {
            r = e;
        }
    }
    placed = r == 0 && c->journal && cs.token > 0;
    c->res->t_data = st.t_data;
    c->res->t_meta = st.t_meta;
    c->res->st.seconds_data = st.t_data;
    c->res->st.seconds_metadata = st.t_meta;
    if (r == 0) {
        t = vs_exec_now ();
        r = convert_readback (c, &x, st.bytes_metadata_cloned > 0);
        c->res->t_validate = vs_exec_now () - t;
    }
    if (r == 0 && c->o->verify) {
        r = convert_verify_written (c, &x);
    }
    if (r == 0) {
        t = vs_exec_now ();
        r = vs_exec_commit (&x, c->o->force != 0);
        c->res->t_commit = vs_exec_now () - t;
    }
    if (r < 0 && placed) {
        /* the read-back, --verify or the publish failed after the clone
         * step was done: as above */
        keep = convert_keepable (&x);
    }
    if (r < 0 && keep) {
        vs_log_msg (&c->h->log, LOG_INFO, "'%s': temporaries kept for a "
                    "retry: %s", c->target, vmshift_get_error ());
        vs_exec_keep (&x);
    }
    vs_exec_release (&x);
    if (r < 0) {
        return r;
    }
    c->res->st.bytes_cloned = st.bytes_cloned;
    c->res->st.bytes_copied = st.bytes_copied;
    c->res->st.bytes_metadata = st.bytes_metadata;
    c->res->st.bytes_metadata_logical = st.bytes_metadata_logical;
    c->res->st.bytes_metadata_cloned = st.bytes_metadata_cloned;
    c->res->clone_calls = st.clone_calls;
    c->res->st.all_shared = st.bytes_copied == 0;
    if (st.clone_note[0]) {
        c->res->clone_note = strdup (st.clone_note);
        vs_log_msg (&c->h->log, LOG_WARN, "'%s': data was copied, not "
                    "shared: %s", c->target, st.clone_note);
    }
    return 0;
}

void
vs_convert_ctx_init (struct convert_ctx *c)
{
    memset (c, 0, sizeof *c);
    fmt_extents_init (&c->map);
    fmt_layout_init (&c->lay);
}

void
vs_convert_ctx_release (struct convert_ctx *c)
{
    vs_beio_close (c->src);
    c->src = NULL;
    fmt_layout_release (&c->lay);
    fmt_extents_release (&c->map);
    free (c->dst_dir);
    free (c->data_name);
    free (c->data_path);
    free (c->extent_name);
    c->dst_dir = c->data_name = c->data_path = c->extent_name = NULL;
}

/* Before writing, the target's directory must exist (a dry run only
 * plans; ONTAP runs make it first): a missing one is the target's
 * problem, which the errno alone (ENOENT, also a missing source) does
 * not say. */
static int
convert_check_target_dir (struct convert_ctx *c)
{
    struct be_stat st = { .struct_size = sizeof st };
    int r;

    if (c->o->dry_run) {
        return 0;
    }
    r = backend_stat (c->dst_be, c->dst_dir, 0, &st);
    if (r == -ENOTSUP) {
        clear_error ();
        return 0;               /* found out when writing */
    }
    if (r == -ENOENT) {
        return set_error (ENOENT, "cannot write '%s': its directory '%s' "
                          "does not exist", c->target, c->dst_dir);
    }
    if (r == 0 && st.type != BE_TYPE_DIR) {
        return set_error (ENOTDIR, "cannot write '%s': '%s' is not a "
                          "directory", c->target, c->dst_dir);
    }
    if (r < 0) {
        error_prepend ("cannot write '%s': ", c->target);
    }
    return r;
}

int
vs_convert_pipeline (struct convert_ctx *c)
{
    double t0 = vs_exec_now ();
    int r;

    c->dst_dir = vs_path_dirname (c->dst_path);
    if (c->dst_dir == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    r = convert_read_source (c);
    if (r < 0) {
        error_class (VS_ERRCLASS_SOURCE);
    }
    if (r == 0 && !c->o->dry_run) {
        /* what a killed run left for this target is finished or undone
         * before anyone looks whether the target (or a companion name)
         * exists */
        r = vs_exec_recover (c->dst_be, c->dst_dir,
                             vs_path_basename (c->dst_path), &c->h->log);
        if (r < 0) {
            error_class (VS_ERRCLASS_TARGET);   /* the target's directory */
        }
    }
    if (r == 0) {
        r = convert_target_type (c->o, c->dst_path, &c->to);
        if (r < 0) {
            error_class (VS_ERRCLASS_USAGE);
        }
    }
    if (r == 0) {
        r = convert_check_target_dir (c);
        if (r < 0) {
            error_class (VS_ERRCLASS_TARGET);
        }
    }
    if (r == 0) {
        /* what the source cannot become (too big, not whole sectors) */
        r = convert_plan (c);
        if (r < 0) {
            error_class (VS_ERRCLASS_SOURCE);
        }
    }
    if (r == 0) {
        r = convert_fill_result (c);
    }
    if (r == 0 && c->o->dry_run) {
        c->res->dry_run = 1;
        c->res->plan_json = vs_result_plan_json (&c->lay, &c->info, c->source,
                                              c->target, 1);
        return c->res->plan_json ? 0
               : set_error (ENOMEM, "out of memory for the plan of '%s'",
                            c->target);
    }
    if (r == 0) {
        r = convert_check_targets (c);
        if (r < 0) {
            error_class (VS_ERRCLASS_TARGET);
        }
    }
    if (r == 0) {
        /* reading the source while writing is classified in exec.c */
        r = convert_execute (c);
        if (r < 0) {
            error_class (VS_ERRCLASS_TARGET);
        }
    }
    c->res->st.wall_seconds = vs_exec_now () - t0;
    return r;
}

static int
convert_local (struct vmshift_handle *h, size_t index, const char *source,
               const char *target, const struct vmshift_convert_opts *o,
               struct vmshift_result **res)
{
    struct convert_ctx c;
    struct vs_owner owner;
    int r;

    vs_convert_ctx_init (&c);
    r = vs_owner_init (&owner, &h->log);
    if (r < 0) {
        return r;
    }
    c.owner = &owner;
    c.h = h;
    c.source = c.src_path = source;
    c.target = c.dst_path = target;
    c.o = o;
    c.index = index;
    c.res = vs_result_new ();
    c.src_be = be_local_new (&h->log);
    if (c.res == NULL || c.src_be == NULL) {
        r = -ENOMEM;
        goto out;
    }
    c.dst_be = c.src_be;
    r = vs_convert_pipeline (&c);
out:
    vs_convert_ctx_release (&c);
    vs_owner_release (&owner, c.src_be);
    backend_free (c.src_be);
    if (r == 0 && res) {
        *res = c.res;
    } else {
        vmshift_result_free (c.res);
    }
    return r;
}

/* A side of an nfs:// conversion: its own backend (an NFS mount, or the
 * local one) and its path there. */
static int
convert_side_open (struct vmshift_handle *h, const char *location,
                   struct backend **be, char **path)
{
    *be = NULL;
    *path = NULL;
    if (vs_loc_kind_of (location) == LOC_NFS) {
        return be_nfs_open_location (&h->log, location, be, path);
    }
    *be = be_local_new (&h->log);
    *path = strdup (location);
    if (*be == NULL || *path == NULL) {
        backend_free (*be);
        free (*path);
        *be = NULL;
        *path = NULL;
        return set_error (ENOMEM, "out of memory");
    }
    return 0;
}

/* A conversion with an nfs:// side (the other nfs:// or local): each side
 * on its own backend.  NFS cannot share blocks, so the data is copied
 * (the result says why, as for a local filesystem without reflinks). */
static int
convert_nfs (struct vmshift_handle *h, size_t index, const char *source,
             const char *target, const struct vmshift_convert_opts *o,
             struct vmshift_result **res)
{
    struct convert_ctx c;
    struct vs_owner owner;
    struct backend *sb = NULL, *db = NULL;
    char *sp = NULL, *dp = NULL;
    int r;

    vs_convert_ctx_init (&c);
    r = vs_owner_init (&owner, &h->log);
    if (r < 0) {
        return r;
    }
    r = convert_side_open (h, source, &sb, &sp);
    if (r < 0) {
        error_class (VS_ERRCLASS_SOURCE);
        goto out;
    }
    r = convert_side_open (h, target, &db, &dp);
    if (r < 0) {
        error_class (VS_ERRCLASS_TARGET);
        goto out;
    }
    c.owner = &owner;
    c.h = h;
    c.source = source;
    c.src_path = sp;
    c.target = target;
    c.dst_path = dp;
    c.o = o;
    c.index = index;
    c.res = vs_result_new ();
    c.src_be = sb;
    c.dst_be = db;
    if (c.res == NULL) {
        r = set_error (ENOMEM, "out of memory");
        goto out;
    }
    r = vs_convert_pipeline (&c);
out:
    vs_convert_ctx_release (&c);
    vs_owner_release (&owner, db);
    backend_free (sb);
    backend_free (db);
    free (sp);
    free (dp);
    if (r == 0 && res) {
        *res = c.res;
    } else {
        vmshift_result_free (c.res);
    }
    return r;
}

/* One conversion, index being its place in the caller's list (progress);
 * o already checked. */
static int
convert_one (struct vmshift_handle *h, size_t index, const char *source,
             const char *target, const struct vmshift_convert_opts *o,
             struct vmshift_result **res)
{
    enum loc_kind ks = vs_loc_kind_of (source), kt = vs_loc_kind_of (target);

    if (ks == LOC_LOCAL && kt == LOC_LOCAL) {
        if (o->snapshot || o->keep_snapshot || o->parallel || o->qtree_style) {
            vs_log_msg (&h->log, LOG_WARN, "--snapshot, --keep-snapshot, "
                     "--parallel and --qtree-style apply to ontap:// "
                     "locations only; ignored");
        }
        return convert_local (h, index, source, target, o, res);
    }
    if (ks == LOC_ONTAP && kt == LOC_ONTAP) {
        /* (progress names it disk 0: one disk, one call) */
        return vs_convert_ontap_many (h, 1, &source, &target, o, NULL, res,
                                      NULL);
    }
    if (ks != LOC_ONTAP && kt != LOC_ONTAP) {
        if (o->snapshot || o->keep_snapshot || o->parallel || o->qtree_style) {
            vs_log_msg (&h->log, LOG_WARN, "--snapshot, --keep-snapshot, "
                     "--parallel and --qtree-style apply to ontap:// "
                     "locations only; ignored");
        }
        return convert_nfs (h, index, source, target, o, res);
    }
    return set_error (ENOTSUP, "'%s' -> '%s': an ontap:// location converts "
                      "only to or from one on the same volume", source,
                      target);
}

int
vmshift_convert (struct vmshift_handle *h, const char *source,
                 const char *target, const struct vmshift_convert_opts *o,
                 struct vmshift_result **res)
{
    struct vmshift_convert_opts defaults;

    vs_api_enter (h);
    vmshift_convert_opts_init (&defaults);
    if (o && vs_api_copy_in ("vmshift_convert", &defaults, sizeof defaults, o,
                             VMSHIFT_CONVERT_OPTS_V1) < 0) {
        return -EINVAL;
    }
    if (convert_check_opts (&defaults) < 0) {
        return -EINVAL;
    }
    return convert_one (h, 0, source, target, &defaults, res);
}

/* A key naming where a target lands: ontap:// by profile, volume and
 * normalized path; a local file by its resolved directory and its name
 * (the directory may not exist yet: then as written).  Caller frees. */
static char *
convert_target_key (const char *target)
{
    char *key = NULL;

    if (vs_loc_kind_of (target) == LOC_ONTAP) {
        struct ontap_location l;

        if (ontap_location_parse (target, &l) < 0) {
            clear_error ();
            return strdup (target);
        }
        if (asprintf (&key, "ontap:%s/%s/%s", l.profile, l.volume, l.path) < 0) {
            key = NULL;
        }
        ontap_location_release (&l);
    } else {
        char *dir = vs_path_dirname (target);
        char *rdir = dir ? realpath (dir, NULL) : NULL;

        key = vs_path_join (rdir ? rdir : dir ? dir : ".",
                            vs_path_basename (target));
        free (rdir);
        free (dir);
    }
    return key;
}

/* One call given the same target twice would have its two conversions
 * race for the name (and on NFS both once "succeeded"): refused before
 * anything starts. */
static int
convert_check_duplicates (size_t n, const char *const *targets)
{
    char **keys = calloc (n ? n : 1, sizeof *keys);
    int r = 0;

    if (keys == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n && r == 0; i++) {
        keys[i] = convert_target_key (targets[i]);
        if (keys[i] == NULL) {
            r = set_error (ENOMEM, "out of memory");
        }
        for (size_t j = 0; j < i && r == 0; j++) {
            if (strcmp (keys[i], keys[j]) == 0) {
                r = set_error (EINVAL, "target '%s' is given twice (also as "
                               "'%s'); each target may appear once",
                               targets[i], targets[j]);
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        free (keys[i]);
    }
    free (keys);
    return r;
}

/* The caller's cancel hook (never two calls at once: the local loop is
 * one thread, ONTAP's workers ask under their run's lock); the thread's
 * error is left as it was. */
static pthread_mutex_t convert_cancel_lock = PTHREAD_MUTEX_INITIALIZER;

bool
vs_convert_cancelled (const struct vmshift_convert_opts *o)
{
    struct vmshift_error_save es;
    bool c;

    if (o->cancel == NULL) {
        return false;
    }
    error_save (&es);
    /* never two calls at once (vmshift.h), also when several volumes
     * convert at once */
    pthread_mutex_lock (&convert_cancel_lock);
    c = o->cancel (o->cancel_opaque) != 0;
    pthread_mutex_unlock (&convert_cancel_lock);
    error_restore (&es);
    return c;
}

int
vmshift_convert_many (struct vmshift_handle *h, size_t n,
                      const char *const *sources, const char *const *targets,
                      const struct vmshift_convert_opts *o,
                      struct vmshift_result **res, char **errors)
{
    vs_api_enter (h);
    return vs_convert_many_journal (h, n, sources, targets, o, NULL, res,
                                    errors);
}

int
vs_convert_many_journal (struct vmshift_handle *h, size_t n,
                         const char *const *sources,
                         const char *const *targets,
                         const struct vmshift_convert_opts *o,
                         const struct vs_convert_journal *journal,
                         struct vmshift_result **res, char **errors)
{
    struct vmshift_convert_opts defaults;
    int ret = 0;

    vmshift_convert_opts_init (&defaults);
    if (o && vs_api_copy_in ("vmshift_convert_many", &defaults,
                             sizeof defaults, o, VMSHIFT_CONVERT_OPTS_V1) < 0) {
        return -EINVAL;
    }
    o = &defaults;
    if ((ret = convert_check_opts (o)) < 0 ||
        (ret = convert_check_duplicates (n, targets)) < 0) {
        struct vmshift_error_save es;

        error_save (&es);
        for (size_t i = 0; i < n; i++) {
            if (res) {
                res[i] = NULL;
            }
            if (errors) {
                errors[i] = i == 0 ? strdup (vmshift_get_error ()) : NULL;
            }
            if (o->error_info) {
                vs_api_error_info_fill (&o->error_info[i], i == 0 ? &es : NULL,
                                        errors ? errors[i] : NULL);
            }
        }
        return ret;
    }
    if (n > 0 && vs_loc_kind_of (sources[0]) == LOC_ONTAP) {
        return vs_convert_ontap_many (h, n, sources, targets, o, journal,
                                      res, errors);
    }
    struct vmshift_error_save first = { 0 };

    for (size_t i = 0; i < n; i++) {
        struct vmshift_error_save es = { 0 };
        int r;

        vs_api_enter (h);
        if (vs_convert_cancelled (o)) {
            r = set_error (ECANCELED, "'%s': cancelled before it started",
                           targets[i]);
            if (res) {
                res[i] = NULL;
            }
        } else {
            r = convert_one (h, i, sources[i], targets[i], o,
                             res ? &res[i] : NULL);
        }

        if (res && r < 0) {
            res[i] = NULL;
        }
        if (r < 0) {
            error_save (&es);
        }
        if (errors) {
            errors[i] = r < 0 ? strdup (vmshift_get_error ()) : NULL;
        }
        if (o->error_info) {
            vs_api_error_info_fill (&o->error_info[i], r < 0 ? &es : NULL,
                                    errors ? errors[i] : NULL);
        }
        if (r < 0 && ret == 0) {
            ret = r;
            first = es;
        }
    }
    /* The thread's error is the first failure's, not the last call's. */
    if (ret < 0) {
        error_restore (&first);
    }
    return ret;
}
