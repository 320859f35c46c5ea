/* The public structs' struct_size rule (engine/vmshift.h): each accepts
 * its first release's size and this build's, and refuses a size outside
 * them; and the error classes vmshift_get_error_info reports for a
 * conversion that fails on each side. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/handle.h"
#include "engine/vmshift.h"
#include "helpers/testio.h"

static char tmp[64];
static char src[128];
static struct vmshift_handle *h;

static void
setup (void)
{
    FILE *f;

    snprintf (tmp, sizeof tmp, "/tmp/vmshift-api-structs-XXXXXX");
    cr_assert_not_null (mkdtemp (tmp));
    snprintf (src, sizeof src, "%s/src.raw", tmp);
    f = fopen (src, "w");
    cr_assert_not_null (f);
    cr_assert_eq (ftruncate (fileno (f), 1 << 20), 0);
    fclose (f);
    h = vmshift_new ();
    cr_assert_not_null (h);
}

static void
teardown (void)
{
    vmshift_free (h);
    test_sh ("rm -rf '%s'", tmp);
}

TestSuite (api_structs, .init = setup, .fini = teardown);

static struct vmshift_error_info
last_error (void)
{
    struct vmshift_error_info e;

    vmshift_error_info_init (&e);
    cr_assert_eq (vmshift_get_error_info (&e), 0);
    return e;
}

Test (api_structs, convert_opts)
{
    struct vmshift_convert_opts o;
    struct vmshift_result *res = NULL;
    char dst[160];

    snprintf (dst, sizeof dst, "%s/t.qcow2", tmp);
    vmshift_convert_opts_init (&o);
    o.dry_run = 1;
    cr_assert_eq (o.struct_size, sizeof o);
    cr_assert_eq (vmshift_convert (h, src, dst, &o, &res), 0, "%s",
                  vmshift_get_error ());
    vmshift_result_free (res);
    /* an older caller: the first release's size */
    o.struct_size = VMSHIFT_CONVERT_OPTS_V1;
    cr_assert_eq (vmshift_convert (h, src, dst, &o, NULL), 0, "%s",
                  vmshift_get_error ());
    o.struct_size = VMSHIFT_CONVERT_OPTS_V1 - 1;
    cr_assert_eq (vmshift_convert (h, src, dst, &o, NULL), -EINVAL);
    cr_assert (strstr (vmshift_get_error (), "struct_size"));
    cr_assert_eq (last_error ().error_class, VMSHIFT_ERROR_USAGE);
    o.struct_size = sizeof o + 8;
    cr_assert_eq (vmshift_convert_many (h, 1, (const char *[]) { src },
                                        (const char *[]) { dst }, &o, NULL,
                                        NULL), -EINVAL);
    o.struct_size = 0;
    cr_assert_eq (vmshift_convert (h, src, dst, &o, NULL), -EINVAL);
    /* a field added later: checked, and an older caller's struct (which
     * ends before it) takes the default */
    vmshift_convert_opts_init (&o);
    o.dry_run = 1;
    cr_assert_eq (o.vhdx_unallocated, VMSHIFT_VHDX_UNALLOCATED_ZERO);
    o.vhdx_unallocated = 7;
    cr_assert_eq (vmshift_convert (h, src, dst, &o, NULL), -EINVAL);
    cr_assert (strstr (vmshift_get_error (), "vhdx_unallocated"), "%s",
               vmshift_get_error ());
    cr_assert_eq (last_error ().error_class, VMSHIFT_ERROR_USAGE);
    cr_assert_eq (vmshift_convert_many (h, 1, (const char *[]) { src },
                                        (const char *[]) { dst }, &o, NULL,
                                        NULL), -EINVAL);
    o.struct_size = VMSHIFT_CONVERT_OPTS_V1;
    cr_assert_eq (vmshift_convert (h, src, dst, &o, NULL), 0, "%s",
                  vmshift_get_error ());
    o.struct_size = sizeof o;
    o.vhdx_unallocated = VMSHIFT_VHDX_UNALLOCATED_NOT_PRESENT;
    cr_assert_eq (vmshift_convert (h, src, dst, &o, NULL), 0, "%s",
                  vmshift_get_error ());
}

Test (api_structs, define_opts)
{
    struct vmshift_define_opts o;
    struct vmshift_vm *vm = NULL;
    char vmx[160], *text = NULL;
    FILE *f;

    snprintf (vmx, sizeof vmx, "%s/web.vmx", tmp);
    f = fopen (vmx, "w");
    cr_assert_not_null (f);
    fputs ("displayName = \"web\"\nnumvcpus = \"2\"\nmemsize = \"2048\"\n"
           "guestOS = \"debian11-64\"\n", f);
    fclose (f);
    cr_assert_eq (vmshift_vm_load (h, vmx, &vm), 0, "%s", vmshift_get_error ());
    vmshift_define_opts_init (&o);
    cr_assert_eq (o.struct_size, sizeof o);
    o.target = VMSHIFT_TARGET_LIBVIRT;
    o.struct_size = VMSHIFT_DEFINE_OPTS_V1;
    cr_assert_eq (vmshift_define (h, vm, &o, &text), 0, "%s",
                  vmshift_get_error ());
    cr_assert (strstr (text, "<domain"));
    free (text);
    text = NULL;
    o.struct_size = sizeof o + 1;
    cr_assert_eq (vmshift_define (h, vm, &o, &text), -EINVAL);
    cr_assert_null (text);
    o.struct_size = 1;
    cr_assert_eq (vmshift_define (h, vm, &o, &text), -EINVAL);
    cr_assert_eq (last_error ().error_class, VMSHIFT_ERROR_USAGE);
    cr_assert_eq (vmshift_define (h, vm, NULL, &text), -EINVAL);
    vmshift_vm_free (vm);
}

Test (api_structs, guest_opts)
{
    struct vmshift_guest_opts o;
    const char *name = vmshift_guest_script_names (VMSHIFT_GUEST_LINUX)[0];
    char *text = NULL;

    vmshift_guest_opts_init (&o);
    cr_assert_eq (o.struct_size, sizeof o);
    o.os = VMSHIFT_GUEST_LINUX;
    o.struct_size = VMSHIFT_GUEST_OPTS_V1;     /* without 'force' */
    cr_assert_eq (vmshift_guest_render (h, &o, name, &text), 0, "%s",
                  vmshift_get_error ());
    free (text);
    o.struct_size = sizeof o + 16;
    cr_assert_eq (vmshift_guest_render (h, &o, name, &text), -EINVAL);
    o.struct_size = VMSHIFT_GUEST_OPTS_V1 - 1;
    cr_assert_eq (vmshift_guest_render (h, &o, name, &text), -EINVAL);
}

Test (api_structs, error_info)
{
    struct vmshift_error_info e;
    char dst[160];

    snprintf (dst, sizeof dst, "%s/t.qcow2", tmp);
    cr_assert_lt (vmshift_convert (h, "/nonexistent/x.raw", dst, NULL, NULL),
                  0);
    vmshift_error_info_init (&e);
    cr_assert_eq (e.struct_size, sizeof e);
    cr_assert_eq (vmshift_get_error_info (&e), 0);
    cr_assert_eq (e.errnum, ENOENT);
    cr_assert_str_eq (e.message, vmshift_get_error ());
    /* a smaller struct than the first release's, or a larger one than
     * this build's, is refused and the error left as it was */
    e.struct_size = offsetof (struct vmshift_error_info, message);
    cr_assert_eq (vmshift_get_error_info (&e), -EINVAL);
    e.struct_size = sizeof e + 8;
    cr_assert_eq (vmshift_get_error_info (&e), -EINVAL);
    cr_assert_eq (vmshift_get_errno (), ENOENT);
    cr_assert_eq (vmshift_get_error_info (NULL), -EINVAL);
}

/* Each side of a failed conversion says which it is. */
Test (api_structs, error_classes)
{
    struct vmshift_convert_opts o;
    struct vmshift_error_info e;
    char dst[160];

    vmshift_convert_opts_init (&o);
    snprintf (dst, sizeof dst, "%s/t.qcow2", tmp);
    /* the source: missing, and a .vhdx that is not one */
    cr_assert_lt (vmshift_convert (h, "/nonexistent/x.raw", dst, &o, NULL), 0);
    e = last_error ();
    cr_assert_eq (e.error_class, VMSHIFT_ERROR_SOURCE, "%s", e.message);
    cr_assert_eq (e.retryable, 0);
    test_sh ("cp '%s' '%s/fake.vhdx'", src, tmp);
    snprintf (dst, sizeof dst, "%s/fake.vhdx", tmp);
    cr_assert_lt (vmshift_convert (h, dst, "/nonexistent/t.raw", &o, NULL), 0);
    cr_assert_eq (last_error ().error_class, VMSHIFT_ERROR_SOURCE);
    /* the target: its directory missing, or a file; it exists */
    cr_assert_lt (vmshift_convert (h, src, "/nonexistent/dir/t.qcow2", &o,
                                   NULL), 0);
    e = last_error ();
    cr_assert_eq (e.error_class, VMSHIFT_ERROR_TARGET, "%s", e.message);
    cr_assert_eq (e.errnum, ENOENT);
    snprintf (dst, sizeof dst, "%s/t.qcow2", tmp);
    cr_assert_eq (vmshift_convert (h, src, dst, &o, NULL), 0, "%s",
                  vmshift_get_error ());
    cr_assert_lt (vmshift_convert (h, src, dst, &o, NULL), 0);
    e = last_error ();
    cr_assert_eq (e.error_class, VMSHIFT_ERROR_TARGET, "%s", e.message);
    cr_assert_eq (e.errnum, EEXIST);
    snprintf (dst, sizeof dst, "%s/src.raw/t.qcow2", tmp);
    cr_assert_lt (vmshift_convert (h, src, dst, &o, NULL), 0);
    e = last_error ();
    cr_assert_eq (e.error_class, VMSHIFT_ERROR_TARGET, "%s", e.message);
    cr_assert_eq (e.errnum, ENOTDIR);
    /* the caller: a target name that says no format */
    snprintf (dst, sizeof dst, "%s/t.unknown", tmp);
    cr_assert_lt (vmshift_convert (h, src, dst, &o, NULL), 0);
    cr_assert_eq (last_error ().error_class, VMSHIFT_ERROR_USAGE);
    /* success clears it */
    snprintf (dst, sizeof dst, "%s/u.raw", tmp);
    cr_assert_eq (vmshift_convert (h, src, dst, &o, NULL), 0);
    e = last_error ();
    cr_assert_eq (e.errnum, 0);
    cr_assert_eq (e.error_class, VMSHIFT_ERROR_UNKNOWN);
}

/* vmshift_convert_many: each disk's failure in error_info (class and
 * retryable, message = errors[i]; zero for a disk that succeeded), and
 * the cancel hook, asked before each disk: once it says stop, the disks
 * left fail with ECANCELED and are not written. */
static int cancel_after, cancel_calls;

static int
cancel_fn (void *opaque)
{
    cr_assert_eq (opaque, &cancel_calls);
    return ++cancel_calls > cancel_after;
}

Test (api_structs, convert_many_info_cancel)
{
    struct vmshift_convert_opts o;
    struct vmshift_error_info info[3];
    struct vmshift_result *res[3];
    char *errs[3];
    char d[3][160];
    const char *srcs[3] = { src, "/nonexistent/x.raw", src };
    const char *dsts[3] = { d[0], d[1], d[2] };

    for (int i = 0; i < 3; i++) {
        snprintf (d[i], sizeof d[i], "%s/m%d.qcow2", tmp, i);
        vmshift_error_info_init (&info[i]);
    }
    vmshift_convert_opts_init (&o);
    o.error_info = info;
    cr_assert_eq (vmshift_convert_many (h, 3, srcs, dsts, &o, res, errs),
                  -ENOENT);
    cr_assert_eq (info[0].errnum, 0);
    cr_assert_null (errs[0]);
    cr_assert_eq (info[1].errnum, ENOENT);
    cr_assert_eq (info[1].error_class, VMSHIFT_ERROR_SOURCE);
    cr_assert_eq (info[1].retryable, 0);
    cr_assert_eq (info[1].message, errs[1]);
    cr_assert_eq (info[2].errnum, 0);
    cr_assert_eq (info[2].error_class, VMSHIFT_ERROR_UNKNOWN);
    for (int i = 0; i < 3; i++) {
        free (errs[i]);
        vmshift_result_free (res[i]);
        snprintf (d[i], sizeof d[i], "%s/c%d.qcow2", tmp, i);
        vmshift_error_info_init (&info[i]);
    }
    srcs[1] = src;
    cancel_after = 1;
    o.cancel = cancel_fn;
    o.cancel_opaque = &cancel_calls;
    cr_assert_eq (vmshift_convert_many (h, 3, srcs, dsts, &o, res, errs),
                  -ECANCELED);
    cr_assert_eq (cancel_calls, 3);
    cr_assert_eq (info[0].errnum, 0);
    cr_assert_eq (access (d[0], F_OK), 0);
    for (int i = 1; i < 3; i++) {
        cr_assert_eq (info[i].errnum, ECANCELED);
        cr_assert_eq (info[i].retryable, 0);
        cr_assert_not_null (strstr (errs[i], "cancelled before it started"));
        cr_assert_null (res[i]);
        cr_assert_neq (access (d[i], F_OK), 0);
    }
    for (int i = 0; i < 3; i++) {
        free (errs[i]);
        vmshift_result_free (res[i]);
    }
}
