/* Internal: the public job handle around a parsed job file. */
#ifndef VMSHIFT_JOBS_JOBINT_H
#define VMSHIFT_JOBS_JOBINT_H

#include "engine/jobs/job.h"

struct vmshift_job {
    struct job_def *def;
    struct vmshift_handle *h;   /* borrowed: the handle that loaded it */
};

#endif
