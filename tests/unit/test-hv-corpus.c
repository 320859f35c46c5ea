/* Every .vmx and .ovf in the shared corpus parses, and the facts in the
 * expected outputs written by others beside them hold for our model:
 *   libvirt vmx2xmldata *.xml: memory, vCPUs, firmware, UUID, annotation,
 *     every disk/cdrom/lun slot, NIC MACs, models and bridges;
 *   virt-v2v test-i-vmx-*.expected: memory, vCPUs, firmware, secure boot,
 *     generation id, disk buses in order, IDE CD-ROM slots, NICs.
 * The corpus is read in place; the tests skip when it is absent. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "engine/base/error.h"
#include "helpers/testio.h"
#include "hypervisors/hv.h"

static char *
slurp (const char *path, size_t *len)
{
    FILE *fp = fopen (path, "rb");
    char *buf;
    long n;

    cr_assert_not_null (fp, "cannot open %s", path);
    fseek (fp, 0, SEEK_END);
    n = ftell (fp);
    rewind (fp);
    buf = malloc ((size_t) n + 1);
    cr_assert_eq (fread (buf, 1, (size_t) n, fp), (size_t) n);
    buf[n] = '\0';
    fclose (fp);
    *len = (size_t) n;
    return buf;
}

static const char *
corpus_or_skip (const char *sub)
{
    static char dir[4096];
    const char *c = test_corpus_dir ();
    struct stat st;

    if (c == NULL) {
        cr_skip_test ("corpus folder is absent (VMSHIFT_CORPUS)");
    }
    snprintf (dir, sizeof dir, "%s/%s", c, sub);
    if (stat (dir, &st) < 0) {
        cr_skip_test ("corpus folder %s is absent", dir);
    }
    return dir;
}

static struct hv_vm *
load_file (const char *path)
{
    struct hv_vm *vm = NULL;
    size_t len;
    char *buf = slurp (path, &len);
    size_t n = strlen (path);
    int r = n > 4 && strcmp (path + n - 4, ".ovf") == 0 ?
        hv_vm_from_ovf (buf, len, path, &vm) :
        hv_vm_from_vmx (buf, len, path, "fallback", &vm);

    free (buf);
    cr_assert_eq (r, 0, "%s: %s", path, vmshift_internal_error_msg ());
    return vm;
}

/* Call fn on every file under dir ending in ext (recursively). */
static unsigned
walk (const char *dir, const char *ext, void (*fn) (const char *))
{
    DIR *d = opendir (dir);
    struct dirent *e;
    unsigned n = 0;

    cr_assert_not_null (d, "cannot open %s", dir);
    while ((e = readdir (d)) != NULL) {
        char path[4096];
        struct stat st;
        size_t l = strlen (e->d_name), el = strlen (ext);

        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf (path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat (path, &st) == 0 && S_ISDIR (st.st_mode)) {
            n += walk (path, ext, fn);
        } else if (l > el && strcmp (e->d_name + l - el, ext) == 0) {
            fn (path);
            n++;
        }
    }
    closedir (d);
    return n;
}

static void
parse_ok (const char *path)
{
    struct hv_vm *vm = load_file (path);
    char *t = hv_vm_describe (vm, false), *j = hv_vm_describe (vm, true);

    cr_assert_not_null (t);
    cr_assert_not_null (j);
    free (t);
    free (j);
    hv_vm_free (vm);
}

Test (corpus, every_vmx_parses)
{
    const char *dir = corpus_or_skip ("vmx");

    cr_assert_geq (walk (dir, ".vmx", parse_ok), 40);
}

Test (corpus, every_ovf_but_xee_parses_and_xee_is_refused)
{
    const char *dir = corpus_or_skip ("vmx/ovf");
    char path[4096];
    struct hv_vm *vm = NULL;
    size_t len;
    char *buf;

    cr_assert_geq (walk (dir, "a.ovf", parse_ok) + walk (dir, "s.ovf",
                                                           parse_ok) +
                   walk (dir, "m.ovf", parse_ok), 5);
    snprintf (path, sizeof path, "%s/pve-storage/XEE.ovf", dir);
    buf = slurp (path, &len);
    cr_assert_eq (hv_vm_from_ovf (buf, len, path, &vm), -EINVAL);
    cr_assert (strstr (vmshift_internal_error_msg (), "entities") != NULL);
    cr_assert (strstr (vmshift_internal_error_msg (), "XEE.ovf") != NULL);
    free (buf);
}

/* ---------------------------------------------------- libvirt facts */

static xmlNodePtr
child (xmlNodePtr n, const char *name)
{
    for (xmlNodePtr c = n->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE &&
            strcmp ((const char *) c->name, name) == 0) {
            return c;
        }
    }
    return NULL;
}

static char *
prop (xmlNodePtr n, const char *name)
{
    return n ? (char *) xmlGetProp (n, (const xmlChar *) name) : NULL;
}

static uint64_t
num_text (xmlNodePtr n)
{
    xmlChar *t = xmlNodeGetContent (n);
    uint64_t v = strtoull ((const char *) t, NULL, 10);

    xmlFree (t);
    return v;
}

static void
check_lv_disk (const struct hv_vm *vm, xmlNodePtr disk, const char *xml)
{
    char *dev = prop (disk, "device"), *bus = prop (child (disk, "target"),
                                                    "bus");
    xmlNodePtr a = child (disk, "address");
    char *ctrl = prop (a, "controller"), *abus = prop (a, "bus");
    char *unit = prop (a, "unit");
    enum hv_dev_kind kind = strcmp (dev, "disk") == 0 ? HV_DEV_DISK :
        strcmp (dev, "cdrom") == 0 ? HV_DEV_CDROM : HV_DEV_PASSTHRU;
    unsigned c = (unsigned) atoi (strcmp (bus, "ide") == 0 ? abus : ctrl);
    bool found = false;

    for (size_t i = 0; i < vm->disks.len; i++) {
        const struct hv_disk *d = &vm->disks.ptr[i];

        found = found || (strcmp (hv_bus_name (d->bus), bus) == 0 &&
                          d->ctrl == c && d->unit == (unsigned) atoi (unit) &&
                          d->kind == kind);
    }
    cr_assert (found, "%s: %s on %s %u:%s missing from the model", xml, dev,
               bus, c, unit);
    xmlFree (dev);
    xmlFree (bus);
    xmlFree (ctrl);
    xmlFree (abus);
    xmlFree (unit);
}

static void
check_lv_nic (const struct hv_nic *n, xmlNodePtr itf, const char *xml)
{
    char *mac = prop (child (itf, "mac"), "address");
    char *model = prop (child (itf, "model"), "type");
    char *type = prop (itf, "type");
    char *bridge = prop (child (itf, "source"), "bridge");

    cr_assert_str_eq (n->mac, mac, "%s: ethernet%u MAC", xml, n->index);
    if (model) {
        cr_assert_str_eq (n->model, strcmp (model, "vmxnet2") == 0 ?
                          "vmxnet" : model, "%s: NIC model", xml);
    }
    if (strcmp (type, "bridge") == 0) {
        cr_assert_str_eq (n->network, bridge, "%s: NIC network", xml);
    }
    xmlFree (mac);
    xmlFree (model);
    xmlFree (type);
    xmlFree (bridge);
}

static void
check_lv_devices (const struct hv_vm *vm, xmlNodePtr devs, const char *xml)
{
    size_t nic = 0, ndisk = 0;

    for (xmlNodePtr c = devs->children; c; c = c->next) {
        char *dev = NULL;

        if (c->type != XML_ELEMENT_NODE) {
            continue;
        }
        if (strcmp ((const char *) c->name, "disk") == 0 &&
            strcmp ((dev = prop (c, "device")), "floppy") != 0) {
            check_lv_disk (vm, c, xml);
            ndisk += strcmp (dev, "disk") == 0;
        }
        if (strcmp ((const char *) c->name, "interface") == 0) {
            cr_assert_lt (nic, vm->nics.len, "%s: more NICs than ours", xml);
            check_lv_nic (&vm->nics.ptr[nic++], c, xml);
        }
        xmlFree (dev);
    }
    cr_assert_eq (nic, vm->nics.len, "%s: NIC count", xml);
    cr_assert_eq (ndisk, hv_vm_disk_count (vm), "%s: disk count", xml);
}

static void
check_libvirt_pair (const char *vmx)
{
    char xml[4096];
    struct hv_vm *vm;
    xmlDocPtr doc;
    xmlNodePtr root, n;
    char *fw, *uuid;

    snprintf (xml, sizeof xml, "%.*s.xml", (int) strlen (vmx) - 4, vmx);
    doc = xmlReadFile (xml, NULL, XML_PARSE_NONET);
    cr_assert_not_null (doc, "%s", xml);
    vm = load_file (vmx);
    root = xmlDocGetRootElement (doc);
    cr_assert_eq (num_text (child (root, "memory")), vm->memory_mib * 1024,
                  "%s: memory", xml);
    cr_assert_eq (num_text (child (root, "vcpu")), vm->vcpus, "%s", xml);
    fw = prop (child (root, "os"), "firmware");
    cr_assert_eq (fw != NULL && strcmp (fw, "efi") == 0,
                  vm->firmware == HV_FW_EFI, "%s: firmware", xml);
    uuid = (char *) xmlNodeGetContent (child (root, "uuid"));
    if (strcmp (uuid, "00000000-0000-0000-0000-000000000000") != 0) {
        cr_assert_str_eq (vm->uuid_bios, uuid, "%s: uuid", xml);
    }
    if ((n = child (root, "description")) != NULL) {
        xmlChar *d = xmlNodeGetContent (n);

        cr_assert_str_eq (vm->annotation, (const char *) d, "%s", xml);
        xmlFree (d);
    }
    check_lv_devices (vm, child (root, "devices"), xml);
    xmlFree (fw);
    xmlFree (uuid);
    xmlFreeDoc (doc);
    hv_vm_free (vm);
}

Test (corpus, libvirt_vmx2xml_facts)
{
    const char *dir = corpus_or_skip ("vmx/libvirt");

    cr_assert_geq (walk (dir, ".vmx", check_libvirt_pair), 30);
}

/* --------------------------------------------------- virt-v2v facts */

static const char *
field (const char *text, const char *label)
{
    const char *p = strstr (text, label);

    cr_assert_not_null (p, "no '%s'", label);
    p += strlen (label);
    while (*p == ' ') {
        p++;
    }
    return p;
}

static void
check_v2v_disks (const struct hv_vm *vm, const char *text, const char *f)
{
    const char *p = strstr (text, "disks:\n");
    size_t k = 0;

    for (p = strchr (p, '\n') + 1; *p == '\t'; p = strchr (p, '\n') + 1) {
        const char *b = strchr (p, '['), *e = strchr (p, ']');

        while (k < vm->disks.len && vm->disks.ptr[k].kind != HV_DEV_DISK) {
            k++;
        }
        cr_assert_lt (k, vm->disks.len, "%s: fewer disks than expected", f);
        cr_assert (strncmp (hv_bus_name (vm->disks.ptr[k].bus), b + 1,
                            (size_t) (e - b - 1)) == 0,
                   "%s: disk %zu bus %s, expected %.*s", f, k,
                   hv_bus_name (vm->disks.ptr[k].bus), (int) (e - b - 1),
                   b + 1);
        k++;
    }
    while (k < vm->disks.len && vm->disks.ptr[k].kind != HV_DEV_DISK) {
        k++;
    }
    cr_assert_eq (k, vm->disks.len, "%s: more disks than expected", f);
}

/* virt-v2v lists only IDE CD-ROMs ("CD-ROM [ide] in slot N", N = 2*bus +
 * unit); each must be in the model. */
static void
check_v2v_cdroms (const struct hv_vm *vm, const char *text, const char *f)
{
    for (const char *p = strstr (text, "CD-ROM [ide] in slot "); p;
         p = strstr (p + 1, "CD-ROM [ide] in slot ")) {
        unsigned slot = (unsigned) atoi (p + 21);
        bool found = false;

        for (size_t i = 0; i < vm->disks.len; i++) {
            const struct hv_disk *d = &vm->disks.ptr[i];

            found = found || (d->kind == HV_DEV_CDROM && d->bus == HV_BUS_IDE &&
                              d->ctrl * 2 + d->unit == slot);
        }
        cr_assert (found, "%s: IDE CD-ROM in slot %u missing", f, slot);
    }
}

static void
check_v2v_nics (const struct hv_vm *vm, const char *text, const char *f)
{
    const char *p = strstr (text, "NICs:\n") + 6;
    size_t k = 0;

    for (; *p == '\t'; p = strchr (p, '\n') + 1, k++) {
        const char *q1 = strchr (p, '"'), *q2 = strchr (q1 + 1, '"');
        const char *mac = strstr (p, "mac: ") + 5, *m = strchr (p, '[');
        const struct hv_nic *n;

        cr_assert_lt (k, vm->nics.len, "%s: fewer NICs", f);
        n = &vm->nics.ptr[k];
        cr_assert (strncmp (n->mac, mac, 17) == 0, "%s: MAC %s", f, n->mac);
        cr_assert (strncmp (n->model, m + 1, strlen (n->model)) == 0 &&
                   m[1 + strlen (n->model)] == ']', "%s: model", f);
        if (strncmp (p + 1, "Network", 7) == 0) {
            cr_assert (strncmp (n->network, q1 + 1, (size_t) (q2 - q1 - 1))
                       == 0 && n->network[q2 - q1 - 1] == '\0',
                       "%s: network '%s'", f, n->network);
        }
    }
    cr_assert_eq (k, vm->nics.len, "%s: NIC count", f);
}

static void
check_v2v_pair (const char *vmx)
{
    char exp[4096];
    size_t len;
    char *text;
    struct hv_vm *vm;
    const char *genid;

    snprintf (exp, sizeof exp, "%.*s.expected", (int) strlen (vmx) - 4, vmx);
    text = slurp (exp, &len);
    vm = load_file (vmx);
    cr_assert_eq (strtoull (field (text, "memory:"), NULL, 10),
                  vm->memory_mib << 20, "%s: memory", exp);
    cr_assert_eq (strtoul (field (text, "nr vCPUs:"), NULL, 10), vm->vcpus);
    cr_assert_eq (strncmp (field (text, "firmware:"), "uefi", 4) == 0,
                  vm->firmware == HV_FW_EFI, "%s: firmware", exp);
    cr_assert_eq (strncmp (field (text, "UEFI secureboot:"), "true", 4) == 0,
                  vm->secure_boot, "%s: secure boot", exp);
    genid = field (text, "VM genid:");
    cr_assert (strncmp (genid, vm->genid, strlen (vm->genid)) == 0 &&
               genid[strlen (vm->genid)] == '\n', "%s: genid %s", exp,
               vm->genid);
    check_v2v_disks (vm, text, exp);
    check_v2v_cdroms (vm, text, exp);
    check_v2v_nics (vm, text, exp);
    free (text);
    hv_vm_free (vm);
}

Test (corpus, virt_v2v_print_source_facts)
{
    const char *dir = corpus_or_skip ("vmx/virt-v2v");

    cr_assert_eq (walk (dir, ".vmx", check_v2v_pair), 7);
}

Test (corpus, ovf_facts_against_virt_v2v_domain)
{
    const char *dir = corpus_or_skip ("vmx/ovf");
    char path[4096];
    struct hv_vm *vm;

    snprintf (path, sizeof path, "%s/virt-v2v/test-i-ova.ovf", dir);
    vm = load_file (path);
    /* test-i-ova.xml: <memory unit='KiB'>2097152</memory>, <vcpu>1 */
    cr_assert_eq (vm->memory_mib, 2048);
    cr_assert_eq (vm->vcpus, 1);
    cr_assert_eq (hv_vm_disk_count (vm), 1);
    cr_assert_eq (vm->disks.ptr[0].capacity, UINT64_C (32) << 30);
    cr_assert_str_eq (vm->nics.ptr[0].network, "VM Network");
    hv_vm_free (vm);
    snprintf (path, sizeof path, "%s/mdx1/vm.ovf", dir);
    vm = load_file (path);
    cr_assert_eq (vm->firmware, HV_FW_EFI);
    cr_assert (vm->secure_boot);
    cr_assert_eq (vm->disks.ptr[0].capacity, UINT64_C (64) << 10);
    cr_assert_str_eq (vm->ctrls.ptr[1].model, "pvscsi");
    hv_vm_free (vm);
}
