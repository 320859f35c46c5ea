/* vmshift bench: metadata-only conversion time against disk size.
 *
 * For each size it makes a thin flat VMDK (an ESXi-style descriptor and
 * a sparse -flat file with a little data) in --dir, converts it to each
 * format --runs times, each run in a child process so peak memory is
 * the conversion's own, and reports the median wall time (as measured by
 * the library around read_map..rename), metadata bytes and peak RSS.
 * With --qemu-img it also times `qemu-img convert` against vmshift on a
 * fully written flat VMDK and runs `qemu-img measure` for the qcow2
 * metadata comparison.  With --process it also times the whole command
 * as a user does (fork+exec of 'vmshift convert' to its exit, and the
 * start-up alone as 'vmshift --help'), beside the library's clock.
 * Child processes are run with argv vectors, never through a shell.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tools/vmshift/bench.h"
#include "tools/vmshift/cli.h"

extern char **environ;

#define BENCH_ALIGN ((uint64_t) 2 << 20)

struct bench_opts {
    const char *dir;
    uint64_t sizes[BENCH_MAX_SIZES];
    size_t nsizes;
    const char *formats[BENCH_MAX_FORMATS];
    size_t nformats;
    int runs;
    uint64_t data_bytes;
    int qemu;
    uint64_t qemu_size;
    int qemu_runs;
    int json;
    const char *svg;
    int keep;
    uint32_t block_size;
    uint32_t cluster_size;
    int vhdx_unallocated;       /* enum vmshift_vhdx_unallocated */
    const char *ontap;          /* ontap://PROFILE/VOLUME/DIR */
    const char *inventory;      /* vCenter profile */
    const char *local_dir;      /* the same directory seen locally */
    int vms, disks_per_vm;
    uint64_t ontap_size;
    unsigned parallel;
    int process;                /* --process: whole-command timings too */
    int migrate;                /* --migrate: a whole migration run */
    const char *uri;            /* --uri: libvirt connection (--migrate) */
    long kill_after_ms;         /* --kill-after MS (--migrate) */
    int vms_set, disks_set, formats_set;
    int runs_set;
    char self[PATH_MAX];        /* this vmshift, for --process */
};

struct bench_qemu {
    int ran;
    char error[256];
    double qemu_ms;
    double ours_ms;
    double ratio;
    double ours_proc_ms;        /* --process: whole 'vmshift convert' */
    double ratio_proc;          /* qemu_ms / ours_proc_ms */
    uint64_t size;
    /* qemu-img measure vs our qcow2 metadata, per size */
    uint64_t measure_meta[BENCH_MAX_SIZES];
    int have_measure[BENCH_MAX_SIZES];
};

static void
bench_usage (FILE *fp)
{
    fprintf (fp,
"Usage: vmshift bench [OPTIONS]\n"
"\n"
"Measure metadata-only conversion of thin flat VMDKs against disk size.\n"
"\n"
"  --dir DIR          where to make the sources (a reflink filesystem:\n"
"                     XFS with reflink=1 or Btrfs; default .)\n"
"  --sizes LIST       virtual sizes (default 1G,16G,256G,1T,16T,64T)\n"
"  --formats LIST     target formats (default vhdx,qcow2,raw); FORMAT:fixed\n"
"                     converts with --fixed (vhd:fixed, the VHD Azure takes)\n"
"  --runs N           conversions per cell, median reported (default 5)\n"
"  --data SIZE        random data written into each thin disk (default 64M)\n"
"  --block-size N     VHDX block size (default 32M)\n"
"  --vhdx-unallocated zero|not-present  VHDX blocks without data (as\n"
"                     'vmshift convert'; default zero)\n"
"  --cluster-size N   QCOW2 cluster size (default 2M)\n"
"  --qemu-img         also time 'qemu-img convert' on a fully written flat\n"
"                     VMDK (--qemu-size, default 1G) and run 'qemu-img measure'\n"
"  --qemu-size SIZE   size of that fully written disk\n"
"  --qemu-runs N      qemu-img conversions (default 3)\n"
"  --json             print the results as JSON\n"
"  --svg FILE         write a plot of time against size\n"
"  --keep             keep the generated disks\n"
"  --process          also time the whole command as a user does: fork+exec\n"
"                     of 'vmshift convert' to its exit (median of --runs,\n"
"                     default 9 with --process), and the start-up alone as\n"
"                     'vmshift --help'\n"
"\n"
"ONTAP (instead of the local table):\n"
"  --ontap LOCATION   ontap://PROFILE/VOLUME/DIR where to make and convert\n"
"                     the disks (to VHDX, all in one run: one snapshot)\n"
"  --local-dir DIR    the same directory seen locally (where the disks are\n"
"                     made: the test environment's volume, or an NFS mount)\n"
"  --vms N            VMs (default 10)\n"
"  --disks-per-vm N   disks per VM (default 4)\n"
"  --disk-size SIZE   thin disk size (default 1T)\n"
"  --parallel N       conversions in flight (default 10)\n"
"\n"
"Migration (instead of the local table; with --ontap and --local-dir):\n"
"  --migrate          a whole 'vmshift migrate' of a wave (preflight to\n"
"                     complete) of --vms VMs (default 40) x --disks-per-vm\n"
"                     thin disks (default 2) to libvirt, --parallel\n"
"                     conversions at once; the run stores are made in --dir\n"
"  --uri URI          libvirt connection (default test:///default)\n"
"  --formats FMT      target disk format (default raw)\n"
"  --kill-after MS    also kill one run MS after its start (SIGKILL) and\n"
"                     resume it: the REST requests of the resume\n"
"\n"
"vCenter (instead of the local table):\n"
"  --inventory PROFILE  time the whole inventory of vCenter profile PROFILE\n"
"                     (--runs times): wall time, SOAP round trips, peak RSS\n"
"  -h, --help         this help\n");
}

static double
bench_now (void)
{
    struct timespec ts;

    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int
bench_parse_list (struct cli *c, const char *s, int sizes,
                  struct bench_opts *o)
{
    char *copy = strdup (s), *save = NULL;

    if (copy == NULL) {
        return -1;
    }
    for (char *t = strtok_r (copy, ",", &save); t; t = strtok_r (NULL, ",", &save)) {
        if (sizes) {
            long long v = cli_parse_size (t);

            if (v < 4096 || o->nsizes == BENCH_MAX_SIZES ||
                v > (64LL << 40) || v % 512) {
                cli_usage_error (c, "bench", "bad size '%s' (512-byte multiple,"
                                 " 4K..64T, at most %d sizes)", t,
                                 BENCH_MAX_SIZES);
                free (copy);
                return -1;
            }
            o->sizes[o->nsizes++] = (uint64_t) v;
        } else {
            enum vmshift_format f;
            char *colon = strchr (t, ':');
            char *fixed = NULL;

            if (colon && strcmp (colon, ":fixed") == 0) {
                *colon = '\0';
            } else if (colon) {
                cli_usage_error (c, "bench", "bad format '%s' (FORMAT or "
                                 "FORMAT:fixed)", t);
                free (copy);
                return -1;
            }
            if (o->nformats == BENCH_MAX_FORMATS) {
                cli_usage_error (c, "bench", "at most %d formats",
                                 BENCH_MAX_FORMATS);
                free (copy);
                return -1;
            }
            if (vmshift_format_from_name (t, &f) < 0 ||
                (colon && asprintf (&fixed, "%s:fixed",
                                    vmshift_format_name (f)) < 0)) {
                cli_usage_error (c, "bench", "bad format '%s'", t);
                free (copy);
                return -1;
            }
            /* the ":fixed" names live as long as the command */
            o->formats[o->nformats++] = fixed ? fixed : vmshift_format_name (f);
        }
    }
    free (copy);
    return 0;
}

static void
bench_fill_random (uint8_t *buf, size_t n, uint64_t *state)
{
    uint64_t x = *state;

    for (size_t i = 0; i + 8 <= n; i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy (buf + i, &x, 8);
    }
    *state = x;
}

/* Write 'bytes' of random data into fd: whole file when full, otherwise
 * spread over four 2 MiB-aligned places. */
static int
bench_write_data (int fd, uint64_t size, uint64_t bytes, int full)
{
    size_t chunk = 1 << 20;
    uint8_t *buf = malloc (chunk);
    uint64_t state = 0x9e3779b97f4a7c15ULL ^ size;
    uint64_t starts[4], per;
    int nplaces = full ? 1 : 4;

    if (buf == NULL) {
        return -1;
    }
    if (full) {
        starts[0] = 0;
        per = size;
    } else {
        per = bytes / 4 / BENCH_ALIGN * BENCH_ALIGN;
        if (per == 0) {
            per = BENCH_ALIGN;
        }
        for (int i = 0; i < 4; i++) {
            uint64_t s = size / 4 * (uint64_t) i / BENCH_ALIGN * BENCH_ALIGN;

            if (s + per > size) {
                s = size > per ? (size - per) / BENCH_ALIGN * BENCH_ALIGN : 0;
            }
            starts[i] = s;
        }
    }
    for (int p = 0; p < nplaces; p++) {
        for (uint64_t off = 0; off < per && starts[p] + off < size; off += chunk) {
            size_t n = per - off < chunk ? (size_t) (per - off) : chunk;

            if (starts[p] + off + n > size) {
                n = (size_t) (size - starts[p] - off);
            }
            bench_fill_random (buf, n, &state);
            if (pwrite (fd, buf, n, (off_t) (starts[p] + off)) != (ssize_t) n) {
                free (buf);
                return -1;
            }
        }
    }
    free (buf);
    return 0;
}

/* An ESXi-style thin disk: NAME.vmdk (createType vmfs) + NAME-flat.vmdk. */
static int
bench_make_disk (const char *dir, const char *name, uint64_t size,
                 uint64_t data, int full, char *desc_path, size_t n)
{
    char flat[PATH_MAX];
    FILE *fp;
    int fd;

    snprintf (flat, sizeof flat, "%s/%s-flat.vmdk", dir, name);
    snprintf (desc_path, n, "%s/%s.vmdk", dir, name);
    fd = open (flat, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf (stderr, "vmshift: bench: cannot create '%s': %s\n", flat,
                 strerror (errno));
        return -1;
    }
    errno = EIO;        /* a short pwrite leaves errno alone */
    if (ftruncate (fd, (off_t) size) < 0 ||
        bench_write_data (fd, size, data, full) < 0 || fsync (fd) < 0) {
        fprintf (stderr, "vmshift: bench: cannot write '%s': %s\n", flat,
                 strerror (errno));
        close (fd);
        unlink (flat);  /* do not leave a (possibly huge) sparse file */
        return -1;
    }
    close (fd);
    fp = fopen (desc_path, "w");
    if (fp == NULL) {
        fprintf (stderr, "vmshift: bench: cannot create '%s': %s\n", desc_path,
                 strerror (errno));
        unlink (flat);
        return -1;
    }
    fprintf (fp, "# Disk DescriptorFile\nversion=1\nencoding=\"UTF-8\"\n"
             "CID=fffffffe\nparentCID=ffffffff\ncreateType=\"vmfs\"\n\n"
             "# Extent description\nRW %llu VMFS \"%s-flat.vmdk\"\n\n"
             "# The Disk Data Base\n#DDB\n\nddb.adapterType = \"lsilogic\"\n"
             "ddb.geometry.cylinders = \"%llu\"\nddb.geometry.heads = \"255\"\n"
             "ddb.geometry.sectors = \"63\"\nddb.thinProvisioned = \"1\"\n"
             "ddb.virtualHWVersion = \"14\"\n",
             (unsigned long long) (size / 512), name,
             (unsigned long long) (size / 512 / (255 * 63) > 65535
                                   ? 65535 : size / 512 / (255 * 63)));
    if (fclose (fp) != 0) {
        fprintf (stderr, "vmshift: bench: cannot write '%s': %s\n", desc_path,
                 strerror (errno));
        unlink (desc_path);
        unlink (flat);
        return -1;
    }
    return 0;
}

static void
bench_remove_outputs (const char *target)
{
    char buf[PATH_MAX + 32];
    const char *dot = strrchr (target, '.');
    int stem = dot ? (int) (dot - target) : (int) strlen (target);

    unlink (target);
    snprintf (buf, sizeof buf, "%.*s-flat.vmdk", stem, target);
    unlink (buf);
    snprintf (buf, sizeof buf, "%.*s-data.raw", stem, target);
    unlink (buf);
}

struct bench_child_msg {
    int ok;
    double ms;
    double meta_ms;
    uint64_t metadata;
    uint64_t metadata_logical;
    uint64_t metadata_cloned;
    uint64_t cloned;
    uint64_t copied;
    int all_shared;
    long maxrss;
    char error[256];
};

/* "vhd:fixed" -> "vhd" in name, true; "vhd" -> "vhd", false. */
static bool
bench_split_format (const char *fmt, char *name, size_t n)
{
    const char *colon = strchr (fmt, ':');

    snprintf (name, n, "%.*s", colon ? (int) (colon - fmt) : (int) strlen (fmt),
              fmt);
    return colon != NULL;
}

static void
bench_child (struct cli *c, const struct bench_opts *bo, const char *src,
             const char *dst, const char *fmt, int wfd)
{
    struct bench_child_msg m = { 0 };
    struct vmshift_convert_opts o;
    struct vmshift_result *res = NULL;
    struct vmshift_handle *h = vmshift_new ();
    char name[32];

    (void) c;
    vmshift_convert_opts_init (&o);
    if (bench_split_format (fmt, name, sizeof name)) {
        o.vhdx_fixed = 1;
    }
    vmshift_format_from_name (name, &o.to);
    o.block_size = bo->block_size;
    o.cluster_size = bo->cluster_size;
    o.vhdx_unallocated = bo->vhdx_unallocated;
    if (h && vmshift_convert (h, src, dst, &o, &res) == 0) {
        const struct vmshift_stats *st = vmshift_result_stats (res);

        m.ok = 1;
        m.ms = st->wall_seconds * 1000;
        m.meta_ms = st->seconds_metadata * 1000;
        m.metadata = st->bytes_metadata;
        m.metadata_logical = st->bytes_metadata_logical;
        m.metadata_cloned = st->bytes_metadata_cloned;
        m.cloned = st->bytes_cloned;
        m.copied = st->bytes_copied;
        m.all_shared = st->all_shared;
    } else {
        snprintf (m.error, sizeof m.error, "%s", vmshift_get_error ());
    }
    bench_child_send (wfd, &m, sizeof m, &m.maxrss);
}

static int
bench_one_run (struct cli *c, const struct bench_opts *bo, const char *src,
               const char *dst, const char *fmt, struct bench_child_msg *m)
{
    int pfd[2], st;
    pid_t pid;
    ssize_t n;

    if (pipe (pfd) < 0) {
        return -1;
    }
    fflush (NULL);
    pid = fork ();
    if (pid < 0) {
        close (pfd[0]);
        close (pfd[1]);
        return -1;
    }
    if (pid == 0) {
        close (pfd[0]);
        bench_child (c, bo, src, dst, fmt, pfd[1]);
    }
    close (pfd[1]);
    n = read (pfd[0], m, sizeof *m);
    close (pfd[0]);
    waitpid (pid, &st, 0);
    if (n != (ssize_t) sizeof *m) {
        snprintf (m->error, sizeof m->error, "benchmark child failed");
        m->ok = 0;
    }
    bench_remove_outputs (dst);
    return 0;
}

/* Run argv to its exit with stdin, stdout and stderr on /dev/null; the
 * wall time from spawn to exit in ms, or -1 if it failed. */
static double
bench_proc (char *const argv[])
{
    posix_spawn_file_actions_t fa;
    double t0;
    pid_t pid;
    int st, rc;

    posix_spawn_file_actions_init (&fa);
    posix_spawn_file_actions_addopen (&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen (&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen (&fa, 2, "/dev/null", O_WRONLY, 0);
    t0 = bench_now ();
    rc = posix_spawn (&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy (&fa);
    if (rc != 0 || waitpid (pid, &st, 0) < 0) {
        return -1;
    }
    t0 = (bench_now () - t0) * 1000;
    return WIFEXITED (st) && WEXITSTATUS (st) == 0 ? t0 : -1;
}

/* 'vmshift convert --to FMT SRC DST' as a whole process, runs times
 * after one warm-up; median into *median.  -1 if a run failed. */
static int
bench_proc_convert (const struct bench_opts *bo, const char *src,
                    const char *dst, const char *fmt, double *ms, int *n,
                    double *median)
{
    char bs[32], cs[32], to[32];
    char *argv[16];
    const char *colon = strchr (fmt, ':');
    int k = 0;

    /* "vhd:fixed" is the bench's cell name; the command takes
     * "--to vhd --fixed" */
    snprintf (to, sizeof to, "%.*s", colon ? (int) (colon - fmt)
                                           : (int) strlen (fmt), fmt);
    argv[k++] = (char *) bo->self;
    argv[k++] = "convert";
    argv[k++] = "--to";
    argv[k++] = to;
    if (colon && strcmp (colon, ":fixed") == 0) {
        argv[k++] = "--fixed";
    }
    if (bo->block_size) {
        snprintf (bs, sizeof bs, "%u", bo->block_size);
        argv[k++] = "--block-size";
        argv[k++] = bs;
    }
    if (bo->cluster_size) {
        snprintf (cs, sizeof cs, "%u", bo->cluster_size);
        argv[k++] = "--cluster-size";
        argv[k++] = cs;
    }
    if (bo->vhdx_unallocated == VMSHIFT_VHDX_UNALLOCATED_NOT_PRESENT) {
        argv[k++] = "--vhdx-unallocated";
        argv[k++] = "not-present";
    }
    argv[k++] = (char *) src;
    argv[k++] = (char *) dst;
    argv[k] = NULL;
    *n = 0;
    for (int i = -1; i < bo->runs; i++) {
        double t;

        bench_remove_outputs (dst);
        t = bench_proc (argv);
        bench_remove_outputs (dst);
        if (t < 0) {
            return -1;
        }
        if (i >= 0) {
            ms[(*n)++] = t;
        }
    }
    {
        double tmp[BENCH_MAX_RUNS];

        memcpy (tmp, ms, sizeof (double) * (size_t) *n);
        *median = bench_median (tmp, *n);
    }
    return 0;
}

/* The start-up alone: 'vmshift --help', median of runs. */
static double
bench_startup (const struct bench_opts *bo)
{
    char *argv[] = { (char *) bo->self, "--help", NULL };
    double ms[BENCH_MAX_RUNS];

    for (int i = -1; i < bo->runs; i++) {
        double t = bench_proc (argv);

        if (t < 0) {
            return -1;
        }
        if (i >= 0) {
            ms[i] = t;
        }
    }
    return bench_median (ms, bo->runs);
}

static void
bench_cell_run (struct cli *c, const struct bench_opts *bo, const char *src,
                uint64_t size, const char *fmt, struct bench_cell *cell)
{
    char dst[PATH_MAX];
    struct bench_child_msg m;

    memset (cell, 0, sizeof *cell);
    cell->size = size;
    cell->format = fmt;
    {
        char name[32];
        bool fixed = bench_split_format (fmt, name, sizeof name);

        snprintf (dst, sizeof dst, "%s/bench-out%s.%s", bo->dir,
                  fixed ? "-fixed" : "", name);
    }
    bench_remove_outputs (dst);
    /* one warm-up conversion, not counted: page cache, first allocations */
    memset (&m, 0, sizeof m);
    bench_one_run (c, bo, src, dst, fmt, &m);
    for (int i = 0; i < bo->runs; i++) {
        memset (&m, 0, sizeof m);
        bench_one_run (c, bo, src, dst, fmt, &m);
        if (!m.ok) {
            snprintf (cell->error, sizeof cell->error, "%s", m.error);
            return;
        }
        cell->meta_ms[cell->runs] = m.meta_ms;
        cell->ms[cell->runs++] = m.ms;
        cell->metadata_bytes = m.metadata;
        cell->metadata_bytes_logical = m.metadata_logical;
        cell->metadata_bytes_cloned = m.metadata_cloned;
        cell->bytes_cloned = m.cloned;
        cell->bytes_copied = m.copied;
        cell->all_shared = m.all_shared;
        if (m.maxrss > cell->peak_rss_kib) {
            cell->peak_rss_kib = m.maxrss;
        }
    }
    cell->min_ms = cell->max_ms = cell->ms[0];
    for (int i = 0; i < cell->runs; i++) {
        cell->min_ms = cell->ms[i] < cell->min_ms ? cell->ms[i]
                                                  : cell->min_ms;
        cell->max_ms = cell->ms[i] > cell->max_ms ? cell->ms[i]
                                                  : cell->max_ms;
    }
    {
        double tmp[BENCH_MAX_RUNS];

        memcpy (tmp, cell->ms, sizeof tmp);
        cell->median_ms = bench_median (tmp, cell->runs);
        memcpy (tmp, cell->meta_ms, sizeof tmp);
        cell->median_meta_ms = bench_median (tmp, cell->runs);
    }
    if (bo->process &&
        bench_proc_convert (bo, src, dst, fmt, cell->proc_ms,
                            &cell->proc_runs, &cell->median_proc_ms) < 0) {
        snprintf (cell->error, sizeof cell->error,
                  "'vmshift convert' as a process failed");
        return;
    }
    cell->ok = 1;
}

/* Run argv (no shell); returns the exit status or -1; stdout captured
 * into out (if not NULL). */
static int
bench_spawn (char *const argv[], char *out, size_t outlen)
{
    posix_spawn_file_actions_t fa;
    int pfd[2], st;
    pid_t pid;
    size_t got = 0;

    if (pipe (pfd) < 0) {
        return -1;
    }
    posix_spawn_file_actions_init (&fa);
    posix_spawn_file_actions_adddup2 (&fa, pfd[1], 1);
    posix_spawn_file_actions_addclose (&fa, pfd[0]);
    if (posix_spawnp (&pid, argv[0], &fa, NULL, argv, environ) != 0) {
        posix_spawn_file_actions_destroy (&fa);
        close (pfd[0]);
        close (pfd[1]);
        return -1;
    }
    posix_spawn_file_actions_destroy (&fa);
    close (pfd[1]);
    for (;;) {
        char tmp[4096];
        ssize_t n = read (pfd[0], tmp, sizeof tmp);

        if (n <= 0) {
            break;
        }
        if (out && got + (size_t) n < outlen) {
            memcpy (out + got, tmp, (size_t) n);
            got += (size_t) n;
        }
    }
    if (out && outlen) {
        out[got] = '\0';
    }
    close (pfd[0]);
    if (waitpid (pid, &st, 0) < 0 || !WIFEXITED (st)) {
        return -1;
    }
    return WEXITSTATUS (st);
}

/* "required": N from qemu-img measure --output=json. */
static int
bench_measure (const char *src, uint32_t cluster, uint64_t *required)
{
    char opt[64], out[4096];
    char *argv[] = { "qemu-img", "measure", "--output=json", "-f", "vmdk",
                     "-O", "qcow2", "-o", opt, (char *) src, NULL };
    const char *p;

    snprintf (opt, sizeof opt, "cluster_size=%u", cluster);
    if (bench_spawn (argv, out, sizeof out) != 0) {
        return -1;
    }
    p = strstr (out, "\"required\":");
    if (p == NULL) {
        return -1;
    }
    *required = strtoull (p + 11, NULL, 10);
    return 0;
}

static void
bench_qemu (struct cli *c, const struct bench_opts *bo, struct bench_qemu *q)
{
    char src[PATH_MAX], dst[PATH_MAX];
    double qms[BENCH_MAX_RUNS], ours[BENCH_MAX_RUNS];
    struct bench_child_msg m;
    int n = 0;

    q->ran = 1;
    q->size = bo->qemu_size;
    if (bench_make_disk (bo->dir, "bench-full", bo->qemu_size, 0, 1, src,
                         sizeof src) < 0) {
        snprintf (q->error, sizeof q->error, "cannot make the full disk");
        return;
    }
    snprintf (dst, sizeof dst, "%s/bench-qemu-out.vhdx", bo->dir);
    for (int i = 0; i < bo->qemu_runs; i++) {
        char *argv[] = { "qemu-img", "convert", "-f", "vmdk", "-O", "vhdx",
                         src, dst, NULL };
        double t0 = bench_now ();

        if (bench_spawn (argv, NULL, 0) != 0) {
            snprintf (q->error, sizeof q->error, "qemu-img convert failed "
                      "(is qemu-utils installed?)");
            unlink (dst);
            return;
        }
        qms[n++] = (bench_now () - t0) * 1000;
        unlink (dst);
    }
    q->qemu_ms = bench_median (qms, n);
    for (int i = 0; i < bo->runs; i++) {
        memset (&m, 0, sizeof m);
        bench_one_run (c, bo, src, dst, "vhdx", &m);
        if (!m.ok) {
            snprintf (q->error, sizeof q->error, "%s", m.error);
            return;
        }
        ours[i] = m.ms;
    }
    q->ours_ms = bench_median (ours, bo->runs);
    q->ratio = q->ours_ms > 0 ? q->qemu_ms / q->ours_ms : 0;
    if (bo->process) {
        double pms[BENCH_MAX_RUNS];
        int pn;

        if (bench_proc_convert (bo, src, dst, "vhdx", pms, &pn,
                                &q->ours_proc_ms) < 0) {
            snprintf (q->error, sizeof q->error,
                      "'vmshift convert' as a process failed");
            return;
        }
        q->ratio_proc = q->ours_proc_ms > 0 ? q->qemu_ms / q->ours_proc_ms : 0;
    }
    if (!bo->keep) {
        char flat[PATH_MAX + 16];

        snprintf (flat, sizeof flat, "%s/bench-full-flat.vmdk", bo->dir);
        unlink (src);
        unlink (flat);
    }
}

static const char *
bench_fs_name (const char *dir)
{
    struct statfs sf;

    if (statfs (dir, &sf) < 0) {
        return "unknown";
    }
    switch ((unsigned long) sf.f_type) {
    case 0x58465342UL: return "xfs";
    case 0x9123683eUL: return "btrfs";
    case 0xef53UL: return "ext4";
    case 0x01021994UL: return "tmpfs";
    case 0x6969UL: return "nfs";
    default: return "other";
    }
}

static const char *
bench_unallocated_name (const struct bench_opts *bo)
{
    return bo->vhdx_unallocated == VMSHIFT_VHDX_UNALLOCATED_NOT_PRESENT
           ? "not-present" : "zero";
}

static void
bench_cpu (char *buf, size_t n)
{
    FILE *fp = fopen ("/proc/cpuinfo", "r");
    char line[512];

    snprintf (buf, n, "unknown");
    if (fp == NULL) {
        return;
    }
    while (fgets (line, sizeof line, fp)) {
        if (strncmp (line, "model name", 10) == 0) {
            char *p = strchr (line, ':');

            if (p) {
                p += 2;
                p[strcspn (p, "\n")] = '\0';
                snprintf (buf, n, "%s", p);
            }
            break;
        }
    }
    fclose (fp);
}

static void
bench_print_json (const struct bench_opts *bo, const struct bench_cell *cells,
                  size_t n, const struct bench_qemu *q, double startup_ms)
{
    struct utsname u;
    char cpu[256];

    uname (&u);
    bench_cpu (cpu, sizeof cpu);
    printf ("{\n  \"machine\": {\"cpu\": \"%s\", \"cpus\": %ld, \"kernel\": "
            "\"%s\", \"filesystem\": \"%s\"},\n", cpu,
            sysconf (_SC_NPROCESSORS_ONLN), u.release, bench_fs_name (bo->dir));
    printf ("  \"runs\": %d,\n  \"data_bytes_per_disk\": %llu,\n",
            bo->runs, (unsigned long long) bo->data_bytes);
    printf ("  \"vhdx_unallocated\": \"%s\",\n",
            bench_unallocated_name (bo));
    if (bo->process) {
        printf ("  \"process_startup_median_ms\": %.3f,\n", startup_ms);
    }
    printf ("  \"cells\": [\n");
    for (size_t i = 0; i < n; i++) {
        const struct bench_cell *cl = &cells[i];

        printf ("    {\"size\": %llu, \"format\": \"%s\", \"ok\": %s",
                (unsigned long long) cl->size, cl->format,
                cl->ok ? "true" : "false");
        if (cl->ok) {
            printf (", \"median_ms\": %.3f, \"min_ms\": %.3f, \"max_ms\": %.3f, "
                    "\"median_metadata_ms\": %.3f, "
                    "\"metadata_bytes\": %llu, \"bytes_cloned\": %llu, "
                    "\"bytes_copied\": %llu, \"all_shared\": %s, "
                    "\"peak_rss_kib\": %ld", cl->median_ms, cl->min_ms,
                    cl->max_ms, cl->median_meta_ms,
                    (unsigned long long) cl->metadata_bytes,
                    (unsigned long long) cl->bytes_cloned,
                    (unsigned long long) cl->bytes_copied,
                    cl->all_shared ? "true" : "false", cl->peak_rss_kib);
            printf (", \"metadata_bytes_logical\": %llu, "
                    "\"metadata_bytes_cloned\": %llu",
                    (unsigned long long) cl->metadata_bytes_logical,
                    (unsigned long long) cl->metadata_bytes_cloned);
            if (bo->process) {
                printf (", \"process_median_ms\": %.3f, \"process_ms\": [",
                        cl->median_proc_ms);
                for (int k = 0; k < cl->proc_runs; k++) {
                    printf ("%s%.3f", k ? ", " : "", cl->proc_ms[k]);
                }
                printf ("]");
            }
        }
        printf ("}%s\n", i + 1 < n ? "," : "");
    }
    printf ("  ]");
    if (q->ran) {
        printf (",\n  \"qemu_img\": {\"size\": %llu, \"qemu_img_median_ms\": "
                "%.3f, \"vmshift_median_ms\": %.3f, \"ratio\": %.1f, ",
                (unsigned long long) q->size, q->qemu_ms, q->ours_ms, q->ratio);
        if (bo->process) {
            printf ("\"vmshift_process_median_ms\": %.3f, "
                    "\"ratio_process\": %.1f, ", q->ours_proc_ms,
                    q->ratio_proc);
        }
        printf ("\"measure_qcow2_metadata\": [");
        for (size_t i = 0, first = 1; i < bo->nsizes; i++) {
            if (q->have_measure[i]) {
                printf ("%s{\"size\": %llu, \"bytes\": %llu}", first ? "" : ", ",
                        (unsigned long long) bo->sizes[i],
                        (unsigned long long) q->measure_meta[i]);
                first = 0;
            }
        }
        printf ("]}");
    }
    printf ("\n}\n");
}

static void
bench_print_table (const struct bench_opts *bo, const struct bench_cell *cells,
                   size_t n, const struct bench_qemu *q, double startup_ms)
{
    char cpu[256];

    bench_cpu (cpu, sizeof cpu);
    printf ("machine: %s, %ld CPUs, filesystem of %s: %s; %d runs per cell"
            "; VHDX blocks without data: %s\n\n",
            cpu, sysconf (_SC_NPROCESSORS_ONLN), bo->dir,
            bench_fs_name (bo->dir), bo->runs, bench_unallocated_name (bo));
    if (bo->process) {
        printf ("whole process (fork+exec to exit), 'vmshift --help': "
                "%.3f ms (median)\n\n", startup_ms);
    }
    printf ("%-8s %-6s %10s %9s %9s %9s %12s %12s %12s %9s %6s%s\n", "size",
            "format", "median ms", "min ms", "max ms", "meta ms", "metadata B",
            "logical B", "cloned B", "peak RSS", "shared",
            bo->process ? "  process ms" : "");
    for (size_t i = 0; i < n; i++) {
        const struct bench_cell *cl = &cells[i];
        char sz[32];
        double s = (double) cl->size;
        const char *u[] = { "B", "K", "M", "G", "T", "P" };
        int k = 0;

        while (s >= 1024 && k < 5) {
            s /= 1024;
            k++;
        }
        snprintf (sz, sizeof sz, "%g%s", s, u[k]);
        if (!cl->ok) {
            printf ("%-8s %-6s failed: %s\n", sz, cl->format, cl->error);
            continue;
        }
        printf ("%-8s %-6s %10.3f %9.3f %9.3f %9.3f %12llu %12llu %12llu "
                "%7.1fMi %6s", sz, cl->format, cl->median_ms, cl->min_ms,
                cl->max_ms, cl->median_meta_ms,
                (unsigned long long) cl->metadata_bytes,
                (unsigned long long) cl->metadata_bytes_logical,
                (unsigned long long) cl->metadata_bytes_cloned,
                (double) cl->peak_rss_kib / 1024, cl->all_shared ? "yes" : "NO");
        if (bo->process) {
            printf ("  %10.3f", cl->median_proc_ms);
        }
        printf ("\n");
    }
    if (q->ran) {
        if (q->error[0]) {
            printf ("\nqemu-img comparison failed: %s\n", q->error);
        } else {
            printf ("\nfully written %llu-byte flat VMDK -> VHDX: qemu-img "
                    "convert %.1f ms, vmshift %.3f ms (median): %.0fx\n",
                    (unsigned long long) q->size, q->qemu_ms, q->ours_ms,
                    q->ratio);
            if (bo->process) {
                printf ("  whole process: qemu-img convert %.1f ms, vmshift "
                        "convert %.3f ms (median): %.0fx\n", q->qemu_ms,
                        q->ours_proc_ms, q->ratio_proc);
            }
        }
        for (size_t i = 0; i < bo->nsizes; i++) {
            if (q->have_measure[i]) {
                printf ("qemu-img measure qcow2 metadata for %llu bytes: %llu\n",
                        (unsigned long long) bo->sizes[i],
                        (unsigned long long) q->measure_meta[i]);
            }
        }
    }
}

static int
bench_parse (struct cli *c, int argc, char **argv, struct bench_opts *o)
{
    static const struct option opts[] = {
        { "dir", required_argument, NULL, 'd' },
        { "sizes", required_argument, NULL, 's' },
        { "formats", required_argument, NULL, 'f' },
        { "runs", required_argument, NULL, 'r' },
        { "data", required_argument, NULL, 'D' },
        { "block-size", required_argument, NULL, 'b' },
        { "cluster-size", required_argument, NULL, 'c' },
        { "vhdx-unallocated", required_argument, NULL, 'Z' },
        { "qemu-img", no_argument, NULL, 'q' },
        { "qemu-size", required_argument, NULL, 'Q' },
        { "qemu-runs", required_argument, NULL, 'R' },
        { "json", no_argument, NULL, 'j' },
        { "svg", required_argument, NULL, 'g' },
        { "keep", no_argument, NULL, 'k' },
        { "process", no_argument, NULL, 'X' },
        { "ontap", required_argument, NULL, 'O' },
        { "local-dir", required_argument, NULL, 'L' },
        { "vms", required_argument, NULL, 'M' },
        { "disks-per-vm", required_argument, NULL, 'P' },
        { "disk-size", required_argument, NULL, 'S' },
        { "parallel", required_argument, NULL, 'p' },
        { "inventory", required_argument, NULL, 'I' },
        { "migrate", no_argument, NULL, 'G' },
        { "uri", required_argument, NULL, 'U' },
        { "kill-after", required_argument, NULL, 'K' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    long long v;
    char *end;
    int opt;

    while ((opt = getopt_long (argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'd': o->dir = optarg; break;
        case 's':
            o->nsizes = 0;
            if (bench_parse_list (c, optarg, 1, o) < 0) {
                return EXIT_USAGE;
            }
            break;
        case 'f':
            o->formats_set = 1;
            o->nformats = 0;
            if (bench_parse_list (c, optarg, 0, o) < 0) {
                return EXIT_USAGE;
            }
            break;
        case 'r':
        case 'R':
            /* strtoll, not atoll: "3x" is an error, not 3 */
            v = strtoll (optarg, &end, 10);
            if (end == optarg || *end != '\0' || v < 1 || v > BENCH_MAX_RUNS) {
                return cli_usage_error (c, "bench", "runs must be 1..%d",
                                        BENCH_MAX_RUNS);
            }
            *(opt == 'r' ? &o->runs : &o->qemu_runs) = (int) v;
            o->runs_set |= opt == 'r';
            break;
        case 'D':
        case 'Q':
        case 'b':
        case 'c':
            v = cli_parse_size (optarg);
            /* block and cluster sizes are 32-bit: 4G would wrap to 0 */
            if (v < 0 || (opt == 'Q' && (v < (1 << 20) || v % 512)) ||
                ((opt == 'b' || opt == 'c') && v > (1LL << 30))) {
                return cli_usage_error (c, "bench", "bad size '%s'", optarg);
            }
            if (opt == 'D') {
                o->data_bytes = (uint64_t) v;
            } else if (opt == 'Q') {
                o->qemu_size = (uint64_t) v;
            } else if (opt == 'b') {
                o->block_size = (uint32_t) v;
            } else {
                o->cluster_size = (uint32_t) v;
            }
            break;
        case 'Z':
            if (cli_vhdx_unallocated (optarg, &o->vhdx_unallocated) < 0) {
                return cli_usage_error (c, "bench", "--vhdx-unallocated "
                                        "must be 'zero' or 'not-present', "
                                        "not '%s'", optarg);
            }
            break;
        case 'q': o->qemu = 1; break;
        case 'j': o->json = 1; break;
        case 'g': o->svg = optarg; break;
        case 'k': o->keep = 1; break;
        case 'X': o->process = 1; break;
        case 'O': o->ontap = optarg; break;
        case 'L': o->local_dir = optarg; break;
        case 'I': o->inventory = optarg; break;
        case 'G': o->migrate = 1; break;
        case 'U': o->uri = optarg; break;
        case 'K':
            v = strtoll (optarg, &end, 10);
            if (end == optarg || *end != '\0' || v < 1 || v > 3600000) {
                return cli_usage_error (c, "bench", "bad --kill-after '%s' "
                                        "(milliseconds)", optarg);
            }
            o->kill_after_ms = (long) v;
            break;
        case 'M':
        case 'P':
        case 'p':
            v = atoll (optarg);
            if (v < 1 || v > 1024) {
                return cli_usage_error (c, "bench", "bad count '%s'", optarg);
            }
            if (opt == 'M') {
                o->vms = (int) v;
                o->vms_set = 1;
            } else if (opt == 'P') {
                o->disks_per_vm = (int) v;
                o->disks_set = 1;
            } else {
                o->parallel = (unsigned) v;
            }
            break;
        case 'S':
            v = cli_parse_size (optarg);
            if (v < (1 << 20) || v % 512) {
                return cli_usage_error (c, "bench", "bad size '%s'", optarg);
            }
            o->ontap_size = (uint64_t) v;
            break;
        case 'h': bench_usage (stdout); return -1;
        default: return cli_bad_option (c, "bench", opt, argv);
        }
    }
    if (optind != argc) {
        return cli_usage_error (c, "bench", "unexpected argument '%s'",
                                argv[optind]);
    }
    return 0;
}

int
cmd_bench (struct cli *c, int argc, char **argv)
{
    static struct bench_cell cells[BENCH_MAX_SIZES * BENCH_MAX_FORMATS];
    struct bench_opts o = {
        .dir = ".", .runs = 5, .data_bytes = 64 << 20, .qemu_size = 1 << 30,
        .qemu_runs = 3, .sizes = { 1ULL << 30, 16ULL << 30, 256ULL << 30,
                                   1ULL << 40, 16ULL << 40, 64ULL << 40 },
        .nsizes = 6, .formats = { "vhdx", "qcow2", "raw" }, .nformats = 3,
        .vms = 10, .disks_per_vm = 4, .ontap_size = 1ULL << 40,
        .parallel = 10,
    };
    struct bench_qemu q = { 0 };
    size_t ncells = 0;
    double startup_ms = 0;
    int r = bench_parse (c, argc, argv, &o);
    ssize_t n;

    if (r != 0) {
        return r < 0 ? EXIT_OK : r;
    }
    if (o.inventory) {
        return bench_inventory (c, o.inventory, o.runs, o.json);
    }
    if (o.process) {
        if (!o.runs_set) {
            o.runs = 9;
        }
        n = readlink ("/proc/self/exe", o.self, sizeof o.self - 1);
        if (n <= 0) {
            fprintf (stderr, "vmshift: bench: cannot find this program "
                     "(/proc/self/exe): %s\n", strerror (errno));
            return EXIT_SYSTEM;
        }
        o.self[n] = '\0';
        startup_ms = bench_startup (&o);
        if (startup_ms < 0) {
            fprintf (stderr, "vmshift: bench: '%s --help' failed\n", o.self);
            return EXIT_SYSTEM;
        }
    }
    if (o.migrate) {
        struct bench_migrate_opts bo = {
            .location = o.ontap, .local = o.local_dir,
            .uri = o.uri ? o.uri : "test:///default",
            .format = o.formats_set ? o.formats[0] : "raw",
            .store_dir = o.dir, .vms = o.vms_set ? o.vms : 40,
            .disks = o.disks_set ? o.disks_per_vm : 2, .runs = o.runs,
            .json = o.json, .size = o.ontap_size, .parallel = o.parallel,
            .kill_after_ms = o.kill_after_ms,
        };

        if (o.ontap == NULL || o.local_dir == NULL) {
            return cli_usage_error (c, "bench", "--migrate needs --ontap and "
                                    "--local-dir");
        }
        return bench_migrate (c, &bo);
    }
    if (o.ontap) {
        if (o.local_dir == NULL) {
            return cli_usage_error (c, "bench", "--ontap needs --local-dir");
        }
        return bench_ontap (c, o.ontap, o.local_dir, o.vms, o.disks_per_vm,
                            o.ontap_size, o.parallel, o.runs, o.json);
    }
    for (size_t s = 0; s < o.nsizes; s++) {
        char name[64], src[PATH_MAX], flat[PATH_MAX + 16];

        snprintf (name, sizeof name, "bench-%llu",
                  (unsigned long long) o.sizes[s]);
        if (bench_make_disk (o.dir, name, o.sizes[s], o.data_bytes, 0, src,
                             sizeof src) < 0) {
            return EXIT_SYSTEM;
        }
        for (size_t f = 0; f < o.nformats; f++) {
            bench_cell_run (c, &o, src, o.sizes[s], o.formats[f],
                            &cells[ncells++]);
            if (!o.json) {
                fprintf (stderr, "  %s -> %s: %s\n", name, o.formats[f],
                         cells[ncells - 1].ok ? "done"
                                              : cells[ncells - 1].error);
            }
        }
        if (o.qemu) {
            uint64_t req;
            uint32_t cl = o.cluster_size ? o.cluster_size : 2u << 20;

            if (bench_measure (src, cl, &req) == 0 && req >= o.data_bytes) {
                /* the data is written in whole clusters, so the metadata
                 * is what measure requires beyond the data */
                q.measure_meta[s] = req - o.data_bytes / 4 / BENCH_ALIGN *
                                          BENCH_ALIGN * 4;
                q.have_measure[s] = 1;
            }
        }
        if (!o.keep) {
            snprintf (flat, sizeof flat, "%s/%s-flat.vmdk", o.dir, name);
            unlink (src);
            unlink (flat);
        }
    }
    if (o.qemu) {
        bench_qemu (c, &o, &q);
    }
    if (o.json) {
        bench_print_json (&o, cells, ncells, &q, startup_ms);
    } else {
        bench_print_table (&o, cells, ncells, &q, startup_ms);
    }
    if (o.svg) {
        FILE *fp = fopen (o.svg, "w");

        if (fp == NULL || bench_svg (fp, cells, ncells, o.formats,
                                     o.nformats) < 0) {
            fprintf (stderr, "vmshift: bench: cannot write '%s': %s\n", o.svg,
                     strerror (errno));
            if (fp) {
                fclose (fp);
            }
            return EXIT_SYSTEM;
        }
        if (fclose (fp) != 0) {     /* a full disk shows up here */
            fprintf (stderr, "vmshift: bench: cannot write '%s': %s\n",
                     o.svg, strerror (errno));
            return EXIT_SYSTEM;
        }
    }
    for (size_t i = 0; i < ncells; i++) {
        if (!cells[i].ok) {
            return EXIT_FOUND;
        }
    }
    return EXIT_OK;
}
