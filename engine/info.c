/* vmshift_info and vmshift_verify: describe and compare images. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "engine/base/jsonw.h"
#include "engine/exec/beio.h"
#include "engine/exec/verify.h"
#include "engine/handle.h"
#include "engine/location.h"

#define INFO_MAX ((size_t) 64 << 20)

struct info_data {
    const char *file;
    enum fmt_type type;
    struct fmt_source_info info;
    struct fmt_problems probs;
    struct fmt_extent_list map;
    bool have_map;
    char *map_error;
    struct beio *io;
};

static void
info_text (struct sbuf *b, const struct info_data *d)
{
    vs_sbuf_printf (b, "file:            %s\n", d->file);
    vs_sbuf_printf (b, "format:          %s\n", fmt_type_name (d->type));
    if (d->info.subformat[0]) {
        vs_sbuf_printf (b, "subformat:       %s\n", d->info.subformat);
    }
    vs_sbuf_printf (b, "virtual size:    %" PRIu64 " bytes\n",
                    d->info.virtual_size);
    if (d->info.block_size) {
        vs_sbuf_printf (b, "block size:      %u bytes\n", d->info.block_size);
    }
    if (d->have_map) {
        vs_sbuf_printf (b, "allocated:       %" PRIu64 " bytes in %zu "
                        "extents\n", fmt_extents_allocated (&d->map),
                        d->map.v.len);
    }
    if (d->info.has_block_states) {
        /* how blocks without data are marked: ZERO (2) reads as zeros by
         * the spec, NOT_PRESENT (0) by every reader (formats/vhdx.md) */
        vs_sbuf_printf (b, "blocks:          %" PRIu64 " present, %" PRIu64
                        " ZERO, %" PRIu64 " NOT_PRESENT",
                        d->info.blocks_present, d->info.blocks_zero,
                        d->info.blocks_not_present);
        if (d->info.blocks_other) {
            vs_sbuf_printf (b, ", %" PRIu64 " other (read as zeros)",
                            d->info.blocks_other);
        }
        vs_sbuf_addch (b, '\n');
    }
    if (d->io) {
        for (uint32_t i = 0; i < vs_beio_nfiles (d->io); i++) {
            vs_sbuf_printf (b, "file %u:          %s\n", i,
                            vs_beio_file (d->io, i)->path);
        }
    }
    if (d->info.has_parent) {
        vs_sbuf_printf (b, "parent:          yes (delta disk; map includes "
                        "the parent)\n");
    }
    vs_sbuf_printf (b, "problems:        %zu\n",
                    fmt_problems_count_errors (&d->probs) + d->probs.dropped);
    for (size_t i = 0; i < d->probs.n; i++) {
        vs_sbuf_printf (b, "  - %s\n", d->probs.msg[i]);
    }
    if (d->probs.dropped) {
        vs_sbuf_printf (b, "  - (%zu more not shown)\n", d->probs.dropped);
    }
}

static void
info_json (struct sbuf *b, const struct info_data *d)
{
    struct jsonw w;

    vs_jw_init (&w, b, true);
    vs_jw_obj_begin (&w);
    vs_jw_kv_str (&w, "file", d->file);
    vs_jw_kv_str (&w, "format", fmt_type_name (d->type));
    vs_jw_kv_str (&w, "subformat", d->info.subformat);
    vs_jw_kv_u64 (&w, "virtual_size", d->info.virtual_size);
    vs_jw_kv_u64 (&w, "block_size", d->info.block_size);
    vs_jw_kv_bool (&w, "has_parent", d->info.has_parent);
    if (d->info.has_block_states) {
        vs_jw_key (&w, "blocks");
        vs_jw_obj_begin (&w);
        vs_jw_kv_u64 (&w, "present", d->info.blocks_present);
        vs_jw_kv_u64 (&w, "zero", d->info.blocks_zero);
        vs_jw_kv_u64 (&w, "not_present", d->info.blocks_not_present);
        vs_jw_kv_u64 (&w, "other", d->info.blocks_other);
        vs_jw_obj_end (&w);
    }
    if (d->have_map) {
        vs_jw_kv_u64 (&w, "allocated_bytes", fmt_extents_allocated (&d->map));
        vs_jw_key (&w, "extents");
        vs_jw_arr_begin (&w);
        for (size_t i = 0; i < d->map.v.len && i < 100000; i++) {
            const struct fmt_extent *e = &d->map.v.ptr[i];

            vs_jw_obj_begin (&w);
            vs_jw_kv_u64 (&w, "offset", e->guest_off);
            vs_jw_kv_u64 (&w, "length", e->len);
            vs_jw_kv_str (&w, "kind", e->kind == FMT_EXT_ZERO ? "zero"
                       : e->kind == FMT_EXT_DATA ? "data" : "compressed");
            if (e->kind != FMT_EXT_ZERO) {
                vs_jw_kv_u64 (&w, "file", e->file);
                vs_jw_kv_u64 (&w, "file_offset", e->file_off);
            }
            vs_jw_obj_end (&w);
        }
        vs_jw_arr_end (&w);
    }
    vs_jw_key (&w, "files");
    vs_jw_arr_begin (&w);
    for (uint32_t i = 0; d->io && i < vs_beio_nfiles (d->io); i++) {
        vs_jw_str (&w, vs_beio_file (d->io, i)->path);
    }
    vs_jw_arr_end (&w);
    vs_jw_key (&w, "problems");
    vs_jw_arr_begin (&w);
    for (size_t i = 0; i < d->probs.n; i++) {
        vs_jw_str (&w, d->probs.msg[i]);
    }
    vs_jw_arr_end (&w);
    vs_jw_obj_end (&w);
    vs_sbuf_addch (b, '\n');
}

/* Content against the name: a file named for a format with a signature
 * that carries none is damaged or misnamed, and convert refuses it, so
 * that is a problem (random bytes named .vhdx were "raw, 0 problems");
 * another format's content under an extension is said as a warning. */
static void
info_check_extension (struct info_data *d)
{
    const struct fmt_driver *want = fmt_driver_by_extension (d->file);
    const char *dot = strrchr (vs_path_basename (d->file), '.');

    if (want == NULL || want->type == d->type || dot == NULL) {
        return;
    }
    if (want->probe != NULL && fmt_driver_of (d->type)->probe == NULL) {
        fmt_problem (&d->probs, "named %s but has no %s signature or "
                     "descriptor (damaged? convert refuses it; if it is a "
                     "raw disk, rename it)", dot, want->name);
    } else {
        fmt_problem (&d->probs, "warning: named %s but the content is %s",
                     dot, fmt_type_name (d->type));
    }
}

int
vmshift_info (struct vmshift_handle *h, const char *file, int json,
              char **report)
{
    struct info_data d = { .file = file };
    struct loc_handle loc;
    struct sbuf b;
    int r;

    vs_api_enter (h);
    r = vs_loc_open (h, file, &loc);
    if (r < 0) {
        return r;
    }
    fmt_problems_init (&d.probs);
    fmt_extents_init (&d.map);
    r = vs_beio_open (loc.be, loc.path, &d.io);
    if (r == 0) {
        r = vs_beio_check_not_empty (d.io);
    }
    if (r == 0) {
        r = fmt_probe_io (vs_beio_fmt (d.io), &d.type);
    }
    if (r == 0) {
        info_check_extension (&d);
    }
    if (r == 0) {
        r = fmt_validate (vs_beio_fmt (d.io), d.type, &d.probs, &d.info);
    }
    if (r == 0 && fmt_problems_count_errors (&d.probs) == 0) {
        struct fmt_source_info mi;

        /* The map is only meaningful for a valid image; its own failure
         * (say, an extent file missing) is one more problem. */
        if (fmt_read_map (vs_beio_fmt (d.io), d.type, &d.map, &mi) == 0) {
            d.have_map = true;
            d.info.has_parent = mi.has_parent;
        } else {
            fmt_problem (&d.probs, "%s", vmshift_get_error ());
            clear_error ();
        }
    }
    if (r == 0) {
        vs_sbuf_init (&b, INFO_MAX);
        if (json) {
            info_json (&b, &d);
        } else {
            info_text (&b, &d);
        }
        *report = vs_sbuf_detach (&b, NULL);
        /* Warnings are listed but do not count as problems. */
        r = *report ? (int) (fmt_problems_count_errors (&d.probs) +
                             d.probs.dropped) : -ENOMEM;
    }
    fmt_problems_release (&d.probs);
    fmt_extents_release (&d.map);
    vs_beio_close (d.io);
    vs_loc_close (&loc);
    return r;
}

int
vmshift_verify (struct vmshift_handle *h, const char *a, const char *b,
                int full, int json, char **report)
{
    struct verify_side sa, sb;
    struct verify_report rep;
    struct loc_handle la, lb;
    struct sbuf out;
    struct jsonw w;
    int r;

    vs_api_enter (h);
    r = vs_loc_open (h, a, &la);
    if (r < 0) {
        return r;
    }
    r = vs_loc_open (h, b, &lb);
    if (r < 0) {
        vs_loc_close (&la);
        return r;
    }
    r = vs_verify_open (la.be, la.path, &sa);
    if (r == 0) {
        r = vs_verify_open (lb.be, lb.path, &sb);
        if (r == 0) {
            r = vs_verify_compare (&sa, &sb, full != 0, &rep);
            vs_verify_close (&sb);
        }
        vs_verify_close (&sa);
    }
    vs_loc_close (&la);
    vs_loc_close (&lb);
    if (r < 0) {
        return r;
    }
    vs_sbuf_init (&out, 1 << 16);
    if (json) {
        vs_jw_init (&w, &out, true);
        vs_jw_obj_begin (&w);
        vs_jw_kv_str (&w, "a", a);
        vs_jw_kv_str (&w, "b", b);
        vs_jw_kv_bool (&w, "identical", !rep.differ);
        if (rep.differ) {
            vs_jw_kv_u64 (&w, "first_difference", rep.first_diff);
            vs_jw_kv_str (&w, "reason", rep.why);
        }
        vs_jw_kv_u64 (&w, "virtual_size", rep.virtual_size);
        vs_jw_kv_u64 (&w, "bytes_read", rep.bytes_read);
        vs_jw_kv_u64 (&w, "bytes_proven_shared", rep.bytes_shared);
        vs_jw_kv_u64 (&w, "bytes_zero_both", rep.bytes_zero);
        vs_jw_kv_bool (&w, "full", full != 0);
        vs_jw_obj_end (&w);
        vs_sbuf_addch (&out, '\n');
    } else if (rep.differ) {
        vs_sbuf_printf (&out, "'%s' and '%s' differ at guest offset %" PRIu64
                     ": %s\n", a, b, rep.first_diff, rep.why);
    } else {
        vs_sbuf_printf (&out, "identical: %" PRIu64 " bytes; %" PRIu64
                     " proven shared (same physical blocks), %" PRIu64
                     " compared by reading, %" PRIu64 " zero in both\n",
                     rep.virtual_size, rep.bytes_shared, rep.bytes_read,
                     rep.bytes_zero);
    }
    *report = vs_sbuf_detach (&out, NULL);
    if (*report == NULL) {
        return -ENOMEM;
    }
    return rep.differ ? 1 : 0;
}
