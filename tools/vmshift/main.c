/* vmshift command line: global options, then a command. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/vmshift/cli.h"

static const struct cli_command commands[] = {
    { "convert", "convert a disk image, sharing its data blocks", cmd_convert },
    { "info", "describe an image and list every problem the validator finds",
      cmd_info },
    { "verify", "compare the guest-visible contents of two images",
      cmd_verify },
    { "bench", "measure metadata-only conversion against disk size",
      cmd_bench },
    { "inspect", "read a VMware .vmx and describe the VM", cmd_inspect },
    { "define", "write a target VM definition from a .vmx", cmd_define },
    { "guest-scripts", "render the guest network preparation scripts",
      cmd_guest_scripts },
    { "job", "scheduled snapshot-then-convert jobs", cmd_job },
    { "blueprint", "check a migration blueprint", cmd_blueprint },
    { "migrate", "migrate the VMs of a blueprint (a durable run)",
      cmd_migrate },
    { "runs", "list, show, resume, abort or clean up migration runs",
      cmd_runs },
    { "inventory", "list a vCenter's VMs, disks and their ONTAP locations",
      cmd_inventory },
    { "vcenter", "shut down, power on and snapshot source VMs in vCenter",
      cmd_vcenter },
};

static void
main_usage (FILE *fp)
{
    fprintf (fp,
             "Usage: vmshift [-v] [-D FLAGS] [--config FILE] COMMAND [ARGS]\n"
             "\n"
             "Commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        fprintf (fp, "  %-14s %s\n", commands[i].name, commands[i].summary);
    }
    fprintf (fp,
             "\n"
             "Global options:\n"
             "  -v, --verbose        more messages on stderr\n"
             "  -q, --quiet          errors only\n"
             "  -D, --debug FLAGS    debug output (exec,backend,formats,ontap,\n"
             "                       ontap.http,nfs,hv or all)\n"
             "      --config FILE    ONTAP profiles (default $VMSHIFT_CONFIG or\n"
             "                       ~/.config/vmshift/config.json)\n"
             "      --version        print the version\n"
             "  -h, --help           this help; 'vmshift COMMAND --help' for a "
             "command\n"
             "\n"
             "See vmshift(1) for exit codes.\n");
}

static const char *const level_names[] = { "error", "warning", "", "debug" };

int
cli_log_line (const struct cli *c, int level, const char *msg, char *buf,
              size_t n)
{
    if (level == VMSHIFT_LOG_INFO && (c->quiet || !c->verbose)) {
        return 0;
    }
    if (level == VMSHIFT_LOG_WARN && c->quiet) {
        return 0;
    }
    if (level == VMSHIFT_LOG_INFO) {
        snprintf (buf, n, "%s: %s", c->prog, msg);
    } else {
        snprintf (buf, n, "%s: %s: %s", c->prog,
                  level_names[level < 0 || level > 3 ? 0 : level], msg);
    }
    return 1;
}

void
cli_log (void *opaque, int level, const char *msg)
{
    char line[4096];

    if (cli_log_line (opaque, level, msg, line, sizeof line)) {
        fprintf (stderr, "%s\n", line);
    }
}

int
main (int argc, char **argv)
{
    static const struct option opts[] = {
        { "verbose", no_argument, NULL, 'v' },
        { "quiet", no_argument, NULL, 'q' },
        { "debug", required_argument, NULL, 'D' },
        { "config", required_argument, NULL, 'C' },
        { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct cli c = { .prog = "vmshift" };
    const char *debug = NULL, *config = NULL;
    int opt, r;

    /* Every command reports bad options itself, on one line
     * (cli_bad_option); getopt's own messages would add a second. */
    opterr = 0;
    while ((opt = getopt_long (argc, argv, "+:vqD:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'v': c.verbose++; break;
        case 'q': c.quiet = 1; break;
        case 'D': debug = optarg; break;
        case 'C': config = optarg; break;
        case 'V':
            printf ("vmshift %s\n", vmshift_version ());
            return EXIT_OK;
        case 'h':
            main_usage (stdout);
            return EXIT_OK;
        default:
            fprintf (stderr, "vmshift: %s option '%s' (try 'vmshift --help')\n",
                     opt == ':' ? "missing value for" : "unknown",
                     argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        main_usage (stderr);
        return EXIT_USAGE;
    }
    c.h = vmshift_new ();
    if (c.h == NULL) {
        fprintf (stderr, "vmshift: %s\n", vmshift_get_error ());
        return EXIT_USAGE;
    }
    vmshift_set_log (c.h, cli_log, &c);
    if ((debug && vmshift_set_debug (c.h, debug) < 0) ||
        (config && vmshift_set_config (c.h, config) < 0)) {
        fprintf (stderr, "vmshift: %s\n", vmshift_get_error ());
        vmshift_free (c.h);
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp (argv[optind], commands[i].name) == 0) {
            /* Each command parses its own options from argv[optind]. */
            int sub_argc = argc - optind;
            char **sub_argv = argv + optind;

            optind = 0;     /* glibc: full re-initialisation */
            r = commands[i].run (&c, sub_argc, sub_argv);
            vmshift_free (c.h);
            return r;
        }
    }
    fprintf (stderr, "vmshift: unknown command '%s' (try 'vmshift --help')\n",
             argv[optind]);
    vmshift_free (c.h);
    return EXIT_USAGE;
}
