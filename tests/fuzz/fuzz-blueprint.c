/* libFuzzer harness: the blueprint parser (engine/workflow/blueprint.c),
 * which reads a file the admin writes and vmshift migrate acts on. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/workflow/blueprint.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    struct wf_blueprint bp;

    if (wf_blueprint_parse ((const char *) data, size, "fuzz", &bp) == 0) {
        /* a vCenter source's folder groups: each picks one VM (a name
         * from the input, or a new one) and the text is parsed again */
        struct wf_bp_pick picks[WF_BP_MAX_GROUPS];
        size_t n = 0;
        char *out = NULL;

        for (size_t i = 0; i < bp.nvms; i++) {
            free (wf_bp_target_name (&bp.vms[i], i & 1));
        }
        /* each VM's target for a volume: a mapped one, another, none */
        for (int t = 0; t < 2; t++) {
            char *loc = NULL;

            if (bp.nlocations &&
                wf_bp_location_for (&bp, t, "p", bp.locations[0].volume,
                                    &loc) == 0) {
                free (loc);
            }
            if (wf_bp_location_for (&bp, t, "p", "v", &loc) == 0) {
                free (loc);
            }
            if (wf_bp_location_for (&bp, t, NULL, NULL, &loc) == 0) {
                free (loc);
            }
        }
        for (size_t g = 0; g < bp.ngroups; g++) {
            if (bp.groups[g].folder) {
                picks[n].name = n & 1 && bp.nvms ? bp.vms[0].name : "picked";
                picks[n++].group = g;
            }
        }
        if (n && wf_blueprint_expand ((const char *) data, size, "fuzz", picks,
                                      n, &out) == 0) {
            struct wf_blueprint bp2;

            if (wf_blueprint_parse (out, strlen (out), "fuzz", &bp2) == 0) {
                wf_blueprint_release (&bp2);
            }
            free (out);
        }
        wf_blueprint_release (&bp);
    }
    return 0;
}
