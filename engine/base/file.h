/* Small local files (configuration, job files) read whole. */
#ifndef VMSHIFT_BASE_FILE_H
#define VMSHIFT_BASE_FILE_H

#include <stddef.h>

/* The whole regular file at path, NUL-terminated, into *buf (caller
 * frees) and its length (without the NUL) into *len; refused past max
 * bytes.  Errors are one line naming the path. */
int vs_read_file (const char *path, size_t max, char **buf, size_t *len);

#endif
