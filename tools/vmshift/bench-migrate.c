/* vmshift bench --migrate: a whole migration run of a wave (vmshift
 * migrate, preflight to "complete") from ONTAP to libvirt, the run
 * described under "Performance" in docs/internals/workflow.md.
 *
 * The VMs (a .vmx and thin flat VMDKs each, made as bench --ontap makes
 * its disks) are written through a local view of the volume (--local-dir)
 * and migrated through ontap:// locations, to libvirt (by default its test
 * driver, test:///default).  Each run is a child process with a fresh run
 * store, so its peak memory and its store counters are the run's own.
 * Reported: the median wall time of vmshift_migrate (its own clock,
 * CLOCK_MONOTONIC), REST requests (in all, and per disk beyond the
 * per-volume ones), store commits and syncs per journalled step, peak
 * RSS.  --kill-after MS also kills one run (SIGKILL) MS after it started
 * and resumes it: the REST requests of the resume against the part of
 * the run that was left to do.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
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

#define BM_GROUPS 5

struct bm_msg {
    int ok;
    int64_t run_id;
    struct vmshift_run_stats st;
    long maxrss;
    char error[256];
};

/* benchvmN/benchvmN.vmx naming disks 0..disks-1 of bench_ontap_make_disk */
static int
bm_make_vmx (const char *dir, int vm, int disks)
{
    char path[PATH_MAX];
    FILE *fp;

    snprintf (path, sizeof path, "%s/benchvm%d/benchvm%d.vmx", dir, vm, vm);
    if (!(fp = fopen (path, "w"))) {
        return -1;
    }
    fprintf (fp, ".encoding = \"UTF-8\"\nconfig.version = \"8\"\n"
             "virtualHW.version = \"14\"\ndisplayName = \"benchvm%d\"\n"
             "guestOS = \"rhel8-64\"\nmemsize = \"1024\"\nnumvcpus = \"1\"\n"
             "scsi0.present = \"TRUE\"\nscsi0.virtualDev = \"pvscsi\"\n", vm);
    for (int d = 0; d < disks; d++) {
        fprintf (fp, "scsi0:%d.present = \"TRUE\"\n"
                 "scsi0:%d.fileName = \"disk%d.vmdk\"\n", d, d, d);
    }
    fprintf (fp, "ethernet0.present = \"TRUE\"\n"
             "ethernet0.virtualDev = \"vmxnet3\"\n"
             "ethernet0.networkName = \"VM Network\"\n");
    return fclose (fp) == 0 ? 0 : -1;
}

/* The blueprint: VMs spread over BM_GROUPS boot-order groups, no boot
 * delay, every network to br0, the target below the source folder. */
static int
bm_blueprint (const char *path, const char *location, const char *uri,
              const char *format, int vms, unsigned parallel)
{
    FILE *fp = fopen (path, "w");

    if (!fp) {
        return -1;
    }
    fprintf (fp, "{\"name\": \"bench-migrate\",\n"
             " \"source\": {\"datastore\": \"%s\"},\n"
             " \"target\": {\"hypervisor\": \"libvirt\", \"uri\": \"%s\",\n"
             "            \"format\": \"%s\", \"location\": \"%s/out\"},\n"
             " \"network_map\": {\"networks\": {\"*\": \"br0\"}},\n"
             " \"ip\": \"retain\", \"concurrency\": %u,\n \"groups\": [",
             location, uri, format, location, parallel);
    for (int g = 0; g < BM_GROUPS && g < vms; g++) {
        fprintf (fp, "%s\n  {\"name\": \"g%d\", \"boot_order\": %d, "
                 "\"vms\": [", g ? "," : "", g + 1, g + 1);
        for (int v = g, first = 1; v < vms; v += BM_GROUPS, first = 0) {
            fprintf (fp, "%s\"benchvm%d\"", first ? "" : ", ", v);
        }
        fprintf (fp, "]}");
    }
    fprintf (fp, "],\n \"vms\": {");
    for (int v = 0; v < vms; v++) {
        fprintf (fp, "%s\n  \"benchvm%d\": {\"vmx\": "
                 "\"benchvm%d/benchvm%d.vmx\"}", v ? "," : "", v, v, v);
    }
    fprintf (fp, "}}\n");
    return fclose (fp) == 0 ? 0 : -1;
}

static int
bm_rm_cb (const char *path, const struct stat *sb, int flag, struct FTW *f)
{
    (void) sb;
    (void) f;
    return flag == FTW_DP ? rmdir (path) : unlink (path);
}

/* rm -rf of the run's target folder (local view) */
static void
bm_remove_outputs (const char *local)
{
    char p[PATH_MAX];

    snprintf (p, sizeof p, "%s/out", local);
    nftw (p, bm_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void
bm_remove_store (const char *store)
{
    char p[PATH_MAX + 32];
    const char *sfx[] = { "", "-wal", "-shm" };

    for (size_t i = 0; i < 3; i++) {
        snprintf (p, sizeof p, "%s%s", store, sfx[i]);
        unlink (p);
    }
}

/* In the child: migrate (or resume run_id when > 0), report through wfd. */
static void
bm_child (struct cli *c, const char *bp, const char *store, int64_t resume,
          int wfd)
{
    struct vmshift_run_opts o;
    struct bm_msg m = { 0 };
    int r;

    vmshift_run_opts_init (&o);
    o.store = store;
    m.st.struct_size = sizeof m.st;
    o.stats = &m.st;
    if (resume > 0) {
        m.run_id = resume;
        r = vmshift_runs_resume (c->h, &o, resume);
    } else {
        r = vmshift_migrate (c->h, bp, &o, &m.run_id);
    }
    if (r == 0) {
        m.ok = 1;
    } else {
        snprintf (m.error, sizeof m.error, "%s", vmshift_get_error ());
    }
    bench_child_send (wfd, &m, sizeof m, &m.maxrss);
}

/* One run in a child; kill_ms > 0: SIGKILL it that long after the start
 * (m->ok is then 0 and m->error says so). */
static int
bm_run (struct cli *c, const char *bp, const char *store, int64_t resume,
        long kill_ms, struct bm_msg *m)
{
    int pfd[2], st;
    pid_t pid;

    memset (m, 0, sizeof *m);
    if (pipe (pfd) < 0) {
        return -1;
    }
    fflush (NULL);
    if ((pid = fork ()) < 0) {
        close (pfd[0]);
        close (pfd[1]);
        return -1;
    }
    if (pid == 0) {
        close (pfd[0]);
        bm_child (c, bp, store, resume, pfd[1]);
    }
    close (pfd[1]);
    if (kill_ms > 0) {
        struct timespec ts = { kill_ms / 1000, (kill_ms % 1000) * 1000000L };

        nanosleep (&ts, NULL);
        kill (pid, SIGKILL);
    }
    if (read (pfd[0], m, sizeof *m) != (ssize_t) sizeof *m) {
        m->ok = 0;
        snprintf (m->error, sizeof m->error, "%s",
                  kill_ms > 0 ? "killed" : "benchmark child failed");
    }
    close (pfd[0]);
    waitpid (pid, &st, 0);
    if (kill_ms > 0 && m->ok) {
        snprintf (m->error, sizeof m->error, "finished before the kill");
        m->ok = 0;
        return 1;
    }
    return 0;
}

static double
bm_steps (const struct vmshift_run_stats *s)
{
    double n = (double) (s->journal_intents + s->state_changes);

    return n > 0 ? n : 1;
}

int
bench_migrate (struct cli *c, const struct bench_migrate_opts *bo)
{
    char dir[PATH_MAX], bp[PATH_MAX + 16], store[PATH_MAX + 16];
    double secs[BENCH_MAX_RUNS], med;
    struct bm_msg m, last = { 0 }, killed = { 0 }, res = { 0 };
    long peak = 0;
    int ok = 0, rc = EXIT_OK, kill_state = 0;

    if (bo->vms < 1 || (size_t) bo->vms * (size_t) bo->disks > 4096) {
        return cli_usage_error (c, "bench", "--vms x --disks-per-vm must be "
                                "1..4096");
    }
    for (int v = 0; v < bo->vms; v++) {
        for (int d = 0; d < bo->disks; d++) {
            if (bench_ontap_make_disk (bo->local, v, d, bo->size) < 0) {
                fprintf (stderr, "%s: bench: cannot make disks in '%s': %s\n",
                         c->prog, bo->local, strerror (errno));
                return EXIT_SYSTEM;
            }
        }
        if (bm_make_vmx (bo->local, v, bo->disks) < 0) {
            fprintf (stderr, "%s: bench: cannot write a .vmx in '%s': %s\n",
                     c->prog, bo->local, strerror (errno));
            return EXIT_SYSTEM;
        }
    }
    snprintf (dir, sizeof dir, "%s/vmshift-bench-migrate-XXXXXX",
              bo->store_dir);
    if (!mkdtemp (dir)) {
        fprintf (stderr, "%s: bench: cannot make a folder in '%s': %s\n",
                 c->prog, bo->store_dir, strerror (errno));
        return EXIT_SYSTEM;
    }
    snprintf (bp, sizeof bp, "%s/wave.json", dir);
    if (bm_blueprint (bp, bo->location, bo->uri, bo->format, bo->vms,
                      bo->parallel) < 0) {
        fprintf (stderr, "%s: bench: cannot write '%s': %s\n", c->prog, bp,
                 strerror (errno));
        rc = EXIT_SYSTEM;
        goto out;
    }
    bm_remove_outputs (bo->local);
    for (int r = 0; r < bo->runs; r++) {
        snprintf (store, sizeof store, "%s/runs.db", dir);
        bm_run (c, bp, store, 0, 0, &m);
        bm_remove_store (store);
        bm_remove_outputs (bo->local);
        if (!m.ok) {
            fprintf (stderr, "%s: bench: migration run failed: %s\n", c->prog,
                     m.error);
            rc = EXIT_FOUND;
            goto out;
        }
        secs[ok++] = m.st.seconds;
        if (m.maxrss > peak) {
            peak = m.maxrss;
        }
        last = m;
    }
    if (bo->kill_after_ms > 0) {
        /* one run killed in the middle, then resumed in a new process */
        snprintf (store, sizeof store, "%s/runs.db", dir);
        kill_state = bm_run (c, bp, store, 0, bo->kill_after_ms, &killed);
        if (kill_state == 0) {
            bm_run (c, bp, store, 1, 0, &res);
            if (!res.ok) {
                fprintf (stderr, "%s: bench: resume failed: %s\n", c->prog,
                         res.error);
                rc = EXIT_FOUND;
            }
            if (res.maxrss > peak) {
                peak = res.maxrss;
            }
        }
        bm_remove_store (store);
        bm_remove_outputs (bo->local);
    }
    med = bench_median (secs, ok);
    {
        const struct vmshift_run_stats *s = &last.st;
        uint64_t per_volume = s->rest_requests - s->rest_requests_disks;
        double per_disk = s->disks_converted
            ? (double) s->rest_requests_disks / (double) s->disks_converted : 0;

        if (bo->json) {
            printf ("{\"migrate\": {\"vms\": %d, \"disks\": %llu, "
                    "\"disk_size\": %llu, \"format\": \"%s\", "
                    "\"concurrency\": %u, \"runs\": %d, \"median_s\": %.3f, "
                    "\"min_s\": %.3f, \"max_s\": %.3f, \"rest_requests\": %llu, "
                    "\"rest_requests_per_volume\": %llu, "
                    "\"rest_requests_per_disk\": %.2f, "
                    "\"rest_requests_disk_max\": %llu, "
                    "\"journal_intents\": %llu, \"state_changes\": %llu, "
                    "\"store_commits\": %llu, \"store_syncs\": %llu, "
                    "\"store_commits_per_step\": %.2f, "
                    "\"peak_rss_kib\": %ld",
                    bo->vms, (unsigned long long) s->disks,
                    (unsigned long long) bo->size, bo->format, bo->parallel,
                    ok, med, secs[0], secs[ok - 1],
                    (unsigned long long) s->rest_requests,
                    (unsigned long long) per_volume, per_disk,
                    (unsigned long long) s->rest_requests_disk_max,
                    (unsigned long long) s->journal_intents,
                    (unsigned long long) s->state_changes,
                    (unsigned long long) s->store_commits,
                    (unsigned long long) s->store_syncs,
                    (double) s->store_commits / bm_steps (s), peak);
            if (bo->kill_after_ms > 0) {
                printf (", \"resume\": {\"kill_after_ms\": %ld, "
                        "\"killed\": %s, \"ok\": %s, \"seconds\": %.3f, "
                        "\"disks_converted\": %llu, \"rest_requests\": %llu, "
                        "\"rest_requests_disks\": %llu}",
                        bo->kill_after_ms, kill_state == 0 ? "true" : "false",
                        res.ok ? "true" : "false", res.st.seconds,
                        (unsigned long long) res.st.disks_converted,
                        (unsigned long long) res.st.rest_requests,
                        (unsigned long long) res.st.rest_requests_disks);
            }
            printf ("}}\n");
        } else {
            printf ("migrate: %d VMs x %d thin disks of %llu bytes (%llu in "
                    "all) to libvirt (%s, %s), concurrency %u, %d runs\n",
                    bo->vms, bo->disks, (unsigned long long) bo->size,
                    (unsigned long long) s->disks, bo->uri, bo->format,
                    bo->parallel, ok);
            printf ("  wall time       median %.3f s (min %.3f, max %.3f), "
                    "preflight to complete\n", med, secs[0], secs[ok - 1]);
            printf ("  REST requests   %llu per run: %llu per volume "
                    "(snapshot, stale list, delete...) + %.2f per disk "
                    "(at most %llu)\n", (unsigned long long) s->rest_requests,
                    (unsigned long long) per_volume, per_disk,
                    (unsigned long long) s->rest_requests_disk_max);
            printf ("  store           %llu commits, %llu syncs for %llu "
                    "journalled effects and %llu state changes: %.2f commits "
                    "per step\n", (unsigned long long) s->store_commits,
                    (unsigned long long) s->store_syncs,
                    (unsigned long long) s->journal_intents,
                    (unsigned long long) s->state_changes,
                    (double) s->store_commits / bm_steps (s));
            printf ("  peak memory     %.1f MiB\n", (double) peak / 1024);
            if (bo->kill_after_ms > 0 && kill_state == 0) {
                printf ("  killed at %ld ms, resumed: %.3f s, %llu disks "
                        "left and converted, %llu REST requests (%llu for "
                        "those disks)\n", bo->kill_after_ms, res.st.seconds,
                        (unsigned long long) res.st.disks_converted,
                        (unsigned long long) res.st.rest_requests,
                        (unsigned long long) res.st.rest_requests_disks);
            } else if (bo->kill_after_ms > 0) {
                printf ("  the run to kill finished before %ld ms: nothing "
                        "to resume\n", bo->kill_after_ms);
            }
        }
    }
out:
    rmdir (dir);
    {
        char p[PATH_MAX + 16];

        snprintf (p, sizeof p, "%s/wave.json", dir);
        unlink (p);
        rmdir (dir);
    }
    return rc;
}
