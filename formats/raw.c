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

/* Nothing to check beyond the size: every file is a raw disk. */
static int
raw_validate (const struct fmt_io *io, struct fmt_problems *probs,
              struct fmt_source_info *info)
{
    int64_t sz = io->size (io->opaque, 0);

    (void) probs;
    if (sz < 0) {
        return (int) sz;
    }
    info->type = FMT_RAW;
    info->virtual_size = (uint64_t) sz;
    info->nfiles = 1;
    snprintf (info->subformat, sizeof info->subformat, "raw");
    return 0;
}

static const char *const raw_extensions[] = { "raw", "img", NULL };

const struct fmt_driver raw_driver = {
    .type = FMT_RAW,
    .name = "raw",
    .extensions = raw_extensions,
    .native = NULL,
    .share_style = FMT_SHARE_UNIX,
    .probe = NULL,              /* whatever no other format claims */
    .read_map = raw_read_map,
    .validate = raw_validate,
    .plan = raw_plan,
    .map_validates = true,
    .data_in_place = true,
    .size_align = 1,
};
