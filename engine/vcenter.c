/* vCenter as a source: the public vmshift_vcenter_* and vmshift_inventory_*
 * entry points over hypervisors/vsphere/, and the mapping of NFS
 * datastores to ONTAP volumes through the ONTAP profiles of the same
 * configuration file (docs/vcenter.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "engine/base/error.h"
#include "engine/base/jsonw.h"
#include "engine/handle.h"
#include "hypervisors/vsphere/vsphere.h"
#include "ontap/ontap.h"
#include "engine/vcenter-int.h"

struct vmshift_vcenter {
    struct vmshift_handle *h;
    struct vsphere_profile *prof;
    struct vsphere_client *client;
};

/* Where a datastore lives on ONTAP. */
struct vc_dsmap {
    const struct vsphere_datastore *ds;
    char *profile;              /* ONTAP profile, NULL if not mapped */
    char *volume;
    char *subdir;               /* below the junction, "" at the root */
    char *problem;              /* why not mapped */
};

struct vmshift_inventory {
    char *vcenter;
    struct vsphere_inventory inv;
    bool *selected;             /* per VM */
    size_t n_selected;
    struct vc_dsmap *maps;      /* per datastore */
    struct vsphere_stats st;
};

int
vmshift_vcenter_open (struct vmshift_handle *h, const char *profile,
                      struct vmshift_vcenter **out)
{
    struct vmshift_vcenter *vc;
    int r;

    vs_api_enter (h);
    if (profile == NULL || out == NULL) {
        return set_error (EINVAL, "vmshift_vcenter_open: no profile");
    }
    if ((vc = calloc (1, sizeof *vc)) == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    vc->h = h;
    if ((r = vsphere_profile_load (h->config_path, profile, &h->log,
                                   &vc->prof)) < 0 ||
        (r = vsphere_client_new (vc->prof, &h->log, &vc->client)) < 0 ||
        (r = vsphere_connect (vc->client)) < 0) {
        vmshift_vcenter_close (vc);
        return r;
    }
    *out = vc;
    return 0;
}

void
vmshift_vcenter_close (struct vmshift_vcenter *vc)
{
    if (vc == NULL) {
        return;
    }
    vsphere_client_free (vc->client);
    vsphere_profile_free (vc->prof);
    free (vc);
}

void
vmshift_vcenter_stats (const struct vmshift_vcenter *vc,
                       struct vmshift_vcenter_stats *st)
{
    struct vsphere_stats s;
    struct vmshift_vcenter_stats o;
    size_t n = st->struct_size < sizeof o ? st->struct_size : sizeof o;

    vsphere_client_stats (vc->client, &s);
    memset (&o, 0, sizeof o);
    o.struct_size = n;
    o.requests = s.requests;
    o.logins = s.logins;
    o.relogins = s.relogins;
    o.pages = s.pages;
    o.bytes_received = s.bytes_received;
    memcpy (st, &o, n);
}

void
vmshift_inventory_opts_init (struct vmshift_inventory_opts *o)
{
    memset (o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->map_ontap = 1;
}

/* ----------------------------------------------------------- selection */

static int
vc_select (struct vmshift_inventory *iv, const struct vmshift_inventory_opts *o)
{
    struct vsphere_inventory *inv = &iv->inv;

    iv->selected = calloc (inv->vms.len ? inv->vms.len : 1, sizeof (bool));
    if (iv->selected == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < o->n_vms; i++) {
        bool found = false;

        for (size_t j = 0; j < inv->vms.len; j++) {
            if (strcmp (inv->vms.ptr[j].name, o->vms[i]) == 0) {
                found = true;
            }
        }
        if (!found) {
            return set_error (ENOENT, "vCenter '%s': no VM named '%s'",
                              iv->vcenter, o->vms[i]);
        }
    }
    for (size_t j = 0; j < inv->vms.len; j++) {
        const struct vsphere_vm *vm = &inv->vms.ptr[j];
        bool sel = !vm->is_template;
        int r;

        if (sel && o->n_vms > 0) {
            sel = false;
            for (size_t i = 0; i < o->n_vms; i++) {
                sel = sel || strcmp (vm->name, o->vms[i]) == 0;
            }
        }
        if (sel && o->folder) {
            char *path = NULL;
            size_t fl = strlen (o->folder);

            if ((r = vsphere_vm_folder_path (inv, vm, &path)) < 0) {
                return r;
            }
            while (fl > 1 && o->folder[fl - 1] == '/') {
                fl--;
            }
            sel = strncmp (path, o->folder, fl) == 0 &&
                  (path[fl] == '\0' || path[fl] == '/');
            free (path);
        }
        if (sel && o->datastore) {
            bool on = false;

            for (size_t k = 0; k < vm->disks.len; k++) {
                const struct vsphere_datastore *d =
                    vsphere_find_datastore (inv, &vm->disks.ptr[k].datastore);

                on = on || (d && d->name && strcmp (d->name, o->datastore) == 0);
            }
            sel = on;
        }
        iv->selected[j] = sel;
        iv->n_selected += sel;
    }
    return 0;
}

/* -------------------------------------------------- datastore mapping */

static int
vc_set_problem (struct vc_dsmap *m, const char *fmt, const char *a,
                const char *b)
{
    free (m->problem);
    m->problem = NULL;
    if (asprintf (&m->problem, fmt, a, b) < 0) {
        m->problem = NULL;
        return set_error (ENOMEM, "out of memory");
    }
    return 0;
}

static bool
vc_ds_is_nfs (const struct vsphere_datastore *d)
{
    return d->type && (strcasecmp (d->type, "NFS") == 0 ||
                       strcasecmp (d->type, "NFS41") == 0) &&
           d->remote_host && d->remote_path;
}

/* path is the junction or below it: the part below ("" for the root), or
 * NULL. */
static const char *
vc_below (const char *path, const char *junction)
{
    size_t n = strlen (junction);

    while (n > 1 && junction[n - 1] == '/') {
        n--;
    }
    if (strncmp (path, junction, n) != 0) {
        return NULL;
    }
    if (path[n] == '\0') {
        return "";
    }
    if (path[n] == '/' || n == 1) {
        return path + n + (path[n] == '/');
    }
    return NULL;
}

struct vc_ontap {
    char *name;
    struct ontap_profile *prof;
    struct ontap_volume_vec vols;
    struct ontap_lif_vec lifs;
    char *problem;
};

static void
vc_ontap_release (struct vc_ontap *o)
{
    free (o->name);
    ontap_profile_free (o->prof);
    ontap_volume_vec_free (&o->vols);
    ontap_lif_vec_free (&o->lifs);
    free (o->problem);
}

/* Volumes and LIFs of one ONTAP profile; a failure is kept as the
 * profile's problem (the inventory is still useful without it). */
static void
vc_ontap_load (struct vmshift_handle *h, struct vc_ontap *o)
{
    struct ontap_client *c = NULL;
    int r;

    if ((r = ontap_profile_load (h->config_path, o->name, &h->log,
                                 &o->prof)) == 0 &&
        (r = ontap_client_new (o->prof, &h->log, &c)) == 0 &&
        (r = ontap_volume_list (c, NULL, &o->vols)) == 0 &&
        ontap_lif_list (c, &o->lifs) < 0) {
        /* Without the interfaces the profile's nfs.server still matches. */
        vs_log_msg (&h->log, LOG_WARN, "ONTAP profile '%s': cannot list the "
                    "network interfaces (%s); matching datastores by its "
                    "nfs.server only", o->name, vmshift_internal_error_msg ());
    }
    if (r < 0) {
        o->problem = strdup (vmshift_internal_error_msg ());
        vs_log_msg (&h->log, LOG_WARN, "ONTAP profile '%s' left out of the "
                    "datastore mapping: %s", o->name, o->problem ? o->problem
                    : "out of memory");
    }
    ontap_client_free (c);
}

static bool
vc_host_matches (const struct vc_ontap *o, const struct ontap_volume *v,
                 const char *host)
{
    if (o->prof->nfs.server && strcasecmp (o->prof->nfs.server, host) == 0) {
        return true;
    }
    for (size_t i = 0; i < o->lifs.len; i++) {
        const struct ontap_lif *l = &o->lifs.ptr[i];

        if (strcasecmp (l->address, host) == 0 &&
            (v->svm == NULL || strcmp (l->svm, v->svm) == 0)) {
            return true;
        }
    }
    return false;
}

static int
vc_map_one (struct vc_dsmap *m, struct vc_ontap *ot, size_t n_ot)
{
    const struct vsphere_datastore *d = m->ds;
    const struct vc_ontap *best_o = NULL;
    const struct ontap_volume *best_v = NULL;
    const char *best_sub = NULL;
    size_t best_len = 0;

    if (!vc_ds_is_nfs (d)) {
        return vc_set_problem (m, "%s datastore: not on ONTAP NFS: storage "
                               "vMotion it first%s", d->type ? d->type
                               : "unknown", "");
    }
    for (size_t i = 0; i < n_ot; i++) {
        for (size_t j = 0; ot[i].prof && j < ot[i].vols.len; j++) {
            const struct ontap_volume *v = &ot[i].vols.ptr[j];
            const char *sub;

            if (v->junction_path == NULL ||
                (sub = vc_below (d->remote_path, v->junction_path)) == NULL ||
                !vc_host_matches (&ot[i], v, d->remote_host)) {
                continue;
            }
            if (best_v == NULL || strlen (v->junction_path) > best_len) {
                best_o = &ot[i];
                best_v = v;
                best_sub = sub;
                best_len = strlen (v->junction_path);
            }
        }
    }
    if (best_v == NULL) {
        char who[300] = "";

        for (size_t i = 0; i < n_ot && strlen (who) < 200; i++) {
            snprintf (who + strlen (who), sizeof who - strlen (who), "%s'%s'%s",
                      i ? ", " : "", ot[i].name, ot[i].problem
                      ? " (unreachable)" : "");
        }
        char exp[2 * VSPHERE_NAME_MAX + 2];

        snprintf (exp, sizeof exp, "%s:%s", d->remote_host, d->remote_path);
        return vc_set_problem (m, "NFS export %s matches no volume of the "
                               "ONTAP profiles (%s)", exp,
                               n_ot ? who : "none configured");
    }
    if ((m->profile = strdup (best_o->name)) == NULL ||
        (m->volume = strdup (best_v->name)) == NULL ||
        (m->subdir = strdup (best_sub)) == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    return 0;
}

static int
vc_map (struct vmshift_handle *h, struct vmshift_inventory *iv, bool ontap)
{
    struct vsphere_inventory *inv = &iv->inv;
    struct vc_ontap *ot = NULL;
    char **names = NULL;
    size_t n = 0;
    bool need = false;
    int r = 0;

    iv->maps = calloc (inv->datastores.len ? inv->datastores.len : 1,
                       sizeof *iv->maps);
    if (iv->maps == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < inv->datastores.len; i++) {
        iv->maps[i].ds = &inv->datastores.ptr[i];
        need = need || vc_ds_is_nfs (&inv->datastores.ptr[i]);
    }
    if (ontap && need &&
        (r = vsphere_ontap_profile_names (h->config_path, &names, &n)) < 0) {
        return r;
    }
    if (n && (ot = calloc (n, sizeof *ot)) == NULL) {
        vsphere_strv_free (names, n);
        return set_error (ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        ot[i].name = names[i];
        vc_ontap_load (h, &ot[i]);
    }
    free (names);
    for (size_t i = 0; r == 0 && i < inv->datastores.len; i++) {
        r = ontap || !vc_ds_is_nfs (iv->maps[i].ds)
            ? vc_map_one (&iv->maps[i], ot, n)
            : vc_set_problem (&iv->maps[i], "not mapped%s%s (no ONTAP "
                              "lookup asked for)", "", "");
    }
    for (size_t i = 0; i < n; i++) {
        vc_ontap_release (&ot[i]);
    }
    free (ot);
    return r;
}

/* ------------------------------------------------------------ public */

int
vmshift_inventory_get (struct vmshift_vcenter *vc,
                       const struct vmshift_inventory_opts *o,
                       struct vmshift_inventory **out)
{
    struct vmshift_inventory_opts d;
    struct vmshift_inventory *iv;
    int r;

    vs_api_enter (vc->h);
    vmshift_inventory_opts_init (&d);
    if (o) {
        memcpy (&d, o, o->struct_size < sizeof d ? o->struct_size : sizeof d);
    }
    if ((iv = calloc (1, sizeof *iv)) == NULL ||
        (iv->vcenter = strdup (vc->prof->name)) == NULL) {
        free (iv);
        return set_error (ENOMEM, "out of memory");
    }
    if ((r = vsphere_inventory_fetch (vc->client, &iv->inv)) < 0 ||
        (r = vc_select (iv, &d)) < 0 ||
        (r = vc_map (vc->h, iv, d.map_ontap != 0)) < 0) {
        vmshift_inventory_free (iv);
        return r;
    }
    vsphere_client_stats (vc->client, &iv->st);
    *out = iv;
    return 0;
}

size_t
vmshift_inventory_vm_count (const struct vmshift_inventory *iv)
{
    return iv->n_selected;
}

void
vmshift_inventory_free (struct vmshift_inventory *iv)
{
    if (iv == NULL) {
        return;
    }
    for (size_t i = 0; iv->maps && i < iv->inv.datastores.len; i++) {
        free (iv->maps[i].profile);
        free (iv->maps[i].volume);
        free (iv->maps[i].subdir);
        free (iv->maps[i].problem);
    }
    free (iv->maps);
    free (iv->selected);
    vsphere_inventory_release (&iv->inv);
    free (iv->vcenter);
    free (iv);
}

static const struct vc_dsmap *
vc_map_of (const struct vmshift_inventory *iv, const struct vsphere_moref *ref)
{
    for (size_t i = 0; i < iv->inv.datastores.len; i++) {
        if (vsphere_moref_eq (&iv->inv.datastores.ptr[i].self, ref)) {
            return &iv->maps[i];
        }
    }
    return NULL;
}

/* ontap://PROFILE/VOLUME/[subdir/]rel, or NULL and *why. */
static char *
vc_disk_location (const struct vmshift_inventory *iv,
                  const struct vsphere_disk *k, const char **why)
{
    const struct vc_dsmap *m = vc_map_of (iv, &k->datastore);
    struct ontap_location loc;
    const char *rel;
    char *s = NULL;

    *why = NULL;
    if (m == NULL) {
        *why = "its datastore is not in the inventory";
        return NULL;
    }
    if (m->profile == NULL) {
        *why = m->problem;
        return NULL;
    }
    if (vsphere_ds_relpath (k->file, m->ds->name, &rel) < 0) {
        *why = "its file is not on its datastore";
        return NULL;
    }
    if (asprintf (&s, "ontap://%s/%s/%s%s%s", m->profile, m->volume,
                  m->subdir, m->subdir[0] ? "/" : "", rel) < 0) {
        return NULL;
    }
    if (ontap_location_parse (s, &loc) < 0) {
        free (s);
        *why = "its path cannot be an ontap:// location";
        return NULL;
    }
    ontap_location_release (&loc);
    return s;
}

static void
vc_json_strv (struct jsonw *w, const char *key, char *const *v, size_t n)
{
    vs_jw_key (w, key);
    vs_jw_arr_begin (w);
    for (size_t i = 0; i < n; i++) {
        vs_jw_str (w, v[i]);
    }
    vs_jw_arr_end (w);
}

/* A NetDnsConfigInfo as VMware Tools reported it. */
static void
vc_json_dns (struct jsonw *w, const struct vsphere_dns *d)
{
    vs_jw_key (w, "dns");
    vs_jw_obj_begin (w);
    vc_json_strv (w, "servers", d->servers, d->n_servers);
    vs_jw_kv_str (w, "domain", d->domain);
    vc_json_strv (w, "search", d->search, d->n_search);
    vs_jw_obj_end (w);
}

static void
vc_json_nic (struct jsonw *w, const struct vmshift_inventory *iv,
             const struct vsphere_nic *n)
{
    static const char *const kinds[] = {
        "none", "standard", "distributed", "opaque",
    };

    vs_jw_obj_begin (w);
    vs_jw_kv_str (w, "label", n->label);
    vs_jw_kv_str (w, "mac", n->mac);
    vs_jw_kv_str (w, "network", vsphere_nic_network (&iv->inv, n));
    vs_jw_kv_str (w, "network_kind", kinds[n->kind]);
    vs_jw_key (w, "ips");
    vs_jw_arr_begin (w);
    for (size_t i = 0; i < n->n_ips; i++) {
        vs_jw_str (w, n->ips[i]);
    }
    vs_jw_arr_end (w);
    /* guest.net[].ipConfig: with prefix lengths and origins */
    vs_jw_kv_i64 (w, "guest_index", n->guest_index);
    vs_jw_key (w, "addresses");
    vs_jw_arr_begin (w);
    for (size_t i = 0; i < n->n_addrs; i++) {
        vs_jw_obj_begin (w);
        vs_jw_kv_str (w, "address", n->addrs[i].address);
        vs_jw_kv_i64 (w, "prefix", n->addrs[i].prefix);
        vs_jw_kv_str (w, "origin", n->addrs[i].origin);
        vs_jw_kv_str (w, "state", n->addrs[i].state);
        vs_jw_obj_end (w);
    }
    vs_jw_arr_end (w);
    vc_json_dns (w, &n->dns);
    vs_jw_obj_end (w);
}

static void
vc_json_disk (struct jsonw *w, const struct vmshift_inventory *iv,
              const struct vsphere_disk *k)
{
    const struct vsphere_datastore *d =
        vsphere_find_datastore (&iv->inv, &k->datastore);
    const char *why;
    char *loc = vc_disk_location (iv, k, &why);

    vs_jw_obj_begin (w);
    vs_jw_kv_str (w, "file", k->file);
    vs_jw_kv_str (w, "datastore", d ? d->name : NULL);
    vs_jw_kv_u64 (w, "capacity_bytes", k->capacity);
    vs_jw_kv_bool (w, "thin", k->thin);
    vs_jw_kv_str (w, "controller", k->controller);
    vs_jw_kv_str (w, "mode", k->mode);
    vs_jw_kv_str (w, "location", loc);
    if (loc == NULL) {
        vs_jw_kv_str (w, "location_problem", why ? why : "out of memory");
    }
    vs_jw_obj_end (w);
    free (loc);
}

static void
vc_json_vm (struct jsonw *w, const struct vmshift_inventory *iv,
            const struct vsphere_vm *vm)
{
    char *folder = NULL;

    (void) vsphere_vm_folder_path (&iv->inv, vm, &folder);
    vs_jw_obj_begin (w);
    vs_jw_kv_str (w, "name", vm->name);
    vs_jw_kv_str (w, "id", vm->self.value);
    vs_jw_kv_str (w, "instance_uuid", vm->instance_uuid);
    vs_jw_kv_str (w, "power_state", vm->power_state);
    vs_jw_kv_str (w, "guest_id", vm->guest_id);
    vs_jw_kv_str (w, "firmware", vm->firmware);
    vs_jw_kv_bool (w, "secure_boot", vm->secure_boot);
    vs_jw_kv_u64 (w, "cpus", vm->cpus);
    vs_jw_kv_u64 (w, "memory_mib", vm->memory_mib);
    vs_jw_kv_str (w, "tools_status", vm->tools_status);
    vs_jw_kv_str (w, "tools_running", vm->tools_running);
    vs_jw_kv_str (w, "folder", folder);
    free (folder);
    vs_jw_key (w, "nics");
    vs_jw_arr_begin (w);
    for (size_t i = 0; i < vm->nics.len; i++) {
        vc_json_nic (w, iv, &vm->nics.ptr[i]);
    }
    vs_jw_arr_end (w);
    vs_jw_key (w, "disks");
    vs_jw_arr_begin (w);
    for (size_t i = 0; i < vm->disks.len; i++) {
        vc_json_disk (w, iv, &vm->disks.ptr[i]);
    }
    vs_jw_arr_end (w);
    vs_jw_key (w, "snapshots");
    vs_jw_arr_begin (w);
    for (size_t i = 0; i < vm->snapshots.len; i++) {
        vs_jw_str (w, vm->snapshots.ptr[i].name);
    }
    vs_jw_arr_end (w);
    vs_jw_key (w, "blockers");
    vs_jw_arr_begin (w);
    for (size_t i = 0; i < vm->blockers.len; i++) {
        vs_jw_obj_begin (w);
        vs_jw_kv_str (w, "kind", vm->blockers.ptr[i].kind);
        vs_jw_kv_str (w, "device", vm->blockers.ptr[i].device);
        vs_jw_obj_end (w);
    }
    vs_jw_arr_end (w);
    /* guest.ipStack[0]: routes (gateway.device is the index of the NIC
     * in guest.net, as the NICs' guest_index) and DNS */
    vs_jw_key (w, "ip_stack");
    vs_jw_obj_begin (w);
    vs_jw_key (w, "routes");
    vs_jw_arr_begin (w);
    for (size_t i = 0; i < vm->n_routes; i++) {
        vs_jw_obj_begin (w);
        vs_jw_kv_str (w, "network", vm->routes[i].network);
        vs_jw_kv_i64 (w, "prefix", vm->routes[i].prefix);
        vs_jw_kv_str (w, "gateway", vm->routes[i].gateway);
        vs_jw_kv_str (w, "device", vm->routes[i].device);
        vs_jw_obj_end (w);
    }
    vs_jw_arr_end (w);
    vc_json_dns (w, &vm->dns);
    vs_jw_obj_end (w);
    vs_jw_obj_end (w);
}

/* Indexes of the selected VMs, sorted by name. */
static size_t *
vc_order (const struct vmshift_inventory *iv)
{
    size_t *ix = malloc ((iv->n_selected + 1) * sizeof *ix), k = 0;

    for (size_t i = 0; ix && i < iv->inv.vms.len; i++) {
        if (iv->selected[i]) {
            size_t j = k++;

            while (j > 0 && strcmp (iv->inv.vms.ptr[ix[j - 1]].name,
                                    iv->inv.vms.ptr[i].name) > 0) {
                ix[j] = ix[j - 1];
                j--;
            }
            ix[j] = i;
        }
    }
    return ix;
}

char *
vmshift_inventory_json (const struct vmshift_inventory *iv, int pretty)
{
    struct sbuf b;
    struct jsonw w;
    size_t *ix = vc_order (iv);

    if (ix == NULL) {
        set_error (ENOMEM, "out of memory");
        return NULL;
    }
    vs_sbuf_init (&b, (size_t) 1 << 30);
    vs_jw_init (&w, &b, pretty != 0);
    vs_jw_obj_begin (&w);
    vs_jw_kv_str (&w, "vcenter", iv->vcenter);
    vs_jw_key (&w, "vms");
    vs_jw_arr_begin (&w);
    for (size_t i = 0; i < iv->n_selected; i++) {
        vc_json_vm (&w, iv, &iv->inv.vms.ptr[ix[i]]);
    }
    vs_jw_arr_end (&w);
    vs_jw_key (&w, "datastores");
    vs_jw_arr_begin (&w);
    for (size_t i = 0; i < iv->inv.datastores.len; i++) {
        const struct vc_dsmap *m = &iv->maps[i];

        vs_jw_obj_begin (&w);
        vs_jw_kv_str (&w, "name", m->ds->name);
        vs_jw_kv_str (&w, "type", m->ds->type);
        vs_jw_kv_str (&w, "url", m->ds->url);
        vs_jw_kv_str (&w, "remote_host", m->ds->remote_host);
        vs_jw_kv_str (&w, "remote_path", m->ds->remote_path);
        vs_jw_key (&w, "ontap");
        if (m->profile) {
            vs_jw_obj_begin (&w);
            vs_jw_kv_str (&w, "profile", m->profile);
            vs_jw_kv_str (&w, "volume", m->volume);
            vs_jw_kv_str (&w, "path", m->subdir);
            vs_jw_obj_end (&w);
        } else {
            vs_jw_null (&w);
            vs_jw_kv_str (&w, "problem", m->problem);
        }
        vs_jw_obj_end (&w);
    }
    vs_jw_arr_end (&w);
    vs_jw_key (&w, "soap");
    vs_jw_obj_begin (&w);
    vs_jw_kv_u64 (&w, "requests", iv->st.requests);
    vs_jw_kv_u64 (&w, "pages", iv->st.pages);
    vs_jw_kv_u64 (&w, "relogins", iv->st.relogins);
    vs_jw_obj_end (&w);
    vs_jw_obj_end (&w);
    free (ix);
    if (pretty) {
        vs_sbuf_addch (&b, '\n');
    }
    return vs_sbuf_detach (&b, NULL);
}

/* One line per value: names may hold newlines. */
static void
vc_text_str (struct sbuf *b, const char *s)
{
    vs_sbuf_addch (b, '\'');
    for (; s && *s; s++) {
        if ((unsigned char) *s < 0x20 || *s == 0x7f) {
            vs_sbuf_printf (b, "\\x%02x", (unsigned char) *s);
        } else if (*s == '\'' || *s == '\\') {
            vs_sbuf_printf (b, "\\%c", *s);
        } else {
            vs_sbuf_addch (b, *s);
        }
    }
    vs_sbuf_addch (b, '\'');
}

static void
vc_text_vm (struct sbuf *b, const struct vmshift_inventory *iv,
            const struct vsphere_vm *vm)
{
    char *folder = NULL;

    (void) vsphere_vm_folder_path (&iv->inv, vm, &folder);
    vs_sbuf_addstr (b, "VM ");
    vc_text_str (b, vm->name);
    vs_sbuf_printf (b, " (%s)\n  folder ", vm->self.value);
    vc_text_str (b, folder);
    free (folder);
    vs_sbuf_printf (b, "\n  %s, %s%s, %u CPU, %llu MiB, guest %s, tools %s\n",
                    vm->power_state ? vm->power_state : "?",
                    vm->firmware ? vm->firmware : "?",
                    vm->secure_boot ? " (Secure Boot)" : "", vm->cpus,
                    (unsigned long long) vm->memory_mib,
                    vm->guest_id ? vm->guest_id : "?",
                    vm->tools_status ? vm->tools_status : "?");
    for (size_t i = 0; i < vm->nics.len; i++) {
        const struct vsphere_nic *n = &vm->nics.ptr[i];

        vs_sbuf_printf (b, "  nic %s on ", n->mac ? n->mac : "?");
        vc_text_str (b, vsphere_nic_network (&iv->inv, n));
        for (size_t j = 0; j < n->n_ips; j++) {
            vs_sbuf_printf (b, "%s%s", j ? "," : " ips ", n->ips[j]);
        }
        vs_sbuf_addch (b, '\n');
    }
    for (size_t i = 0; i < vm->disks.len; i++) {
        const struct vsphere_disk *k = &vm->disks.ptr[i];
        const char *why;
        char *loc = vc_disk_location (iv, k, &why);

        vs_sbuf_printf (b, "  disk %s %llu bytes%s ", k->controller,
                        (unsigned long long) k->capacity,
                        k->thin ? " thin" : "");
        vc_text_str (b, k->file);
        vs_sbuf_addstr (b, loc ? " -> " : " -> not mapped: ");
        vs_sbuf_addstr (b, loc ? loc : why ? why : "?");
        vs_sbuf_addch (b, '\n');
        free (loc);
    }
    for (size_t i = 0; i < vm->snapshots.len; i++) {
        vs_sbuf_addstr (b, "  snapshot ");
        vc_text_str (b, vm->snapshots.ptr[i].name);
        vs_sbuf_addch (b, '\n');
    }
    for (size_t i = 0; i < vm->blockers.len; i++) {
        vs_sbuf_printf (b, "  will not carry over: %s (%s)\n",
                        vm->blockers.ptr[i].kind, vm->blockers.ptr[i].device);
    }
}

char *
vmshift_inventory_text (const struct vmshift_inventory *iv)
{
    struct sbuf b;
    size_t *ix = vc_order (iv);

    if (ix == NULL) {
        set_error (ENOMEM, "out of memory");
        return NULL;
    }
    vs_sbuf_init (&b, (size_t) 1 << 30);
    for (size_t i = 0; i < iv->n_selected; i++) {
        vc_text_vm (&b, iv, &iv->inv.vms.ptr[ix[i]]);
    }
    for (size_t i = 0; i < iv->inv.datastores.len; i++) {
        const struct vc_dsmap *m = &iv->maps[i];

        vs_sbuf_addstr (&b, "datastore ");
        vc_text_str (&b, m->ds->name);
        if (m->profile) {
            vs_sbuf_printf (&b, " -> ontap://%s/%s%s%s\n", m->profile,
                            m->volume, m->subdir[0] ? "/" : "", m->subdir);
        } else {
            vs_sbuf_printf (&b, ": %s\n", m->problem ? m->problem : "?");
        }
    }
    free (ix);
    return vs_sbuf_detach (&b, NULL);
}

/* ------------------------------------------------------------ actions */

int
vmshift_vcenter_shutdown (struct vmshift_vcenter *vc, const char *vm,
                          unsigned timeout_s, int power_off, int *forced)
{
    struct vsphere_moref ref;
    bool f = false;
    int r;

    vs_api_enter (vc->h);
    if ((r = vsphere_vm_find (vc->client, vm, &ref)) < 0 ||
        (r = vsphere_vm_shutdown (vc->client, &ref, timeout_s, power_off != 0,
                                  &f)) < 0) {
        if (r == -ETIMEDOUT) {
            /* the message names the moref: name the VM too */
            error_prepend ("VM '%s': ", vm);
        }
        return r;
    }
    if (forced) {
        *forced = f;
    }
    return 0;
}

int
vmshift_vcenter_power_on (struct vmshift_vcenter *vc, const char *vm)
{
    struct vsphere_moref ref;
    char *ps = NULL;
    int r;

    vs_api_enter (vc->h);
    if ((r = vsphere_vm_find (vc->client, vm, &ref)) < 0 ||
        (r = vsphere_vm_state (vc->client, &ref, &ps, NULL)) < 0) {
        return r;
    }
    if (strcmp (ps, "poweredOn") != 0) {
        r = vsphere_vm_power_on (vc->client, &ref);
    }
    free (ps);
    return r;
}

#define VC_SNAP_MARK "vmshift: "

/* The snapshots of VM vm (free with vsphere_snapshots_free). */
static int
vc_vm_snapshots (struct vmshift_vcenter *vc, const char *vm,
                 struct vsphere_snapshot_vec *snaps)
{
    struct vsphere_moref ref;
    char *ps = NULL;
    int r;

    if ((r = vsphere_vm_find (vc->client, vm, &ref)) < 0 ||
        (r = vsphere_vm_state (vc->client, &ref, &ps, snaps)) < 0) {
        return r;
    }
    free (ps);
    return 0;
}

int
vmshift_vcenter_snapshot_create (struct vmshift_vcenter *vc, const char *vm,
                                 const char *name, int quiesce,
                                 char **snapshot_id)
{
    struct vsphere_moref ref, snap;
    char desc[256];
    int r;

    vs_api_enter (vc->h);
    if (name == NULL || *name == '\0') {
        return set_error (EINVAL, "a VM snapshot needs a name");
    }
    snprintf (desc, sizeof desc, VC_SNAP_MARK "made by vmshift (pid %ld); "
              "removed by 'vmshift vcenter snapshot-remove'", (long) getpid ());
    if ((r = vsphere_vm_find (vc->client, vm, &ref)) < 0 ||
        (r = vsphere_snapshot_create (vc->client, &ref, name, desc,
                                      quiesce != 0, &snap)) < 0) {
        return r;
    }
    if (snapshot_id && (*snapshot_id = strdup (snap.value)) == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    return 0;
}

int
vmshift_vcenter_snapshot_remove (struct vmshift_vcenter *vc, const char *vm,
                                 const char *snapshot_id)
{
    struct vsphere_snapshot_vec snaps = { 0 };
    const struct vsphere_snapshot *s = NULL;
    int r;

    vs_api_enter (vc->h);
    if ((r = vc_vm_snapshots (vc, vm, &snaps)) < 0) {
        return r;
    }
    for (size_t i = 0; i < snaps.len; i++) {
        if (strcmp (snaps.ptr[i].ref.value, snapshot_id) == 0) {
            s = &snaps.ptr[i];
        }
    }
    /* Existing snapshots are never deleted: only one this tool made,
     * named by the id snapshot-create printed. */
    if (s == NULL) {
        r = set_error (ENOENT, "VM '%s' has no snapshot with id '%s'", vm,
                       snapshot_id);
    } else if (s->description == NULL ||
               strncmp (s->description, VC_SNAP_MARK,
                        strlen (VC_SNAP_MARK)) != 0) {
        r = set_error (EPERM, "VM '%s': snapshot '%s' (%s) was not made by "
                       "vmshift; it is left alone", vm, s->name ? s->name
                       : "", snapshot_id);
    } else {
        r = vsphere_snapshot_remove (vc->client, &s->ref);
    }
    vsphere_snapshots_free (&snaps);
    return r;
}

/* ---------------------------------------- for runs (engine/workflow/) */

int
vs_vcenter_power_state (struct vmshift_vcenter *vc, const char *vm,
                        char **state)
{
    struct vsphere_moref ref;
    int r;

    *state = NULL;
    if ((r = vsphere_vm_find (vc->client, vm, &ref)) < 0) {
        return r;
    }
    return vsphere_vm_state (vc->client, &ref, state, NULL);
}

int
vs_vcenter_snapshot_find (struct vmshift_vcenter *vc, const char *vm,
                          const char *name, char **id)
{
    struct vsphere_snapshot_vec snaps = { 0 };
    int r;

    *id = NULL;
    if ((r = vc_vm_snapshots (vc, vm, &snaps)) < 0) {
        return r;
    }
    r = -ENOENT;
    for (size_t i = 0; i < snaps.len && r == -ENOENT; i++) {
        const struct vsphere_snapshot *s = &snaps.ptr[i];

        if (s->name && strcmp (s->name, name) == 0 && s->description &&
            strncmp (s->description, VC_SNAP_MARK,
                     strlen (VC_SNAP_MARK)) == 0) {
            r = (*id = strdup (s->ref.value)) ? 0
                : set_error (ENOMEM, "out of memory");
        }
    }
    if (r == -ENOENT) {
        r = set_error (ENOENT, "VM '%s' has no snapshot '%s' made by vmshift",
                       vm, name);
    }
    vsphere_snapshots_free (&snaps);
    return r;
}

int
vs_vcenter_shutdown_ask (struct vmshift_vcenter *vc, const char *vm,
                         bool *asked, uint64_t *start)
{
    struct vsphere_moref ref;
    int r;

    *asked = false;
    if ((r = vsphere_vm_find (vc->client, vm, &ref)) < 0 ||
        (r = vsphere_vm_shutdown_ask (vc->client, &ref, asked)) < 0) {
        return r;
    }
    *start = vsphere_client_now (vc->client);
    return 0;
}

int
vs_vcenter_shutdown_wait (struct vmshift_vcenter *vc, const char *vm,
                          uint64_t start, unsigned timeout_s, bool power_off,
                          bool *forced)
{
    struct vsphere_moref ref;
    int r;

    if ((r = vsphere_vm_find (vc->client, vm, &ref)) < 0) {
        return r;
    }
    return vsphere_vm_shutdown_wait (vc->client, &ref, start, timeout_s,
                                     power_off, forced);
}
