/* Error paths of the plan executor and of vmshift_convert: what is left
 * behind (nothing), what is freed, and what the message names.  Leaks
 * on these paths show up under the ASan build and valgrind. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "engine/backend/backend.h"
#include "engine/base/error.h"
#include "engine/exec/exec.h"
#include "engine/vmshift.h"
#include "formats/formats.h"

static char dir[64];

static void
setup (void)
{
    snprintf (dir, sizeof dir, "/tmp/vmshift-exec-errors.XXXXXX");
    cr_assert_not_null (mkdtemp (dir));
}

static void
teardown (void)
{
    char cmd[128];

    snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_expect_eq (system (cmd), 0);
}

/* Names in dir, sorted, joined by ' ' (hidden ones included). */
static void
list_dir (char *out, size_t n)
{
    struct dirent **ents;
    int k = scandir (dir, &ents, NULL, alphasort);

    cr_assert_geq (k, 0);
    out[0] = '\0';
    for (int i = 0; i < k; i++) {
        if (strcmp (ents[i]->d_name, ".") && strcmp (ents[i]->d_name, "..")) {
            if (out[0]) {
                strncat (out, " ", n - strlen (out) - 1);
            }
            strncat (out, ents[i]->d_name, n - strlen (out) - 1);
        }
        free (ents[i]);
    }
    free (ents);
}

static void
write_file (const char *name, const char *text)
{
    char path[128];
    FILE *fp;

    snprintf (path, sizeof path, "%s/%s", dir, name);
    fp = fopen (path, "w");
    cr_assert_not_null (fp);
    fputs (text, fp);
    cr_assert_eq (fclose (fp), 0);
}

/* A two-output layout (extent + main), metadata only. */
static void
two_outputs (struct fmt_layout *lay)
{
    fmt_layout_init (lay);
    cr_assert_eq (fmt_layout_add_output (lay, "d-flat.vmdk", FMT_OUT_EXTENT), 0);
    cr_assert_eq (fmt_layout_add_output (lay, "d.vmdk", FMT_OUT_MAIN), 1);
    lay->out[0].file_size = 4096;
    lay->out[1].file_size = 512;
    cr_assert_eq (fmt_layout_add_bytes (lay, 0, 0, "extent", 6,
                                        FMT_PHASE_META, "x"), 0);
    cr_assert_eq (fmt_layout_add_bytes (lay, 1, 0, "main", 4,
                                        FMT_PHASE_HEADER, "h"), 0);
}

TestSuite (exec_errors, .init = setup, .fini = teardown);

/* vs_exec_begin failing must free what it copied and leave *x reusable:
 * callers do not call vs_exec_release after it (the leak this guards was
 * found with ASan on a read-only target directory). */
Test (exec_errors, begin_failure_releases_everything)
{
    struct backend *be = be_local_new (NULL);
    struct fmt_layout lay;
    struct exec x;
    char missing[128];
    int r;

    two_outputs (&lay);
    snprintf (missing, sizeof missing, "%s/no/such/dir", dir);
    r = vs_exec_begin (&x, be, missing, &lay, NULL);
    cr_assert_lt (r, 0);
    cr_expect (strstr (vmshift_get_error (), missing) != NULL,
               "message does not name the directory: %s", vmshift_get_error ());
    cr_expect_eq (x.nout, 0);
    cr_expect_null (x.dir);
    cr_expect_null (x.out[0].name);
    vs_exec_release (&x);          /* harmless on the released struct */
    fmt_layout_release (&lay);
    backend_free (be);
}

/* The MAIN name taken between the existence check and the rename: the
 * extent already renamed into place must go too, and no temporary may
 * stay; the file that took the name is left alone. */
Test (exec_errors, commit_unwinds_renamed_outputs)
{
    struct backend *be = be_local_new (NULL);
    struct exec_stats st = { 0 };
    struct fmt_layout lay;
    struct exec x;
    char names[512];
    int r;

    two_outputs (&lay);
    cr_assert_eq (vs_exec_begin (&x, be, dir, &lay, NULL), 0);
    cr_assert_eq (vs_exec_write (&x, &lay, NULL, false, &st), 0);
    write_file ("d.vmdk", "someone else's\n");
    r = vs_exec_commit (&x, false);
    cr_expect_eq (r, -EEXIST, "commit returned %d: %s", r,
                  vmshift_get_error ());
    vs_exec_release (&x);
    list_dir (names, sizeof names);
    cr_expect_str_eq (names, "d.vmdk");
    fmt_layout_release (&lay);
    backend_free (be);
}

/* The same layout commits normally when nothing is in the way. */
Test (exec_errors, commit_renames_all_outputs)
{
    struct backend *be = be_local_new (NULL);
    struct exec_stats st = { 0 };
    struct fmt_layout lay;
    struct exec x;
    char names[512];

    two_outputs (&lay);
    cr_assert_eq (vs_exec_begin (&x, be, dir, &lay, NULL), 0);
    cr_assert_eq (vs_exec_write (&x, &lay, NULL, false, &st), 0);
    cr_assert_eq (vs_exec_commit (&x, false), 0, "%s", vmshift_get_error ());
    vs_exec_release (&x);
    list_dir (names, sizeof names);
    cr_expect_str_eq (names, "d-flat.vmdk d.vmdk");
    cr_expect_eq (st.bytes_metadata, 10);
    fmt_layout_release (&lay);
    backend_free (be);
}

/* A planning failure names the source (whose size is usually the
 * problem) as well as the target; nothing is written. */
Test (exec_errors, plan_error_names_source_and_target)
{
    struct vmshift_handle *h = vmshift_new ();
    char src[128], dst[128], names[512];
    int r;

    write_file ("odd.raw", "100 bytes? no: not a multiple of 512\n");
    snprintf (src, sizeof src, "%s/odd.raw", dir);
    snprintf (dst, sizeof dst, "%s/out.vhdx", dir);
    r = vmshift_convert (h, src, dst, NULL, NULL);
    cr_assert_lt (r, 0);
    cr_expect (strstr (vmshift_get_error (), src) != NULL &&
               strstr (vmshift_get_error (), dst) != NULL,
               "message: %s", vmshift_get_error ());
    cr_expect_null (strchr (vmshift_get_error (), '\n'));
    list_dir (names, sizeof names);
    cr_expect_str_eq (names, "odd.raw");
    vmshift_free (h);
}

/* --verify runs on the temporaries before the rename; a good conversion
 * is verified and leaves exactly the target. */
Test (exec_errors, verify_before_commit_passes)
{
    struct vmshift_handle *h = vmshift_new ();
    struct vmshift_convert_opts o;
    struct vmshift_result *res = NULL;
    char src[128], dst[128], names[512];
    char buf[8192];
    int fd;

    snprintf (src, sizeof src, "%s/src.raw", dir);
    snprintf (dst, sizeof dst, "%s/out.qcow2", dir);
    fd = open (src, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert_geq (fd, 0);
    memset (buf, 0xa5, sizeof buf);
    cr_assert_eq (ftruncate (fd, 4 << 20), 0);
    cr_assert_eq (pwrite (fd, buf, sizeof buf, 1 << 20), (ssize_t) sizeof buf);
    close (fd);
    vmshift_convert_opts_init (&o);
    o.verify = 1;
    o.cluster_size = 65536;
    cr_assert_eq (vmshift_convert (h, src, dst, &o, &res), 0, "%s",
                  vmshift_get_error ());
    cr_expect (vmshift_result_stats (res)->verified);
    vmshift_result_free (res);
    list_dir (names, sizeof names);
    cr_expect_str_eq (names, "out.qcow2 src.raw");
    vmshift_free (h);
}

/* --force replaces by rename(): never over a FIFO or a device node (as
 * root, "--force ... /dev/null" once replaced /dev/null with the image),
 * and never over a directory. */
Test (exec_errors, force_never_replaces_special_files)
{
    struct vmshift_handle *h = vmshift_new ();
    struct vmshift_convert_opts o;
    char src[128], dst[128];
    struct stat st;
    int r;

    write_file ("src.raw", "");
    cr_assert_eq (truncate (strcat (strcpy (src, dir), "/src.raw"), 65536), 0);
    vmshift_convert_opts_init (&o);
    o.force = 1;
    o.to = VMSHIFT_FMT_RAW;
    snprintf (dst, sizeof dst, "%s/fifo", dir);
    cr_assert_eq (mkfifo (dst, 0600), 0);
    r = vmshift_convert (h, src, dst, &o, NULL);
    cr_expect_eq (r, -EEXIST, "%d: %s", r, vmshift_get_error ());
    cr_assert_eq (lstat (dst, &st), 0);
    cr_expect (S_ISFIFO (st.st_mode), "the FIFO was replaced");
    snprintf (dst, sizeof dst, "%s/adir", dir);
    cr_assert_eq (mkdir (dst, 0700), 0);
    r = vmshift_convert (h, src, dst, &o, NULL);
    cr_expect_eq (r, -EISDIR, "%d: %s", r, vmshift_get_error ());
    snprintf (dst, sizeof dst, "%s/null", dir);
    if (mknod (dst, S_IFCHR | 0666, makedev (1, 3)) == 0) {
        r = vmshift_convert (h, src, dst, &o, NULL);
        cr_expect_eq (r, -EEXIST, "%d: %s", r, vmshift_get_error ());
        cr_assert_eq (lstat (dst, &st), 0);
        cr_expect (S_ISCHR (st.st_mode), "the device node was replaced");
    }
    vmshift_free (h);
}

/* A FIFO given as an image is refused at once; open() used to block
 * until a writer came (vmshift info FIFO hung). */
Test (exec_errors, fifo_source_is_refused_not_waited_for, .timeout = 20)
{
    struct vmshift_handle *h = vmshift_new ();
    char fifo[128], dst[128];
    char *report = NULL;
    int r;

    snprintf (fifo, sizeof fifo, "%s/in.vmdk", dir);
    snprintf (dst, sizeof dst, "%s/out.raw", dir);
    cr_assert_eq (mkfifo (fifo, 0600), 0);
    r = vmshift_info (h, fifo, 0, &report);
    cr_expect_eq (r, -EINVAL, "%d: %s", r, vmshift_get_error ());
    cr_expect (strstr (vmshift_get_error (), "not a regular file") != NULL,
               "%s", vmshift_get_error ());
    r = vmshift_convert (h, fifo, dst, NULL, NULL);
    cr_expect_eq (r, -EINVAL, "%d: %s", r, vmshift_get_error ());
    cr_expect_eq (access (dst, F_OK), -1);
    vmshift_free (h);
}

/* A 0-byte file is not a raw disk of size 0: convert (to qcow2, which
 * would have accepted size 0), info and verify refuse it by name. */
Test (exec_errors, empty_file_is_not_an_image)
{
    struct vmshift_handle *h = vmshift_new ();
    char src[128], dst[128], names[512];
    char *report = NULL;
    int r;

    write_file ("empty.vmdk", "");
    snprintf (src, sizeof src, "%s/empty.vmdk", dir);
    snprintf (dst, sizeof dst, "%s/out.qcow2", dir);
    r = vmshift_convert (h, src, dst, NULL, NULL);
    cr_expect_eq (r, -EINVAL, "%d: %s", r, vmshift_get_error ());
    cr_expect (strstr (vmshift_get_error (), "empty.vmdk' is empty") != NULL,
               "%s", vmshift_get_error ());
    r = vmshift_info (h, src, 0, &report);
    cr_expect_eq (r, -EINVAL, "%d", r);
    cr_expect_null (report);
    r = vmshift_verify (h, src, src, 0, 0, &report);
    cr_expect_eq (r, -EINVAL, "%d", r);
    list_dir (names, sizeof names);
    cr_expect_str_eq (names, "empty.vmdk");
    vmshift_free (h);
}

/* A raw source whose size is not whole sectors: the qcow2 planner rounds
 * up (as qemu does) and read-back used to reject its own output ("virtual
 * size 100352 instead of 100001", exit 5, after writing everything). */
Test (exec_errors, odd_sized_raw_to_qcow2_verifies)
{
    struct vmshift_handle *h = vmshift_new ();
    struct vmshift_convert_opts o;
    struct vmshift_result *res = NULL;
    char src[128], dst[128], names[512];
    char buf[100001];
    FILE *fp;

    snprintf (src, sizeof src, "%s/odd.raw", dir);
    snprintf (dst, sizeof dst, "%s/odd.qcow2", dir);
    for (size_t i = 0; i < sizeof buf; i++) {
        buf[i] = (char) (i * 7 + 1);
    }
    fp = fopen (src, "w");
    cr_assert_not_null (fp);
    cr_assert_eq (fwrite (buf, 1, sizeof buf, fp), sizeof buf);
    cr_assert_eq (fclose (fp), 0);
    vmshift_convert_opts_init (&o);
    o.verify = 1;
    o.cluster_size = 65536;
    cr_assert_eq (vmshift_convert (h, src, dst, &o, &res), 0, "%s",
                  vmshift_get_error ());
    cr_expect (vmshift_result_stats (res)->verified);
    vmshift_result_free (res);
    list_dir (names, sizeof names);
    cr_expect_str_eq (names, "odd.qcow2 odd.raw");
    vmshift_free (h);
}
