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
#include <strings.h>

#include "engine/base/error.h"
#include "formats/formats.h"
#include "hypervisors/hv.h"

static const struct hv_target_driver *const plan_targets[] = {
#define HV_TARGET(id, value, driver) &driver,
#include "hypervisors/targets.def"
#undef HV_TARGET
    NULL,
};

const struct hv_target_driver *
hv_target_at (size_t i)
{
    return i < sizeof plan_targets / sizeof plan_targets[0] ? plan_targets[i]
                                                            : NULL;
}

const struct hv_target_driver *
hv_target_of (enum hv_target t)
{
    for (size_t i = 0; plan_targets[i]; i++) {
        if (plan_targets[i]->id == t) {
            return plan_targets[i];
        }
    }
    return NULL;
}

const struct hv_target_driver *
hv_target_by_name (const char *name)
{
    for (size_t i = 0; plan_targets[i]; i++) {
        const struct hv_target_driver *t = plan_targets[i];

        if (strcasecmp (name, t->name) == 0) {
            return t;
        }
        for (size_t a = 0; t->aliases && t->aliases[a]; a++) {
            if (strcasecmp (name, t->aliases[a]) == 0) {
                return t;
            }
        }
    }
    return NULL;
}

bool
hv_target_allows (const struct hv_target_driver *t, const char *fmt)
{
    for (size_t i = 0; t->formats[i]; i++) {
        if (strcmp (fmt, t->formats[i]) == 0) {
            return true;
        }
    }
    return false;
}

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
    const struct hv_target_driver *t = p->target;
    const char *f = p->def->disk_format;
    char list[128] = "";
    size_t n = 0;

    if (f == NULL && p->def->map) {
        f = p->def->map->disk_format[t->id];
    }
    p->format = f ? f : t->default_format;
    if (hv_target_allows (t, p->format)) {
        return 0;
    }
    while (t->formats[n]) {
        n++;
    }
    for (size_t i = 0; i < n; i++) {
        vs_str_list_add (list, sizeof list, i, n, "", t->formats[i]);
    }
    return set_error (EINVAL, "disk format '%s' does not suit this target "
                      "(%s takes %s)", p->format, t->title, list);
}

/* Target bus for one disk; p->next_unit counts units per bus. */
static const char *
plan_bus (struct hv_plan *p, bool boot, unsigned *unit, unsigned *ctrl)
{
    const struct hv_target_driver *t = p->target;
    enum hv_bus_choice c = p->def->map ? p->def->map->disk_bus :
        HV_CHOICE_AUTO;
    unsigned *n = p->next_unit;
    const char *bus;

    *ctrl = 0;
    if (t->ide_boot_on_bios && boot && p->vm->firmware == HV_FW_BIOS) {
        *unit = 0;
        return "ide";
    }
    if (t->fixed_bus != HV_CHOICE_AUTO) {
        c = t->fixed_bus;
    } else if (c == HV_CHOICE_AUTO) {
        c = p->os == HV_OS_WINDOWS ? HV_CHOICE_SATA : t->default_bus;
    }
    /* A target with few SATA ports puts later disks on SCSI. */
    if (c == HV_CHOICE_SATA && t->sata_ports && n[1] >= t->sata_ports) {
        c = HV_CHOICE_SCSI;
    }
    bus = c == HV_CHOICE_SATA ? "sata" : c == HV_CHOICE_SCSI ? "scsi" :
        "virtio";
    *unit = n[c == HV_CHOICE_SATA ? 1 : c == HV_CHOICE_SCSI ? 2 : 3]++;
    if (c == HV_CHOICE_SCSI && t->scsi_units) {
        *ctrl = *unit / t->scsi_units;
        *unit %= t->scsi_units;
    }
    return bus;
}

static int
plan_disk_names (struct hv_plan *p, struct hv_plan_disk *pd, size_t n)
{
    const struct hv_disk *d = &p->vm->disks.ptr[pd->src];
    const struct fmt_driver *f = fmt_driver_by_name (p->format);
    const char *ext = f ? f->extensions[0] : p->format;
    const char *dir = p->disk_dir;
    size_t l = dir ? strlen (dir) : 0;
    int r;

    if (p->target->disk_names) {
        return p->target->disk_names (p, pd, n);
    }
    r = asprintf (&pd->file, "%s.%s", d->target_name, ext);
    if (r >= 0) {
        r = asprintf (&pd->path, "%s%s%s", dir ? dir : "",
                      l && dir[l - 1] != '/' ? "/" : "", pd->file);
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
    if (p->target->scsi_controllers && pd.ctrl >= p->target->scsi_controllers) {
        return set_error (EINVAL, "disk %s%u:%u ('%s'): more SCSI disks than "
                          "%s takes (%u controller%s of %u)",
                          hv_bus_name (d->bus), d->ctrl, d->unit, d->file,
                          p->target->title, p->target->scsi_controllers,
                          p->target->scsi_controllers == 1 ? "" : "s",
                          p->target->scsi_units);
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
    if (p->target->sata_ports && p->os == HV_OS_WINDOWS &&
        p->disks.len > p->target->sata_ports &&
        hv_plan_note (p, "%s has %u SATA ports: disks after the first %u are "
                      "on VirtIO SCSI and need virtio-win in the guest",
                      p->target->title, p->target->sata_ports,
                      p->target->sata_ports) < 0) {
        return -ENOMEM;
    }
    return 0;
}

static const char *
plan_nic_model (const struct hv_plan *p)
{
    enum hv_bus_choice c = p->def->map ? p->def->map->nic_model :
        HV_CHOICE_AUTO;

    if (p->target->synthetic_nic) {
        return NULL;
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

        if (p->def->nics_unattached) {
            /* a test migration: no network, whatever the map says */
            pn.model = plan_nic_model (p);
            pn.mac = retain && n->mac[0];
            if (hv_plan_nic_vec_append (&p->nics, pn) < 0) {
                return -ENOMEM;
            }
            continue;
        }
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

/* Firmware the VM needs that the target cannot express is a note, not an
 * error: the guest may still boot after a change by hand. */
static int
plan_firmware (struct hv_plan *p)
{
    const struct hv_target_driver *t = p->target;
    const struct hv_vm *vm = p->vm;
    int r = 0;

    if (vm->firmware == HV_FW_EFI && !t->efi) {
        r = hv_plan_note (p, "%s definitions cannot say EFI firmware; the "
                          "guest boots with BIOS", t->title);
    }
    if (r == 0 && vm->secure_boot && !t->secure_boot) {
        r = hv_plan_note (p, "%s definitions cannot turn on Secure Boot",
                          t->title);
    }
    if (r == 0 && vm->vtpm && !t->vtpm) {
        r = hv_plan_note (p, "%s definitions cannot add a virtual TPM",
                          t->title);
    }
    return r;
}

int
hv_plan_build (const struct hv_vm *vm, const struct hv_define *def,
               struct hv_plan *out)
{
    struct hv_plan p = { .vm = vm, .def = def };
    int r = 0;

    p.os = hv_os_family (vm->guest_os);
    p.target = hv_target_of (def->target);
    if (p.target == NULL) {
        return set_error (EINVAL, "unknown target %d", (int) def->target);
    }
    if (p.target->check) {
        r = p.target->check (def);
    }
    if (r == 0) {
        p.disk_dir = def->disk_path && *def->disk_path ? def->disk_path :
            p.target->default_dir;
        r = plan_cpu_memory (&p);
    }
    if (r == 0 && (r = plan_format (&p)) == 0 && (r = plan_disks (&p)) == 0 &&
        (r = plan_nics (&p)) == 0) {
        r = plan_firmware (&p);
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
    struct hv_plan p;
    struct sbuf b;
    int r = hv_plan_build (vm, def, &p);

    if (r < 0) {
        return r;
    }
    vs_sbuf_init (&b, HV_TEXT_MAX);
    r = p.target->emit (&p, &b);
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
