/* Repeated metadata (struct fmt_repeat): the VHDX planner declares the
 * runs of all-hole chunks of its BAT, and every declared run really
 * repeats with its period; the executor writes one 4 KiB-aligned
 * multiple of the period and clones the rest within the file where the
 * backend can, and the file reads exactly as the blob says whether it
 * cloned, was refused at the first or a later clone (plain writes from
 * there), or was told not to clone.  Counters: bytes_metadata is what
 * was written, bytes_metadata_cloned what was cloned, and both add up
 * to no more than bytes_metadata_logical (the blob's length). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend/backend.h"
#include "engine/base/error.h"
#include "engine/exec/exec.h"
#include "engine/vmshift.h"
#include "formats/formats.h"

#define MiB ((uint64_t) 1 << 20)
#define GiB ((uint64_t) 1 << 30)
#define TiB ((uint64_t) 1 << 40)
#define CHUNK_SPAN ((uint64_t) 4 << 30)  /* CR * BS at 512-byte sectors */
#define BAT_OFF (3 * MiB)
#define VHDX_STATE_ZERO 2
#define VHDX_STATE_PRESENT 6

/* A thin map of vsize bytes with DATA at each of the given guest
 * offsets (64 MiB each, in order). */
static void
thin_map (struct fmt_extent_list *m, uint64_t vsize, const uint64_t *data,
          size_t n)
{
    uint64_t pos = 0;

    fmt_extents_init (m);
    m->size = vsize;
    for (size_t i = 0; i < n; i++) {
        if (data[i] > pos) {
            cr_assert_eq (fmt_extents_add_zero (m, pos, data[i] - pos), 0);
        }
        cr_assert_eq (fmt_extents_add_data (m, data[i], 64 * MiB, 0, data[i]),
                      0);
        pos = data[i] + 64 * MiB;
    }
    if (pos < vsize) {
        cr_assert_eq (fmt_extents_add_zero (m, pos, vsize - pos), 0);
    }
    cr_assert_eq (fmt_extents_check (m), 0, "%s", vmshift_get_error ());
}

static void
plan (struct fmt_layout *lay, const struct fmt_extent_list *m, uint32_t bs)
{
    struct fmt_source_info si = { .virtual_size = m->size };
    struct fmt_plan_opts o = {
        .block_size = bs, .target_name = "t.vhdx",
        .clone_align = 4096, .creator = "test",
    };

    fmt_layout_init (lay);
    cr_assert_eq (vhdx_plan (&si, m, &o, lay), 0, "%s", vmshift_get_error ());
    cr_assert_eq (fmt_layout_check (lay), 0, "%s", vmshift_get_error ());
}

static const struct fmt_blob *
bat_blob (const struct fmt_layout *lay)
{
    for (size_t i = 0; i < lay->out[0].blobs.len; i++) {
        if (strcmp (lay->out[0].blobs.ptr[i].what, "vhdx BAT") == 0) {
            return &lay->out[0].blobs.ptr[i];
        }
    }
    cr_assert_fail ("no BAT blob");
    return NULL;
}

/* Every declared run of the BAT repeats with its period, and all runs
 * (one pattern) hold the first run's bytes at equal phases (read through
 * the generator in 1 MiB pieces, as the executor would). */
static void
expect_runs_repeat (const struct fmt_layout *lay)
{
    const struct fmt_blob *b = bat_blob (lay);
    uint8_t *buf = malloc (FMT_GEN_CHUNK), *ref = NULL;

    cr_assert_not_null (buf);
    for (size_t i = 0; i < lay->out[0].repeats.len; i++) {
        const struct fmt_repeat *rp = &lay->out[0].repeats.ptr[i];
        uint64_t rel = rp->off - b->off;

        cr_assert_geq (rp->off, b->off);
        cr_assert_leq (rel + rp->len, b->len);
        cr_assert_geq (rp->len, 2 * rp->period);
        cr_assert_eq (rp->pattern, 1);
        cr_assert_eq (rp->period, lay->out[0].repeats.ptr[0].period);
        if (i == 0) {
            ref = malloc (rp->period);
            cr_assert_not_null (ref);
            cr_assert_eq (fmt_blob_read (b, rel, ref, rp->period), 0);
        }
        for (uint64_t d = 0; d < rp->len;) {
            size_t n = rp->len - d > FMT_GEN_CHUNK ? FMT_GEN_CHUNK
                                                   : (size_t) (rp->len - d);

            cr_assert_eq (fmt_blob_read (b, rel + d, buf, n), 0);
            for (size_t k = 0; k < n; k++) {
                if (buf[k] != ref[(d + k) % rp->period]) {
                    cr_assert_fail ("run %zu at %llu: byte %llu is %u, %u "
                                    "one period earlier", i,
                                    (unsigned long long) rp->off,
                                    (unsigned long long) (d + k), buf[k],
                                    ref[(d + k) % rp->period]);
                }
            }
            d += n;
        }
    }
    free (buf);
    free (ref);
}

/* runs[] in chunks: [first, end) pairs */
static void
expect_runs (const struct fmt_layout *lay, uint32_t bs, const uint64_t *runs,
             size_t n)
{
    uint64_t cr = (UINT64_C (1) << 23) * 512 / bs, period = 8 * (cr + 1);

    cr_assert_eq (lay->out[0].repeats.len, n, "%zu runs, want %zu",
                  lay->out[0].repeats.len, n);
    for (size_t i = 0; i < n; i++) {
        const struct fmt_repeat *rp = &lay->out[0].repeats.ptr[i];

        cr_expect_eq (rp->period, period);
        cr_expect_eq (rp->off, BAT_OFF + runs[2 * i] * period,
                      "run %zu at %llu", i, (unsigned long long) rp->off);
        cr_expect_eq (rp->len, (runs[2 * i + 1] - runs[2 * i]) * period,
                      "run %zu of %llu bytes", i, (unsigned long long) rp->len);
    }
}

Test (exec_repeat, layout_rules)
{
    struct fmt_layout lay;
    uint8_t blob[64 << 10];

    memset (blob, 7, sizeof blob);
    fmt_layout_init (&lay);
    cr_assert_eq (fmt_layout_add_output (&lay, "x", FMT_OUT_MAIN), 0);
    lay.out[0].file_size = 1 * MiB;
    cr_assert_eq (fmt_layout_add_bytes (&lay, 0, 4096, blob, sizeof blob,
                                        FMT_PHASE_META, "b"), 0);
    /* shorter than two periods: not recorded */
    cr_assert_eq (fmt_layout_add_repeat (&lay, 0, 4096, 100, 51, 0), 0);
    cr_expect_eq (lay.out[0].repeats.len, 0);
    cr_assert_eq (fmt_layout_add_repeat (&lay, 0, 4096, 1000, 10, 0), 0);
    cr_expect_eq (fmt_layout_check (&lay), 0);
    /* overlapping the first */
    cr_assert_eq (fmt_layout_add_repeat (&lay, 0, 4096 + 500, 1000, 10, 0),
                  0);
    cr_expect_eq (fmt_layout_check (&lay), -EINVAL);
    lay.out[0].repeats.len = 1;
    /* past the blob */
    cr_assert_eq (fmt_layout_add_repeat (&lay, 0, 60 << 10, 16 << 10, 8, 0),
                  0);
    cr_expect_eq (fmt_layout_check (&lay), -EINVAL);
    cr_expect (strstr (vmshift_get_error (), "not inside one blob") != NULL,
               "%s", vmshift_get_error ());
    lay.out[0].repeats.len = 1;
    /* before any blob */
    cr_assert_eq (fmt_layout_add_repeat (&lay, 0, 0, 64, 8, 0), 0);
    cr_expect_eq (fmt_layout_check (&lay), -EINVAL);
    fmt_layout_release (&lay);
}

/* The runs the VHDX planner declares, and that each really repeats. */
Test (exec_repeat, vhdx_bat_runs)
{
    static const struct {
        uint64_t vsize;
        uint32_t bs;
        uint64_t data[3];
        size_t ndata;
        uint64_t runs[4];       /* chunk pairs */
        size_t nruns;
    } c[] = {
        /* thin 64 TiB, data in chunk 0: chunks 1..16383 */
        { 64 * TiB, 32 << 20, { 0 }, 1, { 1, 16384 }, 1 },
        { 64 * TiB, 256 << 20, { 0 }, 1, { 1, 16384 }, 1 },
        { 64 * TiB, 4 << 20, { 0 }, 1, { 1, 16384 }, 1 },
        /* no data at all: every chunk */
        { 64 * TiB, 32 << 20, { 0 }, 0, { 0, 16384 }, 1 },
        /* data in chunk 5 and at the very end: two runs, the last
         * chunk is not in any */
        { 64 * TiB, 32 << 20, { 5 * CHUNK_SPAN + 3 * MiB,
                                64 * TiB - 64 * MiB }, 2,
          { 0, 5, 6, 16383 }, 2 },
        /* data across a chunk edge: chunks 2 and 3 hold data */
        { 1 * TiB, 1 << 20, { 3 * CHUNK_SPAN - 32 * MiB }, 1,
          { 0, 2, 4, 256 }, 2 },
        /* 1 TiB + 3 MiB: the last chunk is partial (unused entries are
         * 0, not ZERO) and is left out */
        { 1 * TiB + 3 * MiB, 32 << 20, { 0 }, 1, { 1, 256 }, 1 },
        /* a single hole chunk between data: no run (one period) */
        { 16 * GiB, 32 << 20, { 0, 2 * CHUNK_SPAN }, 2, { 0 }, 0 },
    };

    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        struct fmt_extent_list m;
        struct fmt_layout lay;

        thin_map (&m, c[i].vsize, c[i].data, c[i].ndata);
        plan (&lay, &m, c[i].bs);
        expect_runs (&lay, c[i].bs, c[i].runs, c[i].nruns);
        expect_runs_repeat (&lay);
        fmt_layout_release (&lay);
        fmt_extents_release (&m);
    }
}

Test (exec_repeat, vhdx_fixed_has_no_runs)
{
    struct fmt_source_info si = { .virtual_size = 64 * GiB };
    struct fmt_plan_opts o = {
        .target_name = "t.vhdx", .clone_align = 4096, .vhdx_fixed = true,
    };
    struct fmt_extent_list m;
    struct fmt_layout lay;

    thin_map (&m, 64 * GiB, NULL, 0);
    fmt_layout_init (&lay);
    cr_assert_eq (vhdx_plan (&si, &m, &o, &lay), 0, "%s", vmshift_get_error ());
    cr_expect_eq (lay.out[0].repeats.len, 0);
    fmt_layout_release (&lay);
    fmt_extents_release (&m);
}

/* vhdx_not_present: the same BAT but every ZERO entry (2) is 0, and no
 * run is declared (chunks of holes are zeros the executor skips).  Read
 * through the generator in pieces that start and end inside entries. */
Test (exec_repeat, vhdx_not_present_bat)
{
    static const struct {
        uint64_t vsize;
        uint32_t bs;
        uint64_t data[2];
        size_t ndata;
    } c[] = {
        { 64 * TiB, 32 << 20, { 0 }, 1 },
        { 64 * TiB, 32 << 20, { 0 }, 0 },
        { 64 * TiB, 32 << 20, { 5 * CHUNK_SPAN + 3 * MiB,
                                64 * TiB - 64 * MiB }, 2 },
        { 1 * TiB, 1 << 20, { 3 * CHUNK_SPAN - 32 * MiB }, 1 },
        { 1 * TiB + 3 * MiB, 32 << 20, { 0, TiB - 61 * MiB }, 2 },
    };
    uint8_t *a = malloc (FMT_GEN_CHUNK), *b = malloc (FMT_GEN_CHUNK);

    cr_assert (a && b);
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        struct fmt_source_info si = { .virtual_size = c[i].vsize };
        struct fmt_plan_opts o = {
            .block_size = c[i].bs, .target_name = "t.vhdx",
            .clone_align = 4096, .creator = "test", .vhdx_not_present = true,
        };
        struct fmt_extent_list m;
        struct fmt_layout zl, nl;
        const struct fmt_blob *zb, *nb;
        uint64_t zeros = 0, present = 0, step = 0;

        thin_map (&m, c[i].vsize, c[i].data, c[i].ndata);
        plan (&zl, &m, c[i].bs);
        fmt_layout_init (&nl);
        cr_assert_eq (vhdx_plan (&si, &m, &o, &nl), 0, "%s",
                      vmshift_get_error ());
        cr_assert_eq (fmt_layout_check (&nl), 0, "%s", vmshift_get_error ());
        cr_expect_eq (nl.out[0].repeats.len, 0);
        cr_expect_str_eq (nl.unallocated, "not-present");
        cr_expect_str_eq (zl.unallocated, "zero");
        zb = bat_blob (&zl);
        nb = bat_blob (&nl);
        cr_assert_eq (zb->len, nb->len);
        for (uint64_t off = 0, it = 0; off < zb->len; off += step, it++) {
            /* pieces of 1 MiB - 5 and 4093 bytes: entries cut at both
             * ends */
            step = it % 2 ? 4093 : FMT_GEN_CHUNK - 5;
            step = step > zb->len - off ? zb->len - off : step;
            cr_assert_eq (fmt_blob_read (zb, off, a, (size_t) step), 0);
            cr_assert_eq (fmt_blob_read (nb, off, b, (size_t) step), 0);
            for (uint64_t k = 0; k < step; k++) {
                uint64_t at = off + k;

                /* byte 0 of an entry holds its state (bits 0-2); ZERO
                 * is 2 then seven 0 bytes, FULLY_PRESENT 6 */
                if (at % 8 == 0 && a[k] == VHDX_STATE_ZERO) {
                    zeros++;
                    cr_assert_eq (b[k], 0, "case %zu: entry %llu is %u", i,
                                  (unsigned long long) (at / 8), b[k]);
                    continue;
                }
                present += at % 8 == 0 && a[k] == VHDX_STATE_PRESENT;
                cr_assert_eq (b[k], a[k], "case %zu: byte %llu: %u, %u "
                              "with ZERO", i, (unsigned long long) at, b[k],
                              a[k]);
            }
        }
        cr_expect_gt (zeros, 0, "case %zu: no ZERO entry to compare", i);
        cr_expect_eq (present > 0, c[i].ndata > 0, "case %zu", i);
        fmt_layout_release (&zl);
        fmt_layout_release (&nl);
        fmt_extents_release (&m);
    }
    free (a);
    free (b);
}

enum mode { CLONE, NO_CLONE, REFUSE_FIRST, REFUSE_THIRD, FAIL_EIO };

/* Execute the BAT of the plan alone (a file of 3 MiB + the BAT: the
 * whole 64 TiB file does not fit the memory backend) and compare the
 * file with the blob. */
static void
run_bat (const struct fmt_layout *full, enum mode mode, uint64_t *cloned,
         uint64_t *written)
{
    const struct fmt_blob *b = bat_blob (full);
    struct backend *be = be_fault_new (NULL, be_mem_new (NULL));
    struct exec_stats st = { 0 };
    struct fmt_layout lay;
    struct be_file *f;
    struct exec x;
    uint8_t *want = malloc (b->len), *got = malloc (b->len);
    int r;

    cr_assert (be && want && got);
    cr_assert_eq (backend_mkdir (be, "d"), 0);
    fmt_layout_init (&lay);
    cr_assert_eq (fmt_layout_add_output (&lay, "bat.bin", FMT_OUT_MAIN), 0);
    lay.out[0].file_size = b->off + b->len;
    cr_assert_eq (fmt_layout_add_gen (&lay, 0, b->off, b->len, b->gen, b->ctx,
                                      FMT_PHASE_META, "vhdx BAT"), 0);
    for (size_t i = 0; i < full->out[0].repeats.len; i++) {
        const struct fmt_repeat *rp = &full->out[0].repeats.ptr[i];

        cr_assert_eq (fmt_layout_add_repeat (&lay, 0, rp->off, rp->len,
                                             rp->period, rp->pattern), 0);
    }
    cr_assert_eq (fmt_layout_check (&lay), 0);
    if (mode == REFUSE_FIRST || mode == REFUSE_THIRD) {
        be_fault_set (be, BE_OP_CLONE, mode == REFUSE_FIRST ? 1 : 3,
                      EOPNOTSUPP, false);
    } else if (mode == FAIL_EIO) {
        be_fault_set (be, BE_OP_CLONE, 2, EIO, false);
    }
    cr_assert_eq (vs_exec_begin (&x, be, "d", &lay, NULL), 0, "%s",
                  vmshift_get_error ());
    r = vs_exec_write (&x, &lay, NULL, mode != NO_CLONE, &st);
    if (mode == FAIL_EIO) {
        /* an I/O error is not "cannot clone here": the run fails */
        cr_expect_eq (r, -EIO, "%d %s", r, vmshift_get_error ());
        cr_expect (be_fault_fired (be));
        vs_exec_release (&x);
        goto out;
    }
    cr_assert_eq (r, 0, "%s", vmshift_get_error ());
    cr_assert_eq (vs_exec_commit (&x, false), 0, "%s", vmshift_get_error ());
    vs_exec_release (&x);

    cr_assert_eq (fmt_blob_read (b, 0, want, b->len), 0);
    cr_assert_eq (backend_open (be, "d/bat.bin", BE_RDONLY, &f), 0);
    cr_assert_eq (backend_pread (f, got, b->len, b->off), 0);
    backend_close (f);
    cr_expect_eq (memcmp (got, want, b->len), 0, "mode %d: the BAT differs "
                  "from the blob", mode);
    cr_expect_eq (st.bytes_metadata_logical, b->len);
    cr_expect_leq (st.bytes_metadata + st.bytes_metadata_cloned, b->len);
    *cloned = st.bytes_metadata_cloned;
    *written = st.bytes_metadata;
out:
    fmt_layout_release (&lay);
    backend_free (be);
    free (want);
    free (got);
}

Test (exec_repeat, executor_clones_runs_to_the_byte)
{
    static const struct {
        uint64_t vsize;
        uint32_t bs;
        uint64_t data[4];
        size_t ndata;
        bool clones;            /* long enough to clone */
        uint64_t max_written;   /* when cloned (0: not checked) */
    } c[] = {
        /* one 516 KiB period written, a few KiB of ragged ends and of
         * chunks that hold data */
        { 64 * TiB, 32 << 20, { 0 }, 1, true, 528384 + 8 * 4096 },
        { 64 * TiB, 256 << 20, { 0 }, 1, true, 0 },
        { 64 * TiB, 8 << 20, { 0 }, 1, true, 0 },
        /* two runs: the second's period is cloned from the first */
        { 64 * TiB, 32 << 20, { 5 * CHUNK_SPAN + 3 * MiB,
                                64 * TiB - 64 * MiB }, 2, true,
          528384 + 8 * 4096 },
        /* data in 4 places, as vmshift bench makes its disks: 4 runs */
        { 64 * TiB, 32 << 20, { 0, 16 * TiB, 32 * TiB, 48 * TiB }, 4,
          true, 528384 + 16 * 4096 },
        { 64 * TiB, 32 << 20, { 0 }, 0, true, 528384 + 4 * 4096 },
        /* 1 TiB at 32 MiB: a 260 KiB BAT, shorter than two 516 KiB
         * aligned periods: written as before */
        { 1 * TiB, 32 << 20, { 0 }, 1, false, 0 },
        { 1 * TiB, 256 << 20, { 0 }, 1, false, 0 },
        { 1 * TiB + 3 * MiB, 2 << 20, { 0 }, 1, false, 0 },
    };

    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        struct fmt_extent_list m;
        struct fmt_layout lay;
        uint64_t cloned = 0, written = 0;

        thin_map (&m, c[i].vsize, c[i].data, c[i].ndata);
        plan (&lay, &m, c[i].bs);
        run_bat (&lay, CLONE, &cloned, &written);
        if (c[i].clones) {
            /* all but a few periods */
            cr_expect_gt (cloned, bat_blob (&lay)->len / 2, "case %zu: "
                          "%llu cloned", i, (unsigned long long) cloned);
        } else {
            cr_expect_eq (cloned, 0, "case %zu", i);
        }
        if (c[i].max_written) {
            cr_expect_leq (written, c[i].max_written, "case %zu: %llu "
                           "written", i, (unsigned long long) written);
        }
        run_bat (&lay, NO_CLONE, &cloned, &written);
        cr_expect_eq (cloned, 0, "case %zu without clone", i);
        if (c[i].clones) {
            run_bat (&lay, REFUSE_FIRST, &cloned, &written);
            cr_expect_eq (cloned, 0, "case %zu, refused", i);
            run_bat (&lay, REFUSE_THIRD, &cloned, &written);
            cr_expect_gt (cloned, 0, "case %zu, refused later", i);
            run_bat (&lay, FAIL_EIO, &cloned, &written);
        }
        fmt_layout_release (&lay);
        fmt_extents_release (&m);
    }
}

/* A repeated run that starts and ends off the 4 KiB grid, with a
 * period that is not a divisor or multiple of 4 KiB, between other
 * bytes of the same blob: the aligned part is cloned, the ragged ends
 * and the neighbours are written, and the file is the blob. */
Test (exec_repeat, unaligned_run_in_a_blob)
{
    const uint64_t off = 8192 + 100, len = 6 * MiB + 777, period = 3000;
    const uint64_t roff = off + 5000, rlen = 4 * MiB + 333;
    uint8_t *blob = malloc (len), *got = malloc (len);
    struct backend *be = be_mem_new (NULL);
    struct exec_stats st = { 0 };
    struct fmt_layout lay;
    struct be_file *f;
    struct exec x;

    cr_assert (blob && got && be);
    cr_assert_eq (backend_mkdir (be, "d"), 0);
    for (uint64_t i = 0; i < len; i++) {
        blob[i] = (uint8_t) (i * 131 + 7);
    }
    for (uint64_t i = roff - off; i < roff - off + rlen; i++) {
        blob[i] = (uint8_t) (((i - (roff - off)) % period) * 13 + 1);
    }
    fmt_layout_init (&lay);
    cr_assert_eq (fmt_layout_add_output (&lay, "u.bin", FMT_OUT_MAIN), 0);
    lay.out[0].file_size = off + len + 4096;
    cr_assert_eq (fmt_layout_add_bytes (&lay, 0, off, blob, len,
                                        FMT_PHASE_META, "blob"), 0);
    cr_assert_eq (fmt_layout_add_repeat (&lay, 0, roff, rlen, period, 0), 0);
    cr_assert_eq (fmt_layout_check (&lay), 0);
    cr_assert_eq (vs_exec_begin (&x, be, "d", &lay, NULL), 0, "%s",
                  vmshift_get_error ());
    cr_assert_eq (vs_exec_write (&x, &lay, NULL, true, &st), 0, "%s",
                  vmshift_get_error ());
    cr_assert_eq (vs_exec_commit (&x, false), 0, "%s", vmshift_get_error ());
    vs_exec_release (&x);
    cr_assert_eq (backend_open (be, "d/u.bin", BE_RDONLY, &f), 0);
    cr_assert_eq (backend_pread (f, got, len, off), 0);
    backend_close (f);
    cr_expect_eq (memcmp (got, blob, len), 0, "the file differs from the "
                  "blob");
    /* lcm (3000, 4096) = 1536000: of the aligned 4 MiB of the run, one
     * such period is written and the rest cloned */
    cr_expect_gt (st.bytes_metadata_cloned, 0);
    cr_expect_eq (st.bytes_metadata_cloned % 4096, 0);
    cr_expect_eq (st.bytes_metadata_logical, len);
    cr_expect_eq (st.bytes_metadata + st.bytes_metadata_cloned, len);
    fmt_layout_release (&lay);
    backend_free (be);
    free (blob);
    free (got);
}

/* Three runs of one period (3000 bytes, not a divisor of 4 KiB): two of
 * pattern 1 at different phases against the 4 KiB grid, then one of
 * pattern 2 with other bytes.  The second run's first aligned period is
 * cloned from the first run at the right phase, the third's is written
 * (another pattern), and the file is the blob. */
Test (exec_repeat, runs_of_one_pattern_clone_each_other)
{
    const uint64_t off = 8192 + 100, period = 3000;
    const uint64_t q = 1536000;         /* lcm (3000, 4096) */
    /* the first two equal modulo 8 (gcd (3000, 4096)): on the 4 KiB
     * grid the first run has every phase the second needs */
    const uint64_t roff[3] = { off + 5000, off + 5000 + 4 * MiB + 1232,
                               off + 5000 + 8 * MiB + 5000 };
    const uint64_t rlen[3] = { 4 * MiB, 4 * MiB - 777, 4 * MiB + 55 };
    const uint32_t pat[3] = { 1, 1, 2 };
    const uint64_t len = 13 * MiB;
    uint8_t *blob = malloc (len), *got = malloc (len);
    struct backend *be = be_mem_new (NULL);
    struct exec_stats st = { 0 };
    struct fmt_layout lay;
    struct be_file *f;
    struct exec x;
    uint64_t want_cloned = 0;

    cr_assert (blob && got && be);
    cr_assert_eq (backend_mkdir (be, "d"), 0);
    for (uint64_t i = 0; i < len; i++) {
        blob[i] = (uint8_t) (i * 131 + 7);
    }
    fmt_layout_init (&lay);
    cr_assert_eq (fmt_layout_add_output (&lay, "p.bin", FMT_OUT_MAIN), 0);
    lay.out[0].file_size = off + len + 4096;
    for (int r = 0; r < 3; r++) {
        uint64_t a = (roff[r] + 4095) / 4096 * 4096;
        uint64_t e = (roff[r] + rlen[r]) / 4096 * 4096;

        cr_assert_leq (roff[r] + rlen[r], off + len);
        for (uint64_t i = 0; i < rlen[r]; i++) {
            blob[roff[r] - off + i] = (uint8_t) ((i % period) * (pat[r] == 1
                                                                 ? 13 : 29)
                                                 + pat[r]);
        }
        cr_assert_eq (fmt_layout_add_repeat (&lay, 0, roff[r], rlen[r],
                                             period, pat[r]), 0);
        cr_assert_geq (e - a, 2 * q);
        /* the second run: all of its aligned part; the others: all but
         * the period written */
        want_cloned += r == 1 ? e - a : e - a - q;
    }
    cr_assert_eq (fmt_layout_add_bytes (&lay, 0, off, blob, len,
                                        FMT_PHASE_META, "blob"), 0);
    cr_assert_eq (fmt_layout_check (&lay), 0, "%s", vmshift_get_error ());
    cr_assert_eq (vs_exec_begin (&x, be, "d", &lay, NULL), 0, "%s",
                  vmshift_get_error ());
    cr_assert_eq (vs_exec_write (&x, &lay, NULL, true, &st), 0, "%s",
                  vmshift_get_error ());
    cr_assert_eq (vs_exec_commit (&x, false), 0, "%s", vmshift_get_error ());
    vs_exec_release (&x);
    cr_assert_eq (backend_open (be, "d/p.bin", BE_RDONLY, &f), 0);
    cr_assert_eq (backend_pread (f, got, len, off), 0);
    backend_close (f);
    for (uint64_t i = 0; i < len; i++) {
        if (got[i] != blob[i]) {
            cr_assert_fail ("the file differs from the blob at %llu",
                            (unsigned long long) (off + i));
        }
    }
    cr_expect_eq (st.bytes_metadata_cloned, want_cloned, "%llu cloned, "
                  "want %llu", (unsigned long long) st.bytes_metadata_cloned,
                  (unsigned long long) want_cloned);
    cr_expect_eq (st.bytes_metadata + st.bytes_metadata_cloned, len);
    fmt_layout_release (&lay);
    backend_free (be);
    free (blob);
    free (got);
}
