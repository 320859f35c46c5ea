/* The conversion pipeline shared by the local and ONTAP workflows:
 * read_map -> plan -> execute -> read back -> commit [-> verify]. */
#ifndef VMSHIFT_CONVERT_H
#define VMSHIFT_CONVERT_H

#include "engine/exec/beio.h"
#include "engine/exec/owner.h"
#include "engine/exec/result.h"
#include "engine/handle.h"
#include "formats/formats.h"

struct ontap_client;

/* The per-disk steps of an ONTAP conversion, journalled by its caller
 * (the migration run, engine/workflow/run.c), so that a process killed
 * in the middle is resumed without redoing finished work
 * (docs/internals/ontap-flow.md, "Steps journalled by the caller").
 *
 * Step "clone" of a disk: the intent (before its temporaries are created
 * and cloned into) is {"target", "tmp0".."tmpN" (the temporaries' names
 * in the target's directory), "source" (volume path cloned from),
 * "ranges", "bytes"}; the result (after the data is placed and the
 * metadata written) {"target", "calls", "job"} or {"adopted": "yes"}.
 * Step "clone-job": intent {"target", "job"} when ONTAP answered a clone
 * call with a job to wait for (202), finished when it ended.  The final
 * names are the caller's own "convert" result.
 *
 * Every function may be called from several conversion threads at once:
 * the journal serialises them.  Status values are those of the store
 * (engine/workflow/store.h: 1 done, 2 undone, 3 failed). */
#define VS_STEP_DONE 1
#define VS_STEP_UNDONE 2
#define VS_STEP_FAILED 3

struct vs_step_rec {
    int64_t token;              /* 0: no such step recorded */
    int status;                 /* 0 intent (half done), or VS_STEP_* */
    char *intent;               /* JSON */
    char *result;               /* JSON or NULL */
};
void vs_step_rec_clear (struct vs_step_rec *r);

struct vs_convert_journal {
    void *opaque;
    /* The run ID for leases and temporaries' names (engine/exec/owner.h),
     * the same in every process of the caller's run, so that a resumed
     * process owns what an earlier one left; "" for a fresh one. */
    char owner_run[VS_RUN_HEX + 1];
    /* The latest entry of step for disk index (copies into *out). */
    int (*last) (void *opaque, size_t index, const char *step,
                 struct vs_step_rec *out);
    /* Journal an intent, durable when this returns; *token names it. */
    int (*intent) (void *opaque, size_t index, const char *step,
                   const char *intent, int64_t *token);
    /* Its result: status VS_STEP_*; result JSON or NULL. */
    int (*finish) (void *opaque, size_t index, const char *step,
                   int64_t token, int status, const char *result);
    /* What the caller knows of the cluster already (looked up by it, or
     * journalled by an earlier process of its run), so that the
     * conversion starts from it instead of asking again
     * (docs/internals/ontap-flow.md, "Facts handed over"); NULL: none.
     * fact() returns the record of kind for key (caller frees), or NULL:
     *   "volume"  key "ontap://PROFILE/VOLUME": the volume's record;
     *   "snapshot" key "ontap://PROFILE/VOLUME": the record of the
     *             snapshot the caller made there (o->snapshot);
     *   "qtree"   key "ontap://PROFILE/VOLUME/QTREE": its record (id,
     *             security style);
     *   "stale-snapshots" key "ontap://PROFILE/VOLUME": "{}" when the
     *             run removed the stale snapshots there already.
     * Records as ontap_*_record (ontap/ontap.h) writes them.  learnt()
     * (may be NULL) is given what the conversion found itself, the same
     * kinds.  Both are called from the conversion's threads at once. */
    char *(*fact) (void *opaque, const char *kind, const char *key);
    void (*learnt) (void *opaque, const char *kind, const char *key,
                    const char *record);
};

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
    const struct vs_convert_journal *journal;   /* or NULL */
    struct ontap_client *client;        /* ONTAP: the worker's (jobs) */
};

/* Caller sets h, source, target, src_path, dst_path, o, src_be, dst_be and
 * res; the pipeline fills the rest.  A failure is classified
 * (error_class): USAGE, SOURCE or TARGET by the step that failed, unless a
 * lower layer knew better (a network error is REMOTE).  Release with
 * vs_convert_ctx_release (does not free the backends or res). */
void vs_convert_ctx_init (struct convert_ctx *c);
int vs_convert_pipeline (struct convert_ctx *c);
void vs_convert_ctx_release (struct convert_ctx *c);

/* The caller's cancel hook (o->cancel), asked before each disk starts;
 * keeps the thread's error. */
bool vs_convert_cancelled (const struct vmshift_convert_opts *o);

/* engine/convert_ontap.c: n disks on ONTAP in one run; journal may be
 * NULL (the conversion's own recovery only). */
int vs_convert_ontap_many (struct vmshift_handle *h, size_t n,
                        const char *const *sources,
                        const char *const *targets,
                        const struct vmshift_convert_opts *o,
                        const struct vs_convert_journal *journal,
                        struct vmshift_result **res, char **errors);

/* vmshift_convert_many with the caller's journal of steps (ONTAP only:
 * ignored for local files). */
int vs_convert_many_journal (struct vmshift_handle *h, size_t n,
                             const char *const *sources,
                             const char *const *targets,
                             const struct vmshift_convert_opts *o,
                             const struct vs_convert_journal *journal,
                             struct vmshift_result **res, char **errors);

#endif
