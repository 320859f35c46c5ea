/* Helpers for the VHDX tests (not part of libvmshift): sparse raw
 * sources with random data, raw -> vhdx conversion through vhdx_plan and
 * the reference executor, and guest-data comparison of two maps. */
#ifndef VMSHIFT_TEST_VHDXTEST_H
#define VMSHIFT_TEST_VHDXTEST_H

#include <stddef.h>
#include <stdint.h>

#include "formats/formats.h"
#include "testio.h"

struct vt_seg {
    uint64_t off;
    uint64_t len;
};

/* A fresh directory under $TMPDIR (or /tmp); NULL on failure. */
char *vt_tmpdir (void);
/* rm -rf dir and free the string. */
void vt_rmdir (char *dir);
/* Create path as a sparse file of 'size' bytes whose segments hold
 * pseudo-random bytes (seeded) and whose other bytes are holes. */
int vt_make_raw (const char *path, uint64_t size, const struct vt_seg *segs,
                 size_t nsegs, unsigned seed);
/* Plan options with fixed GUIDs and the given block size / type. */
void vt_opts (struct fmt_plan_opts *o, const char *target, uint32_t bs,
              bool fixed);
/* raw file -> DIR/opts->target_name through fmt_plan (vhdx) and
 * test_exec_layout.  *meta_bytes / *data_off receive the layout's values
 * when not NULL. */
int vt_convert (const char *raw, const char *dir,
                const struct fmt_plan_opts *o, uint64_t *meta_bytes,
                uint64_t *data_off);
/* Guest bytes of two disks equal (sizes too)?  Ranges where both maps
 * are ZERO are not read.  0 if equal, 1 if different, -errno. */
int vt_compare (struct test_io *a, const struct fmt_extent_list *ma,
                struct test_io *b, const struct fmt_extent_list *mb);
/* Read the whole of a small file into a new buffer. */
uint8_t *vt_slurp (const char *path, size_t *len);
int vt_spit (const char *path, const void *buf, size_t len);

#endif
