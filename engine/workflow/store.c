/* The run store's generic part: opening by spec, the default path, and
 * the checked wrappers that are the only callers of the ops (see
 * store.h and docs/internals/store.md). */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/base/error.h"
#include "engine/workflow/store.h"

#define WF_STORE_MAX_SCHEMES 8

static struct {
    char scheme[32];
    wf_store_opener open;
} wf_store_schemes[WF_STORE_MAX_SCHEMES];
static int wf_store_nschemes;
static pthread_mutex_t wf_store_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t wf_store_once = PTHREAD_ONCE_INIT;

/* Add or replace scheme's opener; the caller holds wf_store_lock. */
static int
wf_store_add (const char *scheme, wf_store_opener open)
{
    for (int i = 0; i < wf_store_nschemes; i++) {
        if (strcmp (wf_store_schemes[i].scheme, scheme) == 0) {
            wf_store_schemes[i].open = open;
            return 0;
        }
    }
    if (wf_store_nschemes == WF_STORE_MAX_SCHEMES) {
        return set_error (ENOSPC, "store: too many store kinds registered");
    }
    strcpy (wf_store_schemes[wf_store_nschemes].scheme, scheme);
    wf_store_schemes[wf_store_nschemes++].open = open;
    return 0;
}

/* The store kinds built in besides SQLite. */
static void
wf_store_builtins (void)
{
    pthread_mutex_lock (&wf_store_lock);
    wf_store_add ("postgresql", wf_store_pg_open);
    wf_store_add ("postgres", wf_store_pg_open);
    pthread_mutex_unlock (&wf_store_lock);
}

int
wf_store_register (const char *scheme, wf_store_opener open)
{
    int r;

    if (!scheme || !*scheme || strlen (scheme) >= 32 || !open) {
        return set_error (EINVAL, "store: bad scheme registration");
    }
    /* the built-in kinds first, so a caller's opener replaces them */
    pthread_once (&wf_store_once, wf_store_builtins);
    pthread_mutex_lock (&wf_store_lock);
    r = wf_store_add (scheme, open);
    pthread_mutex_unlock (&wf_store_lock);
    return r;
}

static int
wf_store_mkdirs (const char *path)
{
    char buf[PATH_MAX];
    size_t n = strlen (path);

    if (n >= sizeof buf) {
        return set_error (ENAMETOOLONG, "store: path too long");
    }
    memcpy (buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') {
            continue;
        }
        *p = '\0';
        if (mkdir (buf, 0700) < 0 && errno != EEXIST) {
            int e = errno;
            return set_error (e, "store: cannot create folder '%s': %s", buf,
                              strerror (e));
        }
        *p = '/';
    }
    return 0;
}

int
wf_store_default_path (char **out)
{
    const char *env = getenv ("VMSHIFT_STORE");
    const char *state, *home;
    char buf[PATH_MAX];
    int n;

    *out = NULL;
    if (env && *env) {
        n = snprintf (buf, sizeof buf, "%s", env);
    } else if (geteuid () == 0) {
        n = snprintf (buf, sizeof buf, "/var/lib/vmshift/vmshift.db");
    } else if ((state = getenv ("XDG_STATE_HOME")) && state[0] == '/') {
        n = snprintf (buf, sizeof buf, "%s/vmshift/vmshift.db", state);
    } else if ((home = getenv ("HOME")) && home[0] == '/') {
        n = snprintf (buf, sizeof buf, "%s/.local/state/vmshift/vmshift.db",
                      home);
    } else {
        return set_error (ENOENT, "store: no default location "
                          "(HOME unset); give --store or VMSHIFT_STORE");
    }
    if (n < 0 || (size_t) n >= sizeof buf) {
        return set_error (ENAMETOOLONG, "store: path too long");
    }
    *out = strdup (buf);
    return *out ? 0 : set_error (ENOMEM, "out of memory");
}

int
wf_store_open (const char *spec, struct wf_store **out)
{
    char *def = NULL;
    const char *colon;
    int r;

    *out = NULL;
    pthread_once (&wf_store_once, wf_store_builtins);
    if (!spec || !*spec) {
        if ((r = wf_store_default_path (&def)) < 0) {
            return r;
        }
        spec = def;
    }
    colon = strchr (spec, ':');
    if (colon && spec[0] != '/' && spec[0] != '.') {
        size_t sl = (size_t) (colon - spec);
        wf_store_opener open = NULL;

        pthread_mutex_lock (&wf_store_lock);
        for (int i = 0; i < wf_store_nschemes; i++) {
            if (strlen (wf_store_schemes[i].scheme) == sl &&
                memcmp (wf_store_schemes[i].scheme, spec, sl) == 0) {
                open = wf_store_schemes[i].open;
            }
        }
        pthread_mutex_unlock (&wf_store_lock);
        if (open) {
            r = open (spec, out);
            free (def);         /* spec may be def */
            return r;
        }
        if (sl == 6 && memcmp (spec, "sqlite", 6) == 0) {
            spec = colon + 1;
        } else {
            r = set_error (ENOTSUP, "store: unknown store kind '%.*s' in "
                           "'%s'", (int) sl, spec, spec);
            free (def);
            return r;
        }
    }
    if ((r = wf_store_mkdirs (spec)) == 0) {
        r = wf_store_sqlite_open (spec, out);
    }
    free (def);
    return r;
}

void
wf_store_close (struct wf_store *s)
{
    if (s) {
        s->ops->close (s);
    }
}

/* VMSHIFT_TEST_OWNER_HOST (for the tests only; docs/jobs.md, "Leases")
 * names this process after another host, so that a test can play a
 * runner on a host that died: its lease is only let go by expiry. */
void
wf_store_owner_self (char *buf, size_t n)
{
    const char *fake = getenv ("VMSHIFT_TEST_OWNER_HOST");
    char host[256];

    if (fake && *fake && !strchr (fake, ':')) {
        snprintf (host, sizeof host, "%s", fake);
    } else if (gethostname (host, sizeof host) < 0) {
        strcpy (host, "localhost");
    }
    host[sizeof host - 1] = '\0';
    snprintf (buf, n, "%s:%ld", host, (long) getpid ());
}

int
wf_store_owner_dead (const char *owner)
{
    char host[256];
    const char *colon;
    char *end;
    long pid;

    if (!owner || !(colon = strrchr (owner, ':'))) {
        return 0;
    }
    if (gethostname (host, sizeof host) < 0) {
        return 0;
    }
    host[sizeof host - 1] = '\0';
    if (strlen (host) != (size_t) (colon - owner) ||
        memcmp (host, owner, strlen (host)) != 0) {
        return 0;
    }
    errno = 0;
    pid = strtol (colon + 1, &end, 10);
    if (errno || *end || pid <= 0 || pid > INT_MAX) {
        return 0;
    }
    if (kill ((pid_t) pid, 0) < 0 && errno == ESRCH) {
        return 1;
    }
    return 0;
}

void
wf_run_rec_clear (struct wf_run_rec *r)
{
    if (r) {
        free (r->kind);
        free (r->name);
        free (r->state);
        free (r->doc);
        free (r->detail);
        free (r->owner);
        memset (r, 0, sizeof *r);
    }
}

void
wf_item_rec_clear (struct wf_item_rec *r)
{
    if (r) {
        free (r->item);
        free (r->state);
        free (r->detail);
        memset (r, 0, sizeof *r);
    }
}

void
wf_journal_rec_clear (struct wf_journal_rec *r)
{
    if (r) {
        free (r->item);
        free (r->step);
        free (r->intent);
        free (r->result);
        memset (r, 0, sizeof *r);
    }
}

void
wf_lease_rec_clear (struct wf_lease_rec *r)
{
    if (r) {
        free (r->key);
        free (r->owner);
        memset (r, 0, sizeof *r);
    }
}

const char *
wf_journal_status_name (enum wf_journal_status st)
{
    switch (st) {
    case WF_J_INTENT: return "intent";
    case WF_J_DONE: return "done";
    case WF_J_UNDONE: return "undone";
    case WF_J_FAILED: return "failed";
    }
    return "?";
}

/* ------------------------------------------------------------ wrappers */

#define WF_CHECK_STORE(s) do { \
        if (!(s) || !(s)->ops) { \
            return set_error (EINVAL, "store: not open"); \
        } \
    } while (0)
#define WF_CHECK_STR(x, what) do { \
        if (!(x) || !*(x)) { \
            return set_error (EINVAL, "store: empty %s", (what)); \
        } \
    } while (0)
#define WF_CHECK_ID(id) do { \
        if ((id) <= 0) { \
            return set_error (EINVAL, "store: bad run id %lld", \
                              (long long) (id)); \
        } \
    } while (0)

int
wf_store_schema_version (struct wf_store *s, int *version)
{
    WF_CHECK_STORE (s);
    return s->ops->schema_version (s, version);
}

int
wf_store_begin (struct wf_store *s)
{
    WF_CHECK_STORE (s);
    return s->ops->begin (s);
}

int
wf_store_commit (struct wf_store *s)
{
    WF_CHECK_STORE (s);
    return s->ops->commit (s);
}

int
wf_store_rollback (struct wf_store *s)
{
    WF_CHECK_STORE (s);
    return s->ops->rollback (s);
}

int
wf_run_create (struct wf_store *s, struct wf_run_rec *r)
{
    WF_CHECK_STORE (s);
    if (!r) {
        return set_error (EINVAL, "store: no run record");
    }
    WF_CHECK_STR (r->kind, "run kind");
    WF_CHECK_STR (r->name, "run name");
    WF_CHECK_STR (r->state, "run state");
    return s->ops->run_create (s, r);
}

int
wf_run_get (struct wf_store *s, int64_t id, struct wf_run_rec *r)
{
    WF_CHECK_STORE (s);
    WF_CHECK_ID (id);
    memset (r, 0, sizeof *r);
    return s->ops->run_get (s, id, r);
}

int
wf_run_set_state (struct wf_store *s, int64_t id, const char *state,
                  const char *detail)
{
    WF_CHECK_STORE (s);
    WF_CHECK_ID (id);
    WF_CHECK_STR (state, "run state");
    return s->ops->run_set_state (s, id, state, detail);
}

int
wf_run_set_owner (struct wf_store *s, int64_t id, const char *owner)
{
    WF_CHECK_STORE (s);
    WF_CHECK_ID (id);
    return s->ops->run_set_owner (s, id, owner);
}

int
wf_run_request_abort (struct wf_store *s, int64_t id)
{
    WF_CHECK_STORE (s);
    WF_CHECK_ID (id);
    return s->ops->run_request_abort (s, id);
}

int
wf_run_list (struct wf_store *s, const char *kind, wf_run_cb cb, void *opaque)
{
    WF_CHECK_STORE (s);
    if (!cb) {
        return set_error (EINVAL, "store: no callback");
    }
    return s->ops->run_list (s, kind, cb, opaque);
}

int
wf_item_put (struct wf_store *s, int64_t run_id, const char *item,
             const char *state, const char *detail)
{
    WF_CHECK_STORE (s);
    WF_CHECK_ID (run_id);
    WF_CHECK_STR (item, "item name");
    WF_CHECK_STR (state, "item state");
    return s->ops->item_put (s, run_id, item, state, detail);
}

int
wf_item_list (struct wf_store *s, int64_t run_id, wf_item_cb cb, void *opaque)
{
    WF_CHECK_STORE (s);
    WF_CHECK_ID (run_id);
    if (!cb) {
        return set_error (EINVAL, "store: no callback");
    }
    return s->ops->item_list (s, run_id, cb, opaque);
}

int
wf_journal_intent (struct wf_store *s, int64_t run_id, const char *item,
                   const char *step, const char *intent, int64_t *seq)
{
    WF_CHECK_STORE (s);
    WF_CHECK_ID (run_id);
    WF_CHECK_STR (step, "journal step");
    WF_CHECK_STR (intent, "journal intent");
    if (!seq) {
        return set_error (EINVAL, "store: no seq output");
    }
    return s->ops->journal_intent (s, run_id, item ? item : "", step, intent,
                                   seq);
}

int
wf_journal_finish (struct wf_store *s, int64_t seq,
                   enum wf_journal_status status, const char *result)
{
    WF_CHECK_STORE (s);
    if (seq <= 0) {
        return set_error (EINVAL, "store: bad journal seq %lld",
                          (long long) seq);
    }
    if (status != WF_J_DONE && status != WF_J_UNDONE &&
        status != WF_J_FAILED) {
        return set_error (EINVAL, "store: journal entry %lld cannot go back "
                          "to '%s'", (long long) seq,
                          wf_journal_status_name (status));
    }
    return s->ops->journal_finish (s, seq, status, result);
}

int
wf_journal_list (struct wf_store *s, int64_t run_id, wf_journal_cb cb,
                 void *opaque)
{
    WF_CHECK_STORE (s);
    WF_CHECK_ID (run_id);
    if (!cb) {
        return set_error (EINVAL, "store: no callback");
    }
    return s->ops->journal_list (s, run_id, cb, opaque);
}

/* What every op that writes a lease checks. */
static int
wf_lease_args_check (const char *key, int64_t run_id, const char *owner,
                     int ttl)
{
    WF_CHECK_STR (key, "lease key");
    WF_CHECK_ID (run_id);
    WF_CHECK_STR (owner, "lease owner");
    if (ttl <= 0) {
        return set_error (EINVAL, "store: lease ttl must be > 0");
    }
    return 0;
}

int
wf_lease_acquire (struct wf_store *s, const char *key, int64_t run_id,
                  const char *owner, int ttl, struct wf_lease_rec *holder)
{
    int r;

    WF_CHECK_STORE (s);
    if ((r = wf_lease_args_check (key, run_id, owner, ttl)) < 0) {
        return r;
    }
    if (holder) {
        memset (holder, 0, sizeof *holder);
    }
    return s->ops->lease_acquire (s, key, run_id, owner, ttl, holder);
}

int
wf_lease_steal (struct wf_store *s, const char *key,
                const char *expected_owner, int64_t run_id,
                const char *owner, int ttl)
{
    int r;

    WF_CHECK_STORE (s);
    WF_CHECK_STR (expected_owner, "expected lease owner");
    if ((r = wf_lease_args_check (key, run_id, owner, ttl)) < 0) {
        return r;
    }
    return s->ops->lease_steal (s, key, expected_owner, run_id, owner, ttl);
}

int
wf_lease_release (struct wf_store *s, const char *key, int64_t run_id)
{
    WF_CHECK_STORE (s);
    WF_CHECK_STR (key, "lease key");
    WF_CHECK_ID (run_id);
    return s->ops->lease_release (s, key, run_id);
}

int
wf_lease_get (struct wf_store *s, const char *key, struct wf_lease_rec *out)
{
    WF_CHECK_STORE (s);
    WF_CHECK_STR (key, "lease key");
    memset (out, 0, sizeof *out);
    return s->ops->lease_get (s, key, out);
}

int
wf_event_add (struct wf_store *s, int64_t run_id, const char *json)
{
    WF_CHECK_STORE (s);
    WF_CHECK_ID (run_id);
    WF_CHECK_STR (json, "event");
    return s->ops->event_add (s, run_id, json);
}

int
wf_event_list (struct wf_store *s, int64_t run_id, int64_t after,
               wf_event_cb cb, void *opaque)
{
    WF_CHECK_STORE (s);
    WF_CHECK_ID (run_id);
    if (!cb) {
        return set_error (EINVAL, "store: no callback");
    }
    return s->ops->event_list (s, run_id, after, cb, opaque);
}

/* The appended ops: a table older than them has a smaller struct_size. */
#define WF_HAS_OP(s, op) \
    ((s)->ops->struct_size >= offsetof (struct wf_store_ops, op) + \
     sizeof (s)->ops->op && (s)->ops->op != NULL)

int
wf_store_set_durability (struct wf_store *s, enum wf_store_durability d)
{
    WF_CHECK_STORE (s);
    if (d != WF_DUR_EVERY && d != WF_DUR_INTENTS) {
        return set_error (EINVAL, "store: bad durability %d", (int) d);
    }
    return WF_HAS_OP (s, set_durability) ? s->ops->set_durability (s, d) : 0;
}

int
wf_store_sync (struct wf_store *s)
{
    WF_CHECK_STORE (s);
    return WF_HAS_OP (s, sync) ? s->ops->sync (s) : 0;
}

int
wf_store_stats (struct wf_store *s, struct wf_store_stats *st)
{
    WF_CHECK_STORE (s);
    if (!st) {
        return set_error (EINVAL, "store: no stats to fill");
    }
    memset (st, 0, sizeof *st);
    if (!WF_HAS_OP (s, stats)) {
        return set_error (ENOTSUP, "store '%s': no counters", s->ops->name);
    }
    return s->ops->stats (s, st);
}

int
wf_lease_renew (struct wf_store *s, const char *key, int64_t run_id,
                const char *owner, int ttl)
{
    int r;

    WF_CHECK_STORE (s);
    if ((r = wf_lease_args_check (key, run_id, owner, ttl)) < 0) {
        return r;
    }
    if (!WF_HAS_OP (s, lease_renew)) {
        return set_error (ENOTSUP, "store '%s': leases cannot be renewed",
                          s->ops->name);
    }
    return s->ops->lease_renew (s, key, run_id, owner, ttl);
}

int
wf_store_id (struct wf_store *s, const char **id)
{
    const char *v = NULL;
    int r;

    WF_CHECK_STORE (s);
    if (!id) {
        return set_error (EINVAL, "store: no ID to fill");
    }
    *id = NULL;
    if (!WF_HAS_OP (s, store_id)) {
        return set_error (ENOTSUP, "store '%s': no store ID", s->ops->name);
    }
    if ((r = s->ops->store_id (s, &v)) < 0) {
        return r;
    }
    if (!v || strlen (v) != WF_STORE_ID_LEN ||
        strspn (v, "0123456789abcdef") != WF_STORE_ID_LEN) {
        return set_error (EINVAL, "store '%s': its ID '%.40s' is not %d "
                          "lowercase hex digits", s->ops->name, v ? v : "",
                          WF_STORE_ID_LEN);
    }
    *id = v;
    return 0;
}
