/* libFuzzer harness: the OVF reader (hypervisors/ovf.c, libxml2 with no
 * network and no entities) and the description of what it builds. */
#include <stdint.h>
#include <stdlib.h>

#include "hypervisors/hv.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    struct hv_vm *vm = NULL;

    if (hv_vm_from_ovf ((const char *) data, size, "fuzz.ovf", &vm) < 0) {
        return 0;
    }
    free (hv_vm_describe (vm, true));
    hv_vm_free (vm);
    return 0;
}
