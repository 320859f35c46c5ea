/* libFuzzer harness: the VHD validator and reader (formats/vhd*.c), and
 * a round trip through the planner, in the frame of sparse-image.h (the
 * input describes a sparse file; see there).
 *
 * Seeds in tests/fuzz/seeds/fuzz-vhd/ are small fixed and dynamic VHDs
 * written by vmshift and by qemu-img, in that form.  The round trip plans
 * a VHD again (fixed or dynamic by a bit of the size); the result must
 * read back the same guest bytes, followed by zeros up to the rounded
 * size.
 */
#include <stddef.h>
#include <stdint.h>

#include "formats/vhd.h"
#include "tests/fuzz/sparse-image.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static const struct fz_format fz_vhd = {
    .type = FMT_VHD, .name = "fuzz.vhd", .rt_name = "rt.vhd",
    .max_rt_disk = 4u << 20,            /* round trip: disks up to 4 MiB */
    .now = 1000000000, .size_slack = VHD_SIZE_ALIGN,
    .validate = vhd_validate, .read_map = vhd_read_map,
};

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    return fz_image_one (&fz_vhd, data, size);
}
