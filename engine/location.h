/* Locations: what a user names on the command line.
 *
 *   /path/or/relative/path        local file (local backend)
 *   nfs://host/export/path?...    NFS (libnfs URL syntax)
 *   ontap://PROFILE/VOLUME/path   ONTAP volume through a config profile
 */
#ifndef VMSHIFT_LOCATION_H
#define VMSHIFT_LOCATION_H

#include <stddef.h>

struct vmshift_handle;

enum loc_kind { LOC_LOCAL = 0, LOC_NFS, LOC_ONTAP };

enum loc_kind vs_loc_kind_of (const char *location);

/* Read a whole (small) file at a location into a NUL-terminated buffer
 * (caller frees *buf).  Files larger than max bytes are refused with
 * -EFBIG naming the file. */
int vs_loc_read_whole (struct vmshift_handle *h, const char *location,
                    size_t max, char **buf, size_t *len);
/* The same through a backend already open (path on it; location names
 * the file in messages): no new REST client or NFS mount per file. */
struct backend;
int vs_loc_read_whole_be (struct backend *be, const char *path,
                          const char *location, size_t max, char **buf,
                          size_t *len);

/* A location opened for reading: a backend and the path on it.  For
 * ontap:// it costs the profile, a REST client (the volume: 1 request)
 * and an NFS mount of the volume; the live file is read, not a
 * snapshot. */
struct loc_ontap;
struct backend;
struct loc_handle {
    struct backend *be;
    char *path;
    struct loc_ontap *ontap;
};
int vs_loc_open (struct vmshift_handle *h, const char *location,
              struct loc_handle *out);
void vs_loc_close (struct loc_handle *l);

/* engine/location_ontap.c */
struct ontap_profile;
struct ontap_volume;
struct ontap_client;
/* "nfs://SERVER/JUNCTION?version=V[&nfsport=P][&mountport=M]" for a
 * volume of the profile's cluster (caller frees). */
int vs_loc_ontap_nfs_url (const struct ontap_profile *p,
                       const struct ontap_volume *v, char **out);
int vs_loc_ontap_open (struct vmshift_handle *h, const char *location,
                    struct loc_handle *out);
/* The same with the volume's record the caller has already (looked up
 * before, or journalled by an earlier process of its run): no request
 * until the location is used.  known NULL: looked up. */
int vs_loc_ontap_open_known (struct vmshift_handle *h, const char *location,
                             const struct ontap_volume *known,
                             struct loc_handle *out);
void vs_loc_ontap_free (struct loc_ontap *o);
/* The REST client and the volume of an opened ontap:// location (NULL for
 * other kinds); borrowed, valid until vs_loc_close. */
struct ontap_client *vs_loc_ontap_client (const struct loc_handle *l);
const struct ontap_volume *vs_loc_ontap_volume (const struct loc_handle *l);
/* Another NFS connection to the volume of an opened ontap:// location,
 * with the same paths as l->be, for a worker thread (libnfs contexts are
 * single-threaded); no REST request.  -ENOTSUP for other kinds. */
int vs_loc_ontap_nfs_again (struct vmshift_handle *h,
                            const struct loc_handle *l, struct backend **out);

#endif
