/* hypervisors/netmap.c: the network map and overrides, and how the plan
 * uses them (unmapped networks, VLANs, MACs, CPU/memory, formats). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "hypervisors/hv.h"

static struct hv_netmap
map_ok (const char *json)
{
    struct hv_netmap m;
    int r = hv_netmap_parse (json, strlen (json), "'m.json'", &m);

    cr_assert_eq (r, 0, "%s: %s", json, vmshift_internal_error_msg ());
    return m;
}

static void
map_bad (const char *json, const char *needle)
{
    struct hv_netmap m;

    cr_assert_lt (hv_netmap_parse (json, strlen (json), "'m.json'", &m), 0,
                  "accepted %s", json);
    cr_assert (strstr (vmshift_internal_error_msg (), needle) != NULL,
               "'%s' lacks '%s'", vmshift_internal_error_msg (), needle);
    cr_assert (strstr (vmshift_internal_error_msg (), "m.json") != NULL);
}

Test (netmap, the_issue_form_is_accepted)
{
    struct hv_netmap m = map_ok ("{\"networks\": {\"VM Network\": {\"target\": "
                                 "\"br0\", \"vlan\": 10}}, \"retain_mac\": "
                                 "true}");
    const struct hv_netmap_entry *e = hv_netmap_find (&m, "VM Network");

    cr_assert_not_null (e);
    cr_assert_str_eq (e->target, "br0");
    cr_assert_eq (e->vlan, 10);
    cr_assert_eq (m.retain_mac, 1);
    cr_assert_null (hv_netmap_find (&m, "Other"));
    hv_netmap_release (&m);
}

Test (netmap, shorthand_wildcard_case_and_overrides)
{
    struct hv_netmap m = map_ok (
        "{\"networks\": {\"Prod\": \"vmbr1\", \"*\": {\"target\": \"vmbr0\"}},"
        " \"vcpus\": 4, \"cores_per_socket\": 2, \"memory_mib\": 8192,"
        " \"disk_format\": {\"proxmox\": \"raw\"}, \"disk_bus\": \"virtio\","
        " \"nic_model\": \"e1000e\", \"comment\": \"wave 3\"}");

    cr_assert_str_eq (hv_netmap_find (&m, "Prod")->target, "vmbr1");
    cr_assert_str_eq (hv_netmap_find (&m, "PROD")->target, "vmbr1");
    cr_assert_str_eq (hv_netmap_find (&m, "anything")->target, "vmbr0");
    cr_assert_eq (m.retain_mac, -1);
    cr_assert_eq (m.vcpus, 4);
    cr_assert_eq (m.cores_per_socket, 2);
    cr_assert_eq (m.memory_mib, 8192);
    cr_assert_str_eq (m.disk_format[HV_TARGET_PROXMOX], "raw");
    cr_assert_null (m.disk_format[HV_TARGET_LIBVIRT]);
    cr_assert_eq (m.disk_bus, HV_CHOICE_VIRTIO);
    cr_assert_eq (m.nic_model, HV_CHOICE_E1000E);
    hv_netmap_release (&m);
}

Test (netmap, bad_maps_are_clear_errors)
{
    map_bad ("{\"retain_macs\": true}", "unknown key 'retain_macs'");
    map_bad ("{\"networks\": {\"A\": {\"target\": \"b\", \"vlan\": 4095}}}",
             "vlan 4095");
    map_bad ("{\"networks\": {\"A\": {\"vlan\": 3}}}", "network 'A'");
    map_bad ("{\"networks\": {\"A\": {\"target\": \"b\", \"tag\": 3}}}",
             "unknown key 'tag'");
    map_bad ("{\"networks\": {\"A\": \"\"}}", "1 to 255");
    map_bad ("{\"networks\": {\"A\": \"b\\nc\"}}", "control character");
    map_bad ("{\"networks\": {\"A\": 5}}", "expected a target name");
    map_bad ("{\"networks\": {\"A\": \"x\", \"A\": \"y\"}}", "mapped twice");
    map_bad ("{\"networks\": [\"A\"]}", "must be an object");
    map_bad ("{\"vcpus\": 6, \"cores_per_socket\": 4}", "multiple of cores");
    map_bad ("{\"memory_mib\": 1}", "out of range");
    map_bad ("{\"disk_format\": \"vmdk\"}", "'vmdk' is not raw");
    map_bad ("{\"disk_bus\": \"floppy\"}", "'floppy' is not one");
    map_bad ("{\"retain_mac\": \"yes\"}", "retain_mac");
    map_bad ("[1]", "expected a JSON object");
    map_bad ("{\"networks\": ", "malformed JSON");
}

static struct hv_vm *
vm_with_nics (void)
{
    static const char vmx[] =
        "displayName = \"v\"\nguestOS = \"rhel8-64\"\nnumvcpus = \"8\"\n"
        "cpuid.coresPerSocket = \"4\"\nmemsize = \"4096\"\n"
        "scsi0.present = \"TRUE\"\nscsi0:0.present = \"TRUE\"\n"
        "scsi0:0.fileName = \"v.vmdk\"\n"
        "ethernet0.present = \"TRUE\"\nethernet0.networkName = \"Prod\"\n"
        "ethernet0.generatedAddress = \"00:0c:29:01:02:03\"\n"
        "ethernet1.present = \"TRUE\"\nethernet1.networkName = \"Backup\"\n";
    struct hv_vm *vm = NULL;

    cr_assert_eq (hv_vm_from_vmx (vmx, sizeof vmx - 1, "v.vmx", "v", &vm), 0);
    return vm;
}

Test (netmap, unmapped_network_is_an_error_naming_it)
{
    struct hv_netmap m = map_ok ("{\"networks\": {\"Prod\": \"br0\"}}");
    struct hv_define d = { .target = HV_TARGET_LIBVIRT, .map = &m,
                           .retain_mac = -1 };
    struct hv_vm *vm = vm_with_nics ();
    char *text = NULL;

    cr_assert_eq (hv_define_emit (vm, &d, &text, NULL), -EINVAL);
    cr_assert_null (text);
    cr_assert (strstr (vmshift_internal_error_msg (), "ethernet1 is on "
                       "network 'Backup'") != NULL, "%s",
               vmshift_internal_error_msg ());
    d.map = NULL;
    cr_assert_eq (hv_define_emit (vm, &d, &text, NULL), -EINVAL);
    cr_assert (strstr (vmshift_internal_error_msg (), "'Prod'") != NULL);
    hv_netmap_release (&m);
    hv_vm_free (vm);
}

Test (netmap, plan_applies_vlan_mac_and_overrides)
{
    struct hv_netmap m = map_ok ("{\"networks\": {\"Prod\": {\"target\": "
                                 "\"br0\", \"vlan\": 20}, \"*\": \"br9\"},"
                                 " \"retain_mac\": true, \"vcpus\": 6}");
    struct hv_define d = { .target = HV_TARGET_LIBVIRT, .map = &m,
                           .retain_mac = -1, .memory_mib = 1024 };
    struct hv_vm *vm = vm_with_nics ();
    struct hv_plan p;

    cr_assert_eq (hv_plan_build (vm, &d, &p), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (p.vcpus, 6);
    cr_assert_eq (p.cores, 1, "4 cores/socket does not divide 6 vCPUs");
    cr_assert_eq (p.sockets, 6);
    cr_assert_eq (p.memory_mib, 1024);
    cr_assert_str_eq (p.nics.ptr[0].target, "br0");
    cr_assert_eq (p.nics.ptr[0].vlan, 20);
    cr_assert (p.nics.ptr[0].mac);
    cr_assert_str_eq (p.nics.ptr[1].target, "br9");
    cr_assert (!p.nics.ptr[1].mac, "ethernet1 has no MAC to keep");
    cr_assert_str_eq (p.nics.ptr[0].model, "virtio");
    cr_assert_str_eq (p.disks.ptr[0].bus, "virtio");
    cr_assert_str_eq (p.disks.ptr[0].path, "/var/lib/libvirt/images/v.qcow2");
    hv_plan_release (&p);
    d.retain_mac = 0;
    d.vcpus = 0;
    d.disk_format = "vhdx";
    cr_assert_eq (hv_plan_build (vm, &d, &p), -EINVAL);
    cr_assert (strstr (vmshift_internal_error_msg (), "'vhdx' does not suit"));
    d.disk_format = "raw";
    cr_assert_eq (hv_plan_build (vm, &d, &p), 0);
    cr_assert (!p.nics.ptr[0].mac);
    cr_assert_eq (p.vcpus, 6);
    cr_assert_str_eq (p.disks.ptr[0].file, "v.raw");
    hv_plan_release (&p);
    hv_netmap_release (&m);
    hv_vm_free (vm);
}

Test (netmap, proxmox_needs_a_vmid_and_bridge_names)
{
    struct hv_netmap m = map_ok ("{\"networks\": {\"*\": \"br 0\"}}");
    struct hv_define d = { .target = HV_TARGET_PROXMOX, .map = &m,
                           .retain_mac = -1 };
    struct hv_vm *vm = vm_with_nics ();
    char *text = NULL;

    cr_assert_eq (hv_define_emit (vm, &d, &text, NULL), -EINVAL);
    cr_assert (strstr (vmshift_internal_error_msg (), "VM id"));
    d.vmid = 101;
    cr_assert_eq (hv_define_emit (vm, &d, &text, NULL), -EINVAL);
    cr_assert (strstr (vmshift_internal_error_msg (), "'br 0' is not a "
                       "Proxmox bridge"));
    d.disk_path = "/mnt/x";
    cr_assert_eq (hv_define_emit (vm, &d, &text, NULL), -EINVAL);
    cr_assert (strstr (vmshift_internal_error_msg (), "storage id"));
    hv_netmap_release (&m);
    hv_vm_free (vm);
}

/* One map file serves both 'define' and 'guest-scripts': define accepts
 * (and leaves alone) the guest section. */
Test (netmap, guest_section_is_left_to_guest_scripts)
{
    struct hv_netmap m = map_ok ("{\"networks\": {\"VM Network\": \"br0\"}, "
                                 "\"retain_mac\": true, \"guest\": {\"mode\": "
                                 "\"retain\", \"nics\": []}}");

    cr_assert_not_null (hv_netmap_find (&m, "VM Network"));
    hv_netmap_release (&m);
    map_bad ("{\"networks\": {}, \"guests\": {}}", "unknown key 'guests'");
}
