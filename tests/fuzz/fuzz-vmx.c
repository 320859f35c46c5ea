/* libFuzzer harness: the .vmx reader (hypervisors/vmx.c, vmx-model.c),
 * the description, and every emitter over the model it builds. */
#include <stdint.h>
#include <stdlib.h>

#include "hypervisors/hv.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
fuzz_emit (const struct hv_vm *vm, const struct hv_netmap *m,
           enum hv_target t, bool json)
{
    struct hv_define d = { .target = t, .map = m, .retain_mac = 1,
                           .vmid = 100, .json = json,
                           .disk_path = t == HV_TARGET_PROXMOX ? "local" :
                               NULL };
    struct hv_str_vec notes = { 0 };
    char *text = NULL;

    if (hv_define_emit (vm, &d, &text, &notes) == 0) {
        free (text);
    }
    hv_str_vec_free (&notes);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static const char map_json[] = "{\"networks\": {\"*\": \"br0\"}}";
    struct hv_netmap m;
    struct hv_vm *vm = NULL;

    if (hv_vm_from_vmx ((const char *) data, size, "fuzz.vmx", "fuzz",
                        &vm) < 0) {
        return 0;
    }
    free (hv_vm_describe (vm, false));
    free (hv_vm_describe (vm, true));
    for (size_t i = 0; i < vm->disks.len; i++) {
        vm->disks.ptr[i].capacity = UINT64_C (1) << 30;
    }
    if (hv_netmap_parse (map_json, sizeof map_json - 1, "map", &m) == 0) {
        for (int t = HV_TARGET_HYPERV; t <= HV_TARGET_KUBEVIRT; t++) {
            fuzz_emit (vm, &m, (enum hv_target) t, false);
        }
        fuzz_emit (vm, &m, HV_TARGET_KUBEVIRT, true);
        hv_netmap_release (&m);
    }
    hv_vm_free (vm);
    return 0;
}
