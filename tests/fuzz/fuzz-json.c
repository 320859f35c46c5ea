/* libFuzzer harness: the JSON reader (engine/base/json.c) and its typed
 * getters. */
#include <stdint.h>
#include <stdlib.h>

#include "engine/base/json.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    struct json_val *v;
    char *s = NULL;
    uint64_t u;

    if (vs_json_parse ((const char *) data, size, "fuzz", &v) < 0) {
        return 0;
    }
    if (vs_json_get_str (v, "records[0].name", &s) == 0) {
        free (s);
    }
    (void) vs_json_get_u64 (v, "num_records", &u);
    for (size_t i = 0; i < vs_json_object_len (v); i++) {
        const char *k;

        (void) vs_json_object_at (v, i, &k);
    }
    free (vs_json_print (v));
    vs_json_free (v);
    return 0;
}
