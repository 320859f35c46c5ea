/* The run store: a small interface behind which runs, per-item state, the
 * side-effect journal, leases and events are kept durably (see
 * docs/internals/store.md).
 *
 * The steps of a run (engine/workflow/run.c), scheduled jobs and anything
 * else that must survive a crash talk only to this interface.  A store is
 * one struct of callbacks (as a backend is, engine/backend/backend.h);
 * store-sqlite.c is the single-host implementation, and a shared store
 * (PostgreSQL, for many workers) is another implementation of the same
 * ops.  The generic wrappers in store.c check arguments once and are the
 * only callers of the ops.
 *
 * Rules every implementation keeps:
 * - Every op returns 0 (or a count) or a negative errno and sets the
 *   error message (engine/base/error.h).
 * - Every write is durable when the op returns, unless it is inside
 *   begin/commit, in which case it is durable at commit; a handle set to
 *   WF_DUR_INTENTS (set_durability) syncs only at the durable points and
 *   keeps every other write in order behind them (see below).
 * - A handle is used by one thread at a time; separate handles (also in
 *   separate processes) to the same store see each other's commits.
 * - Strings are UTF-8, NUL-terminated; "JSON" arguments are stored
 *   verbatim (the store never parses them).
 * - Times are seconds since the epoch (UTC), taken by the store.
 */
#ifndef VMSHIFT_WORKFLOW_STORE_H
#define VMSHIFT_WORKFLOW_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wf_store;

/* One run (a migration run, a job run). */
struct wf_run_rec {
    int64_t id;                 /* assigned by run_create, > 0 */
    char *kind;                 /* "migrate", "job", ... */
    char *name;                 /* blueprint or job name */
    char *state;                /* run state name (engine/workflow/states.c) */
    char *doc;                  /* the input document (JSON), or NULL */
    char *detail;               /* summary or last error (JSON), or NULL */
    char *owner;                /* "host:pid" of the process running it */
    unsigned flags;             /* WF_RUN_* */
    bool abort_requested;
    int64_t created, updated;
};

#define WF_RUN_TEST 1u          /* a test migration (--test) */

/* Per-item (per-VM, per-disk) state of a run. */
struct wf_item_rec {
    int64_t run_id;
    char *item;                 /* item key, unique within the run */
    char *state;
    char *detail;               /* JSON or NULL */
    int64_t updated;
};

/* Journal entry status. */
enum wf_journal_status {
    WF_J_INTENT = 0,            /* about to happen (or half done) */
    WF_J_DONE = 1,              /* happened; result recorded */
    WF_J_UNDONE = 2,            /* undone (cleanup, abort, resume) */
    WF_J_FAILED = 3,            /* did not happen; result holds why */
};

struct wf_journal_rec {
    int64_t run_id;
    int64_t seq;                /* increasing within a store, > 0 */
    char *item;                 /* "" for run-wide steps */
    char *step;                 /* "snapshot", "clone", "define", ... */
    enum wf_journal_status status;
    char *intent;               /* JSON: what is about to be done */
    char *result;               /* JSON or NULL: what it made */
    int64_t t_intent, t_result;
};

/* A lease: a named claim held by one run, with an expiry.  "Two runs of
 * the same blueprint at once" is a lease named "blueprint:NAME". */
struct wf_lease_rec {
    char *key;
    int64_t run_id;
    char *owner;                /* "host:pid" */
    int64_t expires;
};

struct wf_event_rec {
    int64_t run_id;
    int64_t seq;
    int64_t time;
    char *json;
};

/* Durability of a handle's writes (docs/internals/store.md,
 * "Durability").
 * WF_DUR_EVERY (the default): every write is durable when its op (or the
 *   commit of its transaction) returns.
 * WF_DUR_INTENTS: only the durable points are synced: a journal_intent
 *   (when it returns, or at the commit of the transaction holding it),
 *   run_create, run_request_abort, and sync.  Every other write is
 *   visible to other handles and survives the death of the process when
 *   it returns, and becomes durable at the next durable point, in order:
 *   a power loss can lose only writes made after the last durable point,
 *   never an earlier one. */
enum wf_store_durability {
    WF_DUR_EVERY = 0,
    WF_DUR_INTENTS = 1,
};

/* What a handle has written since it was opened. */
struct wf_store_stats {
    uint64_t commits;           /* write transactions committed (a write
                                 * outside begin/commit is one) */
    uint64_t syncs;             /* durable points: syncs of the store's log */
};

typedef int (*wf_run_cb) (void *opaque, const struct wf_run_rec *r);
typedef int (*wf_item_cb) (void *opaque, const struct wf_item_rec *r);
typedef int (*wf_journal_cb) (void *opaque, const struct wf_journal_rec *r);
typedef int (*wf_event_cb) (void *opaque, const struct wf_event_rec *r);

/* For implementations of the *_list ops: a listing's callback (the one
 * for the kind of record listed) and the run the rows belong to. */
struct wf_list_ctx {
    int64_t run_id;
    wf_run_cb run;
    wf_item_cb item;
    wf_journal_cb journal;
    wf_event_cb event;
    void *opaque;
};

/* The vtable.  Every op is required except where noted.  Callbacks of
 * the *_list ops may not call the store; a non-zero return from a
 * callback stops the listing and is returned. */
struct wf_store_ops {
    size_t struct_size;         /* sizeof (struct wf_store_ops) */
    const char *name;           /* "sqlite", "postgresql" */

    void (*close) (struct wf_store *s);
    /* The schema version the store is at (after open's upgrade). */
    int (*schema_version) (struct wf_store *s, int *version);

    /* A transaction: begin takes the write lock (other writers wait,
     * bounded, then -EBUSY); rollback discards.  Not nestable. */
    int (*begin) (struct wf_store *s);
    int (*commit) (struct wf_store *s);
    int (*rollback) (struct wf_store *s);

    /* Runs.  run_create stores kind, name, state, doc, owner, flags of
     * *r and sets r->id.  run_get fills *r (free with wf_run_rec_clear);
     * -ENOENT if there is no such run.  run_set_state changes the state
     * and, when detail is not NULL, the detail.  run_set_owner records
     * who runs it now (NULL clears it).  run_request_abort sets the flag
     * that the running process reads at its next safe point.  run_list
     * lists runs of a kind (NULL: all), newest first. */
    int (*run_create) (struct wf_store *s, struct wf_run_rec *r);
    int (*run_get) (struct wf_store *s, int64_t id, struct wf_run_rec *r);
    int (*run_set_state) (struct wf_store *s, int64_t id, const char *state,
                          const char *detail);
    int (*run_set_owner) (struct wf_store *s, int64_t id, const char *owner);
    int (*run_request_abort) (struct wf_store *s, int64_t id);
    int (*run_list) (struct wf_store *s, const char *kind, wf_run_cb cb,
                     void *opaque);

    /* Items: item_put creates or replaces (run_id, item).  item_list
     * returns them in the order they were first put. */
    int (*item_put) (struct wf_store *s, int64_t run_id, const char *item,
                     const char *state, const char *detail);
    int (*item_list) (struct wf_store *s, int64_t run_id, wf_item_cb cb,
                      void *opaque);

    /* Journal: journal_intent appends an entry in status WF_J_INTENT and
     * sets *seq; journal_finish moves it to DONE, UNDONE or FAILED with a
     * result (may be NULL); -ENOENT for an unknown seq.  journal_list
     * returns a run's entries in seq order. */
    int (*journal_intent) (struct wf_store *s, int64_t run_id,
                           const char *item, const char *step,
                           const char *intent, int64_t *seq);
    int (*journal_finish) (struct wf_store *s, int64_t seq,
                           enum wf_journal_status status, const char *result);
    int (*journal_list) (struct wf_store *s, int64_t run_id,
                         wf_journal_cb cb, void *opaque);

    /* Leases.  lease_acquire takes key for run_id/owner for ttl seconds
     * when it is free, expired, or already held by the same run_id and
     * owner (a renewal); otherwise -EBUSY with the holder copied into
     * *holder (free with wf_lease_rec_clear).  lease_steal takes key only
     * if it is still held by exactly expected_owner (compare and swap,
     * for a holder known to be dead); -EBUSY otherwise.  lease_release
     * drops key if run_id holds it (0 also when it did not). */
    int (*lease_acquire) (struct wf_store *s, const char *key, int64_t run_id,
                          const char *owner, int ttl,
                          struct wf_lease_rec *holder);
    int (*lease_steal) (struct wf_store *s, const char *key,
                        const char *expected_owner, int64_t run_id,
                        const char *owner, int ttl);
    int (*lease_release) (struct wf_store *s, const char *key, int64_t run_id);
    /* -ENOENT when nobody holds key (expired leases are still returned). */
    int (*lease_get) (struct wf_store *s, const char *key,
                      struct wf_lease_rec *out);

    /* Events: append-only, one JSON object each.  event_list returns
     * those with seq > after, in order. */
    int (*event_add) (struct wf_store *s, int64_t run_id, const char *json);
    int (*event_list) (struct wf_store *s, int64_t run_id, int64_t after,
                       wf_event_cb cb, void *opaque);

    /* Appended ops (struct_size); optional.  set_durability: not inside a
     * transaction (-EBUSY); a store without it keeps WF_DUR_EVERY, which
     * is stricter.  sync: a durable point (everything written before it
     * is durable when it returns).  stats: counters of this handle. */
    int (*set_durability) (struct wf_store *s, enum wf_store_durability d);
    int (*sync) (struct wf_store *s);
    int (*stats) (struct wf_store *s, struct wf_store_stats *st);
    /* lease_renew: a heartbeat.  Moves key's expiry to ttl seconds from
     * now only while run_id and owner still hold it (expired or not, as
     * long as nobody took it since); -EBUSY, naming the holder now, when
     * another run holds it or it was released: the caller lost it. */
    int (*lease_renew) (struct wf_store *s, const char *key, int64_t run_id,
                        const char *owner, int ttl);
    /* store_id: the store's own random ID (WF_STORE_ID_LEN lowercase hex
     * digits), made once in the store itself by the schema step that
     * added it and the same for every handle, here and in other
     * processes; -ENOENT for a store opened below that version.  Run IDs
     * are unique within one store only: names a run leaves outside the
     * store (its snapshots) carry this too (docs/internals/store.md,
     * "Store ID").  *id points into the handle, valid until close. */
    int (*store_id) (struct wf_store *s, const char **id);
};

struct wf_store {
    const struct wf_store_ops *ops;
};

/* Opening.  spec is a file path (SQLite), a postgresql:// URL, or NULL
 * for the default path:
 * $VMSHIFT_STORE, else /var/lib/vmshift/vmshift.db for root, else
 * $XDG_STATE_HOME/vmshift/vmshift.db ($HOME/.local/state when unset).
 * The parent folder is created (mode 0700) when missing.  Other store
 * kinds register an opener for a URI scheme (wf_store_register). */
int wf_store_open (const char *spec, struct wf_store **out);
/* The path wf_store_open (NULL) would use; caller frees. */
int wf_store_default_path (char **out);

typedef int (*wf_store_opener) (const char *spec, struct wf_store **out);
/* Register an opener for specs starting "scheme:" (e.g. "postgresql").
 * At most 8; -ENOSPC beyond. */
int wf_store_register (const char *scheme, wf_store_opener open);

/* SQLite.  wf_store_sqlite_open_at opens (creating) path and upgrades the
 * schema only to max_version (for the upgrade tests; 0 = latest). */
int wf_store_sqlite_open (const char *path, struct wf_store **out);
int wf_store_sqlite_open_at (const char *path, int max_version,
                             struct wf_store **out);
#define WF_STORE_SQLITE_SCHEMA 3

/* PostgreSQL (store-pg.c), for a store shared by many runners: url is a
 * libpq URL (postgresql://[user@]host[:port]/db?...), without a password
 * (refused; libpq reads it from PGPASSFILE, ~/.pgpass or PGPASSWORD).
 * Registered for the schemes "postgresql" and "postgres". */
int wf_store_pg_open (const char *url, struct wf_store **out);
#define WF_STORE_PG_SCHEMA 2

void wf_store_close (struct wf_store *s);

/* Record helpers. */
void wf_run_rec_clear (struct wf_run_rec *r);
void wf_item_rec_clear (struct wf_item_rec *r);
void wf_journal_rec_clear (struct wf_journal_rec *r);
void wf_lease_rec_clear (struct wf_lease_rec *r);
const char *wf_journal_status_name (enum wf_journal_status st);

/* "host:pid" of this process, into buf (>= 300 bytes). */
void wf_store_owner_self (char *buf, size_t n);
/* 1 if owner names a process on this host that no longer exists, 0 if
 * it is alive or on another host (unknown). */
int wf_store_owner_dead (const char *owner);

/* Checked wrappers: the only callers of the ops. */
int wf_store_schema_version (struct wf_store *s, int *version);
int wf_store_begin (struct wf_store *s);
int wf_store_commit (struct wf_store *s);
int wf_store_rollback (struct wf_store *s);
int wf_run_create (struct wf_store *s, struct wf_run_rec *r);
int wf_run_get (struct wf_store *s, int64_t id, struct wf_run_rec *r);
int wf_run_set_state (struct wf_store *s, int64_t id, const char *state,
                      const char *detail);
int wf_run_set_owner (struct wf_store *s, int64_t id, const char *owner);
int wf_run_request_abort (struct wf_store *s, int64_t id);
int wf_run_list (struct wf_store *s, const char *kind, wf_run_cb cb,
                 void *opaque);
int wf_item_put (struct wf_store *s, int64_t run_id, const char *item,
                 const char *state, const char *detail);
int wf_item_list (struct wf_store *s, int64_t run_id, wf_item_cb cb,
                  void *opaque);
int wf_journal_intent (struct wf_store *s, int64_t run_id, const char *item,
                       const char *step, const char *intent, int64_t *seq);
int wf_journal_finish (struct wf_store *s, int64_t seq,
                       enum wf_journal_status status, const char *result);
int wf_journal_list (struct wf_store *s, int64_t run_id, wf_journal_cb cb,
                     void *opaque);
int wf_lease_acquire (struct wf_store *s, const char *key, int64_t run_id,
                      const char *owner, int ttl, struct wf_lease_rec *holder);
int wf_lease_steal (struct wf_store *s, const char *key,
                    const char *expected_owner, int64_t run_id,
                    const char *owner, int ttl);
int wf_lease_release (struct wf_store *s, const char *key, int64_t run_id);
/* -ENOTSUP for a store without the op. */
int wf_lease_renew (struct wf_store *s, const char *key, int64_t run_id,
                    const char *owner, int ttl);
int wf_lease_get (struct wf_store *s, const char *key,
                  struct wf_lease_rec *out);
int wf_event_add (struct wf_store *s, int64_t run_id, const char *json);
int wf_event_list (struct wf_store *s, int64_t run_id, int64_t after,
                   wf_event_cb cb, void *opaque);
/* 0 also for a store without the op (it stays at WF_DUR_EVERY). */
int wf_store_set_durability (struct wf_store *s, enum wf_store_durability d);
/* 0 also for a store without the op (every write is durable already). */
int wf_store_sync (struct wf_store *s);
/* -ENOTSUP for a store without the op. */
int wf_store_stats (struct wf_store *s, struct wf_store_stats *st);
/* The store's ID (store_id above), checked to be WF_STORE_ID_LEN
 * lowercase hex digits; -ENOTSUP for a store without the op. */
#define WF_STORE_ID_LEN 12
int wf_store_id (struct wf_store *s, const char **id);

#endif
