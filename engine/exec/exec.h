/* The plan executor: carries a struct fmt_layout out on a backend.
 *
 *   vs_exec_recover finish or undo what a killed run left for a target
 *                (before anyone looks whether the target exists)
 *   vs_exec_begin   take the run's lease in the target directory, create
 *                one temporary file per output there
 *   vs_exec_write   size them, place the data (clone, or copy where clone is
 *                impossible: reported), write metadata, write headers,
 *                flush each output once (they are temporaries until the
 *                commit, so nothing between the phases needs ordering)
 *   vs_exec_commit  publish: companions (VMDK extent, qcow2 data file)
 *                under names no existing target uses, then the MAIN
 *                output as the commit point, then the replaced target's
 *                companions removed; a journal makes every step
 *                recoverable (docs/internals/executor.md, section 7)
 *   vs_exec_abort   remove the temporaries (nothing half-made is left)
 *
 * Run files (temporaries, journals) are named by engine/exec/owner.h and
 * owned through a lease: a later run removes them only when their run is
 * gone.
 */
#ifndef VMSHIFT_EXEC_H
#define VMSHIFT_EXEC_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/backend/backend.h"
#include "engine/exec/beio.h"
#include "engine/exec/owner.h"
#include "formats/formats.h"

struct exec_stats {
    uint64_t bytes_cloned;
    uint64_t bytes_copied;      /* incl. inflated output */
    uint64_t bytes_metadata;    /* written: blocks of zeros are left out */
    uint64_t bytes_metadata_logical;    /* the blobs' whole length */
    /* made by cloning the file's own metadata blocks (repeated runs,
     * fmt_repeat): part of bytes_metadata_logical, not of
     * bytes_metadata */
    uint64_t bytes_metadata_cloned;
    uint64_t clone_calls;
    char clone_note[320];       /* why blocks were copied, "" if not */
    double t_data;
    double t_meta;
    /* Progress of the data (optional, set by the caller): called after
     * data is placed, at most every EXEC_PROGRESS_SEC, and once when all
     * of it is (data_done).  bytes_total and bytes_to_copy are set by
     * vs_exec_write from the plan; done is bytes_cloned + bytes_copied. */
    void (*progress) (void *opaque, const struct exec_stats *st);
    void *progress_opaque;
    uint64_t bytes_total;
    uint64_t bytes_to_copy;
    bool data_done;
    double t_progress;
};
#define EXEC_PROGRESS_SEC 0.25

struct exec_out {
    char *name;                 /* final base name */
    char *final_path;
    char *tmp_path;
    struct be_file *f;
    int role;
    bool committed;             /* renamed to final_path by this run */
    struct be_stat id;          /* identity of the written file */
};

struct exec {
    struct backend *dst;
    char *dir;
    const struct logger *log;
    struct exec_out out[FMT_MAX_OUTPUTS];
    size_t nout;
    struct vs_owner *owner;     /* the run's (borrowed), or &own */
    struct vs_owner own;
    struct beio *src;           /* set by vs_exec_write: never removed */
    char *journal;              /* publish journal path, while it exists */
    char *saved;                /* the replaced MAIN's second name */
    /* Temporaries an earlier process of the same run made (adopted, not
     * created): their metadata is written whole, zero blocks included,
     * since they may hold an earlier plan's; clones_in_place: their
     * CLONE placements are there already and are not sent again. */
    bool adopted;
    bool clones_in_place;
};

/* Called by vs_exec_begin_steps once the temporaries are named (x->out[i]
 * .tmp_path) and before any is created; a failure stops the begin. */
typedef int (*vs_exec_intent_fn) (void *opaque, const struct exec *x);

/* owner: the run's ownership (NULL: the executor makes its own). */
int vs_exec_begin_owned (struct exec *x, struct backend *dst, const char *dir,
                         const struct fmt_layout *lay, struct vs_owner *owner,
                         const struct logger *log);
int vs_exec_begin (struct exec *x, struct backend *dst, const char *dir,
                const struct fmt_layout *lay, const struct logger *log);
/* vs_exec_begin_owned for a caller that journals its steps
 * (engine/convert.h, struct vs_convert_journal): with adopt (lay->nout
 * paths in dir) the temporaries are those existing files, opened and not
 * created (x->adopted); otherwise intent (may be NULL) is called between
 * naming the temporaries and creating them. */
int vs_exec_begin_steps (struct exec *x, struct backend *dst, const char *dir,
                         const struct fmt_layout *lay, struct vs_owner *owner,
                         const char *const *adopt, vs_exec_intent_fn intent,
                         void *opaque, const struct logger *log);
/* Whether the CLONE placements of lay are in x's (adopted) temporaries:
 * for each output, the first and last 4 KiB block of its first and last
 * CLONE placement and of up to 6 between read back equal to the source,
 * and not all of them are zeros.  1 yes (or nothing to clone), 0 not
 * proven, -errno.  Costs reads, no clone request. */
int vs_exec_clones_present (struct exec *x, const struct fmt_layout *lay,
                            struct beio *src);
/* Finish or undo what runs that are gone left for final name 'main_name'
 * in dir: a publish journal is finished (the commit happened: the
 * replaced companions go) or undone (it did not: the new companions
 * go), temporaries are removed, dead leases too.  Runs still alive are
 * left alone.  main_name NULL: whatever final names they were for. */
int vs_exec_recover (struct backend *be, const char *dir,
                     const char *main_name, const struct logger *log);
int vs_exec_write (struct exec *x, const struct fmt_layout *lay,
                struct beio *src, bool allow_clone, struct exec_stats *st);
int vs_exec_commit (struct exec *x, bool replace);
void vs_exec_abort (struct exec *x);
/* Close the temporaries and forget them without removing them: a caller
 * that journals its steps keeps them for a retry that adopts them
 * (vs_exec_begin_steps); vs_exec_release then leaves them. */
void vs_exec_keep (struct exec *x);
void vs_exec_release (struct exec *x);
/* Old name of vs_exec_recover. */
int vs_exec_clean_stale (struct backend *be, const char *dir, const char *name,
                      const struct logger *log);
double vs_exec_now (void);

#endif
