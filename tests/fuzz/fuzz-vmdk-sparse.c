/* libFuzzer harness: vmdk_read_map and vmdk_validate over one buffer.
 * The input is file 0 (a KDMV sparse file or a text descriptor); every
 * file opened by name (extents, parents) is the same buffer again, up to
 * a small limit, so descriptors that point at themselves, chains and
 * loops are exercised too.  Fuzz binaries do not link the unit-test
 * helpers, so the memory fmt_io lives here. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "formats/formats.h"

#define FZ_MAX_FILES 8

struct fz_io {
    const uint8_t *buf;
    size_t len;
    uint32_t nfiles;
};

static int
fz_pread (void *opaque, uint32_t file, void *buf, size_t n, uint64_t off)
{
    struct fz_io *f = opaque;

    if (file >= f->nfiles) {
        return set_error (EBADF, "no file %u", file);
    }
    if (off > f->len || n > f->len - off) {
        return set_error (EINVAL, "'fuzz' is shorter than needed (%zu bytes "
                          "at %llu)", n, (unsigned long long) off);
    }
    memcpy (buf, f->buf + off, n);
    return 0;
}

static int64_t
fz_size (void *opaque, uint32_t file)
{
    struct fz_io *f = opaque;

    if (file >= f->nfiles) {
        return set_error (EBADF, "no file %u", file);
    }
    return (int64_t) f->len;
}

static int
fz_open_rel (void *opaque, uint32_t base, const char *name)
{
    struct fz_io *f = opaque;
    int r = fmt_check_rel_path (name);

    (void) base;
    if (r < 0) {
        return r;
    }
    if (f->nfiles >= FZ_MAX_FILES) {
        return set_error (EMFILE, "too many files");
    }
    return (int) f->nfiles++;
}

static const char *
fz_name (void *opaque, uint32_t file)
{
    (void) opaque;
    return file == 0 ? "fuzz.vmdk" : "fuzz-extent";
}

/* Holes: every 4 KiB block of zeros is reported as a hole, so the
 * extents callback path is covered too. */
static int
fz_extents (void *opaque, uint32_t file, uint64_t off, uint64_t len,
            uint64_t guest_off, struct fmt_extent_list *out)
{
    struct fz_io *f = opaque;
    uint64_t pos = off, end = off + len;
    int r = 0;

    (void) file;
    while (pos < end && r == 0) {
        uint64_t n = 4096 - pos % 4096;
        bool zero = true;

        if (n > end - pos) {
            n = end - pos;
        }
        for (uint64_t i = pos; i < pos + n && i < f->len; i++) {
            zero &= f->buf[i] == 0;
        }
        r = zero ? fmt_extents_add_zero (out, guest_off + pos - off, n)
                 : fmt_extents_add_data (out, guest_off + pos - off, n, file,
                                         pos);
        pos += n;
    }
    return r;
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    struct fz_io f = { .buf = data, .len = size, .nfiles = 1 };
    struct fmt_io io = {
        .opaque = &f, .pread = fz_pread, .size = fz_size,
        .open_rel = fz_open_rel, .name = fz_name,
        .extents = size % 2 ? fz_extents : NULL,
    };
    struct fmt_extent_list m;
    struct fmt_source_info info;
    struct fmt_problems p;

    fmt_extents_init (&m);
    memset (&info, 0, sizeof info);
    if (vmdk_read_map (&io, &m, &info) == 0 &&
        fmt_extents_check (&m) != 0) {
        abort ();               /* read_map promised a complete map */
    }
    fmt_extents_release (&m);

    f.nfiles = 1;
    fmt_problems_init (&p);
    (void) vmdk_validate (&io, &p, &info);
    fmt_problems_release (&p);
    return 0;
}
