/* PLACEHOLDER: 'vmshift define' is being written; until then it says so. */
#include <stdio.h>

#include "tools/vmshift/cli.h"

int
cmd_define (struct cli *c, int argc, char **argv)
{
    (void) argc;
    (void) argv;
    fprintf (stderr, "%s: define: not implemented yet\n", c->prog);
    return EXIT_SYSTEM;
}
