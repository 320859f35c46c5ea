/* The result record of a conversion (struct vmshift_result). */
#ifndef VMSHIFT_EXEC_RESULT_H
#define VMSHIFT_EXEC_RESULT_H

#include "engine/vmshift.h"
#include "formats/formats.h"

struct result_output {
    char *path;
    char *role;
    uint64_t size;
};

struct vmshift_result {
    struct vmshift_stats st;
    int dry_run;
    char *source;
    char *target;
    char *src_format;
    char *src_subformat;
    char *dst_format;
    char *backend;
    char *clone_note;           /* why data was copied; NULL if not */
    uint64_t target_virtual_size;
    char *size_note;            /* the target format rounded the size up;
                                 * NULL if not */
    char *plan_json;            /* dry run: the serialised plan */
    uint64_t data_offset;
    uint64_t metadata_planned;
    const char *unallocated;    /* VHDX: fmt_layout.unallocated (static) */
    uint64_t clone_calls;
    struct result_output out[FMT_MAX_OUTPUTS];
    size_t nout;
    /* seconds per phase */
    double t_map, t_plan, t_data, t_meta, t_validate, t_commit, t_verify;
    /* ONTAP phases (filled by the ontap workflow) */
    char *snapshot;
    double t_snapshot, t_qtree, t_snapshot_delete;
};

struct vmshift_result *vs_result_new (void);
/* Serialise a layout as the plan record (for --dry-run --json). */
char *vs_result_plan_json (const struct fmt_layout *lay,
                        const struct fmt_source_info *src,
                        const char *source, const char *target, int pretty);

#endif
