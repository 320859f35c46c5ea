#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "engine/base/error.h"
#include "engine/base/log.h"

void
vs_log_vmsg (const struct logger *lg, int level, const char *fmt, va_list ap)
{
    char msg[2048];
    int saved = errno;

    if (lg == NULL || lg->fn == NULL) {
        return;
    }
    vsnprintf (msg, sizeof msg, fmt, ap);
    for (char *p = msg; *p; p++) {
        if ((unsigned char) *p < 0x20) {
            *p = '?';
        }
    }
    lg->fn (lg->opaque, level, msg);
    errno = saved;
}

void
vs_log_msg (const struct logger *lg, int level, const char *fmt, ...)
{
    va_list ap;

    va_start (ap, fmt);
    vs_log_vmsg (lg, level, fmt, ap);
    va_end (ap);
}

void
vs_log_debug (const struct logger *lg, unsigned module, const char *fmt, ...)
{
    va_list ap;

    if (lg == NULL || (lg->debug_mask & module) == 0) {
        return;
    }
    va_start (ap, fmt);
    vs_log_vmsg (lg, LOG_DEBUG, fmt, ap);
    va_end (ap);
}

static const struct {
    const char *name;
    unsigned bit;
} log_names[] = {
    { "exec", LOGM_EXEC }, { "backend", LOGM_BACKEND },
    { "formats", LOGM_FORMATS }, { "ontap.http", LOGM_HTTP },
    { "http", LOGM_HTTP }, { "ontap", LOGM_ONTAP }, { "nfs", LOGM_NFS },
    { "hv", LOGM_HV }, { "all", LOGM_ALL },
};

int
vs_log_parse_flags (const char *s, unsigned *mask)
{
    unsigned m = 0;

    while (*s) {
        size_t n = strcspn (s, ",");
        size_t i;

        for (i = 0; i < sizeof log_names / sizeof log_names[0]; i++) {
            if (strlen (log_names[i].name) == n &&
                strncmp (s, log_names[i].name, n) == 0) {
                m |= log_names[i].bit;
                break;
            }
        }
        if (i == sizeof log_names / sizeof log_names[0]) {
            return set_error (EINVAL, "unknown debug flag '%.*s'", (int) n, s);
        }
        s += n;
        if (*s == ',') {
            s++;
        }
    }
    *mask = m;
    return 0;
}
