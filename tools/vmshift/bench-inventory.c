/* vmshift bench --inventory PROFILE: how long a whole vCenter inventory
 * takes (log in, container view, paged property retrieval, the model, the
 * datastore mapping, the JSON), how many SOAP round trips it costs and the
 * process's peak RSS.  Wall time is measured around the library calls
 * (vmshift_vcenter_open to vmshift_vcenter_close, the Logout included);
 * the request count is the client's, Logout included. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "tools/vmshift/bench.h"
#include "tools/vmshift/cli.h"

static double
bi_now (void)
{
    struct timespec ts;

    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* One inventory; *secs, *vms, *requests (Logout included), *pages. */
static int
bi_run (struct cli *c, const char *profile, double *secs, size_t *vms,
        uint64_t *requests, uint64_t *pages)
{
    struct vmshift_vcenter_stats st = { .struct_size = sizeof st };
    struct vmshift_inventory_opts o;
    struct vmshift_vcenter *vc = NULL;
    struct vmshift_inventory *inv = NULL;
    double t0 = bi_now ();
    char *json = NULL;

    vmshift_inventory_opts_init (&o);
    if (vmshift_vcenter_open (c->h, profile, &vc) < 0 ||
        vmshift_inventory_get (vc, &o, &inv) < 0 ||
        (json = vmshift_inventory_json (inv, 0)) == NULL) {
        vmshift_inventory_free (inv);
        vmshift_vcenter_close (vc);
        return -1;
    }
    *vms = vmshift_inventory_vm_count (inv);
    free (json);
    vmshift_inventory_free (inv);
    vmshift_vcenter_stats (vc, &st);
    vmshift_vcenter_close (vc);
    *secs = bi_now () - t0;
    *requests = st.requests + 1;        /* the Logout in close */
    *pages = st.pages;
    return 0;
}

int
bench_inventory (struct cli *c, const char *profile, int runs, int json)
{
    double s[BENCH_MAX_RUNS];
    size_t vms = 0;
    uint64_t req = 0, pages = 0;
    struct rusage ru;

    for (int i = 0; i < runs; i++) {
        if (bi_run (c, profile, &s[i], &vms, &req, &pages) < 0) {
            return cli_fail (c, "bench");
        }
        if (!json) {
            fprintf (stderr, "  run %d: %zu VMs in %.3f s\n", i + 1, vms,
                     s[i]);
        }
    }
    getrusage (RUSAGE_SELF, &ru);
    bench_sort (s, runs);
    if (json) {
        printf ("{\"bench\": \"inventory\", \"vcenter\": \"%s\", \"vms\": %zu, "
                "\"runs\": %d, \"median_s\": %.4f, \"min_s\": %.4f, "
                "\"max_s\": %.4f, \"soap_requests\": %llu, \"pages\": %llu, "
                "\"peak_rss_kib\": %ld}\n", profile, vms, runs,
                s[runs / 2], s[0], s[runs - 1], (unsigned long long) req,
                (unsigned long long) pages, ru.ru_maxrss);
    } else {
        printf ("inventory of %zu VMs: median %.3f s (min %.3f, max %.3f, "
                "%d runs), %llu SOAP round trips, %llu pages, peak RSS "
                "%.1f MiB\n", vms, s[runs / 2], s[0], s[runs - 1], runs,
                (unsigned long long) req, (unsigned long long) pages,
                ru.ru_maxrss / 1024.0);
    }
    return cli_finish_stdout (c, "bench", EXIT_OK);
}
