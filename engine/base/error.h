/* Error model (see docs/internals/errors.md).
 *
 * Functions return 0 or a negative errno; counts are >= 0; pointers are
 * NULL plus the last error.  The message is thread-local, one line, with
 * the problem first and names quoted.  set_error() records the root cause
 * and returns -errnum so callers can write "return set_error (...)".
 * Outer layers add context with error_prepend() and never overwrite the
 * cause.  A caller that handles an error (falls back, retries) and goes on
 * calls clear_error() so a stale message cannot be reported later.
 */
#ifndef VMSHIFT_BASE_ERROR_H
#define VMSHIFT_BASE_ERROR_H

#include <errno.h>

#define VMSHIFT_ERROR_MAX 1024

/* Which side failed (the public enum vmshift_error_class has the same
 * values; docs/internals/errors.md).  A root cause (set_error) starts
 * unclassified; the first layer that knows the side says so with
 * error_class(), and outer layers do not change it. */
enum {
    VS_ERRCLASS_UNKNOWN = 0,
    VS_ERRCLASS_USAGE = 1,
    VS_ERRCLASS_SOURCE = 2,
    VS_ERRCLASS_TARGET = 3,
    VS_ERRCLASS_REMOTE = 4,
    VS_ERRCLASS_SYSTEM = 5,
};

int vmshift_internal_set_error (int errnum, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
void vmshift_internal_error_prepend (const char *fmt, ...)
    __attribute__ ((format (printf, 1, 2)));
void vmshift_internal_clear_error (void);
/* Classify the current error unless it is already classified; returns
 * the current -errno (0 when there is no error), so a caller may write
 * "return error_class (VS_ERRCLASS_TARGET)" after a failed call. */
int vmshift_internal_error_class (int cls);
/* The class: the one set, else from the errno (network errors are
 * REMOTE, ENOMEM is SYSTEM), else UNKNOWN. */
int vmshift_internal_error_get_class (void);
/* Whether trying again may succeed: busy, timed out, connection lost,
 * or marked so by the layer that failed. */
int vmshift_internal_error_retryable (void);
/* Mark the current error transient although its errno does not say so
 * (an ONTAP 5xx the client's own retries did not get past); returns the
 * current -errno. */
int vmshift_internal_error_mark_retryable (void);
const char *vmshift_internal_error_msg (void);
int vmshift_internal_error_errno (void);
/* Copy and restore the error, for worker threads (thread-locals do not
 * cross threads) and for cleanup code that must not clobber it. */
struct vmshift_error_save {
    int errnum;
    int error_class;
    int retryable;              /* as marked; see error_save_class */
    char msg[VMSHIFT_ERROR_MAX];
};
/* A saved error's class and whether it is retryable, by the same rules
 * as the thread's (vmshift_get_error_info). */
void vmshift_internal_error_save_class (const struct vmshift_error_save *s,
                                        int *cls, int *retryable);
void vmshift_internal_error_save (struct vmshift_error_save *s);
void vmshift_internal_error_restore (const struct vmshift_error_save *s);

#define set_error(errnum, ...) \
    vmshift_internal_set_error ((errnum), __VA_ARGS__)
#define error_prepend(...) vmshift_internal_error_prepend (__VA_ARGS__)
#define clear_error() vmshift_internal_clear_error ()
#define error_class(c) vmshift_internal_error_class (c)
#define error_retryable() vmshift_internal_error_mark_retryable ()
#define error_save(s) vmshift_internal_error_save (s)
#define error_restore(s) vmshift_internal_error_restore (s)

#endif
