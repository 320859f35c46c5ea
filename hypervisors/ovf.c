/* OVF descriptors (DMTF DSP0243, as VMware's ovftool writes them) to the
 * VM model.
 *
 * Safety: libxml2 parses with XML_PARSE_NONET and without entity
 * substitution or DTD loading; a document whose DTD declares entities
 * (or names an external subset) is refused before anything is read from
 * it: the XXE case (corpus pve-storage/XEE.ovf) and entity expansion
 * bombs.  libxml2 never prints (XML_PARSE_NOERROR/NOWARNING); its last
 * error becomes our one-line message.
 *
 * Read: VirtualSystem/Name, OperatingSystemSection/@vmw:osType,
 * VirtualHardwareSection Items by rasd:ResourceType (3 CPU, 4 memory,
 * 5 IDE, 6 SCSI, 20 SATA/NVMe, 10 NIC, 15/16 CD/DVD, 17 disk), vssd:
 * VirtualSystemType, vmw:Config firmware and
 * bootOptions.efiSecureBootEnabled, DiskSection capacities and the
 * References file names.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/dl-xml2.h"
#include "engine/base/error.h"
#include "hypervisors/hv.h"

struct ovf_ctrl {
    char id[32];        /* rasd:InstanceID */
    enum hv_bus bus;
    unsigned index;     /* rasd:Address */
};
DEFINE_VECTOR (ovf_ctrl_vec, struct ovf_ctrl);

struct ovf_ctx {
    const char *name;
    xmlNodePtr root;
    struct hv_vm *vm;
    struct ovf_ctrl_vec ctrls;
};

static bool
ovf_is (xmlNodePtr n, const char *local)
{
    return n && n->type == XML_ELEMENT_NODE &&
        strcmp ((const char *) n->name, local) == 0;
}

static xmlNodePtr
ovf_child (xmlNodePtr n, const char *local)
{
    for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next) {
        if (ovf_is (c, local)) {
            return c;
        }
    }
    return NULL;
}

/* Text of a child element (caller frees), NULL when absent. */
static char *
ovf_text (xmlNodePtr n, const char *local)
{
    xmlNodePtr c = ovf_child (n, local);
    xmlChar *t = c ? xmlNodeGetContent (c) : NULL;
    char *s = t ? strdup ((const char *) t) : NULL;

    xmlFree (t);
    return s;
}

/* Attribute by local name in any namespace (ovf:, vmw:), caller frees. */
static char *
ovf_attr (xmlNodePtr n, const char *local)
{
    for (xmlAttrPtr a = n ? n->properties : NULL; a; a = a->next) {
        if (strcmp ((const char *) a->name, local) == 0) {
            xmlChar *v = xmlNodeListGetString (n->doc, a->children, 1);
            char *s = v ? strdup ((const char *) v) : strdup ("");

            xmlFree (v);
            return s;
        }
    }
    return NULL;
}

static uint64_t
ovf_num (const char *s, uint64_t max)
{
    uint64_t v = 0;

    if (s == NULL || hv_parse_uint (s, 0, max, &v) < 0) {
        clear_error ();
        return 0;
    }
    return v;
}

/* "byte * 2^30", "byte*2^20", "MegaBytes", "GigaBytes", "byte"; 0 if
 * not understood. */
static unsigned
ovf_unit_shift (const char *u, unsigned dflt)
{
    const char *caret;

    if (u == NULL) {
        return dflt;
    }
    if (hv_str_ieq (u, "MegaBytes")) {
        return 20;
    }
    if (hv_str_ieq (u, "GigaBytes")) {
        return 30;
    }
    if (hv_str_ieq (u, "KiloBytes")) {
        return 10;
    }
    caret = strchr (u, '^');
    if (strncmp (u, "byte", 4) == 0 && caret) {
        uint64_t e = ovf_num (caret + 1, 60);

        return (unsigned) e;
    }
    return strcmp (u, "byte") == 0 ? 0 : dflt;
}

static int
ovf_reject_dtd (xmlDocPtr doc, const char *name)
{
    xmlDtdPtr dtd = doc->intSubset;

    if (doc->extSubset || (dtd && (dtd->ExternalID || dtd->SystemID))) {
        return set_error (EINVAL, "'%s': the OVF names an external DTD; "
                          "refused", name);
    }
    for (xmlNodePtr n = dtd ? dtd->children : NULL; n; n = n->next) {
        if (n->type == XML_ENTITY_DECL) {
            return set_error (EINVAL, "'%s': the OVF declares XML entities "
                              "(XXE); refused", name);
        }
    }
    return 0;
}

static int
ovf_cpu_mem (struct ovf_ctx *c, xmlNodePtr item, uint64_t type)
{
    char *q = ovf_text (item, "VirtualQuantity");
    char *u = ovf_text (item, "AllocationUnits");
    char *cps = ovf_text (item, "CoresPerSocket");
    uint64_t v = ovf_num (q, UINT64_C (1) << 50);
    int r = 0;

    if (type == 3) {
        if (v < 1 || v > HV_MAX_VCPUS) {
            r = set_error (EINVAL, "'%s': %s virtual CPUs is out of range",
                           c->name, q ? q : "no number of");
        } else {
            c->vm->vcpus = (unsigned) v;
            v = ovf_num (cps, HV_MAX_VCPUS);
            c->vm->cores_per_socket = v && c->vm->vcpus % v == 0 ?
                (unsigned) v : 1;
        }
    } else {
        unsigned sh = ovf_unit_shift (u, 20);
        uint64_t mib = sh >= 20 ? v << (sh - 20) : v >> (20 - sh);

        if (v > (UINT64_C (1) << 40) || mib < HV_MIN_MEMORY_MIB ||
            mib > HV_MAX_MEMORY_MIB) {
            r = set_error (EINVAL, "'%s': memory '%s' (%s) is out of range",
                           c->name, q ? q : "", u ? u : "MiB");
        } else {
            c->vm->memory_mib = mib;
        }
    }
    free (q);
    free (u);
    free (cps);
    return r;
}

static int
ovf_controller (struct ovf_ctx *c, xmlNodePtr item, uint64_t type)
{
    char *id = ovf_text (item, "InstanceID");
    char *addr = ovf_text (item, "Address");
    char *sub = ovf_text (item, "ResourceSubType");
    struct ovf_ctrl oc = { .bus = HV_BUS_SCSI };
    struct hv_controller hc = { 0 };
    int r = 0;

    if (type == 5) {
        oc.bus = HV_BUS_IDE;
    } else if (type == 20) {
        oc.bus = sub && strstr (sub, "nvme") ? HV_BUS_NVME : HV_BUS_SATA;
    }
    oc.index = (unsigned) ovf_num (addr, 3);
    snprintf (oc.id, sizeof oc.id, "%s", id ? id : "");
    hc.bus = oc.bus;
    hc.index = oc.index;
    if (type == 6 && sub) {
        hc.model = strdup (hv_str_ieq (sub, "VirtualSCSI") ? "pvscsi" :
                           hv_str_ieq (sub, "lsilogicsas") ? "lsisas1068" :
                           sub);
    }
    if (id == NULL || (type == 6 && sub && hc.model == NULL) ||
        ovf_ctrl_vec_append (&c->ctrls, oc) < 0 ||
        (oc.bus != HV_BUS_IDE && hv_ctrl_vec_append (&c->vm->ctrls, hc) < 0)) {
        free (hc.model);
        r = id ? set_error (ENOMEM, "out of memory") :
            set_error (EINVAL, "'%s': a controller has no InstanceID",
                       c->name);
    }
    free (id);
    free (addr);
    free (sub);
    return r;
}

static const struct ovf_ctrl *
ovf_parent (const struct ovf_ctx *c, const char *parent)
{
    for (size_t i = 0; parent && i < c->ctrls.len; i++) {
        if (strcmp (c->ctrls.ptr[i].id, parent) == 0) {
            return &c->ctrls.ptr[i];
        }
    }
    return NULL;
}

/* DiskSection/Disk for "ovf:/disk/ID": file name and capacity. */
static void
ovf_disk_file (const struct ovf_ctx *c, const char *host, char **file,
               uint64_t *cap)
{
    xmlNodePtr ds = ovf_child (c->root, "DiskSection");
    xmlNodePtr refs = ovf_child (c->root, "References");
    const char *id = host ? strrchr (host, '/') : NULL;

    for (xmlNodePtr d = ds ? ds->children : NULL; id && d; d = d->next) {
        char *did = ovf_is (d, "Disk") ? ovf_attr (d, "diskId") : NULL;

        if (did && strcmp (did, id + 1) == 0) {
            char *capa = ovf_attr (d, "capacity");
            char *unit = ovf_attr (d, "capacityAllocationUnits");
            char *fref = ovf_attr (d, "fileRef");
            unsigned sh = ovf_unit_shift (unit, 0);
            uint64_t v = ovf_num (capa, UINT64_C (1) << 50);

            *cap = sh < 64 && v <= (UINT64_MAX >> sh) ? v << sh : 0;
            for (xmlNodePtr f = refs ? refs->children : NULL; fref && f;
                 f = f->next) {
                char *fid = ovf_is (f, "File") ? ovf_attr (f, "id") : NULL;

                if (fid && strcmp (fid, fref) == 0 && *file == NULL) {
                    *file = ovf_attr (f, "href");
                }
                free (fid);
            }
            free (capa);
            free (unit);
            free (fref);
        }
        free (did);
    }
}

static bool
ovf_slot_taken (const struct hv_vm *vm, const struct hv_disk *d)
{
    for (size_t i = 0; i < vm->disks.len; i++) {
        const struct hv_disk *o = &vm->disks.ptr[i];

        if (o->bus == d->bus && o->ctrl == d->ctrl && o->unit == d->unit) {
            return true;
        }
    }
    return false;
}

static int
ovf_device (struct ovf_ctx *c, xmlNodePtr item, uint64_t type)
{
    char *parent = ovf_text (item, "Parent");
    char *aop = ovf_text (item, "AddressOnParent");
    char *host = ovf_text (item, "HostResource");
    const struct ovf_ctrl *pc = ovf_parent (c, parent);
    struct hv_disk d = { .kind = type == 17 ? HV_DEV_DISK : HV_DEV_CDROM,
                         .start_connected = true };
    int r = 0;

    if (pc == NULL) {
        r = hv_vm_warn (c->vm, "a %s has no known parent controller; "
                        "ignored", type == 17 ? "disk" : "CD-ROM");
        goto out;
    }
    d.bus = pc->bus;
    d.ctrl = pc->index;
    d.unit = (unsigned) ovf_num (aop, 63);
    if (type == 17) {
        ovf_disk_file (c, host, &d.file, &d.capacity);
        if (d.file == NULL && (d.file = strdup ("")) == NULL) {
            r = set_error (ENOMEM, "out of memory");
            goto out;
        }
    }
    if (ovf_slot_taken (c->vm, &d)) {
        r = hv_vm_warn (c->vm, "duplicate disk slot %s%u:%u; the later "
                        "device is ignored", hv_bus_name (d.bus), d.ctrl,
                        d.unit);
        free (d.file);
    } else if (hv_disk_vec_append (&c->vm->disks, d) < 0) {
        free (d.file);
        r = -ENOMEM;
    }
out:
    free (parent);
    free (aop);
    free (host);
    return r;
}

static int
ovf_nic (struct ovf_ctx *c, xmlNodePtr item)
{
    struct hv_nic n = { .index = (unsigned) c->vm->nics.len,
                        .start_connected = true };
    char *conn = ovf_text (item, "Connection");
    char *mac = ovf_text (item, "Address");
    char *sub = ovf_text (item, "ResourceSubType");

    n.network = conn ? conn : strdup ("");
    n.model = sub;
    for (char *p = n.model; p && *p; p++) {
        *p = (char) (*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    }
    if (mac && hv_mac_normalize (mac, n.mac) < 0) {
        clear_error ();
        n.mac[0] = '\0';
    }
    free (mac);
    if (n.network == NULL || c->vm->nics.len >= HV_MAX_NICS ||
        hv_nic_vec_append (&c->vm->nics, n) < 0) {
        free (n.network);
        free (n.model);
        return c->vm->nics.len >= HV_MAX_NICS ?
            hv_vm_warn (c->vm, "more than %d NICs; the rest are ignored",
                        HV_MAX_NICS) : set_error (ENOMEM, "out of memory");
    }
    return 0;
}

static int
ovf_config (struct ovf_ctx *c, xmlNodePtr n)
{
    char *k = ovf_attr (n, "key"), *v = ovf_attr (n, "value");

    if (k && v && strcmp (k, "firmware") == 0) {
        c->vm->firmware = hv_str_ieq (v, "efi") ? HV_FW_EFI : HV_FW_BIOS;
    } else if (k && v && strcmp (k, "bootOptions.efiSecureBootEnabled") == 0) {
        c->vm->secure_boot = hv_str_ieq (v, "true");
    }
    free (k);
    free (v);
    return 0;
}

/* Two passes: controllers first, so devices can name their parents
 * whatever the order of the Items. */
static int
ovf_hardware (struct ovf_ctx *c, xmlNodePtr hw, int pass)
{
    for (xmlNodePtr n = hw->children; n; n = n->next) {
        char *rt = ovf_is (n, "Item") ? ovf_text (n, "ResourceType") : NULL;
        uint64_t t = ovf_num (rt, 1000);
        int r = 0;

        free (rt);
        if (pass == 0 && (t == 5 || t == 6 || t == 20)) {
            r = ovf_controller (c, n, t);
        } else if (pass == 1 && (t == 3 || t == 4)) {
            r = ovf_cpu_mem (c, n, t);
        } else if (pass == 1 && (t == 15 || t == 16 || t == 17)) {
            r = ovf_device (c, n, t);
        } else if (pass == 1 && t == 10) {
            r = ovf_nic (c, n);
        } else if (pass == 1 && ovf_is (n, "Config")) {
            r = ovf_config (c, n);
        }
        if (r < 0) {
            return r;
        }
    }
    return 0;
}

static int
ovf_system (struct ovf_ctx *c, xmlNodePtr vs)
{
    xmlNodePtr os = ovf_child (vs, "OperatingSystemSection");
    xmlNodePtr hw = ovf_child (vs, "VirtualHardwareSection");
    char *name = ovf_text (vs, "Name"), *type;
    int r;

    c->vm->name = name ? name : ovf_attr (vs, "id");
    c->vm->guest_os = os ? ovf_attr (os, "osType") : NULL;
    if (c->vm->guest_os == NULL) {
        c->vm->guest_os = strdup ("other");
    }
    c->vm->source = strdup ("ovf");
    if (!c->vm->name || !c->vm->guest_os || !c->vm->source) {
        return c->vm->name ? set_error (ENOMEM, "out of memory") :
            set_error (EINVAL, "'%s': VirtualSystem has no name", c->name);
    }
    if (hw == NULL) {
        return set_error (EINVAL, "'%s': no VirtualHardwareSection", c->name);
    }
    type = ovf_text (ovf_child (hw, "System"), "VirtualSystemType");
    if (type && strncmp (type, "vmx-", 4) == 0) {
        c->vm->hw_version = (unsigned) ovf_num (type + 4, 1000);
    }
    free (type);
    if ((r = ovf_hardware (c, hw, 0)) < 0 ||
        (r = ovf_hardware (c, hw, 1)) < 0) {
        return r;
    }
    c->vm->secure_boot = c->vm->secure_boot && c->vm->firmware == HV_FW_EFI;
    return 0;
}

static int
ovf_parse_doc (const char *buf, size_t len, const char *name, xmlDocPtr *out)
{
    int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
    xmlDocPtr doc;

    if (len > HV_VMX_MAX_BYTES || len > (size_t) INT32_MAX) {
        return set_error (EFBIG, "'%s' is too large for an OVF descriptor",
                          name);
    }
    doc = xmlReadMemory (buf, (int) len, NULL, NULL, opts);
    if (doc == NULL) {
        const xmlError *e = xmlGetLastError ();

        return set_error (EINVAL, "'%s' is not well-formed XML (line %d: "
                          "%s)", name, e ? e->line : 0,
                          e && e->message ? e->message : "parse error");
    }
    *out = doc;
    return 0;
}

int
hv_vm_from_ovf (const char *buf, size_t len, const char *name,
                struct hv_vm **out)
{
    struct ovf_ctx c = { .name = name };
    xmlDocPtr doc = NULL;
    xmlNodePtr vs;
    int r = vs_dl_xml2 ();

    if (r < 0) {
        return r;
    }
    r = ovf_parse_doc (buf, len, name, &doc);
    if (r == 0) {
        r = ovf_reject_dtd (doc, name);
    }
    if (r == 0) {
        c.root = xmlDocGetRootElement (doc);
        vs = ovf_child (c.root, "VirtualSystem");
        c.vm = calloc (1, sizeof *c.vm);
        if (!ovf_is (c.root, "Envelope") || vs == NULL) {
            r = set_error (EINVAL, "'%s' is not an OVF descriptor (no "
                           "Envelope/VirtualSystem)", name);
        } else if (c.vm == NULL) {
            r = set_error (ENOMEM, "out of memory");
        } else {
            c.vm->vcpus = 1;
            c.vm->cores_per_socket = 1;
            c.vm->memory_mib = 32;
            r = ovf_system (&c, vs);
        }
    }
    if (r == 0) {
        r = hv_vm_finish (c.vm);
    }
    ovf_ctrl_vec_reset (&c.ctrls);
    xmlFreeDoc (doc);
    if (r < 0) {
        hv_vm_free (c.vm);
        return r;
    }
    *out = c.vm;
    return 0;
}
