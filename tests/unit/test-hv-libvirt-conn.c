/* hypervisors/libvirt-conn: against libvirt's own test driver
 * (test:///default), which parses and validates each definition and
 * tracks domain state for the life of the connection.  Nothing of
 * libvirt is faked. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "hypervisors/libvirt-conn/libvirt-conn.h"

static char *
golden (void)
{
    char path[512];
    const char *top = getenv ("VMSHIFT_TOP");
    FILE *f;
    char *buf = calloc (1, 1 << 16);

    snprintf (path, sizeof path, "%s/tests/data/hv/golden/"
              "esx-in-the-wild-2.libvirt.xml", top ? top : ".");
    cr_assert_not_null (f = fopen (path, "r"), "%s", path);
    fread (buf, 1, (1 << 16) - 1, f);
    fclose (f);
    return buf;
}

Test (libvirt_conn, define_start_read_back_remove)
{
    struct hv_lvc *c, *c2;
    struct hv_lvc_info in, in2;
    char uuid[37];
    char *xml = golden ();
    bool started, existed;

    cr_assert_eq (hv_lvc_open ("test:///default", &c), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (hv_lvc_define (c, xml, uuid), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_str_eq (uuid, "564dcd37-3685-8889-35ea-719fc93c983e");
    cr_assert_eq (hv_lvc_info (c, "virtDebian1", &in), 0);
    cr_assert_eq (in.state, HV_LVC_SHUTOFF);
    cr_assert_eq (in.id, -1);
    cr_assert (in.persistent);
    cr_assert_eq (hv_lvc_start (c, "virtDebian1", &started), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert (started);
    cr_assert_eq (hv_lvc_start (c, "virtDebian1", &started), 0);
    cr_assert_not (started, "already running: nothing done");
    cr_assert_eq (hv_lvc_info (c, "virtDebian1", &in), 0);
    cr_assert_eq (in.state, HV_LVC_RUNNING);
    cr_assert_gt (in.id, 0);
    cr_assert_str_eq (hv_lvc_state_name (in.state), "running");
    /* A second connection of this process sees the same domain. */
    cr_assert_eq (hv_lvc_open ("test:///default", &c2), 0);
    cr_assert_eq (hv_lvc_info (c2, "virtDebian1", &in2), 0);
    cr_assert_eq (in2.id, in.id);
    hv_lvc_close (c2);
    cr_assert_eq (hv_lvc_remove (c, "virtDebian1", &existed), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert (existed);
    cr_assert_eq (hv_lvc_info (c, "virtDebian1", &in), -ENOENT);
    cr_assert_eq (hv_lvc_remove (c, "virtDebian1", &existed), 0);
    cr_assert_not (existed);
    /* Defined again and left running, then every connection closed: the
     * test driver forgets it (its state lives with the connections). */
    cr_assert_eq (hv_lvc_define (c, xml, NULL), 0);
    cr_assert_eq (hv_lvc_start (c, "virtDebian1", NULL), 0);
    hv_lvc_close (c);
    cr_assert_eq (hv_lvc_open ("test:///default", &c), 0);
    cr_assert_eq (hv_lvc_info (c, "virtDebian1", &in), -ENOENT);
    hv_lvc_close (c);
    free (xml);
}

Test (libvirt_conn, errors_name_uri_and_domain)
{
    struct hv_lvc *c;
    struct hv_lvc_info in;

    cr_assert_eq (hv_lvc_open ("test:///default", &c), 0);
    cr_assert_eq (hv_lvc_start (c, "no-such-vm", NULL), -ENOENT);
    cr_assert_not_null (strstr (vmshift_internal_error_msg (),
                                "'test:///default'"));
    cr_assert_not_null (strstr (vmshift_internal_error_msg (),
                                "'no-such-vm'"));
    cr_assert_eq (hv_lvc_info (c, "no-such-vm", &in), -ENOENT);
    cr_assert_lt (hv_lvc_define (c, "<domain type='kvm'><name>x</name>",
                                 NULL), 0);
    cr_assert_null (strchr (vmshift_internal_error_msg (), '\n'));
    hv_lvc_close (c);
    cr_assert_lt (hv_lvc_open ("nosuchdriver:///x", &c), 0);
    cr_assert_null (c);
}
