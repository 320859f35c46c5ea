/* PLACEHOLDER: 'vmshift guest-scripts' is being written; until then it says so. */
#include <stdio.h>

#include "tools/vmshift/cli.h"

int
cmd_guest_scripts (struct cli *c, int argc, char **argv)
{
    (void) argc;
    (void) argv;
    fprintf (stderr, "%s: guest-scripts: not implemented yet\n", c->prog);
    return EXIT_SYSTEM;
}
