/* libFuzzer harness: ontap:// locations and volume-relative paths
 * (ontap/location.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ontap/ontap.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char *s = malloc (size + 1);
    struct ontap_location a, b;
    char *snap = NULL;

    if (s == NULL) {
        return 0;
    }
    memcpy (s, data, size);
    s[size] = '\0';
    if (ontap_location_parse (s, &a) == 0) {
        if (ontap_location_parse ("ontap://p/v/x", &b) == 0) {
            ontap_location_same_volume (&a, &b);
            ontap_location_release (&b);
        }
        if (ontap_snapshot_path ("snap", a.path, &snap) == 0) {
            free (snap);
        }
        ontap_location_release (&a);
    }
    ontap_rel_path_ok (s, "path");
    ontap_volume_name_ok (s);
    ontap_query_value_ok (s, "value");
    free (s);
    return 0;
}
