/* libFuzzer harness: the VDI validator and reader (formats/vdi*.c), and
 * a round trip through the planner, in the frame of sparse-image.h (a
 * VDI's data starts past 1 MiB and is mostly zeros in a small test disk,
 * so the input describes a sparse file; see there).
 *
 * Seeds in tests/fuzz/seeds/fuzz-vdi/ are small fixed and dynamic VDIs
 * written by vmshift and by qemu-img, in that form.  The round trip plans
 * a VDI again (fixed or dynamic by a bit of the size); the result must
 * read back the same guest bytes, followed by zeros up to the rounded
 * size.
 */
#include <stddef.h>
#include <stdint.h>

#include "formats/vdi.h"
#include "tests/fuzz/sparse-image.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static const struct fz_format fz_vdi = {
    .type = FMT_VDI, .name = "fuzz.vdi", .rt_name = "rt.vdi",
    .max_rt_disk = 4u << 20,            /* round trip: disks up to 4 MiB */
    .now = 1000000000, .size_slack = 512,
    .validate = vdi_validate, .read_map = vdi_read_map,
};

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    return fz_image_one (&fz_vdi, data, size);
}
