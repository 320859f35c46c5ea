/* vmshift verify [--full] [--json] A B */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "tools/vmshift/cli.h"

static void
verify_usage (FILE *fp)
{
    fprintf (fp,
"Usage: vmshift verify [--full] [--json] SOURCE TARGET\n"
"\n"
"Compare the guest-visible contents of two images (any formats) with\n"
"vmshift's own readers.  By default ranges whose blocks FIEMAP proves to\n"
"be the same physical blocks are not read; everything else is.\n"
"Exit status 0 when identical, 1 when they differ.\n"
"\n"
"  --full       read and compare every byte\n"
"  --json       machine-readable output\n"
"  -h, --help   this help\n");
}

int
cmd_verify (struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        { "full", no_argument, NULL, 'F' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int opt, json = 0, full = 0, r;
    char *report = NULL;

    while ((opt = getopt_long (argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'F': full = 1; break;
        case 'j': json = 1; break;
        case 'h': verify_usage (stdout); return EXIT_OK;
        default: return cli_bad_option (c, "verify", opt, argv);
        }
    }
    if (argc - optind != 2) {
        return cli_usage_error (c, "verify", "expected SOURCE and TARGET");
    }
    r = vmshift_verify (c->h, argv[optind], argv[optind + 1], full, json,
                        &report);
    if (r < 0) {
        return cli_fail (c, "verify");
    }
    fputs (report, stdout);
    free (report);
    return cli_finish_stdout (c, "verify", r > 0 ? EXIT_FOUND : EXIT_OK);
}
