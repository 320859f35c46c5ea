/* Small helpers: time, UUIDs, the seeded random stream, names. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/base/error.h"
#include "tools/ontap-sim/sim.h"

uint64_t
sim_now_ms (void)
{
    struct timespec ts;

    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

/* ONTAP prints times with an offset ("2021-06-14T18:43:08-04:00"). */
void
sim_iso_time (char *buf, size_t n)
{
    time_t t = time (NULL);
    struct tm tm;

    gmtime_r (&t, &tm);
    strftime (buf, n, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
}

static void
sim_uuid_format (const uint8_t b[16], char out[SIM_UUID_LEN])
{
    snprintf (out, SIM_UUID_LEN,
              "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
              "%02x%02x%02x%02x%02x%02x",
              b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
              b[10], b[11], b[12], b[13], b[14], b[15]);
}

void
sim_uuid_random (char out[SIM_UUID_LEN])
{
    uint8_t b[16];
    size_t got = 0;

    while (got < sizeof b) {
        ssize_t r = getrandom (b + got, sizeof b - got, 0);

        if (r <= 0) {
            /* Never fails on Linux >= 3.17 with a small buffer; keep
             * going with the seeded stream if it somehow does. */
            for (; got < sizeof b; got++) {
                b[got] = (uint8_t) (sim_rand01 () * 256);
            }
            break;
        }
        got += (size_t) r;
    }
    b[6] = (uint8_t) ((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t) ((b[8] & 0x3f) | 0x80);
    sim_uuid_format (b, out);
}

/* Stable UUIDs for volumes and the SVM, so they survive restarts:
 * two FNV-1a passes over the name. */
void
sim_uuid_from_name (const char *name, char out[SIM_UUID_LEN])
{
    uint64_t h1 = 0xcbf29ce484222325ull, h2 = 0x84222325cbf29ce4ull;
    uint8_t b[16];

    for (const unsigned char *p = (const unsigned char *) name; *p; p++) {
        h1 = (h1 ^ *p) * 0x100000001b3ull;
        h2 = (h2 ^ (unsigned) (*p + 7)) * 0x100000001b3ull;
    }
    /* splitmix64 finaliser: nearby names must not give similar UUIDs. */
    h1 = (h1 ^ (h1 >> 30)) * 0xbf58476d1ce4e5b9ull;
    h1 = (h1 ^ (h1 >> 27)) * 0x94d049bb133111ebull;
    h1 ^= h1 >> 31;
    h2 = (h2 ^ (h2 >> 30)) * 0xbf58476d1ce4e5b9ull;
    h2 = (h2 ^ (h2 >> 27)) * 0x94d049bb133111ebull;
    h2 ^= h2 >> 31;
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t) (h1 >> (8 * i));
        b[8 + i] = (uint8_t) (h2 >> (8 * i));
    }
    b[6] = (uint8_t) ((b[6] & 0x0f) | 0x50);
    b[8] = (uint8_t) ((b[8] & 0x3f) | 0x80);
    sim_uuid_format (b, out);
}

/* xorshift64*: reproducible fault decisions for a given --seed. */
double
sim_rand01 (void)
{
    uint64_t x = sim.rng ? sim.rng : 0x9e3779b97f4a7c15ull;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    sim.rng = x;
    return (double) ((x * 0x2545f4914f6cdd1dull) >> 11) / 9007199254740992.0;
}

int
sim_read_file (const char *path, size_t max, char **out, size_t *len)
{
    struct stat st;
    char *p;
    size_t done = 0;
    int fd = open (path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        return set_error (errno, "cannot open '%s': %s", path,
                          strerror (errno));
    }
    if (fstat (fd, &st) < 0 || (uint64_t) st.st_size > max) {
        close (fd);
        return set_error (EFBIG, "'%s' is missing or larger than %zu bytes",
                          path, max);
    }
    p = malloc ((size_t) st.st_size + 1);
    if (p == NULL) {
        close (fd);
        return set_error (ENOMEM, "out of memory reading '%s'", path);
    }
    while (done < (size_t) st.st_size) {
        ssize_t r = read (fd, p + done, (size_t) st.st_size - done);

        if (r <= 0) {
            if (r < 0 && errno == EINTR) {
                continue;
            }
            free (p);
            close (fd);
            return set_error (EIO, "cannot read '%s'", path);
        }
        done += (size_t) r;
    }
    close (fd);
    p[done] = '\0';
    *out = p;
    *len = done;
    return 0;
}

int
sim_valid_name (const char *s)
{
    size_t n = strlen (s);

    if (n == 0 || n >= SIM_NAME_MAX || s[0] == '.' || strchr (s, '/')) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char) s[i] < 0x20) {
            return 0;
        }
    }
    return 1;
}

int
sim_rel_path (const char *in, char *out, size_t outsz)
{
    size_t o = 0;
    const char *p = in;

    if (in[0] == '/') {
        return -EINVAL;
    }
    while (*p) {
        const char *e = strchr (p, '/');
        size_t n = e ? (size_t) (e - p) : strlen (p);

        if ((n == 2 && p[0] == '.' && p[1] == '.')) {
            return -EINVAL;
        }
        if (n > 0 && !(n == 1 && p[0] == '.')) {
            if (o + n + 2 > outsz) {
                return -EINVAL;
            }
            if (o > 0) {
                out[o++] = '/';
            }
            memcpy (out + o, p, n);
            o += n;
        }
        p += n;
        while (*p == '/') {
            p++;
        }
    }
    if (o == 0) {
        return -EINVAL;
    }
    out[o] = '\0';
    return 0;
}

bool
sim_in_snapshot (const char *rel)
{
    return strncmp (rel, ".snapshot", 9) == 0 &&
           (rel[9] == '\0' || rel[9] == '/');
}
