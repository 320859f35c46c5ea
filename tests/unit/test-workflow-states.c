/* engine/workflow/states.c: the transition tables.  Every pair of states
 * is tried; exactly the transitions listed here (the documented ones,
 * docs/internals/workflow.md) are allowed, every other is refused with
 * -EPERM and a message naming both states. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "engine/base/error.h"
#include "engine/workflow/states.h"

static const char *const vm_legal[] = {
    "pending>ready", "pending>failed", "pending>aborted", "pending>cleaned",
    "ready>converting", "ready>failed", "ready>aborted",
    "converting>converted", "converting>failed", "converting>aborted",
    "converted>defined", "converted>failed", "converted>aborted",
    "defined>registered", "defined>admin-step", "defined>failed",
    "defined>aborted",
    "registered>started", "registered>complete", "registered>failed",
    "registered>cleaned",
    "started>complete", "started>failed", "started>cleaned",
    "complete>cleaned", "admin-step>cleaned",
    "failed>pending", "failed>aborted", "failed>cleaned",
    "aborted>cleaned",
};

static const char *const run_legal[] = {
    "new>running", "new>aborted",
    "running>complete", "running>admin-step", "running>failed",
    "running>aborting", "running>aborted",
    "complete>cleaned", "admin-step>cleaned",
    "failed>running", "failed>aborting", "failed>aborted", "failed>cleaned",
    "aborting>aborted", "aborted>cleaned",
};

static bool
listed (const char *const *l, size_t n, const char *a, const char *b)
{
    char k[64];

    snprintf (k, sizeof k, "%s>%s", a, b);
    for (size_t i = 0; i < n; i++) {
        if (strcmp (l[i], k) == 0) {
            return true;
        }
    }
    return false;
}

Test (states, vm_every_pair)
{
    size_t nlegal = sizeof vm_legal / sizeof vm_legal[0], seen = 0;

    for (int a = 0; a < WF_VM_NSTATES; a++) {
        for (int b = 0; b < WF_VM_NSTATES; b++) {
            const char *na = wf_vm_state_name (a), *nb = wf_vm_state_name (b);
            bool want = listed (vm_legal, nlegal, na, nb);
            int r = wf_vm_transition ("db01", a, b);

            cr_assert_eq (wf_vm_can (a, b), want, "%s > %s", na, nb);
            if (want) {
                cr_assert_eq (r, 0);
                seen++;
            } else {
                cr_assert_eq (r, -EPERM, "%s > %s must be refused", na, nb);
                cr_assert_not_null (strstr (vmshift_internal_error_msg (), na));
                cr_assert_not_null (strstr (vmshift_internal_error_msg (),
                                            "db01"));
            }
        }
    }
    cr_assert_eq (seen, nlegal, "every listed transition names real states");
    cr_assert_not (wf_vm_can (WF_VM_NSTATES, WF_VM_PENDING));
    cr_assert_not (wf_vm_can (WF_VM_PENDING, (enum wf_vm_state) -1));
}

Test (states, run_every_pair)
{
    size_t nlegal = sizeof run_legal / sizeof run_legal[0], seen = 0;

    for (int a = 0; a < WF_RUN_NSTATES; a++) {
        for (int b = 0; b < WF_RUN_NSTATES; b++) {
            const char *na = wf_run_state_name (a), *nb = wf_run_state_name (b);
            bool want = listed (run_legal, nlegal, na, nb);

            cr_assert_eq (wf_run_can (a, b), want, "%s > %s", na, nb);
            cr_assert_eq (wf_run_transition (7, a, b), want ? 0 : -EPERM);
            seen += want;
        }
    }
    cr_assert_eq (seen, nlegal);
}

Test (states, names_round_trip)
{
    enum wf_vm_state v;
    enum wf_run_state r;

    for (int i = 0; i < WF_VM_NSTATES; i++) {
        cr_assert_eq (wf_vm_state_parse (wf_vm_state_name (i), &v), 0);
        cr_assert_eq (v, i);
    }
    for (int i = 0; i < WF_RUN_NSTATES; i++) {
        cr_assert_eq (wf_run_state_parse (wf_run_state_name (i), &r), 0);
        cr_assert_eq (r, i);
    }
    cr_assert_eq (wf_vm_state_parse ("nope", &v), -EINVAL);
    cr_assert_eq (wf_run_state_parse (NULL, &r), -EINVAL);
}

Test (states, settled_and_handed_over)
{
    cr_assert (wf_vm_settled (WF_VM_COMPLETE));
    cr_assert (wf_vm_settled (WF_VM_FAILED));
    cr_assert_not (wf_vm_settled (WF_VM_CONVERTING));
    cr_assert (wf_vm_handed_over (WF_VM_REGISTERED));
    cr_assert_not (wf_vm_handed_over (WF_VM_DEFINED));
    /* Abort never reaches past the hand-over. */
    for (int s = 0; s < WF_VM_NSTATES; s++) {
        if (wf_vm_handed_over (s)) {
            cr_assert_not (wf_vm_can (s, WF_VM_ABORTED), "%s",
                           wf_vm_state_name (s));
        }
    }
}
