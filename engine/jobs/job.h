/* Scheduled snapshot-then-convert jobs (docs/jobs.md).
 *
 *   job.c        the job file (JSON): parse and check every key
 *   calendar.c   the schedule: the subset of systemd's calendar syntax
 *                vmshift accepts, next elapse, crontab fields
 *
 * Nothing here does I/O except job_load (one read of the job file); the
 * generators and the runner build on struct job_def.
 */
#ifndef VMSHIFT_JOBS_JOB_H
#define VMSHIFT_JOBS_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "engine/vmshift.h"

#define JOB_FILE_MAX (1024 * 1024)     /* bytes of a job file */
#define JOB_NAME_MAX 64                /* systemd unit names stay short */
#define JOB_SOURCES_MAX 4096           /* disks + vms of one job */
#define JOB_KEEP_LAST_MAX 10000
#define JOB_CONCURRENCY_MAX 64         /* convert_ontap's parallel cap */
#define JOB_DURATION_MAX (100ULL * 366 * 86400)  /* seconds: 100 years */
/* lease_ttl (docs/jobs.md, "Leases"): how long a runner that stopped
 * renewing its lease keeps the job; renewed every quarter of it. */
#define JOB_LEASE_TTL_DEFAULT 120
#define JOB_LEASE_TTL_MIN 4
#define JOB_LEASE_TTL_MAX 86400

/* ------------------------------------------------------------ calendar */

/* One schedule, as sets: bit i of a field set means value i matches.
 * Years are kept as an offset from JOB_CAL_YEAR0. */
#define JOB_CAL_YEAR0 1970
#define JOB_CAL_YEARS 230      /* 1970..2199 */
struct job_cal {
    uint64_t sec;              /* 0..59 */
    uint64_t min;              /* 0..59 */
    uint32_t hour;             /* 0..23 */
    uint32_t mday;             /* 1..31 */
    uint16_t mon;              /* 1..12 */
    uint8_t wday;              /* 0 = Sunday .. 6 = Saturday */
    uint64_t year[(JOB_CAL_YEARS + 63) / 64];
    bool any_year, any_mday, any_wday;  /* written as '*' (or omitted) */
};

/* Parse a calendar expression of the supported subset (docs/jobs.md,
 * "Schedules").  Errors are -EINVAL with a message that quotes the
 * expression and says what is wrong. */
int job_calendar_parse (const char *expr, struct job_cal *out);
/* The first time strictly after 'after' (seconds since the epoch) that
 * matches, reading the calendar as UTC wall-clock time.  -ERANGE if
 * there is none before the end of 2199. */
int job_calendar_next_utc (const struct job_cal *c, int64_t after,
                           int64_t *out);
/* The five crontab fields (minute hour day month weekday) into buf, or
 * -ENOTSUP with a message naming the expression when cron cannot run
 * it (seconds other than :00, a year, or both a day of the month and a
 * weekday, which cron ORs where systemd ANDs them). */
int job_calendar_cron (const struct job_cal *c, const char *expr, char *buf,
                       size_t n);

/* ------------------------------------------------------------ job file */

struct job_retention {
    uint64_t keep_last;        /* 0 = no count limit */
    uint64_t max_age;          /* seconds, 0 = no age limit */
};

struct job_def {
    char *file;                /* the job file, as named */
    char *name;
    char *schedule;            /* as written */
    struct job_cal cal;
    char *timezone;            /* IANA name, or "UTC" */
    uint64_t randomized_delay; /* seconds */
    char **disks;              /* source disks (.vmdk) */
    size_t n_disks;
    char **vms;                /* source VMs (.vmx) */
    size_t n_vms;
    bool on_ontap;             /* sources and target on ontap:// */
    char *location;            /* target folder or qtree */
    char *pattern;             /* target name pattern */
    enum vmshift_format format;
    struct job_retention retention;
    bool keep_snapshot;
    struct job_retention snapshot_retention;
    unsigned concurrency;
    bool keep_partial;
    uint64_t lease_ttl;        /* seconds */
    char *store;               /* NULL = the default run store */
    char *config;              /* ONTAP profiles file, NULL = default */
};

/* Parse and check a job file's text.  'what' names it in messages.
 * Every error is -EINVAL with one line naming the key and the problem
 * ("'web.json': key 'retention.keep_last': ..."). */
int job_parse (const char *buf, size_t len, const char *what,
               struct job_def **out);
/* Read FILE (a local path) and job_parse it. */
int job_load (const char *file, struct job_def **out);
void job_free (struct job_def *j);

/* Names of one generation's target file: the pattern with {vm} {disk}
 * {date} {time} {generation} filled in (date and time in UTC, as
 * YYYY-MM-DD and HHMMSS).  Caller frees *out. */
struct job_name_vars {
    const char *vm;
    const char *disk;
    int64_t when;              /* seconds since the epoch */
    uint64_t generation;
};
int job_name_expand (const char *pattern, const struct job_name_vars *v,
                     char **out);
/* "30d", "12h", "15m", "45s", "2w" (one number and one unit) into
 * seconds; -EINVAL otherwise (no message: the caller names the key). */
int job_duration_parse (const char *s, uint64_t *out);

#endif
