/* libFuzzer harness: the ONTAP profiles file (ontap/config.c). */
#include <stdint.h>
#include <stdlib.h>

#include "ontap/ontap.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
fz_log (void *opaque, int level, const char *msg)
{
    (void) opaque;
    (void) level;
    (void) msg;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static const struct logger lg = { fz_log, NULL, 0 };
    static const char *const names[] = { "p", "lab", "" };
    struct ontap_profile *p;

    for (size_t i = 0; i < 3; i++) {
        if (ontap_profile_parse ((const char *) data, size, "fuzz", names[i],
                                 &lg, &p) == 0) {
            ontap_profile_free (p);
        }
    }
    return 0;
}
