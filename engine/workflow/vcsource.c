/* The vCenter source of a run (docs/blueprint.md "A vCenter source").
 * The inventory is read once, when the run is made; each VM's part of it
 * (its "facts", the JSON object vmshift inventory --json prints) is kept
 * in the run's journal, and everything the run needs from the source is
 * built from those facts: the disks' ontap:// locations, the VM model the
 * target definition is emitted from, the guest IPs for the bundle. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "engine/base/json.h"
#include "engine/base/jsonw.h"
#include "engine/vmshift.h"
#include "engine/workflow/vcsource.h"
#include "hypervisors/hv.h"

#define WF_VC_INV_MAX ((size_t) 1 << 30)

int
wf_vc_inventory (struct vmshift_handle *h, const char *profile, char **out)
{
    struct vmshift_vcenter *vc = NULL;
    struct vmshift_inventory *iv = NULL;
    int e;

    *out = NULL;
    if ((e = vmshift_vcenter_open (h, profile, &vc)) < 0) {
        return e;
    }
    /* every VM: the names and folders of the blueprint are matched here,
     * not by the inventory's own filters (one read for all groups) */
    e = vmshift_inventory_get (vc, NULL, &iv);
    if (e == 0 && !(*out = vmshift_inventory_json (iv, 0))) {
        e = -ENOMEM;
    }
    vmshift_inventory_free (iv);
    vmshift_vcenter_close (vc);
    return e;
}

static int
wf_vc_parse (const char *inv, struct json_val **root)
{
    return vs_json_parse (inv, strlen (inv), "vCenter inventory", root);
}

/* Is folder path p the folder f or below it? */
static bool
wf_vc_below (const char *p, const char *f)
{
    size_t n = strlen (f);

    while (n > 1 && f[n - 1] == '/') {
        n--;
    }
    return p && strncmp (p, f, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

int
wf_vc_picks (const char *inv, const struct wf_blueprint *bp,
             struct wf_bp_pick **picks, size_t *n)
{
    struct json_val *root = NULL;
    const struct json_val *vms;
    struct wf_bp_pick *p = NULL;
    size_t np = 0;
    int e;

    *picks = NULL;
    *n = 0;
    if ((e = wf_vc_parse (inv, &root)) < 0) {
        return e;
    }
    vms = vs_json_get (root, "vms");
    for (size_t g = 0; g < bp->ngroups; g++) {
        if (!bp->groups[g].folder) {
            continue;
        }
        for (size_t i = 0; i < vs_json_array_len (vms); i++) {
            const struct json_val *v = vs_json_array_at (vms, i);
            const char *name = vs_json_string_value (vs_json_get (v, "name"));
            const char *folder = vs_json_string_value (vs_json_get (v,
                                                                  "folder"));
            struct wf_bp_pick *q;

            if (!name || !wf_vc_below (folder, bp->groups[g].folder)) {
                continue;
            }
            if ((q = realloc (p, (np + 1) * sizeof *p))) {
                p = q;
                p[np].name = strdup (name);
            }
            if (!q || !p[np].name) {
                wf_vc_picks_free (p, np);
                vs_json_free (root);
                return set_error (ENOMEM, "out of memory");
            }
            p[np++].group = g;
        }
    }
    vs_json_free (root);
    *picks = p;
    *n = np;
    return 0;
}

void
wf_vc_picks_free (struct wf_bp_pick *picks, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free ((char *) picks[i].name);
    }
    free (picks);
}

int
wf_vc_facts (const char *inv, const char *vcenter, const char *name,
             char **facts, char **problem)
{
    struct json_val *root = NULL;
    const struct json_val *vms, *hit = NULL;
    size_t count = 0;
    int e;

    *facts = NULL;
    *problem = NULL;
    if ((e = wf_vc_parse (inv, &root)) < 0) {
        return e;
    }
    vms = vs_json_get (root, "vms");
    for (size_t i = 0; i < vs_json_array_len (vms); i++) {
        const struct json_val *v = vs_json_array_at (vms, i);
        const char *s = vs_json_string_value (vs_json_get (v, "name"));

        if (s && strcmp (s, name) == 0) {
            hit = v;
            count++;
        }
    }
    if (count == 1) {
        e = (*facts = vs_json_print (hit)) ? 0 : -ENOMEM;
    } else if ((count ? asprintf (problem, "vCenter '%s' has %zu VMs "
                                  "named '%s': rename one", vcenter, count,
                                  name)
                      : asprintf (problem, "vCenter '%s' has no VM named "
                                  "'%s'", vcenter, name)) < 0) {
        *problem = NULL;
        e = set_error (ENOMEM, "out of memory");
    }
    vs_json_free (root);
    return e;
}

char *
wf_vc_fact_str (const char *facts, const char *key)
{
    struct json_val *v = NULL;
    char *out = NULL;

    if (facts && vs_json_parse (facts, strlen (facts), "facts", &v) == 0 &&
        vs_json_opt_str (v, key, &out) < 0) {
        out = NULL;
    }
    vs_json_free (v);
    clear_error ();
    return out;
}

char *
wf_vc_volume_of (const char *loc)
{
    const char *p, *slash;

    if (!loc || strncmp (loc, "ontap://", 8) != 0) {
        return NULL;
    }
    p = loc + 8;
    if (!(slash = strchr (p, '/')) || !(slash = strchr (slash + 1, '/'))) {
        return strdup (loc);
    }
    return strndup (loc, (size_t) (slash - loc));
}

/* "scsi0:1" -> bus, controller, unit. */
static int
wf_vc_slot (const char *s, enum hv_bus *bus, unsigned *ctrl, unsigned *unit)
{
    static const struct { const char *p; enum hv_bus b; } buses[] = {
        { "scsi", HV_BUS_SCSI }, { "sata", HV_BUS_SATA },
        { "nvme", HV_BUS_NVME }, { "ide", HV_BUS_IDE },
    };
    char tail;

    for (size_t i = 0; s && i < sizeof buses / sizeof buses[0]; i++) {
        size_t n = strlen (buses[i].p);

        if (strncmp (s, buses[i].p, n) == 0 &&
            sscanf (s + n, "%u:%u%c", ctrl, unit, &tail) == 2 &&
            *ctrl < 64 && *unit < 256) {
            *bus = buses[i].b;
            return 0;
        }
    }
    return -EINVAL;
}

static int
wf_vc_add_ctrl (struct hv_vm *vm, enum hv_bus bus, unsigned index)
{
    struct hv_controller c = { .bus = bus, .index = index };

    for (size_t i = 0; i < vm->ctrls.len; i++) {
        if (vm->ctrls.ptr[i].bus == bus && vm->ctrls.ptr[i].index == index) {
            return 0;
        }
    }
    return hv_ctrl_vec_append (&vm->ctrls, c) < 0
           ? set_error (ENOMEM, "out of memory") : 0;
}

static const char *
wf_vc_s (const struct json_val *o, const char *key)
{
    return vs_json_string_value (vs_json_get (o, key));
}

static int
wf_vc_disks (const struct json_val *f, struct hv_vm *vm, struct sbuf *probs)
{
    const struct json_val *disks = vs_json_get (f, "disks");

    for (size_t i = 0; i < vs_json_array_len (disks); i++) {
        const struct json_val *d = vs_json_array_at (disks, i);
        const char *file = wf_vc_s (d, "file"), *loc = wf_vc_s (d, "location");
        const char *slot = wf_vc_s (d, "controller");
        const char *mode = wf_vc_s (d, "mode");
        struct hv_disk k = { .kind = HV_DEV_DISK, .start_connected = true };
        uint64_t cap = 0;
        int e;

        if (!loc) {
            const char *why = wf_vc_s (d, "location_problem");

            vs_sbuf_printf (probs, "disk '%s' (%s): %s\n", file ? file : "?",
                            slot ? slot : "?", why ? why : "no location");
            continue;
        }
        if (wf_vc_slot (slot, &k.bus, &k.ctrl, &k.unit) < 0) {
            vs_sbuf_printf (probs, "disk '%s': controller slot '%s' is not "
                            "understood\n", loc, slot ? slot : "");
            continue;
        }
        if (vs_json_opt_u64 (d, "capacity_bytes", &cap) < 0) {
            clear_error ();
        }
        k.capacity = cap;
        if (mode && strcmp (mode, "independent_persistent") == 0) {
            k.mode = HV_MODE_INDEP_PERSISTENT;
        } else if (mode && strcmp (mode, "independent_nonpersistent") == 0) {
            k.mode = HV_MODE_INDEP_NONPERSISTENT;
        }
        if ((e = wf_vc_add_ctrl (vm, k.bus, k.ctrl)) < 0) {
            return e;
        }
        if (!(k.file = strdup (loc)) || hv_disk_vec_append (&vm->disks, k) < 0) {
            free (k.file);
            return set_error (ENOMEM, "out of memory");
        }
    }
    return 0;
}

static int
wf_vc_nics (const struct json_val *f, struct hv_vm *vm, struct sbuf *probs)
{
    const struct json_val *nics = vs_json_get (f, "nics");

    for (size_t i = 0; i < vs_json_array_len (nics); i++) {
        const struct json_val *n = vs_json_array_at (nics, i);
        const char *net = wf_vc_s (n, "network"), *mac = wf_vc_s (n, "mac");
        struct hv_nic c = { .index = (unsigned) i, .start_connected = true };

        if (i >= HV_MAX_NICS) {
            vs_sbuf_printf (probs, "more than %d NICs\n", HV_MAX_NICS);
            break;
        }
        if (mac && hv_mac_normalize (mac, c.mac) < 0) {
            clear_error ();
            c.mac[0] = '\0';
        }
        /* a MAC vCenter assigned: kept at the target when the map says
         * retain_mac */
        if (!(c.network = strdup (net ? net : "")) ||
            !(c.address_type = strdup ("vpx")) ||
            hv_nic_vec_append (&vm->nics, c) < 0) {
            free (c.network);
            free (c.address_type);
            return set_error (ENOMEM, "out of memory");
        }
    }
    return 0;
}

static int
wf_vc_blockers (const struct json_val *f, struct hv_vm *vm,
                struct sbuf *probs)
{
    const struct json_val *b = vs_json_get (f, "blockers");

    for (size_t i = 0; i < vs_json_array_len (b); i++) {
        const char *kind = wf_vc_s (vs_json_array_at (b, i), "kind");
        const char *dev = wf_vc_s (vs_json_array_at (b, i), "device");

        kind = kind ? kind : "?";
        dev = dev ? dev : "?";
        /* data that is not in the datastore cannot be converted */
        if (strcmp (kind, "rdm") == 0 || strcmp (kind, "multi-writer") == 0) {
            vs_sbuf_printf (probs, "%s: %s will not carry over\n", dev, kind);
        } else if (hv_vm_warn (vm, "%s: %s will not carry over", dev,
                               kind) < 0) {
            return -ENOMEM;
        }
    }
    return 0;
}

int
wf_vc_model (const char *facts, struct hv_vm **out, struct sbuf *problems)
{
    struct json_val *f = NULL;
    struct hv_vm *vm;
    uint64_t cpus = 0, mem = 0;
    bool sb = false;
    const char *fw, *name, *gid;
    int e;

    *out = NULL;
    if ((e = vs_json_parse (facts, strlen (facts), "VM facts", &f)) < 0) {
        return e;
    }
    if (!(vm = calloc (1, sizeof *vm))) {
        vs_json_free (f);
        return set_error (ENOMEM, "out of memory");
    }
    name = wf_vc_s (f, "name");
    gid = wf_vc_s (f, "guest_id");
    fw = wf_vc_s (f, "firmware");
    if (vs_json_opt_u64 (f, "cpus", &cpus) < 0 ||
        vs_json_opt_u64 (f, "memory_mib", &mem) < 0 ||
        vs_json_opt_bool (f, "secure_boot", &sb) < 0) {
        clear_error ();
    }
    vm->vcpus = cpus >= 1 && cpus <= HV_MAX_VCPUS ? (unsigned) cpus : 1;
    vm->memory_mib = mem >= HV_MIN_MEMORY_MIB && mem <= HV_MAX_MEMORY_MIB
                     ? mem : 1024;
    if (vm->vcpus != cpus || vm->memory_mib != mem) {
        vs_sbuf_printf (problems, "CPUs (%llu) or memory (%llu MiB) out of "
                        "range\n", (unsigned long long) cpus,
                        (unsigned long long) mem);
    }
    vm->firmware = fw && strcmp (fw, "efi") == 0 ? HV_FW_EFI : HV_FW_BIOS;
    vm->secure_boot = sb && vm->firmware == HV_FW_EFI;
    if (!(vm->source = strdup ("vcenter")) ||
        !(vm->name = strdup (name ? name : "vm")) ||
        !(vm->guest_os = strdup (gid ? gid : "otherGuest"))) {
        e = set_error (ENOMEM, "out of memory");
    }
    if (e == 0) {
        e = wf_vc_disks (f, vm, problems);
    }
    if (e == 0) {
        e = wf_vc_nics (f, vm, problems);
    }
    if (e == 0) {
        e = wf_vc_blockers (f, vm, problems);
    }
    if (e == 0) {
        e = hv_vm_finish (vm);
    }
    vs_json_free (f);
    if (e < 0) {
        hv_vm_free (vm);
        return e;
    }
    *out = vm;
    return 0;
}

int
wf_vc_ips_file (const char *facts, char **out)
{
    struct json_val *f = NULL;
    const struct json_val *nics;
    struct sbuf b;
    struct jsonw w;
    int e;

    *out = NULL;
    if ((e = vs_json_parse (facts, strlen (facts), "VM facts", &f)) < 0) {
        return e;
    }
    nics = vs_json_get (f, "nics");
    vs_sbuf_init (&b, 1 << 20);
    vs_jw_init (&w, &b, true);
    vs_jw_obj_begin (&w);
    vs_jw_kv_str (&w, "source", "VMware Tools (guest.net), as vCenter "
                  "reported it when the run was made");
    vs_jw_kv_str (&w, "vm", wf_vc_s (f, "name"));
    vs_jw_key (&w, "nics");
    vs_jw_arr_begin (&w);
    for (size_t i = 0; i < vs_json_array_len (nics); i++) {
        const struct json_val *n = vs_json_array_at (nics, i);
        const struct json_val *ips = vs_json_get (n, "ips");

        vs_jw_obj_begin (&w);
        vs_jw_kv_str (&w, "mac", wf_vc_s (n, "mac"));
        vs_jw_kv_str (&w, "network", wf_vc_s (n, "network"));
        vs_jw_key (&w, "ips");
        vs_jw_arr_begin (&w);
        for (size_t k = 0; k < vs_json_array_len (ips); k++) {
            vs_jw_str (&w, vs_json_string_value (vs_json_array_at (ips, k)));
        }
        vs_jw_arr_end (&w);
        vs_jw_obj_end (&w);
    }
    vs_jw_arr_end (&w);
    vs_jw_obj_end (&w);
    vs_sbuf_addch (&b, '\n');
    vs_json_free (f);
    *out = vs_sbuf_detach (&b, NULL);
    return *out ? 0 : set_error (ENOMEM, "out of memory");
}
