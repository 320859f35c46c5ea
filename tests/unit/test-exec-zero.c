/* The executor leaves the 4 KiB blocks of zeros of metadata blobs
 * unwritten (the target is a file it created, a hole there already):
 * bytes_metadata counts what was written, bytes_metadata_logical the
 * blobs' length, and the file reads exactly as the blob says, including
 * a non-zero block cut by a 1 MiB chunk boundary and partial blocks at
 * both ends of an unaligned blob. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/backend/backend.h"
#include "engine/base/error.h"
#include "engine/exec/exec.h"
#include "engine/vmshift.h"
#include "formats/formats.h"

#define MiB ((uint64_t) 1 << 20)

static char dir[64];

static void
setup (void)
{
    snprintf (dir, sizeof dir, "/tmp/vmshift-exec-zero.XXXXXX");
    cr_assert_not_null (mkdtemp (dir));
}

static void
teardown (void)
{
    char cmd[128];

    snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_expect_eq (system (cmd), 0);
}

TestSuite (exec_zero, .init = setup, .fini = teardown);

Test (exec_zero, zero_blocks_are_not_written)
{
    const uint64_t off = 4096 + 100, len = 5 * MiB / 2, size = 3 * MiB;
    /* file offsets of the non-zero bytes */
    const uint64_t nz[] = {
        off,                            /* head: partial block 3996 B */
        MiB + off - 1, MiB + off,       /* one block cut by a chunk edge */
        3 * MiB / 2 + 10,               /* two neighbouring blocks: */
        3 * MiB / 2 + 4096 + 10,        /* one write of 8 KiB */
        off + len - 1,                  /* tail: partial block of 100 B */
    };
    uint8_t *blob = calloc (1, len), *want = calloc (1, size);
    uint8_t *got = malloc (size);
    struct backend *be = be_local_new (NULL);
    struct exec_stats st = { 0 };
    struct fmt_layout lay;
    struct exec x;
    char path[128];
    off_t data;
    int fd;

    cr_assert (blob && want && got && be);
    for (size_t i = 0; i < sizeof nz / sizeof nz[0]; i++) {
        blob[nz[i] - off] = (uint8_t) (0x11 * (i + 1));
        want[nz[i]] = (uint8_t) (0x11 * (i + 1));
    }
    fmt_layout_init (&lay);
    cr_assert_eq (fmt_layout_add_output (&lay, "z.bin", FMT_OUT_MAIN), 0);
    lay.out[0].file_size = size;
    cr_assert_eq (fmt_layout_add_bytes (&lay, 0, off, blob, len,
                                        FMT_PHASE_META, "blob"), 0);
    cr_assert_eq (vs_exec_begin (&x, be, dir, &lay, NULL), 0,
                  "%s", vmshift_get_error ());
    cr_assert_eq (vs_exec_write (&x, &lay, NULL, false, &st), 0,
                  "%s", vmshift_get_error ());
    cr_assert_eq (vs_exec_commit (&x, false), 0, "%s", vmshift_get_error ());
    vs_exec_release (&x);

    cr_expect_eq (st.bytes_metadata_logical, len);
    cr_expect_eq (st.bytes_metadata, 3996 + 4096 + 8192 + 100,
                  "wrote %llu bytes", (unsigned long long) st.bytes_metadata);

    snprintf (path, sizeof path, "%s/z.bin", dir);
    fd = open (path, O_RDONLY);
    cr_assert_geq (fd, 0);
    cr_assert_eq (pread (fd, got, size, 0), (ssize_t) size);
    cr_expect_eq (memcmp (got, want, size), 0, "the file differs from the blob");
    /* the first zero block after the head is a hole (ext4, XFS, tmpfs) */
    data = lseek (fd, 8192, SEEK_DATA);
    cr_expect_geq (data, (off_t) (MiB + 4096), "data at %lld",
                   (long long) data);
    close (fd);
    fmt_layout_release (&lay);
    backend_free (be);
    free (blob);
    free (want);
    free (got);
}
