/* PLACEHOLDER: replaced by the vhdx implementation (read_map, validate,
 * plan).  Until then every entry point says so. */
#include <errno.h>

#include "engine/base/error.h"
#include "formats/formats.h"

int
vhdx_read_map (const struct fmt_io *io, struct fmt_extent_list *out,
             struct fmt_source_info *info)
{
    (void) out;
    (void) info;
    return set_error (ENOTSUP, "'%s': vhdx reading is not implemented yet",
                      fmt_io_name (io, 0));
}

int
vhdx_validate (const struct fmt_io *io, struct fmt_problems *probs,
             struct fmt_source_info *info)
{
    (void) probs;
    (void) info;
    return set_error (ENOTSUP, "'%s': vhdx validation is not implemented yet",
                      fmt_io_name (io, 0));
}

int
vhdx_plan (const struct fmt_source_info *src, const struct fmt_extent_list *map,
         const struct fmt_plan_opts *o, struct fmt_layout *out)
{
    (void) src;
    (void) map;
    (void) o;
    (void) out;
    return set_error (ENOTSUP, "writing vhdx is not implemented yet");
}
