/* libFuzzer harness: the VMDK descriptor tokenizer and parser
 * (formats/vmdk-desc.c), in both modes (stop at the first error, and
 * the validator's collect-everything mode), plus the ddb.uuid and
 * createType helpers on text taken from the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/vmdk.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    struct fmt_problems p;
    struct vmdk_diag strict = { 0 };
    struct vmdk_diag collect = { .probs = &p, .fname = "fuzz.vmdk" };
    struct vmdk_desc d;
    char word[64];
    uint8_t uuid[16];
    size_t n = size < sizeof word - 1 ? size : sizeof word - 1;

    vmdk_desc_init (&d);
    (void) vmdk_desc_parse ((const char *) data, size, &d, &strict);
    vmdk_desc_release (&d);

    fmt_problems_init (&p);
    vmdk_desc_init (&d);
    (void) vmdk_desc_parse ((const char *) data, size, &d, &collect);
    for (size_t i = 0; i < d.extents.len; i++) {
        (void) vmdk_ext_type_name (d.extents.ptr[i].type);
    }
    vmdk_desc_release (&d);
    fmt_problems_release (&p);

    memcpy (word, data, n);
    word[n] = '\0';
    (void) vmdk_uuid_parse (word, uuid);
    (void) vmdk_ct_lookup (word);
    return 0;
}
