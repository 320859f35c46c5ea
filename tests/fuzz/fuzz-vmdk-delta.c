/* libFuzzer harness: the VMDK delta extent readers, COWD (vmfsSparse,
 * formats/vmdk-cowd.c) and seSparse (formats/vmdk-sesparse.c), through
 * vmdk_read_map and vmdk_validate.  fuzz-vmdk-sparse cannot reach them:
 * a delta is only opened as the extent of a descriptor, and there every
 * file is the same buffer.  Here the files are separate:
 *
 *   file 0  "d.vmdk"          descriptor written by the harness
 *   ...     "delta.vmdk"      the delta extent: the fuzz input's payload
 *   ...     "base.vmdk"       the parent: a flat vmfs descriptor
 *   ...     "base-flat.vmdk"  the parent's data (reads as zeros)
 *
 * Input: u8 kind (bit 0: 0 = COWD, 1 = seSparse), u32 LE declared size
 * of the delta file (at most 1 GiB; bytes past the payload read as
 * zeros, so headers can point far into a file the fuzzer need not
 * spell out), u32 LE disk size in sectors (1..2^24), then the payload.
 * Seeds (tests/fuzz/seeds/fuzz-vmdk-delta/) are the hand-built deltas of
 * tests/unit/test-vmdk-images.c in this form. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/endian.h"
#include "engine/base/error.h"
#include "formats/formats.h"

#define FZ_HDR 9
#define FZ_MAX_FILES 8
#define FZ_MAX_DECLARED ((uint64_t) 1 << 30)

enum fz_kind { FZ_DESC, FZ_DELTA, FZ_BASE_DESC, FZ_BASE_FLAT };

struct fz_file {
    enum fz_kind kind;
    const char *name;
};

struct fz_io {
    const uint8_t *payload;
    size_t plen;
    uint64_t delta_size;
    uint64_t disk_bytes;
    char desc[512];
    char base[256];
    struct fz_file files[FZ_MAX_FILES];
    uint32_t nfiles;
};

static uint64_t
fz_file_size (const struct fz_io *f, uint32_t i)
{
    switch (f->files[i].kind) {
    case FZ_DESC: return strlen (f->desc);
    case FZ_BASE_DESC: return strlen (f->base);
    case FZ_BASE_FLAT: return f->disk_bytes;
    default: return f->delta_size;
    }
}

static int
fz_pread (void *opaque, uint32_t file, void *buf, size_t n, uint64_t off)
{
    struct fz_io *f = opaque;
    uint64_t size;
    const uint8_t *src = NULL;
    size_t have = 0;

    if (file >= f->nfiles) {
        return set_error (EBADF, "no file %u", file);
    }
    size = fz_file_size (f, file);
    if (off > size || n > size - off) {
        return set_error (EINVAL, "'%s' is shorter than needed (%zu bytes at "
                          "%llu)", f->files[file].name, n,
                          (unsigned long long) off);
    }
    switch (f->files[file].kind) {
    case FZ_DESC: src = (const uint8_t *) f->desc; have = strlen (f->desc); break;
    case FZ_BASE_DESC: src = (const uint8_t *) f->base; have = strlen (f->base); break;
    case FZ_DELTA: src = f->payload; have = f->plen; break;
    default: break;
    }
    memset (buf, 0, n);
    if (src && off < have) {
        memcpy (buf, src + off, have - off < n ? have - off : n);
    }
    return 0;
}

static int64_t
fz_size (void *opaque, uint32_t file)
{
    struct fz_io *f = opaque;

    if (file >= f->nfiles) {
        return set_error (EBADF, "no file %u", file);
    }
    return (int64_t) fz_file_size (f, file);
}

static int
fz_open_rel (void *opaque, uint32_t base, const char *name)
{
    static const struct fz_file known[] = {
        { FZ_DELTA, "delta.vmdk" }, { FZ_BASE_DESC, "base.vmdk" },
        { FZ_BASE_FLAT, "base-flat.vmdk" },
    };
    struct fz_io *f = opaque;
    int r = fmt_check_rel_path (name);

    (void) base;
    if (r < 0) {
        return r;
    }
    if (f->nfiles >= FZ_MAX_FILES) {
        return set_error (EMFILE, "too many files");
    }
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (strcmp (name, known[i].name) == 0) {
            f->files[f->nfiles] = known[i];
            return (int) f->nfiles++;
        }
    }
    return set_error (ENOENT, "no file '%s'", name);
}

static const char *
fz_name (void *opaque, uint32_t file)
{
    struct fz_io *f = opaque;

    return file < f->nfiles ? f->files[file].name : "?";
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    struct fz_io f;
    struct fmt_io io = {
        .opaque = &f, .pread = fz_pread, .size = fz_size,
        .open_rel = fz_open_rel, .name = fz_name,
    };
    struct fmt_extent_list m;
    struct fmt_source_info info;
    struct fmt_problems p;
    uint32_t sectors;
    int ses;

    if (size < FZ_HDR) {
        return 0;
    }
    memset (&f, 0, sizeof f);
    ses = data[0] & 1;
    f.payload = data + FZ_HDR;
    f.plen = size - FZ_HDR;
    f.delta_size = get_le32 (data + 1);
    if (f.delta_size > FZ_MAX_DECLARED) {
        f.delta_size = FZ_MAX_DECLARED;
    }
    if (f.delta_size < f.plen) {
        f.delta_size = f.plen;
    }
    sectors = get_le32 (data + 5) % (1u << 24) + 1;
    f.disk_bytes = (uint64_t) sectors * 512;
    snprintf (f.desc, sizeof f.desc, "# Disk DescriptorFile\nversion=1\n"
              "CID=22222222\nparentCID=11111111\ncreateType=\"%s\"\n"
              "parentFileNameHint=\"base.vmdk\"\n\n# Extent description\n"
              "RW %u %s \"delta.vmdk\"\n", ses ? "seSparse" : "vmfsSparse",
              sectors, ses ? "SESPARSE" : "VMFSSPARSE");
    snprintf (f.base, sizeof f.base, "# Disk DescriptorFile\nversion=1\n"
              "CID=11111111\nparentCID=ffffffff\ncreateType=\"vmfs\"\n\n"
              "# Extent description\nRW %u VMFS \"base-flat.vmdk\"\n",
              sectors);
    f.files[0] = (struct fz_file) { FZ_DESC, "d.vmdk" };

    f.nfiles = 1;
    fmt_extents_init (&m);
    memset (&info, 0, sizeof info);
    if (vmdk_read_map (&io, &m, &info) == 0 && fmt_extents_check (&m) != 0) {
        abort ();               /* read_map promised a complete map */
    }
    fmt_extents_release (&m);

    f.nfiles = 1;
    fmt_problems_init (&p);
    (void) vmdk_validate (&io, &p, &info);
    fmt_problems_release (&p);
    return 0;
}
