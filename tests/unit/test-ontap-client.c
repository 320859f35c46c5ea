/* ontap/client.c over a fake transport: exact requests (method, target,
 * headers, body), retries and backoff, redaction, counters, pagination,
 * and bad replies. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "helpers/ontap-fake.h"

#define VERSION_OK "{\"version\": {\"full\": \"NetApp Release 9.14.1\", " \
                   "\"generation\": 9, \"major\": 14, \"minor\": 1}}"

static struct ontap_client *
client (struct fake_transport *f, struct fake_clock *clk)
{
    struct ontap_client *c = ontap_test_client (f, clk, NULL, NULL);

    cr_assert_not_null (c);
    return c;
}

Test (client, headers_and_basic_auth)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = client (f, &clk);
    struct ontap_version v;

    fake_push (f, 200, VERSION_OK);
    cr_assert_eq (ontap_cluster_version (c, &v), 0);
    cr_assert_eq (v.major, 14);
    cr_assert_str_eq (f->reqs[0].method, "GET");
    cr_assert_str_eq (f->reqs[0].target, "/api/cluster?fields=version");
    cr_assert_null (f->reqs[0].body);
    cr_assert_str_eq (fake_header (&f->reqs[0], "Authorization:"),
                      "Authorization: Basic " TEST_BASIC);
    cr_assert_str_eq (fake_header (&f->reqs[0], "X-Dot-Client-App:"),
                      "X-Dot-Client-App: vmshift/" VMSHIFT_VERSION_STRING);
    cr_assert_str_eq (fake_header (&f->reqs[0], "Accept:"),
                      "Accept: application/json");
    cr_assert_null (fake_header (&f->reqs[0], "Content-Type:"));
    ontap_version_release (&v);
    ontap_client_free (c);
}

Test (client, post_has_json_content_type)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = client (f, &clk);
    struct ontap_reply rep = { 0 };

    fake_push (f, 201, "");
    cr_assert_eq (ontap_call (c, "POST", "/api/x", "{}", 0, &rep), 0);
    cr_assert_eq (rep.status, 201);
    cr_assert_null (rep.json);
    cr_assert_str_eq (fake_header (&f->reqs[0], "Content-Type:"),
                      "Content-Type: application/json");
    cr_assert_str_eq (f->reqs[0].body, "{}");
    ontap_client_free (c);
}

Test (client, get_retried_on_5xx_with_backoff)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = client (f, &clk);
    struct ontap_version v;
    struct ontap_stats st;

    fake_push (f, 503, "");
    fake_push (f, 500, "{\"error\": {\"message\": \"internal\", \"code\": "
               "\"1234\"}}");
    fake_push (f, 200, VERSION_OK);
    cr_assert_eq (ontap_cluster_version (c, &v), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (f->n_reqs, 3);
    cr_assert_eq (clk.n_sleeps, 2);
    cr_assert_eq (clk.sleeps[0], 500);
    cr_assert_eq (clk.sleeps[1], 1000);
    ontap_client_stats (c, &st);
    cr_assert_eq (st.requests, 3);
    cr_assert_eq (st.retries, 2);
    ontap_version_release (&v);
    ontap_client_free (c);
}

Test (client, get_gives_up_after_attempts)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = client (f, &clk);
    struct ontap_version v;

    for (int i = 0; i < 4; i++) {
        fake_push (f, 502, "");
    }
    cr_assert_eq (ontap_cluster_version (c, &v), -EIO);
    cr_assert_eq (f->n_reqs, 4);
    cr_assert_eq (clk.n_sleeps, 3);
    cr_assert_eq (clk.sleeps[2], 2000);
    cr_assert (strstr (vmshift_internal_error_msg (), "HTTP 502"));
    ontap_client_free (c);
}

/* The transport learns which requests it must never send twice itself
 * (http.c then uses a fresh connection: libcurl silently resends a
 * request whose reused connection died, a blind repeat of a POST). */
Test (client, transport_told_what_is_idempotent)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = client (f, &clk);
    struct ontap_reply rep = { 0 };

    for (int i = 0; i < 4; i++) {
        fake_push (f, 200, "{}");
    }
    cr_assert_eq (ontap_call (c, "GET", "/api/x", NULL, 0, &rep), 0);
    ontap_reply_release (&rep);
    cr_assert_eq (ontap_call (c, "POST", "/api/x", "{}", 0, &rep), 0);
    ontap_reply_release (&rep);
    cr_assert_eq (ontap_call (c, "POST", "/api/x", "{}", ONTAP_REQ_IDEMPOTENT,
                              &rep), 0);
    ontap_reply_release (&rep);
    cr_assert_eq (ontap_call (c, "DELETE", "/api/x", NULL, 0, &rep), 0);
    ontap_reply_release (&rep);
    cr_assert (f->reqs[0].idempotent);
    cr_assert (!f->reqs[1].idempotent);
    cr_assert (f->reqs[2].idempotent);
    cr_assert (!f->reqs[3].idempotent);
    ontap_client_free (c);
}

/* The simulator's injected 500s carry ONTAP code 1 ("exists"): still a
 * server error, so a GET is retried (it failed at once before). */
Test (client, get_retried_on_5xx_with_code_1)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = client (f, &clk);
    struct ontap_version v;

    fake_push (f, 500, "{\"error\": {\"message\": \"Simulated internal "
               "error\", \"code\": \"1\"}}");
    fake_push (f, 200, VERSION_OK);
    cr_assert_eq (ontap_cluster_version (c, &v), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (f->n_reqs, 2);
    ontap_version_release (&v);
    ontap_client_free (c);
}

Test (client, post_not_retried_on_5xx)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = client (f, &clk);
    struct ontap_reply rep = { 0 };

    fake_push (f, 500, "");
    fake_push (f, 200, "{}");
    cr_assert_eq (ontap_call (c, "POST", "/api/x", "{}", 0, &rep), -EIO);
    cr_assert_eq (f->n_reqs, 1);
    ontap_client_free (c);
}

Test (client, post_not_retried_after_timeout)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = client (f, &clk);
    struct ontap_reply rep = { 0 };

    fake_push_err (f, -ETIMEDOUT);
    fake_push_err (f, -ECONNRESET);
    cr_assert_eq (ontap_call (c, "POST", "/api/x", "{}", 0, &rep), -ETIMEDOUT);
    cr_assert_eq (f->n_reqs, 1);
    cr_assert_eq (ontap_call (c, "POST", "/api/x", "{}", 0, &rep), -ECONNRESET);
    cr_assert_eq (f->n_reqs, 2);
    ontap_client_free (c);
}

Test (client, connection_refused_retried_for_any_method)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = client (f, &clk);
    struct ontap_reply rep = { 0 };

    fake_push_err (f, -ECONNREFUSED);
    fake_push_err (f, -EHOSTUNREACH);
    fake_push (f, 202, "{\"job\": {\"uuid\": \"j1\"}}");
    cr_assert_eq (ontap_call (c, "POST", "/api/x", "{}", 0, &rep), 0);
    cr_assert_eq (rep.status, 202);
    cr_assert_eq (f->n_reqs, 3);
    cr_assert_eq (clk.n_sleeps, 2);
    ontap_reply_release (&rep);
    ontap_client_free (c);
}

Test (client, idempotent_post_retried_after_connection_loss)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = client (f, &clk);
    struct ontap_reply rep = { 0 };

    fake_push_err (f, -ECONNRESET);
    fake_push (f, 504, "");
    fake_push (f, 201, "{}");
    cr_assert_eq (ontap_call (c, "POST", "/api/x", "{}", ONTAP_REQ_IDEMPOTENT,
                              &rep), 0);
    cr_assert_eq (f->n_reqs, 3);
    ontap_reply_release (&rep);
    ontap_client_free (c);
}

Test (client, busy_refusal_backoff_and_retry_after)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = client (f, &clk);
    struct ontap_reply rep = { 0 };
    const char *busy = "{\"error\": {\"message\": \"Reached maximum split "
                       "load allowed on the node\", \"code\": \"13001\"}}";

    fake_push (f, 409, busy);
    fake_push_retry_after (f, 503, "{\"error\": {\"code\": 8, \"message\": "
                           "\"in use\"}}", 7);
    fake_push (f, 202, "{\"job\": {\"uuid\": \"j1\"}}");
    cr_assert_eq (ontap_call (c, "POST", "/api/storage/file/clone", "{}",
                              ONTAP_REQ_RETRY_BUSY, &rep), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (f->n_reqs, 3);
    cr_assert_eq (clk.sleeps[0], 500);
    cr_assert_eq (clk.sleeps[1], 7000);     /* Retry-After wins */
    ontap_reply_release (&rep);
    /* without the flag a busy refusal is returned at once */
    fake_push (f, 409, busy);
    cr_assert_eq (ontap_call (c, "POST", "/api/x", "{}", 0, &rep), -EBUSY);
    cr_assert (strstr (vmshift_internal_error_msg (), "split load"));
    ontap_client_free (c);
}

Test (client, busy_gives_up)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = client (f, &clk);
    struct ontap_reply rep = { 0 };
    struct ontap_retry_policy rp;

    ontap_client_get_retry (c, &rp);
    rp.busy_attempts = 3;
    ontap_client_set_retry (c, &rp);
    for (int i = 0; i < 5; i++) {
        fake_push (f, 409, "{\"error\": {\"code\": \"8\", \"message\": "
                   "\"x\"}}");
    }
    cr_assert_eq (ontap_call (c, "POST", "/api/x", "{}", ONTAP_REQ_RETRY_BUSY,
                              &rep), -EBUSY);
    cr_assert_eq (f->n_reqs, 3);
    ontap_client_free (c);
}

Test (client, backoff_is_capped)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = client (f, &clk);

    cr_assert_eq (ontap_client_backoff (c, 0), 500);
    cr_assert_eq (ontap_client_backoff (c, 3), 4000);
    cr_assert_eq (ontap_client_backoff (c, 5), 15000);
    cr_assert_eq (ontap_client_backoff (c, 60), 15000);
    ontap_client_free (c);
}

Test (client, debug_log_redacts_credentials)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct log_capture lc;
    struct ontap_client *c;
    struct ontap_reply rep = { 0 };

    log_capture_init (&lc, LOGM_ALL);
    c = ontap_test_client (f, &clk, &lc.lg, NULL);
    fake_push (f, 500, "");
    fake_push (f, 200, VERSION_OK);
    fake_push (f, 401, "{\"error\": {\"message\": \"bad credentials\"}}");
    cr_assert_eq (ontap_call (c, "GET", "/api/cluster?fields=version", NULL, 0,
                              &rep), 0);
    ontap_reply_release (&rep);
    cr_assert_eq (ontap_call (c, "POST", "/api/x", "{\"name\": \"n\"}", 0,
                              &rep), -EKEYREJECTED);
    cr_assert_str_eq (vmshift_internal_error_msg (), "ONTAP refused the "
                      "credentials for user 'admin' on cluster "
                      "'https://cluster.test' (HTTP 401 on POST /api/x)");
    cr_assert (strstr (lc.all.data, "> GET /api/cluster?fields=version"));
    cr_assert (strstr (lc.all.data, "< 200 GET /api/cluster?fields=version"));
    cr_assert (strstr (lc.all.data, "> body: {\"name\": \"n\"}"));
    cr_assert (strstr (lc.all.data, "retrying GET"));
    cr_assert_null (strstr (lc.all.data, TEST_PASSWORD));
    cr_assert_null (strstr (lc.all.data, TEST_BASIC));
    cr_assert_null (strstr (vmshift_internal_error_msg (), TEST_PASSWORD));
    log_capture_release (&lc);
    ontap_client_free (c);
}

Test (client, redact_header_lines)
{
    char out[256];

    ontap_redact_header ("Authorization: Basic " TEST_BASIC "\r\n",
                         strlen ("Authorization: Basic " TEST_BASIC "\r\n"),
                         out, sizeof out);
    cr_assert_str_eq (out, "Authorization: <redacted>");
    ontap_redact_header ("authorization: bearer x", 23, out, sizeof out);
    cr_assert_str_eq (out, "authorization: <redacted>");
    ontap_redact_header ("Set-Cookie: s=1\r\n", 17, out, sizeof out);
    cr_assert_str_eq (out, "Set-Cookie: <redacted>");
    ontap_redact_header ("Accept: application/json\r\n", 26, out, sizeof out);
    cr_assert_str_eq (out, "Accept: application/json");
}

Test (client, pagination_follows_next)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = client (f, &clk);
    struct ontap_volume_vec v = { 0 };

    fake_push (f, 200, "{\"records\": [{\"uuid\": \"u1\", \"name\": \"a\", "
               "\"style\": \"flexvol\"}], \"num_records\": 1, \"_links\": "
               "{\"next\": {\"href\": \"/api/storage/volumes?start.uuid=u1&"
               "fields=uuid,name,style,nas.path,svm.name\"}}}");
    fake_push (f, 200, "{\"records\": [{\"uuid\": \"u2\", \"name\": \"b\", "
               "\"nas\": {\"path\": \"/b\"}, \"svm\": {\"name\": \"s\"}}], "
               "\"num_records\": 1}");
    cr_assert_eq (ontap_volume_list (c, NULL, &v), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (v.len, 2);
    cr_assert_str_eq (f->reqs[1].target, "/api/storage/volumes?start.uuid=u1&"
                      "fields=uuid,name,style,nas.path,svm.name");
    cr_assert_str_eq (v.ptr[1].junction_path, "/b");
    cr_assert_str_eq (v.ptr[1].svm, "s");
    ontap_volume_vec_free (&v);
    ontap_client_free (c);
}

Test (client, pagination_loop_and_foreign_next_refused)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = client (f, &clk);
    struct ontap_volume_vec v = { 0 };
    const char *self = "{\"records\": [], \"num_records\": 0, \"_links\": "
                       "{\"next\": {\"href\": \"/api/storage/volumes?fields="
                       "uuid,name,style,nas.path,svm.name\"}}}";

    fake_push (f, 200, self);
    cr_assert_eq (ontap_volume_list (c, NULL, &v), -EPROTO);
    cr_assert (strstr (vmshift_internal_error_msg (), "same page"));
    fake_push (f, 200, "{\"records\": [], \"_links\": {\"next\": {\"href\": "
               "\"https://elsewhere.example/api/x\"}}}");
    cr_assert_eq (ontap_volume_list (c, NULL, &v), -EPROTO);
    cr_assert (strstr (vmshift_internal_error_msg (), "not a path under"));
    ontap_client_free (c);
}

Test (client, volume_by_junction_path_encoded)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = client (f, &clk);
    struct ontap_volume vol;

    fake_push (f, 200, "{\"records\": [{\"uuid\": \"u1\", \"name\": \"ds1\", "
               "\"style\": \"flexvol\", \"nas\": {\"path\": "
               "\"/data store\"}}], "
               "\"num_records\": 1}");
    cr_assert_eq (ontap_volume_find (c, "/data store", &vol), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_str_eq (f->reqs[0].target, "/api/storage/volumes?nas.path="
                      "%2Fdata%20store&fields=uuid,name,style,nas.path,"
                      "svm.name");
    cr_assert_str_eq (vol.name, "ds1");
    ontap_volume_release (&vol);
    /* query operators are refused before any request */
    cr_assert_eq (ontap_volume_find (c, "/ds*", &vol), -EINVAL);
    cr_assert_eq (ontap_volume_find (c, "vol|x", &vol), -EINVAL);
    cr_assert_eq (ontap_volume_find (c, "/a..b", &vol), -EINVAL);
    cr_assert_eq (f->n_reqs, 1);
    ontap_client_free (c);
}

Test (client, volume_not_found)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL,
                                                "\"svm\": \"svm0\"");
    struct ontap_volume vol;

    fake_push (f, 200, "{\"records\": [], \"num_records\": 0}");
    cr_assert_eq (ontap_volume_find (c, "vol1", &vol), -ENOENT);
    cr_assert_str_eq (vmshift_internal_error_msg (), "ONTAP volume named "
                      "'vol1' not found on SVM 'svm0'");
    ontap_client_free (c);
}

/* ------------------------------------------------------ bad replies */

static struct json_val *
pdoc (const char *s)
{
    struct json_val *d = NULL;

    cr_assert_eq (vs_json_parse (s, strlen (s), "t", &d), 0, "%s", s);
    return d;
}

static int
version_from (const char *body, size_t len)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = client (f, &clk);
    struct ontap_version v = { 0 };
    int r;

    fake_push_n (f, 200, body, len);
    r = ontap_cluster_version (c, &v);
    ontap_version_release (&v);
    ontap_client_free (c);
    return r;
}

Test (bad_reply, truncated_json)
{
    const char *b = "{\"version\": {\"generation\": 9, \"ma";

    cr_assert_eq (version_from (b, strlen (b)), -EPROTO);
    cr_assert (strstr (vmshift_internal_error_msg (), "reply to GET "
                       "/api/cluster: malformed JSON"));
}

Test (bad_reply, wrong_types)
{
    const char *b = "{\"version\": {\"generation\": 9, \"major\": \"14\", "
                    "\"minor\": 1}}";

    cr_assert_eq (version_from (b, strlen (b)), -EPROTO);
    cr_assert_str_eq (vmshift_internal_error_msg (), "reply to GET "
                      "/api/cluster: field 'version.major' is a string, "
                      "expected a number");
    b = "[1, 2]";
    cr_assert_eq (version_from (b, strlen (b)), -EPROTO);
    cr_assert (strstr (vmshift_internal_error_msg (), "expected a JSON "
                       "object"));
    b = "{\"version\": {\"generation\": 9.5, \"major\": 1, \"minor\": 1}}";
    cr_assert_eq (version_from (b, strlen (b)), -EPROTO);
    b = "{}";
    cr_assert_eq (version_from (b, strlen (b)), -EPROTO);
    cr_assert (strstr (vmshift_internal_error_msg (), "missing field "
                       "'version.generation'"));
    cr_assert_eq (version_from ("", 0), -EPROTO);
}

Test (bad_reply, huge_body)
{
    size_t n = (size_t) 20 << 20;
    char *big = malloc (n);

    memset (big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    cr_assert_eq (version_from (big, n), -EFBIG);
    cr_assert (strstr (vmshift_internal_error_msg (), "larger than"));
    free (big);
}

Test (bad_reply, records_checked)
{
    struct ontap_volume_vec v = { 0 };
    struct ontap_qtree_vec q = { 0 };
    struct ontap_snapshot_vec s = { 0 };
    struct json_val *doc;
    static const char *const vol_bad[] = {
        "{\"records\": {}}",
        "{\"records\": [1]}",
        "{\"records\": [], \"num_records\": 3}",
        "{\"records\": [{\"uuid\": \"a/../b\", \"name\": \"x\"}]}",
        "{\"records\": [{\"uuid\": 5, \"name\": \"x\"}]}",
        "{\"records\": [{\"uuid\": \"u\"}]}",
        "{\"records\": [{\"uuid\": \"u\", \"name\": \"x\", \"nas\": "
        "{\"path\": 1}}]}",
        "{\"num_records\": 0}",
    };

    for (size_t i = 0; i < sizeof vol_bad / sizeof vol_bad[0]; i++) {
        doc = pdoc (vol_bad[i]);
        cr_expect_eq (ontap_decode_volumes (doc, "t", &v), -EPROTO, "%s",
                      vol_bad[i]);
        ontap_volume_vec_free (&v);
        vs_json_free (doc);
    }
    /* numbers as strings */
    doc = pdoc ("{\"records\": [{\"id\": \"1\", \"name\": "
                              "\"q\"}]}");
    cr_assert_eq (ontap_decode_qtrees (doc, "reply", &q), -EPROTO);
    cr_assert (strstr (vmshift_internal_error_msg (), "'id' is a string"));
    vs_json_free (doc);
    doc = pdoc ("{\"records\": [{\"uuid\": \"s\"}]}");
    cr_assert_eq (ontap_decode_snapshots (doc, "reply", &s), -EPROTO);
    vs_json_free (doc);
}

Test (bad_reply, job_checked)
{
    struct ontap_job j;
    struct json_val *doc;
    static const char *const bad[] = {
        "{\"uuid\": \"j\", \"state\": \"exploded\"}",
        "{\"uuid\": \"j\"}",
        "{\"uuid\": \"j\", \"state\": \"running\", \"code\": \"0\"}",
        "{\"uuid\": \"j j\", \"state\": \"running\"}",
        "{\"state\": \"success\"}",
    };
    char uuid[ONTAP_UUID_MAX + 1];

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        doc = pdoc (bad[i]);
        cr_expect_eq (ontap_decode_job (doc, "t", &j), -EPROTO, "%s", bad[i]);
        vs_json_free (doc);
    }
    doc = pdoc ("{\"job\": {\"uuid\": 7}}");
    cr_assert_eq (ontap_decode_job_link (doc, "t", uuid), -EPROTO);
    vs_json_free (doc);
}

Test (bad_reply, error_code_number_or_string)
{
    struct json_val *doc;
    char *code, *msg;

    doc = pdoc ("{\"error\": {\"code\": 6, \"message\": \"m\"}}");
    ontap_decode_error (doc, &code, &msg);
    cr_assert_str_eq (code, "6");
    cr_assert_str_eq (msg, "m");
    free (code);
    free (msg);
    vs_json_free (doc);
    doc = pdoc ("{\"error\": {\"code\": \"917927\"}}");
    ontap_decode_error (doc, &code, &msg);
    cr_assert_str_eq (code, "917927");
    cr_assert_null (msg);
    free (code);
    vs_json_free (doc);
}

Test (bad_reply, error_body_not_json)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = client (f, &clk);
    struct ontap_reply rep = { 0 };

    fake_push (f, 404, "<html>Not Found</html>");
    cr_assert_eq (ontap_call (c, "GET", "/api/nothing", NULL, 0, &rep),
                  -ENOENT);
    cr_assert_str_eq (vmshift_internal_error_msg (), "ONTAP GET /api/nothing: "
                      "HTTP 404 without an ONTAP error");
    ontap_client_free (c);
}

Test (client, query_string_encoding)
{
    struct sbuf b;

    vs_sbuf_init (&b, 1024);
    vs_sbuf_addstr (&b, "/api/x");
    ontap_qs_add (&b, "name", "a b&c=d/é");
    ontap_qs_add (&b, "k", "v");
    cr_assert_str_eq (b.data, "/api/x?name=a%20b%26c%3Dd%2F%C3%A9&k=v");
    vs_sbuf_release (&b);
}
