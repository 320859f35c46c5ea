/* Typed growable arrays.
 *
 *   DEFINE_VECTOR (u64_vec, uint64_t);
 *   struct u64_vec v = { 0 };
 *   if (u64_vec_append (&v, 42) < 0) ...;   (sets the error, -ENOMEM/-EFBIG)
 *   u64_vec_reset (&v);
 *
 * Every vector is capped at VECTOR_MAX_BYTES so an input-driven count
 * cannot exhaust memory; callers that need a different limit check
 * before appending.
 */
#ifndef VMSHIFT_BASE_VECTOR_H
#define VMSHIFT_BASE_VECTOR_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"

#define VECTOR_MAX_BYTES ((size_t) 1 << 30)

int vmshift_internal_vector_grow (void **ptr, size_t *cap, size_t need,
                                  size_t elem);

#define DEFINE_VECTOR(name, type)                                           \
    struct name {                                                          \
        type *ptr;                                                         \
        size_t len;                                                        \
        size_t cap;                                                        \
    };                                                                     \
    static inline int name##_reserve (struct name *v, size_t extra)        \
    {                                                                      \
        if (extra > ((size_t) -1) - v->len) {                              \
            return set_error (EFBIG, "too many elements");                 \
        }                                                                  \
        return vmshift_internal_vector_grow ((void **) &v->ptr, &v->cap,   \
                                             v->len + extra,               \
                                             sizeof (type));               \
    }                                                                      \
    static inline int name##_append (struct name *v, type e)               \
    {                                                                      \
        int r_ = name##_reserve (v, 1);                                    \
        if (r_ < 0) {                                                      \
            return r_;                                                     \
        }                                                                  \
        v->ptr[v->len++] = e;                                              \
        return 0;                                                          \
    }                                                                      \
    static inline void name##_reset (struct name *v)                       \
    {                                                                      \
        free (v->ptr);                                                     \
        v->ptr = NULL;                                                     \
        v->len = v->cap = 0;                                               \
    }

#endif
