/* libFuzzer harness: the qcow2 reader (read_map) and strict validator
 * over a memory fmt_io holding the input as file 0.  A data file name
 * cannot be opened (open_rel fails), as for a missing file. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "formats/formats.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

struct fuzz_mem {
    const uint8_t *buf;
    size_t len;
};

static int
fuzz_pread (void *opaque, uint32_t file, void *buf, size_t n, uint64_t off)
{
    struct fuzz_mem *m = opaque;

    if (file != 0) {
        return set_error (EBADF, "no file %u", file);
    }
    if (off > m->len || n > m->len - off) {
        return set_error (EINVAL, "'fuzz' is shorter than needed");
    }
    memcpy (buf, m->buf + off, n);
    return 0;
}

static int64_t
fuzz_size (void *opaque, uint32_t file)
{
    struct fuzz_mem *m = opaque;

    return file == 0 ? (int64_t) m->len : set_error (EBADF, "no file");
}

static int
fuzz_open_rel (void *opaque, uint32_t base, const char *name)
{
    (void) opaque;
    (void) base;
    if (fmt_check_rel_path (name) < 0) {
        return -EINVAL;
    }
    return set_error (ENOENT, "'%s': no such file", name);
}

static const char *
fuzz_name (void *opaque, uint32_t file)
{
    (void) opaque;
    (void) file;
    return "fuzz.qcow2";
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    struct fuzz_mem m = { data, size };
    struct fmt_io io = {
        .opaque = &m, .pread = fuzz_pread, .size = fuzz_size,
        .open_rel = fuzz_open_rel, .name = fuzz_name, .extents = NULL,
    };
    struct fmt_extent_list map;
    struct fmt_source_info info;
    struct fmt_problems probs;

    fmt_extents_init (&map);
    if (qcow2_read_map (&io, &map, &info) == 0 &&
        fmt_extents_check (&map) != 0) {
        abort ();               /* a successful map must be complete */
    }
    fmt_extents_release (&map);
    fmt_problems_init (&probs);
    (void) qcow2_validate (&io, &probs, &info);
    fmt_problems_release (&probs);
    return 0;
}
