/* Run and VM states and the tables of allowed transitions (see
 * docs/internals/workflow.md).  The names are what the store keeps and
 * what `vmshift runs show` prints; they are part of the interface and
 * only ever added to. */
#ifndef VMSHIFT_WORKFLOW_STATES_H
#define VMSHIFT_WORKFLOW_STATES_H

#include <stdbool.h>

enum wf_vm_state {
    WF_VM_PENDING = 0,  /* not looked at yet */
    WF_VM_READY,        /* preflight passed */
    WF_VM_CONVERTING,   /* disks being converted from the run's snapshot */
    WF_VM_CONVERTED,    /* every disk in place under its final name */
    WF_VM_DEFINED,      /* definition and guest-script bundle written */
    WF_VM_REGISTERED,   /* defined on the target (handed over) */
    WF_VM_STARTED,      /* powered on at the target */
    WF_VM_COMPLETE,     /* migration complete */
    WF_VM_ADMIN,        /* artifacts ready; registering is the admin's step */
    WF_VM_FAILED,       /* stopped with a reason; resume retries it */
    WF_VM_ABORTED,      /* stopped by abort; what it made is undone */
    WF_VM_CLEANED,      /* everything the run made for it removed */
    WF_VM_NSTATES
};

enum wf_run_state {
    WF_RUN_NEW = 0,     /* created, nothing done */
    WF_RUN_RUNNING,     /* a process works on it (or died doing so) */
    WF_RUN_COMPLETE,    /* every VM complete */
    WF_RUN_ADMIN,       /* every VM complete or waiting for the admin */
    WF_RUN_FAILED,      /* stopped with VMs failed; resume goes on */
    WF_RUN_ABORTING,    /* abort asked; the runner stops at a safe point */
    WF_RUN_ABORTED,     /* stopped by abort, unhanded-over work undone */
    WF_RUN_CLEANED,     /* cleanup removed what the run made */
    WF_RUN_NSTATES
};

const char *wf_vm_state_name (enum wf_vm_state s);
const char *wf_run_state_name (enum wf_run_state s);
/* -EINVAL for an unknown name. */
int wf_vm_state_parse (const char *name, enum wf_vm_state *out);
int wf_run_state_parse (const char *name, enum wf_run_state *out);

bool wf_vm_can (enum wf_vm_state from, enum wf_vm_state to);
bool wf_run_can (enum wf_run_state from, enum wf_run_state to);
/* 0, or -EPERM with "vm 'NAME': cannot go from 'a' to 'b'". */
int wf_vm_transition (const char *vm, enum wf_vm_state from,
                      enum wf_vm_state to);
int wf_run_transition (long long run_id, enum wf_run_state from,
                       enum wf_run_state to);
/* A VM state that is final for this run (nothing left to do). */
bool wf_vm_settled (enum wf_vm_state s);
/* Handed over to the target: abort leaves it where it is. */
bool wf_vm_handed_over (enum wf_vm_state s);

#endif
