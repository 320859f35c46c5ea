/* The run store on PostgreSQL: one database shared by many job runners
 * and migration workers on several hosts (docs/internals/store.md,
 * "PostgreSQL"; docs/jobs.md, "Scale-out").  Opened by a
 * postgresql:// (or postgres://) URL; see store.h for the contract.
 *
 * - libpq is loaded on first use (engine/base/dl-pq.h).
 * - The URL never carries a password (refused): libpq reads it from
 *   PGPASSFILE, ~/.pgpass or PGPASSWORD, so it is never in argv, in the
 *   job file, or in a message.
 * - Times come from the server's clock, so runners on hosts whose
 *   clocks differ agree on when a lease expires.
 * - A lease is claimed with SELECT ... FOR UPDATE SKIP LOCKED: a runner
 *   never queues behind another runner deciding about the same key; a
 *   row it cannot lock is somebody else's claim, and the answer is
 *   -EBUSY at once.
 * - begin takes a store-wide advisory lock (the write lock of the
 *   contract), waited for at most WF_PG_LOCK_TIMEOUT.
 * - All statements are parameterised (PQexecParams); no value is ever
 *   spliced into SQL text.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/dl-pq.h"
#include "engine/base/error.h"
#include "engine/workflow/store.h"

/* How long begin and a row lock wait for another handle (seconds). */
#define WF_PG_LOCK_TIMEOUT "15s"
/* pg_advisory_xact_lock keys: the write lock of begin, and schema
 * upgrades ('vmsh' 'wlck' / 'schm' as two int4s). */
#define WF_PG_LOCK_WRITE "1986884456, 2003591019"
#define WF_PG_LOCK_SCHEMA "1986884456, 1935894893"
/* The server's clock, in whole seconds since the epoch. */
#define WF_PG_NOW "(floor(extract(epoch FROM clock_timestamp())))::bigint"

struct wf_pg {
    struct wf_store base;       /* first: the generic handle */
    PGconn *c;
    char *where;                /* the URL, for messages (no password) */
    int version;
    char *id;                   /* the store's ID, read on first use */
    bool in_tx;
};

#define WF_PG(s) ((struct wf_pg *) (s))

/* Upgrade steps: step[i] takes the schema from version i to i + 1.  The
 * tables carry a vmshift_ prefix: the database may hold other things. */
static const char *const wf_pg_steps[WF_STORE_PG_SCHEMA] = {
    /* 0 -> 1 */
    "CREATE TABLE vmshift_runs ("
    " id BIGSERIAL PRIMARY KEY,"
    " kind TEXT NOT NULL, name TEXT NOT NULL, state TEXT NOT NULL,"
    " doc TEXT, detail TEXT, owner TEXT,"
    " flags BIGINT NOT NULL DEFAULT 0,"
    " abort_requested BOOLEAN NOT NULL DEFAULT false,"
    " created BIGINT NOT NULL, updated BIGINT NOT NULL);"
    "CREATE INDEX vmshift_runs_kind ON vmshift_runs (kind, id);"
    "CREATE TABLE vmshift_items ("
    " run_id BIGINT NOT NULL, item TEXT NOT NULL, ord BIGSERIAL,"
    " state TEXT NOT NULL, detail TEXT, updated BIGINT NOT NULL,"
    " PRIMARY KEY (run_id, item));"
    "CREATE TABLE vmshift_journal ("
    " seq BIGSERIAL PRIMARY KEY,"
    " run_id BIGINT NOT NULL, item TEXT NOT NULL, step TEXT NOT NULL,"
    " status INTEGER NOT NULL, intent TEXT NOT NULL, result TEXT,"
    " t_intent BIGINT NOT NULL, t_result BIGINT);"
    "CREATE INDEX vmshift_journal_run ON vmshift_journal (run_id, seq);"
    "CREATE TABLE vmshift_leases ("
    " key TEXT PRIMARY KEY, run_id BIGINT NOT NULL,"
    " owner TEXT NOT NULL, expires BIGINT NOT NULL);"
    "CREATE TABLE vmshift_events ("
    " seq BIGSERIAL PRIMARY KEY,"
    " run_id BIGINT NOT NULL, time BIGINT NOT NULL, json TEXT NOT NULL);"
    "CREATE INDEX vmshift_events_run ON vmshift_events (run_id, seq);",
    /* 1 -> 2: the store's random ID (12 hex digits), made once: the
     * upgrade runs under the schema's advisory lock and reads the
     * version again under it, so of two runners opening an older
     * database at once only one runs this step */
    "CREATE TABLE vmshift_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "INSERT INTO vmshift_meta (key, value) VALUES ('store_id',"
    " substr (md5 (random ()::text || clock_timestamp ()::text ||"
    " pg_backend_pid ()::text), 1, 12));",
};

/* The first line of a libpq message, without the "ERROR:  " prefix. */
static void
wf_pg_line (const char *msg, char *buf, size_t n)
{
    size_t len;

    if (msg == NULL) {
        msg = "";
    }
    if (strncmp (msg, "ERROR:  ", 8) == 0) {
        msg += 8;
    }
    len = strcspn (msg, "\n");
    snprintf (buf, n, "%.*s", (int) len, msg);
}

/* errno for a failed result: from its SQLSTATE (PostgreSQL manual,
 * appendix A, "Error Codes"), or EIO when the connection is gone. */
static int
wf_pg_errno (const PGresult *res)
{
    const char *ss = res ? PQresultErrorField (res, PG_DIAG_SQLSTATE) : NULL;

    if (ss == NULL || strlen (ss) != 5) {
        return EIO;
    }
    if (strcmp (ss, "55P03") == 0 || strcmp (ss, "40P01") == 0 ||
        strcmp (ss, "40001") == 0) {
        return EBUSY;           /* lock timeout, deadlock, serialization */
    }
    if (strcmp (ss, "57014") == 0) {
        return ETIMEDOUT;       /* statement cancelled (timeout) */
    }
    if (strncmp (ss, "23", 2) == 0) {
        return EEXIST;          /* integrity constraint */
    }
    if (strcmp (ss, "53100") == 0) {
        return ENOSPC;
    }
    if (strncmp (ss, "53", 2) == 0) {
        return ENOMEM;
    }
    if (strncmp (ss, "28", 2) == 0 || strcmp (ss, "42501") == 0) {
        return EACCES;
    }
    if (strcmp (ss, "22021") == 0) {
        return EINVAL;          /* not valid UTF-8 */
    }
    return EIO;
}

static int
wf_pg_err (struct wf_pg *p, const PGresult *res, const char *what)
{
    char line[512];

    wf_pg_line (res ? PQresultErrorMessage (res) : PQerrorMessage (p->c),
                line, sizeof line);
    if (!line[0]) {
        wf_pg_line (PQerrorMessage (p->c), line, sizeof line);
    }
    return set_error (wf_pg_errno (res), "store '%s': %s: %s", p->where,
                      what, line[0] ? line : "unknown error");
}

/* Run sql with n text parameters (NULL is SQL NULL).  Returns the result
 * (the caller clears it) when its status is the one expected, else NULL
 * with the error set in *e. */
static PGresult *
wf_pg_q (struct wf_pg *p, const char *sql, int n, const char *const *vals,
         const char *what, int *e)
{
    PGresult *res = PQexecParams (p->c, sql, n, NULL, vals, NULL, NULL, 0);
    ExecStatusType st = res ? PQresultStatus (res) : PGRES_FATAL_ERROR;

    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        *e = 0;
        return res;
    }
    *e = wf_pg_err (p, res, what);
    PQclear (res);
    return NULL;
}

/* A statement that returns nothing the caller needs; 0 or -errno.  With
 * changed, the number of rows it changed is stored there. */
static int
wf_pg_do (struct wf_pg *p, const char *sql, int n, const char *const *vals,
          const char *what, long *changed)
{
    int e;
    PGresult *res = wf_pg_q (p, sql, n, vals, what, &e);

    if (res && changed) {
        *changed = strtol (PQcmdTuples (res), NULL, 10);
    }
    PQclear (res);
    return e;
}

/* Parameter-free SQL, possibly several statements (PQexec). */
static int
wf_pg_exec (struct wf_pg *p, const char *sql, const char *what)
{
    PGresult *res = PQexec (p->c, sql);
    ExecStatusType st = res ? PQresultStatus (res) : PGRES_FATAL_ERROR;
    int e = 0;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        e = wf_pg_err (p, res, what);
    }
    PQclear (res);
    return e;
}

/* ROLLBACK, keeping the error that made us roll back. */
static void
wf_pg_abort (struct wf_pg *p)
{
    struct vmshift_error_save es;
    PGresult *res;

    error_save (&es);
    res = PQexec (p->c, "ROLLBACK");
    PQclear (res);
    error_restore (&es);
}

/* Text of an int64 parameter, in buf (>= 24 bytes). */
static const char *
wf_pg_i64 (char *buf, int64_t v)
{
    snprintf (buf, 24, "%" PRId64, v);
    return buf;
}

static char *
wf_pg_col (const PGresult *res, int row, int col, bool *oom)
{
    char *d;

    if (PQgetisnull (res, row, col)) {
        return NULL;
    }
    if (!(d = strdup (PQgetvalue (res, row, col)))) {
        *oom = true;
    }
    return d;
}

static int64_t
wf_pg_int (const PGresult *res, int row, int col)
{
    return PQgetisnull (res, row, col)
           ? 0 : strtoll (PQgetvalue (res, row, col), NULL, 10);
}

/* ------------------------------------------------------ transactions */

static int
wf_pg_begin (struct wf_store *s)
{
    struct wf_pg *p = WF_PG (s);
    int e;

    if (p->in_tx) {
        return set_error (EBUSY, "store '%s': a transaction is already open",
                          p->where);
    }
    e = wf_pg_exec (p, "BEGIN; SELECT pg_advisory_xact_lock ("
                    WF_PG_LOCK_WRITE ")", "beginning");
    if (e < 0) {
        wf_pg_abort (p);
        return e;
    }
    p->in_tx = true;
    return 0;
}

static int
wf_pg_commit (struct wf_store *s)
{
    struct wf_pg *p = WF_PG (s);
    int e;

    if (!p->in_tx) {
        return set_error (EINVAL, "store '%s': no transaction to commit",
                          p->where);
    }
    p->in_tx = false;
    /* COMMIT of a failed transaction reports ROLLBACK, not an error */
    if (PQtransactionStatus (p->c) == PQTRANS_INERROR) {
        wf_pg_abort (p);
        return set_error (EIO, "store '%s': committing: the transaction had "
                          "failed and was rolled back", p->where);
    }
    if ((e = wf_pg_exec (p, "COMMIT", "committing")) < 0) {
        wf_pg_abort (p);
    }
    return e;
}

static int
wf_pg_rollback (struct wf_store *s)
{
    struct wf_pg *p = WF_PG (s);

    if (!p->in_tx) {
        return 0;
    }
    p->in_tx = false;
    return wf_pg_exec (p, "ROLLBACK", "rolling back");
}

/* For ops that read then write: a transaction of their own unless the
 * caller has one open. */
static int
wf_pg_tx_begin (struct wf_pg *p, bool *own)
{
    *own = !p->in_tx;
    return *own ? wf_pg_exec (p, "BEGIN", "beginning") : 0;
}

static int
wf_pg_tx_end (struct wf_pg *p, bool own, int r)
{
    if (!own) {
        return r;
    }
    if (r < 0) {
        wf_pg_abort (p);
        return r;
    }
    if ((r = wf_pg_exec (p, "COMMIT", "committing")) < 0) {
        wf_pg_abort (p);
    }
    return r;
}

/* -------------------------------------------------------------- schema */

static int
wf_pg_upgrade (struct wf_pg *p)
{
    PGresult *res;
    char vbuf[24];
    const char *vals[1];
    int v = 0, e;

    if ((e = wf_pg_exec (p, "BEGIN; SELECT pg_advisory_xact_lock ("
                         WF_PG_LOCK_SCHEMA "); "
                         "CREATE TABLE IF NOT EXISTS vmshift_schema "
                         "(version INTEGER NOT NULL)",
                         "reading the schema version")) < 0) {
        goto fail;
    }
    if (!(res = wf_pg_q (p, "SELECT max (version) FROM vmshift_schema", 0,
                         NULL, "reading the schema version", &e))) {
        goto fail;
    }
    v = (int) wf_pg_int (res, 0, 0);
    PQclear (res);
    if (v > WF_STORE_PG_SCHEMA) {
        e = set_error (ENOTSUP, "store '%s': schema version %d is newer than "
                       "this vmshift understands (%d)", p->where, v,
                       WF_STORE_PG_SCHEMA);
        goto fail;
    }
    if (v == WF_STORE_PG_SCHEMA) {
        p->version = v;
        return wf_pg_exec (p, "COMMIT", "committing");
    }
    for (; v < WF_STORE_PG_SCHEMA; v++) {
        if ((e = wf_pg_exec (p, wf_pg_steps[v], "upgrading the schema")) < 0) {
            error_prepend ("version %d -> %d: ", v, v + 1);
            goto fail;
        }
    }
    vals[0] = wf_pg_i64 (vbuf, v);
    if ((e = wf_pg_do (p, "DELETE FROM vmshift_schema", 0, NULL,
                       "setting the schema version", NULL)) < 0 ||
        (e = wf_pg_do (p, "INSERT INTO vmshift_schema (version) VALUES ($1)",
                       1, vals, "setting the schema version", NULL)) < 0 ||
        (e = wf_pg_exec (p, "COMMIT", "committing the schema")) < 0) {
        goto fail;
    }
    p->version = v;
    return 0;
fail:
    wf_pg_abort (p);
    return e;
}

static int
wf_pg_schema_version (struct wf_store *s, int *version)
{
    *version = WF_PG (s)->version;
    return 0;
}

static void
wf_pg_close (struct wf_store *s)
{
    struct wf_pg *p = WF_PG (s);

    if (p->c) {
        if (p->in_tx) {
            PQclear (PQexec (p->c, "ROLLBACK"));
        }
        PQfinish (p->c);
    }
    free (p->id);
    free (p->where);
    free (p);
}

static int
wf_pg_store_id (struct wf_store *s, const char **id)
{
    struct wf_pg *p = WF_PG (s);
    PGresult *res;
    bool oom = false;
    int e;

    if (p->id) {
        *id = p->id;
        return 0;
    }
    if (!(res = wf_pg_q (p, "SELECT value FROM vmshift_meta "
                         "WHERE key = 'store_id'", 0, NULL,
                         "reading the store ID", &e))) {
        return e;
    }
    if (PQntuples (res) == 1) {
        p->id = wf_pg_col (res, 0, 0, &oom);
    }
    PQclear (res);
    if (oom) {
        return set_error (ENOMEM, "out of memory");
    }
    if (p->id == NULL) {
        return set_error (ENOENT, "store '%s': its store ID is missing",
                          p->where);
    }
    *id = p->id;
    return 0;
}

/* ---------------------------------------------------------------- runs */

static int
wf_pg_run_create (struct wf_store *s, struct wf_run_rec *r)
{
    struct wf_pg *p = WF_PG (s);
    char flags[24];
    const char *v[7] = { r->kind, r->name, r->state, r->doc, r->detail,
                         r->owner, wf_pg_i64 (flags, r->flags) };
    PGresult *res;
    int e;

    res = wf_pg_q (p, "INSERT INTO vmshift_runs (kind, name, state, doc, "
                   "detail, owner, flags, created, updated) VALUES "
                   "($1, $2, $3, $4, $5, $6, $7, " WF_PG_NOW ", "
                   WF_PG_NOW ") RETURNING id, created", 7, v,
                   "creating a run", &e);
    if (res == NULL) {
        return e;
    }
    r->id = wf_pg_int (res, 0, 0);
    r->created = r->updated = wf_pg_int (res, 0, 1);
    PQclear (res);
    return 0;
}

#define WF_RUN_COLS "id, kind, name, state, doc, detail, owner, flags, " \
    "abort_requested, created, updated"

static int
wf_pg_run_row (const PGresult *res, int i, struct wf_run_rec *r)
{
    bool oom = false;

    r->id = wf_pg_int (res, i, 0);
    r->kind = wf_pg_col (res, i, 1, &oom);
    r->name = wf_pg_col (res, i, 2, &oom);
    r->state = wf_pg_col (res, i, 3, &oom);
    r->doc = wf_pg_col (res, i, 4, &oom);
    r->detail = wf_pg_col (res, i, 5, &oom);
    r->owner = wf_pg_col (res, i, 6, &oom);
    r->flags = (unsigned) wf_pg_int (res, i, 7);
    r->abort_requested = strcmp (PQgetvalue (res, i, 8), "t") == 0;
    r->created = wf_pg_int (res, i, 9);
    r->updated = wf_pg_int (res, i, 10);
    if (oom) {
        wf_run_rec_clear (r);
        return set_error (ENOMEM, "out of memory");
    }
    return 0;
}

static int
wf_pg_run_get (struct wf_store *s, int64_t id, struct wf_run_rec *r)
{
    struct wf_pg *p = WF_PG (s);
    char ib[24];
    const char *v[1] = { wf_pg_i64 (ib, id) };
    PGresult *res;
    int e;

    res = wf_pg_q (p, "SELECT " WF_RUN_COLS " FROM vmshift_runs WHERE id = $1",
                   1, v, "reading a run", &e);
    if (res == NULL) {
        return e;
    }
    if (PQntuples (res) == 0) {
        e = set_error (ENOENT, "no run %" PRId64 " in store '%s'", id,
                       p->where);
    } else {
        e = wf_pg_run_row (res, 0, r);
    }
    PQclear (res);
    return e;
}

/* An UPDATE of one run: -ENOENT if there is no such run. */
static int
wf_pg_run_update (struct wf_pg *p, const char *sql, int n,
                  const char *const *v, int64_t id)
{
    long changed = 0;
    int e = wf_pg_do (p, sql, n, v, "updating a run", &changed);

    if (e == 0 && changed == 0) {
        return set_error (ENOENT, "no run %" PRId64 " in store '%s'", id,
                          p->where);
    }
    return e;
}

static int
wf_pg_run_set_state (struct wf_store *s, int64_t id, const char *state,
                     const char *detail)
{
    char ib[24];
    const char *v[3] = { state, detail, wf_pg_i64 (ib, id) };

    return wf_pg_run_update (WF_PG (s), "UPDATE vmshift_runs SET state = $1, "
                             "detail = COALESCE ($2, detail), updated = "
                             WF_PG_NOW " WHERE id = $3", 3, v, id);
}

static int
wf_pg_run_set_owner (struct wf_store *s, int64_t id, const char *owner)
{
    char ib[24];
    const char *v[2] = { owner, wf_pg_i64 (ib, id) };

    return wf_pg_run_update (WF_PG (s), "UPDATE vmshift_runs SET owner = $1, "
                             "updated = " WF_PG_NOW " WHERE id = $2", 2, v,
                             id);
}

static int
wf_pg_run_request_abort (struct wf_store *s, int64_t id)
{
    char ib[24];
    const char *v[1] = { wf_pg_i64 (ib, id) };

    return wf_pg_run_update (WF_PG (s), "UPDATE vmshift_runs SET "
                             "abort_requested = true, updated = " WF_PG_NOW
                             " WHERE id = $1", 1, v, id);
}

/* Row i of res as a record, handed to the listing's callback. */
typedef int (*wf_pg_row_fn) (const PGresult *res, int i,
                             const struct wf_list_ctx *l);

/* Run a listing query and hand each row to row, stopping at the first
 * non-zero (an error, or what the callback returned). */
static int
wf_pg_each (struct wf_pg *p, const char *sql, int n, const char *const *v,
            const char *what, wf_pg_row_fn row, const struct wf_list_ctx *l)
{
    PGresult *res;
    int e;

    res = wf_pg_q (p, sql, n, v, what, &e);
    if (res == NULL) {
        return e;
    }
    for (int i = 0; e == 0 && i < PQntuples (res); i++) {
        e = row (res, i, l);
    }
    PQclear (res);
    return e;
}

static int
wf_pg_run_one (const PGresult *res, int i, const struct wf_list_ctx *l)
{
    struct wf_run_rec r = { 0 };
    int e = wf_pg_run_row (res, i, &r);

    if (e == 0) {
        e = l->run (l->opaque, &r);
        wf_run_rec_clear (&r);
    }
    return e;
}

static int
wf_pg_run_list (struct wf_store *s, const char *kind, wf_run_cb cb,
                void *opaque)
{
    const char *v[1] = { kind };
    struct wf_list_ctx l = { .run = cb, .opaque = opaque };

    return wf_pg_each (WF_PG (s), kind ? "SELECT " WF_RUN_COLS " FROM "
                       "vmshift_runs WHERE kind = $1 ORDER BY id DESC"
                       : "SELECT " WF_RUN_COLS " FROM vmshift_runs "
                       "ORDER BY id DESC", kind ? 1 : 0, v, "listing runs",
                       wf_pg_run_one, &l);
}

/* --------------------------------------------------------------- items */

static int
wf_pg_item_put (struct wf_store *s, int64_t run_id, const char *item,
                const char *state, const char *detail)
{
    char ib[24];
    const char *v[4] = { wf_pg_i64 (ib, run_id), item, state, detail };

    /* ord is taken from its sequence on the first put only (the update
     * leaves it), so listing by ord is the order of first puts */
    return wf_pg_do (WF_PG (s), "INSERT INTO vmshift_items (run_id, item, "
                     "state, detail, updated) VALUES ($1, $2, $3, $4, "
                     WF_PG_NOW ") ON CONFLICT (run_id, item) DO UPDATE SET "
                     "state = excluded.state, detail = excluded.detail, "
                     "updated = excluded.updated", 4, v, "writing an item",
                     NULL);
}

static int
wf_pg_item_one (const PGresult *res, int i, const struct wf_list_ctx *l)
{
    struct wf_item_rec r = { .run_id = l->run_id };
    bool oom = false;
    int e;

    r.item = wf_pg_col (res, i, 0, &oom);
    r.state = wf_pg_col (res, i, 1, &oom);
    r.detail = wf_pg_col (res, i, 2, &oom);
    r.updated = wf_pg_int (res, i, 3);
    e = oom ? set_error (ENOMEM, "out of memory") : l->item (l->opaque, &r);
    wf_item_rec_clear (&r);
    return e;
}

static int
wf_pg_item_list (struct wf_store *s, int64_t run_id, wf_item_cb cb,
                 void *opaque)
{
    char ib[24];
    const char *v[1] = { wf_pg_i64 (ib, run_id) };
    struct wf_list_ctx l = { .run_id = run_id, .item = cb, .opaque = opaque };

    return wf_pg_each (WF_PG (s), "SELECT item, state, detail, updated FROM "
                       "vmshift_items WHERE run_id = $1 ORDER BY ord", 1, v,
                       "listing items", wf_pg_item_one, &l);
}

/* ------------------------------------------------------------- journal */

static int
wf_pg_journal_intent (struct wf_store *s, int64_t run_id, const char *item,
                      const char *step, const char *intent, int64_t *seq)
{
    struct wf_pg *p = WF_PG (s);
    char ib[24], sb[24];
    const char *v[5] = { wf_pg_i64 (ib, run_id), item, step,
                         wf_pg_i64 (sb, WF_J_INTENT), intent };
    PGresult *res;
    int e;

    res = wf_pg_q (p, "INSERT INTO vmshift_journal (run_id, item, step, "
                   "status, intent, t_intent) VALUES ($1, $2, $3, $4, $5, "
                   WF_PG_NOW ") RETURNING seq", 5, v, "journalling an intent",
                   &e);
    if (res == NULL) {
        return e;
    }
    *seq = wf_pg_int (res, 0, 0);
    PQclear (res);
    return 0;
}

static int
wf_pg_journal_finish (struct wf_store *s, int64_t seq,
                      enum wf_journal_status status, const char *result)
{
    struct wf_pg *p = WF_PG (s);
    char qb[24], sb[24];
    const char *v[3] = { wf_pg_i64 (sb, status), result, wf_pg_i64 (qb, seq) };
    long changed = 0;
    int e;

    e = wf_pg_do (p, "UPDATE vmshift_journal SET status = $1, result = $2, "
                  "t_result = " WF_PG_NOW " WHERE seq = $3", 3, v,
                  "journalling a result", &changed);
    if (e == 0 && changed == 0) {
        return set_error (ENOENT, "no journal entry %" PRId64 " in store "
                          "'%s'", seq, p->where);
    }
    return e;
}

static int
wf_pg_journal_one (const PGresult *res, int i, const struct wf_list_ctx *l)
{
    struct wf_journal_rec r = { .run_id = l->run_id };
    bool oom = false;
    int e;

    r.seq = wf_pg_int (res, i, 0);
    r.item = wf_pg_col (res, i, 1, &oom);
    r.step = wf_pg_col (res, i, 2, &oom);
    r.status = (enum wf_journal_status) wf_pg_int (res, i, 3);
    r.intent = wf_pg_col (res, i, 4, &oom);
    r.result = wf_pg_col (res, i, 5, &oom);
    r.t_intent = wf_pg_int (res, i, 6);
    r.t_result = wf_pg_int (res, i, 7);
    e = oom ? set_error (ENOMEM, "out of memory")
            : l->journal (l->opaque, &r);
    wf_journal_rec_clear (&r);
    return e;
}

static int
wf_pg_journal_list (struct wf_store *s, int64_t run_id, wf_journal_cb cb,
                    void *opaque)
{
    char ib[24];
    const char *v[1] = { wf_pg_i64 (ib, run_id) };
    struct wf_list_ctx l = { .run_id = run_id, .journal = cb,
                             .opaque = opaque };

    return wf_pg_each (WF_PG (s), "SELECT seq, item, step, status, intent, "
                       "result, t_intent, t_result FROM vmshift_journal "
                       "WHERE run_id = $1 ORDER BY seq", 1, v,
                       "listing the journal", wf_pg_journal_one, &l);
}

/* -------------------------------------------------------------- leases */

/* Row 0 of res (run_id, owner, expires[, live]) into *out. */
static int
wf_pg_lease_row (const PGresult *res, const char *key,
                 struct wf_lease_rec *out)
{
    bool oom = false;

    out->run_id = wf_pg_int (res, 0, 0);
    out->owner = wf_pg_col (res, 0, 1, &oom);
    out->expires = wf_pg_int (res, 0, 2);
    out->key = strdup (key);
    if (oom || !out->key || !out->owner) {
        wf_lease_rec_clear (out);
        return set_error (ENOMEM, "out of memory");
    }
    return 0;
}

/* key's lease as committed (no lock); 0, -ENOENT, or an error. */
static int
wf_pg_lease_read (struct wf_pg *p, const char *key, struct wf_lease_rec *out)
{
    const char *v[1] = { key };
    PGresult *res;
    int e;

    res = wf_pg_q (p, "SELECT run_id, owner, expires FROM vmshift_leases "
                   "WHERE key = $1", 1, v, "reading a lease", &e);
    if (res == NULL) {
        return e;
    }
    e = PQntuples (res) == 0 ? -ENOENT : wf_pg_lease_row (res, key, out);
    PQclear (res);
    return e;
}

static int
wf_pg_lease_busy (const char *key, struct wf_lease_rec *cur,
                  struct wf_lease_rec *holder)
{
    int e = set_error (EBUSY, "'%s' is held by run %" PRId64 " (%s)", key,
                       cur->run_id, cur->owner ? cur->owner : "?");

    if (holder) {
        *holder = *cur;
        memset (cur, 0, sizeof *cur);
    }
    return e;
}

static int
wf_pg_lease_claim (struct wf_pg *p, const char *key, int64_t run_id,
                   const char *owner, int ttl, struct wf_lease_rec *holder)
{
    struct wf_lease_rec cur = { 0 };
    char ib[24], tb[24];
    const char *v[4] = { key, wf_pg_i64 (ib, run_id), owner,
                         wf_pg_i64 (tb, ttl) };
    PGresult *res;
    long changed = 0;
    int e;

    /* 1. The row, if nobody else is deciding about it right now.  A row
     *    locked by another transaction is skipped, not waited for. */
    res = wf_pg_q (p, "SELECT run_id, owner, expires, expires > " WF_PG_NOW
                   " FROM vmshift_leases WHERE key = $1 "
                   "FOR UPDATE SKIP LOCKED", 1, v, "claiming a lease", &e);
    if (res == NULL) {
        return e;
    }
    if (PQntuples (res) == 1) {
        bool live = strcmp (PQgetvalue (res, 0, 3), "t") == 0;

        e = wf_pg_lease_row (res, key, &cur);
        PQclear (res);
        if (e < 0) {
            return e;
        }
        if (live && !(cur.run_id == run_id && strcmp (cur.owner, owner) == 0)) {
            e = wf_pg_lease_busy (key, &cur, holder);
        } else {
            e = wf_pg_do (p, "UPDATE vmshift_leases SET run_id = $2, "
                          "owner = $3, expires = " WF_PG_NOW " + $4 "
                          "WHERE key = $1", 4, v, "writing a lease", NULL);
        }
        wf_lease_rec_clear (&cur);
        return e;
    }
    PQclear (res);
    /* 2. No row we could lock.  One that exists is another runner's
     *    claim in progress: busy, naming who holds it now. */
    e = wf_pg_lease_read (p, key, &cur);
    if (e == 0) {
        e = wf_pg_lease_busy (key, &cur, holder);
        wf_lease_rec_clear (&cur);
        return e;
    }
    if (e != -ENOENT) {
        return e;
    }
    /* 3. No row at all: insert it; a concurrent insert of the same key
     *    wins (this one changes nothing) and makes this one busy. */
    e = wf_pg_do (p, "INSERT INTO vmshift_leases (key, run_id, owner, "
                  "expires) VALUES ($1, $2, $3, " WF_PG_NOW " + $4) "
                  "ON CONFLICT (key) DO NOTHING", 4, v, "writing a lease",
                  &changed);
    if (e < 0 || changed == 1) {
        return e;
    }
    e = wf_pg_lease_read (p, key, &cur);
    if (e == 0) {
        e = wf_pg_lease_busy (key, &cur, holder);
    } else if (e == -ENOENT) {
        e = set_error (EBUSY, "'%s' is being claimed by another run", key);
    }
    wf_lease_rec_clear (&cur);
    return e;
}

static int
wf_pg_lease_acquire (struct wf_store *s, const char *key, int64_t run_id,
                     const char *owner, int ttl, struct wf_lease_rec *holder)
{
    struct wf_pg *p = WF_PG (s);
    bool own;
    int e;

    if ((e = wf_pg_tx_begin (p, &own)) < 0) {
        return e;
    }
    e = wf_pg_lease_claim (p, key, run_id, owner, ttl, holder);
    return wf_pg_tx_end (p, own, e);
}

static int
wf_pg_lease_steal (struct wf_store *s, const char *key,
                   const char *expected_owner, int64_t run_id,
                   const char *owner, int ttl)
{
    struct wf_pg *p = WF_PG (s);
    char ib[24], tb[24];
    const char *v[5] = { key, expected_owner, wf_pg_i64 (ib, run_id), owner,
                         wf_pg_i64 (tb, ttl) };
    long changed = 0;
    int e;

    /* compare and swap in one statement: after waiting for a row lock,
     * PostgreSQL checks the WHERE again on the row as committed */
    e = wf_pg_do (p, "UPDATE vmshift_leases SET run_id = $3, owner = $4, "
                  "expires = " WF_PG_NOW " + $5 WHERE key = $1 AND owner = $2",
                  5, v, "taking over a lease", &changed);
    if (e == 0 && changed == 0) {
        e = set_error (EBUSY, "'%s' is no longer held by %s", key,
                       expected_owner);
    }
    return e;
}

/* One statement: the row is updated only while it is still ours (after
 * a row lock, PostgreSQL checks the WHERE again on the committed row). */
static int
wf_pg_lease_renew (struct wf_store *s, const char *key, int64_t run_id,
                   const char *owner, int ttl)
{
    struct wf_pg *p = WF_PG (s);
    struct wf_lease_rec cur = { 0 };
    char ib[24], tb[24];
    const char *v[4] = { key, wf_pg_i64 (ib, run_id), owner,
                         wf_pg_i64 (tb, ttl) };
    long changed = 0;
    int e;

    e = wf_pg_do (p, "UPDATE vmshift_leases SET expires = " WF_PG_NOW
                  " + $4 WHERE key = $1 AND run_id = $2 AND owner = $3", 4,
                  v, "renewing a lease", &changed);
    if (e < 0 || changed == 1) {
        return e;
    }
    e = wf_pg_lease_read (p, key, &cur);
    if (e == -ENOENT) {
        e = set_error (EBUSY, "'%s' is no longer held by %s: it was "
                       "released", key, owner);
    } else if (e == 0) {
        e = set_error (EBUSY, "'%s' is no longer held by %s: run %" PRId64
                       " (%s) holds it", key, owner, cur.run_id,
                       cur.owner ? cur.owner : "?");
    }
    wf_lease_rec_clear (&cur);
    return e;
}

static int
wf_pg_lease_release (struct wf_store *s, const char *key, int64_t run_id)
{
    char ib[24];
    const char *v[2] = { key, wf_pg_i64 (ib, run_id) };

    return wf_pg_do (WF_PG (s), "DELETE FROM vmshift_leases WHERE key = $1 "
                     "AND run_id = $2", 2, v, "releasing a lease", NULL);
}

static int
wf_pg_lease_get (struct wf_store *s, const char *key, struct wf_lease_rec *out)
{
    int e = wf_pg_lease_read (WF_PG (s), key, out);

    if (e == -ENOENT) {
        return set_error (ENOENT, "nobody holds '%s'", key);
    }
    return e;
}

/* -------------------------------------------------------------- events */

static int
wf_pg_event_add (struct wf_store *s, int64_t run_id, const char *json)
{
    char ib[24];
    const char *v[2] = { wf_pg_i64 (ib, run_id), json };

    return wf_pg_do (WF_PG (s), "INSERT INTO vmshift_events (run_id, time, "
                     "json) VALUES ($1, " WF_PG_NOW ", $2)", 2, v,
                     "adding an event", NULL);
}

static int
wf_pg_event_one (const PGresult *res, int i, const struct wf_list_ctx *l)
{
    struct wf_event_rec r = { .run_id = l->run_id };
    bool oom = false;
    int e;

    r.seq = wf_pg_int (res, i, 0);
    r.time = wf_pg_int (res, i, 1);
    r.json = wf_pg_col (res, i, 2, &oom);
    e = oom ? set_error (ENOMEM, "out of memory") : l->event (l->opaque, &r);
    free (r.json);
    return e;
}

static int
wf_pg_event_list (struct wf_store *s, int64_t run_id, int64_t after,
                  wf_event_cb cb, void *opaque)
{
    char ib[24], ab[24];
    const char *v[2] = { wf_pg_i64 (ib, run_id), wf_pg_i64 (ab, after) };
    struct wf_list_ctx l = { .run_id = run_id, .event = cb, .opaque = opaque };

    return wf_pg_each (WF_PG (s), "SELECT seq, time, json FROM "
                       "vmshift_events WHERE run_id = $1 AND seq > $2 "
                       "ORDER BY seq", 2, v, "listing events",
                       wf_pg_event_one, &l);
}

/* Every PostgreSQL commit is synced as the server's synchronous_commit
 * says (on by default), which is WF_DUR_EVERY or stricter whatever is
 * asked; like the SQLite store, the setting is refused inside a
 * transaction, so a caller behaves the same on both. */
static int
wf_pg_set_durability (struct wf_store *s, enum wf_store_durability d)
{
    struct wf_pg *p = WF_PG (s);

    (void) d;
    if (p->in_tx) {
        return set_error (EBUSY, "store '%s': cannot change durability "
                          "inside a transaction", p->where);
    }
    return 0;
}

static const struct wf_store_ops wf_pg_ops = {
    .struct_size = sizeof (struct wf_store_ops),
    .name = "postgresql",
    .close = wf_pg_close,
    .schema_version = wf_pg_schema_version,
    .begin = wf_pg_begin,
    .commit = wf_pg_commit,
    .rollback = wf_pg_rollback,
    .run_create = wf_pg_run_create,
    .run_get = wf_pg_run_get,
    .run_set_state = wf_pg_run_set_state,
    .run_set_owner = wf_pg_run_set_owner,
    .run_request_abort = wf_pg_run_request_abort,
    .run_list = wf_pg_run_list,
    .item_put = wf_pg_item_put,
    .item_list = wf_pg_item_list,
    .journal_intent = wf_pg_journal_intent,
    .journal_finish = wf_pg_journal_finish,
    .journal_list = wf_pg_journal_list,
    .lease_acquire = wf_pg_lease_acquire,
    .lease_steal = wf_pg_lease_steal,
    .lease_release = wf_pg_lease_release,
    .lease_get = wf_pg_lease_get,
    .event_add = wf_pg_event_add,
    .event_list = wf_pg_event_list,
    .set_durability = wf_pg_set_durability,
    .lease_renew = wf_pg_lease_renew,
    .store_id = wf_pg_store_id,
};

static void
wf_pg_notice (void *arg, const char *msg)
{
    (void) arg;
    (void) msg;                 /* "table exists, skipping" and the like */
}

/* Refuse a URL that carries a password: it would be on the command line
 * (--store), in the job file, and in every message naming the store. */
static int
wf_pg_check_url (const char *url)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse (url, &err);
    int r = 0;

    if (opts == NULL) {
        char line[512];

        wf_pg_line (err, line, sizeof line);
        PQfreemem (err);
        return set_error (EINVAL, "store: bad PostgreSQL URL: %s",
                          line[0] ? line : "cannot parse it");
    }
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (strcmp (o->keyword, "password") == 0 && o->val && o->val[0]) {
            r = set_error (EINVAL, "store: the PostgreSQL URL carries a "
                           "password; give it in a password file "
                           "(PGPASSFILE, ~/.pgpass) or PGPASSWORD instead");
        }
    }
    PQconninfoFree (opts);
    return r;
}

int
wf_store_pg_open (const char *url, struct wf_store **out)
{
    static const char *const keys[] = {
        "connect_timeout", "fallback_application_name", "dbname",
        "client_encoding", NULL,
    };
    const char *vals[] = { "10", "vmshift", url, "UTF8", NULL };
    struct wf_pg *p;
    int r;

    *out = NULL;
    if (!url || !*url) {
        return set_error (EINVAL, "store: empty PostgreSQL URL");
    }
    if ((r = vs_dl_pq ()) < 0 || (r = wf_pg_check_url (url)) < 0) {
        return r;
    }
    if (!(p = calloc (1, sizeof *p)) || !(p->where = strdup (url))) {
        free (p);
        return set_error (ENOMEM, "out of memory");
    }
    p->base.ops = &wf_pg_ops;
    /* dbname holding a URL is expanded (expand_dbname = 1); keys after
     * it override the URL's, keys before it are defaults */
    p->c = PQconnectdbParams (keys, vals, 1);
    if (p->c == NULL) {
        r = set_error (ENOMEM, "out of memory");
        goto fail;
    }
    if (PQstatus (p->c) != CONNECTION_OK) {
        char line[512];

        wf_pg_line (PQerrorMessage (p->c), line, sizeof line);
        r = set_error (EIO, "store '%s': cannot connect: %s", url, line);
        goto fail;
    }
    PQsetNoticeProcessor (p->c, wf_pg_notice, NULL);
    if ((r = wf_pg_exec (p, "SET lock_timeout = '" WF_PG_LOCK_TIMEOUT "'",
                         "setting the lock timeout")) < 0 ||
        (r = wf_pg_upgrade (p)) < 0) {
        goto fail;
    }
    *out = &p->base;
    return 0;
fail:
    if (p->c) {
        PQfinish (p->c);
    }
    free (p->where);
    free (p);
    return r;
}
