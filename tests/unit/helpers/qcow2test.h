/* Helpers for the qcow2 unit tests (tests/unit/test-qcow2-*.c): temp
 * directories, sparse raw sources with random data, shell commands with
 * captured output, and reading an image back through read_map. */
#ifndef VMSHIFT_QCOW2_TEST_H
#define VMSHIFT_QCOW2_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "formats/formats.h"

struct qt_piece {
    uint64_t off;
    uint64_t len;
};

/* A fresh directory under $TMPDIR (or /tmp); NULL on failure.  Free the
 * string and remove the tree with qt_rmdir. */
char *qt_tmpdir (void);
void qt_rmdir (char *dir);
/* Run a shell command, capturing up to cap-1 bytes of stdout into out
 * (NUL terminated; out may be NULL).  Returns the exit status or -1. */
int qt_sh_out (char *out, size_t cap, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
bool qt_have (const char *tool);
/* Sparse file of 'size' bytes with pseudo-random data in the pieces. */
int qt_make_raw (const char *path, uint64_t size, const struct qt_piece *p,
                 size_t n, unsigned seed);
/* Read 'img' (any format) through fmt_read_map and compare every guest
 * byte with the raw file 'raw' (bytes past its end count as zero).
 * Returns 0 when equal; otherwise -1 and a description in why.  The map
 * and info are returned when the pointers are not NULL. */
int qt_compare_image (const char *img, const char *raw, char *why,
                      size_t whylen, struct fmt_source_info *info,
                      struct fmt_extent_list *map_out);
/* Problems the validator finds in 'img' (-errno when it cannot run);
 * the first message is copied into first. */
int qt_validate (const char *img, char *first, size_t cap);
/* Read a whole (small) file into a malloc'd buffer. */
uint8_t *qt_slurp (const char *path, size_t *len);

#endif
