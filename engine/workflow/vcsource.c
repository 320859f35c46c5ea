/* The vCenter source of a run (docs/blueprint.md "A vCenter source").
 * The inventory is read once, when the run is made; each VM's part of it
 * (its "facts", the JSON object vmshift inventory --json prints) is kept
 * in the run's journal, and everything the run needs from the source is
 * built from those facts: the disks' ontap:// locations, the VM model the
 * target definition is emitted from, the guest IPs for the bundle. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "engine/base/json.h"
#include "engine/base/jsonw.h"
#include "engine/vmshift.h"
#include "engine/workflow/vcsource.h"
#include "hypervisors/guest.h"
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

/* ------------------------------------------------ the inventory record
 * guest/network.json of the bundle: what VMware Tools reported
 * (guest.net[].ipConfig, guest.ipStack[0]) in the format of the record
 * linux-prepare.sh writes inside the guest (docs/guest-network.md "The
 * record (Linux)"), so linux-reapply.sh applies it as it is.  Every
 * value is checked here (the guest reports them, so they are untrusted)
 * and dropped, counted, when it does not pass. */

struct wf_vc_net {              /* one address, parsed */
    int family;                 /* 4 or 6 */
    unsigned char raw[16];
    int prefix;
};

static int
wf_vc_parse_ip (const char *s, struct wf_vc_net *n)
{
    n->family = s && strchr (s, ':') ? 6 : 4;
    return s && strlen (s) < 64 &&
           inet_pton (n->family == 6 ? AF_INET6 : AF_INET, s, n->raw) == 1;
}

/* Do a and b share their first 'prefix' bits? */
static bool
wf_vc_same_net (const struct wf_vc_net *a, const struct wf_vc_net *b,
                int prefix)
{
    if (a->family != b->family || prefix < 0) {
        return false;
    }
    for (int i = 0; i < prefix; i++) {
        int m = 0x80 >> (i % 8);

        if ((a->raw[i / 8] & m) != (b->raw[i / 8] & m)) {
            return false;
        }
    }
    return true;
}

/* "global", "link" (169.254/16, fe80::/10), or NULL for addresses that
 * are not an interface's own (loopback, multicast, unspecified). */
static const char *
wf_vc_scope (const struct wf_vc_net *a)
{
    static const unsigned char zero[16];

    if (a->family == 4) {
        if (a->raw[0] == 127 || a->raw[0] >= 224 ||
            memcmp (a->raw, zero, 4) == 0) {
            return NULL;
        }
        return a->raw[0] == 169 && a->raw[1] == 254 ? "link" : "global";
    }
    if (a->raw[0] == 0xff || memcmp (a->raw, zero, 15) == 0) {
        return NULL;    /* multicast, ::, ::1 */
    }
    return a->raw[0] == 0xfe && (a->raw[1] & 0xc0) == 0x80 ? "link"
           : "global";
}

static int64_t
wf_vc_i (const struct json_val *o, const char *key, int64_t dflt)
{
    int64_t v;

    return vs_json_get_i64 (o, key, &v) == 0 ? v : dflt;
}

struct wf_vc_rec {
    struct jsonw *w;
    unsigned dropped, statics, dynamics, routes;
};

/* Canonical IP text of s into out (INET6_ADDRSTRLEN), 0 if not one. */
static int
wf_vc_canon_ip (const char *s, int family, char *out)
{
    return s && hv_guest_check_ip (s, family, "guest IP", out,
                                   INET6_ADDRSTRLEN) == 0;
}

static void
wf_vc_rec_dns (struct wf_vc_rec *c, const struct json_val *d,
               const char *source)
{
    const struct json_val *sv = vs_json_get (d, "servers");
    const struct json_val *sd = vs_json_get (d, "search");
    const char *dom = wf_vc_s (d, "domain");
    char ip[INET6_ADDRSTRLEN];
    bool dom_listed = false;

    vs_jw_key (c->w, "dns");
    vs_jw_obj_begin (c->w);
    vs_jw_key (c->w, "servers");
    vs_jw_arr_begin (c->w);
    for (size_t i = 0; i < vs_json_array_len (sv) && i < 16; i++) {
        if (wf_vc_canon_ip (vs_json_string_value (vs_json_array_at (sv, i)),
                            0, ip)) {
            vs_jw_str (c->w, ip);
        } else {
            c->dropped++;
        }
    }
    vs_jw_arr_end (c->w);
    vs_jw_key (c->w, "search");
    vs_jw_arr_begin (c->w);
    /* the guest's own domain first, as resolv.conf puts it */
    for (size_t i = 0; dom && i < vs_json_array_len (sd); i++) {
        const char *s = vs_json_string_value (vs_json_array_at (sd, i));

        dom_listed |= s && strcmp (s, dom) == 0;
    }
    if (dom && *dom && !dom_listed) {
        if (hv_guest_check_domain (dom, "guest DNS domain") == 0) {
            vs_jw_str (c->w, dom);
        } else {
            c->dropped++;
        }
    }
    for (size_t i = 0; i < vs_json_array_len (sd) && i < 16; i++) {
        const char *s = vs_json_string_value (vs_json_array_at (sd, i));

        if (s && hv_guest_check_domain (s, "guest DNS search") == 0) {
            vs_jw_str (c->w, s);
        } else {
            c->dropped++;
        }
    }
    vs_jw_arr_end (c->w);
    if (source) {
        vs_jw_kv_str (c->w, "source", source);
    }
    vs_jw_obj_end (c->w);
}

/* Is route r one of NIC n's?  By gateway.device (the NIC's index in
 * guest.net, as VMware Tools report it), else by the gateway lying in
 * one of the NIC's subnets. */
static bool
wf_vc_route_on (const struct json_val *rt, const struct json_val *n,
                const struct wf_vc_net *gw, bool has_gw)
{
    const char *dev = wf_vc_s (rt, "device");
    const struct json_val *as = vs_json_get (n, "addresses");
    char *end;

    if (dev && *dev) {
        long k = strtol (dev, &end, 10);

        if (*end == '\0') {
            return k == wf_vc_i (n, "guest_index", -1);
        }
    }
    for (size_t i = 0; has_gw && i < vs_json_array_len (as); i++) {
        const struct json_val *a = vs_json_array_at (as, i);
        struct wf_vc_net x;

        if (wf_vc_parse_ip (wf_vc_s (a, "address"), &x) &&
            wf_vc_same_net (&x, gw, (int) wf_vc_i (a, "prefix", -1))) {
            return true;
        }
    }
    return false;
}

/* The routes of NIC n: default routes become gateways; routes without a
 * gateway to one of its own subnets are the kernel's and left out, as
 * linux-prepare.sh leaves them out. */
static bool
wf_vc_dynamic_origin (const char *o)
{
    return o && (strcmp (o, "dhcp") == 0 || strcmp (o, "linklayer") == 0 ||
                 strcmp (o, "random") == 0);
}

/* Has NIC n a static global address?  A NIC without one has its routes
 * from DHCP or router advertisements: they are not static settings. */
static bool
wf_vc_has_static (const struct json_val *n)
{
    const struct json_val *as = vs_json_get (n, "addresses");

    for (size_t i = 0; i < vs_json_array_len (as); i++) {
        const struct json_val *a = vs_json_array_at (as, i);
        const char *sc;
        struct wf_vc_net x;

        if (wf_vc_parse_ip (wf_vc_s (a, "address"), &x) &&
            (sc = wf_vc_scope (&x)) != NULL && strcmp (sc, "global") == 0 &&
            !wf_vc_dynamic_origin (wf_vc_s (a, "origin"))) {
            return true;
        }
    }
    return false;
}

static void
wf_vc_rec_routes (struct wf_vc_rec *c, const struct json_val *routes,
                  const struct json_val *n)
{
    const struct json_val *as = vs_json_get (n, "addresses");

    vs_jw_key (c->w, "routes");
    vs_jw_arr_begin (c->w);
    for (size_t i = 0; wf_vc_has_static (n) &&
                       i < vs_json_array_len (routes); i++) {
        const struct json_val *rt = vs_json_array_at (routes, i);
        const char *gws = wf_vc_s (rt, "gateway");
        int64_t p = wf_vc_i (rt, "prefix", -1);
        struct wf_vc_net net, gw;
        bool has_gw = false, kernel = false;
        char dst[INET6_ADDRSTRLEN], gwt[INET6_ADDRSTRLEN] = "";
        const char *scope;

        if (!wf_vc_parse_ip (wf_vc_s (rt, "network"), &net) ||
            p < 0 || p > (net.family == 4 ? 32 : 128)) {
            continue;   /* not a route a guest could have */
        }
        if (gws && *gws && wf_vc_parse_ip (gws, &gw) &&
            gw.family == net.family &&
            wf_vc_canon_ip (gws, net.family, gwt)) {
            has_gw = wf_vc_scope (&gw) != NULL;
        }
        if (!wf_vc_route_on (rt, n, &gw, has_gw)) {
            continue;
        }
        /* multicast and link-local destinations are the stack's own */
        scope = wf_vc_scope (&net);
        if (p > 0 && (scope == NULL || strcmp (scope, "link") == 0)) {
            continue;
        }
        for (size_t k = 0; !has_gw && k < vs_json_array_len (as); k++) {
            const struct json_val *a = vs_json_array_at (as, k);
            struct wf_vc_net x;

            kernel |= wf_vc_parse_ip (wf_vc_s (a, "address"), &x) &&
                      wf_vc_i (a, "prefix", -1) == p &&
                      wf_vc_same_net (&x, &net, (int) p);
        }
        if (kernel || (p == 0 && !has_gw)) {
            continue;
        }
        wf_vc_canon_ip (wf_vc_s (rt, "network"), net.family, dst);
        vs_jw_obj_begin (c->w);
        vs_jw_kv_str (c->w, "family", net.family == 4 ? "inet" : "inet6");
        if (p == 0) {
            vs_jw_kv_str (c->w, "dst", "default");
        } else {
            char d[INET6_ADDRSTRLEN + 8];

            snprintf (d, sizeof d, "%s/%d", dst, (int) p);
            vs_jw_kv_str (c->w, "dst", d);
        }
        vs_jw_kv_str (c->w, "gateway", gwt);
        vs_jw_kv_str (c->w, "proto", "static");
        vs_jw_kv_bool (c->w, "onlink", false);
        vs_jw_obj_end (c->w);
        c->routes++;
    }
    vs_jw_arr_end (c->w);
}

static void
wf_vc_rec_addrs (struct wf_vc_rec *c, const struct json_val *as,
                 const char *label)
{
    vs_jw_key (c->w, "addresses");
    vs_jw_arr_begin (c->w);
    for (size_t i = 0; i < vs_json_array_len (as); i++) {
        const struct json_val *a = vs_json_array_at (as, i);
        const char *ip = wf_vc_s (a, "address"), *o = wf_vc_s (a, "origin");
        const char *st = wf_vc_s (a, "state"), *scope;
        int64_t p = wf_vc_i (a, "prefix", -1);
        char canon[INET6_ADDRSTRLEN];
        struct wf_vc_net x;
        bool dyn;

        if (!wf_vc_parse_ip (ip, &x) || !wf_vc_canon_ip (ip, x.family, canon)
            || p <= 0 || p > (x.family == 4 ? 32 : 128) ||
            (scope = wf_vc_scope (&x)) == NULL) {
            c->dropped++;
            continue;
        }
        /* an address the guest could not use is not its configuration
         * (a prefix of 0 means none was known) */
        if (st && (strcmp (st, "invalid") == 0 ||
                   strcmp (st, "duplicate") == 0)) {
            continue;
        }
        /* DHCP, and SLAAC (linklayer: from the MAC; random: privacy
         * addresses): not static settings.  'manual', 'other' and no
         * origin at all count as static. */
        dyn = wf_vc_dynamic_origin (o);
        if (strcmp (scope, "global") == 0) {
            if (dyn) {
                c->dynamics++;
            } else {
                c->statics++;
            }
        }
        vs_jw_obj_begin (c->w);
        vs_jw_kv_str (c->w, "family", x.family == 4 ? "inet" : "inet6");
        vs_jw_kv_str (c->w, "address", canon);
        vs_jw_kv_i64 (c->w, "prefix", p);
        vs_jw_kv_str (c->w, "scope", scope);
        vs_jw_kv_bool (c->w, "dynamic", dyn);
        vs_jw_kv_str (c->w, "label", label);
        vs_jw_key (c->w, "flags");
        vs_jw_arr_begin (c->w);
        if (o && strcmp (o, "random") == 0) {
            vs_jw_str (c->w, "temporary");
        }
        vs_jw_arr_end (c->w);
        vs_jw_obj_end (c->w);
    }
    vs_jw_arr_end (c->w);
}

int
wf_vc_record_file (const char *facts, char **out, char **summary)
{
    struct json_val *f = NULL;
    const struct json_val *nics, *stack, *routes;
    struct sbuf b;
    struct jsonw w;
    struct wf_vc_rec c = { .w = &w };
    size_t nn = 0;
    int e;

    *out = NULL;
    *summary = NULL;
    if ((e = vs_json_parse (facts, strlen (facts), "VM facts", &f)) < 0) {
        return e;
    }
    nics = vs_json_get (f, "nics");
    stack = vs_json_get (f, "ip_stack");
    routes = vs_json_get (stack, "routes");
    vs_sbuf_init (&b, 1 << 20);
    vs_jw_init (&w, &b, true);
    vs_jw_obj_begin (&w);
    vs_jw_kv_u64 (&w, "vmshift_record", 1);
    /* linux-reapply.sh names where its record came from by this key */
    vs_jw_kv_str (&w, "source", "vmware-tools");
    vs_jw_key (&w, "os");
    vs_jw_obj_begin (&w);
    vs_jw_kv_str (&w, "id", wf_vc_s (f, "guest_id"));
    vs_jw_obj_end (&w);
    vs_jw_key (&w, "stacks");
    vs_jw_arr_begin (&w);
    vs_jw_arr_end (&w);
    wf_vc_rec_dns (&c, vs_json_get (stack, "dns"), "vmware-tools");
    vs_jw_key (&w, "nics");
    vs_jw_arr_begin (&w);
    for (size_t i = 0; i < vs_json_array_len (nics); i++) {
        const struct json_val *n = vs_json_array_at (nics, i);
        const struct json_val *nd = vs_json_get (n, "dns");
        char mac[32], name[16];

        if (!wf_vc_s (n, "mac") ||
            hv_guest_check_mac (wf_vc_s (n, "mac"), "NIC MAC", mac,
                                sizeof mac) < 0) {
            c.dropped++;
            continue;
        }
        /* The guest's own name for the NIC is not in the inventory.  A
         * name with '-' never equals a token re-apply renames in the
         * guest's files ([A-Za-z0-9_]+), so it renames nothing there. */
        snprintf (name, sizeof name, "vcenter-nic%zu", nn);
        vs_jw_obj_begin (&w);
        vs_jw_kv_str (&w, "name", name);
        vs_jw_kv_str (&w, "mac", mac);
        vs_jw_kv_str (&w, "kind", "ether");
        vs_jw_kv_bool (&w, "physical", true);
        /* no PCI path: matched by MAC, else in the VM's device order */
        vs_jw_kv_str (&w, "bus", "");
        vs_jw_kv_u64 (&w, "ifindex", nn + 2);
        vs_jw_kv_str (&w, "stack", "");
        vs_jw_key (&w, "config");
        vs_jw_arr_begin (&w);
        vs_jw_arr_end (&w);
        vs_jw_kv_str (&w, "name_pinned", "");
        wf_vc_rec_addrs (&c, vs_json_get (n, "addresses"), name);
        wf_vc_rec_routes (&c, routes, n);
        if (vs_json_array_len (vs_json_get (nd, "servers")) > 0) {
            wf_vc_rec_dns (&c, nd, NULL);
        }
        vs_jw_obj_end (&w);
        nn++;
    }
    vs_jw_arr_end (&w);
    vs_jw_obj_end (&w);
    vs_sbuf_addch (&b, '\n');
    vs_json_free (f);
    *out = vs_sbuf_detach (&b, NULL);
    if (*out && asprintf (summary, "guest network record from VMware Tools "
                          "(vCenter inventory) in guest/network.json: %zu "
                          "NIC(s), %u static and %u DHCP/SLAAC address(es), "
                          "%u route(s)%s; at first boot a record the "
                          "prepare script made inside the guest wins",
                          nn, c.statics, c.dynamics, c.routes,
                          c.dropped ? ", values that failed validation "
                          "dropped" : "") < 0) {
        *summary = NULL;
    }
    if (*out == NULL || *summary == NULL) {
        free (*out);
        *out = NULL;
        return set_error (ENOMEM, "out of memory");
    }
    return 0;
}
