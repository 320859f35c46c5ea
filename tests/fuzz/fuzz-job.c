/* libFuzzer harness: the job file (engine/jobs/job.c) and, through it,
 * the calendar subset (engine/jobs/calendar.c); also the crontab fields
 * and the next elapse of every schedule that parses. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/jobs/job.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    struct job_def *j = NULL;
    struct job_cal c;
    char expr[300], cron[256];
    int64_t next;

    if (job_parse ((const char *) data, size, "fuzz", &j) == 0) {
        struct job_name_vars v = { "vm", "disk", 1700000000, 7 };
        char *name = NULL;

        if (job_name_expand (j->pattern, &v, &name) == 0) {
            free (name);
        }
        job_calendar_cron (&j->cal, j->schedule, cron, sizeof cron);
        job_free (j);
    }
    /* the bytes as a bare schedule, too */
    if (size < sizeof expr) {
        memcpy (expr, data, size);
        expr[size] = '\0';
        if (job_calendar_parse (expr, &c) == 0) {
            job_calendar_next_utc (&c, 1700000000, &next);
            job_calendar_cron (&c, expr, cron, sizeof cron);
        }
    }
    return 0;
}
