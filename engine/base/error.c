/* Thread-local last error: one errno and one line of text. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "engine/base/error.h"

static _Thread_local int error_errnum;
static _Thread_local char error_msg[VMSHIFT_ERROR_MAX];
static _Thread_local int error_cls;

/* Messages are one line: newlines and other control characters from
 * input (file names, server replies) are replaced so they cannot forge
 * a second line in a log. */
static void
error_sanitize (char *s)
{
    for (; *s; s++) {
        if ((unsigned char) *s < 0x20 || *s == 0x7f) {
            *s = '?';
        }
    }
}

int
vmshift_internal_set_error (int errnum, const char *fmt, ...)
{
    va_list ap;

    if (errnum <= 0) {
        errnum = EIO;
    }
    va_start (ap, fmt);
    vsnprintf (error_msg, sizeof error_msg, fmt, ap);
    va_end (ap);
    error_sanitize (error_msg);
    error_errnum = errnum;
    error_cls = VS_ERRCLASS_UNKNOWN;
    return -errnum;
}

void
vmshift_internal_error_prepend (const char *fmt, ...)
{
    char prefix[VMSHIFT_ERROR_MAX];
    size_t pl, ml;
    va_list ap;

    va_start (ap, fmt);
    vsnprintf (prefix, sizeof prefix, fmt, ap);
    va_end (ap);
    error_sanitize (prefix);
    pl = strlen (prefix);
    ml = strlen (error_msg);
    if (pl >= sizeof error_msg) {
        pl = sizeof error_msg - 1;
    }
    if (pl + ml >= sizeof error_msg) {
        ml = sizeof error_msg - 1 - pl;
    }
    memmove (error_msg + pl, error_msg, ml);
    memcpy (error_msg, prefix, pl);
    error_msg[pl + ml] = '\0';
    if (error_errnum == 0) {
        error_errnum = EIO;
    }
}

void
vmshift_internal_clear_error (void)
{
    error_errnum = 0;
    error_msg[0] = '\0';
    error_cls = VS_ERRCLASS_UNKNOWN;
}

int
vmshift_internal_error_class (int cls)
{
    if (error_errnum != 0 && error_cls == VS_ERRCLASS_UNKNOWN) {
        error_cls = cls;
    }
    return -error_errnum;
}

static bool
error_is_network (int e)
{
    switch (e) {
    case ETIMEDOUT: case ECONNREFUSED: case ECONNRESET: case ECONNABORTED:
    case EHOSTUNREACH: case ENETUNREACH: case ENETDOWN: case EHOSTDOWN:
    case EPIPE:
        return true;
    default:
        return false;
    }
}

int
vmshift_internal_error_get_class (void)
{
    if (error_errnum == 0) {
        return VS_ERRCLASS_UNKNOWN;
    }
    if (error_cls != VS_ERRCLASS_UNKNOWN) {
        return error_cls;
    }
    if (error_is_network (error_errnum)) {
        return VS_ERRCLASS_REMOTE;
    }
    return error_errnum == ENOMEM ? VS_ERRCLASS_SYSTEM : VS_ERRCLASS_UNKNOWN;
}

int
vmshift_internal_error_retryable (void)
{
    return error_errnum == EBUSY || error_errnum == EAGAIN ||
           error_errnum == EINTR || error_is_network (error_errnum);
}

const char *
vmshift_internal_error_msg (void)
{
    return error_msg;
}

int
vmshift_internal_error_errno (void)
{
    return error_errnum;
}

void
vmshift_internal_error_save (struct vmshift_error_save *s)
{
    s->errnum = error_errnum;
    s->error_class = error_cls;
    memcpy (s->msg, error_msg, sizeof s->msg);
}

void
vmshift_internal_error_restore (const struct vmshift_error_save *s)
{
    error_errnum = s->errnum;
    error_cls = s->error_class;
    memcpy (error_msg, s->msg, sizeof error_msg);
}
