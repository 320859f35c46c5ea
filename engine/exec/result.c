/* Result records and plan serialisation. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "engine/base/jsonw.h"
#include "engine/exec/result.h"

#define RESULT_JSON_MAX ((size_t) 256 << 20)

struct vmshift_result *
vs_result_new (void)
{
    struct vmshift_result *r = calloc (1, sizeof *r);

    if (r == NULL) {
        set_error (ENOMEM, "out of memory");
    }
    return r;
}

void
vmshift_result_free (struct vmshift_result *r)
{
    if (r == NULL) {
        return;
    }
    free (r->source);
    free (r->target);
    free (r->src_format);
    free (r->src_subformat);
    free (r->dst_format);
    free (r->backend);
    free (r->clone_note);
    free (r->size_note);
    free (r->plan_json);
    free (r->snapshot);
    for (size_t i = 0; i < r->nout; i++) {
        free (r->out[i].path);
        free (r->out[i].role);
    }
    free (r);
}

const struct vmshift_stats *
vmshift_result_stats (const struct vmshift_result *r)
{
    return &r->st;
}

static const char *
result_role_name (int role)
{
    switch (role) {
    case FMT_OUT_EXTENT: return "extent";
    case FMT_OUT_DATA: return "data-file";
    default: return "main";
    }
}

static const char *
result_place_name (int kind)
{
    switch (kind) {
    case FMT_PLACE_CLONE: return "clone";
    case FMT_PLACE_COPY: return "copy";
    default: return "inflate";
    }
}

char *
vs_result_plan_json (const struct fmt_layout *lay,
                  const struct fmt_source_info *src, const char *source,
                  const char *target, int pretty)
{
    struct sbuf b;
    struct jsonw w;

    vs_sbuf_init (&b, RESULT_JSON_MAX);
    vs_jw_init (&w, &b, pretty);
    vs_jw_obj_begin (&w);
    vs_jw_kv_str (&w, "source", source);
    vs_jw_kv_str (&w, "source_format", fmt_type_name (src->type));
    vs_jw_kv_str (&w, "source_subformat", src->subformat);
    vs_jw_kv_str (&w, "target", target);
    vs_jw_kv_str (&w, "target_format", fmt_type_name (lay->type));
    vs_jw_kv_u64 (&w, "virtual_size", src->virtual_size);
    vs_jw_kv_u64 (&w, "data_offset", lay->data_offset);
    vs_jw_kv_u64 (&w, "metadata_bytes", lay->meta_bytes);
    if (lay->unallocated) {
        vs_jw_kv_str (&w, "vhdx_unallocated", lay->unallocated);
    }
    vs_jw_key (&w, "outputs");
    vs_jw_arr_begin (&w);
    for (size_t i = 0; i < lay->nout; i++) {
        const struct fmt_output *o = &lay->out[i];
        uint64_t clone = 0, copy = 0;

        vs_jw_obj_begin (&w);
        vs_jw_kv_str (&w, "name", o->name);
        vs_jw_kv_str (&w, "role", result_role_name (o->role));
        vs_jw_kv_u64 (&w, "file_size", o->file_size);
        vs_jw_key (&w, "metadata");
        vs_jw_arr_begin (&w);
        for (size_t j = 0; j < o->blobs.len; j++) {
            const struct fmt_blob *bl = &o->blobs.ptr[j];

            vs_jw_obj_begin (&w);
            vs_jw_kv_str (&w, "what", bl->what ? bl->what : "");
            vs_jw_kv_u64 (&w, "offset", bl->off);
            vs_jw_kv_u64 (&w, "length", bl->len);
            vs_jw_kv_str (&w, "phase", bl->phase == FMT_PHASE_HEADER ? "header"
                                                                  : "metadata");
            vs_jw_obj_end (&w);
        }
        vs_jw_arr_end (&w);
        vs_jw_key (&w, "repeats");
        vs_jw_arr_begin (&w);
        for (size_t j = 0; j < o->repeats.len; j++) {
            const struct fmt_repeat *rp = &o->repeats.ptr[j];

            vs_jw_obj_begin (&w);
            vs_jw_kv_u64 (&w, "offset", rp->off);
            vs_jw_kv_u64 (&w, "length", rp->len);
            vs_jw_kv_u64 (&w, "period", rp->period);
            vs_jw_obj_end (&w);
        }
        vs_jw_arr_end (&w);
        vs_jw_key (&w, "data");
        vs_jw_arr_begin (&w);
        for (size_t j = 0; j < o->place.len; j++) {
            const struct fmt_placement *p = &o->place.ptr[j];

            vs_jw_obj_begin (&w);
            vs_jw_kv_str (&w, "op", result_place_name (p->kind));
            vs_jw_kv_u64 (&w, "dst_offset", p->dst_off);
            vs_jw_kv_u64 (&w, "src_file", p->src_file);
            vs_jw_kv_u64 (&w, "src_offset", p->src_off);
            vs_jw_kv_u64 (&w, "length", p->len);
            vs_jw_obj_end (&w);
            if (p->kind == FMT_PLACE_CLONE) {
                clone += p->len;
            } else {
                copy += p->len;
            }
        }
        vs_jw_arr_end (&w);
        vs_jw_kv_u64 (&w, "bytes_to_clone", clone);
        vs_jw_kv_u64 (&w, "bytes_to_copy", copy);
        vs_jw_obj_end (&w);
    }
    vs_jw_arr_end (&w);
    vs_jw_obj_end (&w);
    if (pretty) {
        vs_sbuf_addch (&b, '\n');
    }
    return vs_sbuf_detach (&b, NULL);
}

char *
vmshift_result_json (const struct vmshift_result *r, int pretty)
{
    struct sbuf b;
    struct jsonw w;

    if (r->dry_run && r->plan_json) {
        char *s = strdup (r->plan_json);

        if (s == NULL) {
            set_error (ENOMEM, "out of memory");
        }
        return s;
    }
    vs_sbuf_init (&b, RESULT_JSON_MAX);
    vs_jw_init (&w, &b, pretty);
    vs_jw_obj_begin (&w);
    vs_jw_kv_str (&w, "source", r->source);
    vs_jw_kv_str (&w, "source_format", r->src_format);
    vs_jw_kv_str (&w, "source_subformat", r->src_subformat);
    vs_jw_kv_str (&w, "target", r->target);
    vs_jw_kv_str (&w, "target_format", r->dst_format);
    vs_jw_kv_str (&w, "backend", r->backend);
    vs_jw_kv_u64 (&w, "virtual_size", r->st.virtual_size);
    vs_jw_kv_u64 (&w, "target_virtual_size", r->target_virtual_size);
    vs_jw_kv_str (&w, "size_note", r->size_note);
    vs_jw_kv_u64 (&w, "bytes_cloned", r->st.bytes_cloned);
    vs_jw_kv_u64 (&w, "bytes_copied", r->st.bytes_copied);
    vs_jw_kv_u64 (&w, "bytes_metadata", r->st.bytes_metadata);
    vs_jw_kv_u64 (&w, "bytes_metadata_logical", r->st.bytes_metadata_logical);
    vs_jw_kv_u64 (&w, "bytes_metadata_cloned", r->st.bytes_metadata_cloned);
    vs_jw_kv_u64 (&w, "bytes_zero", r->st.bytes_zero);
    vs_jw_kv_bool (&w, "all_shared", r->st.all_shared);
    vs_jw_kv_str (&w, "copy_reason", r->clone_note);
    vs_jw_kv_bool (&w, "verified", r->st.verified);
    vs_jw_kv_double (&w, "wall_seconds", r->st.wall_seconds);
    vs_jw_kv_u64 (&w, "data_offset", r->data_offset);
    vs_jw_kv_u64 (&w, "clone_calls", r->clone_calls);
    if (r->unallocated) {
        vs_jw_kv_str (&w, "vhdx_unallocated", r->unallocated);
    }
    if (r->snapshot) {
        vs_jw_kv_str (&w, "snapshot", r->snapshot);
        vs_jw_kv_u64 (&w, "rest_requests", r->st.rest_requests);
        vs_jw_kv_u64 (&w, "rest_requests_run", r->st.rest_requests_run);
        vs_jw_kv_u64 (&w, "nfs_bytes_written", r->st.nfs_bytes_written);
        vs_jw_kv_double (&w, "call_seconds", r->st.seconds_call);
        vs_jw_kv_double (&w, "rest_busy_seconds", r->st.seconds_rest_busy);
        vs_jw_kv_double (&w, "nfs_busy_seconds", r->st.seconds_nfs_busy);
        vs_jw_kv_double (&w, "remote_busy_seconds",
                         r->st.seconds_remote_busy);
    }
    vs_jw_key (&w, "phases");
    vs_jw_obj_begin (&w);
    if (r->snapshot) {
        vs_jw_kv_double (&w, "snapshot", r->t_snapshot);
        vs_jw_kv_double (&w, "qtree", r->t_qtree);
    }
    vs_jw_kv_double (&w, "read_map", r->t_map);
    vs_jw_kv_double (&w, "plan", r->t_plan);
    vs_jw_kv_double (&w, "data", r->t_data);
    vs_jw_kv_double (&w, "metadata", r->t_meta);
    vs_jw_kv_double (&w, "validate", r->t_validate);
    vs_jw_kv_double (&w, "commit", r->t_commit);
    vs_jw_kv_double (&w, "verify", r->t_verify);
    if (r->snapshot) {
        vs_jw_kv_double (&w, "snapshot_delete", r->t_snapshot_delete);
    }
    vs_jw_obj_end (&w);
    vs_jw_key (&w, "outputs");
    vs_jw_arr_begin (&w);
    for (size_t i = 0; i < r->nout; i++) {
        vs_jw_obj_begin (&w);
        vs_jw_kv_str (&w, "path", r->out[i].path);
        vs_jw_kv_str (&w, "role", r->out[i].role);
        vs_jw_kv_u64 (&w, "file_size", r->out[i].size);
        vs_jw_obj_end (&w);
    }
    vs_jw_arr_end (&w);
    vs_jw_obj_end (&w);
    if (pretty) {
        vs_sbuf_addch (&b, '\n');
    }
    return vs_sbuf_detach (&b, NULL);
}

static void
result_human (struct sbuf *b, const char *label, uint64_t v)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
    double d = (double) v;
    int u = 0;

    while (d >= 1024 && u < 5) {
        d /= 1024;
        u++;
    }
    if (u == 0) {
        vs_sbuf_printf (b, "  %-16s %" PRIu64 " B\n", label, v);
    } else {
        vs_sbuf_printf (b, "  %-16s %.2f %s (%" PRIu64 " B)\n", label, d, units[u],
                     v);
    }
}

char *
vmshift_result_text (const struct vmshift_result *r)
{
    struct sbuf b;

    if (r->dry_run) {
        return vmshift_result_json (r, 1);
    }
    vs_sbuf_init (&b, RESULT_JSON_MAX);
    vs_sbuf_printf (&b, "%s (%s %s) -> %s (%s)\n", r->source, r->src_format,
                 r->src_subformat, r->target, r->dst_format);
    result_human (&b, "virtual size", r->st.virtual_size);
    result_human (&b, "data shared", r->st.bytes_cloned);
    result_human (&b, "data copied", r->st.bytes_copied);
    result_human (&b, "metadata written", r->st.bytes_metadata);
    result_human (&b, "metadata logical", r->st.bytes_metadata_logical);
    result_human (&b, "metadata cloned", r->st.bytes_metadata_cloned);
    result_human (&b, "holes/zero", r->st.bytes_zero);
    if (r->unallocated) {
        vs_sbuf_printf (&b, "  %-16s %s\n", "unallocated",
                        strcmp (r->unallocated, "zero") == 0
                        ? "blocks without data are ZERO (2)"
                        : "blocks without data are NOT_PRESENT (0)");
    }
    vs_sbuf_printf (&b, "  %-16s %.3f s\n", "wall time", r->st.wall_seconds);
    vs_sbuf_printf (&b, "  %-16s %s\n", "metadata-only",
                 r->st.all_shared ? "yes: every data byte was shared"
                                  : "no: some data was copied");
    if (r->clone_note) {
        vs_sbuf_printf (&b, "  %-16s %s\n", "copy reason", r->clone_note);
    }
    if (r->size_note) {
        vs_sbuf_printf (&b, "  %-16s %s\n", "size note", r->size_note);
    }
    if (r->st.verified) {
        vs_sbuf_printf (&b, "  %-16s guest data compared equal\n", "verified");
    }
    return vs_sbuf_detach (&b, NULL);
}
