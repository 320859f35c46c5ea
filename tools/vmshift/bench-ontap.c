/* vmshift bench --ontap: many thin disks of many VMs converted on ONTAP in
 * one run (one snapshot, --parallel conversions in flight).
 *
 * The disks are made through a local view of the volume (--local-dir:
 * the test environment's volume directory, or an NFS mount of the volume
 * on a real system) and converted through ontap:// locations.  Each run
 * is a child process, so its peak memory is the run's own.  Reported:
 * median wall time of the whole run, REST requests (per run and the most
 * any disk needed), peak RSS, and where the wall time goes: how much of
 * it a REST request (or job wait) was outstanding at ONTAP, and an NFS
 * call, on any thread (the library's own accounting, struct
 * vmshift_stats), the host's own time (wall minus that) and the
 * process's CPU time (getrusage).  Medians over the runs; each run's
 * differences are taken before the median.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tools/vmshift/bench.h"
#include "tools/vmshift/cli.h"

#define BO_MAX_DISKS 1024

struct bo_msg {
    int ok;
    double ms;                  /* CLOCK_MONOTONIC around the call */
    double rest_ms;             /* of it, REST outstanding (library) */
    double nfs_ms;              /* NFS outstanding (library) */
    double remote_ms;           /* either (library) */
    double cpu_ms;              /* user + sys of this process (getrusage) */
    uint64_t run_requests;
    uint64_t max_disk_requests;
    uint64_t total_disk_requests;
    uint64_t bytes_copied;
    uint64_t metadata;
    long maxrss;
    char error[256];
};

static double
bo_cpu_ms (void)
{
    struct rusage ru;

    getrusage (RUSAGE_SELF, &ru);
    return (double) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (double) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static double
bo_now (void)
{
    struct timespec ts;

    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* vmN/diskM.vmdk + -flat.vmdk: thin, 1 MiB of data at the start. */
int
bench_ontap_make_disk (const char *dir, int vm, int disk, uint64_t size)
{
    char path[PATH_MAX], flat[PATH_MAX];
    uint8_t buf[65536];
    FILE *fp;
    int fd;

    snprintf (path, sizeof path, "%s/benchvm%d", dir, vm);
    if (mkdir (path, 0755) < 0 && errno != EEXIST) {
        return -1;
    }
    snprintf (flat, sizeof flat, "%s/benchvm%d/disk%d-flat.vmdk", dir, vm, disk);
    fd = open (flat, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || ftruncate (fd, (off_t) size) < 0) {
        if (fd >= 0) {
            close (fd);
        }
        return -1;
    }
    for (size_t i = 0; i < sizeof buf; i++) {
        buf[i] = (uint8_t) (i * 31 + (size_t) vm * 7 + (size_t) disk);
    }
    for (off_t off = 0; off < (1 << 20); off += (off_t) sizeof buf) {
        if (pwrite (fd, buf, sizeof buf, off) != (ssize_t) sizeof buf) {
            close (fd);
            return -1;
        }
    }
    close (fd);
    snprintf (path, sizeof path, "%s/benchvm%d/disk%d.vmdk", dir, vm, disk);
    fp = fopen (path, "w");
    if (fp == NULL) {
        return -1;
    }
    fprintf (fp, "# Disk DescriptorFile\nversion=1\nCID=fffffffe\n"
             "parentCID=ffffffff\ncreateType=\"vmfs\"\n\n"
             "# Extent description\nRW %llu VMFS \"disk%d-flat.vmdk\"\n\n"
             "# The Disk Data Base\n#DDB\n\nddb.adapterType = \"lsilogic\"\n"
             "ddb.thinProvisioned = \"1\"\n",
             (unsigned long long) (size / 512), disk);
    return fclose (fp) == 0 ? 0 : -1;
}

static void
bo_child (struct cli *c, const char *const *src, const char *const *dst,
          size_t n, unsigned parallel, int wfd)
{
    struct vmshift_result **res = calloc (n, sizeof *res);
    struct vmshift_convert_opts o;
    struct bo_msg m = { 0 };
    double t0, cpu0;
    int r;

    vmshift_convert_opts_init (&o);
    o.parallel = parallel;
    cpu0 = bo_cpu_ms ();
    t0 = bo_now ();
    r = res ? vmshift_convert_many (c->h, n, src, dst, &o, res, NULL) : -ENOMEM;
    m.ms = (bo_now () - t0) * 1000;
    m.cpu_ms = bo_cpu_ms () - cpu0;
    if (r == 0) {
        m.ok = 1;
        for (size_t i = 0; i < n; i++) {
            const struct vmshift_stats *st = vmshift_result_stats (res[i]);

            /* the call's times, the same in every disk's record */
            m.rest_ms = st->seconds_rest_busy * 1000;
            m.nfs_ms = st->seconds_nfs_busy * 1000;
            m.remote_ms = st->seconds_remote_busy * 1000;
            m.run_requests = st->rest_requests_run;
            m.total_disk_requests += st->rest_requests;
            if (st->rest_requests > m.max_disk_requests) {
                m.max_disk_requests = st->rest_requests;
            }
            m.bytes_copied += st->bytes_copied;
            m.metadata += st->bytes_metadata;
        }
    } else {
        snprintf (m.error, sizeof m.error, "%s", vmshift_get_error ());
    }
    bench_child_send (wfd, &m, sizeof m, &m.maxrss);
}

static int
bo_run (struct cli *c, const char *const *src, const char *const *dst,
        size_t n, unsigned parallel, struct bo_msg *m)
{
    int pfd[2], st;
    pid_t pid;

    if (pipe (pfd) < 0) {
        return -1;
    }
    fflush (NULL);
    pid = fork ();
    if (pid < 0) {
        return -1;
    }
    if (pid == 0) {
        close (pfd[0]);
        bo_child (c, src, dst, n, parallel, pfd[1]);
    }
    close (pfd[1]);
    if (read (pfd[0], m, sizeof *m) != (ssize_t) sizeof *m) {
        m->ok = 0;
        snprintf (m->error, sizeof m->error, "benchmark child failed");
    }
    close (pfd[0]);
    waitpid (pid, &st, 0);
    return 0;
}

static void
bo_remove_outputs (const char *local, int vms, int disks)
{
    char p[PATH_MAX];

    for (int v = 0; v < vms; v++) {
        for (int d = 0; d < disks; d++) {
            snprintf (p, sizeof p, "%s/benchout/vm%d/disk%d.vhdx", local, v, d);
            unlink (p);
        }
    }
}

int
bench_ontap (struct cli *c, const char *location, const char *local, int vms,
             int disks, uint64_t size, unsigned parallel, int runs, int json)
{
    size_t n = (size_t) vms * (size_t) disks;
    char **src, **dst;
    double ms[BENCH_MAX_RUNS] = { 0 }, sorted[BENCH_MAX_RUNS], med;
    /* per run, for their medians */
    double rest[BENCH_MAX_RUNS], host[BENCH_MAX_RUNS], nfs[BENCH_MAX_RUNS];
    double host_only[BENCH_MAX_RUNS], cpu[BENCH_MAX_RUNS];
    double med_rest, med_host, med_nfs, med_host_only, med_cpu;
    struct bo_msg m, last = { 0 };
    long peak = 0;
    int ok = 0;

    if (n == 0 || n > BO_MAX_DISKS) {
        return cli_usage_error (c, "bench", "--vms x --disks-per-vm must be "
                                "1..%d", BO_MAX_DISKS);
    }
    src = calloc (n, sizeof *src);
    dst = calloc (n, sizeof *dst);
    if (!src || !dst) {
        return EXIT_SYSTEM;
    }
    for (int v = 0; v < vms; v++) {
        for (int d = 0; d < disks; d++) {
            size_t i = (size_t) v * (size_t) disks + (size_t) d;

            if (bench_ontap_make_disk (local, v, d, size) < 0) {
                fprintf (stderr, "%s: bench: cannot make disks in '%s': %s\n",
                         c->prog, local, strerror (errno));
                return EXIT_SYSTEM;
            }
            if (asprintf (&src[i], "%s/benchvm%d/disk%d.vmdk", location, v,
                          d) < 0 ||
                asprintf (&dst[i], "%s/benchout/vm%d/disk%d.vhdx", location, v,
                          d) < 0) {
                return EXIT_SYSTEM;
            }
        }
    }
    bo_remove_outputs (local, vms, disks);
    for (int r = 0; r < runs; r++) {
        memset (&m, 0, sizeof m);
        bo_run (c, (const char *const *) src, (const char *const *) dst, n,
                parallel, &m);
        bo_remove_outputs (local, vms, disks);
        if (!m.ok) {
            fprintf (stderr, "%s: bench: ONTAP run failed: %s\n", c->prog,
                     m.error);
            return EXIT_FOUND;
        }
        rest[ok] = m.rest_ms;
        host[ok] = m.ms - m.rest_ms;
        nfs[ok] = m.nfs_ms;
        host_only[ok] = m.ms - m.remote_ms;
        cpu[ok] = m.cpu_ms;
        ms[ok++] = m.ms;
        if (m.maxrss > peak) {
            peak = m.maxrss;
        }
        last = m;
    }
    memcpy (sorted, ms, sizeof ms);
    med = bench_median (sorted, ok);
    med_rest = bench_median (rest, ok);
    med_host = bench_median (host, ok);
    med_nfs = bench_median (nfs, ok);
    med_host_only = bench_median (host_only, ok);
    med_cpu = bench_median (cpu, ok);
    if (json) {
        printf ("{\"ontap\": {\"disks\": %zu, \"vms\": %d, \"disk_size\": %llu, "
                "\"parallel\": %u, \"runs\": %d, \"median_ms\": %.1f, "
                "\"min_ms\": %.1f, \"max_ms\": %.1f, \"run_requests\": %llu, "
                "\"max_requests_per_disk\": %llu, \"requests_per_disk\": %.2f, "
                "\"bytes_copied\": %llu, \"peak_rss_kib\": %ld, "
                "\"rest_busy_median_ms\": %.1f, "
                "\"host_side_median_ms\": %.1f, "
                "\"host_side_min_ms\": %.1f, \"host_side_max_ms\": %.1f, "
                "\"nfs_busy_median_ms\": %.1f, "
                "\"host_only_median_ms\": %.1f, \"cpu_median_ms\": %.1f, "
                "\"clocks\": {\"wall\": \"CLOCK_MONOTONIC around "
                "vmshift_convert_many in the run's process\", "
                "\"busy\": \"library, CLOCK_MONOTONIC, union over "
                "threads\", \"cpu\": \"getrusage user+sys of the run's "
                "process during the call\"}}}\n",
                n, vms, (unsigned long long) size, parallel, ok,
                med, sorted[0], sorted[ok - 1],
                (unsigned long long) last.run_requests,
                (unsigned long long) last.max_disk_requests,
                (double) last.total_disk_requests / (double) n,
                (unsigned long long) last.bytes_copied, peak, med_rest,
                med_host, host[0], host[ok - 1], med_nfs, med_host_only,
                med_cpu);
    } else {
        printf ("ONTAP: %zu disks (%d VMs x %d) of %llu bytes to VHDX, %u in "
                "parallel, %d runs\n", n, vms, disks, (unsigned long long) size,
                parallel, ok);
        printf ("  wall time       median %.1f ms (min %.1f, max %.1f)\n",
                med, sorted[0], sorted[ok - 1]);
        printf ("  REST requests   %llu per run (version, volume, snapshots, "
                "qtrees) + at most %llu per disk (%.2f on average)\n",
                (unsigned long long) last.run_requests,
                (unsigned long long) last.max_disk_requests,
                (double) last.total_disk_requests / (double) n);
        printf ("  data copied     %llu bytes\n",
                (unsigned long long) last.bytes_copied);
        printf ("  peak memory     %.1f MiB\n", (double) peak / 1024);
        printf ("Where the wall time goes (medians; busy: the library's own "
                "accounting,\nCLOCK_MONOTONIC, the union over its threads; "
                "CPU: getrusage of the run's process):\n");
        printf ("  ONTAP busy      %.1f ms: at least one REST request or job "
                "wait outstanding\n", med_rest);
        printf ("  host side       %.1f ms (min %.1f, max %.1f): wall time "
                "minus ONTAP busy\n", med_host, host[0], host[ok - 1]);
        printf ("  NFS busy        %.1f ms: at least one NFS call outstanding "
                "(within host side or not)\n", med_nfs);
        printf ("  host only       %.1f ms: nothing outstanding, REST or "
                "NFS\n", med_host_only);
        printf ("  CPU time        %.1f ms: user + sys, all threads\n",
                med_cpu);
    }
    for (size_t i = 0; i < n; i++) {
        free (src[i]);
        free (dst[i]);
    }
    free (src);
    free (dst);
    return EXIT_OK;
}
