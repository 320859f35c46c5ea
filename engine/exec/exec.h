/* The plan executor: carries a struct fmt_layout out on a backend.
 *
 *   vs_exec_begin   remove stale temporaries of earlier crashed runs, create
 *                one temporary file per output in the target directory
 *   vs_exec_write   size them, place the data (clone, or copy where clone is
 *                impossible: reported), flush, write metadata, flush,
 *                write headers, flush
 *   vs_exec_commit  rename the outputs into place, the MAIN output last
 *   vs_exec_abort   remove the temporaries (nothing half-made is left)
 *
 * Temporary names: ".<final>.vmshift.<host>.<pid>.<rand>.tmp".  A later
 * run on the same host removes those whose process is gone.
 */
#ifndef VMSHIFT_EXEC_H
#define VMSHIFT_EXEC_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/backend/backend.h"
#include "engine/exec/beio.h"
#include "formats/formats.h"

struct exec_stats {
    uint64_t bytes_cloned;
    uint64_t bytes_copied;      /* incl. inflated output */
    uint64_t bytes_metadata;    /* written: blocks of zeros are left out */
    uint64_t bytes_metadata_logical;    /* the blobs' whole length */
    uint64_t clone_calls;
    char clone_note[320];       /* why blocks were copied, "" if not */
    double t_data;
    double t_meta;
};

struct exec_out {
    char *name;                 /* final base name */
    char *final_path;
    char *tmp_path;
    struct be_file *f;
    int role;
    bool committed;             /* renamed to final_path by this run */
};

struct exec {
    struct backend *dst;
    char *dir;
    const struct logger *log;
    struct exec_out out[FMT_MAX_OUTPUTS];
    size_t nout;
};

int vs_exec_begin (struct exec *x, struct backend *dst, const char *dir,
                const struct fmt_layout *lay, const struct logger *log);
int vs_exec_write (struct exec *x, const struct fmt_layout *lay,
                struct beio *src, bool allow_clone, struct exec_stats *st);
int vs_exec_commit (struct exec *x, bool replace);
void vs_exec_abort (struct exec *x);
void vs_exec_release (struct exec *x);
/* Remove stale temporaries for final name 'name' in dir. */
int vs_exec_clean_stale (struct backend *be, const char *dir, const char *name,
                      const struct logger *log);
double vs_exec_now (void);

#endif
