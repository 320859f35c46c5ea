/* The conversion pipeline shared by the local and ONTAP workflows:
 * read_map -> plan -> execute -> read back -> commit [-> verify]. */
#ifndef VMSHIFT_CONVERT_H
#define VMSHIFT_CONVERT_H

#include "engine/exec/beio.h"
#include "engine/exec/owner.h"
#include "engine/exec/result.h"
#include "engine/handle.h"
#include "formats/formats.h"

struct convert_ctx {
    struct vmshift_handle *h;
    const char *source;         /* as the user named them (messages, record) */
    const char *target;
    const char *src_path;       /* paths on the backends */
    const char *dst_path;
    const struct vmshift_convert_opts *o;
    struct backend *src_be;
    struct backend *dst_be;
    struct beio *src;
    struct fmt_extent_list map;
    struct fmt_source_info info;
    struct fmt_layout lay;
    enum fmt_type to;
    char *dst_dir;
    char *data_name;
    char *data_path;
    char *extent_name;          /* VMDK extent, when not the default */
    struct vs_owner *owner;     /* the run's (NULL: the executor's own) */
    struct vmshift_result *res;
    size_t index;               /* the disk's index in the call (progress) */
};

/* Caller sets h, source, target, src_path, dst_path, o, src_be, dst_be and
 * res; the pipeline fills the rest.  A failure is classified
 * (error_class): USAGE, SOURCE or TARGET by the step that failed, unless a
 * lower layer knew better (a network error is REMOTE).  Release with
 * vs_convert_ctx_release (does not free the backends or res). */
void vs_convert_ctx_init (struct convert_ctx *c);
int vs_convert_pipeline (struct convert_ctx *c);
void vs_convert_ctx_release (struct convert_ctx *c);

/* engine/convert_ontap.c: n disks on ONTAP in one run. */
int vs_convert_ontap_many (struct vmshift_handle *h, size_t n,
                        const char *const *sources,
                        const char *const *targets,
                        const struct vmshift_convert_opts *o,
                        struct vmshift_result **res, char **errors);

#endif
