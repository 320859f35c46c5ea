/* The target plan shared by every emitter: which bus each converted disk
 * goes on, its file name and path, each NIC's target network, model and
 * MAC, and CPU/memory after overrides.  Decisions (docs/targets.md):
 *
 *   - Windows guests boot their first time from SATA with e1000e NICs on
 *     libvirt, Proxmox and KubeVirt: both have in-box drivers, virtio has
 *     none until virtio-win is installed (INACCESSIBLE_BOOT_DEVICE
 *     otherwise; kubevirt#16703, the workaround NetApp Shift documents).
 *     Linux guests get virtio.  "disk_bus"/"nic_model" in the map
 *     override this.
 *   - Hyper-V: Generation 1 for BIOS guests (boot disk on IDE 0:0, data
 *     disks on SCSI 0), Generation 2 for EFI guests (all on SCSI 0).
 *   - Disk files: <target_name>.<ext> (target_name from the vmdk name,
 *     see model.c); Proxmox requires its own vm-<vmid>-disk-<n>.<fmt>;
 *     KubeVirt puts each disk in a PVC <vm>-<disk> as disk.img.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "hypervisors/hv.h"

static const char *const plan_default_format[] = {
    NULL, "vhdx", "qcow2", "qcow2", "raw",
};

int
hv_plan_note (struct hv_plan *p, const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    int n;

    va_start (ap, fmt);
    n = vasprintf (&s, fmt, ap);
    va_end (ap);
    if (n < 0 || hv_str_vec_append (&p->notes, s) < 0) {
        free (n < 0 ? NULL : s);
        return set_error (ENOMEM, "out of memory");
    }
    return 0;
}

void
hv_plan_release (struct hv_plan *p)
{
    for (size_t i = 0; i < p->disks.len; i++) {
        free (p->disks.ptr[i].path);
        free (p->disks.ptr[i].file);
    }
    hv_plan_disk_vec_reset (&p->disks);
    hv_plan_nic_vec_reset (&p->nics);
    hv_str_vec_free (&p->notes);
}

static int
plan_cpu_memory (struct hv_plan *p)
{
    const struct hv_vm *vm = p->vm;
    const struct hv_netmap *m = p->def->map;
    unsigned cores = m && m->cores_per_socket ? m->cores_per_socket : 0;

    p->vcpus = p->def->vcpus ? p->def->vcpus : m && m->vcpus ? m->vcpus :
        vm->vcpus;
    p->memory_mib = p->def->memory_mib ? p->def->memory_mib :
        m && m->memory_mib ? m->memory_mib : vm->memory_mib;
    if (p->vcpus == 0 || p->vcpus > HV_MAX_VCPUS) {
        return set_error (EINVAL, "%u vCPUs is out of range (1 to %d)",
                          p->vcpus, HV_MAX_VCPUS);
    }
    if (cores == 0) {
        cores = p->vcpus == vm->vcpus ? vm->cores_per_socket : 1;
    }
    if (cores == 0 || p->vcpus % cores != 0) {
        cores = 1;
    }
    p->cores = cores;
    p->sockets = p->vcpus / cores;
    return 0;
}

static int
plan_format (struct hv_plan *p)
{
    enum hv_target t = p->def->target;
    const char *f = p->def->disk_format;

    if (f == NULL && p->def->map) {
        f = p->def->map->disk_format[t];
    }
    p->format = f ? f : plan_default_format[t];
    if ((t == HV_TARGET_HYPERV && strcmp (p->format, "vhdx") != 0) ||
        (t == HV_TARGET_KUBEVIRT && strcmp (p->format, "raw") != 0) ||
        ((t == HV_TARGET_LIBVIRT || t == HV_TARGET_PROXMOX) &&
         strcmp (p->format, "qcow2") != 0 && strcmp (p->format, "raw") != 0)) {
        return set_error (EINVAL, "disk format '%s' does not suit this "
                          "target (Hyper-V: vhdx; libvirt, Proxmox: qcow2 or "
                          "raw; KubeVirt: raw)", p->format);
    }
    return 0;
}

/* Target bus for one disk; *next counts units per bus. */
static const char *
plan_bus (struct hv_plan *p, bool boot, unsigned *unit, unsigned *ctrl)
{
    enum hv_bus_choice c = p->def->map ? p->def->map->disk_bus :
        HV_CHOICE_AUTO;
    unsigned *n = p->next_unit;
    const char *bus;

    *ctrl = 0;
    if (p->def->target == HV_TARGET_HYPERV) {
        if (boot && p->vm->firmware == HV_FW_BIOS) {
            *unit = 0;
            return "ide";
        }
        *unit = n[0]++;
        *ctrl = *unit / 64;
        *unit %= 64;
        return "scsi";
    }
    if (c == HV_CHOICE_AUTO) {
        c = p->os == HV_OS_WINDOWS ? HV_CHOICE_SATA :
            p->def->target == HV_TARGET_PROXMOX ? HV_CHOICE_SCSI :
            HV_CHOICE_VIRTIO;
    }
    bus = c == HV_CHOICE_SATA ? "sata" : c == HV_CHOICE_SCSI ? "scsi" :
        "virtio";
    /* Proxmox has sata0..sata5 only: later disks go to SCSI. */
    if (p->def->target == HV_TARGET_PROXMOX && c == HV_CHOICE_SATA &&
        n[1] >= 6) {
        bus = "scsi";
        c = HV_CHOICE_SCSI;
    }
    *unit = n[c == HV_CHOICE_SATA ? 1 : c == HV_CHOICE_SCSI ? 2 : 3]++;
    return bus;
}

static char *
plan_kube_pvc (const struct hv_plan *p, const char *target_name)
{
    struct sbuf b;

    vs_sbuf_init (&b, 256);
    hv_dns_label (&b, p->vm->name, 40);
    vs_sbuf_addch (&b, '-');
    hv_dns_label (&b, target_name, 22);
    return vs_sbuf_detach (&b, NULL);
}

static int
plan_disk_names (struct hv_plan *p, struct hv_plan_disk *pd, size_t n)
{
    const struct hv_disk *d = &p->vm->disks.ptr[pd->src];
    const char *ext = strcmp (p->format, "raw") == 0 ? "raw" : p->format;
    const char *dir = p->disk_dir;
    int r = 0;

    switch (p->def->target) {
    case HV_TARGET_PROXMOX:
        r = asprintf (&pd->file, "vm-%u-disk-%zu.%s", p->def->vmid, n, ext);
        if (r >= 0) {
            r = asprintf (&pd->path, "%s:%u/%s", dir, p->def->vmid, pd->file);
        }
        break;
    case HV_TARGET_KUBEVIRT:
        pd->file = strdup ("disk.img");
        pd->path = plan_kube_pvc (p, d->target_name);
        r = pd->file && pd->path ? 0 : -1;
        break;
    default:
        r = asprintf (&pd->file, "%s.%s", d->target_name, ext);
        if (r >= 0) {
            size_t l = dir ? strlen (dir) : 0;

            r = asprintf (&pd->path, "%s%s%s", dir ? dir : "",
                          l && dir[l - 1] != '/' ? "/" : "", pd->file);
        }
        break;
    }
    return r < 0 ? set_error (ENOMEM, "out of memory") : 0;
}

static int
plan_one_disk (struct hv_plan *p, size_t src, bool boot)
{
    struct hv_plan_disk pd = { .src = src, .boot = boot };
    const struct hv_disk *d = &p->vm->disks.ptr[src];
    int r;

    if (d->rdm) {
        return hv_plan_note (p, "disk %s%u:%u ('%s') is a raw device mapping "
                          "and is left out", hv_bus_name (d->bus), d->ctrl,
                          d->unit, d->file);
    }
    pd.bus = plan_bus (p, boot, &pd.unit, &pd.ctrl);
    if (p->def->target == HV_TARGET_HYPERV && pd.ctrl > 3) {
        return set_error (EINVAL, "more disks than Hyper-V's 4 SCSI "
                          "controllers hold");
    }
    r = plan_disk_names (p, &pd, p->disks.len);
    if (r == 0 && hv_plan_disk_vec_append (&p->disks, pd) < 0) {
        r = -ENOMEM;
    }
    if (r < 0) {
        free (pd.file);
        free (pd.path);
    }
    return r;
}

static int
plan_disks (struct hv_plan *p)
{
    const struct hv_vm *vm = p->vm;
    size_t boot = hv_vm_boot_disk (vm);
    int r;

    if (boot != (size_t) -1 && (r = plan_one_disk (p, boot, true)) < 0) {
        return r;
    }
    for (size_t i = 0; i < vm->disks.len; i++) {
        const struct hv_disk *d = &vm->disks.ptr[i];

        if (d->kind == HV_DEV_CDROM) {
            p->ncdrom = 1;
        }
        if (d->kind != HV_DEV_DISK || i == boot) {
            continue;
        }
        if ((r = plan_one_disk (p, i, false)) < 0) {
            return r;
        }
    }
    if (p->def->target == HV_TARGET_PROXMOX && p->os == HV_OS_WINDOWS &&
        p->disks.len > 6 &&
        hv_plan_note (p, "Proxmox has 6 SATA ports: disks after the sixth are "
                   "on VirtIO SCSI and need virtio-win in the guest") < 0) {
        return -ENOMEM;
    }
    return 0;
}

static const char *
plan_nic_model (const struct hv_plan *p)
{
    enum hv_bus_choice c = p->def->map ? p->def->map->nic_model :
        HV_CHOICE_AUTO;

    if (p->def->target == HV_TARGET_HYPERV) {
        return NULL;            /* synthetic adapter */
    }
    if (c == HV_CHOICE_AUTO) {
        c = p->os == HV_OS_WINDOWS ? HV_CHOICE_E1000E : HV_CHOICE_VIRTIO;
    }
    return c == HV_CHOICE_E1000E ? "e1000e" : "virtio";
}

static int
plan_nics (struct hv_plan *p)
{
    const struct hv_netmap *m = p->def->map;
    int retain = p->def->retain_mac >= 0 ? p->def->retain_mac :
        m && m->retain_mac > 0;

    for (size_t i = 0; i < p->vm->nics.len; i++) {
        const struct hv_nic *n = &p->vm->nics.ptr[i];
        const struct hv_netmap_entry *e = m ? hv_netmap_find (m, n->network) :
            NULL;
        struct hv_plan_nic pn = { .src = i };

        if (e == NULL) {
            return set_error (EINVAL, "ethernet%u is on network '%s', which "
                              "the network map does not name (add it, or "
                              "\"*\" for any other)", n->index, n->network);
        }
        pn.target = e->target;
        pn.vlan = e->vlan;
        pn.model = plan_nic_model (p);
        pn.mac = retain && n->mac[0];
        if (hv_plan_nic_vec_append (&p->nics, pn) < 0) {
            return -ENOMEM;
        }
    }
    return 0;
}

static int
plan_check_target (const struct hv_plan *p)
{
    const struct hv_define *d = p->def;

    if (d->target < HV_TARGET_HYPERV || d->target > HV_TARGET_KUBEVIRT) {
        return set_error (EINVAL, "unknown target %d", (int) d->target);
    }
    if (d->target == HV_TARGET_PROXMOX &&
        (d->vmid < 100 || d->vmid > 999999999)) {
        return set_error (EINVAL, "Proxmox needs a VM id from 100 to "
                          "999999999 (got %u)", d->vmid);
    }
    return 0;
}

int
hv_plan_build (const struct hv_vm *vm, const struct hv_define *def,
               struct hv_plan *out)
{
    static const char *const default_dir[] = {
        NULL, NULL, "/var/lib/libvirt/images", "local", NULL,
    };
    struct hv_plan p = { .vm = vm, .def = def };
    int r;

    p.os = hv_os_family (vm->guest_os);
    r = plan_check_target (&p);
    if (r == 0) {
        p.disk_dir = def->disk_path && *def->disk_path ? def->disk_path :
            default_dir[def->target];
        r = plan_cpu_memory (&p);
    }
    if (r == 0 && (r = plan_format (&p)) == 0 && (r = plan_disks (&p)) == 0) {
        r = plan_nics (&p);
    }
    if (r < 0) {
        hv_plan_release (&p);
        return r;
    }
    *out = p;
    return 0;
}

int
hv_define_emit (const struct hv_vm *vm, const struct hv_define *def,
                char **text, struct hv_str_vec *notes)
{
    static int (*const emit[]) (struct hv_plan *, struct sbuf *) = {
        NULL, hv_hyperv_emit, hv_libvirt_emit, hv_proxmox_emit,
        hv_kubevirt_emit,
    };
    struct hv_plan p;
    struct sbuf b;
    int r = hv_plan_build (vm, def, &p);

    if (r < 0) {
        return r;
    }
    vs_sbuf_init (&b, HV_TEXT_MAX);
    r = emit[def->target] (&p, &b);
    if (r == 0 && (*text = vs_sbuf_detach (&b, NULL)) == NULL) {
        r = -EFBIG;
    }
    vs_sbuf_release (&b);
    if (r == 0 && notes) {
        for (size_t i = 0; r == 0 && i < p.notes.len; i++) {
            if (hv_str_vec_append (notes, p.notes.ptr[i]) < 0) {
                r = -ENOMEM;
                break;
            }
            p.notes.ptr[i] = NULL;
        }
    }
    hv_plan_release (&p);
    return r;
}
