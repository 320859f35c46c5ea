/* libFuzzer harness: vSphere SOAP replies (hypervisors/vsphere/reply.c),
 * from arbitrary bytes, through every decoder: faults, the service
 * content, returnval morefs, property retrieval pages (the inventory
 * model), task info and VM state.  The inventory built from a page is
 * also walked the way the inventory command walks it (folder paths,
 * datastores, networks). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "hypervisors/vsphere/vsphere.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    const char *buf = (const char *) data;
    struct vsphere_fault f;
    struct vsphere_service_content sc;
    struct vsphere_moref m;
    struct vsphere_inventory inv;
    struct vsphere_task_info ti;
    struct vsphere_snapshot_vec snaps = { 0 };
    char *tok = NULL, *power = NULL;

    if (vsphere_decode_fault (buf, size, &f) == 1) {
        vsphere_fault_release (&f);
    }
    (void) vsphere_decode_service_content (buf, size, &sc);
    (void) vsphere_decode_returnval_moref (buf, size, "fuzz", &m);
    memset (&inv, 0, sizeof inv);
    if (vsphere_decode_retrieve (buf, size, "fuzz", &inv, &tok) == 0) {
        for (size_t i = 0; i < inv.vms.len; i++) {
            char *path = NULL;

            if (vsphere_vm_folder_path (&inv, &inv.vms.ptr[i], &path) == 0) {
                free (path);
            }
            for (size_t j = 0; j < inv.vms.ptr[i].nics.len; j++) {
                (void) vsphere_nic_network (&inv, &inv.vms.ptr[i].nics.ptr[j]);
            }
            for (size_t j = 0; j < inv.vms.ptr[i].disks.len; j++) {
                const struct vsphere_disk *d = &inv.vms.ptr[i].disks.ptr[j];
                const struct vsphere_datastore *ds =
                    vsphere_find_datastore (&inv, &d->datastore);
                const char *rel;

                if (ds) {
                    (void) vsphere_ds_relpath (d->file, ds->name, &rel);
                }
            }
        }
        free (tok);
    }
    vsphere_inventory_release (&inv);
    if (vsphere_decode_task_info (buf, size, "fuzz", &ti) == 0) {
        vsphere_fault_release (&ti.error);
    }
    if (vsphere_decode_vm_state (buf, size, "fuzz", &power, &snaps) == 0) {
        free (power);
        for (size_t i = 0; i < snaps.len; i++) {
            free (snaps.ptr[i].name);
            free (snaps.ptr[i].description);
            free (snaps.ptr[i].create_time);
        }
        vsphere_snapshot_vec_reset (&snaps);
    }
    clear_error ();
    return 0;
}
