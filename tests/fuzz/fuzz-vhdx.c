/* libFuzzer harness: the VHDX validator and reader (formats/vhdx*.c),
 * and a round trip through the planner, in the frame of sparse-image.h (a
 * real VHDX is at least 4 MiB, mostly zeros, so the input describes a
 * sparse file; see there).
 *
 * Seeds in tests/fuzz/seeds/fuzz-vhdx/ are small images planned by
 * vmshift itself (1-16 MiB disks, dynamic and fixed) in that form.  The
 * round trip plans a VHDX again (1 MiB blocks); the result must read back
 * the same guest bytes at the same size.
 */
#include <stddef.h>
#include <stdint.h>

#include "tests/fuzz/sparse-image.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static const struct fz_format fz_vhdx = {
    .type = FMT_VHDX, .name = "fuzz.vhdx", .rt_name = "rt.vhdx",
    .max_rt_disk = 12u << 20,           /* round trip: disks up to 12 MiB */
    .block_size = 1u << 20,
    .validate = vhdx_validate, .read_map = vhdx_read_map,
};

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    return fz_image_one (&fz_vhdx, data, size);
}
