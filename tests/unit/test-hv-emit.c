/* The emitters: golden files over corpus VMs for every target, and names
 * full of shell, PowerShell, XML and YAML metacharacters that must stay
 * data.  Golden files live in tests/data/hv/golden/; regenerate them on
 * purpose with VMSHIFT_REGENERATE=1 and review the diff.  The oracle
 * layer runs virsh/virt-xml-validate, a YAML parser and a PowerShell
 * parser over the same files (tests/oracle/hv-*.sh). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "engine/base/error.h"
#include "engine/base/json.h"
#include "helpers/testio.h"
#include "hypervisors/hv.h"

static char *
slurp (const char *path, size_t *len)
{
    FILE *fp = fopen (path, "rb");
    char *buf;
    long n;

    if (fp == NULL) {
        return NULL;
    }
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

static struct hv_netmap
parse_map (const char *json)
{
    struct hv_netmap m;

    cr_assert_eq (hv_netmap_parse (json, strlen (json), "map", &m), 0, "%s",
                  vmshift_internal_error_msg ());
    return m;
}

static char *
emit (const struct hv_vm *vm, enum hv_target t, const struct hv_netmap *m,
      bool json)
{
    struct hv_define d = {
        .target = t, .map = m, .retain_mac = -1, .version = "TEST",
        .source_file = "source.vmx", .vmid = 120, .json = json,
        .namespace_ = t == HV_TARGET_KUBEVIRT ? "migrated" : NULL,
        .disk_path = t == HV_TARGET_HYPERV ? "\\\\svm1\\vms\\qtree1" :
            t == HV_TARGET_PROXMOX ? "nfs-ontap" : NULL,
    };
    char *text = NULL;
    int r = hv_define_emit (vm, &d, &text, NULL);

    cr_assert_eq (r, 0, "%s: %s", vm->name, vmshift_internal_error_msg ());
    return text;
}

/* ------------------------------------------------------------ golden */

static const char *const golden_vms[] = {
    "virt-v2v/test-i-vmx-1", "virt-v2v/test-i-vmx-3", "virt-v2v/test-i-vmx-4",
    "virt-v2v/test-i-vmx-5", "virt-v2v/test-i-vmx-6", "virt-v2v/test-i-vmx-7",
    "libvirt/esx-in-the-wild-2", "libvirt/gsx-in-the-wild-3",
    "libvirt/esx-in-the-wild-4",
};

static const struct {
    enum hv_target t;
    const char *ext;
    bool json;
    const char *map;
} golden_targets[] = {
    { HV_TARGET_HYPERV, "hyperv.ps1", false,
      "{\"networks\": {\"VM Network\": {\"target\": \"vSwitch-Prod\", "
      "\"vlan\": 10}, \"*\": \"vSwitch-Lab\"}, \"retain_mac\": true}" },
    { HV_TARGET_LIBVIRT, "libvirt.xml", false,
      "{\"networks\": {\"VM Network\": \"br0\", \"*\": \"network:default\"},"
      " \"retain_mac\": true}" },
    { HV_TARGET_PROXMOX, "proxmox.conf", false,
      "{\"networks\": {\"VM Network\": {\"target\": \"vmbr0\", \"vlan\": 10},"
      " \"*\": \"vmbr1\"}, \"retain_mac\": true}" },
    { HV_TARGET_KUBEVIRT, "kubevirt.yaml", false,
      "{\"networks\": {\"VM Network\": \"prod/vm-network\", \"*\": \"pod\"},"
      " \"retain_mac\": true}" },
    { HV_TARGET_KUBEVIRT, "kubevirt.json", true,
      "{\"networks\": {\"VM Network\": \"prod/vm-network\", \"*\": \"pod\"},"
      " \"retain_mac\": true}" },
};

static void
golden_dir (char *out, size_t n)
{
    const char *top = getenv ("VMSHIFT_TOP");

    snprintf (out, n, "%s/tests/data/hv/golden", top ? top : ".");
}

static struct hv_vm *
load_corpus_vm (const char *corpus, const char *rel)
{
    char path[4096];
    size_t len;
    char *buf;
    struct hv_vm *vm = NULL;

    snprintf (path, sizeof path, "%s/vmx/%s.vmx", corpus, rel);
    buf = slurp (path, &len);
    cr_assert_not_null (buf, "cannot read %s", path);
    cr_assert_eq (hv_vm_from_vmx (buf, len, path, "x", &vm), 0);
    free (buf);
    /* Sizes normally come from the VMDK descriptors beside the .vmx; the
     * corpus has none, so give each disk a known size. */
    for (size_t i = 0; i < vm->disks.len; i++) {
        vm->disks.ptr[i].capacity = (UINT64_C (10) << 30) * (i + 1);
    }
    return vm;
}

static void
golden_compare (const char *file, const char *text)
{
    size_t len;
    char *want;

    if (getenv ("VMSHIFT_REGENERATE") && *getenv ("VMSHIFT_REGENERATE") ==
        '1') {
        FILE *fp = fopen (file, "w");

        cr_assert_not_null (fp, "cannot write %s", file);
        fputs (text, fp);
        cr_assert_eq (fclose (fp), 0);
        return;
    }
    want = slurp (file, &len);
    cr_assert_not_null (want, "golden file %s is missing (regenerate with "
                        "VMSHIFT_REGENERATE=1)", file);
    cr_assert_str_eq (text, want, "%s differs from the emitter's output",
                      file);
    free (want);
}

Test (golden, every_target_over_corpus_vms)
{
    const char *corpus = test_corpus_dir ();
    char dir[4096];

    if (corpus == NULL) {
        cr_skip_test ("corpus folder is absent (VMSHIFT_CORPUS)");
    }
    golden_dir (dir, sizeof dir);
    for (size_t i = 0; i < sizeof golden_vms / sizeof golden_vms[0]; i++) {
        struct hv_vm *vm = load_corpus_vm (corpus, golden_vms[i]);
        const char *base = strrchr (golden_vms[i], '/') + 1;

        for (size_t t = 0; t < sizeof golden_targets / sizeof
             golden_targets[0]; t++) {
            struct hv_netmap m = parse_map (golden_targets[t].map);
            char *text = emit (vm, golden_targets[t].t, &m,
                               golden_targets[t].json);
            char file[4200];

            snprintf (file, sizeof file, "%s/%s.%s", dir, base,
                      golden_targets[t].ext);
            golden_compare (file, text);
            free (text);
            hv_netmap_release (&m);
        }
        hv_vm_free (vm);
    }
}

/* ------------------------------------------------- target decisions */

static struct hv_vm *
vm_from (const char *vmx)
{
    struct hv_vm *vm = NULL;

    cr_assert_eq (hv_vm_from_vmx (vmx, strlen (vmx), "t.vmx", "t", &vm), 0,
                  "%s", vmshift_internal_error_msg ());
    for (size_t i = 0; i < vm->disks.len; i++) {
        vm->disks.ptr[i].capacity = UINT64_C (1) << 30;
    }
    return vm;
}

#define WIN_EFI_VMX                                                         \
    "displayName = \"w\"\nguestOS = \"windows2019srv-64\"\n"               \
    "firmware = \"efi\"\nuefi.secureBoot.enabled = \"TRUE\"\n"            \
    "vtpm.present = \"TRUE\"\nscsi0.present = \"TRUE\"\n"                 \
    "scsi0:0.present = \"TRUE\"\nscsi0:0.fileName = \"w.vmdk\"\n"          \
    "scsi0:1.present = \"TRUE\"\nscsi0:1.fileName = \"w_1.vmdk\"\n"

Test (decisions, windows_first_boot_sata_e1000e_and_gen2_secure_boot)
{
    struct hv_vm *vm = vm_from (WIN_EFI_VMX);
    char *lv = emit (vm, HV_TARGET_LIBVIRT, NULL, false);
    char *ps = emit (vm, HV_TARGET_HYPERV, NULL, false);
    char *pve = emit (vm, HV_TARGET_PROXMOX, NULL, false);
    char *kv = emit (vm, HV_TARGET_KUBEVIRT, NULL, false);

    cr_assert (strstr (lv, "<target dev='sda' bus='sata'/>"));
    cr_assert (strstr (lv, "name='secure-boot'"));
    cr_assert (strstr (lv, "<smm state='on'/>"));
    cr_assert (strstr (lv, "<tpm model='tpm-crb'>"));
    cr_assert (strstr (ps, "Generation = 2;"));
    cr_assert (strstr (ps, "-EnableSecureBoot On -SecureBootTemplate "
                       "'MicrosoftWindows'"));
    cr_assert (strstr (ps, "Enable-VMTPM -VM $vm"));
    cr_assert (strstr (ps, "Set-Disk -IsOffline $false"));
    cr_assert (strstr (pve, "sata0: nfs-ontap:120/vm-120-disk-0.qcow2"));
    cr_assert (strstr (pve, "bios: ovmf"));
    cr_assert (strstr (pve, "ostype: win10"));
    cr_assert (strstr (kv, "secureBoot: true"));
    cr_assert (strstr (kv, "bus: \"sata\""));
    cr_assert (strstr (kv, "tpm: {}"));
    free (lv);
    free (ps);
    free (pve);
    free (kv);
    hv_vm_free (vm);
}

Test (decisions, linux_bios_gets_virtio_and_generation_1)
{
    struct hv_vm *vm = vm_from ("guestOS = \"ubuntu-64\"\n"
                                "ide0:0.present = \"TRUE\"\n"
                                "ide0:0.fileName = \"u.vmdk\"\n"
                                "ide0:1.present = \"TRUE\"\n"
                                "ide0:1.fileName = \"data.vmdk\"\n");
    char *lv = emit (vm, HV_TARGET_LIBVIRT, NULL, false);
    char *ps = emit (vm, HV_TARGET_HYPERV, NULL, false);
    char *pve = emit (vm, HV_TARGET_PROXMOX, NULL, false);

    cr_assert (strstr (lv, "<target dev='vda' bus='virtio'/>"));
    cr_assert (strstr (lv, "<target dev='vdb' bus='virtio'/>"));
    cr_assert_null (strstr (lv, "firmware='efi'"));
    cr_assert (strstr (ps, "Generation = 1;"));
    cr_assert (strstr (ps, "-ControllerType IDE -ControllerNumber 0 "
                       "-ControllerLocation 0 -Path $disks[0]"));
    cr_assert (strstr (ps, "-ControllerType SCSI -ControllerNumber 0 "
                       "-ControllerLocation 0 -Path $disks[1]"));
    cr_assert_null (strstr (ps, "Set-VMFirmware"));
    cr_assert (strstr (pve, "scsi0: nfs-ontap:120/vm-120-disk-0.qcow2"));
    cr_assert (strstr (pve, "scsihw: virtio-scsi-single"));
    cr_assert (strstr (pve, "ostype: l26"));
    free (lv);
    free (ps);
    free (pve);
    hv_vm_free (vm);
}

Test (decisions, kubevirt_needs_disk_sizes_and_makes_nfs_pvs)
{
    struct hv_vm *vm = vm_from ("guestOS = \"rhel9-64\"\n"
                                "scsi0.present = \"TRUE\"\n"
                                "scsi0:0.present = \"TRUE\"\n"
                                "scsi0:0.fileName = \"r.vmdk\"\n");
    struct hv_define d = { .target = HV_TARGET_KUBEVIRT, .retain_mac = -1,
                           .disk_path = "nfs://10.0.0.5/vol/kv" };
    char *text = NULL;

    cr_assert_eq (hv_define_emit (vm, &d, &text, NULL), 0);
    cr_assert (strstr (text, "kind: \"PersistentVolume\""));
    cr_assert (strstr (text, "server: \"10.0.0.5\""));
    cr_assert (strstr (text, "path: \"/vol/kv/t-r\""));
    cr_assert (strstr (text, "storage: \"1024Mi\""));
    free (text);
    d.disk_path = "nfs://nohost";
    cr_assert_eq (hv_define_emit (vm, &d, &text, NULL), -EINVAL);
    vm->disks.ptr[0].capacity = 0;
    d.disk_path = NULL;
    cr_assert_eq (hv_define_emit (vm, &d, &text, NULL), -EINVAL);
    cr_assert (strstr (vmshift_internal_error_msg (), "size unknown"));
    hv_vm_free (vm);
}

/* A test migration (docs/blueprint.md): every NIC on no network,
 * whatever the map says, and the map's other choices kept. */
Test (decisions, test_migration_nics_are_on_no_network)
{
    struct hv_vm *vm = vm_from ("guestOS = \"rhel9-64\"\n"
                                "scsi0.present = \"TRUE\"\n"
                                "scsi0:0.present = \"TRUE\"\n"
                                "scsi0:0.fileName = \"r.vmdk\"\n"
                                "ethernet0.present = \"TRUE\"\n"
                                "ethernet0.networkName = \"VM Network\"\n"
                                "ethernet0.addressType = \"static\"\n"
                                "ethernet0.address = \"00:50:56:01:02:03\"\n"
                                "ethernet1.present = \"TRUE\"\n"
                                "ethernet1.networkName = \"Unmapped\"\n");
    struct hv_netmap m = parse_map ("{\"networks\": {\"VM Network\": "
                                    "{\"target\": \"br0\", \"vlan\": 7}}, "
                                    "\"retain_mac\": true, "
                                    "\"nic_model\": \"e1000e\"}");
    struct hv_define d = { .map = &m, .retain_mac = -1, .version = "TEST",
                           .vmid = 120, .disk_path = "nfs-ontap",
                           .nics_unattached = true };
    struct hv_str_vec notes = { 0 };
    char *lv = NULL, *ps = NULL, *pve = NULL, *kv = NULL;

    d.target = HV_TARGET_LIBVIRT;
    cr_assert_eq (hv_define_emit (vm, &d, &lv, NULL), 0, "%s",
                  vmshift_internal_error_msg ());
    d.target = HV_TARGET_HYPERV;
    d.disk_path = "\\\\svm1\\vms";
    cr_assert_eq (hv_define_emit (vm, &d, &ps, NULL), 0);
    d.target = HV_TARGET_PROXMOX;
    d.disk_path = "nfs-ontap";
    cr_assert_eq (hv_define_emit (vm, &d, &pve, NULL), 0);
    d.target = HV_TARGET_KUBEVIRT;
    d.disk_path = NULL;
    vm->disks.ptr[0].capacity = UINT64_C (1) << 30;
    cr_assert_eq (hv_define_emit (vm, &d, &kv, &notes), 0, "%s",
                  vmshift_internal_error_msg ());

    /* libvirt: a tap device plugged into nothing, link down */
    cr_assert_null (strstr (lv, "<source network"), "%s", lv);
    cr_assert_null (strstr (lv, "<source bridge"));
    cr_assert_null (strstr (lv, "type='bridge'"));
    cr_assert_null (strstr (lv, "<vlan>"));
    cr_assert (strstr (lv, "<interface type='ethernet'>\n"
                       "      <mac address='00:50:56:01:02:03'/>\n"
                       "      <model type='e1000e'/>\n"
                       "      <link state='down'/>\n"), "%s", lv);
    cr_assert_null (strstr (lv, "br0"));
    /* Hyper-V: Add-VMNetworkAdapter without -SwitchName */
    cr_assert_null (strstr (ps, "-SwitchName"), "%s", ps);
    cr_assert (strstr (ps, "Add-VMNetworkAdapter -VM $vm -Name 'ethernet0' "
                       "-Passthru\n"), "%s", ps);
    cr_assert (strstr (ps, "Add-VMNetworkAdapter -VM $vm -Name 'ethernet1' "
                       "-Passthru\n"));
    cr_assert_null (strstr (ps, "VlanId"));
    /* Proxmox: no bridge, link down */
    cr_assert (strstr (pve, "net0: e1000e=00:50:56:01:02:03,link_down=1\n"),
               "%s", pve);
    cr_assert (strstr (pve, "net1: e1000e,link_down=1\n"), "%s", pve);
    cr_assert_null (strstr (pve, "bridge="));
    /* KubeVirt: no interface or network, no pod network added either */
    cr_assert_null (strstr (kv, "interfaces:"), "%s", kv);
    cr_assert_null (strstr (kv, "networks:"));
    cr_assert (strstr (kv, "autoattachPodInterface: false"), "%s", kv);
    cr_assert_eq (notes.len, 2);
    cr_assert (strstr (notes.ptr[0], "ethernet0: left out"));

    /* without the flag an unmapped network is still an error */
    d.nics_unattached = false;
    d.target = HV_TARGET_LIBVIRT;
    free (lv);
    lv = NULL;
    cr_assert_eq (hv_define_emit (vm, &d, &lv, NULL), -EINVAL);
    cr_assert (strstr (vmshift_internal_error_msg (), "'Unmapped'"));
    free (lv);
    free (ps);
    free (pve);
    free (kv);
    hv_str_vec_free (&notes);
    hv_netmap_release (&m);
    hv_vm_free (vm);
}

/* --------------------------------------------------------- injection */

/* A name with every metacharacter the issue lists: quotes of all kinds,
 * $() and backticks, a newline, XML markup, YAML indicators, a PowerShell
 * typographic quote and a byte that is not UTF-8. */
#define EVIL "a'b\"c$(touch pwned)`id`\n<x y='1'>&amp;]]>: - {k: v} # \xe2\x80\x99q\xff"
#define EVIL_VMX "a|27b|22c$(touch pwned)`id`|0A<x y='1'>&amp;]]>: - {k: v} # \xe2\x80\x99q\xff"

static struct hv_vm *
evil_vm (void)
{
    return vm_from ("displayName = \"" EVIL_VMX "\"\n"
                    "annotation = \"" EVIL_VMX "\"\n"
                    "guestOS = \"" EVIL_VMX "\"\n"
                    "scsi0.present = \"TRUE\"\nscsi0:0.present = \"TRUE\"\n"
                    "scsi0:0.fileName = \"" EVIL_VMX ".vmdk\"\n"
                    "ethernet0.present = \"TRUE\"\n"
                    "ethernet0.networkName = \"" EVIL_VMX "\"\n");
}

static const char evil_map[] =
    "{\"networks\": {\"*\": \"sw'\\\"$(x)`y`<z>&\"}, \"retain_mac\": true}";
static const char plain_map[] =
    "{\"networks\": {\"*\": \"br0\"}, \"retain_mac\": true}";

Test (injection, targets_a_platform_cannot_name_are_errors)
{
    struct hv_vm *vm = evil_vm ();
    struct hv_netmap m = parse_map (evil_map);
    struct hv_define d = { .target = HV_TARGET_LIBVIRT, .map = &m,
                           .retain_mac = -1 };
    char *text = NULL;

    cr_assert_eq (hv_define_emit (vm, &d, &text, NULL), -EINVAL);
    cr_assert (strstr (vmshift_internal_error_msg (), "libvirt bridge"));
    d.target = HV_TARGET_KUBEVIRT;
    cr_assert_eq (hv_define_emit (vm, &d, &text, NULL), -EINVAL);
    cr_assert (strstr (vmshift_internal_error_msg (), "Attachment"));
    d.target = HV_TARGET_HYPERV;
    cr_assert_eq (hv_define_emit (vm, &d, &text, NULL), 0, "Hyper-V switch "
                  "names are free text, quoted");
    free (text);
    hv_netmap_release (&m);
    hv_vm_free (vm);
}

Test (injection, name_survives_the_model)
{
    struct hv_vm *vm = evil_vm ();

    cr_assert_str_eq (vm->name, EVIL);
    cr_assert_str_eq (vm->nics.ptr[0].network, EVIL);
    hv_vm_free (vm);
}

Test (injection, libvirt_xml_is_well_formed_and_keeps_the_name)
{
    struct hv_vm *vm = evil_vm ();
    struct hv_netmap m = parse_map (plain_map);
    char *x = emit (vm, HV_TARGET_LIBVIRT, &m, false);
    xmlDocPtr doc = xmlReadMemory (x, (int) strlen (x), NULL, NULL,
                                   XML_PARSE_NONET);
    xmlNodePtr root, n;
    xmlChar *name;

    cr_assert_not_null (doc, "not well-formed:\n%s", x);
    root = xmlDocGetRootElement (doc);
    for (n = root->children; n && (n->type != XML_ELEMENT_NODE ||
                                   strcmp ((char *) n->name, "name")); ) {
        n = n->next;
    }
    cr_assert_not_null (n);
    name = xmlNodeGetContent (n);
    /* libvirt names cannot hold a newline (it became '_'); the invalid
     * byte became U+FFFD; everything else is as written. */
    cr_assert_null (strchr ((char *) name, '\n'));
    cr_assert (strncmp ((char *) name, EVIL, 23) == 0, "%s", name);
    cr_assert_eq (name[23], '_');
    cr_assert (strncmp ((char *) name + 24, EVIL + 24, strlen (EVIL) - 25)
               == 0);
    cr_assert_str_eq ((char *) name + strlen (EVIL) - 1, "\xef\xbf\xbd");
    xmlFree (name);
    xmlFreeDoc (doc);
    free (x);
    hv_netmap_release (&m);
    hv_vm_free (vm);
}

Test (injection, kubevirt_json_parses_and_keeps_the_name)
{
    struct hv_vm *vm = evil_vm ();
    struct hv_netmap m = parse_map (plain_map);
    char *j = emit (vm, HV_TARGET_KUBEVIRT, &m, true);
    char *y = emit (vm, HV_TARGET_KUBEVIRT, &m, false);
    struct json_val *v = NULL;
    char *got = NULL, *meta = NULL;

    cr_assert_eq (vs_json_parse (j, strlen (j), "emitted", &v), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (vs_json_get_str (v, "items[1].metadata.annotations."
                                "vmshift/source-name", &got), 0);
    cr_assert (strncmp (got, EVIL, strlen (EVIL) - 1) == 0);
    cr_assert_eq (vs_json_get_str (v, "items[1].metadata.name", &meta), 0);
    cr_assert_str_eq (meta, "a-b-c-touch-pwned-id-x-y-1-amp-k-v-q");
    /* YAML: no line may start with text from the name. */
    for (const char *p = y; (p = strchr (p, '\n')) != NULL; p++) {
        cr_assert (strncmp (p + 1, "<x", 2) != 0, "name broke a YAML line");
    }
    free (got);
    free (meta);
    vs_json_free (v);
    free (j);
    free (y);
    hv_netmap_release (&m);
    hv_vm_free (vm);
}

Test (injection, powershell_values_are_verbatim_strings_only)
{
    struct hv_vm *vm = evil_vm ();
    struct hv_netmap m = parse_map (evil_map);
    char *ps = emit (vm, HV_TARGET_HYPERV, &m, false);
    bool in = false, bol = true;
    struct sbuf lit;

    vs_sbuf_init (&lit, 4096);
    hv_esc_ps (&lit, EVIL);
    cr_assert (strstr (ps, lit.data), "name is not a verbatim literal");
    vs_sbuf_release (&lit);
    /* Outside single-quoted literals and comment lines, no double quote,
     * subexpression or backtick may appear: the script has none of its
     * own, so any would come from a name. */
    for (const char *p = ps; *p; p++) {
        if (!in && bol && *p == '#') {
            if ((p = strchr (p, '\n')) == NULL) {
                break;
            }
            continue;
        }
        bol = *p == '\n';
        if (*p == '\'') {
            in = !in;
            continue;
        }
        cr_assert (in || (*p != '"' && *p != '`' &&
                          !(p[0] == '$' && p[1] == '(')),
                   "metacharacter outside a literal at: %.40s", p);
    }
    cr_assert (!in, "unterminated literal");
    free (ps);
    hv_netmap_release (&m);
    hv_vm_free (vm);
}

Test (injection, proxmox_lines_stay_lines)
{
    struct hv_vm *vm = evil_vm ();
    struct hv_netmap m = parse_map ("{\"networks\": {\"*\": \"vmbr0\"}}");
    char *c = emit (vm, HV_TARGET_PROXMOX, &m, false);

    for (char *line = strtok (c, "\n"); line; line = strtok (NULL, "\n")) {
        if (line[0] == '#') {
            for (char *p = line; *p; p++) {
                cr_assert (*p >= 0x20 && *p < 0x7f && *p != ':',
                           "raw byte in description: %s", line);
            }
            continue;
        }
        cr_assert (strstr (line, ": ") != NULL, "not key: value: %s", line);
        cr_assert_null (strstr (line, "pwned)"), "name leaked: %s", line);
    }
    free (c);
    hv_netmap_release (&m);
    hv_vm_free (vm);
}

Test (injection, escapers_by_example)
{
    struct sbuf b;

    vs_sbuf_init (&b, 1024);
    hv_esc_ps (&b, "it's \xe2\x80\x98x\xe2\x80\x99");
    cr_assert_str_eq (b.data, "'it''s \xe2\x80\x98\xe2\x80\x98x\xe2\x80\x99"
                      "\xe2\x80\x99'");
    vs_sbuf_reset (&b);
    hv_esc_yaml (&b, "a\"\\\n\t\x01\x7f\xc2\x85\xe2\x80\xa8z");
    cr_assert_str_eq (b.data, "\"a\\\"\\\\\\n\\t\\u0001\\u007f\\u0085"
                      "\\u2028z\"");
    vs_sbuf_reset (&b);
    hv_esc_xml (&b, "<&>'\"\n\x01");
    cr_assert_str_eq (b.data, "&lt;&amp;&gt;&apos;&quot;&#10;\xef\xbf\xbd");
    vs_sbuf_reset (&b);
    hv_esc_comment (&b, "a\nb\r\xc2\x85z");
    cr_assert_str_eq (b.data, "a?b??z");
    vs_sbuf_reset (&b);
    hv_esc_pve_text (&b, "a: 100%\n\xc3\xa9");
    cr_assert_str_eq (b.data, "a%3A 100%25%0A%C3%A9");
    vs_sbuf_reset (&b);
    hv_dns_label (&b, "--My VM__(Prod)--", 63);
    cr_assert_str_eq (b.data, "my-vm-prod");
    vs_sbuf_reset (&b);
    hv_dns_label (&b, "\xe2\x80\x99", 63);
    cr_assert_str_eq (b.data, "vm");
    vs_sbuf_release (&b);
}
