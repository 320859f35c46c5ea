/* engine/workflow/store-pg.c: the shared store suite (store-suite.h) on a
 * real PostgreSQL server, plus what only PostgreSQL has.  Not a test-*
 * binary: `make unit` does not run it; tests/integration/store-pg.sh
 * starts a private cluster (tests/lib/pg-cluster) and runs it with
 * VMSHIFT_TEST_PG set to the cluster's URL and PGPASSFILE to its
 * password file.
 *
 * Each test gets a fresh PostgreSQL schema (search_path in the URL), so
 * the tests share one server and one database without seeing each
 * other's tables. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/base/dl-pq.h"
#include "engine/base/error.h"
#include "engine/workflow/store.h"

static char sp_schema[64];
static char sp_url[1024];

static const char *
sp_base (void)
{
    const char *u = getenv ("VMSHIFT_TEST_PG");

    cr_assert (u && *u, "VMSHIFT_TEST_PG is unset: this binary is run by "
               "tests/integration/store-pg.sh, which starts the server");
    return u;
}

static void
sp_quiet (void *arg, const char *msg)
{
    (void) arg;
    (void) msg;                 /* DROP SCHEMA ... CASCADE notices */
}

/* Run one statement on the server, as the test's admin. */
static void
sp_sql (const char *sql)
{
    PGconn *c;
    PGresult *res;

    cr_assert_eq (vs_dl_pq (), 0, "%s", vmshift_internal_error_msg ());
    c = PQconnectdb (sp_base ());
    cr_assert_eq (PQstatus (c), CONNECTION_OK, "%s", PQerrorMessage (c));
    PQsetNoticeProcessor (c, sp_quiet, NULL);
    res = PQexec (c, sql);
    cr_assert (PQresultStatus (res) == PGRES_COMMAND_OK ||
               PQresultStatus (res) == PGRES_TUPLES_OK, "%s: %s", sql,
               PQerrorMessage (c));
    PQclear (res);
    PQfinish (c);
}

static void
store_suite_setup (void)
{
    const char *base = sp_base ();
    char sql[128];

    snprintf (sp_schema, sizeof sp_schema, "vmshift_t%ld_%ld",
              (long) getpid (), (long) time (NULL));
    snprintf (sql, sizeof sql, "CREATE SCHEMA %s", sp_schema);
    sp_sql (sql);
    /* options=-c search_path=SCHEMA, percent-encoded in the URL */
    snprintf (sp_url, sizeof sp_url, "%s%soptions=-csearch_path%%3D%s", base,
              strchr (base, '?') ? "&" : "?", sp_schema);
}

static void
store_suite_teardown (void)
{
    char sql[128];

    snprintf (sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", sp_schema);
    sp_sql (sql);
}

static struct wf_store *
store_suite_open (void)
{
    struct wf_store *s = NULL;

    if (wf_store_open (sp_url, &s) < 0) {
        return NULL;
    }
    return s;
}

#define STORE_SUITE store_pg
#include "store-suite.h"

Test (store_pg_only, opened_by_url_and_env, .init = store_suite_setup,
      .fini = store_suite_teardown)
{
    struct wf_store *s;
    int v = 0;

    cr_assert_eq (wf_store_open (sp_url, &s), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_str_eq (s->ops->name, "postgresql");
    cr_assert_eq (wf_store_schema_version (s, &v), 0);
    cr_assert_eq (v, WF_STORE_PG_SCHEMA);
    wf_store_close (s);
    /* $VMSHIFT_STORE may be a URL too (the default store of the CLI) */
    setenv ("VMSHIFT_STORE", sp_url, 1);
    cr_assert_eq (wf_store_open (NULL, &s), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_str_eq (s->ops->name, "postgresql");
    wf_store_close (s);
    unsetenv ("VMSHIFT_STORE");
    /* postgres:// is the same kind */
    cr_assert_eq (strncmp (sp_url, "postgresql://", 13), 0);
    {
        char alt[1100];

        snprintf (alt, sizeof alt, "postgres://%s", sp_url + 13);
        cr_assert_eq (wf_store_open (alt, &s), 0, "%s",
                      vmshift_internal_error_msg ());
        wf_store_close (s);
    }
}

Test (store_pg_only, password_in_url_is_refused)
{
    struct wf_store *s = NULL;
    const char *urls[] = {
        "postgresql://vmshift:s3cret-pw@127.0.0.1:1/db",
        "postgresql://vmshift@127.0.0.1:1/db?password=s3cret-pw",
    };

    for (size_t i = 0; i < 2; i++) {
        cr_assert_eq (wf_store_open (urls[i], &s), -EINVAL, "%s", urls[i]);
        cr_assert_null (s);
        cr_assert_not_null (strstr (vmshift_internal_error_msg (),
                                    "password"), "%s",
                            vmshift_internal_error_msg ());
        cr_assert_null (strstr (vmshift_internal_error_msg (), "s3cret"),
                        "the message never shows the password: %s",
                        vmshift_internal_error_msg ());
    }
}

Test (store_pg_only, no_server_names_the_store)
{
    struct wf_store *s = NULL;
    /* a socket folder with no server in it */
    const char *url = "postgresql:///x?host=/nonexistent-vmshift-test";

    cr_assert_eq (wf_store_open (url, &s), -EIO);
    cr_assert_null (s);
    cr_assert_not_null (strstr (vmshift_internal_error_msg (), url), "%s",
                        vmshift_internal_error_msg ());
    cr_assert_not_null (strstr (vmshift_internal_error_msg (),
                                "cannot connect"), "%s",
                        vmshift_internal_error_msg ());
}

Test (store_pg_only, newer_schema_is_refused, .init = store_suite_setup,
      .fini = store_suite_teardown)
{
    struct wf_store *s;
    char sql[256];

    cr_assert_eq (wf_store_open (sp_url, &s), 0, "%s",
                  vmshift_internal_error_msg ());
    wf_store_close (s);
    snprintf (sql, sizeof sql, "UPDATE %s.vmshift_schema SET version = %d",
              sp_schema, WF_STORE_PG_SCHEMA + 1);
    sp_sql (sql);
    cr_assert_eq (wf_store_open (sp_url, &s), -ENOTSUP);
    cr_assert_null (s);
    cr_assert_not_null (strstr (vmshift_internal_error_msg (), "newer"),
                        "%s", vmshift_internal_error_msg ());
}

/* A store made by a version before store IDs (schema 1: no
 * vmshift_meta) gets its ID on the first open by this one, once, even
 * when several runners open it at once; its runs are kept. */
Test (store_pg_only, upgrade_from_v1_makes_one_store_id,
      .init = store_suite_setup, .fini = store_suite_teardown)
{
    struct wf_store *s = ss_open ();
    int64_t id = ss_new_run (s, "migrate", "old");
    struct wf_run_rec got = { 0 };
    char sql[256], sid[WF_STORE_ID_LEN + 1];
    const char *now;

    wf_store_close (s);
    snprintf (sql, sizeof sql, "DROP TABLE %s.vmshift_meta; "
              "UPDATE %s.vmshift_schema SET version = 1", sp_schema,
              sp_schema);
    sp_sql (sql);
    ss_concurrent_ids (sid);
    s = ss_open ();
    cr_assert_eq (wf_store_id (s, &now), 0);
    cr_assert_str_eq (now, sid, "the ID changed after the upgrade");
    cr_assert_eq (wf_run_get (s, id, &got), 0);
    cr_assert_str_eq (got.name, "old");
    wf_run_rec_clear (&got);
    wf_store_close (s);
}

/* A lease row that another runner has locked (it is deciding about the
 * key in an open transaction) is skipped, not waited for: the claim is
 * refused at once, long before the lock timeout. */
Test (store_pg_only, locked_lease_is_skipped_not_waited_for,
      .init = store_suite_setup, .fini = store_suite_teardown)
{
    struct wf_store *s1 = ss_open (), *s2 = ss_open ();
    struct wf_lease_rec h = { 0 };
    int64_t a = ss_new_run (s1, "job", "j"), b = ss_new_run (s1, "job", "j");
    int64_t c = ss_new_run (s1, "job", "j");
    struct timespec t0, t1;
    double dt;

    /* an expired lease: free for the next claim */
    cr_assert_eq (wf_lease_acquire (s1, "job:j", a, "h:1", 1, NULL), 0);
    sleep (2);
    cr_assert_eq (wf_store_begin (s1), 0);
    cr_assert_eq (wf_lease_acquire (s1, "job:j", b, "h:2", 60, NULL), 0,
                  "%s", vmshift_internal_error_msg ());
    /* s1's transaction holds the row; s2 must not queue behind it */
    clock_gettime (CLOCK_MONOTONIC, &t0);
    cr_assert_eq (wf_lease_acquire (s2, "job:j", c, "h:3", 60, &h), -EBUSY);
    clock_gettime (CLOCK_MONOTONIC, &t1);
    dt = (double) (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    cr_assert_lt (dt, 5.0, "refused after %.1f s: it waited for the lock",
                  dt);
    cr_assert_not_null (h.owner);
    wf_lease_rec_clear (&h);
    cr_assert_eq (wf_store_commit (s1), 0);
    cr_assert_eq (wf_lease_get (s2, "job:j", &h), 0);
    cr_assert_eq (h.run_id, b, "the claim that held the row won");
    wf_lease_rec_clear (&h);
    cr_assert_eq (wf_lease_acquire (s2, "job:j", c, "h:3", 60, NULL),
                  -EBUSY);
    wf_store_close (s1);
    wf_store_close (s2);
}

/* Timestamps are the server's: the same for every runner. */
Test (store_pg_only, times_come_from_the_server, .init = store_suite_setup,
      .fini = store_suite_teardown)
{
    struct wf_store *s = ss_open ();
    struct wf_run_rec r = { 0 };
    struct wf_lease_rec h = { 0 };
    int64_t id = ss_new_run (s, "job", "t"), now = (int64_t) time (NULL);

    cr_assert_eq (wf_run_get (s, id, &r), 0);
    cr_assert (r.created >= now - 5 && r.created <= now + 5,
               "created %lld, now %lld (same host, same clock)",
               (long long) r.created, (long long) now);
    wf_run_rec_clear (&r);
    cr_assert_eq (wf_lease_acquire (s, "job:t", id, "h:1", 100, NULL), 0);
    cr_assert_eq (wf_lease_get (s, "job:t", &h), 0);
    cr_assert (h.expires >= now + 95 && h.expires <= now + 105);
    wf_lease_rec_clear (&h);
    wf_store_close (s);
}
