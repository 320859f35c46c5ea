/* vmshift vcenter shutdown|power-on|snapshot-create|snapshot-remove
 * --vcenter PROFILE --vm NAME ...: the actions a migration takes on its
 * source VMs (docs/vcenter.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/vmshift/cli.h"

static void
vcenter_usage (FILE *fp)
{
    fprintf (fp,
             "Usage: vmshift vcenter ACTION --vcenter PROFILE --vm NAME [OPTIONS]\n"
             "\n"
             "  shutdown [--timeout S] [--power-off-after S]\n"
             "        ask the guest to shut down (VMware Tools) and wait until the\n"
             "        VM is powered off: up to --timeout seconds (default 300), then\n"
             "        fail; with --power-off-after S wait S seconds, then power the\n"
             "        VM off\n"
             "  power-on\n"
             "        power the VM on (a rollback); a VM already on is left alone\n"
             "  snapshot-create --name NAME [--quiesce]\n"
             "        a VM snapshot without memory; prints its id\n"
             "  snapshot-remove --id ID\n"
             "        remove the snapshot snapshot-create made (any snapshot not\n"
             "        made by vmshift is refused)\n"
             "\n"
             "  -c, --vcenter PROFILE   profile in \"vcenters\" of the configuration\n"
             "  -m, --vm NAME           the VM\n"
             "  -h, --help              this help\n"
             "\n"
             "Exit status: 0 done, 2 usage, 3 unknown VM or bad state,\n"
             "5 vCenter error, login refused, or the guest did not shut down.\n");
}

struct vc_args {
    const char *profile, *vm, *name, *id;
    long timeout, power_off_after;
    int quiesce;
};

static int
vcenter_parse_secs (struct cli *c, const char *s, const char *opt, long *out)
{
    char *end;
    long v = strtol (s, &end, 10);

    if (*s == '\0' || *end != '\0' || v < 0 || v > 86400) {
        return cli_usage_error (c, "vcenter", "%s takes 0..86400 seconds, not "
                                "'%s'", opt, s);
    }
    *out = v;
    return 0;
}

static int
vcenter_run (struct cli *c, const char *action, const struct vc_args *a)
{
    struct vmshift_vcenter *vc = NULL;
    char *id = NULL;
    int forced = 0, r;

    if (vmshift_vcenter_open (c->h, a->profile, &vc) < 0) {
        return cli_fail (c, "vcenter");
    }
    if (strcmp (action, "shutdown") == 0) {
        r = vmshift_vcenter_shutdown (vc, a->vm, (unsigned) (a->power_off_after
                                      >= 0 ? a->power_off_after : a->timeout),
                                      a->power_off_after >= 0, &forced);
        if (r == 0) {
            printf ("VM '%s' is powered off%s\n", a->vm,
                    forced ? " (powered off after the guest did not shut down)"
                    : "");
        }
    } else if (strcmp (action, "power-on") == 0) {
        r = vmshift_vcenter_power_on (vc, a->vm);
        if (r == 0) {
            printf ("VM '%s' is powered on\n", a->vm);
        }
    } else if (strcmp (action, "snapshot-create") == 0) {
        r = vmshift_vcenter_snapshot_create (vc, a->vm, a->name, a->quiesce,
                                             &id);
        if (r == 0) {
            printf ("%s\n", id);
        }
        free (id);
    } else {
        r = vmshift_vcenter_snapshot_remove (vc, a->vm, a->id);
        if (r == 0) {
            printf ("snapshot '%s' of VM '%s' removed\n", a->id, a->vm);
        }
    }
    if (r < 0) {
        int rc = cli_fail (c, "vcenter");

        vmshift_vcenter_close (vc);
        return rc;
    }
    vmshift_vcenter_close (vc);
    return cli_finish_stdout (c, "vcenter", EXIT_OK);
}

int
cmd_vcenter (struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        { "vcenter", required_argument, NULL, 'c' },
        { "vm", required_argument, NULL, 'm' },
        { "timeout", required_argument, NULL, 't' },
        { "power-off-after", required_argument, NULL, 'p' },
        { "name", required_argument, NULL, 'n' },
        { "id", required_argument, NULL, 'i' },
        { "quiesce", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    static const char *const actions[] = {
        "shutdown", "power-on", "snapshot-create", "snapshot-remove", NULL,
    };
    struct vc_args a = { .timeout = 300, .power_off_after = -1 };
    const char *action;
    int opt, known = 0;

    while ((opt = getopt_long (argc, argv, ":c:m:t:p:n:i:qh", opts, NULL))
           != -1) {
        switch (opt) {
        case 'c': a.profile = optarg; break;
        case 'm': a.vm = optarg; break;
        case 't':
            if (vcenter_parse_secs (c, optarg, "--timeout", &a.timeout)) {
                return EXIT_USAGE;
            }
            break;
        case 'p':
            if (vcenter_parse_secs (c, optarg, "--power-off-after",
                                    &a.power_off_after)) {
                return EXIT_USAGE;
            }
            break;
        case 'n': a.name = optarg; break;
        case 'i': a.id = optarg; break;
        case 'q': a.quiesce = 1; break;
        case 'h': vcenter_usage (stdout); return EXIT_OK;
        default: return cli_bad_option (c, "vcenter", opt, argv);
        }
    }
    if (argc - optind != 1) {
        return cli_usage_error (c, "vcenter", "expected one ACTION");
    }
    action = argv[optind];
    for (size_t i = 0; actions[i]; i++) {
        known |= strcmp (action, actions[i]) == 0;
    }
    if (!known) {
        return cli_usage_error (c, "vcenter", "unknown action '%s'", action);
    }
    if (a.profile == NULL || a.vm == NULL) {
        return cli_usage_error (c, "vcenter", "--vcenter PROFILE and --vm NAME "
                                "are required");
    }
    if (strcmp (action, "snapshot-create") == 0 && a.name == NULL) {
        return cli_usage_error (c, "vcenter", "snapshot-create needs --name");
    }
    if (strcmp (action, "snapshot-remove") == 0 && a.id == NULL) {
        return cli_usage_error (c, "vcenter", "snapshot-remove needs --id");
    }
    return vcenter_run (c, action, &a);
}
