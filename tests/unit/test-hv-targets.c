/* hypervisors/ target table: every driver complete, names unique, its
 * formats in the format table, lookups agree with the public API; and
 * the planner follows the table's limits. */
#include <criterion/criterion.h>
#include <string.h>

#include "engine/base/error.h"
#include "engine/vmshift.h"
#include "formats/formats.h"
#include "hypervisors/hv.h"

Test (targets, table_is_complete_and_consistent)
{
    size_t n = 0;

    for (size_t i = 0; hv_target_at (i); i++, n++) {
        const struct hv_target_driver *t = hv_target_at (i);
        enum vmshift_target pub;

        cr_assert_not_null (t->name);
        cr_assert_not_null (t->title);
        cr_assert_not_null (t->emit, "%s", t->name);
        cr_assert_not_null (t->formats, "%s", t->name);
        cr_assert_not_null (t->formats[0], "%s", t->name);
        cr_assert ((size_t) t->id < HV_TARGET_LIMIT);
        cr_assert (hv_target_allows (t, t->default_format), "%s", t->name);
        for (size_t f = 0; t->formats[f]; f++) {
            const struct fmt_driver *d = fmt_driver_by_name (t->formats[f]);

            cr_assert_not_null (d, "%s: format %s", t->name, t->formats[f]);
            cr_assert_not_null (d->plan, "%s: %s cannot be written", t->name,
                                t->formats[f]);
        }
        cr_assert_eq (hv_target_of (t->id), t);
        cr_assert_eq (hv_target_by_name (t->name), t);
        cr_assert_eq (vmshift_target_from_name (t->name, &pub), 0);
        cr_assert_eq ((int) pub, (int) t->id);
        for (size_t a = 0; t->aliases && t->aliases[a]; a++) {
            cr_assert_eq (hv_target_by_name (t->aliases[a]), t);
        }
        for (size_t j = 0; j < i; j++) {
            cr_assert_str_neq (hv_target_at (j)->name, t->name);
            cr_assert_neq (hv_target_at (j)->id, t->id);
        }
    }
    cr_assert_eq (n, 4);
    cr_assert_null (hv_target_of ((enum hv_target) 0));
    cr_assert_null (hv_target_by_name ("vmware"));
    cr_assert_lt (vmshift_target_from_name ("vmware", &(enum vmshift_target) {
                      0 }), 0);
    cr_assert (strstr (vmshift_internal_error_msg (),
                       "expected hyperv, libvirt, proxmox or kubevirt"),
               "%s", vmshift_internal_error_msg ());
}

Test (targets, facts)
{
    /* docs/targets.md: Hyper-V takes VHDX on up to 4 SCSI controllers
     * of 64 disks; Proxmox has 6 SATA ports; KubeVirt PVCs hold raw */
    cr_assert (hv_target_allows (&hv_hyperv_target, "vhdx"));
    cr_assert_not (hv_target_allows (&hv_hyperv_target, "qcow2"));
    cr_assert_eq (hv_hyperv_target.scsi_controllers, 4);
    cr_assert_eq (hv_hyperv_target.scsi_units, 64);
    cr_assert_eq (hv_proxmox_target.sata_ports, 6);
    cr_assert_str_eq (hv_kubevirt_target.default_format, "raw");
    cr_assert_not (hv_target_allows (&hv_kubevirt_target, "qcow2"));
    cr_assert_str_eq (hv_libvirt_target.default_dir, "/var/lib/libvirt/images");
}
