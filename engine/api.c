/* Public entry points that are not specific to one workflow. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "engine/handle.h"
#include "formats/formats.h"

void
vs_api_enter (struct vmshift_handle *h)
{
    (void) h;
    clear_error ();
}

const char *
vmshift_version (void)
{
    return VMSHIFT_VERSION_STRING;
}

struct vmshift_handle *
vmshift_new (void)
{
    struct vmshift_handle *h;
    const char *dbg = getenv ("VMSHIFT_DEBUG");

    clear_error ();
    h = calloc (1, sizeof *h);
    if (h == NULL) {
        set_error (ENOMEM, "out of memory");
        return NULL;
    }
    if (dbg && *dbg && vs_log_parse_flags (dbg, &h->log.debug_mask) < 0) {
        error_prepend ("VMSHIFT_DEBUG: ");
        free (h);
        return NULL;
    }
    return h;
}

void
vmshift_free (struct vmshift_handle *h)
{
    if (h) {
        free (h->config_path);
        free (h);
    }
}

const char *
vmshift_get_error (void)
{
    return vmshift_internal_error_msg ();
}

int
vmshift_get_errno (void)
{
    return vmshift_internal_error_errno ();
}

_Static_assert ((int) VMSHIFT_ERROR_USAGE == (int) VS_ERRCLASS_USAGE,
                "class");
_Static_assert ((int) VMSHIFT_ERROR_SOURCE == (int) VS_ERRCLASS_SOURCE,
                "class");
_Static_assert ((int) VMSHIFT_ERROR_TARGET == (int) VS_ERRCLASS_TARGET,
                "class");
_Static_assert ((int) VMSHIFT_ERROR_REMOTE == (int) VS_ERRCLASS_REMOTE,
                "class");
_Static_assert ((int) VMSHIFT_ERROR_SYSTEM == (int) VS_ERRCLASS_SYSTEM,
                "class");

void
vmshift_error_info_init (struct vmshift_error_info *e)
{
    memset (e, 0, sizeof *e);
    e->struct_size = sizeof *e;
}

int
vmshift_get_error_info (struct vmshift_error_info *e)
{
    struct vmshift_error_info full;

    /* Does not touch the thread's error: it is what is asked for. */
    if (e == NULL || vs_api_check_size ("vmshift_get_error_info",
                                        e->struct_size, VMSHIFT_ERROR_INFO_V1,
                                        sizeof full, false) < 0) {
        return -EINVAL;
    }
    vmshift_error_info_init (&full);
    full.errnum = vmshift_internal_error_errno ();
    full.error_class = (enum vmshift_error_class)
        vmshift_internal_error_get_class ();
    full.retryable = vmshift_internal_error_retryable ();
    full.message = vmshift_internal_error_msg ();
    full.struct_size = e->struct_size;
    memcpy (e, &full, e->struct_size);
    return 0;
}

void
vs_api_error_info_fill (struct vmshift_error_info *e,
                        const struct vmshift_error_save *s,
                        const char *message)
{
    struct vmshift_error_info full;
    int cls = 0, retry = 0;

    /* an entry the caller did not set up is left alone */
    if (e == NULL || vs_api_check_size ("error_info", e->struct_size,
                                        VMSHIFT_ERROR_INFO_V1, sizeof full,
                                        false) < 0) {
        return;
    }
    vmshift_error_info_init (&full);
    if (s && s->errnum != 0) {
        vmshift_internal_error_save_class (s, &cls, &retry);
        full.errnum = s->errnum;
        full.error_class = (enum vmshift_error_class) cls;
        full.retryable = retry;
        full.message = message;
    }
    full.struct_size = e->struct_size;
    memcpy (e, &full, e->struct_size);
}

int
vs_api_copy_in (const char *what, void *dst, size_t dst_size,
                const void *src, size_t v1)
{
    size_t got;

    if (src == NULL) {
        set_error (EINVAL, "%s: no options", what);
        return error_class (VS_ERRCLASS_USAGE);
    }
    memcpy (&got, src, sizeof got);
    if (vs_api_check_size (what, got, v1, dst_size, true) < 0) {
        return error_class (VS_ERRCLASS_USAGE);
    }
    memcpy (dst, src, got);
    memcpy (dst, &dst_size, sizeof dst_size);
    return 0;
}

int
vs_api_check_size (const char *what, size_t got, size_t v1, size_t now,
                   bool set)
{
    if (got < v1 || got > now) {
        if (set) {
            set_error (EINVAL, "%s: struct_size %zu is not that of any "
                       "release (%zu to %zu; call its _init function)", what,
                       got, v1, now);
        }
        return -EINVAL;
    }
    return 0;
}

void
vmshift_set_log (struct vmshift_handle *h, vmshift_log_fn fn, void *opaque)
{
    h->log.fn = fn;
    h->log.opaque = opaque;
}

int
vmshift_set_debug (struct vmshift_handle *h, const char *flags)
{
    unsigned m;
    int r;

    vs_api_enter (h);
    r = vs_log_parse_flags (flags, &m);
    if (r < 0) {
        return r;
    }
    h->log.debug_mask |= m;
    return 0;
}

int
vmshift_set_config (struct vmshift_handle *h, const char *path)
{
    char *p = NULL;

    vs_api_enter (h);
    if (path && (p = strdup (path)) == NULL) {
        return set_error (ENOMEM, "out of memory");
    }
    free (h->config_path);
    h->config_path = p;
    return 0;
}

/* The public enum's values are the format table's (formats/drivers.def);
 * the ones released in the header must stay what they are. */
_Static_assert (VMSHIFT_FMT_RAW == (int) FMT_RAW, "format value");
_Static_assert (VMSHIFT_FMT_VMDK == (int) FMT_VMDK, "format value");
_Static_assert (VMSHIFT_FMT_VHDX == (int) FMT_VHDX, "format value");
_Static_assert (VMSHIFT_FMT_QCOW2 == (int) FMT_QCOW2, "format value");

int
vmshift_format_from_name (const char *name, enum vmshift_format *out)
{
    const struct fmt_driver *d = fmt_driver_by_name (name);
    char list[256];

    for (size_t i = 0; d == NULL && fmt_driver_at (i); i++) {
        if (fmt_driver_has_extension (fmt_driver_at (i), name)) {
            d = fmt_driver_at (i);
        }
    }
    if (d) {
        *out = (enum vmshift_format) d->type;
        return 0;
    }
    fmt_driver_list (list, sizeof list, true, false);
    return set_error (EINVAL, "unknown format '%s' (expected %s)", name, list);
}

const char *
vmshift_format_name (enum vmshift_format f)
{
    const struct fmt_driver *d = fmt_driver_of ((enum fmt_type) f);

    return d ? d->name : NULL;
}

enum vmshift_format
vmshift_format_at (size_t i)
{
    const struct fmt_driver *d = fmt_driver_at (i);

    return d ? (enum vmshift_format) d->type : VMSHIFT_FMT_AUTO;
}

int
vmshift_format_can_write (enum vmshift_format f)
{
    const struct fmt_driver *d = fmt_driver_of ((enum fmt_type) f);

    return d && d->plan != NULL;
}
