/* engine/workflow/vcsource.c: a VM's facts from the vCenter inventory
 * (the JSON object vmshift inventory --json prints, as a run journals
 * it) become the model the target definition is emitted from; the
 * folder groups pick their VMs; the guest IPs go into the bundle file. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "engine/base/json.h"
#include "engine/workflow/vcsource.h"
#include "hypervisors/hv.h"

static const char facts[] =
    "{\"name\":\"db01\",\"id\":\"vm-42\",\"power_state\":\"poweredOn\","
    "\"guest_id\":\"rhel8_64Guest\",\"firmware\":\"efi\",\"secure_boot\":true,"
    "\"cpus\":4,\"memory_mib\":8192,\"folder\":\"/DC0/vm/shop\","
    "\"nics\":[{\"label\":\"Network adapter 1\",\"mac\":\"00:50:56:AB:CD:EF\","
    "\"network\":\"VM Network\",\"network_kind\":\"standard\","
    "\"ips\":[\"192.0.2.10\",\"fe80::1\"]},"
    "{\"mac\":\"00:50:56:00:00:02\",\"network\":\"DPG-backup\","
    "\"network_kind\":\"distributed\",\"ips\":[]}],"
    "\"disks\":[{\"file\":\"[ds1] db01/db01_1.vmdk\",\"controller\":\"scsi0:1\","
    "\"capacity_bytes\":2048,\"thin\":true,\"mode\":\"persistent\","
    "\"location\":\"ontap://p/vol1/db01/db01_1.vmdk\"},"
    "{\"file\":\"[ds1] db01/db01.vmdk\",\"controller\":\"scsi0:0\","
    "\"capacity_bytes\":1024,\"thin\":false,\"mode\":\"persistent\","
    "\"location\":\"ontap://p/vol1/db01/db01.vmdk\"}],"
    "\"snapshots\":[\"before\"],\"blockers\":[]}";

Test (vcsource, model_from_facts)
{
    struct hv_vm *m = NULL;
    struct sbuf p;

    vs_sbuf_init (&p, 1 << 20);
    cr_assert_eq (wf_vc_model (facts, &m, &p), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (p.len, 0, "no problems: %.*s", (int) p.len, p.data);
    cr_assert_str_eq (m->name, "db01");
    cr_assert_str_eq (m->guest_os, "rhel8_64Guest");
    cr_assert_eq (hv_os_family (m->guest_os), HV_OS_LINUX);
    cr_assert_eq (m->vcpus, 4);
    cr_assert_eq (m->memory_mib, 8192);
    cr_assert_eq (m->firmware, HV_FW_EFI);
    cr_assert (m->secure_boot);
    /* disks in slot order, each file its ontap:// location */
    cr_assert_eq (m->disks.len, 2);
    cr_assert_str_eq (m->disks.ptr[0].file, "ontap://p/vol1/db01/db01.vmdk");
    cr_assert_eq (m->disks.ptr[0].bus, HV_BUS_SCSI);
    cr_assert_eq (m->disks.ptr[0].unit, 0);
    cr_assert_eq (m->disks.ptr[0].capacity, 1024);
    cr_assert_str_eq (m->disks.ptr[0].target_name, "db01");
    cr_assert_eq (m->disks.ptr[1].unit, 1);
    cr_assert_str_eq (m->disks.ptr[1].target_name, "db01_1");
    cr_assert_eq (m->ctrls.len, 1);
    cr_assert_eq (m->nics.len, 2);
    cr_assert_str_eq (m->nics.ptr[0].mac, "00:50:56:ab:cd:ef");
    cr_assert_str_eq (m->nics.ptr[0].network, "VM Network");
    cr_assert_str_eq (m->nics.ptr[1].network, "DPG-backup");
    hv_vm_free (m);
    vs_sbuf_release (&p);
}

Test (vcsource, what_cannot_go_is_a_problem)
{
    static const char bad[] =
        "{\"name\":\"x\",\"cpus\":1,\"memory_mib\":512,\"firmware\":\"bios\","
        "\"nics\":[],\"disks\":[{\"file\":\"[vmfs1] x/x.vmdk\","
        "\"controller\":\"scsi0:0\",\"location\":null,\"location_problem\":"
        "\"datastore 'vmfs1' is VMFS: not on ONTAP NFS\"},"
        "{\"file\":\"[ds1] x/y.vmdk\",\"controller\":\"scsi0:1\","
        "\"location\":\"ontap://p/v/x/y.vmdk\"}],"
        "\"blockers\":[{\"kind\":\"rdm\",\"device\":\"scsi0:2\"},"
        "{\"kind\":\"pci-passthrough\",\"device\":\"pci:13000\"}]}";
    struct hv_vm *m = NULL;
    struct sbuf p;
    char *s;

    vs_sbuf_init (&p, 1 << 20);
    cr_assert_eq (wf_vc_model (bad, &m, &p), 0);
    s = vs_sbuf_detach (&p, NULL);
    cr_assert_not_null (strstr (s, "disk '[vmfs1] x/x.vmdk' (scsi0:0): "
                                "datastore 'vmfs1' is VMFS"), "%s", s);
    cr_assert_not_null (strstr (s, "scsi0:2: rdm will not carry over"), "%s",
                        s);
    cr_assert_null (strstr (s, "pci"), "passthrough is a warning: %s", s);
    cr_assert_eq (m->disks.len, 1);
    cr_assert_eq (m->firmware, HV_FW_BIOS);
    free (s);
    hv_vm_free (m);
}

Test (vcsource, folder_picks_and_facts)
{
    static const char inv[] =
        "{\"vcenter\":\"vc1\",\"vms\":["
        "{\"name\":\"a\",\"folder\":\"/DC0/vm/web\"},"
        "{\"name\":\"b\",\"folder\":\"/DC0/vm/web/x\"},"
        "{\"name\":\"c\",\"folder\":\"/DC0/vm/webs\"},"
        "{\"name\":\"d\",\"folder\":\"/DC0/vm\"},"
        "{\"name\":\"d\",\"folder\":\"/DC1/vm\"}]}";
    struct wf_bp_group g[2] = { { .name = (char *) "g0" },
                                { .name = (char *) "g1",
                                  .folder = (char *) "/DC0/vm/web/" } };
    struct wf_blueprint bp = { .groups = g, .ngroups = 2 };
    struct wf_bp_pick *picks;
    size_t n;
    char *f, *why;

    cr_assert_eq (wf_vc_picks (inv, &bp, &picks, &n), 0);
    cr_assert_eq (n, 2, "the folder and below, not /DC0/vm/webs");
    cr_assert_str_eq (picks[0].name, "a");
    cr_assert_str_eq (picks[1].name, "b");
    cr_assert_eq (picks[1].group, 1);
    wf_vc_picks_free (picks, n);
    cr_assert_eq (wf_vc_facts (inv, "vc1", "b", &f, &why), 0);
    cr_assert_not_null (strstr (f, "\"folder\":\"/DC0/vm/web/x\""), "%s", f);
    cr_assert_null (why);
    free (f);
    cr_assert_eq (wf_vc_facts (inv, "vc1", "z", &f, &why), 0);
    cr_assert_null (f);
    cr_assert_str_eq (why, "vCenter 'vc1' has no VM named 'z'");
    free (why);
    cr_assert_eq (wf_vc_facts (inv, "vc1", "d", &f, &why), 0);
    cr_assert_str_eq (why, "vCenter 'vc1' has 2 VMs named 'd': rename one");
    free (why);
}

Test (vcsource, guest_ips_file)
{
    struct json_val *v = NULL;
    char *s;

    cr_assert_eq (wf_vc_ips_file (facts, &s), 0);
    cr_assert_eq (vs_json_parse (s, strlen (s), "ips", &v), 0);
    cr_assert_str_eq (vs_json_string_value (vs_json_get (v, "vm")), "db01");
    cr_assert_eq (vs_json_array_len (vs_json_get (v, "nics")), 2);
    cr_assert_not_null (strstr (s, "\"192.0.2.10\""), "%s", s);
    cr_assert_not_null (strstr (s, "\"00:50:56:AB:CD:EF\""), "%s", s);
    vs_json_free (v);
    free (s);
}

/* The record for the re-apply script: prefix lengths kept, DHCP and
 * SLAAC addresses dynamic, kernel and multicast routes left out, the
 * routes of a DHCP-only NIC left out, and every value the guest
 * reported that is not an address or a domain name dropped. */
Test (vcsource, guest_record_file)
{
    static const char f[] =
        "{\"guest_id\": \"rhel9_64Guest\", \"nics\": ["
        "{\"mac\": \"00:50:56:AB:CD:EF\", \"guest_index\": 0,"
        " \"addresses\": ["
        "  {\"address\": \"192.0.2.10\", \"prefix\": 24,"
        "   \"origin\": \"manual\"},"
        "  {\"address\": \"192.0.2.11\", \"prefix\": 24},"
        "  {\"address\": \"2001:db8::99\", \"prefix\": 64,"
        "   \"origin\": \"random\"},"
        "  {\"address\": \"1.2.3.4'$(reboot)\", \"prefix\": 24},"
        "  {\"address\": \"192.0.2.12\", \"prefix\": 33},"
        "  {\"address\": \"192.0.2.13\", \"prefix\": 0}],"
        " \"dns\": {\"servers\": [\"192.0.2.54\"], \"search\": []}},"
        "{\"mac\": \"00:50:56:00:00:02\", \"guest_index\": 1,"
        " \"addresses\": [{\"address\": \"198.51.100.7\", \"prefix\": 24,"
        "  \"origin\": \"dhcp\"}]},"
        "{\"mac\": \"00:50:56:00:00:03\\n\", \"addresses\": []}],"
        " \"ip_stack\": {\"routes\": ["
        "  {\"network\": \"0.0.0.0\", \"prefix\": 0,"
        "   \"gateway\": \"192.0.2.1\"},"
        "  {\"network\": \"0.0.0.0\", \"prefix\": 0,"
        "   \"gateway\": \"198.51.100.1\","
        "   \"device\": \"1\"},"
        "  {\"network\": \"192.0.2.0\", \"prefix\": 24, \"device\": \"0\"},"
        "  {\"network\": \"224.0.0.0\", \"prefix\": 4, \"device\": \"0\"}],"
        " \"dns\": {\"servers\": [\"192.0.2.53\", \"x\\\"y\"],"
        "  \"domain\": \"ex.com\","
        "  \"search\": [\"a b\", \"corp.ex.com\"]}}}";
    struct json_val *v = NULL;
    const struct json_val *n0, *a;
    char *s, *sum;

    cr_assert_eq (wf_vc_record_file (f, &s, &sum), 0);
    cr_assert_eq (vs_json_parse (s, strlen (s), "record", &v), 0, "%s", s);
    cr_assert_str_eq (vs_json_string_value (vs_json_get (v, "source")),
                      "vmware-tools");
    cr_assert_eq (vs_json_array_len (vs_json_get (v, "nics")), 2, "%s", s);
    n0 = vs_json_array_at (vs_json_get (v, "nics"), 0);
    cr_assert_str_eq (vs_json_string_value (vs_json_get (n0, "mac")),
                      "00:50:56:ab:cd:ef");
    a = vs_json_get (n0, "addresses");
    cr_assert_eq (vs_json_array_len (a), 3, "%s", s);
    cr_assert_not_null (strstr (s, "\"192.0.2.11\",\n"), "%s", s);
    cr_assert_null (strstr (s, "reboot"), "%s", s);
    cr_assert_null (strstr (s, "192.0.2.12"), "%s", s);
    cr_assert_null (strstr (s, "192.0.2.13"), "no prefix known: %s", s);
    cr_assert_null (strstr (s, "x\\\"y"), "%s", s);
    cr_assert_null (strstr (s, "a b"), "%s", s);
    cr_assert_null (strstr (s, "198.51.100.1\""), "DHCP route kept: %s", s);
    cr_assert_null (strstr (s, "224.0.0.0"), "%s", s);
    cr_assert_null (strstr (s, "192.0.2.0/24"), "kernel route kept: %s", s);
    cr_assert_not_null (strstr (s, "\"dst\": \"default\""), "%s", s);
    cr_assert_not_null (strstr (s, "\"ex.com\",\n"), "%s", s);
    cr_assert_not_null (strstr (s, "\"192.0.2.54\""), "%s", s);
    cr_assert_not_null (strstr (sum, "2 NIC(s), 2 static and 2 DHCP"),
                        "%s", sum);
    cr_assert_not_null (strstr (sum, "dropped"), "%s", sum);
    vs_json_free (v);
    free (s);
    free (sum);
}

/* The Windows record (windows-prepare.ps1's format): 'Manual' origins
 * for the static addresses only, a DHCP NIC stays DHCP with no static
 * DNS, default routes as 0.0.0.0/0 with their gateway, on-link routes
 * left out, per-adapter DNS split by family, the search list and the
 * primary suffix apart, and every hostile or invalid value dropped. */
Test (vcsource, guest_record_file_windows)
{
    static const char f[] =
        "{\"guest_id\": \"windows2019srv_64Guest\", \"nics\": ["
        "{\"mac\": \"00:50:56:AB:CD:EF\", \"guest_index\": 0,"
        " \"addresses\": ["
        "  {\"address\": \"192.0.2.10\", \"prefix\": 24,"
        "   \"origin\": \"manual\"},"
        "  {\"address\": \"2001:db8::10\", \"prefix\": 64},"
        "  {\"address\": \"fe80::1\", \"prefix\": 64,"
        "   \"origin\": \"linklayer\"},"
        "  {\"address\": \"2001:db8::99\", \"prefix\": 64,"
        "   \"origin\": \"random\"},"
        "  {\"address\": \"192.0.2.13\", \"prefix\": 24,"
        "   \"origin\": \"manual\", \"state\": \"duplicate\"},"
        "  {\"address\": \"1.2.3.4`$(Restart-Computer)\", \"prefix\": 24},"
        "  {\"address\": \"192.0.2.12\", \"prefix\": 33}],"
        " \"dns\": {\"servers\": [\"192.0.2.54\", \"2001:db8::54\","
        "  \"1.1.1.1; iex x\"], \"domain\": \"corp.ex.com'; calc\","
        "  \"search\": []}},"
        "{\"mac\": \"00:50:56:00:00:02\", \"guest_index\": 1,"
        " \"addresses\": [{\"address\": \"198.51.100.7\", \"prefix\": 24,"
        "  \"origin\": \"dhcp\"}],"
        " \"dns\": {\"servers\": [\"198.51.100.53\"],"
        "  \"domain\": \"dhcp.ex.com\", \"search\": []}},"
        "{\"mac\": \"00:50:56:00:00:03\\n\", \"addresses\": []}],"
        " \"ip_stack\": {\"routes\": ["
        "  {\"network\": \"0.0.0.0\", \"prefix\": 0,"
        "   \"gateway\": \"192.0.2.1\", \"device\": \"0\"},"
        "  {\"network\": \"10.9.0.0\", \"prefix\": 16,"
        "   \"gateway\": \"192.0.2.254\", \"device\": \"0\"},"
        "  {\"network\": \"10.8.0.0\", \"prefix\": 16, \"device\": \"0\"},"
        "  {\"network\": \"::\", \"prefix\": 0,"
        "   \"gateway\": \"2001:db8::1\", \"device\": \"0\"},"
        "  {\"network\": \"0.0.0.0\", \"prefix\": 0,"
        "   \"gateway\": \"198.51.100.1\", \"device\": \"1\"},"
        "  {\"network\": \"192.0.2.10\", \"prefix\": 32, \"device\": \"0\"}],"
        " \"dns\": {\"servers\": [\"192.0.2.53\"],"
        "  \"domain\": \"ex.com\","
        "  \"search\": [\"corp.ex.com\", \"a\\nb\", \"$(x)\"]}}}";
    struct json_val *v = NULL;
    const struct json_val *nics, *n0, *n1, *a, *r, *d;
    char *s, *sum;
    bool b;

    cr_assert_eq (wf_vc_win_record_file (f, &s, &sum), 0);
    cr_assert_eq (vs_json_parse (s, strlen (s), "record", &v), 0, "%s", s);
    cr_assert_str_eq (vs_json_string_value (vs_json_get (v, "source")),
                      "vmware-tools");
    cr_assert_str_eq (vs_json_string_value (
                          vs_json_get (vs_json_get (v, "os"), "id")),
                      "windows");
    nics = vs_json_get (v, "nics");
    cr_assert_eq (vs_json_array_len (nics), 2, "%s", s);
    n0 = vs_json_array_at (nics, 0);
    n1 = vs_json_array_at (nics, 1);
    cr_assert_str_eq (vs_json_string_value (vs_json_get (n0, "mac")),
                      "00:50:56:ab:cd:ef");
    cr_assert_str_eq (vs_json_string_value (vs_json_get (n0, "name")),
                      "vcenter-nic0");
    /* the static NIC */
    cr_assert_eq (vs_json_get_bool (n0, "dhcp4", &b), 0);
    cr_assert (!b, "%s", s);
    a = vs_json_get (n0, "addresses");
    cr_assert_eq (vs_json_array_len (a), 4, "%s", s);
    {
        static const char *const want[][3] = {
            { "192.0.2.10", "24", "Manual" },
            { "2001:db8::10", "64", "Manual" },
            { "fe80::1", "64", "WellKnown" },
            { "2001:db8::99", "64", "RouterAdvertisement" },
        };

        for (size_t i = 0; i < 4; i++) {
            const struct json_val *x = vs_json_array_at (a, i);
            int64_t p;

            cr_assert_str_eq (vs_json_string_value (
                                  vs_json_get (x, "address")), want[i][0]);
            cr_assert_eq (vs_json_get_i64 (x, "prefix", &p), 0);
            cr_assert_eq (p, atoi (want[i][1]));
            cr_assert_str_eq (vs_json_string_value (
                                  vs_json_get (x, "origin")), want[i][2]);
        }
    }
    r = vs_json_get (n0, "routes");
    cr_assert_eq (vs_json_array_len (r), 3, "%s", s);
    cr_assert_not_null (strstr (s, "\"dst\": \"0.0.0.0/0\",\n"), "%s", s);
    cr_assert_not_null (strstr (s, "\"gateway\": \"192.0.2.1\""), "%s", s);
    cr_assert_not_null (strstr (s, "\"dst\": \"10.9.0.0/16\""), "%s", s);
    cr_assert_not_null (strstr (s, "\"dst\": \"::/0\""), "%s", s);
    cr_assert_null (strstr (s, "10.8.0.0"), "on-link route kept: %s", s);
    cr_assert_null (strstr (s, "192.0.2.10/32"), "host route kept: %s", s);
    d = vs_json_get (n0, "dns");
    cr_assert_eq (vs_json_array_len (vs_json_get (d, "static4")), 1, "%s", s);
    cr_assert_str_eq (vs_json_string_value (vs_json_array_at (
                          vs_json_get (d, "static4"), 0)), "192.0.2.54");
    cr_assert_str_eq (vs_json_string_value (vs_json_array_at (
                          vs_json_get (d, "static6"), 0)), "2001:db8::54");
    cr_assert_eq (vs_json_array_len (vs_json_get (d, "static6")), 1, "%s", s);
    cr_assert_str_eq (vs_json_string_value (vs_json_get (d, "suffix")), "",
                      "%s", s);
    /* the DHCP NIC: DHCP, no routes, no static DNS or suffix */
    cr_assert_eq (vs_json_get_bool (n1, "dhcp4", &b), 0);
    cr_assert (b, "DHCP is not DHCP: %s", s);
    cr_assert_str_eq (vs_json_string_value (vs_json_get (
                          vs_json_array_at (vs_json_get (n1, "addresses"), 0),
                          "origin")), "Dhcp");
    cr_assert_eq (vs_json_array_len (vs_json_get (n1, "routes")), 0, "%s", s);
    d = vs_json_get (n1, "dns");
    cr_assert_eq (vs_json_array_len (vs_json_get (d, "static4")), 0, "%s", s);
    cr_assert_str_eq (vs_json_string_value (vs_json_get (d, "suffix")), "");
    cr_assert_null (strstr (s, "198.51.100.1\""), "DHCP route kept: %s", s);
    /* the stack: the search list and the primary suffix */
    d = vs_json_get (v, "dns");
    cr_assert_eq (vs_json_array_len (vs_json_get (d, "search")), 1, "%s", s);
    cr_assert_str_eq (vs_json_string_value (vs_json_array_at (
                          vs_json_get (d, "search"), 0)), "corp.ex.com");
    cr_assert_str_eq (vs_json_string_value (vs_json_get (d,
                                                         "primary_suffix")),
                      "ex.com");
    /* nothing hostile or invalid got through */
    cr_assert_null (strstr (s, "Restart"), "%s", s);
    cr_assert_null (strstr (s, "iex"), "%s", s);
    cr_assert_null (strstr (s, "calc"), "%s", s);
    cr_assert_null (strstr (s, "$("), "%s", s);
    cr_assert_null (strstr (s, "\\n"), "%s", s);
    cr_assert_null (strstr (s, "192.0.2.12"), "%s", s);
    cr_assert_null (strstr (s, "192.0.2.13"), "%s", s);
    cr_assert_not_null (strstr (sum, "2 NIC(s), 2 static and 2 DHCP"),
                        "%s", sum);
    cr_assert_not_null (strstr (sum, "3 route(s), values that failed"),
                        "%s", sum);
    vs_json_free (v);
    free (s);
    free (sum);
}

Test (vcsource, volume_of_a_location)
{
    char *s = wf_vc_volume_of ("ontap://p/vol1/a/b.vmdk");

    cr_assert_str_eq (s, "ontap://p/vol1");
    free (s);
    cr_assert_null (wf_vc_volume_of ("/local/a.vmdk"));
}
