/* The run store's contract as Criterion tests, written against the
 * interface only (engine/workflow/store.h), so every store implementation
 * runs the same suite.  Include this file once from a test-*.c that
 * defines, before the #include:
 *
 *   #define STORE_SUITE store_sqlite      the Criterion suite name
 *   static void store_suite_setup (void);     a fresh, empty store
 *   static void store_suite_teardown (void);  remove it
 *   static struct wf_store *store_suite_open (void);
 *       a new handle to the store made by setup (called several times;
 *       the handles must see each other's commits, as two processes do)
 *
 * The tests close every handle they open. */
#ifndef STORE_SUITE
#error "define STORE_SUITE and the store_suite_* functions first"
#endif

#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/base/error.h"
#include "engine/workflow/store.h"

static struct wf_store *
ss_open (void)
{
    struct wf_store *s = store_suite_open ();

    cr_assert_not_null (s, "opening the store: %s",
                        vmshift_internal_error_msg ());
    return s;
}

static int64_t
ss_new_run (struct wf_store *s, const char *kind, const char *name)
{
    struct wf_run_rec r = {
        .kind = (char *) kind, .name = (char *) name,
        .state = (char *) "new", .doc = (char *) "{\"name\":\"x\"}",
        .owner = (char *) "h:1",
    };

    cr_assert_eq (wf_run_create (s, &r), 0, "%s", vmshift_internal_error_msg ());
    cr_assert_gt (r.id, 0);
    return r.id;
}

Test (STORE_SUITE, run_roundtrip, .init = store_suite_setup,
      .fini = store_suite_teardown)
{
    struct wf_store *s = ss_open ();
    struct wf_run_rec r = { 0 };
    const char *odd = "wave 'one'; DROP TABLE runs; -- \"\xc3\xa9\"";
    int64_t id;

    id = ss_new_run (s, "migrate", odd);
    cr_assert_eq (wf_run_get (s, id, &r), 0);
    cr_assert_str_eq (r.kind, "migrate");
    cr_assert_str_eq (r.name, odd);
    cr_assert_str_eq (r.state, "new");
    cr_assert_str_eq (r.doc, "{\"name\":\"x\"}");
    cr_assert_null (r.detail);
    cr_assert_str_eq (r.owner, "h:1");
    cr_assert_not (r.abort_requested);
    cr_assert_gt (r.created, 0);
    wf_run_rec_clear (&r);

    cr_assert_eq (wf_run_set_state (s, id, "running", "{\"a\":1}"), 0);
    cr_assert_eq (wf_run_set_state (s, id, "done", NULL), 0);
    cr_assert_eq (wf_run_set_owner (s, id, NULL), 0);
    cr_assert_eq (wf_run_get (s, id, &r), 0);
    cr_assert_str_eq (r.state, "done");
    cr_assert_str_eq (r.detail, "{\"a\":1}", "a NULL detail keeps the old one");
    cr_assert_null (r.owner);
    wf_run_rec_clear (&r);

    cr_assert_eq (wf_run_get (s, id + 1000, &r), -ENOENT);
    cr_assert_eq (wf_run_set_state (s, id + 1000, "x", NULL), -ENOENT);
    cr_assert_eq (wf_run_get (s, 0, &r), -EINVAL);
    wf_store_close (s);
}

struct ss_list {
    int n;
    int64_t ids[16];
    char names[16][32];
};

static int
ss_run_cb (void *opaque, const struct wf_run_rec *r)
{
    struct ss_list *l = opaque;

    if (l->n < 16) {
        l->ids[l->n] = r->id;
        snprintf (l->names[l->n], 32, "%s", r->name);
    }
    l->n++;
    return 0;
}

static int
ss_stop_cb (void *opaque, const struct wf_run_rec *r)
{
    (void) r;
    ++*(int *) opaque;
    return 42;
}

Test (STORE_SUITE, run_list_by_kind_newest_first, .init = store_suite_setup,
      .fini = store_suite_teardown)
{
    struct wf_store *s = ss_open ();
    struct ss_list l = { 0 };
    int64_t a, b, c;
    int calls = 0;

    a = ss_new_run (s, "migrate", "a");
    b = ss_new_run (s, "job", "b");
    c = ss_new_run (s, "migrate", "c");
    cr_assert (a < b && b < c, "ids increase");
    cr_assert_eq (wf_run_list (s, "migrate", ss_run_cb, &l), 0);
    cr_assert_eq (l.n, 2);
    cr_assert_eq (l.ids[0], c);
    cr_assert_eq (l.ids[1], a);
    memset (&l, 0, sizeof l);
    cr_assert_eq (wf_run_list (s, NULL, ss_run_cb, &l), 0);
    cr_assert_eq (l.n, 3);
    cr_assert_str_eq (l.names[1], "b");
    cr_assert_eq (wf_run_list (s, NULL, ss_stop_cb, &calls), 42,
                  "a callback's non-zero return stops the listing");
    cr_assert_eq (calls, 1);
    wf_store_close (s);
}

Test (STORE_SUITE, abort_request_crosses_handles, .init = store_suite_setup,
      .fini = store_suite_teardown)
{
    struct wf_store *s1 = ss_open (), *s2 = ss_open ();
    struct wf_run_rec r = { 0 };
    int64_t id = ss_new_run (s1, "migrate", "w");

    cr_assert_eq (wf_run_request_abort (s2, id), 0);
    cr_assert_eq (wf_run_get (s1, id, &r), 0);
    cr_assert (r.abort_requested);
    wf_run_rec_clear (&r);
    cr_assert_eq (wf_run_request_abort (s2, id + 99), -ENOENT);
    wf_store_close (s1);
    wf_store_close (s2);
}

struct ss_items {
    int n;
    char item[8][32], state[8][32], detail[8][64];
};

static int
ss_item_cb (void *opaque, const struct wf_item_rec *r)
{
    struct ss_items *l = opaque;

    cr_assert_lt (l->n, 8);
    snprintf (l->item[l->n], 32, "%s", r->item);
    snprintf (l->state[l->n], 32, "%s", r->state);
    snprintf (l->detail[l->n], 64, "%s", r->detail ? r->detail : "(null)");
    l->n++;
    return 0;
}

Test (STORE_SUITE, items_upsert_in_first_put_order, .init = store_suite_setup,
      .fini = store_suite_teardown)
{
    struct wf_store *s = ss_open ();
    struct ss_items l = { 0 };
    int64_t id = ss_new_run (s, "migrate", "w"), other;

    other = ss_new_run (s, "migrate", "v");
    cr_assert_eq (wf_item_put (s, id, "web02", "pending", NULL), 0);
    cr_assert_eq (wf_item_put (s, id, "db01", "pending", NULL), 0);
    cr_assert_eq (wf_item_put (s, other, "db01", "other", NULL), 0);
    cr_assert_eq (wf_item_put (s, id, "web02", "converting", "{\"d\":2}"), 0);
    cr_assert_eq (wf_item_list (s, id, ss_item_cb, &l), 0);
    cr_assert_eq (l.n, 2);
    cr_assert_str_eq (l.item[0], "web02");
    cr_assert_str_eq (l.state[0], "converting");
    cr_assert_str_eq (l.detail[0], "{\"d\":2}");
    cr_assert_str_eq (l.item[1], "db01");
    cr_assert_str_eq (l.state[1], "pending");
    cr_assert_eq (wf_item_put (s, id, "", "x", NULL), -EINVAL);
    wf_store_close (s);
}

struct ss_journal {
    int n;
    int64_t seq[8];
    enum wf_journal_status st[8];
    char step[8][32], item[8][32], intent[8][64], result[8][64];
};

static int
ss_journal_cb (void *opaque, const struct wf_journal_rec *r)
{
    struct ss_journal *l = opaque;

    cr_assert_lt (l->n, 8);
    l->seq[l->n] = r->seq;
    l->st[l->n] = r->status;
    snprintf (l->step[l->n], 32, "%s", r->step);
    snprintf (l->item[l->n], 32, "%s", r->item);
    snprintf (l->intent[l->n], 64, "%s", r->intent);
    snprintf (l->result[l->n], 64, "%s", r->result ? r->result : "(null)");
    cr_assert_gt (r->t_intent, 0);
    l->n++;
    return 0;
}

Test (STORE_SUITE, journal_intent_then_result, .init = store_suite_setup,
      .fini = store_suite_teardown)
{
    struct wf_store *s = ss_open (), *s2 = ss_open ();
    struct ss_journal l = { 0 };
    int64_t id = ss_new_run (s, "migrate", "w");
    int64_t j1, j2, j3;

    cr_assert_eq (wf_journal_intent (s, id, NULL, "snapshot",
                                     "{\"name\":\"vmshift.1\"}", &j1), 0);
    cr_assert_eq (wf_journal_intent (s, id, "db01", "clone",
                                     "{\"tmp\":\"a.tmp\"}", &j2), 0);
    cr_assert_eq (wf_journal_intent (s, id, "db01", "define", "{}", &j3), 0);
    cr_assert (j1 < j2 && j2 < j3);
    cr_assert_eq (wf_journal_finish (s, j1, WF_J_DONE, "{\"uuid\":\"u1\"}"), 0);
    cr_assert_eq (wf_journal_finish (s, j2, WF_J_UNDONE, NULL), 0);
    cr_assert_eq (wf_journal_finish (s, j3 + 100, WF_J_DONE, NULL), -ENOENT);
    cr_assert_eq (wf_journal_finish (s, j3, WF_J_INTENT, NULL), -EINVAL,
                  "an entry cannot go back to intent");
    /* What one handle wrote, another (another process) reads. */
    cr_assert_eq (wf_journal_list (s2, id, ss_journal_cb, &l), 0);
    cr_assert_eq (l.n, 3);
    cr_assert_eq (l.seq[0], j1);
    cr_assert_eq (l.st[0], WF_J_DONE);
    cr_assert_str_eq (l.item[0], "");
    cr_assert_str_eq (l.step[0], "snapshot");
    cr_assert_str_eq (l.intent[0], "{\"name\":\"vmshift.1\"}");
    cr_assert_str_eq (l.result[0], "{\"uuid\":\"u1\"}");
    cr_assert_eq (l.st[1], WF_J_UNDONE);
    cr_assert_str_eq (l.item[1], "db01");
    cr_assert_eq (l.st[2], WF_J_INTENT);
    cr_assert_str_eq (l.result[2], "(null)");
    cr_assert_eq (wf_journal_intent (s, id, "x", "", "{}", &j1), -EINVAL);
    wf_store_close (s);
    wf_store_close (s2);
}

Test (STORE_SUITE, lease_refuses_second_run_naming_the_first,
      .init = store_suite_setup, .fini = store_suite_teardown)
{
    struct wf_store *s1 = ss_open (), *s2 = ss_open ();
    struct wf_lease_rec h = { 0 };
    int64_t a = ss_new_run (s1, "migrate", "w"), b = ss_new_run (s1,
                                                                 "migrate",
                                                                 "w");

    cr_assert_eq (wf_lease_acquire (s1, "blueprint:w", a, "h:1", 60, NULL), 0);
    cr_assert_eq (wf_lease_acquire (s2, "blueprint:w", b, "h:2", 60, &h),
                  -EBUSY);
    cr_assert_eq (h.run_id, a);
    cr_assert_str_eq (h.owner, "h:1");
    cr_assert_str_eq (h.key, "blueprint:w");
    cr_assert_gt (h.expires, 0);
    cr_assert_not_null (strstr (vmshift_internal_error_msg (), "blueprint:w"));
    wf_lease_rec_clear (&h);
    /* Renewal by the holder; the same run from another process is not
     * the holder. */
    cr_assert_eq (wf_lease_acquire (s1, "blueprint:w", a, "h:1", 60, NULL), 0);
    cr_assert_eq (wf_lease_acquire (s2, "blueprint:w", a, "h:3", 60, NULL),
                  -EBUSY);
    /* Other keys are independent. */
    cr_assert_eq (wf_lease_acquire (s2, "blueprint:v", b, "h:2", 60, NULL), 0);
    /* Release by a non-holder does nothing; by the holder frees it. */
    cr_assert_eq (wf_lease_release (s2, "blueprint:w", b), 0);
    cr_assert_eq (wf_lease_get (s2, "blueprint:w", &h), 0);
    cr_assert_eq (h.run_id, a);
    wf_lease_rec_clear (&h);
    cr_assert_eq (wf_lease_release (s1, "blueprint:w", a), 0);
    cr_assert_eq (wf_lease_get (s2, "blueprint:w", &h), -ENOENT);
    cr_assert_eq (wf_lease_acquire (s2, "blueprint:w", b, "h:2", 60, NULL), 0);
    wf_store_close (s1);
    wf_store_close (s2);
}

Test (STORE_SUITE, lease_expiry_and_steal, .init = store_suite_setup,
      .fini = store_suite_teardown)
{
    struct wf_store *s = ss_open ();
    struct wf_lease_rec h = { 0 };
    int64_t a = ss_new_run (s, "job", "j"), b = ss_new_run (s, "job", "j");

    cr_assert_eq (wf_lease_acquire (s, "job:j", a, "h:1", 1, NULL), 0);
    cr_assert_eq (wf_lease_acquire (s, "job:j", b, "h:2", 60, NULL), -EBUSY);
    /* Steal is compare-and-swap on the owner. */
    cr_assert_eq (wf_lease_steal (s, "job:j", "h:9", b, "h:2", 60), -EBUSY);
    cr_assert_eq (wf_lease_steal (s, "job:j", "h:1", b, "h:2", 60), 0);
    cr_assert_eq (wf_lease_get (s, "job:j", &h), 0);
    cr_assert_eq (h.run_id, b);
    cr_assert_str_eq (h.owner, "h:2");
    wf_lease_rec_clear (&h);
    cr_assert_eq (wf_lease_steal (s, "job:j", "h:1", a, "h:1", 60), -EBUSY,
                  "a second steal with the stale owner fails");
    cr_assert_eq (wf_lease_steal (s, "job:none", "h:1", a, "h:1", 60), -EBUSY);
    /* An expired lease is free for anyone. */
    cr_assert_eq (wf_lease_acquire (s, "job:k", a, "h:1", 1, NULL), 0);
    sleep (2);
    cr_assert_eq (wf_lease_acquire (s, "job:k", b, "h:2", 60, NULL), 0);
    cr_assert_eq (wf_lease_acquire (s, "job:k", b, "h:2", 0, NULL), -EINVAL);
    wf_store_close (s);
}

/* The heartbeat (docs/jobs.md, "Leases"): a renewal moves the expiry
 * on; a holder whose lease was taken over (stolen, or taken when it had
 * expired) or released cannot renew it back. */
Test (STORE_SUITE, lease_renew_extends_and_fails_after_a_takeover,
      .init = store_suite_setup, .fini = store_suite_teardown)
{
    struct wf_store *s1 = ss_open (), *s2 = ss_open ();
    struct wf_lease_rec h = { 0 };
    int64_t a = ss_new_run (s1, "job", "j"), b = ss_new_run (s1, "job", "j");
    int64_t before;

    /* Renewal extends: a 1 s lease renewed for 60 s outlives 2 s. */
    cr_assert_eq (wf_lease_acquire (s1, "job:r", a, "far:1", 1, NULL), 0);
    cr_assert_eq (wf_lease_get (s2, "job:r", &h), 0);
    before = h.expires;
    wf_lease_rec_clear (&h);
    cr_assert_eq (wf_lease_renew (s1, "job:r", a, "far:1", 60), 0);
    cr_assert_eq (wf_lease_get (s2, "job:r", &h), 0);
    cr_assert_geq (h.expires, before + 59, "expiry %lld, was %lld",
                   (long long) h.expires, (long long) before);
    cr_assert_eq (h.run_id, a);
    cr_assert_str_eq (h.owner, "far:1");
    wf_lease_rec_clear (&h);
    sleep (2);
    cr_assert_eq (wf_lease_acquire (s2, "job:r", b, "near:2", 60, &h),
                  -EBUSY, "a renewed lease is not free after its first ttl");
    cr_assert_eq (h.run_id, a);
    wf_lease_rec_clear (&h);
    /* Only the holder renews: another run, or the same run under another
     * owner, is refused and changes nothing. */
    cr_assert_eq (wf_lease_renew (s2, "job:r", b, "near:2", 60), -EBUSY);
    cr_assert_eq (wf_lease_renew (s2, "job:r", a, "near:2", 60), -EBUSY);
    cr_assert_eq (wf_lease_get (s2, "job:r", &h), 0);
    cr_assert_eq (h.run_id, a);
    cr_assert_str_eq (h.owner, "far:1");
    wf_lease_rec_clear (&h);
    /* A steal: the old holder's renewal fails, naming the new holder, and
     * does not take the lease back. */
    cr_assert_eq (wf_lease_steal (s2, "job:r", "far:1", b, "near:2", 60), 0);
    cr_assert_eq (wf_lease_renew (s1, "job:r", a, "far:1", 60), -EBUSY);
    cr_assert (strstr (vmshift_internal_error_msg (), "near:2") != NULL,
               "message: %s", vmshift_internal_error_msg ());
    cr_assert_eq (wf_lease_get (s1, "job:r", &h), 0);
    cr_assert_eq (h.run_id, b);
    cr_assert_str_eq (h.owner, "near:2");
    wf_lease_rec_clear (&h);
    cr_assert_eq (wf_lease_renew (s2, "job:r", b, "near:2", 60), 0);
    /* Expiry lets another owner in; the old holder cannot renew then. */
    cr_assert_eq (wf_lease_acquire (s1, "job:x", a, "far:1", 1, NULL), 0);
    sleep (2);
    cr_assert_eq (wf_lease_acquire (s2, "job:x", b, "near:2", 60, NULL), 0);
    cr_assert_eq (wf_lease_renew (s1, "job:x", a, "far:1", 60), -EBUSY);
    cr_assert_eq (wf_lease_get (s1, "job:x", &h), 0);
    cr_assert_eq (h.run_id, b);
    wf_lease_rec_clear (&h);
    /* An expired lease nobody took is still the holder's to renew. */
    cr_assert_eq (wf_lease_acquire (s1, "job:y", a, "far:1", 1, NULL), 0);
    sleep (2);
    cr_assert_eq (wf_lease_renew (s1, "job:y", a, "far:1", 60), 0);
    cr_assert_eq (wf_lease_acquire (s2, "job:y", b, "near:2", 60, NULL),
                  -EBUSY);
    /* Released: nothing to renew, and the renewal does not recreate it. */
    cr_assert_eq (wf_lease_release (s1, "job:y", a), 0);
    cr_assert_eq (wf_lease_renew (s1, "job:y", a, "far:1", 60), -EBUSY);
    cr_assert_eq (wf_lease_get (s1, "job:y", &h), -ENOENT);
    cr_assert_eq (wf_lease_renew (s1, "job:y", a, "far:1", 0), -EINVAL);
    wf_store_close (s1);
    wf_store_close (s2);
}

#define SS_RACERS 4

struct ss_racer {
    int64_t run_id;
    int rc;
    pthread_barrier_t *bar;
};

static void *
ss_racer_main (void *arg)
{
    struct ss_racer *r = arg;
    struct wf_store *s = store_suite_open ();
    char owner[32];

    snprintf (owner, sizeof owner, "h:%lld", (long long) r->run_id);
    pthread_barrier_wait (r->bar);
    r->rc = s ? wf_lease_acquire (s, "blueprint:race", r->run_id, owner, 60,
                                  NULL) : -EIO;
    wf_store_close (s);
    return NULL;
}

Test (STORE_SUITE, lease_race_has_one_winner, .init = store_suite_setup,
      .fini = store_suite_teardown)
{
    struct wf_store *s = ss_open ();
    struct ss_racer rr[SS_RACERS];
    pthread_t th[SS_RACERS];
    pthread_barrier_t bar;
    int wins = 0;

    pthread_barrier_init (&bar, NULL, SS_RACERS);
    for (int i = 0; i < SS_RACERS; i++) {
        rr[i] = (struct ss_racer) { ss_new_run (s, "migrate", "race"), 1,
                                    &bar };
        pthread_create (&th[i], NULL, ss_racer_main, &rr[i]);
    }
    for (int i = 0; i < SS_RACERS; i++) {
        pthread_join (th[i], NULL);
        cr_assert (rr[i].rc == 0 || rr[i].rc == -EBUSY, "racer %d: %d", i,
                   rr[i].rc);
        wins += rr[i].rc == 0;
    }
    cr_assert_eq (wins, 1);
    pthread_barrier_destroy (&bar);
    wf_store_close (s);
}

Test (STORE_SUITE, transaction_commit_and_rollback, .init = store_suite_setup,
      .fini = store_suite_teardown)
{
    struct wf_store *s = ss_open (), *s2 = ss_open ();
    struct ss_items l = { 0 };
    int64_t id = ss_new_run (s, "migrate", "w"), seq;

    cr_assert_eq (wf_store_begin (s), 0);
    cr_assert_neq (wf_store_begin (s), 0, "transactions do not nest");
    cr_assert_eq (wf_item_put (s, id, "a", "x", NULL), 0);
    cr_assert_eq (wf_journal_intent (s, id, "a", "clone", "{}", &seq), 0);
    cr_assert_eq (wf_store_rollback (s), 0);
    cr_assert_eq (wf_item_list (s2, id, ss_item_cb, &l), 0);
    cr_assert_eq (l.n, 0, "rolled back");

    cr_assert_eq (wf_store_begin (s), 0);
    cr_assert_eq (wf_item_put (s, id, "b", "y", NULL), 0);
    /* A lease inside the caller's transaction joins it. */
    cr_assert_eq (wf_lease_acquire (s, "blueprint:t", id, "h:1", 60, NULL), 0);
    cr_assert_eq (wf_store_commit (s), 0);
    cr_assert_eq (wf_item_list (s2, id, ss_item_cb, &l), 0);
    cr_assert_eq (l.n, 1);
    cr_assert_str_eq (l.item[0], "b");
    cr_assert_eq (wf_lease_acquire (s2, "blueprint:t", id + 1, "h:2", 60,
                                    NULL), -EBUSY);
    cr_assert_neq (wf_store_commit (s), 0, "no transaction open");
    wf_store_close (s);
    wf_store_close (s2);
}

/* WF_DUR_INTENTS changes when writes are synced, never what a handle or
 * another handle sees. */
Test (STORE_SUITE, durability_intents_same_view, .init = store_suite_setup,
      .fini = store_suite_teardown)
{
    struct wf_store *s = ss_open (), *s2 = ss_open ();
    struct ss_items l = { 0 };
    struct ss_journal j = { 0 };
    int64_t id, seq;

    cr_assert_eq (wf_store_set_durability (s, WF_DUR_INTENTS), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (wf_store_set_durability (s, (enum wf_store_durability) 7),
                  -EINVAL);
    id = ss_new_run (s, "migrate", "w");
    cr_assert_eq (wf_item_put (s, id, "a", "ready", NULL), 0);
    cr_assert_eq (wf_store_begin (s), 0);
    cr_assert_neq (wf_store_set_durability (s, WF_DUR_EVERY), 0,
                   "not inside a transaction");
    cr_assert_eq (wf_item_put (s, id, "a", "converting", NULL), 0);
    cr_assert_eq (wf_journal_intent (s, id, "a", "clone", "{}", &seq), 0);
    cr_assert_eq (wf_store_commit (s), 0);
    cr_assert_eq (wf_journal_finish (s, seq, WF_J_DONE, "{\"r\":1}"), 0);
    cr_assert_eq (wf_event_add (s, id, "{\"e\":1}"), 0);
    cr_assert_eq (wf_store_sync (s), 0);
    /* the other handle sees every write, synced or not */
    cr_assert_eq (wf_item_list (s2, id, ss_item_cb, &l), 0);
    cr_assert_eq (l.n, 1);
    cr_assert_str_eq (l.state[0], "converting");
    cr_assert_eq (wf_journal_list (s2, id, ss_journal_cb, &j), 0);
    cr_assert_eq (j.n, 1);
    cr_assert_eq (j.st[0], WF_J_DONE);
    cr_assert_eq (wf_store_set_durability (s, WF_DUR_EVERY), 0);
    cr_assert_eq (wf_item_put (s, id, "a", "converted", NULL), 0);
    wf_store_close (s);
    wf_store_close (s2);
}

struct ss_events {
    int n;
    int64_t last;
    char json[8][64];
};

static int
ss_event_cb (void *opaque, const struct wf_event_rec *r)
{
    struct ss_events *l = opaque;

    cr_assert_lt (l->n, 8);
    cr_assert_gt (r->seq, l->last);
    l->last = r->seq;
    snprintf (l->json[l->n++], 64, "%s", r->json);
    return 0;
}

Test (STORE_SUITE, events_append_and_follow, .init = store_suite_setup,
      .fini = store_suite_teardown)
{
    struct wf_store *s = ss_open ();
    struct ss_events l = { 0 };
    int64_t id = ss_new_run (s, "migrate", "w"), other;

    other = ss_new_run (s, "migrate", "v");
    cr_assert_eq (wf_event_add (s, id, "{\"e\":1}"), 0);
    cr_assert_eq (wf_event_add (s, other, "{\"e\":\"other\"}"), 0);
    cr_assert_eq (wf_event_add (s, id, "{\"e\":2}"), 0);
    cr_assert_eq (wf_event_list (s, id, 0, ss_event_cb, &l), 0);
    cr_assert_eq (l.n, 2);
    cr_assert_str_eq (l.json[0], "{\"e\":1}");
    cr_assert_str_eq (l.json[1], "{\"e\":2}");
    /* Follow: only what came after the last one seen. */
    cr_assert_eq (wf_event_add (s, id, "{\"e\":3}"), 0);
    l.n = 0;
    cr_assert_eq (wf_event_list (s, id, l.last, ss_event_cb, &l), 0);
    cr_assert_eq (l.n, 1);
    cr_assert_str_eq (l.json[0], "{\"e\":3}");
    cr_assert_eq (wf_event_add (s, id, ""), -EINVAL);
    wf_store_close (s);
}

Test (STORE_SUITE, schema_version_is_positive, .init = store_suite_setup,
      .fini = store_suite_teardown)
{
    struct wf_store *s = ss_open ();
    int v = 0;

    cr_assert_eq (wf_store_schema_version (s, &v), 0);
    cr_assert_gt (v, 0);
    cr_assert_eq (s->ops->struct_size, sizeof (struct wf_store_ops));
    cr_assert_not_null (s->ops->name);
    wf_store_close (s);
}

/* The store's ID: WF_STORE_ID_LEN lowercase hex digits, the same for
 * every handle (store.h, store_id). */
static void
ss_check_id (const char *id)
{
    cr_assert_not_null (id);
    cr_assert_eq (strlen (id), WF_STORE_ID_LEN, "'%s'", id);
    cr_assert_eq (strspn (id, "0123456789abcdef"), WF_STORE_ID_LEN, "'%s'",
                  id);
}

Test (STORE_SUITE, store_id_is_stable_across_handles,
      .init = store_suite_setup, .fini = store_suite_teardown)
{
    struct wf_store *s1 = ss_open (), *s2;
    const char *a, *b;
    char keep[WF_STORE_ID_LEN + 1];

    cr_assert_eq (wf_store_id (s1, &a), 0, "%s", vmshift_internal_error_msg ());
    ss_check_id (a);
    snprintf (keep, sizeof keep, "%s", a);
    cr_assert_eq (wf_store_id (s1, &a), 0);
    cr_assert_str_eq (a, keep, "asked twice");
    wf_store_close (s1);
    /* another handle, opened after the first was closed */
    s2 = ss_open ();
    cr_assert_eq (wf_store_id (s2, &b), 0, "%s", vmshift_internal_error_msg ());
    cr_assert_str_eq (b, keep);
    cr_assert_eq (wf_store_id (s2, NULL), -EINVAL);
    wf_store_close (s2);
}

/* Handles opened at once (as processes starting together do), each
 * reading the store's ID: one ID for all of them.  The store is as the
 * caller left it (new, or made by an older version): whoever makes the
 * ID, it is made once. */
struct ss_idopen {
    char id[WF_STORE_ID_LEN + 1];
    int rc;
    pthread_barrier_t *bar;
    char why[256];
};

static void *
ss_idopen_main (void *arg)
{
    struct ss_idopen *o = arg;
    struct wf_store *s;
    const char *id;

    pthread_barrier_wait (o->bar);
    s = store_suite_open ();
    o->rc = s ? wf_store_id (s, &id) : -EIO;
    if (o->rc == 0) {
        snprintf (o->id, sizeof o->id, "%s", id);
    } else {
        snprintf (o->why, sizeof o->why, "%s", vmshift_internal_error_msg ());
    }
    wf_store_close (s);
    return NULL;
}

static void
ss_concurrent_ids (char *one)
{
    struct ss_idopen oo[SS_RACERS];
    pthread_t th[SS_RACERS];
    pthread_barrier_t bar;

    pthread_barrier_init (&bar, NULL, SS_RACERS);
    for (int i = 0; i < SS_RACERS; i++) {
        oo[i] = (struct ss_idopen) { "", 1, &bar, "" };
        pthread_create (&th[i], NULL, ss_idopen_main, &oo[i]);
    }
    for (int i = 0; i < SS_RACERS; i++) {
        pthread_join (th[i], NULL);
    }
    pthread_barrier_destroy (&bar);
    for (int i = 0; i < SS_RACERS; i++) {
        cr_assert_eq (oo[i].rc, 0, "opener %d: %d: %s", i, oo[i].rc,
                      oo[i].why);
        ss_check_id (oo[i].id);
        cr_assert_str_eq (oo[i].id, oo[0].id, "opener %d", i);
    }
    snprintf (one, WF_STORE_ID_LEN + 1, "%s", oo[0].id);
}

Test (STORE_SUITE, store_id_made_once_by_concurrent_first_opens,
      .init = store_suite_setup, .fini = store_suite_teardown)
{
    char id[WF_STORE_ID_LEN + 1];
    struct wf_store *s;
    const char *now;

    ss_concurrent_ids (id);
    s = ss_open ();
    cr_assert_eq (wf_store_id (s, &now), 0);
    cr_assert_str_eq (now, id);
    wf_store_close (s);
}
