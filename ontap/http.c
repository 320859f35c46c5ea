/* The libcurl transport: the only file that includes curl.h.
 *
 * TLS: peer and host verification are on unless the profile says
 * 'insecure'.  'ca_file' replaces the system store.  'fingerprint_sha256'
 * pins the SHA-256 of the server's leaf certificate (what openssl x509
 * -fingerprint -sha256 prints), for clusters with self-signed
 * certificates: the chain and the host name are then not checked, the
 * fingerprint is, inside the handshake (an OpenSSL verify callback), so
 * a mismatch fails before any request (and its Authorization header) is
 * sent.  'pinned_pubkey' is libcurl's CURLOPT_PINNEDPUBLICKEY (sha256//
 * of the public key, SPKI), checked in addition to normal verification.
 *
 * One easy handle per transport keeps the connection alive between
 * calls; the client serialises access to it.
 *
 * Nothing here is ONTAP-specific but the defaults: the vSphere client
 * (hypervisors/vsphere/) uses the same transport through
 * ontap_http_curl_new_opts(), with its own peer name in messages, its own
 * reply cap and libcurl's in-memory cookie store for the session cookie.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/base/dl-crypto.h"
#include "engine/base/dl-curl.h"
#include "engine/base/dl-ssl.h"
#include "engine/base/error.h"
#include "ontap/ontap.h"

#define ONTAP_CONNECT_TIMEOUT_S 15L
#define ONTAP_FP_LEN (32 * 3)

struct ontap_curl {
    struct ontap_transport t;
    CURL *h;
    char *base;                 /* "https://host:port" */
    const struct logger *lg;
    const char *peer;           /* "ONTAP", "vCenter": in messages */
    const char *hint;           /* what to set when verification fails */
    size_t body_max;
    char fp_want[ONTAP_FP_LEN]; /* "" unless pinning a fingerprint */
    char fp_seen[ONTAP_FP_LEN];
    bool fp_mismatch;
    struct ontap_http_response *resp;   /* of the exchange in progress */
    char errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t ontap_curl_once = PTHREAD_ONCE_INIT;
static CURLcode ontap_curl_init_rc;

static void
ontap_curl_global (void)
{
    ontap_curl_init_rc = curl_global_init (CURL_GLOBAL_DEFAULT);
}

/* ------------------------------------------------------- callbacks */

static size_t
ontap_curl_write (char *p, size_t size, size_t n, void *opaque)
{
    struct ontap_curl *cu = opaque;

    if (vs_sbuf_add (&cu->resp->body, p, size * n) < 0) {
        return 0;       /* abort: CURLE_WRITE_ERROR, body.err says why */
    }
    return size * n;
}

static size_t
ontap_curl_header (char *p, size_t size, size_t n, void *opaque)
{
    struct ontap_curl *cu = opaque;
    size_t len = size * n;
    static const char ra[] = "retry-after:";

    if (len > sizeof ra && strncasecmp (p, ra, sizeof ra - 1) == 0) {
        char num[16] = "";
        size_t k = len - (sizeof ra - 1);

        memcpy (num, p + sizeof ra - 1,
                k < sizeof num - 1 ? k : sizeof num - 1);
        long s = strtol (num, NULL, 10);

        cu->resp->retry_after_s = s > 0 && s < 3600 ? (unsigned) s : 0;
    }
    return len;
}

static int
ontap_curl_debug (CURL *h, curl_infotype type, char *data, size_t size,
                  void *opaque)
{
    struct ontap_curl *cu = opaque;
    char line[4200];
    const char *dir;

    (void) h;
    switch (type) {
    case CURLINFO_TEXT: dir = "*"; break;
    case CURLINFO_HEADER_OUT: dir = ">"; break;
    case CURLINFO_HEADER_IN: dir = "<"; break;
    default: return 0;  /* bodies are logged by the client, TLS data never */
    }
    /* HEADER_OUT comes as one block of lines: redact each. */
    while (size > 0) {
        const char *nl = memchr (data, '\n', size);
        size_t n = nl ? (size_t) (nl - data) + 1 : size;

        ontap_redact_header (data, n, line, sizeof line);
        if (line[0]) {
            vs_log_debug (cu->lg, LOGM_HTTP, "%s %s", dir, line);
        }
        data += n;
        size -= n;
    }
    return 0;
}

static void
ontap_fp_format (const unsigned char *md, char out[ONTAP_FP_LEN])
{
    static const char hex[] = "0123456789ABCDEF";

    for (int i = 0; i < 32; i++) {
        out[i * 3] = hex[md[i] >> 4];
        out[i * 3 + 1] = hex[md[i] & 15];
        out[i * 3 + 2] = i == 31 ? '\0' : ':';
    }
}

/* Replaces chain verification: accept exactly the pinned leaf. */
static int
ontap_fp_verify (X509_STORE_CTX *x, void *arg)
{
    struct ontap_curl *cu = arg;
    X509 *leaf = X509_STORE_CTX_get0_cert (x);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    if (leaf == NULL || !X509_digest (leaf, EVP_sha256 (), md, &n) || n != 32) {
        X509_STORE_CTX_set_error (x, X509_V_ERR_UNSPECIFIED);
        return 0;
    }
    ontap_fp_format (md, cu->fp_seen);
    if (strcmp (cu->fp_seen, cu->fp_want) != 0) {
        cu->fp_mismatch = true;
        X509_STORE_CTX_set_error (x, X509_V_ERR_CERT_REJECTED);
        return 0;
    }
    return 1;
}

static CURLcode
ontap_curl_sslctx (CURL *h, void *sslctx, void *opaque)
{
    SSL_CTX *ctx = sslctx;

    (void) h;
    SSL_CTX_set_verify (ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_cert_verify_callback (ctx, ontap_fp_verify, opaque);
    return CURLE_OK;
}

/* ----------------------------------------------------------- errors */

static const char *
ontap_tls_hint (const struct ontap_curl *cu)
{
    return cu->hint;
}

static int
ontap_curl_error (struct ontap_curl *cu, CURLcode rc,
                  const struct ontap_http_request *rq)
{
    const char *eb = cu->errbuf[0] ? cu->errbuf : curl_easy_strerror (rc);
    int pl = (int) strcspn (rq->target, "?");

    if (cu->fp_mismatch) {
        return set_error (EPROTO, "TLS: the certificate of '%s' has SHA-256 "
                          "fingerprint %s, not the pinned %s", cu->base,
                          cu->fp_seen, cu->fp_want);
    }
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
        return set_error (EHOSTUNREACH, "cannot resolve the host of '%s': %s",
                          cu->base, eb);
    case CURLE_COULDNT_CONNECT:
        return set_error (ECONNREFUSED, "cannot connect to '%s': %s", cu->base,
                          eb);
    case CURLE_OPERATION_TIMEDOUT:
        return set_error (ETIMEDOUT, "%s %s %.*s: timed out: %s", cu->peer,
                          rq->method, pl, rq->target, eb);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
        return set_error (EPROTO, "TLS: cannot verify the certificate of "
                          "'%s': %s (%s)", cu->base, eb, ontap_tls_hint (cu));
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        return set_error (EPROTO, "TLS: the public key of '%s' does not match "
                          "'pinned_pubkey': %s", cu->base, eb);
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
        return set_error (EPROTO, "TLS: handshake with '%s' failed: %s",
                          cu->base, eb);
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
        if (cu->resp->body.err == -ENOMEM) {
            return set_error (ENOMEM, "out of memory reading the reply to "
                              "%s %.*s", rq->method, pl, rq->target);
        }
        return set_error (EFBIG, "%s %s %.*s: reply larger than %zu bytes",
                          cu->peer, rq->method, pl, rq->target, cu->body_max);
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        return set_error (ECONNRESET, "%s %s %.*s: connection lost: %s",
                          cu->peer, rq->method, pl, rq->target, eb);
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        return set_error (EINVAL, "bad %s URL '%s': %s", cu->peer, cu->base,
                          eb);
    default:
        return set_error (EIO, "%s %s %.*s: %s", cu->peer, rq->method, pl,
                          rq->target, eb);
    }
}

/* ------------------------------------------------------------ send */

static int
ontap_curl_method (CURL *h, const struct ontap_http_request *rq)
{
    curl_easy_setopt (h, CURLOPT_HTTPGET, 1L);
    if (rq->body) {
        curl_easy_setopt (h, CURLOPT_POSTFIELDSIZE_LARGE,
                          (curl_off_t) rq->body_len);
        curl_easy_setopt (h, CURLOPT_POSTFIELDS, rq->body);
    }
    if (strcmp (rq->method, "GET") == 0 || strcmp (rq->method, "POST") == 0) {
        curl_easy_setopt (h, CURLOPT_CUSTOMREQUEST, NULL);
        if (strcmp (rq->method, "POST") == 0 && rq->body == NULL) {
            curl_easy_setopt (h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) 0);
            curl_easy_setopt (h, CURLOPT_POSTFIELDS, "");
        }
        return 0;
    }
    if (strcmp (rq->method, "DELETE") && strcmp (rq->method, "PATCH")) {
        return set_error (EINVAL, "unsupported HTTP method '%s'", rq->method);
    }
    curl_easy_setopt (h, CURLOPT_CUSTOMREQUEST, rq->method);
    return 0;
}

static int
ontap_curl_send (struct ontap_transport *t, const struct ontap_http_request *rq,
                 struct ontap_http_response *resp)
{
    struct ontap_curl *cu = (struct ontap_curl *) t;
    struct curl_slist *hl = NULL, *tmp;
    char *url = NULL;
    CURLcode rc;
    long status = 0;
    int r;

    if (asprintf (&url, "%s%s", cu->base, rq->target) < 0) {
        return set_error (ENOMEM, "out of memory");
    }
    for (size_t i = 0; i <= rq->n_headers; i++) {
        /* "Expect:" turns off 100-continue round trips on POST. */
        tmp = curl_slist_append (hl, i < rq->n_headers ? rq->headers[i]
                                                       : "Expect:");
        if (tmp == NULL) {
            curl_slist_free_all (hl);
            free (url);
            return set_error (ENOMEM, "out of memory");
        }
        hl = tmp;
    }
    if ((r = ontap_curl_method (cu->h, rq)) == 0) {
        cu->resp = resp;
        cu->errbuf[0] = '\0';
        cu->fp_mismatch = false;
        curl_easy_setopt (cu->h, CURLOPT_URL, url);
        curl_easy_setopt (cu->h, CURLOPT_HTTPHEADER, hl);
        curl_easy_setopt (cu->h, CURLOPT_TIMEOUT, (long) rq->timeout_s);
        /* libcurl resends a request by itself when a reused connection
         * turns out dead before any reply byte (it cannot tell a server
         * that closed an idle connection from one that got the request
         * and then dropped it).  A snapshot POST resent that way is a
         * blind repeat, which the fault tests caught: send calls that
         * are not idempotent on a new connection, where libcurl never
         * retries, so a lost reply reaches the caller, who looks first. */
        curl_easy_setopt (cu->h, CURLOPT_FRESH_CONNECT,
                          rq->idempotent ? 0L : 1L);
        rc = curl_easy_perform (cu->h);
        if (rc == CURLE_OK) {
            curl_easy_getinfo (cu->h, CURLINFO_RESPONSE_CODE, &status);
            resp->status = status;
        } else {
            r = ontap_curl_error (cu, rc, rq);
        }
        cu->resp = NULL;
        curl_easy_setopt (cu->h, CURLOPT_HTTPHEADER, NULL);
    }
    curl_slist_free_all (hl);
    free (url);
    return r;
}

static void
ontap_curl_free (struct ontap_transport *t)
{
    struct ontap_curl *cu = (struct ontap_curl *) t;

    if (cu->h) {
        curl_easy_cleanup (cu->h);
    }
    free (cu->base);
    free (cu);
}

/* --------------------------------------------------------- creation */

static bool
ontap_curl_is_openssl (void)
{
    const curl_version_info_data *vi = curl_version_info (CURLVERSION_NOW);

    return vi && vi->ssl_version &&
           strncmp (vi->ssl_version, "OpenSSL", 7) == 0;
}

static int
ontap_curl_tls (struct ontap_curl *cu, const struct ontap_tls_opts *tls)
{
    CURL *h = cu->h;
    bool verify = !tls->insecure && !tls->fingerprint_sha256;

    curl_easy_setopt (h, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
    curl_easy_setopt (h, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
    if (tls->ca_file && curl_easy_setopt (h, CURLOPT_CAINFO, tls->ca_file)) {
        return set_error (ENOTSUP, "libcurl refuses 'ca_file'");
    }
    if (tls->pinned_pubkey &&
        curl_easy_setopt (h, CURLOPT_PINNEDPUBLICKEY, tls->pinned_pubkey)) {
        return set_error (ENOTSUP, "this libcurl cannot pin public keys");
    }
    if (tls->client_cert) {
        curl_easy_setopt (h, CURLOPT_SSLCERT, tls->client_cert);
        curl_easy_setopt (h, CURLOPT_SSLKEY, tls->client_key);
    }
    if (tls->fingerprint_sha256) {
        if (!ontap_curl_is_openssl () || strlen (tls->fingerprint_sha256) !=
            ONTAP_FP_LEN - 1) {
            return set_error (ENOTSUP, "'fingerprint_sha256' needs libcurl "
                              "built with OpenSSL and a 32-byte fingerprint");
        }
        memcpy (cu->fp_want, tls->fingerprint_sha256, ONTAP_FP_LEN);
        if (curl_easy_setopt (h, CURLOPT_SSL_CTX_FUNCTION, ontap_curl_sslctx) ||
            curl_easy_setopt (h, CURLOPT_SSL_CTX_DATA, cu)) {
            return set_error (ENOTSUP, "libcurl refuses an SSL_CTX callback");
        }
    }
    return 0;
}

static void
ontap_curl_common (struct ontap_curl *cu)
{
    CURL *h = cu->h;

    curl_easy_setopt (h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (h, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt (h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt (h, CURLOPT_CONNECTTIMEOUT, ONTAP_CONNECT_TIMEOUT_S);
    curl_easy_setopt (h, CURLOPT_MAXFILESIZE_LARGE,
                      (curl_off_t) cu->body_max);
    curl_easy_setopt (h, CURLOPT_ERRORBUFFER, cu->errbuf);
    curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, ontap_curl_write);
    curl_easy_setopt (h, CURLOPT_WRITEDATA, cu);
    curl_easy_setopt (h, CURLOPT_HEADERFUNCTION, ontap_curl_header);
    curl_easy_setopt (h, CURLOPT_HEADERDATA, cu);
    if (cu->lg && (cu->lg->debug_mask & LOGM_HTTP)) {
        curl_easy_setopt (h, CURLOPT_DEBUGFUNCTION, ontap_curl_debug);
        curl_easy_setopt (h, CURLOPT_DEBUGDATA, cu);
        curl_easy_setopt (h, CURLOPT_VERBOSE, 1L);
    }
}

int
ontap_http_curl_new (const char *base_url, const struct ontap_tls_opts *tls,
                     const struct logger *lg, struct ontap_transport **out)
{
    static const struct ontap_http_opts ho = {
        .struct_size = sizeof ho,
        .peer = "ONTAP",
        .tls_hint = "set 'ca_file' to the cluster's CA, or "
                    "'fingerprint_sha256' for a self-signed cluster "
                    "certificate",
        .body_max = ONTAP_BODY_MAX,
    };

    return ontap_http_curl_new_opts (base_url, tls, &ho, lg, out);
}

int
ontap_http_curl_new_opts (const char *base_url,
                          const struct ontap_tls_opts *tls,
                          const struct ontap_http_opts *ho,
                          const struct logger *lg,
                          struct ontap_transport **out)
{
    struct ontap_curl *cu;
    int r;

    if ((r = vs_dl_curl ()) < 0 || (r = vs_dl_ssl ()) < 0 ||
        (r = vs_dl_crypto ()) < 0) {
        return r;
    }
    pthread_once (&ontap_curl_once, ontap_curl_global);
    if (ontap_curl_init_rc != CURLE_OK) {
        return set_error (EIO, "libcurl initialisation failed: %s",
                          curl_easy_strerror (ontap_curl_init_rc));
    }
    if (strncmp (base_url, "https://", 8) != 0) {
        return set_error (EINVAL, "%s URL '%s' is not https://", ho->peer,
                          base_url);
    }
    if ((cu = calloc (1, sizeof *cu)) == NULL ||
        (cu->base = strdup (base_url)) == NULL ||
        (cu->h = curl_easy_init ()) == NULL) {
        r = set_error (ENOMEM, "out of memory making a libcurl handle");
        goto fail;
    }
    cu->t.struct_size = sizeof cu->t;
    cu->t.send = ontap_curl_send;
    cu->t.free = ontap_curl_free;
    cu->lg = lg;
    cu->peer = ho->peer;
    cu->hint = ho->tls_hint;
    cu->body_max = ho->body_max;
    ontap_curl_common (cu);
    /* An empty file name turns on libcurl's cookie engine without reading
     * any file: the session cookie lives in this handle only. */
    if (ho->cookies && curl_easy_setopt (cu->h, CURLOPT_COOKIEFILE, "")) {
        r = set_error (ENOTSUP, "this libcurl has no cookie support");
        goto fail;
    }
    if ((r = ontap_curl_tls (cu, tls)) < 0) {
        goto fail;
    }
    *out = &cu->t;
    return 0;
fail:
    if (cu) {
        ontap_curl_free (&cu->t);
    }
    return r;
}
