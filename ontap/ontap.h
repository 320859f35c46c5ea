/* ONTAP REST client (internal API, not installed).
 *
 * What the engine needs from a NetApp cluster to convert a disk without
 * copying it: the cluster version, a volume (by name or junction path),
 * a volume snapshot, a qtree with the right security style, and file
 * clones (whole-file and sub-file ranges) whose source lies inside
 * .snapshot/<name>/.  Facts about the REST API and their sources are in
 * docs/ontap-client.md.
 *
 * Layers, bottom up:
 *   transport   (http.c)    one HTTP exchange; libcurl, or a fake in tests
 *   client      (client.c)  auth, headers, retries, logging, counters
 *   errmap      (errmap.c)  HTTP status + ONTAP error -> errno + message
 *   decode      (decode.c)  typed views of replies (pure, fuzzed)
 *   resources   volumes.c snapshots.c qtrees.c clone.c jobs.c
 *   config.c, location.c    profiles file and ontap:// locations
 *
 * Conventions: functions return 0 or a negative errno with the error set
 * (engine/base/error.h).  Messages keep the method, path, HTTP status and
 * the ONTAP error code and message.  Out-params are written only on
 * success.  Passwords never appear in errors or logs.
 *
 * Threads: a client may be shared by threads; requests are serialised
 * on one connection (ONTAP calls are short next to the I/O around them).
 */
#ifndef VMSHIFT_ONTAP_H
#define VMSHIFT_ONTAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/base/json.h"
#include "engine/base/log.h"
#include "engine/base/sbuf.h"
#include "engine/base/vector.h"

/* ------------------------------------------------------------ limits */

#define ONTAP_BODY_MAX ((size_t) 16 << 20)     /* reply bodies */
#define ONTAP_UUID_MAX 64                      /* uuids as we accept them */
#define ONTAP_BLOCK 4096u                      /* file clone block size */
#define ONTAP_RANGES_DEFAULT 32u               /* ranges per clone call */
#define ONTAP_RANGES_MAX 1024u                 /* configurable up to this */
#define ONTAP_RETURN_TIMEOUT_MAX 120u          /* ONTAP's own limit */
#define ONTAP_PAGES_MAX 1000u                  /* _links.next hops */
#define ONTAP_RECORDS_MAX 100000u              /* records over all pages */

/* ---------------------------------------------------------- profiles */

struct ontap_nfs_opts {
    char *server;               /* NFS data LIF address, NULL = none */
    unsigned version;           /* 3 or 4, 0 = unset */
    unsigned port;              /* 0 = default */
    unsigned mount_port;        /* 0 = default */
};

/* One profile of the configuration file:
 *
 * {"profiles": {"NAME": {"cluster": "https://host:port",
 *   "username": "admin", "password_file": "/abs" | "password_env": "VAR",
 *   "client_cert": "/abs/cert.pem", "client_key": "/abs/key.pem",
 *   "ca_file": "/abs/ca.pem" | "fingerprint_sha256": "AB:CD:.."
 *     | "pinned_pubkey": "sha256//base64" | "insecure": true,
 *   "svm": "svm0", "nfs": {"server": "h", "version": 3, "port": N,
 *   "mount_port": N}, "max_ranges_per_call": 32, "return_timeout": 30,
 *   "job_deadline": 600}}}
 *
 * Unknown keys are reported through the logger and ignored.  The
 * password itself is never stored here; ontap_profile_password() reads
 * it when a client is made. */
struct ontap_profile {
    char *name;
    char *cluster;              /* "https://host[:port]", no trailing '/' */
    char *username;
    char *password_file;        /* absolute; mode 0600 or stricter */
    char *password_env;
    char *client_cert;
    char *client_key;
    char *ca_file;
    char *fingerprint_sha256;   /* normalised "AB:CD:..", 32 bytes */
    char *pinned_pubkey;        /* libcurl "sha256//..." SPKI pin */
    bool insecure;
    char *svm;
    struct ontap_nfs_opts nfs;
    unsigned max_ranges_per_call;
    unsigned return_timeout;    /* seconds, 0..120 */
    unsigned job_deadline;      /* seconds */
};

/* $VMSHIFT_CONFIG, else $XDG_CONFIG_HOME/vmshift/config.json, else
 * ~/.config/vmshift/config.json.  Caller frees *out. */
int ontap_config_default_path (char **out);
/* Read the file (NULL: the default path) and return profile NAME. */
int ontap_profile_load (const char *config_path, const char *name,
                        const struct logger *lg, struct ontap_profile **out);
/* Parse a configuration held in memory; 'what' names it in messages. */
int ontap_profile_parse (const char *buf, size_t len, const char *what,
                         const char *name, const struct logger *lg,
                         struct ontap_profile **out);
void ontap_profile_free (struct ontap_profile *p);
/* The password from password_file (refused unless a regular file owned
 * by us with no group/other permission bits) or password_env.  *out is
 * NULL when the profile has neither (client-certificate only).  Free
 * with ontap_password_free(), which wipes it. */
int ontap_profile_password (const struct ontap_profile *p, char **out);
void ontap_password_free (char *pw);

/* --------------------------------------------------------- locations */

/* ontap://PROFILE/VOLUME/path/in/volume, parsed strictly: no empty, "."
 * or ".." components, no control characters or backslashes, PROFILE of
 * [A-Za-z0-9_.-], VOLUME an ONTAP volume name ([A-Za-z_][A-Za-z0-9_]*,
 * at most 203 characters). */
struct ontap_location {
    char *profile;
    char *volume;
    char *path;                 /* relative to the volume root, no '/'
                                 * at either end */
};
int ontap_location_parse (const char *s, struct ontap_location *out);
void ontap_location_release (struct ontap_location *l);
/* 0 if both are on the same profile and volume; otherwise -EXDEV with a
 * message saying ONTAP clones files only within one volume. */
int ontap_location_same_volume (const struct ontap_location *src,
                                const struct ontap_location *dst);
/* ONTAP volume name syntax. */
bool ontap_volume_name_ok (const char *s);
/* ".snapshot/SNAP/PATH" (caller frees). */
int ontap_snapshot_path (const char *snapshot, const char *path, char **out);

/* -------------------------------------------------------- transport */

/* One HTTP exchange.  headers are complete "Name: value" lines. */
struct ontap_http_request {
    const char *method;
    const char *target;         /* path + query, starts with "/api/" */
    const char *const *headers;
    size_t n_headers;
    const char *body;           /* NULL: no body */
    size_t body_len;
    unsigned timeout_s;         /* whole exchange */
    bool idempotent;            /* false: the transport itself must never
                                 * send it twice (see http.c) */
};

struct ontap_http_response {
    long status;
    struct sbuf body;           /* initialised by the caller, capped */
    unsigned retry_after_s;     /* Retry-After, 0 if absent */
};

/* A transport is one versioned struct of callbacks; implementations
 * embed it.  send() returns 0 when a response arrived (any status),
 * or a negative errno with the error set.  -ECONNREFUSED and
 * -EHOSTUNREACH promise the request was not sent (safe to resend any
 * method); -ETIMEDOUT and -ECONNRESET mean it may have been. */
struct ontap_transport {
    size_t struct_size;
    int (*send) (struct ontap_transport *t,
                 const struct ontap_http_request *req,
                 struct ontap_http_response *resp);
    void (*free) (struct ontap_transport *t);
};

struct ontap_tls_opts {
    const char *ca_file;
    const char *fingerprint_sha256;
    const char *pinned_pubkey;
    const char *client_cert;
    const char *client_key;
    bool insecure;
};

/* The libcurl transport for base URL "https://host[:port]". */
int ontap_http_curl_new (const char *base_url, const struct ontap_tls_opts *tls,
                         const struct logger *lg, struct ontap_transport **out);
/* The same transport for another HTTPS API (the vSphere client): 'peer'
 * names the service in messages, 'tls_hint' says what to configure when
 * the certificate cannot be verified, 'body_max' caps replies, 'cookies'
 * keeps cookies the server sets (in memory, for this transport only).
 * The strings must outlive the transport. */
struct ontap_http_opts {
    size_t struct_size;
    const char *peer;
    const char *tls_hint;
    size_t body_max;
    bool cookies;
};
int ontap_http_curl_new_opts (const char *base_url,
                              const struct ontap_tls_opts *tls,
                              const struct ontap_http_opts *ho,
                              const struct logger *lg,
                              struct ontap_transport **out);
/* Copy a header line for logging with credentials replaced. */
void ontap_redact_header (const char *line, size_t len, char *out,
                          size_t outsz);

/* ----------------------------------------------------------- client */

struct ontap_client;

struct ontap_clock {
    uint64_t (*now_ms) (void *opaque);          /* monotonic */
    void (*sleep_ms) (void *opaque, uint64_t ms);
    void *opaque;
};

/* Retries (see docs/ontap-client.md, "Retry rules"). */
struct ontap_retry_policy {
    unsigned attempts;          /* tries for 5xx and connection errors */
    unsigned busy_attempts;     /* tries for EBUSY refusals */
    unsigned base_delay_ms;     /* first backoff, doubled each time */
    unsigned max_delay_ms;      /* backoff cap */
    unsigned poll_initial_ms;   /* first job poll interval */
    unsigned poll_max_ms;       /* job poll interval cap */
};

struct ontap_stats {
    uint64_t requests;          /* HTTP exchanges attempted */
    uint64_t retries;           /* of which repeats after a failure */
    uint64_t job_polls;         /* GET /api/cluster/jobs/... */
    uint64_t bytes_sent;
    uint64_t bytes_received;
};

/* A client for profile p (copied).  Reads the password, makes the
 * libcurl transport.  lg is borrowed and must outlive the client. */
int ontap_client_new (const struct ontap_profile *p, const struct logger *lg,
                      struct ontap_client **out);
/* Same over a given transport (tests); takes it even on failure. */
int ontap_client_new_take (const struct ontap_profile *p,
                           const struct logger *lg,
                           struct ontap_transport *t_take,
                           struct ontap_client **out);
void ontap_client_free (struct ontap_client *c);
void ontap_client_set_clock (struct ontap_client *c,
                             const struct ontap_clock *clk);
void ontap_client_set_retry (struct ontap_client *c,
                             const struct ontap_retry_policy *rp);
void ontap_client_get_retry (const struct ontap_client *c,
                             struct ontap_retry_policy *rp);
void ontap_client_stats (const struct ontap_client *c, struct ontap_stats *st);
/* Borrowed; valid for the client's life. */
const struct ontap_profile *ontap_client_profile (const struct ontap_client *c);
/* Count this client's requests and job waits as VS_BUSY_REST in b
 * (engine/base/busy.h), and the NFS calls of backends over it as
 * VS_BUSY_NFS; NULL (the default): none.  b is borrowed and must
 * outlive the client; set before the client is used. */
struct vs_busy;
void ontap_client_set_busy (struct ontap_client *c, struct vs_busy *b);
struct vs_busy *ontap_client_busy (const struct ontap_client *c);

/* Request flags. */
enum {
    ONTAP_REQ_IDEMPOTENT = 1u << 0,     /* may be resent after a 5xx or a
                                         * connection lost mid-exchange */
    ONTAP_REQ_RETRY_BUSY = 1u << 1,     /* back off and resend on EBUSY */
};

struct ontap_reply {
    long status;
    struct json_val *json;      /* NULL for an empty body */
};
void ontap_reply_release (struct ontap_reply *r);

/* One REST call with the client's retry rules.  2xx: 0 and *out (parsed
 * JSON body).  Otherwise a mapped negative errno.  GET is always
 * IDEMPOTENT. */
int ontap_call (struct ontap_client *c, const char *method, const char *target,
                const char *body, unsigned flags, struct ontap_reply *out);
/* GET every page of a collection, following _links.next.href; page() is
 * called with each parsed page. */
int ontap_get_all (struct ontap_client *c, const char *target,
                   int (*page) (void *opaque, const struct json_val *doc,
                                const char *what),
                   void *opaque);
/* Sleep through the client's clock (backoff outside ontap_call). */
void ontap_client_sleep (struct ontap_client *c, uint64_t ms);
uint64_t ontap_client_now (struct ontap_client *c);
uint64_t ontap_client_backoff (const struct ontap_client *c, unsigned attempt);
/* Count a job poll in the statistics. */
void ontap_client_note_poll (struct ontap_client *c);
/* Called by ontap_async_finish when a call is answered with a job to
 * wait for (202), before the wait: what names the call ("file clone"),
 * uuid the job.  For a caller that journals the job, so that a process
 * killed while waiting can ask the job later (engine/convert.h,
 * "clone-job").  NULL: none.  Set and called on the client's thread. */
typedef void (*ontap_job_hook_fn) (void *opaque, const char *what,
                                   const char *uuid);
void ontap_client_set_job_hook (struct ontap_client *c, ontap_job_hook_fn fn,
                                void *opaque);
void ontap_client_job_started (struct ontap_client *c, const char *what,
                               const char *uuid);

/* Query strings: append "&key=value" (or "?" first) with value
 * percent-encoded. */
int ontap_qs_add (struct sbuf *b, const char *key, const char *value);
/* 0 if v may be used as an ONTAP query value (no operator characters
 * * | ! < > and no ".."), else -EINVAL naming what. */
int ontap_query_value_ok (const char *v, const char *what);

/* ------------------------------------------------------------ errors */

/* errno for an HTTP status plus ONTAP error code/message (either may be
 * NULL).  Documented common ONTAP codes win over the HTTP status. */
int ontap_errno_for (long status, const char *code, const char *message);
/* Set the error for a failed call and return its negative errno. */
int ontap_set_http_error (const char *method, const char *target, long status,
                          const char *code, const char *message);
/* True for refusals that clear up by waiting (EBUSY, split load). */
bool ontap_is_busy (const char *code, const char *message);

/* ------------------------------------------------------------ decode */

/* Typed views of replies.  'what' names the reply in messages ("reply to
 * GET /api/cluster").  Wrong types, missing required fields and numbers
 * sent as strings give -EPROTO. */
struct ontap_version {
    unsigned generation, major, minor;
    char *full;
};
struct ontap_volume {
    char uuid[ONTAP_UUID_MAX + 1];
    char *name;
    char *style;                /* "flexvol", "flexgroup"...; NULL if absent */
    char *junction_path;        /* nas.path, NULL if unmounted or absent */
    char *svm;                  /* svm.name, NULL if absent */
};
DEFINE_VECTOR (ontap_volume_vec, struct ontap_volume);

struct ontap_snapshot {
    char uuid[ONTAP_UUID_MAX + 1];
    char *name;
    char *create_time;          /* NULL if absent */
};
DEFINE_VECTOR (ontap_snapshot_vec, struct ontap_snapshot);

enum ontap_security_style {
    ONTAP_SEC_UNIX = 0, ONTAP_SEC_NTFS, ONTAP_SEC_MIXED,
};
struct ontap_qtree {
    uint64_t id;
    char *name;
    int security_style;         /* enum ontap_security_style, -1 absent */
    char volume_uuid[ONTAP_UUID_MAX + 1];       /* "" if absent */
};
DEFINE_VECTOR (ontap_qtree_vec, struct ontap_qtree);

enum ontap_job_state {
    ONTAP_JOB_QUEUED = 1, ONTAP_JOB_RUNNING, ONTAP_JOB_PAUSED,
    ONTAP_JOB_SUCCESS, ONTAP_JOB_FAILURE,
};
struct ontap_job {
    char uuid[ONTAP_UUID_MAX + 1];
    enum ontap_job_state state;
    int64_t code;
    char *message;              /* NULL if absent */
    char *description;          /* NULL if absent */
};

int ontap_decode_error (const struct json_val *doc, char **code, char **msg);
int ontap_decode_version (const struct json_val *doc, const char *what,
                          struct ontap_version *out);
int ontap_decode_volumes (const struct json_val *doc, const char *what,
                          struct ontap_volume_vec *out);
int ontap_decode_snapshots (const struct json_val *doc, const char *what,
                            struct ontap_snapshot_vec *out);
int ontap_decode_qtrees (const struct json_val *doc, const char *what,
                         struct ontap_qtree_vec *out);
int ontap_decode_job (const struct json_val *doc, const char *what,
                      struct ontap_job *out);
/* job.uuid of an async reply; -ENOENT when absent. */
int ontap_decode_job_link (const struct json_val *doc, const char *what,
                           char uuid[ONTAP_UUID_MAX + 1]);
/* _links.next.href, *out NULL on the last page; EPROTO unless it is a
 * path under /api/. */
int ontap_decode_next (const struct json_val *doc, const char *what,
                       char **out);
/* A uuid we accept into a URL path: 1..64 of [A-Za-z0-9-]. */
bool ontap_uuid_ok (const char *s);
/* A time as ONTAP gives it (a snapshot's create_time): ISO 8601
 * YYYY-MM-DDTHH:MM:SS with an optional fraction, then Z or +HH:MM /
 * -HH:MM (or +HHMM), as seconds since the epoch; -EINVAL (no message
 * set) for anything else. */
int ontap_time_parse (const char *s, int64_t *out);

/* One record as a reply holds it ({"records": [{...}]}), for a caller
 * that keeps what it looked up (a run's journal) and reads it back
 * later through the decoders, with their checks: exactly one record,
 * else -EPROTO.  Caller frees *out / releases the record. */
int ontap_volume_record (const struct ontap_volume *v, char **out);
int ontap_snapshot_record (const struct ontap_snapshot *s, char **out);
int ontap_qtree_record (const struct ontap_qtree *q, char **out);
int ontap_volume_from_record (const char *json, size_t len, const char *what,
                              struct ontap_volume *out);
int ontap_snapshot_from_record (const char *json, size_t len,
                                const char *what, struct ontap_snapshot *out);
int ontap_qtree_from_record (const char *json, size_t len, const char *what,
                             struct ontap_qtree *out);

void ontap_version_release (struct ontap_version *v);
void ontap_volume_release (struct ontap_volume *v);
/* A copy of *v into *out (release it). */
int ontap_volume_copy (const struct ontap_volume *v, struct ontap_volume *out);
void ontap_volume_vec_free (struct ontap_volume_vec *v);
void ontap_snapshot_release (struct ontap_snapshot *s);
void ontap_snapshot_vec_free (struct ontap_snapshot_vec *v);
void ontap_qtree_release (struct ontap_qtree *q);
void ontap_qtree_vec_free (struct ontap_qtree_vec *v);
void ontap_job_release (struct ontap_job *j);
const char *ontap_job_state_name (enum ontap_job_state s);
const char *ontap_security_style_name (enum ontap_security_style s);

/* ------------------------------------------------------- operations */

/* GET /api/cluster?fields=version */
int ontap_cluster_version (struct ontap_client *c, struct ontap_version *out);

/* A volume by name, or by junction path when the argument starts with
 * '/'.  Restricted to the profile's SVM when it names one.  Refuses
 * anything but a FlexVol (-ENOTSUP), a missing volume (-ENOENT) and an
 * ambiguous name (-EINVAL). */
int ontap_volume_find (struct ontap_client *c, const char *name_or_path,
                       struct ontap_volume *out);
/* Every volume matching an optional query ("svm.name=x", may be NULL),
 * across pages. */
int ontap_volume_list (struct ontap_client *c, const char *query,
                       struct ontap_volume_vec *out);

/* Network interfaces with an address and an SVM (data LIFs):
 * GET /api/network/ip/interfaces, across pages. */
struct ontap_lif {
    char *name;
    char *address;              /* ip.address */
    char *svm;                  /* svm.name */
};
DEFINE_VECTOR (ontap_lif_vec, struct ontap_lif);
int ontap_lif_list (struct ontap_client *c, struct ontap_lif_vec *out);
void ontap_lif_vec_free (struct ontap_lif_vec *v);

/* Outcome of an asynchronous operation whose job vanished: the caller
 * checks the result (the file, the snapshot) itself. */
enum ontap_outcome { ONTAP_DONE = 0, ONTAP_UNKNOWN = 1 };

/* Snapshots.  create: POST + job; *out (may be NULL) gets the record
 * (one more GET).  delete: retried while the snapshot is busy (clone
 * split) until the profile's job_deadline; a snapshot already gone
 * after a retry counts as deleted. */
int ontap_snapshot_create (struct ontap_client *c, const struct ontap_volume *v,
                           const char *name, const char *comment,
                           struct ontap_snapshot *out);
int ontap_snapshot_find (struct ontap_client *c, const struct ontap_volume *v,
                         const char *name, struct ontap_snapshot *out);
int ontap_snapshot_list (struct ontap_client *c, const struct ontap_volume *v,
                         struct ontap_snapshot_vec *out);
int ontap_snapshot_delete (struct ontap_client *c, const struct ontap_volume *v,
                           const struct ontap_snapshot *s);

/* Look qtree NAME up without changing anything (one GET); -ENOENT when
 * the volume has none of that name.  Release *out. */
int ontap_qtree_find (struct ontap_client *c, const struct ontap_volume *v,
                      const char *name, struct ontap_qtree *out);
/* Make sure qtree NAME exists in the volume with the given security
 * style (NTFS for Hyper-V targets, UNIX otherwise) and return its id.
 * An existing qtree with another style is refused (-EEXIST), or, with
 * ONTAP_QTREE_FIX_STYLE, changed (PATCH) and looked up again; then the
 * return value is 1 and *was holds the old style (was may be NULL). */
#define ONTAP_QTREE_FIX_STYLE 1u
int ontap_qtree_ensure (struct ontap_client *c, const struct ontap_volume *v,
                        const char *name, enum ontap_security_style style,
                        unsigned flags, uint64_t *id,
                        enum ontap_security_style *was);

/* Delete qtree q (its id, as found) with what is in it: ONTAP removes a
 * qtree's files with it, so callers check that it is empty first.  A
 * lost answer or a vanished job is settled by looking the qtree up by
 * name; gone is success.  Qtree 0 (the volume) is refused. */
int ontap_qtree_delete (struct ontap_client *c, const struct ontap_volume *v,
                        const struct ontap_qtree *q);

/* Jobs. */
int ontap_job_get (struct ontap_client *c, const char *uuid,
                   struct ontap_job *out);
/* Poll until the job ends or deadline_s passes (-ETIMEDOUT).  A failed
 * job returns its mapped errno.  A job that is not found gives 0 and
 * ONTAP_UNKNOWN. */
int ontap_job_wait (struct ontap_client *c, const char *uuid,
                    unsigned deadline_s, enum ontap_outcome *out);
/* Finish an asynchronous call from its reply: 200/201 are done (the job
 * ended within return_timeout), 202 is waited for. */
int ontap_async_finish (struct ontap_client *c, const struct ontap_reply *r,
                        const char *what, enum ontap_outcome *out);

/* File clone.  Byte ranges, each 4 KiB aligned in source, destination
 * and length. */
struct ontap_clone_range {
    uint64_t src_off;
    uint64_t dst_off;
    uint64_t len;
};
/* Ranges in 4 KiB blocks as sent to ONTAP, cut into calls. */
struct ontap_block_range {
    uint64_t src, dst, count;
};
DEFINE_VECTOR (ontap_block_range_vec, struct ontap_block_range);
DEFINE_VECTOR (ontap_size_vec, size_t);
struct ontap_clone_plan {
    struct ontap_block_range_vec ranges;        /* merged, by destination */
    struct ontap_size_vec call_start;   /* index of each call's first range */
};
/* Pure: check, merge and chunk.  Misaligned or empty ranges and
 * overlapping destinations are refused (-EINVAL); adjacent ranges that
 * continue each other are merged; ranges are cut into calls of at most
 * max_per_call, and a range whose source overlaps another in the same
 * call starts a new call (ONTAP refuses overlapping sources within a
 * call). */
int ontap_clone_plan_make (const struct ontap_clone_range *r, size_t n,
                           unsigned max_per_call, struct ontap_clone_plan *out);
void ontap_clone_plan_release (struct ontap_clone_plan *p);
size_t ontap_clone_plan_calls (const struct ontap_clone_plan *p);

struct ontap_clone_result {
    unsigned calls;             /* POSTs that completed */
    unsigned unknown_calls;     /* of which the job vanished */
    uint64_t blocks;            /* 4 KiB blocks requested */
};
/* Sub-file clone of ranges from src_path (normally inside
 * .snapshot/<name>/) into dst_path, which must exist with its final
 * size.  Both paths are relative to the volume root.  Calls are sent
 * with overwrite_destination, which makes repeating one harmless.
 * *outcome is ONTAP_UNKNOWN when a call's job vanished: check the
 * destination, or call again with the same ranges. */
int ontap_file_clone (struct ontap_client *c, const struct ontap_volume *v,
                      const char *src_path, const char *dst_path,
                      const struct ontap_clone_range *r, size_t n,
                      struct ontap_clone_result *res,
                      enum ontap_outcome *outcome);
/* Whole-file clone; dst_path must not exist unless overwrite. */
int ontap_file_clone_whole (struct ontap_client *c,
                            const struct ontap_volume *v, const char *src_path,
                            const char *dst_path, bool overwrite,
                            enum ontap_outcome *outcome);
/* 0 if p is a usable volume-relative path for clone calls. */
int ontap_rel_path_ok (const char *p, const char *what);

#endif
