/* vmshift inventory --vcenter PROFILE [--json] [--vm NAME...] [--folder
 * PATH] [--datastore NAME]: the VMs of a vCenter with their disks, NICs,
 * guest IPs and snapshots, and where each disk lives on ONTAP. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "tools/vmshift/cli.h"

static void
inventory_usage (FILE *fp)
{
    fprintf (fp,
             "Usage: vmshift inventory --vcenter PROFILE [--json] [--vm NAME]...\n"
             "                         [--folder PATH] [--datastore NAME] [--no-ontap]\n"
             "\n"
             "List the VMs of a vCenter (or ESXi) with what a migration needs:\n"
             "power state, firmware, CPUs, memory, VMware Tools, NICs with the\n"
             "guest IPs the Tools report, disks with their datastore file and\n"
             "their ontap:// location, snapshots, and what will not carry over.\n"
             "NFS datastores are matched to ONTAP volumes through the ONTAP\n"
             "profiles of the same configuration file.\n"
             "\n"
             "  -c, --vcenter PROFILE  profile in \"vcenters\" of the configuration\n"
             "  -j, --json             JSON instead of text\n"
             "  -m, --vm NAME          only this VM (repeatable)\n"
             "  -f, --folder PATH      only VMs in this folder or below (/DC0/vm/web)\n"
             "  -d, --datastore NAME   only VMs with a disk on this datastore\n"
             "  -n, --no-ontap         do not ask the ONTAP profiles\n"
             "  -h, --help             this help\n"
             "\n"
             "Exit status: 0 listed, 2 usage, 3 bad configuration or unknown VM,\n"
             "5 vCenter unreachable or login refused.\n");
}

int
cmd_inventory (struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        { "vcenter", required_argument, NULL, 'c' },
        { "json", no_argument, NULL, 'j' },
        { "vm", required_argument, NULL, 'm' },
        { "folder", required_argument, NULL, 'f' },
        { "datastore", required_argument, NULL, 'd' },
        { "no-ontap", no_argument, NULL, 'n' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct vmshift_inventory_opts o;
    struct vmshift_vcenter *vc = NULL;
    struct vmshift_inventory *inv = NULL;
    const char *profile = NULL;
    const char **vms = NULL;
    int json = 0, opt, rc = EXIT_OK;
    char *text;

    vmshift_inventory_opts_init (&o);
    if ((vms = calloc ((size_t) argc + 1, sizeof *vms)) == NULL) {
        perror ("vmshift: inventory");
        return EXIT_SYSTEM;
    }
    while ((opt = getopt_long (argc, argv, ":c:jm:f:d:nh", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': profile = optarg; break;
        case 'j': json = 1; break;
        case 'm': vms[o.n_vms++] = optarg; break;
        case 'f': o.folder = optarg; break;
        case 'd': o.datastore = optarg; break;
        case 'n': o.map_ontap = 0; break;
        case 'h': inventory_usage (stdout); free (vms); return EXIT_OK;
        default: free (vms); return cli_bad_option (c, "inventory", opt, argv);
        }
    }
    o.vms = vms;
    if (argc != optind) {
        free (vms);
        return cli_usage_error (c, "inventory", "unexpected argument '%s'",
                                argv[optind]);
    }
    if (profile == NULL) {
        free (vms);
        return cli_usage_error (c, "inventory", "--vcenter PROFILE is required");
    }
    if (vmshift_vcenter_open (c->h, profile, &vc) < 0 ||
        vmshift_inventory_get (vc, &o, &inv) < 0) {
        rc = cli_fail (c, "inventory");
        goto out;
    }
    text = json ? vmshift_inventory_json (inv, 1) : vmshift_inventory_text (inv);
    if (text == NULL) {
        rc = cli_fail (c, "inventory");
        goto out;
    }
    fputs (text, stdout);
    free (text);
    rc = cli_finish_stdout (c, "inventory", EXIT_OK);
out:
    vmshift_inventory_free (inv);
    vmshift_vcenter_close (vc);
    free (vms);
    return rc;
}
