/* See qcow2test.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/base/error.h"
#include "qcow2test.h"
#include "testio.h"

char *
qt_tmpdir (void)
{
    const char *t = getenv ("TMPDIR");
    char buf[4096];

    snprintf (buf, sizeof buf, "%s/vmshift-qcow2.XXXXXX", t && *t ? t : "/tmp");
    if (mkdtemp (buf) == NULL) {
        return NULL;
    }
    return strdup (buf);
}

void
qt_rmdir (char *dir)
{
    if (dir) {
        test_sh ("rm -rf '%s'", dir);
    }
    free (dir);
}

int
qt_sh_out (char *out, size_t cap, const char *fmt, ...)
{
    char cmd[8192];
    size_t n = 0;
    va_list ap;
    FILE *f;
    int st;

    va_start (ap, fmt);
    vsnprintf (cmd, sizeof cmd, fmt, ap);
    va_end (ap);
    f = popen (cmd, "r");
    if (f == NULL) {
        return -1;
    }
    for (;;) {
        char tmp[4096];
        size_t k = fread (tmp, 1, sizeof tmp, f);

        if (k == 0) {
            break;
        }
        if (out && n + 1 < cap) {
            size_t c = k < cap - 1 - n ? k : cap - 1 - n;

            memcpy (out + n, tmp, c);
            n += c;
        }
    }
    if (out && cap) {
        out[n] = '\0';
    }
    st = pclose (f);
    if (st == -1 || !WIFEXITED (st)) {
        return -1;
    }
    return WEXITSTATUS (st);
}

bool
qt_have (const char *tool)
{
    return test_sh ("command -v '%s' >/dev/null 2>&1", tool) == 0;
}

int
qt_make_raw (const char *path, uint64_t size, const struct qt_piece *p,
             size_t n, unsigned seed)
{
    int fd = open (path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    uint64_t x = seed * UINT64_C (0x9e3779b97f4a7c15) + 1;
    uint8_t buf[65536];

    if (fd < 0 || ftruncate (fd, (off_t) size) < 0) {
        if (fd >= 0) {
            close (fd);
        }
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        for (uint64_t d = 0; d < p[i].len;) {
            size_t k = p[i].len - d < sizeof buf ? (size_t) (p[i].len - d)
                                                 : sizeof buf;

            for (size_t j = 0; j < k; j++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                buf[j] = (uint8_t) (x >> 24) | 1;   /* never a zero byte */
            }
            if (pwrite (fd, buf, k, (off_t) (p[i].off + d)) != (ssize_t) k) {
                close (fd);
                return -1;
            }
            d += k;
        }
    }
    close (fd);
    return 0;
}

/* Guest range [off, off+n) read through the map vs the raw file. */
static int
qt_compare_range (struct test_io *t, const struct fmt_extent_list *map,
                  int rfd, uint64_t off, size_t n, uint8_t *a, uint8_t *b,
                  char *why, size_t whylen)
{
    ssize_t got;

    if (test_read_guest (t, map, off, a, n) < 0) {
        snprintf (why, whylen, "reading guest offset %llu: %s",
                  (unsigned long long) off, vmshift_internal_error_msg ());
        return -1;
    }
    got = pread (rfd, b, n, (off_t) off);
    if (got < 0) {
        got = 0;
    }
    memset (b + got, 0, n - (size_t) got);
    if (memcmp (a, b, n) == 0) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i]) {
            snprintf (why, whylen, "guest byte %llu differs (image 0x%02x, "
                      "raw 0x%02x)", (unsigned long long) (off + i), a[i],
                      b[i]);
            break;
        }
    }
    return -1;
}

/* Compare in 1 MiB chunks, skipping chunks that are holes on both sides
 * (ZERO in the map and no data in the raw file). */
static int
qt_compare_bytes (struct test_io *t, const struct fmt_extent_list *map,
                  int rfd, char *why, size_t whylen)
{
    size_t chunk = 1 << 20, hint = 0;
    uint8_t *a = malloc (chunk), *b = malloc (chunk);
    int rc = 0;

    if (!a || !b) {
        snprintf (why, whylen, "out of memory");
        rc = -1;
    }
    for (uint64_t off = 0; rc == 0 && off < map->size; off += chunk) {
        size_t n = map->size - off < chunk ? (size_t) (map->size - off) : chunk;
        off_t d = lseek (rfd, (off_t) off, SEEK_DATA);

        if (fmt_extents_is_zero (map, off, n, &hint) &&
            (d < 0 || (uint64_t) d >= off + n)) {
            continue;
        }
        rc = qt_compare_range (t, map, rfd, off, n, a, b, why, whylen);
    }
    free (a);
    free (b);
    return rc;
}

int
qt_compare_image (const char *img, const char *raw, char *why, size_t whylen,
                  struct fmt_source_info *info, struct fmt_extent_list *map_out)
{
    struct test_io *t = test_io_open (img);
    struct fmt_extent_list map;
    struct fmt_source_info si;
    int rfd = open (raw, O_RDONLY), rc;

    fmt_extents_init (&map);
    if (t == NULL || rfd < 0) {
        snprintf (why, whylen, "cannot open '%s' or '%s'", img, raw);
        rc = -1;
    } else if (fmt_read_map (test_io_fmt (t), FMT_UNKNOWN, &map, &si) < 0) {
        snprintf (why, whylen, "read_map: %s", vmshift_internal_error_msg ());
        rc = -1;
    } else {
        rc = qt_compare_bytes (t, &map, rfd, why, whylen);
        if (info) {
            *info = si;
        }
    }
    if (map_out && rc == 0) {
        *map_out = map;
    } else {
        fmt_extents_release (&map);
    }
    if (rfd >= 0) {
        close (rfd);
    }
    test_io_close (t);
    return rc;
}

int
qt_validate (const char *img, char *first, size_t cap)
{
    struct test_io *t = test_io_open (img);
    struct fmt_problems probs;
    struct fmt_source_info info;
    int r;

    if (t == NULL) {
        return -ENOENT;
    }
    fmt_problems_init (&probs);
    r = fmt_validate (test_io_fmt (t), FMT_QCOW2, &probs, &info);
    if (first && cap) {
        snprintf (first, cap, "%s", probs.n ? probs.msg[0] :
                  r < 0 ? vmshift_internal_error_msg () : "");
    }
    if (r == 0) {
        r = (int) (probs.n + probs.dropped);
    }
    fmt_problems_release (&probs);
    test_io_close (t);
    return r;
}

uint8_t *
qt_slurp (const char *path, size_t *len)
{
    struct stat st;
    uint8_t *buf;
    int fd = open (path, O_RDONLY);

    if (fd < 0 || fstat (fd, &st) < 0) {
        if (fd >= 0) {
            close (fd);
        }
        return NULL;
    }
    buf = malloc (st.st_size ? (size_t) st.st_size : 1);
    if (buf && pread (fd, buf, (size_t) st.st_size, 0) != st.st_size) {
        free (buf);
        buf = NULL;
    }
    close (fd);
    *len = (size_t) st.st_size;
    return buf;
}
