/* vmshift job SUBCOMMAND ...: scheduled snapshot-then-convert jobs
 * (docs/jobs.md, vmshift-job(1)). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/vmshift/cli.h"

static void
job_usage (FILE *fp)
{
    fprintf (fp,
"Usage: vmshift job check [--json] FILE\n"
"       vmshift job calendar [--iterations N] [--base-time EPOCH] EXPR\n"
"\n"
"  check      read and check a job file; print the job as understood\n"
"  calendar   print when a schedule elapses next (UTC)\n"
"\n"
"Exit status 3 for a bad job file or schedule, with one line naming the\n"
"key.  See vmshift-job(1) and docs/jobs.md.\n");
}

static int
job_cmd_check (struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct vmshift_job *job = NULL;
    int opt, json = 0;
    char *text;

    while ((opt = getopt_long (argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'j': json = 1; break;
        case 'h': job_usage (stdout); return EXIT_OK;
        default: return cli_bad_option (c, "job", opt, argv);
        }
    }
    if (argc - optind != 1) {
        return cli_usage_error (c, "job", "check: expected one FILE");
    }
    if (vmshift_job_load (c->h, argv[optind], &job) < 0) {
        return cli_fail (c, "job");
    }
    text = vmshift_job_describe (job, json);
    vmshift_job_free (job);
    if (text == NULL) {
        return cli_fail (c, "job");
    }
    fputs (text, stdout);
    free (text);
    return cli_finish_stdout (c, "job", EXIT_OK);
}

static int
job_parse_int (const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll (s, &end, 10);
    if (errno || end == s || *end != '\0' || v < lo || v > hi) {
        return -1;
    }
    *out = v;
    return 0;
}

static int
job_cmd_calendar (struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        { "iterations", required_argument, NULL, 'n' },
        { "base-time", required_argument, NULL, 'b' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    long long n = 1, base = (long long) time (NULL);
    int64_t t;
    int opt;

    while ((opt = getopt_long (argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'n':
            if (job_parse_int (optarg, 1, 1000, &n) < 0) {
                return cli_usage_error (c, "job", "--iterations: want 1 to "
                                        "1000, not '%s'", optarg);
            }
            break;
        case 'b':
            if (job_parse_int (optarg[0] == '@' ? optarg + 1 : optarg, 0,
                               7258118399LL, &base) < 0) {
                return cli_usage_error (c, "job", "--base-time: want "
                                        "seconds since the epoch, not '%s'",
                                        optarg);
            }
            break;
        case 'h': job_usage (stdout); return EXIT_OK;
        default: return cli_bad_option (c, "job", opt, argv);
        }
    }
    if (argc - optind != 1) {
        return cli_usage_error (c, "job", "calendar: expected one EXPR");
    }
    t = base;
    for (long long i = 0; i < n; i++) {
        struct tm tm;
        time_t tt;
        char buf[64];

        if (vmshift_calendar_next (c->h, argv[optind], t, &t) < 0) {
            if (i > 0 && vmshift_get_errno () == ERANGE) {
                break;
            }
            return cli_fail (c, "job");
        }
        tt = (time_t) t;
        gmtime_r (&tt, &tm);
        strftime (buf, sizeof buf, "%a %Y-%m-%d %H:%M:%S UTC", &tm);
        printf ("%s\n", buf);
    }
    return cli_finish_stdout (c, "job", EXIT_OK);
}

int
cmd_job (struct cli *c, int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run) (struct cli *, int, char **);
    } subs[] = {
        { "check", job_cmd_check },
        { "calendar", job_cmd_calendar },
    };

    if (argc < 2) {
        return cli_usage_error (c, "job", "expected a subcommand");
    }
    if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0) {
        job_usage (stdout);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        if (strcmp (argv[1], subs[i].name) == 0) {
            return subs[i].run (c, argc - 1, argv + 1);
        }
    }
    return cli_usage_error (c, "job", "unknown subcommand '%s'", argv[1]);
}
