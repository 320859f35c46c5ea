/* Job schedules: the subset of systemd's calendar-event syntax that
 * vmshift accepts (systemd.time(7), "CALENDAR EVENTS"; docs/jobs.md,
 * "Schedules", lists the subset and why).
 *
 *   [WEEKDAYS] [[YEAR-]MONTH-DAY] [HOUR:MINUTE[:SECOND]]
 *
 * or one of the shorthands minutely, hourly, daily, weekly, monthly,
 * quarterly, semiannually, yearly, annually.  Each numeric field is a
 * comma list of '*', N, A..B, with an optional '/STEP' repetition.
 * Left out on purpose: '~' (days counted from the month's end),
 * fractional seconds, a timezone inside the expression (the job file has
 * its own 'timezone' key), and epoch '@' times.  Every expression is
 * turned into sets of matching values, which is enough to compute the
 * next elapse and the crontab fields.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "engine/base/error.h"
#include "engine/jobs/job.h"

#define CAL_EXPR_MAX 256

struct cal_field {
    const char *what;          /* "hour", for messages */
    unsigned lo, hi;           /* value range */
    uint64_t *words;           /* bit (value - base) */
    unsigned base;
};

static const struct {
    const char *name, *expansion;
} cal_shorthands[] = {
    { "minutely", "*-*-* *:*:00" },
    { "hourly", "*-*-* *:00:00" },
    { "daily", "*-*-* 00:00:00" },
    { "weekly", "Mon *-*-* 00:00:00" },
    { "monthly", "*-*-01 00:00:00" },
    { "quarterly", "*-01,04,07,10-01 00:00:00" },
    { "semiannually", "*-01,07-01 00:00:00" },
    { "yearly", "*-01-01 00:00:00" },
    { "annually", "*-01-01 00:00:00" },
};

/* Monday first, as systemd writes ranges (Mon..Sun). */
static const char *const cal_days[7][2] = {
    { "Mon", "Monday" }, { "Tue", "Tuesday" }, { "Wed", "Wednesday" },
    { "Thu", "Thursday" }, { "Fri", "Friday" }, { "Sat", "Saturday" },
    { "Sun", "Sunday" },
};

static void
cal_set (const struct cal_field *f, unsigned v)
{
    unsigned i = v - f->base;

    f->words[i / 64] |= (uint64_t) 1 << (i % 64);
}

static int
cal_number (const char *s, size_t n, unsigned *out)
{
    unsigned v = 0;

    if (n == 0 || n > 4) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (unsigned) (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int
cal_bad (const char *expr, const char *fmt, const char *item, size_t n)
{
    char what[128];

    snprintf (what, sizeof what, fmt, (int) (n > 40 ? 40 : n), item);
    return set_error (EINVAL, "schedule '%s': %s", expr, what);
}

/* One item of a comma list: '*', N, A..B, each with an optional /STEP. */
static int
cal_item (const struct cal_field *f, const char *expr, const char *s,
          size_t n)
{
    const char *slash = memchr (s, '/', n);
    const char *dots;
    size_t body = slash ? (size_t) (slash - s) : n;
    unsigned a, b, step = 0;

    if (slash && (cal_number (slash + 1, n - body - 1, &step) < 0 ||
                  step == 0)) {
        return cal_bad (expr, "bad repetition in '%.*s' (want /N, N > 0)",
                        s, n);
    }
    dots = body >= 2 ? memmem (s, body, "..", 2) : NULL;
    if (body == 1 && s[0] == '*') {
        a = f->lo;
        b = f->hi;
    } else if (dots) {
        if (cal_number (s, (size_t) (dots - s), &a) < 0 ||
            cal_number (dots + 2, body - (size_t) (dots - s) - 2, &b) < 0) {
            return cal_bad (expr, "bad range '%.*s'", s, n);
        }
    } else if (cal_number (s, body, &a) == 0) {
        b = slash ? f->hi : a;
    } else {
        return cal_bad (expr, "'%.*s' is not a number, range or '*' (the "
                        "supported subset is in docs/jobs.md)", s, n);
    }
    if (a < f->lo || b > f->hi || a > b) {
        char msg[96];

        snprintf (msg, sizeof msg, "%s '%%.*s' out of range %u..%u", f->what,
                  f->lo, f->hi);
        return cal_bad (expr, msg, s, n);
    }
    for (unsigned v = a; v <= b; v += step ? step : 1) {
        cal_set (f, v);
    }
    return 0;
}

static int
cal_list (const struct cal_field *f, const char *expr, const char *s,
          size_t n)
{
    while (1) {
        const char *comma = memchr (s, ',', n);
        size_t len = comma ? (size_t) (comma - s) : n;
        int r;

        if (len == 0) {
            return set_error (EINVAL, "schedule '%s': empty %s in a list",
                              expr, f->what);
        }
        r = cal_item (f, expr, s, len);
        if (r < 0) {
            return r;
        }
        if (comma == NULL) {
            return 0;
        }
        n -= len + 1;
        s = comma + 1;
    }
}

static int
cal_day_index (const char *s, size_t n)
{
    for (int i = 0; i < 7; i++) {
        for (int k = 0; k < 2; k++) {
            if (strlen (cal_days[i][k]) == n &&
                strncasecmp (cal_days[i][k], s, n) == 0) {
                return i;
            }
        }
    }
    return -1;
}

/* Mon..Fri, Sat,Sun, Mon-Wed: Monday-first ranges. */
static int
cal_weekdays (struct job_cal *c, const char *expr, const char *s, size_t n)
{
    c->wday = 0;
    while (1) {
        const char *comma = memchr (s, ',', n);
        size_t len = comma ? (size_t) (comma - s) : n;
        const char *sep = len >= 2 ? memmem (s, len, "..", 2) : NULL;
        size_t seplen = 2;
        int a, b;

        if (sep == NULL) {
            sep = memchr (s, '-', len);
            seplen = 1;
        }
        if (sep) {
            a = cal_day_index (s, (size_t) (sep - s));
            b = cal_day_index (sep + seplen, len - (size_t) (sep - s) - seplen);
        } else {
            a = b = cal_day_index (s, len);
        }
        if (a < 0 || b < 0 || a > b) {
            return cal_bad (expr, "bad weekday '%.*s' (Mon..Sun, lists and "
                            "ranges such as Mon..Fri)", s, len);
        }
        for (int d = a; d <= b; d++) {
            c->wday |= (uint8_t) (1u << ((d + 1) % 7));
        }
        if (comma == NULL) {
            return 0;
        }
        n -= len + 1;
        s = comma + 1;
    }
}

/* Split s at 'sep' into exactly 2 or 3 parts. */
static int
cal_split (const char *s, char sep, const char *part[3], size_t len[3])
{
    size_t k = 0;
    const char *p = s;

    while (1) {
        const char *e = strchr (p, sep);

        if (k == 3) {
            return -1;
        }
        part[k] = p;
        len[k] = e ? (size_t) (e - p) : strlen (p);
        k++;
        if (e == NULL) {
            break;
        }
        p = e + 1;
    }
    return k >= 2 ? (int) k : -1;
}

static int
cal_date (struct job_cal *c, const char *expr, const char *tok)
{
    uint64_t mday = 0, mon = 0;
    struct cal_field fy = { "year", JOB_CAL_YEAR0,
                            JOB_CAL_YEAR0 + JOB_CAL_YEARS - 1, c->year,
                            JOB_CAL_YEAR0 };
    struct cal_field fm = { "month", 1, 12, &mon, 0 };
    struct cal_field fd = { "day", 1, 31, &mday, 0 };
    const char *part[3];
    size_t len[3];
    int k = cal_split (tok, '-', part, len), r, i = 0;

    if (k < 0) {
        return set_error (EINVAL, "schedule '%s': bad date '%s' (want "
                          "[YEAR-]MONTH-DAY)", expr, tok);
    }
    memset (c->year, 0, sizeof c->year);
    if (k == 3) {
        c->any_year = len[0] == 1 && part[0][0] == '*';
        r = cal_list (&fy, expr, part[i], len[i]);
        if (r < 0) {
            return r;
        }
        i++;
    } else {
        r = cal_list (&fy, expr, "*", 1);
        c->any_year = true;
    }
    if (memchr (part[i + 1], '~', len[i + 1])) {
        return set_error (EINVAL, "schedule '%s': '~' (days counted from "
                          "the end of the month) is not supported", expr);
    }
    if (r < 0 || (r = cal_list (&fm, expr, part[i], len[i])) < 0 ||
        (r = cal_list (&fd, expr, part[i + 1], len[i + 1])) < 0) {
        return r;
    }
    c->mon = (uint16_t) mon;
    c->mday = (uint32_t) mday;
    c->any_mday = len[i + 1] == 1 && part[i + 1][0] == '*';
    return 0;
}

static int
cal_time (struct job_cal *c, const char *expr, const char *tok)
{
    uint64_t hour = 0;
    struct cal_field fh = { "hour", 0, 23, &hour, 0 };
    struct cal_field fm = { "minute", 0, 59, &c->min, 0 };
    struct cal_field fs = { "second", 0, 59, &c->sec, 0 };
    const char *part[3];
    size_t len[3];
    int k = cal_split (tok, ':', part, len), r;

    if (k < 0) {
        return set_error (EINVAL, "schedule '%s': bad time '%s' (want "
                          "HOUR:MINUTE[:SECOND])", expr, tok);
    }
    if (strchr (tok, '.') && !strstr (tok, "..")) {
        return set_error (EINVAL, "schedule '%s': fractional seconds are "
                          "not supported", expr);
    }
    c->min = c->sec = 0;
    if ((r = cal_list (&fh, expr, part[0], len[0])) < 0 ||
        (r = cal_list (&fm, expr, part[1], len[1])) < 0 ||
        (r = cal_list (&fs, expr, k == 3 ? part[2] : "00",
                       k == 3 ? len[2] : 2)) < 0) {
        return r;
    }
    c->hour = (uint32_t) hour;
    return 0;
}

static bool
cal_is_weekday_token (const char *t)
{
    return (t[0] >= 'A' && t[0] <= 'Z') || (t[0] >= 'a' && t[0] <= 'z');
}

static int
cal_tokens (struct job_cal *c, const char *expr, char *buf)
{
    char *tok[4];
    size_t nt = 0;
    size_t i = 0;
    int r;

    for (char *p = buf; *p;) {
        while (*p == ' ' || *p == '\t') {
            *p++ = '\0';
        }
        if (*p == '\0') {
            break;
        }
        if (nt == 3) {
            return set_error (EINVAL, "schedule '%s': too many parts (a "
                              "timezone goes in the job's 'timezone' key)",
                              expr);
        }
        tok[nt++] = p;
        while (*p && *p != ' ' && *p != '\t') {
            p++;
        }
    }
    if (nt == 0) {
        return set_error (EINVAL, "schedule is empty");
    }
    if (i < nt && cal_is_weekday_token (tok[i])) {
        if ((r = cal_weekdays (c, expr, tok[i], strlen (tok[i]))) < 0) {
            return r;
        }
        c->any_wday = false;
        i++;
    }
    if (i < nt && !strchr (tok[i], ':')) {
        if ((r = cal_date (c, expr, tok[i])) < 0) {
            return r;
        }
        i++;
    }
    if (i < nt && (r = cal_time (c, expr, tok[i++])) < 0) {
        return r;
    }
    if (i < nt) {
        return set_error (EINVAL, "schedule '%s': unexpected '%s' (the order "
                          "is WEEKDAYS DATE TIME; a timezone goes in the "
                          "job's 'timezone' key)", expr, tok[i]);
    }
    return 0;
}

int
job_calendar_parse (const char *expr, struct job_cal *out)
{
    struct job_cal c;
    char buf[CAL_EXPR_MAX];
    const char *src = expr;
    int r;

    if (strlen (expr) >= sizeof buf) {
        return set_error (EINVAL, "schedule is longer than %d characters",
                          CAL_EXPR_MAX - 1);
    }
    for (const char *p = expr; *p; p++) {
        if ((unsigned char) *p < 0x20 && *p != '\t') {
            return set_error (EINVAL, "schedule contains a control "
                              "character");
        }
    }
    for (size_t i = 0; i < sizeof cal_shorthands / sizeof cal_shorthands[0];
         i++) {
        if (strcasecmp (expr, cal_shorthands[i].name) == 0) {
            src = cal_shorthands[i].expansion;
        }
    }
    /* Left out: everything matches every day at 00:00:00. */
    memset (&c, 0, sizeof c);
    c.wday = 0x7f;
    c.any_wday = c.any_mday = c.any_year = true;
    c.mon = 0x1ffe;
    c.mday = 0xfffffffe;
    c.hour = 1;
    c.min = c.sec = 1;
    for (unsigned y = 0; y < JOB_CAL_YEARS; y++) {
        c.year[y / 64] |= (uint64_t) 1 << (y % 64);
    }
    snprintf (buf, sizeof buf, "%s", src);
    r = cal_tokens (&c, expr, buf);
    if (r < 0) {
        return r;
    }
    *out = c;
    return 0;
}

/* ------------------------------------------------------------ next elapse */

static bool
cal_has (uint64_t set, unsigned v)
{
    return v < 64 && (set >> v) & 1;
}

static bool
cal_has_year (const struct job_cal *c, int year)
{
    int i = year - JOB_CAL_YEAR0;

    return i >= 0 && i < JOB_CAL_YEARS && (c->year[i / 64] >> (i % 64)) & 1;
}

/* Jump to the start of the next year (0), month (1), day (2), hour (3),
 * minute (4) or second (5) in broken-down UTC; timegm normalises the
 * overflow (month 12, day 32, ...). */
static int64_t
cal_jump (struct tm tm, int field)
{
    switch (field) {
    case 0:
        tm.tm_year++;
        tm.tm_mon = 0;
        tm.tm_mday = 1;
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        break;
    case 1:
        tm.tm_mon++;
        tm.tm_mday = 1;
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        break;
    case 2:
        tm.tm_mday++;
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        break;
    case 3:
        tm.tm_hour++;
        tm.tm_min = tm.tm_sec = 0;
        break;
    case 4:
        tm.tm_min++;
        tm.tm_sec = 0;
        break;
    default:
        tm.tm_sec++;
        break;
    }
    tm.tm_isdst = 0;
    return (int64_t) timegm (&tm);
}

int
job_calendar_next_utc (const struct job_cal *c, int64_t after, int64_t *out)
{
    int64_t t = after + 1;
    struct tm tm;

    while (1) {
        time_t tt = (time_t) t;
        int field = -1;

        if (gmtime_r (&tt, &tm) == NULL ||
            tm.tm_year + 1900 >= JOB_CAL_YEAR0 + JOB_CAL_YEARS) {
            return set_error (ERANGE, "the schedule never elapses again");
        }
        if (!cal_has_year (c, tm.tm_year + 1900)) {
            field = 0;
        } else if (!cal_has (c->mon, (unsigned) tm.tm_mon + 1)) {
            field = 1;
        } else if (!cal_has (c->mday, (unsigned) tm.tm_mday) ||
                   !cal_has (c->wday, (unsigned) tm.tm_wday)) {
            field = 2;
        } else if (!cal_has (c->hour, (unsigned) tm.tm_hour)) {
            field = 3;
        } else if (!cal_has (c->min, (unsigned) tm.tm_min)) {
            field = 4;
        } else if (!cal_has (c->sec, (unsigned) tm.tm_sec)) {
            field = 5;
        } else {
            *out = t;
            return 0;
        }
        t = cal_jump (tm, field);
    }
}

/* ------------------------------------------------------------------ cron */

/* A set as cron writes it: '*' when full, else a list with runs of three
 * or more as ranges. */
static int
cal_cron_field (uint64_t set, unsigned lo, unsigned hi, char *buf, size_t n)
{
    size_t used = 0;
    unsigned v = lo;
    uint64_t full = 0;

    for (unsigned i = lo; i <= hi; i++) {
        full |= (uint64_t) 1 << i;
    }
    if ((set & full) == full) {
        return snprintf (buf, n, "*") < (int) n ? 0 : -1;
    }
    while (v <= hi) {
        unsigned e = v;
        int w;

        if (!cal_has (set, v)) {
            v++;
            continue;
        }
        while (e + 1 <= hi && cal_has (set, e + 1)) {
            e++;
        }
        if (e >= v + 2) {
            w = snprintf (buf + used, n - used, "%s%u-%u", used ? "," : "",
                          v, e);
        } else {
            w = snprintf (buf + used, n - used, "%s%u", used ? "," : "", v);
            e = v;
        }
        if (w < 0 || (size_t) w >= n - used) {
            return -1;
        }
        used += (size_t) w;
        v = e + 1;
    }
    return used ? 0 : -1;
}

int
job_calendar_cron (const struct job_cal *c, const char *expr, char *buf,
                   size_t n)
{
    char f[5][200];

    if (c->sec != 1) {
        return set_error (ENOTSUP, "schedule '%s': cron cannot run at "
                          "seconds other than :00", expr);
    }
    if (!c->any_year) {
        return set_error (ENOTSUP, "schedule '%s': cron cannot restrict the "
                          "year", expr);
    }
    /* systemd ANDs the day of the month and the weekday; cron ORs them
     * when both are restricted, so only one of them may be. */
    if ((c->mday & 0xfffffffeu) != 0xfffffffeu && c->wday != 0x7f) {
        return set_error (ENOTSUP, "schedule '%s': cron runs when either the "
                          "day of the month or the weekday matches, systemd "
                          "only when both do", expr);
    }
    if (cal_cron_field (c->min, 0, 59, f[0], sizeof f[0]) < 0 ||
        cal_cron_field (c->hour, 0, 23, f[1], sizeof f[1]) < 0 ||
        cal_cron_field (c->mday, 1, 31, f[2],
                        sizeof f[2]) < 0 ||
        cal_cron_field (c->mon, 1, 12, f[3], sizeof f[3]) < 0 ||
        cal_cron_field (c->wday, 0, 6, f[4],
                        sizeof f[4]) < 0) {
        return set_error (ENOTSUP, "schedule '%s': cannot be written as "
                          "crontab fields", expr);
    }
    if (snprintf (buf, n, "%s %s %s %s %s", f[0], f[1], f[2], f[3], f[4]) >=
        (int) n) {
        return set_error (ENOTSUP, "schedule '%s': crontab fields too long",
                          expr);
    }
    return 0;
}
