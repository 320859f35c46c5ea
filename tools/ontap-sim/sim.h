/* ontap-sim: an HTTPS test double for the parts of the ONTAP REST API
 * that vmshift uses (docs/ontap-rest.md, docs/ontap-sim.md).
 *
 * Threads: libmicrohttpd runs one thread per connection and the job
 * runner has its own thread.  Everything in struct sim (settings,
 * counters, volumes, jobs, the state file) is guarded by sim.lock; the
 * request handlers take it around each piece of work and never sleep
 * while holding it.
 */
#ifndef VMSHIFT_ONTAP_SIM_H
#define VMSHIFT_ONTAP_SIM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "engine/base/json.h"
#include "engine/base/jsonw.h"
#include "engine/base/sbuf.h"

#define SIM_UUID_LEN 37             /* 36 characters + NUL */
#define SIM_NAME_MAX 256
#define SIM_MAX_VOLUMES 64
#define SIM_MAX_JOBS 4096
#define SIM_MAX_QTREES 1024         /* per volume */
#define SIM_MAX_BODY (1u << 20)     /* request bodies */
#define SIM_MAX_REPLY (64u << 20)   /* reply bodies */
#define SIM_REL_MAX 2048           /* volume-relative paths */
#define SIM_BLOCK 4096u             /* file clone block size */
#define SIM_MAX_RANGES_HARD 4096    /* cap on --max-ranges */

/* One sub-file clone range, in 4 KiB blocks. */
struct sim_range {
    uint64_t src;
    uint64_t dst;
    uint64_t count;
};

/* ranges.c: strict parser for "src:dst:count" and the overlap rules.
 * Both set an error (engine/base/error.h) and return -EINVAL. */
int sim_range_parse (const char *s, struct sim_range *out);
int sim_ranges_check (const struct sim_range *r, size_t n, bool same_file);

struct sim_qtree {
    char name[SIM_NAME_MAX];
    int64_t id;
    char style[16];             /* unix, ntfs, mixed */
    unsigned perms;             /* as ONTAP shows them: 755 */
};

struct sim_snap {
    char name[SIM_NAME_MAX];
    char uuid[SIM_UUID_LEN];
    char create_time[40];
};

struct sim_volume {
    char name[SIM_NAME_MAX];
    char uuid[SIM_UUID_LEN];
    char *path;                 /* root/name */
    bool flexgroup;
    int64_t next_qtree_id;
    struct sim_qtree *qtrees;   /* known qtrees (the directory may be gone) */
    size_t nqtrees;
    struct sim_snap *snaps;     /* snapshots with metadata */
    size_t nsnaps;
};

enum sim_job_state { JOB_QUEUED, JOB_RUNNING, JOB_SUCCESS, JOB_FAILURE };

enum sim_job_kind {
    JK_CLONE, JK_SNAP_CREATE, JK_SNAP_DELETE, JK_QTREE_CREATE,
    JK_QTREE_DELETE, JK_QTREE_MODIFY, JK_SNAP_RENAME,
};

struct sim_job {
    bool used;
    char uuid[SIM_UUID_LEN];
    char description[160];
    enum sim_job_kind kind;
    enum sim_job_state state;
    uint64_t created_ms;
    uint64_t ended_ms;
    char start_time[40];
    char end_time[40];
    bool hidden;                /* fault: never visible to GET */
    bool inject_failure;        /* fault: ends in failure, does nothing */
    int64_t code;
    char message[512];
    /* Operation arguments. */
    int vol;                    /* index into sim.vols */
    char a[SIM_REL_MAX];               /* source path / snapshot / qtree name */
    char b[SIM_REL_MAX];               /* destination path */
    bool whole_file;
    bool overwrite;
    struct sim_range *ranges;
    size_t nranges;
    char style[16];             /* "" in a PATCH: unchanged */
    unsigned perms;
    bool has_perms;             /* a PATCH sets unix_permissions */
};

struct sim_settings {
    unsigned delay_ms;
    unsigned job_duration_ms;
    unsigned job_purge_ms;
    double error_rate;
    uint64_t seed;
    unsigned ebusy_count;
    unsigned fail_jobs;
    unsigned hide_jobs;
    unsigned drop_count;
    unsigned max_ranges;
    char fault_match[256];      /* "METHOD /path-prefix" or "" for all */
};

struct sim_counters {
    uint64_t requests;
    uint64_t unauthorized;
    uint64_t injected_5xx;
    uint64_t injected_ebusy;
    uint64_t dropped;
    uint64_t jobs_created;
    uint64_t jobs_failed;
    uint64_t jobs_purged;
    uint64_t clones;
    uint64_t clone_ranges;
    uint64_t snapshots_created;
    uint64_t snapshots_deleted;
};

struct sim {
    pthread_mutex_t lock;
    pthread_cond_t job_cond;
    char *root;
    char *state_file;
    char cluster_name[SIM_NAME_MAX];
    char cluster_uuid[SIM_UUID_LEN];
    char version[32];           /* "9.15.1" */
    unsigned vgen, vmajor, vminor;
    char svm_name[SIM_NAME_MAX];
    char svm_uuid[SIM_UUID_LEN];
    char user[SIM_NAME_MAX];
    char *password;
    struct sim_volume vols[SIM_MAX_VOLUMES];
    size_t nvols;
    struct sim_job *jobs;       /* SIM_MAX_JOBS slots */
    struct sim_settings set;
    struct sim_counters cnt;
    uint64_t rng;
    FILE *log;
    bool stopping;
};

extern struct sim sim;

/* util.c */
uint64_t sim_now_ms (void);
void sim_iso_time (char *buf, size_t n);
void sim_uuid_random (char out[SIM_UUID_LEN]);
void sim_uuid_from_name (const char *name, char out[SIM_UUID_LEN]);
double sim_rand01 (void);               /* deterministic from the seed */
int sim_read_file (const char *path, size_t max, char **out, size_t *len);
int sim_valid_name (const char *s);     /* one path component */
/* Normalise a volume-relative path: strip "./" and "/" runs; refuse
 * absolute paths, "..", and empty paths.  Returns 0 or -EINVAL. */
int sim_rel_path (const char *in, char *out, size_t outsz);
bool sim_in_snapshot (const char *rel);

/* state.c: volumes, qtrees, snapshots and the state file. */
int sim_state_init (const char *root, char **flexgroups, size_t nfg);
void sim_state_free (void);
int sim_state_save (void);
int sim_vol_by_uuid (const char *uuid);
int sim_vol_by_name (const char *name);
struct sim_qtree *sim_qtree_by_id (struct sim_volume *v, int64_t id);
struct sim_qtree *sim_qtree_by_name (struct sim_volume *v, const char *n);
bool sim_qtree_present (struct sim_volume *v, const struct sim_qtree *q);
int sim_snap_refresh (struct sim_volume *v);
struct sim_snap *sim_snap_by_uuid (struct sim_volume *v, const char *uuid);
struct sim_snap *sim_snap_by_name (struct sim_volume *v, const char *name);

/* fsops.c: the file-system work jobs do.  Set *msg on failure. */
int sim_snapshot_create (struct sim_volume *v, const char *name,
                         char *msg, size_t msgsz);
int sim_snapshot_delete (struct sim_volume *v, const char *name,
                         char *msg, size_t msgsz);
/* Rename .snapshot/<from> to .snapshot/<to>; the record keeps its UUID
 * and creation time. */
int sim_snapshot_rename (struct sim_volume *v, const char *from,
                         const char *to, char *msg, size_t msgsz);
int sim_clone_run (struct sim_volume *v, const struct sim_job *j,
                   char *msg, size_t msgsz);
int sim_remove_tree (const char *path);
/* qtrees.c: create, modify or delete the qtree a job names. */
int sim_qtree_job (struct sim_volume *v, struct sim_job *j, char *msg,
                   size_t msgsz);

/* jobs.c */
struct sim_job *sim_job_new (enum sim_job_kind kind, const char *descr);
struct sim_job *sim_job_find (const char *uuid);
int sim_jobs_start (void);
void sim_jobs_stop (void);
void sim_job_link (struct jsonw *w, const struct sim_job *j);
void sim_job_record (struct jsonw *w, const struct sim_job *j);
const char *sim_job_state_name (enum sim_job_state s);

/* Replies.  A handler fills one of these; http.c sends it. */
struct sim_reply {
    unsigned status;
    struct sbuf body;
    const char *ctype;
    bool drop;                  /* close the connection without a reply */
};

void sim_reply_error (struct sim_reply *r, unsigned status, const char *code,
                      const char *target, const char *fmt, ...)
    __attribute__ ((format (printf, 5, 6)));

/* A parsed request as handlers see it. */
#define SIM_MAX_ARGS 64
struct sim_arg {
    const char *key;
    const char *value;
};

struct sim_req {
    const char *method;
    const char *path;           /* without the query */
    struct sim_arg args[SIM_MAX_ARGS];
    size_t nargs;
    const char *body;
    size_t body_len;
    bool hal;                   /* Accept is not application/json */
};

const char *sim_req_arg (const struct sim_req *q, const char *key);

/* query.c: fields, filters and pagination over records that handlers
 * render in full with jsonw. */
struct sim_records {
    struct sbuf buf;            /* "[rec,rec,...]" */
    size_t n;
    struct jsonw w;
    const char *resource;       /* fields.c table: "volume", "qtree"... */
};

void sim_records_init (struct sim_records *rs, const char *resource);
void sim_records_release (struct sim_records *rs);
/* Reply with a collection: filter, paginate and project rs.  defaults
 * is a comma-separated list of fields shown without fields=. */
void sim_reply_collection (struct sim_reply *r, const struct sim_req *q,
                           struct sim_records *rs, const char *defaults);
/* Reply with one record (rendered as the only element of rs). */
void sim_reply_object (struct sim_reply *r, const struct sim_req *q,
                       struct sim_records *rs, const char *defaults);

/* fields.c: ONTAP 9.15.1's field names per resource.  validate returns
 * -1 and the offending name (not NUL-terminated) for an unknown one. */
bool sim_field_known (const char *resource, const char *name, size_t n);
int sim_fields_validate (const char *resource, const char *list,
                         const char **bad, size_t *badlen);

/* filter.c: one query filter value against one scalar, as a string. */
bool sim_filter_value (const char *val, const char *pattern);

/* handlers.c and clone.c */
void sim_route (const struct sim_req *q, struct sim_reply *r);
void sim_handle_clone (const struct sim_req *q, struct sim_reply *r);
void sim_post_job_reply (const struct sim_req *q, struct sim_reply *r,
                         struct sim_job *j, unsigned ok_status);
void sim_svm_ref (struct jsonw *w);
void sim_vol_ref (struct jsonw *w, const struct sim_volume *v);
/* Resolve {"volume": {"uuid"|"name"}} in a body; reply an error and
 * return -1 when it is missing or unknown. */
int sim_body_volume (const struct json_val *body, struct sim_reply *r);

void sim_handle_qtrees (const struct sim_req *q, struct sim_reply *r,
                        char **seg, size_t nseg);

/* control.c */
void sim_handle_control (const struct sim_req *q, struct sim_reply *r);
void sim_settings_json (struct jsonw *w);

/* http.c */
int sim_http_run (unsigned port, const char *cert, const char *key,
                  const char *port_file);

#endif
