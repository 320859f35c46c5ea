/* Guest-visible comparison of two images with the project's own readers.
 * Ranges whose blocks FIEMAP proves to be the very same physical blocks
 * are equal without reading (O(metadata)); everything else is read. */
#ifndef VMSHIFT_EXEC_VERIFY_H
#define VMSHIFT_EXEC_VERIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/exec/beio.h"
#include "formats/formats.h"

struct verify_side {
    struct beio *io;
    struct fmt_extent_list map;
    struct fmt_source_info info;
};

struct verify_report {
    uint64_t virtual_size;
    uint64_t bytes_read;        /* compared by reading */
    uint64_t bytes_shared;      /* proven equal by shared physical blocks */
    uint64_t bytes_zero;        /* zero on both sides by their maps */
    bool differ;
    uint64_t first_diff;        /* guest offset of the first difference */
    char why[256];              /* what differs */
};

int vs_verify_open (struct backend *be, const char *path, struct verify_side *s);
/* Same over an opened io (owned by the side from now on, even on failure). */
int vs_verify_open_io (struct beio *io, struct verify_side *s);
void vs_verify_close (struct verify_side *s);
int vs_verify_compare (struct verify_side *a, struct verify_side *b, bool full,
                    struct verify_report *rep);
/* Read guest bytes [off, off+n) through a side's map. */
int vs_verify_read_guest (struct verify_side *s, uint64_t off, void *buf,
                       size_t n);

#endif
