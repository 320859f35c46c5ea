/* The vCenter source of a run (docs/blueprint.md "A vCenter source"):
 * the inventory read once when the run is made, the VM facts kept in the
 * journal, the VM model built from them, and the source-side steps
 * (graceful shutdown, the run's own VM snapshot, power on again). */
#ifndef VMSHIFT_WORKFLOW_VCSOURCE_H
#define VMSHIFT_WORKFLOW_VCSOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/base/sbuf.h"
#include "engine/handle.h"
#include "engine/workflow/blueprint.h"

struct hv_vm;
struct vmshift_vcenter;

/* The inventory of vCenter profile 'profile' as JSON (every VM that is
 * not a template, the datastores mapped to ONTAP).  *out: caller frees. */
int wf_vc_inventory (struct vmshift_handle *h, const char *profile,
                     char **out);
/* The VMs the folder groups of bp bring in, in inventory order (names
 * point into *store, free both with wf_vc_picks_free). */
int wf_vc_picks (const char *inv, const struct wf_blueprint *bp,
                 struct wf_bp_pick **picks, size_t *n);
void wf_vc_picks_free (struct wf_bp_pick *picks, size_t n);
/* VM 'name' of the inventory as one JSON object (*facts), or 0 with
 * *facts NULL and *problem saying why (not there, there twice). */
int wf_vc_facts (const char *inv, const char *vcenter, const char *name,
                 char **facts, char **problem);
/* The VM model from its facts: each disk's file is its ontap://
 * location.  What keeps the VM from going (a disk not on ONTAP, a device
 * that does not carry over) goes into problems, one per line. */
int wf_vc_model (const char *facts, struct hv_vm **out, struct sbuf *problems);
/* "ontap://PROFILE/VOLUME" of a location, caller frees; NULL if it is
 * not an ontap:// location. */
char *wf_vc_volume_of (const char *loc);
/* The power state in the facts ("poweredOn", ...), caller frees. */
char *wf_vc_fact_str (const char *facts, const char *key);
/* guest/vmware-tools-ips.json of the bundle: per NIC its MAC, network
 * and the IPs VMware Tools reported.  *out: caller frees. */
int wf_vc_ips_file (const char *facts, char **out);
/* guest/network.json of the bundle: the same record linux-prepare.sh
 * writes inside the guest, built from what VMware Tools reported
 * (addresses with prefix and origin, routes, DNS), so that linux-reapply.sh
 * re-applies the static settings of a guest nobody prepared.  *summary:
 * one line for the run's events.  Both: caller frees. */
int wf_vc_record_file (const char *facts, char **out, char **summary);
/* The same for a Windows guest: the record windows-prepare.ps1 writes,
 * for windows-reapply.ps1 (docs/guest-network.md "Windows"). */
int wf_vc_win_record_file (const char *facts, char **out, char **summary);

/* Source-side actions over a session opened on first use. */
int wf_vc_open (struct vmshift_handle *h, const char *profile,
                struct vmshift_vcenter **vc);
int wf_vc_power_state (struct vmshift_vcenter *vc, const char *vm,
                       char **state);
/* The run's snapshot named 'name' (marked as vmshift's), -ENOENT if none. */
int wf_vc_snapshot_find (struct vmshift_vcenter *vc, const char *vm,
                         const char *name, char **id);

#endif
