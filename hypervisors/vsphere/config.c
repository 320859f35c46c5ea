/* "vcenters" profiles, in the same configuration file as the ONTAP
 * profiles (ontap/config.c):
 *
 *   {"profiles": {...ONTAP...},
 *    "vcenters": {"vc1": {"url": "https://vc1.example.com",
 *       "username": "svc-vmshift@vsphere.local",
 *       "password_file": "/etc/vmshift/vc1.pw",
 *       "ca_file": "/etc/vmshift/vc1-ca.pem"}}}
 *
 * As for ONTAP: the file holds no password (password_file, mode 0600, or
 * password_env); TLS is verified unless 'insecure' is set; exactly one of
 * ca_file, fingerprint_sha256 and insecure may be given (none: the system
 * CA store).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/base/error.h"
#include "engine/base/file.h"
#include "engine/base/json.h"
#include "hypervisors/vsphere/vsphere.h"
#include "ontap/ontap.h"

#define VSPHERE_CONFIG_MAX ((size_t) 1 << 20)

struct vc_cfg {
    const char *what;           /* "'file': vCenter profile 'x'" */
    const struct logger *lg;
};

static int
vc_str (const struct json_val *o, const char *key, const struct vc_cfg *cx,
        char **out)
{
    const struct json_val *v = vs_json_get (o, key);
    const char *s;

    *out = NULL;
    if (v == NULL) {
        return 0;
    }
    if ((s = vs_json_string_value (v)) == NULL || *s == '\0') {
        return set_error (EINVAL, "%s: '%s' must be a non-empty string",
                          cx->what, key);
    }
    for (const char *p = s; *p; p++) {
        if ((unsigned char) *p < 0x20) {
            return set_error (EINVAL, "%s: '%s' holds a control character",
                              cx->what, key);
        }
    }
    *out = strdup (s);
    return *out ? 0 : set_error (ENOMEM, "out of memory");
}

static int
vc_abs (const struct json_val *o, const char *key, const struct vc_cfg *cx,
        char **out)
{
    int r = vc_str (o, key, cx, out);

    if (r == 0 && *out && (*out)[0] != '/') {
        free (*out);
        *out = NULL;
        return set_error (EINVAL, "%s: '%s' must be an absolute path",
                          cx->what, key);
    }
    return r;
}

/* "https://host[:port][/path]" -> base "https://host[:port]", path. */
static int
vc_url (const struct json_val *o, const struct vc_cfg *cx,
        struct vsphere_profile *p)
{
    char *u = NULL, *slash;
    int r;

    if ((r = vc_str (o, "url", cx, &u)) < 0) {
        return r;
    }
    if (u == NULL) {
        return set_error (EINVAL, "%s: 'url' is missing", cx->what);
    }
    if (strncmp (u, "https://", 8) != 0 || u[8] == '\0' || u[8] == '/' ||
        strpbrk (u + 8, "?#@ \\") != NULL) {
        r = set_error (EINVAL, "%s: 'url' must be https://HOST[:PORT][/PATH] "
                       "without user, query or fragment", cx->what);
        free (u);
        return r;
    }
    slash = strchr (u + 8, '/');
    p->path = strdup (slash && slash[1] ? slash : "/sdk");
    if (slash) {
        *slash = '\0';
    }
    p->base = u;
    if (p->path == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    /* a trailing '/' of the path would make "/sdk/" */
    for (size_t n = strlen (p->path); n > 1 && p->path[n - 1] == '/'; n--) {
        p->path[n - 1] = '\0';
    }
    return 0;
}

/* "ab:cd:.." or 64 hex digits -> "AB:CD:.." */
static int
vc_fingerprint (const char *in, const struct vc_cfg *cx, char **out)
{
    char hex[65];
    size_t n = 0;

    for (const char *p = in; *p; p++) {
        if (*p == ':') {
            continue;
        }
        if (!isxdigit ((unsigned char) *p) || n >= 64) {
            return set_error (EINVAL, "%s: 'fingerprint_sha256' must be 32 "
                              "bytes in hex (AB:CD:...)", cx->what);
        }
        hex[n++] = (char) toupper ((unsigned char) *p);
    }
    if (n != 64) {
        return set_error (EINVAL, "%s: 'fingerprint_sha256' has %zu hex "
                          "digits, not 64", cx->what, n);
    }
    if ((*out = malloc (96)) == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < 32; i++) {
        (*out)[i * 3] = hex[i * 2];
        (*out)[i * 3 + 1] = hex[i * 2 + 1];
        (*out)[i * 3 + 2] = i == 31 ? '\0' : ':';
    }
    return 0;
}

static int
vc_tls (const struct json_val *o, const struct vc_cfg *cx,
        struct vsphere_profile *p)
{
    const struct json_val *ins = vs_json_get (o, "insecure");
    char *fp = NULL;
    int r;

    if ((r = vc_abs (o, "ca_file", cx, &p->ca_file)) < 0 ||
        (r = vc_str (o, "fingerprint_sha256", cx, &fp)) < 0) {
        return r;
    }
    if (fp) {
        r = vc_fingerprint (fp, cx, &p->fingerprint_sha256);
        free (fp);
        if (r < 0) {
            return r;
        }
    }
    if (ins && vs_json_type (ins) != JSON_BOOL) {
        return set_error (EINVAL, "%s: 'insecure' must be true or false",
                          cx->what);
    }
    if (ins && (r = vs_json_get_bool (o, "insecure", &p->insecure)) < 0) {
        return r;
    }
    if (!!p->ca_file + !!p->fingerprint_sha256 + !!p->insecure > 1) {
        return set_error (EINVAL, "%s: choose one of 'ca_file', "
                          "'fingerprint_sha256' and 'insecure'", cx->what);
    }
    return 0;
}

static int
vc_profile (const struct json_val *o, const struct vc_cfg *cx,
            struct vsphere_profile *p)
{
    static const char *const known[] = {
        "url", "username", "password_file", "password_env", "ca_file",
        "fingerprint_sha256", "insecure", "task_deadline", NULL,
    };
    uint64_t deadline = 600;
    int r;

    if (vs_json_type (o) != JSON_OBJECT) {
        return set_error (EINVAL, "%s: expected an object", cx->what);
    }
    for (size_t i = 0; i < vs_json_object_len (o); i++) {
        const char *k = NULL;
        size_t j = 0;

        vs_json_object_at (o, i, &k);
        while (known[j] && strcmp (known[j], k) != 0) {
            j++;
        }
        if (known[j] == NULL) {
            vs_log_msg (cx->lg, LOG_WARN, "%s: unknown key '%s' ignored",
                        cx->what, k);
        }
    }
    if (vs_json_get (o, "password")) {
        return set_error (EINVAL, "%s: passwords are not read from the "
                          "configuration; use 'password_file' or "
                          "'password_env'", cx->what);
    }
    if ((r = vc_url (o, cx, p)) < 0 || (r = vc_tls (o, cx, p)) < 0 ||
        (r = vc_str (o, "username", cx, &p->username)) < 0 ||
        (r = vc_abs (o, "password_file", cx, &p->password_file)) < 0 ||
        (r = vc_str (o, "password_env", cx, &p->password_env)) < 0) {
        return r;
    }
    if (p->username == NULL) {
        return set_error (EINVAL, "%s: 'username' is missing", cx->what);
    }
    if (!!p->password_file + !!p->password_env != 1) {
        return set_error (EINVAL, "%s: set exactly one of 'password_file' and "
                          "'password_env'", cx->what);
    }
    if (vs_json_get (o, "task_deadline") &&
        ((r = vs_json_get_u64 (o, "task_deadline", &deadline)) < 0 ||
         deadline < 1 || deadline > 86400)) {
        return set_error (EINVAL, "%s: 'task_deadline' must be 1..86400 "
                          "seconds", cx->what);
    }
    p->task_deadline = (unsigned) deadline;
    return 0;
}

void
vsphere_profile_free (struct vsphere_profile *p)
{
    if (p == NULL) {
        return;
    }
    free (p->name);
    free (p->base);
    free (p->path);
    free (p->username);
    free (p->password_file);
    free (p->password_env);
    free (p->ca_file);
    free (p->fingerprint_sha256);
    free (p);
}

int
vsphere_profile_parse (const char *buf, size_t len, const char *what,
                       const char *name, const struct logger *lg,
                       struct vsphere_profile **out)
{
    struct json_val *doc = NULL;
    const struct json_val *vcs, *o = NULL;
    struct vsphere_profile *p = NULL;
    char ctx[512];
    int r;

    if ((r = vs_json_parse (buf, len, what, &doc)) < 0) {
        char m[VMSHIFT_ERROR_MAX];

        snprintf (m, sizeof m, "%s", vmshift_internal_error_msg ());
        return set_error (EINVAL, "%s", m);
    }
    vcs = vs_json_get (doc, "vcenters");
    if (vs_json_type (doc) != JSON_OBJECT || vs_json_type (vcs) != JSON_OBJECT) {
        r = set_error (EINVAL, "%s: no \"vcenters\": {...} section", what);
        goto out;
    }
    for (size_t i = 0; i < vs_json_object_len (vcs) && o == NULL; i++) {
        const char *k = NULL;
        const struct json_val *v = vs_json_object_at (vcs, i, &k);

        if (k && strcmp (k, name) == 0) {
            o = v;
        }
    }
    if (o == NULL) {
        r = set_error (ENOENT, "%s: no vCenter profile '%s'", what, name);
        goto out;
    }
    snprintf (ctx, sizeof ctx, "%.300s: vCenter profile '%.100s'", what, name);
    if ((p = calloc (1, sizeof *p)) == NULL ||
        (p->name = strdup (name)) == NULL) {
        r = set_error (ENOMEM, "out of memory");
        goto out;
    }
    if ((r = vc_profile (o, &(struct vc_cfg) { ctx, lg }, p)) < 0) {
        goto out;
    }
    *out = p;
    p = NULL;
out:
    vsphere_profile_free (p);
    vs_json_free (doc);
    return r;
}

static int
vc_load_doc (const char *config_path, char **path_out, char **buf,
             size_t *len)
{
    char *path = NULL;
    int r;

    if (config_path == NULL && (r = ontap_config_default_path (&path)) < 0) {
        return r;
    }
    if ((r = vs_read_file (config_path ? config_path : path,
                           VSPHERE_CONFIG_MAX, buf, len)) < 0) {
        free (path);
        return r;
    }
    if (path == NULL && (path = strdup (config_path)) == NULL) {
        free (*buf);
        return set_error (ENOMEM, "out of memory");
    }
    *path_out = path;
    return 0;
}

int
vsphere_profile_load (const char *config_path, const char *name,
                      const struct logger *lg, struct vsphere_profile **out)
{
    char *path = NULL, *buf = NULL, what[512];
    size_t len = 0;
    int r;

    if ((r = vc_load_doc (config_path, &path, &buf, &len)) < 0) {
        error_prepend ("vCenter configuration: ");
        return r;
    }
    snprintf (what, sizeof what, "'%.480s'", path);
    r = vsphere_profile_parse (buf, len, what, name, lg, out);
    free (buf);
    free (path);
    return r;
}

void
vsphere_strv_free (char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free (v[i]);
    }
    free (v);
}

int
vsphere_ontap_profile_names (const char *config_path, char ***names,
                             size_t *n)
{
    char *path = NULL, *buf = NULL, **v = NULL;
    struct json_val *doc = NULL;
    const struct json_val *profs;
    size_t len = 0, k = 0;
    int r;

    *names = NULL;
    *n = 0;
    if ((r = vc_load_doc (config_path, &path, &buf, &len)) < 0) {
        return r;
    }
    r = vs_json_parse (buf, len, path, &doc);
    free (buf);
    free (path);
    if (r < 0) {
        return r;
    }
    profs = vs_json_get (doc, "profiles");
    if (vs_json_type (profs) == JSON_OBJECT && vs_json_object_len (profs) > 0) {
        size_t cnt = vs_json_object_len (profs);

        if ((v = calloc (cnt, sizeof *v)) == NULL) {
            r = set_error (ENOMEM, "out of memory");
        }
        for (size_t i = 0; r == 0 && i < cnt; i++) {
            const char *key = NULL;

            vs_json_object_at (profs, i, &key);
            if ((v[k] = strdup (key)) == NULL) {
                r = set_error (ENOMEM, "out of memory");
            } else {
                k++;
            }
        }
    }
    vs_json_free (doc);
    if (r < 0) {
        vsphere_strv_free (v, k);
        return r;
    }
    *names = v;
    *n = k;
    return 0;
}
