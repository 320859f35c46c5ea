/* vmshift blueprint check | migrate | runs ...: thin over the run API of
 * engine/vmshift.h (docs/blueprint.md, docs/man/vmshift-migrate.1,
 * docs/man/vmshift-runs.1). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/vmshift/cli.h"
#include "tools/vmshift/progress.h"

struct mig_out {
    int json;
};

struct mig_log {
    struct cli *c;
    struct cli_events *ev;
};
static struct mig_log mig_log_to;

/* While the table is on a terminal, the library's warnings go above it
 * (a line written between two drawings would break the redraw). */
static void
mig_log (void *opaque, int level, const char *msg)
{
    struct mig_log *l = opaque;
    char line[4096];

    if (cli_log_line (l->c, level, msg, line, sizeof line)) {
        cli_events_message (l->ev, line);
    }
}

/* Events (tools/vmshift/progress.c): JSON lines with --json, else a live
 * table on a terminal, else one line per step per VM. */
static int
mig_events (struct cli *c, const char *cmd, struct vmshift_run_opts *ro,
            int json, struct cli_events **ev)
{
    if (!(*ev = cli_events_new (json))) {
        fprintf (stderr, "%s: %s: out of memory\n", c->prog, cmd);
        return EXIT_SYSTEM;
    }
    ro->on_run_event = cli_events_cb;
    ro->opaque = *ev;
    if (cli_events_mode (*ev) == CLI_EV_TABLE && isatty (STDERR_FILENO)) {
        mig_log_to.c = c;
        mig_log_to.ev = *ev;
        vmshift_set_log (c->h, mig_log, &mig_log_to);
    }
    return 0;
}

static void
mig_events_end (struct cli *c, struct cli_events *ev)
{
    if (mig_log_to.ev) {
        vmshift_set_log (c->h, cli_log, c);
        mig_log_to.ev = NULL;
    }
    cli_events_finish (ev);
}

static int
mig_run_id (struct cli *c, const char *cmd, const char *s, int64_t *id)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll (s, &end, 10);
    if (errno || *end || v <= 0) {
        return cli_usage_error (c, cmd, "'%s' is not a run ID", s);
    }
    *id = v;
    return 0;
}

static void
blueprint_usage (FILE *fp)
{
    fprintf (fp,
"Usage: vmshift blueprint check [--test] [--json] FILE\n"
"\n"
"Parse the blueprint FILE and resolve everything it names without changing\n"
"anything: each VM's .vmx and disks, the target files, the networks, lock\n"
"files of VMs that look powered on.  Exit 1 when problems are found, 3\n"
"when the blueprint is malformed.\n"
"\n"
"  --test       check the test location and names (as migrate --test)\n"
"  --json       machine-readable output\n"
"  -h, --help   this help\n");
}

int
cmd_blueprint (struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "test", no_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct vmshift_run_opts ro;
    int opt, json = 0, r;
    char *report = NULL;

    vmshift_run_opts_init (&ro);
    while ((opt = getopt_long (argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'j': json = 1; break;
        case 't': ro.test = 1; break;
        case 'h': blueprint_usage (stdout); return EXIT_OK;
        default: return cli_bad_option (c, "blueprint", opt, argv);
        }
    }
    if (argc - optind != 2 || strcmp (argv[optind], "check") != 0) {
        return cli_usage_error (c, "blueprint", "expected 'check FILE'");
    }
    r = vmshift_blueprint_check (c->h, argv[optind + 1], &ro, json, &report);
    if (r < 0) {
        return cli_fail (c, "blueprint");
    }
    fputs (report, stdout);
    free (report);
    return cli_finish_stdout (c, "blueprint", r > 0 ? EXIT_FOUND : EXIT_OK);
}

static void
migrate_usage (FILE *fp)
{
    fprintf (fp,
"Usage: vmshift migrate [--test] [--yes] [--json] [--store PATH] FILE\n"
"\n"
"Run the blueprint FILE: preflight, one snapshot per volume, convert every\n"
"disk, write definitions and guest-script bundles, register, power on by\n"
"boot order.  The run is kept in the store; 'vmshift runs' resumes,\n"
"aborts and cleans it up.\n"
"\n"
"  --test         a test migration: test location and names, NICs on no\n"
"                 mapped network, guest IPs untouched\n"
"  --yes          do not ask (needed when stdin is not a terminal)\n"
"  --json         events as JSON, one object per line (else a live table\n"
"                 when stdout is a terminal, one line per step if not)\n"
"  --store PATH   the run store (default $VMSHIFT_STORE, else\n"
"                 /var/lib/vmshift/vmshift.db as root,\n"
"                 $XDG_STATE_HOME/vmshift/vmshift.db otherwise)\n"
"  -h, --help     this help\n");
}

int
cmd_migrate (struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "test", no_argument, NULL, 't' },
        { "yes", no_argument, NULL, 'y' },
        { "store", required_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct vmshift_run_opts ro;
    struct mig_out out = { 0 };
    struct cli_events *ev = NULL;
    int opt, yes = 0, r;
    int64_t id = 0;

    vmshift_run_opts_init (&ro);
    while ((opt = getopt_long (argc, argv, ":hy", opts, NULL)) != -1) {
        switch (opt) {
        case 'j': out.json = 1; break;
        case 't': ro.test = 1; break;
        case 'y': yes = 1; break;
        case 's': ro.store = optarg; break;
        case 'h': migrate_usage (stdout); return EXIT_OK;
        default: return cli_bad_option (c, "migrate", opt, argv);
        }
    }
    if (argc - optind != 1) {
        return cli_usage_error (c, "migrate", "expected one FILE");
    }
    if (!yes) {
        char line[16];

        if (!isatty (STDIN_FILENO)) {
            return cli_usage_error (c, "migrate", "stdin is not a terminal: "
                                    "give --yes to run without asking");
        }
        fprintf (stderr, "Migrate the VMs of '%s'%s? [y/N] ", argv[optind],
                 ro.test ? " (test)" : "");
        if (!fgets (line, sizeof line, stdin) ||
            (line[0] != 'y' && line[0] != 'Y')) {
            fprintf (stderr, "%s: migrate: not confirmed\n", c->prog);
            return EXIT_USAGE;
        }
    }
    if ((r = mig_events (c, "migrate", &ro, out.json, &ev)) != 0) {
        return r;
    }
    r = vmshift_migrate (c->h, argv[optind], &ro, &id);
    mig_events_end (c, ev);
    if (r < 0) {
        int rc = cli_fail (c, "migrate");

        if (id > 0) {
            fprintf (stderr, "%s: migrate: run %" PRId64 " stopped; see "
                     "'vmshift runs show %" PRId64 "', resume with "
                     "'vmshift runs resume %" PRId64 "'\n", c->prog, id, id,
                     id);
        }
        return rc;
    }
    return cli_finish_stdout (c, "migrate", EXIT_OK);
}

static void
runs_usage (FILE *fp)
{
    fprintf (fp,
"Usage: vmshift runs [--store PATH] [--json] list\n"
"       vmshift runs [--store PATH] [--json] show ID\n"
"       vmshift runs [--store PATH] [--json] resume ID\n"
"       vmshift runs [--store PATH] abort ID\n"
"       vmshift runs [--store PATH] cleanup ID\n"
"\n"
"  --json         machine-readable output (events for resume)\n"
"  --store PATH   the run store (as for vmshift migrate)\n"
"  -h, --help     this help\n");
}

int
cmd_runs (struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "store", required_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct vmshift_run_opts ro;
    struct mig_out out = { 0 };
    struct cli_events *ev = NULL;
    const char *sub;
    char *text = NULL;
    int opt, r;
    int64_t id = 0;

    vmshift_run_opts_init (&ro);
    while ((opt = getopt_long (argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'j': out.json = 1; break;
        case 's': ro.store = optarg; break;
        case 'h': runs_usage (stdout); return EXIT_OK;
        default: return cli_bad_option (c, "runs", opt, argv);
        }
    }
    if (argc - optind < 1) {
        return cli_usage_error (c, "runs", "expected list, show, resume, "
                                "abort or cleanup");
    }
    sub = argv[optind];
    if (strcmp (sub, "list") == 0) {
        if (argc - optind != 1) {
            return cli_usage_error (c, "runs", "list takes no argument");
        }
        if (vmshift_runs_list (c->h, &ro, out.json, &text) < 0) {
            return cli_fail (c, "runs");
        }
        fputs (text, stdout);
        free (text);
        return cli_finish_stdout (c, "runs", EXIT_OK);
    }
    if (strcmp (sub, "show") != 0 && strcmp (sub, "resume") != 0 &&
        strcmp (sub, "abort") != 0 && strcmp (sub, "cleanup") != 0) {
        return cli_usage_error (c, "runs", "unknown subcommand '%s'", sub);
    }
    if (argc - optind != 2) {
        return cli_usage_error (c, "runs", "%s takes one run ID", sub);
    }
    if ((r = mig_run_id (c, "runs", argv[optind + 1], &id)) != 0) {
        return r;
    }
    if (strcmp (sub, "show") != 0 &&
        (r = mig_events (c, "runs", &ro, out.json, &ev)) != 0) {
        return r;
    }
    if (strcmp (sub, "show") == 0) {
        r = vmshift_runs_show (c->h, &ro, id, out.json, &text);
        if (r == 0) {
            fputs (text, stdout);
        }
        free (text);
    } else if (strcmp (sub, "resume") == 0) {
        r = vmshift_runs_resume (c->h, &ro, id);
    } else if (strcmp (sub, "abort") == 0) {
        r = vmshift_runs_abort (c->h, &ro, id);
    } else {
        r = vmshift_runs_cleanup (c->h, &ro, id);
    }
    mig_events_end (c, ev);
    if (r < 0) {
        return cli_fail (c, "runs");
    }
    return cli_finish_stdout (c, "runs", EXIT_OK);
}
