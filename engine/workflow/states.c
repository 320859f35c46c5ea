/* The tables of allowed state transitions (see states.h).  A transition
 * not in the table is refused with -EPERM: the step function never
 * writes a state it could not have reached. */
#include <errno.h>
#include <string.h>

#include "engine/base/error.h"
#include "engine/workflow/states.h"

static const char *const wf_vm_names[WF_VM_NSTATES] = {
    [WF_VM_PENDING] = "pending", [WF_VM_READY] = "ready",
    [WF_VM_CONVERTING] = "converting", [WF_VM_CONVERTED] = "converted",
    [WF_VM_DEFINED] = "defined", [WF_VM_REGISTERED] = "registered",
    [WF_VM_STARTED] = "started", [WF_VM_COMPLETE] = "complete",
    [WF_VM_ADMIN] = "admin-step", [WF_VM_FAILED] = "failed",
    [WF_VM_ABORTED] = "aborted", [WF_VM_CLEANED] = "cleaned",
};

static const char *const wf_run_names[WF_RUN_NSTATES] = {
    [WF_RUN_NEW] = "new", [WF_RUN_RUNNING] = "running",
    [WF_RUN_COMPLETE] = "complete", [WF_RUN_ADMIN] = "admin-step",
    [WF_RUN_FAILED] = "failed", [WF_RUN_ABORTING] = "aborting",
    [WF_RUN_ABORTED] = "aborted", [WF_RUN_CLEANED] = "cleaned",
};

#define A(from, ...) [from] = { __VA_ARGS__ }
#define T(to) [to] = true

/* VM: forward along the steps; any unhanded-over state may fail or be
 * aborted; a failed VM goes back to pending on resume; cleanup ends
 * anything that is not running. */
static const bool wf_vm_table[WF_VM_NSTATES][WF_VM_NSTATES] = {
    A (WF_VM_PENDING, T (WF_VM_READY), T (WF_VM_FAILED), T (WF_VM_ABORTED),
       T (WF_VM_CLEANED)),
    A (WF_VM_READY, T (WF_VM_CONVERTING), T (WF_VM_FAILED),
       T (WF_VM_ABORTED)),
    A (WF_VM_CONVERTING, T (WF_VM_CONVERTED), T (WF_VM_FAILED),
       T (WF_VM_ABORTED)),
    A (WF_VM_CONVERTED, T (WF_VM_DEFINED), T (WF_VM_FAILED),
       T (WF_VM_ABORTED)),
    A (WF_VM_DEFINED, T (WF_VM_REGISTERED), T (WF_VM_ADMIN),
       T (WF_VM_FAILED), T (WF_VM_ABORTED)),
    A (WF_VM_REGISTERED, T (WF_VM_STARTED), T (WF_VM_COMPLETE),
       T (WF_VM_FAILED), T (WF_VM_CLEANED)),
    A (WF_VM_STARTED, T (WF_VM_COMPLETE), T (WF_VM_FAILED),
       T (WF_VM_CLEANED)),
    A (WF_VM_COMPLETE, T (WF_VM_CLEANED)),
    A (WF_VM_ADMIN, T (WF_VM_CLEANED)),
    A (WF_VM_FAILED, T (WF_VM_PENDING), T (WF_VM_ABORTED),
       T (WF_VM_CLEANED)),
    A (WF_VM_ABORTED, T (WF_VM_CLEANED)),
    A (WF_VM_CLEANED, [WF_VM_PENDING] = false),
};

static const bool wf_run_table[WF_RUN_NSTATES][WF_RUN_NSTATES] = {
    A (WF_RUN_NEW, T (WF_RUN_RUNNING), T (WF_RUN_ABORTED)),
    A (WF_RUN_RUNNING, T (WF_RUN_COMPLETE), T (WF_RUN_ADMIN),
       T (WF_RUN_FAILED), T (WF_RUN_ABORTING), T (WF_RUN_ABORTED)),
    A (WF_RUN_COMPLETE, T (WF_RUN_CLEANED)),
    A (WF_RUN_ADMIN, T (WF_RUN_CLEANED)),
    A (WF_RUN_FAILED, T (WF_RUN_RUNNING), T (WF_RUN_ABORTING),
       T (WF_RUN_ABORTED), T (WF_RUN_CLEANED)),
    A (WF_RUN_ABORTING, T (WF_RUN_ABORTED)),
    A (WF_RUN_ABORTED, T (WF_RUN_CLEANED)),
    A (WF_RUN_CLEANED, [WF_RUN_NEW] = false),
};

#undef A
#undef T

const char *
wf_vm_state_name (enum wf_vm_state s)
{
    return (unsigned) s < WF_VM_NSTATES ? wf_vm_names[s] : "?";
}

const char *
wf_run_state_name (enum wf_run_state s)
{
    return (unsigned) s < WF_RUN_NSTATES ? wf_run_names[s] : "?";
}

int
wf_vm_state_parse (const char *name, enum wf_vm_state *out)
{
    for (int i = 0; i < WF_VM_NSTATES; i++) {
        if (name && strcmp (name, wf_vm_names[i]) == 0) {
            *out = (enum wf_vm_state) i;
            return 0;
        }
    }
    return set_error (EINVAL, "unknown VM state '%s'", name ? name : "");
}

int
wf_run_state_parse (const char *name, enum wf_run_state *out)
{
    for (int i = 0; i < WF_RUN_NSTATES; i++) {
        if (name && strcmp (name, wf_run_names[i]) == 0) {
            *out = (enum wf_run_state) i;
            return 0;
        }
    }
    return set_error (EINVAL, "unknown run state '%s'", name ? name : "");
}

bool
wf_vm_can (enum wf_vm_state from, enum wf_vm_state to)
{
    return (unsigned) from < WF_VM_NSTATES && (unsigned) to < WF_VM_NSTATES &&
           wf_vm_table[from][to];
}

bool
wf_run_can (enum wf_run_state from, enum wf_run_state to)
{
    return (unsigned) from < WF_RUN_NSTATES &&
           (unsigned) to < WF_RUN_NSTATES && wf_run_table[from][to];
}

int
wf_vm_transition (const char *vm, enum wf_vm_state from, enum wf_vm_state to)
{
    if (!wf_vm_can (from, to)) {
        return set_error (EPERM, "vm '%s': cannot go from '%s' to '%s'", vm,
                          wf_vm_state_name (from), wf_vm_state_name (to));
    }
    return 0;
}

int
wf_run_transition (long long run_id, enum wf_run_state from,
                   enum wf_run_state to)
{
    if (!wf_run_can (from, to)) {
        return set_error (EPERM, "run %lld: cannot go from '%s' to '%s'",
                          run_id, wf_run_state_name (from),
                          wf_run_state_name (to));
    }
    return 0;
}

bool
wf_vm_settled (enum wf_vm_state s)
{
    return s == WF_VM_COMPLETE || s == WF_VM_ADMIN || s == WF_VM_FAILED ||
           s == WF_VM_ABORTED || s == WF_VM_CLEANED;
}

bool
wf_vm_handed_over (enum wf_vm_state s)
{
    return s == WF_VM_REGISTERED || s == WF_VM_STARTED ||
           s == WF_VM_COMPLETE || s == WF_VM_ADMIN;
}
