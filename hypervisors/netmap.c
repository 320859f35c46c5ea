/* The network map and overrides (JSON, parsed with engine/base/json.h).
 *
 *   {
 *     "networks": {
 *       "VM Network": {"target": "br0", "vlan": 10},
 *       "Backup":     "br1",
 *       "*":          {"target": "br-default"}
 *     },
 *     "retain_mac": true,
 *     "vcpus": 4, "cores_per_socket": 2, "memory_mib": 8192,
 *     "disk_format": "raw"  or  {"libvirt": "raw", "proxmox": "qcow2"},
 *     "disk_bus": "auto" | "virtio" | "sata" | "scsi",
 *     "nic_model": "auto" | "virtio" | "e1000e",
 *     "comment": "free text"
 *   }
 *
 * Source names match exactly first, then ignoring case (vSphere port
 * group names are unique regardless of case); "*" catches the rest.
 * Unknown keys are errors: a misspelt "retain_macs" must not silently
 * drop the MAC addresses of a whole estate.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "engine/base/json.h"
#include "formats/formats.h"
#include "hypervisors/hv.h"

#define NETMAP_MAX_BYTES (1 << 20)
#define NETMAP_MAX_NAME 255

void
hv_netmap_init (struct hv_netmap *m)
{
    memset (m, 0, sizeof *m);
    m->retain_mac = -1;
}

void
hv_netmap_release (struct hv_netmap *m)
{
    for (size_t i = 0; i < m->nets.len; i++) {
        free (m->nets.ptr[i].source);
        free (m->nets.ptr[i].target);
    }
    hv_netmap_vec_reset (&m->nets);
    for (size_t i = 0; i < 5; i++) {
        free (m->disk_format[i]);
    }
    hv_netmap_init (m);
}

static int
netmap_target_str (const char *what, const char *src, const char *t)
{
    size_t n = strlen (t);

    if (n == 0 || n > NETMAP_MAX_NAME) {
        return set_error (EINVAL, "%s: network '%s': target must be 1 to %d "
                          "characters", what, src, NETMAP_MAX_NAME);
    }
    for (const unsigned char *p = (const unsigned char *) t; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            return set_error (EINVAL, "%s: network '%s': target holds a "
                              "control character", what, src);
        }
    }
    return 0;
}

static int
netmap_entry (const char *what, const char *src, const struct json_val *v,
              struct hv_netmap_entry *e)
{
    const char *key;
    int64_t vlan = 0;
    int r;

    if (vs_json_type (v) == JSON_STRING) {
        e->target = hv_strdup (vs_json_string_value (v));
        return e->target ? netmap_target_str (what, src, e->target) : -ENOMEM;
    }
    if (vs_json_type (v) != JSON_OBJECT) {
        return set_error (EINVAL, "%s: network '%s': expected a target name "
                          "or {\"target\": ..., \"vlan\": N}", what, src);
    }
    for (size_t i = 0; vs_json_object_at (v, i, &key) != NULL; i++) {
        if (strcmp (key, "target") != 0 && strcmp (key, "vlan") != 0) {
            return set_error (EINVAL, "%s: network '%s': unknown key '%s'",
                              what, src, key);
        }
    }
    r = vs_json_get_str (v, "target", &e->target);
    if (r == 0) {
        r = vs_json_opt_i64 (v, "vlan", &vlan);
    }
    if (r < 0) {
        error_prepend ("%s: network '%s': ", what, src);
        return r;
    }
    if (vlan < 0 || vlan > 4094) {
        return set_error (EINVAL, "%s: network '%s': vlan %lld is not from 0 "
                          "(none) to 4094", what, src, (long long) vlan);
    }
    e->vlan = (int) vlan;
    return netmap_target_str (what, src, e->target);
}

static int
netmap_networks (const char *what, const struct json_val *nets,
                 struct hv_netmap *m)
{
    const char *src;
    const struct json_val *v;

    if (vs_json_type (nets) != JSON_OBJECT) {
        return set_error (EINVAL, "%s: \"networks\" must be an object of "
                          "source network -> target", what);
    }
    for (size_t i = 0; (v = vs_json_object_at (nets, i, &src)) != NULL; i++) {
        struct hv_netmap_entry e = { 0 };
        int r;

        if (hv_netmap_find (m, src) && strcmp (src, "*") != 0 &&
            strcmp (hv_netmap_find (m, src)->source, src) == 0) {
            return set_error (EINVAL, "%s: network '%s' is mapped twice",
                              what, src);
        }
        r = netmap_entry (what, src, v, &e);
        if (r == 0 && (e.source = hv_strdup (src)) == NULL) {
            r = -ENOMEM;
        }
        if (r == 0 && hv_netmap_vec_append (&m->nets, e) < 0) {
            r = -ENOMEM;
        }
        if (r < 0) {
            free (e.source);
            free (e.target);
            return r;
        }
    }
    return 0;
}

static int
netmap_choice (const char *what, const struct json_val *root,
               const char *key, const char *const *names,
               const enum hv_bus_choice *vals, size_t n,
               enum hv_bus_choice *out)
{
    char *s = NULL;
    int r = vs_json_opt_str (root, key, &s);

    if (r < 0) {
        error_prepend ("%s: ", what);
        return r;
    }
    if (s == NULL) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (hv_str_ieq (s, names[i])) {
            *out = vals[i];
            free (s);
            return 0;
        }
    }
    r = set_error (EINVAL, "%s: \"%s\": '%s' is not one of the choices",
                   what, key, s);
    free (s);
    return r;
}

static int
netmap_choices (const char *what, const struct json_val *root,
                struct hv_netmap *m)
{
    static const char *const bus_names[] = { "auto", "virtio", "sata",
                                             "scsi" };
    static const enum hv_bus_choice bus_vals[] = {
        HV_CHOICE_AUTO, HV_CHOICE_VIRTIO, HV_CHOICE_SATA, HV_CHOICE_SCSI,
    };
    static const char *const nic_names[] = { "auto", "virtio", "e1000e" };
    static const enum hv_bus_choice nic_vals[] = {
        HV_CHOICE_AUTO, HV_CHOICE_VIRTIO, HV_CHOICE_E1000E,
    };
    int r = netmap_choice (what, root, "disk_bus", bus_names, bus_vals, 4,
                           &m->disk_bus);

    return r < 0 ? r : netmap_choice (what, root, "nic_model", nic_names,
                                      nic_vals, 3, &m->nic_model);
}

/* A format some target runs disks in (the targets' tables, in the order
 * of the format table). */
/* A format some target runs disks in (the targets' tables, listed in
 * the order of the format table). */
static bool
netmap_format_ok (const char *fmt)
{
    for (size_t i = 0; hv_target_at (i); i++) {
        if (hv_target_allows (hv_target_at (i), fmt)) {
            return true;
        }
    }
    return false;
}

static int
netmap_format_name (const char *what, const char *fmt)
{
    char list[128] = "";
    size_t n = 0, k = 0;
    const struct fmt_driver *f;

    if (netmap_format_ok (fmt)) {
        return 0;
    }
    for (size_t i = 0; (f = fmt_driver_at (i)) != NULL; i++) {
        n += netmap_format_ok (f->name);
    }
    for (size_t i = 0; (f = fmt_driver_at (i)) != NULL; i++) {
        if (netmap_format_ok (f->name)) {
            vs_str_list_add (list, sizeof list, k++, n, "", f->name);
        }
    }
    return set_error (EINVAL, "%s: disk_format '%s' is not %s", what, fmt,
                      list);
}

static int
netmap_formats (const char *what, const struct json_val *root,
                struct hv_netmap *m)
{
    const struct json_val *f = vs_json_get (root, "disk_format");
    const struct hv_target_driver *t;
    const char *key;
    const struct json_val *v;

    if (f == NULL || vs_json_type (f) == JSON_NULL) {
        return 0;
    }
    if (vs_json_type (f) == JSON_STRING) {
        int r = netmap_format_name (what, vs_json_string_value (f));

        for (size_t i = 0; r == 0 && (t = hv_target_at (i)) != NULL; i++) {
            if ((m->disk_format[t->id] = hv_strdup (vs_json_string_value (f)))
                == NULL) {
                return -ENOMEM;
            }
        }
        return r;
    }
    for (size_t i = 0; (v = vs_json_object_at (f, i, &key)) != NULL; i++) {
        t = NULL;
        for (size_t j = 0; hv_target_at (j); j++) {
            if (strcmp (key, hv_target_at (j)->name) == 0) {
                t = hv_target_at (j);
            }
        }
        if (t == NULL || vs_json_type (v) != JSON_STRING) {
            return set_error (EINVAL, "%s: disk_format: '%s' is not a target "
                              "name with a format string", what, key);
        }
        free (m->disk_format[t->id]);
        if ((m->disk_format[t->id] = hv_strdup (vs_json_string_value (v)))
            == NULL) {
            return -ENOMEM;
        }
        if (netmap_format_name (what, m->disk_format[t->id]) < 0) {
            return -EINVAL;
        }
    }
    return vs_json_type (f) == JSON_OBJECT ? 0 :
        set_error (EINVAL, "%s: disk_format must be a string or an object",
                   what);
}

static int
netmap_numbers (const char *what, const struct json_val *root,
                struct hv_netmap *m)
{
    uint64_t vcpus = 0, cores = 0, mem = 0;
    bool retain = false;
    int r;

    if ((r = vs_json_opt_u64 (root, "vcpus", &vcpus)) < 0 ||
        (r = vs_json_opt_u64 (root, "cores_per_socket", &cores)) < 0 ||
        (r = vs_json_opt_u64 (root, "memory_mib", &mem)) < 0) {
        error_prepend ("%s: ", what);
        return r;
    }
    if (vs_json_get (root, "retain_mac") != NULL) {
        if ((r = vs_json_get_bool (root, "retain_mac", &retain)) < 0) {
            error_prepend ("%s: ", what);
            return r;
        }
        m->retain_mac = retain;
    }
    if (vcpus > HV_MAX_VCPUS || cores > HV_MAX_VCPUS ||
        (cores && vcpus && vcpus % cores != 0)) {
        return set_error (EINVAL, "%s: vcpus %llu / cores_per_socket %llu: "
                          "vcpus must be at most %d and a multiple of cores",
                          what, (unsigned long long) vcpus,
                          (unsigned long long) cores, HV_MAX_VCPUS);
    }
    if (mem && (mem < HV_MIN_MEMORY_MIB || mem > HV_MAX_MEMORY_MIB)) {
        return set_error (EINVAL, "%s: memory_mib %llu is out of range", what,
                          (unsigned long long) mem);
    }
    m->vcpus = (unsigned) vcpus;
    m->cores_per_socket = (unsigned) cores;
    m->memory_mib = mem;
    return 0;
}

static int
netmap_check_keys (const char *what, const struct json_val *root)
{
    static const char *const known[] = {
        "networks", "retain_mac", "vcpus", "cores_per_socket", "memory_mib",
        "disk_format", "disk_bus", "nic_model", "comment",
        "guest",        /* vmshift guest-scripts (hypervisors/guest-map.c) */
    };
    const char *key;

    if (vs_json_type (root) != JSON_OBJECT) {
        return set_error (EINVAL, "%s: expected a JSON object", what);
    }
    for (size_t i = 0; vs_json_object_at (root, i, &key) != NULL; i++) {
        size_t k = 0;

        while (k < sizeof known / sizeof known[0] && strcmp (key, known[k])) {
            k++;
        }
        if (k == sizeof known / sizeof known[0]) {
            return set_error (EINVAL, "%s: unknown key '%s'", what, key);
        }
    }
    return 0;
}

int
hv_netmap_parse (const char *buf, size_t len, const char *what,
                 struct hv_netmap *out)
{
    struct json_val *root = NULL;
    const struct json_val *nets;
    struct hv_netmap m;
    int r;

    hv_netmap_init (&m);
    if (len > NETMAP_MAX_BYTES) {
        return set_error (EFBIG, "%s: a network map may be at most %d bytes",
                          what, NETMAP_MAX_BYTES);
    }
    r = vs_json_parse (buf, len, what, &root);
    if (r == 0) {
        r = netmap_check_keys (what, root);
    }
    if (r == 0 && (nets = vs_json_get (root, "networks")) != NULL) {
        r = netmap_networks (what, nets, &m);
    }
    if (r == 0 && (r = netmap_numbers (what, root, &m)) == 0 &&
        (r = netmap_formats (what, root, &m)) == 0) {
        r = netmap_choices (what, root, &m);
    }
    vs_json_free (root);
    if (r < 0) {
        hv_netmap_release (&m);
        return r;
    }
    *out = m;
    return 0;
}

const struct hv_netmap_entry *
hv_netmap_find (const struct hv_netmap *m, const char *network)
{
    const struct hv_netmap_entry *any = NULL, *icase = NULL;

    for (size_t i = 0; i < m->nets.len; i++) {
        const struct hv_netmap_entry *e = &m->nets.ptr[i];

        if (strcmp (e->source, network) == 0) {
            return e;
        }
        if (icase == NULL && hv_str_ieq (e->source, network)) {
            icase = e;
        }
        if (strcmp (e->source, "*") == 0) {
            any = e;
        }
    }
    return icase ? icase : any;
}
