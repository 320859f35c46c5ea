/* The executor's side of a conversion whose steps a caller journals
 * (engine/convert.h, docs/internals/ontap-flow.md "Steps journalled by
 * the caller"), on the in-memory backend behind the fault filter (which
 * counts clone calls):
 * - the intent is called with the temporaries' names before any exists;
 * - temporaries a killed process left are adopted by a later one with
 *   the same run ID: its lease is taken over, the recovery keeps them,
 *   no clone is sent again when the data is in place, the metadata is
 *   written whole (an earlier plan's bytes in its zero blocks go);
 * - vs_exec_clones_present tells data in place from data missing (never
 *   cloned, or only the first of two ranges, or not even sized), and
 *   does not take zeros for proof;
 * - a publish journal an earlier process of the run left is replayed,
 *   its temporaries are not. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/backend/backend.h"
#include "engine/base/error.h"
#include "engine/base/log.h"
#include "engine/exec/beio.h"
#include "engine/exec/exec.h"
#include "engine/exec/owner.h"
#include "engine/vmshift.h"
#include "formats/formats.h"

#define KiB ((uint64_t) 1 << 10)
#define SRC_SIZE (256 * KiB)
#define META_OFF (512 * KiB)
#define META_LEN (8 * KiB)

static const char run_id[] = "0123456789abcdef0123456789abcdef";

static struct backend *
mem_with_source (bool zeros)
{
    struct backend *be = be_fault_new (NULL, be_mem_new (NULL));
    struct be_file *f;
    uint8_t *b = malloc (SRC_SIZE);

    cr_assert (be && b);
    for (size_t i = 0; i < SRC_SIZE; i++) {
        b[i] = zeros ? 0 : (uint8_t) (i * 7 + 3);
    }
    cr_assert_eq (backend_mkdir (be, "d"), 0);
    cr_assert_eq (backend_open (be, "src.bin", BE_RDWR | BE_CREATE, &f), 0);
    cr_assert_eq (backend_pwrite (f, b, SRC_SIZE, 0), 0);
    backend_close (f);
    free (b);
    return be;
}

static struct fmt_placement
place (uint64_t dst, uint64_t src)
{
    struct fmt_placement p = { .dst_off = dst, .src_off = src,
                               .len = SRC_SIZE / 2, .src_file = 0,
                               .kind = FMT_PLACE_CLONE };

    return p;
}

/* Output t.raw: two CLONE placements from the source (its two halves,
 * 1 MiB apart), and a META blob of a zero block then a non-zero one. */
static void
make_layout (struct fmt_layout *lay, uint8_t *meta)
{
    memset (meta, 0, META_LEN);
    memset (meta + 4 * KiB, 0x5a, 4 * KiB);
    fmt_layout_init (lay);
    cr_assert_eq (fmt_layout_add_output (lay, "t.raw", FMT_OUT_MAIN), 0);
    lay->out[0].file_size = 2048 * KiB;
    cr_assert_eq (fmt_placement_vec_append (&lay->out[0].place,
                                            place (0, 0)), 0);
    cr_assert_eq (fmt_placement_vec_append (&lay->out[0].place,
                                            place (1024 * KiB,
                                                   SRC_SIZE / 2)), 0);
    cr_assert_eq (fmt_layout_add_bytes (lay, 0, META_OFF, meta, META_LEN,
                                        FMT_PHASE_META, "meta"), 0);
}

static void
owner_fixed (struct vs_owner *o)
{
    cr_assert_eq (vs_owner_init (o, NULL), 0);
    memcpy (o->run, run_id, sizeof run_id);
}

struct seen {
    size_t calls;
    char names[FMT_MAX_OUTPUTS][128];
    int exists;                 /* whether tmp0 existed when called */
    struct backend *be;
};

static int
intent_cb (void *opaque, const struct exec *x)
{
    struct seen *s = opaque;

    s->calls++;
    for (size_t i = 0; i < x->nout; i++) {
        snprintf (s->names[i], sizeof s->names[i], "%s",
                  vs_path_basename (x->out[i].tmp_path));
    }
    s->exists = backend_exists (s->be, x->out[0].tmp_path);
    return 0;
}

/* What kill -9 leaves: the files stay, nothing is removed or renamed. */
static void
killed (struct exec *x)
{
    for (size_t i = 0; i < x->nout; i++) {
        backend_close (x->out[i].f);
        free (x->out[i].tmp_path);
        free (x->out[i].name);
        free (x->out[i].final_path);
    }
    free (x->dir);
    memset (x, 0, sizeof *x);
}

TestSuite (exec_steps);

Test (exec_steps, killed_then_adopted_without_cloning_again)
{
    struct backend *be = mem_with_source (false);
    struct fmt_layout lay;
    struct exec x;
    struct exec_stats st = { 0 };
    struct vs_owner o1, o2;
    struct beio *src;
    struct seen s = { .be = be };
    uint8_t meta[META_LEN], got[META_LEN], *a = malloc (SRC_SIZE),
            *b = malloc (SRC_SIZE);
    const char *adopt[1];
    char *p;
    struct be_file *f;

    cr_assert (a && b);
    make_layout (&lay, meta);
    cr_assert_eq (vs_beio_open (be, "src.bin", &src), 0, "%s",
                  vmshift_get_error ());

    /* the first process: intent, temporaries, data, then killed */
    owner_fixed (&o1);
    cr_assert_eq (vs_exec_begin_steps (&x, be, "d", &lay, &o1, NULL,
                                       intent_cb, &s, NULL), 0, "%s",
                  vmshift_get_error ());
    cr_expect_eq (s.calls, 1);
    cr_expect_eq (s.exists, 0, "the intent came after the temporary");
    cr_assert_eq (vs_exec_write (&x, &lay, src, true, &st), 0, "%s",
                  vmshift_get_error ());
    cr_expect_eq (be_fault_calls (be, BE_OP_CLONE), 1);
    /* an earlier plan's bytes where this plan's metadata has zeros */
    p = vs_path_join ("d", s.names[0]);
    cr_assert_eq (backend_open (be, p, BE_RDWR, &f), 0);
    memset (got, 0xee, 4 * KiB);
    cr_assert_eq (backend_pwrite (f, got, 4 * KiB, META_OFF), 0);
    backend_close (f);
    killed (&x);

    /* the next process of the same run (same run ID, its own owner) */
    owner_fixed (&o2);
    adopt[0] = s.names[0];
    memset (&st, 0, sizeof st);
    cr_assert_eq (vs_exec_begin_steps (&x, be, "d", &lay, &o2, adopt, NULL,
                                       NULL, NULL), 0, "%s",
                  vmshift_get_error ());
    cr_expect (x.adopted);
    cr_expect_eq (s.calls, 1, "an adoption journals no new intent");
    cr_assert_eq (vs_exec_clones_present (&x, &lay, src), 1, "%s",
                  vmshift_get_error ());
    x.clones_in_place = true;
    cr_assert_eq (vs_exec_write (&x, &lay, src, true, &st), 0, "%s",
                  vmshift_get_error ());
    cr_expect_eq (be_fault_calls (be, BE_OP_CLONE), 1,
                  "a clone was sent again");
    cr_expect_eq (st.bytes_cloned, SRC_SIZE);
    cr_expect_eq (st.bytes_metadata, META_LEN, "metadata not written whole");
    cr_assert_eq (vs_exec_commit (&x, false), 0, "%s", vmshift_get_error ());
    vs_exec_release (&x);

    cr_assert_eq (backend_open (be, "d/t.raw", BE_RDONLY, &f), 0);
    cr_assert_eq (backend_pread (f, got, META_LEN, META_OFF), 0);
    cr_expect_eq (memcmp (got, meta, META_LEN), 0, "metadata differs");
    cr_assert_eq (backend_pread (f, a, SRC_SIZE / 2, 0), 0);
    cr_assert_eq (backend_pread (f, a + SRC_SIZE / 2, SRC_SIZE / 2,
                                 1024 * KiB), 0);
    backend_close (f);
    cr_assert_eq (backend_open (be, "src.bin", BE_RDONLY, &f), 0);
    cr_assert_eq (backend_pread (f, b, SRC_SIZE, 0), 0);
    backend_close (f);
    cr_expect_eq (memcmp (a, b, SRC_SIZE), 0, "data differs");
    cr_expect_eq (backend_exists (be, p), 0, "the temporary is still there");

    free (p);
    vs_owner_release (&o1, NULL);
    vs_owner_release (&o2, be);
    vs_beio_close (src);
    fmt_layout_release (&lay);
    backend_free (be);
    free (a);
    free (b);
}

/* Data never cloned, or only the first of the two ranges: not in place;
 * all of it: in place.  A source of zeros proves nothing (a fresh file
 * reads zeros too) on a backend that cannot tell the space taken.  A
 * temporary not sized yet (killed right after its creation) is not in
 * place, and no error. */
Test (exec_steps, clones_present_only_when_all_are)
{
    for (int round = 0; round < 5; round++) {
        struct backend *be = mem_with_source (round == 3);
        struct fmt_layout lay;
        struct exec x;
        struct vs_owner o;
        struct beio *src;
        struct be_file *f;
        uint8_t meta[META_LEN], *d = malloc (SRC_SIZE);
        int want = round == 2 ? 1 : 0;

        make_layout (&lay, meta);
        cr_assert (d);
        cr_assert_eq (vs_beio_open (be, "src.bin", &src), 0);
        owner_fixed (&o);
        cr_assert_eq (vs_exec_begin_steps (&x, be, "d", &lay, &o, NULL, NULL,
                                           NULL, NULL), 0);
        if (round != 4) {
            cr_assert_eq (backend_truncate (x.out[0].f, 2048 * KiB), 0);
        }
        cr_assert_eq (backend_open (be, "src.bin", BE_RDONLY, &f), 0);
        cr_assert_eq (backend_pread (f, d, SRC_SIZE, 0), 0);
        backend_close (f);
        if (round >= 1 && round <= 3) {     /* the first range */
            cr_assert_eq (backend_pwrite (x.out[0].f, d, SRC_SIZE / 2, 0), 0);
        }
        if (round >= 2 && round <= 3) {     /* and the second */
            cr_assert_eq (backend_pwrite (x.out[0].f, d + SRC_SIZE / 2,
                                          SRC_SIZE / 2, 1024 * KiB), 0);
        }
        cr_expect_eq (vs_exec_clones_present (&x, &lay, src), want,
                      "round %d", round);
        vs_exec_release (&x);
        vs_owner_release (&o, be);
        vs_beio_close (src);
        fmt_layout_release (&lay);
        backend_free (be);
        free (d);
    }
}

/* A lease of our own run ID that an earlier process left is taken over
 * (rewritten), not refused: a resumed run keeps its ID. */
Test (exec_steps, own_lease_taken_over)
{
    struct backend *be = be_mem_new (NULL);
    struct vs_owner o1, o2;

    cr_assert (be);
    cr_assert_eq (backend_mkdir (be, "d"), 0);
    owner_fixed (&o1);
    cr_assert_eq (vs_owner_hold (&o1, be, "d"), 0);
    owner_fixed (&o2);
    cr_expect_eq (vs_owner_hold (&o2, be, "d"), 0, "%s", vmshift_get_error ());
    cr_expect_eq (vs_owner_run_gone (be, "d", run_id, NULL), 0);
    vs_owner_release (&o2, be);
    cr_expect_eq (backend_exists (be, "d/.vmshift."
                                  "0123456789abcdef0123456789abcdef.lease"),
                  0);
    vs_owner_release (&o1, NULL);
    backend_free (be);
}

static void
count_warnings (void *opaque, int level, const char *msg)
{
    (void) msg;
    if (level == LOG_WARN) {
        (*(int *) opaque)++;
    }
}

/* A lease that exists but is still empty (made, not yet written: another
 * thread of the same run is between the create and the write) keeps its
 * run alive without a warning; a lease with other text keeps it alive
 * with one. */
Test (exec_steps, empty_lease_alive_quietly)
{
    struct backend *be = be_mem_new (NULL);
    int warnings = 0;
    struct logger lg = { .fn = count_warnings, .opaque = &warnings };
    struct be_file *f;
    const char path[] = "d/.vmshift.0123456789abcdef0123456789abcdef.lease";

    cr_assert (be);
    cr_assert_eq (backend_mkdir (be, "d"), 0);
    cr_assert_eq (backend_open (be, path, BE_RDWR | BE_CREATE, &f), 0);
    backend_close (f);
    cr_expect_eq (vs_owner_run_gone (be, "d", run_id, &lg), 0);
    cr_expect_eq (warnings, 0, "an empty lease gave %d warnings", warnings);
    cr_assert_eq (backend_open (be, path, BE_RDWR, &f), 0);
    cr_assert_eq (backend_pwrite (f, "garbage\n", 8, 0), 0);
    backend_close (f);
    cr_expect_eq (vs_owner_run_gone (be, "d", run_id, &lg), 0);
    cr_expect_eq (warnings, 1, "an unreadable lease gave %d warnings",
                  warnings);
    backend_free (be);
}

/* A publish journal an earlier process of our run left (our run ID, its
 * PID in the name) when it was killed between publishing the new extent
 * and the descriptor: the recovery undoes it even though the run is
 * alive (its lease is ours now), and leaves the run's temporaries to the
 * journal. */
Test (exec_steps, own_dead_process_publish_undone)
{
    char dir[64], path[256], pub[128], tmp[128], h[9], text[512];
    struct backend *be = be_local_new (NULL);
    struct be_stat st = { .struct_size = sizeof st };
    struct vs_owner o;
    FILE *f;
    long dead = 1;

    snprintf (dir, sizeof dir, "/tmp/vmshift-exec-steps.XXXXXX");
    cr_assert_not_null (mkdtemp (dir));
    cr_assert (be);
    while (dead == (long) getpid ()) {
        dead++;
    }
    owner_fixed (&o);
    cr_assert_eq (vs_owner_hold (&o, be, dir), 0, "%s", vmshift_get_error ());
    /* the new extent, published under its final name; the descriptor
     * is still a temporary */
    snprintf (path, sizeof path, "%s/t-flat.vmdk", dir);
    f = fopen (path, "w");
    cr_assert (f);
    fputs ("extent", f);
    fclose (f);
    cr_assert_eq (backend_stat (be, path, BE_STAT_NOFOLLOW, &st), 0);
    vs_owner_name_hash ("t.vmdk", h);
    snprintf (tmp, sizeof tmp, ".vmshift.%s.%ld.%s.tmp0", h, dead, run_id);
    snprintf (pub, sizeof pub, ".vmshift.%s.%ld.%s.pub", h, dead, run_id);
    snprintf (path, sizeof path, "%s/%s", dir, tmp);
    f = fopen (path, "w");
    cr_assert (f);
    fputs ("descriptor", f);
    fclose (f);
    snprintf (text, sizeof text, "vmshift-publish 1\nmain 1 1 t.vmdk\n"
              "new %llu %llu t-flat.vmdk\n", (unsigned long long) st.fsid,
              (unsigned long long) st.fileid);
    snprintf (path, sizeof path, "%s/%s", dir, pub);
    f = fopen (path, "w");
    cr_assert (f);
    fputs (text, f);
    fclose (f);

    cr_assert_eq (vs_exec_recover (be, dir, "t.vmdk", NULL), 0, "%s",
                  vmshift_get_error ());
    snprintf (path, sizeof path, "%s/t-flat.vmdk", dir);
    cr_expect_eq (access (path, F_OK), -1, "the new extent was not removed");
    snprintf (path, sizeof path, "%s/%s", dir, pub);
    cr_expect_eq (access (path, F_OK), -1, "the publish journal stayed");
    snprintf (path, sizeof path, "%s/%s", dir, tmp);
    cr_expect_eq (access (path, F_OK), 0, "the run's temporary was removed");

    vs_owner_release (&o, be);
    backend_free (be);
    snprintf (path, sizeof path, "rm -rf '%s'", dir);
    cr_expect_eq (system (path), 0);
}
