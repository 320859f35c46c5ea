/* The inventory: one container view over the root folder, read with
 * paged RetrievePropertiesEx / ContinueRetrievePropertiesEx asking only
 * for the properties vmshift uses (vim25 PropertyCollector; see
 * docs/vcenter.md).  Round trips for N objects: CreateContainerView,
 * 1 + N/VSPHERE_PAGE_OBJECTS retrievals, DestroyView.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "hypervisors/vsphere/vsphere.h"

static const char *const vsphere_vm_props[] = {
    "name", "parent", "config.instanceUuid", "config.guestId",
    "config.firmware", "config.template", "config.bootOptions",
    "config.hardware.numCPU", "config.hardware.memoryMB",
    "config.hardware.device", "runtime.powerState", "guest.toolsStatus",
    "guest.toolsRunningStatus", "guest.net", "guest.ipStack",
    "snapshot", NULL,
};
static const char *const vsphere_ds_props[] = {
    "name", "summary", "info", NULL,
};
static const char *const vsphere_net_props[] = { "name", NULL };
static const char *const vsphere_dvpg_props[] = { "name", "key", NULL };
static const char *const vsphere_folder_props[] = { "name", "parent", NULL };

struct vsphere_spec {
    const char *type;
    const char *const *props;
};

static const struct vsphere_spec vsphere_specs[] = {
    { "VirtualMachine", vsphere_vm_props },
    { "Datastore", vsphere_ds_props },
    { "Network", vsphere_net_props },
    { "DistributedVirtualPortgroup", vsphere_dvpg_props },
    { "OpaqueNetwork", vsphere_net_props },
    { "Folder", vsphere_folder_props },
    { "Datacenter", vsphere_folder_props },
};
#define VSPHERE_NSPECS (sizeof vsphere_specs / sizeof vsphere_specs[0])

/* Only the VM names (and parents), to find a VM. */
static const char *const vsphere_name_props[] = { "name", NULL };
static const struct vsphere_spec vsphere_name_specs[] = {
    { "VirtualMachine", vsphere_name_props },
};

static int
vsphere_view_args (const struct vsphere_service_content *sc,
                   const struct vsphere_spec *specs, size_t nspecs,
                   struct sbuf *b)
{
    int r = vs_sbuf_addstr (b, "<container type=\"Folder\">");

    if (r == 0) {
        r = vsphere_xml_escape (b, sc->root_folder.value, "the root folder");
    }
    if (r == 0) {
        r = vs_sbuf_addstr (b, "</container>");
    }
    for (size_t i = 0; r == 0 && i < nspecs; i++) {
        r = vs_sbuf_printf (b, "<type>%s</type>", specs[i].type);
    }
    if (r == 0) {
        r = vs_sbuf_addstr (b, "<recursive>true</recursive>");
    }
    return r;
}

/* PropertyFilterSpec over the view; element order per the WSDL. */
static int
vsphere_retrieve_args (const struct vsphere_moref *view,
                       const struct vsphere_spec *specs, size_t nspecs,
                       unsigned page, struct sbuf *b)
{
    int r = vs_sbuf_addstr (b, "<specSet>");

    for (size_t i = 0; r == 0 && i < nspecs; i++) {
        r = vs_sbuf_printf (b, "<propSet><type>%s</type><all>false</all>",
                            specs[i].type);
        for (const char *const *p = specs[i].props; r == 0 && *p; p++) {
            r = vs_sbuf_printf (b, "<pathSet>%s</pathSet>", *p);
        }
        if (r == 0) {
            r = vs_sbuf_addstr (b, "</propSet>");
        }
    }
    if (r == 0) {
        r = vs_sbuf_addstr (b, "<objectSet><obj type=\"ContainerView\">");
    }
    if (r == 0) {
        r = vsphere_xml_escape (b, view->value, "the container view");
    }
    if (r == 0) {
        r = vs_sbuf_printf (b, "</obj><skip>true</skip><selectSet "
                            "xsi:type=\"TraversalSpec\"><name>view</name>"
                            "<type>ContainerView</type><path>view</path>"
                            "<skip>false</skip></selectSet></objectSet>"
                            "</specSet>");
    }
    if (r == 0 && page > 0) {
        r = vs_sbuf_printf (b, "<options><maxObjects>%u</maxObjects>"
                            "</options>", page);
    } else if (r == 0) {
        r = vs_sbuf_addstr (b, "<options/>");
    }
    return r;
}

/* Objects per page: VMSHIFT_VSPHERE_PAGE_SIZE (a test and tuning knob,
 * docs/vcenter.md; 0 leaves the page size to the server), else
 * VSPHERE_PAGE_OBJECTS. */
static int
vsphere_page_size (unsigned *out)
{
    const char *s = getenv ("VMSHIFT_VSPHERE_PAGE_SIZE");
    char *end;
    unsigned long v;

    *out = VSPHERE_PAGE_OBJECTS;
    if (s == NULL || *s == '\0') {
        return 0;
    }
    errno = 0;
    v = strtoul (s, &end, 10);
    if (errno || *end != '\0' || *s == '-' || v > 100000) {
        return set_error (EINVAL, "VMSHIFT_VSPHERE_PAGE_SIZE: '%.32s' is not "
                          "a page size (0 for the server's choice, or "
                          "1-100000 objects)", s);
    }
    *out = (unsigned) v;
    return 0;
}

static int
vsphere_pages (struct vsphere_client *c, const struct vsphere_moref *view,
               const struct vsphere_spec *specs, size_t nspecs,
               struct vsphere_inventory *inv)
{
    const struct vsphere_service_content *sc = vsphere_client_content (c);
    struct sbuf args, rep = { 0 };
    char *token = NULL;
    unsigned pages = 0, page;
    int r;

    vs_sbuf_init (&args, 1 << 20);
    if ((r = vsphere_page_size (&page)) < 0 ||
        (r = vsphere_retrieve_args (view, specs, nspecs, page, &args)) < 0) {
        goto out;
    }
    r = vsphere_call (c, "RetrievePropertiesEx", &sc->property_collector,
                      args.data, &rep);
    while (r == 0) {
        vsphere_client_note_page (c);
        r = vsphere_decode_retrieve (rep.data, rep.len, "reply to "
                                     "RetrievePropertiesEx", inv, &token);
        vs_sbuf_release (&rep);
        if (r < 0 || token == NULL) {
            break;
        }
        if (++pages >= VSPHERE_PAGES_MAX) {
            r = set_error (EFBIG, "vCenter: more than %u pages of objects",
                           VSPHERE_PAGES_MAX);
            break;
        }
        vs_sbuf_reset (&args);
        if ((r = vs_sbuf_addstr (&args, "<token>")) < 0 ||
            (r = vsphere_xml_escape (&args, token, "a retrieval token")) < 0 ||
            (r = vs_sbuf_addstr (&args, "</token>")) < 0) {
            break;
        }
        free (token);
        token = NULL;
        r = vsphere_call (c, "ContinueRetrievePropertiesEx",
                          &sc->property_collector, args.data, &rep);
    }
out:
    free (token);
    vs_sbuf_release (&rep);
    vs_sbuf_release (&args);
    return r;
}

static int
vsphere_fetch_once (struct vsphere_client *c, const struct vsphere_spec *specs,
                    size_t nspecs, struct vsphere_inventory *out)
{
    const struct vsphere_service_content *sc = vsphere_client_content (c);
    struct vsphere_inventory inv;

    memset (&inv, 0, sizeof inv);
    struct vsphere_moref view;
    struct sbuf args, rep = { 0 };
    int r, r2;

    vs_sbuf_init (&args, 64 * 1024);
    if ((r = vsphere_view_args (sc, specs, nspecs, &args)) < 0 ||
        (r = vsphere_call (c, "CreateContainerView", &sc->view_manager,
                           args.data, &rep)) < 0) {
        vs_sbuf_release (&args);
        return r;
    }
    vs_sbuf_release (&args);
    r = vsphere_decode_returnval_moref (rep.data, rep.len, "reply to "
                                        "CreateContainerView", &view);
    vs_sbuf_release (&rep);
    if (r < 0) {
        return r;
    }
    r = vsphere_pages (c, &view, specs, nspecs, &inv);
    /* The view belongs to the session; destroy it even after a failure
     * (keeping the first error). */
    if (r < 0) {
        struct vmshift_error_save es;

        error_save (&es);
        (void) vsphere_call (c, "DestroyView", &view, NULL, &rep);
        error_restore (&es);
    } else {
        r2 = vsphere_call (c, "DestroyView", &view, NULL, &rep);
        r = r2 < 0 ? r2 : 0;
    }
    vs_sbuf_release (&rep);
    if (r < 0) {
        vsphere_inventory_release (&inv);
        return r;
    }
    *out = inv;
    return 0;
}

static int
vsphere_fetch (struct vsphere_client *c, const struct vsphere_spec *specs,
               size_t nspecs, struct vsphere_inventory *out)
{
    unsigned gen;
    int r;

    if ((r = vsphere_connect (c)) < 0) {
        return r;
    }
    gen = vsphere_client_generation (c);
    r = vsphere_fetch_once (c, specs, nspecs, out);
    /* A session that ended while pages were being read took the view with
     * it (the simulator reports this as NotAuthenticated in missingSet);
     * after one new login, read everything again. */
    if (r == -ESTALE || (r < 0 && vsphere_client_generation (c) != gen)) {
        if (r == -ESTALE && (r = vsphere_relogin (c)) < 0) {
            return r;
        }
        r = vsphere_fetch_once (c, specs, nspecs, out);
    }
    if (r == -ESTALE) {
        r = set_error (EACCES, "vCenter '%s': the session was lost twice "
                       "while reading the inventory",
                       vsphere_client_profile (c)->name);
    }
    return r;
}

int
vsphere_inventory_fetch (struct vsphere_client *c,
                         struct vsphere_inventory *out)
{
    return vsphere_fetch (c, vsphere_specs, VSPHERE_NSPECS, out);
}

int
vsphere_names_fetch (struct vsphere_client *c, struct vsphere_inventory *out)
{
    return vsphere_fetch (c, vsphere_name_specs, 1, out);
}

/* ------------------------------------------------------------ lookups */

static const struct vsphere_folder *
vsphere_find_folder (const struct vsphere_inventory *inv,
                     const struct vsphere_moref *ref)
{
    for (size_t i = 0; i < inv->folders.len; i++) {
        if (vsphere_moref_eq (&inv->folders.ptr[i].self, ref)) {
            return &inv->folders.ptr[i];
        }
    }
    return NULL;
}

int
vsphere_vm_folder_path (const struct vsphere_inventory *inv,
                        const struct vsphere_vm *vm, char **out)
{
    const struct vsphere_folder *chain[256];
    size_t n = 0;
    struct sbuf b;
    const struct vsphere_moref *ref = &vm->parent;
    int r = 0;

    /* Up to the root folder, which is not in the view. */
    while (ref->value[0] && n < sizeof chain / sizeof chain[0]) {
        const struct vsphere_folder *f = vsphere_find_folder (inv, ref);

        if (f == NULL) {
            break;
        }
        chain[n++] = f;
        ref = &f->parent;
    }
    if (n == sizeof chain / sizeof chain[0]) {
        return set_error (EPROTO, "VM '%s': folder chain deeper than %zu "
                          "(a loop?)", vm->name, n);
    }
    vs_sbuf_init (&b, 1 << 20);
    while (n > 0 && r == 0) {
        const struct vsphere_folder *f = chain[--n];

        if ((r = vs_sbuf_addch (&b, '/')) == 0) {
            r = vs_sbuf_addstr (&b, f->name ? f->name : f->self.value);
        }
    }
    if (r == 0 && b.len == 0) {
        r = vs_sbuf_addch (&b, '/');
    }
    if (r < 0) {
        vs_sbuf_release (&b);
        return r;
    }
    *out = vs_sbuf_detach (&b, NULL);
    return *out ? 0 : set_error (ENOMEM, "out of memory");
}

const struct vsphere_datastore *
vsphere_find_datastore (const struct vsphere_inventory *inv,
                        const struct vsphere_moref *ref)
{
    for (size_t i = 0; i < inv->datastores.len; i++) {
        if (vsphere_moref_eq (&inv->datastores.ptr[i].self, ref)) {
            return &inv->datastores.ptr[i];
        }
    }
    return NULL;
}

const char *
vsphere_nic_network (const struct vsphere_inventory *inv,
                     const struct vsphere_nic *n)
{
    if (n->kind == VSPHERE_NET_DISTRIBUTED && n->portgroup_key) {
        for (size_t i = 0; i < inv->networks.len; i++) {
            const struct vsphere_network *w = &inv->networks.ptr[i];

            if (w->key && strcmp (w->key, n->portgroup_key) == 0) {
                return w->name;
            }
        }
        return NULL;
    }
    if (n->kind == VSPHERE_NET_STANDARD && n->network_ref.value[0]) {
        for (size_t i = 0; i < inv->networks.len; i++) {
            if (vsphere_moref_eq (&inv->networks.ptr[i].self,
                                  &n->network_ref)) {
                return inv->networks.ptr[i].name;
            }
        }
    }
    return n->network;
}

int
vsphere_ds_relpath (const char *file, const char *ds_name, const char **rel)
{
    size_t n = ds_name ? strlen (ds_name) : 0;

    if (file == NULL || ds_name == NULL || file[0] != '[' ||
        strncmp (file + 1, ds_name, n) != 0 || file[n + 1] != ']') {
        return set_error (EINVAL, "disk file '%s' is not on datastore '%s'",
                          file ? file : "", ds_name ? ds_name : "");
    }
    file += n + 2;
    while (*file == ' ') {
        file++;
    }
    *rel = file;
    return 0;
}
