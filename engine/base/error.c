/* Thread-local last error: one errno and one line of text. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "engine/base/error.h"

static _Thread_local int error_errnum;
static _Thread_local char error_msg[VMSHIFT_ERROR_MAX];
static _Thread_local int error_cls;
/* set by the layer that knows a failure is transient although its errno
 * does not say so (an ONTAP 5xx: EIO) */
static _Thread_local bool error_retry;

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
    error_retry = false;
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
    error_retry = false;
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

static int
error_class_of (int errnum, int cls)
{
    if (errnum == 0) {
        return VS_ERRCLASS_UNKNOWN;
    }
    if (cls != VS_ERRCLASS_UNKNOWN) {
        return cls;
    }
    if (error_is_network (errnum)) {
        return VS_ERRCLASS_REMOTE;
    }
    return errnum == ENOMEM ? VS_ERRCLASS_SYSTEM : VS_ERRCLASS_UNKNOWN;
}

static bool
error_retryable_of (int errnum, bool retry)
{
    return errnum != 0 &&
           (retry || errnum == EBUSY || errnum == EAGAIN || errnum == EINTR ||
            error_is_network (errnum));
}

int
vmshift_internal_error_get_class (void)
{
    return error_class_of (error_errnum, error_cls);
}

int
vmshift_internal_error_retryable (void)
{
    return error_retryable_of (error_errnum, error_retry);
}

int
vmshift_internal_error_mark_retryable (void)
{
    if (error_errnum != 0) {
        error_retry = true;
    }
    return -error_errnum;
}

void
vmshift_internal_error_save_class (const struct vmshift_error_save *s,
                                   int *cls, int *retryable)
{
    *cls = error_class_of (s->errnum, s->error_class);
    *retryable = error_retryable_of (s->errnum, s->retryable);
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
    s->retryable = error_retry;
    memcpy (s->msg, error_msg, sizeof s->msg);
}

void
vmshift_internal_error_restore (const struct vmshift_error_save *s)
{
    error_errnum = s->errnum;
    error_cls = s->error_class;
    error_retry = s->retryable != 0;
    memcpy (error_msg, s->msg, sizeof error_msg);
}
