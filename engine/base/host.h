/* This host's name for file and snapshot names. */
#ifndef VMSHIFT_BASE_HOST_H
#define VMSHIFT_BASE_HOST_H

#include <stddef.h>

/* gethostname() with every byte outside [A-Za-z0-9-] replaced by '-'
 * ("host" when it fails), NUL-terminated in n bytes: safe inside a file
 * name or an ONTAP snapshot name. */
void vs_host_name (char *buf, size_t n);

#endif
