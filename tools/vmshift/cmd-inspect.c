/* vmshift inspect [--json] VMX: describe a VMware VM from its .vmx (or an
 * OVF descriptor), with the warnings about what will not carry over. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "tools/vmshift/cli.h"

static void
inspect_usage (FILE *fp)
{
    fprintf (fp,
             "Usage: vmshift inspect [--json] VMX\n"
             "\n"
             "Read a VMware .vmx (or .ovf) and describe the VM: CPUs, memory,\n"
             "firmware, controllers, disks, CD-ROMs, NICs and the names the\n"
             "converted disks get, then the warnings (what will not carry\n"
             "over: vTPM state, RDM and independent disks, snapshots, ...).\n"
             "\n"
             "  -j, --json     JSON instead of text (with every .vmx key)\n"
             "  -h, --help     this help\n"
             "\n"
             "VMX is a path (nfs:// and ontap:// where supported).\n"
             "Exit status: 0 described (warnings included), 3 bad input.\n");
}

int
cmd_inspect (struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct vmshift_vm *vm = NULL;
    int json = 0, opt;
    char *text;

    while ((opt = getopt_long (argc, argv, ":jh", opts, NULL)) != -1) {
        switch (opt) {
        case 'j': json = 1; break;
        case 'h': inspect_usage (stdout); return EXIT_OK;
        default: return cli_bad_option (c, "inspect", opt, argv);
        }
    }
    if (argc - optind != 1) {
        return cli_usage_error (c, "inspect", "expected one VMX file");
    }
    if (vmshift_vm_load (c->h, argv[optind], &vm) < 0) {
        return cli_fail (c, "inspect");
    }
    text = vmshift_vm_describe (vm, json);
    if (text == NULL) {
        vmshift_vm_free (vm);
        return cli_fail (c, "inspect");
    }
    fputs (text, stdout);
    free (text);
    vmshift_vm_free (vm);
    if (fflush (stdout) != 0) {
        perror ("vmshift: inspect: writing the description");
        return EXIT_SYSTEM;
    }
    return EXIT_OK;
}
