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

int vmshift_internal_set_error (int errnum, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
void vmshift_internal_error_prepend (const char *fmt, ...)
    __attribute__ ((format (printf, 1, 2)));
void vmshift_internal_clear_error (void);
const char *vmshift_internal_error_msg (void);
int vmshift_internal_error_errno (void);
/* Copy and restore the error, for worker threads (thread-locals do not
 * cross threads) and for cleanup code that must not clobber it. */
struct vmshift_error_save {
    int errnum;
    char msg[VMSHIFT_ERROR_MAX];
};
void vmshift_internal_error_save (struct vmshift_error_save *s);
void vmshift_internal_error_restore (const struct vmshift_error_save *s);

#define set_error(errnum, ...) \
    vmshift_internal_set_error ((errnum), __VA_ARGS__)
#define error_prepend(...) vmshift_internal_error_prepend (__VA_ARGS__)
#define clear_error() vmshift_internal_clear_error ()
#define error_save(s) vmshift_internal_error_save (s)
#define error_restore(s) vmshift_internal_error_restore (s)

#endif
