/* See progress.h.  The table is redrawn in place with ANSI cursor
 * movement (up N lines, clear to the end of the screen), at most once a
 * second: by the event that finds the last drawing a second old, or by a
 * ticker thread when events are quiet (a boot delay, a long copy), so the
 * time column keeps moving.  Lines that must stay (notes, failures, run
 * events) are printed above the table at the next drawing. */
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "tools/vmshift/progress.h"

#define EV_NAME 64
#define EV_LINE 1024

static double
cli_now (void)
{
    struct timespec ts;

    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

void
cli_human_bytes (char *buf, size_t n, uint64_t bytes)
{
    static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB",
                                        "PiB", "EiB" };
    double v = (double) bytes;
    size_t i = 0;

    if (bytes < 1024) {
        snprintf (buf, n, "%" PRIu64 " B", bytes);
        return;
    }
    while (v >= 1024 && i < 6) {
        v /= 1024;
        i++;
    }
    snprintf (buf, n, "%.1f %s", v, unit[i]);
}

static void
cli_hms (char *buf, size_t n, double s)
{
    unsigned long t = s > 0 ? (unsigned long) (s + 0.5) : 0;

    if (t >= 3600) {
        snprintf (buf, n, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
    } else {
        snprintf (buf, n, "%lu:%02lu", t / 60, t % 60);
    }
}

/* Terminal size of fd; 80x24 when unknown. */
static void
cli_term_size (int fd, int *cols, int *rows)
{
    struct winsize ws;

    *cols = 80;
    *rows = 24;
    if (ioctl (fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
        *cols = ws.ws_col;
        if (ws.ws_row > 0) {
            *rows = ws.ws_row;
        }
    }
}

/* Copy s for a terminal: control characters (an escape sequence in a
 * name or a message) become '?'. */
static void
cli_sanitize (char *dst, size_t n, const char *s)
{
    size_t i = 0;

    for (; s && *s && i + 1 < n; s++) {
        unsigned char ch = (unsigned char) *s;

        dst[i++] = ch < 0x20 || ch == 0x7f ? '?' : (char) ch;
    }
    dst[i] = '\0';
}

/* Cut line to cols - 1 columns (so it never wraps), at a UTF-8
 * character boundary; columns counted as characters. */
static void
cli_cut (char *line, int cols)
{
    int w = 0;

    for (char *p = line; *p; p++) {
        if (((unsigned char) *p & 0xc0) == 0x80) {
            continue;
        }
        if (++w >= cols) {
            *p = '\0';
            return;
        }
    }
}

/* ------------------------------------------------------ run events */

struct ev_row {
    char vm[EV_NAME];
    char state[24];
    char reason[256];
    uint64_t total, done, cloned, copied;
    double t0, t1;              /* first seen; final state reached (0) */
};

struct cli_events {
    enum cli_ev_mode mode;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t ticker;
    bool ticking, stop;
    int64_t run;
    char run_state[24];
    double t0, t_drawn;
    int lines;                  /* table lines on the screen */
    struct ev_row *rows;
    size_t nrows, cap;
    char **msgs;                /* to print above the table */
    size_t nmsgs, msgcap;
};

struct cli_events *
cli_events_new (int json)
{
    struct cli_events *ev = calloc (1, sizeof *ev);

    if (!ev) {
        return NULL;
    }
    ev->mode = json ? CLI_EV_JSON : isatty (STDOUT_FILENO) ? CLI_EV_TABLE
        : CLI_EV_PLAIN;
    pthread_mutex_init (&ev->lock, NULL);
    pthread_cond_init (&ev->cond, NULL);
    ev->t0 = cli_now ();
    return ev;
}

enum cli_ev_mode
cli_events_mode (const struct cli_events *ev)
{
    return ev->mode;
}

static bool
ev_final (const char *state)
{
    return strcmp (state, "complete") == 0 ||
           strcmp (state, "admin-step") == 0 ||
           strcmp (state, "failed") == 0 || strcmp (state, "aborted") == 0 ||
           strcmp (state, "cleaned") == 0;
}

/* The step a VM in this state is at (docs/internals/workflow.md). */
static void
ev_step (const struct ev_row *r, char *buf, size_t n)
{
    static const struct { const char *state, *step; } steps[] = {
        { "pending", "preflight" }, { "ready", "snapshot" },
        { "converted", "define" }, { "defined", "register" },
        { "registered", "power on" }, { "started", "others booting" },
        { "complete", "-" }, { "admin-step", "registering is the admin's" },
        { "aborted", "-" }, { "cleaned", "-" },
    };

    if (strcmp (r->state, "converting") == 0) {
        if (r->total) {
            snprintf (buf, n, "convert %3.0f%%", 100.0 * (double) r->done /
                      (double) r->total);
        } else {
            snprintf (buf, n, "convert");
        }
        return;
    }
    if (strcmp (r->state, "failed") == 0) {
        snprintf (buf, n, "%s", r->reason);
        return;
    }
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        if (strcmp (r->state, steps[i].state) == 0) {
            snprintf (buf, n, "%s", steps[i].step);
            return;
        }
    }
    snprintf (buf, n, "%s", r->state);
}

static void
ev_put (char *line, int cols, int *lines)
{
    cli_cut (line, cols);
    fputs (line, stdout);
    fputs ("\n", stdout);
    (*lines)++;
}

static void
ev_row_line (const struct cli_events *ev, const struct ev_row *r, int wvm,
             double now, char *line)
{
    char step[280], t[32], sh[32], cp[32];

    ev_step (r, step, sizeof step);
    cli_hms (t, sizeof t, (r->t1 > 0 ? r->t1 : now) - r->t0);
    cli_human_bytes (sh, sizeof sh, r->cloned);
    cli_human_bytes (cp, sizeof cp, r->copied);
    (void) ev;
    snprintf (line, EV_LINE, "%-*s %-11s %8s %10s %10s  %s", wvm, r->vm,
              r->state, t, sh, cp, step);
}

/* Under ev->lock. */
static void
ev_draw (struct cli_events *ev)
{
    double now = cli_now ();
    int cols, trows, wvm = 2, room;
    size_t shown = 0, nfinal = 0, nfailed = 0, nall = ev->nrows;
    char line[EV_LINE], t[32];

    cli_term_size (STDOUT_FILENO, &cols, &trows);
    if (ev->lines > 0) {
        printf ("\033[%dA", ev->lines);
    }
    fputs ("\r\033[J", stdout);
    for (size_t i = 0; i < ev->nmsgs; i++) {
        printf ("%s\n", ev->msgs[i]);
        free (ev->msgs[i]);
    }
    ev->nmsgs = 0;
    ev->lines = 0;
    for (size_t i = 0; i < ev->nrows; i++) {
        int l = (int) strlen (ev->rows[i].vm);

        wvm = l > wvm ? l : wvm;
        nfinal += ev_final (ev->rows[i].state);
        nfailed += strcmp (ev->rows[i].state, "failed") == 0;
    }
    wvm = wvm > 24 ? 24 : wvm;
    cli_hms (t, sizeof t, now - ev->t0);
    snprintf (line, sizeof line, "run %" PRId64 ": %s, %zu of %zu VMs done "
              "(%zu failed), %s", ev->run, ev->run_state[0] ? ev->run_state
              : "-", nfinal, nall, nfailed, t);
    ev_put (line, cols, &ev->lines);
    snprintf (line, sizeof line, "%-*s %-11s %8s %10s %10s  %s", wvm, "VM",
              "STATE", "TIME", "SHARED", "COPIED", "STEP");
    ev_put (line, cols, &ev->lines);
    /* a table taller than the terminal cannot be redrawn in place: the
     * VMs still going first, then the finished ones, then a count */
    room = trows - 4 < 3 ? 3 : trows - 4;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < ev->nrows; i++) {
            const struct ev_row *r = &ev->rows[i];

            if (ev_final (r->state) != (pass == 1)) {
                continue;
            }
            if ((int) shown >= room && shown + 1 < nall) {
                continue;
            }
            ev_row_line (ev, r, wvm, now, line);
            ev_put (line, cols, &ev->lines);
            shown++;
        }
    }
    if (shown < nall) {
        snprintf (line, sizeof line, "... and %zu more VMs", nall - shown);
        ev_put (line, cols, &ev->lines);
    }
    fflush (stdout);
    ev->t_drawn = now;
}

static void *
ev_tick (void *opaque)
{
    struct cli_events *ev = opaque;

    pthread_mutex_lock (&ev->lock);
    while (!ev->stop) {
        struct timespec ts;

        clock_gettime (CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait (&ev->cond, &ev->lock, &ts);
        if (!ev->stop && cli_now () - ev->t_drawn >= 1.0) {
            ev_draw (ev);
        }
    }
    pthread_mutex_unlock (&ev->lock);
    return NULL;
}

static struct ev_row *
ev_row_of (struct cli_events *ev, const char *vm)
{
    struct ev_row *r;

    for (size_t i = 0; i < ev->nrows; i++) {
        if (strncmp (ev->rows[i].vm, vm, EV_NAME - 1) == 0) {
            return &ev->rows[i];
        }
    }
    if (ev->nrows == ev->cap) {
        size_t nc = ev->cap ? ev->cap * 2 : 16;
        struct ev_row *nr = realloc (ev->rows, nc * sizeof *nr);

        if (!nr) {
            return NULL;
        }
        ev->rows = nr;
        ev->cap = nc;
    }
    r = &ev->rows[ev->nrows++];
    memset (r, 0, sizeof *r);
    cli_sanitize (r->vm, sizeof r->vm, vm);
    r->t0 = cli_now ();
    return r;
}

static void
ev_message (struct cli_events *ev, const char *line)
{
    char buf[EV_LINE];
    char *s;

    if (ev->nmsgs == ev->msgcap) {
        size_t nc = ev->msgcap ? ev->msgcap * 2 : 16;
        char **nm = realloc (ev->msgs, nc * sizeof *nm);

        if (!nm) {
            return;
        }
        ev->msgs = nm;
        ev->msgcap = nc;
    }
    cli_sanitize (buf, sizeof buf, line);
    if ((s = strdup (buf)) != NULL) {
        ev->msgs[ev->nmsgs++] = s;
    }
}

void
cli_events_message (struct cli_events *ev, const char *line)
{
    if (ev->mode != CLI_EV_TABLE) {
        fprintf (stderr, "%s\n", line);
        return;
    }
    pthread_mutex_lock (&ev->lock);
    ev_message (ev, line);
    pthread_mutex_unlock (&ev->lock);
}

void
cli_events_cb (void *opaque, const struct vmshift_run_event *e)
{
    struct cli_events *ev = opaque;
    bool quiet = strcmp (e->step, "progress") == 0 ||
                 strcmp (e->step, "status") == 0;

    if (ev->mode == CLI_EV_JSON) {
        printf ("%s\n", e->json);
        fflush (stdout);
        return;
    }
    if (ev->mode == CLI_EV_PLAIN) {
        if (!quiet) {
            printf ("%s\n", e->line);
            fflush (stdout);
        }
        return;
    }
    pthread_mutex_lock (&ev->lock);
    ev->run = e->run;
    if (!e->vm) {
        snprintf (ev->run_state, sizeof ev->run_state, "%s", e->state);
        if (!quiet) {
            ev_message (ev, e->line);
        }
    } else {
        struct ev_row *r = ev_row_of (ev, e->vm);

        if (r) {
            snprintf (r->state, sizeof r->state, "%s", e->state);
            r->total = e->bytes_total;
            r->done = e->bytes_done;
            r->cloned = e->bytes_cloned;
            r->copied = e->bytes_copied;
            if (ev_final (r->state)) {
                if (r->t1 == 0) {
                    r->t1 = cli_now ();
                }
            } else {
                r->t1 = 0;
            }
            if (strcmp (e->step, "failed") == 0 && e->message) {
                cli_sanitize (r->reason, sizeof r->reason, e->message);
            }
        }
        if (strcmp (e->step, "note") == 0 || strcmp (e->step, "failed") == 0) {
            ev_message (ev, e->line);
        }
    }
    if (!ev->ticking &&
        pthread_create (&ev->ticker, NULL, ev_tick, ev) == 0) {
        ev->ticking = true;
    }
    if (cli_now () - ev->t_drawn >= 1.0) {
        ev_draw (ev);
    }
    pthread_mutex_unlock (&ev->lock);
}

void
cli_events_finish (struct cli_events *ev)
{
    if (!ev) {
        return;
    }
    if (ev->ticking) {
        pthread_mutex_lock (&ev->lock);
        ev->stop = true;
        pthread_cond_signal (&ev->cond);
        pthread_mutex_unlock (&ev->lock);
        pthread_join (ev->ticker, NULL);
    }
    if (ev->mode == CLI_EV_TABLE && (ev->nrows || ev->nmsgs)) {
        ev_draw (ev);
    }
    for (size_t i = 0; i < ev->nmsgs; i++) {
        free (ev->msgs[i]);
    }
    free (ev->msgs);
    free (ev->rows);
    pthread_cond_destroy (&ev->cond);
    pthread_mutex_destroy (&ev->lock);
    free (ev);
}

/* -------------------------------------------------- copy progress */

struct cp_disk {
    uint64_t total, done, to_copy, copied;
    bool finished;
};

struct cli_copy {
    size_t n;
    struct cp_disk *d;
    double t0, t_drawn, t_last;
    uint64_t done_last;
    double rate;                /* bytes/s, smoothed */
    bool shown;                 /* a line to erase at the end */
    bool ended;                 /* the last line is out */
};

struct cli_copy *
cli_copy_new (size_t n)
{
    struct cli_copy *cp;

    if (!isatty (STDERR_FILENO) || n == 0) {
        return NULL;
    }
    if (!(cp = calloc (1, sizeof *cp)) ||
        !(cp->d = calloc (n, sizeof *cp->d))) {
        free (cp);
        return NULL;
    }
    cp->n = n;
    cp->t0 = cp->t_last = cli_now ();
    return cp;
}

/* The library calls this from one thread at a time (engine/vmshift.h). */
void
cli_copy_cb (void *opaque, const struct vmshift_progress *p)
{
    struct cli_copy *cp = opaque;
    uint64_t total = 0, done = 0, to_copy = 0, copied = 0;
    bool all = true;
    double now = cli_now (), left;
    char line[256], r[32], sz[32], l[32];
    int cols, rows;

    if (!cp || p->index >= cp->n) {
        return;
    }
    cp->d[p->index].total = p->bytes_total;
    cp->d[p->index].done = p->bytes_done;
    cp->d[p->index].to_copy = p->bytes_to_copy;
    cp->d[p->index].copied = p->bytes_copied;
    cp->d[p->index].finished = p->finished != 0;
    for (size_t i = 0; i < cp->n; i++) {
        total += cp->d[i].total;
        done += cp->d[i].done;
        to_copy += cp->d[i].to_copy;
        copied += cp->d[i].copied;
        all = all && cp->d[i].finished;
    }
    /* all shared: nothing to wait for, nothing to show */
    if (to_copy == 0 && copied == 0) {
        return;
    }
    if (cp->ended || (cp->t_drawn > 0 && now - cp->t_drawn < 1.0 && !all)) {
        return;
    }
    if (now > cp->t_last && done >= cp->done_last) {
        double inst = (double) (done - cp->done_last) / (now - cp->t_last);

        cp->rate = cp->rate > 0 ? 0.7 * cp->rate + 0.3 * inst : inst;
    }
    cp->t_last = now;
    cp->done_last = done;
    cli_human_bytes (r, sizeof r, (uint64_t) cp->rate);
    cli_human_bytes (sz, sizeof sz, total);
    if (all || done >= total) {
        snprintf (l, sizeof l, "0:00");
    } else if (cp->rate >= 1) {
        left = (double) (total - done) / cp->rate;
        cli_hms (l, sizeof l, left);
    } else {
        snprintf (l, sizeof l, "--:--");
    }
    snprintf (line, sizeof line, "    %5.1f%% of %s, %s/s, %s left",
              total ? 100.0 * (double) done / (double) total : 100.0, sz, r,
              l);
    cli_term_size (STDERR_FILENO, &cols, &rows);
    cli_cut (line, cols);
    /* the last line stays, as qemu-img's does */
    fprintf (stderr, "\r%s\033[K%s", line, all ? "\n" : "");
    fflush (stderr);
    cp->shown = !all;
    cp->t_drawn = now;
    cp->ended = all;
}

void
cli_copy_finish (struct cli_copy *cp)
{
    if (!cp) {
        return;
    }
    if (cp->shown) {
        fputs ("\r\033[K", stderr);
        fflush (stderr);
    }
    free (cp->d);
    free (cp);
}
