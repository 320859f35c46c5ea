/* The network map as the guest scripts see it.
 *
 * The map is shared with 'vmshift define --network-map' (which reads
 * "networks" and "retain_mac"); the guest scripts read "retain_mac" and
 * their own section "guest" (docs/guest-network.md):
 *
 *   {"networks": {"VM Network": {"target": "br0", "vlan": 10}},
 *    "retain_mac": true,
 *    "guest": {"mode": "retain", "remove_vmware_tools": true,
 *              "reboot": "auto", "hook": "auto",
 *              "nics": [{"mac": "00:50:56:aa:bb:cc", "name": "ens192",
 *                        "addresses": ["192.0.2.10/24"],
 *                        "gateway4": "192.0.2.1", "dns": ["192.0.2.53"],
 *                        "search": ["example.com"], "mtu": 9000,
 *                        "routes": [{"to": "10.9.0.0/16",
 *                                    "via": "192.0.2.254", "metric": 50}]}]}}
 *
 * Unknown top-level keys belong to other readers and are ignored;
 * unknown keys under "guest" are refused, so a typo cannot silently
 * drop an override.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "engine/base/json.h"
#include "hypervisors/guest.h"

#define HV_PATH_MAX 96

struct hv_guest_ctx {
    const char *what;           /* "'map.json'" */
    char path[HV_PATH_MAX];     /* "guest.nics[0].dns[1]" for messages */
    char where[HV_PATH_MAX + 320];      /* "'map.json': guest.nics[0]" */
};

/* "'map.json': guest.nics[0].dns[1]", for the validators' messages. */
static const char *
hv_guest_where (struct hv_guest_ctx *c)
{
    snprintf (c->where, sizeof c->where, "%.300s: %s", c->what, c->path);
    return c->where;
}

static const char *const hv_guest_mode_names[] = {
    [HV_GUEST_MODE_RETAIN] = "retain", [HV_GUEST_MODE_DHCP] = "dhcp",
    [HV_GUEST_MODE_KEEP] = "keep", [HV_GUEST_MODE_SCRIPT] = "script",
};

int
hv_guest_mode_from_name (const char *s, enum hv_guest_mode *out)
{
    if (strcmp (s, "none") == 0) {
        *out = HV_GUEST_MODE_KEEP;
        return 0;
    }
    for (int m = HV_GUEST_MODE_RETAIN; m <= HV_GUEST_MODE_SCRIPT; m++) {
        if (strcmp (s, hv_guest_mode_names[m]) == 0) {
            *out = (enum hv_guest_mode) m;
            return 0;
        }
    }
    return set_error (EINVAL, "unknown guest network mode '%.32s' (expected "
                      "retain, dhcp, keep, none or script)", s);
}

const char *
hv_guest_mode_name (enum hv_guest_mode m)
{
    if (m < HV_GUEST_MODE_RETAIN || m > HV_GUEST_MODE_SCRIPT) {
        return "retain";
    }
    return hv_guest_mode_names[m];
}

int
hv_guest_reboot_from_name (const char *s, enum hv_guest_reboot *out)
{
    if (strcmp (s, "auto") == 0) {
        *out = HV_GUEST_REBOOT_AUTO;
    } else if (strcmp (s, "always") == 0) {
        *out = HV_GUEST_REBOOT_ALWAYS;
    } else if (strcmp (s, "never") == 0) {
        *out = HV_GUEST_REBOOT_NEVER;
    } else {
        return set_error (EINVAL, "unknown reboot policy '%.32s' (expected "
                          "auto, always or never)", s);
    }
    return 0;
}

static int
hv_guest_err (struct hv_guest_ctx *c, int err, const char *problem)
{
    return set_error (err, "%s: %s: %s", c->what, c->path, problem);
}

/* Set c->path to base + suffix (printf-style suffix). */
static void hv_guest_path (struct hv_guest_ctx *c, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

static void
hv_guest_path (struct hv_guest_ctx *c, const char *fmt, ...)
{
    va_list ap;

    va_start (ap, fmt);
    vsnprintf (c->path, sizeof c->path, fmt, ap);
    va_end (ap);
}

static int
hv_guest_keys (struct hv_guest_ctx *c, const struct json_val *obj,
               const char *const *keys)
{
    const char *k;

    if (vs_json_type (obj) != JSON_OBJECT) {
        return hv_guest_err (c, EINVAL, "expected an object");
    }
    for (size_t i = 0; vs_json_object_at (obj, i, &k); i++) {
        size_t j = 0;

        while (keys[j] && strcmp (keys[j], k) != 0) {
            j++;
        }
        if (keys[j] == NULL) {
            return set_error (EINVAL, "%s: %s: unknown key '%.64s'", c->what,
                              c->path, k);
        }
    }
    return 0;
}

/* The string value of v (borrowed), refusing other types. */
static int
hv_guest_str (struct hv_guest_ctx *c, const struct json_val *v,
              const char **out)
{
    const char *s = vs_json_string_value (v);

    if (s == NULL) {
        return hv_guest_err (c, EINVAL, "expected a string");
    }
    *out = s;
    return 0;
}

static int
hv_guest_bool (struct hv_guest_ctx *c, const struct json_val *v, int *out)
{
    bool b;

    if (vs_json_type (v) != JSON_BOOL || vs_json_get_bool (v, "", &b) < 0) {
        clear_error ();
        return hv_guest_err (c, EINVAL, "expected true or false");
    }
    *out = b;
    return 0;
}

/* An array of at most max strings; each one checked by fn. */
static int
hv_guest_strings (struct hv_guest_ctx *c, const struct json_val *arr,
                  const char *key, size_t max, size_t *n,
                  int (*fn) (struct hv_guest_ctx *, const char *, size_t,
                             void *), void *opaque)
{
    char base[HV_PATH_MAX];
    const char *s = NULL;
    int r;

    snprintf (base, sizeof base, "%s", c->path);
    if (vs_json_type (arr) != JSON_ARRAY) {
        return hv_guest_err (c, EINVAL, "expected an array");
    }
    if (vs_json_array_len (arr) > max) {
        return set_error (EFBIG, "%s: %s: more than %zu entries", c->what,
                          c->path, max);
    }
    *n = vs_json_array_len (arr);
    for (size_t i = 0; i < *n; i++) {
        hv_guest_path (c, "%.60s[%zu]", base, i);
        if ((r = hv_guest_str (c, vs_json_array_at (arr, i), &s)) < 0 ||
            (r = fn (c, s, i, opaque)) < 0) {
            return r;
        }
    }
    (void) key;
    return 0;
}

static int
hv_guest_addr_fn (struct hv_guest_ctx *c, const char *s, size_t i, void *o)
{
    struct hv_guest_nic *nic = o;
    int fam, pfx;

    if (hv_guest_check_cidr (s, hv_guest_where (c), false, &fam, &pfx,
                             nic->addrs[i],
                             sizeof nic->addrs[i]) < 0) {
        return -EINVAL;
    }
    if (pfx == 0) {
        return set_error (EINVAL, "%s: %s: '%.64s' has prefix length 0",
                          c->what, c->path, s);
    }
    for (size_t j = 0; j < i; j++) {
        if (strcmp (nic->addrs[j], nic->addrs[i]) == 0) {
            return set_error (EINVAL, "%s: %s: '%.64s' is listed twice",
                              c->what, c->path, s);
        }
    }
    return 0;
}

static int
hv_guest_dns_fn (struct hv_guest_ctx *c, const char *s, size_t i, void *o)
{
    struct hv_guest_nic *nic = o;

    return hv_guest_check_ip (s, 0, hv_guest_where (c), nic->dns[i],
                              sizeof nic->dns[i]);
}

static int
hv_guest_search_fn (struct hv_guest_ctx *c, const char *s, size_t i, void *o)
{
    struct hv_guest_nic *nic = o;

    if (hv_guest_check_domain (s, hv_guest_where (c)) < 0) {
        return -EINVAL;
    }
    snprintf (nic->search[i], sizeof nic->search[i], "%s", s);
    return 0;
}

static int
hv_guest_route (struct hv_guest_ctx *c, const struct json_val *v,
                struct hv_guest_nic *nic)
{
    static const char *const keys[] = { "to", "via", "metric", NULL };
    struct hv_guest_route *rt = &nic->routes[nic->nroutes];
    char base[HV_PATH_MAX];
    const struct json_val *x;
    const char *s = NULL;
    int r, fam = 0, pfx;
    uint64_t m;

    snprintf (base, sizeof base, "%s", c->path);
    rt->metric = -1;
    if ((r = hv_guest_keys (c, v, keys)) < 0) {
        return r;
    }
    hv_guest_path (c, "%.80s.to", base);
    if ((x = vs_json_get (v, "to")) == NULL) {
        return hv_guest_err (c, EINVAL, "missing (a destination like "
                             "10.0.0.0/8 or default)");
    }
    if ((r = hv_guest_str (c, x, &s)) < 0) {
        return r;
    }
    if (strcmp (s, "default") != 0 &&
        hv_guest_check_cidr (s, hv_guest_where (c), true, &fam, &pfx, rt->to,
                             sizeof rt->to) < 0) {
        return -EINVAL;
    }
    hv_guest_path (c, "%.80s.via", base);
    if ((x = vs_json_get (v, "via")) != NULL) {
        if ((r = hv_guest_str (c, x, &s)) < 0 ||
            (r = hv_guest_check_ip (s, fam, hv_guest_where (c), rt->via,
                                    sizeof rt->via)) < 0) {
            return r;
        }
        fam = strchr (rt->via, ':') ? 6 : 4;
    }
    if (rt->to[0] == '\0') {
        /* "default" becomes gateway4/gateway6 in hv_guest_nic_check(). */
        if (rt->via[0] == '\0') {
            return hv_guest_err (c, EINVAL, "a default route needs 'via'");
        }
        snprintf (rt->to, sizeof rt->to, "default");
    }
    rt->family = strchr (rt->via[0] ? rt->via : rt->to, ':') ? 6 : 4;
    hv_guest_path (c, "%.80s.metric", base);
    if ((x = vs_json_get (v, "metric")) != NULL) {
        if (vs_json_type (x) != JSON_NUMBER ||
            vs_json_get_u64 (x, "", &m) < 0 || m > 4294967295u) {
            clear_error ();
            return hv_guest_err (c, EINVAL, "expected an integer 0-4294967295");
        }
        rt->metric = (int64_t) m;
    }
    nic->nroutes++;
    return 0;
}

static int
hv_guest_routes (struct hv_guest_ctx *c, const struct json_val *arr,
                 struct hv_guest_nic *nic)
{
    char base[HV_PATH_MAX];
    int r;

    snprintf (base, sizeof base, "%s", c->path);
    if (vs_json_type (arr) != JSON_ARRAY) {
        return hv_guest_err (c, EINVAL, "expected an array");
    }
    if (vs_json_array_len (arr) > HV_GUEST_MAX_ROUTES) {
        return set_error (EFBIG, "%s: %s: more than %d routes", c->what,
                          c->path, HV_GUEST_MAX_ROUTES);
    }
    for (size_t i = 0; i < vs_json_array_len (arr); i++) {
        hv_guest_path (c, "%.70s[%zu]", base, i);
        if ((r = hv_guest_route (c, vs_json_array_at (arr, i), nic)) < 0) {
            return r;
        }
    }
    return 0;
}

/* A gateway or MTU member of a nic object. */
static int
hv_guest_nic_scalar (struct hv_guest_ctx *c, const char *k,
                     const struct json_val *x, struct hv_guest_nic *nic)
{
    const char *s = NULL;
    uint64_t m;
    int r;

    if (strcmp (k, "mtu") == 0) {
        if (vs_json_type (x) != JSON_NUMBER ||
            vs_json_get_u64 (x, "", &m) < 0 || m < 68 || m > 65535) {
            clear_error ();
            return hv_guest_err (c, EINVAL, "expected an MTU of 68-65535");
        }
        nic->mtu = (uint32_t) m;
        return 0;
    }
    if (strcmp (k, "dhcp") == 0) {
        return hv_guest_bool (c, x, &nic->dhcp);
    }
    if ((r = hv_guest_str (c, x, &s)) < 0) {
        return r;
    }
    if (strcmp (k, "mac") == 0) {
        return hv_guest_check_mac (s, hv_guest_where (c), nic->mac,
                                   sizeof nic->mac);
    }
    if (strcmp (k, "name") == 0) {
        if (hv_guest_check_name (s, 0, hv_guest_where (c)) < 0) {
            return -EINVAL;
        }
        snprintf (nic->name, sizeof nic->name, "%s", s);
        return 0;
    }
    if (strcmp (k, "gateway4") == 0) {
        return hv_guest_check_ip (s, 4, hv_guest_where (c), nic->gw4,
                                  sizeof nic->gw4);
    }
    return hv_guest_check_ip (s, 6, hv_guest_where (c), nic->gw6,
                              sizeof nic->gw6);
}

/* Consistency of one parsed nic: something to match on, DHCP without
 * static addresses, an MTU that IPv6 accepts. */
static int
hv_guest_nic_check (struct hv_guest_ctx *c, struct hv_guest_nic *nic)
{
    bool v6;
    size_t k = 0;

    /* Default routes are gateways; the scripts treat them so. */
    for (size_t i = 0; i < nic->nroutes; i++) {
        struct hv_guest_route *rt = &nic->routes[i];
        char *gw = rt->family == 6 ? nic->gw6 : nic->gw4;
        size_t gwsz = rt->family == 6 ? sizeof nic->gw6 : sizeof nic->gw4;

        if (strcmp (rt->to, "default") != 0) {
            nic->routes[k++] = *rt;
        } else if (gw[0] && strcmp (gw, rt->via) != 0) {
            return set_error (EINVAL, "%s: %s: two different IPv%d default "
                              "gateways (gateway%d and a default route)",
                              c->what, c->path, rt->family, rt->family);
        } else {
            snprintf (gw, gwsz, "%s", rt->via);
        }
    }
    nic->nroutes = k;
    v6 = nic->gw6[0] != '\0';

    if (nic->mac[0] == '\0' && nic->name[0] == '\0') {
        return hv_guest_err (c, EINVAL, "needs 'mac' or 'name' to find the "
                             "interface");
    }
    if (nic->dhcp == 1 && (nic->naddrs || nic->gw4[0] || nic->gw6[0])) {
        return hv_guest_err (c, EINVAL, "'dhcp': true conflicts with static "
                             "addresses or gateways");
    }
    for (size_t i = 0; i < nic->naddrs; i++) {
        v6 |= strchr (nic->addrs[i], ':') != NULL;
    }
    if (v6 && nic->mtu && nic->mtu < 1280) {
        return hv_guest_err (c, EINVAL, "IPv6 needs an MTU of at least 1280");
    }
    return 0;
}

static int
hv_guest_nic (struct hv_guest_ctx *c, const struct json_val *v,
              struct hv_guest_nic *nic)
{
    static const char *const keys[] = {
        "mac", "name", "dhcp", "addresses", "gateway4", "gateway6", "dns",
        "search", "mtu", "routes", NULL,
    };
    char base[HV_PATH_MAX];
    const char *k;
    const struct json_val *x;
    int r;

    snprintf (base, sizeof base, "%s", c->path);
    nic->dhcp = -1;
    if ((r = hv_guest_keys (c, v, keys)) < 0) {
        return r;
    }
    for (size_t i = 0; (x = vs_json_object_at (v, i, &k)) != NULL; i++) {
        hv_guest_path (c, "%.70s.%s", base, k);
        if (strcmp (k, "addresses") == 0) {
            r = hv_guest_strings (c, x, k, HV_GUEST_MAX_ADDRS, &nic->naddrs,
                                  hv_guest_addr_fn, nic);
        } else if (strcmp (k, "dns") == 0) {
            r = hv_guest_strings (c, x, k, HV_GUEST_MAX_DNS, &nic->ndns,
                                  hv_guest_dns_fn, nic);
        } else if (strcmp (k, "search") == 0) {
            r = hv_guest_strings (c, x, k, HV_GUEST_MAX_SEARCH, &nic->nsearch,
                                  hv_guest_search_fn, nic);
        } else if (strcmp (k, "routes") == 0) {
            r = hv_guest_routes (c, x, nic);
        } else {
            r = hv_guest_nic_scalar (c, k, x, nic);
        }
        if (r < 0) {
            return r;
        }
    }
    snprintf (c->path, sizeof c->path, "%s", base);
    return hv_guest_nic_check (c, nic);
}

/* No two overrides may claim the same MAC or name. */
static int
hv_guest_nic_dups (struct hv_guest_ctx *c, const struct hv_guest_map *m)
{
    for (size_t i = 0; i < m->nnics; i++) {
        for (size_t j = 0; j < i; j++) {
            const struct hv_guest_nic *a = &m->nics[i], *b = &m->nics[j];

            if (a->mac[0] && strcmp (a->mac, b->mac) == 0) {
                return set_error (EINVAL, "%s: guest.nics[%zu] and "
                                  "guest.nics[%zu] have the same MAC %s",
                                  c->what, j, i, a->mac);
            }
            if (a->name[0] && strcmp (a->name, b->name) == 0) {
                return set_error (EINVAL, "%s: guest.nics[%zu] and "
                                  "guest.nics[%zu] have the same name '%s'",
                                  c->what, j, i, a->name);
            }
        }
    }
    return 0;
}

static int
hv_guest_nics (struct hv_guest_ctx *c, const struct json_val *arr,
               struct hv_guest_map *m)
{
    size_t n = vs_json_array_len (arr);
    int r;

    if (vs_json_type (arr) != JSON_ARRAY) {
        return hv_guest_err (c, EINVAL, "expected an array");
    }
    if (n > HV_GUEST_MAX_NICS) {
        return set_error (EFBIG, "%s: guest.nics: more than %d interfaces",
                          c->what, HV_GUEST_MAX_NICS);
    }
    if (n == 0) {
        return 0;
    }
    m->nics = calloc (n, sizeof *m->nics);
    if (m->nics == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        hv_guest_path (c, "guest.nics[%zu]", i);
        r = hv_guest_nic (c, vs_json_array_at (arr, i), &m->nics[i]);
        if (r < 0) {
            return r;
        }
        m->nnics++;
    }
    return hv_guest_nic_dups (c, m);
}

static int
hv_guest_section_str (struct hv_guest_ctx *c, const char *k,
                      const struct json_val *x, struct hv_guest_map *m)
{
    static const char *const hooks[] = {
        "auto", "cron", "systemd", "openrc", "rclocal", NULL,
    };
    const char *s = NULL;
    int r;

    if ((r = hv_guest_str (c, x, &s)) < 0) {
        return r;
    }
    if (strcmp (k, "mode") == 0) {
        r = hv_guest_mode_from_name (s, &m->mode);
    } else if (strcmp (k, "reboot") == 0) {
        r = hv_guest_reboot_from_name (s, &m->reboot);
    } else {
        for (size_t i = 0; hooks[i]; i++) {
            if (strcmp (s, hooks[i]) == 0) {
                snprintf (m->hook, sizeof m->hook, "%s", s);
                return 0;
            }
        }
        return set_error (EINVAL, "%s: guest.hook: unknown boot hook '%.32s' "
                          "(expected auto, cron, systemd, openrc or rclocal)",
                          c->what, s);
    }
    if (r < 0) {
        error_prepend ("%s: guest.%s: ", c->what, k);
    }
    return r;
}

static int
hv_guest_section (struct hv_guest_ctx *c, const struct json_val *g,
                  struct hv_guest_map *m)
{
    static const char *const keys[] = {
        "mode", "remove_vmware_tools", "reboot", "hook", "nics", NULL,
    };
    const struct json_val *x;
    const char *k;
    int r;

    snprintf (c->path, sizeof c->path, "guest");
    if ((r = hv_guest_keys (c, g, keys)) < 0) {
        return r;
    }
    for (size_t i = 0; (x = vs_json_object_at (g, i, &k)) != NULL; i++) {
        hv_guest_path (c, "guest.%s", k);
        if (strcmp (k, "nics") == 0) {
            r = hv_guest_nics (c, x, m);
        } else if (strcmp (k, "remove_vmware_tools") == 0) {
            r = hv_guest_bool (c, x, &m->remove_tools);
        } else {
            r = hv_guest_section_str (c, k, x, m);
        }
        if (r < 0) {
            return r;
        }
    }
    return 0;
}

struct hv_guest_map *
hv_guest_map_new (void)
{
    struct hv_guest_map *m = calloc (1, sizeof *m);

    if (m == NULL) {
        set_error (ENOMEM, "out of memory");
        return NULL;
    }
    m->retain_mac = -1;
    m->remove_tools = -1;
    return m;
}

void
hv_guest_map_free (struct hv_guest_map *m)
{
    if (m) {
        free (m->nics);
        free (m);
    }
}

static int
hv_guest_map_top (struct hv_guest_ctx *c, const struct json_val *root,
                  struct hv_guest_map *m)
{
    const struct json_val *x;
    const char *k;
    int r;

    if (vs_json_type (root) != JSON_OBJECT) {
        return set_error (EINVAL, "%s: a network map is a JSON object",
                          c->what);
    }
    if ((x = vs_json_get (root, "networks")) != NULL) {
        snprintf (c->path, sizeof c->path, "networks");
        if (vs_json_type (x) != JSON_OBJECT) {
            return hv_guest_err (c, EINVAL, "expected an object of networks");
        }
        if (vs_json_object_len (x) > HV_GUEST_MAX_NETWORKS) {
            return hv_guest_err (c, EFBIG, "too many networks");
        }
        for (size_t i = 0; vs_json_object_at (x, i, &k); i++) {
            if (vs_json_type (vs_json_object_at (x, i, &k)) != JSON_OBJECT) {
                hv_guest_path (c, "networks['%.40s']", k);
                return hv_guest_err (c, EINVAL, "expected an object");
            }
        }
        m->nnetworks = vs_json_object_len (x);
    }
    if ((x = vs_json_get (root, "retain_mac")) != NULL) {
        snprintf (c->path, sizeof c->path, "retain_mac");
        if ((r = hv_guest_bool (c, x, &m->retain_mac)) < 0) {
            return r;
        }
    }
    if ((x = vs_json_get (root, "guest")) != NULL) {
        return hv_guest_section (c, x, m);
    }
    return 0;
}

int
hv_guest_map_parse (const char *buf, size_t len, const char *what,
                    struct hv_guest_map **out)
{
    struct hv_guest_ctx c = { .what = what ? what : "network map" };
    struct json_val *root = NULL;
    struct hv_guest_map *m;
    int r;

    if ((r = vs_json_parse (buf, len, c.what, &root)) < 0) {
        return r;
    }
    if ((m = hv_guest_map_new ()) == NULL) {
        vs_json_free (root);
        return -ENOMEM;
    }
    r = hv_guest_map_top (&c, root, m);
    vs_json_free (root);
    if (r < 0) {
        hv_guest_map_free (m);
        return r;
    }
    *out = m;
    return 0;
}
