/* The in-memory and fault filter backends, and the conversion pipeline
 * over them with every backend call it makes failed in turn: each
 * failure must leave no target and no temporary, and return the errno
 * that was injected (docs/internals/backends.md). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend/backend.h"
#include "engine/base/error.h"
#include "engine/convert.h"
#include "engine/exec/exec.h"
#include "engine/exec/result.h"
#include "engine/exec/verify.h"
#include "engine/handle.h"
#include "engine/vmshift.h"

static int
names_cb (void *opaque, const char *name)
{
    char *out = opaque;

    if (out[0]) {
        strcat (out, " ");
    }
    strcat (out, name);
    return 0;
}

/* Entries of dir, sorted. */
static void
list_sorted (struct backend *b, const char *dir, char *out, size_t n)
{
    char raw[2048] = "", *v[64], *save = NULL;
    size_t k = 0;

    cr_assert_eq (backend_list (b, dir, names_cb, raw), 0, "%s",
                  vmshift_get_error ());
    for (char *t = strtok_r (raw, " ", &save); t && k < 64;
         t = strtok_r (NULL, " ", &save)) {
        v[k++] = t;
    }
    for (size_t i = 1; i < k; i++) {
        for (size_t j = i; j > 0 && strcmp (v[j - 1], v[j]) > 0; j--) {
            char *tmp = v[j];

            v[j] = v[j - 1];
            v[j - 1] = tmp;
        }
    }
    out[0] = '\0';
    for (size_t i = 0; i < k; i++) {
        snprintf (out + strlen (out), n - strlen (out), "%s%s", i ? " " : "",
                  v[i]);
    }
}

static void
put (struct backend *b, const char *path, const void *data, size_t n,
     uint64_t size)
{
    struct be_file *f;

    cr_assert_eq (backend_open (b, path, BE_RDWR | BE_CREATE, &f), 0, "%s",
                  vmshift_get_error ());
    cr_assert_eq (backend_truncate (f, size), 0);
    cr_assert_eq (backend_pwrite (f, data, n, 0), 0);
    backend_close (f);
}

Test (mem, files_links_renames_identity)
{
    struct backend *b = be_mem_new (NULL);
    struct be_stat a = { .struct_size = sizeof a }, c = a;
    struct be_file *f;
    char buf[8], names[256];
    char *res = NULL;

    cr_assert_not_null (b);
    cr_assert_eq (backend_mkdir (b, "d"), 0);
    put (b, "./d//x", "hello", 5, 5);
    cr_expect_eq (backend_exists (b, "d/x"), 1);
    cr_expect_eq (backend_open (b, "d/x", BE_RDWR | BE_CREATE, &f), -EEXIST);
    cr_expect_eq (backend_open (b, "nodir/x", BE_RDWR | BE_CREATE, &f),
                  -ENOENT);
    cr_assert_eq (backend_link (b, "d/x", "d/y"), 0);
    cr_expect_eq (backend_link (b, "d/x", "d/y"), -EEXIST);
    cr_assert_eq (backend_stat (b, "d/x", 0, &a), 0);
    cr_assert_eq (backend_stat (b, "/d/y", 0, &c), 0);
    cr_expect (backend_same_file (&a, &c), "a link is the same file");
    cr_expect_eq (a.type, BE_TYPE_REG);
    cr_expect_eq (a.size, 5);
    cr_assert_eq (backend_unlink (b, "d/x"), 0);
    cr_assert_eq (backend_open (b, "d/y", BE_RDONLY, &f), 0);
    cr_assert_eq (backend_pread (f, buf, 5, 0), 0);
    cr_expect (memcmp (buf, "hello", 5) == 0);
    cr_expect_eq (backend_pread (f, buf, 2, 4), -EINVAL);
    backend_close (f);
    put (b, "d/z", "zz", 2, 2);
    cr_expect_eq (backend_rename (b, "d/y", "d/z", false), -EEXIST);
    cr_assert_eq (backend_rename (b, "d/y", "d/z", true), 0);
    list_sorted (b, "d", names, sizeof names);
    cr_expect_str_eq (names, "z");
    cr_assert_eq (backend_stat (b, "d/z", 0, &c), 0);
    cr_expect (backend_same_file (&a, &c), "rename keeps the identity");
    cr_assert_eq (backend_resolve (b, "./d/../d/z", &res) == 0 ||
                  backend_resolve (b, "d//z", &res) == 0, 1);
    cr_expect_str_eq (res, "d/z");
    free (res);
    backend_free (b);
}

Test (fault, nth_call_fails_with_the_errno_then_passes)
{
    struct backend *b = be_fault_new (NULL, be_mem_new (NULL));
    struct be_file *f;
    char buf[16] = "0123456789abcdef", got[16];

    cr_assert_not_null (b);
    put (b, "f", buf, 16, 16);
    be_fault_set (b, BE_OP_PREAD, 2, ENOSPC, false);
    cr_assert_eq (backend_open (b, "f", BE_RDWR, &f), 0);
    cr_expect_eq (backend_pread (f, got, 4, 0), 0);
    cr_expect_eq (backend_pread (f, got, 4, 0), -ENOSPC);
    cr_expect (strstr (vmshift_get_error (), "injected") != NULL, "%s",
               vmshift_get_error ());
    cr_expect (be_fault_fired (b));
    cr_expect_eq (backend_pread (f, got, 4, 0), 0);
    cr_expect_eq (be_fault_calls (b, BE_OP_PREAD), 3);
    /* torn write: half the bytes land, then the error */
    be_fault_set (b, BE_OP_PWRITE, 1, EIO, true);
    cr_expect_eq (backend_pwrite (f, "XXXXXXXX", 8, 0), -EIO);
    cr_assert_eq (backend_pread (f, got, 8, 0), 0);
    cr_expect (memcmp (got, "XXXX4567", 8) == 0, "%.8s", got);
    /* short transfers on the way in, whole transfers to the caller */
    be_fault_set (b, BE_OP_PWRITE, 0, 0, false);
    be_fault_set_max_io (b, 3);
    cr_expect_eq (backend_pwrite (f, "abcdefghij", 10, 2), 0);
    cr_assert_eq (backend_pread (f, got, 16, 0), 0);
    cr_expect (memcmp (got, "XXabcdefghijcdef", 16) == 0, "%.16s", got);
    backend_close (f);
    backend_free (b);
}

/* ---------------------------------------------------- the pipeline */

#define SRC_SIZE (1u << 20)

/* A raw source with data in two places, in directory "d". */
static struct backend *
pipeline_backend (void)
{
    struct backend *b = be_fault_new (NULL, be_mem_new (NULL));
    uint8_t *data = calloc (1, SRC_SIZE);
    struct be_file *f;

    cr_assert_not_null (b);
    cr_assert_not_null (data);
    for (size_t i = 0; i < 8192; i++) {
        data[i] = (uint8_t) (i * 13 + 1);
        data[SRC_SIZE / 2 + i] = (uint8_t) (i * 7 + 3);
    }
    cr_assert_eq (backend_mkdir (b, "d"), 0);
    cr_assert_eq (backend_open (b, "d/src.raw", BE_RDWR | BE_CREATE, &f), 0);
    cr_assert_eq (backend_pwrite (f, data, SRC_SIZE, 0), 0);
    backend_close (f);
    free (data);
    return b;
}

static int
run_convert_from (struct vmshift_handle *h, struct backend *b,
                  const char *source, const char *target, bool verify,
                  bool force)
{
    struct vmshift_convert_opts o;
    struct convert_ctx c;
    int r;

    vmshift_convert_opts_init (&o);
    o.verify = verify;
    o.force = force;
    o.cluster_size = 65536;
    vs_convert_ctx_init (&c);
    c.h = h;
    c.o = &o;
    c.source = c.src_path = source;
    c.target = c.dst_path = target;
    c.src_be = c.dst_be = b;
    c.res = vs_result_new ();
    cr_assert_not_null (c.res);
    clear_error ();
    r = vs_convert_pipeline (&c);
    vs_convert_ctx_release (&c);
    vmshift_result_free (c.res);
    return r;
}

static int
run_convert (struct vmshift_handle *h, struct backend *b, const char *target,
             bool verify)
{
    return run_convert_from (h, b, "d/src.raw", target, verify, false);
}

/* Ops the pipeline calls; each is failed at its 1st, 2nd, ... call until
 * a run goes through without reaching the fault. */
static const enum be_op pipeline_ops[] = {
    BE_OP_OPEN, BE_OP_GET_SIZE, BE_OP_PREAD, BE_OP_PWRITE, BE_OP_FLUSH,
    BE_OP_TRUNCATE, BE_OP_RENAME, BE_OP_UNLINK, BE_OP_EXISTS, BE_OP_LIST,
    BE_OP_CLONE, BE_OP_STAT, BE_OP_RESOLVE, BE_OP_LINK,
};

/* Let the next run's recovery tidy up, then remove the target. */
static void
recover_and_remove (struct backend *b, const char *target,
                    const char *final_names)
{
    cr_assert_eq (vs_exec_recover (b, "d", strrchr (target, '/') + 1, NULL),
                  0, "%s", vmshift_get_error ());
    for (const char *t = final_names; *t;) {
        const char *sp = strchr (t, ' ');
        char nm[128];

        snprintf (nm, sizeof nm, "d/%.*s",
                  (int) (sp ? sp - t : (long) strlen (t)), t);
        cr_assert_eq (backend_unlink (b, nm), 0, "%s", nm);
        t = sp ? sp + 1 : t + strlen (t);
    }
}

static void
every_failure_leaves_nothing (const char *target, const char *final_names,
                              bool verify)
{
    struct vmshift_handle *h = vmshift_new ();
    struct backend *b = pipeline_backend ();
    unsigned failures = 0;
    char names[1024];
    char want[256];

    snprintf (want, sizeof want, "%s", "src.raw");
    for (size_t k = 0; k < sizeof pipeline_ops / sizeof pipeline_ops[0]; k++) {
        enum be_op op = pipeline_ops[k];
        int err = op == BE_OP_PWRITE ? ENOSPC : EIO;

        for (uint64_t n = 1; n < 10000; n++) {
            int r;

            be_fault_set (b, op, n, err, op == BE_OP_PWRITE);
            r = run_convert (h, b, target, verify);
            if (!be_fault_fired (b)) {
                cr_assert_eq (r, 0, "%s: no fault, yet: %s", be_op_name (op),
                              vmshift_get_error ());
                be_fault_set (b, op, 0, 0, false);
                recover_and_remove (b, target, final_names);
                break;
            }
            failures++;
            if (r == 0) {
                /* a fault in the tidying after the commit: the target is
                 * complete, and what was left the next run removes */
                cr_expect (op == BE_OP_UNLINK || op == BE_OP_OPEN ||
                           op == BE_OP_PWRITE || op == BE_OP_FLUSH ||
                           op == BE_OP_STAT, "%s call %llu: success",
                           be_op_name (op), (unsigned long long) n);
                be_fault_set (b, op, 0, 0, false);
                recover_and_remove (b, target, final_names);
                list_sorted (b, "d", names, sizeof names);
                cr_expect_str_eq (names, want, "%s call %llu (after the "
                                  "commit) left: %s", be_op_name (op),
                                  (unsigned long long) n, names);
                continue;
            }
            cr_expect_eq (r, -err, "%s call %llu: returned %d (%s)",
                          be_op_name (op), (unsigned long long) n, r,
                          vmshift_get_error ());
            cr_expect (strstr (vmshift_get_error (), "injected") != NULL,
                       "%s call %llu: the message lost the cause: %s",
                       be_op_name (op), (unsigned long long) n,
                       vmshift_get_error ());
            {
                /* the class says which side failed: a failure to write,
                 * publish or share into the target is the target's; no
                 * failure goes unclassified */
                struct vmshift_error_info ei;
                bool target_op = op == BE_OP_PWRITE || op == BE_OP_FLUSH ||
                                 op == BE_OP_TRUNCATE || op == BE_OP_RENAME ||
                                 op == BE_OP_LINK;

                vmshift_error_info_init (&ei);
                cr_assert_eq (vmshift_get_error_info (&ei), 0);
                cr_expect_neq (ei.error_class, VMSHIFT_ERROR_UNKNOWN,
                               "%s call %llu: no error class: %s",
                               be_op_name (op), (unsigned long long) n,
                               vmshift_get_error ());
                cr_expect (!target_op ||
                           ei.error_class == VMSHIFT_ERROR_TARGET,
                           "%s call %llu: class %d, not target: %s",
                           be_op_name (op), (unsigned long long) n,
                           (int) ei.error_class, vmshift_get_error ());
            }
            be_fault_set (b, op, 0, 0, false);
            list_sorted (b, "d", names, sizeof names);
            cr_expect_str_eq (names, want, "%s call %llu left: %s",
                              be_op_name (op), (unsigned long long) n, names);
            if (strcmp (names, want) != 0) {
                break;          /* one report per op is enough */
            }
        }
    }
    cr_expect_gt (failures, 20, "only %u failure points reached", failures);
    backend_free (b);
    vmshift_free (h);
}

Test (pipeline_faults, raw_to_vmdk_two_outputs, .timeout = 120)
{
    every_failure_leaves_nothing ("d/t.vmdk", "t-flat.vmdk t.vmdk", false);
}

Test (pipeline_faults, raw_to_qcow2_verified, .timeout = 120)
{
    every_failure_leaves_nothing ("d/t.qcow2", "t.qcow2", true);
}

Test (pipeline_faults, raw_to_vhdx, .timeout = 120)
{
    every_failure_leaves_nothing ("d/t.vhdx", "t.vhdx", false);
}

/* ------------------------------------------ replacing a two-file target */

/* 1 when the guest data of target equals source's, 0 when not, -1 when
 * the target cannot be read (a mix of two targets, or none). */
static int
same_disk (struct backend *b, const char *source, const char *target)
{
    struct verify_side a, t;
    struct verify_report rep;
    int r;

    memset (&a, 0, sizeof a);
    memset (&t, 0, sizeof t);
    if (vs_verify_open (b, source, &a) < 0) {
        return -1;
    }
    if (vs_verify_open (b, target, &t) < 0) {
        vs_verify_close (&a);
        return -1;
    }
    r = vs_verify_compare (&a, &t, true, &rep);
    vs_verify_close (&a);
    vs_verify_close (&t);
    return r < 0 ? -1 : !rep.differ;
}

static void
put_src2 (struct backend *b)
{
    uint8_t *data = calloc (1, SRC_SIZE);
    struct be_file *f;

    cr_assert_not_null (data);
    for (size_t i = 0; i < 65536; i++) {
        data[SRC_SIZE / 4 + i] = (uint8_t) (i * 31 + 5);
    }
    cr_assert_eq (backend_open (b, "d/src2.raw", BE_RDWR | BE_CREATE, &f), 0);
    cr_assert_eq (backend_pwrite (f, data, SRC_SIZE, 0), 0);
    backend_close (f);
    free (data);
}

/* Entries of d that are not run files, and how many run files. */
static unsigned
count_entries (struct backend *b, unsigned *run_files)
{
    char names[2048];
    unsigned n = 0;

    *run_files = 0;
    list_sorted (b, "d", names, sizeof names);
    for (char *t = strtok (names, " "); t; t = strtok (NULL, " ")) {
        if (strncmp (t, ".vmshift.", 9) == 0) {
            (*run_files)++;
        } else {
            n++;
        }
    }
    return n;
}

/* --force over an existing VMDK (descriptor + extent) with every backend
 * call failed in turn: the target is always the old disk (the run
 * failed) or the new one (it succeeded), never a mix; after the next
 * run's recovery exactly one descriptor and one extent are left.  Before
 * the journaled publish, a failed rename between the extent's and the
 * descriptor's left the old descriptor over the new extent. */
Test (pipeline_faults, forced_vmdk_replace_is_old_or_new, .timeout = 240)
{
    static const enum be_op ops[] = {
        BE_OP_RENAME, BE_OP_UNLINK, BE_OP_LINK, BE_OP_STAT, BE_OP_OPEN,
        BE_OP_PWRITE, BE_OP_FLUSH, BE_OP_EXISTS, BE_OP_LIST, BE_OP_PREAD,
    };
    struct vmshift_handle *h = vmshift_new ();
    struct backend *b = pipeline_backend ();
    unsigned points = 0, run_files;

    put_src2 (b);
    cr_assert_eq (run_convert (h, b, "d/t.vmdk", false), 0, "%s",
                  vmshift_get_error ());
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        for (uint64_t n = 1; n < 10000; n++) {
            int r, old, new_;
            bool fired;

            be_fault_set (b, ops[k], n, EIO, false);
            r = run_convert_from (h, b, "d/src2.raw", "d/t.vmdk", false, true);
            fired = be_fault_fired (b);
            if (!fired) {
                cr_assert_eq (r, 0, "%s: %s", be_op_name (ops[k]),
                              vmshift_get_error ());
            }
            be_fault_set (b, ops[k], 0, 0, false);
            points++;
            old = same_disk (b, "d/src.raw", "d/t.vmdk");
            new_ = same_disk (b, "d/src2.raw", "d/t.vmdk");
            cr_expect (r < 0 ? old == 1 : new_ == 1, "%s call %llu (run %s): "
                       "target is %s", be_op_name (ops[k]),
                       (unsigned long long) n, r < 0 ? "failed" : "passed",
                       old == 1 ? "the old disk" : new_ == 1 ? "the new disk"
                       : "neither disk");
            /* the next run tidies up what this one left */
            cr_assert_eq (vs_exec_recover (b, "d", "t.vmdk", NULL), 0);
            {
                char names[2048];

                list_sorted (b, "d", names, sizeof names);
                cr_expect_eq (count_entries (b, &run_files), 4, "%s call %llu: "
                              "not one descriptor and one extent: %s",
                              be_op_name (ops[k]), (unsigned long long) n,
                              names);
            }
            cr_expect_eq (run_files, 0, "%s call %llu: run files left",
                          be_op_name (ops[k]), (unsigned long long) n);
            if (r == 0) {
                /* back to the old disk for the next point */
                cr_assert_eq (run_convert_from (h, b, "d/src.raw", "d/t.vmdk",
                                                false, true), 0);
                cr_assert_eq (count_entries (b, &run_files), 4);
            }
            if (!fired) {
                break;
            }
        }
    }
    cr_expect_gt (points, 30, "only %u points", points);
    backend_free (b);
    vmshift_free (h);
}
