/* The ONTAP backend (NFS I/O + REST file clone); see ontap.c. */
#ifndef VMSHIFT_BACKEND_ONTAP_H
#define VMSHIFT_BACKEND_ONTAP_H

#include "engine/backend/backend.h"
#include "ontap/ontap.h"

/* Takes nfs_take (an nfs backend on the volume's junction path), even on
 * failure; client and vol are borrowed and must outlive the backend. */
struct backend *be_ontap_new (const struct logger *log,
                              struct backend *nfs_take,
                              struct ontap_client *client,
                              const struct ontap_volume *vol);
uint64_t be_ontap_nfs_bytes_written (struct backend *b);

#endif
