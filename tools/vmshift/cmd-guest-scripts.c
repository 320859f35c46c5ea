/* vmshift guest-scripts: render the guest network preparation scripts
 * (docs/man/vmshift-guest-scripts.1). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "tools/vmshift/cli.h"

static void
guest_usage (FILE *fp)
{
    fprintf (fp,
             "Usage: vmshift guest-scripts --os linux|windows --out DIR "
             "[OPTIONS]\n"
             "\n"
             "Write the scripts that keep a guest's network settings across "
             "the move:\n"
             "a prepare script to run in the source VM and the re-apply step "
             "it installs\n"
             "to run once on the first boot at the target.\n"
             "\n"
             "  --os linux|windows     the guest's OS\n"
             "  --out DIR              folder to write the scripts into\n"
             "  --mode MODE            retain (default): keep static settings "
             "under the\n"
             "                         new interface names; dhcp: switch to "
             "DHCP;\n"
             "                         keep (or none): leave the network "
             "alone;\n"
             "                         script: run --script FILE instead\n"
             "  --network-map FILE     network map (JSON) with per-interface "
             "overrides\n"
             "  --script FILE          the administrator's script for "
             "--mode script\n"
             "  --keep-vmware-tools    do not uninstall VMware Tools\n"
             "  --reboot WHEN          auto (default), always or never\n"
             "  --force                replace scripts that exist in DIR\n"
             "  -h, --help             this help\n");
}

static int
guest_parse_mode (const char *s, enum vmshift_guest_mode *m)
{
    static const struct {
        const char *n;
        enum vmshift_guest_mode m;
    } modes[] = {
        { "retain", VMSHIFT_GUEST_MODE_RETAIN },
        { "dhcp", VMSHIFT_GUEST_MODE_DHCP },
        { "keep", VMSHIFT_GUEST_MODE_KEEP },
        { "none", VMSHIFT_GUEST_MODE_KEEP },
        { "script", VMSHIFT_GUEST_MODE_SCRIPT },
    };

    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        if (strcmp (s, modes[i].n) == 0) {
            *m = modes[i].m;
            return 0;
        }
    }
    return -1;
}

static int
guest_run (struct cli *c, struct vmshift_guest_opts *o, const char *os,
           const char *out)
{
    const char *cmd = "guest-scripts";

    if (strcmp (os, "linux") == 0) {
        o->os = VMSHIFT_GUEST_LINUX;
    } else if (strcmp (os, "windows") == 0) {
        o->os = VMSHIFT_GUEST_WINDOWS;
    } else {
        return cli_usage_error (c, cmd, "unknown OS '%s' (expected linux or "
                                "windows)", os);
    }
    if (vmshift_guest_scripts (c->h, o, out) < 0) {
        return cli_fail (c, cmd);
    }
    if (!c->quiet) {
        const char *const *names = vmshift_guest_script_names (o->os);

        for (size_t i = 0; names[i]; i++) {
            printf ("%s/%s\n", out, names[i]);
        }
    }
    return EXIT_OK;
}

int
cmd_guest_scripts (struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        { "os", required_argument, NULL, 'o' },
        { "out", required_argument, NULL, 'O' },
        { "mode", required_argument, NULL, 'm' },
        { "network-map", required_argument, NULL, 'n' },
        { "script", required_argument, NULL, 's' },
        { "keep-vmware-tools", no_argument, NULL, 'k' },
        { "reboot", required_argument, NULL, 'r' },
        { "force", no_argument, NULL, 'f' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *cmd = "guest-scripts", *os = NULL, *out = NULL;
    struct vmshift_guest_opts o;
    int opt;

    vmshift_guest_opts_init (&o);
    opterr = 0;                 /* our own one-line messages */
    while ((opt = getopt_long (argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'o': os = optarg; break;
        case 'O': out = optarg; break;
        case 'm':
            if (guest_parse_mode (optarg, &o.mode) < 0) {
                return cli_usage_error (c, cmd, "unknown mode '%s' (expected "
                                        "retain, dhcp, keep, none or script)",
                                        optarg);
            }
            break;
        case 'n': o.network_map = optarg; break;
        case 's': o.admin_script = optarg; break;
        case 'k': o.remove_tools = 0; break;
        case 'r': o.reboot = optarg; break;
        case 'f': o.force = 1; break;
        case 'h':
            guest_usage (stdout);
            return EXIT_OK;
        case ':':
            return cli_usage_error (c, cmd, "option '%s' needs a value",
                                    argv[optind - 1]);
        default:
            return cli_usage_error (c, cmd, "unknown option '%s'",
                                    argv[optind - 1]);
        }
    }
    if (optind < argc) {
        return cli_usage_error (c, cmd, "unexpected argument '%s'",
                                argv[optind]);
    }
    if (os == NULL || out == NULL) {
        return cli_usage_error (c, cmd, "--os and --out are required");
    }
    return guest_run (c, &o, os, out);
}
