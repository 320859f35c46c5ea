/* Overflow-checked arithmetic (nbdkit style).  Each macro stores the
 * result in *r and evaluates to true when the operation overflowed. */
#ifndef VMSHIFT_BASE_OVERFLOW_H
#define VMSHIFT_BASE_OVERFLOW_H

#include <stdbool.h>
#include <stdint.h>

#define ADD_OVERFLOW(a, b, r) __builtin_add_overflow ((a), (b), (r))
#define SUB_OVERFLOW(a, b, r) __builtin_sub_overflow ((a), (b), (r))
#define MUL_OVERFLOW(a, b, r) __builtin_mul_overflow ((a), (b), (r))

#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))
#define IS_POW2(x) ((x) != 0 && ((x) & ((x) - 1)) == 0)
#define IS_ALIGNED(x, a) (((x) & ((uint64_t) (a) - 1)) == 0)

/* Round v up to a multiple of the power of two a; false on overflow. */
static inline bool
round_up_pow2 (uint64_t v, uint64_t a, uint64_t *r)
{
    uint64_t t;

    if (ADD_OVERFLOW (v, a - 1, &t)) {
        return false;
    }
    *r = t & ~(a - 1);
    return true;
}

#endif
