/* A migration run: the step function over the state tables of states.h,
 * with every side effect journalled in the store (docs/internals/workflow.md). */
#ifndef VMSHIFT_WORKFLOW_RUN_H
#define VMSHIFT_WORKFLOW_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/handle.h"
#include "engine/workflow/blueprint.h"
#include "engine/workflow/states.h"
#include "engine/workflow/store.h"

struct hv_vm;
struct vmshift_vm;
struct hv_vm *vs_vm_model (const struct vmshift_vm *vm);
/* vmshift_vm_load through a backend already open (path on it; location
 * names the .vmx in messages, and its disks): a run reads every .vmx of
 * its datastore through one backend (engine/vm.c). */
struct backend;
int vs_vm_load_on (struct vmshift_handle *h, struct backend *be,
                   const char *path, const char *location,
                   struct vmshift_vm **out);

struct wf_run;

/* Phases of a run, in order; the step function does one per call. */
enum wf_phase {
    WF_PH_PREFLIGHT = 0,
    WF_PH_SHUTDOWN, WF_PH_VMSNAP,   /* vCenter source: the source VMs */
    WF_PH_SNAPSHOT, WF_PH_CONVERT, WF_PH_SNAPSHOT_DONE,
    WF_PH_DEFINE, WF_PH_REGISTER, WF_PH_POWER, WF_PH_READBACK, WF_PH_END,
};

/* Create a new run of the blueprint text (already checked) in store s. */
int wf_run_new (struct vmshift_handle *h, struct wf_store *s,
                const char *doc, const char *what, bool test,
                vmshift_event_fn ev, void *opaque, struct wf_run **out);
/* Load run id for resume, abort or cleanup. */
int wf_run_load (struct vmshift_handle *h, struct wf_store *s, int64_t id,
                 vmshift_event_fn ev, void *opaque, struct wf_run **out);
void wf_run_free (struct wf_run *r);
int64_t wf_run_id (const struct wf_run *r);
/* What this process did for the run so far (st->struct_size set). */
void wf_run_get_stats (const struct wf_run *r, struct vmshift_run_stats *st);

/* Take the run's lease (refusing while another live process holds it). */
int wf_run_claim (struct wf_run *r);
/* One step: 1 more to do, 0 finished, -errno stopped (the run records
 * why; resume goes on from there). */
int wf_run_step (struct wf_run *r);
/* Undo what is not handed over; the run ends 'aborted'. */
int wf_run_abort_now (struct wf_run *r);
/* Remove everything the run made; the run ends 'cleaned'. */
int wf_run_cleanup (struct wf_run *r);

/* Also give events as struct vmshift_run_event (with the run's opaque),
 * including "status" and "progress", which are not kept. */
void wf_run_set_listener (struct wf_run *r, vmshift_run_event_fn fn);
/* A "status" event per VM: its state as the run starts or resumes. */
void wf_run_announce (struct wf_run *r);
/* The bytes one journal entry says a disk took: true for a finished
 * "convert" entry. */
bool wf_journal_bytes (const struct wf_journal_rec *j, uint64_t *cloned,
                       uint64_t *copied);

/* The name of run id's snapshots (ONTAP and vCenter): the one its
 * journal holds, else vmshift-run-STOREID-ID; caller frees. */
int wf_run_snap_name (struct wf_store *s, int64_t id, char **out);

/* Preflight only, for blueprint check: problems as lines into *report. */
int wf_run_check (struct vmshift_handle *h, const char *doc,
                  const char *what, bool test, bool json, char **report);

#endif
