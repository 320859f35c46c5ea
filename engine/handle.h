/* The library handle: everything that would otherwise be global. */
#ifndef VMSHIFT_HANDLE_H
#define VMSHIFT_HANDLE_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/base/log.h"
#include "engine/vmshift.h"

struct vmshift_handle {
    struct logger log;
    char *config_path;          /* ONTAP profiles file, NULL = default */
};

/* Entry-point helper: clear the thread's error before a public call. */
void vs_api_enter (struct vmshift_handle *h);

/* The struct_size rule for every public struct (engine/vmshift.h): the
 * smallest size accepted is the struct's first release, the largest this
 * build's.  Add fields at the end only; list each struct here. */
#define VMSHIFT_ERROR_INFO_V1 sizeof (struct vmshift_error_info)
#define VMSHIFT_CONVERT_OPTS_V1 \
    (offsetof (struct vmshift_convert_opts, parallel) + sizeof (unsigned))
#define VMSHIFT_DEFINE_OPTS_V1 \
    (offsetof (struct vmshift_define_opts, json) + sizeof (int))
#define VMSHIFT_GUEST_OPTS_V1 offsetof (struct vmshift_guest_opts, force)
/* -EINVAL (with the error set when 'set') unless v1 <= got <= now. */
int vs_api_check_size (const char *what, size_t got, size_t v1, size_t now,
                       bool set);
/* Copy a caller's struct (its struct_size first) over dst, which holds
 * this build's defaults (from the _init function): the fields the caller
 * knows replace the defaults; dst->struct_size becomes dst_size.  -EINVAL
 * (class USAGE) when src is NULL or its size is outside the rule. */
int vs_api_copy_in (const char *what, void *dst, size_t dst_size,
                    const void *src, size_t v1);
/* vmshift_convert_many's error_info[i]: the saved error s (NULL or none:
 * all zero), its message the caller's copy.  An entry whose struct_size
 * is outside the rule is left as it is. */
struct vmshift_error_save;
void vs_api_error_info_fill (struct vmshift_error_info *e,
                             const struct vmshift_error_save *s,
                             const char *message);

#endif
