/* libFuzzer harness: the blueprint parser (engine/workflow/blueprint.c),
 * which reads a file the admin writes and vmshift migrate acts on. */
#include <stdint.h>
#include <stdlib.h>

#include "engine/workflow/blueprint.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    struct wf_blueprint bp;

    if (wf_blueprint_parse ((const char *) data, size, "fuzz", &bp) == 0) {
        for (size_t i = 0; i < bp.nvms; i++) {
            free (wf_bp_target_name (&bp.vms[i], i & 1));
        }
        wf_blueprint_release (&bp);
    }
    return 0;
}
