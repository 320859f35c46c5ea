/* Actions on VMs: guest shutdown, power on/off, VM snapshots, and the
 * task polling they share (vim25 VirtualMachine and Task; docs/vcenter.md).
 * Tasks are awaited by reading Task.info until its state is success or
 * error, with a deadline (the profile's task_deadline).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "hypervisors/vsphere/vsphere.h"

/* RetrievePropertiesEx of PROPS on one object. */
static int
vsphere_get_props (struct vsphere_client *c, const struct vsphere_moref *obj,
                   const char *const *props, struct sbuf *rep)
{
    const struct vsphere_service_content *sc = vsphere_client_content (c);
    struct sbuf a;
    int r;

    vs_sbuf_init (&a, 64 * 1024);
    r = vs_sbuf_addstr (&a, "<specSet><propSet><type>");
    if (r == 0) {
        r = vsphere_xml_escape (&a, obj->type, "a managed object type");
    }
    if (r == 0) {
        r = vs_sbuf_addstr (&a, "</type>");
    }
    for (; r == 0 && *props; props++) {
        r = vs_sbuf_printf (&a, "<pathSet>%s</pathSet>", *props);
    }
    if (r == 0) {
        r = vs_sbuf_addstr (&a, "</propSet><objectSet><obj type=\"");
    }
    if (r == 0) {
        r = vsphere_xml_escape (&a, obj->type, "a managed object type");
    }
    if (r == 0) {
        r = vs_sbuf_addstr (&a, "\">");
    }
    if (r == 0) {
        r = vsphere_xml_escape (&a, obj->value, "a managed object id");
    }
    if (r == 0) {
        r = vs_sbuf_addstr (&a, "</obj><skip>false</skip></objectSet>"
                            "</specSet><options/>");
    }
    if (r == 0) {
        r = vsphere_call (c, "RetrievePropertiesEx", &sc->property_collector,
                          a.data, rep);
    }
    vs_sbuf_release (&a);
    return r;
}

int
vsphere_vm_state (struct vsphere_client *c, const struct vsphere_moref *vm,
                  char **power, struct vsphere_snapshot_vec *snaps)
{
    static const char *const props[] = {
        "runtime.powerState", "snapshot", NULL,
    };
    struct sbuf rep = { 0 };
    int r;

    for (int attempt = 0; attempt < 2; attempt++) {
        if ((r = vsphere_get_props (c, vm, props, &rep)) < 0) {
            return r;
        }
        r = vsphere_decode_vm_state (rep.data, rep.len, "reply to "
                                     "RetrievePropertiesEx (VM state)",
                                     power, snaps);
        vs_sbuf_release (&rep);
        if (r != -ESTALE || attempt > 0 || (r = vsphere_relogin (c)) < 0) {
            break;
        }
    }
    return r;
}

int
vsphere_task_wait (struct vsphere_client *c, const struct vsphere_moref *task,
                   const char *what, struct vsphere_moref *result)
{
    static const char *const props[] = { "info", NULL };
    unsigned deadline = vsphere_client_profile (c)->task_deadline;
    uint64_t start = vsphere_client_now (c), delay = 100;
    struct vsphere_task_info ti;
    struct sbuf rep = { 0 };
    int r;

    for (;;) {
        if ((r = vsphere_get_props (c, task, props, &rep)) < 0) {
            return r;
        }
        r = vsphere_decode_task_info (rep.data, rep.len, "reply to "
                                      "RetrievePropertiesEx (task)", &ti);
        vs_sbuf_release (&rep);
        if (r == -ESTALE && (r = vsphere_relogin (c)) == 0) {
            continue;
        }
        if (r < 0) {
            return r;
        }
        if (ti.state == VSPHERE_TASK_SUCCESS) {
            if (result) {
                *result = ti.result;
            }
            return 0;
        }
        if (ti.state == VSPHERE_TASK_ERROR) {
            for (char *p = ti.error.message; p && *p; p++) {
                *p = (unsigned char) *p < 0x20 ? ' ' : *p;
            }
            r = set_error (vsphere_fault_errno (ti.error.type), "vCenter "
                           "'%s': %s failed: %s (%s)",
                           vsphere_client_profile (c)->name, what,
                           ti.error.type[0] ? ti.error.type : "error",
                           ti.error.message ? ti.error.message : "no message");
            vsphere_fault_release (&ti.error);
            return r;
        }
        if (vsphere_client_now (c) - start >= (uint64_t) deadline * 1000) {
            return set_error (ETIMEDOUT, "vCenter '%s': %s did not finish "
                              "within %u s (task '%s'; 'task_deadline' in "
                              "the profile)",
                              vsphere_client_profile (c)->name, what,
                              deadline, task->value);
        }
        vsphere_client_sleep (c, delay);
        delay = delay * 2 > 2000 ? 2000 : delay * 2;
    }
}

/* A method that returns a Task, then the wait. */
static int
vsphere_task_call (struct vsphere_client *c, const char *method,
                   const struct vsphere_moref *this_ref, const char *args,
                   const char *what, struct vsphere_moref *result)
{
    struct vsphere_moref task;
    struct sbuf rep = { 0 };
    char rwhat[96];
    int r;

    if ((r = vsphere_call (c, method, this_ref, args, &rep)) < 0) {
        return r;
    }
    snprintf (rwhat, sizeof rwhat, "reply to %s", method);
    r = vsphere_decode_returnval_moref (rep.data, rep.len, rwhat, &task);
    vs_sbuf_release (&rep);
    if (r < 0) {
        return r;
    }
    return vsphere_task_wait (c, &task, what, result);
}

int
vsphere_vm_power_on (struct vsphere_client *c, const struct vsphere_moref *vm)
{
    return vsphere_task_call (c, "PowerOnVM_Task", vm, NULL, "power on",
                              NULL);
}

int
vsphere_vm_power_off (struct vsphere_client *c, const struct vsphere_moref *vm)
{
    return vsphere_task_call (c, "PowerOffVM_Task", vm, NULL, "power off",
                              NULL);
}

int
vsphere_vm_shutdown_ask (struct vsphere_client *c,
                         const struct vsphere_moref *vm, bool *asked)
{
    struct sbuf rep = { 0 };
    char *ps = NULL;
    int r;

    *asked = false;
    if ((r = vsphere_vm_state (c, vm, &ps, NULL)) < 0) {
        return r;
    }
    if (strcmp (ps, "poweredOff") == 0) {
        free (ps);
        return 0;
    }
    free (ps);
    if ((r = vsphere_call (c, "ShutdownGuest", vm, NULL, &rep)) < 0) {
        return r;
    }
    vs_sbuf_release (&rep);
    *asked = true;
    return 0;
}

int
vsphere_vm_shutdown_wait (struct vsphere_client *c,
                          const struct vsphere_moref *vm, uint64_t start,
                          unsigned deadline_s, bool power_off, bool *forced)
{
    uint64_t delay = 200;
    char *ps = NULL;
    int r;

    if (forced) {
        *forced = false;
    }
    for (;;) {
        if ((r = vsphere_vm_state (c, vm, &ps, NULL)) < 0) {
            return r;
        }
        if (strcmp (ps, "poweredOff") == 0) {
            free (ps);
            return 0;
        }
        free (ps);
        ps = NULL;
        if (vsphere_client_now (c) - start >= (uint64_t) deadline_s * 1000) {
            break;
        }
        vsphere_client_sleep (c, delay);
        delay = delay * 2 > 2000 ? 2000 : delay * 2;
    }
    if (!power_off) {
        return set_error (ETIMEDOUT, "vCenter '%s': VM '%s' did not power "
                          "off within %u s of the guest shutdown request "
                          "(is VMware Tools running in the guest?); shut it "
                          "down in the guest, or allow a hard power-off with "
                          "--power-off-after SECONDS",
                          vsphere_client_profile (c)->name, vm->value,
                          deadline_s);
    }
    if ((r = vsphere_vm_power_off (c, vm)) == 0 && forced) {
        *forced = true;
    }
    return r;
}

int
vsphere_vm_shutdown (struct vsphere_client *c, const struct vsphere_moref *vm,
                     unsigned deadline_s, bool power_off, bool *forced)
{
    bool asked;
    int r;

    if (forced) {
        *forced = false;
    }
    if ((r = vsphere_vm_shutdown_ask (c, vm, &asked)) < 0 || !asked) {
        return r;
    }
    return vsphere_vm_shutdown_wait (c, vm, vsphere_client_now (c),
                                     deadline_s, power_off, forced);
}

int
vsphere_snapshot_create (struct vsphere_client *c,
                         const struct vsphere_moref *vm, const char *name,
                         const char *description, bool quiesce,
                         struct vsphere_moref *snap)
{
    struct sbuf a;
    int r;

    vs_sbuf_init (&a, 64 * 1024);
    if ((r = vs_sbuf_addstr (&a, "<name>")) < 0 ||
        (r = vsphere_xml_escape (&a, name, "the snapshot name")) < 0 ||
        (r = vs_sbuf_addstr (&a, "</name><description>")) < 0 ||
        (r = vsphere_xml_escape (&a, description ? description : "",
                                 "the snapshot description")) < 0 ||
        (r = vs_sbuf_printf (&a, "</description><memory>false</memory>"
                             "<quiesce>%s</quiesce>",
                             quiesce ? "true" : "false")) < 0) {
        vs_sbuf_release (&a);
        return r;
    }
    r = vsphere_task_call (c, "CreateSnapshot_Task", vm, a.data,
                           "creating the VM snapshot", snap);
    vs_sbuf_release (&a);
    if (r == 0 && snap && snap->value[0] == '\0') {
        return set_error (EPROTO, "vCenter '%s': the snapshot task returned "
                          "no snapshot", vsphere_client_profile (c)->name);
    }
    return r;
}

int
vsphere_snapshot_remove (struct vsphere_client *c,
                         const struct vsphere_moref *snap)
{
    return vsphere_task_call (c, "RemoveSnapshot_Task", snap,
                              "<removeChildren>false</removeChildren>"
                              "<consolidate>true</consolidate>",
                              "removing the VM snapshot", NULL);
}

/* VM names through a light retrieval (the name of every VM). */
int
vsphere_vm_find (struct vsphere_client *c, const char *name,
                 struct vsphere_moref *out)
{
    struct vsphere_inventory inv;

    memset (&inv, 0, sizeof inv);
    const struct vsphere_vm *hit = NULL;
    size_t n = 0;
    int r;

    if ((r = vsphere_names_fetch (c, &inv)) < 0) {
        return r;
    }
    for (size_t i = 0; i < inv.vms.len; i++) {
        if (inv.vms.ptr[i].name && strcmp (inv.vms.ptr[i].name, name) == 0) {
            hit = &inv.vms.ptr[i];
            n++;
        }
    }
    if (n == 1) {
        *out = hit->self;
    }
    vsphere_inventory_release (&inv);
    if (n == 0) {
        return set_error (ENOENT, "vCenter '%s': no VM named '%s'",
                          vsphere_client_profile (c)->name, name);
    }
    if (n > 1) {
        return set_error (EINVAL, "vCenter '%s': %zu VMs are named '%s'; "
                          "rename one or use its id", 
                          vsphere_client_profile (c)->name, n, name);
    }
    return 0;
}
