/* vmshift info [--json] FILE */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "tools/vmshift/cli.h"

static void
info_usage (FILE *fp)
{
    fprintf (fp,
"Usage: vmshift info [--json] FILE\n"
"\n"
"Print FILE's format, virtual size and allocation, and every problem the\n"
"strict validator finds.  Exit status 1 when there are problems.\n"
"\n"
"  --json       machine-readable output\n"
"  -h, --help   this help\n");
}

int
cmd_info (struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int opt, json = 0, r;
    char *report = NULL;

    while ((opt = getopt_long (argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'j': json = 1; break;
        case 'h': info_usage (stdout); return EXIT_OK;
        default: return cli_bad_option (c, "info", opt, argv);
        }
    }
    if (argc - optind != 1) {
        return cli_usage_error (c, "info", "expected one FILE");
    }
    r = vmshift_info (c->h, argv[optind], json, &report);
    if (r < 0) {
        return cli_fail (c, "info");
    }
    fputs (report, stdout);
    free (report);
    return cli_finish_stdout (c, "info", r > 0 ? EXIT_FOUND : EXIT_OK);
}
