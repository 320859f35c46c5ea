/* hypervisors/guest-render.c: golden files of the rendered scripts
 * (tests/data/guest/golden/; VMSHIFT_REGENERATE=1 rewrites them, review
 * the diff), and the quoting that keeps any value inert. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/base/error.h"
#include "engine/vmshift.h"
#include "helpers/testio.h"
#include "hypervisors/guest.h"

static const char *
top_dir (void)
{
    const char *t = getenv ("VMSHIFT_TOP");

    return t && *t ? t : ".";
}

static char *
slurp (const char *path, size_t *len)
{
    FILE *f = fopen (path, "rb");
    char *buf;
    long n;

    if (f == NULL) {
        return NULL;
    }
    fseek (f, 0, SEEK_END);
    n = ftell (f);
    fseek (f, 0, SEEK_SET);
    buf = malloc ((size_t) n + 1);
    cr_assert_not_null (buf);
    cr_assert_eq (fread (buf, 1, (size_t) n, f), (size_t) n);
    buf[n] = '\0';
    fclose (f);
    if (len) {
        *len = (size_t) n;
    }
    return buf;
}

static void
spit (const char *path, const char *text, size_t len)
{
    FILE *f = fopen (path, "wb");

    cr_assert_not_null (f, "cannot write %s", path);
    cr_assert_eq (fwrite (text, 1, len, f), len);
    fclose (f);
}

/* Compare text with golden file NAME, or write it when regenerating. */
static void
golden (const char *name, const char *text)
{
    char path[4096];
    const char *regen = getenv ("VMSHIFT_REGENERATE");
    char *want;

    snprintf (path, sizeof path, "%s/tests/data/guest/golden/%s", top_dir (),
              name);
    if (regen && strcmp (regen, "1") == 0) {
        spit (path, text, strlen (text));
        return;
    }
    want = slurp (path, NULL);
    cr_assert_not_null (want, "missing golden file %s (VMSHIFT_REGENERATE=1 "
                        "writes it)", path);
    if (strcmp (want, text) != 0) {
        char got[4200];

        snprintf (got, sizeof got, "%s.got", path);
        spit (got, text, strlen (text));
        cr_assert_fail ("%s differs from the rendering (written to %s; "
                        "diff them, and regenerate if the change is right)",
                        path, got);
    }
    free (want);
}

static void
render_golden (enum vmshift_guest_os os, enum vmshift_guest_mode mode,
               const char *map, const char *admin, const char *name,
               const char *gold)
{
    struct vmshift_handle *h = vmshift_new ();
    struct vmshift_guest_opts o;
    char mpath[4096], apath[4096];
    char *text = NULL;
    int r;

    vmshift_guest_opts_init (&o);
    o.os = os;
    o.mode = mode;
    if (map) {
        snprintf (mpath, sizeof mpath, "%s/tests/data/guest/%s", top_dir (),
                  map);
        o.network_map = mpath;
    }
    if (admin) {
        snprintf (apath, sizeof apath, "%s/tests/data/guest/%s", top_dir (),
                  admin);
        o.admin_script = apath;
    }
    r = vmshift_guest_render (h, &o, name, &text);
    cr_assert_eq (r, 0, "render %s: %s", name, vmshift_get_error ());
    golden (gold, text);
    free (text);
    vmshift_free (h);
}

Test (guest_render, golden_linux)
{
    render_golden (VMSHIFT_GUEST_LINUX, VMSHIFT_GUEST_MODE_DEFAULT,
                   "map-full.json", NULL, "linux-prepare.sh",
                   "linux-prepare.sh");
    render_golden (VMSHIFT_GUEST_LINUX, VMSHIFT_GUEST_MODE_DEFAULT,
                   "map-full.json", NULL, "linux-reapply.sh",
                   "linux-reapply.sh");
    render_golden (VMSHIFT_GUEST_LINUX, VMSHIFT_GUEST_MODE_SCRIPT, NULL,
                   "admin.sh", "linux-reapply.sh", "linux-reapply-script.sh");
}

Test (guest_render, golden_windows)
{
    render_golden (VMSHIFT_GUEST_WINDOWS, VMSHIFT_GUEST_MODE_DEFAULT,
                   "map-full.json", NULL, "windows-prepare.ps1",
                   "windows-prepare.ps1");
    render_golden (VMSHIFT_GUEST_WINDOWS, VMSHIFT_GUEST_MODE_DHCP,
                   "map-full.json", NULL, "windows-reapply.ps1",
                   "windows-reapply.ps1");
    render_golden (VMSHIFT_GUEST_WINDOWS, VMSHIFT_GUEST_MODE_SCRIPT, NULL,
                   "admin.ps1", "windows-reapply.ps1",
                   "windows-reapply-script.ps1");
}

/* The sources carry the defaults: rendering with nothing set gives them
 * back unchanged, so the scripts run as they are for testing. */
Test (guest_render, defaults_reproduce_the_sources)
{
    struct hv_guest_cfg cfg = { .os = HV_GUEST_LINUX, .retain_mac = -1,
                                .remove_tools = -1 };

    cr_assert_geq (hv_guest_nfiles, 4);
    for (size_t i = 0; i < hv_guest_nfiles; i++) {
        const struct hv_guest_file *f = &hv_guest_files[i];
        char *out = NULL;
        size_t len;

        cfg.os = strstr (f->name, ".ps1") ? HV_GUEST_WINDOWS : HV_GUEST_LINUX;
        cr_assert_eq (hv_guest_render ((const char *) f->data, f->len, f->name,
                                       &cfg, &out, &len), 0, "%s: %s", f->name,
                      vmshift_internal_error_msg ());
        cr_assert_eq (len, f->len, "%s", f->name);
        cr_assert (memcmp (out, f->data, len) == 0, "%s changed", f->name);
        free (out);
    }
    cr_assert_not_null (hv_guest_file ("linux-reapply.sh"));
    cr_assert_null (hv_guest_file ("embed.sh"),
                    "the build helper is not shipped");
}

static const char *const block_src =
    "#!/bin/sh\n"
    "# >>> vmshift settings (test)\n"
    "VS_HOOK='auto'\n"
    "VS_MODE='retain'\n"
    "vs_admin_script() {\n"
    "    :\n"
    "}\n"
    "# <<< vmshift settings\n"
    "echo \"hook=$VS_HOOK\"\n"
    "vs_admin_script\n";

/* Run a rendered sh script and return its output. */
static char *
run_sh (const char *text)
{
    char dir[] = "/tmp/vmshift-render-XXXXXX";
    char path[256], out[256];
    char *res;

    cr_assert_not_null (mkdtemp (dir));
    snprintf (path, sizeof path, "%s/s.sh", dir);
    snprintf (out, sizeof out, "%s/out", dir);
    spit (path, text, strlen (text));
    cr_assert_eq (test_sh ("cd %s && sh ./s.sh > out 2>&1", dir), 0);
    res = slurp (out, NULL);
    cr_assert_eq (test_sh ("rm -rf %s", dir), 0);
    return res;
}

/* Values the validators would refuse still cannot escape their quotes:
 * the renderer quotes everything it writes. */
Test (guest_render, sh_quoting_keeps_values_inert)
{
    struct hv_guest_cfg cfg = { .os = HV_GUEST_LINUX, .retain_mac = -1,
                                .remove_tools = -1 };
    const char *hostile = "a'b\"c $(touch /tmp/vmshift-pwned) `id` \\ ;x";
    char *out, *res, want[256];
    size_t len;

    unlink ("/tmp/vmshift-pwned");
    cfg.hook = hostile;
    cr_assert_eq (hv_guest_render (block_src, strlen (block_src), "t.sh", &cfg,
                                   &out, &len), 0);
    res = run_sh (out);
    snprintf (want, sizeof want, "hook=%s\n", hostile);
    cr_assert_str_eq (res, want);
    cr_assert_neq (access ("/tmp/vmshift-pwned", F_OK), 0, "a value ran");
    free (res);
    free (out);
}

/* The administrator's script comes out of its here-document byte for
 * byte, even when one of its lines is the usual delimiter. */
Test (guest_render, admin_script_heredoc)
{
    const char *script = "echo 'x' \"$HOME\" `id -u` $(true)\n"
                         "VMSHIFT_ADMIN_SCRIPT_END\n"
                         "VMSHIFT_ADMIN_SCRIPT_END_0\n"
                         "no final newline";
    struct hv_guest_cfg cfg = { .os = HV_GUEST_LINUX, .retain_mac = -1,
                                .remove_tools = -1, .admin_script = script,
                                .admin_script_len = strlen (script) };
    char *out, *res, want[512];
    size_t len;

    cr_assert_eq (hv_guest_render (block_src, strlen (block_src), "t.sh", &cfg,
                                   &out, &len), 0);
    cr_assert (strstr (out, "cat <<'VMSHIFT_ADMIN_SCRIPT_END_1'\n"));
    res = run_sh (out);
    snprintf (want, sizeof want, "hook=auto\n%s\n", script);
    cr_assert_str_eq (res, want);
    free (res);
    free (out);
    cfg.admin_script_len = 3;
    cfg.admin_script = "a\0b";
    cr_assert_eq (hv_guest_render (block_src, strlen (block_src), "t.sh", &cfg,
                                   &out, &len), -EINVAL);
}

Test (guest_render, powershell_quoting)
{
    static const char src[] =
        "# >>> vmshift settings\n"
        "$VsMode = 'retain'\n"
        "$VsOverrides = @()\n"
        "# <<< vmshift settings\n";
    struct hv_guest_nic nic = { .dhcp = -1 };
    struct hv_guest_cfg cfg = { .os = HV_GUEST_WINDOWS, .retain_mac = -1,
                                .remove_tools = -1, .nics = &nic, .nnics = 1 };
    char *out;
    size_t len;

    /* Bypass the validators: the quoting alone must hold. */
    snprintf (nic.gw4, sizeof nic.gw4, "a'b");
    cr_assert_eq (hv_guest_render (src, sizeof src - 1, "t.ps1", &cfg, &out,
                                   &len), 0);
    cr_assert (strstr (out, "Gateway4 = 'a''b'\n"), "%s", out);
    free (out);
    /* U+2019 is a quote to PowerShell: refused rather than emitted. */
    snprintf (nic.gw4, sizeof nic.gw4, "a\xe2\x80\x99");
    cr_assert_eq (hv_guest_render (src, sizeof src - 1, "t.ps1", &cfg, &out,
                                   &len), -EINVAL);
    snprintf (nic.gw4, sizeof nic.gw4, "a\nb");
    cr_assert_eq (hv_guest_render (src, sizeof src - 1, "t.ps1", &cfg, &out,
                                   &len), -EINVAL);
}

Test (guest_render, bad_templates_and_names)
{
    struct hv_guest_nic nic = { .dhcp = -1 };
    struct hv_guest_cfg cfg = { .os = HV_GUEST_LINUX, .retain_mac = -1,
                                .remove_tools = -1 };
    const char *nob = "#!/bin/sh\necho hi\n";
    const char *open_block = "# >>> vmshift settings\nVS_MODE='x'\n";
    const char *unknown = "# >>> vmshift settings\nVS_BOGUS='x'\n"
                          "# <<< vmshift settings\n";
    char *out;
    size_t len;

    cr_assert_eq (hv_guest_render (nob, strlen (nob), "n.sh", &cfg, &out, &len),
                  -EINVAL);
    cr_assert (strstr (vmshift_internal_error_msg (), "'n.sh': no complete"));
    cr_assert_eq (hv_guest_render (open_block, strlen (open_block), "o.sh",
                                   &cfg,
                                   &out, &len), -EINVAL);
    cr_assert_eq (hv_guest_render (unknown, strlen (unknown), "u.sh", &cfg,
                                   &out, &len), -EINVAL);
    cr_assert (strstr (vmshift_internal_error_msg (),
                       "unknown setting 'VS_BOGUS'"));
    snprintf (nic.name, sizeof nic.name, "Ethernet 2");
    cfg.nics = &nic;
    cfg.nnics = 1;
    cr_assert_eq (hv_guest_render (block_src, strlen (block_src), "t.sh", &cfg,
                                   &out, &len), -EINVAL);
    cr_assert (strstr (vmshift_internal_error_msg (),
                       "not a Linux interface name"));
    cfg.os = HV_GUEST_WINDOWS;
    cr_assert_eq (hv_guest_render (block_src, strlen (block_src), "t.sh", &cfg,
                                   &out, &len), 0);
    free (out);
}
