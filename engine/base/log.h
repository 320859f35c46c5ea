/* Logging: the library never writes to stderr.  Messages go to a
 * callback installed by the application (the CLI installs a stderr
 * sink).  Debug messages are filtered by per-module flags, set from
 * "-D ontap.http,exec" or VMSHIFT_DEBUG.  Logging preserves errno. */
#ifndef VMSHIFT_BASE_LOG_H
#define VMSHIFT_BASE_LOG_H

#include <stdarg.h>

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* Debug modules; names as in "-D" flags. */
enum log_module {
    LOGM_EXEC = 1u << 0,        /* "exec"      plan executor */
    LOGM_BACKEND = 1u << 1,     /* "backend"   backend calls */
    LOGM_FORMATS = 1u << 2,     /* "formats" */
    LOGM_HTTP = 1u << 3,        /* "ontap.http" request/response lines */
    LOGM_ONTAP = 1u << 4,       /* "ontap"     REST workflow */
    LOGM_NFS = 1u << 5,         /* "nfs" */
    LOGM_HV = 1u << 6,          /* "hv" */
    LOGM_ALL = 0xffffffffu,
};

typedef void (*log_fn) (void *opaque, int level, const char *msg);

struct logger {
    log_fn fn;
    void *opaque;
    unsigned debug_mask;
};

void vs_log_msg (const struct logger *lg, int level, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
void vs_log_vmsg (const struct logger *lg, int level, const char *fmt,
                  va_list ap) __attribute__ ((format (printf, 3, 0)));
void vs_log_debug (const struct logger *lg, unsigned module,
                   const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
/* Parse "exec,ontap.http" (or "all"); unknown names give -EINVAL. */
int vs_log_parse_flags (const char *s, unsigned *mask);

#endif
