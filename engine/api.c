/* Public entry points that are not specific to one workflow. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "engine/handle.h"

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

int
vmshift_format_from_name (const char *name, enum vmshift_format *out)
{
    static const struct {
        const char *n;
        enum vmshift_format f;
    } names[] = {
        { "raw", VMSHIFT_FMT_RAW }, { "img", VMSHIFT_FMT_RAW },
        { "vmdk", VMSHIFT_FMT_VMDK }, { "vhdx", VMSHIFT_FMT_VHDX },
        { "qcow2", VMSHIFT_FMT_QCOW2 },
    };

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp (name, names[i].n) == 0) {
            *out = names[i].f;
            return 0;
        }
    }
    return set_error (EINVAL, "unknown format '%s' (expected vhdx, qcow2, "
                      "raw or vmdk)", name);
}
