/* The ONTAP profiles file (format in ontap/ontap.h).
 *
 * The file holds no secrets: a password comes from a file of its own
 * that only its owner can read, or from an environment variable, and
 * never from the configuration or the command line.  Nothing here puts
 * a password into a message or a log line.
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
#include "ontap/ontap.h"

#define ONTAP_CONFIG_MAX ((size_t) 1 << 20)
#define ONTAP_PASSWORD_MAX 4096

struct ontap_profile *ontap_profile_dup (const struct ontap_profile *p);

int
ontap_config_default_path (char **out)
{
    const char *v = getenv ("VMSHIFT_CONFIG");
    const char *x = getenv ("XDG_CONFIG_HOME");
    const char *home = getenv ("HOME");
    char *s = NULL;
    int n;

    if (v && *v) {
        s = strdup (v);
    } else if (x && *x == '/') {
        n = asprintf (&s, "%s/vmshift/config.json", x);
        s = n < 0 ? NULL : s;
    } else if (home && *home) {
        n = asprintf (&s, "%s/.config/vmshift/config.json", home);
        s = n < 0 ? NULL : s;
    } else {
        return set_error (ENOENT, "no ONTAP configuration: set VMSHIFT_CONFIG "
                          "or HOME");
    }
    if (s == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    *out = s;
    return 0;
}

/* ----------------------------------------------------------- values */

struct ontap_cfg_ctx {
    const char *what;           /* "'config.json': profile 'x'" */
    const struct logger *lg;
};

static int
ontap_cfg_str (const struct json_val *o, const char *key,
               const struct ontap_cfg_ctx *cx, char **out)
{
    const struct json_val *v = vs_json_get (o, key);

    if (v == NULL) {
        return 0;
    }
    if (vs_json_type (v) != JSON_STRING) {
        return set_error (EINVAL, "%s: '%s' is a %s, expected a string",
                          cx->what, key, vs_json_type_name (vs_json_type (v)));
    }
    if (*vs_json_string_value (v) == '\0' ||
        strlen (vs_json_string_value (v)) > 4096) {
        return set_error (EINVAL, "%s: '%s' is empty or too long", cx->what,
                          key);
    }
    *out = strdup (vs_json_string_value (v));
    return *out ? 0 : set_error (ENOMEM, "out of memory");
}

static int
ontap_cfg_abs (const struct json_val *o, const char *key,
               const struct ontap_cfg_ctx *cx, char **out)
{
    int r = ontap_cfg_str (o, key, cx, out);

    if (r == 0 && *out && **out != '/') {
        return set_error (EINVAL, "%s: '%s' must be an absolute path, not "
                          "'%s'", cx->what, key, *out);
    }
    return r;
}

static int
ontap_cfg_uint (const struct json_val *o, const char *key, unsigned lo,
                unsigned hi, const struct ontap_cfg_ctx *cx, unsigned *out)
{
    const struct json_val *v = vs_json_get (o, key);
    uint64_t n;

    if (v == NULL) {
        return 0;
    }
    if (vs_json_type (v) != JSON_NUMBER || vs_json_get_u64 (v, "", &n) < 0 ||
        n < lo || n > hi) {
        clear_error ();
        return set_error (EINVAL, "%s: '%s' must be an integer from %u to %u",
                          cx->what, key, lo, hi);
    }
    *out = (unsigned) n;
    return 0;
}

static bool
ontap_key_known (const char *k, const char *const *known)
{
    for (; *known; known++) {
        if (strcmp (k, *known) == 0) {
            return true;
        }
    }
    return false;
}

static void
ontap_cfg_warn_unknown (const struct json_val *o, const char *const *known,
                        const struct ontap_cfg_ctx *cx)
{
    for (size_t i = 0; i < vs_json_object_len (o); i++) {
        const char *k = NULL;

        vs_json_object_at (o, i, &k);
        if (k && !ontap_key_known (k, known)) {
            vs_log_msg (cx->lg, LOG_WARN, "%s: unknown key '%.64s' ignored",
                     cx->what, k);
        }
    }
}

/* ----------------------------------------------------- TLS settings */

/* "AB:CD:..", "abcd..", or openssl's "SHA256 Fingerprint=AB:.." to
 * upper-case colon form. */
static int
ontap_cfg_fingerprint (const char *in, const struct ontap_cfg_ctx *cx,
                       char **out)
{
    const char *p = strchr (in, '=') ? strchr (in, '=') + 1 : in;
    char buf[3 * 32];
    size_t nd = 0;

    for (; *p; p++) {
        if (*p == ':') {
            continue;
        }
        if (!isxdigit ((unsigned char) *p) || nd >= 64) {
            return set_error (EINVAL, "%s: 'fingerprint_sha256' must be 32 "
                              "hex bytes (as printed by openssl x509 "
                              "-fingerprint -sha256)", cx->what);
        }
        buf[nd / 2 * 3 + nd % 2] = (char) toupper ((unsigned char) *p);
        if (nd % 2 && nd < 63) {
            buf[nd / 2 * 3 + 2] = ':';
        }
        nd++;
    }
    if (nd != 64) {
        return set_error (EINVAL, "%s: 'fingerprint_sha256' has %zu hex "
                          "digits, expected 64", cx->what, nd);
    }
    buf[sizeof buf - 1] = '\0';
    *out = strdup (buf);
    return *out ? 0 : set_error (ENOMEM, "out of memory");
}

static int
ontap_cfg_tls (const struct json_val *o, const struct ontap_cfg_ctx *cx,
               struct ontap_profile *p)
{
    char *fp = NULL;
    int r, modes;

    if ((r = ontap_cfg_abs (o, "ca_file", cx, &p->ca_file)) < 0 ||
        (r = ontap_cfg_str (o, "fingerprint_sha256", cx, &fp)) < 0 ||
        (r = ontap_cfg_str (o, "pinned_pubkey", cx, &p->pinned_pubkey)) < 0 ||
        (r = ontap_cfg_abs (o, "client_cert", cx, &p->client_cert)) < 0 ||
        (r = ontap_cfg_abs (o, "client_key", cx, &p->client_key)) < 0) {
        free (fp);
        return r;
    }
    if (fp) {
        r = ontap_cfg_fingerprint (fp, cx, &p->fingerprint_sha256);
        free (fp);
        if (r < 0) {
            return r;
        }
    }
    if (vs_json_get (o, "insecure") &&
        vs_json_get_bool (o, "insecure", &p->insecure) < 0) {
        clear_error ();
        return set_error (EINVAL, "%s: 'insecure' must be true or false",
                          cx->what);
    }
    modes = !!p->ca_file + !!p->fingerprint_sha256 + !!p->insecure;
    if (modes > 1) {
        return set_error (EINVAL, "%s: choose one of 'ca_file', "
                          "'fingerprint_sha256' and 'insecure'", cx->what);
    }
    if (p->pinned_pubkey && strncmp (p->pinned_pubkey, "sha256//", 8) != 0) {
        return set_error (EINVAL, "%s: 'pinned_pubkey' must start with "
                          "'sha256//'", cx->what);
    }
    if (!p->client_cert != !p->client_key) {
        return set_error (EINVAL, "%s: 'client_cert' and 'client_key' go "
                          "together", cx->what);
    }
    return 0;
}

/* --------------------------------------------------------- sections */

static int
ontap_cfg_cluster (const struct json_val *o, const struct ontap_cfg_ctx *cx,
                   struct ontap_profile *p)
{
    size_t n;
    int r = ontap_cfg_str (o, "cluster", cx, &p->cluster);

    if (r < 0) {
        return r;
    }
    if (p->cluster == NULL) {
        return set_error (EINVAL, "%s: 'cluster' is missing", cx->what);
    }
    n = strlen (p->cluster);
    while (n > 8 && p->cluster[n - 1] == '/') {
        p->cluster[--n] = '\0';
    }
    if (strncmp (p->cluster, "https://", 8) != 0 || n == 8 ||
        strpbrk (p->cluster + 8, "/?#@ \t\r\n") != NULL) {
        return set_error (EINVAL, "%s: 'cluster' must look like "
                          "'https://host[:port]', not '%s'", cx->what,
                          p->cluster);
    }
    return 0;
}

static int
ontap_cfg_auth (const struct json_val *o, const struct ontap_cfg_ctx *cx,
                struct ontap_profile *p)
{
    int r;

    if (vs_json_get (o, "password")) {
        return set_error (EINVAL, "%s: passwords are not read from the "
                          "configuration; use 'password_file' or "
                          "'password_env'", cx->what);
    }
    if ((r = ontap_cfg_str (o, "username", cx, &p->username)) < 0 ||
        (r = ontap_cfg_abs (o, "password_file", cx, &p->password_file)) < 0 ||
        (r = ontap_cfg_str (o, "password_env", cx, &p->password_env)) < 0) {
        return r;
    }
    if (p->password_file && p->password_env) {
        return set_error (EINVAL, "%s: choose one of 'password_file' and "
                          "'password_env'", cx->what);
    }
    if ((p->password_file || p->password_env) && p->username == NULL) {
        return set_error (EINVAL, "%s: a password needs a 'username'",
                          cx->what);
    }
    if (p->username && strchr (p->username, ':')) {
        return set_error (EINVAL, "%s: 'username' cannot contain ':'",
                          cx->what);
    }
    if (!p->password_file && !p->password_env && !p->client_cert) {
        return set_error (EINVAL, "%s: no credentials: set 'password_file', "
                          "'password_env' or 'client_cert'", cx->what);
    }
    return 0;
}

static int
ontap_cfg_nfs (const struct json_val *o, const struct ontap_cfg_ctx *cx,
               struct ontap_profile *p)
{
    static const char *const known[] = {
        "server", "version", "port", "mount_port", NULL,
    };
    const struct json_val *n = vs_json_get (o, "nfs");
    int r;

    if (n == NULL) {
        return 0;
    }
    if (vs_json_type (n) != JSON_OBJECT) {
        return set_error (EINVAL, "%s: 'nfs' must be an object", cx->what);
    }
    ontap_cfg_warn_unknown (n, known, cx);
    if ((r = ontap_cfg_str (n, "server", cx, &p->nfs.server)) < 0 ||
        (r = ontap_cfg_uint (n, "version", 3, 4, cx, &p->nfs.version)) < 0 ||
        (r = ontap_cfg_uint (n, "port", 1, 65535, cx, &p->nfs.port)) < 0 ||
        (r = ontap_cfg_uint (n, "mount_port", 1, 65535, cx,
                             &p->nfs.mount_port)) < 0) {
        return r;
    }
    return 0;
}

static int
ontap_cfg_profile (const struct json_val *o, const struct ontap_cfg_ctx *cx,
                   struct ontap_profile *p)
{
    static const char *const known[] = {
        "cluster", "username", "password_file", "password_env",
        "client_cert", "client_key", "ca_file", "fingerprint_sha256",
        "pinned_pubkey", "insecure", "svm", "nfs", "max_ranges_per_call",
        "return_timeout", "job_deadline", NULL,
    };
    int r;

    if (vs_json_type (o) != JSON_OBJECT) {
        return set_error (EINVAL, "%s: must be an object", cx->what);
    }
    ontap_cfg_warn_unknown (o, known, cx);
    p->max_ranges_per_call = ONTAP_RANGES_DEFAULT;
    p->return_timeout = 30;
    p->job_deadline = 600;
    if ((r = ontap_cfg_cluster (o, cx, p)) < 0 ||
        (r = ontap_cfg_tls (o, cx, p)) < 0 ||
        (r = ontap_cfg_auth (o, cx, p)) < 0 ||
        (r = ontap_cfg_str (o, "svm", cx, &p->svm)) < 0 ||
        (r = ontap_cfg_nfs (o, cx, p)) < 0 ||
        (r = ontap_cfg_uint (o, "max_ranges_per_call", 1, ONTAP_RANGES_MAX,
                             cx, &p->max_ranges_per_call)) < 0 ||
        (r = ontap_cfg_uint (o, "return_timeout", 0, ONTAP_RETURN_TIMEOUT_MAX,
                             cx, &p->return_timeout)) < 0 ||
        (r = ontap_cfg_uint (o, "job_deadline", 1, 86400, cx,
                             &p->job_deadline)) < 0) {
        return r;
    }
    return 0;
}

int
ontap_profile_parse (const char *buf, size_t len, const char *what,
                     const char *name, const struct logger *lg,
                     struct ontap_profile **out)
{
    /* "vcenters": vCenter profiles (hypervisors/vsphere/config.c). */
    static const char *const known[] = { "profiles", "vcenters", NULL };
    struct json_val *doc = NULL;
    const struct json_val *profs, *o = NULL;
    struct ontap_profile *p = NULL;
    char ctx[512];
    int r;

    if ((r = vs_json_parse (buf, len, what, &doc)) == -ELIBACC) {
        return r;               /* libcjson missing: a system problem */
    }
    if (r < 0) {
        char m[VMSHIFT_ERROR_MAX];

        /* A bad configuration is bad input (EINVAL), not a bad reply. */
        snprintf (m, sizeof m, "%s", vmshift_internal_error_msg ());
        return set_error (EINVAL, "%s", m);
    }
    profs = vs_json_get (doc, "profiles");
    if (vs_json_type (doc) != JSON_OBJECT || vs_json_type (profs) != JSON_OBJECT) {
        r = set_error (EINVAL, "%s: expected {\"profiles\": {...}}", what);
        goto out;
    }
    ontap_cfg_warn_unknown (doc, known, &(struct ontap_cfg_ctx) { what, lg });
    for (size_t i = 0; i < vs_json_object_len (profs) && o == NULL; i++) {
        const char *k = NULL;
        const struct json_val *v = vs_json_object_at (profs, i, &k);

        if (k && strcmp (k, name) == 0) {
            o = v;
        }
    }
    if (o == NULL) {
        r = set_error (ENOENT, "%s: no profile '%s'", what, name);
        goto out;
    }
    snprintf (ctx, sizeof ctx, "%.300s: profile '%.100s'", what, name);
    if ((p = calloc (1, sizeof *p)) == NULL ||
        (p->name = strdup (name)) == NULL) {
        r = set_error (ENOMEM, "out of memory");
        goto out;
    }
    r = ontap_cfg_profile (o, &(struct ontap_cfg_ctx) { ctx, lg }, p);
    if (r < 0) {
        goto out;
    }
    *out = p;
    p = NULL;
out:
    ontap_profile_free (p);
    vs_json_free (doc);
    return r;
}

int
ontap_profile_load (const char *config_path, const char *name,
                    const struct logger *lg, struct ontap_profile **out)
{
    char *path = NULL, *buf = NULL, what[512];
    size_t len = 0;
    int r;

    if (config_path == NULL && (r = ontap_config_default_path (&path)) < 0) {
        return r;
    }
    if (config_path == NULL) {
        config_path = path;
    }
    snprintf (what, sizeof what, "'%.480s'", config_path);
    r = vs_read_file (config_path, ONTAP_CONFIG_MAX, &buf, &len);
    if (r == 0) {
        r = ontap_profile_parse (buf, len, what, name, lg, out);
    } else {
        error_prepend ("ONTAP configuration: ");
    }
    free (buf);
    free (path);
    return r;
}

static int
ontap_strdup_opt (const char *s, char **out)
{
    *out = NULL;
    if (s && (*out = strdup (s)) == NULL) {
        return -ENOMEM;
    }
    return 0;
}

struct ontap_profile *
ontap_profile_dup (const struct ontap_profile *p)
{
    struct ontap_profile *d = calloc (1, sizeof *d);

    if (d == NULL) {
        set_error (ENOMEM, "out of memory");
        return NULL;
    }
    *d = *p;
    if (ontap_strdup_opt (p->name, &d->name) < 0 ||
        ontap_strdup_opt (p->cluster, &d->cluster) < 0 ||
        ontap_strdup_opt (p->username, &d->username) < 0 ||
        ontap_strdup_opt (p->password_file, &d->password_file) < 0 ||
        ontap_strdup_opt (p->password_env, &d->password_env) < 0 ||
        ontap_strdup_opt (p->client_cert, &d->client_cert) < 0 ||
        ontap_strdup_opt (p->client_key, &d->client_key) < 0 ||
        ontap_strdup_opt (p->ca_file, &d->ca_file) < 0 ||
        ontap_strdup_opt (p->fingerprint_sha256, &d->fingerprint_sha256) < 0 ||
        ontap_strdup_opt (p->pinned_pubkey, &d->pinned_pubkey) < 0 ||
        ontap_strdup_opt (p->svm, &d->svm) < 0 ||
        ontap_strdup_opt (p->nfs.server, &d->nfs.server) < 0) {
        ontap_profile_free (d);
        set_error (ENOMEM, "out of memory");
        return NULL;
    }
    return d;
}

void
ontap_profile_free (struct ontap_profile *p)
{
    if (p == NULL) {
        return;
    }
    free (p->name);
    free (p->cluster);
    free (p->username);
    free (p->password_file);
    free (p->password_env);
    free (p->client_cert);
    free (p->client_key);
    free (p->ca_file);
    free (p->fingerprint_sha256);
    free (p->pinned_pubkey);
    free (p->svm);
    free (p->nfs.server);
    free (p);
}

/* ---------------------------------------------------------- password */

/* Only the owner may read or write it: a password readable by others is
 * a password already shared. */
static int
ontap_password_file_ok (const char *path, int fd)
{
    struct stat st;

    if (fstat (fd, &st) < 0) {
        return set_error (errno, "password file '%s': %s", path,
                          strerror (errno));
    }
    if (!S_ISREG (st.st_mode)) {
        return set_error (EINVAL, "password file '%s' is not a regular file",
                          path);
    }
    if (st.st_uid != geteuid ()) {
        return set_error (EACCES, "password file '%s' is owned by uid %u, "
                          "not by us (uid %u)", path, (unsigned) st.st_uid,
                          (unsigned) geteuid ());
    }
    if (st.st_mode & 077) {
        return set_error (EACCES, "password file '%s' has mode %04o; it must "
                          "be 0600 or stricter (chmod 600 '%s')", path,
                          (unsigned) (st.st_mode & 07777), path);
    }
    if (st.st_size > ONTAP_PASSWORD_MAX) {
        return set_error (EFBIG, "password file '%s' is larger than %d bytes",
                          path, ONTAP_PASSWORD_MAX);
    }
    return 0;
}

static int
ontap_password_read (const char *path, char **out)
{
    char *buf = calloc (1, ONTAP_PASSWORD_MAX + 2);
    size_t n = 0;
    ssize_t k;
    int fd, r;

    if (buf == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    if (fd < 0) {
        free (buf);
        return set_error (errno, "password file '%s': %s", path,
                          strerror (errno));
    }
    r = ontap_password_file_ok (path, fd);
    while (r == 0 && n <= ONTAP_PASSWORD_MAX &&
           (k = read (fd, buf + n, ONTAP_PASSWORD_MAX + 1 - n)) != 0) {
        if (k < 0 && errno != EINTR) {
            r = set_error (errno, "password file '%s': %s", path,
                           strerror (errno));
        }
        n += k > 0 ? (size_t) k : 0;
    }
    close (fd);
    /* One trailing newline (echo > file) is not part of the password. */
    if (r == 0 && n > 0 && buf[n - 1] == '\n') {
        buf[--n] = '\0';
        if (n > 0 && buf[n - 1] == '\r') {
            buf[--n] = '\0';
        }
    }
    if (r == 0 && (n == 0 || n > ONTAP_PASSWORD_MAX || strlen (buf) != n)) {
        r = set_error (EINVAL, "password file '%s' is empty, too long or "
                       "holds a NUL byte", path);
    }
    if (r < 0) {
        ontap_password_free (buf);
        return r;
    }
    *out = buf;
    return 0;
}

int
ontap_profile_password (const struct ontap_profile *p, char **out)
{
    const char *v;

    if (p->password_file) {
        return ontap_password_read (p->password_file, out);
    }
    if (p->password_env == NULL) {
        *out = NULL;
        return 0;
    }
    v = getenv (p->password_env);
    if (v == NULL || *v == '\0') {
        return set_error (ENOENT, "profile '%s': environment variable '%s' "
                          "(password_env) is not set", p->name,
                          p->password_env);
    }
    if (strlen (v) > ONTAP_PASSWORD_MAX) {
        return set_error (EFBIG, "profile '%s': environment variable '%s' is "
                          "longer than %d bytes", p->name, p->password_env,
                          ONTAP_PASSWORD_MAX);
    }
    *out = strdup (v);
    return *out ? 0 : set_error (ENOMEM, "out of memory");
}

void
ontap_password_free (char *pw)
{
    if (pw) {
        explicit_bzero (pw, strlen (pw));
        free (pw);
    }
}
