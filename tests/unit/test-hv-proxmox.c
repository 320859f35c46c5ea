/* Proxmox syntax: one simple "key: value" checker, first run over the real
 * qemu-server configs in the corpus (targets/proxmox, every .conf), then over
 * every Proxmox golden file.  Keys must be ones the real configs use or
 * that 'qm' documents (sataN); values of disk, net, boot, machine, bios,
 * ostype, smbios1 and vmgenid keys must match the forms real configs
 * have ("net0: virtio=MAC,bridge=vmbr0", "scsi4: local:8006/vm-...").
 * The checker's patterns are shared, so a pattern too loose or too
 * strict for real configs fails the first test. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/testio.h"

static const struct {
    const char *key;    /* key class: "net" covers net0, net1, ... */
    const char *re;     /* the value */
} pve_rules[] = {
    { "boot", "^order=[a-z0-9]+(;[a-z0-9]+)*$" },
    { "bootdisk", "^(scsi|sata|virtio|ide)[0-9]+$" },
    { "bios", "^(ovmf|seabios)$" },
    { "cores", "^[1-9][0-9]*$" },
    { "sockets", "^[1-9][0-9]*$" },
    { "memory", "^[1-9][0-9]*$" },
    { "numa", "^[01]$" },
    { "machine", "^(q35|pc|pc-(q35|i440fx)-[0-9.]+)$" },
    { "name", "^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$" },
    { "ostype", "^(other|wxp|w2k|w2k3|w2k8|wvista|win7|win8|win10|win11|"
      "l24|l26|solaris)$" },
    { "smbios", "^uuid=[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
      "[0-9a-f]{12}$" },
    { "vmgenid", "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
      "[0-9a-f]{12}$" },
    { "scsihw", "^(lsi|lsi53c810|megasas|pvscsi|virtio-scsi-pci|"
      "virtio-scsi-single)$" },
    { "net", "^(virtio|e1000|e1000e|vmxnet3|rtl8139)(=[0-9A-F]{2}(:[0-9A-F]"
      "{2}){5})?,bridge=[-_.A-Za-z0-9]+(,tag=[0-9]+)?(,mtu=[0-9]+)?$" },
    { "scsi", "^[a-z][-a-z0-9_.]*:[0-9]+/vm-[0-9]+-disk-[0-9]+\\."
      "(qcow2|raw)(,discard=on)?(,iothread=1)?(,size=[0-9]+[KMG])?$" },
    { "sata", "^[a-z][-a-z0-9_.]*:[0-9]+/vm-[0-9]+-disk-[0-9]+\\."
      "(qcow2|raw)(,size=[0-9]+[KMG])?$" },
    { "virtio", "^[a-z][-a-z0-9_.]*:[0-9]+/vm-[0-9]+-disk-[0-9]+\\."
      "(qcow2|raw)(,discard=on)?(,iothread=1)?(,size=[0-9]+[KMG])?$" },
    { "ide", "^(none|[a-z][-a-z0-9_.]*:iso/[^,]+),media=cdrom(,size=[0-9]+"
      "[KMG])?$" },
    /* Present in real configs, never written by vmshift. */
    { "efidisk", "." }, { "tpmstate", "." }, { "hostpci", "." },
    { "serial", "." }, { "vga", "." },
};

/* 1 = valid, 0 = key unknown, -1 = value does not match. */
static int
pve_check_line (const char *line, char *why, size_t n)
{
    const char *colon = strstr (line, ": ");
    char cls[32];
    size_t kl;

    if (colon == NULL || (kl = (size_t) (colon - line)) >= sizeof cls) {
        snprintf (why, n, "not 'key: value'");
        return -1;
    }
    memcpy (cls, line, kl);
    while (kl > 0 && cls[kl - 1] >= '0' && cls[kl - 1] <= '9') {
        kl--;
    }
    cls[kl] = '\0';
    for (size_t i = 0; i < sizeof pve_rules / sizeof pve_rules[0]; i++) {
        regex_t re;
        int m;

        if (strcmp (cls, pve_rules[i].key) != 0) {
            continue;
        }
        cr_assert_eq (regcomp (&re, pve_rules[i].re, REG_EXTENDED | REG_NOSUB),
                      0);
        m = regexec (&re, colon + 2, 0, NULL, 0);
        regfree (&re);
        snprintf (why, n, "value of '%s' does not match %s", cls,
                  pve_rules[i].re);
        return m == 0 ? 1 : -1;
    }
    snprintf (why, n, "key '%s' is not in real configs or qm's list", cls);
    return 0;
}

static unsigned
pve_check_file (const char *path, bool ours)
{
    FILE *fp = fopen (path, "r");
    char line[4096], why[512];
    unsigned n = 0, lineno = 0;
    bool body = false;

    cr_assert_not_null (fp, "cannot open %s", path);
    while (fgets (line, sizeof line, fp)) {
        line[strcspn (line, "\n")] = '\0';
        lineno++;
        if (line[0] == '#' || line[0] == '\0') {
            /* Description lines come first; PVE reads later ones too,
             * but vmshift never writes them after a key. */
            cr_assert (!(ours && body && line[0] == '#'),
                       "%s:%u: description after keys", path, lineno);
            continue;
        }
        body = true;
        cr_assert_eq (pve_check_line (line, why, sizeof why), 1,
                      "%s:%u: '%s': %s", path, lineno, line, why);
        n++;
    }
    fclose (fp);
    return n;
}

static unsigned
pve_check_dir (const char *dir, const char *suffix, bool ours)
{
    DIR *d = opendir (dir);
    struct dirent *e;
    unsigned files = 0;

    cr_assert_not_null (d, "cannot open %s", dir);
    while ((e = readdir (d)) != NULL) {
        size_t l = strlen (e->d_name), sl = strlen (suffix);
        char path[4096];

        if (l <= sl || strcmp (e->d_name + l - sl, suffix) != 0) {
            continue;
        }
        snprintf (path, sizeof path, "%s/%s", dir, e->d_name);
        cr_assert_gt (pve_check_file (path, ours), 0, "%s: no keys", path);
        files++;
    }
    closedir (d);
    return files;
}

Test (proxmox_syntax, checker_accepts_the_real_configs)
{
    const char *c = test_corpus_dir ();
    char dir[4096];

    if (c == NULL) {
        cr_skip_test ("corpus folder is absent (VMSHIFT_CORPUS)");
    }
    snprintf (dir, sizeof dir, "%s/targets/proxmox", c);
    cr_assert_geq (pve_check_dir (dir, ".conf", false), 7);
}

Test (proxmox_syntax, checker_rejects_what_pve_would_not_read)
{
    char why[512];

    cr_assert_eq (pve_check_line ("net0: virtio=00:0c:29:aa:bb:cc,bridge=a",
                                  why, sizeof why), -1);
    cr_assert_eq (pve_check_line ("net0: virtio,bridge=my bridge", why,
                                  sizeof why), -1);
    cr_assert_eq (pve_check_line ("frobnicate: 1", why, sizeof why), 0);
    cr_assert_eq (pve_check_line ("name: a_b", why, sizeof why), -1);
    cr_assert_eq (pve_check_line ("scsi0: /mnt/disk.qcow2", why, sizeof why),
                  -1);
}

Test (proxmox_syntax, golden_configs_use_only_real_syntax)
{
    const char *top = getenv ("VMSHIFT_TOP");
    char dir[4096];

    if (test_corpus_dir () == NULL) {
        cr_skip_test ("corpus folder is absent: no golden files to check");
    }
    snprintf (dir, sizeof dir, "%s/tests/data/hv/golden", top ? top : ".");
    cr_assert_geq (pve_check_dir (dir, ".proxmox.conf", true), 9);
}
