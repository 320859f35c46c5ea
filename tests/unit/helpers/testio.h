/* Test helpers for formats/ (not part of libvmshift):
 *
 * test_io: a struct fmt_io over local files (POSIX), so read_map and
 *   validators can run on real images without the engine.  File 0 is
 *   the path given; open_rel opens names relative to file 0's directory
 *   after fmt_check_rel_path(); extents uses SEEK_DATA/SEEK_HOLE.
 * test_io_mem: a struct fmt_io over one memory buffer (fuzzing, corrupt
 *   input tables); open_rel fails with -ENOENT.
 * test_exec_layout: carry out a layout with plain reads and writes (no
 *   block sharing) into DIR/<output name>, for oracle checks of planners
 *   independent of the engine's executor.
 * test_read_guest: read guest bytes [off, off+n) through a map.
 */
#ifndef VMSHIFT_TEST_IO_H
#define VMSHIFT_TEST_IO_H

#include <stddef.h>
#include <stdint.h>

#include "formats/formats.h"

struct test_io;

struct test_io *test_io_open (const char *path);
struct test_io *test_io_mem (const void *buf, size_t len, const char *name);
const struct fmt_io *test_io_fmt (struct test_io *t);
void test_io_close (struct test_io *t);

int test_exec_layout (const struct fmt_layout *lay, struct test_io *src,
                      const char *dir);
int test_read_guest (struct test_io *src, const struct fmt_extent_list *map,
                     uint64_t off, void *buf, size_t n);
/* Run a shell command (sh -c); returns its exit status, or -1. */
int test_sh (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
/* Directory of the shared corpus, or NULL when it is absent. */
const char *test_corpus_dir (void);

#endif
