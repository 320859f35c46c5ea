/* engine/guest.c: vmshift_guest_scripts() and vmshift_guest_render()
 * through the public API: files, modes, refusal to overwrite, errors. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/vmshift.h"
#include "helpers/testio.h"

static char tmp[64];
static struct vmshift_handle *h;

static void
setup (void)
{
    snprintf (tmp, sizeof tmp, "/tmp/vmshift-guest-api-XXXXXX");
    cr_assert_not_null (mkdtemp (tmp));
    h = vmshift_new ();
    cr_assert_not_null (h);
}

static void
teardown (void)
{
    vmshift_free (h);
    test_sh ("rm -rf '%s'", tmp);
}

static void
put (const char *name, const char *text)
{
    char path[256];
    FILE *f;

    snprintf (path, sizeof path, "%s/%s", tmp, name);
    f = fopen (path, "w");
    cr_assert_not_null (f);
    fputs (text, f);
    fclose (f);
}

static mode_t
mode_of (const char *dir, const char *name)
{
    char path[256];
    struct stat st;

    snprintf (path, sizeof path, "%s/%s/%s", tmp, dir, name);
    cr_assert_eq (stat (path, &st), 0, "%s missing", path);
    return st.st_mode & 07777;
}

TestSuite (guest_api, .init = setup, .fini = teardown);

Test (guest_api, writes_the_scripts_with_safe_modes)
{
    struct vmshift_guest_opts o;
    char out[128];

    vmshift_guest_opts_init (&o);
    snprintf (out, sizeof out, "%s/linux", tmp);
    cr_assert_eq (vmshift_guest_scripts (h, &o, out), 2, "%s",
                  vmshift_get_error ());
    cr_assert_eq (mode_of ("linux", "linux-prepare.sh"), 0700);
    cr_assert_eq (mode_of ("linux", "linux-reapply.sh"), 0700);
    o.os = VMSHIFT_GUEST_WINDOWS;
    snprintf (out, sizeof out, "%s/win", tmp);
    cr_assert_eq (vmshift_guest_scripts (h, &o, out), 2, "%s",
                  vmshift_get_error ());
    cr_assert_eq (mode_of ("win", "windows-prepare.ps1"), 0600);
    cr_assert_eq (mode_of ("win", "windows-reapply.ps1"), 0600);
    cr_assert_eq (test_sh ("ls -A '%s/win' | wc -l | grep -qx 2", tmp), 0,
                  "temporary files left behind");
}

Test (guest_api, refuses_to_overwrite_unless_forced)
{
    struct vmshift_guest_opts o;
    char out[128];

    vmshift_guest_opts_init (&o);
    snprintf (out, sizeof out, "%s/o", tmp);
    cr_assert_eq (mkdir (out, 0755), 0);
    put ("o/linux-reapply.sh", "mine\n");
    cr_assert_eq (vmshift_guest_scripts (h, &o, out), -EEXIST);
    cr_assert (strstr (vmshift_get_error (),
                       "linux-reapply.sh' exists (use --force"));
    cr_assert_eq (test_sh ("[ ! -e '%s/o/linux-prepare.sh' ]", tmp), 0,
                  "a file was written although another existed");
    cr_assert_eq (test_sh ("grep -qx mine '%s/o/linux-reapply.sh'", tmp), 0);
    o.force = 1;
    cr_assert_eq (vmshift_guest_scripts (h, &o, out), 2, "%s",
                  vmshift_get_error ());
    cr_assert_eq (test_sh ("grep -q 'vmshift re-apply' "
                           "'%s/o/linux-reapply.sh'", tmp), 0);
    /* A symlink in place of a script is not followed. */
    cr_assert_eq (test_sh ("rm '%s/o/linux-prepare.sh' && "
                           "ln -s /dev/null/never '%s/o/linux-prepare.sh'",
                           tmp, tmp), 0);
    o.force = 0;
    cr_assert_eq (vmshift_guest_scripts (h, &o, out), -EEXIST);
}

Test (guest_api, bad_places_and_options)
{
    struct vmshift_guest_opts o;
    char out[128];

    vmshift_guest_opts_init (&o);
    snprintf (out, sizeof out, "%s/no/such/dir", tmp);
    cr_assert_eq (vmshift_guest_scripts (h, &o, out), -ENOENT);
    cr_assert (strstr (vmshift_get_error (), "cannot create"));
    put ("file", "x");
    snprintf (out, sizeof out, "%s/file", tmp);
    cr_assert_eq (vmshift_guest_scripts (h, &o, out), -ENOTDIR);
    cr_assert_eq (vmshift_guest_scripts (h, &o, ""), -EINVAL);
    o.struct_size = 0;
    cr_assert_eq (vmshift_guest_scripts (h, &o, tmp), -EINVAL);
    vmshift_guest_opts_init (&o);
    o.os = 7;
    cr_assert_eq (vmshift_guest_scripts (h, &o, tmp), -EINVAL);
    vmshift_guest_opts_init (&o);
    o.reboot = "sometimes";
    cr_assert_eq (vmshift_guest_scripts (h, &o, tmp), -EINVAL);
    vmshift_guest_opts_init (&o);
    o.mode = VMSHIFT_GUEST_MODE_SCRIPT;
    cr_assert_eq (vmshift_guest_scripts (h, &o, tmp), -EINVAL);
    cr_assert (strstr (vmshift_get_error (),
                       "needs the administrator's script"));
    vmshift_guest_opts_init (&o);
    put ("admin.sh", "true\n");
    snprintf (out, sizeof out, "%s/admin.sh", tmp);
    o.admin_script = out;
    cr_assert_eq (vmshift_guest_scripts (h, &o, tmp), -EINVAL);
    cr_assert (strstr (vmshift_get_error (), "only used with mode 'script'"));
    put ("empty.sh", "");
    snprintf (out, sizeof out, "%s/empty.sh", tmp);
    o.mode = VMSHIFT_GUEST_MODE_SCRIPT;
    cr_assert_eq (vmshift_guest_scripts (h, &o, tmp), -EINVAL);
    cr_assert (strstr (vmshift_get_error (), "is empty"));
}

Test (guest_api, map_errors_name_the_file)
{
    struct vmshift_guest_opts o;
    char map[128], out[128];

    vmshift_guest_opts_init (&o);
    snprintf (map, sizeof map, "%s/map.json", tmp);
    snprintf (out, sizeof out, "%s/out", tmp);
    o.network_map = map;
    cr_assert_eq (vmshift_guest_scripts (h, &o, out), -ENOENT);
    put ("map.json", "{\"guest\": {\"nics\": [{\"name\": \"Ethernet 2\"}]}}");
    cr_assert_eq (vmshift_guest_scripts (h, &o, out), -EINVAL);
    cr_assert (strstr (vmshift_get_error (), "map.json': guest.nics[0].name: "
                       "'Ethernet 2' is not a Linux interface name"),
               "%s", vmshift_get_error ());
    o.os = VMSHIFT_GUEST_WINDOWS;
    cr_assert_eq (vmshift_guest_scripts (h, &o, out), 2, "%s",
                  vmshift_get_error ());
    put ("map.json", "{\"guest\": {\"nics\": [{\"name\": \"x\", \"addresses\": "
         "[\"1.2.3.4/24\\\"; reboot\"]}]}}");
    cr_assert_eq (vmshift_guest_scripts (h, &o, out), -EINVAL);
    cr_assert (strstr (vmshift_get_error (),
                       "map.json': guest.nics[0].addresses[0]"));
    cr_assert_eq (test_sh ("head -c 2000000 /dev/zero | tr '\\0' ' ' > '%s'",
                           map), 0);
    cr_assert_eq (vmshift_guest_scripts (h, &o, out), -EFBIG);
}

Test (guest_api, render_one_script)
{
    struct vmshift_guest_opts o;
    const char *const *names;
    char map[128];
    char *text = NULL;

    vmshift_guest_opts_init (&o);
    names = vmshift_guest_script_names (VMSHIFT_GUEST_LINUX);
    cr_assert_str_eq (names[0], "linux-prepare.sh");
    cr_assert_str_eq (names[1], "linux-reapply.sh");
    cr_assert_null (names[2]);
    cr_assert_null (vmshift_guest_script_names (9));
    put ("map.json", "{\"retain_mac\": false, \"guest\": {\"mode\": \"dhcp\", "
         "\"nics\": [{\"mac\": \"00:50:56:AA:BB:CC\", \"dhcp\": true}]}}");
    snprintf (map, sizeof map, "%s/map.json", tmp);
    o.network_map = map;
    cr_assert_eq (vmshift_guest_render (h, &o, "linux-reapply.sh", &text), 0);
    cr_assert (strstr (text, "\nVS_MODE='dhcp'\n"));
    cr_assert (strstr (text, "\nVS_RETAIN_MAC='no'\n"));
    cr_assert (strstr (text,
                       "\nVS_OVERRIDES='0.mac=00:50:56:aa:bb:cc\n"
                       "0.dhcp=yes'\n"));
    free (text);
    o.mode = VMSHIFT_GUEST_MODE_KEEP;
    cr_assert_eq (vmshift_guest_render (h, &o, "linux-reapply.sh", &text), 0);
    cr_assert (strstr (text, "\nVS_MODE='keep'\n"), "the option beats the map");
    free (text);
    text = NULL;
    cr_assert_eq (vmshift_guest_render (h, &o, "windows-reapply.ps1", &text),
                  -ENOENT);
    cr_assert_eq (vmshift_guest_render (h, &o, "embed.sh", &text), -ENOENT);
    cr_assert_null (text);
}
