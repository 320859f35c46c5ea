/* Proxmox VE: a VM configuration in /etc/pve/qemu-server/<vmid>.conf form.
 *
 * Syntax (checked in tests against real configs from qemu-server's test
 * suite in the corpus): "key: value" lines sorted by key, as PVE writes
 * them; the leading '#' lines are the VM's description, in PVE's own
 * percent-encoding.  Keys used: bios boot cores ide2 machine memory name
 * netN ostype sataN scsiN scsihw smbios1 sockets virtioN vmgenid.
 *
 * A config file cannot allocate storage, so the EFI variables disk and
 * the TPM state (efidisk0, tpmstate0) are left to 'qm set', whose exact
 * commands go into the description and the notes.  Without efidisk0 PVE
 * boots OVMF with temporary variables.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "hypervisors/hv.h"

/* PVE's ostype for a VMware guestOS id. */
static const char *
pve_ostype (const char *g, enum hv_os_family f)
{
    static const struct {
        const char *prefix, *ostype;
    } win[] = {
        { "windows11", "win11" }, { "windows2022srv", "win11" },
        { "windows2019srvnext", "win11" }, { "windows2025", "win11" },
        { "windows9", "win10" }, { "windows2016srv", "win10" },
        { "windows2019srv", "win10" }, { "windows8", "win8" },
        { "windows7", "win7" }, { "winvista", "w2k8" },
        { "longhorn", "w2k8" }, { "winxp", "wxp" }, { "winnet", "wxp" },
        { "win2000", "w2k" },
    };

    if (f == HV_OS_LINUX) {
        return strstr (g, "24x") ? "l24" : "l26";
    }
    if (f != HV_OS_WINDOWS) {
        return strncasecmp (g, "solaris", 7) == 0 ? "solaris" : "other";
    }
    for (size_t i = 0; i < sizeof win / sizeof win[0]; i++) {
        if (strncasecmp (g, win[i].prefix, strlen (win[i].prefix)) == 0) {
            return win[i].ostype;
        }
    }
    return "win10";
}

/* pve-bridge-id: [-_.A-Za-z0-9]+ */
static bool
pve_bridge_ok (const char *s)
{
    for (const char *p = s; *p; p++) {
        if (!isalnum ((unsigned char) *p) && !strchr ("-_.", *p)) {
            return false;
        }
    }
    return *s != '\0' && strlen (s) <= 64;
}

/* pve-storage-id: a letter, then [a-z0-9._-], ending alphanumeric. */
static bool
pve_storage_ok (const char *s)
{
    size_t n = strlen (s);

    if (n < 2 || n > 64 || !isalpha ((unsigned char) s[0]) ||
        !isalnum ((unsigned char) s[n - 1])) {
        return false;
    }
    for (const char *p = s; *p; p++) {
        if (!isalnum ((unsigned char) *p) && !strchr ("-_.", *p)) {
            return false;
        }
    }
    return true;
}

static int
pve_check (const struct hv_plan *p)
{
    if (!pve_storage_ok (p->disk_dir)) {
        return set_error (EINVAL, "'%s' is not a Proxmox storage id (for "
                          "Proxmox, --disk-path names the storage, such as "
                          "'local' or 'nfs-ontap')", p->disk_dir);
    }
    for (size_t i = 0; i < p->nics.len; i++) {
        if (p->nics.ptr[i].target &&
            !pve_bridge_ok (p->nics.ptr[i].target)) {
            return set_error (EINVAL, "network map target '%s' is not a "
                              "Proxmox bridge name ([-_.A-Za-z0-9])",
                              p->nics.ptr[i].target);
        }
    }
    return 0;
}

static void
pve_desc_line (struct sbuf *b, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

static void
pve_desc_line (struct sbuf *b, const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    int n;

    va_start (ap, fmt);
    n = vasprintf (&s, fmt, ap);
    va_end (ap);
    if (n < 0) {
        if (b->err == 0) {
            b->err = -ENOMEM;
        }
        return;
    }
    vs_sbuf_addch (b, '#');
    hv_esc_pve_text (b, s);
    vs_sbuf_addch (b, '\n');
    free (s);
}

static void
pve_description (const struct hv_plan *p, struct sbuf *b)
{
    const struct hv_vm *vm = p->vm;
    unsigned id = p->def->vmid;

    pve_desc_line (b, "Converted by vmshift from VMware VM '%s' (guest OS "
                   "%s).", vm->name, vm->guest_os);
    for (size_t i = 0; i < p->disks.len; i++) {
        const struct hv_plan_disk *d = &p->disks.ptr[i];
        const struct hv_disk *s = &vm->disks.ptr[d->src];

        pve_desc_line (b, "%s%u: %s (was %s%u:%u)", d->bus, d->unit,
                       s->file, hv_bus_name (s->bus), s->ctrl, s->unit);
    }
    if (vm->firmware == HV_FW_EFI) {
        pve_desc_line (b, "EFI vars: qm set %u --efidisk0 %s:1,efitype=4m,"
                       "pre-enrolled-keys=%d", id, p->disk_dir,
                       vm->secure_boot ? 1 : 0);
    }
    if (vm->vtpm) {
        pve_desc_line (b, "TPM: qm set %u --tpmstate0 %s:1,version=v2.0", id,
                       p->disk_dir);
    }
    if (vm->annotation) {
        pve_desc_line (b, "%s", vm->annotation);
    }
}

struct pve_line {
    char key[32];
    char *value;
};
DEFINE_VECTOR (pve_line_vec, struct pve_line);

static int
pve_cmp (const void *a, const void *b)
{
    return strcmp (((const struct pve_line *) a)->key,
                   ((const struct pve_line *) b)->key);
}

static int
pve_add (struct pve_line_vec *v, const char *key, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static int
pve_add (struct pve_line_vec *v, const char *key, const char *fmt, ...)
{
    struct pve_line l = { .value = NULL };
    va_list ap;
    int n;

    snprintf (l.key, sizeof l.key, "%s", key);
    va_start (ap, fmt);
    n = vasprintf (&l.value, fmt, ap);
    va_end (ap);
    if (n < 0 || pve_line_vec_append (v, l) < 0) {
        free (n < 0 ? NULL : l.value);
        return set_error (ENOMEM, "out of memory");
    }
    return 0;
}

static int
pve_nic_line (const struct hv_plan *p, const struct hv_plan_nic *n,
              struct pve_line_vec *v, size_t i)
{
    char key[32], mac[18] = "", tag[16] = "";

    snprintf (key, sizeof key, "net%u", (unsigned) i);
    if (n->mac) {
        const char *m = p->vm->nics.ptr[n->src].mac;

        for (int k = 0; k < 18; k++) {
            mac[k] = (char) toupper ((unsigned char) m[k]);
        }
    }
    if (n->vlan) {
        snprintf (tag, sizeof tag, ",tag=%d", n->vlan);
    }
    if (!n->target) {
        /* a test migration: on no bridge, and the link down (without a
         * bridge Proxmox would give the NIC QEMU's user-mode NAT; the
         * link stays down unless the admin sets it up) */
        return pve_add (v, key, "%s%s%s,link_down=1", n->model,
                        n->mac ? "=" : "", mac);
    }
    return pve_add (v, key, "%s%s%s,bridge=%s%s", n->model, n->mac ? "=" : "",
                    mac, n->target, tag);
}

static int
pve_devices (const struct hv_plan *p, struct pve_line_vec *v)
{
    bool scsi = false;
    int r = 0;

    for (size_t i = 0; r == 0 && i < p->disks.len; i++) {
        const struct hv_plan_disk *d = &p->disks.ptr[i];
        const struct hv_disk *s = &p->vm->disks.ptr[d->src];
        char key[32];

        snprintf (key, sizeof key, "%s%u", d->bus, d->unit);
        scsi = scsi || strcmp (d->bus, "scsi") == 0;
        if (s->capacity) {
            r = pve_add (v, key, "%s,size=%" PRIu64 "K", d->path,
                         (s->capacity + 1023) / 1024);
        } else {
            r = pve_add (v, key, "%s", d->path);
        }
    }
    if (r == 0 && p->disks.len) {
        r = pve_add (v, "boot", "order=%s%u", p->disks.ptr[0].bus,
                     p->disks.ptr[0].unit);
    }
    if (r == 0 && scsi) {
        r = pve_add (v, "scsihw", "virtio-scsi-single");
    }
    if (r == 0 && p->ncdrom) {
        r = pve_add (v, "ide2", "none,media=cdrom");
    }
    for (size_t i = 0; r == 0 && i < p->nics.len; i++) {
        r = pve_nic_line (p, &p->nics.ptr[i], v, i);
    }
    return r;
}

static int
pve_system (const struct hv_plan *p, struct pve_line_vec *v)
{
    const struct hv_vm *vm = p->vm;
    struct sbuf name;
    int r;

    vs_sbuf_init (&name, 128);
    hv_dns_label (&name, vm->name, 63);
    if (name.err) {
        vs_sbuf_release (&name);
        return name.err;
    }
    r = pve_add (v, "name", "%s", name.data);
    vs_sbuf_release (&name);
    if (r == 0 && vm->firmware == HV_FW_EFI) {
        r = pve_add (v, "bios", "ovmf");
    }
    if (r == 0 && (r = pve_add (v, "machine", "q35")) == 0 &&
        (r = pve_add (v, "memory", "%" PRIu64, p->memory_mib)) == 0 &&
        (r = pve_add (v, "sockets", "%u", p->sockets)) == 0 &&
        (r = pve_add (v, "cores", "%u", p->cores)) == 0) {
        r = pve_add (v, "ostype", "%s", pve_ostype (vm->guest_os, p->os));
    }
    if (r == 0 && vm->uuid_bios[0]) {
        r = pve_add (v, "smbios1", "uuid=%s", vm->uuid_bios);
    }
    if (r == 0 && vm->genid[0]) {
        r = pve_add (v, "vmgenid", "%s", vm->genid);
    }
    return r;
}

static int
pve_notes (struct hv_plan *p)
{
    const struct hv_vm *vm = p->vm;
    unsigned id = p->def->vmid;

    if (vm->firmware == HV_FW_EFI &&
        hv_plan_note (p, "add the EFI variables disk: qm set %u --efidisk0 "
                      "%s:1,efitype=4m,pre-enrolled-keys=%d", id, p->disk_dir,
                      vm->secure_boot ? 1 : 0) < 0) {
        return -ENOMEM;
    }
    if (vm->vtpm &&
        hv_plan_note (p, "add the TPM: qm set %u --tpmstate0 "
                      "%s:1,version=v2.0", id, p->disk_dir) < 0) {
        return -ENOMEM;
    }
    return 0;
}

int
hv_proxmox_emit (struct hv_plan *p, struct sbuf *b)
{
    struct pve_line_vec v = { 0 };
    int r = pve_check (p);

    if (r == 0 && (r = pve_system (p, &v)) == 0 &&
        (r = pve_devices (p, &v)) == 0) {
        r = pve_notes (p);
    }
    if (r == 0) {
        qsort (v.ptr, v.len, sizeof v.ptr[0], pve_cmp);
        pve_description (p, b);
        for (size_t i = 0; i < v.len; i++) {
            vs_sbuf_printf (b, "%s: %s\n", v.ptr[i].key, v.ptr[i].value);
        }
        r = b->err;
    }
    for (size_t i = 0; i < v.len; i++) {
        free (v.ptr[i].value);
    }
    pve_line_vec_reset (&v);
    return r;
}

static int
proxmox_check (const struct hv_define *d)
{
    if (d->vmid < 100 || d->vmid > 999999999) {
        return set_error (EINVAL, "Proxmox needs a VM id from 100 to "
                          "999999999 (got %u)", d->vmid);
    }
    return 0;
}

/* Proxmox names its volumes itself: vm-<vmid>-disk-<n>.<format> in
 * <storage>:<vmid>/. */
static int
proxmox_disk_names (struct hv_plan *p, struct hv_plan_disk *pd, size_t n)
{
    int r = asprintf (&pd->file, "vm-%u-disk-%zu.%s", p->def->vmid, n,
                      p->format);

    if (r >= 0) {
        r = asprintf (&pd->path, "%s:%u/%s", p->disk_dir, p->def->vmid,
                      pd->file);
    }
    return r < 0 ? set_error (ENOMEM, "out of memory") : 0;
}

static const char *const proxmox_aliases[] = { "pve", NULL };
static const char *const proxmox_formats[] = { "qcow2", "raw", NULL };

const struct hv_target_driver hv_proxmox_target = {
    .id = HV_TARGET_PROXMOX,
    .name = "proxmox",
    .aliases = proxmox_aliases,
    .title = "Proxmox",
    .default_format = "qcow2",
    .formats = proxmox_formats,
    .default_dir = "local",
    .fixed_bus = HV_CHOICE_AUTO,
    .default_bus = HV_CHOICE_SCSI,
    .sata_ports = 6,            /* sata0 .. sata5 */
    .scsi_units = 31,           /* scsi0 .. scsi30 (virtio-scsi-single:
                                 * one controller per disk, one name
                                 * space) */
    .scsi_controllers = 1,
    .efi = true, .secure_boot = true, .vtpm = true,
    .check = proxmox_check,
    .disk_names = proxmox_disk_names,
    .emit = hv_proxmox_emit,
};
