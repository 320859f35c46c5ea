/* ontap/config.c and ontap/location.c: the profiles file, password
 * sources and their checks, and ontap:// locations. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/base/error.h"
#include "helpers/ontap-fake.h"

#define PW "correct-horse-battery"

static char tmpdir[256];

static void
mk_tmp (void)
{
    snprintf (tmpdir, sizeof tmpdir, "/tmp/vmshift-ontap-cfg-XXXXXX");
    cr_assert_not_null (mkdtemp (tmpdir));
}

static void
rm_tmp (void)
{
    char cmd[512];

    snprintf (cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    cr_assert_eq (system (cmd), 0);
}

TestSuite (config, .init = mk_tmp, .fini = rm_tmp);
TestSuite (password, .init = mk_tmp, .fini = rm_tmp);

static int
parse (const char *profile_body, struct ontap_profile **out,
       const struct logger *lg)
{
    char buf[8192];

    snprintf (buf, sizeof buf, "{\"profiles\": {\"p\": {%s}}}", profile_body);
    return ontap_profile_parse (buf, strlen (buf), "'cfg.json'", "p", lg, out);
}

#define BASE "\"cluster\": \"https://10.0.0.5:443/\", \"username\": \"admin\""

Test (config, full_profile)
{
    struct ontap_profile *p = NULL;

    cr_assert_eq (parse (BASE ", \"password_file\": \"/etc/vmshift/pw\", "
                         "\"client_cert\": \"/c.pem\", \"client_key\": "
                         "\"/k.pem\", \"fingerprint_sha256\": \"sha256 "
                         "Fingerprint=ab:cd:EF:01:23:45:67:89:ab:cd:ef:01:23:"
                         "45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:"
                         "67:89\", \"svm\": \"svm0\", \"nfs\": {\"server\": "
                         "\"10.0.0.6\", \"version\": 3, \"port\": 2049, "
                         "\"mount_port\": 635}, \"max_ranges_per_call\": 16, "
                         "\"return_timeout\": 120, \"job_deadline\": 900", &p,
                         NULL), 0, "%s", vmshift_internal_error_msg ());
    cr_assert_str_eq (p->name, "p");
    cr_assert_str_eq (p->cluster, "https://10.0.0.5:443");
    cr_assert_str_eq (p->username, "admin");
    cr_assert_str_eq (p->password_file, "/etc/vmshift/pw");
    cr_assert_str_eq (p->fingerprint_sha256, "AB:CD:EF:01:23:45:67:89:AB:CD:"
                      "EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:"
                      "23:45:67:89");
    cr_assert_str_eq (p->client_cert, "/c.pem");
    cr_assert_str_eq (p->svm, "svm0");
    cr_assert_str_eq (p->nfs.server, "10.0.0.6");
    cr_assert_eq (p->nfs.version, 3);
    cr_assert_eq (p->nfs.port, 2049);
    cr_assert_eq (p->nfs.mount_port, 635);
    cr_assert_eq (p->max_ranges_per_call, 16);
    cr_assert_eq (p->return_timeout, 120);
    cr_assert_eq (p->job_deadline, 900);
    cr_assert_not (p->insecure);
    ontap_profile_free (p);
}

Test (config, defaults_and_unknown_keys_warn)
{
    struct ontap_profile *p = NULL;
    struct log_capture lc;
    char buf[1024];

    log_capture_init (&lc, 0);
    snprintf (buf, sizeof buf, "{\"profiles\": {\"p\": {" BASE ", "
              "\"password_env\": \"X\", \"colour\": \"blue\", \"nfs\": "
              "{\"speed\": 9}}}, \"extra\": 1}");
    cr_assert_eq (ontap_profile_parse (buf, strlen (buf), "'cfg.json'", "p",
                                       &lc.lg, &p), 0);
    cr_assert_eq (p->max_ranges_per_call, 32);
    cr_assert_eq (p->return_timeout, 30);
    cr_assert_eq (p->job_deadline, 600);
    cr_assert_null (p->svm);
    cr_assert (strstr (lc.all.data, "1|'cfg.json': profile 'p': unknown key "
                       "'colour' ignored"));
    cr_assert (strstr (lc.all.data, "unknown key 'speed' ignored"));
    cr_assert (strstr (lc.all.data, "1|'cfg.json': unknown key 'extra' "
                       "ignored"));
    ontap_profile_free (p);
    log_capture_release (&lc);
}

Test (config, refusals)
{
    static const struct {
        const char *body, *msg;
    } t[] = {
        { "\"username\": \"a\", \"password_env\": \"X\"", "'cluster' is "
          "missing" },
        { "\"cluster\": \"http://h\", \"username\": \"a\", \"password_env\": "
          "\"X\"", "must look like 'https://host[:port]'" },
        { "\"cluster\": \"https://h/api\", \"username\": \"a\", "
          "\"password_env\": \"X\"", "must look like" },
        { "\"cluster\": \"https://\", \"username\": \"a\", \"password_env\": "
          "\"X\"", "must look like" },
        { "\"cluster\": 5, \"username\": \"a\", \"password_env\": \"X\"",
          "'cluster' is a number, expected a string" },
        { BASE ", \"password_file\": \"pw.txt\"", "must be an absolute path" },
        { BASE ", \"password_file\": \"/pw\", \"password_env\": \"X\"",
          "choose one of 'password_file' and 'password_env'" },
        { BASE ", \"password\": \"" PW "\"", "passwords are not read from the "
          "configuration" },
        { BASE, "no credentials" },
        { "\"cluster\": \"https://h\", \"password_env\": \"X\"", "needs a "
          "'username'" },
        { "\"cluster\": \"https://h\", \"username\": \"a:b\", \"password_env\":"
          " \"X\"", "cannot contain ':'" },
        { BASE ", \"password_env\": \"X\", \"ca_file\": \"/ca\", \"insecure\": "
          "true", "choose one of 'ca_file', 'fingerprint_sha256' and "
          "'insecure'" },
        { BASE ", \"password_env\": \"X\", \"fingerprint_sha256\": \"AB:CD\"",
          "has 4 hex digits, expected 64" },
        { BASE ", \"password_env\": \"X\", \"fingerprint_sha256\": \"zz\"",
          "must be 32 hex bytes" },
        { BASE ", \"password_env\": \"X\", \"insecure\": \"yes\"",
          "'insecure' must be true or false" },
        { BASE ", \"password_env\": \"X\", \"pinned_pubkey\": \"abc\"",
          "must start with 'sha256//'" },
        { BASE ", \"password_env\": \"X\", \"client_cert\": \"/c\"",
          "'client_cert' and 'client_key' go together" },
        { BASE ", \"password_env\": \"X\", \"return_timeout\": 121",
          "'return_timeout' must be an integer from 0 to 120" },
        { BASE ", \"password_env\": \"X\", \"max_ranges_per_call\": 0",
          "'max_ranges_per_call' must be an integer from 1" },
        { BASE ", \"password_env\": \"X\", \"job_deadline\": \"600\"",
          "'job_deadline' must be an integer" },
        { BASE ", \"password_env\": \"X\", \"nfs\": {\"version\": 5}",
          "'version' must be an integer from 3 to 4" },
        { BASE ", \"password_env\": \"X\", \"nfs\": []", "'nfs' must be an "
          "object" },
        { BASE ", \"password_env\": \"\"", "'password_env' is empty" },
    };

    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct ontap_profile *p = NULL;

        cr_expect_eq (parse (t[i].body, &p, NULL), -EINVAL, "row %zu", i);
        cr_expect (strstr (vmshift_internal_error_msg (), t[i].msg),
                   "row %zu: '%s' lacks '%s'", i, vmshift_internal_error_msg (),
                   t[i].msg);
        cr_expect (strstr (vmshift_internal_error_msg (), "'cfg.json': "
                           "profile 'p': "), "row %zu", i);
        cr_expect_null (strstr (vmshift_internal_error_msg (), PW));
        ontap_profile_free (p);
    }
}

Test (config, bad_documents)
{
    struct ontap_profile *p = NULL;

    cr_assert_eq (ontap_profile_parse ("{\"profiles\": {", 13, "'c'", "p",
                                       NULL, &p), -EINVAL);
    cr_assert (strstr (vmshift_internal_error_msg (), "'c': malformed JSON"));
    cr_assert_eq (ontap_profile_parse ("[]", 2, "'c'", "p", NULL, &p), -EINVAL);
    cr_assert_eq (ontap_profile_parse ("{\"profiles\": {}}", 16, "'c'", "p",
                                       NULL, &p), -ENOENT);
    cr_assert_str_eq (vmshift_internal_error_msg (), "'c': no profile 'p'");
    cr_assert_eq (ontap_profile_parse ("{\"profiles\": {\"p\": 1}}", 22, "'c'",
                                       "p", NULL, &p), -EINVAL);
}

static void
write_file (const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen (path, "w");

    cr_assert_not_null (f);
    fputs (text, f);
    fclose (f);
    cr_assert_eq (chmod (path, mode), 0);
}

Test (config, load_from_file_and_default_path)
{
    struct ontap_profile *p = NULL;
    char path[512], dir[512], *def = NULL;

    snprintf (path, sizeof path, "%s/config.json", tmpdir);
    write_file (path, "{\"profiles\": {\"lab\": {\"cluster\": \"https://sim:"
                "8443\", \"username\": \"u\", \"password_env\": \"X\"}}}",
                0644);
    cr_assert_eq (ontap_profile_load (path, "lab", NULL, &p), 0);
    cr_assert_str_eq (p->cluster, "https://sim:8443");
    ontap_profile_free (p);
    setenv ("VMSHIFT_CONFIG", path, 1);
    cr_assert_eq (ontap_profile_load (NULL, "lab", NULL, &p), 0);
    ontap_profile_free (p);
    cr_assert_eq (ontap_config_default_path (&def), 0);
    cr_assert_str_eq (def, path);
    free (def);
    unsetenv ("VMSHIFT_CONFIG");
    setenv ("XDG_CONFIG_HOME", "/xdg", 1);
    cr_assert_eq (ontap_config_default_path (&def), 0);
    cr_assert_str_eq (def, "/xdg/vmshift/config.json");
    free (def);
    unsetenv ("XDG_CONFIG_HOME");
    setenv ("HOME", "/home/u", 1);
    cr_assert_eq (ontap_config_default_path (&def), 0);
    cr_assert_str_eq (def, "/home/u/.config/vmshift/config.json");
    free (def);
    snprintf (dir, sizeof dir, "%s/none.json", tmpdir);
    cr_assert_eq (ontap_profile_load (dir, "lab", NULL, &p), -ENOENT);
    cr_assert (strstr (vmshift_internal_error_msg (), "none.json"));
}

/* ---------------------------------------------------------- password */

static int
profile_with_file (const char *file, struct ontap_profile **p)
{
    char body[1024];

    snprintf (body, sizeof body, BASE ", \"password_file\": \"%s\"", file);
    return parse (body, p, NULL);
}

Test (password, file_0600_read_and_newline_dropped)
{
    struct ontap_profile *p = NULL;
    char path[512], *pw = NULL;

    snprintf (path, sizeof path, "%s/pw", tmpdir);
    write_file (path, PW "\n", 0600);
    cr_assert_eq (profile_with_file (path, &p), 0);
    cr_assert_eq (ontap_profile_password (p, &pw), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_str_eq (pw, PW);
    ontap_password_free (pw);
    write_file (path, PW, 0400);
    cr_assert_eq (ontap_profile_password (p, &pw), 0);
    cr_assert_str_eq (pw, PW);
    ontap_password_free (pw);
    ontap_profile_free (p);
}

Test (password, group_or_world_readable_refused)
{
    static const mode_t modes[] = { 0644, 0640, 0604, 0660, 0601 };
    struct ontap_profile *p = NULL;
    char path[512], want[600], *pw = NULL;

    snprintf (path, sizeof path, "%s/pw", tmpdir);
    write_file (path, PW, 0600);
    cr_assert_eq (profile_with_file (path, &p), 0);
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        cr_assert_eq (chmod (path, modes[i]), 0);
        cr_expect_eq (ontap_profile_password (p, &pw), -EACCES, "mode %o",
                      modes[i]);
        snprintf (want, sizeof want, "password file '%s' has mode %04o; it "
                  "must be 0600 or stricter", path, (unsigned) modes[i]);
        cr_expect (strstr (vmshift_internal_error_msg (), want), "%s",
                   vmshift_internal_error_msg ());
        cr_expect_null (strstr (vmshift_internal_error_msg (), PW));
    }
    ontap_profile_free (p);
}

Test (password, other_owner_symlink_dir_empty_refused)
{
    struct ontap_profile *p = NULL;
    char path[512], link[512], *pw = NULL;

    snprintf (path, sizeof path, "%s/pw", tmpdir);
    snprintf (link, sizeof link, "%s/link", tmpdir);
    write_file (path, PW, 0600);
    cr_assert_eq (symlink (path, link), 0);
    cr_assert_eq (profile_with_file (link, &p), 0);
    cr_assert_eq (ontap_profile_password (p, &pw), -ELOOP);
    cr_assert (strstr (vmshift_internal_error_msg (), link));
    ontap_profile_free (p);
    cr_assert_eq (profile_with_file (tmpdir, &p), 0);
    cr_assert_eq (ontap_profile_password (p, &pw), -EINVAL);
    cr_assert (strstr (vmshift_internal_error_msg (), "not a regular file"));
    ontap_profile_free (p);
    write_file (path, "\n", 0600);
    cr_assert_eq (profile_with_file (path, &p), 0);
    cr_assert_eq (ontap_profile_password (p, &pw), -EINVAL);
    cr_assert (strstr (vmshift_internal_error_msg (), "is empty"));
    if (geteuid () == 0) {
        write_file (path, PW, 0600);
        cr_assert_eq (chown (path, 65534, 65534), 0);
        cr_assert_eq (ontap_profile_password (p, &pw), -EACCES);
        cr_assert (strstr (vmshift_internal_error_msg (), "is owned by uid "
                           "65534, not by us"));
        cr_assert_null (strstr (vmshift_internal_error_msg (), PW));
    }
    ontap_profile_free (p);
}

Test (password, from_environment)
{
    struct ontap_profile *p = NULL;
    char *pw = NULL;

    cr_assert_eq (parse (BASE ", \"password_env\": \"VMSHIFT_T_PW\"", &p,
                         NULL), 0);
    unsetenv ("VMSHIFT_T_PW");
    cr_assert_eq (ontap_profile_password (p, &pw), -ENOENT);
    cr_assert_str_eq (vmshift_internal_error_msg (), "profile 'p': environment "
                      "variable 'VMSHIFT_T_PW' (password_env) is not set");
    setenv ("VMSHIFT_T_PW", PW, 1);
    cr_assert_eq (ontap_profile_password (p, &pw), 0);
    cr_assert_str_eq (pw, PW);
    ontap_password_free (pw);
    ontap_profile_free (p);
}

Test (password, never_logged_by_client_or_curl)
{
    struct fake_transport *f = fake_new ();
    struct log_capture lc;
    struct ontap_profile *p = NULL;
    struct ontap_client *c = NULL;
    struct ontap_reply rep = { 0 };
    char path[512];

    log_capture_init (&lc, LOGM_ALL);
    snprintf (path, sizeof path, "%s/pw", tmpdir);
    write_file (path, PW, 0600);
    cr_assert_eq (profile_with_file (path, &p), 0);
    cr_assert_eq (ontap_client_new_take (p, &lc.lg, &f->t, &c), 0);
    fake_push (f, 401, "{\"error\": {\"message\": \"bad password\"}}");
    cr_assert_eq (ontap_call (c, "GET", "/api/cluster", NULL, 0, &rep),
                  -EKEYREJECTED);
    cr_assert (strstr (fake_header (&f->reqs[0], "Authorization:"), "Basic "));
    cr_assert_null (strstr (lc.all.data, PW));
    cr_assert_null (strstr (lc.all.data, "Basic "));
    cr_assert_null (strstr (vmshift_internal_error_msg (), PW));
    ontap_client_free (c);
    /* a refused password file names the file, never the password */
    chmod (path, 0644);
    cr_assert_lt (ontap_client_new_take (p, &lc.lg, &fake_new ()->t, &c), 0);
    cr_assert (strstr (vmshift_internal_error_msg (), path));
    cr_assert_null (strstr (vmshift_internal_error_msg (), PW));
    ontap_profile_free (p);
    log_capture_release (&lc);
}

Test (config, insecure_warns)
{
    struct log_capture lc;
    struct ontap_profile *p = NULL;
    struct ontap_client *c = NULL;

    log_capture_init (&lc, 0);
    setenv ("X", "pw", 1);
    cr_assert_eq (parse (BASE ", \"password_env\": \"X\", \"insecure\": true",
                         &p, NULL), 0);
    cr_assert (p->insecure);
    cr_assert_eq (ontap_client_new (p, &lc.lg, &c), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert (strstr (lc.all.data, "1|profile 'p': TLS certificate "
                       "verification is off ('insecure')"));
    ontap_client_free (c);
    ontap_profile_free (p);
    log_capture_release (&lc);
}

/* --------------------------------------------------------- locations */

Test (location, parse_good)
{
    struct ontap_location l;

    cr_assert_eq (ontap_location_parse ("ontap://prod-1/ds_01/vm1/vm1-flat."
                                        "vmdk", &l), 0);
    cr_assert_str_eq (l.profile, "prod-1");
    cr_assert_str_eq (l.volume, "ds_01");
    cr_assert_str_eq (l.path, "vm1/vm1-flat.vmdk");
    ontap_location_release (&l);
    cr_assert_eq (ontap_location_parse ("ontap://p/_v/.snapshot/s/a b/é.vmdk",
                                        &l), 0);
    cr_assert_str_eq (l.path, ".snapshot/s/a b/é.vmdk");
    ontap_location_release (&l);
}

Test (location, parse_strict)
{
    static const char *const bad[] = {
        "ontap://", "ontap://p", "ontap://p/", "ontap://p/v", "ontap://p/v/",
        "ontap://p/v/a//b", "ontap://p/v/../x", "ontap://p/v/a/..",
        "ontap://p/v/a/./b", "ontap://p/1vol/x", "ontap://p/vol-x/y",
        "ontap://p q/v/x", "ontap://../v/x", "ontap:///v/x", "nfs://h/v/x",
        "ontap://p/v/a\\b", "ontap://p/v/a\tb", "ontap://p/v/\xc3\x28",
        "ontap://p/v//x", "ontap://p/v/x/",
    };
    struct ontap_location l;
    char longvol[300];

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_expect_eq (ontap_location_parse (bad[i], &l), -EINVAL, "'%s'",
                      bad[i]);
        cr_expect (strstr (vmshift_internal_error_msg (), "bad ONTAP location"),
                   "%s", vmshift_internal_error_msg ());
    }
    memset (longvol, 'v', sizeof longvol);
    memcpy (longvol, "ontap://p/", 10);
    longvol[10 + 204] = '\0';
    cr_assert_eq (ontap_location_parse (longvol, &l), -EINVAL);
    longvol[10 + 203] = '\0';
    strcat (longvol, "/x");
    cr_assert_eq (ontap_location_parse (longvol, &l), 0);
    ontap_location_release (&l);
    cr_assert_eq (ontap_location_parse ("ontap://p/v/a/../b", &l), -EINVAL);
    cr_assert_str_eq (vmshift_internal_error_msg (), "bad ONTAP location "
                      "'ontap://p/v/a/../b': has a '.' or '..' component "
                      "(expected ontap://PROFILE/VOLUME/path)");
}

Test (location, same_volume_rule)
{
    struct ontap_location a, b, c;

    cr_assert_eq (ontap_location_parse ("ontap://p/ds1/vm/a-flat.vmdk", &a), 0);
    cr_assert_eq (ontap_location_parse ("ontap://p/ds1/hv/a.vhdx", &b), 0);
    cr_assert_eq (ontap_location_parse ("ontap://p/ds2/hv/a.vhdx", &c), 0);
    cr_assert_eq (ontap_location_same_volume (&a, &b), 0);
    cr_assert_eq (ontap_location_same_volume (&a, &c), -EXDEV);
    cr_assert_str_eq (vmshift_internal_error_msg (), "source "
                      "'ontap://p/ds1/vm/a-flat.vmdk' and target "
                      "'ontap://p/ds2/hv/a.vhdx' are on different volumes; "
                      "ONTAP clones files only within one volume");
    ontap_location_release (&a);
    ontap_location_release (&b);
    ontap_location_release (&c);
}

Test (location, snapshot_path)
{
    char *s = NULL;

    cr_assert_eq (ontap_snapshot_path ("vmshift-1", "vm/a-flat.vmdk", &s), 0);
    cr_assert_str_eq (s, ".snapshot/vmshift-1/vm/a-flat.vmdk");
    free (s);
    cr_assert_eq (ontap_snapshot_path ("a/b", "x", &s), -EINVAL);
    cr_assert_eq (ontap_snapshot_path ("..", "x", &s), -EINVAL);
    cr_assert_eq (ontap_snapshot_path ("s", "../x", &s), -EINVAL);
}
