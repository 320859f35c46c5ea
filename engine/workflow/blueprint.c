/* Blueprint parser (docs/blueprint.md).  Strict: an unknown key, a VM in
 * two groups or in none, a target name used twice, a value out of range
 * is an error naming the key, because a typo in a wave's plan must stop
 * it before anything is made. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/base/error.h"
#include "engine/base/json.h"
#include "engine/base/jsonw.h"
#include "engine/base/sbuf.h"
#include "engine/workflow/blueprint.h"

struct bp_ctx {
    const char *what;
    struct wf_blueprint *bp;
};

#define BP_ERR(c, path, ...) \
    wf_bp_err ((c), (path), __VA_ARGS__)

static int wf_bp_err (struct bp_ctx *c, const char *path, const char *fmt,
                      ...) __attribute__ ((format (printf, 3, 4)));

static int
wf_bp_err (struct bp_ctx *c, const char *path, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start (ap, fmt);
    vsnprintf (msg, sizeof msg, fmt, ap);
    va_end (ap);
    return set_error (EINVAL, "%s: %s: %s", c->what, path, msg);
}

static int
wf_bp_keys (struct bp_ctx *c, const char *path, const struct json_val *o,
            const char *const *allowed)
{
    const char *key;

    if (vs_json_type (o) != JSON_OBJECT) {
        return BP_ERR (c, path, "expected an object");
    }
    for (size_t i = 0; vs_json_object_at (o, i, &key) != NULL; i++) {
        bool ok = false;

        for (size_t j = 0; allowed[j] && !ok; j++) {
            ok = strcmp (key, allowed[j]) == 0;
        }
        if (!ok) {
            return BP_ERR (c, path, "unknown key '%s'", key);
        }
        for (size_t j = 0; j < i; j++) {
            const char *k2;

            vs_json_object_at (o, j, &k2);
            if (strcmp (k2, key) == 0) {
                return BP_ERR (c, path, "key '%s' given twice", key);
            }
        }
    }
    return 0;
}

/* A string member; required or not.  Control characters are refused:
 * every string here ends up in a file name, a definition or a message. */
static int
wf_bp_str (struct bp_ctx *c, const char *path, const struct json_val *o,
           const char *key, bool required, char **out)
{
    const struct json_val *v = vs_json_get (o, key);
    char full[256];
    const char *s;

    snprintf (full, sizeof full, "%s%s%s", path, *path ? "." : "", key);
    if (!v || vs_json_type (v) == JSON_NULL) {
        return required ? BP_ERR (c, full, "missing") : 0;
    }
    if (!(s = vs_json_string_value (v))) {
        return BP_ERR (c, full, "expected a string, not %s",
                       vs_json_type_name (vs_json_type (v)));
    }
    if (!*s) {
        return BP_ERR (c, full, "empty");
    }
    if (strlen (s) > 4096) {
        return BP_ERR (c, full, "longer than 4096 bytes");
    }
    for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            return BP_ERR (c, full, "holds a control character");
        }
    }
    *out = strdup (s);
    return *out ? 0 : set_error (ENOMEM, "out of memory");
}

static int
wf_bp_uint (struct bp_ctx *c, const char *path, const struct json_val *o,
            const char *key, uint64_t min, uint64_t max, uint64_t *out)
{
    const struct json_val *v = vs_json_get (o, key);
    char full[256];
    double d;

    snprintf (full, sizeof full, "%s%s%s", path, *path ? "." : "", key);
    if (!v) {
        return 0;
    }
    if (vs_json_type (v) != JSON_NUMBER ||
        vs_json_get_double (o, key, &d) < 0) {
        clear_error ();
        return BP_ERR (c, full, "expected a number");
    }
    if (d != (double) (uint64_t) d || d < (double) min || d > (double) max) {
        return BP_ERR (c, full, "%g is not a whole number from %llu to %llu",
                       d, (unsigned long long) min, (unsigned long long) max);
    }
    *out = (uint64_t) d;
    return 0;
}

static int
wf_bp_bool (struct bp_ctx *c, const char *path, const struct json_val *o,
            const char *key, bool *out)
{
    const struct json_val *v = vs_json_get (o, key);
    char full[256];

    snprintf (full, sizeof full, "%s%s%s", path, *path ? "." : "", key);
    if (!v) {
        return 0;
    }
    if (vs_json_type (v) != JSON_BOOL) {
        return BP_ERR (c, full, "expected true or false");
    }
    return vs_json_get_bool (o, key, out);
}

/* Names that become folder names, domain names and file names. */
static int
wf_bp_safe_name (struct bp_ctx *c, const char *path, const char *s)
{
    size_t n = strlen (s);

    if (n == 0 || n > WF_BP_NAME_MAX || !isalnum ((unsigned char) s[0])) {
        return BP_ERR (c, path, "'%s' must be 1 to %d characters starting "
                       "with a letter or digit", s, WF_BP_NAME_MAX);
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char) s[i];

        if (!isalnum (ch) && ch != '-' && ch != '_' && ch != '.') {
            return BP_ERR (c, path, "'%s' may hold only letters, digits, "
                           "'-', '_' and '.'", s);
        }
    }
    return 0;
}

static const char *
wf_bp_format_ok (const char *f)
{
    static const char *const ok[] = { "qcow2", "raw", "vhdx", "vmdk" };

    for (size_t i = 0; i < 4; i++) {
        if (strcmp (f, ok[i]) == 0) {
            return ok[i];
        }
    }
    return NULL;
}

static int
wf_bp_source (struct bp_ctx *c, const struct json_val *root)
{
    static const char *const keys[] = {
        "datastore", "allow_powered_on", "vcenter", "shutdown_timeout",
        "power_off_after", "vm_snapshot", "quiesce", NULL,
    };
    static const char *const vc_only[] = {
        "shutdown_timeout", "power_off_after", "vm_snapshot", "quiesce", NULL,
    };
    const struct json_val *v = vs_json_get (root, "source");
    struct wf_blueprint *bp = c->bp;
    uint64_t t = WF_BP_SHUTDOWN_DEFAULT;
    int r;

    if (!v) {
        return BP_ERR (c, "source", "missing");
    }
    if ((r = wf_bp_keys (c, "source", v, keys)) < 0 ||
        (r = wf_bp_str (c, "source", v, "datastore", false,
                        &bp->datastore)) < 0 ||
        (r = wf_bp_str (c, "source", v, "vcenter", false,
                        &bp->vcenter)) < 0) {
        return r;
    }
    if (bp->datastore && bp->vcenter) {
        return BP_ERR (c, "source", "give 'datastore' or 'vcenter', not "
                       "both");
    }
    if (!bp->datastore && !bp->vcenter) {
        return BP_ERR (c, "source", "needs 'datastore' (VMs by their .vmx) "
                       "or 'vcenter' (a vCenter profile)");
    }
    if (bp->datastore) {
        for (size_t i = 0; vc_only[i]; i++) {
            if (vs_json_get (v, vc_only[i])) {
                char path[64];

                snprintf (path, sizeof path, "source.%s", vc_only[i]);
                return BP_ERR (c, path, "only with source.vcenter");
            }
        }
        return wf_bp_bool (c, "source", v, "allow_powered_on",
                           &bp->allow_powered_on);
    }
    if (vs_json_get (v, "allow_powered_on")) {
        return BP_ERR (c, "source.allow_powered_on", "only with "
                       "source.datastore (the run shuts vCenter VMs down)");
    }
    bp->vm_snapshot = true;
    if ((r = wf_bp_safe_name (c, "source.vcenter", bp->vcenter)) < 0 ||
        (r = wf_bp_uint (c, "source", v, "shutdown_timeout", 1,
                         WF_BP_SHUTDOWN_MAX, &t)) < 0 ||
        (r = wf_bp_bool (c, "source", v, "power_off_after",
                         &bp->power_off_after)) < 0 ||
        (r = wf_bp_bool (c, "source", v, "vm_snapshot",
                         &bp->vm_snapshot)) < 0 ||
        (r = wf_bp_bool (c, "source", v, "quiesce", &bp->quiesce)) < 0) {
        return r;
    }
    if (bp->quiesce && !bp->vm_snapshot) {
        return BP_ERR (c, "source.quiesce", "needs source.vm_snapshot");
    }
    bp->shutdown_timeout = (unsigned) t;
    return 0;
}

/* ------------------------------------------ target folders per volume */

#define WF_BP_VOLUME_TAG "{volume}"

/* ontap://PROFILE/VOLUME[/...]: the profile and the volume as spans. */
static bool
wf_bp_ontap_split (const char *loc, const char **p, size_t *pn,
                   const char **v, size_t *vn)
{
    const char *s, *e;

    if (strncmp (loc, "ontap://", 8) != 0) {
        return false;
    }
    s = loc + 8;
    if (!(e = strchr (s, '/')) || e == s) {
        return false;
    }
    *p = s;
    *pn = (size_t) (e - s);
    s = e + 1;
    if (!(e = strchr (s, '/'))) {
        e = s + strlen (s);
    }
    if (e == s) {
        return false;
    }
    *v = s;
    *vn = (size_t) (e - s);
    return true;
}

/* {volume} stands for a whole volume of an ontap:// location, once: a
 * VM's target must be on its disks' volume (ONTAP clones only within
 * one), so the tag anywhere else could only name a wrong place. */
static int
wf_bp_volume_tag (struct bp_ctx *c, const char *key, const char *loc)
{
    const char *t = strstr (loc, WF_BP_VOLUME_TAG), *p, *v;
    size_t pn, vn;

    if (!t) {
        return 0;
    }
    if (!wf_bp_ontap_split (loc, &p, &pn, &v, &vn) || v != t ||
        vn != strlen (WF_BP_VOLUME_TAG) ||
        strstr (t + 1, WF_BP_VOLUME_TAG)) {
        return BP_ERR (c, key, "'{volume}' may stand only for the volume of "
                       "an ontap:// location, once "
                       "(ontap://PROFILE/{volume}/FOLDER)");
    }
    return 0;
}

/* target.locations: {"VOLUME": "ontap://PROFILE/VOLUME[/FOLDER]", ...} */
static int
wf_bp_locations (struct bp_ctx *c, const struct json_val *t)
{
    const struct json_val *o = vs_json_get (t, "locations");
    struct wf_blueprint *bp = c->bp;
    const char *key;
    size_t n;
    int r;

    if (!o) {
        return 0;
    }
    if (vs_json_type (o) != JSON_OBJECT) {
        return BP_ERR (c, "target.locations", "expected an object");
    }
    for (n = 0; vs_json_object_at (o, n, &key) != NULL; n++) {
    }
    if (n == 0) {
        return BP_ERR (c, "target.locations", "empty");
    }
    if (!(bp->locations = calloc (n, sizeof *bp->locations))) {
        return set_error (ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        struct wf_bp_loc *l = &bp->locations[i];
        const char *p, *v;
        size_t pn, vn;
        char path[128];

        vs_json_object_at (o, i, &key);
        snprintf (path, sizeof path, "target.locations.%s", key);
        if ((r = wf_bp_safe_name (c, path, key)) < 0) {
            return r;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp (bp->locations[j].volume, key) == 0) {
                return BP_ERR (c, "target.locations", "key '%s' given "
                               "twice", key);
            }
        }
        if (!(l->volume = strdup (key))) {
            return set_error (ENOMEM, "out of memory");
        }
        bp->nlocations++;
        if ((r = wf_bp_str (c, "target.locations", o, key, true,
                            &l->location)) < 0) {
            return r;
        }
        if (!wf_bp_ontap_split (l->location, &p, &pn, &v, &vn) ||
            vn != strlen (key) || strncmp (v, key, vn) != 0 ||
            strchr (l->location, '{')) {
            return BP_ERR (c, path, "'%s' is not on volume '%s': give "
                           "ontap://PROFILE/%s/FOLDER (ONTAP clones only "
                           "within a volume)", l->location, key, key);
        }
    }
    return 0;
}

char *
wf_bp_expand_volume (const char *s, const char *volume)
{
    struct sbuf b;
    const char *t;

    if (!strstr (s, WF_BP_VOLUME_TAG)) {
        return strdup (s);
    }
    if (!volume) {
        return NULL;
    }
    vs_sbuf_init (&b, 8192);
    while ((t = strstr (s, WF_BP_VOLUME_TAG))) {
        vs_sbuf_add (&b, s, (size_t) (t - s));
        vs_sbuf_add (&b, volume, strlen (volume));
        s = t + strlen (WF_BP_VOLUME_TAG);
    }
    vs_sbuf_add (&b, s, strlen (s));
    return vs_sbuf_detach (&b, NULL);
}

int
wf_bp_location_for (const struct wf_blueprint *bp, bool test,
                    const char *profile, const char *volume, char **out)
{
    const char *tmpl = test ? bp->test_location : bp->location;
    const char *key = test ? "target.test_location" : "target.location";
    const char *p, *v;
    size_t pn, vn;
    char kb[128];
    int e;

    *out = NULL;
    for (size_t i = 0; volume && i < bp->nlocations; i++) {
        if (strcmp (bp->locations[i].volume, volume) == 0) {
            snprintf (kb, sizeof kb, "target.locations.%s", volume);
            key = kb;
            if (!test) {
                *out = strdup (bp->locations[i].location);
            } else if (asprintf (out, "%s-test",
                                 bp->locations[i].location) < 0) {
                *out = NULL;
            }
            tmpl = NULL;
            break;
        }
    }
    if (!*out && tmpl) {
        if (strstr (tmpl, WF_BP_VOLUME_TAG) && !volume) {
            return set_error (EINVAL, "%s: '{volume}' needs the VM's disks on "
                              "an ONTAP volume", key);
        }
        *out = wf_bp_expand_volume (tmpl, volume);
    } else if (!*out && key != kb) {
        if (!volume) {
            return set_error (ENOENT, "target.locations: the VM's disks are "
                              "not on ONTAP, and there is no "
                              "target.location");
        }
        return set_error (ENOENT, "target.locations: no location for volume "
                          "'%s' (add \"%s\": \"ontap://%s/%s/FOLDER\", or "
                          "give target.location with {volume})", volume,
                          volume, profile ? profile : "PROFILE", volume);
    }
    if (!*out) {
        return set_error (ENOMEM, "out of memory");
    }
    if (volume && profile && wf_bp_ontap_split (*out, &p, &pn, &v, &vn) &&
        (pn != strlen (profile) || strncmp (p, profile, pn) != 0 ||
         vn != strlen (volume) || strncmp (v, volume, vn) != 0)) {
        e = set_error (EXDEV, "%s: '%s' is not on the VM's volume '%s' of "
                       "profile '%s': ONTAP clones only within a volume "
                       "({volume} in the location, or target.locations, "
                       "puts each VM on its own)", key, *out, volume,
                       profile);
        free (*out);
        *out = NULL;
        return e;
    }
    return 0;
}

static int
wf_bp_target (struct bp_ctx *c, const struct json_val *root)
{
    static const char *const keys[] = {
        "hypervisor", "uri", "format", "location", "test_location",
        "locations", "namespace", "storage", "vmid_start", "host_path",
        "qtree_style", NULL,
    };
    const struct json_val *v = vs_json_get (root, "target");
    struct wf_blueprint *bp = c->bp;
    char *h = NULL, *qs = NULL;
    uint64_t vmid = 0;
    int r;

    if (!v) {
        return BP_ERR (c, "target", "missing");
    }
    if ((r = wf_bp_keys (c, "target", v, keys)) < 0 ||
        (r = wf_bp_str (c, "target", v, "hypervisor", true, &h)) < 0) {
        return r;
    }
    if (hv_target_by_name (h)) {
        bp->hypervisor = hv_target_by_name (h)->id;
    }
    if (bp->hypervisor == 0 || !wf_target_of (bp->hypervisor)) {
        r = BP_ERR (c, "target.hypervisor", "'%s' is not hyperv, libvirt, "
                    "proxmox or kubevirt", h);
        free (h);
        return r;
    }
    free (h);
    if ((r = wf_bp_str (c, "target", v, "uri",
                        wf_target_of (bp->hypervisor)->reg == WF_REG_API,
                        &bp->uri)) < 0 ||
        (r = wf_bp_str (c, "target", v, "format", false, &bp->format)) < 0 ||
        (r = wf_bp_locations (c, v)) < 0 ||
        (r = wf_bp_str (c, "target", v, "location", bp->nlocations == 0,
                        &bp->location)) < 0 ||
        (r = wf_bp_str (c, "target", v, "test_location", false,
                        &bp->test_location)) < 0 ||
        (bp->location &&
         (r = wf_bp_volume_tag (c, "target.location", bp->location)) < 0) ||
        (bp->test_location &&
         (r = wf_bp_volume_tag (c, "target.test_location",
                                bp->test_location)) < 0) ||
        (r = wf_bp_str (c, "target", v, "namespace", false,
                        &bp->namespace_)) < 0 ||
        (r = wf_bp_str (c, "target", v, "host_path", false,
                        &bp->host_path)) < 0 ||
        (r = wf_bp_str (c, "target", v, "storage", false,
                        &bp->storage)) < 0 ||
        (r = wf_bp_uint (c, "target", v, "vmid_start", 100, 999999000,
                         &vmid)) < 0 ||
        (r = wf_bp_str (c, "target", v, "qtree_style", false, &qs)) < 0) {
        return r;
    }
    if (qs && strcmp (qs, "fix") != 0 && strcmp (qs, "refuse") != 0) {
        r = BP_ERR (c, "target.qtree_style", "'%s' is not refuse or fix", qs);
        free (qs);
        return r;
    }
    bp->qtree_fix = qs && strcmp (qs, "fix") == 0;
    free (qs);
    bp->vmid_start = (unsigned) vmid;
    if (bp->uri && wf_target_of (bp->hypervisor)->reg != WF_REG_API) {
        return BP_ERR (c, "target.uri", "only for the libvirt hypervisor");
    }
    if (bp->format && !wf_bp_format_ok (bp->format)) {
        return BP_ERR (c, "target.format", "'%s' is not qcow2, raw, vhdx or "
                       "vmdk", bp->format);
    }
    if (bp->test_location && !bp->location) {
        return BP_ERR (c, "target.test_location", "only with "
                       "target.location (a test run of target.locations "
                       "goes to each LOCATION-test)");
    }
    if (bp->test_location && strcmp (bp->test_location, bp->location) == 0) {
        return BP_ERR (c, "target.test_location", "must differ from "
                       "target.location");
    }
    if (!bp->test_location && bp->location &&
        asprintf (&bp->test_location, "%s-test", bp->location) < 0) {
        bp->test_location = NULL;
        return set_error (ENOMEM, "out of memory");
    }
    return 0;
}

static int
wf_bp_netmap (struct bp_ctx *c, const struct json_val *root)
{
    const struct json_val *v = vs_json_get (root, "network_map");
    char what[300];
    int r;

    if (!v) {
        return 0;
    }
    if (vs_json_type (v) != JSON_OBJECT) {
        return BP_ERR (c, "network_map", "expected an object");
    }
    if (!(c->bp->network_map = vs_json_print (v))) {
        return set_error (ENOMEM, "out of memory");
    }
    snprintf (what, sizeof what, "%s: network_map", c->what);
    r = hv_netmap_parse (c->bp->network_map, strlen (c->bp->network_map),
                         what, &c->bp->map);
    if (r < 0 && r != -ENOMEM) {
        /* a missing or mistyped value in the map is bad input too */
        char msg[VMSHIFT_ERROR_MAX];

        snprintf (msg, sizeof msg, "%s", vmshift_internal_error_msg ());
        r = set_error (EINVAL, "%s", msg);
    }
    return r;
}

static int
wf_bp_ip (struct bp_ctx *c, const struct json_val *root)
{
    char *s = NULL;
    int r = wf_bp_str (c, "", root, "ip", false, &s);

    if (r < 0 || !s) {
        return r;
    }
    if (strcmp (s, "retain") == 0) {
        c->bp->ip = WF_BP_IP_RETAIN;
    } else if (strcmp (s, "dhcp") == 0) {
        c->bp->ip = WF_BP_IP_DHCP;
    } else if (strcmp (s, "none") == 0) {
        c->bp->ip = WF_BP_IP_NONE;
    } else {
        r = BP_ERR (c, "ip", "'%s' is not retain, dhcp or none", s);
    }
    free (s);
    return r;
}

static int
wf_bp_groups (struct bp_ctx *c, const struct json_val *root)
{
    static const char *const keys[] = { "name", "boot_order", "boot_delay",
                                        "vms", "folder", NULL };
    const struct json_val *g = vs_json_get (root, "groups");
    struct wf_blueprint *bp = c->bp;
    size_t n;
    int r;

    if (!g) {
        return BP_ERR (c, "groups", "missing");
    }
    if (vs_json_type (g) != JSON_ARRAY || (n = vs_json_array_len (g)) == 0) {
        return BP_ERR (c, "groups", "expected a non-empty array");
    }
    if (n > WF_BP_MAX_GROUPS) {
        return BP_ERR (c, "groups", "more than %d groups", WF_BP_MAX_GROUPS);
    }
    if (!(bp->groups = calloc (n, sizeof *bp->groups))) {
        return set_error (ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        const struct json_val *gi = vs_json_array_at (g, i);
        struct wf_bp_group *gr = &bp->groups[i];
        uint64_t order = WF_BP_BOOT_ORDER_DEFAULT, delay = 0;
        char path[64];

        snprintf (path, sizeof path, "groups[%zu]", i);
        bp->ngroups = i + 1;
        if ((r = wf_bp_keys (c, path, gi, keys)) < 0 ||
            (r = wf_bp_str (c, path, gi, "name", true, &gr->name)) < 0 ||
            (r = wf_bp_uint (c, path, gi, "boot_order", 1, 5, &order)) < 0 ||
            (r = wf_bp_uint (c, path, gi, "boot_delay", 0,
                             WF_BP_BOOT_DELAY_MAX, &delay)) < 0) {
            return r;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp (bp->groups[j].name, gr->name) == 0) {
                return BP_ERR (c, path, "group name '%s' used twice",
                               gr->name);
            }
        }
        gr->boot_order = (int) order;
        gr->boot_delay = (unsigned) delay;
        if ((r = wf_bp_str (c, path, gi, "folder", false, &gr->folder)) < 0) {
            return r;
        }
        if (gr->folder) {
            char fp[80];

            snprintf (fp, sizeof fp, "%s.folder", path);
            if (!bp->vcenter) {
                return BP_ERR (c, fp, "only with source.vcenter");
            }
            if (gr->folder[0] != '/') {
                return BP_ERR (c, fp, "'%s' is not a vCenter folder path "
                               "(\"/DC/vm/NAME\")", gr->folder);
            }
        }
        if (gr->folder && !vs_json_get (gi, "vms")) {
            continue;
        }
        if (!vs_json_get (gi, "vms") ||
            vs_json_type (vs_json_get (gi, "vms")) != JSON_ARRAY) {
            return BP_ERR (c, path, "'vms' must be an array of VM names");
        }
    }
    return 0;
}

/* Which group lists VM 'name'; -EINVAL if two do (naming both) or none. */
static int
wf_bp_group_of (struct bp_ctx *c, const struct json_val *root,
                const char *name, size_t *out)
{
    const struct json_val *g = vs_json_get (root, "groups");
    bool found = false;

    for (size_t i = 0; i < c->bp->ngroups; i++) {
        const struct json_val *vms = vs_json_get (vs_json_array_at (g, i),
                                                  "vms");

        for (size_t j = 0; j < vs_json_array_len (vms); j++) {
            const char *s = vs_json_string_value (vs_json_array_at (vms, j));

            if (!s || strcmp (s, name) != 0) {
                continue;
            }
            if (found && *out == i) {
                return BP_ERR (c, "groups", "VM '%s' is listed twice in "
                               "group '%s'", name, c->bp->groups[i].name);
            }
            if (found) {
                char path[64];

                snprintf (path, sizeof path, "groups[%zu].vms[%zu]", i, j);
                return BP_ERR (c, path, "VM '%s' is also in group '%s'", name,
                               c->bp->groups[*out].name);
            }
            found = true;
            *out = i;
        }
    }
    for (size_t i = 0; !found && i < c->bp->ngroups; i++) {
        /* settings of a VM a folder group is to bring in: its group is
         * known once the folders are read (wf_blueprint_expand writes it
         * in; the text is parsed again then) */
        if (c->bp->groups[i].folder) {
            *out = i;
            return 0;
        }
    }
    if (!found) {
        char path[300];

        snprintf (path, sizeof path, "vms.%s", name);
        return BP_ERR (c, path, "VM is in no group");
    }
    return 0;
}

static int
wf_bp_one_vm (struct bp_ctx *c, const struct json_val *root, const char *key,
              const struct json_val *v, struct wf_bp_vm *vm)
{
    static const char *const keys[] = {
        "vmx", "cpus", "memory_mib", "power_on", "retain_mac", "target_name",
        "format", "vmid", NULL,
    };
    char path[300];
    uint64_t cpus = 0, mem = 0, vmid = 0;
    bool rm = false;
    int r;

    snprintf (path, sizeof path, "vms.%s", key);
    vm->power_on = true;
    vm->retain_mac = -1;
    if (!(vm->name = strdup (key))) {
        return set_error (ENOMEM, "out of memory");
    }
    if ((r = wf_bp_keys (c, path, v, keys)) < 0 ||
        (r = wf_bp_str (c, path, v, "vmx", c->bp->vcenter == NULL,
                        &vm->vmx)) < 0 ||
        (r = wf_bp_str (c, path, v, "target_name", false,
                        &vm->target_name)) < 0 ||
        (r = wf_bp_str (c, path, v, "format", false, &vm->format)) < 0 ||
        (r = wf_bp_uint (c, path, v, "cpus", 1, 768, &cpus)) < 0 ||
        (r = wf_bp_uint (c, path, v, "memory_mib", 4, 24u << 20, &mem)) < 0 ||
        (r = wf_bp_uint (c, path, v, "vmid", 100, 999999999, &vmid)) < 0 ||
        (r = wf_bp_bool (c, path, v, "power_on", &vm->power_on)) < 0) {
        return r;
    }
    if (vs_json_get (v, "retain_mac")) {
        if ((r = wf_bp_bool (c, path, v, "retain_mac", &rm)) < 0) {
            return r;
        }
        vm->retain_mac = rm;
    }
    if (vm->vmx && c->bp->vcenter) {
        char vp[320];

        snprintf (vp, sizeof vp, "%s.vmx", path);
        return BP_ERR (c, vp, "only with source.datastore (with "
                       "source.vcenter the VM is the one named '%s' there)",
                       key);
    }
    vm->cpus = (unsigned) cpus;
    vm->memory_mib = mem;
    vm->vmid = (unsigned) vmid;
    if (vm->format && !wf_bp_format_ok (vm->format)) {
        char fp[320];

        snprintf (fp, sizeof fp, "%s.format", path);
        return BP_ERR (c, fp, "'%s' is not qcow2, raw, vhdx or vmdk",
                       vm->format);
    }
    if (!vm->target_name && !(vm->target_name = strdup (key))) {
        return set_error (ENOMEM, "out of memory");
    }
    {
        char tp[320];

        snprintf (tp, sizeof tp, "%s%s", path,
                  vs_json_get (v, "target_name") ? ".target_name" : "");
        if ((r = wf_bp_safe_name (c, tp, vm->target_name)) < 0) {
            return r;
        }
    }
    return wf_bp_group_of (c, root, key, &vm->group);
}

static int
wf_bp_cmp_vm (const void *a, const void *b, void *opaque)
{
    const struct wf_bp_vm *x = a, *y = b;
    const struct wf_blueprint *bp = opaque;
    int ox = bp->groups[x->group].boot_order;
    int oy = bp->groups[y->group].boot_order;

    if (ox != oy) {
        return ox - oy;
    }
    return x->group < y->group ? -1 : x->group > y->group;
}

static int
wf_bp_vms (struct bp_ctx *c, const struct json_val *root)
{
    const struct json_val *vms = vs_json_get (root, "vms");
    struct wf_blueprint *bp = c->bp;
    const struct json_val *g = vs_json_get (root, "groups");
    size_t n = 0;
    bool folders = false;
    int r;

    for (size_t i = 0; i < bp->ngroups; i++) {
        folders |= bp->groups[i].folder != NULL;
    }
    /* with folder groups "vms" only holds settings, and may be empty */
    if (!vms && !folders) {
        return BP_ERR (c, "vms", "missing");
    }
    if (vms && (vs_json_type (vms) != JSON_OBJECT ||
                ((n = vs_json_object_len (vms)) == 0 && !folders))) {
        return BP_ERR (c, "vms", "expected a non-empty object of VM name -> "
                       "settings");
    }
    if (n > WF_BP_MAX_VMS) {
        return BP_ERR (c, "vms", "more than %d VMs", WF_BP_MAX_VMS);
    }
    if (!(bp->vms = calloc (n ? n : 1, sizeof *bp->vms))) {
        return set_error (ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        const char *key;
        const struct json_val *v = vs_json_object_at (vms, i, &key);

        bp->nvms = i + 1;
        for (size_t j = 0; j < i; j++) {
            if (strcmp (bp->vms[j].name, key) == 0) {
                return BP_ERR (c, "vms", "VM '%s' given twice", key);
            }
        }
        if ((r = wf_bp_one_vm (c, root, key, v, &bp->vms[i])) < 0) {
            return r;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcasecmp (bp->vms[j].target_name, bp->vms[i].target_name)
                == 0) {
                char path[300];

                snprintf (path, sizeof path, "vms.%s%s", key,
                          vs_json_get (v, "target_name") ? ".target_name"
                          : "");
                return BP_ERR (c, path, "target name '%s' is also VM '%s''s",
                               bp->vms[i].target_name, bp->vms[j].name);
            }
        }
    }
    /* Every name in a group must be a VM. */
    for (size_t i = 0; i < bp->ngroups; i++) {
        const struct json_val *gv = vs_json_get (vs_json_array_at (g, i),
                                                 "vms");

        for (size_t j = 0; j < vs_json_array_len (gv); j++) {
            const char *s = vs_json_string_value (vs_json_array_at (gv, j));
            char path[64];
            bool known = false;

            snprintf (path, sizeof path, "groups[%zu].vms[%zu]", i, j);
            if (!s) {
                return BP_ERR (c, path, "expected a VM name");
            }
            for (size_t k = 0; k < bp->nvms && !known; k++) {
                known = strcmp (bp->vms[k].name, s) == 0;
            }
            if (!known) {
                return BP_ERR (c, path, "'%s' is not in \"vms\"", s);
            }
        }
    }
    qsort_r (bp->vms, bp->nvms, sizeof *bp->vms, wf_bp_cmp_vm, bp);
    return 0;
}

static int
wf_bp_root (struct bp_ctx *c, const struct json_val *root)
{
    static const char *const keys[] = {
        "name", "source", "target", "network_map", "ip", "concurrency",
        "groups", "vms", "comment", NULL,
    };
    uint64_t conc = WF_BP_CONCURRENCY_DEFAULT;
    struct wf_blueprint *bp = c->bp;
    int r;

    if ((r = wf_bp_keys (c, "top level", root, keys)) < 0 ||
        (r = wf_bp_str (c, "", root, "name", true, &bp->name)) < 0 ||
        (r = wf_bp_safe_name (c, "name", bp->name)) < 0 ||
        (r = wf_bp_source (c, root)) < 0 ||
        (r = wf_bp_target (c, root)) < 0 ||
        (r = wf_bp_netmap (c, root)) < 0 ||
        (r = wf_bp_ip (c, root)) < 0 ||
        (r = wf_bp_uint (c, "", root, "concurrency", 1,
                         WF_BP_CONCURRENCY_MAX, &conc)) < 0 ||
        (r = wf_bp_groups (c, root)) < 0) {
        return r;
    }
    {
        char *comment = NULL;

        r = wf_bp_str (c, "", root, "comment", false, &comment);
        free (comment);
        if (r < 0) {
            return r;
        }
    }
    bp->concurrency = (unsigned) conc;
    if ((r = wf_bp_vms (c, root)) < 0) {
        return r;
    }
    if (wf_target_of (bp->hypervisor)->needs_vmid) {
        for (size_t i = 0; i < bp->nvms; i++) {
            if (bp->vms[i].vmid == 0 && bp->vmid_start == 0) {
                char path[300];

                snprintf (path, sizeof path, "vms.%s", bp->vms[i].name);
                return BP_ERR (c, path, "Proxmox needs a VM id: set 'vmid' "
                               "or target.vmid_start");
            }
        }
    }
    return 0;
}

int
wf_blueprint_parse (const char *buf, size_t len, const char *what,
                    struct wf_blueprint *out)
{
    struct json_val *root = NULL;
    struct bp_ctx c = { .what = what ? what : "blueprint", .bp = out };
    int r;

    memset (out, 0, sizeof *out);
    hv_netmap_init (&out->map);
    if (len > WF_BP_MAX_BYTES) {
        return set_error (EFBIG, "%s: a blueprint may be at most %d bytes",
                          c.what, WF_BP_MAX_BYTES);
    }
    r = vs_json_parse (buf, len, c.what, &root);
    if (r < 0) {
        /* malformed input is bad input, like any other blueprint error */
        char msg[VMSHIFT_ERROR_MAX];

        snprintf (msg, sizeof msg, "%s", vmshift_internal_error_msg ());
        return set_error (EINVAL, "%s", msg);
    }
    if (vs_json_type (root) != JSON_OBJECT) {
        r = BP_ERR (&c, "top level", "expected an object");
    } else {
        r = wf_bp_root (&c, root);
    }
    vs_json_free (root);
    if (r < 0) {
        struct vmshift_error_save es;

        error_save (&es);
        wf_blueprint_release (out);
        error_restore (&es);
    }
    return r;
}

void
wf_blueprint_release (struct wf_blueprint *bp)
{
    if (!bp) {
        return;
    }
    free (bp->name);
    free (bp->datastore);
    free (bp->vcenter);
    free (bp->uri);
    free (bp->format);
    free (bp->location);
    free (bp->test_location);
    for (size_t i = 0; i < bp->nlocations; i++) {
        free (bp->locations[i].volume);
        free (bp->locations[i].location);
    }
    free (bp->locations);
    free (bp->namespace_);
    free (bp->host_path);
    free (bp->storage);
    free (bp->network_map);
    hv_netmap_release (&bp->map);
    for (size_t i = 0; i < bp->ngroups; i++) {
        free (bp->groups[i].name);
        free (bp->groups[i].folder);
    }
    free (bp->groups);
    for (size_t i = 0; i < bp->nvms; i++) {
        free (bp->vms[i].name);
        free (bp->vms[i].vmx);
        free (bp->vms[i].target_name);
        free (bp->vms[i].format);
    }
    free (bp->vms);
    memset (bp, 0, sizeof *bp);
    hv_netmap_init (&bp->map);
}

/* ----------------------------------------------- folder groups expanded */

static bool
wf_bp_listed (const struct json_val *arr, const char *name)
{
    for (size_t i = 0; i < vs_json_array_len (arr); i++) {
        const char *s = vs_json_string_value (vs_json_array_at (arr, i));

        if (s && strcmp (s, name) == 0) {
            return true;
        }
    }
    return false;
}

/* Is pick i the first of its name, and named nowhere in the text? */
static bool
wf_bp_pick_new (const struct json_val *root, const struct wf_bp_pick *picks,
                size_t i)
{
    const struct json_val *g = vs_json_get (root, "groups");

    for (size_t j = 0; j < i; j++) {
        if (strcmp (picks[j].name, picks[i].name) == 0) {
            return false;
        }
    }
    for (size_t j = 0; j < vs_json_array_len (g); j++) {
        if (wf_bp_listed (vs_json_get (vs_json_array_at (g, j), "vms"),
                          picks[i].name)) {
            return false;
        }
    }
    return true;
}

static int
wf_bp_raw (struct jsonw *w, const struct json_val *v)
{
    char *s = vs_json_print (v);

    if (!s) {
        return -ENOMEM;
    }
    vs_jw_raw (w, s);
    free (s);
    return 0;
}

static int
wf_bp_expand_group (struct jsonw *w, const struct json_val *root,
                    const struct json_val *gv, size_t gi,
                    const struct wf_bp_pick *picks, size_t n)
{
    const struct json_val *vms = vs_json_get (gv, "vms");
    const char *key;
    int r = 0;

    vs_jw_obj_begin (w);
    for (size_t k = 0; r == 0 && vs_json_object_at (gv, k, &key); k++) {
        if (strcmp (key, "folder") == 0 || strcmp (key, "vms") == 0) {
            continue;
        }
        vs_jw_key (w, key);
        r = wf_bp_raw (w, vs_json_object_at (gv, k, &key));
    }
    vs_jw_key (w, "vms");
    vs_jw_arr_begin (w);
    for (size_t k = 0; r == 0 && k < vs_json_array_len (vms); k++) {
        r = wf_bp_raw (w, vs_json_array_at (vms, k));
    }
    for (size_t i = 0; r == 0 && i < n; i++) {
        if (picks[i].group == gi && wf_bp_pick_new (root, picks, i)) {
            vs_jw_str (w, picks[i].name);
        }
    }
    vs_jw_arr_end (w);
    vs_jw_obj_end (w);
    return r;
}

static void
wf_bp_expand_vms (struct jsonw *w, const struct json_val *root,
                  const struct json_val *vms, const struct wf_bp_pick *picks,
                  size_t n, int *r)
{
    const char *key;

    vs_jw_key (w, "vms");
    vs_jw_obj_begin (w);
    for (size_t k = 0; *r == 0 && vs_json_object_at (vms, k, &key); k++) {
        vs_jw_key (w, key);
        *r = wf_bp_raw (w, vs_json_object_at (vms, k, &key));
    }
    for (size_t i = 0; *r == 0 && i < n; i++) {
        if (wf_bp_pick_new (root, picks, i) &&
            !vs_json_get (vms, picks[i].name)) {
            vs_jw_key (w, picks[i].name);
            vs_jw_raw (w, "{}");
        }
    }
    vs_jw_obj_end (w);
}

int
wf_blueprint_expand (const char *buf, size_t len, const char *what,
                     const struct wf_bp_pick *picks, size_t n, char **out)
{
    struct json_val *root = NULL;
    const struct json_val *groups;
    struct sbuf b;
    struct jsonw w;
    const char *key;
    bool had_vms = false;
    int r;

    *out = NULL;
    if ((r = vs_json_parse (buf, len, what, &root)) < 0) {
        return r;
    }
    groups = vs_json_get (root, "groups");
    vs_sbuf_init (&b, WF_BP_MAX_BYTES);
    vs_jw_init (&w, &b, false);
    vs_jw_obj_begin (&w);
    for (size_t k = 0; r == 0 && vs_json_object_at (root, k, &key); k++) {
        const struct json_val *v = vs_json_object_at (root, k, &key);

        if (strcmp (key, "groups") == 0 && vs_json_type (v) == JSON_ARRAY) {
            vs_jw_key (&w, key);
            vs_jw_arr_begin (&w);
            for (size_t i = 0; r == 0 && i < vs_json_array_len (groups); i++) {
                r = wf_bp_expand_group (&w, root, vs_json_array_at (groups, i),
                                        i, picks, n);
            }
            vs_jw_arr_end (&w);
        } else if (strcmp (key, "vms") == 0) {
            had_vms = true;
            wf_bp_expand_vms (&w, root, v, picks, n, &r);
        } else {
            vs_jw_key (&w, key);
            r = wf_bp_raw (&w, v);
        }
    }
    if (r == 0 && !had_vms) {
        wf_bp_expand_vms (&w, root, NULL, picks, n, &r);
    }
    vs_jw_obj_end (&w);
    vs_json_free (root);
    if (r < 0) {
        vs_sbuf_release (&b);
        return set_error (ENOMEM, "out of memory");
    }
    *out = vs_sbuf_detach (&b, NULL);
    return *out ? 0 : set_error (ENOMEM, "out of memory");
}

const char *
wf_bp_ip_name (enum wf_bp_ip ip)
{
    switch (ip) {
    case WF_BP_IP_RETAIN: return "retain";
    case WF_BP_IP_DHCP: return "dhcp";
    case WF_BP_IP_NONE: return "none";
    }
    return "?";
}

const char *
wf_bp_default_format (enum hv_target t)
{
    const struct hv_target_driver *d = hv_target_of (t);

    return d && d->default_format ? d->default_format : "raw";
}

static const struct wf_target wf_targets[] = {
    [HV_TARGET_HYPERV] = { "ps1", WF_REG_PS1, WF_DP_FOLDER, false },
    [HV_TARGET_LIBVIRT] = { "xml", WF_REG_API, WF_DP_FOLDER, false },
    [HV_TARGET_PROXMOX] = { "conf", WF_REG_PVE, WF_DP_STORAGE, true },
    [HV_TARGET_KUBEVIRT] = { "yaml", WF_REG_KUBECTL, WF_DP_EXPORT, false },
};

const struct wf_target *
wf_target_of (enum hv_target t)
{
    if ((size_t) t >= sizeof wf_targets / sizeof wf_targets[0] ||
        !wf_targets[t].def_ext) {
        return NULL;
    }
    return &wf_targets[t];
}

char *
wf_bp_target_name (const struct wf_bp_vm *vm, bool test)
{
    char *s = NULL;

    if (asprintf (&s, "%s%s", vm->target_name, test ? "-vmshift-test" : "")
        < 0) {
        set_error (ENOMEM, "out of memory");
        return NULL;
    }
    return s;
}
