/* vSphere SOAP replies -> structs: the only file that includes libxml2.
 *
 * libxml2 is reached through engine/base/dl-xml2.h (loaded on first use).
 * Replies are read with libxml2's streaming reader (xmlTextReader): the
 * reader walks the envelope and only one object of a property retrieval
 * page (one <objects> element, expanded) is held as a tree at a time, so
 * memory stays proportional to one VM, not to the page.  No DTDs, no
 * entity substitution, no network access.  Every string we keep is
 * capped (VSPHERE_NAME_MAX) and every count is checked against the
 * limits in vsphere.h.
 *
 * Shapes, per the vim25 WSDL (docs/vcenter.md lists the properties):
 *   Envelope/Body/<Method>Response/returnval...
 *   Envelope/Body/Fault/{faultcode,faultstring,detail/<X>Fault xsi:type=X}
 *   RetrieveResult: returnval/{token?, objects*: {obj, propSet*: {name,
 *     val xsi:type=...}, missingSet*: {path, fault/fault xsi:type}}}
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/dl-xml2.h"
#include "engine/base/error.h"
#include "hypervisors/vsphere/vsphere.h"

#define RP_XSI "http://www.w3.org/2001/XMLSchema-instance"

/* -------------------------------------------------------- node helpers */

static bool
rp_is (const xmlNode *n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE &&
           strcmp ((const char *) n->name, name) == 0;
}

static xmlNode *
rp_first (xmlNode *n)
{
    for (xmlNode *c = n ? n->children : NULL; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE) {
            return c;
        }
    }
    return NULL;
}

static xmlNode *
rp_next (xmlNode *n)
{
    for (xmlNode *c = n ? n->next : NULL; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE) {
            return c;
        }
    }
    return NULL;
}

static xmlNode *
rp_child (xmlNode *n, const char *name)
{
    for (xmlNode *c = rp_first (n); c; c = rp_next (c)) {
        if (rp_is (c, name)) {
            return c;
        }
    }
    return NULL;
}

/* The text of n (NULL n: *out NULL), capped.  Names may hold anything a
 * vCenter accepts (quotes, brackets, newlines): writers escape them. */
static int
rp_text (xmlNode *n, const char *what, char **out)
{
    xmlChar *t;
    size_t len;

    *out = NULL;
    if (n == NULL) {
        return 0;
    }
    if ((t = xmlNodeGetContent (n)) == NULL) {
        return set_error (ENOMEM, "out of memory reading %s", what);
    }
    len = strlen ((const char *) t);
    if (len > VSPHERE_NAME_MAX) {
        xmlFree (t);
        return set_error (EPROTO, "%s: '%s' is longer than %u bytes", what,
                          (const char *) n->name, VSPHERE_NAME_MAX);
    }
    *out = strdup ((const char *) t);
    xmlFree (t);
    return *out ? 0 : set_error (ENOMEM, "out of memory reading %s", what);
}

static int
rp_child_text (xmlNode *n, const char *name, const char *what, char **out)
{
    return rp_text (rp_child (n, name), what, out);
}

static int
rp_copy (const char *src, char *dst, size_t dstsz, const char *what,
         const char *field)
{
    size_t len = strlen (src);

    if (len >= dstsz) {
        return set_error (EPROTO, "%s: %s '%.40s...' is longer than %zu "
                          "bytes", what, field, src, dstsz - 1);
    }
    memcpy (dst, src, len + 1);
    return 0;
}

static int
rp_moref (xmlNode *n, const char *what, struct vsphere_moref *out)
{
    xmlChar *type;
    char *val = NULL;
    int r;

    memset (out, 0, sizeof *out);
    if (n == NULL) {
        return 0;
    }
    type = xmlGetNoNsProp (n, (const xmlChar *) "type");
    if (type == NULL) {
        return set_error (EPROTO, "%s: '%s' has no type attribute", what,
                          (const char *) n->name);
    }
    r = rp_copy ((const char *) type, out->type, sizeof out->type, what,
                 "a managed object type");
    xmlFree (type);
    if (r == 0 && (r = rp_text (n, what, &val)) == 0) {
        r = rp_copy (val, out->value, sizeof out->value, what,
                     "a managed object id");
    }
    free (val);
    if (r == 0 && out->value[0] == '\0') {
        r = set_error (EPROTO, "%s: empty managed object id in '%s'", what,
                       (const char *) n->name);
    }
    return r;
}

/* xsi:type of n in dst ("" if absent). */
static void
rp_xsi_type (xmlNode *n, char *dst, size_t dstsz)
{
    xmlChar *t = xmlGetNsProp (n, (const xmlChar *) "type",
                               (const xmlChar *) RP_XSI);
    const char *s = t ? (const char *) t : "";
    const char *colon = strchr (s, ':');

    snprintf (dst, dstsz, "%s", colon ? colon + 1 : s);
    xmlFree (t);
}

static int
rp_i64 (xmlNode *n, const char *what, int64_t *out)
{
    char *s = NULL, *end;
    long long v;
    int r;

    if ((r = rp_text (n, what, &s)) < 0 || s == NULL) {
        return r;
    }
    errno = 0;
    v = strtoll (s, &end, 10);
    if (errno || end == s || *end != '\0') {
        r = set_error (EPROTO, "%s: '%s' is not an integer: '%.40s'", what,
                       (const char *) n->name, s);
    } else {
        *out = v;
    }
    free (s);
    return r;
}

static int
rp_bool (xmlNode *n, const char *what, bool *out)
{
    char *s = NULL;
    int r;

    if ((r = rp_text (n, what, &s)) < 0 || s == NULL) {
        return r;
    }
    if (strcmp (s, "true") == 0 || strcmp (s, "1") == 0) {
        *out = true;
    } else if (strcmp (s, "false") == 0 || strcmp (s, "0") == 0) {
        *out = false;
    } else {
        r = set_error (EPROTO, "%s: '%s' is not a boolean: '%.40s'", what,
                       (const char *) n->name, s);
    }
    free (s);
    return r;
}

/* ------------------------------------------------------------ reader */

struct rp {
    xmlTextReaderPtr r;
    const char *what;
    int depth;                  /* of the element the reader is on */
};

static void
rp_silence (void *arg, const char *msg, xmlParserSeverities sev,
            xmlTextReaderLocatorPtr loc)
{
    (void) arg; (void) msg; (void) sev; (void) loc;
}

static int
rp_open (struct rp *p, const char *buf, size_t len, const char *what)
{
    int r;

    memset (p, 0, sizeof *p);
    p->what = what;
    if ((r = vs_dl_xml2 ()) < 0) {
        return r;
    }
    if (len > INT_MAX) {
        return set_error (EFBIG, "%s: reply of %zu bytes is too large", what,
                          len);
    }
    /* SOAP replies are UTF-8.  A declared encoding is ignored: converting
     * from one (ISO-2022-JP, say) reports bad bytes through libxml2's
     * global error handler, to stderr, past the reader's handler. */
    p->r = xmlReaderForMemory (buf, (int) len, NULL, "UTF-8",
                               XML_PARSE_NONET | XML_PARSE_NOERROR |
                               XML_PARSE_NOWARNING | XML_PARSE_IGNORE_ENC);
    if (p->r == NULL) {
        return set_error (ENOMEM, "%s: cannot make an XML reader", what);
    }
    xmlTextReaderSetErrorHandler (p->r, rp_silence, NULL);
    return 0;
}

static void
rp_close (struct rp *p)
{
    if (p->r) {
        xmlFreeTextReader (p->r);
        p->r = NULL;
    }
}

/* Next element start (skipping text, ends...).  1 on an element, 0 at
 * the end of the document, or -EPROTO. */
static int
rp_read (struct rp *p)
{
    int k;

    while ((k = xmlTextReaderRead (p->r)) == 1) {
        int t = xmlTextReaderNodeType (p->r);

        if (t == XML_READER_TYPE_DOCUMENT_TYPE ||
            t == XML_READER_TYPE_ENTITY_REFERENCE) {
            return set_error (EPROTO, "%s: DTDs and entities are not "
                              "accepted in replies", p->what);
        }
        if (t == XML_READER_TYPE_ELEMENT) {
            p->depth = xmlTextReaderDepth (p->r);
            return 1;
        }
    }
    if (k < 0) {
        return set_error (EPROTO, "%s: malformed XML", p->what);
    }
    return 0;
}

/* Skip the current element's subtree; then like rp_read. */
static int
rp_skip (struct rp *p)
{
    int k = xmlTextReaderNext (p->r);

    if (k < 0) {
        return set_error (EPROTO, "%s: malformed XML", p->what);
    }
    if (k == 0) {
        return 0;
    }
    if (xmlTextReaderNodeType (p->r) == XML_READER_TYPE_ELEMENT) {
        p->depth = xmlTextReaderDepth (p->r);
        return 1;
    }
    return rp_read (p);
}

static const char *
rp_name (struct rp *p)
{
    const xmlChar *n = xmlTextReaderConstLocalName (p->r);

    return n ? (const char *) n : "";
}

/* Expand the current element into a tree (valid until the reader moves
 * past it). */
static int
rp_expand (struct rp *p, xmlNode **out)
{
    xmlNode *n = xmlTextReaderExpand (p->r);

    if (n == NULL) {
        return set_error (EPROTO, "%s: malformed XML in '%s'", p->what,
                          rp_name (p));
    }
    *out = n;
    return 0;
}

/* Position on the first child of soap Body.  1 and the reader on it;
 * -EPROTO when the document is not a SOAP envelope with a body. */
static int
rp_body (struct rp *p)
{
    int k;

    if ((k = rp_read (p)) <= 0) {
        return k < 0 ? k : set_error (EPROTO, "%s: empty reply", p->what);
    }
    if (strcmp (rp_name (p), "Envelope") != 0) {
        return set_error (EPROTO, "%s: not a SOAP envelope (<%.40s>)",
                          p->what, rp_name (p));
    }
    k = rp_read (p);
    while (k == 1 && !(p->depth == 1 && strcmp (rp_name (p), "Body") == 0)) {
        k = p->depth == 1 ? rp_skip (p) : rp_read (p);
    }
    if (k <= 0 || strcmp (rp_name (p), "Body") != 0) {
        return k < 0 ? k : set_error (EPROTO, "%s: no SOAP Body", p->what);
    }
    if ((k = rp_read (p)) <= 0 || p->depth != 2) {
        return k < 0 ? k : set_error (EPROTO, "%s: empty SOAP Body", p->what);
    }
    return 1;
}

/* ------------------------------------------------------------- faults */

void
vsphere_fault_release (struct vsphere_fault *f)
{
    free (f->message);
    memset (f, 0, sizeof *f);
}

/* <detail><XFault xsi:type="X"/></detail>, or a LocalizedMethodFault's
 * <fault xsi:type="X"/>: the type from xsi:type, else the element name
 * without "Fault". */
static void
rp_fault_type (xmlNode *n, char *dst, size_t dstsz)
{
    size_t len;

    rp_xsi_type (n, dst, dstsz);
    if (dst[0]) {
        return;
    }
    snprintf (dst, dstsz, "%s", (const char *) n->name);
    len = strlen (dst);
    if (len > 5 && strcmp (dst + len - 5, "Fault") == 0) {
        dst[len - 5] = '\0';
    }
}

static int
rp_fault_node (xmlNode *fault, const char *what, struct vsphere_fault *out)
{
    xmlNode *detail = rp_first (rp_child (fault, "detail"));
    char *code = NULL;
    int r;

    memset (out, 0, sizeof *out);
    if ((r = rp_child_text (fault, "faultstring", what, &out->message)) < 0) {
        return r;
    }
    if (detail) {
        rp_fault_type (detail, out->type, sizeof out->type);
    } else if ((r = rp_child_text (fault, "faultcode", what, &code)) == 0) {
        snprintf (out->type, sizeof out->type, "%s", code ? code : "");
        free (code);
    }
    return r;
}

int
vsphere_decode_fault (const char *buf, size_t len, struct vsphere_fault *out)
{
    struct rp p;
    xmlNode *n = NULL;
    int r;

    if ((r = rp_open (&p, buf, len, "SOAP reply")) < 0) {
        return r;
    }
    if ((r = rp_body (&p)) == 1) {
        if (strcmp (rp_name (&p), "Fault") != 0) {
            r = 0;
        } else if ((r = rp_expand (&p, &n)) == 0 &&
                   (r = rp_fault_node (n, "SOAP fault", out)) == 0) {
            r = 1;
        }
    }
    rp_close (&p);
    return r;
}

/* Open a reply and position on the response element; a fault here is a
 * protocol error (callers decode faults first). */
static int
rp_response (struct rp *p, const char *buf, size_t len, const char *what)
{
    int r;

    if ((r = rp_open (p, buf, len, what)) < 0) {
        return r;
    }
    if ((r = rp_body (p)) < 0) {
        rp_close (p);
        return r;
    }
    if (strcmp (rp_name (p), "Fault") == 0) {
        rp_close (p);
        return set_error (EPROTO, "%s: unexpected SOAP fault", what);
    }
    return 0;
}

/* ---------------------------------------------------- service content */

int
vsphere_decode_service_content (const char *buf, size_t len,
                                struct vsphere_service_content *out)
{
    static const char what[] = "reply to RetrieveServiceContent";
    struct vsphere_service_content sc;
    struct rp p;
    xmlNode *resp = NULL, *rv, *about;
    char *s = NULL;
    int r;

    memset (&sc, 0, sizeof sc);
    if ((r = rp_response (&p, buf, len, what)) < 0) {
        return r;
    }
    if ((r = rp_expand (&p, &resp)) < 0) {
        goto out;
    }
    rv = rp_child (resp, "returnval");
    about = rp_child (rv, "about");
    if (rv == NULL || about == NULL) {
        r = set_error (EPROTO, "%s: no returnval/about", what);
        goto out;
    }
    if ((r = rp_moref (rp_child (rv, "rootFolder"), what,
                       &sc.root_folder)) < 0 ||
        (r = rp_moref (rp_child (rv, "propertyCollector"), what,
                       &sc.property_collector)) < 0 ||
        (r = rp_moref (rp_child (rv, "viewManager"), what,
                       &sc.view_manager)) < 0 ||
        (r = rp_moref (rp_child (rv, "sessionManager"), what,
                       &sc.session_manager)) < 0) {
        goto out;
    }
    if (!sc.root_folder.value[0] || !sc.property_collector.value[0] ||
        !sc.view_manager.value[0] || !sc.session_manager.value[0]) {
        r = set_error (EPROTO, "%s: rootFolder, propertyCollector, "
                       "viewManager or sessionManager missing", what);
        goto out;
    }
    if ((r = rp_child_text (about, "apiType", what, &s)) == 0 && s) {
        snprintf (sc.api_type, sizeof sc.api_type, "%s", s);
    }
    free (s);
    s = NULL;
    if (r == 0 && (r = rp_child_text (about, "apiVersion", what, &s)) == 0 &&
        s) {
        snprintf (sc.api_version, sizeof sc.api_version, "%s", s);
    }
    free (s);
    if (r == 0) {
        *out = sc;
    }
out:
    rp_close (&p);
    return r;
}

int
vsphere_decode_returnval_moref (const char *buf, size_t len, const char *what,
                                struct vsphere_moref *out)
{
    struct vsphere_moref m;
    struct rp p;
    xmlNode *resp = NULL;
    int r;

    if ((r = rp_response (&p, buf, len, what)) < 0) {
        return r;
    }
    if ((r = rp_expand (&p, &resp)) == 0 &&
        (r = rp_moref (rp_child (resp, "returnval"), what, &m)) == 0) {
        if (m.value[0] == '\0') {
            r = set_error (EPROTO, "%s: no returnval", what);
        } else {
            *out = m;
        }
    }
    rp_close (&p);
    return r;
}

/* ------------------------------------------------------- VM devices */

static void
rp_strv_free (char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free (v[i]);
    }
    free (v);
}

static void
rp_dns_release (struct vsphere_dns *d)
{
    rp_strv_free (d->servers, d->n_servers);
    rp_strv_free (d->search, d->n_search);
    free (d->domain);
    memset (d, 0, sizeof *d);
}

static void
rp_nic_release (struct vsphere_nic *n)
{
    for (size_t i = 0; i < n->n_addrs; i++) {
        free (n->addrs[i].address);
        free (n->addrs[i].origin);
        free (n->addrs[i].state);
    }
    free (n->addrs);
    rp_dns_release (&n->dns);
    free (n->label);
    free (n->mac);
    free (n->network);
    free (n->portgroup_key);
    for (size_t i = 0; i < n->n_ips; i++) {
        free (n->ips[i]);
    }
    free (n->ips);
}

static void
rp_disk_release (struct vsphere_disk *d)
{
    free (d->file);
    free (d->mode);
    free (d->sharing);
    free (d->backing_type);
}

static void
rp_snapshot_release (struct vsphere_snapshot *s)
{
    free (s->name);
    free (s->description);
    free (s->create_time);
}

void
vsphere_snapshots_free (struct vsphere_snapshot_vec *v)
{
    for (size_t i = 0; i < v->len; i++) {
        rp_snapshot_release (&v->ptr[i]);
    }
    vsphere_snapshot_vec_reset (v);
}

void
vsphere_vm_release (struct vsphere_vm *vm)
{
    free (vm->name);
    free (vm->instance_uuid);
    free (vm->power_state);
    free (vm->guest_id);
    free (vm->firmware);
    free (vm->tools_status);
    free (vm->tools_running);
    for (size_t i = 0; i < vm->nics.len; i++) {
        rp_nic_release (&vm->nics.ptr[i]);
    }
    vsphere_nic_vec_reset (&vm->nics);
    for (size_t i = 0; i < vm->disks.len; i++) {
        rp_disk_release (&vm->disks.ptr[i]);
    }
    vsphere_disk_vec_reset (&vm->disks);
    vsphere_controller_vec_reset (&vm->controllers);
    vsphere_snapshots_free (&vm->snapshots);
    for (size_t i = 0; i < vm->blockers.len; i++) {
        free (vm->blockers.ptr[i].kind);
        free (vm->blockers.ptr[i].device);
    }
    vsphere_blocker_vec_reset (&vm->blockers);
    for (size_t i = 0; i < vm->n_routes; i++) {
        free (vm->routes[i].network);
        free (vm->routes[i].gateway);
        free (vm->routes[i].device);
    }
    free (vm->routes);
    rp_dns_release (&vm->dns);
    memset (vm, 0, sizeof *vm);
}

void
vsphere_inventory_release (struct vsphere_inventory *inv)
{
    for (size_t i = 0; i < inv->vms.len; i++) {
        vsphere_vm_release (&inv->vms.ptr[i]);
    }
    vsphere_vm_vec_reset (&inv->vms);
    for (size_t i = 0; i < inv->datastores.len; i++) {
        struct vsphere_datastore *d = &inv->datastores.ptr[i];

        free (d->name);
        free (d->type);
        free (d->url);
        free (d->remote_host);
        free (d->remote_path);
    }
    vsphere_datastore_vec_reset (&inv->datastores);
    for (size_t i = 0; i < inv->networks.len; i++) {
        free (inv->networks.ptr[i].name);
        free (inv->networks.ptr[i].key);
    }
    vsphere_network_vec_reset (&inv->networks);
    for (size_t i = 0; i < inv->folders.len; i++) {
        free (inv->folders.ptr[i].name);
    }
    vsphere_folder_vec_reset (&inv->folders);
}

/* Controllers by xsi:type (vim25 VirtualController subtypes). */
static const char *
rp_controller_kind (const char *type)
{
    static const struct { const char *type, *kind; } map[] = {
        { "VirtualLsiLogicController", "scsi" },
        { "VirtualLsiLogicSASController", "scsi" },
        { "ParaVirtualSCSIController", "scsi" },
        { "VirtualBusLogicController", "scsi" },
        { "VirtualSCSIController", "scsi" },
        { "VirtualIDEController", "ide" },
        { "VirtualAHCIController", "sata" },
        { "VirtualSATAController", "sata" },
        { "VirtualNVMEController", "nvme" },
    };

    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (strcmp (type, map[i].type) == 0) {
            return map[i].kind;
        }
    }
    return NULL;
}

static int
rp_i32 (xmlNode *n, const char *what, int32_t *out)
{
    int64_t v = *out;
    int r = rp_i64 (n, what, &v);

    if (r == 0 && (v < INT32_MIN || v > INT32_MAX)) {
        return set_error (EPROTO, "%s: '%s' out of range", what,
                          (const char *) n->name);
    }
    *out = (int32_t) v;
    return r;
}

static int
rp_device_controller (xmlNode *d, const char *kind, const char *what,
                      struct vsphere_vm *vm)
{
    struct vsphere_controller c = { .bus = 0 };
    int r;

    snprintf (c.kind, sizeof c.kind, "%s", kind);
    if ((r = rp_i32 (rp_child (d, "key"), what, &c.key)) < 0 ||
        (r = rp_i32 (rp_child (d, "busNumber"), what, &c.bus)) < 0) {
        return r;
    }
    return vsphere_controller_vec_append (&vm->controllers, c);
}

static int
rp_blocker (struct vsphere_vm *vm, const char *kind, const char *device)
{
    struct vsphere_blocker b = { strdup (kind), strdup (device) };

    if (b.kind == NULL || b.device == NULL ||
        vsphere_blocker_vec_append (&vm->blockers, b) < 0) {
        free (b.kind);
        free (b.device);
        return set_error (ENOMEM, "out of memory");
    }
    return 0;
}

static int
rp_device_disk (xmlNode *d, const char *what, struct vsphere_vm *vm)
{
    struct vsphere_disk k = { .unit = -1 };
    xmlNode *b = rp_child (d, "backing");
    char bt[64];
    int64_t kb = 0, bytes = 0;
    int r;

    rp_xsi_type (b ? b : d, bt, sizeof bt);
    if ((r = rp_i32 (rp_child (d, "key"), what, &k.key)) < 0 ||
        (r = rp_i32 (rp_child (d, "controllerKey"), what,
                     &k.controller_key)) < 0 ||
        (r = rp_i32 (rp_child (d, "unitNumber"), what, &k.unit)) < 0 ||
        (r = rp_i64 (rp_child (d, "capacityInKB"), what, &kb)) < 0 ||
        (r = rp_i64 (rp_child (d, "capacityInBytes"), what, &bytes)) < 0 ||
        (r = rp_child_text (b, "fileName", what, &k.file)) < 0 ||
        (r = rp_moref (rp_child (b, "datastore"), what, &k.datastore)) < 0 ||
        (r = rp_child_text (b, "diskMode", what, &k.mode)) < 0 ||
        (r = rp_child_text (b, "sharing", what, &k.sharing)) < 0 ||
        (r = rp_bool (rp_child (b, "thinProvisioned"), what, &k.thin)) < 0) {
        goto fail;
    }
    if (kb < 0 || bytes < 0 || (uint64_t) kb > UINT64_MAX / 1024) {
        r = set_error (EPROTO, "%s: disk %" PRId32 " has a bad capacity",
                       what, k.key);
        goto fail;
    }
    k.capacity = bytes > 0 ? (uint64_t) bytes : (uint64_t) kb * 1024;
    k.rdm = strstr (bt, "RawDiskMapping") != NULL;
    if ((k.backing_type = strdup (bt)) == NULL ||
        vsphere_disk_vec_append (&vm->disks, k) < 0) {
        r = set_error (ENOMEM, "out of memory");
        goto fail;
    }
    return 0;
fail:
    rp_disk_release (&k);
    return r;
}

static int
rp_device_nic (xmlNode *d, const char *what, struct vsphere_vm *vm)
{
    struct vsphere_nic n = { .kind = VSPHERE_NET_NONE, .guest_index = -1 };
    xmlNode *b = rp_child (d, "backing");
    char bt[96];
    int r;

    rp_xsi_type (b ? b : d, bt, sizeof bt);
    if ((r = rp_i32 (rp_child (d, "key"), what, &n.key)) < 0 ||
        (r = rp_child_text (rp_child (d, "deviceInfo"), "label", what,
                            &n.label)) < 0 ||
        (r = rp_child_text (d, "macAddress", what, &n.mac)) < 0) {
        goto fail;
    }
    if (strcmp (bt, "VirtualEthernetCardNetworkBackingInfo") == 0) {
        n.kind = VSPHERE_NET_STANDARD;
        if ((r = rp_child_text (b, "deviceName", what, &n.network)) < 0 ||
            (r = rp_moref (rp_child (b, "network"), what,
                           &n.network_ref)) < 0) {
            goto fail;
        }
    } else if (strcmp (bt, "VirtualEthernetCardDistributedVirtualPort"
                           "BackingInfo") == 0) {
        n.kind = VSPHERE_NET_DISTRIBUTED;
        if ((r = rp_child_text (rp_child (b, "port"), "portgroupKey", what,
                                &n.portgroup_key)) < 0) {
            goto fail;
        }
    } else if (strcmp (bt, "VirtualEthernetCardOpaqueNetworkBackingInfo")
               == 0) {
        n.kind = VSPHERE_NET_OPAQUE;
        if ((r = rp_child_text (b, "opaqueNetworkId", what,
                                &n.network)) < 0) {
            goto fail;
        }
    }
    if ((r = vsphere_nic_vec_append (&vm->nics, n)) < 0) {
        goto fail;
    }
    return 0;
fail:
    rp_nic_release (&n);
    return r;
}

static int
rp_devices (xmlNode *val, const char *what, struct vsphere_vm *vm)
{
    char type[96];
    int r = 0;

    for (xmlNode *d = rp_first (val); d && r == 0; d = rp_next (d)) {
        const char *kind;

        rp_xsi_type (d, type, sizeof type);
        if ((kind = rp_controller_kind (type)) != NULL) {
            r = rp_device_controller (d, kind, what, vm);
        } else if (strcmp (type, "VirtualDisk") == 0) {
            r = rp_device_disk (d, what, vm);
        } else if (rp_child (d, "macAddress") ||
                   strstr (type, "Ethernet") || strstr (type, "Vmxnet") ||
                   strncmp (type, "VirtualE1000", 12) == 0 ||
                   strcmp (type, "VirtualPCNet32") == 0) {
            r = rp_device_nic (d, what, vm);
        } else if (strcmp (type, "VirtualPCIPassthrough") == 0) {
            int32_t key = 0;
            char dev[32];

            if ((r = rp_i32 (rp_child (d, "key"), what, &key)) == 0) {
                snprintf (dev, sizeof dev, "pci:%" PRId32, key);
                r = rp_blocker (vm, "pci-passthrough", dev);
            }
        }
    }
    return r;
}

/* Controller labels and blockers once every device is known. */
static int
rp_vm_finish (struct vsphere_vm *vm)
{
    int r = 0;

    for (size_t i = 0; i < vm->disks.len && r == 0; i++) {
        struct vsphere_disk *d = &vm->disks.ptr[i];
        const struct vsphere_controller *c = NULL;

        for (size_t j = 0; j < vm->controllers.len; j++) {
            if (vm->controllers.ptr[j].key == d->controller_key) {
                c = &vm->controllers.ptr[j];
            }
        }
        snprintf (d->controller, sizeof d->controller, "%s%" PRId32 ":%"
                  PRId32, c ? c->kind : "other", c ? c->bus : 0, d->unit);
        if (d->rdm) {
            r = rp_blocker (vm, "rdm", d->controller);
        }
        if (r == 0 && d->sharing &&
            strcmp (d->sharing, "sharingMultiWriter") == 0) {
            r = rp_blocker (vm, "multi-writer", d->controller);
        }
        if (r == 0 && d->mode && strncmp (d->mode, "independent", 11) == 0) {
            r = rp_blocker (vm, "independent", d->controller);
        }
    }
    return r;
}

/* Every child element 'name' of n appended to *v (at most 64). */
static int
rp_strv (xmlNode *n, const char *name, const char *what, char ***v,
         size_t *len)
{
    int r = 0;

    for (xmlNode *c = rp_first (n); c && r == 0; c = rp_next (c)) {
        char *s = NULL, **nv;

        if (!rp_is (c, name)) {
            continue;
        }
        if (*len >= 64) {
            return set_error (EPROTO, "%s: more than 64 '%s' in one list",
                              what, name);
        }
        if ((r = rp_text (c, what, &s)) < 0) {
            break;
        }
        if ((nv = realloc (*v, (*len + 1) * sizeof *nv)) == NULL) {
            free (s);
            return set_error (ENOMEM, "out of memory");
        }
        *v = nv;
        nv[(*len)++] = s;
    }
    return r;
}

/* A NetDnsConfigInfo (absent n: nothing). */
static int
rp_dns (xmlNode *n, const char *what, struct vsphere_dns *d)
{
    int r;

    if (n == NULL) {
        return 0;
    }
    rp_dns_release (d);
    if ((r = rp_child_text (n, "domainName", what, &d->domain)) < 0 ||
        (r = rp_strv (n, "ipAddress", what, &d->servers,
                      &d->n_servers)) < 0) {
        return r;
    }
    return rp_strv (n, "searchDomain", what, &d->search, &d->n_search);
}

/* guest.net[].ipConfig.ipAddress[] (NetIpConfigInfoIpAddress). */
static int
rp_ip_config (xmlNode *n, const char *what, struct vsphere_nic *nic)
{
    int r = 0;

    for (xmlNode *c = rp_first (n); c && r == 0; c = rp_next (c)) {
        struct vsphere_ipaddr a = { .prefix = -1 }, *v;

        if (!rp_is (c, "ipAddress")) {
            continue;
        }
        if (nic->n_addrs >= 256) {
            return set_error (EPROTO, "%s: more than 256 guest addresses on "
                              "one NIC", what);
        }
        if ((r = rp_child_text (c, "ipAddress", what, &a.address)) < 0 ||
            (r = rp_i32 (rp_child (c, "prefixLength"), what,
                         &a.prefix)) < 0 ||
            (r = rp_child_text (c, "origin", what, &a.origin)) < 0 ||
            (r = rp_child_text (c, "state", what, &a.state)) < 0 ||
            a.address == NULL ||
            (v = realloc (nic->addrs, (nic->n_addrs + 1) * sizeof *v))
            == NULL) {
            free (a.address);
            free (a.origin);
            free (a.state);
            if (r == 0) {
                r = a.address ? set_error (ENOMEM, "out of memory")
                    : set_error (EPROTO, "%s: a guest address without "
                                 "ipAddress", what);
            }
            break;
        }
        nic->addrs = v;
        v[nic->n_addrs++] = a;
    }
    return r;
}

/* guest.ipStack: the routes and DNS of the first stack (a guest has one
 * unless it runs several TCP/IP stacks; the others are not read). */
static int
rp_ip_stack (xmlNode *val, const char *what, struct vsphere_vm *vm)
{
    xmlNode *st = rp_first (val), *rc;
    int r;

    if (st == NULL || vm->n_routes || vm->routes) {
        return 0;
    }
    if ((r = rp_dns (rp_child (st, "dnsConfig"), what, &vm->dns)) < 0) {
        return r;
    }
    rc = rp_child (st, "ipRouteConfig");
    for (xmlNode *c = rp_first (rc); c && r == 0; c = rp_next (c)) {
        struct vsphere_route t = { .prefix = -1 }, *v;
        xmlNode *gw = rp_child (c, "gateway");

        if (!rp_is (c, "ipRoute")) {
            continue;
        }
        if (vm->n_routes >= 1024) {
            return set_error (EPROTO, "%s: more than 1024 guest routes",
                              what);
        }
        if ((r = rp_child_text (c, "network", what, &t.network)) < 0 ||
            (r = rp_i32 (rp_child (c, "prefixLength"), what,
                         &t.prefix)) < 0 ||
            (r = rp_child_text (gw, "ipAddress", what, &t.gateway)) < 0 ||
            (r = rp_child_text (gw, "device", what, &t.device)) < 0 ||
            t.network == NULL ||
            (v = realloc (vm->routes, (vm->n_routes + 1) * sizeof *v))
            == NULL) {
            free (t.network);
            free (t.gateway);
            free (t.device);
            if (r == 0) {
                r = t.network ? set_error (ENOMEM, "out of memory")
                    : set_error (EPROTO, "%s: a guest route without "
                                 "network", what);
            }
            break;
        }
        vm->routes = v;
        v[vm->n_routes++] = t;
    }
    return r;
}

/* guest.net: IPs onto the NIC whose key is deviceConfigId (else whose MAC
 * matches). */
static int
rp_guest_net (xmlNode *val, const char *what, struct vsphere_vm *vm)
{
    int r = 0;
    int32_t gi = -1;

    for (xmlNode *g = rp_first (val); g && r == 0; g = rp_next (g)) {
        int32_t dev = -1;
        char *mac = NULL;
        struct vsphere_nic *nic = NULL;

        if (gi < INT32_MAX) {
            gi++;
        }

        if ((r = rp_i32 (rp_child (g, "deviceConfigId"), what, &dev)) < 0 ||
            (r = rp_child_text (g, "macAddress", what, &mac)) < 0) {
            break;
        }
        for (size_t i = 0; i < vm->nics.len && nic == NULL; i++) {
            struct vsphere_nic *n = &vm->nics.ptr[i];

            if ((dev >= 0 && n->key == dev) ||
                (dev < 0 && mac && n->mac && strcasecmp (mac, n->mac) == 0)) {
                nic = n;
            }
        }
        free (mac);
        if (nic && nic->guest_index < 0) {
            /* a NIC listed twice keeps its first entry's details */
            nic->guest_index = gi;
            if ((r = rp_ip_config (rp_child (g, "ipConfig"), what,
                                   nic)) < 0 ||
                (r = rp_dns (rp_child (g, "dnsConfig"), what,
                             &nic->dns)) < 0) {
                break;
            }
        }
        for (xmlNode *ip = rp_first (g); nic && ip && r == 0;
             ip = rp_next (ip)) {
            char *s = NULL, **v;

            if (!rp_is (ip, "ipAddress")) {
                continue;
            }
            if (nic->n_ips >= 256) {
                return set_error (EPROTO, "%s: more than 256 guest IPs on "
                                  "one NIC", what);
            }
            if ((r = rp_text (ip, what, &s)) < 0) {
                break;
            }
            v = realloc (nic->ips, (nic->n_ips + 1) * sizeof *v);
            if (v == NULL) {
                free (s);
                return set_error (ENOMEM, "out of memory");
            }
            nic->ips = v;
            nic->ips[nic->n_ips++] = s;
        }
    }
    return r;
}

static int
rp_snapshot_tree (xmlNode *t, unsigned depth, const char *what,
                  struct vsphere_snapshot_vec *out)
{
    struct vsphere_snapshot s = { .depth = depth };
    int r;

    if (depth > 64 || out->len >= 4096) {
        return set_error (EPROTO, "%s: snapshot tree too deep or too large",
                          what);
    }
    if ((r = rp_moref (rp_child (t, "snapshot"), what, &s.ref)) < 0 ||
        (r = rp_child_text (t, "name", what, &s.name)) < 0 ||
        (r = rp_child_text (t, "description", what, &s.description)) < 0 ||
        (r = rp_child_text (t, "createTime", what, &s.create_time)) < 0 ||
        (r = vsphere_snapshot_vec_append (out, s)) < 0) {
        rp_snapshot_release (&s);
        return r;
    }
    for (xmlNode *c = rp_first (t); c && r == 0; c = rp_next (c)) {
        if (rp_is (c, "childSnapshotList")) {
            r = rp_snapshot_tree (c, depth + 1, what, out);
        }
    }
    return r;
}

static int
rp_snapshots (xmlNode *val, const char *what, struct vsphere_snapshot_vec *out)
{
    int r = 0;

    for (xmlNode *c = rp_first (val); c && r == 0; c = rp_next (c)) {
        if (rp_is (c, "rootSnapshotList")) {
            r = rp_snapshot_tree (c, 0, what, out);
        }
    }
    return r;
}

/* One propSet of a VirtualMachine. */
static int
rp_vm_prop (const char *name, xmlNode *val, const char *what,
            struct vsphere_vm *vm)
{
    int64_t v = 0;
    int r;

    if (strcmp (name, "name") == 0) {
        free (vm->name);
        return rp_text (val, what, &vm->name);
    }
    if (strcmp (name, "parent") == 0) {
        return rp_moref (val, what, &vm->parent);
    }
    if (strcmp (name, "config.instanceUuid") == 0) {
        free (vm->instance_uuid);
        return rp_text (val, what, &vm->instance_uuid);
    }
    if (strcmp (name, "config.guestId") == 0) {
        free (vm->guest_id);
        return rp_text (val, what, &vm->guest_id);
    }
    if (strcmp (name, "config.firmware") == 0) {
        free (vm->firmware);
        return rp_text (val, what, &vm->firmware);
    }
    if (strcmp (name, "config.template") == 0) {
        return rp_bool (val, what, &vm->is_template);
    }
    if (strcmp (name, "config.bootOptions") == 0) {
        return rp_bool (rp_child (val, "efiSecureBootEnabled"), what,
                        &vm->secure_boot);
    }
    if (strcmp (name, "config.hardware.numCPU") == 0) {
        if ((r = rp_i64 (val, what, &v)) == 0 && (v < 0 || v > 4096)) {
            r = set_error (EPROTO, "%s: numCPU %" PRId64 " out of range",
                           what, v);
        }
        vm->cpus = (uint32_t) v;
        return r;
    }
    if (strcmp (name, "config.hardware.memoryMB") == 0) {
        if ((r = rp_i64 (val, what, &v)) == 0 && v < 0) {
            r = set_error (EPROTO, "%s: memoryMB is negative", what);
        }
        vm->memory_mib = (uint64_t) v;
        return r;
    }
    if (strcmp (name, "config.hardware.device") == 0) {
        return rp_devices (val, what, vm);
    }
    if (strcmp (name, "runtime.powerState") == 0) {
        free (vm->power_state);
        return rp_text (val, what, &vm->power_state);
    }
    if (strcmp (name, "guest.toolsStatus") == 0) {
        free (vm->tools_status);
        return rp_text (val, what, &vm->tools_status);
    }
    if (strcmp (name, "guest.toolsRunningStatus") == 0) {
        free (vm->tools_running);
        return rp_text (val, what, &vm->tools_running);
    }
    if (strcmp (name, "snapshot") == 0) {
        return rp_snapshots (val, what, &vm->snapshots);
    }
    return 0;   /* guest.net comes after the devices: see rp_object */
}

static int
rp_folder_prop (const char *name, xmlNode *val, const char *what,
                struct vsphere_folder *f)
{
    if (strcmp (name, "name") == 0) {
        free (f->name);
        return rp_text (val, what, &f->name);
    }
    if (strcmp (name, "parent") == 0) {
        return rp_moref (val, what, &f->parent);
    }
    return 0;
}

static int
rp_ds_prop (const char *name, xmlNode *val, const char *what,
            struct vsphere_datastore *d)
{
    xmlNode *nas;
    int r;

    if (strcmp (name, "name") == 0) {
        free (d->name);
        return rp_text (val, what, &d->name);
    }
    if (strcmp (name, "summary") == 0) {
        free (d->type);
        free (d->url);
        d->type = d->url = NULL;
        if ((r = rp_child_text (val, "type", what, &d->type)) < 0) {
            return r;
        }
        return rp_child_text (val, "url", what, &d->url);
    }
    if (strcmp (name, "info") == 0 && (nas = rp_child (val, "nas"))) {
        free (d->remote_host);
        free (d->remote_path);
        d->remote_host = d->remote_path = NULL;
        if ((r = rp_child_text (nas, "remoteHost", what,
                                &d->remote_host)) < 0) {
            return r;
        }
        return rp_child_text (nas, "remotePath", what, &d->remote_path);
    }
    return 0;
}

static int
rp_net_prop (const char *name, xmlNode *val, const char *what,
             struct vsphere_network *n)
{
    if (strcmp (name, "name") == 0) {
        free (n->name);
        return rp_text (val, what, &n->name);
    }
    if (strcmp (name, "key") == 0) {
        free (n->key);
        return rp_text (val, what, &n->key);
    }
    return 0;
}

/* A missingSet entry: NotAuthenticated means the session is gone (the
 * simulator reports it this way instead of a fault); anything else is a
 * property we cannot read, which we treat as absent. */
static int
rp_missing (xmlNode *m, const char *what)
{
    xmlNode *f = rp_child (rp_child (m, "fault"), "fault");
    char type[64] = "";

    if (f) {
        rp_fault_type (f, type, sizeof type);
    }
    if (strcmp (type, "NotAuthenticated") == 0) {
        return set_error (ESTALE, "%s: the session is not authenticated",
                          what);
    }
    return 0;
}

enum rp_kind { RP_VM, RP_DS, RP_NET, RP_FOLDER, RP_OTHER };

static enum rp_kind
rp_kind_of (const char *type)
{
    if (strcmp (type, "VirtualMachine") == 0) {
        return RP_VM;
    }
    if (strcmp (type, "Datastore") == 0) {
        return RP_DS;
    }
    if (strcmp (type, "Network") == 0 ||
        strcmp (type, "DistributedVirtualPortgroup") == 0 ||
        strcmp (type, "OpaqueNetwork") == 0) {
        return RP_NET;
    }
    if (strcmp (type, "Folder") == 0 || strcmp (type, "Datacenter") == 0) {
        return RP_FOLDER;
    }
    return RP_OTHER;
}

static int
rp_object_vm (xmlNode *o, const struct vsphere_moref *self, const char *what,
              struct vsphere_inventory *inv)
{
    struct vsphere_vm vm = { .self = *self };
    xmlNode *guest_net = NULL;
    int r = 0;

    for (xmlNode *ps = rp_first (o); ps && r == 0; ps = rp_next (ps)) {
        char *name = NULL;
        xmlNode *val = rp_child (ps, "val");

        if (rp_is (ps, "missingSet")) {
            r = rp_missing (ps, what);
            continue;
        }
        if (!rp_is (ps, "propSet") ||
            (r = rp_child_text (ps, "name", what, &name)) < 0 || !name) {
            continue;
        }
        if (strcmp (name, "guest.net") == 0) {
            guest_net = val;
        } else if (strcmp (name, "guest.ipStack") == 0) {
            r = rp_ip_stack (val, what, &vm);
        } else {
            r = rp_vm_prop (name, val, what, &vm);
        }
        free (name);
    }
    if (r == 0 && guest_net) {
        r = rp_guest_net (guest_net, what, &vm);
    }
    if (r == 0) {
        r = rp_vm_finish (&vm);
    }
    if (r == 0 && vm.name == NULL) {
        r = set_error (EPROTO, "%s: VM '%s' has no name", what, self->value);
    }
    if (r == 0 && (r = vsphere_vm_vec_append (&inv->vms, vm)) == 0) {
        return 0;
    }
    vsphere_vm_release (&vm);
    return r;
}

static int
rp_object_other (xmlNode *o, const struct vsphere_moref *self,
                 enum rp_kind kind, const char *what,
                 struct vsphere_inventory *inv)
{
    struct vsphere_datastore d = { .self = *self };
    struct vsphere_network n = { .self = *self };
    struct vsphere_folder f = { .self = *self };
    int r = 0;

    for (xmlNode *ps = rp_first (o); ps && r == 0; ps = rp_next (ps)) {
        char *name = NULL;
        xmlNode *val = rp_child (ps, "val");

        if (rp_is (ps, "missingSet")) {
            r = rp_missing (ps, what);
            continue;
        }
        if (!rp_is (ps, "propSet") ||
            (r = rp_child_text (ps, "name", what, &name)) < 0 || !name) {
            continue;
        }
        r = kind == RP_DS ? rp_ds_prop (name, val, what, &d)
            : kind == RP_NET ? rp_net_prop (name, val, what, &n)
            : rp_folder_prop (name, val, what, &f);
        free (name);
    }
    if (r == 0) {
        r = kind == RP_DS ? vsphere_datastore_vec_append (&inv->datastores, d)
            : kind == RP_NET ? vsphere_network_vec_append (&inv->networks, n)
            : vsphere_folder_vec_append (&inv->folders, f);
        if (r == 0) {
            return 0;
        }
    }
    free (d.name);
    free (d.type);
    free (d.url);
    free (d.remote_host);
    free (d.remote_path);
    free (n.name);
    free (n.key);
    free (f.name);
    return r;
}

static int
rp_object (xmlNode *o, const char *what, struct vsphere_inventory *inv)
{
    struct vsphere_moref self;
    enum rp_kind kind;
    int r;

    if ((r = rp_moref (rp_child (o, "obj"), what, &self)) < 0) {
        return r;
    }
    if (self.value[0] == '\0') {
        return set_error (EPROTO, "%s: an object without obj", what);
    }
    kind = rp_kind_of (self.type);
    if (kind == RP_VM) {
        return rp_object_vm (o, &self, what, inv);
    }
    if (kind == RP_OTHER) {
        return 0;
    }
    return rp_object_other (o, &self, kind, what, inv);
}

static size_t
rp_count (const struct vsphere_inventory *inv)
{
    return inv->vms.len + inv->datastores.len + inv->networks.len +
           inv->folders.len;
}

int
vsphere_decode_retrieve (const char *buf, size_t len, const char *what,
                         struct vsphere_inventory *inv, char **token)
{
    struct rp p;
    char *tok = NULL;
    int r, k;

    if ((r = rp_response (&p, buf, len, what)) < 0) {
        return r;
    }
    k = rp_read (&p);
    while (k == 1) {
        const char *n = rp_name (&p);
        xmlNode *node = NULL;

        if (p.depth == 4 && strcmp (n, "objects") == 0) {
            if (rp_count (inv) >= VSPHERE_OBJECTS_MAX) {
                r = set_error (EFBIG, "%s: more than %u objects", what,
                               VSPHERE_OBJECTS_MAX);
                break;
            }
            if ((r = rp_expand (&p, &node)) < 0 ||
                (r = rp_object (node, what, inv)) < 0) {
                break;
            }
            k = rp_skip (&p);
        } else if (p.depth == 4 && strcmp (n, "token") == 0) {
            if ((r = rp_expand (&p, &node)) < 0) {
                break;
            }
            free (tok);
            if ((r = rp_text (node, what, &tok)) < 0) {
                break;
            }
            k = rp_skip (&p);
        } else if (p.depth < 3) {
            k = rp_skip (&p);
        } else {
            k = rp_read (&p);
        }
    }
    if (r == 0 && k < 0) {
        r = k;
    }
    rp_close (&p);
    if (r < 0) {
        free (tok);
        return r;
    }
    if (tok && tok[0] == '\0') {
        free (tok);
        tok = NULL;
    }
    *token = tok;
    return 0;
}

/* ------------------------------------------------------------ tasks */

static int
rp_single_object (const char *buf, size_t len, const char *what,
                  struct rp *p, xmlNode **obj)
{
    int r, k;

    if ((r = rp_response (p, buf, len, what)) < 0) {
        return r;
    }
    while ((k = rp_read (p)) == 1) {
        if (p->depth == 4 && strcmp (rp_name (p), "objects") == 0) {
            /* On success the caller reads the tree and closes the
             * reader; on failure nobody else will. */
            if ((r = rp_expand (p, obj)) < 0) {
                rp_close (p);
            }
            return r;
        }
    }
    rp_close (p);
    return k < 0 ? k : set_error (ENOENT, "%s: the object is gone", what);
}

static xmlNode *
rp_prop_val (xmlNode *obj, const char *prop)
{
    for (xmlNode *ps = rp_first (obj); ps; ps = rp_next (ps)) {
        xmlNode *n = rp_child (ps, "name");
        xmlChar *t;
        bool hit;

        if (!rp_is (ps, "propSet") || n == NULL) {
            continue;
        }
        t = xmlNodeGetContent (n);
        hit = t && strcmp ((const char *) t, prop) == 0;
        xmlFree (t);
        if (hit) {
            return rp_child (ps, "val");
        }
    }
    return NULL;
}

int
vsphere_decode_task_info (const char *buf, size_t len, const char *what,
                          struct vsphere_task_info *out)
{
    struct vsphere_task_info ti;
    struct rp p;
    xmlNode *obj, *info, *err;
    char *state = NULL;
    int r;

    memset (&ti, 0, sizeof ti);
    if ((r = rp_single_object (buf, len, what, &p, &obj)) < 0) {
        return r;
    }
    for (xmlNode *m = rp_first (obj); m && r == 0; m = rp_next (m)) {
        if (rp_is (m, "missingSet")) {
            r = rp_missing (m, what);
        }
    }
    info = rp_prop_val (obj, "info");
    if (r == 0 && info == NULL) {
        r = set_error (EPROTO, "%s: no task info", what);
    }
    if (r == 0 && (r = rp_child_text (info, "state", what, &state)) == 0) {
        if (state == NULL) {
            r = set_error (EPROTO, "%s: task info without state", what);
        } else if (strcmp (state, "queued") == 0) {
            ti.state = VSPHERE_TASK_QUEUED;
        } else if (strcmp (state, "running") == 0) {
            ti.state = VSPHERE_TASK_RUNNING;
        } else if (strcmp (state, "success") == 0) {
            ti.state = VSPHERE_TASK_SUCCESS;
        } else if (strcmp (state, "error") == 0) {
            ti.state = VSPHERE_TASK_ERROR;
        } else {
            r = set_error (EPROTO, "%s: unknown task state '%.40s'", what,
                           state);
        }
    }
    if (r == 0 && ti.state == VSPHERE_TASK_SUCCESS) {
        xmlNode *res = rp_child (info, "result");
        xmlChar *t = res ? xmlGetNoNsProp (res, (const xmlChar *) "type") : NULL;

        if (t) {
            r = rp_moref (res, what, &ti.result);
        }
        xmlFree (t);
    }
    if (r == 0 && ti.state == VSPHERE_TASK_ERROR &&
        (err = rp_child (info, "error"))) {
        xmlNode *f = rp_child (err, "fault");

        if (f) {
            rp_fault_type (f, ti.error.type, sizeof ti.error.type);
        }
        r = rp_child_text (err, "localizedMessage", what, &ti.error.message);
    }
    free (state);
    rp_close (&p);
    if (r < 0) {
        vsphere_fault_release (&ti.error);
        return r;
    }
    *out = ti;
    return 0;
}

int
vsphere_decode_vm_state (const char *buf, size_t len, const char *what,
                         char **power, struct vsphere_snapshot_vec *snaps)
{
    struct vsphere_snapshot_vec sv = { 0 };
    struct rp p;
    xmlNode *obj, *val;
    char *ps = NULL;
    int r = 0;

    if ((r = rp_single_object (buf, len, what, &p, &obj)) < 0) {
        return r;
    }
    for (xmlNode *m = rp_first (obj); m && r == 0; m = rp_next (m)) {
        if (rp_is (m, "missingSet")) {
            r = rp_missing (m, what);
        }
    }
    if (r == 0 && (r = rp_text (rp_prop_val (obj, "runtime.powerState"), what,
                                &ps)) == 0 && ps == NULL) {
        r = set_error (EPROTO, "%s: no runtime.powerState", what);
    }
    if (r == 0 && (val = rp_prop_val (obj, "snapshot"))) {
        r = rp_snapshots (val, what, &sv);
    }
    rp_close (&p);
    if (r < 0) {
        free (ps);
        vsphere_snapshots_free (&sv);
        return r;
    }
    *power = ps;
    if (snaps) {
        *snaps = sv;
    } else {
        vsphere_snapshots_free (&sv);
    }
    return 0;
}

/* ---------------------------------------------------------- escaping */

int
vsphere_xml_escape (struct sbuf *b, const char *s, const char *what)
{
    for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
        int r;

        switch (*p) {
        case '&': r = vs_sbuf_addstr (b, "&amp;"); break;
        case '<': r = vs_sbuf_addstr (b, "&lt;"); break;
        case '>': r = vs_sbuf_addstr (b, "&gt;"); break;
        case '"': r = vs_sbuf_addstr (b, "&quot;"); break;
        case '\'': r = vs_sbuf_addstr (b, "&apos;"); break;
        default:
            if ((*p < 0x20 && *p != '\t' && *p != '\n') || *p == 0x7f) {
                return set_error (EINVAL, "%s holds a control character "
                                  "(0x%02x)", what, *p);
            }
            r = vs_sbuf_addch (b, (char) *p);
        }
        if (r < 0) {
            return r;
        }
    }
    return 0;
}

bool
vsphere_moref_eq (const struct vsphere_moref *a, const struct vsphere_moref *b)
{
    return strcmp (a->type, b->type) == 0 && strcmp (a->value, b->value) == 0;
}
