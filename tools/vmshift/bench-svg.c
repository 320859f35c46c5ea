/* SVG plot of median conversion time against disk size (log-log).
 *
 * The few functions of libm it needs are computed here (to well below a
 * pixel), so that vmshift does not link libm: one shared library fewer
 * to map and relocate at every start (docs/internals/dlopen.md). */
#include <stdio.h>
#include <string.h>

#include "tools/vmshift/bench.h"

#define W 720
#define H 440
#define ML 80
#define MR 150
#define MT 40
#define MB 60

static const char *const colours[] = { "#1f77b4", "#d62728", "#2ca02c",
                                       "#9467bd" };

/* log10 (v) for v > 0: v = m * 2^e with m in [1, 2), and
 * ln (m) = 2 atanh (z), z = (m - 1) / (m + 1) <= 1/3. */
static double
svg_log10 (double v)
{
    double z, z2, t, s = 0;
    int e = 0;

    while (v >= 2) {
        v /= 2;
        e++;
    }
    while (v < 1) {
        v *= 2;
        e--;
    }
    z = (v - 1) / (v + 1);
    z2 = z * z;
    t = z;
    for (int k = 1; k < 40; k += 2) {
        s += t / k;
        t *= z2;
    }
    return (e * 0.69314718055994530942 + 2 * s) * 0.43429448190325182765;
}

static double
svg_pow10 (double d)
{
    double v = 1;

    for (double i = 0; i < d; i += 1) {
        v *= 10;
    }
    for (double i = 0; i > d; i -= 1) {
        v /= 10;
    }
    return v;
}

static double
svg_floor (double x)
{
    double t = (double) (long long) x;

    return t > x ? t - 1 : t;
}

static double
svg_ceil (double x)
{
    double t = (double) (long long) x;

    return t < x ? t + 1 : t;
}

static double
svg_min (double a, double b)
{
    return a < b ? a : b;
}

static double
svg_max (double a, double b)
{
    return a > b ? a : b;
}

static double
svg_x (double size, double lo, double hi)
{
    return ML + (svg_log10 (size) - lo) / (hi - lo) * (W - ML - MR);
}

static double
svg_y (double ms, double lo, double hi)
{
    return H - MB - (svg_log10 (ms) - lo) / (hi - lo) * (H - MT - MB);
}

static void
svg_size_label (char *buf, size_t n, double size)
{
    static const char *const u[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
    int i = 0;

    while (size >= 1024 && i < 5) {
        size /= 1024;
        i++;
    }
    snprintf (buf, n, "%g %s", size, u[i]);
}

int
bench_svg (FILE *fp, const struct bench_cell *cells, size_t n,
           const char *const *formats, size_t nformats)
{
    double xlo = 1e30, xhi = 0, ylo = 1e30, yhi = 0;

    for (size_t i = 0; i < n; i++) {
        if (!cells[i].ok || cells[i].median_ms <= 0) {
            continue;
        }
        xlo = svg_min (xlo, svg_log10 ((double) cells[i].size));
        xhi = svg_max (xhi, svg_log10 ((double) cells[i].size));
        ylo = svg_min (ylo, svg_log10 (cells[i].median_ms));
        yhi = svg_max (yhi, svg_log10 (cells[i].median_ms));
    }
    if (xhi <= 0) {
        return -1;
    }
    xlo = svg_floor (xlo);
    xhi = svg_ceil (xhi + 0.01);
    ylo = svg_floor (ylo);
    yhi = svg_ceil (yhi + 0.01);
    fprintf (fp, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
             "height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">\n",
             W, H);
    fprintf (fp, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf (fp, "<text x=\"%d\" y=\"22\" font-size=\"15\">vmshift convert: "
             "median wall time vs virtual disk size (thin flat VMDK source)"
             "</text>\n", ML);
    /* axes and grid: one line per decade */
    for (double d = ylo; d <= yhi + 1e-9; d += 1) {
        double y = svg_y (svg_pow10 (d), ylo, yhi);

        fprintf (fp, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" "
                 "stroke=\"#ddd\"/>\n", ML, W - MR, y, y);
        fprintf (fp, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g ms"
                 "</text>\n", ML - 6, y + 4, svg_pow10 (d));
    }
    for (size_t i = 0; i < n; i++) {
        char lab[32];
        double x;

        if (!cells[i].ok || (i > 0 && cells[i].size == cells[i - 1].size)) {
            continue;
        }
        x = svg_x ((double) cells[i].size, xlo, xhi);
        svg_size_label (lab, sizeof lab, (double) cells[i].size);
        fprintf (fp, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" "
                 "stroke=\"#eee\"/>\n", x, x, MT, H - MB);
        fprintf (fp, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s"
                 "</text>\n", x, H - MB + 18, lab);
    }
    fprintf (fp, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">virtual disk "
             "size (log)</text>\n", (ML + W - MR) / 2, H - 15);
    fprintf (fp, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
             "fill=\"none\" stroke=\"black\"/>\n", ML, MT, W - ML - MR,
             H - MT - MB);
    for (size_t f = 0; f < nformats; f++) {
        const char *col = colours[f % 4];
        int first = 1;

        fprintf (fp, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                 "points=\"", col);
        for (size_t i = 0; i < n; i++) {
            if (cells[i].ok && strcmp (cells[i].format, formats[f]) == 0) {
                fprintf (fp, "%s%.1f,%.1f", first ? "" : " ",
                         svg_x ((double) cells[i].size, xlo, xhi),
                         svg_y (cells[i].median_ms, ylo, yhi));
                first = 0;
            }
        }
        fprintf (fp, "\"/>\n");
        for (size_t i = 0; i < n; i++) {
            if (cells[i].ok && strcmp (cells[i].format, formats[f]) == 0) {
                fprintf (fp, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" "
                         "fill=\"%s\"/>\n",
                         svg_x ((double) cells[i].size, xlo, xhi),
                         svg_y (cells[i].median_ms, ylo, yhi), col);
            }
        }
        fprintf (fp, "<rect x=\"%d\" y=\"%zu\" width=\"14\" height=\"4\" "
                 "fill=\"%s\"/><text x=\"%d\" y=\"%zu\">%s</text>\n",
                 W - MR + 14, (size_t) MT + 10 + f * 20, col, W - MR + 34,
                 (size_t) MT + 15 + f * 20, formats[f]);
    }
    fprintf (fp, "</svg>\n");
    return 0;
}
