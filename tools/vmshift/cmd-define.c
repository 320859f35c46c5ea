/* vmshift define --target T [--network-map FILE] ... VMX: write the target
 * hypervisor's definition of a VMware VM. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/vmshift/cli.h"

static void
define_usage (FILE *fp)
{
    fprintf (fp,
             "Usage: vmshift define --target TARGET [OPTIONS] VMX\n"
             "\n"
             "Write the definition of the VM in VMX for another hypervisor:\n"
             "  hyperv    PowerShell script creating the VM (Hyper-V module)\n"
             "  libvirt   domain XML for KVM ('virsh define FILE')\n"
             "  proxmox   /etc/pve/qemu-server/<vmid>.conf\n"
             "  kubevirt  VirtualMachine + PersistentVolumeClaims (YAML, or\n"
             "            JSON with --json)\n"
             "\n"
             "  -t, --target TARGET     hyperv, libvirt, proxmox or kubevirt\n"
             "  -n, --network-map FILE  JSON map of source networks to target\n"
             "                          networks and overrides (see\n"
             "                          vmshift-define(1)); needed when the VM\n"
             "                          has NICs\n"
             "  -d, --disk-path PATH    where the converted disks are: folder or\n"
             "                          share (hyperv, libvirt), storage id\n"
             "                          (proxmox), nfs://server/path (kubevirt)\n"
             "      --disk-format FMT   vhdx (hyperv), qcow2 or raw (libvirt,\n"
             "                          proxmox), raw (kubevirt)\n"
             "      --vmid N            Proxmox VM id (required for proxmox)\n"
             "      --namespace NS      KubeVirt namespace\n"
             "      --retain-mac        keep the VMware MAC addresses\n"
             "      --no-retain-mac     let the target assign MAC addresses\n"
             "      --vcpus N           override the number of vCPUs\n"
             "      --memory MIB        override the memory (MiB)\n"
             "      --json              KubeVirt: JSON List instead of YAML\n"
             "  -o, --output FILE       write to FILE instead of stdout\n"
             "  -f, --force             replace FILE if it exists\n"
             "  -h, --help              this help\n");
}

struct define_args {
    struct vmshift_define_opts o;
    const char *output;
    int force;
};

static int
define_number (struct cli *c, const char *what, const char *s,
               unsigned long long max, unsigned long long *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull (s, &end, 10);
    if (errno || end == s || *end != '\0' || v == 0 || v > max ||
        s[0] == '-') {
        return cli_usage_error (c, "define", "%s '%s' is not a number from 1 "
                                "to %llu", what, s, max);
    }
    *out = v;
    return 0;
}

static int
define_opt (struct cli *c, int opt, struct define_args *a)
{
    unsigned long long v;

    switch (opt) {
    case 't':
        return vmshift_target_from_name (optarg, &a->o.target) < 0 ?
            cli_usage_error (c, "define", "%s", vmshift_get_error ()) : 0;
    case 'n': a->o.network_map = optarg; return 0;
    case 'd': a->o.disk_path = optarg; return 0;
    case 'F': a->o.disk_format = optarg; return 0;
    case 'N': a->o.kube_namespace = optarg; return 0;
    case 'R': a->o.retain_mac = 1; return 0;
    case 'r': a->o.retain_mac = 0; return 0;
    case 'J': a->o.json = 1; return 0;
    case 'o': a->output = optarg; return 0;
    case 'f': a->force = 1; return 0;
    case 'I':
        if (define_number (c, "--vmid", optarg, 999999999, &v)) {
            return EXIT_USAGE;
        }
        a->o.vmid = (unsigned) v;
        return 0;
    case 'C':
        if (define_number (c, "--vcpus", optarg, 768, &v)) {
            return EXIT_USAGE;
        }
        a->o.vcpus = (unsigned) v;
        return 0;
    case 'M':
        if (define_number (c, "--memory", optarg, 25165824, &v)) {
            return EXIT_USAGE;
        }
        a->o.memory_mib = v;
        return 0;
    default:
        return cli_usage_error (c, "define", "bad option");
    }
}

static int
define_write (struct cli *c, const struct define_args *a, const char *text)
{
    FILE *fp = stdout;

    if (a->output) {
        fp = fopen (a->output, a->force ? "w" : "wx");
        if (fp == NULL) {
            int e = errno;

            fprintf (stderr, "%s: define: cannot create '%s': %s%s\n",
                     c->prog, a->output, strerror (e),
                     e == EEXIST ? " (use --force to replace it)" : "");
            return EXIT_TARGET;
        }
    }
    if (fputs (text, fp) == EOF || fflush (fp) != 0 ||
        (a->output && fclose (fp) != 0)) {
        fprintf (stderr, "%s: define: writing '%s' failed: %s\n", c->prog,
                 a->output ? a->output : "stdout", strerror (errno));
        return EXIT_TARGET;
    }
    return EXIT_OK;
}

int
cmd_define (struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        { "target", required_argument, NULL, 't' },
        { "network-map", required_argument, NULL, 'n' },
        { "disk-path", required_argument, NULL, 'd' },
        { "disk-format", required_argument, NULL, 'F' },
        { "vmid", required_argument, NULL, 'I' },
        { "namespace", required_argument, NULL, 'N' },
        { "retain-mac", no_argument, NULL, 'R' },
        { "no-retain-mac", no_argument, NULL, 'r' },
        { "vcpus", required_argument, NULL, 'C' },
        { "memory", required_argument, NULL, 'M' },
        { "json", no_argument, NULL, 'J' },
        { "output", required_argument, NULL, 'o' },
        { "force", no_argument, NULL, 'f' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct define_args a = { .output = NULL };
    struct vmshift_vm *vm = NULL;
    char *text = NULL;
    int opt, r;

    vmshift_define_opts_init (&a.o);
    while ((opt = getopt_long (argc, argv, ":t:n:d:o:fh", opts, NULL)) != -1) {
        if (opt == 'h') {
            define_usage (stdout);
            return EXIT_OK;
        }
        if (opt == '?' || opt == ':') {
            return cli_bad_option (c, "define", opt, argv);
        }
        if ((r = define_opt (c, opt, &a)) != 0) {
            return r;
        }
    }
    if (a.o.target == 0) {
        return cli_usage_error (c, "define", "--target is required");
    }
    if (argc - optind != 1) {
        return cli_usage_error (c, "define", "expected one VMX file");
    }
    if (vmshift_vm_load (c->h, argv[optind], &vm) < 0) {
        return cli_fail (c, "define");
    }
    for (size_t i = 0; !c->quiet && i < vmshift_vm_warning_count (vm); i++) {
        fprintf (stderr, "%s: warning: %s\n", c->prog,
                 vmshift_vm_warning (vm, i));
    }
    if (vmshift_define (c->h, vm, &a.o, &text) < 0) {
        vmshift_vm_free (vm);
        return cli_fail (c, "define");
    }
    vmshift_vm_free (vm);
    r = define_write (c, &a, text);
    free (text);
    return r;
}
