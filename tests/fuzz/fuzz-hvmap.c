/* libFuzzer harness: the network map (hypervisors/netmap.c) and the VMDK
 * descriptor size reader (hypervisors/vmdkdesc.c), both small parsers of
 * files the user points vmshift define at. */
#include <stdbool.h>
#include <stdint.h>

#include "hypervisors/hv.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    struct hv_netmap m;
    uint64_t cap;
    bool rdm;

    if (hv_netmap_parse ((const char *) data, size, "fuzz", &m) == 0) {
        (void) hv_netmap_find (&m, "VM Network");
        hv_netmap_release (&m);
    }
    (void) hv_vmdk_desc_info ((const char *) data, size, &cap, &rdm);
    return 0;
}
