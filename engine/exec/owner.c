/* Run ownership by run ID and lease; see owner.h and
 * docs/internals/ontap-flow.md ("Run ownership"). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/base/error.h"
#include "engine/exec/beio.h"
#include "engine/exec/owner.h"

#define OWNER_LEASE_MAX 1024

static double
owner_mono (void)
{
    struct timespec ts;

    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

bool
vs_owner_run_ok (const char *s, size_t n)
{
    if (n != VS_RUN_HEX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return false;
        }
    }
    return true;
}

void
vs_owner_name_hash (const char *name, char out[9])
{
    uint32_t h = 2166136261u;

    for (const unsigned char *p = (const unsigned char *) name; *p; p++) {
        h = (h ^ *p) * 16777619u;
    }
    snprintf (out, 9, "%08" PRIx32, h);
}

/* This boot and this PID namespace: a PID is only meaningful where both
 * are the same.  Empty / 0 when unknown (then no PID is trusted). */
static void
owner_where (char boot[40], unsigned long long *pidns)
{
    struct stat st;
    FILE *fp = fopen ("/proc/sys/kernel/random/boot_id", "re");

    boot[0] = '\0';
    if (fp) {
        if (fgets (boot, 40, fp) == NULL) {
            boot[0] = '\0';
        }
        boot[strcspn (boot, "\n")] = '\0';
        fclose (fp);
    }
    *pidns = stat ("/proc/self/ns/pid", &st) == 0 ? (unsigned long long) st.st_ino
                                                   : 0;
}

static void
owner_host (char *buf, size_t n)
{
    if (gethostname (buf, n) < 0) {
        snprintf (buf, n, "host");
    }
    buf[n - 1] = '\0';
    for (char *p = buf; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '-' || *p == '.')) {
            *p = '-';
        }
    }
}

int
vs_owner_init (struct vs_owner *o, const struct logger *log)
{
    uint8_t id[16];
    size_t done = 0;

    memset (o, 0, sizeof *o);
    o->log = log;
    while (done < sizeof id) {
        ssize_t r = getrandom (id + done, sizeof id - done, 0);

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            /* a run ID that may repeat would let one run take another's
             * files for its own: no fallback */
            return set_error (errno ? errno : EIO, "cannot make a run ID: "
                              "getrandom: %s", strerror (errno ? errno : EIO));
        }
        done += (size_t) r;
    }
    for (size_t i = 0; i < sizeof id; i++) {
        snprintf (o->run + 2 * i, 3, "%02x", id[i]);
    }
    pthread_mutex_init (&o->lock, NULL);
    return 0;
}

/* Fixed length, so a renewal rewrites it in place. */
static int
owner_lease_text (const struct vs_owner *o, char *buf, size_t n,
                  bool expired)
{
    char host[65], boot[40];
    unsigned long long pidns;

    owner_host (host, sizeof host);
    owner_where (boot, &pidns);
    return snprintf (buf, n, "vmshift-lease 1\nrun %s\nhost %-64s\n"
                     "boot %-36s\npidns %20llu\npid %10ld\nexpires %20lld\n",
                     o->run, host, boot[0] ? boot : "-", pidns,
                     (long) getpid (),
                     expired ? 0LL
                             : (long long) time (NULL) + VS_LEASE_SECONDS);
}

static char *
owner_lease_path (const char *dir, const char *run)
{
    char name[64];

    snprintf (name, sizeof name, ".vmshift.%s.lease", run);
    return vs_path_join (dir, name);
}

/* expired: the run ends, so anyone may remove what is left */
static int
owner_lease_write (struct vs_owner *o, struct backend *be, const char *path,
                   bool create, bool expired)
{
    char text[OWNER_LEASE_MAX];
    struct be_file *f = NULL;
    int n = owner_lease_text (o, text, sizeof text, expired);
    int r = backend_open (be, path, create ? BE_RDWR | BE_CREATE : BE_RDWR, &f);

    if (r == 0) {
        r = backend_pwrite (f, text, (size_t) n, 0);
    }
    if (r == 0) {
        r = backend_flush (f);
    }
    backend_close (f);
    if (r < 0 && f && create) {
        /* a lease that says nothing must not stay */
        struct vmshift_error_save saved;

        error_save (&saved);
        backend_unlink (be, path);
        error_restore (&saved);
    }
    return r;
}

int
vs_owner_hold (struct vs_owner *o, struct backend *be, const char *dir)
{
    char *path = owner_lease_path (dir, o->run);
    int r = 0;

    if (path == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    pthread_mutex_lock (&o->lock);
    for (size_t i = 0; i < o->n; i++) {
        if (strcmp (o->leases[i], path) == 0) {
            goto out;           /* held already */
        }
    }
    if (o->n == VS_OWNER_MAX_LEASES) {
        r = set_error (EMFILE, "more than %d target directories in one run",
                       VS_OWNER_MAX_LEASES);
        goto out;
    }
    r = owner_lease_write (o, be, path, true, false);
    if (r == -EEXIST) {
        /* Our run ID's lease, left by an earlier process of the same run
         * (a resumed migration run passes its ID on; IDs are random
         * otherwise): taken over, rewritten in place. */
        clear_error ();
        r = owner_lease_write (o, be, path, false, false);
    }
    if (r == 0) {
        o->leases[o->n++] = path;
        path = NULL;
        if (o->last_renew == 0) {
            o->last_renew = owner_mono ();
        }
        vs_log_debug (o->log, LOGM_EXEC, "run %s holds a lease in '%s'",
                      o->run, dir);
    }
out:
    pthread_mutex_unlock (&o->lock);
    free (path);
    return r;
}

void
vs_owner_renew (struct vs_owner *o, struct backend *be, bool force)
{
    struct vmshift_error_save saved;
    double now;

    if (o == NULL) {
        return;
    }
    now = owner_mono ();
    pthread_mutex_lock (&o->lock);
    if (force || now - o->last_renew >= VS_LEASE_RENEW) {
        error_save (&saved);
        for (size_t i = 0; i < o->n; i++) {
            if (owner_lease_write (o, be, o->leases[i], false, false) < 0) {
                vs_log_msg (o->log, LOG_WARN, "cannot renew the lease '%s': "
                            "%s", o->leases[i], vmshift_internal_error_msg ());
            }
        }
        error_restore (&saved);
        o->last_renew = now;
    }
    pthread_mutex_unlock (&o->lock);
}

void
vs_owner_release (struct vs_owner *o, struct backend *be)
{
    struct vmshift_error_save saved;

    if (o == NULL || o->run[0] == '\0') {
        return;
    }
    error_save (&saved);
    for (size_t i = 0; i < o->n; i++) {
        if (be && backend_unlink (be, o->leases[i]) < 0 &&
            vmshift_internal_error_errno () != ENOENT) {
            /* at least say the run is over, so the next run removes it */
            int r = owner_lease_write (o, be, o->leases[i], false, true);

            vs_log_msg (o->log, LOG_WARN, "cannot remove the lease '%s'%s",
                        o->leases[i], r == 0 ? " (marked expired)" : "");
        }
        free (o->leases[i]);
    }
    error_restore (&saved);
    pthread_mutex_destroy (&o->lock);
    memset (o, 0, sizeof *o);
}

/* The value of "key " in a lease's text, trimmed; "" when absent. */
static void
owner_field (const char *text, const char *key, char *out, size_t n)
{
    size_t kl = strlen (key);
    const char *p = text;

    out[0] = '\0';
    while (p && *p) {
        if (strncmp (p, key, kl) == 0 && p[kl] == ' ') {
            const char *v = p + kl + 1, *e = strchr (v, '\n');
            size_t l = e ? (size_t) (e - v) : strlen (v);

            while (l > 0 && v[l - 1] == ' ') {
                l--;
            }
            while (l > 0 && *v == ' ') {
                v++;
                l--;
            }
            snprintf (out, n, "%.*s", (int) l, v);
            return;
        }
        p = strchr (p, '\n');
        p = p ? p + 1 : NULL;
    }
}

int
vs_owner_run_gone (struct backend *be, const char *dir, const char *run,
                   const struct logger *log)
{
    char text[OWNER_LEASE_MAX + 1], v[80], boot[40], myboot[40];
    unsigned long long pidns, mypidns;
    char *path = owner_lease_path (dir, run);
    struct be_file *f = NULL;
    int64_t size;
    long long expires;
    long pid;
    int r;

    if (path == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    r = backend_open (be, path, BE_RDONLY, &f);
    if (r == -ENOENT) {
        /* a run takes its lease before it makes any file of its own and
         * drops it after the last: no lease, no live owner */
        clear_error ();
        free (path);
        return 1;
    }
    size = r == 0 ? backend_get_size (f) : r;
    if (size >= 0) {
        size = size > OWNER_LEASE_MAX ? OWNER_LEASE_MAX : size;
        r = backend_pread (f, text, (size_t) size, 0);
        text[r == 0 ? size : 0] = '\0';
    } else {
        r = (int) size;
    }
    backend_close (f);
    if (r < 0) {
        free (path);
        return r;
    }
    if (size == 0) {
        /* Made but not yet written: its run (another thread of ours, or
         * another process) writes it right after the create, and has no
         * file of its own before that.  Alive; nothing to warn about. */
        vs_log_debug (log, LOGM_EXEC, "'%s' is being written; its run's "
                      "files are left alone", path);
        free (path);
        return 0;
    }
    owner_field (text, "expires", v, sizeof v);
    if (strncmp (text, "vmshift-lease 1\n", 16) != 0 || v[0] == '\0') {
        vs_log_msg (log, LOG_WARN, "'%s' is not a lease vmshift can read; "
                    "its run's files are left alone", path);
        free (path);
        return 0;
    }
    free (path);
    expires = strtoll (v, NULL, 10);
    if (expires < (long long) time (NULL)) {
        return 1;
    }
    owner_field (text, "boot", boot, sizeof boot);
    owner_field (text, "pidns", v, sizeof v);
    pidns = strtoull (v, NULL, 10);
    owner_field (text, "pid", v, sizeof v);
    pid = strtol (v, NULL, 10);
    owner_where (myboot, &mypidns);
    /* A PID is only meaningful on the same boot in the same PID
     * namespace. */
    if (myboot[0] && strcmp (boot, myboot) == 0 && mypidns && pidns == mypidns &&
        pid > 0 && kill ((pid_t) pid, 0) < 0 && errno == ESRCH) {
        return 1;
    }
    return 0;
}

int
vs_owner_lease_mine (struct backend *be, const char *dir, const char *run)
{
    char text[OWNER_LEASE_MAX + 1], v[80], boot[40], myboot[40];
    unsigned long long mypidns;
    char *path = owner_lease_path (dir, run);
    struct be_file *f = NULL;
    int64_t size;
    int r;

    r = path ? backend_open (be, path, BE_RDONLY, &f) : -ENOMEM;
    free (path);
    size = r == 0 ? backend_get_size (f) : -1;
    if (size >= 0) {
        size = size > OWNER_LEASE_MAX ? OWNER_LEASE_MAX : size;
        r = backend_pread (f, text, (size_t) size, 0);
    }
    backend_close (f);
    if (r < 0 || size < 0) {
        clear_error ();
        return 0;
    }
    text[size] = '\0';
    owner_where (myboot, &mypidns);
    owner_field (text, "boot", boot, sizeof boot);
    if (myboot[0] == '\0' || strcmp (boot, myboot) != 0) {
        return 0;
    }
    owner_field (text, "pidns", v, sizeof v);
    if (mypidns == 0 || strtoull (v, NULL, 10) != mypidns) {
        return 0;
    }
    owner_field (text, "pid", v, sizeof v);
    return strtol (v, NULL, 10) == (long) getpid ();
}

long
vs_owner_file_pid (const char *entry)
{
    const char *p = entry + 9;

    if (strncmp (entry, ".vmshift.", 9) != 0 || strlen (p) < 10 ||
        p[8] != '.') {
        return -1;
    }
    p += 9;
    return strspn (p, "0123456789") > 0 ? strtol (p, NULL, 10) : -1;
}

int
vs_owner_file_name (const struct vs_owner *o, const char *name,
                    const char *kind, char *out, size_t n)
{
    char h[9];

    vs_owner_name_hash (name, h);
    if ((size_t) snprintf (out, n, ".vmshift.%s.%ld.%s.%s", h, (long) getpid (),
                           o->run, kind) >= n) {
        return set_error (ENAMETOOLONG, "run file name too long");
    }
    return 0;
}

bool
vs_owner_parse_file (const char *entry, const char *name, char *run,
                     char *kind, size_t kind_size)
{
    const char *p = entry + 9, *dot;
    char h[9];

    if (strncmp (entry, ".vmshift.", 9) != 0 || strlen (p) < 9 || p[8] != '.') {
        return false;
    }
    if (name) {
        vs_owner_name_hash (name, h);
        if (strncmp (p, h, 8) != 0) {
            return false;
        }
    }
    p += 9;                                     /* pid */
    dot = strchr (p, '.');
    if (dot == NULL || dot == p || strspn (p, "0123456789") != (size_t) (dot - p)) {
        return false;
    }
    p = dot + 1;                                /* run */
    if (strlen (p) < VS_RUN_HEX + 2 || !vs_owner_run_ok (p, VS_RUN_HEX) ||
        p[VS_RUN_HEX] != '.') {
        return false;
    }
    memcpy (run, p, VS_RUN_HEX);
    run[VS_RUN_HEX] = '\0';
    snprintf (kind, kind_size, "%s", p + VS_RUN_HEX + 1);
    return true;
}

bool
vs_owner_parse_lease (const char *entry, char *run)
{
    size_t l = strlen (entry);

    if (l != 9 + VS_RUN_HEX + 6 || strncmp (entry, ".vmshift.", 9) != 0 ||
        strcmp (entry + 9 + VS_RUN_HEX, ".lease") != 0 ||
        !vs_owner_run_ok (entry + 9, VS_RUN_HEX)) {
        return false;
    }
    memcpy (run, entry + 9, VS_RUN_HEX);
    run[VS_RUN_HEX] = '\0';
    return true;
}
