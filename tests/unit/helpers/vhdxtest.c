/* See vhdxtest.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/base/error.h"
#include "vhdxtest.h"

char *
vt_tmpdir (void)
{
    const char *t = getenv ("TMPDIR");
    char buf[PATH_MAX];

    snprintf (buf, sizeof buf, "%s/vmshift-vhdx-XXXXXX", t && *t ? t : "/tmp");
    if (mkdtemp (buf) == NULL) {
        return NULL;
    }
    return strdup (buf);
}

void
vt_rmdir (char *dir)
{
    if (dir) {
        (void) test_sh ("rm -rf '%s'", dir);
        free (dir);
    }
}

/* xorshift64*: deterministic bytes, different per segment and seed. */
static uint64_t
vt_rand (uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C (2685821657736338717);
}

int
vt_make_raw (const char *path, uint64_t size, const struct vt_seg *segs,
             size_t nsegs, unsigned seed)
{
    int fd = open (path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    uint8_t *buf = malloc (1 << 20);
    int r = 0;

    if (fd < 0 || buf == NULL || ftruncate (fd, (off_t) size) < 0) {
        r = -errno;
        goto out;
    }
    for (size_t i = 0; i < nsegs && r == 0; i++) {
        uint64_t st = (uint64_t) seed * 1000003 + i * 7919 + 1;

        for (uint64_t done = 0; done < segs[i].len && r == 0;) {
            size_t n = segs[i].len - done > (1 << 20) ? (1 << 20)
                                                      : segs[i].len - done;

            for (size_t k = 0; k < n; k += 8) {
                uint64_t v = vt_rand (&st);

                memcpy (buf + k, &v, n - k < 8 ? n - k : 8);
            }
            if (pwrite (fd, buf, n, (off_t) (segs[i].off + done)) !=
                (ssize_t) n) {
                r = -EIO;
            }
            done += n;
        }
    }
out:
    free (buf);
    if (fd >= 0) {
        close (fd);
    }
    return r;
}

void
vt_opts (struct fmt_plan_opts *o, const char *target, uint32_t bs, bool fixed)
{
    memset (o, 0, sizeof *o);
    o->target_name = target;
    o->block_size = bs;
    o->vhdx_fixed = fixed;
    o->clone_align = FMT_CLONE_BLOCK;
    o->creator = "vmshift test";
    for (int i = 0; i < 16; i++) {
        o->guid_file_write[i] = (uint8_t) (0x10 + i);
        o->guid_data_write[i] = (uint8_t) (0x30 + i);
        o->disk_id[i] = (uint8_t) (0x50 + i);
    }
}

int
vt_convert (const char *raw, const char *dir, const struct fmt_plan_opts *o,
            uint64_t *meta_bytes, uint64_t *data_off)
{
    struct test_io *t = test_io_open (raw);
    struct fmt_extent_list map;
    struct fmt_source_info info = { 0 };
    struct fmt_layout lay;
    int r;

    if (t == NULL) {
        return -errno ? -errno : -EIO;
    }
    fmt_extents_init (&map);
    fmt_layout_init (&lay);
    r = fmt_read_map (test_io_fmt (t), FMT_RAW, &map, &info);
    if (r == 0) {
        r = fmt_plan (FMT_VHDX, &info, &map, o, &lay);
    }
    if (r == 0) {
        r = test_exec_layout (&lay, t, dir);
    }
    if (r == 0 && meta_bytes) {
        *meta_bytes = lay.meta_bytes;
    }
    if (r == 0 && data_off) {
        *data_off = lay.data_offset;
    }
    fmt_layout_release (&lay);
    fmt_extents_release (&map);
    test_io_close (t);
    return r;
}

static bool
vt_zero_at (const struct fmt_extent_list *m, uint64_t off, uint64_t *end)
{
    const struct fmt_extent *e = &m->v.ptr[fmt_extents_find (m, off)];

    *end = e->guest_off + e->len;
    return e->kind == FMT_EXT_ZERO;
}

int
vt_compare (struct test_io *a, const struct fmt_extent_list *ma,
            struct test_io *b, const struct fmt_extent_list *mb)
{
    const size_t bufsz = 4 << 20;
    uint8_t *x = malloc (bufsz), *y = malloc (bufsz);
    uint64_t off = 0;
    int r = 0;

    if (ma->size != mb->size) {
        r = 1;
    }
    while (r == 0 && off < ma->size) {
        uint64_t ea, eb, end;
        bool za = vt_zero_at (ma, off, &ea), zb = vt_zero_at (mb, off, &eb);
        size_t n;

        end = ea < eb ? ea : eb;
        if (za && zb) {
            off = end;
            continue;
        }
        n = end - off > bufsz ? bufsz : (size_t) (end - off);
        r = test_read_guest (a, ma, off, x, n);
        if (r == 0) {
            r = test_read_guest (b, mb, off, y, n);
        }
        if (r == 0 && memcmp (x, y, n) != 0) {
            r = 1;
        }
        off += n;
    }
    free (x);
    free (y);
    return r;
}

uint8_t *
vt_slurp (const char *path, size_t *len)
{
    FILE *f = fopen (path, "rb");
    uint8_t *buf = NULL;
    long n;

    if (f == NULL) {
        return NULL;
    }
    if (fseek (f, 0, SEEK_END) == 0 && (n = ftell (f)) >= 0 &&
        fseek (f, 0, SEEK_SET) == 0 && (buf = malloc ((size_t) n + 1)) &&
        fread (buf, 1, (size_t) n, f) == (size_t) n) {
        *len = (size_t) n;
    } else {
        free (buf);
        buf = NULL;
    }
    fclose (f);
    return buf;
}

int
vt_spit (const char *path, const void *buf, size_t len)
{
    FILE *f = fopen (path, "wb");
    int r = 0;

    if (f == NULL) {
        return -errno;
    }
    if (fwrite (buf, 1, len, f) != len) {
        r = -EIO;
    }
    if (fclose (f) != 0) {
        r = -EIO;
    }
    return r;
}
