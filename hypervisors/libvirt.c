/* KVM/libvirt: a domain XML for the qemu driver (domain type 'kvm').
 *
 * q35 machine; EFI guests use libvirt's firmware auto-selection
 * (<os firmware='efi'>) with the secure-boot and enrolled-keys features
 * when VMware had secure boot on, which needs SMM.  Windows guests get
 * Hyper-V enlightenments, a localtime clock and (by the plan) SATA disks
 * and e1000e NICs for their first boot; Linux guests get virtio.  The
 * schema is libvirt's domain.rng: tests run virt-xml-validate and
 * 'virsh define' on the test:///default driver over every golden file.
 *
 * Map targets: "NAME" is a host bridge (<interface type='bridge'>),
 * "network:NAME" a libvirt network.  A test migration's NICs are on no
 * network: <interface type='ethernet'> without a target device (libvirt
 * makes a tap device that nothing is plugged into) and <link
 * state='down'/>, so the guest sees no carrier either (docs/blueprint.md,
 * "Test migrations").
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "hypervisors/hv.h"

/* libvirt disk names: a..z, aa..az, ... (index 0 = "a"). */
static void
lv_dev_name (struct sbuf *b, const char *prefix, unsigned idx)
{
    char s[8];
    int n = 0;

    do {
        s[n++] = (char) ('a' + idx % 26);
        idx = idx / 26;
    } while (idx-- > 0 && n < 7);
    vs_sbuf_addstr (b, prefix);
    while (n > 0) {
        vs_sbuf_addch (b, s[--n]);
    }
}

static void
lv_attr (struct sbuf *b, const char *name, const char *val)
{
    vs_sbuf_printf (b, " %s='", name);
    hv_esc_xml (b, val);
    vs_sbuf_addch (b, '\'');
}

/* libvirt's schema (objectName) refuses '/' and newlines in a domain
 * name, and libvirt refuses control characters: those become '_'.  The
 * name as VMware had it stays in <description>. */
static void
lv_name (struct sbuf *b, const char *name)
{
    char *n = strdup (name);

    if (n == NULL) {
        b->err = b->err ? b->err : -ENOMEM;
        return;
    }
    for (char *p = n; *p; p++) {
        if ((unsigned char) *p < 0x20 || *p == 0x7f || *p == '/') {
            *p = '_';
        }
    }
    hv_esc_xml (b, n);
    free (n);
}

static void
lv_head (const struct hv_plan *p, struct sbuf *b)
{
    const struct hv_vm *vm = p->vm;

    vs_sbuf_addstr (b, "<domain type='kvm'>\n  <name>");
    lv_name (b, vm->name);
    vs_sbuf_addstr (b, "</name>\n");
    if (vm->uuid_bios[0]) {
        vs_sbuf_printf (b, "  <uuid>%s</uuid>\n", vm->uuid_bios);
    }
    if (vm->genid[0]) {
        vs_sbuf_printf (b, "  <genid>%s</genid>\n", vm->genid);
    }
    vs_sbuf_addstr (b, "  <description>Converted by vmshift from VMware VM '");
    hv_esc_xml (b, vm->name);
    vs_sbuf_addstr (b, "' (guest OS ");
    hv_esc_xml (b, vm->guest_os);
    vs_sbuf_addstr (b, ")");
    if (vm->annotation) {
        vs_sbuf_addstr (b, ": ");
        hv_esc_xml (b, vm->annotation);
    }
    vs_sbuf_addstr (b, "</description>\n");
    vs_sbuf_printf (b, "  <memory unit='MiB'>%" PRIu64 "</memory>\n"
                 "  <currentMemory unit='MiB'>%" PRIu64 "</currentMemory>\n"
                 "  <vcpu placement='static'>%u</vcpu>\n", p->memory_mib,
                 p->memory_mib, p->vcpus);
}

static void
lv_os (const struct hv_plan *p, struct sbuf *b)
{
    bool efi = p->vm->firmware == HV_FW_EFI, sb = p->vm->secure_boot;

    vs_sbuf_addstr (b, efi ? "  <os firmware='efi'>\n" : "  <os>\n");
    vs_sbuf_addstr (b, "    <type arch='x86_64' machine='q35'>hvm</type>\n");
    if (efi) {
        vs_sbuf_printf (b, "    <firmware>\n"
                     "      <feature enabled='%s' name='enrolled-keys'/>\n"
                     "      <feature enabled='%s' name='secure-boot'/>\n"
                     "    </firmware>\n", sb ? "yes" : "no",
                     sb ? "yes" : "no");
        if (sb) {
            vs_sbuf_addstr (b, "    <loader secure='yes'/>\n");
        }
    }
    vs_sbuf_addstr (b, "  </os>\n  <features>\n    <acpi/>\n    <apic/>\n");
    if (efi && sb) {
        vs_sbuf_addstr (b, "    <smm state='on'/>\n");
    }
    if (p->os == HV_OS_WINDOWS) {
        vs_sbuf_addstr (b, "    <hyperv mode='custom'>\n"
                     "      <relaxed state='on'/>\n"
                     "      <vapic state='on'/>\n"
                     "      <spinlocks state='on' retries='8191'/>\n"
                     "    </hyperv>\n");
    }
    vs_sbuf_addstr (b, "  </features>\n");
}

static void
lv_cpu_clock (const struct hv_plan *p, struct sbuf *b)
{
    bool win = p->os == HV_OS_WINDOWS;

    vs_sbuf_printf (b, "  <cpu mode='host-model' check='partial'>\n"
                 "    <topology sockets='%u' dies='1' cores='%u' "
                 "threads='1'/>\n  </cpu>\n", p->sockets, p->cores);
    vs_sbuf_printf (b, "  <clock offset='%s'>\n"
                 "    <timer name='rtc' tickpolicy='catchup'/>\n"
                 "    <timer name='pit' tickpolicy='delay'/>\n"
                 "    <timer name='hpet' present='no'/>\n%s"
                 "  </clock>\n", win ? "localtime" : "utc",
                 win ? "    <timer name='hypervclock' present='yes'/>\n" : "");
    vs_sbuf_addstr (b, "  <on_poweroff>destroy</on_poweroff>\n"
                 "  <on_reboot>restart</on_reboot>\n"
                 "  <on_crash>destroy</on_crash>\n");
}

static void
lv_disks (const struct hv_plan *p, struct sbuf *b)
{
    unsigned nsd = 0, nvd = 0;
    bool scsi = false;

    for (size_t i = 0; i < p->disks.len; i++) {
        const struct hv_plan_disk *d = &p->disks.ptr[i];
        bool virtio = strcmp (d->bus, "virtio") == 0;

        vs_sbuf_printf (b, "    <disk type='file' device='disk'>\n"
                     "      <driver name='qemu' type='%s'/>\n"
                     "      <source", p->format);
        lv_attr (b, "file", d->path);
        vs_sbuf_addstr (b, "/>\n      <target dev='");
        lv_dev_name (b, virtio ? "vd" : "sd", virtio ? nvd++ : nsd++);
        vs_sbuf_printf (b, "' bus='%s'/>\n", d->bus);
        if (d->boot) {
            vs_sbuf_addstr (b, "      <boot order='1'/>\n");
        }
        vs_sbuf_addstr (b, "    </disk>\n");
        scsi = scsi || strcmp (d->bus, "scsi") == 0;
    }
    if (p->ncdrom) {
        vs_sbuf_addstr (b, "    <disk type='file' device='cdrom'>\n"
                     "      <driver name='qemu' type='raw'/>\n"
                     "      <target dev='");
        lv_dev_name (b, "sd", nsd);
        vs_sbuf_addstr (b, "' bus='sata'/>\n      <readonly/>\n    </disk>\n");
    }
    if (scsi) {
        vs_sbuf_addstr (b, "    <controller type='scsi' index='0' "
                     "model='virtio-scsi'/>\n");
    }
}

static void
lv_nics (const struct hv_plan *p, struct sbuf *b)
{
    for (size_t i = 0; i < p->nics.len; i++) {
        const struct hv_plan_nic *n = &p->nics.ptr[i];
        bool net = n->target && strncmp (n->target, "network:", 8) == 0;

        vs_sbuf_printf (b, "    <interface type='%s'>\n", !n->target
                        ? "ethernet" : net ? "network" : "bridge");
        if (n->mac) {
            vs_sbuf_printf (b, "      <mac address='%s'/>\n",
                         p->vm->nics.ptr[n->src].mac);
        }
        if (!n->target) {
            vs_sbuf_printf (b, "      <model type='%s'/>\n"
                            "      <link state='down'/>\n"
                            "    </interface>\n", n->model);
            continue;
        }
        vs_sbuf_addstr (b, "      <source");
        lv_attr (b, net ? "network" : "bridge", net ? n->target + 8 :
                 n->target);
        vs_sbuf_addstr (b, "/>\n");
        if (n->vlan) {
            vs_sbuf_printf (b, "      <vlan>\n        <tag id='%d'/>\n"
                         "      </vlan>\n", n->vlan);
        }
        vs_sbuf_printf (b, "      <model type='%s'/>\n    </interface>\n",
                     n->model);
    }
}

static void
lv_other_devices (const struct hv_plan *p, struct sbuf *b)
{
    bool win = p->os == HV_OS_WINDOWS;

    if (p->vm->vtpm) {
        vs_sbuf_addstr (b, "    <tpm model='tpm-crb'>\n"
                     "      <backend type='emulator' version='2.0'/>\n"
                     "    </tpm>\n");
    }
    vs_sbuf_printf (b, "    <graphics type='vnc' port='-1' autoport='yes'/>\n"
                 "    <video>\n      <model type='%s'/>\n    </video>\n"
                 "    <input type='tablet' bus='usb'/>\n"
                 "    <channel type='unix'>\n"
                 "      <target type='virtio' "
                 "name='org.qemu.guest_agent.0'/>\n"
                 "    </channel>\n"
                 "    <serial type='pty'/>\n"
                 "    <console type='pty'/>\n"
                 "    <memballoon model='virtio'/>\n"
                 "    <rng model='virtio'>\n"
                 "      <backend model='random'>/dev/urandom</backend>\n"
                 "    </rng>\n", win ? "vga" : "virtio");
}

/* libvirt's schema: bridge names are deviceName ([a-zA-Z0-9_.:/\\-]+,
 * of which we allow no slash or backslash); network names cannot hold
 * '/'. */
static int
lv_check_targets (const struct hv_plan *p)
{
    for (size_t i = 0; i < p->nics.len; i++) {
        const char *t = p->nics.ptr[i].target;
        bool net, ok;
        const char *s;

        if (!t) {
            continue;
        }
        net = strncmp (t, "network:", 8) == 0;
        s = net ? t + 8 : t;
        ok = *s != '\0';

        for (const char *c = s; ok && *c; c++) {
            ok = net ? *c != '/' : (isalnum ((unsigned char) *c) ||
                                    strchr ("_.:-", *c) != NULL);
        }
        if (!ok) {
            return set_error (EINVAL, "network map target '%s' is not a "
                              "libvirt %s name", t, net ? "network" :
                              "bridge ([-_.:A-Za-z0-9])");
        }
    }
    return 0;
}

static int
lv_notes (struct hv_plan *p)
{
    for (size_t i = 0; i < p->nics.len; i++) {
        const struct hv_plan_nic *n = &p->nics.ptr[i];

        if (n->vlan == 0 || !n->target ||
            strncmp (n->target, "network:", 8) == 0) {
            continue;
        }
        if (hv_plan_note (p, "ethernet%u: a VLAN tag on bridge '%s' needs "
                          "an Open vSwitch bridge; on a Linux bridge map to "
                          "a VLAN bridge or a libvirt network instead",
                          p->vm->nics.ptr[n->src].index, n->target) < 0) {
            return -ENOMEM;
        }
    }
    return 0;
}

int
hv_libvirt_emit (struct hv_plan *p, struct sbuf *b)
{
    if (lv_check_targets (p) < 0) {
        return -EINVAL;
    }
    lv_head (p, b);
    lv_os (p, b);
    lv_cpu_clock (p, b);
    vs_sbuf_addstr (b, "  <devices>\n");
    lv_disks (p, b);
    lv_nics (p, b);
    lv_other_devices (p, b);
    vs_sbuf_addstr (b, "  </devices>\n</domain>\n");
    if (lv_notes (p) < 0) {
        return -ENOMEM;
    }
    return b->err;
}

static const char *const libvirt_aliases[] = { "kvm", NULL };
static const char *const libvirt_formats[] = { "qcow2", "raw", NULL };

const struct hv_target_driver hv_libvirt_target = {
    .id = HV_TARGET_LIBVIRT,
    .name = "libvirt",
    .aliases = libvirt_aliases,
    .title = "libvirt",
    .default_format = "qcow2",
    .formats = libvirt_formats,
    .default_dir = "/var/lib/libvirt/images",
    .fixed_bus = HV_CHOICE_AUTO,
    .default_bus = HV_CHOICE_VIRTIO,
    .efi = true, .secure_boot = true, .vtpm = true,
    .emit = hv_libvirt_emit,
};
