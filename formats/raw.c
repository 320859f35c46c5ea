/* RAW: the disk is the file.  read_map asks the io layer where the holes
 * are; the plan is a whole-file placement (a whole-file clone on a
 * reflink filesystem or ONTAP). */
#include <errno.h>
#include <stdio.h>

#include "engine/base/error.h"
#include "formats/formats.h"

int
raw_read_map (const struct fmt_io *io, struct fmt_extent_list *out,
              struct fmt_source_info *info)
{
    int64_t sz = io->size (io->opaque, 0);

    if (sz < 0) {
        return (int) sz;
    }
    info->type = FMT_RAW;
    snprintf (info->subformat, sizeof info->subformat, "raw");
    info->virtual_size = (uint64_t) sz;
    info->nfiles = 1;
    out->size = (uint64_t) sz;
    return fmt_io_add_data (io, 0, 0, (uint64_t) sz, 0, out);
}

int
raw_plan (const struct fmt_source_info *src, const struct fmt_extent_list *map,
          const struct fmt_plan_opts *o, struct fmt_layout *out)
{
    int idx = fmt_layout_add_output (out, o->target_name, FMT_OUT_MAIN);

    (void) src;
    if (idx < 0) {
        return idx;
    }
    out->type = FMT_RAW;
    out->data_offset = 0;
    out->out[idx].file_size = map->size;
    return fmt_layout_place_map (out, (size_t) idx, map, 0, map->size, 0,
                                 o->clone_align);
}
