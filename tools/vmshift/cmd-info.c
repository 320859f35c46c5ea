/* PLACEHOLDER: 'vmshift info' is being written; until then it says so. */
#include <stdio.h>

#include "tools/vmshift/cli.h"

int
cmd_info (struct cli *c, int argc, char **argv)
{
    (void) argc;
    (void) argv;
    fprintf (stderr, "%s: info: not implemented yet\n", c->prog);
    return EXIT_SYSTEM;
}
