/* PLACEHOLDER: replaced by the qcow2 implementation (read_map, validate,
 * plan).  Until then every entry point says so. */
#include <errno.h>

#include "engine/base/error.h"
#include "formats/formats.h"

int
qcow2_read_map (const struct fmt_io *io, struct fmt_extent_list *out,
             struct fmt_source_info *info)
{
    (void) out;
    (void) info;
    return set_error (ENOTSUP, "'%s': qcow2 reading is not implemented yet",
                      fmt_io_name (io, 0));
}

int
qcow2_validate (const struct fmt_io *io, struct fmt_problems *probs,
             struct fmt_source_info *info)
{
    (void) probs;
    (void) info;
    return set_error (ENOTSUP, "'%s': qcow2 validation is not implemented yet",
                      fmt_io_name (io, 0));
}

int
qcow2_plan (const struct fmt_source_info *src, const struct fmt_extent_list *map,
         const struct fmt_plan_opts *o, struct fmt_layout *out)
{
    (void) src;
    (void) map;
    (void) o;
    (void) out;
    return set_error (ENOTSUP, "writing qcow2 is not implemented yet");
}
