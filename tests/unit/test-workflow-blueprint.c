/* engine/workflow/blueprint.c: the documented example parses to what it
 * says; every error of docs/blueprint.md is one line naming the key. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "engine/workflow/blueprint.h"

static char *
slurp (const char *rel, size_t *len)
{
    char path[512];
    const char *top = getenv ("VMSHIFT_TOP");
    FILE *f;
    char *buf = malloc (1 << 16);

    snprintf (path, sizeof path, "%s/%s", top ? top : ".", rel);
    f = fopen (path, "r");
    cr_assert_not_null (f, "%s", path);
    *len = fread (buf, 1, (1 << 16) - 1, f);
    buf[*len] = '\0';
    fclose (f);
    return buf;
}

Test (blueprint, documented_example)
{
    struct wf_blueprint bp;
    size_t len;
    char *buf = slurp ("tests/data/blueprint/wave1.json", &len);
    char *t;

    cr_assert_eq (wf_blueprint_parse (buf, len, "'wave1.json'", &bp), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_str_eq (bp.name, "wave1");
    cr_assert_str_eq (bp.datastore, "ontap://prod/ds01");
    cr_assert_not (bp.allow_powered_on);
    cr_assert_eq (bp.hypervisor, HV_TARGET_LIBVIRT);
    cr_assert_str_eq (bp.uri, "qemu:///system");
    cr_assert_str_eq (bp.location, "ontap://prod/ds01/kvm");
    cr_assert_str_eq (bp.test_location, "ontap://prod/ds01/kvm-test");
    cr_assert_eq (bp.ip, WF_BP_IP_RETAIN);
    cr_assert_eq (bp.concurrency, 10);
    cr_assert_eq (bp.map.nets.len, 2);
    cr_assert_eq (bp.map.retain_mac, 1);
    cr_assert_eq (bp.ngroups, 3);
    cr_assert_eq (bp.nvms, 4);
    /* In boot order: db (1), app (2), web (3, as listed in the group). */
    cr_assert_str_eq (bp.vms[0].name, "db01");
    cr_assert_eq (bp.vms[0].memory_mib, 16384);
    cr_assert_eq (bp.vms[0].cpus, 4);
    cr_assert_str_eq (bp.groups[bp.vms[0].group].name, "db");
    cr_assert_eq (bp.groups[bp.vms[0].group].boot_delay, 60);
    cr_assert_str_eq (bp.vms[1].name, "app01");
    cr_assert_str_eq (bp.vms[1].format, "raw");
    cr_assert_str_eq (bp.vms[2].name, "web01");
    cr_assert (bp.vms[2].power_on);
    cr_assert_eq (bp.vms[2].retain_mac, -1);
    cr_assert_str_eq (bp.vms[3].name, "web02");
    cr_assert_not (bp.vms[3].power_on);
    cr_assert_eq (bp.vms[3].retain_mac, 0);
    cr_assert_str_eq (bp.vms[3].target_name, "web02-kvm");
    t = wf_bp_target_name (&bp.vms[3], true);
    cr_assert_str_eq (t, "web02-kvm-vmshift-test");
    free (t);
    wf_blueprint_release (&bp);
    free (buf);
}

#define BASE_HEAD "{\"name\":\"w\",\"source\":{\"datastore\":\"/ds\"}," \
    "\"target\":{\"hypervisor\":\"libvirt\",\"uri\":\"test:///default\"," \
    "\"location\":\"/t\"},"

#define VC_HEAD(extra) "{\"name\":\"w\",\"source\":{\"vcenter\":\"vc1\"," \
    extra "}"
#define TGT ",\"target\":{\"hypervisor\":\"libvirt\"," \
    "\"uri\":\"test:///default\",\"location\":\"/t\"},"

struct bad {
    const char *json;
    const char *want;           /* substring of the message */
};

static const struct bad bads[] = {
    { BASE_HEAD "\"groups\":[{\"name\":\"g\",\"vms\":[\"a\"]}],"
      "\"vms\":{\"a\":{\"vmx\":\"a.vmx\",\"cpu\":2}}}",
      "vms.a: unknown key 'cpu'" },
    { BASE_HEAD "\"group\":[]}", "top level: unknown key 'group'" },
    { BASE_HEAD "\"groups\":[{\"name\":\"g1\",\"vms\":[\"a\"]},"
      "{\"name\":\"g2\",\"vms\":[\"a\"]}],\"vms\":{\"a\":{\"vmx\":\"a.vmx\"}}}",
      "groups[1].vms[0]: VM 'a' is also in group 'g1'" },
    { BASE_HEAD "\"groups\":[{\"name\":\"g\",\"vms\":[\"a\",\"b\"]}],"
      "\"vms\":{\"a\":{\"vmx\":\"a.vmx\",\"target_name\":\"x\"},"
      "\"b\":{\"vmx\":\"b.vmx\",\"target_name\":\"X\"}}}",
      "vms.b.target_name: target name 'X' is also VM 'a''s" },
    { BASE_HEAD "\"groups\":[{\"name\":\"g\",\"vms\":[\"a\"]}],"
      "\"vms\":{\"a\":{\"vmx\":\"a.vmx\"},\"b\":{\"vmx\":\"b.vmx\"}}}",
      "vms.b: VM is in no group" },
    { BASE_HEAD "\"groups\":[{\"name\":\"g\",\"vms\":[\"a\",\"c\"]}],"
      "\"vms\":{\"a\":{\"vmx\":\"a.vmx\"}}}",
      "groups[0].vms[1]: 'c' is not in \"vms\"" },
    { BASE_HEAD "\"groups\":[{\"name\":\"g\",\"boot_order\":6,\"vms\":[]}],"
      "\"vms\":{\"a\":{\"vmx\":\"a.vmx\"}}}",
      "groups[0].boot_order: 6 is not a whole number from 1 to 5" },
    { BASE_HEAD "\"network_map\":{\"networks\":{\"VM Network\":{}}},"
      "\"groups\":[{\"name\":\"g\",\"vms\":[\"a\"]}],"
      "\"vms\":{\"a\":{\"vmx\":\"a.vmx\"}}}",
      "network_map: network 'VM Network'" },
    { BASE_HEAD "\"ip\":\"static\",\"groups\":[],\"vms\":{}}",
      "ip: 'static' is not retain, dhcp or none" },
    { "{\"name\":\"w\",\"source\":{\"datastore\":\"/ds\"},\"target\":"
      "{\"hypervisor\":\"libvirt\",\"location\":\"/t\"}}",
      "target.uri: missing" },
    { "{\"name\":\"w\",\"source\":{\"datastore\":\"/ds\"},\"target\":"
      "{\"hypervisor\":\"vmware\",\"location\":\"/t\"}}",
      "target.hypervisor: 'vmware' is not" },
    { BASE_HEAD "\"concurrency\":0,\"groups\":[],\"vms\":{}}",
      "concurrency: 0 is not a whole number from 1 to 64" },
    { BASE_HEAD "\"groups\":[{\"name\":\"g\",\"vms\":[\"a\"]}],"
      "\"vms\":{\"a b\":{\"vmx\":\"a.vmx\"}}}",
      "vms.a b: 'a b' may hold only" },
    { "{\"name\":\"../x\"}", "name: '../x' must be" },
    { "{\"name\":\"w\",", "malformed JSON" },
    { "[1]", "top level: expected an object" },
    { "{\"name\":\"w\",\"name\":\"v\"}", "key 'name' given twice" },
    { "{\"name\":\"p\",\"source\":{\"datastore\":\"/ds\"},\"target\":"
      "{\"hypervisor\":\"proxmox\",\"location\":\"/t\"},"
      "\"groups\":[{\"name\":\"g\",\"vms\":[\"a\"]}],"
      "\"vms\":{\"a\":{\"vmx\":\"a.vmx\"}}}",
      "vms.a: Proxmox needs a VM id" },
    { BASE_HEAD "\"groups\":[{\"name\":\"g\",\"vms\":[\"a\"]}],"
      "\"vms\":{\"a\":{\"vmx\":\"a\\u0001.vmx\"}}}",
      "vms.a.vmx: holds a control character" },
    { "{\"name\":\"w\",\"source\":{\"datastore\":\"/ds\"},\"target\":"
      "{\"hypervisor\":\"hyperv\",\"location\":\"/t\","
      "\"qtree_style\":\"change\"}}",
      "target.qtree_style: 'change' is not refuse or fix" },
    /* a vCenter source */
    { VC_HEAD ("\"datastore\":\"/ds\"") "}",
      "source: give 'datastore' or 'vcenter', not both" },
    { "{\"name\":\"w\",\"source\":{}}", "source: needs 'datastore'" },
    { "{\"name\":\"w\",\"source\":{\"datastore\":\"/ds\","
      "\"power_off_after\":true}}",
      "source.power_off_after: only with source.vcenter" },
    { VC_HEAD ("\"allow_powered_on\":true") "}",
      "source.allow_powered_on: only with source.datastore" },
    { VC_HEAD ("\"shutdown_timeout\":0") "}",
      "source.shutdown_timeout: 0 is not a whole number from 1 to 86400" },
    { VC_HEAD ("\"vm_snapshot\":false,\"quiesce\":true") "}",
      "source.quiesce: needs source.vm_snapshot" },
    { VC_HEAD ("\"power_off_after\":\"yes\"") "}",
      "source.power_off_after: expected true or false" },
    { "{\"name\":\"w\",\"source\":{\"vcenter\":\"v c\"}}",
      "source.vcenter: 'v c' may hold only" },
    { VC_HEAD ("\"x\":1") "}", "source: unknown key 'x'" },
    { VC_HEAD ("\"quiesce\":false") TGT
      "\"groups\":[{\"name\":\"g\",\"vms\":[\"a\"]}],"
      "\"vms\":{\"a\":{\"vmx\":\"a/a.vmx\"}}}",
      "vms.a.vmx: only with source.datastore" },
    { VC_HEAD ("\"quiesce\":false") TGT
      "\"groups\":[{\"name\":\"g\",\"folder\":\"vm/web\"}]}",
      "groups[0].folder: 'vm/web' is not a vCenter folder path" },
    { BASE_HEAD "\"groups\":[{\"name\":\"g\",\"folder\":\"/DC/vm\"}]}",
      "groups[0].folder: only with source.vcenter" },
    { VC_HEAD ("\"quiesce\":false") TGT
      "\"groups\":[{\"name\":\"g\"}]}",
      "groups[0]: 'vms' must be an array of VM names" },
    { VC_HEAD ("\"quiesce\":false") TGT
      "\"groups\":[{\"name\":\"g\",\"folder\":\"/DC/vm\",\"vms\":"
      "[\"b\"]}],\"vms\":{}}",
      "groups[0].vms[0]: 'b' is not in \"vms\"" },
    /* targets per volume */
#define TGTL(t) "{\"name\":\"w\",\"source\":{\"vcenter\":\"vc1\"}," \
    "\"target\":{\"hypervisor\":\"libvirt\",\"uri\":\"test:///d\"," t "}}"
    { TGTL ("\"location\":\"/t/{volume}\""),
      "target.location: '{volume}' may stand only for the volume" },
    { TGTL ("\"location\":\"ontap://p/{volume}/a/{volume}\""),
      "target.location: '{volume}' may stand only" },
    { TGTL ("\"location\":\"ontap://{volume}/v/kvm\""),
      "target.location: '{volume}' may stand only" },
    { TGTL ("\"location\":\"ontap://p/v/kvm\","
            "\"test_location\":\"ontap://p/x{volume}/t\""),
      "target.test_location: '{volume}' may stand only" },
    { TGTL ("\"locations\":{\"ds01\":\"ontap://p/ds02/kvm\"}"),
      "target.locations.ds01: 'ontap://p/ds02/kvm' is not on volume 'ds01'" },
    { TGTL ("\"locations\":{\"ds01\":\"/kvm\"}"),
      "target.locations.ds01: '/kvm' is not on volume 'ds01'" },
    { TGTL ("\"locations\":{\"ds01\":\"ontap://p/ds01/{volume}\"}"),
      "target.locations.ds01: 'ontap://p/ds01/{volume}' is not on" },
    { TGTL ("\"locations\":{\"ds01\":3}"),
      "target.locations.ds01: expected a string" },
    { TGTL ("\"locations\":{}"), "target.locations: empty" },
    { TGTL ("\"locations\":[]"), "target.locations: expected an object" },
    { TGTL ("\"locations\":{\"a b\":\"ontap://p/a b\"}"),
      "target.locations.a b: 'a b' may hold only" },
    { TGTL ("\"locations\":{\"d\":\"ontap://p/d/k\","
            "\"d\":\"ontap://p/d/l\"}"),
      "target.locations: key 'd' given twice" },
    { TGTL ("\"locations\":{\"d\":\"ontap://p/d/k\"},"
            "\"test_location\":\"ontap://p/d/t\""),
      "target.test_location: only with target.location" },
    { TGTL ("\"format\":\"raw\""), "target.location: missing" },
};

Test (blueprint, each_error_names_its_key_on_one_line)
{
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        struct wf_blueprint bp;
        const char *msg;
        int r = wf_blueprint_parse (bads[i].json, strlen (bads[i].json),
                                    "'w.json'", &bp);

        cr_assert_eq (r, -EINVAL, "case %zu: %d", i, r);
        msg = vmshift_internal_error_msg ();
        cr_assert_not_null (strstr (msg, bads[i].want), "case %zu: '%s'", i,
                            msg);
        cr_assert_eq (strncmp (msg, "'w.json'", 8), 0, "names the file: %s",
                      msg);
        cr_assert_null (strchr (msg, '\n'));
        cr_assert_null (bp.name, "nothing is left half-filled");
    }
}

Test (blueprint, too_big_is_refused)
{
    struct wf_blueprint bp;

    cr_assert_eq (wf_blueprint_parse ("{}", WF_BP_MAX_BYTES + 1, "b", &bp),
                  -EFBIG);
}

Test (blueprint, vcenter_example)
{
    struct wf_blueprint bp;
    size_t len;
    char *buf = slurp ("tests/data/blueprint/wave-vc.json", &len);

    cr_assert_eq (wf_blueprint_parse (buf, len, "'wave-vc.json'", &bp), 0,
                  "%s", vmshift_internal_error_msg ());
    cr_assert_null (bp.datastore);
    cr_assert_str_eq (bp.vcenter, "vc1");
    cr_assert_eq (bp.shutdown_timeout, 600);
    cr_assert (bp.power_off_after);
    cr_assert (bp.vm_snapshot);
    cr_assert_not (bp.quiesce);
    cr_assert_eq (bp.ngroups, 2);
    cr_assert_null (bp.groups[0].folder);
    cr_assert_str_eq (bp.groups[1].folder, "/DC1/vm/shop/web");
    /* the folder's VMs come with the run (wf_blueprint_expand) */
    cr_assert_eq (bp.nvms, 1);
    cr_assert_str_eq (bp.vms[0].name, "db01");
    cr_assert_null (bp.vms[0].vmx);
    cr_assert_eq (bp.vms[0].memory_mib, 16384);
    wf_blueprint_release (&bp);
    free (buf);
}

Test (blueprint, vcenter_defaults)
{
    static const char doc[] = VC_HEAD ("\"quiesce\":false") TGT
        "\"groups\":[{\"name\":\"g\",\"vms\":[\"a\"]}],\"vms\":{\"a\":{}}}";
    struct wf_blueprint bp;

    cr_assert_eq (wf_blueprint_parse (doc, strlen (doc), "d", &bp), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (bp.shutdown_timeout, WF_BP_SHUTDOWN_DEFAULT);
    cr_assert_not (bp.power_off_after);
    cr_assert (bp.vm_snapshot, "the run's own VM snapshot by default");
    wf_blueprint_release (&bp);
}

Test (blueprint, folder_groups_expand_into_the_run_text)
{
    size_t len;
    char *buf = slurp ("tests/data/blueprint/wave-vc.json", &len);
    /* web01 twice (nested folders), db01 is named already */
    const struct wf_bp_pick picks[] = {
        { "web01", 1 }, { "web02", 1 }, { "db01", 1 }, { "web01", 1 },
    };
    struct wf_blueprint bp;
    char *out = NULL;

    cr_assert_eq (wf_blueprint_expand (buf, len, "x", picks, 4, &out), 0);
    cr_assert_null (strstr (out, "\"folder\""), "%s", out);
    cr_assert_eq (wf_blueprint_parse (out, strlen (out), "x", &bp), 0, "%s: %s",
                  vmshift_internal_error_msg (), out);
    cr_assert_eq (bp.nvms, 3);
    cr_assert_str_eq (bp.vms[0].name, "db01");
    cr_assert_str_eq (bp.groups[bp.vms[0].group].name, "db");
    cr_assert_eq (bp.vms[0].memory_mib, 16384, "settings kept");
    cr_assert_str_eq (bp.vms[1].name, "web01");
    cr_assert_str_eq (bp.vms[2].name, "web02");
    cr_assert_str_eq (bp.groups[bp.vms[2].group].name, "web");
    cr_assert_str_eq (bp.vcenter, "vc1");
    cr_assert_eq (bp.shutdown_timeout, 600);
    wf_blueprint_release (&bp);
    free (out);
    free (buf);
}

Test (blueprint, settings_of_a_vm_a_folder_brings)
{
    static const char doc[] = VC_HEAD ("\"quiesce\":false") TGT
        "\"groups\":[{\"name\":\"g\",\"folder\":\"/DC0/vm/web\"}],"
        "\"vms\":{\"web 01\":{\"target_name\":\"web01\"},"
        "\"gone\":{}}}";
    const struct wf_bp_pick picks[] = { { "web 01", 0 }, { "web02", 0 } };
    struct wf_blueprint bp;
    char *out = NULL;

    /* before the folder is read: settings for VMs it may bring */
    cr_assert_eq (wf_blueprint_parse (doc, strlen (doc), "d", &bp), 0, "%s",
                  vmshift_internal_error_msg ());
    wf_blueprint_release (&bp);
    cr_assert_eq (wf_blueprint_expand (doc, strlen (doc), "d", picks, 2, &out),
                  0);
    /* 'gone' is not in the folder: now it is in no group */
    cr_assert_eq (wf_blueprint_parse (out, strlen (out), "d", &bp), -EINVAL);
    cr_assert_not_null (strstr (vmshift_internal_error_msg (),
                                "vms.gone: VM is in no group"), "%s",
                        vmshift_internal_error_msg ());
    free (out);
    {
        /* without 'gone' the wave parses, with the override */
        static const char doc2[] = VC_HEAD ("\"quiesce\":false") TGT
            "\"groups\":[{\"name\":\"g\",\"folder\":\"/DC0/vm/web\"}],"
            "\"vms\":{\"web 01\":{\"target_name\":\"web01\"}}}";

        cr_assert_eq (wf_blueprint_expand (doc2, strlen (doc2), "d", picks, 2,
                                           &out), 0);
    }
    cr_assert_eq (wf_blueprint_parse (out, strlen (out), "d", &bp), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (bp.nvms, 2);
    cr_assert_str_eq (bp.vms[0].name, "web 01");
    cr_assert_str_eq (bp.vms[0].target_name, "web01");
    cr_assert_str_eq (bp.vms[1].name, "web02");
    wf_blueprint_release (&bp);
    free (out);
}

/* Targets per volume (docs/blueprint.md "VMs on several volumes"): the
 * location each VM gets from {volume} or target.locations, and the
 * errors that name the key when a volume has none. */
Test (blueprint, location_per_volume)
{
    struct wf_blueprint bp;
    size_t len;
    char *buf = slurp ("tests/data/blueprint/wave-vols.json", &len);
    char *l = NULL;

    cr_assert_eq (wf_blueprint_parse (buf, len, "'wave-vols.json'", &bp), 0,
                  "%s", vmshift_internal_error_msg ());
    cr_assert_str_eq (bp.location, "ontap://prod/{volume}/kvm");
    cr_assert_str_eq (bp.test_location, "ontap://prod/{volume}/kvm-test");
    cr_assert_eq (bp.nlocations, 1);
    cr_assert_str_eq (bp.locations[0].volume, "ds03");
    /* {volume} expanded */
    cr_assert_eq (wf_bp_location_for (&bp, false, "prod", "ds01", &l), 0);
    cr_assert_str_eq (l, "ontap://prod/ds01/kvm");
    free (l);
    cr_assert_eq (wf_bp_location_for (&bp, true, "prod", "ds02", &l), 0);
    cr_assert_str_eq (l, "ontap://prod/ds02/kvm-test");
    free (l);
    /* the map wins for its volume, on any profile */
    cr_assert_eq (wf_bp_location_for (&bp, false, "dr", "ds03", &l), 0);
    cr_assert_str_eq (l, "ontap://dr/ds03/migrated");
    free (l);
    cr_assert_eq (wf_bp_location_for (&bp, true, "dr", "ds03", &l), 0);
    cr_assert_str_eq (l, "ontap://dr/ds03/migrated-test");
    free (l);
    /* {volume} keeps the profile: a volume of another cluster cannot
     * clone into prod */
    cr_assert_eq (wf_bp_location_for (&bp, false, "dr", "ds01", &l), -EXDEV);
    cr_assert_null (l);
    cr_assert (strstr (vmshift_internal_error_msg (),
                       "target.location: 'ontap://prod/ds01/kvm' is not on "
                       "the VM's volume 'ds01' of profile 'dr'"), "%s",
               vmshift_internal_error_msg ());
    /* disks not on ONTAP: {volume} has nothing to stand for */
    cr_assert_eq (wf_bp_location_for (&bp, false, NULL, NULL, &l), -EINVAL);
    cr_assert (strstr (vmshift_internal_error_msg (),
                       "target.location: '{volume}' needs"));
    wf_blueprint_release (&bp);
    free (buf);
    cr_assert_str_eq ((l = wf_bp_expand_volume ("a{volume}b{volume}", "v")),
                      "avbv");
    free (l);
    cr_assert_null (wf_bp_expand_volume ("a{volume}", NULL));
}

Test (blueprint, location_missing_for_a_volume)
{
#define GRP ",\"groups\":[{\"name\":\"g\",\"vms\":[\"a\"]}],\"vms\":{\"a\":{}}"
#define TGTLG(t) "{\"name\":\"w\",\"source\":{\"vcenter\":\"vc1\"}," \
    "\"target\":{\"hypervisor\":\"libvirt\",\"uri\":\"test:///d\"," t "}" \
    GRP "}"
    static const char only_map[] = TGTLG ("\"locations\":{\"ds01\":"
        "\"ontap://prod/ds01/kvm\",\"ds02\":\"ontap://prod/ds02/k\"}");
    static const char fixed[] = TGTLG ("\"location\":"
                                       "\"ontap://prod/ds01/kvm\"");
    struct wf_blueprint bp;
    char *l = NULL;

    cr_assert_eq (wf_blueprint_parse (only_map, strlen (only_map), "m", &bp),
                  0, "%s", vmshift_internal_error_msg ());
    cr_assert_null (bp.location);
    cr_assert_null (bp.test_location);
    cr_assert_eq (wf_bp_location_for (&bp, false, "prod", "ds02", &l), 0);
    cr_assert_str_eq (l, "ontap://prod/ds02/k");
    free (l);
    cr_assert_eq (wf_bp_location_for (&bp, false, "prod", "ds07", &l),
                  -ENOENT);
    cr_assert_null (l);
    cr_assert (strstr (vmshift_internal_error_msg (), "target.locations: no "
                       "location for volume 'ds07'"), "%s",
               vmshift_internal_error_msg ());
    cr_assert_null (strchr (vmshift_internal_error_msg (), '\n'));
    wf_blueprint_release (&bp);
    /* one fixed location: a VM on another volume is named */
    cr_assert_eq (wf_blueprint_parse (fixed, strlen (fixed), "f", &bp), 0);
    cr_assert_eq (wf_bp_location_for (&bp, false, "prod", "ds01", &l), 0);
    cr_assert_str_eq (l, "ontap://prod/ds01/kvm");
    free (l);
    cr_assert_eq (wf_bp_location_for (&bp, false, "prod", "ds02", &l),
                  -EXDEV);
    cr_assert (strstr (vmshift_internal_error_msg (), "target.location: "
                       "'ontap://prod/ds01/kvm' is not on the VM's volume "
                       "'ds02'"), "%s", vmshift_internal_error_msg ());
    /* a local target with disks not on ONTAP: as it is */
    wf_blueprint_release (&bp);
}
