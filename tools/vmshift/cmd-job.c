/* vmshift job SUBCOMMAND ...: scheduled snapshot-then-convert jobs
 * (docs/jobs.md, vmshift-job(1)). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
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
"       vmshift job run [--json] [--metrics-dir DIR] [--store SPEC] FILE\n"
"       vmshift job history [--json] [--store SPEC] NAME|FILE\n"
"       vmshift job list [--json] [--store SPEC]\n"
"       vmshift job install [--user] [--dry-run] [--root DIR] [OPTIONS] FILE\n"
"       vmshift job uninstall [--user] [--dry-run] [--root DIR] NAME|FILE\n"
"       vmshift job cron [OPTIONS] FILE\n"
"       vmshift job kubernetes [--image IMAGE] [--secret NAME]\n"
"                              [--store-claim PVC] [--namespace NS] FILE\n"
"\n"
"  check      read and check a job file; print the job as understood\n"
"  calendar   print when a schedule elapses next (UTC)\n"
"  run        one run of the job now (exit 0 done, 1 some disks failed,\n"
"             3 bad job file, 5 error, 75 another run of the job is going)\n"
"  history    every run of a job; list: every job in the store\n"
"  install    write and check vmshift-job@NAME.service and .timer\n"
"  uninstall  remove them\n"
"  cron       print a crontab entry\n"
"  kubernetes print a CronJob manifest\n"
"\n"
"OPTIONS: --vmshift PATH (the vmshift to run; default this one),\n"
"         --metrics-dir DIR (passed to 'job run')\n"
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

static char *
job_self_path (void)
{
    return realpath ("/proc/self/exe", NULL);
}

/* The options of install, uninstall, cron and kubernetes. */
static int
job_unit_args (struct cli *c, int argc, char **argv,
               struct vmshift_job_unit_opts *o)
{
    static const struct option opts[] = {
        { "user", no_argument, NULL, 'u' },
        { "dry-run", no_argument, NULL, 'n' },
        { "root", required_argument, NULL, 'r' },
        { "vmshift", required_argument, NULL, 'x' },
        { "metrics-dir", required_argument, NULL, 'm' },
        { "image", required_argument, NULL, 'i' },
        { "secret", required_argument, NULL, 's' },
        { "store-claim", required_argument, NULL, 'p' },
        { "namespace", required_argument, NULL, 'N' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int opt;

    vmshift_job_unit_opts_init (o);
    while ((opt = getopt_long (argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'u': o->user = 1; break;
        case 'n': o->dry_run = 1; break;
        case 'r': o->root = optarg; break;
        case 'x': o->vmshift_path = optarg; break;
        case 'm': o->metrics_dir = optarg; break;
        case 'i': o->image = optarg; break;
        case 's': o->secret = optarg; break;
        case 'p': o->store_claim = optarg; break;
        case 'N': o->kube_namespace = optarg; break;
        case 'h': job_usage (stdout); return -EXIT_OK - 1;
        default: return -cli_bad_option (c, "job", opt, argv) - 1;
        }
    }
    if (argc - optind != 1) {
        return -cli_usage_error (c, "job", "%s: expected one FILE", argv[0]) -
               1;
    }
    if (o->metrics_dir && o->metrics_dir[0] != '/') {
        return -cli_usage_error (c, "job", "--metrics-dir: '%s' is not an "
                                 "absolute path", o->metrics_dir) - 1;
    }
    if (o->vmshift_path && o->vmshift_path[0] != '/') {
        return -cli_usage_error (c, "job", "--vmshift: '%s' is not an "
                                 "absolute path", o->vmshift_path) - 1;
    }
    return 0;
}

/* install, cron, kubernetes: load FILE, render, print. */
static int
job_cmd_render (struct cli *c, int argc, char **argv)
{
    struct vmshift_job_unit_opts o;
    struct vmshift_job *job = NULL;
    char *self = NULL, *text = NULL, *svc = NULL, *tmr = NULL;
    int r = job_unit_args (c, argc, argv, &o), rc = EXIT_OK;

    if (r < 0) {
        return -r - 1;
    }
    if (o.vmshift_path == NULL) {
        o.vmshift_path = self = job_self_path ();
    }
    if (vmshift_job_load (c->h, argv[optind], &job) < 0) {
        free (self);
        return cli_fail (c, "job");
    }
    if (strcmp (argv[0], "install") == 0) {
        r = vmshift_job_install (c->h, job, &o, &text);
        if (r == 0 && o.dry_run &&
            (r = vmshift_job_systemd_units (job, &o, &svc, &tmr)) == 0) {
            printf ("# %s", text);
            fputs (svc, stdout);
            fputs ("\n", stdout);
            fputs (tmr, stdout);
        } else if (r == 0) {
            fputs (text, stdout);
        }
    } else if (strcmp (argv[0], "cron") == 0) {
        r = vmshift_job_cron (job, &o, &text);
        if (r == 0) {
            fputs (text, stdout);
        }
    } else {
        r = vmshift_job_kubernetes (job, &o, &text);
        if (r == 0) {
            fputs (text, stdout);
        }
    }
    if (r < 0) {
        rc = cli_fail (c, "job");
    }
    free (text);
    free (svc);
    free (tmr);
    free (self);
    vmshift_job_free (job);
    return r < 0 ? rc : cli_finish_stdout (c, "job", EXIT_OK);
}

static int
job_cmd_uninstall (struct cli *c, int argc, char **argv)
{
    struct vmshift_job_unit_opts o;
    const char *name;
    struct vmshift_job *job = NULL;
    char *paths = NULL;
    int r = job_unit_args (c, argc, argv, &o);

    if (r < 0) {
        return -r - 1;
    }
    name = argv[optind];
    /* A job file names its job; a bare NAME is the job's name. */
    if (strchr (name, '/') || strstr (name, ".json")) {
        if (vmshift_job_load (c->h, name, &job) < 0) {
            return cli_fail (c, "job");
        }
        name = vmshift_job_name (job);
    }
    r = vmshift_job_uninstall (c->h, name, &o, &paths);
    vmshift_job_free (job);
    if (r < 0) {
        return cli_fail (c, "job");
    }
    fputs (paths, stdout);
    free (paths);
    return cli_finish_stdout (c, "job", EXIT_OK);
}

enum { EXIT_BUSY = 75 };       /* sysexits.h EX_TEMPFAIL */

static int
job_cmd_run (struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "metrics-dir", required_argument, NULL, 'm' },
        { "store", required_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct vmshift_job_run_opts o;
    struct vmshift_job *job = NULL;
    char *report = NULL;
    int opt, json = 0, r;

    vmshift_job_run_opts_init (&o);
    while ((opt = getopt_long (argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'j': json = 1; break;
        case 'm': o.metrics_dir = optarg; break;
        case 's': o.store = optarg; break;
        case 'h': job_usage (stdout); return EXIT_OK;
        default: return cli_bad_option (c, "job", opt, argv);
        }
    }
    if (argc - optind != 1) {
        return cli_usage_error (c, "job", "run: expected one FILE");
    }
    if (vmshift_job_load (c->h, argv[optind], &job) < 0) {
        return cli_fail (c, "job");
    }
    r = vmshift_job_run (c->h, job, &o, &report);
    vmshift_job_free (job);
    if (r == -EBUSY) {
        fprintf (stderr, "%s: job: %s\n", c->prog, vmshift_get_error ());
        return EXIT_BUSY;
    }
    if (r < 0) {
        return cli_fail (c, "job");
    }
    if (json) {
        printf ("%s\n", report);
    } else if (r > 0) {
        fprintf (stderr, "%s: job: some disks failed (vmshift job history "
                 "shows which)\n", c->prog);
    }
    free (report);
    return cli_finish_stdout (c, "job", r > 0 ? EXIT_FOUND : EXIT_OK);
}

/* history NAME|FILE, list: read the store. */
static int
job_cmd_history (struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "store", required_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    bool list = strcmp (argv[0], "list") == 0;
    struct vmshift_job *job = NULL;
    const char *store = NULL, *name = NULL;
    char *text = NULL;
    int opt, json = 0, r;

    while ((opt = getopt_long (argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'j': json = 1; break;
        case 's': store = optarg; break;
        case 'h': job_usage (stdout); return EXIT_OK;
        default: return cli_bad_option (c, "job", opt, argv);
        }
    }
    if (argc - optind != (list ? 0 : 1)) {
        return cli_usage_error (c, "job", "%s: expected %s", argv[0],
                                list ? "no arguments" : "one NAME or FILE");
    }
    if (!list) {
        name = argv[optind];
        if (strchr (name, '/') || strstr (name, ".json")) {
            if (vmshift_job_load (c->h, name, &job) < 0) {
                return cli_fail (c, "job");
            }
            name = vmshift_job_name (job);
            /* the store the job's runs went to, unless --store says */
            if (store == NULL) {
                store = vmshift_job_store (job);
            }
        }
    }
    r = list ? vmshift_job_list (c->h, store, json, &text)
             : vmshift_job_history (c->h, store, name, json, &text);
    vmshift_job_free (job);
    if (r < 0) {
        return cli_fail (c, "job");
    }
    fputs (text, stdout);
    free (text);
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
        { "install", job_cmd_render },
        { "cron", job_cmd_render },
        { "kubernetes", job_cmd_render },
        { "uninstall", job_cmd_uninstall },
        { "run", job_cmd_run },
        { "history", job_cmd_history },
        { "list", job_cmd_history },
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
