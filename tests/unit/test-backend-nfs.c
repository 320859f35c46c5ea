/* engine/backend/nfs.c and the nfs:// case of vs_loc_read_whole.
 *
 * URL checks run everywhere.  The I/O tests need a real NFS server: they
 * run when VMSHIFT_TESTENV_* is exported (tests/integration/backend-nfs.sh
 * starts tools/testenv and runs this binary), and skip otherwise. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/backend/backend.h"
#include "engine/base/error.h"
#include "engine/location.h"

#define BIG (3u * 1024 * 1024 + 123)
#define GAP (5u * 1024 * 1024)

static const char *
env_or_skip (const char *name)
{
    const char *v = getenv (name);

    if (v == NULL || *v == '\0') {
        cr_skip_test ("needs %s: run tests/integration/backend-nfs.sh "
                      "(starts tools/testenv)", name);
    }
    return v;
}

/* nfs://SERVER/VOLUME?version=V&nfsport=..[&mountport=..] */
static void
make_url (char *buf, size_t n, int version, const char *tail)
{
    const char *server = env_or_skip ("VMSHIFT_TESTENV_NFS");
    const char *vols = env_or_skip ("VMSHIFT_TESTENV_VOLUMES");
    const char *nport = env_or_skip ("VMSHIFT_TESTENV_NFS_PORT");
    const char *mport = env_or_skip ("VMSHIFT_TESTENV_MOUNT_PORT");
    size_t vl = strcspn (vols, " ");

    if (version == 4) {
        snprintf (buf, n, "nfs://%s/%.*s%s?version=4&nfsport=%s", server,
                  (int) vl, vols, tail, nport);
    } else {
        snprintf (buf, n, "nfs://%s/%.*s%s?version=3&nfsport=%s&mountport=%s",
                  server, (int) vl, vols, tail, nport, mport);
    }
}

/* The same file seen on the server's side (VMSHIFT_TESTENV_ROOT). */
static void
local_path (char *buf, size_t n, const char *name)
{
    const char *vols = env_or_skip ("VMSHIFT_TESTENV_VOLUMES");

    snprintf (buf, n, "%s/%.*s/%s", env_or_skip ("VMSHIFT_TESTENV_ROOT"),
              (int) strcspn (vols, " "), vols, name);
}

static void
fill (unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (unsigned char) (seed >> 16);
    }
}

Test (nfs_url, bad_urls_are_refused_with_a_message)
{
    static const char *const bad[] = {
        "http://h/vol", "nfs://", "nfs:///vol", "nfs://h", "nfs://h?version=3",
        "nfs://h/vol?version=5", "nfs://h/vol?foo=1", "nfs://h/vol?nfsport=0",
        "nfs://h/vol?nfsport=70000", "nfs://h/vol?mountport=x",
        "nfs://h/vol?version", "nfs://u@h/vol",
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        clear_error ();
        cr_assert_null (be_nfs_new (NULL, bad[i]), "accepted '%s'", bad[i]);
        cr_assert_eq (vmshift_internal_error_errno (), EINVAL, "'%s'", bad[i]);
        cr_assert_not_null (strstr (vmshift_internal_error_msg (), bad[i]),
                            "message for '%s' does not name it: %s", bad[i],
                            vmshift_internal_error_msg ());
    }
}

Test (nfs_url, a_location_must_name_a_file_in_an_export)
{
    struct backend *b = NULL;
    char *path = NULL;

    cr_assert_eq (be_nfs_open_location (NULL, "nfs://h/vol", &b, &path), -EINVAL);
    cr_assert_eq (be_nfs_open_location (NULL, "nfs://h/vol/", &b, &path), -EINVAL);
    cr_assert_null (b);
    cr_assert_null (path);
}

Test (nfs_url, unreachable_server_fails_cleanly)
{
    /* Port 9 (discard) on loopback: nothing answers NFS there. */
    cr_assert_null (be_nfs_new (NULL, "nfs://127.0.0.1/vol?version=3&"
                                "nfsport=9&mountport=9"));
    cr_assert_lt (vmshift_internal_error_errno (), 1000);
    cr_assert_neq (vmshift_internal_error_errno (), 0);
    cr_assert_not_null (strstr (vmshift_internal_error_msg (), "127.0.0.1"));
}

static void
io_round_trip (struct backend *b, const char *name, int version)
{
    unsigned char *w = malloc (BIG), *r = malloc (BIG), z[4096];
    struct be_file *f = NULL, *f2 = NULL;
    char lp[4096];
    FILE *lf;

    cr_assert (w && r);
    fill (w, BIG, (unsigned) version);
    cr_assert_eq (backend_open (b, name, BE_CREATE | BE_RDWR, &f), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (backend_open (b, name, BE_CREATE | BE_RDWR, &f2), -EEXIST);
    cr_assert_not_null (strstr (vmshift_internal_error_msg (), name));
    /* Odd-sized calls: every transfer is short and must be looped. */
    be_nfs_set_max_io (b, 1000);
    cr_assert_eq (backend_pwrite (f, w, BIG, 0), 0, "%s",
                  vmshift_internal_error_msg ());
    be_nfs_set_max_io (b, 0);
    cr_assert_eq (backend_pwrite (f, w, 4096, GAP), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (backend_flush (f), 0);
    cr_assert_eq (backend_get_size (f), GAP + 4096);
    be_nfs_set_max_io (b, 777);
    cr_assert_eq (backend_pread (f, r, BIG, 0), 0, "%s",
                  vmshift_internal_error_msg ());
    be_nfs_set_max_io (b, 0);
    cr_assert_arr_eq (r, w, BIG);
    cr_assert_eq (backend_pread (f, z, sizeof z, GAP - sizeof z), 0);
    for (size_t i = 0; i < sizeof z; i++) {
        cr_assert_eq (z[i], 0, "hole not zero at %zu", i);
    }
    cr_assert_eq (backend_pread (f, z, sizeof z, GAP + 1), -EINVAL);
    cr_assert_geq (b->stats.bytes_written, (uint64_t) BIG + 4096);
    /* The bytes really are on the server. */
    local_path (lp, sizeof lp, name);
    lf = fopen (lp, "rb");
    cr_assert_not_null (lf, "cannot open '%s' on the server side", lp);
    cr_assert_eq (fread (r, 1, BIG, lf), BIG);
    fclose (lf);
    cr_assert_arr_eq (r, w, BIG);
    cr_assert_eq (backend_truncate (f, 1000), 0);
    cr_assert_eq (backend_get_size (f), 1000);
    backend_close (f);
    cr_assert_eq (backend_open (b, name, BE_RDONLY, &f), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (backend_pwrite (f, w, 10, 0), -EBADF);
    backend_close (f);
    free (w);
    free (r);
}

static int
collect (void *opaque, const char *n)
{
    char *seen = opaque;
    size_t l = strlen (seen);

    snprintf (seen + l, 256 - l, "%s/", n);
    return 0;
}

static void
dir_ops (struct backend *b, const char *name, int version)
{
    char d[64], moved[128], other[64], lp[4096], seen[256] = "";
    struct be_file *f = NULL;

    snprintf (d, sizeof d, "d-v%d-%d", version, (int) getpid ());
    snprintf (moved, sizeof moved, "%s/moved", d);
    snprintf (other, sizeof other, "o-v%d-%d", version, (int) getpid ());
    cr_assert_eq (backend_exists (b, name), 1);
    cr_assert_eq (backend_exists (b, "no-such-file"), 0);
    cr_assert_eq (backend_mkdir (b, d), 0, "%s", vmshift_internal_error_msg ());
    cr_assert_eq (backend_mkdir (b, d), -EEXIST);
    cr_assert_eq (backend_rename (b, name, moved, false), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (backend_exists (b, name), 0);
    cr_assert_eq (backend_open (b, other, BE_CREATE | BE_RDWR, &f), 0);
    backend_close (f);
    cr_assert_eq (backend_rename (b, other, moved, false), -EEXIST);
    cr_assert_eq (backend_rename (b, other, moved, true), 0);
    cr_assert_eq (backend_list (b, d, collect, seen), 0);
    cr_assert_str_eq (seen, "moved/");
    cr_assert_eq (backend_open (b, "no/such/file", BE_RDONLY, &f), -ENOENT);
    cr_assert_not_null (strstr (vmshift_internal_error_msg (), "no/such/file"));
    cr_assert_not_null (strstr (vmshift_internal_error_msg (),
                                getenv ("VMSHIFT_TESTENV_NFS")));
    cr_assert_eq (backend_unlink (b, moved), 0);
    cr_assert_eq (backend_unlink (b, moved), -ENOENT);
    local_path (lp, sizeof lp, d);
    cr_assert_eq (rmdir (lp), 0, "directory '%s' not empty or missing", lp);
}

static void
read_location (int version)
{
    char url[1024], lp[4096], name[32], *buf = NULL;
    size_t len = 0;
    FILE *lf;

    /* A name of its own per version: the file is made and removed behind
     * nfs-ganesha's back, and a name reused right after the other
     * version's unlink can meet a stale cached handle (NFS4ERR_NOENT). */
    snprintf (name, sizeof name, "loc-read-v%d-%d.txt", version,
              (int) getpid ());
    local_path (lp, sizeof lp, name);
    lf = fopen (lp, "w");
    cr_assert_not_null (lf);
    fputs ("descriptor text\n", lf);
    fclose (lf);
    snprintf (name, sizeof name, "/loc-read-v%d-%d.txt", version,
              (int) getpid ());
    make_url (url, sizeof url, version, name);
    cr_assert_eq (vs_loc_read_whole (NULL, url, 1024, &buf, &len), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (len, 16);
    cr_assert_str_eq (buf, "descriptor text\n");
    free (buf);
    cr_assert_eq (vs_loc_read_whole (NULL, url, 10, &buf, &len), -EFBIG);
    cr_assert_not_null (strstr (vmshift_internal_error_msg (), "loc-read-v"));
    make_url (url, sizeof url, version, "/missing.txt");
    cr_assert_eq (vs_loc_read_whole (NULL, url, 1024, &buf, &len), -ENOENT);
    unlink (lp);
}

static void
run_all (int version)
{
    char url[1024], name[64];
    struct backend *b;

    make_url (url, sizeof url, version, "");
    b = be_nfs_new (NULL, url);
    cr_assert_not_null (b, "%s", vmshift_internal_error_msg ());
    snprintf (name, sizeof name, "be-nfs-v%d-%d.bin", version, (int) getpid ());
    io_round_trip (b, name, version);
    dir_ops (b, name, version);
    backend_free (b);
    read_location (version);
    make_url (url, sizeof url, version, "-no-such-export");
    cr_assert_null (be_nfs_new (NULL, url));
    cr_assert_not_null (strstr (vmshift_internal_error_msg (), "no-such-export"),
                        "%s", vmshift_internal_error_msg ());
}

Test (nfs_io, version_3)
{
    run_all (3);
}

Test (nfs_io, version_4)
{
    run_all (4);
}
