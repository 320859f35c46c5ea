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

enum loc_kind loc_kind_of (const char *location);

/* Read a whole (small) file at a location into a NUL-terminated buffer
 * (caller frees *buf).  Files larger than max bytes are refused with
 * -EFBIG naming the file. */
int loc_read_whole (struct vmshift_handle *h, const char *location,
                    size_t max, char **buf, size_t *len);

#endif
