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
