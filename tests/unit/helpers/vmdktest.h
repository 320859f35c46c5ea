/* Shared helpers of the VMDK image tests (test-vmdk-*.c): a temporary
 * directory per test, shell commands that must succeed, reading a disk
 * through vmdk_read_map and comparing it with a raw reference. */
#ifndef VMSHIFT_TEST_VMDKTEST_H
#define VMSHIFT_TEST_VMDKTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "formats/formats.h"
#include "testio.h"

struct vt_disk {
    struct test_io *t;
    struct fmt_extent_list map;
    struct fmt_source_info info;
};

/* Make a fresh temporary directory (vt_dir), removed by vt_cleanup. */
void vt_setup (void);
void vt_cleanup (void);
extern char vt_dir[];
/* Path inside vt_dir (a static buffer per call slot 0..3). */
const char *vt_path (int slot, const char *name);
/* Skip the test unless all the named tools are installed. */
void vt_need (const char *tools);
/* Run a shell command in vt_dir; the test fails unless it exits 0. */
void vt_run (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
/* Exit status of a shell command run in vt_dir. */
int vt_status (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
/* read_map must succeed and give a checked map. */
void vt_map (const char *path, struct vt_disk *d);
/* read_map must fail with errno err and a message containing msg. */
void vt_map_fails (const char *path, int err, const char *msg);
void vt_close (struct vt_disk *d);
/* Every guest byte read through the map equals the raw file's (holes of
 * the raw file and ZERO extents are compared without reading). */
void vt_compare_raw (struct vt_disk *d, const char *raw);
/* The validator finds no problem in the disk. */
void vt_validate_clean (const char *path);
/* Count map extents of a kind. */
size_t vt_count_kind (const struct fmt_extent_list *m, int kind);
/* Write n bytes at off into path (created if missing). */
void vt_pwrite (const char *path, const void *buf, size_t n, uint64_t off);
void vt_write_text (const char *path, const char *text);

#endif
