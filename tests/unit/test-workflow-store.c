/* engine/workflow/store-sqlite.c: the shared store suite (store-suite.h)
 * on a SQLite file in a scratch folder, plus what only SQLite has: the
 * schema upgrade steps, WAL mode, the default path, a foreign file. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "engine/base/error.h"
#include "engine/workflow/store.h"

static char ss_dir[256];
static char ss_path[300];

static void
store_suite_setup (void)
{
    const char *tmp = getenv ("TMPDIR");

    snprintf (ss_dir, sizeof ss_dir, "%s/vmshift-store-XXXXXX",
              tmp && *tmp ? tmp : "/tmp");
    cr_assert_not_null (mkdtemp (ss_dir));
    snprintf (ss_path, sizeof ss_path, "%s/runs.db", ss_dir);
}

static void
store_suite_teardown (void)
{
    char p[400];
    const char *sfx[] = { "", "-wal", "-shm", "-journal" };

    for (size_t i = 0; i < 4; i++) {
        snprintf (p, sizeof p, "%s%s", ss_path, sfx[i]);
        unlink (p);
    }
    rmdir (ss_dir);
}

static struct wf_store *
store_suite_open (void)
{
    struct wf_store *s = NULL;

    if (wf_store_sqlite_open (ss_path, &s) < 0) {
        return NULL;
    }
    return s;
}

#define STORE_SUITE store_sqlite
#include "store-suite.h"

Test (store_sqlite_only, upgrade_from_v1_keeps_data,
      .init = store_suite_setup, .fini = store_suite_teardown)
{
    struct wf_store *s;
    struct wf_run_rec r = { .kind = (char *) "migrate",
                            .name = (char *) "old", .state = (char *) "done" };
    struct wf_run_rec got = { 0 };
    int64_t seq;
    int v;

    cr_assert_eq (wf_store_sqlite_open_at (ss_path, 1, &s), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (wf_store_schema_version (s, &v), 0);
    cr_assert_eq (v, 1);
    cr_assert_eq (wf_run_create (s, &r), 0);
    cr_assert_eq (wf_journal_intent (s, r.id, "a", "clone", "{}", &seq), 0);
    wf_store_close (s);

    cr_assert_eq (wf_store_sqlite_open (ss_path, &s), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (wf_store_schema_version (s, &v), 0);
    cr_assert_eq (v, WF_STORE_SQLITE_SCHEMA);
    cr_assert_eq (wf_run_get (s, r.id, &got), 0);
    cr_assert_str_eq (got.name, "old");
    cr_assert_not (got.abort_requested, "the new column has its default");
    wf_run_rec_clear (&got);
    cr_assert_eq (wf_event_add (s, r.id, "{}"), 0, "v2's table exists");
    cr_assert_eq (wf_journal_finish (s, seq, WF_J_DONE, "{}"), 0);
    wf_store_close (s);

    /* Opening at an older version never downgrades. */
    cr_assert_eq (wf_store_sqlite_open_at (ss_path, 1, &s), 0);
    cr_assert_eq (wf_store_schema_version (s, &v), 0);
    cr_assert_eq (v, WF_STORE_SQLITE_SCHEMA);
    wf_store_close (s);
}

/* A store made by a version before store IDs (schema 2) gets its ID on
 * the first open by this one, once, even when several open it at once;
 * its runs are kept, and an older handle sees no ID. */
Test (store_sqlite_only, upgrade_from_v2_makes_one_store_id,
      .init = store_suite_setup, .fini = store_suite_teardown)
{
    struct wf_store *s;
    struct wf_run_rec r = { .kind = (char *) "migrate",
                            .name = (char *) "old", .state = (char *) "new" };
    struct wf_run_rec got = { 0 };
    char id[WF_STORE_ID_LEN + 1];
    const char *now;
    int v;

    cr_assert_eq (wf_store_sqlite_open_at (ss_path, 2, &s), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (wf_store_id (s, &now), -ENOENT);
    cr_assert_eq (wf_run_create (s, &r), 0);
    wf_store_close (s);

    ss_concurrent_ids (id);
    cr_assert_eq (wf_store_sqlite_open (ss_path, &s), 0);
    cr_assert_eq (wf_store_schema_version (s, &v), 0);
    cr_assert_eq (v, WF_STORE_SQLITE_SCHEMA);
    cr_assert_eq (wf_store_id (s, &now), 0);
    cr_assert_str_eq (now, id, "the ID changed after the upgrade");
    cr_assert_eq (wf_run_get (s, r.id, &got), 0);
    cr_assert_str_eq (got.name, "old");
    wf_run_rec_clear (&got);
    wf_store_close (s);
}

/* Two stores (root's and a user's, two hosts' files) have two IDs. */
Test (store_sqlite_only, two_stores_have_two_ids,
      .init = store_suite_setup, .fini = store_suite_teardown)
{
    struct wf_store *a, *b;
    const char *ia, *ib;
    char other[400];

    snprintf (other, sizeof other, "%s/other.db", ss_dir);
    cr_assert_eq (wf_store_sqlite_open (ss_path, &a), 0);
    cr_assert_eq (wf_store_sqlite_open (other, &b), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (wf_store_id (a, &ia), 0);
    cr_assert_eq (wf_store_id (b, &ib), 0);
    cr_assert_str_neq (ia, ib);
    wf_store_close (a);
    wf_store_close (b);
    unlink (other);
    strcat (other, "-wal");
    unlink (other);
    other[strlen (other) - 4] = '\0';
    strcat (other, "-shm");
    unlink (other);
}

static void
ss_sql (const char *sql)
{
    sqlite3 *db;

    cr_assert_eq (sqlite3_open (ss_path, &db), SQLITE_OK);
    cr_assert_eq (sqlite3_exec (db, sql, NULL, NULL, NULL), SQLITE_OK,
                  "%s", sqlite3_errmsg (db));
    sqlite3_close (db);
}

Test (store_sqlite_only, newer_schema_is_refused, .init = store_suite_setup,
      .fini = store_suite_teardown)
{
    struct wf_store *s;
    char sql[64];

    snprintf (sql, sizeof sql, "PRAGMA user_version = %d",
              WF_STORE_SQLITE_SCHEMA + 1);
    ss_sql (sql);
    cr_assert_eq (wf_store_sqlite_open (ss_path, &s), -ENOTSUP);
    cr_assert_null (s);
    cr_assert_not_null (strstr (vmshift_internal_error_msg (), "newer"),
                        "%s", vmshift_internal_error_msg ());
}

Test (store_sqlite_only, failed_upgrade_step_changes_nothing,
      .init = store_suite_setup, .fini = store_suite_teardown)
{
    struct wf_store *s;
    int v;

    /* A table in the way of step 0 -> 1: the step fails, and the whole
     * upgrade is rolled back (still version 0, the table untouched). */
    ss_sql ("CREATE TABLE runs (x INTEGER); INSERT INTO runs VALUES (7)");
    cr_assert_lt (wf_store_sqlite_open (ss_path, &s), 0);
    cr_assert_not_null (strstr (vmshift_internal_error_msg (), "0 -> 1"),
                        "%s", vmshift_internal_error_msg ());
    ss_sql ("DROP TABLE runs");
    cr_assert_eq (wf_store_sqlite_open (ss_path, &s), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (wf_store_schema_version (s, &v), 0);
    cr_assert_eq (v, WF_STORE_SQLITE_SCHEMA);
    wf_store_close (s);
}

Test (store_sqlite_only, wal_mode_is_on, .init = store_suite_setup,
      .fini = store_suite_teardown)
{
    struct wf_store *s;
    sqlite3 *db;
    sqlite3_stmt *st;

    cr_assert_eq (wf_store_sqlite_open (ss_path, &s), 0);
    wf_store_close (s);
    cr_assert_eq (sqlite3_open (ss_path, &db), SQLITE_OK);
    cr_assert_eq (sqlite3_prepare_v2 (db, "PRAGMA journal_mode", -1, &st,
                                      NULL), SQLITE_OK);
    cr_assert_eq (sqlite3_step (st), SQLITE_ROW);
    cr_assert_str_eq ((const char *) sqlite3_column_text (st, 0), "wal",
                      "WAL mode is persistent in the file");
    sqlite3_finalize (st);
    sqlite3_close (db);
}

Test (store_sqlite_only, not_a_database_is_an_error,
      .init = store_suite_setup, .fini = store_suite_teardown)
{
    struct wf_store *s;
    int fd = open (ss_path, O_CREAT | O_WRONLY, 0600);

    cr_assert_geq (fd, 0);
    char junk[200];

    memset (junk, 'x', sizeof junk);
    cr_assert_eq (write (fd, junk, sizeof junk), (ssize_t) sizeof junk);
    close (fd);
    cr_assert_lt (wf_store_sqlite_open (ss_path, &s), 0);
    cr_assert_not_null (strstr (vmshift_internal_error_msg (), ss_path),
                        "names the file: %s", vmshift_internal_error_msg ());
}

Test (store_sqlite_only, open_by_spec_and_default_path,
      .init = store_suite_setup, .fini = store_suite_teardown)
{
    struct wf_store *s;
    char *p = NULL, want[400], sub[400];

    /* $VMSHIFT_STORE wins, and missing parent folders are made. */
    snprintf (sub, sizeof sub, "%s/a/b/s.db", ss_dir);
    setenv ("VMSHIFT_STORE", sub, 1);
    cr_assert_eq (wf_store_default_path (&p), 0);
    cr_assert_str_eq (p, sub);
    free (p);
    cr_assert_eq (wf_store_open (NULL, &s), 0, "%s",
                  vmshift_internal_error_msg ());
    wf_store_close (s);
    cr_assert_eq (access (sub, F_OK), 0);
    unsetenv ("VMSHIFT_STORE");
    /* "sqlite:" prefix and a bare path are the same store kind. */
    snprintf (want, sizeof want, "sqlite:%s", ss_path);
    cr_assert_eq (wf_store_open (want, &s), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_str_eq (s->ops->name, "sqlite");
    wf_store_close (s);
    cr_assert_eq (wf_store_open ("nosuch://x", &s), -ENOTSUP);
    /* Without an override: root's system path, else the XDG state home. */
    cr_assert_eq (wf_store_default_path (&p), 0);
    if (geteuid () == 0) {
        cr_assert_str_eq (p, "/var/lib/vmshift/vmshift.db");
    } else {
        setenv ("XDG_STATE_HOME", ss_dir, 1);
        free (p);
        cr_assert_eq (wf_store_default_path (&p), 0);
        snprintf (want, sizeof want, "%s/vmshift/vmshift.db", ss_dir);
        cr_assert_str_eq (p, want);
    }
    free (p);
    snprintf (sub, sizeof sub, "%s/a/b", ss_dir);
    {
        char f[420];

        snprintf (f, sizeof f, "%s/s.db", sub);
        unlink (f);
        snprintf (f, sizeof f, "%s/s.db-wal", sub);
        unlink (f);
        snprintf (f, sizeof f, "%s/s.db-shm", sub);
        unlink (f);
    }
    rmdir (sub);
    snprintf (sub, sizeof sub, "%s/a", ss_dir);
    rmdir (sub);
}

Test (store_sqlite_only, owner_self_is_alive)
{
    char me[300];

    wf_store_owner_self (me, sizeof me);
    cr_assert_not_null (strchr (me, ':'));
    cr_assert_eq (wf_store_owner_dead (me), 0);
    cr_assert_eq (wf_store_owner_dead ("otherhost.invalid:1"), 0,
                  "another host's process is never presumed dead");
    /* A child that has exited and been reaped is dead. */
    {
        pid_t pid = fork ();
        char host[256], dead[300];

        cr_assert_geq (pid, 0);
        if (pid == 0) {
            _exit (0);
        }
        cr_assert_eq (waitpid (pid, NULL, 0), pid);
        cr_assert_eq (gethostname (host, sizeof host), 0);
        snprintf (dead, sizeof dead, "%s:%ld", host, (long) pid);
        cr_assert_eq (wf_store_owner_dead (dead), 1);
    }
}

/* WF_DUR_INTENTS: a write is a durable point (a sync of the WAL) only when
 * it holds an intent (alone or in its transaction), creates a run, or is
 * an explicit sync; WF_DUR_EVERY syncs every commit. */
Test (store_sqlite_only, intents_mode_syncs_at_durable_points_only,
      .init = store_suite_setup, .fini = store_suite_teardown)
{
    struct wf_store *s;
    struct wf_store_stats st;
    struct wf_run_rec r = { .kind = (char *) "migrate",
                            .name = (char *) "w", .state = (char *) "new" };
    int64_t seq;

    cr_assert_eq (wf_store_sqlite_open (ss_path, &s), 0);
    cr_assert_eq (wf_store_set_durability (s, WF_DUR_INTENTS), 0);
    cr_assert_eq (wf_store_stats (s, &st), 0);
    cr_assert_eq (st.commits, 0);
    cr_assert_eq (wf_run_create (s, &r), 0);
    for (int i = 0; i < 10; i++) {
        cr_assert_eq (wf_item_put (s, r.id, "a", "x", NULL), 0);
        cr_assert_eq (wf_event_add (s, r.id, "{}"), 0);
    }
    cr_assert_eq (wf_store_stats (s, &st), 0);
    cr_assert_eq (st.commits, 21);
    cr_assert_eq (st.syncs, 1, "only the run's creation: %llu",
                  (unsigned long long) st.syncs);
    /* a transaction of state changes and intents: one commit, one sync */
    cr_assert_eq (wf_store_begin (s), 0);
    for (int i = 0; i < 5; i++) {
        cr_assert_eq (wf_item_put (s, r.id, "a", "y", NULL), 0);
        cr_assert_eq (wf_journal_intent (s, r.id, "a", "clone", "{}", &seq), 0);
    }
    cr_assert_eq (wf_store_commit (s), 0);
    cr_assert_eq (wf_journal_finish (s, seq, WF_J_DONE, NULL), 0);
    cr_assert_eq (wf_lease_acquire (s, "k", r.id, "h:1", 60, NULL), 0);
    cr_assert_eq (wf_store_stats (s, &st), 0);
    cr_assert_eq (st.commits, 24);
    cr_assert_eq (st.syncs, 2);
    cr_assert_eq (wf_journal_intent (s, r.id, "a", "start", "{}", &seq), 0);
    cr_assert_eq (wf_store_sync (s), 0);
    cr_assert_eq (wf_store_stats (s, &st), 0);
    cr_assert_eq (st.commits, 25);
    cr_assert_eq (st.syncs, 4);
    wf_store_close (s);

    /* the default: every commit synced */
    cr_assert_eq (wf_store_sqlite_open (ss_path, &s), 0);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq (wf_item_put (s, r.id, "b", "x", NULL), 0);
    }
    cr_assert_eq (wf_store_stats (s, &st), 0);
    cr_assert_eq (st.commits, 3);
    cr_assert_eq (st.syncs, 3);
    wf_store_close (s);
}

/* Writes not synced yet survive the death of their process (kill -9):
 * they are in the WAL, which another handle reads. */
Test (store_sqlite_only, unsynced_writes_survive_a_killed_process,
      .init = store_suite_setup, .fini = store_suite_teardown)
{
    struct wf_store *s;
    struct wf_run_rec got = { 0 };
    int status;
    pid_t pid = fork ();

    cr_assert_geq (pid, 0);
    if (pid == 0) {
        struct wf_run_rec r = { .kind = (char *) "migrate",
                                .name = (char *) "w", .state = (char *) "new" };

        if (wf_store_sqlite_open (ss_path, &s) < 0 ||
            wf_store_set_durability (s, WF_DUR_INTENTS) < 0 ||
            wf_run_create (s, &r) < 0 ||
            wf_run_set_state (s, r.id, "running", "{\"lazy\":1}") < 0) {
            _exit (3);
        }
        kill (getpid (), SIGKILL);
        _exit (4);
    }
    cr_assert_eq (waitpid (pid, &status, 0), pid);
    cr_assert (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL,
               "child did not die by SIGKILL (status %d)", status);
    cr_assert_eq (wf_store_sqlite_open (ss_path, &s), 0);
    cr_assert_eq (wf_run_get (s, 1, &got), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_str_eq (got.state, "running");
    cr_assert_str_eq (got.detail, "{\"lazy\":1}");
    wf_run_rec_clear (&got);
    wf_store_close (s);
}
