/* Run ownership (docs/internals/ontap-flow.md, "Run ownership"): every
 * run has a random 128-bit run ID, and holds a lease file in each
 * directory where it leaves files of its own (temporaries, publish
 * journals) and, on ONTAP, at the volume root for its snapshot.  A lease
 * says until when the run is alive; the run renews it while it works.
 * Another run removes a leftover only when the owner's lease has expired
 * or is missing, or when the lease was written on this boot, in this PID
 * namespace, by a process that no longer exists.  Host name and PID
 * alone never decide: containers share host names, and a PID means
 * nothing in another PID namespace.
 *
 * Names: a lease is ".vmshift.<run>.lease"; run files are
 * ".vmshift.<hash>.<pid>.<run>.<kind>", where <hash> is 8 hex digits of
 * the final name they belong to (FNV-1a), so the names stay short
 * whatever the target's name, <pid> is informational, <run> is the 32
 * hex digits of the run ID and <kind> is "tmp" (a temporary), "pub" (a
 * publish journal) or "old" (the replaced descriptor, kept until the
 * commit is finished).
 */
#ifndef VMSHIFT_EXEC_OWNER_H
#define VMSHIFT_EXEC_OWNER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/backend/backend.h"

#define VS_RUN_HEX 32
#define VS_LEASE_SECONDS 600    /* a lease not renewed this long expired */
#define VS_LEASE_RENEW 30       /* renew at most this often */
#define VS_OWNER_MAX_LEASES 64

struct vs_owner {
    char run[VS_RUN_HEX + 1];
    const struct logger *log;
    pthread_mutex_t lock;
    char *leases[VS_OWNER_MAX_LEASES];      /* lease paths held */
    size_t n;
    double last_renew;
};

int vs_owner_init (struct vs_owner *o, const struct logger *log);
/* Take a lease in dir (once per directory; "." for the root). */
int vs_owner_hold (struct vs_owner *o, struct backend *be, const char *dir);
/* Renew every lease held when VS_LEASE_RENEW has passed (or always when
 * force); failures are warnings. */
void vs_owner_renew (struct vs_owner *o, struct backend *be, bool force);
/* Remove the leases (end of the run) and free. */
void vs_owner_release (struct vs_owner *o, struct backend *be);

/* Whether run 'run' (32 hex digits) may be taken for gone, judging by
 * its lease in dir: 1 gone, 0 alive (or cannot tell), -errno. */
int vs_owner_run_gone (struct backend *be, const char *dir, const char *run,
                       const struct logger *log);
/* Whether run's lease in dir was written by this process (on this boot,
 * in this PID namespace): a run ID this process took over from an
 * earlier process of the same run (vs_owner_hold).  1 yes, 0 no. */
int vs_owner_lease_mine (struct backend *be, const char *dir,
                         const char *run);
/* The PID field of a run file's name, or -1. */
long vs_owner_file_pid (const char *entry);

/* ".vmshift.<hash>.<pid>.<run>.<kind>" for final name 'name'. */
int vs_owner_file_name (const struct vs_owner *o, const char *name,
                        const char *kind, char *out, size_t n);
/* Split a run file name: true when entry is one, for final name 'name'
 * (NULL: any), with run (33 bytes) and kind filled. */
bool vs_owner_parse_file (const char *entry, const char *name, char *run,
                          char *kind, size_t kind_size);
/* Whether entry is a lease file; run filled. */
bool vs_owner_parse_lease (const char *entry, char *run);
/* The 8-hex-digit hash of a final name. */
void vs_owner_name_hash (const char *name, char out[9]);
/* Whether s is VS_RUN_HEX lower-case hex digits. */
bool vs_owner_run_ok (const char *s, size_t n);

#endif
