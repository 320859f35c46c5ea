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

/* The DNS servers of d that pass, as a JSON array under key; only those
 * of family 4 or 6 when family is not 0.  Those that fail are counted
 * when 'count' (a list written more than once is counted once). */
static void
wf_vc_rec_servers (struct wf_vc_rec *c, const char *key,
                   const struct json_val *d, int family, bool count)
{
    const struct json_val *sv = vs_json_get (d, "servers");
    char ip[INET6_ADDRSTRLEN];

    vs_jw_key (c->w, key);
    vs_jw_arr_begin (c->w);
    for (size_t i = 0; i < vs_json_array_len (sv) && i < 16; i++) {
        const char *s = vs_json_string_value (vs_json_array_at (sv, i));

        if (!wf_vc_canon_ip (s, 0, ip)) {
            c->dropped += count;
        } else if (family == 0 || (family == 6) == (strchr (ip, ':') != NULL)) {
            vs_jw_str (c->w, ip);
        }
    }
    vs_jw_arr_end (c->w);
}

/* The search domains of d that pass, as a JSON array under key; with
 * 'domain', d's own domain first, as resolv.conf puts it. */
static void
wf_vc_rec_search (struct wf_vc_rec *c, const char *key,
                  const struct json_val *d, bool domain)
{
    const struct json_val *sd = vs_json_get (d, "search");
    const char *dom = domain ? wf_vc_s (d, "domain") : NULL;
    bool dom_listed = false;

    vs_jw_key (c->w, key);
    vs_jw_arr_begin (c->w);
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
}

/* d's domain when it passes, else "" (counted when there was one) */
static const char *
wf_vc_domain (struct wf_vc_rec *c, const struct json_val *d)
{
    const char *dom = wf_vc_s (d, "domain");

    if (dom && *dom && hv_guest_check_domain (dom, "guest DNS domain") < 0) {
        c->dropped++;
        dom = NULL;
    }
    return dom ? dom : "";
}

static void
wf_vc_rec_dns (struct wf_vc_rec *c, const struct json_val *d,
               const char *source)
{
    vs_jw_key (c->w, "dns");
    vs_jw_obj_begin (c->w);
    wf_vc_rec_servers (c, "servers", d, 0, true);
    wf_vc_rec_search (c, "search", d, true);
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

/* DHCP, and SLAAC (linklayer: from the MAC; random: privacy addresses):
 * not static settings.  'manual', 'other' and no origin at all count as
 * static. */
static bool
wf_vc_dynamic_origin (const char *o)
{
    return o && (strcmp (o, "dhcp") == 0 || strcmp (o, "linklayer") == 0 ||
                 strcmp (o, "random") == 0);
}

/* Has NIC n a static global address (of family 4 or 6; 0: either)?  A
 * NIC without one has its routes from DHCP or router advertisements:
 * they are not static settings. */
static bool
wf_vc_has_static (const struct json_val *n, int family)
{
    const struct json_val *as = vs_json_get (n, "addresses");

    for (size_t i = 0; i < vs_json_array_len (as); i++) {
        const struct json_val *a = vs_json_array_at (as, i);
        const char *sc;
        struct wf_vc_net x;

        if (wf_vc_parse_ip (wf_vc_s (a, "address"), &x) &&
            (family == 0 || x.family == family) &&
            (sc = wf_vc_scope (&x)) != NULL && strcmp (sc, "global") == 0 &&
            !wf_vc_dynamic_origin (wf_vc_s (a, "origin"))) {
            return true;
        }
    }
    return false;
}

/* Has NIC n an address of family 'family' from DHCP? */
static bool
wf_vc_has_dhcp (const struct json_val *n, int family)
{
    const struct json_val *as = vs_json_get (n, "addresses");

    for (size_t i = 0; i < vs_json_array_len (as); i++) {
        const struct json_val *a = vs_json_array_at (as, i);
        const char *o = wf_vc_s (a, "origin");
        struct wf_vc_net x;

        if (wf_vc_parse_ip (wf_vc_s (a, "address"), &x) &&
            x.family == family && o && strcmp (o, "dhcp") == 0) {
            return true;
        }
    }
    return false;
}

/* One route of a NIC, checked: both OS's records are written from it. */
struct wf_vc_route {
    int family;                 /* 4 or 6 */
    int prefix;                 /* 0: a default route */
    char dst[INET6_ADDRSTRLEN];
    char gw[INET6_ADDRSTRLEN];  /* "" when it has none */
};

/* Route rt of guest.ipStack as a static route of NIC n, or false: not
 * one a guest could have, not n's, multicast or link-local, a kernel
 * route (no gateway, to one of n's own subnets), a default route
 * without a gateway, or any route of a NIC with no static address. */
static bool
wf_vc_route_get (const struct json_val *rt, const struct json_val *n,
                 struct wf_vc_route *o)
{
    const struct json_val *as = vs_json_get (n, "addresses");
    const char *gws = wf_vc_s (rt, "gateway");
    int64_t p = wf_vc_i (rt, "prefix", -1);
    struct wf_vc_net net, gw;
    bool has_gw = false, kernel = false;
    const char *scope;

    o->gw[0] = '\0';
    if (!wf_vc_has_static (n, 0) ||
        !wf_vc_parse_ip (wf_vc_s (rt, "network"), &net) ||
        p < 0 || p > (net.family == 4 ? 32 : 128)) {
        return false;
    }
    if (gws && *gws && wf_vc_parse_ip (gws, &gw) &&
        gw.family == net.family && wf_vc_canon_ip (gws, net.family, o->gw)) {
        has_gw = wf_vc_scope (&gw) != NULL;
    }
    if (!has_gw) {
        o->gw[0] = '\0';
    }
    if (!wf_vc_route_on (rt, n, &gw, has_gw)) {
        return false;
    }
    /* multicast and link-local destinations are the stack's own */
    scope = wf_vc_scope (&net);
    if (p > 0 && (scope == NULL || strcmp (scope, "link") == 0)) {
        return false;
    }
    for (size_t k = 0; !has_gw && k < vs_json_array_len (as); k++) {
        const struct json_val *a = vs_json_array_at (as, k);
        struct wf_vc_net x;

        kernel |= wf_vc_parse_ip (wf_vc_s (a, "address"), &x) &&
                  wf_vc_i (a, "prefix", -1) == p &&
                  wf_vc_same_net (&x, &net, (int) p);
    }
    if (kernel || (p == 0 && !has_gw)) {
        return false;
    }
    o->family = net.family;
    o->prefix = (int) p;
    return wf_vc_canon_ip (wf_vc_s (rt, "network"), net.family, o->dst);
}

/* The routes of NIC n in the Linux record: default routes become
 * gateways; routes without a gateway to one of its own subnets are the
 * kernel's and left out, as linux-prepare.sh leaves them out. */
static void
wf_vc_rec_routes (struct wf_vc_rec *c, const struct json_val *routes,
                  const struct json_val *n)
{
    vs_jw_key (c->w, "routes");
    vs_jw_arr_begin (c->w);
    for (size_t i = 0; i < vs_json_array_len (routes); i++) {
        struct wf_vc_route r;

        if (!wf_vc_route_get (vs_json_array_at (routes, i), n, &r)) {
            continue;
        }
        vs_jw_obj_begin (c->w);
        vs_jw_kv_str (c->w, "family", r.family == 4 ? "inet" : "inet6");
        if (r.prefix == 0) {
            vs_jw_kv_str (c->w, "dst", "default");
        } else {
            char d[INET6_ADDRSTRLEN + 8];

            snprintf (d, sizeof d, "%s/%d", r.dst, r.prefix);
            vs_jw_kv_str (c->w, "dst", d);
        }
        vs_jw_kv_str (c->w, "gateway", r.gw);
        vs_jw_kv_str (c->w, "proto", "static");
        vs_jw_kv_bool (c->w, "onlink", false);
        vs_jw_obj_end (c->w);
        c->routes++;
    }
    vs_jw_arr_end (c->w);
}

/* One address of a NIC, checked: both OS's records are written from it. */
struct wf_vc_addr {
    int family;                 /* 4 or 6 */
    int prefix;
    char ip[INET6_ADDRSTRLEN];  /* canonical */
    const char *scope;          /* "global" or "link" */
    const char *origin;         /* as reported, or NULL */
    bool dynamic;
};

/* Address a as the NIC's, or false: not valid (counted as dropped), or
 * in a state the guest could not use it in. */
static bool
wf_vc_addr_get (struct wf_vc_rec *c, const struct json_val *a,
                struct wf_vc_addr *o)
{
    const char *ip = wf_vc_s (a, "address"), *st = wf_vc_s (a, "state");
    int64_t p = wf_vc_i (a, "prefix", -1);
    struct wf_vc_net x;

    if (!wf_vc_parse_ip (ip, &x) || !wf_vc_canon_ip (ip, x.family, o->ip)
        || p <= 0 || p > (x.family == 4 ? 32 : 128) ||
        (o->scope = wf_vc_scope (&x)) == NULL) {
        c->dropped++;
        return false;
    }
    /* an address the guest could not use is not its configuration
     * (a prefix of 0 means none was known) */
    if (st && (strcmp (st, "invalid") == 0 ||
               strcmp (st, "duplicate") == 0)) {
        return false;
    }
    o->family = x.family;
    o->prefix = (int) p;
    o->origin = wf_vc_s (a, "origin");
    o->dynamic = wf_vc_dynamic_origin (o->origin);
    if (strcmp (o->scope, "global") == 0) {
        if (o->dynamic) {
            c->dynamics++;
        } else {
            c->statics++;
        }
    }
    return true;
}

static void
wf_vc_rec_addrs (struct wf_vc_rec *c, const struct json_val *as,
                 const char *label)
{
    vs_jw_key (c->w, "addresses");
    vs_jw_arr_begin (c->w);
    for (size_t i = 0; i < vs_json_array_len (as); i++) {
        struct wf_vc_addr a;

        if (!wf_vc_addr_get (c, vs_json_array_at (as, i), &a)) {
            continue;
        }
        vs_jw_obj_begin (c->w);
        vs_jw_kv_str (c->w, "family", a.family == 4 ? "inet" : "inet6");
        vs_jw_kv_str (c->w, "address", a.ip);
        vs_jw_kv_i64 (c->w, "prefix", a.prefix);
        vs_jw_kv_str (c->w, "scope", a.scope);
        vs_jw_kv_bool (c->w, "dynamic", a.dynamic);
        vs_jw_kv_str (c->w, "label", label);
        vs_jw_key (c->w, "flags");
        vs_jw_arr_begin (c->w);
        if (a.origin && strcmp (a.origin, "random") == 0) {
            vs_jw_str (c->w, "temporary");
        }
        vs_jw_arr_end (c->w);
        vs_jw_obj_end (c->w);
    }
    vs_jw_arr_end (c->w);
}

/* A NIC of the Linux record (docs/guest-network.md "The record (Linux)") */
static void
wf_vc_rec_nic_linux (struct wf_vc_rec *c, const struct json_val *n,
                     const struct json_val *routes, const char *name,
                     const char *mac, size_t nn)
{
    const struct json_val *nd = vs_json_get (n, "dns");

    vs_jw_kv_str (c->w, "name", name);
    vs_jw_kv_str (c->w, "mac", mac);
    vs_jw_kv_str (c->w, "kind", "ether");
    vs_jw_kv_bool (c->w, "physical", true);
    /* no PCI path: matched by MAC, else in the VM's device order */
    vs_jw_kv_str (c->w, "bus", "");
    vs_jw_kv_u64 (c->w, "ifindex", nn + 2);
    vs_jw_kv_str (c->w, "stack", "");
    vs_jw_key (c->w, "config");
    vs_jw_arr_begin (c->w);
    vs_jw_arr_end (c->w);
    vs_jw_kv_str (c->w, "name_pinned", "");
    wf_vc_rec_addrs (c, vs_json_get (n, "addresses"), name);
    wf_vc_rec_routes (c, routes, n);
    if (vs_json_array_len (vs_json_get (nd, "servers")) > 0) {
        wf_vc_rec_dns (c, nd, NULL);
    }
}

/* Windows' own words for where an address came from (PrefixOrigin and
 * SuffixOrigin of Get-NetIPAddress); windows-reapply.ps1 applies the
 * 'Manual' ones. */
static void
wf_vc_win_origin (const struct wf_vc_addr *a, const char **prefix,
                  const char **suffix)
{
    const char *o = a->origin ? a->origin : "";

    if (strcmp (a->scope, "link") == 0) {
        *prefix = "WellKnown";
        *suffix = a->family == 6 ? "Link" : "Random";
    } else if (strcmp (o, "dhcp") == 0) {
        *prefix = *suffix = "Dhcp";
    } else if (strcmp (o, "linklayer") == 0) {
        *prefix = "RouterAdvertisement";
        *suffix = "Link";
    } else if (strcmp (o, "random") == 0) {
        *prefix = "RouterAdvertisement";
        *suffix = "Random";
    } else {
        *prefix = *suffix = "Manual";   /* as the Linux record: static */
    }
}

/* A NIC of the Windows record (docs/guest-network.md "Windows"): the
 * keys windows-prepare.ps1 writes, those windows-reapply.ps1 reads all
 * present.  IPv4 is DHCP when the NIC's IPv4 address came from DHCP and
 * it has no static one; a DHCP NIC keeps the DNS servers and suffix
 * DHCP gives it (none static).  Routes without a gateway are on-link:
 * windows-prepare.ps1 leaves them out too. */
static void
wf_vc_rec_nic_windows (struct wf_vc_rec *c, const struct json_val *n,
                       const struct json_val *stack, const char *name,
                       const char *mac, size_t nn)
{
    const struct json_val *routes = vs_json_get (stack, "routes");
    const struct json_val *as = vs_json_get (n, "addresses");
    const struct json_val *d = vs_json_get (n, "dns");
    bool dhcp4 = wf_vc_has_dhcp (n, 4) && !wf_vc_has_static (n, 4);

    /* Windows keeps DNS servers per adapter; without the adapter's own,
     * a static adapter gets the stack's */
    if (vs_json_array_len (vs_json_get (d, "servers")) == 0 &&
        wf_vc_has_static (n, 0)) {
        d = vs_json_get (stack, "dns");
    }
    vs_jw_kv_str (c->w, "name", name);
    vs_jw_kv_str (c->w, "description", "");
    vs_jw_kv_str (c->w, "mac", mac);
    vs_jw_kv_bool (c->w, "physical", true);
    /* no PCI location: matched by MAC, else in the VM's NIC order */
    vs_jw_kv_str (c->w, "bus", "");
    vs_jw_kv_u64 (c->w, "ifindex", nn + 2);
    vs_jw_kv_str (c->w, "guid", "");
    vs_jw_kv_str (c->w, "status", "");
    vs_jw_kv_u64 (c->w, "mtu", 0);      /* not reported: left as it is */
    vs_jw_kv_bool (c->w, "dhcp4", dhcp4);
    vs_jw_kv_bool (c->w, "dhcp6", wf_vc_has_dhcp (n, 6));
    vs_jw_key (c->w, "addresses");
    vs_jw_arr_begin (c->w);
    for (size_t i = 0; i < vs_json_array_len (as); i++) {
        struct wf_vc_addr a;
        const char *po, *so;

        if (!wf_vc_addr_get (c, vs_json_array_at (as, i), &a)) {
            continue;
        }
        wf_vc_win_origin (&a, &po, &so);
        vs_jw_obj_begin (c->w);
        vs_jw_kv_str (c->w, "family", a.family == 4 ? "inet" : "inet6");
        vs_jw_kv_str (c->w, "address", a.ip);
        vs_jw_kv_i64 (c->w, "prefix", a.prefix);
        vs_jw_kv_str (c->w, "origin", po);
        vs_jw_kv_str (c->w, "suffix_origin", so);
        vs_jw_kv_bool (c->w, "skip_as_source", false);
        vs_jw_obj_end (c->w);
    }
    vs_jw_arr_end (c->w);
    vs_jw_key (c->w, "routes");
    vs_jw_arr_begin (c->w);
    for (size_t i = 0; i < vs_json_array_len (routes); i++) {
        struct wf_vc_route r;
        char dst[INET6_ADDRSTRLEN + 8];

        if (!wf_vc_route_get (vs_json_array_at (routes, i), n, &r) ||
            r.gw[0] == '\0') {
            continue;
        }
        snprintf (dst, sizeof dst, "%s/%d", r.dst, r.prefix);
        vs_jw_obj_begin (c->w);
        vs_jw_kv_str (c->w, "family", r.family == 4 ? "inet" : "inet6");
        vs_jw_kv_str (c->w, "dst", dst);
        vs_jw_kv_str (c->w, "gateway", r.gw);
        /* no metric reported: windows-reapply.ps1 lets Windows choose */
        vs_jw_kv_i64 (c->w, "metric", -1);
        vs_jw_kv_bool (c->w, "persistent", true);
        vs_jw_kv_str (c->w, "origin", "NetMgmt");
        vs_jw_obj_end (c->w);
        c->routes++;
    }
    vs_jw_arr_end (c->w);
    vs_jw_key (c->w, "dns");
    vs_jw_obj_begin (c->w);
    wf_vc_rec_servers (c, "servers", d, 0, true);
    if (dhcp4) {
        vs_jw_key (c->w, "static4");
        vs_jw_arr_begin (c->w);
        vs_jw_arr_end (c->w);
        vs_jw_key (c->w, "static6");
        vs_jw_arr_begin (c->w);
        vs_jw_arr_end (c->w);
        vs_jw_kv_str (c->w, "suffix", "");
    } else {
        wf_vc_rec_servers (c, "static4", d, 4, false);
        wf_vc_rec_servers (c, "static6", d, 6, false);
        vs_jw_kv_str (c->w, "suffix", wf_vc_domain (c, vs_json_get (n,
                                                                    "dns")));
    }
    vs_jw_kv_bool (c->w, "register", true);
    vs_jw_obj_end (c->w);
}

/* The record of 'facts' for the prepare script of 'windows' or Linux. */
static int
wf_vc_record (const char *facts, bool windows, char **out, char **summary)
{
    struct json_val *f = NULL;
    const struct json_val *nics, *stack, *sdns;
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
    sdns = vs_json_get (stack, "dns");
    vs_sbuf_init (&b, 1 << 20);
    vs_jw_init (&w, &b, true);
    vs_jw_obj_begin (&w);
    vs_jw_kv_u64 (&w, "vmshift_record", 1);
    /* the re-apply scripts name where their record came from by this key */
    vs_jw_kv_str (&w, "source", "vmware-tools");
    vs_jw_key (&w, "os");
    vs_jw_obj_begin (&w);
    if (windows) {
        vs_jw_kv_str (&w, "id", "windows");
        vs_jw_kv_str (&w, "guest_id", wf_vc_s (f, "guest_id"));
    } else {
        vs_jw_kv_str (&w, "id", wf_vc_s (f, "guest_id"));
    }
    vs_jw_obj_end (&w);
    if (windows) {
        /* the suffix search list, and the primary suffix as the domain */
        vs_jw_key (&w, "dns");
        vs_jw_obj_begin (&w);
        wf_vc_rec_search (&c, "search", sdns, false);
        vs_jw_kv_str (&w, "primary_suffix", wf_vc_domain (&c, sdns));
        vs_jw_kv_str (&w, "source", "vmware-tools");
        vs_jw_obj_end (&w);
    } else {
        vs_jw_key (&w, "stacks");
        vs_jw_arr_begin (&w);
        vs_jw_arr_end (&w);
        wf_vc_rec_dns (&c, sdns, "vmware-tools");
    }
    vs_jw_key (&w, "nics");
    vs_jw_arr_begin (&w);
    for (size_t i = 0; i < vs_json_array_len (nics); i++) {
        const struct json_val *n = vs_json_array_at (nics, i);
        char mac[32], name[16];

        if (!wf_vc_s (n, "mac") ||
            hv_guest_check_mac (wf_vc_s (n, "mac"), "NIC MAC", mac,
                                sizeof mac) < 0) {
            c.dropped++;
            continue;
        }
        /* The guest's own name for the NIC is not in the inventory.  A
         * name with '-' never equals a token re-apply renames in the
         * guest's files ([A-Za-z0-9_]+), so it renames nothing there;
         * windows-reapply.ps1 renames no adapter after a record from
         * VMware Tools. */
        snprintf (name, sizeof name, "vcenter-nic%zu", nn);
        vs_jw_obj_begin (&w);
        if (windows) {
            wf_vc_rec_nic_windows (&c, n, stack, name, mac, nn);
        } else {
            wf_vc_rec_nic_linux (&c, n, vs_json_get (stack, "routes"), name,
                                 mac, nn);
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

int
wf_vc_record_file (const char *facts, char **out, char **summary)
{
    return wf_vc_record (facts, false, out, summary);
}

int
wf_vc_win_record_file (const char *facts, char **out, char **summary)
{
    return wf_vc_record (facts, true, out, summary);
}
