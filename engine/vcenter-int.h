/* Internal entry points of engine/vcenter.c for the run of a blueprint
 * with a vCenter source (engine/workflow/). */
#ifndef VMSHIFT_VCENTER_INT_H
#define VMSHIFT_VCENTER_INT_H

#include <stdbool.h>
#include <stdint.h>

struct vmshift_vcenter;

/* The VM's runtime.powerState ("poweredOn", ...); caller frees. */
int vs_vcenter_power_state (struct vmshift_vcenter *vc, const char *vm,
                            char **state);
/* The id of the VM's snapshot named 'name' that vmshift made (its
 * description carries vmshift's mark); -ENOENT if there is none. */
int vs_vcenter_snapshot_find (struct vmshift_vcenter *vc, const char *vm,
                              const char *name, char **id);

/* A graceful shutdown of many VMs at once: ask each (ShutdownGuest
 * unless it is off; *asked, and *start for the wait), then wait for each
 * until start + timeout_s, powering it off then if power_off. */
int vs_vcenter_shutdown_ask (struct vmshift_vcenter *vc, const char *vm,
                             bool *asked, uint64_t *start);
int vs_vcenter_shutdown_wait (struct vmshift_vcenter *vc, const char *vm,
                              uint64_t start, unsigned timeout_s,
                              bool power_off, bool *forced);

#endif
