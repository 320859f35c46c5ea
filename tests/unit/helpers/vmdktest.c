/* See vmdktest.h. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/base/error.h"
#include "vmdktest.h"

char vt_dir[512];

void
vt_setup (void)
{
    const char *tmp = getenv ("TMPDIR");

    snprintf (vt_dir, sizeof vt_dir, "%s/vmshift-vmdk-XXXXXX",
              tmp && *tmp ? tmp : "/tmp");
    cr_assert_not_null (mkdtemp (vt_dir), "mkdtemp: %s", strerror (errno));
}

void
vt_cleanup (void)
{
    /* VMSHIFT_KEEP_TMP=1 keeps the files for a post-mortem. */
    if (vt_dir[0] && getenv ("VMSHIFT_KEEP_TMP") == NULL) {
        test_sh ("rm -rf '%s'", vt_dir);
        vt_dir[0] = '\0';
    }
}

const char *
vt_path (int slot, const char *name)
{
    static char buf[4][1024];

    snprintf (buf[slot & 3], sizeof buf[0], "%s/%s", vt_dir, name);
    return buf[slot & 3];
}

void
vt_need (const char *tools)
{
    const char *p = tools;

    while (*p) {
        size_t n = strcspn (p, " ");

        if (n && test_sh ("command -v %.*s >/dev/null 2>&1", (int) n, p)) {
            cr_skip_test ("%.*s is not installed", (int) n, p);
        }
        p += n;
        p += strspn (p, " ");
    }
}

static int
vt_vsh (const char *fmt, va_list ap, char *cmd, size_t n)
{
    char inner[6144];

    vsnprintf (inner, sizeof inner, fmt, ap);
    snprintf (cmd, n, "%s", inner);
    return test_sh ("cd '%s' && { %s ; }", vt_dir, inner);
}

void
vt_run (const char *fmt, ...)
{
    char cmd[6144];
    va_list ap;
    int st;

    va_start (ap, fmt);
    st = vt_vsh (fmt, ap, cmd, sizeof cmd);
    va_end (ap);
    cr_assert_eq (st, 0, "command failed (%d): %s", st, cmd);
}

int
vt_status (const char *fmt, ...)
{
    char cmd[6144];
    va_list ap;
    int st;

    va_start (ap, fmt);
    st = vt_vsh (fmt, ap, cmd, sizeof cmd);
    va_end (ap);
    return st;
}

void
vt_map (const char *path, struct vt_disk *d)
{
    int r;

    memset (d, 0, sizeof *d);
    d->t = test_io_open (path);
    cr_assert_not_null (d->t, "open %s: %s", path,
                        vmshift_internal_error_msg ());
    fmt_extents_init (&d->map);
    r = vmdk_read_map (test_io_fmt (d->t), &d->map, &d->info);
    cr_assert_eq (r, 0, "read_map %s: %s", path, vmshift_internal_error_msg ());
    cr_assert_eq (fmt_extents_check (&d->map), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (d->info.type, FMT_VMDK);
}

void
vt_map_fails (const char *path, int err, const char *msg)
{
    struct test_io *t = test_io_open (path);
    struct fmt_extent_list m;
    struct fmt_source_info info;
    int r;

    cr_assert_not_null (t);
    fmt_extents_init (&m);
    memset (&info, 0, sizeof info);
    r = vmdk_read_map (test_io_fmt (t), &m, &info);
    cr_assert_eq (r, -err, "read_map %s gave %d (%s), want %d", path, r,
                  vmshift_internal_error_msg (), -err);
    cr_assert (strstr (vmshift_internal_error_msg (), msg),
               "message '%s' lacks '%s'", vmshift_internal_error_msg (), msg);
    cr_assert_eq (m.v.len, 0, "failed read_map left a map behind");
    fmt_extents_release (&m);
    test_io_close (t);
}

void
vt_close (struct vt_disk *d)
{
    fmt_extents_release (&d->map);
    test_io_close (d->t);
    d->t = NULL;
}

#define VT_CHUNK ((size_t) 1 << 20)

static bool
vt_raw_hole (int fd, uint64_t off, uint64_t n)
{
    off_t d = lseek (fd, (off_t) off, SEEK_DATA);

    return d < 0 || (uint64_t) d >= off + n;
}

void
vt_compare_raw (struct vt_disk *d, const char *raw)
{
    int fd = open (raw, O_RDONLY);
    uint8_t *a = malloc (VT_CHUNK), *b = malloc (VT_CHUNK);
    struct stat st;
    size_t hint = 0;

    cr_assert (fd >= 0 && a && b, "open %s", raw);
    cr_assert_eq (fstat (fd, &st), 0);
    cr_assert_eq ((uint64_t) st.st_size, d->map.size,
                  "raw reference is %lld bytes, the map %llu",
                  (long long) st.st_size, (unsigned long long) d->map.size);
    for (uint64_t off = 0; off < d->map.size; off += VT_CHUNK) {
        size_t n = d->map.size - off < VT_CHUNK ? (size_t) (d->map.size - off)
                                                : VT_CHUNK;

        if (fmt_extents_is_zero (&d->map, off, n, &hint) &&
            vt_raw_hole (fd, off, n)) {
            continue;
        }
        cr_assert_eq (test_read_guest (d->t, &d->map, off, a, n), 0,
                      "read guest at %llu: %s", (unsigned long long) off,
                      vmshift_internal_error_msg ());
        cr_assert_eq (pread (fd, b, n, (off_t) off), (ssize_t) n);
        if (memcmp (a, b, n) != 0) {
            size_t i = 0;

            while (a[i] == b[i]) {
                i++;
            }
            cr_assert_fail ("guest byte %llu is 0x%02x, reference 0x%02x",
                            (unsigned long long) (off + i), a[i], b[i]);
        }
    }
    close (fd);
    free (a);
    free (b);
}

void
vt_validate_clean (const char *path)
{
    struct test_io *t = test_io_open (path);
    struct fmt_problems p;
    struct fmt_source_info info;

    cr_assert_not_null (t);
    fmt_problems_init (&p);
    memset (&info, 0, sizeof info);
    cr_assert_eq (vmdk_validate (test_io_fmt (t), &p, &info), 0);
    cr_assert_eq (p.n, 0, "%s: %zu problems, first: %s", path, p.n,
                  p.n ? p.msg[0] : "");
    cr_assert_eq (info.type, FMT_VMDK);
    fmt_problems_release (&p);
    test_io_close (t);
}

size_t
vt_count_kind (const struct fmt_extent_list *m, int kind)
{
    size_t n = 0;

    for (size_t i = 0; i < m->v.len; i++) {
        n += m->v.ptr[i].kind == kind;
    }
    return n;
}

void
vt_pwrite (const char *path, const void *buf, size_t n, uint64_t off)
{
    int fd = open (path, O_WRONLY | O_CREAT, 0644);

    cr_assert (fd >= 0, "open %s: %s", path, strerror (errno));
    cr_assert_eq (pwrite (fd, buf, n, (off_t) off), (ssize_t) n);
    close (fd);
}

void
vt_write_text (const char *path, const char *text)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    size_t n = strlen (text);

    cr_assert (fd >= 0, "open %s: %s", path, strerror (errno));
    cr_assert_eq (write (fd, text, n), (ssize_t) n);
    close (fd);
}
