#include <stdint.h>

#include "engine/base/overflow.h"
#include "engine/base/vector.h"

int
vmshift_internal_vector_grow (void **ptr, size_t *cap, size_t need,
                              size_t elem)
{
    size_t ncap, bytes;
    void *p;

    if (need <= *cap) {
        return 0;
    }
    ncap = *cap ? *cap : 8;
    while (ncap < need) {
        if (MUL_OVERFLOW (ncap, (size_t) 2, &ncap)) {
            return set_error (EFBIG, "too many elements");
        }
    }
    if (MUL_OVERFLOW (ncap, elem, &bytes) || bytes > VECTOR_MAX_BYTES) {
        /* Try the exact size before giving up. */
        if (MUL_OVERFLOW (need, elem, &bytes) || bytes > VECTOR_MAX_BYTES) {
            return set_error (EFBIG, "table of %zu elements exceeds the "
                              "limit of %zu bytes", need, VECTOR_MAX_BYTES);
        }
        ncap = need;
    }
    p = realloc (*ptr, bytes);
    if (p == NULL) {
        return set_error (ENOMEM, "out of memory for %zu bytes", bytes);
    }
    *ptr = p;
    *cap = ncap;
    return 0;
}
