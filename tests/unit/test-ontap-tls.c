/* The libcurl transport against a real HTTPS server (libmicrohttpd, in
 * this process) with a throwaway CA made by openssl at test time:
 * the right CA passes, a wrong CA and a host name mismatch fail before
 * any request is sent, a pinned fingerprint or public key matches or
 * not, 'insecure' works and warns, huge replies stop at the cap, and
 * Authorization never reaches the debug log. */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "engine/base/error.h"
#include "helpers/ontap-fake.h"
#include "helpers/testio.h"

#define BIG_LEN ((size_t) 20 << 20)

struct seen {
    pthread_mutex_t lock;
    int requests;
    char auth[256];
    char app[128];
    char method[16];
    size_t body_len;
};

static char dir[256];
static char *srv_key, *srv_cert, *fp, *spki;
static struct MHD_Daemon *daemon_;
static unsigned port;
static struct seen seen = { .lock = PTHREAD_MUTEX_INITIALIZER };
static char *big;

static char *
slurp (const char *name)
{
    char path[512], *buf = NULL;
    size_t len = 0;
    FILE *f;

    snprintf (path, sizeof path, "%s/%s", dir, name);
    if ((f = fopen (path, "r")) == NULL) {
        return NULL;
    }
    buf = calloc (1, 1 << 16);
    len = fread (buf, 1, (1 << 16) - 1, f);
    fclose (f);
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) {
        buf[--len] = '\0';
    }
    return buf;
}

static enum MHD_Result
reply (struct MHD_Connection *conn, unsigned status, const char *body,
       size_t len, enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer (len,
                                                              (void *) body,
                                                              mode);
    enum MHD_Result ret;

    MHD_add_response_header (r, "Content-Type", "application/hal+json");
    ret = MHD_queue_response (conn, status, r);
    MHD_destroy_response (r);
    return ret;
}

static enum MHD_Result
handler (void *cls, struct MHD_Connection *conn, const char *url,
         const char *method, const char *version, const char *upload,
         size_t *upload_size, void **state)
{
    const char *a, *app;

    (void) cls;
    (void) version;
    (void) upload;
    if (*state == NULL) {       /* headers only: ask for the body */
        *state = (void *) 1;
        pthread_mutex_lock (&seen.lock);
        seen.requests++;
        seen.body_len = 0;
        pthread_mutex_unlock (&seen.lock);
        return MHD_YES;
    }
    if (*upload_size) {
        pthread_mutex_lock (&seen.lock);
        seen.body_len += *upload_size;
        pthread_mutex_unlock (&seen.lock);
        *upload_size = 0;
        return MHD_YES;
    }
    a = MHD_lookup_connection_value (conn, MHD_HEADER_KIND, "Authorization");
    app = MHD_lookup_connection_value (conn, MHD_HEADER_KIND,
                                       "X-Dot-Client-App");
    pthread_mutex_lock (&seen.lock);
    snprintf (seen.auth, sizeof seen.auth, "%s", a ? a : "");
    snprintf (seen.app, sizeof seen.app, "%s", app ? app : "");
    snprintf (seen.method, sizeof seen.method, "%s", method);
    pthread_mutex_unlock (&seen.lock);
    if (strcmp (url, "/api/cluster") == 0) {
        static const char v[] = "{\"version\": {\"full\": \"NetApp Release "
                                "9.15.1\", \"generation\": 9, \"major\": 15, "
                                "\"minor\": 1}}";

        return reply (conn, 200, v, sizeof v - 1, MHD_RESPMEM_PERSISTENT);
    }
    if (strcmp (url, "/api/big") == 0) {
        return reply (conn, 200, big, BIG_LEN, MHD_RESPMEM_PERSISTENT);
    }
    if (strcmp (url, "/api/echo") == 0) {
        static const char e[] = "{}";

        return reply (conn, strcmp (method, "POST") == 0 ? 201 : 200, e, 2,
                      MHD_RESPMEM_PERSISTENT);
    }
    static const char nf[] = "{\"error\": {\"message\": \"entry doesn't "
                             "exist\", \"code\": \"4\"}}";

    return reply (conn, 404, nf, sizeof nf - 1, MHD_RESPMEM_PERSISTENT);
}

static void
setup (void)
{
    const union MHD_DaemonInfo *info;
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };

    if (test_sh ("openssl version >/dev/null 2>&1") != 0) {
        return;         /* each test skips */
    }
    snprintf (dir, sizeof dir, "/tmp/vmshift-ontap-tls-XXXXXX");
    cr_assert_not_null (mkdtemp (dir));
    cr_assert_eq (test_sh (
        "cd '%s' && exec 2>openssl.log && "
        "ec='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1' && "
        "openssl req -x509 $ec -nodes -keyout ca.key -out ca.pem -days 2 "
        "  -subj /CN=vmshift-test-ca && "
        "openssl req -x509 $ec -nodes -keyout other.key -out other.pem "
        "  -days 2 -subj /CN=other-ca && "
        "openssl req $ec -nodes -keyout srv.key -out srv.csr -subj /CN=cl && "
        "printf 'subjectAltName=IP:127.0.0.1\\n' > ext.cnf && "
        "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key "
        "  -CAcreateserial -out srv.pem -days 2 -extfile ext.cnf && "
        "openssl x509 -in srv.pem -noout -fingerprint -sha256 > fp.txt && "
        "openssl x509 -in srv.pem -pubkey -noout | openssl pkey -pubin "
        "  -outform der | openssl dgst -sha256 -binary | openssl enc -base64 "
        "  > spki.txt", dir) == 0 ? 0 : -1, 0, "openssl failed in %s", dir);
    srv_key = slurp ("srv.key");
    srv_cert = slurp ("srv.pem");
    fp = slurp ("fp.txt");
    spki = slurp ("spki.txt");
    cr_assert (srv_key && srv_cert && fp && spki);
    big = malloc (BIG_LEN);
    memset (big, ' ', BIG_LEN);
    big[0] = '{';
    big[BIG_LEN - 1] = '}';
    daemon_ = MHD_start_daemon (MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS,
                                0, NULL, NULL, handler, NULL,
                                MHD_OPTION_SOCK_ADDR, &sa,
                                MHD_OPTION_HTTPS_MEM_KEY, srv_key,
                                MHD_OPTION_HTTPS_MEM_CERT, srv_cert,
                                MHD_OPTION_END);
    cr_assert_not_null (daemon_, "libmicrohttpd did not start");
    info = MHD_get_daemon_info (daemon_, MHD_DAEMON_INFO_BIND_PORT);
    port = info->port;
}

static void
teardown (void)
{
    if (daemon_) {
        MHD_stop_daemon (daemon_);
    }
    if (dir[0]) {
        test_sh ("rm -rf '%s'", dir);
    }
    free (srv_key);
    free (srv_cert);
    free (fp);
    free (spki);
    free (big);
}

TestSuite (tls, .init = setup, .fini = teardown);

static void
need_server (void)
{
    if (daemon_ == NULL) {
        cr_skip_test ("openssl is not installed");
    }
    if (!MHD_is_feature_supported (MHD_FEATURE_TLS)) {
        cr_skip_test ("libmicrohttpd has no TLS");
    }
}

/* A client for https://HOST:port with extra profile members. */
static int
make_client (const char *host, const char *extra, const struct logger *lg,
             struct ontap_client **c)
{
    struct ontap_profile *p = NULL;
    char buf[2048];
    int r;

    setenv ("VMSHIFT_TEST_ONTAP_PW", TEST_PASSWORD, 1);
    snprintf (buf, sizeof buf, "{\"profiles\": {\"t\": {\"cluster\": "
              "\"https://%s:%u\", \"username\": \"admin\", \"password_env\": "
              "\"VMSHIFT_TEST_ONTAP_PW\"%s%s}}}", host, port, extra ? ", " : "",
              extra ? extra : "");
    cr_assert_eq (ontap_profile_parse (buf, strlen (buf), "t", "t", NULL, &p),
                  0, "%s", vmshift_internal_error_msg ());
    r = ontap_client_new (p, lg, c);
    ontap_profile_free (p);
    return r;
}

static char *
ca (const char *name)
{
    static char s[600];

    snprintf (s, sizeof s, "\"ca_file\": \"%s/%s\"", dir, name);
    return s;
}

static int
version (struct ontap_client *c)
{
    struct ontap_version v = { 0 };
    int r = ontap_cluster_version (c, &v);

    if (r == 0) {
        cr_assert_eq (v.major, 15);
    }
    ontap_version_release (&v);
    return r;
}

static int
requests_seen (void)
{
    int n;

    pthread_mutex_lock (&seen.lock);
    n = seen.requests;
    pthread_mutex_unlock (&seen.lock);
    return n;
}

Test (tls, right_ca_passes)
{
    struct ontap_client *c = NULL;
    struct ontap_reply rep = { 0 };

    need_server ();
    cr_assert_eq (make_client ("127.0.0.1", ca ("ca.pem"), NULL, &c), 0);
    cr_assert_eq (version (c), 0, "%s", vmshift_internal_error_msg ());
    cr_assert_str_eq (seen.auth, "Basic " TEST_BASIC);
    cr_assert_str_eq (seen.app, "vmshift/" VMSHIFT_VERSION_STRING);
    /* methods and bodies go through unchanged, on the same connection */
    cr_assert_eq (ontap_call (c, "POST", "/api/echo", "{\"a\": 1}", 0, &rep),
                  0);
    cr_assert_eq (rep.status, 201);
    cr_assert_str_eq (seen.method, "POST");
    cr_assert_eq (seen.body_len, 8);
    ontap_reply_release (&rep);
    cr_assert_eq (ontap_call (c, "DELETE", "/api/echo", NULL, 0, &rep), 0);
    cr_assert_str_eq (seen.method, "DELETE");
    cr_assert_eq (seen.body_len, 0);
    ontap_reply_release (&rep);
    cr_assert_eq (ontap_call (c, "GET", "/api/nothing", NULL, 0, &rep),
                  -ENOENT);
    cr_assert_str_eq (vmshift_internal_error_msg (), "ONTAP GET /api/nothing: "
                      "entry doesn't exist (HTTP 404, error 4)");
    ontap_client_free (c);
}

Test (tls, wrong_ca_fails_before_sending)
{
    struct ontap_client *c = NULL;
    char want[128];

    need_server ();
    cr_assert_eq (make_client ("127.0.0.1", ca ("other.pem"), NULL, &c), 0);
    cr_assert_eq (version (c), -EPROTO);
    snprintf (want, sizeof want, "TLS: cannot verify the certificate of "
              "'https://127.0.0.1:%u'", port);
    cr_assert (strstr (vmshift_internal_error_msg (), want), "%s",
               vmshift_internal_error_msg ());
    cr_assert (strstr (vmshift_internal_error_msg (), "fingerprint_sha256"));
    cr_assert_eq (requests_seen (), 0);
    ontap_client_free (c);
}

Test (tls, system_store_does_not_know_our_ca)
{
    struct ontap_client *c = NULL;

    need_server ();
    cr_assert_eq (make_client ("127.0.0.1", NULL, NULL, &c), 0);
    cr_assert_eq (version (c), -EPROTO);
    cr_assert_eq (requests_seen (), 0);
    ontap_client_free (c);
}

Test (tls, host_name_mismatch_fails)
{
    struct ontap_client *c = NULL;

    need_server ();
    cr_assert_eq (make_client ("localhost", ca ("ca.pem"), NULL, &c), 0);
    cr_assert_eq (version (c), -EPROTO);
    cr_assert (strstr (vmshift_internal_error_msg (), "TLS: cannot verify the "
                       "certificate of 'https://localhost:"), "%s",
               vmshift_internal_error_msg ());
    cr_assert (strstr (vmshift_internal_error_msg (), "localhost"));
    cr_assert_eq (requests_seen (), 0);
    ontap_client_free (c);
}

Test (tls, fingerprint_pin_matches)
{
    struct ontap_client *c = NULL;
    char extra[300];

    need_server ();
    /* as openssl prints it; the host name and chain no longer matter */
    snprintf (extra, sizeof extra, "\"fingerprint_sha256\": \"%s\"", fp);
    cr_assert_eq (make_client ("localhost", extra, NULL, &c), 0);
    cr_assert_eq (version (c), 0, "%s", vmshift_internal_error_msg ());
    ontap_client_free (c);
}

Test (tls, fingerprint_pin_mismatch)
{
    struct ontap_client *c = NULL;
    const char *wrong = "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
                        "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF";
    char extra[300], want[600];

    need_server ();
    snprintf (extra, sizeof extra, "\"fingerprint_sha256\": \"%s\"", wrong);
    cr_assert_eq (make_client ("127.0.0.1", extra, NULL, &c), 0);
    cr_assert_eq (version (c), -EPROTO);
    snprintf (want, sizeof want, "TLS: the certificate of "
              "'https://127.0.0.1:%u' has SHA-256 fingerprint %s, not the "
              "pinned %s", port, strchr (fp, '=') + 1, wrong);
    cr_assert_str_eq (vmshift_internal_error_msg (), want);
    cr_assert_eq (requests_seen (), 0);
    ontap_client_free (c);
}

Test (tls, public_key_pin)
{
    struct ontap_client *c = NULL;
    char extra[900];

    need_server ();
    snprintf (extra, sizeof extra, "%s, \"pinned_pubkey\": \"sha256//%s\"",
              ca ("ca.pem"), spki);
    cr_assert_eq (make_client ("127.0.0.1", extra, NULL, &c), 0);
    cr_assert_eq (version (c), 0, "%s", vmshift_internal_error_msg ());
    ontap_client_free (c);
    snprintf (extra, sizeof extra, "%s, \"pinned_pubkey\": \"sha256//"
              "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"", ca ("ca.pem"));
    cr_assert_eq (make_client ("127.0.0.1", extra, NULL, &c), 0);
    cr_assert_eq (version (c), -EPROTO);
    cr_assert (strstr (vmshift_internal_error_msg (), "does not match "
                       "'pinned_pubkey'"), "%s", vmshift_internal_error_msg ());
    ontap_client_free (c);
}

Test (tls, insecure_works_and_warns)
{
    struct ontap_client *c = NULL;
    struct log_capture lc;

    need_server ();
    log_capture_init (&lc, 0);
    cr_assert_eq (make_client ("localhost", "\"insecure\": true", &lc.lg, &c),
                  0);
    cr_assert_eq (version (c), 0, "%s", vmshift_internal_error_msg ());
    cr_assert (strstr (lc.all.data, "1|profile 't': TLS certificate "
                       "verification is off"));
    ontap_client_free (c);
    log_capture_release (&lc);
}

Test (tls, huge_reply_stops_at_cap)
{
    struct ontap_client *c = NULL;
    struct ontap_reply rep = { 0 };

    need_server ();
    cr_assert_eq (make_client ("127.0.0.1", ca ("ca.pem"), NULL, &c), 0);
    cr_assert_eq (ontap_call (c, "GET", "/api/big", NULL, 0, &rep), -EFBIG);
    cr_assert_str_eq (vmshift_internal_error_msg (), "ONTAP GET /api/big: "
                      "reply larger than 16777216 bytes");
    ontap_client_free (c);
}

Test (tls, debug_log_redacts_authorization)
{
    struct ontap_client *c = NULL;
    struct log_capture lc;

    need_server ();
    log_capture_init (&lc, LOGM_HTTP);
    cr_assert_eq (make_client ("127.0.0.1", ca ("ca.pem"), &lc.lg, &c), 0);
    cr_assert_eq (version (c), 0);
    cr_assert (strstr (lc.all.data, "> Authorization: <redacted>"), "%s",
               lc.all.data);
    cr_assert (strstr (lc.all.data, "> GET /api/cluster?fields=version"));
    cr_assert (strstr (lc.all.data, "< HTTP/1.1 200"));
    cr_assert (strstr (lc.all.data, "< 200 GET /api/cluster?fields=version ("));
    cr_assert_null (strstr (lc.all.data, TEST_BASIC));
    cr_assert_null (strstr (lc.all.data, TEST_PASSWORD));
    ontap_client_free (c);
    log_capture_release (&lc);
}

Test (tls, connection_refused_is_retried_then_clear)
{
    struct ontap_client *c = NULL;
    struct fake_clock clk = { 0 };
    char want[128];

    need_server ();
    MHD_stop_daemon (daemon_);
    daemon_ = NULL;
    cr_assert_eq (make_client ("127.0.0.1", ca ("ca.pem"), NULL, &c), 0);
    fake_clock_install (c, &clk);
    cr_assert_eq (version (c), -ECONNREFUSED);
    snprintf (want, sizeof want, "cannot connect to 'https://127.0.0.1:%u'",
              port);
    cr_assert (strstr (vmshift_internal_error_msg (), want), "%s",
               vmshift_internal_error_msg ());
    cr_assert_eq (clk.n_sleeps, 3);
    ontap_client_free (c);
}
