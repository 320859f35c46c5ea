/* Helpers shared by the bench modes (cmd-bench.c, bench-*.c): medians
 * and the end of a measuring child. */
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "tools/vmshift/bench.h"

static int
bench_cmp_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;

    return x < y ? -1 : x > y;
}

void
bench_sort (double *v, int n)
{
    qsort (v, (size_t) n, sizeof *v, bench_cmp_double);
}

double
bench_median (double *v, int n)
{
    bench_sort (v, n);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void
bench_child_send (int wfd, const void *m, size_t n, long *maxrss)
{
    struct rusage ru;

    getrusage (RUSAGE_SELF, &ru);
    *maxrss = ru.ru_maxrss;
    if (write (wfd, m, n) != (ssize_t) n) {
        _exit (3);
    }
    _exit (0);
}
