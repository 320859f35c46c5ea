/* Internal: the public job handle around a parsed job file. */
#ifndef VMSHIFT_JOBS_JOBINT_H
#define VMSHIFT_JOBS_JOBINT_H

#include "engine/jobs/job.h"

struct vmshift_job {
    struct job_def *def;
    struct vmshift_handle *h;   /* borrowed: the handle that loaded it */
};

/* units.c: -EINVAL unless o was set up by vmshift_job_unit_opts_init. */
int job_unit_opts_check (const struct vmshift_job_unit_opts *o);
/* install.c: run argv (no shell), its stdout and stderr into *out
 * (caller frees); the exit status, or -errno if it could not run. */
int job_run_tool (const char *const *argv, char **out);

#endif
