/* From .vmx keys to the VM model.
 *
 * Keys read (facts from VMware-written files in the corpus and the
 * expected outputs of libvirt's vmx2xml and virt-v2v's -i vmx beside
 * them):
 *   displayName guestOS annotation virtualHW.version numvcpus
 *   cpuid.coresPerSocket memsize firmware uefi.secureBoot.enabled
 *   vtpm.present uuid.bios uuid.location vc.uuid vm.genid vm.genidX
 *   bios.hddOrder  scsiN.* sataN.* nvmeN.* (controllers)
 *   BUSn:m.present/fileName/deviceType/mode/startConnected/clientDevice
 *   ethernetN.present/virtualDev/networkName/dvs.portgroupId/
 *   connectionType/addressType/generatedAddress/address/startConnected
 * Defaults where a key is absent: 1 vCPU, 32 MiB (libvirt's), BIOS,
 * devices not present, NICs connected at power on.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "hypervisors/hv.h"

#define VMX_DEFAULT_MEMORY_MIB 32

struct vmx_slot {
    enum hv_bus bus;
    unsigned ctrl, unit;
    char prefix[24];            /* "scsi0:1" as written (lower case) */
};
DEFINE_VECTOR (vmx_slot_vec, struct vmx_slot);

static const struct {
    const char *name;
    enum hv_bus bus;
    unsigned max_ctrl, max_unit;
} vmx_buses[] = {
    { "scsi", HV_BUS_SCSI, 3, 63 },
    { "sata", HV_BUS_SATA, 3, 29 },
    { "nvme", HV_BUS_NVME, 3, 63 },
    { "ide", HV_BUS_IDE, 1, 1 },
};

/* Parse up to 3 decimal digits at *p, advancing it. */
static bool
vmx_small_num (const char **p, unsigned *out)
{
    unsigned v = 0, n = 0;

    while (**p >= '0' && **p <= '9' && n < 4) {
        v = v * 10 + (unsigned) (**p - '0');
        (*p)++;
        n++;
    }
    *out = v;
    return n > 0 && n <= 3;
}

/* "scsi0:1.filename" -> bus/ctrl/unit and the prefix length. */
static int
vmx_slot_of_key (const char *lkey, struct vmx_slot *s)
{
    for (size_t i = 0; i < sizeof vmx_buses / sizeof vmx_buses[0]; i++) {
        size_t n = strlen (vmx_buses[i].name);
        const char *p = lkey + n;

        if (strncmp (lkey, vmx_buses[i].name, n) != 0) {
            continue;
        }
        if (!vmx_small_num (&p, &s->ctrl) || *p++ != ':' ||
            !vmx_small_num (&p, &s->unit) || *p != '.') {
            return 0;
        }
        if ((size_t) (p - lkey) >= sizeof s->prefix) {
            return 0;
        }
        s->bus = vmx_buses[i].bus;
        memcpy (s->prefix, lkey, (size_t) (p - lkey));
        s->prefix[p - lkey] = '\0';
        return 1;
    }
    return 0;
}

static int
vmx_slot_add (struct hv_vm *vm, struct vmx_slot_vec *v,
              const struct vmx_slot *s)
{
    for (size_t i = 0; i < v->len; i++) {
        struct vmx_slot *o = &v->ptr[i];

        if (strcmp (o->prefix, s->prefix) == 0) {
            return 0;
        }
        if (o->bus == s->bus && o->ctrl == s->ctrl && o->unit == s->unit) {
            return hv_vm_warn (vm, "duplicate disk slot %s%u:%u (written as "
                               "'%s' and '%s'); '%s' is ignored",
                               hv_bus_name (s->bus), s->ctrl, s->unit,
                               o->prefix, s->prefix, s->prefix);
        }
    }
    return vmx_slot_vec_append (v, *s);
}

static bool
vmx_slot_in_range (const struct vmx_slot *s)
{
    for (size_t i = 0; i < sizeof vmx_buses / sizeof vmx_buses[0]; i++) {
        if (vmx_buses[i].bus == s->bus) {
            return s->ctrl <= vmx_buses[i].max_ctrl &&
                   s->unit <= vmx_buses[i].max_unit;
        }
    }
    return false;
}

static enum hv_disk_mode
vmx_mode (const char *s)
{
    static const struct {
        const char *n;
        enum hv_disk_mode m;
    } modes[] = {
        { "persistent", HV_MODE_PERSISTENT },
        { "independent-persistent", HV_MODE_INDEP_PERSISTENT },
        { "independent-nonpersistent", HV_MODE_INDEP_NONPERSISTENT },
        { "nonpersistent", HV_MODE_NONPERSISTENT },
        { "undoable", HV_MODE_UNDOABLE },
        { "append", HV_MODE_APPEND },
    };

    for (size_t i = 0; s && i < sizeof modes / sizeof modes[0]; i++) {
        if (hv_str_ieq (s, modes[i].n)) {
            return modes[i].m;
        }
    }
    return HV_MODE_PERSISTENT;
}

/* deviceType -> kind; -1 for types that are not disks or CD-ROMs. */
static int
vmx_kind (const char *dt)
{
    if (dt == NULL || hv_str_ieq (dt, "scsi-hardDisk") ||
        hv_str_ieq (dt, "ata-hardDisk") || hv_str_ieq (dt, "disk") ||
        hv_str_ieq (dt, "plainDisk") || hv_str_ieq (dt, "rawDisk")) {
        return HV_DEV_DISK;
    }
    if (hv_str_ieq (dt, "cdrom-image") || hv_str_ieq (dt, "cdrom-raw") ||
        hv_str_ieq (dt, "atapi-cdrom")) {
        return HV_DEV_CDROM;
    }
    if (hv_str_ieq (dt, "scsi-passthru")) {
        return HV_DEV_PASSTHRU;
    }
    return -1;
}

static int
vmx_one_device (struct hv_vm *vm, const struct vmx_slot *s)
{
    const struct hv_vmx *x = &vm->vmx;
    const char *dt = hv_vmx_getf (x, "%s.deviceType", s->prefix);
    const char *fn = hv_vmx_getf (x, "%s.fileName", s->prefix);
    struct hv_disk d = { .bus = s->bus, .ctrl = s->ctrl, .unit = s->unit };
    int kind = vmx_kind (dt);

    if (!hv_vmx_bool (x, false, "%s.present", s->prefix)) {
        return 0;
    }
    if (!vmx_slot_in_range (s)) {
        return hv_vm_warn (vm, "device %s is outside the slots VMware "
                           "allows; ignored", s->prefix);
    }
    if (kind < 0) {
        return hv_vm_warn (vm, "device %s has unsupported deviceType '%s'; "
                           "ignored", s->prefix, dt);
    }
    if (kind == HV_DEV_DISK && (fn == NULL || *fn == '\0')) {
        return hv_vm_warn (vm, "disk %s has no fileName; ignored", s->prefix);
    }
    d.kind = (enum hv_dev_kind) kind;
    d.mode = vmx_mode (hv_vmx_getf (x, "%s.mode", s->prefix));
    d.start_connected = hv_vmx_bool (x, true, "%s.startConnected", s->prefix);
    d.client_device = hv_vmx_bool (x, false, "%s.clientDevice", s->prefix);
    d.rdm = dt != NULL && hv_str_ieq (dt, "rawDisk");
    d.file = fn ? strdup (fn) : NULL;
    d.device_type = dt ? strdup (dt) : NULL;
    if ((fn && d.file == NULL) || (dt && d.device_type == NULL) ||
        hv_disk_vec_append (&vm->disks, d) < 0) {
        free (d.file);
        free (d.device_type);
        return set_error (ENOMEM, "out of memory");
    }
    return 0;
}

static int
vmx_devices (struct hv_vm *vm)
{
    struct vmx_slot_vec slots = { 0 };
    int r = 0;

    for (size_t i = 0; r == 0 && i < vm->vmx.kv.len; i++) {
        struct vmx_slot s;

        if (vmx_slot_of_key (vm->vmx.kv.ptr[i].lkey, &s)) {
            r = vmx_slot_add (vm, &slots, &s);
        }
    }
    for (size_t i = 0; r == 0 && i < slots.len; i++) {
        r = vmx_one_device (vm, &slots.ptr[i]);
    }
    vmx_slot_vec_reset (&slots);
    return r;
}

static const char *const vmx_known_scsi[] = {
    "lsilogic", "lsisas1068", "pvscsi", "buslogic",
};

static int
vmx_one_ctrl (struct hv_vm *vm, enum hv_bus bus, unsigned i)
{
    const char *bn = hv_bus_name (bus);
    const char *model = hv_vmx_getf (&vm->vmx, "%s%u.virtualDev", bn, i);
    const char *share = hv_vmx_getf (&vm->vmx, "%s%u.sharedBus", bn, i);
    struct hv_controller c = { .bus = bus, .index = i };
    bool known = model == NULL || bus != HV_BUS_SCSI;

    for (size_t k = 0; !known && k < 4; k++) {
        known = hv_str_ieq (model, vmx_known_scsi[k]);
    }
    if (!known && hv_vm_warn (vm, "controller %s%u has unsupported type "
                              "'%s'; its disks are attached to the target's "
                              "own bus", bn, i, model) < 0) {
        return -ENOMEM;
    }
    if (share && !hv_str_ieq (share, "none") &&
        hv_vm_warn (vm, "controller %s%u shares its bus ('%s', clustered "
                    "disks): bus sharing is not carried over", bn, i,
                    share) < 0) {
        return -ENOMEM;
    }
    c.model = model ? strdup (model) : NULL;
    if ((model && c.model == NULL) || hv_ctrl_vec_append (&vm->ctrls, c) < 0) {
        free (c.model);
        return set_error (ENOMEM, "out of memory");
    }
    for (char *p = c.model; p && *p; p++) {
        *p = (char) (*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    }
    return 0;
}

static int
vmx_controllers (struct hv_vm *vm)
{
    static const enum hv_bus buses[] = { HV_BUS_SCSI, HV_BUS_SATA,
                                         HV_BUS_NVME };

    for (size_t b = 0; b < 3; b++) {
        for (unsigned i = 0; i < 4; i++) {
            int r;

            if (!hv_vmx_bool (&vm->vmx, false, "%s%u.present",
                              hv_bus_name (buses[b]), i)) {
                continue;
            }
            r = vmx_one_ctrl (vm, buses[b], i);
            if (r < 0) {
                return r;
            }
        }
    }
    return 0;
}

/* The network a NIC is on, as the map names it: the port group name, else
 * the distributed port group id, else the connection type ("nat",
 * "hostonly", "bridged" on hosted products), else "". */
static const char *
vmx_nic_network (const struct hv_vmx *x, unsigned n)
{
    const char *s = hv_vmx_getf (x, "ethernet%u.networkName", n);

    if (s == NULL || *s == '\0') {
        s = hv_vmx_getf (x, "ethernet%u.dvs.portgroupId", n);
    }
    if (s == NULL || *s == '\0') {
        s = hv_vmx_getf (x, "ethernet%u.connectionType", n);
    }
    return s ? s : "";
}

static int
vmx_nic_mac (struct hv_vm *vm, struct hv_nic *nic)
{
    const struct hv_vmx *x = &vm->vmx;
    const char *at = nic->address_type;
    const char *mac;

    if (at && hv_str_ieq (at, "static")) {
        mac = hv_vmx_getf (x, "ethernet%u.address", nic->index);
    } else {
        mac = hv_vmx_getf (x, "ethernet%u.generatedAddress", nic->index);
    }
    if (mac == NULL || *mac == '\0') {
        return 0;
    }
    if (hv_mac_normalize (mac, nic->mac) < 0) {
        clear_error ();
        nic->mac[0] = '\0';
        return hv_vm_warn (vm, "ethernet%u has an invalid MAC address '%s'; "
                           "the target will generate one", nic->index, mac);
    }
    return 0;
}

static int
vmx_one_nic (struct hv_vm *vm, unsigned n)
{
    const struct hv_vmx *x = &vm->vmx;
    const char *model = hv_vmx_getf (x, "ethernet%u.virtualDev", n);
    const char *conn = hv_vmx_getf (x, "ethernet%u.connectionType", n);
    const char *at = hv_vmx_getf (x, "ethernet%u.addressType", n);
    struct hv_nic nic = { .index = n };

    nic.start_connected = hv_vmx_bool (x, true, "ethernet%u.startConnected",
                                       n);
    nic.model = model ? strdup (model) : NULL;
    nic.connection = conn ? strdup (conn) : NULL;
    nic.address_type = at ? strdup (at) : NULL;
    nic.network = strdup (vmx_nic_network (x, n));
    for (char *p = nic.model; p && *p; p++) {
        *p = (char) (*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    }
    if ((model && !nic.model) || (conn && !nic.connection) ||
        (at && !nic.address_type) || !nic.network ||
        vmx_nic_mac (vm, &nic) < 0 || hv_nic_vec_append (&vm->nics, nic) < 0) {
        free (nic.model);
        free (nic.connection);
        free (nic.address_type);
        free (nic.network);
        return set_error (ENOMEM, "out of memory");
    }
    return 0;
}

static int
vmx_nics (struct hv_vm *vm)
{
    /* ethernet0..ethernet9 are what VMware allows; a present NIC beyond
     * that is reported rather than silently dropped. */
    for (unsigned n = 0; n < 100; n++) {
        int r = 0;

        if (!hv_vmx_bool (&vm->vmx, false, "ethernet%u.present", n)) {
            continue;
        }
        if (n >= HV_MAX_NICS) {
            r = hv_vm_warn (vm, "ethernet%u is beyond the %d NICs VMware "
                            "allows; ignored", n, HV_MAX_NICS);
        } else {
            r = vmx_one_nic (vm, n);
        }
        if (r < 0) {
            return r;
        }
    }
    return 0;
}

static int
vmx_cpu_memory (struct hv_vm *vm, const char *name)
{
    const struct hv_vmx *x = &vm->vmx;
    const char *s;
    uint64_t v;

    vm->vcpus = 1;
    vm->cores_per_socket = 1;
    vm->memory_mib = VMX_DEFAULT_MEMORY_MIB;
    if ((s = hv_vmx_get (x, "numvcpus")) != NULL) {
        if (hv_parse_uint (s, 1, HV_MAX_VCPUS, &v) < 0) {
            return set_error (EINVAL, "'%s': numvcpus '%s' is not a number "
                              "from 1 to %d", name, s, HV_MAX_VCPUS);
        }
        vm->vcpus = (unsigned) v;
    }
    if ((s = hv_vmx_get (x, "memsize")) != NULL) {
        if (hv_parse_uint (s, HV_MIN_MEMORY_MIB, HV_MAX_MEMORY_MIB, &v) < 0) {
            return set_error (EINVAL, "'%s': memsize '%s' is not a number of "
                              "MiB from %d to %llu", name, s,
                              HV_MIN_MEMORY_MIB,
                              (unsigned long long) HV_MAX_MEMORY_MIB);
        }
        vm->memory_mib = v;
    }
    if ((s = hv_vmx_get (x, "cpuid.coresPerSocket")) != NULL) {
        if (hv_parse_uint (s, 1, HV_MAX_VCPUS, &v) < 0 ||
            vm->vcpus % (unsigned) v != 0) {
            return hv_vm_warn (vm, "cpuid.coresPerSocket '%s' does not divide "
                               "%u vCPUs; 1 core per socket is used", s,
                               vm->vcpus);
        }
        vm->cores_per_socket = (unsigned) v;
    }
    return 0;
}

static int
vmx_ids (struct hv_vm *vm)
{
    static const struct {
        const char *key;
        size_t off;
    } ids[] = {
        { "uuid.bios", offsetof (struct hv_vm, uuid_bios) },
        { "uuid.location", offsetof (struct hv_vm, uuid_location) },
        { "vc.uuid", offsetof (struct hv_vm, vc_uuid) },
    };
    const char *lo = hv_vmx_get (&vm->vmx, "vm.genid");
    const char *hi = hv_vmx_get (&vm->vmx, "vm.genidX");

    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        const char *s = hv_vmx_get (&vm->vmx, ids[i].key);
        char *dst = (char *) vm + ids[i].off;

        if (s && hv_uuid_from_vmx (s, dst) < 0) {
            clear_error ();
            dst[0] = '\0';
            if (hv_vm_warn (vm, "%s '%s' is not a UUID; ignored",
                            ids[i].key, s) < 0) {
                return -ENOMEM;
            }
        }
    }
    if (lo && hi && hv_genid_from_vmx (lo, hi, vm->genid) < 0) {
        clear_error ();
        vm->genid[0] = '\0';
        return hv_vm_warn (vm, "vm.genid/vm.genidX are not numbers; the "
                           "generation id is not carried");
    }
    return 0;
}

static int
vmx_strings (struct hv_vm *vm, const char *fallback)
{
    const char *name = hv_vmx_get (&vm->vmx, "displayName");
    const char *os = hv_vmx_get (&vm->vmx, "guestOS");
    const char *ann = hv_vmx_get (&vm->vmx, "annotation");
    const char *hw = hv_vmx_get (&vm->vmx, "virtualHW.version");
    const char *fw = hv_vmx_get (&vm->vmx, "firmware");
    uint64_t v;

    if (name == NULL || *name == '\0') {
        name = fallback && *fallback ? fallback : "vm";
    }
    vm->name = strdup (name);
    vm->guest_os = strdup (os ? os : "other");
    vm->annotation = ann && *ann ? strdup (ann) : NULL;
    vm->source = strdup ("vmx");
    if (!vm->name || !vm->guest_os || (ann && *ann && !vm->annotation) ||
        !vm->source) {
        return set_error (ENOMEM, "out of memory");
    }
    if (hw && hv_parse_uint (hw, 1, 1000, &v) == 0) {
        vm->hw_version = (unsigned) v;
    }
    clear_error ();
    vm->firmware = fw && hv_str_ieq (fw, "efi") ? HV_FW_EFI : HV_FW_BIOS;
    vm->secure_boot = vm->firmware == HV_FW_EFI &&
        hv_vmx_bool (&vm->vmx, false, "uefi.secureBoot.enabled");
    vm->vtpm = hv_vmx_bool (&vm->vmx, false, "vtpm.present");
    return 0;
}

static int
vmx_build (struct hv_vm *vm, const char *name, const char *fallback)
{
    int r;

    if ((r = vmx_strings (vm, fallback)) < 0 ||
        (r = vmx_cpu_memory (vm, name)) < 0 || (r = vmx_ids (vm)) < 0 ||
        (r = vmx_controllers (vm)) < 0 || (r = vmx_devices (vm)) < 0 ||
        (r = vmx_nics (vm)) < 0) {
        return r;
    }
    if (hv_vmx_get (&vm->vmx, "encryption.keySafe") != NULL &&
        (r = hv_vm_warn (vm, "the VM is encrypted (encryption.keySafe): "
                         "its disks cannot be converted without "
                         "decrypting them in vSphere first")) < 0) {
        return r;
    }
    return hv_vm_finish (vm);
}

int
hv_vm_from_vmx (const char *buf, size_t len, const char *name,
                const char *fallback_name, struct hv_vm **out)
{
    struct hv_vm *vm = calloc (1, sizeof *vm);
    int r;

    if (vm == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    r = hv_vmx_parse (buf, len, name, &vm->vmx, &vm->warnings);
    if (r == 0) {
        r = vmx_build (vm, name, fallback_name);
    }
    if (r < 0) {
        if (r == -ENOMEM) {
            set_error (ENOMEM, "out of memory reading '%s'", name);
        }
        hv_vm_free (vm);
        return r;
    }
    *out = vm;
    return 0;
}
