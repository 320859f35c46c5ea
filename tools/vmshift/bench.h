/* vmshift bench: shared between cmd-bench.c and bench-svg.c. */
#ifndef VMSHIFT_BENCH_H
#define VMSHIFT_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define BENCH_MAX_SIZES 16
#define BENCH_MAX_FORMATS 16
#define BENCH_MAX_RUNS 101

struct bench_cell {
    uint64_t size;
    const char *format;
    int runs;
    double ms[BENCH_MAX_RUNS];
    double median_ms, min_ms, max_ms;
    double meta_ms[BENCH_MAX_RUNS];
    double median_meta_ms;      /* of which writing metadata (the BAT...) */
    uint64_t metadata_bytes;    /* written */
    uint64_t metadata_bytes_logical;
    uint64_t metadata_bytes_cloned;     /* of logical, cloned in the file */
    /* --process: the whole 'vmshift convert' command, fork+exec to exit */
    int proc_runs;
    double proc_ms[BENCH_MAX_RUNS];
    double median_proc_ms;
    uint64_t bytes_cloned;
    uint64_t bytes_copied;
    long peak_rss_kib;
    int all_shared;
    int ok;
    char error[256];
};

struct cli;
/* bench --migrate (bench-migrate.c) */
struct bench_migrate_opts {
    const char *location;       /* ontap://PROFILE/VOLUME/DIR: the VMs */
    const char *local;          /* the same directory seen locally */
    const char *uri;            /* libvirt connection */
    const char *format;         /* target disk format */
    const char *store_dir;      /* where the run stores are made */
    int vms, disks, runs, json;
    uint64_t size;
    unsigned parallel;          /* the blueprint's concurrency */
    long kill_after_ms;         /* > 0: also kill one run and resume it */
};
int bench_migrate (struct cli *c, const struct bench_migrate_opts *bo);
/* DIR/benchvmVM/diskDISK.vmdk (+ -flat.vmdk): thin, 1 MiB of data */
int bench_ontap_make_disk (const char *dir, int vm, int disk, uint64_t size);
int bench_ontap (struct cli *c, const char *location, const char *local,
                 int vms, int disks, uint64_t size, unsigned parallel,
                 int runs, int json);
/* bench --inventory PROFILE (bench-inventory.c) */
int bench_inventory (struct cli *c, const char *profile, int runs, int json);
/* bench-util.c: v sorted in place, ascending; the median of v[0..n)
 * (n > 0; v sorted in place) */
void bench_sort (double *v, int n);
double bench_median (double *v, int n);
/* The end of a measuring child: its peak RSS (KiB) into *maxrss (a field
 * of the message m), then the n bytes of m to the parent through wfd;
 * exits 0, or 3 when the write fails. */
_Noreturn void bench_child_send (int wfd, const void *m, size_t n,
                                 long *maxrss);
int bench_svg (FILE *fp, const struct bench_cell *cells, size_t n,
               const char *const *formats, size_t nformats);

#endif
