/* KubeVirt / OpenShift Virtualization: a VirtualMachine plus one
 * PersistentVolumeClaim per disk, as YAML documents or one JSON v1 List.
 *
 * Each disk is a raw "disk.img" in a filesystem-mode PVC named
 * <vm>-<disk> (KubeVirt's rule for PVC disks: docs/filesystem-pv-disks).
 * When --disk-path is nfs://SERVER/PATH, a PersistentVolume per disk
 * points at SERVER:PATH/<pvc>/disk.img and the PVC binds to it; otherwise
 * the PVCs are left to the storage's import (Trident 'tridentctl import
 * volume' takes exactly such a PVC file).
 *
 * Networks: a map target "pod" is the pod network (masquerade binding);
 * any other target is a Multus NetworkAttachmentDefinition
 * ("namespace/name" or "name"), bridge binding.  Shape checked against
 * virt-v2v's -o kubevirt expected output in the corpus.  A KubeVirt
 * interface always belongs to a network, so a test migration's NICs (on
 * no network) are left out, with autoattachPodInterface: false so that
 * KubeVirt adds no pod network either, and a note per NIC.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "hypervisors/docw.h"
#include "hypervisors/hv.h"

#define KV_MIB (UINT64_C (1) << 20)

struct kv_ctx {
    struct hv_plan *p;
    struct docw w;
    char name[64];
    char nfs_server[256];
    const char *nfs_path;
};

static void
kv_quantity_mib (char out[32], uint64_t bytes)
{
    snprintf (out, 32, "%" PRIu64 "Mi", (bytes + KV_MIB - 1) / KV_MIB);
}

static void
kv_meta (struct kv_ctx *c, const char *name)
{
    hv_docw_map (&c->w, "metadata");
    hv_docw_str (&c->w, "name", name);
    if (c->p->def->namespace_) {
        hv_docw_str (&c->w, "namespace", c->p->def->namespace_);
    }
}

static void
kv_pv (struct kv_ctx *c, const struct hv_plan_disk *d, const char *size)
{
    char path[4096];

    snprintf (path, sizeof path, "%s%s%s", c->nfs_path,
              c->nfs_path[strlen (c->nfs_path) - 1] == '/' ? "" : "/",
              d->path);
    hv_docw_map (&c->w, NULL);
    hv_docw_str (&c->w, "apiVersion", "v1");
    hv_docw_str (&c->w, "kind", "PersistentVolume");
    hv_docw_map (&c->w, "metadata");
    hv_docw_str (&c->w, "name", d->path);
    hv_docw_end (&c->w);
    hv_docw_map (&c->w, "spec");
    hv_docw_map (&c->w, "capacity");
    hv_docw_str (&c->w, "storage", size);
    hv_docw_end (&c->w);
    hv_docw_seq (&c->w, "accessModes");
    hv_docw_str (&c->w, NULL, "ReadWriteMany");
    hv_docw_end (&c->w);
    hv_docw_str (&c->w, "persistentVolumeReclaimPolicy", "Retain");
    hv_docw_str (&c->w, "storageClassName", "");
    hv_docw_str (&c->w, "volumeMode", "Filesystem");
    hv_docw_map (&c->w, "nfs");
    hv_docw_str (&c->w, "server", c->nfs_server);
    hv_docw_str (&c->w, "path", path);
    hv_docw_end (&c->w);
    hv_docw_map (&c->w, "claimRef");
    hv_docw_str (&c->w, "name", d->path);
    hv_docw_str (&c->w, "namespace", c->p->def->namespace_ ?
              c->p->def->namespace_ : "default");
    hv_docw_end (&c->w);
    hv_docw_end (&c->w);
    hv_docw_end (&c->w);
}

static void
kv_pvc (struct kv_ctx *c, const struct hv_plan_disk *d, const char *size)
{
    const struct hv_disk *s = &c->p->vm->disks.ptr[d->src];

    hv_docw_map (&c->w, NULL);
    hv_docw_str (&c->w, "apiVersion", "v1");
    hv_docw_str (&c->w, "kind", "PersistentVolumeClaim");
    kv_meta (c, d->path);
    hv_docw_map (&c->w, "annotations");
    hv_docw_str (&c->w, "vmshift/source-disk", s->file);
    hv_docw_str (&c->w, "vmshift/disk-file", d->file);
    hv_docw_end (&c->w);
    hv_docw_end (&c->w);
    hv_docw_map (&c->w, "spec");
    hv_docw_seq (&c->w, "accessModes");
    hv_docw_str (&c->w, NULL, c->nfs_path ? "ReadWriteMany" : "ReadWriteOnce");
    hv_docw_end (&c->w);
    hv_docw_str (&c->w, "volumeMode", "Filesystem");
    hv_docw_map (&c->w, "resources");
    hv_docw_map (&c->w, "requests");
    hv_docw_str (&c->w, "storage", size);
    hv_docw_end (&c->w);
    hv_docw_end (&c->w);
    if (c->nfs_path) {
        hv_docw_str (&c->w, "storageClassName", "");
        hv_docw_str (&c->w, "volumeName", d->path);
    }
    hv_docw_end (&c->w);
    hv_docw_end (&c->w);
}

static void
kv_firmware (struct kv_ctx *c)
{
    const struct hv_vm *vm = c->p->vm;

    hv_docw_map (&c->w, "firmware");
    if (vm->uuid_bios[0]) {
        hv_docw_str (&c->w, "uuid", vm->uuid_bios);
    }
    hv_docw_map (&c->w, "bootloader");
    if (vm->firmware == HV_FW_EFI) {
        hv_docw_map (&c->w, "efi");
        hv_docw_bool (&c->w, "secureBoot", vm->secure_boot);
        hv_docw_end (&c->w);
    } else {
        hv_docw_empty (&c->w, "bios");
    }
    hv_docw_end (&c->w);
    hv_docw_end (&c->w);
    hv_docw_map (&c->w, "features");
    hv_docw_empty (&c->w, "acpi");
    if (vm->firmware == HV_FW_EFI && vm->secure_boot) {
        hv_docw_map (&c->w, "smm");
        hv_docw_bool (&c->w, "enabled", true);
        hv_docw_end (&c->w);
    }
    if (c->p->os == HV_OS_WINDOWS) {
        hv_docw_map (&c->w, "hyperv");
        hv_docw_empty (&c->w, "relaxed");
        hv_docw_empty (&c->w, "vapic");
        hv_docw_map (&c->w, "spinlocks");
        hv_docw_u64 (&c->w, "spinlocks", 8191);
        hv_docw_end (&c->w);
        hv_docw_end (&c->w);
    }
    hv_docw_end (&c->w);
}

static void
kv_clock (struct kv_ctx *c)
{
    if (c->p->os != HV_OS_WINDOWS) {
        return;
    }
    hv_docw_map (&c->w, "clock");
    hv_docw_empty (&c->w, "utc");
    hv_docw_map (&c->w, "timer");
    hv_docw_map (&c->w, "hpet");
    hv_docw_bool (&c->w, "present", false);
    hv_docw_end (&c->w);
    hv_docw_empty (&c->w, "hyperv");
    hv_docw_map (&c->w, "pit");
    hv_docw_str (&c->w, "tickPolicy", "delay");
    hv_docw_end (&c->w);
    hv_docw_map (&c->w, "rtc");
    hv_docw_str (&c->w, "tickPolicy", "catchup");
    hv_docw_end (&c->w);
    hv_docw_end (&c->w);
    hv_docw_end (&c->w);
}

/* NICs on a network (a test migration's are on none) */
static size_t
kv_attached (const struct hv_plan *p)
{
    size_t n = 0;

    for (size_t i = 0; i < p->nics.len; i++) {
        n += p->nics.ptr[i].target != NULL;
    }
    return n;
}

static void
kv_devices (struct kv_ctx *c)
{
    struct hv_plan *p = c->p;
    char name[32];

    hv_docw_map (&c->w, "devices");
    if (p->disks.len) {
        hv_docw_seq (&c->w, "disks");
        for (size_t i = 0; i < p->disks.len; i++) {
            snprintf (name, sizeof name, "disk-%zu", i);
            hv_docw_map (&c->w, NULL);
            hv_docw_str (&c->w, "name", name);
            if (p->disks.ptr[i].boot) {
                hv_docw_u64 (&c->w, "bootOrder", 1);
            }
            hv_docw_map (&c->w, "disk");
            hv_docw_str (&c->w, "bus", p->disks.ptr[i].bus);
            hv_docw_end (&c->w);
            hv_docw_end (&c->w);
        }
        hv_docw_end (&c->w);
    }
    if (kv_attached (p)) {
        hv_docw_seq (&c->w, "interfaces");
        for (size_t i = 0; i < p->nics.len; i++) {
            const struct hv_plan_nic *n = &p->nics.ptr[i];

            if (!n->target) {
                continue;
            }
            snprintf (name, sizeof name, "net-%zu", i);
            hv_docw_map (&c->w, NULL);
            hv_docw_str (&c->w, "name", name);
            hv_docw_empty (&c->w, strcmp (n->target, "pod") == 0 ?
                        "masquerade" : "bridge");
            hv_docw_str (&c->w, "model", n->model);
            if (n->mac) {
                hv_docw_str (&c->w, "macAddress", p->vm->nics.ptr[n->src].mac);
            }
            hv_docw_end (&c->w);
        }
        hv_docw_end (&c->w);
    }
    if (kv_attached (p) < p->nics.len) {
        hv_docw_bool (&c->w, "autoattachPodInterface", false);
    }
    if (p->vm->vtpm) {
        hv_docw_empty (&c->w, "tpm");
    }
    hv_docw_end (&c->w);
}

static void
kv_domain (struct kv_ctx *c)
{
    char mem[32];

    snprintf (mem, sizeof mem, "%" PRIu64 "Mi", c->p->memory_mib);
    hv_docw_map (&c->w, "domain");
    hv_docw_map (&c->w, "cpu");
    hv_docw_u64 (&c->w, "sockets", c->p->sockets);
    hv_docw_u64 (&c->w, "cores", c->p->cores);
    hv_docw_u64 (&c->w, "threads", 1);
    hv_docw_end (&c->w);
    hv_docw_map (&c->w, "memory");
    hv_docw_str (&c->w, "guest", mem);
    hv_docw_end (&c->w);
    hv_docw_map (&c->w, "resources");
    hv_docw_map (&c->w, "requests");
    hv_docw_str (&c->w, "memory", mem);
    hv_docw_end (&c->w);
    hv_docw_end (&c->w);
    kv_firmware (c);
    kv_clock (c);
    kv_devices (c);
    hv_docw_end (&c->w);
}

static void
kv_networks_volumes (struct kv_ctx *c)
{
    struct hv_plan *p = c->p;
    char name[32];

    if (kv_attached (p)) {
        hv_docw_seq (&c->w, "networks");
        for (size_t i = 0; i < p->nics.len; i++) {
            if (!p->nics.ptr[i].target) {
                continue;
            }
            snprintf (name, sizeof name, "net-%zu", i);
            hv_docw_map (&c->w, NULL);
            hv_docw_str (&c->w, "name", name);
            if (strcmp (p->nics.ptr[i].target, "pod") == 0) {
                hv_docw_empty (&c->w, "pod");
            } else {
                hv_docw_map (&c->w, "multus");
                hv_docw_str (&c->w, "networkName", p->nics.ptr[i].target);
                hv_docw_end (&c->w);
            }
            hv_docw_end (&c->w);
        }
        hv_docw_end (&c->w);
    }
    if (p->disks.len) {
        hv_docw_seq (&c->w, "volumes");
        for (size_t i = 0; i < p->disks.len; i++) {
            snprintf (name, sizeof name, "disk-%zu", i);
            hv_docw_map (&c->w, NULL);
            hv_docw_str (&c->w, "name", name);
            hv_docw_map (&c->w, "persistentVolumeClaim");
            hv_docw_str (&c->w, "claimName", p->disks.ptr[i].path);
            hv_docw_end (&c->w);
            hv_docw_end (&c->w);
        }
        hv_docw_end (&c->w);
    }
}

static void
kv_vm (struct kv_ctx *c)
{
    const struct hv_vm *vm = c->p->vm;

    hv_docw_map (&c->w, NULL);
    hv_docw_str (&c->w, "apiVersion", "kubevirt.io/v1");
    hv_docw_str (&c->w, "kind", "VirtualMachine");
    kv_meta (c, c->name);
    hv_docw_map (&c->w, "annotations");
    hv_docw_str (&c->w, "vmshift/source-name", vm->name);
    hv_docw_str (&c->w, "vmshift/guest-os", vm->guest_os);
    hv_docw_end (&c->w);
    hv_docw_end (&c->w);
    hv_docw_map (&c->w, "spec");
    hv_docw_str (&c->w, "runStrategy", "Halted");
    hv_docw_map (&c->w, "template");
    hv_docw_map (&c->w, "metadata");
    hv_docw_map (&c->w, "labels");
    hv_docw_str (&c->w, "kubevirt.io/domain", c->name);
    hv_docw_end (&c->w);
    hv_docw_end (&c->w);
    hv_docw_map (&c->w, "spec");
    kv_domain (c);
    kv_networks_volumes (c);
    hv_docw_end (&c->w);
    hv_docw_end (&c->w);
    hv_docw_end (&c->w);
    hv_docw_end (&c->w);
}

/* nfs://server/path -> server and /path (no query string allowed). */
static int
kv_nfs (struct kv_ctx *c, const char *dir)
{
    const char *host = dir + 6, *slash = strchr (host, '/');

    if (slash == NULL || slash == host || strchr (dir, '?') ||
        (size_t) (slash - host) >= sizeof c->nfs_server) {
        return set_error (EINVAL, "'%s' is not nfs://SERVER/PATH", dir);
    }
    memcpy (c->nfs_server, host, (size_t) (slash - host));
    c->nfs_server[slash - host] = '\0';
    c->nfs_path = slash;
    return 0;
}

/* "pod", or a NetworkAttachmentDefinition "name" / "namespace/name":
 * DNS-1123 labels. */
static int
kv_check_targets (const struct hv_plan *p)
{
    for (size_t i = 0; i < p->nics.len; i++) {
        const char *t = p->nics.ptr[i].target;
        bool ok;

        if (!t) {
            continue;
        }
        ok = strlen (t) <= 253 && isalnum ((unsigned char) t[0]);

        for (const char *c = t; ok && *c; c++) {
            ok = (islower ((unsigned char) *c) || isdigit ((unsigned char) *c)
                  || *c == '-' || *c == '.' || *c == '/');
        }
        if (!ok) {
            return set_error (EINVAL, "network map target '%s' is not 'pod' "
                              "or a NetworkAttachmentDefinition name "
                              "([namespace/]name, lower case)", t);
        }
    }
    return 0;
}

static int
kv_setup (struct kv_ctx *c)
{
    struct hv_plan *p = c->p;
    struct sbuf nb;

    if (kv_check_targets (p) < 0) {
        return -EINVAL;
    }
    for (size_t i = 0; i < p->nics.len; i++) {
        if (!p->nics.ptr[i].target &&
            hv_plan_note (p, "ethernet%u: left out (a test migration puts "
                          "NICs on no network, and a KubeVirt interface "
                          "always has one)",
                          p->vm->nics.ptr[p->nics.ptr[i].src].index) < 0) {
            return -ENOMEM;
        }
    }
    for (size_t i = 0; i < p->disks.len; i++) {
        const struct hv_disk *s = &p->vm->disks.ptr[p->disks.ptr[i].src];

        if (s->capacity == 0) {
            return set_error (EINVAL, "disk '%s': size unknown (its VMDK "
                              "descriptor was not readable beside the "
                              ".vmx), and a KubeVirt PVC needs it", s->file);
        }
    }
    if (p->disk_dir && strncmp (p->disk_dir, "nfs://", 6) == 0 &&
        kv_nfs (c, p->disk_dir) < 0) {
        return -EINVAL;
    }
    vs_sbuf_init (&nb, sizeof c->name);
    hv_dns_label (&nb, p->vm->name, 63);
    if (nb.err) {
        vs_sbuf_release (&nb);
        return set_error (ENOMEM, "out of memory");
    }
    snprintf (c->name, sizeof c->name, "%s", nb.data);
    vs_sbuf_release (&nb);
    return 0;
}

static void
kv_objects (struct kv_ctx *c, bool json)
{
    for (size_t i = 0; i < c->p->disks.len; i++) {
        const struct hv_plan_disk *d = &c->p->disks.ptr[i];
        char size[32];

        kv_quantity_mib (size, c->p->vm->disks.ptr[d->src].capacity);
        if (c->nfs_path) {
            kv_pv (c, d, size);
            vs_sbuf_addstr (c->w.b, json ? "" : "---\n");
        }
        kv_pvc (c, d, size);
        vs_sbuf_addstr (c->w.b, json ? "" : "---\n");
    }
    kv_vm (c);
}

int
hv_kubevirt_emit (struct hv_plan *p, struct sbuf *b)
{
    struct kv_ctx c = { .p = p };
    bool json = p->def->json;
    int r = kv_setup (&c);

    if (r < 0) {
        return r;
    }
    hv_docw_init (&c.w, b, json);
    if (json) {
        vs_jw_obj_begin (&c.w.jw);
        vs_jw_kv_str (&c.w.jw, "apiVersion", "v1");
        vs_jw_kv_str (&c.w.jw, "kind", "List");
        vs_jw_key (&c.w.jw, "items");
        vs_jw_arr_begin (&c.w.jw);
    } else {
        vs_sbuf_addstr (b, "# KubeVirt definition of VMware VM '");
        hv_esc_comment (b, p->vm->name);
        vs_sbuf_printf (b, "', written by vmshift %s\n---\n",
                     p->def->version ? p->def->version : "");
    }
    kv_objects (&c, json);
    if (json) {
        vs_jw_arr_end (&c.w.jw);
        vs_jw_obj_end (&c.w.jw);
        vs_sbuf_addch (b, '\n');
    }
    return b->err;
}

/* Each disk in a PVC <vm>-<disk> (DNS labels) as disk.img, as KubeVirt's
 * filesystem-mode PVCs expect. */
static int
kubevirt_disk_names (struct hv_plan *p, struct hv_plan_disk *pd, size_t n)
{
    const struct hv_disk *d = &p->vm->disks.ptr[pd->src];
    struct sbuf b;

    (void) n;
    vs_sbuf_init (&b, 256);
    hv_dns_label (&b, p->vm->name, 40);
    vs_sbuf_addch (&b, '-');
    hv_dns_label (&b, d->target_name, 22);
    pd->path = vs_sbuf_detach (&b, NULL);
    pd->file = strdup ("disk.img");
    return pd->file && pd->path ? 0 : set_error (ENOMEM, "out of memory");
}

static const char *const kubevirt_aliases[] = { "openshift", NULL };
static const char *const kubevirt_formats[] = { "raw", NULL };

const struct hv_target_driver hv_kubevirt_target = {
    .id = HV_TARGET_KUBEVIRT,
    .name = "kubevirt",
    .aliases = kubevirt_aliases,
    .title = "KubeVirt",
    .default_format = "raw",
    .formats = kubevirt_formats,
    .default_dir = NULL,
    .fixed_bus = HV_CHOICE_AUTO,
    .default_bus = HV_CHOICE_VIRTIO,
    .efi = true, .secure_boot = true, .vtpm = true,
    .disk_names = kubevirt_disk_names,
    .emit = hv_kubevirt_emit,
};
