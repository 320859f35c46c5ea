/* A struct fmt_io over a backend: how formats/ read real files.
 *
 * File 0 is the path given to vs_beio_open(); formats open extents and
 * parents with open_rel, which joins the name onto file 0's directory
 * after fmt_check_rel_path().  On the local backend the resolved path
 * must also stay inside that directory after symlinks are followed.
 * Aliases let a freshly written target be read back before its rename:
 * open_rel("disk-flat.vmdk") opens the temporary file standing in for it.
 */
#ifndef VMSHIFT_EXEC_BEIO_H
#define VMSHIFT_EXEC_BEIO_H

#include <stdbool.h>

#include "engine/backend/backend.h"
#include "formats/formats.h"

struct beio;

int vs_beio_open (struct backend *be, const char *path, struct beio **out);
void vs_beio_close (struct beio *io);
const struct fmt_io *vs_beio_fmt (struct beio *io);
/* Let open_rel(name) open 'path' instead. */
int vs_beio_alias (struct beio *io, const char *name, const char *path);
uint32_t vs_beio_nfiles (const struct beio *io);
struct be_file *vs_beio_file (struct beio *io, uint32_t idx);
struct backend *vs_beio_backend (struct beio *io);
/* Make the current error name 'path' (prepending "'path': ") unless it
 * already does: a problem found in an extent or data file otherwise
 * names only that file, not the image the user gave. */
void vs_beio_error_names (const char *path);
/* -EINVAL naming file 0 when it is empty: a 0-byte file would otherwise
 * be taken for a raw disk of size 0, which is never what was meant. */
int vs_beio_check_not_empty (struct beio *io);
/* Use backend_extents() to find holes (default on when supported). */
void vs_beio_set_extents (struct beio *io, bool on);
/* Reads of file 0 (of 64 KiB or more) that FIEMAP shows to be blocks
 * seen at another offset of the same file (cloned within it: repeated
 * metadata) are read at that offset, which the page cache holds; the
 * cloned range itself is not cached.  Only for a file that is flushed
 * and that nobody writes while it is read (the read back of a
 * temporary).  Default off. */
void vs_beio_set_shared_reads (struct beio *io, bool on);

/* Directory part of a path ("." when there is none); caller frees. */
char *vs_path_dirname (const char *path);
/* Last component; borrowed pointer into path. */
const char *vs_path_basename (const char *path);
/* dir + "/" + name (name unchanged when dir is "."); caller frees. */
char *vs_path_join (const char *dir, const char *name);

#endif
