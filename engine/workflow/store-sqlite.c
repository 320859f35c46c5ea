/* The run store on SQLite: one file, WAL mode, a versioned schema with
 * upgrade steps (PRAGMA user_version).  See store.h for the contract and
 * docs/internals/store.md for the schema.
 *
 * SQLite facts relied on (https://www.sqlite.org/wal.html,
 * https://www.sqlite.org/pragma.html): in WAL mode readers do not block
 * the writer; with synchronous=FULL a commit is durable across power
 * loss; BEGIN IMMEDIATE takes the write lock at once, so two processes
 * doing read-then-write (a lease) cannot both succeed; busy_timeout makes
 * a blocked writer wait instead of failing at once.
 *
 * Durability (WF_DUR_INTENTS, docs/internals/store.md): the connection
 * runs at synchronous=NORMAL, where a commit is appended to the WAL
 * without a sync (it survives the death of the process, and other
 * connections see it); at a durable point the WAL file itself is synced
 * (its sqlite3_file, from SQLITE_FCNTL_JOURNAL_POINTER), which makes every
 * frame before it durable.  WAL recovery keeps a prefix of the commits
 * (frames are checksummed in a chain), so what a power loss can lose is
 * only the commits after the last sync. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/base/dl-sqlite.h"
#include "engine/base/error.h"
#include "engine/workflow/store.h"

#define WF_SQLITE_BUSY_MS 15000

struct wf_sqlite {
    struct wf_store base;       /* first: the generic handle */
    sqlite3 *db;
    char *path;
    int version;
    char *id;                   /* the store's ID, read on first use */
    bool in_tx;
    bool tx_durable;            /* the open transaction holds a durable write */
    enum wf_store_durability dur;
    struct wf_store_stats stats;
};

#define WF_SQ(s) ((struct wf_sqlite *) (s))

/* Upgrade steps: step[i] takes the schema from version i to i + 1.  A
 * store is never downgraded; a store newer than this build is refused. */
static const char *const wf_sqlite_steps[WF_STORE_SQLITE_SCHEMA] = {
    /* 0 -> 1: runs, items, journal, leases */
    "CREATE TABLE runs ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " kind TEXT NOT NULL, name TEXT NOT NULL, state TEXT NOT NULL,"
    " doc TEXT, detail TEXT, owner TEXT,"
    " flags INTEGER NOT NULL DEFAULT 0,"
    " created INTEGER NOT NULL, updated INTEGER NOT NULL);"
    "CREATE INDEX runs_kind ON runs (kind, id);"
    "CREATE TABLE items ("
    " run_id INTEGER NOT NULL, item TEXT NOT NULL, ord INTEGER NOT NULL,"
    " state TEXT NOT NULL, detail TEXT, updated INTEGER NOT NULL,"
    " PRIMARY KEY (run_id, item));"
    "CREATE TABLE journal ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " run_id INTEGER NOT NULL, item TEXT NOT NULL, step TEXT NOT NULL,"
    " status INTEGER NOT NULL, intent TEXT NOT NULL, result TEXT,"
    " t_intent INTEGER NOT NULL, t_result INTEGER);"
    "CREATE INDEX journal_run ON journal (run_id, seq);"
    "CREATE TABLE leases ("
    " key TEXT PRIMARY KEY, run_id INTEGER NOT NULL,"
    " owner TEXT NOT NULL, expires INTEGER NOT NULL);",
    /* 1 -> 2: abort requests from another process, and events */
    "ALTER TABLE runs ADD COLUMN abort_requested INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE events ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " run_id INTEGER NOT NULL, time INTEGER NOT NULL, json TEXT NOT NULL);"
    "CREATE INDEX events_run ON events (run_id, seq);",
    /* 2 -> 3: the store's random ID (12 hex digits from SQLite's
     * randomness, which the OS seeds), made once: the upgrade holds the
     * write lock and reads the version again under it, so of two
     * processes opening an older file at once only one runs this step */
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "INSERT INTO meta (key, value)"
    " VALUES ('store_id', lower (hex (randomblob (6))));",
};

static int
wf_sqlite_err (struct wf_sqlite *q, int rc, const char *what)
{
    int e;

    switch (rc & 0xff) {
    case SQLITE_BUSY: case SQLITE_LOCKED: e = EBUSY; break;
    case SQLITE_NOMEM: e = ENOMEM; break;
    case SQLITE_READONLY: case SQLITE_PERM: case SQLITE_AUTH: e = EACCES; break;
    case SQLITE_FULL: e = ENOSPC; break;
    case SQLITE_CONSTRAINT: e = EEXIST; break;
    case SQLITE_NOTADB: case SQLITE_CORRUPT: e = EINVAL; break;
    case SQLITE_CANTOPEN: e = ENOENT; break;
    default: e = EIO; break;
    }
    return set_error (e, "store '%s': %s: %s", q->path, what,
                      q->db ? sqlite3_errmsg (q->db) : sqlite3_errstr (rc));
}

static int64_t
wf_sqlite_now (void)
{
    return (int64_t) time (NULL);
}

static int
wf_sqlite_prep (struct wf_sqlite *q, const char *sql, sqlite3_stmt **st)
{
    int rc = sqlite3_prepare_v2 (q->db, sql, -1, st, NULL);

    if (rc != SQLITE_OK) {
        *st = NULL;
        return wf_sqlite_err (q, rc, "preparing a statement");
    }
    return 0;
}

static int
wf_sqlite_bind_text (sqlite3_stmt *st, int i, const char *s)
{
    return s ? sqlite3_bind_text (st, i, s, -1, SQLITE_TRANSIENT)
             : sqlite3_bind_null (st, i);
}

/* Step a statement that returns no rows, and finalize it. */
static int
wf_sqlite_done (struct wf_sqlite *q, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step (st);
    int r = 0;

    if (rc != SQLITE_DONE) {
        r = wf_sqlite_err (q, rc, what);
    }
    sqlite3_finalize (st);
    return r;
}

static int
wf_sqlite_exec (struct wf_sqlite *q, const char *sql, const char *what)
{
    int rc = sqlite3_exec (q->db, sql, NULL, NULL, NULL);

    return rc == SQLITE_OK ? 0 : wf_sqlite_err (q, rc, what);
}

static char *
wf_sqlite_col (sqlite3_stmt *st, int i, bool *oom)
{
    const unsigned char *t = sqlite3_column_text (st, i);
    char *d;

    if (!t) {
        return NULL;
    }
    if (!(d = strdup ((const char *) t))) {
        *oom = true;
    }
    return d;
}

/* ------------------------------------------------------ durability */

/* Sync the WAL: everything committed before is durable. */
static int
wf_sqlite_sync_wal (struct wf_sqlite *q)
{
    sqlite3_file *f = NULL;
    int rc = sqlite3_file_control (q->db, "main",
                                   SQLITE_FCNTL_JOURNAL_POINTER, &f);

    if (rc == SQLITE_OK && f && f->pMethods && f->pMethods->xSync) {
        rc = f->pMethods->xSync (f, SQLITE_SYNC_NORMAL);
    } else if (rc == SQLITE_OK) {
        rc = SQLITE_IOERR;
    }
    if (rc != SQLITE_OK) {
        return wf_sqlite_err (q, rc, "syncing");
    }
    q->stats.syncs++;
    return 0;
}

/* After a write committed (outside begin/commit, or at commit): count it
 * and, where this is a durable point, sync. */
static int
wf_sqlite_committed (struct wf_sqlite *q, bool durable)
{
    q->stats.commits++;
    if (q->dur == WF_DUR_EVERY) {
        q->stats.syncs++;       /* synchronous=FULL synced it */
        return 0;
    }
    return durable ? wf_sqlite_sync_wal (q) : 0;
}

/* After a write statement: inside a transaction it is durable (or not)
 * with the transaction; outside, it was committed on its own. */
static int
wf_sqlite_wrote (struct wf_sqlite *q, bool durable, int r)
{
    if (r < 0) {
        return r;
    }
    if (q->in_tx) {
        q->tx_durable |= durable;
        return 0;
    }
    return wf_sqlite_committed (q, durable);
}

/* ------------------------------------------------------ transactions */

static int
wf_sqlite_begin (struct wf_store *s)
{
    struct wf_sqlite *q = WF_SQ (s);
    int r;

    if (q->in_tx) {
        return set_error (EBUSY, "store '%s': a transaction is already open",
                          q->path);
    }
    if ((r = wf_sqlite_exec (q, "BEGIN IMMEDIATE", "beginning")) == 0) {
        q->in_tx = true;
        q->tx_durable = false;
    }
    return r;
}

static int
wf_sqlite_commit (struct wf_store *s)
{
    struct wf_sqlite *q = WF_SQ (s);
    int r;

    if (!q->in_tx) {
        return set_error (EINVAL, "store '%s': no transaction to commit",
                          q->path);
    }
    if ((r = wf_sqlite_exec (q, "COMMIT", "committing")) < 0) {
        sqlite3_exec (q->db, "ROLLBACK", NULL, NULL, NULL);
    }
    q->in_tx = false;
    return r < 0 ? r : wf_sqlite_committed (q, q->tx_durable);
}

static int
wf_sqlite_rollback (struct wf_store *s)
{
    struct wf_sqlite *q = WF_SQ (s);

    if (!q->in_tx) {
        return 0;
    }
    q->in_tx = false;
    return wf_sqlite_exec (q, "ROLLBACK", "rolling back");
}

/* For ops that read then write: a transaction of their own unless the
 * caller has one open.  Their writes are never durable points. */
static int
wf_sqlite_tx_begin (struct wf_sqlite *q, bool *own)
{
    *own = !q->in_tx;
    return *own ? wf_sqlite_exec (q, "BEGIN IMMEDIATE", "beginning") : 0;
}

static int
wf_sqlite_tx_end (struct wf_sqlite *q, bool own, int r)
{
    if (!own) {
        return r;
    }
    if (r < 0) {
        struct vmshift_error_save es;

        error_save (&es);
        sqlite3_exec (q->db, "ROLLBACK", NULL, NULL, NULL);
        error_restore (&es);
        return r;
    }
    if ((r = wf_sqlite_exec (q, "COMMIT", "committing")) < 0) {
        return r;
    }
    return wf_sqlite_committed (q, false);
}

static int
wf_sqlite_set_durability (struct wf_store *s, enum wf_store_durability d)
{
    struct wf_sqlite *q = WF_SQ (s);
    int r;

    if (q->in_tx) {
        return set_error (EBUSY, "store '%s': cannot change durability "
                          "inside a transaction", q->path);
    }
    if (d == q->dur) {
        return 0;
    }
    if ((r = wf_sqlite_exec (q, d == WF_DUR_EVERY ? "PRAGMA synchronous = FULL"
                             : "PRAGMA synchronous = NORMAL",
                             "setting synchronous")) < 0) {
        return r;
    }
    if (d == WF_DUR_EVERY && (r = wf_sqlite_sync_wal (q)) < 0) {
        return r;               /* what was written lazily is durable now */
    }
    q->dur = d;
    return 0;
}

static int
wf_sqlite_sync (struct wf_store *s)
{
    struct wf_sqlite *q = WF_SQ (s);

    if (q->in_tx) {
        return set_error (EBUSY, "store '%s': sync inside a transaction",
                          q->path);
    }
    return q->dur == WF_DUR_EVERY ? 0 : wf_sqlite_sync_wal (q);
}

static int
wf_sqlite_stats (struct wf_store *s, struct wf_store_stats *st)
{
    *st = WF_SQ (s)->stats;
    return 0;
}

/* -------------------------------------------------------------- schema */

static int
wf_sqlite_user_version (struct wf_sqlite *q, int *v)
{
    sqlite3_stmt *st;
    int rc, r;

    if ((r = wf_sqlite_prep (q, "PRAGMA user_version", &st)) < 0) {
        return r;
    }
    rc = sqlite3_step (st);
    if (rc != SQLITE_ROW) {
        r = wf_sqlite_err (q, rc, "reading the schema version");
    } else {
        *v = sqlite3_column_int (st, 0);
    }
    sqlite3_finalize (st);
    return r;
}

static int
wf_sqlite_upgrade (struct wf_sqlite *q, int target)
{
    char sql[64];
    int v = 0, r;

    if ((r = wf_sqlite_exec (q, "BEGIN IMMEDIATE", "beginning")) < 0) {
        return r;
    }
    if ((r = wf_sqlite_user_version (q, &v)) < 0) {
        goto fail;
    }
    if (v > WF_STORE_SQLITE_SCHEMA) {
        r = set_error (ENOTSUP, "store '%s': schema version %d is newer than "
                       "this vmshift understands (%d)", q->path, v,
                       WF_STORE_SQLITE_SCHEMA);
        goto fail;
    }
    for (; v < target; v++) {
        if ((r = wf_sqlite_exec (q, wf_sqlite_steps[v],
                                 "upgrading the schema")) < 0) {
            error_prepend ("version %d -> %d: ", v, v + 1);
            goto fail;
        }
    }
    snprintf (sql, sizeof sql, "PRAGMA user_version = %d", v);
    if ((r = wf_sqlite_exec (q, sql, "setting the schema version")) < 0) {
        goto fail;
    }
    if ((r = wf_sqlite_exec (q, "COMMIT", "committing the schema")) < 0) {
        goto fail;
    }
    q->version = v;
    return 0;
fail:
    {
        struct vmshift_error_save es;

        error_save (&es);
        sqlite3_exec (q->db, "ROLLBACK", NULL, NULL, NULL);
        error_restore (&es);
    }
    return r;
}

static int
wf_sqlite_schema_version (struct wf_store *s, int *version)
{
    *version = WF_SQ (s)->version;
    return 0;
}

static void
wf_sqlite_close (struct wf_store *s)
{
    struct wf_sqlite *q = WF_SQ (s);

    if (q->in_tx) {
        sqlite3_exec (q->db, "ROLLBACK", NULL, NULL, NULL);
    }
    sqlite3_close_v2 (q->db);
    free (q->id);
    free (q->path);
    free (q);
}

static int
wf_sqlite_store_id (struct wf_store *s, const char **id)
{
    struct wf_sqlite *q = WF_SQ (s);
    sqlite3_stmt *st;
    bool oom = false;
    int rc, e;

    if (q->id) {
        *id = q->id;
        return 0;
    }
    if (q->version < 3) {
        return set_error (ENOENT, "store '%s': no store ID at schema "
                          "version %d", q->path, q->version);
    }
    if ((e = wf_sqlite_prep (q, "SELECT value FROM meta "
                             "WHERE key = 'store_id'", &st)) < 0) {
        return e;
    }
    rc = sqlite3_step (st);
    if (rc == SQLITE_ROW) {
        q->id = wf_sqlite_col (st, 0, &oom);
        e = oom ? set_error (ENOMEM, "out of memory") : 0;
    } else if (rc == SQLITE_DONE) {
        e = set_error (ENOENT, "store '%s': its store ID is missing",
                       q->path);
    } else {
        e = wf_sqlite_err (q, rc, "reading the store ID");
    }
    sqlite3_finalize (st);
    if (e == 0 && q->id == NULL) {
        e = set_error (ENOENT, "store '%s': its store ID is missing",
                       q->path);
    }
    *id = q->id;
    return e;
}

/* ---------------------------------------------------------------- runs */

static int
wf_sqlite_run_create (struct wf_store *s, struct wf_run_rec *r)
{
    struct wf_sqlite *q = WF_SQ (s);
    sqlite3_stmt *st;
    int64_t now = wf_sqlite_now ();
    int e;

    if ((e = wf_sqlite_prep (q, "INSERT INTO runs (kind, name, state, doc, "
                             "detail, owner, flags, created, updated) "
                             "VALUES (?,?,?,?,?,?,?,?,?)", &st)) < 0) {
        return e;
    }
    wf_sqlite_bind_text (st, 1, r->kind);
    wf_sqlite_bind_text (st, 2, r->name);
    wf_sqlite_bind_text (st, 3, r->state);
    wf_sqlite_bind_text (st, 4, r->doc);
    wf_sqlite_bind_text (st, 5, r->detail);
    wf_sqlite_bind_text (st, 6, r->owner);
    sqlite3_bind_int64 (st, 7, r->flags);
    sqlite3_bind_int64 (st, 8, now);
    sqlite3_bind_int64 (st, 9, now);
    if ((e = wf_sqlite_done (q, st, "creating a run")) < 0) {
        return e;
    }
    r->id = sqlite3_last_insert_rowid (q->db);
    if ((e = wf_sqlite_wrote (q, true, 0)) < 0) {
        return e;
    }
    r->created = r->updated = now;
    return 0;
}

#define WF_RUN_COLS "id, kind, name, state, doc, detail, owner, flags, " \
    "abort_requested, created, updated"

static int
wf_sqlite_run_row (sqlite3_stmt *st, struct wf_run_rec *r)
{
    bool oom = false;

    r->id = sqlite3_column_int64 (st, 0);
    r->kind = wf_sqlite_col (st, 1, &oom);
    r->name = wf_sqlite_col (st, 2, &oom);
    r->state = wf_sqlite_col (st, 3, &oom);
    r->doc = wf_sqlite_col (st, 4, &oom);
    r->detail = wf_sqlite_col (st, 5, &oom);
    r->owner = wf_sqlite_col (st, 6, &oom);
    r->flags = (unsigned) sqlite3_column_int64 (st, 7);
    r->abort_requested = sqlite3_column_int (st, 8) != 0;
    r->created = sqlite3_column_int64 (st, 9);
    r->updated = sqlite3_column_int64 (st, 10);
    if (oom) {
        wf_run_rec_clear (r);
        return set_error (ENOMEM, "out of memory");
    }
    return 0;
}

static int
wf_sqlite_run_get (struct wf_store *s, int64_t id, struct wf_run_rec *r)
{
    struct wf_sqlite *q = WF_SQ (s);
    sqlite3_stmt *st;
    int rc, e;

    if ((e = wf_sqlite_prep (q, "SELECT " WF_RUN_COLS " FROM runs "
                             "WHERE id = ?", &st)) < 0) {
        return e;
    }
    sqlite3_bind_int64 (st, 1, id);
    rc = sqlite3_step (st);
    if (rc == SQLITE_ROW) {
        e = wf_sqlite_run_row (st, r);
    } else if (rc == SQLITE_DONE) {
        e = set_error (ENOENT, "no run %lld in store '%s'", (long long) id,
                       q->path);
    } else {
        e = wf_sqlite_err (q, rc, "reading a run");
    }
    sqlite3_finalize (st);
    return e;
}

static int
wf_sqlite_changed_one (struct wf_sqlite *q, int r, int64_t id)
{
    if (r == 0 && sqlite3_changes (q->db) == 0) {
        return set_error (ENOENT, "no run %lld in store '%s'", (long long) id,
                          q->path);
    }
    return r;
}

static int
wf_sqlite_run_set_state (struct wf_store *s, int64_t id, const char *state,
                         const char *detail)
{
    struct wf_sqlite *q = WF_SQ (s);
    sqlite3_stmt *st;
    int e;

    if ((e = wf_sqlite_prep (q, "UPDATE runs SET state = ?, "
                             "detail = COALESCE (?, detail), updated = ? "
                             "WHERE id = ?", &st)) < 0) {
        return e;
    }
    wf_sqlite_bind_text (st, 1, state);
    wf_sqlite_bind_text (st, 2, detail);
    sqlite3_bind_int64 (st, 3, wf_sqlite_now ());
    sqlite3_bind_int64 (st, 4, id);
    return wf_sqlite_wrote (q, false, wf_sqlite_changed_one (q,
                            wf_sqlite_done (q, st, "updating a run"), id));
}

static int
wf_sqlite_run_set_owner (struct wf_store *s, int64_t id, const char *owner)
{
    struct wf_sqlite *q = WF_SQ (s);
    sqlite3_stmt *st;
    int e;

    if ((e = wf_sqlite_prep (q, "UPDATE runs SET owner = ?, updated = ? "
                             "WHERE id = ?", &st)) < 0) {
        return e;
    }
    wf_sqlite_bind_text (st, 1, owner);
    sqlite3_bind_int64 (st, 2, wf_sqlite_now ());
    sqlite3_bind_int64 (st, 3, id);
    return wf_sqlite_wrote (q, false, wf_sqlite_changed_one (q,
                            wf_sqlite_done (q, st, "updating a run"), id));
}

static int
wf_sqlite_run_request_abort (struct wf_store *s, int64_t id)
{
    struct wf_sqlite *q = WF_SQ (s);
    sqlite3_stmt *st;
    int e;

    if ((e = wf_sqlite_prep (q, "UPDATE runs SET abort_requested = 1, "
                             "updated = ? WHERE id = ?", &st)) < 0) {
        return e;
    }
    sqlite3_bind_int64 (st, 1, wf_sqlite_now ());
    sqlite3_bind_int64 (st, 2, id);
    return wf_sqlite_wrote (q, true, wf_sqlite_changed_one (q,
                            wf_sqlite_done (q, st, "updating a run"), id));
}

/* The current row of st as a record, handed to the listing's callback. */
typedef int (*wf_sqlite_row_fn) (sqlite3_stmt *st,
                                 const struct wf_list_ctx *l);

/* Step a prepared and bound listing, handing each row to row and stopping
 * at the first non-zero (an error, or what the callback returned); then
 * finalize it. */
static int
wf_sqlite_each (struct wf_sqlite *q, sqlite3_stmt *st, const char *what,
                wf_sqlite_row_fn row, const struct wf_list_ctx *l)
{
    int rc, e = 0;

    while ((rc = sqlite3_step (st)) == SQLITE_ROW) {
        if ((e = row (st, l)) != 0) {
            break;
        }
    }
    if (e == 0 && rc != SQLITE_DONE) {
        e = wf_sqlite_err (q, rc, what);
    }
    sqlite3_finalize (st);
    return e;
}

/* A listing of one run's rows: sql has the run as ?1 and, when after is
 * not NULL, *after as ?2. */
static int
wf_sqlite_each_of_run (struct wf_store *s, const char *sql,
                       const int64_t *after, const char *what,
                       wf_sqlite_row_fn row, const struct wf_list_ctx *l)
{
    struct wf_sqlite *q = WF_SQ (s);
    sqlite3_stmt *st;
    int e;

    if ((e = wf_sqlite_prep (q, sql, &st)) < 0) {
        return e;
    }
    sqlite3_bind_int64 (st, 1, l->run_id);
    if (after) {
        sqlite3_bind_int64 (st, 2, *after);
    }
    return wf_sqlite_each (q, st, what, row, l);
}

static int
wf_sqlite_run_one (sqlite3_stmt *st, const struct wf_list_ctx *l)
{
    struct wf_run_rec r = { 0 };
    int e = wf_sqlite_run_row (st, &r);

    if (e == 0) {
        e = l->run (l->opaque, &r);
        wf_run_rec_clear (&r);
    }
    return e;
}

static int
wf_sqlite_run_list (struct wf_store *s, const char *kind, wf_run_cb cb,
                    void *opaque)
{
    struct wf_sqlite *q = WF_SQ (s);
    struct wf_list_ctx l = { .run = cb, .opaque = opaque };
    sqlite3_stmt *st;
    int e;

    if ((e = wf_sqlite_prep (q, kind ? "SELECT " WF_RUN_COLS " FROM runs "
                             "WHERE kind = ? ORDER BY id DESC"
                             : "SELECT " WF_RUN_COLS " FROM runs "
                             "ORDER BY id DESC", &st)) < 0) {
        return e;
    }
    if (kind) {
        wf_sqlite_bind_text (st, 1, kind);
    }
    return wf_sqlite_each (q, st, "listing runs", wf_sqlite_run_one, &l);
}

/* --------------------------------------------------------------- items */

static int
wf_sqlite_item_put (struct wf_store *s, int64_t run_id, const char *item,
                    const char *state, const char *detail)
{
    struct wf_sqlite *q = WF_SQ (s);
    sqlite3_stmt *st;
    int e;

    if ((e = wf_sqlite_prep (q, "INSERT INTO items (run_id, item, ord, "
                             "state, detail, updated) VALUES (?1, ?2, "
                             "(SELECT COALESCE (MAX (ord), 0) + 1 FROM items "
                             "WHERE run_id = ?1), ?3, ?4, ?5) "
                             "ON CONFLICT (run_id, item) DO UPDATE SET "
                             "state = excluded.state, "
                             "detail = excluded.detail, "
                             "updated = excluded.updated", &st)) < 0) {
        return e;
    }
    sqlite3_bind_int64 (st, 1, run_id);
    wf_sqlite_bind_text (st, 2, item);
    wf_sqlite_bind_text (st, 3, state);
    wf_sqlite_bind_text (st, 4, detail);
    sqlite3_bind_int64 (st, 5, wf_sqlite_now ());
    return wf_sqlite_wrote (q, false,
                            wf_sqlite_done (q, st, "writing an item"));
}

static int
wf_sqlite_item_one (sqlite3_stmt *st, const struct wf_list_ctx *l)
{
    struct wf_item_rec r = { .run_id = l->run_id };
    bool oom = false;
    int e;

    r.item = wf_sqlite_col (st, 0, &oom);
    r.state = wf_sqlite_col (st, 1, &oom);
    r.detail = wf_sqlite_col (st, 2, &oom);
    r.updated = sqlite3_column_int64 (st, 3);
    e = oom ? set_error (ENOMEM, "out of memory") : l->item (l->opaque, &r);
    wf_item_rec_clear (&r);
    return e;
}

static int
wf_sqlite_item_list (struct wf_store *s, int64_t run_id, wf_item_cb cb,
                     void *opaque)
{
    struct wf_list_ctx l = { .run_id = run_id, .item = cb,
                             .opaque = opaque };

    return wf_sqlite_each_of_run (s, "SELECT item, state, detail, updated "
                                  "FROM items WHERE run_id = ? ORDER BY ord",
                                  NULL, "listing items", wf_sqlite_item_one,
                                  &l);
}

/* ------------------------------------------------------------- journal */

static int
wf_sqlite_journal_intent (struct wf_store *s, int64_t run_id,
                          const char *item, const char *step,
                          const char *intent, int64_t *seq)
{
    struct wf_sqlite *q = WF_SQ (s);
    sqlite3_stmt *st;
    int e;

    if ((e = wf_sqlite_prep (q, "INSERT INTO journal (run_id, item, step, "
                             "status, intent, t_intent) "
                             "VALUES (?,?,?,?,?,?)", &st)) < 0) {
        return e;
    }
    sqlite3_bind_int64 (st, 1, run_id);
    wf_sqlite_bind_text (st, 2, item);
    wf_sqlite_bind_text (st, 3, step);
    sqlite3_bind_int (st, 4, WF_J_INTENT);
    wf_sqlite_bind_text (st, 5, intent);
    sqlite3_bind_int64 (st, 6, wf_sqlite_now ());
    if ((e = wf_sqlite_done (q, st, "journalling an intent")) < 0) {
        return e;
    }
    *seq = sqlite3_last_insert_rowid (q->db);
    return wf_sqlite_wrote (q, true, 0);
}

static int
wf_sqlite_journal_finish (struct wf_store *s, int64_t seq,
                          enum wf_journal_status status, const char *result)
{
    struct wf_sqlite *q = WF_SQ (s);
    sqlite3_stmt *st;
    int e;

    if ((e = wf_sqlite_prep (q, "UPDATE journal SET status = ?, result = ?, "
                             "t_result = ? WHERE seq = ?", &st)) < 0) {
        return e;
    }
    sqlite3_bind_int (st, 1, status);
    wf_sqlite_bind_text (st, 2, result);
    sqlite3_bind_int64 (st, 3, wf_sqlite_now ());
    sqlite3_bind_int64 (st, 4, seq);
    if ((e = wf_sqlite_done (q, st, "journalling a result")) < 0) {
        return e;
    }
    if (sqlite3_changes (q->db) == 0) {
        return set_error (ENOENT, "no journal entry %lld in store '%s'",
                          (long long) seq, q->path);
    }
    return wf_sqlite_wrote (q, false, 0);
}

static int
wf_sqlite_journal_one (sqlite3_stmt *st, const struct wf_list_ctx *l)
{
    struct wf_journal_rec r = { .run_id = l->run_id };
    bool oom = false;
    int e;

    r.seq = sqlite3_column_int64 (st, 0);
    r.item = wf_sqlite_col (st, 1, &oom);
    r.step = wf_sqlite_col (st, 2, &oom);
    r.status = (enum wf_journal_status) sqlite3_column_int (st, 3);
    r.intent = wf_sqlite_col (st, 4, &oom);
    r.result = wf_sqlite_col (st, 5, &oom);
    r.t_intent = sqlite3_column_int64 (st, 6);
    r.t_result = sqlite3_column_int64 (st, 7);
    e = oom ? set_error (ENOMEM, "out of memory")
            : l->journal (l->opaque, &r);
    wf_journal_rec_clear (&r);
    return e;
}

static int
wf_sqlite_journal_list (struct wf_store *s, int64_t run_id, wf_journal_cb cb,
                        void *opaque)
{
    struct wf_list_ctx l = { .run_id = run_id, .journal = cb,
                             .opaque = opaque };

    return wf_sqlite_each_of_run (s, "SELECT seq, item, step, status, "
                                  "intent, result, t_intent, t_result FROM "
                                  "journal WHERE run_id = ? ORDER BY seq",
                                  NULL, "listing the journal",
                                  wf_sqlite_journal_one, &l);
}

/* -------------------------------------------------------------- leases */

/* Read key's lease into *out; 0 found, -ENOENT none. */
static int
wf_sqlite_lease_read (struct wf_sqlite *q, const char *key,
                      struct wf_lease_rec *out)
{
    sqlite3_stmt *st;
    int rc, e;

    if ((e = wf_sqlite_prep (q, "SELECT run_id, owner, expires FROM leases "
                             "WHERE key = ?", &st)) < 0) {
        return e;
    }
    wf_sqlite_bind_text (st, 1, key);
    rc = sqlite3_step (st);
    if (rc == SQLITE_ROW) {
        bool oom = false;

        out->run_id = sqlite3_column_int64 (st, 0);
        out->owner = wf_sqlite_col (st, 1, &oom);
        out->expires = sqlite3_column_int64 (st, 2);
        out->key = strdup (key);
        e = oom || !out->key ? set_error (ENOMEM, "out of memory") : 0;
        if (e) {
            wf_lease_rec_clear (out);
        }
    } else if (rc == SQLITE_DONE) {
        e = -ENOENT;
    } else {
        e = wf_sqlite_err (q, rc, "reading a lease");
    }
    sqlite3_finalize (st);
    return e;
}

static int
wf_sqlite_lease_write (struct wf_sqlite *q, const char *key, int64_t run_id,
                       const char *owner, int ttl)
{
    sqlite3_stmt *st;
    int e;

    if ((e = wf_sqlite_prep (q, "INSERT OR REPLACE INTO leases (key, run_id, "
                             "owner, expires) VALUES (?,?,?,?)", &st)) < 0) {
        return e;
    }
    wf_sqlite_bind_text (st, 1, key);
    sqlite3_bind_int64 (st, 2, run_id);
    wf_sqlite_bind_text (st, 3, owner);
    sqlite3_bind_int64 (st, 4, wf_sqlite_now () + ttl);
    return wf_sqlite_done (q, st, "writing a lease");
}

static int
wf_sqlite_lease_acquire (struct wf_store *s, const char *key, int64_t run_id,
                         const char *owner, int ttl,
                         struct wf_lease_rec *holder)
{
    struct wf_sqlite *q = WF_SQ (s);
    struct wf_lease_rec cur = { 0 };
    bool own;
    int e;

    if ((e = wf_sqlite_tx_begin (q, &own)) < 0) {
        return e;
    }
    e = wf_sqlite_lease_read (q, key, &cur);
    if (e == 0 && cur.expires > wf_sqlite_now () &&
        !(cur.run_id == run_id && strcmp (cur.owner, owner) == 0)) {
        e = set_error (EBUSY, "'%s' is held by run %lld (%s)", key,
                       (long long) cur.run_id, cur.owner);
        if (holder) {
            *holder = cur;
            memset (&cur, 0, sizeof cur);
        }
    } else if (e == 0 || e == -ENOENT) {
        e = wf_sqlite_lease_write (q, key, run_id, owner, ttl);
    }
    wf_lease_rec_clear (&cur);
    return wf_sqlite_tx_end (q, own, e);
}

/* Rewrite key's lease for run_id/owner only while it is held by
 * expected_owner (and, when expected_run > 0, by that run): a steal and
 * a renewal.  Read and write in one transaction, so that a takeover in
 * between is never overwritten. */
static int
wf_sqlite_lease_swap (struct wf_store *s, const char *key,
                      int64_t expected_run, const char *expected_owner,
                      int64_t run_id, const char *owner, int ttl)
{
    struct wf_sqlite *q = WF_SQ (s);
    struct wf_lease_rec cur = { 0 };
    bool own;
    int e;

    if ((e = wf_sqlite_tx_begin (q, &own)) < 0) {
        return e;
    }
    e = wf_sqlite_lease_read (q, key, &cur);
    if (e == -ENOENT) {
        e = set_error (EBUSY, "'%s' is no longer held by %s: it was "
                       "released", key, expected_owner);
    } else if (e == 0 && (strcmp (cur.owner, expected_owner) != 0 ||
                          (expected_run > 0 && cur.run_id != expected_run))) {
        e = set_error (EBUSY, "'%s' is no longer held by %s: run %lld (%s) "
                       "holds it", key, expected_owner,
                       (long long) cur.run_id, cur.owner);
    } else if (e == 0) {
        e = wf_sqlite_lease_write (q, key, run_id, owner, ttl);
    }
    wf_lease_rec_clear (&cur);
    return wf_sqlite_tx_end (q, own, e);
}

static int
wf_sqlite_lease_steal (struct wf_store *s, const char *key,
                       const char *expected_owner, int64_t run_id,
                       const char *owner, int ttl)
{
    return wf_sqlite_lease_swap (s, key, 0, expected_owner, run_id, owner,
                                 ttl);
}

static int
wf_sqlite_lease_renew (struct wf_store *s, const char *key, int64_t run_id,
                       const char *owner, int ttl)
{
    return wf_sqlite_lease_swap (s, key, run_id, owner, run_id, owner, ttl);
}

static int
wf_sqlite_lease_release (struct wf_store *s, const char *key, int64_t run_id)
{
    struct wf_sqlite *q = WF_SQ (s);
    sqlite3_stmt *st;
    int e;

    if ((e = wf_sqlite_prep (q, "DELETE FROM leases WHERE key = ? AND "
                             "run_id = ?", &st)) < 0) {
        return e;
    }
    wf_sqlite_bind_text (st, 1, key);
    sqlite3_bind_int64 (st, 2, run_id);
    return wf_sqlite_wrote (q, false,
                            wf_sqlite_done (q, st, "releasing a lease"));
}

static int
wf_sqlite_lease_get (struct wf_store *s, const char *key,
                     struct wf_lease_rec *out)
{
    struct wf_sqlite *q = WF_SQ (s);
    int e = wf_sqlite_lease_read (q, key, out);

    if (e == -ENOENT) {
        return set_error (ENOENT, "nobody holds '%s'", key);
    }
    return e;
}

/* -------------------------------------------------------------- events */

static int
wf_sqlite_event_add (struct wf_store *s, int64_t run_id, const char *json)
{
    struct wf_sqlite *q = WF_SQ (s);
    sqlite3_stmt *st;
    int e;

    if ((e = wf_sqlite_prep (q, "INSERT INTO events (run_id, time, json) "
                             "VALUES (?,?,?)", &st)) < 0) {
        return e;
    }
    sqlite3_bind_int64 (st, 1, run_id);
    sqlite3_bind_int64 (st, 2, wf_sqlite_now ());
    wf_sqlite_bind_text (st, 3, json);
    return wf_sqlite_wrote (q, false,
                            wf_sqlite_done (q, st, "adding an event"));
}

static int
wf_sqlite_event_one (sqlite3_stmt *st, const struct wf_list_ctx *l)
{
    struct wf_event_rec r = { .run_id = l->run_id };
    bool oom = false;
    int e;

    r.seq = sqlite3_column_int64 (st, 0);
    r.time = sqlite3_column_int64 (st, 1);
    r.json = wf_sqlite_col (st, 2, &oom);
    e = oom ? set_error (ENOMEM, "out of memory") : l->event (l->opaque, &r);
    free (r.json);
    return e;
}

static int
wf_sqlite_event_list (struct wf_store *s, int64_t run_id, int64_t after,
                      wf_event_cb cb, void *opaque)
{
    struct wf_list_ctx l = { .run_id = run_id, .event = cb,
                             .opaque = opaque };

    return wf_sqlite_each_of_run (s, "SELECT seq, time, json FROM events "
                                  "WHERE run_id = ? AND seq > ? ORDER BY seq",
                                  &after, "listing events",
                                  wf_sqlite_event_one, &l);
}

static const struct wf_store_ops wf_sqlite_ops = {
    .struct_size = sizeof (struct wf_store_ops),
    .name = "sqlite",
    .close = wf_sqlite_close,
    .schema_version = wf_sqlite_schema_version,
    .begin = wf_sqlite_begin,
    .commit = wf_sqlite_commit,
    .rollback = wf_sqlite_rollback,
    .run_create = wf_sqlite_run_create,
    .run_get = wf_sqlite_run_get,
    .run_set_state = wf_sqlite_run_set_state,
    .run_set_owner = wf_sqlite_run_set_owner,
    .run_request_abort = wf_sqlite_run_request_abort,
    .run_list = wf_sqlite_run_list,
    .item_put = wf_sqlite_item_put,
    .item_list = wf_sqlite_item_list,
    .journal_intent = wf_sqlite_journal_intent,
    .journal_finish = wf_sqlite_journal_finish,
    .journal_list = wf_sqlite_journal_list,
    .lease_acquire = wf_sqlite_lease_acquire,
    .lease_steal = wf_sqlite_lease_steal,
    .lease_release = wf_sqlite_lease_release,
    .lease_get = wf_sqlite_lease_get,
    .event_add = wf_sqlite_event_add,
    .event_list = wf_sqlite_event_list,
    .set_durability = wf_sqlite_set_durability,
    .sync = wf_sqlite_sync,
    .stats = wf_sqlite_stats,
    .lease_renew = wf_sqlite_lease_renew,
    .store_id = wf_sqlite_store_id,
};

/* Put the store in WAL mode; journal_mode returns a row (the mode now in
 * force), checked.  Switching a new file's journal mode takes a lock
 * that SQLite does not wait for through the busy handler: with other
 * processes opening the same new store at once, the step fails at once
 * with SQLITE_BUSY ("database is locked"; seen 1 in about 100 runs of
 * four threads opening a new store on a loaded machine).  So it is
 * tried again, a little later each time, for as long as the busy
 * timeout would have waited. */
static int
wf_sqlite_wal (struct wf_sqlite *q)
{
    struct timespec t0, t;
    int wait_ms = 1;

    clock_gettime (CLOCK_MONOTONIC, &t0);
    for (;;) {
        sqlite3_stmt *st;
        const unsigned char *mode;
        int rc, r;
        long ms;

        if ((r = wf_sqlite_prep (q, "PRAGMA journal_mode = WAL", &st)) < 0) {
            return r;
        }
        rc = sqlite3_step (st);
        mode = rc == SQLITE_ROW ? sqlite3_column_text (st, 0) : NULL;
        if (mode && strcmp ((const char *) mode, "wal") == 0) {
            sqlite3_finalize (st);
            return 0;
        }
        clock_gettime (CLOCK_MONOTONIC, &t);
        ms = (t.tv_sec - t0.tv_sec) * 1000 +
             (t.tv_nsec - t0.tv_nsec) / 1000000;
        if ((rc & 0xff) == SQLITE_BUSY && ms < WF_SQLITE_BUSY_MS) {
            struct timespec d = { 0, wait_ms * 1000000L };

            sqlite3_finalize (st);
            nanosleep (&d, NULL);
            wait_ms = wait_ms < 64 ? wait_ms * 2 : 64;
            continue;
        }
        r = rc == SQLITE_ROW
            ? set_error (ENOTSUP, "store '%s': cannot use WAL mode "
                         "(got '%s')", q->path, mode ? (char *) mode : "")
            : wf_sqlite_err (q, rc, "setting WAL mode");
        sqlite3_finalize (st);
        return r;
    }
}

int
wf_store_sqlite_open_at (const char *path, int max_version,
                         struct wf_store **out)
{
    struct wf_sqlite *q;
    int rc, r;

    *out = NULL;
    if (!path || !*path) {
        return set_error (EINVAL, "store: empty path");
    }
    if ((r = vs_dl_sqlite ()) < 0) {
        return r;
    }
    if (max_version < 0 || max_version > WF_STORE_SQLITE_SCHEMA) {
        return set_error (EINVAL, "store: no schema version %d", max_version);
    }
    if (max_version == 0) {
        max_version = WF_STORE_SQLITE_SCHEMA;
    }
    if (!(q = calloc (1, sizeof *q)) || !(q->path = strdup (path))) {
        free (q);
        return set_error (ENOMEM, "out of memory");
    }
    q->base.ops = &wf_sqlite_ops;
    rc = sqlite3_open_v2 (path, &q->db, SQLITE_OPEN_READWRITE |
                          SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW, NULL);
    if (rc != SQLITE_OK) {
        r = wf_sqlite_err (q, rc, "opening");
        goto fail;
    }
    sqlite3_busy_timeout (q->db, WF_SQLITE_BUSY_MS);
    sqlite3_extended_result_codes (q->db, 0);
    if ((r = wf_sqlite_wal (q)) < 0) {
        goto fail;
    }
    if ((r = wf_sqlite_exec (q, "PRAGMA synchronous = FULL",
                             "setting synchronous")) < 0) {
        goto fail;
    }
    if ((r = wf_sqlite_upgrade (q, max_version)) < 0) {
        goto fail;
    }
    *out = &q->base;
    return 0;
fail:
    {
        struct vmshift_error_save es;

        error_save (&es);
        sqlite3_close_v2 (q->db);
        error_restore (&es);
    }
    free (q->path);
    free (q);
    return r;
}

int
wf_store_sqlite_open (const char *path, struct wf_store **out)
{
    return wf_store_sqlite_open_at (path, 0, out);
}
