/* vmshift: metadata-only virtual disk conversion.
 *
 * The only installed header.  Handles are opaque.  Functions return 0 (or
 * a count >= 0) on success and a negative errno on failure; pointers are
 * NULL on failure.  After a failure vmshift_get_error() returns a
 * one-line message (thread-local, valid until the next call on the same
 * thread) and vmshift_get_errno() its errno.
 *
 * The library never prints, never exits and never reads argv: messages
 * go to the log callback, results come back as data.
 */
#ifndef VMSHIFT_H
#define VMSHIFT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VMSHIFT_API __attribute__ ((visibility ("default")))

struct vmshift_handle;

VMSHIFT_API const char *vmshift_version (void);
VMSHIFT_API struct vmshift_handle *vmshift_new (void);
VMSHIFT_API void vmshift_free (struct vmshift_handle *h);
VMSHIFT_API const char *vmshift_get_error (void);
VMSHIFT_API int vmshift_get_errno (void);

/* Which side a failure is about (docs/internals/errors.md). */
enum vmshift_error_class {
    VMSHIFT_ERROR_UNKNOWN = 0,  /* not classified, or no error */
    VMSHIFT_ERROR_USAGE = 1,    /* the caller's arguments or options */
    VMSHIFT_ERROR_SOURCE = 2,   /* the source: missing, unreadable, corrupt,
                                 * unsupported */
    VMSHIFT_ERROR_TARGET = 3,   /* the target: exists, its directory is
                                 * missing or not writable, no space; or
                                 * what was written failed its read-back */
    VMSHIFT_ERROR_REMOTE = 4,   /* a remote service or the network (ONTAP
                                 * REST, the NFS server) */
    VMSHIFT_ERROR_SYSTEM = 5,   /* this host: memory, local resources */
};

/* Public structs that callers fill or that the library fills for them
 * start with struct_size, set by their _init function (or sizeof).  The
 * library accepts a struct from an older build (smaller struct_size,
 * fields added since then take their defaults) and refuses one smaller
 * than the first release's or larger than its own. */
struct vmshift_error_info {
    size_t struct_size;         /* set by vmshift_error_info_init */
    int errnum;                 /* vmshift_get_errno () */
    enum vmshift_error_class error_class;
    int retryable;              /* trying again may succeed: busy, timed
                                 * out, connection lost */
    const char *message;        /* vmshift_get_error () */
};
VMSHIFT_API void vmshift_error_info_init (struct vmshift_error_info *e);
/* The calling thread's last error.  -EINVAL (e not set up) or 0. */
VMSHIFT_API int vmshift_get_error_info (struct vmshift_error_info *e);

enum vmshift_log_level {
    VMSHIFT_LOG_ERROR = 0, VMSHIFT_LOG_WARN = 1, VMSHIFT_LOG_INFO = 2,
    VMSHIFT_LOG_DEBUG = 3,
};
typedef void (*vmshift_log_fn) (void *opaque, int level, const char *msg);
VMSHIFT_API void vmshift_set_log (struct vmshift_handle *h, vmshift_log_fn fn,
                                  void *opaque);
/* Debug flags: "exec,backend,formats,ontap,ontap.http,nfs,hv" or "all". */
VMSHIFT_API int vmshift_set_debug (struct vmshift_handle *h,
                                   const char *flags);
/* ONTAP profiles file (JSON); NULL = $VMSHIFT_CONFIG, then
 * $XDG_CONFIG_HOME/vmshift/config.json (~/.config/vmshift/config.json). */
VMSHIFT_API int vmshift_set_config (struct vmshift_handle *h,
                                    const char *path);

/* ------------------------------------------------------------ convert */

/* Disk formats.  The values come from the library's format table and
 * never change; a format added later gets the next free value, which
 * vmshift_format_from_name and vmshift_format_at return (an enum may hold
 * it even without a name below). */
enum vmshift_format {
    VMSHIFT_FMT_AUTO = 0,       /* from the target's extension */
    VMSHIFT_FMT_RAW = 1,
    VMSHIFT_FMT_VMDK = 2,
    VMSHIFT_FMT_VHDX = 3,
    VMSHIFT_FMT_QCOW2 = 4,
};
/* A format's name ("raw", "vmdk", "vhdx", "qcow2", ...) or one of its file
 * extensions (also "img" = raw), any case; -EINVAL otherwise. */
VMSHIFT_API int vmshift_format_from_name (const char *name,
                                          enum vmshift_format *out);
/* The name of a format ("vhdx"); NULL for AUTO or a value the library
 * does not know. */
VMSHIFT_API const char *vmshift_format_name (enum vmshift_format f);
/* The library's formats, in its table's order: i = 0, 1, ... until
 * VMSHIFT_FMT_AUTO. */
VMSHIFT_API enum vmshift_format vmshift_format_at (size_t i);
/* 1 if the library can write (convert to) format f, else 0. */
VMSHIFT_API int vmshift_format_can_write (enum vmshift_format f);

/* What an ONTAP run does with a target qtree that exists with another
 * security style than the target format needs (NTFS for Hyper-V, UNIX
 * otherwise). */
enum vmshift_qtree_style {
    VMSHIFT_QTREE_STYLE_REFUSE = 0,     /* fail (the default) */
    VMSHIFT_QTREE_STYLE_FIX = 1,        /* change it (ONTAP PATCH) */
};

/* How a dynamic VHDX target marks a payload block that holds no data
 * (all holes in the source): docs/formats/vhdx.md, "Thin disks". */
enum vmshift_vhdx_unallocated {
    /* PAYLOAD_BLOCK_ZERO (2), which [MS-VHDX] defines to read as zeros;
     * every entry is written (the default) */
    VMSHIFT_VHDX_UNALLOCATED_ZERO = 0,
    /* PAYLOAD_BLOCK_NOT_PRESENT (0), as Hyper-V leaves blocks never
     * written and qemu-img create leaves every block: entries of zeros,
     * not written at all; readers (qemu, libvhdi, vmshift) return zeros,
     * the specification leaves the contents undefined */
    VMSHIFT_VHDX_UNALLOCATED_NOT_PRESENT = 1,
};

/* Progress of one disk's data while it is placed (shared or copied):
 * called after some data is placed, at most four times a second per
 * disk, and once with finished set when all of it is.  Never two calls
 * at once (vmshift_convert_many's threads take turns), but not always
 * from the caller's thread.  Pointers are valid during the call only. */
struct vmshift_progress {
    size_t struct_size;
    size_t index;               /* the disk: i of vmshift_convert_many, 0 */
    const char *source;
    const char *target;
    uint64_t bytes_total;       /* guest data to place: shared + copied */
    uint64_t bytes_done;        /* placed so far */
    uint64_t bytes_to_copy;     /* of bytes_total, what the plan copies
                                 * (compressed or misaligned data, or all
                                 * with no_clone); a refused clone copies
                                 * more */
    uint64_t bytes_cloned;
    uint64_t bytes_copied;
    int finished;               /* every byte of this disk placed */
};
typedef void (*vmshift_progress_fn) (void *opaque,
                                     const struct vmshift_progress *p);

struct vmshift_convert_opts {
    size_t struct_size;         /* set by vmshift_convert_opts_init */
    enum vmshift_format to;
    uint32_t block_size;        /* VHDX block size, 0 = 32 MiB */
    uint32_t cluster_size;      /* qcow2 cluster size, 0 = default (2 MiB) */
    int vhdx_fixed;             /* fixed VHDX (all blocks present) */
    int qcow2_data_file;        /* qcow2 over an external raw data file */
    int dry_run;                /* plan only; nothing is written */
    int verify;                 /* after writing, compare guest data */
    int force;                  /* replace an existing target */
    int no_clone;               /* copy even where blocks could be shared */
    /* ONTAP */
    const char *snapshot;       /* use this existing snapshot */
    int keep_snapshot;
    unsigned parallel;          /* conversions in flight per volume, 0 = 10 */
    /* Fields added later go here, at the end (struct_size). */
    int qtree_style;            /* ONTAP: enum vmshift_qtree_style */
    vmshift_progress_fn progress;       /* or NULL */
    void *progress_opaque;
    /* vmshift_convert_many: asked before each disk is started (never two
     * calls at once, not always from the caller's thread); nonzero stops
     * the call at that point: disks under way finish, the others are not
     * started and fail with ECANCELED ("cancelled before it started").
     * NULL: never cancelled. */
    int (*cancel) (void *opaque);
    void *cancel_opaque;
    /* vmshift_convert_many: NULL, or n entries, each set up by
     * vmshift_error_info_init, that receive each disk's failure (errnum,
     * error_class, retryable; message is errors[i], or NULL when errors
     * is NULL); all zero for a disk that succeeded.  A caller decides
     * what to try again from these, not from the message's text. */
    struct vmshift_error_info *error_info;
    /* VHDX targets other than fixed: enum vmshift_vhdx_unallocated
     * (ignored for other formats, like block_size) */
    int vhdx_unallocated;
};
VMSHIFT_API void vmshift_convert_opts_init (struct vmshift_convert_opts *o);

struct vmshift_result;          /* one record per conversion run */

struct vmshift_stats {
    uint64_t virtual_size;
    uint64_t bytes_cloned;      /* data shared by clone */
    uint64_t bytes_copied;      /* data read and written */
    uint64_t bytes_metadata;    /* metadata bytes actually written */
    uint64_t bytes_zero;        /* guest bytes left as holes/zero */
    double wall_seconds;
    int all_shared;             /* every data byte was shared, none copied */
    int verified;               /* guest data compared equal after writing */
    uint64_t rest_requests;     /* ONTAP */
    uint64_t nfs_bytes_written; /* ONTAP/NFS */
    double seconds_data;        /* placing data (clone/copy) */
    double seconds_metadata;    /* writing metadata and headers */
    uint64_t rest_requests_run; /* ONTAP: requests of the run this disk was
                                 * part of, outside any disk (version,
                                 * volume, snapshots, qtrees) */
    uint64_t bytes_metadata_logical;    /* the metadata's whole length;
                                         * bytes_metadata leaves out the
                                         * blocks of zeros a new file
                                         * already reads as */
    /* ONTAP: the time of the whole call this disk was part of (the same
     * in each disk's record), on the library's clock (CLOCK_MONOTONIC),
     * split by what was outstanding on any of its threads: */
    double seconds_call;        /* the call's wall time */
    double seconds_rest_busy;   /* at least one REST request (or job
                                 * wait) outstanding at ONTAP */
    double seconds_nfs_busy;    /* at least one NFS call outstanding */
    double seconds_remote_busy; /* either; seconds_call minus this is the
                                 * host's own time */
    uint64_t bytes_metadata_cloned;     /* of bytes_metadata_logical, made
                                         * by cloning the target's own
                                         * blocks (repeated metadata such
                                         * as a thin VHDX BAT), not
                                         * written */
};

/* Convert SOURCE to TARGET (paths, nfs:// or ontap:// locations).  On
 * success *res (if res is not NULL) holds the result record; with
 * dry_run it holds the plan.  Free with vmshift_result_free(). */
VMSHIFT_API int vmshift_convert (struct vmshift_handle *h, const char *source,
                                 const char *target,
                                 const struct vmshift_convert_opts *o,
                                 struct vmshift_result **res);
/* Several disks in one run (ONTAP: one snapshot per volume).  res[i]
 * receives each disk's record; the return value is 0 only if all
 * succeeded, and errors[i] (if not NULL) the message of each failure. */
VMSHIFT_API int vmshift_convert_many (struct vmshift_handle *h, size_t n,
                                      const char *const *sources,
                                      const char *const *targets,
                                      const struct vmshift_convert_opts *o,
                                      struct vmshift_result **res,
                                      char **errors);
VMSHIFT_API const struct vmshift_stats *
vmshift_result_stats (const struct vmshift_result *r);
/* Serialised record (caller frees).  For a dry run: the plan. */
VMSHIFT_API char *vmshift_result_json (const struct vmshift_result *r,
                                       int pretty);
VMSHIFT_API char *vmshift_result_text (const struct vmshift_result *r);
VMSHIFT_API void vmshift_result_free (struct vmshift_result *r);

/* --------------------------------------------------------- info, verify */

/* Describe FILE and run the strict validator.  *report (caller frees) is
 * text or JSON.  Returns the number of problems found (>= 0) or -errno. */
VMSHIFT_API int vmshift_info (struct vmshift_handle *h, const char *file,
                              int json, char **report);

/* Compare the guest-visible contents of two images with the project's
 * own readers.  full = read everything; otherwise ranges whose blocks are
 * proven shared (FIEMAP) are not read.  Returns 0 when equal, 1 when they
 * differ (report says where), -errno on error. */
VMSHIFT_API int vmshift_verify (struct vmshift_handle *h, const char *a,
                                const char *b, int full, int json,
                                char **report);

/* ------------------------------------------- VMX inventory (hypervisors/) */

struct vmshift_vm;              /* a VM's configuration, read from its .vmx */

/* Read a VM's configuration from a location: a VMware .vmx, or an OVF
 * descriptor (.ovf).  Disk sizes are taken from the VMDK descriptors
 * beside it when they can be read.  Bad input: -EINVAL with a message
 * naming the file and line; nothing that will not carry over is an
 * error (see vmshift_vm_warning). */
VMSHIFT_API int vmshift_vm_load (struct vmshift_handle *h,
                                 const char *location,
                                 struct vmshift_vm **vm);
VMSHIFT_API void vmshift_vm_free (struct vmshift_vm *vm);
/* The model as text (json = 0) or JSON; caller frees. */
VMSHIFT_API char *vmshift_vm_describe (const struct vmshift_vm *vm,
                                       int json);
/* Borrowed strings, valid until vmshift_vm_free. */
VMSHIFT_API const char *vmshift_vm_name (const struct vmshift_vm *vm);
VMSHIFT_API size_t vmshift_vm_warning_count (const struct vmshift_vm *vm);
VMSHIFT_API const char *vmshift_vm_warning (const struct vmshift_vm *vm,
                                            size_t i);

/* -------------------------------------- target definitions (hypervisors/) */

enum vmshift_target {
    VMSHIFT_TARGET_HYPERV = 1,  /* PowerShell script (Hyper-V module) */
    VMSHIFT_TARGET_LIBVIRT = 2, /* domain XML (KVM) */
    VMSHIFT_TARGET_PROXMOX = 3, /* qemu-server <vmid>.conf */
    VMSHIFT_TARGET_KUBEVIRT = 4,/* VirtualMachine + PVCs, YAML or JSON */
};
/* "hyperv", "libvirt" (also "kvm"), "proxmox", "kubevirt"; -EINVAL else. */
VMSHIFT_API int vmshift_target_from_name (const char *name,
                                          enum vmshift_target *out);

struct vmshift_define_opts {
    size_t struct_size;         /* set by vmshift_define_opts_init */
    enum vmshift_target target;
    const char *network_map;    /* JSON file location; NULL = none */
    const char *disk_path;      /* where the converted disks are: folder
                                 * or share (Hyper-V, libvirt), storage id
                                 * (Proxmox), nfs://server/path (KubeVirt
                                 * PVs); NULL = the target's default */
    const char *disk_format;    /* NULL = map, then target default */
    const char *kube_namespace; /* KubeVirt; NULL = none */
    unsigned vmid;              /* Proxmox VM id (required there) */
    int retain_mac;             /* -1 = as the map says (default no) */
    unsigned vcpus;             /* 0 = map, then the VM's */
    uint64_t memory_mib;        /* 0 = map, then the VM's */
    int json;                   /* KubeVirt: a JSON List, not YAML */
};
VMSHIFT_API void vmshift_define_opts_init (struct vmshift_define_opts *o);
/* Write the target definition into *text (caller frees).  Warnings about
 * the target (things to do by hand) go to the log at VMSHIFT_LOG_WARN.
 * An unmapped network is -EINVAL naming it. */
VMSHIFT_API int vmshift_define (struct vmshift_handle *h,
                                const struct vmshift_vm *vm,
                                const struct vmshift_define_opts *o,
                                char **text);

/* ----------------------------------------------- guest network scripts */

/* Scripts that keep a guest's network settings across the move
 * (docs/guest-network.md): a prepare script run in the source VM records
 * the interfaces and installs a re-apply step that runs once on the
 * first boot at the target. */
enum vmshift_guest_os {
    VMSHIFT_GUEST_LINUX = 1,    /* linux-prepare.sh, linux-reapply.sh */
    VMSHIFT_GUEST_WINDOWS = 2,  /* windows-prepare.ps1, windows-reapply.ps1 */
};

enum vmshift_guest_mode {
    VMSHIFT_GUEST_MODE_DEFAULT = 0,     /* the map's guest.mode, else retain */
    VMSHIFT_GUEST_MODE_RETAIN = 1,      /* static settings under new names */
    VMSHIFT_GUEST_MODE_DHCP = 2,        /* switch the interfaces to DHCP */
    VMSHIFT_GUEST_MODE_KEEP = 3,        /* leave the network alone */
    VMSHIFT_GUEST_MODE_SCRIPT = 4,      /* run admin_script instead */
};

struct vmshift_guest_opts {
    size_t struct_size;         /* set by vmshift_guest_opts_init */
    enum vmshift_guest_os os;
    enum vmshift_guest_mode mode;
    const char *network_map;    /* JSON file, or NULL */
    const char *admin_script;   /* file, for VMSHIFT_GUEST_MODE_SCRIPT */
    int remove_tools;           /* -1 = the map's, else remove VMware Tools */
    const char *reboot;         /* "auto", "always", "never"; NULL = map's */
    int force;                  /* replace files that exist in outdir */
};
VMSHIFT_API void vmshift_guest_opts_init (struct vmshift_guest_opts *o);

/* Render the scripts for o->os with the map's values baked in and write
 * them into OUTDIR (created if missing; its parent must exist).  Shell
 * scripts get mode 0700, PowerShell scripts 0600.  Existing files are
 * refused with -EEXIST unless o->force; nothing is written unless every
 * script rendered.  Returns the number of files written. */
VMSHIFT_API int vmshift_guest_scripts (struct vmshift_handle *h,
                                       const struct vmshift_guest_opts *o,
                                       const char *outdir);
/* The names of the scripts for OS, NULL-terminated (static storage). */
VMSHIFT_API const char *const *vmshift_guest_script_names (
    enum vmshift_guest_os os);
/* Render one script (a name from vmshift_guest_script_names) into
 * *text (caller frees). */
VMSHIFT_API int vmshift_guest_render (struct vmshift_handle *h,
                                      const struct vmshift_guest_opts *o,
                                      const char *name, char **text);

/* ------------------------------------------------------------- jobs */

/* Scheduled snapshot-then-convert jobs (docs/jobs.md).  A job file is
 * JSON; every key is checked, and any problem is -EINVAL with one line
 * naming the file and the key. */
struct vmshift_job;
VMSHIFT_API int vmshift_job_load (struct vmshift_handle *h, const char *file,
                                  struct vmshift_job **job);
VMSHIFT_API void vmshift_job_free (struct vmshift_job *job);
/* Borrowed, valid until vmshift_job_free. */
VMSHIFT_API const char *vmshift_job_name (const struct vmshift_job *job);
/* The job file's "store" (a SQLite path or a postgresql:// URL), or NULL
 * when it names none (the default store).  Borrowed, as above. */
VMSHIFT_API const char *vmshift_job_store (const struct vmshift_job *job);
/* The job as vmshift understood it, text or JSON (caller frees). */
VMSHIFT_API char *vmshift_job_describe (const struct vmshift_job *job,
                                        int json);

/* Where and how a job is scheduled (vmshift job install|cron|kubernetes). */
struct vmshift_job_unit_opts {
    size_t struct_size;         /* set by vmshift_job_unit_opts_init */
    int user;                   /* systemd user units (~/.config/systemd/user) */
    int dry_run;                /* install: render and check, write nothing */
    const char *root;           /* install below this folder instead of /
                                 * (images, tests); NULL = / */
    const char *vmshift_path;   /* absolute path of vmshift to run; NULL =
                                 * /usr/local/bin/vmshift */
    const char *metrics_dir;    /* job run --metrics-dir; NULL = none */
    const char *image;          /* Kubernetes: the container image */
    const char *secret;         /* Kubernetes: Secret with config.json,
                                 * job.json and the password file;
                                 * NULL = vmshift-job-NAME */
    const char *store_claim;    /* Kubernetes: PVC of a SQLite store;
                                 * NULL = vmshift-store */
    const char *kube_namespace; /* Kubernetes: NULL = none */
};
VMSHIFT_API void vmshift_job_unit_opts_init (struct vmshift_job_unit_opts *o);
/* The vmshift-job@NAME.service and .timer texts (caller frees both). */
VMSHIFT_API int vmshift_job_systemd_units (struct vmshift_job *job,
                                           const struct vmshift_job_unit_opts *o,
                                           char **service, char **timer);
/* Write the two units (or with dry_run only check them) and check them
 * with systemd-analyze verify and the schedule with systemd-analyze
 * calendar.  *paths (caller frees): the unit files, one per line.  A unit
 * of that name that vmshift did not write is -EEXIST. */
VMSHIFT_API int vmshift_job_install (struct vmshift_handle *h,
                                     struct vmshift_job *job,
                                     const struct vmshift_job_unit_opts *o,
                                     char **paths);
/* Remove the units of job NAME that vmshift wrote; -ENOENT if none. */
VMSHIFT_API int vmshift_job_uninstall (struct vmshift_handle *h,
                                       const char *name,
                                       const struct vmshift_job_unit_opts *o,
                                       char **paths);
/* A crontab entry; -ENOTSUP naming the schedule when cron cannot run it. */
VMSHIFT_API int vmshift_job_cron (struct vmshift_job *job,
                                  const struct vmshift_job_unit_opts *o,
                                  char **text);
/* A batch/v1 CronJob manifest (YAML). */
VMSHIFT_API int vmshift_job_kubernetes (struct vmshift_job *job,
                                        const struct vmshift_job_unit_opts *o,
                                        char **yaml);

/* One run of a job now (docs/jobs.md, "Running a job"): take the job's
 * lease in the run store, repair what an interrupted run left, snapshot,
 * convert every disk from the snapshot, record the generation, apply the
 * retention, release the lease.  *report (caller frees) is the run's
 * record as JSON.  Returns 0 when every disk converted, 1 when some
 * failed (the record says which), -EBUSY when another run of the job is
 * going (the message names it), other -errno on errors. */
struct vmshift_job_run_opts {
    size_t struct_size;         /* set by vmshift_job_run_opts_init */
    const char *store;          /* run store; NULL = the job's, else default */
    const char *metrics_dir;    /* Prometheus textfile folder, or NULL */
};
VMSHIFT_API void vmshift_job_run_opts_init (struct vmshift_job_run_opts *o);
VMSHIFT_API int vmshift_job_run (struct vmshift_handle *h,
                                 struct vmshift_job *job,
                                 const struct vmshift_job_run_opts *o,
                                 char **report);
/* Every run of job NAME in the store (NULL = default), newest first, as
 * text or a JSON array (caller frees). */
VMSHIFT_API int vmshift_job_history (struct vmshift_handle *h,
                                     const char *store, const char *name,
                                     int json, char **text);
/* Every job that has runs in the store, with its last run. */
VMSHIFT_API int vmshift_job_list (struct vmshift_handle *h, const char *store,
                                  int json, char **text);

/* The next time after 'after' (seconds since the epoch) that a calendar
 * expression of the subset docs/jobs.md describes elapses, read as UTC
 * wall-clock time.  -EINVAL for a bad expression, -ERANGE when it never
 * elapses again (before 2200). */
VMSHIFT_API int vmshift_calendar_next (struct vmshift_handle *h,
                                       const char *expr, int64_t after,
                                       int64_t *next);
/* ------------------------------------ migrations from blueprints (runs) */

/* A blueprint (docs/blueprint.md) is run as a durable run kept in a store
 * (SQLite; docs/internals/store.md).  Progress comes as events: one JSON
 * object each ({"run":ID,"vm":"db01","step":"convert","state":...,
 * "message":...}) and the same as one line of text. */
typedef void (*vmshift_event_fn) (void *opaque, const char *json,
                                  const char *line);
/* The same events as a struct (vmshift_run_opts.on_run_event), and two
 * kinds that are not kept in the store and that on_event does not get:
 * "status" (each VM's state when the run starts or resumes) and
 * "progress" (bytes of a VM's disks while they convert, at most once a
 * second).  Byte counts are the VM's so far (0 before it converts).
 * Progress comes from a conversion thread, never two calls at once. */
struct vmshift_run_event {
    size_t struct_size;
    int64_t run;
    int64_t time;               /* seconds since the epoch */
    const char *vm;             /* NULL: about the run */
    const char *state;          /* the VM's (or the run's) state */
    const char *step;           /* a state's name, "note", "snapshot",
                                 * "boot-delay", "status", "progress" ... */
    const char *message;        /* or NULL */
    uint64_t bytes_total;       /* data of its disks: to place */
    uint64_t bytes_done;        /* placed so far */
    uint64_t bytes_cloned;      /* shared */
    uint64_t bytes_copied;
    const char *json;           /* the event as one JSON object */
    const char *line;           /* and as one line of text */
};
typedef void (*vmshift_run_event_fn) (void *opaque,
                                      const struct vmshift_run_event *e);

/* What one call of vmshift_migrate or vmshift_runs_resume did (for the
 * bench, vmshift bench --migrate; docs/internals/workflow.md). */
struct vmshift_run_stats {
    size_t struct_size;         /* set by the caller */
    double seconds;             /* wall time of the call (CLOCK_MONOTONIC) */
    uint64_t vms;               /* VMs in the run */
    uint64_t disks;             /* disks in the run */
    uint64_t disks_converted;   /* converted by this call */
    uint64_t rest_requests;     /* ONTAP requests of this call, in all */
    uint64_t rest_requests_disks;   /* of which for one disk each (the
                                     * clones and their jobs) */
    uint64_t rest_requests_disk_max;    /* the most one disk needed */
    uint64_t journal_intents;   /* side effects journalled by this call */
    uint64_t state_changes;     /* VM states written by this call */
    uint64_t store_commits;     /* write transactions of the run's store */
    uint64_t store_syncs;       /* of which durable points (synced) */
};

struct vmshift_run_opts {
    size_t struct_size;         /* set by vmshift_run_opts_init */
    const char *store;          /* store path; NULL = $VMSHIFT_STORE, then
                                 * the default (docs/internals/store.md) */
    int test;                   /* a test migration (vmshift migrate --test) */
    vmshift_event_fn on_event;
    void *opaque;
    /* Fields added later go here, at the end (struct_size). */
    vmshift_run_event_fn on_run_event;  /* with opaque; or NULL */
    struct vmshift_run_stats *stats;    /* filled by migrate and resume
                                         * when not NULL (its struct_size
                                         * set) */
};
VMSHIFT_API void vmshift_run_opts_init (struct vmshift_run_opts *o);

/* Parse FILE and resolve everything it names without changing anything.
 * *report (caller frees) is text or JSON.  Returns the number of problems
 * (>= 0), or -EINVAL for a malformed blueprint (one line naming the key). */
VMSHIFT_API int vmshift_blueprint_check (struct vmshift_handle *h,
                                         const char *file,
                                         const struct vmshift_run_opts *o,
                                         int json, char **report);
/* Run FILE to the end: preflight, one snapshot per volume, convert, write
 * definitions and guest-script bundles, register, power on by boot
 * order.  *run_id is set as soon as the run exists (also on failure).
 * 0 when every VM is complete or waiting for the admin; -errno otherwise
 * (the run can be resumed). */
VMSHIFT_API int vmshift_migrate (struct vmshift_handle *h, const char *file,
                                 const struct vmshift_run_opts *o,
                                 int64_t *run_id);
VMSHIFT_API int vmshift_runs_list (struct vmshift_handle *h,
                                   const struct vmshift_run_opts *o,
                                   int json, char **out);
VMSHIFT_API int vmshift_runs_show (struct vmshift_handle *h,
                                   const struct vmshift_run_opts *o,
                                   int64_t run_id, int json, char **out);
VMSHIFT_API int vmshift_runs_resume (struct vmshift_handle *h,
                                     const struct vmshift_run_opts *o,
                                     int64_t run_id);
/* Ask a running run to stop at its next safe point; a run whose process
 * is gone is aborted here.  Work not handed over is undone. */
VMSHIFT_API int vmshift_runs_abort (struct vmshift_handle *h,
                                    const struct vmshift_run_opts *o,
                                    int64_t run_id);
/* Remove what the run made (a test run, or one failed or aborted). */
VMSHIFT_API int vmshift_runs_cleanup (struct vmshift_handle *h,
                                      const struct vmshift_run_opts *o,
                                      int64_t run_id);
/* ------------------------------------ vCenter as a source (hypervisors/vsphere/) */

/* A session with a vCenter (or ESXi) profile of the configuration file
 * ("vcenters": {"NAME": {"url", "username", "password_file" |
 * "password_env", "ca_file" | "fingerprint_sha256" | "insecure"}}; see
 * docs/vcenter.md).  open logs in (SOAP SessionManager.Login); a refused
 * login is -EKEYREJECTED, never retried.  close logs out. */
struct vmshift_vcenter;
VMSHIFT_API int vmshift_vcenter_open (struct vmshift_handle *h,
                                      const char *profile,
                                      struct vmshift_vcenter **out);
VMSHIFT_API void vmshift_vcenter_close (struct vmshift_vcenter *vc);

struct vmshift_vcenter_stats {
    size_t struct_size;         /* set by the caller */
    uint64_t requests;          /* SOAP round trips so far */
    uint64_t logins;            /* including re-logins */
    uint64_t relogins;          /* after the session ended */
    uint64_t pages;             /* property retrieval pages */
    uint64_t bytes_received;
};
VMSHIFT_API void vmshift_vcenter_stats (const struct vmshift_vcenter *vc,
                                        struct vmshift_vcenter_stats *st);

struct vmshift_inventory_opts {
    size_t struct_size;         /* set by vmshift_inventory_opts_init */
    const char *const *vms;     /* only these VM names (n_vms of them) */
    size_t n_vms;
    const char *folder;         /* only VMs in this folder or below
                                 * ("/DC0/vm/web") */
    const char *datastore;      /* only VMs with a disk on it */
    int map_ontap;              /* map NFS datastores to ONTAP volumes
                                 * through the ONTAP profiles (default 1) */
};
VMSHIFT_API void vmshift_inventory_opts_init (struct vmshift_inventory_opts *o);

/* The VMs (name, instance UUID, power state, guest OS, firmware, CPUs,
 * memory, VMware Tools, NICs with guest IPs, disks with their ontap://
 * locations, snapshots, what will not carry over) and the datastores with
 * where they live on ONTAP.  A name in o->vms that is not there is
 * -ENOENT. */
struct vmshift_inventory;
VMSHIFT_API int vmshift_inventory_get (struct vmshift_vcenter *vc,
                                       const struct vmshift_inventory_opts *o,
                                       struct vmshift_inventory **out);
VMSHIFT_API size_t vmshift_inventory_vm_count (
    const struct vmshift_inventory *inv);
/* Caller frees. */
VMSHIFT_API char *vmshift_inventory_json (const struct vmshift_inventory *inv,
                                          int pretty);
VMSHIFT_API char *vmshift_inventory_text (const struct vmshift_inventory *inv);
VMSHIFT_API void vmshift_inventory_free (struct vmshift_inventory *inv);

/* Ask the guest to shut down (VMware Tools), wait up to timeout_s for
 * poweredOff; then power it off if power_off, else -ETIMEDOUT.  *forced
 * (may be NULL) says whether it was powered off.  A VM already off is
 * left alone. */
VMSHIFT_API int vmshift_vcenter_shutdown (struct vmshift_vcenter *vc,
                                          const char *vm, unsigned timeout_s,
                                          int power_off, int *forced);
/* Power on (a VM already on is left alone). */
VMSHIFT_API int vmshift_vcenter_power_on (struct vmshift_vcenter *vc,
                                          const char *vm);
/* A VM snapshot without memory; *snapshot_id (caller frees) is what
 * vmshift_vcenter_snapshot_remove takes. */
VMSHIFT_API int vmshift_vcenter_snapshot_create (struct vmshift_vcenter *vc,
                                                 const char *vm,
                                                 const char *name,
                                                 int quiesce,
                                                 char **snapshot_id);
/* Remove the snapshot with this id, only if vmshift made it (its
 * description says so): any other is refused with -EPERM. */
VMSHIFT_API int vmshift_vcenter_snapshot_remove (struct vmshift_vcenter *vc,
                                                 const char *vm,
                                                 const char *snapshot_id);

#ifdef __cplusplus
}
#endif

#endif
